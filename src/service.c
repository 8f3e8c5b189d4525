/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Opening an installation's database, audit log and field key together (service.h). */
#include "safegrid/service.h"

#include <stdio.h>
#include <string.h>

#include "safegrid/log.h"

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
        if (!err) {
            sg_log(SG_LOG_INFO, "service.key",
                   "created the field key %s (mode 0600); back it "
                   "up: sealed personal data cannot be read without it",
                   path);
            err = sg_crypto_key_load(path, &out->key, msg, n);
        }
    }
    if (!err) {
        snprintf(path, sizeof path, "%s.audit", db);
        err = sg_audit_open(path, &out->audit, msg, n);
    }
    if (err) {
        sg_service_close(out);
        return err;
    }
    sg_store_set_audit(out->store, out->audit);
    return SG_OK;
}

void sg_service_close(sg_service *sv)
{
    if (sv->store) {
        sg_store_close(sv->store);
        sv->store = NULL;
    }
    sg_audit_close(sv->audit);
    sv->audit = NULL;
    sg_crypto_key_free(sv->key);
    sv->key = NULL;
}

sg_err sg_service_audit(sg_service *sv, const sg_principal *who, const char *action,
                        const char *object, const char *detail, char *msg, size_t n)
{
    if (sv->audit == NULL)
        return SG_OK;
    return sg_audit_append(sv->audit, who->name, sg_role_name(who->role), action, object, detail,
                           NULL, msg, n);
}
