/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * One installation's files, opened together: the database at PATH, which holds the
 * hash-chained audit log (table audit, see audit.h), and the key that seals personal
 * fields at PATH.key (mode 0600, created on first use). Every command that reads or writes
 * cases opens them through here, so every personal field is sealed the same way.
 */
#ifndef SAFEGRID_SERVICE_H
#define SAFEGRID_SERVICE_H

#include <stddef.h>

#include "safegrid/audit.h"
#include "safegrid/auth.h"
#include "safegrid/crypto.h"
#include "safegrid/store.h"

typedef struct sg_service {
    sg_store *store;
    sg_crypto_key *key;
} sg_service;

/** Opens the store at db (creating it) and its key (creating the key with mode 0600 if the
 *  file does not exist). A log file PATH.audit left by an earlier version is imported into
 *  the database's empty audit table and renamed PATH.audit.imported. On error nothing
 *  stays open and msg names the file at fault. */
sg_err sg_service_open(const char *db, sg_service *out, char *msg, size_t n);

/** Closes the store (committing queued writes), then wipes the key. */
void sg_service_close(sg_service *sv);

/** The context strings that bind sealed personal fields to their use. */
#define SG_SEAL_CASE_PERSONAL "case.personal"

#endif
