/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* <mac>-local.cfg: the local changes' priority over provisioning, and their sync with the server. */
#include <unistd.h>

#include "cfg-parse.h"
#include "log.h"
#include "provd.h"
#include "provision-local.h"
#include "schema.h"
#include "util.h"

#define DEBOUNCE_USEC 1000000ULL   /* upload a second after the last change */
#define RETRY_FIRST_USEC 30000000ULL
#define RETRIES_MAX 5U
#define ANSWER_MAX (64U * 1024U)   /* what we keep of the server's answer to an upload */
#define CONNECT_TIMEOUT_S 10U
#define TOTAL_TIMEOUT_S 60U
#define LOCAL_SUFFIX "-local.cfg"

struct ProvisionLocal {
        Provision *pv;
        sd_event_source *timer; /* the debounce, or the retry after a failure */
        HttpRequest *req;
        char *sending;          /* the text of the upload going on (secrets) */
        char *synced;           /* what the server holds as far as we know; NULL: unknown */
        char *server;           /* the directory of the last run (may hold user info) */
        char *display;          /* the URL of the upload, without user info */
        unsigned n_failures;
        bool again;             /* changed while uploading */
};

static const char *get(Provision *pv, const char *key) {
        return strempty(store_get(pv->provd->store, key));
}

static bool get_bool(Provision *pv, const char *key) {
        return streq(get(pv, key), "1");
}

static bool protect_on(Provision *pv) {
        return get_bool(pv, "static.auto_provision.custom.protect");
}

/* Yealink: the file is synced only when local changes are protected. */
static bool sync_on(Provision *pv) {
        return protect_on(pv) && get_bool(pv, "static.auto_provision.custom.sync");
}

static bool is_static(const char *key) {
        return startswith(key, "static.");
}

/* ---- the file's text ---- */

static int local_layer(Provision *pv, CfgFile **ret) {
        _cleanup_(erase_and_freep) char *text = NULL;
        size_t size;

        int r = store_format_layer(pv->provd->store, STORE_LAYER_LOCAL, &text, &size);
        return r < 0 ? r : cfg_parse("local layer", text, size, ret, NULL);
}

/* Format the entries of a (then b, may be NULL) whose key is static (or is not): the
 * pointers borrow the files' strings. */
static int format_entries(const CfgFile *a, bool a_static, const CfgFile *b, bool b_static, char **ret,
                          size_t *ret_n) {
        const CfgFile *files[2] = { a, b };
        bool want[2] = { a_static, b_static };
        size_t total = (a ? a->n_entries : 0) + (b ? b->n_entries : 0), n = 0;
        _cleanup_(freep) char **keys = calloc(total + 1, sizeof(char *));
        _cleanup_(freep) char **values = calloc(total + 1, sizeof(char *));

        if (!keys || !values)
                return -ENOMEM;
        for (size_t f = 0; f < ELEMENTSOF(files); f++)
                for (size_t i = 0; files[f] && i < files[f]->n_entries; i++) {
                        const CfgEntry *e = &files[f]->entries[i];
                        if ((e->flags & CFG_ENTRY_IGNORED) || is_static(e->key) != want[f])
                                continue;
                        keys[n] = e->key;
                        values[n++] = e->value;
                }
        int r = cfg_format(keys, values, ret, NULL);
        if (r >= 0 && ret_n)
                *ret_n = n;
        return r;
}

/* <mac>-local.cfg as we upload it: the local layer without static.* keys. */
static int upload_text(Provision *pv, char **ret, size_t *ret_n) {
        _cleanup_(cfg_file_freep) CfgFile *local = NULL;

        int r = local_layer(pv, &local);
        return r < 0 ? r : format_entries(local, false, NULL, false, ret, ret_n);
}

static bool is_empty_file(const char *text) {
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        return cfg_parse("", text, strlen(text), &f, NULL) >= 0 && f->n_entries == 0;
}

/* Whether the server lacks text: it holds something else, or we do not know and there is
 * something to say. */
