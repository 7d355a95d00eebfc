/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "bus.h"
#include "log.h"
#include "util.h"

/*
 * libdbus meets sd-event here:
 *  - libdbus may add two watches (read, write) on one fd; epoll takes one
 *    source per fd, so watches are merged per fd into one IoSource whose
 *    event mask is the union of the enabled watches;
 *  - every DBusTimeout is a one-shot CLOCK_MONOTONIC timer, re-armed after
 *    dbus_timeout_handle() while the timeout stays enabled;
 *  - dispatching runs from a defer source that the dispatch-status callback
 *    switches on, so no message waits for the next fd event.
 * All method calls arrive through one fallback handler on "/", which looks
 * the (path, interface, member) up in the registered tables.
 */

typedef struct IoSource {
        int fd;
        sd_event_source *source;
        DBusWatch *watches[4];
        struct IoSource *next;
} IoSource;

typedef struct Registration {
        char *path;
        const BusInterface *iface;
        void *userdata;
        struct Registration *next;
} Registration;

typedef struct PendingChange {
        char *path;
        const char *iface; /* points into the registration's table */
        char **names;
        struct PendingChange *next;
} PendingChange;

typedef struct Match {
        int id;
        char *sender, *path, *iface, *member, *rule;
        BusSignalCallback cb;
        void *userdata;
        struct Match *next;
} Match;

typedef struct TrackedName {
        char *name;
        char *owner;
        struct TrackedName *next;
} TrackedName;

typedef struct Manager {
        char *path;
        struct Manager *next;
} Manager;

struct Bus {
        sd_event *event;
        DBusConnection *conn;
        sd_event_source *dispatch_source;
        sd_event_source *changes_source;
        IoSource *io_sources;
        Registration *registrations;
        PendingChange *changes;
        Match *matches;
        int next_match_id;
        TrackedName *names;
        Manager *managers;
        void (*disconnect_cb)(Bus *bus, void *userdata);
        void *disconnect_userdata;
};

/* ---- errors ---- */

int bus_error_set(BusError *e, int error, const char *format, ...) {
        if (e) {
                va_list ap;
                va_start(ap, format);
                vsnprintf(e->message, sizeof(e->message), format, ap);
                va_end(ap);
        }
        return error < 0 ? error : -error;
}

static const struct {
        int error;
        const char *name;
} errno_map[] = {
        { ENOENT, BUS_ERROR_NOT_FOUND },          { ENXIO, BUS_ERROR_NOT_FOUND },
        { ESRCH, BUS_ERROR_NOT_FOUND },           { EINVAL, BUS_ERROR_INVALID_ARGUMENT },
        { ERANGE, BUS_ERROR_INVALID_ARGUMENT },   { EBADMSG, BUS_ERROR_INVALID_ARGUMENT },
        { E2BIG, BUS_ERROR_INVALID_ARGUMENT },    { EPERM, BUS_ERROR_NOT_AUTHORIZED },
        { EACCES, BUS_ERROR_NOT_AUTHORIZED },     { EBUSY, BUS_ERROR_BUSY },
        { EINPROGRESS, BUS_ERROR_IN_PROGRESS },   { EALREADY, BUS_ERROR_IN_PROGRESS },
        { EOPNOTSUPP, BUS_ERROR_NOT_SUPPORTED },  { ENOSYS, BUS_ERROR_NOT_SUPPORTED },
        { ETIMEDOUT, BUS_ERROR_TIMED_OUT },
};

const char *bus_error_name_from_errno(int error) {
        error = error < 0 ? -error : error;
        for (size_t i = 0; i < ELEMENTSOF(errno_map); i++)
                if (errno_map[i].error == error)
                        return errno_map[i].name;
        return BUS_ERROR_FAILED;
}

int bus_error_to_errno(const DBusError *error) {
        if (!dbus_error_is_set(error))
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(errno_map); i++)
                if (streq(error->name, errno_map[i].name))
                        return -errno_map[i].error;
        if (dbus_error_has_name(error, DBUS_ERROR_NO_MEMORY))
                return -ENOMEM;
        if (dbus_error_has_name(error, DBUS_ERROR_SERVICE_UNKNOWN) ||
            dbus_error_has_name(error, DBUS_ERROR_NAME_HAS_NO_OWNER) ||
            dbus_error_has_name(error, DBUS_ERROR_UNKNOWN_OBJECT) ||
            dbus_error_has_name(error, DBUS_ERROR_UNKNOWN_METHOD) ||
            dbus_error_has_name(error, DBUS_ERROR_UNKNOWN_INTERFACE) ||
            dbus_error_has_name(error, DBUS_ERROR_UNKNOWN_PROPERTY))
                return -ENOENT;
        if (dbus_error_has_name(error, DBUS_ERROR_INVALID_ARGS))
                return -EINVAL;
        if (dbus_error_has_name(error, DBUS_ERROR_ACCESS_DENIED) ||
            dbus_error_has_name(error, DBUS_ERROR_AUTH_FAILED))
                return -EACCES;
        if (dbus_error_has_name(error, DBUS_ERROR_NO_REPLY) ||
            dbus_error_has_name(error, DBUS_ERROR_TIMEOUT) ||
            dbus_error_has_name(error, DBUS_ERROR_TIMED_OUT))
                return -ETIMEDOUT;
        if (dbus_error_has_name(error, DBUS_ERROR_DISCONNECTED) ||
            dbus_error_has_name(error, DBUS_ERROR_NO_SERVER))
                return -ECONNRESET;
        return -EIO;
}

