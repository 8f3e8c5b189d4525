/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Open311 GeoReport v2 under /open311/v2/ (src/http_open311.c): its rows of the router
 * table, spliced into the table in src/http_api.c.
 */
#ifndef SAFEGRID_HTTP_OPEN311_H
#define SAFEGRID_HTTP_OPEN311_H

#include "http_int.h"

/* Rows {method, pattern, roles, flags, handler}, each followed by a comma. */
#define SG_HTTP_OPEN311_ROUTES

#endif
