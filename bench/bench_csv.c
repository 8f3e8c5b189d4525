/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * CSV reader benchmark: sg_csv (libcsv + line tracking + Latin-1 -> UTF-8 through iconv +
 * pull API) against two peers on the same file in the same run:
 *   - plain libcsv with counting callbacks and the same options (strict, spaces kept): the
 *     parser underneath doing nothing else, to show what the safegrid layer costs (line
 *     numbers, limits, conversion, copying each record out);
 *   - Python 3's csv module reading the file decoded as Latin-1 (what a quick import script
 *     would use), timed inside Python.
 * Every reader must count the same records and fields, so a fast wrong answer cannot pass.
 *
 * Data: OcorrenciasBH.csv (Debian libterralib-doc; 6,501 records, 16 fields, 0.8 MB,
 * `;`, Latin-1), read ROUNDS times from the page cache.
 *
 * Run: make build/rel/bench_csv && build/rel/bench_csv   (from the repository root)
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "safegrid/csv.h"

#define BH "/usr/share/doc/libterralib-dev/examples/data/OcorrenciasBH.csv"
#define ROUNDS 40

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct counts {
    long records, fields;
};

static void cb_field(void *s, size_t len, void *ud)
{
    (void)s;
    (void)len;
    ((struct counts *)ud)->fields++;
}

static void cb_row(int c, void *ud)
{
    (void)c;
    ((struct counts *)ud)->records++;
}

/* Same settings as sg_csv: strict quoting, spaces are data (no trimming). */
static int no_space(unsigned char ch)
{
    (void)ch;
    return 0;
}

static int run_libcsv(struct counts *c)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return -1;
    csv_set_delim(&p, ';');
    csv_set_space_func(&p, no_space);
    FILE *f = fopen(BH, "rb");
    if (f == NULL)
        return -1;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&p, buf, got, cb_field, cb_row, c) != got)
            return -1;
    csv_fini(&p, cb_field, cb_row, c);
    csv_free(&p);
    fclose(f);
    return 0;
}

static int run_sg(struct counts *c)
{
    sg_csv_opts o = {.delim = ';', .encoding = "LATIN1", .max_field = 0};
    sg_csv *r = NULL;
    char msg[256];
    if (sg_csv_open(BH, &o, &r, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return -1;
    }
    const char *const *f;
    size_t nf;
    long line;
    size_t hn;
    sg_csv_header(r, &f, &hn);
    c->records++; /* count the header like the peers do */
    c->fields += (long)hn;
    sg_err err;
    while ((err = sg_csv_next(r, &f, &nf, &line, msg, sizeof msg)) == SG_OK) {
        c->records++;
        c->fields += (long)nf;
    }
    sg_csv_free(r);
    return err == SG_NOTFOUND ? 0 : -1;
}

int main(void)
{
    struct stat st;
    if (stat(BH, &st) != 0) {
        fprintf(stderr, "bench_csv: %s missing (Debian libterralib-doc)\n", BH);
        return 1;
    }
    double mb = (double)st.st_size * ROUNDS / 1e6;
    struct counts a = {0, 0}, b = {0, 0};
    double t0 = now();
    for (int i = 0; i < ROUNDS; i++)
        if (run_sg(&a))
            return 1;
    double t_sg = now() - t0;
    t0 = now();
    for (int i = 0; i < ROUNDS; i++)
        if (run_libcsv(&b))
            return 1;
    double t_lib = now() - t0;
    if (a.records != b.records || a.fields != b.fields) {
        fprintf(stderr, "bench_csv: counts differ: sg %ld/%ld, libcsv %ld/%ld\n", a.records,
                a.fields, b.records, b.fields);
        return 1;
    }
    /* Python's csv module as the second peer, timed in-process by Python itself. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import csv,time\n"
             "t=time.perf_counter();r=n=0\n"
             "for _ in range(%d):\n"
             "  with open(\"%s\",newline=\"\",encoding=\"latin-1\") as f:\n"
             "    for row in csv.reader(f,delimiter=\";\",strict=True): r+=1;n+=len(row)\n"
             "print(time.perf_counter()-t,r,n)' 2>/dev/null",
             ROUNDS, BH);
    double t_py = -1;
    long py_r = 0, py_n = 0;
    FILE *p = popen(cmd, "r");
    if (p != NULL) {
        if (fscanf(p, "%lf %ld %ld", &t_py, &py_r, &py_n) != 3)
            t_py = -1;
        pclose(p);
    }
    printf("bench_csv: %s, %ld bytes x %d rounds = %.1f MB, %ld records, %ld fields\n", BH,
           (long)st.st_size, ROUNDS, mb, a.records, a.fields);
    printf("  sg_csv (LATIN1->UTF-8) %8.3f s  %7.1f MB/s  %9.0f records/s\n", t_sg, mb / t_sg,
           (double)a.records / t_sg);
    printf("  peer: libcsv alone     %8.3f s  %7.1f MB/s  %9.0f records/s  ratio sg/libcsv %.2f\n",
           t_lib, mb / t_lib, (double)b.records / t_lib, t_sg / t_lib);
    if (t_py > 0 && py_r == a.records && py_n == a.fields)
        printf("  peer: Python 3 csv     %8.3f s  %7.1f MB/s  %9.0f records/s  ratio sg/python "
               "%.2f\n",
               t_py, mb / t_py, (double)py_r / t_py, t_sg / t_py);
    else
        printf("  peer: Python 3 csv     not run (python3 missing or counts differ: %ld/%ld)\n",
               py_r, py_n);
    return 0;
}
