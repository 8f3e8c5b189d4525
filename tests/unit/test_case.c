/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the case engine. The expected workflows below are written out independently of
 * src/case/case.c, from DESIGN.md ("Workflows") and docs/workflows.md (which roles make which
 * move); the test walks every pair of states of every type with every role and checks that
 * the engine allows exactly the listed moves, to exactly the listed roles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <time.h>

#include "safegrid/case_json.h"
#include "safegrid/intake.h"
#include "safegrid/service.h"
#include "safegrid/timefmt.h"
#include "testareas.h"
#include "testutil.h"

typedef struct expected_move {
    const char *type, *from, *to;
    const char *roles; /* space separated */
    int reason;        /* needs a reason */
    const char *data;  /* data that satisfies it, or NULL */
} expected_move;

#define REQ_DUP "duplicate_of" /* filled in with the id of a fresh case */

static const expected_move moves[] = {
    {"request", "submitted", "accepted", "caseworker supervisor", 0, NULL},
    {"request", "submitted", "rejected", "caseworker supervisor", 1, NULL},
    {"request", "accepted", "in_progress", "caseworker supervisor", 0, NULL},
    {"request", "in_progress", "resolved", "caseworker supervisor", 0, NULL},
    {"request", "resolved", "closed", "public caseworker supervisor system", 0, NULL},
    {"request", "resolved", "reopened", "public supervisor", 1, NULL},
    {"request", "reopened", "in_progress", "caseworker supervisor", 0, NULL},
    {"request", "submitted", "duplicate", "caseworker supervisor", 0, REQ_DUP},
    {"request", "accepted", "duplicate", "caseworker supervisor", 0, REQ_DUP},
    {"request", "in_progress", "duplicate", "caseworker supervisor", 0, REQ_DUP},
    {"request", "reopened", "duplicate", "caseworker supervisor", 0, REQ_DUP},
    {"incident", "received", "dispatched", "dispatcher supervisor", 0, NULL},
    {"incident", "dispatched", "en_route", "dispatcher supervisor", 0, NULL},
    {"incident", "en_route", "on_scene", "dispatcher supervisor", 0, NULL},
    {"incident", "on_scene", "cleared", "dispatcher supervisor", 0, NULL},
    {"incident", "cleared", "closed", "dispatcher supervisor", 0, NULL},
    {"incident", "received", "cancelled", "calltaker dispatcher supervisor", 1, NULL},
    {"dispute", "registered", "accepted", "mediator supervisor", 0, NULL},
    {"dispute", "registered", "declined", "mediator supervisor", 1, NULL},
    {"dispute", "accepted", "mediating", "mediator supervisor", 0, NULL},
    {"dispute", "mediating", "agreement", "mediator supervisor", 0, NULL},
    {"dispute", "mediating", "no_agreement", "mediator supervisor", 0, NULL},
    {"dispute", "agreement", "follow_up", "mediator supervisor", 0,
     "{\"due_at\":\"2030-01-15T09:00:00Z\"}"},
    {"dispute", "follow_up", "closed", "mediator supervisor", 0, NULL},
    {"dispute", "no_agreement", "referred", "mediator supervisor", 0,
     "{\"referred_to\":\"court\"}"},
    {"dispute", "referred", "closed", "mediator supervisor", 0, NULL},
    {"hazard", "reported", "verified", "inspector supervisor", 0, NULL},
    {"hazard", "reported", "dismissed", "inspector supervisor", 1, NULL},
    {"hazard", "verified", "rectification_ordered", "inspector supervisor", 0,
     "{\"due_at\":1893456000}"},
    {"hazard", "rectification_ordered", "rectified", "caseworker inspector supervisor", 0, NULL},
    {"hazard", "rectified", "closed", "inspector supervisor", 0, NULL},
    {"hazard", "rectified", "rectification_ordered", "inspector supervisor", 1,
     "{\"due_at\":1893456000}"},
    {"assessment", "draft", "consultation", "caseworker analyst supervisor", 0, NULL},
    {"assessment", "consultation", "assessed", "caseworker analyst supervisor", 1,
     "{\"risk_level\":\"medium\"}"},
    {"assessment", "assessed", "decided", "supervisor", 1, "{\"decision\":\"modified\"}"},
    {"assessment", "decided", "monitoring", "caseworker analyst supervisor", 0, NULL},
    {"assessment", "monitoring", "reviewed", "caseworker analyst supervisor", 1, NULL},
    {"assessment", "reviewed", "closed", "supervisor", 0, NULL},
};
#define N_MOVES (sizeof(moves) / sizeof(moves[0]))

