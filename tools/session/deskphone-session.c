/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * deskphone-session: a whole phone without systemd. Starts a private
 * dbus-daemon and every service, prints DESKPHONE_BUS=<address> once all
 * of them own their bus names, restarts a service that crashes, and stops
 * everything on SIGINT/SIGTERM. Several sessions run side by side: each has
 * its own bus, state directory and (from its config file) ports.
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bus.h"
#include "config.h"
#include "log.h"
#include "util.h"

#define START_TIMEOUT_USEC (30ULL * 1000000)
#define STOP_TIMEOUT_USEC (5ULL * 1000000)
#define RESTART_MAX 5

typedef struct Session Session;

typedef struct Service {
        const char *name;     /* binary and state subdirectory */
        const char *bus_name; /* ready once this name is owned */
        bool built;
        bool enabled;
        pid_t pid;
        sd_event_source *child;
        bool ready;
        unsigned restarts;
        Session *session;
} Service;

static Service services[] = {
        { "provd", "org.deskphone.Config1", WANT_PROVD },
        { "mediad", "org.deskphone.Media1", WANT_MEDIAD },
        { "sipd", "org.deskphone.Sip1", WANT_SIPD },
        { "uid", "org.deskphone.Ui1", WANT_UID },
};

struct Session {
        sd_event *event;
        Bus *bus;
        char *runtime_dir;
        char *address;
        char *bus_file;
        pid_t dbus_pid;
        sd_event_source *dbus_child;
        sd_event_source *start_timer;
        bool announced;
        bool stopping;
        int exit_code;
};

static const char *arg_config;
static char *arg_state_dir;
static const char *arg_services;
static bool arg_publish = true;
static bool arg_restart = true;

static void help(void) {
        printf("Usage: deskphone-session [OPTIONS]\n\n"
               "Run a whole deskphone on a private D-Bus, without systemd.\n\n"
               "  --config FILE      site configuration (Yealink cfg format)\n"
               "  --state-dir DIR    state of this phone (default: $XDG_STATE_HOME/deskphone)\n"
               "  --services LIST    comma-separated services to start (default: all built)\n"
               "  --no-publish       do not write the bus address to $XDG_RUNTIME_DIR/deskphone/bus\n"
               "  --no-restart       do not restart a service that exits\n"
               "  -h --help          show this help\n"
               "     --version       show the version\n\n"
               "The first line on standard output is DESKPHONE_BUS=<address>, printed once\n"
               "every service is on the bus. phonectl --bus <address> talks to this phone.\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_CONFIG = 0x100, ARG_STATE_DIR, ARG_SERVICES, ARG_NO_PUBLISH, ARG_NO_RESTART, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "services", required_argument, NULL, ARG_SERVICES },
                { "no-publish", no_argument, NULL, ARG_NO_PUBLISH },
                { "no-restart", no_argument, NULL, ARG_NO_RESTART },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_STATE_DIR:
                        free(arg_state_dir);
                        arg_state_dir = strdup(optarg);
                        break;
                case ARG_SERVICES:
                        arg_services = optarg;
                        break;
                case ARG_NO_PUBLISH:
                        arg_publish = false;
                        break;
                case ARG_NO_RESTART:
                        arg_restart = false;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("deskphone-session " DESKPHONE_VERSION "\n");
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}

static int resolve_paths(void) {
        char buf[PATH_MAX];

        if (!arg_state_dir) {
                const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
                arg_state_dir = x && *x ? strjoin(x, "/deskphone", NULL)
                                        : strjoin(home ?: "/root", "/.local/state/deskphone", NULL);
                if (!arg_state_dir)
                        return log_oom();
        }
        int r = mkdir_p(arg_state_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", arg_state_dir);
        if (!realpath(arg_state_dir, buf))
                return log_error_errno(errno, "Failed to resolve %s: %m", arg_state_dir);
        free(arg_state_dir);
        arg_state_dir = strdup(buf);

        if (arg_config) {
                if (!realpath(arg_config, buf))
                        return log_error_errno(errno, "Cannot use the configuration %s: %m", arg_config);
                arg_config = strdup(buf);
        }
        return arg_state_dir && (!arg_config || arg_config) ? 0 : log_oom();
}

static int select_services(void) {
        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                services[i].enabled = services[i].built;
        if (!arg_services)
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                services[i].enabled = false;
        _cleanup_(freep) char *list = strdup(arg_services);
        if (!list)
                return log_oom();
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(services); i++)
                        if (streq(services[i].name, t)) {
                                if (!services[i].built)
                                        return log_error_errno(EOPNOTSUPP, "%s is not built", t);
                                services[i].enabled = found = true;
                        }
                if (!found)
                        return log_error_errno(EINVAL, "Unknown service: %s", t);
        }
        return 0;
}

