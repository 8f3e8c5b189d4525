/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Patrol beats: K contiguous groups of areas with nearly equal workload. METIS does the hard
 * part (multilevel k-way partitioning with METIS_OPTION_CONTIG, the areas' workloads as
 * vertex weights, the edge cut as objective); METIS balances only from above (no part over
 * (1 + ufactor/1000) of the mean), and a beat far below the mean is as bad for patrol as one
 * above it, so a refinement follows. It moves one boundary area at a time from a heavier
 * beat to a lighter neighbouring beat, only when the difference of the two beats' workloads
 * exceeds the area's workload: then the sum of squared deviations from the mean falls
 * strictly (so the refinement ends), the heavier beat stays heavier than the lighter one was
 * (so the heaviest beat never gets heavier and the lightest never lighter), and moves that
 * shrink the part of the beats outside the tolerance are preferred, ties going to the move
 * that cuts fewest contiguity edges. A move that would split the beat it leaves is skipped
 * (a breadth-first search over the beat decides).
 *
 * Islands (areas with no neighbour) cannot join a beat by contiguity; each follows the area
 * nearest to it by centroid distance, whose weight in the partition carries the island's
 * workload, so that beats are balanced with their islands.
 */
#include "safegrid/patrol.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <geos_c.h>
#include <metis.h>

void sg_patrol_opts_init(sg_patrol_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tolerance = 0.05;
    o->metis_ufactor = 30;
    o->seed = -1;
    o->max_moves = 0;
    o->refine = 1;
}

void sg_patrol_plan_fini(sg_patrol_plan *p)
{
    if (p == NULL)
        return;
    free(p->beat);
    free(p->beats);
    memset(p, 0, sizeof *p);
}

void sg_patrol_metis_weights(const double *workload, size_t n, int32_t *out)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += workload[i];
    double scale = total > 0 ? 1e6 / total : 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (int32_t)llround(workload[i] * scale);
}

static void geos_quiet(const char *fmt, ...)
{
    (void)fmt;
}

/* ---- Polsby-Popper ------------------------------------------------------------------------ */

static sg_err union_pp(GEOSContextHandle_t gh, const unsigned char *const *wkb,
                       const size_t *wkb_len, const size_t *idx, size_t n, double *pp, double *area,
                       double *perim)
{
    sg_err err = SG_NOMEM;
    GEOSWKBReader *rd = GEOSWKBReader_create_r(gh);
    GEOSGeometry **parts = calloc(n ? n : 1, sizeof *parts);
    GEOSGeometry *coll = NULL, *u = NULL;
    size_t got = 0;
    if (rd == NULL || parts == NULL)
        goto done;
    err = SG_INVAL;
    for (size_t i = 0; i < n; i++) {
        size_t a = idx ? idx[i] : i;
        if (wkb[a] == NULL)
            goto done;
        parts[got] = GEOSWKBReader_read_r(gh, rd, wkb[a], wkb_len[a]);
        if (parts[got] == NULL)
            goto done;
        if (GEOSisEmpty_r(gh, parts[got]) == 1) /* nothing to add (us-atlas has three) */
            GEOSGeom_destroy_r(gh, parts[got]);
        else
            got++;
    }
    coll = GEOSGeom_createCollection_r(gh, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)got);
    if (coll == NULL)
        goto done;
    got = 0; /* the collection owns the parts now */
    u = GEOSUnaryUnion_r(gh, coll);
    if (u == NULL) {
        /* A topology error on invalid input: union the repaired polygons instead. */
        GEOSGeometry *valid = GEOSMakeValid_r(gh, coll);
        if (valid) {
            u = GEOSUnaryUnion_r(gh, valid);
            GEOSGeom_destroy_r(gh, valid);
        }
    }
    double a = 0, p = 0;
    if (u == NULL || GEOSArea_r(gh, u, &a) != 1 || GEOSLength_r(gh, u, &p) != 1 || !(a > 0) ||
        !(p > 0))
        goto done;
    *pp = 4 * M_PI * a / (p * p);
    if (area)
        *area = a;
    if (perim)
        *perim = p;
    err = SG_OK;
done:
    for (size_t i = 0; i < got; i++)
        GEOSGeom_destroy_r(gh, parts[i]);
    free(parts);
    if (coll)
        GEOSGeom_destroy_r(gh, coll);
    if (u)
        GEOSGeom_destroy_r(gh, u);
    if (rd)
        GEOSWKBReader_destroy_r(gh, rd);
    return err;
}

