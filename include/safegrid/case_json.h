/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A case as JSON: the one shape in which the HTTP API (GET /api/v1/cases, /cases/{id}, a
 * staff member's POST /api/v1/cases) and the CLI print a case:
 *   {"id", "tracking_code", "type", "category", "status", "priority", "title",
 *    "description", "lon", "lat", "area", "org", "created_at", "updated_at", "due_at",
 *    "closed_at", "escalations", "version", "source"}
 * with codes for the area and organisation, RFC 3339 UTC times, null for what is unknown.
 * Personal data is never part of it. Every writer appends to b and returns what the
 * buffer's appends return (SG_TOOBIG past its cap, SG_NOMEM).
 */
#ifndef SAFEGRID_CASE_JSON_H
#define SAFEGRID_CASE_JSON_H

#include <stdint.h>

#include "safegrid/area.h"
#include "safegrid/buf.h"
#include "safegrid/case.h"
#include "safegrid/error.h"

/** Appends case c as one JSON object, its area and organisation named by their codes in
 *  areas (borrowed; NULL writes both as null). */
sg_err sg_case_json_write(sg_buf *b, const sg_case *c, const sg_areas *areas);

/** The members of that object without the braces: sg_case_json_head(), then
 *  sg_case_json_places(), then sg_case_json_tail(). */
sg_err sg_case_json_fields(sg_buf *b, const sg_case *c, const sg_areas *areas);

/** The members from "id" to "lat". */
sg_err sg_case_json_head(sg_buf *b, const sg_case *c);

/** ",\"area\":CODE,\"org\":CODE" for area_id and org_id (0: null) in areas. */
sg_err sg_case_json_places(sg_buf *b, int64_t area_id, int64_t org_id, const sg_areas *areas);

/** The members from ",\"created_at\"" to "source". */
sg_err sg_case_json_tail(sg_buf *b, const sg_case *c);

#endif
