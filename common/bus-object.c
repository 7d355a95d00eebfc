/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The server side: objects registered as (path, BusInterface table, userdata),
 * method dispatch from the tables, org.freedesktop.DBus.Properties and
 * ObjectManager answered from them, and PropertiesChanged batched per loop
 * iteration. All method calls arrive through one fallback handler on "/"
 * (bus_on_method_call()), which looks the (path, interface, member) up in the
 * registered tables.
 */

#include <stdarg.h>

#include "bus-internal.h"
#include "log.h"
#include "util.h"

/* ---- objects ---- */

static Registration *registration_find(Bus *bus, const char *path, const char *iface) {
        for (Registration *r = bus->registrations; r; r = r->next)
                if (streq(r->path, path) && streq(r->iface->name, iface))
                        return r;
        return NULL;
}

bool bus_path_is_below(const char *path, const char *root) {
        size_t l = strlen(root);
        if (streq(root, "/"))
                return !streq(path, "/");
        return strncmp(path, root, l) == 0 && path[l] == '/';
}

static const char *manager_for(Bus *bus, const char *path) {
        for (Manager *m = bus->managers; m; m = m->next)
                if (bus_path_is_below(path, m->path))
                        return m->path;
        return NULL;
}

static const BusProperty *property_find(const BusInterface *iface, const char *name) {
        if (iface->properties)
                for (const BusProperty *p = iface->properties; p->name; p++)
                        if (streq(p->name, name))
                                return p;
        return NULL;
}

static int append_property(Bus *bus, DBusMessageIter *iter, const BusProperty *p, void *userdata) {
        DBusMessageIter v;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_VARIANT, p->signature, &v))
                return -ENOMEM;
        int r = p->get(bus, &v, userdata);
        if (r < 0) {
                dbus_message_iter_abandon_container(iter, &v);
                return r;
        }
        return dbus_message_iter_close_container(iter, &v) ? 0 : -ENOMEM;
}

/* a{sv} of every property of one registration (only_names: restrict to those) */
static int append_properties(Bus *bus, DBusMessageIter *iter, const Registration *reg, char **only_names) {
        DBusMessageIter dict, entry;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "{sv}", &dict))
                return -ENOMEM;
        if (reg->iface->properties)
                for (const BusProperty *p = reg->iface->properties; p->name; p++) {
                        if (only_names && !strv_contains(only_names, p->name))
                                continue;
                        if (!dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
                            !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &p->name))
                                return -ENOMEM;
                        int r = append_property(bus, &entry, p, reg->userdata);
                        if (r < 0)
                                return r;
                        if (!dbus_message_iter_close_container(&dict, &entry))
                                return -ENOMEM;
                }
        return dbus_message_iter_close_container(iter, &dict) ? 0 : -ENOMEM;
}

/* a{sa{sv}}: the interfaces of a path (only: one interface or NULL for all) */
static int append_interfaces(Bus *bus, DBusMessageIter *iter, const char *path, const BusInterface *only) {
        DBusMessageIter dict, entry;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "{sa{sv}}", &dict))
                return -ENOMEM;
        for (Registration *reg = bus->registrations; reg; reg = reg->next) {
                if (!streq(reg->path, path) || (only && reg->iface != only))
                        continue;
                if (!dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
                    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &reg->iface->name))
                        return -ENOMEM;
                int r = append_properties(bus, &entry, reg, NULL);
                if (r < 0)
                        return r;
                if (!dbus_message_iter_close_container(&dict, &entry))
                        return -ENOMEM;
        }
        return dbus_message_iter_close_container(iter, &dict) ? 0 : -ENOMEM;
}

static int emit_interfaces_added(Bus *bus, const char *path, const BusInterface *iface) {
        const char *mgr = manager_for(bus, path);
        DBusMessage *m;
        DBusMessageIter iter;

        if (!mgr)
                return 0;
        m = dbus_message_new_signal(mgr, DBUS_INTERFACE_OBJECT_MANAGER, "InterfacesAdded");
        if (!m)
                return -ENOMEM;
        dbus_message_iter_init_append(m, &iter);
        int r = dbus_message_iter_append_basic(&iter, DBUS_TYPE_OBJECT_PATH, &path) ? 0 : -ENOMEM;
        if (r >= 0)
                r = append_interfaces(bus, &iter, path, iface);
        if (r >= 0)
                r = bus_send(bus, m);
        dbus_message_unref(m);
        return r;
}

