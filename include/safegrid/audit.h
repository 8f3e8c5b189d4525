/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The audit log: an append-only, hash-chained record of who did what to which object.
 * Every write, and every read of personal data, is one entry (DESIGN.md principle 3).
 *
 * The log is its own plain file so that anyone holding a copy can check it with this
 * module, or with nothing more than a JSON reader and `b2sum -l 256`. Each entry is one
 * line: a compact JSON object (UTF-8, written by jansson) with the keys, in this order,
 *
 *   seq     1, 2, 3, ... without gaps
 *   time    RFC 3339 UTC, "2026-11-25T18:22:03Z"
 *   actor   who ("user:alice", "apikey:7", "cli:root")
 *   role    the role acted in ("caseworker")
 *   action  what ("case.create", "case.read_personal")
 *   object  to what ("case/17")
 *   detail  optional JSON object with non-personal detail ({"to": "accepted"})
 *   prev    BLAKE2b-256 (hex) of the previous line's exact bytes, its '\n' included; for
 *           the first entry, of the genesis string SG_AUDIT_GENESIS
 *
 * followed by '\n'. Entries never hold personal values (names, contacts, free text written
 * by the public): they name the object, and the personal data stays encrypted in the store.
 *
 * Appends are durable (fdatasync before the call returns), serialised between threads (a
 * mutex) and between processes (flock on the file), and made with O_APPEND, so earlier
 * bytes are never rewritten. Before each append the writer rereads the tail if the file
 * grew under it, so several processes share one chain.
 *
 * What the chain proves: any change, deletion, insertion or reordering of entries before
 * the last one breaks it. It cannot by itself show that the newest entries were not
 * removed or rewritten together: keep the last hash ("anchor") somewhere else (a printed
 * report, another machine) and pass it to the verifier.
 */
#ifndef SAFEGRID_AUDIT_H
#define SAFEGRID_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safegrid/error.h"

/** The string whose BLAKE2b-256 is the prev of entry 1 (no trailing newline). */
#define SG_AUDIT_GENESIS "safegrid audit log v1"

/** The longest line (entry) the writer produces and the verifier accepts, '\n' included. */
#define SG_AUDIT_MAX_LINE 65536

/** Longest actor, role, action or object, in bytes. */
#define SG_AUDIT_MAX_FIELD 256

/** Hex digest length: 64 characters (a buffer needs 65). */
#define SG_AUDIT_HASH_HEX 64

typedef struct sg_audit sg_audit;

/* clang-format off */
/** Why verification stopped. */
typedef enum {
    SG_AUDIT_FAULT_NONE = 0,  /* the whole log verified */
    SG_AUDIT_FAULT_TORN,      /* the last line has no '\n': a write was cut short */
    SG_AUDIT_FAULT_TOO_LONG,  /* a line longer than SG_AUDIT_MAX_LINE */
    SG_AUDIT_FAULT_BAD_JSON,  /* not a JSON object (or not UTF-8, or an empty line) */
    SG_AUDIT_FAULT_BAD_FIELD, /* a key missing, of the wrong type, unknown, or a bad time */
    SG_AUDIT_FAULT_NOT_CANONICAL, /* valid entry, but not the bytes the writer produces */
    SG_AUDIT_FAULT_SEQ,       /* seq is not the previous seq + 1 (first: 1) */
    SG_AUDIT_FAULT_PREV,      /* prev is not the hash of the line before */
    SG_AUDIT_FAULT_ANCHOR     /* the entry at the anchor seq has another hash, or is gone */
} sg_audit_fault;
/* clang-format on */

/** Returns a short static name for a fault ("prev mismatch"); never NULL. */
const char *sg_audit_fault_name(sg_audit_fault f);

/** What sg_audit_verify found. */
typedef struct sg_audit_report {
    uint64_t n_entries;                     /* entries that verified, before any fault */
    uint64_t first_seq;                     /* seq of the first entry (1 unless a fragment) */
    uint64_t last_seq;                      /* seq of the last entry that verified (0: none) */
    char first_prev[SG_AUDIT_HASH_HEX + 1]; /* prev of the first entry */
    char last_hash[SG_AUDIT_HASH_HEX + 1];  /* hash of the last verified line: the anchor,
                                               and the prev the next entry will carry */
    sg_audit_fault fault;                   /* SG_AUDIT_FAULT_NONE if all verified */
    uint64_t line;                          /* 1-based line of the first broken entry */
    uint64_t seq;                           /* the seq that line claims, or if unreadable the
                                               seq it should have had */
    char why[256];                          /* one sentence for a person */
} sg_audit_report;

/** Options for sg_audit_verify; a zeroed struct (or NULL) means: a whole log from entry 1,
 *  no anchor. */
typedef struct sg_audit_verify_opts {
    int fragment;        /* accept any seq and prev on the first line (an exported range) */
    uint64_t anchor_seq; /* if > 0: the entry with this seq must exist and hash to ... */
    char anchor_hash[SG_AUDIT_HASH_HEX + 1]; /* ... this (hex, lower case) */
} sg_audit_verify_opts;

/** Computes the hex BLAKE2b-256 (libsodium crypto_generichash) of len bytes at p into hex
 *  (65 bytes, NUL-terminated). The chain's hash, exposed for tools and tests. */
void sg_audit_hash_hex(const void *p, size_t len, char hex[SG_AUDIT_HASH_HEX + 1]);

