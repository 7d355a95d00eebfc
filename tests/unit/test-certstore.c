/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* provd's certificate store (services/provd/certstore.c) in a temporary directory,
 * with certificates and keys made here with GnuTLS. */
#include <gnutls/gnutls.h>
#include <dirent.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
        path = strjoin(dir, "/certs/current/ca/mine.pem", NULL);
        check(mode_of(path) == 0600, "%o", (unsigned) mode_of(path));
        free(path);
        path = strjoin(dir, "/certs/current/ca", NULL);
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
        _cleanup_(freep) char *key_path = strjoin(dir, "/certs/current/device.key", NULL);
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
        _cleanup_(freep) char *real_key = realpath(key_path, NULL); /* write_file_atomic() follows no link */
        check(real_key && write_file_atomic(real_key, b.key, b.key_size, 0600) == 0);
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

/* ---- generations ---- */

static unsigned n_generations(const char *root) {
        DIR *d = opendir(root);
        struct dirent *de;
        unsigned n = 0;

        while (d && (de = readdir(d)))
                n += startswith(de->d_name, "gen-") != NULL;
        if (d)
                closedir(d);
        return n;
}

static size_t n_cas(CertStore *s) {
        CertInfo *l = NULL;
        size_t n = 0;

        if (certstore_list_ca(s, &l, &n) < 0)
                return (size_t) -1;
        cert_info_free_many(l, n);
        return n;
}

/* A provisioning run that dies after certstore_prepare(): a child that does the
 * changes and exits without commit or abort. */
