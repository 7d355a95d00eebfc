/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One SIP account: its registration state machine.
 *
 *   unregistered --start--> registering --200--> registered --refresh fails--> failed
 *                               |                                               |
 *                               +--error/timeout--> failed --retry timer--------+--> registering
 *
 * nua keeps a registration refreshed by itself (before it expires); a failed
 * refresh reaches us as a failure like any other. After a failure we retry
 * after reg_fail_retry_interval, doubling up to 4 times that; when the server
 * in use did not answer retry_counts times in a row and the other server is
 * configured, we fail over to it at once.
 *
 * Keep-alive over TCP and TLS is ours: an OPTIONS to the registrar every
 * nat.udp_update_time seconds, on the account's connection, that must be
 * answered (any status) within PING_ANSWER_USEC. sofia's CRLF ping cannot
 * run on its TLS transport, and nua's OPTIONS keep-alive waits for timer F
 * (32 s): a server that went silent with the connection open would keep the
 * account "registered" for up to nat.udp_update_time + 32 s. No answer in
 * time fails the registration like any other failure (retry, failover).
 */
#include <arpa/inet.h>
#include "log.h"
#include "sipd.h"
#include "tcp-close.h"
#include "tls-gnutls.h"
#include "uri.h"
#include "util.h"

#define BACKOFF_FACTOR_MAX 4
#define RETRY_MAX_USEC (1800 * USEC_PER_SEC)
#define PING_ANSWER_SEC 10U
#define PING_ANSWER_USEC (PING_ANSWER_SEC * USEC_PER_SEC)

static const char * const state_names[_ACCOUNT_STATE_MAX] = {
        [ACCOUNT_UNREGISTERED] = "unregistered",
        [ACCOUNT_REGISTERING] = "registering",
        [ACCOUNT_REGISTERED] = "registered",
        [ACCOUNT_FAILED] = "failed",
};

const char *account_state_to_string(AccountState s) {
        return s < _ACCOUNT_STATE_MAX ? state_names[s] : NULL;
}

static const ServerSettings *current_server(const Account *a) {
        return &a->settings.server[a->server];
}

static bool server_configured(const Account *a, unsigned m) {
        return a->settings.server[m].address && *a->settings.server[m].address;
}

int account_new(Manager *m, unsigned index, Account **ret) {
        Account *a = calloc(1, sizeof(Account));
        if (!a)
                return -ENOMEM;
        a->manager = m;
        a->index = index;
        snprintf(a->path, sizeof(a->path), SIP1_PATH "/account/%u", index);
        a->last_error = strdup("");
        if (!a->last_error) {
                free(a);
                return -ENOMEM;
        }
        int r = bus_add_object(m->bus, a->path, &sipd_account_interface, a);
        if (r < 0) {
                free(a->last_error);
                free(a);
                return r;
        }
        *ret = a;
        return 0;
}

static void ping_stop(Account *a);

Account *account_free(Account *a) {
        if (!a)
                return NULL;
        sd_event_source_disable_unref(a->retry);
        ping_stop(a);
        a->reg = sip_registration_release(a->reg, false);
        (void) bus_remove_object(a->manager->bus, a->path, &sipd_account_interface);
        account_settings_done(&a->settings);
        free(a->last_error);
        free(a);
        return NULL;
}

static void set_state(Account *a, AccountState state, const char *error) {
        if (error && !streq(a->last_error, error)) {
                char *e = strdup(error);
                if (e) {
                        free(a->last_error);
                        a->last_error = e;
                        account_emit(a, "LastError");
                }
        }
        if (a->state != state) {
                log_debug("Account %u: %s -> %s", a->index, state_names[a->state], state_names[state]);
                a->state = state;
                account_emit(a, "State");
        }
}

static void set_expires(Account *a, unsigned expires) {
        if (a->expires == expires)
                return;
        a->expires = expires;
        account_emit(a, "Expires");
}

