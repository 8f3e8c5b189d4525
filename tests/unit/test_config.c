/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of the INI configuration: syntax, overrides, typed getters, and the error messages
 * for bad files (file and line named). Expected values are read off the fixture by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "safegrid/config.h"

#define FIXTURE "tests/fixtures/config/safegrid.ini"

static void test_load_fixture(void **state)
{
    (void)state;
    sg_config *c = NULL;
    char msg[256] = "";
    assert_int_equal(sg_config_new(&c), SG_OK);
    assert_int_equal(sg_config_load(c, FIXTURE, msg, sizeof msg), SG_OK);
    assert_string_equal(sg_config_get(c, "name", NULL), "Belo Horizonte pilot");
    assert_string_equal(sg_config_get(c, "server.listen", NULL), "0.0.0.0:8080");
    assert_string_equal(sg_config_get(c, "server.threads", NULL), "8");
    assert_string_equal(sg_config_get(c, "server.public_url", NULL),
                        "https://safegrid.example.org/#/cases");
    assert_string_equal(sg_config_get(c, "server.motd", NULL), "single quotes keep \\n literally");
    assert_string_equal(sg_config_get(c, "store.path", NULL), "/var/lib/safegrid/safegrid.db");
    assert_string_equal(sg_config_get(c, "analysis.hotspots.alpha", NULL), "0.05");
    /* ; without whitespace before it is part of the value. */
    assert_string_equal(sg_config_get(c, "analysis.hotspots.url", NULL), "http://x/a;b");
    assert_string_equal(sg_config_get(c, "server.missing", "dflt"), "dflt");
    assert_null(sg_config_get(c, "listen", NULL)); /* not at top level */

    long x = 0;
    assert_int_equal(sg_config_get_int(c, "server.threads", 4, &x), SG_OK);
    assert_int_equal(x, 8);
    assert_int_equal(sg_config_get_int(c, "store.max_conn", 4, &x), SG_OK);
    assert_int_equal(x, -3);
    assert_int_equal(sg_config_get_int(c, "server.nope", 4, &x), SG_OK);
    assert_int_equal(x, 4);
    x = 99;
    assert_int_equal(sg_config_get_int(c, "server.listen", 4, &x), SG_INVAL);
    assert_int_equal(sg_config_get_int(c, "analysis.hotspots.alpha", 4, &x), SG_INVAL);
    assert_int_equal(x, 99);
    int b = -1;
    assert_int_equal(sg_config_get_bool(c, "store.wal", 0, &b), SG_OK);
    assert_int_equal(b, 1);
    assert_int_equal(sg_config_get_bool(c, "store.nope", 0, &b), SG_OK);
    assert_int_equal(b, 0);
    assert_int_equal(sg_config_get_bool(c, "name", 0, &b), SG_INVAL);

    /* 10 keys, in file order: name; server: listen threads public_url motd; store: path wal
     * max_conn; analysis.hotspots: alpha url. */
    assert_int_equal(sg_config_count(c), 10);
    const char *k, *v;
    sg_config_entry(c, 0, &k, &v);
    assert_string_equal(k, "name");
    sg_config_entry(c, 9, &k, &v);
    assert_string_equal(k, "analysis.hotspots.url");
    sg_config_free(c);
}

