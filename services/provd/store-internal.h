/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by store.c (layers and changes) and store-disk.c (generations on disk);
 * not for other users. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg-parse.h"
#include "macro.h"
#include "schema.h"
#include "store.h"

typedef struct Layer {
        char **keys;   /* sorted, NULL-terminated (or NULL when empty) */
        char **values; /* parallel to keys */
        size_t n;
} Layer;

struct Store {
        char *dir;            /* <state_dir>/config */
        char *effective_path; /* <dir>/current/effective.cfg */
        uint64_t generation;
        Layer layers[_STORE_LAYER_MAX]; /* [STORE_LAYER_DEFAULT] stays empty */
        Layer previous[2];              /* the provisioned layers before the last change */
        bool has_previous;
        char **all_keys;                /* every concrete schema key, sorted */
        const SchemaKey **all_info;     /* parallel to all_keys */
        size_t n_keys;
};

/* One layer per StoreLayer, as the effective configuration is merged from. */
typedef const Layer *LayerView[_STORE_LAYER_MAX];

_printf_(4, 5) void store_error_set(CfgError *e, const char *file, unsigned line, const char *format, ...);

/* store.c: layers */
void layer_done(Layer *l);
const char *layer_get(const Layer *l, const char *key);
bool layer_equal(const Layer *a, const Layer *b);
int layer_put_checked(Layer *l, const Layer *old, const char *key, const char *value,
                      const char *file, unsigned line, CfgError *error);
int layer_from_file(const CfgFile *f, const Layer *old, Layer *ret, unsigned *ret_skipped,
                    CfgError *error);

/* store.c: the effective configuration */
void store_view(Store *s, LayerView ret);
int view_format(Store *s, const LayerView view, char **ret, size_t *ret_size);

static inline const Layer *store_previous(Store *s) {
        return s->has_previous ? s->previous : NULL;
}

/* store-disk.c: write generation gen of view (previous: the two previous provisioned
 * layers to keep, or NULL) and make it current; load the current one at open. */
int store_persist(Store *s, const LayerView view, const Layer *previous, uint64_t gen,
                  CfgError *error);
int store_load(Store *s, const char *site_path, CfgError *error);
