/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certstore-internal.h"
#include "certstore-pem.h"
#include "log.h"
#include "util.h"

#define STORED_MAX (CERTSTORE_PEM_MAX * 2) /* GnuTLS's PEM of what we accepted */

int certstore_open(const char *state_dir, CertStore **ret) {
        _cleanup_(certstore_freep) CertStore *s = calloc(1, sizeof(CertStore));

        if (!s)
                return -ENOMEM;
        int r = certstore_gen_open(s, state_dir);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

CertStore *certstore_free(CertStore *s) {
        if (!s)
                return NULL;
        certstore_gen_free(s);
        free(s);
        return NULL;
}

/* A change on its own is a generation of its own; within certstore_begin() ... commit()
 * it is part of that one. */
static int change_begin(CertStore *s, bool *ret_own) {
        *ret_own = s->working == 0;
        return *ret_own ? certstore_begin(s) : 0;
}

/* r: what the change returned; changed: whether it wrote anything */
static int change_end(CertStore *s, bool own, int r, bool changed) {
        if (!own)
                return r;
        if (r < 0 || !changed) {
                certstore_abort(s);
                return r;
        }
        int k = certstore_commit(s);
        if (k < 0) {
                certstore_abort(s);
                return k;
        }
        return r;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_name_char(char c) {
        return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

bool certstore_name_is_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > CERTSTORE_NAME_MAX || !is_alnum(name[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_name_char(name[i]))
                        return false;
        return true;
}

void cert_pem_done(CertPem *p) {
        free(p->name);
        erase_and_free(p->pem);
        *p = (CertPem) {};
}

void cert_pem_free_many(CertPem *l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                cert_pem_done(&l[i]);
        free(l);
}

void cert_info_free_many(CertInfo *l, size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].name);
                free(l[i].subject);
                free(l[i].issuer);
        }
        free(l);
}

/* A file name from the subject's CN: "deskphone test CA" -> "deskphone-test-CA". */
static void name_from_cn(gnutls_x509_crt_t crt, char ret[static CERTSTORE_NAME_MAX + 1]) {
        char cn[256] = "";
        size_t size = sizeof(cn) - 1, k = 0;

        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size) < 0)
                cn[0] = '\0';
        for (const char *p = cn; *p && k < CERTSTORE_NAME_MAX; p++) {
                char c = *p == ' ' ? '-' : *p;
                if (is_name_char(c) && (k > 0 || is_alnum(c)))
                        ret[k++] = c;
        }
        ret[k] = '\0';
        if (k == 0)
                strcpy(ret, "ca");
}

/* ---- the CA directory ---- */

static char *ca_path(CertStore *s, const char *name) {
        return strjoin(s->at->ca_dir, "/", name, ".pem", NULL);
}

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* Names of the installed CAs, sorted. */
static int ca_names(CertStore *s, char ***ret) {
        _cleanup_(strv_freep) char **names = calloc(1, sizeof(char *));
        struct dirent *de;
        int r = 0;

        if (!names)
                return -ENOMEM;
        DIR *d = opendir(s->at->ca_dir);
        if (!d)
                return -errno;
        while (r >= 0 && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (n <= 4 || !streq(de->d_name + n - 4, ".pem"))
                        continue; /* also our temporary files, "<name>.pem.tmp-<pid>" */
                char *name = strndup(de->d_name, n - 4);
                if (!name)
                        r = -ENOMEM;
                else if (!certstore_name_is_valid(name))
                        free(name);
                else
                        r = strv_consume(&names, name);
        }
        closedir(d);
        if (r < 0)
                return r;
        qsort(names, strv_length(names), sizeof(char *), name_compare);
        *ret = TAKE_PTR(names);
        return 0;
}

static int read_ca(CertStore *s, const char *name, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *path = ca_path(s, name);
        return path ? read_full_file(path, ret, ret_size, STORED_MAX) : -ENOMEM;
}

