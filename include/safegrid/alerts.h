/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Public alerts in the Common Alerting Protocol (OASIS CAP 1.2): the model of one alert
 * message, its validation by the rules of the CAP 1.2 text (those the XML schema checks and
 * those it misses), a CAP 1.2 XML writer, a CAP 1.2 reader for documents from other agencies,
 * an Atom 1.0 feed of the alerts that are current, and the conversion of a safegrid area
 * (WGS84 WKB) into a CAP area with polygons of bounded size.
 *
 * The model is plain structs owned by the caller (sg_alert_init never allocates;
 * sg_alert_fini releases everything the alert holds). Every string in the model is UTF-8,
 * NUL-terminated and owned by the struct that holds it; set them with sg_alert_strset() or
 * the sg_alert_*_add functions so that sg_alert_fini can free them. Optional strings are
 * NULL when absent. Writers append to an sg_buf and respect its cap (SG_TOOBIG).
 *
 * Alerts speak of places, times and hazards, never of persons: contact is the duty address
 * of the issuing body, and nothing in this module records who drafted or approved a message.
 * docs/alerts.md describes the rules and how the documents are served.
 */
#ifndef SAFEGRID_ALERTS_H
#define SAFEGRID_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/buf.h"
#include "safegrid/config.h"
#include "safegrid/error.h"

/** The XML namespace of CAP 1.2. */
#define SG_ALERT_CAP_NS "urn:oasis:names:tc:emergency:cap:1.2"

/** Default largest number of coordinate pairs in one polygon that sg_alert_area_from_wkb
 *  writes (the closing pair included); the configuration key alerts.max_polygon_points
 *  overrides it. */
#define SG_ALERT_DEFAULT_MAX_POINTS 100

/* clang-format off */
typedef enum { SG_ALERT_ACTUAL, SG_ALERT_EXERCISE, SG_ALERT_SYSTEM, SG_ALERT_TEST,
               SG_ALERT_DRAFT } sg_alert_status;
typedef enum { SG_ALERT_MSG_ALERT, SG_ALERT_MSG_UPDATE, SG_ALERT_MSG_CANCEL, SG_ALERT_MSG_ACK,
               SG_ALERT_MSG_ERROR } sg_alert_msg_type;
typedef enum { SG_ALERT_PUBLIC, SG_ALERT_RESTRICTED, SG_ALERT_PRIVATE } sg_alert_scope;
/** Categories, as bits of sg_alert_info.categories (1u << SG_ALERT_CAT_...). */
typedef enum { SG_ALERT_CAT_GEO, SG_ALERT_CAT_MET, SG_ALERT_CAT_SAFETY, SG_ALERT_CAT_SECURITY,
               SG_ALERT_CAT_RESCUE, SG_ALERT_CAT_FIRE, SG_ALERT_CAT_HEALTH, SG_ALERT_CAT_ENV,
               SG_ALERT_CAT_TRANSPORT, SG_ALERT_CAT_INFRA, SG_ALERT_CAT_CBRNE,
               SG_ALERT_CAT_OTHER, SG_ALERT_N_CATEGORIES } sg_alert_category;
/** Response types, as bits of sg_alert_info.response_types. */
typedef enum { SG_ALERT_RESP_SHELTER, SG_ALERT_RESP_EVACUATE, SG_ALERT_RESP_PREPARE,
               SG_ALERT_RESP_EXECUTE, SG_ALERT_RESP_AVOID, SG_ALERT_RESP_MONITOR,
               SG_ALERT_RESP_ASSESS, SG_ALERT_RESP_ALLCLEAR, SG_ALERT_RESP_NONE,
               SG_ALERT_N_RESPONSES } sg_alert_response;
/** Urgency, severity and certainty each have "Unknown" as their last value. */
typedef enum { SG_ALERT_URG_IMMEDIATE, SG_ALERT_URG_EXPECTED, SG_ALERT_URG_FUTURE,
               SG_ALERT_URG_PAST, SG_ALERT_URG_UNKNOWN } sg_alert_urgency;
typedef enum { SG_ALERT_SEV_EXTREME, SG_ALERT_SEV_SEVERE, SG_ALERT_SEV_MODERATE,
               SG_ALERT_SEV_MINOR, SG_ALERT_SEV_UNKNOWN } sg_alert_severity;
typedef enum { SG_ALERT_CERT_OBSERVED, SG_ALERT_CERT_LIKELY, SG_ALERT_CERT_POSSIBLE,
               SG_ALERT_CERT_UNLIKELY, SG_ALERT_CERT_UNKNOWN } sg_alert_certainty;
