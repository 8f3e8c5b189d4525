/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The web UI's files (docs/ui.md), served from the directory given with serve --web. Only
 * plain names of known types are served, straight from the file descriptor (libmicrohttpd
 * sends it with sendfile), with the headers a browser needs to keep the pages to
 * themselves: nosniff, no framing, no referrer, and a content security policy on HTML.
 * Nothing here is an API: a path that names no file falls through to the router's 404.
 */
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_int.h"

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

int sg_http_static_serve(sg_http *h, sg_http_req *r, const char *path, int *served)
{
    *served = 0;
    size_t len = strlen(path);
    if (len == 0 || path[0] != '/' || len > 200 || strstr(path, "/.") != NULL)
        return MHD_NO;
    for (size_t i = 0; i < len; i++) {
        char c = path[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/'))
            return MHD_NO;
    }
    char file[512];
    snprintf(file, sizeof file, "%s%s%s", h->web_dir, path,
             path[len - 1] == '/' ? "index.html" : "");
    const char *type = content_type_of(file);
    if (type == NULL)
        return MHD_NO;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MHD_NO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return MHD_NO;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    *served = 1;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    if (strncmp(type, "text/html", 9) == 0)
        MHD_add_response_header(
            resp, "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' "
            "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        r->responded = 1;
        r->status = 200;
        r->bytes = (size_t)st.st_size;
    }
    return ret;
}
