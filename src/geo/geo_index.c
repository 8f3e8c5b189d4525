/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Point location: which area covers a longitude/latitude.
 *
 * The exact test is GEOS: every polygon is a prepared geometry, found through an STRtree
 * of envelopes. That alone costs one tree walk and one or more point-in-polygon tests per
 * query. Most points, though, fall far from any border, so in front of GEOS sits a uniform
 * grid over the polygons' extent: every cell that no polygon boundary touches lies wholly
 * inside one face of the polygons' arrangement, so its answer (an area or "none") is
 * computed once at build time and a query there is two multiplications and a load. Only
 * cells that a boundary crosses ("border cells") keep a short candidate list, sorted by id,
 * and are answered by GEOS prepared covers at query time.
 *
 * Which cells a boundary touches is found by walking every ring segment row by row with a
 * small margin, so that rounding never lets a boundary slip past a cell. A run of untouched
 * cells in a row is one connected boundary-free region, so one GEOS query at the first
 * cell's centre answers the whole run.
 *
 * Ties: of all polygons that cover a point (interior or boundary), the smallest id wins;
 * polygons are kept sorted by id, so the first covering candidate is the answer.
 *
 * Threads: the index is immutable after build. GEOS's STRtree and prepared geometries build
 * internal structures lazily on first use, so the build runs one query on each to force
 * that; afterwards queries only read. GEOS's reentrant API needs a context handle per
 * thread, kept in a thread-local variable and released when the thread ends.
 */
#include <geos_c.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/geo.h"

#define CELL_EMPTY (-1)
/* Border cells are stored as -2 - k, k the index into the candidate offsets. */
#define CELL_BORDER_BASE (-2)
#define MAX_GRID_CELLS ((size_t)1 << 23)
#define MIN_GRID_CELLS ((size_t)1 << 12)
/* Each border cell is split into SUB x SUB sub-cells classified the same way, whose values
 * are indices into the cell's candidate list, SUB_EMPTY, or SUB_BORDER (ask GEOS). */
#define SUB 8
#define SUB_EMPTY (-1)
#define SUB_BORDER (-2)
#define MAX_SUB_CANDIDATES 32000

struct poly {
    int64_t id;
    size_t orig;
    GEOSGeometry *g;
    const GEOSPreparedGeometry *pg;
    double bbox[4];
};

struct sg_geo_index {
    GEOSContextHandle_t ctx; /* owns the geometries; used only while building and freeing */
    size_t n;
    struct poly *polys; /* sorted by id, then input order */
    GEOSSTRtree *tree;
    double bbox[4];
    /* grid */
    size_t gw, gh;
    double x0, y0, cw, ch;
    int32_t *cells;
    uint32_t *cand_off; /* n_border + 1 offsets into cand */
    int32_t *cand;      /* poly indices, ascending */
    int16_t *sub;       /* SUB x SUB sub-cells per border cell, or NULL */
    sg_geo_index_stats stats;
};

/* ---- per-thread GEOS context ------------------------------------------------------- */

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static int ctx_key_ok;
static _Thread_local GEOSContextHandle_t tls_ctx;

static void quiet_handler(const char *fmt, void *user)
{
    (void)fmt;
    (void)user;
}

static void ctx_destroy(void *p)
{
    /* Runs on the exiting thread: forget the handle before freeing it, in case a later
     * destructor of the same thread locates again (it would then make a new one). */
    if (tls_ctx == p)
        tls_ctx = NULL;
    GEOS_finish_r((GEOSContextHandle_t)p);
}

static void ctx_key_init(void)
{
    ctx_key_ok = pthread_key_create(&ctx_key, ctx_destroy) == 0;
}

static GEOSContextHandle_t new_ctx(void)
{
    GEOSContextHandle_t c = GEOS_init_r();
    if (c != NULL) {
        GEOSContext_setNoticeMessageHandler_r(c, quiet_handler, NULL);
        GEOSContext_setErrorMessageHandler_r(c, quiet_handler, NULL);
    }
    return c;
}

