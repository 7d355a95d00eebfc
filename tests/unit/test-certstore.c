/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* provd's certificate store (services/provd/certstore.c) in a temporary directory,
 * with certificates and keys made here with GnuTLS. */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certstore.h"
#include "tap.h"
#include "util.h"

typedef struct Pem {
        char *cert, *key;
        size_t cert_size, key_size;
} Pem;

static void pem_done(Pem *p) {
        free(p->cert);
        free(p->key);
}

static char *export_datum(gnutls_datum_t *d, size_t *ret_size) {
        char *s = malloc(d->size + 1);
        if (s) {
                memcpy(s, d->data, d->size);
                s[d->size] = '\0';
                *ret_size = d->size;
        }
        gnutls_free(d->data);
        return s;
}

/* A self-signed certificate with its own ECDSA key, CN cn. */
static Pem make_cert(const char *cn, unsigned serial) {
        gnutls_x509_privkey_t key;
        gnutls_x509_crt_t crt;
        gnutls_datum_t d;
        unsigned char sn[4] = { 0, 0, (unsigned char) (serial >> 8), (unsigned char) serial };
        Pem p = {};

        gnutls_x509_privkey_init(&key);
        gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
        gnutls_x509_crt_init(&crt);
        gnutls_x509_crt_set_version(crt, 3);
        gnutls_x509_crt_set_serial(crt, sn, sizeof(sn));
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
        gnutls_x509_crt_set_activation_time(crt, time(NULL) - 60);
        gnutls_x509_crt_set_expiration_time(crt, time(NULL) + 30 * 86400);
        gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
        gnutls_x509_crt_set_key(crt, key);
        gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
        if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) >= 0)
                p.cert = export_datum(&d, &p.cert_size);
        if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d) >= 0)
                p.key = export_datum(&d, &p.key_size);
        gnutls_x509_crt_deinit(crt);
        gnutls_x509_privkey_deinit(key);
        return p;
}

static mode_t mode_of(const char *path) {
        struct stat st;
        return stat(path, &st) < 0 ? (mode_t) -1 : st.st_mode & 07777;
}

static char dir[] = "/tmp/test-certstore-XXXXXX";

static void test_names(void) {
        tap_begin("/certstore/names");
        check(certstore_name_is_valid("deskphone-test-CA"));
        check(certstore_name_is_valid("a.b_c-9"));
        check(!certstore_name_is_valid(""));
        check(!certstore_name_is_valid("../escape"));
        check(!certstore_name_is_valid(".hidden"));
        check(!certstore_name_is_valid("-x"));
        check(!certstore_name_is_valid("a/b"));
        check(!certstore_name_is_valid("a b"));
        check(!certstore_name_is_valid("x0123456789012345678901234567890123456789012345678901234567890123"));
        tap_end();
}

static void test_install_list_remove(CertStore *s) {
        Pem a = make_cert("deskphone test CA", 1), b = make_cert("deskphone test CA", 2), c = make_cert("Alpha", 3);
        _cleanup_(freep) char *n1 = NULL, *n2 = NULL, *n3 = NULL, *n4 = NULL, *path = NULL;
        char reason[256] = "";
        CertInfo *l = NULL;
        CertPem *pems = NULL;
        size_t n = 0, np = 0;

        tap_begin("/certstore/ca/install");
        check(certstore_install_ca(s, "", a.cert, a.cert_size, &n1, reason, sizeof(reason)) == 0, "%s", reason);
        check(n1 && streq(n1, "deskphone-test-CA"), "%s", n1);
        check(certstore_install_ca(s, "", a.cert, a.cert_size, &n2, reason, sizeof(reason)) == 1, "unchanged");
        check(n2 && streq(n2, "deskphone-test-CA"), "the same certificate, the same name: %s", n2);
        check(certstore_install_ca(s, "", b.cert, b.cert_size, &n3, reason, sizeof(reason)) == 0);
        check(n3 && streq(n3, "deskphone-test-CA-2"), "another CA with that CN: %s", n3);
        check(certstore_install_ca(s, "mine", c.cert, c.cert_size, &n4, reason, sizeof(reason)) == 0);
        path = strjoin(dir, "/certs/ca/mine.pem", NULL);
        check(mode_of(path) == 0600, "%o", (unsigned) mode_of(path));
        free(path);
        path = strjoin(dir, "/certs/ca", NULL);
        check(mode_of(path) == 0700, "%o", (unsigned) mode_of(path));
        tap_end();

        tap_begin("/certstore/ca/list");
        check(certstore_list_ca(s, &l, &n) == 0 && n == 3, "%zu", n);
        check(n == 3 && streq(l[0].name, "deskphone-test-CA") && streq(l[1].name, "deskphone-test-CA-2") &&
              streq(l[2].name, "mine"), "sorted by name");
        check(n == 3 && strstr(l[2].subject, "CN=Alpha") && strstr(l[2].issuer, "CN=Alpha"), "%s", l[2].subject);
        check(n == 3 && l[0].not_after > time(NULL) + 29 * 86400, "%lld", (long long) l[0].not_after);
        cert_info_free_many(l, n);
        check(certstore_read_cas(s, &pems, &np) == 0 && np == 3);
        check(np == 3 && strstr(pems[2].pem, "-----BEGIN CERTIFICATE-----") && pems[2].size == c.cert_size,
              "stored as GnuTLS writes it");
        cert_pem_free_many(pems, np);
        tap_end();

        tap_begin("/certstore/ca/bundle");
        _cleanup_(freep) char *bundle_path = strjoin(dir, "/" CERTSTORE_CA_BUNDLE, NULL), *bundle = NULL;
        size_t bundle_size = 0;
        check(read_full_file(bundle_path, &bundle, &bundle_size, 1 << 20) == 0, "the bundle is there");
        check(mode_of(bundle_path) == 0600, "%o", (unsigned) mode_of(bundle_path));
        check(bundle_size == a.cert_size + b.cert_size + c.cert_size, "all three CAs: %zu", bundle_size);
        check(bundle && memmem(bundle, bundle_size, c.cert, c.cert_size), "holds each");
        tap_end();

        tap_begin("/certstore/ca/remove");
        check(certstore_remove_ca(s, "mine") == 0);
        check(certstore_remove_ca(s, "mine") == -ENOENT);
        check(certstore_remove_ca(s, "../certs/device") == -ENOENT);
        check(certstore_list_ca(s, &l, &n) == 0 && n == 2);
        cert_info_free_many(l, n);
        tap_end();

        pem_done(&a);
        pem_done(&b);
        pem_done(&c);
}

