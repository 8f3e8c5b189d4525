/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP server core on libmicrohttpd: daemon set-up, the dispatcher, limits, rate
 * limiting, the access log, metrics, strict query strings and the graceful stop.
 *
 * Why it is built this way. libmicrohttpd runs its own pool of threads, each with its own
 * epoll set, so a handler may block on the store without stalling other connections. A
 * request object is created in the URI log callback (the only place that sees the raw
 * URI, which we need to parse query strings strictly ourselves) and freed in the
 * completion callback, after the last byte of the response has gone; its arena holds
 * everything the request allocates, the response body included, so no handler frees
 * anything. Every failure leaves through one function that writes the JSON error body,
 * so clients see one shape everywhere. Counters are lock-free atomics; the rate limiter
 * is a striped hash of token buckets so threads rarely contend on the same lock.
 */
#include "safegrid/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"
#include "safegrid/buf.h"
#include "safegrid/log.h"
#include "safegrid/timefmt.h"

#define MAX_QUERY_PAIRS 32

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- query strings ------------------------------------------------------------------- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Returns 1 if s[0..n) is valid UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* Decodes s[0..n) (+ and %XX) into a new arena string. */
static sg_err decode_part(const char *s, size_t n, sg_arena *a, const char **out, char *msg,
                          size_t msgn)
{
    char *d = sg_arena_alloc(a, n + 1);
    if (d == NULL)
        return sg_errf(SG_TOOBIG, msg, msgn, "query string exceeds the request's memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            d[k++] = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return sg_errf(SG_INVAL, msg, msgn, "malformed %%-escape in the query string");
            if (hi == 0 && lo == 0)
                return sg_errf(SG_INVAL, msg, msgn, "encoded NUL in the query string");
            d[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c < 0x20 || c == 0x7f) {
            return sg_errf(SG_INVAL, msg, msgn, "control character in the query string");
        } else {
            d[k++] = (char)c;
        }
    }
    d[k] = '\0';
    if (!utf8_valid((const unsigned char *)d, k))
        return sg_errf(SG_INVAL, msg, msgn, "query string is not valid UTF-8");
    *out = d;
    return SG_OK;
}

/* Copies name into a message-safe form: printable ASCII only, at most 40 characters. */
static void safe_name(const char *name, char *buf, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; name[i] && k + 1 < n; i++) {
        unsigned char c = (unsigned char)name[i];
        buf[k++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
        if (i >= 40) {
            break;
        }
    }
    buf[k] = '\0';
}

sg_err sg_http_query_parse(const char *qs, const char *const *allowed, sg_arena *a,
                           sg_http_query *out, char *msg, size_t n)
{
    sg_http_query q = {0};
    if (qs == NULL || qs[0] == '\0') {
        *out = q;
        return SG_OK;
    }
    size_t n_pairs = 1;
    for (const char *p = qs; *p; p++)
        n_pairs += *p == '&';
    if (n_pairs > MAX_QUERY_PAIRS)
        return sg_errf(SG_INVAL, msg, n, "more than %d query parameters", MAX_QUERY_PAIRS);
    q.names = sg_arena_calloc(a, n_pairs, sizeof *q.names);
    q.values = sg_arena_calloc(a, n_pairs, sizeof *q.values);
    if (q.names == NULL || q.values == NULL)
        return sg_errf(SG_TOOBIG, msg, n, "query string exceeds the request's memory");
    const char *p = qs;
    for (;;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return sg_errf(SG_INVAL, msg, n, "empty parameter in the query string");
        const char *eq = memchr(p, '=', len);
        size_t name_len = eq ? (size_t)(eq - p) : len;
        if (name_len == 0)
            return sg_errf(SG_INVAL, msg, n, "query parameter without a name");
        const char *name, *value;
        sg_err err = decode_part(p, name_len, a, &name, msg, n);
        if (err)
            return err;
        if (eq)
            err = decode_part(eq + 1, len - name_len - 1, a, &value, msg, n);
        else
            value = "";
        if (err)
            return err;
        char shown[48];
        int known = 0;
        for (size_t i = 0; allowed && allowed[i]; i++) {
            size_t al = strlen(allowed[i]);
            known |= al > 0 && allowed[i][al - 1] == '*' ? strncmp(allowed[i], name, al - 1) == 0
                                                         : strcmp(allowed[i], name) == 0;
        }
        if (!known) {
            safe_name(name, shown, sizeof shown);
            return sg_errf(SG_INVAL, msg, n, "unknown query parameter '%s'", shown);
        }
        for (size_t i = 0; i < q.n; i++) {
            if (strcmp(q.names[i], name) == 0) {
                safe_name(name, shown, sizeof shown);
                return sg_errf(SG_INVAL, msg, n, "query parameter '%s' given twice", shown);
            }
        }
        q.names[q.n] = name;
        q.values[q.n] = value;
        q.n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    *out = q;
    return SG_OK;
}

const char *sg_http_query_get(const sg_http_query *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->names[i], name) == 0)
            return q->values[i];
    return NULL;
}