/* The calling thread's GEOS context, created on first use and released at thread exit. */
static GEOSContextHandle_t thread_ctx(void)
{
    if (tls_ctx != NULL)
        return tls_ctx;
    pthread_once(&ctx_once, ctx_key_init);
    GEOSContextHandle_t c = new_ctx();
    if (c == NULL)
        return NULL;
    if (ctx_key_ok)
        pthread_setspecific(ctx_key, c);
    tls_ctx = c;
    return c;
}

/* ---- exact location with GEOS ------------------------------------------------------ */

static int covers_xy(GEOSContextHandle_t ctx, const struct poly *p, double x, double y,
                     GEOSGeometry **pt)
{
    if (x < p->bbox[0] || x > p->bbox[2] || y < p->bbox[1] || y > p->bbox[3])
        return 0;
    if (*pt == NULL) {
        *pt = GEOSGeom_createPointFromXY_r(ctx, x, y);
        if (*pt == NULL)
            return -1;
    }
    char r = GEOSPreparedCovers_r(ctx, p->pg, *pt);
    return r == 1 ? 1 : (r == 0 ? 0 : -1);
}

#define QUERY_STACK 64

struct query {
    const struct poly *base;
    size_t *hits;
    size_t n_hits, cap;
    size_t stack[QUERY_STACK];
    int nomem;
};

static void query_cb(void *item, void *user)
{
    struct query *q = user;
    size_t k = (size_t)((const struct poly *)item - q->base);
    if (q->n_hits == q->cap) {
        size_t cap = q->cap * 2;
        size_t *h =
            q->hits == q->stack ? malloc(cap * sizeof(*h)) : realloc(q->hits, cap * sizeof(*h));
        if (h == NULL) {
            q->nomem = 1;
            return;
        }
        if (q->hits == q->stack)
            memcpy(h, q->stack, sizeof(q->stack));
        q->hits = h;
        q->cap = cap;
    }
    q->hits[q->n_hits++] = k;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* STRtree + prepared covers. *out = polygon index or -1. Returns 0, or -1 on GEOS error. */
static int locate_tree(const sg_geo_index *idx, GEOSContextHandle_t ctx, double x, double y,
                       long *out)
{
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx, x, y);
    if (pt == NULL)
        return -1;
    struct query q = {.base = idx->polys, .cap = QUERY_STACK};
    q.hits = q.stack;
    GEOSSTRtree_query_r(ctx, idx->tree, pt, query_cb, &q);
    int rc = q.nomem ? -1 : 0;
    long found = -1;
    if (rc == 0) {
        qsort(q.hits, q.n_hits, sizeof(size_t), cmp_size);
        for (size_t i = 0; i < q.n_hits; i++) {
            int c = covers_xy(ctx, &idx->polys[q.hits[i]], x, y, &pt);
            if (c < 0) {
                rc = -1;
                break;
            }
            if (c) {
                found = (long)q.hits[i];
                break;
            }
        }
    }
    if (q.hits != q.stack)
        free(q.hits);
    GEOSGeom_destroy_r(ctx, pt);
    if (rc == 0)
        *out = found;
    return rc;
}

