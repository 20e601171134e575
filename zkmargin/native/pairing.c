/* Groth16 verification on BN254: one proof, or many proofs of one key as a random linear
 * combination sharing one Miller loop and one final exponentiation.
 *
 * The algebra is groth16_fast.py's (which tests hold equal to py_ecc), moved to 64-bit
 * Montgomery arithmetic: Fp12 = Fp[w]/(w^12 - 18 w^6 + 82) as py_ecc represents it; the
 * Miller loop walks the G2 point on the twist in homogeneous projective Fp2 coordinates and
 * embeds each line (an Fp2 element times w^k) into Fp12; the two closing lines use psi(Q)
 * and -psi^2(Q) on the twist; the final exponentiation is the easy part by Frobenius maps
 * (f^-1 through the norm to Fp) and the hard part as a 4-way exponentiation in base p.
 * G2 membership: [x+1]Q + psi([x]Q) + psi^2([x]Q) == psi^3([2x]Q) (Scott 2021).
 *
 * Every point given to zkm_groth16_verify was parsed by zkmargin/groth16_format.py, the one
 * parser all backends share: canonical coordinates, finite, affine, on its curve, B, beta,
 * gamma and delta in G2 (it runs zkm_g2_in_subgroup below); public signals < r. Nothing here
 * checks them again, and no byte pattern means infinity (snarkjs, the EVM and this file used
 * to disagree on which one did). Inputs are standard-form little-endian; the context blob
 * (struct ctx) holds constants Python derives from py_ecc, so none is transcribed by hand.
 */
#include <pthread.h>

#include "bn254.h"

typedef struct { fe c[12]; } fq12;

struct ctx {
    fq12 frob[12];    /* w^(p*i), Montgomery: (sum c_i w^i)^p = sum c_i frob[i] */
    fe digits[4];     /* (p^4 - p^2 + 1)/r in base p, plain integers */
    fe2 psi_x, psi_y; /* psi(x, y) = (fq2_conj(x) psi_x, fq2_conj(y) psi_y) on the twist */
    fe2 b2;           /* twist curve constant 3/(9+u) */
    fe k9, k18, k82;  /* small constants, Montgomery */
    int8_t loop[64];  /* 6x+2 in signed binary, most significant digit first, leading 1 dropped */
    uint64_t bn_x;    /* the curve parameter x */
};

static const fe Q_R2 = {{0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL}};

static void to_mont(fe *r, const uint8_t *p) {
    fe t;
    memcpy(&t, p, 32);
    fq_mul(r, &t, &Q_R2);
}

/* --- Fp12 --- */
static void fq12_one(fq12 *r) {
    memset(r, 0, sizeof *r);
    r->c[0] = Q_ONE;
}

static int fq12_is_one(const fq12 *a) {
    if (!fe_eq(&a->c[0], &Q_ONE)) return 0;
    for (int i = 1; i < 12; i++)
        if (!fe_zero(&a->c[i])) return 0;
    return 1;
}

/* Schoolbook product, skipping zero coefficients (embedded lines have at most six), then
 * w^k for k >= 12 folded down with w^12 = 18 w^6 - 82. */
static void fq12_mul(fq12 *r, const fq12 *a, const fq12 *b, const struct ctx *cx) {
    fe t[23];
    memset(t, 0, sizeof t);
    int nb[12], m = 0;
    for (int j = 0; j < 12; j++)
        if (!fe_zero(&b->c[j])) nb[m++] = j;
    for (int i = 0; i < 12; i++) {
        if (fe_zero(&a->c[i])) continue;
        for (int k = 0; k < m; k++) {
            int j = nb[k];
            fe p;
            fq_mul(&p, &a->c[i], &b->c[j]);
            fq_add(&t[i + j], &t[i + j], &p);
        }
    }
    for (int k = 22; k >= 12; k--) {
        if (fe_zero(&t[k])) continue;
        fe p;
        fq_mul(&p, &t[k], &cx->k18);
        fq_add(&t[k - 6], &t[k - 6], &p);
        fq_mul(&p, &t[k], &cx->k82);
        fq_sub(&t[k - 12], &t[k - 12], &p);
    }
    memcpy(r->c, t, sizeof r->c);
}

