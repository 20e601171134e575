"""Load and validate position, market and price files (JSON).

Every check lives here, at the boundary: a value that passes is in range for
the circuits. Errors are InputError naming the field and the allowed range.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

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
    WAD,
)
from .model import Asset, Market, Position, PricePoint, PriceSnapshot

FORMAT_VERSION = 1
_SYMBOL = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
T = TypeVar("T")
_DIGITS = re.compile(r"^-?[0-9]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")


class _Float:
    """Marks a JSON number with a fraction or exponent, rejected by _uint."""

    def __init__(self, text: str) -> None:
        self.text = text


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise InputError(k, "duplicate key")
        out[k] = v
    return out


def parse_json(text: str, what: str) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity, floats kept as text."""

    def bad_constant(name: str) -> Any:
        raise InputError(what, f"{name} is not allowed")

    try:
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_float=_Float,
            parse_constant=bad_constant,
        )
    except json.JSONDecodeError as e:
        raise InputError(what, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise InputError(what, "JSON nested too deeply") from None


def read_json(path: str | Path, what: str) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise InputError(what, f"cannot read {path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(what, f"{path} is not UTF-8 text") from None
    return parse_json(text, what)


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


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _join(prefix: str, key: str) -> str:
    """prefix.key, with a key that is empty, long or unprintable shown quoted (JSON-escaped)."""
    shown = key if _PLAIN_KEY.match(key) else json.dumps(key[:64])
    return f"{prefix}.{shown}" if prefix else shown


def _kind(v: Any) -> str:
    if isinstance(v, _Float):
        return f"the non-integer number {v.text}"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), type(v).__name__
    )


def _uint(value: Any, field: str, lo: int, hi: int, *, hex_ok: bool = False, what: str = "") -> int:
    """An integer in [lo, hi], given as a JSON integer or a decimal (or 0x hex) string."""
    rng = what or f"an integer in [{lo}, {hi}]"
    if isinstance(value, bool) or value is None:
        raise InputError(field, f"must be {rng}, got {_kind(value)}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        s = value.strip()
        if _DIGITS.match(s) and len(s) <= 100:
            n = int(s)
        elif hex_ok and _HEX.match(s) and len(s) <= 100:
            n = int(s, 16)
        else:
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise InputError(field, f"must be {rng}, got the string {shown!r}")
    else:
        raise InputError(field, f"must be {rng}, got {_kind(value)}")
    if not lo <= n <= hi:
        raise InputError(field, f"must be {rng}, got {n}")
    return n


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
        a = _obj(a, f, {"symbol", "decimals", "liquidationThreshold", "liquidationBonus", "liquidationProtocolFee"},
                 {"symbol", "decimals", "liquidationThreshold", "liquidationBonus"})
        sym = a["symbol"]
        if not isinstance(sym, str):
            raise InputError(f"{f}.symbol", f"must be a string, got {_kind(sym)}")
        _symbol(sym, f"{f}.symbol")
        if sym in seen:
            raise InputError(f"{f}.symbol", f"asset {sym} is listed twice")
        seen.add(sym)
        f = f"assets.{sym}"
        dec = _uint(a["decimals"], f"{f}.decimals", 0, MAX_DECIMALS)
        lt = _uint(a["liquidationThreshold"], f"{f}.liquidationThreshold", 0, BPS,
                   what=f"basis points in [0, {BPS}] (10000 = 100%)")
        bonus = _uint(a["liquidationBonus"], f"{f}.liquidationBonus", 0, 2**LT_BITS + BPS,
                      what="basis points including the 100% (10500 = 5% bonus)")
        if lt > 0:
            # Aave's configureReserveAsCollateral: bonus > 100% and LT * bonus <= 100%,
            # so that liquidating with the bonus cannot seize more than the collateral.
            if bonus <= BPS:
                raise InputError(f"{f}.liquidationBonus", f"must be > {BPS} when the asset is collateral (got {bonus})")
            if (lt * bonus + BPS // 2) // BPS > BPS:
                raise InputError(f"{f}.liquidationBonus",
                                 f"liquidationThreshold x liquidationBonus must be <= 100% (got {lt} x {bonus})")
        fee = _uint(a.get("liquidationProtocolFee", 0), f"{f}.liquidationProtocolFee", 0, BPS,
                    what=f"basis points of the liquidation bonus in [0, {BPS}] (1000 = 10%)")
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
        price = _uint(p["price"], f"{f}.price", 1, 2**PRICE_BITS - 1,
                      what=f"an oracle price with 8 decimals in [1, 2^{PRICE_BITS} - 1]")
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
            amounts[kind][sym] = _uint(v, f, 0, 2**AMOUNT_BITS - 1,
                                       what=f"an amount in token base units in [0, 2^{AMOUNT_BITS} - 1]")
    salt = _uint(d["salt"], "salt", 0, R - 1, hex_ok=True, what="a field element in [0, r - 1] (decimal or 0x hex)")
    return Position(amounts["collateral"], amounts["debt"], salt)


def position_to_json(position: Position) -> dict[str, Any]:
    """The position file format (amounts as decimal strings, salt as 0x hex)."""
    return {
        "version": FORMAT_VERSION,
        "collateral": {k: str(v) for k, v in position.collateral.items() if v},
        "debt": {k: str(v) for k, v in position.debt.items() if v},
        "salt": f"0x{position.salt:064x}",
    }


def parse_threshold(text: str, field: str = "--threshold") -> int:
    """'1.0' -> 10**18. Exact decimal, at most 18 places, 0 < t < 2^64 / 1e18."""
    try:
        dec = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise InputError(field, f"must be a decimal number such as 1.0, got {text!r}") from None
    if not dec.is_finite():
        raise InputError(field, f"must be a finite decimal number, got {text!r}")
    wad = dec * WAD
    if wad != wad.to_integral_value():
        raise InputError(field, "at most 18 decimal places")
    t = int(wad)
    hi = 2**THRESHOLD_BITS - 1
    if not 0 < t <= hi:
        raise InputError(field, f"must be in (0, {Decimal(hi) / WAD}] (health factor, 1.0 = liquidation)")
    return t


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