/* Services next to us in the build tree when we run from it, else the installed ones. */
static char *service_binary(const char *name) {
        char self[PATH_MAX];
        const char *dir = getenv("DESKPHONE_LIBEXECDIR");

        if (dir && *dir)
                return strjoin(dir, "/", name, NULL);
        ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (l > 0) {
                self[l] = '\0';
                if (startswith(self, BUILD_ROOT "/"))
                        return strjoin(BUILD_ROOT "/services/", name, "/", name, NULL);
        }
        return strjoin(LIBEXECDIR "/", name, NULL);
}

/* ---- the private bus ---- */

static int write_bus_config(Session *s, char **ret_path) {
        _cleanup_(freep) char *path = strjoin(s->runtime_dir, "/bus.conf", NULL), *text = NULL;

        if (!path)
                return -ENOMEM;
        /* Everything on this bus runs as one user: no policy to enforce between them. */
        if (asprintf(&text,
                     "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                     " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                     "<busconfig>\n"
                     "  <type>deskphone</type>\n"
                     "  <listen>unix:path=%s/bus</listen>\n"
                     "  <auth>EXTERNAL</auth>\n"
                     "  <policy context=\"default\">\n"
                     "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                     "    <allow eavesdrop=\"true\"/>\n"
                     "    <allow own=\"*\"/>\n"
                     "  </policy>\n"
                     "</busconfig>\n",
                     s->runtime_dir) < 0)
                return -ENOMEM;
        int r = write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int read_address(int fd, char **ret) {
        char buf[512];
        size_t n = 0;

        /* dbus-daemon writes the address and a newline once it listens */
        while (n < sizeof(buf) - 1) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
                if (memchr(buf, '\n', n))
                        break;
        }
        buf[n] = '\0';
        char *nl = strchr(buf, '\n');
        if (!nl)
                return -EBADMSG;
        *nl = '\0';
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

static int on_dbus_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Session *s = userdata;

        s->dbus_pid = 0;
        if (!s->stopping) {
                log_error("dbus-daemon exited (status %d), stopping the phone", si->si_status);
                s->exit_code = -ECONNRESET;
                (void) sd_event_exit(s->event, -ECONNRESET);
        }
        return 0;
}

static int start_dbus(Session *s) {
        _cleanup_(freep) char *conf = NULL, *arg_conf = NULL;
        int pipefd[2];

        int r = write_bus_config(s, &conf);
        if (r < 0)
                return log_error_errno(r, "Failed to write the bus configuration: %m");
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create a pipe: %m");
        arg_conf = strjoin("--config-file=", conf, NULL);

        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (pid == 0) {
                char fdarg[32];
                int fd = dup(pipefd[1]); /* without O_CLOEXEC */
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                snprintf(fdarg, sizeof(fdarg), "--print-address=%d", fd);
                execlp("dbus-daemon", "dbus-daemon", arg_conf, "--nofork", "--nopidfile", "--nosyslog",
                       fdarg, (char *) NULL);
                fprintf(stderr, "deskphone-session: cannot run dbus-daemon: %m\n");
                _exit(127);
        }
        close(pipefd[1]);
        s->dbus_pid = pid;
        r = read_address(pipefd[0], &s->address);
        close(pipefd[0]);
        if (r < 0)
                return log_error_errno(r, "dbus-daemon did not start (is the dbus-daemon package installed?)");
        return sd_event_add_child(s->event, &s->dbus_child, pid, WEXITED, on_dbus_exit, s);
}

/* ---- services ---- */

static int start_service(Service *svc);

