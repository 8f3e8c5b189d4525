/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The one way to read cases: a filter (sg_case_filter) and a visitor, newest first, in
 * pages with a cursor. The HTTP case list, the open-data export, Open311's list, the
 * dashboard's counts, the CLI and the analysis all read through sg_store_case_read, so a
 * condition means the same everywhere and each query shape is tuned once.
 *
 * The SQL is built from the filter's shape (which conditions are present, one bit each,
 * and how its area is written) with the values bound, and each connection keeps the
 * statements of the shapes it has seen: preparing a list's SQL (with its recursive
 * subtree) on every read was a tenth of a list's time. A filter naming ids or categories
 * has a statement of its own, prepared for that read.
 *
 * A reader with a page function reads only each case's id and version first, from the
 * (area_id, id, version) index for an area's list, and the full row only where the
 * caller does not hold that version (the HTTP cache of case JSON): a page the cache holds
 * costs one index walk.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_case_list_fini(sg_case_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_items; i++)
        sg_case_fini(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* How a read's area filter is written. A leaf area (most lists: a grid or neighbourhood)
 * is "area_id = ?", which SQLite serves by walking the (area_id, id) index backwards and
 * stopping after the page: no sort. The single root of the hierarchy is every case with an
 * area, found by walking the table backwards. Any other area keeps the recursive subtree,
 * which SQLite sorts. Decided against the database at each read, not against an in-memory
 * snapshot of the areas, so that an area added by another process is seen at once. */
enum { AREA_NONE, AREA_LEAF, AREA_ALL, AREA_SUBTREE };

static const char SQL_AREA_SHAPE[] =
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM area WHERE parent_id = ?1) THEN 1"
    " WHEN (SELECT parent_id FROM area WHERE id = ?1) IS NULL"
    " AND (SELECT count(*) FROM (SELECT 1 FROM area WHERE parent_id IS NULL LIMIT 2)) = 1"
    " THEN 2 ELSE 3 END";

/* Reads area_id's AREA_* into *out. On SG_OK the statement is left stepping, *held, so
 * that the read's statement runs in the same transaction (a read transaction costs file
 * locks, a tenth of a list); the caller resets it. */
static sg_err area_shape(conn *c, int64_t area_id, int *out, sg_sql_stmt **held)
{
    sg_sql_stmt *st;
    sg_err err = store_prep(c, SQL_AREA_SHAPE, &st);
    if (err)
        return err;
    sg_sql_bind_int64(st, 1, area_id);
    int rc = sg_sql_step(st);
    if (rc != SG_SQL_ROW) {
        sg_sql_reset(st);
        return sg_sql_error(c->db, rc, NULL, 0, "list cases: area");
    }
    /* A leaf first: an area id that does not exist has no children and no cases. */
    static const int shapes[] = {AREA_SUBTREE, AREA_LEAF, AREA_ALL, AREA_SUBTREE};
    *out = shapes[sg_sql_col_int(st, 0) & 3];
    *held = st;
    return SG_OK;
}

/* The filter's shape, one bit per condition present (and two for the area's), which
 * decides the SQL; the values are bound. */
enum {
    SHAPE_TYPE = 1 << 0,
    SHAPE_OPEN = 1 << 1,
    SHAPE_STATUS = 1 << 2,
    SHAPE_CATEGORY = 1 << 3,
    SHAPE_AREA_SHIFT = 4, /* two bits: AREA_* */
    SHAPE_ORG = 1 << 6,
    SHAPE_FROM = 1 << 7,
    SHAPE_TO = 1 << 8,
    SHAPE_BBOX = 1 << 9,
    SHAPE_OVERDUE = 1 << 10,
    SHAPE_ESCALATED = 1 << 11,
    SHAPE_BEFORE = 1 << 12,
    SHAPE_REFS = 1 << 13, /* only id and version: a reader with a page function */
    SHAPE_CLOSED = 1 << 14,
    SHAPE_CREATED = 1 << 15, /* newest created_at first */
    SHAPE_OFFSET = 1 << 16,
    SHAPE_SETS = 1 << 17 /* ids or categories: a statement of its own, not cached */
};

