/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Build time of road routing: the car profile, the readers (OSM through readosm, GeoJSON
 * through jansson, everything else through GDAL/OGR), the in-memory graph, the contraction
 * hierarchy and the writer of the .sgr file that ch.c maps at query time.
 *
 * Every coordinate of a usable way becomes a node (junctions are positions shared by ways),
 * so the geometry of a path is the list of its nodes and snapping needs no separate shape
 * store; degree-two nodes cost almost nothing in a hierarchy since they are contracted first
 * without shortcuts beyond the one that bridges them. OSM files are read in two passes (ways,
 * then only the nodes they use), so memory follows the road network and not the whole
 * extract. Contraction is the classic one of Geisberger et al. (2008): nodes are taken in
 * order of a lazily updated priority (edge difference plus contracted neighbours), and a
 * shortcut is added unless a bounded witness search finds a path at least as fast; an
 * unfinished witness search only costs an unneeded shortcut, never a wrong answer.
 */
#include "safegrid/route.h"

#include <ctype.h>
#include <errno.h>
#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <readosm.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "route_int.h"

#define EARTH_R 6371008.8
#define MAX_NODES 0x7fffffffu
#define INF UINT32_MAX

/* ---------------------------------------------------------------------------------------
 * Profile
 * ------------------------------------------------------------------------------------- */

#define MAX_CLASSES 64
#define MAX_WORDS 16
#define WORD_LEN 32

struct sg_route_profile {
    size_t n_classes;
    char cls[MAX_CLASSES][WORD_LEN];
    double speed[MAX_CLASSES];
    int implied_oneway[MAX_CLASSES];
    size_t n_access_keys;
    char access_keys[MAX_WORDS][WORD_LEN]; /* most specific first */
    size_t n_deny;
    char deny[MAX_WORDS][WORD_LEN];
    int use_maxspeed;
    double maxspeed_factor;
};

static const char default_profile[] =
    "# safegrid car profile. One directive per line; '#' starts a comment.\n"
    "#   speed <highway value> <km/h>   ways with this highway=* are usable at this speed\n"
    "#   oneway <highway value>          this class is one-way unless oneway=no\n"
    "#   access_keys <key>...            access tags, most specific first\n"
    "#   deny <value>...                 access values that close a way to cars\n"
    "#   maxspeed <0|1> <factor>         use maxspeed=* (times factor) when it is set\n"
    "speed motorway 100\n"
    "speed motorway_link 60\n"
    "speed trunk 80\n"
    "speed trunk_link 50\n"
    "speed primary 60\n"
    "speed primary_link 45\n"
    "speed secondary 50\n"
    "speed secondary_link 40\n"
    "speed tertiary 40\n"
    "speed tertiary_link 35\n"
    "speed unclassified 30\n"
    "speed residential 30\n"
    "speed road 25\n"
    "speed living_street 10\n"
    "speed service 15\n"
    "oneway motorway\n"
    "oneway motorway_link\n"
    "access_keys motorcar motor_vehicle vehicle access\n"
    "deny no private agricultural forestry emergency psv bus delivery\n"
    "maxspeed 1 0.9\n";

const char *sg_route_profile_default_text(void)
{
    return default_profile;
}

static size_t split_words(char *line, char **w, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        w[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int copy_word(char *dst, const char *src)
{
    size_t l = strlen(src);
    if (l >= WORD_LEN)
        return -1;
    memcpy(dst, src, l + 1);
    return 0;
}

static int find_class(const sg_route_profile *p, const char *cls)
{
    for (size_t i = 0; i < p->n_classes; i++)
        if (strcmp(p->cls[i], cls) == 0)
            return (int)i;
    return -1;
}

sg_err sg_route_profile_parse(const char *text, size_t len, sg_route_profile **out, char *msg,
                              size_t n)
{
    if (text == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, n, "profile: no text");
    sg_route_profile *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return sg_errf(SG_NOMEM, msg, n, "profile: out of memory");
    p->maxspeed_factor = 1.0;
    size_t pos = 0;
    int lineno = 0;
    char line[512];
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n')
            e++;
        lineno++;
        size_t l = e - pos;
        if (l >= sizeof(line)) {
            free(p);
            return sg_errf(SG_INVAL, msg, n, "profile line %d: too long", lineno);
        }
        memcpy(line, text + pos, l);
        line[l] = '\0';
        pos = e + 1;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        if (l && line[l - 1] == '\r')
            line[l - 1] = '\0';
        char *w[MAX_WORDS + 2];
        size_t nw = split_words(line, w, MAX_WORDS + 2);
        if (nw == 0)
            continue;
        int bad = 0;
        if (strcmp(w[0], "speed") == 0 && nw == 3) {
            char *end;
            double v = strtod(w[2], &end);
            int c = find_class(p, w[1]);
            if (*end || !(v > 0 && v <= 300))
                bad = 1;
            else if (c < 0 && p->n_classes == MAX_CLASSES)
                bad = 1;
            else {
                if (c < 0) {
                    c = (int)p->n_classes++;
                    if (copy_word(p->cls[c], w[1]))
                        bad = 1;
                }
                p->speed[c] = v;
            }
        } else if (strcmp(w[0], "oneway") == 0 && nw == 2) {
            int c = find_class(p, w[1]);
            if (c < 0)
                bad = 1; /* a class must have a speed first */
            else
                p->implied_oneway[c] = 1;
        } else if (strcmp(w[0], "access_keys") == 0 && nw >= 2 && nw <= MAX_WORDS + 1) {
            p->n_access_keys = 0;
            for (size_t i = 1; i < nw && !bad; i++)
                bad = copy_word(p->access_keys[p->n_access_keys++], w[i]) != 0;
        } else if (strcmp(w[0], "deny") == 0 && nw >= 2 && nw <= MAX_WORDS + 1) {
            p->n_deny = 0;
            for (size_t i = 1; i < nw && !bad; i++)
                bad = copy_word(p->deny[p->n_deny++], w[i]) != 0;
        } else if (strcmp(w[0], "maxspeed") == 0 && nw == 3) {
            char *end;
            double f = strtod(w[2], &end);
            if ((strcmp(w[1], "0") && strcmp(w[1], "1")) || *end || !(f > 0 && f <= 2))
                bad = 1;
            p->use_maxspeed = w[1][0] == '1';
            p->maxspeed_factor = f;
        } else {
            bad = 1;
        }
        if (bad) {
            free(p);
            return sg_errf(SG_INVAL, msg, n, "profile line %d: cannot read \"%s\"", lineno, w[0]);
        }
    }
    if (p->n_classes == 0) {
        free(p);
        return sg_errf(SG_INVAL, msg, n, "profile: no 'speed' lines, so no way is usable");
    }
    *out = p;
    return SG_OK;
}

sg_err sg_route_profile_load(const char *path, sg_route_profile **out, char *msg, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    char *buf = malloc(65536);
    if (buf == NULL) {
        fclose(f);
        return sg_errf(SG_NOMEM, msg, n, "profile: out of memory");
    }
    size_t len = fread(buf, 1, 65536, f);
    int toobig = !feof(f);
    int ioerr = ferror(f);
    fclose(f);
    sg_err err;
    if (ioerr)
        err = sg_errf(SG_IO, msg, n, "%s: read error", path);
    else if (toobig)
        err = sg_errf(SG_TOOBIG, msg, n, "%s: profile larger than 64 KiB", path);
    else
        err = sg_route_profile_parse(buf, len, out, msg, n);
    free(buf);
    return err;
}

void sg_route_profile_free(sg_route_profile *p)
{
    free(p);
}

static const char *tag(size_t n_tags, const char *const *keys, const char *const *vals,
                       const char *key)
{
    for (size_t i = 0; i < n_tags; i++)
        if (keys[i] && vals[i] && strcmp(keys[i], key) == 0)
            return vals[i];
    return NULL;
}

/* maxspeed=* in km/h: "50", "30 mph", "50;70" (first); 0 for anything else ("none",
 * "signals", "RU:urban"), so the class speed applies. */
static double parse_maxspeed(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0))
        return 0;
    while (*end == ' ')
        end++;
    if (strncmp(end, "mph", 3) == 0)
        v *= 1.609344;
    else if (*end && *end != ';' && strncmp(end, "km/h", 4) != 0 && strncmp(end, "kmh", 3) != 0)
        return 0;
    return v >= 3 && v <= 250 ? v : 0;
}

