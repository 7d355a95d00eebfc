/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by provision.c (runs), provision-apply.c (checking and applying) and
 * provision-schedule.c (when runs start). Not for other files. */

#include <systemd/sd-event.h>

#include "cfg-parse.h"
#include "curl-glue.h"
#include "provision-files.h"
#include "provision.h"

typedef enum ProvisionTrigger {
        PROVISION_TRIGGER_REQUEST,  /* Start() */
        PROVISION_TRIGGER_POWER_ON,
        PROVISION_TRIGGER_SCHEDULE, /* repeat, weekly, retry */
        PROVISION_TRIGGER_CHECK_SYNC, /* a registrar's NOTIFY check-sync, now or after the run going on */
        _PROVISION_TRIGGER_MAX,
} ProvisionTrigger;

/* What a run needs of the configuration, copied when it starts. */
typedef struct Settings {
        char *url;           /* static.auto_provision.server.url, may be "" */
        char *username;
        char *password;      /* secret */
        char *aes_com;       /* secret; NULL: none */
        char *aes_mac;       /* secret; falls back to aes_com */
        bool key_in_file;
        bool encrypted_only; /* update_file_mode */
        char *rsa_key_file;
        char mac[PROVISION_MAC_LEN + 1]; /* "" when unknown */
        char *model;
        bool verify_peer, verify_host, dev_cert;
        HttpCaSet ca_set;
        unsigned stall_s;
        char *user_agent;
} Settings;

typedef enum FetchKind {
        FETCH_MAC_BOOT,
        FETCH_COMMON_BOOT,
        FETCH_COMMON,
        FETCH_MAC,
        FETCH_INCLUDE,
        FETCH_KEY,
        FETCH_LOCAL,        /* <mac>-local.cfg (provision-local.c) */
        FETCH_TRUSTED_CERTS, /* static.trusted_certificates.url (provision-certs.c) */
        FETCH_SERVER_CERT,  /* static.server_certificates.url: never cached, holds a private key */
        _FETCH_KIND_MAX,
} FetchKind;

typedef struct Fetch {
        FetchKind kind;
        char *url;
        char *name;         /* the file name, for messages: "y000000000000.cfg" */
        char *display;      /* the URL without user info */
        size_t key_of;      /* FETCH_KEY: the index of the file it unlocks */
        bool found;
        bool not_modified;
        char *body;         /* as downloaded */
        size_t size;
        const char *result; /* for Files */
        char *detail;
        CfgFile *cfg;       /* parsed, once decrypted */
} Fetch;

typedef struct Run {
        Settings s;
        char *base;         /* the server's directory URL, ending in '/' */
        const char *source; /* where the server came from, for logs */
        ProvisionTrigger trigger;
        bool force;
        bool boot_mode;
        bool overwrite;     /* boot mode with overwrite_mode = 1 */
        Fetch *fetches;
        size_t n;
        size_t current;     /* being fetched */
        size_t bytes;       /* downloaded so far (a 304 counts what was kept) */
        HttpRequest *req;
        bool custom_cas;    /* ca_file holds some */
        bool transient;     /* failed for a reason that may pass */
        uint64_t retry_after_s;
} Run;

#define PROVISION_ACCOUNTS_MAX 16U

typedef struct RollbackAccount {
        char state[16];  /* "registered", "failed", ... ("" unknown) */
        char error[128]; /* its LastError */
} RollbackAccount;

struct Provision {
        Provd *provd;
        char *dir;          /* <state>/provision */
        char *cache_dir;
        char *ca_dir;       /* <state>/certs/ca: custom CAs */
        char *ca_file;      /* the same in one file for libcurl (CERTSTORE_CA_BUNDLE), there if any */
        char *device_cert;  /* certificate and key for mutual TLS in one file (CERTSTORE_DEVICE_TLS) */
        HttpClient *http;
        Run *run;

        ProvisionState state;
        ProvisionResult last_result;
        char *last_error;
        uint64_t last_time;
        char *server;
        ProvisionFileInfo *files;
        size_t n_files;

