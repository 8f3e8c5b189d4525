/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * INI configuration. Entries are a flat array of "section.key" -> value strings: a
 * configuration has tens of keys and is read at start-up, so a linear search beats a hash
 * table on simplicity at no visible cost. A file is parsed into a scratch configuration
 * first and merged only when the whole file is valid, so a syntax error on line 40 does not
 * leave lines 1-39 applied. The parser works on a length-delimited buffer (no reliance on a
 * final newline or NUL), which is also what the fuzz target feeds it.
 */
#include "safegrid/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safegrid/buf.h"

#define MAX_FILE (1u << 20)

struct entry {
    char *key, *value;
};

struct sg_config {
    struct entry *e;
    size_t n, cap;
};

sg_err sg_config_new(sg_config **out)
{
    sg_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SG_NOMEM;
    *out = c;
    return SG_OK;
}

void sg_config_free(sg_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c->e);
    free(c);
}

static int name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.';
}

static int valid_name(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

static struct entry *find(const sg_config *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].key, key) == 0)
            return &c->e[i];
    return NULL;
}

/* Sets key (len klen) to value (len vlen); both copied. */
static sg_err set_n(sg_config *c, const char *key, size_t klen, const char *value, size_t vlen)
{
    char *v = malloc(vlen + 1);
    if (v == NULL)
        return SG_NOMEM;
    memcpy(v, value, vlen);
    v[vlen] = '\0';
    for (size_t i = 0; i < c->n; i++) {
        if (strlen(c->e[i].key) == klen && memcmp(c->e[i].key, key, klen) == 0) {
            free(c->e[i].value);
            c->e[i].value = v;
            return SG_OK;
        }
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        struct entry *ne = realloc(c->e, ncap * sizeof(*ne));
        if (ne == NULL) {
            free(v);
            return SG_NOMEM;
        }
        c->e = ne;
        c->cap = ncap;
    }
    char *k = malloc(klen + 1);
    if (k == NULL) {
        free(v);
        return SG_NOMEM;
    }
    memcpy(k, key, klen);
    k[klen] = '\0';
    c->e[c->n].key = k;
    c->e[c->n].value = v;
    c->n++;
    return SG_OK;
}

sg_err sg_config_set(sg_config *c, const char *key, const char *value)
{
    if (c == NULL || key == NULL || value == NULL || !valid_name(key, strlen(key)))
        return SG_INVAL;
    if (strpbrk(value, "\r\n") != NULL)
        return SG_INVAL;
    return set_n(c, key, strlen(key), value, strlen(value));
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

sg_err sg_config_set_pair(sg_config *c, const char *pair, char *msg, size_t n)
{
    if (pair == NULL)
        return sg_errf(SG_INVAL, msg, n, "missing setting");
    const char *eq = strchr(pair, '=');
    if (eq == NULL)
        return sg_errf(SG_INVAL, msg, n, "\"%s\": expected section.key=value", pair);
    const char *k = pair, *v = eq + 1;
    size_t klen = (size_t)(eq - pair), vlen = strlen(v);
    trim(&k, &klen);
    trim(&v, &vlen);
    if (!valid_name(k, klen))
        return sg_errf(SG_INVAL, msg, n, "\"%.*s\": not a valid setting name", (int)klen, k);
    if (memchr(v, '\n', vlen) != NULL || memchr(v, '\r', vlen) != NULL)
        return sg_errf(SG_INVAL, msg, n, "\"%.*s\": value contains a newline", (int)klen, k);
    sg_err err = set_n(c, k, klen, v, vlen);
    if (err)
        return sg_errf(err, msg, n, "%s", sg_strerror(err));
    return SG_OK;
}

const char *sg_config_get(const sg_config *c, const char *key, const char *dflt)
{
    if (c == NULL || key == NULL)
        return dflt;
    struct entry *e = find(c, key);
    return e ? e->value : dflt;
}

sg_err sg_config_get_int(const sg_config *c, const char *key, long dflt, long *out)
{
    const char *v = sg_config_get(c, key, NULL);
    if (v == NULL) {
        *out = dflt;
        return SG_OK;
    }
    const char *p = v;
    while (is_space(*p))
        p++;
    /* strtol would accept a leading "0x" only with base 0; base 10 keeps "010" decimal. */
    if (!(*p == '-' || *p == '+' || (*p >= '0' && *p <= '9')))
        return SG_INVAL;
    errno = 0;
    char *end;
    long x = strtol(p, &end, 10);
    if (end == p || errno == ERANGE || !(end[-1] >= '0' && end[-1] <= '9'))
        return SG_INVAL;
    while (is_space(*end))
        end++;
    if (*end != '\0')
        return SG_INVAL;
    *out = x;
    return SG_OK;
}

sg_err sg_config_get_bool(const sg_config *c, const char *key, int dflt, int *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    const char *v = sg_config_get(c, key, NULL);
    if (v == NULL) {
        *out = dflt;
        return SG_OK;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return SG_OK;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return SG_OK;
        }
    }
    return SG_INVAL;
}

