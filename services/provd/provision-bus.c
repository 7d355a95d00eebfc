/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.deskphone.Provision1: validate arguments, call provision.c, reply. */
#include <stdarg.h>

#include "log.h"
#include "provd.h"
#include "schema.h"
#include "util.h"

typedef struct StartOptions {
        const char *url;
        bool force;
        const char *reason; /* NULL, or "check-sync": sipd relays the registrar's NOTIFY */
} StartOptions;

/* Start's options: {"url": s, "force": b, "reason": s}. */
static int read_options(DBusMessage *m, StartOptions *ret, BusError *error) {
        DBusMessageIter iter, array;
        const char *url = NULL, *reason = NULL;
        dbus_bool_t force = FALSE;

        dbus_message_iter_init(m, &iter);
        dbus_message_iter_recurse(&iter, &array);
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&array)) {
                DBusMessageIter entry, variant;
                const char *key;

                dbus_message_iter_recurse(&array, &entry);
                dbus_message_iter_get_basic(&entry, &key);
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &variant);
                int type = dbus_message_iter_get_arg_type(&variant);
                if (streq(key, "url") && type == DBUS_TYPE_STRING)
                        dbus_message_iter_get_basic(&variant, &url);
                else if (streq(key, "force") && type == DBUS_TYPE_BOOLEAN)
                        dbus_message_iter_get_basic(&variant, &force);
                else if (streq(key, "reason") && type == DBUS_TYPE_STRING)
                        dbus_message_iter_get_basic(&variant, &reason);
                else if (streq(key, "url") || streq(key, "force") || streq(key, "reason"))
                        return bus_error_set(error, -EINVAL,
                                             "Option '%s' has the wrong type (url: s, force: b, reason: s)", key);
                else
                        return bus_error_set(error, -EINVAL, "Unknown option '%s' (known: url, force, reason)", key);
        }
        if (reason && !streq(reason, "check-sync"))
                return bus_error_set(error, -EINVAL, "Unknown reason '%s' (known: check-sync)", reason);
        *ret = (StartOptions) { .url = url, .force = force, .reason = reason };
        return 0;
}

static int check_url(const char *url, BusError *error) {
        const SchemaKey *k = schema_find("static.auto_provision.server.url");
        char reason[256] = "";

        if (!*url)
                return bus_error_set(error, -EINVAL, "The URL is empty");
        int r = schema_validate(k, url, NULL, reason, sizeof(reason));
        if (r < 0)
                return bus_error_set(error, r, "Invalid URL: %s", reason[0] ? reason : strerror(-r));
        return 0;
}

static int do_start(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        StartOptions o;
        char reason[256] = "";

        int r = read_options(m, &o, error);
        if (r >= 0 && o.url)
                r = check_url(o.url, error);
        if (r < 0)
                return r;
        if (o.reason)
                log_info("Provisioning asked for: %s", o.reason);
        /* the files changed: a run going on is followed by one more (provision-schedule.c) */
        if (o.reason && streq(o.reason, "check-sync") && !o.url && !o.force)
                r = provision_check_sync(p->provision, reason, sizeof(reason));
        else
                r = provision_start(p->provision, o.url, o.force, reason, sizeof(reason));
        if (r == -EINPROGRESS)
                return bus_error_set(error, r, "Provisioning is in progress already");
        if (r < 0)
                return bus_error_set(error, r, "%s", reason[0] ? reason : strerror(-r));
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int do_cancel(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;

        int r = provision_cancel(p->provision);
        if (r == -ENOENT)
                return bus_error_set(error, r, "No provisioning is in progress");
        if (r < 0 && r != -ECANCELED)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int do_rollback(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;

        int r = provision_rollback(p->provision, "asked for");
        if (r == -ENOENT)
                return bus_error_set(error, r, "There is no earlier provisioned configuration to go back to");
        if (r == -EINPROGRESS)
                return bus_error_set(error, r, "Provisioning is in progress");
        if (r < 0)
                return bus_error_set(error, r, "Cannot roll the configuration back: %s", strerror(-r));
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

/* sipd relays a check-sync NOTIFY of a registrar: that Start, and no other, needs no administrator. */
static bool is_check_sync_from_sipd(Bus *bus, DBusMessage *m) {
        StartOptions o;
        BusError e = {};

        return bus_sender_owns_name(bus, dbus_message_get_sender(m), "org.deskphone.Sip1") &&
               read_options(m, &o, &e) >= 0 && !o.url && !o.force && o.reason && streq(o.reason, "check-sync");
}

static int method_start(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        if (is_check_sync_from_sipd(bus, m))
                return do_start(bus, m, userdata, error);
        return provd_authorize(bus, m, userdata, do_start, error);
}

static int method_cancel(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_cancel, error);
}

static int method_rollback(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_rollback, error);
}

static int append_string(DBusMessageIter *iter, const char *s) {
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_STRING, &s) ? 0 : -ENOMEM;
}

