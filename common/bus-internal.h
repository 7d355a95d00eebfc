/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the pieces of the bus layer share, and nobody else may use: the Bus
 * structure, its lists, and the few functions one piece calls in another.
 *   bus.c             the connection: libdbus watches, timeouts and dispatch on sd-event
 *   bus-object.c      object tables, method dispatch, Properties, ObjectManager,
 *                     batched PropertiesChanged
 *   bus-introspect.c  introspection XML from the tables
 *   bus-client.c      signal matches, name tracking, calls to other peers
 *   bus-message.c     errors, replies, signals, argument helpers
 */

#include <stdbool.h>

#include "bus.h"

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

/* bus-object.c */
DBusHandlerResult bus_on_method_call(DBusConnection *conn, DBusMessage *m, void *data);
bool bus_path_is_below(const char *path, const char *root);
bool bus_is_object_manager(Bus *bus, const char *path);
void bus_pending_change_free(PendingChange *c);

/* bus-introspect.c */
char *bus_introspect_path(Bus *bus, const char *path);

/* bus-client.c */
DBusHandlerResult bus_signal_filter(DBusConnection *conn, DBusMessage *m, void *data);
void bus_match_free(Match *mt);
