/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of field encryption: key files (created 0600, never overwritten, refused when
 * group or others may read them, malformed ones rejected), published secretbox vectors
 * opened through our format, interoperability with PyNaCl (Debian python3-nacl) in both
 * directions including context subkeys, round trips of many sizes, and failure on every
 * kind of damage: each byte flipped, every truncation, an extra byte, another key, another
 * context. The same plaintext sealed twice must differ.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "safegrid/crypto.h"
#include "testutil.h"

/* base64 of 32 zero bytes: `head -c 32 /dev/zero | base64` (coreutils). */
#define ZERO_KEY_LINE "sgkey1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static sg_crypto_key *load_ok(const char *path)
{
    sg_crypto_key *k = NULL;
    char msg[256];
    sg_err err = sg_crypto_key_load(path, &k, msg, sizeof msg);
    if (err != SG_OK)
        fail_msg("load %s: %s", path, msg);
    return k;
}

static void test_key_file_create_and_modes(void **state)
{
    (void)state;
    char dir[128], path[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/field.key", dir);
    mode_t old = umask(0); /* the file must be 0600 even under a careless umask */
    sg_err err = sg_crypto_key_create(path, msg, sizeof msg);
    umask(old);
    assert_int_equal(err, SG_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char text[128];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = '\0';
    assert_int_equal(got, strlen(ZERO_KEY_LINE));
    assert_true(strncmp(text, "sgkey1:", 7) == 0 && text[got - 1] == '\n');

    /* Never overwritten, not even through a symlink. */
    assert_int_equal(sg_crypto_key_create(path, msg, sizeof msg), SG_CONFLICT);
    assert_non_null(strstr(msg, "already exists"));
    char link[256];
    snprintf(link, sizeof link, "%s/dangling.key", dir);
    assert_int_equal(symlink("/nonexistent/target", link), 0);
    assert_int_equal(sg_crypto_key_create(link, msg, sizeof msg), SG_CONFLICT);
    char nodir[256];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir.key", dir);
    assert_int_equal(sg_crypto_key_create(nodir, msg, sizeof msg), SG_IO);

    /* Two new keys differ: seal with one, the other cannot open. */
    char path2[256];
    snprintf(path2, sizeof path2, "%s/other.key", dir);
    assert_int_equal(sg_crypto_key_create(path2, msg, sizeof msg), SG_OK);
    sg_crypto_key *k1 = load_ok(path), *k2 = load_ok(path2);
    unsigned char *blob;
    size_t blen, plen;
    char *plain;
    assert_int_equal(sg_crypto_seal(k1, NULL, "x", 1, &blob, &blen, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_crypto_open(k2, NULL, blob, blen, &plain, &plen, msg, sizeof msg),
                     SG_CORRUPT);
    free(blob);
    sg_crypto_key_free(k1);
    sg_crypto_key_free(k2);

    /* Any permission for group or others is refused, with a message that says what to
     * do; 0400 and 0600 are accepted. */
    static const mode_t bad[] = {0640, 0604, 0660, 0606, 0610, 0601, 0644, 0666, 0620};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        sg_crypto_key *k = (sg_crypto_key *)0x1;
        assert_int_equal(sg_crypto_key_load(path, &k, msg, sizeof msg), SG_FORBIDDEN);
        assert_ptr_equal(k, (sg_crypto_key *)0x1);
        assert_non_null(strstr(msg, "chmod 600"));
        assert_non_null(strstr(msg, "group or others"));
    }
    assert_int_equal(chmod(path, 0400), 0);
    sg_crypto_key_free(load_ok(path));
    assert_int_equal(chmod(path, 0600), 0);
    sg_crypto_key_free(load_ok(path));

    /* Missing, not a file, malformed. */
    sg_crypto_key *k = NULL;
    snprintf(nodir, sizeof nodir, "%s/missing.key", dir);
    assert_int_equal(sg_crypto_key_load(nodir, &k, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(sg_crypto_key_load(dir, &k, msg, sizeof msg), SG_INVAL);
    static const char *const malformed[] = {
        "",
        "sgkey1:",
        "sgkey2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "sgkey1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",   /* 31 bytes */
        "sgkey1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",    /* no padding */
        "sgkey1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n", /* extra line */
        "sgkey1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=\n",
        "sgkey1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        write_file(nodir, malformed[i], 0600);
        assert_int_equal(sg_crypto_key_load(nodir, &k, msg, sizeof msg), SG_CORRUPT);
    }
    assert_null(k);
    write_file(nodir, ZERO_KEY_LINE, 0600);
    sg_crypto_key_free(load_ok(nodir));
    tu_rmdir(dir);
}

/* Published secretbox results for the all-zero key and nonce (crypto_secretbox_easy
 * output, tag first): "yay" from luasodium's test-crypto_secretbox.lua, "test" from the
 * sodium_sys crate's secretbox tests. Wrapped in our format (version byte and nonce in
 * front), they must open to the plaintext with a key file holding 32 zero bytes. */
static void test_published_vectors(void **state)
{
    (void)state;
    static const unsigned char yay[] = {84,  131, 248, 12, 139, 116, 241, 128, 234, 239,
                                        195, 4,   159, 62, 44,  3,   191, 95,  194};
    static const unsigned char test[] = {175, 153, 180, 147, 246, 123, 253, 41, 159, 169,
                                         32,  114, 64,  251, 167, 179, 178, 91, 200, 139};
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/zero.key", dir);
    write_file(path, ZERO_KEY_LINE, 0600);
    sg_crypto_key *k = load_ok(path);
    struct {
        const unsigned char *c;
        size_t len;
        const char *plain;
    } v[] = {{yay, sizeof yay, "yay"}, {test, sizeof test, "test"}};
    for (int i = 0; i < 2; i++) {
        unsigned char blob[64] = {SG_CRYPTO_VERSION}; /* nonce: 24 zero bytes */
        memcpy(blob + 25, v[i].c, v[i].len);
        char *plain = NULL;
        size_t plen = 0;
        assert_int_equal(
            sg_crypto_open(k, NULL, blob, 25 + v[i].len, &plain, &plen, msg, sizeof msg), SG_OK);
        assert_int_equal(plen, strlen(v[i].plain));
        assert_string_equal(plain, v[i].plain);
        sg_crypto_free_plain(plain, plen);
        /* Under a context the same bytes do not open (another key). */
        assert_int_equal(sg_crypto_open(k, "case.reporter_contact", blob, 25 + v[i].len, &plain,
                                        &plen, msg, sizeof msg),
                         SG_CORRUPT);
    }
    sg_crypto_key_free(k);
    tu_rmdir(dir);
}

/* PyNaCl (python3-nacl) seals and opens our format, reading the documented layout and
 * subkey rule, from the same key file. */
static const char pynacl_script[] =
    "import base64, sys, nacl.secret, nacl.hash, nacl.encoding\n"
    "line = open(sys.argv[1]).read()\n"
    "assert line.startswith('sgkey1:') and line.endswith('\\n')\n"
    "key = base64.b64decode(line[7:-1], validate=True)\n"
    "ctx = sys.argv[3].encode()\n"
    "if ctx:\n"
    "    key = nacl.hash.blake2b(b'safegrid field v1\\0' + ctx, key=key, digest_size=32,\n"
    "                            encoder=nacl.encoding.RawEncoder)\n"
    "box = nacl.secret.SecretBox(key)\n"
    "if sys.argv[2] == 'open':\n"
    "    blob = base64.b64decode(sys.stdin.read().strip(), validate=True)\n"
    "    assert blob[0] == 1\n"
    "    sys.stdout.buffer.write(box.decrypt(blob[1:]))\n"
    "else:\n"
    "    sealed = box.encrypt(sys.argv[4].encode())\n"
    "    print(base64.b64encode(b'\\x01' + bytes(sealed)).decode())\n";

static void test_pynacl_interop(void **state)
{
    (void)state;
    if (tu_run("/usr/bin/python3 -c 'import nacl.secret' 2>/dev/null", NULL, 0) != 0) {
        fprintf(stderr, "python3-nacl is not installed (scripts/deps/audit.list)\n");
        fail();
    }
    char dir[128], key[256], script[256], cmd[1024], out[1024], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(key, sizeof key, "%s/field.key", dir);
    snprintf(script, sizeof script, "%s/peer.py", dir);
    assert_int_equal(sg_crypto_key_create(key, msg, sizeof msg), SG_OK);
    write_file(script, pynacl_script, 0600);
    sg_crypto_key *k = load_ok(key);
    static const char *const contexts[] = {"", "case.reporter_contact"};
    const char *plain = "Maria Silva, +55 31 99999-0000, Rua da Bahia 1148";
    for (int c = 0; c < 2; c++) {
        /* ours -> PyNaCl */
        char *text;
        assert_int_equal(
            sg_crypto_seal_text(k, contexts[c], plain, strlen(plain), &text, msg, sizeof msg),
            SG_OK);
        snprintf(cmd, sizeof cmd, "echo '%s' | /usr/bin/python3 '%s' '%s' open '%s'", text, script,
                 key, contexts[c]);
        free(text);
        assert_int_equal(tu_run(cmd, out, sizeof out), 0);
        assert_string_equal(out, plain);
        /* PyNaCl -> ours */
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' seal '%s' '%s'", script, key,
                 contexts[c], plain);
        assert_int_equal(tu_run(cmd, out, sizeof out), 0);
        out[strcspn(out, "\n")] = '\0';
        char *got;
        size_t glen;
        assert_int_equal(sg_crypto_open_text(k, contexts[c], out, &got, &glen, msg, sizeof msg),
                         SG_OK);
        assert_string_equal(got, plain);
        sg_crypto_free_plain(got, glen);
        /* and it is bound to its context */
        assert_int_equal(sg_crypto_open_text(k, contexts[1 - c], out, &got, &glen, msg, sizeof msg),
                         SG_CORRUPT);
    }
    sg_crypto_key_free(k);
    tu_rmdir(dir);
}

static sg_crypto_key *fresh_key(char *dir, size_t dn)
{
    char path[256], msg[256];
    tu_tmpdir(dir, dn);
    snprintf(path, sizeof path, "%s/k", dir);
    assert_int_equal(sg_crypto_key_create(path, msg, sizeof msg), SG_OK);
    return load_ok(path);
}

static void test_round_trips(void **state)
{
    (void)state;
    char dir[128], msg[256];
    sg_crypto_key *k = fresh_key(dir, sizeof dir);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 33, 255, 1000, 65536, 1u << 20};
    unsigned char *data = malloc((1u << 20) + 1);
    assert_non_null(data);
    for (size_t i = 0; i < (1u << 20) + 1; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 9));
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        unsigned char *blob;
        size_t blen, plen;
        char *plain;
        assert_int_equal(sg_crypto_seal(k, "ctx", data, sizes[s], &blob, &blen, msg, sizeof msg),
                         SG_OK);
        assert_int_equal(blen, sizes[s] + SG_CRYPTO_OVERHEAD);
        assert_int_equal(blob[0], SG_CRYPTO_VERSION);
        assert_int_equal(sg_crypto_open(k, "ctx", blob, blen, &plain, &plen, msg, sizeof msg),
                         SG_OK);
        assert_int_equal(plen, sizes[s]);
        assert_memory_equal(plain, data, sizes[s]);
        assert_int_equal(plain[plen], '\0');
        sg_crypto_free_plain(plain, plen);
        free(blob);
    }
    unsigned char *blob = NULL;
    size_t blen = 0;
    assert_int_equal(sg_crypto_seal(k, NULL, data, (1u << 20) + 1, &blob, &blen, msg, sizeof msg),
                     SG_TOOBIG);
    assert_null(blob);
    assert_int_equal(sg_crypto_seal(k, NULL, NULL, 1, &blob, &blen, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_crypto_seal(NULL, NULL, "a", 1, &blob, &blen, msg, sizeof msg), SG_INVAL);
    free(data);

    /* Text form, UTF-8 kept exactly. */
    const char *s = "Jo\xc3\xa3o \xe2\x80\x94 rua 7";
    char *text, *plain;
    size_t plen;
    assert_int_equal(sg_crypto_seal_text(k, NULL, s, strlen(s), &text, msg, sizeof msg), SG_OK);
    assert_int_equal(strlen(text), (strlen(s) + SG_CRYPTO_OVERHEAD + 2) / 3 * 4);
    assert_int_equal(sg_crypto_open_text(k, NULL, text, &plain, &plen, msg, sizeof msg), SG_OK);
    assert_string_equal(plain, s);
    sg_crypto_free_plain(plain, plen);
    /* Damaged text: not base64, a character changed, cut short. */
    char *bad = strdup(text);
    bad[5] = '*';
    assert_int_equal(sg_crypto_open_text(k, NULL, bad, &plain, &plen, msg, sizeof msg), SG_CORRUPT);
    bad[5] = text[5] == 'A' ? 'B' : 'A';
    assert_int_equal(sg_crypto_open_text(k, NULL, bad, &plain, &plen, msg, sizeof msg), SG_CORRUPT);
    bad[8] = '\0';
    assert_int_equal(sg_crypto_open_text(k, NULL, bad, &plain, &plen, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(sg_crypto_open_text(k, NULL, "", &plain, &plen, msg, sizeof msg), SG_CORRUPT);
    free(bad);
    free(text);
    sg_crypto_key_free(k);
    tu_rmdir(dir);
}

static void test_tampering_fails(void **state)
{
    (void)state;
    char dir[128], dir2[128], msg[256];
    sg_crypto_key *k = fresh_key(dir, sizeof dir);
    sg_crypto_key *other = fresh_key(dir2, sizeof dir2);
    const char *s = "+55 31 3277-4000";
    unsigned char *blob;
    size_t blen, plen;
    char *plain = NULL;
    assert_int_equal(
        sg_crypto_seal(k, "case.reporter_contact", s, strlen(s), &blob, &blen, msg, sizeof msg),
        SG_OK);
    unsigned char *copy = malloc(blen + 1);
    assert_non_null(copy);
    /* Every bit of every byte: version, nonce, tag and ciphertext. */
    for (size_t i = 0; i < blen; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, blob, blen);
            copy[i] ^= (unsigned char)(1u << bit);
            if (sg_crypto_open(k, "case.reporter_contact", copy, blen, &plain, &plen, msg,
                               sizeof msg) != SG_CORRUPT)
                fail_msg("flip of bit %d of byte %zu was not detected", bit, i);
        }
    }
    assert_null(plain);
    /* Every truncation, and one byte too many. */
    for (size_t len = 0; len < blen; len++)
        assert_int_equal(
            sg_crypto_open(k, "case.reporter_contact", blob, len, &plain, &plen, msg, sizeof msg),
            SG_CORRUPT);
    memcpy(copy, blob, blen);
    copy[blen] = 0;
    assert_int_equal(
        sg_crypto_open(k, "case.reporter_contact", copy, blen + 1, &plain, &plen, msg, sizeof msg),
        SG_CORRUPT);
    /* Another key, another context, no context. */
    assert_int_equal(
        sg_crypto_open(other, "case.reporter_contact", blob, blen, &plain, &plen, msg, sizeof msg),
        SG_CORRUPT);
    assert_non_null(strstr(msg, "does not authenticate"));
    assert_int_equal(
        sg_crypto_open(k, "dispute.parties", blob, blen, &plain, &plen, msg, sizeof msg),
        SG_CORRUPT);
    assert_int_equal(sg_crypto_open(k, NULL, blob, blen, &plain, &plen, msg, sizeof msg),
                     SG_CORRUPT);
    assert_null(plain);
    /* The untouched value still opens. */
    assert_int_equal(
        sg_crypto_open(k, "case.reporter_contact", blob, blen, &plain, &plen, msg, sizeof msg),
        SG_OK);
    assert_string_equal(plain, s);
    sg_crypto_free_plain(plain, plen);
    free(copy);
    free(blob);
    sg_crypto_key_free(k);
    sg_crypto_key_free(other);
    tu_rmdir(dir);
    tu_rmdir(dir2);
}

static void test_same_plaintext_differs(void **state)
{
    (void)state;
    char dir[128], msg[256];
    sg_crypto_key *k = fresh_key(dir, sizeof dir);
    const char *s = "same";
    unsigned char *a, *b;
    size_t al, bl;
    assert_int_equal(sg_crypto_seal(k, NULL, s, 4, &a, &al, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_crypto_seal(k, NULL, s, 4, &b, &bl, msg, sizeof msg), SG_OK);
    assert_int_equal(al, bl);
    /* Different nonces, so different ciphertexts and tags. */
    assert_memory_not_equal(a + 1, b + 1, 24);
    assert_memory_not_equal(a + 25, b + 25, al - 25);
    /* And over many seals, no nonce repeats. */
    enum { N = 2000 };
    unsigned char(*nonces)[24] = malloc(N * 24);
    assert_non_null(nonces);
    for (int i = 0; i < N; i++) {
        unsigned char *c;
        size_t cl;
        assert_int_equal(sg_crypto_seal(k, NULL, s, 4, &c, &cl, msg, sizeof msg), SG_OK);
        memcpy(nonces[i], c + 1, 24);
        free(c);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_true(memcmp(nonces[i], nonces[j], 24) != 0);
    free(nonces);
    free(a);
    free(b);
    sg_crypto_key_free(k);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_file_create_and_modes),
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_pynacl_interop),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_tampering_fails),
        cmocka_unit_test(test_same_plaintext_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
