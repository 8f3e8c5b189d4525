/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Field encryption at rest with libsodium secretbox (format in include/safegrid/crypto.h).
 *
 * Why it is built this way: secretbox is misuse-resistant enough for this job when every
 * value gets a random 192-bit nonce (no counter to keep in sync between processes, no
 * realistic chance of a repeat), and it authenticates, so a changed byte is an error
 * instead of wrong personal data. The version byte leaves room to change the scheme
 * without guessing. The key never touches ordinary heap memory: it is decoded straight
 * into sodium_malloc'd memory, the file buffer is wiped, and subkeys live on the stack
 * only while used. The file-mode check happens on the opened descriptor (fstat), so the
 * file checked is the file read.
 */
#include "safegrid/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_BYTES crypto_secretbox_KEYBYTES
#define NONCE_BYTES crypto_secretbox_NONCEBYTES
#define MAC_BYTES crypto_secretbox_MACBYTES
#define B64_KEY_LEN 44 /* base64 of 32 bytes with padding */

/* The domain string of context subkeys; its NUL is hashed too. */
static const char subkey_domain[] = "safegrid field v1";

struct sg_crypto_key {
    unsigned char *k; /* KEY_BYTES, sodium_malloc'd, read-only after loading */
};

static sg_err init_sodium(char *msg, size_t n)
{
    if (sodium_init() < 0)
        return sg_errf(SG_IO, msg, n, "libsodium failed to initialise");
    return SG_OK;
}

static void sync_parent(const char *path)
{
    char *dup = strdup(path);
    if (dup == NULL)
        return;
    char *slash = strrchr(dup, '/');
    const char *dir = slash == dup ? "/" : ".";
    if (slash && slash != dup) {
        *slash = '\0';
        dir = dup;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dup);
}

static sg_err exists_err(const char *path, char *msg, size_t n)
{
    return sg_errf(SG_CONFLICT, msg, n,
                   "%s already exists; a key file is never overwritten (values sealed with it "
                   "would be lost)",
                   path);
}