static int emit_interfaces_removed(Bus *bus, const char *path, const char *iface) {
        const char *mgr = manager_for(bus, path);
        DBusMessage *m;
        DBusMessageIter iter, array;

        if (!mgr)
                return 0;
        m = dbus_message_new_signal(mgr, DBUS_INTERFACE_OBJECT_MANAGER, "InterfacesRemoved");
        if (!m)
                return -ENOMEM;
        dbus_message_iter_init_append(m, &iter);
        int r = dbus_message_iter_append_basic(&iter, DBUS_TYPE_OBJECT_PATH, &path) &&
                                dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &array) &&
                                dbus_message_iter_append_basic(&array, DBUS_TYPE_STRING, &iface) &&
                                dbus_message_iter_close_container(&iter, &array)
                        ? bus_send(bus, m)
                        : -ENOMEM;
        dbus_message_unref(m);
        return r;
}

int bus_add_object(Bus *bus, const char *path, const BusInterface *iface, void *userdata) {
        if (!dbus_validate_path(path, NULL))
                return -EINVAL;
        if (registration_find(bus, path, iface->name))
                return -EEXIST;

        Registration *reg = calloc(1, sizeof(*reg));
        if (!reg || !(reg->path = strdup(path))) {
                free(reg);
                return -ENOMEM;
        }
        reg->iface = iface;
        reg->userdata = userdata;

        /* append, so GetManagedObjects and Introspect list objects in creation order */
        Registration **p = &bus->registrations;
        while (*p)
                p = &(*p)->next;
        *p = reg;

        return emit_interfaces_added(bus, path, iface);
}

static void drop_pending_changes(Bus *bus, const char *path, const char *iface);

int bus_remove_object(Bus *bus, const char *path, const BusInterface *iface) {
        for (Registration **p = &bus->registrations; *p; p = &(*p)->next) {
                Registration *reg = *p;
                if (!streq(reg->path, path) || reg->iface != iface)
                        continue;
                /* last state first, so a client waiting for "ended" sees it */
                bus_flush_properties_changed(bus);
                drop_pending_changes(bus, path, iface->name);
                *p = reg->next;
                free(reg->path);
                free(reg);
                return emit_interfaces_removed(bus, path, iface->name);
        }
        return -ENOENT;
}

int bus_add_object_manager(Bus *bus, const char *path) {
        Manager *m = calloc(1, sizeof(*m));
        if (!m || !(m->path = strdup(path))) {
                free(m);
                return -ENOMEM;
        }
        m->next = bus->managers;
        bus->managers = m;
        return 0;
}

void bus_foreach_interface(Bus *bus, BusInterfaceVisitor visit, void *userdata) {
        for (Registration *r = bus->registrations; r; r = r->next) {
                bool seen = false;
                for (Registration *q = bus->registrations; q != r; q = q->next)
                        if (q->iface == r->iface)
                                seen = true;
                if (!seen)
                        visit(r->iface, userdata);
        }
}

bool bus_is_object_manager(Bus *bus, const char *path) {
        for (Manager *m = bus->managers; m; m = m->next)
                if (streq(m->path, path))
                        return true;
        return false;
}

static bool path_exists(Bus *bus, const char *path) {
        if (streq(path, "/") || bus_is_object_manager(bus, path))
                return true;
        for (Registration *r = bus->registrations; r; r = r->next)
                if (streq(r->path, path) || bus_path_is_below(r->path, path))
                        return true;
        for (Manager *m = bus->managers; m; m = m->next)
                if (bus_path_is_below(m->path, path))
                        return true;
        return false;
}

/* ---- standard interfaces ---- */

