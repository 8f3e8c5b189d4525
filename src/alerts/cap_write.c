/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Writers: a CAP 1.2 document per alert and an Atom 1.0 feed of the current ones. Both are
 * written by hand into an sg_buf rather than through an XML library: the documents are
 * small, their element order is fixed by the schemas, and the only hazard -- text that
 * breaks the markup -- is handled in one escape function (the five markup characters, and
 * CR as a character reference, because XML parsers turn a raw CR into LF). The model is
 * validated first, so no string that is not XML text reaches the output. Each writer builds
 * in a scratch buffer with the room left under out's cap and appends once, so a failure
 * leaves out as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_int.h"
#include "safegrid/alerts.h"
#include "safegrid/timefmt.h"

/* Appends s with &, <, > (and in attributes ", TAB, LF) escaped, and CR as a reference. */
static sg_err esc(sg_buf *b, const char *s, int attr)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '\r':
            rep = "&#13;";
            break;
        case '"':
            rep = attr ? "&quot;" : NULL;
            break;
        case '\t':
            rep = attr ? "&#9;" : NULL;
            break;
        case '\n':
            rep = attr ? "&#10;" : NULL;
            break;
        case '\0':
            return sg_buf_append(b, run, (size_t)(p - run));
        default:
            break;
        }
        if (rep) {
            sg_err err = sg_buf_append(b, run, (size_t)(p - run));
            if (!err)
                err = sg_buf_puts(b, rep);
            if (err)
                return err;
            run = p + 1;
        }
    }
}

/* <name>escaped text</name> on its own line, indented; nothing when s is NULL. */
static sg_err elem(sg_buf *b, int indent, const char *name, const char *s)
{
    if (s == NULL)
        return SG_OK;
    sg_err err = sg_buf_printf(b, "%*s<%s>", indent, "", name);
    if (!err)
        err = esc(b, s, 0);
    if (!err)
        err = sg_buf_printf(b, "</%s>\n", name);
    return err;
}

static sg_err time_elem(sg_buf *b, int indent, const char *name, sg_alert_time t)
{
    char buf[32];
    if (!t.has)
        return SG_OK;
    if (sg_alert_time_format(t, buf, sizeof buf) != SG_OK)
        return SG_INVAL; /* validation let it through: not reached */
    return elem(b, indent, name, buf);
}

static sg_err pairs(sg_buf *b, int indent, const char *name, const sg_alert_pair *p, size_t n)
{
    sg_err err = SG_OK;
    for (size_t i = 0; i < n && !err; i++) {
        err = sg_buf_printf(b, "%*s<%s>\n", indent, "", name);
        if (!err)
            err = elem(b, indent + 2, "valueName", p[i].name);
        if (!err)
            err = elem(b, indent + 2, "value", p[i].value);
        if (!err)
            err = sg_buf_printf(b, "%*s</%s>\n", indent, "", name);
    }
    return err;
}

static sg_err point(sg_buf *b, sg_alert_point p)
{
    char la[48], lo[48];
    sg_alert_fmt_double(p.lat, la, sizeof la);
    sg_alert_fmt_double(p.lon, lo, sizeof lo);
    return sg_buf_printf(b, "%s,%s", la, lo);
}

static sg_err area(sg_buf *b, const sg_alert_area *ar)
{
    sg_err err = sg_buf_puts(b, "    <area>\n");
    if (!err)
        err = elem(b, 6, "areaDesc", ar->desc);
    for (size_t i = 0; i < ar->n_polygons && !err; i++) {
        err = sg_buf_puts(b, "      <polygon>");
        for (size_t k = 0; k < ar->polygons[i].n_points && !err; k++) {
            if (k > 0)
                err = sg_buf_puts(b, " ");
            if (!err)
                err = point(b, ar->polygons[i].points[k]);
        }
        if (!err)
            err = sg_buf_puts(b, "</polygon>\n");
    }
    for (size_t i = 0; i < ar->n_circles && !err; i++) {
        char r[48];
        sg_alert_fmt_double(ar->circles[i].radius_km, r, sizeof r);
        err = sg_buf_puts(b, "      <circle>");
        if (!err)
            err = point(b, ar->circles[i].centre);
        if (!err)
            err = sg_buf_printf(b, " %s</circle>\n", r);
    }
    if (!err)
        err = pairs(b, 6, "geocode", ar->geocodes, ar->n_geocodes);
    if (!err)
        err = elem(b, 6, "altitude", ar->altitude);
    if (!err)
        err = elem(b, 6, "ceiling", ar->ceiling);
    if (!err)
        err = sg_buf_puts(b, "    </area>\n");
    return err;
}

