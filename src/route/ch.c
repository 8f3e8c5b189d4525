/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Query time of road routing: the .sgr file memory-mapped read-only, checked once on open
 * (header, BLAKE2b checksum, every index in range) so that queries can trust it, and the
 * searches over the contraction hierarchy.
 *
 * Point to point is the classic bidirectional upward search with stall-on-demand, and the
 * path is unpacked through the shortcut halves stored in the file. One-to-many, many-to-one
 * and tables use the restricted PHAST sweep (Delling et al., "Faster Batched Shortest Paths
 * in Road Networks", 2011): one upward search from the single end, then one pass over only
 * those nodes that lie above the many ends, in descending rank. Nodes are numbered by rank,
 * so the pass walks the arrays downwards; the nodes to visit are collected in a two-level
 * bitmap, which yields them in rank order without sorting. Dispatch asks for times from N
 * units to one incident: that is the same sweep run on the reverse lists.
 *
 * All query state lives in a per-thread sg_route_ws; stamps make resetting it O(1).
 */
#include "safegrid/route.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "route_int.h"

#define INF UINT32_MAX
#define EARTH_R 6371008.8

struct sg_route {
    void *map;
    size_t size;
    const sgr_header *h;
    uint32_t n, n_segs;
    const sgr_pos *pos;
    const uint32_t *nodeseg;
    const uint32_t *first[2]; /* 0 = FWD, 1 = BWD */
    const sgr_edge *ed[2];
    const sgr_aux *ax[2];
    const sgr_seg *seg;
    const uint32_t *gfirst, *gsegs;
    uint32_t core; /* nodes >= core are swept whole by every batched query */
};

typedef struct qitem {
    uint32_t key, v;
} qitem;

typedef struct pqueue {
    qitem *a;
    size_t n, cap;
} pqueue;

struct sg_route_ws {
    const sg_route *r;
    uint32_t *dist[2], *stamp[2], cur[2];
    uint32_t *touched[2]; /* nodes reached by the current search of each direction */
    size_t n_touched[2];
    uint32_t *pnode[2], *pedge[2];
    pqueue q[2];
    uint64_t *bits, *sum;
    uint32_t *sd;
    uint32_t *stack, *order;
    size_t n_order;
};

typedef struct seed {
    uint32_t v, off;
} seed;

/* ---------------------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------------------- */

static int sec_ok(const sgr_header *h, int s, uint64_t want)
{
    return h->sec[s].off % 8 == 0 && h->sec[s].off >= sizeof(*h) && h->sec[s].off <= h->file_size &&
           h->sec[s].size == want && h->sec[s].size <= h->file_size - h->sec[s].off;
}

static sg_err check_csr(const uint32_t *first, uint32_t n, uint32_t m)
{
    if (first[0] != 0 || first[n] != m)
        return SG_CORRUPT;
    for (uint32_t v = 0; v < n; v++)
        if (first[v] > first[v + 1])
            return SG_CORRUPT;
    return SG_OK;
}

static sg_err validate(const sg_route *r)
{
    const sgr_header *h = r->h;
    uint32_t m[2] = {h->n_fwd, h->n_bwd};
    for (int d = 0; d < 2; d++)
        if (check_csr(r->first[d], r->n, m[d]))
            return SG_CORRUPT;
    for (int d = 0; d < 2; d++) {
        for (uint32_t v = 0; v < r->n; v++) {
            for (uint32_t i = r->first[d][v]; i < r->first[d][v + 1]; i++) {
                uint32_t to = r->ed[d][i].to;
                if (to >= r->n || to <= v)
                    return SG_CORRUPT; /* upward edges only: the sweep depends on it */
                sgr_aux a = r->ax[d][i];
                if (a.mid == SGR_NONE)
                    continue;
                if (a.mid >= v || a.first < r->first[1][a.mid] ||
                    a.first >= r->first[1][a.mid + 1] || a.second < r->first[0][a.mid] ||
                    a.second >= r->first[0][a.mid + 1])
                    return SG_CORRUPT; /* halves must hang below, so unpacking ends */
            }
        }
    }
    for (uint32_t s = 0; s < r->n_segs; s++) {
        sgr_seg g = r->seg[s];
        if (g.a >= r->n || g.b >= r->n || g.a == g.b || (g.ms_ab == INF && g.ms_ba == INF))
            return SG_CORRUPT;
    }
    for (uint32_t v = 0; v < r->n; v++)
        if (r->nodeseg[v] != SGR_NONE && r->nodeseg[v] >= r->n_segs)
            return SG_CORRUPT;
    size_t ncell = (size_t)h->grid_nx * h->grid_ny;
    if (check_csr(r->gfirst, (uint32_t)ncell, (uint32_t)(h->sec[SGR_SEC_GRID_SEG].size / 4)))
        return SG_CORRUPT;
    for (uint32_t i = 0; i < r->gfirst[ncell]; i++)
        if (r->gsegs[i] >= r->n_segs)
            return SG_CORRUPT;
    return SG_OK;
}

sg_err sg_route_open(const char *path, sg_route **out, char *msg, size_t n)
{
    if (path == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, n, "no path");
    if (sodium_init() < 0)
        return sg_errf(SG_NOMEM, msg, n, "libsodium failed to initialise");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    }
    if ((uint64_t)st.st_size < sizeof(sgr_header)) {
        close(fd);
        return sg_errf(SG_CORRUPT, msg, n, "%s: truncated (%lld bytes, shorter than the header)",
                       path, (long long)st.st_size);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return sg_errf(SG_IO, msg, n, "%s: mmap: %s", path, strerror(errno));
    sg_route *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        munmap(map, (size_t)st.st_size);
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    }
    r->map = map;
    r->size = (size_t)st.st_size;
    const sgr_header *h = map;
    r->h = h;
    sg_err err = SG_CORRUPT;
    const char *why = NULL;
    if (memcmp(h->magic, SGR_MAGIC, sizeof(SGR_MAGIC)) != 0) {
        why = "not a safegrid route file (bad magic)";
        goto fail;
    }
    if (h->endian != SGR_ENDIAN) {
        err = SG_UNSUPPORTED;
        why = "written on a machine of the other byte order";
        goto fail;
    }
    if (h->version != SGR_VERSION) {
        err = SG_UNSUPPORTED;
        sg_errf(err, msg, n, "%s: format version %u, this program reads version %u; rebuild it",
                path, h->version, SGR_VERSION);
        goto fail_msg;
    }
    if (h->header_size != sizeof(*h) || h->n_sections != SGR_N_SEC) {
        why = "header size or section count does not match its version";
        goto fail;
    }
    if (h->file_size != (uint64_t)st.st_size) {
        sg_errf(err, msg, n, "%s: %s (%lld bytes, header says %llu)", path,
                h->file_size > (uint64_t)st.st_size ? "truncated" : "trailing bytes",
                (long long)st.st_size, (unsigned long long)h->file_size);
        goto fail_msg;
    }
    uint64_t nn = h->n_nodes;
    uint64_t ncell = (uint64_t)h->grid_nx * h->grid_ny;
    if (nn == 0 || nn >= INF || h->grid_nx == 0 || h->grid_ny == 0 || ncell > (1u << 26) ||
        !(h->grid_dlon > 0) || !(h->grid_dlat > 0) || !isfinite(h->grid_lon0) ||
        !isfinite(h->grid_lat0) || !isfinite(h->grid_dlon) || !isfinite(h->grid_dlat)) {
        why = "header counts are out of range";
        goto fail;
    }
    if (!sec_ok(h, SGR_SEC_NODE_POS, nn * sizeof(sgr_pos)) ||
        !sec_ok(h, SGR_SEC_NODE_SEG, nn * 4) || !sec_ok(h, SGR_SEC_FWD_FIRST, (nn + 1) * 4) ||
        !sec_ok(h, SGR_SEC_FWD_EDGE, (uint64_t)h->n_fwd * sizeof(sgr_edge)) ||
        !sec_ok(h, SGR_SEC_FWD_AUX, (uint64_t)h->n_fwd * sizeof(sgr_aux)) ||
        !sec_ok(h, SGR_SEC_BWD_FIRST, (nn + 1) * 4) ||
        !sec_ok(h, SGR_SEC_BWD_EDGE, (uint64_t)h->n_bwd * sizeof(sgr_edge)) ||
        !sec_ok(h, SGR_SEC_BWD_AUX, (uint64_t)h->n_bwd * sizeof(sgr_aux)) ||
        !sec_ok(h, SGR_SEC_SEG, (uint64_t)h->n_segs * sizeof(sgr_seg)) ||
        !sec_ok(h, SGR_SEC_GRID_FIRST, (ncell + 1) * 4) ||
        !sec_ok(h, SGR_SEC_GRID_SEG, h->sec[SGR_SEC_GRID_SEG].size) ||
        h->sec[SGR_SEC_GRID_SEG].size % 4) {
        why = "section table is inconsistent";
        goto fail;
    }
    {
        sgr_header copy = *h;
        memset(copy.checksum, 0, sizeof(copy.checksum));
        crypto_generichash_state hs;
        uint8_t sum[32];
        crypto_generichash_init(&hs, NULL, 0, sizeof(sum));
        crypto_generichash_update(&hs, (const uint8_t *)&copy, sizeof(copy));
        crypto_generichash_update(&hs, (const uint8_t *)map + sizeof(copy), r->size - sizeof(copy));
        crypto_generichash_final(&hs, sum, sizeof(sum));
        if (sodium_memcmp(sum, h->checksum, sizeof(sum)) != 0) {
            why = "checksum mismatch (the file is corrupt)";
            goto fail;
        }
    }
    const uint8_t *b = map;
    r->n = h->n_nodes;
    r->n_segs = h->n_segs;
    r->pos = (const sgr_pos *)(b + h->sec[SGR_SEC_NODE_POS].off);
    r->nodeseg = (const uint32_t *)(b + h->sec[SGR_SEC_NODE_SEG].off);
    r->first[0] = (const uint32_t *)(b + h->sec[SGR_SEC_FWD_FIRST].off);
    r->ed[0] = (const sgr_edge *)(b + h->sec[SGR_SEC_FWD_EDGE].off);
    r->ax[0] = (const sgr_aux *)(b + h->sec[SGR_SEC_FWD_AUX].off);
    r->first[1] = (const uint32_t *)(b + h->sec[SGR_SEC_BWD_FIRST].off);
    r->ed[1] = (const sgr_edge *)(b + h->sec[SGR_SEC_BWD_EDGE].off);
    r->ax[1] = (const sgr_aux *)(b + h->sec[SGR_SEC_BWD_AUX].off);
    r->seg = (const sgr_seg *)(b + h->sec[SGR_SEC_SEG].off);
    r->gfirst = (const uint32_t *)(b + h->sec[SGR_SEC_GRID_FIRST].off);
    r->gsegs = (const uint32_t *)(b + h->sec[SGR_SEC_GRID_SEG].off);
    {
        /* about the nodes that nearly every selection reaches; SG_ROUTE_CORE overrides it
         * for experiments (see docs/internals/ch.md) */
        const char *env = getenv("SG_ROUTE_CORE");
        uint32_t k = r->n / 32 < 2048 ? r->n / 32 : 2048;
        if (env)
            k = (uint32_t)strtoul(env, NULL, 10);
        r->core = k >= r->n ? 0 : r->n - k;
    }
    if (validate(r)) {
        why = "an index points outside its table";
        goto fail;
    }
    *out = r;
    return SG_OK;
fail:
    sg_errf(err, msg, n, "%s: %s", path, why);
fail_msg:
    munmap(map, r->size);
    free(r);
    return err;
}

