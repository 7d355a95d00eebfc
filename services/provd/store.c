/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration store, see store.h: the layers (sorted key -> value maps of
 * validated values), the effective configuration they merge into, and the
 * changes the API makes to them. Writing and loading generations on disk is in
 * store-disk.c; what both halves share is in store-internal.h.
 */

#include <stdarg.h>
#include <sys/stat.h>

#include "store-internal.h"
#include "util.h"

/*
 * Semantics worth knowing (see also store.h):
 *
 * - A layer holds only known keys with validated, normalised values.
 * - A local value equal to what the lower layers give is still recorded: the
 *   user pinned it, so a later provisioned change does not override it. It is
 *   persisted, but the key is not in the changed list (its effective value did
 *   not change). The changed list is every key whose effective value differs,
 *   sorted; it is never NULL on success (possibly empty).
 * - An operation that changes no layer at all writes nothing and keeps the
 *   generation. Every persisted change increments the generation by one; the
 *   generation is the <n> of the current "gen-<n>" directory.
 * - SCHEMA_MASK given for a secret key means "keep what this layer had"
 *   (Set, Import, the site file and the provisioned files alike).
 */

const char *store_layer_to_string(StoreLayer l) {
        switch (l) {
        case STORE_LAYER_DEFAULT:
                return "default";
        case STORE_LAYER_SITE:
                return "site";
        case STORE_LAYER_COMMON:
                return "common";
        case STORE_LAYER_MAC:
                return "mac";
        case STORE_LAYER_LOCAL:
                return "local";
        case _STORE_LAYER_MAX:
                break;
        }
        return NULL;
}

void store_error_set(CfgError *e, const char *file, unsigned line, const char *format, ...) {
        va_list ap;

        snprintf(e->file, sizeof(e->file), "%s", strempty(file));
        e->line = line;
        va_start(ap, format);
        vsnprintf(e->reason, sizeof(e->reason), format, ap);
        va_end(ap);
}

/* ---- Layer: a sorted key -> value map ---- */

void layer_done(Layer *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->keys[i]);
                erase_and_free(l->values[i]);
        }
        free(l->keys);
        free(l->values);
        *l = (Layer) {};
}

