"""Aave v3 health factor and liquidationCall, transliterated from aave-dao/aave-v3-origin.

Independent of zkmargin's model: nothing here imports zkmargin. Every function names the
Solidity it transliterates as ``path:first-last`` at each pinned version (paths relative to
``src/contracts/protocol/``); see README.md for the pins and every interpretation.

Versions (the ``version`` argument everywhere):

* ``"aave-v3.5"``  tag ``v3.5.0``  = commit 6138e1fda45884b6547d094a1ddeef43dcab4977
* ``"aave-v3.6"``  tag ``v3.6.0``  = commit 5a230ec82fcb10afc7fe7cffa8978752fb17aa2b
  (the newest release tag; package.json on main still says 3.6.0)
* ``"aave-v3.7"``  no tag: main at 4fbd744239fd6682ebad2412f094f5f95abc6393, "feat : v3.7.0 (#183)",
  whose protocol libraries and tokens are unchanged up to main fd1fbd9150426ca8ace9cee45b4acf912ae84f5b.

What changes between them, in the code paths modelled here:

============================  ==========================  ==========================  ==========================
                              v3.5                        v3.6                        v3.7
============================  ==========================  ==========================  ==========================
collateral with reserve LT 0  not counted (TC, HF), not   counted in TC with its LT   as v3.6
                              liquidatable                (eMode LT if in bitmap),
                                                          liquidatable
user LTV of a reserve         reserve LTV 0 => 0, else    getUserReserveLtv: eMode    + isolated eMode: reserves
                              eMode LTV if in bitmap      LTV (0 if in ltvzeroBitmap) outside collateralBitmap
                                                          if in bitmap, else reserve  get LTV 0
maxCollateralToLiquidate      percentMul (half up)        percentMul                  percentMulFloor
bonus split base part         percentDiv (half up)        percentDiv                  percentDivFloor
protocol fee                  percentMul (half up)        percentMul                  percentMulCeil
hasNoCollateralLeft (deficit) TC == floor(seized*P/U)     same (TC now incl. LT 0)    value of consumed *scaled*
                                                                                      balance (ceil burns, capped)
                                                                                      == TC
collateral flag cleared       seized + fee == balance     same                        fully consumed (scaled) or
                                                                                      hasNoCollateralLeft
isolation-mode debt counter   decreased on liquidation    same                        removed
============================  ==========================  ==========================  ==========================

Model of the chain state: ``Reserve.liquidity_index`` / ``variable_borrow_index`` are the indexes
*after* ``updateState`` in the liquidation block (``nextLiquidityIndex`` / ``nextVariableBorrowIndex``,
equal to ``getNormalizedIncome()`` / ``getNormalizedDebt()`` in that block); prices are the oracle
answers (8 decimals of the base currency). A user's "borrowing" flag is ``scaled_debt > 0``; the
collateral flag is explicit. Reserves are active, unpaused, with no liquidation grace period and no
price-oracle sentinel; the liquidator is not the borrower (those checks come first in
validateLiquidationCall and are reported by name in README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final, Literal

Version = Literal["aave-v3.5", "aave-v3.6", "aave-v3.7"]
VERSIONS: Final[tuple[Version, ...]] = ("aave-v3.5", "aave-v3.6", "aave-v3.7")
#: the newest tagged release of aave-v3-origin
CURRENT_RELEASE: Final[Version] = "aave-v3.6"


@dataclass(frozen=True)
class Pin:
    repo: str
    tag: str | None
    commit: str
    note: str


PINS: Final[dict[Version, Pin]] = {
    "aave-v3.5": Pin(
        "aave-dao/aave-v3-origin",
        "v3.5.0",
        "6138e1fda45884b6547d094a1ddeef43dcab4977",
        "tag object 3871ac51d93f295a85fefd16b82d7139a6db493f",
    ),
    "aave-v3.6": Pin(
        "aave-dao/aave-v3-origin",
        "v3.6.0",
        "5a230ec82fcb10afc7fe7cffa8978752fb17aa2b",
        "tag object bcc4c77a9b55c554e18609e9cf88d6da67399525; newest release tag",
    ),
    "aave-v3.7": Pin(
        "aave-dao/aave-v3-origin",
        None,
        "4fbd744239fd6682ebad2412f094f5f95abc6393",
        "untagged merge 'feat : v3.7.0 (#183)' on main; libraries identical at main "
        "fd1fbd9150426ca8ace9cee45b4acf912ae84f5b",
    ),
}

UINT256_MAX: Final = 2**256 - 1
UINT120_MAX: Final = 2**120 - 1
WAD: Final = 10**18
HALF_WAD: Final = WAD // 2
RAY: Final = 10**27
HALF_RAY: Final = RAY // 2
PERCENTAGE_FACTOR: Final = 10**4
HALF_PERCENTAGE_FACTOR: Final = PERCENTAGE_FACTOR // 2

# ValidationLogic.sol: v3.5.0 :52, v3.6.0 :52, v3.7 :32
HEALTH_FACTOR_LIQUIDATION_THRESHOLD: Final = 10**18
# LiquidationLogic.sol: v3.5.0/v3.6.0 :44,50,57,65; v3.7 :43,49,56,64
DEFAULT_LIQUIDATION_CLOSE_FACTOR: Final = 5000
CLOSE_FACTOR_HF_THRESHOLD: Final = 95 * 10**16
MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD: Final = 2000 * 10**8
MIN_LEFTOVER_BASE: Final = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD // 2
# configuration/ReserveConfiguration.sol (v3.5.0/v3.6.0) :66-67
DEBT_CEILING_DECIMALS: Final = 2
MAX_RESERVES_COUNT: Final = 128


# --------------------------------------------------------------------------------------------
# Reverts, named as the Solidity custom errors (libraries/helpers/Errors.sol)
# --------------------------------------------------------------------------------------------


class AaveRevert(Exception):
    """A revert of the transliterated call; ``name`` is the Solidity error's name."""

    name = "revert"

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{self.name}: {detail}" if detail else self.name)
        self.detail = detail


