pragma circom 2.1.6;

// One Aave v3.5 liquidation call on a committed position (aave-v3-origin
// LiquidationLogic.executeLiquidationCall and _calculateAvailableCollateralToLiquidate),
// proven without revealing the position: the old commitment opens to a position with
// HF < 1; the close factor, the collateral seized with the bonus (and the case where the
// collateral runs out), the protocol fee, the dust rule and the deficit rule are applied
// exactly; the new commitment (fresh salt) opens to the position after the call. One rule is
// zkmargin's, not Aave's: the call asks for and repays at least one unit of debt, since every
// step hands the position to a commitment whose salt the liquidator chose.
//
// Widths (see position.circom): amounts < 2^128, prices < 2^64, 10^decimals <= 10^18 < 2^60,
// values < 2^128, bps < 2^14 (bonus and fee < 2^15). Every division below is a DivRound
// whose quotient and divisor widths add up to at most 252 bits, so no equation can wrap.

include "health.circom";

function MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD() { return 200000000000; }   // 2000e8
function MIN_LEFTOVER_BASE() { return 100000000000; }                     // 1000e8
function CLOSE_FACTOR_HF_THRESHOLD() { return 950000000000000000; }       // 0.95e18
function BONUS_BITS() { return 15; }

// One-hot selector of index `index` among N slots; rejects index >= N.
template Selector(N) {
    signal input index;
    signal output sel[N];
    component eq[N];
    var total = 0;
    for (var i = 0; i < N; i++) {
        eq[i] = IsEqual();
        eq[i].in[0] <== index;
        eq[i].in[1] <== i;
        sel[i] <== eq[i].out;
        total += eq[i].out;
    }
    total === 1;   // exactly one slot: the index is one of 0..N-1
}

// sum_i sel[i] * values[i]
template Pick(N) {
    signal input sel[N];
    signal input values[N];
    signal output out;
    signal terms[N];
    var acc = 0;
    for (var i = 0; i < N; i++) {
        terms[i] <== sel[i] * values[i];
        acc += terms[i];
    }
    out <== acc;
}

// in != 0: a zero has no inverse, so in * inv === 1 fails whatever inv the prover picks. For a
// caller that has bounded `in` to an integer in [0, 2^n), n <= 252, this is in >= 1. Each refusal
// of the step is one such named component, so that a failing witness names the rule it breaks
// (tests/test_step_refusals.py relies on it).
template NonZero() {
    signal input in;
    signal inv;
    inv <-- in != 0 ? 1 / in : 0;
    in * inv === 1;
}

// a => b for bits a and b (a = 1 forces b = 1); a refusal like NonZero.
template Implies() {
    signal input a;
    signal input b;
    a * (1 - b) === 0;
}

// a >= b for inputs < 2^n
template Gte(n) {
    signal input a;
    signal input b;
    signal output out;
    component lt = LessThan(n);
    lt.in[0] <== a;
    lt.in[1] <== b;
    out <== 1 - lt.out;
}

