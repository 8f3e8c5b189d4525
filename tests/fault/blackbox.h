/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What the crash and I/O-fault tests share: running the safegrid binary as an operator
 * does (CLI commands, `safegrid serve` on a port the kernel picks) and talking to it with
 * libcurl, a real HTTP client. Nothing here includes a safegrid header: the fault tests
 * are black-box, against the interfaces README.md and docs/api.md document, so that they
 * keep testing the same promises while the store, CLI and HTTP layers are rebuilt under
 * them.
 *
 * Everything is static: each test program includes this once.
 */
#ifndef SAFEGRID_FAULT_BLACKBOX_H
#define SAFEGRID_FAULT_BLACKBOX_H

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A running `safegrid serve`. */
typedef struct bb_server {
    pid_t pid;
    unsigned port;
    int status; /* when it exited before serving: as bb_run returns it */
} bb_server;

static inline double bb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void bb_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Reads a whole small file into buf (NUL-terminated, truncated to n - 1 bytes). Returns
 * the length read, 0 if the file is missing. */
static inline size_t bb_slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    buf[len] = '\0';
    if (f)
        fclose(f);
    return len;
}

/* Runs bin with argv (argv[0] included, NULL-terminated) and the extra environment
 * entries env ("NAME=VALUE", NULL-terminated, may be NULL), stdout to out_path and stderr
 * to err_path (either may be NULL for /dev/null). Returns the exit status, or 128 + the
 * signal that ended it, or -1 if it could not be run. */
