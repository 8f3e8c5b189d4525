/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * CSV import of cases. Reading (libcsv, iconv), reprojection (PROJ) and time parsing live
 * in their own modules; this file maps columns to case fields and feeds the case engine.
 *
 * Rows are submitted through the one intake (sg_intake_submit()) with up to WINDOW creations in
 * flight, so an import shares fsyncs through the store's group commit instead of paying
 * one per row, while every row still counts as imported only after its commit. Each row
 * carries a stable key -- the id column, or a BLAKE2b hash of all its fields -- so a re-run
 * inserts nothing twice.
 */
#include "safegrid/import.h"
#include "safegrid/csv.h"
#include "safegrid/intake.h"
#include "safegrid/proj.h"
#include "safegrid/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 256

typedef struct importer {
    sg_store *s;
    const sg_import_opts *o;
    sg_import_report rep;
    sg_proj *proj;
    int col_cat, col_cat_name, col_title, col_desc, col_x, col_y, col_time, col_id;
    char source[128];
    /* categories known to exist, as slugs */
    char (*cats)[64];
    size_t n_cats, cap_cats;
    /* creations in flight, in a ring */
    sg_case_pending *pending;
    long *pending_line;
    size_t head, n_pending;
} importer;

static void row_failed(importer *im, long line, const char *reason)
{
    im->rep.failed++;
    if (im->o->row_error)
        im->o->row_error(im->o->row_error_ctx, line, reason);
}

/* Folds a UTF-8 Latin letter with a diacritic (U+00C0..U+00FF) to its base letter. */
static char fold_latin1(unsigned char second)
{
    static const char map[] = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo-ouuuuyty";
    return map[second - 0x80];
}

/* A category code from free text: lower-case ASCII letters and digits, runs of anything
 * else as one '-', accents folded ("LESÃO CORPORAL" -> "lesao-corporal"). */