sg_err sg_geo_locate(const sg_geo_index *idx, double lon, double lat, int64_t *out_id)
{
    if (idx == NULL || !isfinite(lon) || !isfinite(lat))
        return SG_NOTFOUND;
    if (idx->n == 0 || lon < idx->bbox[0] || lon > idx->bbox[2] || lat < idx->bbox[1] ||
        lat > idx->bbox[3])
        return SG_NOTFOUND;
    if (idx->cells != NULL) {
        size_t i = (size_t)((lon - idx->x0) / idx->cw);
        size_t j = (size_t)((lat - idx->y0) / idx->ch);
        if (i >= idx->gw)
            i = idx->gw - 1;
        if (j >= idx->gh)
            j = idx->gh - 1;
        int32_t c = idx->cells[j * idx->gw + i];
        if (c >= 0) {
            *out_id = idx->polys[c].id;
            return SG_OK;
        }
        if (c == CELL_EMPTY)
            return SG_NOTFOUND;
        size_t k = (size_t)(CELL_BORDER_BASE - c);
        if (idx->sub != NULL) {
            double sx = idx->x0 + (double)i * idx->cw, sy = idx->y0 + (double)j * idx->ch;
            double fi = (lon - sx) / idx->cw * SUB, fj = (lat - sy) / idx->ch * SUB;
            size_t si = fi > 0 ? (size_t)fi : 0, sj = fj > 0 ? (size_t)fj : 0;
            if (si >= SUB)
                si = SUB - 1;
            if (sj >= SUB)
                sj = SUB - 1;
            int16_t v = idx->sub[k * SUB * SUB + sj * SUB + si];
            if (v >= 0) {
                *out_id = idx->polys[idx->cand[idx->cand_off[k] + (uint32_t)v]].id;
                return SG_OK;
            }
            if (v == SUB_EMPTY)
                return SG_NOTFOUND;
        }
        GEOSContextHandle_t ctx = thread_ctx();
        if (ctx == NULL)
            return SG_NOMEM;
        GEOSGeometry *pt = NULL;
        sg_err err = SG_NOTFOUND;
        for (uint32_t m = idx->cand_off[k]; m < idx->cand_off[k + 1]; m++) {
            const struct poly *p = &idx->polys[idx->cand[m]];
            int r = covers_xy(ctx, p, lon, lat, &pt);
            if (r < 0) {
                err = SG_NOMEM;
                break;
            }
            if (r) {
                *out_id = p->id;
                err = SG_OK;
                break;
            }
        }
        if (pt != NULL)
            GEOSGeom_destroy_r(ctx, pt);
        return err;
    }
    GEOSContextHandle_t ctx = thread_ctx();
    if (ctx == NULL)
        return SG_NOMEM;
    long k;
    if (locate_tree(idx, ctx, lon, lat, &k) != 0)
        return SG_NOMEM;
    if (k < 0)
        return SG_NOTFOUND;
    *out_id = idx->polys[k].id;
    return SG_OK;
}

/* ---- build ------------------------------------------------------------------------- */

static int cmp_poly(const void *a, const void *b)
{
    const struct poly *p = a, *q = b;
    if (p->id != q->id)
        return p->id < q->id ? -1 : 1;
    return p->orig < q->orig ? -1 : p->orig > q->orig;
}

static size_t clampz(double v, size_t hi)
{
    if (!(v > 0))
        return 0;
    if (v >= (double)hi)
        return hi - 1;
    return (size_t)v;
}

/* Geometry of a uniform grid: origin, cell size, cells across and down. */
struct grid {
    double x0, y0, cw, ch;
    size_t gw, gh;
};

/* Marks every cell whose closed rectangle, grown by eps, the segment a-b touches. A segment
 * reaching beyond the grid may mark edge cells too many: that only costs speed. */
static void mark_segment(const struct grid *gd, unsigned char *mark, double ax, double ay,
                         double bx, double by, double eps)
{
    double ylo = fmin(ay, by), yhi = fmax(ay, by);
    size_t r0 = clampz((ylo - eps - gd->y0) / gd->ch, gd->gh);
    size_t r1 = clampz((yhi + eps - gd->y0) / gd->ch, gd->gh);
    for (size_t r = r0; r <= r1; r++) {
        double b0 = gd->y0 + (double)r * gd->ch - eps;
        double b1 = gd->y0 + (double)(r + 1) * gd->ch + eps;
        double xlo, xhi;
        if (ay == by) {
            xlo = fmin(ax, bx);
            xhi = fmax(ax, bx);
        } else {
            double t0 = (b0 - ay) / (by - ay), t1 = (b1 - ay) / (by - ay);
            if (t0 > t1) {
                double t = t0;
                t0 = t1;
                t1 = t;
            }
            if (t0 < 0)
                t0 = 0;
            if (t1 > 1)
                t1 = 1;
            if (t0 > t1)
                continue;
            double xa = ax + t0 * (bx - ax), xb = ax + t1 * (bx - ax);
            xlo = fmin(xa, xb);
            xhi = fmax(xa, xb);
        }
        size_t c0 = clampz((xlo - eps - gd->x0) / gd->cw, gd->gw);
        size_t c1 = clampz((xhi + eps - gd->x0) / gd->cw, gd->gw);
        memset(mark + r * gd->gw + c0, 1, c1 - c0 + 1);
    }
}

