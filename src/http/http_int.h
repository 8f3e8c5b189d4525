/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the HTTP server core (server.c: daemon and dispatch; router.c,
 * query.c, json.c, ratelimit.c, metrics.c, static.c) and the API modules (api_*.c). Each
 * module keeps its handlers static and declares one array of routes, named here so that
 * the router can join them; adding a route touches only its module. Handlers see a request
 * and fill a reply; they never talk to libmicrohttpd, so the server alone decides how a
 * reply (or an error) becomes bytes on the wire.
 */
#ifndef SAFEGRID_HTTP_INT_H
#define SAFEGRID_HTTP_INT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "safegrid/buf.h"
#include "safegrid/http.h"
#include "safegrid/jsonbuf.h"

#define SG_HTTP_MAX_PARAMS 4

/* One request, from the URI log callback to the completion callback. Allocated with
 * malloc (it holds the arena); everything else it points to lives in the arena. */
typedef struct sg_http_req {
    struct sg_http *srv;
    void *conn; /* struct MHD_Connection * */
    sg_arena arena;
    const char *uri;       /* as received, from the URI log callback */
    const char *method;    /* borrowed from libmicrohttpd for the request's life */
    const char *path;      /* uri up to '?', as received */
    const char *query_raw; /* after '?', or NULL */
    char client[64];       /* client address, no port */
    int64_t t0_ns;
    sg_http_principal who;
    size_t body_len;
    char *body; /* the request body, NUL-terminated, in the arena; NULL if none */
    size_t body_cap;
    const char *set_cookie; /* a Set-Cookie header for the response, or NULL */
    int started;            /* the access handler has seen the request */
    int responded;          /* a response was queued */
    int route;              /* index into the router table, -1 when none matched */
    int status;             /* status of the queued response */
    size_t bytes;           /* body bytes of the queued response */
    const char *param_names[SG_HTTP_MAX_PARAMS];
    const char *params[SG_HTTP_MAX_PARAMS];
    size_t n_params;
} sg_http_req;

/* What a handler answers: status 200 unless set, a body in the request's arena (or
 * static storage), and its content type (NULL: application/json). */
typedef struct sg_http_reply {
    int status;
    const char *ctype;
    const char *body;
    size_t len;
} sg_http_reply;

/* A handler: on SG_OK it has filled *out; on error the dispatcher answers with the JSON
 * error body for err and msg. */
typedef sg_err (*sg_http_handler)(sg_http_req *r, sg_http_reply *out, char *msg, size_t n);

#define SG_ROUTE_NO_RATELIMIT 1u /* operators' probes: /healthz, /metrics */

typedef struct sg_http_route {
    const char *method;
    const char *pattern;
    unsigned roles;
    unsigned flags;
    sg_http_handler handler;
} sg_http_route;

/* One module's routes: an array in the module's own file. */
typedef struct sg_http_route_set {
    const sg_http_route *routes;
    size_t n;
} sg_http_route_set;
#define SG_HTTP_ROUTE_SET(arr)                                                                     \
    {                                                                                              \
        (arr), sizeof(arr) / sizeof((arr)[0])                                                      \
    }

/* The modules' route arrays, joined by the router in this order (src/http/router.c). */
extern const sg_http_route_set sg_http_routes_metrics; /* metrics.c: /healthz, /metrics */
extern const sg_http_route_set sg_http_routes_public;  /* api_public.c */
extern const sg_http_route_set sg_http_routes_cases;   /* api_cases.c */
extern const sg_http_route_set sg_http_routes_admin;   /* api_admin.c */
extern const sg_http_route_set sg_http_routes_open311; /* api_open311.c */
extern const sg_http_route_set sg_http_routes_export;  /* api_export.c */

/* The number of routes in the joined table, and route i of it (NULL past the end). */
size_t sg_http_router_count(void);
const sg_http_route *sg_http_router_get(size_t i);

