/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A provisioning run: which files, fetched in order, then all checked, then applied at once. */
#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>
#include <time.h>

#include "cfgcrypt.h"
#include "curl-glue.h"
#include "log.h"
#include "provd.h"
#include "provision-cache.h"
#include "provision-files.h"
#include "provision-internal.h"
#include "provision-local.h"
#include "util.h"

#define CONNECT_TIMEOUT_S 10U
#define TOTAL_TIMEOUT_S 300U
#define BOOT_MAX (64U * 1024U)
#define KEY_FILE_MAX 64U
#define RSA_KEY_MAX (64U * 1024U)
#define LEASE_MAX (256U * 1024U)
#define FETCHES_MAX (2U + 2U * PROVISION_INCLUDES_MAX + 6U)
#define RUN_BYTES_MAX (32U * 1024U * 1024U) /* every file of a run together */

const char *provision_state_to_string(ProvisionState s) {
        switch (s) {
        case PROVISION_STATE_IDLE:
                return "idle";
        case PROVISION_STATE_FETCHING:
                return "fetching";
        case PROVISION_STATE_APPLYING:
                return "applying";
        case PROVISION_STATE_FAILED:
                return "failed";
        case _PROVISION_STATE_MAX:
                break;
        }
        return NULL;
}

const char *provision_result_to_string(ProvisionResult r) {
        switch (r) {
        case PROVISION_RESULT_NONE:
                return "";
        case PROVISION_RESULT_SUCCESS:
                return "success";
        case PROVISION_RESULT_UNCHANGED:
                return "unchanged";
        case PROVISION_RESULT_FAILED:
                return "failed";
        case PROVISION_RESULT_REGISTRATION_FAILED:
                return "registration-failed";
        case PROVISION_RESULT_ROLLED_BACK:
                return "rolled-back";
        case _PROVISION_RESULT_MAX:
                break;
        }
        return NULL;
}

/* ---- settings, read from the store when a run starts ---- */

static void settings_done(Settings *s) {
        free(s->url);
        free(s->username);
        erase_and_free(s->password);
        erase_and_free(s->aes_com);
        erase_and_free(s->aes_mac);
        free(s->rsa_key_file);
        free(s->model);
        free(s->user_agent);
        *s = (Settings) {};
}

static const char *get(Provision *pv, const char *key) {
        return strempty(store_get(pv->provd->store, key));
}

static bool get_bool(Provision *pv, const char *key) {
        return streq(get(pv, key), "1");
}

static unsigned get_uint(Provision *pv, const char *key, unsigned fallback) {
        unsigned u;
        return safe_atou(get(pv, key), &u) >= 0 ? u : fallback;
}

/* The first non-empty value of keys, copied (NULL if all are empty). */
static int first_of(Provision *pv, const char * const *keys, char **ret) {
        for (size_t i = 0; keys[i]; i++)
                if (*get(pv, keys[i])) {
                        *ret = strdup(get(pv, keys[i]));
                        return *ret ? 0 : -ENOMEM;
                }
        *ret = NULL;
        return 0;
}

static int settings_keys(Provision *pv, Settings *s) {
        static const char * const com[] = { "static.auto_provision.aes_key.com", "static.auto_provision.aes_key_16.com",
                                            "auto_provision.aes_key_16.com", NULL };
        static const char * const mac[] = { "static.auto_provision.aes_key.mac", "static.auto_provision.aes_key_16.mac",
                                            "auto_provision.aes_key_16.mac", NULL };
        int r = first_of(pv, com, &s->aes_com);
        if (r >= 0)
                r = first_of(pv, mac, &s->aes_mac);
        if (r >= 0 && !s->aes_mac && s->aes_com && !(s->aes_mac = strdup(s->aes_com)))
                r = -ENOMEM;
        return r;
}

static void settings_mac(Provision *pv, Settings *s) {
        if (provision_mac_normalize(get(pv, "deskphone.mac"), s->mac) >= 0)
                return;
        if (provision_mac_from_sysfs(getenv("DESKPHONE_SYSFS_NET") ?: "/sys/class/net", s->mac) < 0)
                s->mac[0] = '\0';
}

