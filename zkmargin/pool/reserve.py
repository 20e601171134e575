"""The pool's reserves as integers: an exact model of contracts/pool/Reserves.sol.

Each function computes, to the wei, what the contract stores after the same call at the same
block timestamp, so that a wallet or a keeper can predict indexes, rates, treasury accrual and the
scaled amounts a note gains or loses. Both follow aave-dao/aave-v3-origin v3.5.0 (6138e1f); the
docstrings name the Solidity (paths under src/contracts/) and zkmargin.aave_math holds the roundings.

A ReserveState is frozen: every operation returns the new state and its result. A refusal the
contract makes raises ReserveRefusal carrying the Solidity error's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from ..aave_math import (
    PERCENTAGE_FACTOR,
    RAY,
    atoken_balance,
    atoken_burn_scaled,
    atoken_mint_scaled,
    percent_mul,
    ray_div,
    ray_mul,
    ray_mul_floor,
    vtoken_balance,
    vtoken_burn_scaled,
    vtoken_mint_scaled,
)
from ..errors import InputError, ZkMarginError

SECONDS_PER_YEAR: Final = 365 * 24 * 3600  # math/MathUtils.sol:15
# misc/DefaultReserveInterestRateStrategyV2.sol:38-44
MAX_BORROW_RATE: Final = 1000_00
MIN_OPTIMAL_POINT: Final = 1_00
MAX_OPTIMAL_POINT: Final = 99_00
UINT128: Final = 2**128


class ReserveRefusal(ZkMarginError):
    """The contract would revert; `error` is the name of its custom error (Reserves.sol)."""

    def __init__(self, error: str, detail: str = "") -> None:
        super().__init__(f"{error}{': ' + detail if detail else ''}")
        self.error = error


@dataclass(frozen=True)
class RiskParameters:
    """Reserves.RiskParameters, bps; liquidation_bonus includes the 100% (10500 = 5%)."""

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    liquidation_protocol_fee: int
    reserve_factor: int

    def validate(self, field: str = "risk") -> None:
        """PoolConfigurator (protocol/pool/PoolConfigurator.sol) :133-154, :281, :363, as
        Reserves._listReserve checks them (InputError naming the parameter)."""
        for name in ("ltv", "liquidation_threshold", "liquidation_bonus", "liquidation_protocol_fee", "reserve_factor"):
            v = getattr(self, name)
            if not 0 <= v < 2**16:
                raise InputError(f"{field}.{name}", f"must be a uint16 in bps, got {v}")
        if self.ltv > self.liquidation_threshold:
            raise InputError(
                f"{field}.ltv", f"{self.ltv} exceeds the liquidation threshold {self.liquidation_threshold}"
            )
        for name in ("reserve_factor", "liquidation_protocol_fee"):
            if getattr(self, name) > PERCENTAGE_FACTOR:
                raise InputError(f"{field}.{name}", f"must be at most 10000 bps, got {getattr(self, name)}")
        if self.liquidation_threshold == 0:
            if self.liquidation_bonus != 0:
                raise InputError(f"{field}.liquidation_bonus", "must be 0 when the liquidation threshold is 0")
        elif not (
            self.liquidation_bonus > PERCENTAGE_FACTOR
            and percent_mul(self.liquidation_threshold, self.liquidation_bonus) <= PERCENTAGE_FACTOR
        ):
            raise InputError(
                f"{field}.liquidation_bonus",
                f"must exceed 10000 with threshold x bonus <= 100%, got {self.liquidation_bonus}",
            )


@dataclass(frozen=True)
class InterestRateData:
    """IDefaultInterestRateStrategyV2.InterestRateData (interfaces/IDefaultInterestRateStrategyV2.sol
    :24-29), bps."""

    optimal_usage_ratio: int
    base_variable_borrow_rate: int
    variable_rate_slope1: int
    variable_rate_slope2: int

    def validate(self, field: str = "rates") -> None:
        """DefaultReserveInterestRateStrategyV2._setInterestRateParams :178-200."""
        if not MIN_OPTIMAL_POINT <= self.optimal_usage_ratio <= MAX_OPTIMAL_POINT:
            raise InputError(
                f"{field}.optimal_usage_ratio", f"must be in [100, 9900] bps, got {self.optimal_usage_ratio}"
            )
        for name in ("base_variable_borrow_rate", "variable_rate_slope1", "variable_rate_slope2"):
            if getattr(self, name) < 0:
                raise InputError(f"{field}.{name}", "must not be negative")
        if self.variable_rate_slope1 > self.variable_rate_slope2:
            raise InputError(f"{field}.variable_rate_slope1", "must not exceed variable_rate_slope2")
        if self.base_variable_borrow_rate + self.variable_rate_slope1 + self.variable_rate_slope2 > MAX_BORROW_RATE:
            raise InputError(f"{field}", f"base + slope1 + slope2 must be at most {MAX_BORROW_RATE} bps")


def bps_to_ray(n: int) -> int:
    """DefaultReserveInterestRateStrategyV2._bpsToRay :232-234."""
    return n * 10**23


def linear_interest(rate: int, elapsed: int) -> int:
    """MathUtils.calculateLinearInterest :23-34: RAY + rate * dt / year (floor)."""
    return RAY + rate * elapsed // SECONDS_PER_YEAR


def compounded_interest(rate: int, elapsed: int) -> int:
    """MathUtils.calculateCompoundedInterest :50-85: v3.5's binomial approximation,
    RAY + x + rayMul(x, x/2 + rayMul(x, x/6)) with x = rate * dt / year (floor), rayMul half up."""
    if elapsed == 0:
        return RAY
    x = rate * elapsed // SECONDS_PER_YEAR
    return RAY + x + ray_mul(x, x // 2 + ray_mul(x, x // 6))


def interest_rates(
    rates: InterestRateData,
    reserve_factor: int,
    virtual_balance: int,
    liquidity_added: int,
    liquidity_taken: int,
    total_debt: int,
) -> tuple[int, int]:
    """DefaultReserveInterestRateStrategyV2.calculateInterestRates :125-171 with unbacked = 0:
    (liquidity rate, variable borrow rate), ray; every rayMul/rayDiv/percentMul half up."""
    optimal = bps_to_ray(rates.optimal_usage_ratio)
    variable = bps_to_ray(rates.base_variable_borrow_rate)
    if total_debt == 0:
        return 0, variable
    available = virtual_balance + liquidity_added - liquidity_taken
    usage = ray_div(total_debt, available + total_debt)
    if usage > optimal:
        excess = ray_div(usage - optimal, RAY - optimal)
        variable += bps_to_ray(rates.variable_rate_slope1) + ray_mul(bps_to_ray(rates.variable_rate_slope2), excess)
    else:
        variable += ray_div(ray_mul(bps_to_ray(rates.variable_rate_slope1), usage), optimal)
    return percent_mul(ray_mul(variable, usage), PERCENTAGE_FACTOR - reserve_factor), variable


def _uint(v: int, field: str) -> int:
    """An amount or timestamp argument: an integer the contract's uint256 can carry (InputError)."""
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**256:
        raise InputError(field, f"must be an integer in [0, 2^256), got {v!r}")
    return v