/* ---- watches ---- */

static unsigned watch_flags_to_epoll(unsigned flags) {
        return (flags & DBUS_WATCH_READABLE ? EPOLLIN : 0) | (flags & DBUS_WATCH_WRITABLE ? EPOLLOUT : 0);
}

static void io_source_update(IoSource *s) {
        unsigned events = 0;

        for (size_t i = 0; i < ELEMENTSOF(s->watches); i++)
                if (s->watches[i] && dbus_watch_get_enabled(s->watches[i]))
                        events |= watch_flags_to_epoll(dbus_watch_get_flags(s->watches[i]));
        (void) sd_event_source_set_io_events(s->source, events);
        (void) sd_event_source_set_enabled(s->source, events ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        IoSource *s = userdata;
        unsigned flags = (revents & EPOLLIN ? DBUS_WATCH_READABLE : 0) |
                         (revents & EPOLLOUT ? DBUS_WATCH_WRITABLE : 0) |
                         (revents & EPOLLHUP ? DBUS_WATCH_HANGUP : 0) |
                         (revents & EPOLLERR ? DBUS_WATCH_ERROR : 0);

        for (size_t i = 0; i < ELEMENTSOF(s->watches); i++) {
                DBusWatch *w = s->watches[i];
                if (!w || !dbus_watch_get_enabled(w))
                        continue;
                unsigned mine = flags & (dbus_watch_get_flags(w) | DBUS_WATCH_HANGUP | DBUS_WATCH_ERROR);
                if (mine)
                        dbus_watch_handle(w, mine);
                /* dbus_watch_handle() may remove watches and free s: stop if ours is gone */
                if (s->watches[i] != w)
                        break;
        }
        return 0;
}

static dbus_bool_t add_watch(DBusWatch *watch, void *data) {
        Bus *bus = data;
        int fd = dbus_watch_get_unix_fd(watch);
        IoSource *s;

        for (s = bus->io_sources; s; s = s->next)
                if (s->fd == fd)
                        break;
        if (!s) {
                s = calloc(1, sizeof(*s));
                if (!s)
                        return FALSE;
                s->fd = fd;
                if (sd_event_add_io(bus->event, &s->source, fd, 0, on_io, s) < 0) {
                        free(s);
                        return FALSE;
                }
                s->next = bus->io_sources;
                bus->io_sources = s;
        }
        for (size_t i = 0; i < ELEMENTSOF(s->watches); i++)
                if (!s->watches[i]) {
                        s->watches[i] = watch;
                        dbus_watch_set_data(watch, s, NULL);
                        io_source_update(s);
                        return TRUE;
                }
        return FALSE;
}

static void remove_watch(DBusWatch *watch, void *data) {
        Bus *bus = data;
        IoSource *s = dbus_watch_get_data(watch);
        if (!s)
                return;

        bool empty = true;
        for (size_t i = 0; i < ELEMENTSOF(s->watches); i++) {
                if (s->watches[i] == watch)
                        s->watches[i] = NULL;
                if (s->watches[i])
                        empty = false;
        }
        dbus_watch_set_data(watch, NULL, NULL);
        if (!empty) {
                io_source_update(s);
                return;
        }
        for (IoSource **p = &bus->io_sources; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        sd_event_source_disable_unref(s->source);
        free(s);
}

static void toggle_watch(DBusWatch *watch, void *data) {
        IoSource *s = dbus_watch_get_data(watch);
        if (s)
                io_source_update(s);
}

/* ---- timeouts ---- */

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        DBusTimeout *t = userdata;

        dbus_timeout_handle(t);
        /* libdbus timeouts repeat: re-arm while still enabled and still ours */
        if (dbus_timeout_get_data(t) == source && dbus_timeout_get_enabled(t)) {
                (void) sd_event_source_set_time_relative(source,
                                                         (uint64_t) dbus_timeout_get_interval(t) * 1000);
                (void) sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        }
        return 0;
}

static void timeout_source_free(void *p) {
        sd_event_source_disable_unref(p);
}

static dbus_bool_t add_timeout(DBusTimeout *timeout, void *data) {
        Bus *bus = data;
        sd_event_source *s;

        if (sd_event_add_time_relative(bus->event, &s, CLOCK_MONOTONIC,
                                       (uint64_t) dbus_timeout_get_interval(timeout) * 1000, 0,
                                       on_timeout, timeout) < 0)
                return FALSE;
        (void) sd_event_source_set_enabled(s, dbus_timeout_get_enabled(timeout) ? SD_EVENT_ONESHOT
                                                                               : SD_EVENT_OFF);
        dbus_timeout_set_data(timeout, s, timeout_source_free);
        return TRUE;
}

static void remove_timeout(DBusTimeout *timeout, void *data) {
        dbus_timeout_set_data(timeout, NULL, NULL);
}

static void toggle_timeout(DBusTimeout *timeout, void *data) {
        sd_event_source *s = dbus_timeout_get_data(timeout);
        if (!s)
                return;
        if (dbus_timeout_get_enabled(timeout)) {
                (void) sd_event_source_set_time_relative(s, (uint64_t) dbus_timeout_get_interval(timeout) * 1000);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        } else
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/* ---- dispatch ---- */

static int on_dispatch(sd_event_source *source, void *userdata) {
        Bus *bus = userdata;

        dbus_connection_ref(bus->conn);
        /* one message per iteration, so timers and other fds get their turn */
        DBusDispatchStatus st = dbus_connection_dispatch(bus->conn);
        if (st != DBUS_DISPATCH_DATA_REMAINS)
                (void) sd_event_source_set_enabled(source, SD_EVENT_OFF);
        dbus_connection_unref(bus->conn);
        return 0;
}

static void dispatch_status_changed(DBusConnection *conn, DBusDispatchStatus st, void *data) {
        Bus *bus = data;
        if (bus->dispatch_source)
                (void) sd_event_source_set_enabled(bus->dispatch_source,
                                                   st == DBUS_DISPATCH_DATA_REMAINS ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void wakeup_main(void *data) {
        Bus *bus = data;
        if (bus->dispatch_source)
                (void) sd_event_source_set_enabled(bus->dispatch_source, SD_EVENT_ON);
}

/* ---- names and signal matches ---- */

static TrackedName *tracked_name_find(Bus *bus, const char *name) {
        for (TrackedName *t = bus->names; t; t = t->next)
                if (streq(t->name, name))
                        return t;
        return NULL;
}

static void tracked_name_set_owner(TrackedName *t, const char *owner) {
        free(t->owner);
        t->owner = owner && *owner ? strdup(owner) : NULL;
}

/* NameOwnerChanged(name, old_owner, new_owner); new_owner "": none. */
static bool read_name_owner_changed(DBusMessage *m, const char **ret_name, const char **ret_new_owner) {
        const char *name, *old_owner, *new_owner;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                   DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID))
                return false;
        *ret_name = name;
        *ret_new_owner = new_owner;
        return true;
}

static void on_name_owner_changed(Bus *bus, DBusMessage *m, void *userdata) {
        const char *name, *new_owner;

        if (!read_name_owner_changed(m, &name, &new_owner))
                return;
        TrackedName *t = tracked_name_find(bus, name);
        if (t)
                tracked_name_set_owner(t, new_owner);
}

int bus_add_match_name_owner_changed(Bus *bus, BusSignalCallback cb, void *userdata) {
        return bus_add_match_signal(bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, "NameOwnerChanged",
                                    cb, userdata);
}

bool bus_name_got_owner(DBusMessage *m, const char *well_known) {
        const char *name, *new_owner;

        return read_name_owner_changed(m, &name, &new_owner) && streq(name, well_known) && *new_owner;
}

static void on_get_name_owner(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        TrackedName *t = tracked_name_find(bus, userdata);
        const char *owner = NULL;

        free(userdata);
        if (!t || error < 0 || dbus_message_get_type(reply) != DBUS_MESSAGE_TYPE_METHOD_RETURN)
                return;
        if (dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID) && !t->owner)
                tracked_name_set_owner(t, owner);
}

int bus_track_name(Bus *bus, const char *well_known) {
        if (tracked_name_find(bus, well_known))
                return 0;

        TrackedName *t = calloc(1, sizeof(*t));
        if (!t || !(t->name = strdup(well_known))) {
                free(t);
                return -ENOMEM;
        }
        t->next = bus->names;
        bus->names = t;

        _cleanup_(freep) char *rule = NULL;
        if (asprintf(&rule, "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                            "member='NameOwnerChanged',arg0='%s'", well_known) < 0)
                return -ENOMEM;
        dbus_bus_add_match(bus->conn, rule, NULL);

        DBusMessage *m = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                      "org.freedesktop.DBus", "GetNameOwner");
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &well_known, DBUS_TYPE_INVALID)) {
                if (m)
                        dbus_message_unref(m);
                return -ENOMEM;
        }
        int r = bus_call_async(bus, m, -1, on_get_name_owner, strdup(well_known));
        dbus_message_unref(m);
        return r;
}

