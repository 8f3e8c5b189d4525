/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Time parsing for imports. Two parts:
 *
 * 1. A small strptime-like matcher. The C library's strptime is locale-dependent, skips
 *    whitespace where we want strictness, and does not check that 31/02 exists, so the
 *    directives that imports need are matched here, each against digits or English names,
 *    and the date is validated with the Gregorian calendar rules.
 *
 * 2. Local civil time -> UTC for an IANA zone, without touching the process-wide TZ
 *    variable (setenv + tzset + mktime is neither thread-safe nor free of side effects on
 *    the rest of the program). The zone's TZif file (RFC 8536) is read from the zoneinfo
 *    directory and kept, immutable, in a cache guarded by a mutex; times after the last
 *    transition follow the file's POSIX TZ footer rule. A local time L maps to the UTC
 *    instant t with t + offset(t) = L; candidate offsets come from the zone near L, and
 *    gaps and overlaps are resolved as documented in timefmt.h.
 */
#include "safegrid/timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TZIF (1u << 20)

/* ---- calendar ------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t sg_time_from_civil(int64_t year, int month, int day, int hour, int min, int sec)
{
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
}

sg_err sg_time_format(int64_t t, char *buf, size_t n)
{
    if (buf == NULL || n < 21)
        return SG_INVAL;
    int64_t days = floor_div(t, 86400), secs = t - days * 86400, y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return SG_INVAL;
    /* Digits by hand: this runs for every time in every JSON answer, and snprintf was a
     * fifth of a case list's CPU in profiles. */
    const int f[6] = {(int)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60)};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 'Z'};
    char *p = buf;
    for (int i = 0; i < 6; i++) {
        int v = f[i];
        if (i == 0) {
            *p++ = (char)('0' + v / 1000);
            *p++ = (char)('0' + v / 100 % 10);
        }
        *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = sep[i];
    }
    *p = '\0';
    return SG_OK;
}

/* ---- POSIX TZ rules (the TZif footer) ------------------------------------------------ */

struct rule {
    char kind; /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
    int a, b, c;
    int32_t time; /* seconds after local midnight, may be negative or over a day */
};

struct posix_tz {
    int32_t std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    struct rule start, end;
};

static const char *parse_tz_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e ? e + 1 : NULL;
    }
    const char *s = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hh up to 167; sets *secs. */
static const char *parse_hms(const char *p, int32_t *secs)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int32_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        int k = 0;
        while (*p >= '0' && *p <= '9' && k < 3)
            v[i] = v[i] * 10 + (*p++ - '0'), k++;
    }
    if (v[0] > 167 || v[1] > 59 || v[2] > 59)
        return NULL;
    *secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *parse_int(const char *p, int *out, int lo, int hi)
{
    if (!(*p >= '0' && *p <= '9'))
        return NULL;
    int v = 0;
    while (*p >= '0' && *p <= '9' && v <= hi)
        v = v * 10 + (*p++ - '0');
    if (v < lo || v > hi)
        return NULL;
    *out = v;
    return p;
}

static const char *parse_rule(const char *p, struct rule *r)
{
    if (*p == 'J') {
        r->kind = 'J';
        p = parse_int(p + 1, &r->a, 1, 365);
    } else if (*p == 'M') {
        r->kind = 'M';
        p = parse_int(p + 1, &r->a, 1, 12);
        if (p == NULL || *p++ != '.')
            return NULL;
        p = parse_int(p, &r->b, 1, 5);
        if (p == NULL || *p++ != '.')
            return NULL;
        p = parse_int(p, &r->c, 0, 6);
    } else {
        r->kind = 'D';
        p = parse_int(p, &r->a, 0, 365);
    }
    if (p == NULL)
        return NULL;
    r->time = 7200;
    if (*p == '/')
        p = parse_hms(p + 1, &r->time);
    return p;
}

