/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NOTIFY outside any subscription: Yealink's "Event: check-sync", by which a
 * registrar tells its phones to provision now. Taken only from the registrar
 * (or outbound proxy) of an account that is registered, addressed to that
 * account's user, and only when sip.notify_reboot_enable is not 2; then sipd
 * asks provd for a run (Provision1.Start({"reason": "check-sync"})) and
 * answers 200. On Yealink phones 1 (and 0 with ";reboot=true") reboot the phone
 * to apply; deskphone applies a provisioned configuration without a reboot,
 * so 0 and 1 both mean "provision now" and ";reboot=true" changes nothing.
 *
 * Answers: 489 for another event package, 481 when no account is registered,
 * 403 when the sender is not a registrar of ours or check-sync is turned off.
 * "The registrar" is the address the account's last REGISTER 2xx came from
 * (so a registrar given by host name works, and so does one behind the
 * outbound proxy that answered), or the configured server or outbound proxy
 * when given as a numeric address.
 *
 * A registrar may send many (one per account, retransmissions, a flood): provd
 * is asked at most once per deskphone.sip.check_sync_interval (30 s). One that comes sooner is
 * answered 200 and remembered, and provd is asked once more when the interval
 * is over, however many came in it: the administrator may have changed the
 * files after the run already asked for fetched them (provd itself queues one
 * that arrives during a run). Refusals are logged at
 * most once per REFUSAL_LOG_INTERVAL_USEC and reason, the next line counting
 * those left out: a flood of NOTIFYs does not flood the log.
 */
#include <arpa/inet.h>
#include <strings.h>

#include "log-limit.h"
#include "log.h"
#include "sipd.h"
#include "util.h"

#define PROVISION1_NAME "org.deskphone.Provision1"
#define PROVISION1_PATH "/org/deskphone/Provision1"
#define PROVISION1_IFACE "org.deskphone.Provision1"
#define START_TIMEOUT_MS 10000
#define REFUSAL_LOG_INTERVAL_USEC (10ULL * 1000000ULL) /* at most one "Refusing" line per this and reason */

typedef enum Refusal {
        REFUSAL_NOT_REGISTRAR,
        REFUSAL_NOT_REGISTERED,
        REFUSAL_DISABLED,
        _REFUSAL_MAX,
} Refusal;

static const char * const refusal_reasons[_REFUSAL_MAX] = {
        [REFUSAL_NOT_REGISTRAR] = "not the registrar of a registered account",
        [REFUSAL_NOT_REGISTERED] = "no account is registered",
        [REFUSAL_DISABLED] = "sip.notify_reboot_enable = 2",
};

/* The process's one SIP stack: one limit per reason, whoever sends. */
static LogLimit refusal_log[_REFUSAL_MAX];

typedef union Address {
        struct in_addr v4;
        struct in6_addr v6;
} Address;

/* A numeric address ("192.0.2.1", "2001:db8::1", "[2001:db8::1]"): its family, or 0. */
static int address_parse(const char *s, Address *ret) {
        char buf[INET6_ADDRSTRLEN + 2];
        size_t n = strlen(s);

        if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(buf)) {
                memcpy(buf, s + 1, n - 2);
                buf[n - 2] = '\0';
                s = buf;
        }
        if (inet_pton(AF_INET, s, &ret->v4) == 1)
                return AF_INET;
        if (inet_pton(AF_INET6, s, &ret->v6) == 1)
                return AF_INET6;
        return 0;
}

static bool address_equal(const char *host, const char *source) {
        Address a = {}, b = {};
        int fa = host ? address_parse(host, &a) : 0, fb = address_parse(source, &b);

        if (fa == 0 || fa != fb)
                return false;
        return fa == AF_INET ? a.v4.s_addr == b.v4.s_addr : memcmp(&a.v6, &b.v6, sizeof(a.v6)) == 0;
}

/* The registered account this NOTIFY may come for; NULL none. *ret_any: some account is registered. */
static Account *notify_account(Manager *m, const SipNotify *n, bool *ret_any) {
        *ret_any = false;
        for (size_t i = 0; i < SIPD_N_ACCOUNTS; i++) {
                Account *a = m->accounts[i];
                if (!a || a->state != ACCOUNT_REGISTERED)
                        continue;
                *ret_any = true;
                const AccountSettings *s = &a->settings;
                bool from_server = address_equal(sip_registration_server_address(a->reg), n->source) ||
                                   address_equal(s->server[a->server].address, n->source) ||
                                   (s->outbound_proxy_enable && address_equal(s->outbound_proxy_address, n->source));
                if (from_server && (!*n->request_user || streq(n->request_user, strempty(s->user_name))))
                        return a;
        }
        return NULL;
}