static void fq12_frob(fq12 *r, const fq12 *a, const struct ctx *cx) {
    fq12 acc;
    memset(&acc, 0, sizeof acc);
    for (int i = 0; i < 12; i++) {
        if (fe_zero(&a->c[i])) continue;
        for (int j = 0; j < 12; j++) {
            fe p;
            fq_mul(&p, &a->c[i], &cx->frob[i].c[j]);
            fq_add(&acc.c[j], &acc.c[j], &p);
        }
    }
    *r = acc;
}

/* f^-1 = M / N with M = prod_{i=1..11} f^(p^i) and N = f * M = Norm(f) in Fp. */
static int fq12_inv(fq12 *r, const fq12 *f, const struct ctx *cx) {
    fq12 g = *f, m, n;
    fq12_one(&m);
    for (int i = 1; i < 12; i++) {
        fq12_frob(&g, &g, cx);
        fq12_mul(&m, &m, &g, cx);
    }
    fq12_mul(&n, f, &m, cx);
    for (int i = 1; i < 12; i++)
        if (!fe_zero(&n.c[i])) return -1;  /* the norm must lie in Fp: an arithmetic bug otherwise */
    if (fe_zero(&n.c[0])) return -1;
    fe ni;
    fq_inv(&ni, &n.c[0]);
    for (int i = 0; i < 12; i++) fq_mul(&r->c[i], &m.c[i], &ni);
    return 0;
}

/* 1 if f^((p^12 - 1)/r) == 1, 0 if not, -1 on an internal inconsistency */
static int final_exp_is_one(const fq12 *f, const struct ctx *cx) {
    fq12 f6, fi, f1, f2;
    if (fq12_inv(&fi, f, cx)) return -1;
    f6 = *f;
    for (int i = 0; i < 6; i++) fq12_frob(&f6, &f6, cx);
    fq12_mul(&f1, &f6, &fi, cx);  /* f^(p^6 - 1) */
    fq12_frob(&f2, &f1, cx);
    fq12_frob(&f2, &f2, cx);
    fq12_mul(&f2, &f2, &f1, cx);  /* ^(p^2 + 1) */
    fq12 base[4], table[16];
    base[0] = f2;
    for (int i = 1; i < 4; i++) fq12_frob(&base[i], &base[i - 1], cx);
    fq12_one(&table[0]);
    for (int mask = 1; mask < 16; mask++) {
        int low = mask & -mask, bit = __builtin_ctz((unsigned)low);
        fq12_mul(&table[mask], &table[mask ^ low], &base[bit], cx);
    }
    fq12 acc;
    fq12_one(&acc);
    for (int bit = 255; bit >= 0; bit--) {
        fq12_mul(&acc, &acc, &acc, cx);
        int mask = 0;
        for (int j = 0; j < 4; j++) mask |= (int)((cx->digits[j].v[bit >> 6] >> (bit & 63)) & 1) << j;
        if (mask) fq12_mul(&acc, &acc, &table[mask], cx);
    }
    return fq12_is_one(&acc);
}

/* --- lines on the twist, homogeneous projective Fp2 (py_ecc's optimized_curve formulas) --- */
typedef struct { fe2 x, y, z; } tw;

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

/* The Miller accumulator in the other basis of the same field: Fp12 = Fp2[w]/(w^6 - xi),
 * xi = w^6 = 9 + u (the twist's isomorphism maps u to w^6 - 9). A line is then three Fp2
 * coefficients, and multiplying by it costs 18 Fp2 products instead of a dense Fp12 one. */
typedef struct { fe2 c[6]; } f6;
typedef struct { int n; int pos[3]; fe2 val[3]; } sline;

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

static void f6_fold(f6 *r, fe2 t[11]) {
    for (int k = 10; k >= 6; k--) {
        fe2 x;
        fq2_mul_xi(&x, &t[k]);
        fq2_add(&t[k - 6], &t[k - 6], &x);
    }
    memcpy(r->c, t, sizeof r->c);
}

static void f6_sqr(f6 *r, const f6 *a) {
    fe2 t[11], p;
    memset(t, 0, sizeof t);
    for (int i = 0; i < 6; i++) {
        fq2_sqr(&p, &a->c[i]);
        fq2_add(&t[2 * i], &t[2 * i], &p);
        for (int j = i + 1; j < 6; j++) {
            fq2_mul(&p, &a->c[i], &a->c[j]);
            fq2_add(&p, &p, &p);
            fq2_add(&t[i + j], &t[i + j], &p);
        }
    }
    f6_fold(r, t);
}