/* Parses a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0" or "<-03>3". 0 ok, -1 bad. */
static int parse_posix_tz(const char *s, struct posix_tz *tz)
{
    memset(tz, 0, sizeof(*tz));
    const char *p = parse_tz_name(s);
    int32_t off;
    if (p == NULL || (p = parse_hms(p, &off)) == NULL)
        return -1;
    tz->std_off = -off;
    if (*p == '\0')
        return 0;
    p = parse_tz_name(p);
    if (p == NULL)
        return -1;
    tz->has_dst = 1;
    tz->dst_off = tz->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if ((p = parse_hms(p, &off)) == NULL)
            return -1;
        tz->dst_off = -off;
    }
    if (*p == '\0') {
        /* No rule: the US rule, as tzcode assumes. */
        tz->start = (struct rule){'M', 3, 2, 0, 7200};
        tz->end = (struct rule){'M', 11, 1, 0, 7200};
        return 0;
    }
    if (*p++ != ',' || (p = parse_rule(p, &tz->start)) == NULL || *p++ != ',' ||
        (p = parse_rule(p, &tz->end)) == NULL || *p != '\0')
        return -1;
    return 0;
}

/* Local (wall clock) seconds of a rule's moment in year y. */
static int64_t rule_local(const struct rule *r, int64_t y)
{
    int64_t jan1 = days_from_civil(y, 1, 1), day;
    if (r->kind == 'J') {
        day = jan1 + r->a - 1 + (is_leap(y) && r->a >= 60);
    } else if (r->kind == 'D') {
        day = jan1 + r->a;
    } else {
        int64_t first = days_from_civil(y, r->a, 1);
        int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday (4) */
        day = first + (r->c - wd + 7) % 7 + 7 * (r->b - 1);
        while (day >= first + days_in_month(y, r->a))
            day -= 7;
    }
    return day * 86400 + r->time;
}

static int32_t posix_offset(const struct posix_tz *tz, int64_t t)
{
    if (!tz->has_dst)
        return tz->std_off;
    int64_t y;
    int m, d;
    civil_from_days(floor_div(t + tz->std_off, 86400), &y, &m, &d);
    int64_t start = rule_local(&tz->start, y) - tz->std_off; /* given in standard time */
    int64_t end = rule_local(&tz->end, y) - tz->dst_off;     /* given in daylight time */
    int dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? tz->dst_off : tz->std_off;
}

/* ---- TZif zones ---------------------------------------------------------------------- */

struct zone {
    struct zone *next;
    char *name;
    int64_t *trans;
    unsigned char *idx;
    int32_t *offs; /* per type */
    size_t n_trans, n_types;
    int has_footer;
    struct posix_tz footer;
};

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *zones;

