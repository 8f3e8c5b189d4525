/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Area import: any GDAL vector source, any CRS, to WGS84 areas with level, code, name,
 * population and parent, plus a list of problems.
 *
 * Local governments hold their grids in every format and projection, often with broken
 * rings and with metadata that lies (Belo Horizonte's MapInfo file declares a CRS that puts
 * the city in Antarctica). So the caller can override the CRS with anything
 * OSRSetFromUserInput takes, geometry is validated and repaired with GEOS (GEOSMakeValid)
 * after reprojection, where invalidity would otherwise appear, and nothing is dropped
 * silently: every repair, dropped feature, overlap and gap is an issue with the area codes
 * concerned. Import never fails because of one bad feature; it fails only when the source
 * or the options as a whole are unusable.
 *
 * Parents come from a field, or by containment: the point-on-surface of each area is
 * looked up among the areas of the nearest coarser level (this import's and any the caller
 * already has). Overlaps are found pairwise through an STRtree (interiors that meet), gaps
 * as the holes of the union of a level. Areas in square metres are approximate (degrees
 * squared scaled by the local metres per degree), good for sizing problems, not surveying.
 */
#include <ctype.h>
#include <geos_c.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* GDAL's headers use enumerators beyond int (ogr_core.h), which -Wpedantic rejects; they
 * are not ours to fix, so silence that one warning for them alone. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#pragma GCC diagnostic pop

#include "safegrid/geo.h"

/* Metres per degree on the mean Earth sphere (R = 6371008.8 m). */
#define M_PER_DEG 111195.08
#define MAX_MSG 512

static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;

static void gdal_init(void)
{
    GDALAllRegister();
}

static const char *const level_names[SG_GEO_N_LEVELS] = {"county", "township", "community", "grid"};

const char *sg_geo_level_name(int level)
{
    return level >= 0 && level < SG_GEO_N_LEVELS ? level_names[level] : "unknown";
}

int sg_geo_level_parse(const char *s)
{
    if (s == NULL)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 1 && s[0] >= '0' && s[0] <= '3')
        return s[0] - '0';
    for (int i = 0; i < SG_GEO_N_LEVELS; i++)
        if (strlen(level_names[i]) == n && strncasecmp(s, level_names[i], n) == 0)
            return i;
    return -1;
}

