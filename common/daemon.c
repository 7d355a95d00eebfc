/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The start-up every service shares: options, signals, the loop's watchdog
 * and heap trim timer, the exit code. What the service does between start
 * and exit stays in its own main.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "memory.h"

static int print_interfaces(const BusInterface *const *interfaces) {
        printf("<node>\n");
        for (size_t i = 0; interfaces[i]; i++) {
                _cleanup_(freep) char *xml = bus_introspect_interface(interfaces[i]);
                if (!xml)
                        return log_oom();
                fputs(xml, stdout);
        }
        printf("</node>\n");
        return 0;
}

int daemon_parse_argv(const DaemonInfo *info, int argc, char *argv[], DaemonArgs *ret_args) {
        enum { ARG_BUS = 0x100, ARG_STATE_DIR, ARG_CONFIG, ARG_PRINT_INTERFACES, ARG_VERSION };
        static const struct option options[] = {
                { "bus", required_argument, NULL, ARG_BUS },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "print-interfaces", no_argument, NULL, ARG_PRINT_INTERFACES },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        DaemonArgs args = {};
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_BUS:
                        args.bus = optarg;
                        break;
                case ARG_STATE_DIR:
                        args.state_dir = optarg;
                        break;
                case ARG_CONFIG:
                        args.config = optarg;
                        break;
                case ARG_PRINT_INTERFACES:
                        return print_interfaces(info->interfaces);
                case 'h':
                        fputs(info->help, stdout);
                        return 0;
                case ARG_VERSION:
                        printf("%s " DESKPHONE_VERSION "\n", info->name);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        *ret_args = args;
        return 1;
}

int daemon_event_new(sd_event_signal_handler_t on_signal, void *userdata, sd_event **ret) {
        sd_event *e = NULL;
        sigset_t mask;

        /* blocked before any thread exists (mediad's audio thread), so all inherit the mask */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* a peer that closes a connection must not kill us */
        signal(SIGPIPE, SIG_IGN);

        int r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, on_signal, userdata);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, userdata);
        if (r >= 0)
                r = sd_event_set_watchdog(e, true);
        if (r >= 0)
                r = memory_trim_install(e);
        if (r < 0) {
                sd_event_unref(e);
                return log_error_errno(r, "Failed to set up the event loop: %m");
        }
        *ret = e;
        return 0;
}

int daemon_main(const DaemonInfo *info, int argc, char *argv[], int (*run)(const DaemonArgs *args)) {
        DaemonArgs args;

        log_setup(info->name);
        int r = daemon_parse_argv(info, argc, argv, &args);
        if (r > 0)
                r = run(&args);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
