/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * JSON values written by hand into a growable buffer, for the busiest answers: a tree of
 * jansson objects per case cost a third of a case read in profiles. The HTTP handlers and
 * the case layer's case writer (src/case/case_json.c) use the same three writers, so a
 * value reads the same wherever it is printed.
 */
#ifndef SAFEGRID_JSONBUF_H
#define SAFEGRID_JSONBUF_H

#include <stdint.h>

#include "safegrid/buf.h"
#include "safegrid/error.h"

/** Appends s as a JSON string (escaped), or null for NULL or "". Errors: what the buffer's
 *  appends return (SG_TOOBIG past its cap, SG_NOMEM). */
sg_err sg_json_buf_str(sg_buf *b, const char *s);

/** Appends Unix time t as an RFC 3339 UTC string, or null for 0 (or a year outside
 *  0000-9999). Errors as sg_json_buf_str's. */
sg_err sg_json_buf_time(sg_buf *b, int64_t t);

/** Appends v as a JSON number: null for NaN and infinities; below 1e9 in magnitude rounded
 *  to nine decimals with trailing zeros dropped; otherwise %.17g. Errors as
 *  sg_json_buf_str's. */
sg_err sg_json_buf_num(sg_buf *b, double v);

#endif
