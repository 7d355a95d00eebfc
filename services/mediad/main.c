/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mediad: RTP media streams, codecs and audio (org.deskphone.Media1). */
#include <getopt.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "log.h"
#include "mediad.h"
#include "memory.h"

static const char *arg_bus;

static void help(void) {
        printf("Usage: mediad [OPTIONS]\n\n"
               "The deskphone media service: RTP streams, codecs, jitter buffer, tones and audio.\n"
               "Its configuration comes from provd (org.deskphone.Config1).\n\n"
               "  --bus ADDRESS      D-Bus address, \"system\" or \"session\" (default: $DESKPHONE_BUS)\n"
               "  --state-dir DIR    accepted for deskphone-session; mediad keeps no state\n"
               "  --config FILE      accepted for deskphone-session; the configuration is provd's\n"
               "  --print-interfaces print the D-Bus interfaces this service exports and exit\n"
               "  -h --help          show this help\n"
               "     --version       show the version\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_BUS = 0x100, ARG_STATE_DIR, ARG_CONFIG, ARG_VERSION, ARG_PRINT_INTERFACES };
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
                        return mediad_bus_print_interfaces();
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mediad " DESKPHONE_VERSION "\n");
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}

static int setup_event(sd_event **ret) {
        sigset_t mask;
        sd_event *e = NULL;

        /* blocked before the audio thread exists, so it inherits the mask */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        int r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
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

static int run(int argc, char *argv[]) {
        sd_event *event = NULL;
        Bus *bus = NULL;
        Manager *m = NULL;

        log_setup("mediad");
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        r = setup_event(&event);
        if (r < 0)
                return r;
        r = bus_open(event, arg_bus, &bus);
        if (r >= 0)
                r = manager_new(event, bus, &m);
        if (r >= 0)
                r = manager_start(m);
        if (r < 0) {
                log_error_errno(r, "Failed to start: %m");
                goto finish;
        }

        (void) sd_notify(false, "READY=1\nSTATUS=Ready for media streams");
        log_info("Ready");
        r = sd_event_loop(event);
        (void) sd_notify(false, "STOPPING=1");
        log_info("Stopping");

finish:
        manager_free(m);
        bus_free(bus);
        sd_event_unref(event);
        return r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
