"""Cross-margin perpetual accounts, exactly as dYdX v4 decides liquidation: model, files,
commitment, circuit inputs.

Follows dydxprotocol/v4-chain at protocol/v9.6.1 (213eef5584fc94ab25462bc6ce42d01c4fd38a2e; paths
under protocol/), in dYdX's own units:

* quote quantums: integers of 1e-6 USDC (lib/constants.go:17); the account's USDC balance is
  signed (negative = borrowed), in quote quantums.
* base quantums: a position's size `quantums`, signed (negative = short), integers of
  10^atomicResolution coins (PerpetualParams.atomic_resolution).
* price: MarketPrice.price (uint64) with the market's exponent: one coin is worth
  price * 10^priceExponent USDC.
* funding index: signed, in ppm of a quote quantum per base quantum; a position remembers the
  index it was last settled at.
* liquidity tier: initialMarginPpm (IMF) and maintenanceFractionPpm (MMF, the share of the
  *initial* margin that is maintenance margin).

Per position j and for the account (x/subaccounts/lib/updates.go 20-82 and 343-388,
x/perpetuals/lib/lib.go 14-165, lib/quantums.go 26-50, lib/big_math.go 20-28 and 165-175):
    settlement = floor(sum_j -(fundingIndex_j - positionIndex_j) * quantums_j / 1e6)   (one floor, Euclidean Div)
    N_j   = BaseToQuoteQuantums(quantums_j) = trunc(quantums_j * price_j * 10^(priceExponent_j + atomicResolution_j + 6))
    IMR_j = ceil(|N_j| * IMF_j / 1e6),   MMR_j = ceil(IMR_j * MMF_j / 1e6)
    TNC   = usdc + settlement + sum_j (N_j + quoteBalance_j),   MMR = sum_j MMR_j
    liquidatable iff MMR > 0 and TNC < MMR                   (lib/margin/risk.go 52-54)
The open-interest caps and the subaccount's leverage change only the *initial* margin, which no
statement here uses. The liquidation statement proves MMR > 0 and TNC * 1e4 < ratio * MMR (ratio
10000 bps: dYdX's own check); the attestation proves TNC * 1e4 >= ratio * MMR.
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
from .limits import BPS, PRICE_BITS
from .loaders import _int, _join, _name, _obj, _sourced, _symbol, _uint, parse_scaled
from .poseidon import poseidon
from .witness import InputValue

PERP_FORMAT_VERSION = 2  # dYdX v4 units (version 1: 8-decimal quote with entry prices, no longer read)
SIZE_BITS = 80  # |quantums| < 2^80
FUNDING_BITS = 64  # |funding index| < 2^64
BALANCE_BITS = 128  # |USDC|, |quote balance| < 2^128 quote quantums
NOTIONAL_BITS = 160  # |N_j| < 2^160 quote quantums
EXPONENT_BITS = 8  # |priceExponent|, |atomicResolution| < 2^8
MAX_QUOTE_EXPONENT = 18  # |priceExponent + atomicResolution + 6| <= 18: 10^18 < 2^60
PPM = 1_000_000
PPM_BITS = 20  # the circuit's range check on IMF and MMF (ppm): PPM < 2^PPM_BITS
RATIO_BITS = 20
QUOTE_ATOMIC_RESOLUTION = -6  # lib/constants.go:17
PERP_TAG = int.from_bytes(b"zkmargin/perp/v2", "big")


@dataclass(frozen=True)
class PerpMarket:
    """A perpetual: PerpetualParams.atomic_resolution, MarketParam.exponent and its liquidity tier."""

    symbol: str
    atomic_resolution: int
    price_exponent: int
    initial_margin_ppm: int
    maintenance_fraction_ppm: int

    @property
    def quote_exponent(self) -> int:
        """priceExponent + atomicResolution - quote atomic resolution (lib/quantums.go:33)."""
        return self.price_exponent + self.atomic_resolution - QUOTE_ATOMIC_RESOLUTION


@dataclass(frozen=True)
class PerpMarkets:
    name: str
    markets: tuple[PerpMarket, ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(m.symbol for m in self.markets)


@dataclass(frozen=True)
class PerpQuote:
    """MarketPrice.price (uint64) and the perpetual's current funding index."""

    price: int
    funding_index: int


@dataclass(frozen=True)
class PerpPosition:
    """subaccounts.PerpetualPosition: signed base quantums, the funding index at its last
    settlement, and quote_balance (v9; nothing on chain writes it yet, so 0 in practice)."""

    quantums: int
    funding_index: int
    quote_balance: int = 0


@dataclass(frozen=True)
class PerpAccount:
    usdc: int  # signed quote quantums (the USDC asset position)
    positions: dict[str, PerpPosition]
    salt: int