static GEOSContextHandle_t geos_open(void)
{
    GEOSContextHandle_t gh = GEOS_init_r();
    if (gh) {
        GEOSContext_setNoticeHandler_r(gh, geos_quiet);
        GEOSContext_setErrorHandler_r(gh, geos_quiet);
    }
    return gh;
}

sg_err sg_patrol_polsby_popper(const unsigned char *const *wkb, const size_t *wkb_len, size_t n,
                               double *out, double *area, double *perimeter)
{
    if (wkb == NULL || wkb_len == NULL || n == 0 || out == NULL)
        return SG_INVAL;
    GEOSContextHandle_t gh = geos_open();
    if (gh == NULL)
        return SG_NOMEM;
    double pp = 0;
    sg_err err = union_pp(gh, wkb, wkb_len, NULL, n, &pp, area, perimeter);
    GEOS_finish_r(gh);
    if (err == SG_OK)
        *out = pp;
    return err;
}

/* ---- METIS graph file --------------------------------------------------------------------- */

sg_err sg_patrol_write_metis_graph(const char *path, const sg_weights *adj, const double *workload,
                                   char *msg, size_t msg_len)
{
    if (path == NULL || adj == NULL || workload == NULL || adj->n == 0)
        return sg_errf(SG_INVAL, msg, msg_len, "no graph to write");
    int32_t *vw = malloc(adj->n * sizeof *vw);
    if (vw == NULL)
        return SG_NOMEM;
    sg_patrol_metis_weights(workload, adj->n, vw);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        free(vw);
        return sg_errf(SG_IO, msg, msg_len, "cannot write %s", path);
    }
    /* fmt 010: vertex weights, no edge weights. */
    fprintf(f, "%zu %zu 010\n", adj->n, adj->start[adj->n] / 2);
    for (size_t i = 0; i < adj->n; i++) {
        fprintf(f, "%ld", (long)vw[i]);
        for (size_t e = adj->start[i]; e < adj->start[i + 1]; e++)
            fprintf(f, " %zu", adj->nbr[e] + 1);
        fputc('\n', f);
    }
    free(vw);
    if (fclose(f) != 0)
        return sg_errf(SG_IO, msg, msg_len, "cannot write %s", path);
    return SG_OK;
}

/* ---- partition ---------------------------------------------------------------------------- */

/* The working graph: the non-island areas, renumbered 0..m-1, in compressed rows. */
typedef struct graph {
    size_t m;
    idx_t *xadj, *adjncy;
    size_t *area; /* m: the area of each vertex */
    double *w;    /* m: workload, islands included */
} graph;

typedef struct move {
    size_t v;
    unsigned to;
    double d_excess; /* change of the squared excess outside the tolerance (< 0 is better) */
    double d_var;    /* change of the sum of squared deviations (always < 0) */
    int gain;        /* cut edges removed by the move */
} move;

static int by_move(const void *x, const void *y)
{
    const move *a = x, *b = y;
    int ae = a->d_excess < 0, be = b->d_excess < 0;
    if (ae != be)
        return be - ae;
    if (a->gain != b->gain)
        return b->gain - a->gain;
    double da = ae ? a->d_excess : a->d_var, db = ae ? b->d_excess : b->d_var;
    if (da != db)
        return da < db ? -1 : 1;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return a->to < b->to ? -1 : a->to > b->to;
}

static double excess2(double load, double mean, double tol)
{
    double e = fabs(load - mean) - tol * mean;
    return e > 0 ? e * e : 0;
}

/* Whether the vertices of beat b (size of them) stay connected without vertex skip
 * (SIZE_MAX: none). queue and seen are scratch of g->m entries, seen all zero. */
