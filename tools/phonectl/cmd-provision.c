/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "phonectl.h"
#include "util.h"

/*
 * provision [--url URL] [--wait]: Provision1.Start. With --wait, follow State
 * through PropertiesChanged (subscribed before starting, so no change is
 * missed) until the run is no longer "fetching" or "applying", then print
 * the result; a failed run exits 1 with its LastError. When a run is going
 * on already, --wait without --url waits for that one.
 */

#define PROVISION_NAME "org.deskphone.Provision1"
#define PROVISION_PATH "/org/deskphone/Provision1"
#define PROVISION_IFACE "org.deskphone.Provision1"
#define PROVISION_WAIT_DEFAULT 300.0

static int add_matches(Context *ctx) {
        int r = bus_add_match(ctx, "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='" DBUS_INTERFACE_DBUS
                                   "',member='NameOwnerChanged',arg0='" PROVISION_NAME "'");
        if (r < 0)
                return r;
        return bus_add_match(ctx, "type='signal',sender='" PROVISION_NAME "',path='" PROVISION_PATH
                                  "',interface='" PROPERTIES_IFACE "',member='PropertiesChanged',arg0='"
                                  PROVISION_IFACE "'");
}

static int append_option(DBusMessageIter *dict, const char *key, const char *value) {
        DBusMessageIter entry, variant;

        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
            !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) ||
            !dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "s", &variant) ||
            !dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &value) ||
            !dbus_message_iter_close_container(&entry, &variant) || !dbus_message_iter_close_container(dict, &entry))
                return oom();
        return 0;
}

/* Start(); with --wait and no --url, a run going on already is as good. */
static int start(Context *ctx) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(PROVISION_NAME, PROVISION_PATH, PROVISION_IFACE,
                                                                "Start");
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(error_freep) DBusError error = DBUS_ERROR_INIT;
        DBusMessageIter iter, dict;

        if (!m)
                return oom();
        dbus_message_iter_init_append(m, &iter);
        if (!dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict))
                return oom();
        if (ctx->url && append_option(&dict, "url", ctx->url) < 0)
                return -ENOMEM;
        if (!dbus_message_iter_close_container(&iter, &dict))
                return oom();

        if (bus_call_raw(ctx, m, ctx_call_timeout_ms(ctx), &reply, &error) >= 0)
                return 0;
        int r = bus_errno_from_name(error.name);
        if (r == -EINPROGRESS && ctx->wait && !ctx->url) {
                fprintf(stderr, "phonectl: provisioning is in progress already; waiting for it.\n");
                return 0;
        }
        if (r == -EHOSTUNREACH)
                return phonectl_error(r, "provd (" PROVISION_NAME ") is not running.");
        return phonectl_error(r, "%s", error.message ?: error.name);
}

static int get_all(Context *ctx, DBusMessage **ret) {
        const char *iface = PROVISION_IFACE;
        DBusMessage *reply = NULL;

        int r = bus_call_args(ctx, PROVISION_NAME, PROVISION_PATH, PROPERTIES_IFACE, "GetAll", &reply,
                              DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID);
        if (r < 0)
                return r;
        r = bus_check_signature(reply, "a{sv}");
        if (r < 0) {
                dbus_message_unref(reply);
                return r;
        }
        *ret = reply;
        return 0;
}

/* A string property from an a{sv} at dict ("" when absent). */
static const char *prop_string(DBusMessageIter *dict, const char *name) {
        DBusMessageIter v, inner;
        const char *s = "";

        if (dict_find(dict, name, &v) < 0 || dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_VARIANT)
                return s;
        dbus_message_iter_recurse(&v, &inner);
        if (dbus_message_iter_get_arg_type(&inner) == DBUS_TYPE_STRING)
                dbus_message_iter_get_basic(&inner, &s);
        return s;
}

static bool state_running(const char *state) {
        return streq(state, "fetching") || streq(state, "applying");
}

static int remaining_ms(uint64_t deadline) {
        uint64_t t = now_usec();
        return t >= deadline ? 0 : (int) MIN((deadline - t + 999) / 1000, (uint64_t) INT_MAX);
}