static const struct {
    const char *type, *initial, *states, *creators;
} expected_types[] = {
    {"request", "submitted",
     "submitted accepted in_progress resolved reopened closed rejected duplicate",
     "public calltaker caseworker supervisor"},
    {"incident", "received", "received dispatched en_route on_scene cleared closed cancelled",
     "calltaker dispatcher supervisor"},
    {"dispute", "registered",
     "registered accepted declined mediating agreement no_agreement follow_up referred closed",
     "mediator caseworker supervisor"},
    {"hazard", "reported", "reported verified dismissed rectification_ordered rectified closed",
     "inspector caseworker supervisor"},
    {"assessment", "draft", "draft consultation assessed decided monitoring reviewed closed",
     "caseworker analyst supervisor"},
};

static const char *const all_roles[] = {"public",   "calltaker", "dispatcher", "caseworker",
                                        "mediator", "inspector", "analyst",    "supervisor",
                                        "admin",    "system"};

typedef struct fixture {
    char dir[256];
    sg_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_tmpdir(f->dir, sizeof f->dir);
    char path[300], msg[200];
    snprintf(path, sizeof path, "%s/t.db", f->dir);
    if (sg_store_open(path, &f->s, msg, sizeof msg) != SG_OK) {
        fprintf(stderr, "open: %s\n", msg);
        return -1;
    }
    tu_add_categories(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sg_store_close(f->s);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static int has_word(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return 1;
    return 0;
}

static sg_actor actor(const char *role)
{
    sg_role r = 0;
    assert_int_equal(sg_role_parse(role, &r), SG_OK);
    sg_actor a = {role, r};
    return a;
}

static int64_t new_case(sg_store *s, const char *type)
{
    char cat[64], msg[200];
    snprintf(cat, sizeof cat, "%s-general", type);
    sg_case_new in = {.type = type, .category = cat, .priority = 2, .lon = NAN, .lat = NAN};
    sg_actor sup = actor("supervisor");
    sg_case c;
    sg_err err = sg_case_create(s, &sup, &in, &c, msg, sizeof msg);
    if (err)
        fail_msg("create %s: %s", type, msg);
    int64_t id = c.id;
    sg_case_fini(&c);
    return id;
}

static const expected_move *find_move(const char *type, const char *from, const char *to)
{
    for (size_t i = 0; i < N_MOVES; i++)
        if (!strcmp(moves[i].type, type) && !strcmp(moves[i].from, from) &&
            !strcmp(moves[i].to, to))
            return &moves[i];
    return NULL;
}

/* Makes move m on case id as role; returns the engine's answer. */
static sg_err make_move(sg_store *s, int64_t id, const expected_move *m, const char *to,
                        const char *role, char *msg, size_t n)
{
    sg_case c;
    assert_int_equal(sg_case_get(s, id, &c), SG_OK);
    int64_t v = c.version;
    sg_case_fini(&c);
    char data[128] = "";
    if (m && m->data && strcmp(m->data, REQ_DUP) == 0)
        snprintf(data, sizeof data, "{\"duplicate_of\":%lld}", (long long)new_case(s, m->type));
    else if (m && m->data)
        snprintf(data, sizeof data, "%s", m->data);
    sg_actor a = actor(role);
    return sg_case_transition(s, &a, id, v, to, (m && m->reason) ? "test reason" : NULL,
                              data[0] ? data : NULL, NULL, msg, n);
}

/* Drives case id from its initial state to target along the expected table (breadth-first
 * search over `moves`, as a supervisor, who may make every move). */
static void drive_to(sg_store *s, int64_t id, const char *type, const char *initial,
                     const char *target)
{
    const char *prev[16][2];
    const char *queue[16];
    int head = 0, tail = 0, n_seen = 0;
    queue[tail++] = initial;
    prev[n_seen][0] = initial;
    prev[n_seen++][1] = NULL;
    while (head < tail && strcmp(queue[head], target) != 0) {
        const char *at = queue[head++];
        for (size_t i = 0; i < N_MOVES; i++) {
            if (strcmp(moves[i].type, type) || strcmp(moves[i].from, at))
                continue;
            int seen = 0;
            for (int k = 0; k < n_seen; k++)
                seen |= !strcmp(prev[k][0], moves[i].to);
            if (!seen) {
                prev[n_seen][0] = moves[i].to;
                prev[n_seen++][1] = at;
                queue[tail++] = moves[i].to;
            }
        }
    }
    assert_true(head < tail);
    const char *path[16];
    int n_path = 0;
    for (const char *st = target; st != NULL;) {
        path[n_path++] = st;
        const char *p = NULL;
        for (int k = 0; k < n_seen; k++)
            if (!strcmp(prev[k][0], st))
                p = prev[k][1];
        st = p;
    }
    for (int i = n_path - 2; i >= 0; i--) {
        char msg[200];
        const expected_move *m = find_move(type, path[i + 1], path[i]);
        assert_non_null(m);
        sg_err err = make_move(s, id, m, path[i], "supervisor", msg, sizeof msg);
        if (err)
            fail_msg("driving %s to %s: %s", type, path[i], msg);
    }
}

static void test_every_transition(void **state)
{
    fixture *f = *state;
    size_t n_allowed = 0, n_denied = 0, n_invalid = 0;
    for (size_t t = 0; t < 5; t++) {
        const char *type = expected_types[t].type;
        assert_string_equal(sg_case_initial_status(type), expected_types[t].initial);
        char states[256];
        snprintf(states, sizeof states, "%s nonexistent", expected_types[t].states);
        char all[256];
        snprintf(all, sizeof all, "%s", expected_types[t].states);
        char *save_from = NULL;
        for (char *from = strtok_r(all, " ", &save_from); from;
             from = strtok_r(NULL, " ", &save_from)) {
            /* One case parked in `from` for the attempts that must fail. */
            int64_t probe = new_case(f->s, type);
            drive_to(f->s, probe, type, expected_types[t].initial, from);
            char tos[256];
            snprintf(tos, sizeof tos, "%s", states);
            char *save = NULL;
            for (char *to = strtok_r(tos, " ", &save); to; to = strtok_r(NULL, " ", &save)) {
                const expected_move *m = find_move(type, from, to);
                for (size_t r = 0; r < sizeof all_roles / sizeof all_roles[0]; r++) {
                    char msg[200] = "";
                    if (m && has_word(m->roles, all_roles[r])) {
                        int64_t id = new_case(f->s, type);
                        drive_to(f->s, id, type, expected_types[t].initial, from);
                        sg_err err = make_move(f->s, id, m, to, all_roles[r], msg, sizeof msg);
                        if (err)
                            fail_msg("%s %s -> %s as %s refused: %s", type, from, to, all_roles[r],
                                     msg);
                        sg_case c;
                        assert_int_equal(sg_case_get(f->s, id, &c), SG_OK);
                        assert_string_equal(c.status, to);
                        assert_int_equal(c.closed_at != 0, sg_case_status_terminal(type, to));
                        sg_case_fini(&c);
                        n_allowed++;
                    } else {
                        sg_err err = make_move(f->s, probe, m, to, all_roles[r], msg, sizeof msg);
                        sg_err want = m ? SG_FORBIDDEN : SG_INVAL;
                        if (err != want)
                            fail_msg("%s %s -> %s as %s: got %s (%s), want %s", type, from, to,
                                     all_roles[r], sg_errname(err), msg, sg_errname(want));
                        if (m)
                            n_denied++;
                        else
                            n_invalid++;
                    }
                }
            }
        }
    }
    /* Every listed move was tried with every listed role. */
    size_t want_allowed = 0;
    for (size_t i = 0; i < N_MOVES; i++) {
        char r[128];
        snprintf(r, sizeof r, "%s", moves[i].roles);
        for (char *save = NULL, *w = strtok_r(r, " ", &save); w; w = strtok_r(NULL, " ", &save))
            want_allowed++;
    }
    assert_int_equal(n_allowed, want_allowed);
    assert_int_equal(n_denied, N_MOVES * 10 - want_allowed);
    assert_true(n_invalid > 1000);
    /* The engine declares no move that the expected table lacks. */
    size_t n_decl;
    const sg_transition *decl = sg_case_workflow(&n_decl);
    assert_int_equal(n_decl, N_MOVES);
    for (size_t i = 0; i < n_decl; i++)
        assert_non_null(find_move(decl[i].type, decl[i].from, decl[i].to));
}

static void test_creators(void **state)
{
    fixture *f = *state;
    for (size_t t = 0; t < 5; t++) {
        for (size_t r = 0; r < sizeof all_roles / sizeof all_roles[0]; r++) {
            char cat[64], msg[200];
            snprintf(cat, sizeof cat, "%s-general", expected_types[t].type);
            sg_case_new in = {
                .type = expected_types[t].type, .category = cat, .lon = NAN, .lat = NAN};
            sg_actor a = actor(all_roles[r]);
            sg_case c;
            sg_err err = sg_case_create(f->s, &a, &in, &c, msg, sizeof msg);
            if (has_word(expected_types[t].creators, all_roles[r])) {
                assert_int_equal(err, SG_OK);
                assert_string_equal(c.status, expected_types[t].initial);
                sg_case_fini(&c);
            } else {
                assert_int_equal(err, SG_FORBIDDEN);
            }
        }
    }
}

static void test_reasons_and_data(void **state)
{
    fixture *f = *state;
    char msg[200];
    sg_actor sup = actor("supervisor");
    int64_t id = new_case(f->s, "request");
    /* Rejecting needs a reason; nothing changes without one. */
    assert_int_equal(
        sg_case_transition(f->s, &sup, id, 1, "rejected", NULL, NULL, NULL, msg, sizeof msg),
        SG_INVAL);
    assert_non_null(strstr(msg, "reason"));
    /* A duplicate must link to another case of the same type. */
    assert_int_equal(
        sg_case_transition(f->s, &sup, id, 1, "duplicate", NULL, NULL, NULL, msg, sizeof msg),
        SG_INVAL);
    char data[64];
    snprintf(data, sizeof data, "{\"duplicate_of\":%lld}", (long long)id);
    assert_int_equal(
        sg_case_transition(f->s, &sup, id, 1, "duplicate", NULL, data, NULL, msg, sizeof msg),
        SG_INVAL);
    assert_int_equal(sg_case_transition(f->s, &sup, id, 1, "duplicate", NULL,
                                        "{\"duplicate_of\":999999}", NULL, msg, sizeof msg),
                     SG_INVAL);
    int64_t other_type = new_case(f->s, "incident");
    snprintf(data, sizeof data, "{\"duplicate_of\":%lld}", (long long)other_type);
    assert_int_equal(
        sg_case_transition(f->s, &sup, id, 1, "duplicate", NULL, data, NULL, msg, sizeof msg),
        SG_INVAL);
    assert_int_equal(
        sg_case_transition(f->s, &sup, id, 1, "accepted", NULL, "[1,2]", NULL, msg, sizeof msg),
        SG_INVAL);
    assert_int_equal(
        sg_case_transition(f->s, &sup, id, 1, "accepted", NULL, "{bad json", NULL, msg, sizeof msg),
        SG_INVAL);
    /* A referral names where to: court, arbitration or an administrative body. */
    int64_t d = new_case(f->s, "dispute");
    drive_to(f->s, d, "dispute", "registered", "no_agreement");
    sg_case c;
    assert_int_equal(sg_case_get(f->s, d, &c), SG_OK);
    assert_int_equal(sg_case_transition(f->s, &sup, d, c.version, "referred", NULL,
                                        "{\"referred_to\":\"police\"}", NULL, msg, sizeof msg),
                     SG_INVAL);
    assert_int_equal(sg_case_transition(f->s, &sup, d, c.version, "referred", NULL,
                                        "{\"referred_to\":\"arbitration\"}", NULL, msg, sizeof msg),
                     SG_OK);
    sg_case_fini(&c);
    /* Nothing of the refused attempts reached the timeline of the request. */
    sg_event *ev;
    size_t n;
    assert_int_equal(sg_store_case_events(f->s, id, &ev, &n), SG_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].kind, "created");
    sg_event_list_free(ev, n);
}

static void test_rectification_deadline(void **state)
{
    fixture *f = *state;
    char msg[200];
    sg_actor insp = actor("inspector");
    int64_t id = new_case(f->s, "hazard");
    drive_to(f->s, id, "hazard", "reported", "verified");
    sg_case c;
    assert_int_equal(sg_case_get(f->s, id, &c), SG_OK);
    /* 2030-01-15T09:00:00+08:00 is 2030-01-15T01:00:00Z = 1894669200 (date -d). */
    assert_int_equal(sg_case_transition(f->s, &insp, id, c.version, "rectification_ordered", NULL,
                                        "{\"due_at\":\"2030-01-15T09:00:00+08:00\"}", NULL, msg,
                                        sizeof msg),
                     SG_OK);
    sg_case_fini(&c);
    assert_int_equal(sg_case_get(f->s, id, &c), SG_OK);
    assert_int_equal(c.due_at, 1894669200);
    int64_t v = c.version;
    sg_case_fini(&c);
    /* Rectified meets the deadline: the case is no longer due. */
    assert_int_equal(
        sg_case_transition(f->s, &insp, id, v, "rectified", NULL, NULL, NULL, msg, sizeof msg),
        SG_OK);
    assert_int_equal(sg_case_get(f->s, id, &c), SG_OK);
    assert_int_equal(c.due_at, 0);
    assert_int_equal(c.closed_at, 0);
    /* A failed re-inspection orders rectification again with a new deadline and reason. */
    assert_int_equal(sg_case_transition(f->s, &insp, id, c.version, "rectification_ordered", NULL,
                                        "{\"due_at\":\"2031-02-30T00:00:00Z\"}", NULL, msg,
                                        sizeof msg),
                     SG_INVAL);
    sg_case_fini(&c);
}

static void test_stale_version_conflict(void **state)
{
    fixture *f = *state;
    char msg[200];
    sg_actor cw = actor("caseworker");
    int64_t id = new_case(f->s, "request");
    int64_t v2;
    assert_int_equal(
        sg_case_transition(f->s, &cw, id, 1, "accepted", NULL, NULL, &v2, msg, sizeof msg), SG_OK);
    assert_int_equal(v2, 2);
    /* A second writer still holding version 1 is told, and nothing is written. */
    assert_int_equal(
        sg_case_transition(f->s, &cw, id, 1, "rejected", "late", NULL, NULL, msg, sizeof msg),
        SG_CONFLICT);
    assert_non_null(strstr(msg, "version"));
    sg_event *ev;
    size_t n;
    assert_int_equal(sg_store_case_events(f->s, id, &ev, &n), SG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev[1].seq, 2);
    assert_string_equal(ev[1].from_status, "submitted");
    assert_string_equal(ev[1].to_status, "accepted");
    assert_string_equal(ev[1].actor, "caseworker");
    sg_event_list_free(ev, n);
}

typedef struct racer {
    sg_store *s;
    int64_t id;
    const char *to;
    const char *reason;
    pthread_barrier_t *go;
    sg_err result;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    sg_actor sup = {"racer", SG_ROLE_SUPERVISOR};
    char msg[200];
    pthread_barrier_wait(r->go);
    r->result =
        sg_case_transition(r->s, &sup, r->id, 1, r->to, r->reason, NULL, NULL, msg, sizeof msg);
    return NULL;
}

static void test_two_writers(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 50; round++) {
        int64_t id = new_case(f->s, "request");
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        racer a = {f->s, id, "accepted", NULL, &go, SG_OK};
        racer b = {f->s, id, "rejected", "out of scope", &go, SG_OK};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, race, &a);
        pthread_create(&tb, NULL, race, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        /* Exactly one wins; the other gets a conflict; the timeline holds the winner. */
        assert_true((a.result == SG_OK) != (b.result == SG_OK));
        assert_int_equal(a.result == SG_OK ? b.result : a.result, SG_CONFLICT);
        sg_case c;
        assert_int_equal(sg_case_get(f->s, id, &c), SG_OK);
        assert_string_equal(c.status, a.result == SG_OK ? "accepted" : "rejected");
        assert_int_equal(c.version, 2);
        sg_case_fini(&c);
        sg_event *ev;
        size_t n;
        assert_int_equal(sg_store_case_events(f->s, id, &ev, &n), SG_OK);
        assert_int_equal(n, 2);
        sg_event_list_free(ev, n);
    }
}

