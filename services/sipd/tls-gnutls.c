/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sofia-sip's internal TLS layer, implemented with GnuTLS.
 *
 * sofia's TLS transport (tport_type_tls.c) calls a dozen functions of its
 * TLS layer (tport_tls.c, OpenSSL) through the dynamic symbol table. This file
 * defines the same functions; sipd exports them, so the dynamic linker binds
 * sofia's calls here. Everything about sofia's internals lives in this file
 * and is described in doc/sofia-tls-abi.md: the contract of each function and
 * the part of sofia's structure layouts we read and write, as found in Debian's
 * source package 1.12.11+20110422.1+1e14eea~dfsg-6. The layouts are checked at
 * run time against the library (version, sizes from its own tables, pointers
 * only it can give); if they differ, TLS is refused, loudly, rather than
 * handed to sofia's OpenSSL code or run on a guessed layout.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <stddef.h>
#include <strings.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_strlst.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport.h>

#include "log.h"
#include "tls-gnutls.h"
#include "util.h"

#define SOFIA_ABI_NAME_VERSION "sofia-sip-1.12.11devel"
#ifndef SOFIA_TLS_DEB_VERSION /* set by meson from dpkg-query, checked at configure time */
#define SOFIA_TLS_DEB_VERSION "1.12.11+20110422.1+1e14eea~dfsg-6"
#endif

#define TLS_READ_BUFFER_SIZE 16384      /* one TLS record */
#define TLS_HANDSHAKE_TIMEOUT_MS 10000  /* a peer that never finishes the handshake */
#define TLS_MAX_SESSIONS 256            /* connections at once, both directions */
#define TLS_RETRIES 16                  /* non-fatal GnuTLS results (warning alerts) in a row */
#define TLS_N_ERRORS 16                 /* host:port entries remembered for sip_tls_last_error() */
#define TLS_PRIORITY "-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" /* appended to the system's default */

/* ---- sofia-sip's internals (tport_internal.h, tport_tls.h), our own mirror ---- */

typedef struct SofiaTportParams {
        unsigned tpp_mtu, tpp_idle, tpp_timeout, tpp_keepalive, tpp_pingpong;
        unsigned tpp_sigcomp_lifetime, tpp_thrpsize, tpp_thrprqsize, tpp_qsize, tpp_drop;
        int tpp_tos;
        unsigned tpp_conn_orient : 1, tpp_sdwn_error : 1, tpp_stun_server : 1, tpp_pong2ping : 1;
        unsigned : 0;
} SofiaTportParams;

typedef struct SofiaTportMaster SofiaTportMaster;

/* struct tport_s */
typedef struct SofiaTport {
        su_home_t tp_home[1];
        unsigned tp_accepted : 1;
        unsigned tp_conn_orient : 1;
        unsigned tp_has_connection : 1;
        unsigned tp_reusable : 1;
        unsigned tp_closed : 1;
        unsigned tp_recv_close : 2;
        unsigned tp_send_close : 2;
        unsigned tp_has_keepalive : 1;
        unsigned tp_has_stun_server : 1;
        unsigned tp_trunc : 1;
        unsigned tp_is_connected : 1;   /* written: handshake done */
        unsigned tp_verified : 1;       /* written: certificate verified */
        unsigned tp_error_reported : 1;
        unsigned tp_black : 1;
        unsigned : 0;
        void *tp_left, *tp_right, *tp_dad;
        SofiaTportMaster *tp_master;    /* read: for mr_root */
        void *tp_pri;
        void *tp_params;
        void *tp_magic;
        su_timer_t *tp_timer;
        su_time_t tp_ktime, tp_ptime;
        tp_name_t tp_name[1];
        su_strlst_t *tp_subjects;
        su_socket_t tp_socket;          /* read */
        int tp_index;                   /* read: root registration */
        int tp_events;                  /* written during the handshake */
        su_addrinfo_t tp_addrinfo[1];
        su_sockaddr_t tp_addr[1];
        void *tp_msg;
        const void *tp_rlogged;
        su_time_t tp_rtime;
        unsigned short tp_ping;
        unsigned short tp_reported;
        unsigned tp_plen, tp_pused;
        void *tp_pending, *tp_released;
        void **tp_queue;
        unsigned short tp_qhead;
        void *tp_unsent;
        size_t tp_unsentlen;
        void *tp_iov;
        size_t tp_iovlen;
        const void *tp_slogged;
        su_time_t tp_stime;
        void *tp_comp;
        struct {
                uint64_t sent_msgs, sent_errors, sent_bytes, sent_on_line;
                uint64_t recv_msgs, recv_errors, recv_bytes, recv_on_line;
        } tp_stats;
} SofiaTport;

/* struct tport_primary */
typedef struct SofiaTportPrimary {
        SofiaTport pri_primary[1];
        const void *pri_vtable;
        int pri_public;
        void *pri_next, *pri_open, *pri_closed;
        unsigned pri_updating : 1, pri_natted : 1, pri_has_tls : 1;
        unsigned : 0;
        void *pri_stun_handle;
        SofiaTportParams pri_params[1];
} SofiaTportPrimary;

