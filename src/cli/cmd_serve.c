/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid serve`: opens the store, starts the HTTP server and waits for SIGTERM or
 * SIGINT, then stops gracefully -- no new connections, requests in flight finish, and the
 * store's close commits whatever writes are queued. The signals are blocked in every
 * thread before the server's threads start and taken with sigwait() in the main thread,
 * so no code runs in a signal handler and no worker thread is interrupted. Its options
 * are settings of the [http] section, so a deployment keeps them in its --config file.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "safegrid/http.h"
#include "safegrid/log.h"
#include "safegrid/service.h"
#include "safegrid/store.h"

/* The web UI's folder when neither --web nor http.web names one: the first of these,
 * relative to the folder of the running program, that holds an index.html. So
 * build/rel/safegrid finds build/web, and /usr/bin/safegrid /usr/share/safegrid/web,
 * wherever the server is started from. */
static const char *const web_near_exe[] = {"../web", "web", "../share/safegrid/web"};

static int find_web(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return -1;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    for (size_t i = 0; i < sizeof web_near_exe / sizeof web_near_exe[0]; i++) {
        struct stat st;
        char index[PATH_MAX + 64];
        int w = snprintf(out, n, "%s/%s", exe, web_near_exe[i]);
        if (w < 0 || (size_t)w >= n)
            continue;
        w = snprintf(index, sizeof index, "%s/index.html", out);
        if (w > 0 && (size_t)w < sizeof index && stat(index, &st) == 0)
            return 0;
    }
    return -1;
}

/* Reads the number option name (or its setting) into *out: 1 when it is set and within
 * [lo, hi], 0 when it is not set, -1 after reporting a bad value. */
static int number(const cli *c, const char *name, double lo, double hi, int whole, double *out)
{
    const char *v = cli_opt_value(c, name);
    if (v == NULL)
        return 0;
    if (cli_parse_double(v, out) || !(*out >= lo && *out <= hi) ||
        (whole && *out != (double)(long long)*out)) {
        cli_usage_error(c, "bad value '%s' for --%s", v, name);
        return -1;
    }
    return 1;
}

static int cmd_serve(cli *c)
{
    const char *db = sg_config_get(c->cfg, "store.db", NULL);
    if (db == NULL)
        return cli_usage_error(c, "--db PATH (or the setting store.db) is required");
    sg_http_opts o = {.listen = cli_opt_value(c, "listen")};
    if (o.listen == NULL)
        o.listen = "127.0.0.1:8080";
    double d;
    int k;
    if ((k = number(c, "sensitive-grid", 100, 100000, 0, &d)) > 0)
        o.sensitive_grid_m = d;
    if (k >= 0 && (k = number(c, "threads", 1, 1024, 1, &d)) > 0)
        o.threads = (unsigned)d;
    if (k >= 0 && (k = number(c, "max-body", 1, 1e12, 1, &d)) > 0)
        o.max_body = (size_t)d;
    if (k >= 0 && (k = number(c, "rate", 0, 1e9, 0, &d)) > 0)
        o.rate = d == 0 ? -1 : d;
    if (k >= 0 && (k = number(c, "burst", 1, 1e9, 0, &d)) > 0)
        o.burst = d;
    if (k >= 0 && (k = number(c, "suppress-below", 1, 1e9, 1, &d)) > 0)
        o.suppress_below = d == 1 ? -1 : (int)d;
    if (k < 0)
        return CLI_USAGE;
    if (sg_config_get_bool(c->cfg, "http.cookie_secure", 0, &o.cookie_secure) != SG_OK)
        return cli_usage_error(c, "http.cookie_secure must be true or false");
    char web[PATH_MAX];
    o.web_dir = cli_opt_value(c, "web");
    if (o.web_dir == NULL && find_web(web, sizeof web) == 0)
        o.web_dir = web;
    if (o.web_dir && o.web_dir[0] == '\0')
        o.web_dir = NULL;

    /* Block the stop signals before any thread starts, so that every thread inherits the
     * mask and only sigwait() below receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &set, &old);

    char msg[256];
    sg_service sv;
    sg_err err = sg_service_open(db, &sv, msg, sizeof msg);
    sg_store *s = sv.store;
    o.key = sv.key;
    if (err) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return cli_fail("%s", msg);
    }
    sg_http *h = NULL;
    err = sg_http_start(s, &o, &h, msg, sizeof msg);
    if (err) {
        sg_service_close(&sv);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        cli_fail("%s", msg);
        return err == SG_INVAL ? CLI_USAGE : 1;
    }
    char host[256];
    snprintf(host, sizeof host, "%s", o.listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    /* The access log is written in batches, a fifth of a second at most behind. */
    sg_log_set_buffered(200);
    printf("safegrid: serving %s on http://%s:%u/ (%u threads); stop with Ctrl-C or SIGTERM\n", db,
           host[0] ? host : "0.0.0.0", sg_http_port(h), sg_http_threads(h));
    fflush(stdout);

    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    sg_log(SG_LOG_INFO, "serve.stop", "signal %d: draining requests in flight", sig);
    sg_http_stop(h);
    sg_log_set_buffered(0);
    sg_service_close(&sv);
    sg_log(SG_LOG_INFO, "serve.stop", "store closed");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

/* ---- command table ---------------------------------------------------------------------- */

static const cli_cmd cmds[] = {
    CLI_CMD(
        "serve", NULL, cmd_serve,
        "serve --db PATH [--listen HOST:PORT] [--threads N] [--web DIR] [options]",
        "Serves the HTTP API and the web UI of the database until SIGTERM or SIGINT, then\n"
        "stops gracefully. Every option is also a setting of the [http] section of the\n"
        "--config file (listen, threads, max_body, rate, burst, suppress_below,\n"
        "cookie_secure, sensitive_grid, web); the option wins. The web UI is served from\n"
        "--web DIR, else from the first of ../web, web and ../share/safegrid/web beside the\n"
        "program that holds an index.html (build/rel/safegrid finds build/web); --web ''\n"
        "serves none. The audit log is kept in the database (safegrid audit --help); the\n"
        "key for personal fields is PATH.key (made with mode 0600 if missing). Accounts:\n"
        "safegrid user add --help. Exit status: 0 after a clean stop, 1 if the server could\n"
        "not start, 2 for bad usage.",
        0, 0,
        {"listen", 0, "HOST:PORT",
         "address (default 127.0.0.1:8080; [::1]:8080 for IPv6; port 0: any free)", "http.listen"},
        {"threads", 0, "N", "worker threads (default: number of cores)", "http.threads"},
        {"max-body", 0, "BYTES", "largest request body accepted (default 1048576; over: 413)",
         "http.max_body"},
        {"rate", 0, "R", "public requests per second per client address (default 10; 0: no limit)",
         "http.rate"},
        {"burst", 0, "B", "requests a client may make at once (default 2 x rate)", "http.burst"},
        {"suppress-below", 0, "K", "statistics hide counts 1..K-1 (default 5; 1: none)",
         "http.suppress_below"},
        {"cookie-secure", 0, NULL, "mark the session cookie Secure (serving behind TLS)",
         "http.cookie_secure"},
        {"sensitive-grid", 0, "M",
         "round sensitive categories' locations in public outputs to an M-metre grid "
         "(100 to 100000; default 500)",
         "http.sensitive_grid"},
        {"web", 0, "DIR", "serve the web UI's files from DIR ('' for none)", "http.web"}),
};

const cli_group cli_serve_group = CLI_GROUP(cmds);
