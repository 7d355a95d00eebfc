/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The client side: signal matches and their dispatch (bus_signal_filter()),
 * tracking who owns a well-known name (NameOwnerChanged, GetNameOwner), and
 * asynchronous calls to other peers.
 */

#include "bus-internal.h"
#include "log.h"
#include "util.h"

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
static bool read_name_owner_changed_full(DBusMessage *m, const char **ret_name, const char **ret_old_owner,
                                         const char **ret_new_owner) {
        const char *name, *old_owner, *new_owner;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                   DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID))
                return false;
        *ret_name = name;
        *ret_old_owner = old_owner;
        *ret_new_owner = new_owner;
        return true;
}

static bool read_name_owner_changed(DBusMessage *m, const char **ret_name, const char **ret_new_owner) {
        const char *old_owner;
        return read_name_owner_changed_full(m, ret_name, &old_owner, ret_new_owner);
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

bool bus_name_lost_owner(DBusMessage *m, const char *well_known) {
        const char *name, *old_owner, *new_owner;

        return read_name_owner_changed_full(m, &name, &old_owner, &new_owner) && streq(name, well_known) &&
               *old_owner;
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

void bus_match_free(Match *mt) {
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
                        bus_match_free(mt);
                        return;
                }
}

DBusHandlerResult bus_signal_filter(DBusConnection *conn, DBusMessage *m, void *data) {
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