static sg_err info(sg_buf *b, const sg_alert_info *in)
{
    sg_err err = sg_buf_puts(b, "  <info>\n");
    if (!err)
        err = elem(b, 4, "language", in->language);
    for (int c = 0; c < SG_ALERT_N_CATEGORIES && !err; c++)
        if (in->categories & (1u << c))
            err = elem(b, 4, "category", sg_alert_category_names[c]);
    if (!err)
        err = elem(b, 4, "event", in->event);
    for (int r = 0; r < SG_ALERT_N_RESPONSES && !err; r++)
        if (in->response_types & (1u << r))
            err = elem(b, 4, "responseType", sg_alert_response_names[r]);
    if (!err)
        err = elem(b, 4, "urgency", sg_alert_urgency_names[in->urgency]);
    if (!err)
        err = elem(b, 4, "severity", sg_alert_severity_names[in->severity]);
    if (!err)
        err = elem(b, 4, "certainty", sg_alert_certainty_names[in->certainty]);
    if (!err)
        err = elem(b, 4, "audience", in->audience);
    if (!err)
        err = pairs(b, 4, "eventCode", in->event_codes, in->n_event_codes);
    if (!err)
        err = time_elem(b, 4, "effective", in->effective);
    if (!err)
        err = time_elem(b, 4, "onset", in->onset);
    if (!err)
        err = time_elem(b, 4, "expires", in->expires);
    if (!err)
        err = elem(b, 4, "senderName", in->sender_name);
    if (!err)
        err = elem(b, 4, "headline", in->headline);
    if (!err)
        err = elem(b, 4, "description", in->description);
    if (!err)
        err = elem(b, 4, "instruction", in->instruction);
    if (!err)
        err = elem(b, 4, "web", in->web);
    if (!err)
        err = elem(b, 4, "contact", in->contact);
    if (!err)
        err = pairs(b, 4, "parameter", in->parameters, in->n_parameters);
    for (size_t i = 0; i < in->n_resources && !err; i++) {
        const sg_alert_resource *r = &in->resources[i];
        err = sg_buf_puts(b, "    <resource>\n");
        if (!err)
            err = elem(b, 6, "resourceDesc", r->desc);
        if (!err)
            err = elem(b, 6, "mimeType", r->mime_type);
        if (!err && r->size >= 0)
            err = sg_buf_printf(b, "      <size>%lld</size>\n", (long long)r->size);
        if (!err)
            err = elem(b, 6, "uri", r->uri);
        if (!err)
            err = elem(b, 6, "derefUri", r->deref_uri);
        if (!err)
            err = elem(b, 6, "digest", r->digest);
        if (!err)
            err = sg_buf_puts(b, "    </resource>\n");
    }
    for (size_t i = 0; i < in->n_areas && !err; i++)
        err = area(b, &in->areas[i]);
    if (!err)
        err = sg_buf_puts(b, "  </info>\n");
    return err;
}

