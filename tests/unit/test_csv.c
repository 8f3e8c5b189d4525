/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of the CSV reader. Real files: the Belo Horizonte occurrences and the Recife
 * neighbourhoods (Debian libterralib-doc, `;`, Latin-1), checked against the summary that
 * Python's csv module and codecs produced (tests/fixtures/csv/make_expected.py ->
 * expected.txt). Edge cases are hand-made, with the expected fields written out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/csv.h"

#define DATA "/usr/share/doc/libterralib-dev/examples/data/"
#define EXPECTED "tests/fixtures/csv/expected.txt"

/* Value of key in expected.txt (static buffer). */
static const char *expected(const char *key)
{
    static char val[1024];
    FILE *f = fopen(EXPECTED, "r");
    assert_non_null(f);
    char line[2048];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            snprintf(val, sizeof val, "%s", line + kl + 1);
            val[strcspn(val, "\n")] = '\0';
            fclose(f);
            return val;
        }
    }
    fclose(f);
    fail_msg("no %s in %s", key, EXPECTED);
    return NULL;
}

static void join(char *out, size_t n, const char *const *fields, size_t n_fields)
{
    out[0] = '\0';
    for (size_t i = 0; i < n_fields; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "|" : "", fields[i]);
}

static void hex(char *out, const char *s)
{
    for (; *s; s++, out += 2)
        sprintf(out, "%02x", (unsigned char)*s);
    *out = '\0';
}

/* Reads a whole real file and compares it with the Python summary. */
static void check_real_file(const char *path, const char *name)
{
    sg_csv_opts o = {.delim = ';', .encoding = "LATIN1", .max_field = 0};
    sg_csv *r = NULL;
    char msg[256] = "", key[64], joined[4096];
    assert_int_equal(sg_csv_open(path, &o, &r, msg, sizeof msg), SG_OK);
    const char *const *f;
    size_t nf;
    sg_csv_header(r, &f, &nf);
    join(joined, sizeof joined, f, nf);
    snprintf(key, sizeof key, "%s.header", name);
    assert_string_equal(joined, expected(key));

    long records = 0, fields_total = 0, bytes = 0, line = 0;
    char first[4096] = "", last[4096] = "";
    sg_err err;
    while ((err = sg_csv_next(r, &f, &nf, &line, msg, sizeof msg)) == SG_OK) {
        records++;
        /* No multi-line fields in these files: record k is on line k + 1. */
        assert_int_equal(line, records + 1);
        fields_total += (long)nf;
        for (size_t i = 0; i < nf; i++) {
            bytes += (long)strlen(f[i]);
            /* Latin-1 letters come out as two-byte UTF-8 sequences. */
            if (strcmp(name, "recife") == 0 && i == 2 && strpbrk(f[i], "\xc2\xc3")) {
                char hx[256];
                hex(hx, f[i]);
                snprintf(key, sizeof key, "recife.line%ld.field3_hex", line);
                assert_string_equal(hx, expected(key));
            }
        }
        join(records == 1 ? first : last, sizeof first, f, nf);
    }
    assert_int_equal(err, SG_NOTFOUND);
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_NOTFOUND);
    snprintf(key, sizeof key, "%s.records", name);
    assert_int_equal(records, atol(expected(key)));
    snprintf(key, sizeof key, "%s.fields_total", name);
    assert_int_equal(fields_total, atol(expected(key)));
    snprintf(key, sizeof key, "%s.utf8_bytes_total", name);
    assert_int_equal(bytes, atol(expected(key)));
    snprintf(key, sizeof key, "%s.first", name);
    assert_string_equal(first, expected(key));
    snprintf(key, sizeof key, "%s.last", name);
    assert_string_equal(last, expected(key));
    sg_csv_free(r);
}

