/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * I/O-fault test, black-box: the safegrid binary ($SG_BIN, the sanitised build in `make
 * check`) runs with tests/fault/failio.c preloaded, which fails its Nth write or sync of a
 * file (once, or from then on) or fills the disk after B bytes, for a range of N and B
 * measured from a run without faults. Both the CLI (`case new`) and the server (a
 * sequence of creates and moves over HTTP) are tried. Every run must:
 *
 * - answer each request with success or a clear error: the CLI exits 0, or 1 with one
 *   line on stderr; the server answers 2xx, or 5xx with the one JSON error shape, or
 *   refuses to start with exit status 1; it never crashes, hangs or trips a sanitizer;
 * - lose nothing acknowledged, and half-write nothing: after the run the store is opened
 *   again without the shim and checked as the crash test checks it (tests/fault/crash.h:
 *   every acknowledged case at its version, row and timeline agreeing, the audit log's
 *   entries matching the timelines, `audit verify` passing). A write that failed may
 *   still have committed (a sync that failed after SQLite wrote its commit frame); that
 *   is allowed, but the case must then be whole.
 *
 * SG_IOFAULT_FULL=1 tries every N instead of a spread (docs/faults.md has the figures of
 * such a run). ASan intercepts some libc calls; with verify_asan_link_order=0 it accepts
 * a shim before it, and the shim's calls reach libc through it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fault/crash.h"

#define OPS_PER_ROUND 12

static const char *bin;
static char shim[PATH_MAX];
static cr_run R;
static int full;
static char label[160]; /* the faults of the run being checked, for messages */

/* What the runs under faults did, for the report. */
static struct {
    long runs, failed_runs, errors, acked, ghosts, refused_start;
} tally;