bool account_can_register(const Account *a) {
        return a->settings.enable && account_settings_has_server(&a->settings) && a->settings.user_name &&
               *a->settings.user_name;
}

SipTransport account_transport(const Account *a) {
        return current_server(a)->transport;
}

const char *account_contact_params(const Account *a) {
        return current_server(a)->transport == SIP_TRANSPORT_TCP ? "transport=tcp" : NULL;
}

int account_server(const Account *a, char **ret) {
        const ServerSettings *s = current_server(a);
        if (!s->address || !*s->address)
                return -ENOENT;
        return sip_host_port(s->address, s->port, ret);
}

int account_uri(const Account *a, char **ret) {
        const ServerSettings *s = current_server(a);
        char *uri;

        if (!s->address || !*s->address || !a->settings.user_name || !*a->settings.user_name)
                return -ENOENT;
        _cleanup_(freep) char *host = NULL;
        int r = sip_host_port(s->address, 0, &host);
        if (r < 0)
                return r;
        uri = strjoin(s->transport == SIP_TRANSPORT_TLS ? "sips:" : "sip:", a->settings.user_name, "@", host, NULL);
        if (!uri)
                return -ENOMEM;
        *ret = uri;
        return 0;
}

int account_domain(const Account *a, char **ret) {
        const ServerSettings *s = current_server(a);
        if (!s->address || !*s->address)
                return -ENOENT;
        return sip_host_port(s->address, s->port == 5060 ? 0 : s->port, ret);
}

/* sip:host[:port][;transport=tcp], or sips:host[:port] for TLS */
static int server_uri(const char *address, unsigned port, SipTransport t, char **ret) {
        _cleanup_(freep) char *hp = NULL;
        char *uri;

        int r = sip_host_port(address, port, &hp);
        if (r < 0)
                return r;
        uri = strjoin(t == SIP_TRANSPORT_TLS ? "sips:" : "sip:", hp,
                      t == SIP_TRANSPORT_TCP ? ";transport=tcp" : "", NULL);
        if (!uri)
                return -ENOMEM;
        *ret = uri;
        return 0;
}

int account_proxy(const Account *a, char **ret) {
        const ServerSettings *s = current_server(a);

        if (a->settings.outbound_proxy_enable && a->settings.outbound_proxy_address &&
            *a->settings.outbound_proxy_address)
                return server_uri(a->settings.outbound_proxy_address, a->settings.outbound_proxy_port,
                                  s->transport, ret);
        if (!s->address || !*s->address)
                return -ENOENT;
        return server_uri(s->address, s->port, s->transport, ret);
}

static int outbound_proxy(const Account *a, char **ret) {
        if (!a->settings.outbound_proxy_enable || !a->settings.outbound_proxy_address ||
            !*a->settings.outbound_proxy_address) {
                *ret = NULL;
                return 0;
        }
        return server_uri(a->settings.outbound_proxy_address, a->settings.outbound_proxy_port,
                          current_server(a)->transport, ret);
}

static void schedule_retry(Account *a, uint64_t usec);

/* Over TLS a keep-alive must be a SIP request inside the connection (sofia's TLS
 * transport has no CRLF ping): OPTIONS, whatever nat.udp_update_enable asks for,
 * unless it is 0. */
static bool options_keepalive(const Account *a) {
        return a->settings.keepalive == KEEPALIVE_OPTIONS ||
               (a->settings.keepalive != KEEPALIVE_OFF && current_server(a)->transport == SIP_TRANSPORT_TLS);
}

/* Over a connection, the OPTIONS keep-alive is ours (see the top), not nua's. */
static bool own_keepalive(const Account *a) {
        return options_keepalive(a) && current_server(a)->transport != SIP_TRANSPORT_UDP;
}