static bool needs_upload(ProvisionLocal *l, const char *text) {
        if (l->synced)
                return !streq(text, l->synced);
        return !is_empty_file(text);
}

/* ---- uploading ---- */

static void arm(ProvisionLocal *l, uint64_t usec);

/* The directory to sync with: custom.sync.path, else the server of the last run, else
 * static.auto_provision.server.url. */
static int sync_url(Provision *pv, const char *mac, char **ret) {
        ProvisionLocal *l = pv->local;
        const char *path = get(pv, "static.auto_provision.custom.sync.path");
        _cleanup_(freep) char *dir = NULL, *name = strjoin(mac, LOCAL_SUFFIX, NULL);
        int r;

        if (!name)
                return -ENOMEM;
        if (*path)
                r = provision_url_directory(path, &dir);
        else if (l->server)
                r = (dir = strdup(l->server)) ? 0 : -ENOMEM;
        else if (*get(pv, "static.auto_provision.server.url"))
                r = provision_url_directory(get(pv, "static.auto_provision.server.url"), &dir);
        else
                return -ENOENT;
        return r < 0 ? r : provision_url_join(dir, name, ret);
}

static HttpCaSet ca_set_from(const char *v) {
        return streq(v, "0") ? HTTP_CA_SYSTEM : streq(v, "1") ? HTTP_CA_CUSTOM : HTTP_CA_BOTH;
}

static void upload_options(Provision *pv, const char *url, const char *user_agent, HttpRequestOptions *o) {
        bool custom = access(pv->ca_file, R_OK) >= 0;
        HttpCaSet set = ca_set_from(get(pv, "static.security.ca_cert"));

        *o = (HttpRequestOptions) {
                .url = url,
                .username = get(pv, "static.auto_provision.server.username"),
                .password = get(pv, "static.auto_provision.server.password"),
                .user_agent = user_agent,
                .verify_peer = get_bool(pv, "static.security.trust_certificates"),
                .verify_host = get_bool(pv, "static.security.cn_validation"),
                .ca_set = set == HTTP_CA_BOTH && !custom ? HTTP_CA_SYSTEM : set,
                .ca_dir = pv->ca_dir,
                .ca_file = pv->ca_file,
                .client_cert = get_bool(pv, "static.security.dev_cert") && access(pv->device_cert, R_OK) >= 0 ?
                               pv->device_cert : NULL,
                .connect_timeout_s = CONNECT_TIMEOUT_S,
                .stall_timeout_s = 10,
                .total_timeout_s = TOTAL_TIMEOUT_S,
                .max_size = ANSWER_MAX,
        };
}

static void upload_failed(ProvisionLocal *l, const char *display, const char *reason) {
        l->n_failures++;
        if (l->n_failures > RETRIES_MAX) {
                log_warning("Failed to upload %s: %s; giving up until the next change", display, reason);
                l->n_failures = 0;
                return;
        }
        log_warning("Failed to upload %s: %s; trying again in %llu s", display, reason,
                    (unsigned long long) ((RETRY_FIRST_USEC << (l->n_failures - 1)) / 1000000ULL));
        arm(l, RETRY_FIRST_USEC << (l->n_failures - 1));
}

static void on_uploaded(HttpRequest *req, int error, HttpResponse *resp, const char *reason, void *userdata) {
        ProvisionLocal *l = userdata;
        const char *display = strempty(l->display);
        char why[64];

        l->req = NULL;
        if (error >= 0 && (resp->status < 200 || resp->status >= 300)) {
                snprintf(why, sizeof(why), "HTTP %ld", resp->status);
                reason = why;
                error = -EIO;
        }
        if (error < 0)
                upload_failed(l, display, reason);
        else {
                log_info("Uploaded the local changes to %s", display);
                erase_and_free(l->synced);
                l->synced = TAKE_PTR(l->sending);
                l->n_failures = 0;
        }
        erase_and_free(l->sending);
        l->sending = NULL;
        if (l->again) {
                l->again = false;
                provision_local_changed(l->pv);
        }
}