bool bus_sender_owns_name(Bus *bus, const char *sender, const char *well_known) {
        TrackedName *t = tracked_name_find(bus, well_known);
        return sender && t && t->owner && streq(t->owner, sender);
}

static bool match_sender(Bus *bus, const Match *mt, const char *sender) {
        if (!mt->sender)
                return true;
        if (!sender)
                return false;
        if (mt->sender[0] == ':' || streq(mt->sender, "org.freedesktop.DBus"))
                return streq(mt->sender, sender) || streq(mt->sender, "org.freedesktop.DBus");
        return bus_sender_owns_name(bus, sender, mt->sender);
}

static bool match_applies(Bus *bus, const Match *mt, DBusMessage *m) {
        return match_sender(bus, mt, dbus_message_get_sender(m)) &&
               (!mt->path || streq_ptr(mt->path, dbus_message_get_path(m))) &&
               (!mt->iface || streq_ptr(mt->iface, dbus_message_get_interface(m))) &&
               (!mt->member || streq_ptr(mt->member, dbus_message_get_member(m)));
}

static int append_rule(char **rule, const char *key, const char *value) {
        if (!value)
                return 0;
        char *n = NULL;
        if (asprintf(&n, "%s,%s='%s'", *rule, key, value) < 0)
                return -ENOMEM;
        free(*rule);
        *rule = n;
        return 0;
}

