/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The CAP 1.2 alert model: building it, releasing it, CAP times, and validation by the
 * rules of the CAP 1.2 text. The XML schema checks structure and value lists; the text adds
 * rules the schema cannot express (identifiers without spaces or commas, references with an
 * Update, closed polygons of four pairs or more, expires after effective). Both the writer
 * and the reader run the same sg_alert_validate, so a document this module writes is one it
 * would accept, and an imported document is held to the rules our own are held to.
 *
 * Messages name the element by a path with 1-based positions ("alert/info[2]/expires"), the
 * way an author finds it in the document.
 */
#include "safegrid/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_int.h"
#include "safegrid/timefmt.h"
#include "safegrid/utf8.h"

/* clang-format off */
const char *const sg_alert_status_names[5] = {"Actual", "Exercise", "System", "Test", "Draft"};
const char *const sg_alert_msg_type_names[5] = {"Alert", "Update", "Cancel", "Ack", "Error"};
const char *const sg_alert_scope_names[3] = {"Public", "Restricted", "Private"};
const char *const sg_alert_category_names[SG_ALERT_N_CATEGORIES] = {
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
    "Infra", "CBRNE", "Other"};
const char *const sg_alert_response_names[SG_ALERT_N_RESPONSES] = {
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
    "None"};
const char *const sg_alert_urgency_names[5] = {"Immediate", "Expected", "Future", "Past",
                                               "Unknown"};
const char *const sg_alert_severity_names[5] = {"Extreme", "Severe", "Moderate", "Minor",
                                                "Unknown"};
const char *const sg_alert_certainty_names[5] = {"Observed", "Likely", "Possible", "Unlikely",
                                                 "Unknown"};
/* clang-format on */

#define NAME_FN(fn, type, table, count)                                                            \
    const char *fn(type v)                                                                         \
    {                                                                                              \
        return (unsigned)v < (count) ? table[v] : NULL;                                            \
    }
NAME_FN(sg_alert_status_name, sg_alert_status, sg_alert_status_names, 5)
NAME_FN(sg_alert_msg_type_name, sg_alert_msg_type, sg_alert_msg_type_names, 5)
NAME_FN(sg_alert_scope_name, sg_alert_scope, sg_alert_scope_names, 3)
NAME_FN(sg_alert_category_name, sg_alert_category, sg_alert_category_names, SG_ALERT_N_CATEGORIES)
NAME_FN(sg_alert_response_name, sg_alert_response, sg_alert_response_names, SG_ALERT_N_RESPONSES)
NAME_FN(sg_alert_urgency_name, sg_alert_urgency, sg_alert_urgency_names, 5)
NAME_FN(sg_alert_severity_name, sg_alert_severity, sg_alert_severity_names, 5)
NAME_FN(sg_alert_certainty_name, sg_alert_certainty, sg_alert_certainty_names, 5)
#undef NAME_FN

int sg_alert_name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

