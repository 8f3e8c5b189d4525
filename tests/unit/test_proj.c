/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of reprojection to WGS84. References: the definitions of EPSG:4326 and EPSG:3857
 * (hand calculations below), the UTM definition (central meridian), the published position
 * of Belo Horizonte's centre (Praça Sete de Setembro, 19°55'09"S 43°56'18"W, about
 * -43.938, -19.919) and the LAT/LON columns that the publisher of the Porto Alegre data
 * recorded beside each point (tests/fixtures/proj/poa.csv, extracted by make_poa.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/csv.h"
#include "safegrid/proj.h"

#define BH_CSV "/usr/share/doc/libterralib-dev/examples/data/OcorrenciasBH.csv"
/* SAD69 / UTM zone 23S with a false northing of 3,000,000 m instead of 10,000,000 m: the
 * Belo Horizonte file's northings lack 7,000,000 m. +proj=utm ignores +y_0, so this is
 * spelt as the transverse Mercator that UTM zone 23S is (lon_0 = -45, k = 0.9996,
 * x_0 = 500000). The towgs84 values are EPSG:1877, "SAD69 to WGS 84 (14)", the Brazil-wide
 * shift (5 m accuracy). Documented in docs/import.md. */
#define BH_SRS                                                                                     \
    "+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA "           \
    "+towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"
#define PRACA_SETE_LON (-43.938)
#define PRACA_SETE_LAT (-19.919)

/* Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m). */
static double dist_m(double lon1, double lat1, double lon2, double lat2)
{
    double r = M_PI / 180.0;
    double dl = (lat2 - lat1) * r, dn = (lon2 - lon1) * r;
    double a =
        sin(dl / 2) * sin(dl / 2) + cos(lat1 * r) * cos(lat2 * r) * sin(dn / 2) * sin(dn / 2);
    return 2 * 6371008.8 * asin(sqrt(a));
}

static sg_proj *make(const char *srs)
{
    sg_proj *p = NULL;
    char msg[512] = "";
    sg_err err = sg_proj_new(srs, &p, msg, sizeof msg);
    if (err)
        fail_msg("sg_proj_new(%s): %s", srs, msg);
    return p;
}

static void test_identity_and_axis_order(void **state)
{
    (void)state;
    /* EPSG:4326 declares latitude first; output and input are lon, lat anyway. */
    const char *defs[] = {"EPSG:4326", "4326",
                          "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,"
                          "298.257223563]],PRIMEM[\"Greenwich\",0],UNIT[\"degree\",0."
                          "0174532925199433]]",
                          "+proj=longlat +datum=WGS84"};
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        sg_proj *p = make(defs[i]);
        double lon = 0, lat = 0;
        assert_int_equal(sg_proj_to_wgs84(p, PRACA_SETE_LON, PRACA_SETE_LAT, &lon, &lat), SG_OK);
        assert_float_equal(lon, PRACA_SETE_LON, 1e-9);
        assert_float_equal(lat, PRACA_SETE_LAT, 1e-9);
        sg_proj_free(p);
    }
}

static void test_web_mercator(void **state)
{
    (void)state;
    sg_proj *p = make("EPSG:3857");
    double lon = 1, lat = 1;
    assert_int_equal(sg_proj_to_wgs84(p, 0, 0, &lon, &lat), SG_OK);
    assert_float_equal(lon, 0, 1e-9);
    assert_float_equal(lat, 0, 1e-9);
    /* x = R * lambda with R = 6378137 m: pi * R = 20037508.3428 m is 180 degrees, so
     * 20037508.34 is 180 - 0.0028 / 111319.49 = 179.99999997. */
    assert_int_equal(sg_proj_to_wgs84(p, 20037508.34, 0, &lon, &lat), SG_OK);
    assert_float_equal(lon, 180.0, 1e-6);
    assert_float_equal(lat, 0, 1e-9);
    /* y = R * ln(tan(pi/4 + phi/2)); for phi = 45 degrees, ln(tan(67.5 deg)) = ln(1 + sqrt 2)
     * = 0.8813735870, y = 6378137 * 0.8813735870 = 5621521.486. */
    assert_int_equal(sg_proj_to_wgs84(p, -10018754.17, 5621521.486, &lon, &lat), SG_OK);
    assert_float_equal(lon, -90.0, 1e-6); /* pi * R / 2 */
    assert_float_equal(lat, 45.0, 1e-6);
    sg_proj_free(p);
}

static void test_utm_central_meridian(void **state)
{
    (void)state;
    /* By the UTM definition, easting 500000 is the central meridian (-45 for zone 23) and
     * northing 10,000,000 (south) is the equator, in SAD69; the SAD69 -> WGS84 shift moves
     * the point by well under 100 m (0.001 degree). "29193" and "EPSG:29193" agree. */
    const char *defs[] = {"EPSG:29193", "29193", " 29193 "};
    for (size_t i = 0; i < 3; i++) {
        sg_proj *p = make(defs[i]);
        double lon, lat;
        assert_int_equal(sg_proj_to_wgs84(p, 500000, 10000000, &lon, &lat), SG_OK);
        assert_float_equal(lon, -45.0, 1e-3);
        assert_float_equal(lat, 0.0, 1e-3);
        if (i == 0)
            assert_string_equal(sg_proj_name(p), "SAD69 / UTM zone 23S");
        sg_proj_free(p);
    }
}

