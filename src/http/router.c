/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The router: one table made of the route arrays that each API module declares beside its
 * handlers (sg_http_routes_* in src/http/http_int.h), so that adding a route touches the one
 * file that answers it. The table is joined once, in a fixed order of modules, and never
 * changes afterwards, so threads read it without locks; a route's index in it is the key
 * of its metrics. Paths are matched segment by segment, {name} matching one non-empty
 * segment; the first route whose pattern and method match wins, and the methods of routes
 * whose pattern alone matches make the Allow header of a 405.
 */
#include <pthread.h>
#include <string.h>

#include "http_int.h"

/* The modules, in the order their routes are tried and listed (/metrics, docs). */
static const sg_http_route_set *const modules[] = {
    &sg_http_routes_metrics, &sg_http_routes_public,  &sg_http_routes_cases,
    &sg_http_routes_admin,   &sg_http_routes_open311, &sg_http_routes_export,
};

#define MAX_ROUTES 128

static const sg_http_route *table[MAX_ROUTES];
static sg_http_route_info info[MAX_ROUTES];
static size_t n_table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++) {
        for (size_t i = 0; i < modules[m]->n && n_table < MAX_ROUTES; i++) {
            const sg_http_route *rt = &modules[m]->routes[i];
            table[n_table] = rt;
            info[n_table].method = rt->method;
            info[n_table].pattern = rt->pattern;
            info[n_table].roles = rt->roles;
            n_table++;
        }
    }
}

size_t sg_http_router_count(void)
{
    pthread_once(&table_once, table_init);
    return n_table;
}

const sg_http_route *sg_http_router_get(size_t i)
{
    pthread_once(&table_once, table_init);
    return i < n_table ? table[i] : NULL;
}

const sg_http_route_info *sg_http_routes(size_t *n)
{
    pthread_once(&table_once, table_init);
    *n = n_table;
    return info;
}

/* Matches path against pattern segment by segment; {name} matches one non-empty segment
 * and is recorded in r's parameters. */
static int match_path(const char *pattern, const char *path, sg_http_req *r)
{
    r->n_params = 0;
    const char *p = pattern, *u = path;
    while (*p && *u) {
        if (*p != '/' || *u != '/')
            return 0;
        p++;
        u++;
        const char *pe = strchr(p, '/');
        const char *ue = strchr(u, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t ul = ue ? (size_t)(ue - u) : strlen(u);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (ul == 0 || r->n_params == SG_HTTP_MAX_PARAMS)
                return 0;
            const char *name = sg_arena_strndup(&r->arena, p + 1, pl - 2);
            const char *val = sg_arena_strndup(&r->arena, u, ul);
            if (name == NULL || val == NULL)
                return 0;
            r->param_names[r->n_params] = name;
            r->params[r->n_params] = val;
            r->n_params++;
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return 0;
        }
        p += pl;
        u += ul;
    }
    return *p == '\0' && *u == '\0';
}

int sg_http_router_match(sg_http_req *r, const char *method, const char *path, char *allow,
                         size_t allow_n)
{
    size_t n = sg_http_router_count();
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const sg_http_route *rt = table[i];
        if (!match_path(rt->pattern, path, r))
            continue;
        if (strcmp(rt->method, method) == 0)
            return (int)i;
        if (strstr(allow, rt->method) == NULL && strlen(allow) + strlen(rt->method) + 8 < allow_n) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, rt->method);
            if (strcmp(rt->method, "GET") == 0)
                strcat(allow, ", HEAD");
        }
    }
    return -1;
}