void sg_alert_fmt_double(double v, char *buf, size_t n)
{
    if (v == 0)
        v = 0; /* no "-0" */
    for (int p = 0; p <= 17; p++) {
        snprintf(buf, n, "%.*f", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* ---------------------------------------------------------------------------------- */
/* Building and releasing                                                              */

void sg_alert_init(sg_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->status = SG_ALERT_ACTUAL;
    a->msg_type = SG_ALERT_MSG_ALERT;
    a->scope = SG_ALERT_PUBLIC;
}

static void pairs_free(sg_alert_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

static void area_fini(sg_alert_area *ar)
{
    free(ar->desc);
    for (size_t i = 0; i < ar->n_polygons; i++)
        free(ar->polygons[i].points);
    free(ar->polygons);
    free(ar->circles);
    pairs_free(ar->geocodes, ar->n_geocodes);
    free(ar->altitude);
    free(ar->ceiling);
}

static void info_fini(sg_alert_info *in)
{
    free(in->language);
    free(in->event);
    free(in->audience);
    pairs_free(in->event_codes, in->n_event_codes);
    free(in->sender_name);
    free(in->headline);
    free(in->description);
    free(in->instruction);
    free(in->web);
    free(in->contact);
    pairs_free(in->parameters, in->n_parameters);
    for (size_t i = 0; i < in->n_resources; i++) {
        sg_alert_resource *r = &in->resources[i];
        free(r->desc);
        free(r->mime_type);
        free(r->uri);
        free(r->deref_uri);
        free(r->digest);
    }
    free(in->resources);
    for (size_t i = 0; i < in->n_areas; i++)
        area_fini(&in->areas[i]);
    free(in->areas);
}

void sg_alert_fini(sg_alert *a)
{
    if (a == NULL)
        return;
    free(a->identifier);
    free(a->sender);
    free(a->source);
    free(a->restriction);
    free(a->addresses);
    for (size_t i = 0; i < a->n_codes; i++)
        free(a->codes[i]);
    free(a->codes);
    free(a->note);
    for (size_t i = 0; i < a->n_references; i++) {
        free(a->references[i].sender);
        free(a->references[i].identifier);
    }
    free(a->references);
    free(a->incidents);
    for (size_t i = 0; i < a->n_infos; i++)
        info_fini(&a->infos[i]);
    free(a->infos);
    sg_alert_init(a);
}

sg_err sg_alert_strset(char **field, const char *value)
{
    char *c = NULL;
    if (value != NULL) {
        c = strdup(value);
        if (c == NULL)
            return SG_NOMEM;
    }
    free(*field);
    *field = c;
    return SG_OK;
}

/* Grows an array of n elements of size sz by one zeroed element; *arr changes only on
 * success. */
static sg_err grow(void **arr, size_t *n, size_t sz)
{
    if (*n >= ((size_t)-1) / sz / 2)
        return SG_NOMEM;
    void *p = realloc(*arr, (*n + 1) * sz);
    if (p == NULL)
        return SG_NOMEM;
    memset((char *)p + *n * sz, 0, sz);
    *arr = p;
    (*n)++;
    return SG_OK;
}

sg_err sg_alert_add_info(sg_alert *a, sg_alert_info **out)
{
    sg_err err = grow((void **)&a->infos, &a->n_infos, sizeof(sg_alert_info));
    if (err)
        return err;
    sg_alert_info *in = &a->infos[a->n_infos - 1];
    in->urgency = SG_ALERT_URG_UNKNOWN;
    in->severity = SG_ALERT_SEV_UNKNOWN;
    in->certainty = SG_ALERT_CERT_UNKNOWN;
    *out = in;
    return SG_OK;
}

sg_err sg_alert_add_ref(sg_alert *a, const char *sender, const char *identifier, sg_alert_time sent)
{
    char *s = strdup(sender ? sender : ""), *id = strdup(identifier ? identifier : "");
    sg_err err = (s && id) ? grow((void **)&a->references, &a->n_references, sizeof(sg_alert_ref))
                           : SG_NOMEM;
    if (err) {
        free(s);
        free(id);
        return err;
    }
    sg_alert_ref *r = &a->references[a->n_references - 1];
    r->sender = s;
    r->identifier = id;
    r->sent = sent;
    return SG_OK;
}

sg_err sg_alert_add_code(sg_alert *a, const char *code)
{
    char *c = strdup(code ? code : "");
    sg_err err = c ? grow((void **)&a->codes, &a->n_codes, sizeof(char *)) : SG_NOMEM;
    if (err) {
        free(c);
        return err;
    }
    a->codes[a->n_codes - 1] = c;
    return SG_OK;
}

sg_err sg_alert_info_add_area(sg_alert_info *info, sg_alert_area **out)
{
    sg_err err = grow((void **)&info->areas, &info->n_areas, sizeof(sg_alert_area));
    if (err)
        return err;
    *out = &info->areas[info->n_areas - 1];
    return SG_OK;
}

sg_err sg_alert_info_add_resource(sg_alert_info *info, sg_alert_resource **out)
{
    sg_err err = grow((void **)&info->resources, &info->n_resources, sizeof(sg_alert_resource));
    if (err)
        return err;
    *out = &info->resources[info->n_resources - 1];
    (*out)->size = -1;
    return SG_OK;
}

sg_err sg_alert_pair_add(sg_alert_pair **pairs, size_t *n, const char *name, const char *value)
{
    char *a = strdup(name ? name : ""), *b = strdup(value ? value : "");
    sg_err err = (a && b) ? grow((void **)pairs, n, sizeof(sg_alert_pair)) : SG_NOMEM;
    if (err) {
        free(a);
        free(b);
        return err;
    }
    (*pairs)[*n - 1].name = a;
    (*pairs)[*n - 1].value = b;
    return SG_OK;
}

sg_err sg_alert_area_add_polygon(sg_alert_area *area, const sg_alert_point *points, size_t n)
{
    sg_alert_point *p = malloc((n ? n : 1) * sizeof(*p));
    if (p == NULL)
        return SG_NOMEM;
    if (n)
        memcpy(p, points, n * sizeof(*p));
    sg_err err = grow((void **)&area->polygons, &area->n_polygons, sizeof(sg_alert_polygon));
    if (err) {
        free(p);
        return err;
    }
    area->polygons[area->n_polygons - 1].points = p;
    area->polygons[area->n_polygons - 1].n_points = n;
    return SG_OK;
}

sg_err sg_alert_area_add_circle(sg_alert_area *area, double lat, double lon, double radius_km)
{
    sg_err err = grow((void **)&area->circles, &area->n_circles, sizeof(sg_alert_circle));
    if (err)
        return err;
    sg_alert_circle *c = &area->circles[area->n_circles - 1];
    c->centre.lat = lat;
    c->centre.lon = lon;
    c->radius_km = radius_km;
    return SG_OK;
}

sg_err sg_alert_max_points(const sg_config *c, size_t *out, char *msg, size_t n)
{
    long v = SG_ALERT_DEFAULT_MAX_POINTS;
    if (c != NULL && (sg_config_get_int(c, "alerts.max_polygon_points", SG_ALERT_DEFAULT_MAX_POINTS,
                                        &v) != SG_OK ||
                      v < 4 || v > 100000))
        return sg_errf(SG_INVAL, msg, n,
                       "alerts.max_polygon_points: \"%s\" is not a number of points from 4 to "
                       "100000 (a CAP polygon needs 4)",
                       sg_config_get(c, "alerts.max_polygon_points", ""));
    *out = (size_t)v;
    return SG_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Times                                                                               */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

sg_err sg_alert_time_parse(const char *s, sg_alert_time *out, char *msg, size_t n)
{
    int y, mo, d, h, mi, se, oh, om;
    size_t len = strlen(s);
    if (len == 20 && s[19] == 'Z')
        return sg_errf(SG_INVAL, msg, n, "\"%s\": CAP writes UTC as \"-00:00\", not \"Z\"", s);
    if (len != 25 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se) ||
        (s[19] != '+' && s[19] != '-') || !digits(s + 20, 2, &oh) || s[22] != ':' ||
        !digits(s + 23, 2, &om))
        return sg_errf(SG_INVAL, msg, n,
                       "\"%.40s\" is not a CAP time (YYYY-MM-DDThh:mm:ss+hh:mm, numeric offset, "
                       "no fraction)",
                       s);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        se > 59)
        return sg_errf(SG_INVAL, msg, n, "\"%s\" is not a real date and time", s);
    if (oh > 14 || om > 59 || (oh == 14 && om > 0))
        return sg_errf(SG_INVAL, msg, n, "\"%s\": the UTC offset is beyond 14:00", s);
    int32_t off = (int32_t)((oh * 60 + om) * 60) * (s[19] == '-' ? -1 : 1);
    out->t = sg_time_from_civil(y, mo, d, h, mi, se) - off;
    out->offset = off;
    out->has = 1;
    return SG_OK;
}

sg_err sg_alert_time_format(sg_alert_time t, char *buf, size_t n)
{
    if (n < 26 || t.offset < -14 * 3600 || t.offset > 14 * 3600 || t.offset % 60 != 0)
        return SG_INVAL;
    /* The civil date of t + offset (days from civil, inverted: Howard Hinnant's algorithm). */
    if (t.t > INT64_MAX / 2 || t.t < INT64_MIN / 2)
        return SG_INVAL;
    int64_t local = t.t + t.offset;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t secs = local - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y < 1 || y > 9999)
        return SG_INVAL;
    int off = t.offset < 0 ? -t.offset : t.offset;
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (int)y, (int)m, (int)d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), t.offset > 0 ? '+' : '-',
             off / 3600, off / 60 % 60);
    return SG_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Validation                                                                          */

/* Whether s is valid UTF-8 made only of characters XML 1.0 allows. */
static int xml_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left > 0) {
        if (*p >= 0x20 && *p < 0x80) { /* ASCII text, the common case: no decoding */
            p++;
            left--;
            continue;
        }
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
        size_t k = sg_utf8_seq(p, left);
        if (k == 0)
            return 0;
        if (k == 3 && p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
            return 0; /* U+FFFE, U+FFFF */
        p += k;
        left -= k;
    }
    return 1;
}

