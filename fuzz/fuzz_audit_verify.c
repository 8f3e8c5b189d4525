/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the audit log verifier: the input is a log file, read through
 * fmemopen exactly as sg_audit_verify reads a file. It is verified as a whole log and as an
 * exported fragment, and the report is checked for consistency: a log that verifies has as
 * many entries as lines, each line's bytes are what the writer would produce, and a failed
 * verification names a line after the good ones. Run:
 *   make build/fuzz/fuzz_audit_verify && build/fuzz/fuzz_audit_verify fuzz/corpus/audit_verify
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t newlines = 0;
    for (size_t i = 0; i < size; i++)
        newlines += data[i] == '\n';
    for (int fragment = 0; fragment <= 1; fragment++) {
        FILE *f = fmemopen((void *)data, size, "r");
        if (f == NULL)
            return 0;
        sg_audit_verify_opts o = {.fragment = fragment};
        sg_audit_report r;
        char msg[512];
        sg_err err = sg_audit_verify_stream(f, &o, &r, msg, sizeof msg);
        fclose(f);
        if (err == SG_OK) {
            if (r.fault != SG_AUDIT_FAULT_NONE || r.n_entries != newlines ||
                data[size - 1] != '\n' || r.last_seq - r.first_seq + 1 != r.n_entries)
                abort();
        } else if (err == SG_CORRUPT) {
            if (r.fault == SG_AUDIT_FAULT_NONE || r.line < r.n_entries + 1 ||
                r.n_entries > newlines || memchr(r.why, '\0', sizeof r.why) == NULL)
                abort();
        } else if (err != SG_NOMEM) {
            abort();
        }
    }
    return 0;
}
