/* BN254 (alt_bn128) base field, its quadratic extension and the two curve groups, in
 * 64-bit Montgomery arithmetic: shared by the prover (groth16_prove.c) and the pairing
 * (pairing.c). Everything is static: each file compiles its own copy and inlines it. */
#ifndef ZKMARGIN_BN254_H
#define ZKMARGIN_BN254_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;
/* The field operations are small and called everywhere: inlined by force, since GCC's size
 * heuristics otherwise leave them as calls inside the large curve and pairing functions. */
#define ZKM_INLINE static inline __attribute__((always_inline))
typedef struct { uint64_t v[4]; } fe;

static const fe Q = {{0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}};
static const fe FR_MOD = {{0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}};
static const uint64_t Q_INV = 0x87d20782e4866389ULL;  /* -q^-1 mod 2^64 */
static const uint64_t R_INV = 0xc2e1f593efffffffULL;  /* -r^-1 mod 2^64 */
/* Montgomery one (2^256 mod q) */
static const fe Q_ONE = {{0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL}};

ZKM_INLINE int geq(const fe *a, const fe *m) {
    for (int i = 3; i >= 0; i--) {
        if (a->v[i] != m->v[i]) return a->v[i] > m->v[i];
    }
    return 1;
}

ZKM_INLINE void sub_n(fe *a, const fe *m) {
    u128 b = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)a->v[i] - m->v[i] - (uint64_t)b;
        a->v[i] = (uint64_t)d;
        b = (d >> 64) & 1;
    }
}

/* Set once when the library loads (arith.c): nonzero when the CPU has BMI2 and ADX, so that
 * mont_mul takes the mulx/adcx/adox path; tests switch it off to exercise the portable one. */
extern int zkm_adx __attribute__((visibility("hidden")));

/* CIOS Montgomery multiplication: a*b*2^-256 mod m, for m < 2^254. Portable C, the fallback. */
static inline void mont_mul_c(fe *r, const fe *a, const fe *b, const fe *m, uint64_t inv) {
    uint64_t t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        u128 c = 0;
        for (int j = 0; j < 4; j++) {
            c += (u128)a->v[j] * b->v[i] + t[j];
            t[j] = (uint64_t)c;
            c >>= 64;
        }
        c += t[4];
        t[4] = (uint64_t)c;
        t[5] = (uint64_t)(c >> 64);
        uint64_t mm = t[0] * inv;
        c = (u128)mm * m->v[0] + t[0];
        c >>= 64;
        for (int j = 1; j < 4; j++) {
            c += (u128)mm * m->v[j] + t[j];
            t[j - 1] = (uint64_t)c;
            c >>= 64;
        }
        c += t[4];
        t[3] = (uint64_t)c;
        t[4] = t[5] + (uint64_t)(c >> 64);
    }
    fe out = {{t[0], t[1], t[2], t[3]}};
    if (t[4] || geq(&out, m)) sub_n(&out, m);
    *r = out;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same product with mulx (BMI2) and two interleaved carry chains, adox for the low halves
 * and adcx for the high halves (ADX): about 1.8x faster than the C above, which compilers turn
 * into mul/adc with one chain. Inline assembly needs no -mbmi2/-madx, so the library still
 * builds and loads on any x86-64; zkm_adx keeps these instructions from running where the CPU
 * lacks them. Since m < 2^254 the top limb never carries out (the "no-carry" CIOS variant), so
 * five accumulator limbs t0..t4 rotate through the four rounds. Each round adds a*b_i (lo
 * halves into t_j, hi halves into t_j+1), then m*k with k = t0*inv, which zeroes t0: the next
 * round's accumulator starts one limb up and t0 becomes its fresh top limb. */
#define ZKM_T(t) "%[" #t "]"
#define ZKM_MULADD(y, tj, tj1) \
    "mulxq " y ", %[lo], %[hi]\n\t" "adoxq %[lo], " ZKM_T(tj) "\n\t" "adcxq %[hi], " ZKM_T(tj1) "\n\t"
#define ZKM_REDUCE(T0, T1, T2, T3, T4) \
    "movq " ZKM_T(T0) ", %%rdx\n\t" "imulq %[inv], %%rdx\n\t" "xorl %k[lo], %k[lo]\n\t" \
    ZKM_MULADD("%[m0]", T0, T1) ZKM_MULADD("%[m1]", T1, T2) ZKM_MULADD("%[m2]", T2, T3) \
    ZKM_MULADD("%[m3]", T3, T4) "movl $0, %k[lo]\n\t" "adoxq %[lo], " ZKM_T(T4) "\n\t"
