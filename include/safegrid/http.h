/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP server: libmicrohttpd with its own thread pool on epoll, a router table whose
 * every route declares the roles it admits, one JSON error body for every failure, a
 * per-request arena, a token-bucket rate limiter per client address, a structured access
 * log, /healthz and Prometheus /metrics, and a graceful stop that lets requests in flight
 * finish. The server only reads and writes through the store and the case engine, so it
 * holds no data of its own beyond counters.
 *
 * Authentication (src/case/auth.c) runs before every handler: a session cookie or an API key
 * makes the caller a staff member with a role and area scope; without credentials the
 * caller is the public. The dispatcher refuses a route whose declared roles do not include
 * the caller's role (401 for the public, 403 for staff) and a state-changing request made
 * with a session cookie whose X-CSRF-Token header does not match the session (403), before
 * the handler runs; handlers then check the area scope of what they touch.
 */
#ifndef SAFEGRID_HTTP_H
#define SAFEGRID_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/arena.h"
#include "safegrid/audit.h"
#include "safegrid/auth.h"
#include "safegrid/case.h"
#include "safegrid/crypto.h"
#include "safegrid/error.h"
#include "safegrid/store.h"

typedef struct sg_http sg_http;

/** The caller of one request (see sg_principal in auth.h). */
typedef sg_principal sg_http_principal;

/** Authentication hook: reads the request's headers through get_header(conn, name) (NULL
 *  when absent) and fills *out. Returns SG_OK (also for anonymous callers, left as
 *  public), SG_UNAUTH for credentials that are present but wrong, or another error. */
typedef sg_err (*sg_http_auth_fn)(void *ctx,
                                  const char *(*get_header)(void *conn, const char *name),
                                  void *conn, sg_arena *arena, sg_http_principal *out);

/** Server options; zero-initialise for the defaults given in each comment. */
typedef struct sg_http_opts {
    const char *listen;           /* "127.0.0.1:8080" (host:port, "[::1]:8080"); port 0: any free */
    unsigned threads;             /* worker threads; 0: the number of online cores */
    size_t max_body;              /* request body limit in bytes; 0: 1 MiB (larger: 413) */
    size_t max_header;            /* memory per connection for the request head; 0: 32 KiB */
    unsigned timeout_s;           /* idle connection timeout in seconds; 0: 30 */
    unsigned max_conns;           /* open connections at most; 0: 1024 */
    size_t arena_max;             /* memory one request may take; 0: 64 MiB */
    double rate;                  /* public requests per second per client address; 0: 10;
                                     negative: no rate limit */
    double burst;                 /* bucket size (requests allowed at once); 0: 2 * rate, >= 1 */
    int suppress_below;           /* counts 1..suppress_below-1 are suppressed in statistics;
                                     0: 5; negative: no suppression */
    unsigned drain_ms;            /* how long sg_http_stop waits for requests in flight; 0: 10 s */
    sg_http_auth_fn authenticate; /* NULL: sessions and API keys (sg_auth_http) */
    void *auth_ctx;               /* the hook's context; with the default, the store */
    const sg_crypto_key *key;     /* seals and opens personal fields; NULL: the server
                                     neither takes nor shows personal data */
    int cookie_secure;            /* 1: the session cookie is marked Secure (behind TLS) */
    double sensitive_grid_m;      /* side in metres of the grid that sensitive categories'
                                     locations are rounded to in public outputs (Open311,
                                     exports); 0: 500; 100 to 100000 */
    const char *web_dir;          /* serve the web UI's files from this directory; NULL:
                                     none (copied) */
} sg_http_opts;

/** Starts serving store s (borrowed: it must outlive the server) with options o (NULL for
 *  the defaults). On SG_OK *out is a running server owned by the caller, stopped and
 *  released with sg_http_stop(). Errors: SG_INVAL for a bad option or listen address,
 *  SG_IO when the address cannot be bound; msg says why. */
sg_err sg_http_start(sg_store *s, const sg_http_opts *o, sg_http **out, char *msg, size_t n);

/** The port the server listens on (useful after asking for port 0). */
unsigned sg_http_port(const sg_http *h);

/** The number of worker threads the server runs. */
unsigned sg_http_threads(const sg_http *h);

/** Stops accepting connections, waits up to drain_ms for requests in flight to finish
 *  (responses sent while draining carry Connection: close), then stops the threads,
 *  closes the remaining connections and frees h. The store is left open: close it
 *  afterwards so that its queued writes commit. NULL does nothing. */
void sg_http_stop(sg_http *h);

/** One entry of the router table, for documentation and tests: method, path pattern with
 *  {name} segments, and the roles (sg_role bitmask) that may call it. */
typedef struct sg_http_route_info {
    const char *method;
    const char *pattern;
    unsigned roles;
} sg_http_route_info;

/** Returns the router table (static storage) and its length in *n. */
const sg_http_route_info *sg_http_routes(size_t *n);

/* ---- query strings --------------------------------------------------------------------- */

/** A parsed query string: names and values percent-decoded, in order of appearance. */
typedef struct sg_http_query {
    size_t n;
    const char **names;
    const char **values;
} sg_http_query;

/** Parses the query string qs (the text after '?', without it; NULL or "" is empty)
 *  strictly: pairs separated by '&', each name=value (a missing '=' gives ""), '+' and
 *  %XX decoded; refused with SG_INVAL are a name not in allowed (a NULL-terminated list;
 *  an entry ending in '*' admits every name that starts with the text before it, as
 *  "attribute*" for Open311's attribute[CODE] fields; msg names it), a repeated name, an empty name
 * or pair, a malformed %-escape, an encoded NUL, invalid UTF-8, and more than 32 pairs. Everything
 * is allocated from arena a and lives as long as it; SG_TOOBIG if the arena's cap is reached. On
 * error *out is untouched. */
sg_err sg_http_query_parse(const char *qs, const char *const *allowed, sg_arena *a,
                           sg_http_query *out, char *msg, size_t n);

/** Returns the value of name in q, or NULL if absent. */
const char *sg_http_query_get(const sg_http_query *q, const char *name);

#endif