static void slugify(const char *in, char out[64])
{
    size_t k = 0;
    int dash = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && k < 62; p++) {
        char c = 0;
        if (isalnum(*p) && *p < 0x80)
            c = (char)tolower(*p);
        else if (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF)
            c = (char)tolower((unsigned char)fold_latin1(*++p));
        if (c && isalnum((unsigned char)c)) {
            if (dash && k > 0)
                out[k++] = '-';
            out[k++] = c;
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[k] = '\0';
}

static sg_err ensure_category(importer *im, const char *code, const char *name, char *why, size_t n)
{
    for (size_t i = 0; i < im->n_cats; i++)
        if (strcmp(im->cats[i], code) == 0)
            return SG_OK;
    sg_category c;
    sg_err err = sg_store_category_get(im->s, code, &c);
    if (err == SG_NOTFOUND && im->o->create_categories) {
        memset(&c, 0, sizeof c);
        snprintf(c.code, sizeof c.code, "%s", code);
        snprintf(c.type, sizeof c.type, "%s", im->o->type);
        snprintf(c.name, sizeof c.name, "%s", name && name[0] ? name : code);
        sg_case_default_deadlines(im->o->type, c.deadline);
        /* The category commits with its entry, by whoever the import's cases are by. */
        const sg_actor *who = im->o->actor;
        char object[80];
        snprintf(object, sizeof object, "category/%s", c.code);
        sg_audit_entry e = {who ? who->name : "import",
                            sg_role_name(who ? who->role : SG_ROLE_SUPERVISOR), "category.put",
                            object, NULL};
        err = sg_store_category_put(im->s, &c, &e, why, n);
        if (!err)
            im->rep.categories_created++;
    } else if (err == SG_NOTFOUND) {
        return sg_errf(SG_NOTFOUND, why, n,
                       "unknown category '%s' (create it first, or import with "
                       "--create-categories)",
                       code);
    } else if (err) {
        return sg_errf(err, why, n, "cannot read category '%s'", code);
    }
    if (err)
        return err;
    if (im->n_cats == im->cap_cats) {
        size_t ncap = im->cap_cats ? im->cap_cats * 2 : 32;
        char(*g)[64] = realloc(im->cats, ncap * sizeof(*g));
        if (g == NULL)
            return SG_NOMEM;
        im->cats = g;
        im->cap_cats = ncap;
    }
    snprintf(im->cats[im->n_cats++], 64, "%s", code);
    return SG_OK;
}

static int parse_number(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Waits for the oldest creation in flight and counts its outcome. */
static void finish_oldest(importer *im)
{
    sg_case_pending *p = &im->pending[im->head];
    long line = im->pending_line[im->head];
    char why[200];
    sg_case c;
    int outside = p->data[0] != '\0'; /* the created event flags outside_areas */
    sg_err err = sg_intake_wait(im->s, p, &c, why, sizeof why);
    if (err == SG_OK) {
        im->rep.imported++;
        im->rep.outside_areas += outside;
        if (!isfinite(c.lon))
            im->rep.without_location++;
        sg_case_fini(&c);
    } else if (err == SG_CONFLICT) {
        im->rep.already++;
    } else {
        row_failed(im, line, why);
    }
    im->head = (im->head + 1) % WINDOW;
    im->n_pending--;
}

static const char *field(const char *const *f, size_t n_f, int col)
{
    return col >= 0 && (size_t)col < n_f ? f[col] : NULL;
}

static void row_key(const char *const *f, size_t n_f, char out[33])
{
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    for (size_t i = 0; i < n_f; i++) {
        /* Length-prefix each field so that ("ab","c") and ("a","bc") differ. */
        size_t len = strlen(f[i]);
        crypto_generichash_update(&st, (const unsigned char *)&len, sizeof len);
        crypto_generichash_update(&st, (const unsigned char *)f[i], len);
    }
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, 33, h, sizeof h);
}

static void import_row(importer *im, const char *const *f, size_t n_f, long line)
{
    const sg_import_opts *o = im->o;
    char why[200];
    const char *cat_text = field(f, n_f, im->col_cat);
    if (cat_text == NULL || cat_text[0] == '\0') {
        row_failed(im, line, "no category");
        return;
    }
    char code[64];
    slugify(cat_text, code);
    if (code[0] == '\0') {
        row_failed(im, line, "the category has no letters or digits");
        return;
    }
    if (ensure_category(im, code, field(f, n_f, im->col_cat_name), why, sizeof why) != SG_OK) {
        row_failed(im, line, why);
        return;
    }
    sg_case_new in = {.type = o->type,
                      .category = code,
                      .priority = o->priority,
                      .lon = NAN,
                      .lat = NAN,
                      .source = im->source};
    in.title = field(f, n_f, im->col_title);
    in.description = field(f, n_f, im->col_desc);
    if (im->col_x >= 0) {
        const char *xs = field(f, n_f, im->col_x), *ys = field(f, n_f, im->col_y);
        int x_empty = xs == NULL || xs[0] == '\0', y_empty = ys == NULL || ys[0] == '\0';
        double x, y;
        if (x_empty && y_empty) {
            /* no location: allowed, counted */
        } else if (parse_number(xs, &x) != 0 || parse_number(ys, &y) != 0) {
            snprintf(why, sizeof why, "coordinates '%s', '%s' are not numbers", xs ? xs : "",
                     ys ? ys : "");
            row_failed(im, line, why);
            return;
        } else if (im->proj) {
            if (sg_proj_to_wgs84(im->proj, x, y, &in.lon, &in.lat) != SG_OK) {
                snprintf(why, sizeof why, "coordinates %g, %g cannot be reprojected", x, y);
                row_failed(im, line, why);
                return;
            }
        } else {
            in.lon = x;
            in.lat = y;
        }
    }
    if (im->col_time >= 0) {
        const char *ts = field(f, n_f, im->col_time);
        int64_t t;
        char terr[160];
        if (ts == NULL || sg_time_parse(ts, o->time_format ? o->time_format : "iso8601", o->tz, &t,
                                        terr, sizeof terr) != SG_OK) {
            snprintf(why, sizeof why, "time '%s': %s", ts ? ts : "", ts ? terr : "missing");
            row_failed(im, line, why);
            return;
        }
        in.created_at = t;
    }
    char key[80];
    const char *id = field(f, n_f, im->col_id);
    if (im->col_id >= 0) {
        if (id == NULL || id[0] == '\0') {
            row_failed(im, line, "no id");
            return;
        }
        snprintf(key, sizeof key, "%s", id);
    } else {
        row_key(f, n_f, key);
    }
    in.source_key = key;

    if (im->n_pending == WINDOW)
        finish_oldest(im);
    size_t slot = (im->head + im->n_pending) % WINDOW;
    /* Through the one intake, like every other way in; the operator running an import acts
     * for the whole jurisdiction (no area scope), and a row carries no personal data. */
    static const sg_actor importer_actor = {"import", SG_ROLE_SUPERVISOR};
    const sg_actor *actor = o->actor ? o->actor : &importer_actor;
    sg_principal who = {.name = actor->name, .role = actor->role};
    sg_intake_case ic = {.c = in};
    sg_intake_submit(im->s, &who, NULL, &ic, &im->pending[slot]);
    im->pending_line[slot] = line;
    im->n_pending++;
}

static sg_err find_column(sg_csv *r, const char *name, const char *what, int *out, char *msg,
                          size_t n)
{
    *out = -1;
    if (name == NULL)
        return SG_OK;
    *out = sg_csv_column(r, name);
    if (*out < 0) {
        const char *const *h;
        size_t n_h;
        sg_csv_header(r, &h, &n_h);
        char cols[256] = "";
        for (size_t i = 0; i < n_h; i++) {
            size_t len = strlen(cols);
            snprintf(cols + len, sizeof cols - len, "%s%s", i ? ", " : "", h[i]);
        }
        return sg_errf(SG_INVAL, msg, n, "no column '%s' (the %s) in the file; its columns: %s",
                       name, what, cols);
    }
    return SG_OK;
}

sg_err sg_import_cases(sg_store *s, const sg_import_opts *o, sg_import_report *out, char *msg,
                       size_t n)
{
    if (o->path == NULL)
        return sg_errf(SG_INVAL, msg, n, "no file given");
    if (o->category_field == NULL)
        return sg_errf(SG_INVAL, msg, n, "name the category column (--category)");
    if ((o->x_field == NULL) != (o->y_field == NULL))
        return sg_errf(SG_INVAL, msg, n, "name both coordinate columns (--x and --y), or neither");
    sg_import_opts eff = *o;
    if (eff.type == NULL)
        eff.type = "incident";
    if (!sg_case_type_valid(eff.type))
        return sg_errf(SG_INVAL, msg, n, "unknown case type '%s' (expected one of: %s)", eff.type,
                       SG_CASE_TYPES);
    if (eff.priority == 0)
        eff.priority = 3;
    if (eff.priority < 1 || eff.priority > 4)
        return sg_errf(SG_INVAL, msg, n, "priority must be 1 to 4");
    if (eff.time_field) {
        /* Check the format and zone once, so a typo fails the run, not every row. */
        char terr[160];
        int64_t t;
        sg_err e = sg_time_parse("", eff.time_format ? eff.time_format : "iso8601", "UTC", &t, terr,
                                 sizeof terr);
        if (e == SG_UNSUPPORTED)
            return sg_errf(SG_INVAL, msg, n, "--time-format: %s", terr);
        e = sg_time_parse("2000-01-01", "iso8601", eff.tz, &t, terr, sizeof terr);
        if (e != SG_OK)
            return sg_errf(SG_INVAL, msg, n, "time zone '%s': %s", eff.tz ? eff.tz : "", terr);
    }

    importer im = {.s = s, .o = &eff};
    sg_err err = SG_OK;
    sg_csv *r = NULL;
    if (eff.srs) {
        err = sg_proj_new(eff.srs, &im.proj, msg, n);
        if (err)
            return err;
    }
    sg_csv_opts co = {.delim = eff.delim ? eff.delim : ',', .encoding = eff.encoding};
    err = sg_csv_open(eff.path, &co, &r, msg, n);
    if (err)
        goto done;
    err = find_column(r, eff.category_field, "category", &im.col_cat, msg, n);
    if (!err)
        err = find_column(r, eff.category_name_field, "category name", &im.col_cat_name, msg, n);
    if (!err)
        err = find_column(r, eff.title_field, "title", &im.col_title, msg, n);
    if (!err)
        err = find_column(r, eff.description_field, "description", &im.col_desc, msg, n);
    if (!err)
        err = find_column(r, eff.x_field, "x coordinate", &im.col_x, msg, n);
    if (!err)
        err = find_column(r, eff.y_field, "y coordinate", &im.col_y, msg, n);
    if (!err)
        err = find_column(r, eff.time_field, "time", &im.col_time, msg, n);
    if (!err)
        err = find_column(r, eff.id_field, "row id", &im.col_id, msg, n);
    if (err)
        goto done;
    if (eff.source) {
        snprintf(im.source, sizeof im.source, "%s", eff.source);
    } else {
        const char *base = strrchr(eff.path, '/');
        snprintf(im.source, sizeof im.source, "csv:%s", base ? base + 1 : eff.path);
    }
    im.pending = calloc(WINDOW, sizeof(*im.pending));
    im.pending_line = calloc(WINDOW, sizeof(*im.pending_line));
    if (im.pending == NULL || im.pending_line == NULL) {
        err = SG_NOMEM;
        goto done;
    }
    long every = 1000;
    for (;;) {
        const char *const *f;
        size_t n_f;
        long line;
        char why[200];
        sg_err e = sg_csv_next(r, &f, &n_f, &line, why, sizeof why);
        if (e == SG_NOTFOUND)
            break;
        im.rep.rows++;
        if (e == SG_OK)
            import_row(&im, f, n_f, line);
        else if (e == SG_INVAL || e == SG_TOOBIG)
            row_failed(&im, line, why);
        else {
            err = sg_errf(e, msg, n, "%s", why);
            break;
        }
        if (eff.progress && im.rep.rows % every == 0)
            eff.progress(eff.progress_ctx, im.rep.rows, im.rep.imported);
    }
    while (im.n_pending > 0)
        finish_oldest(&im);
    if (eff.progress)
        eff.progress(eff.progress_ctx, im.rep.rows, im.rep.imported);
    if (!err)
        *out = im.rep;
done:
    sg_csv_free(r);
    sg_proj_free(im.proj);
    free(im.pending);
    free(im.pending_line);
    free(im.cats);
    return err;
}
