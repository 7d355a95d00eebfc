/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sofia-sip's internal TLS layer, implemented with GnuTLS.
 *
 * sofia's TLS transport (tport_type_tls.c) calls a dozen functions of its
 * TLS layer (tport_tls.c, OpenSSL) through the dynamic symbol table. This file
 * defines the same functions; sipd exports them, so the dynamic linker binds
 * sofia's calls here. The contract of each function is in doc/sofia-tls-abi.md.
 * What we know of sofia's internals (its structure layouts, and the run-time
 * checks that the library is the one they were read from) is in
 * tls-sofia-abi.c; the failures kept for the account's LastError in
 * tls-errors.c. Here: the configuration, the sessions, the functions sofia
 * calls and the handshake.
 */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <strings.h>

#include "log.h"
#include "tls-errors.h"
#include "tls-gnutls.h"
#include "tls-sofia-abi.h"
#include "util.h"

#define TLS_READ_BUFFER_SIZE 16384      /* one TLS record */
#define TLS_HANDSHAKE_TIMEOUT_MS 10000  /* a peer that never finishes the handshake */
#define TLS_MAX_SESSIONS 256            /* connections at once, both directions */
#define TLS_RETRIES 16                  /* non-fatal GnuTLS results (warning alerts) in a row */
#define TLS_TRUST_IDLE_USEC (30ULL * 1000000ULL) /* trusted CAs freed after this long unused */
#define TLS_PRIORITY "-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" /* appended to the system's default */

/* sofia_sip_has_tls points here: says who does TLS. */
const char tls_version[] = "GnuTLS (deskphone sipd)";

/* ---- our state ---- */

typedef struct TlsContext {
        unsigned n_ref;
        TlsVerifier *verifier;
        gnutls_certificate_credentials_t client_cred;
        gnutls_certificate_credentials_t server_cred;   /* NULL: no device certificate */
        gnutls_priority_t priority;
} TlsContext;

struct tls_s {
        bool master;
        TlsContext *ctx;
        gnutls_session_t session;
        int fd;
        bool accepted;
        bool handshake_started, handshake_done, write_blocked, layout_checked;
        bool verify_ran;
        TlsVerifyResult verify_result;
        char host[256];         /* outgoing: the URI host (SNI, name check); incoming: peer address */
        uint16_t port;
        char reason[128];       /* why the handshake failed */
        int read_events, write_events;
        uint8_t *read_buffer;
        size_t read_len;
        su_timer_t *timer;
        tport_t *tport;
        uint64_t created_usec, start_usec;
        tls_t *prev, *next;     /* sessions, by fd */
};

static TlsContext *current;             /* what new connections use */
static tls_t *sessions;
static unsigned n_sessions;
static SipTlsStats stats;

/* ---- configuration ---- */

static TlsContext *context_unref(TlsContext *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        tls_verifier_free(c->verifier);
        if (c->client_cred)
                gnutls_certificate_free_credentials(c->client_cred);
        if (c->server_cred)
                gnutls_certificate_free_credentials(c->server_cred);
        if (c->priority)
                gnutls_priority_deinit(c->priority);
        free(c);
        return NULL;
}

static void context_unrefp(TlsContext **c) {
        context_unref(*c);
}

static int verify_server(gnutls_session_t session);

static bool has_device_cert(const SipTlsConfig *c) {
        return (c->device_cert && *c->device_cert) || (!c->device_cert && c->device_cert_pem.size > 0);
}

static int load_device_cert(gnutls_certificate_credentials_t cred, const SipTlsConfig *c) {
        int r;

        if (c->device_cert)
                r = gnutls_certificate_set_x509_key_file2(cred, c->device_cert, c->device_key, GNUTLS_X509_FMT_PEM,
                                                          NULL, 0);
        else
                r = gnutls_certificate_set_x509_key_mem2(cred, &c->device_cert_pem, &c->device_key_pem,
                                                         GNUTLS_X509_FMT_PEM, NULL, 0);
        if (r < 0) {
                log_error("Cannot load the device certificate %s with key %s: %s",
                          c->device_cert ?: "(from provd)", c->device_cert ? strempty(c->device_key) : "(from provd)",
                          gnutls_strerror(r));
                return r == GNUTLS_E_FILE_ERROR ? -ENOENT : -EINVAL;
        }
        return 0;
}