const char *sg_geo_issue_name(sg_geo_issue_kind kind)
{
    static const char *const names[] = {
        "repaired",       "unrepairable", "empty", "no_code",   "duplicate_code", "bad_level",
        "bad_population", "overlap",      "gap",   "no_parent", "unknown_parent"};
    if ((int)kind < 0 || (size_t)kind >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[kind];
}

void sg_geo_import_opts_init(sg_geo_import_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->fixed_level = SG_GEO_GRID;
    o->sliver_m2 = 1.0;
}

/* ---- result building ---------------------------------------------------------------- */

/* A string set keyed by code, open addressing; values are indices into an array. */
struct codeset {
    const char **keys;
    size_t *vals;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int codeset_find(const struct codeset *cs, const char *k, size_t *val)
{
    if (cs->cap == 0)
        return 0;
    for (size_t i = hash_str(k) & (cs->cap - 1);; i = (i + 1) & (cs->cap - 1)) {
        if (cs->keys[i] == NULL)
            return 0;
        if (strcmp(cs->keys[i], k) == 0) {
            if (val)
                *val = cs->vals[i];
            return 1;
        }
    }
}

/* Adds k (borrowed; must outlive the set). Returns -1 on no memory. */
static int codeset_add(struct codeset *cs, const char *k, size_t val)
{
    if (2 * (cs->n + 1) > cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 64;
        const char **keys = calloc(cap, sizeof(*keys));
        size_t *vals = calloc(cap, sizeof(*vals));
        if (keys == NULL || vals == NULL) {
            free(keys);
            free(vals);
            return -1;
        }
        for (size_t i = 0; i < cs->cap; i++) {
            if (cs->keys[i] == NULL)
                continue;
            size_t j = hash_str(cs->keys[i]) & (cap - 1);
            while (keys[j] != NULL)
                j = (j + 1) & (cap - 1);
            keys[j] = cs->keys[i];
            vals[j] = cs->vals[i];
        }
        free(cs->keys);
        free(cs->vals);
        cs->keys = keys;
        cs->vals = vals;
        cs->cap = cap;
    }
    size_t i = hash_str(k) & (cs->cap - 1);
    while (cs->keys[i] != NULL)
        i = (i + 1) & (cs->cap - 1);
    cs->keys[i] = k;
    cs->vals[i] = val;
    cs->n++;
    return 0;
}

static void codeset_fini(struct codeset *cs)
{
    free(cs->keys);
    free(cs->vals);
    memset(cs, 0, sizeof(*cs));
}

struct work {
    GEOSContextHandle_t ctx;
    sg_geo_import *imp;
    size_t cap_areas, cap_issues;
    GEOSGeometry **geoms; /* parallel to imp->areas */
    struct codeset codes;
    char geos_msg[MAX_MSG];
};

static void geos_error(const char *fmt, void *user)
{
    struct work *w = user;
    snprintf(w->geos_msg, sizeof(w->geos_msg), "%s", fmt);
}

static void geos_notice(const char *fmt, void *user)
{
    (void)fmt;
    (void)user;
}

static char *dupstr(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static sg_err add_issue(struct work *w, sg_geo_issue_kind kind, const char *code, const char *other,
                        long long fid, double area_m2, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static sg_err add_issue(struct work *w, sg_geo_issue_kind kind, const char *code, const char *other,
                        long long fid, double area_m2, const char *fmt, ...)
{
    sg_geo_import *imp = w->imp;
    if (imp->n_issues == w->cap_issues) {
        size_t cap = w->cap_issues ? w->cap_issues * 2 : 16;
        sg_geo_issue *is = realloc(imp->issues, cap * sizeof(*is));
        if (is == NULL)
            return SG_NOMEM;
        imp->issues = is;
        w->cap_issues = cap;
    }
    char buf[MAX_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sg_geo_issue is = {.kind = kind, .fid = fid, .area_m2 = area_m2};
    is.code = dupstr(code);
    is.other_code = dupstr(other);
    is.message = dupstr(buf);
    if ((code && !is.code) || (other && !is.other_code) || !is.message) {
        free(is.code);
        free(is.other_code);
        free(is.message);
        return SG_NOMEM;
    }
    imp->issues[imp->n_issues++] = is;
    return SG_OK;
}

static void area_fini(sg_geo_area *a)
{
    free(a->code);
    free(a->name);
    free(a->parent_code);
    free(a->wkb);
}

void sg_geo_import_free(sg_geo_import *imp)
{
    if (imp == NULL)
        return;
    for (size_t i = 0; i < imp->n_areas; i++)
        area_fini(&imp->areas[i]);
    for (size_t i = 0; i < imp->n_issues; i++) {
        free(imp->issues[i].code);
        free(imp->issues[i].other_code);
        free(imp->issues[i].message);
    }
    free(imp->areas);
    free(imp->issues);
    free(imp->source_srs);
    free(imp);
}

/* ---- geometry helpers ---------------------------------------------------------------- */

static double deg2_to_m2(double a_deg2, double lat)
{
    return a_deg2 * M_PER_DEG * M_PER_DEG * cos(lat * M_PI / 180.0);
}

static double geom_area_m2(GEOSContextHandle_t ctx, const GEOSGeometry *g)
{
    double a = 0, x0, y0, x1, y1;
    if (!GEOSArea_r(ctx, g, &a) || !GEOSGeom_getExtent_r(ctx, g, &x0, &y0, &x1, &y1))
        return 0;
    return deg2_to_m2(a, (y0 + y1) / 2);
}

/* Appends clones of the polygons in g to parts. Returns -1 on no memory. */
static int collect_polygons(GEOSContextHandle_t ctx, const GEOSGeometry *g, GEOSGeometry ***parts,
                            size_t *n, size_t *cap)
{
    int t = GEOSGeomTypeId_r(ctx, g);
    if (t == GEOS_POLYGON) {
        if (GEOSisEmpty_r(ctx, g))
            return 0;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 8;
            GEOSGeometry **p = realloc(*parts, c * sizeof(*p));
            if (p == NULL)
                return -1;
            *parts = p;
            *cap = c;
        }
        GEOSGeometry *c = GEOSGeom_clone_r(ctx, g);
        if (c == NULL)
            return -1;
        (*parts)[(*n)++] = c;
        return 0;
    }
    if (t == GEOS_MULTIPOLYGON || t == GEOS_GEOMETRYCOLLECTION) {
        int k = GEOSGetNumGeometries_r(ctx, g);
        for (int i = 0; i < k; i++)
            if (collect_polygons(ctx, GEOSGetGeometryN_r(ctx, g, i), parts, n, cap))
                return -1;
    }
    return 0;
}

/* The polygonal part of g as a new Polygon or MultiPolygon; *out NULL when there is none.
 * Returns -1 on no memory. */
static int polygonal_part(GEOSContextHandle_t ctx, const GEOSGeometry *g, GEOSGeometry **out)
{
    *out = NULL;
    int t = GEOSGeomTypeId_r(ctx, g);
    if ((t == GEOS_POLYGON || t == GEOS_MULTIPOLYGON)) {
        if (GEOSisEmpty_r(ctx, g))
            return 0;
        *out = GEOSGeom_clone_r(ctx, g);
        return *out ? 0 : -1;
    }
    GEOSGeometry **parts = NULL;
    size_t n = 0, cap = 0;
    if (collect_polygons(ctx, g, &parts, &n, &cap)) {
        for (size_t i = 0; i < n; i++)
            GEOSGeom_destroy_r(ctx, parts[i]);
        free(parts);
        return -1;
    }
    if (n == 0) {
        free(parts);
        return 0;
    }
    if (n == 1) {
        *out = parts[0];
        free(parts);
        return 0;
    }
    *out = GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, parts, (unsigned)n);
    if (*out == NULL)
        for (size_t i = 0; i < n; i++)
            GEOSGeom_destroy_r(ctx, parts[i]);
    free(parts);
    return *out ? 0 : -1;
}

/* ---- reading features ----------------------------------------------------------------- */

struct fields {
    int code, name, level, pop, parent;
    int utf8; /* the layer returns UTF-8 already */
    const char *encoding;
};

/* The field as a trimmed UTF-8 string, or NULL when unset, null or blank. *nomem on OOM. */
static char *field_text(OGRFeatureH f, int i, const struct fields *fl, int *nomem)
{
    if (i < 0 || !OGR_F_IsFieldSetAndNotNull(f, i))
        return NULL;
    const char *raw = OGR_F_GetFieldAsString(f, i);
    while (isspace((unsigned char)*raw))
        raw++;
    size_t n = strlen(raw);
    while (n > 0 && isspace((unsigned char)raw[n - 1]))
        n--;
    if (n == 0)
        return NULL;
    char *t = malloc(n + 1);
    if (t == NULL) {
        *nomem = 1;
        return NULL;
    }
    memcpy(t, raw, n);
    t[n] = '\0';
    const char *from = NULL;
    if (!fl->utf8) {
        if (fl->encoding != NULL)
            from = fl->encoding;
        else if (!CPLIsUTF8(t, -1))
            from = CPL_ENC_ISO8859_1;
    } else if (!CPLIsUTF8(t, -1)) {
        from = CPL_ENC_ISO8859_1; /* a driver that claims UTF-8 but was fed Latin-1 */
    }
    if (from == NULL)
        return t;
    char *r = CPLRecode(t, from, CPL_ENC_UTF8);
    free(t);
    char *d = dupstr(r != NULL ? r : "");
    CPLFree(r);
    if (d == NULL)
        *nomem = 1;
    return d;
}

static int lookup_field(OGRFeatureDefnH defn, const char *name, int *out, char *msg, size_t n)
{
    *out = -1;
    if (name == NULL)
        return 0;
    int i = OGR_FD_GetFieldIndex(defn, name);
    if (i < 0) {
        sg_errf(SG_INVAL, msg, n, "no field named '%s' in the layer", name);
        return -1;
    }
    *out = i;
    return 0;
}

static sg_err push_area(struct work *w, sg_geo_area *a, GEOSGeometry *g)
{
    sg_geo_import *imp = w->imp;
    if (imp->n_areas == w->cap_areas) {
        size_t cap = w->cap_areas ? w->cap_areas * 2 : 64;
        sg_geo_area *as = realloc(imp->areas, cap * sizeof(*as));
        if (as == NULL)
            return SG_NOMEM;
        imp->areas = as;
        GEOSGeometry **gs = realloc(w->geoms, cap * sizeof(*gs));
        if (gs == NULL)
            return SG_NOMEM;
        w->geoms = gs;
        w->cap_areas = cap;
    }
    imp->areas[imp->n_areas] = *a;
    w->geoms[imp->n_areas] = g;
    imp->n_areas++;
    return SG_OK;
}

/* Turns one OGR geometry into a valid WGS84 GEOS polygonal geometry. On success *out is
 * the geometry; *out NULL means the feature was dropped with an issue recorded. */
static sg_err convert_geometry(struct work *w, OGRGeometryH src, OGRCoordinateTransformationH ct,
                               const char *code, long long fid, GEOSGeometry **out)
{
    *out = NULL;
    if (src == NULL || OGR_G_IsEmpty(src))
        return add_issue(w, SG_GEO_ISSUE_EMPTY, code, NULL, fid, 0,
                         "area %s (feature %lld) has no geometry; dropped", code, fid);
    OGRGeometryH g = OGR_G_Clone(src);
    if (g == NULL)
        return SG_NOMEM;
    if (OGR_G_HasCurveGeometry(g, TRUE)) {
        OGRGeometryH l = OGR_G_GetLinearGeometry(g, 0, NULL);
        OGR_G_DestroyGeometry(g);
        if (l == NULL)
            return SG_NOMEM;
        g = l;
    }
    OGR_G_FlattenTo2D(g);
    if (ct != NULL && OGR_G_Transform(g, ct) != OGRERR_NONE) {
        OGR_G_DestroyGeometry(g);
        return add_issue(w, SG_GEO_ISSUE_UNREPAIRABLE, code, NULL, fid, 0,
                         "area %s (feature %lld): coordinates cannot be transformed to WGS84; "
                         "dropped",
                         code, fid);
    }
    size_t sz = (size_t)OGR_G_WkbSize(g);
    unsigned char *wkb = malloc(sz ? sz : 1);
    if (wkb == NULL) {
        OGR_G_DestroyGeometry(g);
        return SG_NOMEM;
    }
    OGRErr oe = OGR_G_ExportToIsoWkb(g, wkbNDR, wkb);
    OGR_G_DestroyGeometry(g);
    GEOSGeometry *gg = NULL;
    if (oe == OGRERR_NONE) {
        GEOSWKBReader *rd = GEOSWKBReader_create_r(w->ctx);
        if (rd == NULL) {
            free(wkb);
            return SG_NOMEM;
        }
        gg = GEOSWKBReader_read_r(w->ctx, rd, wkb, sz);
        GEOSWKBReader_destroy_r(w->ctx, rd);
    }
    free(wkb);
    if (gg == NULL)
        return add_issue(w, SG_GEO_ISSUE_UNREPAIRABLE, code, NULL, fid, 0,
                         "area %s (feature %lld): geometry cannot be read (%s); dropped", code, fid,
                         w->geos_msg);

    GEOSGeometry *poly = NULL;
    int rc = polygonal_part(w->ctx, gg, &poly);
    int src_type = GEOSGeomTypeId_r(w->ctx, gg);
    GEOSGeom_destroy_r(w->ctx, gg);
    if (rc)
        return SG_NOMEM;
    if (poly == NULL)
        return add_issue(w, SG_GEO_ISSUE_UNREPAIRABLE, code, NULL, fid, 0,
                         "area %s (feature %lld) is not a polygon (GEOS type %d); dropped", code,
                         fid, src_type);
    /* Coordinates must be finite: NaN or infinity would poison every later test. */
    double e[4];
    if (!GEOSGeom_getExtent_r(w->ctx, poly, &e[0], &e[1], &e[2], &e[3]) || !isfinite(e[0]) ||
        !isfinite(e[1]) || !isfinite(e[2]) || !isfinite(e[3])) {
        GEOSGeom_destroy_r(w->ctx, poly);
        return add_issue(w, SG_GEO_ISSUE_UNREPAIRABLE, code, NULL, fid, 0,
                         "area %s (feature %lld) has non-finite coordinates; dropped", code, fid);
    }
    char valid = GEOSisValid_r(w->ctx, poly);
    if (valid == 1) {
        *out = poly;
        return SG_OK;
    }
    char *reason = GEOSisValidReason_r(w->ctx, poly);
    char why[256];
    snprintf(why, sizeof why, "%s", reason ? reason : "invalid");
    if (reason)
        GEOSFree_r(w->ctx, reason);
    GEOSGeometry *mv = GEOSMakeValid_r(w->ctx, poly);
    GEOSGeom_destroy_r(w->ctx, poly);
    GEOSGeometry *fixed = NULL;
    if (mv != NULL) {
        rc = polygonal_part(w->ctx, mv, &fixed);
        GEOSGeom_destroy_r(w->ctx, mv);
        if (rc)
            return SG_NOMEM;
    }
    if (fixed == NULL || GEOSisValid_r(w->ctx, fixed) != 1) {
        if (fixed)
            GEOSGeom_destroy_r(w->ctx, fixed);
        return add_issue(w, SG_GEO_ISSUE_UNREPAIRABLE, code, NULL, fid, 0,
                         "area %s (feature %lld): %s; GEOS could not repair it; dropped", code, fid,
                         why);
    }
    sg_err err =
        add_issue(w, SG_GEO_ISSUE_REPAIRED, code, NULL, fid, 0,
                  "area %s (feature %lld): %s; repaired with GEOSMakeValid", code, fid, why);
    if (err) {
        GEOSGeom_destroy_r(w->ctx, fixed);
        return err;
    }
    *out = fixed;
    return SG_OK;
}

static sg_err finish_area(struct work *w, sg_geo_area *a, GEOSGeometry *g)
{
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(w->ctx);
    if (wr == NULL)
        return SG_NOMEM;
    GEOSWKBWriter_setByteOrder_r(w->ctx, wr, GEOS_WKB_NDR);
    GEOSWKBWriter_setOutputDimension_r(w->ctx, wr, 2);
    size_t len = 0;
    unsigned char *buf = GEOSWKBWriter_write_r(w->ctx, wr, g, &len);
    GEOSWKBWriter_destroy_r(w->ctx, wr);
    if (buf == NULL)
        return SG_NOMEM;
    a->wkb = malloc(len);
    if (a->wkb == NULL) {
        GEOSFree_r(w->ctx, buf);
        return SG_NOMEM;
    }
    memcpy(a->wkb, buf, len);
    a->wkb_len = len;
    GEOSFree_r(w->ctx, buf);
    GEOSGeom_getExtent_r(w->ctx, g, &a->bbox[0], &a->bbox[1], &a->bbox[2], &a->bbox[3]);
    a->area_m2 = geom_area_m2(w->ctx, g);
    return SG_OK;
}

static int parse_population(OGRFeatureH f, int i, int64_t *out)
{
    *out = -1;
    if (i < 0 || !OGR_F_IsFieldSetAndNotNull(f, i))
        return 0;
    OGRFieldDefnH fd = OGR_F_GetFieldDefnRef(f, i);
    OGRFieldType t = OGR_Fld_GetType(fd);
    if (t == OFTInteger || t == OFTInteger64) {
        GIntBig v = OGR_F_GetFieldAsInteger64(f, i);
        if (v < 0)
            return -1;
        *out = v;
        return 0;
    }
    const char *s = OGR_F_GetFieldAsString(f, i);
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return 0;
    double d = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0' || !(d >= 0) || d > 9e15 || d != floor(d))
        return -1;
    *out = (int64_t)d;
    return 0;
}

/* ---- parents and topology --------------------------------------------------------------- */

struct cand {
    const char *code;
    int level;
    const GEOSGeometry *g;
    const GEOSPreparedGeometry *pg;
};

struct hits {
    const struct cand **v;
    size_t n, cap;
    int nomem;
};

static void hits_cb(void *item, void *user)
{
    struct hits *h = user;
    if (h->n == h->cap) {
        size_t c = h->cap ? h->cap * 2 : 16;
        const struct cand **v = realloc(h->v, c * sizeof(*v));
        if (v == NULL) {
            h->nomem = 1;
            return;
        }
        h->v = v;
        h->cap = c;
    }
    h->v[h->n++] = item;
}

struct level_set {
    struct cand *c;
    size_t n;
    GEOSSTRtree *tree;
};

static void level_sets_free(GEOSContextHandle_t ctx, struct level_set *ls, GEOSGeometry **owned,
                            size_t n_owned)
{
    for (int l = 0; l < SG_GEO_N_LEVELS; l++) {
        for (size_t i = 0; i < ls[l].n; i++)
            if (ls[l].c[i].pg)
                GEOSPreparedGeom_destroy_r(ctx, ls[l].c[i].pg);
        if (ls[l].tree)
            GEOSSTRtree_destroy_r(ctx, ls[l].tree);
        free(ls[l].c);
    }
    for (size_t i = 0; i < n_owned; i++)
        GEOSGeom_destroy_r(ctx, owned[i]);
    free(owned);
}

static sg_err assign_parents_by_containment(struct work *w, const sg_geo_import_opts *o)
{
    GEOSContextHandle_t ctx = w->ctx;
    sg_geo_import *imp = w->imp;
    struct level_set ls[SG_GEO_N_LEVELS];
    memset(ls, 0, sizeof ls);
    GEOSGeometry **owned = calloc(o->n_parents ? o->n_parents : 1, sizeof(*owned));
    size_t n_owned = 0;
    struct hits h = {0};
    sg_err err = SG_NOMEM;
    if (owned == NULL)
        return SG_NOMEM;
    for (int l = 0; l < SG_GEO_N_LEVELS; l++) {
        ls[l].c = calloc(imp->n_areas + o->n_parents + 1, sizeof(struct cand));
        ls[l].tree = GEOSSTRtree_create_r(ctx, 10);
        if (ls[l].c == NULL || ls[l].tree == NULL)
            goto out;
    }
    for (size_t i = 0; i < imp->n_areas; i++) {
        int l = imp->areas[i].level;
        ls[l].c[ls[l].n++] = (struct cand){imp->areas[i].code, l, w->geoms[i], NULL};
    }
    GEOSWKBReader *rd = GEOSWKBReader_create_r(ctx);
    if (rd == NULL)
        goto out;
    for (size_t i = 0; i < o->n_parents; i++) {
        const sg_geo_area *p = &o->parents[i];
        if (p->level < 0 || p->level >= SG_GEO_N_LEVELS || p->wkb == NULL || p->code == NULL)
            continue;
        GEOSGeometry *g = GEOSWKBReader_read_r(ctx, rd, p->wkb, p->wkb_len);
        if (g == NULL)
            continue;
        owned[n_owned++] = g;
        ls[p->level].c[ls[p->level].n++] = (struct cand){p->code, p->level, g, NULL};
    }
    GEOSWKBReader_destroy_r(ctx, rd);
    for (int l = 0; l < SG_GEO_N_LEVELS; l++) {
        for (size_t i = 0; i < ls[l].n; i++) {
            ls[l].c[i].pg = GEOSPrepare_r(ctx, ls[l].c[i].g);
            if (ls[l].c[i].pg == NULL)
                goto out;
            GEOSSTRtree_insert_r(ctx, ls[l].tree, ls[l].c[i].g, &ls[l].c[i]);
        }
    }
    for (size_t i = 0; i < imp->n_areas; i++) {
        sg_geo_area *a = &imp->areas[i];
        int nearest = -1;
        for (int l = a->level - 1; l >= 0 && nearest < 0; l--)
            if (ls[l].n > 0)
                nearest = l;
        if (nearest < 0)
            continue; /* top of the hierarchy */
        GEOSGeometry *pos = GEOSPointOnSurface_r(ctx, w->geoms[i]);
        if (pos == NULL)
            goto out;
        const struct cand *best = NULL;
        for (int l = nearest; l >= 0 && best == NULL; l--) {
            h.n = 0;
            GEOSSTRtree_query_r(ctx, ls[l].tree, pos, hits_cb, &h);
            if (h.nomem) {
                GEOSGeom_destroy_r(ctx, pos);
                goto out;
            }
            for (size_t k = 0; k < h.n; k++)
                if (GEOSPreparedCovers_r(ctx, h.v[k]->pg, pos) == 1 &&
                    (best == NULL || strcmp(h.v[k]->code, best->code) < 0))
                    best = h.v[k];
        }
        GEOSGeom_destroy_r(ctx, pos);
        if (best == NULL) {
            err = add_issue(w, SG_GEO_ISSUE_NO_PARENT, a->code, NULL, -1, 0,
                            "area %s (%s) lies in no area of a coarser level; no parent", a->code,
                            sg_geo_level_name(a->level));
            if (err)
                goto out;
            continue;
        }
        if (best->level != nearest) {
            err = add_issue(w, SG_GEO_ISSUE_NO_PARENT, a->code, best->code, -1, 0,
                            "area %s (%s) lies in no %s; parent set to %s %s", a->code,
                            sg_geo_level_name(a->level), sg_geo_level_name(nearest),
                            sg_geo_level_name(best->level), best->code);
            if (err)
                goto out;
        }
        a->parent_code = dupstr(best->code);
        if (a->parent_code == NULL)
            goto out;
    }
    err = SG_OK;
out:
    free(h.v);
    level_sets_free(ctx, ls, owned, n_owned);
    return err;
}

static sg_err check_parent_codes(struct work *w, const sg_geo_import_opts *o)
{
    sg_geo_import *imp = w->imp;
    struct codeset given = {0};
    sg_err err = SG_OK;
    for (size_t i = 0; i < o->n_parents; i++)
        if (o->parents[i].code != NULL && codeset_add(&given, o->parents[i].code, i))
            err = SG_NOMEM;
    for (size_t i = 0; i < imp->n_areas && err == SG_OK; i++) {
        sg_geo_area *a = &imp->areas[i];
        if (a->parent_code == NULL)
            continue;
        size_t k;
        int known =
            codeset_find(&w->codes, a->parent_code, &k) || codeset_find(&given, a->parent_code, &k);
        if (known && strcmp(a->parent_code, a->code) != 0)
            continue;
        err = add_issue(w, SG_GEO_ISSUE_UNKNOWN_PARENT, a->code, a->parent_code, -1, 0,
                        "area %s names parent %s, which is %s; no parent", a->code, a->parent_code,
                        known ? "itself" : "not a known area");
        free(a->parent_code);
        a->parent_code = NULL;
    }
    codeset_fini(&given);
    return err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Gaps of one level: the holes of the union of its areas. */
static sg_err find_gaps(struct work *w, struct cand *c, size_t n, GEOSSTRtree *tree, int level,
                        double sliver)
{
    GEOSContextHandle_t ctx = w->ctx;
    GEOSGeometry **parts = malloc(n * sizeof(*parts));
    if (parts == NULL)
        return SG_NOMEM;
    for (size_t i = 0; i < n; i++) {
        parts[i] = GEOSGeom_clone_r(ctx, c[i].g);
        if (parts[i] == NULL) {
            for (size_t k = 0; k < i; k++)
                GEOSGeom_destroy_r(ctx, parts[k]);
            free(parts);
            return SG_NOMEM;
        }
    }
    GEOSGeometry *coll =
        GEOSGeom_createCollection_r(ctx, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)n);
    if (coll == NULL) {
        for (size_t k = 0; k < n; k++)
            GEOSGeom_destroy_r(ctx, parts[k]);
        free(parts);
        return SG_NOMEM;
    }
    free(parts);
    GEOSGeometry *u = GEOSUnaryUnion_r(ctx, coll);
    GEOSGeom_destroy_r(ctx, coll);
    if (u == NULL)
        return add_issue(w, SG_GEO_ISSUE_GAP, NULL, NULL, -1, 0,
                         "gaps among %s areas could not be checked: %s", sg_geo_level_name(level),
                         w->geos_msg);
    sg_err err = SG_OK;
    struct hits h = {0};
    int np = GEOSGetNumGeometries_r(ctx, u);
    for (int p = 0; p < np && err == SG_OK; p++) {
        const GEOSGeometry *pg = GEOSGetGeometryN_r(ctx, u, p);
        if (GEOSGeomTypeId_r(ctx, pg) != GEOS_POLYGON)
            continue;
        int nh = GEOSGetNumInteriorRings_r(ctx, pg);
        for (int r = 0; r < nh && err == SG_OK; r++) {
            GEOSGeometry *ring = GEOSGeom_clone_r(ctx, GEOSGetInteriorRingN_r(ctx, pg, r));
            GEOSGeometry *hole = ring ? GEOSGeom_createPolygon_r(ctx, ring, NULL, 0) : NULL;
            if (hole == NULL) {
                if (ring)
                    GEOSGeom_destroy_r(ctx, ring);
                err = SG_NOMEM;
                break;
            }
            double m2 = geom_area_m2(ctx, hole);
            if (m2 < sliver) {
                GEOSGeom_destroy_r(ctx, hole);
                continue;
            }
            h.n = 0;
            GEOSSTRtree_query_r(ctx, tree, hole, hits_cb, &h);
            const char **codes = malloc((h.n + 1) * sizeof(*codes));
            if (h.nomem || codes == NULL) {
                free(codes);
                GEOSGeom_destroy_r(ctx, hole);
                err = SG_NOMEM;
                break;
            }
            size_t nc = 0;
            for (size_t k = 0; k < h.n; k++)
                if (GEOSIntersects_r(ctx, h.v[k]->g, hole) == 1)
                    codes[nc++] = h.v[k]->code;
            qsort(codes, nc, sizeof(*codes), cmp_str);
            char list[256] = "";
            size_t used = 0;
            for (size_t k = 0; k < nc && used + 1 < sizeof list; k++) {
                int m = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", codes[k]);
                if (m < 0)
                    break;
                used += (size_t)m;
            }
            double x = 0, y = 0;
            GEOSGeometry *pt = GEOSPointOnSurface_r(ctx, hole);
            if (pt != NULL) {
                GEOSGeomGetX_r(ctx, pt, &x);
                GEOSGeomGetY_r(ctx, pt, &y);
                GEOSGeom_destroy_r(ctx, pt);
            }
            err = add_issue(w, SG_GEO_ISSUE_GAP, nc ? codes[0] : NULL, nc > 1 ? codes[1] : NULL, -1,
                            m2, "gap of %.0f m^2 among %s areas near %.6f, %.6f, bordered by %s",
                            m2, sg_geo_level_name(level), x, y, nc ? list : "(none)");
            free(codes);
            GEOSGeom_destroy_r(ctx, hole);
        }
    }
    free(h.v);
    GEOSGeom_destroy_r(ctx, u);
    return err;
}

static sg_err check_topology(struct work *w, double sliver)
{
    GEOSContextHandle_t ctx = w->ctx;
    sg_geo_import *imp = w->imp;
    sg_err err = SG_OK;
    for (int l = 0; l < SG_GEO_N_LEVELS && err == SG_OK; l++) {
        size_t n = 0;
        for (size_t i = 0; i < imp->n_areas; i++)
            n += imp->areas[i].level == l;
        if (n < 2)
            continue;
        struct cand *c = calloc(n, sizeof(*c));
        GEOSSTRtree *tree = GEOSSTRtree_create_r(ctx, 10);
        struct hits h = {0};
        if (c == NULL || tree == NULL) {
            free(c);
            if (tree)
                GEOSSTRtree_destroy_r(ctx, tree);
            return SG_NOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < imp->n_areas; i++)
            if (imp->areas[i].level == l)
                c[k++] = (struct cand){imp->areas[i].code, l, w->geoms[i], NULL};
        for (size_t i = 0; i < n; i++)
            GEOSSTRtree_insert_r(ctx, tree, c[i].g, &c[i]);
        for (size_t i = 0; i < n && err == SG_OK; i++) {
            c[i].pg = GEOSPrepare_r(ctx, c[i].g);
            if (c[i].pg == NULL) {
                err = SG_NOMEM;
                break;
            }
            h.n = 0;
            GEOSSTRtree_query_r(ctx, tree, c[i].g, hits_cb, &h);
            if (h.nomem) {
                err = SG_NOMEM;
                break;
            }
            for (size_t m = 0; m < h.n && err == SG_OK; m++) {
                const struct cand *o = h.v[m];
                if (o <= &c[i]) /* each pair once */
                    continue;
                if (GEOSPreparedIntersects_r(ctx, c[i].pg, o->g) != 1)
                    continue;
                if (GEOSRelatePattern_r(ctx, c[i].g, o->g, "T********") != 1)
                    continue;
                GEOSGeometry *x = GEOSIntersection_r(ctx, c[i].g, o->g);
                double m2 = x ? geom_area_m2(ctx, x) : 0;
                if (x)
                    GEOSGeom_destroy_r(ctx, x);
                if (m2 < sliver)
                    continue;
                err = add_issue(w, SG_GEO_ISSUE_OVERLAP, c[i].code, o->code, -1, m2,
                                "%s areas %s and %s overlap by %.0f m^2", sg_geo_level_name(l),
                                c[i].code, o->code, m2);
            }
        }
        if (err == SG_OK)
            err = find_gaps(w, c, n, tree, l, sliver);
        for (size_t i = 0; i < n; i++)
            if (c[i].pg)
                GEOSPreparedGeom_destroy_r(ctx, c[i].pg);
        GEOSSTRtree_destroy_r(ctx, tree);
        free(c);
        free(h.v);
    }
    return err;
}

/* ---- CRS --------------------------------------------------------------------------------- */

static OGRSpatialReferenceH wgs84(void)
{
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    if (s == NULL)
        return NULL;
    if (OSRImportFromEPSG(s, 4326) != OGRERR_NONE) {
        OSRDestroySpatialReference(s);
        return NULL;
    }
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    return s;
}

static sg_err user_srs(const char *text, OGRSpatialReferenceH *out, char *msg, size_t n)
{
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    if (s == NULL)
        return sg_errf(SG_NOMEM, msg, n, "no memory for a CRS");
    if (OSRSetFromUserInput(s, text) != OGRERR_NONE) {
        OSRDestroySpatialReference(s);
        return sg_errf(SG_INVAL, msg, n, "CRS not understood: '%.200s' (%s)", text,
                       CPLGetLastErrorMsg());
    }
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    *out = s;
    return SG_OK;
}

static char *srs_text(OGRSpatialReferenceH s)
{
    char *t = NULL;
    if (OSRExportToProj4(s, &t) != OGRERR_NONE || t == NULL || t[0] == '\0') {
        CPLFree(t);
        t = NULL;
        if (OSRExportToWkt(s, &t) != OGRERR_NONE) {
            CPLFree(t);
            return dupstr("(unknown)");
        }
    }
    char *d = dupstr(t);
    CPLFree(t);
    return d;
}

/* ---- import -------------------------------------------------------------------------------- */

static int lonlat_ok(const double *b)
{
    return b[0] >= -180.0 - 1e-9 && b[2] <= 180.0 + 1e-9 && b[1] >= -90.0 - 1e-9 &&
           b[3] <= 90.0 + 1e-9;
}

static sg_err read_features(struct work *w, OGRLayerH layer, const struct fields *fl,
                            OGRCoordinateTransformationH ct, int assume_lonlat,
                            const sg_geo_import_opts *o, char *msg, size_t msgn)
{
    GIntBig total = OGR_L_GetFeatureCount(layer, FALSE);
    size_t tot = total > 0 ? (size_t)total : 0;
    size_t step = tot >= 100 ? tot / 100 : 1;
    size_t done = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(layer);
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        long long fid = (long long)OGR_F_GetFID(f);
        int nomem = 0;
        sg_geo_area a = {.population = -1};
        GEOSGeometry *g = NULL;
        sg_err err = SG_OK;
        char fidbuf[32];
        done++;
        w->imp->n_features = done;

        if (fl->code >= 0) {
            a.code = field_text(f, fl->code, fl, &nomem);
        } else {
            snprintf(fidbuf, sizeof fidbuf, "%lld", fid);
            a.code = dupstr(fidbuf);
            nomem = a.code == NULL;
        }
        if (nomem)
            goto nomem;
        if (a.code == NULL) {
            err = add_issue(w, SG_GEO_ISSUE_NO_CODE, NULL, NULL, fid, 0,
                            "feature %lld has no code; dropped", fid);
            goto next;
        }
        if (codeset_find(&w->codes, a.code, NULL)) {
            err = add_issue(w, SG_GEO_ISSUE_DUPLICATE_CODE, a.code, NULL, fid, 0,
                            "feature %lld repeats code %s; dropped", fid, a.code);
            goto next;
        }
        a.level = o->fixed_level;
        if (fl->level >= 0) {
            char *lv = field_text(f, fl->level, fl, &nomem);
            if (nomem)
                goto nomem;
            a.level = sg_geo_level_parse(lv);
            if (a.level < 0) {
                err = add_issue(w, SG_GEO_ISSUE_BAD_LEVEL, a.code, NULL, fid, 0,
                                "area %s (feature %lld) has level '%s', not one of 0-3 or "
                                "county/township/community/grid; dropped",
                                a.code, fid, lv ? lv : "");
                free(lv);
                goto next;
            }
            free(lv);
        }
        if (parse_population(f, fl->pop, &a.population)) {
            const char *pv = OGR_F_GetFieldAsString(f, fl->pop);
            err = add_issue(w, SG_GEO_ISSUE_BAD_POPULATION, a.code, NULL, fid, 0,
                            "area %s (feature %lld) has population '%.40s'; set to unknown", a.code,
                            fid, pv);
            if (err)
                goto next;
        }
        a.name = field_text(f, fl->name, fl, &nomem);
        if (nomem)
            goto nomem;
        if (a.name == NULL && (a.name = dupstr("")) == NULL)
            goto nomem;
        a.parent_code = field_text(f, fl->parent, fl, &nomem);
        if (nomem)
            goto nomem;

        err = convert_geometry(w, OGR_F_GetGeometryRef(f), ct, a.code, fid, &g);
        if (err || g == NULL)
            goto next;
        err = finish_area(w, &a, g);
        if (err)
            goto next;
        if (!lonlat_ok(a.bbox)) {
            /* Not one bad feature but a wrong CRS for the whole file: refuse it. */
            OGR_F_Destroy(f);
            GEOSGeom_destroy_r(w->ctx, g);
            sg_errf(SG_INVAL, msg, msgn,
                    "feature %lld has coordinates outside longitude/latitude (%.1f, %.1f) "
                    "after reprojection from %s; give the right CRS (srs)",
                    fid, a.bbox[0], a.bbox[1],
                    assume_lonlat ? "no declared CRS (assumed WGS84)" : "the source CRS");
            area_fini(&a);
            return SG_INVAL;
        }
        err = push_area(w, &a, g);
        if (err)
            goto next;
        if (codeset_add(&w->codes, w->imp->areas[w->imp->n_areas - 1].code, w->imp->n_areas - 1))
            err = SG_NOMEM;
        g = NULL;
        memset(&a, 0, sizeof a);
    next:
        OGR_F_Destroy(f);
        area_fini(&a);
        if (g)
            GEOSGeom_destroy_r(w->ctx, g);
        if (err)
            return sg_errf(err, msg, msgn, "import failed at feature %lld: %s", fid,
                           sg_strerror(err));
        if (o->progress != NULL && (done % step == 0 || done == tot) &&
            o->progress(o->progress_user, done, tot))
            return sg_errf(SG_BUSY, msg, msgn, "import cancelled after %zu features", done);
        continue;
    nomem:
        OGR_F_Destroy(f);
        area_fini(&a);
        return sg_errf(SG_NOMEM, msg, msgn, "out of memory at feature %lld", fid);
    }
    if (o->progress != NULL && done != tot && o->progress(o->progress_user, done, done))
        return sg_errf(SG_BUSY, msg, msgn, "import cancelled after %zu features", done);
    return SG_OK;
}

sg_err sg_geo_import_file(const char *path, const sg_geo_import_opts *opts, sg_geo_import **out,
                          char *msg, size_t n)
{
    sg_geo_import_opts defaults;
    sg_geo_import_opts_init(&defaults);
    const sg_geo_import_opts *o = opts ? opts : &defaults;
    if (path == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, n, "no path or no output");
    if (o->level_field == NULL && (o->fixed_level < 0 || o->fixed_level >= SG_GEO_N_LEVELS))
        return sg_errf(SG_INVAL, msg, n, "fixed level %d is not 0..3", o->fixed_level);
    if (o->n_parents > 0 && o->parents == NULL)
        return sg_errf(SG_INVAL, msg, n, "n_parents without parents");
    pthread_once(&gdal_once, gdal_init);
    CPLPushErrorHandler(CPLQuietErrorHandler);

    struct work w = {0};
    GDALDatasetH ds = NULL;
    OGRSpatialReferenceH src = NULL, dst = NULL;
    OGRCoordinateTransformationH ct = NULL;
    sg_err err = SG_NOMEM;
    w.imp = calloc(1, sizeof(*w.imp));
    if (w.imp == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "no memory");
        goto out;
    }
    w.ctx = GEOS_init_r();
    if (w.ctx == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "cannot start GEOS");
        goto out;
    }
    GEOSContext_setErrorMessageHandler_r(w.ctx, geos_error, &w);
    GEOSContext_setNoticeMessageHandler_r(w.ctx, geos_notice, &w);

    const char *const only[2] = {o->driver, NULL};
    ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, o->driver ? only : NULL, NULL, NULL);
    if (ds == NULL) {
        err = sg_errf(SG_IO, msg, n, "cannot open '%.200s' as a vector source: %s", path,
                      CPLGetLastErrorMsg());
        goto out;
    }
    OGRLayerH layer = o->layer
                          ? GDALDatasetGetLayerByName(ds, o->layer)
                          : (GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL);
    if (layer == NULL) {
        err = sg_errf(SG_INVAL, msg, n, "no layer %s%s%s in '%.200s'", o->layer ? "'" : "",
                      o->layer ? o->layer : "at all", o->layer ? "'" : "", path);
        goto out;
    }
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    struct fields fl = {.encoding = o->encoding};
    /* A driver that converts to UTF-8 itself (MapInfo with a Charset, GeoJSON, GPKG) is
     * trusted over the encoding option, which would otherwise convert twice. */
    fl.utf8 = OGR_L_TestCapability(layer, OLCStringsAsUTF8);
    if (lookup_field(defn, o->code_field, &fl.code, msg, n) ||
        lookup_field(defn, o->name_field, &fl.name, msg, n) ||
        lookup_field(defn, o->level_field, &fl.level, msg, n) ||
        lookup_field(defn, o->population_field, &fl.pop, msg, n) ||
        lookup_field(defn, o->parent_field, &fl.parent, msg, n)) {
        err = SG_INVAL;
        goto out;
    }

    dst = wgs84();
    if (dst == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "cannot create WGS84");
        goto out;
    }
    int assume_lonlat = 0;
    if (o->srs != NULL) {
        err = user_srs(o->srs, &src, msg, n);
        if (err)
            goto out;
    } else {
        OGRSpatialReferenceH ls = OGR_L_GetSpatialRef(layer);
        if (ls != NULL) {
            src = OSRClone(ls);
            if (src == NULL)
                goto out;
            OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
        } else {
            assume_lonlat = 1;
        }
    }
    if (src != NULL && !OSRIsSame(src, dst)) {
        ct = OCTNewCoordinateTransformation(src, dst);
        if (ct == NULL) {
            err = sg_errf(SG_INVAL, msg, n, "no transformation from the source CRS to WGS84: %s",
                          CPLGetLastErrorMsg());
            goto out;
        }
    }
    w.imp->source_srs = src ? srs_text(src) : dupstr("EPSG:4326 (assumed: none declared)");
    if (w.imp->source_srs == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "no memory");
        goto out;
    }

    err = read_features(&w, layer, &fl, ct, assume_lonlat, o, msg, n);
    if (err)
        goto out;
    if (o->parent_field != NULL)
        err = check_parent_codes(&w, o);
    else
        err = assign_parents_by_containment(&w, o);
    if (err) {
        sg_errf(err, msg, n, "assigning parents failed: %s", sg_strerror(err));
        goto out;
    }
    if (!o->skip_topology) {
        err = check_topology(&w, o->sliver_m2 < 0 ? -INFINITY : o->sliver_m2);
        if (err) {
            sg_errf(err, msg, n, "checking overlaps and gaps failed: %s", sg_strerror(err));
            goto out;
        }
    }
    *out = w.imp;
    w.imp = NULL;
    err = SG_OK;