int bus_add_match_signal(Bus *bus, const char *sender, const char *path, const char *iface,
                         const char *member, BusSignalCallback cb, void *userdata) {
        Match *mt = calloc(1, sizeof(*mt));
        if (!mt)
                return -ENOMEM;
        mt->sender = sender ? strdup(sender) : NULL;
        mt->path = path ? strdup(path) : NULL;
        mt->iface = iface ? strdup(iface) : NULL;
        mt->member = member ? strdup(member) : NULL;
        mt->rule = strdup("type='signal'");
        mt->cb = cb;
        mt->userdata = userdata;
        if (!mt->rule || append_rule(&mt->rule, "sender", sender) < 0 ||
            append_rule(&mt->rule, "path", path) < 0 || append_rule(&mt->rule, "interface", iface) < 0 ||
            append_rule(&mt->rule, "member", member) < 0) {
                free(mt->sender), free(mt->path), free(mt->iface), free(mt->member), free(mt->rule);
                free(mt);
                return -ENOMEM;
        }
        if (sender && sender[0] != ':' && !streq(sender, "org.freedesktop.DBus")) {
                int r = bus_track_name(bus, sender);
                if (r < 0)
                        return r;
        }
        /* NULL error: does not block */
        dbus_bus_add_match(bus->conn, mt->rule, NULL);
        mt->id = ++bus->next_match_id;
        mt->next = bus->matches;
        bus->matches = mt;
        return mt->id;
}

static void match_free(Match *mt) {
        free(mt->sender), free(mt->path), free(mt->iface), free(mt->member), free(mt->rule);
        free(mt);
}

void bus_remove_match(Bus *bus, int id) {
        for (Match **p = &bus->matches; *p; p = &(*p)->next)
                if ((*p)->id == id) {
                        Match *mt = *p;
                        *p = mt->next;
                        if (bus->conn && dbus_connection_get_is_connected(bus->conn))
                                dbus_bus_remove_match(bus->conn, mt->rule, NULL);
                        match_free(mt);
                        return;
                }
}

