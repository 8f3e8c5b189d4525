/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Process-wide logger. Settings live in three statics guarded by one mutex; sg_log builds
 * the whole line in memory first (timestamp, level, event, message, newline) and then
 * writes it with one fwrite + fflush while holding the mutex, so concurrent threads produce
 * whole lines. JSON lines are built with jansson, which does the string escaping; bytes that
 * are not valid UTF-8 are replaced first because jansson (rightly) refuses them. Text lines
 * escape control characters so a message with a newline cannot forge a second log line.
 * A busy server may buffer lines below WARN for a fraction of a second (sg_log_set_buffered)
 * to save one write and flush per request.
 */
#include "safegrid/log.h"
#include "safegrid/utf8.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "safegrid/buf.h"

#define MSG_MAX 16384

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_out;                      /* NULL: stderr */
static sg_log_level log_min = SG_LOG_INFO; /* read without the lock in sg_log_enabled */
static int log_json;

/* Buffered mode (sg_log_set_buffered): lines below WARN wait here, under log_lock, until the
 * buffer fills, a WARN or ERROR line comes, the flusher thread's interval passes, or
 * buffering ends. */
static char pend[64 * 1024];
static size_t pend_len;
static unsigned buffered_ms;
static int flusher_stop;
static pthread_t flusher;
static pthread_cond_t flusher_cv = PTHREAD_COND_INITIALIZER;

static void flush_locked(void)
{
    if (pend_len == 0)
        return;
    FILE *out = log_out ? log_out : stderr;
    fwrite(pend, 1, pend_len, out);
    fflush(out);
    pend_len = 0;
}

static void *flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&log_lock);
    while (!flusher_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + (long)(buffered_ms % 1000) * 1000000L;
        ts.tv_sec += (time_t)(buffered_ms / 1000) + ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&flusher_cv, &log_lock, &ts);
        flush_locked();
    }
    pthread_mutex_unlock(&log_lock);
    return NULL;
}

int sg_log_set_buffered(unsigned ms)
{
    pthread_mutex_lock(&log_lock);
    unsigned was = buffered_ms;
    if (ms > 0 && was > 0) {
        buffered_ms = ms;
        pthread_mutex_unlock(&log_lock);
        return 0;
    }
    if (ms == 0 && was > 0) {
        buffered_ms = 0;
        flusher_stop = 1;
        pthread_cond_signal(&flusher_cv);
        pthread_mutex_unlock(&log_lock);
        pthread_join(flusher, NULL);
        pthread_mutex_lock(&log_lock);
        flush_locked();
        pthread_mutex_unlock(&log_lock);
        return 0;
    }
    if (ms > 0) {
        flusher_stop = 0;
        buffered_ms = ms;
        if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0) {
            buffered_ms = 0;
            pthread_mutex_unlock(&log_lock);
            return -1;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void sg_log_setup(FILE *out, sg_log_level min, int json)
{
    pthread_mutex_lock(&log_lock);
    flush_locked(); /* pending lines go where they were meant to */
    log_out = out;
    log_min = min;
    log_json = json != 0;
    pthread_mutex_unlock(&log_lock);
}

const char *sg_log_level_name(sg_log_level lvl)
{
    switch (lvl) {
    case SG_LOG_DEBUG:
        return "debug";
    case SG_LOG_INFO:
        return "info";
    case SG_LOG_WARN:
        return "warn";
    case SG_LOG_ERROR:
        return "error";
    }
    return "?";
}

static const char *level_upper(sg_log_level lvl)
{
    switch (lvl) {
    case SG_LOG_DEBUG:
        return "DEBUG";
    case SG_LOG_INFO:
        return "INFO";
    case SG_LOG_WARN:
        return "WARN";
    case SG_LOG_ERROR:
        return "ERROR";
    }
    return "?";
}

int sg_log_parse_level(const char *s, sg_log_level *out)
{
    static const struct {
        const char *name;
        sg_log_level lvl;
    } names[] = {{"debug", SG_LOG_DEBUG},
                 {"info", SG_LOG_INFO},
                 {"warn", SG_LOG_WARN},
                 {"warning", SG_LOG_WARN},
                 {"error", SG_LOG_ERROR}};
    if (s == NULL || out == NULL)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].lvl;
            return 0;
        }
    }
    return -1;
}

int sg_log_enabled(sg_log_level lvl)
{
    pthread_mutex_lock(&log_lock);
    int on = lvl >= log_min;
    pthread_mutex_unlock(&log_lock);
    return on;
}