/* Finds the route for method (HEAD already read as GET) and path, recording its {name}
 * parameters in r. Returns its index, or -1 with allow (allow_n bytes) holding the methods
 * of the routes whose pattern matched ("" if none: 404 rather than 405). */
int sg_http_router_match(sg_http_req *r, const char *method, const char *path, char *allow,
                         size_t allow_n);

/* Latency histogram bucket bounds in seconds (the last bucket is +Inf). */
#define SG_HTTP_N_BUCKETS 14
/* Statuses counted separately in /metrics; anything else counts as the last ("other"). */
#define SG_HTTP_N_STATUS 13

typedef struct sg_http_route_stats {
    atomic_uint_fast64_t by_status[SG_HTTP_N_STATUS];
    atomic_uint_fast64_t buckets[SG_HTTP_N_BUCKETS]; /* not cumulative; summed at export */
    atomic_uint_fast64_t sum_us;
} sg_http_route_stats;

/* The rate limiter (src/http/ratelimit.c): a token bucket per key (client address). */
struct sg_ratelimit;
/* A limiter of rate tokens per second and buckets of burst tokens; NULL when out of
 * memory. Released with sg_ratelimit_free() (NULL-safe). */
struct sg_ratelimit *sg_ratelimit_new(double rate, double burst);
void sg_ratelimit_free(struct sg_ratelimit *rl);
/* Takes one token for key at time now (ns, monotonic). Returns 1 if allowed; 0 if not,
 * with the seconds until a token is back in *retry_s. */
int sg_ratelimit_take(struct sg_ratelimit *rl, const char *key, int64_t now, double *retry_s);

/* The JSON of cases as lists write them, keyed by id and version (src/http/cache.c). An
 * entry is the text before the "area" member (head) and from "created_at" on (tail): the
 * codes between come from the area snapshot at each use. */
#define SG_CASE_JSON_MAX 2048 /* longer cases are not cached */
/* The server's cache: about 80,000 cases of 400 bytes (the 50 newest of 1,600 areas). */
#define SG_HTTP_CASE_CACHE_BYTES ((size_t)32 << 20)
typedef struct sg_case_cache sg_case_cache;
/* Writes what lies between an entry's head and tail (the area and organisation). */
typedef sg_err (*sg_case_cache_mid_fn)(sg_buf *b, int64_t area_id, int64_t org_id, void *ctx);

/* Makes an empty cache holding at most max_bytes of entries. On SG_OK *out is owned by
 * the caller, released with sg_case_cache_free() (NULL-safe). */
sg_err sg_case_cache_new(size_t max_bytes, sg_case_cache **out);
void sg_case_cache_free(sg_case_cache *c);
/* Appends case id's text to b, with mid() writing its middle, if it is held at this
 * version; SG_NOTFOUND (b untouched) if not, else what the appends return. */
sg_err sg_case_cache_get(sg_case_cache *c, int64_t id, int64_t version, sg_buf *b,
                         sg_case_cache_mid_fn mid, void *ctx);
/* Keeps a copy of case id's text at version (replacing any other version of it), unless it
 * is longer than SG_CASE_JSON_MAX or the cache is full; never fails (a cache). */
void sg_case_cache_put(sg_case_cache *c, int64_t id, int64_t version, int64_t area_id,
                       int64_t org_id, const char *head, size_t len_head, const char *tail,
                       size_t len_tail);
/* Bytes held, for tests and metrics. */
size_t sg_case_cache_bytes(sg_case_cache *c);

struct sg_http {
    sg_store *store;
    void *daemon; /* struct MHD_Daemon * */
    unsigned port, threads;
    size_t max_body, arena_max;
    int suppress_below;
    unsigned drain_ms;
    sg_http_auth_fn authenticate;
    void *auth_ctx;
    const sg_crypto_key *key;
    int cookie_secure;
    char *web_dir;                /* owned; NULL: no static files */
    double sensitive_grid_m;      /* grid for sensitive locations in public outputs */
    struct sg_ratelimit *limiter; /* NULL: no rate limit */
    atomic_int stopping;
    atomic_long in_flight;
    atomic_long open_conns;
    atomic_uint_fast64_t rate_limited;
    sg_http_route_stats *stats; /* sg_http_n_routes + 1 (the last: no route matched) */
    sg_case_cache *cases;       /* owned; the case list's JSON */
};

