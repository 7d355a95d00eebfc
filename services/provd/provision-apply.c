/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every file of a run has arrived: decrypt, parse and check them all, then apply at once. */
#include <strings.h>

#include "cfgcrypt.h"
#include "log.h"
#include "provd.h"
#include "provision-cache.h"
#include "provision-internal.h"
#include "provision-local.h"
#include "util.h"

#define RSA_KEY_MAX (64U * 1024U)
#define APPLIED_COMMON "applied-common.cfg"
#define APPLIED_MAC "applied-mac.cfg"

static int write_applied(Provision *pv, const char *name, const char *text);

static bool is_config(const Fetch *f) {
        return f->kind == FETCH_COMMON || f->kind == FETCH_MAC || f->kind == FETCH_INCLUDE;
}

/* The MAC file's key for <mac>.cfg and included files named after the MAC, else the common key. */
static const char *configured_key(const Run *run, const Fetch *f) {
        bool mac = f->kind == FETCH_MAC ||
                   (run->s.mac[0] && strncasecmp(f->name, run->s.mac, PROVISION_MAC_LEN) == 0);
        return mac ? run->s.aes_mac : run->s.aes_com;
}

/* The key from the <name>_Security.enc fetched for file i, if any. */
static int key_from_file(Provision *pv, Run *run, size_t i, char **ret) {
        CfgcryptError e = {};

        *ret = NULL;
        for (size_t k = 0; k < run->n; k++) {
                Fetch *kf = &run->fetches[k];
                if (kf->kind != FETCH_KEY || kf->key_of != i || !kf->found)
                        continue;
                int r = cfgcrypt_key_file_read(kf->body, kf->size, ret, &e);
                if (r < 0)
                        return run_fail(pv, r, false, "%s: %s", kf->name, e.reason[0] ? e.reason : strerror(-r));
                return 0;
        }
        return 0;
}

static int rsa_key_load(Provision *pv, Run *run, const Fetch *f, CfgcryptRsaKey **key) {
        _cleanup_(freep) char *pem = NULL;
        CfgcryptError e = {};
        size_t size;

        if (*key)
                return 0;
        if (!*run->s.rsa_key_file)
                return run_fail(pv, -ENOKEY, false, "%s: RSA-encrypted, and deskphone.provision.rsa_key_file "
                                "names no key", f->name);
        int r = read_full_file(run->s.rsa_key_file, &pem, &size, RSA_KEY_MAX);
        if (r < 0)
                return run_fail(pv, r, false, "%s: cannot read the RSA key %s: %s", f->name, run->s.rsa_key_file,
                                strerror(-r));
        r = cfgcrypt_rsa_key_from_pem(pem, size, key, &e);
        explicit_bzero(pem, size);
        if (r < 0)
                return run_fail(pv, r, false, "%s: cannot use the RSA key %s: %s", f->name, run->s.rsa_key_file,
                                e.reason[0] ? e.reason : strerror(-r));
        return 0;
}

static const char *format_name(CfgcryptFormat f) {
        switch (f) {
        case CFGCRYPT_FORMAT_PLAIN:
                return "plain";
        case CFGCRYPT_FORMAT_LEGACY:
                return "AES-encrypted";
        case CFGCRYPT_FORMAT_RSA:
                return "RSA-encrypted";
        case _CFGCRYPT_FORMAT_MAX:
                break;
        }
        return "?";
}

static int decrypt(Provision *pv, Run *run, size_t i, CfgcryptRsaKey **rsa, char **ret_text, size_t *ret_size,
                   CfgcryptFormat *ret_format) {
        _cleanup_(erase_and_freep) char *key = NULL;
        Fetch *f = &run->fetches[i];
        CfgcryptFormat format = cfgcrypt_detect(f->body, f->size);
        CfgcryptError e = {};

        if (format == CFGCRYPT_FORMAT_PLAIN && run->s.encrypted_only && f->kind != FETCH_LOCAL)
                return run_fail(pv, -EPERM, false, "%s: not encrypted, and static.auto_provision.update_file_mode "
                                "= 1 accepts only encrypted files", f->name);
        int r = key_from_file(pv, run, i, &key);
        if (r < 0)
                return r;
        if (format == CFGCRYPT_FORMAT_RSA) {
                r = rsa_key_load(pv, run, f, rsa);
                if (r < 0)
                        return r;
        }
        r = cfgcrypt_decrypt(f->body, f->size, key ?: configured_key(run, f), *rsa, ret_format, ret_text,
                             ret_size, &e);
        if (r == -ENOKEY && format == CFGCRYPT_FORMAT_LEGACY)
                return run_fail(pv, r, false, "%s: not a configuration file: binary, or AES-encrypted and no AES "
                                "key is set", f->name);
        if (r < 0 && e.line > 0)
                return run_fail(pv, r, false, "%s:%u: %s", f->name, e.line, e.reason);
        if (r < 0)
                return run_fail(pv, r, false, "%s: %s", f->name, e.reason[0] ? e.reason : strerror(-r));
        return 0;
}