#define ZKM_ROUND(bi, T0, T1, T2, T3, T4) \
    "movq %[" #bi "], %%rdx\n\t" "xorl %k[" #T4 "], %k[" #T4 "]\n\t" \
    ZKM_MULADD("%[a0]", T0, T1) ZKM_MULADD("%[a1]", T1, T2) ZKM_MULADD("%[a2]", T2, T3) \
    ZKM_MULADD("%[a3]", T3, T4) "movl $0, %k[lo]\n\t" "adoxq %[lo], " ZKM_T(T4) "\n\t" \
    ZKM_REDUCE(T0, T1, T2, T3, T4)

ZKM_INLINE void mont_mul_adx(fe *r, const fe *a, const fe *b, const fe *m, uint64_t inv) {
    uint64_t t0, t1, t2, t3, t4, lo, hi;
    __asm__(
        /* round 0: the accumulator is a*b_0 itself */
        "movq %[b0], %%rdx\n\t" "mulxq %[a0], %[t0], %[t1]\n\t"
        "mulxq %[a1], %[lo], %[t2]\n\t" "addq %[lo], %[t1]\n\t"
        "mulxq %[a2], %[lo], %[t3]\n\t" "adcq %[lo], %[t2]\n\t"
        "mulxq %[a3], %[lo], %[t4]\n\t" "adcq %[lo], %[t3]\n\t" "adcq $0, %[t4]\n\t"
        ZKM_REDUCE(t0, t1, t2, t3, t4)
        ZKM_ROUND(b1, t1, t2, t3, t4, t0)
        ZKM_ROUND(b2, t2, t3, t4, t0, t1)
        ZKM_ROUND(b3, t3, t4, t0, t1, t2)
        /* the result (t4, t0, t1, t2) is < 2m: subtract m unless that borrows */
        "movq %[t4], %[lo]\n\t" "subq %[m0], %[lo]\n\t"
        "movq %[t0], %[hi]\n\t" "sbbq %[m1], %[hi]\n\t"
        "movq %[t1], %%rdx\n\t" "sbbq %[m2], %%rdx\n\t"
        "movq %[t2], %[t3]\n\t" "sbbq %[m3], %[t3]\n\t"
        "cmovaeq %[lo], %[t4]\n\t" "cmovaeq %[hi], %[t0]\n\t"
        "cmovaeq %%rdx, %[t1]\n\t" "cmovaeq %[t3], %[t2]\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo),
          [hi] "=&r"(hi)
        : [a0] "m"(a->v[0]), [a1] "m"(a->v[1]), [a2] "m"(a->v[2]), [a3] "m"(a->v[3]),
          [b0] "m"(b->v[0]), [b1] "m"(b->v[1]), [b2] "m"(b->v[2]), [b3] "m"(b->v[3]),
          [m0] "m"(m->v[0]), [m1] "m"(m->v[1]), [m2] "m"(m->v[2]), [m3] "m"(m->v[3]), [inv] "rm"(inv)
        : "rdx", "cc");
    r->v[0] = t4;
    r->v[1] = t0;
    r->v[2] = t1;
    r->v[3] = t2;
}
#define ZKM_ADX_ASM 1
#endif

#ifdef ZKM_ADX_ASM
/* Out of line: on x86-64 the portable product only runs on CPUs without ADX (or in tests),
 * and inlining both bodies at every call made the compiler inline neither. */
__attribute__((noinline)) static void mont_mul_portable(fe *r, const fe *a, const fe *b, const fe *m, uint64_t inv) {
    mont_mul_c(r, a, b, m, inv);
}
#endif

ZKM_INLINE void mont_mul(fe *r, const fe *a, const fe *b, const fe *m, uint64_t inv) {
#ifdef ZKM_ADX_ASM
    if (__builtin_expect(zkm_adx, 1)) mont_mul_adx(r, a, b, m, inv);
    else mont_mul_portable(r, a, b, m, inv);
#else
    mont_mul_c(r, a, b, m, inv);
#endif
}

/* a + b and a - b mod m for a, b < m < 2^254, without branches: the portable C with the
 * compilers' carry builtins (u128 sums made GCC spill every limb), and on x86-64 the same in
 * assembly (add/adc, sub/sbb, cmov: baseline instructions), which runs with the mulx/adx
 * multiplication so that ZKMARGIN_NATIVE_ARITH=portable exercises all of the C. */
