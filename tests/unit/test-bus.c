/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/bus.c against a real dbus-daemon: tables, properties, object manager, errors. */
#include <signal.h>
#include <sys/wait.h>

#include "bus.h"
#include "tap.h"
#include "util.h"

static sd_event *event;
static Bus *bus;
static DBusConnection *client;
static pid_t daemon_pid;

typedef struct Thing {
        char state[32];
        int32_t level;
        DBusMessage *pending;
} Thing;

static Thing thing = { .state = "idle" };

static int get_state(Bus *b, DBusMessageIter *iter, void *userdata) {
        const char *s = ((Thing *) userdata)->state;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_STRING, &s) ? 0 : -ENOMEM;
}

static int get_level(Bus *b, DBusMessageIter *iter, void *userdata) {
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_INT32, &((Thing *) userdata)->level) ? 0 : -ENOMEM;
}

static int set_level(Bus *b, DBusMessageIter *iter, void *userdata, BusError *error) {
        int32_t v;
        dbus_message_iter_get_basic(iter, &v);
        if (v < 0 || v > 10)
                return bus_error_set(error, -ERANGE, "Level must be 0..10, got %d", (int) v);
        ((Thing *) userdata)->level = v;
        return bus_emit_properties_changed(b, "/org/test/thing/1", "org.test.Thing", "Level", NULL);
}

static int method_fail(Bus *b, DBusMessage *m, void *userdata, BusError *error) {
        int32_t e;
        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_INT32, &e, DBUS_TYPE_INVALID))
                return -EINVAL;
        return bus_error_set(error, -e, "Failed on purpose with errno %d", (int) e);
}

static int method_later(Bus *b, DBusMessage *m, void *userdata, BusError *error) {
        ((Thing *) userdata)->pending = dbus_message_ref(m); /* replied from the test */
        return 0;
}

static const BusMethod thing_methods[] = {
        { "Fail", "i", "errno", "", "", method_fail },
        { "Later", "", "", "s", "answer", method_later },
        {}
};
static const BusProperty thing_properties[] = {
        { "State", "s", get_state, NULL, true },
        { "Level", "i", get_level, set_level, true },
        {}
};
static const BusSignal thing_signals[] = { { "Poke", "s", "why" }, {} };
static const BusInterface thing_interface = {
        .name = "org.test.Thing", .methods = thing_methods, .properties = thing_properties, .signals = thing_signals,
};

/* Run the service's loop until the client has a message matching want (or 5 s). */
static DBusMessage *pump(bool (*want)(DBusMessage *m, const void *arg), const void *arg) {
        uint64_t deadline = now_usec() + 5000000;
        while (now_usec() < deadline) {
                (void) sd_event_run(event, 5000);
                dbus_connection_read_write(client, 0);
                DBusMessage *m;
                while ((m = dbus_connection_pop_message(client))) {
                        if (want(m, arg))
                                return m;
                        dbus_message_unref(m);
                }
        }
        return NULL;
}

static bool is_reply_to(DBusMessage *m, const void *arg) {
        return dbus_message_get_reply_serial(m) == *(const dbus_uint32_t *) arg;
}

static bool is_signal(DBusMessage *m, const void *arg) {
        return dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL && streq_ptr(dbus_message_get_member(m), arg);
}

static DBusMessage *call(DBusMessage *m) {
        dbus_uint32_t serial;
        dbus_connection_send(client, m, &serial);
        dbus_message_unref(m);
        return pump(is_reply_to, &serial);
}

static DBusMessage *new_call(const char *path, const char *iface, const char *member) {
        return dbus_message_new_method_call(bus_unique_name(bus), path, iface, member);
}

static void test_introspect_children(void) {
        tap_begin("/bus/introspect/children");
        DBusMessage *r = call(new_call("/org/test", DBUS_INTERFACE_INTROSPECTABLE, "Introspect"));
        const char *xml = NULL;
        check(r && dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID));
        check(xml && strstr(xml, "<node name=\"thing\"/>"));
        check(xml && strstr(xml, "org.freedesktop.DBus.ObjectManager"));
        if (r)
                dbus_message_unref(r);
        r = call(new_call("/org/test/thing/1", DBUS_INTERFACE_INTROSPECTABLE, "Introspect"));
        check(r && dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID));
        check(xml && strstr(xml, "<property name=\"Level\" type=\"i\" access=\"readwrite\"/>"));
        check(xml && strstr(xml, "<arg type=\"i\" name=\"errno\" direction=\"in\"/>"));
        if (r)
                dbus_message_unref(r);
        tap_end();
}

