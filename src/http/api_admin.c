/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Administration over HTTP: categories, organisations, routing rules and staff accounts.
 * Reading organisations and rules is open to every staff role (a caseworker needs to know
 * where a case may be referred); changing them, and anything about accounts, is the admin's.
 * An admin with an area scope manages accounts only inside that scope. Every change is
 * written to the audit log with the admin's name.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "safegrid/area.h"
#include "safegrid/auth.h"

/* Reads the JSON body and the string members named in keys (NULL-terminated; any other
 * member is refused) into vals, in order. Returns the body (drop it after use). */
static sg_err read_fields(sg_http_req *r, const char *const *keys, const char **vals, json_t **body,
                          char *msg, size_t n)
{
    sg_err err = sg_http_req_json(r, keys, (void **)body, msg, n);
    if (err)
        return err;
    const char *key;
    json_t *v;
    json_object_foreach(*body, key, v)
    {
        size_t i = 0;
        while (strcmp(keys[i], key) != 0)
            i++;
        if (json_is_null(v))
            continue;
        if (!json_is_string(v) && !json_is_array(v) && !json_is_boolean(v)) {
            err = sg_errf(SG_INVAL, msg, n, "%s must be a string", key);
            break;
        }
        vals[i] = json_is_string(v) ? json_string_value(v) : NULL;
    }
    if (err) {
        json_decref(*body);
        *body = NULL;
    }
    return err;
}

/* The audit entry an admin write commits with: the admin, the action and its object. */
static sg_audit_entry admin_entry(const sg_http_req *r, const char *action, const char *object)
{
    return (sg_audit_entry){r->who.name, sg_role_name(r->who.role), action, object, NULL};
}

static sg_err reply_created(sg_http_req *r, json_t *j, sg_http_reply *out, char *msg, size_t n)
{
    out->status = 201;
    return sg_http_reply_take(r, j, out, msg, n);
}

/* POST /api/v1/categories {"code", "type", "name", "deadlines": [s1, s2, s3, s4]?,
 * "sensitive": bool?} */
static sg_err h_category_put(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"code", "type", "name", "deadlines", "sensitive", NULL};
    const char *v[5] = {0};
    json_t *body;
    sg_err err = read_fields(r, keys, v, &body, msg, n);
    if (err)
        return err;
    sg_category cat = {0};
    if (v[0] == NULL || v[1] == NULL)
        err = sg_errf(SG_INVAL, msg, n, "code and type are required");
    else if (!sg_case_type_valid(v[1]))
        err = sg_errf(SG_INVAL, msg, n, "type must be one of %s", SG_CASE_TYPES);
    else if (strlen(v[0]) >= sizeof cat.code || (v[2] && strlen(v[2]) >= sizeof cat.name))
        err = sg_errf(SG_INVAL, msg, n, "code or name too long");
    if (!err) {
        snprintf(cat.code, sizeof cat.code, "%s", v[0]);
        snprintf(cat.type, sizeof cat.type, "%s", v[1]);
        snprintf(cat.name, sizeof cat.name, "%s", v[2] ? v[2] : v[0]);
        sg_case_default_deadlines(cat.type, cat.deadline);
        json_t *d = json_object_get(body, "deadlines");
        if (d && !json_is_null(d)) {
            if (!json_is_array(d) || json_array_size(d) != 4)
                err = sg_errf(SG_INVAL, msg, n, "deadlines is a list of four numbers of seconds");
            for (size_t k = 0; !err && k < 4; k++) {
                json_t *e = json_array_get(d, k);
                if (!json_is_integer(e) || json_integer_value(e) < 0)
                    err = sg_errf(SG_INVAL, msg, n, "deadlines are whole seconds, 0 or more");
                else
                    cat.deadline[k] = (int64_t)json_integer_value(e);
            }
        }
        json_t *sens = json_object_get(body, "sensitive");
        if (!err && sens && !json_is_null(sens)) {
            if (!json_is_boolean(sens))
                err = sg_errf(SG_INVAL, msg, n, "sensitive is true or false");
            cat.sensitive = json_is_true(sens);
        }
    }
    json_decref(body);
    char obj[80];
    snprintf(obj, sizeof obj, "category/%s", cat.code);
    sg_audit_entry e = admin_entry(r, "category.put", obj);
    if (!err)
        err = sg_store_category_put(r->srv->store, &cat, &e, msg, n);
    if (err)
        return err;
    return reply_created(
        r, json_pack("{s:s, s:s, s:s}", "code", cat.code, "type", cat.type, "name", cat.name), out,
        msg, n);
}

/* Answers a GET without parameters with {key: build(snapshot)}, built from the current
 * area snapshot (organisations and rules live there). */
