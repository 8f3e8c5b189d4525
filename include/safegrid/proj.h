/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Reprojection of imported coordinates to WGS84 longitude/latitude with PROJ. safegrid
 * stores every location as WGS84 (EPSG:4326) lon/lat; imports name their source CRS as a
 * user would write it ("EPSG:31983", "31983", a PROJ string or WKT) and convert each point
 * on the way in. The output order is always longitude, latitude (x, y), whatever axis order
 * the EPSG definition declares.
 *
 * Not thread-safe per object: each sg_proj owns its own PROJ context, so use one object per
 * thread (creating several for the same CRS is cheap enough for import workers).
 */
#ifndef SAFEGRID_PROJ_H
#define SAFEGRID_PROJ_H

#include <stddef.h>

#include "safegrid/error.h"

typedef struct sg_proj sg_proj;

/** Creates a transformation from the CRS srs to WGS84 lon/lat. srs is "EPSG:29193",
 *  a bare code "29193" (taken as EPSG), any other AUTHORITY:CODE PROJ knows, a PROJ string
 *  ("+proj=tmerc +lon_0=-45 ... "; +type=crs is added if missing) or WKT. On SG_OK *out is
 *  owned by the caller (release with sg_proj_free); on error *out is untouched and msg
 *  says why. Errors: SG_INVAL (empty, unknown or not a CRS: msg quotes srs and PROJ's
 *  reason), SG_UNSUPPORTED (no transformation to WGS84 exists), SG_NOMEM. */
sg_err sg_proj_new(const char *srs, sg_proj **out, char *msg, size_t n);

/** Transforms one point (x, y in the source CRS's units and its own axis order as
 *  normalised for visualisation: easting/longitude first) to *lon, *lat in degrees.
 *  SG_INVAL if x or y is not finite or the point is outside what the projection can
 *  invert; *lon and *lat are untouched on error. */
sg_err sg_proj_to_wgs84(sg_proj *p, double x, double y, double *lon, double *lat);

/** Transforms n points in place: xs[i], ys[i] become lon, lat. Points that cannot be
 *  transformed (non-finite input or outside the domain) become NAN in both arrays; the
 *  number of such points is stored in *n_failed (if not NULL). Faster than n single calls.
 *  SG_INVAL only if the arrays are NULL with n > 0. */
sg_err sg_proj_to_wgs84_n(sg_proj *p, double *xs, double *ys, size_t n, size_t *n_failed);

/** The source CRS's name as PROJ reports it ("SAD69 / UTM zone 23S", or "unknown" for a
 *  PROJ string); owned by p. */
const char *sg_proj_name(const sg_proj *p);

/** Releases p and its PROJ context. NULL-safe. */
void sg_proj_free(sg_proj *p);

#endif