sg_err sg_route_profile_eval(const sg_route_profile *p, size_t n_tags, const char *const *keys,
                             const char *const *vals, double *speed_kmh, int *oneway)
{
    if (p == NULL || (n_tags && (keys == NULL || vals == NULL)) || speed_kmh == NULL ||
        oneway == NULL)
        return SG_INVAL;
    *speed_kmh = 0;
    *oneway = 0;
    const char *hw = tag(n_tags, keys, vals, "highway");
    if (hw == NULL)
        return SG_OK;
    int c = find_class(p, hw);
    if (c < 0)
        return SG_OK;
    const char *area = tag(n_tags, keys, vals, "area");
    if (area && strcmp(area, "yes") == 0)
        return SG_OK;
    for (size_t i = 0; i < p->n_access_keys; i++) {
        const char *a = tag(n_tags, keys, vals, p->access_keys[i]);
        if (a == NULL)
            continue;
        for (size_t j = 0; j < p->n_deny; j++)
            if (strcmp(a, p->deny[j]) == 0)
                return SG_OK;
        break; /* the most specific access tag decides */
    }
    double v = p->speed[c];
    const char *ms = tag(n_tags, keys, vals, "maxspeed");
    if (p->use_maxspeed && ms) {
        double m = parse_maxspeed(ms);
        if (m > 0)
            v = m * p->maxspeed_factor;
    }
    int ow = p->implied_oneway[c];
    const char *j = tag(n_tags, keys, vals, "junction");
    if (j && (strcmp(j, "roundabout") == 0 || strcmp(j, "circular") == 0))
        ow = 1;
    const char *o = tag(n_tags, keys, vals, "oneway");
    if (o) {
        if (!strcmp(o, "yes") || !strcmp(o, "true") || !strcmp(o, "1"))
            ow = 1;
        else if (!strcmp(o, "-1") || !strcmp(o, "reverse"))
            ow = -1;
        else if (!strcmp(o, "no") || !strcmp(o, "false") || !strcmp(o, "0"))
            ow = 0;
    }
    *speed_kmh = v;
    *oneway = ow;
    return SG_OK;
}

/* ---------------------------------------------------------------------------------------
 * Graph
 * ------------------------------------------------------------------------------------- */

typedef struct bedge {
    uint32_t u, v, ms;
    float m;
} bedge;

struct sg_route_graph {
    /* node hash: key = packed rounded position, value = node index */
    uint64_t *hkeys;
    uint32_t *hvals;
    size_t hcap, n_nodes, pos_cap;
    sgr_pos *pos;
    bedge *edges;
    size_t n_edges, edge_cap;
};

sg_err sg_route_graph_new(sg_route_graph **out)
{
    if (out == NULL)
        return SG_INVAL;
    sg_route_graph *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return SG_NOMEM;
    *out = g;
    return SG_OK;
}

void sg_route_graph_free(sg_route_graph *g)
{
    if (g == NULL)
        return;
    free(g->hkeys);
    free(g->hvals);
    free(g->pos);
    free(g->edges);
    free(g);
}

void sg_route_graph_size(const sg_route_graph *g, size_t *n_nodes, size_t *n_edges)
{
    if (n_nodes)
        *n_nodes = g ? g->n_nodes : 0;
    if (n_edges)
        *n_edges = g ? g->n_edges : 0;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static sg_err hash_grow(sg_route_graph *g)
{
    size_t ncap = g->hcap ? g->hcap * 2 : 1024;
    uint64_t *k = malloc(ncap * sizeof(*k));
    uint32_t *v = malloc(ncap * sizeof(*v));
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return SG_NOMEM;
    }
    memset(v, 0xff, ncap * sizeof(*v));
    for (size_t i = 0; i < g->hcap; i++) {
        if (g->hvals[i] == INF)
            continue;
        size_t h = mix64(g->hkeys[i]) & (ncap - 1);
        while (v[h] != INF)
            h = (h + 1) & (ncap - 1);
        k[h] = g->hkeys[i];
        v[h] = g->hvals[i];
    }
    free(g->hkeys);
    free(g->hvals);
    g->hkeys = k;
    g->hvals = v;
    g->hcap = ncap;
    return SG_OK;
}

sg_err sg_route_graph_node(sg_route_graph *g, double lon, double lat, uint32_t *out)
{
    if (g == NULL || out == NULL || !(lon >= -180 && lon <= 180) || !(lat >= -90 && lat <= 90))
        return SG_INVAL;
    int32_t ilon = (int32_t)lrint(lon * SGR_COORD_SCALE);
    int32_t ilat = (int32_t)lrint(lat * SGR_COORD_SCALE);
    uint64_t key = ((uint64_t)(uint32_t)ilon << 32) | (uint32_t)ilat;
    if ((g->n_nodes + 1) * 2 > g->hcap) {
        sg_err err = hash_grow(g);
        if (err)
            return err;
    }
    size_t h = mix64(key) & (g->hcap - 1);
    while (g->hvals[h] != INF) {
        if (g->hkeys[h] == key) {
            *out = g->hvals[h];
            return SG_OK;
        }
        h = (h + 1) & (g->hcap - 1);
    }
    if (g->n_nodes >= MAX_NODES)
        return SG_TOOBIG;
    if (g->n_nodes == g->pos_cap) {
        size_t nc = g->pos_cap ? g->pos_cap * 2 : 1024;
        sgr_pos *np = realloc(g->pos, nc * sizeof(*np));
        if (np == NULL)
            return SG_NOMEM;
        g->pos = np;
        g->pos_cap = nc;
    }
    uint32_t id = (uint32_t)g->n_nodes++;
    g->pos[id].lon = ilon;
    g->pos[id].lat = ilat;
    g->hkeys[h] = key;
    g->hvals[h] = id;
    *out = id;
    return SG_OK;
}

static sg_err push_edge(sg_route_graph *g, uint32_t u, uint32_t v, uint32_t ms, double m)
{
    if (g->n_edges == g->edge_cap) {
        size_t nc = g->edge_cap ? g->edge_cap * 2 : 4096;
        bedge *ne = realloc(g->edges, nc * sizeof(*ne));
        if (ne == NULL)
            return SG_NOMEM;
        g->edges = ne;
        g->edge_cap = nc;
    }
    g->edges[g->n_edges++] = (bedge){u, v, ms, (float)m};
    return SG_OK;
}

sg_err sg_route_graph_segment(sg_route_graph *g, uint32_t a, uint32_t b, uint32_t ms_ab,
                              uint32_t ms_ba, double length_m)
{
    if (g == NULL || a >= g->n_nodes || b >= g->n_nodes || a == b ||
        (ms_ab == INF && ms_ba == INF) || !(length_m >= 0))
        return SG_INVAL;
    sg_err err = SG_OK;
    if (ms_ab != INF)
        err = push_edge(g, a, b, ms_ab, length_m);
    if (!err && ms_ba != INF)
        err = push_edge(g, b, a, ms_ba, length_m);
    return err;
}

static double haversine(double lon1, double lat1, double lon2, double lat2)
{
    double r = M_PI / 180;
    double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
    double s = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * EARTH_R * asin(sqrt(s < 1 ? s : 1));
}

static uint32_t time_ms(double m, double kmh)
{
    double t = m / (kmh / 3.6) * 1000.0;
    if (t < 1)
        return 1; /* no free edges: keeps every cycle positive */
    if (t > 4e9)
        return 4000000000u;
    return (uint32_t)lrint(t);
}

/* Adds the consecutive pairs of a node list as segments of a way with the given speed and
 * direction. */
static sg_err add_way(sg_route_graph *g, const uint32_t *ids, size_t n, double kmh, int oneway)
{
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t a = ids[i], b = ids[i + 1];
        if (a == b)
            continue;
        double m = haversine(g->pos[a].lon / SGR_COORD_SCALE, g->pos[a].lat / SGR_COORD_SCALE,
                             g->pos[b].lon / SGR_COORD_SCALE, g->pos[b].lat / SGR_COORD_SCALE);
        uint32_t t = time_ms(m, kmh);
        sg_err err =
            sg_route_graph_segment(g, a, b, oneway >= 0 ? t : INF, oneway <= 0 ? t : INF, m);
        if (err)
            return err;
    }
    return SG_OK;
}