/* Role masks for the router table. */
#define ANY_ROLE ((1u << SG_N_ROLES) - 1u)
#define STAFF                                                                                      \
    (SG_ROLE_CALLTAKER | SG_ROLE_DISPATCHER | SG_ROLE_CASEWORKER | SG_ROLE_MEDIATOR |              \
     SG_ROLE_INSPECTOR | SG_ROLE_ANALYST | SG_ROLE_SUPERVISOR | SG_ROLE_ADMIN)
#define ADMIN SG_ROLE_ADMIN

/* Finishes a handler that wrote its JSON into b (err: a write failed): copies it into the
 * request's arena as the reply and releases b. */
sg_err sg_http_reply_buf(sg_http_req *r, sg_buf *b, sg_err err, sg_http_reply *out, char *msg,
                         size_t n);

/* A JSON string, or null for NULL or "". */
json_t *sg_json_str_or_null(const char *s);

/* A JSON number, or null for NaN and infinities. */
json_t *sg_json_num_or_null(double v);

/* Finishes a handler that built j (NULL: out of memory): serialises it into the reply and
 * drops j. */
sg_err sg_http_reply_take(sg_http_req *r, json_t *j, sg_http_reply *out, char *msg, size_t n);

/* Finishes a handler whose answer is 204 No Content: an empty body. */
sg_err sg_http_reply_empty(sg_http_reply *out);

/* Returns 1 if a public figure of count must be hidden: 1 .. suppress_below - 1 (zero is
 * shown: it identifies nobody). The one rule for every public statistic. */
int sg_http_suppressed(const struct sg_http *h, int64_t count);

/* Appends an audit entry for an action of r's caller on object, durably (sg_store_audit). */
sg_err sg_http_audit(sg_http_req *r, const char *action, const char *object, const char *detail,
                     char *msg, size_t n);

/* Parses r's query string against allowed (see sg_http_query_parse). */
sg_err sg_http_req_query(sg_http_req *r, const char *const *allowed, sg_http_query *out, char *msg,
                         size_t n);

/* Refuses any query parameter on r (a route that takes none), as sg_http_req_query does
 * for one not allowed. */
sg_err sg_http_req_no_query(sg_http_req *r, char *msg, size_t n);

/* Parses r's body as one JSON object (UTF-8, no duplicate keys) whose members are all
 * named in keys (NULL-terminated) into *out, a new reference the caller drops; SG_INVAL
 * with the position of the fault, or the unknown member's name, otherwise. */
sg_err sg_http_req_json(sg_http_req *r, const char *const *keys, void **out, char *msg, size_t n);

/* Returns the request header name of r, or NULL. */
const char *sg_http_req_header(sg_http_req *r, const char *name);

/* Returns the path parameter name of r, or NULL. */
const char *sg_http_req_param(const sg_http_req *r, const char *name);

/* Serialises j (a jansson json_t *) into r's arena as the reply's body; SG_TOOBIG past the
 * arena's cap. Does not take j's reference. */
sg_err sg_http_reply_json(sg_http_req *r, const void *j, sg_http_reply *out);

/* Counts one answered request of route (-1: none matched) with its status and time in
 * microseconds, for /metrics (src/http/metrics.c). */
void sg_http_metrics_record(struct sg_http *h, int route, int status, int64_t us);

/* Answers GET path from the web directory if it names a file there ("/" and paths ending
 * in "/" are index.html; only plain names -- letters, digits, . _ - /, no hidden files --
 * and known types). *served is 0 when there is no such file (the caller answers 404);
 * otherwise returns 1 if the response was queued, 0 if libmicrohttpd refused it
 * (src/http/static.c). */
int sg_http_static_serve(struct sg_http *h, sg_http_req *r, const char *path, int *served);

#endif
