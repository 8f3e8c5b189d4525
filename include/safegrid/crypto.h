/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Encryption of personal fields at rest (reporter contact, dispute parties): libsodium's
 * secretbox (XSalsa20-Poly1305) with a random 24-byte nonce per value, under one key kept
 * in its own file, outside the database, readable by the service account only.
 *
 * A sealed value is, byte for byte:
 *
 *   0x01 (format version) | nonce (24 bytes) | Poly1305 tag (16) | XSalsa20 ciphertext
 *
 * that is, the version byte and nonce followed by crypto_secretbox_easy's output, 41 bytes
 * more than the plaintext. The text form is that blob in standard base64 (with padding),
 * for TEXT columns. A context string (for example "case.reporter_contact") may bind a
 * value to its use: the value is then sealed under a subkey, keyed BLAKE2b-256 of
 * "safegrid field v1" NUL context under the master key, so that a value copied into
 * another field does not open there. With a NULL or empty context the master key is used
 * as is, and a sealed value is plain secretbox that any NaCl implementation can open.
 *
 * The key file is one line, "sgkey1:" and the 32-byte key in standard base64, created with
 * mode 0600 and never overwritten; a key file that group or others may read or write is
 * refused. Keys live in sodium_malloc'd memory (guard pages, not swapped, read-only after
 * loading) and are wiped when freed.
 */
#ifndef SAFEGRID_CRYPTO_H
#define SAFEGRID_CRYPTO_H

#include <stddef.h>

#include "safegrid/error.h"

/** The format version byte that starts every sealed value. */
#define SG_CRYPTO_VERSION 0x01

/** Bytes a sealed value adds to its plaintext: version, nonce and tag. */
#define SG_CRYPTO_OVERHEAD (1 + 24 + 16)

/** The largest plaintext sealed (1 MiB); larger gives SG_TOOBIG. */
#define SG_CRYPTO_MAX_PLAIN (1u << 20)

/** The key file's line starts with this. */
#define SG_CRYPTO_KEY_PREFIX "sgkey1:"

typedef struct sg_crypto_key sg_crypto_key;

/** Creates a new random key file at path with mode 0600 and syncs it (and its directory).
 *  Never overwrites: an existing path (even a dangling symlink) is SG_CONFLICT.
 *  Errors: SG_INVAL (NULL path); SG_CONFLICT (exists); SG_IO (cannot create or write, the
 *  partial file is removed); SG_NOMEM. */
sg_err sg_crypto_key_create(const char *path, char *msg, size_t n);

/** Loads the key file at path. On SG_OK *out is a new key owned by the caller, released
 *  with sg_crypto_key_free(); on error *out is untouched.
 *  Errors: SG_INVAL (NULL arguments, not a regular file); SG_FORBIDDEN if group or others
 *  have any permission on the file (the message says how to fix it); SG_NOTFOUND if it
 *  does not exist; SG_IO (cannot read); SG_CORRUPT (not a key file: wrong prefix, bad
 *  base64, wrong length); SG_NOMEM (including a failed sodium_malloc). */
sg_err sg_crypto_key_load(const char *path, sg_crypto_key **out, char *msg, size_t n);

/** Wipes and frees a key. NULL does nothing. */
void sg_crypto_key_free(sg_crypto_key *key);

/** Seals len bytes of plain (may be NULL if len is 0) under key, bound to context (NULL or
 *  "" for none) with a fresh random nonce. On SG_OK *out is a malloc'd blob of
 *  len + SG_CRYPTO_OVERHEAD bytes owned by the caller (free()), its length in *out_len.
 *  Thread-safe: one key may be used by any number of threads.
 *  Errors (outputs untouched): SG_INVAL (NULL key or outputs); SG_TOOBIG (len over
 *  SG_CRYPTO_MAX_PLAIN); SG_NOMEM. */
sg_err sg_crypto_seal(const sg_crypto_key *key, const char *context, const void *plain, size_t len,
                      unsigned char **out, size_t *out_len, char *msg, size_t n);

/** Opens a sealed blob made by sg_crypto_seal with the same key and context. On SG_OK
 *  *out is a malloc'd copy of the plaintext with a NUL after it (so text can be used as a
 *  string), *out_len its length; release it with sg_crypto_free_plain(), which wipes it.
 *  Errors (outputs untouched): SG_INVAL (NULL arguments); SG_CORRUPT for anything that
 *  does not authenticate: any changed byte, truncation, extra bytes, an unknown version,
 *  another key or another context; SG_NOMEM. */
sg_err sg_crypto_open(const sg_crypto_key *key, const char *context, const unsigned char *sealed,
                      size_t len, char **out, size_t *out_len, char *msg, size_t n);

/** As sg_crypto_seal, writing the blob as a NUL-terminated base64 string (*out, malloc'd,
 *  owned by the caller). */
sg_err sg_crypto_seal_text(const sg_crypto_key *key, const char *context, const void *plain,
                           size_t len, char **out, char *msg, size_t n);

/** As sg_crypto_open, reading the base64 string made by sg_crypto_seal_text. Text that is
 *  not strict base64 is SG_CORRUPT. */
sg_err sg_crypto_open_text(const sg_crypto_key *key, const char *context, const char *sealed,
                           char **out, size_t *out_len, char *msg, size_t n);

/** Wipes len bytes at p and frees p (from sg_crypto_open). NULL does nothing. */
void sg_crypto_free_plain(char *p, size_t len);

#endif
