pragma circom 2.1.6;

// The liquidation of a private-pool note: one Aave v3.5.0 liquidation call
// (LiquidationLogic.executeLiquidationCall :167-431, aave-v3-origin 6138e1f, paths under
// src/contracts/protocol/libraries/logic/) on a note of the tree, proven by whoever holds its
// opening (the keepers of issue #15; no spending key). zkmargin/pool/liquidation.py is the model:
// it runs zkmargin/liquidation_step.py `liquidate` at rules v3.5 on the note's scaled balances.
//
// It is LiquidationStep(N, E, 30500) of liquidation_step.circom with the pool's simplifications,
// line for line otherwise:
//   - the position is a note (pool.circom): a leaf under the public `root`, spent as `nullifier`;
//   - no eMode (the pool has none): the bonus is the collateral reserve's, every LT the reserve's;
//   - the liquidator always receives the underlying (receiveAToken = 0: the pool has no aTokens),
//     so the zero-burn refusal of the liquidator's share always applies;
//   - the collateral reserve's bonus must be > 100% (PoolConfigurator's rule for every reserve with
//     LT != 0, and v3.5 refuses LT-0 collateral), so no division by a zero bonus is ever needed;
//   - the new note keeps the owner's tag and gets the salt
//         newSalt = Poseidon(DOMAIN_LIQUIDATION_SALT, salt, nullifier)
//     which the owner (who knows salt) recomputes from public data alone; the nullifier, unique
//     per spent note, makes the new commitments of two liquidations differ (README, "Liquidation in the pool").
// Widths as in liquidation_step.circom: scaled balances and balances < 2^128, prices < 2^64,
// 10^decimals < 2^60, indexes < 2^101, values < 2^128, bps < 2^14, bonus < 2^15. Every division
// is a DivRound whose quotient and divisor widths add up to at most 252 bits.

include "pool.circom";

// int.from_bytes(b"zkmargin/pool/liq-salt/v1", "big") (zkmargin/pool/liquidation.py)
function DOMAIN_LIQUIDATION_SALT() { return 768440520668219825864162440555796036847685946743374293726769; }

// Poseidon(DOMAIN_LIQUIDATION_SALT, salt, nullifier): the liquidated note's successor's salt.
template LiquidationSalt() {
    signal input salt;
    signal input nullifier;
    signal output out;
    component h = Poseidon(3);
    h.inputs[0] <== DOMAIN_LIQUIDATION_SALT();
    h.inputs[1] <== salt;
    h.inputs[2] <== nullifier;
    out <== h.out;
}

