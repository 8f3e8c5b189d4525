/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Access control over HTTP, through a real client (libcurl) against a real server and
 * store: every role x every endpoint x a case or area in the caller's own area, in an area
 * below it, and in an area beside it, each answer compared with a table written from
 * DESIGN.md ("it sees and acts on its own area and the areas below it, never beside or
 * above"; the role table; the request workflow). Also: login, logout, CSRF, API keys,
 * disabled accounts, personal data sealed at rest and each read of it in the audit log.
 *
 * The area hierarchy is a hand-made one of squares (a county; two townships side by side;
 * a grid cell inside the first): access control needs a hierarchy, not real borders.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "safegrid/auth.h"
#include "safegrid/http.h"
#include "safegrid/service.h"
#include "testareas.h"
#include "testutil.h"

/* ---- fixture ------------------------------------------------------------------------- */

enum { OWN, BELOW, BESIDE, N_CELLS };
static const char *const cell_area[N_CELLS] = {"T1", "G1", "T2"};
static const double cell_pt[N_CELLS][2] = {{4, 8}, {1, 1}, {7, 5}};

/* The callers: the eight staff roles scoped to township T1, an API key with the
 * caseworker role scoped to T1, and the public. */
enum { N_STAFF = 8, KEY = N_STAFF, PUB = N_STAFF + 1, N_CALLERS };
static const char *const staff_roles[N_STAFF] = {"calltaker",  "dispatcher", "caseworker",
                                                 "mediator",   "inspector",  "analyst",
                                                 "supervisor", "admin"};

typedef struct caller {
    const char *label;
    char cookie[128];
    char csrf[64];
    char key[SG_AUTH_KEY_MAX];
} caller;

static struct {
    char dir[128];
    char db[192];
    sg_service sv;
    sg_http *h;
    caller c[N_CALLERS];
    int64_t cases[N_CELLS]; /* one request per cell, with a reporter contact */
} F;

typedef struct resp {
    long status;
    char body[65536];
    size_t len;
    char cookie[256];
} resp;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    resp *r = ud;
    size_t n = sz * nm;
    size_t room = sizeof r->body - 1 - r->len;
    size_t take = n < room ? n : room;
    memcpy(r->body + r->len, p, take);
    r->len += take;
    r->body[r->len] = '\0';
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    resp *r = ud;
    size_t n = sz * nm;
    if (n > 12 && strncasecmp(p, "Set-Cookie: ", 12) == 0) {
        size_t l = n - 12 < sizeof r->cookie - 1 ? n - 12 : sizeof r->cookie - 1;
        memcpy(r->cookie, p + 12, l);
        r->cookie[l] = '\0';
        r->cookie[strcspn(r->cookie, "\r\n")] = '\0';
    }
    return n;
}

/* Makes one request as caller who (NULL: no credentials); csrf 0 leaves out the session's
 * CSRF header. Returns the status. */
static long req_as(const caller *who, int csrf, const char *method, const char *path,
                   const char *body, resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", sg_http_port(F.h), path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    struct curl_slist *hd = NULL;
    char line[256];
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        hd = curl_slist_append(hd, "Content-Type: application/json");
    }
    if (who && who->cookie[0]) {
        snprintf(line, sizeof line, "Cookie: %s", who->cookie);
        hd = curl_slist_append(hd, line);
        if (csrf) {
            snprintf(line, sizeof line, "X-CSRF-Token: %s", who->csrf);
            hd = curl_slist_append(hd, line);
        }
    }
    if (who && who->key[0]) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", who->key);
        hd = curl_slist_append(hd, line);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("curl: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(c);
    return r->status;
}

static long req(const caller *who, const char *method, const char *path, const char *body, resp *r)
{
    return req_as(who, 1, method, path, body, r);
}