static void test_belo_horizonte(void **state)
{
    (void)state;
    check_real_file(DATA "OcorrenciasBH.csv", "bh");
    /* Column lookup and the count of the centre's two spellings. */
    sg_csv_opts o = {.delim = ';', .encoding = "ISO-8859-1", .max_field = 0};
    sg_csv *r = NULL;
    char msg[256];
    assert_int_equal(sg_csv_open(DATA "OcorrenciasBH.csv", &o, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_csv_column(r, "COD"), 0);
    assert_int_equal(sg_csv_column(r, "Bairro"), 11);
    assert_int_equal(sg_csv_column(r, "ID"), 15); /* last column: CR stripped */
    assert_int_equal(sg_csv_column(r, "bairro"), -1);
    assert_int_equal(sg_csv_column(r, "Nope"), -1);
    int b = sg_csv_column(r, "Bairro");
    const char *const *f;
    size_t nf;
    long line, paren = 0, plain = 0;
    while (sg_csv_next(r, &f, &nf, &line, msg, sizeof msg) == SG_OK) {
        paren += strcmp(f[b], "CENTRO (BH)") == 0;
        plain += strcmp(f[b], "CENTRO BH") == 0;
    }
    assert_int_equal(paren, atol(expected("bh.centro_bh_paren")));
    assert_int_equal(plain, atol(expected("bh.centro_bh")));
    sg_csv_free(r);
}

static void test_recife_latin1(void **state)
{
    (void)state;
    check_real_file(DATA "BairrosRecife2.csv", "recife");
    /* The same Latin-1 file read as UTF-8 must fail on the rows with accents, name the line,
     * and go on: 93 records of which 6 carry non-ASCII bytes (see expected.txt). */
    sg_csv_opts o = {.delim = ';', .encoding = NULL, .max_field = 0};
    sg_csv *r = NULL;
    char msg[256];
    assert_int_equal(sg_csv_open(DATA "BairrosRecife2.csv", &o, &r, msg, sizeof msg), SG_OK);
    const char *const *f;
    size_t nf;
    long line = 0, ok = 0, bad = 0;
    sg_err err;
    while ((err = sg_csv_next(r, &f, &nf, &line, msg, sizeof msg)) != SG_NOTFOUND) {
        if (err == SG_OK) {
            ok++;
            continue;
        }
        assert_int_equal(err, SG_INVAL);
        bad++;
        if (line == 13)
            assert_string_equal(msg, "field 3: invalid UTF-8 (byte 0xE7 at offset 3); "
                                     "is the file in another encoding?");
    }
    assert_int_equal(ok, 87);
    assert_int_equal(bad, 6);
    sg_csv_free(r);
}

/* Opens text from memory and checks each record against rows of expected fields
 * ("a|b|c"), or "!INVAL" / "!TOOBIG" for a record that must fail, with its line. */
struct want {
    long line;
    const char *row;
};

static void check_mem(const char *text, size_t len, const sg_csv_opts *o, const char *header,
                      const struct want *w, size_t n_w)
{
    sg_csv *r = NULL;
    char msg[256] = "", joined[1024];
    sg_err err = sg_csv_open_mem(text, len, o, &r, msg, sizeof msg);
    if (err)
        fail_msg("open: %s", msg);
    const char *const *f;
    size_t nf;
    sg_csv_header(r, &f, &nf);
    join(joined, sizeof joined, f, nf);
    assert_string_equal(joined, header);
    for (size_t i = 0; i < n_w; i++) {
        long line = -1;
        err = sg_csv_next(r, &f, &nf, &line, msg, sizeof msg);
        if (w[i].row[0] == '!') {
            assert_string_equal(sg_errname(err), w[i].row + 1);
        } else {
            if (err)
                fail_msg("record %zu: %s", i, msg);
            join(joined, sizeof joined, f, nf);
            assert_string_equal(joined, w[i].row);
        }
        assert_int_equal(line, w[i].line);
    }
    assert_int_equal(sg_csv_next(r, &f, &nf, NULL, msg, sizeof msg), SG_NOTFOUND);
    sg_csv_free(r);
}

#define CHECK(text, o, header, ...)                                                                \
    do {                                                                                           \
        static const struct want w_[] = {__VA_ARGS__};                                             \
        check_mem(text, sizeof(text) - 1, o, header, w_, sizeof w_ / sizeof w_[0]);                \
    } while (0)

static void test_rfc4180_cases(void **state)
{
    (void)state;
    /* Quotes, doubled quotes, delimiter and newlines inside quotes, empty fields, spaces
     * kept, no final newline. The multi-line record starts on line 3. */
    CHECK("id,text,n\n"
          "1,\"a, b\",2\n"
          "2,\"say \"\"hi\"\"\nsecond line\",3\n"
          ",, \n"
          "  x , y ,\"\"\n"
          "4,last,5",
          NULL, "id|text|n", {2, "1|a, b|2"}, {3, "2|say \"hi\"\nsecond line|3"}, {5, "|| "},
          {6, "  x | y |"}, {7, "4|last|5"});
    /* CRLF, blank lines skipped (line numbers still count them), a BOM, tab delimiter. */
    sg_csv_opts tab = {.delim = '\t', .encoding = "utf-8", .max_field = 0};
    CHECK("\xEF\xBB\xBF"
          "h1\th2\r\n"
          "\r\n"
          "a\tb\r\n"
          "\n"
          "\n"
          "c\t\"d\te\"\r\n",
          &tab, "h1|h2", {3, "a|b"}, {6, "c|d\te"});
    /* Ragged rows are returned as they are (checking widths is the importer's job). */
    CHECK("a;b;c\n1\n1;2;3;4\n", &(sg_csv_opts){.delim = ';'}, "a|b|c", {2, "1"}, {3, "1|2|3|4"});
}

static void test_bad_records_continue(void **state)
{
    (void)state;
    /* Malformed quoting fails that record only; reading resumes at the next line. */
    CHECK("a,b\n"
          "1,x\"y\n"
          "2,\"ok\"\n"
          "3,\"closed\"junk\n"
          "4,fine\n"
          "5,\"never closed\n",
          NULL, "a|b", {2, "!INVAL"}, {3, "2|ok"}, {4, "!INVAL"}, {5, "4|fine"}, {6, "!INVAL"});
    /* Error messages. */
    sg_csv *r = NULL;
    char msg[256];
    const char text[] = "a,b\n1,x\"y\n2,\"open\n";
    assert_int_equal(sg_csv_open_mem(text, sizeof text - 1, NULL, &r, msg, sizeof msg), SG_OK);
    const char *const *f;
    size_t nf;
    long line;
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "malformed quoting (a quote inside an unquoted field, or "
                             "text after a closing quote)");
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "unterminated quoted field at end of file");
    assert_int_equal(line, 3);
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_NOTFOUND);
    sg_csv_free(r);

    /* Invalid UTF-8: a lone continuation byte, an overlong "/", a surrogate, a NUL. */
    static const char bad[] = "h\n"
                              "ok\n"
                              "\x80\n"
                              "\xC0\xAF\n"
                              "\xED\xA0\x80\n"
                              "x\0y\n"
                              "\xE2\x82\xAC\n";
    CHECK(bad, NULL, "h", {2, "ok"}, {3, "!INVAL"}, {4, "!INVAL"}, {5, "!INVAL"}, {6, "!INVAL"},
          {7, "\xE2\x82\xAC"});
}

