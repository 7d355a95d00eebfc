/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "phonectl.h"
#include "util.h"

/*
 * wait OBJECT PROPERTY VALUE: subscribe first (PropertiesChanged on the
 * object, InterfacesAdded/Removed from the service's object manager, the
 * service's NameOwnerChanged), then read the current state, then block on
 * the connection until the value matches or the time is up. No polling: the
 * full state is read again only when the object or the service comes or goes.
 */

#define WAIT_TIMEOUT_DEFAULT 30.0

typedef struct Waiter {
        Context *ctx;
        const char *object;   /* as the user gave it */
        const char *property;
        const char *value;
        char *path;
        char *service;        /* org.deskphone.X */
        char *owner;          /* its unique name, NULL when not running */
        char *now;            /* what the property is now, for the timeout message */
        double timeout;       /* seconds */
        uint64_t deadline;    /* CLOCK_MONOTONIC, in usec */
        bool matched;
} Waiter;

static void waiter_done(Waiter *w) {
        free(w->path);
        free(w->service);
        free(w->owner);
        free(w->now);
}

static int remaining_ms(const Waiter *w) {
        uint64_t t = now_usec();

        if (t >= w->deadline)
                return 0;
        return (int) MIN((w->deadline - t + 999) / 1000, (uint64_t) INT_MAX);
}

/* The state when there is no value: "sipd not running", "/org/... does not exist". */
static int set_now(Waiter *w, const char *subject, const char *state) {
        free(w->now);
        w->now = strjoin(subject, state, NULL);
        w->matched = false;
        return w->now ? 0 : oom();
}

static int add_matches(Waiter *w) {
        char *rules[] = {
                strjoin("type='signal',sender='" DBUS_SERVICE_DBUS "',path='" DBUS_PATH_DBUS "',"
                        "interface='" DBUS_INTERFACE_DBUS "',member='NameOwnerChanged',arg0='",
                        w->service, "'", NULL),
                strjoin("type='signal',sender='", w->service, "',path='", w->path,
                        "',interface='" PROPERTIES_IFACE "',member='PropertiesChanged'", NULL),
                strjoin("type='signal',sender='", w->service,
                        "',path='" DESKPHONE_PATH "',interface='" OBJECT_MANAGER_IFACE "'", NULL),
        };
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(rules); i++)
                r = rules[i] ? bus_add_match(w->ctx, rules[i]) : oom();
        for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                free(rules[i]);
        return r;
}

static int evaluate(Waiter *w, DBusMessageIter *variant) {
        DBusMessageIter value = *variant;
        bool match;

        while (dbus_message_iter_get_arg_type(&value) == DBUS_TYPE_VARIANT) {
                DBusMessageIter inner;
                dbus_message_iter_recurse(&value, &inner);
                value = inner;
        }
        int r = value_matches(&value, w->value, &match);
        if (r == -EUSAGE)
                return usage_error("%s of %s is %s; '%s' is not one.", w->property, w->object,
                                   dbus_message_iter_get_arg_type(&value) == DBUS_TYPE_BOOLEAN ?
                                   "a boolean (true or false)" : "a number", w->value);
        if (r < 0)
                return oom();
        free(w->now);
        w->now = NULL;
        if (value_to_text(&value, &w->now) < 0)
                return oom();
        w->matched = match;
        return 0;
}

/* Look for the property in every interface of the object. */
static int evaluate_interfaces(Waiter *w, DBusMessageIter *ifaces) {
        DBusMessageIter sub;

        dbus_message_iter_recurse(ifaces, &sub);
        for (; dbus_message_iter_get_arg_type(&sub) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&sub)) {
                DBusMessageIter entry, value;
                dbus_message_iter_recurse(&sub, &entry);
                dbus_message_iter_next(&entry);
                if (dict_find(&entry, w->property, &value) >= 0)
                        return evaluate(w, &value);
        }
        return phonectl_error(-ENOENT, "%s has no property %s.", w->path, w->property);
}

/* Read the whole state of the object again. */
static int refresh(Waiter *w) {
        _cleanup_(message_unrefp) DBusMessage *m = NULL, *reply = NULL;
        _cleanup_(error_freep) DBusError error = DBUS_ERROR_INIT;
        DBusMessageIter iter, ifaces;

        if (!w->owner)
                return set_now(w, service_daemon(w->service), " not running");

        m = bus_new_call(w->owner, DESKPHONE_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects");
        if (!m)
                return oom();
        int r = bus_call_raw(w->ctx, m, MAX(remaining_ms(w), 1), &reply, &error);
        if (r < 0) {
                /* the owner we asked left before it answered (a crash, a restart): the
                 * owner change that follows makes us read the new one's state */
                bool left = dbus_error_has_name(&error, DBUS_ERROR_SERVICE_UNKNOWN) ||
                            dbus_error_has_name(&error, DBUS_ERROR_NAME_HAS_NO_OWNER) ||
                            (dbus_error_has_name(&error, DBUS_ERROR_NO_REPLY) && remaining_ms(w) > 0);
                r = bus_errno_from_name(error.name);
                if (r == -EHOSTUNREACH || left) /* it just left */
                        return set_now(w, service_daemon(w->service), " not running");
                if (r == -ETIMEDOUT && remaining_ms(w) == 0)
                        return 0; /* the loop reports the time out */
                return phonectl_error(r, "%s", strempty(error.message));
        }
        r = bus_check_signature(reply, "a{oa{sa{sv}}}");
        if (r < 0)
                return r;

        dbus_message_iter_init(reply, &iter);
        if (dict_find(&iter, w->path, &ifaces) < 0)
                return set_now(w, w->path, " does not exist");
        return evaluate_interfaces(w, &ifaces);
}

static int on_name_owner_changed(Waiter *w, DBusMessage *m) {
        const char *name, *old_owner, *new_owner;

        if (!streq_ptr(dbus_message_get_sender(m), DBUS_SERVICE_DBUS) ||
            !dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                   DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) ||
            !streq(name, w->service))
                return 0;

        free(w->owner);
        w->owner = NULL;
        if (*new_owner && !(w->owner = strdup(new_owner)))
                return oom();
        return refresh(w);
}