static void f6_mul_line(f6 *f, const sline *l) {
    fe2 t[11], p;
    memset(t, 0, sizeof t);
    for (int k = 0; k < l->n; k++) {
        for (int i = 0; i < 6; i++) {
            fq2_mul(&p, &f->c[i], &l->val[k]);
            fq2_add(&t[i + l->pos[k]], &t[i + l->pos[k]], &p);
        }
    }
    f6_fold(f, t);
}

/* back to py_ecc's basis for the final exponentiation: a + b u at w^k -> (a - 9b) w^k + b w^(k+6) */
static void f6_to_fq12(fq12 *r, const f6 *a) {
    for (int k = 0; k < 6; k++) {
        fe n;
        fq_nine(&n, &a->c[k].c1);
        fq_sub(&r->c[k], &a->c[k].c0, &n);
        r->c[k + 6] = a->c[k].c1;
    }
}

/* e * w^k into the sparse line (k <= 6; w^6 = xi) */
static void sline_add(sline *l, const fe2 *e, int k) {
    fe2 v = *e;
    if (k == 6) {
        fq2_mul_xi(&v, e);
        k = 0;
    }
    l->pos[l->n] = k;
    l->val[l->n] = v;
    l->n++;
}

/* The line through r and q (tangent at r when q is NULL) evaluated at the G1 point (px, py):
 * groth16_fast._line followed by _eval, as a sparse element. */
static void line_eval(sline *out, const tw *r, const tw *q, const fe *px, const fe *py) {
    out->n = 0;
    fe2 mn, md, t, u, e;
    int ka, kb, kc;
    if (q) {
        fq2_mul(&t, &q->y, &r->z);
        fq2_mul(&u, &r->y, &q->z);
        fq2_sub(&mn, &t, &u);
        fq2_mul(&t, &q->x, &r->z);
        fq2_mul(&u, &r->x, &q->z);
        fq2_sub(&md, &t, &u);
        if (!fq2_is_zero(&md)) {
            ka = 3; kb = 2; kc = 5;
            goto general;
        }
        if (!fq2_is_zero(&mn)) {  /* vertical line: z1 * x - x1 w^2 */
            fq_mul(&e.c0, &r->z.c0, px);
            fq_mul(&e.c1, &r->z.c1, px);
            sline_add(out, &e, 0);
            fq2_neg(&e, &r->x);
            sline_add(out, &e, 2);
            return;
        }
    }
    fq2_sqr(&mn, &r->x);
    fq2_add(&t, &mn, &mn);
    fq2_add(&mn, &t, &mn);   /* 3 x1^2 */
    fq2_mul(&md, &r->y, &r->z);
    fq2_add(&md, &md, &md);  /* 2 y1 z1 */
    ka = 4; kb = 3; kc = 6;
general:
    /* (mn z1) x w^ka - (md z1) y w^kb + (md y1 - mn x1) w^kc */
    fq2_mul(&t, &mn, &r->z);
    fq_mul(&e.c0, &t.c0, px);
    fq_mul(&e.c1, &t.c1, px);
    sline_add(out, &e, ka);
    fq2_mul(&t, &md, &r->z);
    fq2_neg(&t, &t);
    fq_mul(&e.c0, &t.c0, py);
    fq_mul(&e.c1, &t.c1, py);
    sline_add(out, &e, kb);
    fq2_mul(&t, &md, &r->y);
    fq2_mul(&u, &mn, &r->x);
    fq2_sub(&e, &t, &u);
    sline_add(out, &e, kc);
}

static void fq2_conj(fe2 *r, const fe2 *a) {
    r->c0 = a->c0;
    fq_neg(&r->c1, &a->c1);
}

static void psi_aff(fe2 *x, fe2 *y, const fe2 *ax, const fe2 *ay, const struct ctx *cx) {
    fe2 t;
    fq2_conj(&t, ax);
    fq2_mul(x, &t, &cx->psi_x);
    fq2_conj(&t, ay);
    fq2_mul(y, &t, &cx->psi_y);
}

typedef struct { fe x, y; int inf; } p1m;    /* affine G1, Montgomery */
typedef struct { fe2 x, y; int inf; } p2m;   /* affine twist point, Montgomery */

