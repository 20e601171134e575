pragma circom 2.1.6;
// Verifiable encryption of a note's opening to one or more Baby Jubjub keys (the owner's viewing
// key, the keepers'): the ciphertexts a transition publishes are computed here from the very
// signals the note commitment hashes, so a proof cannot exist for a ciphertext that decrypts
// to anything but the committed note. Library template only: no component main.
//
// Reference implementations it equals (tests/test_pool_cipher.py):
//   - @zk-kit/poseidon-cipher 0.3.2 poseidonEncrypt / poseidonDecrypt (JS), zkmargin.pool.cipher;
//   - zk-kit's poseidon-cipher.circom PoseidonDecrypt, fed the ciphertexts this template makes.
//
// Includes: circomlib (-l circomlib) and @zk-kit/circuits' circom/ directory (-l <it>), for
// ecdh.circom. zk-kit's poseidon-cipher.circom cannot be included here: it pulls in circomlib's
// poseidon_old.circom, whose templates Sigma, Ark, Mix and Poseidon clash with poseidon.circom
// that every commitment uses ("Poseidon is already in use"). The duplex below is the same
// computation as its PoseidonDecryptIterations, run forwards, over circomlib's PoseidonEx(3, 4)
// (the same width-4 permutation as its PoseidonPerm(4); equality is tested, not assumed).

include "bitify.circom";
include "comparators.circom";
include "babyjub.circom";
include "poseidon.circom";
include "ecdh.circom";

// Poseidon encryption (zk-kit poseidonEncrypt) of `length` field elements under `key`.
// ciphertext has pad3(length) + 1 elements, the last one the authentication element.
// The caller range-checks nonce < 2^128 (NoteCiphertexts does it once for all recipients).
template PoseidonEncryptFwd(length) {
    assert(length >= 1);
    var padded = length;
    while (padded % 3 != 0) {
        padded++;
    }
    var blocks = padded \ 3;
    var two128 = 2 ** 128;

    signal input message[length];
    signal input nonce;
    signal input key[2];
    signal output ciphertext[padded + 1];

    // the padding is the constant 0: zk-kit's PoseidonDecrypt leaves it unchecked for
    // length % 3 == 1 (its second branch repeats `== 2`), which would admit a ciphertext that
    // decryptors checking the padding refuse (a note hidden from keepers); here it is fixed
    var m[padded];
    for (var i = 0; i < padded; i++) {
        m[i] = i < length ? message[i] : 0;
    }

    component perm[blocks + 1];
    for (var b = 0; b <= blocks; b++) {
        perm[b] = PoseidonEx(3, 4);
    }
    // initial state (0, k0, k1, nonce + length * 2^128): binds the key, the nonce and the length
    perm[0].initialState <== 0;
    perm[0].inputs[0] <== key[0];
    perm[0].inputs[1] <== key[1];
    perm[0].inputs[2] <== nonce + length * two128;
    for (var b = 0; b < blocks; b++) {
        // absorb three message elements; the new rate part is the released ciphertext
        for (var j = 0; j < 3; j++) {
            ciphertext[b * 3 + j] <== perm[b].out[j + 1] + m[b * 3 + j];
        }
        // the next permutation runs on (capacity, ciphertext block): the duplex chaining
        perm[b + 1].initialState <== perm[b].out[0];
        for (var j = 0; j < 3; j++) {
            perm[b + 1].inputs[j] <== ciphertext[b * 3 + j];
        }
    }
    // authentication element: a decryptor recomputes it and refuses on mismatch
    ciphertext[padded] <== perm[blocks].out[1];
}

// The opening `message` (L elements) encrypted to K recipients with one ephemeral key.
//   ephemeralPublicKey = ephemeralSecret * Base8 (published once, shared by all recipients)
//   ciphertext[k] = PoseidonEncrypt(message, Ecdh(ephemeralSecret, recipient[k]), nonce)
// A recipient with secret p decrypts with p * ephemeralPublicKey = ephemeralSecret * recipient[k].
// The recipient keys are NOT checked on the curve or in the subgroup here: each is a public
// input the pool contract must bind to a key it validated when the key was registered (see
// the README, "The private margin pool"); a private recipient key only ever hurts its own holder.
template NoteCiphertexts(L, K) {
    assert(L >= 1);
    assert(K >= 1);
    var padded = L;
    while (padded % 3 != 0) {
        padded++;
    }
    // Baby Jubjub subgroup order l
    var SUBORDER = 2736030358979909402780800718157159386076813972158567259200215660948447373041;

    signal input message[L];
    signal input ephemeralSecret;
    signal input nonce;
    signal input recipient[K][2];
    signal output ephemeralPublicKey[2];
    signal output ciphertext[K][padded + 1];

    // E = e * Base8 (circomlib BabyPbk: Num2Bits(253) + fixed-base EscalarMulFix)
    component pbk = BabyPbk();
    pbk.in <== ephemeralSecret;
    ephemeralPublicKey[0] <== pbk.Ax;
    ephemeralPublicKey[1] <== pbk.Ay;

    component ecdh[K];
    component enc[K];
    for (var k = 0; k < K; k++) {
        // shared point e * P_k, with zk-kit's Ecdh (Num2Bits(253) + EscalarMulAny(253))
        ecdh[k] = Ecdh();
        ecdh[k].privateKey <== ephemeralSecret;
        ecdh[k].publicKey <== recipient[k];

        enc[k] = PoseidonEncryptFwd(L);
        enc[k].message <== message;
        enc[k].nonce <== nonce;
        enc[k].key <== ecdh[k].sharedKey;
        ciphertext[k] <== enc[k].ciphertext;
    }

    // (the range checks come last: circom computes components in code order, and a witness
    // generator run past a failed check then still computes everything before it)

    // nonce < 2^128: the cipher's initial state is nonce + L * 2^128, and every decryptor
    // (zk-kit JS, zkmargin.pool.cipher) refuses a larger nonce, so without this an owner could
    // publish a ciphertext that keepers' software will not even try to open
    _ <== Num2Bits(128)(nonce);

    // ephemeralSecret < l: with e = l (or any multiple) E and every shared key are the identity
    // and anyone can read the note. Ecdh's Num2Bits(253) above already bounds e by 2^253, so this
    // LessThan(251) is sound (a value >= 2^252 makes its 252-bit decomposition fail); it also
    // keeps e in the range the Python model and zk-kit's deriveSecretScalar produce
    signal canonical <== LessThan(251)([ephemeralSecret, SUBORDER]);
    canonical === 1;

    // ephemeralSecret != 0: with e = 0 (as with e = l) the ephemeral key and every shared key
    // are the identity (0, 1), and the ciphertexts are readable by anyone
    signal inverse <-- ephemeralSecret != 0 ? 1 / ephemeralSecret : 0;
    inverse * ephemeralSecret === 1;
}

// One recipient.
template NoteCiphertext(L) {
    var padded = L;
    while (padded % 3 != 0) {
        padded++;
    }
    signal input message[L];
    signal input ephemeralSecret;
    signal input nonce;
    signal input recipient[2];
    signal output ephemeralPublicKey[2];
    signal output ciphertext[padded + 1];

    component c = NoteCiphertexts(L, 1);
    c.message <== message;
    c.ephemeralSecret <== ephemeralSecret;
    c.nonce <== nonce;
    c.recipient[0] <== recipient;
    ephemeralPublicKey <== c.ephemeralPublicKey;
    ciphertext <== c.ciphertext[0];
}
