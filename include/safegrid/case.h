/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The case engine: one model for all work. A case has a type (request, incident, dispute,
 * hazard, assessment) whose workflow -- states, transitions and the roles that may make
 * each -- is declared as data in src/case/case.c; the engine itself is generic. Every change is
 * an event appended to the case's timeline, and the case row is a projection of that
 * timeline updated in the same transaction. A version number gives optimistic concurrency:
 * a write made against a stale version fails with SG_CONFLICT and changes nothing.
 */
#ifndef SAFEGRID_CASE_H
#define SAFEGRID_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"
#include "safegrid/store.h"

/* clang-format off */
#define SG_ROLE_MAP(X)                 \
    X(PUBLIC,     "public")            \
    X(CALLTAKER,  "calltaker")         \
    X(DISPATCHER, "dispatcher")        \
    X(CASEWORKER, "caseworker")        \
    X(MEDIATOR,   "mediator")          \
    X(INSPECTOR,  "inspector")         \
    X(ANALYST,    "analyst")           \
    X(SUPERVISOR, "supervisor")        \
    X(ADMIN,      "admin")             \
    X(SYSTEM,     "system")

typedef enum {
#define X(name, text) SG_ROLE_BIT_##name,
    SG_ROLE_MAP(X)
#undef X
    SG_N_ROLES
} sg_role_bit;

typedef enum {
#define X(name, text) SG_ROLE_##name = 1u << SG_ROLE_BIT_##name,
    SG_ROLE_MAP(X)
#undef X
} sg_role;
/* clang-format on */

/** Returns the role's name ("caseworker"), or "?" for a value that is not one role. */
const char *sg_role_name(sg_role role);

/** Parses a role name into *out. SG_INVAL for an unknown name. */
sg_err sg_role_parse(const char *name, sg_role *out);

/** Who makes a change: a name for the timeline (an account name, "public", "system") and
 *  exactly one role. Both borrowed. */
typedef struct sg_actor {
    const char *name;
    sg_role role;
} sg_actor;

/** The five case types. */
#define SG_CASE_TYPES "request, incident, dispute, hazard, assessment"

/** Returns 1 if type names a case type. */
int sg_case_type_valid(const char *type);

/** Returns 1 if status is a state of type's workflow. */
int sg_case_status_valid(const char *type, const char *status);

/** Returns 1 if status is a terminal state of type (closed, rejected, cancelled, ...). */
int sg_case_status_terminal(const char *type, const char *status);

/** Returns the initial state of type, or NULL for an unknown type. Static text. */
const char *sg_case_initial_status(const char *type);

/** One allowed transition of a workflow, as declared in the table in src/case/case.c. */
typedef struct sg_transition {
    const char *type;
    const char *from;
    const char *to;
    unsigned roles;          /* bitmask of sg_role that may make it */
    int needs_reason;        /* 1: a reason text is required (why rejected, declined, ...) */
    const char *data_key;    /* a field the transition's data object must hold, or NULL */
    const char *data_values; /* its allowed values "a|b|c"; "case": the id of another case
                                of the same type; "time": a deadline (Unix seconds or
                                RFC 3339) that becomes the case's due time; NULL: any */
} sg_transition;

/** Returns the workflow table and its length through *n. Static, never NULL. */
const sg_transition *sg_case_workflow(size_t *n);

/** Writes type's default time allowed per priority (seconds, P1..P4) to out, for
 *  categories created without their own. SG_INVAL for an unknown type. */
sg_err sg_case_default_deadlines(const char *type, int64_t out[4]);

/** Returns the roles (bitmask) that may create a case of type, 0 for an unknown type. */
unsigned sg_case_creator_roles(const char *type);

/** What a new case holds. Strings are borrowed; lon/lat are NAN when unknown; created_at
 *  of 0 means now. source/source_key, when both set, make the creation idempotent: a second
 *  creation with the same pair fails with SG_CONFLICT and changes nothing. */
typedef struct sg_case_new {
    const char *type;
    const char *category;
    int priority; /* 1 (most urgent) .. 4; 0 means the category's default of 3 */
    const char *title;
    const char *description;
    double lon, lat;
    int64_t created_at;
    const char *source;
    const char *source_key;
    const char *personal; /* sealed personal data (sg_crypto_seal_text), or NULL */
    int located;          /* 1: the caller located the place already (sg_intake): area_id is
                             its finest area, 0 outside every area; the engine does not
                             locate it again. 0: the engine locates it */
    int64_t area_id;
} sg_case_new;

