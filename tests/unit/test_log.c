/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of the logger: the text and JSON line formats, filtering, escaping, level names, and
 * whole lines under concurrent writers. Expected lines are written out by hand from the
 * format in log.h; timestamps are checked by pattern and against the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safegrid/log.h"

/* Reads everything written to f since the last rewind, and empties f. */
static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    rewind(f);
    assert_int_equal(ftruncate(fileno(f), 0), 0);
    return s;
}

static void assert_matches(const char *s, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("\"%s\" does not match /%s/", s, pattern);
}

static void test_text_format(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    sg_log_setup(f, SG_LOG_INFO, 0);
    sg_log(SG_LOG_INFO, "store.open", "opened %s (%d tables)", "x.db", 12);
    sg_log(SG_LOG_ERROR, "http.listen", "port %d busy", 8080);
    sg_log(SG_LOG_DEBUG, "dropped", "below the minimum");
    sg_log(SG_LOG_WARN, NULL, "no event");
    char *s = slurp(f);
    assert_matches(s, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z "
                      "INFO  store\\.open: opened x\\.db \\(12 tables\\)\n"
                      "[0-9T:-]{19}Z ERROR http\\.listen: port 8080 busy\n"
                      "[0-9T:-]{19}Z WARN  -: no event\n$");
    /* The date is today's (UTC) unless the test straddles midnight. */
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    if (tm.tm_hour != 0 || tm.tm_min != 0)
        assert_memory_equal(s, today, 10);
    free(s);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(f);
}

static void test_text_escapes_control(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    sg_log_setup(f, SG_LOG_DEBUG, 0);
    /* A newline in a message must not start a forged second line. */
    sg_log(SG_LOG_DEBUG, "ev\n", "a\nb\tc\x01 d");
    char *s = slurp(f);
    assert_matches(s, "^[0-9T:-]{19}Z DEBUG ev\\\\n: a\\\\nb\\\\tc\\\\x01 d\n$");
    free(s);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(f);
}

static void test_json_format(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    sg_log_setup(f, SG_LOG_DEBUG, 1);
    sg_log(SG_LOG_WARN, "import.row", "line %d: bad \"Bairro\" \\ Praça\nnext", 7);
    /* \xE7 alone is Latin-1 "ç", not valid UTF-8: it becomes U+FFFD. */
    sg_log(SG_LOG_DEBUG, "raw", "S\xE7o");
    char *s = slurp(f);
    char *nl = strchr(s, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_matches(
        s, "^\\{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\","
           "\"level\":\"warn\",\"event\":\"import\\.row\",\"msg\":\".*\"\\}$");
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "line 7: bad \"Bairro\" \\ Praça\nnext");
    json_decref(o);
    char *second = nl + 1;
    nl = strchr(second, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, "");
    o = json_loads(second, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "debug");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "S\xEF\xBF\xBDo");
    json_decref(o);
    free(s);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(f);
}