static void login(caller *c, const char *name, const char *password)
{
    char body[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
    resp r;
    assert_int_equal(req(NULL, "POST", "/api/v1/login", body, &r), 200);
    /* The cookie as the server set it: HttpOnly, SameSite=Strict, and a 256-bit token. */
    assert_non_null(strstr(r.cookie, "HttpOnly"));
    assert_non_null(strstr(r.cookie, "SameSite=Strict"));
    size_t l = strcspn(r.cookie, ";");
    assert_int_equal(l, strlen(SG_AUTH_COOKIE) + 1 + SG_AUTH_TOKEN_CHARS);
    snprintf(c->cookie, sizeof c->cookie, "%.*s", (int)l, r.cookie);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    snprintf(c->csrf, sizeof c->csrf, "%s", json_string_value(json_object_get(j, "csrf")));
    assert_int_equal(strlen(c->csrf), SG_AUTH_TOKEN_CHARS);
    json_decref(j);
}

static int64_t create_request(const caller *who, int cell, const char *extra)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"category\":\"pothole\",\"lon\":%g,\"lat\":%g,\"description\":\"hole\"%s}",
             cell_pt[cell][0], cell_pt[cell][1], extra ? extra : "");
    resp r;
    long st = req(who, "POST", "/api/v1/cases", body, &r);
    if (st != 201)
        fail_msg("create as %s: %ld %s", who ? who->label : "public", st, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *code = json_object_get(j, "tracking_code");
    int64_t id = 0;
    sg_case_code_decode(sg_store_tracking_key(F.sv.store), json_string_value(code), &id);
    json_decref(j);
    return id;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* The cheapest argon2id libsodium allows: this test logs in a dozen times under ASan.
     * The cost does not change what is checked. */
    assert_int_equal(sg_auth_set_cost(1, 8192), SG_OK);
    tu_tmpdir(F.dir, sizeof F.dir);
    snprintf(F.db, sizeof F.db, "%s/auth.db", F.dir);
    char msg[256];
    assert_int_equal(sg_service_open(F.db, &F.sv, msg, sizeof msg), SG_OK);
    sg_store *s = F.sv.store;

    static const tu_area areas[] = {
        {"C", "County", 0, "", "POLYGON((0 0,10 0,10 10,0 10,0 0))", -1},
        {"T1", "Township 1", 1, "C", "POLYGON((0 0,5 0,5 10,0 10,0 0))", -1},
        {"T2", "Township 2", 1, "C", "POLYGON((5 0,10 0,10 10,5 10,5 0))", -1},
        {"G1", "Grid 1", 3, "T1", "POLYGON((0 0,2 0,2 2,0 2,0 0))", -1},
    };
    tu_put_areas(s, areas, 4);
    assert_int_equal(sg_store_org_put(s, "o1", "Works", "department", "C", NULL, msg, sizeof msg),
                     SG_OK);
    sg_category cat = {.code = "pothole", .type = "request", .name = "Pothole"};
    sg_case_default_deadlines("request", cat.deadline);
    assert_int_equal(sg_store_category_put(s, &cat, NULL, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_store_rule_put(s, NULL, "C", "o1", NULL, msg, sizeof msg), SG_OK);

    /* A web directory with a page and a script, and a file beside it that must stay out of
     * reach. */
    char web[256], path[320];
    snprintf(web, sizeof web, "%s/web", F.dir);
    assert_int_equal(mkdir(web, 0755), 0);
    snprintf(path, sizeof path, "%s/index.html", web);
    FILE *wf = fopen(path, "w");
    fputs("<!doctype html><title>safegrid</title>", wf);
    fclose(wf);
    snprintf(path, sizeof path, "%s/app.js", web);
    wf = fopen(path, "w");
    fputs("export const x = 1;\n", wf);
    fclose(wf);
    snprintf(path, sizeof path, "%s/secret.js", F.dir);
    wf = fopen(path, "w");
    fputs("secret", wf);
    fclose(wf);
    sg_http_opts o = {
        .listen = "127.0.0.1:0", .threads = 2, .rate = -1, .key = F.sv.key, .web_dir = web};
    assert_int_equal(sg_http_start(s, &o, &F.h, msg, sizeof msg), SG_OK);

    for (int i = 0; i < N_STAFF; i++) {
        char name[32], pw[40];
        snprintf(name, sizeof name, "%s1", staff_roles[i]);
        snprintf(pw, sizeof pw, "correct horse %s", staff_roles[i]);
        assert_int_equal(sg_auth_user_add(s, name, staff_roles[i], "T1", "o1", pw, NULL, NULL, NULL,
                                          msg, sizeof msg),
                         SG_OK);
        F.c[i].label = staff_roles[i];
        login(&F.c[i], name, pw);
    }
    F.c[KEY].label = "apikey-caseworker";
    assert_int_equal(sg_auth_apikey_add(s, "integration", "caseworker", "T1", NULL, F.c[KEY].key,
                                        NULL, NULL, msg, sizeof msg),
                     SG_OK);
    F.c[PUB].label = "public";
    for (int k = 0; k < N_CELLS; k++)
        F.cases[k] = create_request(&F.c[PUB], k, ",\"contact\":\"reporter@example.org\"");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sg_http_stop(F.h);
    sg_service_close(&F.sv);
    tu_rmdir(F.dir);
    curl_global_cleanup();
    return 0;
}

/* ---- the matrix ------------------------------------------------------------------------ */

/* Expected statuses per caller for one endpoint and cell, from DESIGN.md: a staff member
 * in scope gets the resource; beside its area a case does not exist for it (404) and an
 * area filter is refused (403); the public needs a login (401). */
#define ALL_STAFF(x)                                                                               \
    {                                                                                              \
        x, x, x, x, x, x, x, x, x, 401                                                             \
    }

static void expect(const char *what, int cell, const long want[N_CALLERS], const char *method,
                   const char *path, const char *body)
{
    for (int i = 0; i < N_CALLERS; i++) {
        resp r;
        long got = req(&F.c[i], method, path, body, &r);
        if (got != want[i])
            fail_msg("%s in %s area (%s) as %s: want %ld, got %ld: %s", what,
                     cell == OWN     ? "its own"
                     : cell == BELOW ? "a lower"
                                     : "a neighbouring",
                     cell_area[cell], F.c[i].label, want[i], got, r.body);
    }
}

static void test_matrix_case_reads(void **state)
{
    (void)state;
    for (int k = 0; k < N_CELLS; k++) {
        long st = k == BESIDE ? 404 : 200;
        const long want[N_CALLERS] = ALL_STAFF(st);
        char path[96];
        snprintf(path, sizeof path, "/api/v1/cases/%lld", (long long)F.cases[k]);
        expect("read a case", k, want, "GET", path, NULL);
        snprintf(path, sizeof path, "/api/v1/cases/%lld/events", (long long)F.cases[k]);
        expect("read a timeline", k, want, "GET", path, NULL);
        const long want_list[N_CALLERS] = ALL_STAFF(k == BESIDE ? 403 : 200);
        snprintf(path, sizeof path, "/api/v1/cases?area=%s", cell_area[k]);
        expect("list an area's cases", k, want_list, "GET", path, NULL);
    }
}

static void test_matrix_comment(void **state)
{
    (void)state;
    for (int k = 0; k < N_CELLS; k++) {
        const long want[N_CALLERS] = ALL_STAFF(k == BESIDE ? 404 : 201);
        char path[96];
        snprintf(path, sizeof path, "/api/v1/cases/%lld/comments", (long long)F.cases[k]);
        expect("comment on a case", k, want, "POST", path, "{\"text\":\"seen\"}");
    }
}

/* Accepting a submitted request is the caseworker's and the supervisor's (DESIGN.md,
 * request workflow); each caller tries on a fresh case of its own. */
static void test_matrix_transition(void **state)
{
    (void)state;
    for (int k = 0; k < N_CELLS; k++) {
        for (int i = 0; i < N_CALLERS; i++) {
            int64_t id = create_request(&F.c[PUB], k, NULL);
            const char *role = i < N_STAFF ? staff_roles[i] : i == KEY ? "caseworker" : "public";
            long want = i == PUB                                                             ? 401
                        : k == BESIDE                                                        ? 404
                        : strcmp(role, "caseworker") == 0 || strcmp(role, "supervisor") == 0 ? 201
                                                                                             : 403;
            char path[96];
            snprintf(path, sizeof path, "/api/v1/cases/%lld/transitions", (long long)id);
            resp r;
            long got = req(&F.c[i], "POST", path, "{\"to\":\"accepted\",\"version\":1}", &r);
            if (got != want)
                fail_msg("accept in %s as %s: want %ld, got %ld: %s", cell_area[k], F.c[i].label,
                         want, got, r.body);
        }
    }
}

/* Opening a request: the public anywhere; call-takers, caseworkers and supervisors inside
 * their area (the workflow's creators); every other role never. */
static void test_matrix_create(void **state)
{
    (void)state;
    for (int k = 0; k < N_CELLS; k++) {
        for (int i = 0; i < N_CALLERS; i++) {
            const char *role = i < N_STAFF ? staff_roles[i] : i == KEY ? "caseworker" : "public";
            int creator = strcmp(role, "calltaker") == 0 || strcmp(role, "caseworker") == 0 ||
                          strcmp(role, "supervisor") == 0;
            long want = i == PUB ? 201 : (creator && k != BESIDE) ? 201 : 403;
            char body[256];
            snprintf(body, sizeof body, "{\"category\":\"pothole\",\"lon\":%g,\"lat\":%g}",
                     cell_pt[k][0], cell_pt[k][1]);
            resp r;
            long got = req(&F.c[i], "POST", "/api/v1/cases", body, &r);
            if (got != want)
                fail_msg("open a request in %s as %s: want %ld, got %ld: %s", cell_area[k],
                         F.c[i].label, want, got, r.body);
        }
    }
}

/* Endpoints without an area: the staff's own account, the organisations and rules (every
 * staff role), and administration (admin only). */
static void test_matrix_admin(void **state)
{
    (void)state;
    const long staff200[N_CALLERS] = ALL_STAFF(200);
    expect("read own account", OWN, staff200, "GET", "/api/v1/me", NULL);
    expect("list organisations", OWN, staff200, "GET", "/api/v1/orgs", NULL);
    expect("list rules", OWN, staff200, "GET", "/api/v1/rules", NULL);
    const long admin_only[N_CALLERS] = {403, 403, 403, 403, 403, 403, 403, 200, 403, 401};
    expect("list accounts", OWN, admin_only, "GET", "/api/v1/users", NULL);
    const long admin_201[N_CALLERS] = {403, 403, 403, 403, 403, 403, 403, 201, 403, 401};
    expect("add an organisation", OWN, admin_201, "POST", "/api/v1/orgs",
           "{\"code\":\"o2\",\"name\":\"Parks\",\"area\":\"T1\"}");
    expect("add a rule", OWN, admin_201, "POST", "/api/v1/rules",
           "{\"category\":\"pothole\",\"area\":\"G1\",\"org\":\"o2\"}");
    expect("add a category", OWN, admin_201, "POST", "/api/v1/categories",
           "{\"code\":\"graffiti\",\"type\":\"request\"}");
    /* An admin scoped to T1 adds accounts in T1 and below, never beside. */
    resp r;
    assert_int_equal(req(&F.c[7], "POST", "/api/v1/users",
                         "{\"name\":\"cw2\",\"role\":\"caseworker\",\"area\":\"G1\"}", &r),
                     201);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "password"))), 16);
    json_decref(j);
    assert_int_equal(req(&F.c[7], "POST", "/api/v1/users",
                         "{\"name\":\"cw3\",\"role\":\"caseworker\",\"area\":\"T2\"}", &r),
                     403);
    assert_int_equal(
        req(&F.c[7], "POST", "/api/v1/users", "{\"name\":\"cw4\",\"role\":\"caseworker\"}", &r),
        403);
}

