/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Counts of cases for the analysis and the dashboard: by category and calendar month in a
 * time zone. Counts come from SQL in 15-minute buckets of UTC time; every zone's offset is
 * a whole number of quarter hours, so each bucket falls in one local month, which C works
 * out with the zone's rules (SQL knows only UTC and the process's zone).
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/timefmt.h"

static const char SQL_COUNT_CAT_QUARTER[] =
    "SELECT category, created_at / 900, count(*) FROM cases "
    "WHERE ?1 IS NULL OR type = ?1 GROUP BY 1, 2 ORDER BY 1, 2";

static int cmp_count_row(const void *a, const void *b)
{
    const sg_count_row *x = a, *y = b;
    int c = strcmp(x->category, y->category);
    return c ? c : strcmp(x->month, y->month);
}

sg_err sg_store_count_by_category_month(sg_store *s, const char *type, const char *tz,
                                        sg_count_row **out, size_t *n_out, char *msg, size_t n)
{
    int32_t probe;
    sg_err err = sg_time_utc_offset(tz, 0, &probe, msg, n);
    if (err)
        return err;
    conn *c;
    err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    sg_count_row *v = NULL;
    size_t nv = 0, cap = 0;
    err = store_prep(c, SQL_COUNT_CAT_QUARTER, &st);
    if (!err) {
        sg_sql_bind_text(st, 1, type);
        while (sg_sql_step(st) == SG_SQL_ROW) {
            const char *cat = sg_sql_col_text(st, 0);
            int64_t t = sg_sql_col_int64(st, 1) * 900;
            int32_t off = 0;
            char iso[32], month[8];
            sg_time_utc_offset(tz, t, &off, NULL, 0);
            if (sg_time_format(t + off, iso, sizeof iso) != SG_OK)
                continue;
            snprintf(month, sizeof month, "%.7s", iso);
            /* Rows arrive by category then time, so a match is nearly always the last. */
            size_t k = nv;
            while (k > 0 && strcmp(v[k - 1].category, cat ? cat : "") == 0 &&
                   strcmp(v[k - 1].month, month) != 0)
                k--;
            if (k > 0 && strcmp(v[k - 1].category, cat ? cat : "") == 0) {
                v[k - 1].count += sg_sql_col_int64(st, 2);
                continue;
            }
            if (nv == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                sg_count_row *g = realloc(v, ncap * sizeof(*v));
                if (g == NULL) {
                    err = SG_NOMEM;
                    break;
                }
                v = g;
                cap = ncap;
            }
            snprintf(v[nv].category, sizeof v[nv].category, "%s", cat ? cat : "");
            memcpy(v[nv].month, month, sizeof month);
            v[nv].count = sg_sql_col_int64(st, 2);
            nv++;
        }
        sg_sql_reset(st);
    }
    store_reader_put(s, c);
    if (err) {
        free(v);
        return err;
    }
    if (nv > 1)
        qsort(v, nv, sizeof *v, cmp_count_row);
    *out = v;
    *n_out = nv;
    return SG_OK;
}