/** Opens (creating with mode 0640 if missing) the audit log at path for appending and
 *  reads its last line to continue the chain. The earlier entries are not verified here:
 *  run sg_audit_verify for that.
 *  On SG_OK *out is a new handle owned by the caller, released with sg_audit_close().
 *  Errors (*out untouched, msg says why): SG_INVAL for a NULL argument; SG_IO if the file
 *  cannot be opened, locked or read; SG_CORRUPT if the last line is torn (no '\n': a write
 *  was cut short, see docs/audit.md for recovery) or is not a valid entry; SG_NOMEM. */
sg_err sg_audit_open(const char *path, sg_audit **out, char *msg, size_t n);

/** Appends one entry, durably: on SG_OK the line is in the file and fdatasync'd. The time
 *  is the current UTC time; seq and prev continue the chain (also across processes).
 *  actor, role, action, object: non-empty UTF-8 strings of at most SG_AUDIT_MAX_FIELD
 *  bytes without control characters. detail_json: NULL or the text of a JSON object; it
 *  must hold no personal values. Strings are copied; the caller keeps ownership.
 *  out_seq (may be NULL) receives the seq given to the entry.
 *  Thread-safe: any number of threads may append through one handle.
 *  Errors: SG_INVAL for a missing or bad field or detail that is not a JSON object;
 *  SG_TOOBIG if the line would exceed SG_AUDIT_MAX_LINE; SG_CORRUPT if another writer
 *  left a torn or invalid last line; SG_IO if the write or the sync failed (after a failed
 *  sync the handle refuses further appends: reopen it); SG_NOMEM. */
sg_err sg_audit_append(sg_audit *log, const char *actor, const char *role, const char *action,
                       const char *object, const char *detail_json, uint64_t *out_seq, char *msg,
                       size_t n);

/** One entry for sg_audit_append_batch; the fields as for sg_audit_append. */
typedef struct sg_audit_entry {
    const char *actor, *role, *action, *object;
    const char *detail_json; /* NULL or a JSON object's text */
} sg_audit_entry;

/** Appends count entries (1 or more) with consecutive seqs in one write and one
 *  fdatasync: all or none. This is what a group-committing writer calls, so that the
 *  audit log costs one sync per group and not one per event. out_first_seq (may be NULL)
 *  receives the seq of entries[0]. Errors as for sg_audit_append, with the index of the
 *  offending entry in msg; SG_TOOBIG also for a batch over 16 MiB. */
sg_err sg_audit_append_batch(sg_audit *log, const sg_audit_entry *entries, size_t count,
                             uint64_t *out_first_seq, char *msg, size_t n);

/** Closes the log and frees the handle. NULL does nothing. */
void sg_audit_close(sg_audit *log);

/** Recomputes the chain of the log at path and stops at the first broken entry.
 *  opts may be NULL. *report is filled whether or not the log verifies: the report is the
 *  detail of a failure (fault, line, seq, why), and n_entries / last_hash say how far the
 *  log is good.
 *  Returns SG_OK if every line verified (and the anchor, if given, matched); SG_CORRUPT if
 *  not (report->fault says why); SG_INVAL for NULL arguments; SG_IO if the file cannot be
 *  read (report untouched); SG_NOMEM. An empty file verifies with 0 entries. */
sg_err sg_audit_verify(const char *path, const sg_audit_verify_opts *opts, sg_audit_report *report,
                       char *msg, size_t n);

/** As sg_audit_verify, reading the log from an open stream (for example fmemopen). */
sg_err sg_audit_verify_stream(FILE *in, const sg_audit_verify_opts *opts, sg_audit_report *report,
                              char *msg, size_t n);

/** Writes the entries from_seq..to_seq (inclusive; to_seq 0 means to the end) of the log at
 *  path to out, byte for byte, after verifying the chain from entry 1 through to_seq. The
 *  written range verifies on its own with opts.fragment set, and its first prev ties it to
 *  the entry before. Nothing is written unless the range verified.
 *  Errors: SG_INVAL (NULL, from_seq 0 or from_seq > to_seq); SG_NOTFOUND if the log has no
 *  entry from_seq (or ends before to_seq); SG_CORRUPT if the chain breaks at or before
 *  to_seq (msg names line, seq and why); SG_IO on a read or write error; SG_NOMEM. */
sg_err sg_audit_export(const char *path, FILE *out, uint64_t from_seq, uint64_t to_seq, char *msg,
                       size_t n);

/** Removes a torn last line (a write cut short by a crash or a full disk: it was never
 *  acknowledged) so that the log can be appended to again. Only acts when the rest of the
 *  log verifies and the sole fault is the torn line; the removed bytes are first saved
 *  to path + ".torn" (appended, fsync'd). *removed (may be NULL) gets the number of
 *  bytes removed, 0 if the log was not torn.
 *  Errors: SG_CORRUPT if the log is broken in any other way (nothing changed); SG_IO;
 *  SG_INVAL; SG_NOMEM. Holds the file lock while it works, so no writer interleaves. */
sg_err sg_audit_repair(const char *path, uint64_t *removed, char *msg, size_t n);

/** `safegrid audit verify|export|repair ...`; argv[0] is "audit". Returns the exit code:
 *  0 success, 1 error (one line on stderr), 2 bad usage. */
int sg_audit_cli(int argc, char **argv);

#endif