static int beat_connected(const graph *g, const unsigned *part, unsigned b, size_t skip,
                          size_t size, size_t *queue, unsigned char *seen)
{
    size_t want = skip == SIZE_MAX ? size : size - 1;
    if (want <= 1)
        return 1;
    size_t start = SIZE_MAX;
    for (size_t v = 0; v < g->m && start == SIZE_MAX; v++)
        if (part[v] == b && v != skip)
            start = v;
    if (start == SIZE_MAX)
        return 0;
    size_t head = 0, tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    while (head < tail) {
        size_t v = queue[head++];
        for (idx_t e = g->xadj[v]; e < g->xadj[v + 1]; e++) {
            size_t u = (size_t)g->adjncy[e];
            if (!seen[u] && u != skip && part[u] == b) {
                seen[u] = 1;
                queue[tail++] = u;
            }
        }
    }
    for (size_t i = 0; i < tail; i++)
        seen[queue[i]] = 0;
    return tail == want;
}

/* Moves boundary vertices until every beat is within the tolerance or no move lowers the
 * spread; returns the number of moves. */
static size_t refine(const graph *g, unsigned k, unsigned *part, double tol, size_t max_moves,
                     int *nomem)
{
    size_t m = g->m, n_moves = 0;
    double *load = calloc(k, sizeof *load);
    size_t *size = calloc(k, sizeof *size);
    size_t *queue = malloc(m * sizeof *queue);
    unsigned char *seen = calloc(m, 1);
    size_t cap = (size_t)g->xadj[m] + 1;
    move *cand = malloc(cap * sizeof *cand);
    unsigned *nb_beat = malloc(k * sizeof *nb_beat);
    int *nb_count = calloc(k, sizeof *nb_count);
    if (!load || !size || !queue || !seen || !cand || !nb_beat || !nb_count) {
        *nomem = 1;
        goto done;
    }
    double total = 0;
    for (size_t v = 0; v < m; v++) {
        load[part[v]] += g->w[v];
        size[part[v]]++;
        total += g->w[v];
    }
    double mean = total / k;
    while (n_moves < max_moves) {
        int all_in = 1;
        for (unsigned b = 0; b < k; b++)
            all_in &= fabs(load[b] - mean) <= tol * mean;
        if (all_in)
            break;
        size_t nc = 0;
        for (size_t v = 0; v < m; v++) {
            unsigned a = part[v];
            if (!(g->w[v] > 0) || size[a] <= 1)
                continue;
            /* the beats around v and how many of v's neighbours each holds */
            size_t nn = 0;
            int own = 0;
            for (idx_t e = g->xadj[v]; e < g->xadj[v + 1]; e++) {
                unsigned b = part[g->adjncy[e]];
                if (b == a) {
                    own++;
                    continue;
                }
                if (nb_count[b]++ == 0)
                    nb_beat[nn++] = b;
            }
            for (size_t j = 0; j < nn; j++) {
                unsigned b = nb_beat[j];
                double w = g->w[v];
                if (load[a] - load[b] > w) {
                    move mv = {.v = v, .to = b, .gain = nb_count[b] - own};
                    mv.d_var = 2 * w * (w - (load[a] - load[b]));
                    mv.d_excess = excess2(load[a] - w, mean, tol) +
                                  excess2(load[b] + w, mean, tol) - excess2(load[a], mean, tol) -
                                  excess2(load[b], mean, tol);
                    if (nc < cap)
                        cand[nc++] = mv;
                }
                nb_count[b] = 0;
            }
        }
        if (nc == 0)
            break;
        qsort(cand, nc, sizeof *cand, by_move);
        int moved = 0;
        for (size_t c = 0; c < nc && !moved; c++) {
            size_t v = cand[c].v;
            unsigned a = part[v];
            if (!beat_connected(g, part, a, v, size[a], queue, seen))
                continue;
            part[v] = cand[c].to;
            load[a] -= g->w[v];
            load[cand[c].to] += g->w[v];
            size[a]--;
            size[cand[c].to]++;
            n_moves++;
            moved = 1;
        }
        if (!moved)
            break;
    }
done:
    free(load);
    free(size);
    free(queue);
    free(seen);
    free(cand);
    free(nb_beat);
    free(nb_count);
    return n_moves;
}

/* Connected components of the working graph: comp[v], returns how many. */
static size_t components(const graph *g, size_t *comp, size_t *queue)
{
    size_t nc = 0;
    for (size_t v = 0; v < g->m; v++)
        comp[v] = SIZE_MAX;
    for (size_t s = 0; s < g->m; s++) {
        if (comp[s] != SIZE_MAX)
            continue;
        size_t head = 0, tail = 0;
        queue[tail++] = s;
        comp[s] = nc;
        while (head < tail) {
            size_t v = queue[head++];
            for (idx_t e = g->xadj[v]; e < g->xadj[v + 1]; e++) {
                size_t u = (size_t)g->adjncy[e];
                if (comp[u] == SIZE_MAX) {
                    comp[u] = nc;
                    queue[tail++] = u;
                }
            }
        }
        nc++;
    }
    return nc;
}

