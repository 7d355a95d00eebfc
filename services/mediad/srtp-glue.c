/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsrtp2 (and GnuTLS's random generator for keys): policies per suite,
 * sessions, protect/unprotect, libsrtp's status codes as errno. libsrtp's
 * debug modules stay off (they can print keys); its log and events go to
 * our log without key material.
 */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <limits.h>
#include <srtp2/srtp.h>

#include "log.h"
#include "srtp-glue.h"

struct SrtpSession {
        srtp_t ctx;
        SrtpSuite suite;
        bool inbound;
        bool mki;                       /* packets carry an MKI */
        uint64_t lifetime;              /* one key: its lifetime per protocol; 0: several keys (not counted) */
        uint64_t packets[2];            /* [0] RTP, [1] RTCP */
        bool expired_logged;
};

static const char *event_name(srtp_event_t e) {
        switch (e) {
        case event_ssrc_collision:
                return "SSRC collision";
        case event_key_soft_limit:
                return "key usage soft limit reached, the key expires soon";
        case event_key_hard_limit:
                return "key usage hard limit reached, the key expired";
        case event_packet_index_limit:
                return "packet index limit (2^48) reached";
        }
        return "unknown event";
}

static void on_event(srtp_event_data_t *data) {
        log_warning("SRTP: SSRC %08x: %s", data->ssrc, event_name(data->event));
}

/* libsrtp logs errors and warnings without keys (its debug modules, which could, stay off). */
static void on_log(srtp_log_level_t level, const char *msg, void *data) {
        switch (level) {
        case srtp_log_level_error:
                log_warning("libsrtp: %s", msg);
                break;
        case srtp_log_level_warning:
        case srtp_log_level_info:
        case srtp_log_level_debug:
                log_debug("libsrtp: %s", msg);
                break;
        }
}

static int errno_from_status(srtp_err_status_t e) {
        switch (e) {
        case srtp_err_status_ok:
                return 0;
        case srtp_err_status_auth_fail:
        case srtp_err_status_cipher_fail: /* GCM reports a bad tag as a cipher failure */
                return -EBADMSG;
        case srtp_err_status_replay_fail:
        case srtp_err_status_replay_old:
        case srtp_err_status_pkt_idx_old:
                return -ESTALE;
        case srtp_err_status_key_expired:
        case srtp_err_status_pkt_idx_adv:
                return -EKEYEXPIRED;
        case srtp_err_status_bad_mki:
                return -EPROTO;
        case srtp_err_status_alloc_fail:
                return -ENOMEM;
        case srtp_err_status_bad_param:
        case srtp_err_status_parse_err:
        case srtp_err_status_no_ctx:
                return -EINVAL;
        case srtp_err_status_fail:
        case srtp_err_status_dealloc_fail:
        case srtp_err_status_init_fail:
        case srtp_err_status_terminus:
        case srtp_err_status_algo_fail:
        case srtp_err_status_no_such_op:
        case srtp_err_status_cant_check:
        case srtp_err_status_socket_err:
        case srtp_err_status_signal_err:
        case srtp_err_status_nonce_bad:
        case srtp_err_status_read_fail:
        case srtp_err_status_write_fail:
        case srtp_err_status_encode_err:
        case srtp_err_status_semaphore_err:
        case srtp_err_status_pfkey_err:
                break;
        }
        return -EIO;
}

int srtp_glue_init(void) {
        static bool done;

        if (done)
                return 0;
        (void) srtp_install_log_handler(on_log, NULL);
        int r = errno_from_status(srtp_init());
        if (r < 0)
                return log_error_errno(r, "Failed to initialise libsrtp: %m");
        (void) srtp_install_event_handler(on_event);
        log_debug("%s", srtp_get_version_string());
        done = true;
        return 0;
}

int srtp_key_generate(SrtpSuite suite, uint8_t *master, size_t master_size) {
        if (master_size == 0 || master_size != srtp_suite_key_size(suite) + srtp_suite_salt_size(suite))
                return -EINVAL;
        return gnutls_rnd(GNUTLS_RND_KEY, master, master_size) < 0 ? -EIO : 0;
}

/* RTP and RTCP transforms of a suite (RFC 4568 6.2: SRTCP of the _32 suite has an 80-bit tag). */
static void policy_set_suite(srtp_policy_t *p, SrtpSuite suite) {
        switch (suite) {
        case SRTP_SUITE_AEAD_AES_256_GCM:
                srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
                srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
                break;
        case SRTP_SUITE_AEAD_AES_128_GCM:
                srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
                srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
                break;
        case SRTP_SUITE_AES_256_CM_HMAC_SHA1_80:
                srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtp);
                srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
                break;
        case SRTP_SUITE_AES_CM_128_HMAC_SHA1_80:
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
                break;
        case SRTP_SUITE_AES_CM_128_HMAC_SHA1_32:
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
                break;
        case _SRTP_SUITE_MAX:
        case _SRTP_SUITE_INVALID:
                break;
        }
}

/* The keys of c as libsrtp wants them: one key in p->key, or MKI keys in p->keys. */
typedef struct PolicyKeys {
        srtp_master_key_t keys[SDES_KEYS_MAX];
        srtp_master_key_t *list[SDES_KEYS_MAX];
        uint8_t master[SDES_KEYS_MAX][SDES_MASTER_MAX];
        uint8_t mki[SDES_KEYS_MAX][SDES_MKI_MAX];
} PolicyKeys;