void sg_route_close(sg_route *r)
{
    if (r == NULL)
        return;
    munmap(r->map, r->size);
    free(r);
}

uint32_t sg_route_n_nodes(const sg_route *r)
{
    return r ? r->n : 0;
}

uint32_t sg_route_n_segments(const sg_route *r)
{
    return r ? r->n_segs : 0;
}

sg_err sg_route_node_pos(const sg_route *r, uint32_t v, double *lon, double *lat)
{
    if (r == NULL || v >= r->n)
        return SG_INVAL;
    if (lon)
        *lon = r->pos[v].lon / SGR_COORD_SCALE;
    if (lat)
        *lat = r->pos[v].lat / SGR_COORD_SCALE;
    return SG_OK;
}

sg_err sg_route_segment(const sg_route *r, uint32_t s, uint32_t *a, uint32_t *b, uint32_t *ms_ab,
                        uint32_t *ms_ba, double *length_m)
{
    if (r == NULL || s >= r->n_segs)
        return SG_INVAL;
    sgr_seg g = r->seg[s];
    if (a)
        *a = g.a;
    if (b)
        *b = g.b;
    if (ms_ab)
        *ms_ab = g.ms_ab;
    if (ms_ba)
        *ms_ba = g.ms_ba;
    if (length_m)
        *length_m = g.m;
    return SG_OK;
}