static HttpCaSet ca_set_from(unsigned v) {
        return v == 0 ? HTTP_CA_SYSTEM : v == 1 ? HTTP_CA_CUSTOM : HTTP_CA_BOTH;
}

static int settings_read(Provision *pv, Settings *s) {
        char mac[18];

        *s = (Settings) {
                .key_in_file = get_bool(pv, "static.auto_provision.aes_key_in_file"),
                .encrypted_only = get_bool(pv, "static.auto_provision.update_file_mode"),
                .verify_peer = get_bool(pv, "static.security.trust_certificates"),
                .verify_host = get_bool(pv, "static.security.cn_validation"),
                .dev_cert = get_bool(pv, "static.security.dev_cert"),
                .ca_set = ca_set_from(get_uint(pv, "static.security.ca_cert", 2)),
                .stall_s = get_uint(pv, "deskphone.provision.stall_seconds", 10),
        };
        settings_mac(pv, s);
        provision_mac_with_colons(s->mac, mac);
        s->url = strdup(get(pv, "static.auto_provision.server.url"));
        s->username = strdup(get(pv, "static.auto_provision.server.username"));
        s->password = strdup(get(pv, "static.auto_provision.server.password"));
        s->rsa_key_file = strdup(get(pv, "deskphone.provision.rsa_key_file"));
        s->model = strdup(get(pv, "deskphone.model_id"));
        s->user_agent = strjoin("deskphone ", get(pv, "deskphone.model_id"), " " DESKPHONE_VERSION " ",
                                *mac ? mac : "00:00:00:00:00:00", NULL);
        if (!s->url || !s->username || !s->password || !s->rsa_key_file || !s->model || !s->user_agent)
                return -ENOMEM;
        if (s->stall_s == 0)
                s->stall_s = 10;
        return settings_keys(pv, s);
}

/* ---- where the server is ---- */

static int url_from_lease_file(const char *path, const unsigned *custom, size_t n_custom, char **ret) {
        _cleanup_(freep) char *text = NULL;
        size_t size;

        int r = read_full_file(path, &text, &size, LEASE_MAX);
        if (r < 0)
                return r;
        return dhcp_lease_find_url(text, size, custom, n_custom, ret);
}

/* The URL the newest DHCP lease offers, from the lease files configured. */
static int url_from_dhcp(Provision *pv, char **ret) {
        _cleanup_(freep) char *patterns = strdup(get(pv, "deskphone.provision.dhcp_lease_files"));
        unsigned custom[16];
        size_t n_custom = 0;
        time_t newest = 0;
        char *best = NULL, *save = NULL;

        if (!patterns)
                return -ENOMEM;
        (void) dhcp_parse_option_list(get(pv, "static.auto_provision.dhcp_option.list_user_options"), custom,
                                      ELEMENTSOF(custom), &n_custom);
        for (char *p = strtok_r(patterns, " \t,", &save); p; p = strtok_r(NULL, " \t,", &save)) {
                glob_t g = {};
                if (glob(p, GLOB_NOSORT, NULL, &g) != 0)
                        continue;
                for (size_t i = 0; i < g.gl_pathc; i++) {
                        struct stat st;
                        char *u = NULL;
                        if (stat(g.gl_pathv[i], &st) < 0 || (best && st.st_mtime <= newest) ||
                            url_from_lease_file(g.gl_pathv[i], custom, n_custom, &u) < 0)
                                continue;
                        free(best);
                        best = u;
                        newest = st.st_mtime;
                }
                globfree(&g);
        }
        if (!best)
                return -ENOENT;
        *ret = best;
        return 0;
}

/* The server of a run: explicit, else DHCP, else the configured one. */
static int find_server(Provision *pv, const Settings *s, const char *url, char **ret_url,
                       const char **ret_source) {
        char *u = NULL;

        if (url) {
                *ret_source = "request";
                u = strdup(url);
        } else if (pv->pnp_url && get_bool(pv, "static.auto_provision.pnp_enable")) {
                *ret_source = "PnP"; /* Yealink's order: PnP, DHCP, the configured URL */
                u = strdup(pv->pnp_url);
        } else if (get_bool(pv, "static.auto_provision.dhcp_option.enable") && url_from_dhcp(pv, &u) >= 0)
                *ret_source = "DHCP";
        else if (*s->url) {
                *ret_source = "static.auto_provision.server.url";
                u = strdup(s->url);
        } else
                return -ENOENT;
        if (!u)
                return -ENOMEM;
        *ret_url = u;
        return 0;
}

