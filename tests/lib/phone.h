/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dbus/dbus.h>
#include <sys/types.h>

#include "macro.h"

/*
 * A phone for tests: deskphone-session on a private bus in a temporary
 * directory, and a libdbus connection to it. The session binary comes from
 * $DESKPHONE_SESSION (set by meson).
 */

typedef struct Phone {
        pid_t pid;
        char *dir;      /* temporary directory: state/, phone.cfg */
        char *address;  /* DESKPHONE_BUS */
        DBusConnection *conn;
} Phone;

/* config: contents of a site cfg file or NULL; services: "provd,sipd" or NULL for all. */
int phone_start(const char *config, const char *services, Phone **ret);
void phone_stop(Phone *p);

/* A second connection to the same bus (e.g. to play another service). */
DBusConnection *phone_connect(Phone *p);

/* Blocking call; returns the reply or NULL with *error set. */
DBusMessage *phone_call(DBusConnection *c, const char *dest, const char *path, const char *iface,
                        const char *member, DBusError *error, int first_type, ...);

/* Subscribe (blocking AddMatch) and wait for a signal; NULL on timeout. */
void phone_add_match(DBusConnection *c, const char *rule);
DBusMessage *phone_wait_signal(DBusConnection *c, const char *iface, const char *member, int timeout_ms);

/* Tests */
#define TEST_ASSERT(expr)                                                                          \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr); \
                        return -1;                                                                 \
                }                                                                                  \
        } while (0)

typedef struct TestCase {
        const char *name;
        int (*fn)(void);
} TestCase;

int run_tests(const TestCase *tests, size_t n, int argc, char *argv[]);