/* CAP: identifiers and senders "MUST NOT include spaces, commas or restricted characters
 * (< and &)". */
static int cap_token_ok(const char *s)
{
    return s[0] != '\0' && strpbrk(s, " \t\r\n,<&") == NULL;
}

/* xs:language: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})* */
int sg_alert_language_ok(const char *s)
{
    int first = 1;
    for (;;) {
        int k = 0;
        while ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
               (!first && s[k] >= '0' && s[k] <= '9'))
            k++;
        if (k < 1 || k > 8)
            return 0;
        s += k;
        if (*s == '\0')
            return 1;
        if (*s != '-')
            return 0;
        s++;
        first = 0;
    }
}

/* An absolute URI: a scheme, ':', and something after it, with no white space or characters
 * that RFC 3986 never allows (non-ASCII is left to IRIs). */
static int absolute_uri_ok(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    size_t i = 1;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    if (s[i] != ':' || s[i + 1] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || strchr("<>\"{}|\\^`", *p) != NULL)
            return 0;
    return 1;
}

/* xs:decimal: an optional sign, digits with an optional point, at least one digit. */
static int decimal_ok(const char *s)
{
    int nd = 0;
    if (*s == '+' || *s == '-')
        s++;
    while (*s >= '0' && *s <= '9')
        s++, nd++;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++, nd++;
    }
    return nd > 0 && *s == '\0';
}

