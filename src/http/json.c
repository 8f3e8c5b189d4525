/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * JSON in and out of handlers: the strict reader of a request's JSON body (one object, no
 * duplicate keys, only the members the handler names) and the writers that turn a jansson
 * tree or a hand-written buffer (src/core/jsonbuf.c) into a reply in the request's arena.
 * Kept apart from the server core so that handlers never see libmicrohttpd.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

sg_err sg_http_reply_buf(sg_http_req *r, sg_buf *b, sg_err err, sg_http_reply *out, char *msg,
                         size_t n)
{
    char *body = err ? NULL : sg_arena_strndup(&r->arena, b->data, b->len);
    size_t len = b->len;
    sg_buf_fini(b);
    if (body == NULL)
        return sg_errf(SG_NOMEM, msg, n, "the response exceeds the request's memory limit");
    out->body = body;
    out->len = len;
    out->ctype = "application/json";
    return SG_OK;
}

json_t *sg_json_str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *sg_json_num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

sg_err sg_http_reply_take(sg_http_req *r, json_t *j, sg_http_reply *out, char *msg, size_t n)
{
    if (j == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory building the response");
    sg_err err = sg_http_reply_json(r, j, out);
    json_decref(j);
    if (err == SG_TOOBIG)
        return sg_errf(SG_NOMEM, msg, n, "the response exceeds the request's memory limit");
    if (err)
        return sg_errf(err, msg, n, "could not serialise the response");
    return SG_OK;
}
sg_err sg_http_req_json(sg_http_req *r, const char *const *keys, void **out, char *msg, size_t n)
{
    const char *ct = sg_http_req_header(r, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
        return sg_errf(SG_INVAL, msg, n, "the body must be JSON (Content-Type: application/json)");
    if (r->body == NULL || r->body_len == 0)
        return sg_errf(SG_INVAL, msg, n, "the request needs a JSON object as its body");
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return sg_errf(SG_INVAL, msg, n, "the body is not valid JSON: %s at character %d", je.text,
                       je.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return sg_errf(SG_INVAL, msg, n, "the body must be a JSON object");
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (keys[i] == NULL) {
            sg_errf(SG_INVAL, msg, n, "unknown field %.64s", key);
            json_decref(j);
            return SG_INVAL;
        }
    }
    *out = j;
    return SG_OK;
}

sg_err sg_http_reply_json(sg_http_req *r, const void *j, sg_http_reply *out)
{
    size_t need = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (need == 0)
        return SG_INVAL;
    char *buf = sg_arena_alloc(&r->arena, need);
    if (buf == NULL)
        return SG_TOOBIG;
    json_dumpb(j, buf, need, JSON_COMPACT | JSON_REAL_PRECISION(12));
    out->body = buf;
    out->len = need;
    out->ctype = "application/json";
    return SG_OK;
}
