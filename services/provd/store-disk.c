/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration store on disk, see store.h: writing a complete generation
 * directory <state_dir>/config/gen-<n>/, switching the "current" symlink to it,
 * removing stale generations, and loading the current one (and the site file)
 * at open. The layers themselves and the changes to them are in store.c; what
 * both halves share is in store-internal.h.
 */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "log.h"
#include "store-internal.h"
#include "util.h"

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static const char * const layer_file[_STORE_LAYER_MAX] = {
        [STORE_LAYER_SITE] = "site.cfg",
        [STORE_LAYER_COMMON] = "common.cfg",
        [STORE_LAYER_MAC] = "mac.cfg",
        [STORE_LAYER_LOCAL] = "local.cfg",
};

/* The provisioned layers before the last provisioning, for a rollback:
 * [0] common, [1] mac. Absent when there is none. */
static const char * const previous_file[2] = { "previous-common.cfg", "previous-mac.cfg" };

/* ---- Persistence ---- */

static char *gen_name(uint64_t gen) {
        char *name;
        return asprintf(&name, "gen-%" PRIu64, gen) < 0 ? NULL : name;
}

/* Create dir/name (it must not exist), mode 0600, write data and fsync it. */
static int write_synced(const char *dir, const char *name, const char *data, size_t size) {
        _cleanup_(freep) char *path = strjoin(dir, "/", name, NULL);
        if (!path)
                return -ENOMEM;

        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        int r = loop_write(fd, data, size);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (close(fd) < 0 && r >= 0)
                r = negative_errno();
        return r;
}

static void free_formatted(char *data, size_t size) {
        if (data)
                explicit_bzero(data, size);
        free(data);
}

static int write_formatted(const char *dir, const char *name, char * const *keys,
                           char * const *values) {
        static char * const empty[] = { NULL };
        char *data = NULL;
        size_t size = 0;

        int r = cfg_format(keys ?: empty, values ?: empty, &data, &size);
        if (r >= 0)
                r = write_synced(dir, name, data, size);
        free_formatted(data, size);
        return r;
}

static int write_effective(Store *s, const LayerView view, const char *dir) {
        char *data = NULL;
        size_t size = 0;

        int r = view_format(s, view, &data, &size);
        if (r >= 0)
                r = write_synced(dir, "effective.cfg", data, size);
        free_formatted(data, size);
        return r;
}

/* Write gen-<n>/ completely and fsync it; *ret_step says what failed. */
static int write_generation(Store *s, const LayerView view, const Layer *previous, const char *gendir,
                            const char **ret_step) {
        int r;

        (void) rm_rf(gendir); /* a leftover with the same number is never current */
        *ret_step = "create";
        if (mkdir(gendir, 0700) < 0)
                return negative_errno();
        *ret_step = "write";
        for (StoreLayer l = STORE_LAYER_SITE; l < _STORE_LAYER_MAX; l++) {
                r = write_formatted(gendir, layer_file[l], view[l]->keys, view[l]->values);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; previous && i < ELEMENTSOF(previous_file); i++) {
                r = write_formatted(gendir, previous_file[i], previous[i].keys, previous[i].values);
                if (r < 0)
                        return r;
        }
        r = write_effective(s, view, gendir);
        if (r < 0)
                return r;
        *ret_step = "sync";
        return fsync_path(gendir);
}

/* Atomically point "current" at name. */
/* Remove every gen-* directory but keep, and a leftover current.tmp. */
static void remove_stale(Store *s, const char *keep) {
        _cleanup_(closedirp) DIR *d = opendir(s->dir);
        if (!d) {
                log_warning_errno(errno, "Failed to open %s, ignoring: %m", s->dir);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (!streq(de->d_name, "current.tmp") &&
                    (!startswith(de->d_name, "gen-") || streq_ptr(de->d_name, keep)))
                        continue;
                _cleanup_(freep) char *path = strjoin(s->dir, "/", de->d_name, NULL);
                int r = path ? rm_rf(path) : -ENOMEM;
                if (r < 0)
                        log_warning_errno(r, "Failed to remove %s/%s, ignoring: %m", s->dir,
                                          de->d_name);
        }
}

/* previous: the two previous provisioned layers to keep, or NULL for none. */
int store_persist(Store *s, const LayerView view, const Layer *previous, uint64_t gen,
                  CfgError *error) {
        const char *step = "prepare";
        _cleanup_(freep) char *name = gen_name(gen);
        _cleanup_(freep) char *gendir = name ? strjoin(s->dir, "/", name, NULL) : NULL;
        if (!gendir)
                return -ENOMEM;

        int r = write_generation(s, view, previous, gendir, &step);
        if (r >= 0) {
                step = "activate";
                r = generation_link_set(s->dir, gen);
        }
        if (r < 0) {
                (void) rm_rf(gendir);
                store_error_set(error, s->dir, 0, "cannot save the configuration (%s %s): %s", step,
                          name, strerror(-r));
                return r;
        }

        /* Committed: what follows only makes it durable sooner and tidies up. */
        r = fsync_path(s->dir);
        if (r < 0)
                log_warning_errno(r, "Failed to sync %s, ignoring: %m", s->dir);
        remove_stale(s, name);
        return 0;
}

/* ---- Loading at open ---- */

/* The n of "current" -> "gen-<n>"; -ENOENT when there is no current generation. */
static int read_current(Store *s, uint64_t *ret) {
        return generation_link_read(s->dir, ret);
}

