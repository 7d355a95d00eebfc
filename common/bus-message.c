/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Messages: errno <-> D-Bus error names, sending replies, errors and signals,
 * and the helpers that append and read common argument types (string arrays,
 * string dicts, variants, escaped object paths).
 */

#include <stdarg.h>

#include "bus-internal.h"
#include "util.h"

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
