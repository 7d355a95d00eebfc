/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.deskphone.Config1 through the real provd on a private bus. */
#include <stdarg.h>

#include "bus.h"
#include "phone.h"
#include "util.h"

#define DEST "org.deskphone.Config1"
#define PATH "/org/deskphone/Config1"
#define IFACE "org.deskphone.Config1"

static Phone *phone;
static DBusConnection *sipd; /* a second connection that plays sipd */

static char *get(DBusConnection *c, const char *key, char *error_name, size_t size) {
        DBusError error;
        const char *v;

        dbus_error_init(&error);
        DBusMessage *reply = phone_call(c, DEST, PATH, IFACE, "Get", &error, DBUS_TYPE_STRING, &key,
                                        DBUS_TYPE_INVALID);
        if (!reply) {
                if (error_name)
                        snprintf(error_name, size, "%s", error.name);
                dbus_error_free(&error);
                return NULL;
        }
        char *r = dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &v, DBUS_TYPE_INVALID) ? strdup(v) : NULL;
        dbus_message_unref(reply);
        return r;
}

static bool get_is(DBusConnection *c, const char *key, const char *expected) {
        _cleanup_(freep) char *v = get(c, key, NULL, 0);
        if (!v || !streq(v, expected))
                fprintf(stderr, "  %s = '%s', expected '%s'\n", key, strempty(v), expected);
        return v && streq(v, expected);
}

/* Set from pairs "k", "v", ..., NULL; returns 0 or fills error. */
static int set(DBusError *error, ...) {
        DBusMessage *m = dbus_message_new_method_call(DEST, PATH, IFACE, "Set");
        DBusMessageIter iter, a, e;
        va_list ap;

        dbus_message_iter_init_append(m, &iter);
        dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{ss}", &a);
        va_start(ap, error);
        for (const char *k; (k = va_arg(ap, const char *));) {
                const char *v = va_arg(ap, const char *);
                dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &v);
                dbus_message_iter_close_container(&a, &e);
        }
        va_end(ap);
        dbus_message_iter_close_container(&iter, &a);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(phone->conn, m, 10000, error);
        dbus_message_unref(m);
        if (!reply)
                return -1;
        dbus_message_unref(reply);
        return 0;
}

static int import(const char *name, const char *text, DBusError *error) {
        int len = (int) strlen(text);
        DBusMessage *reply = phone_call(phone->conn, DEST, PATH, IFACE, "Import", error, DBUS_TYPE_STRING, &name,
                                        DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &text, len, DBUS_TYPE_INVALID);
        if (!reply)
                return -1;
        dbus_message_unref(reply);
        return 0;
}

static char *effective(void) {
        _cleanup_(freep) char *path = strjoin(phone->dir, "/state/provd/config/current/effective.cfg", NULL);
        char *text = NULL;
        if (read_full_file(path, &text, NULL, 16 * 1024 * 1024) < 0)
                return NULL;
        return text;
}

/* The keys of the next Changed signal, as "k1,k2," */
static char *next_changed(void) {
        DBusMessage *m = phone_wait_signal(phone->conn, IFACE, "Changed", 5000);
        char **keys;
        int n;
        if (!m)
                return NULL;
        char *joined = strdup("");
        if (dbus_message_get_args(m, NULL, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &keys, &n, DBUS_TYPE_INVALID)) {
                for (int i = 0; i < n; i++) {
                        char *j = strjoin(joined, keys[i], ",", NULL);
                        free(joined);
                        joined = j;
                }
                dbus_free_string_array(keys);
        }
        dbus_message_unref(m);
        return joined;
}

static int test_default(void) {
        TEST_ASSERT(get_is(phone->conn, "sip.listen_port", "5060"));
        return 0;
}

static int test_set_get_changed(void) {
        DBusError error = DBUS_ERROR_INIT;
        TEST_ASSERT(set(&error, "account.1.label", "Office", "account.1.display_name", "Ada", NULL) == 0);
        TEST_ASSERT(get_is(phone->conn, "account.1.label", "Office"));
        _cleanup_(freep) char *keys = next_changed();
        TEST_ASSERT(keys);
        TEST_ASSERT(strstr(keys, "account.1.label,") && strstr(keys, "account.1.display_name,"));
        return 0;
}

