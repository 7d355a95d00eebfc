/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "phonectl.h"

/*
 * status: which services run, and every object they export with its
 * properties, from GetManagedObjects. provd owns two names; its objects are
 * fetched once and, in JSON, listed under the name their path belongs to.
 */

#define MANAGED_OBJECTS_SIGNATURE "a{oa{sa{sv}}}"

typedef struct ServiceState {
        char *owner;          /* unique name, NULL when not running */
        DBusMessage *objects; /* GetManagedObjects reply, NULL when it failed */
} ServiceState;

static void states_free(ServiceState *states) {
        for (size_t i = 0; i < n_services; i++) {
                free(states[i].owner);
                if (states[i].objects)
                        dbus_message_unref(states[i].objects);
        }
        free(states);
}

static void states_freep(ServiceState **states) {
        if (*states)
                states_free(*states);
}

/* The first service with the same owner as service i, i itself if there is none before. */
static size_t first_with_owner(const ServiceState *states, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (streq_ptr(states[j].owner, states[i].owner))
                        return j;
        return i;
}

static int get_managed_objects(Context *ctx, const char *dest, DBusMessage **ret) {
        _cleanup_(message_unrefp) DBusMessage *m = NULL, *reply = NULL;

        m = bus_new_call(dest, DESKPHONE_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects");
        if (!m)
                return oom();
        int r = bus_call(ctx, m, ctx_call_timeout_ms(ctx), &reply);
        if (r < 0)
                return r;
        r = bus_check_signature(reply, MANAGED_OBJECTS_SIGNATURE);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reply);
        return 0;
}

/* A service that fails to answer is reported and skipped; the first error is returned. */
static int states_collect(Context *ctx, ServiceState *states) {
        int ret = 0;

        for (size_t i = 0; i < n_services; i++) {
                int r = bus_get_name_owner(ctx, services[i].name, &states[i].owner);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_services; i++) {
                size_t j = first_with_owner(states, i);
                if (!states[i].owner)
                        continue;
                if (j < i) {
                        if (states[j].objects)
                                states[i].objects = dbus_message_ref(states[j].objects);
                        continue;
                }
                int r = get_managed_objects(ctx, states[i].owner, &states[i].objects);
                if (r < 0 && ret >= 0)
                        ret = r;
        }
        return ret;
}

static bool is_standard_interface(const char *iface) {
        return startswith(iface, "org.freedesktop.DBus.");
}

static int print_interface_text(const char *path, const DictEntry *iface) {
        _cleanup_(freep) DictEntry *props = NULL;
        DBusMessageIter value = iface->value;
        size_t n;

        int r = dict_collect(&value, &props, &n);
        if (r < 0)
                return r;
        printf("  %s (%s)\n", path, iface->key);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *text = NULL;
                if (value_to_text(&props[i].value, &text) < 0)
                        return -ENOMEM;
                printf("    %s:%s%s\n", props[i].key, *text ? " " : "", text);
        }
        return 0;
}

static int print_objects_text(DBusMessage *reply) {
        _cleanup_(freep) DictEntry *objects = NULL;
        DBusMessageIter iter;
        size_t n;

        dbus_message_iter_init(reply, &iter);
        int r = dict_collect(&iter, &objects, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_(freep) DictEntry *ifaces = NULL;
                size_t m;

                r = dict_collect(&objects[i].value, &ifaces, &m);
                for (size_t k = 0; r >= 0 && k < m; k++)
                        if (!is_standard_interface(ifaces[k].key))
                                r = print_interface_text(objects[i].key, &ifaces[k]);
        }
        if (r < 0)
                return phonectl_error(r, "Failed to read the objects of %s: %m",
                                      strempty(dbus_message_get_sender(reply)));
        return 0;
}

static int print_status_text(const ServiceState *states) {
        for (size_t i = 0; i < n_services; i++) {
                const char *daemon = services[i].daemon;
                bool running = false;

                if (i > 0 && streq(daemon, services[i - 1].daemon))
                        continue; /* a daemon's names are next to each other in the table */
                for (size_t j = i; j < n_services && streq(services[j].daemon, daemon); j++)
                        running = running || states[j].owner;
                printf("%s: %s\n", daemon, running ? "running" : "not running");

                for (size_t j = i; j < n_services && streq(services[j].daemon, daemon); j++) {
                        if (!states[j].objects || first_with_owner(states, j) < j)
                                continue;
                        int r = print_objects_text(states[j].objects);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Does the object at path belong under service i in JSON? Its own path does; a path of
 * no name its owner has goes to the first name of that owner. */
static bool object_belongs(const ServiceState *states, size_t i, const char *path) {
        _cleanup_(freep) char *name = service_from_path(path);

        if (name && streq(name, services[i].name))
                return true;
        for (size_t j = 0; j < n_services; j++) {
                if (j == i || !streq_ptr(states[j].owner, states[i].owner))
                        continue;
                if (j < i || (name && streq(name, services[j].name)))
                        return false;
        }
        return true;
}

static int print_objects_json(JsonWriter *w, const ServiceState *states, size_t i) {
        _cleanup_(freep) DictEntry *objects = NULL;
        DBusMessageIter iter;
        size_t n = 0;

        json_key(w, "objects");
        json_begin_object(w);
        if (states[i].objects && dbus_message_iter_init(states[i].objects, &iter)) {
                int r = dict_collect(&iter, &objects, &n);
                if (r < 0)
                        return phonectl_error(r, "Failed to read the objects of %s: %m", services[i].name);
        }
        for (size_t k = 0; k < n; k++)
                if (object_belongs(states, i, objects[k].key)) {
                        json_key(w, objects[k].key);
                        value_print_json(w, &objects[k].value);
                }
        json_end_object(w);
        return 0;
}

static int print_status_json(const ServiceState *states) {
        JsonWriter w = JSON_WRITER_INIT(stdout);

        json_begin_object(&w);
        json_key(&w, "services");
        json_begin_object(&w);
        for (size_t i = 0; i < n_services; i++) {
                json_key(&w, services[i].name);
                json_begin_object(&w);
                json_key(&w, "running");
                json_bool(&w, states[i].owner);
                int r = print_objects_json(&w, states, i);
                if (r < 0)
                        return r;
                json_end_object(&w);
        }
        json_end_object(&w);
        json_end_object(&w);
        json_finish(&w);
        return 0;
}

int verb_status(Context *ctx, int argc, char **argv) {
        _cleanup_(states_freep) ServiceState *states = calloc(n_services, sizeof(ServiceState));

        if (!states)
                return oom();
        int ret = states_collect(ctx, states);
        int r = ctx->json ? print_status_json(states) : print_status_text(states);
        return r < 0 ? r : ret;
}