/* The vertices of every ring of a polygon, rings separated by a NaN pair, so that the
 * build can walk segments without going through GEOS for each cell. */
struct rings {
    double *xy;
    size_t n, cap; /* in points */
};

/* Grows r to room for at least need points, doubling from 64. */
static int rings_reserve(struct rings *r, size_t need)
{
    while (r->cap < need) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        double *xy = realloc(r->xy, cap * 2 * sizeof(double));
        if (xy == NULL)
            return -1;
        r->xy = xy;
        r->cap = cap;
    }
    return 0;
}

static int rings_push(struct rings *r, double x, double y)
{
    if (rings_reserve(r, r->n + 1))
        return -1;
    r->xy[2 * r->n] = x;
    r->xy[2 * r->n + 1] = y;
    r->n++;
    return 0;
}

static int rings_add_ring(struct rings *r, GEOSContextHandle_t ctx, const GEOSGeometry *ring)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(ctx, ring);
    unsigned int np = 0;
    if (cs == NULL || !GEOSCoordSeq_getSize_r(ctx, cs, &np))
        return -1;
    if (np == 0)
        return 0;
    if (rings_reserve(r, r->n + np + 1))
        return -1;
    if (!GEOSCoordSeq_copyToBuffer_r(ctx, cs, r->xy + 2 * r->n, 0, 0))
        return -1;
    r->n += np;
    if (np == 1 && rings_push(r, r->xy[2 * r->n - 2], r->xy[2 * r->n - 1]))
        return -1; /* a one-point ring still marks its cell */
    return rings_push(r, NAN, NAN);
}

static int rings_add(struct rings *r, GEOSContextHandle_t ctx, const GEOSGeometry *g)
{
    int type = GEOSGeomTypeId_r(ctx, g);
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int k = GEOSGetNumGeometries_r(ctx, g);
        for (int i = 0; i < k; i++)
            if (rings_add(r, ctx, GEOSGetGeometryN_r(ctx, g, i)))
                return -1;
        return 0;
    }
    if (type != GEOS_POLYGON || GEOSisEmpty_r(ctx, g))
        return 0;
    if (rings_add_ring(r, ctx, GEOSGetExteriorRing_r(ctx, g)))
        return -1;
    int nh = GEOSGetNumInteriorRings_r(ctx, g);
    for (int i = 0; i < nh; i++)
        if (rings_add_ring(r, ctx, GEOSGetInteriorRingN_r(ctx, g, i)))
            return -1;
    return 0;
}

/* Marks the cells of gd that the rings touch; with clip, only segments whose box meets
 * [clip[0],clip[2]] x [clip[1],clip[3]] (already grown by eps) are considered. */
static void mark_rings(const struct grid *gd, unsigned char *mark, const struct rings *r,
                       double eps, const double *clip)
{
    const double *xy = r->xy;
    for (size_t i = 0; i + 1 < r->n; i++) {
        double ax = xy[2 * i], ay = xy[2 * i + 1], bx = xy[2 * i + 2], by = xy[2 * i + 3];
        if (isnan(ax) || isnan(bx))
            continue;
        if (clip != NULL && (fmax(ax, bx) < clip[0] || fmin(ax, bx) > clip[2] ||
                             fmax(ay, by) < clip[1] || fmin(ay, by) > clip[3]))
            continue;
        mark_segment(gd, mark, ax, ay, bx, by, eps);
    }
}

struct env_query {
    const struct poly *base;
    int32_t *out;
    size_t n, cap;
    int nomem;
};