/** Creates a case: checks the type, the category (which must belong to the type), the
 *  priority, the coordinates and that who's role may create this type; sets the due time
 *  from the category and priority; finds the finest area containing the location and the
 *  organisation the routing rules give for the category there (a location outside every
 *  area is accepted, left without an area, and flagged on the `created` event as
 *  {"outside_areas": true}); appends the `created` event. On SG_OK *out holds the
 *  new case (caller releases it with sg_case_fini). Errors: SG_INVAL (msg says which field),
 *  SG_FORBIDDEN, SG_NOTFOUND (unknown category), SG_CONFLICT (source_key already imported),
 *  SG_IO. Returns once the case is durable. */
sg_err sg_case_create(sg_store *s, const sg_actor *who, const sg_case_new *in, sg_case *out,
                      char *msg, size_t n);

/** A creation in flight, in caller-owned storage: sg_case_create_submit() starts it and
 *  sg_case_create_wait() returns its result once durable. Lets one thread keep many
 *  creations in flight (an importer, a server) while each is still acknowledged only
 *  after its commit. */
typedef struct sg_case_pending {
    sg_store_job job;
    sg_case row;
    sg_err early; /* validation error found before submission */
    char msg[160];
    char data[48]; /* the created event's data */
} sg_case_pending;

/** Validates in and queues its creation. Strings in `in` are copied. Always pair with
 *  sg_case_create_wait(), even when this returns an error. */
sg_err sg_case_create_submit(sg_store *s, const sg_actor *who, const sg_case_new *in,
                             sg_case_pending *p);

/** Waits for p; on SG_OK moves the created case into *out (which may be NULL to drop it).
 *  msg receives the reason on error. Releases what p holds. */
sg_err sg_case_create_wait(sg_store *s, sg_case_pending *p, sg_case *out, char *msg, size_t n);

/** Moves case id from its current state to `to`, as who. expected_version must equal the
 *  case's version (SG_CONFLICT otherwise: someone else changed it first; nothing is
 *  written). reason and data_json (a JSON object, may be NULL) are recorded on the event;
 *  some transitions require them (see sg_transition). On SG_OK *new_version (may be NULL) is the
 *  case's version after the change. Errors: SG_NOTFOUND, SG_INVAL (no such transition from
 *  the current state, or a required field missing: msg says which), SG_FORBIDDEN (role),
 *  SG_CONFLICT, SG_IO. */
sg_err sg_case_transition(sg_store *s, const sg_actor *who, int64_t id, int64_t expected_version,
                          const char *to, const char *reason, const char *data_json,
                          int64_t *new_version, char *msg, size_t n);

/** Appends a comment to case id's timeline (staff roles only; SG_FORBIDDEN for public). */
sg_err sg_case_comment(sg_store *s, const sg_actor *who, int64_t id, const char *text,
                       int64_t *new_version, char *msg, size_t n);

/** Reads case id into *out (release with sg_case_fini). SG_NOTFOUND if absent. */
sg_err sg_case_get(sg_store *s, int64_t id, sg_case *out);

/** Reads the case with this public tracking code. SG_NOTFOUND if none. */
sg_err sg_case_get_by_code(sg_store *s, const char *code, sg_case *out);

/** Marks every open case whose due time is before now and that has not been escalated
 *  since its due time with an `escalated` event, and hands it to the organisation that
 *  the routing rules give one area level further up for each escalation (the case's area's
 *  parent first); at the top it stays where it is. *n_escalated (may be NULL) receives the
 *  count. */
sg_err sg_case_escalate_overdue(sg_store *s, int64_t now, size_t *n_escalated);

/** Writes case id's public tracking code, XXXXX-XXXXX in Crockford base32: a keyed
 *  permutation of the id under the database's secret key (sg_store_tracking_key), so it
 *  is unguessable without the key, carries nothing about the case, and is unique because
 *  ids are. buf needs 12 bytes. */
void sg_case_code_encode(const unsigned char key[SG_TRACKING_KEY_BYTES], int64_t id, char buf[12]);

/** Reads a tracking code as a person may type it (any case, with or without the dash, O
 *  for 0, I or L for 1) back into a case id. Returns 0 on success, -1 if code is not a
 *  well-formed code. A well-formed code may still name no case. */
int sg_case_code_decode(const unsigned char key[SG_TRACKING_KEY_BYTES], const char *code,
                        int64_t *id);

#endif
