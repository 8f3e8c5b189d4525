/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The .sgr file layout, shared by the writer (route_build.c) and the memory-mapped reader
 * (ch.c). Everything after the fixed header is a list of sections, each 8-byte aligned, that
 * the reader uses in place: arrays of fixed-size records in host byte order (the header
 * records the byte order and the reader refuses a file written on the other one).
 *
 * Nodes are numbered by contraction rank (0 = contracted first), so that a downward sweep
 * in descending rank is a descending walk over the arrays. Each node u owns two lists:
 * FWD[u], the edges u->x with rank(x) > rank(u), and BWD[u], the edges x->u with
 * rank(x) > rank(u) (target field = x). A shortcut p->q through the middle node m is the
 * pair BWD[m] entry for p (the half p->m) and FWD[m] entry for q (the half m->q); aux
 * stores both indices so paths unpack without searching.
 */
#ifndef SAFEGRID_ROUTE_INT_H
#define SAFEGRID_ROUTE_INT_H

#include <stdint.h>

#define SGR_MAGIC "SGROUTE"
#define SGR_VERSION 1u
#define SGR_ENDIAN 0x01020304u
#define SGR_NONE UINT32_MAX
#define SGR_COORD_SCALE 1e7

enum {
    SGR_SEC_NODE_POS,   /* sgr_pos[n_nodes] */
    SGR_SEC_NODE_SEG,   /* uint32_t[n_nodes]: one segment touching the node, or SGR_NONE */
    SGR_SEC_FWD_FIRST,  /* uint32_t[n_nodes + 1] */
    SGR_SEC_FWD_EDGE,   /* sgr_edge[n_fwd] */
    SGR_SEC_FWD_AUX,    /* sgr_aux[n_fwd] */
    SGR_SEC_BWD_FIRST,  /* uint32_t[n_nodes + 1] */
    SGR_SEC_BWD_EDGE,   /* sgr_edge[n_bwd] */
    SGR_SEC_BWD_AUX,    /* sgr_aux[n_bwd] */
    SGR_SEC_SEG,        /* sgr_seg[n_segs] */
    SGR_SEC_GRID_FIRST, /* uint32_t[grid_nx * grid_ny + 1] */
    SGR_SEC_GRID_SEG,   /* uint32_t[grid_first[last]] */
    SGR_N_SEC
};

typedef struct sgr_pos {
    int32_t lon, lat; /* degrees * 1e7 */
} sgr_pos;

typedef struct sgr_edge {
    uint32_t to; /* the other node (always of higher rank than the owner) */
    uint32_t ms; /* travel time */
} sgr_edge;

typedef struct sgr_aux {
    uint32_t mid;    /* middle node of a shortcut, SGR_NONE for a road segment */
    uint32_t first;  /* BWD index of the first half (shortcuts only) */
    uint32_t second; /* FWD index of the second half (shortcuts only) */
    float m;         /* length in metres */
} sgr_aux;

typedef struct sgr_seg {
    uint32_t a, b;         /* end nodes */
    uint32_t ms_ab, ms_ba; /* SGR_NONE when that direction is closed */
    float m;
    uint32_t flags; /* SGR_SEG_SMALL: in a small connected piece of road */
} sgr_seg;

/* A segment whose (undirected) connected component has fewer nodes than
 * min(SGR_SMALL_COMPONENT, the largest component): snapping avoids it when it can. */
#define SGR_SEG_SMALL 1u
#define SGR_SMALL_COMPONENT 1000u

typedef struct sgr_section {
    uint64_t off, size; /* bytes from the start of the file */
} sgr_section;

typedef struct sgr_header {
    char magic[8];
    uint32_t version;
    uint32_t endian;
    uint32_t header_size;
    uint32_t n_sections;
    uint32_t n_nodes, n_segs;
    uint32_t n_fwd, n_bwd;
    uint32_t grid_nx, grid_ny;
    double grid_lon0, grid_lat0, grid_dlon, grid_dlat;
    uint64_t file_size;
    sgr_section sec[SGR_N_SEC];
    uint8_t checksum[32]; /* BLAKE2b-256 of the file with this field zeroed */
} sgr_header;

#endif
