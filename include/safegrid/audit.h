/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The audit log: an append-only, hash-chained record of who did what to which object.
 * Every write, and every read of personal data, is one entry (DESIGN.md principle 3).
 *
 * The log is a sequence of lines, each the entry's bytes: a compact JSON object (UTF-8,
 * written by jansson) with the keys, in this order,
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
 * Where the lines live: in the installation's database, table `audit`, one row per line,
 * appended by the store's writer in the same transaction as the change the entry records
 * (src/store/audit.c), so a change and its entry commit together or not at all, with one sync.
 * `safegrid audit export` writes them out as a plain file, one line each, that anyone can
 * check with this module or with nothing more than a JSON reader and `b2sum -l 256`.
 * This module builds lines and verifies them from any source; it does no I/O of its own
 * beyond reading a file handed to the verifier.
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

/** One entry to append: who (actor, role) did what (action) to which object, with an
 *  optional detail (NULL or the text of a JSON object holding no personal values).
 *  actor, role, action, object: non-empty UTF-8 strings of at most SG_AUDIT_MAX_FIELD
 *  bytes without control characters. */
typedef struct sg_audit_entry {
    const char *actor, *role, *action, *object;
    const char *detail_json;
} sg_audit_entry;

/** Checks e's fields and builds the line of entry seq, written at when (Unix seconds,
 *  UTC) after the line whose hash is prev: the exact bytes, without the '\n', that the log
 *  holds and the verifier accepts. On SG_OK *line is a malloc'd string owned by the caller
 *  and *len its length. Errors: SG_INVAL for a missing or bad field or a detail that is not
 *  a JSON object (msg says which); SG_TOOBIG if the line would exceed SG_AUDIT_MAX_LINE;
 *  SG_NOMEM. The store's writer calls this (src/store/audit.c), inside the transaction of the
 *  change the entry records. */
sg_err sg_audit_line(uint64_t seq, int64_t when, const sg_audit_entry *e,
                     const char prev[SG_AUDIT_HASH_HEX + 1], char **line, size_t *len, char *msg,
                     size_t n);

/** The chain hash of a line given without its '\n': BLAKE2b-256 of the line and a '\n',
 *  the prev the next entry carries. */
void sg_audit_line_hash(const char *line, size_t len, char hex[SG_AUDIT_HASH_HEX + 1]);

/** The prev of entry 1: the hash of SG_AUDIT_GENESIS. */
void sg_audit_genesis_hash(char hex[SG_AUDIT_HASH_HEX + 1]);

/** A source of log lines for sg_audit_walk: each call sets *line and *len to the next
 *  line's bytes, its '\n' included (a line without one is torn), valid until the next
 *  call. Returns 1 for a line, 0 at the end, -1 on a read error. */
typedef int (*sg_audit_next_fn)(void *ctx, const char **line, size_t *len);

/** A stream as a source of lines: ctx is a sg_audit_file_src whose buf holds
 *  SG_AUDIT_MAX_LINE + 1 bytes; a longer line is handed on cut, and fails the walk. */
typedef struct sg_audit_file_src {
    FILE *in;
    char *buf;
} sg_audit_file_src;
int sg_audit_file_next(void *ctx, const char **line, size_t *len);

/** Reads lines from next(ctx) and recomputes the chain, as sg_audit_verify does, stopping
 *  after entry to_seq (0: at the end). With out not NULL, the lines of entries from from_seq
 *  on are copied to it byte for byte as they verify. opts may be NULL. Returns SG_OK,
 *  SG_CORRUPT (report says where and why, msg in one line), SG_IO for a read or write
 *  error, SG_NOMEM. */
sg_err sg_audit_walk(sg_audit_next_fn next, void *ctx, const sg_audit_verify_opts *opts,
                     uint64_t from_seq, uint64_t to_seq, FILE *out, sg_audit_report *report,
                     char *msg, size_t n);

/** Recomputes the chain of the log file at path (an export, see sg_store_audit_export)
 *  and stops at the first broken entry. opts may be NULL. *report is filled whether or
 *  not the log verifies: the report is the detail of a failure (fault, line, seq, why), and
 *  n_entries / last_hash say how far the log is good.
 *  Returns SG_OK if every line verified (and the anchor, if given, matched); SG_CORRUPT if
 *  not (report->fault says why); SG_INVAL for NULL arguments; SG_IO if the file cannot be
 *  read (report untouched); SG_NOMEM. An empty file verifies with 0 entries. */
sg_err sg_audit_verify(const char *path, const sg_audit_verify_opts *opts, sg_audit_report *report,
                       char *msg, size_t n);

/** As sg_audit_verify, reading the log from an open stream (for example fmemopen). */
sg_err sg_audit_verify_stream(FILE *in, const sg_audit_verify_opts *opts, sg_audit_report *report,
                              char *msg, size_t n);

#endif