static unsigned filter_shape(const sg_case_filter *f, int area)
{
    unsigned m = (unsigned)area << SHAPE_AREA_SHIFT;
    m |= f->type ? SHAPE_TYPE : 0;
    if (f->status)
        m |= strcmp(f->status, "open") == 0 ? SHAPE_OPEN : SHAPE_STATUS;
    m |= f->closed < 0 ? SHAPE_OPEN : f->closed > 0 ? SHAPE_CLOSED : 0;
    m |= f->category ? SHAPE_CATEGORY : 0;
    m |= f->org_id ? SHAPE_ORG : 0;
    m |= f->from ? SHAPE_FROM : 0;
    m |= f->to ? SHAPE_TO : 0;
    m |= f->has_bbox ? SHAPE_BBOX : 0;
    m |= f->overdue_at ? SHAPE_OVERDUE : 0;
    m |= f->escalated ? SHAPE_ESCALATED : 0;
    m |= f->before_id ? SHAPE_BEFORE : 0;
    m |= f->by_created ? SHAPE_CREATED : 0;
    m |= f->offset ? SHAPE_OFFSET : 0;
    m |= f->n_ids || f->n_categories ? SHAPE_SETS : 0;
    return m;
}

/* Appends " AND <cond>" to the WHERE clause being built in buf. */
static void where_add(char *buf, size_t n, const char *cond)
{
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, " AND %s", cond);
}

/* Appends " AND col IN (?first,?first+1,...)" for count numbered parameters. */
static void where_in(char *buf, size_t n, const char *col, size_t first, size_t count)
{
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, " AND %s IN (", col);
    for (size_t i = 0; i < count; i++) {
        len = strlen(buf);
        snprintf(buf + len, n - len, "%s?%zu", i ? "," : "", first + i);
    }
    len = strlen(buf);
    snprintf(buf + len, n - len, ")");
}

/* The ids are numbered parameters from ?100 on and the categories from ?1100 on, clear of
 * the named ones. */
#define IDS_PARAM 100
#define CATEGORIES_PARAM 1100
/* Room for the fixed clauses and ",?NNNN" per id and category. */
#define SQL_MAX (1024 + 8 * (SG_STORE_SCAN_MAX_IDS + SG_STORE_SCAN_MAX_CATEGORIES))

#define AREA_LO (1u << SHAPE_AREA_SHIFT)
#define AREA_HI (2u << SHAPE_AREA_SHIFT)

/* The WHERE conditions, in order, each added when the shape has every bit of `all` and
 * none of `none`. */
static const struct {
    unsigned all, none;
    const char *cond;
} conditions[] = {
    {SHAPE_TYPE, SHAPE_CREATED, "type = :type"},
    /* "+type" in creation order keeps the planner off cases_type_status, which would need
     * every case of the type sorted before the first row: the order comes from
     * cases_created instead. */
    {SHAPE_TYPE | SHAPE_CREATED, 0, "+type = :type"},
    {SHAPE_OPEN, 0, "closed_at IS NULL"},
    {SHAPE_CLOSED, 0, "closed_at IS NOT NULL"},
    {SHAPE_STATUS, 0, "status = :status"},
    {SHAPE_CATEGORY, 0, "category = :category"},
    {AREA_LO, AREA_HI, "area_id = :area"}, /* AREA_LEAF */
    /* AREA_ALL. '+': not by the area index, which would read every case with an area and
     * sort them; half or more of the cases match, so walking ids backwards finds a page
     * after reading about twice its length. */
    {AREA_HI, AREA_LO, "+area_id IS NOT NULL"},
    {AREA_LO | AREA_HI, 0, /* AREA_SUBTREE */
     "area_id IN (WITH RECURSIVE sub(id) AS (SELECT :area UNION SELECT a.id FROM "
     "area a JOIN sub ON a.parent_id = sub.id) SELECT id FROM sub)"},
    {SHAPE_ORG, 0, "org_id = :org"},
    {SHAPE_FROM, 0, "created_at >= :from"},
    {SHAPE_TO, 0, "created_at < :to"},
    {SHAPE_BBOX, 0, "lon BETWEEN :minlon AND :maxlon AND lat BETWEEN :minlat AND :maxlat"},
    {SHAPE_OVERDUE, 0, "closed_at IS NULL AND due_at < :overdue"},
    {SHAPE_ESCALATED, 0, "closed_at IS NULL AND escalations > 0"},
    {SHAPE_BEFORE | SHAPE_CREATED, 0,
     "(created_at < :bcreated OR (created_at = :bcreated AND id < :before))"},
    {SHAPE_BEFORE, SHAPE_CREATED, "id < :before"},
};

