/* A Groth16 prover for BN254 (alt_bn128) that reads snarkjs .zkey sections as they are.
 *
 * Why it exists: snarkjs's prover (wasm, 32-bit limbs) spends ~0.2 s of a 4.7k-constraint proof
 * in the H multi-exponentiation alone and rebuilds its curve on every single-threaded call; the
 * liquidator's race needs several proofs per second per core. This file does the same algebra
 * with 64-bit Montgomery arithmetic (mulx/adx where the CPU has them), Pippenger's bucket
 * method with signed digits and batch-affine buckets (msm.h), optional fixed-base tables built
 * once per key, and radix-2 NTTs; the work is a list of tasks that one or two threads take in
 * turn. Python owns every buffer, parses and checks the zkey, draws r and s, and verifies what
 * comes out in the tests (snarkjs, py_ecc and the Solidity verifier).
 *
 * Conventions, all from the zkey format written by snarkjs:
 *  - Points are affine, coordinates in Montgomery form (R = 2^256) little-endian; (0, 0) is
 *    the point at infinity. G2 coordinates are Fq2 = c0 + c1*u, u^2 = -1, stored c0 then c1.
 *  - Section 4 coefficients are stored as coef*R^2 mod r, so a Montgomery product with a
 *    standard-form witness value gives the Montgomery form of coef*value.
 *  - H points pair with (A*B - C) evaluated on the odd coset inc*w^j, inc = w_{2n}.
 * Witness values and the scalars r, s, -r*s are standard form, little-endian, < r.
 */
#include <stdatomic.h>

#include "bn254.h"

static void bit_reverse(fe *a, size_t n, int log_n) {
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        for (int b = 0; b < log_n; b++) j |= ((i >> b) & 1) << (log_n - 1 - b);
        if (i < j) { fe t = a[i]; a[i] = a[j]; a[j] = t; }
    }
}

/* In-place NTT, natural order in and out: a_j <- sum_k a_k root^(jk), with tw[k] = root^k for
 * k < n/2 (Montgomery form), root of order n. */
static void ntt(fe *a, size_t n, int log_n, const fe *tw) {
    bit_reverse(a, n, log_n);
    for (size_t len = 2, stride = n / 2; len <= n; len <<= 1, stride >>= 1) {
        size_t half = len >> 1;
        for (size_t s = 0; s < n; s += len) {
            for (size_t k = 0; k < half; k++) {
                fe u = a[s + k], v;
                fr_mul(&v, &a[s + k + half], &tw[k * stride]);
                fr_add(&a[s + k], &u, &v);
                fr_sub(&a[s + k + half], &u, &v);
            }
        }
    }
}

static void powers(fe *out, size_t n, const fe *first, const fe *x) {
    if (n) out[0] = *first;
    for (size_t i = 1; i < n; i++) fr_mul(&out[i], &out[i - 1], x);
}

static void load_fe(fe *r, const uint8_t *p) { memcpy(r, p, 32); }  /* little-endian host */
static void store_std(uint8_t *p, const fe *m) {
    fe s;
    fq_mul(&s, m, &ONE_STD);  /* out of Montgomery form */
    memcpy(p, &s, 32);
}

/* --- fixed-base tables of a key ---
 * The witness multi-exponentiations get widths for a quarter of their scalars nonzero (the
 * circuits' witnesses are mostly zeros and ones), H's for all of them. Layout: A, B1, B2, C, H. */
struct layout {
    int c_wit, c_h;
    size_t off[5], size;
};

static void table_layout(struct layout *l, uint32_t n_vars, uint32_t n_public, size_t n) {
    l->c_wit = msm_window_bits(n_vars / 4, 1);
    l->c_h = msm_window_bits(n, 1);
    size_t ww = (size_t)msm_windows(l->c_wit), wh = (size_t)msm_windows(l->c_h);
    size_t counts[5] = {n_vars, n_vars, n_vars, n_vars - n_public - 1, n};
    size_t bytes[5] = {sizeof(g1_aff) * ww, sizeof(g1_aff) * ww, sizeof(g2_aff) * ww, sizeof(g1_aff) * ww,
                       sizeof(g1_aff) * wh};
    l->size = 0;
    for (int k = 0; k < 5; k++) {
        l->off[k] = l->size;
        l->size += counts[k] * bytes[k];
    }
}

/* --- the task list: a worker takes the next task until none is left --- */
struct prove;
typedef void (*task_fn)(struct prove *, int);
struct task {
    task_fn fn;
    int arg;
};

struct prove {
    /* the key */
    uint32_t n_vars, n_public;
    size_t n;
    int log_n;
    const g1_aff *pa, *pb1, *pc, *ph;
    const g2_aff *pb2;
    const uint8_t *tables;
    struct layout lay;
    /* the QAP: evaluations of A, B and C = A*B, then H's scalars in ea */
    fe *w, *ea, *eb, *ec, *tw_fwd, *tw_inv, *shift;
    g1_msm_job h;
    /* results */
    g1_jac a, b1, c, hpart[2];
    g2_jac b2;
    int h_parts;
    /* scheduling: H's combination waits for the three NTT chains, H's parts for it */
    struct task tasks[16];
    int n_tasks;
    atomic_int next;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ntt_done, h_ready;
    atomic_int rc;
};

