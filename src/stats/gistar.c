/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Getis-Ord local statistics: Gi* (each area counted among its own neighbours) and Gi, with
 * the z-scores of Ord and Getis (1995) exactly as R spdep::localG computes them, normal
 * p-values, conditional-permutation pseudo p-values as PySAL's esda.G_Local (the area keeps
 * its value, its neighbours draw theirs from the other n-1 areas), and a Benjamini-Hochberg
 * false-discovery-rate filter. Permutations are spread over threads area by area; area i
 * draws from its own stream seeded by (seed, i) with Floyd's sampling, so results depend on
 * the seed and not on the number of threads.
 */
#include "safegrid/stats.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"

void sg_gistar_opts_init(sg_gistar_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->include_self = 1;
    o->n_perm = 999;
    o->seed = 1;
    o->fdr_q = 0.05;
}

void sg_gistar_result_fini(sg_gistar_result *r)
{
    if (r == NULL)
        return;
    free(r->z);
    free(r->p_norm);
    free(r->p_sim);
    free(r->significant);
    memset(r, 0, sizeof(*r));
}

typedef struct pval {
    double p;
    size_t i;
} pval;

static int cmp_pval(const void *a, const void *b)
{
    const pval *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

sg_err sg_stats_fdr(const double *p, size_t n, double q, unsigned char *keep)
{
    if (!p || !keep || !(q > 0 && q < 1))
        return SG_INVAL;
    pval *v = malloc((n ? n : 1) * sizeof(*v));
    if (!v)
        return SG_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(p[i] >= 0 && p[i] <= 1)) {
            free(v);
            return SG_INVAL;
        }
        v[i] = (pval){p[i], i};
    }
    qsort(v, n, sizeof(*v), cmp_pval);
    size_t k = 0; /* number of discoveries */
    for (size_t r = n; r > 0; r--)
        if (v[r - 1].p <= (double)r * q / (double)n) {
            k = r;
            break;
        }
    memset(keep, 0, n);
    for (size_t r = 0; r < k; r++)
        keep[v[r].i] = 1;
    free(v);
    return SG_OK;
}

typedef struct gi_ctx {
    const double *x;
    size_t n;
    const sg_weights *w;
    const sg_gistar_opts *o;
    const double *lag; /* observed weighted sums */
    double *p_sim;
    size_t next;
    pthread_mutex_t lock;
    int failed;
} gi_ctx;

/* Weight of area i to itself in the row (0 if absent). */
static double self_weight(const sg_weights *w, size_t i)
{
    for (size_t k = w->start[i]; k < w->start[i + 1]; k++)
        if (w->nbr[k] == i)
            return w->w[k];
    return 0;
}

static void *perm_thread(void *arg)
{
    gi_ctx *c = arg;
    size_t n = c->n;
    unsigned *mark = calloc(n, sizeof(*mark));
    size_t *pick = malloc(n * sizeof(*pick));
    double *ww = malloc(n * sizeof(*ww));
    if (!mark || !pick || !ww) {
        free(mark);
        free(pick);
        free(ww);
        pthread_mutex_lock(&c->lock);
        c->failed = 1;
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    unsigned stamp = 0;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        size_t i = c->next;
        int stop = c->failed || i >= n;
        if (!stop)
            c->next++;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        /* The weights of the other neighbours; self keeps its own value. */
        double wself = self_weight(c->w, i);
        if (c->o->include_self && wself == 0)
            wself = 1.0;
        size_t m = 0;
        for (size_t k = c->w->start[i]; k < c->w->start[i + 1]; k++)
            if (c->w->nbr[k] != i)
                ww[m++] = c->w->w[k];
        if (!c->o->include_self)
            wself = 0;
        double fixed = wself * c->x[i];
        if (c->o->spdep_perm && wself != 0 && m + 1 < n) {
            ww[m++] = wself;
            fixed = 0;
        }
        double obs = c->lag[i];
        double tol = 1e-9 * (fabs(obs) + 1);
        sg_rng rng;
        sg_rng_seed(&rng, c->o->seed, i);
        unsigned ge = 0;
        for (unsigned r = 0; r < c->o->n_perm; r++) {
            /* Floyd's algorithm: m distinct indices out of the n-1 other areas. */
            if (++stamp == 0) {
                memset(mark, 0, n * sizeof(*mark));
                stamp = 1;
            }
            size_t N = n - 1;
            for (size_t j = N - m, q = 0; j < N; j++, q++) {
                size_t t = sg_rng_below(&rng, (uint32_t)(j + 1));
                if (mark[t] == stamp)
                    t = j;
                mark[t] = stamp;
                pick[q] = t;
            }
            double s = fixed;
            for (size_t q = 0; q < m; q++) {
                size_t t = pick[q];
                s += ww[q] * c->x[t < i ? t : t + 1];
            }
            if (s >= obs - tol)
                ge++;
        }
        unsigned R = c->o->n_perm;
        unsigned larger = ge;
        if (R - larger < larger)
            larger = R - larger;
        c->p_sim[i] = (double)(larger + 1) / (double)(R + 1);
    }
    free(mark);
    free(pick);
    free(ww);
    return NULL;
}

