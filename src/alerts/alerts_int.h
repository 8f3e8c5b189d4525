/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the files of the alerts module: the CAP names of the enumerations (one
 * table each, used by the writer, the reader and the messages) and the number format that
 * reads back to the same double.
 */
#ifndef SAFEGRID_ALERTS_INT_H
#define SAFEGRID_ALERTS_INT_H

#include <stddef.h>

#include "safegrid/alerts.h"

extern const char *const sg_alert_status_names[5];
extern const char *const sg_alert_msg_type_names[5];
extern const char *const sg_alert_scope_names[3];
extern const char *const sg_alert_category_names[SG_ALERT_N_CATEGORIES];
extern const char *const sg_alert_response_names[SG_ALERT_N_RESPONSES];
extern const char *const sg_alert_urgency_names[5];
extern const char *const sg_alert_severity_names[5];
extern const char *const sg_alert_certainty_names[5];

/** Writes v in plain decimal (no exponent) with the fewest decimals that read back to v
 *  (at most 17), into buf of size n (at least 40). */
void sg_alert_fmt_double(double v, char *buf, size_t n);

/** Whether s is a language tag of RFC 3066's form (xs:language). */
int sg_alert_language_ok(const char *s);

/** Index of s in names[0..n), or -1. */
int sg_alert_name_index(const char *const *names, size_t n, const char *s);

#endif
