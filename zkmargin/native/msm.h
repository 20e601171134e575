/* Pippenger multi-scalar multiplication with signed digits and batch-affine buckets, for one
 * curve group: bn254.h includes this file once per group with G (g1, g2) and F (fq, fq2)
 * defined, as a template.
 *
 * Why this shape:
 *  - Signed digits: each c-bit window digit lies in [-2^(c-1), 2^(c-1)] and a negative one adds
 *    -P (a negation is free next to an addition), so c bits need 2^(c-1) buckets, not 2^c.
 *  - Batch-affine buckets: buckets stay affine, and up to MSM_BATCH additions into distinct
 *    buckets share one field inversion (Montgomery's trick), so an addition costs about 6
 *    multiplications instead of the 11 of a mixed Jacobian one. An addition into a bucket that
 *    already waits in the batch is queued until the batch is done.
 *  - All windows at once: each window has its own buckets, so every batch is large whatever c.
 *  - Fixed-base tables (optional): with the points 2^(cj) P_i stored for every window j when
 *    the key is loaded, every window shares one set of buckets and no doubling is left.
 */

#define GN(x) ZKM_CAT(G, x)
#define FN(x) ZKM_CAT(F, x)

typedef struct {
    GN(_aff) *bucket;  /* 0 (the point at infinity) when empty */
    GN(_jac) *extra;   /* per bucket: what collided twice (z = 0 when nothing did) */
    uint8_t *busy;     /* bucket waits in the batch */
    uint32_t pend_b[MSM_BATCH];
    GN(_aff) pend_p[MSM_BATCH];
    F den[MSM_BATCH], pre[MSM_BATCH];
    int np;
    uint32_t queue_b[MSM_BATCH];
    GN(_aff) queue_p[MSM_BATCH];
    int nq;
} GN(_acc);

/* bucket b += p (p not infinity): at once if b is empty, else into the batch; when b already
 * waits there, into the queue for the next batch, or (queue full, or queued once already) into
 * the bucket's Jacobian overflow, so that many equal digits (the witness's ones) cost a mixed
 * addition each rather than a batch each. Returns 1 when the batch is full: flush, try again. */
static inline int GN(_acc_try)(GN(_acc) *a, uint32_t b, const GN(_aff) *p, int queued) {
    if (a->busy[b]) {
        if (queued || a->nq == MSM_BATCH) {
            GN(_madd)(&a->extra[b], &a->extra[b], p);
        } else {
            a->queue_b[a->nq] = b;
            a->queue_p[a->nq++] = *p;
        }
        return 0;
    }
    if (GN(_aff_is_inf)(&a->bucket[b])) {
        a->bucket[b] = *p;
        return 0;
    }
    if (a->np == MSM_BATCH) return 1;
    a->busy[b] = 1;
    a->pend_b[a->np] = b;
    a->pend_p[a->np++] = *p;
    return 0;
}
/* the waiting additions with one inversion, then the queue (which refills the batch) */
static inline void GN(_acc_flush)(GN(_acc) *a) {
    F acc, inv, lam, t;
    FN(_set_one)(&acc);
    for (int k = 0; k < a->np; k++) {
        const GN(_aff) *bk = &a->bucket[a->pend_b[k]], *p = &a->pend_p[k];
        FN(_sub)(&a->den[k], &p->x, &bk->x);
        if (FN(_is_zero)(&a->den[k])) {  /* p = bucket: tangent slope; p = -bucket: empties it */
            if (FN(_eq)(&p->y, &bk->y)) FN(_add)(&a->den[k], &bk->y, &bk->y);
            else FN(_set_one)(&a->den[k]);
        }
        a->pre[k] = acc;
        FN(_mul)(&acc, &acc, &a->den[k]);
    }
    FN(_inv)(&inv, &acc);
    for (int k = a->np - 1; k >= 0; k--) {
        GN(_aff) *bk = &a->bucket[a->pend_b[k]];
        const GN(_aff) *p = &a->pend_p[k];
        F d;
        FN(_mul)(&d, &inv, &a->pre[k]);  /* 1 / den[k] */
        FN(_mul)(&inv, &inv, &a->den[k]);
        a->busy[a->pend_b[k]] = 0;
        if (FN(_eq)(&p->x, &bk->x)) {
            if (!FN(_eq)(&p->y, &bk->y)) {
                memset(bk, 0, sizeof *bk);
                continue;
            }
            FN(_sqr)(&t, &bk->x);  /* lambda = 3x^2 / 2y */
            FN(_add)(&lam, &t, &t);
            FN(_add)(&t, &lam, &t);
            FN(_mul)(&lam, &t, &d);
        } else {
            FN(_sub)(&t, &p->y, &bk->y);
            FN(_mul)(&lam, &t, &d);
        }
        F x3, y3;
        FN(_sqr)(&x3, &lam);
        FN(_sub)(&x3, &x3, &bk->x);
        FN(_sub)(&x3, &x3, &p->x);
        FN(_sub)(&t, &bk->x, &x3);
        FN(_mul)(&y3, &lam, &t);
        FN(_sub)(&bk->y, &y3, &bk->y);
        bk->x = x3;
    }
    a->np = 0;
    int n = a->nq;
    a->nq = 0;
    for (int k = 0; k < n; k++) GN(_acc_try)(a, a->queue_b[k], &a->queue_p[k], 1);  /* fits: the batch was empty */
}

