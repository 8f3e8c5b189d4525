/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Neighbour weights for Gi* and other local statistics: contiguity between polygons (queen
 * and rook, defined as R spdep::poly2nb defines them, by boundary points within a snap
 * distance), contiguity of regular grid cells, k nearest neighbours and distance bands.
 * Results are compressed rows (sg_weights) so that a kernel walks one contiguous array.
 * Polygon contiguity sorts all vertices by x and sweeps a snap-wide window, so it costs
 * O(V log V) instead of comparing every pair of polygons.
 */
#include "safegrid/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sg_weights_free(sg_weights *w)
{
    if (w == NULL)
        return;
    free(w->start);
    free(w->nbr);
    free(w->w);
    free(w);
}

typedef struct pair {
    size_t a, b;
    size_t pt; /* for contiguity: which boundary point (identical coordinates share one) */
} pair;

typedef struct pairs {
    pair *v;
    size_t n, cap;
} pairs;

static int pairs_push(pairs *p, size_t a, size_t b, size_t pt)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 1024;
        pair *nv = realloc(p->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        p->v = nv;
        p->cap = ncap;
    }
    p->v[p->n++] = (pair){a, b, pt};
    return 0;
}

static int cmp_pair(const void *x, const void *y)
{
    const pair *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return (p->pt > q->pt) - (p->pt < q->pt);
}

/* Builds symmetric binary weights from a sorted, duplicate-free list of pairs (a, b), a != b,
 * holding both directions. */
static sg_err from_pairs(size_t n, const pair *v, size_t m, sg_weights **out)
{
    sg_weights *w = calloc(1, sizeof(*w));
    if (!w)
        return SG_NOMEM;
    w->n = n;
    w->start = calloc(n + 1, sizeof(*w->start));
    w->nbr = malloc((m ? m : 1) * sizeof(*w->nbr));
    w->w = malloc((m ? m : 1) * sizeof(*w->w));
    if (!w->start || !w->nbr || !w->w) {
        sg_weights_free(w);
        return SG_NOMEM;
    }
    for (size_t k = 0; k < m; k++) {
        w->start[v[k].a + 1]++;
        w->nbr[k] = v[k].b;
        w->w[k] = 1.0;
    }
    for (size_t i = 0; i < n; i++)
        w->start[i + 1] += w->start[i];
    *out = w;
    return SG_OK;
}

/* Sorts pairs, drops repeats, and keeps those that share at least `need` distinct points. */
static size_t keep_pairs(pair *v, size_t m, unsigned need)
{
    qsort(v, m, sizeof(*v), cmp_pair);
    size_t o = 0;
    for (size_t k = 0; k < m;) {
        size_t r = k, distinct = 0;
        while (r < m && v[r].a == v[k].a && v[r].b == v[k].b) {
            if (r == k || v[r].pt != v[r - 1].pt)
                distinct++;
            r++;
        }
        if (distinct >= need) {
            v[o] = v[k];
            v[o++].pt = 0;
        }
        k = r;
    }
    return o;
}

typedef struct vert {
    double x, y;
    size_t poly;
} vert;

static int cmp_vert(const void *a, const void *b)
{
    const vert *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    if (p->y != q->y)
        return p->y < q->y ? -1 : 1;
    return (p->poly > q->poly) - (p->poly < q->poly);
}

sg_err sg_weights_contiguity(const double *xy, const size_t *poly_start, size_t n_poly,
                             sg_contiguity kind, double snap, sg_weights **out)
{
    if (!xy || !poly_start || n_poly == 0 || !out)
        return SG_INVAL;
    if (kind != SG_CONTIG_QUEEN && kind != SG_CONTIG_ROOK)
        return SG_INVAL;
    if (snap < 0)
        snap = sqrt(DBL_EPSILON);
    if (!isfinite(snap))
        return SG_INVAL;
    size_t nv = poly_start[n_poly];
    for (size_t p = 0; p < n_poly; p++)
        if (poly_start[p] > poly_start[p + 1])
            return SG_INVAL;
    vert *v = malloc((nv ? nv : 1) * sizeof(*v));
    if (!v)
        return SG_NOMEM;
    for (size_t p = 0; p < n_poly; p++)
        for (size_t k = poly_start[p]; k < poly_start[p + 1]; k++) {
            if (!isfinite(xy[2 * k]) || !isfinite(xy[2 * k + 1])) {
                free(v);
                return SG_INVAL;
            }
            v[k] = (vert){xy[2 * k], xy[2 * k + 1], p};
        }
    qsort(v, nv, sizeof(*v), cmp_vert);
    /* Vertices of different polygons within snap are a shared boundary point; vertices at
     * identical coordinates (a ring's closing vertex, say) are one point, so a rook pair
     * needs two distinct ones, as in spdep. pid numbers the distinct coordinates. */
    size_t *pid = malloc((nv ? nv : 1) * sizeof(*pid));
    if (!pid) {
        free(v);
        return SG_NOMEM;
    }
    for (size_t i = 0; i < nv; i++)
        pid[i] = (i > 0 && v[i].x == v[i - 1].x && v[i].y == v[i - 1].y) ? pid[i - 1] : i;
    pairs pr = {0};
    for (size_t i = 0; i < nv; i++)
        for (size_t j = i + 1; j < nv && v[j].x - v[i].x <= snap; j++) {
            if (v[j].poly == v[i].poly || fabs(v[j].y - v[i].y) > snap)
                continue;
            if (pairs_push(&pr, v[i].poly, v[j].poly, pid[i]) ||
                pairs_push(&pr, v[j].poly, v[i].poly, pid[j])) {
                free(pid);
                free(pr.v);
                free(v);
                return SG_NOMEM;
            }
        }
    free(pid);
    free(v);
    size_t m = keep_pairs(pr.v, pr.n, kind == SG_CONTIG_ROOK ? 2 : 1);
    sg_err err = from_pairs(n_poly, pr.v, m, out);
    free(pr.v);
    return err;
}