class HealthFactorNotBelowThreshold(AaveRevert):
    name = "HealthFactorNotBelowThreshold"  # Errors.sol :43 (all three versions)


class CollateralCannotBeLiquidated(AaveRevert):
    name = "CollateralCannotBeLiquidated"  # Errors.sol :44


class SpecifiedCurrencyNotBorrowedByUser(AaveRevert):
    name = "SpecifiedCurrencyNotBorrowedByUser"  # Errors.sol :45


class MustNotLeaveDust(AaveRevert):
    name = "MustNotLeaveDust"  # Errors.sol v3.5.0/v3.6.0 :94, v3.7 :88


class InvalidBurnAmount(AaveRevert):
    """ScaledBalanceTokenBase._burnScaled with a zero scaled amount (Errors.sol :30). This is
    what a liquidationCall with debtToCover = 0 reverts with: Pool.liquidationCall has no
    InvalidAmount check."""

    name = "InvalidBurnAmount"


class Panic(AaveRevert):
    """Solidity checked arithmetic: Panic(0x11) on under/overflow."""

    name = "Panic(0x11)"


class BareRevert(AaveRevert):
    """``revert(0, 0)`` inside the assembly of WadRayMath / PercentageMath / MathUtils
    (overflow of the product or division by zero)."""

    name = "revert(0,0)"


def _chk(x: int) -> int:
    """Solidity 0.8 checked uint256 result."""
    if x < 0 or x > UINT256_MAX:
        raise Panic(f"{x} outside uint256")
    return x


def _mul(*xs: int) -> int:
    """a * b * c ... evaluated left to right with a check after every step (Solidity 0.8)."""
    acc = xs[0]
    for x in xs[1:]:
        acc = _chk(acc * x)
    return acc


def _sub(a: int, b: int) -> int:
    return _chk(a - b)


# --------------------------------------------------------------------------------------------
# WadRayMath (libraries/math/WadRayMath.sol), PercentageMath, MathUtils.mulDivCeil
# --------------------------------------------------------------------------------------------