static int send_register(Account *a) {
        const ServerSettings *s = current_server(a);
        _cleanup_(freep) char *aor = NULL, *registrar = NULL, *proxy = NULL;

        int r = account_uri(a, &aor);
        if (r >= 0)
                r = server_uri(s->address, s->port, s->transport, &registrar);
        if (r >= 0)
                r = outbound_proxy(a, &proxy);
        if (r < 0)
                return r;
        SipRegistrationParams p = {
                .aor = aor,
                .display_name = a->settings.display_name,
                .registrar = registrar,
                /* also where keep-alive OPTIONS go (else to the AOR's host, on the default port) */
                .proxy = proxy ?: registrar,
                .contact_user = a->settings.user_name,
                .contact_params = account_contact_params(a),
                .auth_user = a->settings.auth_name,
                .password = a->settings.password,
                .expires = s->expires,
                .keepalive_ms = a->settings.keepalive == KEEPALIVE_OFF ? 0 : a->settings.keepalive_interval * 1000,
                .options_keepalive = options_keepalive(a) && !own_keepalive(a),
        };
        r = sip_registration_new(a->manager->stack, &p, a, &a->reg);
        if (r < 0)
                return r;
        a->register_started = now_usec();
        a->tls_generation = a->manager->tls_generation;
        log_info("Account %u: registering %s at %s", a->index, aor, registrar);
        return 0;
}

int account_start(Account *a) {
        a->retry = sd_event_source_disable_unref(a->retry);
        ping_stop(a);
        if (!account_can_register(a)) {
                a->reg = sip_registration_release(a->reg, true);
                set_expires(a, 0);
                set_state(a, ACCOUNT_UNREGISTERED, "");
                return 0;
        }
        if (!sip_stack_is_listening(a->manager->stack))
                return 0; /* when the stack starts */
        if (!server_configured(a, a->server))
                a->server = !a->server;

        a->reg = sip_registration_release(a->reg, false);
        if (account_transport(a) == SIP_TRANSPORT_TLS && a->manager->tls_unsupported) {
                /* never over UDP or TCP instead; a restart with the right sofia-sip is needed */
                set_expires(a, 0);
                set_state(a, ACCOUNT_FAILED, "TLS unavailable: unsupported sofia-sip");
                account_emit(a, "Uri", "Server", "Transport");
                return -EPROTONOSUPPORT;
        }
        a->tls_waiting = account_transport(a) == SIP_TRANSPORT_TLS && !manager_tls_ready(a->manager);
        if (a->tls_waiting)
                return 0; /* manager_on_certificates() starts it */
        int r = send_register(a);
        if (r < 0) {
                char text[128];
                snprintf(text, sizeof(text), "Cannot register: %s", strerror(-r));
                log_warning_errno(r, "Account %u: cannot register: %m", a->index);
                set_state(a, ACCOUNT_FAILED, text);
                schedule_retry(a, MAX(a->settings.retry_interval, 1U) * USEC_PER_SEC);
                return r;
        }
        set_state(a, ACCOUNT_REGISTERING, NULL);
        account_emit(a, "Uri", "Server", "Transport");
        return 0;
}

void account_stop(Account *a) {
        a->retry = sd_event_source_disable_unref(a->retry);
        ping_stop(a);
        if (a->reg)
                log_info("Account %u: unregistering", a->index);
        a->reg = sip_registration_release(a->reg, true);
        set_expires(a, 0);
        set_state(a, ACCOUNT_UNREGISTERED, "");
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Account *a = userdata;

        a->retry = sd_event_source_disable_unref(a->retry);
        (void) account_start(a);
        return 0;
}

static void schedule_retry(Account *a, uint64_t usec) {
        a->retry = sd_event_source_disable_unref(a->retry);
        int r = sd_event_add_time_relative(a->manager->event, &a->retry, CLOCK_MONOTONIC, usec, 0, on_retry, a);
        if (r < 0)
                log_error_errno(r, "Account %u: cannot schedule a retry: %m", a->index);
        else
                log_info("Account %u: next attempt in %.1f s", a->index, (double) usec / USEC_PER_SEC);
}