ZKM_INLINE void add_mod_c(fe *r, const fe *a, const fe *b, const fe *m) {
    uint64_t s[4], d[4], c = 0, br = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t t;
        c = __builtin_add_overflow(a->v[i], c, &t) | __builtin_add_overflow(t, b->v[i], &s[i]);
    }
    for (int i = 0; i < 4; i++) {
        uint64_t t;
        br = __builtin_sub_overflow(s[i], br, &t) | __builtin_sub_overflow(t, m->v[i], &d[i]);
    }
    uint64_t keep = -br;  /* a + b < m: keep the sum (a + b < 2^255: no carry out of s) */
    for (int i = 0; i < 4; i++) r->v[i] = (s[i] & keep) | (d[i] & ~keep);
}

ZKM_INLINE void sub_mod_c(fe *r, const fe *a, const fe *b, const fe *m) {
    uint64_t d[4], c = 0, br = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t t;
        br = __builtin_sub_overflow(a->v[i], br, &t) | __builtin_sub_overflow(t, b->v[i], &d[i]);
    }
    uint64_t mask = -br;  /* a < b: add m back */
    for (int i = 0; i < 4; i++) {
        uint64_t t;
        c = __builtin_add_overflow(d[i], c, &t) | __builtin_add_overflow(t, m->v[i] & mask, &r->v[i]);
    }
}

#ifdef ZKM_ADX_ASM
ZKM_INLINE void add_mod_asm(fe *r, const fe *a, const fe *b, const fe *m) {
    uint64_t s0 = a->v[0], s1 = a->v[1], s2 = a->v[2], s3 = a->v[3], d0, d1, d2, d3;
    __asm__("addq %[b0], %[s0]\n\t" "adcq %[b1], %[s1]\n\t" "adcq %[b2], %[s2]\n\t" "adcq %[b3], %[s3]\n\t"
            "movq %[s0], %[d0]\n\t" "subq %[m0], %[d0]\n\t" "movq %[s1], %[d1]\n\t" "sbbq %[m1], %[d1]\n\t"
            "movq %[s2], %[d2]\n\t" "sbbq %[m2], %[d2]\n\t" "movq %[s3], %[d3]\n\t" "sbbq %[m3], %[d3]\n\t"
            "cmovaeq %[d0], %[s0]\n\t" "cmovaeq %[d1], %[s1]\n\t" "cmovaeq %[d2], %[s2]\n\t" "cmovaeq %[d3], %[s3]"
            : [s0] "+&r"(s0), [s1] "+&r"(s1), [s2] "+&r"(s2), [s3] "+&r"(s3), [d0] "=&r"(d0), [d1] "=&r"(d1),
              [d2] "=&r"(d2), [d3] "=&r"(d3)
            : [b0] "rm"(b->v[0]), [b1] "rm"(b->v[1]), [b2] "rm"(b->v[2]), [b3] "rm"(b->v[3]), [m0] "m"(m->v[0]),
              [m1] "m"(m->v[1]), [m2] "m"(m->v[2]), [m3] "m"(m->v[3])
            : "cc");
    r->v[0] = s0;
    r->v[1] = s1;
    r->v[2] = s2;
    r->v[3] = s3;
}

ZKM_INLINE void sub_mod_asm(fe *r, const fe *a, const fe *b, const fe *m) {
    uint64_t d0 = a->v[0], d1 = a->v[1], d2 = a->v[2], d3 = a->v[3], t0, t1, t2, t3;
    __asm__("subq %[b0], %[d0]\n\t" "sbbq %[b1], %[d1]\n\t" "sbbq %[b2], %[d2]\n\t" "sbbq %[b3], %[d3]\n\t"
            "sbbq %[t0], %[t0]\n\t"  /* all ones on a borrow */
            "movq %[t0], %[t1]\n\t" "movq %[t0], %[t2]\n\t" "movq %[t0], %[t3]\n\t"
            "andq %[m0], %[t0]\n\t" "andq %[m1], %[t1]\n\t" "andq %[m2], %[t2]\n\t" "andq %[m3], %[t3]\n\t"
            "addq %[t0], %[d0]\n\t" "adcq %[t1], %[d1]\n\t" "adcq %[t2], %[d2]\n\t" "adcq %[t3], %[d3]"
            : [d0] "+&r"(d0), [d1] "+&r"(d1), [d2] "+&r"(d2), [d3] "+&r"(d3), [t0] "=&r"(t0), [t1] "=&r"(t1),
              [t2] "=&r"(t2), [t3] "=&r"(t3)
            : [b0] "rm"(b->v[0]), [b1] "rm"(b->v[1]), [b2] "rm"(b->v[2]), [b3] "rm"(b->v[3]), [m0] "m"(m->v[0]),
              [m1] "m"(m->v[1]), [m2] "m"(m->v[2]), [m3] "m"(m->v[3])
            : "cc");
    r->v[0] = d0;
    r->v[1] = d1;
    r->v[2] = d2;
    r->v[3] = d3;
}
#endif

