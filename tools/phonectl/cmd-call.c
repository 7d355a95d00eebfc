/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "phonectl.h"
#include "util.h"

/*
 * Calls: dial URI [--account N] prints the new call's object path; answer,
 * hangup, reject, hold and resume take a call (call/N, N or a path) or pick
 * the newest call the command applies to. dtmf [CALL] DIGITS sends digits in
 * a call; without CALL, in the one call in progress (an error when there are
 * several).
 */

#define SIP1_NAME "org.deskphone.Sip1"
#define SIP1_PATH "/org/deskphone/Sip1"
#define SIP1_IFACE "org.deskphone.Sip1"
#define SIP1_CALL_IFACE "org.deskphone.Sip1.Call"
#define SIP1_CALL_PREFIX SIP1_PATH "/call/"

int verb_dial(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        const char *uri = argv[1], *path;
        dbus_uint32_t account = ctx->account;

        int r = bus_call_args(ctx, SIP1_NAME, SIP1_PATH, SIP1_IFACE, "Dial", &reply, DBUS_TYPE_STRING, &uri,
                              DBUS_TYPE_UINT32, &account, DBUS_TYPE_INVALID);
        if (r < 0)
                return r;
        r = bus_check_signature(reply, "o");
        if (r < 0)
                return r;
        (void) dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID);
        if (ctx->json) {
                JsonWriter w = JSON_WRITER_INIT(stdout);
                json_string(&w, path);
                json_finish(&w);
        } else
                printf("%s\n", path);
        return 0;
}

/* A string property of an a{sv} ("" if missing or of another type). */
static const char *dict_string(DBusMessageIter *props, const char *key) {
        DBusMessageIter v, inner;
        const char *s = "";

        if (dict_find(props, key, &v) < 0 || dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_VARIANT)
                return s;
        dbus_message_iter_recurse(&v, &inner);
        if (dbus_message_iter_get_arg_type(&inner) == DBUS_TYPE_STRING)
                dbus_message_iter_get_basic(&inner, &s);
        return s;
}

static unsigned call_number(const char *path) {
        const char *n = startswith(path, SIP1_CALL_PREFIX);
        unsigned u;
        return n && safe_atou(n, &u) >= 0 ? u : 0;
}

/* Is this call one the command applies to? */
static bool call_fits(DBusMessageIter *props, bool incoming_only) {
        const char *state = dict_string(props, "State");
        return incoming_only ? streq(state, "incoming") : *state && !streq(state, "ended");
}

/* The newest call that fits, from sipd's GetManagedObjects; ret_count (optional): how many fit. */
static int newest_call(Context *ctx, bool incoming_only, char **ret, unsigned *ret_count) {
        _cleanup_(message_unrefp) DBusMessage *m = NULL, *reply = NULL;
        DBusMessageIter iter, objects;
        unsigned best = 0, count = 0;

        m = bus_new_call(SIP1_NAME, DESKPHONE_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects");
        if (!m)
                return oom();
        int r = bus_call(ctx, m, ctx_call_timeout_ms(ctx), &reply);
        if (r >= 0)
                r = bus_check_signature(reply, "a{oa{sa{sv}}}");
        if (r < 0)
                return r;
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &objects);
        for (; dbus_message_iter_get_arg_type(&objects) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&objects)) {
                DBusMessageIter entry, ifaces, props;
                const char *path;

                dbus_message_iter_recurse(&objects, &entry);
                dbus_message_iter_get_basic(&entry, &path);
                dbus_message_iter_next(&entry);
                ifaces = entry;
                unsigned n = call_number(path);
                if (n == 0 || dict_find(&ifaces, SIP1_CALL_IFACE, &props) < 0 || !call_fits(&props, incoming_only))
                        continue;
                count++;
                best = MAX(best, n);
        }
        if (best == 0)
                return phonectl_error(-ENOENT, "No %scall.", incoming_only ? "incoming " : "");
        if (asprintf(ret, SIP1_CALL_PREFIX "%u", best) < 0)
                return oom();
        if (ret_count)
                *ret_count = count;
        return 0;
}

static int call_path(Context *ctx, const char *arg, bool incoming_only, char **ret) {
        unsigned n;

        if (!arg)
                return newest_call(ctx, incoming_only, ret, NULL);
        if (safe_atou(arg, &n) >= 0) {
                if (asprintf(ret, SIP1_CALL_PREFIX "%u", n) < 0)
                        return oom();
                return 0;
        }
        return object_path_from_string(arg, ret);
}

static int call_action(Context *ctx, int argc, char **argv, const char *member, bool incoming_only) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(freep) char *path = NULL;

        int r = call_path(ctx, argc > 1 ? argv[1] : NULL, incoming_only, &path);
        if (r < 0)
                return r;
        return bus_call_args(ctx, SIP1_NAME, path, SIP1_CALL_IFACE, member, &reply, DBUS_TYPE_INVALID);
}

int verb_answer(Context *ctx, int argc, char **argv) {
        return call_action(ctx, argc, argv, "Answer", true);
}

int verb_reject(Context *ctx, int argc, char **argv) {
        return call_action(ctx, argc, argv, "Reject", true);
}

int verb_hangup(Context *ctx, int argc, char **argv) {
        return call_action(ctx, argc, argv, "Hangup", false);
}

int verb_hold(Context *ctx, int argc, char **argv) {
        return call_action(ctx, argc, argv, "Hold", false);
}

int verb_resume(Context *ctx, int argc, char **argv) {
        return call_action(ctx, argc, argv, "Resume", false);
}

/* dtmf [CALL] DIGITS: without CALL, the one call in progress. */
int verb_dtmf(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(freep) char *path = NULL;
        const char *digits = argv[argc - 1];
        unsigned count = 1;

        int r = argc > 2 ? call_path(ctx, argv[1], false, &path) : newest_call(ctx, false, &path, &count);
        if (r < 0)
                return r;
        if (count > 1)
                return phonectl_error(-EINVAL, "%u calls are in progress: say which (phonectl dtmf CALL DIGITS).",
                                      count);
        return bus_call_args(ctx, SIP1_NAME, path, SIP1_CALL_IFACE, "SendDtmf", &reply, DBUS_TYPE_STRING, &digits,
                             DBUS_TYPE_INVALID);
}
