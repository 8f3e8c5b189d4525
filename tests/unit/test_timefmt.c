/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of time parsing and formatting. Zone answers come from Python's zoneinfo
 * (tests/fixtures/timefmt/make_expected.py -> cases.txt, bh_times.txt); fixed-offset and
 * calendar answers are worked out by hand in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/csv.h"
#include "safegrid/timefmt.h"

#define BH_CSV "/usr/share/doc/libterralib-dev/examples/data/OcorrenciasBH.csv"

static int64_t parse_ok(const char *s, const char *fmt, const char *tz)
{
    int64_t t = 0;
    char msg[256] = "";
    sg_err err = sg_time_parse(s, fmt, tz, &t, msg, sizeof msg);
    if (err)
        fail_msg("sg_time_parse(\"%s\", \"%s\", %s): %s", s, fmt, tz ? tz : "NULL", msg);
    return t;
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(sg_time_format(0, buf, sizeof buf), SG_OK);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    /* 2001-01-01: 31 years after 1970 with 8 leap days (72, 76, ..., 2000) = 11323 days
     * = 978307200 s; + 23 min = 978308580. */
    assert_int_equal(sg_time_format(978308580, buf, sizeof buf), SG_OK);
    assert_string_equal(buf, "2001-01-01T00:23:00Z");
    assert_int_equal(sg_time_format(-1, buf, sizeof buf), SG_OK);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    /* 2000-02-29 (a leap day, divisible by 400): 951782400. */
    assert_int_equal(sg_time_format(951782400, buf, sizeof buf), SG_OK);
    assert_string_equal(buf, "2000-02-29T00:00:00Z");
    /* 9999-12-31T23:59:59Z = 253402300799 (the RFC 3339 maximum). */
    assert_int_equal(sg_time_format(253402300799, buf, sizeof buf), SG_OK);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    strcpy(buf, "unchanged");
    assert_int_equal(sg_time_format(253402300800, buf, sizeof buf), SG_INVAL);
    assert_int_equal(sg_time_format(0, buf, 20), SG_INVAL);
    assert_string_equal(buf, "unchanged");
    assert_int_equal(sg_time_from_civil(2001, 1, 1, 0, 23, 0), 978308580);
}

static void test_patterns_utc_and_offsets(void **state)
{
    (void)state;
    /* BH style, with and without zero padding. */
    assert_int_equal(parse_ok("1/1/2001 00:23:00", "%d/%m/%Y %H:%M:%S", NULL), 978308580);
    assert_int_equal(parse_ok("01/01/2001 00:23:00", "%d/%m/%Y %H:%M:%S", "UTC"), 978308580);
    assert_int_equal(parse_ok("1/1/2001 0:23:0", "%d/%m/%Y %H:%M:%S", ""), 978308580);
    /* A space in the format matches a run of blanks; trailing blanks are allowed. */
    assert_int_equal(parse_ok("1/1/2001   00:23:00  ", "%d/%m/%Y %H:%M:%S", NULL), 978308580);
    /* Fixed offsets: 00:23 at -03:00 is 03:23Z = 978308580 + 10800. */
    assert_int_equal(parse_ok("1/1/2001 00:23:00", "%d/%m/%Y %H:%M:%S", "-03:00"), 978319380);
    assert_int_equal(parse_ok("1/1/2001 00:23:00", "%d/%m/%Y %H:%M:%S", "-0300"), 978319380);
    assert_int_equal(parse_ok("1/1/2001 00:23:00", "%d/%m/%Y %H:%M:%S", "-03"), 978319380);
    /* +05:30: 00:23 local is 18:53Z the day before = 978308580 - 19800. */
    assert_int_equal(parse_ok("1/1/2001 00:23:00", "%d/%m/%Y %H:%M:%S", "+05:30"), 978288780);
    /* %z in the string overrides tz. */
    assert_int_equal(parse_ok("2001-01-01 00:23:00 -0300", "%F %T %z", "+05:30"), 978319380);
    /* Other directives: 2-digit year, month names, 12-hour clock, %%. */
    assert_int_equal(parse_ok("01 jan 01 12:23 AM", "%d %b %y %I:%M %p", NULL), 978308580);
    assert_int_equal(parse_ok("1 January 2001, 12:23am", "%d %B %Y, %I:%M%p", NULL), 978308580);
    /* 12:00 PM is noon: 978307200 + 43200. */
    assert_int_equal(parse_ok("2001-01-01 12:00 PM", "%Y-%m-%d %I:%M %p", NULL), 978350400);
    assert_int_equal(parse_ok("100% 2001", "100%% %Y", NULL), 978307200);
    /* %y: 69 -> 1969 (-31536000 = -365 days), 68 -> 2068. */
    assert_int_equal(parse_ok("69", "%y", NULL), -31536000);
    assert_int_equal(parse_ok("2068", "%Y", NULL), parse_ok("68", "%y", NULL));
    /* Leap days: 2000 (divisible by 400) has 29 February, 1900 and 2001 do not. */
    assert_int_equal(parse_ok("29/02/2000", "%d/%m/%Y", NULL), 951782400);
}