static void fail(struct prove *p) { atomic_store(&p->rc, -1); }

/* A, B or C: evaluations on the domain -> on the odd coset inc*w^j (1/n folded into the shift) */
static void task_ntt(struct prove *p, int which) {
    fe *a = which == 0 ? p->ea : which == 1 ? p->eb : p->ec;
    ntt(a, p->n, p->log_n, p->tw_inv);
    for (size_t i = 0; i < p->n; i++) fr_mul(&a[i], &a[i], &p->shift[i]);
    ntt(a, p->n, p->log_n, p->tw_fwd);
    pthread_mutex_lock(&p->mu);
    p->ntt_done++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* H scalars: A*B - C on the coset, standard form; then its digits */
static void task_h_scalars(struct prove *p, int unused) {
    (void)unused;
    pthread_mutex_lock(&p->mu);
    while (p->ntt_done < 3) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n; i++) {
        fe t;
        fr_mul(&t, &p->ea[i], &p->eb[i]);
        fr_sub(&t, &t, &p->ec[i]);
        fr_mul(&p->ea[i], &t, &ONE_STD);
    }
    const g1_aff *table = p->tables ? (const g1_aff *)(p->tables + p->lay.off[4]) : NULL;
    if (g1_msm_init(&p->h, p->ph, table, p->lay.c_h, p->ea, p->n)) fail(p);
    pthread_mutex_lock(&p->mu);
    p->h_ready = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void task_h_part(struct prove *p, int k) {
    pthread_mutex_lock(&p->mu);
    while (!p->h_ready) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (atomic_load(&p->rc) || g1_msm_run(&p->hpart[k], &p->h, k, p->h_parts)) fail(p);
}

/* one witness MSM: 0 A, 1 B1, 2 C (private signals only), 3 B2 */
static void task_witness(struct prove *p, int which) {
    const uint8_t *t = p->tables;
    size_t skip = which == 2 ? p->n_public + 1 : 0;
    int rc;
    if (which == 3) {
        g2_msm_job j;
        rc = g2_msm_init(&j, p->pb2, t ? (const g2_aff *)(t + p->lay.off[2]) : NULL, p->lay.c_wit, p->w, p->n_vars);
        if (!rc) rc = g2_msm_run(&p->b2, &j, 0, 1);
        g2_msm_free(&j);
    } else {
        const g1_aff *bases = which == 0 ? p->pa : which == 1 ? p->pb1 : p->pc;
        const g1_aff *table = t ? (const g1_aff *)(t + p->lay.off[which == 2 ? 3 : which]) : NULL;
        g1_jac *out = which == 0 ? &p->a : which == 1 ? &p->b1 : &p->c;
        g1_msm_job j;
        rc = g1_msm_init(&j, bases, table, p->lay.c_wit, p->w + skip, p->n_vars - skip);
        if (!rc) rc = g1_msm_run(out, &j, 0, 1);
        g1_msm_free(&j);
    }
    if (rc) fail(p);
}

static void *worker(void *arg) {
    struct prove *p = arg;
    for (int k; (k = atomic_fetch_add(&p->next, 1)) < p->n_tasks;) p->tasks[k].fn(p, p->tasks[k].arg);
    return NULL;
}

/* The tasks on this thread and, for threads > 1, one more (the list runs in order on one thread
 * when no other can be started: every task waits only for tasks listed before it). */
static void run_tasks(struct prove *p, uint32_t threads) {
    pthread_t tid;
    int spawned = threads > 1 && pthread_create(&tid, NULL, worker, p) == 0;
    worker(p);
    if (spawned) pthread_join(tid, NULL);
}

/* Section 4 entry: u32 matrix (0 = A, 1 = B), u32 constraint, u32 signal, 32-byte value. */
#define COEF_SIZE 44

/* threads: 1, or 2 to share one proof's tasks between two threads (for its latency; a pool
 * proving many proofs at once passes 1). tables: NULL, or the key's zkm_groth16_tables.
 * Returns 0 on success; -1 out of memory; -2 a coefficient indexes outside the domain or the
 * witness; -3 a proof element came out as the point at infinity. */
int zkm_groth16_prove(uint32_t n_vars, uint32_t n_public, uint32_t log_n, const uint8_t *coefs, uint32_t n_coef,
                      const uint8_t *pts_a, const uint8_t *pts_b1, const uint8_t *pts_b2, const uint8_t *pts_c,
                      const uint8_t *pts_h, const uint8_t *tables, const uint8_t *vk, const uint8_t *roots_in,
                      const uint8_t *witness, const uint8_t *rs, uint32_t threads, uint8_t *out) {
    struct prove p = {.n_vars = n_vars, .n_public = n_public, .n = (size_t)1 << log_n, .log_n = (int)log_n,
                      .pa = (const g1_aff *)pts_a, .pb1 = (const g1_aff *)pts_b1, .pc = (const g1_aff *)pts_c,
                      .ph = (const g1_aff *)pts_h, .pb2 = (const g2_aff *)pts_b2, .tables = tables,
                      .h_parts = threads > 1 ? 2 : 1};
    size_t n = p.n;
    int rc = -1;
    table_layout(&p.lay, n_vars, n_public, n);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.w = malloc(n_vars * sizeof(fe));
    p.ea = calloc(n, sizeof(fe));
    p.eb = calloc(n, sizeof(fe));
    p.ec = malloc(n * sizeof(fe));
    p.tw_fwd = malloc((n / 2 + 1) * sizeof(fe));
    p.tw_inv = malloc((n / 2 + 1) * sizeof(fe));
    p.shift = malloc(n * sizeof(fe));
    if (!p.w || !p.ea || !p.eb || !p.ec || !p.tw_fwd || !p.tw_inv || !p.shift) goto done;
    for (uint32_t i = 0; i < n_vars; i++) load_fe(&p.w[i], witness + 32 * (size_t)i);
    fe roots[5];  /* w, w^-1, inc, 1/n, 1 */
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
        fr_mul(&t, &coef, &p.w[sig]);
        fe *dst = mtx ? &p.eb[con] : &p.ea[con];
        fr_add(dst, dst, &t);
    }
    for (size_t i = 0; i < n; i++) fr_mul(&p.ec[i], &p.ea[i], &p.eb[i]);
    powers(p.tw_fwd, n / 2, &roots[4], &roots[0]);
    powers(p.tw_inv, n / 2, &roots[4], &roots[1]);
    powers(p.shift, n, &roots[3], &roots[2]);  /* coefficient i gets inc^i / n */

    /* the NTT chains first (H waits for them), the biggest witness MSM (G2) before the others */
    struct task list[] = {{task_ntt, 0}, {task_ntt, 1}, {task_ntt, 2}, {task_witness, 3}, {task_witness, 0},
                          {task_witness, 2}, {task_witness, 1}, {task_h_scalars, 0}, {task_h_part, 0},
                          {task_h_part, 1}};
    p.n_tasks = p.h_parts == 2 ? 10 : 9;
    memcpy(p.tasks, list, sizeof list);
    run_tasks(&p, threads);
    rc = -1;
    if (atomic_load(&p.rc)) goto done;

    g1_jac pa = p.a, pb1 = p.b1, pc = p.c, ph = p.hpart[0], t1;
    g2_jac pb = p.b2, t2;
    if (p.h_parts == 2) g1_add(&ph, &ph, &p.hpart[1]);
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
    g1_msm_free(&p.h);
    free(p.w);
    free(p.ea);
    free(p.eb);
    free(p.ec);
    free(p.tw_fwd);
    free(p.tw_inv);
    free(p.shift);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    return rc;
}