static int on_properties_changed(Waiter *w, DBusMessage *m) {
        DBusMessageIter iter, value;

        if (!dbus_message_has_signature(m, "sa{sv}as") || !dbus_message_iter_init(m, &iter))
                return 0;
        dbus_message_iter_next(&iter);
        if (dict_find(&iter, w->property, &value) >= 0)
                return evaluate(w, &value);

        DBusMessageIter invalidated;
        dbus_message_iter_next(&iter);
        dbus_message_iter_recurse(&iter, &invalidated);
        for (; dbus_message_iter_get_arg_type(&invalidated) == DBUS_TYPE_STRING;
             dbus_message_iter_next(&invalidated)) {
                const char *name;
                dbus_message_iter_get_basic(&invalidated, &name);
                if (streq(name, w->property))
                        return refresh(w);
        }
        return 0;
}

/* InterfacesAdded or InterfacesRemoved: read everything again if it is about our object. */
static int on_interfaces_changed(Waiter *w, DBusMessage *m) {
        const char *path;
        DBusMessageIter iter;

        if (!dbus_message_iter_init(m, &iter) ||
            dbus_message_iter_get_arg_type(&iter) != DBUS_TYPE_OBJECT_PATH)
                return 0;
        dbus_message_iter_get_basic(&iter, &path);
        return streq(path, w->path) ? refresh(w) : 0;
}

static int handle_message(Waiter *w, DBusMessage *m) {
        if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected"))
                return phonectl_error(-ECONNRESET, "Lost the connection to the bus.");
        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
                return 0;
        if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged"))
                return on_name_owner_changed(w, m);
        if (!w->owner || !streq_ptr(dbus_message_get_sender(m), w->owner))
                return 0;
        if (dbus_message_is_signal(m, PROPERTIES_IFACE, "PropertiesChanged") &&
            dbus_message_has_path(m, w->path))
                return on_properties_changed(w, m);
        if ((dbus_message_is_signal(m, OBJECT_MANAGER_IFACE, "InterfacesAdded") ||
             dbus_message_is_signal(m, OBJECT_MANAGER_IFACE, "InterfacesRemoved")) &&
            dbus_message_has_path(m, DESKPHONE_PATH))
                return on_interfaces_changed(w, m);
        return 0;
}

/* Handle what has arrived, then sleep in read_write() until more comes or time is up. */
static int waiter_run(Waiter *w) {
        for (;;) {
                DBusMessage *m;

                while (!w->matched && (m = dbus_connection_pop_message(w->ctx->bus))) {
                        int r = handle_message(w, m);
                        dbus_message_unref(m);
                        if (r < 0)
                                return r;
                }
                if (w->matched)
                        return 0;

                int ms = remaining_ms(w);
                if (ms <= 0)
                        return phonectl_error(-ETIMEDOUT, "Timed out after %g s waiting for %s %s = %s (now: %s)",
                                              w->timeout, w->object, w->property, w->value, strempty(w->now));
                if (!dbus_connection_read_write(w->ctx->bus, ms))
                        return phonectl_error(-ECONNRESET, "Lost the connection to the bus.");
        }
}

int verb_wait(Context *ctx, int argc, char **argv) {
        Waiter w = {
                .ctx = ctx,
                .object = argv[1],
                .property = argv[2],
                .value = argv[3],
                .timeout = ctx->timeout > 0 ? ctx->timeout : WAIT_TIMEOUT_DEFAULT,
        };
        int r;

        w.deadline = now_usec() + (uint64_t) (w.timeout * 1e6);
        r = object_path_from_string(w.object, &w.path);
        if (r >= 0 && !(w.service = service_from_path(w.path)))
                r = oom();
        if (r >= 0)
                r = add_matches(&w);
        if (r >= 0)
                r = bus_get_name_owner(ctx, w.service, &w.owner);
        if (r >= 0)
                r = refresh(&w);
        if (r >= 0)
                r = waiter_run(&w);
        waiter_done(&w);
        return r;
}