/* Counts the audit entries that record a read of case id's personal data. */
static int personal_reads(int64_t id)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    char em[200];
    if (sg_store_audit_export(F.sv.store, f, 1, 0, em, sizeof em) != SG_OK)
        fail_msg("audit export: %s", em);
    rewind(f);
    char line[4096], obj[64];
    snprintf(obj, sizeof obj, "\"object\":\"case/%lld\"", (long long)id);
    int reads = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\"case.read_personal\"") && strstr(line, obj))
            reads++;
    fclose(f);
    return reads;
}

/* Returns 1 if the bytes of needle occur in the file at path (0 if it does not exist). */
static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    int hit = memmem(buf, got, needle, strlen(needle)) != NULL;
    free(buf);
    return hit;
}

/* Personal data: sealed in the store; shown to the roles that work cases, in scope; not to
 * analysts or admins; every showing written to the audit log before the answer. */
static void test_personal_data(void **state)
{
    (void)state;
    sg_case c;
    assert_int_equal(sg_case_get(F.sv.store, F.cases[OWN], &c), SG_OK);
    assert_non_null(c.personal);
    assert_null(strstr(c.personal, "reporter@example.org"));
    char *plain = NULL;
    size_t len = 0;
    char msg[160];
    assert_int_equal(sg_crypto_open_text(F.sv.key, SG_SEAL_CASE_PERSONAL, c.personal, &plain, &len,
                                         msg, sizeof msg),
                     SG_OK);
    assert_non_null(strstr(plain, "reporter@example.org"));
    sg_crypto_free_plain(plain, len);
    sg_case_fini(&c);

    int reads_before = personal_reads(F.cases[BELOW]);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/cases/%lld", (long long)F.cases[BELOW]);
    for (int i = 0; i < N_CALLERS - 1; i++) {
        resp r;
        assert_int_equal(req(&F.c[i], "GET", path, NULL, &r), 200);
        const char *role = i < N_STAFF ? staff_roles[i] : "caseworker";
        int reads = strcmp(role, "analyst") != 0 && strcmp(role, "admin") != 0;
        if ((strstr(r.body, "reporter@example.org") != NULL) != reads)
            fail_msg("%s %s the reporter's contact", F.c[i].label, reads ? "misses" : "sees");
    }
    /* The public view by tracking code never has it. */
    sg_case pc;
    assert_int_equal(sg_case_get(F.sv.store, F.cases[BELOW], &pc), SG_OK);
    char tp[64];
    snprintf(tp, sizeof tp, "/api/v1/track/%s", pc.tracking_code);
    sg_case_fini(&pc);
    resp r;
    assert_int_equal(req(NULL, "GET", tp, NULL, &r), 200);
    assert_null(strstr(r.body, "reporter@"));

    /* The audit log verifies and names each personal read: this test's 7 (6 working roles
     * and the caseworker's key) on top of those test_matrix_case_reads made. */
    char msg2[160];
    sg_audit_report rep;
    assert_int_equal(sg_store_audit_verify(F.sv.store, NULL, &rep, msg2, sizeof msg2), SG_OK);
    assert_int_equal(personal_reads(F.cases[BELOW]) - reads_before, 7);
}