/* Decrypt, parse and check file i; keep the parsed file in it. */
static int prepare(Provision *pv, Run *run, size_t i, CfgcryptRsaKey **rsa) {
        _cleanup_(erase_and_freep) char *text = NULL;
        CfgcryptFormat format;
        CfgError e = {};
        char where[600];
        size_t size;

        Fetch *f = &run->fetches[i];
        const char *result = f->result;

        f->result = "failed"; /* what Files says if decrypt() ends the run */
        int r = decrypt(pv, run, i, rsa, &text, &size, &format);
        if (r < 0)
                return r;
        f->result = result;
        r = cfg_parse(f->name, text, size, &f->cfg, &e);
        if (r >= 0)
                r = provision_validate(f->cfg, &e);
        if (r < 0) {
                cfg_error_format(&e, where, sizeof(where));
                f->result = "failed";
                return run_fail(pv, r, false, "%s", e.reason[0] ? where : strerror(-r));
        }
        char *d = NULL;
        if (asprintf(&d, "%s, %s, %zu settings", strempty(f->detail), format_name(format), f->cfg->n_entries) >= 0) {
                free(f->detail);
                f->detail = d;
        }
        return 0;
}

/* ---- the layers ---- */

typedef struct Applied {
        CfgFile *common, *mac;
        char *common_text, *mac_text;
} Applied;

static void applied_done(Applied *a) {
        cfg_file_free(a->common);
        cfg_file_free(a->mac);
        erase_and_free(a->common_text);
        erase_and_free(a->mac_text);
}

static int applied_read_one(const char *dir, const char *name, CfgFile **ret, char **ret_text) {
        _cleanup_(freep) char *path = strjoin(dir, "/", name, NULL);
        size_t size;

        if (!path)
                return -ENOMEM;
        int r = read_full_file(path, ret_text, &size, CFG_FILE_MAX);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = cfg_parse(name, *ret_text, size, ret, NULL);
        if (r == -EINVAL) { /* damaged: as if nothing had been applied */
                erase_and_free(*ret_text);
                *ret_text = NULL;
                return 0;
        }
        return r;
}

/* The store's layer l as the applied text of name (when the recorded one is stale). */
static int applied_from_store(Provision *pv, StoreLayer l, const char *name, CfgFile **file, char **text) {
        size_t size;

        *file = cfg_file_free(*file);
        erase_and_free(*text);
        *text = NULL;
        int r = store_format_layer(pv->provd->store, l, text, &size);
        if (r >= 0)
                r = cfg_parse(name, *text, size, file, NULL);
        return r;
}

/* The files the provisioned layers were composed from. They are written after the
 * store's change, so a crash (or a rollback) can leave them behind the store: then
 * the store's own layers are the merge base, and the next run applies. */
static int applied_read(Provision *pv, Applied *a) {
        Store *store = pv->provd->store;

        int r = applied_read_one(pv->dir, APPLIED_COMMON, &a->common, &a->common_text);
        if (r >= 0)
                r = applied_read_one(pv->dir, APPLIED_MAC, &a->mac, &a->mac_text);
        if (r < 0)
                return r;
        int c = store_layer_equal(store, STORE_LAYER_COMMON, a->common);
        int m = store_layer_equal(store, STORE_LAYER_MAC, a->mac);
        if (c < 0 || m < 0)
                return -ENOMEM;
        if (c > 0 && m > 0)
                return 0;
        log_notice("The record of the applied files in %s is not what the configuration holds; merging onto the "
                   "configuration", pv->dir);
        r = applied_from_store(pv, STORE_LAYER_COMMON, APPLIED_COMMON, &a->common, &a->common_text);
        if (r >= 0)
                r = applied_from_store(pv, STORE_LAYER_MAC, APPLIED_MAC, &a->mac, &a->mac_text);
        /* never "unchanged" against a text we made up */
        erase_and_free(a->common_text);
        a->common_text = NULL;
        return r;
}

