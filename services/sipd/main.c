/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sipd: SIP accounts, registrations and calls (org.deskphone.Sip1), on sofia-sip. */
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "sipd.h"

static const BusInterface *const sipd_interfaces[] = {
        &sipd_manager_interface,
        &sipd_account_interface,
        &sipd_call_interface,
        NULL
};

static const DaemonInfo sipd_info = {
        .name = "sipd",
        .help = "Usage: sipd [OPTIONS]\n\n"
                "The deskphone SIP service: accounts, registrations and calls.\n"
                "Its configuration comes from provd (org.deskphone.Config1).\n\n"
                "  --bus ADDRESS      D-Bus address, \"system\" or \"session\" (default: $DESKPHONE_BUS)\n"
                "  --state-dir DIR    accepted for deskphone-session; sipd keeps no state\n"
                "  --config FILE      accepted for deskphone-session; provd reads it\n"
                "  --print-interfaces print the D-Bus interfaces this service exports and exit\n"
                "  -h --help          show this help\n"
                "     --version       show the version\n",
        .interfaces = sipd_interfaces,
};

/* userdata is run()'s Manager pointer: the loop, and with it this, runs only once it is set */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager **m = userdata;

        manager_stop(*m);
        return 0;
}

static int run(const DaemonArgs *args) {
        _cleanup_(sip_stack_freep) SipStack *stack = NULL;
        Manager *m = NULL;
        sd_event *event = NULL;
        Bus *bus = NULL;

        int r = daemon_event_new(on_signal, &m, &event);
        if (r < 0)
                return r;
        r = sip_stack_new(event, &stack);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                goto finish;
        }
        r = bus_open(event, args->bus, &bus);
        if (r >= 0)
                r = manager_new(event, bus, stack, &m);
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

DEFINE_DAEMON_MAIN(sipd_info, run);
