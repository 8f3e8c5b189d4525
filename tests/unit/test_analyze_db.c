/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of `safegrid analyze ... --db`: the analyses run over the cases of a database.
 * The database is Belo Horizonte's, built through the CLI (240 neighbourhoods, 6,501
 * occurrences). Gi* over it must equal R spdep::localG on the same counts and polygons
 * (tests/fixtures/stats/spdep/bh_localG.csv, made by the R script beside it); the surge
 * input must show the 151 dates of the source with April 2001 missing (DESIGN.md); the
 * scan input must hold the 6,494 occurrences that lie in a neighbourhood (6,501 less the
 * 7 that the SpatiaLite join of tests/fixtures/geo puts in none).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>

#include "testutil.h"

#define DATA "/usr/share/doc/libterralib-dev/examples/data/"
#define BH_SRS                                                                                     \
    "+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA "           \
    "+towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"

static char dir[256], db[300];
static const char *bin;

static int run(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t n, const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>%s/err", bin, args, dir);
    return tu_run(cmd, out, n);
}

static int setup(void **state)
{
    (void)state;
    bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/san/safegrid";
    tu_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/bh.db", dir);
    char out[4096];
    if (run(out, sizeof out, "init --db %s", db) != 0 ||
        run(out, sizeof out,
            "import areas " DATA "BairroBH.MIF --code CDBAI --name nobai --srs '" BH_SRS
            "' --db %s",
            db) != 0 ||
        run(out, sizeof out,
            "import cases " DATA "OcorrenciasBH.csv --delimiter ';' --encoding LATIN1 --type "
            "incident --category Nat --create-categories --x X --y Y --srs '" BH_SRS
            "' --time DataHora --time-format '%%d/%%m/%%Y %%H:%%M:%%S' --tz America/Sao_Paulo "
            "--id COD --log-level warn --db %s",
            db) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static void test_gistar_equals_spdep(void **state)
{
    (void)state;
    static char out[1 << 20];
    assert_int_equal(run(out, sizeof out, "analyze gistar --db %s --perm 0", db), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (j == NULL)
        fail_msg("not JSON: %s", je.text);
    json_t *res = json_object_get(j, "results");
    assert_int_equal(json_array_size(res), 240);
    /* The fixture numbers polygons in file order; BairroBH.MID holds their codes in the
     * same order ("name","code",population per line). */
    char codes[241][16];
    FILE *mid = fopen(DATA "BairroBH.MID", "r");
    assert_non_null(mid);
    char line[256];
    int k = 0;
    while (k < 240 && fgets(line, sizeof line, mid)) {
        char *q = strchr(line, ',');
        assert_non_null(q);
        snprintf(codes[k++], sizeof codes[0], "%.*s", (int)strcspn(q + 2, "\""), q + 2);
    }
    fclose(mid);
    assert_int_equal(k, 240);
    FILE *fx = fopen("tests/fixtures/stats/spdep/bh_localG.csv", "r");
    assert_non_null(fx);
    assert_non_null(fgets(line, sizeof line, fx)); /* header */
    int compared = 0;
    double worst = 0;
    while (fgets(line, sizeof line, fx)) {
        /* index,"name",count,"queen","rook","G",... : G is the 6th field */
        int idx = atoi(line);
        char *p = line;
        int field = 0, inq = 0;
        for (; *p && field < 5; p++) {
            if (*p == '"')
                inq = !inq;
            else if (*p == ',' && !inq)
                field++;
        }
        double g = strtod(p + (*p == '"'), NULL);
        const char *code = codes[idx - 1];
        for (size_t i = 0; i < json_array_size(res); i++) {
            json_t *r = json_array_get(res, i);
            if (strcmp(json_string_value(json_object_get(r, "id")), code) == 0) {
                double z = json_real_value(json_object_get(r, "z"));
                if (fabs(z - g) > worst)
                    worst = fabs(z - g);
                compared++;
            }
        }
    }
    fclose(fx);
    json_decref(j);
    assert_int_equal(compared, 240);
    if (worst > 1e-9)
        fail_msg("largest difference from spdep::localG: %g", worst);
}

static void test_surge_sees_the_missing_april(void **state)
{
    (void)state;
    static char out[1 << 20];
    assert_int_equal(run(out, sizeof out, "analyze surge --db %s --tz America/Sao_Paulo", db), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "first_day")), "2001-01-01");
    assert_string_equal(json_string_value(json_object_get(j, "last_day")), "2001-06-30");
    /* 181 days from 1 January to 30 June; 151 of them have cases; the 30 of April none. */
    assert_int_equal(json_integer_value(json_object_get(j, "days")), 151);
    json_t *missing = json_object_get(j, "missing_days");
    assert_int_equal(json_array_size(missing), 30);
    assert_string_equal(json_string_value(json_array_get(missing, 0)), "2001-04-01");
    assert_string_equal(json_string_value(json_array_get(missing, 29)), "2001-04-30");
    json_decref(j);
}

static void test_scan_input(void **state)
{
    (void)state;
    char keep[320], out[4096], cmd[600];
    snprintf(keep, sizeof keep, "%s/scan", dir);
    assert_int_equal(run(NULL, 0,
                         "analyze scan --db %s --tz America/Sao_Paulo --reps 9 --quiet "
                         "--keep %s",
                         db, keep),
                     0);
    snprintf(cmd, sizeof cmd, "wc -l < %s/cases.cas", keep);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_int_equal(atoi(out), 6494);
    snprintf(cmd, sizeof cmd, "grep -c '2001/04/' %s/cases.cas", keep);
    tu_run(cmd, out, sizeof out);
    assert_int_equal(atoi(out), 0);
    snprintf(cmd, sizeof cmd, "grep -E '^(Start|End)Date' %s/analysis.prm", keep);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "StartDate=2001/01/01\nEndDate=2001/06/30\n");
}

static void test_errors(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run(out, sizeof out, "analyze gistar --db %s --level city", db), 2);
    assert_int_equal(run(out, sizeof out, "analyze gistar --db %s --from yesterday", db), 2);
    assert_int_equal(run(out, sizeof out, "analyze gistar --db %s --tz Mars/Olympus", db), 1);
    assert_int_equal(run(out, sizeof out, "analyze gistar --db %s --level county", db), 1);
    assert_int_equal(run(out, sizeof out, "analyze gistar --db %s --category nope", db), 1);
    assert_int_equal(run(out, sizeof out, "analyze gistar --db"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gistar_equals_spdep),
        cmocka_unit_test(test_surge_sees_the_missing_april),
        cmocka_unit_test(test_scan_input),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("analyze_db", tests, setup, teardown);
}