static void test_refused(CertStore *s) {
        static const char junk[] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        Pem a = make_cert("x", 9);
        char reason[256] = "", *name = NULL;

        tap_begin("/certstore/ca/refused");
        check(certstore_install_ca(s, "", "hello", 5, &name, reason, sizeof(reason)) == -EINVAL);
        check(strstr(reason, "not a PEM file"), "%s", reason);
        check(certstore_install_ca(s, "", junk, strlen(junk), &name, reason, sizeof(reason)) == -EINVAL);
        check(strstr(reason, "no X.509 certificate"), "%s", reason);
        check(certstore_install_ca(s, "../x", a.cert, a.cert_size, &name, reason, sizeof(reason)) == -EINVAL);
        char *big = calloc(1, CERTSTORE_PEM_MAX + 2);
        memset(big, 'a', CERTSTORE_PEM_MAX + 1);
        check(certstore_install_ca(s, "", big, CERTSTORE_PEM_MAX + 1, &name, reason, sizeof(reason)) == -E2BIG);
        free(big);
        check(!name, "nothing installed, nothing named");
        tap_end();
        pem_done(&a);
}

static void test_limit(CertStore *s) {
        char reason[256] = "";
        CertInfo *l = NULL;
        size_t n = 0;
        int r = 0;

        tap_begin("/certstore/ca/limit");
        check(certstore_list_ca(s, &l, &n) == 0);
        cert_info_free_many(l, n);
        for (unsigned i = n; r == 0 && i < CERTSTORE_CA_MAX; i++) {
                char cn[32];
                snprintf(cn, sizeof(cn), "CA %u", i);
                Pem p = make_cert(cn, 100 + i);
                r = certstore_install_ca(s, "", p.cert, p.cert_size, NULL, reason, sizeof(reason));
                pem_done(&p);
        }
        check(r == 0, "%s", reason);
        Pem extra = make_cert("one too many", 999);
        check(certstore_check_room_ca(s, extra.cert, extra.cert_size, reason, sizeof(reason)) == -ENOSPC,
              "the room check sees the store full");
        check(certstore_install_ca(s, "", extra.cert, extra.cert_size, NULL, reason, sizeof(reason)) == -ENOSPC);
        check(certstore_install_ca(s, "deskphone-test-CA", extra.cert, extra.cert_size, NULL, reason,
                                   sizeof(reason)) == 0, "replacing one is fine when full: %s", reason);
        pem_done(&extra);
        tap_end();

        tap_begin("/certstore/ca/remove-all-but");
        Pem keep = make_cert("kept", 105);
        unsigned removed = 0;
        char *kept_name = NULL;
        check(certstore_remove_ca(s, "deskphone-test-CA") == 0, "room for one");
        check(certstore_install_ca(s, "", keep.cert, keep.cert_size, &kept_name, reason, sizeof(reason)) == 0,
              "%s", reason);
        check(certstore_remove_all_ca(s, keep.cert, keep.cert_size, &removed) == 0 &&
              removed == CERTSTORE_CA_MAX - 1, "all but the one kept: %u", removed);
        check(certstore_list_ca(s, &l, &n) == 0 && n == 1 && streq(l[0].name, "kept"), "%zu", n);
        cert_info_free_many(l, n);
        free(kept_name);
        pem_done(&keep);
        tap_end();

        tap_begin("/certstore/ca/remove-all");
        _cleanup_(freep) char *bundle_path = strjoin(dir, "/" CERTSTORE_CA_BUNDLE, NULL);
        check(access(bundle_path, F_OK) == 0, "the bundle is there");
        check(certstore_remove_all_ca(s, NULL, 0, &removed) == 0 && removed == 1, "%u", removed);
        check(certstore_list_ca(s, &l, &n) == 0 && n == 0, "%zu", n);
        cert_info_free_many(l, n);
        check(access(bundle_path, F_OK) < 0, "no CA, no bundle");
        check(certstore_remove_all_ca(s, NULL, 0, &removed) == 0 && removed == 0);
        tap_end();
}