static DBusHandlerResult handled(int r) {
        return r == -ENOMEM ? DBUS_HANDLER_RESULT_NEED_MEMORY : DBUS_HANDLER_RESULT_HANDLED;
}

static int reply_introspect(Bus *bus, DBusMessage *m) {
        _cleanup_(freep) char *xml = bus_introspect_path(bus, dbus_message_get_path(m));
        if (!xml)
                return -ENOMEM;
        const char *x = xml;
        return bus_reply(bus, m, DBUS_TYPE_STRING, &x, DBUS_TYPE_INVALID);
}

static int reply_managed_objects(Bus *bus, DBusMessage *m) {
        const char *root = dbus_message_get_path(m);
        DBusMessage *reply = dbus_message_new_method_return(m);
        DBusMessageIter iter, dict, entry;
        char **done = NULL;
        int r = 0;

        if (!reply)
                return -ENOMEM;
        dbus_message_iter_init_append(reply, &iter);
        if (!dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &dict))
                r = -ENOMEM;
        for (Registration *reg = bus->registrations; reg && r >= 0; reg = reg->next) {
                if (!bus_path_is_below(reg->path, root) || strv_contains(done, reg->path))
                        continue;
                (void) strv_extend(&done, reg->path);
                if (!dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
                    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_OBJECT_PATH, &reg->path)) {
                        r = -ENOMEM;
                        break;
                }
                r = append_interfaces(bus, &entry, reg->path, NULL);
                if (r >= 0 && !dbus_message_iter_close_container(&dict, &entry))
                        r = -ENOMEM;
        }
        strv_free(done);
        if (r >= 0 && !dbus_message_iter_close_container(&iter, &dict))
                r = -ENOMEM;
        if (r >= 0)
                r = bus_send(bus, reply);
        dbus_message_unref(reply);
        return r;
}

static int properties_get(Bus *bus, DBusMessage *m) {
        const char *iface, *name;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name,
                                   DBUS_TYPE_INVALID))
                return bus_reply_error(bus, m, DBUS_ERROR_INVALID_ARGS, "Expected (ss)");
        Registration *reg = registration_find(bus, dbus_message_get_path(m), iface);
        const BusProperty *p = reg ? property_find(reg->iface, name) : NULL;
        if (!p)
                return bus_reply_error(bus, m, DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s.%s", iface, name);

        DBusMessage *reply = dbus_message_new_method_return(m);
        DBusMessageIter iter;
        if (!reply)
                return -ENOMEM;
        dbus_message_iter_init_append(reply, &iter);
        int r = append_property(bus, &iter, p, reg->userdata);
        r = r < 0 ? bus_reply_error_errno(bus, m, r, "Failed to read %s: %s", name, strerror(-r))
                  : bus_send(bus, reply);
        dbus_message_unref(reply);
        return r;
}

static int properties_get_all(Bus *bus, DBusMessage *m) {
        const char *iface;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID))
                return bus_reply_error(bus, m, DBUS_ERROR_INVALID_ARGS, "Expected (s)");

        DBusMessage *reply = dbus_message_new_method_return(m);
        DBusMessageIter iter, dict;
        if (!reply)
                return -ENOMEM;
        dbus_message_iter_init_append(reply, &iter);
        Registration *reg = registration_find(bus, dbus_message_get_path(m), iface);
        int r;
        if (reg)
                r = append_properties(bus, &iter, reg, NULL);
        else if (!*iface || !path_exists(bus, dbus_message_get_path(m)))
                r = -ENOENT;
        else /* an interface without properties on an existing object: empty, like sd-bus */
                r = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
                                    dbus_message_iter_close_container(&iter, &dict)
                            ? 0
                            : -ENOMEM;
        r = r == -ENOENT ? bus_reply_error(bus, m, DBUS_ERROR_UNKNOWN_INTERFACE, "No interface %s", iface)
            : r < 0      ? bus_reply_error_errno(bus, m, r, "%s", strerror(-r))
                         : bus_send(bus, reply);
        dbus_message_unref(reply);
        return r;
}

