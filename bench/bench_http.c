/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Requests per second and latency of the HTTP server, measured with wrk on loopback,
 * beside a minimal libmicrohttpd server in the same process that answers every request
 * with a fixed JSON body of about the size of a tracking view, with the same thread
 * settings (internal polling thread, epoll, a pool of the same size). The minimal server
 * is the ceiling of the HTTP layer on this machine; the ratio says how much of it the
 * real server keeps.
 *
 *   ceiling            fixed 300-byte JSON body, no routing, no store
 *   /healthz           routing, request object, arena, access log, metrics
 *   /api/v1/track/...  the above plus a case and its timeline read from SQLite and JSON
 *                      built with jansson: once always the same code, once cycling
 *                      through 1,000 codes with a wrk Lua script (the ceiling is then
 *                      measured again through the same script, since the script costs
 *                      wrk time)
 *
 * Environment: SG_BENCH_CASES (cases loaded, default 100000), SG_BENCH_SECONDS (per run,
 * default 10), SG_BENCH_THREADS (server threads, default: cores), SG_BENCH_CONNS (wrk
 * connections, default 64), SG_BENCH_NOLOG (set: access log off). The access log is on
 * by default (written to /dev/null), the rate limit off. Needs wrk (Debian package wrk).
 */
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safegrid/case.h"
#include "safegrid/http.h"
#include "safegrid/log.h"
#include "safegrid/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && atol(v) > 0 ? atol(v) : dflt;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_http: %s: %s\n", what, msg);
    exit(1);
}

/* ---- the ceiling: a minimal libmicrohttpd server --------------------------------------- */

static char fixed_body[301];

