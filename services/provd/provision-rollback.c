/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* After a run applied: did a registration that worked fail? Then offer (or do) a rollback. */
#include <time.h>

#include "log.h"
#include "provd.h"
#include "provision-internal.h"
#include "util.h"

#define SIP1_NAME "org.deskphone.Sip1"
#define SIP1_ACCOUNT_IFACE "org.deskphone.Sip1.Account"
#define SIP1_ACCOUNT_PREFIX "/org/deskphone/Sip1/account/"
#define SIP1_MANAGER_PATH "/org/deskphone"
#define WINDOW_DEFAULT_S 60U
#define USEC_PER_SEC 1000000ULL

/* account/N -> N, 0 for anything else */
static unsigned account_index(const char *path) {
        const char *n = startswith(strempty(path), SIP1_ACCOUNT_PREFIX);
        unsigned i;

        if (!n || safe_atou(n, &i) < 0 || i == 0 || i > PROVISION_ACCOUNTS_MAX)
                return 0;
        return i;
}

static void watch_stop(Provision *pv) {
        pv->watch_timer = sd_event_source_disable_unref(pv->watch_timer);
        memset(pv->watched, 0, sizeof(pv->watched));
        erase_and_free(pv->applied_common);
        erase_and_free(pv->applied_mac);
        pv->applied_common = pv->applied_mac = NULL;
}

static void registration_failed(Provision *pv, unsigned n) {
        RollbackAccount *a = &pv->accounts[n];
        _cleanup_(freep) char *message = NULL;

        if (asprintf(&message, "account %u: registration failed after provisioning from %s (%s)", n,
                     strempty(pv->server), a->error[0] ? a->error : "no reason given") < 0)
                return;
        log_warning("Provisioning: %s", message);
        /* what would be rolled back must not come again at the next run */
        free(pv->refused_common);
        free(pv->refused_mac);
        pv->refused_common = TAKE_PTR(pv->applied_common);
        pv->refused_mac = TAKE_PTR(pv->applied_mac);
        watch_stop(pv);

        free(pv->last_error);
        pv->last_error = TAKE_PTR(message);
        pv->last_result = PROVISION_RESULT_REGISTRATION_FAILED;
        provision_bus_changed(pv->provd, "LastResult", "LastError", "CanRollback", NULL);
        if (!streq(strempty(store_get(pv->provd->store, "deskphone.provision.auto_rollback")), "1"))
                return;
        int r = provision_rollback(pv, pv->last_error);
        if (r < 0)
                log_error_errno(r, "Failed to roll the configuration back: %m");
}

/* An account's State and LastError from a{sv}. */
static void read_account_props(Provision *pv, unsigned n, DBusMessageIter *array) {
        RollbackAccount *a = &pv->accounts[n];
        bool failed = false;

        for (; dbus_message_iter_get_arg_type(array) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(array)) {
                DBusMessageIter entry, variant;
                const char *key, *value;

                dbus_message_iter_recurse(array, &entry);
                dbus_message_iter_get_basic(&entry, &key);
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &variant);
                if (dbus_message_iter_get_arg_type(&variant) != DBUS_TYPE_STRING)
                        continue;
                dbus_message_iter_get_basic(&variant, &value);
                if (streq(key, "State")) {
                        failed = streq(value, "failed") && !streq(a->state, "failed");
                        snprintf(a->state, sizeof(a->state), "%s", value);
                } else if (streq(key, "LastError"))
                        snprintf(a->error, sizeof(a->error), "%s", value);
        }
        if (failed && pv->watched[n])
                registration_failed(pv, n);
}

static void on_properties_changed(Bus *bus, DBusMessage *m, void *userdata) {
        Provision *pv = userdata;
        unsigned n = account_index(dbus_message_get_path(m));
        DBusMessageIter iter, array;
        const char *iface;

        if (n == 0 || !dbus_message_has_signature(m, "sa{sv}as"))
                return;
        dbus_message_iter_init(m, &iter);
        dbus_message_iter_get_basic(&iter, &iface);
        if (!streq(iface, SIP1_ACCOUNT_IFACE))
                return;
        dbus_message_iter_next(&iter);
        dbus_message_iter_recurse(&iter, &array);
        read_account_props(pv, n, &array);
}

/* GetManagedObjects: a{oa{sa{sv}}} */
static void on_managed_objects(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        Provision *pv = userdata;
        DBusMessageIter iter, objects;

        if (error < 0 || !reply || dbus_message_get_type(reply) != DBUS_MESSAGE_TYPE_METHOD_RETURN ||
            !dbus_message_has_signature(reply, "a{oa{sa{sv}}}"))
                return; /* no sipd: nothing to watch */
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &objects);
        for (; dbus_message_iter_get_arg_type(&objects) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&objects)) {
                DBusMessageIter object, ifaces;
                const char *path;

                dbus_message_iter_recurse(&objects, &object);
                dbus_message_iter_get_basic(&object, &path);
                unsigned n = account_index(path);
                if (n == 0)
                        continue;
                dbus_message_iter_next(&object);
                dbus_message_iter_recurse(&object, &ifaces);
                for (; dbus_message_iter_get_arg_type(&ifaces) == DBUS_TYPE_DICT_ENTRY;
                     dbus_message_iter_next(&ifaces)) {
                        DBusMessageIter entry, props;
                        const char *iface;

                        dbus_message_iter_recurse(&ifaces, &entry);
                        dbus_message_iter_get_basic(&entry, &iface);
                        if (!streq(iface, SIP1_ACCOUNT_IFACE))
                                continue;
                        dbus_message_iter_next(&entry);
                        dbus_message_iter_recurse(&entry, &props);
                        read_account_props(pv, n, &props);
                }
        }
}