int store_read_generation(const char *state_dir, uint64_t *ret) {
        _cleanup_(freep) char *dir = strjoin(state_dir, "/config", NULL);
        uint64_t gen;

        if (!dir)
                return -ENOMEM;
        int r = generation_link_read(dir, &gen);
        if (r == -ENOENT)
                gen = 0;
        else if (r < 0)
                return r;
        *ret = gen;
        return 0;
}

/* Load a stored layer; entries that are no longer known or valid (the schema
 * changed) are dropped and *dirty is set so a clean generation is written. */
static int load_layer(const char *path, Layer *ret, bool *dirty, CfgError *error) {
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        _cleanup_(layer_done) Layer l = {};
        CfgError e = {};

        int r = cfg_parse_file(path, &f, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < f->n_entries; i++) {
                const CfgEntry *entry = &f->entries[i];
                if (entry->flags & CFG_ENTRY_IGNORED) {
                        *dirty = true; /* never written by us */
                        continue;
                }
                r = layer_put_checked(&l, &l, entry->key, entry->value, path, entry->line, &e);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* Not e.reason: it may quote a secret. */
                        log_warning("Dropping stored value of %s from %s: %s", entry->key, path,
                                    r == -ENOENT ? "unknown key" : "no longer valid");
                        *dirty = true;
                } else if (!streq_ptr(layer_get(&l, entry->key), entry->value))
                        *dirty = true; /* normalised differently now */
        }
        *ret = l;
        l = (Layer) {};
        return 0;
}

/* The previous provisioned layers, when the generation keeps them (both files). */
static int load_previous(Store *s, const char *name, bool *dirty, CfgError *error) {
        _cleanup_(freep) char *common = strjoin(s->dir, "/", name, "/", previous_file[0], NULL);
        _cleanup_(freep) char *mac = strjoin(s->dir, "/", name, "/", previous_file[1], NULL);
        if (!common || !mac)
                return -ENOMEM;
        if (access(common, F_OK) < 0 || access(mac, F_OK) < 0)
                return 0;
        int r = load_layer(common, &s->previous[0], dirty, error);
        if (r >= 0)
                r = load_layer(mac, &s->previous[1], dirty, error);
        if (r < 0)
                return r;
        s->has_previous = true;
        return 0;
}

static int load_generation(Store *s, uint64_t gen, bool *dirty, CfgError *error) {
        _cleanup_(freep) char *name = gen_name(gen);
        if (!name)
                return -ENOMEM;

        for (StoreLayer l = STORE_LAYER_SITE; l < _STORE_LAYER_MAX; l++) {
                _cleanup_(freep) char *path = strjoin(s->dir, "/", name, "/", layer_file[l], NULL);
                if (!path)
                        return -ENOMEM;
                int r = load_layer(path, &s->layers[l], dirty, error);
                if (r < 0)
                        return r;
        }
        return load_previous(s, name, dirty, error);
}

/* Parse and validate the site file; when bad, report it in error and keep the
 * last good site layer. Only fatal errors are returned. */
static int load_site(Store *s, const char *site_path, bool *dirty, CfgError *error) {
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        _cleanup_(layer_done) Layer l = {};
        unsigned skipped = 0;

        int r = cfg_parse_file(site_path, &f, error);
        if (r >= 0)
                r = layer_from_file(f, &s->layers[STORE_LAYER_SITE], &l, &skipped, error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* Reported to the caller only, which logs it. */
                if (!error->reason[0])
                        store_error_set(error, site_path, 0, "%s", strerror(-r));
                return 0;
        }
        if (skipped > 0)
                log_notice("Site configuration %s: skipped %u unknown keys", site_path, skipped);
        if (!layer_equal(&l, &s->layers[STORE_LAYER_SITE])) {
                layer_done(&s->layers[STORE_LAYER_SITE]);
                s->layers[STORE_LAYER_SITE] = l;
                l = (Layer) {};
                *dirty = true;
        }
        return 0;
}

/* True when the stored effective.cfg is not what the layers give now (the
 * schema's defaults changed, or it is missing). */
static bool effective_stale(Store *s) {
        LayerView view;
        char *want = NULL, *have = NULL;
        size_t want_size = 0, have_size = 0;
        bool stale = true;

        store_view(s, view);
        if (view_format(s, view, &want, &want_size) >= 0 &&
            read_full_file(s->effective_path, &have, &have_size, CFG_FILE_MAX) >= 0)
                stale = want_size != have_size || memcmp(want, have, want_size) != 0;
        free_formatted(want, want_size);
        free_formatted(have, have_size);
        return stale;
}

int store_load(Store *s, const char *site_path, CfgError *error) {
        bool dirty = false, fresh = false;
        uint64_t gen = 0;
        _cleanup_(freep) char *name = NULL;

        int r = read_current(s, &gen);
        if (r == -ENOENT)
                fresh = true;
        else if (r < 0) {
                store_error_set(error, s->dir, 0, "cannot read the \"current\" link: %s", strerror(-r));
                return r;
        }
        else if (!(name = gen_name(gen)))
                return -ENOMEM;
        remove_stale(s, name); /* name NULL: everything is a leftover */

        if (!fresh) {
                r = load_generation(s, gen, &dirty, error);
                if (r < 0)
                        return r;
        }
        if (site_path) {
                r = load_site(s, site_path, &dirty, error);
                if (r < 0)
                        return r;
        }

        s->generation = gen;
        if (!fresh && !dirty && !effective_stale(s))
                return 0;

        LayerView view;
        store_view(s, view);
        r = store_persist(s, view, store_previous(s), fresh ? 0 : gen + 1, error);
        if (r < 0)
                return r;
        s->generation = fresh ? 0 : gen + 1;
        return 0;
}
