/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP server core on libmicrohttpd: daemon set-up, the dispatcher, body limits, the
 * access log and the graceful stop. Its parts live beside it: the router (router.c), strict
 * query strings (query.c), JSON in and out (json.c), the rate limiter (ratelimit.c),
 * metrics and health (metrics.c) and the web UI's files (static.c); each API module
 * (api_*.c) declares its own routes.
 *
 * Why it is built this way. libmicrohttpd runs its own pool of threads, each with its own
 * epoll set, so a handler may block on the store without stalling other connections. A
 * request object is created in the URI log callback (the only place that sees the raw
 * URI, which we need to parse query strings strictly ourselves) and freed in the
 * completion callback, after the last byte of the response has gone; its arena holds
 * everything the request allocates, the response body included, so no handler frees
 * anything. Every failure leaves through one function that writes the JSON error body,
 * so clients see one shape everywhere.
 */
#include "safegrid/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"
#include "safegrid/log.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
/* ---- requests ------------------------------------------------------------------------- */

sg_err sg_http_audit(sg_http_req *r, const char *action, const char *object, const char *detail,
                     char *msg, size_t n)
{
    sg_audit_entry e = {r->who.name, sg_role_name(r->who.role), action, object, detail};
    sg_err err = sg_store_audit(r->srv->store, &e, msg, n);
    if (err)
        sg_log(SG_LOG_ERROR, "http.audit", "audit log append failed: %s", msg);
    return err;
}

int sg_http_suppressed(const sg_http *h, int64_t count)
{
    return h->suppress_below > 1 && count > 0 && count < h->suppress_below;
}

const char *sg_http_req_header(sg_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

sg_err sg_http_reply_empty(sg_http_reply *out)
{
    out->status = 204;
    out->body = "";
    out->len = 0;
    return SG_OK;
}

const char *sg_http_req_param(const sg_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_params; i++)
        if (strcmp(r->param_names[i], name) == 0)
            return r->params[i];
    return NULL;
}

/* ---- responses ------------------------------------------------------------------------ */