static void test_belo_horizonte(void **state)
{
    (void)state;
    sg_proj *p = make(BH_SRS);
    sg_proj *utm = make("EPSG:29193");
    sg_csv_opts o = {.delim = ';', .encoding = "LATIN1", .max_field = 0};
    sg_csv *r = NULL;
    char msg[256];
    assert_int_equal(sg_csv_open(BH_CSV, &o, &r, msg, sizeof msg), SG_OK);
    int cx = sg_csv_column(r, "X"), cy = sg_csv_column(r, "Y"), cb = sg_csv_column(r, "Bairro");
    assert_true(cx >= 0 && cy >= 0 && cb >= 0);
    const char *const *f;
    size_t nf;
    long line, n = 0, n_centro = 0, centro_near = 0;
    double sum_lon = 0, sum_lat = 0, c_lon = 0, c_lat = 0, c_far = 0;
    while (sg_csv_next(r, &f, &nf, &line, msg, sizeof msg) == SG_OK) {
        double x = strtod(f[cx], NULL), y = strtod(f[cy], NULL), lon, lat;
        assert_int_equal(sg_proj_to_wgs84(p, x, y, &lon, &lat), SG_OK);
        sum_lon += lon;
        sum_lat += lat;
        n++;
        if (n % 500 == 1) {
            /* The same point through the EPSG definition after adding the missing
             * 7,000,000 m agrees within 2 m (PROJ may pick a slightly different SAD69
             * shift for EPSG:29193). */
            double lon2, lat2;
            assert_int_equal(sg_proj_to_wgs84(utm, x, y + 7000000.0, &lon2, &lat2), SG_OK);
            assert_true(dist_m(lon, lat, lon2, lat2) < 2.0);
            /* And through EPSG:29193 as the MIF file declares it: Antarctica. */
            assert_int_equal(sg_proj_to_wgs84(utm, x, y, &lon2, &lat2), SG_OK);
            assert_true(lat2 < -80.0);
        }
        if (strcmp(f[cb], "CENTRO (BH)") == 0) {
            n_centro++;
            c_lon += lon;
            c_lat += lat;
            double d = dist_m(lon, lat, PRACA_SETE_LON, PRACA_SETE_LAT);
            centro_near += d < 1500.0;
            if (d > c_far)
                c_far = d;
        }
    }
    sg_csv_free(r);
    assert_int_equal(n, 6501);
    /* The mean occurrence lies in the city: about -43.95, -19.90 (the municipality spans
     * roughly -44.06..-43.86 and -20.06..-19.78). */
    double mlon = sum_lon / (double)n, mlat = sum_lat / (double)n;
    assert_true(fabs(mlon - -43.95) < 0.03);
    assert_true(fabs(mlat - -19.90) < 0.03);
    /* The centre's occurrences (324, see tests/fixtures/csv/expected.txt) lie around Praça
     * Sete: their mean within 300 m, at least 95% within 1.5 km, none beyond 3 km (the
     * Centro district inside Avenida do Contorno is about 3 km across). */
    assert_int_equal(n_centro, 324);
    assert_true(dist_m(c_lon / (double)n_centro, c_lat / (double)n_centro, PRACA_SETE_LON,
                       PRACA_SETE_LAT) < 300.0);
    assert_true(centro_near * 100 >= n_centro * 95);
    assert_true(c_far < 3000.0);
    sg_proj_free(p);
    sg_proj_free(utm);
}

