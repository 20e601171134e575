pragma circom 2.1.6;

// Cross-margin perpetual account (dYdX v4 / Hyperliquid style) behind a commitment.
//   pnl_j     = floor(size_j * (price_j - entry_j - (funding_j - entryFunding_j)) / 10^sizeDecimals_j)
//   equity    = collateral + sum pnl_j          (quote, 8 decimals; funding settled into it)
//   mm_j      = ceil(|size_j| * price_j * mmr_j / (10^sizeDecimals_j * 1e6))   (mmr in ppm)
//   below = 1:  equity * 1e4 <  ratio * MM      (liquidatable when ratio = 10000)
//   below = 0:  equity * 1e4 >= ratio * MM      (attestation at ratio/1e4 times MM)
//
// Signed values (size, funding indices, pnl, equity) are field elements v mod r with
// |v| range-checked by SignedRange, so each has exactly one meaning; the widths below
// keep every product and sum far below r/2 so that nothing wraps:
//   |size| < 2^80, price/entry < 2^64, |funding| < 2^64  -> |delta| < 2^66
//   |size * delta| < 2^146; |pnl| < 2^146; |equity| < 2^128 + M * 2^146 < 2^151 (M <= 16)
//   |size| * price * mmr < 2^(80+64+20) = 2^164; divisor <= 10^24 < 2^80
//   MM < M * 2^164 <= 2^168; ratio < 2^20 -> ratio * MM < 2^188; |equity * 1e4| < 2^165

include "position.circom";

function SIZE_BITS() { return 80; }
function FUNDING_BITS() { return 64; }
function MMR_BITS() { return 20; }       // ppm, <= 1e6 < 2^20
function RATIO_BITS() { return 20; }     // bps, < 2^20 (up to 104x MM)
function COLLATERAL_BITS() { return 128; }

// int.from_bytes(b"zkmargin/perp/v1", "big")
function PERP_COMMITMENT_TAG() { return 162723609752807833326328719005356881457; }

// commitment = Poseidon6(TAG, collateral, Poseidon_M(size), Poseidon_M(entryPrice),
//                        Poseidon_M(entryFunding), salt), signed values as v mod r.
template PerpCommitment(M) {
    signal input collateral;
    signal input size[M];
    signal input entryPrice[M];
    signal input entryFunding[M];
    signal input salt;
    signal output out;
    component hs = Poseidon(M);
    component he = Poseidon(M);
    component hf = Poseidon(M);
    for (var j = 0; j < M; j++) {
        hs.inputs[j] <== size[j];
        he.inputs[j] <== entryPrice[j];
        hf.inputs[j] <== entryFunding[j];
    }
    component h = Poseidon(6);
    h.inputs[0] <== PERP_COMMITMENT_TAG();
    h.inputs[1] <== collateral;
    h.inputs[2] <== hs.out;
    h.inputs[3] <== he.out;
    h.inputs[4] <== hf.out;
    h.inputs[5] <== salt;
    out <== h.out;
}

template PerpMarketTerms() {
    // public
    signal input price;
    signal input fundingIndex;
    signal input sizeDecimals;
    signal input mmr;
    // private
    signal input size;
    signal input entryPrice;
    signal input entryFunding;
    signal output pnl;
    signal output mm;

    component pRange = RangeCheck(PRICE_BITS());
    pRange.in <== price;
    signal priceInv;                          // a zero oracle price is never valid
    priceInv <-- price != 0 ? 1 / price : 0;
    price * priceInv === 1;
    component fRange = SignedRange(FUNDING_BITS());
    fRange.in <== fundingIndex;
    component mRange = RangeCheck(MMR_BITS());
    mRange.in <== mmr;
    component mMax = LessEqThan(MMR_BITS());  // a rate above 100% is a misconfiguration
    mMax.in[0] <== mmr;
    mMax.in[1] <== 1000000;
    mMax.out === 1;
    component scale = Pow10(MAX_DECIMALS());  // sizeDecimals <= 18
    scale.d <== sizeDecimals;

    component sRange = SignedRange(SIZE_BITS());
    sRange.in <== size;
    component eRange = RangeCheck(PRICE_BITS());
    eRange.in <== entryPrice;
    component efRange = SignedRange(FUNDING_BITS());
    efRange.in <== entryFunding;

    // unrealized PnL net of accrued funding, rounded down (against the account)
    signal delta <== price - entryPrice - fundingIndex + entryFunding;
    component pnlDiv = SignedFloorDiv(SIZE_BITS() + 66, DEC_SCALE_BITS());
    pnlDiv.n <== size * delta;
    pnlDiv.d <== scale.out;
    pnl <== pnlDiv.q;

    // |size| from the sign bit: size * (2 * nonNegative - 1)
    signal absSize <== size * (2 * sRange.nonNegative - 1);
    signal absNotional <== absSize * price;
    component mmDiv = DivRound(SIZE_BITS() + PRICE_BITS() + MMR_BITS(), DEC_SCALE_BITS() + 20, 1);
    mmDiv.n <== absNotional * mmr;
    mmDiv.d <== scale.out * 1000000;
    mm <== mmDiv.q;
}

