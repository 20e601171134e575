/* Groth16 verification on BN254: one proof, or many proofs of one key as a random linear
 * combination sharing one Miller loop and one final exponentiation.
 *
 * Fp12 is the tower Fp2[w]/(w^6 - xi), xi = 9 + u, stored as two Fp6 = Fp2[v]/(v^3 - xi) halves
 * (v = w^2): f = g0 + g1 w. Lines are brought to the shape a + b w + c w^3 (multiplying by
 * w^k, Fp2 or Fp factors changes nothing after the final exponentiation, which sends every
 * element of a proper subfield and every power of w to 1), so that a product with one costs 13
 * Fp2 multiplications, and 10 when a = 1 (lines of affine points, divided by the G1 point's y).
 * The final exponentiation is the easy part (conjugation, one inversion, a Frobenius map),
 * then the hard part (p^4 - p^2 + 1)/r by the chain of Scott et al. ("On the final
 * exponentiation for calculating pairings on ordinary elliptic curves", 2009): three
 * exponentiations by the curve parameter x with cyclotomic squarings (Granger and Scott,
 * 2010) and Frobenius maps.
 *
 * A prepared key (zkm_groth16_prepare, once per verification key) holds what never changes:
 * the affine lines of beta, gamma and delta, the Miller value of (alpha, beta), and a table of
 * multiples of every IC point for the public-input sum. A single proof then walks only B on
 * the twist (homogeneous projective, no inversion); a batch walks every B in affine
 * coordinates with one inversion per step shared by the batch.
 * G2 membership: [x+1]Q + psi([x]Q) + psi^2([x]Q) == psi^3([2x]Q) (Scott 2021).
 *
 * Every point given to zkm_groth16_prepare and zkm_groth16_verify was parsed by
 * zkmargin/groth16_format.py, the one parser all backends share: canonical coordinates,
 * finite, affine, on its curve, B, beta, gamma and delta in G2 (it runs zkm_g2_in_subgroup and
 * zkm_g2_in_subgroup_many below); public signals < r. The one exception is a batch packed by
 * groth16_format.pack_batch (canonical coordinates only), whose points zkm_groth16_verify tests
 * itself (its status argument: on the curve, B in G2, with the same tests) before using any;
 * nothing else is checked again here, and no byte pattern means infinity (snarkjs, the EVM and
 * this file used to disagree on which one did). Inputs are standard-form little-endian; the context blob (struct ctx) holds constants
 * Python derives from py_ecc (zkmargin/native.py ctx()), so none is transcribed by hand.
 */
#include "bn254.h"

struct ctx {
    fe2 frob[3][6];   /* xi^(k(p^e - 1)/6), Montgomery: f^(p^e) maps c_k w^k to c_k' frob[e-1][k] w^k */
    fe2 psi_x, psi_y; /* psi(x, y) = (fq2_conj(x) psi_x, fq2_conj(y) psi_y) on the twist */
    fe2 b2;           /* twist curve constant 3/(9+u) */
    int8_t loop[64];  /* 6x+2 in signed binary, most significant digit first, leading 1 dropped */
    uint64_t bn_x;    /* the curve parameter x */
    fe glv_beta;      /* phi(x, y) = (beta x, y) = [lambda](x, y) on G1, Montgomery */
    fe glv_lambda;    /* lambda, Montgomery mod r */
};

/* the size of struct ctx, which native.py's ctx() must fill exactly (a test holds them equal) */
uint32_t zkm_ctx_size(void) { return (uint32_t)sizeof(struct ctx); }

static const fe Q_R2 = {{0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL}};

static void to_mont(fe *r, const uint8_t *p) {
    fe t;
    memcpy(&t, p, 32);
    fq_mul(r, &t, &Q_R2);
}

/* --- Fp2 extras --- */
static void fq_nine(fe *r, const fe *a) {
    fe t;
    fq_add(&t, a, a);
    fq_add(&t, &t, &t);
    fq_add(&t, &t, &t);
    fq_add(r, &t, a);
}

static void fq2_mul_xi(fe2 *r, const fe2 *a) {  /* (9 + u)(a0 + a1 u) = (9a0 - a1) + (a0 + 9a1) u */
    fe n0, n1, t0, t1;
    fq_nine(&n0, &a->c0);
    fq_nine(&n1, &a->c1);
    fq_sub(&t0, &n0, &a->c1);
    fq_add(&t1, &a->c0, &n1);
    r->c0 = t0;
    r->c1 = t1;
}

static void fq2_conj(fe2 *r, const fe2 *a) {
    r->c0 = a->c0;
    fq_neg(&r->c1, &a->c1);
}

static void fq2_mul_fq(fe2 *r, const fe2 *a, const fe *b) {
    fq_mul(&r->c0, &a->c0, b);
    fq_mul(&r->c1, &a->c1, b);
}

/* --- Fp6 = Fp2[v]/(v^3 - xi) --- */
typedef struct { fe2 a[3]; } fq6;

static void fq6_add(fq6 *r, const fq6 *x, const fq6 *y) {
    for (int i = 0; i < 3; i++) fq2_add(&r->a[i], &x->a[i], &y->a[i]);
}

static void fq6_sub(fq6 *r, const fq6 *x, const fq6 *y) {
    for (int i = 0; i < 3; i++) fq2_sub(&r->a[i], &x->a[i], &y->a[i]);
}

static void fq6_mul_v(fq6 *r, const fq6 *x) {  /* v (a0 + a1 v + a2 v^2) = xi a2 + a0 v + a1 v^2 */
    fe2 t;
    fq2_mul_xi(&t, &x->a[2]);
    r->a[2] = x->a[1];
    r->a[1] = x->a[0];
    r->a[0] = t;
}

static void fq6_mul(fq6 *r, const fq6 *x, const fq6 *y) {  /* Karatsuba: 6 Fp2 products */
    fe2 t0, t1, t2, s, u, c0, c1, c2;
    fq2_mul(&t0, &x->a[0], &y->a[0]);
    fq2_mul(&t1, &x->a[1], &y->a[1]);
    fq2_mul(&t2, &x->a[2], &y->a[2]);
    fq2_add(&s, &x->a[1], &x->a[2]);
    fq2_add(&u, &y->a[1], &y->a[2]);
    fq2_mul(&c0, &s, &u);
    fq2_sub(&c0, &c0, &t1);
    fq2_sub(&c0, &c0, &t2);
    fq2_mul_xi(&c0, &c0);
    fq2_add(&c0, &c0, &t0);
    fq2_add(&s, &x->a[0], &x->a[1]);
    fq2_add(&u, &y->a[0], &y->a[1]);
    fq2_mul(&c1, &s, &u);
    fq2_sub(&c1, &c1, &t0);
    fq2_sub(&c1, &c1, &t1);
    fq2_mul_xi(&s, &t2);
    fq2_add(&c1, &c1, &s);
    fq2_add(&s, &x->a[0], &x->a[2]);
    fq2_add(&u, &y->a[0], &y->a[2]);
    fq2_mul(&c2, &s, &u);
    fq2_sub(&c2, &c2, &t0);
    fq2_sub(&c2, &c2, &t2);
    fq2_add(&c2, &c2, &t1);
    r->a[0] = c0;
    r->a[1] = c1;
    r->a[2] = c2;
}