/* The context of validation: the message buffer and the path of the element being checked. */
typedef struct vctx {
    char *msg;
    size_t n;
    char path[160];
} vctx;

static sg_err bad(vctx *v, const char *elem, const char *fmt, const char *arg)
{
    char detail[240];
    snprintf(detail, sizeof detail, fmt, arg ? arg : "");
    return sg_errf(SG_INVAL, v->msg, v->n, "%s%s%s: %s", v->path, elem[0] ? "/" : "", elem, detail);
}

/* A string element: required or not, and made of XML characters. */
static sg_err text(vctx *v, const char *elem, const char *s, int required)
{
    if (s == NULL || (required && s[0] == '\0'))
        return required ? bad(v, elem, "is required and missing or empty", NULL) : SG_OK;
    if (!xml_text_ok(s))
        return bad(v, elem, "is not valid UTF-8 text (control or non-XML characters)", NULL);
    return SG_OK;
}

static sg_err ctime_ok(vctx *v, const char *elem, sg_alert_time t)
{
    char buf[32];
    if (t.has && sg_alert_time_format(t, buf, sizeof buf) != SG_OK)
        return bad(v, elem, "is outside the years 1..9999 or has an offset beyond 14:00", NULL);
    return SG_OK;
}

static sg_err pairs_ok(vctx *v, const char *elem, const sg_alert_pair *p, size_t n)
{
    char e[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(e, sizeof e, "%s[%zu]/valueName", elem, i + 1);
        sg_err err = text(v, e, p[i].name, 1);
        if (err)
            return err;
        snprintf(e, sizeof e, "%s[%zu]/value", elem, i + 1);
        err = text(v, e, p[i].value ? p[i].value : NULL, 0);
        if (err)
            return err;
        if (p[i].value == NULL)
            return bad(v, e, "is required and missing", NULL);
    }
    return SG_OK;
}