/* Writes the read's SQL for shape m (and f's sets) into sql. */
static void read_sql(unsigned m, const sg_case_filter *f, char *sql, size_t n)
{
    snprintf(sql, n, "SELECT %s FROM cases WHERE 1", m & SHAPE_REFS ? "id, version" : CASE_COLS);
    for (size_t i = 0; i < sizeof conditions / sizeof conditions[0]; i++)
        if ((m & conditions[i].all) == conditions[i].all && !(m & conditions[i].none))
            where_add(sql, n, conditions[i].cond);
    if (f->n_ids)
        where_in(sql, n, "id", IDS_PARAM, f->n_ids);
    if (f->n_categories)
        where_in(sql, n, "category", CATEGORIES_PARAM, f->n_categories);
    size_t len = strlen(sql);
    /* Newest first by creation time, the id breaking ties: cases_created (whose entries
     * end with the rowid) gives this order, so a page reads only its own rows however
     * large the window, and the cursor is a position in the same order. */
    snprintf(sql + len, n - len, "%s LIMIT :limit%s",
             m & SHAPE_CREATED ? " ORDER BY created_at DESC, id DESC" : " ORDER BY id DESC",
             m & SHAPE_OFFSET ? " OFFSET :offset" : "");
}

/* The connection's prepared statement for shape m, reset and unbound; *owned when it is
 * the read's own (a filter with sets), to be finalized by the caller. */
static sg_err read_prep(conn *c, unsigned m, const sg_case_filter *f, sg_sql_stmt **out, int *owned)
{
    *owned = 0;
    for (int i = 0; !(m & SHAPE_SETS) && i < LIST_CACHE; i++) {
        if (c->lists[i].st != NULL && c->lists[i].shape == m) {
            sg_sql_clear_bindings(c->lists[i].st);
            *out = c->lists[i].st;
            return SG_OK;
        }
    }
    char *sql = malloc(SQL_MAX);
    if (sql == NULL)
        return SG_NOMEM;
    read_sql(m, f, sql, SQL_MAX);
    sg_sql_stmt *st = NULL;
    int rc = sg_sql_prepare(c->db, sql, !(m & SHAPE_SETS), &st);
    free(sql);
    if (rc != SG_SQL_OK)
        return sg_sql_error(c->db, rc, NULL, 0, "list cases");
    if (m & SHAPE_SETS) {
        *owned = 1;
        *out = st;
        return SG_OK;
    }
    /* Full: replace the slots in turn; a client cycling through more shapes than slots
     * costs a prepare per read, as before the cache. Never a statement in use: a page
     * steps two at once (page_read). */
    int slot = c->next_list++ % LIST_CACHE;
    while (c->lists[slot].st != NULL && sg_sql_busy(c->lists[slot].st))
        slot = c->next_list++ % LIST_CACHE;
    sg_sql_finalize(c->lists[slot].st);
    c->lists[slot].shape = m;
    c->lists[slot].st = st;
    *out = st;
    return SG_OK;
}

/* A statement of a read, stepping. */
typedef struct cursor {
    sg_sql_stmt *st;
    int owned; /* finalize, not reset, when done */
    int rc;    /* its last step */
} cursor;