/* ---- the files of a run ---- */

static void fetch_done(Fetch *f) {
        free(f->url);
        free(f->name);
        free(f->display);
        if (f->body)
                explicit_bzero(f->body, f->size);
        free(f->body);
        free(f->detail);
        cfg_file_free(f->cfg);
}

static Run *run_free(Run *run) {
        if (!run)
                return NULL;
        http_request_cancel(run->req);
        for (size_t i = 0; i < run->n; i++)
                fetch_done(&run->fetches[i]);
        free(run->fetches);
        free(run->base);
        settings_done(&run->s);
        free(run);
        return NULL;
}

/* Add a file to fetch at position at (run->n: at the end). */
static int run_add(Run *run, size_t at, FetchKind kind, const char *name_or_url, size_t key_of) {
        _cleanup_(freep) char *url = NULL, *name = NULL, *display = NULL;

        if (run->n >= FETCHES_MAX)
                return -E2BIG;
        int r = provision_url_join(run->base, name_or_url, &url);
        if (r >= 0)
                r = provision_url_file_name(url, &name);
        if (r < 0)
                return r;
        display = provision_url_redact(url);
        Fetch *n = realloc(run->fetches, (run->n + 1) * sizeof(Fetch));
        if (!display || !n) {
                if (n)
                        run->fetches = n;
                return -ENOMEM;
        }
        run->fetches = n;
        memmove(n + at + 1, n + at, (run->n - at) * sizeof(Fetch));
        n[at] = (Fetch) {
                .kind = kind,
                .url = TAKE_PTR(url),
                .name = TAKE_PTR(name),
                .display = TAKE_PTR(display),
                .key_of = key_of,
                .result = "pending",
        };
        run->n++;
        return 0;
}

int run_add_url(Run *run, FetchKind kind, const char *url) {
        return run_add(run, run->n, kind, url, 0);
}

static int run_add_name(Run *run, FetchKind kind, const char *prefix, const char *suffix) {
        _cleanup_(freep) char *name = strjoin(prefix, suffix, NULL);
        return name ? run_add(run, run->n, kind, name, 0) : -ENOMEM;
}

static int run_add_cfg_files(Run *run) {
        char common[32];

        snprintf(common, sizeof(common), "y%012u.cfg", 0U);
        /* y0000000000<model>.cfg: the model number fills the last digits */
        size_t ml = strlen(run->s.model);
        if (ml > 0 && ml <= 3)
                memcpy(common + 13 - ml, run->s.model, ml);
        int r = run_add(run, run->n, FETCH_COMMON, common, 0);
        if (r >= 0 && run->s.mac[0])
                r = run_add_name(run, FETCH_MAC, run->s.mac, ".cfg");
        return r;
}

/* Publish the files' progress as the Files property. */
static int publish_files(Provision *pv, Run *run) {
        ProvisionFileInfo *files = calloc(run->n + 1, sizeof(ProvisionFileInfo));
        if (!files)
                return -ENOMEM;
        for (size_t i = 0; i < run->n; i++) {
                files[i] = (ProvisionFileInfo) {
                        .url = strdup(run->fetches[i].display),
                        .result = strdup(run->fetches[i].result),
                        .detail = strdup(strempty(run->fetches[i].detail)),
                };
                if (!files[i].url || !files[i].result || !files[i].detail) {
                        provision_files_free(files, i + 1);
                        return -ENOMEM;
                }
        }
        provision_files_free(pv->files, pv->n_files);
        pv->files = files;
        pv->n_files = run->n;
        provision_bus_changed(pv->provd, "Files", NULL);
        return 0;
}

_printf_(3, 4) static void fetch_set(Fetch *f, const char *result, const char *format, ...) {
        va_list ap;
        char *d = NULL;

        va_start(ap, format);
        if (vasprintf(&d, format, ap) < 0)
                d = NULL;
        va_end(ap);
        f->result = result;
        free(f->detail);
        f->detail = d;
}

/* ---- fetching ---- */