static DBusHandlerResult filter(DBusConnection *conn, DBusMessage *m, void *data) {
        Bus *bus = data;

        if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
                log_warning("Lost the connection to the bus");
                if (bus->disconnect_cb)
                        bus->disconnect_cb(bus, bus->disconnect_userdata);
                else
                        (void) sd_event_exit(bus->event, -ECONNRESET);
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;

        if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged"))
                on_name_owner_changed(bus, m, NULL);

        /* A callback may remove matches (even itself): walk by id. */
        int last = 0;
        for (;;) {
                Match *next = NULL;
                for (Match *mt = bus->matches; mt; mt = mt->next)
                        if (mt->id > last && (!next || mt->id < next->id) && match_applies(bus, mt, m))
                                next = mt;
                if (!next)
                        break;
                last = next->id;
                next->cb(bus, m, next->userdata);
        }
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

/* ---- objects ---- */

static Registration *registration_find(Bus *bus, const char *path, const char *iface) {
        for (Registration *r = bus->registrations; r; r = r->next)
                if (streq(r->path, path) && streq(r->iface->name, iface))
                        return r;
        return NULL;
}

static bool path_is_below(const char *path, const char *root) {
        size_t l = strlen(root);
        if (streq(root, "/"))
                return !streq(path, "/");
        return strncmp(path, root, l) == 0 && path[l] == '/';
}

static const char *manager_for(Bus *bus, const char *path) {
        for (Manager *m = bus->managers; m; m = m->next)
                if (path_is_below(path, m->path))
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

/* ---- introspection ---- */

static void introspect_args(FILE *f, const char *signature, const char *names, const char *direction) {
        DBusSignatureIter it;
        const char *n = names ?: "";

        if (!signature || !*signature)
                return;
        dbus_signature_iter_init(&it, signature);
        do {
                char *sig = dbus_signature_iter_get_signature(&it);
                size_t l = strcspn(n, ",");
                fprintf(f, "   <arg type=\"%s\"", sig);
                if (l > 0)
                        fprintf(f, " name=\"%.*s\"", (int) l, n);
                if (direction)
                        fprintf(f, " direction=\"%s\"", direction);
                fputs("/>\n", f);
                dbus_free(sig);
                n += l + (n[l] == ',');
        } while (dbus_signature_iter_next(&it));
}

static void introspect_interface(FILE *f, const BusInterface *iface) {
        fprintf(f, "  <interface name=\"%s\">\n", iface->name);
        if (iface->methods)
                for (const BusMethod *m = iface->methods; m->name; m++) {
                        fprintf(f, "   <method name=\"%s\">\n", m->name);
                        introspect_args(f, m->in_signature, m->in_names, "in");
                        introspect_args(f, m->out_signature, m->out_names, "out");
                        fputs("   </method>\n", f);
                }
        if (iface->signals)
                for (const BusSignal *s = iface->signals; s->name; s++) {
                        fprintf(f, "   <signal name=\"%s\">\n", s->name);
                        introspect_args(f, s->signature, s->names, NULL);
                        fputs("   </signal>\n", f);
                }
        if (iface->properties)
                for (const BusProperty *p = iface->properties; p->name; p++) {
                        fprintf(f, "   <property name=\"%s\" type=\"%s\" access=\"%s\"", p->name,
                                p->signature, p->set ? "readwrite" : "read");
                        if (p->emits_change)
                                fputs("/>\n", f);
                        else
                                fputs(">\n    <annotation name=\"org.freedesktop.DBus.Property."
                                      "EmitsChangedSignal\" value=\"false\"/>\n   </property>\n", f);
                }
        fputs("  </interface>\n", f);
}

char *bus_introspect_interface(const BusInterface *iface) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        introspect_interface(f, iface);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static const char introspect_standard[] =
        "  <interface name=\"org.freedesktop.DBus.Peer\">\n"
        "   <method name=\"Ping\"/>\n"
        "   <method name=\"GetMachineId\">\n"
        "    <arg type=\"s\" name=\"machine_uuid\" direction=\"out\"/>\n"
        "   </method>\n"
        "  </interface>\n"
        "  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
        "   <method name=\"Introspect\">\n"
        "    <arg name=\"xml_data\" type=\"s\" direction=\"out\"/>\n"
        "   </method>\n"
        "  </interface>\n"
        "  <interface name=\"org.freedesktop.DBus.Properties\">\n"
        "   <method name=\"Get\">\n"
        "    <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"property_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"value\" direction=\"out\" type=\"v\"/>\n"
        "   </method>\n"
        "   <method name=\"GetAll\">\n"
        "    <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"props\" direction=\"out\" type=\"a{sv}\"/>\n"
        "   </method>\n"
        "   <method name=\"Set\">\n"
        "    <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"property_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"value\" direction=\"in\" type=\"v\"/>\n"
        "   </method>\n"
        "   <signal name=\"PropertiesChanged\">\n"
        "    <arg type=\"s\" name=\"interface_name\"/>\n"
        "    <arg type=\"a{sv}\" name=\"changed_properties\"/>\n"
        "    <arg type=\"as\" name=\"invalidated_properties\"/>\n"
        "   </signal>\n"
        "  </interface>\n";

static const char introspect_object_manager[] =
        "  <interface name=\"org.freedesktop.DBus.ObjectManager\">\n"
        "   <method name=\"GetManagedObjects\">\n"
        "    <arg type=\"a{oa{sa{sv}}}\" name=\"object_paths_interfaces_and_properties\" direction=\"out\"/>\n"
        "   </method>\n"
        "   <signal name=\"InterfacesAdded\">\n"
        "    <arg type=\"o\" name=\"object_path\"/>\n"
        "    <arg type=\"a{sa{sv}}\" name=\"interfaces_and_properties\"/>\n"
        "   </signal>\n"
        "   <signal name=\"InterfacesRemoved\">\n"
        "    <arg type=\"o\" name=\"object_path\"/>\n"
        "    <arg type=\"as\" name=\"interfaces\"/>\n"
        "   </signal>\n"
        "  </interface>\n";

static bool is_manager(Bus *bus, const char *path) {
        for (Manager *m = bus->managers; m; m = m->next)
                if (streq(m->path, path))
                        return true;
        return false;
}

/* Child node names directly below path, from registered objects and managers. */
static void introspect_children(Bus *bus, FILE *f, const char *path) {
        char **seen = NULL;
        size_t pl = streq(path, "/") ? 0 : strlen(path);

        for (Registration *r = bus->registrations;; r = r->next) {
                const char *p = r ? r->path : NULL;
                if (!r) {
                        /* then the managers */
                        for (Manager *m = bus->managers; m; m = m->next) {
                                if (!path_is_below(m->path, path))
                                        continue;
                                const char *child = m->path + pl + 1;
                                size_t l = strcspn(child, "/");
                                char *name = strndup(child, l);
                                if (name && !strv_contains(seen, name))
                                        (void) strv_extend(&seen, name);
                                free(name);
                        }
                        break;
                }
                if (!path_is_below(p, path))
                        continue;
                const char *child = p + pl + 1;
                char *name = strndup(child, strcspn(child, "/"));
                if (name && !strv_contains(seen, name))
                        (void) strv_extend(&seen, name);
                free(name);
        }
        for (char **s = seen; s && *s; s++)
                fprintf(f, " <node name=\"%s\"/>\n", *s);
        strv_free(seen);
}

static char *introspect_path(Bus *bus, const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return NULL;

        fputs(DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE "<node>\n", f);
        fputs(introspect_standard, f);
        if (is_manager(bus, path))
                fputs(introspect_object_manager, f);
        for (Registration *r = bus->registrations; r; r = r->next)
                if (streq(r->path, path))
                        introspect_interface(f, r->iface);
        introspect_children(bus, f, path);
        fputs("</node>\n", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static bool path_exists(Bus *bus, const char *path) {
        if (streq(path, "/") || is_manager(bus, path))
                return true;
        for (Registration *r = bus->registrations; r; r = r->next)
                if (streq(r->path, path) || path_is_below(r->path, path))
                        return true;
        for (Manager *m = bus->managers; m; m = m->next)
                if (path_is_below(m->path, path))
                        return true;
        return false;
}

/* ---- standard interfaces ---- */

static DBusHandlerResult handled(int r) {
        return r == -ENOMEM ? DBUS_HANDLER_RESULT_NEED_MEMORY : DBUS_HANDLER_RESULT_HANDLED;
}

static int reply_introspect(Bus *bus, DBusMessage *m) {
        _cleanup_(freep) char *xml = introspect_path(bus, dbus_message_get_path(m));
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
                if (!path_is_below(reg->path, root) || strv_contains(done, reg->path))
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

static DBusHandlerResult on_message(DBusConnection *conn, DBusMessage *m, void *data) {
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
            is_manager(bus, path))
                return handled(reply_managed_objects(bus, m));

        return handled(dispatch_own(bus, m, path, iface, member));
}

/* ---- batched PropertiesChanged ---- */

static void pending_change_free(PendingChange *c) {
        free(c->path);
        strv_free(c->names);
        free(c);
}

static void drop_pending_changes(Bus *bus, const char *path, const char *iface) {
        for (PendingChange **p = &bus->changes; *p;) {
                PendingChange *c = *p;
                if (streq(c->path, path) && streq(c->iface, iface)) {
                        *p = c->next;
                        pending_change_free(c);
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
                pending_change_free(c);
        }
        if (bus->changes_source)
                (void) sd_event_source_set_enabled(bus->changes_source, SD_EVENT_OFF);
}

static int on_changes(sd_event_source *s, void *userdata) {
        bus_flush_properties_changed(userdata);
        return 0;
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

/* ---- connection ---- */

static DBusConnection *connect_to(const char *address, DBusError *error) {
        if (streq(address, "system"))
                return dbus_bus_get_private(DBUS_BUS_SYSTEM, error);
        if (streq(address, "session"))
                return dbus_bus_get_private(DBUS_BUS_SESSION, error);

        DBusConnection *c = dbus_connection_open_private(address, error);
        if (!c)
                return NULL;
        if (!dbus_bus_register(c, error)) {
                dbus_connection_close(c);
                dbus_connection_unref(c);
                return NULL;
        }
        return c;
}

static const char *default_address(void) {
        const char *a = getenv("DESKPHONE_BUS");
        if (a && *a)
                return a;
        a = getenv("DBUS_STARTER_ADDRESS");
        if (a && *a)
                return a;
        return "system";
}

static int bus_attach(Bus *bus) {
        static const DBusObjectPathVTable vtable = { .message_function = on_message };

        dbus_connection_set_exit_on_disconnect(bus->conn, FALSE);
        if (!dbus_connection_set_watch_functions(bus->conn, add_watch, remove_watch, toggle_watch, bus, NULL) ||
            !dbus_connection_set_timeout_functions(bus->conn, add_timeout, remove_timeout, toggle_timeout, bus,
                                                   NULL) ||
            !dbus_connection_add_filter(bus->conn, filter, bus, NULL) ||
            !dbus_connection_register_fallback(bus->conn, "/", &vtable, bus))
                return -ENOMEM;

        int r = sd_event_add_defer(bus->event, &bus->dispatch_source, on_dispatch, bus);
        if (r < 0)
                return r;
        r = sd_event_add_defer(bus->event, &bus->changes_source, on_changes, bus);
        if (r < 0)
                return r;
        /* after everything else in an iteration, so changes batch up */
        (void) sd_event_source_set_priority(bus->changes_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(bus->changes_source, SD_EVENT_OFF);

        dbus_connection_set_dispatch_status_function(bus->conn, dispatch_status_changed, bus, NULL);
        dbus_connection_set_wakeup_main_function(bus->conn, wakeup_main, bus, NULL);
        dispatch_status_changed(bus->conn, dbus_connection_get_dispatch_status(bus->conn), bus);
        return 0;
}

int bus_open(sd_event *event, const char *address, Bus **ret) {
        DBusError error;
        _cleanup_(bus_freep) Bus *bus = calloc(1, sizeof(Bus));

        if (!bus)
                return -ENOMEM;
        bus->event = sd_event_ref(event);

        address = address ?: default_address();
        dbus_error_init(&error);
        bus->conn = connect_to(address, &error);
        if (!bus->conn) {
                int r = bus_error_to_errno(&error);
                log_error("Failed to connect to the bus %s: %s", address, error.message);
                dbus_error_free(&error);
                return r < 0 && r != -EIO ? r : -ECONNREFUSED;
        }

        int r = bus_attach(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

Bus *bus_free(Bus *bus) {
        if (!bus)
                return NULL;
        if (bus->conn) {
                dbus_connection_set_dispatch_status_function(bus->conn, NULL, NULL, NULL);
                dbus_connection_set_wakeup_main_function(bus->conn, NULL, NULL, NULL);
                dbus_connection_flush(bus->conn);
                dbus_connection_close(bus->conn);
                dbus_connection_set_watch_functions(bus->conn, NULL, NULL, NULL, NULL, NULL);
                dbus_connection_set_timeout_functions(bus->conn, NULL, NULL, NULL, NULL, NULL);
                dbus_connection_unref(bus->conn);
        }
        while (bus->matches) {
                Match *mt = bus->matches;
                bus->matches = mt->next;
                match_free(mt);
        }
        while (bus->registrations) {
                Registration *r = bus->registrations;
                bus->registrations = r->next;
                free(r->path);
                free(r);
        }
        while (bus->changes) {
                PendingChange *c = bus->changes;
                bus->changes = c->next;
                pending_change_free(c);
        }
        while (bus->names) {
                TrackedName *t = bus->names;
                bus->names = t->next;
                free(t->name), free(t->owner), free(t);
        }
        while (bus->managers) {
                Manager *m = bus->managers;
                bus->managers = m->next;
                free(m->path), free(m);
        }
        while (bus->io_sources) {
                IoSource *s = bus->io_sources;
                bus->io_sources = s->next;
                sd_event_source_disable_unref(s->source);
                free(s);
        }
        sd_event_source_disable_unref(bus->dispatch_source);
        sd_event_source_disable_unref(bus->changes_source);
        sd_event_unref(bus->event);
        free(bus);
        return NULL;
}

DBusConnection *bus_connection(Bus *bus) {
        return bus->conn;
}

sd_event *bus_event(Bus *bus) {
        return bus->event;
}

const char *bus_unique_name(Bus *bus) {
        return dbus_bus_get_unique_name(bus->conn);
}

void bus_set_disconnect_handler(Bus *bus, void (*cb)(Bus *bus, void *userdata), void *userdata) {
        bus->disconnect_cb = cb;
        bus->disconnect_userdata = userdata;
}

int bus_request_name(Bus *bus, const char *name) {
        DBusError error;

        dbus_error_init(&error);
        int r = dbus_bus_request_name(bus->conn, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &error);
        if (r < 0) {
                int k = bus_error_to_errno(&error);
                log_error("Failed to acquire the name %s: %s", name, error.message);
                dbus_error_free(&error);
                return k;
        }
        if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER && r != DBUS_REQUEST_NAME_REPLY_ALREADY_OWNER)
                return log_error_errno(EEXIST, "The name %s is already taken: is another instance running?", name);
        return 0;
}

/* ---- sending ---- */

int bus_send(Bus *bus, DBusMessage *m) {
        return dbus_connection_send(bus->conn, m, NULL) ? 0 : -ENOMEM;
}

static int append_varargs(DBusMessage *m, int first_type, va_list ap) {
        return dbus_message_append_args_valist(m, first_type, ap) ? 0 : -ENOMEM;
}

int bus_reply(Bus *bus, DBusMessage *call, int first_type, ...) {
        if (dbus_message_get_no_reply(call))
                return 0;
        DBusMessage *reply = dbus_message_new_method_return(call);
        if (!reply)
                return -ENOMEM;
        va_list ap;
        va_start(ap, first_type);
        int r = append_varargs(reply, first_type, ap);
        va_end(ap);
        if (r >= 0)
                r = bus_send(bus, reply);
        dbus_message_unref(reply);
        return r;
}

int bus_reply_message(Bus *bus, DBusMessage *reply) {
        return bus_send(bus, reply);
}

int bus_reply_string_dict(Bus *bus, DBusMessage *call, char * const *keys, char * const *values) {
        DBusMessage *reply = dbus_message_new_method_return(call);
        DBusMessageIter iter;

        if (!reply)
                return -ENOMEM;
        dbus_message_iter_init_append(reply, &iter);
        int r = bus_append_string_dict(&iter, keys, values);
        if (r >= 0)
                r = bus_send(bus, reply);
        dbus_message_unref(reply);
        return r;
}

_printf_(4, 0)
static int reply_error_va(Bus *bus, DBusMessage *call, const char *name, const char *format, va_list ap) {
        char text[1024];

        if (dbus_message_get_no_reply(call))
                return 0;
        vsnprintf(text, sizeof(text), format, ap);
        DBusMessage *reply = dbus_message_new_error(call, name, text);
        if (!reply)
                return -ENOMEM;
        int r = bus_send(bus, reply);
        dbus_message_unref(reply);
        return r;
}

int bus_reply_error(Bus *bus, DBusMessage *call, const char *name, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        int r = reply_error_va(bus, call, name, format, ap);
        va_end(ap);
        return r;
}

int bus_reply_error_errno(Bus *bus, DBusMessage *call, int error, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        int r = reply_error_va(bus, call, bus_error_name_from_errno(error), format, ap);
        va_end(ap);
        return r;
}

int bus_new_signal(Bus *bus, const char *path, const char *iface, const char *member, DBusMessage **ret) {
        DBusMessage *m = dbus_message_new_signal(path, iface, member);
        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

int bus_emit_signal(Bus *bus, const char *path, const char *iface, const char *member, int first_type, ...) {
        DBusMessage *m;
        int r = bus_new_signal(bus, path, iface, member, &m);
        if (r < 0)
                return r;
        va_list ap;
        va_start(ap, first_type);
        r = append_varargs(m, first_type, ap);
        va_end(ap);
        /* state first: properties that changed before this signal are announced before it */
        bus_flush_properties_changed(bus);
        if (r >= 0)
                r = bus_send(bus, m);
        dbus_message_unref(m);
        return r;
}

/* ---- calls to others ---- */

typedef struct AsyncCall {
        Bus *bus;
        BusReplyCallback cb;
        void *userdata;
} AsyncCall;

static void on_pending_call(DBusPendingCall *pending, void *data) {
        AsyncCall *c = data;
        DBusMessage *reply = dbus_pending_call_steal_reply(pending);
        int error = 0;

        if (!reply)
                error = -ECONNRESET;
        else if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR) {
                DBusError e;
                dbus_error_init(&e);
                dbus_set_error_from_message(&e, reply);
                error = bus_error_to_errno(&e);
                dbus_error_free(&e);
        }
        c->cb(c->bus, reply, error, c->userdata);
        if (reply)
                dbus_message_unref(reply);
}

int bus_call_async(Bus *bus, DBusMessage *m, int timeout_ms, BusReplyCallback cb, void *userdata) {
        DBusPendingCall *pending = NULL;

        AsyncCall *c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (AsyncCall){ .bus = bus, .cb = cb, .userdata = userdata };

        if (!dbus_connection_send_with_reply(bus->conn, m, &pending, timeout_ms < 0 ? DBUS_TIMEOUT_USE_DEFAULT
                                                                                   : timeout_ms)) {
                free(c);
                return -ENOMEM;
        }
        if (!pending) {
                free(c);
                return -ECONNRESET;
        }
        if (!dbus_pending_call_set_notify(pending, on_pending_call, c, free)) {
                dbus_pending_call_unref(pending);
                free(c);
                return -ENOMEM;
        }
        /* the connection keeps its own reference until the reply or timeout */
        dbus_pending_call_unref(pending);
        return 0;
}

typedef struct UidQuery {
        BusUidCallback cb;
        void *userdata;
} UidQuery;

static void on_unix_user(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        UidQuery *q = userdata;
        uint32_t uid = (uint32_t) -1;

        if (error >= 0 && !dbus_message_get_args(reply, NULL, DBUS_TYPE_UINT32, &uid, DBUS_TYPE_INVALID))
                error = -EBADMSG;
        q->cb(bus, error, (uid_t) uid, q->userdata);
        free(q);
}

int bus_get_caller_uid(Bus *bus, const char *sender, BusUidCallback cb, void *userdata) {
        DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
                                                      "GetConnectionUnixUser");
        UidQuery *q = malloc(sizeof(*q));
        int r = -ENOMEM;

        if (m && q && dbus_message_append_args(m, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID)) {
                *q = (UidQuery){ .cb = cb, .userdata = userdata };
                r = bus_call_async(bus, m, -1, on_unix_user, q);
                if (r >= 0)
                        q = NULL;
        }
        free(q);
        if (m)
                dbus_message_unref(m);
        return r;
}

/* ---- argument helpers ---- */

int bus_append_strv(DBusMessageIter *iter, char * const *l) {
        DBusMessageIter a;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "s", &a))
                return -ENOMEM;
        for (char * const *s = l; s && *s; s++)
                if (!dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, s)) {
                        dbus_message_iter_abandon_container(iter, &a);
                        return -ENOMEM;
                }
        return dbus_message_iter_close_container(iter, &a) ? 0 : -ENOMEM;
}

int bus_append_string_dict(DBusMessageIter *iter, char * const *keys, char * const *values) {
        DBusMessageIter a, e;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "{ss}", &a))
                return -ENOMEM;
        for (size_t i = 0; keys && keys[i]; i++)
                if (!dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
                    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &keys[i]) ||
                    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &values[i]) ||
                    !dbus_message_iter_close_container(&a, &e)) {
                        dbus_message_iter_abandon_container(iter, &a);
                        return -ENOMEM;
                }
        return dbus_message_iter_close_container(iter, &a) ? 0 : -ENOMEM;
}

