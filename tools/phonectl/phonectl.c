/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>

#include "phonectl.h"
#include "util.h"

#define BUS_FILE_MAX 4096

static const Verb config_verbs[] = {
        { "get", "KEY...", "Print the values of keys", 1, VERB_ANY, verb_config_get, NULL },
        { "set", "KEY=VALUE...", "Change keys, all or none", 1, VERB_ANY, verb_config_set, NULL },
        { "dump", "[PREFIX]", "Print the configuration as a .cfg file", 0, 1, verb_config_dump, NULL },
        { "import", "FILE", "Apply a .cfg file (- for stdin)", 1, 1, verb_config_import, NULL },
        { "reset", "[KEY...]", "Drop local changes (of all keys if none given)", 0, VERB_ANY,
          verb_config_reset, NULL },
        { "describe", "KEY", "Show a key's type, default and range", 1, 1, verb_config_describe, NULL },
        {}
};

static const Verb certificate_verbs[] = {
        { "install-ca", "FILE [NAME]", "Trust the CA(s) of a PEM file; print its name", 1, 2,
          verb_certificate_install_ca, NULL },
        { "remove-ca", "NAME", "Stop trusting an installed CA", 1, 1, verb_certificate_remove_ca, NULL },
        { "list", NULL, "Show the installed CAs", 0, 0, verb_certificate_list, NULL },
        { "install-device", "CERT KEY", "Install the device certificate and its key (PEM)", 2, 2,
          verb_certificate_install_device, NULL },
        {}
};

static const Verb verbs[] = {
        { "status", NULL, "Show the services and their objects", 0, 0, verb_status, NULL },
        { "config", NULL, NULL, 0, 0, NULL, config_verbs },
        { "certificate", NULL, NULL, 0, 0, NULL, certificate_verbs },
        { "wait", "OBJECT PROPERTY VALUE", "Wait until a property has a value", 3, 3, verb_wait, NULL },
        { "provision", "[--url URL] [--wait]", "Provision now; with --wait, print the result", 0, 0,
          verb_provision, NULL },
        { "dial", "URI [--account N]", "Call URI; print the new call's object", 1, 1, verb_dial, NULL },
        { "answer", "[CALL]", "Answer a call (default: the newest incoming one)", 0, 1, verb_answer, NULL },
        { "hangup", "[CALL]", "End a call (default: the newest one)", 0, 1, verb_hangup, NULL },
        { "reject", "[CALL]", "Refuse an incoming call (default: the newest one)", 0, 1, verb_reject, NULL },
        { "hold", "[CALL]", "Put a call on hold (default: the newest one)", 0, 1, verb_hold, NULL },
        { "resume", "[CALL]", "Take a call off hold (default: the newest one)", 0, 1, verb_resume, NULL },
        { "dtmf", "[CALL] DIGITS", "Send DTMF digits in a call (default: the one in progress)", 1, 2, verb_dtmf,
          NULL },
        {}
};

int phonectl_error(int r, const char *format, ...) {
        va_list ap;

        fputs("phonectl: ", stderr);
        errno = r < 0 ? -r : r;
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r;
}

static int exit_status_from_errno(int r) {
        if (r >= 0)
                return EXIT_STATUS_OK;
        switch (-r) {
        case EUSAGE:
                return EXIT_STATUS_USAGE;
        case ENOENT:
        case ENXIO:
                return EXIT_STATUS_NOT_FOUND;
        case EINVAL:
                return EXIT_STATUS_INVALID;
        case ETIMEDOUT:
                return EXIT_STATUS_TIMED_OUT;
        case EHOSTUNREACH:
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
                return EXIT_STATUS_UNREACHABLE;
        case EACCES:
        case EPERM:
                return EXIT_STATUS_NOT_AUTHORIZED;
        default:
                return EXIT_STATUS_FAILED;
        }
}

static void print_verbs(const Verb *table, const char *prefix) {
        for (const Verb *v = table; v->name; v++) {
                char left[128];

                snprintf(left, sizeof(left), "%s%s ", prefix, v->name);
                if (v->sub) {
                        print_verbs(v->sub, left);
                        continue;
                }
                if (v->args)
                        strncat(left, v->args, sizeof(left) - strlen(left) - 1);
                printf("  %-36s %s\n", left, v->help);
        }
}