static void test_long_message_cut(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    sg_log_setup(f, SG_LOG_INFO, 1);
    size_t n = 40000;
    char *big = malloc(n + 1);
    memset(big, 'q', n);
    big[n] = '\0';
    sg_log(SG_LOG_INFO, "big", "%s", big);
    char *s = slurp(f);
    json_error_t je;
    json_t *o = json_loads(s, JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(o);
    const char *m = json_string_value(json_object_get(o, "msg"));
    /* Cut to 16 KiB: 16381 'q' then "...". */
    assert_int_equal(strlen(m), 16384);
    assert_string_equal(m + 16381, "...");
    json_decref(o);
    free(s);
    free(big);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(f);
}

static void test_levels(void **state)
{
    (void)state;
    sg_log_level l = SG_LOG_ERROR;
    assert_int_equal(sg_log_parse_level("debug", &l), 0);
    assert_int_equal(l, SG_LOG_DEBUG);
    assert_int_equal(sg_log_parse_level("INFO", &l), 0);
    assert_int_equal(l, SG_LOG_INFO);
    assert_int_equal(sg_log_parse_level("warn", &l), 0);
    assert_int_equal(l, SG_LOG_WARN);
    assert_int_equal(sg_log_parse_level("warning", &l), 0);
    assert_int_equal(l, SG_LOG_WARN);
    assert_int_equal(sg_log_parse_level("error", &l), 0);
    assert_int_equal(l, SG_LOG_ERROR);
    assert_int_equal(sg_log_parse_level("verbose", &l), -1);
    assert_int_equal(sg_log_parse_level("", &l), -1);
    assert_int_equal(sg_log_parse_level(NULL, &l), -1);
    assert_int_equal(l, SG_LOG_ERROR); /* untouched on failure */
    assert_string_equal(sg_log_level_name(SG_LOG_WARN), "warn");
    sg_log_setup(NULL, SG_LOG_WARN, 0);
    assert_false(sg_log_enabled(SG_LOG_INFO));
    assert_true(sg_log_enabled(SG_LOG_ERROR));
    sg_log_setup(NULL, SG_LOG_INFO, 0);
}

#define N_THREADS 4
#define N_LINES 300

static void *writer(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (int i = 0; i < N_LINES; i++)
        sg_log(SG_LOG_INFO, "thread", "writer %ld line %d %s", id, i,
               "padding padding padding padding padding padding padding padding padding");
    return NULL;
}

static void test_threads_whole_lines(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    sg_log_setup(f, SG_LOG_INFO, 1);
    pthread_t t[N_THREADS];
    for (long i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    char *s = slurp(f);
    int seen[N_THREADS] = {0};
    int lines = 0;
    for (char *save = NULL, *ln = strtok_r(s, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(ln, 0, &je);
        if (o == NULL)
            fail_msg("line %d is not one JSON object: %s", lines, ln);
        long id;
        int k;
        assert_int_equal(
            sscanf(json_string_value(json_object_get(o, "msg")), "writer %ld line %d", &id, &k), 2);
        assert_true(id >= 0 && id < N_THREADS);
        assert_int_equal(k, seen[id]); /* each thread's lines in its own order */
        seen[id]++;
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, N_THREADS * N_LINES);
    free(s);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(f);
}

/* What the file behind f holds now, read through its descriptor (not the stream, which
 * the logger's flusher thread may be writing). */
static char *peek(FILE *f)
{
    static char buf[4096];
    ssize_t got = pread(fileno(f), buf, sizeof buf - 1, 0);
    buf[got > 0 ? got : 0] = '\0';
    return buf;
}

/* Buffered lines wait, then come out in order: by the flusher's interval, before a WARN
 * line, and when buffering ends. */
static void test_buffered(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    sg_log_setup(f, SG_LOG_INFO, 0);
    assert_int_equal(sg_log_set_buffered(300), 0);
    sg_log(SG_LOG_INFO, "a", "first");
    assert_null(strstr(peek(f), "first"));
    struct timespec ts = {0, 700000000};
    nanosleep(&ts, NULL);
    assert_non_null(strstr(peek(f), "a: first"));
    sg_log(SG_LOG_INFO, "b", "second");
    sg_log(SG_LOG_WARN, "c", "third");
    char *s = peek(f);
    char *b = strstr(s, "b: second"), *c = strstr(s, "c: third");
    assert_non_null(b);
    assert_non_null(c);
    assert_true(b < c);
    sg_log(SG_LOG_INFO, "d", "fourth");
    assert_int_equal(sg_log_set_buffered(0), 0);
    assert_non_null(strstr(peek(f), "d: fourth"));
    sg_log(SG_LOG_INFO, "e", "unbuffered");
    assert_non_null(strstr(peek(f), "e: unbuffered"));
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_format), cmocka_unit_test(test_text_escapes_control),
        cmocka_unit_test(test_json_format), cmocka_unit_test(test_long_message_cut),
        cmocka_unit_test(test_levels),      cmocka_unit_test(test_threads_whole_lines),
        cmocka_unit_test(test_buffered),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