static void test_properties_batched(void) {
        tap_begin("/bus/properties/batched");
        /* three changes in one loop iteration: one signal, with the last value */
        strcpy(thing.state, "a");
        bus_emit_properties_changed(bus, "/org/test/thing/1", "org.test.Thing", "State", NULL);
        strcpy(thing.state, "b");
        bus_emit_properties_changed(bus, "/org/test/thing/1", "org.test.Thing", "State", NULL);
        strcpy(thing.state, "busy");
        bus_emit_properties_changed(bus, "/org/test/thing/1", "org.test.Thing", "State", NULL);
        DBusMessage *m = pump(is_signal, "PropertiesChanged");
        check(m);
        if (m) {
                DBusMessageIter it, dict, entry, v;
                const char *name, *value;
                dbus_message_iter_init(m, &it);
                dbus_message_iter_next(&it);
                dbus_message_iter_recurse(&it, &dict);
                dbus_message_iter_recurse(&dict, &entry);
                dbus_message_iter_get_basic(&entry, &name);
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &v);
                dbus_message_iter_get_basic(&v, &value);
                check(streq(name, "State") && streq(value, "busy"));
                check(!dbus_message_iter_next(&dict)); /* one entry only */
                dbus_message_unref(m);
        }
        /* and no second one: a Poke sent now is the next signal the client sees */
        bus_emit_signal(bus, "/org/test/thing/1", "org.test.Thing", "Poke", DBUS_TYPE_STRING,
                        &(const char *){ "marker" }, DBUS_TYPE_INVALID);
        m = pump(is_signal, "Poke");
        check(m);
        if (m)
                dbus_message_unref(m);
        tap_end();
}

static bool is_any_signal(DBusMessage *m, const void *arg) {
        return dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL &&
               !streq_ptr(dbus_message_get_sender(m), DBUS_SERVICE_DBUS);
}

static void test_object_manager(void) {
        static Thing two = { .state = "new" };
        tap_begin("/bus/object-manager/added-changed-removed");
        check(bus_add_object(bus, "/org/test/thing/2", &thing_interface, &two) == 0);
        DBusMessage *m = pump(is_any_signal, NULL);
        check(m && dbus_message_is_signal(m, DBUS_INTERFACE_OBJECT_MANAGER, "InterfacesAdded"));
        if (m)
                dbus_message_unref(m);

        /* the last state goes out before the object does */
        strcpy(two.state, "ended");
        bus_emit_properties_changed(bus, "/org/test/thing/2", "org.test.Thing", "State", NULL);
        check(bus_remove_object(bus, "/org/test/thing/2", &thing_interface) == 0);
        m = pump(is_any_signal, NULL);
        check(m && dbus_message_is_signal(m, DBUS_INTERFACE_PROPERTIES, "PropertiesChanged"));
        if (m)
                dbus_message_unref(m);
        m = pump(is_any_signal, NULL);
        check(m && dbus_message_is_signal(m, DBUS_INTERFACE_OBJECT_MANAGER, "InterfacesRemoved"));
        if (m)
                dbus_message_unref(m);

        m = call(new_call("/org/test", DBUS_INTERFACE_OBJECT_MANAGER, "GetManagedObjects"));
        check(m && streq(dbus_message_get_signature(m), "a{oa{sa{sv}}}"));
        if (m)
                dbus_message_unref(m);
        tap_end();
}

static void check_error(int e, const char *name) {
        DBusMessage *m = new_call("/org/test/thing/1", "org.test.Thing", "Fail");
        int32_t v = e;
        dbus_message_append_args(m, DBUS_TYPE_INT32, &v, DBUS_TYPE_INVALID);
        DBusMessage *r = call(m);
        check(r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR);
        if (r) {
                check(streq_ptr(dbus_message_get_error_name(r), name), "errno %d gave %s, expected %s", e,
                      dbus_message_get_error_name(r), name);
                const char *text = NULL;
                dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID);
                check(text && strstr(text, "on purpose"));
                dbus_message_unref(r);
        }
}

static void test_errors(void) {
        tap_begin("/bus/errors/errno-mapping");
        check_error(ENOENT, BUS_ERROR_NOT_FOUND);
        check_error(EINVAL, BUS_ERROR_INVALID_ARGUMENT);
        check_error(EACCES, BUS_ERROR_NOT_AUTHORIZED);
        check_error(EBUSY, BUS_ERROR_BUSY);
        check_error(ETIMEDOUT, BUS_ERROR_TIMED_OUT);
        check_error(EIO, BUS_ERROR_FAILED);
        tap_end();

        tap_begin("/bus/errors/wrong-signature-and-unknowns");
        DBusMessage *r = call(new_call("/org/test/thing/1", "org.test.Thing", "Fail"));
        check(r && streq_ptr(dbus_message_get_error_name(r), BUS_ERROR_INVALID_ARGUMENT));
        if (r)
                dbus_message_unref(r);
        r = call(new_call("/org/test/nothing", "org.test.Thing", "Fail"));
        check(r && streq_ptr(dbus_message_get_error_name(r), DBUS_ERROR_UNKNOWN_OBJECT));
        if (r)
                dbus_message_unref(r);
        r = call(new_call("/org/test/thing/1", "org.test.Thing", "NoSuch"));
        check(r && streq_ptr(dbus_message_get_error_name(r), DBUS_ERROR_UNKNOWN_METHOD));
        if (r)
                dbus_message_unref(r);
        tap_end();
}