static void env_cb(void *item, void *user)
{
    struct env_query *q = user;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        int32_t *o = realloc(q->out, cap * sizeof(*o));
        if (o == NULL) {
            q->nomem = 1;
            return;
        }
        q->out = o;
        q->cap = cap;
    }
    q->out[q->n++] = (int32_t)((const struct poly *)item - q->base);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* Splits border cell k at (i, j) into SUB x SUB sub-cells. Returns -1 on GEOS failure. */
static int build_sub(sg_geo_index *idx, const struct rings *rings, size_t k, size_t i, size_t j)
{
    int16_t *out = idx->sub + k * SUB * SUB;
    uint32_t off = idx->cand_off[k], n_cand = idx->cand_off[k + 1] - off;
    if (n_cand > MAX_SUB_CANDIDATES) {
        for (size_t c = 0; c < SUB * SUB; c++)
            out[c] = SUB_BORDER;
        return 0;
    }
    struct grid gd = {idx->x0 + (double)i * idx->cw,
                      idx->y0 + (double)j * idx->ch,
                      idx->cw / SUB,
                      idx->ch / SUB,
                      SUB,
                      SUB};
    double eps = 1e-6 * fmin(gd.cw, gd.ch) + 1e-12;
    double clip[4] = {gd.x0 - eps, gd.y0 - eps, gd.x0 + idx->cw + eps, gd.y0 + idx->ch + eps};
    unsigned char mark[SUB * SUB];
    memset(mark, 0, sizeof mark);
    for (uint32_t m = 0; m < n_cand; m++)
        mark_rings(&gd, mark, &rings[idx->cand[off + m]], eps, clip);
    GEOSContextHandle_t ctx = idx->ctx;
    for (size_t r = 0; r < SUB; r++) {
        int in_run = 0;
        int16_t run_val = SUB_EMPTY;
        for (size_t c = 0; c < SUB; c++) {
            if (mark[r * SUB + c]) {
                out[r * SUB + c] = SUB_BORDER;
                in_run = 0;
                continue;
            }
            if (!in_run) {
                double cx = gd.x0 + ((double)c + 0.5) * gd.cw;
                double cy = gd.y0 + ((double)r + 0.5) * gd.ch;
                GEOSGeometry *pt = NULL;
                run_val = SUB_EMPTY;
                for (uint32_t m = 0; m < n_cand; m++) {
                    int hit = covers_xy(ctx, &idx->polys[idx->cand[off + m]], cx, cy, &pt);
                    if (hit < 0) {
                        if (pt)
                            GEOSGeom_destroy_r(ctx, pt);
                        return -1;
                    }
                    if (hit) {
                        run_val = (int16_t)m;
                        break;
                    }
                }
                if (pt)
                    GEOSGeom_destroy_r(ctx, pt);
                in_run = 1;
            }
            out[r * SUB + c] = run_val;
        }
    }
    for (size_t c = 0; c < SUB * SUB; c++) {
        if (out[c] >= 0)
            idx->stats.n_subcells_inside++;
        else if (out[c] == SUB_EMPTY)
            idx->stats.n_subcells_empty++;
        else
            idx->stats.n_subcells_border++;
    }
    return 0;
}

