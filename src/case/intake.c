/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The one intake of cases (include/safegrid/intake.h). The web API, Open311, CSV import and
 * the CLI used to create cases each in their own way: two shapes of sealed personal data,
 * contact details dropped by one path and refused by another, and the caller's area scope
 * checked by one only. Here the order is fixed -- personal data checked and sealed, the
 * place located once and checked against the caller's scope, then the case engine -- and
 * every path gets the same answers.
 *
 * Sealing happens before anything is queued, so the plain text of a contact never reaches
 * the store's queue or its log; the sealed copy is freed as soon as the engine has copied
 * it.
 */
#include "safegrid/intake.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/service.h"

/* Checks the personal members of in and, when there are any, seals them into one JSON
 * object in *out (malloc'd); *out is NULL when there are none. */
static sg_err seal_personal(const sg_crypto_key *key, const sg_intake_case *in, char **out,
                            char *msg, size_t n)
{
    *out = NULL;
    if (in->contact == NULL && in->parties == NULL)
        return SG_OK;
    if (in->contact && strlen(in->contact) > SG_INTAKE_MAX_CONTACT)
        return sg_errf(SG_INVAL, msg, n, "contact is a string of at most %d bytes",
                       SG_INTAKE_MAX_CONTACT);
    if (in->parties) {
        if (strcmp(in->c.type, "dispute") != 0)
            return sg_errf(SG_INVAL, msg, n, "only a dispute has parties");
        if (in->n_parties == 0 || in->n_parties > SG_INTAKE_MAX_PARTIES)
            return sg_errf(SG_INVAL, msg, n, "parties is a list of 1 to %d names",
                           SG_INTAKE_MAX_PARTIES);
        for (size_t i = 0; i < in->n_parties; i++) {
            size_t len = in->parties[i] ? strlen(in->parties[i]) : 0;
            if (len == 0 || len > SG_INTAKE_MAX_CONTACT)
                return sg_errf(SG_INVAL, msg, n,
                               "each party is a non-empty string of at most %d bytes",
                               SG_INTAKE_MAX_CONTACT);
        }
    }
    if (key == NULL)
        return sg_errf(SG_INVAL, msg, n,
                       "this server has no field key and takes no personal data; leave out "
                       "contact and parties");
    json_t *o = json_object();
    json_t *list = in->parties ? json_array() : NULL;
    int bad = o == NULL || (in->parties && list == NULL);
    if (!bad && in->contact)
        bad = json_object_set_new(o, "contact", json_string(in->contact)) != 0;
    for (size_t i = 0; !bad && list && i < in->n_parties; i++)
        bad = json_array_append_new(list, json_string(in->parties[i])) != 0;
    if (!bad && list)
        bad = json_object_set(o, "parties", list) != 0;
    char *text = bad ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(list);
    json_decref(o);
    if (text == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory sealing the personal data");
    sg_err err = sg_crypto_seal_text(key, SG_SEAL_CASE_PERSONAL, text, strlen(text), out, msg, n);
    sodium_memzero(text, strlen(text));
    free(text);
    return err;
}

/* Locates in's place once (sets c->located and c->area_id) and checks it against who's
 * scope. */
static sg_err locate_in_scope(sg_store *s, const sg_principal *who, sg_case_new *c, char *msg,
                              size_t n)
{
    int scoped = who->role != SG_ROLE_PUBLIC && who->area_id != 0;
    if (!isfinite(c->lon)) {
        if (scoped)
            return sg_errf(SG_FORBIDDEN, msg, n, "the place is outside your area");
        return SG_OK;
    }
    sg_areas *areas = NULL;
    sg_err err = sg_areas_acquire(s, &areas, msg, n);
    if (err)
        return err;
    int64_t area = 0;
    int inside = sg_areas_locate(areas, c->lon, c->lat, &area) == SG_OK;
    if (scoped && (!inside || !sg_auth_in_scope(areas, who, area)))
        err = sg_errf(SG_FORBIDDEN, msg, n, "the place is outside your area");
    sg_areas_release(areas);
    c->located = 1;
    c->area_id = inside ? area : 0;
    return err;
}

sg_err sg_intake_submit(sg_store *s, const sg_principal *who, const sg_crypto_key *key,
                        const sg_intake_case *in, sg_case_pending *p)
{
    memset(p, 0, sizeof *p);
    sg_case_new c = in->c;
    char *sealed = NULL;
    sg_err err = SG_OK;
    if (who == NULL || in->c.personal != NULL)
        err = sg_errf(SG_INVAL, p->msg, sizeof p->msg,
                      "the intake needs a caller and seals personal data itself");
    /* An unknown type is left for the engine to name; its parties cannot be judged. */
    if (!err && sg_case_type_valid(c.type))
        err = seal_personal(key, in, &sealed, p->msg, sizeof p->msg);
    if (!err)
        err = locate_in_scope(s, who, &c, p->msg, sizeof p->msg);
    if (err) {
        free(sealed);
        p->early = err;
        return err;
    }
    c.personal = sealed;
    sg_actor actor = {who->name, who->role};
    err = sg_case_create_submit(s, &actor, &c, p);
    free(sealed); /* the engine keeps its own copy */
    return err;
}

sg_err sg_intake_wait(sg_store *s, sg_case_pending *p, sg_case *out, char *msg, size_t n)
{
    return sg_case_create_wait(s, p, out, msg, n);
}

sg_err sg_intake_create(sg_store *s, const sg_principal *who, const sg_crypto_key *key,
                        const sg_intake_case *in, sg_case *out, char *msg, size_t n)
{
    sg_case_pending p;
    sg_intake_submit(s, who, key, in, &p);
    return sg_intake_wait(s, &p, out, msg, n);
}
