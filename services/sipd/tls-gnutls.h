/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tls-verify.h"

/*
 * SIP over TLS through GnuTLS, for Debian's sofia-sip.
 *
 * tls-gnutls.c defines the functions of sofia-sip's internal TLS layer
 * (tls_init_master, tls_connect, tls_read, ...). The sipd executable exports
 * them (see doc/sofia-tls-abi.md), so the dynamic linker binds sofia's TLS
 * transport to them instead of sofia's own OpenSSL code. This header is what
 * the rest of sipd uses; sofia's internals stay inside tls-gnutls.c and
 * tls-sofia-abi.{c,h}.
 *
 * Single-threaded: sofia must run in the thread that calls these functions
 * (su_root_threading(root, 0) before nua_create(), as sipd does).
 */

typedef struct SipTlsConfig {
        TlsPolicy policy;
        /* The phone's certificate (PEM, may hold its chain) and private key. The
         * TLS listening side (sip.tls_listen_port) needs them; NULL: no server side. */
        const char *device_cert;
        const char *device_key;
        /* Or the same in memory (PEM), when device_cert is NULL. */
        gnutls_datum_t device_cert_pem;
        gnutls_datum_t device_key_pem;
        /* static.security.dev_cert = 1: present the device certificate to servers
         * that ask for one (mutual TLS). */
        bool client_cert;
} SipTlsConfig;

/* Checks that the installed sofia-sip is the one whose internals this file was
 * written for, then loads the configuration. Call before nua_create() (or the
 * first TLS connection uses the defaults: system CAs, name check, no device
 * certificate), and again on every change of a key above: new connections use
 * the new configuration, open ones keep theirs.
 * -EPROTONOSUPPORT: sofia-sip is not the pinned version; TLS is refused
 * (never handed to sofia's OpenSSL code). -ENOENT/-EINVAL...: the device
 * certificate or key cannot be loaded (the previous configuration stays). */
int sip_tls_configure(const SipTlsConfig *config);
/* Frees the configuration (open connections keep what they use). */
void sip_tls_shutdown(void);
/* 0 when sofia-sip's internals are those we know, -EPROTONOSUPPORT otherwise. */
int sip_tls_check_abi(void);

/* Closes every connection we opened (not those peers opened to us), so that
 * the next request opens a new one, verified with the configuration current
 * then. What waited on a closed connection fails (503). Returns how many. */
unsigned sip_tls_close_client_connections(void);
/* The same for the connections we opened to host:port only (port 0: any
 * port), compared as sip_tls_last_error() does: a server found dead (its
 * keep-alive unanswered), so that the next request does not queue behind
 * the dead connection until its transaction times out. Returns how many. */
unsigned sip_tls_close_connections_to(const char *host, uint16_t port);

/* Why the last TLS connection to host:port failed, if it failed at or after
 * since_usec (CLOCK_MONOTONIC, µs) and no connection to host:port succeeded
 * since. host is the host of the URI sofia connected to (the registrar, or
 * the outbound proxy), compared case-insensitively; port 0 matches any port.
 * The reason is a short phrase ("unknown CA", "name mismatch", "expired", "not
 * yet valid", "revoked", "bad signature", "self-signed", "handshake timed
 * out", "connection refused", ...), returned in a new string.
 * -ENOENT: nothing recorded. */
int sip_tls_last_error(const char *host, uint16_t port, uint64_t since_usec, char **ret_reason);

/* Failures as they happen, before sofia reports them (as 503) to the transaction.
 * host and port as above; accepted: an incoming connection (the listening side). */
typedef void (*SipTlsErrorHandler)(const char *host, uint16_t port, const char *reason, bool accepted,
                                   void *userdata);
void sip_tls_set_error_handler(SipTlsErrorHandler handler, void *userdata);

/* What went through this code, for logs and for the test that proves no SIP
 * TLS handshake is done by OpenSSL any more. */
typedef struct SipTlsStats {
        unsigned init_master;           /* TLS transports sofia created through us */
        unsigned sessions;              /* connections (both directions) */
        unsigned handshakes;            /* completed, verified as configured */
        unsigned failures;              /* handshakes refused or failed */
        unsigned write_blocked;         /* times a write found the socket full (and resumed later) */
        uint64_t last_handshake_usec;   /* duration of the last completed handshake */
        char last_session[128];         /* gnutls_session_get_desc() of the last one */
        char last_server_name[256];     /* SNI we sent on it ("" for an IP address) */
} SipTlsStats;

void sip_tls_get_stats(SipTlsStats *ret);
