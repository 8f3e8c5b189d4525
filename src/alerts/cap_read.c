/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * CAP 1.2 reader: turns a document from another agency (or one of ours, for round trips)
 * back into the model. Expat does the XML (encodings, entities, well-formedness); this file
 * holds the schema's structure as small tables -- for each element the children it may
 * have, in order, with their minimum and maximum counts -- and walks them as the elements
 * arrive, so an element that is unknown, out of order, repeated or missing is refused with
 * its path and line, as a schema validator would. Values are converted as each element
 * ends; the finished model then goes through sg_alert_validate for the rules of the CAP text.
 *
 * Expat is used rather than libxml2 because it is already linked (readosm reads OSM XML with
 * it) and a streaming reader is all a CAP document needs. A DOCTYPE is refused outright: CAP
 * has none, and without one there are no entity declarations to expand.
 */
#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_int.h"
#include "safegrid/alerts.h"

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define MAX_DEPTH 8

/* What an element is. Leaves carry text; the others hold children. */
typedef enum {
    E_ALERT,
    E_INFO,
    E_RESOURCE,
    E_AREA,
    E_PAIR, /* containers */
    E_IDENTIFIER,
    E_SENDER,
    E_SENT,
    E_STATUS,
    E_MSGTYPE,
    E_SOURCE,
    E_SCOPE,
    E_RESTRICTION,
    E_ADDRESSES,
    E_CODE,
    E_NOTE,
    E_REFERENCES,
    E_INCIDENTS,
    E_LANGUAGE,
    E_CATEGORY,
    E_EVENT,
    E_RESPONSETYPE,
    E_URGENCY,
    E_SEVERITY,
    E_CERTAINTY,
    E_AUDIENCE,
    E_EFFECTIVE,
    E_ONSET,
    E_EXPIRES,
    E_SENDERNAME,
    E_HEADLINE,
    E_DESCRIPTION,
    E_INSTRUCTION,
    E_WEB,
    E_CONTACT,
    E_RESOURCEDESC,
    E_MIMETYPE,
    E_SIZE,
    E_URI,
    E_DEREFURI,
    E_DIGEST,
    E_AREADESC,
    E_POLYGON,
    E_CIRCLE,
    E_ALTITUDE,
    E_CEILING,
    E_VALUENAME,
    E_VALUE
} ekind;

typedef struct child {
    const char *name;
    ekind kind;
    int min, max; /* max 0: unbounded */
} child;

/* The XML schema's sequences (cap12.xsd), in order. */
static const child alert_children[] = {{"identifier", E_IDENTIFIER, 1, 1},
                                       {"sender", E_SENDER, 1, 1},
                                       {"sent", E_SENT, 1, 1},
                                       {"status", E_STATUS, 1, 1},
                                       {"msgType", E_MSGTYPE, 1, 1},
                                       {"source", E_SOURCE, 0, 1},
                                       {"scope", E_SCOPE, 1, 1},
                                       {"restriction", E_RESTRICTION, 0, 1},
                                       {"addresses", E_ADDRESSES, 0, 1},
                                       {"code", E_CODE, 0, 0},
                                       {"note", E_NOTE, 0, 1},
                                       {"references", E_REFERENCES, 0, 1},
                                       {"incidents", E_INCIDENTS, 0, 1},
                                       {"info", E_INFO, 0, 0}};
static const child info_children[] = {{"language", E_LANGUAGE, 0, 1},
                                      {"category", E_CATEGORY, 1, 0},
                                      {"event", E_EVENT, 1, 1},
                                      {"responseType", E_RESPONSETYPE, 0, 0},
                                      {"urgency", E_URGENCY, 1, 1},
                                      {"severity", E_SEVERITY, 1, 1},
                                      {"certainty", E_CERTAINTY, 1, 1},
                                      {"audience", E_AUDIENCE, 0, 1},
                                      {"eventCode", E_PAIR, 0, 0},
                                      {"effective", E_EFFECTIVE, 0, 1},
                                      {"onset", E_ONSET, 0, 1},
                                      {"expires", E_EXPIRES, 0, 1},
                                      {"senderName", E_SENDERNAME, 0, 1},
                                      {"headline", E_HEADLINE, 0, 1},
                                      {"description", E_DESCRIPTION, 0, 1},
                                      {"instruction", E_INSTRUCTION, 0, 1},
                                      {"web", E_WEB, 0, 1},
                                      {"contact", E_CONTACT, 0, 1},
                                      {"parameter", E_PAIR, 0, 0},
                                      {"resource", E_RESOURCE, 0, 0},
                                      {"area", E_AREA, 0, 0}};