static void policy_set_keys(srtp_policy_t *p, PolicyKeys *k, const SdesCrypto *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                memcpy(k->master[i], c->keys[i].master, c->keys[i].master_size);
                memcpy(k->mki[i], c->keys[i].mki, c->keys[i].mki_length);
                k->keys[i] = (srtp_master_key_t) { .key = k->master[i], .mki_id = k->mki[i],
                                                   .mki_size = c->keys[i].mki_length };
                k->list[i] = &k->keys[i];
        }
        if (c->keys[0].mki_length > 0) {
                p->keys = k->list;
                p->num_master_keys = n;
        } else
                p->key = k->master[0];
}

static int session_create(SrtpSession *s, const SdesCrypto *c, size_t n_keys) {
        PolicyKeys keys = {};
        srtp_policy_t p = {};

        policy_set_suite(&p, c->suite);
        policy_set_keys(&p, &keys, c, n_keys);
        p.ssrc.type = s->inbound ? ssrc_any_inbound : ssrc_any_outbound;
        p.window_size = 0;      /* libsrtp's default, 128 packets */
        p.allow_repeat_tx = 0;  /* never the same index twice under one key */
        int r = errno_from_status(srtp_create(&s->ctx, &p));
        explicit_bzero(&keys, sizeof(keys));
        return r;
}

int srtp_session_new(const SdesCrypto *c, bool inbound, SrtpSession **ret) {
        if (c->suite < 0 || c->suite >= _SRTP_SUITE_MAX || c->n_keys == 0 || c->n_keys > SDES_KEYS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < c->n_keys; i++)
                if (c->keys[i].master_size != srtp_suite_key_size(c->suite) + srtp_suite_salt_size(c->suite))
                        return -EINVAL;
        int r = srtp_glue_init();
        if (r < 0)
                return r;

        _cleanup_(srtp_session_freep) SrtpSession *s = calloc(1, sizeof(SrtpSession));
        if (!s)
                return -ENOMEM;
        s->suite = c->suite;
        s->inbound = inbound;
        s->mki = c->keys[0].mki_length > 0;
        size_t n = inbound ? c->n_keys : 1;
        s->lifetime = n == 1 ? c->keys[0].lifetime : 0;
        r = session_create(s, c, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

SrtpSession *srtp_session_free(SrtpSession *s) {
        if (!s)
                return NULL;
        if (s->ctx)
                (void) srtp_dealloc(s->ctx);
        free(s);
        return NULL;
}

/* A key's lifetime (RFC 4568 6.1): the number of packets it may protect, per protocol. */
static int check_lifetime(SrtpSession *s, bool rtcp) {
        if (s->lifetime == 0 || s->packets[rtcp] < s->lifetime)
                return 0;
        if (!s->expired_logged)
                log_warning("SRTP: %s key reached its lifetime of %" PRIu64 " packets; %s are dropped until new "
                            "keys are negotiated", s->inbound ? "the peer's" : "our", s->lifetime,
                            s->inbound ? "its packets" : "ours");
        s->expired_logged = true;
        return -EKEYEXPIRED;
}

int srtp_session_protect(SrtpSession *s, bool rtcp, uint8_t *buf, size_t *size, size_t buf_size) {
        if (s->inbound)
                return -EINVAL;
        if (*size > INT_MAX - SRTP_TRAILER_MAX || buf_size < *size + SRTP_TRAILER_MAX)
                return -ENOBUFS;
        int r = check_lifetime(s, rtcp);
        if (r < 0)
                return r;
        int len = (int) *size;
        srtp_err_status_t e = rtcp ? srtp_protect_rtcp_mki(s->ctx, buf, &len, s->mki, 0)
                                   : srtp_protect_mki(s->ctx, buf, &len, s->mki, 0);
        r = errno_from_status(e);
        if (r < 0)
                return r;
        s->packets[rtcp]++;
        *size = (size_t) len;
        return 0;
}

int srtp_session_unprotect(SrtpSession *s, bool rtcp, uint8_t *buf, size_t *size) {
        if (!s->inbound)
                return -EINVAL;
        if (*size > INT_MAX)
                return -EINVAL;
        int r = check_lifetime(s, rtcp);
        if (r < 0)
                return r;
        int len = (int) *size;
        srtp_err_status_t e = rtcp ? srtp_unprotect_rtcp_mki(s->ctx, buf, &len, s->mki)
                                   : srtp_unprotect_mki(s->ctx, buf, &len, s->mki);
        r = errno_from_status(e);
        if (r == -EIO)
                log_debug("libsrtp: unprotecting an %s packet of %zu octets failed with status %d",
                          rtcp ? "SRTCP" : "SRTP", *size, (int) e);
        if (r < 0)
                return r;
        s->packets[rtcp]++;
        *size = (size_t) len;
        return 0;
}

SrtpSuite srtp_session_suite(const SrtpSession *s) {
        return s->suite;
}

uint64_t srtp_session_packets(const SrtpSession *s, bool rtcp) {
        return s->packets[rtcp];
}
