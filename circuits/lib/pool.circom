pragma circom 2.1.6;

// The private margin pool's notes and owner operations (zkmargin/pool/: note.py, tree.py and
// transition.py are the model, line for line).
//
// A note of a pool with N reserves: scaledCollateral[N], scaledDebt[N] (Aave scaled balances,
// each < 2^128), collateralFlags (< 2^N), ownerTag = Poseidon(DOMAIN_OWNER, sk), salt, and the
// owner's viewing public key V (note_seal.circom: every new note is sealed to V and the keepers).
//   commitment = Poseidon(DOMAIN_NOTE, ownerTag, salt, collateralFlags, scaledCollateral..., scaledDebt..., Vx, Vy)
//   nullifier  = Poseidon(DOMAIN_NULLIFIER, commitment, salt)
// Notes are leaves of a zk-kit LeanIMT (Poseidon(2)); membership is BinaryMerkleRoot(MAX_DEPTH).
//
// The operations follow aave-v3-origin v3.5.0 (6138e1f), paths under src/contracts/protocol/:
//   deposit   SupplyLogic.executeSupply :41-95: scaled += rayDivFloor(amount, liquidityIndex)
//             (TokenMath.getATokenMintScaledAmount, libraries/helpers/TokenMath.sol :24-29), != 0
//             (ValidationLogic.validateSupply :71); on the first supply (scaled balance 0 before,
//             ScaledBalanceTokenBase._mintScaled returns scaledBalance == 0) the collateral flag is
//             set when validateUseAsCollateral holds (:573-588: LTV != 0; the pool has no isolation)
//   withdraw  SupplyLogic.executeWithdraw :109-179: scaled -= rayDivCeil(amount, liquidityIndex)
//             (getATokenBurnScaledAmount :38-43), != 0 and <= the scaled balance (validateWithdraw
//             :103-104); the flag is cleared when the balance reaches 0; if the flag was on and the
//             user borrows anything, validateHFAndLtvzero (:461-485): HF >= 1 and no counted
//             collateral with LTV 0 unless the withdrawn reserve's LTV is 0
//   borrow    BorrowLogic.executeBorrow :43-129: debt += rayDivCeil(amount, variableBorrowIndex)
//             (getVTokenMintScaledAmount :80-85), != 0 (validateBorrow :141); then validateHFAndLtv
//             (:409-447): avg LTV != 0, HF >= 1, TC >= percentDivCeil(TD, avgLtv)
//   repay     BorrowLogic.executeRepay :142-247: debt -= rayDivFloor(amount, variableBorrowIndex)
//             (getVTokenBurnScaledAmount :94-99), != 0 (ScaledBalanceTokenBase._burnScaled :112); the
//             amount may not exceed the debt rayMulCeil(scaled, index) (Aave caps it at the debt,
//             :174-176; the pool moves exactly the public amount, so it refuses instead)
// Account data (HF, TC, avg LTV) as GenericLogic.calculateUserAccountData v3.5.0 :67-181 with no
// eMode: the AssetParams / AssetValuation / SlotAccount / HealthFactorCompare templates of the
// lending circuits, isV35 = 1.

include "liquidation_step.circom";
include "binary-merkle-root.circom";
include "note_seal.circom";

// int.from_bytes(b"zkmargin/pool/owner/v1", "big") and its sibling (zkmargin/pool/note.py;
// DOMAIN_NOTE is note_seal.circom's)
function DOMAIN_OWNER() { return 45802624265445460430631783041703465017111613214258737; }
function DOMAIN_NULLIFIER() { return 196720773291064275421225584782283786066462281437659874880091697; }
function WAD() { return 1000000000000000000; }

// The public input `op` of PoolTransition.
function OP_DEPOSIT() { return 0; }
function OP_WITHDRAW() { return 1; }
function OP_BORROW() { return 2; }
function OP_REPAY() { return 3; }

// Poseidon(DOMAIN_OWNER, sk): computing it in-circuit is the proof of knowledge of sk.
template OwnerTag() {
    signal input sk;
    signal output out;
    component h = Poseidon(2);
    h.inputs[0] <== DOMAIN_OWNER();
    h.inputs[1] <== sk;
    out <== h.out;
}

