/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The one intake of cases: every way a case comes in -- the web API (POST /api/v1/cases),
 * Open311 (POST /open311/v2/requests), CSV import and the CLI's `case new` -- creates it
 * through sg_intake_create() (or sg_intake_submit() and sg_intake_wait() to keep many in
 * flight), so that the checks cannot drift apart between them:
 *
 *  - personal data (the reporter's contact, a dispute's parties) is validated and sealed
 *    in one shape, the JSON object {"contact": TEXT, "parties": [TEXT, ...]} (members
 *    absent when not given), with libsodium secretbox under the context "case.personal";
 *    a server or tool without a field key REFUSES personal data (SG_INVAL) rather than
 *    dropping it silently, so that a reporter is never told their contact was kept when it
 *    was not;
 *  - a caller with an area scope (a staff account or an API key scoped to an area) may
 *    create a case only at a place inside that scope (SG_FORBIDDEN otherwise, and for a
 *    case without a place);
 *  - the place is located in the finest area once, and the case engine routes it from
 *    there (sg_case_create).
 */
#ifndef SAFEGRID_INTAKE_H
#define SAFEGRID_INTAKE_H

#include <stddef.h>

#include "safegrid/auth.h"
#include "safegrid/case.h"
#include "safegrid/crypto.h"
#include "safegrid/error.h"
#include "safegrid/store.h"

/** The longest contact text and party name accepted, in bytes. */
#define SG_INTAKE_MAX_CONTACT 200
/** The most parties a dispute may list. */
#define SG_INTAKE_MAX_PARTIES 20

/** A case to create. Everything is borrowed for the call. */
typedef struct sg_intake_case {
    sg_case_new c;              /* the case; c.personal must be NULL (the intake seals), and
                                   c.located is set by the intake */
    const char *contact;        /* the reporter's contact as one text, or NULL */
    const char *const *parties; /* a dispute's parties (n_parties names), or NULL */
    size_t n_parties;
} sg_intake_case;

/** Creates the case in as who (its name and role act on the timeline; its area scope,
 *  when not 0, bounds where it may create), sealing personal data with key (NULL: none
 *  is accepted). On SG_OK *out (may be NULL) holds the new case, released with
 *  sg_case_fini(). Errors: SG_INVAL (msg says which field: a contact longer than
 *  SG_INTAKE_MAX_CONTACT bytes, parties on a case that is not a dispute, personal data
 *  without a key, and everything sg_case_create refuses), SG_FORBIDDEN (a place outside
 *  who's scope, or who's role may not create this type), SG_NOTFOUND (unknown category),
 *  SG_CONFLICT (source_key already imported), SG_IO, SG_NOMEM. Returns once the case is
 *  durable.
 *
 *  From the CLI (`safegrid case new`), for example:
 *      sg_principal who = {.name = "cli", .role = SG_ROLE_CALLTAKER};
 *      sg_intake_case in = {.c = {.type = "incident", .category = "fire", .lon = lon,
 *                                 .lat = lat, .source = "cli"}, .contact = contact};
 *      err = sg_intake_create(store, &who, key_or_NULL, &in, &c, msg, sizeof msg);
 *  and sg_case_json_write() (safegrid/case_json.h) prints c as the API does. */
sg_err sg_intake_create(sg_store *s, const sg_principal *who, const sg_crypto_key *key,
                        const sg_intake_case *in, sg_case *out, char *msg, size_t n);

/** sg_intake_create() in two steps, for callers that keep many creations in flight (an
 *  import): checks, seals, locates and queues the creation in caller-owned p. Always pair
 *  with sg_intake_wait(), even when this returns an error. */
sg_err sg_intake_submit(sg_store *s, const sg_principal *who, const sg_crypto_key *key,
                        const sg_intake_case *in, sg_case_pending *p);

/** Waits for p's creation to be durable; on SG_OK moves the case into *out (NULL: drop
 *  it). msg receives the reason on error. Releases what p holds. */
sg_err sg_intake_wait(sg_store *s, sg_case_pending *p, sg_case *out, char *msg, size_t n);

#endif
