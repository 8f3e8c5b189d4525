/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Configuration: an INI file (safegrid.ini) with command-line overrides. Values are kept as
 * strings under "section.key" names and converted when read, so a module reads its own
 * settings with a default and nothing needs a central schema. Later loads and sets of the
 * same key win: `sg_config_load(c, file); sg_config_set(c, cli...)` gives the command line
 * priority over the file. The syntax is described in docs/config.md.
 *
 * Not thread-safe for writing: load and set during start-up, then read from any thread.
 */
#ifndef SAFEGRID_CONFIG_H
#define SAFEGRID_CONFIG_H

#include <stddef.h>

#include "safegrid/error.h"

typedef struct sg_config sg_config;

/** Creates an empty configuration. On SG_OK *out is owned by the caller and released with
 *  sg_config_free(); SG_NOMEM leaves *out untouched. */
sg_err sg_config_new(sg_config **out);

/** Reads the INI file at path into c. Syntax: `[section]` headers, `key = value` lines,
 *  whole-line comments starting with ; or #, an inline comment after whitespace followed by
 *  ; or #, whitespace around names and values trimmed, values optionally in "double" (with
 *  \" \\ \n \t escapes) or 'single' quotes (literal). Keys before any section have no
 *  prefix; keys in [server] are read as "server.key". Names are case-sensitive and made of
 *  letters, digits, '_', '-' and '.'. A key repeated in the file keeps its last value.
 *  Errors (c is left unchanged; msg names file and line, e.g.
 *  "safegrid.ini:7: expected key = value"): SG_IO if the file cannot be read, SG_INVAL for
 *  a syntax error, SG_TOOBIG for a file over 1 MiB, SG_NOMEM. msg may be NULL. */
sg_err sg_config_load(sg_config *c, const char *path, char *msg, size_t n);

/** As sg_config_load for len bytes at data; name is used in messages in place of a path. */
sg_err sg_config_load_mem(sg_config *c, const char *name, const char *data, size_t len, char *msg,
                          size_t n);

/** Sets key ("section.key" or a bare "key") to a copy of value, replacing any earlier value.
 *  SG_INVAL if key is not a valid name or value is NULL or contains a newline; SG_NOMEM. */
sg_err sg_config_set(sg_config *c, const char *key, const char *value);

/** Parses "section.key=value" (as given to --set on the command line) and sets it.
 *  Whitespace around the key and value is trimmed. SG_INVAL (with msg) if there is no '='
 *  or the key is not a valid name. */
sg_err sg_config_set_pair(sg_config *c, const char *pair, char *msg, size_t n);

/** Returns the value of key, or dflt if it is not set. The returned string is owned by c
 *  and valid until the key is set again or c is freed. */
const char *sg_config_get(const sg_config *c, const char *key, const char *dflt);

/** Reads key as a base-10 integer (optional sign, surrounding whitespace allowed) into *out;
 *  *out = dflt if the key is not set. SG_INVAL if the value is not an integer or does not
 *  fit in a long; *out is untouched then. */
sg_err sg_config_get_int(const sg_config *c, const char *key, long dflt, long *out);

/** Reads key as a boolean (true/false, yes/no, on/off, 1/0, any case) into *out; *out = dflt
 *  if unset; SG_INVAL (out untouched) for anything else. */
sg_err sg_config_get_bool(const sg_config *c, const char *key, int dflt, int *out);

/** Number of keys set, and the i-th (0 <= i < count) in the order they were first set; the
 *  strings are owned by c. For printing the effective configuration. */
size_t sg_config_count(const sg_config *c);
void sg_config_entry(const sg_config *c, size_t i, const char **key, const char **value);

/** Releases c and all its strings. NULL-safe. */
void sg_config_free(sg_config *c);

#endif