/* struct tport_master, up to the root */
struct SofiaTportMaster {
        SofiaTport mr_master[1];
        int mr_stun_step_ready;
        void *mr_stack;
        const void *mr_tpac;
        int mr_log;
        su_root_t *mr_root;             /* read */
};

/* tport_tls_t and tport_tls_primary_t: only their sizes are used, as a check */
typedef struct SofiaTportTls {
        SofiaTport tlstp_tp[1];
        void *tlstp_context;
        char *tlstp_buffer;
} SofiaTportTls;

typedef struct SofiaTportTlsPrimary {
        SofiaTportPrimary tlspri_pri[1];
        void *tlspri_master;
} SofiaTportTlsPrimary;

/* The head of struct tport_vtable (tport_tls_vtable is exported data). */
typedef struct SofiaVtableHead {
        const char *vtp_name;
        int vtp_public;
        size_t vtp_pri_size;
        void *vtp_init_primary, *vtp_deinit_primary, *vtp_wakeup_pri, *vtp_connect;
        size_t vtp_secondary_size;
} SofiaVtableHead;

/* The same numbers as sofia's own headers compiled on x86-64 (doc/sofia-tls-abi.md);
 * on every architecture the run-time check compares with the library itself. */
#if defined(__x86_64__)
_Static_assert(sizeof(SofiaTport) == 488, "struct tport_s mirror");
_Static_assert(sizeof(SofiaTportPrimary) == 592, "struct tport_primary mirror");
_Static_assert(sizeof(SofiaTportTls) == 504, "tport_tls_t mirror");
_Static_assert(sizeof(SofiaTportTlsPrimary) == 600, "tport_tls_primary_t mirror");
_Static_assert(offsetof(SofiaTport, tp_name) == 128, "tport_s.tp_name");
_Static_assert(offsetof(SofiaTport, tp_socket) == 184, "tport_s.tp_socket");
_Static_assert(offsetof(SofiaTport, tp_index) == 188, "tport_s.tp_index");
_Static_assert(offsetof(SofiaTport, tp_events) == 192, "tport_s.tp_events");
_Static_assert(offsetof(struct SofiaTportMaster, mr_root) == 520, "tport_master.mr_root");
#endif

/* tls_issues_t (tport_tls.h): what sofia passes to tls_init_master(). */
typedef struct tls_issues_s {
        unsigned policy;
        unsigned verify_depth;
        unsigned verify_date;
        int configured;
        char *cert;
        char *key;
        char *passphrase;
        char *randFile;
        char *CAfile;
        char *CApath;
        char *cipher;
        int version;
} tls_issues_t;

/* Exported by libsofia-sip-ua, declared only in its internal headers. */
void tport_error_report(tport_t *self, int errcode, su_sockaddr_t const *addr);
void tport_hup_event(tport_t *self);
void tport_close(tport_t *self);
int tport_set_secondary_timer(tport_t *self);
int tport_has_queued(tport_t const *self);
void tport_send_event(tport_t *self);
int tport_wakeup(su_root_magic_t *magic, su_wait_t *w, tport_t *self);

/* ---- the functions sofia calls (tport_tls.h), defined here ---- */

typedef struct tls_s tls_t;

extern const char tls_version[];
tls_t *tls_init_master(tls_issues_t *ti);
tls_t *tls_init_secondary(tls_t *master, int sock, int accept);
void tls_free(tls_t *tls);
int tls_get_socket(tls_t *tls);
ssize_t tls_read(tls_t *tls);
void *tls_read_buffer(tls_t *tls, size_t n);
int tls_want_read(tls_t *tls, int events);
int tls_pending(tls_t const *tls);
int tls_connect(su_root_magic_t *magic, su_wait_t *w, tport_t *self);
ssize_t tls_write(tls_t *tls, void *buf, size_t size);
int tls_want_write(tls_t *tls, int events);
int tls_events(tls_t const *tls, int mask);

/* sofia_sip_has_tls points here: says who does TLS. */
const char tls_version[] = "GnuTLS (deskphone sipd)";

/* ---- our state ---- */

typedef struct TlsContext {
        unsigned n_ref;
        TlsVerifier *verifier;
        gnutls_certificate_credentials_t client_cred;
        gnutls_certificate_credentials_t server_cred;   /* NULL: no device certificate */
        gnutls_priority_t priority;
} TlsContext;

struct tls_s {
        bool master;
        TlsContext *ctx;
        gnutls_session_t session;
        int fd;
        bool accepted;
        bool handshake_started, handshake_done, write_blocked, layout_checked;
        bool verify_ran;
        TlsVerifyResult verify_result;
        char host[256];         /* outgoing: the URI host (SNI, name check); incoming: peer address */
        uint16_t port;
        char reason[128];       /* why the handshake failed */
        int read_events, write_events;
        uint8_t *read_buffer;
        size_t read_len;
        su_timer_t *timer;
        tport_t *tport;
        uint64_t created_usec, start_usec;
        tls_t *prev, *next;     /* sessions, by fd */
};

typedef struct TlsError {
        char host[256];
        uint16_t port;
        char reason[128];
        uint64_t when;
} TlsError;

typedef enum AbiState {
        ABI_UNCHECKED,
        ABI_OK,
        ABI_BAD,
} AbiState;