static const child resource_children[] = {{"resourceDesc", E_RESOURCEDESC, 1, 1},
                                          {"mimeType", E_MIMETYPE, 1, 1},
                                          {"size", E_SIZE, 0, 1},
                                          {"uri", E_URI, 0, 1},
                                          {"derefUri", E_DEREFURI, 0, 1},
                                          {"digest", E_DIGEST, 0, 1}};
static const child area_children[] = {{"areaDesc", E_AREADESC, 1, 1}, {"polygon", E_POLYGON, 0, 0},
                                      {"circle", E_CIRCLE, 0, 0},     {"geocode", E_PAIR, 0, 0},
                                      {"altitude", E_ALTITUDE, 0, 1}, {"ceiling", E_CEILING, 0, 1}};
static const child pair_children[] = {{"valueName", E_VALUENAME, 1, 1}, {"value", E_VALUE, 1, 1}};

typedef struct frame {
    const child *table; /* NULL for a leaf */
    size_t n_table;
    size_t pos; /* index in table of the last child seen */
    int count;  /* how many times table[pos] has been seen */
    ekind kind;
    const char *name; /* static: from the tables */
    int index;        /* 1-based position among siblings of the same name; 0: unique */
} frame;

typedef struct reader {
    XML_Parser p;
    sg_alert *a;
    frame stack[MAX_DEPTH];
    int depth;
    int skip;      /* > 0 inside an XML signature, which is skipped */
    int seen_dsig; /* a signature was seen: nothing of CAP may follow it */
    sg_buf text;
    sg_alert_info *info;
    sg_alert_area *area;
    sg_alert_resource *res;
    sg_alert_pair *pair;
    sg_err err;
    char msg[320];
} reader;

/* Formats "line N: alert/info[1]/urgency: <detail>" into r->msg and stops the parser. */
static void fail(reader *r, sg_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(reader *r, sg_err err, const char *fmt, ...)
{
    if (r->err)
        return;
    r->err = err;
    int k = snprintf(r->msg, sizeof r->msg,
                     "line %lu: ", (unsigned long)XML_GetCurrentLineNumber(r->p));
    for (int i = 0; i < r->depth && k >= 0 && (size_t)k < sizeof r->msg; i++) {
        const frame *f = &r->stack[i];
        k += f->index
                 ? snprintf(r->msg + k, sizeof r->msg - (size_t)k, "%s%s[%d]", i ? "/" : "",
                            f->name, f->index)
                 : snprintf(r->msg + k, sizeof r->msg - (size_t)k, "%s%s", i ? "/" : "", f->name);
    }
    if (k >= 0 && (size_t)k < sizeof r->msg - 2) {
        if (r->depth > 0) { /* after the path; outside the root there is none */
            r->msg[k++] = ':';
            r->msg[k++] = ' ';
        }
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->msg + k, sizeof r->msg - (size_t)k, fmt, ap);
        va_end(ap);
    }
    XML_StopParser(r->p, XML_FALSE);
}

/* Splits an expat name "uri local" (the separator is a space, which neither a namespace URI
 * nor a local name contains) into its namespace (NULL if none) and local part. */
