"""One Aave v3 liquidation call on a committed position, by the market's rules (aave-v3-origin
LiquidationLogic.executeLiquidationCall: v3.5.0 :167-431, v3.6.0 :167-439, v3.7 :166-460, paths
under src/contracts/protocol/libraries/logic/, with the token calls it makes).

Given a position with HF < 1, a collateral reserve c, a debt reserve d and the liquidator's
debtToCover (token units of d), on scaled balances s with indexes i (ray):
  coll_c = rayMulFloor(s_c, i_c), debt_d = rayMulCeil(s_d, i_d)                  (:203-208)
  refused: HF >= 1; the collateral flag off (v3.5: or reserve LT 0); debt_d == 0  (validateLiquidationCall)
  bonus   = the eMode bonus if the user's category lists c, else the reserve's     (:224-237)
  close factor: debtInBase = mulDivCeil(debt_d, P_d, U_d), collInBase = floor(coll_c * P_c / U_c);
      if both >= 2000e8 and HF > 0.95 and debtInBase > percentMul(TD, 50%):
      max = floor(percentMul(TD, 50%) * U_d / P_d), else max = debt_d             (:256-276)
  actualDebt = min(debtToCover, max)
  base = floor(P_d * actualDebt * U_c / (P_c * U_d)); maxColl = percentMul(base, bonus)
      (v3.7: percentMulFloor); if maxColl > coll_c: collAmount = coll_c and actualDebt =
      percentDivCeil(floor(P_c * coll_c * U_d / (P_d * U_c)), bonus), else collAmount = maxColl
  fee = percentMul(collAmount - percentDiv(collAmount, bonus), feeBps)
      (v3.7: percentMulCeil(collAmount - percentDivFloor(collAmount, bonus), feeBps)); a non-zero
      fee with a zero bonus (v3.6+ LT-0 collateral) reverts in percentDiv
  MustNotLeaveDust: unless all of debt_d or all of coll_c goes, both leftovers >= 1000e8 (base)
  no collateral left: v3.5/v3.6 TC == floor(collAmount * P_c / U_c); v3.7 the value of the
      consumed scaled balance min(rayDivCeil(toLiquidator) + rayDivCeil(fee), s_c) == TC
  debt: burns rayDivFloor(actualDebt, i_d) scaled (InvalidBurnAmount if 0); with no collateral
      left, every debt is burnt and booked as the reserve's deficit (debt_d - actualDebt on d)
  collateral: rayDivCeil(toLiquidator, i_c) scaled to the liquidator (InvalidBurnAmount if 0
      unless receiveAToken); the fee's rayDivCeil(fee, i_c) to the treasury, capped at the
      scaled balance left, then paying rayMulFloor(left, i_c)
  flag: cleared when collAmount == coll_c (v3.7: the scaled balance fully consumed, or no
      collateral left)
One rule is zkmargin's, not Aave's: debtToCover and actualDebt must be >= 1: a step hands the
position to a commitment whose salt only the liquidator knows, so one that repays nothing is
refused (model and circuit). Isolation mode changes no position (README: "Isolation mode").
Mirrors LiquidationStep in circuits/lib/liquidation_step.circom.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import registry
from .aave_math import (
    atoken_balance,
    atoken_burn_scaled,
    mul_div_ceil,
    percent_div,
    percent_div_ceil,
    percent_div_floor,
    percent_mul,
    percent_mul_ceil,
    percent_mul_floor,
    vtoken_burn_scaled,
)
from .commitment import commitment, slot_amounts
from .errors import InputError, StatementFalse
from .limits import AMOUNT_BITS, BPS, WAD
from .model import Health, Market, Position, PriceSnapshot, emode_of, evaluate, format_wad, rules_label
from .registry import CircuitSpec
from .slots import emode_params, risk_params, slot_params
from .witness import InputValue

CLOSE_FACTOR_HF_THRESHOLD = 95 * 10**16
MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2000 * 10**8
MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD // 2
DEFAULT_LIQUIDATION_CLOSE_FACTOR = 5000
DEBT_CEILING_DECIMALS = 2
WIDE = 2**AMOUNT_BITS  # intermediate token amounts the circuit holds
BONUS_BITS = 15  # the circuit's range check on each slot's liquidation bonus (loaders bound it lower)


class AaveRevert(StatementFalse):
    """Aave would revert the call: `name` is the Solidity error (libraries/helpers/Errors.sol)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{message} (Aave: {name})")
        self.name = name