static int mac_of(Provision *pv, char mac[static PROVISION_MAC_LEN + 1]) {
        if (provision_mac_normalize(get(pv, "deskphone.mac"), mac) >= 0)
                return 0;
        return provision_mac_from_sysfs(getenv("DESKPHONE_SYSFS_NET") ?: "/sys/class/net", mac);
}

static int upload(ProvisionLocal *l) {
        Provision *pv = l->pv;
        _cleanup_(erase_and_freep) char *text = NULL;
        _cleanup_(freep) char *url = NULL, *display = NULL, *name = NULL, *agent = NULL;
        char mac[PROVISION_MAC_LEN + 1], colons[18];
        HttpRequestOptions o;
        size_t n;

        if (!sync_on(pv))
                return 0;
        int r = mac_of(pv, mac);
        if (r < 0)
                return log_warning_errno(r, "Cannot upload the local changes: the MAC is unknown");
        r = upload_text(pv, &text, &n);
        if (r < 0)
                return log_warning_errno(r, "Cannot upload the local changes: %m");
        if (!needs_upload(l, text))
                return 0;
        r = sync_url(pv, mac, &url);
        if (r == -ENOENT)
                return log_warning_errno(r, "Cannot upload the local changes: no server "
                                         "(static.auto_provision.custom.sync.path, static.auto_provision.server.url)");
        provision_mac_with_colons(mac, colons);
        name = strjoin(mac, LOCAL_SUFFIX, NULL);
        agent = strjoin("deskphone ", get(pv, "deskphone.model_id"), " " DESKPHONE_VERSION " ", colons, NULL);
        display = url ? provision_url_redact(url) : NULL;
        if (r < 0 || !name || !agent || !display)
                return log_warning_errno(r < 0 ? r : -ENOMEM, "Cannot upload the local changes: %m");

        upload_options(pv, url, agent, &o);
        HttpUpload u = {
                .body = text,
                .size = strlen(text),
                .post = streq(get(pv, "static.auto_provision.custom.upload_method"), "1"),
                .file_name = name,
        };
        r = http_upload(pv->http, &o, &u, on_uploaded, l, &l->req);
        if (r < 0) {
                upload_failed(l, display, strerror(-r));
                return r;
        }
        log_info("Uploading the local changes (%zu setting(s)) to %s%s", n, display, u.post ? " (POST)" : "");
        l->sending = TAKE_PTR(text);
        free(l->display);
        l->display = TAKE_PTR(display);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        ProvisionLocal *l = userdata;

        if (l->req) {
                l->again = true;
                return 0;
        }
        (void) upload(l);
        return 0;
}

