/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus.h"
#include "store.h"

#define PROVD_CONFIG_NAME "org.deskphone.Config1"
#define PROVD_CONFIG_PATH "/org/deskphone/Config1"
#define PROVD_MANAGER_PATH "/org/deskphone"

typedef struct Provd {
        sd_event *event;
        Bus *bus;
        Store *store;
} Provd;

int provd_bus_register(Provd *p);
/* Announce a change of the effective configuration (Changed, properties). */
void provd_bus_changed(Provd *p, char **keys);
extern const BusInterface provd_config_interface;