static sg_err build_grid(sg_geo_index *idx, size_t target, char *msg, size_t msgn)
{
    GEOSContextHandle_t ctx = idx->ctx;
    double w = idx->bbox[2] - idx->bbox[0], h = idx->bbox[3] - idx->bbox[1];
    if (target == 0) {
        target = idx->n * 2048;
        if (target < MIN_GRID_CELLS)
            target = MIN_GRID_CELLS;
    }
    if (target > MAX_GRID_CELLS)
        target = MAX_GRID_CELLS;
    double cs;
    if (w <= 0 || h <= 0)
        cs = fmax(fmax(w, h), 1e-9); /* degenerate extent: one row or column */
    else
        cs = sqrt(w * h / (double)target);
    size_t gw = (size_t)ceil(w / cs), gh = (size_t)ceil(h / cs);
    if (gw == 0)
        gw = 1;
    if (gh == 0)
        gh = 1;
    while (gw * gh > MAX_GRID_CELLS) {
        cs *= 1.1;
        gw = (size_t)ceil(w / cs);
        gh = (size_t)ceil(h / cs);
        if (gw == 0)
            gw = 1;
        if (gh == 0)
            gh = 1;
    }
    idx->gw = gw;
    idx->gh = gh;
    idx->x0 = idx->bbox[0];
    idx->y0 = idx->bbox[1];
    idx->cw = w > 0 ? w / (double)gw : cs;
    idx->ch = h > 0 ? h / (double)gh : cs;
    struct grid gd = {idx->x0, idx->y0, idx->cw, idx->ch, gw, gh};
    double eps = 1e-6 * fmin(idx->cw, idx->ch) + 1e-12;

    size_t nc = gw * gh;
    sg_err err = SG_OK;
    struct env_query eq = {.base = idx->polys};
    struct rings *rings = calloc(idx->n, sizeof(*rings));
    unsigned char *mark = calloc(nc, 1);
    idx->cells = malloc(nc * sizeof(int32_t));
    if (rings == NULL || mark == NULL || idx->cells == NULL) {
        err = sg_errf(SG_NOMEM, msg, msgn, "no memory for a %zu x %zu grid", gw, gh);
        goto out;
    }
    for (size_t i = 0; i < idx->n; i++) {
        if (rings_add(&rings[i], ctx, idx->polys[i].g)) {
            err = sg_errf(SG_NOMEM, msg, msgn, "cannot read the rings of polygon %lld",
                          (long long)idx->polys[i].id);
            goto out;
        }
        mark_rings(&gd, mark, &rings[i], eps, NULL);
    }

    size_t n_border = 0;
    for (size_t c = 0; c < nc; c++)
        n_border += mark[c];
    idx->cand_off = malloc((n_border + 1) * sizeof(uint32_t));
    if (idx->cand_off == NULL) {
        err = sg_errf(SG_NOMEM, msg, msgn, "no memory for %zu border cells", n_border);
        goto out;
    }
    idx->cand_off[0] = 0;
    size_t k = 0, cand_cap = 0, n_cand = 0;
    for (size_t r = 0; r < gh && err == SG_OK; r++) {
        long run_val = 0;
        int in_run = 0;
        for (size_t c = 0; c < gw; c++) {
            size_t cell = r * gw + c;
            if (!mark[cell]) {
                /* A run of untouched cells is one boundary-free region: one answer. */
                if (!in_run) {
                    double cx = idx->x0 + ((double)c + 0.5) * idx->cw;
                    double cy = idx->y0 + ((double)r + 0.5) * idx->ch;
                    if (locate_tree(idx, ctx, cx, cy, &run_val) != 0) {
                        err = sg_errf(SG_NOMEM, msg, msgn, "GEOS failed while building grid");
                        break;
                    }
                    in_run = 1;
                }
                idx->cells[cell] = run_val >= 0 ? (int32_t)run_val : CELL_EMPTY;
                if (run_val >= 0)
                    idx->stats.n_cells_inside++;
                else
                    idx->stats.n_cells_empty++;
                continue;
            }
            in_run = 0;
            double e[4] = {idx->x0 + (double)c * idx->cw - eps, idx->y0 + (double)r * idx->ch - eps,
                           idx->x0 + (double)(c + 1) * idx->cw + eps,
                           idx->y0 + (double)(r + 1) * idx->ch + eps};
            GEOSGeometry *box = GEOSGeom_createRectangle_r(ctx, e[0], e[1], e[2], e[3]);
            if (box == NULL) {
                err = sg_errf(SG_NOMEM, msg, msgn, "GEOS failed while building grid");
                break;
            }
            eq.n = 0;
            GEOSSTRtree_query_r(ctx, idx->tree, box, env_cb, &eq);
            GEOSGeom_destroy_r(ctx, box);
            if (eq.nomem) {
                err = sg_errf(SG_NOMEM, msg, msgn, "no memory for cell candidates");
                break;
            }
            qsort(eq.out, eq.n, sizeof(int32_t), cmp_i32);
            if (n_cand + eq.n > cand_cap) {
                size_t cap = cand_cap ? cand_cap * 2 : 1024;
                while (cap < n_cand + eq.n)
                    cap *= 2;
                int32_t *nc2 = realloc(idx->cand, cap * sizeof(int32_t));
                if (nc2 == NULL) {
                    err = sg_errf(SG_NOMEM, msg, msgn, "no memory for cell candidates");
                    break;
                }
                idx->cand = nc2;
                cand_cap = cap;
            }
            if (eq.n)
                memcpy(idx->cand + n_cand, eq.out, eq.n * sizeof(int32_t));
            n_cand += eq.n;
            if (n_cand > UINT32_MAX) {
                err = sg_errf(SG_TOOBIG, msg, msgn, "too many cell candidates");
                break;
            }
            idx->cells[cell] = (int32_t)(CELL_BORDER_BASE - (long)k);
            idx->cand_off[++k] = (uint32_t)n_cand;
            idx->stats.n_cells_border++;
        }
    }
    if (err == SG_OK && n_border > 0) {
        idx->sub = malloc(n_border * SUB * SUB * sizeof(int16_t));
        if (idx->sub == NULL) {
            err = sg_errf(SG_NOMEM, msg, msgn, "no memory for %zu sub-grids", n_border);
            goto out;
        }
        for (size_t cell = 0; cell < nc; cell++) {
            int32_t v = idx->cells[cell];
            if (v > CELL_BORDER_BASE)
                continue;
            if (build_sub(idx, rings, (size_t)(CELL_BORDER_BASE - v), cell % gw, cell / gw)) {
                err = sg_errf(SG_NOMEM, msg, msgn, "GEOS failed while building sub-grids");
                break;
            }
        }
    }
out:
    if (rings != NULL)
        for (size_t i = 0; i < idx->n; i++)
            free(rings[i].xy);
    free(rings);
    free(eq.out);
    free(mark);
    idx->stats.grid_w = gw;
    idx->stats.grid_h = gh;
    return err;
}