/* A name not used by another CA: name, name-2, name-3 ... (the same CA keeps its own). */
static int unique_name(CertStore *s, const char *base, const char *pem, size_t size, char **ret) {
        for (unsigned i = 1; i < 100; i++) {
                _cleanup_(freep) char *name = NULL, *old = NULL;
                size_t old_size;

                if (i == 1)
                        name = strdup(base);
                else if (asprintf(&name, "%.*s-%u", CERTSTORE_NAME_MAX - 4, base, i) < 0)
                        name = NULL;
                if (!name)
                        return -ENOMEM;
                int r = read_ca(s, name, &old, &old_size);
                if (r == -ENOENT || (r >= 0 && old_size == size && memcmp(old, pem, size) == 0)) {
                        *ret = TAKE_PTR(name);
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        return -EEXIST;
}

/* 1 when the CA of that name is this one already. */
static int ca_is(CertStore *s, const char *name, const char *pem, size_t size) {
        _cleanup_(freep) char *old = NULL;
        size_t old_size;

        int r = read_ca(s, name, &old, &old_size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return old_size == size && memcmp(old, pem, size) == 0;
}

static int check_room(CertStore *s, const char *name, char *reason, size_t reason_size) {
        _cleanup_(strv_freep) char **names = NULL;

        int r = ca_names(s, &names);
        if (r < 0)
                return r;
        if (strv_length(names) >= CERTSTORE_CA_MAX && !strv_contains(names, name))
                return reason_set(reason, reason_size, -ENOSPC, "%u custom CAs are installed already, the most "
                                  "there may be", CERTSTORE_CA_MAX);
        return 0;
}

/* What certstore_install_ca() would write, under which name, if there is room: nothing written. */
static int ca_prepare(CertStore *s, const char *name, const void *pem, size_t size, char **ret_stored,
                      size_t *ret_stored_size, char **ret_name, char *reason, size_t reason_size) {
        _cleanup_(freep) char *stored = NULL, *final = NULL;
        char derived[CERTSTORE_NAME_MAX + 1];
        Certs c = {};
        size_t stored_size;

        if (name && *name && !certstore_name_is_valid(name))
                return reason_set(reason, reason_size, -EINVAL, "'%s' is not a name for a CA: letters, digits, "
                                  "'.', '_' and '-', at most %u", name, CERTSTORE_NAME_MAX);
        int r = certs_parse(pem, size, &c, reason, reason_size);
        if (r < 0)
                return r;
        name_from_cn(c.crts[0], derived);
        r = certs_export(&c, &stored, &stored_size);
        certs_done(&c);
        if (r < 0)
                return reason_set(reason, reason_size, r, "cannot write the certificates out again");
        if (name && *name)
                final = strdup(name);
        else
                r = unique_name(s, derived, stored, stored_size, &final);
        if (r >= 0 && !final)
                r = -ENOMEM;
        if (r >= 0)
                r = check_room(s, final, reason, reason_size);
        if (r < 0)
                return r;
        *ret_stored = TAKE_PTR(stored);
        *ret_stored_size = stored_size;
        *ret_name = TAKE_PTR(final);
        return 0;
}

int certstore_check_room_ca(CertStore *s, const void *pem, size_t size, char *reason, size_t reason_size) {
        _cleanup_(freep) char *stored = NULL, *final = NULL;
        size_t stored_size;

        return ca_prepare(s, NULL, pem, size, &stored, &stored_size, &final, reason, reason_size);
}

static int install_ca(CertStore *s, const char *name, const void *pem, size_t size, char **ret_name, char *reason,
                      size_t reason_size) {
        _cleanup_(freep) char *stored = NULL, *final = NULL, *path = NULL;
        size_t stored_size;

        int r = ca_prepare(s, name, pem, size, &stored, &stored_size, &final, reason, reason_size);
        if (r >= 0)
                r = ca_is(s, final, stored, stored_size);
        if (r == 0)
                r = (path = ca_path(s, final)) ? write_file_atomic(path, stored, stored_size, 0600) : -ENOMEM;
        if (r < 0)
                return r;
        if (r == 0)
                log_info("Installed the custom CA '%s'", final);
        if (ret_name)
                *ret_name = TAKE_PTR(final);
        return r;
}

int certstore_install_ca(CertStore *s, const char *name, const void *pem, size_t size, char **ret_name,
                         char *reason, size_t reason_size) {
        bool own;

        int r = change_begin(s, &own);
        if (r >= 0)
                r = install_ca(s, name, pem, size, ret_name, reason, reason_size);
        return change_end(s, own, r, r == 0);
}

static int remove_ca(CertStore *s, const char *name) {
        _cleanup_(freep) char *path = NULL;

        if (!certstore_name_is_valid(name))
                return -ENOENT;
        path = ca_path(s, name);
        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0)
                return -errno;
        log_info("Removed the custom CA '%s'", name);
        return 0;
}

int certstore_remove_ca(CertStore *s, const char *name) {
        bool own;

        int r = change_begin(s, &own);
        if (r >= 0)
                r = remove_ca(s, name);
        return change_end(s, own, r, r == 0);
}

/* What certstore_install_ca() would store of pem; NULL when it would refuse it. */
static char *stored_form(const void *pem, size_t size, size_t *ret_size) {
        char *stored = NULL;
        Certs c = {};

        if (!pem || certs_parse(pem, size, &c, NULL, 0) < 0)
                return NULL;
        if (certs_export(&c, &stored, ret_size) < 0)
                stored = NULL;
        certs_done(&c);
        return stored;
}

static int remove_all_ca(CertStore *s, const void *keep, size_t keep_size, unsigned *ret_n) {
        _cleanup_(strv_freep) char **names = NULL;
        size_t stored_size = 0;
        _cleanup_(freep) char *stored = stored_form(keep, keep_size, &stored_size);
        bool kept = false;
        unsigned n = 0;

        int r = ca_names(s, &names);
        for (size_t i = 0; r >= 0 && names[i]; i++) {
                _cleanup_(freep) char *path = ca_path(s, names[i]);
                int same = stored && !kept ? ca_is(s, names[i], stored, stored_size) : 0;
                if (same > 0)
                        kept = true;
                else if (!path)
                        r = -ENOMEM;
                else if (unlink(path) < 0 && errno != ENOENT)
                        r = -errno;
                else
                        n++;
        }
        if (n > 0)
                log_info("Removed %u custom CA(s)", n);
        if (r >= 0 && ret_n)
                *ret_n = n;
        return r < 0 ? r : (int) MIN(n, (unsigned) INT_MAX);
}

int certstore_remove_all_ca(CertStore *s, const void *keep, size_t keep_size, unsigned *ret_n) {
        bool own;

        int r = change_begin(s, &own);
        if (r >= 0)
                r = remove_all_ca(s, keep, keep_size, ret_n);
        r = change_end(s, own, r, r > 0);
        return r < 0 ? r : 0;
}

int certstore_check_ca(const void *pem, size_t size, unsigned *ret_n, char *reason, size_t reason_size) {
        Certs c = {};

        int r = certs_parse(pem, size, &c, reason, reason_size);
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = c.n;
        certs_done(&c);
        return 0;
}

static int ca_info(CertStore *s, const char *name, CertInfo *ret) {
        _cleanup_(freep) char *pem = NULL;
        size_t size;
        Certs c = {};

        int r = read_ca(s, name, &pem, &size);
        if (r >= 0)
                r = certs_parse(pem, size, &c, NULL, 0);
        if (r < 0)
                return r;
        *ret = (CertInfo) {
                .name = strdup(name),
                .subject = certs_dn(c.crts[0], false),
                .issuer = certs_dn(c.crts[0], true),
                .not_after = (int64_t) gnutls_x509_crt_get_expiration_time(c.crts[0]),
        };
        certs_done(&c);
        return ret->name && ret->subject && ret->issuer ? 0 : -ENOMEM;
}

int certstore_list_ca(CertStore *s, CertInfo **ret, size_t *ret_n) {
        _cleanup_(strv_freep) char **names = NULL;
        CertInfo *l;
        size_t n = 0;

        int r = ca_names(s, &names);
        if (r < 0)
                return r;
        l = calloc(strv_length(names) + 1, sizeof(CertInfo));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; names[i]; i++) {
                r = ca_info(s, names[i], &l[n]);
                if (r == -ENOMEM) {
                        cert_info_free_many(l, n + 1);
                        return r;
                }
                if (r < 0)
                        log_warning_errno(r, "Custom CA '%s' cannot be read, ignoring: %m", names[i]);
                else
                        n++;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int certstore_read_cas(CertStore *s, CertPem **ret, size_t *ret_n) {
        _cleanup_(strv_freep) char **names = NULL;
        CertPem *l;
        size_t n = 0;

        int r = ca_names(s, &names);
        if (r < 0)
                return r;
        l = calloc(strv_length(names) + 1, sizeof(CertPem));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; names[i]; i++) {
                r = read_ca(s, names[i], &l[n].pem, &l[n].size);
                if (r == -ENOENT)
                        continue; /* removed meanwhile */
                if (r < 0 || !(l[n].name = strdup(names[i]))) {
                        cert_pem_free_many(l, n + 1);
                        return r < 0 ? r : -ENOMEM;
                }
                n++;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

/* ---- the device certificate ---- */

static char *device_path(CertStore *s, const char *what) {
        return strjoin(s->at->dir, "/device.", what, NULL);
}

/* Does the file hold exactly this? */
static bool file_is(const char *path, const void *data, size_t size) {
        _cleanup_(erase_and_freep) char *old = NULL;
        size_t old_size;

        return read_full_file(path, &old, &old_size, STORED_MAX) >= 0 && old_size == size &&
               memcmp(old, data, size) == 0;
}

/* 1 when these were installed already (nothing written). */
static int write_device(CertStore *s, const Certs *c, gnutls_x509_privkey_t key) {
        _cleanup_(freep) char *cert_path = device_path(s, "pem"), *key_path = device_path(s, "key"), *pem = NULL;
        gnutls_datum_t k = {};
        size_t size;

        if (!cert_path || !key_path)
                return -ENOMEM;
        int r = certs_export(c, &pem, &size);
        if (r < 0)
                return r;
        if (gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &k) < 0)
                return -EINVAL;
        if (file_is(cert_path, pem, size) && file_is(key_path, k.data, k.size)) {
                explicit_bzero(k.data, k.size);
                gnutls_free(k.data);
                return 1;
        }
        r = write_file_atomic(key_path, k.data, k.size, 0600);
        explicit_bzero(k.data, k.size);
        gnutls_free(k.data);
        if (r < 0)
                return r;
        return write_file_atomic(cert_path, pem, size, 0600);
}

static int device_parse(const void *cert, size_t cert_size, const void *key, size_t key_size, Certs *c,
                        gnutls_x509_privkey_t *k, char *reason, size_t reason_size) {
        int r = certs_parse(cert, cert_size, c, reason, reason_size);
        if (r >= 0)
                r = key_parse(key, key_size, k, reason, reason_size);
        if (r >= 0 && !key_matches(c->crts[0], *k))
                r = reason_set(reason, reason_size, -EINVAL, "the key does not belong to the certificate");
        return r;
}

int certstore_check_device(const void *cert, size_t cert_size, const void *key, size_t key_size, char *reason,
                           size_t reason_size) {
        gnutls_x509_privkey_t k = NULL;
        Certs c = {};

        int r = device_parse(cert, cert_size, key, key_size, &c, &k, reason, reason_size);
        certs_done(&c);
        key_done(&k);
        return r;
}

static int install_device(CertStore *s, const void *cert, size_t cert_size, const void *key, size_t key_size,
                          char *reason, size_t reason_size) {
        gnutls_x509_privkey_t k = NULL;
        Certs c = {};

        int r = device_parse(cert, cert_size, key, key_size, &c, &k, reason, reason_size);
        if (r >= 0) {
                r = write_device(s, &c, k);
                if (r < 0)
                        reason_set(reason, reason_size, r, "cannot write it: %s", strerror(-r));
        }
        certs_done(&c);
        key_done(&k);
        if (r == 0)
                log_info("Installed a new device certificate");
        return r;
}

int certstore_install_device(CertStore *s, const void *cert, size_t cert_size, const void *key, size_t key_size,
                             char *reason, size_t reason_size) {
        bool own;

        int r = change_begin(s, &own);
        if (r >= 0)
                r = install_device(s, cert, cert_size, key, key_size, reason, reason_size);
        return change_end(s, own, r, r == 0);
}

static int remove_device(CertStore *s) {
        _cleanup_(freep) char *cert_path = device_path(s, "pem"), *key_path = device_path(s, "key");
        bool had;

        if (!cert_path || !key_path)
                return -ENOMEM;
        had = access(cert_path, F_OK) >= 0;
        /* the certificate first: a key alone is no device certificate */
        if ((unlink(cert_path) < 0 && errno != ENOENT) || (unlink(key_path) < 0 && errno != ENOENT))
                return -errno;
        if (!had)
                return -ENOENT;
        log_info("Removed the device certificate");
        return 0;
}

int certstore_remove_device(CertStore *s) {
        bool own;

        int r = change_begin(s, &own);
        if (r >= 0)
                r = remove_device(s);
        return change_end(s, own, r, r == 0);
}

int certstore_read_device(CertStore *s, CertPem *ret_cert, CertPem *ret_key) {
        _cleanup_(freep) char *cert_path = device_path(s, "pem"), *key_path = device_path(s, "key");
        CertPem cert = {}, key = {};
        gnutls_x509_privkey_t k = NULL;
        Certs c = {};

        if (!cert_path || !key_path)
                return -ENOMEM;
        int r = read_full_file(cert_path, &cert.pem, &cert.size, STORED_MAX);
        if (r >= 0)
                r = read_full_file(key_path, &key.pem, &key.size, STORED_MAX);
        if (r >= 0)
                r = certs_parse(cert.pem, cert.size, &c, NULL, 0);
        if (r >= 0)
                r = key_parse(key.pem, key.size, &k, NULL, 0);
        if (r >= 0 && !key_matches(c.crts[0], k)) {
                log_warning("The device certificate and its key do not match, ignoring them");
                r = -ENOENT;
        }
        certs_done(&c);
        key_done(&k);
        if (r >= 0 && (!(cert.name = strdup("device")) || !(key.name = strdup("device"))))
                r = -ENOMEM;
        if (r < 0) {
                cert_pem_done(&cert);
                cert_pem_done(&key);
                return r == -ENOENT || r == -EINVAL ? -ENOENT : r;
        }
        *ret_cert = cert;
        *ret_key = key;
        return 0;
}

/* ---- the files for libcurl ---- */

static int remove_file(const char *path) {
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int bundle_rebuild(CertStore *s) {
        _cleanup_(freep) char *bundle = NULL;
        CertPem *l = NULL;
        size_t n = 0, size = 0;

        int r = certstore_read_cas(s, &l, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char *b = realloc(bundle, size + l[i].size + 2);
                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                bundle = b;
                memcpy(bundle + size, l[i].pem, l[i].size);
                size += l[i].size;
                if (size > 0 && bundle[size - 1] != '\n')
                        bundle[size++] = '\n';
        }
        cert_pem_free_many(l, n); /* NULL, 0 when reading failed */
        if (r >= 0)
                r = size > 0 ? write_file_atomic(s->at->bundle, bundle, size, 0600) : remove_file(s->at->bundle);
        if (r < 0)
                log_warning_errno(r, "Failed to write %s, HTTPS provisioning may not see the custom CAs: %m",
                                  s->at->bundle);
        return r;
}

/* The device certificate and its key in one file: what libcurl's GnuTLS build takes. */
static int device_tls_rebuild(CertStore *s) {
        CertPem cert = {}, key = {};

        int r = certstore_read_device(s, &cert, &key);
        if (r == -ENOENT)
                r = remove_file(s->at->device_tls);
        else if (r >= 0) {
                size_t size = cert.size + key.size;
                char *both = malloc(size + 1);
                if (both) {
                        memcpy(both, cert.pem, cert.size);
                        memcpy(both + cert.size, key.pem, key.size);
                        r = write_file_atomic(s->at->device_tls, both, size, 0600);
                        explicit_bzero(both, size);
                        free(both);
                } else
                        r = -ENOMEM;
                cert_pem_done(&cert);
                cert_pem_done(&key);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to write %s, HTTPS provisioning may not offer the device certificate: %m",
                                  s->at->device_tls);
        return r;
}

int certstore_rebuild(CertStore *s) {
        int r = bundle_rebuild(s), k = device_tls_rebuild(s);
        return r < 0 ? r : k;
}