static AbiState abi_state = ABI_UNCHECKED;
static TlsContext *current;             /* what new connections use */
static tls_t *sessions;
static unsigned n_sessions;
static TlsError errors[TLS_N_ERRORS];
static SipTlsStats stats;
static SipTlsErrorHandler error_handler;
static void *error_userdata;

/* ---- the ABI check ---- */

static int abi_fail(const char *what) {
        log_error("sofia-sip's internals differ from those sipd was built for (%s): SIP over TLS disabled. "
                  "sipd's TLS supports libsofia-sip-ua0 " SOFIA_TLS_DEB_VERSION " only; see doc/sofia-tls-abi.md.",
                  what);
        abi_state = ABI_BAD;
        return -EPROTONOSUPPORT;
}

#ifdef SOFIA_TLS_BUILD_ID
typedef struct BuildIdSearch {
        char hex[2 * 64 + 1];
        bool found;
} BuildIdSearch;

static void note_build_id(const ElfW(Nhdr) *n, BuildIdSearch *s) {
        const uint8_t *desc = (const uint8_t *) (n + 1) + ((n->n_namesz + 3) & ~3u);

        for (unsigned i = 0; i < n->n_descsz && i < 64; i++)
                snprintf(s->hex + 2 * i, 3, "%02x", desc[i]);
        s->found = true;
}

static int find_build_id(struct dl_phdr_info *info, size_t size, void *userdata) {
        BuildIdSearch *s = userdata;

        if (!info->dlpi_name || !strstr(info->dlpi_name, "libsofia-sip-ua.so"))
                return 0;
        for (unsigned i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                const uint8_t *p, *end;

                if (ph->p_type != PT_NOTE)
                        continue;
                p = (const uint8_t *) (info->dlpi_addr + ph->p_vaddr);
                end = p + ph->p_memsz;
                while (p + sizeof(ElfW(Nhdr)) <= end) {
                        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *) p;

                        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                            memcmp(n + 1, "GNU", 4) == 0)
                                note_build_id(n, s);
                        p += sizeof *n + ((n->n_namesz + 3) & ~3u) + ((n->n_descsz + 3) & ~3u);
                }
        }
        return 1;
}

static int check_build_id(void) {
        BuildIdSearch s = {};

        dl_iterate_phdr(find_build_id, &s);
        if (!s.found || !streq(s.hex, SOFIA_TLS_BUILD_ID)) {
                log_error("libsofia-sip-ua build ID is %s, sipd was built against %s",
                          s.found ? s.hex : "(not found)", SOFIA_TLS_BUILD_ID);
                return -1;
        }
        return 0;
}
#else
static int check_build_id(void) {
        return 0;
}
#endif

int sip_tls_check_abi(void) {
        const SofiaVtableHead *vt;

        if (abi_state != ABI_UNCHECKED)
                return abi_state == ABI_OK ? 0 : -EPROTONOSUPPORT;
        if (!streq_ptr(sofia_sip_name_version, SOFIA_ABI_NAME_VERSION))
                return abi_fail(strempty(sofia_sip_name_version));
        /* Through dlsym: a direct reference to library data from the executable
         * would make a copy relocation of our (shorter) type. */
        vt = dlsym(RTLD_DEFAULT, "tport_tls_vtable");
        if (!vt || !streq_ptr(vt->vtp_name, "tls"))
                return abi_fail("tport_tls_vtable");
        if (vt->vtp_secondary_size != sizeof(SofiaTportTls) || vt->vtp_pri_size != sizeof(SofiaTportTlsPrimary))
                return abi_fail("size of the TLS transport structures");
        if (check_build_id() < 0)
                return abi_fail("library build ID");
        /* Our definitions must be what sofia calls. */
        if (dlsym(RTLD_DEFAULT, "tls_init_master") != (void *) tls_init_master ||
            dlsym(RTLD_DEFAULT, "tls_connect") != (void *) tls_connect)
                return abi_fail("tls_* functions not exported by the executable");
        /* sofia's own pointer to its TLS layer's name: bound to ours by the dynamic linker */
        if (sofia_sip_has_tls != tls_version)
                return abi_fail("sofia_sip_has_tls is not ours");
        abi_state = ABI_OK;
        log_info("SIP over TLS through GnuTLS %s: %s internals checked, its TLS layer is ours (%s)",
                 gnutls_check_version(NULL), sofia_sip_name_version, sofia_sip_has_tls);
        return 0;
}

/* Pointers only sofia can give us must agree with our reading of the layout. */
static bool layout_ok(su_root_magic_t *magic, su_wait_t *w, tport_t *tp) {
        SofiaTport *t = (SofiaTport *) tp;
        SofiaTportMaster *mr;

        if (tport_name(tp) != t->tp_name || w->fd != t->tp_socket || !tport_is_secondary(tp))
                return false;
        mr = t->tp_master;
        return mr && mr->mr_master->tp_master == mr && mr->mr_root && su_root_magic(mr->mr_root) == magic;
}

/* ---- configuration ---- */

static TlsContext *context_unref(TlsContext *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        tls_verifier_free(c->verifier);
        if (c->client_cred)
                gnutls_certificate_free_credentials(c->client_cred);
        if (c->server_cred)
                gnutls_certificate_free_credentials(c->server_cred);
        if (c->priority)
                gnutls_priority_deinit(c->priority);
        free(c);
        return NULL;
}