/* Appends s, replacing invalid UTF-8 with U+FFFD, and (text mode) escaping control
 * characters. */
static sg_err append_clean(sg_buf *b, const char *s, int escape_ctl)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    sg_err err = SG_OK;
    while (n > 0 && !err) {
        size_t k = sg_utf8_seq(p, n);
        if (k == 0) {
            err = sg_buf_append(b, "\xEF\xBF\xBD", 3);
            k = 1;
        } else if (escape_ctl && k == 1 && (p[0] < 0x20 || p[0] == 0x7F)) {
            if (p[0] == '\n')
                err = sg_buf_puts(b, "\\n");
            else if (p[0] == '\t')
                err = sg_buf_puts(b, "\\t");
            else if (p[0] == '\r')
                err = sg_buf_puts(b, "\\r");
            else
                err = sg_buf_printf(b, "\\x%02X", p[0]);
        } else {
            err = sg_buf_append(b, p, k);
        }
        p += k;
        n -= k;
    }
    return err;
}

static void format_time(char *out, size_t n, int millis)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis)
        snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000L);
    else
        snprintf(out + k, n - k, "Z");
}

/* Formats the caller's message with a cap; a message past MSG_MAX is cut with "...". */
static char *format_msg(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    size_t len = (size_t)n < MSG_MAX ? (size_t)n : MSG_MAX;
    char *m = malloc(len + 1);
    if (m == NULL)
        return NULL;
    vsnprintf(m, len + 1, fmt, ap);
    if ((size_t)n > MSG_MAX) {
        /* Do not leave half a UTF-8 sequence before the marker. */
        size_t cut = len - 3;
        while (cut > 0 && ((unsigned char)m[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(m + cut, "...", 4);
    }
    return m;
}

static void build_json(sg_buf *line, const char *ts, sg_log_level lvl, const char *event,
                       const char *msg)
{
    sg_buf ev, ms;
    sg_buf_init(&ev, 4 * MSG_MAX);
    sg_buf_init(&ms, 4 * MSG_MAX);
    if (append_clean(&ev, event, 0) || append_clean(&ms, msg, 0) || sg_buf_append(&ev, "", 0) ||
        sg_buf_append(&ms, "", 0))
        goto done;
    json_t *o = json_object();
    if (o == NULL)
        goto done;
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(sg_log_level_name(lvl)));
    json_object_set_new(o, "event", json_stringn(ev.data, ev.len));
    json_object_set_new(o, "msg", json_stringn(ms.data, ms.len));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s != NULL) {
        if (sg_buf_puts(line, s) == SG_OK)
            sg_buf_puts(line, "\n");
        free(s);
    }
done:
    sg_buf_fini(&ev);
    sg_buf_fini(&ms);
}

void sg_log(sg_log_level lvl, const char *event, const char *fmt, ...)
{
    if (!sg_log_enabled(lvl))
        return;
    if (event == NULL)
        event = "-";
    va_list ap;
    va_start(ap, fmt);
    char *msg = format_msg(fmt, ap);
    va_end(ap);
    if (msg == NULL)
        return;

    pthread_mutex_lock(&log_lock);
    int json = log_json;
    FILE *out = log_out ? log_out : stderr;
    pthread_mutex_unlock(&log_lock);

    char ts[40];
    format_time(ts, sizeof ts, json);
    sg_buf line;
    sg_buf_init(&line, 8 * MSG_MAX);
    if (json) {
        build_json(&line, ts, lvl, event, msg);
    } else {
        sg_err err = sg_buf_printf(&line, "%s %-5s ", ts, level_upper(lvl));
        if (!err)
            err = append_clean(&line, event, 1);
        if (!err)
            err = sg_buf_puts(&line, ": ");
        if (!err)
            err = append_clean(&line, msg, 1);
        if (!err)
            err = sg_buf_puts(&line, "\n");
        if (err)
            line.len = 0;
    }
    free(msg);
    if (line.len > 0) {
        pthread_mutex_lock(&log_lock);
        if (buffered_ms > 0 && lvl < SG_LOG_WARN && line.len <= sizeof pend) {
            if (pend_len + line.len > sizeof pend)
                flush_locked();
            memcpy(pend + pend_len, line.data, line.len);
            pend_len += line.len;
        } else {
            /* Earlier buffered lines first, so the order holds. The stream may have been
             * replaced meanwhile; write where setup now points. */
            flush_locked();
            out = log_out ? log_out : stderr;
            fwrite(line.data, 1, line.len, out);
            fflush(out);
        }
        pthread_mutex_unlock(&log_lock);
    }
    sg_buf_fini(&line);
}
