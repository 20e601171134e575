pragma circom 2.1.6;
// A note bound to its owner's viewing key and published encrypted, verifiably, to that key and to
// the pool's keeper key(s) (issue #15 item 1): PoolOpen, PoolTransition and PoolLiquidation make
// every new note with SealedNote (zkmargin/pool/note.py and sealing.py are the model; tests in
// tests/test_pool_sealing.py). Library template only: no component main.
//
// The opening gains the owner's viewing public key V = v Base8 (zkmargin.pool.keys.OwnerKeys):
//   message    = (ownerTag, salt, collateralFlags, scaledCollateral[N], scaledDebt[N], Vx, Vy)  (2N + 5)
//   commitment = Poseidon(DOMAIN_NOTE, message...)                                          (6 + 2N <= 16: N <= 5)
//   ciphertext[0] to V, ciphertext[1 + j] to keeperKey[j]; one ephemeral key E = e Base8; nonce 0
//
// Why V lives in the commitment (and not only in the proof): a successor made by someone who does
// not hold sk (a liquidator) must be sealed to the same owner key as the note it replaces. With V
// inside the old note's commitment, the circuit reads V from the spent opening and seals the
// successor to it; a liquidator who picked another V would need another old commitment, i.e. a
// note that is not in the tree. Hashing V into ownerTag = Poseidon(DOMAIN_OWNER, sk) instead
// would make that check need sk, which a liquidator does not have.
// Why 2N + 5 and not 2N + 3: at N = 2 both 7 and 9 elements pad to 9, so V costs no ciphertext
// element and no permutation: three blocks and the authentication element either way.
// Why nonce 0: e is fresh per note (the owner's or the liquidator's CSPRNG), so every (key, nonce)
// pair is used once; a fixed nonce is one public input fewer (~6.2k gas). A prover who reuses e
// leaks its own notes to the recipients only, never hides them from the keepers.

// Includes: note_cipher.circom (circomlib's poseidon.circom and babyjub.circom, zk-kit's ecdh.circom).
// Not pool.circom: pool.circom includes this file.
include "note_cipher.circom";

// int.from_bytes(b"zkmargin/pool/note/v2", "big"): a new layout, a new tag (no v1 opening can be
// read as a v2 one)
function DOMAIN_NOTE() { return 178916501036896329807155402506654159932846934816306; }

// n rounded up to a multiple of 3: a message of n elements encrypts to pad3(n) + 1
function pad3(n) {
    var p = n;
    while (p % 3 != 0) {
        p++;
    }
    return p;
}

// Poseidon(DOMAIN_NOTE, ownerTag, salt, flags, collateral..., debt..., Vx, Vy): one call of 6 + 2N
// inputs, within circomlib's 16 for N <= 5. The tag separates notes from every other hash.
template NoteCommitment(N) {
    assert(N >= 1 && 6 + 2 * N <= 16);
    signal input ownerTag;
    signal input salt;
    signal input collateralFlags;
    signal input scaledCollateral[N];
    signal input scaledDebt[N];
    signal input viewKey[2];
    signal output out;
    component h = Poseidon(6 + 2 * N);
    h.inputs[0] <== DOMAIN_NOTE();
    h.inputs[1] <== ownerTag;
    h.inputs[2] <== salt;
    h.inputs[3] <== collateralFlags;
    for (var i = 0; i < N; i++) {
        h.inputs[4 + i] <== scaledCollateral[i];
        h.inputs[4 + N + i] <== scaledDebt[i];
    }
    h.inputs[4 + 2 * N] <== viewKey[0];
    h.inputs[5 + 2 * N] <== viewKey[1];
    out <== h.out;
}

// The commitment of a note and its ciphertexts to K recipients: the owner's viewing key first,
// then K - 1 keeper keys. Both are computed from the same signals, so a proof that exposes
// `commitment` and `ciphertext` shows that every recipient decrypts exactly the committed opening.
// Recipient keys are not checked on the curve here (NoteCiphertexts): the keeper keys are public
// inputs the pool validated at registration; V is private, bound by the commitment and checked on
// the curve below (an owner who commits to a V nobody holds only hides its notes from itself: the
// keepers' boxes are intact).
// More keepers: K = 1 + keepers, +3,604 constraints and +(pad3(2N + 5) + 1) + 2 public inputs each.
template SealedNote(N, K) {
    assert(K >= 2);   // the owner and at least one keeper (K - 1 = 0 would be an empty array)
    var L = 2 * N + 5;
    var padded = L;
    while (padded % 3 != 0) {
        padded++;
    }
    signal input ownerTag;
    signal input salt;
    signal input collateralFlags;
    signal input scaledCollateral[N];
    signal input scaledDebt[N];
    signal input viewKey[2];
    signal input keeperKey[K - 1][2];
    signal input ephemeralSecret;
    signal output commitment;
    signal output ephemeralPublicKey[2];
    signal output ciphertext[K][padded + 1];

    component c = NoteCommitment(N);
    c.ownerTag <== ownerTag;
    c.salt <== salt;
    c.collateralFlags <== collateralFlags;
    c.scaledCollateral <== scaledCollateral;
    c.scaledDebt <== scaledDebt;
    c.viewKey <== viewKey;
    commitment <== c.out;

    // V on the curve (circomlib BabyCheck): EscalarMulAny's formulas give the ECDH of a curve point
    // only, and the model (zkmargin.pool.sealing) refuses an opening whose V is off the curve, so
    // without this an owner could commit to a V whose successor nobody's tooling can seal again.
    // No subgroup check (~2.5k constraints): a small-order V only exposes the owner's own box.
    component onCurve = BabyCheck();
    onCurve.x <== viewKey[0];
    onCurve.y <== viewKey[1];

    // the message is the commitment's preimage after the tag, in the same order: what a
    // decryptor hashes to check an opening against the event's commitment
    component enc = NoteCiphertexts(L, K);
    enc.message[0] <== ownerTag;
    enc.message[1] <== salt;
    enc.message[2] <== collateralFlags;
    for (var i = 0; i < N; i++) {
        enc.message[3 + i] <== scaledCollateral[i];
        enc.message[3 + N + i] <== scaledDebt[i];
    }
    enc.message[3 + 2 * N] <== viewKey[0];
    enc.message[4 + 2 * N] <== viewKey[1];
    enc.ephemeralSecret <== ephemeralSecret;
    enc.nonce <== 0;
    enc.recipient[0] <== viewKey;
    for (var k = 1; k < K; k++) {
        enc.recipient[k] <== keeperKey[k - 1];
    }
    ephemeralPublicKey <== enc.ephemeralPublicKey;
    ciphertext <== enc.ciphertext;
}