static void test_check(void) {
        Pem a = make_cert("x", 10), b = make_cert("y", 11);
        _cleanup_(freep) char *two = malloc(a.cert_size + b.cert_size + 1);
        char reason[256] = "";
        unsigned n = 0;

        memcpy(two, a.cert, a.cert_size);
        memcpy(two + a.cert_size, b.cert, b.cert_size);
        tap_begin("/certstore/ca/check");
        check(certstore_check_ca(two, a.cert_size + b.cert_size, &n, reason, sizeof(reason)) == 0 && n == 2, "%u", n);
        check(certstore_check_ca("hello", 5, &n, reason, sizeof(reason)) == -EINVAL && strstr(reason, "not a PEM"));
        tap_end();
        pem_done(&a);
        pem_done(&b);
}

static void test_device(CertStore *s) {
        Pem a = make_cert("phone-a", 500), b = make_cert("phone-b", 501);
        _cleanup_(freep) char *key_path = strjoin(dir, "/certs/device.key", NULL);
        CertPem cert = {}, key = {};
        char reason[256] = "";

        tap_begin("/certstore/device");
        check(certstore_read_device(s, &cert, &key) == -ENOENT, "none yet");
        check(certstore_install_device(s, a.cert, a.cert_size, b.key, b.key_size, reason, sizeof(reason)) == -EINVAL);
        check(strstr(reason, "does not belong"), "%s", reason);
        check(certstore_install_device(s, a.cert, a.cert_size, a.key, a.key_size, reason, sizeof(reason)) == 0,
              "%s", reason);
        check(mode_of(key_path) == 0600, "%o", (unsigned) mode_of(key_path));
        check(certstore_read_device(s, &cert, &key) == 0);
        check(cert.pem && strstr(cert.pem, "BEGIN CERTIFICATE") && key.pem && strstr(key.pem, "BEGIN PRIVATE KEY"),
              "PKCS#8");
        cert_pem_done(&cert);
        cert_pem_done(&key);
        /* a key that is not the certificate's, as a crash between the two writes could leave */
        check(write_file_atomic(key_path, b.key, b.key_size, 0600) == 0);
        check(certstore_read_device(s, &cert, &key) == -ENOENT, "a pair that does not match is none");
        tap_end();

        /* Yealink's server certificate file: the certificate and its key in one PEM */
        _cleanup_(freep) char *both = malloc(b.cert_size + b.key_size + 1);
        _cleanup_(freep) char *tls_path = strjoin(dir, "/" CERTSTORE_DEVICE_TLS, NULL), *tls = NULL;
        size_t tls_size = 0;
        memcpy(both, b.cert, b.cert_size);
        memcpy(both + b.cert_size, b.key, b.key_size);
        tap_begin("/certstore/device/one-file");
        check(certstore_check_device(both, b.cert_size + b.key_size, both, b.cert_size + b.key_size, reason,
                                     sizeof(reason)) == 0, "%s", reason);
        check(certstore_check_device(a.cert, a.cert_size, a.cert, a.cert_size, reason, sizeof(reason)) == -EINVAL);
        check(strstr(reason, "not an unencrypted PEM private key"), "no key: %s", reason);
        check(certstore_install_device(s, both, b.cert_size + b.key_size, both, b.cert_size + b.key_size, reason,
                                       sizeof(reason)) == 0, "%s", reason);
        check(certstore_install_device(s, both, b.cert_size + b.key_size, both, b.cert_size + b.key_size, reason,
                                       sizeof(reason)) == 1, "the same again: unchanged");
        check(read_full_file(tls_path, &tls, &tls_size, 1 << 20) == 0 && mode_of(tls_path) == 0600,
              "the file for libcurl");
        check(tls && strstr(tls, "BEGIN CERTIFICATE") && strstr(tls, "BEGIN PRIVATE KEY"), "certificate and key");
        tap_end();

        tap_begin("/certstore/device/remove");
        check(certstore_remove_device(s) == 0);
        check(certstore_remove_device(s) == -ENOENT);
        check(access(tls_path, F_OK) < 0 && access(key_path, F_OK) < 0, "all gone");
        check(certstore_read_device(s, &cert, &key) == -ENOENT);
        tap_end();
        pem_done(&a);
        pem_done(&b);
}

int main(void) {
        _cleanup_(certstore_freep) CertStore *s = NULL;

        if (!mkdtemp(dir))
                return EXIT_FAILURE;
        test_names();
        tap_begin("/certstore/open");
        check(certstore_open(dir, &s) == 0);
        tap_end();
        if (s) {
                test_install_list_remove(s);
                test_refused(s);
                test_limit(s);
                test_device(s);
        }
        test_check();
        (void) rm_rf(dir);
        return tap_finish();
}
