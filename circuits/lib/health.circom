pragma circom 2.1.6;

// The Aave v3 health factor of a committed lending position by the named rules (v3.5, v3.6,
// v3.7: zkmargin/model.py), compared with a public threshold without any division in the circuit.

include "position.circom";

function ceilLog2(n) {
    var k = 0;
    while ((1 << k) < n) { k++; }
    return k;
}

// Aave v3.5+: HF = floor(wadDiv(W, TD) / 1e4), wadDiv(a, b) = floor((a*1e18 + floor(b/2)) / b),
// W = sum(collateralValue_i * LT_i), TD = sum(debtValue_i); HF = uint256.max when TD = 0.
// Since floor(floor(x / TD) / 1e4) = floor(x / (TD * 1e4)) and floor(y) < t <=> y < t for
// an integer t:
//     HF < t  <=>  W * 1e18 + floor(TD / 2) < t * TD * 1e4
// and TD = 0 makes the right side 0, so a position without debt never satisfies HF < t.
// below = 1 proves HF < threshold (liquidatable); below = 0 proves HF >= threshold.
//
// Widths, with V = VALUE_BITS = 128, L = ceilLog2(N) and N <= 16:
//   TD < N * 2^V                      -> TD < 2^(V+L)
//   W  < N * 2^V * 2^14               -> W * 1e18 + TD/2 < 2^(V+L+14+60)
//   threshold < 2^64 (range-checked)  -> t * TD * 1e4   < 2^(64+V+L+14)
// so both sides are < 2^CMP with CMP = 64 + V + L + 14 <= 224 <= 252 (LessThan's limit).
template HealthFactorCompare(N, below) {
    signal input weightedCollateral;   // W
    signal input totalDebt;            // TD
    signal input threshold;            // t, WAD (1e18 = 1.0)
    signal output halfDebt;            // floor(TD / 2), for callers that compare again

    var L = ceilLog2(N);
    var TD_BITS = VALUE_BITS() + L;
    var CMP = 64 + VALUE_BITS() + L + 14;
    assert(CMP <= 252);

    component tRange = RangeCheck(64);          // public threshold: bounds t * TD
    tRange.in <== threshold;

    // floor(TD / 2): TD = 2*half + lowBit with lowBit a bit and half range-checked,
    // which makes the split unique.
    signal half;
    signal lowBit;
    half <-- totalDebt \ 2;
    lowBit <-- totalDebt % 2;
    lowBit * (lowBit - 1) === 0;
    component halfRange = RangeCheck(TD_BITS);
    halfRange.in <== half;
    totalDebt === 2 * half + lowBit;
    halfDebt <== half;

    signal scaledDebt;
    scaledDebt <== threshold * totalDebt;

    component lt = LessThan(CMP);
    lt.in[0] <== weightedCollateral * 1000000000000000000 + half;
    lt.in[1] <== scaledDebt * 10000;
    lt.out === below;
}

// The account data of a committed position (GenericLogic.calculateUserAccountData) by the rules
// named in rulesVersion: W (weighted collateral), TD (total debt), TC (total counted collateral),
// and each slot's balances and values for the callers that need them (the liquidation step).
// Public parameters: rulesVersion, price[N], liquidityIndex[N], borrowIndex[N], decimals[N],
// liqThreshold[N], the eMode table (emodeId, emodeLiqThreshold, emodeLiqBonus,
// emodeCollateralBitmap: E entries). Private: the opening (scaled collateral[N] and debt[N],
// collateralFlags, eModeCategory, salt), checked against `commitment`. withBonus = 1 when the eMode
// bonuses are public inputs (the liquidation step); the health statements pass zeros.
template AccountData(N, E, withBonus) {
    signal input commitment;
    signal input rulesVersion;
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input emodeId[E];
    signal input emodeLiqThreshold[E];
    signal input emodeLiqBonus[E];
    signal input emodeCollateralBitmap[E];

    signal input collateral[N];
    signal input debt[N];
    signal input collateralFlags;
    signal input eModeCategory;
    signal input salt;

    signal output weighted;            // W
    signal output totalDebt;           // TD
    signal output totalCollateral;     // TC, as the version counts it
    signal output isV35;
    signal output flag[N];             // collateral flags, as bits
    signal output scale[N];            // 10^decimals
    signal output collateralBalance[N];
    signal output debtBalance[N];
    signal output collateralValue[N];
    signal output debtValue[N];
    signal output emodeActive;
    signal output emodeBonus;
    signal output inEmode[N];

    // The opening matches the public commitment: binds every private input.
    component com = PositionCommitment(N);
    com.collateral <== collateral;
    com.debt <== debt;
    com.collateralFlags <== collateralFlags;
    com.eModeCategory <== eModeCategory;
    com.salt <== salt;
    com.out === commitment;

    component rules = RulesVersion();
    rules.rulesVersion <== rulesVersion;
    isV35 <== rules.isV35;

    component flags = Num2Bits(N);     // canonical flags: one bit per slot, nothing above
    flags.in <== collateralFlags;

    component emode = EModeSelect(N, E, withBonus);
    emode.category <== eModeCategory;
    emode.id <== emodeId;
    emode.liqThreshold <== emodeLiqThreshold;
    emode.liqBonus <== emodeLiqBonus;
    emode.collateralBitmap <== emodeCollateralBitmap;
    emodeActive <== emode.active;
    emodeBonus <== emode.bonus;

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
        scale[i] <== params[i].scale;

        val[i] = AssetValuation();
        val[i].collateral <== collateral[i];
        val[i].debt <== debt[i];
        val[i].liquidityIndex <== liquidityIndex[i];
        val[i].borrowIndex <== borrowIndex[i];
        val[i].price <== price[i];
        val[i].scale <== params[i].scale;
        collateralBalance[i] <== val[i].collateralBalance;
        debtBalance[i] <== val[i].debtBalance;
        collateralValue[i] <== val[i].collateralValue;
        debtValue[i] <== val[i].debtValue;

        flag[i] <== flags.out[i];
        inEmode[i] <== emode.inBitmap[i];
        acc[i] = SlotAccount();
        acc[i].flag <== flags.out[i];
        acc[i].isV35 <== rules.isV35;
        acc[i].liqThreshold <== liqThreshold[i];
        acc[i].inEmode <== emode.inBitmap[i];
        acc[i].emodeLt <== emode.lt;
        acc[i].collateralValue <== val[i].collateralValue;
        w += acc[i].weighted;
        td += val[i].debtValue;
        tc += acc[i].countedValue;
    }
    weighted <== w;
    totalDebt <== td;
    totalCollateral <== tc;
}