sg_err sg_weights_grid(size_t nx, size_t ny, sg_contiguity kind, sg_weights **out)
{
    if (nx == 0 || ny == 0 || !out || (kind != SG_CONTIG_QUEEN && kind != SG_CONTIG_ROOK))
        return SG_INVAL;
    if (nx > SIZE_MAX / 16 / ny)
        return SG_TOOBIG;
    size_t n = nx * ny;
    pair *v = malloc(n * 8 * sizeof(*v));
    if (!v)
        return SG_NOMEM;
    size_t m = 0;
    for (size_t cy = 0; cy < ny; cy++)
        for (size_t cx = 0; cx < nx; cx++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    if ((dx == 0 && dy == 0) || (kind == SG_CONTIG_ROOK && dx && dy))
                        continue;
                    if ((dx < 0 && cx == 0) || (dy < 0 && cy == 0) || (dx > 0 && cx + 1 == nx) ||
                        (dy > 0 && cy + 1 == ny))
                        continue;
                    size_t j = (cy + (size_t)(long)dy) * nx + cx + (size_t)(long)dx;
                    v[m++] = (pair){cy * nx + cx, j, 0};
                }
    qsort(v, m, sizeof(*v), cmp_pair);
    sg_err err = from_pairs(n, v, m, out);
    free(v);
    return err;
}

typedef struct dist_idx {
    double d2;
    size_t j;
} dist_idx;

static int cmp_dist_idx(const void *a, const void *b)
{
    const dist_idx *p = a, *q = b;
    if (p->d2 != q->d2)
        return p->d2 < q->d2 ? -1 : 1;
    return (p->j > q->j) - (p->j < q->j);
}

sg_err sg_weights_knn(const double *xy, size_t n, unsigned k, sg_weights **out)
{
    if (!xy || !out || k == 0 || (size_t)k >= n)
        return SG_INVAL;
    for (size_t i = 0; i < 2 * n; i++)
        if (!isfinite(xy[i]))
            return SG_INVAL;
    if (n > SIZE_MAX / k / sizeof(size_t))
        return SG_TOOBIG;
    sg_weights *w = calloc(1, sizeof(*w));
    dist_idx *d = malloc(n * sizeof(*d));
    if (!w || !d) {
        free(w);
        free(d);
        return SG_NOMEM;
    }
    w->n = n;
    w->start = malloc((n + 1) * sizeof(*w->start));
    w->nbr = malloc(n * k * sizeof(*w->nbr));
    w->w = malloc(n * k * sizeof(*w->w));
    if (!w->start || !w->nbr || !w->w) {
        free(d);
        sg_weights_free(w);
        return SG_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            double dx = xy[2 * j] - xy[2 * i], dy = xy[2 * j + 1] - xy[2 * i + 1];
            d[m++] = (dist_idx){dx * dx + dy * dy, j};
        }
        qsort(d, m, sizeof(*d), cmp_dist_idx);
        /* Rows are sorted by neighbour index, like every sg_weights. */
        size_t *row = w->nbr + i * k;
        for (unsigned q = 0; q < k; q++)
            row[q] = d[q].j;
        for (unsigned q = 1; q < k; q++) {
            size_t x = row[q];
            unsigned r = q;
            while (r > 0 && row[r - 1] > x) {
                row[r] = row[r - 1];
                r--;
            }
            row[r] = x;
        }
        w->start[i] = i * k;
        for (unsigned q = 0; q < k; q++)
            w->w[i * k + q] = 1.0;
    }
    w->start[n] = n * k;
    free(d);
    *out = w;
    return SG_OK;
}

typedef struct pt {
    double x, y;
    size_t i;
} pt;

static int cmp_pt(const void *a, const void *b)
{
    const pt *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

sg_err sg_weights_band(const double *xy, size_t n, double d, sg_weights **out)
{
    if (!xy || !out || n == 0 || !(d > 0) || !isfinite(d))
        return SG_INVAL;
    pt *p = malloc(n * sizeof(*p));
    if (!p)
        return SG_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1])) {
            free(p);
            return SG_INVAL;
        }
        p[i] = (pt){xy[2 * i], xy[2 * i + 1], i};
    }
    qsort(p, n, sizeof(*p), cmp_pt);
    pairs pr = {0};
    double d2 = d * d;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n && p[b].x - p[a].x <= d; b++) {
            double dx = p[b].x - p[a].x, dy = p[b].y - p[a].y;
            double q = dx * dx + dy * dy;
            if (q > d2 || q == 0)
                continue;
            if (pairs_push(&pr, p[a].i, p[b].i, 0) || pairs_push(&pr, p[b].i, p[a].i, 0)) {
                free(pr.v);
                free(p);
                return SG_NOMEM;
            }
        }
    free(p);
    qsort(pr.v, pr.n, sizeof(*pr.v), cmp_pair);
    sg_err err = from_pairs(n, pr.v, pr.n, out);
    free(pr.v);
    return err;
}