size_t sg_config_count(const sg_config *c)
{
    return c ? c->n : 0;
}

void sg_config_entry(const sg_config *c, size_t i, const char **key, const char **value)
{
    if (c == NULL || i >= c->n) {
        *key = NULL;
        *value = NULL;
        return;
    }
    *key = c->e[i].key;
    *value = c->e[i].value;
}

/* Parses the value part of a `key = value` line (s, len: after the '=', already trimmed on
 * the left) into out. Returns NULL on success or a static description of the problem. */
static const char *parse_value(const char *s, size_t len, sg_buf *out)
{
    if (len > 0 && (s[0] == '"' || s[0] == '\'')) {
        char q = s[0];
        size_t i = 1;
        for (;; i++) {
            if (i >= len)
                return "unterminated quoted value";
            char ch = s[i];
            if (ch == q)
                break;
            if (q == '"' && ch == '\\') {
                if (++i >= len)
                    return "unterminated quoted value";
                switch (s[i]) {
                case '"':
                case '\\':
                    ch = s[i];
                    break;
                case 'n':
                    ch = '\n';
                    break;
                case 't':
                    ch = '\t';
                    break;
                default:
                    return "unknown escape in quoted value (use \\\" \\\\ \\n \\t)";
                }
            }
            if (sg_buf_append(out, &ch, 1))
                return "value too long";
        }
        /* After the closing quote: only whitespace or a comment. */
        for (i++; i < len; i++) {
            if (s[i] == ';' || s[i] == '#')
                break;
            if (!is_space(s[i]))
                return "unexpected text after quoted value";
        }
        return sg_buf_append(out, "", 0) ? "value too long" : NULL;
    }
    /* Unquoted: an inline comment starts at ; or # that follows whitespace. */
    size_t end = len;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] == ';' || s[i] == '#') && is_space(s[i - 1])) {
            end = i;
            break;
        }
    }
    if (len > 0 && (s[0] == ';' || s[0] == '#'))
        end = 0; /* `key = ; comment` is an empty value */
    while (end > 0 && is_space(s[end - 1]))
        end--;
    return sg_buf_append(out, s, end) ? "value too long" : NULL;
}