sg_err sg_http_req_query(sg_http_req *r, const char *const *allowed, sg_http_query *out, char *msg,
                         size_t n)
{
    return sg_http_query_parse(r->query_raw, allowed, &r->arena, out, msg, n);
}

sg_err sg_json_buf_str(sg_buf *b, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return sg_buf_puts(b, "null");
    sg_err err = sg_buf_puts(b, "\"");
    const char *run = s;
    for (const char *p = s; !err && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        err = sg_buf_append(b, run, (size_t)(p - run));
        if (!err)
            err = c == '"'    ? sg_buf_puts(b, "\\\"")
                  : c == '\\' ? sg_buf_puts(b, "\\\\")
                              : sg_buf_printf(b, "\\u%04x", c);
        run = p + 1;
    }
    if (!err)
        err = sg_buf_puts(b, run);
    if (!err)
        err = sg_buf_puts(b, "\"");
    return err;
}

sg_err sg_json_buf_time(sg_buf *b, int64_t t)
{
    char ts[32] = "\"";
    if (t == 0 || sg_time_format(t, ts + 1, sizeof ts - 2) != SG_OK)
        return sg_buf_puts(b, "null");
    size_t len = strlen(ts);
    ts[len] = '"';
    return sg_buf_append(b, ts, len + 1);
}

sg_err sg_json_buf_num(sg_buf *b, double v)
{
    if (!isfinite(v))
        return sg_buf_puts(b, "null");
    /* Coordinates and the like: nine decimals (a millimetre of longitude) in integer
     * arithmetic, trailing zeros dropped; printf's %g was a tenth of a case list. */
    if (fabs(v) < 1e9) {
        int64_t units = (int64_t)llround(v * 1e9);
        int64_t whole = units / 1000000000, frac = units % 1000000000;
        if (frac < 0)
            frac = -frac;
        sg_err err = units < 0 && whole == 0 ? sg_buf_puts(b, "-") : SG_OK;
        err = err ? err : sg_buf_put_i64(b, whole);
        if (err || frac == 0)
            return err;
        char d[11] = ".";
        int k = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            k--;
        }
        for (int i = k; i >= 1; i--, frac /= 10)
            d[i] = (char)('0' + frac % 10);
        return sg_buf_append(b, d, (size_t)k + 1);
    }
    return sg_buf_printf(b, "%.17g", v);
}

sg_err sg_http_reply_buf(sg_http_req *r, sg_buf *b, sg_err err, sg_http_reply *out, char *msg,
                         size_t n)
{
    char *body = err ? NULL : sg_arena_strndup(&r->arena, b->data, b->len);
    size_t len = b->len;
    sg_buf_fini(b);
    if (body == NULL)
        return sg_errf(SG_NOMEM, msg, n, "the response exceeds the request's memory limit");
    out->body = body;
    out->len = len;
    out->ctype = "application/json";
    return SG_OK;
}