/* A growable array of node ids for one way. */
typedef struct idvec {
    uint32_t *v;
    size_t n, cap;
} idvec;

static sg_err idvec_push(idvec *iv, uint32_t x)
{
    if (iv->n == iv->cap) {
        size_t nc = iv->cap ? iv->cap * 2 : 64;
        uint32_t *nv = realloc(iv->v, nc * sizeof(*nv));
        if (nv == NULL)
            return SG_NOMEM;
        iv->v = nv;
        iv->cap = nc;
    }
    iv->v[iv->n++] = x;
    return SG_OK;
}

/* ---------------------------------------------------------------------------------------
 * GeoJSON
 * ------------------------------------------------------------------------------------- */

#define MAX_TAGS 256

static sg_err geojson_line(sg_route_graph *g, json_t *coords, double kmh, int oneway, idvec *iv)
{
    if (!json_is_array(coords))
        return SG_CORRUPT;
    iv->n = 0;
    size_t i;
    json_t *pt;
    json_array_foreach(coords, i, pt)
    {
        if (!json_is_array(pt) || json_array_size(pt) < 2 ||
            !json_is_number(json_array_get(pt, 0)) || !json_is_number(json_array_get(pt, 1)))
            return SG_CORRUPT;
        uint32_t id;
        sg_err err = sg_route_graph_node(g, json_number_value(json_array_get(pt, 0)),
                                         json_number_value(json_array_get(pt, 1)), &id);
        if (err)
            return err == SG_INVAL ? SG_CORRUPT : err;
        if ((err = idvec_push(iv, id)))
            return err;
    }
    return add_way(g, iv->v, iv->n, kmh, oneway);
}

static sg_err geojson_root(sg_route_graph *g, json_t *root, const sg_route_profile *p, char *msg,
                           size_t n)
{
    json_t *feats = json_object_get(root, "features");
    if (!json_is_array(feats))
        return sg_errf(SG_CORRUPT, msg, n, "GeoJSON: no \"features\" array");
    idvec iv = {0};
    sg_err err = SG_OK;
    size_t i;
    json_t *f;
    char numbuf[MAX_TAGS][32];
    json_array_foreach(feats, i, f)
    {
        json_t *props = json_object_get(f, "properties");
        json_t *geom = json_object_get(f, "geometry");
        if (!json_is_object(geom))
            continue;
        const char *keys[MAX_TAGS], *vals[MAX_TAGS];
        size_t nt = 0;
        if (json_is_object(props)) {
            const char *k;
            json_t *v;
            json_object_foreach(props, k, v)
            {
                if (nt == MAX_TAGS)
                    break;
                if (json_is_string(v)) {
                    keys[nt] = k;
                    vals[nt++] = json_string_value(v);
                } else if (json_is_number(v)) {
                    snprintf(numbuf[nt], sizeof(numbuf[nt]), "%g", json_number_value(v));
                    keys[nt] = k;
                    vals[nt] = numbuf[nt];
                    nt++;
                }
            }
        }
        double kmh;
        int ow;
        sg_route_profile_eval(p, nt, keys, vals, &kmh, &ow);
        if (kmh <= 0)
            continue;
        const char *type = json_string_value(json_object_get(geom, "type"));
        json_t *coords = json_object_get(geom, "coordinates");
        if (type && strcmp(type, "LineString") == 0) {
            err = geojson_line(g, coords, kmh, ow, &iv);
        } else if (type && strcmp(type, "MultiLineString") == 0 && json_is_array(coords)) {
            size_t j;
            json_t *line;
            json_array_foreach(coords, j, line)
            {
                if ((err = geojson_line(g, line, kmh, ow, &iv)))
                    break;
            }
        }
        if (err) {
            err = sg_errf(err, msg, n, "GeoJSON feature %zu: %s", i,
                          err == SG_CORRUPT ? "bad coordinates" : sg_strerror(err));
            break;
        }
    }
    free(iv.v);
    return err;
}

sg_err sg_route_graph_read_geojson_mem(sg_route_graph *g, const char *text, size_t len,
                                       const sg_route_profile *p, char *msg, size_t n)
{
    if (g == NULL || text == NULL || p == NULL)
        return sg_errf(SG_INVAL, msg, n, "no graph, text or profile");
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (root == NULL)
        return sg_errf(SG_CORRUPT, msg, n, "GeoJSON line %d: %s", je.line, je.text);
    sg_err err = geojson_root(g, root, p, msg, n);
    json_decref(root);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * OSM through readosm: pass 1 keeps usable ways, pass 2 the positions of their nodes.
 * ------------------------------------------------------------------------------------- */

typedef struct osm_ctx {
    const sg_route_profile *p;
    long long *refs; /* concatenated node refs of usable ways */
    size_t n_refs, refs_cap;
    size_t *way_start; /* n_ways + 1 */
    float *way_kmh;
    int8_t *way_oneway;
    size_t n_ways, ways_cap;
    long long *ids; /* sorted unique node ids */
    size_t n_ids;
    double *lon, *lat; /* per ids[i]; NAN until seen */
    sg_err err;
    sg_route_progress_fn progress;
    void *pctx;
    uint64_t seen;
} osm_ctx;

static int osm_way(const void *user, const readosm_way *w)
{
    osm_ctx *c = (osm_ctx *)user;
    const char *keys[MAX_TAGS], *vals[MAX_TAGS];
    size_t nt = 0;
    for (int i = 0; i < w->tag_count && nt < MAX_TAGS; i++) {
        keys[nt] = w->tags[i].key;
        vals[nt++] = w->tags[i].value;
    }
    if (c->progress && (++c->seen & 0xffff) == 0)
        c->progress(c->pctx, "read ways", c->seen, 0);
    double kmh;
    int ow;
    sg_route_profile_eval(c->p, nt, keys, vals, &kmh, &ow);
    if (kmh <= 0 || w->node_ref_count < 2)
        return READOSM_OK;
    if (c->n_ways + 1 >= c->ways_cap) {
        size_t nc = c->ways_cap ? c->ways_cap * 2 : 4096;
        size_t *ns = realloc(c->way_start, (nc + 1) * sizeof(*ns));
        if (ns)
            c->way_start = ns;
        float *nk = realloc(c->way_kmh, nc * sizeof(*nk));
        if (nk)
            c->way_kmh = nk;
        int8_t *no = realloc(c->way_oneway, nc * sizeof(*no));
        if (no)
            c->way_oneway = no;
        if (!ns || !nk || !no) {
            c->err = SG_NOMEM;
            return READOSM_ABORT;
        }
        c->ways_cap = nc;
    }
    size_t need = c->n_refs + (size_t)w->node_ref_count;
    if (need > c->refs_cap) {
        size_t nc = c->refs_cap ? c->refs_cap : 65536;
        while (nc < need)
            nc *= 2;
        long long *nr = realloc(c->refs, nc * sizeof(*nr));
        if (nr == NULL) {
            c->err = SG_NOMEM;
            return READOSM_ABORT;
        }
        c->refs = nr;
        c->refs_cap = nc;
    }
    if (c->n_ways == 0)
        c->way_start[0] = 0;
    memcpy(c->refs + c->n_refs, w->node_refs, (size_t)w->node_ref_count * sizeof(long long));
    c->n_refs = need;
    c->way_kmh[c->n_ways] = (float)kmh;
    c->way_oneway[c->n_ways] = (int8_t)ow;
    c->way_start[++c->n_ways] = need;
    return READOSM_OK;
}

static long long find_id(const osm_ctx *c, long long id)
{
    size_t lo = 0, hi = c->n_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_ids && c->ids[lo] == id ? (long long)lo : -1;
}

static int osm_node(const void *user, const readosm_node *nd)
{
    osm_ctx *c = (osm_ctx *)user;
    if (c->progress && (++c->seen & 0xfffff) == 0)
        c->progress(c->pctx, "read nodes", c->seen, 0);
    long long i = find_id(c, nd->id);
    if (i >= 0) {
        c->lon[i] = nd->longitude;
        c->lat[i] = nd->latitude;
    }
    return READOSM_OK;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int ends_with(const char *s, const char *suf);

/* readosm 1.1.0 dereferences NULL when a <tag> lacks k or v, or a <member> lacks type, ref
 * or role (a crash, found by fuzz/fuzz_osm_xml.c). So an XML file is scanned first, as a
 * stream, and refused if any such element is incomplete. Entity declarations (which could
 * smuggle elements past the scan) and NUL bytes (UTF-16, which the byte scan cannot read)
 * are refused too; OSM files use neither. */
typedef struct xscan {
    int st; /* 0 text, 1 element name, 2 inside a <tag>/<member> start tag */
    char name[16], tok[16];
    size_t nl, tl;
    char quote;
    int gap;  /* white space seen since the last name character */
    int kind; /* 1 tag, 2 member */
    unsigned have;
} xscan;

static int name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':' || c == '-' || c == '.' || c == '!';
}

/* Feeds one byte; returns -1 when the input must be refused. */
static int xscan_byte(xscan *x, int c)
{
    if (c == 0)
        return -1;
    switch (x->st) {
    case 0:
        if (c == '<') {
            x->st = 1;
            x->nl = 0;
        }
        return 0;
    case 1:
        if (name_char(c) && x->nl + 1 < sizeof(x->name)) {
            x->name[x->nl++] = (char)c;
            return 0;
        }
        x->name[x->nl] = '\0';
        if (strncmp(x->name, "!ENTITY", 7) == 0)
            return -1;
        x->kind = !strcmp(x->name, "tag") ? 1 : !strcmp(x->name, "member") ? 2 : 0;
        if (x->kind == 0 || name_char(c)) {
            x->st = c == '<' ? 1 : 0;
            x->nl = 0;
            return 0;
        }
        x->st = 2;
        x->have = 0;
        x->tl = 0;
        x->gap = 0;
        x->quote = 0;
        /* fall through: c belongs to the start tag */
        /* FALLTHRU */
    default:
        if (x->quote) {
            if (c == x->quote)
                x->quote = 0;
            return 0;
        }
        if (c == '"' || c == '\'') {
            x->quote = (char)c;
            return 0;
        }
        if (c == '=') {
            x->tok[x->tl] = '\0';
            if (!strcmp(x->tok, "k") || !strcmp(x->tok, "type"))
                x->have |= 1;
            else if (!strcmp(x->tok, "v") || !strcmp(x->tok, "ref"))
                x->have |= 2;
            else if (!strcmp(x->tok, "role"))
                x->have |= 4;
            x->tl = 0;
            return 0;
        }
        if (c == '>') {
            unsigned need = x->kind == 1 ? 3 : 7;
            if ((x->have & need) != need)
                return -1;
            x->st = 0;
            return 0;
        }
        if (name_char(c)) {
            if (x->gap)
                x->tl = 0; /* a new name after white space */
            x->gap = 0;
            if (x->tl + 1 < sizeof(x->tok))
                x->tok[x->tl++] = (char)c;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            x->gap = 1;
        } else {
            x->tl = 0;
        }
        return 0;
    }
}

static sg_err osm_xml_precheck(const char *path, char *msg, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    xscan x = {0};
    unsigned char buf[65536];
    size_t got;
    uint64_t off = 0;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (size_t i = 0; i < got; i++)
            if (xscan_byte(&x, buf[i])) {
                fclose(f);
                return sg_errf(SG_CORRUPT, msg, n,
                               "%s: byte %llu: incomplete <tag>/<member>, entity declaration or "
                               "NUL byte; not read",
                               path, (unsigned long long)(off + i));
            }
        off += got;
    }
    int bad = ferror(f);
    fclose(f);
    return bad ? sg_errf(SG_IO, msg, n, "%s: read error", path) : SG_OK;
}

