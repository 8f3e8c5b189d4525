/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Benchmarks of the audit log (kept in the database's `audit` table, appended in the
 * transaction of the write it records) and of field encryption, each beside a peer
 * measured in the same run:
 *   1. durable appends one at a time through sg_store_audit (each its own transaction:
 *      one commit and one sync of the WAL), against bare write()+fdatasync() of the same
 *      line bytes, one line at a time, on an O_APPEND file (the floor for a durable line);
 *   2. the same number of entries from 4 threads sharing one store, where the writer's
 *      group commit shares one sync among the entries queued together; against the same
 *      floor, per entry;
 *   3. verifying a database holding 200,000 entries with sg_store_audit_verify, against a
 *      Python 3 verifier of the same chain (hashlib.blake2b + json, the hash and seq check
 *      only) and against `b2sum -l 256` hashing the whole file once (the cost of reading and
 *      hashing the bytes), both run on the database's export (the export itself, which
 *      verifies as it writes, and sg_audit_verify of the file are timed too);
 *   4. sealing and opening 64-byte fields, against bare crypto_secretbox_easy/open_easy.
 * The files live under $TMPDIR (default /tmp); the file system matters for (1) and (2).
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
#include <sqlite3.h>

#include "safegrid/audit.h"
#include "safegrid/crypto.h"
#include "safegrid/store.h"

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
#define N_THREADS 4
#define N_VERIFY 200000
#define N_SEAL 200000

static sg_store *open_store(const char *path)
{
    sg_store *s;
    char msg[512];
    if (sg_store_open(path, &s, msg, sizeof msg) != SG_OK)
        die("open", msg);
    return s;
}

/* Exports the whole log of s to path and returns its bytes (malloc'd) and length. */
static char *export_log(sg_store *s, const char *path, size_t *len)
{
    char msg[512];
    FILE *f = fopen(path, "w+b");
    if (f == NULL)
        die("open", path);
    if (sg_store_audit_export(s, f, 1, 0, msg, sizeof msg) != SG_OK)
        die("export", msg);
    long n = ftell(f);
    char *bytes = malloc((size_t)n + 1);
    if (n <= 0 || bytes == NULL || fseek(f, 0, SEEK_SET) != 0 ||
        fread(bytes, 1, (size_t)n, f) != (size_t)n)
        die("read", path);
    fclose(f);
    *len = (size_t)n;
    return bytes;
}

typedef struct targ {
    sg_store *s;
    int id;
} targ;

static void *appender(void *p)
{
    targ *t = p;
    char msg[256], obj[32];
    for (int i = t->id; i < N_APPEND; i += N_THREADS) {
        snprintf(obj, sizeof obj, "case/%d", i);
        sg_audit_entry e = {"user:bench", "caseworker", "case.read_personal", obj, NULL};
        if (sg_store_audit(t->s, &e, msg, sizeof msg) != SG_OK)
            die("append", msg);
    }
    return NULL;
}