// Poseidon(DOMAIN_NULLIFIER, commitment, salt): one per note (the salt makes equal contents differ).
template NoteNullifier() {
    signal input commitment;
    signal input salt;
    signal output out;
    component h = Poseidon(3);
    h.inputs[0] <== DOMAIN_NULLIFIER();
    h.inputs[1] <== commitment;
    h.inputs[2] <== salt;
    out <== h.out;
}

// The LeanIMT root over `leaf` from a compressed membership proof (zkmargin/pool/tree.py):
// `length` siblings used, bit k of `index` = 1 when the k-th is on the left.
// BinaryMerkleRoot takes its `indices` as MultiMux1 selectors without checking them: a selector
// that is not a bit outputs a point on the line through (node, sibling) of the prover's choice,
// which forges membership. So the bits come from Num2Bits(index) (as Semaphore does). A length
// above MAX_DEPTH would make the root 0 (no IsEqual matches), which no pool accepts; it is
// refused here too so the input has one meaning.
template NoteMembership(MAX_DEPTH) {
    assert(MAX_DEPTH >= 1 && MAX_DEPTH < 32);
    signal input leaf;
    signal input length;
    signal input index;
    signal input siblings[MAX_DEPTH];
    signal output root;

    component bits = Num2Bits(MAX_DEPTH);   // canonical path bits
    bits.in <== index;
    component lenRange = RangeCheck(5);     // precondition of the comparator
    lenRange.in <== length;
    component lenMax = LessEqThan(5);       // length <= MAX_DEPTH
    lenMax.in[0] <== length;
    lenMax.in[1] <== MAX_DEPTH;
    lenMax.out === 1;

    component m = BinaryMerkleRoot(MAX_DEPTH);
    m.leaf <== leaf;
    m.depth <== length;
    m.indices <== bits.out;
    m.siblings <== siblings;
    root <== m.out;
}

// Appending `leaf` to the pool's LeanIMT of `size` leaves, proven instead of hashed on-chain
// (zkmargin/pool/tree.py Frontier, line for line). `frontier[l]` is the root of the complete
// subtree at level l for each one bit l of size (other entries are unused). Outputs: `root`, the
// LeanIMT root of the `size` leaves (the fold of the frontier from its lowest one bit up; 0 for
// the empty tree); `newRoot`, InternalLeanIMT._insert's root after the append (hash with the
// frontier entry at each one bit, carry the node up unhashed at each zero bit); `newNode`, the
// node at the first zero bit of size (the whole tree when size = 2^MAX_DEPTH - 1), which the pool
// stores as its side node there so that a later on-chain insert continues from the same tree.
// The pool accepts newRoot and newNode only when `root` and `size` are its own: collision
// resistance then pins the used frontier entries to its tree.
template NoteInsertion(MAX_DEPTH) {
    assert(MAX_DEPTH >= 1 && MAX_DEPTH < 32);
    signal input leaf;
    signal input size;
    signal input frontier[MAX_DEPTH];
    signal output root;
    signal output newRoot;
    signal output newNode;

    component bits = Num2Bits(MAX_DEPTH);        // size < 2^MAX_DEPTH: a full tree takes no leaf
    bits.in <== size;

    component up[MAX_DEPTH];
    signal acc[MAX_DEPTH + 1];                   // the fold so far
    signal seen[MAX_DEPTH + 1];                  // 1 once a one bit was folded
    signal pick[MAX_DEPTH];
    component hash[MAX_DEPTH];
    signal node[MAX_DEPTH + 1];                  // the appended leaf's path
    signal run[MAX_DEPTH + 1];                   // 1 while every lower bit of size is 1
    signal stop[MAX_DEPTH];                      // 1 at the first zero bit
    signal stored[MAX_DEPTH];
    var atStop = 0;
    acc[0] <== 0;
    seen[0] <== 0;
    node[0] <== leaf;
    run[0] <== 1;
    for (var l = 0; l < MAX_DEPTH; l++) {
        up[l] = Poseidon(2);
        up[l].inputs[0] <== frontier[l];
        up[l].inputs[1] <== acc[l];
        pick[l] <== frontier[l] + seen[l] * (up[l].out - frontier[l]);
        acc[l + 1] <== acc[l] + bits.out[l] * (pick[l] - acc[l]);
        seen[l + 1] <== seen[l] + bits.out[l] - seen[l] * bits.out[l];

        hash[l] = Poseidon(2);
        hash[l].inputs[0] <== frontier[l];
        hash[l].inputs[1] <== node[l];
        node[l + 1] <== node[l] + bits.out[l] * (hash[l].out - node[l]);
        run[l + 1] <== run[l] * bits.out[l];
        stop[l] <== run[l] - run[l + 1];         // run[l] * (1 - bit l)
        stored[l] <== stop[l] * node[l];
        atStop += stored[l];
    }
    signal full <== run[MAX_DEPTH] * node[MAX_DEPTH];
    root <== acc[MAX_DEPTH];
    newRoot <== node[MAX_DEPTH];
    newNode <== atStop + full;
}

