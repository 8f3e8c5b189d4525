/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Surge detection on daily counts with the CDC's Early Aberration Reporting System methods
 * C1, C2 and C3 (Hutwagner, Thompson, Seeman and Treadwell 2003): each day is compared with
 * the mean and standard deviation of a short moving baseline, so no long history is needed
 * and a series can start alarming after one to two weeks. These are the methods public
 * health departments run on syndromic counts, and they suit safety-incident counts per area
 * and category: cheap, explainable ("3 standard deviations above last week") and with a
 * known false-alarm behaviour. A floor on the standard deviation keeps sparse series (many
 * zero days) from alarming on a single case.
 */
#include "safegrid/stats.h"

#include <math.h>
#include <string.h>

void sg_surge_opts_init(sg_surge_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->method = SG_EARS_C2;
    o->min_sigma = 0.5;
    o->min_count = 1;
}

/* (x[t] - mean) / sd over x[t-lag-6 .. t-lag], or NAN when t is too early. */
static double ears_stat(const double *x, size_t t, size_t lag, double min_sigma)
{
    if (t < lag + 6)
        return NAN;
    double m = 0, s = 0;
    for (size_t k = t - lag - 6; k <= t - lag; k++)
        m += x[k];
    m /= 7;
    for (size_t k = t - lag - 6; k <= t - lag; k++)
        s += (x[k] - m) * (x[k] - m);
    double sd = sqrt(s / 6);
    if (sd < min_sigma)
        sd = min_sigma;
    if (!(sd > 0))
        return x[t] > m ? INFINITY : 0;
    return (x[t] - m) / sd;
}

sg_err sg_surge_ears(const double *x, size_t n, const sg_surge_opts *o, double *stat,
                     unsigned char *alarm)
{
    if (!x || !o || !stat || !alarm)
        return SG_INVAL;
    if (o->method < SG_EARS_C1 || o->method > SG_EARS_C3)
        return SG_INVAL;
    if (!(o->min_sigma >= 0) || !isfinite(o->min_sigma) || !(o->threshold >= 0) ||
        !isfinite(o->threshold))
        return SG_INVAL;
    for (size_t t = 0; t < n; t++)
        if (!(x[t] >= 0) || !isfinite(x[t]))
            return SG_INVAL;
    double thr = o->threshold > 0 ? o->threshold : (o->method == SG_EARS_C3 ? 2 : 3);
    for (size_t t = 0; t < n; t++) {
        double v;
        if (o->method == SG_EARS_C1) {
            v = ears_stat(x, t, 1, o->min_sigma);
        } else if (o->method == SG_EARS_C2) {
            v = ears_stat(x, t, 3, o->min_sigma);
        } else {
            /* C3: sum of the C2 excesses over 1 on this day and the two before. */
            v = NAN;
            if (t >= 11) {
                v = 0;
                for (size_t k = t - 2; k <= t; k++) {
                    double c2 = ears_stat(x, k, 3, o->min_sigma);
                    if (c2 > 1)
                        v += c2 - 1;
                }
            }
        }
        stat[t] = v;
        alarm[t] = !isnan(v) && v > thr && x[t] >= (double)o->min_count;
    }
    return SG_OK;
}
