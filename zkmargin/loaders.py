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

from .commitment import new_salt, to_hex
from .errors import InputError
from .field import R
from .limits import (
    AMOUNT_BITS,
    BPS,
    LT_BITS,
    MAX_ASSETS,
    MAX_DECIMALS,
    PRICE_BITS,
    PRICE_DECIMALS,
    THRESHOLD_BITS,
)
from .model import Asset, Market, Position, PricePoint, PriceSnapshot
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


def market_from_json(data: Any) -> Market:
    d = _obj(data, "", {"version", "name", "assets"}, {"assets"})
    _version(d, "")
    name = _name(d, "market")
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
            {"symbol", "decimals", "liquidationThreshold", "liquidationBonus", "liquidationProtocolFee"},
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
        lt = _uint(
            a["liquidationThreshold"],
            f"{f}.liquidationThreshold",
            0,
            BPS,
            what=f"basis points in [0, {BPS}] (10000 = 100%)",
        )
        bonus = _uint(
            a["liquidationBonus"],
            f"{f}.liquidationBonus",
            0,
            2**LT_BITS + BPS,
            what="basis points including the 100% (10500 = 5% bonus)",
        )
        if lt > 0:
            # Aave's configureReserveAsCollateral: bonus > 100% and LT * bonus <= 100%,
            # so that liquidating with the bonus cannot seize more than the collateral.
            if bonus <= BPS:
                raise InputError(f"{f}.liquidationBonus", f"must be > {BPS} when the asset is collateral (got {bonus})")
            if (lt * bonus + BPS // 2) // BPS > BPS:
                raise InputError(
                    f"{f}.liquidationBonus",
                    f"liquidationThreshold x liquidationBonus must be <= 100% (got {lt} x {bonus})",
                )
        fee = _uint(
            a.get("liquidationProtocolFee", 0),
            f"{f}.liquidationProtocolFee",
            0,
            BPS,
            what=f"basis points of the liquidation bonus in [0, {BPS}] (1000 = 10%)",
        )
        assets.append(Asset(sym, dec, lt, bonus, fee))
    return Market(name, tuple(assets))


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
        p = _obj(p, f, {"price", "roundId", "updatedAt"}, {"price"})
        price = _uint(
            p["price"],
            f"{f}.price",
            1,
            2**PRICE_BITS - 1,
            what=f"an oracle price with 8 decimals in [1, 2^{PRICE_BITS} - 1]",
        )
        round_id = _uint(p.get("roundId", 0), f"{f}.roundId", 0, 2**80 - 1)
        updated = _uint(p.get("updatedAt", 0), f"{f}.updatedAt", 0, 2**64 - 1)
        out[sym] = PricePoint(price, round_id, updated)
    for sym in market.symbols:
        if sym not in out:
            raise InputError(f"prices.{sym}", "missing: every market asset needs a price > 0")
    return PriceSnapshot(out)


def position_from_json(data: Any, market: Market) -> Position:
    d = _obj(data, "", {"version", "collateral", "debt", "salt"}, {"collateral", "debt", "salt"})
    _version(d, "")
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
                v, f, 0, 2**AMOUNT_BITS - 1, what=f"an amount in token base units in [0, 2^{AMOUNT_BITS} - 1]"
            )
    salt = _uint(d["salt"], "salt", 0, R - 1, hex_ok=True, what="a field element in [0, r - 1] (decimal or 0x hex)")
    return Position(amounts["collateral"], amounts["debt"], salt)


def salted_position_json(raw: Any, fresh: bool) -> tuple[dict[str, Any], bool]:
    """A position document with a salt: its own, or (fresh, or none given) one drawn from the OS
    CSPRNG. Returns the document and whether a salt was drawn (the caller must then keep it)."""
    if not isinstance(raw, dict):
        raise InputError("position", "must be a JSON object")
    if fresh or "salt" not in raw:
        return {**raw, "salt": to_hex(new_salt())}, True
    return raw, False


def position_to_json(position: Position) -> dict[str, Any]:
    """The position file format (amounts as decimal strings, salt as 0x hex)."""
    return {
        "version": FORMAT_VERSION,
        "collateral": {k: str(v) for k, v in position.collateral.items() if v},
        "debt": {k: str(v) for k, v in position.debt.items() if v},
        "salt": f"0x{position.salt:064x}",
    }


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
