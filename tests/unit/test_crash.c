/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Crash test, black-box: `safegrid serve` ($SG_BIN, the sanitised build in `make check`)
 * is killed with SIGKILL at random moments of a stream of creates and moves from four
 * client threads, then started again on the same database; every acknowledged write must
 * be there, nothing unacknowledged half-written, and the audit chain must verify. The
 * trial and its checks are in tests/fault/crash.h, shared with bench/bench_crash.c, which
 * runs the long form (100 trials). SG_CRASH_TRIALS (default 10) and SG_CRASH_SEED (default
 * the time) change this one; the seed is printed so that a failure can be replayed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fault/crash.h"

static void test_crash_trials(void **state)
{
    (void)state;
    const char *bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/san/safegrid";
    const char *t = getenv("SG_CRASH_TRIALS");
    const char *s = getenv("SG_CRASH_SEED");
    int trials = t ? atoi(t) : 10;
    unsigned seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    assert_true(trials > 0);
    printf("crash: seed %u\n", seed);
    cr_stats st;
    char why[2048];
    int rc = cr_run_all(bin, trials, 10, seed, 20, 1500, 0, 0, &st, why, sizeof why);
    cr_print(stdout, bin, &st);
    if (rc != 0)
        fail_msg("%s", why);
    /* a run that acknowledged nothing tested nothing (a trial may: the kill can come first) */
    assert_true(st.acked_writes > 0);
}

/* The checks must see a loss: deleting the WAL after the kill throws away every write
 * since the last checkpoint, acknowledged ones included, and the run must fail saying so. */
static void test_crash_sees_loss(void **state)
{
    (void)state;
    const char *bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/san/safegrid";
    cr_stats st;
    char why[2048];
    int rc = cr_run_all(bin, 1, 1, 1, 300, 600, 1, 0, &st, why, sizeof why);
    printf("crash with the WAL deleted: %s\n", why);
    assert_int_equal(rc, -1);
    assert_true(st.acked_writes > 0);
    /* with no checkpoint since the start every case is gone ("0 cases listed"); after one,
     * the later cases or versions are: either way the message names what is missing */
    assert_true(strstr(why, "cases listed") != NULL || strstr(why, "GET answered 404") != NULL ||
                strstr(why, "version") != NULL);
    /* the run keeps its files on failure; this failure was wanted */
    char *dir = strstr(why, "files kept in ");
    if (dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)strcspn(dir + 14, ")"), dir + 14);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_trials),
        cmocka_unit_test(test_crash_sees_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
