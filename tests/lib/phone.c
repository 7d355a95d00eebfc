/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "phone.h"
#include "util.h"

#define START_TIMEOUT_MS 30000

static int read_first_line(int fd, char *buf, size_t size) {
        size_t n = 0;
        uint64_t deadline = now_usec() + START_TIMEOUT_MS * 1000ULL;

        while (n < size - 1) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int left = (int) ((deadline - MIN(deadline, now_usec())) / 1000);
                if (left <= 0 || poll(&pfd, 1, left) <= 0)
                        return -ETIMEDOUT;
                ssize_t k = read(fd, buf + n, 1);
                if (k <= 0)
                        return -EPIPE;
                if (buf[n] == '\n') {
                        buf[n] = '\0';
                        return 0;
                }
                n++;
        }
        return -E2BIG;
}

static int spawn_session(Phone *p, const char *config_path, const char *services, int *ret_fd) {
        const char *session = getenv("DESKPHONE_SESSION");
        _cleanup_(freep) char *state = strjoin(p->dir, "/state", NULL);
        int pipefd[2];

        if (!session || !state)
                return -EINVAL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        p->pid = fork();
        if (p->pid < 0)
                return -errno;
        if (p->pid == 0) {
                const char *argv[12] = { session, "--no-publish", "--state-dir", state };
                size_t n = 4;
                if (config_path)
                        argv[n++] = "--config", argv[n++] = config_path;
                if (services)
                        argv[n++] = "--services", argv[n++] = services;
                dup2(pipefd[1], STDOUT_FILENO);
                execv(session, (char **) argv);
                _exit(127);
        }
        close(pipefd[1]);
        *ret_fd = pipefd[0];
        return 0;
}

int phone_start(const char *config, const char *services, Phone **ret) {
        char tmpl[] = "/tmp/deskphone-test-XXXXXX", line[512];
        _cleanup_(freep) char *config_path = NULL;
        Phone *p = calloc(1, sizeof(Phone));
        int fd = -1, r;

        if (!p || !mkdtemp(tmpl))
                return -ENOMEM;
        p->dir = strdup(tmpl);
        if (config) {
                config_path = strjoin(p->dir, "/phone.cfg", NULL);
                r = write_file_atomic(config_path, config, strlen(config), 0600);
                if (r < 0)
                        goto fail;
        }
        r = spawn_session(p, config_path, services, &fd);
        if (r < 0)
                goto fail;
        r = read_first_line(fd, line, sizeof(line));
        close(fd);
        if (r < 0 || !startswith(line, "DESKPHONE_BUS=")) {
                fprintf(stderr, "deskphone-session did not announce its bus: %s\n", r < 0 ? strerror(-r) : line);
                r = r < 0 ? r : -EBADMSG;
                goto fail;
        }
        p->address = strdup(line + strlen("DESKPHONE_BUS="));
        p->conn = phone_connect(p);
        if (!p->conn) {
                r = -ECONNREFUSED;
                goto fail;
        }
        *ret = p;
        return 0;
fail:
        phone_stop(p);
        return r;
}

DBusConnection *phone_connect(Phone *p) {
        DBusError error;
        dbus_error_init(&error);
        DBusConnection *c = dbus_connection_open_private(p->address, &error);
        if (c && !dbus_bus_register(c, &error)) {
                dbus_connection_close(c);
                dbus_connection_unref(c);
                c = NULL;
        }
        if (!c) {
                fprintf(stderr, "Cannot connect to %s: %s\n", p->address, error.message);
                dbus_error_free(&error);
        }
        return c;
}

void phone_stop(Phone *p) {
        if (!p)
                return;
        if (p->conn) {
                dbus_connection_close(p->conn);
                dbus_connection_unref(p->conn);
        }
        if (p->pid > 0) {
                kill(p->pid, SIGTERM);
                int status;
                (void) waitpid(p->pid, &status, 0);
        }
        if (p->dir && !getenv("DESKPHONE_TEST_KEEP"))
                (void) rm_rf(p->dir);
        free(p->dir);
        free(p->address);
        free(p);
}

DBusMessage *phone_call(DBusConnection *c, const char *dest, const char *path, const char *iface,
                        const char *member, DBusError *error, int first_type, ...) {
        DBusMessage *m = dbus_message_new_method_call(dest, path, iface, member);
        va_list ap;

        va_start(ap, first_type);
        dbus_message_append_args_valist(m, first_type, ap);
        va_end(ap);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(c, m, 10000, error);
        dbus_message_unref(m);
        return reply;
}

void phone_add_match(DBusConnection *c, const char *rule) {
        DBusError error;
        dbus_error_init(&error);
        dbus_bus_add_match(c, rule, &error); /* blocking: in force when it returns */
        dbus_error_free(&error);
}

DBusMessage *phone_wait_signal(DBusConnection *c, const char *iface, const char *member, int timeout_ms) {
        uint64_t deadline = now_usec() + (uint64_t) timeout_ms * 1000;

        for (;;) {
                DBusMessage *m;
                while ((m = dbus_connection_pop_message(c))) {
                        if (dbus_message_is_signal(m, iface, member))
                                return m;
                        dbus_message_unref(m);
                }
                uint64_t now = now_usec();
                if (now >= deadline)
                        return NULL;
                if (!dbus_connection_read_write(c, (int) ((deadline - now) / 1000) + 1))
                        return NULL;
        }
}

int run_tests(const TestCase *tests, size_t n, int argc, char *argv[]) {
        unsigned failed = 0, passed = 0;

        signal(SIGPIPE, SIG_IGN);
        for (size_t i = 0; i < n; i++) {
                if (argc > 1 && !strstr(tests[i].name, argv[1]))
                        continue;
                int r = tests[i].fn();
                printf("%s %zu - %s\n", r < 0 ? "not ok" : "ok", i + 1, tests[i].name);
                fflush(stdout);
                if (r < 0)
                        failed++;
                else
                        passed++;
        }
        printf("# %u passed, %u failed\n", passed, failed);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
