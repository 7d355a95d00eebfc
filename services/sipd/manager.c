/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The root object: owns the accounts and the calls, fetches the configuration
 * from provd and follows its changes, routes incoming calls, and stops the
 * whole service in order.
 *
 * The configuration is fetched asynchronously, after we own org.deskphone.Sip1
 * (provd hands passwords in clear only to that name's owner), and again on
 * every Config1.Changed and whenever provd (re)appears. Each account compares
 * its new settings with the old ones and re-registers only when they differ.
 */
#include "certificates.h"
#include "log.h"
#include "sipd.h"
#include "util.h"

#define FETCH_TIMEOUT_MS 10000
#define FETCH_RETRY_MAX_USEC (10 * USEC_PER_SEC)
#define LISTEN_RETRY_USEC (5 * USEC_PER_SEC)

int manager_new(sd_event *event, Bus *bus, SipStack *stack, Manager **ret) {
        Manager *m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->bus = bus;
        m->stack = stack;
        m->changed_match = -1;
        sip_stack_set_manager(stack, m);
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        while (m->calls) {
                Call *c = m->calls;
                m->calls = c->next;
                call_free(c);
        }
        for (unsigned i = 0; i < SIPD_N_ACCOUNTS; i++)
                account_free(m->accounts[i]);
        sd_event_source_disable_unref(m->fetch_retry);
        sd_event_source_disable_unref(m->stop_timer);
        sd_event_source_disable_unref(m->check_sync_later);
        sd_event_source_disable_unref(m->listen_retry);
        call_tones_free(m->tones);
        sip_stack_set_manager(m->stack, NULL);
        certificates_free(m->certs);
        manager_tls_done(m);
        settings_done(&m->settings);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

Bus *manager_bus(Manager *m) {
        return m->bus;
}

Account *manager_account(Manager *m, unsigned index) {
        return index >= 1 && index <= SIPD_N_ACCOUNTS ? m->accounts[index - 1] : NULL;
}

unsigned manager_default_account(Manager *m) {
        for (unsigned i = 0; i < SIPD_N_ACCOUNTS; i++)
                if (m->accounts[i] && m->accounts[i]->state == ACCOUNT_REGISTERED)
                        return i + 1;
        return 0;
}

/* ---- calls ---- */

Call *manager_find_call(Manager *m, unsigned id) {
        for (Call *c = m->calls; c; c = c->next)
                if (c->id == id)
                        return c;
        return NULL;
}

unsigned manager_n_live_calls(Manager *m) {
        unsigned n = 0;
        for (Call *c = m->calls; c; c = c->next)
                n += call_is_live(c);
        return n;
}

void manager_add_call(Manager *m, Call *c) {
        Call **p = &m->calls;
        while (*p)
                p = &(*p)->next;
        c->next = NULL;
        *p = c;
}

void manager_remove_call(Manager *m, Call *c) {
        for (Call **p = &m->calls; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        c->next = NULL;
                        return;
                }
}

/* Keep at most CALLS_MAX call objects: ended ones go first, oldest first. */
static bool make_room(Manager *m) {
        unsigned n = 0;
        for (Call *c = m->calls; c; c = c->next)
                n++;
        if (n < CALLS_MAX)
                return true;
        for (Call *c = m->calls; c; c = c->next)
                if (!call_is_live(c)) {
                        manager_remove_call(m, c);
                        call_free(c);
                        return true;
                }
        return false;
}

int manager_dial(Manager *m, const char *target, unsigned account, Call **ret, BusError *error) {
        if (m->stopping)
                return bus_error_set(error, -ESHUTDOWN, "sipd is stopping");
        if (!make_room(m))
                return bus_error_set(error, -EBUSY, "Too many calls");
        return call_new_outgoing(m, target, account, ret, error);
}

/* The account an INVITE is for: an enabled one with that user name, registered ones first. */
static unsigned account_for_incoming(Manager *m, const SipIncoming *in) {
        unsigned found = 0;

        for (unsigned i = 0; i < SIPD_N_ACCOUNTS; i++) {
                Account *a = m->accounts[i];
                if (!a || !a->settings.enable || !a->settings.user_name || !*a->settings.user_name ||
                    !streq(a->settings.user_name, in->request_user))
                        continue;
                if (a->state == ACCOUNT_REGISTERED)
                        return a->index;
                if (!found)
                        found = a->index;
        }
        return found;
}

unsigned manager_on_incoming_call(Manager *m, SipCall *sip, const SipIncoming *in) {
        unsigned live = manager_n_live_calls(m), status = 0;
        Call *c;

        if (m->stopping || !m->have_settings)
                return 503;
        if (in->other_body)
                return 415;
        if (live >= CALLS_LIVE_MAX || (live > 0 && !m->settings.call_waiting)) {
                log_info("Busy: refusing a call from %s (%u call(s) in progress)", in->from_uri, live);
                return 486;
        }
        unsigned account = account_for_incoming(m, in);
        if (account == 0 && !m->settings.direct_ip_calls) {
                log_info("Refusing a direct call from %s: direct IP calls are disabled", in->from_uri);
                return 403;
        }
        if (!make_room(m))
                return 486;
        int r = call_new_incoming(m, sip, in, account, &c, &status);
        if (r < 0)
                return status ?: 500;
        return 0;
}

/* ---- configuration ---- */

static void apply_log_level(const Settings *s) {
        if (log_level_from_env())
                return;
        int l = log_level_from_string(s->log_level);
        if (l >= 0)
                log_set_max_level(l);
}

static void start_accounts(Manager *m) {
        for (unsigned i = 0; i < SIPD_N_ACCOUNTS; i++)
                if (account_can_register(m->accounts[i]) && !m->accounts[i]->reg)
                        (void) account_start(m->accounts[i]);
}

static int on_listen_retry(sd_event_source *s, uint64_t usec, void *userdata);

static void start_stack(Manager *m) {
        if (m->stopping || sip_stack_is_listening(m->stack))
                return;
        int r = sip_stack_listen(m->stack, m->settings.listen_address, m->settings.listen_port,
                                 m->settings.tls_listen_port);
        if (r < 0) {
                log_warning("Trying again in %llu s", LISTEN_RETRY_USEC / USEC_PER_SEC);
                m->listen_retry = sd_event_source_disable_unref(m->listen_retry);
                (void) sd_event_add_time_relative(m->event, &m->listen_retry, CLOCK_MONOTONIC, LISTEN_RETRY_USEC,
                                                  0, on_listen_retry, m);
                return;
        }
        (void) bus_emit_properties_changed(m->bus, SIP1_PATH, SIP1_IFACE, "ListenPort", NULL);
        start_accounts(m);
}

static int on_listen_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->listen_retry = sd_event_source_disable_unref(m->listen_retry);
        start_stack(m);
        return 0;
}

static void apply_settings(Manager *m, Settings *s) {
        unsigned old_port = m->settings.listen_port, old_tls_port = m->settings.tls_listen_port;

        apply_log_level(s);
        settings_done(&m->settings);
        m->settings = *s;
        *s = (Settings){};
        if (m->have_settings && old_port != m->settings.listen_port)
                log_notice("sip.listen_port changed to %u: takes effect when sipd restarts",
                           m->settings.listen_port);
        if (m->have_settings && old_tls_port != m->settings.tls_listen_port)
                log_notice("sip.tls_listen_port changed to %u: takes effect when sipd restarts",
                           m->settings.tls_listen_port);
        m->have_settings = true;
        /* before the stack exists (its TLS transport uses the configuration at once) */
        bool tls_changed = manager_configure_tls(m) > 0;
        start_stack(m);
        for (unsigned i = 0; i < SIPD_N_ACCOUNTS; i++) {
                int r = account_apply_settings(m->accounts[i], &m->settings.account[i]);
                if (r < 0)
                        log_warning_errno(r, "Account %u: cannot apply its settings: %m", i + 1);
        }
        if (tls_changed)
                manager_tls_restart_accounts(m);
}

static void fetch_config(Manager *m);

static int on_fetch_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->fetch_retry = sd_event_source_disable_unref(m->fetch_retry);
        fetch_config(m);
        return 0;
}

