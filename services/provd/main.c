/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* provd: the configuration store (org.deskphone.Config1) and provisioning. */
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "provd.h"
#include "util.h"

static const BusInterface *const provd_interfaces[] = {
        &provd_config_interface,
        &provd_provision_interface,
        &provd_certificates_interface,
        NULL
};

static const DaemonInfo provd_info = {
        .name = "provd",
        .help = "Usage: provd [OPTIONS]\n\n"
                "The deskphone configuration store and provisioning service.\n\n"
                "  --state-dir DIR   where the configuration is kept\n"
                "                    (default: $STATE_DIRECTORY or /var/lib/deskphone/provd)\n"
                "  --config FILE     site configuration file (Yealink cfg format)\n"
                "  --bus ADDRESS     D-Bus address, \"system\" or \"session\" (default: $DESKPHONE_BUS)\n"
                "  --print-interfaces print the D-Bus interfaces this service exports and exit\n"
                "  -h --help         show this help\n"
                "     --version      show the version\n",
        .interfaces = provd_interfaces,
};

static void apply_log_level(Store *s) {
        const char *v = store_get(s, "deskphone.log_level.provd");
        if (!v || !*v)
                v = store_get(s, "deskphone.log_level");
        int l = log_level_from_string(v);
        if (l >= 0)
                log_set_max_level(l);
}

static int provd_open_store(Provd *p, const char *state_dir, const char *config) {
        CfgError e = {};
        char text[600];

        int r = store_open(state_dir, config, &p->store, &e);
        if (r < 0) {
                cfg_error_format(&e, text, sizeof(text));
                return log_error_errno(r, "Failed to open the configuration in %s: %s", state_dir,
                                       e.reason[0] ? text : strerror(-r));
        }
        if (e.reason[0]) {
                cfg_error_format(&e, text, sizeof(text));
                log_error("Ignoring the site configuration, keeping the last good one: %s", text);
        }
        apply_log_level(p->store);
        return 0;
}

static int run(const DaemonArgs *args) {
        const char *state_dir = args->state_dir ?: getenv("STATE_DIRECTORY") ?: "/var/lib/deskphone/provd";
        Provd p = {};

        /* the certificates first: their recovery needs the configuration's generation as
         * the last provd left it, before opening the store may write a new one */
        uint64_t generation = 0;
        int r = store_read_generation(state_dir, &generation);
        if (r < 0)
                log_warning_errno(r, "Cannot read the configuration's generation in %s: %m", state_dir);
        r = certstore_open(state_dir, &p.certs);
        if (r < 0)
                return r;
        (void) certstore_recover(p.certs, generation);
        r = provd_open_store(&p, state_dir, args->config);
        if (r < 0)
                goto finish;
        r = daemon_event_new(NULL, NULL, &p.event);
        if (r < 0)
                goto finish;

        r = bus_open(p.event, args->bus, &p.bus);
        if (r < 0)
                goto finish;
        r = provision_new(&p, state_dir, &p.provision);
        if (r < 0)
                goto finish;
        /* Provision1 first: deskphone-session counts provd as ready once it owns Config1 */
        r = provision_bus_register(&p);
        if (r >= 0)
                r = certstore_bus_register(&p);
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

DEFINE_DAEMON_MAIN(provd_info, run);