template PerpMargin(M, below) {
    signal input commitment;
    signal input price[M];
    signal input fundingIndex[M];
    signal input sizeDecimals[M];
    signal input mmr[M];
    signal input marginRatio;     // bps of MM
    signal input collateral;
    signal input size[M];
    signal input entryPrice[M];
    signal input entryFunding[M];
    signal input salt;

    component com = PerpCommitment(M);
    com.collateral <== collateral;
    com.size <== size;
    com.entryPrice <== entryPrice;
    com.entryFunding <== entryFunding;
    com.salt <== salt;
    com.out === commitment;

    component cRange = RangeCheck(COLLATERAL_BITS());
    cRange.in <== collateral;
    component rRange = RangeCheck(RATIO_BITS());
    rRange.in <== marginRatio;

    component t[M];
    var equity = collateral;
    var mmTotal = 0;
    for (var j = 0; j < M; j++) {
        t[j] = PerpMarketTerms();
        t[j].price <== price[j];
        t[j].fundingIndex <== fundingIndex[j];
        t[j].sizeDecimals <== sizeDecimals[j];
        t[j].mmr <== mmr[j];
        t[j].size <== size[j];
        t[j].entryPrice <== entryPrice[j];
        t[j].entryFunding <== entryFunding[j];
        equity += t[j].pnl;
        mmTotal += t[j].mm;
    }
    // Shift both sides by 2^165 so the signed equity side is non-negative; both are < 2^189.
    assert(M <= 16);
    signal scaledMm <== marginRatio * mmTotal;
    component lt = LessThan(189);
    lt.in[0] <== equity * 10000 + (1 << 165);
    lt.in[1] <== scaledMm + (1 << 165);
    lt.out === below;
}

template PerpLiquidation(M) {
    signal input commitment;
    signal input price[M];
    signal input fundingIndex[M];
    signal input sizeDecimals[M];
    signal input mmr[M];
    signal input marginRatio;
    signal input collateral;
    signal input size[M];
    signal input entryPrice[M];
    signal input entryFunding[M];
    signal input salt;

    component s = PerpMargin(M, 1);
    s.commitment <== commitment;
    s.price <== price;
    s.fundingIndex <== fundingIndex;
    s.sizeDecimals <== sizeDecimals;
    s.mmr <== mmr;
    s.marginRatio <== marginRatio;
    s.collateral <== collateral;
    s.size <== size;
    s.entryPrice <== entryPrice;
    s.entryFunding <== entryFunding;
    s.salt <== salt;
}

// Attestation equity >= marginRatio/1e4 * MM, bound to a verifier context (see SolvencyAttestation).
template PerpAttestation(M) {
    signal input commitment;
    signal input price[M];
    signal input fundingIndex[M];
    signal input sizeDecimals[M];
    signal input mmr[M];
    signal input marginRatio;
    signal input domain;
    signal input expiry;
    signal input nonce;
    signal input collateral;
    signal input size[M];
    signal input entryPrice[M];
    signal input entryFunding[M];
    signal input salt;

    component s = PerpMargin(M, 0);
    s.commitment <== commitment;
    s.price <== price;
    s.fundingIndex <== fundingIndex;
    s.sizeDecimals <== sizeDecimals;
    s.mmr <== mmr;
    s.marginRatio <== marginRatio;
    s.collateral <== collateral;
    s.size <== size;
    s.entryPrice <== entryPrice;
    s.entryFunding <== entryFunding;
    s.salt <== salt;

    signal domainSq <== domain * domain;
    signal expirySq <== expiry * expiry;
    signal nonceSq <== nonce * nonce;
}
