/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A preloadable shim that makes file I/O fail on purpose, as SQLite's own tests do with
 * their fault-injecting VFS, but from outside the program: LD_PRELOAD puts it in front of
 * libc for any binary, so the fault tests (tests/unit/test_iofault.c, docs/faults.md) run
 * the real `safegrid` unchanged. SQLite reaches the disk through these calls (its unix
 * VFS calls pwrite/pwrite64/write and fdatasync/fsync through the dynamic linker), so a
 * failure here is what the store would see from a failing or full disk.
 *
 * Only writes and syncs of regular files count, and never of standard input, output and
 * error (the program's own log), so that sockets and logs are untouched. Selected by the
 * environment:
 *
 *   SG_FAIL_WRITE=N    the Nth write (write, pwrite, pwrite64, writev, pwritev) fails, EIO
 *   SG_FAIL_SYNC=N     the Nth fsync or fdatasync fails, EIO
 *   SG_FAIL_ENOSPC=B   the disk is full after B more bytes: the write that crosses B is
 *                      short, every later one fails with ENOSPC (as a full disk does)
 *   SG_FAIL_PERSIST=1  with WRITE or SYNC: the Nth call and every later one fail
 *   SG_FAIL_MATCH=S    count only files whose path contains S (default: every file)
 *   SG_FAIL_REPORT=P   at exit, append "writes=W syncs=S bytes=B failed=F" to file P
 *
 * Build: make build/rel/failio.so
 * Use:   LD_PRELOAD=build/rel/failio.so SG_FAIL_SYNC=3 build/rel/safegrid serve --db x.db
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static long n_writes, n_syncs, n_failed;
static long long n_bytes;

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && v[0] ? atol(v) : dflt;
}

/* True if fd is a regular file this shim should count. */
static int counted(int fd)
{
    struct stat st;
    if (fd <= 2 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    const char *match = getenv("SG_FAIL_MATCH");
    if (match == NULL || match[0] == '\0')
        return 1;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return strstr(path, match) != NULL;
}

/* Whether call number k (1-based) of the kind set by env must fail. */
static int nth_fails(const char *env, long k)
{
    long n = env_long(env, 0);
    if (n <= 0)
        return 0;
    return k == n || (k > n && env_long("SG_FAIL_PERSIST", 0) != 0);
}

/* Decides a write of len bytes to fd: returns -1 with errno set if it must fail, else the
 * number of bytes it may write (len, or fewer when the disk fills up inside it). */
static ssize_t admit_write(int fd, size_t len)
{
    if (!counted(fd))
        return (ssize_t)len;
    long k = __atomic_add_fetch(&n_writes, 1, __ATOMIC_SEQ_CST);
    if (nth_fails("SG_FAIL_WRITE", k)) {
        __atomic_add_fetch(&n_failed, 1, __ATOMIC_SEQ_CST);
        errno = EIO;
        return -1;
    }
    long long cap = env_long("SG_FAIL_ENOSPC", -1);
    long long before = __atomic_fetch_add(&n_bytes, (long long)len, __ATOMIC_SEQ_CST);
    if (cap >= 0 && before + (long long)len > cap) {
        if (before >= cap || len == 0) {
            __atomic_add_fetch(&n_failed, 1, __ATOMIC_SEQ_CST);
            errno = ENOSPC;
            return -1;
        }
        return (ssize_t)(cap - before);
    }
    return (ssize_t)len;
}

static int admit_sync(int fd)
{
    if (!counted(fd))
        return 0;
    long k = __atomic_add_fetch(&n_syncs, 1, __ATOMIC_SEQ_CST);
    if (nth_fails("SG_FAIL_SYNC", k)) {
        __atomic_add_fetch(&n_failed, 1, __ATOMIC_SEQ_CST);
        errno = EIO;
        return -1;
    }
    return 0;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*sync_fn)(int);

/* Declares real_NAME, libc's function NAME of type TYPE, looked up on first use. */
#define REAL(name, type)                                                                           \
    static type real_##name;                                                                       \
    if (real_##name == NULL)                                                                       \
    *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t len)
{
    REAL(write, write_fn);
    ssize_t ok = admit_write(fd, len);
    return ok < 0 ? -1 : real_write(fd, buf, (size_t)ok);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    REAL(pwrite, pwrite_fn);
    ssize_t ok = admit_write(fd, len);
    return ok < 0 ? -1 : real_pwrite(fd, buf, (size_t)ok, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
    REAL(pwrite64, pwrite64_fn);
    ssize_t ok = admit_write(fd, len);
    return ok < 0 ? -1 : real_pwrite64(fd, buf, (size_t)ok, off);
}

/* Vectored writes fail whole or not at all; a full disk refuses one that does not fit. */
static ssize_t admit_vector(int fd, const struct iovec *iov, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    ssize_t ok = admit_write(fd, len);
    if (ok >= 0 && (size_t)ok < len) {
        errno = ENOSPC;
        return -1;
    }
    return ok;
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    REAL(writev, writev_fn);
    return admit_vector(fd, iov, n) < 0 ? -1 : real_writev(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    REAL(pwritev, pwritev_fn);
    return admit_vector(fd, iov, n) < 0 ? -1 : real_pwritev(fd, iov, n, off);
}

int fsync(int fd)
{
    REAL(fsync, sync_fn);
    return admit_sync(fd) < 0 ? -1 : real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync, sync_fn);
    return admit_sync(fd) < 0 ? -1 : real_fdatasync(fd);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("SG_FAIL_REPORT");
    if (path == NULL || path[0] == '\0')
        return;
    /* through the real write: this file is not part of the experiment */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0)
        return;
    char line[160];
    int n = snprintf(line, sizeof line, "writes=%ld syncs=%ld bytes=%lld failed=%ld\n", n_writes,
                     n_syncs, n_bytes, n_failed);
    write_fn w;
    *(void **)&w = dlsym(RTLD_NEXT, "write");
    if (w && n > 0)
        (void)w(fd, line, (size_t)n);
    close(fd);
}
