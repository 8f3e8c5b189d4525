/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The command line's private interface: one table of commands and one option parser.
 * Every command -- `case new`, `route time`, `analyze scan`, `serve`, `audit verify` -- is
 * a row (cli_cmd) with its options (cli_opt); each command group keeps its rows beside
 * its functions in src/cli/cmd_<group>.c, and cli.c walks the groups to find a command,
 * parse its arguments, apply the settings (--config, --set and the options bound to a
 * setting) and generate every --help text and the overview. A command function gets the
 * parsed arguments and returns the exit code: 0 success, 1 an error (one line on stderr,
 * through cli_fail), 2 bad usage (cli_usage_error).
 *
 * Kept out of include/safegrid: nothing outside src/cli and the tests calls the command
 * line; the tests run commands in-process through sg_cli_run.
 */
#ifndef SAFEGRID_CLI_H
#define SAFEGRID_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "safegrid/area.h"
#include "safegrid/config.h"
#include "safegrid/service.h"

#define CLI_USAGE 2
/* max_pos of a command that takes any number of positional arguments */
#define CLI_MANY ((size_t)-1)

/* One option of a command. */
typedef struct cli_opt {
    const char *name; /* long name, without the leading -- */
    char letter;      /* short form -X, or 0 */
    const char *arg;  /* metavariable, or NULL for a flag */
    const char *help; /* one line */
    const char *key;  /* the setting it overrides (e.g. "http.listen"), or NULL */
} cli_opt;

typedef struct cli cli;

/* One command: a row of the table. */
typedef struct cli_cmd {
    const char *group; /* first word: "case" */
    const char *sub;   /* second word: "new", or NULL for a one-word command */
    int (*run)(cli *c);
    const char *usage; /* after "safegrid ": "case new --type TYPE ..." */
    const char *about; /* its first line goes into the overview */
    size_t min_pos, max_pos;
    const cli_opt *opts;
    size_t n_opts;
} cli_cmd;

/* The rows of one command group. */
typedef struct cli_group {
    const cli_cmd *cmds;
    size_t n_cmds;
} cli_group;

/* A command being run: its parsed arguments and what it opened. */
struct cli {
    const cli_cmd *cmd;
    char name[64];    /* "case new" */
    const char **pos; /* positional arguments, n_pos of them */
    size_t n_pos;
    const cli_opt **got; /* every option given, in order, with its value in val */
    const char **val;
    size_t n_got;
    sg_config *cfg; /* settings: file, then --set, then the options bound to a setting */
    int json;       /* --json was given */
    sg_service sv;  /* opened by cli_open_store, closed by cli_close_store */
};

/* Rows with the same options in many commands. */
#define CLI_O_JSON                                                                                 \
    {                                                                                              \
        "json", 0, NULL, "print machine-readable JSON", NULL                                       \
    }
#define CLI_OPTS(...) ((const cli_opt[]){__VA_ARGS__})
#define CLI_N_OPTS(...) (sizeof((const cli_opt[]){__VA_ARGS__}) / sizeof(cli_opt))
/* A row: CLI_CMD(group, sub, fn, usage, about, min_pos, max_pos, options...). */
#define CLI_CMD(w1, w2, fn, usage, about, minp, maxp, ...)                                         \
    {                                                                                              \
        w1, w2, fn, usage, about, minp, maxp, CLI_OPTS(__VA_ARGS__), CLI_N_OPTS(__VA_ARGS__)       \
    }
/* A row without options of its own. */
#define CLI_CMD0(w1, w2, fn, usage, about, minp, maxp)                                             \
    {                                                                                              \
        w1, w2, fn, usage, about, minp, maxp, NULL, 0                                              \
    }
#define CLI_GROUP(rows)                                                                            \
    {                                                                                              \
        rows, sizeof(rows) / sizeof(rows[0])                                                       \
    }

/* The groups, each defined in its cmd_<group>.c. */
extern const cli_group cli_case_group, cli_admin_group, cli_import_group, cli_area_group,
    cli_route_group, cli_analyze_group, cli_audit_group, cli_serve_group, cli_patrol_group;

/** Runs one command line. argv[0] is the command's first word ("case", "route", ...), not
 *  the program's name; argc 0 prints the overview on stderr. Returns the exit code. */
int sg_cli_run(int argc, char **argv);

/** The value of option name as given (its last occurrence), or for an option bound to a
 *  setting the setting's value; NULL if neither. Static storage of argv or the config. */
const char *cli_opt_value(const cli *c, const char *name);

/** The i-th value (from 0) of an option that may be repeated, or NULL past the last. */
const char *cli_opt_nth(const cli *c, const char *name, size_t i);

/** Prints "safegrid COMMAND: message" on stderr, one line; returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Prints the complaint and the command's usage on stderr; returns 2. */
int cli_usage_error(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Whole decimal integer in [lo, hi]; 0 or -1. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

/** Finite decimal number; 0 or -1. */
int cli_parse_double(const char *s, double *out);

/** A date (YYYY-MM-DD, midnight) or an RFC 3339 time, read in zone tz (NULL: UTC); 0 or -1. */
int cli_parse_when(const char *s, const char *tz, int64_t *out);

/** Opens the database named by the setting store.db (default safegrid.db) with its audit
 *  log and field key; on error prints it and returns 1. */
int cli_open_store(cli *c, sg_store **out);
void cli_close_store(cli *c);

/** cli_open_store, then takes the store's area snapshot (areas, organisations and rules),
 *  released by cli_close_areas. Returns 0 or the exit code. */
int cli_open_areas(cli *c, sg_store **s, sg_areas **areas);
/** Releases the snapshot of cli_open_areas, then closes the store. */
void cli_close_areas(cli *c, sg_areas *areas);

/** The principal of a command-line administrator, for the audit log. */
sg_principal cli_admin(void);

/** The audit entry a command-line write commits with (in the same transaction): the
 *  administrator, the action and its object (borrowed). */
sg_audit_entry cli_entry(const char *action, const char *object);

/** Ends a command that changed the store (the write committed with its audit entry):
 *  closes the store, and on error reports msg. Returns the exit code. */
int cli_close_write(cli *c, sg_err err, const char *msg);

/** Prints j (indented, in insertion order) and a newline on stdout; releases j. */
void cli_print_json(json_t *j);

#endif