/* ---- sessions, CSRF, keys ------------------------------------------------------------------ */

static void test_csrf_and_sessions(void **state)
{
    (void)state;
    caller *cw = &F.c[2];
    char path[96];
    snprintf(path, sizeof path, "/api/v1/cases/%lld/comments", (long long)F.cases[OWN]);
    resp r;
    /* Without the CSRF header, or with another session's, a change is refused. */
    assert_int_equal(req_as(cw, 0, "POST", path, "{\"text\":\"x\"}", &r), 403);
    assert_non_null(strstr(r.body, "\"CSRF\""));
    caller mixed = *cw;
    snprintf(mixed.csrf, sizeof mixed.csrf, "%s", F.c[6].csrf);
    assert_int_equal(req(&mixed, "POST", path, "{\"text\":\"x\"}", &r), 403);
    /* Reads need none; an API key needs none. */
    assert_int_equal(req_as(cw, 0, "GET", "/api/v1/me", NULL, &r), 200);
    /* Wrong password and unknown name: the same 401 and message. */
    resp a, b;
    req(NULL, "POST", "/api/v1/login", "{\"name\":\"caseworker1\",\"password\":\"wrong pass 1\"}",
        &a);
    req(NULL, "POST", "/api/v1/login", "{\"name\":\"nobody\",\"password\":\"wrong pass 1\"}", &b);
    assert_int_equal(a.status, 401);
    assert_int_equal(b.status, 401);
    assert_string_equal(a.body, b.body);
    /* A wrong API key is 401, not the public. */
    caller bad = {.label = "bad key"};
    snprintf(bad.key, sizeof bad.key, "%.*sAAAA", (int)strlen(F.c[KEY].key) - 4, F.c[KEY].key);
    assert_int_equal(req(&bad, "GET", "/api/v1/categories", NULL, &r), 401);
    /* Logout ends the session; the old cookie then counts as no login. */
    caller sup;
    char msg[160];
    assert_int_equal(sg_auth_user_add(F.sv.store, "sup2", "supervisor", "T1", NULL,
                                      "another long pass", NULL, NULL, NULL, msg, sizeof msg),
                     SG_OK);
    memset(&sup, 0, sizeof sup);
    sup.label = "sup2";
    login(&sup, "sup2", "another long pass");
    assert_int_equal(req(&sup, "GET", "/api/v1/me", NULL, &r), 200);
    assert_int_equal(req(&sup, "POST", "/api/v1/logout", NULL, &r), 204);
    assert_int_equal(req(&sup, "GET", "/api/v1/me", NULL, &r), 401);
    /* Disabling an account ends its sessions at once. */
    login(&sup, "sup2", "another long pass");
    assert_int_equal(sg_auth_user_disable(F.sv.store, "sup2", 1, NULL, msg, sizeof msg), SG_OK);
    assert_int_equal(req(&sup, "GET", "/api/v1/me", NULL, &r), 401);
    assert_int_equal(req(NULL, "POST", "/api/v1/login",
                         "{\"name\":\"sup2\",\"password\":\"another long pass\"}", &r),
                     401);
    /* The store keeps hashes only: no session token, API key secret or password appears
     * in the database or its write-ahead log. */
    char wal[256];
    snprintf(wal, sizeof wal, "%s-wal", F.db);
    const char *token = cw->cookie + strlen(SG_AUTH_COOKIE) + 1;
    /* sgk_ID_SECRET: the secret follows the second '_' (it may hold '_' itself). */
    const char *secret = strchr(strchr(F.c[KEY].key, '_') + 1, '_') + 1;
    assert_true(file_contains(F.db, "caseworker1") || file_contains(wal, "caseworker1"));
    assert_false(file_contains(F.db, token) || file_contains(wal, token));
    assert_false(file_contains(F.db, secret) || file_contains(wal, secret));
    assert_false(file_contains(F.db, "another long pass") ||
                 file_contains(wal, "another long pass"));
}

