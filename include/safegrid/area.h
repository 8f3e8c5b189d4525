/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Areas in use: a read-only snapshot of the stored area hierarchy, organisations and
 * routing rules, with a point-location index per level, from which the case engine finds
 * a case's finest area and the organisation responsible for it. Snapshots are shared and
 * reference-counted; the store's geo generation tells when one is stale, and the next
 * acquire builds a fresh one, so a running program sees an import of areas or rules.
 */
#ifndef SAFEGRID_AREA_H
#define SAFEGRID_AREA_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"
#include "safegrid/store.h"

typedef struct sg_areas sg_areas;

/** Gives the current snapshot for s in *out, building it if the stored areas, organisations
 *  or rules changed. The caller holds a reference and must sg_areas_release() it. */
sg_err sg_areas_acquire(sg_store *s, sg_areas **out, char *msg, size_t n);

/** Drops a reference; NULL does nothing. */
void sg_areas_release(sg_areas *a);

/** Number of areas in the snapshot. */
size_t sg_areas_count(const sg_areas *a);

/** Finds the finest area containing (lon, lat): the grid level first, then community,
 *  township and county. SG_NOTFOUND if no area contains it. A point on a border between
 *  two areas of a level always goes to the same one of them. */
sg_err sg_areas_locate(const sg_areas *a, double lon, double lat, int64_t *area_id);

/** The area with this id, or NULL. Borrowed from the snapshot. */
const sg_area_row *sg_areas_get(const sg_areas *a, int64_t id);

/** The area with this code, or NULL (a scan: for requests, not for loops). Borrowed. */
const sg_area_row *sg_areas_find(const sg_areas *a, const char *code);

/** The organisation with this code, or NULL. Borrowed. */
const sg_org_row *sg_areas_find_org(const sg_areas *a, const char *code);

/** The organisation with this id, or NULL. Borrowed from the snapshot. */
const sg_org_row *sg_areas_org(const sg_areas *a, int64_t id);

/** Every organisation of the snapshot, by id; *n receives the count. Borrowed. */
const sg_org_row *sg_areas_org_list(const sg_areas *a, size_t *n);

/** Every routing rule of the snapshot, by area id; *n receives the count. Borrowed. */
const sg_rule_row *sg_areas_rule_list(const sg_areas *a, size_t *n);

/** The ancestor k levels up from area_id (k = 0: the area itself); 0 if there is none. */
int64_t sg_areas_ancestor(const sg_areas *a, int64_t area_id, int k);

/** The organisation responsible for a case of category in area_id: the rule of the most
 *  specific area on the way up from area_id to the top that covers it, a rule for the
 *  category beating a rule for any category at the same area. SG_NOTFOUND if no rule
 *  covers it. */
sg_err sg_areas_route(const sg_areas *a, const char *category, int64_t area_id, int64_t *org_id);

#endif
