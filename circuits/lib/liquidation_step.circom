pragma circom 2.1.6;

// One Aave v3 liquidation call on a committed position, by one version of the rules (the
// template parameter V: 30500 = v3.5.0, 30600 = v3.6.0, 30700 = v3.7 at main 4fbd744; one
// registry entry each, and the public rulesVersion equals V). It follows aave-v3-origin
// LiquidationLogic.executeLiquidationCall (v3.5.0 :167-431, v3.6.0 :167-439, v3.7 :166-460) with
// _calculateAvailableCollateralToLiquidate, the token burns and transfers on scaled balances
// (TokenMath) and _burnBadDebt, proven without revealing the position: the old commitment opens
// to a position with HF < 1; the collateral flag and eMode, the close factor, the collateral
// seized with the bonus (and the case where the collateral runs out), the protocol fee (capped
// at the scaled balance left), the dust rule, the zero-burn reverts and the deficit rule are
// applied exactly; the new commitment (fresh salt) opens to the position after the call. One
// rule is zkmargin's, not Aave's: the call asks for and repays at least one unit of debt, since
// every step hands the position to a commitment whose salt the liquidator chose.
// zkmargin/liquidation_step.py is the model, line for line.
//
// Widths (see position.circom): scaled balances and balances < 2^128, prices < 2^64,
// 10^decimals <= 10^18 < 2^60, indexes < 2^101, 1 ray < 2^90, values < 2^128, bps < 2^14 (bonus
// and fee < 2^15). Every division below is a DivRound whose quotient and divisor widths add up to
// at most 252 bits, so no equation can wrap.

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

