/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Times in imported data: parse a time string in a stated format and time zone to Unix
 * seconds, and format Unix seconds as RFC 3339 UTC. Source systems write local civil time
 * ("1/1/2001 00:23:00" in Belo Horizonte), so the zone is part of the input: a UTC offset
 * ("-03:00") or an IANA zone name ("America/Sao_Paulo") whose rules, including past
 * daylight-saving changes, come from the system's zoneinfo files.
 *
 * Thread-safe: zones are read from the TZif files by this module (never through the
 * process-wide TZ variable), parsed once, cached, and never changed afterwards.
 */
#ifndef SAFEGRID_TIMEFMT_H
#define SAFEGRID_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"

/** Parses s according to fmt in the time zone tz and stores Unix seconds in *out.
 *
 *  fmt is either "iso8601" (RFC 3339: `2001-01-01T00:23:00-02:00`, `...Z`, a space or 't'
 *  for 'T', optional fraction of a second (dropped); without an offset the time is read in
 *  tz; a date alone means midnight) or a strptime-like pattern of:
 *    %d day 1-31, %m month 1-12, %H hour 0-23, %M minute, %S second 0-59 (one or two
 *    digits each, so "1/1/2001" and "01/01/2001" both match %d/%m/%Y);
 *    %Y four-digit year; %y two-digit year (69-99 -> 1969-1999, 00-68 -> 2000-2068);
 *    %b or %B English month name or three-letter abbreviation, any case;
 *    %I hour 1-12 with %p AM/PM; %z offset (Z, +HH, +HHMM, +HH:MM), which overrides tz;
 *    %T = %H:%M:%S, %F = %Y-%m-%d, %% a literal %.
 *  A space in fmt matches one or more spaces or tabs; other characters match themselves.
 *  Fields not in fmt default to month 1, day 1, 00:00:00; the year is required.
 *  The whole of s must match (trailing spaces allowed); impossible dates (31/02/2001)
 *  are refused.
 *
 *  tz: NULL, "" or "UTC" for UTC; a fixed offset "+05:30", "-0300", "-03"; or an IANA
 *  zone name. A local time that a daylight-saving change skipped (a gap) is read with the
 *  offset in force before the change (so 00:30 on a day the clock jumped from 00:00 to
 *  01:00 becomes 01:30 in the new offset); a local time that occurs twice (an overlap)
 *  is read as the earlier of the two.
 *
 *  Errors (out untouched, msg says why): SG_INVAL for a string that does not match, an
 *  impossible date or time, an unknown zone or a bad format; SG_UNSUPPORTED for an
 *  unknown % directive; SG_IO if a zone file cannot be read; SG_NOMEM. */
sg_err sg_time_parse(const char *s, const char *fmt, const char *tz, int64_t *out, char *msg,
                     size_t n);

/** Parses an instant as the APIs take one: Unix seconds (a positive decimal integer) or
 *  RFC 3339 / ISO 8601 as sg_time_parse's "iso8601" reads it in UTC (so a time without an
 *  offset is UTC, and a date alone is its midnight). Errors as sg_time_parse's (out
 *  untouched, msg says why). For query parameters (from=, to=) and the deadlines of case
 *  transitions. */
sg_err sg_time_parse_instant(const char *s, int64_t *out, char *msg, size_t n);

/** Writes t as RFC 3339 UTC, "2001-01-01T00:23:00Z" (20 characters and a NUL), into buf
 *  of size n. SG_INVAL if n < 21 or the year is outside 0000-9999 (buf untouched). */
sg_err sg_time_format(int64_t t, char *buf, size_t n);

/** Writes to *out the offset from UTC in seconds (east positive) in force in zone tz
 *  (as for sg_time_parse: NULL/"UTC", a fixed offset, or an IANA name) at Unix time t.
 *  Errors as sg_time_parse's for the zone; *out untouched. */
sg_err sg_time_utc_offset(const char *tz, int64_t t, int32_t *out, char *msg, size_t n);

/** Converts a civil date and time (proleptic Gregorian, no range check beyond what int64
 *  holds) read as UTC to Unix seconds. For callers that already have the fields. */
int64_t sg_time_from_civil(int64_t year, int month, int day, int hour, int min, int sec);

/** Converts a local civil time (seconds as given by sg_time_from_civil) to Unix seconds
 *  using the zone described by len bytes of TZif data (the contents of a zoneinfo file,
 *  RFC 8536), with the same gap and overlap rules as sg_time_parse. For tools that carry
 *  their own zone data, and for the fuzz target of the TZif reader. SG_INVAL (msg says
 *  why; *out untouched) if the data is not valid TZif; SG_NOMEM. */
sg_err sg_time_tzif_local_to_utc(const void *data, size_t len, int64_t local, int64_t *out,
                                 char *msg, size_t n);

#endif