/* ---------------------------------------------------------------------------------------
 * Workspace
 * ------------------------------------------------------------------------------------- */

void sg_route_ws_free(sg_route_ws *ws)
{
    if (ws == NULL)
        return;
    for (int d = 0; d < 2; d++) {
        free(ws->dist[d]);
        free(ws->stamp[d]);
        free(ws->pnode[d]);
        free(ws->pedge[d]);
        free(ws->touched[d]);
        free(ws->q[d].a);
    }
    free(ws->bits);
    free(ws->sum);
    free(ws->sd);
    free(ws->stack);
    free(ws->order);
    free(ws);
}

sg_err sg_route_ws_new(const sg_route *r, sg_route_ws **out)
{
    if (r == NULL || out == NULL)
        return SG_INVAL;
    sg_route_ws *ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return SG_NOMEM;
    ws->r = r;
    size_t n = r->n, words = (n + 63) / 64;
    int ok = 1;
    for (int d = 0; d < 2; d++) {
        ws->dist[d] = malloc(n * sizeof(uint32_t));
        ws->stamp[d] = calloc(n, sizeof(uint32_t));
        ws->pnode[d] = malloc(n * sizeof(uint32_t));
        ws->pedge[d] = malloc(n * sizeof(uint32_t));
        ws->touched[d] = malloc(n * sizeof(uint32_t));
        ok = ok && ws->dist[d] && ws->stamp[d] && ws->pnode[d] && ws->pedge[d] && ws->touched[d];
    }
    ws->bits = calloc(words, sizeof(uint64_t));
    ws->sum = calloc((words + 63) / 64, sizeof(uint64_t));
    ws->sd = malloc(n * sizeof(uint32_t));
    ws->stack = malloc(n * sizeof(uint32_t));
    ws->order = malloc(n * sizeof(uint32_t));
    if (!ok || !ws->bits || !ws->sum || !ws->sd || !ws->stack || !ws->order) {
        sg_route_ws_free(ws);
        return SG_NOMEM;
    }
    *out = ws;
    return SG_OK;
}

static int pq_push(pqueue *q, uint32_t key, uint32_t v)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 1024;
        qitem *na = realloc(q->a, nc * sizeof(*na));
        if (na == NULL)
            return -1;
        q->a = na;
        q->cap = nc;
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (q->a[p].key <= key)
            break;
        q->a[i] = q->a[p];
        i = p;
    }
    q->a[i] = (qitem){key, v};
    return 0;
}

static qitem pq_pop(pqueue *q)
{
    qitem top = q->a[0], last = q->a[--q->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= q->n)
            break;
        if (l + 1 < q->n && q->a[l + 1].key < q->a[l].key)
            l++;
        if (q->a[l].key >= last.key)
            break;
        q->a[i] = q->a[l];
        i = l;
    }
    if (q->n)
        q->a[i] = last;
    return top;
}

static void new_round(sg_route_ws *ws, int d)
{
    if (++ws->cur[d] == 0) {
        memset(ws->stamp[d], 0, ws->r->n * sizeof(uint32_t));
        ws->cur[d] = 1;
    }
    ws->q[d].n = 0;
    ws->n_touched[d] = 0;
}

static uint32_t getd(const sg_route_ws *ws, int d, uint32_t v)
{
    return ws->stamp[d][v] == ws->cur[d] ? ws->dist[d][v] : INF;
}

static int setd(sg_route_ws *ws, int d, uint32_t v, uint32_t dist, uint32_t pn, uint32_t pe)
{
    if (ws->stamp[d][v] != ws->cur[d])
        ws->touched[d][ws->n_touched[d]++] = v;
    ws->stamp[d][v] = ws->cur[d];
    ws->dist[d][v] = dist;
    ws->pnode[d][v] = pn;
    ws->pedge[d][v] = pe;
    return pq_push(&ws->q[d], dist, v);
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    uint64_t s = (uint64_t)a + b;
    return s >= INF ? INF - 1 : (uint32_t)s;
}

/* Starts a search in direction d from the seeds. */
static int start(sg_route_ws *ws, int d, const seed *s, size_t ns)
{
    new_round(ws, d);
    for (size_t i = 0; i < ns; i++)
        if (s[i].off < getd(ws, d, s[i].v) && setd(ws, d, s[i].v, s[i].off, INF, INF))
            return -1;
    return 0;
}

/* Settles the next node of direction d (with stall-on-demand). Returns 1 and sets *u and
 * *key when a node was settled, 0 when the queue is empty, -1 when memory ran out. */