static sg_err read_osm(sg_route_graph *g, const char *path, const sg_route_profile *p,
                       sg_route_progress_fn progress, void *pctx, char *msg, size_t n)
{
    osm_ctx c = {.p = p, .progress = progress, .pctx = pctx};
    const void *h = NULL;
    sg_err err = SG_OK;
    idvec iv = {0};
    int is_xml = !ends_with(path, ".pbf");
    if (is_xml) {
        sg_err perr = osm_xml_precheck(path, msg, n);
        if (perr)
            return perr;
    }
    int rc = readosm_open(path, &h);
    if (rc != READOSM_OK) {
        readosm_close(h);
        return sg_errf(rc == READOSM_FILE_NOT_FOUND ? SG_IO : SG_UNSUPPORTED, msg, n,
                       "%s: readosm cannot open it (code %d)", path, rc);
    }
    rc = readosm_parse(h, &c, NULL, osm_way, NULL);
    readosm_close(h);
    h = NULL;
    if (rc != READOSM_OK) {
        err = c.err ? c.err : SG_CORRUPT;
        sg_errf(err, msg, n, "%s: %s (readosm code %d)", path,
                c.err ? sg_strerror(c.err) : "parse error in ways", rc);
        goto done;
    }
    if (c.n_refs) {
        c.ids = malloc(c.n_refs * sizeof(*c.ids));
        if (c.ids == NULL) {
            err = sg_errf(SG_NOMEM, msg, n, "%s: out of memory", path);
            goto done;
        }
        memcpy(c.ids, c.refs, c.n_refs * sizeof(*c.ids));
        qsort(c.ids, c.n_refs, sizeof(*c.ids), cmp_ll);
        size_t k = 0;
        for (size_t i = 0; i < c.n_refs; i++)
            if (k == 0 || c.ids[k - 1] != c.ids[i])
                c.ids[k++] = c.ids[i];
        c.n_ids = k;
        c.lon = malloc(k * sizeof(double));
        c.lat = malloc(k * sizeof(double));
        if (c.lon == NULL || c.lat == NULL) {
            err = sg_errf(SG_NOMEM, msg, n, "%s: out of memory", path);
            goto done;
        }
        for (size_t i = 0; i < k; i++)
            c.lon[i] = c.lat[i] = NAN;
        c.seen = 0;
        rc = readosm_open(path, &h);
        if (rc == READOSM_OK)
            rc = readosm_parse(h, &c, osm_node, NULL, NULL);
        readosm_close(h);
        if (rc != READOSM_OK) {
            err =
                sg_errf(SG_CORRUPT, msg, n, "%s: parse error in nodes (readosm code %d)", path, rc);
            goto done;
        }
    }
    for (size_t w = 0; w < c.n_ways && !err; w++) {
        iv.n = 0;
        for (size_t r = c.way_start[w]; r <= c.way_start[w + 1] && !err; r++) {
            long long i = r < c.way_start[w + 1] ? find_id(&c, c.refs[r]) : -1;
            if (i < 0 || isnan(c.lon[i])) {
                /* a node missing from the extract cuts the way: keep the pieces */
                err = add_way(g, iv.v, iv.n, c.way_kmh[w], c.way_oneway[w]);
                iv.n = 0;
                continue;
            }
            uint32_t id;
            err = sg_route_graph_node(g, c.lon[i], c.lat[i], &id);
            if (err == SG_INVAL) {
                err = SG_OK; /* a node with impossible coordinates: cut there too */
                continue;
            }
            if (!err)
                err = idvec_push(&iv, id);
        }
    }
    if (err)
        sg_errf(err, msg, n, "%s: %s", path, sg_strerror(err));
done:
    free(iv.v);
    free(c.refs);
    free(c.way_start);
    free(c.way_kmh);
    free(c.way_oneway);
    free(c.ids);
    free(c.lon);
    free(c.lat);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Anything else through GDAL/OGR (e.g. Mapbox vector tiles), reprojected to WGS84.
 * ------------------------------------------------------------------------------------- */

static const char *const ogr_keys[] = {"highway", "oneway",        "maxspeed", "access", "motorcar",
                                       "vehicle", "motor_vehicle", "junction", "area"};
#define N_OGR_KEYS (sizeof(ogr_keys) / sizeof(ogr_keys[0]))

static sg_err ogr_line(sg_route_graph *g, OGRGeometryH line, double kmh, int ow, idvec *iv)
{
    int np = OGR_G_GetPointCount(line);
    iv->n = 0;
    for (int i = 0; i < np; i++) {
        uint32_t id;
        sg_err err = sg_route_graph_node(g, OGR_G_GetX(line, i), OGR_G_GetY(line, i), &id);
        if (err == SG_INVAL)
            return SG_CORRUPT;
        if (err || (err = idvec_push(iv, id)))
            return err;
    }
    return add_way(g, iv->v, iv->n, kmh, ow);
}

static sg_err read_ogr(sg_route_graph *g, const char *path, const sg_route_profile *p,
                       sg_route_progress_fn progress, void *pctx, char *msg, size_t n)
{
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (ds == NULL)
        return sg_errf(SG_UNSUPPORTED, msg, n, "%s: not a road file GDAL can read", path);
    OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(wgs, 4326);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    sg_err err = SG_OK;
    idvec iv = {0};
    uint64_t seen = 0;
    for (int li = 0; li < GDALDatasetGetLayerCount(ds) && !err; li++) {
        OGRLayerH lyr = GDALDatasetGetLayer(ds, li);
        OGRFeatureDefnH defn = OGR_L_GetLayerDefn(lyr);
        int fidx[N_OGR_KEYS];
        for (size_t k = 0; k < N_OGR_KEYS; k++)
            fidx[k] = OGR_FD_GetFieldIndex(defn, ogr_keys[k]);
        if (fidx[0] < 0)
            continue; /* no highway field: no roads in this layer */
        OGRCoordinateTransformationH ct = NULL;
        OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(lyr);
        if (srs && !OSRIsSame(srs, wgs)) {
            ct = OCTNewCoordinateTransformation(srs, wgs);
            if (ct == NULL) {
                err = sg_errf(SG_UNSUPPORTED, msg, n, "%s: cannot reproject layer %d to WGS84",
                              path, li);
                break;
            }
        }
        OGR_L_ResetReading(lyr);
        OGRFeatureH f;
        while (!err && (f = OGR_L_GetNextFeature(lyr)) != NULL) {
            char vbuf[N_OGR_KEYS][64];
            const char *keys[N_OGR_KEYS], *vals[N_OGR_KEYS];
            size_t nt = 0;
            for (size_t k = 0; k < N_OGR_KEYS; k++) {
                if (fidx[k] < 0 || !OGR_F_IsFieldSetAndNotNull(f, fidx[k]))
                    continue;
                snprintf(vbuf[nt], sizeof(vbuf[nt]), "%s", OGR_F_GetFieldAsString(f, fidx[k]));
                keys[nt] = ogr_keys[k];
                vals[nt] = vbuf[nt];
                nt++;
            }
            double kmh;
            int ow;
            sg_route_profile_eval(p, nt, keys, vals, &kmh, &ow);
            OGRGeometryH geom = kmh > 0 ? OGR_F_GetGeometryRef(f) : NULL;
            if (geom && ct && OGR_G_Transform(geom, ct) != OGRERR_NONE)
                geom = NULL; /* outside the transformation's domain: skip the feature */
            if (geom) {
                OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(geom));
                if (t == wkbLineString) {
                    err = ogr_line(g, geom, kmh, ow, &iv);
                } else if (t == wkbMultiLineString) {
                    for (int k = 0; k < OGR_G_GetGeometryCount(geom) && !err; k++)
                        err = ogr_line(g, OGR_G_GetGeometryRef(geom, k), kmh, ow, &iv);
                }
            }
            OGR_F_Destroy(f);
            if (progress && (++seen & 0xffff) == 0)
                progress(pctx, "read features", seen, 0);
        }
        if (err)
            sg_errf(err, msg, n, "%s: layer %d: %s", path, li, sg_strerror(err));
        if (ct)
            OCTDestroyCoordinateTransformation(ct);
    }
    free(iv.v);
    OSRDestroySpatialReference(wgs);
    GDALClose(ds);
    return err;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    if (a < b)
        return 0;
    for (size_t i = 0; i < b; i++)
        if (tolower((unsigned char)s[a - b + i]) != suf[i])
            return 0;
    return 1;
}