static enum MHD_Result queue(sg_http_req *r, int status, const char *ctype, const char *body,
                             size_t len, const char *allow, double retry_s)
{
    struct MHD_Connection *c = r->conn;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype ? ctype : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (r->set_cookie)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    if (retry_s > 0) {
        char ra[24];
        double s = ceil(retry_s);
        snprintf(ra, sizeof ra, "%.0f", s < 1 ? 1.0 : s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (atomic_load(&r->srv->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        r->responded = 1;
        r->status = status;
        r->bytes = len;
    }
    return ret;
}

/* Answers with the JSON error body; code overrides the name of err (for 405). */
static enum MHD_Result queue_error(sg_http_req *r, sg_err err, int status, const char *code,
                                   const char *message, const char *allow, double retry_s)
{
    if (status == 0)
        status = sg_err_http_status(err);
    json_t *j = json_pack("{s:s, s:s}", "error", code ? code : sg_errname(err), "message",
                          message && message[0] ? message : sg_strerror(err));
    sg_http_reply rep = {0};
    if (j == NULL || sg_http_reply_json(r, j, &rep) != SG_OK) {
        static const char fallback[] = "{\"error\":\"NOMEM\",\"message\":\"out of memory\"}";
        rep.body = fallback;
        rep.len = sizeof fallback - 1;
        status = 500;
    }
    json_decref(j);
    return queue(r, status, "application/json", rep.body, rep.len, allow, retry_s);
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const char *hook_get_header(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result dispatch(sg_http *h, sg_http_req *r, const char *path)
{
    char allow[64];
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    int found = sg_http_router_match(r, method, path, allow, sizeof allow);
    r->route = found;
    const sg_http_route *rt = found >= 0 ? sg_http_router_get((size_t)found) : NULL;

    /* The web UI's files are served without the rate limit: one page load takes several. */
    if (rt == NULL && h->web_dir && strcmp(method, "GET") == 0 && strncmp(path, "/api/", 5) != 0 &&
        strncmp(path, "/open311/", 9) != 0) {
        int served = 0;
        int ok = sg_http_static_serve(h, r, path, &served);
        if (served)
            return ok ? MHD_YES : MHD_NO;
    }
    /* Staff are authenticated first and are not rate limited: the limit protects the
     * public endpoints from floods. A request with credentials that do not check out
     * counts like a public one, so guessing keys is limited too. */
    char msg[256] = "";
    r->who.name = "public";
    r->who.role = SG_ROLE_PUBLIC;
    sg_err auth_err = SG_OK;
    if (rt && h->authenticate)
        auth_err = h->authenticate(h->auth_ctx, hook_get_header, r->conn, &r->arena, &r->who);
    if (h->limiter && r->who.role == SG_ROLE_PUBLIC &&
        !(rt && (rt->flags & SG_ROUTE_NO_RATELIMIT))) {
        double retry = 0;
        if (!sg_ratelimit_take(h->limiter, r->client, now_ns(), &retry)) {
            atomic_fetch_add(&h->rate_limited, 1);
            char m[96];
            snprintf(m, sizeof m, "too many requests from this address; retry in %.1f s", retry);
            return queue_error(r, SG_RATELIMIT, 0, NULL, m, NULL, retry);
        }
    }
    if (rt == NULL) {
        if (allow[0])
            return queue_error(r, SG_INVAL, 405, "METHOD_NOT_ALLOWED",
                               "this resource does not support this method", allow, 0);
        return queue_error(r, SG_NOTFOUND, 0, NULL, "no such resource", NULL, 0);
    }
    if (auth_err)
        return queue_error(r, auth_err, 0, NULL, NULL, NULL, 0);
    if (r->who.csrf && strcmp(method, "GET") != 0) {
        /* A session cookie rides along on any request the browser makes to this origin,
         * including ones another site starts; the CSRF token, which only our pages can
         * read, proves the request is the user's own. */
        const char *t = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
        size_t tl = t ? strlen(t) : 0;
        if (tl != strlen(r->who.csrf) || sodium_memcmp(t, r->who.csrf, tl) != 0)
            return queue_error(r, SG_FORBIDDEN, 0, "CSRF",
                               "a change made with a session needs its X-CSRF-Token header", NULL,
                               0);
    }
    if (!(rt->roles & (unsigned)r->who.role)) {
        if (r->who.role == SG_ROLE_PUBLIC)
            return queue_error(r, SG_UNAUTH, 0, NULL, "this resource needs a login", NULL, 0);
        return queue_error(r, SG_FORBIDDEN, 0, NULL, "your role may not use this resource", NULL,
                           0);
    }
    sg_http_reply rep = {.status = 200};
    sg_err err = rt->handler(r, &rep, msg, sizeof msg);
    if (err)
        return queue_error(r, err, 0, NULL, msg, NULL, 0);
    return queue(r, rep.status ? rep.status : 200, rep.ctype, rep.body, rep.len, NULL, 0);
}

/* ---- libmicrohttpd callbacks --------------------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    sg_http *h = cls;
    sg_http_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    atomic_fetch_add(&h->in_flight, 1);
    r->srv = h;
    r->conn = c;
    r->t0_ns = now_ns();
    r->route = -1;
    sg_arena_init(&r->arena, h->arena_max);
    char *u = sg_arena_strdup(&r->arena, uri ? uri : "");
    if (u == NULL)
        u = "";
    r->uri = u;
    char *q = strchr(u, '?');
    if (q) {
        r->path = sg_arena_strndup(&r->arena, u, (size_t)(q - u));
        r->query_raw = q + 1;
    } else {
        r->path = u;
    }
    if (r->path == NULL)
        r->path = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(r->client, sizeof r->client, "-");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->client,
                      sizeof r->client);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      r->client, sizeof r->client);
    }
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    sg_http *h = cls;
    sg_http_req *r = *con_cls;
    (void)version;
    if (r == NULL)
        return MHD_NO; /* the request object could not be allocated: drop the connection */
    if (!r->started) {
        r->started = 1;
        r->method = method;
        r->conn = c;
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno == 0 && *end == '\0' && v > h->max_body) {
                char m[96];
                snprintf(m, sizeof m, "request body larger than %zu bytes", h->max_body);
                return queue_error(r, SG_TOOBIG, 0, NULL, m, NULL, 0);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* The body is kept in the arena up to the limit. A body without Content-Length
         * (chunked) over the limit is answered with 413 once it ends (libmicrohttpd 0.9
         * cannot queue a response in the middle of an upload); one that goes on past four
         * times the limit gets the connection dropped instead. */
        size_t add = *upload_data_size;
        *upload_data_size = 0;
        if (r->body_len + add <= h->max_body) {
            if (r->body_len + add + 1 > r->body_cap) {
                size_t cap = r->body_cap ? r->body_cap : 4096;
                while (cap < r->body_len + add + 1)
                    cap *= 2;
                char *nb = sg_arena_alloc(&r->arena, cap);
                if (nb == NULL)
                    return MHD_NO;
                if (r->body_len)
                    memcpy(nb, r->body, r->body_len);
                r->body = nb;
                r->body_cap = cap;
            }
            memcpy(r->body + r->body_len, upload_data, add);
            r->body[r->body_len + add] = '\0';
        }
        r->body_len += add;
        if (r->body_len / 4 > h->max_body)
            return MHD_NO;
        return MHD_YES;
    }
    if (r->responded)
        return MHD_YES;
    if (r->body_len > h->max_body) {
        char m[96];
        snprintf(m, sizeof m, "request body larger than %zu bytes", h->max_body);
        return queue_error(r, SG_TOOBIG, 0, NULL, m, NULL, 0);
    }
    return dispatch(h, r, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sg_http *h = cls;
    sg_http_req *r = *con_cls;
    (void)c;
    if (r == NULL)
        return;
    int64_t us = (now_ns() - r->t0_ns) / 1000;
    if (r->responded)
        sg_http_metrics_record(h, r->route, r->status, us);
    /* A matched route is logged by its pattern, not the concrete path: a tracking code
     * next to the client's address would tie a person to a case in the log. */
    const char *logged = r->route >= 0 ? sg_http_router_get((size_t)r->route)->pattern : r->path;
    sg_log(toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? SG_LOG_INFO : SG_LOG_WARN, "http.request",
           "method=%s path=%.200s status=%d bytes=%zu us=%lld client=%s%s",
           r->method ? r->method : "-", logged, r->responded ? r->status : 0,
           r->responded ? r->bytes : 0, (long long)us, r->client,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    sg_arena_fini(&r->arena);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    sg_http *h = cls;
    (void)c;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&h->open_conns, 1);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&h->open_conns, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    sg_log(SG_LOG_WARN, "http.mhd", "%s", line);
}

/* ---- start and stop ---------------------------------------------------------------------- */

/* Splits "host:port" or "[v6]:port" and resolves it (numeric hosts or names). */
static sg_err parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen,
                           char *msg, size_t n)
{
    char host[256];
    const char *port;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return sg_errf(SG_INVAL, msg, n, "listen address '%s' is not [host]:port", listen);
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
            return sg_errf(SG_INVAL, msg, n, "listen address '%s' is not host:port", listen);
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    long pv = strtol(port, &end, 10);
    if (port[0] == '\0' || *end != '\0' || errno || pv < 0 || pv > 65535)
        return sg_errf(SG_INVAL, msg, n, "port '%s' is not a number from 0 to 65535", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || res == NULL)
        return sg_errf(SG_INVAL, msg, n, "cannot resolve '%s': %s", host, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return SG_OK;
}

static void http_free(sg_http *h)
{
    if (h == NULL)
        return;
    sg_ratelimit_free(h->limiter);
    sg_case_cache_free(h->cases);
    free(h->stats);
    free(h->web_dir);
    free(h);
}

sg_err sg_http_start(sg_store *s, const sg_http_opts *o, sg_http **out, char *msg, size_t n)
{
    sg_http_opts d = {0};
    if (o == NULL)
        o = &d;
    if (s == NULL)
        return sg_errf(SG_INVAL, msg, n, "no store");
    if (o->rate > 0 && o->burst != 0 && o->burst < 1)
        return sg_errf(SG_INVAL, msg, n, "burst must be at least 1");
    if (isnan(o->rate) || isnan(o->burst) || isinf(o->rate) || isinf(o->burst))
        return sg_errf(SG_INVAL, msg, n, "rate and burst must be finite numbers");
    if (o->sensitive_grid_m != 0 && !(o->sensitive_grid_m >= 100 && o->sensitive_grid_m <= 100000))
        return sg_errf(SG_INVAL, msg, n, "the sensitive-location grid is 100 to 100000 metres");
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    sg_err err = parse_listen(o->listen ? o->listen : "127.0.0.1:8080", &ss, &sslen, msg, n);
    if (err)
        return err;
    (void)sslen;

    sg_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    h->stats = calloc(sg_http_router_count() + 1, sizeof *h->stats);
    if (h->stats == NULL || sg_case_cache_new(SG_HTTP_CASE_CACHE_BYTES, &h->cases) != SG_OK) {
        http_free(h);
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    }
    h->store = s;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    h->threads = o->threads ? o->threads : (cores > 0 ? (unsigned)cores : 1);
    h->max_body = o->max_body ? o->max_body : (size_t)1 << 20;
    h->arena_max = o->arena_max ? o->arena_max : (size_t)64 << 20;
    h->suppress_below = o->suppress_below ? o->suppress_below : 5;
    h->drain_ms = o->drain_ms ? o->drain_ms : 10000;
    h->authenticate = o->authenticate ? o->authenticate : sg_auth_http;
    h->auth_ctx = o->authenticate ? o->auth_ctx : s;
    h->key = o->key;
    h->cookie_secure = o->cookie_secure;
    h->web_dir = o->web_dir && o->web_dir[0] ? strdup(o->web_dir) : NULL;
    h->sensitive_grid_m = o->sensitive_grid_m ? o->sensitive_grid_m : 500;
    double rate = o->rate ? o->rate : 10.0;
    if (rate > 0) {
        double burst = o->burst ? o->burst : 2 * rate;
        if (burst < 1)
            burst = 1;
        h->limiter = sg_ratelimit_new(rate, burst);
        if (h->limiter == NULL) {
            http_free(h);
            return sg_errf(SG_NOMEM, msg, n, "out of memory");
        }
    }
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, h->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_s ? o->timeout_s : 30),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_conns ? o->max_conns : 1024),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(o->max_header ? o->max_header : 32 * 1024),
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_END);
    if (daemon == NULL) {
        http_free(h);
        return sg_errf(SG_IO, msg, n, "cannot listen on %s (in use, or not allowed)",
                       o->listen ? o->listen : "127.0.0.1:8080");
    }
    h->daemon = daemon;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : 0;
    sg_log(SG_LOG_INFO, "http.start", "listening on port %u with %u threads", h->port, h->threads);
    *out = h;
    return SG_OK;
}

unsigned sg_http_port(const sg_http *h)
{
    return h->port;
}

unsigned sg_http_threads(const sg_http *h)
{
    return h->threads;
}

void sg_http_stop(sg_http *h)
{
    if (h == NULL)
        return;
    atomic_store(&h->stopping, 1);
    /* The listening socket stops being polled now, and shutdown() stops it listening, so
     * new connections are refused at once. libmicrohttpd's threads may still hold it in
     * their epoll sets, so it is closed only after MHD_stop_daemon (microhttpd.h). */
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR);
    int64_t t0 = now_ns();
    long left;
    while ((left = atomic_load(&h->in_flight)) > 0 &&
           now_ns() - t0 < (int64_t)h->drain_ms * 1000000) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    if (left > 0)
        sg_log(SG_LOG_WARN, "http.stop", "%ld requests still in flight after %u ms; closing", left,
               h->drain_ms);
    MHD_stop_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    sg_log(SG_LOG_INFO, "http.stop", "stopped");
    http_free(h);
}