/* x (b + c v): 5 Fp2 products */
static void fq6_mul_01(fq6 *r, const fq6 *x, const fe2 *b, const fe2 *c) {
    fe2 t0, t1, t2b, t2c, s, u, c1;
    fq2_mul(&t0, &x->a[0], b);
    fq2_mul(&t1, &x->a[1], c);
    fq2_mul(&t2b, &x->a[2], b);
    fq2_mul(&t2c, &x->a[2], c);
    fq2_add(&s, &x->a[0], &x->a[1]);
    fq2_add(&u, b, c);
    fq2_mul(&c1, &s, &u);
    fq2_sub(&c1, &c1, &t0);
    fq2_sub(&c1, &c1, &t1);  /* a0 c + a1 b */
    fq2_mul_xi(&s, &t2c);
    fq2_add(&r->a[0], &t0, &s);
    fq2_add(&r->a[2], &t1, &t2b);
    r->a[1] = c1;
}

static void fq6_inv(fq6 *r, const fq6 *x) {
    fe2 A, B, C, t, F;
    fq2_sqr(&A, &x->a[0]);
    fq2_mul(&t, &x->a[1], &x->a[2]);
    fq2_mul_xi(&t, &t);
    fq2_sub(&A, &A, &t);     /* a0^2 - xi a1 a2 */
    fq2_sqr(&B, &x->a[2]);
    fq2_mul_xi(&B, &B);
    fq2_mul(&t, &x->a[0], &x->a[1]);
    fq2_sub(&B, &B, &t);     /* xi a2^2 - a0 a1 */
    fq2_sqr(&C, &x->a[1]);
    fq2_mul(&t, &x->a[0], &x->a[2]);
    fq2_sub(&C, &C, &t);     /* a1^2 - a0 a2 */
    fq2_mul(&F, &x->a[2], &B);
    fq2_mul(&t, &x->a[1], &C);
    fq2_add(&F, &F, &t);
    fq2_mul_xi(&F, &F);
    fq2_mul(&t, &x->a[0], &A);
    fq2_add(&F, &F, &t);
    fq2_inv(&F, &F);
    fq2_mul(&r->a[0], &A, &F);
    fq2_mul(&r->a[1], &B, &F);
    fq2_mul(&r->a[2], &C, &F);
}

/* --- Fp12 = Fp6[w]/(w^2 - v): f = g0 + g1 w, i.e. c_k w^k with c_2i = g0.a[i], c_2i+1 = g1.a[i] --- */
typedef struct { fq6 g[2]; } fq12;

static void fq12_one(fq12 *r) {
    memset(r, 0, sizeof *r);
    r->g[0].a[0].c0 = Q_ONE;
}

static int fq12_is_one(const fq12 *f) {
    fq12 one;
    fq12_one(&one);
    return !memcmp(f, &one, sizeof one);
}

static void fq12_mul(fq12 *r, const fq12 *x, const fq12 *y) {  /* 18 Fp2 products */
    fq6 t0, t1, s, u;
    fq6_mul(&t0, &x->g[0], &y->g[0]);
    fq6_mul(&t1, &x->g[1], &y->g[1]);
    fq6_add(&s, &x->g[0], &x->g[1]);
    fq6_add(&u, &y->g[0], &y->g[1]);
    fq6_mul(&s, &s, &u);
    fq6_sub(&s, &s, &t0);
    fq6_sub(&r->g[1], &s, &t1);
    fq6_mul_v(&t1, &t1);
    fq6_add(&r->g[0], &t0, &t1);
}

static void fq12_sqr(fq12 *r, const fq12 *x) {  /* complex squaring: 12 Fp2 products */
    fq6 t, s, u, vt;
    fq6_mul(&t, &x->g[0], &x->g[1]);
    fq6_add(&s, &x->g[0], &x->g[1]);
    fq6_mul_v(&u, &x->g[1]);
    fq6_add(&u, &u, &x->g[0]);
    fq6_mul(&s, &s, &u);
    fq6_sub(&s, &s, &t);
    fq6_mul_v(&vt, &t);
    fq6_sub(&r->g[0], &s, &vt);
    fq6_add(&r->g[1], &t, &t);
}

/* f (a + b w + c w^3): 13 Fp2 products */
static void fq12_mul_line(fq12 *f, const fe2 *a, const fe2 *b, const fe2 *c) {
    fq6 t0, t1, s;
    fe2 ab;
    for (int i = 0; i < 3; i++) fq2_mul(&t0.a[i], &f->g[0].a[i], a);
    fq6_mul_01(&t1, &f->g[1], b, c);
    fq6_add(&s, &f->g[0], &f->g[1]);
    fq2_add(&ab, a, b);
    fq6_mul_01(&s, &s, &ab, c);
    fq6_sub(&s, &s, &t0);
    fq6_sub(&f->g[1], &s, &t1);
    fq6_mul_v(&t1, &t1);
    fq6_add(&f->g[0], &t0, &t1);
}

/* f (1 + b w + c w^3): 10 Fp2 products */
static void fq12_mul_line1(fq12 *f, const fe2 *b, const fe2 *c) {
    fq6 t0, t1;
    fq6_mul_01(&t0, &f->g[0], b, c);
    fq6_mul_01(&t1, &f->g[1], b, c);
    fq6_add(&f->g[1], &f->g[1], &t0);
    fq6_mul_v(&t1, &t1);
    fq6_add(&f->g[0], &f->g[0], &t1);
}

static void fq12_conj(fq12 *r, const fq12 *f) {  /* f^(p^6): w -> -w */
    r->g[0] = f->g[0];
    for (int i = 0; i < 3; i++) fq2_neg(&r->g[1].a[i], &f->g[1].a[i]);
}

static int fq12_inv(fq12 *r, const fq12 *f) {  /* (g0 - g1 w) / (g0^2 - v g1^2) */
    fq6 t0, t1;
    fq6_mul(&t0, &f->g[0], &f->g[0]);
    fq6_mul(&t1, &f->g[1], &f->g[1]);
    fq6_mul_v(&t1, &t1);
    fq6_sub(&t0, &t0, &t1);
    if (fq2_is_zero(&t0.a[0]) && fq2_is_zero(&t0.a[1]) && fq2_is_zero(&t0.a[2])) return -1;
    fq6_inv(&t0, &t0);
    fq6_mul(&r->g[0], &f->g[0], &t0);
    fq6_mul(&t1, &f->g[1], &t0);
    for (int i = 0; i < 3; i++) fq2_neg(&r->g[1].a[i], &t1.a[i]);
    return 0;
}

/* f^(p^e), e = 1, 2, 3: coefficients conjugated for odd e, then scaled */
static void fq12_frob(fq12 *r, const fq12 *f, int e, const struct ctx *cx) {
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 3; i++) {
            fe2 c = f->g[h].a[i];
            if (e & 1) fq2_conj(&c, &c);
            fq2_mul(&r->g[h].a[i], &c, &cx->frob[e - 1][2 * i + h]);
        }
    }
}

/* f^2 for f in the cyclotomic subgroup (after the easy part), Granger-Scott: with s = w^3
 * (s^2 = xi), f = A + B w + C w^2 over Fp4 = Fp2[s], A = c0 + c3 s, B = c1 + c4 s,
 * C = c2 + c5 s, and f^2 = (3A^2 - 2 conj A) + (3 s C^2 + 2 conj B) w + (3B^2 - 2 conj C) w^2. */
static void fp4_sqr(fe2 *r0, fe2 *r1, const fe2 *a, const fe2 *b) {  /* (a + b s)^2 */
    fe2 t0, t1, t;
    fq2_sqr(&t0, a);
    fq2_sqr(&t1, b);
    fq2_add(&t, a, b);
    fq2_sqr(&t, &t);
    fq2_sub(&t, &t, &t0);
    fq2_sub(r1, &t, &t1);
    fq2_mul_xi(&t1, &t1);
    fq2_add(r0, &t0, &t1);
}

