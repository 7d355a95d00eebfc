/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * sofia-sip's internal TLS interface, for tls-gnutls.c: what sofia passes to
 * its TLS layer and calls it through (tport_tls.h), the exported functions of
 * its transport that only its internal headers declare, and accessors for the
 * few fields of struct tport_s we read and write. Only tls-sofia-abi.c knows
 * the layouts (our own mirror of tport_internal.h, checked against the library
 * at run time); see doc/sofia-tls-abi.md.
 */
#include <stdbool.h>
#include <sys/types.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport.h>

/* tls_issues_t (tport_tls.h): what sofia passes to tls_init_master(). */
typedef struct tls_issues_s {
        unsigned policy;
        unsigned verify_depth;
        unsigned verify_date;
        int configured;
        char *cert;
        char *key;
        char *passphrase;
        char *randFile;
        char *CAfile;
        char *CApath;
        char *cipher;
        int version;
} tls_issues_t;

/* Exported by libsofia-sip-ua, declared only in its internal headers. */
void tport_error_report(tport_t *self, int errcode, su_sockaddr_t const *addr);
void tport_hup_event(tport_t *self);
void tport_close(tport_t *self);
int tport_set_secondary_timer(tport_t *self);
int tport_has_queued(tport_t const *self);
void tport_send_event(tport_t *self);
int tport_wakeup(su_root_magic_t *magic, su_wait_t *w, tport_t *self);

/* ---- the functions sofia calls (tport_tls.h), defined in tls-gnutls.c ---- */

typedef struct tls_s tls_t;

extern const char tls_version[];
tls_t *tls_init_master(tls_issues_t *ti);
tls_t *tls_init_secondary(tls_t *master, int sock, int accept);
void tls_free(tls_t *tls);
int tls_get_socket(tls_t *tls);
ssize_t tls_read(tls_t *tls);
void *tls_read_buffer(tls_t *tls, size_t n);
int tls_want_read(tls_t *tls, int events);
int tls_pending(tls_t const *tls);
int tls_connect(su_root_magic_t *magic, su_wait_t *w, tport_t *self);
ssize_t tls_write(tls_t *tls, void *buf, size_t size);
int tls_want_write(tls_t *tls, int events);
int tls_events(tls_t const *tls, int mask);

/* ---- the ABI check (sip_tls_check_abi() in tls-gnutls.h runs it once) ---- */

/* sip_tls_check_abi() ran and passed. */
bool sofia_abi_ok(void);
/* Logs what differs, refuses TLS from now on; returns -EPROTONOSUPPORT. */
int sofia_abi_fail(const char *what);
/* Pointers only sofia can give us agree with our reading of tp's layout
 * (tp: a secondary, in the socket callback whose wait object is w). */
bool sofia_tport_layout_ok(su_root_magic_t *magic, su_wait_t *w, tport_t *tp);

/* ---- struct tport_s, through our mirror; only after the checks above ---- */

su_socket_t sofia_tport_socket(tport_t *tp);
su_root_t *sofia_tport_root(tport_t *tp);
/* tp_is_connected (tport_is_connected() reads it): set by us once our handshake is done. */
void sofia_tport_set_connected(tport_t *tp, bool verified);
/* tp_events, and the socket's registration with sofia's root */
void sofia_tport_set_events(tport_t *tp, int events);
