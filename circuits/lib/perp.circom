pragma circom 2.1.6;

// A dYdX v4 cross-margin subaccount behind a commitment, decided exactly as dydxprotocol/v4-chain
// protocol/v9.6.1 decides liquidation (zkmargin/perp.py is the model; paths under protocol/):
//   settlement = floor(sum_j -(fundingIndex_j - positionFundingIndex_j) * quantums_j / 1e6)
//                                                  (x/subaccounts/lib/updates.go:20-82, one floor)
//   N_j   = trunc(quantums_j * price_j * 10^(priceExponent_j + atomicResolution_j + 6))
//                                                  (lib/quantums.go:26-50, toward zero)
//   MMR_j = ceil(ceil(|N_j| * IMF_j / 1e6) * MMF_j / 1e6)      (x/perpetuals/lib/lib.go:117-165)
//   TNC   = usdc + settlement + sum_j (N_j + quoteBalance_j),   MMR = sum_j MMR_j
//   below = 1:  MMR > 0 and TNC * 1e4 < ratio * MMR   (ratio 10000: lib/margin/risk.go:52-54)
//   below = 0:  TNC * 1e4 >= ratio * MMR              (an attestation at ratio/1e4 times MMR)
// Everything is in quote quantums (1e-6 USDC) and base quantums (10^atomicResolution coins).
//
// Signed values (quantums, funding indexes, balances, exponents, notionals, TNC) are field elements
// v mod r with |v| range-checked by SignedRange, so each has exactly one meaning; the widths keep
// every product and sum far below r/2 so that nothing wraps:
//   |quantums| < 2^80, price < 2^64                        -> |quantums| * price < 2^144
//   10^|e| <= 10^18 < 2^60                                  -> the notional's numerator < 2^204
//   |N| < 2^160 (range-checked quotient)                    -> IMR, MMR < 2^160 each, MMR < 2^164
//   |funding| < 2^64 -> |index delta| < 2^65 -> |settlement ppm| < 2^145 per position, < 2^149 in all
//   |usdc|, |quoteBalance| < 2^128                          -> |TNC| < 2^165, |TNC * 1e4| < 2^179
//   ratio < 2^20                                             -> ratio * MMR < 2^184

include "position.circom";

function SIZE_BITS() { return 80; }
function FUNDING_BITS() { return 64; }
function BALANCE_BITS() { return 128; }
function NOTIONAL_BITS() { return 160; }
function EXPONENT_BITS() { return 8; }
function MAX_QUOTE_EXPONENT() { return 18; }
function PPM_BITS() { return 20; }       // ppm, <= 1e6 < 2^20
function RATIO_BITS() { return 20; }     // bps, < 2^20 (up to 104x MM)

// int.from_bytes(b"zkmargin/perp/v2", "big")
function PERP_COMMITMENT_TAG() { return 162723609752807833326328719005356881458; }

// commitment = Poseidon6(TAG, usdc, Poseidon_M(quantums), Poseidon_M(positionFundingIndex),
//                        Poseidon_M(quoteBalance), salt), signed values as v mod r.
template PerpCommitment(M) {
    signal input usdc;
    signal input quantums[M];
    signal input positionFundingIndex[M];
    signal input quoteBalance[M];
    signal input salt;
    signal output out;
    component hq = Poseidon(M);
    component hf = Poseidon(M);
    component hb = Poseidon(M);
    for (var j = 0; j < M; j++) {
        hq.inputs[j] <== quantums[j];
        hf.inputs[j] <== positionFundingIndex[j];
        hb.inputs[j] <== quoteBalance[j];
    }
    component h = Poseidon(6);
    h.inputs[0] <== PERP_COMMITMENT_TAG();
    h.inputs[1] <== usdc;
    h.inputs[2] <== hq.out;
    h.inputs[3] <== hf.out;
    h.inputs[4] <== hb.out;
    h.inputs[5] <== salt;
    out <== h.out;
}

// A ppm rate in [0, 1e6] (LiquidityTier.Validate, x/perpetuals/types/liquidity_tier.go:14-38).
template Ppm() {
    signal input in;
    component range = RangeCheck(PPM_BITS());
    range.in <== in;
    component max = LessEqThan(PPM_BITS());
    max.in[0] <== in;
    max.in[1] <== 1000000;
    max.out === 1;
}

