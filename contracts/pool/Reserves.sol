// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReserveMath} from "./ReserveMath.sol";

/// The pool's reserves as Aave v3.5 keeps them (aave-dao/aave-v3-origin v3.5.0, 6138e1f; paths
/// below are under src/contracts/): per asset its ERC-20, risk parameters, the
/// DefaultReserveInterestRateStrategyV2 curve, the liquidity and variable-borrow indexes (ray) and
/// rates, and the totals of scaled supply and scaled variable debt.
///
/// Positions are not stored here: the pool keeps each owner's scaled balances in private notes and
/// calls the internal functions below around every operation. Each one does what the matching v3.5
/// execute* function does to the reserve, in the same order (updateState, scaled amount with
/// TokenMath's rounding, rates with the virtual balance, totals), then moves the tokens with
/// SafeERC20. The inheriting contract is responsible for reentrancy (nonReentrant on its external
/// entry points), for checking that a note holds what it burns, for the sentinel before a borrow
/// (PriceOracle._requireBorrowAllowed, as ValidationLogic.validateBorrow :160-164 does) and for
/// HF/LTV checks. zkmargin/pool/reserve.py models every state change here to the wei.
abstract contract Reserves {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// Risk parameters in bps as Aave's ReserveConfiguration holds them; liquidationBonus includes
    /// the 100% (10500 = 5% bonus).
    struct RiskParameters {
        uint16 ltv;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        uint16 liquidationProtocolFee;
        uint16 reserveFactor;
    }

    /// IDefaultInterestRateStrategyV2.InterestRateData (interfaces/IDefaultInterestRateStrategyV2.sol
    /// :24-29): bps, 10000 = 100%.
    struct InterestRateData {
        uint16 optimalUsageRatio;
        uint32 baseVariableBorrowRate;
        uint32 variableRateSlope1;
        uint32 variableRateSlope2;
    }

    /// DataTypes.ReserveData (protocol/libraries/types/DataTypes.sol:42-79) minus what a pool of
    /// notes has no use for (aToken/vToken addresses: the totals live here; isolation mode; deficit;
    /// liquidation grace period), plus the scaled totals the tokens would hold and the treasury's
    /// minted scaled balance.
    struct ReserveData {
        uint128 liquidityIndex;
        uint128 currentLiquidityRate;
        uint128 variableBorrowIndex;
        uint128 currentVariableBorrowRate;
        uint40 lastUpdateTimestamp;
        uint16 id;
        uint8 decimals;
        uint128 accruedToTreasury; // scaled, not yet minted (ReserveLogic._accrueToTreasury)
        uint128 virtualUnderlyingBalance; // v3.5's virtual accounting: tokens the reserve holds
        uint256 scaledTotalSupply; // AToken.scaledTotalSupply: owners' notes + the treasury's minted part
        uint256 scaledTotalVariableDebt; // VariableDebtToken.scaledTotalSupply
        uint256 treasuryScaled; // the treasury's minted scaled supply (part of scaledTotalSupply)
        RiskParameters risk;
        InterestRateData rates;
    }

    /// DefaultReserveInterestRateStrategyV2.sol:38-44
    uint256 internal constant MAX_BORROW_RATE = 1000_00;
    uint256 internal constant MIN_OPTIMAL_POINT = 1_00;
    uint256 internal constant MAX_OPTIMAL_POINT = 99_00;

    mapping(address => ReserveData) internal _reserves;
    address[] internal _reservesList;

    event ReserveListed(address indexed asset, uint16 id, uint8 decimals);
    /// IPool.ReserveDataUpdated without the always-zero stable rate.
    event ReserveDataUpdated(
        address indexed asset,
        uint256 liquidityRate,
        uint256 variableBorrowRate,
        uint256 liquidityIndex,
        uint256 variableBorrowIndex
    );
    event MintedToTreasury(address indexed asset, uint256 amountMinted);

    error UnknownReserve(address asset);
    error ReserveAlreadyListed(address asset);
    error InvalidRiskParameters(address asset);
    error InvalidRateData(address asset);
    /// A supply, withdraw or borrow whose scaled amount is 0 (ValidationLogic :71, :103, :141), or a
    /// repay of 0 (:229).
    error InvalidAmount();
    /// A repay whose scaled burn rounds to 0 (ScaledBalanceTokenBase._burnScaled :112).
    error InvalidBurnAmount();
    /// More taken than the reserve holds (v3.5 underflows the virtual balance, ReserveLogic :164).
    error InsufficientLiquidity(address asset, uint256 available, uint256 taken);
    /// The treasury withdraws more than it was minted (ValidationLogic.validateWithdraw :104).
    error InsufficientTreasury(address asset, uint256 treasuryScaled, uint256 scaled);

    // --- listing ---

    /// Lists `asset` with its decimals read from the token. Checks as PoolConfigurator
    /// (protocol/pool/PoolConfigurator.sol) configureReserveAsCollateral :133-154, setReserveFactor
    /// :281, setLiquidationProtocolFee :363, and the strategy's _setInterestRateParams
    /// (DefaultReserveInterestRateStrategyV2.sol:178-200). Indexes start at one ray
    /// (ReserveLogic.init :116-117), rates at 0.
    function _listReserve(address asset, RiskParameters memory risk, InterestRateData memory rates) internal {
        if (asset == address(0) || _reserves[asset].liquidityIndex != 0) revert ReserveAlreadyListed(asset);
        bool riskOk = risk.ltv <= risk.liquidationThreshold
            && risk.reserveFactor <= ReserveMath.PERCENTAGE_FACTOR
            && risk.liquidationProtocolFee <= ReserveMath.PERCENTAGE_FACTOR
            && (
                risk.liquidationThreshold == 0
                    ? risk.liquidationBonus == 0
                    : risk.liquidationBonus > ReserveMath.PERCENTAGE_FACTOR
                        && ReserveMath.percentMul(risk.liquidationThreshold, risk.liquidationBonus)
                            <= ReserveMath.PERCENTAGE_FACTOR
            );
        if (!riskOk) revert InvalidRiskParameters(asset);
        if (
            rates.optimalUsageRatio < MIN_OPTIMAL_POINT || rates.optimalUsageRatio > MAX_OPTIMAL_POINT
                || rates.variableRateSlope1 > rates.variableRateSlope2
                || uint256(rates.baseVariableBorrowRate) + rates.variableRateSlope1 + rates.variableRateSlope2
                    > MAX_BORROW_RATE
        ) revert InvalidRateData(asset);
        ReserveData storage r = _reserves[asset];
        r.liquidityIndex = uint128(ReserveMath.RAY);
        r.variableBorrowIndex = uint128(ReserveMath.RAY);
        r.lastUpdateTimestamp = uint40(block.timestamp);
        r.id = _reservesList.length.toUint16();
        r.decimals = IERC20Metadata(asset).decimals();
        r.risk = risk;
        r.rates = rates;
        _reservesList.push(asset);
        emit ReserveListed(asset, r.id, r.decimals);
    }

    function _reserve(address asset) internal view returns (ReserveData storage r) {
        r = _reserves[asset];
        if (r.liquidityIndex == 0) revert UnknownReserve(asset);
    }

    // --- state (protocol/libraries/logic/ReserveLogic.sol) ---

    /// updateState :85-101: nothing when already updated in this block; else _updateIndexes, then
    /// _accrueToTreasury on the new indexes, then the timestamp.
    function _updateState(address asset) internal returns (ReserveData storage r) {
        r = _reserve(asset);
        if (r.lastUpdateTimestamp == uint40(block.timestamp)) return r;
        uint256 prevBorrowIndex = r.variableBorrowIndex;
        // _updateIndexes :211-243: the liquidity index grows only when its rate is non-zero, the
        // borrow index only when there is debt (a base rate alone must not move it).
        if (r.currentLiquidityRate != 0) {
            r.liquidityIndex = ReserveMath.rayMul(
                ReserveMath.linearInterest(r.currentLiquidityRate, r.lastUpdateTimestamp), r.liquidityIndex
            ).toUint128();
        }
        if (r.scaledTotalVariableDebt != 0) {
            r.variableBorrowIndex = ReserveMath.rayMul(
                ReserveMath.compoundedInterest(r.currentVariableBorrowRate, r.lastUpdateTimestamp),
                r.variableBorrowIndex
            ).toUint128();
        }
        _accrueToTreasury(r, prevBorrowIndex);
        r.lastUpdateTimestamp = uint40(block.timestamp);
    }

    /// _accrueToTreasury :183-204: the interest accrued on the scaled debt since the last update,
    /// rayMulFloor (undermints the treasury), times the reserve factor with half-up percentMul,
    /// credited scaled by rayDivFloor at the new liquidity index (TokenMath.getATokenMintScaledAmount).
    function _accrueToTreasury(ReserveData storage r, uint256 prevBorrowIndex) private {
        if (r.risk.reserveFactor == 0) return;
        uint256 totalDebtAccrued =
            ReserveMath.rayMulFloor(r.scaledTotalVariableDebt, r.variableBorrowIndex - prevBorrowIndex);
        uint256 amountToMint = ReserveMath.percentMul(totalDebtAccrued, r.risk.reserveFactor);
        if (amountToMint != 0) {
            r.accruedToTreasury += ReserveMath.aTokenMintScaled(amountToMint, r.liquidityIndex).toUint128();
        }
    }

    /// updateInterestRatesAndVirtualBalance :130-175: the total debt read with
    /// TokenMath.getVTokenBalance (ceil) on the scaled debt after this operation's mint or burn,
    /// the strategy's rates on the virtual balance before it moves, then the virtual balance.
    function _updateRates(address asset, ReserveData storage r, uint256 liquidityAdded, uint256 liquidityTaken)
        private
    {
        uint256 available = r.virtualUnderlyingBalance + liquidityAdded;
        if (liquidityTaken > available) revert InsufficientLiquidity(asset, available, liquidityTaken);
        uint256 totalDebt = ReserveMath.vTokenBalance(r.scaledTotalVariableDebt, r.variableBorrowIndex);
        (uint256 liquidityRate, uint256 variableBorrowRate) = ReserveMath.interestRates(
            r.rates.optimalUsageRatio,
            r.rates.baseVariableBorrowRate,
            r.rates.variableRateSlope1,
            r.rates.variableRateSlope2,
            r.risk.reserveFactor,
            r.virtualUnderlyingBalance,
            liquidityAdded,
            liquidityTaken,
            totalDebt
        );
        r.currentLiquidityRate = liquidityRate.toUint128();
        r.currentVariableBorrowRate = variableBorrowRate.toUint128();
        r.virtualUnderlyingBalance = (available - liquidityTaken).toUint128();
        emit ReserveDataUpdated(asset, liquidityRate, variableBorrowRate, r.liquidityIndex, r.variableBorrowIndex);
    }

    // --- operations the pool calls (amounts in the token's units; scaled amounts returned) ---

    /// SupplyLogic.executeSupply :47-71: scaled = rayDivFloor(amount, index) (never more shares than
    /// paid for), rates with liquidityAdded = amount, tokens pulled from `from`.
    function _supply(address asset, address from, uint256 amount) internal returns (uint256 scaled) {
        ReserveData storage r = _updateState(asset);
        scaled = ReserveMath.aTokenMintScaled(amount, r.liquidityIndex);
        if (scaled == 0) revert InvalidAmount();
        _updateRates(asset, r, amount, 0);
        r.scaledTotalSupply += scaled;
        IERC20(asset).safeTransferFrom(from, address(this), amount);
    }

    /// SupplyLogic.executeWithdraw :116-156 for an explicit amount: burns rayDivCeil(amount, index)
    /// (at least what is paid out). The caller checks the note holds `scaled`.
    function _withdraw(address asset, address to, uint256 amount) internal returns (uint256 scaled) {
        ReserveData storage r = _updateState(asset);
        scaled = ReserveMath.aTokenBurnScaled(amount, r.liquidityIndex);
        _burnSupply(asset, r, to, amount, scaled);
    }

    /// SupplyLogic.executeWithdraw :127-130 with amount = type(uint256).max: burns exactly `scaled`
    /// (a whole note) and pays rayMulFloor(scaled, index).
    function _withdrawScaled(address asset, address to, uint256 scaled) internal returns (uint256 amount) {
        ReserveData storage r = _updateState(asset);
        amount = ReserveMath.aTokenBalance(scaled, r.liquidityIndex);
        _burnSupply(asset, r, to, amount, scaled);
    }

    /// Withdraws from the treasury's minted balance, as the treasury's executeWithdraw would.
    function _withdrawTreasury(address asset, address to, uint256 amount) internal returns (uint256 scaled) {
        ReserveData storage r = _updateState(asset);
        scaled = ReserveMath.aTokenBurnScaled(amount, r.liquidityIndex);
        if (scaled > r.treasuryScaled) revert InsufficientTreasury(asset, r.treasuryScaled, scaled);
        r.treasuryScaled -= scaled;
        _burnSupply(asset, r, to, amount, scaled);
    }

    function _burnSupply(address asset, ReserveData storage r, address to, uint256 amount, uint256 scaled) private {
        if (scaled == 0) revert InvalidAmount(); // ValidationLogic.validateWithdraw :103
        _updateRates(asset, r, 0, amount);
        r.scaledTotalSupply -= scaled;
        IERC20(asset).safeTransfer(to, amount);
    }

    /// BorrowLogic.executeBorrow :50-107: scaled = rayDivCeil(amount, borrowIndex) (the debt is never
    /// under-counted), minted before the rates are computed, liquidityTaken = amount.
    function _borrow(address asset, address to, uint256 amount) internal returns (uint256 scaled) {
        ReserveData storage r = _updateState(asset);
        scaled = ReserveMath.vTokenMintScaled(amount, r.variableBorrowIndex);
        if (scaled == 0) revert InvalidAmount(); // ValidationLogic.validateBorrow :141
        r.scaledTotalVariableDebt += scaled;
        _updateRates(asset, r, 0, amount);
        IERC20(asset).safeTransfer(to, amount);
    }

    /// BorrowLogic.executeRepay :149-235 for an explicit amount, which the caller has checked is at
    /// most the note's debt (v3.5 caps it at :174-176): burns rayDivFloor(amount, borrowIndex) (never
    /// more than repaid), then rates with liquidityAdded = amount.
    function _repay(address asset, address from, uint256 amount) internal returns (uint256 scaled) {
        if (amount == 0) revert InvalidAmount(); // ValidationLogic.validateRepay :229
        ReserveData storage r = _updateState(asset);
        scaled = _burnDebt(asset, r, from, amount);
    }

    /// BorrowLogic.executeRepay with amount = type(uint256).max: pays the whole debt of a note,
    /// rayMulCeil(scaledDebt, borrowIndex) (:155, :174-176), and burns rayDivFloor of that, which
    /// is exactly scaledDebt. Returns the amount paid.
    function _repayScaled(address asset, address from, uint256 scaledDebt) internal returns (uint256 amount) {
        ReserveData storage r = _updateState(asset);
        amount = ReserveMath.vTokenBalance(scaledDebt, r.variableBorrowIndex);
        _burnDebt(asset, r, from, amount);
    }

    function _burnDebt(address asset, ReserveData storage r, address from, uint256 amount)
        private
        returns (uint256 scaled)
    {
        scaled = ReserveMath.vTokenBurnScaled(amount, r.variableBorrowIndex);
        if (scaled == 0) revert InvalidBurnAmount();
        r.scaledTotalVariableDebt -= scaled;
        _updateRates(asset, r, amount, 0);
        IERC20(asset).safeTransferFrom(from, address(this), amount);
    }

    // --- liquidation (LiquidationLogic.executeLiquidationCall, v3.5.0 :167-431) ---

    /// _burnDebtTokens :530-577: burns rayDivFloor(repaid + deficit, borrowIndex) of the reserve's
    /// scaled debt (with a deficit, repaid + deficit is the note's whole debt read with rayMulCeil,
    /// so the burn is exactly its scaled debt, as the circuit burns it), then the rates with
    /// liquidityAdded = repaid (the liquidator's tokens; a reserve written off alone adds 0, as
    /// _burnBadDebt does). No tokens move here: the pool pulls `repaid` last.
    function _burnLiquidatedDebt(address asset, uint256 repaid, uint256 deficit) internal returns (uint256 scaled) {
        ReserveData storage r = _updateState(asset);
        scaled = ReserveMath.vTokenBurnScaled(repaid + deficit, r.variableBorrowIndex);
        if (scaled == 0) revert InvalidBurnAmount();
        r.scaledTotalVariableDebt -= scaled;
        _updateRates(asset, r, repaid, 0);
    }

    /// The protocol fee of a liquidation: AToken.transferOnLiquidation from the note to the
    /// treasury, rayDivCeil(fee, liquidityIndex) scaled (TokenMath.getATokenTransferScaledAmount).
    /// The circuit moves the same scaled amount (capped at the note's balance left, in which case
    /// the public fee is rayMulFloor(left) and its rayDivCeil is `left` again). Scaled supply only
    /// changes owner: no tokens, no rates.
    function _feeToTreasury(address asset, uint256 fee) internal returns (uint256 scaled) {
        ReserveData storage r = _updateState(asset);
        scaled = ReserveMath.aTokenBurnScaled(fee, r.liquidityIndex);
        r.treasuryScaled += scaled;
    }

    /// Debt written off and not yet covered: what neither the insurance fund nor the 1-ray floor
    /// of the liquidity index could absorb (README, "Bad debt"). v3.5's `reserve.deficit`.
    mapping(address => uint256) public reserveDeficit;

    /// A deficit of `fromInsurance + socialized` (+ whatever stays in reserveDeficit) was covered.
    event DeficitCovered(address indexed asset, uint256 fromInsurance, uint256 socialized);

    /// Covers `deficit` of `asset` (debt already burnt by _burnLiquidatedDebt), in the seeds'
    /// order:
    ///  1. the insurance fund = the treasury's supply in this reserve, i.e. what the reserve
    ///     factor accrued to it (accruedToTreasury is minted first, as mintToTreasury would). It
    ///     burns rayDivCeil(deficit, index) scaled (a withdraw's rounding: at least the value
    ///     covered), or, if the fund is smaller, all of it, covering rayMulFloor(fund, index);
    ///  2. the rest is socialized: the liquidity index falls by ceil(rest * RAY / scaledTotalSupply),
    ///     the smallest drop that takes at least `rest` off scaledTotalSupply * index (every
    ///     supplier loses pro rata; rounding against the suppliers, for the pool's solvency: the
    ///     supply's value falls by `rest` or `rest + 1` wei while scaledTotalSupply < 1 ray);
    ///  3. the index never falls below 1 ray (the circuits' range for it); what that floor leaves
    ///     uncovered is added to reserveDeficit.
    /// Tokens do not move and the virtual balance stays: the debt that vanished was never cash.
    /// Rates are unchanged too (they read cash and debt only; _burnLiquidatedDebt set them).
    function _coverDeficit(address asset, uint256 deficit) internal returns (uint256 fromInsurance, uint256 socialized) {
        ReserveData storage r = _updateState(asset);
        uint256 accrued = r.accruedToTreasury;
        if (accrued != 0) {
            r.accruedToTreasury = 0;
            r.treasuryScaled += accrued;
            r.scaledTotalSupply += accrued;
            emit MintedToTreasury(asset, ReserveMath.aTokenBalance(accrued, r.liquidityIndex));
        }
        uint256 index = r.liquidityIndex;
        uint256 fund = r.treasuryScaled;
        uint256 burn = ReserveMath.aTokenBurnScaled(deficit, index);
        if (burn <= fund) {
            fromInsurance = deficit;
        } else {
            burn = fund;
            fromInsurance = ReserveMath.aTokenBalance(fund, index);
        }
        r.treasuryScaled = fund - burn;
        r.scaledTotalSupply -= burn;
        uint256 rest = deficit - fromInsurance;
        uint256 supply = r.scaledTotalSupply;
        if (rest != 0 && supply != 0) {
            uint256 drop = (rest * ReserveMath.RAY + supply - 1) / supply;
            uint256 room = index - ReserveMath.RAY;
            if (drop <= room) {
                socialized = rest;
            } else {
                drop = room;
                socialized = ReserveMath.rayMulFloor(supply, room);
            }
            r.liquidityIndex = (index - drop).toUint128();
        }
        if (rest != socialized) reserveDeficit[asset] += rest - socialized;
        emit DeficitCovered(asset, fromInsurance, socialized);
        if (socialized != 0) {
            emit ReserveDataUpdated(
                asset, r.currentLiquidityRate, r.currentVariableBorrowRate, r.liquidityIndex, r.variableBorrowIndex
            );
        }
    }

    /// PoolLogic.executeMintToTreasury :109-134: moves accruedToTreasury into the treasury's scaled
    /// balance (AToken.mintToTreasury :103-114 mints the scaled amount as is) without updating the
    /// reserve's state; the amount reported is rayMulFloor(accrued, normalized income). Anyone may
    /// call it, as anyone may call Aave's Pool.mintToTreasury.
    function mintToTreasury(address[] calldata assets) external virtual {
        for (uint256 i = 0; i < assets.length; i++) {
            ReserveData storage r = _reserve(assets[i]);
            uint256 accrued = r.accruedToTreasury;
            if (accrued == 0) continue;
            r.accruedToTreasury = 0;
            uint256 amountToMint = ReserveMath.aTokenBalance(accrued, getReserveNormalizedIncome(assets[i]));
            r.treasuryScaled += accrued;
            r.scaledTotalSupply += accrued;
            emit MintedToTreasury(assets[i], amountToMint);
        }
    }

    // --- views ---

    /// ReserveLogic.getNormalizedIncome :39-54: the liquidity index as of block.timestamp.
    function getReserveNormalizedIncome(address asset) public view returns (uint256) {
        ReserveData storage r = _reserve(asset);
        if (r.lastUpdateTimestamp == block.timestamp) return r.liquidityIndex;
        return ReserveMath.rayMul(
            ReserveMath.linearInterest(r.currentLiquidityRate, r.lastUpdateTimestamp), r.liquidityIndex
        );
    }

    /// ReserveLogic.getNormalizedDebt :63-78: the variable-borrow index as of block.timestamp. Like
    /// v3.5 it compounds the current rate even while the reserve has no debt (updateState then
    /// leaves the stored index alone).
    function getReserveNormalizedVariableDebt(address asset) public view returns (uint256) {
        ReserveData storage r = _reserve(asset);
        if (r.lastUpdateTimestamp == block.timestamp) return r.variableBorrowIndex;
        return ReserveMath.rayMul(
            ReserveMath.compoundedInterest(r.currentVariableBorrowRate, r.lastUpdateTimestamp),
            r.variableBorrowIndex
        );
    }

    /// The liquidity and variable-borrow indexes _updateState would store at block.timestamp, read
    /// without writing: the stored ones when the reserve was updated in this block, else
    /// getNormalizedIncome's (equal to what _updateIndexes stores: both leave the index alone at a
    /// zero rate) and getNormalizedDebt's while the reserve has debt. With no debt the stored
    /// borrow index is returned, as _updateIndexes :233 keeps it, where getNormalizedDebt would
    /// compound a nonzero base rate: no note then has scaled debt here, so the index multiplies 0
    /// in every position (v3.5's calculateUserAccountData reads getNormalizedDebt there,
    /// GenericLogic.sol:225, to the same effect), and the value a proof must carry does not depend
    /// on which reserve an operation updates.
    function _currentIndexes(ReserveData storage r)
        internal
        view
        returns (uint256 liquidityIndex, uint256 variableBorrowIndex)
    {
        liquidityIndex = r.liquidityIndex;
        variableBorrowIndex = r.variableBorrowIndex;
        uint40 last = r.lastUpdateTimestamp;
        if (last == uint40(block.timestamp)) return (liquidityIndex, variableBorrowIndex);
        uint256 liquidityRate = r.currentLiquidityRate;
        if (liquidityRate != 0) {
            liquidityIndex = ReserveMath.rayMul(ReserveMath.linearInterest(liquidityRate, last), liquidityIndex);
        }
        if (r.scaledTotalVariableDebt != 0) {
            variableBorrowIndex = ReserveMath.rayMul(
                ReserveMath.compoundedInterest(r.currentVariableBorrowRate, last), variableBorrowIndex
            );
        }
    }

    function getReserveData(address asset) external view returns (ReserveData memory) {
        return _reserve(asset);
    }

    function getReservesList() external view returns (address[] memory) {
        return _reservesList;
    }
}