static inline void GN(_acc_add)(GN(_acc) *a, uint32_t b, const GN(_aff) *p, int negate) {
    GN(_aff) q = *p;
    if (negate) FN(_neg)(&q.y, &q.y);
    while (GN(_acc_try)(a, b, &q, 0)) GN(_acc_flush)(a);
}

static inline void GN(_acc_finish)(GN(_acc) *a) {
    while (a->np) GN(_acc_flush)(a);
}

/* sum_{b=1..nb} b * (bucket[b] + extra[b]) (running sums) */
static inline void GN(_bucket_sum)(GN(_jac) *out, const GN(_aff) *bucket, const GN(_jac) *extra, size_t nb) {
    GN(_jac) running, sum;
    GN(_set_inf)(&running);
    GN(_set_inf)(&sum);
    for (size_t b = nb; b >= 1; b--) {
        if (!GN(_aff_is_inf)(&bucket[b])) GN(_madd)(&running, &running, &bucket[b]);
        if (!GN(_is_inf)(&extra[b])) GN(_add)(&running, &running, &extra[b]);
        GN(_add)(&sum, &sum, &running);
    }
    *out = sum;
}

/* One share of an MSM: windows [j0, j1) of the m scalars' digits (w per scalar, c bits each).
 * Fixed-base (table != 0): pts holds w points per base, 2^(cj) P, and one set of buckets serves
 * every window; otherwise pts are the bases and each window has its own buckets, combined
 * with doublings. idx names the bases, in order. Returns 0, or -1 out of memory. */
static inline int GN(_msm_part)(GN(_jac) *out, const GN(_aff) *pts, int table, const uint32_t *idx, const int16_t *dig,
                         size_t m, int c, int w, int j0, int j1) {
    size_t nb = (size_t)1 << (c - 1), sets = table ? 1 : (size_t)(j1 - j0);
    GN(_acc) *a = malloc(sizeof *a);
    GN(_aff) *bucket = calloc(sets * (nb + 1), sizeof *bucket);
    GN(_jac) *extra = calloc(sets * (nb + 1), sizeof *extra);  /* all zero: z = 0 is infinity */
    uint8_t *busy = calloc(sets * (nb + 1), 1);
    if (!a || !bucket || !extra || !busy) {
        free(a);
        free(bucket);
        free(extra);
        free(busy);
        return -1;
    }
    a->bucket = bucket;
    a->extra = extra;
    a->busy = busy;
    a->np = a->nq = 0;
    for (size_t k = 0; k < m; k++) {
        const int16_t *d = dig + k * (size_t)w;
        for (int j = j0; j < j1; j++) {
            int v = d[j];
            if (!v) continue;
            const GN(_aff) *p = table ? &pts[(size_t)idx[k] * (size_t)w + (size_t)j] : &pts[idx[k]];
            uint32_t b = (uint32_t)((table ? 0 : (size_t)(j - j0) * (nb + 1)) + (size_t)(v < 0 ? -v : v));
            GN(_acc_add)(a, b, p, v < 0);
        }
    }
    GN(_acc_finish)(a);
    GN(_set_inf)(out);
    if (table) {
        GN(_bucket_sum)(out, bucket, extra, nb);
    } else {
        for (int j = j1 - 1; j >= j0; j--) {
            GN(_jac) s;
            for (int k = 0; k < c && j < j1 - 1; k++) GN(_dbl)(out, out);
            GN(_bucket_sum)(&s, bucket + (size_t)(j - j0) * (nb + 1), extra + (size_t)(j - j0) * (nb + 1), nb);
            GN(_add)(out, out, &s);
        }
        for (int k = 0; k < c * j0; k++) GN(_dbl)(out, out);
    }
    free(a);
    free(bucket);
    free(extra);
    free(busy);
    return 0;
}

/* The fixed-base table of n bases: w points per base, 2^(cj) P for j = 0..w-1, computed with
 * affine doublings that share one inversion across all bases (the point at infinity stays 0). */
