/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/*
 * The phone's certificates, kept by provd and written by nobody else. The
 * store is a generation, <state>/certs/gen-<n>, named by the symbolic link
 * <state>/certs/current (see certstore-gen.c), and holds
 *
 *   ca/<name>.pem     custom CAs (static.security.ca_cert 1 or 2)
 *   device.pem        the device certificate, its chain after it
 *   device.key        its private key
 *
 * and, made from them for libcurl (provisioning over HTTPS) with every change,
 * absent when there is nothing to put in them:
 *
 *   ca-bundle.pem     every custom CA in one file
 *   device-tls.pem    the device certificate, its chain, then its key
 *
 * Directories 0700, files 0600. Every change is atomic: it is made in a copy
 * of the generation, which then replaces it. What is installed is parsed with
 * GnuTLS first and what is stored is GnuTLS's own PEM of it: nothing else of
 * the file given survives. A pair that does not match when read is no device
 * certificate. No loop, no bus.
 */

#define CERTSTORE_CA_MAX 64             /* custom CAs installed at once */
#define CERTSTORE_PEM_MAX (64U * 1024)  /* one file given to install */
#define CERTSTORE_CHAIN_MAX 8           /* certificates in one file */
#define CERTSTORE_NAME_MAX 64

/* Below the state directory: the files for libcurl (see above). */
#define CERTSTORE_CA_DIR "certs/current/ca"
#define CERTSTORE_CA_BUNDLE "certs/current/ca-bundle.pem"
#define CERTSTORE_DEVICE_TLS "certs/current/device-tls.pem"

typedef struct CertStore CertStore;

typedef struct CertInfo {
        char *name;
        char *subject;          /* RFC 4514 distinguished names */
        char *issuer;
        int64_t not_after;      /* seconds since the epoch */
} CertInfo;

typedef struct CertPem {
        char *name;
        char *pem;
        size_t size;
} CertPem;

/* Creates <state_dir>/certs if missing; moves a store from before generations
 * into the first one. */
int certstore_open(const char *state_dir, CertStore **ret);
CertStore *certstore_free(CertStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CertStore *, certstore_free);

/* A PEM file of one or more CA certificates, under name ("": made from the
 * first certificate's common name, unique). The same name replaces what it
 * named. -EINVAL (with reason: not PEM, not a certificate, a bad name),
 * -E2BIG (too large, too many), -ENOSPC (CERTSTORE_CA_MAX installed).
 * 1 when the same CA was installed under that name already (nothing written). */
int certstore_install_ca(CertStore *s, const char *name, const void *pem, size_t size, char **ret_name,
                         char *reason, size_t reason_size);
/* -ENOENT when there is no CA of that name. */
/* Would certstore_install_ca(s, "", ...) find room for this file (-ENOSPC if not)? Nothing written. */
int certstore_check_room_ca(CertStore *s, const void *pem, size_t size, char *reason, size_t reason_size);
int certstore_remove_ca(CertStore *s, const char *name);
/* Every custom CA but one that holds exactly the certificates of keep (may be NULL):
 * what installing keep after removing all would leave, without the churn. *ret_n
 * (may be NULL) says how many were removed. */
int certstore_remove_all_ca(CertStore *s, const void *keep, size_t keep_size, unsigned *ret_n);
/* Would certstore_install_ca() take this file? The same checks, nothing written;
 * *ret_n (may be NULL): the certificates in it. */
int certstore_check_ca(const void *pem, size_t size, unsigned *ret_n, char *reason, size_t reason_size);
/* The installed CAs, sorted by name; for a file of several, its first certificate. */
int certstore_list_ca(CertStore *s, CertInfo **ret, size_t *ret_n);
/* The installed CAs as stored, sorted by name. */
int certstore_read_cas(CertStore *s, CertPem **ret, size_t *ret_n);

/* The device certificate (PEM, the leaf first, its chain after) and its private
 * key (PEM, unencrypted; PKCS#8 or the older forms), which must belong together.
 * Both may be the same file (other PEM blocks are skipped). 1 when exactly these
 * were installed already (nothing written). */
int certstore_install_device(CertStore *s, const void *cert, size_t cert_size, const void *key, size_t key_size,
                             char *reason, size_t reason_size);
/* Would certstore_install_device() take them? The same checks, nothing written. */
int certstore_check_device(const void *cert, size_t cert_size, const void *key, size_t key_size, char *reason,
                           size_t reason_size);
/* -ENOENT when none is installed. */
int certstore_remove_device(CertStore *s);
/* -ENOENT: none installed (or a pair that does not match). The key is secret:
 * the caller wipes it (erase_and_free). */
int certstore_read_device(CertStore *s, CertPem *ret_cert, CertPem *ret_key);

void cert_info_free_many(CertInfo *l, size_t n);
void cert_pem_done(CertPem *p);
void cert_pem_free_many(CertPem *l, size_t n);

/* A name for files and the bus: [A-Za-z0-9][A-Za-z0-9._-]*, at most CERTSTORE_NAME_MAX. */
bool certstore_name_is_valid(const char *name);

/*
 * Several changes as one, for provisioning: certstore_begin() copies the store;
 * the changes after it go to the copy, and reads see it. certstore_prepare()
 * makes the copy durable, naming the configuration store's generation before
 * the run; certstore_commit() makes it the store, certstore_abort() drops it.
 * Without begin every change is one on its own. -EBUSY: begun already.
 */
int certstore_begin(CertStore *s);
int certstore_prepare(CertStore *s, uint64_t config_generation);
int certstore_commit(CertStore *s);
void certstore_abort(CertStore *s);
/* At start, with the configuration store's generation: a copy prepared by a
 * run that died before its commit becomes the store if the configuration got
 * past the generation it named (the run's configuration was applied), else is
 * dropped. Also removes what an interrupted change left. */
int certstore_recover(CertStore *s, uint64_t config_generation);
