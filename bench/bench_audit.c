/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Benchmarks of the audit log and field encryption, each beside a peer measured in the
 * same run:
 *   1. durable appends (one fdatasync each) through sg_audit_append, against bare
 *      write()+fdatasync() of the same line bytes on an O_APPEND file (the floor);
 *      and the same entries appended in batches of 100 (one write and one sync each);
 *   2. the same from 4 threads sharing one handle;
 *   3. verifying a log of 200,000 entries, against a Python 3 verifier of the same chain
 *      (hashlib.blake2b + json, the hash and prev check only) and against `b2sum -l 256`
 *      hashing the whole file once (the cost of reading and hashing the bytes);
 *   4. sealing and opening 64-byte fields, against bare crypto_secretbox_easy/open_easy.
 * The log lives under $TMPDIR (default /tmp); the file system matters for (1) and (2).
 * Run: make build/rel/bench_audit && build/rel/bench_audit
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "safegrid/audit.h"
#include "safegrid/crypto.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_audit: %s: %s\n", what, msg);
    exit(1);
}

#define N_APPEND 2000
#define N_THREAD 500
#define N_VERIFY 200000
#define N_SEAL 200000

typedef struct targ {
    sg_audit *log;
    int id;
} targ;

static void *appender(void *p)
{
    targ *t = p;
    char msg[256], obj[32];
    for (int i = 0; i < N_THREAD; i++) {
        snprintf(obj, sizeof obj, "case/%d", i);
        if (sg_audit_append(t->log, "user:bench", "caseworker", "case.read_personal", obj, NULL,
                            NULL, msg, sizeof msg) != SG_OK)
            die("append", msg);
    }
    return NULL;
}

