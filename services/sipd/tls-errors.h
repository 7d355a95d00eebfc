/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Why TLS connections failed, for tls-gnutls.c: the last failure per
 * host:port, kept for the account's LastError (sip_tls_last_error() in
 * tls-gnutls.h), and the application's error handler.
 */

/* A connection to (or, accepted, from) host:port failed for reason. Only
 * outgoing ones are kept: what a peer does to our listening side stays in
 * the log (and goes to the handler). */
void tls_error_report(const char *host, uint16_t port, const char *reason, bool accepted);
/* A connection to host:port succeeded: forget its failure. */
void tls_error_clear(const char *host, uint16_t port);
