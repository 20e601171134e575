"""The liquidation step itself, Aave v3.5 rules (aave-v3-origin LiquidationLogic.executeLiquidationCall).

Given a position with HF < 1, a debt asset d, a collateral asset c and the liquidator's
debtToCover (token units of d):
  debtInBase  = ceil(debt_d * P_d / U_d)            collInBase = floor(coll_c * P_c / U_c)
  maxLiquidatableDebt = debt_d, unless collInBase >= 2000e8, debtInBase >= 2000e8 and HF > 0.95,
      and debtInBase > percentMul(TD, 50%): then floor(percentMul(TD, 50%) * U_d / P_d)
  actualDebt  = min(debtToCover, maxLiquidatableDebt)
  base        = floor(P_d * actualDebt * U_c / (P_c * U_d));  maxColl = percentMul(base, bonus_c)
  if maxColl > coll_c: collAmount = coll_c, actualDebt = percentDivCeil(floor(P_c * coll_c * U_d / (P_d * U_c)), bonus_c)
  else:                collAmount = maxColl
  collInBaseLiquidated = floor(collAmount * P_c / U_c)
  fee         = percentMul(collAmount - percentDiv(collAmount, bonus_c), protocolFee_c)
  to liquidator: collAmount - fee; the position loses collAmount of c and actualDebt of d.
  Dust rule: unless all of debt_d or all of coll_c goes, both leftovers must be >= 1000e8 in base.
  Deficit: if TC == collInBaseLiquidated (no collateral value left), every remaining debt is burned.
Unlike Aave, debtToCover and actualDebt must be >= 1: a step hands the position to a commitment
whose salt only the liquidator knows, so one that repays nothing is refused (model and circuit).
percentMul / percentDiv round half up, percentDivCeil rounds up (PercentageMath).
Mirrors LiquidationStep in circuits/lib/liquidation_step.circom.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import registry
from .commitment import commitment, slot_amounts
from .errors import InputError, StatementFalse
from .limits import AMOUNT_BITS, BPS, WAD
from .model import Health, Market, Position, PriceSnapshot, evaluate, format_wad
from .registry import CircuitSpec
from .slots import risk_params, slot_params
from .witness import InputValue

CLOSE_FACTOR_HF_THRESHOLD = 95 * 10**16
MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2000 * 10**8
MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD // 2
DEFAULT_LIQUIDATION_CLOSE_FACTOR = 5000
BONUS_BITS = 15  # the circuit's range check on each slot's liquidation bonus (loaders bound it lower)
WIDE = 2**AMOUNT_BITS  # intermediate token amounts the circuit holds


def percent_mul(v: int, p: int) -> int:
    return (v * p + BPS // 2) // BPS


def percent_div(v: int, p: int) -> int:
    return (v * BPS + p // 2) // p


def percent_div_ceil(v: int, p: int) -> int:
    return -(-(v * BPS) // p)


@dataclass(frozen=True)
class LiquidationOutcome:
    collateral_index: int
    debt_index: int
    debt_to_cover: int  # what the liquidator asked for
    debt_repaid: int  # actualDebtToLiquidate
    collateral_to_liquidator: int
    protocol_fee: int
    deficit: bool  # no collateral value left: all remaining debt burned
    close_factor_applied: bool
    health_before: Health
    new_position: Position


def liquidate(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    collateral_asset: str,
    debt_asset: str,
    debt_to_cover: int,
    new_salt: int,
) -> LiquidationOutcome:
    """Apply one Aave v3.5 liquidation call; StatementFalse if Aave would refuse it."""
    symbols = market.symbols
    for field, sym in (("--collateral-asset", collateral_asset), ("--debt-asset", debt_asset)):
        if sym not in symbols:
            raise InputError(field, f"unknown asset {sym!r} (market has {', '.join(symbols)})")
    if not 0 < debt_to_cover < WIDE:
        raise InputError("--debt-to-cover", f"must be in [1, 2^{AMOUNT_BITS} - 1] token base units")
    c, d = symbols.index(collateral_asset), symbols.index(debt_asset)
    ca, da = market.assets[c], market.assets[d]
    pc, pd = prices.prices[ca.symbol].price, prices.prices[da.symbol].price
    uc, ud = 10**ca.decimals, 10**da.decimals
    coll_c = position.collateral.get(ca.symbol, 0)
    debt_d = position.debt.get(da.symbol, 0)

    health = evaluate(position, market, prices)
    if not health.is_below(WAD):
        raise StatementFalse(f"position is not liquidatable: health factor {format_wad(health.health_factor)} >= 1")
    if ca.liquidation_threshold == 0 or coll_c == 0:
        raise StatementFalse(f"{ca.symbol} is not collateral of this position (Aave: COLLATERAL_CANNOT_BE_LIQUIDATED)")
    if debt_d == 0:
        raise StatementFalse(f"the position has no {da.symbol} debt (Aave: SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER)")

    debt_in_base = -(-(debt_d * pd) // ud)
    coll_in_base = coll_c * pc // uc
    max_liquidatable = debt_d
    capped = False
    if (
        coll_in_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and debt_in_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and health.health_factor > CLOSE_FACTOR_HF_THRESHOLD
    ):
        total_default = percent_mul(health.total_debt, DEFAULT_LIQUIDATION_CLOSE_FACTOR)
        if debt_in_base > total_default:
            max_liquidatable = total_default * ud // pd
            capped = True
    actual_debt = min(debt_to_cover, max_liquidatable)

    base = pd * actual_debt * uc // (pc * ud)
    if base >= WIDE:
        raise InputError("--debt-to-cover", f"the collateral equivalent {base} exceeds the circuit's 2^{AMOUNT_BITS}")
    max_coll = percent_mul(base, ca.liquidation_bonus)
    if max_coll > coll_c:
        coll_amount = coll_c
        actual_debt = percent_div_ceil(pc * coll_amount * ud // (pd * uc), ca.liquidation_bonus)
    else:
        coll_amount = max_coll
    if actual_debt == 0:
        # zkmargin's rule, not Aave's (which would execute it): every step retires the owner's
        # commitment for one whose salt the liquidator chose, so a step must repay something.
        raise StatementFalse(
            f"the call would repay no {da.symbol} (the close factor caps it to 0, or the {ca.symbol} "
            "collateral is worth less than one debt unit); zkmargin refuses a step that repays nothing"
        )
    coll_liquidated_in_base = coll_amount * pc // uc
    fee = percent_mul(coll_amount - percent_div(coll_amount, ca.liquidation_bonus), ca.protocol_fee)

    if actual_debt < debt_d and coll_amount < coll_c:
        left_debt = -(-((debt_d - actual_debt) * pd) // ud)
        left_coll = (coll_c - coll_amount) * pc // uc
        if left_debt < MIN_LEFTOVER_BASE or left_coll < MIN_LEFTOVER_BASE:
            raise StatementFalse(
                f"Aave would revert with MustNotLeaveDust: {left_debt} debt and {left_coll} collateral "
                f"(base, 8 decimals) would remain, each must be >= {MIN_LEFTOVER_BASE} unless one is cleared"
            )

    deficit = health.total_collateral == coll_liquidated_in_base
    new_coll = dict(position.collateral)
    new_coll[ca.symbol] = coll_c - coll_amount
    if deficit:
        new_debt = {s: 0 for s in position.debt}
    else:
        new_debt = dict(position.debt)
        new_debt[da.symbol] = debt_d - actual_debt
    return LiquidationOutcome(
        collateral_index=c,
        debt_index=d,
        debt_to_cover=debt_to_cover,
        debt_repaid=actual_debt,
        collateral_to_liquidator=coll_amount - fee,
        protocol_fee=fee,
        deficit=deficit,
        close_factor_applied=capped,
        health_before=health,
        new_position=Position(new_coll, new_debt, new_salt),
    )


def step_inputs(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    collateral_asset: str,
    debt_asset: str,
    debt_to_cover: int,
    new_salt: int,
) -> tuple[CircuitSpec, dict[str, InputValue], LiquidationOutcome]:
    """Inputs of LiquidationStep: the model's outcome, with both openings."""
    outcome = liquidate(position, market, prices, collateral_asset, debt_asset, debt_to_cover, new_salt)
    spec = registry.for_assets("liquidation_step", len(market.assets))
    n = spec.n_assets
    coll, debt = slot_amounts(position, market, n)
    params = risk_params(market, n)
    inputs: dict[str, InputValue] = {
        "oldCommitment": commitment(position, market, n),
        "newCommitment": commitment(outcome.new_position, market, n),
        **slot_params(market, prices, n),
        "liqBonus": params["liqBonus"],
        "protocolFee": params["protocolFee"],
        "collateralAsset": outcome.collateral_index,
        "debtAsset": outcome.debt_index,
        "debtToCover": debt_to_cover,
        "debtRepaid": outcome.debt_repaid,
        "collateralToLiquidator": outcome.collateral_to_liquidator,
        "protocolFeeAmount": outcome.protocol_fee,
        "deficit": int(outcome.deficit),
        "collateral": coll,
        "debt": debt,
        "salt": position.salt,
        "newSalt": new_salt,
    }
    return spec, inputs, outcome