static void test_iso8601(void **state)
{
    (void)state;
    /* 00:23 at -02:00 is 02:23Z = 978308580 + 7200. */
    assert_int_equal(parse_ok("2001-01-01T00:23:00-02:00", "iso8601", NULL), 978315780);
    assert_int_equal(parse_ok("2001-01-01T02:23:00Z", "ISO8601", "-05:00"), 978315780);
    assert_int_equal(parse_ok("2001-01-01t02:23:00.999z", "iso8601", NULL), 978315780);
    assert_int_equal(parse_ok("2001-01-01 02:23:00+00:00", "iso8601", NULL), 978315780);
    assert_int_equal(parse_ok("2001-01-01T05:53:00+0330", "iso8601", NULL), 978315780);
    /* Without an offset the time is read in tz; a date alone is midnight. */
    assert_int_equal(parse_ok("2001-01-01T00:23", "iso8601", "-02:00"), 978315780);
    assert_int_equal(parse_ok("2001-01-01", "iso8601", NULL), 978307200);
    /* Round trip through sg_time_format. */
    char buf[32];
    assert_int_equal(sg_time_format(parse_ok("1999-12-31T23:59:59Z", "iso8601", NULL), buf, 32),
                     SG_OK);
    assert_string_equal(buf, "1999-12-31T23:59:59Z");
}

static void test_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *s, *fmt, *tz, *msg;
    } bad[] = {
        {"31/02/2001 00:00:00", "%d/%m/%Y %H:%M:%S", NULL,
         "\"31/02/2001 00:00:00\": no day 31 in February 2001"},
        {"29/02/2001", "%d/%m/%Y", NULL, "\"29/02/2001\": no day 29 in February 2001"},
        {"29/02/1900", "%d/%m/%Y", NULL, "\"29/02/1900\": no day 29 in February 1900"},
        {"31/04/2001", "%d/%m/%Y", NULL, "\"31/04/2001\": no day 31 in April 2001"},
        {"0/1/2001", "%d/%m/%Y", NULL, "\"0/1/2001\": no day 0 in January 2001"},
        {"1/13/2001", "%d/%m/%Y", NULL, "\"1/13/2001\": no month 13"},
        {"1/1/2001 24:00:00", "%d/%m/%Y %H:%M:%S", NULL, "\"1/1/2001 24:00:00\": no time 24:00:00"},
        {"1/1/2001 00:60:00", "%d/%m/%Y %H:%M:%S", NULL, "\"1/1/2001 00:60:00\": no time 00:60:00"},
        {"1/1/2001 00:23:00x", "%d/%m/%Y %H:%M:%S", NULL,
         "\"1/1/2001 00:23:00x\": unexpected \"x\" after the time"},
        {"1/1/2001 00:23", "%d/%m/%Y %H:%M:%S", NULL,
         "\"1/1/2001 00:23\" does not match the format \"%d/%m/%Y %H:%M:%S\" at \"\""},
        {"1-1-2001", "%d/%m/%Y", NULL,
         "\"1-1-2001\" does not match the format \"%d/%m/%Y\" at \"-1-2001\""},
        {"", "%Y", NULL, "\"\" does not match the format \"%Y\" at \"\""},
        {"01", "%Y", NULL, "\"01\" does not match the format \"%Y\" at \"01\""},
        {"1/1", "%d/%m", NULL, "time format \"%d/%m\" has no year (%Y or %y)"},
        {"2001", "%Y %Q", NULL, "time format \"%Y %Q\": %Q is not supported"},
        {"2001-01-01T00:23:00+25:00", "iso8601", NULL,
         "\"2001-01-01T00:23:00+25:00\" is not an RFC 3339 time (2001-01-01T00:23:00-03:00)"},
        {"2001-1-1", "iso8601", NULL,
         "\"2001-1-1\" is not an RFC 3339 time (2001-01-01T00:23:00-03:00)"},
        {"2001-02-30", "iso8601", NULL, "\"2001-02-30\": no day 30 in February 2001"},
        {"13:00 PM 2001", "%I:%M %p %Y", NULL,
         "\"13:00 PM 2001\": %I needs an hour 1-12 and AM/PM"},
        {"2001", "%Y", "Mars/Olympus_Mons", "unknown time zone \"Mars/Olympus_Mons\""},
        {"2001", "%Y", "../../etc/passwd", "unknown time zone \"../../etc/passwd\""},
        {"2001", "%Y", "America", "unknown time zone \"America\""},
        {"2001", "%Y", "+3", "bad UTC offset \"+3\" (use +05:30 or -0300)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 12345;
        char msg[256] = "";
        sg_err err = sg_time_parse(bad[i].s, bad[i].fmt, bad[i].tz, &t, msg, sizeof msg);
        if (err == SG_OK)
            fail_msg("\"%s\" with \"%s\" was accepted", bad[i].s, bad[i].fmt);
        assert_int_equal(t, 12345); /* untouched */
        assert_string_equal(msg, bad[i].msg);
    }
}