// The lending statements: the position opening to `commitment` has HF < hfThreshold (below = 1)
// or HF >= hfThreshold (below = 0) at the public prices, indexes and risk parameters, by the rules
// named in rulesVersion. eMode bonuses do not enter a health factor: emodeLiqBonus is not public
// here (the account data is computed with zeros in its place).
template HealthStatement(N, E, below) {
    signal input commitment;
    signal input rulesVersion;
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input emodeId[E];
    signal input emodeLiqThreshold[E];
    signal input emodeCollateralBitmap[E];
    signal input hfThreshold;

    signal input collateral[N];
    signal input debt[N];
    signal input collateralFlags;
    signal input eModeCategory;
    signal input salt;

    component acct = AccountData(N, E, 0);
    acct.commitment <== commitment;
    acct.rulesVersion <== rulesVersion;
    acct.price <== price;
    acct.liquidityIndex <== liquidityIndex;
    acct.borrowIndex <== borrowIndex;
    acct.decimals <== decimals;
    acct.liqThreshold <== liqThreshold;
    acct.emodeId <== emodeId;
    acct.emodeLiqThreshold <== emodeLiqThreshold;
    for (var e = 0; e < E; e++) { acct.emodeLiqBonus[e] <== 0; }
    acct.emodeCollateralBitmap <== emodeCollateralBitmap;
    acct.collateral <== collateral;
    acct.debt <== debt;
    acct.collateralFlags <== collateralFlags;
    acct.eModeCategory <== eModeCategory;
    acct.salt <== salt;

    component hf = HealthFactorCompare(N, below);
    hf.weightedCollateral <== acct.weighted;
    hf.totalDebt <== acct.totalDebt;
    hf.threshold <== hfThreshold;
}

template Liquidation(N, E) {
    signal input commitment;
    signal input rulesVersion;
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input emodeId[E];
    signal input emodeLiqThreshold[E];
    signal input emodeCollateralBitmap[E];
    signal input hfThreshold;
    signal input collateral[N];
    signal input debt[N];
    signal input collateralFlags;
    signal input eModeCategory;
    signal input salt;

    component s = HealthStatement(N, E, 1);
    s.commitment <== commitment;
    s.rulesVersion <== rulesVersion;
    s.price <== price;
    s.liquidityIndex <== liquidityIndex;
    s.borrowIndex <== borrowIndex;
    s.decimals <== decimals;
    s.liqThreshold <== liqThreshold;
    s.emodeId <== emodeId;
    s.emodeLiqThreshold <== emodeLiqThreshold;
    s.emodeCollateralBitmap <== emodeCollateralBitmap;
    s.hfThreshold <== hfThreshold;
    s.collateral <== collateral;
    s.debt <== debt;
    s.collateralFlags <== collateralFlags;
    s.eModeCategory <== eModeCategory;
    s.salt <== salt;
}