static void test_encodings(void **state)
{
    (void)state;
    /* CP1252: 0x80 is the euro sign (U+20AC, E2 82 AC), 0x93/0x94 curly quotes (U+201C/D);
     * 0x81 is unassigned and must fail that record only. Latin-1 0xE7 is c-cedilla (C3 A7). */
    sg_csv_opts cp = {.delim = ';', .encoding = "CP1252", .max_field = 0};
    CHECK("name;price\n\x93Pre\xE7o\x94;\x80 5\nbad\x81;1\nok;2\n", &cp, "name|price",
          {2, "\xE2\x80\x9CPre\xC3\xA7o\xE2\x80\x9D|\xE2\x82\xAC 5"}, {3, "!INVAL"}, {4, "ok|2"});
    /* Unknown and non-ASCII-compatible encodings are refused at open. */
    sg_csv *r = NULL;
    char msg[256];
    sg_csv_opts o = {.delim = ',', .encoding = "NO-SUCH-ENCODING", .max_field = 0};
    assert_int_equal(sg_csv_open_mem("a\n", 2, &o, &r, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "unknown encoding \"NO-SUCH-ENCODING\""));
    o.encoding = "UTF-16LE";
    assert_int_equal(sg_csv_open_mem("a\n", 2, &o, &r, msg, sizeof msg), SG_UNSUPPORTED);
    o.encoding = NULL;
    o.delim = '"';
    assert_int_equal(sg_csv_open_mem("a\n", 2, &o, &r, msg, sizeof msg), SG_INVAL);
    assert_null(r);
    /* A header that cannot be read fails open, naming the file and line. */
    o.delim = ',';
    assert_int_equal(sg_csv_open_mem("a\"b\n1\n", 6, &o, &r, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "csv: header row (line 1): malformed quoting (a quote inside an "
                             "unquoted field, or text after a closing quote)");
    assert_int_equal(sg_csv_open("tests/fixtures/csv/missing.csv", &o, &r, msg, sizeof msg), SG_IO);
    assert_string_equal(msg, "tests/fixtures/csv/missing.csv: No such file or directory");
    assert_null(r);
}

static void test_limits(void **state)
{
    (void)state;
    /* max_field = 4: "abcd" fits, "abcde" does not, on either side of a quoted field. */
    sg_csv_opts o = {.delim = ',', .encoding = NULL, .max_field = 4};
    CHECK("h\nabcd\nabcde\n\"abcde\"\nok\n", &o, "h", {2, "abcd"}, {3, "!TOOBIG"}, {4, "!TOOBIG"},
          {5, "ok"});
    /* A field far longer than the feed chunk is cut off while it grows (memory stays
     * bounded) and reading resumes after its line. */
    size_t big = 300000;
    char *text = malloc(big + 32);
    strcpy(text, "h\n");
    memset(text + 2, 'x', big);
    strcpy(text + 2 + big, "\nafter\n");
    sg_csv *r = NULL;
    char msg[256];
    o.max_field = 1000;
    assert_int_equal(sg_csv_open_mem(text, strlen(text), &o, &r, msg, sizeof msg), SG_OK);
    const char *const *f;
    size_t nf;
    long line;
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_TOOBIG);
    assert_int_equal(line, 2);
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_OK);
    assert_int_equal(line, 3);
    assert_string_equal(f[0], "after");
    sg_csv_free(r);
    free(text);

    /* Empty input: no columns, no records. */
    assert_int_equal(sg_csv_open_mem("", 0, NULL, &r, msg, sizeof msg), SG_OK);
    sg_csv_header(r, &f, &nf);
    assert_int_equal(nf, 0);
    assert_int_equal(sg_csv_column(r, "x"), -1);
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_NOTFOUND);
    sg_csv_free(r);
    sg_csv_free(NULL);
}