// For the tree tests: NoteInsertion's outputs equal the public values.
template NoteInsertionCheck(MAX_DEPTH) {
    signal input leaf;
    signal input size;
    signal input root;
    signal input newRoot;
    signal input newNode;
    signal input frontier[MAX_DEPTH];
    component ins = NoteInsertion(MAX_DEPTH);
    ins.leaf <== leaf;
    ins.size <== size;
    ins.frontier <== frontier;
    ins.root === root;
    ins.newRoot === newRoot;
    ins.newNode === newNode;
}

// For the tree tests: the root of a membership proof equals the public root.
template NoteTreeCheck(MAX_DEPTH) {
    signal input root;
    signal input leaf;
    signal input length;
    signal input index;
    signal input siblings[MAX_DEPTH];
    component m = NoteMembership(MAX_DEPTH);
    m.leaf <== leaf;
    m.length <== length;
    m.index <== index;
    m.siblings <== siblings;
    m.root === root;
}

// An LTV in bps: < 2^14 and <= 10000, as AssetParams checks the LT.
template LtvParam() {
    signal input ltv;
    signal output isZero;
    component bits = RangeCheck(LT_BITS());     // precondition of the comparator
    bits.in <== ltv;
    component atMost = LessEqThan(LT_BITS());   // LTV <= 100.00%
    atMost.in[0] <== ltv;
    atMost.in[1] <== 10000;
    atMost.out === 1;
    component z = IsZero();
    z.in <== ltv;
    isZero <== z.out;
}

// floor(amount * RAY / index) with its remainder: Aave's rayDivFloor, and rayDivCeil as
// q + (rem != 0). amount < 2^128 (the caller range-checks it) and RAY <= index < 2^101, so
// amount * RAY < 2^218 and q <= amount < 2^128; DivRoundCheck(128, 101) makes q the floor.
template RayDivAmount() {
    signal input amount;
    signal input index;
    signal output floor;
    signal output remNonZero;
    signal q;
    signal rem;
    q <-- amount * RAY() \ index;
    rem <-- amount * RAY() % index;
    component check = DivRoundCheck(AMOUNT_BITS(), INDEX_BITS() + 1, 0);
    check.n <== amount * RAY();
    check.d <== index;
    check.q <== q;
    check.rem <== rem;
    component z = IsZero();
    z.in <== rem;
    floor <== q;
    remNonZero <== 1 - z.out;
}