static int step(sg_route_ws *ws, int d, uint32_t *u_out, uint32_t *key_out)
{
    const sg_route *r = ws->r;
    while (ws->q[d].n) {
        qitem it = pq_pop(&ws->q[d]);
        uint32_t u = it.v;
        if (it.key != getd(ws, d, u))
            continue;
        /* stall: a higher node reaches u faster through an edge of the other list */
        const int o = 1 - d;
        int stalled = 0;
        for (uint32_t i = r->first[o][u]; i < r->first[o][u + 1]; i++) {
            uint32_t dx = getd(ws, d, r->ed[o][i].to);
            if (dx != INF && sat_add(dx, r->ed[o][i].ms) < it.key) {
                stalled = 1;
                break;
            }
        }
        if (!stalled) {
            for (uint32_t i = r->first[d][u]; i < r->first[d][u + 1]; i++) {
                uint32_t x = r->ed[d][i].to;
                uint32_t nd = sat_add(it.key, r->ed[d][i].ms);
                if (nd < getd(ws, d, x) && setd(ws, d, x, nd, u, i))
                    return -1;
            }
        }
        *u_out = u;
        *key_out = it.key;
        return 1;
    }
    return 0;
}

/* Bidirectional search between seed sets. *best gets the time (INF if none) and *meet the
 * node where the two searches meet. */
static sg_err p2p(sg_route_ws *ws, const seed *s, size_t ns, const seed *t, size_t nt,
                  uint32_t *best_out, uint32_t *meet)
{
    if (start(ws, 0, s, ns) || start(ws, 1, t, nt))
        return SG_NOMEM;
    uint32_t best = INF, m = INF;
    int done[2] = {0, 0};
    while (!done[0] || !done[1]) {
        for (int d = 0; d < 2; d++) {
            if (done[d])
                continue;
            if (ws->q[d].n == 0 || ws->q[d].a[0].key >= best) {
                done[d] = 1;
                continue;
            }
            uint32_t u, key;
            int rc = step(ws, d, &u, &key);
            if (rc < 0)
                return SG_NOMEM;
            if (rc == 0) {
                done[d] = 1;
                continue;
            }
            uint32_t other = getd(ws, 1 - d, u);
            if (other != INF && sat_add(key, other) < best) {
                best = sat_add(key, other);
                m = u;
            }
        }
    }
    *best_out = best;
    *meet = m;
    return SG_OK;
}

/* ---------------------------------------------------------------------------------------
 * Path unpacking
 * ------------------------------------------------------------------------------------- */

typedef struct nodelist {
    uint32_t *v;
    size_t n, cap;
    double m;
} nodelist;

static int nl_push(nodelist *l, uint32_t v)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        uint32_t *nv = realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = v;
    return 0;
}

/* Appends the head nodes of the road edges that make up edge idx of list d owned by
 * `owner`. Depth is bounded: every half hangs below its shortcut (checked on open). */
static int unpack(const sg_route *r, int d, uint32_t owner, uint32_t idx, nodelist *out)
{
    sgr_aux a = r->ax[d][idx];
    if (a.mid == SGR_NONE) {
        out->m += a.m;
        return nl_push(out, d == 0 ? r->ed[d][idx].to : owner);
    }
    if (unpack(r, 1, a.mid, a.first, out))
        return -1;
    return unpack(r, 0, a.mid, a.second, out);
}

