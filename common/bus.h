/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dbus/dbus.h>
#include <systemd/sd-event.h>
#include <sys/types.h>

#include "macro.h"

/*
 * libdbus on sd-event, and a table-driven object layer.
 *
 * A service describes each D-Bus interface once, as a const BusInterface
 * table (methods, properties, signals). From the tables the glue dispatches
 * calls, answers org.freedesktop.DBus.Properties, Introspectable, Peer and
 * ObjectManager, and generates the introspection XML.
 *
 * Method handlers validate, call the domain, and either reply at once
 * (bus_reply()), or keep the message (dbus_message_ref()) and reply later
 * from a completion callback (bus_reply_error_errno() on failure). A handler
 * that returns a negative errno gets an error reply: the name comes from the
 * errno (see bus_error_name_from_errno()), the text from the BusError the
 * handler filled, or strerror() when it did not.
 */

#ifndef DBUS_INTERFACE_OBJECT_MANAGER
#define DBUS_INTERFACE_OBJECT_MANAGER "org.freedesktop.DBus.ObjectManager"
#endif

#define BUS_ERROR_PREFIX "org.deskphone.Error."
#define BUS_ERROR_NOT_FOUND BUS_ERROR_PREFIX "NotFound"
#define BUS_ERROR_INVALID_ARGUMENT BUS_ERROR_PREFIX "InvalidArgument"
#define BUS_ERROR_NOT_AUTHORIZED BUS_ERROR_PREFIX "NotAuthorized"
#define BUS_ERROR_BUSY BUS_ERROR_PREFIX "Busy"
#define BUS_ERROR_IN_PROGRESS BUS_ERROR_PREFIX "InProgress"
#define BUS_ERROR_NOT_SUPPORTED BUS_ERROR_PREFIX "NotSupported"
#define BUS_ERROR_TIMED_OUT BUS_ERROR_PREFIX "TimedOut"
#define BUS_ERROR_FAILED BUS_ERROR_PREFIX "Failed"

typedef struct Bus Bus;

typedef struct BusError {
        char message[512];
} BusError;

/* Fill the message of an error reply; returns -error so handlers can "return bus_error_set(...)". */
int bus_error_set(BusError *e, int error, const char *format, ...) _printf_(3, 4);

typedef int (*BusMethodHandler)(Bus *bus, DBusMessage *m, void *userdata, BusError *error);
/* Append the property's value (of its declared signature, no variant) to iter. */
typedef int (*BusPropertyGetter)(Bus *bus, DBusMessageIter *iter, void *userdata);
/* iter points into the variant; the glue has checked its signature. */
typedef int (*BusPropertySetter)(Bus *bus, DBusMessageIter *iter, void *userdata, BusError *error);

typedef struct BusMethod {
        const char *name;
        const char *in_signature;
        const char *in_names;  /* comma-separated argument names, for Introspect */
        const char *out_signature;
        const char *out_names;
        BusMethodHandler handler;
} BusMethod;

typedef struct BusProperty {
        const char *name;
        const char *signature;
        BusPropertyGetter get;
        BusPropertySetter set; /* NULL: read-only */
        bool emits_change;     /* false: annotated EmitsChangedSignal=false */
} BusProperty;

typedef struct BusSignal {
        const char *name;
        const char *signature;
        const char *names;
} BusSignal;

typedef struct BusInterface {
        const char *name;
        const BusMethod *methods;       /* terminated by an entry with name NULL */
        const BusProperty *properties;  /* same */
        const BusSignal *signals;       /* same */
} BusInterface;

/*
 * Connect. address NULL means: $DESKPHONE_BUS; if that is unset,
 * $DBUS_STARTER_ADDRESS (bus activation); else the system bus.
 * DESKPHONE_BUS=session or =system name those buses.
 */
int bus_open(sd_event *event, const char *address, Bus **ret);
Bus *bus_free(Bus *bus);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);

DBusConnection *bus_connection(Bus *bus);
sd_event *bus_event(Bus *bus);
const char *bus_unique_name(Bus *bus);

/* Own a well-known name; fails with -EEXIST when someone else has it. */
int bus_request_name(Bus *bus, const char *name);

/* Call when the connection drops (e.g. sd_event_exit); default: exit the loop with -ECONNRESET. */
void bus_set_disconnect_handler(Bus *bus, void (*cb)(Bus *bus, void *userdata), void *userdata);

/* Objects. One path may carry several interfaces; adding one emits
 * InterfacesAdded from the enclosing object manager, removing one
 * InterfacesRemoved. The tables must outlive the registration. */
int bus_add_object(Bus *bus, const char *path, const BusInterface *iface, void *userdata);
int bus_remove_object(Bus *bus, const char *path, const BusInterface *iface);
/* org.freedesktop.DBus.ObjectManager on path, covering every object below it. */
int bus_add_object_manager(Bus *bus, const char *path);

