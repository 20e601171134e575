pragma circom 2.1.6;

// Fixed-point building blocks shared by the zkmargin statements.
// Every template here documents the integer bound it guarantees, so that callers
// can prove (in comments) that no later product or sum reaches the field modulus
// r ~ 2^253.6. No template in this file declares `component main`.

include "bitify.circom";
include "comparators.circom";

// in < 2^n, as an integer. The only way this file range-checks anything:
// Num2Bits constrains each bit to {0,1} and their weighted sum to `in`, and
// for n <= 252 the sum cannot wrap the field, so the decomposition is unique.
template RangeCheck(n) {
    assert(n <= 252);
    signal input in;
    component bits = Num2Bits(n);
    bits.in <== in;
}

// out = 10^d for a range-checked exponent 0 <= d <= maxDecimals.
// Computed from the 5 bits of d as prod_k (1 + b_k * (10^(2^k) - 1)); every
// factor is 1 or 10^(2^k), so out = 10^d exactly. The bound d <= maxDecimals
// keeps out <= 10^maxDecimals, which the floor divisions below rely on.
template Pow10(maxDecimals) {
    assert(maxDecimals < 32);
    signal input d;
    signal output out;

    component bits = Num2Bits(5);   // d < 32, and gives the bits b_k
    bits.in <== d;
    component le = LessEqThan(5);   // inputs < 2^5 by the line above
    le.in[0] <== d;
    le.in[1] <== maxDecimals;
    le.out === 1;                   // reject decimals the remainder width cannot hold

    signal acc[5];
    acc[0] <== 1 + bits.out[0] * 9;
    var p = 10;
    for (var k = 1; k < 5; k++) {
        p = p * p;                  // 10^(2^k)
        acc[k] <== acc[k - 1] * (1 + bits.out[k] * (p - 1));
    }
    out <== acc[4];
}

// Integer division of n by a positive divisor d, rounded down or up.
//   roundUp = 0: q = floor(n / d),  q*d + rem === n
//   roundUp = 1: q = ceil(n / d),   q*d === n + rem
// with 0 <= rem < d <= 2^dBits and 0 <= q < 2^qBits.
// Soundness: both sides are < 2^(qBits + dBits) + 2^dBits <= 2^252 + 2^dBits < r, so the
// field equation is an integer equation, and with rem in [0, d) the quotient is
// the unique floor (resp. ceil). Without the q range check a prover could pick
// another rem and a "negative" q (r - x); without rem < d, q - 1 would pass.
template DivRound(qBits, dBits, roundUp) {
    signal input n;
    signal input d;
    signal output q;

    var quotient = n \ d;
    var remainder = n % d;
    if (roundUp == 1 && remainder != 0) {
        quotient = quotient + 1;
        remainder = d - remainder;
    }
    signal rem;
    q <-- quotient;
    rem <-- remainder;

    component check = DivRoundCheck(qBits, dBits, roundUp);
    check.n <== n;
    check.d <== d;
    check.q <== q;
    check.rem <== rem;
}

// The constraints of DivRound for a prover-chosen (q, rem): everything that makes the
// hinted quotient the only acceptable one. Separate so that soundness tests can feed it
// malicious hints (e.g. q - 1 with rem + d) and watch it refuse them.
template DivRoundCheck(qBits, dBits, roundUp) {
    assert(qBits + dBits <= 252);
    signal input n;
    signal input d;
    signal input q;
    signal input rem;

    component qRange = RangeCheck(qBits);   // q < 2^qBits: no wrap in q*d
    qRange.in <== q;
    component rRange = RangeCheck(dBits);   // precondition of LessThan(dBits)
    rRange.in <== rem;
    component rLtD = LessThan(dBits);       // rem < d: the canonical quotient
    rLtD.in[0] <== rem;
    rLtD.in[1] <== d;
    rLtD.out === 1;

    if (roundUp == 1) {
        q * d === n + rem;
    } else {
        q * d + rem === n;
    }
}

// Signed integer -2^n <= in < 2^n, encoded in the field as in mod r. Shifting by 2^n maps
// the allowed range onto [0, 2^(n+1)), which Num2Bits checks; any other field element
// (an out-of-range value, or a "negative" one beyond -2^n) lands far above 2^(n+1).
// nonNegative = 1 iff in >= 0 (the top bit of the shifted value).
template SignedRange(n) {
    assert(n + 1 <= 252);
    signal input in;
    signal output nonNegative;
    component bits = Num2Bits(n + 1);
    bits.in <== in + (1 << n);
    nonNegative <== bits.out[n];
}

// floor(n / d) of a signed numerator by a positive divisor: q * d + rem === n with
// 0 <= rem < d <= 2^dBits and q signed in [-2^qBits, 2^qBits). Both sides then lie in
// (-r/2, r/2) because qBits + dBits + 1 <= 251, so the field equation is the integer
// equation and q is the floor (rounding toward minus infinity, like Python's //).
template SignedFloorDiv(qBits, dBits) {
    signal input n;
    signal input d;
    signal output q;
    signal rem;

    // witness: shift n into the non-negative range so that \ and % are the floor ones
    var shift = (1 << qBits) * d;
    var shifted = n + shift;
    q <-- shifted \ d - (1 << qBits);
    rem <-- shifted % d;

    component check = SignedFloorDivCheck(qBits, dBits);
    check.n <== n;
    check.d <== d;
    check.q <== q;
    check.rem <== rem;
}

// The constraints of SignedFloorDiv for a prover-chosen (q, rem); see DivRoundCheck.
template SignedFloorDivCheck(qBits, dBits) {
    assert(qBits + dBits + 1 <= 251);
    signal input n;
    signal input d;
    signal input q;
    signal input rem;

    component qRange = SignedRange(qBits);
    qRange.in <== q;
    component rRange = RangeCheck(dBits);
    rRange.in <== rem;
    component rLtD = LessThan(dBits);
    rLtD.in[0] <== rem;
    rLtD.in[1] <== d;
    rLtD.out === 1;
    q * d + rem === n;
}
