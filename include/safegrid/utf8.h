/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * UTF-8 validation, shared by every module that accepts text (CSV fields, log messages,
 * case titles and descriptions): one definition of "valid" everywhere -- no overlong
 * forms, no surrogates, nothing above U+10FFFF.
 */
#ifndef SAFEGRID_UTF8_H
#define SAFEGRID_UTF8_H

#include <stddef.h>

/** Returns the length (1-4) of the valid UTF-8 sequence that starts s (n bytes
 *  available), or 0 if it is not one. */
size_t sg_utf8_seq(const unsigned char *s, size_t n);

/** Returns the number of code points of the NUL-terminated string s, or -1 if it is not
 *  valid UTF-8. */
long sg_utf8_count(const char *s);

#endif