def wad_div(a: int, b: int) -> int:
    """WadRayMath.wadDiv, half up. v3.5.0 :53-62, v3.6.0 :53-62, v3.7 :53-62."""
    if b == 0 or a > (UINT256_MAX - b // 2) // WAD:
        raise BareRevert("wadDiv")
    return (a * WAD + b // 2) // b


def ray_mul_floor(a: int, b: int) -> int:
    """WadRayMath.rayMulFloor. v3.5.0 :79-88, v3.6.0 :74-83, v3.7 :74-83."""
    if b != 0 and a > UINT256_MAX // b:
        raise BareRevert("rayMulFloor")
    return a * b // RAY


def ray_mul_ceil(a: int, b: int) -> int:
    """WadRayMath.rayMulCeil. v3.5.0 :90-100, v3.6.0 :85-95, v3.7 :85-95."""
    if b != 0 and a > UINT256_MAX // b:
        raise BareRevert("rayMulCeil")
    return -(-(a * b) // RAY)


def ray_div_floor(a: int, b: int) -> int:
    """WadRayMath.rayDivFloor. v3.5.0 :135-143, v3.6.0 :125-133, v3.7 :125-133."""
    if b == 0 or a > UINT256_MAX // RAY:
        raise BareRevert("rayDivFloor")
    return a * RAY // b


def ray_div_ceil(a: int, b: int) -> int:
    """WadRayMath.rayDivCeil. v3.5.0 :124-133, v3.6.0 :114-123, v3.7 :114-123."""
    if b == 0 or a > UINT256_MAX // RAY:
        raise BareRevert("rayDivCeil")
    return -(-(a * RAY) // b)


def percent_mul(value: int, percentage: int) -> int:
    """PercentageMath.percentMul, half up. :25-39 in all three versions."""
    if percentage != 0 and value > (UINT256_MAX - HALF_PERCENTAGE_FACTOR) // percentage:
        raise BareRevert("percentMul")
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def percent_mul_ceil(value: int, percentage: int) -> int:
    """PercentageMath.percentMulCeil. :41-57 in all three versions."""
    if percentage != 0 and value > UINT256_MAX // percentage:
        raise BareRevert("percentMulCeil")
    return -(-(value * percentage) // PERCENTAGE_FACTOR)


def percent_mul_floor(value: int, percentage: int) -> int:
    """PercentageMath.percentMulFloor. :59-71 in all three versions."""
    if percentage != 0 and value > UINT256_MAX // percentage:
        raise BareRevert("percentMulFloor")
    return value * percentage // PERCENTAGE_FACTOR


def percent_div(value: int, percentage: int) -> int:
    """PercentageMath.percentDiv, half up. :80-92 in all three versions."""
    if percentage == 0 or value > (UINT256_MAX - percentage // 2) // PERCENTAGE_FACTOR:
        raise BareRevert("percentDiv")
    return (value * PERCENTAGE_FACTOR + percentage // 2) // percentage


def percent_div_floor(value: int, percentage: int) -> int:
    """PercentageMath.percentDivFloor: only in v3.7 (:94-105)."""
    if percentage == 0 or value > UINT256_MAX // PERCENTAGE_FACTOR:
        raise BareRevert("percentDivFloor")
    return value * PERCENTAGE_FACTOR // percentage


def percent_div_ceil(value: int, percentage: int) -> int:
    """PercentageMath.percentDivCeil. v3.5.0/v3.6.0 :94-106, v3.7 :107-119."""
    if percentage == 0 or value > UINT256_MAX // PERCENTAGE_FACTOR:
        raise BareRevert("percentDivCeil")
    return -(-(value * PERCENTAGE_FACTOR) // percentage)


def mul_div_ceil(a: int, b: int, c: int) -> int:
    """MathUtils.mulDivCeil. math/MathUtils.sol :100-115 in all three versions."""
    if c == 0 or (b != 0 and a > UINT256_MAX // b):
        raise BareRevert("mulDivCeil")
    return -(-(a * b) // c)


# --------------------------------------------------------------------------------------------
# TokenMath (libraries/helpers/TokenMath.sol): identical in v3.5.0, v3.6.0 and v3.7
# --------------------------------------------------------------------------------------------


def get_atoken_balance(scaled: int, liquidity_index: int) -> int:
    """TokenMath.getATokenBalance :66-71 -- rayMulFloor."""
    return ray_mul_floor(scaled, liquidity_index)


def get_vtoken_balance(scaled: int, variable_borrow_index: int) -> int:
    """TokenMath.getVTokenBalance :108-113 -- rayMulCeil."""
    return ray_mul_ceil(scaled, variable_borrow_index)


def get_atoken_burn_scaled_amount(amount: int, liquidity_index: int) -> int:
    """TokenMath.getATokenBurnScaledAmount :38-43 -- rayDivCeil."""
    return ray_div_ceil(amount, liquidity_index)


def get_atoken_transfer_scaled_amount(amount: int, liquidity_index: int) -> int:
    """TokenMath.getATokenTransferScaledAmount :52-57 -- rayDivCeil."""
    return ray_div_ceil(amount, liquidity_index)


def get_vtoken_burn_scaled_amount(amount: int, variable_borrow_index: int) -> int:
    """TokenMath.getVTokenBurnScaledAmount :94-99 -- rayDivFloor."""
    return ray_div_floor(amount, variable_borrow_index)


def get_atoken_mint_scaled_amount(amount: int, liquidity_index: int) -> int:
    """TokenMath.getATokenMintScaledAmount :24-29 -- rayDivFloor (supply; used by generators)."""
    return ray_div_floor(amount, liquidity_index)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reserve:
    """One reserve: ReserveConfigurationMap fields that matter here, its indexes and its price.

    ``debt_ceiling`` (2 decimals of the base currency, 0 = not an isolated asset) and
    ``isolation_mode_total_debt`` exist in v3.5/v3.6 only and are ignored by v3.7."""

    symbol: str
    decimals: int
    price: int  # oracle answer, base currency with 8 decimals
    ltv: int  # bps
    liquidation_threshold: int  # bps
    liquidation_bonus: int  # bps, includes the 100% (10500 = 5% bonus); 0 when LT is 0
    liquidation_protocol_fee: int = 0  # bps of the bonus
    liquidity_index: int = RAY
    variable_borrow_index: int = RAY
    debt_ceiling: int = 0
    isolation_mode_total_debt: int = 0

    @property
    def unit(self) -> int:
        return int(10**self.decimals)


@dataclass(frozen=True)
class EModeCategory:
    """DataTypes.EModeCategory. Bitmaps hold one bit per reserve index (bit i = reserve i).
    ``ltvzero_bitmap`` exists from v3.6, ``isolated`` from v3.7; older versions ignore them."""

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    collateral_bitmap: int = 0
    borrowable_bitmap: int = 0
    ltvzero_bitmap: int = 0
    isolated: bool = False


_EMPTY_EMODE = EModeCategory(0, 0, 0)


@dataclass(frozen=True)
class Market:
    reserves: tuple[Reserve, ...]
    emode_categories: dict[int, EModeCategory] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= len(self.reserves) <= MAX_RESERVES_COUNT:
            raise ValueError(f"a market has 1..{MAX_RESERVES_COUNT} reserves")
        for r in self.reserves:
            if not 0 <= r.decimals <= 77 or r.price <= 0:
                raise ValueError(f"{r.symbol}: decimals in [0, 77] and a positive price")
            if r.liquidity_index < 1 or r.variable_borrow_index < 1:
                raise ValueError(f"{r.symbol}: indexes must be positive (ray)")
        if 0 in self.emode_categories:
            raise ValueError("eMode category 0 is the default and has no configuration")

    def emode(self, category: int) -> EModeCategory:
        return self.emode_categories.get(category, _EMPTY_EMODE)


@dataclass(frozen=True)
class User:
    """A borrower: scaled aToken and variable-debt balances per reserve (same order as
    ``Market.reserves``), the per-reserve "use as collateral" flag and the eMode category."""

    scaled_collateral: tuple[int, ...]
    scaled_debt: tuple[int, ...]
    collateral_enabled: tuple[bool, ...]
    emode_category: int = 0

    def check(self, market: Market) -> None:
        n = len(market.reserves)
        if not len(self.scaled_collateral) == len(self.scaled_debt) == len(self.collateral_enabled) == n:
            raise ValueError(f"user balances and flags must have {n} entries")
        for s in (*self.scaled_collateral, *self.scaled_debt):
            if not 0 <= s <= UINT120_MAX:
                raise ValueError("scaled balances are uint120")
        if self.emode_category != 0 and self.emode_category not in market.emode_categories:
            raise ValueError(f"eMode category {self.emode_category} is not configured")

    def borrowing(self, i: int) -> bool:
        return self.scaled_debt[i] > 0

    def is_empty(self) -> bool:
        """UserConfiguration.isEmpty (v3.5.0/v3.6.0 :169-171, v3.7 :155-157): no flag set."""
        return not any(self.collateral_enabled) and not any(s > 0 for s in self.scaled_debt)


def _on_bitmap(bitmap: int, index: int) -> bool:
    """EModeConfiguration.isReserveEnabledOnBitmap: v3.5.0/v3.6.0 :43-51, v3.7 :44-52."""
    return (bitmap >> index) & 1 != 0


def collateral_balance(market: Market, user: User, i: int) -> int:
    """AToken balance: scaledBalanceOf.getATokenBalance(index) (floor)."""
    return get_atoken_balance(user.scaled_collateral[i], market.reserves[i].liquidity_index)


def debt_balance(market: Market, user: User, i: int) -> int:
    """Variable debt: scaledBalanceOf.getVTokenBalance(index) (ceil)."""
    return get_vtoken_balance(user.scaled_debt[i], market.reserves[i].variable_borrow_index)


# --------------------------------------------------------------------------------------------
# GenericLogic.calculateUserAccountData
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountData:
    total_collateral_base: int
    total_debt_base: int
    avg_ltv: int
    avg_liquidation_threshold: int
    health_factor: int
    has_zero_ltv_collateral: bool


def _user_balance_in_base(market: Market, user: User, i: int) -> int:
    """GenericLogic._getUserBalanceInBaseCurrency: v3.5.0 :240-255, v3.6.0/v3.7 :242-257.
    floor(getATokenBalance(scaled, index) * price / 10^decimals)."""
    r = market.reserves[i]
    return _mul(collateral_balance(market, user, i), r.price) // r.unit


def _user_debt_in_base(market: Market, user: User, i: int) -> int:
    """GenericLogic._getUserDebtInBaseCurrency: v3.5.0 :217-228, v3.6.0/v3.7 :219-230.
    mulDivCeil(getVTokenBalance(scaled, index), price, 10^decimals)."""
    r = market.reserves[i]
    return mul_div_ceil(debt_balance(market, user, i), r.price, r.unit)


def get_user_reserve_ltv(version: Version, market: Market, i: int, category: int) -> int:
    """ValidationLogic.getUserReserveLtv: v3.6.0 :653-674, v3.7 :524-549 (v3.7 adds the
    isolated-eMode rule, :544-547). v3.5 has no such function: see calculate_user_account_data."""
    emode = market.emode(category)
    if category != 0 and _on_bitmap(emode.collateral_bitmap, i):
        if _on_bitmap(emode.ltvzero_bitmap, i):
            return 0
        return emode.ltv
    if version == "aave-v3.7" and category != 0 and emode.isolated:
        return 0
    return market.reserves[i].ltv


def calculate_user_account_data(version: Version, market: Market, user: User) -> AccountData:
    """GenericLogic.calculateUserAccountData: v3.5.0 :67-181, v3.6.0 :66-183, v3.7 :65-183.

    Collateral counted: v3.5 only reserves with reserve LT != 0 and the flag (:111); v3.6/v3.7
    every reserve with the flag (:105), its LT the eMode LT when the reserve is in the user's
    eMode collateralBitmap (:126-133), else the reserve LT (possibly 0).
    HF = wadDiv(sum(value_i * LT_i), totalDebt) / 1e4, uint256.max without debt (v3.5.0 :160-162,
    v3.6.0/v3.7 :162-164); avgLtv and avgLT are floor(sum / totalCollateral)."""
    user.check(market)
    if user.is_empty():  # v3.5.0 :73-75, v3.6.0 :72-74, v3.7 :71-73
        return AccountData(0, 0, 0, 0, UINT256_MAX, False)
    cat = user.emode_category
    emode = market.emode(cat)
    total_coll = total_debt = avg_ltv = avg_lt = 0
    has_zero_ltv = False
    for i, r in enumerate(market.reserves):
        enabled = user.collateral_enabled[i]
        borrowed = user.borrowing(i)
        if not (enabled or borrowed):
            continue
        if version == "aave-v3.5":
            # v3.5.0 :111-136
            if r.liquidation_threshold != 0 and enabled:
                value = _user_balance_in_base(market, user, i)
                total_coll += value
                in_emode = cat != 0 and _on_bitmap(emode.collateral_bitmap, i)
                if r.ltv != 0:
                    avg_ltv += value * (emode.ltv if in_emode else r.ltv)
                else:
                    has_zero_ltv = True
                avg_lt += value * (emode.liquidation_threshold if in_emode else r.liquidation_threshold)
        else:
            # v3.6.0 :105-138, v3.7 :105-138
            if enabled:
                value = _user_balance_in_base(market, user, i)
                total_coll += value
                ltv = get_user_reserve_ltv(version, market, i, cat)
                if ltv == 0:
                    has_zero_ltv = True
                else:
                    avg_ltv += value * ltv
                if cat != 0 and _on_bitmap(emode.collateral_bitmap, i):
                    lt = emode.liquidation_threshold
                else:
                    lt = r.liquidation_threshold
                avg_lt += value * lt
        if borrowed:
            total_debt += _user_debt_in_base(market, user, i)
    _chk(total_coll)
    _chk(total_debt)
    _chk(avg_lt)
    hf = UINT256_MAX if total_debt == 0 else wad_div(avg_lt, total_debt) // PERCENTAGE_FACTOR
    return AccountData(
        total_collateral_base=total_coll,
        total_debt_base=total_debt,
        avg_ltv=avg_ltv // total_coll if total_coll else 0,
        avg_liquidation_threshold=avg_lt // total_coll if total_coll else 0,
        health_factor=hf,
        has_zero_ltv_collateral=has_zero_ltv,
    )


def isolation_mode_state(version: Version, market: Market, user: User) -> tuple[bool, int | None, int]:
    """UserConfiguration.getIsolationModeState (v3.5.0/v3.6.0 :182-197): active iff exactly one
    collateral flag is set and that reserve has a debt ceiling. It restricts borrowing only; it
    does not enter the HF. Removed in v3.7 (always inactive)."""
    if version == "aave-v3.7":
        return False, None, 0
    flagged = [i for i, f in enumerate(user.collateral_enabled) if f]
    if len(flagged) == 1 and market.reserves[flagged[0]].debt_ceiling != 0:
        i = flagged[0]
        return True, i, market.reserves[i].debt_ceiling
    return False, None, 0


# --------------------------------------------------------------------------------------------
# LiquidationLogic
# --------------------------------------------------------------------------------------------


def calculate_available_collateral_to_liquidate(
    version: Version,
    collateral: Reserve,
    debt: Reserve,
    debt_to_cover: int,
    borrower_collateral_balance: int,
    liquidation_bonus: int,
) -> tuple[int, int, int, int]:
    """LiquidationLogic._calculateAvailableCollateralToLiquidate: v3.5.0 :609-660, v3.6.0 :564-615,
    v3.7 :583-625.

    Returns (collateral to the liquidator, debt needed, protocol fee, collateral seized in base
    currency = floor((liquidator's share + fee) * price / unit)). The last value is returned by
    v3.5/v3.6 only; for v3.7 it is computed the same way for reporting and not used."""
    pc, uc, pd, ud = collateral.price, collateral.unit, debt.price, debt.unit
    fee_pct = collateral.liquidation_protocol_fee
    # :625-627 / :580-582 / :599-601
    base_collateral = _mul(pd, debt_to_cover, uc) // _mul(pc, ud)
    if version == "aave-v3.7":
        max_collateral = percent_mul_floor(base_collateral, liquidation_bonus)  # v3.7 :603
    else:
        max_collateral = percent_mul(base_collateral, liquidation_bonus)  # v3.5.0 :629, v3.6.0 :584
    if max_collateral > borrower_collateral_balance:
        collateral_amount = borrower_collateral_balance
        debt_needed = percent_div_ceil(_mul(pc, collateral_amount, ud) // _mul(pd, uc), liquidation_bonus)
    else:
        collateral_amount = max_collateral
        debt_needed = debt_to_cover
    collateral_in_base = _mul(collateral_amount, pc) // uc  # v3.5.0 :640-642, v3.6.0 :595-597
    fee = 0
    if fee_pct != 0:
        if version == "aave-v3.7":
            bonus_collateral = collateral_amount - percent_div_floor(collateral_amount, liquidation_bonus)
            fee = percent_mul_ceil(bonus_collateral, fee_pct)  # v3.7 :614-621
        else:
            bonus_collateral = collateral_amount - percent_div(collateral_amount, liquidation_bonus)
            fee = percent_mul(bonus_collateral, fee_pct)  # v3.5.0 :644-653
        _chk(bonus_collateral)
        collateral_amount = _sub(collateral_amount, fee)
    return collateral_amount, debt_needed, fee, collateral_in_base


@dataclass(frozen=True)
class LiquidationResult:
    """Effects of one successful liquidationCall on the borrower and the reserves."""

    account_before: AccountData
    liquidation_bonus: int  # bps used: the eMode bonus if the collateral is in the user's eMode bitmap
    max_liquidatable_debt: int
    close_factor_applied: bool  # the 50% branch set maxLiquidatableDebt
    debt_repaid: int  # actualDebtToLiquidate: pulled from the liquidator
    collateral_to_liquidator: int  # actualCollateralToLiquidate (underlying, or aTokens if receiveAToken)
    protocol_fee: int  # aTokens to the treasury, after the 1-wei cap
    collateral_seized_base: int  # floor((to liquidator + fee before the cap) * price / unit)
    has_no_collateral_left: bool
    deficit: tuple[int, ...]  # per reserve: debt written off as reserve deficit by this call
    scaled_to_liquidator: int  # scaled aTokens burnt for / transferred to the liquidator
    scaled_to_treasury: int
    user_after: User
    isolation_mode_total_debt: int | None  # collateral reserve's counter after (v3.5/v3.6 with a debt ceiling)


def liquidation_call(
    version: Version,
    market: Market,
    user: User,
    collateral: int,
    debt: int,
    debt_to_cover: int,
    receive_atoken: bool = False,
) -> LiquidationResult:
    """Pool.liquidationCall -> LiquidationLogic.executeLiquidationCall: v3.5.0 :167-431,
    v3.6.0 :167-439, v3.7 :166-460, with the token calls it makes. ``collateral`` and ``debt``
    are reserve indexes. Raises an AaveRevert subclass where the contract reverts."""
    user.check(market)
    if not 0 <= debt_to_cover <= UINT256_MAX:
        raise ValueError("debtToCover is a uint256")
    cr, dr = market.reserves[collateral], market.reserves[debt]
    ic, idv = cr.liquidity_index, dr.variable_borrow_index
    cat = user.emode_category
    emode = market.emode(cat)

    # :184-201 (v3.7 :185-202)
    account = calculate_user_account_data(version, market, user)
    # :203-208 (v3.7 :204-211)
    scaled_coll = user.scaled_collateral[collateral]
    borrower_collateral_balance = get_atoken_balance(scaled_coll, ic)
    borrower_reserve_debt = get_vtoken_balance(user.scaled_debt[debt], idv)

    # ValidationLogic.validateLiquidationCall: v3.5.0 :308-355, v3.6.0 :301-347, v3.7 :253-292
    if account.health_factor >= HEALTH_FACTOR_LIQUIDATION_THRESHOLD:
        raise HealthFactorNotBelowThreshold(f"HF {account.health_factor}")
    if version == "aave-v3.5":
        enabled = cr.liquidation_threshold != 0 and user.collateral_enabled[collateral]  # :348-353
    else:
        enabled = user.collateral_enabled[collateral]  # v3.6.0 :342-345, v3.7 :287-290
    if not enabled:
        raise CollateralCannotBeLiquidated(cr.symbol)
    if borrower_reserve_debt == 0:
        raise SpecifiedCurrencyNotBorrowedByUser(dr.symbol)

    # :224-237 (v3.7 :226-239)
    if cat != 0 and _on_bitmap(emode.collateral_bitmap, collateral):
        bonus = emode.liquidation_bonus
    else:
        bonus = cr.liquidation_bonus
    pc, uc, pd, ud = cr.price, cr.unit, dr.price, dr.unit

    # :245-254 (v3.7 :247-256)
    debt_in_base = mul_div_ceil(borrower_reserve_debt, pd, ud)
    coll_in_base = _mul(borrower_collateral_balance, pc) // uc

    # close factor :256-276 (v3.7 :259-278)
    max_liquidatable = borrower_reserve_debt
    close_factor = False
    if (
        coll_in_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and debt_in_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and account.health_factor > CLOSE_FACTOR_HF_THRESHOLD
    ):
        total_default = percent_mul(account.total_debt_base, DEFAULT_LIQUIDATION_CLOSE_FACTOR)
        if debt_in_base > total_default:
            max_liquidatable = _mul(total_default, ud) // pd
            close_factor = True
    actual_debt = min(debt_to_cover, max_liquidatable)  # :278-280 (v3.7 :280-282)

    # :282-296 (v3.7 :284-297)
    actual_coll, actual_debt, fee, seized_base = calculate_available_collateral_to_liquidate(
        version, cr, dr, actual_debt, borrower_collateral_balance, bonus
    )

    # MustNotLeaveDust :298-324 (v3.7 :299-325)
    if actual_debt < borrower_reserve_debt and actual_coll + fee < borrower_collateral_balance:
        debt_left = mul_div_ceil(borrower_reserve_debt - actual_debt, pd, ud)
        coll_left = _mul(borrower_collateral_balance - actual_coll - fee, pc) // uc
        if not (debt_left >= MIN_LEFTOVER_BASE and coll_left >= MIN_LEFTOVER_BASE):
            raise MustNotLeaveDust(f"debt left {debt_left}, collateral left {coll_left} (base)")

    flags = list(user.collateral_enabled)
    if version == "aave-v3.7":
        # v3.7 :341-377: scaled consumption, capped at the scaled balance
        consumed = get_atoken_burn_scaled_amount(actual_coll, ic) + get_atoken_transfer_scaled_amount(fee, ic)
        consumed = min(consumed, scaled_coll)
        fully_consumed = consumed == scaled_coll
        consumed_base = _mul(get_atoken_balance(consumed, ic), pc) // uc
        has_no_collateral_left = consumed_base == account.total_collateral_base
        if fully_consumed or has_no_collateral_left:
            flags[collateral] = False
    else:
        # v3.5.0/v3.6.0 :326-341
        if actual_coll + fee == borrower_collateral_balance:
            flags[collateral] = False
        has_no_collateral_left = account.total_collateral_base == seized_base

    scaled_debt = list(user.scaled_debt)
    deficit = [0] * len(market.reserves)
    _burn_debt_tokens(market, scaled_debt, deficit, debt, borrower_reserve_debt, actual_debt, has_no_collateral_left)

    # isolation mode debt counter, v3.5.0/v3.6.0 :354-367 -> IsolationModeLogic.updateIsolatedDebt
    # :93-114 with convertToIsolatedDebtUnits :140-149 (debt reserve decimals)
    isolation_total: int | None = None
    if version != "aave-v3.7" and cr.debt_ceiling != 0:
        repaid_units = actual_debt // int(10 ** _sub(dr.decimals, DEBT_CEILING_DECIMALS))
        if repaid_units > 2**128 - 1:
            raise AaveRevert("SafeCastOverflowedUintDowncast")
        cur = cr.isolation_mode_total_debt
        isolation_total = cur - repaid_units if cur > repaid_units else 0

    # collateral to the liquidator :369-382 (v3.6.0 :369-390, v3.7 :390-411)
    scaled_c = list(user.scaled_collateral)
    to_liquidator = get_atoken_burn_scaled_amount(actual_coll, ic)  # burn and transfer: both rayDivCeil
    if not receive_atoken and to_liquidator == 0:
        # _burnCollateralATokens -> AToken.burn -> ScaledBalanceTokenBase._burnScaled :105-134
        raise InvalidBurnAmount("collateral")
    if to_liquidator > UINT120_MAX:
        raise AaveRevert("SafeCastOverflowedUintDowncast")
    scaled_c[collateral] = _sub(scaled_c[collateral], to_liquidator)

    # protocol fee to the treasury: v3.5.0 :384-406, v3.6.0 :392-414, v3.7 :413-435
    to_treasury = 0
    if fee != 0:
        to_treasury = get_atoken_transfer_scaled_amount(fee, ic)
        if to_treasury > scaled_c[collateral]:
            to_treasury = scaled_c[collateral]
            fee = get_atoken_balance(to_treasury, ic)
        scaled_c[collateral] -= to_treasury

    # bad debt: v3.5.0 :408-413, v3.6.0 :416-421, v3.7 :440-442 -> _burnBadDebt
    if has_no_collateral_left and any(s > 0 for s in scaled_debt):
        # _burnBadDebt v3.5.0 :671-709, v3.6.0 :626-667, v3.7 :636-678
        for j, s in enumerate(scaled_debt):
            if s > 0:
                _burn_debt_tokens(
                    market,
                    scaled_debt,
                    deficit,
                    j,
                    get_vtoken_balance(s, market.reserves[j].variable_borrow_index),
                    0,
                    True,
                )

    after = replace(
        user, scaled_collateral=tuple(scaled_c), scaled_debt=tuple(scaled_debt), collateral_enabled=tuple(flags)
    )
    return LiquidationResult(
        account_before=account,
        liquidation_bonus=bonus,
        max_liquidatable_debt=max_liquidatable,
        close_factor_applied=close_factor,
        debt_repaid=actual_debt,
        collateral_to_liquidator=actual_coll,
        protocol_fee=fee,
        collateral_seized_base=seized_base,
        has_no_collateral_left=has_no_collateral_left,
        deficit=tuple(deficit),
        scaled_to_liquidator=to_liquidator,
        scaled_to_treasury=to_treasury,
        user_after=after,
        isolation_mode_total_debt=isolation_total,
    )


def _burn_debt_tokens(
    market: Market,
    scaled_debt: list[int],
    deficit: list[int],
    j: int,
    borrower_reserve_debt: int,
    actual_debt: int,
    has_no_collateral_left: bool,
) -> None:
    """LiquidationLogic._burnDebtTokens: v3.5.0 :530-577, v3.6.0 :485-532, v3.7 :506-553, with
    VariableDebtToken.burn (v3.5.0 :133-148, later :132-147) -> _burnScaled (:105-134).
    Burns floor(amount / index) scaled debt (rayDivFloor); on hasNoCollateralLeft the whole
    debt is burnt and debt - actualDebt is booked as the reserve's deficit."""
    if borrower_reserve_debt != 0:
        burn_amount = borrower_reserve_debt if has_no_collateral_left else actual_debt
        scaled_burn = get_vtoken_burn_scaled_amount(burn_amount, market.reserves[j].variable_borrow_index)
        if scaled_burn == 0:
            raise InvalidBurnAmount("debt")
        scaled_debt[j] = _sub(scaled_debt[j], scaled_burn)
    outstanding = _sub(borrower_reserve_debt, actual_debt)
    if has_no_collateral_left and outstanding != 0:
        deficit[j] += outstanding


def is_liquidatable(version: Version, market: Market, user: User) -> bool:
    """HF < 1e18, the HealthFactorNotBelowThreshold check (any collateral/debt pair)."""
    return calculate_user_account_data(version, market, user).health_factor < HEALTH_FACTOR_LIQUIDATION_THRESHOLD
