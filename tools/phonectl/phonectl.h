/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dbus/dbus.h>

#include "json.h"
#include "macro.h"

/*
 * phonectl: command-line control of a running phone. A plain libdbus client
 * with blocking calls; no event loop.
 *
 * Commands return 0 or a negative errno and print their own error messages
 * (once, "phonectl: ..."); main() turns the errno into the exit code that
 * phonectl(1) documents (see exit_status_from_errno()).
 */

/* The errno for "bad command line" (exit status 2). No D-Bus error maps to it. */
#define EUSAGE EDOM

enum {
        EXIT_STATUS_OK = 0,
        EXIT_STATUS_FAILED = 1,
        EXIT_STATUS_USAGE = 2,
        EXIT_STATUS_NOT_FOUND = 3,
        EXIT_STATUS_INVALID = 4,
        EXIT_STATUS_TIMED_OUT = 5,
        EXIT_STATUS_UNREACHABLE = 6,
        EXIT_STATUS_NOT_AUTHORIZED = 7,
};

#define DESKPHONE_PATH "/org/deskphone"
#define CONFIG_NAME "org.deskphone.Config1"
#define CONFIG_PATH "/org/deskphone/Config1"
#define CONFIG_IFACE "org.deskphone.Config1"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

typedef struct Context {
        DBusConnection *bus;
        const char *bus_address; /* --bus, or NULL */
        bool json;               /* --json */
        double timeout;          /* --timeout in seconds, 0 when not given */
        unsigned account;        /* --account for dial, 0 when not given */
        const char *url;         /* --url for provision, or NULL */
        bool wait;               /* --wait for provision */
} Context;

typedef struct Verb Verb;
typedef int (*VerbRun)(Context *ctx, int argc, char **argv);

#define VERB_ANY ((unsigned) -1)

/* One command. argv[0] is the command's own name; argc counts it. */
struct Verb {
        const char *name;
        const char *args;   /* for --help: "KEY..." */
        const char *help;   /* one line for --help */
        unsigned min_args;  /* not counting the name */
        unsigned max_args;  /* VERB_ANY: no limit */
        VerbRun run;        /* NULL when the command only has subcommands */
        const Verb *sub;    /* subcommands, terminated by an entry with name NULL */
};

/* Commands (cmd-*.c); phonectl.c has the table. */
int verb_status(Context *ctx, int argc, char **argv);
int verb_config_get(Context *ctx, int argc, char **argv);
int verb_config_set(Context *ctx, int argc, char **argv);
int verb_config_dump(Context *ctx, int argc, char **argv);
int verb_config_import(Context *ctx, int argc, char **argv);
int verb_config_reset(Context *ctx, int argc, char **argv);
int verb_config_describe(Context *ctx, int argc, char **argv);
int verb_wait(Context *ctx, int argc, char **argv);
int verb_provision(Context *ctx, int argc, char **argv);
int verb_dial(Context *ctx, int argc, char **argv);
int verb_answer(Context *ctx, int argc, char **argv);
int verb_hangup(Context *ctx, int argc, char **argv);
int verb_reject(Context *ctx, int argc, char **argv);
int verb_hold(Context *ctx, int argc, char **argv);
int verb_resume(Context *ctx, int argc, char **argv);
int verb_dtmf(Context *ctx, int argc, char **argv);
int verb_certificate_install_ca(Context *ctx, int argc, char **argv);
int verb_certificate_remove_ca(Context *ctx, int argc, char **argv);
int verb_certificate_list(Context *ctx, int argc, char **argv);
int verb_certificate_install_device(Context *ctx, int argc, char **argv);

/* Print "phonectl: message" to stderr ("%m" is the errno of r); returns r. */
int phonectl_error(int r, const char *format, ...) _printf_(2, 3);
#define usage_error(...) phonectl_error(-EUSAGE, __VA_ARGS__)
#define oom() phonectl_error(-ENOMEM, "Out of memory.")

static inline void message_unrefp(DBusMessage **m) {
        if (*m)
                dbus_message_unref(*m);
}

static inline void error_freep(DBusError *e) {
        dbus_error_free(e);
}

/* The services of a phone, in the order status shows them. */
typedef struct Service {
        const char *name;   /* well-known bus name */
        const char *daemon; /* the program that owns it */
} Service;
extern const Service services[];
extern const size_t n_services;

/* client.c: blocking D-Bus calls. */
int bus_errno_from_name(const char *name);
/* Timeout for one method call in ms, from --timeout (libdbus's default otherwise). */
int ctx_call_timeout_ms(const Context *ctx);
DBusMessage *bus_new_call(const char *dest, const char *path, const char *iface, const char *member);
/* Send m and wait for the reply. On an error reply, print it and return its errno. */
int bus_call(Context *ctx, DBusMessage *m, int timeout_ms, DBusMessage **ret_reply);
/* Like bus_call, but leaves an error reply in *error (set, not printed); returns -EIO then. */
int bus_call_raw(Context *ctx, DBusMessage *m, int timeout_ms, DBusMessage **ret_reply, DBusError *error);
/* Build the call from basic-typed arguments (dbus_message_append_args() style). */
int bus_call_args(Context *ctx, const char *dest, const char *path, const char *iface,
                  const char *member, DBusMessage **ret_reply, int first_arg_type, ...);
int bus_check_signature(DBusMessage *reply, const char *signature);
/* Unique name owning name, or NULL in *ret when it has no owner. */
int bus_get_name_owner(Context *ctx, const char *name, char **ret);
/* "provd" for "org.deskphone.Config1"; the name itself when we do not know it. */
const char *service_daemon(const char *name);
/* "org.deskphone.Sip1" for "/org/deskphone/Sip1/account/1"; NULL when not ours. */
char *service_from_path(const char *path);
int bus_add_match(Context *ctx, const char *rule);
/* A path, or a short form (account/1, call/N, stream/N, config, provision, sip, media, ui),
 * checked to lie below /org/deskphone/<Service>. Usage error otherwise. */
int object_path_from_string(const char *s, char **ret);

/* A dictionary from a reply, sorted by key. iter points to an array of dict entries
 * with string or object path keys; the entries point into the message. */
typedef struct DictEntry {
        const char *key;
        DBusMessageIter value;
} DictEntry;
int dict_collect(DBusMessageIter *array, DictEntry **ret, size_t *ret_n);
/* From a dictionary with string or object path keys: the value of key, or -ENOENT. */
int dict_find(DBusMessageIter *array, const char *key, DBusMessageIter *ret_value);

/* value.c: rendering D-Bus values. Variants are looked through. */
void value_print_text(FILE *f, DBusMessageIter *iter);
int value_to_text(DBusMessageIter *iter, char **ret);
void value_print_json(JsonWriter *w, DBusMessageIter *iter);
/* Does the value equal the text the user gave? -EUSAGE (nothing printed) when the text
 * does not fit the value's type ("maybe" for a boolean). */
int value_matches(DBusMessageIter *iter, const char *text, bool *ret);
