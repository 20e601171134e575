// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Reserves} from "./pool/Reserves.sol";
import {PriceOracle, IChainlinkFeed} from "./pool/PriceOracle.sol";
import {NoteTree} from "./pool/NoteTree.sol";

/// snarkjs's Groth16 verifier of PoolOpen(2) (registry pool_open_2): 8 public inputs.
interface IPoolOpenVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[8] calldata)
        external
        view
        returns (bool);
}

/// snarkjs's Groth16 verifier of PoolTransition(2, 20) (registry pool_transition_2): 19 public inputs.
interface IPoolTransitionVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[19] calldata)
        external
        view
        returns (bool);
}

/// @title A lending pool whose positions are private notes backed by real tokens.
/// @notice Reserves are kept as Aave v3.5 keeps them (Reserves, PriceOracle); each position is a
///         note whose Poseidon commitment is a leaf of the note tree (NoteTree). Every owner
///         operation is one Groth16 proof over public inputs the pool assembles itself from its own
///         state: the reserves' indexes after updateState at block.timestamp, the feeds' prices, the
///         reserves' decimals, LTV and liquidation threshold, and a binding of (chain, pool, sender,
///         recipient). The pool then moves exactly the public amount of the public asset.
/// @dev The circuits are registered for N = 2 reserves, in listing order (reserve id = circuit
///      slot). zkmargin/pool/model.py predicts every state change to the wei; README.md ("The private
///      margin pool") documents the API, what is private and what is not.
contract PrivateMarginPool is Reserves, PriceOracle, NoteTree, ReentrancyGuard {
    /// The circuits' reserve count (pool_open_2, pool_transition_2).
    uint256 public constant N_RESERVES = 2;
    /// Amounts are range checked to 128 bits in the circuits (AMOUNT_BITS).
    uint256 public constant MAX_AMOUNT = 2 ** 128 - 1;
    /// BN254 scalar field: a public input >= r would alias another value in the circuit.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// PoolTransition's `op` public input.
    uint8 internal constant OP_DEPOSIT = 0;
    uint8 internal constant OP_WITHDRAW = 1;
    uint8 internal constant OP_BORROW = 2;
    uint8 internal constant OP_REPAY = 3;

    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// One transition's public arguments (a struct: the external signatures stay flat).
    struct Spend {
        uint256 root;
        uint256 nullifier;
        uint256 newCommitment;
        address asset;
        uint256 amount;
        address recipient;
    }

    /// One reserve as the constructor lists it.
    struct Listing {
        address asset;
        RiskParameters risk;
        InterestRateData rates;
        IChainlinkFeed feed;
        uint32 maxAge;
    }

    IPoolOpenVerifier public immutable openVerifier;
    IPoolTransitionVerifier public immutable transitionVerifier;
    address public immutable treasury;

    mapping(uint256 nullifier => bool) public nullifierSpent;

    /// A note was appended: its leaf index, commitment and the opening encrypted by its owner's
    /// wallet to its own viewing key (opaque here; not verified on-chain).
    event NoteCreated(uint256 indexed leafIndex, uint256 commitment, bytes encryptedOpening);
    event NullifierSpent(uint256 indexed nullifier);
    /// open and deposit (tokens from `from`), with the scaled amount credited to the new note.
    event Supply(address indexed asset, address indexed from, uint256 amount, uint256 scaledAmount);
    event Withdraw(address indexed asset, address indexed to, uint256 amount, uint256 scaledAmount);
    event Borrow(address indexed asset, address indexed to, uint256 amount, uint256 scaledAmount);
    event Repay(address indexed asset, address indexed from, uint256 amount, uint256 scaledAmount);
    event TreasuryWithdrawal(address indexed asset, address indexed to, uint256 amount, uint256 scaledAmount);

    error WrongReserveCount(uint256 expected, uint256 got);
    error ZeroAddress();
    error UnknownRoot(uint256 root);
    error NullifierAlreadySpent(uint256 nullifier);
    error InvalidProof();
    /// `amount` past the circuits' 128-bit width (they would refuse it; refused here first).
    error AmountTooLarge(uint256 amount, uint256 max);
    error NotInField(uint256 value);
    error NotTreasury(address caller);

    constructor(
        Listing[] memory listings,
        address treasury_,
        IChainlinkFeed sequencerFeed,
        uint256 gracePeriod,
        IPoolOpenVerifier openVerifier_,
        IPoolTransitionVerifier transitionVerifier_
    ) {
        if (listings.length != N_RESERVES) revert WrongReserveCount(N_RESERVES, listings.length);
        if (treasury_ == address(0) || address(openVerifier_) == address(0) || address(transitionVerifier_) == address(0))
        {
            revert ZeroAddress();
        }
        for (uint256 i = 0; i < listings.length; i++) {
            _listReserve(listings[i].asset, listings[i].risk, listings[i].rates);
            _setPriceFeed(listings[i].asset, listings[i].feed, listings[i].maxAge);
        }
        if (address(sequencerFeed) != address(0)) _setSequencerFeed(sequencerFeed, gracePeriod);
        treasury = treasury_;
        openVerifier = openVerifier_;
        transitionVerifier = transitionVerifier_;
    }

    // --- owner operations ---

    /// A first deposit into a new note: `amount` of `asset` from msg.sender. The proof binds
    /// (chain, pool, msg.sender, address(0)).
    function open(
        address asset,
        uint256 amount,
        uint256 newCommitment,
        Proof calldata proof,
        bytes calldata encryptedOpening
    ) external nonReentrant returns (uint256 leafIndex) {
        _checkAmount(amount);
        if (newCommitment >= SNARK_SCALAR_FIELD) revert NotInField(newCommitment);
        uint256 id = _reserve(asset).id;
        _updateAll();
        // PoolOpen(N): newCommitment, asset, amount, binding, liquidityIndex[N], ltv[N]
        uint256[8] memory pub;
        pub[0] = newCommitment;
        pub[1] = id;
        pub[2] = amount;
        pub[3] = _binding(address(0));
        for (uint256 i = 0; i < N_RESERVES; i++) {
            ReserveData storage r = _reserves[_reservesList[i]];
            pub[4 + i] = r.liquidityIndex;
            pub[6 + i] = r.risk.ltv;
        }
        if (!openVerifier.verifyProof(proof.a, proof.b, proof.c, pub)) revert InvalidProof();
        leafIndex = _insertNote(newCommitment);
        emit NoteCreated(leafIndex, newCommitment, encryptedOpening);
        uint256 scaled = _supply(asset, msg.sender, amount);
        emit Supply(asset, msg.sender, amount, scaled);
    }

    /// Supplies `amount` of `asset` from msg.sender to the note whose nullifier is spent; the
    /// proof binds (chain, pool, msg.sender, address(0)).
    function deposit(
        uint256 root,
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        Proof calldata proof,
        bytes calldata encryptedOpening
    ) external nonReentrant returns (uint256 leafIndex) {
        leafIndex = _spend(OP_DEPOSIT, Spend(root, nullifier, newCommitment, asset, amount, address(0)), proof, encryptedOpening);
        uint256 scaled = _supply(asset, msg.sender, amount);
        emit Supply(asset, msg.sender, amount, scaled);
    }

    /// Withdraws `amount` of `asset` from a note's collateral to `recipient`.
    function withdraw(
        uint256 root,
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        address recipient,
        Proof calldata proof,
        bytes calldata encryptedOpening
    ) external nonReentrant returns (uint256 leafIndex) {
        leafIndex = _spend(OP_WITHDRAW, Spend(root, nullifier, newCommitment, asset, amount, recipient), proof, encryptedOpening);
        uint256 scaled = _withdraw(asset, recipient, amount);
        emit Withdraw(asset, recipient, amount, scaled);
    }

    /// Borrows `amount` of `asset` against a note, paid to `recipient`; the sequencer must be up
    /// (PriceOracleSentinel, as ValidationLogic.validateBorrow :160-164 asks).
    function borrow(
        uint256 root,
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        address recipient,
        Proof calldata proof,
        bytes calldata encryptedOpening
    ) external nonReentrant returns (uint256 leafIndex) {
        _requireBorrowAllowed();
        leafIndex = _spend(OP_BORROW, Spend(root, nullifier, newCommitment, asset, amount, recipient), proof, encryptedOpening);
        uint256 scaled = _borrow(asset, recipient, amount);
        emit Borrow(asset, recipient, amount, scaled);
    }

    /// Repays `amount` of a note's `asset` debt with tokens from msg.sender; the proof binds
    /// (chain, pool, msg.sender, address(0)).
    function repay(
        uint256 root,
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        Proof calldata proof,
        bytes calldata encryptedOpening
    ) external nonReentrant returns (uint256 leafIndex) {
        leafIndex = _spend(OP_REPAY, Spend(root, nullifier, newCommitment, asset, amount, address(0)), proof, encryptedOpening);
        uint256 scaled = _repay(asset, msg.sender, amount);
        emit Repay(asset, msg.sender, amount, scaled);
    }

    /// The treasury takes out what the reserve factor accrued to it (after mintToTreasury).
    function withdrawTreasury(address asset, uint256 amount, address to) external nonReentrant {
        if (msg.sender != treasury) revert NotTreasury(msg.sender);
        uint256 scaled = _withdrawTreasury(asset, to, amount);
        emit TreasuryWithdrawal(asset, to, amount, scaled);
    }

    // --- views ---

    /// The binding a proof for this pool must carry when `sender` submits it for `recipient`
    /// (address(0) for open, deposit and repay).
    function bindingOf(address sender, address recipient) external view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), sender, recipient))) >> 8;
    }

    // --- internals ---

    /// Everything a transition's proof must be checked against, in this order: widths, the
    /// root, the nullifier (then marked), the proof over the pool's own state, the new note.
    /// The caller then moves the tokens through Reserves, whose scaled amount is the one the
    /// circuit applied (same TokenMath rounding on the same index: see the README, "Solvency, to the wei").
    function _spend(uint8 op, Spend memory s, Proof calldata proof, bytes calldata encryptedOpening)
        internal
        returns (uint256 leafIndex)
    {
        _checkAmount(s.amount);
        if (s.newCommitment >= SNARK_SCALAR_FIELD) revert NotInField(s.newCommitment);
        if (s.nullifier >= SNARK_SCALAR_FIELD) revert NotInField(s.nullifier);
        if (!isKnownRoot(s.root)) revert UnknownRoot(s.root);
        if (nullifierSpent[s.nullifier]) revert NullifierAlreadySpent(s.nullifier);
        _updateAll();
        uint256[19] memory pub = _transitionInputs(op, s);
        if (!transitionVerifier.verifyProof(proof.a, proof.b, proof.c, pub)) revert InvalidProof();
        nullifierSpent[s.nullifier] = true;
        emit NullifierSpent(s.nullifier);
        leafIndex = _insertNote(s.newCommitment);
        emit NoteCreated(leafIndex, s.newCommitment, encryptedOpening);
    }

    /// PoolTransition(N, 20): root, nullifier, newCommitment, op, asset, amount, binding,
    /// price[N], liquidityIndex[N], borrowIndex[N], decimals[N], ltv[N], liqThreshold[N].
    function _transitionInputs(uint8 op, Spend memory s) internal view returns (uint256[19] memory pub) {
        pub[0] = s.root;
        pub[1] = s.nullifier;
        pub[2] = s.newCommitment;
        pub[3] = op;
        pub[4] = _reserve(s.asset).id;
        pub[5] = s.amount;
        pub[6] = _binding(s.recipient);
        for (uint256 i = 0; i < N_RESERVES; i++) {
            address a = _reservesList[i];
            ReserveData storage r = _reserves[a];
            pub[7 + i] = getAssetPrice(a);
            pub[9 + i] = r.liquidityIndex;
            pub[11 + i] = r.variableBorrowIndex;
            pub[13 + i] = r.decimals;
            pub[15 + i] = r.risk.ltv;
            pub[17 + i] = r.risk.liquidationThreshold;
        }
    }

    /// ReserveLogic.updateState on every reserve, so that every index a proof uses is the one
    /// stored at block.timestamp (Aave updates only the acting reserve and reads the others
    /// through getNormalizedIncome/getNormalizedDebt; with no debt and a base rate above zero the
    /// debt view and the stored index differ, so the pool makes them one).
    function _updateAll() internal {
        for (uint256 i = 0; i < N_RESERVES; i++) {
            _updateState(_reservesList[i]);
        }
    }

    function _binding(address recipient) internal view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), msg.sender, recipient))) >> 8;
    }

    function _checkAmount(uint256 amount) internal pure {
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount, MAX_AMOUNT);
    }
}