int main(void)
{
    if (sodium_init() < 0)
        die("sodium", "init");
    const char *base = getenv("TMPDIR");
    char dir[256], path[300], tpath[300], lines[300], peer[300], bigdb[300], big[300], msg[512];
    snprintf(dir, sizeof dir, "%s/bench_audit.XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", dir);
    snprintf(path, sizeof path, "%s/append.db", dir);
    snprintf(tpath, sizeof tpath, "%s/threads.db", dir);
    snprintf(lines, sizeof lines, "%s/append.log", dir);
    snprintf(peer, sizeof peer, "%s/peer.log", dir);
    snprintf(bigdb, sizeof bigdb, "%s/big.db", dir);
    snprintf(big, sizeof big, "%s/big.log", dir);
    printf("directory: %s\n\n", dir);

    /* 1. durable appends, one at a time */
    sg_store *s = open_store(path);
    uint64_t c0, c1, w0, w1;
    sg_store_stats(s, &c0, &w0);
    double t0 = now();
    for (int i = 0; i < N_APPEND; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "case/%d", i);
        sg_audit_entry e = {"user:bench", "caseworker", "case.read_personal", obj, NULL};
        if (sg_store_audit(s, &e, msg, sizeof msg) != SG_OK)
            die("append", msg);
    }
    double t_sg = now() - t0;
    sg_store_stats(s, &c1, &w1);
    uint64_t commits_1 = c1 - c0;
    /* The peer writes the very same bytes, line by line, each synced. */
    size_t n_bytes;
    char *bytes = export_log(s, lines, &n_bytes);
    sg_store_close(s);
    int fd = open(peer, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0640);
    if (fd < 0)
        die("open", peer);
    t0 = now();
    size_t off = 0;
    for (int i = 0; i < N_APPEND; i++) {
        char *nl = memchr(bytes + off, '\n', n_bytes - off);
        if (nl == NULL)
            die("export", "fewer lines than entries");
        size_t len = (size_t)(nl - (bytes + off)) + 1;
        if (write(fd, bytes + off, len) != (ssize_t)len || fdatasync(fd) != 0)
            die("write", peer);
        off += len;
    }
    double t_peer = now() - t0;
    close(fd);
    free(bytes);
    double per_peer = t_peer / N_APPEND;
    printf("1. durable appends, one at a time: %d entries of about %zu bytes\n", N_APPEND,
           n_bytes / N_APPEND);
    printf("   sg_store_audit (%llu commits)        %8.3f s  %9.0f entries/s\n",
           (unsigned long long)commits_1, t_sg, N_APPEND / t_sg);
    printf("   peer: write()+fdatasync() per line  %8.3f s  %9.0f entries/s\n", t_peer,
           N_APPEND / t_peer);
    printf("   ratio (sg time / peer time)         %8.2f\n\n", t_sg / t_peer);

    /* 2. the same number of entries from 4 threads, one store */
    s = open_store(tpath);
    pthread_t th[N_THREADS];
    targ ta[N_THREADS];
    sg_store_stats(s, &c0, &w0);
    t0 = now();
    for (int i = 0; i < N_THREADS; i++) {
        ta[i] = (targ){s, i};
        if (pthread_create(&th[i], NULL, appender, &ta[i]) != 0)
            die("pthread_create", "failed");
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    double t_th = now() - t0;
    sg_store_stats(s, &c1, &w1);
    sg_audit_report r;
    if (sg_store_audit_verify(s, NULL, &r, msg, sizeof msg) != SG_OK || r.n_entries != N_APPEND)
        die("verify", msg);
    sg_store_close(s);
    printf("2. %d threads x %d appends through one store: %.3f s, %.0f entries/s\n", N_THREADS,
           N_APPEND / N_THREADS, t_th, N_APPEND / t_th);
    printf("   %llu commits (%.2f entries per sync); chain verified, %llu entries\n",
           (unsigned long long)(c1 - c0), (double)N_APPEND / (double)(c1 - c0),
           (unsigned long long)r.n_entries);
    printf("   ratio per entry to the one-by-one peer %.2f (below 1: cheaper than a sync per "
           "line)\n\n",
           (t_th / N_APPEND) / per_peer);

    /* 3. verification of a large log: rows written here in the exact format (one
     *    transaction, no sync per row) into the table the store created */
    sg_store_close(open_store(bigdb));
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open(bigdb, &db) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO audit (seq, line) VALUES (?, ?)", -1, &st, NULL) !=
            SQLITE_OK)
        die("sqlite", sqlite3_errmsg(db));
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
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_text(st, 2, line, len - 1, SQLITE_STATIC); /* the row holds no '\n' */
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
        crypto_generichash(h, 32, (const unsigned char *)line, (size_t)len, NULL, 0);
        sodium_bin2hex(prev, sizeof prev, h, 32);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die("commit", sqlite3_errmsg(db));
    sqlite3_close(db);
    sg_store_opts ro = {.readonly = 1};
    if (sg_store_open_opts(bigdb, &ro, &s, msg, sizeof msg) != SG_OK)
        die("open", msg);
    t0 = now();
    sg_err err = sg_store_audit_verify(s, NULL, &r, msg, sizeof msg);
    double t_ver = now() - t0;
    if (err != SG_OK || r.n_entries != N_VERIFY || strcmp(r.last_hash, prev) != 0)
        die("verify", msg);
    FILE *f = fopen(big, "wb");
    if (f == NULL)
        die("open", big);
    t0 = now();
    err = sg_store_audit_export(s, f, 1, 0, msg, sizeof msg);
    double t_exp = now() - t0;
    if (err != SG_OK || fclose(f) != 0)
        die("export", msg);
    sg_store_close(s);
    struct stat sb;
    if (stat(big, &sb) != 0)
        die("stat", big);
    double mb = (double)sb.st_size / 1e6;
    t0 = now();
    err = sg_audit_verify(big, NULL, &r, msg, sizeof msg);
    double t_fver = now() - t0;
    if (err != SG_OK || r.n_entries != N_VERIFY || strcmp(r.last_hash, prev) != 0)
        die("verify file", msg);
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
    printf("3. verify a log of %d entries, %.1f MB as exported (page cache)\n", N_VERIFY, mb);
    printf("   sg_store_audit_verify (database: parse, canonical form, seq, prev)  %7.3f s  "
           "%8.0f entries/s  %6.1f MB/s\n",
           t_ver, N_VERIFY / t_ver, mb / t_ver);
    printf("   sg_store_audit_export (verify, then verify and write the file)      %7.3f s  "
           "%8.0f entries/s  %6.1f MB/s\n",
           t_exp, N_VERIFY / t_exp, mb / t_exp);
    printf("   sg_audit_verify of the exported file                                %7.3f s  "
           "%8.0f entries/s  %6.1f MB/s\n",
           t_fver, N_VERIFY / t_fver, mb / t_fver);
    printf("   peer: Python 3 hashlib+json on the file (prev and seq only)         %7.3f s  "
           "%8.0f entries/s  %6.1f MB/s  (agrees: same last hash)\n",
           t_py, N_VERIFY / t_py, mb / t_py);
    printf("   peer: b2sum -l 256 of the whole file (hash only)                    %7.3f s  "
           "%8s            %6.1f MB/s\n",
           t_b2, "-", mb / t_b2);
    printf("   ratio sg_store_audit_verify/python %.2f, /b2sum %.2f\n\n", t_ver / t_py,
           t_ver / t_b2);

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
