/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the two parsers that read credentials from request headers: the
 * Cookie header (sg_auth_cookie_value) and the API key format (sg_auth_key_parse). Besides
 * not crashing: a cookie value found is a substring of the header that follows "name=" and
 * holds no ';'; a key that parses has a positive id that prints back to its digits and a
 * secret of exactly SG_AUTH_TOKEN_CHARS base64url characters ending the key.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    sg_arena a;
    sg_arena_init(&a, 1 << 20);
    const char *v = sg_auth_cookie_value(s, SG_AUTH_COOKIE, &a);
    if (v) {
        char needle[128];
        snprintf(needle, sizeof needle, "%s=", SG_AUTH_COOKIE);
        if (strchr(v, ';') != NULL || strstr(s, needle) == NULL || strstr(s, v) == NULL)
            abort();
    }
    sg_arena_fini(&a);

    int64_t id;
    const char *secret;
    if (sg_auth_key_parse(s, &id, &secret) == 0) {
        char digits[32];
        snprintf(digits, sizeof digits, "%" PRId64, id);
        if (id <= 0 || strncmp(s + 4, digits, strlen(digits)) != 0 ||
            strlen(secret) != SG_AUTH_TOKEN_CHARS || secret != s + 5 + strlen(digits))
            abort();
    }
    free(s);
    return 0;
}