/* Iterate the interface tables registered anywhere (for tests and --introspect). */
typedef void (*BusInterfaceVisitor)(const BusInterface *iface, void *userdata);
void bus_foreach_interface(Bus *bus, BusInterfaceVisitor visit, void *userdata);

/* Introspection XML of one interface table (no <node>), appended to a growing string. */
char *bus_introspect_interface(const BusInterface *iface);

/* Mark properties changed; one PropertiesChanged per object and interface is
 * sent when the loop is next idle, carrying the current values. NULL-terminated. */
int bus_emit_properties_changed(Bus *bus, const char *path, const char *iface, ...) _sentinel_;
int bus_emit_properties_changed_strv(Bus *bus, const char *path, const char *iface, char **names);
/* Send any pending PropertiesChanged now (before a signal that must follow them). */
void bus_flush_properties_changed(Bus *bus);

/* Emit a signal declared in a table: bus_emit_signal(bus, path, iface, "Changed",
 * DBUS_TYPE_..., &value, ..., DBUS_TYPE_INVALID). */
int bus_emit_signal(Bus *bus, const char *path, const char *iface, const char *member,
                    int first_type, ...);
/* For signatures varargs cannot express: the message to fill and send with bus_send(). */
int bus_new_signal(Bus *bus, const char *path, const char *iface, const char *member,
                   DBusMessage **ret);
int bus_send(Bus *bus, DBusMessage *m);

/* Replies. */
int bus_reply(Bus *bus, DBusMessage *call, int first_type, ...);
int bus_reply_message(Bus *bus, DBusMessage *reply);
/* Reply with one a{ss} argument from two parallel NULL-terminated arrays. */
int bus_reply_string_dict(Bus *bus, DBusMessage *call, char * const *keys, char * const *values);
int bus_reply_error(Bus *bus, DBusMessage *call, const char *name, const char *format, ...)
        _printf_(4, 5);
/* Error reply named after the errno, with a printf-style message. */
int bus_reply_error_errno(Bus *bus, DBusMessage *call, int error, const char *format, ...)
        _printf_(4, 5);
const char *bus_error_name_from_errno(int error);
/* Map a received D-Bus error name back to a negative errno. */
int bus_error_to_errno(const DBusError *error);

/* Names: track which unique name owns a well-known name (via NameOwnerChanged),
 * so a handler can ask synchronously whether the caller is that service. */
int bus_track_name(Bus *bus, const char *well_known);
bool bus_sender_owns_name(Bus *bus, const char *sender, const char *well_known);

/* The caller's uid, asked of the bus asynchronously. */
typedef void (*BusUidCallback)(Bus *bus, int error, uid_t uid, void *userdata);
int bus_get_caller_uid(Bus *bus, const char *sender, BusUidCallback cb, void *userdata);

/* Client side. The callback gets the reply (method return or error) or NULL with
 * -ETIMEDOUT/-ECONNRESET; it must not unref the reply. timeout_ms < 0: default. */
typedef void (*BusReplyCallback)(Bus *bus, DBusMessage *reply, int error, void *userdata);
int bus_call_async(Bus *bus, DBusMessage *m, int timeout_ms, BusReplyCallback cb, void *userdata);

/* Subscribe to a signal. Any of sender/path/iface/member may be NULL for "any".
 * Returns a positive id for bus_remove_match(). */
typedef void (*BusSignalCallback)(Bus *bus, DBusMessage *m, void *userdata);
int bus_add_match_signal(Bus *bus, const char *sender, const char *path, const char *iface,
                         const char *member, BusSignalCallback cb, void *userdata);
void bus_remove_match(Bus *bus, int id);
/* Every NameOwnerChanged signal (an id for bus_remove_match()); in cb,
 * bus_name_got_owner() tells whether a service (re)started. */
int bus_add_match_name_owner_changed(Bus *bus, BusSignalCallback cb, void *userdata);
/* m, a NameOwnerChanged, says that well_known has a new owner. */
bool bus_name_got_owner(DBusMessage *m, const char *well_known);
/* m says that well_known's owner went away (the service stopped, crashed, or was
 * replaced): what that owner held for us is gone. */
bool bus_name_lost_owner(DBusMessage *m, const char *well_known);

/* Helpers for message arguments. */
int bus_append_strv(DBusMessageIter *iter, char * const *l);
int bus_append_string_dict(DBusMessageIter *iter, char * const *keys, char * const *values);
/* Read an a{ss} into two parallel NULL-terminated arrays. */
int bus_read_string_dict(DBusMessageIter *iter, char ***ret_keys, char ***ret_values);
int bus_read_strv(DBusMessageIter *iter, char ***ret);
/* Append a basic value of one-character signature sig from a pointer to it. */
int bus_append_basic_variant(DBusMessageIter *iter, int type, const void *value);

/* Object paths: escape an arbitrary string into a path element, as sd-bus does. */
char *bus_path_escape(const char *s);