static sg_err point_ok(vctx *v, const char *elem, sg_alert_point p)
{
    char b[96];
    if (!isfinite(p.lat) || !isfinite(p.lon) || p.lat < -90 || p.lat > 90 || p.lon < -180 ||
        p.lon > 180) {
        snprintf(b, sizeof b, "%g,%g", p.lat, p.lon);
        return bad(v, elem, "point %s is not a WGS84 latitude,longitude (-90..90, -180..180)", b);
    }
    return SG_OK;
}

static sg_err area_ok(vctx *v, const sg_alert_area *ar)
{
    sg_err err = text(v, "areaDesc", ar->desc, 1);
    if (err)
        return err;
    char e[64], b[64];
    for (size_t i = 0; i < ar->n_polygons; i++) {
        const sg_alert_polygon *pg = &ar->polygons[i];
        snprintf(e, sizeof e, "polygon[%zu]", i + 1);
        if (pg->n_points < 4) {
            snprintf(b, sizeof b, "%zu", pg->n_points);
            return bad(v, e, "needs at least 4 coordinate pairs, has %s", b);
        }
        for (size_t k = 0; k < pg->n_points; k++)
            if ((err = point_ok(v, e, pg->points[k])) != SG_OK)
                return err;
        if (pg->points[0].lat != pg->points[pg->n_points - 1].lat ||
            pg->points[0].lon != pg->points[pg->n_points - 1].lon)
            return bad(v, e, "is not closed: the first and last pairs differ", NULL);
    }
    for (size_t i = 0; i < ar->n_circles; i++) {
        snprintf(e, sizeof e, "circle[%zu]", i + 1);
        if ((err = point_ok(v, e, ar->circles[i].centre)) != SG_OK)
            return err;
        /* Half the equator (20,038 km) reaches every point on Earth; a larger radius is a
         * mistake, and bounding it keeps the number's text short. */
        if (!isfinite(ar->circles[i].radius_km) || ar->circles[i].radius_km < 0 ||
            ar->circles[i].radius_km > 20038)
            return bad(v, e, "has a radius that is not a number of km in 0..20038", NULL);
    }
    if ((err = pairs_ok(v, "geocode", ar->geocodes, ar->n_geocodes)) != SG_OK)
        return err;
    if (ar->altitude && !decimal_ok(ar->altitude))
        return bad(v, "altitude", "\"%.40s\" is not a decimal number", ar->altitude);
    if (ar->ceiling && !decimal_ok(ar->ceiling))
        return bad(v, "ceiling", "\"%.40s\" is not a decimal number", ar->ceiling);
    if (ar->ceiling && !ar->altitude)
        return bad(v, "ceiling", "may only be used with altitude", NULL);
    return SG_OK;
}

