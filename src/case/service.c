/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Opening an installation's database and field key together (service.h). */
#include "safegrid/service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safegrid/log.h"

/* Versions before schema 5 kept the audit log in the file DB.audit. Its entries move into
 * the database's audit table (which continues the same chain) and the file is renamed, so
 * it is imported once and kept as it was. */
static sg_err import_legacy_log(sg_store *s, const char *db, char *msg, size_t n)
{
    char path[4096], done[4200];
    snprintf(path, sizeof path, "%s.audit", db);
    if (access(path, F_OK) != 0)
        return SG_OK;
    uint64_t count = 0;
    char em[400];
    sg_err err = sg_store_audit_import(s, path, &count, em, sizeof em);
    if (err == SG_CONFLICT) {
        sg_log(SG_LOG_WARN, "service.audit",
               "%s is left alone: the database already holds an audit log (keep the file as an "
               "archive, or move it away)",
               path);
        return SG_OK;
    }
    if (err)
        return sg_errf(err, msg, n,
                       "%s, the audit log of an earlier version, cannot be imported: %s (check it "
                       "with 'safegrid audit verify --file %s'; moving it aside starts a new log)",
                       path, em, path);
    snprintf(done, sizeof done, "%s.imported", path);
    if (rename(path, done) != 0)
        return sg_errf(SG_IO, msg, n, "imported %s but cannot rename it to %s: %s", path, done,
                       strerror(errno));
    sg_log(SG_LOG_INFO, "service.audit", "imported %llu audit entries from %s (kept as %s)",
           (unsigned long long)count, path, done);
    return SG_OK;
}

sg_err sg_service_open(const char *db, sg_service *out, char *msg, size_t n)
{
    memset(out, 0, sizeof *out);
    if (db == NULL || db[0] == '\0')
        return sg_errf(SG_INVAL, msg, n, "no database path given");
    char path[4096];
    sg_err err = sg_store_open(db, &out->store, msg, n);
    if (err)
        return err;
    snprintf(path, sizeof path, "%s.key", db);
    err = sg_crypto_key_load(path, &out->key, msg, n);
    if (err == SG_NOTFOUND) {
        err = sg_crypto_key_create(path, msg, n);
        if (!err)
            sg_log(SG_LOG_INFO, "service.key",
                   "created the field key %s (mode 0600); back it "
                   "up: sealed personal data cannot be read without it",
                   path);
        if (!err || err == SG_CONFLICT) /* or another process created it just now */
            err = sg_crypto_key_load(path, &out->key, msg, n);
    }
    if (!err)
        err = import_legacy_log(out->store, db, msg, n);
    if (err) {
        sg_service_close(out);
        return err;
    }
    return SG_OK;
}

void sg_service_close(sg_service *sv)
{
    if (sv->store) {
        sg_store_close(sv->store);
        sv->store = NULL;
    }
    sg_crypto_key_free(sv->key);
    sv->key = NULL;
}
