/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "bus.h"

/* What a service tells the common start-up about itself. */
typedef struct DaemonInfo {
        const char *name;                       /* log identifier and --version */
        const char *help;                       /* --help, printed as it is */
        const BusInterface *const *interfaces;  /* --print-interfaces; NULL-terminated */
} DaemonInfo;

/* The options every service takes (deskphone-session passes all of them);
 * those a service has no use for are NULL or ignored. */
typedef struct DaemonArgs {
        const char *bus;
        const char *state_dir;
        const char *config;
} DaemonArgs;

/* Parses the common options. 1 to go on (ret_args written), 0 when the
 * request was answered (--help, --version, --print-interfaces), or a
 * negative errno. */
int daemon_parse_argv(const DaemonInfo *info, int argc, char *argv[], DaemonArgs *ret_args);

/* The process's one loop: SIGINT and SIGTERM blocked and delivered to on_signal
 * (NULL: leave the loop), SIGPIPE ignored, the systemd watchdog and the heap
 * trim timer on. Logs what failed. */
int daemon_event_new(sd_event_signal_handler_t on_signal, void *userdata, sd_event **ret);

/* log_setup(), the common options, then run(); the exit code of the process. */
int daemon_main(const DaemonInfo *info, int argc, char *argv[], int (*run)(const DaemonArgs *args));

#define DEFINE_DAEMON_MAIN(info, run)                                   \
        int main(int argc, char *argv[]) {                              \
                return daemon_main(&(info), argc, argv, (run));         \
        }