ZKM_INLINE void add_mod(fe *r, const fe *a, const fe *b, const fe *m) {
#ifdef ZKM_ADX_ASM
    if (__builtin_expect(zkm_adx, 1)) {
        add_mod_asm(r, a, b, m);
        return;
    }
#endif
    add_mod_c(r, a, b, m);
}

ZKM_INLINE void sub_mod(fe *r, const fe *a, const fe *b, const fe *m) {
#ifdef ZKM_ADX_ASM
    if (__builtin_expect(zkm_adx, 1)) {
        sub_mod_asm(r, a, b, m);
        return;
    }
#endif
    sub_mod_c(r, a, b, m);
}

ZKM_INLINE int fe_zero(const fe *a) { return !(a->v[0] | a->v[1] | a->v[2] | a->v[3]); }
ZKM_INLINE int fe_eq(const fe *a, const fe *b) { return !memcmp(a, b, sizeof(fe)); }

/* --- Fq --- */
ZKM_INLINE void fq_mul(fe *r, const fe *a, const fe *b) { mont_mul(r, a, b, &Q, Q_INV); }
ZKM_INLINE void fq_sqr(fe *r, const fe *a) { mont_mul(r, a, a, &Q, Q_INV); }
ZKM_INLINE void fq_add(fe *r, const fe *a, const fe *b) { add_mod(r, a, b, &Q); }
ZKM_INLINE void fq_sub(fe *r, const fe *a, const fe *b) { sub_mod(r, a, b, &Q); }
ZKM_INLINE void fq_neg(fe *r, const fe *a) {
    static const fe z = {{0, 0, 0, 0}};
    sub_mod(r, &z, a, &Q);
}
ZKM_INLINE int fq_is_zero(const fe *a) { return fe_zero(a); }
ZKM_INLINE int fq_eq(const fe *a, const fe *b) { return fe_eq(a, b); }

static inline void fq_pow(fe *r, const fe *a, const fe *e) {
    fe acc = Q_ONE;
    for (int i = 255; i >= 0; i--) {
        fq_sqr(&acc, &acc);
        if ((e->v[i >> 6] >> (i & 63)) & 1) fq_mul(&acc, &acc, a);
    }
    *r = acc;
}

static inline void fq_inv(fe *r, const fe *a) {
    fe e = Q;
    e.v[0] -= 2;  /* q - 2; q is odd and > 2, no borrow */
    fq_pow(r, a, &e);
}

/* --- Fq2 = Fq[u]/(u^2 + 1) --- */
typedef struct { fe c0, c1; } fe2;

static inline void fq2_mul(fe2 *r, const fe2 *a, const fe2 *b) {
    fe t0, t1, s0, s1, m;
    fq_mul(&t0, &a->c0, &b->c0);
    fq_mul(&t1, &a->c1, &b->c1);
    fq_add(&s0, &a->c0, &a->c1);
    fq_add(&s1, &b->c0, &b->c1);
    fq_mul(&m, &s0, &s1);
    fq_sub(&m, &m, &t0);
    fq_sub(&r->c1, &m, &t1);
    fq_sub(&r->c0, &t0, &t1);
}

static inline void fq2_sqr(fe2 *r, const fe2 *a) {
    fe s, d, p;
    fq_add(&s, &a->c0, &a->c1);
    fq_sub(&d, &a->c0, &a->c1);
    fq_mul(&p, &a->c0, &a->c1);
    fq_mul(&r->c0, &s, &d);
    fq_add(&r->c1, &p, &p);
}