static bool die_prepared(const char *state, const Pem *ca, const Pem *device, uint64_t config_generation) {
        pid_t pid = fork();

        if (pid == 0) {
                CertStore *s = NULL;
                bool ok = certstore_open(state, &s) == 0 && certstore_begin(s) == 0 &&
                          certstore_install_ca(s, "", ca->cert, ca->cert_size, NULL, NULL, 0) == 0 &&
                          certstore_install_device(s, device->cert, device->cert_size, device->key, device->key_size,
                                                   NULL, 0) == 0 &&
                          certstore_prepare(s, config_generation) == 0;
                _exit(ok ? 0 : 1);
        }
        int status;
        return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_generations(void) {
        char state[] = "/tmp/test-certstore-gen-XXXXXX";
        Pem a = make_cert("gen CA", 600), d = make_cert("gen phone", 601);
        CertPem cert = {}, key = {};

        if (!mkdtemp(state))
                return;
        _cleanup_(freep) char *root = strjoin(state, "/certs", NULL);
        char *bundle = strjoin(state, "/" CERTSTORE_CA_BUNDLE, NULL);

        tap_begin("/certstore/generation/abort");
        CertStore *s = NULL;
        check(certstore_open(state, &s) == 0);
        check(certstore_begin(s) == 0);
        check(certstore_begin(s) == -EBUSY, "one change at a time");
        check(certstore_install_ca(s, "", a.cert, a.cert_size, NULL, NULL, 0) == 0);
        check(n_cas(s) == 1, "the change sees itself");
        check(access(bundle, F_OK) < 0, "nothing reaches the files for libcurl before the commit");
        certstore_abort(s);
        check(n_cas(s) == 0, "dropped");
        check(n_generations(root) == 1, "%u generations", n_generations(root));
        tap_end();

        tap_begin("/certstore/generation/commit");
        check(certstore_begin(s) == 0);
        check(certstore_install_ca(s, "", a.cert, a.cert_size, NULL, NULL, 0) == 0);
        check(certstore_install_device(s, d.cert, d.cert_size, d.key, d.key_size, NULL, 0) == 0);
        check(certstore_prepare(s, 7) == 0);
        check(certstore_commit(s) == 0);
        check(n_cas(s) == 1 && certstore_read_device(s, &cert, &key) == 0, "both");
        cert_pem_done(&cert);
        cert_pem_done(&key);
        check(access(bundle, R_OK) == 0, "the CA bundle");
        check(n_generations(root) == 1, "%u generations: the old one is gone", n_generations(root));
        /* one change on its own is a generation too */
        check(certstore_remove_ca(s, "gen-CA") == 0);
        check(certstore_remove_device(s) == 0);
        check(n_cas(s) == 0 && access(bundle, F_OK) < 0, "removed");
        check(n_generations(root) == 1, "%u generations", n_generations(root));
        certstore_free(s);
        tap_end();

        /* a run that died before its configuration changed: the certificates stay as they were */
        tap_begin("/certstore/generation/recover-drop");
        check(die_prepared(state, &a, &d, 41), "the child's changes");
        check(n_generations(root) == 2, "%u generations", n_generations(root));
        s = NULL;
        check(certstore_open(state, &s) == 0);
        check(n_cas(s) == 0, "the store before recovery is the old one");
        check(certstore_recover(s, 41) == 0);
        check(n_cas(s) == 0 && certstore_read_device(s, &cert, &key) == -ENOENT, "dropped");
        check(n_generations(root) == 1, "%u generations", n_generations(root));
        certstore_free(s);
        tap_end();

        /* it died after: the certificates go with the configuration */
        tap_begin("/certstore/generation/recover-forward");
        check(die_prepared(state, &a, &d, 41), "the child's changes");
        s = NULL;
        check(certstore_open(state, &s) == 0);
        check(certstore_recover(s, 42) == 0);
        check(n_cas(s) == 1 && certstore_read_device(s, &cert, &key) == 0, "finished");
        cert_pem_done(&cert);
        cert_pem_done(&key);
        check(access(bundle, R_OK) == 0, "the CA bundle");
        check(n_generations(root) == 1, "%u generations", n_generations(root));
        certstore_free(s);
        tap_end();
        (void) rm_rf(state);

        /* a store from before generations */
        tap_begin("/certstore/generation/migrate");
        memcpy(state + strlen(state) - 6, "XXXXXX", 6);
        check(mkdtemp(state) != NULL);
        _cleanup_(freep) char *old_ca = strjoin(state, "/certs/ca", NULL), *old_pem = strjoin(old_ca, "/old.pem", NULL);
        _cleanup_(freep) char *old_cert = strjoin(state, "/certs/device.pem", NULL),
                              *old_key = strjoin(state, "/certs/device.key", NULL),
                              *old_bundle = strjoin(state, "/certs/ca-bundle.pem", NULL);
        check(mkdir_p(old_ca, 0700) == 0);
        check(write_file_atomic(old_pem, a.cert, a.cert_size, 0600) == 0);
        check(write_file_atomic(old_cert, d.cert, d.cert_size, 0600) == 0);
        check(write_file_atomic(old_key, d.key, d.key_size, 0600) == 0);
        check(write_file_atomic(old_bundle, a.cert, a.cert_size, 0600) == 0);
        s = NULL;
        check(certstore_open(state, &s) == 0);
        check(n_cas(s) == 1 && certstore_read_device(s, &cert, &key) == 0, "kept");
        cert_pem_done(&cert);
        cert_pem_done(&key);
        check(access(old_ca, F_OK) < 0 && access(old_cert, F_OK) < 0 && access(old_bundle, F_OK) < 0,
              "moved into the first generation");
        free(bundle);
        bundle = strjoin(state, "/" CERTSTORE_CA_BUNDLE, NULL);
        check(access(bundle, R_OK) == 0, "the CA bundle, remade");
        certstore_free(s);
        (void) rm_rf(state);
        tap_end();
        free(bundle);
        pem_done(&a);
        pem_done(&d);
}

/* What a review found: a CA named like a temporary file, a commit that fails, a
 * "current" that is no link. */
static void test_repairs(void) {
        char state[] = "/tmp/test-certstore-fix-XXXXXX";
        Pem a = make_cert("fix CA", 700), b = make_cert("other CA", 701);
        CertStore *s = NULL;

        if (!mkdtemp(state))
                return;
        _cleanup_(freep) char *tmp = strjoin(state, "/certs/current.tmp", NULL),
                              *blocker = strjoin(state, "/certs/current.tmp/x", NULL),
                              *current = strjoin(state, "/certs/current", NULL);

        tap_begin("/certstore/generation/tmp-in-a-name");
        check(certstore_open(state, &s) == 0);
        check(certstore_install_ca(s, "corp.tmp-root", a.cert, a.cert_size, NULL, NULL, 0) == 0);
        check(certstore_install_ca(s, "other", b.cert, b.cert_size, NULL, NULL, 0) == 0);
        check(n_cas(s) == 2, "%zu CAs: the one named like a temporary file survives the next change", n_cas(s));
        tap_end();

        tap_begin("/certstore/generation/commit-fails");
        /* "current.tmp" a directory with something in it: the new link cannot be made */
        check(mkdir_p(tmp, 0700) == 0 && write_file_atomic(blocker, "x", 1, 0600) == 0);
        check(certstore_begin(s) == 0);
        check(certstore_remove_ca(s, "other") == 0);
        check(certstore_prepare(s, 3) == 0);
        check(certstore_commit(s) < 0, "the commit fails");
        check(n_cas(s) == 2, "the store is the one before");
        check(certstore_install_ca(s, "more", b.cert, b.cert_size, NULL, NULL, 0) == -EIO, "and takes no changes");
        certstore_free(s);
        (void) rm_rf(tmp);
        s = NULL;
        check(certstore_open(state, &s) == 0 && certstore_recover(s, 4) == 0);
        check(n_cas(s) == 1, "the next start finishes it: %zu CAs", n_cas(s));
        check(certstore_install_ca(s, "more", b.cert, b.cert_size, NULL, NULL, 0) == 0, "and takes changes again");
        certstore_free(s);
        tap_end();

        tap_begin("/certstore/generation/damaged-current");
        check(unlink(current) == 0 && write_file_atomic(current, "junk", 4, 0600) == 0);
        s = NULL;
        check(certstore_open(state, &s) == 0, "opens");
        check(n_cas(s) == 2, "with the generation there was: %zu CAs", n_cas(s));
        certstore_free(s);
        tap_end();
        (void) rm_rf(state);
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
        test_generations();
        test_repairs();
        (void) rm_rf(dir);
        return tap_finish();
}