static int test_secret_masked(void) {
        DBusError error = DBUS_ERROR_INIT;
        TEST_ASSERT(set(&error, "account.1.password", "s3cr3t-pw", NULL) == 0);
        _cleanup_(freep) char *keys = next_changed();
        TEST_ASSERT(keys && strstr(keys, "account.1.password,"));
        TEST_ASSERT(get_is(phone->conn, "account.1.password", "********"));

        DBusMessage *reply = phone_call(phone->conn, DEST, PATH, IFACE, "GetAll", &error, DBUS_TYPE_STRING,
                                        &(const char *){ "account.1." }, DBUS_TYPE_INVALID);
        TEST_ASSERT(reply);
        DBusMessageIter iter;
        _cleanup_(strv_freep) char **k = NULL, **v = NULL;
        dbus_message_iter_init(reply, &iter);
        TEST_ASSERT(bus_read_string_dict(&iter, &k, &v) == 0);
        dbus_message_unref(reply);
        bool seen = false;
        for (size_t i = 0; k[i]; i++) {
                TEST_ASSERT(!strstr(v[i], "s3cr3t"));
                if (streq(k[i], "account.1.password"))
                        seen = streq(v[i], "********");
        }
        TEST_ASSERT(seen);
        _cleanup_(freep) char *text = effective();
        TEST_ASSERT(text);
        return 0;
}

static int test_secret_clear_for_owner(void) {
        DBusError error = DBUS_ERROR_INIT;
        TEST_ASSERT(dbus_bus_request_name(sipd, "org.deskphone.Sip1", DBUS_NAME_FLAG_DO_NOT_QUEUE, &error) ==
                    DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER);
        TEST_ASSERT(get_is(sipd, "account.1.password", "s3cr3t-pw"));
        /* everyone else still sees it masked */
        TEST_ASSERT(get_is(phone->conn, "account.1.password", "********"));
        /* writing the mask back changes nothing */
        TEST_ASSERT(set(&error, "account.1.password", "********", NULL) == 0);
        TEST_ASSERT(get_is(sipd, "account.1.password", "s3cr3t-pw"));
        TEST_ASSERT(dbus_bus_release_name(sipd, "org.deskphone.Sip1", &error) == DBUS_RELEASE_NAME_REPLY_RELEASED);
        TEST_ASSERT(get_is(sipd, "account.1.password", "********"));
        return 0;
}

static int test_all_or_nothing(void) {
        DBusError error = DBUS_ERROR_INIT;
        _cleanup_(freep) char *before = effective(), *after = NULL, *keys = NULL;

        TEST_ASSERT(before);
        TEST_ASSERT(set(&error, "account.1.label", "Changed", "sip.listen_port", "70000", NULL) < 0);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(strstr(error.message, "sip.listen_port"));
        dbus_error_free(&error);
        after = effective();
        TEST_ASSERT(after && streq(before, after));
        TEST_ASSERT(get_is(phone->conn, "account.1.label", "Office"));

        /* the refused Set sent no Changed: the next one is this Set's */
        TEST_ASSERT(set(&error, "account.2.label", "Home", NULL) == 0);
        keys = next_changed();
        TEST_ASSERT(keys && streq(keys, "account.2.label,"));
        return 0;
}

static int test_unknown_key(void) {
        DBusError error = DBUS_ERROR_INIT;
        char name[256] = "";
        _cleanup_(freep) char *before = effective(), *after = NULL;

        TEST_ASSERT(!get(phone->conn, "no.such.key", name, sizeof(name)));
        TEST_ASSERT(streq(name, "org.deskphone.Error.NotFound"));
        TEST_ASSERT(set(&error, "no.such.key", "1", NULL) < 0);
        TEST_ASSERT(strstr(error.message, "no.such.key"));
        dbus_error_free(&error);
        TEST_ASSERT(set(&error, "account.17.label", "x", NULL) < 0);
        dbus_error_free(&error);
        after = effective();
        TEST_ASSERT(before && after && streq(before, after));
        return 0;
}

static int test_import_refused(void) {
        DBusError error = DBUS_ERROR_INIT;
        _cleanup_(freep) char *before = effective(), *after = NULL;

        TEST_ASSERT(import("syntax.cfg", "#!version:1.0.0.1\naccount.1.label = A\nthis line is bad\n", &error) < 0);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(strstr(error.message, "syntax.cfg:3"));
        dbus_error_free(&error);

        TEST_ASSERT(import("range.cfg", "#!version:1.0.0.1\r\naccount.1.label = B\r\nsip.listen_port = 99999\r\n",
                           &error) < 0);
        TEST_ASSERT(strstr(error.message, "range.cfg:3"));
        TEST_ASSERT(strstr(error.message, "sip.listen_port"));
        dbus_error_free(&error);

        after = effective();
        TEST_ASSERT(before && after && streq(before, after));
        TEST_ASSERT(get_is(phone->conn, "account.1.label", "Office"));
        return 0;
}