void provision_rollback_refresh(Provision *pv) {
        Bus *bus = pv->provd->bus;

        if (!bus)
                return;
        DBusMessage *m = dbus_message_new_method_call(SIP1_NAME, SIP1_MANAGER_PATH,
                                                      "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
        if (!m)
                return;
        dbus_message_set_auto_start(m, FALSE); /* ask a running sipd, never start one */
        int r = bus_call_async(bus, m, 5000, on_managed_objects, pv);
        dbus_message_unref(m);
        if (r < 0)
                log_debug_errno(r, "Failed to ask sipd for its accounts, ignoring: %m");
}

int provision_rollback_setup(Provision *pv) {
        int r = bus_add_match_signal(pv->provd->bus, SIP1_NAME, NULL, "org.freedesktop.DBus.Properties",
                                     "PropertiesChanged", on_properties_changed, pv);
        if (r < 0)
                return r;
        pv->sip_match = r;
        provision_rollback_refresh(pv);
        return 0;
}

void provision_rollback_done(Provision *pv) {
        watch_stop(pv);
        free(pv->refused_common);
        free(pv->refused_mac);
        pv->refused_common = pv->refused_mac = NULL;
        if (pv->sip_match > 0 && pv->provd->bus)
                bus_remove_match(pv->provd->bus, pv->sip_match);
        pv->sip_match = 0;
}

static int on_window_end(sd_event_source *s, uint64_t usec, void *userdata) {
        Provision *pv = userdata;

        log_debug("Provisioning: the registrations held for the rollback window");
        watch_stop(pv);
        return 0;
}

void provision_rollback_watch(Provision *pv, const char *common, const char *mac) {
        unsigned window = WINDOW_DEFAULT_S, n_watched = 0;

        watch_stop(pv);
        (void) safe_atou(strempty(store_get(pv->provd->store, "deskphone.provision.rollback_window")), &window);
        for (unsigned n = 1; n <= PROVISION_ACCOUNTS_MAX; n++) {
                pv->watched[n] = streq(pv->accounts[n].state, "registered");
                n_watched += pv->watched[n];
        }
        if (window == 0 || n_watched == 0) {
                memset(pv->watched, 0, sizeof(pv->watched));
                return;
        }
        pv->applied_common = strdup(common);
        pv->applied_mac = strdup(mac);
        int r = sd_event_add_time_relative(pv->provd->event, &pv->watch_timer, CLOCK_MONOTONIC,
                                           (uint64_t) window * USEC_PER_SEC, USEC_PER_SEC, on_window_end, pv);
        if (r < 0 || !pv->applied_common || !pv->applied_mac) {
                log_warning_errno(r < 0 ? r : -ENOMEM, "Failed to watch the registrations after provisioning, "
                                  "ignoring: %m");
                watch_stop(pv);
                return;
        }
        log_debug("Provisioning: watching %u registered account(s) for %u s", n_watched, window);
}

bool provision_rollback_refused(Provision *pv, const char *common, const char *mac) {
        return pv->refused_common && streq(pv->refused_common, common) && streq_ptr(pv->refused_mac, mac);
}

bool provision_can_rollback(Provision *pv) {
        return !pv->run && store_has_previous_provisioned(pv->provd->store);
}

int provision_rollback(Provision *pv, const char *reason) {
        _cleanup_(strv_freep) char **changed = NULL;
        CfgError e = {};
        char where[600];

        if (pv->run)
                return -EINPROGRESS;
        int r = store_rollback_provisioned(pv->provd->store, &changed, &e);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                cfg_error_format(&e, where, sizeof(where));
                return log_error_errno(r, "Failed to roll the configuration back: %s",
                                       e.reason[0] ? where : strerror(-r));
        }
        watch_stop(pv);
        r = provision_applied_from_store(pv);
        if (r < 0)
                log_warning_errno(r, "Failed to record the applied files in %s, ignoring: %m", pv->dir);
        log_notice("Provisioning rolled back: %zu effective change(s), generation %llu", strv_length(changed),
                   (unsigned long long) store_generation(pv->provd->store));

        _cleanup_(freep) char *message = reason && *reason ? strjoin("rolled back: ", reason, NULL)
                                                           : strdup("rolled back");
        if (message) {
                free(pv->last_error);
                pv->last_error = TAKE_PTR(message);
        }
        pv->last_result = PROVISION_RESULT_ROLLED_BACK;
        pv->last_time = provision_now_realtime();
        provd_bus_changed(pv->provd, changed);
        provision_bus_changed(pv->provd, "LastResult", "LastError", "LastTime", "CanRollback", NULL);
        return 0;
}