template LiquidationStep(N, E, V) {
    assert(V == RULES_V35() || V == RULES_V36() || V == RULES_V37());
    var V37 = V == RULES_V37() ? 1 : 0;
    // public
    signal input oldCommitment;
    signal input newCommitment;
    signal input rulesVersion;         // = V: a proof under one version is no proof under another
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input liqBonus[N];
    signal input protocolFee[N];
    signal input emodeId[E];
    signal input emodeLiqThreshold[E];
    signal input emodeLiqBonus[E];
    signal input emodeCollateralBitmap[E];
    signal input collateralAsset;      // slot index
    signal input debtAsset;            // slot index
    signal input debtToCover;          // requested, debt-token base units
    signal input receiveAToken;        // 1: the liquidator takes aTokens (no burn of the collateral)
    signal input debtRepaid;           // actualDebtToLiquidate
    signal input collateralToLiquidator;
    signal input protocolFeeAmount;    // paid to the treasury, after the cap
    signal input deficit[N];           // debt written off as each reserve's deficit
    // private
    signal input collateral[N];        // scaled
    signal input debt[N];              // scaled
    signal input collateralFlags;
    signal input eModeCategory;
    signal input salt;
    signal input newSalt;

    rulesVersion === V;

    // --- the old position: commitment, account data, HF < 1 ---
    component acct = AccountData(N, E, 1);
    acct.commitment <== oldCommitment;
    acct.rulesVersion <== rulesVersion;
    acct.price <== price;
    acct.liquidityIndex <== liquidityIndex;
    acct.borrowIndex <== borrowIndex;
    acct.decimals <== decimals;
    acct.liqThreshold <== liqThreshold;
    acct.emodeId <== emodeId;
    acct.emodeLiqThreshold <== emodeLiqThreshold;
    acct.emodeLiqBonus <== emodeLiqBonus;
    acct.emodeCollateralBitmap <== emodeCollateralBitmap;
    acct.collateral <== collateral;
    acct.debt <== debt;
    acct.collateralFlags <== collateralFlags;
    acct.eModeCategory <== eModeCategory;
    acct.salt <== salt;
    signal weighted <== acct.weighted;
    signal totalDebt <== acct.totalDebt;
    signal totalCollateral <== acct.totalCollateral;

    component bonusRange[N];
    component feeRange[N];
    component feeMax[N];
    for (var i = 0; i < N; i++) {
        bonusRange[i] = RangeCheck(BONUS_BITS());   // bonus < 2^15: bounds base * bonus
        bonusRange[i].in <== liqBonus[i];
        feeRange[i] = RangeCheck(LT_BITS());
        feeRange[i].in <== protocolFee[i];
        feeMax[i] = LessEqThan(LT_BITS());          // fee <= 100% of the bonus
        feeMax[i].in[0] <== protocolFee[i];
        feeMax[i].in[1] <== 10000;
        feeMax[i].out === 1;
    }
    // the user's category's bonus is one of the table's, each < 2^15 (EModeSelect)

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
    component pick[17];
    for (var k = 0; k < 17; k++) { pick[k] = Pick(N); }
    for (var i = 0; i < N; i++) {
        pick[0].values[i] <== price[i];                    pick[0].sel[i] <== selC.sel[i];
        pick[1].values[i] <== acct.scale[i];               pick[1].sel[i] <== selC.sel[i];
        pick[2].values[i] <== acct.collateralBalance[i];   pick[2].sel[i] <== selC.sel[i];
        pick[3].values[i] <== liqBonus[i];                 pick[3].sel[i] <== selC.sel[i];
        pick[4].values[i] <== protocolFee[i];              pick[4].sel[i] <== selC.sel[i];
        pick[5].values[i] <== liqThreshold[i];             pick[5].sel[i] <== selC.sel[i];
        pick[6].values[i] <== acct.collateralValue[i];     pick[6].sel[i] <== selC.sel[i];
        pick[7].values[i] <== price[i];                    pick[7].sel[i] <== selD.sel[i];
        pick[8].values[i] <== acct.scale[i];               pick[8].sel[i] <== selD.sel[i];
        pick[9].values[i] <== acct.debtBalance[i];         pick[9].sel[i] <== selD.sel[i];
        pick[10].values[i] <== acct.debtValue[i];          pick[10].sel[i] <== selD.sel[i];
        pick[11].values[i] <== acct.flag[i];               pick[11].sel[i] <== selC.sel[i];
        pick[12].values[i] <== acct.inEmode[i];            pick[12].sel[i] <== selC.sel[i];
        pick[13].values[i] <== liquidityIndex[i];          pick[13].sel[i] <== selC.sel[i];
        pick[14].values[i] <== collateral[i];              pick[14].sel[i] <== selC.sel[i];
        pick[15].values[i] <== borrowIndex[i];             pick[15].sel[i] <== selD.sel[i];
        pick[16].values[i] <== debt[i];                    pick[16].sel[i] <== selD.sel[i];
    }
    signal pc <== pick[0].out;           // collateral price
    signal uc <== pick[1].out;           // collateral unit 10^decimals
    signal collC <== pick[2].out;        // borrowerCollateralBalance = rayMulFloor(s_c, i_c)
    signal feeBps <== pick[4].out;
    signal collInBase <== pick[6].out;   // floor(coll * P / U)
    signal pd <== pick[7].out;
    signal ud <== pick[8].out;
    signal debtD <== pick[9].out;        // borrowerReserveDebt = rayMulCeil(s_d, i_d)
    signal debtInBase <== pick[10].out;  // mulDivCeil(debt, P, U)
    signal flagC <== pick[11].out;
    signal ic <== pick[13].out;          // liquidity index of the collateral
    signal scaledC <== pick[14].out;
    signal idv <== pick[15].out;         // variable-borrow index of the debt
    signal scaledD <== pick[16].out;

    // validateLiquidationCall (v3.5.0 :348-353, v3.6.0 :342-345, v3.7 :287-290): the collateral
    // flag is on, and in v3.5 the reserve's LT != 0 (LT <= 10000 and the flag a bit, so the
    // product is an integer in [0, 10000] and != 0 is >= 1); the debt exists (a balance < 2^128).
    component collateralEnabled = NonZero();
    if (V == RULES_V35()) {
        collateralEnabled.in <== flagC * pick[5].out;
    } else {
        collateralEnabled.in <== flagC;
    }
    component hasDebt = NonZero();
    hasDebt.in <== debtD;

    // the bonus: the eMode category's if it covers the collateral (v3.5.0 :224-237, v3.7 :226-239)
    signal emodeC <== pick[12].out;      // a bit: the category covers the collateral (0 without eMode)
    signal bonus <== pick[3].out + emodeC * (acct.emodeBonus - pick[3].out);
    component bonusZero = IsZero();
    bonusZero.in <== bonus;
    // a non-zero divisor for the divisions by the bonus: with a zero bonus they are never used
    // (maxColl = 0 never exceeds the balance, and the fee is 0)
    signal bonusDiv <== bonus + bonusZero.out;
    component feeZero = IsZero();
    feeZero.in <== feeBps;
    // a protocol fee with a zero bonus (v3.6+ LT-0 collateral outside eMode): Aave's percentDiv
    // by the bonus reverts (revert(0, 0)). Refused: the fee is 0 or the bonus is not.
    component feeNeedsBonus = Implies();
    feeNeedsBonus.a <== 1 - feeZero.out;
    feeNeedsBonus.b <== 1 - bonusZero.out;

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

    // --- collateral to liquidate (v3.5.0 :609-660, v3.6.0 :564-615, v3.7 :583-625) ---
    // base = floor(P_d * actualDebt * U_c / (P_c * U_d)); the numerator is < 2^252
    signal pdDebt <== pd * actualDebt;
    component base = DivRound(AMOUNT_BITS(), PRICE_BITS() + DEC_SCALE_BITS(), 0);
    base.n <== pdDebt * uc;
    base.d <== pc * ud;
    // maxColl = percentMul(base, bonus), half up (v3.5, v3.6); percentMulFloor (v3.7 :603)
    component maxColl = DivRound(AMOUNT_BITS() + BONUS_BITS(), 14, 0);
    maxColl.n <== base.q * bonus + 5000 * (1 - V37);
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
    debtNeeded.d <== bonusDiv;
    debtRepaid === actualDebt + runsOut.out * (debtNeeded.q - actualDebt);
    // debtRepaid >= 1, as the model requires: debtToCover >= 1 alone does not ensure it, since the
    // close factor can cap the debt at floor(percentMul(TD, 50%) * U_d / P_d) = 0 (one unit of a
    // debt token worth more than half of all debt) and a collateral worth less than one debt unit
    // gives debtNeeded = 0; the step would again retire the owner's commitment for nothing.
    // debtRepaid is an integer in [0, 2^128): by the line above it is actualDebt or debtNeeded.q
    // (runsOut, askMore and useCap are bits), i.e. debtToCover (dtcRange), debt_d (a DivRound
    // quotient), cappedDebt.q or debtNeeded.q (each a DivRound quotient < 2^128). So != 0 is >= 1.
    component repaysSomething = NonZero();
    repaysSomething.in <== debtRepaid;

    component collLiquidatedInBase = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 0);
    collLiquidatedInBase.n <== collAmount * pc;
    collLiquidatedInBase.d <== uc;

    // fee: v3.5/v3.6 percentMul(collAmount - percentDiv(collAmount, bonus), feeBps), both half up;
    // v3.7 percentMulCeil(collAmount - percentDivFloor(collAmount, bonus), feeBps). Computed on
    // feeColl = collAmount, or 0 with a zero bonus (then the fee is 0: feeNeedsBonus).
    signal feeColl <== collAmount * (1 - bonusZero.out);
    signal halfBonus;
    halfBonus <-- bonusDiv \ 2;
    component bonusBits = Num2Bits(BONUS_BITS() + 1);
    bonusBits.in <== bonusDiv;
    bonusDiv === 2 * halfBonus + bonusBits.out[0];   // halfBonus = floor(bonus / 2), unique given the bits
    component withoutBonus = DivRound(AMOUNT_BITS() + 1, BONUS_BITS() + 1, 0);
    withoutBonus.n <== feeColl * 10000 + halfBonus * (1 - V37);
    withoutBonus.d <== bonusDiv;
    // feeColl - withoutBonus >= 0 for a bonus >= 100% (PoolConfigurator); the range check of the
    // fee quotient below refuses anything else
    component fee = DivRound(AMOUNT_BITS(), 14, V37);
    fee.n <== (feeColl - withoutBonus.q) * feeBps + 5000 * (1 - V37);
    fee.d <== 10000;
    signal feeRaw <== fee.q;
    collateralToLiquidator === collAmount - feeRaw;

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

    // --- scaled collateral: to the liquidator, to the treasury (TokenMath: rayDivCeil both) ---
    component toLiqScaled = DivRound(AMOUNT_BITS(), INDEX_BITS() + 1, 1);
    toLiqScaled.n <== collateralToLiquidator * RAY();
    toLiqScaled.d <== ic;
    component feeScaled = DivRound(AMOUNT_BITS(), INDEX_BITS() + 1, 1);
    feeScaled.n <== feeRaw * RAY();
    feeScaled.d <== ic;
    // InvalidBurnAmount: burning the liquidator's collateral must burn some scaled aTokens
    // (AToken.burn -> _burnScaled), unless the liquidator takes the aTokens instead
    receiveAToken * (receiveAToken - 1) === 0;
    // When some scaled collateral moves, both choices leave the position the same (the flag only
    // refuses a zero burn); squared, like an attestation's context, so that the proof binds the
    // liquidator's choice (the pool pays aTokens or the underlying by it).
    signal receiveATokenSq <== receiveAToken * receiveAToken;
    component liqBurnZero = IsZero();
    liqBurnZero.in <== toLiqScaled.q;
    component collateralBurn = Implies();
    collateralBurn.a <== 1 - receiveAToken;
    collateralBurn.b <== 1 - liqBurnZero.out;
    // the balance left after the liquidator's share (never negative: toLiqScaled <= s_c)
    signal scaledLeft <== scaledC - toLiqScaled.q;
    component scaledLeftRange = RangeCheck(AMOUNT_BITS());
    scaledLeftRange.in <== scaledLeft;
    // the fee's scaled amount is capped at that balance, and then pays rayMulFloor(left, i_c)
    // (v3.5.0 :384-406, v3.6.0 :392-414, v3.7 :413-435)
    component feeCapped = LessThan(AMOUNT_BITS());
    feeCapped.in[0] <== scaledLeft;
    feeCapped.in[1] <== feeScaled.q;
    signal toTreasury <== feeScaled.q + feeCapped.out * (scaledLeft - feeScaled.q);
    component cappedFee = DivRound(AMOUNT_BITS(), RAY_BITS(), 0);
    signal cappedLeft <== feeCapped.out * scaledLeft;
    cappedFee.n <== cappedLeft * ic;
    cappedFee.d <== RAY();
    protocolFeeAmount === feeRaw + feeCapped.out * (cappedFee.q - feeRaw);
    signal newScaledC <== scaledLeft - toTreasury;

    // --- no collateral left (deficit), and the collateral flag ---
    signal noneLeft;
    signal clearFlag;
    if (V37 == 1) {
        // v3.7 :341-377: the value of the consumed scaled balance, capped at the balance, is TC;
        // the flag goes when the scaled balance is fully consumed or no collateral is left
        signal consumedRaw <== toLiqScaled.q + feeScaled.q;
        component overBalance = LessThan(AMOUNT_BITS() + 1);
        overBalance.in[0] <== scaledC;
        overBalance.in[1] <== consumedRaw;
        signal consumed <== consumedRaw + overBalance.out * (scaledC - consumedRaw);
        component consumedBal = DivRound(AMOUNT_BITS(), RAY_BITS(), 0);
        consumedBal.n <== consumed * ic;
        consumedBal.d <== RAY();
        component consumedBase = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 0);
        consumedBase.n <== consumedBal.q * pc;
        consumedBase.d <== uc;
        component noneLeftEq = IsEqual();
        noneLeftEq.in[0] <== totalCollateral;
        noneLeftEq.in[1] <== consumedBase.q;
        noneLeft <== noneLeftEq.out;
        component fully = IsEqual();
        fully.in[0] <== consumed;
        fully.in[1] <== scaledC;
        clearFlag <== fully.out + noneLeft - fully.out * noneLeft;   // or
    } else {
        // v3.5.0/v3.6.0 :326-341: TC equals the seized value; the flag goes when all is seized
        component noneLeftEq = IsEqual();
        noneLeftEq.in[0] <== totalCollateral;
        noneLeftEq.in[1] <== collLiquidatedInBase.q;
        noneLeft <== noneLeftEq.out;
        clearFlag <== someCollLeft.out;
    }

    // --- debt: burn rayDivFloor(actualDebt, i_d) scaled; with no collateral left, every debt is
    // burnt and booked as deficit (_burnDebtTokens, _burnBadDebt) ---
    component debtBurn = DivRound(AMOUNT_BITS(), INDEX_BITS() + 1, 0);
    debtBurn.n <== debtRepaid * RAY();
    debtBurn.d <== idv;
    // InvalidBurnAmount: a partial burn must burn some scaled debt (the full burn on no collateral
    // left burns the whole scaled balance, >= 1 since the debt exists)
    component debtBurnZero = IsZero();
    debtBurnZero.in <== debtBurn.q;
    component debtBurnt = Implies();
    debtBurnt.a <== 1 - noneLeft;
    debtBurnt.b <== 1 - debtBurnZero.out;
    signal newScaledD <== scaledD - debtBurn.q;
    component newScaledDRange = RangeCheck(AMOUNT_BITS());   // never negative: burn <= s_d
    newScaledDRange.in <== newScaledD;

    // --- the new position ---
    component newCom = PositionCommitment(N);
    signal collAfter[N];
    signal debtAfterRepay[N];
    signal deficitDue[N];
    var flagBit = 0;
    for (var i = 0; i < N; i++) {
        collAfter[i] <== collateral[i] + selC.sel[i] * (newScaledC - scaledC);
        newCom.collateral[i] <== collAfter[i];
        debtAfterRepay[i] <== debt[i] + selD.sel[i] * (newScaledD - scaledD);
        newCom.debt[i] <== (1 - noneLeft) * debtAfterRepay[i];
        // deficit: the balance not repaid, on every reserve, when no collateral is left
        deficitDue[i] <== acct.debtBalance[i] - selD.sel[i] * debtRepaid;
        deficit[i] === noneLeft * deficitDue[i];
        flagBit += selC.sel[i] * (1 << i);
    }
    // the collateral's flag (on: collateralEnabled) is cleared when the rule above says so
    newCom.collateralFlags <== collateralFlags - clearFlag * flagBit;
    newCom.eModeCategory <== eModeCategory;
    newCom.salt <== newSalt;
    newCom.out === newCommitment;
}