int provision_applied_from_store(Provision *pv) {
        _cleanup_(applied_done) Applied a = {};

        int r = applied_from_store(pv, STORE_LAYER_COMMON, APPLIED_COMMON, &a.common, &a.common_text);
        if (r >= 0)
                r = applied_from_store(pv, STORE_LAYER_MAC, APPLIED_MAC, &a.mac, &a.mac_text);
        if (r >= 0)
                r = write_applied(pv, APPLIED_COMMON, a.common_text);
        if (r >= 0)
                r = write_applied(pv, APPLIED_MAC, a.mac_text);
        return r;
}

/* Compose the new common and mac layers as texts. */
static int compose(Run *run, const Applied *a, char **ret_common, char **ret_mac) {
        const CfgFile *common[PROVISION_INCLUDES_MAX + 1] = {}, *mac[1] = {};
        size_t n_common = 0, n_mac = 0;
        _cleanup_(cfg_file_freep) CfgFile *merged = NULL;
        _cleanup_(erase_and_freep) char *merged_text = NULL;
        size_t size;
        int r;

        for (size_t i = 0; i < run->n; i++) {
                Fetch *f = &run->fetches[i];
                if (!f->cfg || !is_config(f))
                        continue;
                if (f->kind == FETCH_MAC)
                        mac[n_mac++] = f->cfg;
                else if (n_common < ELEMENTSOF(common))
                        common[n_common++] = f->cfg;
        }
        if (!run->boot_mode) {
                r = provision_compose(&(ProvisionLayer) { .base = a->common, .files = common, .n_files = n_common },
                                      ret_common, &size);
                if (r >= 0)
                        r = provision_compose(&(ProvisionLayer) { .base = a->mac, .files = mac, .n_files = n_mac },
                                              ret_mac, &size);
                return r;
        }

        /* boot mode: one layer, from both earlier ones */
        const CfgFile *before[2] = { a->common, a->mac };
        r = provision_compose(&(ProvisionLayer) { .files = before, .n_files = 2 }, &merged_text, &size);
        if (r >= 0)
                r = cfg_parse("provisioned", merged_text, size, &merged, NULL);
        if (r >= 0)
                r = provision_compose(&(ProvisionLayer) { .base = merged, .keep_static_only = run->overwrite,
                                                          .files = common, .n_files = n_common },
                                      ret_common, &size);
        if (r >= 0)
                r = provision_compose(&(ProvisionLayer) {}, ret_mac, &size);
        return r;
}

static int write_applied(Provision *pv, const char *name, const char *text) {
        _cleanup_(freep) char *path = strjoin(pv->dir, "/", name, NULL);
        if (!path)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0600);
}

static void prune_cache(Provision *pv, Run *run) {
        _cleanup_(strv_freep) char **keep = calloc(1, sizeof(char *));
        char id[65];

        for (size_t i = 0; keep && i < run->n; i++)
                if (cache_id(run->fetches[i].url, id) < 0 || strv_extend(&keep, id) < 0)
                        return;
        if (keep)
                (void) cache_prune(pv->cache_dir, keep);
}

