/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection, and libdbus meeting sd-event:
 *  - libdbus may add two watches (read, write) on one fd; epoll takes one
 *    source per fd, so watches are merged per fd into one IoSource whose
 *    event mask is the union of the enabled watches;
 *  - every DBusTimeout is a one-shot CLOCK_MONOTONIC timer, re-armed after
 *    dbus_timeout_handle() while the timeout stays enabled;
 *  - dispatching runs from a defer source that the dispatch-status callback
 *    switches on, so no message waits for the next fd event.
 * The rest of the layer: see bus-internal.h.
 */

#include "bus-internal.h"
#include "log.h"
#include "util.h"

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

/* ---- batched PropertiesChanged: flushed once an iteration is idle ---- */

static int on_changes(sd_event_source *s, void *userdata) {
        bus_flush_properties_changed(userdata);
        return 0;
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
        static const DBusObjectPathVTable vtable = { .message_function = bus_on_method_call };

        dbus_connection_set_exit_on_disconnect(bus->conn, FALSE);
        if (!dbus_connection_set_watch_functions(bus->conn, add_watch, remove_watch, toggle_watch, bus, NULL) ||
            !dbus_connection_set_timeout_functions(bus->conn, add_timeout, remove_timeout, toggle_timeout, bus,
                                                   NULL) ||
            !dbus_connection_add_filter(bus->conn, bus_signal_filter, bus, NULL) ||
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
                bus_match_free(mt);
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
                bus_pending_change_free(c);
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