static void test_bad_bodies(void **state)
{
    (void)state;
    resp r;
    assert_int_equal(req(NULL, "POST", "/api/v1/login", "{\"name\":", &r), 400);
    assert_int_equal(req(NULL, "POST", "/api/v1/login", "[1]", &r), 400);
    assert_int_equal(req(NULL, "POST", "/api/v1/cases", "{\"category\":\"pothole\"}", &r), 400);
    assert_int_equal(req(NULL, "POST", "/api/v1/cases",
                         "{\"category\":\"pothole\",\"lon\":1,\"lat\":1,\"colour\":\"red\"}", &r),
                     400);
    assert_non_null(strstr(r.body, "colour"));
    /* A priority past int is refused, not narrowed (4294967297 was taken as 1). */
    assert_int_equal(req(NULL, "POST", "/api/v1/cases",
                         "{\"category\":\"pothole\",\"lon\":1,\"lat\":1,"
                         "\"priority\":4294967297}",
                         &r),
                     400);
    assert_non_null(strstr(r.body, "priority is an integer from 1 to 4"));
    assert_int_equal(req(NULL, "POST", "/api/v1/cases",
                         "{\"category\":\"pothole\",\"lon\":1,\"lat\":1,\"parties\":[\"a\"]}", &r),
                     400);
    assert_int_equal(
        req(&F.c[2], "POST", "/api/v1/cases/1/transitions", "{\"to\":\"accepted\"}", &r), 400);
    assert_int_equal(req(&F.c[2], "GET", "/api/v1/cases/abc", NULL, &r), 400);
    assert_int_equal(req(&F.c[2], "GET", "/api/v1/cases?bbox=1,2,3", NULL, &r), 400);
    /* A stale version is a conflict and changes nothing. */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/cases/%lld/transitions", (long long)F.cases[OWN]);
    assert_int_equal(req(&F.c[2], "POST", path, "{\"to\":\"accepted\",\"version\":999}", &r), 409);
}

