/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A preloadable shim that makes every fsync and fdatasync take at least SG_SLOW_SYNC_MS
 * milliseconds longer (default 4), for benchmarks that ask how a design behaves on a disk
 * whose syncs are slow: the durable-write rows of bench_http depend on the sync time more
 * than on anything in safegrid, and the machine a benchmark runs on decides it (this one's
 * syncs took 0.2 ms on 2026-12-07, an earlier one's 4-8 ms). The delay is added after the
 * real call, so data is as durable as without the shim. Written here because no Debian
 * package adds latency to syncs without a kernel's device-mapper delay target, which this
 * machine lacks.
 *
 * Build: make build/rel/slowsync.so
 * Use:   LD_PRELOAD=build/rel/slowsync.so SG_SLOW_SYNC_MS=4 build/rel/bench_http
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long delay_ns(void)
{
    static long ns = -1;
    if (ns < 0) {
        const char *v = getenv("SG_SLOW_SYNC_MS");
        double ms = v ? atof(v) : 4.0;
        ns = ms > 0 ? (long)(ms * 1e6) : 0;
    }
    return ns;
}

/* Calls libc's sync function called name (looked up once into *real), then sleeps. */
static int sync_then_pause(const char *name, int (**real)(int), int fd)
{
    if (*real == NULL)
        *(void **)real = dlsym(RTLD_NEXT, name);
    int rc = (*real)(fd);
    long ns = delay_ns();
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (ns > 0 && nanosleep(&ts, &ts) != 0)
        ;
    return rc;
}

int fsync(int fd)
{
    static int (*real)(int);
    return sync_then_pause("fsync", &real, fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    return sync_then_pause("fdatasync", &real, fd);
}
