/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "cfg-parse.h"
#include "macro.h"
#include "schema.h"

/*
 * The configuration store: layers, validation and atomic persistence.
 * No loop, no bus; provd-bus.c calls it.
 *
 * Layers, later wins: defaults (schema) < site (the --config file) < common
 * (provisioned y0000000000xx.cfg) < mac (provisioned <mac>.cfg) < local.
 *
 * On disk, under <state_dir>/config/ (mode 0700, files 0600 since they hold
 * secrets): a directory per generation, "gen-<n>/", holding site.cfg,
 * common.cfg, mac.cfg, local.cfg and effective.cfg (the merged result, for
 * people and for byte-for-byte comparisons), plus the symlink "current" ->
 * "gen-<n>". A change writes a complete new generation directory (each file
 * fsync'ed, then the directory), then atomically replaces "current" with
 * rename(2), then removes older generations. A crash at any point leaves
 * either the old or the new generation current, never a mix. Leftover
 * incomplete generation directories are removed at open.
 */

typedef enum StoreLayer {
        STORE_LAYER_DEFAULT,
        STORE_LAYER_SITE,
        STORE_LAYER_COMMON,
        STORE_LAYER_MAC,
        STORE_LAYER_LOCAL,
        _STORE_LAYER_MAX,
} StoreLayer;

typedef struct Store Store;

/* The generation on disk as the last process left it, before store_open() may
 * write a new one (a changed site file, a stale effective.cfg): 0 when there is
 * none yet. For the certificate store's recovery (certstore_recover()). */
int store_read_generation(const char *state_dir, uint64_t *ret);

/* Open (creating if needed) the store in state_dir. If site_path is not NULL,
 * that file is parsed and validated; when good it becomes the site layer
 * (persisted if it differs), when bad the error is returned in *error AND
 * the store still opens with the last good site layer (return value 0,
 * error->reason non-empty): a bad file never loses a working configuration. */
int store_open(const char *state_dir, const char *site_path, Store **ret, CfgError *error);
Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/* Effective value, NULL for a key the schema does not know. Never masked. */
const char *store_get(Store *s, const char *key);
StoreLayer store_get_layer(Store *s, const char *key);
const char *store_layer_to_string(StoreLayer l);

/* Every known key starting with prefix, sorted, with its effective value. */
int store_get_all(Store *s, const char *prefix, char ***ret_keys, char ***ret_values);

/* Validate every pair, then apply them all to the local layer and persist.
 * A value equal to SCHEMA_MASK for a secret key means "unchanged".
 * On error nothing changed and *error names the key and reason (line 0).
 * *ret_changed (may be NULL) gets the keys whose effective value changed. */
int store_set(Store *s, char * const *keys, char * const *values, char ***ret_changed,
              CfgError *error);

/* Remove local changes of keys (NULL or empty: all). Unknown key: -ENOENT. */
int store_reset(Store *s, char * const *keys, char ***ret_changed, CfgError *error);

/* Apply a parsed file as local changes, all or nothing. Unknown keys are
 * skipped (counted in *ret_n_skipped, may be NULL); a bad value fails with
 * file:line in *error. */
int store_import(Store *s, const CfgFile *f, char ***ret_changed, unsigned *ret_n_skipped,
                 CfgError *error);

/* Replace the provisioned layers together (either may be NULL: empty layer). */
int store_replace_provisioned(Store *s, const CfgFile *common, const CfgFile *mac,
                              char ***ret_changed, CfgError *error);
/* The same, and in the same atomic change the local layer becomes local (NULL: the
 * current local layer; a downloaded <mac>-local.cfg; unknown keys skipped) without the
 * keys in drop (NULL: none): what provisioning does to local changes
 * (static.auto_provision.custom.protect, .custom.sync). */
int store_replace_provisioned_local(Store *s, const CfgFile *common, const CfgFile *mac, const CfgFile *local,
                                    char * const *drop, char ***ret_changed, CfgError *error);
/* 1 when the local layer would change under store_replace_provisioned_local(local, drop). */
int store_local_would_change(Store *s, const CfgFile *local, char * const *drop);

/* The provisioned layers as they were before the last store_replace_provisioned()
 * that changed them are kept (persisted with the generation): put them back, in one
 * atomic change; after that there is no previous one until the next change.
 * -ENOENT when there is none. */
bool store_has_previous_provisioned(Store *s);
int store_rollback_provisioned(Store *s, char ***ret_changed, CfgError *error);

/* A layer as file text (sorted "key = value" lines; may hold secrets). */
int store_format_layer(Store *s, StoreLayer l, char **ret, size_t *ret_size);
/* 1 when f, validated as a layer, equals layer l; 0 when not (or f is bad). */
int store_layer_equal(Store *s, StoreLayer l, const CfgFile *f);

uint64_t store_generation(Store *s);
unsigned store_n_local(Store *s);
/* Path of the current effective.cfg (for tests and for people). */
const char *store_effective_path(Store *s);