static void test_format_row(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    const char *row[] = {"plain", "a,b", "say \"hi\"", "two\nlines", " padded", "", "Praça"};
    assert_int_equal(sg_csv_format_row(&b, row, 7, ',', 0), SG_OK);
    /* RFC 4180: quote fields with the delimiter, quotes or line breaks; double inner quotes;
     * CRLF at the end. Leading/trailing blanks are quoted so no reader trims them. */
    assert_string_equal(b.data,
                        "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\" padded\",,Praça\r\n");
    /* Read back by the reader: the same fields. */
    const char *hdr[] = {"h1", "h2", "h3", "h4", "h5", "h6", "h7"};
    sg_buf all;
    sg_buf_init(&all, 1 << 16);
    assert_int_equal(sg_csv_format_row(&all, hdr, 7, ';', 0), SG_OK);
    assert_int_equal(sg_csv_format_row(&all, row, 7, ';', 0), SG_OK);
    sg_csv *r = NULL;
    char msg[256];
    sg_csv_opts o = {.delim = ';', .encoding = NULL, .max_field = 0};
    assert_int_equal(sg_csv_open_mem(all.data, all.len, &o, &r, msg, sizeof msg), SG_OK);
    const char *const *f;
    size_t nf;
    long line;
    assert_int_equal(sg_csv_next(r, &f, &nf, &line, msg, sizeof msg), SG_OK);
    assert_int_equal(nf, 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(f[i], row[i]);
    assert_int_equal(line, 2);
    sg_csv_free(r);
    sg_buf_fini(&all);

    /* Formula escaping (OWASP CSV injection): leading = + - @ get a quote mark. */
    sg_buf_reset(&b);
    const char *cells[] = {"=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "ok", "1-2"};
    assert_int_equal(sg_csv_format_row(&b, cells, 6, ',', SG_CSV_ESCAPE_FORMULAS), SG_OK);
    assert_string_equal(b.data, "\"'=HYPERLINK(\"\"x\"\")\",'+1,'-2,'@SUM(A1),ok,1-2\r\n");

    /* Errors leave the buffer as it was. */
    sg_buf_reset(&b);
    assert_int_equal(sg_buf_puts(&b, "keep"), SG_OK);
    const char *with_null[] = {"a", NULL};
    assert_int_equal(sg_csv_format_row(&b, with_null, 2, ',', 0), SG_INVAL);
    assert_string_equal(b.data, "keep");
    assert_int_equal(sg_csv_format_row(&b, row, 1, '"', 0), SG_INVAL);
    sg_buf small;
    sg_buf_init(&small, 8);
    assert_int_equal(sg_buf_puts(&small, "ab"), SG_OK);
    assert_int_equal(sg_csv_format_row(&small, row, 2, ',', 0), SG_TOOBIG);
    assert_string_equal(small.data, "ab");
    assert_int_equal(small.len, 2);
    /* One empty field is quoted so it does not read back as a skipped blank line. */
    sg_buf_reset(&small);
    const char *empty[] = {""};
    assert_int_equal(sg_csv_format_row(&small, empty, 1, ',', 0), SG_OK);
    assert_string_equal(small.data, "\"\"\r\n");
    sg_buf_reset(&small);
    assert_int_equal(sg_buf_puts(&small, "ab"), SG_OK);
    /* No fields: an empty line. */
    assert_int_equal(sg_csv_format_row(&small, NULL, 0, ',', 0), SG_OK);
    assert_string_equal(small.data, "ab\r\n");
    sg_buf_fini(&small);
    sg_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_belo_horizonte), cmocka_unit_test(test_recife_latin1),
        cmocka_unit_test(test_rfc4180_cases),  cmocka_unit_test(test_bad_records_continue),
        cmocka_unit_test(test_encodings),      cmocka_unit_test(test_limits),
        cmocka_unit_test(test_format_row),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