static int context_new(const SipTlsConfig *c, TlsContext **ret) {
        _cleanup_(context_unrefp) TlsContext *ctx = calloc(1, sizeof(TlsContext));
        const char *err = NULL;
        bool has_device = has_device_cert(c);
        int r;

        if (!ctx)
                return -ENOMEM;
        ctx->n_ref = 1;
        r = tls_verifier_new(&c->policy, &ctx->verifier);
        if (r < 0)
                return r;
        r = tls_verifier_release_when_idle(ctx->verifier, NULL, TLS_TRUST_IDLE_USEC);
        if (r < 0)
                log_warning_errno(r, "Cannot set up the release of unused CAs, keeping them once loaded: %m");
        if (gnutls_certificate_allocate_credentials(&ctx->client_cred) < 0)
                return -ENOMEM;
        gnutls_certificate_set_verify_function(ctx->client_cred, verify_server);
        if (has_device) {
                if (gnutls_certificate_allocate_credentials(&ctx->server_cred) < 0)
                        return -ENOMEM;
                r = load_device_cert(ctx->server_cred, c);
                if (r < 0)
                        return r;
                if (c->client_cert) {
                        r = load_device_cert(ctx->client_cred, c);
                        if (r < 0)
                                return r;
                }
        } else if (c->client_cert)
                log_warning("Mutual TLS asked for (static.security.dev_cert=1) but no device certificate is "
                            "installed, connecting without one");
        r = gnutls_priority_init2(&ctx->priority, TLS_PRIORITY, &err, GNUTLS_PRIORITY_INIT_DEF_APPEND);
        if (r < 0) {
                log_error("Invalid TLS priority string at '%s': %s", strempty(err), gnutls_strerror(r));
                return -EINVAL;
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

int sip_tls_configure(const SipTlsConfig *config) {
        TlsContext *ctx;
        int r;

        r = sip_tls_check_abi();
        if (r < 0)
                return r;
        r = context_new(config, &ctx);
        if (r < 0)
                return r;
        if (!config->policy.trust_certificates)
                log_warning("static.security.trust_certificates=0: TLS servers are not authenticated");
        else if (config->policy.ca_cert == TLS_CA_CUSTOM && tls_verifier_n_trusted(ctx->verifier) == 0)
                log_warning("No trusted CA (static.security.ca_cert=%u): every TLS server will be refused",
                            config->policy.ca_cert);
        /* The system CAs are only loaded when a certificate is checked (tls-verify.h). */
        log_info("SIP TLS: CAs %s, name check %s, device certificate %s%s",
                 config->policy.ca_cert == TLS_CA_CUSTOM ? "custom" :
                 config->policy.ca_cert == TLS_CA_SYSTEM ? "system" : "system and custom",
                 config->policy.cn_validation ? "on" : "off",
                 ctx->server_cred ? "loaded" : "none",
                 ctx->server_cred && config->client_cert ? " (mutual TLS)" : "");
        context_unref(current);
        current = ctx;
        return 0;
}

void sip_tls_shutdown(void) {
        current = context_unref(current);
}

static TlsContext *context_get(void) {
        if (!current) {
                SipTlsConfig defaults = {
                        .policy = { .trust_certificates = true, .ca_cert = TLS_CA_SYSTEM, .cn_validation = true },
                };
                if (context_new(&defaults, &current) < 0)
                        return NULL;
                log_notice("SIP TLS used before sip_tls_configure(): "
                           "system CAs, name check, no device certificate");
        }
        current->n_ref++;
        return current;
}

void sip_tls_get_stats(SipTlsStats *ret) {
        *ret = stats;
}

/* ---- sessions ---- */

static void session_link(tls_t *tls) {
        tls->next = sessions;
        if (sessions)
                sessions->prev = tls;
        sessions = tls;
        n_sessions++;
}

static void session_unlink(tls_t *tls) {
        if (tls->prev)
                tls->prev->next = tls->next;
        else if (sessions == tls)
                sessions = tls->next;
        else
                return;
        if (tls->next)
                tls->next->prev = tls->prev;
        tls->prev = tls->next = NULL;
        n_sessions--;
}

/* The newest session on fd: a stale one (fd closed, reused, not yet freed) is older. */
static tls_t *session_find(int fd) {
        for (tls_t *t = sessions; t; t = t->next)
                if (t->fd == fd)
                        return t;
        return NULL;
}

/* Make room: shut down the socket of the oldest connection still in its
 * handshake; sofia sees the hangup and closes it through tls_connect(). */
static void evict_oldest_handshake(void) {
        tls_t *oldest = NULL;

        for (tls_t *t = sessions; t; t = t->next)
                if (!t->handshake_done && (!oldest || t->created_usec < oldest->created_usec))
                        oldest = t;
        if (oldest)
                (void) shutdown(oldest->fd, SHUT_RDWR);
}

tls_t *tls_init_master(tls_issues_t *ti) {
        tls_t *tls;

        /* With internals we do not know, sofia still gets a master (so that binding
         * sips: does not take UDP and TCP down with it) but no connection at all:
         * tls_init_secondary() refuses each, and sofia fails its request at once. */
        (void) sip_tls_check_abi();
        /* sofia's certificate directory (TPTAG_CERTIFICATE) and verify tags are
         * not used: the configuration comes from sip_tls_configure(). */
        if (ti && ti->configured)
                log_debug("Ignoring sofia's TLS settings (certificate directory %s)", strempty(ti->CApath));
        tls = calloc(1, sizeof *tls);
        if (!tls) {
                errno = ENOMEM;
                return NULL;
        }
        tls->master = true;
        tls->fd = -1;
        stats.init_master++;
        return tls;
}

static int session_setup(tls_t *tls, gnutls_certificate_credentials_t cred) {
        unsigned flags = (tls->accepted ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;

        if (gnutls_init(&tls->session, flags) < 0)
                return -ENOMEM;
        if (gnutls_priority_set(tls->session, tls->ctx->priority) < 0 ||
            gnutls_credentials_set(tls->session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
                return -EINVAL;
        if (tls->accepted)
                gnutls_certificate_server_set_request(tls->session, GNUTLS_CERT_IGNORE);
        gnutls_transport_set_int(tls->session, tls->fd);
        gnutls_session_set_ptr(tls->session, tls);
        return 0;
}

static tls_t *secondary_new(int sock, bool accepted) {
        tls_t *tls = calloc(1, sizeof *tls);
        int fl;

        if (!tls)
                return NULL;
        tls->fd = sock;
        tls->accepted = accepted;
        tls->created_usec = now_usec();
        tls->ctx = context_get();
        tls->read_buffer = malloc(TLS_READ_BUFFER_SIZE);
        if (!tls->ctx || !tls->read_buffer)
                goto fail;
        if (accepted && !tls->ctx->server_cred) {
                log_warning("Incoming TLS connection refused: no device certificate installed");
                goto fail;
        }
        if (session_setup(tls, accepted ? tls->ctx->server_cred : tls->ctx->client_cred) < 0)
                goto fail;
        fl = fcntl(sock, F_GETFL);
        if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0)
                goto fail;
        return tls;
fail:
        tls_free(tls);
        return NULL;
}

tls_t *tls_init_secondary(tls_t *master, int sock, int accept) {
        tls_t *tls;

        if (!sofia_abi_ok() || !master || sock < 0) {
                errno = !sofia_abi_ok() ? EPROTONOSUPPORT : EINVAL;
                return NULL;
        }
        if (n_sessions >= TLS_MAX_SESSIONS) {
                log_warning("Too many TLS connections (%u), refusing another", n_sessions);
                evict_oldest_handshake();
                errno = EMFILE;
                return NULL;
        }
        tls = secondary_new(sock, accept != 0);
        if (!tls) {
                errno = EIO;
                return NULL;
        }
        session_link(tls);
        stats.sessions++;
        return tls;
}

void tls_free(tls_t *tls) {
        if (!tls)
                return;
        session_unlink(tls);
        if (tls->timer)
                su_timer_destroy(tls->timer);
        if (tls->session) {
                if (tls->handshake_done)
                        (void) gnutls_bye(tls->session, GNUTLS_SHUT_WR);
                gnutls_deinit(tls->session);
        }
        context_unref(tls->ctx);
        free(tls->read_buffer);
        free(tls);
}

int tls_get_socket(tls_t *tls) {
        return tls ? tls->fd : -1;
}

/* Closes the connections we opened (host NULL: all, else to host:port; port 0: any). */
static unsigned close_client_connections(const char *host, uint16_t port) {
        tport_t *tports[TLS_MAX_SESSIONS];
        unsigned n = 0;

        /* first collect: closing frees the session (tls_free() unlinks it) */
        for (tls_t *t = sessions; t && n < ELEMENTSOF(tports); t = t->next) {
                if (t->accepted || !t->tport || tport_is_closed(t->tport))
                        continue;
                if (host && (strcasecmp(t->host, host) != 0 || (port != 0 && t->port != port)))
                        continue;
                tports[n++] = t->tport;
        }
        for (unsigned i = 0; i < n; i++)
                (void) tport_shutdown(tports[i], 2);
        return n;
}

unsigned sip_tls_close_client_connections(void) {
        return close_client_connections(NULL, 0);
}

unsigned sip_tls_close_connections_to(const char *host, uint16_t port) {
        return host ? close_client_connections(host, port) : 0;
}

/* ---- reading and writing, once connected ---- */

static void handshake_reason(tls_t *tls, int r);

/* A connection that dies after the handshake: with TLS 1.3 a server refuses a
 * client certificate (or its absence) only then. Kept for LastError as well. */
static void connection_error(tls_t *tls, int r) {
        handshake_reason(tls, r);
        log_warning("TLS connection %s %s:%u: %s", tls->accepted ? "from" : "to", tls->host, tls->port,
                    tls->reason);
        tls_error_report(tls->host, tls->port, tls->reason, tls->accepted);
}

static int direction_events(tls_t *tls) {
        return gnutls_record_get_direction(tls->session) ? SU_WAIT_OUT : SU_WAIT_IN;
}

ssize_t tls_read(tls_t *tls) {
        if (!tls || !tls->session || !tls->handshake_done) {
                errno = EINVAL;
                return -1;
        }
        if (tls->read_len > 0)
                return (ssize_t) tls->read_len;

        for (unsigned i = 0; i < TLS_RETRIES; i++) {
                ssize_t n = gnutls_record_recv(tls->session, tls->read_buffer, TLS_READ_BUFFER_SIZE);

                if (n > 0) {
                        tls->read_events = SU_WAIT_IN;
                        tls->read_len = (size_t) n;
                        return n;
                }
                switch (n) {
                case 0:
                case GNUTLS_E_PREMATURE_TERMINATION:    /* closed without close_notify */
                        return 0;
                case GNUTLS_E_AGAIN:
                case GNUTLS_E_INTERRUPTED:
                        tls->read_events = direction_events(tls);
                        errno = EAGAIN;
                        return -1;
                case GNUTLS_E_REHANDSHAKE:              /* TLS 1.2 renegotiation: refused */
                        (void) gnutls_alert_send(tls->session, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
                        continue;
                }
                if (gnutls_error_is_fatal((int) n)) {
                        connection_error(tls, (int) n);
                        errno = ECONNRESET;
                        return -1;
                }
        }
        tls->read_events = SU_WAIT_IN;
        errno = EAGAIN;
        return -1;
}

void *tls_read_buffer(tls_t *tls, size_t n) {
        if (!tls || n != tls->read_len)
                return NULL;
        tls->read_len = 0;
        return tls->read_buffer;
}

int tls_pending(tls_t const *tls) {
        return tls && tls->session && tls->handshake_done && gnutls_record_check_pending(tls->session) > 0;
}

/* 2: data read, 0: end of stream, -1: error, 1: nothing (for now). */
int tls_want_read(tls_t *tls, int events) {
        ssize_t n;

        if (!tls || !tls->handshake_done || !(events & tls->read_events))
                return 1;
        n = tls_read(tls);
        if (n > 0)
                return 2;
        if (n == 0)
                return 0;
        return errno == EAGAIN ? 1 : -1;
}

/* GnuTLS sends at most one record (16 kB) per call while sofia expects the
 * whole buffer written: loop. When the socket is full, GnuTLS keeps the record
 * it was sending; sofia comes back with the same bytes, and we first finish
 * that record (gnutls_record_send(NULL, 0) returns its length). */
ssize_t tls_write(tls_t *tls, void *buf, size_t size) {
        size_t done = 0;

        if (!tls || !tls->session || !tls->handshake_done || (!buf && size > 0)) {
                errno = EINVAL;
                return -1;
        }
        while (done < size || tls->write_blocked) {
                ssize_t n = tls->write_blocked ? gnutls_record_send(tls->session, NULL, 0)
                                               : gnutls_record_send(tls->session, (const char *) buf + done,
                                                                    size - done);
                if (n >= 0) {
                        tls->write_blocked = false;
                        tls->write_events = 0;
                        done += (size_t) n;
                        continue;
                }
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                        if (!tls->write_blocked)
                                stats.write_blocked++;
                        tls->write_blocked = true;
                        tls->write_events = direction_events(tls);
                        break;
                }
                log_warning("TLS write to %s: %s", tls->host, gnutls_strerror((int) n));
                errno = EPIPE;
                return -1;
        }
        if (done == 0 && size > 0) {
                errno = EAGAIN;
                return -1;
        }
        return (ssize_t) MIN(done, size);
}

/* >0: sofia should send again (the socket is ready for the record we hold). */
int tls_want_write(tls_t *tls, int events) {
        if (!tls || !(events & tls->write_events))
                return 0;
        tls->write_events = 0;
        return 1;
}

int tls_events(tls_t const *tls, int mask) {
        if (!tls || tls->master || !tls->handshake_done)
                return mask;
        return (mask & ~(SU_WAIT_IN | SU_WAIT_OUT)) |
                ((mask & SU_WAIT_IN) ? tls->read_events : 0) |
                ((mask & SU_WAIT_OUT) ? tls->write_events : 0);
}

/* ---- the handshake ---- */

static int verify_server(gnutls_session_t session) {
        tls_t *tls = gnutls_session_get_ptr(session);
        const gnutls_datum_t *chain;
        unsigned n = 0;

        if (!tls || tls->accepted)
                return 0;
        chain = gnutls_certificate_get_peers(session, &n);
        tls->verify_ran = true;
        tls->verify_result = tls_verifier_check(tls->ctx->verifier, chain, n, tls->host, time(NULL));
        return tls->verify_result == TLS_VERIFY_OK ? 0 : GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

static void handshake_reason(tls_t *tls, int r) {
        const char *s;

        if (tls->verify_ran && tls->verify_result != TLS_VERIFY_OK)
                s = tls_verify_result_to_string(tls->verify_result);
        else if (r == GNUTLS_E_FATAL_ALERT_RECEIVED || r == GNUTLS_E_WARNING_ALERT_RECEIVED) {
                snprintf(tls->reason, sizeof tls->reason, "refused by the %s: %s",
                         tls->accepted ? "client" : "server",
                         strempty(gnutls_alert_get_name(gnutls_alert_get(tls->session))));
                return;
        } else if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR)
                s = tls->handshake_done ? "connection closed" : "connection closed during the TLS handshake";
        else if (r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH || r == GNUTLS_E_UNEXPECTED_PACKET)
                s = "not a TLS peer";
        else if (r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET)
                s = "no common TLS version";
        else if (r == GNUTLS_E_NO_CIPHER_SUITES || r == GNUTLS_E_INSUFFICIENT_CREDENTIALS)
                s = "no common cipher suite";
        else if (r == GNUTLS_E_CERTIFICATE_REQUIRED)
                s = "client certificate required";
        else {
                snprintf(tls->reason, sizeof tls->reason, "TLS %s failed: %s",
                         tls->handshake_done ? "connection" : "handshake", gnutls_strerror(r));
                return;
        }
        snprintf(tls->reason, sizeof tls->reason, "%s", s);
}

/* Tell sofia. It fails what waits on this connection at once (nta answers 503)
 * and closes it, which frees tls: nothing may touch tls after this. */
static void handshake_fail(tls_t *tls, tport_t *tp, int error) {
        stats.failures++;
        log_warning("TLS %s %s:%u failed: %s", tls->accepted ? "connection from" : "connection to", tls->host,
                    tls->port, tls->reason);
        tls_error_report(tls->host, tls->port, tls->reason, tls->accepted);
        tport_error_report(tp, error, NULL);
        tport_close(tp);
        tport_set_secondary_timer(tp);
}

static void on_handshake_timeout(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg) {
        tls_t *tls = arg;
        tport_t *tp = tls->tport;

        /* one-shot: sofia does not touch the timer after this callback */
        tls->timer = NULL;
        if (tport_is_closed(tp)) {
                su_timer_destroy(t);
                return;
        }
        snprintf(tls->reason, sizeof tls->reason, "TLS handshake timed out");
        handshake_fail(tls, tp, ETIMEDOUT);
        su_timer_destroy(t);
}

static int handshake_start(tls_t *tls, tport_t *tp) {
        const tp_name_t *tpn = tport_name(tp);
        const char *host = tls->accepted ? tpn->tpn_host : (tpn->tpn_canon ?: tpn->tpn_host);
        su_root_t *root;
        uint8_t ip[16];
        size_t ip_len;
        unsigned port = 0;

        tls->tport = tp;
        tls->handshake_started = true;
        tls->start_usec = now_usec();
        snprintf(tls->host, sizeof tls->host, "%s", strempty(host));
        if (tpn->tpn_port && safe_atou(tpn->tpn_port, &port) == 0 && port <= UINT16_MAX)
                tls->port = (uint16_t) port;

        /* SNI: always for a name; RFC 6066 forbids it for an address. */
        if (!tls->accepted && tls->host[0] && !tls_parse_ip(tls->host, ip, &ip_len) &&
            gnutls_server_name_set(tls->session, GNUTLS_NAME_DNS, tls->host, strlen(tls->host)) < 0)
                return -ENOMEM;

        root = sofia_tport_root(tp);
        tls->timer = su_timer_create(su_root_task(root), TLS_HANDSHAKE_TIMEOUT_MS);
        if (!tls->timer || su_timer_set(tls->timer, on_handshake_timeout, tls) < 0)
                return -ENOMEM;
        return 0;
}

static void handshake_done(su_root_magic_t *magic, tls_t *tls, tport_t *tp) {
        char *desc;

        tls->handshake_done = true;
        if (tls->timer) {
                su_timer_destroy(tls->timer);
                tls->timer = NULL;
        }
        stats.handshakes++;
        stats.last_handshake_usec = now_usec() - tls->start_usec;
        desc = gnutls_session_get_desc(tls->session);
        snprintf(stats.last_session, sizeof stats.last_session, "%s", strempty(desc));
        gnutls_free(desc);
        if (!tls->accepted) {
                uint8_t ip[16];
                size_t ip_len;

                snprintf(stats.last_server_name, sizeof stats.last_server_name, "%s",
                         tls_parse_ip(tls->host, ip, &ip_len) ? "" : tls->host);
                tls_error_clear(tls->host, tls->port);
        }
        log_info("TLS %s %s:%u: %s in %" PRIu64 " µs", tls->accepted ? "from" : "to", tls->host, tls->port,
                 stats.last_session, stats.last_handshake_usec);

        tls->read_events = SU_WAIT_IN;
        tls->write_events = 0;
        sofia_tport_set_connected(tp, !tls->accepted && tls->verify_ran && tls->verify_result == TLS_VERIFY_OK &&
                                              tls_verifier_policy(tls->ctx->verifier)->trust_certificates);
        sofia_tport_set_events(tp, SU_WAIT_IN | SU_WAIT_ERR | SU_WAIT_HUP);

        if (tport_has_queued(tp))
                tport_send_event(tp);
        else
                tport_set_secondary_timer(tp);

        /* Records that came with the handshake are in GnuTLS, not in the socket. */
        if (!tport_is_closed(tp) && gnutls_record_check_pending(tls->session) > 0) {
                su_wait_t w = { .fd = tls->fd, .events = SU_WAIT_IN, .revents = SU_WAIT_IN };
                tport_wakeup(magic, &w, tp);
        }
}

static void handshake_step(su_root_magic_t *magic, tls_t *tls, tport_t *tp, bool hangup) {
        int r;

        for (unsigned i = 0; i < TLS_RETRIES; i++) {
                r = gnutls_handshake(tls->session);
                if (r == 0)
                        break;
                if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
                        if (hangup) {
                                r = GNUTLS_E_PREMATURE_TERMINATION;
                                break;
                        }
                        sofia_tport_set_events(tp, SU_WAIT_IN | SU_WAIT_ERR | SU_WAIT_HUP |
                                           (gnutls_record_get_direction(tls->session) ? SU_WAIT_OUT : 0));
                        return;
                }
                if (gnutls_error_is_fatal(r))
                        break;
        }
        if (r == 0 && (tls->accepted || tls->verify_ran)) {
                handshake_done(magic, tls, tp);
                return;
        }
        if (r == 0)
                snprintf(tls->reason, sizeof tls->reason, "no certificate");
        else {
                handshake_reason(tls, r);
                /* Tell the peer why (bad_certificate, ...); best effort, nonblocking. */
                (void) gnutls_alert_send_appropriate(tls->session, r);
        }
        handshake_fail(tls, tp, EPROTO);
}

/* sofia registers this as the socket's callback for a new TLS connection. */
int tls_connect(su_root_magic_t *magic, su_wait_t *w, tport_t *tp) {
        tls_t *tls;
        int events, error;

        if (!sofia_abi_ok()) {
                tport_close(tp);
                return 0;
        }
        /* Only we set it, after checking the layout: from now on, the ordinary transport. */
        if (tport_is_connected(tp))
                return tport_wakeup(magic, w, tp);

        tls = session_find(w->fd);
        if (!tls) {
                log_error("TLS connection without a session (fd %d), closing", w->fd);
                tport_close(tp);
                return 0;
        }
        if (!tls->layout_checked) {
                if (!sofia_tport_layout_ok(magic, w, tp)) {
                        sofia_abi_fail("tport layout");
                        tport_close(tp);
                        return 0;
                }
                tls->layout_checked = true;
        }
        if (tport_is_closed(tp))
                return 0;
        if (!tls->handshake_started && handshake_start(tls, tp) < 0) {
                snprintf(tls->reason, sizeof tls->reason, "out of memory");
                handshake_fail(tls, tp, ENOMEM);
                return 0;
        }
        events = su_wait_events(w, sofia_tport_socket(tp));
        error = su_soerror(sofia_tport_socket(tp));
        if (error != 0) {
                /* "Connection refused" -> "connection refused" */
                snprintf(tls->reason, sizeof tls->reason, "%s", strerror(error));
                tls->reason[0] = (char) tolower((unsigned char) tls->reason[0]);
                handshake_fail(tls, tp, error);
                return 0;
        }
        handshake_step(magic, tls, tp, events & (SU_WAIT_HUP | SU_WAIT_ERR));
        return 0;
}