sg_err sg_route_graph_read(sg_route_graph *g, const char *path, const sg_route_profile *p,
                           sg_route_progress_fn progress, void *ctx, char *msg, size_t n)
{
    if (g == NULL || path == NULL)
        return sg_errf(SG_INVAL, msg, n, "no graph or path");
    sg_route_profile *own = NULL;
    if (p == NULL) {
        sg_err err = sg_route_profile_parse(default_profile, strlen(default_profile), &own, msg, n);
        if (err)
            return err;
        p = own;
    }
    sg_err err;
    if (ends_with(path, ".osm") || ends_with(path, ".pbf")) {
        err = read_osm(g, path, p, progress, ctx, msg, n);
    } else if (ends_with(path, ".json") || ends_with(path, ".geojson")) {
        json_error_t je;
        json_t *root = json_load_file(path, 0, &je);
        if (root == NULL) {
            FILE *f = fopen(path, "rb");
            err = f ? SG_CORRUPT : SG_IO;
            if (f)
                fclose(f);
            err = sg_errf(err, msg, n, "%s: line %d: %s", path, je.line, je.text);
        } else {
            err = geojson_root(g, root, p, msg, n);
            json_decref(root);
        }
    } else {
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            err = sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
        } else {
            fclose(f);
            err = read_ogr(g, path, p, progress, ctx, msg, n);
        }
    }
    sg_route_profile_free(own);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Contraction
 * ------------------------------------------------------------------------------------- */

/* One neighbour of a node during contraction: times both ways (INF when absent), with the
 * middle node and length of each. */
typedef struct nbr {
    uint32_t v;
    uint32_t wo, wi; /* self->v, v->self */
    uint32_t mo, mi;
    float lo, li;
} nbr;

typedef struct adj {
    nbr *e;
    uint32_t n, cap;
} adj;

/* An edge of the final hierarchy, in build-time node ids. */
typedef struct upedge {
    uint32_t owner, to, ms, mid;
    float m;
} upedge;

typedef struct upvec {
    upedge *e;
    size_t n, cap;
} upvec;

typedef struct hitem {
    uint32_t key, v;
} hitem;

typedef struct contractor {
    size_t n;
    adj *a;
    /* priority queue over nodes, indexed (pos[v] = slot or INF) */
    int32_t *prio;
    uint32_t *heap, *hpos;
    size_t hn;
    uint32_t *deleted; /* contracted neighbours */
    /* witness search */
    uint32_t *dist, *stamp, cur;
    uint32_t *tmark, tround; /* targets of the current witness search */
    hitem *wh;
    size_t whn, whcap;
    upvec fwd, bwd;
    uint32_t *rank;
    uint64_t shortcuts;
} contractor;

static nbr *find_nbr(adj *a, uint32_t v)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (a->e[i].v == v)
            return &a->e[i];
    return NULL;
}

static nbr *get_nbr(adj *a, uint32_t v)
{
    nbr *e = find_nbr(a, v);
    if (e)
        return e;
    if (a->n == a->cap) {
        uint32_t nc = a->cap ? a->cap * 2 : 4;
        nbr *ne = realloc(a->e, nc * sizeof(*ne));
        if (ne == NULL)
            return NULL;
        a->e = ne;
        a->cap = nc;
    }
    e = &a->e[a->n++];
    *e = (nbr){v, INF, INF, SGR_NONE, SGR_NONE, 0, 0};
    return e;
}

/* Sets (or lowers) the time u->v. */
static sg_err set_arc(contractor *c, uint32_t u, uint32_t v, uint32_t w, uint32_t mid, float m)
{
    nbr *eu = get_nbr(&c->a[u], v);
    if (eu == NULL)
        return SG_NOMEM;
    if (w < eu->wo) {
        eu->wo = w;
        eu->mo = mid;
        eu->lo = m;
    }
    nbr *ev = get_nbr(&c->a[v], u);
    if (ev == NULL)
        return SG_NOMEM;
    if (w < ev->wi) {
        ev->wi = w;
        ev->mi = mid;
        ev->li = m;
    }
    return SG_OK;
}

static int wh_push(contractor *c, uint32_t key, uint32_t v)
{
    if (c->whn == c->whcap) {
        size_t nc = c->whcap ? c->whcap * 2 : 256;
        hitem *nh = realloc(c->wh, nc * sizeof(*nh));
        if (nh == NULL)
            return -1;
        c->wh = nh;
        c->whcap = nc;
    }
    size_t i = c->whn++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (c->wh[p].key <= key)
            break;
        c->wh[i] = c->wh[p];
        i = p;
    }
    c->wh[i] = (hitem){key, v};
    return 0;
}