static void cyc_term(fe2 *r, const fe2 *sq, const fe2 *c, int plus) {  /* 3 sq -+ 2 c */
    fe2 t;
    if (plus) fq2_add(&t, sq, c);
    else fq2_sub(&t, sq, c);
    fq2_add(&t, &t, &t);
    fq2_add(r, &t, sq);
}

static void fq12_cyc_sqr(fq12 *r, const fq12 *f) {
    const fe2 *c0 = &f->g[0].a[0], *c1 = &f->g[1].a[0], *c2 = &f->g[0].a[1], *c3 = &f->g[1].a[1],
              *c4 = &f->g[0].a[2], *c5 = &f->g[1].a[2];
    fe2 A0, A1, B0, B1, C0, C1, n[6];
    fp4_sqr(&A0, &A1, c0, c3);
    fp4_sqr(&B0, &B1, c1, c4);
    fp4_sqr(&C0, &C1, c2, c5);
    fq2_mul_xi(&C1, &C1);         /* s C^2 = xi C1 + C0 s */
    cyc_term(&n[0], &A0, c0, 0);
    cyc_term(&n[3], &A1, c3, 1);
    cyc_term(&n[1], &C1, c1, 1);
    cyc_term(&n[4], &C0, c4, 0);
    cyc_term(&n[2], &B0, c2, 0);
    cyc_term(&n[5], &B1, c5, 1);
    for (int k = 0; k < 6; k++) r->g[k & 1].a[k >> 1] = n[k];
}

static void fq12_expt(fq12 *r, const fq12 *f, const struct ctx *cx) {  /* f^x, f cyclotomic */
    fq12 acc = *f;  /* x's top bit, bit 62 */
    for (int bit = 61; bit >= 0; bit--) {
        fq12_cyc_sqr(&acc, &acc);
        if ((cx->bn_x >> bit) & 1) fq12_mul(&acc, &acc, f);
    }
    *r = acc;
}

/* 1 if f^((p^12 - 1)/r) == 1, 0 if not, -1 on an internal inconsistency */
static int final_exp_is_one(const fq12 *f, const struct ctx *cx) {
    fq12 fi, g, t;
    if (fq12_inv(&fi, f)) return -1;
    fq12_conj(&g, f);
    fq12_mul(&g, &g, &fi);       /* f^(p^6 - 1) */
    fq12_frob(&t, &g, 2, cx);
    fq12_mul(&g, &t, &g);        /* ^(p^2 + 1) */
    fq12 fx, fx2, fx3, y0, y1, y2, y3, y4, y5, y6, t0, t1;
    fq12_expt(&fx, &g, cx);
    fq12_expt(&fx2, &fx, cx);
    fq12_expt(&fx3, &fx2, cx);
    fq12_frob(&t, &g, 1, cx);
    fq12_frob(&y0, &g, 2, cx);
    fq12_mul(&y0, &y0, &t);
    fq12_frob(&t, &g, 3, cx);
    fq12_mul(&y0, &y0, &t);      /* g^p g^(p^2) g^(p^3) */
    fq12_conj(&y1, &g);
    fq12_frob(&y2, &fx2, 2, cx);
    fq12_frob(&y3, &fx, 1, cx);
    fq12_conj(&y3, &y3);
    fq12_frob(&t, &fx2, 1, cx);
    fq12_mul(&y4, &fx, &t);
    fq12_conj(&y4, &y4);
    fq12_conj(&y5, &fx2);
    fq12_frob(&t, &fx3, 1, cx);
    fq12_mul(&y6, &fx3, &t);
    fq12_conj(&y6, &y6);
    /* y0 y1^2 y2^6 y3^12 y4^18 y5^30 y6^36 */
    fq12_cyc_sqr(&t0, &y6);
    fq12_mul(&t0, &t0, &y4);
    fq12_mul(&t0, &t0, &y5);
    fq12_mul(&t1, &y3, &y5);
    fq12_mul(&t1, &t1, &t0);
    fq12_mul(&t0, &t0, &y2);
    fq12_cyc_sqr(&t1, &t1);
    fq12_mul(&t1, &t1, &t0);
    fq12_cyc_sqr(&t1, &t1);
    fq12_mul(&t0, &t1, &y1);
    fq12_mul(&t1, &t1, &y0);
    fq12_cyc_sqr(&t0, &t0);
    fq12_mul(&t0, &t0, &t1);
    return fq12_is_one(&t0);
}

/* --- lines --- */
typedef struct { fe x, y; int inf; } p1m;    /* affine G1, Montgomery */
typedef struct { fe2 x, y; int inf; } p2m;   /* affine twist point, Montgomery */
typedef struct { fe2 lam, mu; } pline;       /* the affine line y = lam x + mu on the twist */
typedef struct { fe2 x, y, z; } tw;          /* homogeneous projective twist point */

static void psi_aff(fe2 *x, fe2 *y, const fe2 *ax, const fe2 *ay, const struct ctx *cx) {
    fe2 t;
    fq2_conj(&t, ax);
    fq2_mul(x, &t, &cx->psi_x);
    fq2_conj(&t, ay);
    fq2_mul(y, &t, &cx->psi_y);
}

/* A G1 point ready for normalized lines: x/y and 1/y. With them the line y = lam X + mu of the
 * twist, evaluated at the point and divided by -y, is 1 - lam (x/y) w - mu (1/y) w^3. */
typedef struct { fe xy, iy; int inf; } p1n;

static void mul_pline(fq12 *f, const pline *l, const p1n *p) {
    fe2 b, c;
    fq2_mul_fq(&b, &l->lam, &p->xy);
    fq2_neg(&b, &b);
    fq2_mul_fq(&c, &l->mu, &p->iy);
    fq2_neg(&c, &c);
    fq12_mul_line1(f, &b, &c);
}

/* The affine step r <- 2r (q NULL) or r <- r + q (q != +-r) with its line: den is the slope's
 * denominator (2y, or qx - rx), inv its inverse. */
static void aff_den(fe2 *den, const p2m *r, const p2m *q) {
    if (q) fq2_sub(den, &q->x, &r->x);
    else fq2_add(den, &r->y, &r->y);
}

static void aff_step(p2m *r, pline *l, const p2m *q, const fe2 *inv) {
    fe2 t, x3;
    if (q) {
        fq2_sub(&t, &q->y, &r->y);
    } else {
        fe2 t3;
        fq2_sqr(&t, &r->x);
        fq2_add(&t3, &t, &t);
        fq2_add(&t, &t3, &t);
    }
    fq2_mul(&l->lam, &t, inv);
    fq2_mul(&t, &l->lam, &r->x);
    fq2_sub(&l->mu, &r->y, &t);
    fq2_sqr(&x3, &l->lam);
    fq2_sub(&x3, &x3, &r->x);
    fq2_sub(&x3, &x3, q ? &q->x : &r->x);
    fq2_sub(&t, &r->x, &x3);
    fq2_mul(&t, &l->lam, &t);
    fq2_sub(&r->y, &t, &r->y);
    r->x = x3;
}

/* The Miller loop's operands after the doublings: +-q for each nonzero digit of 6x+2, then
 * psi(q) and -psi^2(q). Returns how many. */
static int loop_operands(p2m *ops, const p2m *q, const struct ctx *cx) {
    int n = 0;
    for (int step = 0; step < 64; step++) {
        if (!cx->loop[step]) continue;
        ops[n] = *q;
        if (cx->loop[step] < 0) fq2_neg(&ops[n].y, &ops[n].y);
        n++;
    }
    ops[n].inf = ops[n + 1].inf = 0;
    psi_aff(&ops[n].x, &ops[n].y, &q->x, &q->y, cx);
    psi_aff(&ops[n + 1].x, &ops[n + 1].y, &ops[n].x, &ops[n].y, cx);
    fq2_neg(&ops[n + 1].y, &ops[n + 1].y);
    return n + 2;
}

