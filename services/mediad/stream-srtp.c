/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stream's SRTP (SDES, RFC 4568): the keys it offers, the sessions Start and
 * Update set up from the peer's a=crypto and ours, and protect/unprotect with
 * the counts of what was dropped.
 *
 * Keys: one per suite, made at CreateStream from GnuTLS's key generator. Each
 * key of ours gets one outbound session the first time it is used, kept for the
 * stream's life: our SSRC never changes and its index only goes up, so no
 * (key, SSRC, index) is ever used twice, whatever re-INVITEs switch between.
 * A new key from the peer gets a new inbound session (fresh replay window); the
 * previous one still takes packets that were on their way for a moment.
 * Nothing here logs a key.
 */
#include "log.h"
#include "mediad.h"
#include "util.h"

#define RECV_OLD_USEC (2 * 1000 * 1000)

static const char * const mode_table[_SRTP_MODE_MAX] = {
        [SRTP_MODE_OFF] = "off",
        [SRTP_MODE_OPTIONAL] = "optional",
        [SRTP_MODE_COMPULSORY] = "compulsory",
};

static const char * const encryption_table[_SRTP_SUITE_MAX] = {
        [SRTP_SUITE_AEAD_AES_256_GCM] = "srtp:AEAD_AES_256_GCM",
        [SRTP_SUITE_AEAD_AES_128_GCM] = "srtp:AEAD_AES_128_GCM",
        [SRTP_SUITE_AES_256_CM_HMAC_SHA1_80] = "srtp:AES_256_CM_HMAC_SHA1_80",
        [SRTP_SUITE_AES_CM_128_HMAC_SHA1_80] = "srtp:AES_CM_128_HMAC_SHA1_80",
        [SRTP_SUITE_AES_CM_128_HMAC_SHA1_32] = "srtp:AES_CM_128_HMAC_SHA1_32",
};

const char *srtp_mode_to_string(SrtpMode m) {
        return m >= 0 && m < _SRTP_MODE_MAX ? mode_table[m] : NULL;
}

SrtpMode srtp_mode_from_string(const char *s) {
        for (int i = 0; s && i < _SRTP_MODE_MAX; i++)
                if (streq(mode_table[i], s))
                        return (SrtpMode) i;
        return _SRTP_MODE_INVALID;
}

/* ---- keys ---- */