def _u128(v: int, what: str) -> int:
    if not 0 <= v < UINT128:  # SafeCast.toUint128
        raise ReserveRefusal("SafeCastOverflowedUintDowncast", f"{what} = {v}")
    return v


#: Reserves.ReserveData as `getReserveData(address)` returns it: indexes and rates, lastUpdateTimestamp,
#: id, decimals, accruedToTreasury, virtualUnderlyingBalance, the three scaled totals, then the risk
#: parameters and the rate data (contracts/pool/Reserves.sol).
RISK_ABI: Final = "(uint16,uint16,uint16,uint16,uint16)"
RATES_ABI: Final = "(uint16,uint32,uint32,uint32)"
RESERVE_DATA_ABI: Final = f"(uint128,uint128,uint128,uint128,uint40,uint16,uint8,uint128,uint128,uint256,uint256,uint256,{RISK_ABI},{RATES_ABI})"


@dataclass(frozen=True)
class ReserveState:
    """Reserves.ReserveData of one asset: the same fields, the same integers."""

    decimals: int
    risk: RiskParameters
    rates: InterestRateData
    last_update_timestamp: int
    liquidity_index: int = RAY
    current_liquidity_rate: int = 0
    variable_borrow_index: int = RAY
    current_variable_borrow_rate: int = 0
    accrued_to_treasury: int = 0
    virtual_underlying_balance: int = 0
    scaled_total_supply: int = 0
    scaled_total_variable_debt: int = 0
    treasury_scaled: int = 0

    @classmethod
    def from_reserve_data(cls, raw: Sequence[Any]) -> ReserveState:
        """The state `getReserveData` returns, decoded with RESERVE_DATA_ABI (one decoder for the
        wallet, the devnet and the tests). The id (raw[5]) is the contract's, not the model's."""
        return cls(
            decimals=int(raw[6]),
            risk=RiskParameters(*(int(v) for v in raw[12])),
            rates=InterestRateData(*(int(v) for v in raw[13])),
            last_update_timestamp=int(raw[4]),
            liquidity_index=int(raw[0]),
            current_liquidity_rate=int(raw[1]),
            variable_borrow_index=int(raw[2]),
            current_variable_borrow_rate=int(raw[3]),
            accrued_to_treasury=int(raw[7]),
            virtual_underlying_balance=int(raw[8]),
            scaled_total_supply=int(raw[9]),
            scaled_total_variable_debt=int(raw[10]),
            treasury_scaled=int(raw[11]),
        )

    @classmethod
    def listed(cls, decimals: int, risk: RiskParameters, rates: InterestRateData, now: int) -> ReserveState:
        """Reserves._listReserve: indexes at one ray (ReserveLogic.init :116-117), rates 0."""
        if not 0 <= decimals < 256:
            raise InputError("decimals", f"must be a uint8, got {decimals}")
        risk.validate()
        rates.validate()
        return cls(decimals, risk, rates, _uint(now, "now"))

    # --- views (ReserveLogic.getNormalizedIncome :39-54, getNormalizedDebt :63-78) ---

    def normalized_income(self, now: int) -> int:
        if now == self.last_update_timestamp:
            return self.liquidity_index
        return ray_mul(
            linear_interest(self.current_liquidity_rate, now - self.last_update_timestamp), self.liquidity_index
        )

    def normalized_variable_debt(self, now: int) -> int:
        """Compounds the current rate even with no debt, as v3.5's view does."""
        if now == self.last_update_timestamp:
            return self.variable_borrow_index
        return ray_mul(
            compounded_interest(self.current_variable_borrow_rate, now - self.last_update_timestamp),
            self.variable_borrow_index,
        )

    def supply_balance(self, scaled: int, now: int) -> int:
        """What a scaled supply is worth now: TokenMath.getATokenBalance (floor)."""
        return atoken_balance(scaled, self.normalized_income(now))

    def debt_balance(self, scaled: int, now: int) -> int:
        """What a scaled debt owes now: TokenMath.getVTokenBalance (ceil)."""
        return vtoken_balance(scaled, self.normalized_variable_debt(now))

    # --- state ---

    def update_state(self, now: int) -> ReserveState:
        """ReserveLogic.updateState :85-101 (_updateIndexes :211-243, _accrueToTreasury :183-204)."""
        if _uint(now, "now") < self.last_update_timestamp:
            raise InputError("now", f"{now} is before the reserve's last update {self.last_update_timestamp}")
        if now == self.last_update_timestamp:
            return self
        elapsed = now - self.last_update_timestamp
        liquidity_index = self.liquidity_index
        if self.current_liquidity_rate != 0:
            liquidity_index = _u128(
                ray_mul(linear_interest(self.current_liquidity_rate, elapsed), liquidity_index), "liquidityIndex"
            )
        borrow_index = self.variable_borrow_index
        if self.scaled_total_variable_debt != 0:
            borrow_index = _u128(
                ray_mul(compounded_interest(self.current_variable_borrow_rate, elapsed), borrow_index),
                "variableBorrowIndex",
            )
        accrued = self.accrued_to_treasury
        if self.risk.reserve_factor != 0:
            debt_accrued = ray_mul_floor(self.scaled_total_variable_debt, borrow_index - self.variable_borrow_index)
            to_mint = percent_mul(debt_accrued, self.risk.reserve_factor)
            if to_mint != 0:
                accrued = _u128(accrued + atoken_mint_scaled(to_mint, liquidity_index), "accruedToTreasury")
        return replace(
            self,
            liquidity_index=liquidity_index,
            variable_borrow_index=borrow_index,
            accrued_to_treasury=accrued,
            last_update_timestamp=now,
        )

    def _with_rates(self, liquidity_added: int, liquidity_taken: int) -> ReserveState:
        """ReserveLogic.updateInterestRatesAndVirtualBalance :130-175 on this (post mint/burn) state."""
        available = self.virtual_underlying_balance + liquidity_added
        if liquidity_taken > available:
            raise ReserveRefusal("InsufficientLiquidity", f"{liquidity_taken} taken, {available} available")
        total_debt = vtoken_balance(self.scaled_total_variable_debt, self.variable_borrow_index)
        liquidity_rate, variable_rate = interest_rates(
            self.rates,
            self.risk.reserve_factor,
            self.virtual_underlying_balance,
            liquidity_added,
            liquidity_taken,
            total_debt,
        )
        return replace(
            self,
            current_liquidity_rate=_u128(liquidity_rate, "currentLiquidityRate"),
            current_variable_borrow_rate=_u128(variable_rate, "currentVariableBorrowRate"),
            virtual_underlying_balance=_u128(available - liquidity_taken, "virtualUnderlyingBalance"),
        )

    # --- operations (each returns the new state and the scaled amount, or the amount) ---

    def supply(self, amount: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._supply / SupplyLogic.executeSupply :47-71: scaled = rayDivFloor."""
        _uint(amount, "amount")
        s = self.update_state(now)
        scaled = atoken_mint_scaled(amount, s.liquidity_index)
        if scaled == 0:
            raise ReserveRefusal("InvalidAmount")
        s = s._with_rates(amount, 0)
        return replace(s, scaled_total_supply=s.scaled_total_supply + scaled), scaled

    def withdraw(self, amount: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._withdraw / SupplyLogic.executeWithdraw :116-156: burns rayDivCeil."""
        _uint(amount, "amount")
        s = self.update_state(now)
        scaled = atoken_burn_scaled(amount, s.liquidity_index)
        return s._burn_supply(amount, scaled), scaled

    def withdraw_scaled(self, scaled: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._withdrawScaled (executeWithdraw :127-130, amount = max): pays rayMulFloor."""
        _uint(scaled, "scaled")
        s = self.update_state(now)
        amount = atoken_balance(scaled, s.liquidity_index)
        return s._burn_supply(amount, scaled), amount

    def withdraw_treasury(self, amount: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._withdrawTreasury: a withdraw from the treasury's minted scaled balance."""
        _uint(amount, "amount")
        s = self.update_state(now)
        scaled = atoken_burn_scaled(amount, s.liquidity_index)
        if scaled > s.treasury_scaled:
            raise ReserveRefusal("InsufficientTreasury", f"{scaled} > {s.treasury_scaled}")
        s = replace(s, treasury_scaled=s.treasury_scaled - scaled)
        return s._burn_supply(amount, scaled), scaled

    def _burn_supply(self, amount: int, scaled: int) -> ReserveState:
        if scaled == 0:
            raise ReserveRefusal("InvalidAmount")
        s = self._with_rates(0, amount)
        if scaled > s.scaled_total_supply:
            raise ReserveRefusal("Panic", "scaled supply underflow")
        return replace(s, scaled_total_supply=s.scaled_total_supply - scaled)

    def borrow(self, amount: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._borrow / BorrowLogic.executeBorrow :50-107: mints rayDivCeil, then rates."""
        _uint(amount, "amount")
        s = self.update_state(now)
        scaled = vtoken_mint_scaled(amount, s.variable_borrow_index)
        if scaled == 0:
            raise ReserveRefusal("InvalidAmount")
        s = replace(s, scaled_total_variable_debt=s.scaled_total_variable_debt + scaled)
        return s._with_rates(0, amount), scaled

    def repay(self, amount: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._repay / BorrowLogic.executeRepay :149-193: burns rayDivFloor, then rates."""
        _uint(amount, "amount")
        if amount == 0:
            raise ReserveRefusal("InvalidAmount")
        s = self.update_state(now)
        return s._burn_debt(amount)

    def repay_scaled(self, scaled_debt: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._repayScaled (executeRepay with amount = max): pays rayMulCeil(scaledDebt)."""
        _uint(scaled_debt, "scaled_debt")
        s = self.update_state(now)
        amount = vtoken_balance(scaled_debt, s.variable_borrow_index)
        s, _ = s._burn_debt(amount)
        return s, amount

    def _burn_debt(self, amount: int) -> tuple[ReserveState, int]:
        scaled = vtoken_burn_scaled(amount, self.variable_borrow_index)
        if scaled == 0:
            raise ReserveRefusal("InvalidBurnAmount")
        if scaled > self.scaled_total_variable_debt:
            raise ReserveRefusal("Panic", "scaled debt underflow")
        s = replace(self, scaled_total_variable_debt=self.scaled_total_variable_debt - scaled)
        return s._with_rates(amount, 0), scaled

    def mint_to_treasury(self, now: int) -> tuple[ReserveState, int]:
        """Reserves.mintToTreasury / PoolLogic.executeMintToTreasury :109-134: no state update; the
        amount reported is rayMulFloor(accrued, normalized income)."""
        accrued = self.accrued_to_treasury
        if accrued == 0:
            return self, 0
        amount = atoken_balance(accrued, self.normalized_income(now))
        return (
            replace(
                self,
                accrued_to_treasury=0,
                treasury_scaled=self.treasury_scaled + accrued,
                scaled_total_supply=self.scaled_total_supply + accrued,
            ),
            amount,
        )

    # --- liquidation (contracts/pool/Reserves.sol, liquidation section) ---

    def burn_liquidated_debt(self, repaid: int, deficit: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._burnLiquidatedDebt: burns rayDivFloor(repaid + deficit, borrowIndex) scaled debt,
        then the rates with liquidityAdded = repaid (LiquidationLogic._burnDebtTokens / _burnBadDebt)."""
        _uint(repaid, "repaid")
        _uint(deficit, "deficit")
        s = self.update_state(now)
        scaled = vtoken_burn_scaled(repaid + deficit, s.variable_borrow_index)
        if scaled == 0:
            raise ReserveRefusal("InvalidBurnAmount")
        if scaled > s.scaled_total_variable_debt:
            raise ReserveRefusal("Panic", "scaled debt underflow")
        s = replace(s, scaled_total_variable_debt=s.scaled_total_variable_debt - scaled)
        return s._with_rates(repaid, 0), scaled

    def fee_to_treasury(self, fee: int, now: int) -> tuple[ReserveState, int]:
        """Reserves._feeToTreasury: rayDivCeil(fee, liquidityIndex) of the note's supply becomes the
        treasury's (AToken.transferOnLiquidation); scaledTotalSupply and the rates stay."""
        _uint(fee, "fee")
        s = self.update_state(now)
        scaled = atoken_burn_scaled(fee, s.liquidity_index)
        return replace(s, treasury_scaled=s.treasury_scaled + scaled), scaled

    def cover_deficit(self, deficit: int, now: int) -> tuple[ReserveState, DeficitCover]:
        """Reserves._coverDeficit: the insurance fund (the treasury's supply, accrued share minted
        first) burns rayDivCeil(deficit) scaled or all it has (covering rayMulFloor of it); the rest
        lowers the liquidity index by ceil(rest * RAY / scaledTotalSupply), never below 1 ray; what
        that floor leaves is `residual` (the contract's reserveDeficit grows by it)."""
        _uint(deficit, "deficit")
        s = self.update_state(now)
        s, _ = s.mint_to_treasury(now)
        index, fund = s.liquidity_index, s.treasury_scaled
        burn = atoken_burn_scaled(deficit, index)
        if burn <= fund:
            from_insurance = deficit
        else:
            burn, from_insurance = fund, atoken_balance(fund, index)
        supply = s.scaled_total_supply - burn
        rest = deficit - from_insurance
        socialized = 0
        if rest and supply:
            drop = -(-rest * RAY // supply)
            room = index - RAY
            if drop <= room:
                socialized = rest
            else:
                drop, socialized = room, ray_mul_floor(supply, room)
            index -= drop
        s = replace(s, treasury_scaled=fund - burn, scaled_total_supply=supply, liquidity_index=index)
        return s, DeficitCover(deficit, from_insurance, socialized, burn)


@dataclass(frozen=True)
class DeficitCover:
    """How one reserve's written-off debt was covered (Reserves.DeficitCovered, plus the rest)."""

    deficit: int
    from_insurance: int
    socialized: int
    insurance_scaled: int  # the treasury's scaled supply burnt

    @property
    def residual(self) -> int:
        """Neither insured nor socialized (the index is at 1 ray): Reserves.reserveDeficit grows by it."""
        return self.deficit - self.from_insurance - self.socialized