#define N_LINES 130  /* at most 64 doublings, 64 additions and the two closing lines */

/* Every line of the Miller loops of n points (at most 3), in the order the loop uses them, with
 * one inversion per step for all; -1 if a slope has no denominator (impossible for a point of
 * G2 other than infinity). */
static int plan_lines(pline lines[][N_LINES], const p2m *qs, int n, const struct ctx *cx) {
    p2m ops[3][66], r[3];
    for (int i = 0; i < n; i++) {
        loop_operands(ops[i], &qs[i], cx);
        r[i] = qs[i];
    }
    int op = 0, at = 0;
    for (int step = 0; step <= 64; step++) {
        int closing = step == 64;
        for (int k = 0; k < (closing ? 2 : 1 + (cx->loop[step] != 0)); k++, at++) {
            int add = closing || k;
            fe2 den[3], pre[3], acc, inv;
            fq2_set_one(&acc);
            for (int i = 0; i < n; i++) {
                aff_den(&den[i], &r[i], add ? &ops[i][op] : NULL);
                if (fq2_is_zero(&den[i])) return -1;
                pre[i] = acc;
                fq2_mul(&acc, &acc, &den[i]);
            }
            fq2_inv(&inv, &acc);
            for (int i = n - 1; i >= 0; i--) {
                fe2 d;
                fq2_mul(&d, &inv, &pre[i]);
                fq2_mul(&inv, &inv, &den[i]);
                aff_step(&r[i], &lines[i][at], add ? &ops[i][op] : NULL, &d);
            }
            op += add;
        }
    }
    return 0;
}

/* --- the varying B of a single proof: homogeneous projective steps (py_ecc's formulas) --- */
static void tw_dbl(tw *r, const tw *p) {
    fe2 w, s, b, h, s2, t, u;
    fq2_sqr(&w, &p->x);
    fq2_add(&t, &w, &w);
    fq2_add(&w, &t, &w);           /* 3 x^2 */
    fq2_mul(&s, &p->y, &p->z);
    fq2_mul(&b, &p->x, &p->y);
    fq2_mul(&b, &b, &s);           /* x y s */
    fq2_sqr(&h, &w);
    fq2_add(&t, &b, &b);
    fq2_add(&t, &t, &t);
    fq2_add(&u, &t, &t);           /* 8b */
    fq2_sub(&h, &h, &u);
    fq2_sqr(&s2, &s);
    tw o;
    fq2_mul(&o.x, &h, &s);
    fq2_add(&o.x, &o.x, &o.x);     /* 2 h s */
    fq2_sub(&u, &t, &h);           /* 4b - h */
    fq2_mul(&o.y, &w, &u);
    fq2_sqr(&u, &p->y);
    fq2_mul(&u, &u, &s2);
    fq2_add(&u, &u, &u);
    fq2_add(&u, &u, &u);
    fq2_add(&u, &u, &u);           /* 8 y^2 s^2 */
    fq2_sub(&o.y, &o.y, &u);
    fq2_mul(&o.z, &s, &s2);
    fq2_add(&o.z, &o.z, &o.z);
    fq2_add(&o.z, &o.z, &o.z);
    fq2_add(&o.z, &o.z, &o.z);     /* 8 s^3 */
    *r = o;
}

static void tw_add(tw *r, const tw *p1, const tw *p2) {
    if (fq2_is_zero(&p1->z)) { *r = *p2; return; }
    if (fq2_is_zero(&p2->z)) { *r = *p1; return; }
    fe2 u1, u2, v1, v2, u, v, vsq, vsqv2, vcu, w, a, t;
    fq2_mul(&u1, &p2->y, &p1->z);
    fq2_mul(&u2, &p1->y, &p2->z);
    fq2_mul(&v1, &p2->x, &p1->z);
    fq2_mul(&v2, &p1->x, &p2->z);
    if (fq2_eq(&v1, &v2)) {
        if (fq2_eq(&u1, &u2)) { tw_dbl(r, p1); return; }
        memset(r, 0, sizeof *r);
        r->x.c0 = Q_ONE;
        r->y.c0 = Q_ONE;  /* (1, 1, 0): infinity */
        return;
    }
    fq2_sub(&u, &u1, &u2);
    fq2_sub(&v, &v1, &v2);
    fq2_sqr(&vsq, &v);
    fq2_mul(&vsqv2, &vsq, &v2);
    fq2_mul(&vcu, &v, &vsq);
    fq2_mul(&w, &p1->z, &p2->z);
    fq2_sqr(&a, &u);
    fq2_mul(&a, &a, &w);
    fq2_sub(&a, &a, &vcu);
    fq2_sub(&a, &a, &vsqv2);
    fq2_sub(&a, &a, &vsqv2);
    tw o;
    fq2_mul(&o.x, &v, &a);
    fq2_sub(&t, &vsqv2, &a);
    fq2_mul(&o.y, &u, &t);
    fq2_mul(&t, &vcu, &u2);
    fq2_sub(&o.y, &o.y, &t);
    fq2_mul(&o.z, &vcu, &w);
    *r = o;
}

/* f times the line through r and q (tangent at r when q is NULL) at the G1 point (px, py):
 * groth16_fast._line evaluated there, times w^-2 (chord) or w^-3 (tangent), which brings it to
 * a + b w + c w^3; a vertical line (r = -q) stays z1 x - x1 w^2, multiplied in densely. */
static void mul_tw_line(fq12 *f, const tw *r, const tw *q, const fe *px, const fe *py) {
    fe2 mn, md, t, u, a, b, c;
    if (q) {
        fq2_mul(&t, &q->y, &r->z);
        fq2_mul(&u, &r->y, &q->z);
        fq2_sub(&mn, &t, &u);
        fq2_mul(&t, &q->x, &r->z);
        fq2_mul(&u, &r->x, &q->z);
        fq2_sub(&md, &t, &u);
        if (fq2_is_zero(&md) && !fq2_is_zero(&mn)) {
            fq12 v;
            memset(&v, 0, sizeof v);
            fq2_mul_fq(&v.g[0].a[0], &r->z, px);
            fq2_neg(&v.g[0].a[1], &r->x);
            fq12_mul(f, f, &v);
            return;
        }
    }
    if (!q || fq2_is_zero(&md)) {
        fq2_sqr(&mn, &r->x);
        fq2_add(&t, &mn, &mn);
        fq2_add(&mn, &t, &mn);   /* 3 x1^2 */
        fq2_mul(&md, &r->y, &r->z);
        fq2_add(&md, &md, &md);  /* 2 y1 z1 */
    }
    fq2_mul(&t, &md, &r->z);
    fq2_mul_fq(&a, &t, py);
    fq2_neg(&a, &a);
    fq2_mul(&t, &mn, &r->z);
    fq2_mul_fq(&b, &t, px);
    fq2_mul(&t, &md, &r->y);
    fq2_mul(&u, &mn, &r->x);
    fq2_sub(&c, &t, &u);
    fq12_mul_line(f, &a, &b, &c);
}

/* The pairs of one Miller loop, all sharing its squarings: fixed G2 points with their planned
 * lines, at most one pair whose G2 point is walked in projective coordinates (a single proof),
 * and pairs walked in affine coordinates with one inversion per step for all (a batch). */
