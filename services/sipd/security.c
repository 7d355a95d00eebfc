/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SIP over TLS, seen from the manager: what tls-gnutls.c verifies servers with
 * (static.security.*, the custom CAs, the device certificate), applied before
 * the stack starts and again whenever it changes.
 *
 * A new trust set must not be undercut by a connection verified with the old
 * one (sofia reuses a connection by address and port): on a change, the
 * connections we opened are closed, and every account registered (or failed)
 * over TLS registers again, on a new connection, verified anew.
 */
#include "certificates.h"
#include "log.h"
#include "sipd.h"
#include "tls-gnutls.h"
#include "util.h"

/* The settings, and provd's custom CAs and device certificate (which must stay
 * unchanged until sip_tls_configure() has copied them). */
static void tls_config_from(const Manager *m, SipTlsConfig *ret) {
        const SecuritySettings *s = &m->settings.security;
        const gnutls_datum_t *cas;
        gnutls_datum_t cert, key;
        size_t n_cas;

        certificates_get(m->certs, &cas, &n_cas, &cert, &key);
        *ret = (SipTlsConfig) {
                .policy = {
                        .trust_certificates = s->trust_certificates,
                        .ca_cert = s->ca_cert < _TLS_CA_MAX ? (TlsCaSet) s->ca_cert : TLS_CA_BOTH,
                        .cn_validation = s->cn_validation,
                        .custom_ca_dir = s->ca_dir && *s->ca_dir ? s->ca_dir : NULL,
                        .custom_cas = cas,
                        .n_custom_cas = n_cas,
                },
                .device_cert_pem = cert,
                .device_key_pem = key,
                .client_cert = s->dev_cert,
        };
}

static int security_copy(const SecuritySettings *from, SecuritySettings *to) {
        char *dir = strdup(from->ca_dir ?: "");

        if (!dir)
                return -ENOMEM;
        free(to->ca_dir);
        *to = *from;
        to->ca_dir = dir;
        return 0;
}

int manager_configure_tls(Manager *m) {
        SipTlsConfig c;

        if (m->tls_configured && security_settings_same(&m->tls_applied, &m->settings.security) &&
            m->tls_certs_generation == certificates_generation(m->certs))
                return 0;
        tls_config_from(m, &c);
        int r = sip_tls_configure(&c);
        if (r == -EPROTONOSUPPORT) {
                /* logged by tls-gnutls.c; TLS accounts fail at once, the rest goes on */
                m->tls_unsupported = true;
                m->tls_configured = true;
                return r;
        }
        if (r < 0)
                return log_warning_errno(r, "Cannot apply the SIP TLS settings, keeping the previous ones: %m");
        r = security_copy(&m->settings.security, &m->tls_applied);
        if (r < 0)
                return log_oom();
        m->tls_generation++;
        m->tls_certs_generation = certificates_generation(m->certs);
        bool first = !m->tls_configured;
        m->tls_configured = true;
        if (first || !sip_stack_is_listening(m->stack))
                return 0;
        /* Connections verified with the old configuration go now, before any
         * account sends again; manager_tls_restart_accounts() follows. */
        unsigned n = sip_tls_close_client_connections();
        log_info("SIP TLS settings changed: %u connection(s) closed, TLS accounts register again", n);
        return 1;
}

void manager_tls_restart_accounts(Manager *m) {
        for (unsigned i = 0; i < SIPD_N_ACCOUNTS; i++)
                account_on_tls_changed(m->accounts[i]);
}

/* provd answered: the first time, TLS accounts waiting for it may start; later,
 * a new trust set or device certificate applies as a new configuration does. */
void manager_on_certificates(Manager *m) {
        if (m->stopping || !m->have_settings)
                return; /* apply_settings() configures TLS, with them */
        (void) manager_configure_tls(m);
        manager_tls_restart_accounts(m);
}

bool manager_tls_ready(Manager *m) {
        return certificates_ready(m->certs);
}

void manager_tls_done(Manager *m) {
        free(m->tls_applied.ca_dir);
        m->tls_applied = (SecuritySettings) {};
        sip_tls_shutdown();
}

/* "TLS: name mismatch", when the last TLS connection to host:port since since_usec failed. */
int manager_tls_reason(Manager *m, const char *host, unsigned port, uint64_t since_usec, char **ret) {
        _cleanup_(freep) char *reason = NULL;

        if (m->tls_unsupported)
                return -EPROTONOSUPPORT;
        int r = sip_tls_last_error(host, port <= UINT16_MAX ? (uint16_t) port : 0, since_usec, &reason);
        if (r < 0)
                return r;
        char *s = strjoin("TLS: ", reason, NULL);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