@dataclass(frozen=True)
class LiquidationOutcome:
    collateral_index: int
    debt_index: int
    debt_to_cover: int  # what the liquidator asked for
    receive_atoken: bool
    debt_repaid: int  # actualDebtToLiquidate
    collateral_to_liquidator: int  # actualCollateralToLiquidate
    protocol_fee: int  # to the treasury, after the cap at the scaled balance left
    deficit: tuple[int, ...]  # per slot: debt written off as the reserve's deficit
    close_factor_applied: bool
    health_before: Health
    bonus: int  # the liquidation bonus applied (eMode or reserve), bps
    scaled_to_liquidator: int
    scaled_to_treasury: int
    scaled_debt_burned: tuple[int, ...]  # per slot
    isolated_debt_repaid: int | None  # v3.5/v3.6: isolation-mode debt units repaid on the collateral's counter
    new_position: Position

    @property
    def has_deficit(self) -> bool:
        return any(self.deficit)


def check_isolation(market: Market) -> None:
    """v3.5/v3.6 decrease an isolated collateral's debt counter by floor(repaid / 10^(debtDecimals - 2))
    (IsolationModeLogic.convertToIsolatedDebtUnits :140-149), which is Panic(0x11) for a debt asset
    with fewer than 2 decimals: every such call reverts. zkmargin refuses the market."""
    if market.rules == "aave-v3.7":
        return
    isolated = [a for a in market.assets if a.debt_ceiling]
    small = [a for a in market.assets if a.decimals < DEBT_CEILING_DECIMALS]
    if isolated and small:
        raise InputError(
            f"assets.{isolated[0].symbol}.debtCeiling",
            f"an isolated asset (debt ceiling) in a market with {small[0].symbol} ({small[0].decimals} "
            f"decimals): {rules_label(market.rules)} reverts (Panic) on every liquidation of this "
            "collateral against that debt; zkmargin refuses such markets for the liquidation step",
        )


