pragma circom 2.1.6;

// The committed lending position and the per-asset valuation shared by the
// liquidation (HF < t) statement and later statements on the same position.

include "poseidon.circom";
include "arith.circom";

// Bit widths. Python mirrors them in zkmargin/limits.py; a test checks both agree.
//   AMOUNT_BITS 128: Aave keeps scaled balances in uint128, so any real balance fits.
//   PRICE_BITS   64: 8-decimal oracle answers up to ~1.8e11 USD per whole token.
//   VALUE_BITS  128: a per-asset value in 8-decimal base currency (~3.4e30 USD).
//   MAX_DECIMALS 18: 10^18 < 2^60 = 2^DEC_SCALE_BITS, the remainder width.
//   LT_BITS      14: liquidation thresholds are bps <= 10000 < 2^14.
function AMOUNT_BITS() { return 128; }
function PRICE_BITS() { return 64; }
function VALUE_BITS() { return 128; }
function MAX_DECIMALS() { return 18; }
function DEC_SCALE_BITS() { return 60; }
function LT_BITS() { return 14; }

// Domain tag of the lending-position commitment layout, v1:
// int.from_bytes(b"zkmargin/lending/v1", "big").
function LENDING_COMMITMENT_TAG() { return 2730049149122563626207796515998701741061142065; }

// commitment = Poseidon4(TAG, Poseidon_N(collateral), Poseidon_N(debt), salt).
// Two inner hashes keep every Poseidon call within circomlib's 16 inputs for any
// N <= 16; the tag separates this layout from other commitments the toolkit
// makes; the salt (a uniformly random field element) hides the amounts.
template PositionCommitment(N) {
    assert(N >= 1 && N <= 16);
    signal input collateral[N];
    signal input debt[N];
    signal input salt;
    signal output out;

    component hc = Poseidon(N);
    component hd = Poseidon(N);
    for (var i = 0; i < N; i++) {
        hc.inputs[i] <== collateral[i];
        hd.inputs[i] <== debt[i];
    }
    component h = Poseidon(4);
    h.inputs[0] <== LENDING_COMMITMENT_TAG();
    h.inputs[1] <== hc.out;
    h.inputs[2] <== hd.out;
    h.inputs[3] <== salt;
    out <== h.out;
}

// Market parameters of one asset slot: checks them and derives the scale 10^decimals.
// price is in (0, 2^PRICE_BITS): a zero price would zero out a collateral and
// make any position "liquidatable"; liqThreshold is in [0, 10000].
template AssetParams() {
    signal input price;
    signal input decimals;
    signal input liqThreshold;
    signal output scale;

    component pRange = RangeCheck(PRICE_BITS());   // bounds amount*price below
    pRange.in <== price;
    signal priceInv;                               // price != 0: it has an inverse
    priceInv <-- price != 0 ? 1 / price : 0;
    price * priceInv === 1;

    component ltRange = RangeCheck(LT_BITS());      // precondition of the comparator
    ltRange.in <== liqThreshold;
    component ltMax = LessEqThan(LT_BITS());        // LT <= 100.00%
    ltMax.in[0] <== liqThreshold;
    ltMax.in[1] <== 10000;
    ltMax.out === 1;

    component pow = Pow10(MAX_DECIMALS());          // decimals <= 18, scale = 10^decimals
    pow.d <== decimals;
    scale <== pow.out;
}

// Aave v3.5 valuation of one asset slot, in base currency with 8 decimals:
//   collateralValue = floor(collateral * price / 10^decimals)
//   debtValue       = ceil(debt * price / 10^decimals)   (v3.5 rounds debt up)
//   weighted        = collateralValue * liqThreshold     (bps-weighted)
// amount < 2^128 and price < 2^64, so amount*price < 2^192 (no wrap); the
// values are range-checked to VALUE_BITS, so weighted < 2^(128+14).
template AssetValuation() {
    signal input collateral;
    signal input debt;
    signal input price;
    signal input scale;
    signal input liqThreshold;
    signal output collateralValue;
    signal output debtValue;
    signal output weighted;

    component cRange = RangeCheck(AMOUNT_BITS());   // private amount: no r - x
    cRange.in <== collateral;
    component dRange = RangeCheck(AMOUNT_BITS());
    dRange.in <== debt;

    component cv = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 0);
    cv.n <== collateral * price;
    cv.d <== scale;
    collateralValue <== cv.q;

    component dv = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 1);
    dv.n <== debt * price;
    dv.d <== scale;
    debtValue <== dv.q;

    weighted <== collateralValue * liqThreshold;
}
