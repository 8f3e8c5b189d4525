/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Time parsing benchmark: sg_time_parse with the IANA zone America/Sao_Paulo against the
 * C library doing the same job, strptime + mktime with TZ=America/Sao_Paulo set for the
 * process (the way that safegrid avoids because it is not thread-safe, but the obvious
 * peer for speed). Both must give the same Unix seconds for every string (tm_isdst = -1
 * lets mktime choose in the one ambiguous hour; the 3 BH records in it may differ, and are
 * counted and reported).
 *
 * Data: the 6,501 DataHora values of OcorrenciasBH.csv (Debian libterralib-doc), e.g.
 * "1/1/2001 00:23:00", parsed ROUNDS times.
 *
 * Run: make build/rel/bench_timefmt && build/rel/bench_timefmt   (from the repository root)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safegrid/csv.h"
#include "safegrid/timefmt.h"

#define BH "/usr/share/doc/libterralib-dev/examples/data/OcorrenciasBH.csv"
#define ROUNDS 50
#define FMT "%d/%m/%Y %H:%M:%S"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    sg_csv_opts o = {.delim = ';', .encoding = "LATIN1", .max_field = 0};
    sg_csv *r = NULL;
    char msg[256];
    if (sg_csv_open(BH, &o, &r, msg, sizeof msg)) {
        fprintf(stderr, "bench_timefmt: %s\n", msg);
        return 1;
    }
    int col = sg_csv_column(r, "DataHora");
    size_t n = 0, cap = 8192;
    char **s = malloc(cap * sizeof(*s));
    const char *const *f;
    size_t nf;
    long line;
    while (sg_csv_next(r, &f, &nf, &line, msg, sizeof msg) == SG_OK && n < cap)
        s[n++] = strdup(f[col]);
    sg_csv_free(r);
    int64_t *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));

    double t0 = now();
    for (int k = 0; k < ROUNDS; k++)
        for (size_t i = 0; i < n; i++)
            if (sg_time_parse(s[i], FMT, "America/Sao_Paulo", &a[i], msg, sizeof msg)) {
                fprintf(stderr, "bench_timefmt: %s\n", msg);
                return 1;
            }
    double t_sg = now() - t0;

    setenv("TZ", "America/Sao_Paulo", 1);
    tzset();
    t0 = now();
    for (int k = 0; k < ROUNDS; k++)
        for (size_t i = 0; i < n; i++) {
            struct tm tm;
            memset(&tm, 0, sizeof tm);
            const char *end = strptime(s[i], FMT, &tm);
            if (end == NULL || *end != '\0')
                return 1;
            tm.tm_isdst = -1;
            b[i] = (int64_t)mktime(&tm);
        }
    double t_libc = now() - t0;
    size_t differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += a[i] != b[i];
    double calls = (double)n * ROUNDS;
    printf("bench_timefmt: %zu BH DataHora strings x %d rounds, format \"%s\", zone "
           "America/Sao_Paulo\n",
           n, ROUNDS, FMT);
    printf("  sg_time_parse              %7.3f s  %6.0f ns/parse\n", t_sg, t_sg / calls * 1e9);
    printf("  peer: strptime+mktime(TZ)  %7.3f s  %6.0f ns/parse  ratio sg/libc %.2f\n", t_libc,
           t_libc / calls * 1e9, t_sg / t_libc);
    printf("  results differing: %zu of %zu (ambiguous local times resolved differently)\n", differ,
           n);
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
    free(a);
    free(b);
    return differ > 3 ? 1 : 0;
}