static int on_service_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Service *svc = userdata;
        Session *s = svc->session;
        bool failed = si->si_code != CLD_EXITED || si->si_status != 0;

        svc->pid = 0;
        svc->ready = false;
        svc->child = sd_event_source_disable_unref(svc->child);
        if (s->stopping)
                return 0;

        if (si->si_code == CLD_EXITED)
                log_warning("%s exited with status %d", svc->name, si->si_status);
        else
                log_warning("%s was killed by signal %s", svc->name, strsignal(si->si_status));

        if (!arg_restart || !failed || ++svc->restarts > RESTART_MAX) {
                log_error("Not restarting %s, stopping the phone", svc->name);
                s->exit_code = -ECHILD;
                return sd_event_exit(s->event, -ECHILD);
        }
        log_notice("Restarting %s (%u/%u)", svc->name, svc->restarts, RESTART_MAX);
        return start_service(svc);
}

static int start_service(Service *svc) {
        Session *s = svc->session;
        _cleanup_(freep) char *binary = service_binary(svc->name),
                             *state = strjoin(arg_state_dir, "/", svc->name, NULL);

        if (!binary || !state)
                return log_oom();
        int r = mkdir_p(state, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", state);

        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (pid == 0) {
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                setenv("DESKPHONE_BUS", s->address, 1);
                unsetenv("DBUS_STARTER_ADDRESS");
                unsetenv("NOTIFY_SOCKET");
                if (arg_config)
                        execl(binary, svc->name, "--state-dir", state, "--config", arg_config, (char *) NULL);
                else
                        execl(binary, svc->name, "--state-dir", state, (char *) NULL);
                fprintf(stderr, "deskphone-session: cannot run %s: %m\n", binary);
                _exit(127);
        }
        svc->pid = pid;
        log_debug("Started %s as pid %d", svc->name, (int) pid);
        return sd_event_add_child(s->event, &svc->child, pid, WEXITED, on_service_exit, svc);
}

/* ---- readiness: every service owns its name ---- */

static int write_bus_file(Session *s) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        _cleanup_(freep) char *dir = rt && *rt ? strjoin(rt, "/deskphone", NULL) : strdup("/run/deskphone");

        if (!dir)
                return -ENOMEM;
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        s->bus_file = strjoin(dir, "/bus", NULL);
        if (!s->bus_file)
                return -ENOMEM;
        _cleanup_(freep) char *line = strjoin(s->address, "\n", NULL);
        return line ? write_file_atomic(s->bus_file, line, strlen(line), 0600) : -ENOMEM;
}

static void check_ready(Session *s) {
        if (s->announced)
                return;
        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                if (services[i].enabled && !services[i].ready)
                        return;

        s->announced = true;
        s->start_timer = sd_event_source_disable_unref(s->start_timer);
        printf("DESKPHONE_BUS=%s\n", s->address);
        fflush(stdout);
        if (arg_publish) {
                int r = write_bus_file(s);
                if (r < 0)
                        log_warning_errno(r, "Failed to publish the bus address, ignoring: %m");
        }
        log_info("Phone running; state in %s", arg_state_dir);
}

static void set_owner(Session *s, const char *name, const char *owner) {
        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                if (services[i].enabled && streq(services[i].bus_name, name))
                        services[i].ready = owner && *owner;
        check_ready(s);
}

static void on_name_owner_changed(Bus *bus, DBusMessage *m, void *userdata) {
        const char *name, *old_owner, *new_owner;

        if (dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                  DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID))
                set_owner(userdata, name, new_owner);
}

static int on_start_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Session *s = userdata;

        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                if (services[i].enabled && !services[i].ready)
                        log_error("%s did not take %s within %llu s", services[i].name, services[i].bus_name,
                                  START_TIMEOUT_USEC / 1000000);
        s->exit_code = -ETIMEDOUT;
        return sd_event_exit(s->event, -ETIMEDOUT);
}

static int watch_names(Session *s) {
        int r = bus_open(s->event, s->address, &s->bus);
        if (r < 0)
                return r;
        r = bus_add_match_signal(s->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "NameOwnerChanged", on_name_owner_changed, s);
        if (r < 0)
                return r;
        return sd_event_add_time_relative(s->event, &s->start_timer, CLOCK_MONOTONIC, START_TIMEOUT_USEC, 0,
                                          on_start_timeout, s);
}

