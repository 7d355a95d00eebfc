/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gnutls/gnutls.h>

#include "bus.h"

/*
 * The custom CAs and the device certificate, from provd's certificate store
 * (org.deskphone.Certificates1 on the connection that owns Config1): fetched
 * when sipd starts, when provd (re)appears and on CertificatesChanged. The
 * device key is only given to the owner of org.deskphone.Sip1, which sipd is
 * by then. Each completed fetch calls manager_on_certificates().
 */

typedef struct Manager Manager;
typedef struct Certificates Certificates;

int certificates_new(Manager *m, Bus *bus, Certificates **ret);
Certificates *certificates_free(Certificates *c);
/* Ask provd again (once the answer to an earlier question is in). */
void certificates_fetch(Certificates *c);
/* Has provd answered once (with certificates, none, or an error)? */
bool certificates_ready(const Certificates *c);
/* Counts the answers that changed something. */
unsigned certificates_generation(const Certificates *c);
/* What provd gave: the custom CAs (PEM blobs) and the device certificate and key
 * (PEM; size 0: none). Valid until the next fetch completes. */
void certificates_get(const Certificates *c, const gnutls_datum_t **ret_cas, size_t *ret_n_cas,
                      gnutls_datum_t *ret_cert, gnutls_datum_t *ret_key);

/* manager.c / security.c */
void manager_on_certificates(Manager *m);