int main(void)
{
    if (sodium_init() < 0)
        die("sodium", "init");
    const char *base = getenv("TMPDIR");
    char dir[256], path[300], peer[300], big[300], msg[512];
    snprintf(dir, sizeof dir, "%s/bench_audit.XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    snprintf(peer, sizeof peer, "%s/peer.log", dir);
    snprintf(big, sizeof big, "%s/big.log", dir);
    printf("log directory: %s\n\n", dir);

    /* 1. durable appends */
    sg_audit *log;
    if (sg_audit_open(path, &log, msg, sizeof msg) != SG_OK)
        die("open", msg);
    double t0 = now();
    for (int i = 0; i < N_APPEND; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "case/%d", i);
        if (sg_audit_append(log, "user:bench", "caseworker", "case.read_personal", obj, NULL, NULL,
                            msg, sizeof msg) != SG_OK)
            die("append", msg);
    }
    double t_sg = now() - t0;
    sg_audit_close(log);
    /* The peer writes the very same bytes, line by line, each synced. */
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || stat(path, &st) != 0)
        die("read", path);
    char *bytes = malloc((size_t)st.st_size);
    if (bytes == NULL || fread(bytes, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        die("read", path);
    fclose(f);
    int fd = open(peer, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0640);
    if (fd < 0)
        die("open", peer);
    t0 = now();
    size_t off = 0;
    for (int i = 0; i < N_APPEND; i++) {
        char *nl = memchr(bytes + off, '\n', (size_t)st.st_size - off);
        size_t len = (size_t)(nl - (bytes + off)) + 1;
        if (write(fd, bytes + off, len) != (ssize_t)len || fdatasync(fd) != 0)
            die("write", peer);
        off += len;
    }
    double t_peer = now() - t0;
    close(fd);
    free(bytes);
    printf("1. durable appends: %d entries of about %lld bytes, one fdatasync each\n", N_APPEND,
           (long long)st.st_size / N_APPEND);
    printf("   sg_audit_append                 %8.3f s  %9.0f entries/s\n", t_sg, N_APPEND / t_sg);
    printf("   peer: write()+fdatasync()       %8.3f s  %9.0f entries/s\n", t_peer,
           N_APPEND / t_peer);
    printf("   ratio (sg time / peer time)     %8.2f\n", t_sg / t_peer);

    /* 1b. the same number of entries in batches of 100 (what a group-commit writer does) */
    unlink(path);
    if (sg_audit_open(path, &log, msg, sizeof msg) != SG_OK)
        die("open", msg);
    static char objs[100][32];
    sg_audit_entry batch[100];
    for (int i = 0; i < 100; i++) {
        snprintf(objs[i], sizeof objs[i], "case/%d", i);
        batch[i] =
            (sg_audit_entry){"user:bench", "caseworker", "case.read_personal", objs[i], NULL};
    }
    t0 = now();
    for (int b = 0; b < N_APPEND / 100; b++)
        if (sg_audit_append_batch(log, batch, 100, NULL, msg, sizeof msg) != SG_OK)
            die("batch", msg);
    double t_batch = now() - t0;
    sg_audit_close(log);
    printf("   sg_audit_append_batch, 100/batch %8.3f s  %9.0f entries/s  (ratio to the "
           "one-by-one peer %.3f)\n\n",
           t_batch, N_APPEND / t_batch, t_batch / t_peer);

    /* 2. four threads, one handle */
    unlink(path);
    if (sg_audit_open(path, &log, msg, sizeof msg) != SG_OK)
        die("open", msg);
    pthread_t th[4];
    targ ta[4];
    t0 = now();
    for (int i = 0; i < 4; i++) {
        ta[i] = (targ){log, i};
        pthread_create(&th[i], NULL, appender, &ta[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    double t_th = now() - t0;
    sg_audit_close(log);
    sg_audit_report r;
    if (sg_audit_verify(path, NULL, &r, msg, sizeof msg) != SG_OK || r.n_entries != 4 * N_THREAD)
        die("verify", msg);
    printf("2. 4 threads x %d appends through one handle: %.3f s, %.0f entries/s "
           "(chain verified, %llu entries)\n\n",
           N_THREAD, t_th, 4 * N_THREAD / t_th, (unsigned long long)r.n_entries);

    /* 3. verification of a large log, written here in the exact format (no syncs) */
    f = fopen(big, "wb");
    if (f == NULL)
        die("open", big);
    unsigned char h[32];
    char prev[65], line[512];
    crypto_generichash(h, 32, (const unsigned char *)SG_AUDIT_GENESIS, strlen(SG_AUDIT_GENESIS),
                       NULL, 0);
    sodium_bin2hex(prev, sizeof prev, h, 32);
    for (int i = 1; i <= N_VERIFY; i++) {
        int len =
            snprintf(line, sizeof line,
                     "{\"seq\":%d,\"time\":\"2026-11-25T18:%02d:%02dZ\",\"actor\":\"user:u%d\","
                     "\"role\":\"caseworker\",\"action\":\"case.read_personal\","
                     "\"object\":\"case/%d\",\"detail\":{\"field\":\"reporter_contact\"},"
                     "\"prev\":\"%s\"}\n",
                     i, (i / 60) % 60, i % 60, i % 97, i * 7, prev);
        fwrite(line, 1, (size_t)len, f);
        crypto_generichash(h, 32, (const unsigned char *)line, (size_t)len, NULL, 0);
        sodium_bin2hex(prev, sizeof prev, h, 32);
    }
    fclose(f);
    stat(big, &st);
    double mb = (double)st.st_size / 1e6;
    t0 = now();
    sg_err err = sg_audit_verify(big, NULL, &r, msg, sizeof msg);
    double t_ver = now() - t0;
    if (err != SG_OK || r.n_entries != N_VERIFY || strcmp(r.last_hash, prev) != 0)
        die("verify", msg);
    char cmd[1024], out[256];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import hashlib, json, sys\n"
             "prev = hashlib.blake2b(b'%s', digest_size=32).hexdigest(); n = 0\n"
             "for line in open(sys.argv[1], 'rb'):\n"
             "    e = json.loads(line)\n"
             "    assert e['prev'] == prev and e['seq'] == n + 1\n"
             "    prev = hashlib.blake2b(line, digest_size=32).hexdigest(); n += 1\n"
             "print(n, prev)\" '%s'",
             SG_AUDIT_GENESIS, big);
    t0 = now();
    FILE *p = popen(cmd, "r");
    if (p == NULL || fgets(out, sizeof out, p) == NULL)
        die("python3", "no output");
    double t_py = now() - t0;
    pclose(p);
    char want[128];
    snprintf(want, sizeof want, "%d %s\n", N_VERIFY, prev);
    if (strcmp(out, want) != 0)
        die("python3 disagrees", out);
    snprintf(cmd, sizeof cmd, "b2sum -l 256 '%s'", big);
    t0 = now();
    p = popen(cmd, "r");
    if (p == NULL || fgets(out, sizeof out, p) == NULL)
        die("b2sum", "no output");
    double t_b2 = now() - t0;
    pclose(p);
    printf("3. verify a log of %d entries, %.1f MB (page cache)\n", N_VERIFY, mb);
    printf("   sg_audit_verify (parse, canonical form, seq, prev)  %7.3f s  %8.0f entries/s  "
           "%6.1f MB/s\n",
           t_ver, N_VERIFY / t_ver, mb / t_ver);
    printf("   peer: Python 3 hashlib+json (prev and seq only)     %7.3f s  %8.0f entries/s  "
           "%6.1f MB/s  (agrees: same last hash)\n",
           t_py, N_VERIFY / t_py, mb / t_py);
    printf("   peer: b2sum -l 256 of the whole file (hash only)    %7.3f s  %8s            "
           "%6.1f MB/s\n",
           t_b2, "-", mb / t_b2);
    printf("   ratio sg/python %.2f, sg/b2sum %.2f\n\n", t_ver / t_py, t_ver / t_b2);

    /* 4. sealing and opening 64-byte fields */
    char keypath[300];
    snprintf(keypath, sizeof keypath, "%s/field.key", dir);
    sg_crypto_key *key;
    if (sg_crypto_key_create(keypath, msg, sizeof msg) != SG_OK ||
        sg_crypto_key_load(keypath, &key, msg, sizeof msg) != SG_OK)
        die("key", msg);
    const char plain[65] = "Maria Silva, +55 31 99999-0000, Rua da Bahia 1148, Centro, BH!!";
    unsigned char **blobs = malloc(N_SEAL * sizeof *blobs);
    size_t blen = 0;
    if (blobs == NULL)
        die("malloc", "blobs");
    t0 = now();
    for (int i = 0; i < N_SEAL; i++)
        if (sg_crypto_seal(key, "case.reporter_contact", plain, 64, &blobs[i], &blen, msg,
                           sizeof msg) != SG_OK)
            die("seal", msg);
    double t_seal = now() - t0;
    t0 = now();
    for (int i = 0; i < N_SEAL; i++) {
        char *o;
        size_t ol;
        if (sg_crypto_open(key, "case.reporter_contact", blobs[i], blen, &o, &ol, msg,
                           sizeof msg) != SG_OK)
            die("open", msg);
        sg_crypto_free_plain(o, ol);
    }
    double t_open = now() - t0;
    for (int i = 0; i < N_SEAL; i++)
        free(blobs[i]);
    free(blobs);
    sg_crypto_key_free(key);
    unsigned char k[32], nonce[24], c[64 + 16], m[64];
    crypto_secretbox_keygen(k);
    t0 = now();
    for (int i = 0; i < N_SEAL; i++) {
        randombytes_buf(nonce, sizeof nonce);
        crypto_secretbox_easy(c, (const unsigned char *)plain, 64, nonce, k);
    }
    double t_pseal = now() - t0;
    t0 = now();
    for (int i = 0; i < N_SEAL; i++)
        if (crypto_secretbox_open_easy(m, c, sizeof c, nonce, k) != 0)
            die("peer open", "failed");
    double t_popen = now() - t0;
    printf("4. %d fields of 64 bytes, context-bound (subkey per call)\n", N_SEAL);
    printf("   sg_crypto_seal    %7.3f s  %9.0f/s   peer crypto_secretbox_easy + nonce  "
           "%7.3f s  %9.0f/s   ratio %.2f\n",
           t_seal, N_SEAL / t_seal, t_pseal, N_SEAL / t_pseal, t_seal / t_pseal);
    printf("   sg_crypto_open    %7.3f s  %9.0f/s   peer crypto_secretbox_open_easy     "
           "%7.3f s  %9.0f/s   ratio %.2f\n",
           t_open, N_SEAL / t_open, t_popen, N_SEAL / t_popen, t_open / t_popen);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