static void context_unrefp(TlsContext **c) {
        context_unref(*c);
}

static int verify_server(gnutls_session_t session);

static bool has_device_cert(const SipTlsConfig *c) {
        return (c->device_cert && *c->device_cert) || (!c->device_cert && c->device_cert_pem.size > 0);
}

static int load_device_cert(gnutls_certificate_credentials_t cred, const SipTlsConfig *c) {
        int r;

        if (c->device_cert)
                r = gnutls_certificate_set_x509_key_file2(cred, c->device_cert, c->device_key, GNUTLS_X509_FMT_PEM,
                                                          NULL, 0);
        else
                r = gnutls_certificate_set_x509_key_mem2(cred, &c->device_cert_pem, &c->device_key_pem,
                                                         GNUTLS_X509_FMT_PEM, NULL, 0);
        if (r < 0) {
                log_error("Cannot load the device certificate %s with key %s: %s",
                          c->device_cert ?: "(from provd)", c->device_cert ? strempty(c->device_key) : "(from provd)",
                          gnutls_strerror(r));
                return r == GNUTLS_E_FILE_ERROR ? -ENOENT : -EINVAL;
        }
        return 0;
}

static int context_new(const SipTlsConfig *c, TlsContext **ret) {
        _cleanup_(context_unrefp) TlsContext *ctx = calloc(1, sizeof(TlsContext));
        const char *err = NULL;
        bool has_device = has_device_cert(c);
        int r;

        if (!ctx)
                return -ENOMEM;
        ctx->n_ref = 1;
        r = tls_verifier_new(&c->policy, &ctx->verifier);
        if (r < 0)
                return r;
        if (gnutls_certificate_allocate_credentials(&ctx->client_cred) < 0)
                return -ENOMEM;
        gnutls_certificate_set_verify_function(ctx->client_cred, verify_server);
        if (has_device) {
                if (gnutls_certificate_allocate_credentials(&ctx->server_cred) < 0)
                        return -ENOMEM;
                r = load_device_cert(ctx->server_cred, c);
                if (r < 0)
                        return r;
                if (c->client_cert) {
                        r = load_device_cert(ctx->client_cred, c);
                        if (r < 0)
                                return r;
                }
        } else if (c->client_cert)
                log_warning("Mutual TLS asked for (static.security.dev_cert=1) but no device certificate is "
                            "installed, connecting without one");
        r = gnutls_priority_init2(&ctx->priority, TLS_PRIORITY, &err, GNUTLS_PRIORITY_INIT_DEF_APPEND);
        if (r < 0) {
                log_error("Invalid TLS priority string at '%s': %s", strempty(err), gnutls_strerror(r));
                return -EINVAL;
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

int sip_tls_configure(const SipTlsConfig *config) {
        TlsContext *ctx;
        int r;

        r = sip_tls_check_abi();
        if (r < 0)
                return r;
        r = context_new(config, &ctx);
        if (r < 0)
                return r;
        if (!config->policy.trust_certificates)
                log_warning("static.security.trust_certificates=0: TLS servers are not authenticated");
        else if (tls_verifier_n_trusted(ctx->verifier) == 0)
                log_warning("No trusted CA (static.security.ca_cert=%u): every TLS server will be refused",
                            config->policy.ca_cert);
        log_info("SIP TLS: %u trusted CAs, name check %s, device certificate %s%s",
                 tls_verifier_n_trusted(ctx->verifier), config->policy.cn_validation ? "on" : "off",
                 ctx->server_cred ? "loaded" : "none",
                 ctx->server_cred && config->client_cert ? " (mutual TLS)" : "");
        context_unref(current);
        current = ctx;
        return 0;
}

void sip_tls_shutdown(void) {
        current = context_unref(current);
}

static TlsContext *context_get(void) {
        if (!current) {
                SipTlsConfig defaults = {
                        .policy = { .trust_certificates = true, .ca_cert = TLS_CA_SYSTEM, .cn_validation = true },
                };
                if (context_new(&defaults, &current) < 0)
                        return NULL;
                log_notice("SIP TLS used before sip_tls_configure(): "
                           "system CAs, name check, no device certificate");
        }
        current->n_ref++;
        return current;
}

/* ---- errors, for the account's LastError ---- */

static TlsError *error_find(const char *host, uint16_t port) {
        TlsError *best = NULL;

        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                TlsError *e = &errors[i];

                if (e->when == 0 || strcasecmp(e->host, host) != 0 || (port != 0 && e->port != port))
                        continue;
                if (!best || e->when > best->when)
                        best = e;
        }
        return best;
}

static void error_record(const tls_t *tls) {
        TlsError *e = error_find(tls->host, tls->port);

        if (!e || e->port != tls->port) {
                e = &errors[0];
                for (size_t i = 1; i < ELEMENTSOF(errors); i++)
                        if (errors[i].when < e->when)
                                e = &errors[i];
        }
        snprintf(e->host, sizeof e->host, "%s", tls->host);
        snprintf(e->reason, sizeof e->reason, "%s", tls->reason);
        e->port = tls->port;
        e->when = now_usec();
}

static void error_clear(const char *host, uint16_t port) {
        for (size_t i = 0; i < ELEMENTSOF(errors); i++)
                if (errors[i].when != 0 && errors[i].port == port && strcasecmp(errors[i].host, host) == 0)
                        errors[i] = (TlsError) {};
}

int sip_tls_last_error(const char *host, uint16_t port, uint64_t since_usec, char **ret_reason) {
        TlsError *e;
        char *s;

        if (!host || !ret_reason)
                return -EINVAL;
        e = error_find(host, port);
        if (!e || e->when < since_usec)
                return -ENOENT;
        s = strdup(e->reason);
        if (!s)
                return -ENOMEM;
        *ret_reason = s;
        return 0;
}

void sip_tls_set_error_handler(SipTlsErrorHandler handler, void *userdata) {
        error_handler = handler;
        error_userdata = userdata;
}

void sip_tls_get_stats(SipTlsStats *ret) {
        *ret = stats;
}

/* ---- sessions ---- */

static void session_link(tls_t *tls) {
        tls->next = sessions;
        if (sessions)
                sessions->prev = tls;
        sessions = tls;
        n_sessions++;
}

static void session_unlink(tls_t *tls) {
        if (tls->prev)
                tls->prev->next = tls->next;
        else if (sessions == tls)
                sessions = tls->next;
        else
                return;
        if (tls->next)
                tls->next->prev = tls->prev;
        tls->prev = tls->next = NULL;
        n_sessions--;
}

/* The newest session on fd: a stale one (fd closed, reused, not yet freed) is older. */
static tls_t *session_find(int fd) {
        for (tls_t *t = sessions; t; t = t->next)
                if (t->fd == fd)
                        return t;
        return NULL;
}

/* Make room: shut down the socket of the oldest connection still in its
 * handshake; sofia sees the hangup and closes it through tls_connect(). */
static void evict_oldest_handshake(void) {
        tls_t *oldest = NULL;

        for (tls_t *t = sessions; t; t = t->next)
                if (!t->handshake_done && (!oldest || t->created_usec < oldest->created_usec))
                        oldest = t;
        if (oldest)
                (void) shutdown(oldest->fd, SHUT_RDWR);
}

tls_t *tls_init_master(tls_issues_t *ti) {
        tls_t *tls;

        /* With internals we do not know, sofia still gets a master (so that binding
         * sips: does not take UDP and TCP down with it) but no connection at all:
         * tls_init_secondary() refuses each, and sofia fails its request at once. */
        (void) sip_tls_check_abi();
        /* sofia's certificate directory (TPTAG_CERTIFICATE) and verify tags are
         * not used: the configuration comes from sip_tls_configure(). */
        if (ti && ti->configured)
                log_debug("Ignoring sofia's TLS settings (certificate directory %s)", strempty(ti->CApath));
        tls = calloc(1, sizeof *tls);
        if (!tls) {
                errno = ENOMEM;
                return NULL;
        }
        tls->master = true;
        tls->fd = -1;
        stats.init_master++;
        return tls;
}

static int session_setup(tls_t *tls, gnutls_certificate_credentials_t cred) {
        unsigned flags = (tls->accepted ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;

        if (gnutls_init(&tls->session, flags) < 0)
                return -ENOMEM;
        if (gnutls_priority_set(tls->session, tls->ctx->priority) < 0 ||
            gnutls_credentials_set(tls->session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
                return -EINVAL;
        if (tls->accepted)
                gnutls_certificate_server_set_request(tls->session, GNUTLS_CERT_IGNORE);
        gnutls_transport_set_int(tls->session, tls->fd);
        gnutls_session_set_ptr(tls->session, tls);
        return 0;
}

static tls_t *secondary_new(int sock, bool accepted) {
        tls_t *tls = calloc(1, sizeof *tls);
        int fl;

        if (!tls)
                return NULL;
        tls->fd = sock;
        tls->accepted = accepted;
        tls->created_usec = now_usec();
        tls->ctx = context_get();
        tls->read_buffer = malloc(TLS_READ_BUFFER_SIZE);
        if (!tls->ctx || !tls->read_buffer)
                goto fail;
        if (accepted && !tls->ctx->server_cred) {
                log_warning("Incoming TLS connection refused: no device certificate installed");
                goto fail;
        }
        if (session_setup(tls, accepted ? tls->ctx->server_cred : tls->ctx->client_cred) < 0)
                goto fail;
        fl = fcntl(sock, F_GETFL);
        if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0)
                goto fail;
        return tls;
fail:
        tls_free(tls);
        return NULL;
}

tls_t *tls_init_secondary(tls_t *master, int sock, int accept) {
        tls_t *tls;

        if (abi_state != ABI_OK || !master || sock < 0) {
                errno = abi_state != ABI_OK ? EPROTONOSUPPORT : EINVAL;
                return NULL;
        }
        if (n_sessions >= TLS_MAX_SESSIONS) {
                log_warning("Too many TLS connections (%u), refusing another", n_sessions);
                evict_oldest_handshake();
                errno = EMFILE;
                return NULL;
        }
        tls = secondary_new(sock, accept != 0);
        if (!tls) {
                errno = EIO;
                return NULL;
        }
        session_link(tls);
        stats.sessions++;
        return tls;
}

void tls_free(tls_t *tls) {
        if (!tls)
                return;
        session_unlink(tls);
        if (tls->timer)
                su_timer_destroy(tls->timer);
        if (tls->session) {
                if (tls->handshake_done)
                        (void) gnutls_bye(tls->session, GNUTLS_SHUT_WR);
                gnutls_deinit(tls->session);
        }
        context_unref(tls->ctx);
        free(tls->read_buffer);
        free(tls);
}

int tls_get_socket(tls_t *tls) {
        return tls ? tls->fd : -1;
}

unsigned sip_tls_close_client_connections(void) {
        tport_t *tports[TLS_MAX_SESSIONS];
        unsigned n = 0;

        /* first collect: closing frees the session (tls_free() unlinks it) */
        for (tls_t *t = sessions; t && n < ELEMENTSOF(tports); t = t->next)
                if (!t->accepted && t->tport && !tport_is_closed(t->tport))
                        tports[n++] = t->tport;
        for (unsigned i = 0; i < n; i++)
                (void) tport_shutdown(tports[i], 2);
        return n;
}

/* ---- reading and writing, once connected ---- */

static void handshake_reason(tls_t *tls, int r);
static void error_report(tls_t *tls);

/* A connection that dies after the handshake: with TLS 1.3 a server refuses a
 * client certificate (or its absence) only then. Kept for LastError as well. */
static void connection_error(tls_t *tls, int r) {
        handshake_reason(tls, r);
        log_warning("TLS connection %s %s:%u: %s", tls->accepted ? "from" : "to", tls->host, tls->port,
                    tls->reason);
        error_report(tls);
}

static int direction_events(tls_t *tls) {
        return gnutls_record_get_direction(tls->session) ? SU_WAIT_OUT : SU_WAIT_IN;
}

ssize_t tls_read(tls_t *tls) {
        if (!tls || !tls->session || !tls->handshake_done) {
                errno = EINVAL;
                return -1;
        }
        if (tls->read_len > 0)
                return (ssize_t) tls->read_len;

        for (unsigned i = 0; i < TLS_RETRIES; i++) {
                ssize_t n = gnutls_record_recv(tls->session, tls->read_buffer, TLS_READ_BUFFER_SIZE);

                if (n > 0) {
                        tls->read_events = SU_WAIT_IN;
                        tls->read_len = (size_t) n;
                        return n;
                }
                switch (n) {
                case 0:
                case GNUTLS_E_PREMATURE_TERMINATION:    /* closed without close_notify */
                        return 0;
                case GNUTLS_E_AGAIN:
                case GNUTLS_E_INTERRUPTED:
                        tls->read_events = direction_events(tls);
                        errno = EAGAIN;
                        return -1;
                case GNUTLS_E_REHANDSHAKE:              /* TLS 1.2 renegotiation: refused */
                        (void) gnutls_alert_send(tls->session, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
                        continue;
                }
                if (gnutls_error_is_fatal((int) n)) {
                        connection_error(tls, (int) n);
                        errno = ECONNRESET;
                        return -1;
                }
        }
        tls->read_events = SU_WAIT_IN;
        errno = EAGAIN;
        return -1;
}

void *tls_read_buffer(tls_t *tls, size_t n) {
        if (!tls || n != tls->read_len)
                return NULL;
        tls->read_len = 0;
        return tls->read_buffer;
}

int tls_pending(tls_t const *tls) {
        return tls && tls->session && tls->handshake_done && gnutls_record_check_pending(tls->session) > 0;
}

/* 2: data read, 0: end of stream, -1: error, 1: nothing (for now). */
int tls_want_read(tls_t *tls, int events) {
        ssize_t n;

        if (!tls || !tls->handshake_done || !(events & tls->read_events))
                return 1;
        n = tls_read(tls);
        if (n > 0)
                return 2;
        if (n == 0)
                return 0;
        return errno == EAGAIN ? 1 : -1;
}

/* GnuTLS sends at most one record (16 kB) per call while sofia expects the
 * whole buffer written: loop. When the socket is full, GnuTLS keeps the record
 * it was sending; sofia comes back with the same bytes, and we first finish
 * that record (gnutls_record_send(NULL, 0) returns its length). */
ssize_t tls_write(tls_t *tls, void *buf, size_t size) {
        size_t done = 0;

        if (!tls || !tls->session || !tls->handshake_done || (!buf && size > 0)) {
                errno = EINVAL;
                return -1;
        }
        while (done < size || tls->write_blocked) {
                ssize_t n = tls->write_blocked ? gnutls_record_send(tls->session, NULL, 0)
                                               : gnutls_record_send(tls->session, (const char *) buf + done,
                                                                    size - done);
                if (n >= 0) {
                        tls->write_blocked = false;
                        tls->write_events = 0;
                        done += (size_t) n;
                        continue;
                }
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                        if (!tls->write_blocked)
                                stats.write_blocked++;
                        tls->write_blocked = true;
                        tls->write_events = direction_events(tls);
                        break;
                }
                log_warning("TLS write to %s: %s", tls->host, gnutls_strerror((int) n));
                errno = EPIPE;
                return -1;
        }
        if (done == 0 && size > 0) {
                errno = EAGAIN;
                return -1;
        }
        return (ssize_t) MIN(done, size);
}

/* >0: sofia should send again (the socket is ready for the record we hold). */
int tls_want_write(tls_t *tls, int events) {
        if (!tls || !(events & tls->write_events))
                return 0;
        tls->write_events = 0;
        return 1;
}

int tls_events(tls_t const *tls, int mask) {
        if (!tls || tls->master || !tls->handshake_done)
                return mask;
        return (mask & ~(SU_WAIT_IN | SU_WAIT_OUT)) |
                ((mask & SU_WAIT_IN) ? tls->read_events : 0) |
                ((mask & SU_WAIT_OUT) ? tls->write_events : 0);
}

/* ---- the handshake ---- */

static int verify_server(gnutls_session_t session) {
        tls_t *tls = gnutls_session_get_ptr(session);
        const gnutls_datum_t *chain;
        unsigned n = 0;

        if (!tls || tls->accepted)
                return 0;
        chain = gnutls_certificate_get_peers(session, &n);
        tls->verify_ran = true;
        tls->verify_result = tls_verifier_check(tls->ctx->verifier, chain, n, tls->host, time(NULL));
        return tls->verify_result == TLS_VERIFY_OK ? 0 : GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

static void handshake_reason(tls_t *tls, int r) {
        const char *s;

        if (tls->verify_ran && tls->verify_result != TLS_VERIFY_OK)
                s = tls_verify_result_to_string(tls->verify_result);
        else if (r == GNUTLS_E_FATAL_ALERT_RECEIVED || r == GNUTLS_E_WARNING_ALERT_RECEIVED) {
                snprintf(tls->reason, sizeof tls->reason, "refused by the %s: %s",
                         tls->accepted ? "client" : "server",
                         strempty(gnutls_alert_get_name(gnutls_alert_get(tls->session))));
                return;
        } else if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR)
                s = tls->handshake_done ? "connection closed" : "connection closed during the TLS handshake";
        else if (r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH || r == GNUTLS_E_UNEXPECTED_PACKET)
                s = "not a TLS peer";
        else if (r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET)
                s = "no common TLS version";
        else if (r == GNUTLS_E_NO_CIPHER_SUITES || r == GNUTLS_E_INSUFFICIENT_CREDENTIALS)
                s = "no common cipher suite";
        else if (r == GNUTLS_E_CERTIFICATE_REQUIRED)
                s = "client certificate required";
        else {
                snprintf(tls->reason, sizeof tls->reason, "TLS %s failed: %s",
                         tls->handshake_done ? "connection" : "handshake", gnutls_strerror(r));
                return;
        }
        snprintf(tls->reason, sizeof tls->reason, "%s", s);
}

static void error_report(tls_t *tls) {
        /* The table is for accounts: what a peer does to our listening side stays in the log. */
        if (!tls->accepted)
                error_record(tls);
        if (error_handler)
                error_handler(tls->host, tls->port, tls->reason, tls->accepted, error_userdata);
}

/* Tell sofia. It fails what waits on this connection at once (nta answers 503)
 * and closes it, which frees tls: nothing may touch tls after this. */
static void handshake_fail(tls_t *tls, tport_t *tp, int error) {
        stats.failures++;
        log_warning("TLS %s %s:%u failed: %s", tls->accepted ? "connection from" : "connection to", tls->host,
                    tls->port, tls->reason);
        error_report(tls);
        tport_error_report(tp, error, NULL);
        tport_close(tp);
        tport_set_secondary_timer(tp);
}

static void on_handshake_timeout(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg) {
        tls_t *tls = arg;
        tport_t *tp = tls->tport;

        /* one-shot: sofia does not touch the timer after this callback */
        tls->timer = NULL;
        if (tport_is_closed(tp)) {
                su_timer_destroy(t);
                return;
        }
        snprintf(tls->reason, sizeof tls->reason, "TLS handshake timed out");
        handshake_fail(tls, tp, ETIMEDOUT);
        su_timer_destroy(t);
}

static void set_events(tport_t *tp, int events) {
        SofiaTport *t = (SofiaTport *) tp;

        t->tp_events = events;
        su_root_eventmask(t->tp_master->mr_root, t->tp_index, t->tp_socket, events);
}

static int handshake_start(tls_t *tls, tport_t *tp) {
        const tp_name_t *tpn = tport_name(tp);
        const char *host = tls->accepted ? tpn->tpn_host : (tpn->tpn_canon ?: tpn->tpn_host);
        su_root_t *root;
        uint8_t ip[16];
        size_t ip_len;
        unsigned port = 0;

        tls->tport = tp;
        tls->handshake_started = true;
        tls->start_usec = now_usec();
        snprintf(tls->host, sizeof tls->host, "%s", strempty(host));
        if (tpn->tpn_port && safe_atou(tpn->tpn_port, &port) == 0 && port <= UINT16_MAX)
                tls->port = (uint16_t) port;

        /* SNI: always for a name; RFC 6066 forbids it for an address. */
        if (!tls->accepted && tls->host[0] && !tls_parse_ip(tls->host, ip, &ip_len) &&
            gnutls_server_name_set(tls->session, GNUTLS_NAME_DNS, tls->host, strlen(tls->host)) < 0)
                return -ENOMEM;

        root = ((SofiaTport *) tp)->tp_master->mr_root;
        tls->timer = su_timer_create(su_root_task(root), TLS_HANDSHAKE_TIMEOUT_MS);
        if (!tls->timer || su_timer_set(tls->timer, on_handshake_timeout, tls) < 0)
                return -ENOMEM;
        return 0;
}

static void handshake_done(su_root_magic_t *magic, tls_t *tls, tport_t *tp) {
        SofiaTport *t = (SofiaTport *) tp;
        char *desc;

        tls->handshake_done = true;
        if (tls->timer) {
                su_timer_destroy(tls->timer);
                tls->timer = NULL;
        }
        stats.handshakes++;
        stats.last_handshake_usec = now_usec() - tls->start_usec;
        desc = gnutls_session_get_desc(tls->session);
        snprintf(stats.last_session, sizeof stats.last_session, "%s", strempty(desc));
        gnutls_free(desc);
        if (!tls->accepted) {
                uint8_t ip[16];
                size_t ip_len;

                snprintf(stats.last_server_name, sizeof stats.last_server_name, "%s",
                         tls_parse_ip(tls->host, ip, &ip_len) ? "" : tls->host);
                error_clear(tls->host, tls->port);
        }
        log_info("TLS %s %s:%u: %s in %" PRIu64 " µs", tls->accepted ? "from" : "to", tls->host, tls->port,
                 stats.last_session, stats.last_handshake_usec);

        tls->read_events = SU_WAIT_IN;
        tls->write_events = 0;
        t->tp_is_connected = 1;
        t->tp_verified = !tls->accepted && tls->verify_ran && tls->verify_result == TLS_VERIFY_OK &&
                tls_verifier_policy(tls->ctx->verifier)->trust_certificates;
        set_events(tp, SU_WAIT_IN | SU_WAIT_ERR | SU_WAIT_HUP);

        if (tport_has_queued(tp))
                tport_send_event(tp);
        else
                tport_set_secondary_timer(tp);

        /* Records that came with the handshake are in GnuTLS, not in the socket. */
        if (!tport_is_closed(tp) && gnutls_record_check_pending(tls->session) > 0) {
                su_wait_t w = { .fd = tls->fd, .events = SU_WAIT_IN, .revents = SU_WAIT_IN };
                tport_wakeup(magic, &w, tp);
        }
}

static void handshake_step(su_root_magic_t *magic, tls_t *tls, tport_t *tp, bool hangup) {
        int r;

        for (unsigned i = 0; i < TLS_RETRIES; i++) {
                r = gnutls_handshake(tls->session);
                if (r == 0)
                        break;
                if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
                        if (hangup) {
                                r = GNUTLS_E_PREMATURE_TERMINATION;
                                break;
                        }
                        set_events(tp, SU_WAIT_IN | SU_WAIT_ERR | SU_WAIT_HUP |
                                           (gnutls_record_get_direction(tls->session) ? SU_WAIT_OUT : 0));
                        return;
                }
                if (gnutls_error_is_fatal(r))
                        break;
        }
        if (r == 0 && (tls->accepted || tls->verify_ran)) {
                handshake_done(magic, tls, tp);
                return;
        }
        if (r == 0)
                snprintf(tls->reason, sizeof tls->reason, "no certificate");
        else {
                handshake_reason(tls, r);
                /* Tell the peer why (bad_certificate, ...); best effort, nonblocking. */
                (void) gnutls_alert_send_appropriate(tls->session, r);
        }
        handshake_fail(tls, tp, EPROTO);
}

/* sofia registers this as the socket's callback for a new TLS connection. */
int tls_connect(su_root_magic_t *magic, su_wait_t *w, tport_t *tp) {
        SofiaTport *t = (SofiaTport *) tp;
        tls_t *tls;
        int events, error;

        if (abi_state != ABI_OK) {
                tport_close(tp);
                return 0;
        }
        /* Only we set it, after checking the layout: from now on, the ordinary transport. */
        if (t->tp_is_connected)
                return tport_wakeup(magic, w, tp);

        tls = session_find(w->fd);
        if (!tls) {
                log_error("TLS connection without a session (fd %d), closing", w->fd);
                tport_close(tp);
                return 0;
        }
        if (!tls->layout_checked) {
                if (!layout_ok(magic, w, tp)) {
                        abi_fail("tport layout");
                        tport_close(tp);
                        return 0;
                }
                tls->layout_checked = true;
        }
        if (t->tp_closed)
                return 0;
        if (!tls->handshake_started && handshake_start(tls, tp) < 0) {
                snprintf(tls->reason, sizeof tls->reason, "out of memory");
                handshake_fail(tls, tp, ENOMEM);
                return 0;
        }
        events = su_wait_events(w, t->tp_socket);
        error = su_soerror(t->tp_socket);
        if (error != 0) {
                /* "Connection refused" -> "connection refused" */
                snprintf(tls->reason, sizeof tls->reason, "%s", strerror(error));
                tls->reason[0] = (char) tolower((unsigned char) tls->reason[0]);
                handshake_fail(tls, tp, error);
                return 0;
        }
        handshake_step(magic, tls, tp, events & (SU_WAIT_HUP | SU_WAIT_ERR));
        return 0;
}