sg_err sg_crypto_key_create(const char *path, char *msg, size_t n)
{
    if (path == NULL || path[0] == '\0')
        return sg_errf(SG_INVAL, msg, n, "no key file path");
    sg_err err = init_sodium(msg, n);
    if (err)
        return err;
    /* The key is written whole to a temporary name and then linked to path, which fails if
     * path exists (any file or symlink, dangling or not: never written through), so a
     * reader never sees a half-written key file, and of two processes creating it at once
     * one wins and the other gets SG_CONFLICT. */
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp)
        return sg_errf(SG_INVAL, msg, n, "key file path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return sg_errf(SG_IO, msg, n, "%s: %s", tmp, strerror(errno));
    /* The line: prefix, base64 key, newline; built in guarded memory and wiped. */
    size_t line_len = strlen(SG_CRYPTO_KEY_PREFIX) + B64_KEY_LEN + 1;
    unsigned char *key = sodium_malloc(KEY_BYTES);
    char *line = sodium_malloc(line_len + 1);
    if (key == NULL || line == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "out of secure memory");
        goto fail;
    }
    crypto_secretbox_keygen(key);
    memcpy(line, SG_CRYPTO_KEY_PREFIX, strlen(SG_CRYPTO_KEY_PREFIX));
    sodium_bin2base64(line + strlen(SG_CRYPTO_KEY_PREFIX), B64_KEY_LEN + 1, key, KEY_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    line[line_len - 1] = '\n';
    line[line_len] = '\0';
    err = SG_IO;
    if (fchmod(fd, 0600) != 0) { /* whatever the umask did, exactly 0600 */
        sg_errf(err, msg, n, "%s: chmod: %s", tmp, strerror(errno));
        goto fail;
    }
    for (size_t done = 0; done < line_len;) {
        ssize_t w = write(fd, line + done, line_len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            sg_errf(err, msg, n, "%s: write: %s", tmp, w < 0 ? strerror(errno) : "no progress");
            goto fail;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        sg_errf(err, msg, n, "%s: fsync: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        sg_errf(err, msg, n, "%s: close: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (link(tmp, path) != 0) {
        err = errno == EEXIST ? exists_err(path, msg, n)
                              : sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
        goto fail;
    }
    unlink(tmp);
    sync_parent(path);
    sodium_free(key);
    sodium_free(line);
    return SG_OK;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    sodium_free(key); /* NULL-safe; wipes */
    sodium_free(line);
    return err;
}

void sg_crypto_key_free(sg_crypto_key *key)
{
    if (key == NULL)
        return;
    sodium_free(key->k); /* makes the region writable, wipes it, unmaps it */
    free(key);
}

sg_err sg_crypto_key_load(const char *path, sg_crypto_key **out, char *msg, size_t n)
{
    if (path == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, n, "no key file path");
    sg_err err = init_sodium(msg, n);
    if (err)
        return err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sg_errf(errno == ENOENT ? SG_NOTFOUND : SG_IO, msg, n, "key file %s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = sg_errf(SG_IO, msg, n, "key file %s: %s", path, strerror(errno));
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sg_errf(SG_INVAL, msg, n, "key file %s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return sg_errf(SG_FORBIDDEN, msg, n,
                       "key file %s has mode %04o: group or others may access it, so it is "
                       "not used; run 'chmod 600 %s' (and consider the key exposed)",
                       path, (unsigned)(st.st_mode & 07777), path);
    }
    /* Read at most a little more than a key line: anything longer is not a key file. */
    char buf[128];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = sg_errf(SG_IO, msg, n, "key file %s: %s", path, strerror(errno));
            close(fd);
            sodium_memzero(buf, sizeof buf);
            return err;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    size_t plen = strlen(SG_CRYPTO_KEY_PREFIX);
    size_t body = got > plen ? got - plen : 0;
    if (body > 0 && buf[got - 1] == '\n')
        body--;
    sg_crypto_key *key = NULL;
    if (got < plen || memcmp(buf, SG_CRYPTO_KEY_PREFIX, plen) != 0 || body != B64_KEY_LEN) {
        err = sg_errf(SG_CORRUPT, msg, n,
                      "key file %s is not a safegrid key (one line: %s and 44 base64 "
                      "characters)",
                      path, SG_CRYPTO_KEY_PREFIX);
        goto done;
    }
    key = calloc(1, sizeof *key);
    if (key)
        key->k = sodium_malloc(KEY_BYTES);
    if (key == NULL || key->k == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "out of secure memory");
        goto done;
    }
    size_t klen = 0;
    const char *end = NULL;
    if (sodium_base642bin(key->k, KEY_BYTES, buf + plen, body, NULL, &klen, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        klen != KEY_BYTES || end != buf + plen + body) {
        err = sg_errf(SG_CORRUPT, msg, n, "key file %s: the key is not 32 bytes of base64", path);
        goto done;
    }
    sodium_mprotect_readonly(key->k);
    *out = key;
    key = NULL;
    err = SG_OK;
done:
    sodium_memzero(buf, sizeof buf);
    sg_crypto_key_free(key);
    return err;
}

/* The key for a context: the master key itself, or a keyed BLAKE2b subkey in sub. */
static const unsigned char *context_key(const sg_crypto_key *key, const char *context,
                                        unsigned char sub[KEY_BYTES])
{
    if (context == NULL || context[0] == '\0')
        return key->k;
    crypto_generichash_state st;
    crypto_generichash_init(&st, key->k, KEY_BYTES, KEY_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)subkey_domain, sizeof subkey_domain);
    crypto_generichash_update(&st, (const unsigned char *)context, strlen(context));
    crypto_generichash_final(&st, sub, KEY_BYTES);
    sodium_memzero(&st, sizeof st);
    return sub;
}

sg_err sg_crypto_seal(const sg_crypto_key *key, const char *context, const void *plain, size_t len,
                      unsigned char **out, size_t *out_len, char *msg, size_t n)
{
    if (key == NULL || out == NULL || out_len == NULL || (plain == NULL && len > 0))
        return sg_errf(SG_INVAL, msg, n, "no key, plaintext or output");
    if (len > SG_CRYPTO_MAX_PLAIN)
        return sg_errf(SG_TOOBIG, msg, n, "value of %zu bytes exceeds %u", len,
                       SG_CRYPTO_MAX_PLAIN);
    unsigned char *blob = malloc(len + SG_CRYPTO_OVERHEAD);
    if (blob == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    blob[0] = SG_CRYPTO_VERSION;
    randombytes_buf(blob + 1, NONCE_BYTES);
    unsigned char sub[KEY_BYTES];
    const unsigned char *k = context_key(key, context, sub);
    static const unsigned char empty[1];
    crypto_secretbox_easy(blob + 1 + NONCE_BYTES, len ? plain : empty, len, blob + 1, k);
    sodium_memzero(sub, sizeof sub);
    *out = blob;
    *out_len = len + SG_CRYPTO_OVERHEAD;
    return SG_OK;
}

sg_err sg_crypto_open(const sg_crypto_key *key, const char *context, const unsigned char *sealed,
                      size_t len, char **out, size_t *out_len, char *msg, size_t n)
{
    if (key == NULL || out == NULL || out_len == NULL || (sealed == NULL && len > 0))
        return sg_errf(SG_INVAL, msg, n, "no key, value or output");
    if (len < SG_CRYPTO_OVERHEAD)
        return sg_errf(SG_CORRUPT, msg, n, "sealed value of %zu bytes is truncated", len);
    if (sealed[0] != SG_CRYPTO_VERSION)
        return sg_errf(SG_CORRUPT, msg, n, "sealed value has unknown format version %u", sealed[0]);
    if (len - SG_CRYPTO_OVERHEAD > SG_CRYPTO_MAX_PLAIN)
        return sg_errf(SG_CORRUPT, msg, n, "sealed value is longer than any sealed value");
    size_t plen = len - SG_CRYPTO_OVERHEAD;
    char *plain = malloc(plen + 1);
    if (plain == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    unsigned char sub[KEY_BYTES];
    const unsigned char *k = context_key(key, context, sub);
    int bad = crypto_secretbox_open_easy((unsigned char *)plain, sealed + 1 + NONCE_BYTES,
                                         len - 1 - NONCE_BYTES, sealed + 1, k);
    sodium_memzero(sub, sizeof sub);
    if (bad) {
        sg_crypto_free_plain(plain, plen + 1);
        return sg_errf(SG_CORRUPT, msg, n,
                       "sealed value does not authenticate (altered, truncated, or sealed "
                       "with another key or context)");
    }
    plain[plen] = '\0';
    *out = plain;
    *out_len = plen;
    return SG_OK;
}

sg_err sg_crypto_seal_text(const sg_crypto_key *key, const char *context, const void *plain,
                           size_t len, char **out, char *msg, size_t n)
{
    if (out == NULL)
        return sg_errf(SG_INVAL, msg, n, "no output");
    unsigned char *blob;
    size_t blen;
    sg_err err = sg_crypto_seal(key, context, plain, len, &blob, &blen, msg, n);
    if (err)
        return err;
    size_t tlen = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(tlen);
    if (text == NULL) {
        free(blob);
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    }
    sodium_bin2base64(text, tlen, blob, blen, sodium_base64_VARIANT_ORIGINAL);
    free(blob);
    *out = text;
    return SG_OK;
}

sg_err sg_crypto_open_text(const sg_crypto_key *key, const char *context, const char *sealed,
                           char **out, size_t *out_len, char *msg, size_t n)
{
    if (sealed == NULL)
        return sg_errf(SG_INVAL, msg, n, "no value");
    size_t tlen = strlen(sealed);
    if (tlen / 4 * 3 > SG_CRYPTO_MAX_PLAIN + SG_CRYPTO_OVERHEAD + 3)
        return sg_errf(SG_CORRUPT, msg, n, "sealed value is longer than any sealed value");
    size_t cap = tlen / 4 * 3 + 3;
    unsigned char *blob = malloc(cap);
    if (blob == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    size_t blen = 0;
    const char *end = NULL;
    if (sodium_base642bin(blob, cap, sealed, tlen, NULL, &blen, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != sealed + tlen) {
        free(blob);
        return sg_errf(SG_CORRUPT, msg, n, "sealed value is not base64");
    }
    sg_err err = sg_crypto_open(key, context, blob, blen, out, out_len, msg, n);
    free(blob);
    return err;
}

void sg_crypto_free_plain(char *p, size_t len)
{
    if (p == NULL)
        return;
    sodium_memzero(p, len);
    free(p);
}
