// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Reserves} from "./pool/Reserves.sol";
import {PriceOracle, IChainlinkFeed} from "./pool/PriceOracle.sol";
import {NoteTree} from "./pool/NoteTree.sol";
import {KeeperKeys} from "./pool/KeeperKeys.sol";

/// snarkjs's Groth16 verifier of PoolOpen(2, 20, 2) (registry pool_open_2): 36 public inputs.
interface IPoolOpenVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[36] calldata)
        external
        view
        returns (bool);
}

/// snarkjs's Groth16 verifier of PoolTransition(2, 20, 2) (registry pool_transition_2): 46 public inputs.
interface IPoolTransitionVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[46] calldata)
        external
        view
        returns (bool);
}

/// snarkjs's Groth16 verifier of PoolLiquidation(2, 20, 2) (registry pool_liquidation_2): 50 public inputs.
interface IPoolLiquidationVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[50] calldata)
        external
        view
        returns (bool);
}

/// @title A lending pool whose positions are private notes backed by real tokens.
/// @notice Reserves are kept as Aave v3.5 keeps them (Reserves, PriceOracle); each position is a
///         note whose Poseidon commitment is a leaf of the note tree (NoteTree). Every owner
///         operation is one Groth16 proof over public inputs the pool assembles itself from its own
///         state: the reserves' indexes at block.timestamp (updateState on the reserves the
///         operation acts on, as Aave does, the others read through _currentIndexes without
///         writing), the feeds' prices, the
///         reserves' decimals, LTV and liquidation threshold, and a binding of (chain, pool, sender,
///         recipient). The pool then moves exactly the public amount of the public asset. Every
///         new note is sealed to its owner's viewing key and to the registered keeper key, and the
///         proof shows the published ciphertexts are of exactly the committed note (SealedNote).
///         An owner's proof also computes the new note's append to the tree it was made against
///         (NoteInsertion): when that is still the current tree the pool hashes nothing
///         (NoteTree._appendNote), otherwise it inserts the note on-chain.
/// @dev The circuits are registered for N = 2 reserves, in listing order (reserve id = circuit
///      slot). zkmargin/pool/model.py predicts every state change to the wei; README.md ("The private
///      margin pool") documents the API, what is private and what is not.
contract PrivateMarginPool is Reserves, PriceOracle, NoteTree, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

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

    /// A sealed note: the owner and the keeper (K = 2 recipients), each a Poseidon ciphertext of
    /// the 2N + 5 = 9-element opening (pad3(9) + 1 = 10 elements), nonce 0.
    uint256 public constant SEAL_RECIPIENTS = 2;
    uint256 internal constant SEAL_CT = 10;
    /// keeperKey[2], ephemeralPublicKey[2], ciphertext[2][10]: the public inputs after each circuit's own
    uint256 internal constant SEAL_INPUTS = 24;
    /// One Box in encryptedOpening: ephemeralKey[2], nonce, ciphertext offset, length, SEAL_CT words.
    uint256 internal constant BOX_BYTES = (5 + SEAL_CT) * 32;
    /// abi.encode(Box[SEAL_RECIPIENTS]): array offset, length, one offset per box, the boxes (1,088).
    uint256 internal constant ENCRYPTED_OPENING_BYTES = (2 + SEAL_RECIPIENTS) * 32 + SEAL_RECIPIENTS * BOX_BYTES;

    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// The new note's seal, as the proof has it: E = e Base8 and ciphertext[k * 10 + i], recipient
    /// k = 0 the owner, 1 the keeper.
    struct Seal {
        uint256[2] ephemeralKey;
        uint256[20] ciphertext;
    }

    /// One recipient's box in NoteCreated's encryptedOpening (the wallet's ABI).
    struct Box {
        uint256[2] ephemeralKey;
        uint256 nonce;
        uint256[] ciphertext;
    }

    /// One transition's public arguments (a struct: the external signatures stay flat).
    struct Spend {
        uint256 nullifier;
        uint256 newCommitment;
        address asset;
        uint256 amount;
        address recipient;
    }

    /// One liquidation's public arguments, in PoolLiquidation's order (README, "Liquidation in the pool"); assets are
    /// addresses here and reserve ids in the proof. A struct: thirteen flat arguments do not fit
    /// the stack.
    struct LiquidationCall {
        uint256 root;
        uint256 nullifier;
        uint256 newCommitment;
        address collateralAsset;
        address debtAsset;
        uint256 debtToCover;
        uint256 debtRepaid;
        uint256 collateralToLiquidator;
        uint256 protocolFee;
        uint256[2] deficit;
        address recipient;
    }

    /// The pool's three verifiers (a struct: the constructor's arguments fit the stack).
    struct Verifiers {
        IPoolOpenVerifier open;
        IPoolTransitionVerifier transition;
        IPoolLiquidationVerifier liquidation;
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
    IPoolLiquidationVerifier public immutable liquidationVerifier;
    address public immutable treasury;
    /// The keeper's Baby Jubjub public key, checked at construction (KeeperKeys.check); every
    /// note is sealed to it.
    uint256 public immutable keeperKeyX;
    uint256 public immutable keeperKeyY;

    mapping(uint256 nullifier => bool) public nullifierSpent;

    /// A note was appended: its leaf index, commitment and its opening sealed to the owner's
    /// viewing key and the keeper: abi.encode(Box[]), owner first, built here from the proven seal.
    event NoteCreated(uint256 indexed leafIndex, uint256 commitment, bytes encryptedOpening);
    event NullifierSpent(uint256 indexed nullifier);
    /// open and deposit (tokens from `from`), with the scaled amount credited to the new note.
    event Supply(address indexed asset, address indexed from, uint256 amount, uint256 scaledAmount);
    event Withdraw(address indexed asset, address indexed to, uint256 amount, uint256 scaledAmount);
    event Borrow(address indexed asset, address indexed to, uint256 amount, uint256 scaledAmount);
    event Repay(address indexed asset, address indexed from, uint256 amount, uint256 scaledAmount);
    /// A note was liquidated by `liquidator`: it paid `debtRepaid` of debtAsset and its recipient
    /// received `collateralToLiquidator` of collateralAsset; `protocolFee` of it went to the
    /// treasury's supply. Deficits follow as DeficitCovered, one per reserve written off.
    event Liquidation(
        address indexed collateralAsset,
        address indexed debtAsset,
        uint256 debtRepaid,
        uint256 collateralToLiquidator,
        uint256 protocolFee,
        address indexed liquidator
    );
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
        Verifiers memory verifiers,
        uint256[2] memory keeperKey_
    ) {
        IPoolOpenVerifier openVerifier_ = verifiers.open;
        IPoolTransitionVerifier transitionVerifier_ = verifiers.transition;
        IPoolLiquidationVerifier liquidationVerifier_ = verifiers.liquidation;
        if (listings.length != N_RESERVES) revert WrongReserveCount(N_RESERVES, listings.length);
        if (treasury_ == address(0) || address(openVerifier_) == address(0) || address(transitionVerifier_) == address(0)
                || address(liquidationVerifier_) == address(0)
        ) {
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
        liquidationVerifier = liquidationVerifier_;
        KeeperKeys.check(keeperKey_[0], keeperKey_[1]);
        keeperKeyX = keeperKey_[0];
        keeperKeyY = keeperKey_[1];
    }

    // --- owner operations ---

    /// A first deposit into a new note: `amount` of `asset` from msg.sender, the note appended as
    /// `tree` says when `tree` is the current tree. The proof binds (chain, pool, msg.sender, address(0)).
    function open(
        address asset,
        uint256 amount,
        uint256 newCommitment,
        Insertion calldata tree,
        Proof calldata proof,
        Seal calldata seal
    ) external nonReentrant returns (uint256 leafIndex) {
        _checkAmount(amount);
        if (newCommitment >= SNARK_SCALAR_FIELD) revert NotInField(newCommitment);
        // SupplyLogic.executeSupply :50: the supplied reserve only
        uint256 id = _updateState(asset).id;
        // PoolOpen(N, 20, K): newCommitment, asset, amount, binding, liquidityIndex[N], ltv[N], root,
        // treeSize, newRoot, newNode, then the seal
        uint256[36] memory pub;
        pub[0] = newCommitment;
        pub[1] = id;
        pub[2] = amount;
        pub[3] = _binding(address(0));
        for (uint256 i = 0; i < N_RESERVES; i++) {
            ReserveData storage r = _reserves[_reservesList[i]];
            (pub[4 + i],) = _currentIndexes(r);
            pub[6 + i] = r.risk.ltv;
        }
        (pub[8], pub[9], pub[10], pub[11]) = (tree.root, tree.size, tree.newRoot, tree.newNode);
        uint256[SEAL_INPUTS] memory sealPub = _sealInputs(seal);
        for (uint256 i = 0; i < SEAL_INPUTS; i++) {
            pub[12 + i] = sealPub[i];
        }
        if (!openVerifier.verifyProof(proof.a, proof.b, proof.c, pub)) revert InvalidProof();
        leafIndex = _appendNote(newCommitment, tree);
        emit NoteCreated(leafIndex, newCommitment, _encryptedOpening(seal));
        uint256 scaled = _supply(asset, msg.sender, amount);
        emit Supply(asset, msg.sender, amount, scaled);
    }

    /// Supplies `amount` of `asset` from msg.sender to the note whose nullifier is spent; the
    /// proof binds (chain, pool, msg.sender, address(0)).
    function deposit(
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        Insertion calldata tree,
        Proof calldata proof,
        Seal calldata seal
    ) external nonReentrant returns (uint256 leafIndex) {
        leafIndex = _spend(OP_DEPOSIT, Spend(nullifier, newCommitment, asset, amount, address(0)), tree, proof, seal);
        uint256 scaled = _supply(asset, msg.sender, amount);
        emit Supply(asset, msg.sender, amount, scaled);
    }

    /// Withdraws `amount` of `asset` from a note's collateral to `recipient`.
    function withdraw(
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        address recipient,
        Insertion calldata tree,
        Proof calldata proof,
        Seal calldata seal
    ) external nonReentrant returns (uint256 leafIndex) {
        leafIndex = _spend(OP_WITHDRAW, Spend(nullifier, newCommitment, asset, amount, recipient), tree, proof, seal);
        uint256 scaled = _withdraw(asset, recipient, amount);
        emit Withdraw(asset, recipient, amount, scaled);
    }

    /// Borrows `amount` of `asset` against a note, paid to `recipient`; the sequencer must be up
    /// (PriceOracleSentinel, as ValidationLogic.validateBorrow :160-164 asks).
    function borrow(
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        address recipient,
        Insertion calldata tree,
        Proof calldata proof,
        Seal calldata seal
    ) external nonReentrant returns (uint256 leafIndex) {
        _requireBorrowAllowed();
        leafIndex = _spend(OP_BORROW, Spend(nullifier, newCommitment, asset, amount, recipient), tree, proof, seal);
        uint256 scaled = _borrow(asset, recipient, amount);
        emit Borrow(asset, recipient, amount, scaled);
    }

    /// Repays `amount` of a note's `asset` debt with tokens from msg.sender; the proof binds
    /// (chain, pool, msg.sender, address(0)).
    function repay(
        uint256 nullifier,
        uint256 newCommitment,
        address asset,
        uint256 amount,
        Insertion calldata tree,
        Proof calldata proof,
        Seal calldata seal
    ) external nonReentrant returns (uint256 leafIndex) {
        leafIndex = _spend(OP_REPAY, Spend(nullifier, newCommitment, asset, amount, address(0)), tree, proof, seal);
        uint256 scaled = _repay(asset, msg.sender, amount);
        emit Repay(asset, msg.sender, amount, scaled);
    }

    /// Liquidates a note with a PoolLiquidation proof (README, "Liquidation in the pool"): msg.sender is the
    /// liquidator and pays `debtRepaid` of debtAsset; `recipient` receives
    /// `collateralToLiquidator` of collateralAsset; `protocolFee` of it becomes the treasury's
    /// supply; each `deficit[i]` is written off reserve i and covered (Reserves._coverDeficit:
    /// insurance fund, then socialization). The sequencer must be up: the proof shows HF < 1, not
    /// HF < 0.95, so the sentinel's exemption cannot apply. The proof binds (chain, pool,
    /// msg.sender, recipient): a copy sent by another address fails the verifier.
    function liquidate(LiquidationCall calldata l, Proof calldata proof, Seal calldata seal)
        external
        nonReentrant
        returns (uint256 leafIndex)
    {
        _requireLiquidationAllowed(1e18);
        _checkAmount(l.debtToCover);
        _checkAmount(l.debtRepaid);
        _checkAmount(l.collateralToLiquidator);
        _checkAmount(l.protocolFee);
        for (uint256 i = 0; i < N_RESERVES; i++) {
            _checkAmount(l.deficit[i]);
        }
        if (l.newCommitment >= SNARK_SCALAR_FIELD) revert NotInField(l.newCommitment);
        if (l.nullifier >= SNARK_SCALAR_FIELD) revert NotInField(l.nullifier);
        if (!isKnownRoot(l.root)) revert UnknownRoot(l.root);
        if (nullifierSpent[l.nullifier]) revert NullifierAlreadySpent(l.nullifier);
        // LiquidationLogic.executeLiquidationCall :181-182: the debt reserve, then the collateral
        // reserve; a reserve written off besides is updated as _burnBadDebt (:687) does, when its
        // debt is burnt (it has debt, so _currentIndexes read now what that update stores)
        _updateState(l.debtAsset);
        _updateState(l.collateralAsset);
        if (!liquidationVerifier.verifyProof(proof.a, proof.b, proof.c, _liquidationInputs(l, seal))) {
            revert InvalidProof();
        }
        nullifierSpent[l.nullifier] = true;
        emit NullifierSpent(l.nullifier);
        leafIndex = _insertNote(l.newCommitment);
        emit NoteCreated(leafIndex, l.newCommitment, _encryptedOpening(seal));
        _settleLiquidation(l);
    }

    /// The tokens and reserves of a verified liquidation, in v3.5's order (executeLiquidationCall
    /// :369-431): the debt reserve's burn (the whole debt when written off) and rates with the
    /// repayment; the liquidator's collateral (a withdraw: rayDivCeil burnt, rates, transfer);
    /// the fee to the treasury's supply; every other written-off reserve's burn (_burnBadDebt);
    /// each deficit covered; the repayment pulled from the liquidator.
    function _settleLiquidation(LiquidationCall calldata l) internal {
        uint256 d = _reserve(l.debtAsset).id;
        _burnLiquidatedDebt(l.debtAsset, l.debtRepaid, l.deficit[d]);
        _withdraw(l.collateralAsset, l.recipient, l.collateralToLiquidator);
        if (l.protocolFee != 0) _feeToTreasury(l.collateralAsset, l.protocolFee);
        for (uint256 i = 0; i < N_RESERVES; i++) {
            if (i != d && l.deficit[i] != 0) _burnLiquidatedDebt(_reservesList[i], 0, l.deficit[i]);
        }
        for (uint256 i = 0; i < N_RESERVES; i++) {
            if (l.deficit[i] != 0) _coverDeficit(_reservesList[i], l.deficit[i]);
        }
        IERC20(l.debtAsset).safeTransferFrom(msg.sender, address(this), l.debtRepaid);
        emit Liquidation(
            l.collateralAsset, l.debtAsset, l.debtRepaid, l.collateralToLiquidator, l.protocolFee, msg.sender
        );
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
    /// root (tree.root: the membership root and the tree the new note is appended to), the
    /// nullifier (then marked), the proof over the pool's own state, the new note.
    /// The caller then moves the tokens through Reserves, whose scaled amount is the one the
    /// circuit applied (same TokenMath rounding on the same index: see the README, "Solvency, to the wei").
    function _spend(uint8 op, Spend memory s, Insertion calldata tree, Proof calldata proof, Seal calldata seal)
        internal
        returns (uint256 leafIndex)
    {
        _checkAmount(s.amount);
        if (s.newCommitment >= SNARK_SCALAR_FIELD) revert NotInField(s.newCommitment);
        if (s.nullifier >= SNARK_SCALAR_FIELD) revert NotInField(s.nullifier);
        if (!isKnownRoot(tree.root)) revert UnknownRoot(tree.root);
        if (nullifierSpent[s.nullifier]) revert NullifierAlreadySpent(s.nullifier);
        // SupplyLogic.executeSupply :50, executeWithdraw :121, BorrowLogic.executeBorrow :53,
        // executeRepay :151: updateState on the reserve acted on only
        _updateState(s.asset);
        uint256[46] memory pub = _transitionInputs(op, s, tree, seal);
        if (!transitionVerifier.verifyProof(proof.a, proof.b, proof.c, pub)) revert InvalidProof();
        nullifierSpent[s.nullifier] = true;
        emit NullifierSpent(s.nullifier);
        leafIndex = _appendNote(s.newCommitment, tree);
        emit NoteCreated(leafIndex, s.newCommitment, _encryptedOpening(seal));
    }

    /// PoolTransition(N, 20, K): root, nullifier, newCommitment, op, asset, amount, binding,
    /// price[N], liquidityIndex[N], borrowIndex[N], decimals[N], ltv[N], liqThreshold[N],
    /// treeSize, newRoot, newNode, the seal.
    function _transitionInputs(uint8 op, Spend memory s, Insertion calldata tree, Seal calldata seal)
        internal
        view
        returns (uint256[46] memory pub)
    {
        pub[0] = tree.root;
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
            (pub[9 + i], pub[11 + i]) = _currentIndexes(r);
            pub[13 + i] = r.decimals;
            RiskParameters storage risk = r.risk;
            pub[15 + i] = risk.ltv;
            pub[17 + i] = risk.liquidationThreshold;
        }
        (pub[19], pub[20], pub[21]) = (tree.size, tree.newRoot, tree.newNode);
        uint256[SEAL_INPUTS] memory sealPub = _sealInputs(seal);
        for (uint256 i = 0; i < SEAL_INPUTS; i++) {
            pub[22 + i] = sealPub[i];
        }
    }

    /// PoolLiquidation(N, 20): root, nullifier, newCommitment, collateralAsset, debtAsset,
    /// debtToCover, debtRepaid, collateralToLiquidator, protocolFee, deficit[N], binding,
    /// price[N], liquidityIndex[N], borrowIndex[N], decimals[N], liqThreshold[N],
    /// liquidationBonus[N], liquidationProtocolFee[N], the seal.
    function _liquidationInputs(LiquidationCall calldata l, Seal calldata seal)
        internal
        view
        returns (uint256[50] memory pub)
    {
        pub[0] = l.root;
        pub[1] = l.nullifier;
        pub[2] = l.newCommitment;
        pub[3] = _reserve(l.collateralAsset).id;
        pub[4] = _reserve(l.debtAsset).id;
        pub[5] = l.debtToCover;
        pub[6] = l.debtRepaid;
        pub[7] = l.collateralToLiquidator;
        pub[8] = l.protocolFee;
        pub[9] = l.deficit[0];
        pub[10] = l.deficit[1];
        pub[11] = _binding(l.recipient);
        for (uint256 i = 0; i < N_RESERVES; i++) {
            address a = _reservesList[i];
            ReserveData storage r = _reserves[a];
            pub[12 + i] = getAssetPrice(a);
            (pub[14 + i], pub[16 + i]) = _currentIndexes(r);
            pub[18 + i] = r.decimals;
            RiskParameters storage risk = r.risk;
            pub[20 + i] = risk.liquidationThreshold;
            pub[22 + i] = risk.liquidationBonus;
            pub[24 + i] = risk.liquidationProtocolFee;
        }
        uint256[SEAL_INPUTS] memory sealPub = _sealInputs(seal);
        for (uint256 i = 0; i < SEAL_INPUTS; i++) {
            pub[26 + i] = sealPub[i];
        }
    }

    /// The seal's public inputs, in the circuits' order: keeperKey[1][2] (the pool's own key, so a
    /// note sealed to any other key fails the verifier), ephemeralPublicKey[2], ciphertext[2][10].
    function _sealInputs(Seal calldata seal) internal view returns (uint256[SEAL_INPUTS] memory pub) {
        pub[0] = keeperKeyX;
        pub[1] = keeperKeyY;
        pub[2] = seal.ephemeralKey[0];
        pub[3] = seal.ephemeralKey[1];
        for (uint256 i = 0; i < SEAL_RECIPIENTS * SEAL_CT; i++) {
            pub[4 + i] = seal.ciphertext[i];
        }
    }

    /// NoteCreated's encryptedOpening: abi.encode(Box[]) of one Box per recipient, owner first,
    /// nonce 0, written word by word (the same 1,088 bytes as abi.encode over memory structs, which
    /// costs several thousand gas more; tests/test_pool_contract.py compares the bytes with the
    /// canonical ABI encoding). Layout: offset of the array (0x20), its length, each box's offset
    /// from the array's contents (32 * length + k * BOX_BYTES), then each box: ephemeralKey[2],
    /// nonce, offset of its ciphertext (0x80), the ciphertext's length (10) and its 10 elements.
    function _encryptedOpening(Seal calldata seal) internal pure returns (bytes memory out) {
        out = new bytes(ENCRYPTED_OPENING_BYTES); // zeroed: every nonce is 0
        (uint256 e0, uint256 e1) = (seal.ephemeralKey[0], seal.ephemeralKey[1]);
        (uint256 boxes, uint256 boxBytes, uint256 ctLength) = (SEAL_RECIPIENTS, BOX_BYTES, SEAL_CT);
        assembly ("memory-safe") {
            let p := add(out, 0x20)
            mstore(p, 0x20)
            mstore(add(p, 0x20), boxes)
            let first := mul(boxes, 0x20) // the boxes follow their offsets
            let ct := add(seal, 0x40) // Seal's ciphertext follows ephemeralKey[2] in calldata
            let ctBytes := mul(ctLength, 0x20)
            for { let k := 0 } lt(k, boxes) { k := add(k, 1) } {
                mstore(add(p, add(0x40, mul(k, 0x20))), add(first, mul(k, boxBytes)))
                let box := add(add(p, add(0x40, first)), mul(k, boxBytes))
                mstore(box, e0)
                mstore(add(box, 0x20), e1)
                mstore(add(box, 0x60), 0x80)
                mstore(add(box, 0x80), ctLength)
                calldatacopy(add(box, 0xa0), add(ct, mul(k, ctBytes)), ctBytes)
            }
        }
    }

    function _binding(address recipient) internal view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), msg.sender, recipient))) >> 8;
    }

    function _checkAmount(uint256 amount) internal pure {
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount, MAX_AMOUNT);
    }
}
