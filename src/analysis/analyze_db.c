/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Analysis over the cases in a database. `safegrid analyze gistar|scan|surge --db PATH`
 * writes the cases that match the filters into the files that the file-based analysis
 * reads -- counts per area with the areas' polygons for Gi*, SaTScan case, coordinates
 * and parameter files for the scan, one row per case for surges -- in a private temporary
 * folder, and runs the same command on them. So every option, output and check of the
 * analysis applies unchanged, and an analyst can keep the files (--keep DIR) to run them
 * through SaTScan or R as well.
 *
 * Only places and times leave the database: area codes, dates and categories, never a
 * case's text or anyone's details.
 */
#include "safegrid/analyze.h"
#include "safegrid/area.h"
#include "safegrid/stats.h"
#include "safegrid/store.h"
#include "safegrid/timefmt.h"

#include <errno.h>
#include <cpl_conv.h>
#include <ogr_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ARGS 96

typedef struct db_opts {
    const char *db, *level, *type, *category, *from, *to, *tz, *keep;
} db_opts;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("safegrid analyze: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* Takes the options this file handles out of argv; the rest go to the analysis. */
static int split_args(int argc, char **argv, db_opts *o, char **rest, int *n_rest)
{
    struct {
        const char *name;
        const char **dst;
    } known[] = {{"--db", &o->db},     {"--level", &o->level},
                 {"--type", &o->type}, {"--category", &o->category},
                 {"--from", &o->from}, {"--to", &o->to},
                 {"--tz", &o->tz},     {"--keep", &o->keep}};
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        int taken = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0] && !taken; k++) {
            size_t len = strlen(known[k].name);
            if (strncmp(argv[i], known[k].name, len) != 0)
                continue;
            if (argv[i][len] == '=') {
                *known[k].dst = argv[i] + len + 1;
                taken = 1;
            } else if (argv[i][len] == '\0') {
                if (i + 1 >= argc) {
                    fprintf(stderr, "safegrid analyze: %s needs a value\n", known[k].name);
                    return 2;
                }
                *known[k].dst = argv[++i];
                taken = 1;
            }
        }
        if (!taken) {
            if (*n_rest >= MAX_ARGS - 16)
                return 2;
            rest[(*n_rest)++] = argv[i];
        }
    }
    return 0;
}

static int parse_day(const char *s, const char *tz, int64_t *out)
{
    char msg[160];
    return sg_time_parse(s, strlen(s) == 10 ? "%Y-%m-%d" : "iso8601", tz, out, msg, sizeof msg) ==
                   SG_OK
               ? 0
               : -1;
}

/* The local calendar date of t in tz as YYYY/MM/DD (SaTScan) or YYYY-MM-DD. */
static void local_date(int64_t t, const char *tz, char sep, char out[16])
{
    int32_t off = 0;
    char iso[32];
    sg_time_utc_offset(tz, t, &off, NULL, 0);
    if (sg_time_format(t + off, iso, sizeof iso) != SG_OK)
        snprintf(iso, sizeof iso, "0000-00-00");
    snprintf(out, 16, "%.4s%c%.2s%c%.2s", iso, sep, iso + 5, sep, iso + 8);
}

/* The area at `level` that contains area id (itself or an ancestor), or NULL. */
static const sg_area_row *at_level(const sg_areas *a, int64_t id, int level)
{
    for (int k = 0; k < 8; k++) {
        int64_t up = sg_areas_ancestor(a, id, k);
        const sg_area_row *r = up ? sg_areas_get(a, up) : NULL;
        if (r == NULL || r->level < level)
            return NULL;
        if (r->level == level)
            return r;
    }
    return NULL;
}

