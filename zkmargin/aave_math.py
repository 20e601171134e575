"""Aave v3's integer math (WadRayMath, PercentageMath, MathUtils.mulDivCeil, TokenMath), as
zkmargin's model and the pool's reserves (zkmargin.pool.reserve) use it. Every function names
its Solidity in aave-dao/aave-v3-origin at the pinned versions (paths under
src/contracts/protocol/libraries/, lines v3.5.0 / v3.6.0 / v3.7; the pins are in
zkmargin.model.RULES_PINS). Inputs are non-negative integers within the
circuits' widths, so none of the Solidity overflow guards can fire; a zero divisor raises
ZeroDivisionError (the Solidity reverts with revert(0, 0)).

The circuits compute the same roundings as quotient/remainder pairs (circuits/lib/arith.circom
DivRound); tests/fidelity compares these functions with an independent transliteration.
"""

from __future__ import annotations

from typing import Final

WAD: Final = 10**18
RAY: Final = 10**27
PERCENTAGE_FACTOR: Final = 10**4
HALF_PERCENTAGE_FACTOR: Final = PERCENTAGE_FACTOR // 2


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def wad_div(a: int, b: int) -> int:
    """math/WadRayMath.sol wadDiv :53-62 (all three): (a * 1e18 + b / 2) / b, half up."""
    return (a * WAD + b // 2) // b


def ray_mul(a: int, b: int) -> int:
    """math/WadRayMath.sol rayMul :64-72 (all three): (a * b + RAY / 2) / RAY, half up."""
    return (a * b + RAY // 2) // RAY


def ray_div(a: int, b: int) -> int:
    """math/WadRayMath.sol rayDiv :109-117 / :104-112 / :104-112: (a * RAY + b / 2) / b, half up."""
    return (a * RAY + b // 2) // b


def ray_mul_floor(a: int, b: int) -> int:
    """math/WadRayMath.sol rayMulFloor :79-88 / :74-83 / :74-83."""
    return a * b // RAY


def ray_mul_ceil(a: int, b: int) -> int:
    """math/WadRayMath.sol rayMulCeil :90-100 / :85-95 / :85-95."""
    return _ceil_div(a * b, RAY)


def ray_div_floor(a: int, b: int) -> int:
    """math/WadRayMath.sol rayDivFloor :135-143 / :125-133 / :125-133."""
    return a * RAY // b


def ray_div_ceil(a: int, b: int) -> int:
    """math/WadRayMath.sol rayDivCeil :124-133 / :114-123 / :114-123."""
    return _ceil_div(a * RAY, b)


def percent_mul(value: int, percentage: int) -> int:
    """math/PercentageMath.sol percentMul :25-39 (all three), half up."""
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def percent_mul_ceil(value: int, percentage: int) -> int:
    """math/PercentageMath.sol percentMulCeil :41-57 (all three)."""
    return _ceil_div(value * percentage, PERCENTAGE_FACTOR)


def percent_mul_floor(value: int, percentage: int) -> int:
    """math/PercentageMath.sol percentMulFloor :59-71 (all three)."""
    return value * percentage // PERCENTAGE_FACTOR


def percent_div(value: int, percentage: int) -> int:
    """math/PercentageMath.sol percentDiv :80-92 (all three), half up."""
    return (value * PERCENTAGE_FACTOR + percentage // 2) // percentage


def percent_div_floor(value: int, percentage: int) -> int:
    """math/PercentageMath.sol percentDivFloor :94-105, v3.7 only."""
    return value * PERCENTAGE_FACTOR // percentage


def percent_div_ceil(value: int, percentage: int) -> int:
    """math/PercentageMath.sol percentDivCeil :94-106 / :94-106 / :107-119."""
    return _ceil_div(value * PERCENTAGE_FACTOR, percentage)


def mul_div_ceil(a: int, b: int, c: int) -> int:
    """math/MathUtils.sol mulDivCeil :100-115 (all three)."""
    return _ceil_div(a * b, c)


# helpers/TokenMath.sol (identical in all three versions)


def atoken_mint_scaled(amount: int, liquidity_index: int) -> int:
    """TokenMath.getATokenMintScaledAmount :24-29: rayDivFloor."""
    return ray_div_floor(amount, liquidity_index)


def vtoken_mint_scaled(amount: int, variable_borrow_index: int) -> int:
    """TokenMath.getVTokenMintScaledAmount :80-85: rayDivCeil."""
    return ray_div_ceil(amount, variable_borrow_index)


def atoken_balance(scaled: int, liquidity_index: int) -> int:
    """TokenMath.getATokenBalance :66-71: rayMulFloor."""
    return ray_mul_floor(scaled, liquidity_index)


def vtoken_balance(scaled: int, variable_borrow_index: int) -> int:
    """TokenMath.getVTokenBalance :108-113: rayMulCeil."""
    return ray_mul_ceil(scaled, variable_borrow_index)


def atoken_burn_scaled(amount: int, liquidity_index: int) -> int:
    """TokenMath.getATokenBurnScaledAmount :38-43 (and getATokenTransferScaledAmount :52-57): rayDivCeil."""
    return ray_div_ceil(amount, liquidity_index)


def vtoken_burn_scaled(amount: int, variable_borrow_index: int) -> int:
    """TokenMath.getVTokenBurnScaledAmount :94-99: rayDivFloor."""
    return ray_div_floor(amount, variable_borrow_index)
