"""dYdX v4 cross-margin collateral check, transliterated from dydxprotocol/v4-chain.

Pinned at tag ``protocol/v9.6.1`` = commit 213eef5584fc94ab25462bc6ce42d01c4fd38a2e (newest
``protocol/vX.Y.Z`` release tag). Paths below are relative to ``protocol/``. Independent of
zkmargin: nothing here imports zkmargin.

Go's big.Int has two divisions and both occur: ``Quo`` truncates toward zero, ``Div`` is
Euclidean (for the positive divisors used here: toward minus infinity). Python's ``//`` is
floor, so truncation is written out (``quo``).

Units (what a zkmargin file would carry to reproduce dYdX exactly)
------------------------------------------------------------------
* quote quantums: integers of 10^QuoteCurrencyAtomicResolution = 10^-6 USDC
  (lib/constants.go:17). The USDC asset position (asset id 0) is held in quote quantums,
  signed (negative = borrowed USDC).
* base quantums: a perpetual position's size ``quantums`` is an integer of
  10^atomic_resolution coins (PerpetualParams.atomic_resolution, e.g. BTC -10, ETH -9), signed
  (negative = short).
* oracle price: ``MarketPrice{price uint64, exponent int32}``; one coin is worth
  ``price * 10^exponent`` USDC (e.g. BTC exponent -5).
* notional: ``BaseToQuoteQuantums(q, ar, price, exp) = quo(q * price * 10^(exp + ar + 6))``
  when the exponent is negative (truncated toward zero), exact otherwise.
* funding index: ``Perpetual.funding_index`` is a signed integer in parts-per-million of a quote
  quantum per base quantum; a position remembers the index at its last settlement. Settlement
  adds ``floor(sum_j -(index_j - position_index_j) * q_j / 1e6)`` quote quantums to USDC (one
  floor over the sum of all positions).
* liquidity tier: ``initial_margin_ppm`` (IMF), ``maintenance_fraction_ppm`` (MMF: the share of
  the *initial* margin that is maintenance margin, not a margin fraction itself), open-interest
  caps (quote quantums) for the initial margin only.
* subticks / quantum_conversion_exponent / step_base_quantums / subticks_per_tick belong to a
  ClobPair and price *orders* (``FillAmountToQuoteQuantums = subticks * q * 10^qce``, floor);
  the margin check never reads them. They are given here for completeness only.

A simple file format that reproduces the check exactly (one object per market, one account)::

    markets: [{id, atomicResolution, priceExponent, initialMarginPpm, maintenanceFractionPpm,
               openInterestLowerCap?, openInterestUpperCap?, openInterest?}]
    prices:  {id: {price (uint64), fundingIndex (signed, ppm quote quantum / base quantum)}}
    account: {usdcQuantums (signed), positions: {id: {quantums (signed), fundingIndex (signed),
              quoteBalance? (signed, 0 in practice)}}}

Liquidatable iff ``MMR > 0 and TNC < MMR`` (lib/margin/risk.go:52-54), with
``TNC = usdc_after_settlement + sum_j (notional_j + quoteBalance_j)`` and
``MMR = sum_j ceil(ceil(|trunc notional_j| * IMF_j / 1e6) * MMF_j / 1e6)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

PIN_REPO: Final = "dydxprotocol/v4-chain"
PIN_TAG: Final = "protocol/v9.6.1"
PIN_COMMIT: Final = "213eef5584fc94ab25462bc6ce42d01c4fd38a2e"

QUOTE_CURRENCY_ATOMIC_RESOLUTION: Final = -6  # lib/constants.go:17
ONE_MILLION: Final = 1_000_000  # lib/constants.go:11
MAX_INITIAL_MARGIN_PPM: Final = 1_000_000  # x/perpetuals/types/genesis.go:21
MAX_MAINTENANCE_FRACTION_PPM: Final = 1_000_000  # x/perpetuals/types/genesis.go:22
USDC_ASSET_ID: Final = 0  # x/assets/types/genesis.go:12 (AssetUsdc.Id)
FUNDING_RATE_PERIOD_SECONDS: Final = 60 * 60 * 8  # x/perpetuals/funding/funding.go:44


# --------------------------------------------------------------------------------------------
# Integer helpers with Go big.Int semantics
# --------------------------------------------------------------------------------------------


def pow10(n: int) -> int:
    """10^n for n >= 0 (BigPow10, lib/big_math.go:36-51, returns |exponent| and its sign)."""
    return int(10**n)


def quo(a: int, b: int) -> int:
    """big.Int.Quo: truncated division (toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def euclid_div(a: int, b: int) -> int:
    """big.Int.Div: Euclidean division (remainder >= 0). Equals floor for b > 0."""
    q, r = divmod(a, b)
    if r < 0:  # only possible for b < 0 in Python's divmod
        q += 1
    return q


def big_div_ceil(a: int, b: int) -> int:
    """lib.BigDivCeil (lib/big_math.go:165-175): QuoRem, +1 if remainder != 0 and a, b same sign."""
    q = quo(a, b)
    r = a - q * b

    def sign(x: int) -> int:
        return (x > 0) - (x < 0)

    if r != 0 and sign(a) == sign(b):
        q += 1
    return q


def big_mul_ppm(val: int, ppm: int, round_up: bool) -> int:
    """lib.BigMulPpm (lib/big_math.go:20-28): ceil via BigDivCeil, else Euclidean Div."""
    result = val * ppm
    return big_div_ceil(result, ONE_MILLION) if round_up else euclid_div(result, ONE_MILLION)


def big_int_mul_ppm(val: int, ppm: int) -> int:
    """lib.BigIntMulPpm (lib/big_math.go:72-76): Euclidean Div."""
    return euclid_div(val * ppm, ONE_MILLION)


def base_to_quote_quantums(base_quantums: int, atomic_resolution: int, price: int, price_exponent: int) -> int:
    """lib.BaseToQuoteQuantums (lib/quantums.go:26-50): base * price * 10^(exp + ar + 6),
    the division (negative exponent) truncated toward zero (Quo)."""
    num = price * base_quantums
    exponent = price_exponent + atomic_resolution - QUOTE_CURRENCY_ATOMIC_RESOLUTION
    if exponent == 0:
        return num
    if exponent < 0:
        return quo(num, pow10(-exponent))
    return num * pow10(exponent)


def quote_to_base_quantums(quote_quantums: int, atomic_resolution: int, price: int, price_exponent: int) -> int:
    """lib.QuoteToBaseQuantums (lib/quantums.go:67-90): two truncated divisions."""
    exponent = price_exponent + atomic_resolution - QUOTE_CURRENCY_ATOMIC_RESOLUTION
    result = quote_quantums
    if exponent < 0:
        result = result * pow10(-exponent)
    else:
        result = quo(result, pow10(exponent))
    return quo(result, price)


def fill_amount_to_quote_quantums(subticks: int, base_quantums: int, quantum_conversion_exponent: int) -> int:
    """clob types.FillAmountToQuoteQuantums (x/clob/types/quantums.go:28-38): order pricing, not
    used by the margin check. BigIntMulPow10(subticks * q, qce, roundUp=false) (lib/big_math.go:55-68)."""
    result = subticks * base_quantums
    if quantum_conversion_exponent < 0:
        return euclid_div(result, pow10(-quantum_conversion_exponent))
    return result * pow10(quantum_conversion_exponent)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiquidityTier:
    """perpetuals.LiquidityTier (proto/dydxprotocol/perpetuals/perpetual.proto)."""

    initial_margin_ppm: int
    maintenance_fraction_ppm: int
    open_interest_lower_cap: int = 0  # quote quantums
    open_interest_upper_cap: int = 0  # quote quantums; 0 disables OIMF

    def __post_init__(self) -> None:
        # LiquidityTier.Validate (x/perpetuals/types/liquidity_tier.go:14-38)
        if not 0 <= self.initial_margin_ppm <= MAX_INITIAL_MARGIN_PPM:
            raise ValueError("initial_margin_ppm in [0, 1e6]")
        if not 0 <= self.maintenance_fraction_ppm <= MAX_MAINTENANCE_FRACTION_PPM:
            raise ValueError("maintenance_fraction_ppm in [0, 1e6]")
        if self.open_interest_lower_cap > self.open_interest_upper_cap:
            raise ValueError("open interest lower cap above upper cap")


@dataclass(frozen=True)
class Perpetual:
    """A perpetual with its oracle price, as PerpInfo (x/perpetuals/types/perpinfo.go) holds it."""

    id: int
    atomic_resolution: int
    price: int  # MarketPrice.Price (uint64)
    price_exponent: int  # MarketPrice.Exponent
    tier: LiquidityTier
    funding_index: int = 0  # current Perpetual.FundingIndex
    open_interest: int = 0  # base quantums (initial margin only)

    def __post_init__(self) -> None:
        if not 0 <= self.price < 2**64:
            raise ValueError("price is a uint64")


@dataclass(frozen=True)
class PerpetualPosition:
    """subaccounts.PerpetualPosition."""

    perpetual_id: int
    quantums: int
    funding_index: int = 0  # the perpetual's index at the last settlement
    quote_balance: int = 0  # v9 field; nothing in x/ writes it, so 0 on chain today


@dataclass(frozen=True)
class Subaccount:
    usdc_quantums: int
    positions: tuple[PerpetualPosition, ...] = ()
    leverage: dict[int, int] = field(default_factory=dict)  # perpetual id -> custom IMF ppm


@dataclass(frozen=True)
class Risk:
    """lib/margin/risk.go:9-13. All in quote quantums."""

    nc: int
    imr: int
    mmr: int

    def is_liquidatable(self) -> bool:
        """Risk.IsLiquidatable (lib/margin/risk.go:52-54): MMR > 0 && MMR > NC."""
        return self.mmr > 0 and self.mmr > self.nc

    def is_initial_collateralized(self) -> bool:
        """Risk.IsInitialCollateralized (:36-38): NC >= IMR."""
        return self.nc >= self.imr

    def is_maintenance_collateralized(self) -> bool:
        """Risk.IsMaintenanceCollateralized (:42-44): NC >= MMR."""
        return self.nc >= self.mmr


# --------------------------------------------------------------------------------------------
# x/perpetuals
# --------------------------------------------------------------------------------------------


def get_settlement_ppm(perp: Perpetual, quantums: int, index: int) -> tuple[int, int]:
    """perplib.GetSettlementPpmWithPerpetual (x/perpetuals/lib/lib.go:14-37):
    -(fundingIndex - index) * quantums, in ppm quote quantums; and the new index."""
    if perp.funding_index == index:
        return 0, perp.funding_index
    return -((perp.funding_index - index) * quantums), perp.funding_index


def get_net_notional(perp: Perpetual, quantums: int) -> int:
    """perplib.GetNetNotionalInQuoteQuantums (x/perpetuals/lib/lib.go:97-112): signed, truncated."""
    return base_to_quote_quantums(quantums, perp.atomic_resolution, perp.price, perp.price_exponent)


def get_adjusted_initial_margin_ppm(tier: LiquidityTier, oi_quote_quantums: int) -> int:
    """LiquidityTier.GetAdjustedInitialMarginPpm (x/perpetuals/types/liquidity_tier.go:103-141)."""
    upper, lower = tier.open_interest_upper_cap, tier.open_interest_lower_cap
    if upper == 0 or oi_quote_quantums <= lower:
        return tier.initial_margin_ppm
    if oi_quote_quantums >= upper:
        return ONE_MILLION
    cap_num = oi_quote_quantums - lower
    cap_den = upper - lower
    result = euclid_div((ONE_MILLION - tier.initial_margin_ppm) * cap_num, cap_den)
    return result + tier.initial_margin_ppm


def get_initial_margin_quote_quantums(
    tier: LiquidityTier, quote_quantums: int, oi_quote_quantums: int, custom_imf_ppm: int
) -> int:
    """LiquidityTier.GetInitialMarginQuoteQuantums (liquidity_tier.go:77-88): round up."""
    imf = get_adjusted_initial_margin_ppm(tier, oi_quote_quantums)
    if custom_imf_ppm > 0:
        imf = max(imf, custom_imf_ppm)
    return big_mul_ppm(quote_quantums, imf, True)


def get_margin_requirements(perp: Perpetual, quantums: int, custom_imf_ppm: int = 0) -> tuple[int, int]:
    """perplib.GetMarginRequirementsInQuoteQuantums (x/perpetuals/lib/lib.go:117-165).

    MMR comes from the *base* IMR (open interest 0, no custom IMF) of the truncated |notional|:
    ``MMR = ceil(ceil(|N| * IMF / 1e6) * MMF / 1e6)``. IMR uses the open-interest-adjusted IMF,
    raised to the subaccount's custom IMF (leverage) if larger."""
    abs_quote = base_to_quote_quantums(abs(quantums), perp.atomic_resolution, perp.price, perp.price_exponent)
    oi_quote = base_to_quote_quantums(perp.open_interest, perp.atomic_resolution, perp.price, perp.price_exponent)
    base_imr = get_initial_margin_quote_quantums(perp.tier, abs_quote, 0, 0)
    mmr = big_mul_ppm(base_imr, perp.tier.maintenance_fraction_ppm, True)
    imr = get_initial_margin_quote_quantums(perp.tier, abs_quote, oi_quote, custom_imf_ppm)
    return imr, mmr


def get_net_collateral_and_margin_requirements(
    perp: Perpetual, quantums: int, quote_balance: int, custom_imf_ppm: int = 0
) -> Risk:
    """perplib.GetNetCollateralAndMarginRequirements (x/perpetuals/lib/lib.go:71-90) via
    GetPositionNetNotionalValueAndMarginRequirements (:41-67): NC = notional + quoteBalance."""
    nc = get_net_notional(perp, quantums)
    imr, mmr = get_margin_requirements(perp, quantums, custom_imf_ppm)
    return Risk(nc + quote_balance, imr, mmr)


def funding_index_delta(perp: Perpetual, funding_rate_8h_ppm: int, seconds: int) -> int:
    """funding.GetFundingIndexDelta (x/perpetuals/funding/funding.go:21-47): how the index moves
    at a funding tick: quo(BaseToQuoteQuantums(seconds * rate_ppm, ...), 8h)."""
    result = base_to_quote_quantums(
        seconds * funding_rate_8h_ppm, perp.atomic_resolution, perp.price, perp.price_exponent
    )
    return quo(result, FUNDING_RATE_PERIOD_SECONDS)


# --------------------------------------------------------------------------------------------
# x/subaccounts
# --------------------------------------------------------------------------------------------


def get_settled_subaccount(sub: Subaccount, perps: dict[int, Perpetual]) -> tuple[Subaccount, dict[int, int]]:
    """salib.GetSettledSubaccountWithPerpetuals (x/subaccounts/lib/updates.go:20-82).

    Sums every position's settlement in ppm, then adds ``Div(total, 1e6)`` (Euclidean = floor)
    to USDC once; each position's index becomes the perpetual's. Also returns the per-perpetual
    funding payments the indexer sees: ``-Div(settlement_j, 1e6)`` (:45-51)."""
    total_ppm = 0
    payments: dict[int, int] = {}
    new_positions = []
    for p in sub.positions:
        perp = perps[p.perpetual_id]
        settlement, new_index = get_settlement_ppm(perp, p.quantums, p.funding_index)
        if settlement != 0:
            payments[p.perpetual_id] = -euclid_div(settlement, ONE_MILLION)
        total_ppm += settlement
        new_positions.append(PerpetualPosition(p.perpetual_id, p.quantums, new_index, p.quote_balance))
    usdc = sub.usdc_quantums + euclid_div(total_ppm, ONE_MILLION)
    return Subaccount(usdc, tuple(new_positions), dict(sub.leverage)), payments


def get_risk_for_subaccount(sub: Subaccount, perps: dict[int, Perpetual]) -> Risk:
    """salib.GetRiskForSubaccount (x/subaccounts/lib/updates.go:343-388) for a settled subaccount:
    USDC contributes NC only (x/assets/lib: GetNetCollateralAndMarginRequirements), each
    perpetual its NC / IMR / MMR, summed (margin.Risk.AddInPlace, risk.go:25-32)."""
    nc, imr, mmr = sub.usdc_quantums, 0, 0
    for p in sub.positions:
        r = get_net_collateral_and_margin_requirements(
            perps[p.perpetual_id], p.quantums, p.quote_balance, sub.leverage.get(p.perpetual_id, 0)
        )
        nc, imr, mmr = nc + r.nc, imr + r.imr, mmr + r.mmr
    return Risk(nc, imr, mmr)


def get_net_collateral_and_margin_requirements_for_subaccount(sub: Subaccount, perps: dict[int, Perpetual]) -> Risk:
    """keeper.GetNetCollateralAndMarginRequirements(WithLeverage) with an empty update
    (x/subaccounts/keeper/subaccount.go:731-785): settle funding, then GetRiskForSubaccount."""
    settled, _ = get_settled_subaccount(sub, perps)
    return get_risk_for_subaccount(settled, perps)


def is_liquidatable(sub: Subaccount, perps: dict[int, Perpetual]) -> bool:
    """clob keeper.IsLiquidatable (x/clob/keeper/liquidations.go:350-366)."""
    return get_net_collateral_and_margin_requirements_for_subaccount(sub, perps).is_liquidatable()
