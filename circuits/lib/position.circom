pragma circom 2.1.6;

// The committed lending position and the per-asset valuation shared by the
// liquidation (HF < t) statement and later statements on the same position.

include "poseidon.circom";
include "arith.circom";

// Bit widths. Python mirrors them in zkmargin/limits.py; a test checks both agree.
//   AMOUNT_BITS 128: scaled balances and balances (Aave stores scaled balances in uint120).
//   PRICE_BITS   64: 8-decimal oracle answers up to ~1.8e11 USD per whole token.
//   VALUE_BITS  128: a per-asset value in 8-decimal base currency (~3.4e30 USD).
//   MAX_DECIMALS 18: 10^18 < 2^60 = 2^DEC_SCALE_BITS, the remainder width.
//   LT_BITS      14: liquidation thresholds are bps <= 10000 < 2^14.
//   INDEX_BITS  100: a reserve index (ray) is in [1 ray, 1 ray + 2^100), so < 2^101; 1 ray < 2^90.
//   EMODE_BITS    8: an eMode category id (Aave: uint8); an eMode bonus < 2^15 (EMODE_BONUS_BITS).
function AMOUNT_BITS() { return 128; }
function PRICE_BITS() { return 64; }
function VALUE_BITS() { return 128; }
function MAX_DECIMALS() { return 18; }
function DEC_SCALE_BITS() { return 60; }
function LT_BITS() { return 14; }
function INDEX_BITS() { return 100; }
function RAY_BITS() { return 90; }
function EMODE_BITS() { return 8; }
function EMODE_BONUS_BITS() { return 15; }   // bps including the 100%, < 2^15
function RAY() { return 1000000000000000000000000000; }

// Domain tag of the lending-position commitment layout, v2:
// int.from_bytes(b"zkmargin/lending/v2", "big").
function LENDING_COMMITMENT_TAG() { return 2730049149122563626207796515998701741061142066; }

// The Aave versions a lending circuit follows, as the public input rulesVersion carries them
// (10000 * major + 100 * minor + patch; zkmargin/model.py RULES_VERSION).
function RULES_V35() { return 30500; }
function RULES_V36() { return 30600; }
function RULES_V37() { return 30700; }

// commitment = Poseidon6(TAG, Poseidon_N(collateral), Poseidon_N(debt), collateralFlags,
//                        eModeCategory, salt)
// collateral and debt are the scaled aToken and variable-debt balances (actual amounts are the
// scaled balances at 1 ray), collateralFlags the "use as collateral" bitmap (bit i = slot i),
// eModeCategory the user's category (0: none). Two inner hashes keep every Poseidon call within
// circomlib's 16 inputs for any N <= 16; the tag separates this layout from other commitments
// the toolkit makes; the salt (a uniformly random field element) hides everything else.
template PositionCommitment(N) {
    assert(N >= 1 && N <= 16);
    signal input collateral[N];
    signal input debt[N];
    signal input collateralFlags;
    signal input eModeCategory;
    signal input salt;
    signal output out;

    component hc = Poseidon(N);
    component hd = Poseidon(N);
    for (var i = 0; i < N; i++) {
        hc.inputs[i] <== collateral[i];
        hd.inputs[i] <== debt[i];
    }
    component h = Poseidon(6);
    h.inputs[0] <== LENDING_COMMITMENT_TAG();
    h.inputs[1] <== hc.out;
    h.inputs[2] <== hd.out;
    h.inputs[3] <== collateralFlags;
    h.inputs[4] <== eModeCategory;
    h.inputs[5] <== salt;
    out <== h.out;
}

// Market parameters of one asset slot: checks them and derives the scale 10^decimals.
// price is in (0, 2^PRICE_BITS): a zero price would zero out a collateral and
// make any position "liquidatable"; liqThreshold is in [0, 10000]; each index is in
// [1 ray, 1 ray + 2^INDEX_BITS): Aave's indexes start at 1 ray and only grow, and the bound keeps
// scaled * index < 2^(128 + 101) (no wrap).
template AssetParams() {
    signal input price;
    signal input decimals;
    signal input liqThreshold;
    signal input liquidityIndex;
    signal input borrowIndex;
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

    component liRange = RangeCheck(INDEX_BITS());   // 1 ray <= liquidityIndex < 1 ray + 2^100
    liRange.in <== liquidityIndex - RAY();
    component biRange = RangeCheck(INDEX_BITS());   // the same for the variable-borrow index
    biRange.in <== borrowIndex - RAY();

    component pow = Pow10(MAX_DECIMALS());          // decimals <= 18, scale = 10^decimals
    pow.d <== decimals;
    scale <== pow.out;
}

// Valuation of one asset slot (Aave v3.5+, all three versions alike), in base currency with 8
// decimals, from the scaled balances:
//   collateralBalance = rayMulFloor(scaled, liquidityIndex)        (TokenMath.getATokenBalance)
//   debtBalance       = rayMulCeil(scaled, borrowIndex)            (TokenMath.getVTokenBalance)
//   collateralValue   = floor(collateralBalance * price / 10^decimals)
//   debtValue         = ceil(debtBalance * price / 10^decimals)     (mulDivCeil)
// scaled < 2^128 and index < 2^101, so scaled*index < 2^229; the balances are DivRound quotients
// < 2^128, so balance*price < 2^192 (no wrap); the values are range-checked to VALUE_BITS.
template AssetValuation() {
    signal input collateral;        // scaled
    signal input debt;              // scaled
    signal input liquidityIndex;
    signal input borrowIndex;
    signal input price;
    signal input scale;
    signal output collateralBalance;
    signal output debtBalance;
    signal output collateralValue;
    signal output debtValue;

    component cRange = RangeCheck(AMOUNT_BITS());   // private amount: no r - x
    cRange.in <== collateral;
    component dRange = RangeCheck(AMOUNT_BITS());
    dRange.in <== debt;

    component cb = DivRound(AMOUNT_BITS(), RAY_BITS(), 0);   // rayMulFloor
    cb.n <== collateral * liquidityIndex;
    cb.d <== RAY();
    collateralBalance <== cb.q;
    component db = DivRound(AMOUNT_BITS(), RAY_BITS(), 1);   // rayMulCeil
    db.n <== debt * borrowIndex;
    db.d <== RAY();
    debtBalance <== db.q;

    component cv = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 0);
    cv.n <== collateralBalance * price;
    cv.d <== scale;
    collateralValue <== cv.q;

    component dv = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 1);
    dv.n <== debtBalance * price;
    dv.d <== scale;
    debtValue <== dv.q;
}