struct miller_in {
    size_t n_fixed;
    const pline *const *lines;
    const p1n *fixed;
    const p1m *proj_p;
    const p2m *proj_q;
    size_t n_aff;
    const p1n *aff_p;
    const p2m *aff_q;
};

/* f = the product of the pairs' Miller values. Returns 0, -2 out of memory, -3 a slope without
 * denominator (impossible for points of G2). */
static int miller_loop(fq12 *f, const struct miller_in *in, const struct ctx *cx) {
    size_t na = in->n_aff;
    p2m *r = malloc((na ? na : 1) * sizeof *r), *op = malloc((na ? na : 1) * sizeof *op);
    fe2 *den = malloc((na ? na : 1) * sizeof *den), *pre = malloc((na ? na : 1) * sizeof *pre);
    p2m proj_ops[66];
    int rc = -2;
    if (!r || !op || !den || !pre) goto done;
    if (na) memcpy(r, in->aff_q, na * sizeof *r);
    if (in->proj_q) loop_operands(proj_ops, in->proj_q, cx);
    tw pr = {.z = {Q_ONE, {{0, 0, 0, 0}}}};
    if (in->proj_q) {
        pr.x = in->proj_q->x;
        pr.y = in->proj_q->y;
    }
    fq12_one(f);
    rc = -3;
    int at = 0, proj_op = 0;
    for (int step = 0; step <= 64; step++) {
        int doubling = step < 64, n_k = doubling ? 1 + (cx->loop[step] != 0) : 2;
        if (doubling) fq12_sqr(f, f);
        for (int k = 0; k < n_k; k++, at++) {
            int add = !doubling || k;  /* an addition: digit +-q, or a closing psi(q), -psi^2(q) */
            for (size_t i = 0; i < in->n_fixed; i++)
                if (!in->fixed[i].inf) mul_pline(f, &in->lines[i][at], &in->fixed[i]);
            if (in->proj_q) {
                if (add) {
                    tw o = {proj_ops[proj_op].x, proj_ops[proj_op].y, {Q_ONE, {{0, 0, 0, 0}}}};
                    proj_op++;
                    mul_tw_line(f, &pr, &o, &in->proj_p->x, &in->proj_p->y);
                    tw_add(&pr, &pr, &o);
                } else {
                    mul_tw_line(f, &pr, NULL, &in->proj_p->x, &in->proj_p->y);
                    tw_dbl(&pr, &pr);
                }
            }
            if (!na) continue;
            /* the affine pairs: operands, denominators, one inversion, steps and lines */
            fe2 acc, inv;
            fq2_set_one(&acc);
            for (size_t i = 0; i < na; i++) {
                if (add) {
                    const p2m *q = &in->aff_q[i];
                    if (doubling) {
                        op[i] = *q;
                        if (cx->loop[step] < 0) fq2_neg(&op[i].y, &op[i].y);
                    } else if (k == 0) {
                        psi_aff(&op[i].x, &op[i].y, &q->x, &q->y, cx);
                    } else {
                        psi_aff(&op[i].x, &op[i].y, &op[i].x, &op[i].y, cx);  /* psi^2(q), negated below */
                        fq2_neg(&op[i].y, &op[i].y);
                    }
                }
                aff_den(&den[i], &r[i], add ? &op[i] : NULL);
                if (in->aff_p[i].inf) fq2_set_one(&den[i]);
                if (fq2_is_zero(&den[i])) goto done;
                pre[i] = acc;
                fq2_mul(&acc, &acc, &den[i]);
            }
            fq2_inv(&inv, &acc);
            for (size_t i = na; i-- > 0;) {
                fe2 d;
                pline l;
                fq2_mul(&d, &inv, &pre[i]);
                fq2_mul(&inv, &inv, &den[i]);
                if (in->aff_p[i].inf) continue;
                aff_step(&r[i], &l, add ? &op[i] : NULL, &d);
                mul_pline(f, &l, &in->aff_p[i]);
            }
        }
    }
    rc = 0;
done:
    free(r);
    free(op);
    free(den);
    free(pre);
    return rc;
}

/* --- G2 membership --- */
static void psi_jac(g2_jac *r, const g2_jac *p, const struct ctx *cx) {
    fe2 t;
    fq2_conj(&t, &p->x);
    fq2_mul(&r->x, &t, &cx->psi_x);
    fq2_conj(&t, &p->y);
    fq2_mul(&r->y, &t, &cx->psi_y);
    fq2_conj(&r->z, &p->z);
}

static int g2_jac_eq(const g2_jac *a, const g2_jac *b) {
    if (g2_is_inf(a) || g2_is_inf(b)) return g2_is_inf(a) && g2_is_inf(b);
    fe2 za2, zb2, za3, zb3, l, r;
    fq2_sqr(&za2, &a->z);
    fq2_sqr(&zb2, &b->z);
    fq2_mul(&l, &a->x, &zb2);
    fq2_mul(&r, &b->x, &za2);
    if (!fq2_eq(&l, &r)) return 0;
    fq2_mul(&za3, &za2, &a->z);
    fq2_mul(&zb3, &zb2, &b->z);
    fq2_mul(&l, &a->y, &zb3);
    fq2_mul(&r, &b->y, &za3);
    return fq2_eq(&l, &r);
}

static int g2_in_subgroup(const p2m *q, const struct ctx *cx) {
    g2_jac xq, lhs, rhs, t;
    g2_aff p = {q->x, q->y};
    fe x = {{cx->bn_x, 0, 0, 0}};
    g2_mul_aff(&xq, &p, &x);
    g2_madd(&lhs, &xq, &p);         /* [x+1]Q */
    psi_jac(&t, &xq, cx);
    g2_add(&lhs, &lhs, &t);         /* + psi([x]Q) */
    psi_jac(&t, &t, cx);
    g2_add(&lhs, &lhs, &t);         /* + psi^2([x]Q) */
    g2_dbl(&rhs, &xq);
    psi_jac(&rhs, &rhs, cx);
    psi_jac(&rhs, &rhs, cx);
    psi_jac(&rhs, &rhs, cx);        /* psi^3([2x]Q) */
    return g2_jac_eq(&lhs, &rhs);
}

/* A parsed point (see the top of this file): never infinity, whatever its bytes. */
static void load_p1(p1m *p, const uint8_t *b) {
    p->inf = 0;
    to_mont(&p->x, b);
    to_mont(&p->y, b + 32);
}

static void load_p2(p2m *p, const uint8_t *b) {
    p->inf = 0;
    to_mont(&p->x.c0, b);
    to_mont(&p->x.c1, b + 32);
    to_mont(&p->y.c0, b + 64);
    to_mont(&p->y.c1, b + 96);
}

/* Jacobian G1 points -> x/y and 1/y (x = X/Z^2, y = Y/Z^3: x/y = XZ/Y, 1/y = Z^3/Y), with one
 * inversion for all; pre is scratch for n elements. */
static void normalize(p1n *out, const g1_jac *pts, size_t n, fe *pre) {
    fe acc = Q_ONE, inv;
    for (size_t i = 0; i < n; i++) {
        pre[i] = acc;
        if (!g1_is_inf(&pts[i])) fq_mul(&acc, &acc, &pts[i].y);
    }
    fq_inv(&inv, &acc);
    for (size_t i = n; i-- > 0;) {
        out[i].inf = g1_is_inf(&pts[i]);
        if (out[i].inf) continue;
        fe iy, z2;
        fq_mul(&iy, &inv, &pre[i]);
        fq_mul(&inv, &inv, &pts[i].y);
        fq_mul(&out[i].xy, &pts[i].x, &pts[i].z);
        fq_mul(&out[i].xy, &out[i].xy, &iy);
        fq_sqr(&z2, &pts[i].z);
        fq_mul(&z2, &z2, &pts[i].z);
        fq_mul(&out[i].iy, &z2, &iy);
    }
}