static void test_create_validation(void **state)
{
    fixture *f = *state;
    sg_actor cw = actor("caseworker");
    char msg[200];
    sg_case c;
    char long_title[300];
    memset(long_title, 'x', sizeof long_title - 1);
    long_title[sizeof long_title - 1] = '\0';
    const struct {
        sg_case_new in;
        sg_err want;
        const char *says;
    } bad[] = {
        {{.type = "complaint", .category = "request-general", .lon = NAN, .lat = NAN},
         SG_INVAL,
         "unknown case type"},
        {{.type = "request", .category = "nope", .lon = NAN, .lat = NAN},
         SG_NOTFOUND,
         "unknown category"},
        {{.type = "request", .category = "incident-general", .lon = NAN, .lat = NAN},
         SG_INVAL,
         "is for incident cases"},
        {{.type = "request", .category = "request-general", .priority = 5, .lon = NAN, .lat = NAN},
         SG_INVAL,
         "priority"},
        {{.type = "request", .category = "request-general", .lon = -43.9, .lat = NAN},
         SG_INVAL,
         "both"},
        {{.type = "request", .category = "request-general", .lon = 200, .lat = 10},
         SG_INVAL,
         "outside WGS84"},
        {{.type = "request", .category = "request-general", .lon = INFINITY, .lat = 10},
         SG_INVAL,
         "both"},
        {{.type = "request",
          .category = "request-general",
          .title = long_title,
          .lon = NAN,
          .lat = NAN},
         SG_INVAL,
         "299 characters"},
        {{.type = "request",
          .category = "request-general",
          .title = "bad \xC3\x28 utf8",
          .lon = NAN,
          .lat = NAN},
         SG_INVAL,
         "UTF-8"},
        {{.type = "request",
          .category = "request-general",
          .description = "\xED\xA0\x80",
          .lon = NAN,
          .lat = NAN},
         SG_INVAL,
         "UTF-8"},
        {{.type = "request",
          .category = "request-general",
          .created_at = -5,
          .lon = NAN,
          .lat = NAN},
         SG_INVAL,
         "time"},
        {{.type = "request",
          .category = "request-general",
          .source_key = "k",
          .lon = NAN,
          .lat = NAN},
         SG_INVAL,
         "source"},
        {{.type = NULL, .category = "request-general", .lon = NAN, .lat = NAN}, SG_INVAL, "type"},
        {{.type = "request", .category = NULL, .lon = NAN, .lat = NAN}, SG_INVAL, "category"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        sg_err err = sg_case_create(f->s, &cw, &bad[i].in, &c, msg, sizeof msg);
        if (err != bad[i].want || strstr(msg, bad[i].says) == NULL)
            fail_msg("case %zu: got %s '%s', want %s '%s'", i, sg_errname(err), msg,
                     sg_errname(bad[i].want), bad[i].says);
    }
    sg_case_filter all = {.limit = 1000};
    sg_case_list l;
    assert_int_equal(sg_store_case_list(f->s, &all, &l), SG_OK);
    assert_int_equal(l.n_items, 0);
    sg_case_list_fini(&l);
    /* 4,000 characters of description (multi-byte ones) are accepted; 4,001 are not. */
    char *desc = malloc(4001 * 2 + 1);
    for (int i = 0; i < 4001; i++)
        memcpy(desc + 2 * i, "\xC3\xA9", 2); /* é */
    desc[4001 * 2] = '\0';
    sg_case_new in = {.type = "request",
                      .category = "request-general",
                      .description = desc,
                      .lon = NAN,
                      .lat = NAN};
    assert_int_equal(sg_case_create(f->s, &cw, &in, &c, msg, sizeof msg), SG_INVAL);
    desc[4000 * 2] = '\0';
    assert_int_equal(sg_case_create(f->s, &cw, &in, &c, msg, sizeof msg), SG_OK);
    assert_int_equal(strlen(c.description), 8000);
    sg_case_fini(&c);
    free(desc);
}

static void test_due_time_and_escalation(void **state)
{
    fixture *f = *state;
    sg_actor ct = actor("calltaker");
    char msg[200];
    int64_t now = (int64_t)time(NULL);
    /* The incident category allows 900 s for P1 (tu_add_categories): due = created + 900. */
    sg_case_new in = {.type = "incident",
                      .category = "incident-general",
                      .priority = 1,
                      .lon = -43.938,
                      .lat = -19.919,
                      .created_at = now - 1000};
    sg_case c;
    assert_int_equal(sg_case_create(f->s, &ct, &in, &c, msg, sizeof msg), SG_OK);
    assert_int_equal(c.due_at, now - 1000 + 900);
    int64_t late = c.id;
    sg_case_fini(&c);
    in.created_at = now - 100; /* due in 800 s: not yet overdue */
    assert_int_equal(sg_case_create(f->s, &ct, &in, &c, msg, sizeof msg), SG_OK);
    int64_t in_time = c.id;
    sg_case_fini(&c);
    in.priority = 4; /* P4: 604800 s */
    in.created_at = now - 2000;
    assert_int_equal(sg_case_create(f->s, &ct, &in, &c, msg, sizeof msg), SG_OK);
    assert_int_equal(c.due_at, now - 2000 + 604800);
    sg_case_fini(&c);

    size_t n = 99;
    assert_int_equal(sg_case_escalate_overdue(f->s, now, &n), SG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sg_case_get(f->s, late, &c), SG_OK);
    assert_int_equal(c.escalations, 1);
    assert_int_equal(c.due_at, now + 900);
    sg_case_fini(&c);
    sg_event *ev;
    size_t n_ev;
    assert_int_equal(sg_store_case_events(f->s, late, &ev, &n_ev), SG_OK);
    assert_int_equal(n_ev, 2);
    assert_string_equal(ev[1].kind, "escalated");
    assert_string_equal(ev[1].actor, "system");
    sg_event_list_free(ev, n_ev);
    /* Right after, nothing is escalated twice; one period later, both P1 cases are due. */
    assert_int_equal(sg_case_escalate_overdue(f->s, now, &n), SG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sg_case_escalate_overdue(f->s, now + 901, &n), SG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sg_case_get(f->s, in_time, &c), SG_OK);
    assert_int_equal(c.escalations, 1);
    sg_case_fini(&c);
    /* An incident on scene met its deadline and is not escalated again. */
    drive_to(f->s, late, "incident", "received", "on_scene");
    assert_int_equal(sg_case_escalate_overdue(f->s, now + 100000, &n), SG_OK);
    assert_int_equal(sg_case_get(f->s, late, &c), SG_OK);
    assert_int_equal(c.escalations, 2);
    assert_int_equal(c.due_at, 0);
    sg_case_fini(&c);
}

static void test_tracking_codes(void **state)
{
    fixture *f = *state;
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$", REG_EXTENDED),
                     0);
    const unsigned char *key = sg_store_tracking_key(f->s);
    unsigned char other_key[SG_TRACKING_KEY_BYTES];
    memcpy(other_key, key, sizeof other_key);
    other_key[0] ^= 1;
    /* Codes of ids 1..2000 and a few large ones: well-formed, distinct, decode back, and a
     * one-bit change of the key changes them. Consecutive ids share no visible pattern:
     * at most a few of 2000 neighbours share their first character by chance (1/32). */
    static char seen[2003][12];
    const int64_t big[] = {(1ll << 50) - 1, (1ll << 40) + 7, 123456789};
    int same_first = 0;
    for (int i = 0; i < 2003; i++) {
        int64_t id = i < 2000 ? i + 1 : big[i - 2000];
        sg_case_code_encode(key, id, seen[i]);
        assert_int_equal(regexec(&re, seen[i], 0, NULL, 0), 0);
        int64_t back = 0;
        assert_int_equal(sg_case_code_decode(key, seen[i], &back), 0);
        assert_int_equal(back, id);
        char alt[12];
        sg_case_code_encode(other_key, id, alt);
        assert_string_not_equal(alt, seen[i]);
        if (i > 0 && i < 2000 && seen[i][0] == seen[i - 1][0])
            same_first++;
    }
    assert_true(same_first < 2000 / 32 * 2);
    for (int i = 0; i < 2003; i++)
        for (int k = 0; k < i; k++)
            if (strcmp(seen[i], seen[k]) == 0)
                fail_msg("codes of two ids are equal: %s", seen[i]);
    regfree(&re);
    int64_t junk;
    assert_int_equal(sg_case_code_decode(key, "ABCDE-1234", &junk), -1);
    assert_int_equal(sg_case_code_decode(key, "ABCDE-123456", &junk), -1);
    assert_int_equal(sg_case_code_decode(key, "ABCDE-1234U", &junk), -1);
    assert_int_equal(sg_case_code_decode(key, "ABCDE_12345", &junk), -1);
    assert_int_equal(sg_case_code_decode(key, "", &junk), -1);
    int64_t id = new_case(f->s, "request");
    sg_case c, d;
    assert_int_equal(sg_case_get(f->s, id, &c), SG_OK);
    /* Typed in lower case without the dash, with O for 0 and l for 1, it still matches. */
    char typed[16];
    int k = 0;
    for (const char *p = c.tracking_code; *p; p++) {
        if (*p == '-')
            continue;
        char ch = *p;
        if (ch == '0')
            ch = 'o';
        else if (ch == '1')
            ch = 'l';
        else if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        typed[k++] = ch;
    }
    typed[k] = '\0';
    assert_int_equal(sg_case_get_by_code(f->s, typed, &d), SG_OK);
    assert_int_equal(d.id, id);
    sg_case_fini(&d);
    assert_int_equal(sg_case_get_by_code(f->s, "AAAAA-AAAAA", &d), SG_NOTFOUND);
    assert_int_equal(sg_case_get_by_code(f->s, "short", &d), SG_NOTFOUND);
    assert_int_equal(sg_case_get_by_code(f->s, "'; DROP TABLE cases; --", &d), SG_NOTFOUND);
    sg_case_fini(&c);
}