/* Centroids of the areas from their WKB, where the caller gave none. */
static sg_err centroids(GEOSContextHandle_t gh, const sg_patrol_input *in, double *cx, double *cy,
                        char *msg, size_t msg_len)
{
    if (in->wkb == NULL || in->wkb_len == NULL)
        return sg_errf(SG_INVAL, msg, msg_len,
                       "areas without neighbours need centroids or polygons to be placed");
    GEOSWKBReader *rd = GEOSWKBReader_create_r(gh);
    if (rd == NULL)
        return SG_NOMEM;
    sg_err err = SG_OK;
    for (size_t i = 0; i < in->n && !err; i++) {
        GEOSGeometry *g =
            in->wkb[i] ? GEOSWKBReader_read_r(gh, rd, in->wkb[i], in->wkb_len[i]) : NULL;
        GEOSGeometry *c = g ? GEOSGetCentroid_r(gh, g) : NULL;
        if (c == NULL || GEOSGeomGetX_r(gh, c, &cx[i]) != 1 || GEOSGeomGetY_r(gh, c, &cy[i]) != 1)
            err = sg_errf(SG_INVAL, msg, msg_len, "area %zu: polygon unreadable or empty", i);
        if (c)
            GEOSGeom_destroy_r(gh, c);
        if (g)
            GEOSGeom_destroy_r(gh, g);
    }
    GEOSWKBReader_destroy_r(gh, rd);
    return err;
}

static sg_err check_input(const sg_patrol_input *in, const sg_patrol_opts *o, char *msg,
                          size_t msg_len)
{
    if (in == NULL || in->workload == NULL || in->adj == NULL || in->n == 0)
        return sg_errf(SG_INVAL, msg, msg_len, "no areas to partition");
    if (in->adj->n != in->n)
        return sg_errf(SG_INVAL, msg, msg_len, "the contiguity has %zu areas, the workload %zu",
                       in->adj->n, in->n);
    if (in->k == 0 || in->k > in->n)
        return sg_errf(SG_INVAL, msg, msg_len, "cannot make %u beats of %zu areas", in->k, in->n);
    if (!(o->tolerance > 0 && o->tolerance < 1) || o->metis_ufactor < 1)
        return sg_errf(SG_INVAL, msg, msg_len,
                       "tolerance must be in (0, 1) and ufactor at least 1");
    if (in->n > (size_t)INT32_MAX / 2 || in->adj->start[in->n] > (size_t)INT32_MAX)
        return sg_errf(SG_INVAL, msg, msg_len, "graph too large for METIS");
    for (size_t i = 0; i < in->n; i++) {
        if (!isfinite(in->workload[i]) || in->workload[i] < 0)
            return sg_errf(SG_INVAL, msg, msg_len,
                           "area %zu: workload %g is not a finite value >= 0", i, in->workload[i]);
        for (size_t e = in->adj->start[i]; e < in->adj->start[i + 1]; e++) {
            size_t j = in->adj->nbr[e];
            if (j >= in->n || j == i)
                return sg_errf(SG_INVAL, msg, msg_len,
                               "area %zu: neighbour %zu out of range or itself", i, j);
            int back = 0;
            for (size_t f = in->adj->start[j]; f < in->adj->start[j + 1] && !back; f++)
                back = in->adj->nbr[f] == i;
            if (!back)
                return sg_errf(SG_INVAL, msg, msg_len,
                               "contiguity not symmetric: %zu lists %zu but not back", i, j);
        }
    }
    return SG_OK;
}