/* ---- public extras: nearby reports, feedback, static files -------------------------------- */

static void test_nearby(void **state)
{
    (void)state;
    resp r;
    /* 0.001 degrees of longitude at latitude 8: 111,195 m x 0.001 x cos 8 deg = 110.1 m,
     * rounded to 10 m: 110 (by hand). */
    assert_int_equal(req(NULL, "GET", "/api/v1/nearby?category=pothole&lon=4.001&lat=8", NULL, &r),
                     200);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *open = json_object_get(j, "open");
    assert_true(json_array_size(open) >= 1 && json_array_size(open) <= 20);
    json_t *first = json_array_get(open, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "distance_m")), 110);
    assert_string_equal(json_string_value(json_object_get(first, "status")), "submitted");
    assert_int_equal(json_object_size(first), 3); /* status, created_at, distance only */
    json_decref(j);
    assert_null(strstr(r.body, "description"));
    assert_int_equal(
        req(NULL, "GET", "/api/v1/nearby?category=pothole&lon=4.001&lat=8&radius=50", NULL, &r),
        200);
    assert_non_null(strstr(r.body, "\"open\":[]"));
    assert_int_equal(req(NULL, "GET", "/api/v1/nearby?category=pothole&lon=400&lat=8", NULL, &r),
                     400);
    assert_int_equal(req(NULL, "GET", "/api/v1/nearby?lon=4&lat=8", NULL, &r), 400);
}

static void test_open_by_area(void **state)
{
    (void)state;
    resp r;
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/stats/open_by_area?level=1", NULL, &r), 200);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *areas = json_object_get(j, "areas");
    /* A supervisor of T1 sees T1 only, never its neighbour T2. */
    assert_int_equal(json_array_size(areas), 1);
    json_t *t1 = json_array_get(areas, 0);
    assert_string_equal(json_string_value(json_object_get(t1, "area")), "T1");
    /* The count equals what the case list gives for T1's open cases, page by page. */
    sg_case_filter f = {.status = "open", .area_id = 0, .limit = 1000};
    sg_areas *a;
    char msg[160];
    assert_int_equal(sg_areas_acquire(F.sv.store, &a, msg, sizeof msg), SG_OK);
    f.area_id = sg_areas_find(a, "T1")->id;
    sg_areas_release(a);
    sg_case_list l;
    assert_int_equal(sg_store_case_list(F.sv.store, &f, &l), SG_OK);
    assert_int_equal(json_integer_value(json_object_get(t1, "open")), (json_int_t)l.n_items);
    sg_case_list_fini(&l);
    json_decref(j);
    assert_int_equal(req(NULL, "GET", "/api/v1/stats/open_by_area?level=1", NULL, &r), 401);
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/stats/open_by_area?level=7", NULL, &r), 400);
}

/* Moves case id to state `to` as caller c, from the version it has now. */
static void move(const caller *c, int64_t id, const char *to)
{
    sg_case k;
    assert_int_equal(sg_case_get(F.sv.store, id, &k), SG_OK);
    char path[96], body[128];
    snprintf(path, sizeof path, "/api/v1/cases/%lld/transitions", (long long)id);
    snprintf(body, sizeof body, "{\"to\":\"%s\",\"version\":%lld}", to, (long long)k.version);
    sg_case_fini(&k);
    resp r;
    if (req(c, "POST", path, body, &r) != 201)
        fail_msg("move to %s: %s", to, r.body);
}

