/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid import cases|areas`: CSV rows into cases (src/case/import.c) and polygons of
 * any GDAL format into areas (src/geo/). Rows or features that cannot be read are reported
 * by line or by area code and the rest is imported; progress goes to stderr (a rewritten
 * line on a terminal, log lines otherwise).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "safegrid/area.h"
#include "safegrid/geo.h"
#include "safegrid/import.h"
#include "safegrid/log.h"
#include "safegrid/store.h"

typedef struct import_ui {
    int tty;
    long shown_errors;
    long max_errors;
} import_ui;

static void import_progress(void *ctx, long rows, long imported)
{
    import_ui *ui = ctx;
    if (ui->tty)
        fprintf(stderr, "\r%ld rows read, %ld imported", rows, imported);
    else
        sg_log(SG_LOG_INFO, "import.progress", "%ld rows read, %ld imported", rows, imported);
}

static void import_row_error(void *ctx, long line, const char *reason)
{
    import_ui *ui = ctx;
    if (ui->shown_errors++ < ui->max_errors) {
        if (ui->tty)
            fputc('\n', stderr);
        fprintf(stderr, "line %ld: %s\n", line, reason);
    }
}

static int cmd_import_cases(cli *c)
{
    sg_import_opts o = {0};
    o.path = c->pos[0];
    o.type = cli_opt_value(c, "type");
    o.category_field = cli_opt_value(c, "category");
    o.category_name_field = cli_opt_value(c, "category-name");
    o.title_field = cli_opt_value(c, "title");
    o.description_field = cli_opt_value(c, "description");
    o.x_field = cli_opt_value(c, "x");
    o.y_field = cli_opt_value(c, "y");
    o.srs = cli_opt_value(c, "srs");
    o.time_field = cli_opt_value(c, "time");
    o.time_format = cli_opt_value(c, "time-format");
    o.tz = cli_opt_value(c, "tz");
    o.id_field = cli_opt_value(c, "id");
    o.source = cli_opt_value(c, "source");
    o.encoding = cli_opt_value(c, "encoding");
    o.create_categories = cli_opt_value(c, "create-categories") != NULL;
    if (o.category_field == NULL)
        return cli_usage_error(c,
                               "--category (the column holding each row's category) is required");
    const char *d = cli_opt_value(c, "delimiter");
    if (d) {
        if (strcmp(d, "\\t") == 0 || strcmp(d, "tab") == 0)
            o.delim = '\t';
        else if (strlen(d) == 1)
            o.delim = d[0];
        else
            return cli_usage_error(c, "--delimiter must be one character (or 'tab')");
    }
    long prio = 0;
    if (cli_opt_value(c, "priority") &&
        cli_parse_long(cli_opt_value(c, "priority"), 1, 4, &prio) != 0)
        return cli_usage_error(c, "--priority must be 1 to 4");
    o.priority = (int)prio;
    import_ui ui = {isatty(2), 0, 50};
    o.progress = import_progress;
    o.progress_ctx = &ui;
    o.row_error = import_row_error;
    o.row_error_ctx = &ui;
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    sg_import_report r;
    char msg[400];
    sg_err err = sg_import_cases(s, &o, &r, msg, sizeof msg);
    cli_close_store(c);
    if (ui.tty)
        fputc('\n', stderr);
    if (err)
        return cli_fail("%s", msg);
    if (ui.shown_errors > ui.max_errors)
        fprintf(stderr, "(%ld more rows could not be read)\n", ui.shown_errors - ui.max_errors);
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "rows", json_integer(r.rows));
        json_object_set_new(j, "imported", json_integer(r.imported));
        json_object_set_new(j, "already_imported", json_integer(r.already));
        json_object_set_new(j, "failed", json_integer(r.failed));
        json_object_set_new(j, "categories_created", json_integer(r.categories_created));
        json_object_set_new(j, "without_location", json_integer(r.without_location));
        json_object_set_new(j, "outside_areas", json_integer(r.outside_areas));
        cli_print_json(j);
    } else {
        printf("%ld rows: %ld imported, %ld already imported, %ld could not be read; %ld new "
               "categories; %ld without a location\n",
               r.rows, r.imported, r.already, r.failed, r.categories_created, r.without_location);
        if (r.outside_areas)
            printf("%ld imported rows lie outside every area (kept, without an area)\n",
                   r.outside_areas);
    }
    return 0;
}

static int import_areas_progress(void *user, size_t done, size_t total)
{
    int *tty = user;
    if (*tty)
        fprintf(stderr, "\r%zu of %zu features", done, total);
    return 0;
}

static int cmd_import_areas(cli *c)
{
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.code_field = cli_opt_value(c, "code");
    o.name_field = cli_opt_value(c, "name");
    o.level_field = cli_opt_value(c, "level");
    o.population_field = cli_opt_value(c, "population");
    o.parent_field = cli_opt_value(c, "parent");
    o.srs = cli_opt_value(c, "srs");
    o.encoding = cli_opt_value(c, "encoding");
    o.layer = cli_opt_value(c, "layer");
    if (cli_opt_value(c, "fixed-level")) {
        o.fixed_level = sg_geo_level_parse(cli_opt_value(c, "fixed-level"));
        if (o.fixed_level < 0)
            return cli_usage_error(c, "--fixed-level must be county, township, community or grid");
    }
    const char *org_kind = cli_opt_value(c, "create-orgs");
    int tty = isatty(2);
    o.progress = import_areas_progress;
    o.progress_user = &tty;
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    /* Areas already stored can be parents of the new ones. */
    sg_area_row *known = NULL;
    size_t n_known = 0;
    sg_geo_area *parents = NULL;
    sg_err err = sg_store_areas_list(s, 1, &known, &n_known);
    if (!err && n_known) {
        parents = calloc(n_known, sizeof *parents);
        if (parents == NULL)
            err = SG_NOMEM;
        for (size_t i = 0; parents && i < n_known; i++) {
            parents[i].code = known[i].code;
            parents[i].name = known[i].name;
            parents[i].level = known[i].level;
            parents[i].population = known[i].population;
            parents[i].wkb = known[i].wkb;
            parents[i].wkb_len = known[i].wkb_len;
            memcpy(parents[i].bbox, known[i].bbox, sizeof parents[i].bbox);
        }
        o.parents = parents;
        o.n_parents = n_known;
    }
    char msg[400];
    sg_geo_import *imp = NULL;
    if (!err)
        err = sg_geo_import_file(c->pos[0], &o, &imp, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "cannot read the stored areas: %s", sg_strerror(err));
    if (tty)
        fputc('\n', stderr);
    free(parents);
    sg_area_rows_free(known, n_known);
    if (err) {
        cli_close_store(c);
        return cli_fail("%s", msg);
    }
    sg_area_row *rows = calloc(imp->n_areas ? imp->n_areas : 1, sizeof *rows);
    if (rows == NULL) {
        sg_geo_import_free(imp);
        cli_close_store(c);
        return cli_fail("out of memory");
    }
    for (size_t i = 0; i < imp->n_areas; i++) {
        const sg_geo_area *a = &imp->areas[i];
        snprintf(rows[i].code, sizeof rows[i].code, "%s", a->code);
        rows[i].name = a->name;
        rows[i].level = a->level;
        snprintf(rows[i].parent_code, sizeof rows[i].parent_code, "%s",
                 a->parent_code ? a->parent_code : "");
        rows[i].population = a->population;
        memcpy(rows[i].bbox, a->bbox, sizeof rows[i].bbox);
        rows[i].wkb = a->wkb;
        rows[i].wkb_len = a->wkb_len;
    }
    size_t n_new = 0, n_upd = 0, n_orgs = 0;
    char detail_obj[160];
    snprintf(detail_obj, sizeof detail_obj, "areas/%zu", imp->n_areas);
    sg_audit_entry e = cli_entry("areas.import", detail_obj);
    /* Each write commits with its entry: the areas with the import's, the organisation
     * and rule of each area (--org-kind) with their own. */
    err = sg_store_areas_put(s, rows, imp->n_areas, &e, &n_new, &n_upd, msg, sizeof msg);
    for (size_t i = 0; !err && org_kind && i < imp->n_areas; i++) {
        /* One organisation per area, responsible for every category there. */
        char name[200], obj[160];
        snprintf(name, sizeof name, "%s %s",
                 imp->areas[i].name[0] ? imp->areas[i].name : imp->areas[i].code, org_kind);
        snprintf(obj, sizeof obj, "org/%.64s", imp->areas[i].code);
        sg_audit_entry oe = cli_entry("org.put", obj);
        err = sg_store_org_put(s, imp->areas[i].code, name, org_kind, imp->areas[i].code, &oe, msg,
                               sizeof msg);
        snprintf(obj, sizeof obj, "rule/%.64s/*", imp->areas[i].code);
        sg_audit_entry re = cli_entry("rule.put", obj);
        if (!err)
            err = sg_store_rule_put(s, NULL, imp->areas[i].code, imp->areas[i].code, &re, msg,
                                    sizeof msg);
        n_orgs += !err;
    }
    free(rows);
    if ((rc = cli_close_write(c, err, msg)) != 0) {
        sg_geo_import_free(imp);
        return rc;
    }
    for (size_t i = 0; i < imp->n_issues; i++)
        fprintf(stderr, "%s: %s\n", sg_geo_issue_name(imp->issues[i].kind), imp->issues[i].message);
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "features", json_integer((json_int_t)imp->n_features));
        json_object_set_new(j, "areas", json_integer((json_int_t)imp->n_areas));
        json_object_set_new(j, "new", json_integer((json_int_t)n_new));
        json_object_set_new(j, "updated", json_integer((json_int_t)n_upd));
        json_object_set_new(j, "organisations", json_integer((json_int_t)n_orgs));
        json_t *issues = json_array();
        for (size_t i = 0; i < imp->n_issues; i++) {
            json_t *o2 = json_object();
            json_object_set_new(o2, "kind", json_string(sg_geo_issue_name(imp->issues[i].kind)));
            json_object_set_new(o2, "code", json_pack("s?", imp->issues[i].code));
            json_object_set_new(o2, "other_code", json_pack("s?", imp->issues[i].other_code));
            json_object_set_new(o2, "area_m2", json_real(imp->issues[i].area_m2));
            json_object_set_new(o2, "message", json_string(imp->issues[i].message));
            json_array_append_new(issues, o2);
        }
        json_object_set_new(j, "issues", issues);
        cli_print_json(j);
    } else {
        printf("%zu features: %zu areas (%zu new, %zu updated), %zu problems reported",
               imp->n_features, imp->n_areas, n_new, n_upd, imp->n_issues);
        if (org_kind)
            printf(", %zu organisations", n_orgs);
        printf("\n");
    }
    sg_geo_import_free(imp);
    return 0;
}

/* ---- command table ---------------------------------------------------------------------- */

static const cli_cmd cmds[] = {
    CLI_CMD(
        "import", "cases", cmd_import_cases,
        "import cases FILE.csv --category COL [--x COL --y COL --srs CRS] [--time COL "
        "--time-format FMT --tz ZONE] [options]",
        "Imports cases from a CSV file. Rows that cannot be read are reported by line\n"
        "and the rest are imported; running it again adds nothing twice.\n"
        "Example (Belo Horizonte occurrences, see docs/import.md):\n"
        "  safegrid import cases OcorrenciasBH.csv --delimiter ';' --encoding LATIN1 \\\n"
        "    --type incident --category Nat --category-name Descricao --create-categories \\\n"
        "    --x X --y Y --srs '+proj=tmerc +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 "
        "+ellps=aust_SA +towgs84=-66.87,4.37,-38.52' \\\n"
        "    --time DataHora --time-format '%d/%m/%Y %H:%M:%S' --tz America/Sao_Paulo --id COD",
        1, 1, {"type", 0, "TYPE", "case type of every row (default incident)", NULL},
        {"category", 0, "COL", "column with each row's category (required)", NULL},
        {"category-name", 0, "COL", "column with the category's display name", NULL},
        {"create-categories", 0, NULL, "create unknown categories with the type's deadlines", NULL},
        {"title", 0, "COL", "column with a title", NULL},
        {"description", 0, "COL", "column with a description", NULL},
        {"x", 0, "COL", "column with x / longitude", NULL},
        {"y", 0, "COL", "column with y / latitude", NULL},
        {"srs", 0, "CRS", "CRS of x/y: EPSG code, PROJ string or WKT (default WGS84 lon/lat)",
         NULL},
        {"time", 0, "COL", "column with the time of each row", NULL},
        {"time-format", 0, "FMT", "strptime format, or iso8601 (default)", NULL},
        {"tz", 0, "ZONE", "zone of the times: IANA name or +hh:mm (default UTC)", NULL},
        {"id", 0, "COL", "column with a stable row id (default: a hash of the row)", NULL},
        {"source", 0, "NAME", "name of the source (default csv:FILENAME)", NULL},
        {"delimiter", 0, "CHAR", "field separator (default ,; 'tab' for tabs)", NULL},
        {"encoding", 0, "NAME", "text encoding, e.g. LATIN1 (default UTF-8)", NULL},
        {"priority", 0, "N", "priority of every row (default 3)", NULL}, CLI_O_JSON),
    CLI_CMD(
        "import", "areas", cmd_import_areas,
        "import areas FILE [--code F] [--name F] [--level F | --fixed-level L] [--population F] "
        "[--parent F] [--srs CRS] [--create-orgs KIND]",
        "Imports areas (polygons) from any vector format GDAL reads: GeoJSON, TopoJSON,\n"
        "Shapefile, GeoPackage, MapInfo, KML. Reprojects to WGS84, repairs invalid\n"
        "geometry where it can, and reports overlaps, gaps and other problems by area\n"
        "code. Re-importing updates areas in place by code. Without --parent, each area's\n"
        "parent is the area of the level above that contains it.",
        1, 1, {"code", 0, "FIELD", "field with the area code (default: the feature id)", NULL},
        {"name", 0, "FIELD", "field with the name", NULL},
        {"level", 0, "FIELD", "field with the level (county, township, community, grid or 0-3)",
         NULL},
        {"fixed-level", 0, "LEVEL", "the level of every area (default grid)", NULL},
        {"population", 0, "FIELD", "field with the population", NULL},
        {"parent", 0, "FIELD", "field with the parent's code", NULL},
        {"srs", 0, "CRS", "CRS of the file when it is missing or wrong (EPSG code, PROJ, WKT)",
         NULL},
        {"encoding", 0, "NAME", "text encoding when the file does not say (e.g. ISO-8859-1)", NULL},
        {"layer", 0, "NAME", "layer to read (default the first)", NULL},
        {"create-orgs", 0, "KIND",
         "create an organisation of this kind for each area, responsible for all its cases", NULL},
        CLI_O_JSON),
};

const cli_group cli_import_group = CLI_GROUP(cmds);