ZKM_INLINE void fq2_add(fe2 *r, const fe2 *a, const fe2 *b) { fq_add(&r->c0, &a->c0, &b->c0); fq_add(&r->c1, &a->c1, &b->c1); }
ZKM_INLINE void fq2_sub(fe2 *r, const fe2 *a, const fe2 *b) { fq_sub(&r->c0, &a->c0, &b->c0); fq_sub(&r->c1, &a->c1, &b->c1); }
ZKM_INLINE void fq2_neg(fe2 *r, const fe2 *a) { fq_neg(&r->c0, &a->c0); fq_neg(&r->c1, &a->c1); }
ZKM_INLINE int fq2_is_zero(const fe2 *a) { return fe_zero(&a->c0) && fe_zero(&a->c1); }
ZKM_INLINE int fq2_eq(const fe2 *a, const fe2 *b) { return fe_eq(&a->c0, &b->c0) && fe_eq(&a->c1, &b->c1); }

static inline void fq2_inv(fe2 *r, const fe2 *a) {
    fe n, t, i;
    fq_sqr(&n, &a->c0);
    fq_sqr(&t, &a->c1);
    fq_add(&n, &n, &t);
    fq_inv(&i, &n);
    fq_mul(&r->c0, &a->c0, &i);
    fq_mul(&t, &a->c1, &i);
    fq_neg(&r->c1, &t);
}

typedef fe fq;  /* the curve template names types and functions by one prefix */
typedef fe2 fq2;

/* --- Jacobian curves y^2 = x^3 + b (a = 0), one template for G1 (Fq) and G2 (Fq2) ---
 * dbl-2009-l, madd-2007-bl and add-2007-bl from the Explicit-Formulas Database. */