/* clang-format on */

/** A CAP time: the instant (Unix seconds) and the UTC offset it was written with (seconds
 *  east; CAP writes UTC as "-00:00"). has is 0 for an optional time that is absent. */
typedef struct sg_alert_time {
    int64_t t;
    int32_t offset;
    int has;
} sg_alert_time;

/** A valueName/value pair (eventCode, parameter, geocode). Both owned, never NULL once
 *  added. */
typedef struct sg_alert_pair {
    char *name;
    char *value;
} sg_alert_pair;

/** One earlier message referred to: sender, identifier and its sent time. */
typedef struct sg_alert_ref {
    char *sender;
    char *identifier;
    sg_alert_time sent;
} sg_alert_ref;

/** A point in WGS84 degrees. */
typedef struct sg_alert_point {
    double lat, lon;
} sg_alert_point;

/** A closed ring: points[0] equals points[n_points - 1]. */
typedef struct sg_alert_polygon {
    sg_alert_point *points;
    size_t n_points;
} sg_alert_polygon;

/** A circle: centre and radius in kilometres. */
typedef struct sg_alert_circle {
    sg_alert_point centre;
    double radius_km;
} sg_alert_circle;

/** An area of an info block. altitude and ceiling are kept as the decimal text they were
 *  written with (feet above mean sea level), NULL when absent. */
typedef struct sg_alert_area {
    char *desc;
    sg_alert_polygon *polygons;
    size_t n_polygons;
    sg_alert_circle *circles;
    size_t n_circles;
    sg_alert_pair *geocodes;
    size_t n_geocodes;
    char *altitude;
    char *ceiling;
} sg_alert_area;

/** A resource (a file that goes with the alert). size < 0 when absent. */
typedef struct sg_alert_resource {
    char *desc;
    char *mime_type;
    int64_t size;
    char *uri;
    char *deref_uri;
    char *digest;
} sg_alert_resource;

/** One info block: the message in one language. */
typedef struct sg_alert_info {
    char *language;          /**< RFC 3066 tag ("zh-CN", "en"); NULL: CAP's default en-US */
    unsigned categories;     /**< bits 1u << sg_alert_category; at least one */
    char *event;             /**< required */
    unsigned response_types; /**< bits 1u << sg_alert_response */
    sg_alert_urgency urgency;
    sg_alert_severity severity;
    sg_alert_certainty certainty;
    char *audience;
    sg_alert_pair *event_codes;
    size_t n_event_codes;
    sg_alert_time effective, onset, expires;
    char *sender_name;
    char *headline;
    char *description;
    char *instruction;
    char *web;     /**< absolute URI */
    char *contact; /**< a role address of the issuing body, never a person */
    sg_alert_pair *parameters;
    size_t n_parameters;
    sg_alert_resource *resources;
    size_t n_resources;
    sg_alert_area *areas;
    size_t n_areas;
} sg_alert_info;

/** One CAP alert message. */
typedef struct sg_alert {
    char *identifier; /**< required; no spaces, commas, '<' or '&' */
    char *sender;     /**< required; same rule */
    sg_alert_time sent;
    sg_alert_status status;
    sg_alert_msg_type msg_type;
    char *source;
    sg_alert_scope scope;
    char *restriction; /**< required when scope is Restricted */
    char *addresses;   /**< required when scope is Private */
    char **codes;
    size_t n_codes;
    char *note;
    sg_alert_ref *references; /**< required for Update, Cancel, Ack and Error */
    size_t n_references;
    char *incidents;
    sg_alert_info *infos;
    size_t n_infos;
} sg_alert;

/** Prepares a as an empty alert (status Actual, msgType Alert, scope Public, nothing else
 *  set). Never allocates. */
void sg_alert_init(sg_alert *a);

/** Releases everything a holds and leaves it as after sg_alert_init. NULL-safe. */
void sg_alert_fini(sg_alert *a);

/** Replaces the string *field (freeing the old one) with a copy of value; value NULL makes
 *  the field absent. SG_NOMEM leaves *field unchanged. */
sg_err sg_alert_strset(char **field, const char *value);

/** Appends an empty info block (urgency, severity and certainty Unknown, no category) and
 *  gives it in *out, owned by a (valid until the next add to a). SG_NOMEM. */
sg_err sg_alert_add_info(sg_alert *a, sg_alert_info **out);

