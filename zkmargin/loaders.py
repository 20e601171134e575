"""Load and validate position, market and price files (JSON).

Every check lives here, at the boundary: a value that passes is in range for
the circuits. Errors are InputError naming the field and the allowed range. Files are
read by strictjson (bounded size, depth and number length).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any, TypeVar

from .aave_math import RAY
from .commitment import new_salt, to_hex
from .errors import InputError
from .field import R
from .limits import (
    AMOUNT_BITS,
    BPS,
    EMODE_BITS,
    INDEX_BITS,
    LT_BITS,
    MAX_ASSETS,
    MAX_DECIMALS,
    PRICE_BITS,
    PRICE_DECIMALS,
    THRESHOLD_BITS,
)
from .model import DEFAULT_RULES, RULES, Asset, EModeCategory, Market, Position, PricePoint, PriceSnapshot
from .strictjson import bounded_int, json_path, kind_of, shorten
from .strictjson import parse_json as parse_json  # re-exported: the one JSON reader
from .strictjson import read_json as read_json

FORMAT_VERSION = 1
_SYMBOL = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
T = TypeVar("T")
# the shared helpers of strictjson under the names perp.py and the CLI import
_join = json_path
_kind = kind_of
_uint = bounded_int


def _obj(value: Any, field: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(field or "<root>", f"must be a JSON object, got {_kind(value)}")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise InputError(_join(field, unknown[0]), f"unknown key (allowed: {', '.join(sorted(keys))})")
    for k in sorted(required):
        if k not in value:
            raise InputError(_join(field, k), "missing")
    return value


def _int(value: Any, field: str, bits: int, what: str) -> int:
    """A signed integer in [-(2^bits - 1), 2^bits - 1]."""
    return _uint(value, field, -(2**bits - 1), 2**bits - 1, what=f"{what} in (-2^{bits}, 2^{bits})")


def _version(d: dict[str, Any], field: str) -> None:
    if "version" in d and _uint(d["version"], _join(field, "version"), 0, 2**32) != FORMAT_VERSION:
        raise InputError(_join(field, "version"), f"unsupported format version (this zkmargin reads {FORMAT_VERSION})")


def _symbol(s: str, field: str) -> str:
    if not _SYMBOL.match(s):
        raise InputError(field, "asset symbols are 1-32 characters of A-Z a-z 0-9 . _ -")
    return s


def _name(d: dict[str, Any], default: str) -> str:
    name = d.get("name", default)
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        raise InputError("name", "must be a string of 1 to 64 characters")
    return name


def _collateral_params(lt: int, bonus: int, f: str) -> None:
    """PoolConfigurator.configureReserveAsCollateral (v3.5.0/v3.6.0 :137-154, v3.7 :131-148): for a
    collateral (LT > 0), bonus > 100% and percentMul(LT, bonus) <= 100%, so that liquidating with the
    bonus cannot seize more than the collateral; LT 0 requires bonus 0."""
    if lt == 0:
        if bonus != 0:
            raise InputError(
                f"{f}.liquidationBonus",
                f"must be 0 when liquidationThreshold is 0 (Aave's PoolConfigurator; got {bonus})",
            )
        return
    if bonus <= BPS:
        raise InputError(f"{f}.liquidationBonus", f"must be > {BPS} when the asset is collateral (got {bonus})")
    if (lt * bonus + BPS // 2) // BPS > BPS:
        raise InputError(
            f"{f}.liquidationBonus", f"liquidationThreshold x liquidationBonus must be <= 100% (got {lt} x {bonus})"
        )


def _bps(v: Any, f: str, what: str = f"basis points in [0, {BPS}] (10000 = 100%)") -> int:
    return _uint(v, f, 0, BPS, what=what)


def _emode_categories(raw: Any, symbols: tuple[str, ...]) -> tuple[EModeCategory, ...]:
    if not isinstance(raw, list) or len(raw) > 255:
        raise InputError("eModeCategories", "must be an array of at most 255 categories")
    out: list[EModeCategory] = []
    for k, c in enumerate(raw):
        f = f"eModeCategories[{k}]"
        c = _obj(
            c,
            f,
            {"id", "label", "ltv", "liquidationThreshold", "liquidationBonus", "collateralBitmap", "borrowableBitmap"},
            {"id", "liquidationThreshold", "liquidationBonus", "collateralBitmap"},
        )
        cid = _uint(c["id"], f"{f}.id", 1, 2**EMODE_BITS - 1, what="an eMode category id in [1, 255] (0 is 'none')")
        if any(x.id == cid for x in out):
            raise InputError(f"{f}.id", f"category {cid} is listed twice")
        label = c.get("label", "")
        if not isinstance(label, str) or len(label) > 64:
            raise InputError(f"{f}.label", "must be a string of at most 64 characters")
        # PoolConfigurator.setEModeCategory (v3.6.0 :382-407): LT != 0, bonus > 100%, LT x bonus <= 100%
        lt = _uint(c["liquidationThreshold"], f"{f}.liquidationThreshold", 1, BPS, what=f"basis points in [1, {BPS}]")
        bonus = _uint(
            c["liquidationBonus"],
            f"{f}.liquidationBonus",
            0,
            2**LT_BITS + BPS,
            what="basis points including the 100% (10100 = 1% bonus)",
        )
        _collateral_params(lt, bonus, f)
        ltv = _uint(
            c.get("ltv", 0), f"{f}.ltv", 0, lt, what="basis points, at most the category's liquidationThreshold"
        )
        bitmaps = {}
        for key in ("collateralBitmap", "borrowableBitmap"):
            bitmaps[key] = _uint(
                c.get(key, 0),
                f"{f}.{key}",
                0,
                2 ** len(symbols) - 1,
                hex_ok=True,
                what=f"a bitmap over the market's assets (bit i = assets[i]; {len(symbols)} assets)",
            )
        out.append(EModeCategory(cid, lt, bonus, bitmaps["collateralBitmap"], ltv, bitmaps["borrowableBitmap"], label))
    return tuple(out)


def market_from_json(data: Any) -> Market:
    d = _obj(data, "", {"version", "name", "rules", "assets", "eModeCategories"}, {"assets"})
    _version(d, "")
    name = _name(d, "market")
    rules = d.get("rules", DEFAULT_RULES)
    if rules not in RULES:
        raise InputError(
            "rules", f"must be one of {', '.join(RULES)} (default {DEFAULT_RULES}), got {shorten(str(rules))!r}"
        )
    assets_raw = d["assets"]
    if not isinstance(assets_raw, list) or not 1 <= len(assets_raw) <= MAX_ASSETS:
        raise InputError("assets", f"must be an array of 1 to {MAX_ASSETS} assets")
    assets: list[Asset] = []
    seen: set[str] = set()
    for i, a in enumerate(assets_raw):
        f = f"assets[{i}]"
        a = _obj(
            a,
            f,
            {
                "symbol",
                "decimals",
                "liquidationThreshold",
                "liquidationBonus",
                "liquidationProtocolFee",
                "ltv",
                "debtCeiling",
            },
            {"symbol", "decimals", "liquidationThreshold", "liquidationBonus"},
        )
        sym = a["symbol"]
        if not isinstance(sym, str):
            raise InputError(f"{f}.symbol", f"must be a string, got {_kind(sym)}")
        _symbol(sym, f"{f}.symbol")
        if sym in seen:
            raise InputError(f"{f}.symbol", f"asset {sym} is listed twice")
        seen.add(sym)
        f = f"assets.{sym}"
        dec = _uint(a["decimals"], f"{f}.decimals", 0, MAX_DECIMALS)
        lt = _bps(a["liquidationThreshold"], f"{f}.liquidationThreshold")
        bonus = _uint(
            a["liquidationBonus"],
            f"{f}.liquidationBonus",
            0,
            2**LT_BITS + BPS,
            what="basis points including the 100% (10500 = 5% bonus)",
        )
        _collateral_params(lt, bonus, f)
        fee = _bps(
            a.get("liquidationProtocolFee", 0),
            f"{f}.liquidationProtocolFee",
            what=f"basis points of the liquidation bonus in [0, {BPS}] (1000 = 10%)",
        )
        ltv = None
        if "ltv" in a:
            ltv = _uint(a["ltv"], f"{f}.ltv", 0, lt, what="basis points, at most the liquidationThreshold")
        ceiling = _uint(
            a.get("debtCeiling", 0),
            f"{f}.debtCeiling",
            0,
            2**256 - 1,
            what="the isolation-mode debt ceiling (2 decimals of the base currency; 0: not isolated)",
        )
        if ceiling and rules == "aave-v3.7":
            raise InputError(f"{f}.debtCeiling", "aave-v3.7 has no isolation mode (removed): leave it out or 0")
        assets.append(Asset(sym, dec, lt, bonus, fee, ltv, ceiling))
    symbols = tuple(a.symbol for a in assets)
    emodes = _emode_categories(d.get("eModeCategories", []), symbols)
    return Market(name, tuple(assets), rules, emodes)


def prices_from_json(data: Any, market: Market) -> PriceSnapshot:
    d = _obj(data, "", {"version", "decimals", "prices"}, {"prices"})
    _version(d, "")
    if "decimals" in d and _uint(d["decimals"], "decimals", 0, 255) != PRICE_DECIMALS:
        raise InputError("decimals", f"prices must have {PRICE_DECIMALS} decimals (Aave base currency)")
    raw = _obj(d["prices"], "prices", set(d["prices"]) if isinstance(d["prices"], dict) else set(), set())
    out: dict[str, PricePoint] = {}
    for sym, p in raw.items():
        f = _join("prices", sym)
        if sym not in market.symbols:
            raise InputError(f, f"unknown asset (market {market.name} has {', '.join(market.symbols)})")
        p = _obj(p, f, {"price", "roundId", "updatedAt", "liquidityIndex", "variableBorrowIndex"}, {"price"})
        price = _uint(
            p["price"],
            f"{f}.price",
            1,
            2**PRICE_BITS - 1,
            what=f"an oracle price with 8 decimals in [1, 2^{PRICE_BITS} - 1]",
        )
        round_id = _uint(p.get("roundId", 0), f"{f}.roundId", 0, 2**80 - 1)
        updated = _uint(p.get("updatedAt", 0), f"{f}.updatedAt", 0, 2**64 - 1)
        indexes = [
            _uint(
                p.get(k, RAY),
                f"{f}.{k}",
                RAY,
                RAY + 2**INDEX_BITS - 1,
                what=f"a reserve index in ray (1e27 = 1.0), in [1 ray, 1 ray + 2^{INDEX_BITS})",
            )
            for k in ("liquidityIndex", "variableBorrowIndex")
        ]
        out[sym] = PricePoint(price, round_id, updated, *indexes)
    for sym in market.symbols:
        if sym not in out:
            raise InputError(f"prices.{sym}", "missing: every market asset needs a price > 0")
    return PriceSnapshot(out)


def position_from_json(data: Any, market: Market) -> Position:
    d = _obj(
        data,
        "",
        {"version", "balances", "collateral", "debt", "useAsCollateral", "eModeCategory", "salt"},
        {"collateral", "debt", "salt"},
    )
    _version(d, "")
    balances = d.get("balances", "actual")
    if balances not in ("actual", "scaled"):
        raise InputError(
            "balances",
            f'must be "actual" (token base units; the default) or "scaled" '
            f"(scaled aToken / variable-debt balances), got {shorten(str(balances))!r}",
        )
    amounts: dict[str, dict[str, int]] = {}
    for kind in ("collateral", "debt"):
        raw = d[kind]
        if not isinstance(raw, dict):
            raise InputError(kind, f"must be an object of asset -> amount, got {_kind(raw)}")
        amounts[kind] = {}
        for sym, v in raw.items():
            f = _join(kind, sym)
            if sym not in market.symbols:
                raise InputError(f, f"unknown asset (market {market.name} has {', '.join(market.symbols)})")
            amounts[kind][sym] = _uint(
                v,
                f,
                0,
                2**AMOUNT_BITS - 1,
                what=f"an amount in token base units in [0, 2^{AMOUNT_BITS} - 1]"
                if balances == "actual"
                else f"a scaled balance in [0, 2^{AMOUNT_BITS} - 1]",
            )
    flags: frozenset[str] | None = None
    if "useAsCollateral" in d:
        raw = d["useAsCollateral"]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise InputError("useAsCollateral", "must be an array of asset symbols (their collateral flag is on)")
        for k, sym in enumerate(raw):
            if sym not in market.symbols:
                raise InputError(
                    f"useAsCollateral[{k}]",
                    f"unknown asset {shorten(sym)!r} (market {market.name} has {', '.join(market.symbols)})",
                )
        if len(set(raw)) != len(raw):
            raise InputError("useAsCollateral", "lists an asset twice")
        flags = frozenset(raw)
    emode = _uint(
        d.get("eModeCategory", 0),
        "eModeCategory",
        0,
        2**EMODE_BITS - 1,
        what="an eMode category id in [0, 255] (0: none)",
    )
    if emode and market.emode(emode) is None:
        raise InputError(
            "eModeCategory",
            f"category {emode} is not one of market {market.name}'s "
            f"({', '.join(str(c.id) for c in market.emode_categories) or 'none'})",
        )
    salt = _uint(d["salt"], "salt", 0, R - 1, hex_ok=True, what="a field element in [0, r - 1] (decimal or 0x hex)")
    return Position(amounts["collateral"], amounts["debt"], salt, flags, emode, balances == "scaled")


def salted_position_json(raw: Any, fresh: bool) -> tuple[dict[str, Any], bool]:
    """A position document with a salt: its own, or (fresh, or none given) one drawn from the OS
    CSPRNG. Returns the document and whether a salt was drawn (the caller must then keep it)."""
    if not isinstance(raw, dict):
        raise InputError("position", "must be a JSON object")
    if fresh or "salt" not in raw:
        return {**raw, "salt": to_hex(new_salt())}, True
    return raw, False


def position_to_json(position: Position, market: Market | None = None) -> dict[str, Any]:
    """The position file format (amounts as decimal strings, salt as 0x hex); the collateral flags
    are written when they are explicit (after a liquidation step), in the market's order if given."""
    out: dict[str, Any] = {"version": FORMAT_VERSION}
    if position.scaled:
        out["balances"] = "scaled"
    out["collateral"] = {k: str(v) for k, v in position.collateral.items() if v}
    out["debt"] = {k: str(v) for k, v in position.debt.items() if v}
    if position.use_as_collateral is not None:
        order = market.symbols if market is not None else tuple(sorted(position.use_as_collateral))
        out["useAsCollateral"] = [s for s in order if s in position.use_as_collateral]
    if position.emode_category:
        out["eModeCategory"] = position.emode_category
    out["salt"] = f"0x{position.salt:064x}"
    return out