/* --- the prepared key --- */
#define IC_C 5                   /* signed digit width of the public-input sum */
#define IC_W 51                  /* windows: msm_windows(IC_C) */
#define IC_NB (1 << (IC_C - 1))  /* buckets */

struct prepared {
    uint64_t n_pub;
    fq12 ab;                    /* Miller value of (alpha, beta) */
    g1_aff alpha;
    pline lines[3][N_LINES];    /* beta, gamma, delta */
    g1_aff ic[];                /* 2^(IC_C k) IC_j at j IC_W + k */
};

uint64_t zkm_groth16_prepared_size(uint32_t n_pub) {
    return sizeof(struct prepared) + (uint64_t)(n_pub + 1) * IC_W * sizeof(g1_aff);
}

/* sum sc[j] IC_j (sc standard form): every nonzero digit adds its window's point into the
 * digit's bucket, then the buckets' weighted sum (the public signals are mostly small: few
 * digits, so a table of multiples per window would cost more to build than it saves) */
static void ic_msm(g1_jac *out, const struct prepared *pk, const fe *sc) {
    g1_jac bucket[IC_NB], running;
    for (int b = 0; b < IC_NB; b++) g1_set_inf(&bucket[b]);
    for (size_t j = 0; j <= pk->n_pub; j++) {
        int16_t d[IC_W];
        signed_digits(d, &sc[j], IC_C, IC_W);
        for (int k = 0; k < IC_W; k++) {
            if (!d[k]) continue;
            g1_aff e = pk->ic[j * IC_W + (size_t)k];
            if (g1_aff_is_inf(&e)) continue;
            if (d[k] < 0) fq_neg(&e.y, &e.y);
            g1_madd(&bucket[(d[k] < 0 ? -d[k] : d[k]) - 1], &bucket[(d[k] < 0 ? -d[k] : d[k]) - 1], &e);
        }
    }
    g1_set_inf(&running);
    g1_set_inf(out);
    for (int b = IC_NB - 1; b >= 0; b--) {
        g1_add(&running, &running, &bucket[b]);
        g1_add(out, out, &running);
    }
}

static int ic_table(g1_aff *table, const g1_aff *ic, size_t n) {
    size_t total = n * IC_W;
    g1_jac *jac = malloc(total * sizeof *jac);
    fe *pre = malloc(total * sizeof *pre);
    if (!jac || !pre) {
        free(jac);
        free(pre);
        return -2;
    }
    for (size_t j = 0; j < n; j++) {
        g1_from_aff(&jac[j * IC_W], &ic[j]);
        for (size_t k = 1; k < IC_W; k++) {
            jac[j * IC_W + k] = jac[j * IC_W + k - 1];
            for (int b = 0; b < IC_C; b++) g1_dbl(&jac[j * IC_W + k], &jac[j * IC_W + k]);
        }
    }
    fe acc = Q_ONE, inv;  /* all to affine with one inversion */
    for (size_t i = 0; i < total; i++) {
        pre[i] = acc;
        if (!g1_is_inf(&jac[i])) fq_mul(&acc, &acc, &jac[i].z);
    }
    fq_inv(&inv, &acc);
    for (size_t i = total; i-- > 0;) {
        if (g1_is_inf(&jac[i])) {
            memset(&table[i], 0, sizeof table[i]);
            continue;
        }
        fe zi, z2;
        fq_mul(&zi, &inv, &pre[i]);
        fq_mul(&inv, &inv, &jac[i].z);
        fq_sqr(&z2, &zi);
        fq_mul(&table[i].x, &jac[i].x, &z2);
        fq_mul(&z2, &z2, &zi);
        fq_mul(&table[i].y, &jac[i].y, &z2);
    }
    free(jac);
    free(pre);
    return 0;
}

/* vk: alpha1 (64), beta2, gamma2, delta2 (128 each), IC[0..n_pub] (64 each), standard form,
 * parsed by groth16_format.py. Fills out (zkm_groth16_prepared_size bytes). Returns 0, -2 out
 * of memory, -3 internal inconsistency. */
int zkm_groth16_prepare(uint32_t n_pub, const uint8_t *vk, const uint8_t *ctx_blob, uint8_t *out) {
    const struct ctx *cx = (const struct ctx *)ctx_blob;
    struct prepared *pk = (struct prepared *)out;
    pk->n_pub = n_pub;
    p1m alpha;
    load_p1(&alpha, vk);
    pk->alpha = (g1_aff){alpha.x, alpha.y};
    p2m qs[3];
    for (int k = 0; k < 3; k++) load_p2(&qs[k], vk + 64 + 128 * k);
    if (plan_lines(pk->lines, qs, 3, cx)) return -3;
    g1_aff *ic = malloc((n_pub + 1) * sizeof *ic);
    if (!ic) return -2;
    for (uint32_t j = 0; j <= n_pub; j++) {
        p1m t;
        load_p1(&t, vk + 448 + 64 * (size_t)j);
        ic[j] = (g1_aff){t.x, t.y};
    }
    int rc = ic_table(pk->ic, ic, n_pub + 1);
    free(ic);
    if (rc) return rc;
    g1_jac aj;
    g1_from_aff(&aj, &pk->alpha);
    p1n an;
    fe pre;
    normalize(&an, &aj, 1, &pre);
    const pline *beta = pk->lines[0];
    struct miller_in in = {.n_fixed = 1, .lines = &beta, .fixed = &an};
    return miller_loop(&pk->ab, &in, cx);
}

/* --- verification --- */

/* One thread's share of a batch: the Miller loop of the pairs (-r_i A_i, B_i) of proofs
 * [lo, hi), into which the fixed pairs are folded so that they share its squarings: this
 * share's part of sum r_i C_i with delta and, for the share with `fixed` set, (sum r_i) alpha
 * with beta and sum r_i vk_x_i with gamma (e(alpha, beta)^(sum r_i) would be an Fp12
 * exponentiation). That work is about three proofs' worth (the public-input sum of a batch has
 * full-size scalars, unlike one proof's), which the partition in zkm_groth16_verify allows for.
 * rc: 0, -2 out of memory, -3 internal inconsistency. */
struct share {
    const struct ctx *cx;
    const struct prepared *pk;
    const uint8_t *proofs;
    const fe *ws, *sc;
    const fe *halves;  /* per proof a, b (64-bit, standard form) with r_i = a + b lambda */
    size_t lo, hi;
    int fixed;
    int8_t *status;  /* NULL: the points were checked by groth16_format.py; else check them here */
    fq12 f;
    int rc;
};

#define FIXED_UNITS 3  /* the fixed share's extra work, in proofs (as measured on liquidation_4) */

/* (a + b lambda) p = a p + b phi(p) for 64-bit a, b (Shamir's trick: 64 doublings instead of
 * the 128 of a 128-bit scalar), phi(x, y) = (beta x, y) */
static void g1_mul_glv(g1_jac *r, const g1_aff *p, uint64_t a, uint64_t b, const fe *beta) {
    g1_aff q = {.y = p->y};
    fq_mul(&q.x, &p->x, beta);
    g1_jac pq;
    g1_from_aff(&pq, p);
    g1_madd(&pq, &pq, &q);  /* (1 + lambda) p, never infinity: lambda != -1 */
    g1_set_inf(r);
    int i = 63;
    while (i >= 0 && !(((a | b) >> i) & 1)) i--;
    for (; i >= 0; i--) {
        g1_dbl(r, r);
        int ba = (int)((a >> i) & 1), bb = (int)((b >> i) & 1);
        if (ba && bb) g1_add(r, r, &pq);
        else if (ba) g1_madd(r, r, p);
        else if (bb) g1_madd(r, r, &q);
    }
}