        /* schedule (provision-schedule.c) */
        sd_event_source *timer;
        uint64_t next_time;       /* CLOCK_REALTIME usec, 0 none */
        uint64_t retry_at;        /* likewise */
        unsigned n_retries;
        uint64_t repeat_at;
        uint64_t weekly_at;
        time_t weekly_end;        /* the end of the window weekly_at lies in */
        time_t weekly_done_until; /* the end of the window a weekly run happened in */
        bool powered_on;
        bool check_sync_queued;   /* a check-sync came during the run going on: one more run after it */
        sd_event_source *queued_run; /* defer: starts that run once the current one has ended */

        /* rollback (provision-rollback.c) */
        int sip_match;            /* PropertiesChanged of sipd's accounts */
        RollbackAccount accounts[PROVISION_ACCOUNTS_MAX + 1]; /* [N]: account N, as sipd says */
        bool watched[PROVISION_ACCOUNTS_MAX + 1]; /* registered when the last run applied */
        sd_event_source *watch_timer; /* the end of the window after an apply */
        char *applied_common, *applied_mac; /* what that run applied */
        char *refused_common, *refused_mac; /* what was rolled back: not applied again */

        struct ProvisionLocal *local; /* <mac>-local.cfg (provision-local.c) */

        /* PnP (provision-pnp.c) */
        struct ProvisionPnp *pnp;     /* the discovery going on, or NULL */
        char *pnp_url;                /* what a PnP server gave at power-on, or NULL */
};

int provision_start_run(Provision *pv, const char *url, bool force, ProvisionTrigger trigger, char *reason,
                        size_t reason_size);
/* End the run: failed with a message (logged) naming the file and reason. Returns error. */
int run_fail(Provision *pv, int error, bool transient, const char *format, ...) _printf_(4, 5);
void run_end(Provision *pv, ProvisionResult result, const char *error);
/* Fetch what is left to fetch, then run_apply(). */
void run_fetch_next(Provision *pv);
/* Add a file to the end of the run (a URL, or a name relative to the server). */
int run_add_url(Run *run, FetchKind kind, const char *url);
void provision_files_free(ProvisionFileInfo *files, size_t n);

/* provision-apply.c: every file has arrived; decrypt, parse, check, compose, apply. */
void run_apply(Provision *pv);

/* provision-certs.c: static.trusted_certificates.* and static.server_certificates.* of the
 * composed layers. prepare: 1 when their files are being fetched first (run_apply() comes
 * again), 0 when all are here and good, < 0 when the run failed. install: after the other
 * checks, before the configuration is applied, in a copy of the store made durable; 1 when
 * it changed, < 0 failed. commit: after the configuration was applied (ok) or was not, when
 * install returned 1: the copy becomes the store, or is dropped. */
int provision_certs_prepare(Provision *pv, Run *run, const char *common, const char *mac);
bool provision_certs_wanted(Provision *pv, const char *common, const char *mac);
int provision_certs_install(Provision *pv, Run *run, const char *common, const char *mac);
void provision_certs_commit(Provision *pv, bool ok);
/* A certificate file arrived (or is missing). */
int provision_certs_fetched(Provision *pv, Run *run, Fetch *f);

/* Rewrite the record of the applied files from the store's provisioned layers. */
int provision_applied_from_store(Provision *pv);

/* provision-rollback.c */
void provision_rollback_done(Provision *pv);
/* A run applied these layers: watch the accounts registered now for the window. */
void provision_rollback_watch(Provision *pv, const char *common, const char *mac);
/* True when these layers are the ones a rollback took away. */
bool provision_rollback_refused(Provision *pv, const char *common, const char *mac);
/* Ask sipd for its accounts' states (when a run starts). */
void provision_rollback_refresh(Provision *pv);

/* provision-pnp.c: at power-on with pnp_enable = 1, ask the LAN for the server; 1: started,
 * provision_power_on_run() follows when it is done; 0: PnP is off; < 0: failed (logged). */
typedef struct ProvisionPnp ProvisionPnp;
int provision_pnp_start(Provision *pv);
void provision_pnp_free(Provision *pv);

/* provision-schedule.c */
/* The power-on run (when power_on = 1) and the schedule: after PnP, if any. */
void provision_power_on_run(Provision *pv);
void provision_run_ended(Provision *pv, ProvisionTrigger trigger, ProvisionResult result, bool transient,
                         uint64_t retry_after_s);
void provision_schedule_done(Provision *pv);
uint64_t provision_now_realtime(void);