out:
    if (w.geoms != NULL) {
        size_t na = w.imp ? w.imp->n_areas : 0;
        if (w.imp == NULL) /* handed to the caller: geometries still ours */
            na = (*out)->n_areas;
        for (size_t i = 0; i < na; i++)
            GEOSGeom_destroy_r(w.ctx, w.geoms[i]);
        free(w.geoms);
    }
    codeset_fini(&w.codes);
    sg_geo_import_free(w.imp);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (src)
        OSRDestroySpatialReference(src);
    if (dst)
        OSRDestroySpatialReference(dst);
    if (ds)
        GDALClose(ds);
    if (w.ctx)
        GEOS_finish_r(w.ctx);
    CPLPopErrorHandler();
    return err;
}

sg_err sg_geo_import_memory(const void *data, size_t len, const char *ext,
                            const sg_geo_import_opts *opts, sg_geo_import **out, char *msg,
                            size_t n)
{
    static atomic_ulong serial;
    if ((data == NULL && len > 0) || ext == NULL || ext[0] == '\0' || strlen(ext) > 15)
        return sg_errf(SG_INVAL, msg, n, "no data or no usable extension");
    for (const char *c = ext; *c; c++)
        if (!isalnum((unsigned char)*c))
            return sg_errf(SG_INVAL, msg, n, "extension '%s' is not letters and digits", ext);
    pthread_once(&gdal_once, gdal_init);
    /* Unique per call, so that concurrent imports never see each other's file. */
    char mem[96], path[112];
    snprintf(mem, sizeof mem, "/vsimem/sg_geo_import_%lu.%s",
             (unsigned long)atomic_fetch_add(&serial, 1), ext);
    VSILFILE *f = VSIFileFromMemBuffer(mem, (GByte *)(uintptr_t)data, (vsi_l_offset)len, FALSE);
    if (f == NULL)
        return sg_errf(SG_NOMEM, msg, n, "cannot expose the data to GDAL");
    VSIFCloseL(f);
    if (strcasecmp(ext, "zip") == 0)
        snprintf(path, sizeof path, "/vsizip/%s", mem);
    else
        snprintf(path, sizeof path, "%s", mem);
    sg_err err = sg_geo_import_file(path, opts, out, msg, n);
    VSIUnlink(mem);
    return err;
}