static void test_zones_against_python(void **state)
{
    (void)state;
    FILE *f = fopen("tests/fixtures/timefmt/cases.txt", "r");
    assert_non_null(f);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *tz = strtok(line, "|"), *local = strtok(NULL, "|"), *want = strtok(NULL, "|\n");
        assert_non_null(want);
        int64_t t = parse_ok(local, "%Y-%m-%d %H:%M:%S", tz);
        if (t != strtoll(want, NULL, 10))
            fail_msg("%s %s: got %lld, want %s", tz, local, (long long)t, want);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 17);
    /* The gap and overlap in the fixture, by hand: Sao Paulo clocks went from 00:00 to
     * 01:00 on 2000-10-08, so 00:30 is read at -03 as 03:30Z (970963200 + 12600); on
     * 2001-02-18 they went back from 00:00 to 23:00, so 23:30 on the 17th is read at -02
     * (the earlier) as 01:30Z on the 18th (982454400 + 5400). */
    assert_int_equal(parse_ok("8/10/2000 00:30:00", "%d/%m/%Y %H:%M:%S", "America/Sao_Paulo"),
                     970975800);
    assert_int_equal(parse_ok("17/2/2001 23:30:00", "%d/%m/%Y %H:%M:%S", "America/Sao_Paulo"),
                     982459800);
}

static void test_belo_horizonte_times(void **state)
{
    (void)state;
    FILE *want = fopen("tests/fixtures/timefmt/bh_times.txt", "r");
    assert_non_null(want);
    sg_csv_opts o = {.delim = ';', .encoding = "LATIN1", .max_field = 0};
    sg_csv *r = NULL;
    char msg[256];
    assert_int_equal(sg_csv_open(BH_CSV, &o, &r, msg, sizeof msg), SG_OK);
    int col = sg_csv_column(r, "DataHora");
    assert_true(col >= 0);
    const char *const *f;
    size_t nf;
    long line, n = 0;
    int64_t min = INT64_MAX, max = INT64_MIN;
    while (sg_csv_next(r, &f, &nf, &line, msg, sizeof msg) == SG_OK) {
        int64_t t = parse_ok(f[col], "%d/%m/%Y %H:%M:%S", "America/Sao_Paulo");
        char expect[32];
        assert_non_null(fgets(expect, sizeof expect, want));
        if (t != strtoll(expect, NULL, 10))
            fail_msg("line %ld \"%s\": got %lld, want %s", line, f[col], (long long)t, expect);
        min = t < min ? t : min;
        max = t > max ? t : max;
        n++;
    }
    sg_csv_free(r);
    fclose(want);
    assert_int_equal(n, 6501);
    char a[32], b[32];
    sg_time_format(min, a, sizeof a);
    sg_time_format(max, b, sizeof b);
    /* January to June 2001 (DESIGN.md). */
    assert_memory_equal(a, "2001-01-01", 10);
    assert_memory_equal(b, "2001-06", 7);
}

static void test_tzif_data(void **state)
{
    (void)state;
    FILE *f = fopen("/usr/share/zoneinfo/America/New_York", "rb");
    assert_non_null(f);
    static unsigned char data[1 << 16];
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    int64_t t = 0;
    char msg[256];
    /* Same answers as for the zone name (cases.txt, from Python's zoneinfo): 2050 is past
     * the last listed transition, so this goes through the POSIX footer rule. */
    assert_int_equal(sg_time_tzif_local_to_utc(data, len, sg_time_from_civil(2050, 7, 1, 12, 0, 0),
                                               &t, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(t, 2540304000);
    assert_int_equal(sg_time_tzif_local_to_utc(data, len, sg_time_from_civil(2021, 11, 7, 1, 30, 0),
                                               &t, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(t, 1636263000);
    /* Damaged data is refused, never read out of bounds. */
    t = 7;
    for (size_t cut = 0; cut < len; cut += 97)
        if (sg_time_tzif_local_to_utc(data, cut, 0, &t, msg, sizeof msg) == SG_OK)
            assert_true(cut > 44); /* a v1 block alone may be complete */
    assert_int_equal(sg_time_tzif_local_to_utc("TZif", 4, 0, &t, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "zone data: not a TZif file");
    assert_int_equal(sg_time_tzif_local_to_utc(data, len, INT64_MAX, &t, msg, sizeof msg),
                     SG_INVAL);
}

static void *parse_many(void *arg)
{
    const char *tz = arg;
    for (int i = 0; i < 2000; i++) {
        int64_t t;
        char msg[128];
        if (sg_time_parse("1/1/2001 00:23:00", "%d/%m/%Y %H:%M:%S", tz, &t, msg, sizeof msg) ||
            t != (strcmp(tz, "America/Sao_Paulo") == 0 ? 978315780 : 978326580))
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    /* Two zones loaded and used concurrently; America/New_York: 00:23 EST (-05) is 05:23Z =
     * 978308580 + 18000. */
    pthread_t t[4];
    const char *tz[4] = {"America/Sao_Paulo", "America/New_York", "America/Sao_Paulo",
                         "America/New_York"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, parse_many, (void *)tz[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_patterns_utc_and_offsets),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_zones_against_python),
        cmocka_unit_test(test_belo_horizonte_times),
        cmocka_unit_test(test_tzif_data),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