static sg_err info_ok(vctx *v, const sg_alert *a, const sg_alert_info *in)
{
    sg_err err;
    if (in->language && !sg_alert_language_ok(in->language))
        return bad(v, "language", "\"%.40s\" is not an RFC 3066 language tag", in->language);
    if ((in->categories & ((1u << SG_ALERT_N_CATEGORIES) - 1)) == 0)
        return bad(v, "category", "at least one category is required", NULL);
    if (in->categories >> SG_ALERT_N_CATEGORIES)
        return bad(v, "category", "has an unknown category bit", NULL);
    if (in->response_types >> SG_ALERT_N_RESPONSES)
        return bad(v, "responseType", "has an unknown response type bit", NULL);
    if ((unsigned)in->urgency > SG_ALERT_URG_UNKNOWN)
        return bad(v, "urgency", "is out of range", NULL);
    if ((unsigned)in->severity > SG_ALERT_SEV_UNKNOWN)
        return bad(v, "severity", "is out of range", NULL);
    if ((unsigned)in->certainty > SG_ALERT_CERT_UNKNOWN)
        return bad(v, "certainty", "is out of range", NULL);
    if ((err = text(v, "event", in->event, 1)) || (err = text(v, "audience", in->audience, 0)) ||
        (err = pairs_ok(v, "eventCode", in->event_codes, in->n_event_codes)) ||
        (err = ctime_ok(v, "effective", in->effective)) ||
        (err = ctime_ok(v, "onset", in->onset)) || (err = ctime_ok(v, "expires", in->expires)) ||
        (err = text(v, "senderName", in->sender_name, 0)) ||
        (err = text(v, "headline", in->headline, 0)) ||
        (err = text(v, "description", in->description, 0)) ||
        (err = text(v, "instruction", in->instruction, 0)) || (err = text(v, "web", in->web, 0)) ||
        (err = text(v, "contact", in->contact, 0)) ||
        (err = pairs_ok(v, "parameter", in->parameters, in->n_parameters)))
        return err;
    if (in->expires.has) {
        sg_alert_time base = in->effective.has ? in->effective : a->sent;
        if (in->expires.t <= base.t)
            return bad(v, "expires", "must be later than %s",
                       in->effective.has ? "effective" : "sent");
    }
    if (in->web && !absolute_uri_ok(in->web))
        return bad(v, "web", "\"%.60s\" is not an absolute URI", in->web);
    char e[64];
    for (size_t i = 0; i < in->n_resources; i++) {
        const sg_alert_resource *r = &in->resources[i];
        snprintf(e, sizeof e, "resource[%zu]/resourceDesc", i + 1);
        if ((err = text(v, e, r->desc, 1)) != SG_OK)
            return err;
        snprintf(e, sizeof e, "resource[%zu]/mimeType", i + 1);
        if ((err = text(v, e, r->mime_type, 1)) != SG_OK)
            return err;
        snprintf(e, sizeof e, "resource[%zu]/uri", i + 1);
        if ((err = text(v, e, r->uri, 0)) != SG_OK)
            return err;
        if (r->uri && !absolute_uri_ok(r->uri))
            return bad(v, e, "\"%.60s\" is not an absolute URI", r->uri);
        snprintf(e, sizeof e, "resource[%zu]/derefUri", i + 1);
        if ((err = text(v, e, r->deref_uri, 0)) != SG_OK)
            return err;
        snprintf(e, sizeof e, "resource[%zu]/digest", i + 1);
        if ((err = text(v, e, r->digest, 0)) != SG_OK)
            return err;
    }
    size_t base_len = strlen(v->path);
    for (size_t i = 0; i < in->n_areas; i++) {
        snprintf(v->path + base_len, sizeof v->path - base_len, "/area[%zu]", i + 1);
        if ((err = area_ok(v, &in->areas[i])) != SG_OK)
            return err;
    }
    v->path[base_len] = '\0';
    return SG_OK;
}