static void test_overrides(void **state)
{
    (void)state;
    sg_config *c = NULL;
    char msg[256] = "";
    assert_int_equal(sg_config_new(&c), SG_OK);
    assert_int_equal(sg_config_set(c, "server.threads", "2"), SG_OK); /* before the file */
    assert_int_equal(sg_config_load(c, FIXTURE, msg, sizeof msg), SG_OK);
    assert_string_equal(sg_config_get(c, "server.threads", NULL), "8"); /* later load wins */
    assert_int_equal(sg_config_set_pair(c, " server.threads = 16 ", msg, sizeof msg), SG_OK);
    assert_int_equal(sg_config_set(c, "store.path", "/tmp/x.db"), SG_OK);
    assert_string_equal(sg_config_get(c, "server.threads", NULL), "16"); /* CLI wins */
    assert_string_equal(sg_config_get(c, "store.path", NULL), "/tmp/x.db");
    assert_int_equal(sg_config_set_pair(c, "server.threads", msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "\"server.threads\": expected section.key=value");
    assert_int_equal(sg_config_set_pair(c, "bad key=1", msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_config_set(c, "", "x"), SG_INVAL);
    assert_int_equal(sg_config_set(c, "a.", "x"), SG_INVAL);
    assert_int_equal(sg_config_set(c, "a b", "x"), SG_INVAL);
    assert_int_equal(sg_config_set(c, "a", NULL), SG_INVAL);
    assert_int_equal(sg_config_set(c, "a", "two\nlines"), SG_INVAL);
    assert_int_equal(sg_config_set_pair(c, "empty.value=", msg, sizeof msg), SG_OK);
    assert_string_equal(sg_config_get(c, "empty.value", NULL), "");
    sg_config_free(c);
    sg_config_free(NULL);
}

/* Loads text; returns the error and leaves the message in msg. */
static sg_err load_text(sg_config *c, const char *text, char *msg, size_t n)
{
    return sg_config_load_mem(c, "safegrid.ini", text, strlen(text), msg, n);
}

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    sg_config *c = NULL;
    char msg[256];
    assert_int_equal(sg_config_new(&c), SG_OK);
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"[a]\nx = 1\n\n; c\n\n\njust words\n", "safegrid.ini:7: expected key = value"},
        {"[server\nx=1\n", "safegrid.ini:1: expected ] to close the section name"},
        {"[]\n", "safegrid.ini:1: invalid section name (letters, digits, _ - . only)"},
        {"[a] junk\n", "safegrid.ini:1: unexpected text after [section]"},
        {"= 3\n", "safegrid.ini:1: expected key = value"},
        {"a b = 3\n", "safegrid.ini:1: invalid key name (letters, digits, _ - . only)"},
        {"x = \"open\n", "safegrid.ini:1: unterminated quoted value"},
        {"x = \"a\" b\n", "safegrid.ini:1: unexpected text after quoted value"},
        {"\n\nx = \"a\\qb\"\n",
         "safegrid.ini:3: unknown escape in quoted value (use \\\" \\\\ \\n \\t)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msg[0] = '\0';
        assert_int_equal(load_text(c, cases[i].text, msg, sizeof msg), SG_INVAL);
        assert_string_equal(msg, cases[i].msg);
    }
    /* Nothing from the bad files was applied (x = 1 in the first case came before the
     * error). */
    assert_int_equal(sg_config_count(c), 0);

    assert_int_equal(sg_config_load(c, "tests/fixtures/config/no-such.ini", msg, sizeof msg),
                     SG_IO);
    assert_string_equal(msg, "tests/fixtures/config/no-such.ini: No such file or directory");

    char nul[] = "a = 1\nb = x\0y\n";
    assert_int_equal(sg_config_load_mem(c, "f", nul, sizeof nul - 1, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "f:2: NUL byte in line");
    sg_config_free(c);
}

static void test_syntax_details(void **state)
{
    (void)state;
    sg_config *c = NULL;
    char msg[256] = "";
    assert_int_equal(sg_config_new(&c), SG_OK);
    /* BOM, CRLF, no final newline, escapes, repeated key, empty values, = in value. */
    const char *text = "\xEF\xBB\xBF"
                       "top=1\r\n"
                       "[s]\r\n"
                       "q = \"a \\\"b\\\" \\\\ c\\td\\n\"\r\n"
                       "rep = first\n"
                       "rep = second\n"
                       "empty =\n"
                       "emptyq = \"\" ; nothing\n"
                       "commented = ; nothing here\n"
                       "eq = a=b=c\n"
                       "  spaced.key   =   v  w  \n"
                       "last = end";
    assert_int_equal(load_text(c, text, msg, sizeof msg), SG_OK);
    assert_string_equal(sg_config_get(c, "top", NULL), "1");
    assert_string_equal(sg_config_get(c, "s.q", NULL), "a \"b\" \\ c\td\n");
    assert_string_equal(sg_config_get(c, "s.rep", NULL), "second");
    assert_string_equal(sg_config_get(c, "s.empty", NULL), "");
    assert_string_equal(sg_config_get(c, "s.emptyq", NULL), "");
    assert_string_equal(sg_config_get(c, "s.commented", NULL), "");
    assert_string_equal(sg_config_get(c, "s.eq", NULL), "a=b=c");
    assert_string_equal(sg_config_get(c, "s.spaced.key", NULL), "v  w");
    assert_string_equal(sg_config_get(c, "s.last", NULL), "end");
    assert_int_equal(sg_config_count(c), 9);

    long x = 0;
    sg_config_set(c, "n", " 42 ");
    assert_int_equal(sg_config_get_int(c, "n", 0, &x), SG_OK);
    assert_int_equal(x, 42);
    sg_config_set(c, "n", "9223372036854775808"); /* LONG_MAX + 1 on LP64 */
    assert_int_equal(sg_config_get_int(c, "n", 0, &x), SG_INVAL);
    sg_config_set(c, "n", "0x10");
    assert_int_equal(sg_config_get_int(c, "n", 0, &x), SG_INVAL);
    sg_config_set(c, "n", "-");
    assert_int_equal(sg_config_get_int(c, "n", 0, &x), SG_INVAL);
    sg_config_set(c, "n", "");
    assert_int_equal(sg_config_get_int(c, "n", 0, &x), SG_INVAL);
    sg_config_set(c, "n", "010");
    assert_int_equal(sg_config_get_int(c, "n", 0, &x), SG_OK);
    assert_int_equal(x, 10);
    sg_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_fixture),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_syntax_details),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
