/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Logging for the server and the CLI: one line per event, either human-readable text or
 * JSON lines for log collectors. Every line carries an event name (a stable, greppable
 * identifier such as "http.request" or "store.migrate") beside the free-text message, so
 * that operators can filter on what happened without parsing prose. The logger is
 * process-wide and thread-safe: each line is written with a single write under a lock, so
 * lines from different threads never interleave.
 *
 * Logs describe the system, not people: never pass personal data (names, contacts,
 * free-text descriptions from the public) into a log message.
 */
#ifndef SAFEGRID_LOG_H
#define SAFEGRID_LOG_H

#include <stdio.h>

/** Severity, lowest first. */
typedef enum { SG_LOG_DEBUG, SG_LOG_INFO, SG_LOG_WARN, SG_LOG_ERROR } sg_log_level;

/** Configures the process-wide logger: lines go to out (NULL means stderr; the FILE stays
 *  owned by the caller and must outlive logging), events below min are dropped, json != 0
 *  selects JSON lines. Until called, the logger writes text to stderr at SG_LOG_INFO.
 *  Thread-safe; lines already being written finish with the old settings. */
void sg_log_setup(FILE *out, sg_log_level min, int json);

/** Writes one log line if lvl >= the configured minimum.
 *  Text: `2026-11-25T17:30:02Z INFO  event: message` (UTC, level padded to 5 columns);
 *  control characters in event and message are escaped (\n, \t, \xNN) so one event is
 *  always one line.
 *  JSON: `{"ts":"2026-11-25T17:30:02.123Z","level":"info","event":"...","msg":"..."}`
 *  on one line; invalid UTF-8 bytes are replaced by U+FFFD so the line is always valid.
 *  event may be NULL (written as "-"); messages longer than 16 KiB are cut and end in
 *  "...". Never fails visibly: if memory or the stream fails, the line is lost. */
void sg_log(sg_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Buffers lines below SG_LOG_WARN for up to ms milliseconds (a flusher thread writes
 *  them; a full 64 KiB buffer, a WARN or ERROR line, sg_log_setup and ending the buffering
 *  write them at once, in order), saving a write and a flush per line on a busy server.
 *  ms 0 ends buffering and writes what waits. A crash may lose up to ms of INFO lines:
 *  nothing that must survive a crash goes through this log (the audit log is separate).
 *  Returns 0, or -1 if the flusher thread could not start (then nothing is buffered). */
int sg_log_set_buffered(unsigned ms);

/** Parses "debug", "info", "warn" (or "warning"), "error", any case, into *out.
 *  Returns 0 on success, -1 (and leaves *out untouched) otherwise. */
int sg_log_parse_level(const char *s, sg_log_level *out);

/** Returns "debug", "info", "warn" or "error" (static; "?" for an out-of-range value). */
const char *sg_log_level_name(sg_log_level lvl);

/** Returns non-zero if an event at lvl would be written (to skip expensive formatting). */
int sg_log_enabled(sg_log_level lvl);

#endif
