/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The long form of the crash test (tests/unit/test_crash.c runs 10 trials in `make
 * check`): 100 trials of SIGKILL during a stream of creates and moves against the release
 * binary, build/rel/safegrid, with the checks of tests/fault/crash.h after each restart.
 * It is a benchmark only in that `make bench` runs it; it exits 1 if anything
 * acknowledged was lost or half-written. SG_CRASH_TRIALS, SG_CRASH_SEED and SG_BIN change
 * the count, the seed and the binary. Figures are in docs/faults.md.
 */
#include "../tests/fault/crash.h"

int main(void)
{
    const char *bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/rel/safegrid";
    const char *t = getenv("SG_CRASH_TRIALS");
    const char *s = getenv("SG_CRASH_SEED");
    int trials = t ? atoi(t) : 100;
    unsigned seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    if (trials <= 0) {
        fprintf(stderr, "bench_crash: SG_CRASH_TRIALS must be a positive number\n");
        return 2;
    }
    printf("crash: seed %u\n", seed);
    cr_stats st;
    char why[2048];
    int rc = cr_run_all(bin, trials, 10, seed, 20, 1500, 0, 1, &st, why, sizeof why);
    cr_print(stdout, bin, &st);
    if (rc != 0) {
        printf("crash: FAILED: %s\n", why);
        return 1;
    }
    printf("crash: every acknowledged write was there after each restart, no case was "
           "half-written, the audit chain verified each time\n");
    return 0;
}