static int properties_set(Bus *bus, DBusMessage *m) {
        DBusMessageIter iter, v;
        const char *iface, *name;

        if (!dbus_message_iter_init(m, &iter) || !streq(dbus_message_get_signature(m), "ssv"))
                return bus_reply_error(bus, m, DBUS_ERROR_INVALID_ARGS, "Expected (ssv)");
        dbus_message_iter_get_basic(&iter, &iface);
        dbus_message_iter_next(&iter);
        dbus_message_iter_get_basic(&iter, &name);
        dbus_message_iter_next(&iter);

        Registration *reg = registration_find(bus, dbus_message_get_path(m), iface);
        const BusProperty *p = reg ? property_find(reg->iface, name) : NULL;
        if (!p)
                return bus_reply_error(bus, m, DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s.%s", iface, name);
        if (!p->set)
                return bus_reply_error(bus, m, DBUS_ERROR_PROPERTY_READ_ONLY, "%s is read-only", name);

        dbus_message_iter_recurse(&iter, &v);
        char *sig = dbus_message_iter_get_signature(&v);
        bool ok = sig && streq(sig, p->signature);
        dbus_free(sig);
        if (!ok)
                return bus_reply_error(bus, m, BUS_ERROR_INVALID_ARGUMENT, "%s takes type '%s'", name,
                                       p->signature);

        BusError error = {};
        int r = p->set(bus, &v, reg->userdata, &error);
        if (r < 0)
                return bus_reply_error_errno(bus, m, r, "%s", error.message[0] ? error.message : strerror(-r));
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

/* ---- method dispatch ---- */

static const BusMethod *method_find(const BusInterface *iface, const char *member) {
        if (iface->methods)
                for (const BusMethod *m = iface->methods; m->name; m++)
                        if (streq(m->name, member))
                                return m;
        return NULL;
}

static int call_method(Bus *bus, DBusMessage *m, const BusMethod *method, void *userdata) {
        const char *sig = dbus_message_get_signature(m);

        if (!streq(sig, strempty(method->in_signature)))
                return bus_reply_error(bus, m, BUS_ERROR_INVALID_ARGUMENT,
                                       "%s takes arguments of type '%s', got '%s'", method->name,
                                       strempty(method->in_signature), sig);

        BusError error = {};
        dbus_message_ref(m);
        int r = method->handler(bus, m, userdata, &error);
        if (r < 0)
                r = bus_reply_error_errno(bus, m, r, "%s", error.message[0] ? error.message : strerror(-r));
        dbus_message_unref(m);
        return r;
}

static int dispatch_own(Bus *bus, DBusMessage *m, const char *path, const char *iface, const char *member) {
        for (Registration *reg = bus->registrations; reg; reg = reg->next) {
                if (!streq(reg->path, path) || (iface && !streq(reg->iface->name, iface)))
                        continue;
                const BusMethod *method = method_find(reg->iface, member);
                if (method)
                        return call_method(bus, m, method, reg->userdata);
                if (iface)
                        break;
        }
        if (!path_exists(bus, path))
                return bus_reply_error(bus, m, DBUS_ERROR_UNKNOWN_OBJECT, "No object %s", path);
        if (iface && !registration_find(bus, path, iface))
                return bus_reply_error(bus, m, DBUS_ERROR_UNKNOWN_INTERFACE, "No interface %s at %s",
                                       iface, path);
        return bus_reply_error(bus, m, DBUS_ERROR_UNKNOWN_METHOD, "No method %s", member);
}

DBusHandlerResult bus_on_method_call(DBusConnection *conn, DBusMessage *m, void *data) {
        Bus *bus = data;
        const char *path = dbus_message_get_path(m), *iface = dbus_message_get_interface(m),
                   *member = dbus_message_get_member(m);

        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL || !path || !member)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;

        if (streq_ptr(iface, DBUS_INTERFACE_INTROSPECTABLE) && streq(member, "Introspect"))
                return handled(reply_introspect(bus, m));
        if (streq_ptr(iface, DBUS_INTERFACE_PROPERTIES)) {
                if (streq(member, "Get"))
                        return handled(properties_get(bus, m));
                if (streq(member, "GetAll"))
                        return handled(properties_get_all(bus, m));
                if (streq(member, "Set"))
                        return handled(properties_set(bus, m));
        }
        if (streq_ptr(iface, DBUS_INTERFACE_OBJECT_MANAGER) && streq(member, "GetManagedObjects") &&
            bus_is_object_manager(bus, path))
                return handled(reply_managed_objects(bus, m));

        return handled(dispatch_own(bus, m, path, iface, member));
}

/* ---- batched PropertiesChanged ---- */

void bus_pending_change_free(PendingChange *c) {
        free(c->path);
        strv_free(c->names);
        free(c);
}

static void drop_pending_changes(Bus *bus, const char *path, const char *iface) {
        for (PendingChange **p = &bus->changes; *p;) {
                PendingChange *c = *p;
                if (streq(c->path, path) && streq(c->iface, iface)) {
                        *p = c->next;
                        bus_pending_change_free(c);
                } else
                        p = &c->next;
        }
}

static int send_properties_changed(Bus *bus, PendingChange *c) {
        Registration *reg = registration_find(bus, c->path, c->iface);
        DBusMessage *m;
        DBusMessageIter iter, array;

        if (!reg || !c->names)
                return 0;
        m = dbus_message_new_signal(c->path, DBUS_INTERFACE_PROPERTIES, "PropertiesChanged");
        if (!m)
                return -ENOMEM;
        dbus_message_iter_init_append(m, &iter);
        int r = dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &reg->iface->name) ? 0 : -ENOMEM;
        if (r >= 0)
                r = append_properties(bus, &iter, reg, c->names);
        if (r >= 0)
                r = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &array) &&
                                    dbus_message_iter_close_container(&iter, &array)
                            ? bus_send(bus, m)
                            : -ENOMEM;
        dbus_message_unref(m);
        return r;
}