// The rules version: rulesVersion is one of the three; isV35 = 1 for aave-v3.5.
template RulesVersion() {
    signal input rulesVersion;
    signal output isV35;
    component is35 = IsEqual();
    is35.in[0] <== rulesVersion;
    is35.in[1] <== RULES_V35();
    component is36 = IsEqual();
    is36.in[0] <== rulesVersion;
    is36.in[1] <== RULES_V36();
    component is37 = IsEqual();
    is37.in[0] <== rulesVersion;
    is37.in[1] <== RULES_V37();
    is35.out + is36.out + is37.out === 1;   // no other version is modelled
    isV35 <== is35.out;
}

// The user's eMode category, looked up in the market's public table of E entries.
// category 0 is "none": inEmode = 0, bitmap 0. Any other category must be listed exactly once
// (padding entries have id 0, which is never selected); its LT, bonus and collateral bitmap come
// out. Every entry is checked, selected or not, so that the public table has one meaning and each
// of its values is bound: LT <= 10000, bonus < 2^15 (withBonus = 1: the liquidation step, where the
// bonuses are public; the health statements pass zeros) and the bitmap < 2^N (no slot the circuit
// does not have); the selected bitmap's bits are the slots the category covers.
template EModeSelect(N, E, withBonus) {
    signal input category;          // private (committed)
    signal input id[E];
    signal input liqThreshold[E];
    signal input liqBonus[E];
    signal input collateralBitmap[E];
    signal output active;
    signal output lt;
    signal output bonus;
    signal output inBitmap[N];

    component catRange = RangeCheck(EMODE_BITS());   // canonical: a uint8 as Aave stores it
    catRange.in <== category;
    component none = IsZero();
    none.in <== category;
    active <== 1 - none.out;

    component eq[E];
    component ltRange[E];
    component ltMax[E];
    component bonusRange[E];
    component bitmapRange[E];
    signal sel[E];
    var count = 0;
    var pickedLt = 0;
    var pickedBonus = 0;
    var pickedBitmap = 0;
    signal ltTerm[E];
    signal bonusTerm[E];
    signal bitmapTerm[E];
    for (var e = 0; e < E; e++) {
        ltRange[e] = RangeCheck(LT_BITS());          // the entry's LT <= 100.00%
        ltRange[e].in <== liqThreshold[e];
        ltMax[e] = LessEqThan(LT_BITS());
        ltMax[e].in[0] <== liqThreshold[e];
        ltMax[e].in[1] <== 10000;
        ltMax[e].out === 1;
        if (withBonus == 1) {
            bonusRange[e] = RangeCheck(EMODE_BONUS_BITS());   // bounds base * bonus in the step
            bonusRange[e].in <== liqBonus[e];
        }
        bitmapRange[e] = RangeCheck(N);              // only slots the circuit has
        bitmapRange[e].in <== collateralBitmap[e];

        eq[e] = IsEqual();
        eq[e].in[0] <== category;
        eq[e].in[1] <== id[e];
        sel[e] <== eq[e].out * active;
        count += sel[e];
        ltTerm[e] <== sel[e] * liqThreshold[e];
        bonusTerm[e] <== sel[e] * liqBonus[e];
        bitmapTerm[e] <== sel[e] * collateralBitmap[e];
        pickedLt += ltTerm[e];
        pickedBonus += bonusTerm[e];
        pickedBitmap += bitmapTerm[e];
    }
    count === active;   // a category the market does not list (or lists twice) is refused
    lt <== pickedLt;
    bonus <== pickedBonus;

    component bits = Num2Bits(N);
    bits.in <== pickedBitmap;
    for (var i = 0; i < N; i++) { inBitmap[i] <== bits.out[i]; }
}

// What one slot adds to the account data, by the rules (GenericLogic.calculateUserAccountData):
//   counted  = flag and (v3.5: reserve LT != 0)        (v3.5.0 :111; v3.6.0 / v3.7 :105)
//   lt       = the eMode LT if the user's category covers the slot, else the reserve LT
//   weighted = counted * collateralValue * lt,  counted collateral = counted * collateralValue
template SlotAccount() {
    signal input flag;              // a bit (from Num2Bits of the flags)
    signal input isV35;
    signal input liqThreshold;
    signal input inEmode;           // a bit: the user's category covers this slot
    signal input emodeLt;
    signal input collateralValue;
    signal output counted;
    signal output weighted;
    signal output countedValue;

    component ltZero = IsZero();
    ltZero.in <== liqThreshold;
    signal excluded <== isV35 * ltZero.out;            // v3.5 skips LT-0 collateral
    counted <== flag * (1 - excluded);
    signal lt <== liqThreshold + inEmode * (emodeLt - liqThreshold);
    signal value <== collateralValue * lt;             // < 2^(128 + 14)
    weighted <== counted * value;
    countedValue <== counted * collateralValue;
}
