/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus.h"
#include "certstore.h"
#include "provision.h"
#include "store.h"

#define PROVD_CONFIG_NAME "org.deskphone.Config1"
#define PROVD_CONFIG_PATH "/org/deskphone/Config1"
#define PROVD_MANAGER_PATH "/org/deskphone"
#define PROVD_PROVISION_NAME "org.deskphone.Provision1"
#define PROVD_PROVISION_PATH "/org/deskphone/Provision1"
#define PROVD_CERTIFICATES_PATH "/org/deskphone/Certificates1"

typedef struct Provd {
        sd_event *event;
        Bus *bus;
        Store *store;
        Provision *provision;
        CertStore *certs;
} Provd;

int provd_bus_register(Provd *p);
/* Announce a change of the effective configuration (Changed, properties). */
void provd_bus_changed(Provd *p, char **keys);
extern const BusInterface provd_config_interface;
extern const BusInterface provd_provision_interface;
/* org.deskphone.Certificates1 (certstore-bus.c): adds the object for p->certs. */
extern const BusInterface provd_certificates_interface;
int certstore_bus_register(Provd *p);
/* Send CertificatesChanged (after provisioning changed the store). */
void certstore_bus_changed(Provd *p);
/* Run handler for root, provd's user, the group "deskphone" and the UI service, now or
 * once the bus has said who the caller is (then the reply is the handler's). */
int provd_authorize(Bus *bus, DBusMessage *m, Provd *p, BusMethodHandler handler, BusError *error);