/* The node path from the forward seed to the backward seed through meet. */
static int build_path(sg_route_ws *ws, uint32_t meet, nodelist *out)
{
    const sg_route *r = ws->r;
    /* forward half: collect the parent chain, then unpack it from the seed on */
    size_t depth = 0;
    for (uint32_t v = meet; ws->pnode[0][v] != INF; v = ws->pnode[0][v])
        ws->stack[depth++] = v;
    uint32_t s = meet;
    while (ws->pnode[0][s] != INF)
        s = ws->pnode[0][s];
    if (nl_push(out, s))
        return -1;
    while (depth) {
        uint32_t v = ws->stack[--depth];
        if (unpack(r, 0, ws->pnode[0][v], ws->pedge[0][v], out))
            return -1;
    }
    /* backward half: edges x->u with u = parent, walked from meet to the target seed */
    for (uint32_t v = meet; ws->pnode[1][v] != INF; v = ws->pnode[1][v])
        if (unpack(r, 1, ws->pnode[1][v], ws->pedge[1][v], out))
            return -1;
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Locations
 * ------------------------------------------------------------------------------------- */

static uint32_t part(double f, uint32_t ms)
{
    double v = f * ms;
    return v <= 0 ? 0 : (uint32_t)lrint(v);
}

/* Seeds for leaving loc (dir 0) or arriving at it (dir 1). */
static size_t loc_seeds(const sg_route *r, const sg_route_loc *l, int dir, seed *out)
{
    sgr_seg g = r->seg[l->seg];
    double f = l->frac;
    size_t n = 0;
    if (dir == 0) {
        if (g.ms_ab != INF || f >= 1)
            out[n++] = (seed){g.b, g.ms_ab != INF ? part(1 - f, g.ms_ab) : 0};
        if (g.ms_ba != INF || f <= 0)
            out[n++] = (seed){g.a, g.ms_ba != INF ? part(f, g.ms_ba) : 0};
    } else {
        if (g.ms_ab != INF || f <= 0)
            out[n++] = (seed){g.a, g.ms_ab != INF ? part(f, g.ms_ab) : 0};
        if (g.ms_ba != INF || f >= 1)
            out[n++] = (seed){g.b, g.ms_ba != INF ? part(1 - f, g.ms_ba) : 0};
    }
    return n;
}

/* Time along one segment between two locations on it, or INF. */
static uint32_t same_seg(const sg_route *r, const sg_route_loc *a, const sg_route_loc *b)
{
    if (a->seg != b->seg)
        return INF;
    sgr_seg g = r->seg[a->seg];
    uint32_t best = INF;
    if (b->frac >= a->frac && g.ms_ab != INF)
        best = part(b->frac - a->frac, g.ms_ab);
    if (b->frac <= a->frac && g.ms_ba != INF) {
        uint32_t t = part(a->frac - b->frac, g.ms_ba);
        if (t < best)
            best = t;
    }
    return best;
}

static int loc_ok(const sg_route *r, const sg_route_loc *l)
{
    return l && l->seg < r->n_segs && l->frac >= 0 && l->frac <= 1;
}

sg_err sg_route_loc_of_node(const sg_route *r, uint32_t v, sg_route_loc *out)
{
    if (r == NULL || out == NULL || v >= r->n)
        return SG_INVAL;
    uint32_t s = r->nodeseg[v];
    if (s == SGR_NONE)
        return SG_NOTFOUND;
    sg_route_loc l = {.seg = s, .frac = r->seg[s].a == v ? 0.0 : 1.0};
    l.lon = r->pos[v].lon / SGR_COORD_SCALE;
    l.lat = r->pos[v].lat / SGR_COORD_SCALE;
    l.snap_m = 0;
    *out = l;
    return SG_OK;
}

/* Nearest segment within max_m; with big_only, only segments of big connected pieces. */
static int snap_pass(const sg_route *r, double lon, double lat, double max_m, int big_only,
                     sg_route_loc *out)
{
    const sgr_header *h = r->h;
    double kx = cos(lat * M_PI / 180) * EARTH_R * M_PI / 180, ky = EARTH_R * M_PI / 180;
    double cw = fmin(h->grid_dlon * kx, h->grid_dlat * ky); /* smaller cell side, metres */
    long cx = lrint(floor((lon - h->grid_lon0) / h->grid_dlon));
    long cy = lrint(floor((lat - h->grid_lat0) / h->grid_dlat));
    long nx = h->grid_nx, ny = h->grid_ny;
    /* a point outside the grid starts from the nearest border cell; the ring bound below
     * stays a lower bound because the point is even farther from outer rings */
    long ox = cx < 0 ? 0 : cx >= nx ? nx - 1 : cx;
    long oy = cy < 0 ? 0 : cy >= ny ? ny - 1 : cy;
    double best = INFINITY;
    sg_route_loc bl = {0};
    long maxring = nx > ny ? nx : ny;
    for (long ring = 0; ring <= maxring; ring++) {
        if ((ring - 1) * cw > fmin(best, max_m))
            break;
        for (long y = oy - ring; y <= oy + ring; y++) {
            if (y < 0 || y >= ny)
                continue;
            long step = (y == oy - ring || y == oy + ring) ? 1 : 2 * ring;
            for (long x = ox - ring; x <= ox + ring; x += step ? step : 1) {
                if (x < 0 || x >= nx)
                    continue;
                size_t c = (size_t)y * (size_t)nx + (size_t)x;
                for (uint32_t i = r->gfirst[c]; i < r->gfirst[c + 1]; i++) {
                    uint32_t s = r->gsegs[i];
                    if (big_only && (r->seg[s].flags & SGR_SEG_SMALL))
                        continue;
                    sgr_pos pa = r->pos[r->seg[s].a], pb = r->pos[r->seg[s].b];
                    double ax = (pa.lon / SGR_COORD_SCALE - lon) * kx;
                    double ay = (pa.lat / SGR_COORD_SCALE - lat) * ky;
                    double bx = (pb.lon / SGR_COORD_SCALE - lon) * kx;
                    double by = (pb.lat / SGR_COORD_SCALE - lat) * ky;
                    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
                    double t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
                    t = t < 0 ? 0 : t > 1 ? 1 : t;
                    double px = ax + t * dx, py = ay + t * dy;
                    double d = sqrt(px * px + py * py);
                    if (d < best || (d == best && s < bl.seg)) {
                        best = d;
                        bl.seg = s;
                        bl.frac = t;
                        bl.lon = lon + px / kx;
                        bl.lat = lat + py / ky;
                        bl.snap_m = d;
                    }
                }
                if (ring == 0)
                    break;
            }
        }
    }
    if (!(best <= max_m))
        return 0;
    *out = bl;
    return 1;
}

sg_err sg_route_snap(const sg_route *r, double lon, double lat, double max_m, sg_route_loc *out)
{
    if (r == NULL || out == NULL || !(lon >= -180 && lon <= 180) || !(lat >= -90 && lat <= 90) ||
        !(max_m >= 0))
        return SG_INVAL;
    /* a unit parked on a cut-off fragment of road (a car park, a tile edge) would be
     * unreachable; prefer the connected network and fall back to the nearest of all */
    if (snap_pass(r, lon, lat, max_m, 1, out) || snap_pass(r, lon, lat, max_m, 0, out))
        return SG_OK;
    return SG_NOTFOUND;
}

/* ---------------------------------------------------------------------------------------
 * Point to point
 * ------------------------------------------------------------------------------------- */

void sg_route_path_fini(sg_route_path *p)
{
    if (p == NULL)
        return;
    free(p->coords);
    memset(p, 0, sizeof(*p));
}

sg_err sg_route_node_time(const sg_route *r, sg_route_ws *ws, uint32_t src, uint32_t dst,
                          uint32_t *out_ms)
{
    if (r == NULL || ws == NULL || ws->r != r || src >= r->n || dst >= r->n || out_ms == NULL)
        return SG_INVAL;
    seed s = {src, 0}, t = {dst, 0};
    uint32_t best, meet;
    sg_err err = p2p(ws, &s, 1, &t, 1, &best, &meet);
    if (err)
        return err;
    *out_ms = best;
    return SG_OK;
}

sg_err sg_route_path_between(const sg_route *r, sg_route_ws *ws, const sg_route_loc *from,
                             const sg_route_loc *to, sg_route_path *out)
{
    if (r == NULL || ws == NULL || ws->r != r || !loc_ok(r, from) || !loc_ok(r, to) || out == NULL)
        return SG_INVAL;
    seed s[2], t[2];
    size_t ns = loc_seeds(r, from, 0, s), nt = loc_seeds(r, to, 1, t);
    uint32_t best, meet;
    sg_err err = p2p(ws, s, ns, t, nt, &best, &meet);
    if (err)
        return err;
    uint32_t direct = same_seg(r, from, to);
    sgr_seg g = r->seg[from->seg];
    sg_route_path p = {0};
    nodelist nl = {0};
    if (direct != INF && direct <= best) {
        p.ms = direct;
        p.meters = fabs(to->frac - from->frac) * g.m;
    } else if (best == INF) {
        return SG_NOTFOUND;
    } else {
        if (build_path(ws, meet, &nl)) {
            free(nl.v);
            return SG_NOMEM;
        }
        p.ms = best;
        /* partial segments at both ends */
        uint32_t s0 = nl.v[0], t0 = nl.v[nl.n - 1];
        double m0 = s0 == g.b ? (1 - from->frac) * g.m : from->frac * g.m;
        sgr_seg h = r->seg[to->seg];
        double m1 = t0 == h.a ? to->frac * h.m : (1 - to->frac) * h.m;
        p.meters = nl.m + m0 + m1;
    }
    p.n_coords = nl.n + 2;
    p.coords = malloc(p.n_coords * 2 * sizeof(double));
    if (p.coords == NULL) {
        free(nl.v);
        return SG_NOMEM;
    }
    p.coords[0] = from->lon;
    p.coords[1] = from->lat;
    for (size_t i = 0; i < nl.n; i++) {
        p.coords[2 + 2 * i] = r->pos[nl.v[i]].lon / SGR_COORD_SCALE;
        p.coords[3 + 2 * i] = r->pos[nl.v[i]].lat / SGR_COORD_SCALE;
    }
    p.coords[2 * p.n_coords - 2] = to->lon;
    p.coords[2 * p.n_coords - 1] = to->lat;
    free(nl.v);
    *out = p;
    return SG_OK;
}

/* ---------------------------------------------------------------------------------------
 * Restricted sweep (one-to-many, many-to-one, tables)
 * ------------------------------------------------------------------------------------- */

/* Marks the nodes below the core that are reachable from the seeds through the upward
 * lists `pull`, and lists them in ws->order in descending rank. The core (the top ranks,
 * which almost every selection reaches) is swept whole without being marked. */
static void select_nodes(sg_route_ws *ws, int pull, const seed *t, size_t nt)
{
    const sg_route *r = ws->r;
    uint64_t *bits = ws->bits, *sum = ws->sum;
    const uint32_t core = r->core;
    const uint32_t *first = r->first[pull];
    const sgr_edge *ed = r->ed[pull];
    uint32_t *queue = ws->stack;
    size_t head = 0, tail = 0;
    /* breadth first, with prefetches a few entries ahead: the lists of low nodes are
     * scattered, so the cost is cache misses, and independent ones overlap */
    for (size_t i = 0; i < nt; i++) {
        uint32_t v = t[i].v;
        if (v >= core || (bits[v >> 6] & (1ULL << (v & 63))))
            continue;
        bits[v >> 6] |= 1ULL << (v & 63);
        sum[v >> 12] |= 1ULL << ((v >> 6) & 63);
        __builtin_prefetch(&first[v]);
        queue[tail++] = v;
    }
    while (head < tail) {
        if (head + 4 < tail)
            __builtin_prefetch(&ed[first[queue[head + 4]]]);
        uint32_t u = queue[head++];
        for (uint32_t e = first[u]; e < first[u + 1]; e++) {
            uint32_t x = ed[e].to;
            uint64_t bit = 1ULL << (x & 63);
            if (x >= core || (bits[x >> 6] & bit))
                continue;
            bits[x >> 6] |= bit;
            sum[x >> 12] |= 1ULL << ((x >> 6) & 63);
            __builtin_prefetch(&first[x]);
            queue[tail++] = x;
        }
    }
    /* read out in descending order; the summary is cleared here, the bits (still needed by
     * the sweeps to recognise selected nodes) by clear_selection */
    size_t no = 0;
    size_t nsum = ((size_t)r->n + 4095) / 4096;
    for (size_t s = nsum; s-- > 0;) {
        while (sum[s]) {
            int hb = 63 - __builtin_clzll(sum[s]);
            sum[s] &= ~(1ULL << hb);
            size_t w = s * 64 + (size_t)hb;
            uint64_t word = bits[w];
            while (word) {
                int b = 63 - __builtin_clzll(word);
                word &= ~(1ULL << b);
                ws->order[no++] = (uint32_t)(w * 64 + (size_t)b);
            }
        }
    }
    ws->n_order = no;
}

static void clear_selection(sg_route_ws *ws)
{
    for (size_t i = 0; i < ws->n_order; i++)
        ws->bits[ws->order[i] >> 6] = 0;
    ws->n_order = 0;
}

/* Upward search in direction d from seeds (explores the whole upward space), then the
 * sweep over ws->order pulling through the lists 1 - d. Results in ws->sd. */
static sg_err sweep(sg_route_ws *ws, int d, const seed *s, size_t ns)
{
    const sg_route *r = ws->r;
    if (start(ws, d, s, ns))
        return SG_NOMEM;
    uint32_t u, key;
    int rc;
    while ((rc = step(ws, d, &u, &key)) > 0)
        ;
    if (rc < 0)
        return SG_NOMEM;
    const int pull = 1 - d;
    const uint32_t *first = r->first[pull];
    const sgr_edge *ed = r->ed[pull];
    const uint32_t core = r->core;
    const uint64_t *bits = ws->bits;
    uint32_t *sd = ws->sd;
    /* start values: INF on the selection, the upward distance where the search got; this
     * reads the search's arrays only at the few nodes it reached */
    for (uint32_t v = core; v < r->n; v++)
        sd[v] = INF;
    for (size_t i = 0; i < ws->n_order; i++)
        sd[ws->order[i]] = INF;
    for (size_t i = 0; i < ws->n_touched[d]; i++) {
        uint32_t v = ws->touched[d][i];
        if (v >= core || (bits[v >> 6] & (1ULL << (v & 63))))
            sd[v] = ws->dist[d][v];
    }
    /* pull from higher neighbours; INF + ms stays above INF in 64 bits, so no branch */
    for (uint32_t v = r->n; v-- > core;) {
        uint64_t best = sd[v];
        for (uint32_t e = first[v]; e < first[v + 1]; e++) {
            uint64_t c = (uint64_t)sd[ed[e].to] + ed[e].ms;
            best = c < best ? c : best;
        }
        sd[v] = best >= INF ? INF : (uint32_t)best;
    }
    for (size_t i = 0; i < ws->n_order; i++) {
        uint32_t v = ws->order[i];
        uint64_t best = sd[v];
        for (uint32_t e = first[v]; e < first[v + 1]; e++) {
            uint64_t c = (uint64_t)sd[ed[e].to] + ed[e].ms;
            best = c < best ? c : best;
        }
        sd[v] = best >= INF ? INF : (uint32_t)best;
    }
    return SG_OK;
}

static uint32_t seeds_result(const sg_route_ws *ws, const seed *t, size_t nt)
{
    uint32_t best = INF;
    for (size_t i = 0; i < nt; i++) {
        uint32_t x = ws->sd[t[i].v];
        if (x != INF && sat_add(x, t[i].off) < best)
            best = sat_add(x, t[i].off);
    }
    return best;
}

/* Seeds of many locations, two per location at most, flattened. */
static seed *many_seeds(const sg_route *r, size_t n, const sg_route_loc *l, int dir, size_t *cnt)
{
    seed *s = malloc((2 * n + 1) * sizeof(*s));
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        cnt[i] = loc_seeds(r, &l[i], dir, s + 2 * i);
    return s;
}

/* dir 0: from[] are the single end's sources (one location) and to[] the many; dir 1: the
 * many are sources and the single end is the target. */
static sg_err batched(const sg_route *r, sg_route_ws *ws, int d, size_t n_one,
                      const sg_route_loc *one, size_t n_many, const sg_route_loc *many,
                      uint32_t *out, size_t stride_one, size_t stride_many)
{
    for (size_t i = 0; i < n_one; i++)
        if (!loc_ok(r, &one[i]))
            return SG_INVAL;
    for (size_t j = 0; j < n_many; j++)
        if (!loc_ok(r, &many[j]))
            return SG_INVAL;
    size_t *cnt = malloc((n_many + 1) * sizeof(*cnt));
    seed *ms = cnt ? many_seeds(r, n_many, many, 1 - d, cnt) : NULL;
    seed *flat = ms ? malloc((2 * n_many + 1) * sizeof(*flat)) : NULL;
    if (!cnt || !ms || !flat) {
        free(cnt);
        free(ms);
        free(flat);
        return SG_NOMEM;
    }
    size_t nf = 0;
    for (size_t j = 0; j < n_many; j++)
        for (size_t k = 0; k < cnt[j]; k++)
            flat[nf++] = ms[2 * j + k];
    select_nodes(ws, 1 - d, flat, nf);
    free(flat);
    sg_err err = SG_OK;
    for (size_t i = 0; i < n_one && !err; i++) {
        seed s[2];
        size_t ns = loc_seeds(r, &one[i], d, s);
        err = sweep(ws, d, s, ns);
        for (size_t j = 0; j < n_many && !err; j++) {
            uint32_t t = seeds_result(ws, ms + 2 * j, cnt[j]);
            uint32_t direct =
                d == 0 ? same_seg(r, &one[i], &many[j]) : same_seg(r, &many[j], &one[i]);
            out[i * stride_one + j * stride_many] = direct < t ? direct : t;
        }
    }
    clear_selection(ws);
    free(cnt);
    free(ms);
    return err;
}

sg_err sg_route_one_to_many(const sg_route *r, sg_route_ws *ws, const sg_route_loc *from, size_t n,
                            const sg_route_loc *to, uint32_t *out_ms)
{
    if (r == NULL || ws == NULL || ws->r != r || from == NULL || (n && (!to || !out_ms)))
        return SG_INVAL;
    return batched(r, ws, 0, 1, from, n, to, out_ms, 0, 1);
}

sg_err sg_route_many_to_one(const sg_route *r, sg_route_ws *ws, size_t n, const sg_route_loc *from,
                            const sg_route_loc *to, uint32_t *out_ms)
{
    if (r == NULL || ws == NULL || ws->r != r || to == NULL || (n && (!from || !out_ms)))
        return SG_INVAL;
    return batched(r, ws, 1, 1, to, n, from, out_ms, 0, 1);
}

sg_err sg_route_table(const sg_route *r, sg_route_ws *ws, size_t n_from, const sg_route_loc *from,
                      size_t n_to, const sg_route_loc *to, uint32_t *out_ms)
{
    if (r == NULL || ws == NULL || ws->r != r || (n_from && !from) || (n_to && !to) ||
        (n_from && n_to && !out_ms))
        return SG_INVAL;
    if (n_to && n_from > SIZE_MAX / n_to)
        return SG_TOOBIG;
    return batched(r, ws, 0, n_from, from, n_to, to, out_ms, n_to, 1);
}

static sg_err node_batched(const sg_route *r, sg_route_ws *ws, int d, uint32_t one, size_t n,
                           const uint32_t *many, uint32_t *out)
{
    if (r == NULL || ws == NULL || ws->r != r || one >= r->n || (n && (!many || !out)))
        return SG_INVAL;
    seed *t = calloc(n + 1, sizeof(*t));
    if (t == NULL)
        return SG_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (many[i] >= r->n) {
            free(t);
            return SG_INVAL;
        }
        t[i] = (seed){many[i], 0};
    }
    select_nodes(ws, 1 - d, t, n);
    seed s = {one, 0};
    sg_err err = sweep(ws, d, &s, 1);
    for (size_t i = 0; i < n && !err; i++)
        out[i] = ws->sd[many[i]];
    clear_selection(ws);
    free(t);
    return err;
}