#define DEFINE_CURVE(G, F)                                                                        \
    typedef struct { F x, y; } G##_aff;                                                           \
    typedef struct { F x, y, z; } G##_jac;                                                        \
    static inline int G##_is_inf(const G##_jac *p) { return F##_is_zero(&p->z); }                 \
    static inline int G##_aff_is_inf(const G##_aff *p) { return F##_is_zero(&p->x) && F##_is_zero(&p->y); } \
    static inline void G##_set_inf(G##_jac *p) { memset(p, 0, sizeof *p); }                      \
    static inline void G##_dbl(G##_jac *r, const G##_jac *p) {                                           \
        if (G##_is_inf(p)) { *r = *p; return; }                                                   \
        F a, b, c, d, e, f, t;                                                                    \
        F##_sqr(&a, &p->x);                                                                       \
        F##_sqr(&b, &p->y);                                                                       \
        F##_sqr(&c, &b);                                                                          \
        F##_add(&t, &p->x, &b);                                                                   \
        F##_sqr(&t, &t);                                                                          \
        F##_sub(&t, &t, &a);                                                                      \
        F##_sub(&t, &t, &c);                                                                      \
        F##_add(&d, &t, &t);                                                                      \
        F##_add(&e, &a, &a);                                                                      \
        F##_add(&e, &e, &a);                                                                      \
        F##_sqr(&f, &e);                                                                          \
        F z3;                                                                                     \
        F##_mul(&z3, &p->y, &p->z);                                                               \
        F##_add(&z3, &z3, &z3);                                                                   \
        F x3;                                                                                     \
        F##_sub(&x3, &f, &d);                                                                     \
        F##_sub(&x3, &x3, &d);                                                                    \
        F y3;                                                                                     \
        F##_sub(&t, &d, &x3);                                                                     \
        F##_mul(&y3, &e, &t);                                                                     \
        F##_add(&c, &c, &c);                                                                      \
        F##_add(&c, &c, &c);                                                                      \
        F##_add(&c, &c, &c);                                                                      \
        F##_sub(&y3, &y3, &c);                                                                    \
        r->x = x3; r->y = y3; r->z = z3;                                                          \
    }                                                                                             \
    /* the common end of madd-2007-bl and add-2007-bl: X3 = r^2 - J - 2V, Y3 = r(V - X3) - 2 S1 J */ \
    static inline void G##_xy3(F *x3, F *y3, const F *rr, const F *j, const F *v, const F *s1) {    \
        F t;                                                                                      \
        F##_sqr(x3, rr);                                                                          \
        F##_sub(x3, x3, j);                                                                       \
        F##_sub(x3, x3, v);                                                                       \
        F##_sub(x3, x3, v);                                                                       \
        F##_sub(&t, v, x3);                                                                       \
        F##_mul(y3, rr, &t);                                                                      \
        F##_mul(&t, s1, j);                                                                       \
        F##_add(&t, &t, &t);                                                                      \
        F##_sub(y3, y3, &t);                                                                      \
    }                                                                                             \
    static inline int G##_on_curve(const F *x, const F *y, const F *b) {                          \
        F l, r;                                                                                   \
        F##_sqr(&l, y);                                                                           \
        F##_sqr(&r, x);                                                                           \
        F##_mul(&r, &r, x);                                                                       \
        F##_add(&r, &r, b);                                                                       \
        return F##_eq(&l, &r);                                                                    \
    }                                                                                             \
    /* r = p + q, q affine (not infinity) */                                                     \
    static inline void G##_madd(G##_jac *r, const G##_jac *p, const G##_aff *q) {                  \
        const F qy = q->y;                                                                        \
        if (G##_is_inf(p)) { r->x = q->x; r->y = qy; F##_set_one(&r->z); return; }                \
        F z1z1, u2, s2, h, hh, i, j, rr, v;                                                       \
        F##_sqr(&z1z1, &p->z);                                                                    \
        F##_mul(&u2, &q->x, &z1z1);                                                               \
        F##_mul(&s2, &qy, &p->z);                                                                 \
        F##_mul(&s2, &s2, &z1z1);                                                                 \
        F##_sub(&h, &u2, &p->x);                                                                  \
        F##_sub(&rr, &s2, &p->y);                                                                 \
        if (F##_is_zero(&h)) {                                                                    \
            if (F##_is_zero(&rr)) { G##_dbl(r, p); } else { G##_set_inf(r); }                     \
            return;                                                                               \
        }                                                                                         \
        F##_add(&rr, &rr, &rr);                                                                   \
        F##_sqr(&hh, &h);                                                                         \
        F##_add(&i, &hh, &hh);                                                                    \
        F##_add(&i, &i, &i);                                                                      \
        F##_mul(&j, &h, &i);                                                                      \
        F##_mul(&v, &p->x, &i);                                                                   \
        F x3, y3, z3;                                                                             \
        G##_xy3(&x3, &y3, &rr, &j, &v, &p->y);                                                    \
        F##_add(&z3, &p->z, &h);                                                                  \
        F##_sqr(&z3, &z3);                                                                        \
        F##_sub(&z3, &z3, &z1z1);                                                                 \
        F##_sub(&z3, &z3, &hh);                                                                   \
        r->x = x3; r->y = y3; r->z = z3;                                                          \
    }                                                                                             \
    static inline void G##_add(G##_jac *r, const G##_jac *p, const G##_jac *q) {                          \
        if (G##_is_inf(p)) { *r = *q; return; }                                                   \
        if (G##_is_inf(q)) { *r = *p; return; }                                                   \
        F z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v;                                             \
        F##_sqr(&z1z1, &p->z);                                                                    \
        F##_sqr(&z2z2, &q->z);                                                                    \
        F##_mul(&u1, &p->x, &z2z2);                                                               \
        F##_mul(&u2, &q->x, &z1z1);                                                               \
        F##_mul(&s1, &p->y, &q->z);                                                               \
        F##_mul(&s1, &s1, &z2z2);                                                                 \
        F##_mul(&s2, &q->y, &p->z);                                                               \
        F##_mul(&s2, &s2, &z1z1);                                                                 \
        F##_sub(&h, &u2, &u1);                                                                    \
        F##_sub(&rr, &s2, &s1);                                                                   \
        if (F##_is_zero(&h)) {                                                                    \
            if (F##_is_zero(&rr)) { G##_dbl(r, p); } else { G##_set_inf(r); }                     \
            return;                                                                               \
        }                                                                                         \
        F##_add(&rr, &rr, &rr);                                                                   \
        F##_add(&i, &h, &h);                                                                      \
        F##_sqr(&i, &i);                                                                          \
        F##_mul(&j, &h, &i);                                                                      \
        F##_mul(&v, &u1, &i);                                                                     \
        F x3, y3, z3;                                                                             \
        G##_xy3(&x3, &y3, &rr, &j, &v, &s1);                                                      \
        F##_add(&z3, &p->z, &q->z);                                                               \
        F##_sqr(&z3, &z3);                                                                        \
        F##_sub(&z3, &z3, &z1z1);                                                                 \
        F##_sub(&z3, &z3, &z2z2);                                                                 \
        F##_mul(&z3, &z3, &h);                                                                    \
        r->x = x3; r->y = y3; r->z = z3;                                                          \
    }                                                                                             \
    /* sum of scalars[k]*bases[k] over the nonzero scalars; scalars standard form, < 2^254.     \
     * Jacobian buckets, one window at a time: the simplest MSM, for a few points (msm.h).      \
     */                                                                                           \
    static inline int G##_msm_jac(G##_jac *out, const G##_aff *bases, const fe *scalars, size_t n) {      \
        G##_set_inf(out);                                                                         \
        uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);                                        \
        if (!idx) return -1;                                                                      \
        size_t m = 0;                                                                             \
        int bits = 0;                                                                             \
        G##_jac ones;                                                                             \
        G##_set_inf(&ones);                                                                       \
        for (size_t k = 0; k < n; k++) {                                                          \
            const fe *s = &scalars[k];                                                            \
            if (fe_zero(s) || G##_aff_is_inf(&bases[k])) continue;                                \
            if (s->v[0] == 1 && !(s->v[1] | s->v[2] | s->v[3])) {                                 \
                G##_madd(&ones, &ones, &bases[k]);    /* range-check bits: no bucket needed */    \
                continue;                                                                         \
            }                                                                                     \
            idx[m++] = (uint32_t)k;                                                               \
            int b = 256;                                                                          \
            while (b > 0 && !((s->v[(b - 1) >> 6] >> ((b - 1) & 63)) & 1)) b--;                   \
            if (b > bits) bits = b;                                                               \
        }                                                                                         \
        int c = window_bits(m, bits);                                                             \
        G##_jac *buckets = malloc(((size_t)1 << c) * sizeof *buckets);                            \
        if (!buckets) { free(idx); return -1; }                                                   \
        int windows = m ? (bits + c - 1) / c : 0;                                                 \
        for (int w = windows - 1; w >= 0; w--) {                                                  \
            for (int k = 0; k < c; k++) G##_dbl(out, out);                                        \
            for (size_t k = 0; k < ((size_t)1 << c); k++) G##_set_inf(&buckets[k]);               \
            for (size_t k = 0; k < m; k++) {                                                      \
                uint32_t d = digit(&scalars[idx[k]], w * c, c);                                   \
                if (d) G##_madd(&buckets[d], &buckets[d], &bases[idx[k]]);                        \
            }                                                                                     \
            G##_jac running, sum;                                                                 \
            G##_set_inf(&running);                                                                \
            G##_set_inf(&sum);                                                                    \
            for (size_t k = ((size_t)1 << c) - 1; k >= 1; k--) {                                  \
                G##_add(&running, &running, &buckets[k]);                                         \
                G##_add(&sum, &sum, &running);                                                    \
            }                                                                                     \
            G##_add(out, out, &sum);                                                              \
        }                                                                                         \
        G##_add(out, out, &ones);                                                                 \
        free(buckets);                                                                            \
        free(idx);                                                                                \
        return 0;                                                                                 \
    }                                                                                             \
    static inline void G##_mul(G##_jac *r, const G##_jac *p, const fe *s) {                               \
        G##_jac acc;                                                                              \
        G##_set_inf(&acc);                                                                        \
        for (int i = 255; i >= 0; i--) {                                                          \
            G##_dbl(&acc, &acc);                                                                  \
            if ((s->v[i >> 6] >> (i & 63)) & 1) G##_add(&acc, &acc, p);                           \
        }                                                                                         \
        *r = acc;                                                                                 \
    }                                                                                             \
    /* s*q for an affine q: from s's top bit, with mixed additions (the verifier's per-proof     \
     * weights and G2 membership test multiply affine points by short scalars) */                 \
    static inline void G##_mul_aff(G##_jac *r, const G##_aff *q, const fe *s) {                   \
        G##_set_inf(r);                                                                           \
        int i = 255;                                                                              \
        while (i >= 0 && !((s->v[i >> 6] >> (i & 63)) & 1)) i--;                                  \
        for (; i >= 0; i--) {                                                                     \
            G##_dbl(r, r);                                                                        \
            if ((s->v[i >> 6] >> (i & 63)) & 1) G##_madd(r, r, q);                                \
        }                                                                                         \
    }                                                                                             \
    static inline void G##_from_aff(G##_jac *r, const G##_aff *a) {                                       \
        if (G##_aff_is_inf(a)) { G##_set_inf(r); return; }                                        \
        r->x = a->x; r->y = a->y; F##_set_one(&r->z);                                             \
    }                                                                                             \
    static inline int G##_to_aff(G##_aff *r, const G##_jac *p) {                                          \
        if (G##_is_inf(p)) return -1;                                                             \
        F zi, zi2, zi3;                                                                           \
        F##_inv(&zi, &p->z);                                                                      \
        F##_sqr(&zi2, &zi);                                                                       \
        F##_mul(&zi3, &zi2, &zi);                                                                 \
        F##_mul(&r->x, &p->x, &zi2);                                                              \
        F##_mul(&r->y, &p->y, &zi3);                                                              \
        return 0;                                                                                 \
    }