static void request_options(Provision *pv, Run *run, const Fetch *f, const CacheEntry *cached,
                            HttpRequestOptions *o) {
        bool custom = run->custom_cas;
        *o = (HttpRequestOptions) {
                .url = f->url,
                .username = run->s.username,
                .password = run->s.password,
                .user_agent = run->s.user_agent,
                .if_none_match = cached && !run->force ? cached->etag : NULL,
                .if_modified_since = cached && !run->force ? cached->last_modified : NULL,
                .verify_peer = run->s.verify_peer,
                .verify_host = run->s.verify_host,
                .ca_set = run->s.ca_set == HTTP_CA_BOTH && !custom ? HTTP_CA_SYSTEM : run->s.ca_set,
                .ca_dir = pv->ca_dir,
                .ca_file = pv->ca_file,
                .client_cert = run->s.dev_cert && access(pv->device_cert, R_OK) >= 0 ? pv->device_cert : NULL,
                .connect_timeout_s = CONNECT_TIMEOUT_S,
                .stall_timeout_s = run->s.stall_s,
                .total_timeout_s = TOTAL_TIMEOUT_S,
                .max_size = f->kind == FETCH_KEY ? KEY_FILE_MAX : f->kind <= FETCH_COMMON_BOOT ? BOOT_MAX : CFG_FILE_MAX,
        };
}

static void on_fetched(HttpRequest *req, int error, HttpResponse *resp, const char *reason, void *userdata);

static int fetch_start(Provision *pv, Run *run, Fetch *f) {
        _cleanup_(cache_entry_done) CacheEntry cached = {};
        HttpRequestOptions o;

        if (run->s.ca_set == HTTP_CA_CUSTOM && run->s.verify_peer && startswith(f->url, "https:") && !run->custom_cas)
                return run_fail(pv, -ENOKEY, false, "%s: certificate not trusted (unknown CA): no custom CA installed "
                                "and static.security.ca_cert = 1 trusts no other", f->display);
        if (!run->force && f->kind != FETCH_SERVER_CERT) /* a private key is not kept */
                (void) cache_load(pv->cache_dir, f->url, CFG_FILE_MAX, &cached);
        request_options(pv, run, f, cached.body ? &cached : NULL, &o);
        f->result = "fetching";
        log_debug("Fetching %s", f->display);
        int r = http_get(pv->http, &o, on_fetched, pv, &run->req);
        if (r < 0)
                return run_fail(pv, r, false, "%s: cannot start the download: %s", f->display, strerror(-r));
        (void) publish_files(pv, run);
        return 0;
}

static int boot_found(Provision *pv, Run *run, size_t i) {
        _cleanup_(boot_file_done) BootFile b = {};
        Fetch *f = &run->fetches[i];
        char reason[256];

        if (!cfgcrypt_is_text(f->body, f->size))
                return run_fail(pv, -EBADMSG, false, "%s: not a boot file (not text)", f->name);
        int r = boot_file_parse(f->body, f->size, &b, reason, sizeof(reason));
        if (r < 0)
                return run_fail(pv, r, false, "%s: %s", f->name, reason);
        run->boot_mode = true;
        run->overwrite = b.overwrite;
        for (size_t j = 0; b.includes && b.includes[j]; j++) {
                r = run_add(run, run->n, FETCH_INCLUDE, b.includes[j], 0);
                if (r < 0)
                        return run_fail(pv, r, false, "%s: include:config %s: %s", run->fetches[i].name,
                                        b.includes[j], r == -E2BIG ? "too many files" : strerror(-r));
        }
        f = &run->fetches[i]; /* run_add moved them */
        fetch_set(f, f->result, "%s, %zu include(s)%s", strempty(f->detail), strv_length(b.includes),
                  b.overwrite ? ", overwrite_mode" : "");
        return 0;
}