template PerpMarketTerms() {
    // public
    signal input price;
    signal input fundingIndex;
    signal input atomicResolution;
    signal input priceExponent;
    signal input initialMarginPpm;
    signal input maintenanceFractionPpm;
    // private
    signal input quantums;
    signal input positionFundingIndex;
    signal input quoteBalance;
    signal output netCollateral;    // N + quoteBalance, signed
    signal output mmr;
    signal output settlementPpm;    // -(fundingIndex - positionFundingIndex) * quantums, signed

    component pRange = RangeCheck(PRICE_BITS());   // MarketPrice.price is a uint64
    pRange.in <== price;
    signal priceInv;                                // a zero oracle price is never valid
    priceInv <-- price != 0 ? 1 / price : 0;
    price * priceInv === 1;
    component fRange = SignedRange(FUNDING_BITS());
    fRange.in <== fundingIndex;
    component imf = Ppm();
    imf.in <== initialMarginPpm;
    component mmf = Ppm();
    mmf.in <== maintenanceFractionPpm;

    // e = priceExponent + atomicResolution + 6 in [-18, 18] (lib/quantums.go:33); each exponent a
    // small signed integer so that the public inputs have one meaning
    component arRange = SignedRange(EXPONENT_BITS());
    arRange.in <== atomicResolution;
    component peRange = SignedRange(EXPONENT_BITS());
    peRange.in <== priceExponent;
    signal eShift <== priceExponent + atomicResolution + 6 + MAX_QUOTE_EXPONENT();   // e + 18
    component eRange = RangeCheck(6);
    eRange.in <== eShift;
    component eMax = LessEqThan(6);
    eMax.in[0] <== eShift;
    eMax.in[1] <== 2 * MAX_QUOTE_EXPONENT();
    eMax.out === 1;
    component negative = LessThan(6);               // e < 0: the division truncates
    negative.in[0] <== eShift;
    negative.in[1] <== MAX_QUOTE_EXPONENT();
    signal isNeg <== negative.out;
    signal eAbsPos <== (1 - isNeg) * (eShift - MAX_QUOTE_EXPONENT());   // max(e, 0)
    signal eAbsNeg <== isNeg * (MAX_QUOTE_EXPONENT() - eShift);         // max(-e, 0)
    component up = Pow10(MAX_QUOTE_EXPONENT());
    up.d <== eAbsPos;
    component down = Pow10(MAX_QUOTE_EXPONENT());
    down.d <== eAbsNeg;

    component qRange = SignedRange(SIZE_BITS());
    qRange.in <== quantums;
    component pfRange = SignedRange(FUNDING_BITS());
    pfRange.in <== positionFundingIndex;
    component bRange = SignedRange(BALANCE_BITS());
    bRange.in <== quoteBalance;

    // |N| = floor(|quantums| * price * 10^max(e,0) / 10^max(-e,0)); N = sign(quantums) * |N| is the
    // quotient truncated toward zero, as big.Int.Quo
    signal sign <== 2 * qRange.nonNegative - 1;
    signal absQuantums <== quantums * sign;
    signal absQP <== absQuantums * price;
    component absN = DivRound(NOTIONAL_BITS(), DEC_SCALE_BITS(), 0);
    absN.n <== absQP * up.out;
    absN.d <== down.out;
    netCollateral <== absN.q * sign + quoteBalance;

    // IMR of the base tier, then MMR from it: two round-ups (BigMulPpm(.., true))
    component imr = DivRound(NOTIONAL_BITS(), PPM_BITS(), 1);
    imr.n <== absN.q * initialMarginPpm;
    imr.d <== 1000000;
    component mm = DivRound(NOTIONAL_BITS(), PPM_BITS(), 1);
    mm.n <== imr.q * maintenanceFractionPpm;
    mm.d <== 1000000;
    mmr <== mm.q;

    settlementPpm <== (positionFundingIndex - fundingIndex) * quantums;
}