static uint64_t retry_delay(const Account *a) {
        unsigned factor = 1;
        for (unsigned i = 1; i < a->failures && factor < BACKOFF_FACTOR_MAX; i++)
                factor *= 2;
        return MIN((uint64_t) MAX(a->settings.retry_interval, 1U) * factor * USEC_PER_SEC, RETRY_MAX_USEC);
}

/* ---- our keep-alive ---- */

static void ping_stop(Account *a) {
        a->ping = sd_event_source_disable_unref(a->ping);
        a->ping_pending = false;
}

static int on_ping_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void ping_schedule(Account *a, uint64_t usec) {
        a->ping = sd_event_source_disable_unref(a->ping);
        int r = sd_event_add_time_relative(a->manager->event, &a->ping, CLOCK_MONOTONIC, usec, 0, on_ping_timer, a);
        if (r < 0)
                log_error_errno(r, "Account %u: cannot schedule a keep-alive: %m", a->index);
}

static uint64_t ping_interval(const Account *a) {
        return (uint64_t) MAX(a->settings.keepalive_interval, 1U) * USEC_PER_SEC;
}

static void on_failed(Account *a, const SipRegistrationResult *res);
static void close_dead_connection(const Account *a);

static void ping_send(Account *a) {
        _cleanup_(freep) char *aor = NULL, *registrar = NULL, *proxy = NULL;
        const ServerSettings *s = current_server(a);

        int r = account_uri(a, &aor);
        if (r >= 0)
                r = server_uri(s->address, s->port, s->transport, &registrar);
        if (r >= 0)
                r = outbound_proxy(a, &proxy);
        if (r >= 0)
                r = sip_registration_ping(a->reg, aor, registrar, proxy ?: registrar);
        if (r < 0) {
                /* -ESTALE: the registration is going (un-REGISTER, shutdown): not worth a warning */
                log_full_errno(r == -ESTALE ? LOG_DEBUG : LOG_WARNING, r,
                               "Account %u: cannot send a keep-alive, ignoring: %m", a->index);
                ping_schedule(a, ping_interval(a));
                return;
        }
        a->ping_pending = true;
        a->ping_sent = now_usec();
        ping_schedule(a, PING_ANSWER_USEC);
}

static int on_ping_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Account *a = userdata;

        a->ping = sd_event_source_disable_unref(a->ping);
        if (!a->reg) {
                ping_stop(a);
                return 0;
        }
        if (!a->ping_pending) {
                ping_send(a);
                return 0;
        }
        char phrase[64];
        snprintf(phrase, sizeof(phrase), "No answer within %u s", PING_ANSWER_SEC);
        log_warning("Account %u: the server did not answer a keep-alive within %u s", a->index, PING_ANSWER_SEC);
        SipRegistrationResult res = {
                .status = 408,
                .phrase = phrase,
                .local = true,
                .keepalive = true,
        };
        close_dead_connection(a); /* before on_failed(), which may fail over */
        on_failed(a, &res);
        return 0;
}

void account_on_ping(Account *a, const SipRegistrationResult *res) {
        if (!a->ping_pending)
                return;
        a->ping_pending = false;
        if (res->local) {
                /* no answer: the connection failed (the timeout is ours, above) */
                on_failed(a, res);
                return;
        }
        log_debug("Account %u: keep-alive answered %u in %.1f ms", a->index, res->status,
                  (double) (now_usec() - a->ping_sent) / 1000.0);
        ping_schedule(a, ping_interval(a));
}

/* ---- registration results ---- */

static void on_registered(Account *a, const SipRegistrationResult *res) {
        bool first = a->state != ACCOUNT_REGISTERED;

        a->failures = a->no_answer = 0;
        set_expires(a, res->expires);
        set_state(a, ACCOUNT_REGISTERED, "");
        if (own_keepalive(a) && !a->ping)
                ping_schedule(a, ping_interval(a));
        if (first)
                log_info("Account %u: registered for %u s (%.0f ms after REGISTER)", a->index, res->expires,
                         (double) (now_usec() - a->register_started) / 1000.0);
}