sg_err sg_alert_validate(const sg_alert *a, char *msg, size_t n)
{
    vctx v = {.msg = msg, .n = n};
    snprintf(v.path, sizeof v.path, "alert");
    sg_err err;
    if ((err = text(&v, "identifier", a->identifier, 1)) != SG_OK)
        return err;
    if (!cap_token_ok(a->identifier))
        return bad(&v, "identifier", "\"%.60s\" contains a space, comma, '<' or '&'",
                   a->identifier);
    if ((err = text(&v, "sender", a->sender, 1)) != SG_OK)
        return err;
    if (!cap_token_ok(a->sender))
        return bad(&v, "sender", "\"%.60s\" contains a space, comma, '<' or '&'", a->sender);
    if (!a->sent.has)
        return bad(&v, "sent", "is required and missing", NULL);
    if ((err = ctime_ok(&v, "sent", a->sent)) != SG_OK)
        return err;
    if ((unsigned)a->status > SG_ALERT_DRAFT)
        return bad(&v, "status", "is out of range", NULL);
    if ((unsigned)a->msg_type > SG_ALERT_MSG_ERROR)
        return bad(&v, "msgType", "is out of range", NULL);
    if ((unsigned)a->scope > SG_ALERT_PRIVATE)
        return bad(&v, "scope", "is out of range", NULL);
    if ((err = text(&v, "source", a->source, 0)) ||
        (err = text(&v, "restriction", a->restriction, a->scope == SG_ALERT_RESTRICTED)) ||
        (err = text(&v, "addresses", a->addresses, a->scope == SG_ALERT_PRIVATE)) ||
        (err = text(&v, "note", a->note, 0)) || (err = text(&v, "incidents", a->incidents, 0)))
        return err;
    char e[64];
    for (size_t i = 0; i < a->n_codes; i++) {
        snprintf(e, sizeof e, "code[%zu]", i + 1);
        if ((err = text(&v, e, a->codes[i], 0)) != SG_OK)
            return err;
    }
    int needs_refs = a->msg_type != SG_ALERT_MSG_ALERT;
    if (needs_refs && a->n_references == 0)
        return bad(&v, "references", "is required with msgType %s (the earlier message)",
                   sg_alert_msg_type_names[a->msg_type]);
    for (size_t i = 0; i < a->n_references; i++) {
        const sg_alert_ref *r = &a->references[i];
        snprintf(e, sizeof e, "references[%zu]", i + 1);
        if (r->sender == NULL || !cap_token_ok(r->sender) || !xml_text_ok(r->sender))
            return bad(&v, e, "the sender is empty or contains a space, comma, '<' or '&'", NULL);
        if (r->identifier == NULL || !cap_token_ok(r->identifier) || !xml_text_ok(r->identifier))
            return bad(&v, e, "the identifier is empty or contains a space, comma, '<' or '&'",
                       NULL);
        if (!r->sent.has)
            return bad(&v, e, "the sent time is missing", NULL);
        if ((err = ctime_ok(&v, e, r->sent)) != SG_OK)
            return err;
    }
    for (size_t i = 0; i < a->n_infos; i++) {
        snprintf(v.path, sizeof v.path, "alert/info[%zu]", i + 1);
        if ((err = info_ok(&v, a, &a->infos[i])) != SG_OK)
            return err;
    }
    return SG_OK;
}

static int lang_is(const char *lang, const char *prefix)
{
    size_t k = strlen(prefix);
    return lang && strncasecmp(lang, prefix, k) == 0 && (lang[k] == '\0' || lang[k] == '-');
}

sg_err sg_alert_check_publishable(const sg_alert *a, char *msg, size_t n)
{
    sg_err err = sg_alert_validate(a, msg, n);
    if (err)
        return err;
    if (a->status != SG_ALERT_ACTUAL && a->status != SG_ALERT_EXERCISE &&
        a->status != SG_ALERT_TEST)
        return sg_errf(SG_INVAL, msg, n,
                       "alert/status: safegrid publishes Actual, Exercise or Test, not %s",
                       sg_alert_status_names[a->status]);
    if (a->msg_type > SG_ALERT_MSG_CANCEL)
        return sg_errf(SG_INVAL, msg, n,
                       "alert/msgType: safegrid publishes Alert, Update or Cancel, not %s",
                       sg_alert_msg_type_names[a->msg_type]);
    if (a->scope != SG_ALERT_PUBLIC)
        return sg_errf(SG_INVAL, msg, n, "alert/scope: safegrid publishes Public alerts only");
    if (a->msg_type == SG_ALERT_MSG_CANCEL && a->n_infos == 0)
        return SG_OK;
    int zh = 0, en = 0;
    for (size_t i = 0; i < a->n_infos; i++) {
        const sg_alert_info *in = &a->infos[i];
        zh |= lang_is(in->language, "zh");
        en |= lang_is(in->language, "en");
        const char *missing = !in->headline || !in->headline[0]         ? "headline"
                              : !in->description || !in->description[0] ? "description"
                              : !in->instruction || !in->instruction[0] ? "instruction"
                              : !in->contact || !in->contact[0]         ? "contact"
                              : !in->expires.has                        ? "expires"
                              : in->n_areas == 0                        ? "area"
                                                                        : NULL;
        if (missing)
            return sg_errf(SG_INVAL, msg, n,
                           "alert/info[%zu]/%s: required in what safegrid publishes", i + 1,
                           missing);
    }
    if (!zh || !en)
        return sg_errf(SG_INVAL, msg, n, "alert/info: an info in %s is missing",
                       !zh ? "Chinese (language zh or zh-...)" : "English (language en or en-...)");
    return SG_OK;
}