static void test_porto_alegre(void **state)
{
    (void)state;
    /* The shapefile's points are SAD69 / UTM zone 22S (EPSG:29192). Its LAT/LON columns
     * are degrees cut (towards zero) to two decimals: each true value v satisfies
     * recorded - 0.01 < v <= recorded, and over many points v - recorded averages -0.005.
     * Allow 0.001 degree for the datum shift and for the cut being done in SAD69. */
    sg_proj *p = make("EPSG:29192");
    sg_csv *r = NULL;
    char msg[256];
    assert_int_equal(sg_csv_open("tests/fixtures/proj/poa.csv", NULL, &r, msg, sizeof msg), SG_OK);
    int cx = sg_csv_column(r, "X"), cy = sg_csv_column(r, "Y");
    int clat = sg_csv_column(r, "LAT"), clon = sg_csv_column(r, "LON");
    assert_true(cx >= 0 && cy >= 0 && clat >= 0 && clon >= 0);
    const char *const *f;
    size_t nf;
    long line, n = 0, inside = 0;
    double sdlon = 0, sdlat = 0;
    double xs[64], ys[64], rlon[64], rlat[64];
    size_t k = 0;
    for (;;) {
        sg_err err = sg_csv_next(r, &f, &nf, &line, msg, sizeof msg);
        if (err == SG_OK) {
            xs[k] = strtod(f[cx], NULL);
            ys[k] = strtod(f[cy], NULL);
            rlat[k] = strtod(f[clat], NULL);
            rlon[k] = strtod(f[clon], NULL);
            k++;
        }
        if (k == 64 || (err != SG_OK && k > 0)) {
            /* Batch form; check the first point against the single-point form. */
            double lon1, lat1;
            assert_int_equal(sg_proj_to_wgs84(p, xs[0], ys[0], &lon1, &lat1), SG_OK);
            size_t failed = 99;
            assert_int_equal(sg_proj_to_wgs84_n(p, xs, ys, k, &failed), SG_OK);
            assert_int_equal(failed, 0);
            assert_float_equal(xs[0], lon1, 1e-12);
            assert_float_equal(ys[0], lat1, 1e-12);
            for (size_t i = 0; i < k; i++) {
                double dlon = xs[i] - rlon[i], dlat = ys[i] - rlat[i];
                sdlon += dlon;
                sdlat += dlat;
                inside += dlon > -0.011 && dlon < 0.001 && dlat > -0.011 && dlat < 0.001;
                n++;
            }
            k = 0;
        }
        if (err != SG_OK)
            break;
    }
    sg_csv_free(r);
    assert_int_equal(n, 3184);
    assert_true(inside * 100 >= n * 99);
    assert_true(fabs(sdlon / (double)n - -0.005) < 0.0015);
    assert_true(fabs(sdlat / (double)n - -0.005) < 0.0015);
    sg_proj_free(p);
}

/* One object per thread: four threads reproject the same 2,000 points of a 1 km grid over
 * Belo Horizonte with their own sg_proj and must all agree with a single-threaded run. */
#define GRID 2000

static double grid_ref[GRID][2];

static void grid_point(int i, double *x, double *y)
{
    *x = 600000.0 + (i % 40) * 1000.0;
    *y = 780000.0 + (i / 40) * 1000.0;
}

static void *proj_worker(void *arg)
{
    (void)arg;
    sg_proj *p = NULL;
    char msg[256];
    if (sg_proj_new(BH_SRS, &p, msg, sizeof msg))
        return (void *)1;
    void *rv = NULL;
    for (int round = 0; round < 3 && rv == NULL; round++) {
        for (int i = 0; i < GRID; i++) {
            double x, y, lon, lat;
            grid_point(i, &x, &y);
            if (sg_proj_to_wgs84(p, x, y, &lon, &lat) || lon != grid_ref[i][0] ||
                lat != grid_ref[i][1]) {
                rv = (void *)1;
                break;
            }
        }
    }
    sg_proj_free(p);
    return rv;
}

static void test_threads(void **state)
{
    (void)state;
    sg_proj *p = make(BH_SRS);
    for (int i = 0; i < GRID; i++) {
        double x, y;
        grid_point(i, &x, &y);
        assert_int_equal(sg_proj_to_wgs84(p, x, y, &grid_ref[i][0], &grid_ref[i][1]), SG_OK);
    }
    sg_proj_free(p);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, proj_worker, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
}

static void test_errors(void **state)
{
    (void)state;
    sg_proj *p = NULL;
    char msg[512];
    assert_int_equal(sg_proj_new("EPSG:999999", &p, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "unknown coordinate reference system \"EPSG:999999\""));
    assert_int_equal(sg_proj_new("999999", &p, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_proj_new("", &p, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "no coordinate reference system given");
    assert_int_equal(sg_proj_new(NULL, &p, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_proj_new("+proj=nosuchprojection", &p, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_proj_new("Belo Horizonte", &p, msg, sizeof msg), SG_INVAL);
    /* A transformation is not a CRS. */
    assert_int_equal(sg_proj_new("+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad",
                                 &p, msg, sizeof msg),
                     SG_INVAL);
    assert_null(p);

    p = make("EPSG:3857");
    double lon = 7, lat = 7;
    assert_int_equal(sg_proj_to_wgs84(p, NAN, 0, &lon, &lat), SG_INVAL);
    assert_int_equal(sg_proj_to_wgs84(p, 0, INFINITY, &lon, &lat), SG_INVAL);
    assert_float_equal(lon, 7, 0); /* untouched */
    double xs[3] = {0, NAN, 0}, ys[3] = {0, 0, HUGE_VAL};
    size_t failed = 0;
    assert_int_equal(sg_proj_to_wgs84_n(p, xs, ys, 3, &failed), SG_OK);
    assert_int_equal(failed, 2);
    assert_float_equal(xs[0], 0, 1e-9);
    assert_true(isnan(xs[1]) && isnan(ys[2]));
    sg_proj_free(p);
    sg_proj_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_and_axis_order),
        cmocka_unit_test(test_web_mercator),
        cmocka_unit_test(test_utm_central_meridian),
        cmocka_unit_test(test_belo_horizonte),
        cmocka_unit_test(test_porto_alegre),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("proj", tests, NULL, NULL);
}