/* A proof's points (zkm_groth16_verify's 256 bytes, canonical coordinates): 0 when A and C are
 * on the curve and B on the twist and in G2, else a nonzero code (1 A, 2 B off the twist, 3 B
 * not in G2, 4 C). The same tests as groth16_format.py's, which names the fault. */
static int check_proof(const uint8_t *p, const struct ctx *cx) {
    p1m a, c;
    p2m b;
    load_p1(&a, p);
    load_p2(&b, p + 64);
    load_p1(&c, p + 192);
    fe b1;  /* G1's curve constant 3, Montgomery */
    fq_add(&b1, &Q_ONE, &Q_ONE);
    fq_add(&b1, &b1, &Q_ONE);
    if (!g1_on_curve(&a.x, &a.y, &b1)) return 1;
    if (!g2_on_curve(&b.x, &b.y, &cx->b2)) return 2;
    if (!g2_in_subgroup(&b, cx)) return 3;
    if (!g1_on_curve(&c.x, &c.y, &b1)) return 4;
    return 0;
}

static void *run_share(void *arg) {
    struct share *sh = arg;
    const struct ctx *cx = sh->cx;
    const struct prepared *pk = sh->pk;
    size_t n = sh->hi - sh->lo, nf = sh->fixed ? 3 : 1;
    g1_jac *pa = malloc((n + nf) * sizeof *pa);
    p2m *qs = malloc((n ? n : 1) * sizeof *qs);
    p1n *ps = malloc((n + nf) * sizeof *ps);
    fe *pre = malloc((n + nf) * sizeof *pre);
    g1_aff *cs = malloc((n ? 2 * n : 1) * sizeof *cs);  /* C_i, then phi(C_i) */
    sh->rc = -2;
    if (!pa || !qs || !ps || !pre || !cs) goto done;
    if (sh->status) {  /* every point on its curve, B in G2, before any is used */
        int bad = 0;
        for (size_t i = sh->lo; i < sh->hi; i++) {
            sh->status[i] = (int8_t)check_proof(sh->proofs + 256 * i, cx);
            bad |= sh->status[i];
        }
        if (bad) {
            sh->rc = -4;
            goto done;
        }
    }
    for (size_t i = sh->lo; i < sh->hi; i++) {
        const uint8_t *p = sh->proofs + 256 * i;
        p1m a, c;
        load_p1(&a, p);
        load_p2(&qs[i - sh->lo], p + 64);
        load_p1(&c, p + 192);
        g1_jac *m = &pa[i - sh->lo];
        g1_aff aa = {a.x, a.y};
        g1_mul_glv(m, &aa, sh->halves[2 * i].v[0], sh->halves[2 * i + 1].v[0], &cx->glv_beta);
        fq_neg(&m->y, &m->y);
        cs[i - sh->lo] = (g1_aff){c.x, c.y};
        fq_mul(&cs[n + i - sh->lo].x, &c.x, &cx->glv_beta);
        cs[n + i - sh->lo].y = c.y;
    }
    /* the fixed G1 points after the proofs' A: delta's (sum a_i C_i + b_i phi(C_i), 2n points
     * with 64-bit scalars), then beta's and gamma's */
    fe *hs = malloc((n ? 2 * n : 1) * sizeof *hs);
    if (!hs) goto done;
    for (size_t k = 0; k < n; k++) {
        hs[k] = sh->halves[2 * (sh->lo + k)];
        hs[n + k] = sh->halves[2 * (sh->lo + k) + 1];
    }
    int msm_rc = g1_msm(&pa[n], cs, hs, 2 * n);
    free(hs);
    if (msm_rc) goto done;
    if (sh->fixed) {
        g1_mul_aff(&pa[n + 1], &pk->alpha, &sh->sc[0]);
        ic_msm(&pa[n + 2], pk, sh->sc);
    }
    normalize(ps, pa, n + nf, pre);
    const pline *lines[3] = {pk->lines[2], pk->lines[0], pk->lines[1]};
    struct miller_in in = {.n_fixed = nf, .lines = lines, .fixed = ps + n, .n_aff = n, .aff_p = ps, .aff_q = qs};
    sh->rc = miller_loop(&sh->f, &in, cx);
done:
    free(pa);
    free(qs);
    free(ps);
    free(pre);
    free(cs);
    return NULL;
}

/* A single proof with weight 1: its B walked projectively, e(alpha, beta) from the key. */
static int verify_one(const struct prepared *pk, const uint8_t *proof, const fe *sc, const struct ctx *cx) {
    p1m a, c;
    p2m b;
    load_p1(&a, proof);
    load_p2(&b, proof + 64);
    load_p1(&c, proof + 192);
    g1_jac pts[2];
    ic_msm(&pts[0], pk, sc);
    g1_aff ca = {c.x, c.y};
    g1_from_aff(&pts[1], &ca);
    p1n fixed[2];
    fe pre[2];
    normalize(fixed, pts, 2, pre);
    fq_neg(&a.y, &a.y);
    const pline *lines[2] = {pk->lines[1], pk->lines[2]};
    struct miller_in in = {.n_fixed = 2, .lines = lines, .fixed = fixed, .proj_p = &a, .proj_q = &b};
    fq12 f;
    int rc = miller_loop(&f, &in, cx);
    if (rc) return rc;
    fq12_mul(&f, &f, &pk->ab);
    rc = final_exp_is_one(&f, cx);
    return rc < 0 ? -3 : rc;
}

/* Groth16: for proofs i with random weights r_i (1 for a single proof),
 *   prod e(-r_i A_i, B_i) * e((sum r_i) alpha, beta) * e(sum r_i vk_x_i, gamma) * e(sum r_i C_i, delta) == 1.
 * prepared: zkm_groth16_prepare's. proofs: per proof A (64), B (128), C (64). publics: n_pub x 32
 * per proof. weights: 16 per proof, 64-bit a_i then b_i (little-endian) with r_i = a_i + b_i lambda
 * mod r (lambda: phi's eigenvalue, see g1_mul_glv); the low bit of a_i is set here, so r_i != 0 and
 * random bytes serve. status NULL: every point passed zkmargin/groth16_format.py's parse (see the top
 * of this file). Else the points only have canonical coordinates (groth16_format.pack_batch) and
 * are checked here, each share checking its own proofs before its Miller loop (so the G2
 * membership tests run on every thread with one thread start for all): status[i] gets
 * check_proof's code of proof i, and a fault makes the answer -4 (the caller re-parses to name it).
 * The proofs are shared among `threads` threads (each with its own Miller product). Returns 1
 * valid, 0 invalid, -2 out of memory or no thread, -3 internal inconsistency, -4 a point failed
 * its check. */