/* A file arrived (or is missing, for optional ones): what comes next. */
static int fetch_next_files(Provision *pv, Run *run, size_t i) {
        Fetch *f = &run->fetches[i];

        switch (f->kind) {
        case FETCH_MAC_BOOT:
                if (f->found)
                        return boot_found(pv, run, i);
                return run_add_name(run, FETCH_COMMON_BOOT, "y000000000000", ".boot");
        case FETCH_COMMON_BOOT:
                if (f->found)
                        return boot_found(pv, run, i);
                return run_add_cfg_files(run);
        case FETCH_COMMON:
        case FETCH_MAC:
        case FETCH_INCLUDE:
                if (!f->found && f->kind == FETCH_INCLUDE)
                        return run_fail(pv, -ENOENT, false, "%s: %s (listed in the boot file)", f->display,
                                        f->detail);
                if (f->found && run->s.key_in_file && cfgcrypt_detect(f->body, f->size) == CFGCRYPT_FORMAT_LEGACY) {
                        _cleanup_(freep) char *key = NULL;
                        int r = cfgcrypt_key_file_name(f->url, &key);
                        return r < 0 ? r : run_add(run, i + 1, FETCH_KEY, key, i);
                }
                return 0;
        case FETCH_KEY:
                if (!f->found)
                        return run_fail(pv, -ENOENT, false, "%s: %s (the key file of %s)", f->display, f->detail,
                                        run->fetches[f->key_of].name);
                return 0;
        case FETCH_LOCAL:
                return 0; /* optional */
        case FETCH_TRUSTED_CERTS:
        case FETCH_SERVER_CERT:
                return provision_certs_fetched(pv, run, f);
        case _FETCH_KIND_MAX:
                break;
        }
        return -EINVAL;
}

/* A limit on what a server can make a run hold in memory. */
static int count_bytes(Provision *pv, Run *run, Fetch *f) {
        run->bytes += f->size;
        if (run->bytes > RUN_BYTES_MAX)
                return run_fail(pv, -EFBIG, false, "%s: the files of a run together are larger than %u bytes",
                                f->display, RUN_BYTES_MAX);
        return 0;
}

/* Transient failures (network, overload) are retried by the schedule; others need a person. */
static int http_status(Provision *pv, Run *run, Fetch *f, HttpResponse *resp) {
        _cleanup_(cache_entry_done) CacheEntry cached = {};

        if (resp->status == 304) {
                if (cache_load(pv->cache_dir, f->url, CFG_FILE_MAX, &cached) < 0)
                        return run_fail(pv, -EBADMSG, true, "%s: HTTP 304 but no copy is kept", f->display);
                f->body = TAKE_PTR(cached.body);
                f->size = cached.size;
                f->found = f->not_modified = true;
                fetch_set(f, "not-modified", "HTTP 304, %zu bytes kept", f->size);
                return count_bytes(pv, run, f);
        }
        bool http = startswith(f->url, "http:") || startswith(f->url, "https:");
        if (resp->status >= 200 && resp->status < 300) {
                f->body = TAKE_PTR(resp->body);
                f->size = resp->size;
                f->found = true;
                if (http)
                        fetch_set(f, "downloaded", "HTTP %ld, %zu bytes", resp->status, f->size);
                else
                        fetch_set(f, "downloaded", "%zu bytes", f->size);
                return count_bytes(pv, run, f);
        }
        if (resp->status == 404 || resp->status == 410) {
                if (http)
                        fetch_set(f, "missing", "HTTP %ld", resp->status);
                else /* FTP, TFTP: no status, the file is not there */
                        fetch_set(f, "missing", "not found");
                return 0;
        }
        run->retry_after_s = resp->retry_after_s;
        bool transient = resp->status >= 500 || resp->status == 429 || resp->status == 408;
        fetch_set(f, "failed", "HTTP %ld", resp->status);
        return run_fail(pv, -EIO, transient, "%s: HTTP %ld%s", f->display, resp->status,
                        resp->status == 401 || resp->status == 403 ?
                        " (check static.auto_provision.server.username and .password)" : "");
}

static bool error_is_transient(int error) {
        switch (-error) {
        case ETIMEDOUT:
        case ECONNREFUSED:
        case EHOSTUNREACH:
        case ECONNRESET:
        case EPIPE:
        case EPROTO:
        case EIO:
                return true;
        default:
                return false;
        }
}

