/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Messages, names and HTTP statuses for sg_err, all generated from SG_ERROR_MAP so the
 * three views of an error stay in step.
 */
#include "safegrid/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *sg_strerror(sg_err err)
{
    switch (err) {
#define X(name, msg)                                                                               \
    case SG_##name:                                                                                \
        return msg;
        SG_ERROR_MAP(X)
#undef X
    default:
        return "unknown error";
    }
}

const char *sg_errname(sg_err err)
{
    switch (err) {
#define X(name, msg)                                                                               \
    case SG_##name:                                                                                \
        return #name;
        SG_ERROR_MAP(X)
#undef X
    default:
        return "UNKNOWN";
    }
}

int sg_err_http_status(sg_err err)
{
    switch (err) {
    case SG_OK:
        return 200;
    case SG_INVAL:
    case SG_CORRUPT:
        return 400;
    case SG_UNAUTH:
        return 401;
    case SG_FORBIDDEN:
        return 403;
    case SG_NOTFOUND:
        return 404;
    case SG_CONFLICT:
        return 409;
    case SG_TOOBIG:
        return 413;
    case SG_RATELIMIT:
        return 429;
    case SG_UNSUPPORTED:
        return 501;
    case SG_BUSY:
        return 503;
    default:
        return 500;
    }
}

sg_err sg_errf(sg_err err, char *buf, unsigned long n, const char *fmt, ...)
{
    if (buf != NULL && n > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, n, fmt, ap);
        va_end(ap);
    }
    return err;
}
