/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of the error table: every code has a message, a name and the documented status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "safegrid/error.h"

static void test_messages(void **state)
{
    (void)state;
    assert_string_equal(sg_strerror(SG_OK), "success");
    assert_string_equal(sg_strerror(SG_NOTFOUND), "not found");
    assert_string_equal(sg_strerror((sg_err)9999), "unknown error");
    assert_string_equal(sg_errname(SG_CONFLICT), "CONFLICT");
    for (int e = 0; e < SG_N_ERRORS; e++) {
        assert_non_null(sg_strerror((sg_err)e));
        assert_true(strlen(sg_errname((sg_err)e)) > 1);
    }
}

static void test_http_status(void **state)
{
    (void)state;
    /* DESIGN.md, Interfaces: 400 bad input, 401/403 auth, 404, 409, 413, 429. */
    assert_int_equal(sg_err_http_status(SG_INVAL), 400);
    assert_int_equal(sg_err_http_status(SG_UNAUTH), 401);
    assert_int_equal(sg_err_http_status(SG_FORBIDDEN), 403);
    assert_int_equal(sg_err_http_status(SG_NOTFOUND), 404);
    assert_int_equal(sg_err_http_status(SG_CONFLICT), 409);
    assert_int_equal(sg_err_http_status(SG_TOOBIG), 413);
    assert_int_equal(sg_err_http_status(SG_RATELIMIT), 429);
    assert_int_equal(sg_err_http_status(SG_NOMEM), 500);
}

static void test_errf(void **state)
{
    (void)state;
    char msg[32];
    assert_int_equal(sg_errf(SG_INVAL, msg, sizeof msg, "line %d: %s", 7, "bad x"), SG_INVAL);
    assert_string_equal(msg, "line 7: bad x");
    assert_int_equal(sg_errf(SG_IO, NULL, 0, "ignored"), SG_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_errf),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