static void warn_handler(const char *fmt, void *user)
{
    (void)fmt;
    (void)user;
}

sg_err sg_geo_index_build(const sg_geo_index_item *items, size_t n, const sg_geo_index_opts *opts,
                          sg_geo_index **out, char *msg, size_t msgn)
{
    if (out == NULL || (items == NULL && n > 0))
        return sg_errf(SG_INVAL, msg, msgn, "no items or no output");
    if (n > (size_t)INT32_MAX)
        return sg_errf(SG_TOOBIG, msg, msgn, "too many polygons: %zu", n);
    sg_geo_index_opts defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    sg_err err = SG_NOMEM;
    int grid_failed = 0;
    GEOSWKBReader *rd = NULL;
    sg_geo_index *idx = calloc(1, sizeof(*idx));
    if (idx == NULL)
        return sg_errf(SG_NOMEM, msg, msgn, "no memory for the index");
    idx->ctx = GEOS_init_r();
    if (idx->ctx == NULL)
        goto fail;
    GEOSContext_setNoticeMessageHandler_r(idx->ctx, warn_handler, NULL);
    GEOSContext_setErrorMessageHandler_r(idx->ctx, warn_handler, NULL);
    idx->polys = calloc(n ? n : 1, sizeof(struct poly));
    rd = GEOSWKBReader_create_r(idx->ctx);
    if (idx->polys == NULL || rd == NULL)
        goto fail;
    idx->bbox[0] = idx->bbox[1] = INFINITY;
    idx->bbox[2] = idx->bbox[3] = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        struct poly *p = &idx->polys[i];
        p->id = items[i].id;
        p->orig = i;
        idx->n = i + 1; /* so that fail: frees what was made */
        if (items[i].wkb == NULL || items[i].wkb_len == 0) {
            err = sg_errf(SG_INVAL, msg, msgn, "area %lld has no geometry", (long long)p->id);
            goto fail;
        }
        p->g = GEOSWKBReader_read_r(idx->ctx, rd, items[i].wkb, items[i].wkb_len);
        if (p->g == NULL) {
            err = sg_errf(SG_INVAL, msg, msgn, "area %lld: WKB does not parse", (long long)p->id);
            goto fail;
        }
        int t = GEOSGeomTypeId_r(idx->ctx, p->g);
        if (t != GEOS_POLYGON && t != GEOS_MULTIPOLYGON) {
            err = sg_errf(SG_INVAL, msg, msgn, "area %lld: not a polygon", (long long)p->id);
            goto fail;
        }
        if (GEOSisEmpty_r(idx->ctx, p->g) ||
            !GEOSGeom_getExtent_r(idx->ctx, p->g, &p->bbox[0], &p->bbox[1], &p->bbox[2],
                                  &p->bbox[3]) ||
            !isfinite(p->bbox[0]) || !isfinite(p->bbox[1]) || !isfinite(p->bbox[2]) ||
            !isfinite(p->bbox[3])) {
            err = sg_errf(SG_INVAL, msg, msgn, "area %lld: empty or non-finite geometry",
                          (long long)p->id);
            goto fail;
        }
        idx->bbox[0] = fmin(idx->bbox[0], p->bbox[0]);
        idx->bbox[1] = fmin(idx->bbox[1], p->bbox[1]);
        idx->bbox[2] = fmax(idx->bbox[2], p->bbox[2]);
        idx->bbox[3] = fmax(idx->bbox[3], p->bbox[3]);
    }
    GEOSWKBReader_destroy_r(idx->ctx, rd);
    rd = NULL;
    qsort(idx->polys, n, sizeof(struct poly), cmp_poly);

    idx->tree = GEOSSTRtree_create_r(idx->ctx, 10);
    if (idx->tree == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct poly *p = &idx->polys[i];
        p->pg = GEOSPrepare_r(idx->ctx, p->g);
        if (p->pg == NULL)
            goto fail;
        GEOSSTRtree_insert_r(idx->ctx, idx->tree, p->g, p);
        /* Force the lazily built point locator now, while no other thread can see it. */
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(idx->ctx, p->bbox[0], p->bbox[1]);
        if (pt == NULL)
            goto fail;
        GEOSPreparedCovers_r(idx->ctx, p->pg, pt);
        GEOSGeom_destroy_r(idx->ctx, pt);
    }
    idx->stats.n_polygons = n;
    if (n > 0) {
        long dummy;
        /* The first query builds the STRtree; do it here, not in a reader thread. */
        if (locate_tree(idx, idx->ctx, idx->bbox[0], idx->bbox[1], &dummy) != 0)
            goto fail;
        if (!opts->no_grid) {
            err = build_grid(idx, opts->grid_cells, msg, msgn);
            if (err) {
                grid_failed = 1;
                goto fail;
            }
        }
    }
    *out = idx;
    return SG_OK;
fail:
    if (rd != NULL)
        GEOSWKBReader_destroy_r(idx->ctx, rd);
    if (err == SG_NOMEM && !grid_failed)
        sg_errf(SG_NOMEM, msg, msgn, "out of memory (or GEOS failure) building the index");
    sg_geo_index_free(idx);
    return err;
}

void sg_geo_index_stats_get(const sg_geo_index *idx, sg_geo_index_stats *out)
{
    if (idx == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = idx->stats;
}

void sg_geo_index_free(sg_geo_index *idx)
{
    if (idx == NULL)
        return;
    if (idx->ctx != NULL) {
        if (idx->tree != NULL)
            GEOSSTRtree_destroy_r(idx->ctx, idx->tree);
        for (size_t i = 0; i < idx->n; i++) {
            if (idx->polys[i].pg != NULL)
                GEOSPreparedGeom_destroy_r(idx->ctx, idx->polys[i].pg);
            if (idx->polys[i].g != NULL)
                GEOSGeom_destroy_r(idx->ctx, idx->polys[i].g);
        }
        GEOS_finish_r(idx->ctx);
    }
    free(idx->polys);
    free(idx->cells);
    free(idx->cand_off);
    free(idx->cand);
    free(idx->sub);
    free(idx);
}