static int32_t zone_offset(const struct zone *z, int64_t t)
{
    if (z->n_trans == 0 || t < z->trans[0]) {
        if (z->n_trans == 0 && z->has_footer)
            return posix_offset(&z->footer, t);
        return z->offs[0];
    }
    size_t lo = 0, hi = z->n_trans; /* last transition <= t is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == z->n_trans - 1 && z->has_footer)
        return posix_offset(&z->footer, t);
    return z->offs[z->idx[lo]];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static void zone_free(struct zone *z)
{
    if (z == NULL)
        return;
    free(z->name);
    free(z->trans);
    free(z->idx);
    free(z->offs);
    free(z);
}

/* Parses TZif data (RFC 8536, versions 1-4). Returns NULL and a reason in *why. */
static struct zone *zone_parse(const unsigned char *p, size_t len, const char **why)
{
    *why = "not a TZif file";
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return NULL;
    int version = p[4] ? p[4] - '0' : 1;
    size_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = be32(p + 20 + 4 * i);
    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    size_t tsize = 4;
    size_t v1 = cnt[3] * 4 + cnt[3] + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
    size_t off = 44;
    if (version >= 2) {
        if (cnt[3] > MAX_TZIF || cnt[4] > 256 || cnt[5] > MAX_TZIF || cnt[2] > MAX_TZIF ||
            len - 44 < v1 + 44)
            return NULL;
        off = 44 + v1;
        if (memcmp(p + off, "TZif", 4) != 0)
            return NULL;
        for (int i = 0; i < 6; i++)
            cnt[i] = be32(p + off + 20 + 4 * i);
        off += 44;
        tsize = 8;
    }
    size_t timecnt = cnt[3], typecnt = cnt[4], charcnt = cnt[5], leapcnt = cnt[2];
    if (timecnt > MAX_TZIF || typecnt == 0 || typecnt > 256 || charcnt > MAX_TZIF ||
        leapcnt > MAX_TZIF || cnt[1] > 256 || cnt[0] > 256)
        return NULL;
    size_t need =
        timecnt * tsize + timecnt + typecnt * 6 + charcnt + leapcnt * (tsize + 4) + cnt[1] + cnt[0];
    if (len - off < need)
        return NULL;
    if (leapcnt > 0) {
        *why = "zones with leap seconds (\"right/\") are not supported";
        return NULL;
    }
    struct zone *z = calloc(1, sizeof(*z));
    if (z == NULL) {
        *why = "out of memory";
        return NULL;
    }
    z->n_trans = timecnt;
    z->n_types = typecnt;
    z->trans = malloc((timecnt ? timecnt : 1) * sizeof(*z->trans));
    z->idx = malloc(timecnt ? timecnt : 1);
    z->offs = malloc(typecnt * sizeof(*z->offs));
    if (!z->trans || !z->idx || !z->offs) {
        *why = "out of memory";
        zone_free(z);
        return NULL;
    }
    const unsigned char *q = p + off;
    for (size_t i = 0; i < timecnt; i++, q += tsize) {
        z->trans[i] = tsize == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
        if (i > 0 && z->trans[i] <= z->trans[i - 1]) {
            *why = "transitions out of order";
            zone_free(z);
            return NULL;
        }
    }
    for (size_t i = 0; i < timecnt; i++, q++) {
        z->idx[i] = *q;
        if (*q >= typecnt) {
            zone_free(z);
            return NULL;
        }
    }
    for (size_t i = 0; i < typecnt; i++, q += 6) {
        int32_t o = (int32_t)be32(q);
        if (o < -89999 || o > 93599) { /* RFC 8536: within (-25h, +26h) */
            zone_free(z);
            return NULL;
        }
        z->offs[i] = o;
    }
    q += charcnt + leapcnt * (tsize + 4) + cnt[1] + cnt[0];
    /* Footer: "\n<POSIX TZ>\n" (version 2+). An empty footer means no rule. */
    size_t rest = len - (size_t)(q - p);
    if (version >= 2 && rest >= 2 && q[0] == '\n') {
        const unsigned char *e = memchr(q + 1, '\n', rest - 1);
        if (e != NULL && e - q > 1 && e - q < 128) {
            char s[128];
            memcpy(s, q + 1, (size_t)(e - q - 1));
            s[e - q - 1] = '\0';
            if (parse_posix_tz(s, &z->footer) == 0)
                z->has_footer = 1;
        }
    }
    return z;
}

static int valid_zone_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 200 || s[0] == '/' || s[0] == '-')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '/' || c == '.'))
            return 0;
        /* no "." or ".." path components */
        if (c == '.' && (i == 0 || s[i - 1] == '/'))
            return 0;
    }
    return 1;
}

/* Finds or loads a zone. The returned zone is never freed or changed (process lifetime). */
static sg_err zone_get(const char *name, const struct zone **out, char *msg, size_t n)
{
    if (!valid_zone_name(name))
        return sg_errf(SG_INVAL, msg, n, "unknown time zone \"%.80s\"", name);
    pthread_mutex_lock(&zone_lock);
    for (struct zone *z = zones; z; z = z->next) {
        if (strcmp(z->name, name) == 0) {
            pthread_mutex_unlock(&zone_lock);
            *out = z;
            return SG_OK;
        }
    }
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    sg_err err = SG_OK;
    unsigned char *data = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        err = errno == ENOENT || errno == ENOTDIR
                  ? sg_errf(SG_INVAL, msg, n, "unknown time zone \"%s\"", name)
                  : sg_errf(SG_IO, msg, n, "time zone \"%s\": %s: %s", name, path, strerror(errno));
        goto done;
    }
    data = malloc(MAX_TZIF);
    if (data == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "out of memory");
        goto done;
    }
    size_t len = fread(data, 1, MAX_TZIF, f);
    if (ferror(f)) {
        /* A directory such as "America" opens but does not read. */
        err = sg_errf(SG_INVAL, msg, n, "unknown time zone \"%s\"", name);
        goto done;
    }
    const char *why = NULL;
    struct zone *z = zone_parse(data, len, &why);
    if (z == NULL) {
        err = sg_errf(SG_INVAL, msg, n, "time zone \"%s\": %s", name, why);
        goto done;
    }
    z->name = strdup(name);
    if (z->name == NULL) {
        zone_free(z);
        err = sg_errf(SG_NOMEM, msg, n, "out of memory");
        goto done;
    }
    z->next = zones;
    zones = z;
    *out = z;
done:
    pthread_mutex_unlock(&zone_lock);
    if (f)
        fclose(f);
    free(data);
    return err;
}

