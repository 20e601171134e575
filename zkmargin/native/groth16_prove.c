/* A Groth16 prover for BN254 (alt_bn128) that reads snarkjs .zkey sections as they are.
 *
 * Why it exists: snarkjs's prover (wasm, 32-bit limbs) spends ~0.2 s of a 4.7k-constraint proof
 * in the H multi-exponentiation alone and rebuilds its curve on every single-threaded call; the
 * liquidator's race needs several proofs per second per core. This file does the same algebra
 * with 64-bit Montgomery arithmetic (unsigned __int128), Pippenger's bucket method and an
 * in-place radix-2 NTT; Python owns every buffer, parses and checks the zkey, draws r and s,
 * and verifies what comes out in the tests (snarkjs, py_ecc and the Solidity verifier).
 *
 * Conventions, all from the zkey format written by snarkjs:
 *  - Points are affine, coordinates in Montgomery form (R = 2^256) little-endian; (0, 0) is
 *    the point at infinity. G2 coordinates are Fq2 = c0 + c1*u, u^2 = -1, stored c0 then c1.
 *  - Section 4 coefficients are stored as coef*R^2 mod r, so a Montgomery product with a
 *    standard-form witness value gives the Montgomery form of coef*value.
 *  - H points pair with (A*B - C) evaluated on the odd coset inc*w^j, inc = w_{2n}.
 * Witness values and the scalars r, s, -r*s are standard form, little-endian, < r.
 */
#include <pthread.h>

#include "bn254.h"


static void bit_reverse(fe *a, size_t n, int log_n) {
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        for (int b = 0; b < log_n; b++) j |= ((i >> b) & 1) << (log_n - 1 - b);
        if (i < j) { fe t = a[i]; a[i] = a[j]; a[j] = t; }
    }
}

/* In-place NTT, natural order in and out: a_j <- sum_k a_k root^(jk). root, Montgomery form,
 * must have order n. tw is scratch for n/2 twiddles. */
static void ntt(fe *a, size_t n, int log_n, const fe *root, const fe *one_m, fe *tw) {
    bit_reverse(a, n, log_n);
    for (size_t len = 2; len <= n; len <<= 1) {
        size_t half = len >> 1;
        fe w = *root;  /* root^(n/len) */
        for (size_t k = len; k < n; k <<= 1) fr_mul(&w, &w, &w);
        tw[0] = *one_m;
        for (size_t k = 1; k < half; k++) fr_mul(&tw[k], &tw[k - 1], &w);
        for (size_t s = 0; s < n; s += len) {
            for (size_t k = 0; k < half; k++) {
                fe u = a[s + k], v;
                fr_mul(&v, &a[s + k + half], &tw[k]);
                fr_add(&a[s + k], &u, &v);
                fr_sub(&a[s + k + half], &u, &v);
            }
        }
    }
}

/* Evaluations on the domain -> evaluations on the odd coset inc*w^j (all Montgomery). */
static void to_coset(fe *a, size_t n, int log_n, const fe *roots, fe *tw) {
    const fe *w = &roots[0], *w_inv = &roots[1], *inc = &roots[2], *n_inv = &roots[3], *one_m = &roots[4];
    ntt(a, n, log_n, w_inv, one_m, tw);
    fe k = *n_inv;  /* 1/n folded into the coset shift: coefficient i gets inc^i / n */
    for (size_t i = 0; i < n; i++) {
        fr_mul(&a[i], &a[i], &k);
        fr_mul(&k, &k, inc);
    }
    ntt(a, n, log_n, w, one_m, tw);
}

static void load_fe(fe *r, const uint8_t *p) { memcpy(r, p, 32); }  /* little-endian host */
static void store_std(uint8_t *p, const fe *m) {
    fe s;
    fq_mul(&s, m, &ONE_STD);  /* out of Montgomery form */
    memcpy(p, &s, 32);
}

/* The four multi-exponentiations over the witness: independent of the QAP work, so a second
 * thread can run them while the first computes H. */
struct witness_msms {
    const uint8_t *pts_a, *pts_b1, *pts_b2, *pts_c;
    const fe *w;
    uint32_t n_vars, n_public;
    g1_jac pa, pb1, pc;
    g2_jac pb;
    int rc;
};

static void *run_witness_msms(void *arg) {
    struct witness_msms *j = arg;
    j->rc = -1;
    if (g1_msm(&j->pa, (const g1_aff *)j->pts_a, j->w, j->n_vars)) return NULL;
    if (g1_msm(&j->pb1, (const g1_aff *)j->pts_b1, j->w, j->n_vars)) return NULL;
    if (g2_msm(&j->pb, (const g2_aff *)j->pts_b2, j->w, j->n_vars)) return NULL;
    if (g1_msm(&j->pc, (const g1_aff *)j->pts_c, j->w + j->n_public + 1, j->n_vars - j->n_public - 1)) return NULL;
    j->rc = 0;
    return NULL;
}

/* Section 4 entry: u32 matrix (0 = A, 1 = B), u32 constraint, u32 signal, 32-byte value. */
#define COEF_SIZE 44

/* threads: 1, or 2 to run the witness multi-exponentiations beside the QAP and H (for one
 * proof's latency; a pool proving many proofs at once passes 1).
 * Returns 0 on success; -1 out of memory or no thread; -2 a coefficient indexes outside the
 * domain or the witness; -3 a proof element came out as the point at infinity. */