/* 1 when the configuration changed, 0 when the store already held these layers. */
static int store_apply(Provision *pv, Run *run, const char *common_text, const char *mac_text,
                       const LocalPlan *local) {
        _cleanup_(cfg_file_freep) CfgFile *common = NULL, *mac = NULL;
        _cleanup_(strv_freep) char **changed = NULL;
        uint64_t generation = store_generation(pv->provd->store);
        CfgError e = {};
        char where[600];

        int r = cfg_parse("provisioned common layer", common_text, strlen(common_text), &common, &e);
        if (r >= 0)
                r = cfg_parse("provisioned MAC layer", mac_text, strlen(mac_text), &mac, &e);
        if (r >= 0)
                r = store_replace_provisioned_local(pv->provd->store, common, mac, local->local, local->drop,
                                                    &changed, &e);
        if (r < 0) {
                cfg_error_format(&e, where, sizeof(where));
                return run_fail(pv, r, false, "%s", e.reason[0] ? where : strerror(-r));
        }
        /* the store holds them now; a failure here only costs a merge base */
        if ((r = write_applied(pv, APPLIED_COMMON, common_text)) < 0 ||
            (r = write_applied(pv, APPLIED_MAC, mac_text)) < 0)
                log_warning_errno(r, "Failed to record the applied files in %s, ignoring: %m", pv->dir);
        prune_cache(pv, run);
        if (store_generation(pv->provd->store) == generation) {
                log_info("Provisioning from %s: the configuration holds these files already", pv->server);
                return 0;
        }
        log_info("Provisioning applied from %s: %zu effective change(s), generation %llu", pv->server,
                 strv_length(changed), (unsigned long long) store_generation(pv->provd->store));
        provd_bus_changed(pv->provd, changed);
        return 1;
}

static int check_found(Provision *pv, Run *run) {
        char tried[512] = "";

        for (size_t i = 0; i < run->n; i++)
                if (is_config(&run->fetches[i]) && run->fetches[i].found)
                        return 0;
        if (run->boot_mode)
                return 0; /* a boot file with no includes: nothing to change */
        for (size_t i = 0; i < run->n; i++)
                snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s", i > 0 ? ", " : "",
                         run->fetches[i].name);
        bool http = startswith(pv->server, "http:") || startswith(pv->server, "https:");
        return run_fail(pv, -ENOENT, false, "%s: no configuration files (%s for %s)", pv->server,
                        http ? "HTTP 404" : "not found", tried);
}

void run_apply(Provision *pv) {
        Run *run = pv->run;
        _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *rsa = NULL;
        _cleanup_(applied_done) Applied a = {};
        _cleanup_(erase_and_freep) char *common = NULL, *mac = NULL;
        _cleanup_(local_plan_done) LocalPlan local = {};

        pv->state = PROVISION_STATE_APPLYING;
        provision_bus_changed(pv->provd, "State", NULL);
        if (check_found(pv, run) < 0)
                return;
        for (size_t i = 0; i < run->n; i++)
                if ((is_config(&run->fetches[i]) || run->fetches[i].kind == FETCH_LOCAL) && run->fetches[i].found &&
                    !run->fetches[i].cfg && prepare(pv, run, i, &rsa) < 0) /* cfg: prepared before the certificates */
                        return;

        int r = applied_read(pv, &a);
        if (r >= 0)
                r = compose(run, &a, &common, &mac);
        if (r >= 0)
                r = provision_local_plan(pv, run, &local);
        /* < 0 for a bad value: then store_apply() says which */
        int local_changes = r >= 0 ? store_local_would_change(pv->provd->store, local.local, local.drop) : 0;
        if (local_changes == -ENOMEM)
                r = -ENOMEM;
        if (r < 0) {
                (void) run_fail(pv, r, false, "Cannot compose the provisioned configuration: %s", strerror(-r));
                return;
        }
        if (provision_certs_prepare(pv, run, common, mac) != 0)
                return; /* failed, or fetching the certificate files first */
        if (!run->force && streq_ptr(common, a.common_text) && streq_ptr(mac, a.mac_text) && local_changes == 0 &&
            !provision_certs_wanted(pv, common, mac)) {
                log_info("Provisioning from %s: nothing changed", pv->server);
                provision_local_run_done(pv, run);
                run_end(pv, PROVISION_RESULT_UNCHANGED, NULL);
                return;
        }
        if (!run->force && provision_rollback_refused(pv, common, mac)) {
                (void) run_fail(pv, -EPERM, false, "%s: the files are those rolled back after a registration "
                                "failed; not applied again (Start with force to apply them)", pv->server);
                return;
        }
        int certs = provision_certs_install(pv, run, common, mac);
        if (certs < 0)
                return;
        r = store_apply(pv, run, common, mac, &local);
        if (certs > 0)
                provision_certs_commit(pv, r >= 0);
        if (r < 0)
                return;
        provision_local_run_done(pv, run);
        if (r > 0)
                provision_rollback_watch(pv, common, mac);
        run_end(pv, r > 0 || certs > 0 ? PROVISION_RESULT_SUCCESS : PROVISION_RESULT_UNCHANGED, NULL);
}
