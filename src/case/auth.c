/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Accounts, sessions and API keys (see include/safegrid/auth.h). Password hashing is
 * libsodium's argon2id (crypto_pwhash_str), secrets come from randombytes_buf, and tokens
 * are compared through their BLAKE2b-256 hashes, looked up by hash (sessions) or by id and
 * then compared in constant time (API keys).
 */
#include "safegrid/auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "safegrid/utf8.h"

static void cred_forget(const unsigned char *hash);

static atomic_ullong pw_ops;
static atomic_size_t pw_mem;

sg_err sg_auth_set_cost(unsigned long long ops, size_t mem)
{
    if ((ops || mem) && (ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN))
        return SG_INVAL;
    atomic_store(&pw_ops, ops);
    atomic_store(&pw_mem, mem);
    return SG_OK;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static sg_err hash_password(const char *pw, char out[128], char *msg, size_t n)
{
    unsigned long long ops = atomic_load(&pw_ops);
    size_t mem = atomic_load(&pw_mem);
    if (ops == 0) {
        ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    }
    if (crypto_pwhash_str_alg(out, pw, strlen(pw), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return sg_errf(SG_NOMEM, msg, n, "not enough memory to hash the password");
    return SG_OK;
}

static sg_err check_password(const char *pw, char *msg, size_t n)
{
    if (pw == NULL || sg_utf8_count(pw) < SG_AUTH_MIN_PASSWORD)
        return sg_errf(SG_INVAL, msg, n, "a password needs at least %d characters",
                       SG_AUTH_MIN_PASSWORD);
    if (strlen(pw) > 1024)
        return sg_errf(SG_INVAL, msg, n, "a password may have at most 1024 bytes");
    return SG_OK;
}

/* Writes len random characters from an unambiguous alphabet (no 0/O, 1/l/I). */
static void random_password(char *out, size_t len)
{
    static const char alpha[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (size_t i = 0; i < len; i++)
        out[i] = alpha[randombytes_uniform(sizeof alpha - 1)];
    out[len] = '\0';
}

static void random_token(char out[SG_AUTH_TOKEN_CHARS + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, SG_AUTH_TOKEN_CHARS + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void hash_secret(const char *secret, unsigned char out[SG_STORE_HASH_BYTES])
{
    crypto_generichash(out, SG_STORE_HASH_BYTES, (const unsigned char *)secret, strlen(secret),
                       NULL, 0);
}

/* A token as issued: exactly SG_AUTH_TOKEN_CHARS base64url characters. */
static int token_wellformed(const char *t)
{
    size_t i = 0;
    for (; t[i]; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
        if (i >= SG_AUTH_TOKEN_CHARS)
            return 0;
    }
    return i == SG_AUTH_TOKEN_CHARS;
}

static int name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 63)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@'))
            return 0;
    }
    return 1;
}

/* Resolves a staff role and the codes of a scope area and an organisation to ids. */
static sg_err resolve_scope(sg_store *s, const char *role, const char *area_code,
                            const char *org_code, sg_role *r, int64_t *area_id, int64_t *org_id,
                            char *msg, size_t n)
{
    if (role == NULL || sg_role_parse(role, r) != SG_OK || *r == SG_ROLE_PUBLIC ||
        *r == SG_ROLE_SYSTEM)
        return sg_errf(SG_INVAL, msg, n,
                       "the role must be one of calltaker, dispatcher, caseworker, mediator, "
                       "inspector, analyst, supervisor, admin");
    *area_id = 0;
    *org_id = 0;
    if ((area_code && area_code[0]) || (org_code && org_code[0])) {
        sg_areas *areas;
        sg_err err = sg_areas_acquire(s, &areas, msg, n);
        if (err)
            return err;
        const sg_area_row *area =
            area_code && area_code[0] ? sg_areas_find(areas, area_code) : NULL;
        const sg_org_row *org = org_code && org_code[0] ? sg_areas_find_org(areas, org_code) : NULL;
        if (area_code && area_code[0] && area == NULL)
            err = sg_errf(SG_NOTFOUND, msg, n, "no area with code %s", area_code);
        else if (org_code && org_code[0] && org == NULL)
            err = sg_errf(SG_NOTFOUND, msg, n, "no organisation with code %s", org_code);
        *area_id = area ? area->id : 0;
        *org_id = org ? org->id : 0;
        sg_areas_release(areas);
        if (err)
            return err;
    }
    return SG_OK;
}

sg_err sg_auth_user_add(sg_store *s, const char *name, const char *role, const char *area_code,
                        const char *org_code, const char *password, char *gen_out, int64_t *id,
                        const sg_audit_entry *audit, char *msg, size_t n)
{
    if (!name_valid(name))
        return sg_errf(SG_INVAL, msg, n, "an account name has 1 to 63 letters, digits and . _ - @");
    sg_account a = {0};
    sg_role r;
    sg_err err = resolve_scope(s, role, area_code, org_code, &r, &a.area_id, &a.org_id, msg, n);
    if (err)
        return err;
    char generated[17];
    if (password == NULL) {
        random_password(generated, 16);
        password = generated;
    }
    err = check_password(password, msg, n);
    if (!err)
        err = hash_password(password, a.pw_hash, msg, n);
    if (err)
        return err;
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.role, sizeof a.role, "%s", sg_role_name(r));
    a.created_at = now_s();
    err = sg_store_account_put(s, &a, 0, audit, msg, n);
    if (err)
        return err;
    if (gen_out && password == generated)
        memcpy(gen_out, generated, sizeof generated);
    if (id)
        *id = a.id;
    sodium_memzero(generated, sizeof generated);
    return SG_OK;
}

static sg_err get_account(sg_store *s, const char *name, sg_account *a, char *msg, size_t n)
{
    sg_err err = sg_store_account_get(s, name ? name : "", 0, a);
    if (err == SG_NOTFOUND)
        return sg_errf(err, msg, n, "no account named %s", name ? name : "");
    if (err)
        return sg_errf(err, msg, n, "cannot read account %s", name);
    return SG_OK;
}

sg_err sg_auth_user_passwd(sg_store *s, const char *name, const char *password,
                           const sg_audit_entry *audit, char *msg, size_t n)
{
    sg_account a;
    sg_err err = get_account(s, name, &a, msg, n);
    if (!err)
        err = check_password(password, msg, n);
    if (!err)
        err = hash_password(password, a.pw_hash, msg, n);
    if (!err)
        err = sg_store_account_put(s, &a, 1, audit, msg, n);
    cred_forget(NULL);
    return err;
}

sg_err sg_auth_user_disable(sg_store *s, const char *name, int disabled,
                            const sg_audit_entry *audit, char *msg, size_t n)
{
    sg_account a;
    sg_err err = get_account(s, name, &a, msg, n);
    if (err)
        return err;
    a.disabled = disabled ? 1 : 0;
    err = sg_store_account_put(s, &a, disabled, audit, msg, n);
    cred_forget(NULL);
    return err;
}

static void fill_principal(const sg_account *acc, sg_arena *a, sg_principal *who)
{
    memset(who, 0, sizeof *who);
    who->name = sg_arena_strdup(a, acc->name);
    if (who->name == NULL)
        who->name = "?";
    sg_role r = SG_ROLE_PUBLIC;
    sg_role_parse(acc->role, &r);
    who->role = r;
    who->area_id = acc->area_id;
    who->org_id = acc->org_id;
    who->account_id = acc->id;
}

sg_err sg_auth_login(sg_store *s, const char *name, const char *password, sg_arena *a,
                     char *token_out, char *csrf_out, sg_principal *who, char *msg, size_t n)
{
    /* A dummy hash to verify against when the account does not exist, so that an unknown
     * name takes as long as a wrong password. Made once, at the current cost. */
    static char dummy[128];
    static atomic_int have_dummy;
    if (!atomic_load(&have_dummy)) {
        char tmp[128];
        if (hash_password("safegrid-no-such-account", tmp, msg, n) == SG_OK) {
            memcpy(dummy, tmp, sizeof tmp);
            atomic_store(&have_dummy, 1);
        }
    }
    sg_account acc;
    sg_err err = name && name_valid(name) ? sg_store_account_get(s, name, 0, &acc) : SG_NOTFOUND;
    if (err && err != SG_NOTFOUND)
        return sg_errf(err, msg, n, "cannot read accounts");
    const char *hash = err ? dummy : acc.pw_hash;
    int ok = password && strlen(password) <= 1024 && hash[0] &&
             crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    if (err || !ok || acc.disabled)
        return sg_errf(SG_UNAUTH, msg, n, "wrong name or password, or the account is disabled");
    sg_session_row row = {.account_id = acc.id};
    random_token(token_out);
    random_token(csrf_out);
    hash_secret(token_out, row.token_hash);
    snprintf(row.csrf, sizeof row.csrf, "%s", csrf_out);
    row.created_at = now_s();
    row.expires_at = row.created_at + SG_AUTH_SESSION_SECONDS;
    /* The session commits with the login's entry. */
    char object[80];
    snprintf(object, sizeof object, "account/%.64s", acc.name);
    sg_audit_entry e = {acc.name, acc.role, "session.login", object, NULL};
    err = sg_store_session_put(s, &row, &e, msg, n);
    if (err)
        return err;
    fill_principal(&acc, a, who);
    who->csrf = sg_arena_strdup(a, csrf_out);
    return SG_OK;
}

/* ---- a short cache of verified credentials ------------------------------------------------
 *
 * Every staff request would otherwise read its session and account (or its API key) from
 * the store: two queries and a tenth of a case read's CPU. A credential verified in the
 * last AUTH_CACHE_NS is taken from here instead, keyed by its secret's hash. Logout,
 * disabling an account and a new password clear it in this process at once; a change made
 * by another process (the CLI) takes effect within AUTH_CACHE_NS. */

#define AUTH_CACHE_SLOTS 256
#define AUTH_CACHE_NS 2000000000LL

typedef struct cached_cred {
    unsigned char hash[SG_STORE_HASH_BYTES];
    const sg_store *store;
    int64_t until_ns; /* 0: empty */
    int64_t key_id;
    char name[64];
    char csrf[SG_AUTH_TOKEN_CHARS + 1];
    sg_principal who; /* name and csrf point nowhere here; filled on a hit */
} cached_cred;

static cached_cred cred_cache[AUTH_CACHE_SLOTS];
static pthread_mutex_t cred_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static cached_cred *cred_slot(const unsigned char hash[SG_STORE_HASH_BYTES])
{
    return &cred_cache[(hash[0] | (unsigned)hash[1] << 8) % AUTH_CACHE_SLOTS];
}

/* Fills *who from the cache if hash (of key id key_id, 0 for a session) was verified for
 * store s lately. Returns 1 on a hit. */
static int cred_get(const sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                    int64_t key_id, sg_arena *a, sg_principal *who)
{
    int hit = 0;
    pthread_mutex_lock(&cred_mu);
    cached_cred *c = cred_slot(hash);
    if (c->until_ns > mono_ns() && c->store == s && c->key_id == key_id &&
        sodium_memcmp(c->hash, hash, SG_STORE_HASH_BYTES) == 0) {
        *who = c->who;
        who->name = sg_arena_strdup(a, c->name);
        who->csrf = c->csrf[0] ? sg_arena_strdup(a, c->csrf) : NULL;
        hit = who->name != NULL && (c->csrf[0] == '\0' || who->csrf != NULL);
    }
    pthread_mutex_unlock(&cred_mu);
    return hit;
}

static void cred_put(const sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                     int64_t key_id, int64_t expires_s, const sg_principal *who)
{
    int64_t until = mono_ns() + AUTH_CACHE_NS;
    int64_t left_ns = (expires_s - now_s()) * 1000000000LL;
    if (expires_s && left_ns < AUTH_CACHE_NS)
        until = mono_ns() + left_ns;
    pthread_mutex_lock(&cred_mu);
    cached_cred *c = cred_slot(hash);
    memcpy(c->hash, hash, SG_STORE_HASH_BYTES);
    c->store = s;
    c->key_id = key_id;
    c->until_ns = until;
    c->who = *who;
    snprintf(c->name, sizeof c->name, "%s", who->name ? who->name : "");
    snprintf(c->csrf, sizeof c->csrf, "%s", who->csrf ? who->csrf : "");
    c->who.name = NULL;
    c->who.csrf = NULL;
    pthread_mutex_unlock(&cred_mu);
}

/* Forgets every cached credential (after a change to accounts), or only hash's. */
static void cred_forget(const unsigned char *hash)
{
    pthread_mutex_lock(&cred_mu);
    if (hash == NULL) {
        for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
            cred_cache[i].until_ns = 0;
    } else {
        cached_cred *c = cred_slot(hash);
        if (sodium_memcmp(c->hash, hash, SG_STORE_HASH_BYTES) == 0)
            c->until_ns = 0;
    }
    pthread_mutex_unlock(&cred_mu);
}

sg_err sg_auth_session(sg_store *s, const char *token, sg_arena *a, sg_principal *who)
{
    if (token == NULL || !token_wellformed(token))
        return SG_UNAUTH;
    unsigned char h[SG_STORE_HASH_BYTES];
    hash_secret(token, h);
    if (cred_get(s, h, 0, a, who))
        return SG_OK;
    sg_session_row row;
    sg_err err = sg_store_session_get(s, h, &row);
    if (err == SG_NOTFOUND || (!err && row.expires_at <= now_s()))
        return SG_UNAUTH;
    if (err)
        return err;
    sg_account acc;
    err = sg_store_account_get(s, NULL, row.account_id, &acc);
    if (err == SG_NOTFOUND || (!err && acc.disabled))
        return SG_UNAUTH;
    if (err)
        return err;
    fill_principal(&acc, a, who);
    who->csrf = sg_arena_strdup(a, row.csrf);
    if (who->csrf == NULL)
        return SG_NOMEM;
    cred_put(s, h, 0, row.expires_at, who);
    return SG_OK;
}

sg_err sg_auth_logout(sg_store *s, const char *token, char *msg, size_t n)
{
    if (token == NULL || !token_wellformed(token))
        return SG_OK;
    unsigned char h[SG_STORE_HASH_BYTES];
    hash_secret(token, h);
    cred_forget(h);
    return sg_store_session_delete(s, h, msg, n);
}

sg_err sg_auth_apikey_add(sg_store *s, const char *name, const char *role, const char *area_code,
                          const char *org_code, char *key_out, int64_t *id,
                          const sg_audit_entry *audit, char *msg, size_t n)
{
    if (!name_valid(name))
        return sg_errf(SG_INVAL, msg, n, "a key name has 1 to 63 letters, digits and . _ - @");
    sg_apikey_row k = {0};
    sg_role r;
    sg_err err = resolve_scope(s, role, area_code, org_code, &r, &k.area_id, &k.org_id, msg, n);
    if (err)
        return err;
    /* The key's secret part is hashed before the id is known; the id then goes in front. */
    char secret[SG_AUTH_TOKEN_CHARS + 1];
    random_token(secret);
    hash_secret(secret, k.key_hash);
    snprintf(k.name, sizeof k.name, "%s", name);
    snprintf(k.role, sizeof k.role, "%s", sg_role_name(r));
    k.created_at = now_s();
    err = sg_store_apikey_put(s, &k, audit, msg, n);
    if (!err) {
        snprintf(key_out, SG_AUTH_KEY_MAX, "sgk_%lld_%s", (long long)k.id, secret);
        if (id)
            *id = k.id;
    }
    sodium_memzero(secret, sizeof secret);
    return err;
}

int sg_auth_key_parse(const char *key, int64_t *id, const char **secret)
{
    if (key == NULL || strncmp(key, "sgk_", 4) != 0 || key[4] < '1' || key[4] > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(key + 4, &end, 10);
    if (errno || v <= 0 || *end != '_' || !token_wellformed(end + 1))
        return -1;
    *id = v;
    *secret = end + 1;
    return 0;
}

sg_err sg_auth_apikey_check(sg_store *s, const char *key, sg_arena *a, sg_principal *who)
{
    int64_t id;
    const char *secret;
    if (sg_auth_key_parse(key, &id, &secret) != 0)
        return SG_UNAUTH;
    unsigned char h[SG_STORE_HASH_BYTES];
    hash_secret(secret, h);
    if (cred_get(s, h, id, a, who))
        return SG_OK;
    sg_apikey_row k;
    sg_err err = sg_store_apikey_get(s, id, &k);
    if (err == SG_NOTFOUND)
        return SG_UNAUTH;
    if (err)
        return err;
    if (k.disabled || sodium_memcmp(h, k.key_hash, sizeof h) != 0)
        return SG_UNAUTH;
    memset(who, 0, sizeof *who);
    char nm[32];
    snprintf(nm, sizeof nm, "apikey:%lld", (long long)id);
    who->name = sg_arena_strdup(a, nm);
    if (who->name == NULL)
        return SG_NOMEM;
    sg_role r = SG_ROLE_PUBLIC;
    sg_role_parse(k.role, &r);
    who->role = r;
    who->area_id = k.area_id;
    who->org_id = k.org_id;
    who->key_id = k.id;
    cred_put(s, h, id, 0, who);
    return SG_OK;
}

const char *sg_auth_cookie_value(const char *header, const char *name, sg_arena *a)
{
    size_t nl = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return sg_arena_strndup(a, p + nl + 1, len - nl - 1);
        p = end;
    }
    return NULL;
}

sg_err sg_auth_http(void *ctx, const char *(*get_header)(void *conn, const char *name), void *conn,
                    sg_arena *a, sg_principal *who)
{
    sg_store *s = ctx;
    const char *authz = get_header(conn, "Authorization");
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return SG_UNAUTH;
        return sg_auth_apikey_check(s, authz + 7, a, who);
    }
    const char *cookie = get_header(conn, "Cookie");
    const char *token = cookie ? sg_auth_cookie_value(cookie, SG_AUTH_COOKIE, a) : NULL;
    if (token == NULL)
        return SG_OK;
    /* A cookie of a session that ended (expired, logged out elsewhere, account disabled)
     * leaves the caller public: the public pages keep working, staff pages ask for a
     * login. */
    sg_err err = sg_auth_session(s, token, a, who);
    return err == SG_UNAUTH ? SG_OK : err;
}

int sg_auth_in_scope(const sg_areas *areas, const sg_principal *who, int64_t area_id)
{
    if (who->area_id == 0)
        return 1;
    if (area_id == 0)
        return 0;
    /* Walk up from the area; the hierarchy has four levels. */
    for (int k = 0; k < 4; k++) {
        int64_t up = sg_areas_ancestor(areas, area_id, k);
        if (up == 0)
            return 0;
        if (up == who->area_id)
            return 1;
    }
    return 0;
}

int sg_auth_reads_personal(const sg_principal *who)
{
    const unsigned workers = SG_ROLE_CALLTAKER | SG_ROLE_DISPATCHER | SG_ROLE_CASEWORKER |
                             SG_ROLE_MEDIATOR | SG_ROLE_INSPECTOR | SG_ROLE_SUPERVISOR;
    return (who->role & workers) != 0;
}