static int test_import_good(void) {
        DBusError error = DBUS_ERROR_INIT;
        const char *text = "#!version:1.0.0.1\n"
                           "# a comment with bytes \xff\xfe that are not UTF-8\n"
                           "account.1.label = First\n"
                           "account.1.label = Second\n"
                           "account.2.label = %NULL%\n"
                           "account.1.display_name =\n"
                           "some.vendor.key.we.do.not.know = 1\n";
        TEST_ASSERT(import("good.cfg", text, &error) == 0);
        TEST_ASSERT(get_is(phone->conn, "account.1.label", "Second"));
        TEST_ASSERT(get_is(phone->conn, "account.2.label", ""));
        TEST_ASSERT(get_is(phone->conn, "account.1.display_name", "Ada"));
        _cleanup_(freep) char *keys = NULL;
        do {
                free(keys);
                keys = next_changed();
        } while (keys && !strstr(keys, "account.1.label,"));
        TEST_ASSERT(keys && strstr(keys, "account.2.label,"));
        return 0;
}

static int test_reset(void) {
        DBusError error = DBUS_ERROR_INIT;
        const char *keys[] = { "account.1.label" };
        const char **p = keys;
        DBusMessage *reply = phone_call(phone->conn, DEST, PATH, IFACE, "Reset", &error, DBUS_TYPE_ARRAY,
                                        DBUS_TYPE_STRING, &p, 1, DBUS_TYPE_INVALID);
        TEST_ASSERT(reply);
        dbus_message_unref(reply);
        TEST_ASSERT(get_is(phone->conn, "account.1.label", ""));
        return 0;
}

static int test_bad_arguments(void) {
        DBusError error = DBUS_ERROR_INIT;
        dbus_int32_t i = 5;
        DBusMessage *reply = phone_call(phone->conn, DEST, PATH, IFACE, "Get", &error, DBUS_TYPE_INT32, &i,
                                        DBUS_TYPE_INVALID);
        TEST_ASSERT(!reply);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        dbus_error_free(&error);
        reply = phone_call(phone->conn, DEST, "/org/deskphone/Nothing", IFACE, "Get", &error, DBUS_TYPE_INVALID);
        TEST_ASSERT(!reply);
        TEST_ASSERT(streq(error.name, DBUS_ERROR_UNKNOWN_OBJECT));
        dbus_error_free(&error);
        return 0;
}

static int test_object_manager(void) {
        DBusError error = DBUS_ERROR_INIT;
        DBusMessage *reply = phone_call(phone->conn, DEST, "/org/deskphone", "org.freedesktop.DBus.ObjectManager",
                                        "GetManagedObjects", &error, DBUS_TYPE_INVALID);
        TEST_ASSERT(reply);
        TEST_ASSERT(streq(dbus_message_get_signature(reply), "a{oa{sa{sv}}}"));
        dbus_message_unref(reply);

        const char *xml;
        reply = phone_call(phone->conn, DEST, PATH, "org.freedesktop.DBus.Introspectable", "Introspect", &error,
                           DBUS_TYPE_INVALID);
        TEST_ASSERT(reply);
        TEST_ASSERT(dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID));
        TEST_ASSERT(strstr(xml, "<interface name=\"org.deskphone.Config1\">"));
        TEST_ASSERT(strstr(xml, "<method name=\"Import\">"));
        dbus_message_unref(reply);
        return 0;
}

static int test_generation_property(void) {
        DBusError error = DBUS_ERROR_INIT;
        phone_add_match(phone->conn, "type='signal',interface='org.freedesktop.DBus.Properties',"
                                     "member='PropertiesChanged',path='" PATH "'");
        TEST_ASSERT(set(&error, "account.3.label", "Lab", NULL) == 0);
        DBusMessage *m = phone_wait_signal(phone->conn, "org.freedesktop.DBus.Properties", "PropertiesChanged", 5000);
        TEST_ASSERT(m);
        dbus_message_unref(m);
        return 0;
}

static const TestCase tests[] = {
        { "/config1/default", test_default },
        { "/config1/set-get-changed", test_set_get_changed },
        { "/config1/secret-masked", test_secret_masked },
        { "/config1/secret-clear-for-owner", test_secret_clear_for_owner },
        { "/config1/all-or-nothing", test_all_or_nothing },
        { "/config1/unknown-key", test_unknown_key },
        { "/config1/import-refused", test_import_refused },
        { "/config1/import-good", test_import_good },
        { "/config1/reset", test_reset },
        { "/config1/bad-arguments", test_bad_arguments },
        { "/config1/object-manager", test_object_manager },
        { "/config1/generation-property", test_generation_property },
};

int main(int argc, char *argv[]) {
        if (phone_start(NULL, "provd", &phone) < 0)
                return EXIT_FAILURE;
        sipd = phone_connect(phone);
        phone_add_match(phone->conn, "type='signal',interface='" IFACE "',member='Changed'");
        int r = run_tests(tests, ELEMENTSOF(tests), argc, argv);
        dbus_connection_close(sipd);
        dbus_connection_unref(sipd);
        phone_stop(phone);
        return r;
}