static void test_feedback(void **state)
{
    (void)state;
    int64_t id = create_request(&F.c[PUB], OWN, NULL);
    sg_case k;
    assert_int_equal(sg_case_get(F.sv.store, id, &k), SG_OK);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/track/%s/feedback", k.tracking_code);
    sg_case_fini(&k);
    resp r;
    /* Not resolved yet: refused, nothing changes. */
    assert_int_equal(req(NULL, "POST", path, "{\"fixed\":true,\"rating\":5}", &r), 409);
    move(&F.c[2], id, "accepted");
    move(&F.c[2], id, "in_progress");
    move(&F.c[2], id, "resolved");
    assert_int_equal(req(NULL, "POST", path, "{\"fixed\":false,\"rating\":2}", &r), 400);
    assert_non_null(strstr(r.body, "reason"));
    assert_int_equal(req(NULL, "POST", path, "{\"fixed\":true,\"rating\":6}", &r), 400);
    assert_int_equal(req(NULL, "POST", path, "{\"fixed\":true,\"rating\":4}", &r), 201);
    assert_non_null(strstr(r.body, "closed"));
    sg_event *ev;
    size_t n;
    assert_int_equal(sg_store_case_events(F.sv.store, id, &ev, &n), SG_OK);
    assert_string_equal(ev[n - 1].to_status, "closed");
    assert_string_equal(ev[n - 1].role, "public");
    assert_string_equal(ev[n - 1].data, "{\"rating\":4}");
    sg_event_list_free(ev, n);
    assert_int_equal(req(NULL, "POST", path, "{\"fixed\":true,\"rating\":4}", &r), 409);
}

static void test_static_files(void **state)
{
    (void)state;
    resp r;
    if (req(NULL, "GET", "/", NULL, &r) != 200)
        fail_msg("GET /: %ld %s", r.status, r.body);
    assert_non_null(strstr(r.body, "<title>safegrid</title>"));
    assert_int_equal(req(NULL, "GET", "/app.js", NULL, &r), 200);
    assert_string_equal(r.body, "export const x = 1;\n");
    assert_int_equal(req(NULL, "GET", "/../secret.js", NULL, &r), 404);
    assert_int_equal(req(NULL, "GET", "/%2e%2e/secret.js", NULL, &r), 404);
    assert_int_equal(req(NULL, "GET", "/nothing.js", NULL, &r), 404);
    assert_int_equal(req(NULL, "GET", "/api/v1/nothing", NULL, &r), 404);
    assert_int_equal(req(NULL, "POST", "/app.js", "{}", &r), 404);
}

/* The hand-written case JSON carries any text through: quotes, backslashes, control
 * characters and non-ASCII come back equal after a JSON parser (jansson) reads them. */