static void schedule_fetch_retry(Manager *m) {
        uint64_t usec = MIN((uint64_t) (m->fetch_failures + 1) * USEC_PER_SEC / 2, FETCH_RETRY_MAX_USEC);

        m->fetch_retry = sd_event_source_disable_unref(m->fetch_retry);
        int r = sd_event_add_time_relative(m->event, &m->fetch_retry, CLOCK_MONOTONIC, usec, 0, on_fetch_retry, m);
        if (r < 0)
                log_error_errno(r, "Cannot schedule fetching the configuration: %m");
}

static int settings_from_reply(DBusMessage *reply, Settings *ret) {
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;
        DBusMessageIter iter;

        if (!dbus_message_iter_init(reply, &iter))
                return -EBADMSG;
        int r = bus_read_string_dict(&iter, &keys, &values);
        if (r >= 0)
                r = settings_from_dict(keys, values, ret);
        for (size_t i = 0; values && values[i]; i++)
                explicit_bzero(values[i], strlen(values[i]));
        return r;
}

static void on_config(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        Manager *m = userdata;
        Settings s = {};

        m->fetching = false;
        if (error >= 0)
                error = settings_from_reply(reply, &s);
        if (error < 0) {
                bool first = m->fetch_failures++ == 0;
                if (first && error == -ENOENT)
                        log_info("Waiting for provd (" CONFIG1_NAME ") to come on the bus");
                else if (first)
                        log_warning_errno(error, "Cannot read the configuration from provd, retrying: %m");
                schedule_fetch_retry(m);
                return;
        }
        if (m->fetch_failures > 0 || !m->have_settings)
                log_info("Configuration received from provd");
        m->fetch_failures = 0;
        if (!m->stopping)
                apply_settings(m, &s);
        settings_done(&s);
        if (m->refetch) {
                m->refetch = false;
                fetch_config(m);
        }
}