static sg_err cap_doc(sg_buf *b, const sg_alert *a)
{
    sg_err err = sg_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<alert xmlns=\"" SG_ALERT_CAP_NS "\">\n");
    if (!err)
        err = elem(b, 2, "identifier", a->identifier);
    if (!err)
        err = elem(b, 2, "sender", a->sender);
    if (!err)
        err = time_elem(b, 2, "sent", a->sent);
    if (!err)
        err = elem(b, 2, "status", sg_alert_status_names[a->status]);
    if (!err)
        err = elem(b, 2, "msgType", sg_alert_msg_type_names[a->msg_type]);
    if (!err)
        err = elem(b, 2, "source", a->source);
    if (!err)
        err = elem(b, 2, "scope", sg_alert_scope_names[a->scope]);
    if (!err)
        err = elem(b, 2, "restriction", a->restriction);
    if (!err)
        err = elem(b, 2, "addresses", a->addresses);
    for (size_t i = 0; i < a->n_codes && !err; i++)
        err = elem(b, 2, "code", a->codes[i]);
    if (!err)
        err = elem(b, 2, "note", a->note);
    if (!err && a->n_references > 0) {
        err = sg_buf_puts(b, "  <references>");
        for (size_t i = 0; i < a->n_references && !err; i++) {
            char t[32];
            if (sg_alert_time_format(a->references[i].sent, t, sizeof t) != SG_OK)
                return SG_INVAL; /* validated: not reached */
            err = sg_buf_puts(b, i ? " " : "");
            if (!err)
                err = esc(b, a->references[i].sender, 0);
            if (!err)
                err = sg_buf_puts(b, ",");
            if (!err)
                err = esc(b, a->references[i].identifier, 0);
            if (!err)
                err = sg_buf_printf(b, ",%s", t);
        }
        if (!err)
            err = sg_buf_puts(b, "</references>\n");
    }
    if (!err)
        err = elem(b, 2, "incidents", a->incidents);
    for (size_t i = 0; i < a->n_infos && !err; i++)
        err = info(b, &a->infos[i]);
    if (!err)
        err = sg_buf_puts(b, "</alert>\n");
    return err;
}

/* Builds with fn into a scratch buffer limited to the room left in out, then appends. */
static sg_err build_then_append(sg_buf *out, sg_err (*fn)(sg_buf *, const void *), const void *arg)
{
    sg_buf tmp;
    sg_buf_init(&tmp, out->max >= out->len ? out->max - out->len : 0);
    sg_err err = fn(&tmp, arg);
    if (!err)
        err = sg_buf_append(out, tmp.data, tmp.len);
    sg_buf_fini(&tmp);
    return err;
}

static sg_err cap_doc_fn(sg_buf *b, const void *a)
{
    return cap_doc(b, a);
}

sg_err sg_alert_write_cap(const sg_alert *a, sg_buf *out, char *msg, size_t n)
{
    sg_err err = sg_alert_validate(a, msg, n);
    if (err)
        return err;
    err = build_then_append(out, cap_doc_fn, a);
    if (err)
        sg_errf(err, msg, n, "CAP document: %s", sg_strerror(err));
    return err;
}

/* ---------------------------------------------------------------------------------- */
/* Atom                                                                                */

static int is_superseded(const sg_alert *a, const sg_alert *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const sg_alert *s = set[i];
        if (s == a || (s->msg_type != SG_ALERT_MSG_UPDATE && s->msg_type != SG_ALERT_MSG_CANCEL))
            continue;
        if (s->sender == NULL || a->sender == NULL || strcmp(s->sender, a->sender) != 0)
            continue;
        for (size_t k = 0; k < s->n_references; k++)
            if (strcmp(s->references[k].sender, a->sender) == 0 && a->identifier &&
                strcmp(s->references[k].identifier, a->identifier) == 0)
                return 1;
    }
    return 0;
}

/* sg_alert_is_current over sup, the messages of the set that may supersede (Updates and
 * Cancels): the feed collects them once, so a feed of n alerts costs n x |sup|, not n^2. */
