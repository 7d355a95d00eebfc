/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/*
 * Auto provisioning, as a Yealink phone does it (org.deskphone.Provision1).
 *
 * A run: find the server (a URL given to Start, else the one a PnP server
 * sent at power-on with static.auto_provision.pnp_enable = 1 (provision-pnp.c),
 * else DHCP's offer when static.auto_provision.dhcp_option.enable = 1 and a
 * lease has one, else static.auto_provision.server.url); fetch <mac>.boot, else
 * y000000000000.boot and the files it includes, else y0000000000<model>.cfg
 * and <mac>.cfg, each with its <name>_Security.enc key file when
 * static.auto_provision.aes_key_in_file = 1 and the file is AES-encrypted.
 * Only when every file has arrived are they decrypted, parsed and checked
 * against the schema; then the provisioned layers are replaced in one
 * atomic store change. Any failure leaves the configuration as it was and
 * says which file and why on LastError.
 *
 * The layers: files mode puts the common file in the store's common layer
 * and the MAC file in its mac layer; boot mode merges the included files in
 * order into the common layer (the mac layer then empties). A key a file
 * no longer names keeps its provisioned value (Yealink's overwrite_mode = 0),
 * except in boot mode with overwrite_mode = 1, where it goes back to its
 * default (static.* keys keep theirs, as on Yealink phones).
 *
 * Conditional requests (If-None-Match, If-Modified-Since) use the copies in
 * <state_dir>/provision/cache; a run whose resulting layers equal the applied
 * ones ends with LastResult "unchanged" and does not touch the store.
 *
 * Rollback: the provisioned layers from before the last change are kept. When,
 * within deskphone.provision.rollback_window seconds after a run applied, a SIP
 * account that was registered before fails to register, LastResult becomes
 * "registration-failed" and LastError names the account and its error;
 * Rollback() (at once with deskphone.provision.auto_rollback = 1) puts the
 * earlier layers back, and later runs do not apply the same files again unless
 * forced.
 *
 * Schedule: at start when static.auto_provision.power_on = 1; every
 * repeat.minutes when repeat.enable = 1; once in the weekly window when
 * weekly.enable = 1; a random delay of up to deskphone.provision.jitter_seconds
 * before repeated runs; failed scheduled runs that failed for a reason that
 * may pass (network, HTTP 5xx, 429) are retried with exponential backoff
 * (1 minute doubling to 1 hour, 10 times), or after the server's Retry-After.
 *
 * Check-sync (provision-schedule.c): a registrar's NOTIFY that the files
 * changed starts a run now, also when a scheduled one is only waiting (its
 * jitter, a retry's backoff); during a run (whose files may be the old ones)
 * it is remembered, and one more run starts when that one ends.
 */

typedef struct Provd Provd;
typedef struct Provision Provision;

typedef enum ProvisionState {
        PROVISION_STATE_IDLE,
        PROVISION_STATE_FETCHING,
        PROVISION_STATE_APPLYING,
        PROVISION_STATE_FAILED,
        _PROVISION_STATE_MAX,
} ProvisionState;

typedef enum ProvisionResult {
        PROVISION_RESULT_NONE,
        PROVISION_RESULT_SUCCESS,
        PROVISION_RESULT_UNCHANGED,
        PROVISION_RESULT_FAILED,
        PROVISION_RESULT_REGISTRATION_FAILED, /* applied, then an account that worked failed */
        PROVISION_RESULT_ROLLED_BACK,
        _PROVISION_RESULT_MAX,
} ProvisionResult;

typedef struct ProvisionFileInfo {
        char *url;     /* without user info */
        char *result;  /* "downloaded", "not-modified", "missing", "failed", "fetching" */
        char *detail;  /* "HTTP 200, 512 bytes, AES-encrypted (legacy), 12 keys" or the reason */
} ProvisionFileInfo;

const char *provision_state_to_string(ProvisionState s);
const char *provision_result_to_string(ProvisionResult r);

/* state_dir: provd's; provisioning keeps its own files below it. */
int provision_new(Provd *p, const char *state_dir, Provision **ret);
Provision *provision_free(Provision *pv);
DEFINE_TRIVIAL_CLEANUP_FUNC(Provision *, provision_free);

/* Start a run now (Start()): url NULL for the configured sources; force: no conditional
 * requests, apply even when unchanged. -EINPROGRESS when a run is going on; -ENOENT when
 * there is no server to ask (reason says so). */
int provision_start(Provision *pv, const char *url, bool force, char *reason, size_t reason_size);
/* A check-sync (Start with "reason": "check-sync", no URL, not forced): the files on the server
 * changed. Starts a run now; during a run, one more run follows it, however many come (0 then). */
int provision_check_sync(Provision *pv, char *reason, size_t reason_size);
/* Stop the run going on (it ends failed, "cancelled"); -ENOENT when there is none. */
int provision_cancel(Provision *pv);
/* Put back the provisioned configuration from before the last run that changed it
 * (Rollback()). -ENOENT: there is none; -EINPROGRESS: a run is going on. */
int provision_rollback(Provision *pv, const char *reason);
bool provision_can_rollback(Provision *pv);
/* Once on the bus: follow sipd's accounts (for the rollback after provisioning). */
int provision_rollback_setup(Provision *pv);
/* After start-up: the power-on run, and the schedule. */
void provision_power_on(Provision *pv);
/* The effective configuration changed: follow schedule keys. */
void provision_config_changed(Provision *pv, char * const *keys);

ProvisionState provision_get_state(Provision *pv);
ProvisionResult provision_get_last_result(Provision *pv);
const char *provision_get_last_error(Provision *pv);
uint64_t provision_get_last_time(Provision *pv); /* usec since the epoch, 0 never */
uint64_t provision_get_next_time(Provision *pv); /* usec since the epoch, 0 none scheduled */
const char *provision_get_server(Provision *pv); /* without user info, "" none */
const ProvisionFileInfo *provision_get_files(Provision *pv, size_t *ret_n);

/* provision-bus.c */
int provision_bus_register(Provd *p);
void provision_bus_changed(Provd *p, const char *property, ...) _sentinel_;