static void test_idempotent_source(void **state)
{
    fixture *f = *state;
    sg_actor cw = actor("caseworker");
    char msg[200];
    sg_case_new in = {.type = "request",
                      .category = "request-general",
                      .lon = NAN,
                      .lat = NAN,
                      .source = "csv:test",
                      .source_key = "row-17"};
    sg_case c;
    assert_int_equal(sg_case_create(f->s, &cw, &in, &c, msg, sizeof msg), SG_OK);
    sg_case_fini(&c);
    assert_int_equal(sg_case_create(f->s, &cw, &in, &c, msg, sizeof msg), SG_CONFLICT);
    assert_non_null(strstr(msg, "already imported"));
    in.source = "csv:other";
    assert_int_equal(sg_case_create(f->s, &cw, &in, &c, msg, sizeof msg), SG_OK);
    sg_case_fini(&c);
}

static void test_comments(void **state)
{
    fixture *f = *state;
    char msg[200];
    int64_t id = new_case(f->s, "dispute");
    sg_actor pub = actor("public"), med = actor("mediator");
    assert_int_equal(sg_case_comment(f->s, &pub, id, "hello", NULL, msg, sizeof msg), SG_FORBIDDEN);
    assert_int_equal(sg_case_comment(f->s, &med, id, "", NULL, msg, sizeof msg), SG_INVAL);
    int64_t v;
    assert_int_equal(
        sg_case_comment(f->s, &med, id, "first session on Monday", &v, msg, sizeof msg), SG_OK);
    assert_int_equal(v, 2);
    assert_int_equal(sg_case_comment(f->s, &med, 424242, "x", NULL, msg, sizeof msg), SG_NOTFOUND);
}

