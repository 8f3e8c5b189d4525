/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Open311 GeoReport v2 under /open311/v2/ (src/http/api_open311.c) and the open-data exports
 * and public figures under /api/v1/export/ (src/http/api_export.c): the few pieces both
 * files share (the reply writer that speaks JSON and XML, the grid that blurs sensitive
 * locations). The parsers of Open311's own inputs are declared here too, so that the fuzz
 * target (fuzz/fuzz_open311.c) reaches them.
 */
#ifndef SAFEGRID_HTTP_OPEN311_H
#define SAFEGRID_HTTP_OPEN311_H

#include <stddef.h>
#include <stdint.h>

#include "http_int.h"
#include "safegrid/buf.h"

/* ---- Open311 input parsers (fuzzed) ---------------------------------------------------- */

/* Open311 errors gathered while checking one request: the spec's list of {code,
 * description}. Descriptions are copied into the list's own storage. */
#define SG_OPEN311_MAX_ERRORS 8
typedef struct sg_open311_errors {
    size_t n;
    int code[SG_OPEN311_MAX_ERRORS];
    char description[SG_OPEN311_MAX_ERRORS][160];
} sg_open311_errors;

/* Adds an error (printf-style description); past SG_OPEN311_MAX_ERRORS it is dropped. */
void sg_open311_error_add(sg_open311_errors *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses an application/x-www-form-urlencoded POST body with the strict query parser
 * (at most 32 fields): names must be in allowed, or start with "attribute" (the handler
 * then refuses any that is not "attribute[CODE]"). Everything comes
 * from arena a. SG_INVAL (msg says why) for a malformed body; *out untouched on error. */
sg_err sg_open311_form_parse(const char *body, const char *const *allowed, sg_arena *a,
                             sg_http_query *out, char *msg, size_t n);

/* Reads the CODE of a form field name "attribute[CODE]": on 1, *code and *len point into
 * name. CODE must be 1..64 characters, none of them '[' or ']'. Returns 0 for a name that
 * does not start with "attribute", -1 for one that does but is malformed. */
int sg_open311_attribute_code(const char *name, const char **code, size_t *len);

/* Splits a comma-separated list s (as service_request_id, service_code and status take)
 * into at most max items, each non-empty with spaces around it trimmed, as new strings
 * in arena a. Returns the count, or -1 for an empty item, more than max items or a full
 * arena. */
int sg_open311_split_list(const char *s, size_t max, sg_arena *a, const char **items);

/* Parses a decimal coordinate strictly (strtod over the whole text, finite). 0 on success. */
int sg_open311_parse_coord(const char *s, double *out);

/* Parses a W3C/ISO 8601 date-time ("2010-04-14T06:37:38-08:00", "...Z", or a date alone,
 * read as midnight UTC) into Unix seconds. 0 on success. */
int sg_open311_parse_time(const char *s, int64_t *out);

/* ---- shared by the Open311 and export handlers ------------------------------------------ */

/* The side of the grid, in metres, to which the locations of sensitive categories are
 * rounded in every public output: the server's sensitive_grid_m option (serve
 * --sensitive-grid), 500 by default. */
double sg_open311_grid_m(const sg_http_req *r);

/* Moves (lon, lat) to the centre of its cell of a grid of cells grid_m metres on a side
 * (an equirectangular grid: rows of grid_m / 111,320 degrees of latitude, and in each row
 * columns as wide in degrees of longitude as grid_m metres are at the row's centre). */
void sg_open311_round_location(double grid_m, double *lon, double *lat);

#endif