void bus_flush_properties_changed(Bus *bus) {
        /* oldest first */
        PendingChange *list = NULL;
        while (bus->changes) {
                PendingChange *c = bus->changes;
                bus->changes = c->next;
                c->next = list;
                list = c;
        }
        while (list) {
                PendingChange *c = list;
                list = c->next;
                int r = send_properties_changed(bus, c);
                if (r < 0)
                        log_warning_errno(r, "Failed to send PropertiesChanged for %s: %m", c->path);
                bus_pending_change_free(c);
        }
        if (bus->changes_source)
                (void) sd_event_source_set_enabled(bus->changes_source, SD_EVENT_OFF);
}

int bus_emit_properties_changed_strv(Bus *bus, const char *path, const char *iface, char **names) {
        Registration *reg = registration_find(bus, path, iface);
        if (!reg)
                return -ENOENT;

        PendingChange *c;
        for (c = bus->changes; c; c = c->next)
                if (streq(c->path, path) && streq(c->iface, iface))
                        break;
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c || !(c->path = strdup(path))) {
                        free(c);
                        return -ENOMEM;
                }
                c->iface = reg->iface->name;
                c->next = bus->changes;
                bus->changes = c;
        }
        for (char **n = names; n && *n; n++) {
                const BusProperty *p = property_find(reg->iface, *n);
                if (!p) {
                        log_debug("No property %s on %s, not announcing it", *n, iface);
                        continue;
                }
                if (p->emits_change && !strv_contains(c->names, *n) && strv_extend(&c->names, *n) < 0)
                        return -ENOMEM;
        }
        return sd_event_source_set_enabled(bus->changes_source, SD_EVENT_ONESHOT);
}

int bus_emit_properties_changed(Bus *bus, const char *path, const char *iface, ...) {
        char *names[32];
        size_t n = 0;
        va_list ap;

        va_start(ap, iface);
        for (const char *s; (s = va_arg(ap, const char *)) && n < ELEMENTSOF(names) - 1;)
                names[n++] = (char *) s;
        va_end(ap);
        names[n] = NULL;
        return bus_emit_properties_changed_strv(bus, path, iface, names);
}