static void help(void) {
        printf("phonectl [OPTIONS...] COMMAND ...\n\n"
               "Control a running deskphone.\n\n"
               "Commands:\n");
        print_verbs(verbs, "");
        printf("\nOBJECT is a path (/org/deskphone/Sip1/account/1) or account/N, call/N,\n"
               "stream/N, config, provision, sip, media, ui. CALL is call/N, N or a path.\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --bus ADDRESS       Bus address, or \"session\" or \"system\"\n"
               "     --json              Print JSON\n"
               "     --timeout SECONDS   Method call timeout; for wait, how long to wait (30 s)\n"
               "     --account N         Account to dial with (default: the first registered)\n"
               "     --url URL           Server to provision from (default: DHCP, the configured one)\n"
               "     --wait              For provision: wait for the end (--timeout, default 300 s)\n\n"
               "Exit status: 0 success, 1 failure, 2 usage error, 3 not found, 4 invalid or\n"
               "refused, 5 timed out, 6 cannot reach the phone, 7 not authorized.\n"
               "See phonectl(1).\n");
}

static int parse_timeout(const char *s, double *ret) {
        char *end;

        errno = 0;
        double d = strtod(s, &end);
        if (errno != 0 || end == s || *end || !isfinite(d) || d <= 0 || d > 2000000)
                return usage_error("Invalid timeout '%s': give seconds, more than 0.", s);
        *ret = d;
        return 0;
}

/* Returns 1 to go on with a command, 0 when done (--help), or a negative errno. */
static int parse_argv(Context *ctx, int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_BUS, ARG_JSON, ARG_TIMEOUT, ARG_ACCOUNT, ARG_URL, ARG_WAIT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "bus", required_argument, NULL, ARG_BUS },
                { "json", no_argument, NULL, ARG_JSON },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "account", required_argument, NULL, ARG_ACCOUNT },
                { "url", required_argument, NULL, ARG_URL },
                { "wait", no_argument, NULL, ARG_WAIT },
                {}
        };
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("phonectl %s\n", DESKPHONE_VERSION);
                        return 0;
                case ARG_BUS:
                        if (!*optarg)
                                return usage_error("--bus needs an address.");
                        ctx->bus_address = optarg;
                        break;
                case ARG_JSON:
                        ctx->json = true;
                        break;
                case ARG_TIMEOUT:
                        r = parse_timeout(optarg, &ctx->timeout);
                        if (r < 0)
                                return r;
                        break;
                case ARG_ACCOUNT:
                        if (safe_atou(optarg, &ctx->account) < 0)
                                return usage_error("Invalid account '%s': give a number, 1 to 16.", optarg);
                        break;
                case ARG_URL:
                        if (!*optarg)
                                return usage_error("--url needs a URL.");
                        ctx->url = optarg;
                        break;
                case ARG_WAIT:
                        ctx->wait = true;
                        break;
                case ':':
                        return usage_error("Option %s needs an argument.", argv[optind - 1]);
                default:
                        if (optopt)
                                return usage_error("Unknown option -%c. See phonectl --help.", optopt);
                        return usage_error("Unknown option %s. See phonectl --help.", argv[optind - 1]);
                }
        return 1;
}

/* The address written by deskphone-session; NULL in *ret when there is none. */
static int bus_address_from_file(char **ret) {
        const char *runtime = getenv("XDG_RUNTIME_DIR");
        _cleanup_(freep) char *path = NULL, *data = NULL;

        if (runtime && *runtime)
                path = strjoin(runtime, "/deskphone/bus", NULL);
        else
                path = strdup("/run/deskphone/bus");
        if (!path)
                return oom();

        int r = read_full_file(path, &data, NULL, BUS_FILE_MAX);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0) {
                phonectl_error(r, "Failed to read the bus address from %s: %m", path);
                return -EHOSTUNREACH;
        }
        if (!*strstrip(data))
                return phonectl_error(-EHOSTUNREACH, "%s holds no bus address.", path);
        *ret = TAKE_PTR(data);
        return 0;
}

