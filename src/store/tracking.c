/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tracking codes. A tracking code is the case id run through a keyed permutation of
 * 50-bit numbers (an 8-round Feistel network on two 25-bit halves with SipHash-2-4 as the
 * round function, keyed with the database's own secret), written as 10 Crockford base32
 * characters. It is short, reveals nothing about the case or its order without the key,
 * and maps back to the id without an index: a random-valued unique index would dirty a
 * page per insert and cost the store most of its write throughput.
 *
 * It lives in the store, beside the key it is made with, because every case row the
 * store reads carries its code.
 */
#include "safegrid/store.h"

#include <sodium.h>
#include <string.h>

#define HALF_BITS 25
#define HALF_MASK ((1u << HALF_BITS) - 1)
#define ROUNDS 8

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint32_t feistel_f(const unsigned char key[SG_TRACKING_KEY_BYTES], int round, uint32_t half)
{
    unsigned char in[5] = {(unsigned char)round, (unsigned char)half, (unsigned char)(half >> 8),
                           (unsigned char)(half >> 16), (unsigned char)(half >> 24)};
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, in, sizeof in, key);
    return ((uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
            (uint32_t)out[3] << 24) &
           HALF_MASK;
}

void sg_store_code_encode(const unsigned char key[SG_TRACKING_KEY_BYTES], int64_t id, char buf[12])
{
    uint64_t v = (uint64_t)id & ((1ull << (2 * HALF_BITS)) - 1);
    uint32_t l = (uint32_t)(v >> HALF_BITS), r = (uint32_t)v & HALF_MASK;
    for (int i = 0; i < ROUNDS; i++) {
        uint32_t next_r = l ^ feistel_f(key, i, r);
        l = r;
        r = next_r;
    }
    v = (uint64_t)l << HALF_BITS | r;
    for (int i = 10, k = 10; i > 0; i--) {
        buf[k--] = crockford[v & 31];
        v >>= 5;
        if (k == 5)
            buf[k--] = '-';
    }
    buf[11] = '\0';
}

/* Reads a code as a person may type it: any case, with or without the dash, with the
 * letters Crockford base32 maps (I and L to 1, O to 0). */
static int normalise_code(const char *in, char out[12])
{
    char raw[10];
    int k = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == 'I' || c == 'L')
            c = '1';
        else if (c == 'O')
            c = '0';
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) || c == 'U' || k == 10)
            return -1;
        raw[k++] = c;
    }
    if (k != 10)
        return -1;
    memcpy(out, raw, 5);
    out[5] = '-';
    memcpy(out + 6, raw + 5, 5);
    out[11] = '\0';
    return 0;
}

int sg_store_code_decode(const unsigned char key[SG_TRACKING_KEY_BYTES], const char *code,
                         int64_t *id)
{
    char norm[12];
    if (code == NULL || normalise_code(code, norm) != 0)
        return -1;
    uint64_t v = 0;
    for (const char *p = norm; *p; p++) {
        if (*p == '-')
            continue;
        v = v << 5 | (uint64_t)(strchr(crockford, *p) - crockford);
    }
    uint32_t l = (uint32_t)(v >> HALF_BITS), r = (uint32_t)v & HALF_MASK;
    for (int i = ROUNDS - 1; i >= 0; i--) {
        uint32_t prev_l = r ^ feistel_f(key, i, l);
        r = l;
        l = prev_l;
    }
    *id = (int64_t)((uint64_t)l << HALF_BITS | r);
    return *id > 0 ? 0 : -1;
}

/* ---- validation helpers ------------------------------------------------------------------ */