def liquidate(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    collateral_asset: str,
    debt_asset: str,
    debt_to_cover: int,
    new_salt: int,
    receive_atoken: bool = False,
) -> LiquidationOutcome:
    """Apply one liquidation call by the market's rules; StatementFalse (AaveRevert: Aave's own
    refusals) if it would not execute, InputError for values the circuit cannot hold."""
    symbols = market.symbols
    for field, sym in (("--collateral-asset", collateral_asset), ("--debt-asset", debt_asset)):
        if sym not in symbols:
            raise InputError(field, f"unknown asset {sym!r} (market has {', '.join(symbols)})")
    if not 0 < debt_to_cover < WIDE:
        raise InputError("--debt-to-cover", f"must be in [1, 2^{AMOUNT_BITS} - 1] token base units")
    check_isolation(market)
    rules = market.rules
    v37 = rules == "aave-v3.7"
    c, d = symbols.index(collateral_asset), symbols.index(debt_asset)
    ca, da = market.assets[c], market.assets[d]
    pcp, pdp = prices.prices[ca.symbol], prices.prices[da.symbol]
    pc, pd, ic, idv = pcp.price, pdp.price, pcp.liquidity_index, pdp.variable_borrow_index
    uc, ud = 10**ca.decimals, 10**da.decimals
    s_c = position.collateral.get(ca.symbol, 0)
    s_d = position.debt.get(da.symbol, 0)

    # :184-208: account data and the two balances
    health = evaluate(position, market, prices)
    coll_c = health.valuations[c].collateral_balance
    debt_d = health.valuations[d].debt_balance

    # ValidationLogic.validateLiquidationCall: v3.5.0 :308-355, v3.6.0 :301-347, v3.7 :253-292
    if not health.is_below(WAD):
        raise AaveRevert(
            "HealthFactorNotBelowThreshold",
            f"position is not liquidatable: health factor {format_wad(health.health_factor)} >= 1",
        )
    enabled = position.collateral_enabled(ca.symbol)
    if rules == "aave-v3.5":
        enabled = enabled and ca.liquidation_threshold != 0  # v3.5.0 :348-353
    if not enabled:
        why = "reserve LT 0" if position.collateral_enabled(ca.symbol) else "its collateral flag is off"
        raise AaveRevert("CollateralCannotBeLiquidated", f"{ca.symbol} is not collateral of this position ({why})")
    if debt_d == 0:
        raise AaveRevert("SpecifiedCurrencyNotBorrowedByUser", f"the position has no {da.symbol} debt")

    # :224-237 (v3.7 :226-239): the eMode bonus for a collateral in the user's category
    emode = emode_of(position, market)
    bonus = emode.liquidation_bonus if emode is not None and emode.has(c) else ca.liquidation_bonus
    if 0 < bonus <= BPS:
        raise InputError(f"assets.{ca.symbol}.liquidationBonus", f"{bonus} must be 0 or > {BPS} (PoolConfigurator)")

    # :245-276 (v3.7 :247-278): close factor
    debt_in_base = mul_div_ceil(debt_d, pd, ud)
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

    # _calculateAvailableCollateralToLiquidate: v3.5.0 :609-660, v3.6.0 :564-615, v3.7 :583-625
    base = pd * actual_debt * uc // (pc * ud)
    if base >= WIDE:
        raise InputError("--debt-to-cover", f"the collateral equivalent {base} exceeds the circuit's 2^{AMOUNT_BITS}")
    max_coll = percent_mul_floor(base, bonus) if v37 else percent_mul(base, bonus)
    if max_coll > coll_c:
        coll_amount = coll_c
        actual_debt = percent_div_ceil(pc * coll_amount * ud // (pd * uc), bonus)
    else:
        coll_amount = max_coll
    coll_amount_in_base = coll_amount * pc // uc
    fee = 0
    if ca.protocol_fee != 0:
        if bonus == 0:
            raise AaveRevert(
                "revert(0,0)", f"{ca.symbol} has a protocol fee but a zero liquidation bonus: percentDiv(x, 0) reverts"
            )
        if v37:  # v3.7 :614-621
            fee = percent_mul_ceil(coll_amount - percent_div_floor(coll_amount, bonus), ca.protocol_fee)
        else:  # v3.5.0 :644-653
            fee = percent_mul(coll_amount - percent_div(coll_amount, bonus), ca.protocol_fee)
    to_liquidator = coll_amount - fee
    if actual_debt == 0:
        # zkmargin's rule, not Aave's (which would execute it when no collateral is left, burning
        # all debt): every step retires the owner's commitment for one whose salt the liquidator
        # chose, so a step must repay something.
        raise StatementFalse(
            f"the call would repay no {da.symbol} (the close factor caps it to 0, or the {ca.symbol} "
            "collateral is worth less than one debt unit); zkmargin refuses a step that repays nothing"
        )

    # MustNotLeaveDust :298-324 (v3.7 :299-325)
    if actual_debt < debt_d and coll_amount < coll_c:
        left_debt = mul_div_ceil(debt_d - actual_debt, pd, ud)
        left_coll = (coll_c - coll_amount) * pc // uc
        if left_debt < MIN_LEFTOVER_BASE or left_coll < MIN_LEFTOVER_BASE:
            raise AaveRevert(
                "MustNotLeaveDust",
                f"{left_debt} debt and {left_coll} collateral (base, 8 decimals) would remain, each must be "
                f">= {MIN_LEFTOVER_BASE} unless one is cleared",
            )

    # no collateral left, and the collateral flag
    scaled_to_liquidator = atoken_burn_scaled(to_liquidator, ic)
    scaled_fee = atoken_burn_scaled(fee, ic)
    if v37:  # v3.7 :341-377
        consumed = min(scaled_to_liquidator + scaled_fee, s_c)
        no_collateral_left = atoken_balance(consumed, ic) * pc // uc == health.total_collateral
        clear_flag = consumed == s_c or no_collateral_left
    else:  # v3.5.0/v3.6.0 :326-341
        no_collateral_left = health.total_collateral == coll_amount_in_base
        clear_flag = coll_amount == coll_c

    # debt: _burnDebtTokens (v3.5.0 :530-577, v3.6.0 :485-532, v3.7 :506-553) and _burnBadDebt
    n = len(market.assets)
    new_debt = dict(position.debt)
    burned = [0] * n
    deficit = [0] * n
    if no_collateral_left:
        for j, a in enumerate(market.assets):
            s_j = position.debt.get(a.symbol, 0)
            if s_j:
                burned[j] = vtoken_burn_scaled(
                    health.valuations[j].debt_balance, prices.prices[a.symbol].variable_borrow_index
                )
                new_debt[a.symbol] = s_j - burned[j]
                deficit[j] = health.valuations[j].debt_balance - (actual_debt if j == d else 0)
    else:
        burned[d] = vtoken_burn_scaled(actual_debt, idv)
        if burned[d] == 0:
            raise AaveRevert(
                "InvalidBurnAmount", f"repaying {actual_debt} {da.symbol} burns no scaled debt at the index {idv}"
            )
        new_debt[da.symbol] = s_d - burned[d]

    # isolation-mode counter (v3.5.0/v3.6.0 :354-367): pool state, not the position's
    isolated: int | None = None
    if not v37 and ca.debt_ceiling:
        isolated = actual_debt // 10 ** (da.decimals - DEBT_CEILING_DECIMALS)

    # collateral to the liquidator (v3.5.0 :369-382, v3.6.0 :369-390, v3.7 :390-411)
    if not receive_atoken and scaled_to_liquidator == 0:
        raise AaveRevert("InvalidBurnAmount", f"the liquidator's {to_liquidator} {ca.symbol} burn no scaled aTokens")
    left = s_c - scaled_to_liquidator
    # protocol fee (v3.5.0 :384-406, v3.6.0 :392-414, v3.7 :413-435): capped at the balance left
    to_treasury = scaled_fee
    if to_treasury > left:
        to_treasury = left
        fee = atoken_balance(left, ic)
    new_coll = dict(position.collateral)
    new_coll[ca.symbol] = left - to_treasury

    flags = {s for s in symbols if position.collateral_enabled(s)}
    if clear_flag:
        flags.discard(ca.symbol)
    new_position = Position(new_coll, new_debt, new_salt, frozenset(flags), position.emode_category, position.scaled)
    return LiquidationOutcome(
        collateral_index=c,
        debt_index=d,
        debt_to_cover=debt_to_cover,
        receive_atoken=receive_atoken,
        debt_repaid=actual_debt,
        collateral_to_liquidator=to_liquidator,
        protocol_fee=fee,
        deficit=tuple(deficit),
        close_factor_applied=capped,
        health_before=health,
        bonus=bonus,
        scaled_to_liquidator=scaled_to_liquidator,
        scaled_to_treasury=to_treasury,
        scaled_debt_burned=tuple(burned),
        isolated_debt_repaid=isolated,
        new_position=new_position,
    )


def step_inputs(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    collateral_asset: str,
    debt_asset: str,
    debt_to_cover: int,
    new_salt: int,
    receive_atoken: bool = False,
) -> tuple[CircuitSpec, dict[str, InputValue], LiquidationOutcome]:
    """Inputs of LiquidationStep (the circuit of the market's rules): the model's outcome, with both openings."""
    outcome = liquidate(position, market, prices, collateral_asset, debt_asset, debt_to_cover, new_salt, receive_atoken)
    spec = registry.for_assets("liquidation_step", len(market.assets), market.rules)
    n = spec.n_assets
    coll, debt = slot_amounts(position, market, n)
    params = risk_params(market, n)
    emode = emode_params(market, spec.n_emode)
    inputs: dict[str, InputValue] = {
        "oldCommitment": commitment(position, market, n),
        "newCommitment": commitment(outcome.new_position, market, n),
        **slot_params(market, prices, n),
        "liqBonus": params["liqBonus"],
        "protocolFee": params["protocolFee"],
        **emode,
        "collateralAsset": outcome.collateral_index,
        "debtAsset": outcome.debt_index,
        "debtToCover": debt_to_cover,
        "receiveAToken": int(receive_atoken),
        "debtRepaid": outcome.debt_repaid,
        "collateralToLiquidator": outcome.collateral_to_liquidator,
        "protocolFeeAmount": outcome.protocol_fee,
        "deficit": list(outcome.deficit) + [0] * (n - len(market.assets)),
        "collateral": coll,
        "debt": debt,
        "collateralFlags": position.flags(market),
        "eModeCategory": position.emode_category,
        "salt": position.salt,
        "newSalt": new_salt,
    }
    return spec, inputs, outcome