static sg_err reply_from_areas(sg_http_req *r, const char *key, json_t *(*build)(const sg_areas *),
                               sg_http_reply *out, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    sg_areas *areas;
    err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err)
        return err;
    json_t *arr = build(areas);
    sg_areas_release(areas);
    return sg_http_reply_take(r, arr ? json_pack("{s:o}", key, arr) : NULL, out, msg, n);
}

static json_t *orgs_json(const sg_areas *areas)
{
    size_t no;
    const sg_org_row *orgs = sg_areas_org_list(areas, &no);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < no; i++) {
        const sg_area_row *a = orgs[i].area_id ? sg_areas_get(areas, orgs[i].area_id) : NULL;
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "code", orgs[i].code, "name",
                                             orgs[i].name, "kind", orgs[i].kind, "area",
                                             sg_json_str_or_null(a ? a->code : NULL)));
    }
    return arr;
}

/* GET /api/v1/orgs */
static sg_err h_orgs(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    return reply_from_areas(r, "orgs", orgs_json, out, msg, n);
}

/* POST /api/v1/orgs {"code", "name"?, "kind"?, "area"?} */
static sg_err h_org_put(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"code", "name", "kind", "area", NULL};
    const char *v[4] = {0};
    json_t *body;
    sg_err err = read_fields(r, keys, v, &body, msg, n);
    if (err)
        return err;
    if (v[0] == NULL)
        err = sg_errf(SG_INVAL, msg, n, "code is required");
    char obj[80];
    snprintf(obj, sizeof obj, "org/%.64s", v[0] ? v[0] : "");
    sg_audit_entry e = admin_entry(r, "org.put", obj);
    if (!err)
        err = sg_store_org_put(r->srv->store, v[0], v[1], v[2], v[3], &e, msg, n);
    json_t *j = err ? NULL : json_pack("{s:s}", "code", v[0]);
    json_decref(body);
    return err ? err : reply_created(r, j, out, msg, n);
}

static json_t *rules_json(const sg_areas *areas)
{
    size_t nr;
    const sg_rule_row *rules = sg_areas_rule_list(areas, &nr);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < nr; i++) {
        const sg_area_row *a = sg_areas_get(areas, rules[i].area_id);
        const sg_org_row *o = sg_areas_org(areas, rules[i].org_id);
        json_array_append_new(arr, json_pack("{s:I, s:o, s:o, s:o}", "id", (json_int_t)rules[i].id,
                                             "category", sg_json_str_or_null(rules[i].category),
                                             "area", sg_json_str_or_null(a ? a->code : NULL), "org",
                                             sg_json_str_or_null(o ? o->code : NULL)));
    }
    return arr;
}

/* GET /api/v1/rules */
static sg_err h_rules(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    return reply_from_areas(r, "rules", rules_json, out, msg, n);
}

/* POST /api/v1/rules {"category"?, "area", "org"} */
static sg_err h_rule_put(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"category", "area", "org", NULL};
    const char *v[3] = {0};
    json_t *body;
    sg_err err = read_fields(r, keys, v, &body, msg, n);
    if (err)
        return err;
    if (v[1] == NULL || v[2] == NULL)
        err = sg_errf(SG_INVAL, msg, n, "area and org are required");
    char obj[160];
    snprintf(obj, sizeof obj, "rule/%.64s/%.64s", v[1] ? v[1] : "", v[0] ? v[0] : "*");
    sg_audit_entry e = admin_entry(r, "rule.put", obj);
    if (!err)
        err = sg_store_rule_put(r->srv->store, v[0], v[1], v[2], &e, msg, n);
    json_decref(body);
    return err ? err : reply_created(r, json_pack("{s:b}", "ok", 1), out, msg, n);
}

/* DELETE /api/v1/rules/{id} */
static sg_err h_rule_delete(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    const char *ids = sg_http_req_param(r, "id");
    char *end;
    errno = 0;
    long long id = ids ? strtoll(ids, &end, 10) : 0;
    if (ids == NULL || errno || *end || id <= 0)
        return sg_errf(SG_INVAL, msg, n, "a rule id is a positive integer");
    char obj[40];
    snprintf(obj, sizeof obj, "rule/%lld", id);
    sg_audit_entry e = admin_entry(r, "rule.delete", obj);
    sg_err err = sg_store_rule_delete(r->srv->store, id, &e, msg, n);
    if (err)
        return err;
    return sg_http_reply_empty(out);
}