/* A round trip: once the bus answers, our AddMatch before it is in force. */
static int bus_sync(Session *s) {
        DBusError error;
        DBusMessage *m = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                      "org.freedesktop.DBus", "GetId");
        if (!m)
                return -ENOMEM;
        dbus_error_init(&error);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(bus_connection(s->bus), m, 5000, &error);
        dbus_message_unref(m);
        if (!reply) {
                int r = bus_error_to_errno(&error);
                dbus_error_free(&error);
                return r;
        }
        dbus_message_unref(reply);
        return 0;
}

/* ---- stopping ---- */

static bool any_running(void) {
        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                if (services[i].pid > 0)
                        return true;
        return false;
}

/* Reap with a deadline; SIGKILL what is left after it. */
static void wait_children(uint64_t timeout_usec) {
        uint64_t deadline = now_usec() + timeout_usec;

        while (any_running() && now_usec() < deadline) {
                for (size_t i = 0; i < ELEMENTSOF(services); i++) {
                        if (services[i].pid <= 0)
                                continue;
                        pid_t p = waitpid(services[i].pid, NULL, WNOHANG);
                        if (p == services[i].pid || (p < 0 && errno == ECHILD))
                                services[i].pid = 0;
                }
                if (any_running())
                        usleep(10000);
        }
        for (size_t i = 0; i < ELEMENTSOF(services); i++)
                if (services[i].pid > 0) {
                        log_warning("%s did not stop in time, killing it", services[i].name);
                        kill(services[i].pid, SIGKILL);
                        (void) waitpid(services[i].pid, NULL, 0);
                        services[i].pid = 0;
                }
}

static void session_stop(Session *s) {
        s->stopping = true;
        /* reverse order of start: the ones that use the configuration first */
        for (size_t i = ELEMENTSOF(services); i > 0; i--) {
                Service *svc = &services[i - 1];
                svc->child = sd_event_source_disable_unref(svc->child);
                if (svc->pid > 0)
                        kill(svc->pid, SIGTERM);
        }
        wait_children(STOP_TIMEOUT_USEC);

        s->bus = bus_free(s->bus);
        s->dbus_child = sd_event_source_disable_unref(s->dbus_child);
        if (s->dbus_pid > 0) {
                kill(s->dbus_pid, SIGTERM);
                (void) waitpid(s->dbus_pid, NULL, 0);
        }
        if (s->bus_file) {
                _cleanup_(freep) char *cur = NULL;
                if (read_full_file(s->bus_file, &cur, NULL, 4096) >= 0 && startswith(cur, s->address))
                        (void) unlink(s->bus_file);
        }
        if (s->runtime_dir)
                (void) rm_rf(s->runtime_dir);
}

static int make_runtime_dir(Session *s) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        _cleanup_(freep) char *tmpl = strjoin(rt && *rt && access(rt, W_OK) == 0 ? rt : "/tmp",
                                              "/deskphone-session-XXXXXX", NULL);
        if (!tmpl)
                return log_oom();
        if (!mkdtemp(tmpl))
                return log_error_errno(errno, "Failed to create a runtime directory: %m");
        s->runtime_dir = TAKE_PTR(tmpl);
        return 0;
}

static int run(Session *s) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        int r = sd_event_default(&s->event);
        if (r >= 0)
                r = sd_event_add_signal(s->event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(s->event, NULL, SIGTERM, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m");

        r = make_runtime_dir(s);
        if (r < 0)
                return r;
        r = start_dbus(s);
        if (r < 0)
                return r;
        r = watch_names(s);
        if (r >= 0)
                r = bus_sync(s);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the private bus: %m");

        for (size_t i = 0; i < ELEMENTSOF(services); i++) {
                services[i].session = s;
                if (!services[i].enabled)
                        continue;
                r = start_service(&services[i]);
                if (r < 0)
                        return r;
        }
        check_ready(s); /* nothing to wait for when no service is enabled */

        r = sd_event_loop(s->event);
        return s->exit_code < 0 ? s->exit_code : r;
}

int main(int argc, char *argv[]) {
        Session s = {};

        log_setup("deskphone-session");
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        r = resolve_paths();
        if (r >= 0)
                r = select_services();
        if (r < 0)
                return EXIT_FAILURE;

        r = run(&s);
        session_stop(&s);
        sd_event_unref(s.event);
        free(s.address);
        free(s.runtime_dir);
        free(s.bus_file);
        free(arg_state_dir);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