int zkm_groth16_prove(uint32_t n_vars, uint32_t n_public, uint32_t log_n, const uint8_t *coefs, uint32_t n_coef,
                      const uint8_t *pts_a, const uint8_t *pts_b1, const uint8_t *pts_b2, const uint8_t *pts_c,
                      const uint8_t *pts_h, const uint8_t *vk, const uint8_t *roots_in, const uint8_t *witness,
                      const uint8_t *rs, uint32_t threads, uint8_t *out) {
    size_t n = (size_t)1 << log_n;
    int rc = -1;
    int spawned = 0;
    pthread_t tid;
    struct witness_msms job;
    fe *w = malloc(n_vars * sizeof *w);
    fe *ea = calloc(n, sizeof(fe)), *eb = calloc(n, sizeof(fe)), *ec = malloc(n * sizeof(fe));
    fe *tw = malloc((n / 2 + 1) * sizeof(fe));
    if (!w || !ea || !eb || !ec || !tw) goto done;
    for (uint32_t i = 0; i < n_vars; i++) load_fe(&w[i], witness + 32 * (size_t)i);
    job = (struct witness_msms){pts_a, pts_b1, pts_b2, pts_c, w, n_vars, n_public, .rc = -1};
    if (threads > 1 && pthread_create(&tid, NULL, run_witness_msms, &job) == 0) spawned = 1;
    fe roots[5];
    for (int i = 0; i < 5; i++) load_fe(&roots[i], roots_in + 32 * i);

    /* A and B evaluated at every constraint (Montgomery), C = A*B pointwise */
    rc = -2;
    for (uint32_t k = 0; k < n_coef; k++) {
        const uint8_t *e = coefs + (size_t)k * COEF_SIZE;
        uint32_t mtx, con, sig;
        memcpy(&mtx, e, 4);
        memcpy(&con, e + 4, 4);
        memcpy(&sig, e + 8, 4);
        if (mtx > 1 || con >= n || sig >= n_vars) goto done;
        fe coef, t;
        load_fe(&coef, e + 12);
        fr_mul(&t, &coef, &w[sig]);
        fe *dst = mtx ? &eb[con] : &ea[con];
        fr_add(dst, dst, &t);
    }
    for (size_t i = 0; i < n; i++) fr_mul(&ec[i], &ea[i], &eb[i]);
    to_coset(ea, n, (int)log_n, roots, tw);
    to_coset(eb, n, (int)log_n, roots, tw);
    to_coset(ec, n, (int)log_n, roots, tw);
    for (size_t i = 0; i < n; i++) {  /* H scalars: A*B - C on the coset, standard form */
        fe t;
        fr_mul(&t, &ea[i], &eb[i]);
        fr_sub(&t, &t, &ec[i]);
        fr_mul(&ea[i], &t, &ONE_STD);
    }

    rc = -1;
    g1_jac ph, t1;
    g2_jac t2;
    if (g1_msm(&ph, (const g1_aff *)pts_h, ea, n)) goto done;
    if (spawned) {
        pthread_join(tid, NULL);
        spawned = 0;
    } else {
        run_witness_msms(&job);
    }
    if (job.rc) goto done;
    g1_jac pa = job.pa, pb1 = job.pb1, pc = job.pc;
    g2_jac pb = job.pb;

    const g1_aff *alpha1 = (const g1_aff *)vk, *beta1 = (const g1_aff *)(vk + 64), *delta1 = (const g1_aff *)(vk + 256);
    const g2_aff *beta2 = (const g2_aff *)(vk + 128), *delta2 = (const g2_aff *)(vk + 320);
    fe r, s, nrs;
    load_fe(&r, rs);
    load_fe(&s, rs + 32);
    load_fe(&nrs, rs + 64);
    g1_jac d1;
    g1_from_aff(&d1, delta1);
    g2_jac d2;
    g2_from_aff(&d2, delta2);

    /* pi_a = alpha + sum w_i A_i + r*delta */
    g1_madd(&pa, &pa, alpha1);
    g1_mul(&t1, &d1, &r);
    g1_add(&pa, &pa, &t1);
    /* pi_b = beta + sum w_i B_i + s*delta (G2), and its G1 twin for pi_c */
    g2_madd(&pb, &pb, beta2);
    g2_mul(&t2, &d2, &s);
    g2_add(&pb, &pb, &t2);
    g1_madd(&pb1, &pb1, beta1);
    g1_mul(&t1, &d1, &s);
    g1_add(&pb1, &pb1, &t1);
    /* pi_c = sum_private w_i C_i + H + s*pi_a + r*pib1 - r*s*delta */
    g1_add(&pc, &pc, &ph);
    g1_mul(&t1, &pa, &s);
    g1_add(&pc, &pc, &t1);
    g1_mul(&t1, &pb1, &r);
    g1_add(&pc, &pc, &t1);
    g1_mul(&t1, &d1, &nrs);
    g1_add(&pc, &pc, &t1);

    rc = -3;
    g1_aff aa, ca;
    g2_aff ba;
    if (g1_to_aff(&aa, &pa) || g2_to_aff(&ba, &pb) || g1_to_aff(&ca, &pc)) goto done;
    store_std(out, &aa.x);
    store_std(out + 32, &aa.y);
    store_std(out + 64, &ba.x.c0);
    store_std(out + 96, &ba.x.c1);
    store_std(out + 128, &ba.y.c0);
    store_std(out + 160, &ba.y.c1);
    store_std(out + 192, &ca.x);
    store_std(out + 224, &ca.y);
    rc = 0;
done:
    if (spawned) pthread_join(tid, NULL);  /* an early exit still waits for the thread using w */
    free(w);
    free(ea);
    free(eb);
    free(ec);
    free(tw);
    return rc;
}