static void test_case_text_round_trip(void **state)
{
    (void)state;
    const char *title = "a \"quoted\" back\\slash\nnew line\ttab \x01 \xe5\x9d\x91 pothole";
    json_t *in = json_pack("{s:s, s:s, s:f, s:f}", "category", "pothole", "title", title, "lon",
                           cell_pt[OWN][0], "lat", cell_pt[OWN][1]);
    char *body = json_dumps(in, JSON_COMPACT);
    json_decref(in);
    resp r;
    assert_int_equal(req(&F.c[2], "POST", "/api/v1/cases", body, &r), 201);
    free(body);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "title")), title);
    assert_true(json_real_value(json_object_get(j, "lon")) == cell_pt[OWN][0] ||
                json_integer_value(json_object_get(j, "lon")) == (json_int_t)cell_pt[OWN][0]);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/cases/%lld",
             (long long)json_integer_value(json_object_get(j, "id")));
    json_decref(j);
    assert_int_equal(req(&F.c[2], "GET", path, NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "title")), title);
    assert_true(json_is_array(json_object_get(j, "actions")));
    json_decref(j);
    assert_int_equal(req(&F.c[2], "GET", "/api/v1/cases?area=T1&limit=3", NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    assert_true(json_is_integer(json_object_get(j, "next_cursor")));
    json_decref(j);
}

/* Lists GET path as caller c into r and checks its first item: id, status, version, and
 * the area and organisation codes (written around the cached text). */
static void list_first(const caller *c, const char *path, resp *r, int64_t id, const char *status,
                       int64_t version)
{
    assert_int_equal(req(c, "GET", path, NULL, r), 200);
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    json_t *item = json_array_get(json_object_get(j, "items"), 0);
    assert_int_equal(json_integer_value(json_object_get(item, "id")), id);
    assert_string_equal(json_string_value(json_object_get(item, "status")), status);
    assert_int_equal(json_integer_value(json_object_get(item, "version")), version);
    assert_string_equal(json_string_value(json_object_get(item, "area")), "G1");
    /* o2: the rule that test_matrix_admin adds for potholes in G1. */
    assert_string_equal(json_string_value(json_object_get(item, "org")), "o2");
    json_decref(j);
}

/* The case list keeps each case's JSON between requests (src/http/cache.c): a case
 * changed through this server, or by a writer the server does not know about (a second
 * store on the same file, as another process would be), is listed as it is now. */
static void test_list_follows_changes(void **state)
{
    (void)state;
    int64_t id = create_request(&F.c[PUB], BELOW, NULL);
    const caller *sup = &F.c[6];
    const char *path = "/api/v1/cases?area=G1&limit=1";
    resp r1, r2;
    list_first(sup, path, &r1, id, "submitted", 1);
    /* Listed again (from the cache now): the same bytes. */
    list_first(sup, path, &r2, id, "submitted", 1);
    assert_string_equal(r1.body, r2.body);

    move(&F.c[2], id, "accepted");
    list_first(sup, path, &r1, id, "accepted", 2);

    sg_store *other;
    char msg[160];
    assert_int_equal(sg_store_open(F.db, &other, msg, sizeof msg), SG_OK);
    sg_actor cw = {"elsewhere", SG_ROLE_CASEWORKER};
    assert_int_equal(
        sg_case_transition(other, &cw, id, 2, "in_progress", NULL, NULL, NULL, msg, sizeof msg),
        SG_OK);
    sg_store_close(other);
    list_first(sup, path, &r1, id, "in_progress", 3);
    list_first(sup, path, &r2, id, "in_progress", 3);
    assert_string_equal(r1.body, r2.body);
}

/* The supervisor's view: escalated=1 lists exactly the open cases escalated at least once
 * (none before the sweep; after a sweep judged 30 days on, every open case in scope). */
static void test_escalated_filter(void **state)
{
    (void)state;
    resp r;
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/cases?escalated=1&limit=1000", NULL, &r), 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    size_t n = 0;
    assert_int_equal(sg_case_escalate_overdue(F.sv.store, (int64_t)time(NULL) + 30 * 86400, &n),
                     SG_OK);
    assert_true(n > 0);
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/cases?escalated=1&limit=1000", NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    json_t *items = json_object_get(j, "items");
    assert_true(json_array_size(items) > 0);
    size_t i;
    json_t *c;
    json_array_foreach(items, i, c)
    {
        assert_true(json_integer_value(json_object_get(c, "escalations")) > 0);
        assert_true(json_is_null(json_object_get(c, "closed_at")));
        assert_string_not_equal(json_string_value(json_object_get(c, "area")), "T2");
    }
    json_decref(j);
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/cases?escalated=2", NULL, &r), 400);
}

/* from= and to= take Unix seconds or RFC 3339, as docs/api.md says; the same instant in
 * both spellings selects the same cases (2001-09-09T01:46:40Z is 1e9 s: 11,574 days of
 * 86,400 s to 2001-09-09, plus 6,400 s). */
static void test_list_time_filters(void **state)
{
    (void)state;
    resp r;
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/cases?from=1000000000&limit=1000", NULL, &r),
                     200);
    char *by_seconds = strdup(r.body);
    assert_int_equal(
        req(&F.c[6], "GET", "/api/v1/cases?from=2001-09-09T01:46:40Z&limit=1000", NULL, &r), 200);
    assert_string_equal(r.body, by_seconds);
    free(by_seconds);
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/cases?to=2001-09-09T01:46:40Z", NULL, &r), 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/cases?from=2001-02-30T00:00:00Z", NULL, &r), 400);
    assert_int_equal(req(&F.c[6], "GET", "/api/v1/cases?to=yesterday", NULL, &r), 400);
}

/* A key revoked by another process (here: straight in the store, past the server's
 * credential cache) stops working within the cache's two seconds. */
static void test_key_revocation(void **state)
{
    (void)state;
    caller k = {.label = "revoked key"};
    char msg[160];
    int64_t id = 0;
    assert_int_equal(sg_auth_apikey_add(F.sv.store, "short-lived", "analyst", "T1", NULL, k.key,
                                        &id, NULL, msg, sizeof msg),
                     SG_OK);
    resp r;
    assert_int_equal(req(&k, "GET", "/api/v1/me", NULL, &r), 200);
    assert_int_equal(sg_store_apikey_disable(F.sv.store, id, NULL, msg, sizeof msg), SG_OK);
    struct timespec ts = {2, 300000000};
    nanosleep(&ts, NULL);
    assert_int_equal(req(&k, "GET", "/api/v1/me", NULL, &r), 401);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_case_reads),
        cmocka_unit_test(test_matrix_comment),
        cmocka_unit_test(test_matrix_transition),
        cmocka_unit_test(test_matrix_create),
        cmocka_unit_test(test_matrix_admin),
        cmocka_unit_test(test_personal_data),
        cmocka_unit_test(test_csrf_and_sessions),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_nearby),
        cmocka_unit_test(test_open_by_area),
        cmocka_unit_test(test_feedback),
        cmocka_unit_test(test_static_files),
        cmocka_unit_test(test_case_text_round_trip),
        cmocka_unit_test(test_list_follows_changes),
        cmocka_unit_test(test_list_time_filters),
        cmocka_unit_test(test_escalated_filter),
        cmocka_unit_test(test_key_revocation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