static hitem wh_pop(contractor *c)
{
    hitem top = c->wh[0], last = c->wh[--c->whn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= c->whn)
            break;
        if (l + 1 < c->whn && c->wh[l + 1].key < c->wh[l].key)
            l++;
        if (c->wh[l].key >= last.key)
            break;
        c->wh[i] = c->wh[l];
        i = l;
    }
    if (c->whn)
        c->wh[i] = last;
    return top;
}

static uint32_t wdist(const contractor *c, uint32_t v)
{
    return c->stamp[v] == c->cur ? c->dist[v] : INF;
}

/* Dijkstra from s over the remaining graph, avoiding `skip`, up to `bound` and at most
 * `limit` settled nodes. Results in dist/stamp of the current round. */
static int witness(contractor *c, uint32_t s, uint32_t skip, uint32_t bound, unsigned limit,
                   uint32_t targets)
{
    if (++c->cur == 0) {
        memset(c->stamp, 0, c->n * sizeof(*c->stamp));
        c->cur = 1;
    }
    c->whn = 0;
    c->stamp[s] = c->cur;
    c->dist[s] = 0;
    if (wh_push(c, 0, s))
        return -1;
    unsigned settled = 0;
    while (c->whn) {
        hitem h = wh_pop(c);
        if (h.key != wdist(c, h.v))
            continue;
        if (h.key > bound || ++settled > limit)
            break;
        if (c->tmark[h.v] == c->tround && --targets == 0)
            break; /* every node a shortcut would lead to is settled */
        adj *a = &c->a[h.v];
        for (uint32_t i = 0; i < a->n; i++) {
            nbr *e = &a->e[i];
            if (e->wo == INF || e->v == skip)
                continue;
            uint32_t nd = h.key + e->wo;
            if (nd < wdist(c, e->v)) {
                c->stamp[e->v] = c->cur;
                c->dist[e->v] = nd;
                if (wh_push(c, nd, e->v))
                    return -1;
            }
        }
    }
    return 0;
}

/* Contracts v (apply != 0) or counts the shortcuts its contraction would add. Returns the
 * count, or -1 when memory runs out. */
static long contract_node(contractor *c, uint32_t v, int apply)
{
    adj *a = &c->a[v];
    long added = 0;
    unsigned limit = apply ? 1000 : 150;
    for (uint32_t i = 0; i < a->n; i++) {
        nbr in = a->e[i];
        if (in.wi == INF)
            continue;
        uint32_t bound = 0;
        for (uint32_t j = 0; j < a->n; j++)
            if (j != i && a->e[j].wo != INF && in.wi + a->e[j].wo > bound)
                bound = in.wi + a->e[j].wo;
        if (bound == 0)
            continue;
        if (++c->tround == 0) {
            memset(c->tmark, 0, c->n * sizeof(*c->tmark));
            c->tround = 1;
        }
        uint32_t targets = 0;
        for (uint32_t j = 0; j < a->n; j++)
            if (j != i && a->e[j].wo != INF && c->tmark[a->e[j].v] != c->tround) {
                c->tmark[a->e[j].v] = c->tround;
                targets++;
            }
        if (witness(c, in.v, v, bound, limit, targets))
            return -1;
        for (uint32_t j = 0; j < a->n; j++) {
            nbr out = a->e[j];
            if (j == i || out.wo == INF)
                continue;
            uint32_t w = in.wi + out.wo;
            if (wdist(c, out.v) <= w)
                continue;
            added++;
            if (apply) {
                if (set_arc(c, in.v, out.v, w, v, in.li + out.lo))
                    return -1;
                a = &c->a[v]; /* set_arc never touches v's list, but keep it obvious */
            }
        }
    }
    return added;
}

static int32_t priority(contractor *c, uint32_t v, int *oom)
{
    long s = contract_node(c, v, 0);
    if (s < 0) {
        *oom = 1;
        return 0;
    }
    long removed = 0;
    for (uint32_t i = 0; i < c->a[v].n; i++)
        removed += (c->a[v].e[i].wo != INF) + (c->a[v].e[i].wi != INF);
    /* edge difference, plus contracted neighbours to spread contraction evenly; weighting
     * the hierarchy level in as well made no measurable difference on Gothenburg */
    long p = 2 * (s - removed) + (long)c->deleted[v];
    return (int32_t)p;
}

static void heap_swap(contractor *c, size_t i, size_t j)
{
    uint32_t t = c->heap[i];
    c->heap[i] = c->heap[j];
    c->heap[j] = t;
    c->hpos[c->heap[i]] = (uint32_t)i;
    c->hpos[c->heap[j]] = (uint32_t)j;
}

static int heap_less(const contractor *c, size_t i, size_t j)
{
    int32_t a = c->prio[c->heap[i]], b = c->prio[c->heap[j]];
    return a < b || (a == b && c->heap[i] < c->heap[j]);
}

