/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The last TLS failure per host:port, for the account's LastError ("503 TLS:
 * name mismatch"): a small table, the oldest entry replaced when it is full.
 */
#include <strings.h>

#include "tls-errors.h"
#include "tls-gnutls.h"
#include "util.h"

#define TLS_N_ERRORS 16                 /* host:port entries remembered for sip_tls_last_error() */

typedef struct TlsError {
        char host[256];
        uint16_t port;
        char reason[128];
        uint64_t when;
} TlsError;

static TlsError errors[TLS_N_ERRORS];
static SipTlsErrorHandler error_handler;
static void *error_userdata;

static TlsError *error_find(const char *host, uint16_t port) {
        TlsError *best = NULL;

        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                TlsError *e = &errors[i];

                if (e->when == 0 || strcasecmp(e->host, host) != 0 || (port != 0 && e->port != port))
                        continue;
                if (!best || e->when > best->when)
                        best = e;
        }
        return best;
}

static void error_record(const char *host, uint16_t port, const char *reason) {
        TlsError *e = error_find(host, port);

        if (!e || e->port != port) {
                e = &errors[0];
                for (size_t i = 1; i < ELEMENTSOF(errors); i++)
                        if (errors[i].when < e->when)
                                e = &errors[i];
        }
        snprintf(e->host, sizeof e->host, "%s", host);
        snprintf(e->reason, sizeof e->reason, "%s", reason);
        e->port = port;
        e->when = now_usec();
}

void tls_error_report(const char *host, uint16_t port, const char *reason, bool accepted) {
        /* The table is for accounts: what a peer does to our listening side stays in the log. */
        if (!accepted)
                error_record(host, port, reason);
        if (error_handler)
                error_handler(host, port, reason, accepted, error_userdata);
}

void tls_error_clear(const char *host, uint16_t port) {
        for (size_t i = 0; i < ELEMENTSOF(errors); i++)
                if (errors[i].when != 0 && errors[i].port == port && strcasecmp(errors[i].host, host) == 0)
                        errors[i] = (TlsError) {};
}

int sip_tls_last_error(const char *host, uint16_t port, uint64_t since_usec, char **ret_reason) {
        TlsError *e;
        char *s;

        if (!host || !ret_reason)
                return -EINVAL;
        e = error_find(host, port);
        if (!e || e->when < since_usec)
                return -ENOENT;
        s = strdup(e->reason);
        if (!s)
                return -ENOMEM;
        *ret_reason = s;
        return 0;
}

void sip_tls_set_error_handler(SipTlsErrorHandler handler, void *userdata) {
        error_handler = handler;
        error_userdata = userdata;
}