// The solvency attestation: the position opening to `commitment` has
// HF >= hfThreshold, for one verifier (domain), until `expiry`, once (`nonce`).
// The context enters no arithmetic, so each input is squared: a public input that
// no constraint touches is dropped by the compiler and would then accept any value.
template SolvencyAttestation(N, E) {
    signal input commitment;
    signal input rulesVersion;
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input emodeId[E];
    signal input emodeLiqThreshold[E];
    signal input emodeCollateralBitmap[E];
    signal input hfThreshold;
    signal input domain;    // sha256(domain text) >> 3: which verifier may accept this
    signal input expiry;    // unix seconds after which the verifier must refuse it
    signal input nonce;     // lets the verifier refuse a second use
    signal input collateral[N];
    signal input debt[N];
    signal input collateralFlags;
    signal input eModeCategory;
    signal input salt;

    component s = HealthStatement(N, E, 0);
    s.commitment <== commitment;
    s.rulesVersion <== rulesVersion;
    s.price <== price;
    s.liquidityIndex <== liquidityIndex;
    s.borrowIndex <== borrowIndex;
    s.decimals <== decimals;
    s.liqThreshold <== liqThreshold;
    s.emodeId <== emodeId;
    s.emodeLiqThreshold <== emodeLiqThreshold;
    s.emodeCollateralBitmap <== emodeCollateralBitmap;
    s.hfThreshold <== hfThreshold;
    s.collateral <== collateral;
    s.debt <== debt;
    s.collateralFlags <== collateralFlags;
    s.eModeCategory <== eModeCategory;
    s.salt <== salt;

    signal domainSq <== domain * domain;
    signal expirySq <== expiry * expiry;
    signal nonceSq <== nonce * nonce;
}

// Hash of K values computable on-chain with circomlibjs's EVM Poseidon (which stops at 6
// inputs): Poseidon over chunks of 4 values, then over the chunk hashes.
//   K <= 4: Poseidon_K(v);   K = 4m (m <= 6): Poseidon_m(Poseidon_4(v0..v3), ..., Poseidon_4(...))
template ChunkedHash(K) {
    assert(K % 4 == 0 || K < 4);
    assert(K <= 24);
    signal input in[K];
    signal output out;
    var chunks = K <= 4 ? 1 : K \ 4;
    var size = K <= 4 ? K : 4;
    component h[chunks];
    for (var c = 0; c < chunks; c++) {
        h[c] = Poseidon(size);
        for (var i = 0; i < size; i++) { h[c].inputs[i] <== in[c * size + i]; }
    }
    if (chunks == 1) {
        out <== h[0].out;
    } else {
        component top = Poseidon(chunks);
        for (var c = 0; c < chunks; c++) { top.inputs[c] <== h[c].out; }
        out <== top.out;
    }
}

// The liquidation statement with fewer public inputs: prices, indexes and risk parameters enter
// as three Poseidon hashes, so the verifier pays for 5 public inputs instead of 5N + 3E + 3.
//   pricesHash  = ChunkedHash(N)(price)
//   indexesHash = ChunkedHash(2N)(liquidityIndex[0..N-1], borrowIndex[0..N-1])
//   paramsHash  = Poseidon_3(rulesVersion, Poseidon_2N(decimals, liqThreshold),
//                            Poseidon_3E(emodeId, emodeLiqThreshold, emodeCollateralBitmap))
// The consuming contract recomputes pricesHash from its oracles and indexesHash from the pool's
// indexes, and stores paramsHash.
template LiquidationHashed(N, E) {
    assert(2 * N <= 16 && 3 * E <= 16);
    signal input commitment;
    signal input pricesHash;
    signal input indexesHash;
    signal input paramsHash;
    signal input hfThreshold;
    signal input rulesVersion;
    signal input price[N];
    signal input liquidityIndex[N];
    signal input borrowIndex[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input emodeId[E];
    signal input emodeLiqThreshold[E];
    signal input emodeCollateralBitmap[E];
    signal input collateral[N];
    signal input debt[N];
    signal input collateralFlags;
    signal input eModeCategory;
    signal input salt;

    component hp = ChunkedHash(N);
    component hi = ChunkedHash(2 * N);
    component hr = Poseidon(2 * N);
    component he = Poseidon(3 * E);
    for (var i = 0; i < N; i++) {
        hp.in[i] <== price[i];
        hi.in[i] <== liquidityIndex[i];
        hi.in[N + i] <== borrowIndex[i];
        hr.inputs[i] <== decimals[i];
        hr.inputs[N + i] <== liqThreshold[i];
    }
    for (var e = 0; e < E; e++) {
        he.inputs[e] <== emodeId[e];
        he.inputs[E + e] <== emodeLiqThreshold[e];
        he.inputs[2 * E + e] <== emodeCollateralBitmap[e];
    }
    component hparams = Poseidon(3);
    hparams.inputs[0] <== rulesVersion;
    hparams.inputs[1] <== hr.out;
    hparams.inputs[2] <== he.out;
    hp.out === pricesHash;        // binds every price
    hi.out === indexesHash;       // binds every index
    hparams.out === paramsHash;   // binds the rules version and every risk parameter

    component s = HealthStatement(N, E, 1);
    s.commitment <== commitment;
    s.rulesVersion <== rulesVersion;
    s.price <== price;
    s.liquidityIndex <== liquidityIndex;
    s.borrowIndex <== borrowIndex;
    s.decimals <== decimals;
    s.liqThreshold <== liqThreshold;
    s.emodeId <== emodeId;
    s.emodeLiqThreshold <== emodeLiqThreshold;
    s.emodeCollateralBitmap <== emodeCollateralBitmap;
    s.hfThreshold <== hfThreshold;
    s.collateral <== collateral;
    s.debt <== debt;
    s.collateralFlags <== collateralFlags;
    s.eModeCategory <== eModeCategory;
    s.salt <== salt;
}
