"""Cross-margin perpetual accounts (dYdX v4 / Hyperliquid style): model, files, commitment, inputs.

Units: prices, entry prices and funding indices have 8 decimals of quote per whole base
unit; sizes are signed integers in base quantums (10^sizeDecimals per unit; negative =
short); collateral is quote with 8 decimals. Per market j:
    pnl_j  = floor(size_j * (price_j - entry_j - (funding_j - entryFunding_j)) / 10^sizeDecimals_j)
    mm_j   = ceil(|size_j| * price_j * mmr_j / (10^sizeDecimals_j * 1e6))      (mmr in ppm)
    equity = collateral + sum pnl_j     (accrued funding settled first, as dYdX does)
Liquidatable iff equity * 1e4 < ratio * MM with ratio = 10000 (equity < MM); an attestation
proves equity * 1e4 >= ratio * MM. pnl rounds down and MM up: both against the account.
Mirrors circuits/lib/perp.circom.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import registry
from .attestation import AttestationContext
from .errors import InputError, StatementFalse
from .field import R
from .limits import BPS, MAX_DECIMALS, PRICE_BITS
from .loaders import _int, _join, _name, _obj, _sourced, _symbol, _uint, _version, parse_scaled
from .poseidon import poseidon
from .witness import InputValue

SIZE_BITS = 80
FUNDING_BITS = 64
COLLATERAL_BITS = 128
MMR_MAX = 1_000_000
MMR_BITS = 20  # the circuit's range check on mmr (ppm): MMR_MAX < 2^MMR_BITS
RATIO_BITS = 20
PERP_TAG = int.from_bytes(b"zkmargin/perp/v1", "big")


@dataclass(frozen=True)
class PerpMarket:
    symbol: str
    size_decimals: int
    mmr_ppm: int


@dataclass(frozen=True)
class PerpMarkets:
    name: str
    markets: tuple[PerpMarket, ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(m.symbol for m in self.markets)


@dataclass(frozen=True)
class PerpQuote:
    price: int
    funding_index: int


@dataclass(frozen=True)
class PerpPosition:
    size: int
    entry_price: int
    entry_funding: int


@dataclass(frozen=True)
class PerpAccount:
    collateral: int
    positions: dict[str, PerpPosition]
    salt: int


@dataclass(frozen=True)
class PerpMargin:
    equity: int
    maintenance: int
    pnl: dict[str, int]

    def below(self, ratio_bps: int) -> bool:
        """equity < ratio/1e4 * MM, as the circuit decides it."""
        return self.equity * BPS < ratio_bps * self.maintenance


def evaluate(account: PerpAccount, markets: PerpMarkets, quotes: dict[str, PerpQuote]) -> PerpMargin:
    pnl: dict[str, int] = {}
    mm = 0
    for m in markets.markets:
        pos = account.positions.get(m.symbol)
        if pos is None:
            continue
        q = quotes[m.symbol]
        scale = int(10**m.size_decimals)
        delta = q.price - pos.entry_price - (q.funding_index - pos.entry_funding)
        pnl[m.symbol] = pos.size * delta // scale
        mm += -(-(abs(pos.size) * q.price * m.mmr_ppm) // (scale * MMR_MAX))
    return PerpMargin(account.collateral + sum(pnl.values()), mm, pnl)


def parse_ratio(text: str, field: str = "--ratio") -> int:
    """A multiple of the maintenance margin, in bps: "1.5" -> 15000 (at most 4 decimals)."""
    return parse_scaled(text, field, 4, 0, 2**RATIO_BITS - 1, "a multiple of the maintenance margin")


def _ratio_text(ratio_bps: int) -> str:
    return f"{ratio_bps / BPS:g}x"


def slot_values(account: PerpAccount, markets: PerpMarkets, n: int) -> tuple[list[int], list[int], list[int]]:
    pad = [0] * (n - len(markets.markets))
    empty = PerpPosition(0, 0, 0)
    ps = [account.positions.get(s, empty) for s in markets.symbols]
    return [p.size for p in ps] + pad, [p.entry_price for p in ps] + pad, [p.entry_funding for p in ps] + pad


def commit_values(collateral: int, sizes: list[int], entries: list[int], fundings: list[int], salt: int) -> int:
    """The perp commitment layout (mirrors PerpCommitment); signed values enter as v mod r."""

    def h(values: list[int]) -> int:
        return poseidon([v % R for v in values])

    return poseidon([PERP_TAG, collateral % R, h(sizes), h(entries), h(fundings), salt % R])


def commitment(account: PerpAccount, markets: PerpMarkets, n: int) -> int:
    sizes, entries, fundings = slot_values(account, markets, n)
    return commit_values(account.collateral, sizes, entries, fundings, account.salt)


def risk_params(markets: PerpMarkets, n: int) -> dict[str, list[int]]:
    """Per-slot size decimals and maintenance margin (ppm), padded to n slots (padding: 0)."""
    pad = n - len(markets.markets)
    return {
        "sizeDecimals": [m.size_decimals for m in markets.markets] + [0] * pad,
        "mmr": [m.mmr_ppm for m in markets.markets] + [0] * pad,
    }


def slot_quotes(markets: PerpMarkets, quotes: dict[str, PerpQuote], n: int) -> dict[str, list[int]]:
    """Per-slot prices and funding indices as the circuit holds them (signed values mod r);
    padding slots price 1 (the circuit refuses a zero price) and funding 0."""
    pad = n - len(markets.markets)
    return {
        "price": [quotes[s].price for s in markets.symbols] + [1] * pad,
        "fundingIndex": [quotes[s].funding_index % R for s in markets.symbols] + [0] * pad,
    }


def perp_inputs(
    statement: str,
    account: PerpAccount,
    markets: PerpMarkets,
    quotes: dict[str, PerpQuote],
    ratio_bps: int,
    context: AttestationContext | None = None,
) -> tuple[registry.CircuitSpec, dict[str, InputValue], PerpMargin]:
    """Inputs of perp_liquidation (equity < ratio x MM) or perp_attestation (>=); StatementFalse
    with the figures when the statement does not hold."""
    if not 0 <= ratio_bps < 2**RATIO_BITS:
        raise InputError("--ratio", f"must be in [0, {(2**RATIO_BITS - 1) / BPS}]")
    spec = registry.for_assets(statement, len(markets.markets))
    margin = evaluate(account, markets, quotes)
    below = margin.below(ratio_bps)
    if statement == "perp_liquidation" and not below:
        raise StatementFalse(
            f"account is not liquidatable: equity {margin.equity} >= "
            f"{_ratio_text(ratio_bps)} maintenance margin {margin.maintenance} (8 decimals)"
        )
    if statement == "perp_attestation" and below:
        raise StatementFalse(
            f"account is below the attested margin: equity {margin.equity} < "
            f"{_ratio_text(ratio_bps)} maintenance margin {margin.maintenance} (8 decimals)"
        )
    n = spec.n_assets
    sizes, entries, fundings = slot_values(account, markets, n)
    inputs: dict[str, InputValue] = {
        "commitment": commitment(account, markets, n),
        **slot_quotes(markets, quotes, n),
        **risk_params(markets, n),
        "marginRatio": ratio_bps,
    }
    if statement == "perp_attestation":
        assert context is not None
        inputs.update({"domain": context.domain_hash, "expiry": context.expiry, "nonce": context.nonce})
    inputs.update(
        {
            "collateral": account.collateral,
            "size": [s % R for s in sizes],
            "entryPrice": entries,
            "entryFunding": [f % R for f in fundings],
            "salt": account.salt,
        }
    )
    return spec, inputs, margin


# --- files ---


def markets_from_json(data: Any) -> PerpMarkets:
    d = _obj(data, "", {"version", "name", "markets"}, {"markets"})
    _version(d, "")
    name = _name(d, "perps")
    raw = d["markets"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= 16:
        raise InputError("markets", "must be an array of 1 to 16 markets")
    out: list[PerpMarket] = []
    for i, m in enumerate(raw):
        m = _obj(
            m,
            f"markets[{i}]",
            {"symbol", "sizeDecimals", "maintenanceMarginPpm"},
            {"symbol", "sizeDecimals", "maintenanceMarginPpm"},
        )
        sym = m["symbol"]
        if not isinstance(sym, str):
            raise InputError(f"markets[{i}].symbol", "must be a string")
        _symbol(sym, f"markets[{i}].symbol")
        if sym in (x.symbol for x in out):
            raise InputError(f"markets[{i}].symbol", f"market {sym} is listed twice")
        out.append(
            PerpMarket(
                sym,
                _uint(m["sizeDecimals"], f"markets.{sym}.sizeDecimals", 0, MAX_DECIMALS),
                _uint(
                    m["maintenanceMarginPpm"],
                    f"markets.{sym}.maintenanceMarginPpm",
                    0,
                    MMR_MAX,
                    what=f"parts per million in [0, {MMR_MAX}] (30000 = 3%)",
                ),
            )
        )
    return PerpMarkets(name, tuple(out))


def quotes_from_json(data: Any, markets: PerpMarkets) -> dict[str, PerpQuote]:
    d = _obj(data, "", {"version", "decimals", "prices"}, {"prices"})
    _version(d, "")
    if "decimals" in d and _uint(d["decimals"], "decimals", 0, 255) != 8:
        raise InputError("decimals", "perp prices must have 8 decimals")
    raw = d["prices"]
    if not isinstance(raw, dict):
        raise InputError("prices", "must be an object of market -> {price, fundingIndex}")
    out: dict[str, PerpQuote] = {}
    for sym, q in raw.items():
        f = _join("prices", sym)
        if sym not in markets.symbols:
            raise InputError(f, f"unknown market (known: {', '.join(markets.symbols)})")
        q = _obj(q, f, {"price", "fundingIndex"}, {"price", "fundingIndex"})
        out[sym] = PerpQuote(
            _uint(
                q["price"],
                f"{f}.price",
                1,
                2**PRICE_BITS - 1,
                what=f"an oracle price (8 decimals) in [1, 2^{PRICE_BITS} - 1]",
            ),
            _int(q["fundingIndex"], f"{f}.fundingIndex", FUNDING_BITS, "a signed funding index (8 decimals)"),
        )
    for sym in markets.symbols:
        if sym not in out:
            raise InputError(f"prices.{sym}", "missing: every market needs a price and a funding index")
    return out


def account_from_json(data: Any, markets: PerpMarkets) -> PerpAccount:
    d = _obj(data, "", {"version", "collateral", "positions", "salt"}, {"collateral", "positions", "salt"})
    _version(d, "")
    collateral = _uint(
        d["collateral"],
        "collateral",
        0,
        2**COLLATERAL_BITS - 1,
        what=f"quote collateral (8 decimals) in [0, 2^{COLLATERAL_BITS} - 1]",
    )
    raw = d["positions"]
    if not isinstance(raw, dict):
        raise InputError("positions", "must be an object of market -> position")
    positions: dict[str, PerpPosition] = {}
    for sym, p in raw.items():
        f = _join("positions", sym)
        if sym not in markets.symbols:
            raise InputError(f, f"unknown market (known: {', '.join(markets.symbols)})")
        p = _obj(p, f, {"size", "entryPrice", "entryFunding"}, {"size", "entryPrice", "entryFunding"})
        positions[sym] = PerpPosition(
            _int(p["size"], f"{f}.size", SIZE_BITS, "a signed size in base quantums"),
            _uint(
                p["entryPrice"],
                f"{f}.entryPrice",
                0,
                2**PRICE_BITS - 1,
                what=f"an entry price (8 decimals) in [0, 2^{PRICE_BITS} - 1]",
            ),
            _int(p["entryFunding"], f"{f}.entryFunding", FUNDING_BITS, "a signed funding index (8 decimals)"),
        )
    salt = _uint(d["salt"], "salt", 0, R - 1, hex_ok=True, what="a field element in [0, r - 1] (decimal or 0x hex)")
    return PerpAccount(collateral, positions, salt)


def load_markets(path: str | Path) -> PerpMarkets:
    return _sourced(path, "perp markets", markets_from_json)


def load_quotes(path: str | Path, markets: PerpMarkets) -> dict[str, PerpQuote]:
    return _sourced(path, "perp prices", lambda d: quotes_from_json(d, markets))


def load_account(path: str | Path, markets: PerpMarkets) -> PerpAccount:
    return _sourced(path, "perp account", lambda d: account_from_json(d, markets))