static int current(const sg_alert *a, const sg_alert *const *sup, size_t n_sup, int64_t now)
{
    if (a->status != SG_ALERT_ACTUAL && a->status != SG_ALERT_EXERCISE &&
        a->status != SG_ALERT_TEST)
        return 0;
    if (a->msg_type != SG_ALERT_MSG_ALERT && a->msg_type != SG_ALERT_MSG_UPDATE)
        return 0;
    int live = 0;
    for (size_t i = 0; i < a->n_infos && !live; i++)
        live = !a->infos[i].expires.has || a->infos[i].expires.t > now;
    return live && !is_superseded(a, sup, n_sup);
}

int sg_alert_is_current(const sg_alert *a, const sg_alert *const *set, size_t n, int64_t now)
{
    return current(a, set, n, now);
}

typedef struct feed_job {
    const sg_alert **cur; /* the current alerts, newest first */
    size_t n_cur;
    int64_t updated;
    const sg_alert_feed_opts *opts;
} feed_job;

static int newest_first(const void *x, const void *y)
{
    const sg_alert *a = *(const sg_alert *const *)x, *b = *(const sg_alert *const *)y;
    if (a->sent.t != b->sent.t)
        return a->sent.t > b->sent.t ? -1 : 1;
    return strcmp(a->identifier, b->identifier);
}

static const sg_alert_info *pick_info(const sg_alert *a, const char *lang)
{
    if (lang && lang[0]) {
        size_t k = strlen(lang);
        for (size_t i = 0; i < a->n_infos; i++) {
            const char *l = a->infos[i].language;
            if (l && strncasecmp(l, lang, k) == 0 && (l[k] == '\0' || l[k] == '-'))
                return &a->infos[i];
        }
    }
    return a->n_infos ? &a->infos[0] : NULL;
}

/* The CAP document URL: base + identifier with everything but RFC 3986's unreserved
 * characters percent-encoded + ".xml". */
static sg_err cap_url(sg_buf *b, const char *base, const char *id)
{
    sg_err err = esc(b, base, 1);
    for (const unsigned char *p = (const unsigned char *)id; *p && !err; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            err = sg_buf_append(b, p, 1);
        else
            err = sg_buf_printf(b, "%%%02X", *p);
    }
    if (!err)
        err = sg_buf_puts(b, ".xml");
    return err;
}

static sg_err atom_entry(sg_buf *b, const sg_alert *a, const sg_alert_feed_opts *o)
{
    const sg_alert_info *in = pick_info(a, o->lang);
    char t[32];
    if (sg_time_format(a->sent.t, t, sizeof t) != SG_OK)
        return SG_INVAL;
    sg_err err = sg_buf_puts(b, "  <entry>\n    <id>");
    if (!err)
        err = cap_url(b, o->cap_base, a->identifier);
    if (!err)
        err = sg_buf_puts(b, "</id>\n");
    if (!err && in && in->language) {
        err = sg_buf_puts(b, "    <title xml:lang=\"");
        if (!err)
            err = esc(b, in->language, 1);
        if (!err)
            err = sg_buf_puts(b, "\">");
    } else if (!err) {
        err = sg_buf_puts(b, "    <title>");
    }
    if (!err)
        err = esc(b, in->headline && in->headline[0] ? in->headline : in->event, 0);
    if (!err)
        err = sg_buf_printf(b,
                            "</title>\n    <updated>%s</updated>\n"
                            "    <published>%s</published>\n",
                            t, t);
    if (!err)
        err = sg_buf_puts(b, "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"");
    if (!err)
        err = cap_url(b, o->cap_base, a->identifier);
    if (!err)
        err = sg_buf_puts(b, "\"/>\n");
    for (int c = 0; c < SG_ALERT_N_CATEGORIES && !err; c++)
        if (in->categories & (1u << c))
            err = sg_buf_printf(b, "    <category term=\"%s\"/>\n", sg_alert_category_names[c]);
    if (!err)
        err = elem(b, 4, "summary", in->description);
    if (!err)
        err = sg_buf_puts(b, "  </entry>\n");
    return err;
}

static sg_err feed_fn(sg_buf *b, const void *arg)
{
    const feed_job *j = arg;
    const sg_alert_feed_opts *o = j->opts;
    const sg_alert **cur = j->cur;
    size_t nc = j->n_cur;
    int64_t updated = j->updated;
    char t[32];
    sg_err err = sg_time_format(updated, t, sizeof t);
    if (!err)
        err = sg_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                             "<feed xmlns=\"http://www.w3.org/2005/Atom\"");
    if (!err && o->lang) {
        err = sg_buf_puts(b, " xml:lang=\"");
        if (!err)
            err = esc(b, o->lang, 1);
        if (!err)
            err = sg_buf_puts(b, "\"");
    }
    if (!err)
        err = sg_buf_puts(b, ">\n");
    if (!err)
        err = elem(b, 2, "id", o->id);
    if (!err)
        err = elem(b, 2, "title", o->title);
    if (!err)
        err = sg_buf_printf(b, "  <updated>%s</updated>\n  <link rel=\"self\" href=\"", t);
    if (!err)
        err = esc(b, o->self_url ? o->self_url : o->id, 1);
    if (!err)
        err = sg_buf_puts(b, "\"/>\n  <author>\n");
    if (!err)
        err = elem(b, 4, "name", o->author);
    if (!err)
        err = sg_buf_puts(b, "  </author>\n");
    for (size_t i = 0; i < nc && !err; i++)
        err = atom_entry(b, cur[i], o);
    if (!err)
        err = sg_buf_puts(b, "</feed>\n");
    return err;
}