static enum MHD_Result fixed_handler(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version, const char *upload,
                                     size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    /* The usual two-call idiom: a response queued on the first call (before MHD knows
     * there is no body) makes libmicrohttpd close the connection, losing keep-alive. */
    static int first;
    if (*con_cls == NULL) {
        *con_cls = &first;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof fixed_body - 1, fixed_body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- wrk ------------------------------------------------------------------------------- */

typedef struct result {
    double rps, p50_ms, p99_ms;
    long errors;
} result;

static double to_ms(double v, const char *unit)
{
    if (strcmp(unit, "us") == 0)
        return v / 1000;
    if (strcmp(unit, "s") == 0)
        return v * 1000;
    if (strcmp(unit, "m") == 0)
        return v * 60000;
    return v;
}

static result run_wrk(unsigned port, const char *path, const char *script, long seconds, long conns)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "wrk -t1 -c%ld -d%lds --latency %s%s 'http://127.0.0.1:%u%s' 2>&1",
             conns, seconds, script ? "-s " : "", script ? script : "", port, path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        die("wrk", "cannot run");
    result r = {0};
    char line[512];
    while (fgets(line, sizeof line, p)) {
        double v;
        char unit[8];
        if (sscanf(line, " 50%% %lf%7[a-z]", &v, unit) == 2)
            r.p50_ms = to_ms(v, unit);
        else if (sscanf(line, " 99%% %lf%7[a-z]", &v, unit) == 2)
            r.p99_ms = to_ms(v, unit);
        else if (sscanf(line, "Requests/sec: %lf", &v) == 1)
            r.rps = v;
        else if (strstr(line, "Non-2xx") || strstr(line, "Socket errors"))
            r.errors++, fputs(line, stderr);
    }
    if (pclose(p) != 0 || r.rps == 0)
        die("wrk", "failed (is the wrk package installed?)");
    return r;
}

static void print_row(const char *what, result r, double ceiling)
{
    printf("%-30s %10.0f %9.3f %9.3f %8.2f%s\n", what, r.rps, r.p50_ms, r.p99_ms,
           ceiling > 0 ? r.rps / ceiling : 1.0, r.errors ? "  (errors, see above)" : "");
}

int main(void)
{
    long n_cases = env_long("SG_BENCH_CASES", 100000);
    long seconds = env_long("SG_BENCH_SECONDS", 10);
    long threads = env_long("SG_BENCH_THREADS", sysconf(_SC_NPROCESSORS_ONLN));
    long conns = env_long("SG_BENCH_CONNS", 64);
    if (system("wrk --version >/dev/null 2>&1") == -1)
        die("wrk", "cannot run a shell");

    FILE *devnull = fopen("/dev/null", "w");
    int log_on = getenv("SG_BENCH_NOLOG") == NULL;
    sg_log_setup(devnull, log_on ? SG_LOG_INFO : SG_LOG_WARN, 0);

    char dir[] = "/tmp/bench_http.XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "failed");
    char path[256], msg[256];
    snprintf(path, sizeof path, "%s/bench.sqlite", dir);
    sg_store *s;
    if (sg_store_open(path, &s, msg, sizeof msg))
        die("open", msg);
    static const char *const types[] = {"request", "incident", "hazard"};
    for (int i = 0; i < 3; i++) {
        sg_category c = {.deadline = {900, 3600, 86400, 604800}};
        snprintf(c.code, sizeof c.code, "%s-general", types[i]);
        snprintf(c.type, sizeof c.type, "%s", types[i]);
        snprintf(c.name, sizeof c.name, "General %s", types[i]);
        if (sg_store_category_put(s, &c, msg, sizeof msg))
            die("category", msg);
    }

    /* Load cases with 256 creations in flight (each durable before it is acknowledged),
     * keeping 1,000 tracking codes spread over the whole id range for wrk. */
    double t0 = now_s();
    enum { WINDOW = 256, N_CODES = 1000 };
    static sg_case_pending pend[WINDOW];
    static char codes[N_CODES][12];
    long stride = n_cases / N_CODES > 0 ? n_cases / N_CODES : 1, n_codes = 0;
    const sg_actor who[3] = {{"public", SG_ROLE_PUBLIC},
                             {"calltaker", SG_ROLE_CALLTAKER},
                             {"inspector", SG_ROLE_INSPECTOR}};
    for (long i = 0; i < n_cases; i += WINDOW) {
        long m = n_cases - i < WINDOW ? n_cases - i : WINDOW;
        for (long k = 0; k < m; k++) {
            long id = i + k;
            int t = (int)(id % 3);
            char cat[32];
            snprintf(cat, sizeof cat, "%s-general", types[t]);
            sg_case_new in = {.type = types[t],
                              .category = cat,
                              .title = "bench",
                              .lon = NAN,
                              .lat = NAN,
                              .created_at = 978307200 + id * 60}; /* from 2001-01-01 */
            sg_case_create_submit(s, &who[t], &in, &pend[k]);
        }
        for (long k = 0; k < m; k++) {
            sg_case c = {0};
            if (sg_case_create_wait(s, &pend[k], &c, msg, sizeof msg))
                die("create", msg);
            if ((i + k) % stride == 0 && n_codes < N_CODES)
                memcpy(codes[n_codes++], c.tracking_code, 12);
            sg_case_fini(&c);
        }
    }
    double load_s = now_s() - t0;

    char script[300];
    snprintf(script, sizeof script, "%s/codes.lua", dir);
    FILE *f = fopen(script, "w");
    if (f == NULL)
        die("script", "cannot write");
    fputs("local codes = {", f);
    for (long i = 0; i < n_codes; i++)
        fprintf(f, "%s\"%s\"", i ? "," : "", codes[i]);
    fputs("}\nlocal i = 0\nrequest = function()\n  i = i % #codes + 1\n"
          "  return wrk.format(\"GET\", \"/api/v1/track/\" .. codes[i])\nend\n",
          f);
    fclose(f);

    sg_http *h;
    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = (unsigned)threads, .rate = -1};
    if (sg_http_start(s, &o, &h, msg, sizeof msg))
        die("start", msg);

    memset(fixed_body, ' ', sizeof fixed_body - 1);
    static const char js[] = "{\"status\":\"ok\",\"padding\":\"";
    memcpy(fixed_body, js, sizeof js - 1);
    memcpy(fixed_body + sizeof fixed_body - 3, "\"}", 2);
    for (size_t i = sizeof js - 1; i < sizeof fixed_body - 3; i++)
        fixed_body[i] = 'x';
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                         fixed_handler, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                         MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
    if (d == NULL)
        die("ceiling", "cannot start");
    unsigned ceil_port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;

    /* Check the track route answers 200 before timing it. */
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' "
             "http://127.0.0.1:%u/api/v1/track/%s",
             sg_http_port(h), codes[0]);
    FILE *p = popen(cmd, "r");
    char code[8] = "";
    if (p == NULL || fgets(code, sizeof code, p) == NULL || strcmp(code, "200") != 0)
        die("track", "did not answer 200");
    pclose(p);

    printf("bench_http: %ld cases loaded in %.1f s (%.0f durable creations/s, 256 in flight)\n",
           n_cases, load_s, n_cases / load_s);
    printf("wrk -t1 -c%ld -d%lds on loopback; %ld server threads each (epoll, thread pool); "
           "%ld cores shared by server and wrk; access log %s\n",
           conns, seconds, threads, sysconf(_SC_NPROCESSORS_ONLN), log_on ? "on" : "off");
    printf("%-30s %10s %9s %9s %8s\n", "target", "req/s", "p50 ms", "p99 ms", "ratio");
    result ceiling = run_wrk(ceil_port, "/", NULL, seconds, conns);
    print_row("ceiling (fixed JSON, MHD)", ceiling, 0);
    result health = run_wrk(sg_http_port(h), "/healthz", NULL, seconds, conns);
    print_row("GET /healthz", health, ceiling.rps);
    char one[64];
    snprintf(one, sizeof one, "/api/v1/track/%s", codes[n_codes / 2]);
    result track1 = run_wrk(sg_http_port(h), one, NULL, seconds, conns);
    print_row("GET /api/v1/track/{code}, 1 code", track1, ceiling.rps);
    /* wrk's Lua request() costs the client time: compare with the ceiling driven by the
     * same script (the fixed server ignores the path). */
    result ceiling_lua = run_wrk(ceil_port, "/", script, seconds, conns);
    print_row("ceiling, Lua script", ceiling_lua, 0);
    result track = run_wrk(sg_http_port(h), "/", script, seconds, conns);
    print_row("GET /api/v1/track/{code}, Lua", track, ceiling_lua.rps);
    fflush(stdout);

    MHD_stop_daemon(d);
    sg_http_stop(h);
    sg_store_close(s);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(devnull);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