sg_err sg_patrol_partition(const sg_patrol_input *in, const sg_patrol_opts *opts,
                           sg_patrol_plan *out, char *msg, size_t msg_len)
{
    sg_patrol_opts o;
    if (opts)
        o = *opts;
    else
        sg_patrol_opts_init(&o);
    if (out == NULL)
        return sg_errf(SG_INVAL, msg, msg_len, "no plan to fill");
    sg_err err = check_input(in, &o, msg, msg_len);
    if (err)
        return err;
    size_t n = in->n;
    unsigned k = in->k;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += in->workload[i];
    if (!(total > 0))
        return sg_errf(SG_INVAL, msg, msg_len, "every area has zero workload: nothing to balance");

    sg_patrol_plan p = {.n = n, .k = k, .feasible = 1};
    graph g = {0};
    size_t *vid = NULL, *anchor = NULL, *comp = NULL, *queue = NULL;
    double *cx = NULL, *cy = NULL;
    idx_t *vw = NULL, *mpart = NULL;
    unsigned *part = NULL;
    int32_t *w32 = NULL;
    GEOSContextHandle_t gh = NULL;
    err = SG_NOMEM;
    p.beat = calloc(n, sizeof *p.beat);
    p.beats = calloc(k, sizeof *p.beats);
    vid = malloc(n * sizeof *vid);
    anchor = malloc(n * sizeof *anchor);
    queue = malloc(n * sizeof *queue);
    if (!p.beat || !p.beats || !vid || !anchor || !queue)
        goto fail;
    gh = geos_open();
    if (gh == NULL)
        goto fail;

    /* Vertices are the areas with neighbours (with attach_groups: those of the largest
     * group of areas joined by contiguity); each island, and each smaller group as a whole,
     * is anchored to the nearest vertex by centroid distance. */
    size_t *acomp = malloc(n * sizeof *acomp), *csize = calloc(n, sizeof *csize);
    if (acomp == NULL || csize == NULL) {
        free(acomp);
        free(csize);
        goto fail;
    }
    size_t main_comp = 0;
    if (o.attach_groups) {
        for (size_t i = 0; i < n; i++)
            acomp[i] = SIZE_MAX;
        size_t nca = 0;
        for (size_t s0 = 0; s0 < n; s0++) {
            if (acomp[s0] != SIZE_MAX)
                continue;
            size_t head = 0, tail = 0;
            queue[tail++] = s0;
            acomp[s0] = nca;
            while (head < tail) {
                size_t v = queue[head++];
                csize[nca]++;
                for (size_t e = in->adj->start[v]; e < in->adj->start[v + 1]; e++)
                    if (acomp[in->adj->nbr[e]] == SIZE_MAX) {
                        acomp[in->adj->nbr[e]] = nca;
                        queue[tail++] = in->adj->nbr[e];
                    }
            }
            nca++;
        }
        for (size_t c = 1; c < nca; c++)
            main_comp = csize[c] > csize[main_comp] ? c : main_comp;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int island = in->adj->start[i + 1] == in->adj->start[i] ||
                     (o.attach_groups && acomp[i] != main_comp);
        vid[i] = island ? SIZE_MAX : m;
        m += !island;
        p.n_islands += island;
    }
    if (m == 0) {
        err =
            sg_errf(SG_INVAL, msg, msg_len, "no two areas touch: contiguous beats cannot be drawn");
        free(acomp);
        free(csize);
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        anchor[i] = i;
    if (p.n_islands) {
        const double *px = in->cx, *py = in->cy;
        if (px == NULL || py == NULL) {
            cx = malloc(n * sizeof *cx);
            cy = malloc(n * sizeof *cy);
            err = cx && cy ? centroids(gh, in, cx, cy, msg, msg_len) : SG_NOMEM;
            if (err) {
                free(acomp);
                free(csize);
                goto fail;
            }
            err = SG_NOMEM;
            px = cx;
            py = cy;
        }
        double *dist = malloc(n * sizeof *dist);
        size_t *best_of = malloc(n * sizeof *best_of);
        if (dist == NULL || best_of == NULL) {
            free(dist);
            free(best_of);
            free(acomp);
            free(csize);
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            dist[i] = INFINITY;
            best_of[i] = SIZE_MAX;
            if (vid[i] != SIZE_MAX)
                continue;
            for (size_t j = 0; j < n; j++) {
                double d = hypot(px[i] - px[j], py[i] - py[j]);
                if (vid[j] != SIZE_MAX && d < dist[i]) {
                    dist[i] = d;
                    anchor[i] = j;
                }
            }
        }
        if (o.attach_groups) {
            /* A group follows the anchor of its member nearest to the main group. */
            for (size_t i = 0; i < n; i++)
                if (vid[i] == SIZE_MAX) {
                    size_t c = acomp[i];
                    if (best_of[c] == SIZE_MAX || dist[i] < dist[best_of[c]])
                        best_of[c] = i;
                }
            for (size_t i = 0; i < n; i++)
                if (vid[i] == SIZE_MAX)
                    anchor[i] = anchor[best_of[acomp[i]]];
        }
        free(dist);
        free(best_of);
    }
    free(acomp);
    free(csize);

    g.m = m;
    g.xadj = malloc((m + 1) * sizeof *g.xadj);
    g.adjncy = malloc((in->adj->start[n] + 1) * sizeof *g.adjncy);
    g.area = malloc(m * sizeof *g.area);
    g.w = calloc(m, sizeof *g.w);
    vw = malloc(m * sizeof *vw);
    mpart = malloc(m * sizeof *mpart);
    part = malloc(m * sizeof *part);
    w32 = malloc(m * sizeof *w32);
    comp = malloc(m * sizeof *comp);
    if (!g.xadj || !g.adjncy || !g.area || !g.w || !vw || !mpart || !part || !w32 || !comp)
        goto fail;
    size_t ne = 0;
    g.xadj[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (vid[i] == SIZE_MAX) {
            g.w[vid[anchor[i]]] += in->workload[i];
            continue;
        }
        size_t v = vid[i];
        g.area[v] = i;
        g.w[v] += in->workload[i];
        for (size_t e = in->adj->start[i]; e < in->adj->start[i + 1]; e++)
            g.adjncy[ne++] = (idx_t)vid[in->adj->nbr[e]];
        g.xadj[v + 1] = (idx_t)ne;
    }
    sg_patrol_metis_weights(g.w, m, w32);
    for (size_t v = 0; v < m; v++)
        vw[v] = w32[v];

    double mean = total / k;
    size_t nc = components(&g, comp, queue);
    if (nc > 1) {
        size_t other = 0;
        for (size_t v = 0; v < m && other == 0; v++)
            other = comp[v] != comp[0] ? v : 0;
        p.feasible = 0;
        snprintf(p.reason, sizeof p.reason,
                 "the areas form %zu separate groups (no chain of neighbours joins areas %zu and "
                 "%zu), so contiguous beats cannot cover them",
                 nc, g.area[0], g.area[other]);
    }
    if (k > m) {
        p.feasible = 0;
        snprintf(p.reason, sizeof p.reason,
                 "%u beats need at least %u areas with neighbours; there are %zu", k, k, m);
    }
    for (size_t v = 0; v < m && p.feasible; v++)
        if (g.w[v] > (1 + o.tolerance) * mean) {
            p.feasible = 0;
            snprintf(p.reason, sizeof p.reason,
                     "area %zu alone has workload %.6g, above the upper bound %.6g (mean %.6g "
                     "+%.0f %%)",
                     g.area[v], g.w[v], (1 + o.tolerance) * mean, mean, o.tolerance * 100);
        }

    if (k == 1 || m < k) {
        for (size_t v = 0; v < m; v++)
            part[v] = (unsigned)(v < k ? v : 0) * (k > 1);
    } else {
        idx_t nv = (idx_t)m, ncon = 1, np = (idx_t)k, cut = 0;
        idx_t mo[METIS_NOPTIONS];
        METIS_SetDefaultOptions(mo);
        mo[METIS_OPTION_NUMBERING] = 0;
        mo[METIS_OPTION_CONTIG] = nc == 1;
        mo[METIS_OPTION_UFACTOR] = o.metis_ufactor;
        if (o.seed >= 0)
            mo[METIS_OPTION_SEED] = o.seed;
        int rc = METIS_PartGraphKway(&nv, &ncon, g.xadj, g.adjncy, vw, NULL, NULL, &np, NULL, NULL,
                                     mo, &cut, mpart);
        if (rc != METIS_OK) {
            err = sg_errf(rc == METIS_ERROR_MEMORY ? SG_NOMEM : SG_IO, msg, msg_len,
                          "METIS failed (code %d)", rc);
            goto fail;
        }
        for (size_t v = 0; v < m; v++)
            part[v] = (unsigned)mpart[v];
    }

    /* METIS's figures, then the refinement. */
    double *load = calloc(k, sizeof *load);
    if (load == NULL)
        goto fail;
    for (size_t v = 0; v < m; v++)
        load[part[v]] += g.w[v];
    double mx = 0;
    for (unsigned b = 0; b < k; b++)
        mx = load[b] > mx ? load[b] : mx;
    p.metis_imbalance = mx / mean;
    for (size_t v = 0; v < m; v++)
        for (idx_t e = g.xadj[v]; e < g.xadj[v + 1]; e++)
            p.metis_edge_cut += (size_t)g.adjncy[e] > v && part[g.adjncy[e]] != part[v];
    free(load);
    if (o.refine && k > 1 && nc == 1 && m >= k) {
        int nomem = 0;
        p.n_moves = refine(&g, k, part, o.tolerance, o.max_moves ? o.max_moves : 20 * n, &nomem);
        if (nomem)
            goto fail;
    }
    for (size_t i = 0; i < n; i++)
        p.beat[i] = part[vid[anchor[i]]];

    /* Figures per beat. */
    for (size_t v = 0; v < m; v++)
        for (idx_t e = g.xadj[v]; e < g.xadj[v + 1]; e++)
            p.edge_cut += (size_t)g.adjncy[e] > v && part[g.adjncy[e]] != part[v];
    for (size_t i = 0; i < n; i++) {
        p.beats[p.beat[i]].workload += in->workload[i];
        p.beats[p.beat[i]].n_areas++;
    }
    p.imbalance = 0;
    p.min_share = INFINITY;
    unsigned char *seen = calloc(m, 1);
    size_t *idx = malloc(n * sizeof *idx);
    if (seen == NULL || idx == NULL) {
        free(seen);
        free(idx);
        goto fail;
    }
    for (unsigned b = 0; b < k; b++) {
        sg_patrol_beat *bt = &p.beats[b];
        bt->share = bt->workload / mean;
        p.imbalance = bt->share > p.imbalance ? bt->share : p.imbalance;
        p.min_share = bt->share < p.min_share ? bt->share : p.min_share;
        size_t size = 0;
        for (size_t v = 0; v < m; v++)
            size += part[v] == b;
        bt->contiguous = size > 0 && beat_connected(&g, part, b, SIZE_MAX, size, queue, seen);
        bt->area = bt->perimeter = bt->polsby_popper = NAN;
        if (in->wkb && in->wkb_len && bt->n_areas) {
            size_t ni = 0;
            for (size_t i = 0; i < n; i++)
                if (p.beat[i] == b)
                    idx[ni++] = i;
            err = union_pp(gh, in->wkb, in->wkb_len, idx, ni, &bt->polsby_popper, &bt->area,
                           &bt->perimeter);
            if (err) {
                sg_errf(err, msg, msg_len, "beat %u: the union of its polygons failed (%s)", b,
                        sg_strerror(err));
                free(seen);
                free(idx);
                goto fail;
            }
            err = SG_NOMEM;
        }
        if (p.feasible && size == 0) {
            p.feasible = 0;
            snprintf(p.reason, sizeof p.reason, "beat %u has no area", b);
        }
        if (p.feasible && !bt->contiguous) {
            p.feasible = 0;
            snprintf(p.reason, sizeof p.reason, "beat %u is not contiguous", b);
        }
    }
    free(seen);
    free(idx);
    for (unsigned b = 0; b < k && p.feasible; b++)
        if (fabs(p.beats[b].share - 1) > o.tolerance + 1e-12) {
            p.feasible = 0;
            snprintf(p.reason, sizeof p.reason,
                     "beat %u has %.1f %% of the mean workload, outside +-%.0f %%, and no move of "
                     "a boundary area that keeps the beats contiguous brings it closer",
                     b, 100 * p.beats[b].share, 100 * o.tolerance);
        }
    *out = p;
    p.beat = NULL;
    p.beats = NULL;
    err = SG_OK;
fail:
    free(p.beat);
    free(p.beats);
    free(vid);
    free(anchor);
    free(comp);
    free(queue);
    free(cx);
    free(cy);
    free(vw);
    free(mpart);
    free(part);
    free(w32);
    free(g.xadj);
    free(g.adjncy);
    free(g.area);
    free(g.w);
    if (gh)
        GEOS_finish_r(gh);
    if (err == SG_NOMEM)
        sg_errf(err, msg, msg_len, "out of memory");
    return err;
}
