/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * safegrid result codes. Every fallible function in the library returns an sg_err;
 * results travel through out-parameters that are left untouched on failure. The codes
 * are one X-macro table so that the enum, the messages and the HTTP mapping cannot
 * drift apart.
 */
#ifndef SAFEGRID_ERROR_H
#define SAFEGRID_ERROR_H

/* clang-format off */
#define SG_ERROR_MAP(X)                                         \
    X(OK,          "success")                                   \
    X(NOMEM,       "out of memory")                             \
    X(INVAL,       "invalid argument")                          \
    X(NOTFOUND,    "not found")                                 \
    X(CONFLICT,    "conflicting change")                        \
    X(FORBIDDEN,   "not allowed for this account")              \
    X(UNAUTH,      "authentication required")                   \
    X(TOOBIG,      "input exceeds the configured limit")        \
    X(IO,          "input/output error")                        \
    X(CORRUPT,     "data is corrupt or truncated")              \
    X(UNSUPPORTED, "not supported")                             \
    X(BUSY,        "resource busy, try again")                  \
    X(RATELIMIT,   "too many requests")

typedef enum {
#define X(name, msg) SG_##name,
    SG_ERROR_MAP(X)
#undef X
    SG_N_ERRORS
} sg_err;
/* clang-format on */

/** Returns a static description of err; never NULL, also for out-of-range values. */
const char *sg_strerror(sg_err err);

/** Returns the symbolic name of err ("NOTFOUND"); never NULL. */
const char *sg_errname(sg_err err);

/** Returns the HTTP status that fits err (200, 400, 401, 403, 404, 409, 413, 429, 500). */
int sg_err_http_status(sg_err err);

/** Formats a message into buf (of size n, may be NULL/0) and returns err, so that
 *  `return sg_errf(SG_INVAL, msg, n, "bad %s", x);` reports and fails in one line. */
sg_err sg_errf(sg_err err, char *buf, unsigned long n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