/* f = prod of the Miller values of (P_i, Q_i), sharing the squarings; -2 out of memory */
static int miller_product(fq12 *f, size_t n, const p1m *ps, const p2m *qs, const struct ctx *cx) {
    tw *rs = malloc((n ? n : 1) * sizeof *rs);
    if (!rs) return -2;
    for (size_t i = 0; i < n; i++) {
        rs[i].x = qs[i].x;
        rs[i].y = qs[i].y;
        fq2_set_one(&rs[i].z);
    }
    sline l;
    f6 acc;
    memset(&acc, 0, sizeof acc);
    acc.c[0].c0 = Q_ONE;
    for (int step = 0; step < 64; step++) {
        f6_sqr(&acc, &acc);
        for (size_t i = 0; i < n; i++) {
            if (ps[i].inf || qs[i].inf) continue;
            line_eval(&l, &rs[i], NULL, &ps[i].x, &ps[i].y);
            f6_mul_line(&acc, &l);
            tw_dbl(&rs[i], &rs[i]);
            int v = cx->loop[step];
            if (v) {
                tw q = {qs[i].x, qs[i].y, {Q_ONE, {{0, 0, 0, 0}}}};
                if (v < 0) fq2_neg(&q.y, &q.y);
                line_eval(&l, &rs[i], &q, &ps[i].x, &ps[i].y);
                f6_mul_line(&acc, &l);
                tw_add(&rs[i], &rs[i], &q);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (ps[i].inf || qs[i].inf) continue;
        tw q1 = {.z = {Q_ONE, {{0, 0, 0, 0}}}}, q2 = q1;
        psi_aff(&q1.x, &q1.y, &qs[i].x, &qs[i].y, cx);
        psi_aff(&q2.x, &q2.y, &q1.x, &q1.y, cx);
        fq2_neg(&q2.y, &q2.y);
        line_eval(&l, &rs[i], &q1, &ps[i].x, &ps[i].y);
        f6_mul_line(&acc, &l);
        tw_add(&rs[i], &rs[i], &q1);
        line_eval(&l, &rs[i], &q2, &ps[i].x, &ps[i].y);
        f6_mul_line(&acc, &l);
    }
    f6_to_fq12(f, &acc);
    free(rs);
    return 0;
}

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
    g2_jac p, xq, lhs, rhs, t;
    p.x = q->x;
    p.y = q->y;
    fq2_set_one(&p.z);
    fe x = {{cx->bn_x, 0, 0, 0}};
    g2_mul(&xq, &p, &x);
    g2_add(&lhs, &xq, &p);          /* [x+1]Q */
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

static void jac_to_p1(p1m *r, const g1_jac *j) {
    g1_aff a;
    if (g1_to_aff(&a, j)) { memset(r, 0, sizeof *r); r->inf = 1; return; }
    r->x = a.x;
    r->y = a.y;
    r->inf = 0;
}

/* One thread's share of a batch: weight the A points of proofs [lo, hi) and take the product
 * of their Miller values. rc: 0, or -2 out of memory. */
struct share {
    const struct ctx *cx;
    const uint8_t *proofs;
    const fe *ws;
    p1m *ps;
    p2m *qs;
    g1_aff *cs;
    size_t lo, hi;
    fq12 f;
    int rc;
};

static void *run_share(void *arg) {
    struct share *sh = arg;
    const struct ctx *cx = sh->cx;
    sh->rc = 0;
    for (size_t i = sh->lo; i < sh->hi; i++) {
        const uint8_t *p = sh->proofs + 256 * i;
        p1m a, c;
        p2m *q = &sh->qs[i];
        load_p1(&a, p);
        load_p2(q, p + 64);
        load_p1(&c, p + 192);
        g1_jac j, m;
        g1_aff aa = {a.x, a.y};
        g1_from_aff(&j, &aa);
        g1_mul(&m, &j, &sh->ws[i]);
        fq_neg(&m.y, &m.y);
        jac_to_p1(&sh->ps[i], &m);
        sh->cs[i].x = c.x;
        sh->cs[i].y = c.y;
    }
    sh->rc = miller_product(&sh->f, sh->hi - sh->lo, sh->ps + sh->lo, sh->qs + sh->lo, cx);
    return NULL;
}

/* Groth16: for proofs i with random weights r_i (1 for a single proof),
 *   prod e(-r_i A_i, B_i) * e((sum r_i) alpha, beta) * e(sum r_i vk_x_i, gamma) * e(sum r_i C_i, delta) == 1.
 * vk: alpha1 (64), beta2, gamma2, delta2 (128 each), IC[0..n_pub] (64 each).
 * proofs: per proof A (64), B (128), C (64). publics: n_pub x 32 per proof. weights: 32 per proof.
 * Every point must have passed zkmargin/groth16_format.py (see the top of this file).
 * The proofs are shared among `threads` threads (each with its own Miller product).
 * Returns 1 valid, 0 invalid, -2 out of memory or no thread, -3 internal inconsistency. */
int zkm_groth16_verify(uint32_t n_proofs, uint32_t n_pub, const uint8_t *vk, const uint8_t *proofs,
                       const uint8_t *publics, const uint8_t *weights, uint32_t threads, const uint8_t *ctx_blob) {
    const struct ctx *cx = (const struct ctx *)ctx_blob;
    size_t np = n_proofs;
    size_t nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (nt > np) nt = np ? np : 1;
    int rc = -2;
    p1m *ps = malloc((np + 3) * sizeof *ps);
    p2m *qs = malloc((np + 3) * sizeof *qs);
    g1_aff *ic = malloc((n_pub + 1) * sizeof *ic), *cs = malloc((np ? np : 1) * sizeof *cs);
    fe *sc = calloc(n_pub + 1, sizeof *sc), *ws = malloc((np ? np : 1) * sizeof *ws);
    struct share *shares = calloc(nt, sizeof *shares);
    pthread_t *tids = calloc(nt, sizeof *tids);
    if (!ps || !qs || !ic || !sc || !cs || !ws || !shares || !tids) goto done;

    /* verification key */
    p1m alpha;
    load_p1(&alpha, vk);
    for (int k = 0; k < 3; k++) load_p2(&qs[np + k], vk + 64 + 128 * k);
    for (uint32_t j = 0; j <= n_pub; j++) {
        p1m t;
        load_p1(&t, vk + 448 + 64 * (size_t)j);
        ic[j].x = t.x;
        ic[j].y = t.y;
    }

    /* combined public scalars, standard form: sc[0] = sum r_i, sc[j] = sum r_i pub_ij (mod r) */
    for (size_t i = 0; i < np; i++) {
        fe wm;
        memcpy(&ws[i], weights + 32 * i, 32);
        fr_to_mont(&wm, &ws[i]);
        fr_add(&sc[0], &sc[0], &ws[i]);
        for (uint32_t j = 0; j < n_pub; j++) {
            fe s, t;
            memcpy(&s, publics + (i * n_pub + j) * 32, 32);
            fr_mul(&t, &wm, &s);  /* Montgomery times standard: the standard-form product */
            fr_add(&sc[j + 1], &sc[j + 1], &t);
        }
    }

    /* the proofs' checks and Miller values, in nt shares (the last one on this thread) */
    rc = -2;
    size_t started = 0;
    for (size_t t = 0; t < nt; t++) {
        shares[t] = (struct share){cx, proofs, ws, ps, qs, cs, np * t / nt, np * (t + 1) / nt, {{{{0}}}}, 0};
    }
    for (size_t t = 0; t + 1 < nt; t++, started++)
        if (pthread_create(&tids[t], NULL, run_share, &shares[t])) break;
    if (started + 1 == nt) run_share(&shares[nt - 1]);
    for (size_t t = 0; t < started; t++) pthread_join(tids[t], NULL);
    if (started + 1 != nt) goto done;
    for (size_t t = 0; t < nt; t++)
        if (shares[t].rc) { rc = shares[t].rc; goto done; }

    /* (sum r_i) alpha, sum r_i vk_x_i = MSM(IC, sc), sum r_i C_i = MSM(C, r) */
    g1_jac acc;
    g1_aff al = {alpha.x, alpha.y};
    g1_jac aj;
    g1_from_aff(&aj, &al);
    g1_mul(&acc, &aj, &sc[0]);
    jac_to_p1(&ps[np], &acc);
    if (g1_msm(&acc, ic, sc, n_pub + 1)) goto done;
    jac_to_p1(&ps[np + 1], &acc);
    if (g1_msm(&acc, cs, ws, np)) goto done;
    jac_to_p1(&ps[np + 2], &acc);
    fq12 f;
    if (miller_product(&f, 3, ps + np, qs + np, cx)) goto done;
    for (size_t t = 0; t < nt; t++) fq12_mul(&f, &f, &shares[t].f, cx);
    rc = final_exp_is_one(&f, cx);
    if (rc == -1) rc = -3;
done:
    free(ps);
    free(qs);
    free(ic);
    free(cs);
    free(sc);
    free(ws);
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
