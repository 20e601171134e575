// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Aave v3.5's reserve arithmetic, written anew from the formulas of aave-dao/aave-v3-origin at
/// v3.5.0 (6138e1fda45884b6547d094a1ddeef43dcab4977). Every function names the file (under
/// src/contracts/) and the lines it follows, and its rounding. zkmargin/pool/reserve.py computes the
/// same integers (through zkmargin/aave_math.py); tests/test_pool_reserve.py compares them to the wei.
///
/// One difference in kind, none in value: Aave's assembly reverts with empty data on overflow, this
/// library's checked arithmetic reverts with Panic(0x11). Neither can fire for indexes and rates that
/// fit the uint128 fields of ReserveData and amounts below 2^128.
library ReserveMath {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant RAY = 1e27;
    uint256 internal constant HALF_RAY = 0.5e27;
    uint256 internal constant PERCENTAGE_FACTOR = 1e4;
    uint256 internal constant HALF_PERCENTAGE_FACTOR = 0.5e4;
    /// protocol/libraries/math/MathUtils.sol:15 (ignoring leap years)
    uint256 internal constant SECONDS_PER_YEAR = 365 days;

    // --- protocol/libraries/math/WadRayMath.sol ---

    /// rayMul :64-72, rounds half up.
    function rayMul(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a * b + HALF_RAY) / RAY;
    }

    /// rayDiv :109-117, rounds half up.
    function rayDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a * RAY + b / 2) / b;
    }

    /// rayMulFloor :79-88.
    function rayMulFloor(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a * b) / RAY;
    }

    /// rayMulCeil :90-100.
    function rayMulCeil(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 p = a * b;
        return p / RAY + (p % RAY == 0 ? 0 : 1);
    }

    /// rayDivFloor :135-143.
    function rayDivFloor(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a * RAY) / b;
    }

    /// rayDivCeil :124-133.
    function rayDivCeil(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 p = a * RAY;
        return p / b + (p % b == 0 ? 0 : 1);
    }

    // --- protocol/libraries/math/PercentageMath.sol ---

    /// percentMul :25-39, rounds half up.
    function percentMul(uint256 value, uint256 percentage) internal pure returns (uint256) {
        return (value * percentage + HALF_PERCENTAGE_FACTOR) / PERCENTAGE_FACTOR;
    }

    // --- protocol/libraries/math/MathUtils.sol ---

    /// calculateLinearInterest :23-34: RAY + rate * dt / SECONDS_PER_YEAR (floor).
    function linearInterest(uint256 rate, uint40 lastUpdateTimestamp) internal view returns (uint256) {
        return RAY + (rate * (block.timestamp - uint256(lastUpdateTimestamp))) / SECONDS_PER_YEAR;
    }

    /// calculateCompoundedInterest :50-85 (and :93-98 for block.timestamp): v3.5's three-term
    /// binomial approximation of (1 + rate/year)^dt, x = rate * dt / year (floor), then
    /// RAY + x + rayMul(x, x / 2 + rayMul(x, x / 6)) with half-up rayMul. It undercharges
    /// borrowers slightly against e^x; this is the formula the pool follows.
    function compoundedInterest(uint256 rate, uint40 lastUpdateTimestamp) internal view returns (uint256) {
        uint256 exp = block.timestamp - uint256(lastUpdateTimestamp);
        if (exp == 0) return RAY;
        uint256 x = (rate * exp) / SECONDS_PER_YEAR;
        return RAY + x + rayMul(x, x / 2 + rayMul(x, x / 6));
    }

    // --- protocol/libraries/helpers/TokenMath.sol (rounding in favour of the protocol) ---

    /// getATokenMintScaledAmount :24-29: supply mints rayDivFloor(amount, liquidityIndex).
    function aTokenMintScaled(uint256 amount, uint256 liquidityIndex) internal pure returns (uint256) {
        return rayDivFloor(amount, liquidityIndex);
    }

    /// getATokenBurnScaledAmount :38-43: withdraw burns rayDivCeil(amount, liquidityIndex).
    function aTokenBurnScaled(uint256 amount, uint256 liquidityIndex) internal pure returns (uint256) {
        return rayDivCeil(amount, liquidityIndex);
    }

    /// getATokenBalance :66-71: a supply balance reads rayMulFloor(scaled, liquidityIndex).
    function aTokenBalance(uint256 scaled, uint256 liquidityIndex) internal pure returns (uint256) {
        return rayMulFloor(scaled, liquidityIndex);
    }

    /// getVTokenMintScaledAmount :80-85: borrow mints rayDivCeil(amount, variableBorrowIndex).
    function vTokenMintScaled(uint256 amount, uint256 variableBorrowIndex) internal pure returns (uint256) {
        return rayDivCeil(amount, variableBorrowIndex);
    }

    /// getVTokenBurnScaledAmount :94-99: repay burns rayDivFloor(amount, variableBorrowIndex).
    function vTokenBurnScaled(uint256 amount, uint256 variableBorrowIndex) internal pure returns (uint256) {
        return rayDivFloor(amount, variableBorrowIndex);
    }

    /// getVTokenBalance :108-113: a debt reads rayMulCeil(scaled, variableBorrowIndex).
    function vTokenBalance(uint256 scaled, uint256 variableBorrowIndex) internal pure returns (uint256) {
        return rayMulCeil(scaled, variableBorrowIndex);
    }

    // --- misc/DefaultReserveInterestRateStrategyV2.sol ---

    /// _bpsToRay :232-234.
    function bpsToRay(uint256 n) internal pure returns (uint256) {
        return n * 1e23;
    }

    /// calculateInterestRates :125-171, with unbacked (reserve.deficit) = 0 and
    /// usingVirtualBalance = true as ReserveLogic.updateInterestRatesAndVirtualBalance :138-155
    /// passes them. Rates in bps (v3.5's InterestRateData); returns (liquidityRate,
    /// variableBorrowRate) in ray. Every rayMul/rayDiv/percentMul here rounds half up.
    function interestRates(
        uint256 optimalUsageRatioBps,
        uint256 baseVariableBorrowRateBps,
        uint256 variableRateSlope1Bps,
        uint256 variableRateSlope2Bps,
        uint256 reserveFactor,
        uint256 virtualUnderlyingBalance,
        uint256 liquidityAdded,
        uint256 liquidityTaken,
        uint256 totalDebt
    ) internal pure returns (uint256 liquidityRate, uint256 variableBorrowRate) {
        uint256 optimal = bpsToRay(optimalUsageRatioBps);
        variableBorrowRate = bpsToRay(baseVariableBorrowRateBps); // :133
        if (totalDebt == 0) return (0, variableBorrowRate); // :135, :146-147
        // :136-144 (unbacked = 0, so supplyUsageRatio == borrowUsageRatio)
        uint256 availableLiquidity = virtualUnderlyingBalance + liquidityAdded - liquidityTaken;
        uint256 usage = rayDiv(totalDebt, availableLiquidity + totalDebt);
        if (usage > optimal) {
            // :150-157
            uint256 excess = rayDiv(usage - optimal, RAY - optimal);
            variableBorrowRate += bpsToRay(variableRateSlope1Bps) + rayMul(bpsToRay(variableRateSlope2Bps), excess);
        } else {
            // :158-163
            variableBorrowRate += rayDiv(rayMul(bpsToRay(variableRateSlope1Bps), usage), optimal);
        }
        // :165-168
        liquidityRate = percentMul(rayMul(variableBorrowRate, usage), PERCENTAGE_FACTOR - reserveFactor);
    }
}