def parse_scaled(text: str, field: str, places: int, lo: int, hi: int, what: str) -> int:
    """An exact decimal times 10^places, in [lo, hi] (scaled units). "1.5" with places 4 -> 15000."""
    try:
        dec = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise InputError(field, f"must be a decimal number ({what}), got {shorten(text)!r}") from None
    if not dec.is_finite():
        raise InputError(field, f"must be a finite decimal number, got {shorten(text)!r}")
    scale = Decimal(10) ** places
    # The range first: "1e999999999" * scale would overflow (decimal.Overflow), and an int()
    # of it would not fit in memory.
    if not Decimal(lo) / scale <= dec <= Decimal(hi) / scale:
        raise InputError(field, f"must be in [{Decimal(lo) / scale}, {Decimal(hi) / scale}] ({what})")
    # Exact product: rounding could turn 1.000...0001 into 1, and underflow 1e-999999999 into 0.
    with localcontext(Context(prec=len(dec.as_tuple().digits) + 40, Emin=MIN_EMIN, Emax=MAX_EMAX)):
        scaled = dec * scale
    if scaled != scaled.to_integral_value():
        raise InputError(field, f"at most {places} decimal places")
    return int(scaled)


def parse_threshold(text: str, field: str = "--threshold") -> int:
    """'1.0' -> 10**18. Exact decimal, at most 18 places, 0 < t < 2^64 / 1e18."""
    return parse_scaled(text, field, 18, 1, 2**THRESHOLD_BITS - 1, "a health factor, 1.0 = liquidation")


def _sourced(path: str | Path, what: str, parse: Callable[[Any], T]) -> T:
    """Parse a file, naming it in any error so the user knows which file is wrong."""
    try:
        return parse(read_json(path, what))
    except InputError as e:
        if e.source is not None:
            raise
        raise InputError(e.field, e.detail, source=f"{what} file {path}") from None


def load_market(path: str | Path) -> Market:
    return _sourced(path, "market", market_from_json)


def load_prices(path: str | Path, market: Market) -> PriceSnapshot:
    return _sourced(path, "prices", lambda d: prices_from_json(d, market))


def load_position(path: str | Path, market: Market) -> Position:
    return _sourced(path, "position", lambda d: position_from_json(d, market))