/* UTC instant of local time L in zone z (see timefmt.h for gaps and overlaps). */
static int64_t zone_local_to_utc(const struct zone *z, int64_t local)
{
    int32_t cand[9];
    size_t nc = 0;
    for (int k = -4; k <= 4; k++) {
        int32_t o = zone_offset(z, local + k * 43200);
        int dup = 0;
        for (size_t i = 0; i < nc; i++)
            dup |= cand[i] == o;
        if (!dup)
            cand[nc++] = o;
    }
    int found = 0;
    int64_t best = 0, earliest = INT64_MAX;
    for (size_t i = 0; i < nc; i++) {
        int64_t t = local - cand[i];
        if (t < earliest)
            earliest = t;
        if (zone_offset(z, t) == cand[i] && (!found || t < best)) {
            best = t;
            found = 1;
        }
    }
    if (found)
        return best;
    /* A gap: use the offset in force before the change. */
    return local - zone_offset(z, earliest);
}

/* ---- parsing ------------------------------------------------------------------------- */

/* "+05:30", "-0300", "-03", "Z": offset in seconds east; returns end or NULL. */
static const char *parse_offset(const char *p, int32_t *out)
{
    if (*p == 'Z' || *p == 'z') {
        *out = 0;
        return p + 1;
    }
    if (*p != '+' && *p != '-')
        return NULL;
    int sign = *p++ == '-' ? -1 : 1;
    int h, m = 0;
    if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9'))
        return NULL;
    h = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    const char *q = p + (*p == ':');
    if (q[0] >= '0' && q[0] <= '9' && q[1] >= '0' && q[1] <= '9') {
        m = (q[0] - '0') * 10 + (q[1] - '0');
        p = q + 2;
    } else if (*p == ':') {
        return NULL;
    }
    if (h > 23 || m > 59)
        return NULL;
    *out = sign * (h * 3600 + m * 60);
    return p;
}

struct fields {
    int64_t year;
    int month, day, hour, min, sec;
    int have_year, have_offset, hour12, pm, have_pm;
    int32_t offset;
};

/* Reads 1..maxd digits (exactly maxd if exact) into *v. */
static const char *num(const char *p, int mind, int maxd, int *v)
{
    int k = 0, x = 0;
    while (k < maxd && p[k] >= '0' && p[k] <= '9')
        x = x * 10 + (p[k++] - '0');
    if (k < mind)
        return NULL;
    *v = x;
    return p + k;
}