static int by_id(const void *x, const void *y)
{
    const sg_area_row *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int level_number(const char *s)
{
    static const char *names[] = {"county", "township", "community", "grid"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
            return i;
    return -1;
}

/* Writes the polygons of one level as a GeoJSON FeatureCollection with a "code"
 * property, and their centroids into cx/cy (indexed like `areas`). */
static int write_polygons(const char *path, sg_area_row *areas, size_t n, int level, double *cx,
                          double *cy)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return fail("cannot write %s: %s", path, strerror(errno));
    fputs("{\"type\":\"FeatureCollection\",\"features\":[\n", f);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (areas[i].level != level || areas[i].wkb == NULL)
            continue;
        OGRGeometryH g = NULL;
        if (OGR_G_CreateFromWkb(areas[i].wkb, NULL, &g, (int)areas[i].wkb_len) != OGRERR_NONE ||
            g == NULL) {
            fclose(f);
            return fail("area %s has a geometry GDAL cannot read", areas[i].code);
        }
        char *json = OGR_G_ExportToJson(g);
        OGRGeometryH c = OGR_G_CreateGeometry(wkbPoint);
        if (OGR_G_Centroid(g, c) == OGRERR_NONE) {
            cx[i] = OGR_G_GetX(c, 0);
            cy[i] = OGR_G_GetY(c, 0);
        }
        OGR_G_DestroyGeometry(c);
        OGR_G_DestroyGeometry(g);
        /* Area codes are identifiers of letters, digits and dashes; escape the rest. */
        fprintf(f, "%s{\"type\":\"Feature\",\"properties\":{\"code\":\"", first ? "" : ",\n");
        for (const char *p = areas[i].code; *p; p++)
            fprintf(f, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
        fprintf(f, "\"},\"geometry\":%s}", json ? json : "null");
        CPLFree(json);
        first = 0;
    }
    fputs("\n]}\n", f);
    return fclose(f) == 0 ? 0 : fail("cannot write %s", path);
}

int sg_analyze_db_cli(int argc, char **argv)
{
    int has_db = 0;
    for (int i = 2; i < argc; i++)
        has_db |= strcmp(argv[i], "--db") == 0 || strncmp(argv[i], "--db=", 5) == 0;
    if (argc < 2 || !has_db)
        return sg_analyze_cli(argc, argv);
    const char *kind = argv[1];
    if (strcmp(kind, "gistar") && strcmp(kind, "scan") && strcmp(kind, "surge"))
        return sg_analyze_cli(argc, argv);

    db_opts o = {.tz = "UTC"};
    char *rest[MAX_ARGS];
    int n_rest;
    int rc = split_args(argc - 2, argv + 2, &o, rest, &n_rest);
    if (rc)
        return rc;
    int level = o.level ? level_number(o.level) : 3;
    if (level < 0) {
        fprintf(stderr, "safegrid analyze: --level must be county, township, community or grid\n");
        return 2;
    }
    sg_case_filter f = {.type = o.type, .category = o.category, .limit = 1000};
    if ((o.from && parse_day(o.from, o.tz, &f.from)) || (o.to && parse_day(o.to, o.tz, &f.to))) {
        fprintf(stderr, "safegrid analyze: --from and --to must be dates (2001-01-31)\n");
        return 2;
    }
    char tzmsg[160];
    int32_t off;
    if (sg_time_utc_offset(o.tz, 0, &off, tzmsg, sizeof tzmsg) != SG_OK)
        return fail("--tz: %s", tzmsg);

    char dir[300];
    if (o.keep) {
        snprintf(dir, sizeof dir, "%s", o.keep);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return fail("cannot create %s: %s", dir, strerror(errno));
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/safegrid-analyze.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL)
            return fail("cannot create a temporary folder: %s", strerror(errno));
    }

    sg_store *s = NULL;
    sg_areas *areas = NULL;
    sg_area_row *rows = NULL;
    size_t n_rows = 0;
    double *cx = NULL, *cy = NULL;
    long *counts = NULL;
    FILE *cases_out = NULL;
    char msg[300], p1[400], p2[400], p3[400];
    char *args[MAX_ARGS];
    int n = 0;
    rc = 1;
    if (sg_store_open(o.db, &s, msg, sizeof msg) != SG_OK) {
        fail("%s", msg);
        goto done;
    }
    if (sg_areas_acquire(s, &areas, msg, sizeof msg) != SG_OK ||
        sg_store_areas_list(s, 1, &rows, &n_rows) != SG_OK) {
        fail("cannot read the areas: %s", msg);
        goto done;
    }
    if (n_rows > 1)
        qsort(rows, n_rows, sizeof *rows, by_id);
    size_t n_level = 0;
    for (size_t i = 0; i < n_rows; i++)
        n_level += rows[i].level == level;
    if (strcmp(kind, "surge") != 0 && n_level == 0) {
        fail("the database has no areas at level %s (import some with 'safegrid import areas')",
             o.level ? o.level : "grid");
        goto done;
    }
    cx = calloc(n_rows + 1, sizeof *cx);
    cy = calloc(n_rows + 1, sizeof *cy);
    counts = calloc(n_rows + 1, sizeof *counts);
    if (cx == NULL || cy == NULL || counts == NULL) {
        fail("out of memory");
        goto done;
    }
    int is_scan = strcmp(kind, "scan") == 0, is_surge = strcmp(kind, "surge") == 0;
    snprintf(p1, sizeof p1, "%s/%s", dir,
             is_scan    ? "cases.cas"
             : is_surge ? "daily.csv"
                        : "counts.csv");
    if (is_scan || is_surge) {
        cases_out = fopen(p1, "w");
        if (cases_out == NULL) {
            fail("cannot write %s: %s", p1, strerror(errno));
            goto done;
        }
        if (is_surge)
            fputs("date,area,category\n", cases_out);
    }
    /* Every matching case, a page at a time. */
    long n_cases = 0, n_unplaced = 0;
    int64_t first_t = INT64_MAX, last_t = INT64_MIN;
    for (;;) {
        sg_case_list l;
        if (sg_store_case_list(s, &f, &l) != SG_OK) {
            fail("cannot read the cases");
            goto done;
        }
        for (size_t i = 0; i < l.n_items; i++) {
            const sg_case *c = &l.items[i];
            const sg_area_row *r = c->area_id ? at_level(areas, c->area_id, level) : NULL;
            char day[16];
            if (is_surge) {
                local_date(c->created_at, o.tz, '-', day);
                fprintf(cases_out, "%s,%s,%s\n", day,
                        c->area_id && sg_areas_get(areas, c->area_id)
                            ? sg_areas_get(areas, c->area_id)->code
                            : "",
                        c->category);
                n_cases++;
                continue;
            }
            if (r == NULL) {
                n_unplaced++;
                continue;
            }
            n_cases++;
            if (c->created_at < first_t)
                first_t = c->created_at;
            if (c->created_at > last_t)
                last_t = c->created_at;
            sg_area_row key = {.id = r->id};
            sg_area_row *hit = bsearch(&key, rows, n_rows, sizeof *rows, by_id);
            if (hit)
                counts[hit - rows]++;
            if (is_scan) {
                local_date(c->created_at, o.tz, '/', day);
                fprintf(cases_out, "%s 1 %s\n", r->code, day);
            }
        }
        f.before_id = l.next_cursor;
        sg_case_list_fini(&l);
        if (f.before_id == 0)
            break;
    }
    if (cases_out && fclose(cases_out) != 0) {
        cases_out = NULL;
        fail("cannot write %s", p1);
        goto done;
    }
    cases_out = NULL;
    if (n_cases == 0) {
        fail("no cases match (%ld lie in no area at that level)", n_unplaced);
        goto done;
    }
    if (n_unplaced)
        fprintf(stderr, "safegrid analyze: %ld cases lie in no area at level %s and are left out\n",
                n_unplaced, o.level ? o.level : "grid");

    args[n++] = "analyze";
    args[n++] = (char *)kind;
    if (strcmp(kind, "gistar") == 0) {
        FILE *cf = fopen(p1, "w");
        if (cf == NULL) {
            fail("cannot write %s", p1);
            goto done;
        }
        fputs("code,count\n", cf);
        for (size_t i = 0; i < n_rows; i++)
            if (rows[i].level == level)
                fprintf(cf, "%s,%ld\n", rows[i].code, counts[i]);
        fclose(cf);
        snprintf(p2, sizeof p2, "%s/areas.geojson", dir);
        if (write_polygons(p2, rows, n_rows, level, cx, cy))
            goto done;
        char *extra[] = {"--counts", p1,           "--id", "code",      "--value",
                         "count",    "--polygons", p2,     "--poly-id", "code"};
        for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
            args[n++] = extra[i];
    } else if (is_scan) {
        snprintf(p2, sizeof p2, "%s/areas.geojson", dir);
        if (write_polygons(p2, rows, n_rows, level, cx, cy))
            goto done;
        snprintf(p2, sizeof p2, "%s/areas.geo", dir);
        FILE *gf = fopen(p2, "w");
        if (gf == NULL) {
            fail("cannot write %s", p2);
            goto done;
        }
        for (size_t i = 0; i < n_rows; i++)
            if (rows[i].level == level && counts[i] > 0)
                fprintf(gf, "%s %.7f %.7f\n", rows[i].code, cy[i], cx[i]); /* lat lon */
        fclose(gf);
        char d0[16], d1[16];
        local_date(f.from ? f.from : first_t, o.tz, '/', d0);
        local_date(f.to ? f.to - 1 : last_t, o.tz, '/', d1);
        snprintf(p3, sizeof p3, "%s/analysis.prm", dir);
        FILE *pf = fopen(p3, "w");
        if (pf == NULL) {
            fail("cannot write %s", p3);
            goto done;
        }
        fprintf(pf,
                "; written by safegrid analyze scan --db %s\n[Input]\nCaseFile=cases.cas\n"
                "CoordinatesFile=areas.geo\nPrecisionCaseTimes=3\nStartDate=%s\nEndDate=%s\n"
                "CoordinatesType=1\n[Analysis]\nAnalysisType=3\nModelType=2\nScanAreas=1\n"
                "TimeAggregationUnits=3\nTimeAggregationLength=1\n",
                o.db, d0, d1);
        fclose(pf);
        args[n++] = "--prm";
        args[n++] = p3;
    } else {
        args[n++] = "--daily";
        args[n++] = p1;
    }
    for (int i = 0; i < n_rest; i++)
        args[n++] = rest[i];
    args[n] = NULL;
    sg_areas_release(areas);
    areas = NULL;
    sg_store_close(s);
    s = NULL;
    rc = sg_analyze_cli(n, args);
done:
    if (cases_out)
        fclose(cases_out);
    free(cx);
    free(cy);
    free(counts);
    sg_area_rows_free(rows, n_rows);
    sg_areas_release(areas);
    sg_store_close(s);
    if (!o.keep) {
        const char *names[] = {"counts.csv", "areas.geojson", "cases.cas",
                               "areas.geo",  "analysis.prm",  "daily.csv"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char path[400];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    return rc;
}