ZKM_INLINE void fq_set_one(fe *r) { *r = Q_ONE; }
ZKM_INLINE void fq2_set_one(fe2 *r) { r->c0 = Q_ONE; memset(&r->c1, 0, sizeof r->c1); }

static inline uint32_t digit(const fe *s, int off, int c) {
    if (off >= 256) return 0;
    int limb = off >> 6, sh = off & 63;
    uint64_t v = s->v[limb] >> sh;
    if (sh + c > 64 && limb < 3) v |= s->v[limb + 1] << (64 - sh);
    return (uint32_t)(v & (((uint64_t)1 << c) - 1));
}

/* Bucket width minimising bits/c * (m + 3 * 2^c): a bucket-sum addition costs about 1.5
 * mixed additions and there are two per bucket. */
static inline int window_bits(size_t m, int bits) {
    if (m == 0 || bits == 0) return 1;
    int best = 1;
    double best_cost = 1e300;
    for (int c = 1; c <= 16; c++) {
        double cost = (double)((bits + c - 1) / c) * ((double)m + 3.0 * (double)((size_t)1 << c));
        if (cost < best_cost) { best_cost = cost; best = c; }
    }
    return best;
}

DEFINE_CURVE(g1, fq)
DEFINE_CURVE(g2, fq2)

