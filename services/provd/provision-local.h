/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * <mac>-local.cfg, as Yealink phones keep it: the settings changed on the
 * phone (Config1.Set/Reset/Import by the UI or phonectl: the store's local
 * layer) and what provisioning does to them.
 *
 * static.auto_provision.custom.protect = 1: local changes keep priority over
 * provisioned values across provisioning (the local layer stays on top).
 * custom.protect = 0: a run that provisions a key drops the local change of
 * that key, so the provisioned value wins. static.* keys have no priority
 * either way (Yealink: "static settings have no priority"): provisioning one
 * always drops its local change, and they are never part of <mac>-local.cfg.
 *
 * static.auto_provision.custom.sync = 1 (with custom.protect = 1): the local
 * changes other than static.* keys, as <mac>-local.cfg, are uploaded to
 * custom.sync.path (else the provisioning server's directory) a second after
 * they change (PUT, or POST with custom.upload_method = 1; FTP/TFTP store
 * the file); each run downloads the file from there after the others and,
 * when the server has one, it becomes the local layer (with the local
 * static.* keys kept) in the same atomic change as the provisioned layers.
 * The file holds what the local layer holds, secrets too (as on Yealink
 * phones); logs name the file, the URL without user info and a count.
 */

#include "provision-internal.h"

typedef struct ProvisionLocal ProvisionLocal;

int provision_local_new(Provision *pv, ProvisionLocal **ret);
ProvisionLocal *provision_local_free(ProvisionLocal *l);

/* The configuration changed: upload <mac>-local.cfg (debounced) when sync is on and its
 * content differs from what the server was last known to hold. */
void provision_local_changed(Provision *pv);

/* The URL of <mac>-local.cfg for a run to download; -ENOENT when sync is off or the MAC
 * is unknown. */
int provision_local_url(Provision *pv, const Run *run, char **ret);

/* What a run that applies does to the local layer (for store_replace_provisioned_local). */
typedef struct LocalPlan {
        CfgFile *local; /* the new local layer, NULL: the current one */
        char **drop;    /* local changes the run's files override */
} LocalPlan;

void local_plan_done(LocalPlan *p);
int provision_local_plan(Provision *pv, const Run *run, LocalPlan *ret);
/* A run ended applied or unchanged: remember the server and what it holds of the file. */
void provision_local_run_done(Provision *pv, const Run *run);