template PoolLiquidation(N, MAX_DEPTH, K) {
    assert(N >= 1 && N <= 5);
    var L = ceilLog2(N);
    var CT = pad3(2 * N + 5) + 1;
    // public (this order is circuits.json's: the pool contract reproduces it)
    signal input root;
    signal input nullifier;
    signal input newCommitment;
    signal input collateralAsset;          // reserve index
    signal input debtAsset;                // reserve index
    signal input debtToCover;              // requested, debt-token base units
    signal input debtRepaid;               // actualDebtToLiquidate: the liquidator pays it
    signal input collateralToLiquidator;   // collateral tokens to the liquidator
    signal input protocolFee;              // collateral tokens to the treasury, after the cap
    signal input deficit[N];               // debt written off per reserve (no collateral left)
    signal input binding;                  // keccak(chainid, pool, liquidator, recipient) >> 8
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input liquidationBonus[N];
    signal input liquidationProtocolFee[N];
    signal input keeperKey[K - 1][2];      // the pool's registered keys
    signal input ephemeralPublicKey[2];    // the successor sealed to the owner and the keepers
    signal input ciphertext[K][CT];
    // private: the note's opening and its path, the seal's ephemeral secret
    signal input ownerTag;
    signal input salt;
    signal input collateralFlags;
    signal input scaledCollateral[N];
    signal input scaledDebt[N];
    signal input viewKey[2];               // the owner's, committed in the note: the successor keeps it
    signal input pathLength;
    signal input pathIndex;
    signal input siblings[MAX_DEPTH];
    signal input ephemeralSecret;

    // --- the note: in the tree under root, spent as nullifier ---
    component old = NoteCommitment(N);
    old.ownerTag <== ownerTag;
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

    // --- account data (v3.5, no eMode): the market checked per reserve, the note's balances
    // range-checked (AssetValuation), flags one bit per reserve ---
    component flags = Num2Bits(N);
    flags.in <== collateralFlags;
    component params[N];
    component val[N];
    component acc[N];
    var w = 0;
    var td = 0;
    var tc = 0;
    for (var i = 0; i < N; i++) {
        params[i] = AssetParams();
        params[i].price <== price[i];
        params[i].decimals <== decimals[i];
        params[i].liqThreshold <== liqThreshold[i];
        params[i].liquidityIndex <== liquidityIndex[i];
        params[i].borrowIndex <== borrowIndex[i];
        val[i] = AssetValuation();
        val[i].collateral <== scaledCollateral[i];
        val[i].debt <== scaledDebt[i];
        val[i].liquidityIndex <== liquidityIndex[i];
        val[i].borrowIndex <== borrowIndex[i];
        val[i].price <== price[i];
        val[i].scale <== params[i].scale;
        acc[i] = SlotAccount();
        acc[i].flag <== flags.out[i];
        acc[i].isV35 <== 1;
        acc[i].liqThreshold <== liqThreshold[i];
        acc[i].inEmode <== 0;
        acc[i].emodeLt <== 0;
        acc[i].collateralValue <== val[i].collateralValue;
        w += acc[i].weighted;
        td += val[i].debtValue;
        tc += acc[i].countedValue;
    }
    signal weighted <== w;
    signal totalDebt <== td;
    signal totalCollateral <== tc;

    component bonusRange[N];
    component feeRange[N];
    component feeMax[N];
    for (var i = 0; i < N; i++) {
        bonusRange[i] = RangeCheck(BONUS_BITS());   // bonus < 2^15: bounds base * bonus
        bonusRange[i].in <== liquidationBonus[i];
        feeRange[i] = RangeCheck(LT_BITS());        // precondition of the comparator
        feeRange[i].in <== liquidationProtocolFee[i];
        feeMax[i] = LessEqThan(LT_BITS());          // fee <= 100% of the bonus
        feeMax[i].in[0] <== liquidationProtocolFee[i];
        feeMax[i].in[1] <== 10000;
        feeMax[i].out === 1;
    }

    // --- HF < 1 (HealthFactorNotBelowThreshold), and HF <= 0.95 as a bit for the close factor ---
    component hfBelowOne = HealthFactorCompare(N, 1);
    hfBelowOne.weightedCollateral <== weighted;
    hfBelowOne.totalDebt <== totalDebt;
    hfBelowOne.threshold <== WAD();
    component hfLow = LessThan(64 + VALUE_BITS() + L + 14);   // HF < 0.95e18 + 1, division-free
    hfLow.in[0] <== weighted * WAD() + hfBelowOne.halfDebt;
    hfLow.in[1] <== totalDebt * (CLOSE_FACTOR_HF_THRESHOLD() + 1) * 10000;

    // --- the two reserves of the call ---
    component selC = Selector(N);
    selC.index <== collateralAsset;
    component selD = Selector(N);
    selD.index <== debtAsset;
    component pick[16];
    for (var k = 0; k < 16; k++) { pick[k] = Pick(N); }
    for (var i = 0; i < N; i++) {
        pick[0].values[i] <== price[i];                    pick[0].sel[i] <== selC.sel[i];
        pick[1].values[i] <== params[i].scale;             pick[1].sel[i] <== selC.sel[i];
        pick[2].values[i] <== val[i].collateralBalance;    pick[2].sel[i] <== selC.sel[i];
        pick[3].values[i] <== liquidationBonus[i];         pick[3].sel[i] <== selC.sel[i];
        pick[4].values[i] <== liquidationProtocolFee[i];   pick[4].sel[i] <== selC.sel[i];
        pick[5].values[i] <== liqThreshold[i];             pick[5].sel[i] <== selC.sel[i];
        pick[6].values[i] <== val[i].collateralValue;      pick[6].sel[i] <== selC.sel[i];
        pick[7].values[i] <== price[i];                    pick[7].sel[i] <== selD.sel[i];
        pick[8].values[i] <== params[i].scale;             pick[8].sel[i] <== selD.sel[i];
        pick[9].values[i] <== val[i].debtBalance;          pick[9].sel[i] <== selD.sel[i];
        pick[10].values[i] <== val[i].debtValue;           pick[10].sel[i] <== selD.sel[i];
        pick[11].values[i] <== flags.out[i];               pick[11].sel[i] <== selC.sel[i];
        pick[12].values[i] <== liquidityIndex[i];          pick[12].sel[i] <== selC.sel[i];
        pick[13].values[i] <== scaledCollateral[i];        pick[13].sel[i] <== selC.sel[i];
        pick[14].values[i] <== borrowIndex[i];             pick[14].sel[i] <== selD.sel[i];
        pick[15].values[i] <== scaledDebt[i];              pick[15].sel[i] <== selD.sel[i];
    }
    signal pc <== pick[0].out;           // collateral price
    signal uc <== pick[1].out;           // collateral unit 10^decimals
    signal collC <== pick[2].out;        // borrowerCollateralBalance = rayMulFloor(s_c, i_c)
    signal bonus <== pick[3].out;        // the reserve's bonus (no eMode in the pool)
    signal feeBps <== pick[4].out;
    signal collInBase <== pick[6].out;   // floor(coll * P / U)
    signal pd <== pick[7].out;
    signal ud <== pick[8].out;
    signal debtD <== pick[9].out;        // borrowerReserveDebt = rayMulCeil(s_d, i_d)
    signal debtInBase <== pick[10].out;  // mulDivCeil(debt, P, U)
    signal ic <== pick[12].out;          // liquidity index of the collateral
    signal scaledC <== pick[13].out;
    signal idv <== pick[14].out;         // variable-borrow index of the debt
    signal scaledD <== pick[15].out;

    // validateLiquidationCall v3.5.0 :348-353: the collateral flag is on and its reserve LT != 0
    // (a bit times an LT <= 10000: != 0 is >= 1); :339-342 the debt exists (a balance < 2^128)
    component collateralEnabled = NonZero();
    collateralEnabled.in <== pick[11].out * pick[5].out;
    component hasDebt = NonZero();
    hasDebt.in <== debtD;

    // the bonus of a liquidatable collateral (LT != 0, just above) is > 100%: PoolConfigurator's
    // configureReserveAsCollateral requires it, the model refuses less (InputError), and the
    // divisions by the bonus below need a non-zero divisor. bonus < 2^15 (bonusRange, one-hot pick).
    component bonusAbove = Gte(BONUS_BITS());
    bonusAbove.a <== bonus;
    bonusAbove.b <== 10001;
    bonusAbove.out === 1;

    // --- close factor (:245-276): 50% only when both >= 2000e8 and HF > 0.95 ---
    component bigColl = Gte(VALUE_BITS() + 1);
    bigColl.a <== collInBase;
    bigColl.b <== MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD();
    component bigDebt = Gte(VALUE_BITS() + 1);
    bigDebt.a <== debtInBase;
    bigDebt.b <== MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD();
    signal bothBig <== bigColl.out * bigDebt.out;
    signal closeFactorApplies <== bothBig - bothBig * hfLow.out;   // and HF > 0.95
    component totalDefault = DivRound(VALUE_BITS() + L, 14, 0);    // percentMul(TD, 50%), half up
    totalDefault.n <== totalDebt * 5000 + 5000;
    totalDefault.d <== 10000;
    component over = LessThan(VALUE_BITS() + L + 1);
    over.in[0] <== totalDefault.q;
    over.in[1] <== debtInBase;
    signal useCap <== closeFactorApplies * over.out;
    // floor(totalDefault * U_d / P_d) on useCap * totalDefault: below debt_d < 2^128 when used
    signal cappedBase <== useCap * totalDefault.q;
    component cappedDebt = DivRound(AMOUNT_BITS(), PRICE_BITS(), 0);
    cappedDebt.n <== cappedBase * ud;
    cappedDebt.d <== pd;
    signal maxLiquidatable <== debtD + useCap * (cappedDebt.q - debtD);

    // actualDebt = min(debtToCover, maxLiquidatable); debtToCover in [1, 2^128) (zkmargin's rule:
    // a call that asks for nothing would still retire the note)
    component dtcRange = RangeCheck(AMOUNT_BITS());
    dtcRange.in <== debtToCover;
    component asksSomething = NonZero();
    asksSomething.in <== debtToCover;
    component askMore = LessThan(AMOUNT_BITS());
    askMore.in[0] <== maxLiquidatable;
    askMore.in[1] <== debtToCover;
    signal actualDebt <== debtToCover + askMore.out * (maxLiquidatable - debtToCover);

    // --- collateral to liquidate (_calculateAvailableCollateralToLiquidate :609-660) ---
    signal pdDebt <== pd * actualDebt;
    component base = DivRound(AMOUNT_BITS(), PRICE_BITS() + DEC_SCALE_BITS(), 0);
    base.n <== pdDebt * uc;
    base.d <== pc * ud;
    component maxColl = DivRound(AMOUNT_BITS() + BONUS_BITS(), 14, 0);   // percentMul, half up
    maxColl.n <== base.q * bonus + 5000;
    maxColl.d <== 10000;
    component runsOut = LessThan(AMOUNT_BITS() + BONUS_BITS());          // maxColl > coll_c
    runsOut.in[0] <== collC;
    runsOut.in[1] <== maxColl.q;
    signal collAmount <== maxColl.q + runsOut.out * (collC - maxColl.q);
    // the collateral cap: debt = percentDivCeil(floor(P_c * coll * U_d / (P_d * U_c)), bonus)
    signal cappedColl <== runsOut.out * collC;
    signal pcColl <== pc * cappedColl;
    component collAsDebt = DivRound(AMOUNT_BITS(), PRICE_BITS() + DEC_SCALE_BITS(), 0);
    collAsDebt.n <== pcColl * ud;
    collAsDebt.d <== pd * uc;
    component debtNeeded = DivRound(AMOUNT_BITS(), BONUS_BITS(), 1);
    debtNeeded.n <== collAsDebt.q * 10000;
    debtNeeded.d <== bonus;
    debtRepaid === actualDebt + runsOut.out * (debtNeeded.q - actualDebt);
    // debtRepaid >= 1 (zkmargin's rule): the close factor can cap the debt at 0 units, and a
    // collateral worth less than one debt unit needs 0; debtRepaid is an integer < 2^128 by the
    // line above (a selection of DivRound quotients and debtToCover), so != 0 is >= 1
    component repaysSomething = NonZero();
    repaysSomething.in <== debtRepaid;

    component collLiquidatedInBase = DivRound(VALUE_BITS(), DEC_SCALE_BITS(), 0);
    collLiquidatedInBase.n <== collAmount * pc;
    collLiquidatedInBase.d <== uc;

    // fee = percentMul(collAmount - percentDiv(collAmount, bonus), feeBps), both half up (:644-653)
    signal halfBonus;
    halfBonus <-- bonus \ 2;
    component bonusBits = Num2Bits(BONUS_BITS());
    bonusBits.in <== bonus;
    bonus === 2 * halfBonus + bonusBits.out[0];   // halfBonus = floor(bonus / 2)
    component withoutBonus = DivRound(AMOUNT_BITS(), BONUS_BITS(), 0);   // <= collAmount: bonus > 100%
    withoutBonus.n <== collAmount * 10000 + halfBonus;
    withoutBonus.d <== bonus;
    component fee = DivRound(AMOUNT_BITS(), 14, 0);
    fee.n <== (collAmount - withoutBonus.q) * feeBps + 5000;
    fee.d <== 10000;
    signal feeRaw <== fee.q;
    collateralToLiquidator === collAmount - feeRaw;

    // --- what remains (Aave's checked subtraction as range checks) and the dust rule (:298-324) ---
    signal collLeft <== collC - collAmount;
    signal debtLeft <== debtD - debtRepaid;
    component collLeftRange = RangeCheck(AMOUNT_BITS());
    collLeftRange.in <== collLeft;
    component debtLeftRange = RangeCheck(AMOUNT_BITS());
    debtLeftRange.in <== debtLeft;
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

    // --- scaled collateral to the liquidator and the treasury (rayDivCeil both, :369-406) ---
    component toLiqScaled = DivRound(AMOUNT_BITS(), INDEX_BITS() + 1, 1);
    toLiqScaled.n <== collateralToLiquidator * RAY();
    toLiqScaled.d <== ic;
    component feeScaled = DivRound(AMOUNT_BITS(), INDEX_BITS() + 1, 1);
    feeScaled.n <== feeRaw * RAY();
    feeScaled.d <== ic;
    // InvalidBurnAmount: the liquidator takes the underlying, so its share burns >= 1 scaled unit
    component collateralBurn = NonZero();
    collateralBurn.in <== toLiqScaled.q;
    signal scaledLeft <== scaledC - toLiqScaled.q;
    component scaledLeftRange = RangeCheck(AMOUNT_BITS());
    scaledLeftRange.in <== scaledLeft;
    // the fee's scaled amount capped at the balance left, then paying rayMulFloor(left, i_c)
    component feeCapped = LessThan(AMOUNT_BITS());
    feeCapped.in[0] <== scaledLeft;
    feeCapped.in[1] <== feeScaled.q;
    signal toTreasury <== feeScaled.q + feeCapped.out * (scaledLeft - feeScaled.q);
    component cappedFee = DivRound(AMOUNT_BITS(), RAY_BITS(), 0);
    signal cappedLeft <== feeCapped.out * scaledLeft;
    cappedFee.n <== cappedLeft * ic;
    cappedFee.d <== RAY();
    protocolFee === feeRaw + feeCapped.out * (cappedFee.q - feeRaw);
    signal newScaledC <== scaledLeft - toTreasury;

    // --- no collateral left (v3.5.0 :326-341): TC equals the seized value; the flag goes when
    // all of the reserve's collateral is seized ---
    component noneLeftEq = IsEqual();
    noneLeftEq.in[0] <== totalCollateral;
    noneLeftEq.in[1] <== collLiquidatedInBase.q;
    signal noneLeft <== noneLeftEq.out;
    signal clearFlag <== someCollLeft.out;

    // --- debt: burn rayDivFloor(debtRepaid, i_d) scaled (_burnDebtTokens :530-577); with no
    // collateral left every debt of the note is burnt and booked as deficit (_burnBadDebt) ---
    component debtBurn = DivRound(AMOUNT_BITS(), INDEX_BITS() + 1, 0);
    debtBurn.n <== debtRepaid * RAY();
    debtBurn.d <== idv;
    component debtBurnZero = IsZero();   // InvalidBurnAmount on a partial burn
    debtBurnZero.in <== debtBurn.q;
    component debtBurnt = Implies();
    debtBurnt.a <== 1 - noneLeft;
    debtBurnt.b <== 1 - debtBurnZero.out;
    signal newScaledD <== scaledD - debtBurn.q;
    component newScaledDRange = RangeCheck(AMOUNT_BITS());   // never negative: burn <= s_d
    newScaledDRange.in <== newScaledD;

    // --- the new note: the owner's tag and viewing key, the derived salt, the balances after the
    // call, sealed to the owner's viewing key (the one the spent note committed to: a liquidator
    // cannot choose it) and the keepers ---
    component newSalt = LiquidationSalt();
    newSalt.salt <== salt;
    newSalt.nullifier <== nullifier;
    component next = SealedNote(N, K);
    signal collAfter[N];
    signal debtAfterRepay[N];
    signal deficitDue[N];
    var flagBit = 0;
    for (var i = 0; i < N; i++) {
        collAfter[i] <== scaledCollateral[i] + selC.sel[i] * (newScaledC - scaledC);
        next.scaledCollateral[i] <== collAfter[i];
        debtAfterRepay[i] <== scaledDebt[i] + selD.sel[i] * (newScaledD - scaledD);
        next.scaledDebt[i] <== (1 - noneLeft) * debtAfterRepay[i];
        deficitDue[i] <== val[i].debtBalance - selD.sel[i] * debtRepaid;
        deficit[i] === noneLeft * deficitDue[i];
        flagBit += selC.sel[i] * (1 << i);
    }
    next.ownerTag <== ownerTag;
    next.salt <== newSalt.out;
    next.collateralFlags <== collateralFlags - clearFlag * flagBit;   // the flag is on: collateralEnabled
    next.viewKey <== viewKey;
    next.keeperKey <== keeperKey;
    next.ephemeralSecret <== ephemeralSecret;
    next.commitment === newCommitment;
    next.ephemeralPublicKey === ephemeralPublicKey;
    next.ciphertext === ciphertext;

    signal bindingSq <== binding * binding;   // binding enters no arithmetic: keep it public
}
