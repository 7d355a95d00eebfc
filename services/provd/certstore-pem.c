/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "certstore.h"
#include "certstore-pem.h"
#include "util.h"

void certs_done(Certs *c) {
        for (unsigned i = 0; i < c->n; i++)
                gnutls_x509_crt_deinit(c->crts[i]);
        gnutls_free(c->crts);
        *c = (Certs) {};
}

int certs_parse(const void *pem, size_t size, Certs *ret, char *reason, size_t reason_size) {
        gnutls_datum_t d = { .data = (unsigned char *) pem, .size = (unsigned) size };
        Certs c = {};

        if (size > CERTSTORE_PEM_MAX)
                return reason_set(reason, reason_size, -E2BIG, "larger than %u bytes", CERTSTORE_PEM_MAX);
        if (size == 0 || !memmem(pem, size, "-----BEGIN ", 11))
                return reason_set(reason, reason_size, -EINVAL, "not a PEM file");
        int r = gnutls_x509_crt_list_import2(&c.crts, &c.n, &d, GNUTLS_X509_FMT_PEM, 0);
        if (r < 0 || c.n == 0) {
                certs_done(&c);
                return reason_set(reason, reason_size, -EINVAL, "no X.509 certificate in it (%s)",
                                  r < 0 ? gnutls_strerror(r) : "none found");
        }
        if (c.n > CERTSTORE_CHAIN_MAX) {
                certs_done(&c);
                return reason_set(reason, reason_size, -E2BIG, "more than %u certificates", CERTSTORE_CHAIN_MAX);
        }
        *ret = c;
        return 0;
}

int certs_export(const Certs *c, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *out = NULL;
        size_t size = 0;

        for (unsigned i = 0; i < c->n; i++) {
                gnutls_datum_t d = {};
                if (gnutls_x509_crt_export2(c->crts[i], GNUTLS_X509_FMT_PEM, &d) < 0)
                        return -EINVAL;
                char *n = realloc(out, size + d.size + 1);
                if (!n) {
                        gnutls_free(d.data);
                        return -ENOMEM;
                }
                out = n;
                memcpy(out + size, d.data, d.size);
                size += d.size;
                out[size] = '\0';
                gnutls_free(d.data);
        }
        *ret = TAKE_PTR(out);
        *ret_size = size;
        return 0;
}

char *certs_dn(gnutls_x509_crt_t crt, bool issuer) {
        gnutls_datum_t d = {};
        int r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) : gnutls_x509_crt_get_dn3(crt, &d, 0);
        char *s = r >= 0 ? strndup((const char *) d.data, d.size) : strdup("");
        gnutls_free(d.data);
        return s;
}

void key_done(gnutls_x509_privkey_t *k) {
        if (*k)
                gnutls_x509_privkey_deinit(*k);
}

int key_parse(const void *pem, size_t size, gnutls_x509_privkey_t *ret, char *reason, size_t reason_size) {
        gnutls_datum_t d = { .data = (unsigned char *) pem, .size = (unsigned) size };
        gnutls_x509_privkey_t k = NULL;

        if (size > CERTSTORE_PEM_MAX)
                return reason_set(reason, reason_size, -E2BIG, "the key is larger than %u bytes", CERTSTORE_PEM_MAX);
        if (gnutls_x509_privkey_init(&k) < 0)
                return -ENOMEM;
        int r = gnutls_x509_privkey_import2(k, &d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
        if (r < 0) {
                key_done(&k);
                return reason_set(reason, reason_size, -EINVAL, "not an unencrypted PEM private key (%s)",
                                  gnutls_strerror(r));
        }
        *ret = k;
        return 0;
}

bool key_matches(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key) {
        unsigned char a[64], b[64];
        size_t na = sizeof(a), nb = sizeof(b);

        return gnutls_x509_crt_get_key_id(crt, 0, a, &na) >= 0 && gnutls_x509_privkey_get_key_id(key, 0, b, &nb) >= 0 &&
               na == nb && memcmp(a, b, na) == 0;
}