/** Appends a reference to an earlier message (copies of the strings). SG_NOMEM. */
sg_err sg_alert_add_ref(sg_alert *a, const char *sender, const char *identifier,
                        sg_alert_time sent);

/** Appends a code (a copy). SG_NOMEM. */
sg_err sg_alert_add_code(sg_alert *a, const char *code);

/** Appends an empty area to info and gives it in *out (owned by info). SG_NOMEM. */
sg_err sg_alert_info_add_area(sg_alert_info *info, sg_alert_area **out);

/** Appends an empty resource (size -1) to info and gives it in *out. SG_NOMEM. */
sg_err sg_alert_info_add_resource(sg_alert_info *info, sg_alert_resource **out);

/** Appends a valueName/value pair (copies) to an array of pairs, e.g.
 *  sg_alert_pair_add(&info->parameters, &info->n_parameters, "HSAS", "ORANGE"). SG_NOMEM. */
sg_err sg_alert_pair_add(sg_alert_pair **pairs, size_t *n, const char *name, const char *value);

/** Appends a polygon of n points (copied; the caller closes the ring) to area. SG_NOMEM. */
sg_err sg_alert_area_add_polygon(sg_alert_area *area, const sg_alert_point *points, size_t n);

/** Appends a circle to area. SG_NOMEM. */
sg_err sg_alert_area_add_circle(sg_alert_area *area, double lat, double lon, double radius_km);

/**
 * Checks a against the rules of CAP 1.2: required elements present and not empty;
 * identifier, sender and references' parts without spaces, commas, '<' or '&'; restriction
 * with scope Restricted, addresses with scope Private; references with Update, Cancel, Ack
 * and Error; each info with a category, an event, a language tag of RFC 3066's form;
 * expires after effective (or after sent when there is no effective); web an absolute URI;
 * each polygon with at least 4 pairs, the first equal to the last, latitudes in -90..90 and
 * longitudes in -180..180; circles with a radius of 0..20038 km; ceiling only with altitude, both
 * decimals; a resource's description and MIME type present; times' offsets within
 * +-14:00 and years 1..9999; every string valid UTF-8 made of XML characters.
 *
 * On failure returns SG_INVAL and writes into msg one sentence that names the element by
 * its path, e.g. "alert/info[1]/area[2]/polygon[1]: needs at least 4 coordinate pairs, has
 * 3". msg may be NULL.
 */
sg_err sg_alert_validate(const sg_alert *a, char *msg, size_t n);

/**
 * Checks what safegrid itself publishes, on top of sg_alert_validate: status Actual,
 * Exercise or Test; msgType Alert, Update or Cancel; scope Public; an info in Chinese
 * (language "zh" or "zh-...") and one in English ("en" or "en-..."), except for a Cancel,
 * which may have none; each info with a headline, description, instruction, contact,
 * expires and at least one area. SG_INVAL with the element named in msg.
 */
sg_err sg_alert_check_publishable(const sg_alert *a, char *msg, size_t n);

/**
 * Writes a as a CAP 1.2 XML document (UTF-8, with the XML declaration) at the end of out.
 * a must pass sg_alert_validate, which this function runs first (SG_INVAL with msg). Text
 * is escaped so that the document is well-formed and reads back to the same strings.
 * SG_TOOBIG if out's cap is reached (out keeps what it had before the call); SG_NOMEM.
 */
sg_err sg_alert_write_cap(const sg_alert *a, sg_buf *out, char *msg, size_t n);

/**
 * Reads a CAP 1.2 document (len bytes at data; UTF-8, UTF-16 or ISO-8859-1 as the document
 * declares) into out, an alert prepared with sg_alert_init (and empty). The document must
 * use the CAP 1.2 namespace, have its elements in the schema's order and no element the
 * schema does not know (an XML signature after the info blocks is allowed and skipped); a
 * DOCTYPE is refused (no entity expansion). The result is then checked with
 * sg_alert_validate. Surrounding white space is dropped from values of typed elements
 * (times, enumerations, numbers, lists); free text is kept as written.
 *
 * On failure returns SG_INVAL (or SG_NOMEM), leaves out empty and writes into msg the line
 * and the element, e.g. "line 12: alert/info[1]/urgency: \"Soon\" is not one of
 * Immediate, Expected, Future, Past, Unknown".
 */
sg_err sg_alert_read_cap(const char *data, size_t len, sg_alert *out, char *msg, size_t n);