static void on_fetched(HttpRequest *req, int error, HttpResponse *resp, const char *reason, void *userdata) {
        Provision *pv = userdata;
        Run *run = pv->run;
        size_t i = run->current;
        Fetch *f = &run->fetches[i];
        int r;

        run->req = NULL;
        if (error < 0) {
                fetch_set(f, "failed", "%s", reason);
                (void) run_fail(pv, error, error_is_transient(error), "%s: %s", f->display, reason);
                return;
        }
        r = http_status(pv, run, f, resp);
        if (r < 0)
                return;
        log_debug("%s: %s (%s)", f->display, f->result, strempty(f->detail));
        if (resp->status >= 200 && resp->status < 300 && f->kind != FETCH_SERVER_CERT) {
                r = cache_store(pv->cache_dir, f->url, resp->etag, resp->last_modified, f->body, f->size);
                if (r < 0)
                        log_warning_errno(r, "Failed to keep a copy of %s, ignoring: %m", f->display);
        }
        r = fetch_next_files(pv, run, i);
        if (!pv->run)
                return; /* failed */
        if (r < 0) {
                (void) run_fail(pv, r, false, "%s: %s", run->fetches[i].name, strerror(-r));
                return;
        }
        run->current++;
        run_fetch_next(pv);
}

/* After the other files: <mac>-local.cfg, when it is synced. 1 when added. */
static int run_add_local(Run *run, Provision *pv) {
        _cleanup_(freep) char *url = NULL;

        for (size_t i = 0; i < run->n; i++)
                if (run->fetches[i].kind == FETCH_LOCAL)
                        return 0;
        int r = provision_local_url(pv, run, &url);
        if (r >= 0)
                r = run_add(run, run->n, FETCH_LOCAL, url, 0);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot fetch the local changes file, ignoring: %m");
        return r >= 0;
}

void run_fetch_next(Provision *pv) {
        Run *run = pv->run;

        if (run->current < run->n || run_add_local(run, pv) > 0) {
                (void) fetch_start(pv, run, &run->fetches[run->current]);
                return;
        }
        (void) publish_files(pv, run);
        run_apply(pv);
}

/* ---- starting ---- */

static int run_new(Provision *pv, const char *url, bool force, ProvisionTrigger trigger, Run **ret,
                   char *reason, size_t reason_size) {
        _cleanup_(freep) char *server = NULL;
        const char *source = NULL;
        Run *run = calloc(1, sizeof(Run));
        if (!run)
                return -ENOMEM;
        *run = (Run) { .force = force, .trigger = trigger };

        int r = settings_read(pv, &run->s);
        if (r >= 0) {
                r = find_server(pv, &run->s, url, &server, &source);
                if (r == -ENOENT)
                        snprintf(reason, reason_size, "No provisioning server: set static.auto_provision.server.url "
                                 "or give a URL");
        }
        if (r >= 0)
                r = provision_url_directory(server, &run->base);
        if (r >= 0)
                r = run->s.mac[0] ? run_add_name(run, FETCH_MAC_BOOT, run->s.mac, ".boot")
                                  : run_add_name(run, FETCH_COMMON_BOOT, "y000000000000", ".boot");
        if (r < 0) {
                run_free(run);
                return r;
        }
        run->source = source;
        *ret = run;
        return 0;
}

int provision_start_run(Provision *pv, const char *url, bool force, ProvisionTrigger trigger, char *reason,
                        size_t reason_size) {
        Run *run = NULL;

        if (pv->run)
                return -EINPROGRESS;
        int r = run_new(pv, url, force, trigger, &run, reason, reason_size);
        if (r < 0)
                return r;

        _cleanup_(freep) char *server = provision_url_redact(run->base);
        if (!server) {
                run_free(run);
                return -ENOMEM;
        }
        run->custom_cas = access(pv->ca_file, R_OK) >= 0; /* the store keeps it: there when it holds some */
        free(pv->server);
        pv->server = TAKE_PTR(server);
        pv->run = run;
        pv->state = PROVISION_STATE_FETCHING;
        provision_rollback_refresh(pv);
        log_info("Provisioning from %s (%s)%s%s", pv->server, run->source, run->s.mac[0] ? ", MAC " : ", no MAC",
                 run->s.mac);
        provision_bus_changed(pv->provd, "State", "Server", NULL);
        run_fetch_next(pv);
        return 0;
}

