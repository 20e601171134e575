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

/// @title Reference private-margin pool for zkmargin liquidation proofs
/// @notice Positions are Poseidon commitments (zkmargin layout "zkmargin/lending/v1"); their
///         amounts stay off-chain. Anyone holding an opening can liquidate a position by proving,
///         with zkmargin's Liquidation(N) circuit, that its Aave v3.5 health factor is below 1.0
///         at the oracles' current prices and the pool's own risk parameters.
/// @dev Deliberately small: it shows which public inputs a protocol must check before the
///      verifier, and in what order. Collateral movement is out of scope.
contract PrivateMarginPool {
    /// BN254 scalar field: every Groth16 public input must be below it.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// The liquidation threshold on the health factor, in WAD (HF < 1.0 is liquidatable).
    uint256 public constant HF_THRESHOLD = 1e18;
    uint8 internal constant PRICE_DECIMALS = 8;

    struct Asset {
        AggregatorV3Interface oracle;
        uint8 decimals;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        uint16 protocolFee;
    }

    enum Status {
        None,
        Active,
        Liquidated
    }

    address public immutable verifier;
    /// verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[3N+2]) for this circuit size.
    bytes4 public immutable verifySelector;
    /// Verifier of zkmargin's LiquidationStep(N) circuit (5N + 9 public inputs).
    address public immutable stepVerifier;
    bytes4 public immutable stepVerifySelector;
    uint256 public immutable slots;
    uint256 public immutable maxPriceAge;
    Asset[] internal assets;
    mapping(uint256 commitment => Status) public positions;

    event PositionRegistered(uint256 indexed commitment, address indexed by);
    event PositionLiquidated(uint256 indexed commitment, address indexed liquidator);
    /// One Aave v3.5 liquidation call: the position moved from `oldCommitment` to `newCommitment`.
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

    error BadConfig();
    error AlreadyRegistered(uint256 commitment);
    error WrongSignalCount(uint256 expected, uint256 got);
    error InputNotInField(uint256 index);
    error UnknownCommitment(uint256 commitment);
    error AlreadyLiquidated(uint256 commitment);
    error BadPrice(uint256 slot);
    error StalePrice(uint256 slot, uint256 updatedAt);
    error PriceMismatch(uint256 slot, uint256 oracle, uint256 proven);
    error RiskParameterMismatch(uint256 slot);
    error ThresholdMismatch(uint256 proven);
    error InvalidProof();
    error CommitmentInUse(uint256 commitment);
    error NothingRepaid(uint256 debtToCover, uint256 debtRepaid);

    /// @param risk per asset: [decimals, liquidationThreshold, liquidationBonus, protocolFee] (bps)
    constructor(
        address verifier_,
        address stepVerifier_,
        uint256 slots_,
        uint256 maxPriceAge_,
        AggregatorV3Interface[] memory oracles,
        uint16[4][] memory risk
    ) {
        uint256 n = oracles.length;
        if (n == 0 || n > slots_ || risk.length != n) revert BadConfig();
        for (uint256 i = 0; i < n; i++) {
            if (oracles[i].decimals() != PRICE_DECIMALS || risk[i][0] > 18 || risk[i][1] > 10_000 || risk[i][3] > 10_000)
            {
                revert BadConfig();
            }
            assets.push(Asset(oracles[i], uint8(risk[i][0]), risk[i][1], risk[i][2], risk[i][3]));
        }
        verifier = verifier_;
        stepVerifier = stepVerifier_;
        slots = slots_;
        maxPriceAge = maxPriceAge_;
        verifySelector = _selector(3 * slots_ + 2);
        stepVerifySelector = _selector(5 * slots_ + 9);
    }

    /// @notice Record a position commitment. A real pool would take the deposit here.
    function register(uint256 commitment) external {
        if (commitment >= SNARK_SCALAR_FIELD) revert InputNotInField(0);
        if (positions[commitment] != Status.None) revert AlreadyRegistered(commitment);
        positions[commitment] = Status.Active;
        emit PositionRegistered(commitment, msg.sender);
    }

    /// @notice Liquidate a committed position with a proof that its HF < 1.0.
    /// @param pub public signals in circuit order: commitment, price[N], decimals[N],
    ///        liqThreshold[N], hfThreshold.
    function liquidate(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pub
    ) external {
        uint256 n = slots;
        if (pub.length != 3 * n + 2) revert WrongSignalCount(3 * n + 2, pub.length);
        // 1. Canonical field elements: an input >= r would alias another value in the circuit.
        _checkField(pub);
        // 2. The position exists and has not been liquidated (replay protection keys on the
        //    commitment, never on proof bytes: Groth16 proofs are malleable).
        uint256 commitment = pub[0];
        _requireActive(commitment);
        // 3. Prices are the oracles' current answers; risk parameters are the pool's.
        for (uint256 i = 0; i < n; i++) {
            _checkSlot(i, pub[1 + i], pub[1 + n + i], pub[1 + 2 * n + i]);
        }
        if (pub[3 * n + 1] != HF_THRESHOLD) revert ThresholdMismatch(pub[3 * n + 1]);
        // 4. Only now the pairing check.
        _verify(verifier, verifySelector, pA, pB, pC, pub);

        positions[commitment] = Status.Liquidated;
        emit PositionLiquidated(commitment, msg.sender);
    }

    /// @notice Apply one liquidation call proven with LiquidationStep(N): the old commitment is
    ///         retired and the new one (the position after the call, fresh salt) becomes active.
    /// @param pub oldCommitment, newCommitment, price[N], decimals[N], liqThreshold[N], liqBonus[N],
    ///        protocolFee[N], collateralAsset, debtAsset, debtToCover, debtRepaid,
    ///        collateralToLiquidator, protocolFeeAmount, deficit.
    /// @dev A real pool would pull `debtRepaid` from the liquidator and pay out the collateral here.
    function liquidateStep(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pub
    ) external {
        uint256 n = slots;
        if (pub.length != 5 * n + 9) revert WrongSignalCount(5 * n + 9, pub.length);
        _checkField(pub);
        uint256 o = 2 + 5 * n;   // collateralAsset, debtAsset, debtToCover, debtRepaid, ...
        // A step that repays nothing would still retire the owner's commitment for one whose salt
        // only the liquidator knows. The circuit refuses it (debtToCover >= 1, debtRepaid >= 1);
        // checked here too, in defence in depth, before any storage read or the verifier.
        if (pub[o + 2] == 0 || pub[o + 3] == 0) revert NothingRepaid(pub[o + 2], pub[o + 3]);
        uint256 oldCommitment = pub[0];
        uint256 newCommitment = pub[1];
        _requireActive(oldCommitment);
        if (positions[newCommitment] != Status.None) revert CommitmentInUse(newCommitment);
        for (uint256 i = 0; i < n; i++) {
            _checkSlot(i, pub[2 + i], pub[2 + n + i], pub[2 + 2 * n + i]);
            uint256 bonus = i < assets.length ? assets[i].liquidationBonus : 0;
            uint256 fee = i < assets.length ? assets[i].protocolFee : 0;
            if (pub[2 + 3 * n + i] != bonus || pub[2 + 4 * n + i] != fee) revert RiskParameterMismatch(i);
        }
        _verify(stepVerifier, stepVerifySelector, pA, pB, pC, pub);

        positions[oldCommitment] = Status.Liquidated;
        positions[newCommitment] = Status.Active;
        emit PositionLiquidationStep(
            oldCommitment, newCommitment, msg.sender, pub[o], pub[o + 1], pub[o + 3], pub[o + 4], pub[o + 5],
            pub[o + 6] == 1
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

    function _checkSlot(uint256 i, uint256 price, uint256 decimals, uint256 lt) internal view {
        if (i >= assets.length) {
            // padding slot: zkmargin fills unused slots with price 1, decimals 0, LT 0
            if (price != 1 || decimals != 0 || lt != 0) revert RiskParameterMismatch(i);
            return;
        }
        Asset storage a = assets[i];
        (, int256 answer,, uint256 updatedAt,) = a.oracle.latestRoundData();
        if (answer <= 0) revert BadPrice(i);
        if (updatedAt > block.timestamp || block.timestamp - updatedAt > maxPriceAge) revert StalePrice(i, updatedAt);
        if (uint256(answer) != price) revert PriceMismatch(i, uint256(answer), price);
        if (decimals != a.decimals || lt != a.liquidationThreshold) revert RiskParameterMismatch(i);
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
