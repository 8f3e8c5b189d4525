/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Workload per area and time band for patrol beats. A case counts by its category's weight
 * (a small table, not a formula: admins weigh their own categories) in the band of the day
 * in which it happened, local time. Bands are four (night, morning peak, day, evening peak)
 * because the seeds ask for extra duty at the peaks and because a beat drawn on the day's
 * cases alone would put the night shift where the night has little to do; their boundaries
 * are configuration, since peaks differ from city to city.
 *
 * The shipped table weighs the categories of the Belo Horizonte police data that the demo
 * and the tests load (codes of the Minas Gerais police, lower-cased as import stores them)
 * and generic ones by case type; docs/patrol.md explains each weight.
 */
#include "safegrid/patrol.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void sg_patrol_bands_init(sg_patrol_bands *b)
{
    b->morning_start = 6 * 60 + 30;
    b->day_start = 9 * 60;
    b->evening_start = 17 * 60;
    b->night_start = 20 * 60;
}

static int bands_ok(const sg_patrol_bands *b)
{
    return b && 0 <= b->morning_start && b->morning_start < b->day_start &&
           b->day_start < b->evening_start && b->evening_start < b->night_start &&
           b->night_start < 1440;
}

sg_err sg_patrol_band_of(const sg_patrol_bands *b, int minute, sg_patrol_band *out)
{
    if (!bands_ok(b) || minute < 0 || minute >= 1440 || out == NULL)
        return SG_INVAL;
    if (minute >= b->night_start || minute < b->morning_start)
        *out = SG_BAND_NIGHT;
    else if (minute < b->day_start)
        *out = SG_BAND_MORNING;
    else if (minute < b->evening_start)
        *out = SG_BAND_DAY;
    else
        *out = SG_BAND_EVENING;
    return SG_OK;
}

static const char *const band_names[SG_BAND_COUNT] = {"night", "morning", "day", "evening"};

const char *sg_patrol_band_name(sg_patrol_band b)
{
    return (unsigned)b < SG_BAND_COUNT ? band_names[b] : NULL;
}

sg_err sg_patrol_band_parse(const char *name, sg_patrol_band *out)
{
    if (name == NULL || out == NULL)
        return SG_INVAL;
    if (strcmp(name, "all") == 0) {
        *out = SG_BAND_COUNT;
        return SG_OK;
    }
    for (int i = 0; i < SG_BAND_COUNT; i++)
        if (strcmp(name, band_names[i]) == 0) {
            *out = (sg_patrol_band)i;
            return SG_OK;
        }
    return SG_INVAL;
}

/* clang-format off */
static const sg_patrol_weight default_weights[] = {
    /* Belo Horizonte police occurrence codes (natureza), as the demo imports them */
    {"b04002", 5.0}, /* homicide */
    {"b04001", 4.0}, /* attempted homicide */
    {"b05000", 4.0}, /* kidnapping, false imprisonment */
    {"b06000", 2.0}, /* bodily harm */
    {"b02000", 2.0}, /* brawl */
    {"b09000", 1.5}, /* abandonment of a person who cannot care for themselves */
    {"b08000", 1.0}, /* trespass into a home */
    {"b03000", 1.0}, /* threat */
    /* generic categories by case type */
    {"incident*", 1.0},
    {"request*", 0.25},
    {"hazard*", 0.5},
    {"dispute*", 0.0},
    {"assessment*", 0.0},
};
/* clang-format on */

const sg_patrol_weight *sg_patrol_weights_default(size_t *n)
{
    if (n)
        *n = sizeof default_weights / sizeof default_weights[0];
    return default_weights;
}

double sg_patrol_weight_of(const sg_patrol_weight *table, size_t n, const char *category)
{
    if (table == NULL || category == NULL)
        return 1.0;
    double w = 1.0;
    size_t best = 0;
    int exact = 0;
    for (size_t i = 0; i < n && !exact; i++) {
        const char *c = table[i].category;
        if (c == NULL)
            continue;
        size_t len = strlen(c);
        if (len > 0 && c[len - 1] == '*') {
            if (len - 1 >= best && strncasecmp(category, c, len - 1) == 0) {
                best = len - 1;
                w = table[i].weight;
            }
        } else if (strcasecmp(category, c) == 0) {
            w = table[i].weight;
            exact = 1;
        }
    }
    return w;
}

sg_err sg_patrol_workload(const sg_patrol_case *cases, size_t n_cases, size_t n_areas,
                          const sg_patrol_weight *table, size_t n_table, const sg_patrol_bands *b,
                          double *out, char *msg, size_t msg_len)
{
    if ((cases == NULL && n_cases > 0) || out == NULL || n_areas == 0 || !bands_ok(b) ||
        (table == NULL && n_table > 0)) {
        if (msg && msg_len)
            snprintf(msg, msg_len, "no areas, no output or bad band boundaries");
        return SG_INVAL;
    }
    for (size_t i = 0; i < n_table; i++)
        if (!isfinite(table[i].weight) || table[i].weight < 0) {
            if (msg && msg_len)
                snprintf(msg, msg_len, "weight of '%s' is not a finite value >= 0",
                         table[i].category ? table[i].category : "");
            return SG_INVAL;
        }
    memset(out, 0, SG_BAND_COUNT * n_areas * sizeof *out);
    for (size_t i = 0; i < n_cases; i++) {
        sg_patrol_band band;
        if (cases[i].area >= n_areas || sg_patrol_band_of(b, cases[i].minute, &band) != SG_OK) {
            if (msg && msg_len)
                snprintf(msg, msg_len, "case %zu: area %zu of %zu or minute %d out of range", i,
                         cases[i].area, n_areas, cases[i].minute);
            return SG_INVAL;
        }
        out[(size_t)band * n_areas + cases[i].area] +=
            n_table ? sg_patrol_weight_of(table, n_table, cases[i].category) : 1.0;
    }
    return SG_OK;
}