static void arm(ProvisionLocal *l, uint64_t usec) {
        int r;

        if (!l->timer) {
                r = sd_event_add_time_relative(l->pv->provd->event, &l->timer, CLOCK_MONOTONIC, usec, 0, on_timer, l);
                if (r >= 0)
                        (void) sd_event_source_set_description(l->timer, "provision-local-upload");
        } else {
                r = sd_event_source_set_time_relative(l->timer, usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to schedule the upload of the local changes, ignoring: %m");
}

void provision_local_changed(Provision *pv) {
        ProvisionLocal *l = pv->local;
        _cleanup_(erase_and_freep) char *text = NULL;

        if (!l || !sync_on(pv))
                return;
        if (upload_text(pv, &text, NULL) < 0 || !needs_upload(l, text))
                return;
        l->n_failures = 0;
        arm(l, DEBOUNCE_USEC);
}

/* ---- provisioning runs ---- */

int provision_local_url(Provision *pv, const Run *run, char **ret) {
        const char *path = get(pv, "static.auto_provision.custom.sync.path");
        _cleanup_(freep) char *dir = NULL, *name = NULL;

        if (!sync_on(pv) || !run->s.mac[0])
                return -ENOENT;
        name = strjoin(run->s.mac, LOCAL_SUFFIX, NULL);
        if (!name)
                return -ENOMEM;
        if (!*path)
                return provision_url_join(run->base, name, ret);
        int r = provision_url_directory(path, &dir);
        return r < 0 ? r : provision_url_join(dir, name, ret);
}

void local_plan_done(LocalPlan *p) {
        cfg_file_free(p->local);
        strv_free(p->drop);
        *p = (LocalPlan) {};
}

static bool is_provisioned_file(const Fetch *f) {
        return f->cfg && (f->kind == FETCH_COMMON || f->kind == FETCH_MAC || f->kind == FETCH_INCLUDE);
}

/* The local changes of keys that the run's files name and that lose to them. */
static int plan_drop(Provision *pv, const Run *run, char ***drop) {
        Store *store = pv->provd->store;
        bool protect = protect_on(pv);

        for (size_t i = 0; i < run->n; i++) {
                const Fetch *f = &run->fetches[i];
                for (size_t j = 0; is_provisioned_file(f) && j < f->cfg->n_entries; j++) {
                        const char *key = f->cfg->entries[j].key;
                        if ((f->cfg->entries[j].flags & CFG_ENTRY_IGNORED) || (protect && !is_static(key)) ||
                            store_get_layer(store, key) != STORE_LAYER_LOCAL || strv_contains(*drop, key))
                                continue;
                        if (strv_extend(drop, key) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* The downloaded <mac>-local.cfg with the local static.* keys, as the new local layer. */
static int plan_local(Provision *pv, const Run *run, CfgFile **ret) {
        _cleanup_(cfg_file_freep) CfgFile *current = NULL;
        _cleanup_(erase_and_freep) char *text = NULL;
        const Fetch *downloaded = NULL;

        for (size_t i = 0; i < run->n; i++)
                if (run->fetches[i].kind == FETCH_LOCAL && run->fetches[i].cfg)
                        downloaded = &run->fetches[i];
        if (!downloaded)
                return 0;
        int r = local_layer(pv, &current);
        if (r >= 0)
                r = format_entries(current, true, downloaded->cfg, false, &text, NULL);
        if (r >= 0)
                r = cfg_parse(downloaded->name, text, strlen(text), ret, NULL);
        return r;
}

int provision_local_plan(Provision *pv, const Run *run, LocalPlan *ret) {
        _cleanup_(local_plan_done) LocalPlan p = {};

        int r = plan_drop(pv, run, &p.drop);
        if (r >= 0)
                r = plan_local(pv, run, &p.local);
        if (r < 0)
                return r;
        if (p.drop)
                log_info("Provisioning overrides %zu local change(s)%s", strv_length(p.drop),
                         protect_on(pv) ? " of static.* settings" : " (static.auto_provision.custom.protect = 0)");
        *ret = p;
        p = (LocalPlan) {};
        return 0;
}

void provision_local_run_done(Provision *pv, const Run *run) {
        ProvisionLocal *l = pv->local;
        bool fetched = false, found = false;

        for (size_t i = 0; i < run->n; i++)
                if (run->fetches[i].kind == FETCH_LOCAL) {
                        fetched = true;
                        found = run->fetches[i].found;
                }
        char *server = strdup(run->base);
        if (server) {
                erase_and_free(l->server);
                l->server = server;
        }
        if (!fetched)
                return;
        /* the server holds what the local layer holds now, or nothing */
        erase_and_free(l->synced);
        l->synced = NULL;
        if (found)
                (void) upload_text(pv, &l->synced, NULL);
        provision_local_changed(pv);
}

/* ---- the object ---- */

int provision_local_new(Provision *pv, ProvisionLocal **ret) {
        ProvisionLocal *l = calloc(1, sizeof(ProvisionLocal));
        if (!l)
                return -ENOMEM;
        l->pv = pv;
        *ret = l;
        return 0;
}

ProvisionLocal *provision_local_free(ProvisionLocal *l) {
        if (!l)
                return NULL;
        http_request_cancel(l->req);
        sd_event_source_disable_unref(l->timer);
        erase_and_free(l->sending);
        erase_and_free(l->synced);
        erase_and_free(l->server);
        free(l->display);
        free(l);
        return NULL;
}