sg_err sg_route_node_one_to_many(const sg_route *r, sg_route_ws *ws, uint32_t src, size_t n,
                                 const uint32_t *dsts, uint32_t *out_ms)
{
    return node_batched(r, ws, 0, src, n, dsts, out_ms);
}

sg_err sg_route_node_many_to_one(const sg_route *r, sg_route_ws *ws, size_t n, const uint32_t *srcs,
                                 uint32_t dst, uint32_t *out_ms)
{
    return node_batched(r, ws, 1, dst, n, srcs, out_ms);
}

/* ---------------------------------------------------------------------------------------
 * Plain Dijkstra (reference and baseline)
 * ------------------------------------------------------------------------------------- */

struct sg_route_plain {
    const sg_route *r;
    uint32_t *first;
    sgr_edge *e;
    uint32_t *dist, *stamp, cur;
    uint8_t *want;
    pqueue q;
};

void sg_route_plain_free(sg_route_plain *p)
{
    if (p == NULL)
        return;
    free(p->first);
    free(p->e);
    free(p->dist);
    free(p->stamp);
    free(p->want);
    free(p->q.a);
    free(p);
}

sg_err sg_route_plain_new(const sg_route *r, sg_route_plain **out)
{
    if (r == NULL || out == NULL)
        return SG_INVAL;
    sg_route_plain *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return SG_NOMEM;
    p->r = r;
    size_t n = r->n, m = 0;
    p->first = calloc(n + 1, sizeof(uint32_t));
    p->dist = malloc(n * sizeof(uint32_t));
    p->stamp = calloc(n, sizeof(uint32_t));
    p->want = calloc(n, 1);
    if (!p->first || !p->dist || !p->stamp || !p->want)
        goto oom;
    for (uint32_t s = 0; s < r->n_segs; s++) {
        sgr_seg g = r->seg[s];
        if (g.ms_ab != INF) {
            p->first[g.a + 1]++;
            m++;
        }
        if (g.ms_ba != INF) {
            p->first[g.b + 1]++;
            m++;
        }
    }
    for (size_t v = 0; v < n; v++)
        p->first[v + 1] += p->first[v];
    p->e = malloc((m + 1) * sizeof(*p->e));
    uint32_t *fill = malloc((n + 1) * sizeof(uint32_t));
    if (!p->e || !fill) {
        free(fill);
        goto oom;
    }
    memcpy(fill, p->first, (n + 1) * sizeof(uint32_t));
    for (uint32_t s = 0; s < r->n_segs; s++) {
        sgr_seg g = r->seg[s];
        if (g.ms_ab != INF)
            p->e[fill[g.a]++] = (sgr_edge){g.b, g.ms_ab};
        if (g.ms_ba != INF)
            p->e[fill[g.b]++] = (sgr_edge){g.a, g.ms_ba};
    }
    free(fill);
    *out = p;
    return SG_OK;
oom:
    sg_route_plain_free(p);
    return SG_NOMEM;
}