sg_err sg_gistar_run(const double *x, size_t n, const sg_weights *w, const sg_gistar_opts *o,
                     sg_gistar_result *out, char *msg, size_t msg_len)
{
    if (!x || !w || !o || !out)
        return sg_errf(SG_INVAL, msg, msg_len, "gistar: missing argument");
    if (n < 3 || w->n != n)
        return sg_errf(SG_INVAL, msg, msg_len,
                       "gistar: need at least 3 areas and weights for each");
    if (n > UINT32_MAX)
        return sg_errf(SG_TOOBIG, msg, msg_len, "gistar: too many areas");
    if (!(o->fdr_q > 0 && o->fdr_q < 1))
        return sg_errf(SG_INVAL, msg, msg_len, "gistar: fdr_q must be in (0, 1)");
    double sum = 0, sum2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return sg_errf(SG_INVAL, msg, msg_len, "gistar: value %zu is not finite", i);
        sum += x[i];
        sum2 += x[i] * x[i];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = w->start[i]; k < w->start[i + 1]; k++)
            if (w->nbr[k] >= n || !isfinite(w->w[k]))
                return sg_errf(SG_INVAL, msg, msg_len, "gistar: bad weights in row %zu", i);
    sg_gistar_result r = {0};
    double *lag = malloc(n * sizeof(*lag));
    r.n = n;
    r.z = malloc(n * sizeof(*r.z));
    r.p_norm = malloc(n * sizeof(*r.p_norm));
    r.significant = calloc(n, 1);
    unsigned char *keep = malloc(n);
    if (o->n_perm)
        r.p_sim = malloc(n * sizeof(*r.p_sim));
    if (!lag || !r.z || !r.p_norm || !r.significant || !keep || (o->n_perm && !r.p_sim)) {
        free(lag);
        free(keep);
        sg_gistar_result_fini(&r);
        return sg_errf(SG_NOMEM, msg, msg_len, "gistar: out of memory");
    }
    /* spdep::localG: with self, xbar and s^2 over all n (s^2 with divisor n); without, over the
     * other n-1 areas. Centred sums keep s^2 accurate for large counts. */
    double mean = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    if (!(ss > 0)) {
        free(lag);
        free(keep);
        sg_gistar_result_fini(&r);
        return sg_errf(SG_INVAL, msg, msg_len, "gistar: all values are equal");
    }
    double dn = (double)n;
    for (size_t i = 0; i < n; i++) {
        double W = 0, S1 = 0, l = 0;
        int has_self = 0;
        for (size_t k = w->start[i]; k < w->start[i + 1]; k++) {
            size_t j = w->nbr[k];
            if (j == i) {
                has_self = 1;
                if (!o->include_self)
                    continue;
            }
            W += w->w[k];
            S1 += w->w[k] * w->w[k];
            l += w->w[k] * x[j];
        }
        if (o->include_self && !has_self) {
            W += 1;
            S1 += 1;
            l += x[i];
        }
        lag[i] = l;
        double z;
        if (o->include_self) {
            double var = ss / dn * (dn * S1 - W * W) / (dn - 1);
            z = var > 0 ? (l - W * mean) / sqrt(var) : 0;
        } else {
            double xb = (sum - x[i]) / (dn - 1);
            double s2 = (sum2 - x[i] * x[i]) / (dn - 1) - xb * xb;
            double var = s2 * ((dn - 1) * S1 - W * W) / (dn - 2);
            z = var > 0 ? (l - W * xb) / sqrt(var) : 0;
        }
        r.z[i] = z;
        r.p_norm[i] = erfc(fabs(z) / sqrt(2.0));
    }
    if (o->n_perm) {
        gi_ctx c = {x, n, w, o, lag, r.p_sim, 0, PTHREAD_MUTEX_INITIALIZER, 0};
        unsigned nt = sg_stats_threads(o->n_threads);
        if ((size_t)nt > n)
            nt = (unsigned)n;
        pthread_t th[256];
        unsigned started = 0;
        for (unsigned t = 0; t < nt; t++) {
            if (pthread_create(&th[t], NULL, perm_thread, &c))
                break;
            started++;
        }
        if (started == 0)
            perm_thread(&c);
        for (unsigned t = 0; t < started; t++)
            pthread_join(th[t], NULL);
        if (c.failed) {
            free(lag);
            free(keep);
            sg_gistar_result_fini(&r);
            return sg_errf(SG_NOMEM, msg, msg_len, "gistar: out of memory");
        }
    }
    free(lag);
    sg_err err = sg_stats_fdr(o->n_perm ? r.p_sim : r.p_norm, n, o->fdr_q, keep);
    if (err) {
        free(keep);
        sg_gistar_result_fini(&r);
        return sg_errf(err, msg, msg_len, "gistar: false-discovery-rate step failed");
    }
    for (size_t i = 0; i < n; i++)
        r.significant[i] = keep[i] ? (r.z[i] > 0 ? 1 : -1) : 0;
    free(keep);
    *out = r;
    return SG_OK;
}