static void heap_up(contractor *c, size_t i)
{
    while (i > 0 && heap_less(c, i, (i - 1) / 2)) {
        heap_swap(c, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(contractor *c, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < c->hn && heap_less(c, l, m))
            m = l;
        if (l + 1 < c->hn && heap_less(c, l + 1, m))
            m = l + 1;
        if (m == i)
            return;
        heap_swap(c, i, m);
        i = m;
    }
}

static void heap_update(contractor *c, uint32_t v, int32_t p)
{
    int32_t old = c->prio[v];
    c->prio[v] = p;
    if (c->hpos[v] == INF)
        return;
    if (p < old)
        heap_up(c, c->hpos[v]);
    else
        heap_down(c, c->hpos[v]);
}

static sg_err up_push(upvec *u, upedge e)
{
    if (u->n == u->cap) {
        size_t nc = u->cap ? u->cap * 2 : 65536;
        upedge *ne = realloc(u->e, nc * sizeof(*ne));
        if (ne == NULL)
            return SG_NOMEM;
        u->e = ne;
        u->cap = nc;
    }
    u->e[u->n++] = e;
    return SG_OK;
}

static void contractor_fini(contractor *c)
{
    if (c->a)
        for (size_t i = 0; i < c->n; i++)
            free(c->a[i].e);
    free(c->a);
    free(c->prio);
    free(c->heap);
    free(c->hpos);
    free(c->deleted);
    free(c->dist);
    free(c->stamp);
    free(c->tmark);
    free(c->wh);
    free(c->fwd.e);
    free(c->bwd.e);
    free(c->rank);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static sg_err contract_all(contractor *c, sg_route_progress_fn progress, void *ctx)
{
    int oom = 0;
    size_t n = c->n;
    for (uint32_t v = 0; v < n; v++) {
        c->prio[v] = priority(c, v, &oom);
        c->heap[v] = v;
        c->hpos[v] = v;
    }
    if (oom)
        return SG_NOMEM;
    c->hn = n;
    for (size_t i = n / 2; i-- > 0;)
        heap_down(c, i);
    size_t done = 0;
    while (c->hn) {
        uint32_t v = c->heap[0];
        int32_t p = priority(c, v, &oom);
        if (oom)
            return SG_NOMEM;
        if (p > c->prio[v]) {
            heap_update(c, v, p);
            if (c->heap[0] != v)
                continue; /* lazy update: someone else is cheaper now */
        }
        /* pop v */
        heap_swap(c, 0, --c->hn);
        c->hpos[v] = INF;
        heap_down(c, 0);
        c->rank[v] = (uint32_t)done++;
        adj *a = &c->a[v];
        for (uint32_t i = 0; i < a->n; i++) {
            nbr e = a->e[i];
            if (e.wo != INF && up_push(&c->fwd, (upedge){v, e.v, e.wo, e.mo, e.lo}))
                return SG_NOMEM;
            if (e.wi != INF && up_push(&c->bwd, (upedge){v, e.v, e.wi, e.mi, e.li}))
                return SG_NOMEM;
        }
        long s = contract_node(c, v, 1);
        if (s < 0)
            return SG_NOMEM;
        c->shortcuts += (uint64_t)s;
        a = &c->a[v];
        for (uint32_t i = 0; i < a->n; i++) {
            adj *b = &c->a[a->e[i].v];
            for (uint32_t j = 0; j < b->n; j++)
                if (b->e[j].v == v) {
                    b->e[j] = b->e[--b->n];
                    break;
                }
            c->deleted[a->e[i].v]++;
        }
        for (uint32_t i = 0; i < a->n; i++) {
            uint32_t u = a->e[i].v;
            int32_t np = priority(c, u, &oom);
            if (oom)
                return SG_NOMEM;
            heap_update(c, u, np);
        }
        free(a->e);
        a->e = NULL;
        a->n = a->cap = 0;
        if (progress && (done % 65536 == 0 || done == n))
            progress(ctx, "contract", done, n);
    }
    return SG_OK;
}

/* ---------------------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------------------- */

typedef struct writer {
    FILE *f;
    crypto_generichash_state hs;
    uint64_t off;
    int failed;
} writer;

static void w_bytes(writer *w, const void *p, size_t len)
{
    if (len == 0 || w->failed)
        return;
    if (fwrite(p, 1, len, w->f) != len)
        w->failed = 1;
    crypto_generichash_update(&w->hs, p, len);
    w->off += len;
}

static void w_align(writer *w)
{
    static const uint8_t zero[8];
    if (w->off % 8)
        w_bytes(w, zero, 8 - w->off % 8);
}

static int cmp_owner(const void *a, const void *b)
{
    const upedge *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return (x->to > y->to) - (x->to < y->to);
}

/* Index of the edge owned by `owner` that leads to `to` in a CSR list, or SGR_NONE. */
static uint32_t csr_find(const uint32_t *first, const sgr_edge *e, uint32_t owner, uint32_t to)
{
    for (uint32_t i = first[owner]; i < first[owner + 1]; i++)
        if (e[i].to == to)
            return i;
    return SGR_NONE;
}

/* Union-find root with path halving. */
static uint32_t uf_find(uint32_t *uf, uint32_t v)
{
    while (uf[v] != v) {
        uf[v] = uf[uf[v]];
        v = uf[v];
    }
    return v;
}

typedef struct segkey {
    uint32_t a, b, ms_ab, ms_ba;
    float m;
} segkey;

static int cmp_seg(const void *x, const void *y)
{
    const segkey *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

sg_err sg_route_graph_contract(sg_route_graph *g, const char *path, sg_route_progress_fn progress,
                               void *ctx, sg_route_build_stats *stats, char *msg, size_t n)
{
    if (g == NULL || path == NULL)
        return sg_errf(SG_INVAL, msg, n, "no graph or output path");
    if (g->n_edges == 0)
        return sg_errf(SG_INVAL, msg, n, "no usable roads in the input");
    if (sodium_init() < 0)
        return sg_errf(SG_NOMEM, msg, n, "libsodium failed to initialise");
    sg_err err = SG_NOMEM;
    contractor c = {0};
    size_t nn = g->n_nodes;
    uint32_t *first[2] = {NULL, NULL};
    sgr_edge *ed[2] = {NULL, NULL};
    sgr_aux *ax[2] = {NULL, NULL};
    segkey *segs = NULL;
    sgr_seg *oseg = NULL;
    sgr_pos *opos = NULL;
    uint32_t *nodeseg = NULL, *gfirst = NULL, *gsegs = NULL, *uf = NULL, *comp_size = NULL;
    char *tmp = NULL;
    FILE *f = NULL;
    size_t n_segs = 0;
    double t0 = now_s(), t1;

    /* segments: one per unordered node pair, fastest time each way */
    segs = malloc(g->n_edges * sizeof(*segs));
    if (segs == NULL)
        goto fail;
    for (size_t i = 0; i < g->n_edges; i++) {
        bedge e = g->edges[i];
        if (e.u < e.v)
            segs[i] = (segkey){e.u, e.v, e.ms, INF, e.m};
        else
            segs[i] = (segkey){e.v, e.u, INF, e.ms, e.m};
    }
    qsort(segs, g->n_edges, sizeof(*segs), cmp_seg);
    for (size_t i = 0; i < g->n_edges; i++) {
        if (n_segs && segs[n_segs - 1].a == segs[i].a && segs[n_segs - 1].b == segs[i].b) {
            segkey *s = &segs[n_segs - 1];
            if (segs[i].ms_ab < s->ms_ab)
                s->ms_ab = segs[i].ms_ab;
            if (segs[i].ms_ba < s->ms_ba)
                s->ms_ba = segs[i].ms_ba;
            if (segs[i].m < s->m)
                s->m = segs[i].m;
        } else {
            segs[n_segs++] = segs[i];
        }
    }
    free(g->edges); /* consumed: the segments now carry everything */
    g->edges = NULL;
    size_t n_road_edges = 0;

    c.n = nn;
    c.a = calloc(nn, sizeof(*c.a));
    c.prio = malloc(nn * sizeof(*c.prio));
    c.heap = malloc(nn * sizeof(*c.heap));
    c.hpos = malloc(nn * sizeof(*c.hpos));
    c.deleted = calloc(nn, sizeof(*c.deleted));
    c.dist = malloc(nn * sizeof(*c.dist));
    c.stamp = calloc(nn, sizeof(*c.stamp));
    c.tmark = calloc(nn, sizeof(*c.tmark));
    c.rank = malloc(nn * sizeof(*c.rank));
    if (!c.a || !c.prio || !c.heap || !c.hpos || !c.deleted || !c.dist || !c.stamp || !c.tmark ||
        !c.rank)
        goto fail;
    for (size_t i = 0; i < n_segs; i++) {
        segkey s = segs[i];
        if (s.ms_ab != INF) {
            n_road_edges++;
            if (set_arc(&c, s.a, s.b, s.ms_ab, SGR_NONE, s.m))
                goto fail;
        }
        if (s.ms_ba != INF) {
            n_road_edges++;
            if (set_arc(&c, s.b, s.a, s.ms_ba, SGR_NONE, s.m))
                goto fail;
        }
    }
    err = contract_all(&c, progress, ctx);
    if (err)
        goto fail;
    err = SG_NOMEM;
    t1 = now_s();

    /* final lists in rank numbering */
    upvec *uv[2] = {&c.fwd, &c.bwd};
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < uv[d]->n; i++) {
            upedge *e = &uv[d]->e[i];
            e->owner = c.rank[e->owner];
            e->to = c.rank[e->to];
            if (e->mid != SGR_NONE)
                e->mid = c.rank[e->mid];
        }
        if (uv[d]->n)
            qsort(uv[d]->e, uv[d]->n, sizeof(upedge), cmp_owner);
        first[d] = calloc(nn + 1, sizeof(uint32_t));
        ed[d] = malloc((uv[d]->n ? uv[d]->n : 1) * sizeof(sgr_edge));
        ax[d] = malloc((uv[d]->n ? uv[d]->n : 1) * sizeof(sgr_aux));
        if (!first[d] || !ed[d] || !ax[d])
            goto fail;
        for (size_t i = 0; i < uv[d]->n; i++) {
            upedge e = uv[d]->e[i];
            first[d][e.owner + 1]++;
            ed[d][i] = (sgr_edge){e.to, e.ms};
            ax[d][i] = (sgr_aux){e.mid, SGR_NONE, SGR_NONE, e.m};
        }
        for (size_t v = 0; v < nn; v++)
            first[d][v + 1] += first[d][v];
    }
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < uv[d]->n; i++) {
            uint32_t mid = ax[d][i].mid;
            if (mid == SGR_NONE)
                continue;
            uint32_t owner = uv[d]->e[i].owner, to = ed[d][i].to;
            uint32_t p = d == 0 ? owner : to, q = d == 0 ? to : owner; /* edge p->q */
            ax[d][i].first = csr_find(first[1], ed[1], mid, p);
            ax[d][i].second = csr_find(first[0], ed[0], mid, q);
            if (ax[d][i].first == SGR_NONE || ax[d][i].second == SGR_NONE) {
                err = sg_errf(SG_CORRUPT, msg, n, "internal error: shortcut halves missing");
                goto fail;
            }
        }
    }

    /* positions, segments and the grid index, in rank numbering */
    /* connected pieces of road, so that snapping can avoid small ones */
    uf = malloc(nn * sizeof(*uf));
    comp_size = calloc(nn, sizeof(*comp_size));
    if (!uf || !comp_size)
        goto fail;
    for (uint32_t v = 0; v < nn; v++)
        uf[v] = v;
    for (size_t i = 0; i < n_segs; i++) {
        uint32_t ra = uf_find(uf, segs[i].a), rb = uf_find(uf, segs[i].b);
        if (ra != rb)
            uf[ra] = rb;
    }
    uint32_t largest = 0, small;
    for (uint32_t v = 0; v < nn; v++) {
        uint32_t sz = ++comp_size[uf_find(uf, v)];
        if (sz > largest)
            largest = sz;
    }
    small = largest < SGR_SMALL_COMPONENT ? largest : SGR_SMALL_COMPONENT;
    opos = malloc(nn * sizeof(*opos));
    oseg = malloc(n_segs * sizeof(*oseg));
    nodeseg = malloc(nn * sizeof(*nodeseg));
    if (!opos || !oseg || !nodeseg)
        goto fail;
    memset(nodeseg, 0xff, nn * sizeof(*nodeseg));
    double lon0 = 1e9, lat0 = 1e9, lon1 = -1e9, lat1 = -1e9;
    for (size_t v = 0; v < nn; v++) {
        opos[c.rank[v]] = g->pos[v];
        double lo = g->pos[v].lon / SGR_COORD_SCALE, la = g->pos[v].lat / SGR_COORD_SCALE;
        lon0 = fmin(lon0, lo);
        lon1 = fmax(lon1, lo);
        lat0 = fmin(lat0, la);
        lat1 = fmax(lat1, la);
    }
    for (size_t i = 0; i < n_segs; i++) {
        segkey s = segs[i];
        oseg[i] = (sgr_seg){c.rank[s.a], c.rank[s.b],
                            s.ms_ab,     s.ms_ba,
                            s.m,         comp_size[uf_find(uf, s.a)] < small ? SGR_SEG_SMALL : 0};
        nodeseg[oseg[i].a] = nodeseg[oseg[i].b] = (uint32_t)i;
    }
    /* cells roughly square on the ground, about two segments per cell */
    double coslat = cos((lat0 + lat1) / 2 * M_PI / 180);
    if (coslat < 0.01)
        coslat = 0.01;
    double wdeg = (lon1 - lon0) * coslat + 1e-6, hdeg = lat1 - lat0 + 1e-6;
    double cell = sqrt(wdeg * hdeg / ((double)n_segs / 2 + 1));
    uint32_t gnx = (uint32_t)fmin(4096, fmax(1, ceil(wdeg / cell)));
    uint32_t gny = (uint32_t)fmin(4096, fmax(1, ceil(hdeg / cell)));
    double dlon = ((lon1 - lon0) + 1e-6) / gnx, dlat = ((lat1 - lat0) + 1e-6) / gny;
    size_t ncell = (size_t)gnx * gny;
    gfirst = calloc(ncell + 1, sizeof(*gfirst));
    if (gfirst == NULL)
        goto fail;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n_segs; i++) {
            sgr_pos pa = opos[oseg[i].a], pb = opos[oseg[i].b];
            double x0 = (fmin(pa.lon, pb.lon) / SGR_COORD_SCALE - lon0) / dlon;
            double x1 = (fmax(pa.lon, pb.lon) / SGR_COORD_SCALE - lon0) / dlon;
            double y0 = (fmin(pa.lat, pb.lat) / SGR_COORD_SCALE - lat0) / dlat;
            double y1 = (fmax(pa.lat, pb.lat) / SGR_COORD_SCALE - lat0) / dlat;
            uint32_t cx0 = (uint32_t)fmax(0, fmin(gnx - 1, floor(x0)));
            uint32_t cx1 = (uint32_t)fmax(0, fmin(gnx - 1, floor(x1)));
            uint32_t cy0 = (uint32_t)fmax(0, fmin(gny - 1, floor(y0)));
            uint32_t cy1 = (uint32_t)fmax(0, fmin(gny - 1, floor(y1)));
            for (uint32_t y = cy0; y <= cy1; y++)
                for (uint32_t x = cx0; x <= cx1; x++) {
                    size_t cidx = (size_t)y * gnx + x;
                    if (pass == 0)
                        gfirst[cidx + 1]++;
                    else
                        gsegs[gfirst[cidx]++] = (uint32_t)i;
                }
        }
        if (pass == 0) {
            for (size_t i = 0; i < ncell; i++)
                gfirst[i + 1] += gfirst[i];
            gsegs = malloc((gfirst[ncell] ? gfirst[ncell] : 1) * sizeof(*gsegs));
            if (gsegs == NULL)
                goto fail;
        } else {
            /* the fill advanced each start to the next cell's start: shift back */
            memmove(gfirst + 1, gfirst, ncell * sizeof(*gfirst));
            gfirst[0] = 0;
        }
    }

    /* write */
    sgr_header h;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, SGR_MAGIC, sizeof(SGR_MAGIC));
    h.version = SGR_VERSION;
    h.endian = SGR_ENDIAN;
    h.header_size = sizeof(h);
    h.n_sections = SGR_N_SEC;
    h.n_nodes = (uint32_t)nn;
    h.n_segs = (uint32_t)n_segs;
    h.n_fwd = (uint32_t)c.fwd.n;
    h.n_bwd = (uint32_t)c.bwd.n;
    h.grid_nx = gnx;
    h.grid_ny = gny;
    h.grid_lon0 = lon0;
    h.grid_lat0 = lat0;
    h.grid_dlon = dlon;
    h.grid_dlat = dlat;
    const void *data[SGR_N_SEC] = {opos,  nodeseg, first[0], ed[0],  ax[0], first[1],
                                   ed[1], ax[1],   oseg,     gfirst, gsegs};
    uint64_t sizes[SGR_N_SEC] = {nn * sizeof(sgr_pos),
                                 nn * sizeof(uint32_t),
                                 (nn + 1) * sizeof(uint32_t),
                                 c.fwd.n * sizeof(sgr_edge),
                                 c.fwd.n * sizeof(sgr_aux),
                                 (nn + 1) * sizeof(uint32_t),
                                 c.bwd.n * sizeof(sgr_edge),
                                 c.bwd.n * sizeof(sgr_aux),
                                 n_segs * sizeof(sgr_seg),
                                 (ncell + 1) * sizeof(uint32_t),
                                 (uint64_t)gfirst[ncell] * sizeof(uint32_t)};
    uint64_t off = sizeof(h);
    for (int s = 0; s < SGR_N_SEC; s++) {
        off = (off + 7) & ~(uint64_t)7;
        h.sec[s].off = off;
        h.sec[s].size = sizes[s];
        off += sizes[s];
    }
    h.file_size = off;
    size_t plen = strlen(path);
    tmp = malloc(plen + 5);
    if (tmp == NULL)
        goto fail;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        err = sg_errf(SG_IO, msg, n, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    writer w = {.f = f};
    crypto_generichash_init(&w.hs, NULL, 0, sizeof(h.checksum));
    w_bytes(&w, &h, sizeof(h));
    for (int s = 0; s < SGR_N_SEC; s++) {
        w_align(&w);
        w_bytes(&w, data[s], sizes[s]);
    }
    crypto_generichash_final(&w.hs, h.checksum, sizeof(h.checksum));
    if (!w.failed && fseek(f, (long)offsetof(sgr_header, checksum), SEEK_SET) == 0)
        w.failed = fwrite(h.checksum, 1, sizeof(h.checksum), f) != sizeof(h.checksum);
    else
        w.failed = 1;
    if (fclose(f) != 0)
        w.failed = 1;
    f = NULL;
    if (w.failed || rename(tmp, path) != 0) {
        err = sg_errf(SG_IO, msg, n, "%s: write failed: %s", path, strerror(errno));
        remove(tmp);
        goto fail;
    }
    if (progress)
        progress(ctx, "write", h.file_size, h.file_size);
    if (stats) {
        stats->n_nodes = nn;
        stats->n_edges = n_road_edges;
        stats->n_shortcuts = c.shortcuts;
        stats->n_up_edges = c.fwd.n + c.bwd.n;
        stats->file_bytes = h.file_size;
        stats->contract_s = t1 - t0;
        stats->write_s = now_s() - t1;
    }
    err = SG_OK;
fail:
    if (err == SG_NOMEM)
        sg_errf(err, msg, n, "out of memory while building the hierarchy");
    if (f) {
        fclose(f);
        remove(tmp);
    }
    contractor_fini(&c);
    for (int d = 0; d < 2; d++) {
        free(first[d]);
        free(ed[d]);
        free(ax[d]);
    }
    free(segs);
    free(oseg);
    free(opos);
    free(nodeseg);
    free(uf);
    free(comp_size);
    free(gfirst);
    free(gsegs);
    free(tmp);
    return err;
}