/* Has this message ended the wait? 1 yes, 0 no, negative: error. */
static int handle_message(DBusMessage *m, const char *owner) {
        DBusMessageIter iter;

        if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected"))
                return phonectl_error(-ECONNRESET, "Lost the connection to the bus.");
        if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged"))
                return phonectl_error(-ECONNRESET, "provd left the bus during provisioning.");
        if (!dbus_message_is_signal(m, PROPERTIES_IFACE, "PropertiesChanged") ||
            !streq_ptr(dbus_message_get_sender(m), owner) || !dbus_message_has_signature(m, "sa{sv}as") ||
            !dbus_message_iter_init(m, &iter))
                return 0;
        dbus_message_iter_next(&iter);
        const char *state = prop_string(&iter, "State");
        return *state && !state_running(state);
}

static int wait_for_end(Context *ctx, const char *owner) {
        double timeout = ctx->timeout > 0 ? ctx->timeout : PROVISION_WAIT_DEFAULT;
        uint64_t deadline = now_usec() + (uint64_t) (timeout * 1e6);
        _cleanup_(message_unrefp) DBusMessage *props = NULL;
        DBusMessageIter iter;

        int r = get_all(ctx, &props);
        if (r < 0)
                return r;
        dbus_message_iter_init(props, &iter);
        if (!state_running(prop_string(&iter, "State")))
                return 0;
        for (;;) {
                DBusMessage *m;
                while ((m = dbus_connection_pop_message(ctx->bus))) {
                        r = handle_message(m, owner);
                        dbus_message_unref(m);
                        if (r != 0)
                                return r < 0 ? r : 0;
                }
                int ms = remaining_ms(deadline);
                if (ms <= 0)
                        return phonectl_error(-ETIMEDOUT, "Timed out after %g s waiting for provisioning to end.",
                                              timeout);
                if (!dbus_connection_read_write(ctx->bus, ms))
                        return phonectl_error(-ECONNRESET, "Lost the connection to the bus.");
        }
}

static void print_files_text(DBusMessageIter *files) {
        DBusMessageIter array, s;

        dbus_message_iter_recurse(files, &array);
        if (dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_STRUCT)
                printf("Files:\n");
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&array)) {
                const char *f[3] = { "", "", "" };
                dbus_message_iter_recurse(&array, &s);
                for (size_t i = 0; i < 3 && dbus_message_iter_get_arg_type(&s) == DBUS_TYPE_STRING; i++) {
                        dbus_message_iter_get_basic(&s, &f[i]);
                        dbus_message_iter_next(&s);
                }
                printf("  %-12s %s%s%s%s\n", f[1], f[0], *f[2] ? " (" : "", f[2], *f[2] ? ")" : "");
        }
}

static void print_result(Context *ctx, DBusMessage *props) {
        DBusMessageIter iter, v, files;

        dbus_message_iter_init(props, &iter);
        if (ctx->json) {
                JsonWriter w = JSON_WRITER_INIT(stdout);
                value_print_json(&w, &iter);
                json_finish(&w);
                return;
        }
        const char *result = prop_string(&iter, "LastResult"), *error = prop_string(&iter, "LastError");
        printf("Result: %s\nServer: %s\n", *result ? result : "(none)", prop_string(&iter, "Server"));
        if (*error)
                printf("Error: %s\n", error);
        if (dict_find(&iter, "Files", &v) >= 0 && dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_VARIANT) {
                dbus_message_iter_recurse(&v, &files);
                if (dbus_message_iter_get_arg_type(&files) == DBUS_TYPE_ARRAY)
                        print_files_text(&files);
        }
}

int verb_provision(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *props = NULL;
        _cleanup_(freep) char *owner = NULL;
        DBusMessageIter iter;

        int r = ctx->wait ? add_matches(ctx) : 0;
        if (r >= 0 && ctx->wait)
                r = bus_get_name_owner(ctx, PROVISION_NAME, &owner);
        if (r >= 0)
                r = start(ctx);
        if (r < 0)
                return r;
        if (!ctx->wait) {
                if (!ctx->json)
                        printf("Provisioning started.\n");
                return 0;
        }
        r = wait_for_end(ctx, owner);
        if (r >= 0)
                r = get_all(ctx, &props);
        if (r < 0)
                return r;
        print_result(ctx, props);
        dbus_message_iter_init(props, &iter);
        if (streq(prop_string(&iter, "LastResult"), "failed"))
                return phonectl_error(-EIO, "Provisioning failed: %s", prop_string(&iter, "LastError"));
        return 0;
}