/* One key per suite, into keys[] (all or nothing). */
static int generate_keys(SdesCrypto keys[static _SRTP_SUITE_MAX]) {
        for (SrtpSuite i = 0; i < _SRTP_SUITE_MAX; i++) {
                SdesCrypto *c = &keys[i];
                *c = (SdesCrypto) { .tag = (uint32_t) i + 1, .suite = i, .n_keys = 1 };
                c->keys[0].master_size = srtp_suite_key_size(i) + srtp_suite_salt_size(i);
                c->keys[0].lifetime = srtp_suite_max_lifetime(i);
                int r = srtp_key_generate(i, c->keys[0].master, c->keys[0].master_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

int stream_srtp_init(Stream *s, SrtpMode mode) {
        StreamSrtp *x = &s->srtp;

        x->mode = mode;
        if (mode == SRTP_MODE_OFF)
                return 0;
        int r = srtp_glue_init();
        if (r >= 0)
                r = generate_keys(x->local);
        if (r < 0)
                return log_error_errno(r, "Stream %u: no random key for SRTP: %m", s->id);
        x->n_local = _SRTP_SUITE_MAX;
        return 0;
}

/* Keys of ours that were never used go; the one we send with stays until Update. */
static void retire_keys(StreamSrtp *x) {
        for (size_t i = 0; i < ELEMENTSOF(x->out); i++) {
                if (!x->out[i])
                        continue;
                if (x->out[i] == x->send) {
                        srtp_session_free(x->retired);
                        x->retired = x->out[i];
                } else
                        srtp_session_free(x->out[i]);
                x->out[i] = NULL;
        }
}

int stream_srtp_new_keys(Stream *s, BusError *error) {
        StreamSrtp *x = &s->srtp;
        SdesCrypto fresh[_SRTP_SUITE_MAX];

        if (x->mode == SRTP_MODE_OFF)
                return bus_error_set(error, -EOPNOTSUPP, "Stream %u was created with 'srtp' off: it has no keys",
                                     s->id);
        int r = generate_keys(fresh);
        if (r >= 0) {
                retire_keys(x);
                memcpy(x->local, fresh, sizeof(fresh));
                log_info("Stream %u: new SRTP keys", s->id);
        }
        explicit_bzero(fresh, sizeof(fresh));
        return r < 0 ? bus_error_set(error, r, "No random key for SRTP: %s", strerror(-r)) : 0;
}

void stream_srtp_done(Stream *s) {
        StreamSrtp *x = &s->srtp;

        for (size_t i = 0; i < ELEMENTSOF(x->out); i++)
                srtp_session_free(x->out[i]);
        srtp_session_free(x->retired);
        srtp_session_free(x->recv);
        srtp_session_free(x->recv_old);
        explicit_bzero(x, sizeof(*x));
}

/* CreateStream's "crypto": one a=crypto value per key, in our order of preference. */
int stream_srtp_append_crypto(Stream *s, DBusMessageIter *array) {
        StreamSrtp *x = &s->srtp;
        char value[SDES_VALUE_MAX];
        const char *v = value;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < x->n_local; i++) {
                const SdesCrypto *c = &x->local[i];
                r = sdes_crypto_format(c->tag, c->suite, c->keys[0].master, c->keys[0].master_size, value,
                                       sizeof(value));
                if (r >= 0 && !dbus_message_iter_append_basic(array, DBUS_TYPE_STRING, &v))
                        r = -ENOMEM;
        }
        explicit_bzero(value, sizeof(value));
        return r;
}

/* ---- Start and Update ---- */

static bool wants_clear(const StreamRemote *r, bool start) {
        return start ? !r->crypto || !*r->crypto : r->crypto && !*r->crypto;
}

/* Which key of ours local_crypto names (any tag), or ours of the suite when not given. */
static int find_local(const Stream *s, const StreamRemote *r, SrtpSuite suite, size_t *ret, BusError *error) {
        const StreamSrtp *x = &s->srtp;
        char reason[SDES_REASON_MAX];
        SdesCrypto c;

        if (!r->local_crypto || !*r->local_crypto) {
                for (size_t i = 0; i < x->n_local; i++)
                        if (x->local[i].suite == suite) {
                                *ret = i;
                                return 0;
                        }
                return bus_error_set(error, -EINVAL, "Stream %u has no key for %s", s->id,
                                     srtp_suite_to_string(suite));
        }
        int k = sdes_crypto_parse(r->local_crypto, &c, reason);
        if (k < 0)
                return bus_error_set(error, -EINVAL, "Invalid 'local_crypto': %s", reason);
        bool found = false;
        for (size_t i = 0; !found && i < x->n_local; i++)
                if (sdes_crypto_same(&x->local[i], &c)) {
                        *ret = i;
                        found = true;
                }
        sdes_crypto_erase(&c);
        if (!found)
                return bus_error_set(error, -EINVAL, "'local_crypto' is not one of stream %u's keys", s->id);
        if (x->local[*ret].suite != suite)
                return bus_error_set(error, -EINVAL, "'local_crypto' is %s, the peer's 'crypto' %s",
                                     srtp_suite_to_string(x->local[*ret].suite), srtp_suite_to_string(suite));
        return 0;
}

/* The peer's a=crypto and our key for it; ret_remote is erased by the caller. */
static int parse_remote(const Stream *s, const StreamRemote *r, SdesCrypto *ret_remote, size_t *ret_local,
                        BusError *error) {
        char reason[SDES_REASON_MAX];

        int k = sdes_crypto_parse(r->crypto, ret_remote, reason);
        if (k < 0)
                return bus_error_set(error, k, "Unusable 'crypto': %s", reason);
        k = find_local(s, r, ret_remote->suite, ret_local, error);
        if (k < 0)
                sdes_crypto_erase(ret_remote);
        return k;
}

int stream_srtp_check(Stream *s, const StreamRemote *r, bool start, BusError *error) {
        const StreamSrtp *x = &s->srtp;
        SdesCrypto remote;
        size_t local;

        if (r->local_crypto && !r->crypto)
                return bus_error_set(error, -EINVAL, "'local_crypto' without the peer's 'crypto'");
        if (wants_clear(r, start) && x->mode == SRTP_MODE_COMPULSORY)
                return bus_error_set(error, -EINVAL, "Stream %u is compulsory SRTP: %s needs the peer's 'crypto'",
                                     s->id, start ? "Start" : "Update");
        if (!r->crypto || !*r->crypto)
                return 0;
        if (x->mode == SRTP_MODE_OFF)
                return bus_error_set(error, -EINVAL, "Stream %u was created with 'srtp' off: it has no keys",
                                     s->id);
        int k = parse_remote(s, r, &remote, &local, error);
        if (k >= 0)
                sdes_crypto_erase(&remote);
        return k;
}

static void srtp_clear(Stream *s) {
        StreamSrtp *x = &s->srtp;

        if (x->send || x->recv)
                log_info("Stream %u: SRTP off, RTP in the clear", s->id);
        x->send = NULL;
        x->retired = srtp_session_free(x->retired);
        x->recv = srtp_session_free(x->recv);
        x->recv_old = srtp_session_free(x->recv_old);
        sdes_crypto_erase(&x->remote);
}

/* The peer's key changed (or is the first): a new inbound session. */
static int set_recv(Stream *s, const SdesCrypto *remote) {
        StreamSrtp *x = &s->srtp;
        SrtpSession *in;

        if (x->recv && sdes_crypto_same(&x->remote, remote))
                return 0;
        int r = srtp_session_new(remote, true, &in);
        if (r < 0)
                return r;
        srtp_session_free(x->recv_old);
        x->recv_old = x->recv;
        x->recv_old_until = now_usec() + RECV_OLD_USEC;
        x->recv = in;
        x->remote = *remote;
        log_info("Stream %u: %s key from the peer (%s, %zu key%s%s)", s->id, x->recv_old ? "new" : "SRTP",
                 srtp_suite_to_string(remote->suite), remote->n_keys, remote->n_keys == 1 ? "" : "s",
                 remote->keys[0].mki_length ? " with MKI" : "");
        return 0;
}

static int set_send(Stream *s, size_t local) {
        StreamSrtp *x = &s->srtp;

        if (!x->out[local]) {
                int r = srtp_session_new(&x->local[local], false, &x->out[local]);
                if (r < 0)
                        return r;
        }
        if (x->send != x->out[local])
                log_info("Stream %u: sending SRTP %s with our key %u", s->id,
                         srtp_suite_to_string(x->local[local].suite), x->local[local].tag);
        x->send = x->out[local];
        x->retired = srtp_session_free(x->retired);
        return 0;
}

int stream_srtp_apply(Stream *s, const StreamRemote *r, BusError *error) {
        SdesCrypto remote;
        size_t local;

        if (!r->crypto)
                return 0; /* Update without "crypto": as it was */
        if (!*r->crypto) {
                srtp_clear(s);
                return 0;
        }
        int k = parse_remote(s, r, &remote, &local, error);
        if (k < 0)
                return k;
        k = set_send(s, local);
        if (k >= 0)
                k = set_recv(s, &remote);
        sdes_crypto_erase(&remote);
        if (k < 0)
                return bus_error_set(error, k, "Stream %u: cannot set up SRTP: %s", s->id, strerror(-k));
        return 0;
}

/* ---- packets ---- */

int stream_srtp_protect(Stream *s, bool rtcp, uint8_t *buf, size_t *size, size_t buf_size) {
        if (!s->srtp.send)
                return 0;
        return srtp_session_protect(s->srtp.send, rtcp, buf, size, buf_size);
}

/* The peer's previous key, for a packet the current one refused (a copy of it). */
static int unprotect_old(Stream *s, bool rtcp, uint8_t *buf, size_t *size, const uint8_t *copy, size_t copy_size) {
        StreamSrtp *x = &s->srtp;

        if (now_usec() > x->recv_old_until) {
                x->recv_old = srtp_session_free(x->recv_old);
                return -EBADMSG;
        }
        memcpy(buf, copy, copy_size);
        *size = copy_size;
        return srtp_session_unprotect(x->recv_old, rtcp, buf, size);
}

static void count_drop(Stream *s, bool rtcp, int r) {
        StreamSrtp *x = &s->srtp;

        if (r == -ESTALE) {
                x->replays[rtcp]++;
                return;
        }
        if (x->auth_failures[rtcp]++ == 0)
                log_notice_errno(r, "Stream %u: an %s packet failed authentication and was dropped "
                                 "(counted in %s): %m", s->id, rtcp ? "SRTCP" : "SRTP",
                                 rtcp ? "SrtcpAuthFailures" : "SrtpAuthFailures");
}

int stream_srtp_unprotect(Stream *s, bool rtcp, uint8_t *buf, size_t *size) {
        StreamSrtp *x = &s->srtp;
        uint8_t copy[RTP_PACKET_MAX + 1];
        size_t copy_size = *size;

        if (!x->recv)
                return 0;
        if (x->recv_old && copy_size <= sizeof(copy))
                memcpy(copy, buf, copy_size);
        int r = srtp_session_unprotect(x->recv, rtcp, buf, size);
        if (r == -EBADMSG && x->recv_old && copy_size <= sizeof(copy))
                r = unprotect_old(s, rtcp, buf, size, copy, copy_size);
        if (r == -EINVAL)
                return r; /* not SRTP at all: an invalid packet */
        if (r < 0)
                count_drop(s, rtcp, r);
        return r;
}

const char *stream_srtp_encryption(const Stream *s) {
        const StreamSrtp *x = &s->srtp;

        if (!x->send || !x->recv)
                return "none";
        return encryption_table[srtp_session_suite(x->send)];
}