static void fetch_config(Manager *m) {
        const char *prefix = "";

        if (m->fetching) {
                m->refetch = true; /* once this one is answered */
                return;
        }
        DBusMessage *msg = dbus_message_new_method_call(CONFIG1_NAME, CONFIG1_PATH, CONFIG1_IFACE, "GetAll");
        int r = msg && dbus_message_append_args(msg, DBUS_TYPE_STRING, &prefix, DBUS_TYPE_INVALID) ? 0 : -ENOMEM;
        if (r >= 0)
                r = bus_call_async(m->bus, msg, FETCH_TIMEOUT_MS, on_config, m);
        if (msg)
                dbus_message_unref(msg);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask provd for the configuration: %m");
                schedule_fetch_retry(m);
                return;
        }
        m->fetching = true;
}

static void on_config_changed(Bus *bus, DBusMessage *msg, void *userdata) {
        log_debug("Configuration changed, fetching it");
        fetch_config(userdata);
}

static void on_name_owner_changed(Bus *bus, DBusMessage *msg, void *userdata) {
        Manager *m = userdata;

        /* a call's stream lives in mediad: an established call without it carries
         * no audio, so it ends rather than stay up silent (one message may say
         * both: the name went straight to a new owner) */
        if (bus_name_lost_owner(msg, MEDIA1_NAME))
                for (Call *c = m->calls, *next; c; c = next) {
                        next = c->next;
                        call_on_media_gone(c);
                }
        if (bus_name_got_owner(msg, MEDIA1_NAME))
                for (Call *c = m->calls, *next; c; c = next) {
                        next = c->next;
                        call_on_media_back(c);
                }
        if (!bus_name_got_owner(msg, CONFIG1_NAME))
                return;
        log_debug("provd appeared on the bus, fetching the configuration and the certificates");
        m->fetch_retry = sd_event_source_disable_unref(m->fetch_retry);
        fetch_config(m);
        certificates_fetch(m->certs);
}

static int watch_config(Manager *m) {
        int r = bus_add_match_signal(m->bus, CONFIG1_NAME, CONFIG1_PATH, CONFIG1_IFACE, "Changed", on_config_changed,
                                     m);
        if (r < 0)
                return r;
        m->changed_match = r;
        r = bus_add_match_name_owner_changed(m->bus, on_name_owner_changed, m);
        return r < 0 ? r : 0;
}

int manager_start(Manager *m) {
        int r = bus_add_object_manager(m->bus, SIPD_OBJECT_MANAGER_PATH);
        if (r >= 0)
                r = bus_add_object(m->bus, SIP1_PATH, &sipd_manager_interface, m);
        for (unsigned i = 0; r >= 0 && i < SIPD_N_ACCOUNTS; i++)
                r = account_new(m, i + 1, &m->accounts[i]);
        if (r < 0)
                return log_error_errno(r, "Failed to register the objects: %m");
        /* the name first: provd gives account passwords in clear only to its owner */
        r = bus_request_name(m->bus, SIP1_NAME);
        if (r < 0)
                return r;
        r = watch_config(m);
        if (r >= 0)
                r = certificates_new(m, m->bus, &m->certs);
        if (r < 0)
                return log_error_errno(r, "Failed to follow the configuration: %m");
        fetch_config(m);
        certificates_fetch(m->certs);
        return 0;
}

/* ---- stopping ---- */

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_notice("SIP stack did not finish in time, exiting anyway");
        return sd_event_exit(m->event, 0);
}

void manager_on_stack_stopped(Manager *m) {
        if (m)
                (void) sd_event_exit(m->event, 0);
}

void manager_stop(Manager *m) {
        if (m->stopping) {
                (void) sd_event_exit(m->event, 0);
                return;
        }
        m->stopping = true;
        log_info("Stopping: ending calls, unregistering accounts");
        for (Call *c = m->calls; c; c = c->next)
                if (call_is_live(c))
                        (void) call_hangup(c, NULL);
        for (unsigned i = 0; i < SIPD_N_ACCOUNTS; i++)
                if (m->accounts[i]->reg)
                        account_stop(m->accounts[i]);
        int r = sd_event_add_time_relative(m->event, &m->stop_timer, CLOCK_MONOTONIC, SHUTDOWN_TIMEOUT_USEC, 0,
                                           on_stop_timeout, m);
        if (r < 0 || sip_stack_shutdown(m->stack) < 0)
                (void) sd_event_exit(m->event, 0);
}