int bus_read_string_dict(DBusMessageIter *iter, char ***ret_keys, char ***ret_values) {
        _cleanup_(strv_freep) char **keys = calloc(1, sizeof(char *)), **values = calloc(1, sizeof(char *));
        DBusMessageIter a;

        if (!keys || !values)
                return -ENOMEM;
        if (dbus_message_iter_get_arg_type(iter) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(iter) != DBUS_TYPE_DICT_ENTRY)
                return -EINVAL;
        dbus_message_iter_recurse(iter, &a);
        for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&a)) {
                DBusMessageIter e;
                const char *k, *v;
                dbus_message_iter_recurse(&a, &e);
                if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_STRING)
                        return -EINVAL;
                dbus_message_iter_get_basic(&e, &k);
                if (!dbus_message_iter_next(&e) || dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_STRING)
                        return -EINVAL;
                dbus_message_iter_get_basic(&e, &v);
                if (strv_extend(&keys, k) < 0 || strv_extend(&values, v) < 0)
                        return -ENOMEM;
        }
        *ret_keys = TAKE_PTR(keys);
        *ret_values = TAKE_PTR(values);
        return 0;
}

int bus_read_strv(DBusMessageIter *iter, char ***ret) {
        _cleanup_(strv_freep) char **l = calloc(1, sizeof(char *));
        DBusMessageIter a;

        if (!l)
                return -ENOMEM;
        if (dbus_message_iter_get_arg_type(iter) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(iter) != DBUS_TYPE_STRING)
                return -EINVAL;
        dbus_message_iter_recurse(iter, &a);
        for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRING; dbus_message_iter_next(&a)) {
                const char *s;
                dbus_message_iter_get_basic(&a, &s);
                if (strv_extend(&l, s) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int bus_append_basic_variant(DBusMessageIter *iter, int type, const void *value) {
        char sig[2] = { (char) type, 0 };
        DBusMessageIter v;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_VARIANT, sig, &v) ||
            !dbus_message_iter_append_basic(&v, type, value) || !dbus_message_iter_close_container(iter, &v))
                return -ENOMEM;
        return 0;
}

char *bus_path_escape(const char *s) {
        static const char hex[] = "0123456789abcdef";
        char *r = malloc(strlen(s) * 3 + 2), *p = r;

        if (!r)
                return NULL;
        if (!*s) {
                strcpy(r, "_");
                return r;
        }
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && p != r)) {
                        *p++ = (char) c;
                        continue;
                }
                *p++ = '_';
                *p++ = hex[c >> 4];
                *p++ = hex[c & 15];
        }
        *p = '\0';
        return r;
}
