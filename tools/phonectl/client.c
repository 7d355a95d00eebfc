/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "bus.h"
#include "phonectl.h"
#include "util.h"

const Service services[] = {
        { "org.deskphone.Config1", "provd" },
        { "org.deskphone.Provision1", "provd" },
        { "org.deskphone.Sip1", "sipd" },
        { "org.deskphone.Media1", "mediad" },
        { "org.deskphone.Ui1", "uid" },
};
const size_t n_services = ELEMENTSOF(services);

static const struct {
        const char *name;
        int error;
} error_names[] = {
        { BUS_ERROR_NOT_FOUND, ENOENT },
        { BUS_ERROR_INVALID_ARGUMENT, EINVAL },
        { BUS_ERROR_NOT_AUTHORIZED, EACCES },
        { BUS_ERROR_BUSY, EBUSY },
        { BUS_ERROR_IN_PROGRESS, EINPROGRESS },
        { BUS_ERROR_NOT_SUPPORTED, EOPNOTSUPP },
        { BUS_ERROR_TIMED_OUT, ETIMEDOUT },
        { BUS_ERROR_FAILED, EIO },
        { DBUS_ERROR_SERVICE_UNKNOWN, EHOSTUNREACH },
        { DBUS_ERROR_NAME_HAS_NO_OWNER, EHOSTUNREACH },
        { DBUS_ERROR_NO_SERVER, EHOSTUNREACH },
        { DBUS_ERROR_DISCONNECTED, ECONNRESET },
        { DBUS_ERROR_NO_REPLY, ETIMEDOUT },
        { DBUS_ERROR_TIMEOUT, ETIMEDOUT },
        { DBUS_ERROR_TIMED_OUT, ETIMEDOUT },
        { DBUS_ERROR_ACCESS_DENIED, EACCES },
        { DBUS_ERROR_AUTH_FAILED, EACCES },
        { DBUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, EACCES },
        { DBUS_ERROR_UNKNOWN_OBJECT, ENOENT },
        { DBUS_ERROR_UNKNOWN_INTERFACE, ENOENT },
        { DBUS_ERROR_UNKNOWN_PROPERTY, ENOENT },
        { DBUS_ERROR_UNKNOWN_METHOD, EOPNOTSUPP },
        { DBUS_ERROR_INVALID_ARGS, EINVAL },
        { DBUS_ERROR_INVALID_SIGNATURE, EINVAL },
        { DBUS_ERROR_PROPERTY_READ_ONLY, EINVAL },
        { DBUS_ERROR_NO_MEMORY, ENOMEM },
        { DBUS_ERROR_LIMITS_EXCEEDED, ENOBUFS },
};

int bus_errno_from_name(const char *name) {
        if (!name)
                return -EIO;
        for (size_t i = 0; i < ELEMENTSOF(error_names); i++)
                if (streq(name, error_names[i].name))
                        return -error_names[i].error;
        if (startswith(name, "org.freedesktop.DBus.Error.Spawn."))
                return -EHOSTUNREACH; /* activation failed */
        return -EIO;
}

const char *service_daemon(const char *name) {
        for (size_t i = 0; i < n_services; i++)
                if (streq(name, services[i].name))
                        return services[i].daemon;
        return name;
}

char *service_from_path(const char *path) {
        const char *e = startswith(path, DESKPHONE_PATH "/");
        if (!e)
                return NULL;
        size_t n = strcspn(e, "/");
        if (n == 0)
                return NULL;

        char *name = malloc(strlen("org.deskphone.") + n + 1);
        if (name)
                sprintf(name, "org.deskphone.%.*s", (int) n, e);
        return name;
}

static const struct {
        const char *word;  /* "account/" takes an element after it */
        const char *path;
} short_objects[] = {
        { "account/", "/org/deskphone/Sip1/account/" },
        { "call/", "/org/deskphone/Sip1/call/" },
        { "stream/", "/org/deskphone/Media1/stream/" },
        { "config", "/org/deskphone/Config1" },
        { "provision", "/org/deskphone/Provision1" },
        { "sip", "/org/deskphone/Sip1" },
        { "media", "/org/deskphone/Media1" },
        { "ui", "/org/deskphone/Ui1" },
};

