/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sofia-sip's internals that tls-gnutls.c relies on: our own mirror of the
 * structures of tport_internal.h and tport_tls.h, as found in Debian's source
 * package 1.12.11+20110422.1+1e14eea~dfsg-6, and the checks that the loaded
 * library is that one (version, build ID, sizes from its own tables, pointers
 * only it can give). If they differ, TLS is refused, loudly, rather than
 * handed to sofia's OpenSSL code or run on a guessed layout. Described in
 * doc/sofia-tls-abi.md.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stddef.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su_strlst.h>

#include "log.h"
#include "tls-gnutls.h"
#include "tls-sofia-abi.h"
#include "util.h"

#define SOFIA_ABI_NAME_VERSION "sofia-sip-1.12.11devel"
#ifndef SOFIA_TLS_DEB_VERSION /* set by meson from dpkg-query, checked at configure time */
#define SOFIA_TLS_DEB_VERSION "1.12.11+20110422.1+1e14eea~dfsg-6"
#endif

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

typedef enum AbiState {
        ABI_UNCHECKED,
        ABI_OK,
        ABI_BAD,
} AbiState;

static AbiState abi_state = ABI_UNCHECKED;

/* ---- the ABI check ---- */

int sofia_abi_fail(const char *what) {
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
                return sofia_abi_fail(strempty(sofia_sip_name_version));
        /* Through dlsym: a direct reference to library data from the executable
         * would make a copy relocation of our (shorter) type. */
        vt = dlsym(RTLD_DEFAULT, "tport_tls_vtable");
        if (!vt || !streq_ptr(vt->vtp_name, "tls"))
                return sofia_abi_fail("tport_tls_vtable");
        if (vt->vtp_secondary_size != sizeof(SofiaTportTls) || vt->vtp_pri_size != sizeof(SofiaTportTlsPrimary))
                return sofia_abi_fail("size of the TLS transport structures");
        if (check_build_id() < 0)
                return sofia_abi_fail("library build ID");
        /* Our definitions must be what sofia calls. */
        if (dlsym(RTLD_DEFAULT, "tls_init_master") != (void *) tls_init_master ||
            dlsym(RTLD_DEFAULT, "tls_connect") != (void *) tls_connect)
                return sofia_abi_fail("tls_* functions not exported by the executable");
        /* sofia's own pointer to its TLS layer's name: bound to ours by the dynamic linker */
        if (sofia_sip_has_tls != tls_version)
                return sofia_abi_fail("sofia_sip_has_tls is not ours");
        abi_state = ABI_OK;
        log_info("SIP over TLS through GnuTLS %s: %s internals checked, its TLS layer is ours (%s)",
                 gnutls_check_version(NULL), sofia_sip_name_version, sofia_sip_has_tls);
        return 0;
}

bool sofia_abi_ok(void) {
        return abi_state == ABI_OK;
}

/* Pointers only sofia can give us must agree with our reading of the layout. */
bool sofia_tport_layout_ok(su_root_magic_t *magic, su_wait_t *w, tport_t *tp) {
        SofiaTport *t = (SofiaTport *) tp;
        SofiaTportMaster *mr;

        if (tport_name(tp) != t->tp_name || w->fd != t->tp_socket || !tport_is_secondary(tp))
                return false;
        mr = t->tp_master;
        return mr && mr->mr_master->tp_master == mr && mr->mr_root && su_root_magic(mr->mr_root) == magic;
}

/* ---- struct tport_s ---- */

su_socket_t sofia_tport_socket(tport_t *tp) {
        return ((SofiaTport *) tp)->tp_socket;
}

su_root_t *sofia_tport_root(tport_t *tp) {
        return ((SofiaTport *) tp)->tp_master->mr_root;
}

void sofia_tport_set_connected(tport_t *tp, bool verified) {
        SofiaTport *t = (SofiaTport *) tp;

        t->tp_is_connected = 1;
        t->tp_verified = verified;
}

void sofia_tport_set_events(tport_t *tp, int events) {
        SofiaTport *t = (SofiaTport *) tp;

        t->tp_events = events;
        su_root_eventmask(t->tp_master->mr_root, t->tp_index, t->tp_socket, events);
}
