/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.deskphone.Config1: validate arguments, call the store, reply. */
#include <grp.h>
#include <pwd.h>

#include "log.h"
#include "provd.h"
#include "util.h"

/* A secret is readable in clear only by the service that needs it. */
static bool caller_may_read(Provd *p, DBusMessage *m, const SchemaKey *k) {
        return !k->secret || (k->reader && bus_sender_owns_name(p->bus, dbus_message_get_sender(m), k->reader));
}

static const char *value_for_caller(Provd *p, DBusMessage *m, const char *key, const char *value) {
        const SchemaKey *k = schema_find(key);
        if (k && !caller_may_read(p, m, k) && value && *value)
                return SCHEMA_MASK;
        return value;
}

static int reply_cfg_error(Provd *p, DBusMessage *m, int r, const CfgError *e, BusError *error) {
        char text[600];

        if (!e->reason[0])
                return bus_error_set(error, r, "%s", strerror(-r));
        if (!e->file[0])
                return bus_error_set(error, r, "%s", e->reason);
        cfg_error_format(e, text, sizeof(text));
        return bus_error_set(error, r, "%s", text);
}

static int method_get(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        const char *key;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &key, DBUS_TYPE_INVALID))
                return -EINVAL;
        const char *value = store_get(p->store, key);
        if (!value)
                return bus_error_set(error, -ENOENT, "Unknown configuration key '%s'", key);
        value = value_for_caller(p, m, key, value);
        return bus_reply(bus, m, DBUS_TYPE_STRING, &value, DBUS_TYPE_INVALID);
}

static int method_get_all(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;
        const char *prefix;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &prefix, DBUS_TYPE_INVALID))
                return -EINVAL;
        int r = store_get_all(p->store, prefix, &keys, &values);
        if (r < 0)
                return r;
        for (size_t i = 0; keys && keys[i]; i++) {
                const char *v = value_for_caller(p, m, keys[i], values[i]);
                if (v != values[i]) {
                        char *masked = strdup(v);
                        if (!masked)
                                return -ENOMEM;
                        erase_and_free(values[i]);
                        values[i] = masked;
                }
        }

        return bus_reply_string_dict(bus, m, keys, values);
}

static int do_set(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL, **changed = NULL;
        DBusMessageIter iter;
        CfgError e = {};

        dbus_message_iter_init(m, &iter);
        int r = bus_read_string_dict(&iter, &keys, &values);
        if (r < 0)
                return r;
        r = store_set(p->store, keys, values, &changed, &e);
        for (size_t i = 0; values && values[i]; i++)
                explicit_bzero(values[i], strlen(values[i]));
        if (r < 0)
                return reply_cfg_error(p, m, r, &e, error);
        log_info("Configuration changed by %s: %zu key(s) set, %zu effective change(s)",
                 dbus_message_get_sender(m), strv_length(keys), strv_length(changed));
        provd_bus_changed(p, changed);
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int do_reset(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        _cleanup_(strv_freep) char **keys = NULL, **changed = NULL;
        DBusMessageIter iter;
        CfgError e = {};

        dbus_message_iter_init(m, &iter);
        int r = bus_read_strv(&iter, &keys);
        if (r < 0)
                return r;
        r = store_reset(p->store, keys, &changed, &e);
        if (r < 0)
                return reply_cfg_error(p, m, r, &e, error);
        provd_bus_changed(p, changed);
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

#define IMPORT_MAX_SIZE (4U * 1024 * 1024)

static int do_import(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        _cleanup_(strv_freep) char **changed = NULL;
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        const char *name, *data;
        int size;
        CfgError e = {};
        unsigned skipped = 0;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &data,
                                   &size, DBUS_TYPE_INVALID))
                return -EINVAL;
        if ((unsigned) size > IMPORT_MAX_SIZE)
                return bus_error_set(error, -E2BIG, "%s: larger than %u bytes", name, IMPORT_MAX_SIZE);

        int r = cfg_parse(name, data, (size_t) size, &f, &e);
        if (r >= 0)
                r = store_import(p->store, f, &changed, &skipped, &e);
        if (r < 0) {
                log_warning("Refused to import %s: %s (line %u)", name, e.reason, e.line);
                return reply_cfg_error(p, m, r, &e, error);
        }
        log_info("Imported %s: %zu effective change(s), %u unknown key(s) skipped", name,
                 strv_length(changed), skipped);
        provd_bus_changed(p, changed);
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

/*
 * Writes are for root, the user provd runs as, members of the group
 * "deskphone", and the UI service (settings made on the keypad). The bus
 * policy says the same on the system bus; this check holds on any bus.
 * The caller's uid is asked of the bus asynchronously: the call stays
 * pending until the answer comes (oFono's pattern).
 */
#define PROVD_ADMIN_GROUP "deskphone"

typedef struct Authorization {
        Provd *provd;
        DBusMessage *message;
        BusMethodHandler handler;
} Authorization;

static bool uid_is_admin(uid_t uid) {
        if (uid == 0 || uid == getuid())
                return true;

        struct group *g = getgrnam(PROVD_ADMIN_GROUP);
        struct passwd *pw = getpwuid(uid);
        if (!g || !pw)
                return false;
        gid_t groups[64];
        int n = ELEMENTSOF(groups);
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == g->gr_gid)
                        return true;
        return false;
}