/* GET /api/v1/users: the accounts in the admin's scope, never their hashes. */
static sg_err h_users(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    sg_account *acc = NULL;
    size_t na = 0;
    err = sg_store_account_list(r->srv->store, &acc, &na);
    if (err)
        return err;
    sg_areas *areas;
    err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err) {
        free(acc);
        return err;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < na; i++) {
        if (!sg_auth_in_scope(areas, &r->who, acc[i].area_id))
            continue;
        const sg_area_row *a = acc[i].area_id ? sg_areas_get(areas, acc[i].area_id) : NULL;
        const sg_org_row *o = acc[i].org_id ? sg_areas_org(areas, acc[i].org_id) : NULL;
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:o, s:o, s:b}", "name", acc[i].name, "role", acc[i].role,
                           "area", sg_json_str_or_null(a ? a->code : NULL), "org",
                           sg_json_str_or_null(o ? o->code : NULL), "disabled", acc[i].disabled));
    }
    sg_areas_release(areas);
    free(acc);
    return sg_http_reply_take(r, arr ? json_pack("{s:o}", "users", arr) : NULL, out, msg, n);
}

/* Checks that an account or area named by code lies in the admin's scope. */
static sg_err area_code_in_scope(sg_http_req *r, const char *code, char *msg, size_t n)
{
    if (r->who.area_id == 0)
        return SG_OK;
    if (code == NULL || code[0] == '\0')
        return sg_errf(SG_FORBIDDEN, msg, n, "you may only give accounts inside your area");
    sg_areas *areas;
    sg_err err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err)
        return err;
    const sg_area_row *a = sg_areas_find(areas, code);
    if (a && !sg_auth_in_scope(areas, &r->who, a->id))
        err = sg_errf(SG_FORBIDDEN, msg, n, "area %.64s is outside your area", code);
    sg_areas_release(areas);
    return err;
}

/* POST /api/v1/users {"name", "role", "area"?, "org"?, "password"?}: without a password
 * one is generated and returned once. */
static sg_err h_user_add(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"name", "role", "area", "org", "password", NULL};
    const char *v[5] = {0};
    json_t *body;
    sg_err err = read_fields(r, keys, v, &body, msg, n);
    if (err)
        return err;
    if (v[0] == NULL || v[1] == NULL)
        err = sg_errf(SG_INVAL, msg, n, "name and role are required");
    if (!err)
        err = area_code_in_scope(r, v[2], msg, n);
    char gen[17] = "", obj[80];
    snprintf(obj, sizeof obj, "account/%.64s", v[0] ? v[0] : "");
    sg_audit_entry e = admin_entry(r, "account.add", obj);
    if (!err)
        err = sg_auth_user_add(r->srv->store, v[0], v[1], v[2], v[3], v[4], gen, NULL, &e, msg, n);
    json_t *j = err ? NULL
                    : json_pack("{s:s, s:s, s:o}", "name", v[0], "role", v[1], "password",
                                sg_json_str_or_null(gen));
    json_decref(body);
    return err ? err : reply_created(r, j, out, msg, n);
}

/* POST /api/v1/users/{name}/disable */
static sg_err h_user_disable(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    const char *name = sg_http_req_param(r, "name");
    sg_account a;
    sg_err err = sg_store_account_get(r->srv->store, name, 0, &a);
    if (err == SG_NOTFOUND)
        return sg_errf(err, msg, n, "no account named %.64s", name);
    if (err)
        return err;
    sg_areas *areas;
    err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err)
        return err;
    int in = sg_auth_in_scope(areas, &r->who, a.area_id);
    sg_areas_release(areas);
    if (!in)
        return sg_errf(SG_NOTFOUND, msg, n, "no account named %.64s", name);
    char obj[80];
    snprintf(obj, sizeof obj, "account/%.64s", a.name);
    sg_audit_entry e = admin_entry(r, "account.disable", obj);
    err = sg_auth_user_disable(r->srv->store, name, 1, &e, msg, n);
    if (err)
        return err;
    return sg_http_reply_empty(out);
}

/* clang-format off */
static const sg_http_route routes[] = {
    {"POST", "/api/v1/categories",   ADMIN, 0, h_category_put},
    {"GET", "/api/v1/orgs",          STAFF, 0, h_orgs},
    {"POST", "/api/v1/orgs",         ADMIN, 0, h_org_put},
    {"GET", "/api/v1/rules",         STAFF, 0, h_rules},
    {"POST", "/api/v1/rules",        ADMIN, 0, h_rule_put},
    {"DELETE", "/api/v1/rules/{id}", ADMIN, 0, h_rule_delete},
    {"GET", "/api/v1/users",         ADMIN, 0, h_users},
    {"POST", "/api/v1/users",        ADMIN, 0, h_user_add},
    {"POST", "/api/v1/users/{name}/disable", ADMIN, 0, h_user_disable},
};
/* clang-format on */
const sg_http_route_set sg_http_routes_admin = SG_HTTP_ROUTE_SET(routes);