static int setup(void **state)
{
    (void)state;
    bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/san/safegrid";
    full = getenv("SG_IOFAULT_FULL") && atoi(getenv("SG_IOFAULT_FULL")) != 0;
    const char *s = getenv("SG_FAILIO");
    if (realpath(s ? s : "build/rel/failio.so", shim) == NULL) {
        fprintf(stderr, "no shim at %s: make build/rel/failio.so\n", s ? s : "build/rel/failio.so");
        return -1;
    }
    memset(&R, 0, sizeof R);
    R.bin = bin;
    const char *base = getenv("TMPDIR");
    snprintf(R.dir, sizeof R.dir, "%s/sgiofault.XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(R.dir) == NULL)
        return -1;
    snprintf(R.db, sizeof R.db, "%s/io.db", R.dir);
    snprintf(R.err, sizeof R.err, "%s/serve.err", R.dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return bb_setup_db(bin, R.dir, R.db, R.key, sizeof R.key);
}

static int teardown(void **state)
{
    (void)state;
    printf("iofault: %ld runs under faults, %ld of them met a fault (%ld clear errors, %ld "
           "servers refused to start), %ld writes acknowledged, %ld failed writes that had "
           "committed, %ld cases checked at the end\n",
           tally.runs, tally.failed_runs, tally.errors, tally.refused_start, tally.acked,
           tally.ghosts, R.n_known > 0 ? R.stats.cases : 0L);
    free(R.known);
    curl_global_cleanup();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", R.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The environment of a run under the shim: fault settings f1, f2 (NULL for none). */
static void fault_env(char **env, char *buf, size_t n, const char *f1, const char *f2,
                      const char *report)
{
    int k = 0;
    snprintf(buf, n, "LD_PRELOAD=%s", shim);
    env[k++] = buf;
    env[k++] = "ASAN_OPTIONS=verify_asan_link_order=0";
    if (f1)
        env[k++] = (char *)f1;
    if (f2)
        env[k++] = (char *)f2;
    if (report)
        env[k++] = (char *)report;
    env[k] = NULL;
}

/* Counts of what the shim saw in a run: writes, syncs, bytes (from SG_FAIL_REPORT). */
static void read_report(const char *path, long *writes, long *syncs, long long *bytes)
{
    char buf[256];
    bb_slurp(path, buf, sizeof buf);
    assert_int_equal(sscanf(buf, "writes=%ld syncs=%ld bytes=%lld", writes, syncs, bytes), 3);
    unlink(path);
}

/* Opens the store again without the shim and checks everything known, allowing up to
 * ghosts cases that nobody saw acknowledged (each must be a whole, unmoved create). */
static void check_store(long ghosts)
{
    char why[2048] = "";
    bb_server srv;
    if (bb_serve(bin, R.db, R.dir, NULL, R.err, &srv) != 0)
        fail_msg("the store did not open again without faults (exit %d, log %s)", srv.status,
                 R.err);
    bb_http c;
    bb_http_init(&c, srv.port, R.key);
    long *ids = NULL, *vers = NULL;
    long listed = cr_list(&c, &ids, &vers, why, sizeof why);
    long unacked = 0;
    for (long i = 0; i < listed && !why[0]; i++) {
        cr_known *k = cr_at(&R, ids[i]);
        if (k->hi == 0) {
            if (++unacked > ghosts)
                cr_fail(why, sizeof why, "case %ld is there, but its create was not attempted",
                        ids[i]);
            else if (cr_check_case(&c, ids[i], 1, 1, why, sizeof why) == 1) {
                *k = (cr_known){1, 1};
                printf("iofault: %s: a create answered with an error had committed (case %ld)\n",
                       label, ids[i]);
            }
        }
    }
    tally.ghosts += unacked;
    R.stats.cases = 0;
    for (long id = 1; id < R.n_known && !why[0]; id++) {
        cr_known *k = &R.known[id];
        if (k->hi == 0)
            continue;
        long v = cr_check_case(&c, id, k->lo, k->hi, why, sizeof why);
        *k = (cr_known){v, v};
        R.stats.cases++;
    }
    if (!why[0] && listed != R.stats.cases)
        cr_fail(why, sizeof why, "%ld cases listed, %ld known", listed, R.stats.cases);
    if (!why[0])
        cr_check_audit(&R, why, sizeof why);
    if (!why[0])
        cr_verify(&R, why, sizeof why);
    free(ids);
    free(vers);
    bb_http_fini(&c);
    int st = bb_stop(&srv, SIGTERM);
    if (!why[0] && st != 0) {
        /* The end of the server's own log says why (the run's folder is removed after). */
        static char log[1 << 16];
        size_t len = bb_slurp(R.err, log, sizeof log);
        const char *tail = len > 600 ? log + len - 600 : log;
        cr_fail(why, sizeof why, "the server without faults exited with %d; its log ends: %s", st,
                tail);
    }
    if (!why[0] && bb_sanitizer_said(R.err))
        cr_fail(why, sizeof why, "sanitizer report in %s", R.err);
    if (why[0])
        fail_msg("%s (files kept in %s)", why, R.dir);
}

/* One `safegrid case new` under faults f1, f2. Returns 1 if it failed (clearly), else 0. */
static int cli_create(const char *f1, const char *f2)
{
    char pre[PATH_MAX + 16], outp[512], errp[512], out[1024], err[4096];
    char *env[8];
    fault_env(env, pre, sizeof pre, f1, f2, NULL);
    snprintf(outp, sizeof outp, "%s/cli.out", R.dir);
    snprintf(errp, sizeof errp, "%s/cli.err", R.dir);
    char *argv[] = {"safegrid", "case",    "new",   "--type", "request", "--category",
                    "pothole",  "--title", "fault", "--lon",  "-43.93",  "--lat",
                    "-19.92",   "--db",    R.db,    NULL};
    snprintf(label, sizeof label, "case new under %s %s", f1, f2 ? f2 : "");
    int rc = bb_run(bin, argv, env, outp, errp);
    bb_slurp(outp, out, sizeof out);
    bb_slurp(errp, err, sizeof err);
    tally.runs++;
    long id = 0;
    if (rc == 0 && sscanf(out, "case %ld created", &id) == 1 && id > 0) {
        *cr_at(&R, id) = (cr_known){1, 1};
        tally.acked++;
        return 0;
    }
    /* an error is exit status 1 and one line on stderr, the CLI's own (it names the
     * command: "safegrid case new: ...") */
    const char *nl = strchr(err, '\n');
    if (rc != 1 || strncmp(err, "safegrid case new: ", 19) != 0 || nl == NULL || nl[1] != '\0')
        fail_msg("case new under %s %s: exit %d, stdout \"%s\", stderr \"%s\"", f1, f2 ? f2 : "",
                 rc, out, err);
    tally.failed_runs++;
    tally.errors++;
    return 1;
}

static void test_cli_create_under_faults(void **state)
{
    (void)state;
    char pre[PATH_MAX + 16], rep[600], f[64], persist[] = "SG_FAIL_PERSIST=1";
    char *env[8];
    long writes, syncs;
    long long bytes;
    /* how many writes and syncs a create makes, without faults */
    snprintf(rep, sizeof rep, "SG_FAIL_REPORT=%s/report", R.dir);
    fault_env(env, pre, sizeof pre, NULL, NULL, rep);
    char *argv[] = {"safegrid", "case",    "new",   "--type", "request", "--category",
                    "pothole",  "--title", "probe", "--lon",  "-43.93",  "--lat",
                    "-19.92",   "--db",    R.db,    NULL};
    char outp[512], out[512];
    long id = 0;
    snprintf(outp, sizeof outp, "%s/cli.out", R.dir);
    assert_int_equal(bb_run(bin, argv, env, outp, NULL), 0);
    bb_slurp(outp, out, sizeof out);
    assert_int_equal(sscanf(out, "case %ld created", &id), 1);
    *cr_at(&R, id) = (cr_known){1, 1};
    read_report(rep + strlen("SG_FAIL_REPORT="), &writes, &syncs, &bytes);
    printf("iofault: a CLI create makes %ld writes and %ld syncs of %lld bytes\n", writes, syncs,
           bytes);
    assert_true(writes > 0 && syncs > 0);
    long ghosts = 0, failed_before = tally.failed_runs;
    long step = full ? 1 : (writes + 9) / 10;
    for (long n = 1; n <= writes + 1; n += step) {
        snprintf(f, sizeof f, "SG_FAIL_WRITE=%ld", n);
        ghosts += cli_create(f, NULL);
    }
    for (long n = 1; n <= syncs + 1; n++) {
        snprintf(f, sizeof f, "SG_FAIL_SYNC=%ld", n);
        ghosts += cli_create(f, NULL);
        ghosts += cli_create(f, persist);
    }
    int parts = full ? 32 : 4;
    for (long k = 0; k <= parts; k++) {
        snprintf(f, sizeof f, "SG_FAIL_ENOSPC=%lld", bytes * k / parts);
        ghosts += cli_create(f, NULL);
    }
    /* the shim reached the store: faults were met (else this test would test nothing) */
    assert_true(tally.failed_runs - failed_before >= 10);
    snprintf(label, sizeof label, "one of the CLI runs");
    check_store(ghosts);
}

/* One server run under faults f1, f2: start, OPS_PER_ROUND creates and moves, SIGTERM;
 * then the store is checked without faults. */
static void server_round(const char *f1, const char *f2, const char *report)
{
    char pre[PATH_MAX + 16], errp[600], buf[4096];
    char *env[8];
    fault_env(env, pre, sizeof pre, f1, f2, report);
    snprintf(errp, sizeof errp, "%s/round.err", R.dir);
    snprintf(label, sizeof label, "serve under %s %s", f1 ? f1 : "no fault", f2 ? f2 : "");
    unlink(errp);
    tally.runs++;
    bb_server srv;
    if (bb_serve(bin, R.db, R.dir, env, errp, &srv) != 0) {
        /* refusing to start is a clear error if it exits 1 saying why, on its last line */
        bb_slurp(errp, buf, sizeof buf);
        size_t len = strlen(buf);
        while (len > 0 && buf[len - 1] == '\n')
            buf[--len] = '\0';
        const char *last = strrchr(buf, '\n') ? strrchr(buf, '\n') + 1 : buf;
        if (srv.status != 1 || strncmp(last, "safegrid", 8) != 0 || !strstr(last, ": ") ||
            bb_sanitizer_said(errp))
            fail_msg("serve under %s %s: exit %d: %s", f1 ? f1 : "", f2 ? f2 : "", srv.status, buf);
        tally.failed_runs++;
        tally.refused_start++;
        check_store(0);
        return;
    }
    bb_http c;
    bb_http_init(&c, srv.port, R.key);
    long ghosts = 0, faults = 0;
    long mine[OPS_PER_ROUND];
    int n_mine = 0;
    unsigned seed = 7;
    for (int op = 0; op < OPS_PER_ROUND; op++) {
        if (n_mine == 0 || op % 3 == 0) {
            long st = bb_http_do(&c, "POST", "/api/v1/cases",
                                 "{\"category\":\"pothole\",\"title\":\"fault\","
                                 "\"lon\":-43.93,\"lat\":-19.92}");
            json_t *j = json_loads(c.body, 0, NULL);
            long id = (long)json_integer_value(json_object_get(j, "id"));
            json_decref(j);
            if (st == 201 && id > 0) {
                *cr_at(&R, id) = (cr_known){1, 1};
                mine[n_mine++] = id;
                tally.acked++;
            } else if (st >= 500 && st <= 599 && bb_is_error_shape(c.body)) {
                ghosts++;
                faults++;
            } else {
                fail_msg("create under %s %s answered %ld: %s %s", f1 ? f1 : "", f2 ? f2 : "", st,
                         c.body, c.cerr);
            }
        } else {
            int k = (int)(rand_r(&seed) % (unsigned)n_mine);
            long id = mine[k];
            cr_known *kn = cr_at(&R, id);
            long v = kn->lo;
            const char *to = cr_status_at(v + 1);
            char path[96], body[160];
            snprintf(path, sizeof path, "/api/v1/cases/%ld/transitions", id);
            snprintf(body, sizeof body, "{\"to\":\"%s\",\"version\":%ld%s}", to, v,
                     strcmp(to, "reopened") == 0 ? ",\"reason\":\"still broken\"" : "");
            long st = bb_http_do(&c, "POST", path, body);
            json_t *j = json_loads(c.body, 0, NULL);
            long nv = (long)json_integer_value(json_object_get(j, "version"));
            json_decref(j);
            if (st == 201 && nv == v + 1) {
                *kn = (cr_known){v + 1, v + 1};
                tally.acked++;
            } else if (st >= 500 && st <= 599 && bb_is_error_shape(c.body)) {
                /* it may have committed after all: this case is not moved again here */
                kn->hi = v + 1;
                mine[k] = mine[--n_mine];
                faults++;
            } else {
                fail_msg("move under %s %s answered %ld: %s %s", f1 ? f1 : "", f2 ? f2 : "", st,
                         c.body, c.cerr);
            }
        }
    }
    bb_http_fini(&c);
    int st = bb_stop(&srv, SIGTERM);
    bb_slurp(errp, buf, sizeof buf);
    /* the queued writes are committed at the stop, which may meet the fault: exit 1 then */
    if ((st != 0 && st != 1) || bb_sanitizer_said(errp))
        fail_msg("serve under %s %s exited with %d: %s", f1 ? f1 : "", f2 ? f2 : "", st, errp);
    tally.errors += faults;
    tally.failed_runs += faults > 0 || st != 0;
    check_store(ghosts);
}

static void test_server_under_faults(void **state)
{
    (void)state;
    char rep[600], f[64], persist[] = "SG_FAIL_PERSIST=1";
    long writes, syncs;
    long long bytes;
    snprintf(rep, sizeof rep, "SG_FAIL_REPORT=%s/report", R.dir);
    server_round(NULL, NULL, rep);
    read_report(rep + strlen("SG_FAIL_REPORT="), &writes, &syncs, &bytes);
    printf("iofault: a server run (start, %d creates and moves, stop) makes %ld writes and %ld "
           "syncs of %lld bytes\n",
           OPS_PER_ROUND, writes, syncs, bytes);
    assert_true(writes > 0 && syncs > 0);
    long failed_before = tally.failed_runs;
    long step = full ? 1 : (writes + 7) / 8;
    for (long n = 1; n <= writes + 1; n += step) {
        snprintf(f, sizeof f, "SG_FAIL_WRITE=%ld", n);
        server_round(f, NULL, NULL);
    }
    for (long n = 1; n <= syncs + 1; n += full ? 1 : 2) {
        snprintf(f, sizeof f, "SG_FAIL_SYNC=%ld", n);
        server_round(f, NULL, NULL);
        if (full || n % 8 == 1)
            server_round(f, persist, NULL);
    }
    for (long n = 1; full && n <= writes + 1; n++) {
        snprintf(f, sizeof f, "SG_FAIL_WRITE=%ld", n);
        server_round(f, persist, NULL);
    }
    int parts = full ? 32 : 4;
    for (int k = 0; k <= parts; k++) {
        snprintf(f, sizeof f, "SG_FAIL_ENOSPC=%lld", bytes * k / parts);
        server_round(f, NULL, NULL);
    }
    assert_true(tally.failed_runs - failed_before >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_create_under_faults),
        cmocka_unit_test(test_server_under_faults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