/* --- multi-scalar multiplication (msm.h) --- */

/* Windows of c bits for a scalar < 2^254 in signed digits: c*w >= 255 leaves room for the carry
 * out of the top window, so that no digit exceeds 2^(c-1). */
static inline int msm_windows(int c) { return (255 + c - 1) / c; }

static inline void signed_digits(int16_t *d, const fe *s, int c, int w) {
    int carry = 0;
    for (int j = 0; j < w; j++) {
        int v = (int)digit(s, j * c, c) + carry;
        carry = v > (1 << (c - 1));
        d[j] = (int16_t)(v - (carry << c));
    }
}

/* Digit width for m scalars: a batch-affine bucket addition costs about a quarter of what a
 * bucket costs to sum (a mixed and a Jacobian addition). Without a table every window has its
 * own buckets; with one, all windows share one set. c <= 15 keeps digits in int16_t. */
static inline int msm_window_bits(size_t m, int table) {
    int best = 2;
    double best_cost = 1e300;
    for (int c = 2; c <= 15; c++) {
        double w = msm_windows(c), nb = (double)((size_t)1 << (c - 1));
        double cost = table ? (double)m * w + 4.0 * nb : w * ((double)m + 4.0 * nb);
        if (cost < best_cost) {
            best_cost = cost;
            best = c;
        }
    }
    return best;
}

#define MSM_BATCH 512  /* additions sharing one inversion */
#define MSM_SMALL 128  /* fewer scalars than this: the Jacobian MSM */
#define ZKM_CAT2(a, b) a##b
#define ZKM_CAT(a, b) ZKM_CAT2(a, b)
#define G g1
#define F fq
#include "msm.h"
#undef G
#undef F
#define G g2
#define F fq2
#include "msm.h"
#undef G
#undef F

/* --- Fr --- */
/* plain 1: a Montgomery product with it leaves Montgomery form */
static const fe ONE_STD = {{1, 0, 0, 0}};
static const fe FR_R2 = {{0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL}};
ZKM_INLINE void fr_mul(fe *r, const fe *a, const fe *b) { mont_mul(r, a, b, &FR_MOD, R_INV); }
ZKM_INLINE void fr_add(fe *r, const fe *a, const fe *b) { add_mod(r, a, b, &FR_MOD); }
ZKM_INLINE void fr_sub(fe *r, const fe *a, const fe *b) { sub_mod(r, a, b, &FR_MOD); }
static inline void fr_to_mont(fe *r, const fe *a) { mont_mul(r, a, &FR_R2, &FR_MOD, R_INV); }

#endif
