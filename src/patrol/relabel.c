/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Re-planning without renaming: officers know their beat by its label, so a new plan keeps
 * the old labels wherever it can. Matching new beats to old labels is an assignment problem
 * on the overlap matrix (areas shared by new beat i and old beat j); the Hungarian algorithm
 * (Kuhn 1955, Munkres 1957; here the O(K^3) shortest-augmenting-path form with potentials)
 * finds the matching with the largest total overlap, which is the one that moves the
 * fewest areas. A greedy match of the largest overlaps first can move more: the tests hold
 * an example.
 */
#include "safegrid/patrol.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Minimum-cost assignment of rows to columns of the r x c matrix a (r <= c): row i gets
 * column col_of[i]. e-maxx's formulation, 1-based inside. */
static int hungarian(const double *a, size_t r, size_t c, size_t *col_of)
{
    double *u = calloc(r + 1, sizeof *u), *v = calloc(c + 1, sizeof *v);
    double *minv = malloc((c + 1) * sizeof *minv);
    size_t *p = calloc(c + 1, sizeof *p), *way = calloc(c + 1, sizeof *way);
    unsigned char *used = malloc(c + 1);
    if (!u || !v || !minv || !p || !way || !used) {
        free(u), free(v), free(minv), free(p), free(way), free(used);
        return -1;
    }
    for (size_t i = 1; i <= r; i++) {
        p[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= c; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            size_t i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (size_t j = 1; j <= c; j++)
                if (!used[j]) {
                    double cur = a[(i0 - 1) * c + (j - 1)] - u[i0] - v[j];
                    if (cur < minv[j]) {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if (minv[j] < delta) {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            for (size_t j = 0; j <= c; j++)
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (size_t j = 1; j <= c; j++)
        if (p[j])
            col_of[p[j] - 1] = j - 1;
    free(u), free(v), free(minv), free(p), free(way), free(used);
    return 0;
}

sg_err sg_patrol_relabel(const uint32_t *old_beat, unsigned k_old, unsigned *new_beat,
                         unsigned k_new, size_t n, double *moved_share)
{
    if (old_beat == NULL || new_beat == NULL || k_new == 0 || n == 0)
        return SG_INVAL;
    for (size_t i = 0; i < n; i++)
        if (new_beat[i] >= k_new || (old_beat[i] != UINT32_MAX && old_beat[i] >= k_old))
            return SG_INVAL;
    /* Square cost matrix of size s: rows are new beats, columns old labels (padded with
     * labels that nothing holds); cost = -overlap. */
    size_t s = k_new > k_old ? k_new : k_old;
    double *cost = calloc(s * s, sizeof *cost);
    size_t *col_of = malloc(s * sizeof *col_of);
    unsigned *map = malloc(k_new * sizeof *map);
    if (!cost || !col_of || !map) {
        free(cost), free(col_of), free(map);
        return SG_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (old_beat[i] != UINT32_MAX)
            cost[new_beat[i] * s + old_beat[i]] -= 1;
    if (hungarian(cost, s, s, col_of) != 0) {
        free(cost), free(col_of), free(map);
        return SG_NOMEM;
    }
    /* New beats matched to a padding column (>= k_old) get the fresh labels k_old, ... in
     * the order of the new beats. */
    unsigned fresh = k_old;
    for (unsigned b = 0; b < k_new; b++)
        map[b] = col_of[b] < k_old ? (unsigned)col_of[b] : fresh++;
    size_t in_old = 0, moved = 0;
    for (size_t i = 0; i < n; i++) {
        new_beat[i] = map[new_beat[i]];
        if (old_beat[i] != UINT32_MAX) {
            in_old++;
            moved += new_beat[i] != old_beat[i];
        }
    }
    if (moved_share)
        *moved_share = in_old ? (double)moved / (double)in_old : 0.0;
    free(cost), free(col_of), free(map);
    return SG_OK;
}
