/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Streaming CSV reader for imports (service requests, occurrences, units). Built on libcsv
 * (RFC 4180 quoting, any one-byte delimiter) with conversion of every field from the file's
 * declared encoding to UTF-8 through iconv, because real municipal exports are as often
 * Latin-1 or Windows-1252 as UTF-8. The reader is pull-based (one record per call) and holds
 * one record at a time, so a file of any length is read in bounded memory. A record that
 * cannot be read (bad quoting, bytes that are not valid in the encoding, a field over the
 * limit) is reported with its line number and skipped; reading continues with the next
 * record, so one bad line does not stop an import of thousands.
 *
 * The first record is the header row: sg_csv_open reads it, sg_csv_column looks names up
 * in it, and sg_csv_next returns the records after it.
 *
 * Not thread-safe per reader; use one reader per thread.
 */
#ifndef SAFEGRID_CSV_H
#define SAFEGRID_CSV_H

#include <stddef.h>

#include "safegrid/buf.h"
#include "safegrid/error.h"

typedef struct sg_csv sg_csv;

/** Reader options; a NULL pointer or zero fields mean the defaults.
 *  delim: field delimiter byte (default ','); must not be '"', CR or LF.
 *  encoding: the file's encoding as iconv names it ("UTF-8" default, "LATIN1",
 *  "ISO-8859-1", "CP1252", ...); must be ASCII-compatible (UTF-16/32 are refused).
 *  max_field: the largest field in bytes, as stored in the file (default 1 MiB). */
typedef struct sg_csv_opts {
    char delim;
    const char *encoding;
    size_t max_field;
} sg_csv_opts;

/** Opens the CSV file at path and reads its header row. On SG_OK *out is a new reader
 *  owned by the caller (release with sg_csv_free); on error *out is untouched and msg
 *  (if not NULL) says why. Errors: SG_IO (cannot open or read; msg names the file),
 *  SG_INVAL (bad options, unknown encoding, unreadable header row), SG_UNSUPPORTED (an
 *  encoding that is not ASCII-compatible), SG_TOOBIG (header field over max_field),
 *  SG_NOMEM. An empty file opens fine with no columns and no records. */
sg_err sg_csv_open(const char *path, const sg_csv_opts *o, sg_csv **out, char *msg, size_t n);

/** As sg_csv_open for len bytes at data. The reader does not copy data: the caller keeps it
 *  valid and unchanged until sg_csv_free. */
sg_err sg_csv_open_mem(const void *data, size_t len, const sg_csv_opts *o, sg_csv **out, char *msg,
                       size_t n);

/** Reads the next record after the header.
 *  SG_OK: *fields points to *n_fields NUL-terminated UTF-8 strings, owned by the reader and
 *  valid until the next call to sg_csv_next or sg_csv_free; *line is the record's first
 *  line in the file (1-based, the header is line 1; lines are counted by LF, and a quoted
 *  field may span several). Blank lines are skipped.
 *  SG_NOTFOUND: end of input (and on every later call).
 *  SG_INVAL: the record could not be read (malformed quoting, bytes invalid in the
 *  encoding, a NUL byte); SG_TOOBIG: a field over max_field, or a record over 64 MiB or
 *  65,536 fields. For both, *line is set to the record's first line, msg says why without
 *  repeating the line ("field 3: invalid UTF-8 ..."), *fields and *n_fields are untouched,
 *  and the next call continues with the following record (after bad quoting, with the
 *  following line).
 *  SG_IO: reading the file failed; SG_NOMEM. Both end the input. */
sg_err sg_csv_next(sg_csv *r, const char *const **fields, size_t *n_fields, long *line, char *msg,
                   size_t n);

/** Returns the index of the column whose header is exactly name (byte comparison after
 *  conversion to UTF-8), the first if several match, or -1 if there is none. */
int sg_csv_column(sg_csv *r, const char *name);

/** Gives the header row: *fields (owned by the reader, valid until sg_csv_free) and
 *  *n_fields. */
void sg_csv_header(const sg_csv *r, const char *const **fields, size_t *n_fields);

/** Closes the file (if any) and releases the reader. NULL-safe. */
void sg_csv_free(sg_csv *r);

/** Flag for sg_csv_format_row: prefix a field that starts with = + - @ TAB or CR with a
 *  single quote, so that spreadsheet programs show it as text instead of running it as a
 *  formula (OWASP "CSV injection"). Use it for files meant to be opened in a spreadsheet;
 *  it changes the data, so leave it off for machine-read exports. */
#define SG_CSV_ESCAPE_FORMULAS 1u

/** Appends one RFC 4180 record to out: the n_fields strings separated by delim and ended
 *  by CRLF. A field is quoted when it contains delim, a quote, CR or LF, or begins or ends
 *  with a space or tab (and a lone empty field, so the record is not a blank line); quotes
 *  inside are doubled. Fields are written byte for byte (pass
 *  UTF-8). flags is 0 or SG_CSV_ESCAPE_FORMULAS. Errors: SG_INVAL (NULL field, or delim
 *  is a quote, CR or LF), SG_TOOBIG / SG_NOMEM from the buffer, which then holds what it
 *  held before the call. */
sg_err sg_csv_format_row(sg_buf *out, const char *const *fields, size_t n_fields, char delim,
                         unsigned flags);

#endif
