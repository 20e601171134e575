pragma circom 2.1.6;

// Aave v3.5 health factor of a committed lending position, compared with a
// public threshold without any division in the circuit.

include "position.circom";

function ceilLog2(n) {
    var k = 0;
    while ((1 << k) < n) { k++; }
    return k;
}

// Aave v3.5: HF = floor(wadDiv(W, TD) / 1e4), wadDiv(a, b) = floor((a*1e18 + floor(b/2)) / b),
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

// The liquidation statement: the position opening to `commitment` has
// HF < hfThreshold at the public prices and risk parameters.
// Public: commitment, price[N], decimals[N], liqThreshold[N], hfThreshold.
// Private: collateral[N], debt[N], salt (the opening).
template HealthStatement(N, below) {
    signal input commitment;
    signal input price[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input hfThreshold;

    signal input collateral[N];
    signal input debt[N];
    signal input salt;

    // The opening matches the public commitment: binds every private input.
    component com = PositionCommitment(N);
    for (var i = 0; i < N; i++) {
        com.collateral[i] <== collateral[i];
        com.debt[i] <== debt[i];
    }
    com.salt <== salt;
    com.out === commitment;

    component params[N];
    component val[N];
    var weighted = 0;
    var totalDebt = 0;
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
    }

    component hf = HealthFactorCompare(N, below);
    hf.weightedCollateral <== weighted;
    hf.totalDebt <== totalDebt;
    hf.threshold <== hfThreshold;
}

template Liquidation(N) {
    signal input commitment;
    signal input price[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input hfThreshold;
    signal input collateral[N];
    signal input debt[N];
    signal input salt;

    component s = HealthStatement(N, 1);
    s.commitment <== commitment;
    s.price <== price;
    s.decimals <== decimals;
    s.liqThreshold <== liqThreshold;
    s.hfThreshold <== hfThreshold;
    s.collateral <== collateral;
    s.debt <== debt;
    s.salt <== salt;
}

// The solvency attestation: the position opening to `commitment` has
// HF >= hfThreshold, for one verifier (domain), until `expiry`, once (`nonce`).
// The context enters no arithmetic, so each input is squared: a public input that
// no constraint touches is dropped by the compiler and would then accept any value.
template SolvencyAttestation(N) {
    signal input commitment;
    signal input price[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input hfThreshold;
    signal input domain;    // sha256(domain text) >> 3: which verifier may accept this
    signal input expiry;    // unix seconds after which the verifier must refuse it
    signal input nonce;     // lets the verifier refuse a second use
    signal input collateral[N];
    signal input debt[N];
    signal input salt;

    component s = HealthStatement(N, 0);
    s.commitment <== commitment;
    s.price <== price;
    s.decimals <== decimals;
    s.liqThreshold <== liqThreshold;
    s.hfThreshold <== hfThreshold;
    s.collateral <== collateral;
    s.debt <== debt;
    s.salt <== salt;

    signal domainSq <== domain * domain;
    signal expirySq <== expiry * expiry;
    signal nonceSq <== nonce * nonce;
}

// Prices hash of the hashed layout, computable on-chain with circomlibjs's EVM Poseidon
// (which stops at 6 inputs): Poseidon over chunks of 4 prices, then over the chunk hashes.
//   N <= 4: Poseidon_N(price);   N = 8: Poseidon_2(Poseidon_4(p0..p3), Poseidon_4(p4..p7))
template PricesHash(N) {
    assert(N % 4 == 0 || N < 4);
    signal input price[N];
    signal output out;
    var chunks = N <= 4 ? 1 : N \ 4;
    var size = N <= 4 ? N : 4;
    component h[chunks];
    for (var c = 0; c < chunks; c++) {
        h[c] = Poseidon(size);
        for (var i = 0; i < size; i++) { h[c].inputs[i] <== price[c * size + i]; }
    }
    if (chunks == 1) {
        out <== h[0].out;
    } else {
        component top = Poseidon(chunks);
        for (var c = 0; c < chunks; c++) { top.inputs[c] <== h[c].out; }
        out <== top.out;
    }
}

// The liquidation statement with fewer public inputs: prices and risk parameters enter as
// two Poseidon hashes, so the verifier pays for 4 public inputs instead of 3N + 2.
//   pricesHash = PricesHash(N)(price)
//   paramsHash = Poseidon_2N(decimals[0..N-1], liqThreshold[0..N-1])     (N <= 8)
// The consuming contract recomputes pricesHash from its oracles and stores paramsHash.
template LiquidationHashed(N) {
    assert(2 * N <= 16);
    signal input commitment;
    signal input pricesHash;
    signal input paramsHash;
    signal input hfThreshold;
    signal input price[N];
    signal input decimals[N];
    signal input liqThreshold[N];
    signal input collateral[N];
    signal input debt[N];
    signal input salt;

    component hp = PricesHash(N);
    component hr = Poseidon(2 * N);
    for (var i = 0; i < N; i++) {
        hp.price[i] <== price[i];
        hr.inputs[i] <== decimals[i];
        hr.inputs[N + i] <== liqThreshold[i];
    }
    hp.out === pricesHash;   // binds every price
    hr.out === paramsHash;   // binds every risk parameter

    component s = HealthStatement(N, 1);
    s.commitment <== commitment;
    s.price <== price;
    s.decimals <== decimals;
    s.liqThreshold <== liqThreshold;
    s.hfThreshold <== hfThreshold;
    s.collateral <== collateral;
    s.debt <== debt;
    s.salt <== salt;
}