int zkm_groth16_verify(uint32_t n_proofs, uint32_t n_pub, const uint8_t *prepared, const uint8_t *proofs,
                       const uint8_t *publics, const uint8_t *weights, uint32_t threads, const uint8_t *ctx_blob,
                       int8_t *status) {
    const struct ctx *cx = (const struct ctx *)ctx_blob;
    const struct prepared *pk = (const struct prepared *)prepared;
    size_t np = n_proofs;
    size_t nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (nt > np) nt = np ? np : 1;
    if (pk->n_pub != n_pub) return -3;
    int rc = -2;
    fe *sc = calloc(n_pub + 1, sizeof *sc), *ws = malloc((np ? np : 1) * sizeof *ws);
    fe *halves = calloc(np ? 2 * np : 1, sizeof *halves);
    struct share *shares = calloc(nt, sizeof *shares);
    pthread_t *tids = calloc(nt, sizeof *tids);
    if (!sc || !ws || !halves || !shares || !tids) goto done;

    /* combined public scalars, standard form: sc[0] = sum r_i, sc[j] = sum r_i pub_ij (mod r) */
    for (size_t i = 0; i < np; i++) {
        fe wm;
        memcpy(&halves[2 * i].v[0], weights + 16 * i, 8);
        memcpy(&halves[2 * i + 1].v[0], weights + 16 * i + 8, 8);
        halves[2 * i].v[0] |= 1;
        fr_mul(&ws[i], &cx->glv_lambda, &halves[2 * i + 1]);  /* Montgomery times standard: standard */
        fr_add(&ws[i], &ws[i], &halves[2 * i]);
        fr_to_mont(&wm, &ws[i]);
        fr_add(&sc[0], &sc[0], &ws[i]);
        for (uint32_t j = 0; j < n_pub; j++) {
            fe s, t;
            memcpy(&s, publics + (i * n_pub + j) * 32, 32);
            fr_mul(&t, &wm, &s);  /* Montgomery times standard: the standard-form product */
            fr_add(&sc[j + 1], &sc[j + 1], &t);
        }
    }
    if (np == 1 && fe_eq(&ws[0], &ONE_STD)) {
        if (status && (status[0] = (int8_t)check_proof(proofs, cx))) {
            rc = -4;
            goto done;
        }
        rc = verify_one(pk, proofs, sc, cx);
        goto done;
    }

    /* nt shares of the proofs and the fixed work (share 0's), each with its own Miller loop,
     * the last one on this thread; one final exponentiation of their product */
    size_t units = np + FIXED_UNITS, started = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t lo = units * t / nt, hi = units * (t + 1) / nt;
        lo = lo < FIXED_UNITS ? 0 : lo - FIXED_UNITS;
        hi = hi < FIXED_UNITS ? 0 : hi - FIXED_UNITS;
        shares[t] = (struct share){.cx = cx, .pk = pk, .proofs = proofs, .ws = ws, .sc = sc, .halves = halves,
                                   .lo = lo, .hi = hi, .fixed = t == 0, .status = status};
    }
    for (size_t t = 0; t + 1 < nt; t++, started++)
        if (pthread_create(&tids[t], NULL, run_share, &shares[t])) break;
    if (started + 1 == nt) run_share(&shares[nt - 1]);
    for (size_t t = 0; t < started; t++) pthread_join(tids[t], NULL);
    if (started + 1 != nt) goto done;
    for (size_t t = 0; t < nt; t++)
        if (shares[t].rc) { rc = shares[t].rc; goto done; }
    fq12 f = shares[0].f;
    for (size_t t = 1; t < nt; t++) fq12_mul(&f, &f, &shares[t].f);
    rc = final_exp_is_one(&f, cx);
    if (rc == -1) rc = -3;
done:
    free(sc);
    free(ws);
    free(halves);
    free(shares);
    free(tids);
    return rc;
}

/* G2 membership of one affine point (standard form): 1 member, 0 not, -1 not on the twist
 * (all zero bytes included: (0, 0) is not a point). groth16_format.py's subgroup test. */
int zkm_g2_in_subgroup(const uint8_t *point, const uint8_t *ctx_blob) {
    const struct ctx *cx = (const struct ctx *)ctx_blob;
    p2m q;
    load_p2(&q, point);
    if (!g2_on_curve(&q.x, &q.y, &cx->b2)) return -1;
    return g2_in_subgroup(&q, cx);
}

/* G2 membership of n affine points (128 bytes each, standard form), shared among `threads`
 * threads: out[i] = zkm_g2_in_subgroup's answer for point i. groth16_format.py's test for the
 * B points of a batch, whose serial cost would otherwise rival the batch's pairing. Returns 0
 * (a share no thread could be started for is computed on this thread). */
struct g2_share {
    const uint8_t *points;
    const struct ctx *cx;
    int8_t *out;
    size_t lo, hi;
};

static void *run_g2_share(void *arg) {
    struct g2_share *sh = arg;
    for (size_t i = sh->lo; i < sh->hi; i++)
        sh->out[i] = (int8_t)zkm_g2_in_subgroup(sh->points + 128 * i, (const uint8_t *)sh->cx);
    return NULL;
}

int zkm_g2_in_subgroup_many(uint32_t n, const uint8_t *points, uint32_t threads, const uint8_t *ctx_blob, int8_t *out) {
    const struct ctx *cx = (const struct ctx *)ctx_blob;
    size_t nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (nt > n) nt = n ? n : 1;
    struct g2_share shares[64];
    pthread_t tids[64];
    size_t started = 0;
    for (size_t t = 0; t < nt; t++)
        shares[t] = (struct g2_share){.points = points, .cx = cx, .out = out, .lo = n * t / nt, .hi = n * (t + 1) / nt};
    for (size_t t = 0; t + 1 < nt; t++, started++)
        if (pthread_create(&tids[t], NULL, run_g2_share, &shares[t])) break;
    /* this thread takes its own share and any share no thread was started for */
    for (size_t t = started; t < nt; t++) run_g2_share(&shares[t]);
    for (size_t t = 0; t < started; t++) pthread_join(tids[t], NULL);
    return 0;
}

/* --- for benchmarks/peers.py: the parts of a batch verification's floor, timed from Python --- */

/* One Miller loop over the pairs (A_i, B_i) of n parsed proofs (256 bytes each, as for
 * zkm_groth16_verify), walked as a batch share walks its varying pairs (B affine, one inversion
 * per step for all), on this thread; its value into out (zkm_bench_fq12_bytes()). Returns 0, -2 out of
 * memory, -3 internal inconsistency. */
uint32_t zkm_bench_fq12_bytes(void) { return (uint32_t)sizeof(fq12); }

int zkm_bench_miller(uint32_t n, const uint8_t *proofs, const uint8_t *ctx_blob, uint8_t *out) {
    const struct ctx *cx = (const struct ctx *)ctx_blob;
    g1_jac *pa = malloc((n ? n : 1) * sizeof *pa);
    p2m *qs = malloc((n ? n : 1) * sizeof *qs);
    p1n *ps = malloc((n ? n : 1) * sizeof *ps);
    fe *pre = malloc((n ? n : 1) * sizeof *pre);
    int rc = -2;
    if (!pa || !qs || !ps || !pre) goto done;
    for (size_t i = 0; i < n; i++) {
        p1m a;
        load_p1(&a, proofs + 256 * i);
        load_p2(&qs[i], proofs + 256 * i + 64);
        g1_aff aa = {a.x, a.y};
        g1_from_aff(&pa[i], &aa);
    }
    normalize(ps, pa, n, pre);
    struct miller_in in = {.n_aff = n, .aff_p = ps, .aff_q = qs};
    fq12 f;
    rc = miller_loop(&f, &in, cx);
    memcpy(out, &f, sizeof f);
done:
    free(pa);
    free(qs);
    free(ps);
    free(pre);
    return rc;
}

/* One final exponentiation of f (zkm_bench_miller's out): 1 if it gives one, 0 if not, -3 if f
 * is zero. */
int zkm_bench_final_exp(const uint8_t *f, const uint8_t *ctx_blob) {
    fq12 g;
    memcpy(&g, f, sizeof g);
    int rc = final_exp_is_one(&g, (const struct ctx *)ctx_blob);
    return rc < 0 ? -3 : rc;
}
