/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for opening sealed personal fields. The key is the all-zero key, read
 * from a key file written once at start (so the key-file reader runs too). Each input is
 * opened as a blob and as base64 text, with and without a context; anything that opens must
 * be the length the format implies. Then the input is sealed and must open back to itself,
 * and the sealed copy with its last byte changed must not open. Run:
 *   make build/fuzz/fuzz_crypto_open && build/fuzz/fuzz_crypto_open fuzz/corpus/crypto_open
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safegrid/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sg_crypto_key *zero_key(void)
{
    static sg_crypto_key *key;
    if (key)
        return key;
    char path[] = "/tmp/fuzz_crypto_key.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    static const char line[] = "sgkey1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    if (write(fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1) || fchmod(fd, 0600))
        abort();
    close(fd);
    char msg[256];
    if (sg_crypto_key_load(path, &key, msg, sizeof msg) != SG_OK)
        abort();
    unlink(path);
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_crypto_key *k = zero_key();
    char msg[256], *plain;
    size_t plen;
    static const char *const contexts[] = {NULL, "case.reporter_contact"};
    for (int c = 0; c < 2; c++) {
        sg_err err = sg_crypto_open(k, contexts[c], data, size, &plain, &plen, msg, sizeof msg);
        if (err == SG_OK) {
            if (plen + SG_CRYPTO_OVERHEAD != size || plain[plen] != '\0')
                abort();
            sg_crypto_free_plain(plain, plen);
        } else if (err != SG_CORRUPT) {
            abort();
        }
    }
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sg_err err = sg_crypto_open_text(k, NULL, text, &plain, &plen, msg, sizeof msg);
    if (err == SG_OK)
        sg_crypto_free_plain(plain, plen);
    else if (err != SG_CORRUPT)
        abort();
    free(text);

    unsigned char *blob;
    size_t blen;
    if (sg_crypto_seal(k, "ctx", data, size, &blob, &blen, msg, sizeof msg) != SG_OK)
        return 0;
    if (sg_crypto_open(k, "ctx", blob, blen, &plain, &plen, msg, sizeof msg) != SG_OK ||
        plen != size || (size && memcmp(plain, data, size) != 0))
        abort();
    sg_crypto_free_plain(plain, plen);
    blob[blen - 1] ^= 1;
    if (sg_crypto_open(k, "ctx", blob, blen, &plain, &plen, msg, sizeof msg) != SG_CORRUPT)
        abort();
    free(blob);
    return 0;
}