/**
 * Whether a is current at time now among the messages of set (n alerts, a may be one of
 * them): status Actual, Exercise or Test; msgType Alert or Update; not expired (at least one
 * info without expires or with expires > now; an alert without info is not current); and
 * not referred to by an Update or Cancel in set from the same sender. Returns 1 or 0.
 */
int sg_alert_is_current(const sg_alert *a, const sg_alert *const *set, size_t n, int64_t now);

/** What the Atom feed says about itself. Strings are borrowed for the call. */
typedef struct sg_alert_feed_opts {
    const char *id;       /**< the feed's IRI (e.g. "https://city.example/cap/feed.atom") */
    const char *title;    /**< feed title */
    const char *self_url; /**< URL of the feed itself (rel="self"); NULL: id */
    const char *cap_base; /**< prefix of the CAP document URLs, e.g.
                               "https://city.example/cap/"; an entry links to
                               cap_base + percent-encoded identifier + ".xml" */
    const char *author;   /**< the issuing body's name */
    const char *lang;     /**< preferred info language ("zh", "en"): an entry's title and
                               summary come from the first info whose language starts with
                               it, else from the first info; NULL: first info */
} sg_alert_feed_opts;

/**
 * Writes an Atom 1.0 feed (RFC 4287) of the alerts of set that are current at now
 * (sg_alert_is_current), newest sent first, each entry linking to its CAP document
 * (type application/cap+xml). The feed's updated time is the latest of the alerts' sent
 * times and of expiry times that have passed, so that it changes exactly when the set or
 * the time changes what the feed shows. SG_INVAL if opts lacks id, title, cap_base or
 * author, if lang is not a language tag, or if a current alert fails sg_alert_validate;
 * SG_TOOBIG (out as before the call); SG_NOMEM.
 */
sg_err sg_alert_write_atom(const sg_alert *const *set, size_t n, const sg_alert_feed_opts *opts,
                           int64_t now, sg_buf *out, char *msg, size_t msgn);

/**
 * Fills area (an empty, initialised area, e.g. from sg_alert_info_add_area) from a safegrid
 * area: areaDesc = name (the code when name is empty), one polygon per part of a Polygon or
 * MultiPolygon in ISO WKB (WGS84 lon/lat), written as CAP rings (lat,lon; closed; holes
 * dropped, so the alert covers them too), each with at most max_points pairs: a larger ring
 * is simplified with GEOS to the most detailed ring within the limit that still covers the
 * original part (the area warned is never smaller than the area). Coordinates are rounded
 * to 1e-6 degree (about 0.1 m). A geocode (geocode_name, code) is added when both are
 * non-NULL.
 *
 * SG_INVAL (msg says why) for WKB that is not a Polygon or MultiPolygon, max_points < 4, or
 * a part that cannot be brought within max_points; SG_NOMEM. On failure area keeps nothing
 * new.
 */
sg_err sg_alert_area_from_wkb(sg_alert_area *area, const char *name, const char *code,
                              const unsigned char *wkb, size_t wkb_len, size_t max_points,
                              const char *geocode_name, char *msg, size_t n);

/** Reads the configuration key alerts.max_polygon_points into *out (SG_ALERT_DEFAULT_MAX_POINTS
 *  when unset). SG_INVAL (msg says why; *out untouched) for a value that is not an integer
 *  from 4 to 100000. c may be NULL for the default. */
sg_err sg_alert_max_points(const sg_config *c, size_t *out, char *msg, size_t n);

/** Parses a CAP time "YYYY-MM-DDThh:mm:ss+hh:mm" (a numeric offset, never "Z"; no fraction)
 *  into *out (has = 1). SG_INVAL with msg otherwise; *out untouched. */
sg_err sg_alert_time_parse(const char *s, sg_alert_time *out, char *msg, size_t n);

/** Writes t in CAP's form into buf (at least 26 bytes); UTC as "-00:00". SG_INVAL if the
 *  year is outside 1..9999 or n is too small. */
sg_err sg_alert_time_format(sg_alert_time t, char *buf, size_t n);

/** The CAP names of enumeration values ("Actual", "Met", ...), or NULL when out of range. */
const char *sg_alert_status_name(sg_alert_status v);
const char *sg_alert_msg_type_name(sg_alert_msg_type v);
const char *sg_alert_scope_name(sg_alert_scope v);
const char *sg_alert_category_name(sg_alert_category v);
const char *sg_alert_response_name(sg_alert_response v);
const char *sg_alert_urgency_name(sg_alert_urgency v);
const char *sg_alert_severity_name(sg_alert_severity v);
const char *sg_alert_certainty_name(sg_alert_certainty v);

#endif