sg_err sg_route_plain_one_to_many(sg_route_plain *p, uint32_t src, size_t n, const uint32_t *dsts,
                                  uint32_t *out_ms)
{
    if (p == NULL || src >= p->r->n || (n && (!dsts || !out_ms)))
        return SG_INVAL;
    for (size_t i = 0; i < n; i++)
        if (dsts[i] >= p->r->n)
            return SG_INVAL;
    if (++p->cur == 0) {
        memset(p->stamp, 0, p->r->n * sizeof(uint32_t));
        p->cur = 1;
    }
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        if (!p->want[dsts[i]]) {
            p->want[dsts[i]] = 1;
            left++;
        }
    p->q.n = 0;
    p->stamp[src] = p->cur;
    p->dist[src] = 0;
    sg_err err = SG_OK;
    if (pq_push(&p->q, 0, src))
        err = SG_NOMEM;
    while (!err && p->q.n && left) {
        qitem it = pq_pop(&p->q);
        if (it.key != p->dist[it.v])
            continue;
        if (p->want[it.v]) {
            p->want[it.v] = 0;
            left--;
        }
        for (uint32_t e = p->first[it.v]; e < p->first[it.v + 1]; e++) {
            uint32_t x = p->e[e].to, nd = sat_add(it.key, p->e[e].ms);
            if (p->stamp[x] != p->cur || nd < p->dist[x]) {
                p->stamp[x] = p->cur;
                p->dist[x] = nd;
                if (pq_push(&p->q, nd, x)) {
                    err = SG_NOMEM;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        p->want[dsts[i]] = 0;
        out_ms[i] = p->stamp[dsts[i]] == p->cur ? p->dist[dsts[i]] : INF;
    }
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Export
 * ------------------------------------------------------------------------------------- */

sg_err sg_route_export_edges(const sg_route *r, const char *path, char *msg, size_t n)
{
    if (r == NULL || path == NULL)
        return sg_errf(SG_INVAL, msg, n, "no route file or output path");
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    fprintf(f, "id,source,target,cost,reverse_cost,x1,y1,x2,y2,length_m\n");
    for (uint32_t s = 0; s < r->n_segs; s++) {
        sgr_seg g = r->seg[s];
        sgr_pos a = r->pos[g.a], b = r->pos[g.b];
        fprintf(f, "%u,%u,%u,%lld,%lld,%.7f,%.7f,%.7f,%.7f,%.2f\n", s + 1, g.a + 1, g.b + 1,
                g.ms_ab == INF ? -1LL : (long long)g.ms_ab,
                g.ms_ba == INF ? -1LL : (long long)g.ms_ba, a.lon / SGR_COORD_SCALE,
                a.lat / SGR_COORD_SCALE, b.lon / SGR_COORD_SCALE, b.lat / SGR_COORD_SCALE,
                (double)g.m);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return sg_errf(SG_IO, msg, n, "%s: write failed", path);
    return SG_OK;
}
