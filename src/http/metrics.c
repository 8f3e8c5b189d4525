/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What operators probe: GET /healthz and the Prometheus text of GET /metrics (requests by
 * route and status, a latency histogram per route, connections, requests in flight, the
 * rate limit's refusals and the store's group commits). Counters are lock-free atomics
 * bumped once per request by the server core (sg_http_metrics_record); a route is labelled
 * by its pattern, never by a concrete path, so that tracking codes never reach a scraper.
 * Both routes skip the rate limit: a monitor polls them from one address.
 */
#include <stdio.h>
#include <string.h>

#include "http_int.h"

static const int counted_status[SG_HTTP_N_STATUS - 1] = {200, 400, 401, 403, 404, 405,
                                                         409, 413, 429, 500, 501, 503};
static const double bucket_le[SG_HTTP_N_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5};
static const char *const bucket_le_text[SG_HTTP_N_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025",  "0.05",    "0.1",    "0.5",   "1",      "5",     "+Inf"};

void sg_http_metrics_record(sg_http *h, int route, int status, int64_t us)
{
    sg_http_route_stats *st = &h->stats[route < 0 ? (int)sg_http_router_count() : route];
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
    return i < (int)sg_http_router_count() ? sg_http_router_get((size_t)i)->pattern : "unmatched";
}

static sg_err h_metrics(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_http *h = r->srv;
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    sg_buf b;
    sg_buf_init(&b, r->arena.max / 2);
    sg_buf_puts(&b, "# HELP safegrid_http_requests_total HTTP requests answered, by route "
                    "and status.\n# TYPE safegrid_http_requests_total counter\n");
    size_t n_routes = sg_http_router_count();
    for (size_t i = 0; i <= n_routes; i++) {
        const char *method = i < n_routes ? sg_http_router_get(i)->method : "";
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
    for (size_t i = 0; i <= n_routes; i++) {
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

static sg_err h_healthz(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    if (atomic_load(&r->srv->stopping))
        return sg_errf(SG_BUSY, msg, n, "the server is shutting down");
    static const char ok[] = "{\"status\":\"ok\"}";
    out->body = ok;
    out->len = sizeof ok - 1;
    return SG_OK;
}

static const sg_http_route routes[] = {
    {"GET", "/healthz", ANY_ROLE, SG_ROUTE_NO_RATELIMIT, h_healthz},
    {"GET", "/metrics", ANY_ROLE, SG_ROUTE_NO_RATELIMIT, h_metrics},
};
const sg_http_route_set sg_http_routes_metrics = SG_HTTP_ROUTE_SET(routes);
