/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sipd: SIP accounts, registrations and calls (org.deskphone.Sip1), on sofia-sip. */
#include <getopt.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "log.h"
#include "memory.h"
#include "sipd.h"
#include "util.h"

static const char *arg_bus;

static void help(void) {
        printf("Usage: sipd [OPTIONS]\n\n"
               "The deskphone SIP service: accounts, registrations and calls.\n"
               "Its configuration comes from provd (org.deskphone.Config1).\n\n"
               "  --bus ADDRESS      D-Bus address, \"system\" or \"session\" (default: $DESKPHONE_BUS)\n"
               "  --state-dir DIR    accepted for deskphone-session; sipd keeps no state\n"
               "  --config FILE      accepted for deskphone-session; provd reads it\n"
               "  --print-interfaces print the D-Bus interfaces this service exports and exit\n"
               "  -h --help          show this help\n"
               "     --version       show the version\n");
}

static int print_interfaces(void) {
        const BusInterface *ifaces[] = { &sipd_manager_interface, &sipd_account_interface, &sipd_call_interface };

        printf("<node>\n");
        for (size_t i = 0; i < ELEMENTSOF(ifaces); i++) {
                _cleanup_(freep) char *xml = bus_introspect_interface(ifaces[i]);
                if (!xml)
                        return log_oom();
                fputs(xml, stdout);
        }
        printf("</node>\n");
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
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
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_BUS:
                        arg_bus = optarg;
                        break;
                case ARG_STATE_DIR:
                case ARG_CONFIG:
                        break;
                case ARG_PRINT_INTERFACES:
                        return print_interfaces() ?: 0;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("sipd " DESKPHONE_VERSION "\n");
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        manager_stop(userdata);
        return 0;
}

static int setup_loop(sd_event **ret) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* a peer that closes a TCP connection must not kill us */
        signal(SIGPIPE, SIG_IGN);
        return sd_event_default(ret);
}

static int run(int argc, char *argv[]) {
        _cleanup_(sip_stack_freep) SipStack *stack = NULL;
        Manager *m = NULL;
        sd_event *event = NULL;
        Bus *bus = NULL;

        log_setup("sipd");
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        r = setup_loop(&event);
        if (r >= 0)
                r = sip_stack_new(event, &stack);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                goto finish;
        }
        r = bus_open(event, arg_bus, &bus);
        if (r >= 0)
                r = manager_new(event, bus, stack, &m);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_set_watchdog(event, true);
        if (r >= 0)
                r = memory_trim_install(event);
        if (r >= 0)
                r = manager_start(m);
        if (r < 0)
                goto finish;

        (void) sd_notify(false, "READY=1\nSTATUS=Waiting for the configuration");
        log_info("Ready on the bus as " SIP1_NAME);
        r = sip_stack_run(stack);
        (void) sd_notify(false, "STOPPING=1");
        log_info("Stopped");

finish:
        manager_free(m);
        bus_free(bus);
        stack = sip_stack_free(stack);
        sd_event_unref(event);
        return r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
