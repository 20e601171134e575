// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Chainlink's feed interface (the subset the pool reads).
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

/// The subset of Aave's IPool the pool reads: each reserve's indexes in the current block (ray).
interface IReserveIndexes {
    function getReserveNormalizedIncome(address asset) external view returns (uint256);

    function getReserveNormalizedVariableDebt(address asset) external view returns (uint256);
}

/// @title Liquidation-proof verifier registry (formerly PrivateMarginPool): the reference checks of
///        zkmargin's liquidation statements, with no tokens. The token-holding private pool is
///        contracts/PrivateMarginPool.sol.
/// @notice Positions are Poseidon commitments (zkmargin layout "zkmargin/lending/v2": scaled
///         balances, collateral flags, eMode category); their contents stay off-chain. Anyone
///         holding an opening can liquidate a position by proving, with zkmargin's Liquidation(N, E)
///         circuit, that its health factor under the pool's Aave rules version is below 1.0 at the
///         oracles' current prices, the reserves' current indexes and the pool's own risk parameters
///         and eMode categories.
/// @dev Deliberately small: it shows which public inputs a protocol must check before the
///      verifier, and in what order. Collateral movement is out of scope.
contract LiquidationVerifierRegistry {
    /// BN254 scalar field: every Groth16 public input must be below it.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// The liquidation threshold on the health factor, in WAD (HF < 1.0 is liquidatable).
    uint256 public constant HF_THRESHOLD = 1e18;
    uint256 internal constant RAY = 1e27;
    uint8 internal constant PRICE_DECIMALS = 8;

    struct Asset {
        AggregatorV3Interface oracle;
        address underlying; // the reserve's asset, as IReserveIndexes names it
        uint8 decimals;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        uint16 protocolFee;
    }

    struct EModeCategory {
        uint8 id;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        uint256 collateralBitmap; // bit i = slot i
    }

    enum Status {
        None,
        Active,
        Liquidated
    }

    address public immutable verifier;
    /// verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5N+3E+3]) for this circuit size.
    bytes4 public immutable verifySelector;
    /// Verifier of zkmargin's LiquidationStep(N, E, rulesVersion) circuit (8N + 4E + 10 public inputs).
    address public immutable stepVerifier;
    bytes4 public immutable stepVerifySelector;
    uint256 public immutable slots;
    uint256 public immutable emodeSlots;
    uint256 public immutable maxPriceAge;
    /// The Aave rules the pool follows: 30500 (v3.5.0), 30600 (v3.6.0) or 30700 (v3.7).
    uint256 public immutable rulesVersion;
    IReserveIndexes public immutable indexes;
    Asset[] internal assets;
    EModeCategory[] internal emodes;
    mapping(uint256 commitment => Status) public positions;

    event PositionRegistered(uint256 indexed commitment, address indexed by);
    event PositionLiquidated(uint256 indexed commitment, address indexed liquidator);
    /// One Aave liquidation call: the position moved from `oldCommitment` to `newCommitment`.
    event PositionLiquidationStep(
        uint256 indexed oldCommitment,
        uint256 indexed newCommitment,
        address indexed liquidator,
        uint256 collateralSlot,
        uint256 debtSlot,
        uint256 debtRepaid,
        uint256 collateralToLiquidator,
        uint256 protocolFee,
        bool deficit
    );
    /// Debt written off as a reserve's deficit by a step (no collateral left).
    event DeficitBooked(uint256 indexed oldCommitment, uint256 slot, uint256 amount);

    error BadConfig();
    error AlreadyRegistered(uint256 commitment);
    error WrongSignalCount(uint256 expected, uint256 got);
    error InputNotInField(uint256 index);
    error UnknownCommitment(uint256 commitment);
    error AlreadyLiquidated(uint256 commitment);
    error BadPrice(uint256 slot);
    error StalePrice(uint256 slot, uint256 updatedAt);
    error PriceMismatch(uint256 slot, uint256 oracle, uint256 proven);
    error IndexMismatch(uint256 slot);
    error RiskParameterMismatch(uint256 slot);
    error EModeMismatch(uint256 entry);
    error RulesMismatch(uint256 proven);
    error ThresholdMismatch(uint256 proven);
    error InvalidProof();
    error CommitmentInUse(uint256 commitment);
    error NothingRepaid(uint256 debtToCover, uint256 debtRepaid);

    constructor(
        address verifier_,
        address stepVerifier_,
        uint256 slots_,
        uint256 emodeSlots_,
        uint256 maxPriceAge_,
        uint256 rulesVersion_,
        IReserveIndexes indexes_,
        Asset[] memory assets_,
        EModeCategory[] memory emodes_
    ) {
        uint256 n = assets_.length;
        if (n == 0 || n > slots_ || emodes_.length > emodeSlots_) revert BadConfig();
        if (rulesVersion_ != 30500 && rulesVersion_ != 30600 && rulesVersion_ != 30700) revert BadConfig();
        for (uint256 i = 0; i < n; i++) {
            Asset memory a = assets_[i];
            if (
                a.oracle.decimals() != PRICE_DECIMALS || a.decimals > 18 || a.liquidationThreshold > 10_000
                    || a.protocolFee > 10_000
            ) revert BadConfig();
            assets.push(a);
        }
        for (uint256 e = 0; e < emodes_.length; e++) {
            if (emodes_[e].id == 0 || emodes_[e].collateralBitmap >> n != 0) revert BadConfig();
            emodes.push(emodes_[e]);
        }
        verifier = verifier_;
        stepVerifier = stepVerifier_;
        slots = slots_;
        emodeSlots = emodeSlots_;
        maxPriceAge = maxPriceAge_;
        rulesVersion = rulesVersion_;
        indexes = indexes_;
        verifySelector = _selector(5 * slots_ + 3 * emodeSlots_ + 3);
        stepVerifySelector = _selector(8 * slots_ + 4 * emodeSlots_ + 10);
    }

    /// @notice Record a position commitment. A real pool would take the deposit here.
    function register(uint256 commitment) external {
        if (commitment >= SNARK_SCALAR_FIELD) revert InputNotInField(0);
        if (positions[commitment] != Status.None) revert AlreadyRegistered(commitment);
        positions[commitment] = Status.Active;
        emit PositionRegistered(commitment, msg.sender);
    }

    /// @notice Liquidate a committed position with a proof that its HF < 1.0.
    /// @param pub public signals in circuit order: commitment, rulesVersion, price[N],
    ///        liquidityIndex[N], borrowIndex[N], decimals[N], liqThreshold[N], emodeId[E],
    ///        emodeLiqThreshold[E], emodeCollateralBitmap[E], hfThreshold.
    function liquidate(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pub
    ) external {
        uint256 n = slots;
        uint256 e = emodeSlots;
        uint256 count = 5 * n + 3 * e + 3;
        if (pub.length != count) revert WrongSignalCount(count, pub.length);
        // 1. Canonical field elements: an input >= r would alias another value in the circuit.
        _checkField(pub);
        // 2. The position exists and has not been liquidated (replay protection keys on the
        //    commitment, never on proof bytes: Groth16 proofs are malleable).
        uint256 commitment = pub[0];
        _requireActive(commitment);
        // 3. The rules are the pool's; prices are the oracles' current answers, indexes the
        //    reserves' current ones; risk parameters and eMode categories are the pool's.
        if (pub[1] != rulesVersion) revert RulesMismatch(pub[1]);
        _checkSlots(pub, 2, false);
        _checkEModes(pub, 2 + 5 * n, false);
        if (pub[count - 1] != HF_THRESHOLD) revert ThresholdMismatch(pub[count - 1]);
        // 4. Only now the pairing check.
        _verify(verifier, verifySelector, pA, pB, pC, pub);

        positions[commitment] = Status.Liquidated;
        emit PositionLiquidated(commitment, msg.sender);
    }

    /// @notice Apply one liquidation call proven with LiquidationStep(N, E, rulesVersion): the old
    ///         commitment is retired and the new one (the position after the call, fresh salt)
    ///         becomes active.
    /// @param pub oldCommitment, newCommitment, rulesVersion, price[N], liquidityIndex[N],
    ///        borrowIndex[N], decimals[N], liqThreshold[N], liqBonus[N], protocolFee[N], emodeId[E],
    ///        emodeLiqThreshold[E], emodeLiqBonus[E], emodeCollateralBitmap[E], collateralAsset,
    ///        debtAsset, debtToCover, receiveAToken, debtRepaid, collateralToLiquidator,
    ///        protocolFeeAmount, deficit[N].
    /// @dev A real pool would pull `debtRepaid` from the liquidator and pay out the collateral here.
    function liquidateStep(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pub
    ) external {
        uint256 n = slots;
        uint256 count = 8 * n + 4 * emodeSlots + 10;
        if (pub.length != count) revert WrongSignalCount(count, pub.length);
        _checkField(pub);
        uint256 o = 3 + 7 * n + 4 * emodeSlots; // collateralAsset, debtAsset, debtToCover, receiveAToken, debtRepaid, ...
        // A step that repays nothing would still retire the owner's commitment for one whose salt
        // only the liquidator knows. The circuit refuses it (debtToCover >= 1, debtRepaid >= 1);
        // checked here too, in defence in depth, before any storage read or the verifier.
        if (pub[o + 2] == 0 || pub[o + 4] == 0) revert NothingRepaid(pub[o + 2], pub[o + 4]);
        uint256 oldCommitment = pub[0];
        uint256 newCommitment = pub[1];
        _requireActive(oldCommitment);
        if (positions[newCommitment] != Status.None) revert CommitmentInUse(newCommitment);
        if (pub[2] != rulesVersion) revert RulesMismatch(pub[2]);
        _checkSlots(pub, 3, true);
        _checkEModes(pub, 3 + 7 * n, true);
        _verify(stepVerifier, stepVerifySelector, pA, pB, pC, pub);

        positions[oldCommitment] = Status.Liquidated;
        positions[newCommitment] = Status.Active;
        bool deficit;
        for (uint256 i = 0; i < n; i++) {
            if (pub[o + 7 + i] != 0) {
                deficit = true;
                emit DeficitBooked(oldCommitment, i, pub[o + 7 + i]);
            }
        }
        emit PositionLiquidationStep(
            oldCommitment, newCommitment, msg.sender, pub[o], pub[o + 1], pub[o + 4], pub[o + 5], pub[o + 6], deficit
        );
    }

    function _checkField(uint256[] calldata pub) internal pure {
        for (uint256 i = 0; i < pub.length; i++) {
            if (pub[i] >= SNARK_SCALAR_FIELD) revert InputNotInField(i);
        }
    }

    function _requireActive(uint256 commitment) internal view {
        Status status = positions[commitment];
        if (status == Status.None) revert UnknownCommitment(commitment);
        if (status == Status.Liquidated) revert AlreadyLiquidated(commitment);
    }

    function _verify(
        address target,
        bytes4 selector,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pub
    ) internal view {
        (bool ok, bytes memory ret) = target.staticcall(abi.encodePacked(selector, abi.encode(pA, pB, pC), pub));
        if (!ok || ret.length != 32 || !abi.decode(ret, (bool))) revert InvalidProof();
    }

    function _selector(uint256 inputs) internal pure returns (bytes4) {
        return bytes4(
            keccak256(
                bytes(string.concat("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", _decimal(inputs), "])"))
            )
        );
    }

    /// The per-slot arrays starting at `at`: price, liquidityIndex, borrowIndex, decimals,
    /// liqThreshold, and with `step` also liqBonus and protocolFee.
    function _checkSlots(uint256[] calldata pub, uint256 at, bool step) internal view {
        uint256 n = slots;
        for (uint256 i = 0; i < n; i++) {
            uint256 p = at + i;
            if (i >= assets.length) {
                // padding slot: zkmargin fills unused slots with price 1, indexes 1 ray, decimals 0,
                // LT 0 (and bonus 0, fee 0)
                if (
                    pub[p] != 1 || pub[p + n] != RAY || pub[p + 2 * n] != RAY || pub[p + 3 * n] != 0
                        || pub[p + 4 * n] != 0 || (step && (pub[p + 5 * n] != 0 || pub[p + 6 * n] != 0))
                ) revert RiskParameterMismatch(i);
                continue;
            }
            Asset storage a = assets[i];
            _checkPrice(i, a, pub[p]);
            if (
                pub[p + n] != indexes.getReserveNormalizedIncome(a.underlying)
                    || pub[p + 2 * n] != indexes.getReserveNormalizedVariableDebt(a.underlying)
            ) revert IndexMismatch(i);
            if (pub[p + 3 * n] != a.decimals || pub[p + 4 * n] != a.liquidationThreshold) {
                revert RiskParameterMismatch(i);
            }
            if (step && (pub[p + 5 * n] != a.liquidationBonus || pub[p + 6 * n] != a.protocolFee)) {
                revert RiskParameterMismatch(i);
            }
        }
    }

    /// The eMode table starting at `at`: ids, LTs, (with `step`) bonuses, collateral bitmaps;
    /// entries past the pool's categories are padding (all zero).
    function _checkEModes(uint256[] calldata pub, uint256 at, bool step) internal view {
        uint256 e = emodeSlots;
        uint256 bitmapAt = at + (step ? 3 : 2) * e;
        for (uint256 k = 0; k < e; k++) {
            (uint256 id, uint256 lt, uint256 bonus, uint256 bitmap) = (0, 0, 0, 0);
            if (k < emodes.length) {
                EModeCategory storage c = emodes[k];
                (id, lt, bonus, bitmap) = (c.id, c.liquidationThreshold, c.liquidationBonus, c.collateralBitmap);
            }
            if (pub[at + k] != id || pub[at + e + k] != lt || pub[bitmapAt + k] != bitmap) revert EModeMismatch(k);
            if (step && pub[at + 2 * e + k] != bonus) revert EModeMismatch(k);
        }
    }

    function _checkPrice(uint256 i, Asset storage a, uint256 price) internal view {
        (, int256 answer,, uint256 updatedAt,) = a.oracle.latestRoundData();
        if (answer <= 0) revert BadPrice(i);
        if (updatedAt > block.timestamp || block.timestamp - updatedAt > maxPriceAge) revert StalePrice(i, updatedAt);
        if (uint256(answer) != price) revert PriceMismatch(i, uint256(answer), price);
    }

    function _decimal(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) len++;
        bytes memory s = new bytes(len);
        for (; v != 0; v /= 10) s[--len] = bytes1(uint8(48 + (v % 10)));
        return string(s);
    }
}