int sg_http_suppressed(const sg_http *h, int64_t count)
{
    return h->suppress_below > 1 && count > 0 && count < h->suppress_below;
}

json_t *sg_json_str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *sg_json_num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

sg_err sg_http_reply_take(sg_http_req *r, json_t *j, sg_http_reply *out, char *msg, size_t n)
{
    if (j == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory building the response");
    sg_err err = sg_http_reply_json(r, j, out);
    json_decref(j);
    if (err == SG_TOOBIG)
        return sg_errf(SG_NOMEM, msg, n, "the response exceeds the request's memory limit");
    if (err)
        return sg_errf(err, msg, n, "could not serialise the response");
    return SG_OK;
}

sg_err sg_http_audit(sg_http_req *r, const char *action, const char *object, const char *detail,
                     char *msg, size_t n)
{
    sg_audit_entry e = {r->who.name, sg_role_name(r->who.role), action, object, detail};
    sg_err err = sg_store_audit(r->srv->store, &e, msg, n);
    if (err)
        sg_log(SG_LOG_ERROR, "http.audit", "audit log append failed: %s", msg);
    return err;
}

sg_err sg_http_req_json(sg_http_req *r, const char *const *keys, void **out, char *msg, size_t n)
{
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
        return sg_errf(SG_INVAL, msg, n, "the body must be JSON (Content-Type: application/json)");
    if (r->body == NULL || r->body_len == 0)
        return sg_errf(SG_INVAL, msg, n, "the request needs a JSON object as its body");
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return sg_errf(SG_INVAL, msg, n, "the body is not valid JSON: %s at character %d", je.text,
                       je.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return sg_errf(SG_INVAL, msg, n, "the body must be a JSON object");
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (keys[i] == NULL) {
            sg_errf(SG_INVAL, msg, n, "unknown field %.64s", key);
            json_decref(j);
            return SG_INVAL;
        }
    }
    *out = j;
    return SG_OK;
}

const char *sg_http_req_header(sg_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sg_http_req_param(const sg_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_params; i++)
        if (strcmp(r->param_names[i], name) == 0)
            return r->params[i];
    return NULL;
}

sg_err sg_http_reply_json(sg_http_req *r, const void *j, sg_http_reply *out)
{
    size_t need = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (need == 0)
        return SG_INVAL;
    char *buf = sg_arena_alloc(&r->arena, need);
    if (buf == NULL)
        return SG_TOOBIG;
    json_dumpb(j, buf, need, JSON_COMPACT | JSON_REAL_PRECISION(12));
    out->body = buf;
    out->len = need;
    out->ctype = "application/json";
    return SG_OK;
}

/* ---- rate limiter: token buckets per client address ------------------------------------ */

#define RL_STRIPES 64
#define RL_SLOTS 256           /* hash chains per stripe */
#define RL_MAX_PER_STRIPE 1024 /* 65,536 addresses tracked at most */

typedef struct rl_entry {
    struct rl_entry *next;
    double tokens;
    int64_t last_ns;
    char key[64];
} rl_entry;

typedef struct rl_stripe {
    pthread_mutex_t mu;
    size_t n;
    rl_entry *slots[RL_SLOTS];
} rl_stripe;

struct sg_ratelimit {
    double rate, burst;
    rl_stripe stripes[RL_STRIPES];
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static double refilled(const struct sg_ratelimit *rl, const rl_entry *e, int64_t now)
{
    double t = e->tokens + rl->rate * (double)(now - e->last_ns) / 1e9;
    return t > rl->burst ? rl->burst : t;
}

/* Drops entries that have refilled to a full bucket (they behave as new clients); if none
 * has, drops the fullest one so that the stripe never grows past its cap. */
static void rl_sweep(struct sg_ratelimit *rl, rl_stripe *st, int64_t now)
{
    rl_entry **best = NULL;
    double best_t = -1;
    for (size_t i = 0; i < RL_SLOTS; i++) {
        rl_entry **pp = &st->slots[i];
        while (*pp) {
            double t = refilled(rl, *pp, now);
            if (t >= rl->burst) {
                rl_entry *dead = *pp;
                *pp = dead->next;
                free(dead);
                st->n--;
                continue;
            }
            if (t > best_t) {
                best_t = t;
                best = pp;
            }
            pp = &(*pp)->next;
        }
    }
    if (st->n >= RL_MAX_PER_STRIPE && best) {
        rl_entry *dead = *best;
        *best = dead->next;
        free(dead);
        st->n--;
    }
}

/* Takes one token for key. Returns 1 if allowed; 0 if not, with the seconds until a token
 * is back in *retry_s. */
static int rl_take(struct sg_ratelimit *rl, const char *key, int64_t now, double *retry_s)
{
    uint64_t h = fnv1a(key);
    rl_stripe *st = &rl->stripes[h % RL_STRIPES];
    size_t slot = (size_t)((h / RL_STRIPES) % RL_SLOTS);
    pthread_mutex_lock(&st->mu);
    rl_entry *e = st->slots[slot];
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    if (e == NULL) {
        if (st->n >= RL_MAX_PER_STRIPE)
            rl_sweep(rl, st, now);
        e = calloc(1, sizeof *e);
        if (e == NULL) {
            /* Out of memory: let the request through rather than refuse everyone. */
            pthread_mutex_unlock(&st->mu);
            return 1;
        }
        snprintf(e->key, sizeof e->key, "%s", key);
        e->tokens = rl->burst;
        e->last_ns = now;
        e->next = st->slots[slot];
        st->slots[slot] = e;
        st->n++;
    }
    double t = refilled(rl, e, now);
    e->last_ns = now;
    int ok = t >= 1.0;
    e->tokens = ok ? t - 1.0 : t;
    if (!ok)
        *retry_s = (1.0 - t) / rl->rate;
    pthread_mutex_unlock(&st->mu);
    return ok;
}

static struct sg_ratelimit *rl_new(double rate, double burst)
{
    struct sg_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl == NULL)
        return NULL;
    rl->rate = rate;
    rl->burst = burst;
    for (size_t i = 0; i < RL_STRIPES; i++)
        pthread_mutex_init(&rl->stripes[i].mu, NULL);
    return rl;
}

static void rl_free(struct sg_ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < RL_STRIPES; i++) {
        for (size_t k = 0; k < RL_SLOTS; k++) {
            rl_entry *e = rl->stripes[i].slots[k];
            while (e) {
                rl_entry *next = e->next;
                free(e);
                e = next;
            }
        }
        pthread_mutex_destroy(&rl->stripes[i].mu);
    }
    free(rl);
}

