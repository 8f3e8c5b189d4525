/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Reprojection to WGS84 with PROJ. Each sg_proj owns a PROJ context (PROJ contexts are not
 * thread-safe, and a context per object makes the "one object per thread" rule the only
 * rule). The source CRS is parsed on its own first, so that a typo gets the message "not a
 * CRS" rather than an opaque failure of the pipeline; then PROJ picks the best available
 * transformation to EPSG:4326 and proj_normalize_for_visualization fixes the axis order to
 * lon/lat (EPSG:4326 itself is lat/lon). PROJ's own logging is silenced: errors reach the
 * caller through the message buffer instead of stderr. Network grids stay disabled, so the
 * result never depends on what a CDN serves.
 */
#include "safegrid/proj.h"

#include <math.h>
#include <proj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sg_proj {
    PJ_CONTEXT *ctx;
    PJ *pj;
    char name[128];
};

void sg_proj_free(sg_proj *p)
{
    if (p == NULL)
        return;
    if (p->pj)
        proj_destroy(p->pj);
    if (p->ctx)
        proj_context_destroy(p->ctx);
    free(p);
}

static const char *ctx_error(PJ_CONTEXT *ctx)
{
    int e = proj_context_errno(ctx);
    const char *s = e ? proj_context_errno_string(ctx, e) : NULL;
    return s ? s : "not recognised";
}

/* Builds the definition PROJ should parse: bare digits become EPSG:<digits>, a PROJ string
 * gets +type=crs so that it denotes a CRS rather than an operation. Returns malloc'd text. */
static char *normalise_srs(const char *srs)
{
    while (*srs == ' ' || *srs == '\t')
        srs++;
    size_t len = strlen(srs);
    while (len > 0 && (srs[len - 1] == ' ' || srs[len - 1] == '\t' || srs[len - 1] == '\n'))
        len--;
    size_t digits = strspn(srs, "0123456789");
    char *out = malloc(len + 32);
    if (out == NULL)
        return NULL;
    if (len > 0 && digits == len)
        snprintf(out, len + 32, "EPSG:%.*s", (int)len, srs);
    else if (srs[0] == '+' && strstr(srs, "type=crs") == NULL)
        snprintf(out, len + 32, "%.*s +type=crs", (int)len, srs);
    else
        snprintf(out, len + 32, "%.*s", (int)len, srs);
    return out;
}

sg_err sg_proj_new(const char *srs, sg_proj **out, char *msg, size_t n)
{
    if (srs == NULL || srs[strspn(srs, " \t\n")] == '\0')
        return sg_errf(SG_INVAL, msg, n, "no coordinate reference system given");
    sg_err err = SG_NOMEM;
    PJ *src = NULL, *dst = NULL, *op = NULL;
    char *def = NULL;
    sg_proj *p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto fail;
    p->ctx = proj_context_create();
    if (p->ctx == NULL)
        goto fail;
    proj_log_level(p->ctx, PJ_LOG_NONE);
    proj_context_set_enable_network(p->ctx, 0);
    def = normalise_srs(srs);
    if (def == NULL)
        goto fail;
    src = proj_create(p->ctx, def);
    if (src == NULL) {
        err = sg_errf(SG_INVAL, msg, n, "unknown coordinate reference system \"%.200s\": %s", srs,
                      ctx_error(p->ctx));
        goto fail;
    }
    if (!proj_is_crs(src)) {
        err = sg_errf(SG_INVAL, msg, n,
                      "\"%.200s\" is not a coordinate reference system (a PROJ string needs "
                      "+proj=... with a datum or ellipsoid)",
                      srs);
        goto fail;
    }
    const char *nm = proj_get_name(src);
    snprintf(p->name, sizeof p->name, "%s", nm ? nm : "unknown");
    dst = proj_create(p->ctx, "EPSG:4326");
    if (dst == NULL) {
        err = sg_errf(SG_UNSUPPORTED, msg, n,
                      "EPSG:4326 is unavailable: %s (is proj-data installed?)", ctx_error(p->ctx));
        goto fail;
    }
    op = proj_create_crs_to_crs_from_pj(p->ctx, src, dst, NULL, NULL);
    if (op == NULL) {
        err = sg_errf(SG_UNSUPPORTED, msg, n, "no transformation from \"%.200s\" to WGS84: %s", srs,
                      ctx_error(p->ctx));
        goto fail;
    }
    p->pj = proj_normalize_for_visualization(p->ctx, op);
    if (p->pj == NULL) {
        err = sg_errf(SG_UNSUPPORTED, msg, n, "cannot fix the axis order for \"%.200s\": %s", srs,
                      ctx_error(p->ctx));
        goto fail;
    }
    proj_destroy(op);
    proj_destroy(dst);
    proj_destroy(src);
    free(def);
    *out = p;
    return SG_OK;
fail:
    if (err == SG_NOMEM)
        sg_errf(SG_NOMEM, msg, n, "out of memory");
    proj_destroy(op); /* proj_destroy(NULL) is a no-op */
    proj_destroy(dst);
    proj_destroy(src);
    free(def);
    sg_proj_free(p);
    return err;
}

sg_err sg_proj_to_wgs84(sg_proj *p, double x, double y, double *lon, double *lat)
{
    if (p == NULL || !isfinite(x) || !isfinite(y))
        return SG_INVAL;
    proj_errno_reset(p->pj);
    PJ_COORD c = proj_trans(p->pj, PJ_FWD, proj_coord(x, y, 0, 0));
    /* PROJ reports a point it cannot transform as HUGE_VAL (infinity). */
    if (!isfinite(c.xy.x) || !isfinite(c.xy.y) || fabs(c.xy.x) > 180.0 + 1e-9 ||
        fabs(c.xy.y) > 90.0 + 1e-9)
        return SG_INVAL;
    *lon = c.xy.x;
    *lat = c.xy.y;
    return SG_OK;
}

sg_err sg_proj_to_wgs84_n(sg_proj *p, double *xs, double *ys, size_t n, size_t *n_failed)
{
    if (p == NULL || (n > 0 && (xs == NULL || ys == NULL)))
        return SG_INVAL;
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(xs[i]) || !isfinite(ys[i]))
            xs[i] = ys[i] = HUGE_VAL; /* PROJ passes HUGE_VAL through as "no value" */
    }
    proj_errno_reset(p->pj);
    proj_trans_generic(p->pj, PJ_FWD, xs, sizeof(double), n, ys, sizeof(double), n, NULL, 0, 0,
                       NULL, 0, 0);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(xs[i]) || !isfinite(ys[i]) || xs[i] < -180.0 - 1e-9 || xs[i] > 180.0 + 1e-9 ||
            fabs(ys[i]) > 90.0 + 1e-9) {
            xs[i] = ys[i] = NAN;
            failed++;
        }
    }
    if (n_failed)
        *n_failed = failed;
    return SG_OK;
}

const char *sg_proj_name(const sg_proj *p)
{
    return p ? p->name : "unknown";
}