int provision_start(Provision *pv, const char *url, bool force, char *reason, size_t reason_size) {
        return provision_start_run(pv, url, force, PROVISION_TRIGGER_REQUEST, reason, reason_size);
}

int provision_cancel(Provision *pv) {
        if (!pv->run)
                return -ENOENT;
        pv->check_sync_queued = false; /* stop means stop: no run follows */
        return run_fail(pv, -ECANCELED, false, "cancelled");
}

/* ---- the end of a run ---- */

void provision_files_free(ProvisionFileInfo *files, size_t n) {
        for (size_t i = 0; files && i < n; i++) {
                free(files[i].url);
                free(files[i].result);
                free(files[i].detail);
        }
        free(files);
}

void run_end(Provision *pv, ProvisionResult result, const char *error) {
        Run *run = pv->run;
        char *e = strdup(strempty(error));

        if (e) {
                free(pv->last_error);
                pv->last_error = e;
        }
        if (run)
                (void) publish_files(pv, run);
        pv->last_result = result;
        pv->last_time = provision_now_realtime();
        pv->state = result == PROVISION_RESULT_FAILED ? PROVISION_STATE_FAILED : PROVISION_STATE_IDLE;
        pv->run = NULL;
        provision_bus_changed(pv->provd, "State", "LastResult", "LastError", "LastTime", "CanRollback", NULL);
        provision_run_ended(pv, run ? run->trigger : PROVISION_TRIGGER_REQUEST, result,
                            run ? run->transient : false, run ? run->retry_after_s : 0);
        run_free(run);
}

int run_fail(Provision *pv, int error, bool transient, const char *format, ...) {
        _cleanup_(freep) char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (pv->run)
                pv->run->transient = transient;
        log_error("Provisioning failed: %s", message ?: strerror(-error));
        run_end(pv, PROVISION_RESULT_FAILED, message ?: strerror(-error));
        return error;
}

/* ---- the object ---- */

int provision_new(Provd *p, const char *state_dir, Provision **ret) {
        _cleanup_(provision_freep) Provision *pv = calloc(1, sizeof(Provision));
        if (!pv)
                return -ENOMEM;
        pv->provd = p;
        pv->dir = strjoin(state_dir, "/provision", NULL);
        pv->cache_dir = strjoin(state_dir, "/provision/cache", NULL);
        pv->ca_dir = strjoin(state_dir, "/" CERTSTORE_CA_DIR, NULL);
        pv->ca_file = strjoin(state_dir, "/" CERTSTORE_CA_BUNDLE, NULL);
        pv->device_cert = strjoin(state_dir, "/" CERTSTORE_DEVICE_TLS, NULL);
        if (!pv->dir || !pv->cache_dir || !pv->ca_dir || !pv->ca_file || !pv->device_cert)
                return -ENOMEM;
        int r = mkdir_p(pv->cache_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", pv->cache_dir);
        r = http_client_new(p->event, &pv->http);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the HTTP client: %m");
        r = provision_local_new(pv, &pv->local);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pv);
        return 0;
}

Provision *provision_free(Provision *pv) {
        if (!pv)
                return NULL;
        run_free(pv->run);
        provision_schedule_done(pv);
        provision_pnp_free(pv);
        provision_rollback_done(pv);
        provision_local_free(pv->local);
        http_client_free(pv->http);
        provision_files_free(pv->files, pv->n_files);
        free(pv->last_error);
        free(pv->server);
        free(pv->dir);
        free(pv->cache_dir);
        free(pv->ca_dir);
        free(pv->ca_file);
        free(pv->device_cert);
        free(pv);
        return NULL;
}

ProvisionState provision_get_state(Provision *pv) {
        return pv->state;
}

ProvisionResult provision_get_last_result(Provision *pv) {
        return pv->last_result;
}

const char *provision_get_last_error(Provision *pv) {
        return strempty(pv->last_error);
}

uint64_t provision_get_last_time(Provision *pv) {
        return pv->last_time;
}

uint64_t provision_get_next_time(Provision *pv) {
        return pv->next_time;
}

const char *provision_get_server(Provision *pv) {
        return strempty(pv->server);
}

const ProvisionFileInfo *provision_get_files(Provision *pv, size_t *ret_n) {
        *ret_n = pv->n_files;
        return pv->files;
}
