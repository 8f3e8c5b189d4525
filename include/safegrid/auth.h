/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Who may do what: staff accounts with argon2id passwords, login sessions, API keys for
 * integrations, and the area scope every staff member works within.
 *
 * Secrets are never stored: a session token and an API key are 256-bit random values that
 * the client holds, and the store keeps only their BLAKE2b-256 hash, so a copy of the
 * database opens no session. A password is kept as libsodium's argon2id string (salt and
 * cost parameters included). A session also carries a CSRF token, returned at login and
 * required in the X-CSRF-Token header of every state-changing request made with the
 * session cookie; API keys travel in the Authorization header, which a browser never sends
 * on its own, so they need none.
 *
 * An account or key has one role (DESIGN.md: call-taker ... admin) and an area scope: it
 * sees and acts on its area and the areas below it, never beside or above; scope 0 is the
 * whole jurisdiction.
 */
#ifndef SAFEGRID_AUTH_H
#define SAFEGRID_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/arena.h"
#include "safegrid/area.h"
#include "safegrid/case.h"
#include "safegrid/error.h"
#include "safegrid/store.h"

/** The caller of a request or command, as authentication establishes it. Strings are
 *  borrowed (from the request's arena, or static). */
typedef struct sg_principal {
    const char *name;   /* "public", an account name, or "apikey:7" */
    sg_role role;       /* SG_ROLE_PUBLIC without credentials */
    int64_t area_id;    /* scope: this area and below; 0: everywhere */
    int64_t org_id;     /* the organisation the account works for; 0: none */
    int64_t account_id; /* 0 unless logged in with a session */
    int64_t key_id;     /* 0 unless authenticated with an API key */
    const char *csrf;   /* the session's CSRF token; NULL without a session */
} sg_principal;

/** Characters of a session token or CSRF token: base64url of 32 bytes, no padding. */
#define SG_AUTH_TOKEN_CHARS 43

/** A session lasts this long after login (8 hours), then the user logs in again. */
#define SG_AUTH_SESSION_SECONDS (8 * 3600)

/** Shortest password accepted, in characters. */
#define SG_AUTH_MIN_PASSWORD 10

/** The name of the session cookie. */
#define SG_AUTH_COOKIE "sg_session"

/** Sets the argon2id cost for hashes made from now on (operations, memory in bytes);
 *  0, 0 restores libsodium's interactive defaults (2 passes, 64 MiB). Existing hashes keep
 *  their own cost. SG_INVAL below libsodium's minimum. Process-wide. */
sg_err sg_auth_set_cost(unsigned long long ops, size_t mem);

/* The account and key writes below commit with audit's entry (NULL: none), in one
 * transaction, as the store's writes do (store.h). */

/** Creates an account with a role (a staff role: not public or system) and an area scope
 *  (area_code NULL or "": everywhere) and organisation (NULL: none). password NULL
 *  generates one: 16 random characters written to gen_out (at least 17 bytes), to show
 *  the person once. Errors: SG_INVAL (bad name, role, short password), SG_NOTFOUND (area
 *  or organisation), SG_CONFLICT (name in use). */
sg_err sg_auth_user_add(sg_store *s, const char *name, const char *role, const char *area_code,
                        const char *org_code, const char *password, char *gen_out, int64_t *id,
                        const sg_audit_entry *audit, char *msg, size_t n);

/** Sets a new password for name and ends its sessions. */
sg_err sg_auth_user_passwd(sg_store *s, const char *name, const char *password,
                           const sg_audit_entry *audit, char *msg, size_t n);

/** Disables (disabled = 1) or re-enables account name; disabling ends its sessions. */
sg_err sg_auth_user_disable(sg_store *s, const char *name, int disabled,
                            const sg_audit_entry *audit, char *msg, size_t n);

/** Checks name and password and opens a session: token_out and csrf_out (each
 *  SG_AUTH_TOKEN_CHARS + 1 bytes) receive the secrets, *who the principal (strings from
 *  arena a). A wrong name, a wrong password and a disabled account all give SG_UNAUTH with
 *  the same message, after the same work, so the answer does not tell which. The session
 *  commits with its audit entry (session.login, account/NAME, by the account). */
sg_err sg_auth_login(sg_store *s, const char *name, const char *password, sg_arena *a,
                     char *token_out, char *csrf_out, sg_principal *who, char *msg, size_t n);

/** Finds the live session of token: SG_OK with *who filled (strings from a), SG_UNAUTH
 *  for an unknown, expired or malformed token or a disabled account. */
sg_err sg_auth_session(sg_store *s, const char *token, sg_arena *a, sg_principal *who);

/** Ends the session of token (nothing if there is none). */
sg_err sg_auth_logout(sg_store *s, const char *token, char *msg, size_t n);

/** Characters of an API key: "sgk_", the id in decimal, "_", and 43 secret characters. */
#define SG_AUTH_KEY_MAX 80

/** Creates an API key with a role and area scope; key_out (SG_AUTH_KEY_MAX bytes) receives
 *  the key, to be shown once; *id its number. */
sg_err sg_auth_apikey_add(sg_store *s, const char *name, const char *role, const char *area_code,
                          const char *org_code, char *key_out, int64_t *id,
                          const sg_audit_entry *audit, char *msg, size_t n);

/** Checks an API key: SG_OK with *who filled (strings from a), SG_UNAUTH otherwise. */
sg_err sg_auth_apikey_check(sg_store *s, const char *key, sg_arena *a, sg_principal *who);

/** Splits an API key "sgk_ID_SECRET" (ID a positive decimal without leading zeros, SECRET
 *  SG_AUTH_TOKEN_CHARS base64url characters): 0 with *id and *secret (pointing into key),
 *  -1 for anything else. */
int sg_auth_key_parse(const char *key, int64_t *id, const char **secret);

/** The value of cookie name in a Cookie header ("a=1; sg_session=xyz; b=2"), copied into
 *  arena a; NULL if absent (or the arena is full). The first occurrence wins. */
const char *sg_auth_cookie_value(const char *header, const char *name, sg_arena *a);

/** Authenticates a request from its headers: the session cookie (Cookie: sg_session=...)
 *  or an API key (Authorization: Bearer sgk_...). No credentials leave *who as the public
 *  and return SG_OK; credentials that do not check out give SG_UNAUTH. ctx is the store.
 *  The signature is sg_http_auth_fn's. */
sg_err sg_auth_http(void *ctx, const char *(*get_header)(void *conn, const char *name), void *conn,
                    sg_arena *a, sg_principal *who);

/** Returns 1 if area_id is inside who's scope: the scope is everywhere, or area_id is the
 *  scope's area or below it. A case without an area (0) is inside only an everywhere
 *  scope. */
int sg_auth_in_scope(const sg_areas *areas, const sg_principal *who, int64_t area_id);

/** Returns 1 if who's role may read the personal data of cases in its scope: the roles
 *  that work cases (call-taker, dispatcher, caseworker, mediator, inspector, supervisor).
 *  Analysts work with aggregates and admins with configuration: neither reads personal
 *  data. */
int sg_auth_reads_personal(const sg_principal *who);

#endif