sg_err sg_alert_write_atom(const sg_alert *const *set, size_t n, const sg_alert_feed_opts *opts,
                           int64_t now, sg_buf *out, char *msg, size_t msgn)
{
    if (opts == NULL || !opts->id || !opts->id[0] || !opts->title || !opts->cap_base ||
        !opts->cap_base[0] || !opts->author || !opts->author[0])
        return sg_errf(SG_INVAL, msg, msgn, "feed: id, title, cap_base and author are required");
    if (opts->lang && !sg_alert_language_ok(opts->lang))
        return sg_errf(SG_INVAL, msg, msgn, "feed: \"%.40s\" is not a language tag", opts->lang);
    const sg_alert **sup = malloc((n ? n : 1) * sizeof(*sup));
    const sg_alert **cur = malloc((n ? n : 1) * sizeof(*cur));
    if (sup == NULL || cur == NULL) {
        free(sup);
        free(cur);
        return sg_errf(SG_NOMEM, msg, msgn, "%s", sg_strerror(SG_NOMEM));
    }
    size_t n_sup = 0, n_cur = 0;
    int64_t updated = 0;
    for (size_t i = 0; i < n; i++) {
        const sg_alert *a = set[i];
        if (a->msg_type == SG_ALERT_MSG_UPDATE || a->msg_type == SG_ALERT_MSG_CANCEL)
            sup[n_sup++] = a;
        if (a->sent.t > updated)
            updated = a->sent.t;
        for (size_t k = 0; k < a->n_infos; k++)
            if (a->infos[k].expires.has && a->infos[k].expires.t <= now &&
                a->infos[k].expires.t > updated)
                updated = a->infos[k].expires.t;
    }
    sg_err err = SG_OK;
    for (size_t i = 0; i < n && !err; i++)
        if (current(set[i], sup, n_sup, now)) {
            /* Only what the feed shows must be valid: checked here, once per entry. */
            err = sg_alert_validate(set[i], msg, msgn);
            cur[n_cur++] = set[i];
        }
    free(sup);
    if (err) {
        free(cur);
        return err;
    }
    qsort(cur, n_cur, sizeof(*cur), newest_first);
    feed_job j = {cur, n_cur, updated, opts};
    err = build_then_append(out, feed_fn, &j);
    free(cur);
    if (err)
        sg_errf(err, msg, msgn, "Atom feed: %s", sg_strerror(err));
    return err;
}
