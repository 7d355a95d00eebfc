/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cfg-parse.h"
#include "phonectl.h"
#include "util.h"

/* The Config1 commands. Values are printed as the daemon gives them: it masks secrets. */

#define IMPORT_SIZE_MAX (4U * 1024 * 1024)

static int config_call(Context *ctx, DBusMessage *m, const char *signature, DBusMessage **ret_reply) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;

        int r = bus_call(ctx, m, ctx_call_timeout_ms(ctx), &reply);
        if (r < 0)
                return r;
        if (signature) {
                r = bus_check_signature(reply, signature);
                if (r < 0)
                        return r;
        }
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

/* A call with one string argument ("" when arg is NULL). */
static int config_call_string(Context *ctx, const char *member, const char *arg, const char *signature,
                              DBusMessage **ret_reply) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CONFIG_PATH, CONFIG_IFACE, member);
        const char *s = strempty(arg);

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID))
                return oom();
        return config_call(ctx, m, signature, ret_reply);
}

static int config_get(Context *ctx, const char *key, char **ret) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        const char *value;

        int r = config_call_string(ctx, "Get", key, "s", &reply);
        if (r < 0)
                return r;
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &value, DBUS_TYPE_INVALID))
                return oom(); /* the signature was checked */
        char *copy = strdup(value);
        if (!copy)
                return oom();
        *ret = copy;
        return 0;
}

static void print_pairs_json(char **keys, char **values) {
        JsonWriter w = JSON_WRITER_INIT(stdout);

        json_begin_object(&w);
        for (size_t i = 0; keys[i]; i++) {
                json_key(&w, keys[i]);
                json_string(&w, values[i]);
        }
        json_end_object(&w);
        json_finish(&w);
}

int verb_config_get(Context *ctx, int argc, char **argv) {
        _cleanup_(strv_freep) char **values = NULL;

        /* Ask for all first, so that an unknown key prints nothing at all. */
        for (int i = 1; i < argc; i++) {
                char *value = NULL;
                int r = config_get(ctx, argv[i], &value);
                if (r < 0)
                        return r;
                if (strv_consume(&values, value) < 0)
                        return oom();
        }

        if (ctx->json)
                print_pairs_json(argv + 1, values);
        else if (argc == 2)
                printf("%s\n", values[0]);
        else
                for (int i = 1; i < argc; i++)
                        printf("%s = %s\n", argv[i], values[i - 1]);
        return 0;
}

/* "KEY=VALUE" into the dictionary; refuses a key given twice. */
static int append_assignment(DBusMessageIter *dict, char **argv, int i) {
        DBusMessageIter entry;
        const char *eq = strchr(argv[i], '=');

        if (!eq)
                return usage_error("Expected KEY=VALUE, got '%s'.", argv[i]);
        if (eq == argv[i])
                return usage_error("Argument %d has no key before '='.", i);

        _cleanup_(freep) char *key = strndup(argv[i], eq - argv[i]);
        const char *value = eq + 1;
        if (!key)
                return oom();
        for (int j = 1; j < i; j++)
                if (startswith(argv[j], key) && argv[j][strlen(key)] == '=')
                        return usage_error("Key %s is given more than once.", key);

        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
            !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) ||
            !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &value) ||
            !dbus_message_iter_close_container(dict, &entry))
                return oom();
        return 0;
}

int verb_config_set(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CONFIG_PATH, CONFIG_IFACE, "Set");
        DBusMessageIter iter, dict;

        if (!m)
                return oom();
        dbus_message_iter_init_append(m, &iter);
        if (!dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{ss}", &dict))
                return oom();
        for (int i = 1; i < argc; i++) {
                int r = append_assignment(&dict, argv, i);
                if (r < 0) {
                        dbus_message_iter_abandon_container(&iter, &dict);
                        return r;
                }
        }
        if (!dbus_message_iter_close_container(&iter, &dict))
                return oom();
        return config_call(ctx, m, "", NULL);
}