/* True when found; *ret_pos is the index, or where the key would be inserted. */
static bool layer_find(const Layer *l, const char *key, size_t *ret_pos) {
        size_t lo = 0, hi = l->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(l->keys[mid], key);
                if (c == 0) {
                        *ret_pos = mid;
                        return true;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_pos = lo;
        return false;
}

const char *layer_get(const Layer *l, const char *key) {
        size_t i;
        return layer_find(l, key, &i) ? l->values[i] : NULL;
}

static int layer_grow(Layer *l) {
        char **k = realloc(l->keys, sizeof(char *) * (l->n + 2));
        if (!k)
                return -ENOMEM;
        l->keys = k;
        char **v = realloc(l->values, sizeof(char *) * (l->n + 2));
        if (!v)
                return -ENOMEM;
        l->values = v;
        return 0;
}

static int layer_put(Layer *l, const char *key, const char *value) {
        size_t i;

        _cleanup_(erase_and_freep) char *v = strdup(value);
        if (!v)
                return -ENOMEM;
        if (layer_find(l, key, &i)) {
                erase_and_free(l->values[i]);
                l->values[i] = TAKE_PTR(v);
                return 0;
        }

        _cleanup_(freep) char *k = strdup(key);
        if (!k || layer_grow(l) < 0)
                return -ENOMEM;
        memmove(l->keys + i + 1, l->keys + i, sizeof(char *) * (l->n - i));
        memmove(l->values + i + 1, l->values + i, sizeof(char *) * (l->n - i));
        l->keys[i] = TAKE_PTR(k);
        l->values[i] = TAKE_PTR(v);
        l->n++;
        l->keys[l->n] = l->values[l->n] = NULL;
        return 0;
}

static void layer_remove(Layer *l, const char *key) {
        size_t i;

        if (!layer_find(l, key, &i))
                return;
        free(l->keys[i]);
        erase_and_free(l->values[i]);
        memmove(l->keys + i, l->keys + i + 1, sizeof(char *) * (l->n - i));
        memmove(l->values + i, l->values + i + 1, sizeof(char *) * (l->n - i));
        l->n--;
}

static int layer_copy(const Layer *src, Layer *ret) {
        _cleanup_(layer_done) Layer l = {};

        /* Appending in order: each put lands at the end. */
        for (size_t i = 0; i < src->n; i++)
                if (layer_put(&l, src->keys[i], src->values[i]) < 0)
                        return -ENOMEM;
        *ret = l;
        l = (Layer) {};
        return 0;
}

bool layer_equal(const Layer *a, const Layer *b) {
        if (a == b)
                return true;
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (!streq(a->keys[i], b->keys[i]) || !streq(a->values[i], b->values[i]))
                        return false;
        return true;
}

/* Validate value for key and put it (normalised) into l. SCHEMA_MASK for a secret
 * keeps the value that old had. -ENOENT for an unknown key (reason not set: the
 * caller decides whether to skip it); other errors with "key: reason" in error. */
int layer_put_checked(Layer *l, const Layer *old, const char *key, const char *value,
                      const char *file, unsigned line, CfgError *error) {
        char reason[sizeof(error->reason)] = "";
        _cleanup_(erase_and_freep) char *norm = NULL;

        const SchemaKey *k = schema_find(key);
        if (!k)
                return -ENOENT;
        if (streq(value, CFG_NULL_VALUE))
                value = ""; /* as in files; also what it would read back as */
        if (k->secret && streq(value, SCHEMA_MASK)) {
                const char *v = layer_get(old, key);
                return v ? layer_put(l, key, v) : 0;
        }

        int r = schema_validate(k, value, &norm, reason, sizeof(reason));
        if (r < 0) {
                store_error_set(error, file, line, "%s: %s", key, reason[0] ? reason : strerror(-r));
                return r;
        }
        return layer_put(l, key, norm ?: value);
}

/* Build a layer from a parsed file; unknown keys are skipped and counted. */
int layer_from_file(const CfgFile *f, const Layer *old, Layer *ret, unsigned *ret_skipped,
                    CfgError *error) {
        _cleanup_(layer_done) Layer l = {};
        unsigned skipped = 0;

        for (size_t i = 0; f && i < f->n_entries; i++) {
                const CfgEntry *e = &f->entries[i];
                if (e->flags & CFG_ENTRY_IGNORED)
                        continue;
                int r = layer_put_checked(&l, old, e->key, e->value, f->name, e->line, error);
                if (r == -ENOENT) {
                        skipped++;
                        continue;
                }
                if (r < 0)
                        return r;
        }
        *ret = l;
        l = (Layer) {};
        if (ret_skipped)
                *ret_skipped = skipped;
        return 0;
}

/* ---- Effective configuration ---- */

static StoreLayer view_lookup(const LayerView view, const char *key, const SchemaKey *k,
                              const char **ret_value) {
        for (StoreLayer l = STORE_LAYER_LOCAL; l > STORE_LAYER_DEFAULT; l--) {
                const char *v = layer_get(view[l], key);
                if (v) {
                        *ret_value = v;
                        return l;
                }
        }
        *ret_value = strempty(k->default_value);
        return STORE_LAYER_DEFAULT;
}

static const char *view_get(const LayerView view, const char *key, const SchemaKey *k) {
        const char *v;
        (void) view_lookup(view, key, k, &v);
        return v;
}

void store_view(Store *s, LayerView ret) {
        for (size_t i = 0; i < _STORE_LAYER_MAX; i++)
                ret[i] = &s->layers[i];
}

/* The effective.cfg bytes for a view (NUL-terminated, may hold secrets). */
int view_format(Store *s, const LayerView view, char **ret, size_t *ret_size) {
        _cleanup_(freep) const char **values = calloc(s->n_keys + 1, sizeof(char *));
        if (!values)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_keys; i++)
                values[i] = view_get(view, s->all_keys[i], s->all_info[i]);
        return cfg_format(s->all_keys, (char * const *) values, ret, ret_size);
}