static void test_property_set(void) {
        tap_begin("/bus/properties/set");
        DBusMessage *m = new_call("/org/test/thing/1", DBUS_INTERFACE_PROPERTIES, "Set");
        DBusMessageIter it;
        const char *iface = "org.test.Thing", *name = "Level";
        int32_t v = 11;
        dbus_message_iter_init_append(m, &it);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &name);
        bus_append_basic_variant(&it, DBUS_TYPE_INT32, &v);
        DBusMessage *r = call(m);
        check(r && streq_ptr(dbus_message_get_error_name(r), BUS_ERROR_INVALID_ARGUMENT));
        if (r)
                dbus_message_unref(r);
        check(thing.level == 0);

        m = new_call("/org/test/thing/1", DBUS_INTERFACE_PROPERTIES, "Set");
        v = 7;
        dbus_message_iter_init_append(m, &it);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &name);
        bus_append_basic_variant(&it, DBUS_TYPE_INT32, &v);
        r = call(m);
        check(r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_METHOD_RETURN);
        if (r)
                dbus_message_unref(r);
        check(thing.level == 7);

        name = "State"; /* read-only */
        m = new_call("/org/test/thing/1", DBUS_INTERFACE_PROPERTIES, "Set");
        dbus_message_iter_init_append(m, &it);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &name);
        bus_append_basic_variant(&it, DBUS_TYPE_STRING, &name);
        r = call(m);
        check(r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR);
        if (r)
                dbus_message_unref(r);
        tap_end();
}

static void test_async_reply(void) {
        tap_begin("/bus/methods/async-reply");
        dbus_uint32_t serial;
        DBusMessage *m = new_call("/org/test/thing/1", "org.test.Thing", "Later");
        dbus_connection_send(client, m, &serial);
        dbus_message_unref(m);
        for (int i = 0; i < 100 && !thing.pending; i++)
                (void) sd_event_run(event, 5000);
        check(thing.pending);
        if (thing.pending) {
                const char *answer = "done";
                bus_reply(bus, thing.pending, DBUS_TYPE_STRING, &answer, DBUS_TYPE_INVALID);
                dbus_message_unref(thing.pending);
                thing.pending = NULL;
        }
        DBusMessage *r = pump(is_reply_to, &serial);
        const char *a = NULL;
        check(r && dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &a, DBUS_TYPE_INVALID) && streq(a, "done"));
        if (r)
                dbus_message_unref(r);
        tap_end();
}

static int received_pokes;
static void on_poke(Bus *b, DBusMessage *m, void *userdata) {
        received_pokes++;
}

static void test_signal_match(void) {
        tap_begin("/bus/signals/match");
        int id = bus_add_match_signal(bus, dbus_bus_get_unique_name(client), "/x", "org.test.Client", "Poke",
                                      on_poke, NULL);
        check(id > 0);
        /* a round trip so the AddMatch is in force */
        DBusMessage *r = call(new_call("/org/test/thing/1", DBUS_INTERFACE_PEER, "Ping"));
        if (r)
                dbus_message_unref(r);
        DBusMessage *s = dbus_message_new_signal("/x", "org.test.Client", "Poke");
        dbus_connection_send(client, s, NULL);
        dbus_message_unref(s);
        s = dbus_message_new_signal("/y", "org.test.Client", "Poke"); /* other path: not ours */
        dbus_connection_send(client, s, NULL);
        dbus_message_unref(s);
        dbus_connection_flush(client);
        for (int i = 0; i < 200 && received_pokes == 0; i++)
                (void) sd_event_run(event, 5000);
        check(received_pokes == 1);
        bus_remove_match(bus, id);
        tap_end();
}

static int start_daemon(char **ret_address) {
        int fds[2];
        char buf[512] = "";
        if (pipe(fds) < 0)
                return -errno;
        daemon_pid = fork();
        if (daemon_pid == 0) {
                char arg[32];
                snprintf(arg, sizeof(arg), "--print-address=%d", fds[1]);
                close(fds[0]);
                execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile", arg, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
        close(fds[0]);
        if (n <= 0)
                return -EIO;
        buf[strcspn(buf, "\n")] = 0;
        *ret_address = strdup(buf);
        return 0;
}

int main(void) {
        _cleanup_(freep) char *address = NULL;
        DBusError error = DBUS_ERROR_INIT;

        if (start_daemon(&address) < 0) {
                printf("1..0 # SKIP cannot start dbus-daemon\n");
                return 77;
        }
        sd_event_new(&event);
        if (bus_open(event, address, &bus) < 0)
                return 1;
        bus_add_object_manager(bus, "/org/test");
        bus_add_object(bus, "/org/test/thing/1", &thing_interface, &thing);
        client = dbus_connection_open_private(address, &error);
        dbus_bus_register(client, &error);
        dbus_bus_add_match(client, "type='signal'", &error);

        test_introspect_children();
        test_properties_batched();
        test_object_manager();
        test_errors();
        test_property_set();
        test_async_reply();
        test_signal_match();

        dbus_connection_close(client);
        dbus_connection_unref(client);
        bus_free(bus);
        sd_event_unref(event);
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
        return tap_finish();
}