// The first deposit: a new note that holds only rayDivFloor(amount, liquidityIndex[asset]) of
// collateral in `asset`, its collateral flag set when that reserve's LTV != 0 (isFirstSupply and
// validateUseAsCollateral), for the private ownerTag, salt and viewing key. Public: newCommitment,
// asset, amount, binding, liquidityIndex[N], ltv[N], keeperKey[K-1][2], ephemeralPublicKey[2],
// ciphertext[K][...] (the note sealed to the viewing key and the keepers, SealedNote). Opening a
// note needs no spending key: anyone may open a note for an owner tag; only sk's holder can spend
// it through PoolTransition.
template PoolOpen(N, MAX_DEPTH, K) {
    var CT = pad3(2 * N + 5) + 1;
    signal input newCommitment;
    signal input asset;
    signal input amount;
    signal input binding;          // keccak(chainid, pool, sender, recipient) >> 8 (README, "The private margin pool": Binding)
    signal input liquidityIndex[N];
    signal input ltv[N];
    signal input root;                           // the tree the new note is appended to (NoteInsertion)
    signal input treeSize;
    signal input newRoot;
    signal input newNode;
    signal input keeperKey[K - 1][2];            // the pool's registered keys
    signal input ephemeralPublicKey[2];
    signal input ciphertext[K][CT];
    signal input ownerTag;
    signal input salt;
    signal input viewKey[2];
    signal input ephemeralSecret;
    signal input frontier[MAX_DEPTH];

    component sel = Selector(N);                 // asset < N
    sel.index <== asset;
    component amountRange = RangeCheck(AMOUNT_BITS());
    amountRange.in <== amount;

    component liRange[N];
    component ltvp[N];
    for (var i = 0; i < N; i++) {
        liRange[i] = RangeCheck(INDEX_BITS());   // 1 ray <= index < 1 ray + 2^100
        liRange[i].in <== liquidityIndex[i] - RAY();
        ltvp[i] = LtvParam();
        ltvp[i].ltv <== ltv[i];
    }
    component li = Pick(N);
    li.sel <== sel.sel;
    li.values <== liquidityIndex;
    component scaled = RayDivAmount();           // getATokenMintScaledAmount: rayDivFloor
    scaled.amount <== amount;
    scaled.index <== li.out;
    component minted = NonZero();                // validateSupply: scaledAmount != 0
    minted.in <== scaled.floor;

    signal coll[N];
    signal flag[N];
    var flags = 0;
    for (var i = 0; i < N; i++) {
        coll[i] <== sel.sel[i] * scaled.floor;
        flag[i] <== sel.sel[i] * (1 - ltvp[i].isZero);
        flags += flag[i] * (1 << i);
    }
    component c = SealedNote(N, K);
    c.ownerTag <== ownerTag;
    c.salt <== salt;
    c.collateralFlags <== flags;
    c.scaledCollateral <== coll;
    for (var i = 0; i < N; i++) { c.scaledDebt[i] <== 0; }
    c.viewKey <== viewKey;
    c.keeperKey <== keeperKey;
    c.ephemeralSecret <== ephemeralSecret;
    c.commitment === newCommitment;              // the note, and exactly it, is what was sealed
    c.ephemeralPublicKey === ephemeralPublicKey;
    c.ciphertext === ciphertext;

    component ins = NoteInsertion(MAX_DEPTH);    // appended to the pool's tree
    ins.leaf <== newCommitment;
    ins.size <== treeSize;
    ins.frontier <== frontier;
    ins.root === root;
    ins.newRoot === newRoot;
    ins.newNode === newNode;

    signal bindingSq <== binding * binding;      // binding enters no arithmetic: keep it public
}