static void on_start_reply(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        Manager *m = userdata;
        const char *text = NULL;

        m->check_sync_pending = false;
        if (reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR)
                (void) dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID);
        if (text || error < 0)
                log_warning("check-sync: provd did not start provisioning: %s",
                            text ?: strerror(error < 0 ? -error : EIO));
        else
                log_info("check-sync: provisioning started");
}

/* Provision1.Start({"reason": <"check-sync">}) */
static int start_provisioning(Manager *m) {
        static const char *key = "reason", *value = "check-sync";
        DBusMessageIter iter, dict, entry;

        DBusMessage *msg = dbus_message_new_method_call(PROVISION1_NAME, PROVISION1_PATH, PROVISION1_IFACE, "Start");
        if (!msg)
                return -ENOMEM;
        dbus_message_iter_init_append(msg, &iter);
        int r = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
                                dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
                                dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key)
                        ? 0
                        : -ENOMEM;
        if (r >= 0)
                r = bus_append_basic_variant(&entry, DBUS_TYPE_STRING, &value);
        if (r >= 0 && (!dbus_message_iter_close_container(&dict, &entry) ||
                       !dbus_message_iter_close_container(&iter, &dict)))
                r = -ENOMEM;
        if (r >= 0)
                r = bus_call_async(m->bus, msg, START_TIMEOUT_MS, on_start_reply, m);
        dbus_message_unref(msg);
        if (r >= 0)
                m->check_sync_pending = true;
        return r;
}

static uint64_t interval_usec(Manager *m) {
        return (uint64_t) m->settings.check_sync_interval * 1000000ULL;
}

static int on_check_sync_later(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->check_sync_pending) { /* provd has not answered the last one yet: in a second */
                int r = sd_event_source_set_time_relative(s, 1000000);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return 0;
                log_warning_errno(r, "check-sync: cannot wait for provd's answer, dropping the later one: %m");
        }
        m->check_sync_later = sd_event_source_disable_unref(m->check_sync_later);
        if (m->check_sync_pending)
                return 0;
        /* the configuration may have changed meanwhile */
        if (!m->have_settings || m->settings.notify_reboot == 2) {
                log_info("check-sync: turned off meanwhile, not asking provd again");
                return 0;
        }
        log_info("check-sync: asking provd again for the NOTIFY that came within %u s of the last",
                 m->settings.check_sync_interval);
        int r = start_provisioning(m);
        if (r < 0)
                log_warning_errno(r, "check-sync: cannot ask provd to provision: %m");
        else
                m->check_sync_last = now_usec();
        return 0;
}

/* A check-sync within the interval: asked for when it is over (once, however many). */
static int defer(Manager *m) {
        if (m->check_sync_later)
                return 0;
        uint64_t at = m->check_sync_last + interval_usec(m);
        return sd_event_add_time(m->event, &m->check_sync_later, CLOCK_MONOTONIC, at, 100000, on_check_sync_later, m);
}

/* Log (rate-limited) and return status. */
static unsigned refuse(const SipNotify *n, Refusal why, unsigned status) {
        char more[96] = "";
        unsigned skipped;

        if (!log_limit_pass(&refusal_log[why], REFUSAL_LOG_INTERVAL_USEC, now_usec(), &skipped))
                return status;
        if (skipped > 0)
                snprintf(more, sizeof(more), " (and %u more for this reason since the last such line)", skipped);
        log_notice("Refusing NOTIFY check-sync from %s: %s%s", n->source, refusal_reasons[why], more);
        return status;
}

unsigned notify_on_request(Manager *m, const SipNotify *n) {
        bool any = false;

        if (strcasecmp(n->event, "check-sync") != 0)
                return 489; /* Bad Event */
        Account *a = notify_account(m, n, &any);
        if (!a)
                return any ? refuse(n, REFUSAL_NOT_REGISTRAR, 403) : refuse(n, REFUSAL_NOT_REGISTERED, 481);
        if (!m->have_settings || m->settings.notify_reboot == 2)
                return refuse(n, REFUSAL_DISABLED, 403);
        uint64_t now = now_usec();
        if (m->check_sync_pending || (m->check_sync_last > 0 && now < m->check_sync_last + interval_usec(m))) {
                log_debug("NOTIFY check-sync from %s: provisioning was asked for less than %u s ago, asking again "
                          "when that is %u s ago", n->source, m->settings.check_sync_interval,
                          m->settings.check_sync_interval);
                int r = defer(m);
                if (r < 0) {
                        log_warning_errno(r, "check-sync: cannot remember it: %m");
                        return 500;
                }
                return 200;
        }
        log_info("NOTIFY check-sync%s from the registrar of account %u (%s): provisioning now",
                 n->reboot ? ";reboot=true (no reboot needed)" : "", a->index, n->source);
        int r = start_provisioning(m);
        if (r < 0) {
                log_warning_errno(r, "check-sync: cannot ask provd to provision: %m");
                return 500;
        }
        m->check_sync_last = now;
        return 200;
}