static inline int bb_run(const char *bin, char *const argv[], char *const env[],
                         const char *out_path, const char *err_path)
{
    fflush(NULL); /* or the child could write this process's buffered output a second time */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        for (int i = 0; env && env[i]; i++)
            putenv(env[i]);
        execv(bin, argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Starts `bin serve --db db` on 127.0.0.1 with a port the kernel picks, without the
 * public rate limit (the tests send bursts on purpose), with the extra environment env.
 * Its stdout goes to dir/serve.out, its stderr is appended to err_path. Waits up to
 * 60 s for the line that names the URL. Returns 0 and fills *out, or -1: if the server
 * exited by itself out->status says how, otherwise it is killed and out->status is -1. */
static inline int bb_serve(const char *bin, const char *db, const char *dir, char *const env[],
                           const char *err_path, bb_server *out)
{
    char outp[512];
    snprintf(outp, sizeof outp, "%s/serve.out", dir);
    unlink(outp);
    out->pid = 0;
    out->status = -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        for (int i = 0; env && env[i]; i++)
            putenv(env[i]);
        execl(bin, "safegrid", "serve", "--db", db, "--listen", "127.0.0.1:0", "--threads", "2",
              "--rate", "0", (char *)NULL);
        _exit(127);
    }
    char buf[4096];
    double t0 = bb_now();
    while (bb_now() - t0 < 60) {
        bb_slurp(outp, buf, sizeof buf);
        const char *u = strstr(buf, "http://127.0.0.1:");
        if (u && strchr(u + 17, '/')) { /* the whole port has been written */
            out->pid = pid;
            out->port = (unsigned)atoi(u + strlen("http://127.0.0.1:"));
            return out->port > 0 ? 0 : -1;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            out->pid = 0;
            out->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return -1; /* it exited before serving */
        }
        bb_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Sends sig to the server and waits for it; returns its exit status as bb_run does. */
static inline int bb_stop(bb_server *s, int sig)
{
    int st = 0;
    kill(s->pid, sig);
    while (waitpid(s->pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One HTTP client: a libcurl handle (kept alive between requests) and its last answer. */
typedef struct bb_http {
    CURL *h;
    unsigned port;
    char auth[160];
    char *body; /* NUL-terminated, grown as needed up to BB_BODY_MAX; owned */
    size_t len, cap;
    long status; /* 0 if no answer came (connection refused or reset, timeout) */
    char cerr[CURL_ERROR_SIZE];
} bb_http;

#define BB_BODY_MAX (64u << 20)

static inline size_t bb_http_sink(char *p, size_t size, size_t n, void *user)
{
    bb_http *c = user;
    size_t k = size * n;
    if (c->len + k + 1 > c->cap) {
        size_t cap = c->cap;
        while (cap < c->len + k + 1)
            cap *= 2;
        char *b = cap <= BB_BODY_MAX ? realloc(c->body, cap) : NULL;
        if (b == NULL)
            return 0; /* libcurl then fails the transfer */
        c->body = b;
        c->cap = cap;
    }
    memcpy(c->body + c->len, p, k);
    c->len += k;
    c->body[c->len] = '\0';
    return k;
}

static inline void bb_http_init(bb_http *c, unsigned port, const char *key)
{
    memset(c, 0, sizeof *c);
    c->h = curl_easy_init();
    c->cap = 1 << 16;
    c->body = malloc(c->cap);
    if (c->h == NULL || c->body == NULL)
        abort();
    c->body[0] = '\0';
    c->port = port;
    snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", key);
}

static inline void bb_http_fini(bb_http *c)
{
    if (c->h)
        curl_easy_cleanup(c->h);
    c->h = NULL;
    free(c->body);
    c->body = NULL;
}

/* Sends method path (with JSON body json, or none when NULL) and returns the status, 0
 * when no answer came. The body is in c->body. */
static inline long bb_http_do(bb_http *c, const char *method, const char *path, const char *json)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", c->port, path);
    struct curl_slist *hd = curl_slist_append(NULL, c->auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_reset(c->h);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
    if (json)
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, bb_http_sink);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->cerr);
    c->len = 0;
    c->body[0] = '\0';
    c->cerr[0] = '\0';
    c->status = 0;
    if (curl_easy_perform(c->h) == CURLE_OK)
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
    curl_slist_free_all(hd);
    return c->status;
}

/* True if body is exactly the API's one error shape: an object with a non-empty string
 * "error" and a non-empty string "message" and nothing else (docs/api.md, "Errors"). */
static inline int bb_is_error_shape(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *m = json_string_value(json_object_get(j, "message"));
    int ok = json_is_object(j) && json_object_size(j) == 2 && e && e[0] && m && m[0];
    json_decref(j);
    return ok;
}

/* Extracts the API key printed by `safegrid apikey add` ("key: sgk_...") from out. */
static inline int bb_parse_key(const char *out, char *key, size_t n)
{
    const char *k = strstr(out, "key: ");
    if (k == NULL)
        return -1;
    k += 5;
    size_t len = strcspn(k, " \r\n");
    if (len == 0 || len >= n)
        return -1;
    memcpy(key, k, len);
    key[len] = '\0';
    return 0;
}

/* Creates dir/db with the CLI: init, the request category "pothole" and a supervisor API
 * key (written to key). Returns 0, or -1 with what failed on stderr. */
static inline int bb_setup_db(const char *bin, const char *dir, const char *db, char *key, size_t n)
{
    char out[512], err[512], buf[4096];
    snprintf(out, sizeof out, "%s/setup.out", dir);
    snprintf(err, sizeof err, "%s/setup.err", dir);
    char *init[] = {"safegrid", "init", "--db", (char *)db, NULL};
    char *cat[] = {"safegrid", "category", "add",     "pothole",     "--type",
                   "request",  "--name",   "Pothole", "--deadlines", "1d,2d,5d,10d",
                   "--db",     (char *)db, NULL};
    char *ak[] = {"safegrid",   "apikey", "add",      "faults", "--role",
                  "supervisor", "--db",   (char *)db, NULL};
    char *const *steps[] = {init, cat, ak};
    for (int i = 0; i < 3; i++) {
        int rc = bb_run(bin, steps[i], NULL, out, err);
        if (rc != 0) {
            bb_slurp(err, buf, sizeof buf);
            fprintf(stderr, "setup: safegrid %s failed (%d): %s\n", steps[i][1], rc, buf);
            return -1;
        }
    }
    bb_slurp(out, buf, sizeof buf);
    return bb_parse_key(buf, key, n);
}

/* Runs `safegrid audit verify --db db`; returns its exit status and leaves its output
 * (stdout then stderr) in msg. */
static inline int bb_audit_verify(const char *bin, const char *dir, const char *db, char *msg,
                                  size_t n)
{
    char out[512], err[512], e[1024];
    snprintf(out, sizeof out, "%s/verify.out", dir);
    snprintf(err, sizeof err, "%s/verify.err", dir);
    char *argv[] = {"safegrid", "audit", "verify", "--db", (char *)db, NULL};
    int rc = bb_run(bin, argv, NULL, out, err);
    bb_slurp(out, msg, n);
    bb_slurp(err, e, sizeof e);
    size_t l = strlen(msg);
    snprintf(msg + l, n - l, "%s", e);
    return rc;
}

/* True if the text of file path shows a sanitizer report. */
static inline int bb_sanitizer_said(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int said = 0;
    while (f && !said && getline(&line, &cap, f) > 0)
        said = strstr(line, "ERROR: AddressSanitizer") || strstr(line, "ERROR: LeakSanitizer") ||
               strstr(line, "runtime error:");
    free(line);
    if (f)
        fclose(f);
    return said;
}

#endif
