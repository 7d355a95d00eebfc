/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates by provisioning, Yealink's keys:
 *
 *   static.trusted_certificates.url     a PEM file of one or more CAs, installed as custom CAs
 *   static.trusted_certificates.delete  http://localhost/all: remove every custom CA (before the url's go in)
 *   static.server_certificates.url      one PEM file with the device certificate, its chain and its key
 *   static.server_certificates.delete   http://localhost/all: remove the device certificate
 *
 * The values are those of the layers the run composed (the MAC file's over the common
 * one's). The files are fetched as part of the run, after the configuration files and
 * through the same trusted set, and checked with everything else: the store changes only
 * when the whole run is good, just before the configuration is applied. The server
 * certificate's file holds a private key: it is not cached, and never logged.
 */
#include <strings.h>

#include "certstore.h"
#include "log.h"
#include "provd.h"
#include "provision-internal.h"
#include "util.h"

#define DELETE_ALL "http://localhost/all"

typedef struct Wanted {
        const char *trusted_url;        /* point into the parsed layers */
        const char *server_url;
        bool delete_cas, delete_device;
        CfgFile *common, *mac;
} Wanted;

static void wanted_done(Wanted *w) {
        cfg_file_free(w->common);
        cfg_file_free(w->mac);
        *w = (Wanted) {};
}

/* The MAC layer's value over the common one's; NULL when unset or empty (%NULL%). */
static const char *value_of(const Wanted *w, const char *key) {
        const char *v = w->mac ? cfg_file_get(w->mac, key) : NULL;

        if (!v && w->common)
                v = cfg_file_get(w->common, key);
        return v && *v ? v : NULL;
}

static bool delete_all(const char *key, const char *v) {
        if (!v)
                return false;
        if (strcasecmp(v, DELETE_ALL) == 0)
                return true;
        log_warning("%s = %s: only " DELETE_ALL " deletes, ignoring", key, v);
        return false;
}

static int wanted_read(const char *common, const char *mac, Wanted *ret) {
        Wanted w = {};

        int r = cfg_parse("provisioned common layer", common, strlen(common), &w.common, NULL);
        if (r >= 0)
                r = cfg_parse("provisioned MAC layer", mac, strlen(mac), &w.mac, NULL);
        if (r < 0) {
                wanted_done(&w);
                return r;
        }
        w.trusted_url = value_of(&w, "static.trusted_certificates.url");
        w.server_url = value_of(&w, "static.server_certificates.url");
        w.delete_cas = delete_all("static.trusted_certificates.delete",
                                  value_of(&w, "static.trusted_certificates.delete"));
        w.delete_device = delete_all("static.server_certificates.delete",
                                     value_of(&w, "static.server_certificates.delete"));
        *ret = w;
        return 0;
}

static bool wanted_any(const Wanted *w) {
        return w->trusted_url || w->server_url || w->delete_cas || w->delete_device;
}

static Fetch *find_fetch(Run *run, FetchKind kind) {
        for (size_t i = 0; i < run->n; i++)
                if (run->fetches[i].kind == kind)
                        return &run->fetches[i];
        return NULL;
}

static const char *key_of(FetchKind kind) {
        return kind == FETCH_SERVER_CERT ? "static.server_certificates.url" : "static.trusted_certificates.url";
}

int provision_certs_fetched(Provision *pv, Run *run, Fetch *f) {
        if (!f->found)
                return run_fail(pv, -ENOENT, false, "%s: %s (%s)", f->display, strempty(f->detail), key_of(f->kind));
        return 0;
}

/* A file of the run's certificates, as the store would take it. */
static int check(Provision *pv, Fetch *f) {
        char reason[256] = "";
        unsigned n = 0;
        int r;

        if (f->kind == FETCH_SERVER_CERT)
                r = certstore_check_device(f->body, f->size, f->body, f->size, reason, sizeof(reason));
        else
                r = certstore_check_ca(f->body, f->size, &n, reason, sizeof(reason));
        if (r < 0) {
                f->result = "failed";
                return run_fail(pv, r, false, "%s: %s (%s)", f->name, reason[0] ? reason : strerror(-r),
                                key_of(f->kind));
        }
        char *d = NULL;
        if (f->kind == FETCH_SERVER_CERT)
                r = asprintf(&d, "%s, a device certificate and its key", strempty(f->detail));
        else
                r = asprintf(&d, "%s, %u CA certificate(s)", strempty(f->detail), n);
        if (r >= 0) {
                free(f->detail);
                f->detail = d;
        }
        return 0;
}

/* Add the file of url to the run unless it is there. 1 when added. */
static int want_file(Provision *pv, Run *run, FetchKind kind, const char *url) {
        if (!url || find_fetch(run, kind))
                return 0;
        int r = run_add_url(run, kind, url);
        if (r < 0)
                return run_fail(pv, r, false, "%s = %s: %s", key_of(kind), url,
                                r == -E2BIG ? "too many files in one run" : strerror(-r));
        return 1;
}

int provision_certs_prepare(Provision *pv, Run *run, const char *common, const char *mac) {
        _cleanup_(wanted_done) Wanted w = {};

        int r = wanted_read(common, mac, &w);
        if (r < 0)
                return run_fail(pv, r, false, "Cannot read the provisioned certificate settings: %s", strerror(-r));
        int a = want_file(pv, run, FETCH_TRUSTED_CERTS, w.trusted_url);
        if (a < 0)
                return a;
        int b = want_file(pv, run, FETCH_SERVER_CERT, w.server_url);
        if (b < 0)
                return b;
        if (a > 0 || b > 0) {
                pv->state = PROVISION_STATE_FETCHING;
                provision_bus_changed(pv->provd, "State", NULL);
                run_fetch_next(pv);
                return 1;
        }
        for (size_t i = 0; i < run->n; i++) {
                Fetch *f = &run->fetches[i];
                if ((f->kind == FETCH_TRUSTED_CERTS && w.trusted_url) || (f->kind == FETCH_SERVER_CERT && w.server_url)) {
                        r = check(pv, f);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

bool provision_certs_wanted(Provision *pv, const char *common, const char *mac) {
        _cleanup_(wanted_done) Wanted w = {};

        return wanted_read(common, mac, &w) < 0 || wanted_any(&w);
}

static int install_cas(Provision *pv, Fetch *f) {
        char reason[256] = "";

        int r = certstore_install_ca(pv->provd->certs, "", f->body, f->size, NULL, reason, sizeof(reason));
        if (r < 0)
                return run_fail(pv, r, false, "%s: cannot install the CAs: %s (static.trusted_certificates.url)",
                                f->name, reason[0] ? reason : strerror(-r));
        return r == 0;
}

static int install_device(Provision *pv, Fetch *f) {
        char reason[256] = "";

        int r = certstore_install_device(pv->provd->certs, f->body, f->size, f->body, f->size, reason,
                                         sizeof(reason));
        if (r < 0)
                return run_fail(pv, r, false, "%s: cannot install the device certificate: %s "
                                "(static.server_certificates.url)", f->name, reason[0] ? reason : strerror(-r));
        return r == 0;
}

/* The deletions, then the files. 1 when the store changed. */
static int apply(Provision *pv, Run *run, const Wanted *w) {
        CertStore *s = pv->provd->certs;
        Fetch *trusted = w->trusted_url ? find_fetch(run, FETCH_TRUSTED_CERTS) : NULL;
        Fetch *server = w->server_url ? find_fetch(run, FETCH_SERVER_CERT) : NULL;
        unsigned n = 0;
        int changed = 0, r;

        /* What can still fail for want of room fails here, before anything changes (after a
         * delete at most the file's own CA is left, so there is room then). */
        if (trusted && !w->delete_cas) {
                char reason[256] = "";
                r = certstore_check_room_ca(s, trusted->body, trusted->size, reason, sizeof(reason));
                if (r < 0)
                        return run_fail(pv, r, false, "%s: cannot install the CAs: %s "
                                        "(static.trusted_certificates.url)", trusted->name,
                                        reason[0] ? reason : strerror(-r));
        }
        if (w->delete_cas) {
                r = certstore_remove_all_ca(s, trusted ? trusted->body : NULL, trusted ? trusted->size : 0, &n);
                if (r < 0)
                        return run_fail(pv, r, false, "static.trusted_certificates.delete: %s", strerror(-r));
                changed |= n > 0;
        }
        if (w->delete_device) {
                r = certstore_remove_device(s);
                if (r < 0 && r != -ENOENT)
                        return run_fail(pv, r, false, "static.server_certificates.delete: %s", strerror(-r));
                changed |= r >= 0;
        }
        if (trusted && (r = install_cas(pv, trusted)) != 0) {
                if (r < 0)
                        return r;
                changed = 1;
        }
        if (server && (r = install_device(pv, server)) != 0) {
                if (r < 0)
                        return r;
                changed = 1;
        }
        return changed;
}

int provision_certs_install(Provision *pv, Run *run, const char *common, const char *mac) {
        _cleanup_(wanted_done) Wanted w = {};
        CertStore *s = pv->provd->certs;

        if (!s)
                return 0;
        int r = wanted_read(common, mac, &w);
        if (r < 0)
                return run_fail(pv, r, false, "Cannot read the provisioned certificate settings: %s", strerror(-r));
        if (!wanted_any(&w))
                return 0;
        /* in a copy of the store, made current with the configuration (provision_certs_commit()) */
        r = certstore_begin(s);
        if (r < 0)
                return run_fail(pv, r, false, "Cannot change the certificate store: %s", strerror(-r));
        r = apply(pv, run, &w);
        if (r > 0) {
                int k = certstore_prepare(s, store_generation(pv->provd->store));
                if (k < 0)
                        r = run_fail(pv, k, false, "Cannot write the new certificates: %s", strerror(-k));
        }
        if (r <= 0)
                certstore_abort(s);
        return r;
}

void provision_certs_commit(Provision *pv, bool ok) {
        CertStore *s = pv->provd->certs;

        if (!ok) {
                certstore_abort(s);
                return;
        }
        /* the configuration is applied: should this fail, provd's next start finishes it */
        if (certstore_commit(s) < 0)
                return;
        log_info("Provisioning changed the certificates");
        certstore_bus_changed(pv->provd);
}