static inline int GN(_table_build)(GN(_aff) *table, const GN(_aff) *bases, size_t n, int c, int w) {
    F *den = malloc((n ? n : 1) * sizeof *den), *pre = malloc((n ? n : 1) * sizeof *pre);
    GN(_aff) *cur = malloc((n ? n : 1) * sizeof *cur);
    if (!den || !pre || !cur) {
        free(den);
        free(pre);
        free(cur);
        return -1;
    }
    memcpy(cur, bases, n * sizeof *cur);
    for (int j = 0; j < w; j++) {
        for (size_t i = 0; i < n; i++) table[i * (size_t)w + (size_t)j] = cur[i];
        if (j == w - 1) break;
        for (int k = 0; k < c; k++) {
            F acc, inv, lam, t;
            FN(_set_one)(&acc);
            for (size_t i = 0; i < n; i++) {
                if (GN(_aff_is_inf)(&cur[i])) FN(_set_one)(&den[i]);
                else FN(_add)(&den[i], &cur[i].y, &cur[i].y);
                pre[i] = acc;
                FN(_mul)(&acc, &acc, &den[i]);
            }
            FN(_inv)(&inv, &acc);
            for (size_t i = n; i-- > 0;) {
                F d;
                FN(_mul)(&d, &inv, &pre[i]);
                FN(_mul)(&inv, &inv, &den[i]);
                GN(_aff) *p = &cur[i];
                if (GN(_aff_is_inf)(p)) continue;
                FN(_sqr)(&t, &p->x);  /* lambda = 3x^2 / 2y */
                FN(_add)(&lam, &t, &t);
                FN(_add)(&t, &lam, &t);
                FN(_mul)(&lam, &t, &d);
                F x3, y3;
                FN(_sqr)(&x3, &lam);
                FN(_sub)(&x3, &x3, &p->x);
                FN(_sub)(&x3, &x3, &p->x);
                FN(_sub)(&t, &p->x, &x3);
                FN(_mul)(&y3, &lam, &t);
                FN(_sub)(&p->y, &y3, &p->y);
                p->x = x3;
            }
        }
    }
    free(den);
    free(pre);
    free(cur);
    return 0;
}

/* An MSM split into parts: the bases with nonzero scalars and their digits, computed once. */
typedef struct {
    const GN(_aff) *pts;  /* the bases, or their table */
    int table;
    uint32_t *idx;
    int16_t *dig;
    size_t m;
    int c, w;
} GN(_msm_job);

/* table: NULL, or the bases' fixed-base table of c_table bits (GN(_table_build)).
 * Returns 0, or -1 out of memory. */
static inline int GN(_msm_init)(GN(_msm_job) *j, const GN(_aff) *bases, const GN(_aff) *table, int c_table,
                                const fe *scalars, size_t n) {
    memset(j, 0, sizeof *j);
    j->idx = malloc((n ? n : 1) * sizeof *j->idx);
    if (!j->idx) return -1;
    for (size_t i = 0; i < n; i++)
        if (!fe_zero(&scalars[i]) && !GN(_aff_is_inf)(&bases[i])) j->idx[j->m++] = (uint32_t)i;
    j->table = table != NULL;
    j->pts = table ? table : bases;
    j->c = table ? c_table : msm_window_bits(j->m, 0);
    j->w = msm_windows(j->c);
    j->dig = malloc((j->m ? j->m : 1) * (size_t)j->w * sizeof *j->dig);
    if (!j->dig) return -1;
    for (size_t k = 0; k < j->m; k++) signed_digits(j->dig + k * (size_t)j->w, &scalars[j->idx[k]], j->c, j->w);
    return 0;
}

static inline void GN(_msm_free)(GN(_msm_job) *j) {
    free(j->idx);
    free(j->dig);
}

/* windows [w*k/parts, w*(k+1)/parts) of the job */
static inline int GN(_msm_run)(GN(_jac) *out, const GN(_msm_job) *j, int k, int parts) {
    return GN(_msm_part)(out, j->pts, j->table, j->idx, j->dig, j->m, j->c, j->w, j->w * k / parts,
                         j->w * (k + 1) / parts);
}

/* sum scalars[i] * bases[i] (scalars standard form, < 2^254), without a table, on this thread.
 * Returns 0, or -1 out of memory. */
static inline int GN(_msm)(GN(_jac) *out, const GN(_aff) *bases, const fe *scalars, size_t n) {
    size_t m = 0;
    for (size_t i = 0; i < n && m < MSM_SMALL; i++) m += !fe_zero(&scalars[i]);
    if (m < MSM_SMALL) return GN(_msm_jac)(out, bases, scalars, n);
    GN(_msm_job) j;
    int rc = GN(_msm_init)(&j, bases, NULL, 0, scalars, n);
    if (!rc) rc = GN(_msm_run)(out, &j, 0, 1);
    GN(_msm_free)(&j);
    return rc;
}

#undef GN
#undef FN