static const char *local_name(const char *name, char *ns, size_t n)
{
    const char *sp = strrchr(name, ' ');
    if (sp == NULL) {
        ns[0] = '\0';
        return name;
    }
    size_t k = (size_t)(sp - name) < n - 1 ? (size_t)(sp - name) : n - 1;
    memcpy(ns, name, k);
    ns[k] = '\0';
    return sp + 1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trims XML white space in place; returns the start. */
static char *trim(char *s)
{
    while (is_ws(*s))
        s++;
    size_t k = strlen(s);
    while (k > 0 && is_ws(s[k - 1]))
        s[--k] = '\0';
    return s;
}

static sg_err add_pair(reader *r, const char *name)
{
    sg_alert_pair **arr;
    size_t *n;
    if (strcmp(name, "eventCode") == 0)
        arr = &r->info->event_codes, n = &r->info->n_event_codes;
    else if (strcmp(name, "parameter") == 0)
        arr = &r->info->parameters, n = &r->info->n_parameters;
    else
        arr = &r->area->geocodes, n = &r->area->n_geocodes;
    sg_err err = sg_alert_pair_add(arr, n, "", "");
    if (!err)
        r->pair = &(*arr)[*n - 1];
    return err;
}

/* The first required child in table[pos..to) that has not been seen, or -1. */
static long first_missing(const frame *f, size_t to)
{
    for (size_t k = f->pos; k < to && k < f->n_table; k++)
        if ((k == f->pos ? f->count : 0) < f->table[k].min)
            return (long)k;
    return -1;
}

static void XMLCALL on_start(void *ud, const XML_Char *qname, const XML_Char **attrs)
{
    reader *r = ud;
    char ns[256];
    if (r->err)
        return;
    if (r->skip > 0) {
        r->skip++;
        return;
    }
    const char *name = local_name(qname, ns, sizeof ns);
    if (r->depth == 0) {
        if (strcmp(ns, SG_ALERT_CAP_NS) != 0 || strcmp(name, "alert") != 0) {
            fail(r, SG_INVAL,
                 "not a CAP 1.2 document: the root element is <%.40s> in namespace \"%.80s\" "
                 "(expected <alert> in " SG_ALERT_CAP_NS ")",
                 name, ns);
            return;
        }
        r->stack[0] = (frame){alert_children,
                              sizeof alert_children / sizeof *alert_children,
                              0,
                              0,
                              E_ALERT,
                              "alert",
                              0};
        r->depth = 1;
    } else {
        frame *pf = &r->stack[r->depth - 1];
        if (pf->table == NULL) {
            fail(r, SG_INVAL, "holds text, not the element <%.40s>", name);
            return;
        }
        if (strcmp(ns, DSIG_NS) == 0 && pf->kind == E_ALERT && strcmp(name, "Signature") == 0) {
            /* The schema's xs:any after the info blocks: an XML signature, skipped. */
            long m = first_missing(pf, pf->n_table);
            if (m >= 0) {
                fail(r, SG_INVAL, "<%s> is missing (required before the signature)",
                     pf->table[m].name);
                return;
            }
            pf->pos = pf->n_table;
            pf->count = 0;
            r->seen_dsig = 1;
            r->skip = 1;
            return;
        }
        if (strcmp(ns, SG_ALERT_CAP_NS) != 0) {
            fail(r, SG_INVAL, "unknown element <%.40s> in namespace \"%.80s\"", name, ns);
            return;
        }
        size_t i = 0;
        while (i < pf->n_table && strcmp(pf->table[i].name, name) != 0)
            i++;
        if (i == pf->n_table) {
            fail(r, SG_INVAL, "unknown element <%.40s>", name);
            return;
        }
        if (r->seen_dsig && pf->kind == E_ALERT) {
            fail(r, SG_INVAL, "<%s> after the signature", pf->table[i].name);
            return;
        }
        if (i < pf->pos) {
            fail(r, SG_INVAL, "<%s> is out of order: it must come before <%s>", pf->table[i].name,
                 pf->table[pf->pos].name);
            return;
        }
        if (i == pf->pos && pf->count > 0) {
            if (pf->table[i].max == 1) {
                fail(r, SG_INVAL, "<%s> may appear only once", pf->table[i].name);
                return;
            }
            pf->count++;
        } else {
            long m = first_missing(pf, i);
            if (m >= 0) {
                fail(r, SG_INVAL, "<%s> is missing (required before <%s>)", pf->table[m].name,
                     pf->table[i].name);
                return;
            }
            pf->pos = i;
            pf->count = 1;
        }
        if (r->depth >= MAX_DEPTH) { /* the tables nest 5 deep: not reached */
            fail(r, SG_INVAL, "nested too deeply");
            return;
        }
        const child *c = &pf->table[i];
        frame f = {NULL, 0, 0, 0, c->kind, c->name, c->max == 1 ? 0 : pf->count};
        sg_err err = SG_OK;
        switch (c->kind) {
        case E_INFO:
            f.table = info_children, f.n_table = sizeof info_children / sizeof *info_children;
            err = sg_alert_add_info(r->a, &r->info);
            break;
        case E_RESOURCE:
            f.table = resource_children;
            f.n_table = sizeof resource_children / sizeof *resource_children;
            err = sg_alert_info_add_resource(r->info, &r->res);
            break;
        case E_AREA:
            f.table = area_children, f.n_table = sizeof area_children / sizeof *area_children;
            err = sg_alert_info_add_area(r->info, &r->area);
            break;
        case E_PAIR:
            f.table = pair_children, f.n_table = 2;
            err = add_pair(r, c->name);
            break;
        default:
            sg_buf_reset(&r->text);
            break;
        }
        if (err) {
            fail(r, err, "%s", sg_strerror(err));
            return;
        }
        r->stack[r->depth++] = f;
    }
    for (int i = 0; attrs[i]; i += 2) {
        const char *an = local_name(attrs[i], ns, sizeof ns);
        if (strcmp(ns, XSI_NS) != 0) {
            fail(r, SG_INVAL, "has the attribute \"%.40s\", which CAP does not define", an);
            return;
        }
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    reader *r = ud;
    if (r->err || r->skip > 0 || r->depth == 0)
        return;
    frame *f = &r->stack[r->depth - 1];
    if (f->table != NULL) {
        for (int i = 0; i < len; i++)
            if (!is_ws(s[i])) {
                fail(r, SG_INVAL, "text is not allowed here, only elements");
                return;
            }
        return;
    }
    sg_err err = sg_buf_append(&r->text, s, (size_t)len);
    if (err)
        fail(r, err, "%s", sg_strerror(err));
}

/* Parses a decimal number (sign, digits, optional fraction; no exponent, no "inf") that
 * takes up the whole of s[0..len). */
static int parse_num(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    size_t i = (buf[0] == '+' || buf[0] == '-') ? 1 : 0, nd = 0;
    while (buf[i] >= '0' && buf[i] <= '9')
        i++, nd++;
    if (buf[i] == '.')
        for (i++; buf[i] >= '0' && buf[i] <= '9'; i++)
            nd++;
    if (nd == 0 || buf[i] != '\0')
        return 0;
    *out = strtod(buf, NULL);
    return 1;
}

/* Parses "lat,lon" (len bytes at s). */
static int parse_pair(const char *s, size_t len, sg_alert_point *out)
{
    const char *comma = memchr(s, ',', len);
    return comma && parse_num(s, (size_t)(comma - s), &out->lat) &&
           parse_num(comma + 1, len - (size_t)(comma - s) - 1, &out->lon);
}

static void leaf_polygon(reader *r, char *v)
{
    size_t n = 0, cap = 0;
    sg_alert_point *pts = NULL;
    for (char *p = v; *p;) {
        while (is_ws(*p))
            p++;
        if (!*p)
            break;
        char *e = p;
        while (*e && !is_ws(*e))
            e++;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            sg_alert_point *np = realloc(pts, cap * sizeof(*pts));
            if (np == NULL) {
                free(pts);
                fail(r, SG_NOMEM, "%s", sg_strerror(SG_NOMEM));
                return;
            }
            pts = np;
        }
        if (!parse_pair(p, (size_t)(e - p), &pts[n])) {
            free(pts);
            fail(r, SG_INVAL, "\"%.*s\" is not a latitude,longitude pair",
                 (int)(e - p > 60 ? 60 : e - p), p);
            return;
        }
        n++;
        p = e;
    }
    sg_err err = sg_alert_area_add_polygon(r->area, pts, n);
    free(pts);
    if (err)
        fail(r, err, "%s", sg_strerror(err));
}

static void leaf_circle(reader *r, char *v)
{
    char *sp = v;
    while (*sp && !is_ws(*sp))
        sp++;
    char *rad = sp;
    while (is_ws(*rad))
        rad++;
    sg_alert_point c;
    double km;
    if (*v == '\0' || !parse_pair(v, (size_t)(sp - v), &c) || !parse_num(rad, strlen(rad), &km)) {
        fail(r, SG_INVAL, "\"%.60s\" is not \"latitude,longitude radius\"", v);
        return;
    }
    sg_err err = sg_alert_area_add_circle(r->area, c.lat, c.lon, km);
    if (err)
        fail(r, err, "%s", sg_strerror(err));
}

static void leaf_references(reader *r, char *v)
{
    for (char *p = v; *p;) {
        while (is_ws(*p))
            p++;
        if (!*p)
            break;
        char *e = p;
        while (*e && !is_ws(*e))
            e++;
        char save = *e;
        *e = '\0';
        char *c1 = strchr(p, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (c2 == NULL || strchr(c2 + 1, ',') != NULL || c1 == p || c2 == c1 + 1) {
            fail(r, SG_INVAL, "\"%.60s\" is not sender,identifier,sent", p);
            return;
        }
        *c1 = *c2 = '\0';
        sg_alert_time t;
        char tm[120];
        if (sg_alert_time_parse(c2 + 1, &t, tm, sizeof tm) != SG_OK) {
            fail(r, SG_INVAL, "%s", tm);
            return;
        }
        sg_err err = sg_alert_add_ref(r->a, p, c1 + 1, t);
        if (err) {
            fail(r, err, "%s", sg_strerror(err));
            return;
        }
        *e = save;
        p = e;
    }
}

/* Looks v up in names; fails with the list of allowed values. */
static int enum_value(reader *r, const char *const *names, size_t n, const char *v)
{
    int i = sg_alert_name_index(names, n, v);
    if (i < 0) {
        char list[160];
        size_t k = 0;
        for (size_t j = 0; j < n && k < sizeof list; j++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", j ? ", " : "", names[j]);
        fail(r, SG_INVAL, "\"%.40s\" is not one of %s", v, list);
    }
    return i;
}

static void set_str(reader *r, char **field, const char *v)
{
    sg_err err = sg_alert_strset(field, v);
    if (err)
        fail(r, err, "%s", sg_strerror(err));
}

static void set_time(reader *r, sg_alert_time *t, char *v)
{
    char tm[160];
    if (sg_alert_time_parse(trim(v), t, tm, sizeof tm) != SG_OK)
        fail(r, SG_INVAL, "%s", tm);
}

static void end_leaf(reader *r, ekind kind)
{
    char *raw = r->text.data ? r->text.data : (char *)"";
    /* A NUL from a character reference "&#0;" is refused by expat; one here would cut the
     * text short, so it is refused too. */
    if (strlen(raw) != r->text.len) {
        fail(r, SG_INVAL, "contains a NUL character");
        return;
    }
    sg_alert *a = r->a;
    sg_alert_info *in = r->info;
    int i;
    switch (kind) {
    case E_IDENTIFIER:
        set_str(r, &a->identifier, raw);
        break;
    case E_SENDER:
        set_str(r, &a->sender, raw);
        break;
    case E_SENT:
        set_time(r, &a->sent, raw);
        break;
    case E_STATUS:
        if ((i = enum_value(r, sg_alert_status_names, 5, trim(raw))) >= 0)
            a->status = (sg_alert_status)i;
        break;
    case E_MSGTYPE:
        if ((i = enum_value(r, sg_alert_msg_type_names, 5, trim(raw))) >= 0)
            a->msg_type = (sg_alert_msg_type)i;
        break;
    case E_SOURCE:
        set_str(r, &a->source, raw);
        break;
    case E_SCOPE:
        if ((i = enum_value(r, sg_alert_scope_names, 3, trim(raw))) >= 0)
            a->scope = (sg_alert_scope)i;
        break;
    case E_RESTRICTION:
        set_str(r, &a->restriction, raw);
        break;
    case E_ADDRESSES:
        set_str(r, &a->addresses, raw);
        break;
    case E_CODE: {
        sg_err err = sg_alert_add_code(a, raw);
        if (err)
            fail(r, err, "%s", sg_strerror(err));
        break;
    }
    case E_NOTE:
        set_str(r, &a->note, raw);
        break;
    case E_REFERENCES:
        leaf_references(r, raw);
        break;
    case E_INCIDENTS:
        set_str(r, &a->incidents, raw);
        break;
    case E_LANGUAGE:
        set_str(r, &in->language, trim(raw));
        break;
    case E_CATEGORY:
        if ((i = enum_value(r, sg_alert_category_names, SG_ALERT_N_CATEGORIES, trim(raw))) >= 0)
            in->categories |= 1u << i;
        break;
    case E_EVENT:
        set_str(r, &in->event, raw);
        break;
    case E_RESPONSETYPE:
        if ((i = enum_value(r, sg_alert_response_names, SG_ALERT_N_RESPONSES, trim(raw))) >= 0)
            in->response_types |= 1u << i;
        break;
    case E_URGENCY:
        if ((i = enum_value(r, sg_alert_urgency_names, 5, trim(raw))) >= 0)
            in->urgency = (sg_alert_urgency)i;
        break;
    case E_SEVERITY:
        if ((i = enum_value(r, sg_alert_severity_names, 5, trim(raw))) >= 0)
            in->severity = (sg_alert_severity)i;
        break;
    case E_CERTAINTY:
        if ((i = enum_value(r, sg_alert_certainty_names, 5, trim(raw))) >= 0)
            in->certainty = (sg_alert_certainty)i;
        break;
    case E_AUDIENCE:
        set_str(r, &in->audience, raw);
        break;
    case E_EFFECTIVE:
        set_time(r, &in->effective, raw);
        break;
    case E_ONSET:
        set_time(r, &in->onset, raw);
        break;
    case E_EXPIRES:
        set_time(r, &in->expires, raw);
        break;
    case E_SENDERNAME:
        set_str(r, &in->sender_name, raw);
        break;
    case E_HEADLINE:
        set_str(r, &in->headline, raw);
        break;
    case E_DESCRIPTION:
        set_str(r, &in->description, raw);
        break;
    case E_INSTRUCTION:
        set_str(r, &in->instruction, raw);
        break;
    case E_WEB:
        set_str(r, &in->web, trim(raw));
        break;
    case E_CONTACT:
        set_str(r, &in->contact, raw);
        break;
    case E_RESOURCEDESC:
        set_str(r, &r->res->desc, raw);
        break;
    case E_MIMETYPE:
        set_str(r, &r->res->mime_type, raw);
        break;
    case E_SIZE: {
        char *v = trim(raw), *end;
        long long sz = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || *v == '-' || sz < 0 || sz == LLONG_MAX)
            fail(r, SG_INVAL, "\"%.40s\" is not a size in bytes", v);
        else
            r->res->size = sz;
        break;
    }
    case E_URI:
        set_str(r, &r->res->uri, trim(raw));
        break;
    case E_DEREFURI:
        set_str(r, &r->res->deref_uri, raw);
        break;
    case E_DIGEST:
        set_str(r, &r->res->digest, trim(raw));
        break;
    case E_AREADESC:
        set_str(r, &r->area->desc, raw);
        break;
    case E_POLYGON:
        leaf_polygon(r, raw);
        break;
    case E_CIRCLE:
        leaf_circle(r, trim(raw));
        break;
    case E_ALTITUDE:
        set_str(r, &r->area->altitude, trim(raw));
        break;
    case E_CEILING:
        set_str(r, &r->area->ceiling, trim(raw));
        break;
    case E_VALUENAME:
        set_str(r, &r->pair->name, raw);
        break;
    case E_VALUE:
        set_str(r, &r->pair->value, raw);
        break;
    default:
        break; /* containers do not get here */
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *qname)
{
    reader *r = ud;
    (void)qname;
    if (r->err)
        return;
    if (r->skip > 0) {
        r->skip--;
        return;
    }
    frame *f = &r->stack[r->depth - 1];
    if (f->table == NULL) {
        end_leaf(r, f->kind);
    } else {
        long m = first_missing(f, f->n_table);
        if (m >= 0) {
            fail(r, SG_INVAL, "<%s> is missing", f->table[m].name);
            return;
        }
    }
    if (!r->err)
        r->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail(ud, SG_INVAL, "a DOCTYPE is not allowed in a CAP document");
}

sg_err sg_alert_read_cap(const char *data, size_t len, sg_alert *out, char *msg, size_t n)
{
    if (len > INT_MAX)
        return sg_errf(SG_TOOBIG, msg, n, "CAP document of %zu bytes is too large", len);
    reader r;
    memset(&r, 0, sizeof r);
    r.a = out;
    sg_buf_init(&r.text, len + 1);
    r.p = XML_ParserCreateNS(NULL, ' ');
    if (r.p == NULL)
        return sg_errf(SG_NOMEM, msg, n, "%s", sg_strerror(SG_NOMEM));
    XML_SetUserData(r.p, &r);
    XML_SetElementHandler(r.p, on_start, on_end);
    XML_SetCharacterDataHandler(r.p, on_text);
    XML_SetStartDoctypeDeclHandler(r.p, on_doctype);
    enum XML_Status st = XML_Parse(r.p, data ? data : "", (int)len, XML_TRUE);
    sg_err err = r.err;
    if (!err && st != XML_STATUS_OK) {
        err = SG_INVAL;
        snprintf(r.msg, sizeof r.msg, "line %lu: not well-formed XML: %s",
                 (unsigned long)XML_GetCurrentLineNumber(r.p),
                 XML_ErrorString(XML_GetErrorCode(r.p)));
    }
    XML_ParserFree(r.p);
    sg_buf_fini(&r.text);
    if (err) {
        sg_alert_fini(out);
        return sg_errf(err, msg, n, "%s", r.msg);
    }
    err = sg_alert_validate(out, msg, n);
    if (err)
        sg_alert_fini(out);
    return err;
}