/* --bus, $DESKPHONE_BUS, the file of deskphone-session, the system bus. */
static int bus_address(const Context *ctx, char **ret) {
        const char *address = ctx->bus_address ?: getenv("DESKPHONE_BUS");
        char *copy = NULL;

        if (!address || !*address) {
                int r = bus_address_from_file(&copy);
                if (r < 0)
                        return r;
                address = "system";
        }
        if (!copy && !(copy = strdup(address)))
                return oom();
        *ret = copy;
        return 0;
}

static DBusConnection *open_address(const char *address, DBusError *error) {
        if (streq(address, "system"))
                return dbus_bus_get_private(DBUS_BUS_SYSTEM, error);
        if (streq(address, "session"))
                return dbus_bus_get_private(DBUS_BUS_SESSION, error);

        DBusConnection *c = dbus_connection_open_private(address, error);
        if (c && !dbus_bus_register(c, error)) {
                dbus_connection_close(c);
                dbus_connection_unref(c);
                return NULL;
        }
        return c;
}

static int connect_bus(Context *ctx) {
        _cleanup_(error_freep) DBusError error = DBUS_ERROR_INIT;
        _cleanup_(freep) char *address = NULL;

        int r = bus_address(ctx, &address);
        if (r < 0)
                return r;

        DBusConnection *c = open_address(address, &error);
        if (!c)
                return phonectl_error(-EHOSTUNREACH, "Failed to connect to the %s%s: %s",
                                      strchr(address, ':') ? "bus at " : address,
                                      strchr(address, ':') ? address : " bus", strempty(error.message));
        dbus_connection_set_exit_on_disconnect(c, FALSE);
        ctx->bus = c;
        return 0;
}

static void disconnect_bus(Context *ctx) {
        if (!ctx->bus)
                return;
        dbus_connection_close(ctx->bus);
        dbus_connection_unref(ctx->bus);
        ctx->bus = NULL;
}

static const Verb *verb_find(const Verb *table, const char *name) {
        for (const Verb *v = table; v->name; v++)
                if (streq(v->name, name))
                        return v;
        return NULL;
}

static int check_args(const char *command, const Verb *v, int argc, char **argv) {
        unsigned n = (unsigned) argc - 1;

        if (n < v->min_args || (v->max_args != VERB_ANY && n > v->max_args))
                return usage_error("Usage: phonectl %s%s%s", command, v->args ? " " : "",
                                   strempty(v->args));
        /* D-Bus strings must be UTF-8, and libdbus refuses anything else noisily. */
        for (int i = 1; i < argc; i++)
                if (!utf8_is_valid_n(argv[i], strlen(argv[i])))
                        return usage_error("Argument %d of '%s' is not valid UTF-8.", i, command);
        return 0;
}

/* Find the command (and subcommand) in argv, check its arguments, connect and run it. */
static int dispatch(Context *ctx, const Verb *table, const char *parent, int argc, char **argv) {
        char command[128];

        if (argc < 1)
                return usage_error("Missing command%s%s. See phonectl --help.", *parent ? " after " : "",
                                   parent);
        const Verb *v = verb_find(table, argv[0]);
        snprintf(command, sizeof(command), "%s%s%s", parent, *parent ? " " : "", argv[0]);
        if (!v)
                return usage_error("Unknown command '%s'. See phonectl --help.", command);
        if (v->sub)
                return dispatch(ctx, v->sub, command, argc - 1, argv + 1);

        int r = check_args(command, v, argc, argv);
        if (r < 0)
                return r;
        r = connect_bus(ctx);
        if (r < 0)
                return r;
        return v->run(ctx, argc, argv);
}

int main(int argc, char *argv[]) {
        Context ctx = {};

        int r = parse_argv(&ctx, argc, argv);
        if (r > 0)
                r = dispatch(&ctx, verbs, "", argc - optind, argv + optind);
        disconnect_bus(&ctx);

        if (fflush(stdout) != 0 || ferror(stdout)) {
                int k = phonectl_error(-EIO, "Failed to write the output.");
                if (r >= 0)
                        r = k;
        }
        return exit_status_from_errno(r);
}