/* -ENOENT when s is neither a path nor a short form. */
static int expand_object(const char *s, char **ret) {
        char *path = NULL;

        if (s[0] == '/')
                path = strdup(s);
        for (size_t i = 0; !path && i < ELEMENTSOF(short_objects); i++) {
                const char *w = short_objects[i].word;
                const char *rest = startswith(s, w);
                if (!rest || (w[strlen(w) - 1] == '/' ? *rest == '\0' : *rest != '\0'))
                        continue;
                path = strjoin(short_objects[i].path, rest, NULL);
                if (!path)
                        return -ENOMEM;
        }
        if (!path)
                return s[0] == '/' ? -ENOMEM : -ENOENT;
        *ret = path;
        return 0;
}

int object_path_from_string(const char *s, char **ret) {
        _cleanup_(freep) char *path = NULL, *service = NULL;

        int r = expand_object(s, &path);
        if (r == -ENOENT)
                return usage_error("Unknown object '%s': give a path (/org/deskphone/...) or one of "
                                   "account/N, call/N, stream/N, config, provision, sip, media, ui.", s);
        if (r < 0)
                return oom();
        if (!dbus_validate_path(path, NULL))
                return usage_error("'%s' is not a valid D-Bus object path.", path);
        service = service_from_path(path);
        if (!service || !dbus_validate_bus_name(service, NULL))
                return usage_error("Object path %s is not below /org/deskphone/<Service>.", path);
        *ret = TAKE_PTR(path);
        return 0;
}

int ctx_call_timeout_ms(const Context *ctx) {
        if (ctx->timeout <= 0)
                return DBUS_TIMEOUT_USE_DEFAULT;
        return (int) MIN(ctx->timeout * 1000.0 + 0.5, (double) INT_MAX);
}

DBusMessage *bus_new_call(const char *dest, const char *path, const char *iface, const char *member) {
        return dbus_message_new_method_call(dest, path, iface, member);
}

int bus_call_raw(Context *ctx, DBusMessage *m, int timeout_ms, DBusMessage **ret_reply, DBusError *error) {
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(ctx->bus, m, timeout_ms, error);
        if (!reply)
                return -EIO;
        *ret_reply = reply;
        return 0;
}

static int print_bus_error(const DBusError *error, const char *dest) {
        int r = bus_errno_from_name(error->name);

        if (dest && (dbus_error_has_name(error, DBUS_ERROR_SERVICE_UNKNOWN) ||
                     dbus_error_has_name(error, DBUS_ERROR_NAME_HAS_NO_OWNER)))
                return phonectl_error(r, "%s (%s) is not running.", service_daemon(dest), dest);
        return phonectl_error(r, "%s", error->message ?: error->name);
}

int bus_call(Context *ctx, DBusMessage *m, int timeout_ms, DBusMessage **ret_reply) {
        _cleanup_(error_freep) DBusError error = DBUS_ERROR_INIT;

        int r = bus_call_raw(ctx, m, timeout_ms, ret_reply, &error);
        if (r < 0)
                return print_bus_error(&error, dbus_message_get_destination(m));
        return 0;
}

int bus_call_args(Context *ctx, const char *dest, const char *path, const char *iface,
                  const char *member, DBusMessage **ret_reply, int first_arg_type, ...) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(dest, path, iface, member);
        va_list ap;

        if (!m)
                return oom();
        va_start(ap, first_arg_type);
        bool ok = dbus_message_append_args_valist(m, first_arg_type, ap);
        va_end(ap);
        if (!ok)
                return oom();
        return bus_call(ctx, m, ctx_call_timeout_ms(ctx), ret_reply);
}