static const char *month_name(const char *p, int *month)
{
    static const char *names[] = {"january",   "february", "march",    "april",
                                  "may",       "june",     "july",     "august",
                                  "september", "october",  "november", "december"};
    for (int i = 0; i < 12; i++) {
        size_t full = strlen(names[i]);
        if (strncasecmp(p, names[i], full) == 0) {
            *month = i + 1;
            return p + full;
        }
    }
    for (int i = 0; i < 12; i++) {
        if (strncasecmp(p, names[i], 3) == 0) {
            *month = i + 1;
            return p + 3;
        }
    }
    return NULL;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Matches s against fmt; returns 0, or -1 with msg set. */
static sg_err match(const char *s, const char *fmt, struct fields *f, char *msg, size_t n)
{
    /* Check the whole format first, so that a bad directive is reported as such even when
     * the string fails to match earlier. */
    for (const char *q = fmt; *q; q++) {
        if (*q != '%')
            continue;
        if (*++q == '\0')
            return sg_errf(SG_INVAL, msg, n, "time format \"%s\" ends in a lone %%", fmt);
        if (strchr("dmHIMSYybBhpzTF%", *q) == NULL)
            return sg_errf(SG_UNSUPPORTED, msg, n, "time format \"%s\": %%%c is not supported", fmt,
                           *q);
    }
    const char *p = s;
    for (const char *q = fmt; *q; q++) {
        if (is_blank(*q)) {
            if (!is_blank(*p))
                goto mismatch;
            while (is_blank(*p))
                p++;
            while (is_blank(q[1]))
                q++;
            continue;
        }
        if (*q != '%') {
            if (*p != *q)
                goto mismatch;
            p++;
            continue;
        }
        int v = 0;
        const char *np = NULL;
        switch (*++q) {
        case 'd':
            np = num(p, 1, 2, &f->day);
            break;
        case 'm':
            np = num(p, 1, 2, &f->month);
            break;
        case 'H':
            np = num(p, 1, 2, &f->hour);
            break;
        case 'I':
            np = num(p, 1, 2, &f->hour);
            f->hour12 = 1;
            break;
        case 'M':
            np = num(p, 1, 2, &f->min);
            break;
        case 'S':
            np = num(p, 1, 2, &f->sec);
            break;
        case 'Y':
            np = num(p, 4, 4, &v);
            f->year = v;
            f->have_year = 1;
            break;
        case 'y':
            np = num(p, 2, 2, &v);
            f->year = v < 69 ? 2000 + v : 1900 + v;
            f->have_year = 1;
            break;
        case 'b':
        case 'B':
        case 'h':
            np = month_name(p, &f->month);
            break;
        case 'p':
            if (strncasecmp(p, "AM", 2) == 0 || strncasecmp(p, "PM", 2) == 0) {
                f->pm = (p[0] == 'P' || p[0] == 'p');
                f->have_pm = 1;
                np = p + 2;
            }
            break;
        case 'z':
            np = parse_offset(p, &f->offset);
            f->have_offset = 1;
            break;
        case 'T':
            np = num(p, 1, 2, &f->hour);
            if (np && *np == ':' && (np = num(np + 1, 1, 2, &f->min)) && *np == ':')
                np = num(np + 1, 1, 2, &f->sec);
            else
                np = NULL;
            break;
        case 'F':
            np = num(p, 4, 4, &v);
            f->year = v;
            f->have_year = 1;
            if (np && *np == '-' && (np = num(np + 1, 1, 2, &f->month)) && *np == '-')
                np = num(np + 1, 1, 2, &f->day);
            else
                np = NULL;
            break;
        case '%':
            np = *p == '%' ? p + 1 : NULL;
            break;
        case '\0':
            return sg_errf(SG_INVAL, msg, n, "time format \"%s\" ends in a lone %%", fmt);
        default:
            return sg_errf(SG_UNSUPPORTED, msg, n, "time format \"%s\": %%%c is not supported", fmt,
                           *q);
        }
        if (np == NULL)
            goto mismatch;
        p = np;
    }
    while (is_blank(*p))
        p++;
    if (*p != '\0')
        return sg_errf(SG_INVAL, msg, n, "\"%.80s\": unexpected \"%.20s\" after the time", s, p);
    return SG_OK;
mismatch:
    return sg_errf(SG_INVAL, msg, n, "\"%.80s\" does not match the format \"%.60s\" at \"%.20s\"",
                   s, fmt, p);
}

static sg_err match_iso8601(const char *s, struct fields *f, char *msg, size_t n)
{
    const char *p = s;
    int y;
    if (!(p = num(p, 4, 4, &y)) || *p++ != '-' || !(p = num(p, 2, 2, &f->month)) || *p++ != '-' ||
        !(p = num(p, 2, 2, &f->day)))
        goto bad;
    f->year = y;
    f->have_year = 1;
    if (*p == 'T' || *p == 't' || (*p == ' ' && p[1] >= '0' && p[1] <= '9')) {
        p++;
        if (!(p = num(p, 2, 2, &f->hour)) || *p++ != ':' || !(p = num(p, 2, 2, &f->min)))
            goto bad;
        if (*p == ':') {
            if (!(p = num(p + 1, 2, 2, &f->sec)))
                goto bad;
            if (*p == '.' || *p == ',') {
                if (!(p[1] >= '0' && p[1] <= '9'))
                    goto bad;
                for (p++; *p >= '0' && *p <= '9'; p++)
                    ;
            }
        }
        if (*p && !is_blank(*p)) {
            if (!(p = parse_offset(p, &f->offset)))
                goto bad;
            f->have_offset = 1;
        }
    }
    while (is_blank(*p))
        p++;
    if (*p != '\0')
        return sg_errf(SG_INVAL, msg, n, "\"%.80s\": unexpected \"%.20s\" after the time", s, p);
    return SG_OK;
bad:
    return sg_errf(SG_INVAL, msg, n,
                   "\"%.80s\" is not an RFC 3339 time (2001-01-01T00:23:00-03:00)", s);
}

/* Reads a zone as sg_time_parse takes it: UTC (NULL, "", "UTC", "Z") or a fixed offset
 * give *zone = NULL and the offset in *fixed; an IANA name gives its rules in *zone. */
static sg_err tz_resolve(const char *tz, const struct zone **zone, int32_t *fixed, char *msg,
                         size_t n)
{
    *zone = NULL;
    *fixed = 0;
    if (tz == NULL || tz[0] == '\0' || strcmp(tz, "UTC") == 0 || strcmp(tz, "Z") == 0)
        return SG_OK;
    if (tz[0] == '+' || tz[0] == '-') {
        const char *e = parse_offset(tz, fixed);
        if (e == NULL || *e != '\0')
            return sg_errf(SG_INVAL, msg, n, "bad UTC offset \"%.20s\" (use +05:30 or -0300)", tz);
        return SG_OK;
    }
    return zone_get(tz, zone, msg, n);
}

sg_err sg_time_parse(const char *s, const char *fmt, const char *tz, int64_t *out, char *msg,
                     size_t n)
{
    static const char *mnames[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};
    if (s == NULL || fmt == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, n, "no time or format given");
    struct fields f = {.month = 1, .day = 1};
    sg_err err =
        strcasecmp(fmt, "iso8601") == 0 ? match_iso8601(s, &f, msg, n) : match(s, fmt, &f, msg, n);
    if (err)
        return err;
    if (!f.have_year)
        return sg_errf(SG_INVAL, msg, n, "time format \"%s\" has no year (%%Y or %%y)", fmt);
    if (f.hour12) {
        if (!f.have_pm || f.hour < 1 || f.hour > 12)
            return sg_errf(SG_INVAL, msg, n, "\"%.80s\": %%I needs an hour 1-12 and AM/PM", s);
        f.hour = f.hour % 12 + (f.pm ? 12 : 0);
    }
    if (f.month < 1 || f.month > 12)
        return sg_errf(SG_INVAL, msg, n, "\"%.80s\": no month %d", s, f.month);
    if (f.day < 1 || f.day > days_in_month(f.year, f.month))
        return sg_errf(SG_INVAL, msg, n, "\"%.80s\": no day %d in %s %d", s, f.day,
                       mnames[f.month - 1], (int)f.year);
    if (f.hour > 23 || f.min > 59 || f.sec > 59)
        return sg_errf(SG_INVAL, msg, n, "\"%.80s\": no time %02d:%02d:%02d", s, f.hour, f.min,
                       f.sec);
    int64_t local = sg_time_from_civil(f.year, f.month, f.day, f.hour, f.min, f.sec);
    if (f.have_offset) {
        *out = local - f.offset;
        return SG_OK;
    }
    const struct zone *z = NULL;
    int32_t off = 0;
    err = tz_resolve(tz, &z, &off, msg, n);
    if (err)
        return err;
    *out = z ? zone_local_to_utc(z, local) : local - off;
    return SG_OK;
}

sg_err sg_time_utc_offset(const char *tz, int64_t t, int32_t *out, char *msg, size_t n)
{
    const struct zone *z = NULL;
    int32_t off = 0;
    sg_err err = tz_resolve(tz, &z, &off, msg, n);
    if (err)
        return err;
    *out = z ? zone_offset(z, t) : off;
    return SG_OK;
}

sg_err sg_time_tzif_local_to_utc(const void *data, size_t len, int64_t local, int64_t *out,
                                 char *msg, size_t n)
{
    if (data == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, n, "no zone data");
    if (len > MAX_TZIF)
        return sg_errf(SG_INVAL, msg, n, "zone data larger than %u bytes", MAX_TZIF);
    /* Years -30000..30000 keep every intermediate sum far from int64 overflow. */
    if (local < -1000000000000 || local > 1000000000000)
        return sg_errf(SG_INVAL, msg, n, "local time out of range");
    const char *why = NULL;
    struct zone *z = zone_parse(data, len, &why);
    if (z == NULL)
        return sg_errf(strcmp(why, "out of memory") == 0 ? SG_NOMEM : SG_INVAL, msg, n,
                       "zone data: %s", why);
    *out = zone_local_to_utc(z, local);
    zone_free(z);
    return SG_OK;
}

sg_err sg_time_parse_instant(const char *s, int64_t *out, char *msg, size_t n)
{
    if (s == NULL)
        return sg_errf(SG_INVAL, msg, n, "no time given");
    char *end;
    errno = 0;
    long long t = strtoll(s, &end, 10);
    if (errno == 0 && *end == '\0' && end != s && t > 0) {
        *out = t;
        return SG_OK;
    }
    return sg_time_parse(s, "iso8601", "UTC", out, msg, n);
}