static int append_uint64(DBusMessageIter *iter, uint64_t v) {
        dbus_uint64_t u = v;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT64, &u) ? 0 : -ENOMEM;
}

static int property_state(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        return append_string(iter, provision_state_to_string(provision_get_state(p->provision)));
}

static int property_last_result(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        return append_string(iter, provision_result_to_string(provision_get_last_result(p->provision)));
}

static int property_last_error(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        return append_string(iter, provision_get_last_error(p->provision));
}

static int property_last_time(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        return append_uint64(iter, provision_get_last_time(p->provision));
}

static int property_next_time(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        return append_uint64(iter, provision_get_next_time(p->provision));
}

static int property_server(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        return append_string(iter, provision_get_server(p->provision));
}

static int property_can_rollback(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        dbus_bool_t b = provision_can_rollback(p->provision);
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_BOOLEAN, &b) ? 0 : -ENOMEM;
}

static int property_files(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        DBusMessageIter array, entry;
        size_t n;
        const ProvisionFileInfo *files = provision_get_files(p->provision, &n);

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "(sss)", &array))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!dbus_message_iter_open_container(&array, DBUS_TYPE_STRUCT, NULL, &entry) ||
                    append_string(&entry, files[i].url) < 0 || append_string(&entry, files[i].result) < 0 ||
                    append_string(&entry, files[i].detail) < 0 || !dbus_message_iter_close_container(&array, &entry)) {
                        dbus_message_iter_abandon_container_if_open(&array, &entry);
                        dbus_message_iter_abandon_container(iter, &array);
                        return -ENOMEM;
                }
        }
        return dbus_message_iter_close_container(iter, &array) ? 0 : -ENOMEM;
}

static const BusMethod provision_methods[] = {
        { "Start", "a{sv}", "options", "", "", method_start },
        { "Cancel", "", "", "", "", method_cancel },
        { "Rollback", "", "", "", "", method_rollback },
        {}
};

static const BusProperty provision_properties[] = {
        { "State", "s", property_state, NULL, true },
        { "LastResult", "s", property_last_result, NULL, true },
        { "LastError", "s", property_last_error, NULL, true },
        { "LastTime", "t", property_last_time, NULL, true },
        { "Server", "s", property_server, NULL, true },
        { "NextTime", "t", property_next_time, NULL, true },
        { "Files", "a(sss)", property_files, NULL, true },
        { "CanRollback", "b", property_can_rollback, NULL, true },
        {}
};

const BusInterface provd_provision_interface = {
        .name = PROVD_PROVISION_NAME,
        .methods = provision_methods,
        .properties = provision_properties,
};

void provision_bus_changed(Provd *p, const char *property, ...) {
        char *names[16];
        size_t n = 0;
        va_list ap;

        if (!p->bus)
                return;
        va_start(ap, property);
        for (const char *s = property; s && n < ELEMENTSOF(names) - 1; s = va_arg(ap, const char *))
                names[n++] = (char *) s;
        va_end(ap);
        names[n] = NULL;
        (void) bus_emit_properties_changed_strv(p->bus, PROVD_PROVISION_PATH, PROVD_PROVISION_NAME, names);
}

int provision_bus_register(Provd *p) {
        int r = bus_add_object(p->bus, PROVD_PROVISION_PATH, &provd_provision_interface, p);
        if (r >= 0)
                r = provision_rollback_setup(p->provision);
        if (r < 0)
                return r;
        return bus_request_name(p->bus, PROVD_PROVISION_NAME);
}