sg_err sg_config_load_mem(sg_config *c, const char *name, const char *data, size_t len, char *msg,
                          size_t n)
{
    if (c == NULL || (data == NULL && len > 0))
        return sg_errf(SG_INVAL, msg, n, "no configuration");
    if (name == NULL)
        name = "config";
    if (len > MAX_FILE)
        return sg_errf(SG_TOOBIG, msg, n, "%s: larger than %u bytes", name, MAX_FILE);
    sg_config *tmp = NULL;
    sg_err err = sg_config_new(&tmp);
    if (err)
        return sg_errf(err, msg, n, "%s: %s", name, sg_strerror(err));
    sg_buf section, key, value;
    sg_buf_init(&section, 256);
    sg_buf_init(&key, 512);
    sg_buf_init(&value, MAX_FILE);

    size_t pos = 0;
    long lineno = 0;
    /* A UTF-8 byte-order mark, as some Windows editors write, is not part of the syntax. */
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        lineno++;
        const char *ln = data + pos;
        const char *nl = memchr(ln, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - ln) : len - pos;
        pos += ll + (nl ? 1 : 0);
        if (ll > 0 && ln[ll - 1] == '\r')
            ll--;
        if (memchr(ln, '\0', ll) != NULL) {
            err = sg_errf(SG_INVAL, msg, n, "%s:%ld: NUL byte in line", name, lineno);
            goto done;
        }
        trim(&ln, &ll);
        if (ll == 0 || ln[0] == ';' || ln[0] == '#')
            continue;
        if (ln[0] == '[') {
            const char *close = memchr(ln, ']', ll);
            if (close == NULL) {
                err = sg_errf(SG_INVAL, msg, n, "%s:%ld: expected ] to close the section name",
                              name, lineno);
                goto done;
            }
            const char *sname = ln + 1;
            size_t slen = (size_t)(close - sname);
            trim(&sname, &slen);
            const char *rest = close + 1;
            size_t rlen = ll - (size_t)(rest - ln);
            trim(&rest, &rlen);
            if (rlen > 0 && rest[0] != ';' && rest[0] != '#') {
                err = sg_errf(SG_INVAL, msg, n, "%s:%ld: unexpected text after [section]", name,
                              lineno);
                goto done;
            }
            if (!valid_name(sname, slen)) {
                err = sg_errf(SG_INVAL, msg, n,
                              "%s:%ld: invalid section name (letters, digits, _ - . only)", name,
                              lineno);
                goto done;
            }
            sg_buf_reset(&section);
            if (sg_buf_append(&section, sname, slen) || sg_buf_append(&section, ".", 1)) {
                err = sg_errf(SG_INVAL, msg, n, "%s:%ld: section name too long", name, lineno);
                goto done;
            }
            continue;
        }
        const char *eq = memchr(ln, '=', ll);
        if (eq == NULL) {
            err = sg_errf(SG_INVAL, msg, n, "%s:%ld: expected key = value", name, lineno);
            goto done;
        }
        const char *k = ln;
        size_t klen = (size_t)(eq - ln);
        trim(&k, &klen);
        if (!valid_name(k, klen)) {
            err = sg_errf(SG_INVAL, msg, n,
                          klen ? "%s:%ld: invalid key name (letters, digits, _ - . only)"
                               : "%s:%ld: expected key = value",
                          name, lineno);
            goto done;
        }
        sg_buf_reset(&key);
        sg_buf_reset(&value);
        if (sg_buf_append(&key, section.data ? section.data : "", section.len) ||
            sg_buf_append(&key, k, klen)) {
            err = sg_errf(SG_INVAL, msg, n, "%s:%ld: key name too long", name, lineno);
            goto done;
        }
        const char *v = eq + 1;
        size_t vlen = ll - (size_t)(v - ln);
        trim(&v, &vlen);
        const char *why = parse_value(v, vlen, &value);
        if (why != NULL) {
            err = sg_errf(SG_INVAL, msg, n, "%s:%ld: %s", name, lineno, why);
            goto done;
        }
        err = set_n(tmp, key.data, key.len, value.data, value.len);
        if (err) {
            sg_errf(err, msg, n, "%s: %s", name, sg_strerror(err));
            goto done;
        }
    }
    /* The whole file is valid: apply it. Nothing is applied if memory runs out midway
     * (entries are reserved first), so c stays all-old or becomes all-new. */
    if (c->cap < c->n + tmp->n) {
        size_t ncap = c->n + tmp->n;
        struct entry *ne = realloc(c->e, ncap * sizeof(*ne));
        if (ne == NULL) {
            err = sg_errf(SG_NOMEM, msg, n, "%s: %s", name, sg_strerror(SG_NOMEM));
            goto done;
        }
        c->e = ne;
        c->cap = ncap;
    }
    for (size_t i = 0; i < tmp->n; i++) {
        struct entry *e = find(c, tmp->e[i].key);
        if (e != NULL) {
            free(e->value);
            e->value = tmp->e[i].value;
            free(tmp->e[i].key);
        } else {
            c->e[c->n++] = tmp->e[i];
        }
    }
    tmp->n = 0; /* ownership of the strings moved to c */
    err = SG_OK;
done:
    sg_config_free(tmp);
    sg_buf_fini(&section);
    sg_buf_fini(&key);
    sg_buf_fini(&value);
    return err;
}

sg_err sg_config_load(sg_config *c, const char *path, char *msg, size_t n)
{
    if (path == NULL)
        return sg_errf(SG_INVAL, msg, n, "no configuration file given");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    sg_buf b;
    sg_buf_init(&b, MAX_FILE);
    char chunk[4096];
    size_t got;
    sg_err err = SG_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        err = sg_buf_append(&b, chunk, got);
        if (err == SG_TOOBIG) {
            err = sg_errf(err, msg, n, "%s: larger than %u bytes", path, MAX_FILE);
            break;
        }
        if (err) {
            err = sg_errf(err, msg, n, "%s: %s", path, sg_strerror(err));
            break;
        }
    }
    if (!err && ferror(f))
        err = sg_errf(SG_IO, msg, n, "%s: read error", path);
    fclose(f);
    if (!err) {
        /* Messages name the file as the user wrote it. */
        err = sg_config_load_mem(c, path, b.data ? b.data : "", b.len, msg, n);
    }
    sg_buf_fini(&b);
    return err;
}
