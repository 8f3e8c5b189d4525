/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Requests per second and latency of the staff API on loopback with a million cases
 * loaded (issue 4, item 7), beside a minimal libmicrohttpd server in the same process that
 * answers every request with a fixed 300-byte JSON body, with the same thread settings
 * (internal polling thread, epoll, a pool of the same size). The minimal server is the
 * ceiling of the HTTP layer on this machine; the ratio says how much of it the real server
 * keeps.
 *
 * Two kinds of load, because they answer different questions.
 *
 * wrk (closed loop): each connection sends its next request when the previous answer
 * arrives, which gives the peak requests per second. Rows: the ceiling, plain and driven
 * by the same Lua script as the reads (the script costs wrk time), and a second ceiling
 * whose fixed body has the size of a list of 50 cases, for the list row; /healthz;
 * GET /api/v1/cases/{id} with random ids over all cases; GET /api/v1/cases?area=CODE&limit=50
 * cycling over every neighbourhood; POST /api/v1/cases, on a second server with many
 * threads, since each create holds its thread until the group commit.
 *
 * Open loop: requests sent at a fixed rate (half the peak wrk measured) on N keep-alive
 * connections by a generator in this file. Latency runs from each request's scheduled
 * send time, so a stall delays the requests queued behind it and shows in the
 * percentiles (no coordinated omission, the flaw of closed-loop tools like wrk).
 *
 * The database: Belo Horizonte's 240 neighbourhoods imported with the CLI as scripts/demo.sh
 * does, then SG_BENCH_CASES cases at uniform random points over the city's bounding box
 * (those inside a neighbourhood get its area), created through the pipelined creation API
 * with 512 in flight, each durable before it is acknowledged, each with its audit entry
 * appended in the same transaction. No case carries personal data, so reading
 * one case opens nothing sealed and writes no audit entry per read. The loaded database is
 * kept under build/bench/http-N/ and copied to build/bench/http-N.run/ for each run, so a
 * second run does not load again and always starts from the same N cases.
 *
 * Staff requests carry an API key of role supervisor scoped to the whole jurisdiction
 * (Authorization: Bearer), so no cookie or CSRF token is needed. Creates are audited
 * (the audit log is a table written within the store's group commit, one sync a group). After the
 * runs the store is closed, reopened, and its case count compared with the creates acknowledged.
 * Beside req/s each row gives the servers' CPU time per response (getrusage of this
 * process, less the generator's thread in the open-loop runs): on a machine shared with
 * other jobs it moves less than req/s does.
 *
 * Environment: SG_BENCH_CASES (default 1000000), SG_BENCH_SECONDS (per run, default 10),
 * SG_BENCH_THREADS (server threads for reads, default: cores), SG_BENCH_CONNS (wrk
 * connections for reads, default 64), SG_BENCH_CREATE_THREADS (server threads for
 * creates, default 256), SG_BENCH_CREATE_CONNS (connections for creates, default 256),
 * SG_BENCH_NOLOG (set: access log off), SG_BENCH_ONLY (e.g. "create,open": only those
 * rows of ceiling, healthz, get, list, create, open), SG_BENCH_SQL (SQL run on the copy of
 * the database before the run: a what-if, e.g. an index), SG_BIN (the CLI, default
 * build/rel/safegrid). The access log is on by default (written to /dev/null), the rate
 * limit off. Needs wrk (Debian package wrk) and curl.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "safegrid/auth.h"
#include "safegrid/case.h"
#include "safegrid/http.h"
#include "safegrid/log.h"
#include "safegrid/service.h"
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

/* CPU seconds (user + system) of the whole process (RUSAGE_SELF) or the calling thread. */
static double cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void run(const char *cmd)
{
    if (system(cmd) != 0)
        die("command failed", cmd);
}

/* xorshift64*: a fixed sequence, so every run asks for the same ids and places. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* Belo Horizonte's bounding box (WGS84), as in scripts/demo.sh's data. */
static const double bh_bbox[4] = {-44.06, -20.06, -43.86, -19.78};

/* ---- the ceiling: a minimal libmicrohttpd server --------------------------------------- */

/* A fixed JSON body of len bytes: {"status":"ok","padding":"xxx..."}. */
typedef struct fixed {
    char *body;
    size_t len;
} fixed;

static fixed fixed_make(size_t len)
{
    static const char js[] = "{\"status\":\"ok\",\"padding\":\"";
    fixed f = {malloc(len), len};
    if (f.body == NULL || len < sizeof js + 2)
        die("ceiling", "bad body size");
    memcpy(f.body, js, sizeof js - 1);
    memset(f.body + sizeof js - 1, 'x', len - (sizeof js - 1) - 2);
    memcpy(f.body + len - 2, "\"}", 2);
    return f;
}

static enum MHD_Result fixed_handler(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version, const char *upload,
                                     size_t *upload_size, void **con_cls)
{
    const fixed *f = cls;
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
        MHD_create_response_from_buffer(f->len, f->body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- wrk ------------------------------------------------------------------------------- */

typedef struct result {
    double rps, p50_ms, p99_ms, p999_ms, max_ms;
    long n_req, n_bad; /* responses, of which not 2xx (wrk: non-2xx; open loop: + errors) */
    long errors;       /* socket errors (wrk) or broken connections and timeouts (open loop) */
    long n_conns;
    double cpu_us; /* the servers' CPU time per response, in microseconds */
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
    snprintf(cmd, sizeof cmd,
             "wrk -t1 -c%ld -d%lds --timeout 10s --latency %s%s 'http://127.0.0.1:%u%s' 2>&1",
             conns, seconds, script ? "-s " : "", script ? script : "", port, path);
    double cpu0 = cpu_s(RUSAGE_SELF); /* this thread only waits for wrk */
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        die("wrk", "cannot run");
    result r = {.n_conns = conns};
    char line[512];
    while (fgets(line, sizeof line, p)) {
        double v;
        long k;
        char unit[8];
        if (sscanf(line, " 50%% %lf%7[a-z]", &v, unit) == 2)
            r.p50_ms = to_ms(v, unit);
        else if (sscanf(line, " 99%% %lf%7[a-z]", &v, unit) == 2)
            r.p99_ms = to_ms(v, unit);
        else if (sscanf(line, "Requests/sec: %lf", &v) == 1)
            r.rps = v;
        else if (sscanf(line, " %ld requests in", &k) == 1)
            r.n_req = k;
        else if (sscanf(line, " Non-2xx or 3xx responses: %ld", &k) == 1)
            r.n_bad = k, fputs(line, stderr);
        else if (strstr(line, "Socket errors"))
            r.errors++, fputs(line, stderr);
    }
    if (pclose(p) != 0 || r.rps == 0)
        die("wrk", "failed (is the wrk package installed?)");
    r.cpu_us = r.n_req > 0 ? (cpu_s(RUSAGE_SELF) - cpu0) / (double)r.n_req * 1e6 : 0;
    return r;
}

/* ---- the open-loop generator ------------------------------------------------------------ */

/* Writes request number seq (the whole HTTP/1.1 request) into buf; returns its length. */
typedef size_t (*ol_make_fn)(void *ctx, uint64_t seq, char *buf, size_t cap);

typedef struct ol_conn {
    int fd;
    double sched;     /* when the request in flight was due */
    int head_done;    /* the response head has been read */
    int status;       /* its status code */
    size_t have;      /* bytes of the head in buf */
    size_t remaining; /* body bytes still to come */
    char head[8192];
} ol_conn;

static int ol_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("open loop", "cannot connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Takes len bytes of response; 1 when the response is complete, 0 for more, -1 for a
 * response this generator does not understand (no Content-Length, or extra bytes). */
static int ol_feed(ol_conn *c, const char *p, size_t len)
{
    if (!c->head_done) {
        size_t room = sizeof c->head - 1 - c->have, take = len < room ? len : room;
        memcpy(c->head + c->have, p, take);
        c->have += take;
        c->head[c->have] = '\0';
        char *end = strstr(c->head, "\r\n\r\n");
        if (end == NULL)
            return c->have == sizeof c->head - 1 ? -1 : 0;
        const char *cl = strcasestr(c->head, "\r\ncontent-length:");
        if (cl == NULL || strncmp(c->head, "HTTP/1.1 ", 9) != 0)
            return -1;
        c->status = atoi(c->head + 9);
        c->remaining = strtoul(cl + 17, NULL, 10);
        size_t body = c->have - (size_t)(end + 4 - c->head) + (len - take);
        c->head_done = 1;
        if (body > c->remaining)
            return -1;
        c->remaining -= body;
    } else {
        if (len > c->remaining)
            return -1;
        c->remaining -= len;
    }
    return c->remaining == 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Sends rate requests per second for `seconds` on n_conns keep-alive connections, one
 * request at a time per connection. Request k is due at t0 + k / rate; it goes out on the
 * first free connection at or after that time, and its latency runs from when it was due
 * to the last byte of its answer. The first second is warm-up and not counted. */
static result run_openloop(unsigned port, ol_make_fn make, void *ctx, double rate, double seconds,
                           int n_conns)
{
    ol_conn *conns = calloc((size_t)n_conns, sizeof *conns);
    int *free_stack = malloc((size_t)n_conns * sizeof *free_stack), n_free = 0;
    uint64_t total = (uint64_t)(rate * seconds);
    float *lat = malloc(total * sizeof *lat);
    int ep = epoll_create1(0);
    if (conns == NULL || free_stack == NULL || lat == NULL || ep < 0)
        die("open loop", "out of memory");
    for (int i = 0; i < n_conns; i++) {
        conns[i].fd = ol_connect(port);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        free_stack[n_free++] = i;
    }
    result r = {.n_conns = n_conns};
    size_t n_lat = 0;
    uint64_t next = 0;
    char req[2048];
    static char buf[1 << 16];
    double cpu0 = cpu_s(RUSAGE_SELF) - cpu_s(RUSAGE_THREAD);
    double t0 = now_s() + 0.01, warm = t0 + 1.0, t_end = t0 + seconds, deadline = t_end + 15;
    for (;;) {
        double t = now_s();
        while (n_free > 0 && next < total && t0 + (double)next / rate <= t) {
            ol_conn *c = &conns[free_stack[--n_free]];
            size_t len = make(ctx, next, req, sizeof req);
            c->sched = t0 + (double)next / rate;
            c->head_done = 0;
            c->have = 0;
            next++;
            /* A request of a few hundred bytes fits an idle socket's buffer. */
            if (write(c->fd, req, len) != (ssize_t)len)
                die("open loop", "short write");
        }
        if ((next == total && n_free == n_conns) || t > deadline)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (n_free > 0 && next < total) {
            double wait = t0 + (double)next / rate - now_s();
            wait = wait < 0 ? 0 : wait;
            ts.tv_sec = (time_t)wait;
            ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
        }
        struct epoll_event evs[256];
        int ne = epoll_pwait2(ep, evs, 256, &ts, NULL);
        for (int e = 0; e < ne; e++) {
            int i = (int)evs[e].data.u32;
            ol_conn *c = &conns[i];
            for (;;) {
                ssize_t got = read(c->fd, buf, sizeof buf);
                if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    break;
                int done = got > 0 ? ol_feed(c, buf, (size_t)got) : -1;
                if (done == 0)
                    continue;
                if (done < 0) { /* closed or not understood: count it, reconnect */
                    r.errors++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = ol_connect(port);
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                } else {
                    double done_t = now_s();
                    r.n_req++;
                    if (c->status < 200 || c->status > 299)
                        r.n_bad++;
                    if (c->sched >= warm && n_lat < total)
                        lat[n_lat++] = (float)((done_t - c->sched) * 1000);
                }
                free_stack[n_free++] = i;
                break;
            }
        }
    }
    r.errors += n_conns - n_free; /* still unanswered at the deadline */
    if (r.n_req > 0)              /* the process but this thread (the generator): the servers */
        r.cpu_us = (cpu_s(RUSAGE_SELF) - cpu_s(RUSAGE_THREAD) - cpu0) / (double)r.n_req * 1e6;
    qsort(lat, n_lat, sizeof *lat, cmp_float);
    if (n_lat > 0) {
        r.p50_ms = lat[n_lat / 2];
        r.p99_ms = lat[(size_t)((double)n_lat * 0.99)];
        r.p999_ms = lat[(size_t)((double)n_lat * 0.999)];
        r.max_ms = lat[n_lat - 1];
    }
    r.rps = (double)n_lat / (seconds - 1.0);
    for (int i = 0; i < n_conns; i++)
        close(conns[i].fd);
    close(ep);
    free(lat);
    free(free_stack);
    free(conns);
    return r;
}

/* What the open-loop requests ask for. */
typedef struct req_ctx {
    const char *key;
    long n_cases;
    char (*areas)[64];
    size_t n_areas;
} req_ctx;

static size_t make_ceiling(void *ctx, uint64_t seq, char *buf, size_t cap)
{
    (void)ctx;
    (void)seq;
    return (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

static size_t make_get(void *ctx, uint64_t seq, char *buf, size_t cap)
{
    req_ctx *q = ctx;
    uint64_t s = seq * 2654435761u + 1;
    long id = 1 + (long)(rng_next(&s) % (uint64_t)q->n_cases);
    return (size_t)snprintf(buf, cap,
                            "GET /api/v1/cases/%ld HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Authorization: Bearer %s\r\n\r\n",
                            id, q->key);
}

static size_t make_list(void *ctx, uint64_t seq, char *buf, size_t cap)
{
    req_ctx *q = ctx;
    return (size_t)snprintf(buf, cap,
                            "GET /api/v1/cases?area=%s&limit=50 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Authorization: Bearer %s\r\n\r\n",
                            q->areas[seq % q->n_areas], q->key);
}

static size_t create_body(uint64_t seq, char *buf, size_t cap)
{
    uint64_t s = seq * 2654435761u + 7;
    double lon = bh_bbox[0] + rng_unit(&s) * (bh_bbox[2] - bh_bbox[0]);
    double lat = bh_bbox[1] + rng_unit(&s) * (bh_bbox[3] - bh_bbox[1]);
    return (size_t)snprintf(buf, cap,
                            "{\"type\":\"incident\",\"category\":\"incident-general\","
                            "\"lon\":%.6f,\"lat\":%.6f}",
                            lon, lat);
}

static size_t make_create(void *ctx, uint64_t seq, char *buf, size_t cap)
{
    req_ctx *q = ctx;
    char body[160];
    size_t len = create_body(seq, body, sizeof body);
    return (size_t)snprintf(buf, cap,
                            "POST /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\n\r\n%s",
                            q->key, len, body);
}

/* ---- the database ------------------------------------------------------------------------ */

/* Loads the cache directory dir (areas, categories, n_cases cases) unless it is there
 * already; returns the seconds the load took (now or when it was made). */
static double prepare_db(const char *sg_bin, const char *dir, long n_cases, int *cached)
{
    char path[512], cmd[2048], msg[256];
    snprintf(path, sizeof path, "%s/ready", dir);
    FILE *f = fopen(path, "r");
    double load_s = 0;
    long n = 0;
    if (f && fscanf(f, "%ld %lf", &n, &load_s) == 2 && n == n_cases) {
        fclose(f);
        *cached = 1;
        return load_s;
    }
    if (f)
        fclose(f);
    *cached = 0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    run(cmd);
    double t0 = now_s();
    /* The neighbourhoods, as scripts/demo.sh imports them. */
    snprintf(cmd, sizeof cmd,
             "'%s' init --db '%s/safegrid.db' --log-level warn >/dev/null && "
             "'%s' import areas /usr/share/doc/libterralib-dev/examples/data/BairroBH.MIF "
             "--db '%s/safegrid.db' --code CDBAI --name nobai --population pop_estim --srs "
             "'+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 "
             "+ellps=aust_SA +towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs' "
             "--create-orgs grid_office --log-level warn >/dev/null 2>&1",
             sg_bin, dir, sg_bin, dir);
    run(cmd);
    snprintf(path, sizeof path, "%s/safegrid.db", dir);
    sg_service sv;
    if (sg_service_open(path, &sv, msg, sizeof msg))
        die("open", msg);
    static const char *const types[] = {"incident", "request"};
    for (int i = 0; i < 2; i++) {
        sg_category c = {.deadline = {900, 3600, 86400, 604800}};
        snprintf(c.code, sizeof c.code, "%s-general", types[i]);
        snprintf(c.type, sizeof c.type, "%s", types[i]);
        snprintf(c.name, sizeof c.name, "General %s", types[i]);
        if (sg_store_category_put(sv.store, &c, NULL, msg, sizeof msg))
            die("category", msg);
    }
    enum { WINDOW = 512 };
    static sg_case_pending pend[WINDOW];
    const sg_actor who = {"loader", SG_ROLE_SUPERVISOR};
    uint64_t rng = 42;
    double t1 = now_s();
    for (long i = 0; i < n_cases; i += WINDOW) {
        long m = n_cases - i < WINDOW ? n_cases - i : WINDOW;
        for (long k = 0; k < m; k++) {
            long id = i + k;
            sg_case_new in = {.type = types[id % 2],
                              .category = id % 2 ? "request-general" : "incident-general",
                              .title = "bench",
                              .lon = bh_bbox[0] + rng_unit(&rng) * (bh_bbox[2] - bh_bbox[0]),
                              .lat = bh_bbox[1] + rng_unit(&rng) * (bh_bbox[3] - bh_bbox[1]),
                              .created_at = 1577836800 + id * 60}; /* from 2020-01-01 */
            sg_case_create_submit(sv.store, &who, &in, &pend[k]);
        }
        for (long k = 0; k < m; k++)
            if (sg_case_create_wait(sv.store, &pend[k], NULL, msg, sizeof msg))
                die("create", msg);
        if ((i / WINDOW) % 400 == 0)
            fprintf(stderr, "\rbench_http: loading %ld/%ld cases", i, n_cases);
    }
    double cases_s = now_s() - t1;
    sg_service_close(&sv);
    load_s = now_s() - t0;
    fprintf(stderr, "\rbench_http: loaded %ld cases in %.1f s (cases alone %.1f s, %.0f/s)\n",
            n_cases, load_s, cases_s, n_cases / cases_s);
    snprintf(path, sizeof path, "%s/ready", dir);
    f = fopen(path, "w");
    if (f == NULL)
        die("cache", "cannot write the ready mark");
    fprintf(f, "%ld %.1f\n", n_cases, load_s);
    fclose(f);
    return load_s;
}

static long count_cases(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM cases", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* Codes of the areas that hold at least 50 cases, into *out (malloc'd). */
static size_t list_areas(const char *path, char (**out)[64])
{
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n = 0;
    char(*codes)[64] = calloc(1000, 64);
    if (codes == NULL || sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT a.code FROM area a WHERE (SELECT count(*) FROM "
                           "(SELECT 1 FROM cases c WHERE c.area_id = a.id LIMIT 50)) = 50 "
                           "ORDER BY a.code",
                           -1, &st, NULL) != SQLITE_OK)
        die("areas", "cannot list");
    while (n < 1000 && sqlite3_step(st) == SQLITE_ROW)
        snprintf(codes[n++], 64, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    *out = codes;
    return n;
}

/* ---- output ------------------------------------------------------------------------------ */

static void print_head(void)
{
    printf("%-34s %5s %8s %8s %8s %8s %6s %7s %6s %6s\n", "target", "conns", "req/s", "p50 ms",
           "p99 ms", "p99.9 ms", "ratio", "cpu us", "cpu x", "errors");
}

/* ratio: req/s over the ceiling's; cpu x: the ceiling's CPU per response over this
 * row's, the ratio the rows would have with the cores to themselves. */
static void print_row(const char *what, result r, const result *ceiling)
{
    char p999[16] = "-";
    if (r.p999_ms > 0)
        snprintf(p999, sizeof p999, "%.3f", r.p999_ms);
    printf("%-34s %5ld %8.0f %8.3f %8.3f %8s %6.2f %7.1f %6.2f %6ld\n", what, r.n_conns, r.rps,
           r.p50_ms, r.p99_ms, p999, ceiling ? r.rps / ceiling->rps : 1.0, r.cpu_us,
           ceiling && r.cpu_us > 0 ? ceiling->cpu_us / r.cpu_us : 1.0, r.n_bad + r.errors);
    fflush(stdout);
}

static void check_status(unsigned port, const char *method, const char *path, const char *key,
                         const char *body, const char *want)
{
    char cmd[1024], code[8] = "";
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' -X %s -H 'Authorization: Bearer %s' "
             "%s%s%s 'http://127.0.0.1:%u%s'",
             method, key, body ? "-H 'Content-Type: application/json' -d '" : "", body ? body : "",
             body ? "'" : "", port, path);
    FILE *p = popen(cmd, "r");
    if (p == NULL || fgets(code, sizeof code, p) == NULL || strcmp(code, want) != 0) {
        fprintf(stderr, "bench_http: %s %s answered %s, not %s\n", method, path, code, want);
        exit(1);
    }
    pclose(p);
}

/* SG_BENCH_ONLY (a list of ceiling, healthz, get, list, create, open) runs only those. */
static int wanted(const char *what)
{
    const char *only = getenv("SG_BENCH_ONLY");
    return only == NULL || strstr(only, what) != NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write", path);
}

int main(void)
{
    long n_cases = env_long("SG_BENCH_CASES", 1000000);
    long seconds = env_long("SG_BENCH_SECONDS", 10);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long threads = env_long("SG_BENCH_THREADS", cores);
    long conns = env_long("SG_BENCH_CONNS", 64);
    long c_threads = env_long("SG_BENCH_CREATE_THREADS", 256);
    long c_conns = env_long("SG_BENCH_CREATE_CONNS", 256);
    const char *sg_bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/rel/safegrid";
    if (system("wrk --version >/dev/null 2>&1") == -1)
        die("wrk", "cannot run a shell");

    FILE *devnull = fopen("/dev/null", "w");
    int log_on = getenv("SG_BENCH_NOLOG") == NULL;
    sg_log_setup(devnull, SG_LOG_WARN, 0);

    char cache[256], dir[300], path[400], cmd[2048], msg[256];
    snprintf(cache, sizeof cache, "build/bench/http-%ld", n_cases);
    int cached;
    double load_s = prepare_db(sg_bin, cache, n_cases, &cached);
    double t0 = now_s();
    snprintf(dir, sizeof dir, "%s.run", cache);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s'/safegrid.db* '%s'/", dir,
             dir, cache, dir);
    run(cmd);
    /* Write the copy out before measuring, so that its hundreds of megabytes do not reach
     * the disk during the first runs, by the kernel's writeback, and delay their syncs. */
    sync();
    double copy_s = now_s() - t0;
    snprintf(path, sizeof path, "%s/safegrid.db", dir);
    /* A what-if for the store: SQL run on the copy before the servers start, e.g. an index
     * the list might use. */
    const char *what_if = getenv("SG_BENCH_SQL");
    if (what_if) {
        sqlite3 *db;
        if (sqlite3_open(path, &db) != SQLITE_OK ||
            sqlite3_exec(db, what_if, NULL, NULL, NULL) != SQLITE_OK)
            die("SG_BENCH_SQL", sqlite3_errmsg(db));
        sqlite3_close(db);
    }
    long n_before = count_cases(path);
    char(*areas)[64];
    size_t n_areas = list_areas(path, &areas);
    if (n_before != n_cases || n_areas == 0)
        die("database", "not as loaded");

    sg_service sv;
    if (sg_service_open(path, &sv, msg, sizeof msg))
        die("open", msg);
    char key[SG_AUTH_KEY_MAX];
    int64_t key_id;
    if (sg_auth_apikey_add(sv.store, "bench", "supervisor", NULL, NULL, key, &key_id, NULL, msg,
                           sizeof msg))
        die("api key", msg);
    req_ctx q = {.key = key, .n_cases = n_cases, .areas = areas, .n_areas = n_areas};

    /* wrk scripts: random ids, cycling areas, varying places to create at. */
    char get_lua[512], list_lua[512], create_lua[512];
    snprintf(get_lua, sizeof get_lua, "%s/get.lua", dir);
    snprintf(list_lua, sizeof list_lua, "%s/list.lua", dir);
    snprintf(create_lua, sizeof create_lua, "%s/create.lua", dir);
    char *text = malloc(1 << 16);
    if (text == NULL)
        die("memory", "out");
    snprintf(text, 1 << 16,
             "wrk.headers[\"Authorization\"] = \"Bearer %s\"\n"
             "math.randomseed(7)\n"
             "request = function()\n"
             "  return wrk.format(nil, \"/api/v1/cases/\" .. math.random(1, %ld))\n"
             "end\n",
             key, n_cases);
    write_file(get_lua, text);
    size_t o = (size_t)snprintf(
        text, 1 << 16, "wrk.headers[\"Authorization\"] = \"Bearer %s\"\nlocal areas = {", key);
    for (size_t i = 0; i < n_areas && o < (1 << 16) - 200; i++)
        o += (size_t)snprintf(text + o, (1 << 16) - o, "%s\"%s\"", i ? "," : "", areas[i]);
    snprintf(text + o, (1 << 16) - o,
             "}\nlocal i = 0\nrequest = function()\n  i = i %% #areas + 1\n"
             "  return wrk.format(nil, \"/api/v1/cases?area=\" .. areas[i] .. \"&limit=50\")\n"
             "end\n");
    write_file(list_lua, text);
    o = (size_t)snprintf(text, 1 << 16,
                         "wrk.method = \"POST\"\n"
                         "wrk.headers[\"Authorization\"] = \"Bearer %s\"\n"
                         "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                         "local bodies = {",
                         key);
    for (uint64_t i = 0; i < 100; i++) {
        char b[160];
        create_body(i, b, sizeof b);
        o += (size_t)snprintf(text + o, (1 << 16) - o, "%s'%s'", i ? "," : "", b);
    }
    snprintf(text + o, (1 << 16) - o,
             "}\nlocal i = 0\nrequest = function()\n  i = i %% #bodies + 1\n"
             "  return wrk.format(nil, nil, nil, bodies[i])\nend\n");
    write_file(create_lua, text);
    free(text);

    /* The servers: safegrid for reads, the ceiling with the same threads, and safegrid with
     * many threads for creates. The access log goes to /dev/null (at INFO when on),
     * buffered as `safegrid serve` buffers it. */
    sg_log_setup(devnull, log_on ? SG_LOG_INFO : SG_LOG_WARN, 0);
    sg_log_set_buffered(200);
    sg_http *h, *hc;
    sg_http_opts ro = {
        .listen = "127.0.0.1:0",
        .threads = (unsigned)threads,
        .rate = -1,
        .key = sv.key,
    };
    if (sg_http_start(sv.store, &ro, &h, msg, sizeof msg))
        die("start", msg);
    sg_http_opts co = ro;
    co.threads = (unsigned)c_threads;
    co.max_conns = (unsigned)(c_conns + 64);
    if (sg_http_start(sv.store, &co, &hc, msg, sizeof msg))
        die("start (creates)", msg);

    unsigned port = sg_http_port(h), cport = sg_http_port(hc);
    /* Two ceilings: a 300-byte body, and one of the size of a list of 50 cases. */
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{size_download}' -H 'Authorization: Bearer %s' "
             "'http://127.0.0.1:%u/api/v1/cases?area=%s&limit=50'",
             key, port, areas[0]);
    FILE *p = popen(cmd, "r");
    long list_bytes = 0;
    if (p == NULL || fscanf(p, "%ld", &list_bytes) != 1 || list_bytes < 100)
        die("list", "cannot measure the size of a list answer");
    pclose(p);
    fixed small = fixed_make(300), big = fixed_make((size_t)list_bytes);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                         fixed_handler, &small, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                         MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
    struct MHD_Daemon *dbig =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                         fixed_handler, &big, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                         MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
    if (d == NULL || dbig == NULL)
        die("ceiling", "cannot start");
    unsigned ceil_port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    unsigned big_port = MHD_get_daemon_info(dbig, MHD_DAEMON_INFO_BIND_PORT)->port;

    /* Every route answers as expected before it is timed. */
    char one[64];
    snprintf(one, sizeof one, "/api/v1/cases/%ld", n_cases);
    check_status(port, "GET", "/api/v1/cases/1", key, NULL, "200");
    check_status(port, "GET", one, key, NULL, "200");
    snprintf(one, sizeof one, "/api/v1/cases?area=%s&limit=50", areas[0]);
    check_status(port, "GET", one, key, NULL, "200");
    char body[160];
    create_body(999999, body, sizeof body);
    check_status(cport, "POST", "/api/v1/cases", key, body, "201");
    long acked = 1;

    double load1 = 0;
    if (getloadavg(&load1, 1) != 1)
        load1 = -1;
    printf("bench_http: %ld cases (+ %zu areas with >= 50 cases listed), %s %.1f s; "
           "copied for this run in %.1f s\n",
           n_cases, n_areas, cached ? "loaded earlier (cached) in" : "loaded in", load_s, copy_s);
    if (what_if)
        printf("what-if SQL run on the copy first: %s\n", what_if);
    printf("loopback, %ld cores shared by the servers and the load generators; load average "
           "%.2f at the start; access log %s; audit log on\n",
           cores, load1, log_on ? "on (to /dev/null)" : "off");
    printf("reads: %ld server threads (epoll, thread pool), ceiling the same; wrk -t1 -c%ld "
           "-d%lds. creates: %ld server threads, %ld connections\n",
           threads, conns, seconds, c_threads, c_conns);
    print_head();

    result none = {0}, ceiling = none, ceiling_lua = none, get = none, list = none, create = none;
    if (wanted("ceiling")) {
        ceiling = run_wrk(ceil_port, "/", NULL, seconds, conns);
        print_row("ceiling (fixed JSON, MHD)", ceiling, NULL);
        ceiling_lua = run_wrk(ceil_port, "/", get_lua, seconds, conns);
        print_row("ceiling, Lua script", ceiling_lua, NULL);
    }
    if (wanted("healthz")) {
        result health = run_wrk(port, "/healthz", NULL, seconds, conns);
        print_row("GET /healthz", health, wanted("ceiling") ? &ceiling : NULL);
    }
    if (wanted("get")) {
        get = run_wrk(port, "/", get_lua, seconds, conns);
        print_row("GET /api/v1/cases/{id}", get, wanted("ceiling") ? &ceiling_lua : NULL);
    }
    result ceiling_big = none;
    if (wanted("list") && wanted("ceiling")) {
        ceiling_big = run_wrk(big_port, "/", list_lua, seconds, conns);
        snprintf(one, sizeof one, "ceiling, %ld-byte body, Lua", list_bytes);
        print_row(one, ceiling_big, NULL);
    }
    if (wanted("list")) {
        list = run_wrk(port, "/", list_lua, seconds, conns);
        print_row("GET /api/v1/cases?area=&limit=50", list,
                  wanted("ceiling") ? &ceiling_lua : NULL);
    }
    if (wanted("create")) {
        uint64_t c0, w0, c1, w1;
        sg_store_stats(sv.store, &c0, &w0);
        create = run_wrk(cport, "/api/v1/cases", create_lua, seconds, c_conns);
        sg_store_stats(sv.store, &c1, &w1);
        print_row("POST /api/v1/cases", create, NULL);
        printf("  group commits: %.0f/s carrying %.1f writes each\n",
               (double)(c1 - c0) / (double)seconds,
               c1 > c0 ? (double)(w1 - w0) / (double)(c1 - c0) : 0.0);
        acked += create.n_req - create.n_bad;
    }

    /* Open loop at half of each peak. */
    result oc = none, og = none, olist = none, ocr = none;
    if (wanted("open")) {
        if (getloadavg(&load1, 1) != 1)
            load1 = -1;
        printf("open loop at half the peak above (%ld s, first second not counted); load "
               "average %.2f\n",
               seconds, load1);
        print_head();
    }
    if (wanted("open") && ceiling.rps > 0) {
        oc =
            run_openloop(ceil_port, make_ceiling, &q, ceiling.rps / 2, (double)seconds, (int)conns);
        print_row("ceiling at half its peak", oc, NULL);
    }
    if (wanted("open") && get.rps > 0) {
        og = run_openloop(port, make_get, &q, get.rps / 2, (double)seconds, (int)conns);
        print_row("GET /api/v1/cases/{id}", og, NULL);
    }
    if (wanted("open") && list.rps > 0) {
        olist = run_openloop(port, make_list, &q, list.rps / 2, (double)seconds, (int)conns);
        print_row("GET /api/v1/cases?area=&limit=50", olist, NULL);
    }
    if (wanted("open") && create.rps > 0) {
        ocr = run_openloop(cport, make_create, &q, create.rps / 2, (double)seconds, (int)c_conns);
        print_row("POST /api/v1/cases", ocr, NULL);
        acked += ocr.n_req - ocr.n_bad;
    }
    if (getloadavg(&load1, 1) != 1)
        load1 = -1;
    printf("load average %.2f at the end\n", load1);

    MHD_stop_daemon(d);
    MHD_stop_daemon(dbig);
    free(small.body);
    free(big.body);
    sg_http_stop(hc);
    sg_http_stop(h);
    sg_service_close(&sv);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(devnull);

    long n_after = count_cases(path);
    printf("durability: %ld creates acknowledged with 201; the reopened store holds %ld cases "
           "more (%s)\n",
           acked, n_after - n_before,
           n_after - n_before >= acked ? "every acknowledged create is there" : "LOST CREATES");
    if (ceiling_lua.rps > 0)
        printf("targets: reads >= 0.5x ceiling: get %.2f, list %.2f (of the same-size ceiling); "
               "creates >= 5,000/s: %.0f; "
               "p99 < 10 ms at half peak: get %.2f, list %.2f, create %.2f ms\n",
               get.rps / ceiling_lua.rps, ceiling_big.rps > 0 ? list.rps / ceiling_big.rps : 0,
               create.rps, og.p99_ms, olist.p99_ms, ocr.p99_ms);
    free(areas);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return n_after - n_before >= acked ? 0 : 1;
}
