/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid area list`, `locate`, `org` and `rule`: the areas, the organisations that
 * serve them and the routing rules that send cases to those organisations. Lists read the
 * store's area snapshot (sg_areas), the same one the server routes and locates with.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "safegrid/area.h"
#include "safegrid/geo.h"
#include "safegrid/store.h"

static int cmd_area_list(cli *c)
{
    int level = -1;
    if (cli_opt_value(c, "level") && (level = sg_geo_level_parse(cli_opt_value(c, "level"))) < 0)
        return cli_usage_error(c, "--level must be county, township, community or grid");
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    sg_area_row *v;
    size_t n;
    sg_err err = sg_store_areas_list(s, 0, &v, &n);
    cli_close_store(c);
    if (err)
        return cli_fail("cannot list areas: %s", sg_strerror(err));
    json_t *a = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (level >= 0 && v[i].level != level)
            continue;
        if (a) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(v[i].id));
            json_object_set_new(o, "code", json_string(v[i].code));
            json_object_set_new(o, "name", json_string(v[i].name));
            json_object_set_new(o, "level", json_string(sg_geo_level_name(v[i].level)));
            json_object_set_new(o, "parent",
                                v[i].parent_code[0] ? json_string(v[i].parent_code) : json_null());
            json_object_set_new(o, "population",
                                v[i].population >= 0 ? json_integer(v[i].population) : json_null());
            json_array_append_new(a, o);
        } else {
            printf("%-12s %-10s %-12s %s\n", v[i].code, sg_geo_level_name(v[i].level),
                   v[i].parent_code[0] ? v[i].parent_code : "-", v[i].name);
        }
    }
    if (a)
        cli_print_json(a);
    sg_area_rows_free(v, n);
    return 0;
}

static int cmd_locate(cli *c)
{
    double lon, lat;
    if (cli_parse_double(c->pos[0], &lon) || cli_parse_double(c->pos[1], &lat) || lon < -180 ||
        lon > 180 || lat < -90 || lat > 90)
        return cli_usage_error(c, "LON and LAT must be WGS84 degrees (-180..180, -90..90)");
    sg_store *s;
    sg_areas *areas;
    int rc = cli_open_areas(c, &s, &areas);
    if (rc)
        return rc;
    int64_t id = 0;
    sg_err err = sg_areas_locate(areas, lon, lat, &id);
    json_t *chain = json_array();
    if (err == SG_OK) {
        for (int k = 0;; k++) {
            int64_t up = sg_areas_ancestor(areas, id, k);
            const sg_area_row *r = up ? sg_areas_get(areas, up) : NULL;
            if (r == NULL)
                break;
            json_t *o = json_object();
            json_object_set_new(o, "code", json_string(r->code));
            json_object_set_new(o, "name", json_string(r->name));
            json_object_set_new(o, "level", json_string(sg_geo_level_name(r->level)));
            json_array_append_new(chain, o);
        }
    }
    cli_close_areas(c, areas);
    if (err != SG_OK && err != SG_NOTFOUND) {
        json_decref(chain);
        return cli_fail("cannot locate: %s", sg_strerror(err));
    }
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "lon", json_real(lon));
        json_object_set_new(o, "lat", json_real(lat));
        json_object_set_new(o, "areas", chain);
        cli_print_json(o);
        return 0;
    }
    if (json_array_size(chain) == 0)
        printf("outside every area\n");
    for (size_t i = 0; i < json_array_size(chain); i++) {
        json_t *o = json_array_get(chain, i);
        printf("%-10s %-12s %s\n", json_string_value(json_object_get(o, "level")),
               json_string_value(json_object_get(o, "code")),
               json_string_value(json_object_get(o, "name")));
    }
    json_decref(chain);
    return 0;
}

static int cmd_org_add(cli *c)
{
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[80];
    snprintf(obj, sizeof obj, "org/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry("org.put", obj);
    sg_err err = sg_store_org_put(s, c->pos[0], cli_opt_value(c, "name"), cli_opt_value(c, "kind"),
                                  cli_opt_value(c, "area"), &e, msg, sizeof msg);
    if ((rc = cli_close_write(c, err, msg)) != 0)
        return rc;
    printf("organisation %s\n", c->pos[0]);
    return 0;
}

static int cmd_org_list(cli *c)
{
    sg_store *s;
    sg_areas *areas;
    int rc = cli_open_areas(c, &s, &areas);
    if (rc)
        return rc;
    size_t n;
    const sg_org_row *v = sg_areas_org_list(areas, &n);
    json_t *a = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        const sg_area_row *ar = v[i].area_id ? sg_areas_get(areas, v[i].area_id) : NULL;
        if (a) {
            json_t *o = json_object();
            json_object_set_new(o, "code", json_string(v[i].code));
            json_object_set_new(o, "name", json_string(v[i].name));
            json_object_set_new(o, "kind", json_string(v[i].kind));
            json_object_set_new(o, "area", ar ? json_string(ar->code) : json_null());
            json_array_append_new(a, o);
        } else {
            printf("%-14s %-16s %-12s %s\n", v[i].code, v[i].kind, ar ? ar->code : "-", v[i].name);
        }
    }
    if (a)
        cli_print_json(a);
    cli_close_areas(c, areas);
    return 0;
}

static int cmd_rule_add(cli *c)
{
    if (cli_opt_value(c, "area") == NULL || cli_opt_value(c, "org") == NULL)
        return cli_usage_error(c, "--area and --org are required");
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[160];
    snprintf(obj, sizeof obj, "rule/%.64s/%.64s", cli_opt_value(c, "area"),
             cli_opt_value(c, "category") ? cli_opt_value(c, "category") : "*");
    sg_audit_entry e = cli_entry("rule.put", obj);
    sg_err err = sg_store_rule_put(s, cli_opt_value(c, "category"), cli_opt_value(c, "area"),
                                   cli_opt_value(c, "org"), &e, msg, sizeof msg);
    if ((rc = cli_close_write(c, err, msg)) != 0)
        return rc;
    printf("%s cases in area %s and below go to %s\n",
           cli_opt_value(c, "category") ? cli_opt_value(c, "category") : "all",
           cli_opt_value(c, "area"), cli_opt_value(c, "org"));
    return 0;
}

static int cmd_rule_list(cli *c)
{
    sg_store *s;
    sg_areas *areas;
    int rc = cli_open_areas(c, &s, &areas);
    if (rc)
        return rc;
    size_t n;
    const sg_rule_row *v = sg_areas_rule_list(areas, &n);
    json_t *a = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        const sg_area_row *ar = sg_areas_get(areas, v[i].area_id);
        const sg_org_row *org = sg_areas_org(areas, v[i].org_id);
        if (a) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(v[i].id));
            json_object_set_new(o, "category",
                                v[i].category[0] ? json_string(v[i].category) : json_null());
            json_object_set_new(o, "area", json_string(ar ? ar->code : "?"));
            json_object_set_new(o, "org", json_string(org ? org->code : "?"));
            json_array_append_new(a, o);
        } else {
            printf("%-6lld %-20s %-12s -> %s\n", (long long)v[i].id,
                   v[i].category[0] ? v[i].category : "(any)", ar ? ar->code : "?",
                   org ? org->code : "?");
        }
    }
    if (a)
        cli_print_json(a);
    cli_close_areas(c, areas);
    return 0;
}

static int cmd_rule_remove(cli *c)
{
    long id;
    if (cli_parse_long(c->pos[0], 1, LONG_MAX, &id) != 0)
        return cli_usage_error(c, "ID must be a rule number (see rule list)");
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[40];
    snprintf(obj, sizeof obj, "rule/%ld", id);
    sg_audit_entry e = cli_entry("rule.delete", obj);
    sg_err err = sg_store_rule_delete(s, id, &e, msg, sizeof msg);
    return cli_close_write(c, err, msg);
}

/* ---- command table ---------------------------------------------------------------------- */

static const cli_cmd cmds[] = {
    CLI_CMD("area", "list", cmd_area_list, "area list [--level L] [--json]",
            "Lists the areas with their level and parent.", 0, 0,
            {"level", 0, "LEVEL", "only this level", NULL}, CLI_O_JSON),
    CLI_CMD("locate", NULL, cmd_locate, "locate LON LAT [--json]",
            "Finds the finest area containing a WGS84 point, with its ancestors.", 2, 2,
            CLI_O_JSON),
    CLI_CMD("org", "add", cmd_org_add, "org add CODE --name NAME --kind KIND [--area AREA]",
            "Adds or updates an organisation (police station, mediation committee, grid office,\n"
            "fire, medical service, department) and the area it serves.",
            1, 1, {"name", 0, "NAME", "display name", NULL},
            {"kind", 0, "KIND", "police, mediation, grid_office, fire, medical, department", NULL},
            {"area", 0, "CODE", "the area it serves", NULL}),
    CLI_CMD("org", "list", cmd_org_list, "org list [--json]", "Lists the organisations.", 0, 0,
            CLI_O_JSON),
    CLI_CMD("rule", "add", cmd_rule_add, "rule add --area CODE --org CODE [--category CODE]",
            "Sends cases of a category (default: any) in an area and everything below it to an\n"
            "organisation. The most specific area wins; a rule for the category beats a rule\n"
            "for any category at the same area.",
            0, 0, {"area", 0, "CODE", "area code", NULL},
            {"org", 0, "CODE", "organisation code", NULL},
            {"category", 0, "CODE", "only this category (default: any)", NULL}),
    CLI_CMD("rule", "list", cmd_rule_list, "rule list [--json]", "Lists the routing rules.", 0, 0,
            CLI_O_JSON),
    CLI_CMD("rule", "remove", cmd_rule_remove, "rule remove ID", "Removes a routing rule.", 1, 1,
            CLI_O_JSON),
};

const cli_group cli_area_group = CLI_GROUP(cmds);