// deposit / withdraw / borrow / repay (op 0..3) on an existing note: the old note (owned by sk,
// a leaf under `root`, spent as `nullifier`) becomes the new note `newCommitment` (same owner, the
// private newSalt), with new = old +/- the public amount at the public index by v3.5.0's rounding,
// and the checks of that operation at the public prices and parameters.
template PoolTransition(N, MAX_DEPTH, K) {
    assert(N >= 1 && N <= 5);
    var L = ceilLog2(N);
    var CT = pad3(2 * N + 5) + 1;
    // public
    signal input root;
    signal input nullifier;
    signal input newCommitment;
    signal input op;
    signal input asset;
    signal input amount;
    signal input binding;
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input ltv[N];
    signal input liqThreshold[N];
    signal input treeSize;                       // the tree under `root` takes the new note (NoteInsertion)
    signal input newRoot;
    signal input newNode;
    signal input keeperKey[K - 1][2];            // the pool's registered keys
    signal input ephemeralPublicKey[2];          // the new note sealed to the owner and the keepers
    signal input ciphertext[K][CT];
    // private: the old opening, its key and path, the new salt, the seal's ephemeral secret
    signal input sk;
    signal input salt;
    signal input viewKey[2];                     // the old note's; the new note keeps it
    signal input collateralFlags;
    signal input scaledCollateral[N];
    signal input scaledDebt[N];
    signal input pathLength;
    signal input pathIndex;
    signal input siblings[MAX_DEPTH];
    signal input newSalt;
    signal input ephemeralSecret;
    signal input frontier[MAX_DEPTH];

    // --- the old note: its owner knows sk, it is in the tree, it is spent as `nullifier`
    component tag = OwnerTag();
    tag.sk <== sk;
    component old = NoteCommitment(N);
    old.ownerTag <== tag.out;
    old.salt <== salt;
    old.collateralFlags <== collateralFlags;
    old.scaledCollateral <== scaledCollateral;
    old.scaledDebt <== scaledDebt;
    old.viewKey <== viewKey;
    component member = NoteMembership(MAX_DEPTH);
    member.leaf <== old.out;
    member.length <== pathLength;
    member.index <== pathIndex;
    member.siblings <== siblings;
    member.root === root;
    component nf = NoteNullifier();
    nf.commitment <== old.out;
    nf.salt <== salt;
    nf.out === nullifier;

    // --- the old opening is canonical: flags one bit per reserve, balances < 2^128
    component oldFlags = Num2Bits(N);
    oldFlags.in <== collateralFlags;
    component oldCollRange[N];
    component oldDebtRange[N];
    for (var i = 0; i < N; i++) {
        oldCollRange[i] = RangeCheck(AMOUNT_BITS());
        oldCollRange[i].in <== scaledCollateral[i];
        oldDebtRange[i] = RangeCheck(AMOUNT_BITS());
        oldDebtRange[i].in <== scaledDebt[i];
    }

    // --- the operation, the reserve, the amount
    component ops = Selector(4);                 // op in {0, 1, 2, 3}
    ops.index <== op;
    signal isDeposit <== ops.sel[0];
    signal isWithdraw <== ops.sel[1];
    signal isBorrow <== ops.sel[2];
    signal isRepay <== ops.sel[3];
    component sel = Selector(N);                 // asset < N
    sel.index <== asset;
    component amountRange = RangeCheck(AMOUNT_BITS());   // amount < 2^128
    amountRange.in <== amount;

    // --- the market, checked per reserve (price != 0 and < 2^64, decimals <= 18, LT and LTV
    // <= 10000, indexes in [1 ray, 1 ray + 2^100))
    component params[N];
    component ltvp[N];
    for (var i = 0; i < N; i++) {
        params[i] = AssetParams();
        params[i].price <== price[i];
        params[i].decimals <== decimals[i];
        params[i].liqThreshold <== liqThreshold[i];
        params[i].liquidityIndex <== liquidityIndex[i];
        params[i].borrowIndex <== borrowIndex[i];
        ltvp[i] = LtvParam();
        ltvp[i].ltv <== ltv[i];
    }

    // --- the scaled amount: rayDivFloor (deposit, repay) or rayDivCeil (withdraw, borrow) of the
    // amount by the liquidity index (deposit, withdraw) or the variable-borrow index (borrow, repay)
    component li = Pick(N);
    li.sel <== sel.sel;
    li.values <== liquidityIndex;
    component bi = Pick(N);
    bi.sel <== sel.sel;
    bi.values <== borrowIndex;
    signal onCollateral <== isDeposit + isWithdraw;
    signal index <== bi.out + onCollateral * (li.out - bi.out);
    component div = RayDivAmount();
    div.amount <== amount;
    div.index <== index;
    signal roundUp <== (isWithdraw + isBorrow) * div.remNonZero;
    signal delta <== div.floor + roundUp;
    component deltaNonZero = NonZero();          // scaled amount != 0 (every op; so amount >= 1)
    deltaNonZero.in <== delta;

    // --- new balances: only the chosen reserve moves. A withdraw past the balance or a repay past
    // the scaled debt wraps below 0 into r - x, which AssetValuation's 128-bit range checks of the
    // new balances refuse; a deposit or borrow past 2^128 is refused by the same checks.
    signal collSign <== isDeposit - isWithdraw;
    signal debtSign <== isBorrow - isRepay;
    signal moved[N];
    signal collDelta[N];
    signal debtDelta[N];
    signal newColl[N];
    signal newDebt[N];
    for (var i = 0; i < N; i++) {
        moved[i] <== sel.sel[i] * delta;
        collDelta[i] <== collSign * moved[i];
        debtDelta[i] <== debtSign * moved[i];
        newColl[i] <== scaledCollateral[i] + collDelta[i];
        newDebt[i] <== scaledDebt[i] + debtDelta[i];
    }

    // --- repay <= the debt, rayMulCeil(scaled debt, index) as getVTokenBalance reads it
    component oldDebt = Pick(N);
    oldDebt.sel <== sel.sel;
    oldDebt.values <== scaledDebt;
    component debtBalance = DivRound(AMOUNT_BITS(), RAY_BITS(), 1);
    debtBalance.n <== oldDebt.out * bi.out;
    debtBalance.d <== RAY();
    component withinDebt = LessEqThan(AMOUNT_BITS());   // both < 2^128
    withinDebt.in[0] <== amount;
    withinDebt.in[1] <== debtBalance.q;
    isRepay * (1 - withinDebt.out) === 0;

    // --- collateral flags: set on a first supply when the LTV != 0, cleared when a withdraw
    // empties the balance; untouched otherwise
    component oldZero[N];
    component newZero[N];
    signal depHere[N];
    signal firstSupply[N];
    signal setBit[N];
    signal wdHere[N];
    signal clearBit[N];
    signal setTerm[N];
    signal clearTerm[N];
    signal newFlag[N];
    var newFlags = 0;
    for (var i = 0; i < N; i++) {
        oldZero[i] = IsZero();
        oldZero[i].in <== scaledCollateral[i];
        newZero[i] = IsZero();
        newZero[i].in <== newColl[i];
        depHere[i] <== sel.sel[i] * isDeposit;
        firstSupply[i] <== depHere[i] * oldZero[i].out;
        setBit[i] <== firstSupply[i] * (1 - ltvp[i].isZero);
        wdHere[i] <== sel.sel[i] * isWithdraw;
        clearBit[i] <== wdHere[i] * newZero[i].out;
        setTerm[i] <== setBit[i] * (1 - oldFlags.out[i]);
        clearTerm[i] <== clearBit[i] * oldFlags.out[i];
        newFlag[i] <== oldFlags.out[i] + setTerm[i] - clearTerm[i];   // a bit: set and clear exclude
        newFlags += newFlag[i] * (1 << i);
    }

    // --- the new note's account data (v3.5, no eMode): W, TD, TC and sum(value * LTV)
    component val[N];
    component acc[N];
    signal ltvWeighted[N];
    signal zeroLtvCounted[N];
    var w = 0;
    var td = 0;
    var tc = 0;
    var lw = 0;
    var zeroLtv = 0;
    for (var i = 0; i < N; i++) {
        val[i] = AssetValuation();               // range-checks newColl and newDebt < 2^128
        val[i].collateral <== newColl[i];
        val[i].debt <== newDebt[i];
        val[i].liquidityIndex <== liquidityIndex[i];
        val[i].borrowIndex <== borrowIndex[i];
        val[i].price <== price[i];
        val[i].scale <== params[i].scale;
        acc[i] = SlotAccount();
        acc[i].flag <== newFlag[i];
        acc[i].isV35 <== 1;
        acc[i].liqThreshold <== liqThreshold[i];
        acc[i].inEmode <== 0;
        acc[i].emodeLt <== 0;
        acc[i].collateralValue <== val[i].collateralValue;
        ltvWeighted[i] <== acc[i].countedValue * ltv[i];             // < 2^(128 + 14)
        zeroLtvCounted[i] <== acc[i].counted * ltvp[i].isZero;      // hasZeroLtvCollateral term
        w += acc[i].weighted;
        td += val[i].debtValue;
        tc += acc[i].countedValue;
        lw += ltvWeighted[i];
        zeroLtv += zeroLtvCounted[i];
    }

    // --- HF >= 1 after a borrow, and after a withdraw of a reserve used as collateral
    // (threshold 0 makes the comparison hold trivially: the other operations)
    component oldFlagHere = Pick(N);
    oldFlagHere.sel <== sel.sel;
    oldFlagHere.values <== oldFlags.out;
    signal withdrawCollateral <== isWithdraw * oldFlagHere.out;
    signal hfGate <== isBorrow + withdrawCollateral;
    component hf = HealthFactorCompare(N, 0);
    hf.weightedCollateral <== w;
    hf.totalDebt <== td;
    hf.threshold <== hfGate * WAD();

    // --- withdraw, validateHFAndLtvzero: with debt, no counted LTV-0 collateral may remain
    // unless the withdrawn reserve's own LTV is 0
    component noDebt = IsZero();
    noDebt.in <== td;
    component noZeroLtv = IsZero();
    noZeroLtv.in <== zeroLtv;
    component ltvZeroHere = Pick(N);
    ltvZeroHere.sel <== sel.sel;
    for (var i = 0; i < N; i++) { ltvZeroHere.values[i] <== ltvp[i].isZero; }
    signal ltvZeroGate <== withdrawCollateral * (1 - noDebt.out);
    signal ltvZeroBad <== ltvZeroGate * (1 - noZeroLtv.out);
    ltvZeroBad * (1 - ltvZeroHere.out) === 0;

    // --- borrow, validateHFAndLtv: avgLtv = floor(sum(value * LTV) / TC) != 0 and
    // TC >= percentDivCeil(TD, avgLtv) <=> TC * avgLtv >= TD * 1e4 (TC is an integer).
    // Widths: TC, TD < 2^(128+L); sum(value * LTV) < 2^(142+L); avgLtv <= 10000 < 2^14, so both
    // sides of the comparison are < 2^(142+L). Other operations divide by TC + 1 (never 0) and
    // ignore the result.
    signal avgDivisor <== tc + 1 - isBorrow;
    signal avgLtv;
    signal avgRem;
    avgLtv <-- lw \ avgDivisor;
    avgRem <-- lw % avgDivisor;
    component avgCheck = DivRoundCheck(LT_BITS(), VALUE_BITS() + L + 1, 0);
    avgCheck.n <== lw;
    avgCheck.d <== avgDivisor;
    avgCheck.q <== avgLtv;
    avgCheck.rem <== avgRem;
    signal avgInv;                               // avgLtv != 0 when borrowing (LtvValidationFailed)
    avgInv <-- (isBorrow == 1 && avgLtv != 0) ? 1 / avgLtv : 0;
    avgLtv * avgInv === isBorrow;
    component cover = LessThan(VALUE_BITS() + L + LT_BITS() + 1);
    cover.in[0] <== tc * avgLtv;
    cover.in[1] <== td * 10000;
    isBorrow * cover.out === 0;                  // CollateralCannotCoverNewBorrow

    // --- the new note: same owner (tag and viewing key), fresh salt, sealed to the owner's
    // viewing key and the keepers: the ciphertexts are of exactly this opening
    component next = SealedNote(N, K);
    next.ownerTag <== tag.out;
    next.salt <== newSalt;
    next.collateralFlags <== newFlags;
    next.scaledCollateral <== newColl;
    next.scaledDebt <== newDebt;
    next.viewKey <== viewKey;
    next.keeperKey <== keeperKey;
    next.ephemeralSecret <== ephemeralSecret;
    next.commitment === newCommitment;
    next.ephemeralPublicKey === ephemeralPublicKey;
    next.ciphertext === ciphertext;

    // --- the new note appended to the tree under `root` (the pool takes newRoot and newNode when
    // `root` is still its current root; otherwise it inserts on-chain)
    component ins = NoteInsertion(MAX_DEPTH);
    ins.leaf <== newCommitment;
    ins.size <== treeSize;
    ins.frontier <== frontier;
    ins.root === root;
    ins.newRoot === newRoot;
    ins.newNode === newNode;

    signal bindingSq <== binding * binding;      // binding enters no arithmetic: keep it public
}
