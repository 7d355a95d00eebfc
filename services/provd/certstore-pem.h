/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The certificate store's parsing, with GnuTLS: what a file given to install
 * holds, and the PEM the store writes of it. No files, no store; internal to
 * certstore.c. Functions that take reason, reason_size (reason may be NULL)
 * write there what is wrong with the input, for the user.
 */

#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct Certs {
        gnutls_x509_crt_t *crts;
        unsigned n;
} Certs;

void certs_done(Certs *c);
/* At least one and at most CERTSTORE_CHAIN_MAX certificates, PEM, at most CERTSTORE_PEM_MAX bytes. */
int certs_parse(const void *pem, size_t size, Certs *ret, char *reason, size_t reason_size);
/* The certificates as GnuTLS writes them, one PEM block after the other. */
int certs_export(const Certs *c, char **ret, size_t *ret_size);
/* RFC 4514 subject or issuer; "" when it has none. */
char *certs_dn(gnutls_x509_crt_t crt, bool issuer);

void key_done(gnutls_x509_privkey_t *k);
/* An unencrypted PEM private key (PKCS#8 or the older forms). */
int key_parse(const void *pem, size_t size, gnutls_x509_privkey_t *ret, char *reason, size_t reason_size);
/* Does the key belong to the certificate? */
bool key_matches(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key);
