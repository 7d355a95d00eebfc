/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* provd: the configuration store (org.deskphone.Config1) and provisioning. */
#include <getopt.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "log.h"
#include "memory.h"
#include "provd.h"
#include "util.h"

static const char *arg_state_dir;
static const char *arg_config;
static const char *arg_bus;

static void help(void) {
        printf("Usage: provd [OPTIONS]\n\n"
               "The deskphone configuration store and provisioning service.\n\n"
               "  --state-dir DIR   where the configuration is kept\n"
               "                    (default: $STATE_DIRECTORY or /var/lib/deskphone/provd)\n"
               "  --config FILE     site configuration file (Yealink cfg format)\n"
               "  --bus ADDRESS     D-Bus address, \"system\" or \"session\" (default: $DESKPHONE_BUS)\n"
               "  --print-interfaces print the D-Bus interfaces this service exports and exit\n"
               "  -h --help         show this help\n"
               "     --version      show the version\n");
}

static int print_interfaces(void) {
        _cleanup_(freep) char *config = bus_introspect_interface(&provd_config_interface);
        _cleanup_(freep) char *provision = bus_introspect_interface(&provd_provision_interface);
        _cleanup_(freep) char *certificates = bus_introspect_interface(&provd_certificates_interface);
        if (!config || !provision || !certificates)
                return log_oom();
        printf("<node>\n%s%s%s</node>\n", config, provision, certificates);
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_STATE_DIR = 0x100, ARG_CONFIG, ARG_BUS, ARG_VERSION, ARG_PRINT_INTERFACES };
        static const struct option options[] = {
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "bus", required_argument, NULL, ARG_BUS },
                { "print-interfaces", no_argument, NULL, ARG_PRINT_INTERFACES },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_BUS:
                        arg_bus = optarg;
                        break;
                case ARG_PRINT_INTERFACES:
                        return print_interfaces();
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("provd " DESKPHONE_VERSION "\n");
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        if (!arg_state_dir)
                arg_state_dir = getenv("STATE_DIRECTORY") ?: "/var/lib/deskphone/provd";
        return 1;
}

static void apply_log_level(Store *s) {
        const char *v = store_get(s, "deskphone.log_level.provd");
        if (!v || !*v)
                v = store_get(s, "deskphone.log_level");
        int l = log_level_from_string(v);
        if (l >= 0)
                log_set_max_level(l);
}

static int provd_open_store(Provd *p) {
        CfgError e = {};
        char text[600];

        int r = store_open(arg_state_dir, arg_config, &p->store, &e);
        if (r < 0) {
                cfg_error_format(&e, text, sizeof(text));
                return log_error_errno(r, "Failed to open the configuration in %s: %s", arg_state_dir,
                                       e.reason[0] ? text : strerror(-r));
        }
        if (e.reason[0]) {
                cfg_error_format(&e, text, sizeof(text));
                log_error("Ignoring the site configuration, keeping the last good one: %s", text);
        }
        apply_log_level(p->store);
        return 0;
}

static int run(int argc, char *argv[]) {
        Provd p = {};
        sigset_t mask;

        log_setup("provd");
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        r = provd_open_store(&p);
        if (r < 0)
                return r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&p.event);
        if (r >= 0)
                r = sd_event_add_signal(p.event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(p.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_set_watchdog(p.event, true);
        if (r >= 0)
                r = memory_trim_install(p.event);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                goto finish;
        }

        r = bus_open(p.event, arg_bus, &p.bus);
        if (r < 0)
                goto finish;
        r = provision_new(&p, arg_state_dir, &p.provision);
        if (r < 0)
                goto finish;
        /* Provision1 first: deskphone-session counts provd as ready once it owns Config1 */
        r = provision_bus_register(&p);
        if (r >= 0)
                r = certstore_bus_register(&p, arg_state_dir);
        if (r >= 0)
                r = provd_bus_register(&p);
        if (r < 0) {
                log_error_errno(r, "Failed to register on the bus: %m");
                goto finish;
        }

        (void) sd_notify(false, "READY=1\nSTATUS=Serving the configuration");
        log_info("Ready: configuration generation %llu, %u local change(s)",
                 (unsigned long long) store_generation(p.store), store_n_local(p.store));
        provision_power_on(p.provision);
        r = sd_event_loop(p.event);
        (void) sd_notify(false, "STOPPING=1");
        log_info("Stopping");

finish:
        provision_free(p.provision);
        bus_free(p.bus);
        certstore_free(p.certs);
        store_free(p.store);
        sd_event_unref(p.event);
        return r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