template PerpMargin(M, below) {
    signal input commitment;
    signal input price[M];
    signal input fundingIndex[M];
    signal input atomicResolution[M];
    signal input priceExponent[M];
    signal input initialMarginPpm[M];
    signal input maintenanceFractionPpm[M];
    signal input marginRatio;     // bps of MMR
    signal input usdc;
    signal input quantums[M];
    signal input positionFundingIndex[M];
    signal input quoteBalance[M];
    signal input salt;

    component com = PerpCommitment(M);
    com.usdc <== usdc;
    com.quantums <== quantums;
    com.positionFundingIndex <== positionFundingIndex;
    com.quoteBalance <== quoteBalance;
    com.salt <== salt;
    com.out === commitment;

    component uRange = SignedRange(BALANCE_BITS());
    uRange.in <== usdc;
    component rRange = RangeCheck(RATIO_BITS());
    rRange.in <== marginRatio;

    component t[M];
    var nc = 0;
    var mmrTotal = 0;
    var settlementPpm = 0;
    for (var j = 0; j < M; j++) {
        t[j] = PerpMarketTerms();
        t[j].price <== price[j];
        t[j].fundingIndex <== fundingIndex[j];
        t[j].atomicResolution <== atomicResolution[j];
        t[j].priceExponent <== priceExponent[j];
        t[j].initialMarginPpm <== initialMarginPpm[j];
        t[j].maintenanceFractionPpm <== maintenanceFractionPpm[j];
        t[j].quantums <== quantums[j];
        t[j].positionFundingIndex <== positionFundingIndex[j];
        t[j].quoteBalance <== quoteBalance[j];
        nc += t[j].netCollateral;
        mmrTotal += t[j].mmr;
        settlementPpm += t[j].settlementPpm;
    }
    assert(M <= 16);
    // funding settled once over the sum of all positions: floor(sum / 1e6) (Euclidean Div)
    component settle = SignedFloorDiv(130, PPM_BITS());
    settle.n <== settlementPpm;
    settle.d <== 1000000;
    signal tnc <== usdc + settle.q + nc;
    signal mmr <== mmrTotal;

    // Shift both sides by 2^185 so the signed TNC side is non-negative; both are < 2^186.
    signal scaledMmr <== marginRatio * mmr;
    component lt = LessThan(187);
    lt.in[0] <== tnc * 10000 + (1 << 185);
    lt.in[1] <== scaledMmr + (1 << 185);
    lt.out === below;
    if (below == 1) {
        // dYdX never liquidates an account without margin requirement: MMR > 0 (an integer < 2^164)
        component hasMargin = IsZero();
        hasMargin.in <== mmr;
        hasMargin.out === 0;
    }
}

template PerpLiquidation(M) {
    signal input commitment;
    signal input price[M];
    signal input fundingIndex[M];
    signal input atomicResolution[M];
    signal input priceExponent[M];
    signal input initialMarginPpm[M];
    signal input maintenanceFractionPpm[M];
    signal input marginRatio;
    signal input usdc;
    signal input quantums[M];
    signal input positionFundingIndex[M];
    signal input quoteBalance[M];
    signal input salt;

    component s = PerpMargin(M, 1);
    s.commitment <== commitment;
    s.price <== price;
    s.fundingIndex <== fundingIndex;
    s.atomicResolution <== atomicResolution;
    s.priceExponent <== priceExponent;
    s.initialMarginPpm <== initialMarginPpm;
    s.maintenanceFractionPpm <== maintenanceFractionPpm;
    s.marginRatio <== marginRatio;
    s.usdc <== usdc;
    s.quantums <== quantums;
    s.positionFundingIndex <== positionFundingIndex;
    s.quoteBalance <== quoteBalance;
    s.salt <== salt;
}

// Attestation TNC >= marginRatio/1e4 * MMR, bound to a verifier context (see SolvencyAttestation).
template PerpAttestation(M) {
    signal input commitment;
    signal input price[M];
    signal input fundingIndex[M];
    signal input atomicResolution[M];
    signal input priceExponent[M];
    signal input initialMarginPpm[M];
    signal input maintenanceFractionPpm[M];
    signal input marginRatio;
    signal input domain;
    signal input expiry;
    signal input nonce;
    signal input usdc;
    signal input quantums[M];
    signal input positionFundingIndex[M];
    signal input quoteBalance[M];
    signal input salt;

    component s = PerpMargin(M, 0);
    s.commitment <== commitment;
    s.price <== price;
    s.fundingIndex <== fundingIndex;
    s.atomicResolution <== atomicResolution;
    s.priceExponent <== priceExponent;
    s.initialMarginPpm <== initialMarginPpm;
    s.maintenanceFractionPpm <== maintenanceFractionPpm;
    s.marginRatio <== marginRatio;
    s.usdc <== usdc;
    s.quantums <== quantums;
    s.positionFundingIndex <== positionFundingIndex;
    s.quoteBalance <== quoteBalance;
    s.salt <== salt;

    signal domainSq <== domain * domain;
    signal expirySq <== expiry * expiry;
    signal nonceSq <== nonce * nonce;
}
