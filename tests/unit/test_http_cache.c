/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the case list's JSON cache (src/http/cache.c): an entry comes back only at the
 * version it was stored with, its middle written by the caller; a newer version replaces
 * an older one; long texts are not kept; the byte budget holds however much is put; and
 * threads putting and getting the same cases never see one version's text under another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

/* Writes the middle as "|area,org|". */
static sg_err mid(sg_buf *b, int64_t area_id, int64_t org_id, void *ctx)
{
    (void)ctx;
    return sg_buf_printf(b, "|%lld,%lld|", (long long)area_id, (long long)org_id);
}

static void put_text(sg_case_cache *c, int64_t id, int64_t version, const char *head,
                     const char *tail)
{
    sg_case_cache_put(c, id, version, 7, 9, head, strlen(head), tail, strlen(tail));
}

static void test_get_put(void **state)
{
    (void)state;
    sg_case_cache *c;
    assert_int_equal(sg_case_cache_new((size_t)1 << 20, &c), SG_OK);
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    assert_int_equal(sg_buf_puts(&b, "["), SG_OK);
    assert_int_equal(sg_case_cache_get(c, 42, 1, &b, mid, NULL), SG_NOTFOUND);
    put_text(c, 42, 1, "\"id\":42", ",\"v\":1");
    assert_int_equal(sg_case_cache_get(c, 42, 1, &b, mid, NULL), SG_OK);
    assert_string_equal(b.data, "[\"id\":42|7,9|,\"v\":1");
    /* Another version, or another id: not held, and b is untouched. */
    assert_int_equal(sg_case_cache_get(c, 42, 2, &b, mid, NULL), SG_NOTFOUND);
    assert_int_equal(sg_case_cache_get(c, 43, 1, &b, mid, NULL), SG_NOTFOUND);
    assert_string_equal(b.data, "[\"id\":42|7,9|,\"v\":1");
    /* Version 2 replaces version 1. */
    size_t one = sg_case_cache_bytes(c);
    put_text(c, 42, 2, "\"id\":42", ",\"v\":2");
    assert_int_equal(sg_case_cache_bytes(c), one);
    sg_buf_reset(&b);
    assert_int_equal(sg_case_cache_get(c, 42, 1, &b, mid, NULL), SG_NOTFOUND);
    assert_int_equal(sg_case_cache_get(c, 42, 2, &b, mid, NULL), SG_OK);
    assert_string_equal(b.data, "\"id\":42|7,9|,\"v\":2");
    /* A text over SG_CASE_JSON_MAX is not kept. */
    char *big = malloc(SG_CASE_JSON_MAX + 1);
    memset(big, 'x', SG_CASE_JSON_MAX);
    big[SG_CASE_JSON_MAX] = '\0';
    put_text(c, 44, 1, big, "y");
    free(big);
    assert_int_equal(sg_case_cache_get(c, 44, 1, &b, mid, NULL), SG_NOTFOUND);
    assert_int_equal(sg_case_cache_bytes(c), one);
    sg_buf_fini(&b);
    sg_case_cache_free(c);
    sg_case_cache_free(NULL);
}

static void test_budget(void **state)
{
    (void)state;
    /* 64 KiB: a few hundred entries of 100 bytes, put 100,000 times. */
    size_t max = (size_t)64 << 10;
    sg_case_cache *c;
    assert_int_equal(sg_case_cache_new(max, &c), SG_OK);
    char head[101];
    memset(head, 'h', 100);
    head[100] = '\0';
    for (int64_t id = 1; id <= 100000; id++) {
        put_text(c, id, 1, head, "");
        assert_true(sg_case_cache_bytes(c) <= max);
    }
    assert_true(sg_case_cache_bytes(c) > max / 2);
    sg_case_cache_free(c);
}

/* Threads put case id at versions that they encode in the text, and check every get and
 * the budget after every put. */
static sg_case_cache *shared;
static size_t shared_max;

static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    sg_buf b;
    sg_buf_init(&b, 1 << 12);
    for (int i = 0; i < 200000; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t id = 1 + (seed >> 16) % 64;
        int64_t version = 1 + (seed >> 8) % 4;
        char head[64], want[96];
        snprintf(head, sizeof head, "%lld@%lld", (long long)id, (long long)version);
        if (i % 3 == 0) {
            put_text(shared, id, version, head, ";");
            if (sg_case_cache_bytes(shared) > shared_max) {
                sg_buf_fini(&b);
                return (void *)1;
            }
            continue;
        }
        sg_buf_reset(&b);
        if (sg_case_cache_get(shared, id, version, &b, mid, NULL) == SG_OK) {
            snprintf(want, sizeof want, "%s|7,9|;", head);
            if (strcmp(b.data, want) != 0) {
                sg_buf_fini(&b);
                return (void *)1;
            }
        }
    }
    sg_buf_fini(&b);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    /* Room for all 64 cases; then room for a few dozen, so that puts compete for it. */
    static const size_t budgets[] = {(size_t)1 << 20, 4096};
    for (int k = 0; k < 2; k++) {
        shared_max = budgets[k];
        assert_int_equal(sg_case_cache_new(shared_max, &shared), SG_OK);
        pthread_t t[4];
        for (uintptr_t i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(i + 1)), 0);
        for (int i = 0; i < 4; i++) {
            void *bad;
            pthread_join(t[i], &bad);
            assert_null(bad);
        }
        assert_true(sg_case_cache_bytes(shared) <= shared_max);
        sg_case_cache_free(shared);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