int bus_check_signature(DBusMessage *reply, const char *signature) {
        if (!dbus_message_has_signature(reply, signature))
                return phonectl_error(-EBADMSG, "Unexpected reply from %s: signature '%s', expected '%s'.",
                                      strempty(dbus_message_get_sender(reply)),
                                      dbus_message_get_signature(reply), signature);
        return 0;
}

int bus_get_name_owner(Context *ctx, const char *name, char **ret) {
        _cleanup_(message_unrefp) DBusMessage *m = NULL, *reply = NULL;
        _cleanup_(error_freep) DBusError error = DBUS_ERROR_INIT;
        const char *owner;

        m = bus_new_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, "GetNameOwner");
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                return oom();
        if (bus_call_raw(ctx, m, ctx_call_timeout_ms(ctx), &reply, &error) < 0) {
                if (!dbus_error_has_name(&error, DBUS_ERROR_NAME_HAS_NO_OWNER))
                        return print_bus_error(&error, NULL);
                *ret = NULL;
                return 0;
        }
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID))
                return bus_check_signature(reply, "s");

        char *copy = strdup(owner);
        if (!copy)
                return oom();
        *ret = copy;
        return 0;
}

int bus_add_match(Context *ctx, const char *rule) {
        _cleanup_(error_freep) DBusError error = DBUS_ERROR_INIT;

        dbus_bus_add_match(ctx->bus, rule, &error);
        if (dbus_error_is_set(&error))
                return print_bus_error(&error, NULL);
        return 0;
}

static int entry_compare(const void *a, const void *b) {
        return strverscmp(((const DictEntry *) a)->key, ((const DictEntry *) b)->key);
}

int dict_collect(DBusMessageIter *array, DictEntry **ret, size_t *ret_n) {
        DBusMessageIter sub;
        size_t n = 0;

        if (dbus_message_iter_get_arg_type(array) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(array) != DBUS_TYPE_DICT_ENTRY)
                return -EBADMSG;

        int count = dbus_message_iter_get_element_count(array);
        _cleanup_(freep) DictEntry *entries = calloc(MAX(count, 1), sizeof(DictEntry));
        if (!entries)
                return -ENOMEM;

        dbus_message_iter_recurse(array, &sub);
        for (; dbus_message_iter_get_arg_type(&sub) == DBUS_TYPE_DICT_ENTRY && n < (size_t) count;
             dbus_message_iter_next(&sub), n++) {
                DBusMessageIter entry;
                dbus_message_iter_recurse(&sub, &entry);
                int type = dbus_message_iter_get_arg_type(&entry);
                if (type != DBUS_TYPE_STRING && type != DBUS_TYPE_OBJECT_PATH)
                        return -EBADMSG;
                dbus_message_iter_get_basic(&entry, &entries[n].key);
                dbus_message_iter_next(&entry);
                entries[n].value = entry;
        }

        qsort(entries, n, sizeof(DictEntry), entry_compare);
        *ret = TAKE_PTR(entries);
        *ret_n = n;
        return 0;
}

int dict_find(DBusMessageIter *array, const char *key, DBusMessageIter *ret_value) {
        DBusMessageIter sub;

        if (dbus_message_iter_get_arg_type(array) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(array) != DBUS_TYPE_DICT_ENTRY)
                return -EBADMSG;

        dbus_message_iter_recurse(array, &sub);
        for (; dbus_message_iter_get_arg_type(&sub) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&sub)) {
                DBusMessageIter entry;
                const char *k;

                dbus_message_iter_recurse(&sub, &entry);
                int type = dbus_message_iter_get_arg_type(&entry);
                if (type != DBUS_TYPE_STRING && type != DBUS_TYPE_OBJECT_PATH)
                        return -EBADMSG;
                dbus_message_iter_get_basic(&entry, &k);
                if (streq(k, key)) {
                        dbus_message_iter_next(&entry);
                        *ret_value = entry;
                        return 0;
                }
        }
        return -ENOENT;
}