static void cursor_end(cursor *k)
{
    if (k->st == NULL)
        return;
    if (k->owned)
        sg_sql_finalize(k->st);
    else
        sg_sql_reset(k->st);
    k->st = NULL;
}

/* Takes the statement for f from c, bound to read limit + 1 rows (the one past the page
 * tells whether there is a next), and steps it to its first row; refs: it selects only
 * id and version. */
static sg_err read_begin(conn *c, const sg_case_filter *f, int refs, int64_t limit, cursor *k)
{
    int area = AREA_NONE;
    sg_sql_stmt *held = NULL;
    sg_err err = SG_OK;
    if (f->area_id && f->by_created)
        area = AREA_SUBTREE; /* the export's windows: cases_created gives the order */
    else if (f->area_id)
        err = area_shape(c, f->area_id, &area, &held);
    sg_sql_stmt *st = NULL;
    unsigned m = filter_shape(f, area) | (refs ? SHAPE_REFS : 0);
    err = err ? err : read_prep(c, m, f, &st, &k->owned);
    if (err) {
        if (held)
            sg_sql_reset(held);
        return err;
    }
#define BIND_TEXT(name, v)                                                                         \
    if (v)                                                                                         \
    sg_sql_bind_text(st, sg_sql_param(st, name), v)
#define BIND_I64(name, v)                                                                          \
    if (v)                                                                                         \
    sg_sql_bind_int64(st, sg_sql_param(st, name), v)
    BIND_TEXT(":type", f->type);
    if (f->status && strcmp(f->status, "open") != 0)
        sg_sql_bind_text(st, sg_sql_param(st, ":status"), f->status);
    BIND_TEXT(":category", f->category);
    if (area == AREA_LEAF || area == AREA_SUBTREE)
        sg_sql_bind_int64(st, sg_sql_param(st, ":area"), f->area_id);
    BIND_I64(":org", f->org_id);
    BIND_I64(":from", f->from);
    BIND_I64(":to", f->to);
    BIND_I64(":overdue", (int64_t)f->overdue_at);
    BIND_I64(":before", f->before_id);
    if (f->before_id && f->by_created)
        sg_sql_bind_int64(st, sg_sql_param(st, ":bcreated"), f->before_created);
    BIND_I64(":offset", f->offset);
#undef BIND_TEXT
#undef BIND_I64
    if (f->has_bbox) {
        sg_sql_bind_double(st, sg_sql_param(st, ":minlon"), f->min_lon);
        sg_sql_bind_double(st, sg_sql_param(st, ":maxlon"), f->max_lon);
        sg_sql_bind_double(st, sg_sql_param(st, ":minlat"), f->min_lat);
        sg_sql_bind_double(st, sg_sql_param(st, ":maxlat"), f->max_lat);
    }
    for (size_t i = 0; i < f->n_ids; i++)
        sg_sql_bind_int64(st, IDS_PARAM + (int)i, f->ids[i]);
    for (size_t i = 0; i < f->n_categories; i++)
        sg_sql_bind_text(st, CATEGORIES_PARAM + (int)i, f->categories[i]);
    sg_sql_bind_int64(st, sg_sql_param(st, ":limit"), limit < INT64_MAX ? limit + 1 : limit);
    k->st = st;
    k->rc = sg_sql_step(st);
    if (held)
        sg_sql_reset(held);
    return SG_OK;
}

/* The full rows of a page read by reference, read only where the visitor lacks a case. A
 * statement over the same filter, started at the first case missing (before_id just
 * above it) in the page's own read transaction, then stepped while the following cases
 * are missing too: a page of misses costs what a read of whole rows does, one miss among
 * cases held one statement start (a lookup by id in a statement of its own cost as much
 * per case, which made a page of misses a quarter dearer). */