/* ---- metrics ------------------------------------------------------------------------- */

static const int counted_status[SG_HTTP_N_STATUS - 1] = {200, 400, 401, 403, 404, 405,
                                                         409, 413, 429, 500, 501, 503};
static const double bucket_le[SG_HTTP_N_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5};
static const char *const bucket_le_text[SG_HTTP_N_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025",  "0.05",    "0.1",    "0.5",   "1",      "5",     "+Inf"};

static void stats_record(sg_http *h, int route, int status, int64_t us)
{
    sg_http_route_stats *st = &h->stats[route < 0 ? (int)sg_http_n_routes : route];
    size_t si = SG_HTTP_N_STATUS - 1;
    for (size_t i = 0; i < SG_HTTP_N_STATUS - 1; i++)
        if (counted_status[i] == status)
            si = i;
    atomic_fetch_add(&st->by_status[si], 1);
    double sec = (double)us / 1e6;
    size_t b = SG_HTTP_N_BUCKETS - 1;
    for (size_t i = 0; i < SG_HTTP_N_BUCKETS - 1; i++) {
        if (sec <= bucket_le[i]) {
            b = i;
            break;
        }
    }
    atomic_fetch_add(&st->buckets[b], 1);
    atomic_fetch_add(&st->sum_us, (uint_fast64_t)(us < 0 ? 0 : us));
}

static const char *route_label(int i)
{
    return i < (int)sg_http_n_routes ? sg_http_route_table[i].pattern : "unmatched";
}

sg_err sg_http_h_metrics(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_http *h = r->srv;
    sg_http_query q;
    static const char *const none[] = {NULL};
    sg_err err = sg_http_req_query(r, none, &q, msg, n);
    if (err)
        return err;
    sg_buf b;
    sg_buf_init(&b, r->arena.max / 2);
    sg_buf_puts(&b, "# HELP safegrid_http_requests_total HTTP requests answered, by route "
                    "and status.\n# TYPE safegrid_http_requests_total counter\n");
    for (size_t i = 0; i <= sg_http_n_routes; i++) {
        const char *method = i < sg_http_n_routes ? sg_http_route_table[i].method : "";
        for (size_t s = 0; s < SG_HTTP_N_STATUS; s++) {
            uint64_t v = atomic_load(&h->stats[i].by_status[s]);
            if (v == 0)
                continue;
            char status[8];
            if (s < SG_HTTP_N_STATUS - 1)
                snprintf(status, sizeof status, "%d", counted_status[s]);
            else
                snprintf(status, sizeof status, "other");
            sg_buf_printf(&b,
                          "safegrid_http_requests_total{route=\"%s\",method=\"%s\","
                          "status=\"%s\"} %llu\n",
                          route_label((int)i), method, status, (unsigned long long)v);
        }
    }
    sg_buf_puts(&b, "# HELP safegrid_http_request_duration_seconds Time from the request "
                    "line to the response being queued.\n"
                    "# TYPE safegrid_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= sg_http_n_routes; i++) {
        uint64_t cum = 0;
        for (size_t k = 0; k < SG_HTTP_N_BUCKETS; k++) {
            cum += atomic_load(&h->stats[i].buckets[k]);
            sg_buf_printf(&b,
                          "safegrid_http_request_duration_seconds_bucket{route=\"%s\","
                          "le=\"%s\"} %llu\n",
                          route_label((int)i), bucket_le_text[k], (unsigned long long)cum);
        }
        sg_buf_printf(&b, "safegrid_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                      route_label((int)i), (double)atomic_load(&h->stats[i].sum_us) / 1e6);
        sg_buf_printf(&b, "safegrid_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                      route_label((int)i), (unsigned long long)cum);
    }
    uint64_t commits = 0, writes = 0;
    sg_store_stats(h->store, &commits, &writes);
    sg_buf_printf(&b,
                  "# HELP safegrid_http_open_connections Connections open now.\n"
                  "# TYPE safegrid_http_open_connections gauge\n"
                  "safegrid_http_open_connections %ld\n"
                  "# HELP safegrid_http_requests_in_flight Requests received and not yet "
                  "completed.\n"
                  "# TYPE safegrid_http_requests_in_flight gauge\n"
                  "safegrid_http_requests_in_flight %ld\n"
                  "# HELP safegrid_http_rate_limited_total Requests refused with 429.\n"
                  "# TYPE safegrid_http_rate_limited_total counter\n"
                  "safegrid_http_rate_limited_total %llu\n"
                  "# HELP safegrid_store_group_commits_total Group commits of the store's "
                  "writer since open.\n"
                  "# TYPE safegrid_store_group_commits_total counter\n"
                  "safegrid_store_group_commits_total %llu\n"
                  "# HELP safegrid_store_writes_total Writes carried by those commits.\n"
                  "# TYPE safegrid_store_writes_total counter\n"
                  "safegrid_store_writes_total %llu\n",
                  atomic_load(&h->open_conns), atomic_load(&h->in_flight),
                  (unsigned long long)atomic_load(&h->rate_limited), (unsigned long long)commits,
                  (unsigned long long)writes);
    if (b.data == NULL || b.len == b.max) {
        sg_buf_fini(&b);
        return sg_errf(SG_NOMEM, msg, n, "could not format the metrics");
    }
    char *body = sg_arena_strndup(&r->arena, b.data, b.len);
    size_t len = b.len;
    sg_buf_fini(&b);
    if (body == NULL)
        return sg_errf(SG_TOOBIG, msg, n, "metrics exceed the request's memory");
    out->body = body;
    out->len = len;
    out->ctype = "text/plain; version=0.0.4; charset=utf-8";
    return SG_OK;
}

sg_err sg_http_h_healthz(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_http_query q;
    static const char *const none[] = {NULL};
    sg_err err = sg_http_req_query(r, none, &q, msg, n);
    if (err)
        return err;
    if (atomic_load(&r->srv->stopping))
        return sg_errf(SG_BUSY, msg, n, "the server is shutting down");
    static const char ok[] = "{\"status\":\"ok\"}";
    out->body = ok;
    out->len = sizeof ok - 1;
    return SG_OK;
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

static const char *hook_get_header(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* ---- static files (the web UI) ---------------------------------------------------------- */

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* Answers GET path from the web directory, if it names a file there: "/" and paths
 * ending in "/" are index.html; only plain names (letters, digits, . _ - /, no "..", no
 * hidden files) and known types are served. Returns MHD_NO with *served 0 when there is
 * no such file, so the caller answers 404. */
static enum MHD_Result serve_static(sg_http *h, sg_http_req *r, const char *path, int *served)
{
    *served = 0;
    size_t len = strlen(path);
    if (len == 0 || path[0] != '/' || len > 200 || strstr(path, "/.") != NULL)
        return MHD_NO;
    for (size_t i = 0; i < len; i++) {
        char c = path[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/'))
            return MHD_NO;
    }
    char file[512];
    snprintf(file, sizeof file, "%s%s%s", h->web_dir, path,
             path[len - 1] == '/' ? "index.html" : "");
    const char *type = content_type_of(file);
    if (type == NULL)
        return MHD_NO;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MHD_NO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return MHD_NO;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    *served = 1;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    if (strncmp(type, "text/html", 9) == 0)
        MHD_add_response_header(
            resp, "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' "
            "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        r->responded = 1;
        r->status = 200;
        r->bytes = (size_t)st.st_size;
    }
    return ret;
}

static enum MHD_Result dispatch(sg_http *h, sg_http_req *r, const char *path)
{
    int found = -1;
    char allow[64] = "";
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    for (size_t i = 0; i < sg_http_n_routes; i++) {
        const sg_http_route *rt = &sg_http_route_table[i];
        if (!match_path(rt->pattern, path, r))
            continue;
        if (strcmp(rt->method, method) == 0) {
            found = (int)i;
            break;
        }
        if (strstr(allow, rt->method) == NULL &&
            strlen(allow) + strlen(rt->method) + 8 < sizeof allow) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, rt->method);
            if (strcmp(rt->method, "GET") == 0)
                strcat(allow, ", HEAD");
        }
    }
    r->route = found;
    const sg_http_route *rt = found >= 0 ? &sg_http_route_table[found] : NULL;

    /* The web UI's files are served without the rate limit: one page load takes several. */
    if (rt == NULL && h->web_dir && strcmp(method, "GET") == 0 && strncmp(path, "/api/", 5) != 0 &&
        strncmp(path, "/open311/", 9) != 0) {
        int served = 0;
        enum MHD_Result ret = serve_static(h, r, path, &served);
        if (served)
            return ret;
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
        if (!rl_take(h->limiter, r->client, now_ns(), &retry)) {
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
        stats_record(h, r->route, r->status, us);
    /* A matched route is logged by its pattern, not the concrete path: a tracking code
     * next to the client's address would tie a person to a case in the log. */
    const char *logged = r->route >= 0 ? sg_http_route_table[r->route].pattern : r->path;
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
    rl_free(h->limiter);
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
    h->stats = calloc(sg_http_n_routes + 1, sizeof *h->stats);
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
        h->limiter = rl_new(rate, burst);
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