/* The one intake: scope, the sealed shape, the refusal without a key; and the case as the
 * API writes it. Areas: county C over lon -44..-43.8, lat -20..-19.8, and township T-WEST,
 * its western half (lon -44..-43.9). */
static void test_intake(void **state)
{
    fixture *f = *state;
    static const tu_area areas[] = {
        {"C", "C", 0, "", "POLYGON((-44 -20,-43.8 -20,-43.8 -19.8,-44 -19.8,-44 -20))", -1},
        {"T-WEST", "T-WEST", 1, "C", "POLYGON((-44 -20,-43.9 -20,-43.9 -19.8,-44 -19.8,-44 -20))",
         -1},
    };
    tu_put_areas(f->s, areas, 2);
    char path[300], msg[200];
    snprintf(path, sizeof path, "%s/field.key", f->dir);
    sg_crypto_key *key = NULL;
    assert_int_equal(sg_crypto_key_create(path, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_crypto_key_load(path, &key, msg, sizeof msg), SG_OK);
    sg_areas *snap = NULL;
    assert_int_equal(sg_areas_acquire(f->s, &snap, msg, sizeof msg), SG_OK);
    int64_t west = sg_areas_find(snap, "T-WEST")->id;

    /* A caseworker scoped to T-WEST: inside, outside (in C, east of -43.9), nowhere. */
    sg_principal cw = {.name = "cw", .role = SG_ROLE_CASEWORKER, .area_id = west};
    sg_intake_case in = {
        .c = {.type = "request", .category = "request-general", .lon = -43.95, .lat = -19.9}};
    sg_case c;
    assert_int_equal(sg_intake_create(f->s, &cw, key, &in, &c, msg, sizeof msg), SG_OK);
    assert_int_equal(c.area_id, west);
    sg_case_fini(&c);
    in.c.lon = -43.85;
    assert_int_equal(sg_intake_create(f->s, &cw, key, &in, &c, msg, sizeof msg), SG_FORBIDDEN);
    assert_string_equal(msg, "the place is outside your area");
    in.c.lon = NAN;
    in.c.lat = NAN;
    assert_int_equal(sg_intake_create(f->s, &cw, key, &in, &c, msg, sizeof msg), SG_FORBIDDEN);

    /* The public, with a contact: sealed as {"contact": TEXT}. Without a key: refused. */
    sg_principal pub = {.name = "public", .role = SG_ROLE_PUBLIC};
    in.c.lon = -43.85;
    in.c.lat = -19.9;
    in.contact = "Ana, ana@example.org";
    assert_int_equal(sg_intake_create(f->s, &pub, NULL, &in, &c, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "no field key"));
    assert_int_equal(sg_intake_create(f->s, &pub, key, &in, &c, msg, sizeof msg), SG_OK);
    assert_int_not_equal(c.area_id, west); /* located in C */
    assert_non_null(c.personal);
    assert_null(strstr(c.personal, "Ana"));
    char *plain = NULL;
    size_t len = 0;
    assert_int_equal(
        sg_crypto_open_text(key, SG_SEAL_CASE_PERSONAL, c.personal, &plain, &len, msg, sizeof msg),
        SG_OK);
    assert_string_equal(plain, "{\"contact\":\"Ana, ana@example.org\"}");
    sg_crypto_free_plain(plain, len);

    /* The API's shape, written out by hand from the fields set above (docs/api.md). */
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    assert_int_equal(sg_case_json_write(&b, &c, snap), SG_OK);
    char ts[32], due[32], want[1024];
    assert_int_equal(sg_time_format(c.created_at, ts, sizeof ts), SG_OK);
    assert_int_equal(sg_time_format(c.created_at + 86400, due, sizeof due), SG_OK);
    snprintf(want, sizeof want,
             "{\"id\":%lld,\"tracking_code\":\"%s\",\"type\":\"request\","
             "\"category\":\"request-general\",\"status\":\"submitted\",\"priority\":3,"
             "\"title\":null,\"description\":null,\"lon\":-43.85,\"lat\":-19.9,"
             "\"area\":\"C\",\"org\":null,\"created_at\":\"%s\",\"updated_at\":\"%s\","
             "\"due_at\":\"%s\",\"closed_at\":null,\"escalations\":0,\"version\":1,"
             "\"source\":null}",
             (long long)c.id, c.tracking_code, ts, ts, due);
    assert_string_equal(b.data, want);
    sg_buf_fini(&b);
    sg_case_fini(&c);

    /* Parties belong to disputes only; the contact has a limit. */
    static const char *const two[] = {"A", "B"};
    in.contact = NULL;
    in.parties = two;
    in.n_parties = 2;
    assert_int_equal(sg_intake_create(f->s, &pub, key, &in, &c, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "only a dispute has parties");
    char long_contact[202];
    memset(long_contact, 'x', 201);
    long_contact[201] = '\0';
    in.parties = NULL;
    in.n_parties = 0;
    in.contact = long_contact;
    assert_int_equal(sg_intake_create(f->s, &pub, key, &in, &c, msg, sizeof msg), SG_INVAL);
    sg_areas_release(snap);
    sg_crypto_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_transition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reasons_and_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rectification_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_version_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_time_and_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracking_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intake, setup, teardown),
    };
    return cmocka_run_group_tests_name("case", tests, NULL, NULL);
}