static sg_err page_read(sg_store *s, conn *c, const sg_case_filter *f, int64_t left, cursor *rows,
                        int64_t id, int64_t version, const sg_case_reader *r)
{
    if (rows->st == NULL || rows->rc != SG_SQL_ROW || sg_sql_col_int64(rows->st, 0) != id) {
        sg_case_filter from = *f;
        from.before_id = id + 1;
        from.offset = 0;
        cursor_end(rows);
        sg_err err = read_begin(c, &from, 0, left, rows);
        if (err)
            return err;
    }
    /* Not there: impossible in the page's snapshot. */
    if (rows->rc != SG_SQL_ROW || sg_sql_col_int64(rows->st, 0) != id)
        return sg_sql_error(
            c->db, rows->rc == SG_SQL_ROW || rows->rc == SG_SQL_DONE ? SG_SQL_CORRUPT : rows->rc,
            NULL, 0, "list cases");
    sg_case cs;
    sg_err err = store_read_case(s, rows->st, &cs);
    if (err)
        return err;
    err = r->page(r->ctx, id, version, &cs);
    sg_case_fini(&cs);
    rows->rc = sg_sql_step(rows->st);
    return err;
}

sg_err sg_store_case_read(sg_store *s, const sg_case_filter *f, const sg_case_reader *r,
                          int64_t *next_cursor)
{
    if (f->n_ids > SG_STORE_SCAN_MAX_IDS || f->n_categories > SG_STORE_SCAN_MAX_CATEGORIES ||
        f->limit < 0 || f->offset < 0 || (r->page == NULL) == (r->visit == NULL) ||
        (r->page && f->by_created))
        return SG_INVAL;
    int64_t limit = f->limit ? f->limit : 50;
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    int refs = r->page != NULL;
    cursor k = {0}, rows = {0};
    err = read_begin(c, f, refs, limit, &k);
    int64_t n = 0, last = 0, next = 0;
    for (; !err && k.rc == SG_SQL_ROW; k.rc = sg_sql_step(k.st)) {
        if (n == limit) {
            next = last;
            break;
        }
        last = sg_sql_col_int64(k.st, 0);
        n++;
        if (refs) {
            int64_t version = sg_sql_col_int64(k.st, 1);
            err = r->page(r->ctx, last, version, NULL);
            if (err == SG_NOTFOUND)
                err = page_read(s, c, f, limit - n + 1, &rows, last, version, r);
            continue;
        }
        sg_case cs;
        err = store_read_case(s, k.st, &cs);
        if (err)
            break;
        int stop = r->visit(r->ctx, &cs);
        sg_case_fini(&cs);
        if (stop)
            break;
    }
    if (!err && k.st && k.rc != SG_SQL_ROW && k.rc != SG_SQL_DONE)
        err = sg_sql_error(c->db, k.rc, NULL, 0, "list cases");
    /* End both now: a statement left stepping would hold its read transaction (and the
     * WAL) until the connection's next read. */
    cursor_end(&rows);
    cursor_end(&k);
    store_reader_put(s, c);
    if (!err && next_cursor)
        *next_cursor = next;
    return err;
}

/* sg_store_case_list's visitor: moves each case into the list. */
static int collect(void *ctx, const sg_case *c)
{
    sg_case_list *l = ctx;
    sg_case *slot = &l->items[l->n_items++];
    *slot = *c;
    /* The read releases its copy after the call: it must no longer own the strings. */
    memset((sg_case *)c, 0, sizeof(*c));
    return 0;
}

sg_err sg_store_case_list(sg_store *s, const sg_case_filter *f, sg_case_list *out)
{
    sg_case_filter g = *f;
    g.limit = f->limit <= 0 ? 50 : f->limit > 1000 ? 1000 : f->limit;
    sg_case_list l = {0};
    l.items = calloc((size_t)g.limit, sizeof(sg_case));
    if (l.items == NULL)
        return SG_NOMEM;
    sg_case_reader r = {.visit = collect, .ctx = &l};
    sg_err err = sg_store_case_read(s, &g, &r, &l.next_cursor);
    if (err) {
        sg_case_list_fini(&l);
        return err;
    }
    *out = l;
    return SG_OK;
}
