/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of the UTF-8 validator against RFC 3629's rules, with sequences written by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "safegrid/utf8.h"

static size_t seq(const char *s)
{
    return sg_utf8_seq((const unsigned char *)s, strlen(s));
}

static void test_valid_sequences(void **state)
{
    (void)state;
    assert_int_equal(seq("A"), 1);
    assert_int_equal(seq("\xC3\xA9"), 2);         /* é U+00E9 */
    assert_int_equal(seq("\xE4\xB8\xAD"), 3);     /* 中 U+4E2D */
    assert_int_equal(seq("\xF0\x9F\x98\x80"), 4); /* U+1F600 */
    assert_int_equal(seq("\xF4\x8F\xBF\xBF"), 4); /* U+10FFFF, the last code point */
    assert_int_equal(seq("\xEF\xBF\xBD"), 3);     /* U+FFFD */
}

static void test_invalid_sequences(void **state)
{
    (void)state;
    assert_int_equal(seq("\xC0\x80"), 0);         /* overlong NUL */
    assert_int_equal(seq("\xE0\x80\xAF"), 0);     /* overlong '/' */
    assert_int_equal(seq("\xED\xA0\x80"), 0);     /* U+D800, a surrogate */
    assert_int_equal(seq("\xF4\x90\x80\x80"), 0); /* U+110000 */
    assert_int_equal(seq("\x80"), 0);             /* lone continuation byte */
    assert_int_equal(seq("\xC3"), 0);             /* truncated */
    assert_int_equal(seq("\xE4\xB8"), 0);         /* truncated */
    assert_int_equal(seq("\xC3\x28"), 0);         /* bad continuation */
    assert_int_equal(seq("\xFF"), 0);
    assert_int_equal(sg_utf8_seq((const unsigned char *)"", 0), 0);
}

static void test_count(void **state)
{
    (void)state;
    assert_int_equal(sg_utf8_count(""), 0);
    assert_int_equal(sg_utf8_count("Praça Sete"), 10);
    assert_int_equal(sg_utf8_count("平安网格"), 4);
    assert_int_equal(sg_utf8_count("ok \xC3\x28 no"), -1);
    assert_int_equal(sg_utf8_count("\xED\xA0\x80"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_sequences),
        cmocka_unit_test(test_invalid_sequences),
        cmocka_unit_test(test_count),
    };
    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
