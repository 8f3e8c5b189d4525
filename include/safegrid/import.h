/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Import of cases from CSV files: columns named by the user, coordinates in any CRS
 * reprojected to WGS84, times in any strptime format and zone, any text encoding. A row
 * that cannot be read is reported with its line number and reason and the rest go on; a
 * re-run adds nothing twice, because each row carries a stable key (an id column, or a
 * BLAKE2b hash of the row's fields) that the store refuses to insert again.
 */
#ifndef SAFEGRID_IMPORT_H
#define SAFEGRID_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/case.h"
#include "safegrid/error.h"
#include "safegrid/store.h"

/** What to read and how. Column names are header names; NULL means "not in the file". */
typedef struct sg_import_opts {
    const char *path;
    const char *type;                /* case type of every row (default "incident") */
    const char *category_field;      /* required: the category of each row (slugged to a code) */
    const char *category_name_field; /* display name for categories created by the import */
    const char *title_field;
    const char *description_field;
    const char *x_field, *y_field; /* coordinates; both or neither */
    const char *srs;               /* CRS of x/y (EPSG code, PROJ string, WKT); NULL: lon/lat */
    const char *time_field;
    const char *time_format; /* strptime format, or "iso8601" (default) */
    const char *tz;          /* zone of the times: IANA name or +hh:mm (default UTC) */
    const char *id_field;    /* stable row id for idempotent re-runs; NULL: hash of row */
    const char *source;      /* source name (default "csv:" + file base name) */
    char delim;              /* default ',' */
    const char *encoding;    /* default "UTF-8" */
    int priority;            /* priority of every row (default 3) */
    int create_categories;   /* 1: unknown categories are created with the type's
                                default deadlines; 0: such rows are rejected */
    const sg_actor *actor;   /* who imports (default "import", role supervisor) */
    /* Called every progress_every rows (default 1000) and at the end; may be NULL. */
    void (*progress)(void *ctx, long rows, long imported);
    void *progress_ctx;
    /* Called for each row that could not be imported; may be NULL. */
    void (*row_error)(void *ctx, long line, const char *reason);
    void *row_error_ctx;
} sg_import_opts;

/** What an import did. */
typedef struct sg_import_report {
    long rows;     /* data rows read */
    long imported; /* new cases */
    long already;  /* rows imported by an earlier run */
    long failed;   /* rows that could not be imported */
    long categories_created;
    long without_location; /* imported rows with no coordinates */
    long outside_areas;    /* imported rows located outside every stored area */
} sg_import_report;

/** Imports the CSV file described by o into s. On SG_OK *out describes the run (rows that
 *  failed are counted there and passed to o->row_error, they do not fail the run). Fails
 *  only when the file cannot be read at all or a named column is missing (msg says which),
 *  or when the CRS or time zone is not understood. */
sg_err sg_import_cases(sg_store *s, const sg_import_opts *o, sg_import_report *out, char *msg,
                       size_t n);

#endif