/* Where requests of the account go: the outbound proxy, else the server. */
static void next_hop(const Account *a, const char **ret_host, unsigned *ret_port) {
        if (a->settings.outbound_proxy_enable && a->settings.outbound_proxy_address &&
            *a->settings.outbound_proxy_address) {
                *ret_host = a->settings.outbound_proxy_address;
                *ret_port = a->settings.outbound_proxy_port;
        } else {
                *ret_host = current_server(a)->address;
                *ret_port = current_server(a)->port;
        }
}

/* The server did not answer a keep-alive: close its connection, or the retry
 * would queue behind it until timer F (32 s). TLS connections are our own
 * layer's; TCP ones are ended with shutdown() (tcp-close.c), found by the
 * server's numeric address: as configured, else where its last 2xx came from. */
static void close_dead_connection(const Account *a) {
        const char *host;
        unsigned port, n = 0;

        next_hop(a, &host, &port);
        switch (account_transport(a)) {
        case SIP_TRANSPORT_TLS:
                n = sip_tls_close_connections_to(host, port <= UINT16_MAX ? (uint16_t) port : 0);
                break;
        case SIP_TRANSPORT_TCP: {
                const char *address = host;
                struct in6_addr scratch;
                if (inet_pton(AF_INET, host, &scratch) != 1 && inet_pton(AF_INET6, host, &scratch) != 1)
                        address = a->reg ? sip_registration_server_address(a->reg) : NULL;
                /* 0: the default port, never "any" (TLS connections to the same host stay) */
                uint16_t p = port > 0 && port <= UINT16_MAX ? (uint16_t) port : 5060;
                int r = address && *address ? sip_tcp_shutdown_connections_to(address, p, &n) : -EINVAL;
                if (r < 0) {
                        log_info("Account %u: cannot find the connection to %s:%u to close it", a->index, host, port);
                        return;
                }
                break;
        }
        case SIP_TRANSPORT_UDP:
        case _SIP_TRANSPORT_MAX:
                return;
        }
        log_info("Account %u: %u connection(s) to %s:%u closed", a->index, n, host, port);
}

/* "503 TLS: name mismatch" when a 503 came from a TLS connection that failed:
 * the SIP status stays, the reason is TLS's. */
static void failure_text(const Account *a, const SipRegistrationResult *res, char *buf, size_t size) {
        _cleanup_(freep) char *tls = NULL;
        const char *host;
        unsigned port;

        /* nua reports its own 503 with a message of its own: "local" is not reliable here */
        if (res->status == 503 && account_transport(a) == SIP_TRANSPORT_TLS) {
                next_hop(a, &host, &port);
                (void) manager_tls_reason(a->manager, host, port, a->register_started, &tls);
        }
        if (res->keepalive)
                snprintf(buf, size, "%u %s (keep-alive)", res->status, res->phrase);
        else
                snprintf(buf, size, "%u %s", res->status, tls ?: res->phrase);
}

/* The other server, if it is configured and would not take TLS away. */
static bool can_fail_over(const Account *a) {
        const ServerSettings *other = &a->settings.server[!a->server];

        if (!server_configured(a, !a->server))
                return false;
        return current_server(a)->transport != SIP_TRANSPORT_TLS || other->transport == SIP_TRANSPORT_TLS;
}

static void on_failed(Account *a, const SipRegistrationResult *res) {
        char text[192];
        /* no answer, a transport error, or a server error: reasons to try the other server */
        bool no_answer = res->local || res->status == 408 || (res->status >= 500 && res->status < 600);

        failure_text(a, res, text, sizeof(text));
        log_warning("Account %u: registration failed: %s", a->index, text);
        ping_stop(a);
        a->reg = sip_registration_release(a->reg, false);
        a->failures++;
        a->no_answer = no_answer ? a->no_answer + 1 : 0;
        set_expires(a, 0);
        set_state(a, ACCOUNT_FAILED, text);

        const ServerSettings *s = current_server(a);
        if (no_answer && s->retry_counts > 0 && a->no_answer >= s->retry_counts && can_fail_over(a)) {
                a->server = !a->server;
                a->no_answer = 0;
                log_notice("Account %u: failing over to server %u (%s:%u)", a->index, a->server + 1,
                           current_server(a)->address, current_server(a)->port);
                (void) account_start(a);
                return;
        }
        schedule_retry(a, retry_delay(a));
}