/* --- building the tables --- */
struct build {
    const uint8_t *pts[5];
    size_t counts[5];
    struct layout lay;
    uint8_t *out;
    atomic_int next, rc;
};

static void *build_worker(void *arg) {
    struct build *b = arg;
    for (int k; (k = atomic_fetch_add(&b->next, 1)) < 5;) {
        /* the G2 table first: the longest */
        int which = (k + 2) % 5;
        int c = which == 4 ? b->lay.c_h : b->lay.c_wit, w = msm_windows(c);
        int rc = which == 2 ? g2_table_build((g2_aff *)(b->out + b->lay.off[2]), (const g2_aff *)b->pts[2],
                                             b->counts[2], c, w)
                            : g1_table_build((g1_aff *)(b->out + b->lay.off[which]), (const g1_aff *)b->pts[which],
                                             b->counts[which], c, w);
        if (rc) atomic_store(&b->rc, -1);
    }
    return NULL;
}

/* Bytes of a key's fixed-base tables. */
uint64_t zkm_groth16_tables_size(uint32_t n_vars, uint32_t n_public, uint32_t log_n) {
    struct layout l;
    table_layout(&l, n_vars, n_public, (size_t)1 << log_n);
    return l.size;
}

/* Fills out (zkm_groth16_tables_size bytes) with the key's fixed-base tables, on 1 or 2 threads.
 * Returns 0, or -1 out of memory. */
int zkm_groth16_tables(uint32_t n_vars, uint32_t n_public, uint32_t log_n, const uint8_t *pts_a,
                       const uint8_t *pts_b1, const uint8_t *pts_b2, const uint8_t *pts_c, const uint8_t *pts_h,
                       uint32_t threads, uint8_t *out) {
    struct build b = {.pts = {pts_a, pts_b1, pts_b2, pts_c, pts_h},
                      .counts = {n_vars, n_vars, n_vars, n_vars - n_public - 1, (size_t)1 << log_n}, .out = out};
    table_layout(&b.lay, n_vars, n_public, (size_t)1 << log_n);
    pthread_t tid;
    int spawned = threads > 1 && pthread_create(&tid, NULL, build_worker, &b) == 0;
    build_worker(&b);
    if (spawned) pthread_join(tid, NULL);
    return atomic_load(&b.rc);
}