/* A string dictionary from the reply, sorted, as two parallel lists. */
static int reply_string_dict(DBusMessage *reply, char ***ret_keys, char ***ret_values) {
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;
        _cleanup_(freep) DictEntry *entries = NULL;
        DBusMessageIter iter;
        size_t n;

        if (!dbus_message_iter_init(reply, &iter) || dict_collect(&iter, &entries, &n) < 0)
                return phonectl_error(-EBADMSG, "Malformed reply from %s.", CONFIG_NAME);
        keys = calloc(n + 1, sizeof(char *));
        values = calloc(n + 1, sizeof(char *));
        if (!keys || !values)
                return oom();
        for (size_t i = 0; i < n; i++) {
                const char *value;
                dbus_message_iter_get_basic(&entries[i].value, &value);
                keys[i] = strdup(entries[i].key);
                values[i] = strdup(value);
                if (!keys[i] || !values[i])
                        return oom();
        }
        *ret_keys = TAKE_PTR(keys);
        *ret_values = TAKE_PTR(values);
        return 0;
}

static int print_cfg(char **keys, char **values) {
        _cleanup_(freep) char *text = NULL;
        size_t size;

        for (size_t i = 0; keys[i]; i++)
                if (strpbrk(values[i], "\r\n"))
                        return phonectl_error(-EINVAL, "The value of %s spans lines; a .cfg file cannot hold it.",
                                              keys[i]);
        int r = cfg_format(keys, values, &text, &size);
        if (r < 0)
                return phonectl_error(r, "Failed to format the configuration: %m");
        fwrite(text, 1, size, stdout);
        return 0;
}

int verb_config_dump(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;

        int r = config_call_string(ctx, "GetAll", argc > 1 ? argv[1] : NULL, "a{ss}", &reply);
        if (r < 0)
                return r;
        r = reply_string_dict(reply, &keys, &values);
        if (r < 0)
                return r;
        if (ctx->json) {
                print_pairs_json(keys, values);
                return 0;
        }
        return print_cfg(keys, values);
}

int verb_config_import(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CONFIG_PATH, CONFIG_IFACE, "Import");
        _cleanup_(freep) char *data = NULL;
        bool in = streq(argv[1], "-");
        const char *name = in ? "stdin" : argv[1];
        size_t size;

        int r = read_full_file(in ? "/dev/stdin" : argv[1], &data, &size, IMPORT_SIZE_MAX);
        if (r == -EFBIG)
                return phonectl_error(-EFBIG, "%s is larger than 4 MiB.", name);
        if (r < 0)
                return phonectl_error(r, "Failed to read %s: %m", name);

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE,
                                            &data, (int) size, DBUS_TYPE_INVALID))
                return oom();
        return config_call(ctx, m, "", NULL);
}

int verb_config_reset(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CONFIG_PATH, CONFIG_IFACE, "Reset");
        char **keys = argv + 1;

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &keys, argc - 1,
                                            DBUS_TYPE_INVALID))
                return oom();
        return config_call(ctx, m, "", NULL);
}

/* The fields people look for first, then the rest. */
static const char * const describe_order[] = {
        "type", "default", "min", "max", "choices", "secret", "layer", "users", "description",
};

static bool describe_is_ordered(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(describe_order); i++)
                if (streq(key, describe_order[i]))
                        return true;
        return false;
}

static void print_field(const char *key, const char *value) {
        printf("%s:%s%s\n", key, *value ? " " : "", value);
}

static void print_description(char **keys, char **values) {
        for (size_t i = 0; i < ELEMENTSOF(describe_order); i++)
                for (size_t j = 0; keys[j]; j++)
                        if (streq(keys[j], describe_order[i]))
                                print_field(keys[j], values[j]);
        for (size_t j = 0; keys[j]; j++)
                if (!describe_is_ordered(keys[j]))
                        print_field(keys[j], values[j]);
}

int verb_config_describe(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;

        int r = config_call_string(ctx, "Describe", argv[1], "a{ss}", &reply);
        if (r < 0)
                return r;
        r = reply_string_dict(reply, &keys, &values);
        if (r < 0)
                return r;
        if (ctx->json)
                print_pairs_json(keys, values);
        else
                print_description(keys, values);
        return 0;
}