template LiquidationStep(N) {
    // public
    signal input oldCommitment;
    signal input newCommitment;
    signal input price[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input liqBonus[N];
    signal input protocolFee[N];
    signal input collateralAsset;      // slot index
    signal input debtAsset;            // slot index
    signal input debtToCover;          // requested, debt-token base units
    signal input debtRepaid;           // actualDebtToLiquidate
    signal input collateralToLiquidator;
    signal input protocolFeeAmount;
    signal input deficit;              // 1: no collateral value left, all debt burned
    // private
    signal input collateral[N];
    signal input debt[N];
    signal input salt;
    signal input newSalt;

    // --- the old position: commitment, valuation, HF < 1 ---
    component oldCom = PositionCommitment(N);
    oldCom.collateral <== collateral;
    oldCom.debt <== debt;
    oldCom.salt <== salt;
    oldCom.out === oldCommitment;

    component params[N];
    component val[N];
    component bonusRange[N];
    component feeRange[N];
    component feeMax[N];
    component ltZero[N];
    signal counted[N];
    var weighted = 0;
    var totalDebt = 0;
    var totalCollateral = 0;
    for (var i = 0; i < N; i++) {
        params[i] = AssetParams();
        params[i].price <== price[i];
        params[i].decimals <== decimals[i];
        params[i].liqThreshold <== liqThreshold[i];
        val[i] = AssetValuation();
        val[i].collateral <== collateral[i];
        val[i].debt <== debt[i];
        val[i].price <== price[i];
        val[i].scale <== params[i].scale;
        val[i].liqThreshold <== liqThreshold[i];
        weighted += val[i].weighted;
        totalDebt += val[i].debtValue;
        // Aave counts a reserve in totalCollateral only if its LT != 0
        ltZero[i] = IsZero();
        ltZero[i].in <== liqThreshold[i];
        counted[i] <== val[i].collateralValue * (1 - ltZero[i].out);
        totalCollateral += counted[i];
        bonusRange[i] = RangeCheck(BONUS_BITS());   // bonus < 2^15: bounds base * bonus
        bonusRange[i].in <== liqBonus[i];
        feeRange[i] = RangeCheck(LT_BITS());
        feeRange[i].in <== protocolFee[i];
        feeMax[i] = LessEqThan(LT_BITS());          // fee <= 100% of the bonus
        feeMax[i].in[0] <== protocolFee[i];
        feeMax[i].in[1] <== 10000;
        feeMax[i].out === 1;
    }
    component hfBelowOne = HealthFactorCompare(N, 1);
    hfBelowOne.weightedCollateral <== weighted;
    hfBelowOne.totalDebt <== totalDebt;
    hfBelowOne.threshold <== 1000000000000000000;
    // HF <= 0.95 (i.e. HF < 0.95e18 + 1), same division-free form, as a bit
    var L = ceilLog2(N);
    component hfLow = LessThan(64 + VALUE_BITS() + L + 14);
    hfLow.in[0] <== weighted * 1000000000000000000 + hfBelowOne.halfDebt;
    hfLow.in[1] <== totalDebt * (CLOSE_FACTOR_HF_THRESHOLD() + 1) * 10000;

    // --- the two reserves of the call ---
    component selC = Selector(N);
    selC.index <== collateralAsset;
    component selD = Selector(N);
    selD.index <== debtAsset;
    component pick[12];
    for (var k = 0; k < 12; k++) { pick[k] = Pick(N); }
    for (var i = 0; i < N; i++) {
        pick[0].values[i] <== price[i];          pick[0].sel[i] <== selC.sel[i];
        pick[1].values[i] <== params[i].scale;   pick[1].sel[i] <== selC.sel[i];
        pick[2].values[i] <== collateral[i];     pick[2].sel[i] <== selC.sel[i];
        pick[3].values[i] <== liqBonus[i];       pick[3].sel[i] <== selC.sel[i];
        pick[4].values[i] <== protocolFee[i];    pick[4].sel[i] <== selC.sel[i];
        pick[5].values[i] <== liqThreshold[i];   pick[5].sel[i] <== selC.sel[i];
        pick[6].values[i] <== val[i].collateralValue; pick[6].sel[i] <== selC.sel[i];
        pick[7].values[i] <== price[i];          pick[7].sel[i] <== selD.sel[i];
        pick[8].values[i] <== params[i].scale;   pick[8].sel[i] <== selD.sel[i];
        pick[9].values[i] <== debt[i];           pick[9].sel[i] <== selD.sel[i];
        pick[10].values[i] <== val[i].debtValue; pick[10].sel[i] <== selD.sel[i];
        pick[11].values[i] <== bonusRange[i].in; pick[11].sel[i] <== selC.sel[i];
    }
    signal pc <== pick[0].out;      // collateral price
    signal uc <== pick[1].out;      // collateral unit 10^decimals
    signal collC <== pick[2].out;   // borrowerCollateralBalance
    signal bonus <== pick[3].out;
    signal feeBps <== pick[4].out;
    signal collInBase <== pick[6].out;   // floor(coll * P / U)
    signal pd <== pick[7].out;
    signal ud <== pick[8].out;
    signal debtD <== pick[9].out;        // borrowerReserveDebt
    signal debtInBase <== pick[10].out;  // ceil(debt * P / U)

    // validateLiquidationCall: the collateral is enabled (LT != 0, balance != 0), the debt exists.
    // LT, balance and debt are picked from values range-checked above (LT <= 10000, amounts
    // < 2^128), so != 0 is >= 1.
    component collateralEnabled = NonZero();
    collateralEnabled.in <== pick[5].out;
    component hasCollateral = NonZero();
    hasCollateral.in <== collC;
    component hasDebt = NonZero();
    hasDebt.in <== debtD;

    // --- close factor ---
    component bigColl = Gte(VALUE_BITS() + 1);
    bigColl.a <== collInBase;
    bigColl.b <== MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD();
    component bigDebt = Gte(VALUE_BITS() + 1);
    bigDebt.a <== debtInBase;
    bigDebt.b <== MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD();
    signal bothBig <== bigColl.out * bigDebt.out;
    signal closeFactorApplies <== bothBig * hfLow.out * (-1) + bothBig;   // and HF > 0.95
    // totalDefault = percentMul(TD, 50%) = (TD * 5000 + 5000) / 10000
    component totalDefault = DivRound(VALUE_BITS() + L, 14, 0);
    totalDefault.n <== totalDebt * 5000 + 5000;
    totalDefault.d <== 10000;
    component over = LessThan(VALUE_BITS() + L + 1);
    over.in[0] <== totalDefault.q;
    over.in[1] <== debtInBase;
    signal useCap <== closeFactorApplies * over.out;
    // floor(totalDefault * U_d / P_d), computed on useCap * totalDefault: when the cap applies
    // it is below debt_d < 2^128, and the unused branch is 0 instead of an unbounded quotient
    signal cappedBase <== useCap * totalDefault.q;
    component cappedDebt = DivRound(AMOUNT_BITS(), PRICE_BITS(), 0);
    cappedDebt.n <== cappedBase * ud;
    cappedDebt.d <== pd;
    signal maxLiquidatable <== debtD + useCap * (cappedDebt.q - debtD);

    // actualDebt = min(debtToCover, maxLiquidatable)
    component dtcRange = RangeCheck(AMOUNT_BITS());
    dtcRange.in <== debtToCover;
    // debtToCover >= 1, as the model requires: a call that asks for nothing would still retire
    // the owner's commitment and activate one whose salt only the liquidator knows (Aave's
    // validateLiquidationCall has no such check; zkmargin deviates on purpose). debtToCover is an
    // integer in [0, 2^128) by dtcRange, so != 0 is >= 1.
    component asksSomething = NonZero();
    asksSomething.in <== debtToCover;
    component askMore = LessThan(AMOUNT_BITS());
    askMore.in[0] <== maxLiquidatable;
    askMore.in[1] <== debtToCover;
    signal actualDebt <== debtToCover + askMore.out * (maxLiquidatable - debtToCover);

    // --- collateral to liquidate ---
    // base = floor(P_d * actualDebt * U_c / (P_c * U_d)); the numerator is < 2^252
    signal pdDebt <== pd * actualDebt;
    component base = DivRound(AMOUNT_BITS(), PRICE_BITS() + DEC_SCALE_BITS(), 0);
    base.n <== pdDebt * uc;
    base.d <== pc * ud;
    component maxColl = DivRound(AMOUNT_BITS() + BONUS_BITS(), 14, 0);       // percentMul(base, bonus)
    maxColl.n <== base.q * bonus + 5000;
    maxColl.d <== 10000;
    component runsOut = LessThan(AMOUNT_BITS() + BONUS_BITS());              // maxColl > coll_c
    runsOut.in[0] <== collC;
    runsOut.in[1] <== maxColl.q;
    signal collAmount <== maxColl.q + runsOut.out * (collC - maxColl.q);
    // when the collateral runs out: debt = percentDivCeil(floor(P_c * coll * U_d / (P_d * U_c)), bonus);
    // computed on runsOut * coll so that the unused branch stays in range
    signal cappedColl <== runsOut.out * collC;
    signal pcColl <== pc * cappedColl;
    component collAsDebt = DivRound(AMOUNT_BITS(), PRICE_BITS() + DEC_SCALE_BITS(), 0);
    collAsDebt.n <== pcColl * ud;
    collAsDebt.d <== pd * uc;
    component debtNeeded = DivRound(AMOUNT_BITS(), BONUS_BITS(), 1);          // percentDivCeil
    debtNeeded.n <== collAsDebt.q * 10000;
    debtNeeded.d <== bonus;
    debtRepaid === actualDebt + runsOut.out * (debtNeeded.q - actualDebt);
    // debtRepaid >= 1, as the model requires: debtToCover >= 1 alone does not ensure it, since the
    // close factor can cap the debt at floor(percentMul(TD, 50%) * U_d / P_d) = 0 (one unit of a
    // debt token worth more than half of all debt) and a collateral worth less than one debt unit
    // gives debtNeeded = 0; the step would again retire the owner's commitment for nothing.
    // debtRepaid is an integer in [0, 2^128): by the line above it is actualDebt or debtNeeded.q
    // (runsOut, askMore and useCap are bits), i.e. debtToCover (dtcRange), debt_d (val[d].dRange),
    // cappedDebt.q or debtNeeded.q (each a DivRound quotient < 2^128). So != 0 is >= 1.
    component repaysSomething = NonZero();
    repaysSomething.in <== debtRepaid;

    component collLiquidatedInBase = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 0);
    collLiquidatedInBase.n <== collAmount * pc;
    collLiquidatedInBase.d <== uc;

    // fee = percentMul(collAmount - percentDiv(collAmount, bonus), feeBps); percentDiv rounds half up
    signal halfBonus;
    halfBonus <-- bonus \ 2;
    component bonusBits = Num2Bits(BONUS_BITS());
    bonusBits.in <== bonus;
    bonus === 2 * halfBonus + bonusBits.out[0];   // halfBonus = floor(bonus / 2), unique given the bits
    component withoutBonus = DivRound(AMOUNT_BITS() + 1, BONUS_BITS(), 0);
    withoutBonus.n <== collAmount * 10000 + halfBonus;
    withoutBonus.d <== bonus;
    component fee = DivRound(AMOUNT_BITS(), 14, 0);
    fee.n <== (collAmount - withoutBonus.q) * feeBps + 5000;
    fee.d <== 10000;
    protocolFeeAmount === fee.q;
    collateralToLiquidator === collAmount - fee.q;

    // --- what remains; Aave's checked subtraction becomes a range check ---
    signal collLeft <== collC - collAmount;
    signal debtLeft <== debtD - debtRepaid;
    component collLeftRange = RangeCheck(AMOUNT_BITS());
    collLeftRange.in <== collLeft;
    component debtLeftRange = RangeCheck(AMOUNT_BITS());
    debtLeftRange.in <== debtLeft;

    // dust rule: a partial liquidation (some debt and some collateral remain) must leave
    // >= 1000e8 of each in base currency
    component someDebtLeft = IsZero();
    someDebtLeft.in <== debtLeft;
    component someCollLeft = IsZero();
    someCollLeft.in <== collLeft;
    signal partial <== (1 - someDebtLeft.out) * (1 - someCollLeft.out);
    component leftDebtValue = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 1);
    leftDebtValue.n <== debtLeft * pd;
    leftDebtValue.d <== ud;
    component leftCollValue = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 0);
    leftCollValue.n <== collLeft * pc;
    leftCollValue.d <== uc;
    component okDebt = Gte(VALUE_BITS() + 1);
    okDebt.a <== leftDebtValue.q;
    okDebt.b <== MIN_LEFTOVER_BASE();
    component okColl = Gte(VALUE_BITS() + 1);
    okColl.a <== leftCollValue.q;
    okColl.b <== MIN_LEFTOVER_BASE();
    signal bothOk <== okDebt.out * okColl.out;
    component noDust = Implies();   // MustNotLeaveDust
    noDust.a <== partial;
    noDust.b <== bothOk;

    // deficit: no collateral value left -> every debt is burned
    component noneLeft = IsEqual();
    noneLeft.in[0] <== totalCollateral;
    noneLeft.in[1] <== collLiquidatedInBase.q;
    deficit === noneLeft.out;

    // --- the new position ---
    deficit * (deficit - 1) === 0;
    component newCom = PositionCommitment(N);
    signal debtAfterRepay[N];
    for (var i = 0; i < N; i++) {
        newCom.collateral[i] <== collateral[i] - selC.sel[i] * collAmount;
        debtAfterRepay[i] <== debt[i] - selD.sel[i] * debtRepaid;
        newCom.debt[i] <== (1 - deficit) * debtAfterRepay[i];
    }
    newCom.salt <== newSalt;
    newCom.out === newCommitment;
}