static void on_caller_uid(Bus *bus, int error, uid_t uid, void *userdata) {
        Authorization *a = userdata;
        BusError e = {};
        int r;

        if (error < 0)
                r = bus_error_set(&e, error, "Cannot tell who is asking: %s", strerror(-error));
        else if (!uid_is_admin(uid))
                r = bus_error_set(&e, -EACCES, "Changing the configuration needs root or membership in the "
                                  "group '" PROVD_ADMIN_GROUP "' (uid %u is neither)", (unsigned) uid);
        else
                r = a->handler(bus, a->message, a->provd, &e);
        if (r < 0)
                (void) bus_reply_error_errno(bus, a->message, r, "%s", e.message[0] ? e.message : strerror(-r));
        dbus_message_unref(a->message);
        free(a);
}

int provd_authorize(Bus *bus, DBusMessage *m, Provd *p, BusMethodHandler handler, BusError *error) {
        const char *sender = dbus_message_get_sender(m);

        /* the keypad's settings menu */
        if (bus_sender_owns_name(bus, sender, "org.deskphone.Ui1"))
                return handler(bus, m, p, error);

        Authorization *a = malloc(sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (Authorization){ .provd = p, .message = dbus_message_ref(m), .handler = handler };
        int r = bus_get_caller_uid(bus, sender, on_caller_uid, a);
        if (r < 0) {
                dbus_message_unref(a->message);
                free(a);
        }
        return r;
}

static int method_set(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_set, error);
}

static int method_reset(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_reset, error);
}

static int method_import(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_import, error);
}

static int describe_add(char ***keys, char ***values, const char *k, const char *v) {
        if (strv_extend(keys, k) < 0 || strv_extend(values, v ?: "") < 0)
                return -ENOMEM;
        return 0;
}

static int method_describe(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        _cleanup_(strv_freep) char **keys = calloc(1, sizeof(char *)), **values = calloc(1, sizeof(char *));
        const char *key;
        char min[32], max[32];

        if (!keys || !values)
                return -ENOMEM;
        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &key, DBUS_TYPE_INVALID))
                return -EINVAL;
        const SchemaKey *k = schema_find(key);
        if (!k)
                return bus_error_set(error, -ENOENT, "Unknown configuration key '%s'", key);

        snprintf(min, sizeof(min), "%ld", k->min);
        snprintf(max, sizeof(max), "%ld", k->max);
        int r = describe_add(&keys, &values, "type", schema_type_to_string(k->type));
        if (r >= 0)
                r = describe_add(&keys, &values, "default", value_for_caller(p, m, key, k->default_value));
        if (r >= 0 && k->type == SCHEMA_INT)
                r = describe_add(&keys, &values, "min", min) ?: describe_add(&keys, &values, "max", max);
        if (r >= 0 && k->type == SCHEMA_ENUM)
                r = describe_add(&keys, &values, "choices", k->choices);
        if (r >= 0)
                r = describe_add(&keys, &values, "secret", k->secret ? "true" : "false");
        if (r >= 0)
                r = describe_add(&keys, &values, "users", k->users);
        if (r >= 0)
                r = describe_add(&keys, &values, "description", k->description);
        if (r >= 0)
                r = describe_add(&keys, &values, "layer", store_layer_to_string(store_get_layer(p->store, key)));
        if (r < 0)
                return r;

        return bus_reply_string_dict(bus, m, keys, values);
}

static int property_generation(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        dbus_uint64_t g = store_generation(p->store);
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT64, &g) ? 0 : -ENOMEM;
}

static int property_local_keys(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Provd *p = userdata;
        dbus_uint32_t n = store_n_local(p->store);
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT32, &n) ? 0 : -ENOMEM;
}

static const BusMethod config_methods[] = {
        { "Get", "s", "key", "s", "value", method_get },
        { "GetAll", "s", "prefix", "a{ss}", "values", method_get_all },
        { "Set", "a{ss}", "values", "", "", method_set },
        { "Reset", "as", "keys", "", "", method_reset },
        { "Import", "say", "name,contents", "", "", method_import },
        { "Describe", "s", "key", "a{ss}", "info", method_describe },
        {}
};

static const BusProperty config_properties[] = {
        { "Generation", "t", property_generation, NULL, true },
        { "LocalKeys", "u", property_local_keys, NULL, true },
        {}
};

static const BusSignal config_signals[] = {
        { "Changed", "as", "keys" },
        {}
};

const BusInterface provd_config_interface = {
        .name = "org.deskphone.Config1",
        .methods = config_methods,
        .properties = config_properties,
        .signals = config_signals,
};

void provd_bus_changed(Provd *p, char **keys) {
        if (strv_length(keys) == 0)
                return;
        if (p->provision)
                provision_config_changed(p->provision, keys);
        (void) bus_emit_properties_changed(p->bus, PROVD_CONFIG_PATH, provd_config_interface.name,
                                           "Generation", "LocalKeys", NULL);
        int r = bus_emit_signal(p->bus, PROVD_CONFIG_PATH, provd_config_interface.name, "Changed",
                                DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &keys, (int) strv_length(keys),
                                DBUS_TYPE_INVALID);
        if (r < 0)
                log_warning_errno(r, "Failed to send Changed: %m");
}

int provd_bus_register(Provd *p) {
        int r = bus_add_object_manager(p->bus, PROVD_MANAGER_PATH);
        if (r < 0)
                return r;
        r = bus_add_object(p->bus, PROVD_CONFIG_PATH, &provd_config_interface, p);
        if (r < 0)
                return r;

        /* the services that may read secrets in clear */
        for (const SchemaKey *k = schema_keys; k->pattern; k++)
                if (k->reader) {
                        r = bus_track_name(p->bus, k->reader);
                        if (r < 0)
                                return r;
                }
        r = bus_track_name(p->bus, "org.deskphone.Ui1");
        if (r < 0)
                return r;
        return bus_request_name(p->bus, PROVD_CONFIG_NAME);
}