/* Keys whose effective value differs between two views, sorted, never NULL. */
static int view_diff(Store *s, const LayerView a, const LayerView b, char ***ret) {
        _cleanup_(strv_freep) char **changed = calloc(1, sizeof(char *));
        if (!changed)
                return -ENOMEM;

        for (size_t i = 0; i < s->n_keys; i++) {
                const char *key = s->all_keys[i];
                if (streq(view_get(a, key, s->all_info[i]), view_get(b, key, s->all_info[i])))
                        continue;
                if (strv_extend(&changed, key) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(changed);
        return 0;
}

/* ---- The schema's key list, sorted once ---- */

static int collect_key(const char *key, const SchemaKey *k, void *userdata) {
        return strv_extend(userdata, key);
}

static int store_collect_keys(Store *s, CfgError *error) {
        int r = schema_foreach_key(collect_key, &s->all_keys);
        if (r < 0)
                return r;
        strv_sort(s->all_keys);
        s->n_keys = strv_length(s->all_keys);
        s->all_info = calloc(s->n_keys + 1, sizeof(SchemaKey *));
        if (!s->all_info)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_keys; i++) {
                s->all_info[i] = schema_find(s->all_keys[i]);
                if (!s->all_info[i]) {
                        store_error_set(error, "schema", 0, "does not find its own key %s",
                                  s->all_keys[i]);
                        return -EINVAL;
                }
        }
        return 0;
}

/* ---- Changes ---- */

/* Replace the layers given in repl (NULL: unchanged), persisting first. On
 * success the replaced layers are taken (left empty). previous (NULL: keep
 * what is kept) replaces the previous provisioned layers: with
 * previous_set false there are none any more. */
static int store_commit_full(Store *s, Layer *repl[_STORE_LAYER_MAX], Layer *previous, bool previous_set,
                             char ***ret_changed, CfgError *error) {
        LayerView old, new;
        bool differs = previous && (previous_set != s->has_previous ||
                                    (previous_set && (!layer_equal(&previous[0], &s->previous[0]) ||
                                                      !layer_equal(&previous[1], &s->previous[1]))));

        store_view(s, old);
        for (size_t i = 0; i < _STORE_LAYER_MAX; i++) {
                new[i] = repl[i] ?: old[i];
                differs = differs || !layer_equal(new[i], old[i]);
        }

        _cleanup_(strv_freep) char **changed = NULL;
        int r = view_diff(s, old, new, &changed);
        if (r < 0)
                return r;

        if (differs) {
                r = store_persist(s, new, previous ? (previous_set ? previous : NULL) : store_previous(s),
                                  s->generation + 1, error);
                if (r < 0)
                        return r;
                s->generation++;
                for (size_t i = 0; i < _STORE_LAYER_MAX; i++)
                        if (repl[i]) {
                                layer_done(&s->layers[i]);
                                s->layers[i] = *repl[i];
                                *repl[i] = (Layer) {};
                        }
                for (size_t i = 0; previous && i < ELEMENTSOF(s->previous); i++) {
                        layer_done(&s->previous[i]);
                        s->previous[i] = previous[i];
                        previous[i] = (Layer) {};
                }
                if (previous)
                        s->has_previous = previous_set;
        }
        if (ret_changed)
                *ret_changed = TAKE_PTR(changed);
        return 0;
}

static int store_commit(Store *s, Layer *repl[_STORE_LAYER_MAX], char ***ret_changed,
                        CfgError *error) {
        return store_commit_full(s, repl, NULL, false, ret_changed, error);
}

static int store_commit_one(Store *s, StoreLayer which, Layer *l, char ***ret_changed,
                            CfgError *error) {
        Layer *repl[_STORE_LAYER_MAX] = {};
        repl[which] = l;
        return store_commit(s, repl, ret_changed, error);
}

/* ---- Public API ---- */

int store_open(const char *state_dir, const char *site_path, Store **ret, CfgError *error) {
        CfgError dummy;
        if (!error)
                error = &dummy;
        *error = (CfgError) {};

        _cleanup_(store_freep) Store *s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        s->dir = strjoin(state_dir, "/config", NULL);
        s->effective_path = s->dir ? strjoin(s->dir, "/current/effective.cfg", NULL) : NULL;
        if (!s->effective_path)
                return -ENOMEM;

        int r = mkdir_p(s->dir, 0700);
        if (r >= 0 && chmod(s->dir, 0700) < 0)
                r = negative_errno();
        if (r < 0) {
                store_error_set(error, s->dir, 0, "cannot create: %s", strerror(-r));
                return r;
        }

        r = store_collect_keys(s, error);
        if (r < 0)
                return r;
        r = store_load(s, site_path, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < _STORE_LAYER_MAX; i++)
                layer_done(&s->layers[i]);
        for (size_t i = 0; i < ELEMENTSOF(s->previous); i++)
                layer_done(&s->previous[i]);
        strv_free(s->all_keys);
        free(s->all_info);
        free(s->effective_path);
        free(s->dir);
        free(s);
        return NULL;
}

const char *store_get(Store *s, const char *key) {
        LayerView view;

        const SchemaKey *k = schema_find(key);
        if (!k)
                return NULL;
        store_view(s, view);
        return view_get(view, key, k);
}

StoreLayer store_get_layer(Store *s, const char *key) {
        LayerView view;
        const char *v;

        const SchemaKey *k = schema_find(key);
        if (!k)
                return STORE_LAYER_DEFAULT;
        store_view(s, view);
        return view_lookup(view, key, k, &v);
}

int store_get_all(Store *s, const char *prefix, char ***ret_keys, char ***ret_values) {
        _cleanup_(strv_freep) char **keys = calloc(1, sizeof(char *));
        _cleanup_(strv_freep) char **values = calloc(1, sizeof(char *));
        LayerView view;

        if (!keys || !values)
                return -ENOMEM;
        store_view(s, view);
        for (size_t i = 0; i < s->n_keys; i++) {
                if (!startswith(s->all_keys[i], strempty(prefix)))
                        continue;
                if (strv_extend(&keys, s->all_keys[i]) < 0 ||
                    strv_extend(&values, view_get(view, s->all_keys[i], s->all_info[i])) < 0)
                        return -ENOMEM;
        }
        *ret_keys = TAKE_PTR(keys);
        *ret_values = TAKE_PTR(values);
        return 0;
}

int store_set(Store *s, char * const *keys, char * const *values, char ***ret_changed,
              CfgError *error) {
        CfgError dummy;
        if (!error)
                error = &dummy;
        *error = (CfgError) {};

        _cleanup_(layer_done) Layer local = {};
        int r = layer_copy(&s->layers[STORE_LAYER_LOCAL], &local);
        if (r < 0)
                return r;
        for (size_t i = 0; keys && keys[i]; i++) {
                if (!values || !values[i])
                        return -EINVAL;
                r = layer_put_checked(&local, &s->layers[STORE_LAYER_LOCAL], keys[i], values[i],
                                      NULL, 0, error);
                if (r == -ENOENT)
                        store_error_set(error, NULL, 0, "%s: unknown key", keys[i]);
                if (r < 0)
                        return r;
        }
        return store_commit_one(s, STORE_LAYER_LOCAL, &local, ret_changed, error);
}

int store_reset(Store *s, char * const *keys, char ***ret_changed, CfgError *error) {
        CfgError dummy;
        if (!error)
                error = &dummy;
        *error = (CfgError) {};

        _cleanup_(layer_done) Layer local = {};
        if (strv_length(keys) > 0) {
                int r = layer_copy(&s->layers[STORE_LAYER_LOCAL], &local);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; keys && keys[i]; i++) {
                if (!schema_find(keys[i])) {
                        store_error_set(error, NULL, 0, "%s: unknown key", keys[i]);
                        return -ENOENT;
                }
                layer_remove(&local, keys[i]);
        }
        return store_commit_one(s, STORE_LAYER_LOCAL, &local, ret_changed, error);
}

int store_import(Store *s, const CfgFile *f, char ***ret_changed, unsigned *ret_n_skipped,
                 CfgError *error) {
        CfgError dummy;
        if (!error)
                error = &dummy;
        *error = (CfgError) {};

        _cleanup_(layer_done) Layer local = {}, incoming = {};
        unsigned skipped = 0;
        int r = layer_copy(&s->layers[STORE_LAYER_LOCAL], &local);
        if (r < 0)
                return r;
        r = layer_from_file(f, &s->layers[STORE_LAYER_LOCAL], &incoming, &skipped, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < incoming.n; i++)
                if (layer_put(&local, incoming.keys[i], incoming.values[i]) < 0)
                        return -ENOMEM;

        r = store_commit_one(s, STORE_LAYER_LOCAL, &local, ret_changed, error);
        if (r < 0)
                return r;
        if (ret_n_skipped)
                *ret_n_skipped = skipped;
        return 0;
}

/* The local layer a provisioning run leaves: local (NULL: the current one) without the
 * keys in drop. Unknown keys of local are skipped, as store_import() does. */
static int local_after_provisioning(Store *s, const CfgFile *local, char * const *drop, Layer *ret,
                                    CfgError *error) {
        _cleanup_(layer_done) Layer l = {};
        int r = local ? layer_from_file(local, &s->layers[STORE_LAYER_LOCAL], &l, NULL, error)
                      : layer_copy(&s->layers[STORE_LAYER_LOCAL], &l);
        if (r < 0)
                return r;
        for (size_t i = 0; drop && drop[i]; i++)
                layer_remove(&l, drop[i]);
        *ret = l;
        l = (Layer) {};
        return 0;
}

int store_replace_provisioned(Store *s, const CfgFile *common, const CfgFile *mac,
                              char ***ret_changed, CfgError *error) {
        return store_replace_provisioned_local(s, common, mac, NULL, NULL, ret_changed, error);
}

int store_replace_provisioned_local(Store *s, const CfgFile *common, const CfgFile *mac, const CfgFile *local,
                                    char * const *drop, char ***ret_changed, CfgError *error) {
        CfgError dummy;
        if (!error)
                error = &dummy;
        *error = (CfgError) {};

        _cleanup_(layer_done) Layer c = {}, m = {}, l = {};
        int r = layer_from_file(common, &s->layers[STORE_LAYER_COMMON], &c, NULL, error);
        if (r < 0)
                return r;
        r = layer_from_file(mac, &s->layers[STORE_LAYER_MAC], &m, NULL, error);
        if (r < 0)
                return r;
        r = local_after_provisioning(s, local, drop, &l, error);
        if (r < 0)
                return r;

        Layer *repl[_STORE_LAYER_MAX] = {};
        repl[STORE_LAYER_COMMON] = &c;
        repl[STORE_LAYER_MAC] = &m;
        repl[STORE_LAYER_LOCAL] = &l;
        if (layer_equal(&c, &s->layers[STORE_LAYER_COMMON]) && layer_equal(&m, &s->layers[STORE_LAYER_MAC]))
                return store_commit(s, repl, ret_changed, error); /* nothing to keep */

        /* what is provisioned now becomes the previous layers */
        _cleanup_(layer_done) Layer pc = {}, pm = {};
        r = layer_copy(&s->layers[STORE_LAYER_COMMON], &pc);
        if (r >= 0)
                r = layer_copy(&s->layers[STORE_LAYER_MAC], &pm);
        if (r < 0)
                return r;
        Layer previous[2] = { pc, pm };
        pc = pm = (Layer) {};
        r = store_commit_full(s, repl, previous, true, ret_changed, error);
        for (size_t i = 0; i < ELEMENTSOF(previous); i++)
                layer_done(&previous[i]);
        return r;
}

bool store_has_previous_provisioned(Store *s) {
        return s->has_previous;
}

int store_rollback_provisioned(Store *s, char ***ret_changed, CfgError *error) {
        CfgError dummy;
        if (!error)
                error = &dummy;
        *error = (CfgError) {};

        if (!s->has_previous)
                return -ENOENT;
        _cleanup_(layer_done) Layer c = {}, m = {};
        int r = layer_copy(&s->previous[0], &c);
        if (r >= 0)
                r = layer_copy(&s->previous[1], &m);
        if (r < 0)
                return r;
        Layer *repl[_STORE_LAYER_MAX] = {};
        repl[STORE_LAYER_COMMON] = &c;
        repl[STORE_LAYER_MAC] = &m;
        Layer none[2] = {};
        return store_commit_full(s, repl, none, false, ret_changed, error);
}

int store_format_layer(Store *s, StoreLayer l, char **ret, size_t *ret_size) {
        static char * const empty[] = { NULL };
        const Layer *layer = &s->layers[l];

        return cfg_format(layer->keys ?: empty, layer->values ?: empty, ret, ret_size);
}

int store_layer_equal(Store *s, StoreLayer l, const CfgFile *f) {
        _cleanup_(layer_done) Layer other = {};
        CfgError e = {};

        int r = layer_from_file(f, &s->layers[l], &other, NULL, &e);
        if (r == -ENOMEM)
                return r;
        return r >= 0 && layer_equal(&other, &s->layers[l]);
}

int store_local_would_change(Store *s, const CfgFile *local, char * const *drop) {
        _cleanup_(layer_done) Layer l = {};
        CfgError e = {};

        int r = local_after_provisioning(s, local, drop, &l, &e);
        if (r < 0)
                return r;
        return !layer_equal(&l, &s->layers[STORE_LAYER_LOCAL]);
}

uint64_t store_generation(Store *s) {
        return s->generation;
}

unsigned store_n_local(Store *s) {
        return (unsigned) s->layers[STORE_LAYER_LOCAL].n;
}

const char *store_effective_path(Store *s) {
        return s->effective_path;
}