@dataclass(frozen=True)
class PerpMargin:
    """A subaccount's risk, in quote quantums, as dYdX computes it."""

    settlement: int  # floor(sum of -(index - positionIndex) * quantums / 1e6), added to USDC
    notional: dict[str, int]  # N_j, signed, truncated toward zero
    net_collateral: int  # TNC
    maintenance: int  # MMR
    initial: int  # IMR of the base tier (no open-interest caps, no leverage): informational

    @property
    def liquidatable(self) -> bool:
        """Risk.IsLiquidatable: MMR > 0 && TNC < MMR."""
        return self.below(BPS)

    def below(self, ratio_bps: int) -> bool:
        """MMR > 0 and TNC < ratio/1e4 * MMR, as the liquidation circuit decides it."""
        return self.maintenance > 0 and self.net_collateral * BPS < ratio_bps * self.maintenance

    def at_or_above(self, ratio_bps: int) -> bool:
        """TNC >= ratio/1e4 * MMR, as the attestation circuit decides it."""
        return self.net_collateral * BPS >= ratio_bps * self.maintenance


def _trunc_div(a: int, b: int) -> int:
    """big.Int.Quo: truncated toward zero (b > 0)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def base_to_quote_quantums(quantums: int, market: PerpMarket, price: int) -> int:
    """lib.BaseToQuoteQuantums (lib/quantums.go:26-50): exact for a non-negative exponent, else
    truncated toward zero (a short's notional rounds up, in the trader's favour)."""
    e = market.quote_exponent
    num = quantums * price
    return num * int(10**e) if e >= 0 else _trunc_div(num, int(10 ** (-e)))


def _ceil_ppm(v: int, ppm: int) -> int:
    """lib.BigMulPpm(v, ppm, roundUp=true) for v >= 0 (BigDivCeil, lib/big_math.go:165-175)."""
    return -(-(v * ppm) // PPM)


def evaluate(account: PerpAccount, markets: PerpMarkets, quotes: dict[str, PerpQuote]) -> PerpMargin:
    """Settle funding, then NC / IMR / MMR per position (x/subaccounts/keeper/subaccount.go:731-785)."""
    settlement_ppm = 0
    notional: dict[str, int] = {}
    nc = imr = mmr = 0
    for m in markets.markets:
        pos = account.positions.get(m.symbol)
        if pos is None:
            continue
        q = quotes[m.symbol]
        # x/perpetuals/lib/lib.go:14-37: -(fundingIndex - positionIndex) * quantums, in ppm
        settlement_ppm += -(q.funding_index - pos.funding_index) * pos.quantums
        n = base_to_quote_quantums(pos.quantums, m, q.price)
        if abs(n) >= 2**NOTIONAL_BITS:
            raise InputError(
                f"positions.{m.symbol}.quantums",
                f"notional {n} quote quantums at price {q.price} "
                f"must be within (-2^{NOTIONAL_BITS}, 2^{NOTIONAL_BITS})",
            )
        notional[m.symbol] = n
        # x/perpetuals/lib/lib.go:117-165: the base IMR (no OI caps, no leverage), then MMR from it
        base_imr = _ceil_ppm(abs(n), m.initial_margin_ppm)
        imr += base_imr
        mmr += _ceil_ppm(base_imr, m.maintenance_fraction_ppm)
        nc += n + pos.quote_balance  # lib.go:41-90: NC = notional + quoteBalance
    settlement = settlement_ppm // PPM  # x/subaccounts/lib/updates.go:73-78: Div (Euclidean = floor)
    return PerpMargin(settlement, notional, account.usdc + settlement + nc, mmr, imr)


def parse_ratio(text: str, field: str = "--ratio") -> int:
    """A multiple of the maintenance margin, in bps: "1.5" -> 15000 (at most 4 decimals)."""
    return parse_scaled(text, field, 4, 0, 2**RATIO_BITS - 1, "a multiple of the maintenance margin")


def _ratio_text(ratio_bps: int) -> str:
    return f"{ratio_bps / BPS:g}x"


def slot_values(account: PerpAccount, markets: PerpMarkets, n: int) -> tuple[list[int], list[int], list[int]]:
    """Per slot: quantums, position funding index, quote balance (0 without a position or for padding)."""
    pad = [0] * (n - len(markets.markets))
    empty = PerpPosition(0, 0, 0)
    ps = [account.positions.get(s, empty) for s in markets.symbols]
    return ([p.quantums for p in ps] + pad, [p.funding_index for p in ps] + pad, [p.quote_balance for p in ps] + pad)


def commit_values(usdc: int, quantums: list[int], fundings: list[int], quote_balances: list[int], salt: int) -> int:
    """The perp commitment layout v2 (mirrors PerpCommitment); signed values enter as v mod r."""

    def h(values: list[int]) -> int:
        return poseidon([v % R for v in values])

    return poseidon([PERP_TAG, usdc % R, h(quantums), h(fundings), h(quote_balances), salt % R])


def commitment(account: PerpAccount, markets: PerpMarkets, n: int) -> int:
    q, f, b = slot_values(account, markets, n)
    return commit_values(account.usdc, q, f, b, account.salt)


def risk_params(markets: PerpMarkets, n: int) -> dict[str, list[int]]:
    """Per-slot atomic resolution and price exponent (signed, mod r), IMF and MMF (ppm), padded to
    n slots. Padding: exponents that make the quote exponent 0, margins 0."""
    pad = n - len(markets.markets)
    return {
        "atomicResolution": [m.atomic_resolution % R for m in markets.markets] + [0] * pad,
        "priceExponent": [m.price_exponent % R for m in markets.markets] + [(-6) % R] * pad,
        "initialMarginPpm": [m.initial_margin_ppm for m in markets.markets] + [0] * pad,
        "maintenanceFractionPpm": [m.maintenance_fraction_ppm for m in markets.markets] + [0] * pad,
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
    """Inputs of perp_liquidation (MMR > 0 and TNC < ratio x MMR) or perp_attestation (TNC >= ratio x
    MMR); StatementFalse with the figures when the statement does not hold."""
    if not 0 <= ratio_bps < 2**RATIO_BITS:
        raise InputError("--ratio", f"must be in [0, {(2**RATIO_BITS - 1) / BPS}]")
    spec = registry.for_assets(statement, len(markets.markets))
    margin = evaluate(account, markets, quotes)
    if statement == "perp_liquidation" and not margin.below(ratio_bps):
        why = (
            "its maintenance margin is 0 (dYdX never liquidates an account without margin requirement)"
            if margin.maintenance == 0
            else f"net collateral {margin.net_collateral} >= {_ratio_text(ratio_bps)} maintenance margin "
            f"{margin.maintenance} (quote quantums)"
        )
        raise StatementFalse(f"account is not liquidatable: {why}")
    if statement == "perp_attestation" and not margin.at_or_above(ratio_bps):
        raise StatementFalse(
            f"account is below the attested margin: net collateral {margin.net_collateral} < "
            f"{_ratio_text(ratio_bps)} maintenance margin {margin.maintenance} (quote quantums)"
        )
    n = spec.n_assets
    quantums, fundings, balances = slot_values(account, markets, n)
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
            "usdc": account.usdc % R,
            "quantums": [v % R for v in quantums],
            "positionFundingIndex": [v % R for v in fundings],
            "quoteBalance": [v % R for v in balances],
            "salt": account.salt,
        }
    )
    return spec, inputs, margin


# --- files ---

_V1_KEYS = {"sizeDecimals", "maintenanceMarginPpm", "collateral", "entryPrice", "entryFunding", "size"}


def _perp_obj(value: Any, field: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    """_obj with a pointer to the new format for the keys of the old (version 1) perp files."""
    if isinstance(value, dict):
        old = sorted(set(value) & _V1_KEYS)
        if old:
            raise InputError(
                _join(field, old[0]),
                "a key of the version-1 perp format (8-decimal quote, entry prices); "
                "perp files now carry dYdX v4 units (README: 'Perpetual margin')",
            )
    return _obj(value, field, keys, required)


def _perp_version(d: dict[str, Any]) -> None:
    if "version" in d and _uint(d["version"], "version", 0, 2**32) != PERP_FORMAT_VERSION:
        raise InputError(
            "version",
            f"perp files are format version {PERP_FORMAT_VERSION} (dYdX v4 units: "
            "quote quantums, atomic resolution, price exponent; README: 'Perpetual margin')",
        )


def markets_from_json(data: Any) -> PerpMarkets:
    d = _perp_obj(data, "", {"version", "name", "markets"}, {"markets"})
    _perp_version(d)
    name = _name(d, "perps")
    raw = d["markets"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= 16:
        raise InputError("markets", "must be an array of 1 to 16 markets")
    out: list[PerpMarket] = []
    for i, m in enumerate(raw):
        keys = {"symbol", "atomicResolution", "priceExponent", "initialMarginPpm", "maintenanceFractionPpm"}
        m = _perp_obj(m, f"markets[{i}]", keys, keys)
        sym = m["symbol"]
        if not isinstance(sym, str):
            raise InputError(f"markets[{i}].symbol", "must be a string")
        _symbol(sym, f"markets[{i}].symbol")
        if sym in (x.symbol for x in out):
            raise InputError(f"markets[{i}].symbol", f"market {sym} is listed twice")
        f = f"markets.{sym}"
        ar = _int(m["atomicResolution"], f"{f}.atomicResolution", EXPONENT_BITS, "a signed power of ten")
        pe = _int(m["priceExponent"], f"{f}.priceExponent", EXPONENT_BITS, "a signed power of ten")
        if abs(pe + ar - QUOTE_ATOMIC_RESOLUTION) > MAX_QUOTE_EXPONENT:
            raise InputError(
                f"{f}.priceExponent",
                f"priceExponent + atomicResolution + 6 must be within "
                f"[-{MAX_QUOTE_EXPONENT}, {MAX_QUOTE_EXPONENT}] (got {pe + ar + 6})",
            )
        market = PerpMarket(
            sym,
            ar,
            pe,
            # LiquidityTier.Validate (x/perpetuals/types/liquidity_tier.go:14-38)
            _uint(
                m["initialMarginPpm"],
                f"{f}.initialMarginPpm",
                0,
                PPM,
                what=f"parts per million in [0, {PPM}] (50000 = 5%)",
            ),
            _uint(
                m["maintenanceFractionPpm"],
                f"{f}.maintenanceFractionPpm",
                0,
                PPM,
                what=f"parts per million of the initial margin in [0, {PPM}] (600000 = 60%)",
            ),
        )
        out.append(market)
    return PerpMarkets(name, tuple(out))


def quotes_from_json(data: Any, markets: PerpMarkets) -> dict[str, PerpQuote]:
    d = _perp_obj(data, "", {"version", "prices"}, {"prices"})
    _perp_version(d)
    raw = d["prices"]
    if not isinstance(raw, dict):
        raise InputError("prices", "must be an object of market -> {price, fundingIndex}")
    out: dict[str, PerpQuote] = {}
    for sym, q in raw.items():
        f = _join("prices", sym)
        if sym not in markets.symbols:
            raise InputError(f, f"unknown market (known: {', '.join(markets.symbols)})")
        q = _perp_obj(q, f, {"price", "fundingIndex"}, {"price", "fundingIndex"})
        out[sym] = PerpQuote(
            _uint(
                q["price"],
                f"{f}.price",
                1,
                2**PRICE_BITS - 1,
                what=f"MarketPrice.price (units of 10^priceExponent USDC) in [1, 2^{PRICE_BITS} - 1]",
            ),
            _int(
                q["fundingIndex"],
                f"{f}.fundingIndex",
                FUNDING_BITS,
                "a signed funding index (ppm of a quote quantum per base quantum)",
            ),
        )
    for sym in markets.symbols:
        if sym not in out:
            raise InputError(f"prices.{sym}", "missing: every market needs a price and a funding index")
    return out


def account_from_json(data: Any, markets: PerpMarkets) -> PerpAccount:
    d = _perp_obj(data, "", {"version", "usdc", "positions", "salt"}, {"usdc", "positions", "salt"})
    _perp_version(d)
    usdc = _int(d["usdc"], "usdc", BALANCE_BITS, "a signed USDC balance in quote quantums (1e-6 USDC)")
    raw = d["positions"]
    if not isinstance(raw, dict):
        raise InputError("positions", "must be an object of market -> position")
    positions: dict[str, PerpPosition] = {}
    for sym, p in raw.items():
        f = _join("positions", sym)
        if sym not in markets.symbols:
            raise InputError(f, f"unknown market (known: {', '.join(markets.symbols)})")
        p = _perp_obj(p, f, {"quantums", "fundingIndex", "quoteBalance"}, {"quantums", "fundingIndex"})
        positions[sym] = PerpPosition(
            _int(p["quantums"], f"{f}.quantums", SIZE_BITS, "a signed size in base quantums"),
            _int(
                p["fundingIndex"],
                f"{f}.fundingIndex",
                FUNDING_BITS,
                "the signed funding index at the position's last settlement",
            ),
            _int(
                p.get("quoteBalance", 0),
                f"{f}.quoteBalance",
                BALANCE_BITS,
                "a signed quote balance in quote quantums (0 on chain today)",
            ),
        )
    salt = _uint(d["salt"], "salt", 0, R - 1, hex_ok=True, what="a field element in [0, r - 1] (decimal or 0x hex)")
    return PerpAccount(usdc, positions, salt)


def load_markets(path: str | Path) -> PerpMarkets:
    return _sourced(path, "perp markets", markets_from_json)


def load_quotes(path: str | Path, markets: PerpMarkets) -> dict[str, PerpQuote]:
    return _sourced(path, "perp prices", lambda d: quotes_from_json(d, markets))


def load_account(path: str | Path, markets: PerpMarkets) -> PerpAccount:
    return _sourced(path, "perp account", lambda d: account_from_json(d, markets))
