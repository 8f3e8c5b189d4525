/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A case as JSON, written by hand into a buffer (include/safegrid/case_json.h): the shape
 * of every case in the HTTP API's lists and reads, kept in the case layer so that the CLI
 * can print a case exactly as the API does. Written by hand rather than through jansson
 * because the case list is the busiest staff read: a tree of objects per case cost a third
 * of it in profiles. In three parts, so that the server's case-list cache
 * (src/http/cache.c) can keep the first and the last and write the area and organisation
 * codes between from the area snapshot of each request.
 */
#include "safegrid/case_json.h"

#include "safegrid/jsonbuf.h"

sg_err sg_case_json_head(sg_buf *b, const sg_case *c)
{
    sg_err err = sg_buf_puts(b, "\"id\":");
    err = err ? err : sg_buf_put_i64(b, c->id);
    err = err ? err : sg_buf_puts(b, ",\"tracking_code\":");
    err = err ? err : sg_json_buf_str(b, c->tracking_code);
    err = err ? err : sg_buf_puts(b, ",\"type\":");
    err = err ? err : sg_json_buf_str(b, c->type);
    err = err ? err : sg_buf_puts(b, ",\"category\":");
    err = err ? err : sg_json_buf_str(b, c->category);
    err = err ? err : sg_buf_puts(b, ",\"status\":");
    err = err ? err : sg_json_buf_str(b, c->status);
    err = err ? err : sg_buf_puts(b, ",\"priority\":");
    err = err ? err : sg_buf_put_i64(b, c->priority);
    err = err ? err : sg_buf_puts(b, ",\"title\":");
    err = err ? err : sg_json_buf_str(b, c->title);
    err = err ? err : sg_buf_puts(b, ",\"description\":");
    err = err ? err : sg_json_buf_str(b, c->description);
    err = err ? err : sg_buf_puts(b, ",\"lon\":");
    err = err ? err : sg_json_buf_num(b, c->lon);
    err = err ? err : sg_buf_puts(b, ",\"lat\":");
    err = err ? err : sg_json_buf_num(b, c->lat);
    return err;
}

sg_err sg_case_json_places(sg_buf *b, int64_t area_id, int64_t org_id, const sg_areas *areas)
{
    const sg_area_row *a = areas && area_id ? sg_areas_get(areas, area_id) : NULL;
    const sg_org_row *o = areas && org_id ? sg_areas_org(areas, org_id) : NULL;
    sg_err err = sg_buf_puts(b, ",\"area\":");
    err = err ? err : sg_json_buf_str(b, a ? a->code : NULL);
    err = err ? err : sg_buf_puts(b, ",\"org\":");
    err = err ? err : sg_json_buf_str(b, o ? o->code : NULL);
    return err;
}

sg_err sg_case_json_tail(sg_buf *b, const sg_case *c)
{
    sg_err err = sg_buf_puts(b, ",\"created_at\":");
    err = err ? err : sg_json_buf_time(b, c->created_at);
    err = err ? err : sg_buf_puts(b, ",\"updated_at\":");
    err = err ? err : sg_json_buf_time(b, c->updated_at);
    err = err ? err : sg_buf_puts(b, ",\"due_at\":");
    err = err ? err : sg_json_buf_time(b, c->due_at);
    err = err ? err : sg_buf_puts(b, ",\"closed_at\":");
    err = err ? err : sg_json_buf_time(b, c->closed_at);
    err = err ? err
              : sg_buf_printf(b, ",\"escalations\":%d,\"version\":%lld,\"source\":", c->escalations,
                              (long long)c->version);
    err = err ? err : sg_json_buf_str(b, c->source);
    return err;
}

sg_err sg_case_json_fields(sg_buf *b, const sg_case *c, const sg_areas *areas)
{
    sg_err err = sg_case_json_head(b, c);
    err = err ? err : sg_case_json_places(b, c->area_id, c->org_id, areas);
    return err ? err : sg_case_json_tail(b, c);
}

sg_err sg_case_json_write(sg_buf *b, const sg_case *c, const sg_areas *areas)
{
    sg_err err = sg_buf_puts(b, "{");
    err = err ? err : sg_case_json_fields(b, c, areas);
    return err ? err : sg_buf_puts(b, "}");
}
