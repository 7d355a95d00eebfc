/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mediad: RTP media streams, codecs and audio (org.deskphone.Media1). */
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "mediad.h"

static const BusInterface *const mediad_interfaces[] = {
        &media1_interface,
        &media1_stream_interface,
        NULL
};

static const DaemonInfo mediad_info = {
        .name = "mediad",
        .help = "Usage: mediad [OPTIONS]\n\n"
                "The deskphone media service: RTP streams, codecs, jitter buffer, tones and audio.\n"
                "Its configuration comes from provd (org.deskphone.Config1).\n\n"
                "  --bus ADDRESS      D-Bus address, \"system\" or \"session\" (default: $DESKPHONE_BUS)\n"
                "  --state-dir DIR    accepted for deskphone-session; mediad keeps no state\n"
                "  --config FILE      accepted for deskphone-session; the configuration is provd's\n"
                "  --print-interfaces print the D-Bus interfaces this service exports and exit\n"
                "  -h --help          show this help\n"
                "     --version       show the version\n",
        .interfaces = mediad_interfaces,
};

static int run(const DaemonArgs *args) {
        sd_event *event = NULL;
        Bus *bus = NULL;
        Manager *m = NULL;

        /* before manager_new(): the audio thread inherits the blocked signals */
        int r = daemon_event_new(NULL, NULL, &event);
        if (r < 0)
                return r;
        r = bus_open(event, args->bus, &bus);
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

DEFINE_DAEMON_MAIN(mediad_info, run);
