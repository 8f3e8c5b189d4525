/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid serve`: opens the store, starts the HTTP server and waits for SIGTERM or
 * SIGINT, then stops gracefully -- no new connections, requests in flight finish, and the
 * store's close commits whatever writes are queued. The signals are blocked in every
 * thread before the server's threads start and taken with sigwait() in the main thread,
 * so no code runs in a signal handler and no worker thread is interrupted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safegrid/http.h"
#include "safegrid/log.h"
#include "safegrid/service.h"
#include "safegrid/store.h"

static void usage(FILE *f)
{
    fputs("usage: safegrid serve --db PATH [--listen HOST:PORT] [--threads N]\n"
          "                      [--max-body BYTES] [--rate R --burst B] [--suppress-below K]\n"
          "                      [--cookie-secure] [--sensitive-grid M] [--web DIR]\n"
          "\n"
          "Serves the HTTP API of the database at PATH until SIGTERM or SIGINT.\n"
          "  --db PATH            the database (created if missing)\n"
          "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080; [::1]:8080\n"
          "                       for IPv6; port 0 picks a free port)\n"
          "  --threads N          worker threads (default: number of cores)\n"
          "  --max-body BYTES     largest request body accepted (default 1048576; over: 413)\n"
          "  --rate R             public requests per second per client address (default\n"
          "                       10; 0 turns the rate limit off)\n"
          "  --burst B            requests a client may make at once (default 2 x rate)\n"
          "  --suppress-below K   statistics hide counts 1..K-1 (default 5; 1: none)\n"
          "  --cookie-secure      mark the session cookie Secure (serving behind TLS)\n"
          "  --sensitive-grid M   round sensitive categories' locations in public outputs\n"
          "                       to an M-metre grid (100 to 100000; default 500)\n"
          "  --web DIR            serve the web UI's files from DIR (default: build/web if\n"
          "                       it exists; \"\" for none)\n"
          "The audit log is kept in the database (safegrid audit --help); the key for\n"
          "personal fields is PATH.key (made with mode 0600 if missing). Accounts:\n"
          "safegrid user add --help.\n"
          "Exit status: 0 after a clean stop, 1 if the server could not start, 2 for bad\n"
          "usage.\n",
          f);
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || errno || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int sg_serve_cli(int argc, char **argv)
{
    const char *db = NULL;
    sg_http_opts o = {.listen = "127.0.0.1:8080"};
    struct stat web;
    if (stat("build/web/index.html", &web) == 0)
        o.web_dir = "build/web";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--cookie-secure") == 0) {
            o.cookie_secure = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "safegrid serve: %s needs a value (or unknown option)\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        double d;
        if (strcmp(a, "--db") == 0) {
            db = v;
        } else if (strcmp(a, "--sensitive-grid") == 0) {
            if (parse_num(v, 100, 100000, &d))
                goto bad;
            o.sensitive_grid_m = d;
        } else if (strcmp(a, "--web") == 0) {
            o.web_dir = v;
        } else if (strcmp(a, "--listen") == 0) {
            o.listen = v;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_num(v, 1, 1024, &d) || d != (unsigned)d)
                goto bad;
            o.threads = (unsigned)d;
        } else if (strcmp(a, "--max-body") == 0) {
            if (parse_num(v, 1, 1e12, &d) || d != (double)(size_t)d)
                goto bad;
            o.max_body = (size_t)d;
        } else if (strcmp(a, "--rate") == 0) {
            if (parse_num(v, 0, 1e9, &d))
                goto bad;
            o.rate = d == 0 ? -1 : d;
        } else if (strcmp(a, "--burst") == 0) {
            if (parse_num(v, 1, 1e9, &d))
                goto bad;
            o.burst = d;
        } else if (strcmp(a, "--suppress-below") == 0) {
            if (parse_num(v, 1, 1e9, &d) || d != (int)d)
                goto bad;
            o.suppress_below = d == 1 ? -1 : (int)d;
        } else {
            fprintf(stderr, "safegrid serve: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "safegrid serve: bad value '%s' for %s\n", v, a);
        return 2;
    }
    if (db == NULL) {
        fprintf(stderr, "safegrid serve: --db PATH is required\n");
        usage(stderr);
        return 2;
    }

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
        fprintf(stderr, "safegrid serve: %s\n", msg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    sg_http *h = NULL;
    err = sg_http_start(s, &o, &h, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "safegrid serve: %s\n", msg);
        sg_service_close(&sv);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return err == SG_INVAL ? 2 : 1;
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