void account_on_registration(Account *a, const SipRegistrationResult *res) {
        if (res->status >= 200 && res->status < 300)
                on_registered(a, res);
        else
                on_failed(a, res);
}

void account_on_tls_changed(Account *a) {
        if (!account_can_register(a) || account_transport(a) != SIP_TRANSPORT_TLS)
                return;
        if (a->tls_waiting) {
                (void) account_start(a);
                return;
        }
        if (a->tls_generation == a->manager->tls_generation || (!a->reg && a->state != ACCOUNT_FAILED))
                return;
        log_info("Account %u: registering again with the new TLS settings", a->index);
        a->failures = a->no_answer = 0;
        (void) account_start(a);
}

int account_register_now(Account *a, BusError *error) {
        if (!a->settings.enable)
                return bus_error_set(error, -EOPNOTSUPP, "Account %u is disabled (account.%u.enable)", a->index,
                                     a->index);
        if (!account_can_register(a))
                return bus_error_set(error, -EINVAL, "Account %u has no SIP server or no user name", a->index);
        if (!sip_stack_is_listening(a->manager->stack))
                return bus_error_set(error, -ENETDOWN, "The SIP stack is not running yet");
        a->failures = a->no_answer = 0;
        if (a->reg && a->state == ACCOUNT_REGISTERED) {
                int r = sip_registration_refresh(a->reg);
                if (r < 0)
                        return r;
                a->register_started = now_usec();
                set_state(a, ACCOUNT_REGISTERING, NULL);
                return 0;
        }
        return account_start(a);
}

/* Who registers where: "aor registrar". NULL when the account does not register. */
static char *binding_key(const Account *a) {
        _cleanup_(freep) char *aor = NULL, *registrar = NULL;
        const ServerSettings *s = current_server(a);

        if (!account_can_register(a) || account_uri(a, &aor) < 0 ||
            server_uri(s->address, s->port, s->transport, &registrar) < 0)
                return NULL;
        return strjoin(aor, " ", registrar, NULL);
}

int account_apply_settings(Account *a, const AccountSettings *s) {
        _cleanup_(freep) char *old_key = NULL, *new_key = NULL;
        AccountSettings copy;

        bool same = account_settings_same_registration(&a->settings, s);
        int r = account_settings_copy(s, &copy);
        if (r < 0)
                return r;
        old_key = binding_key(a);
        account_settings_done(&a->settings);
        a->settings = copy;
        account_emit(a, "Enabled", "Label", "Uri", "Server", "Transport", "SrtpEncryption");
        if (same)
                return 0;

        log_debug("Account %u: registration settings changed", a->index);
        for (unsigned m = 0; m < SIPD_N_SERVERS; m++)
                if (a->settings.enable && a->settings.server[m].naptr)
                        log_warning("Account %u: server %u: DNS NAPTR is not supported, using UDP", a->index, m + 1);
        a->server = 0;
        a->failures = a->no_answer = 0;
        new_key = binding_key(a);
        /* The same binding (new credentials, expiry, proxy): the new REGISTER
         * replaces it. Releasing the old handle without asking for an un-REGISTER
         * still lets nua send one as it destroys the handle, but before the new
         * REGISTER and from the same socket, so the registrar removes the binding
         * and then saves it again (test-sip-account's only-changed-reregister
         * checks that it survives). Asking for one (true) would race the new
         * REGISTER instead. */
        if (a->reg && old_key && new_key && streq(old_key, new_key))
                a->reg = sip_registration_release(a->reg, false);
        else if (a->reg)
                account_stop(a);
        return account_start(a);
}
