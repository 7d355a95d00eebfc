/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SDP offer/answer, see sdp.h: our side's description, the offer we make,
 * the answer we give to an offer and what we take from the peer's answer.
 * Parsing lives in sdp.c; the helpers both halves use in sdp-internal.h.
 */

#include <arpa/inet.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/socket.h>

#include "macro.h"
#include "sdp.h"
#include "sdp-internal.h"

/* ---- our side ---- */

void sdp_local_init(SdpLocal *l) {
        explicit_bzero(l, sizeof(*l));
        l->direction = SDP_DIRECTION_SENDRECV;
        l->srtp = SDP_SRTP_OFF;
}

void sdp_local_erase(SdpLocal *l) {
        if (l)
                explicit_bzero(l, sizeof(*l));
}

bool sdp_codec_is_dtmf(const SdpCodec *c) {
        return strcasecmp(c->name, "telephone-event") == 0;
}

/* Visible ASCII, no blank, no '/': safe to print into an rtpmap. */
static bool codec_name_is_valid(const char *s) {
        if (!*s || strlen(s) >= SDP_CODEC_NAME_MAX)
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s >= 0x7f || *s == '/')
                        return false;
        return true;
}

static bool text_is_printable(const char *s) {
        for (; *s; s++)
                if ((uint8_t) *s < ' ' || *s == 0x7f)
                        return false;
        return true;
}

int sdp_local_add_codec(SdpLocal *l, const char *name, unsigned payload_type, unsigned clock_rate,
                        unsigned channels, const char *fmtp) {
        if (!l || !name)
                return -EINVAL;
        fmtp = strempty(fmtp);
        if (!codec_name_is_valid(name) || payload_type > 127 || clock_rate == 0 || channels == 0 ||
            channels > UINT8_MAX || strlen(fmtp) >= SDP_FMTP_MAX || !text_is_printable(fmtp))
                return -EINVAL;
        for (size_t i = 0; i < l->n_codecs; i++)
                if (l->codecs[i].payload_type == payload_type)
                        return -EEXIST;
        if (l->n_codecs >= SDP_CODECS_MAX)
                return -E2BIG;

        SdpCodec *c = &l->codecs[l->n_codecs++];
        *c = (SdpCodec) { .payload_type = payload_type, .clock_rate = clock_rate, .channels = channels };
        strcpy(c->name, name);
        strcpy(c->fmtp, fmtp);
        return 0;
}

int sdp_local_add_crypto(SdpLocal *l, const char *value) {
        int r;

        if (!l || !value)
                return -EINVAL;
        if (l->n_crypto >= SDP_CRYPTO_MAX)
                return -E2BIG;
        /* Room to rewrite the tag with 9 digits in an answer. */
        if (strlen(value) + 9 >= SDP_CRYPTO_VALUE_MAX)
                return -E2BIG;
        SdpCrypto *c = &l->crypto[l->n_crypto];
        r = sdp_crypto_parse(value, c);
        if (r < 0)
                return r;
        if (!c->supported || c->n_keys != 1 || !text_is_printable(c->value))
                r = -EINVAL;
        for (size_t i = 0; r >= 0 && i < l->n_crypto; i++)
                if (l->crypto[i].tag == c->tag)
                        r = -EEXIST;
        if (r < 0) {
                explicit_bzero(c, sizeof(*c));
                return r;
        }
        l->n_crypto++;
        return 0;
}

void sdp_origin_init(SdpOrigin *o, uint64_t session_id) {
        /* Below 2^62: some parsers read these as signed 64-bit, and versions grow. */
        session_id &= (UINT64_C(1) << 62) - 1;
        *o = (SdpOrigin) { .session_id = session_id, .version = session_id };
}

void sdp_negotiated_erase(SdpNegotiated *n) {
        if (n)
                explicit_bzero(n, sizeof(*n));
}

static bool local_has_audio_codec(const SdpLocal *l) {
        for (size_t i = 0; i < l->n_codecs; i++)
                if (!sdp_codec_is_dtmf(&l->codecs[i]))
                        return true;
        return false;
}

static int local_validate(const SdpLocal *l, SdpError *error) {
        if (!address_is_valid(l->address) || l->port == 0 || !local_has_audio_codec(l) ||
            !sdp_direction_to_string(l->direction) || !sdp_srtp_mode_to_string(l->srtp))
                return sdp_fail(error, -EINVAL, SDP_ERROR_INTERNAL, "local media description incomplete");
        return 0;
}

/* ---- writing SDP ---- */

typedef struct Buf {
        char *data;
        size_t len;
        bool overflow;
} Buf;

static void buf_done(Buf *b) {
        if (b->data) {
                explicit_bzero(b->data, SDP_TEXT_MAX); /* it held keys */
                free(b->data);
        }
}

_printf_(2, 3) static void buf_printf(Buf *b, const char *format, ...) {
        va_list ap;
        int n;

        if (b->overflow)
                return;
        va_start(ap, format);
        n = vsnprintf(b->data + b->len, SDP_TEXT_MAX - b->len, format, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= SDP_TEXT_MAX - b->len) {
                b->overflow = true;
                return;
        }
        b->len += n;
}

static const char *address_type(const char *address) {
        return strchr(address, ':') ? "IP6" : "IP4";
}

static void print_session_lines(Buf *b, const SdpLocal *l) {
        buf_printf(b, "s=-\r\nc=IN %s %s\r\nt=0 0\r\n", address_type(l->address), l->address);
}

/* rtpmap (always, static types too: it costs little and helps odd peers) and fmtp. */
static void print_codec(Buf *b, unsigned pt, const SdpCodec *c) {
        buf_printf(b, "a=rtpmap:%u %s/%u", pt, c->name, (unsigned) c->clock_rate);
        if (c->channels != 1)
                buf_printf(b, "/%u", (unsigned) c->channels);
        buf_printf(b, "\r\n");
        if (c->fmtp[0])
                buf_printf(b, "a=fmtp:%u %s\r\n", pt, c->fmtp);
}

/* c->value is "<tag> <suite> <key-params> [<session-params>]": print it with another tag. */
static void print_crypto(Buf *b, uint32_t tag, const SdpCrypto *c) {
        const char *rest = skip_blanks(c->value + strcspn(c->value, " \t"));
        buf_printf(b, "a=crypto:%u %s\r\n", (unsigned) tag, rest);
}

/* Prefix v= and o=; the version moves only when what follows o= changed (RFC 3264 §8). */
static int finish_text(SdpOrigin *o, const char *address, Buf *body, char **ret_text) {
        char *text = NULL;

        if (body->overflow)
                return -E2BIG;
        uint64_t h = hash64(body->data);
        uint64_t version = o->version + (o->used && h != o->last_hash ? 1 : 0);
        if (asprintf(&text, "v=0\r\no=- %llu %llu IN %s %s\r\n%s", (unsigned long long) o->session_id,
                     (unsigned long long) version, address_type(address), address, body->data) < 0)
                return -ENOMEM;
        o->version = version;
        o->last_hash = h;
        o->used = true;
        *ret_text = text;
        return 0;
}

int sdp_make_offer(const SdpLocal *l, SdpOrigin *o, char **ret_text) {
        _cleanup_(buf_done) Buf b = {};
        int r;

        if (!l || !o || !ret_text)
                return -EINVAL;
        r = local_validate(l, NULL);
        if (r < 0)
                return r;
        if (l->srtp != SDP_SRTP_OFF && l->n_crypto == 0)
                return -EINVAL;
        b.data = malloc(SDP_TEXT_MAX);
        if (!b.data)
                return -ENOMEM;
        b.data[0] = 0;

        print_session_lines(&b, l);
        buf_printf(&b, "m=audio %u %s", (unsigned) l->port,
                   l->srtp == SDP_SRTP_COMPULSORY ? "RTP/SAVP" : "RTP/AVP");
        for (size_t i = 0; i < l->n_codecs; i++)
                buf_printf(&b, " %u", (unsigned) l->codecs[i].payload_type);
        buf_printf(&b, "\r\n");
        for (size_t i = 0; i < l->n_codecs; i++)
                print_codec(&b, l->codecs[i].payload_type, &l->codecs[i]);
        if (l->ptime > 0)
                buf_printf(&b, "a=ptime:%u\r\n", l->ptime);
        if (l->srtp != SDP_SRTP_OFF)
                for (size_t i = 0; i < l->n_crypto; i++)
                        print_crypto(&b, l->crypto[i].tag, &l->crypto[i]);
        buf_printf(&b, "a=%s\r\n", sdp_direction_to_string(l->direction));
        return finish_text(o, l->address, &b, ret_text);
}

/* ---- negotiation ---- */

static bool direction_sends(SdpDirection d) {
        return d == SDP_DIRECTION_SENDRECV || d == SDP_DIRECTION_SENDONLY;
}

static bool direction_receives(SdpDirection d) {
        return d == SDP_DIRECTION_SENDRECV || d == SDP_DIRECTION_RECVONLY;
}

static SdpDirection direction_make(bool send, bool receive) {
        if (send)
                return receive ? SDP_DIRECTION_SENDRECV : SDP_DIRECTION_SENDONLY;
        return receive ? SDP_DIRECTION_RECVONLY : SDP_DIRECTION_INACTIVE;
}

/* Ours, from what we want and what the peer's m-line says (theirs, from their side).
 * Nothing is sent to c=0.0.0.0 (RFC 3264 §8.4). */
static void negotiate_direction(const SdpLocal *l, const SdpMedia *m, SdpNegotiated *n) {
        bool peer_receives = direction_receives(m->direction) && !m->address_is_hold;

        n->direction = direction_make(direction_sends(l->direction) && peer_receives,
                                      direction_receives(l->direction) && direction_sends(m->direction));
        n->hold = !peer_receives;
}

static bool codec_matches(const SdpCodec *a, const SdpCodec *b) {
        return a->name[0] && strcasecmp(a->name, b->name) == 0 && a->clock_rate == b->clock_rate &&
               a->channels == b->channels;
}

/* A telephone-event of `list` at the clock rate of `codec`. */
static const SdpCodec *find_dtmf(const SdpCodec *list, size_t n, const SdpCodec *codec) {
        for (size_t i = 0; i < n; i++)
                if (sdp_codec_is_dtmf(&list[i]) && list[i].clock_rate == codec->clock_rate)
                        return &list[i];
        return NULL;
}

/* A match for c among the non-DTMF codecs of list. */
static const SdpCodec *find_codec(const SdpCodec *list, size_t n, const SdpCodec *c) {
        for (size_t i = 0; i < n; i++)
                if (!sdp_codec_is_dtmf(&list[i]) && codec_matches(&list[i], c))
                        return &list[i];
        return NULL;
}

/* What the answer/stream needs besides SdpNegotiated: our own entries, for fmtp and names. */
typedef struct Choice {
        SdpNegotiated n;
        const SdpCodec *local_codec;
        const SdpCodec *local_dtmf;
} Choice;

static void choice_freep(Choice **c) {
        if (*c) {
                explicit_bzero(*c, sizeof(**c));
                free(*c);
        }
}

/* Our key line, with the tag the offerer chose. */
static int crypto_retag(const SdpCrypto *local, uint32_t tag, SdpCrypto *ret) {
        const char *rest = skip_blanks(local->value + strcspn(local->value, " \t"));
        _cleanup_(erase_value) char value[SDP_CRYPTO_VALUE_MAX];
        int n = snprintf(value, sizeof(value), "%u %s", (unsigned) tag, rest);

        if (n < 0 || (size_t) n >= sizeof(value))
                return -E2BIG;
        *ret = *local;
        ret->tag = tag;
        strcpy(ret->value, value);
        return 0;
}

/* The first offered a=crypto (offerer's preference) that is valid and has a suite we hold a key for. */
static bool choose_offer_crypto(const SdpMedia *m, const SdpLocal *l, const SdpCrypto **ret_remote,
                                const SdpCrypto **ret_local) {
        for (size_t i = 0; i < m->n_crypto; i++) {
                if (!m->crypto[i].supported)
                        continue;
                for (size_t j = 0; j < l->n_crypto; j++)
                        if (l->crypto[j].suite == m->crypto[i].suite) {
                                *ret_remote = &m->crypto[i];
                                *ret_local = &l->crypto[j];
                                return true;
                        }
        }
        return false;
}

static int answer_crypto(const SdpMedia *m, const SdpLocal *l, Choice *c, SdpError *error) {
        bool secure = sdp_profile_is_secure(m->profile);
        const SdpCrypto *remote, *local;
        int r;

        if (l->srtp == SDP_SRTP_OFF || (!secure && m->n_crypto == 0))
                return 0;
        if (l->n_crypto == 0)
                return secure ? sdp_fail(error, -EPROTO, SDP_ERROR_NO_LOCAL_CRYPTO, "no local SRTP keys") : 0;
        if (!choose_offer_crypto(m, l, &remote, &local)) {
                if (!secure) /* opportunistic SRTP we cannot use: plain RTP (RFC 8643) */
                        return 0;
                for (size_t i = 0; i < m->n_crypto; i++)
                        if (!m->crypto[i].valid)
                                return sdp_fail(error, -EPROTO, SDP_ERROR_NO_USABLE_CRYPTO,
                                                "no usable a=crypto (tag %u: %s)", (unsigned) m->crypto[i].tag,
                                                m->crypto[i].invalid_reason);
                return sdp_fail(error, -EPROTO, SDP_ERROR_NO_USABLE_CRYPTO,
                                m->n_crypto > 0 ? "no a=crypto with a suite we support" : "no a=crypto in %s offer",
                                m->proto);
        }
        r = crypto_retag(local, remote->tag, &c->n.local_crypto);
        if (r < 0)
                return sdp_fail(error, r, SDP_ERROR_INTERNAL, "local a=crypto too long");
        c->n.remote_crypto = *remote;
        c->n.srtp = true;
        return 0;
}

static int check_offer_profile(const SdpMedia *m, const SdpLocal *l, SdpError *error) {
        switch (m->profile) {
        case SDP_PROFILE_RTP_AVP:
        case SDP_PROFILE_RTP_AVPF:
                if (l->srtp == SDP_SRTP_COMPULSORY)
                        return sdp_fail(error, -EPROTO, SDP_ERROR_SRTP_REQUIRED,
                                        "unencrypted %s offered, SRTP is compulsory", m->proto);
                return 0;
        case SDP_PROFILE_RTP_SAVP:
        case SDP_PROFILE_RTP_SAVPF:
                if (l->srtp == SDP_SRTP_OFF)
                        return sdp_fail(error, -EPROTO, SDP_ERROR_SRTP_NOT_ENABLED,
                                        "%s offered, SRTP is off", m->proto);
                return 0;
        case SDP_PROFILE_UDP_TLS_RTP_SAVP:
        case SDP_PROFILE_UDP_TLS_RTP_SAVPF:
        case SDP_PROFILE_OTHER:
        case _SDP_PROFILE_MAX:
        case _SDP_PROFILE_INVALID:
                break;
        }
        return sdp_fail(error, -EPROTO, SDP_ERROR_UNSUPPORTED_PROFILE, "transport %s not supported", m->proto);
}

static void fill_remote(SdpNegotiated *n, const SdpMedia *m, size_t index, const SdpLocal *l) {
        n->media_index = index;
        strcpy(n->address, m->address);
        n->family = m->family;
        n->port = m->port;
        n->rtcp_port = m->rtcp_port;
        n->ptime = m->ptime ?: l->ptime ?: 20;
        n->profile = m->profile;
        negotiate_direction(l, m, n);
}

/* Can we take this offered audio m-line, and how? */
static int answer_media(const SdpMedia *m, size_t index, const SdpLocal *l, Choice *c, SdpError *error) {
        const SdpCodec *offered = NULL, *dtmf;
        int r;

        *c = (Choice) { .n.dtmf_payload_type = -1 };
        r = check_offer_profile(m, l, error);
        if (r < 0)
                return r;
        if (!m->address[0])
                return sdp_fail(error, -EPROTO, SDP_ERROR_NO_ADDRESS, "no c= for the audio stream");
        /* Our preference order decides (RFC 3264 §6.1 lets the answerer choose; Yealink does so). */
        for (size_t i = 0; i < l->n_codecs && !offered; i++)
                if (!sdp_codec_is_dtmf(&l->codecs[i]) && (offered = find_codec(m->codecs, m->n_codecs, &l->codecs[i])))
                        c->local_codec = &l->codecs[i];
        if (!offered)
                return sdp_fail(error, -EPROTO, SDP_ERROR_NO_COMMON_CODEC, "no common codec");
        r = answer_crypto(m, l, c, error);
        if (r < 0)
                return r;

        fill_remote(&c->n, m, index, l);
        c->n.codec = *offered;
        c->n.local_payload_type = offered->payload_type;
        dtmf = find_dtmf(m->codecs, m->n_codecs, offered);
        c->local_dtmf = dtmf ? find_dtmf(l->codecs, l->n_codecs, offered) : NULL;
        if (c->local_dtmf)
                c->n.dtmf_payload_type = dtmf->payload_type;
        return 0;
}

static void print_answer_media(Buf *b, const SdpMedia *m, const SdpLocal *l, const Choice *c) {
        const SdpNegotiated *n = &c->n;

        /* Media and transport exactly as offered ("Audio" matched case-insensitively). */
        buf_printf(b, "m=%s %u %s %u", m->media, (unsigned) l->port, m->proto, (unsigned) n->codec.payload_type);
        if (n->dtmf_payload_type >= 0)
                buf_printf(b, " %d", n->dtmf_payload_type);
        buf_printf(b, "\r\n");
        print_codec(b, n->codec.payload_type, c->local_codec);
        if (n->dtmf_payload_type >= 0)
                print_codec(b, n->dtmf_payload_type, c->local_dtmf);
        if (l->ptime > 0)
                buf_printf(b, "a=ptime:%u\r\n", l->ptime);
        if (n->srtp)
                print_crypto(b, n->local_crypto.tag, &n->local_crypto);
        buf_printf(b, "a=%s\r\n", sdp_direction_to_string(n->direction));
}

static int print_answer(const SdpSession *offer, const SdpLocal *l, SdpOrigin *o, const Choice *c,
                        char **ret_text) {
        _cleanup_(buf_done) Buf b = {};

        b.data = malloc(SDP_TEXT_MAX);
        if (!b.data)
                return -ENOMEM;
        b.data[0] = 0;
        print_session_lines(&b, l);
        for (size_t i = 0; i < offer->n_media; i++) {
                const SdpMedia *m = offer->media[i];
                if (i == c->n.media_index)
                        print_answer_media(&b, m, l, c);
                else /* rejected (RFC 3264 §6): same media, transport and formats, port 0 */
                        buf_printf(&b, "m=%s 0 %s %s\r\n", m->media, m->proto, m->formats);
        }
        return finish_text(o, l->address, &b, ret_text);
}

/* Pick the m-line to answer: with SRTP optional the first that can be encrypted (pjsip and
 * legacy best-effort SRTP offer RTP/AVP and RTP/SAVP twice), else the first usable one. */
static int choose_offer_media(const SdpSession *offer, const SdpLocal *l, Choice *best, SdpError *error) {
        _cleanup_(choice_freep) Choice *c = calloc(1, sizeof(Choice));
        SdpError first = { .code = SDP_ERROR_NO_AUDIO, .status = 488, .reason = "no audio stream offered" };
        bool have_error = false, have_best = false;

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < offer->n_media; i++) {
                const SdpMedia *m = offer->media[i];
                if (strcasecmp(m->media, "audio") != 0 || m->port == 0)
                        continue;
                int r = answer_media(m, i, l, c, have_error ? NULL : &first);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        have_error = true;
                        continue;
                }
                if (!have_best || (!best->n.srtp && c->n.srtp)) {
                        *best = *c;
                        have_best = true;
                }
                if (best->n.srtp || l->srtp != SDP_SRTP_OPTIONAL)
                        break;
        }
        if (!have_best) {
                if (error)
                        *error = first;
                return -EPROTO;
        }
        return 0;
}

int sdp_answer(const SdpSession *offer, const SdpLocal *l, SdpOrigin *o, SdpNegotiated *ret_result,
               char **ret_text, SdpError *error) {
        _cleanup_(choice_freep) Choice *best = calloc(1, sizeof(Choice));
        int r;

        if (!offer || !l || !o || !ret_result || !ret_text)
                return sdp_fail(error, -EINVAL, SDP_ERROR_INTERNAL, "invalid arguments");
        if (!best)
                return -ENOMEM;
        r = local_validate(l, error);
        if (r < 0)
                return r;
        r = choose_offer_media(offer, l, best, error);
        if (r < 0)
                return r;
        r = print_answer(offer, l, o, best, ret_text);
        if (r < 0)
                return sdp_fail(error, r, r == -E2BIG ? SDP_ERROR_TOO_BIG : SDP_ERROR_INTERNAL,
                                "cannot write the answer");
        *ret_result = best->n;
        return 0;
}

/* ---- the answer to our offer ---- */

static void negotiated_freep(SdpNegotiated **n) {
        if (*n) {
                sdp_negotiated_erase(*n);
                free(*n);
        }
}

static int check_answer_profile(const SdpMedia *m, const SdpLocal *l, SdpError *error) {
        SdpProfile offered = l->srtp == SDP_SRTP_COMPULSORY ? SDP_PROFILE_RTP_SAVP : SDP_PROFILE_RTP_AVP;

        if (m->profile == offered)
                return 0;
        /* Some answer an opportunistic RTP/AVP + a=crypto offer with RTP/SAVP: harmless. */
        if (l->srtp == SDP_SRTP_OPTIONAL && m->profile == SDP_PROFILE_RTP_SAVP)
                return 0;
        return sdp_fail(error, -EPROTO, SDP_ERROR_ANSWER_MEDIA, "answer's transport %s is not the offered %s",
                        m->proto, sdp_profile_to_string(offered));
}

/* The answer's a=crypto must echo one of our tags with its suite (RFC 4568 §7.1.3). */
static int process_answer_crypto(const SdpMedia *m, const SdpLocal *l, SdpNegotiated *n, SdpError *error) {
        if (l->srtp == SDP_SRTP_OFF)
                return 0;
        if (m->n_crypto == 0) {
                if (l->srtp == SDP_SRTP_COMPULSORY)
                        return sdp_fail(error, -EPROTO, SDP_ERROR_SRTP_REQUIRED, "answer has no a=crypto");
                if (sdp_profile_is_secure(m->profile))
                        return sdp_fail(error, -EPROTO, SDP_ERROR_ANSWER_CRYPTO, "%s answer without a=crypto",
                                        m->proto);
                return 0;
        }
        const SdpCrypto *c = &m->crypto[0];
        if (!c->valid)
                return sdp_fail(error, -EPROTO, SDP_ERROR_ANSWER_CRYPTO, "invalid a=crypto in answer: %s",
                                c->invalid_reason);
        for (size_t i = 0; i < l->n_crypto; i++) {
                if (l->crypto[i].tag != c->tag)
                        continue;
                if (l->crypto[i].suite != c->suite || !c->supported)
                        break;
                n->local_crypto = l->crypto[i];
                n->remote_crypto = *c;
                n->srtp = true;
                return 0;
        }
        return sdp_fail(error, -EPROTO, SDP_ERROR_ANSWER_CRYPTO, "answer's a=crypto tag %u %s was not offered",
                        (unsigned) c->tag, c->suite_name);
}

static int process_answer_codec(const SdpMedia *m, const SdpLocal *l, SdpNegotiated *n, SdpError *error) {
        const SdpCodec *local = NULL, *theirs = NULL, *dtmf, *local_dtmf;

        /* The answerer's order: it may have kept several of ours, the first is what it sends. */
        for (size_t i = 0; i < m->n_codecs && !local; i++)
                if (!sdp_codec_is_dtmf(&m->codecs[i]) && (local = find_codec(l->codecs, l->n_codecs, &m->codecs[i])))
                        theirs = &m->codecs[i];
        if (!local)
                return sdp_fail(error, -EPROTO, SDP_ERROR_ANSWER_CODEC, "answer has no codec of our offer");
        n->codec = *theirs;
        n->local_payload_type = local->payload_type;
        dtmf = find_dtmf(m->codecs, m->n_codecs, theirs);
        local_dtmf = find_dtmf(l->codecs, l->n_codecs, theirs);
        n->dtmf_payload_type = dtmf && local_dtmf ? dtmf->payload_type : -1;
        return 0;
}

static int process_answer(const SdpLocal *l, const SdpSession *answer, SdpNegotiated *ret_result,
                          SdpError *error) {
        _cleanup_(negotiated_freep) SdpNegotiated *n = NULL;
        int r;

        if (answer->n_media != 1 || strcasecmp(answer->media[0]->media, "audio") != 0)
                return sdp_fail(error, -EPROTO, SDP_ERROR_ANSWER_MEDIA,
                                "answer does not have the one audio m= line we offered");
        const SdpMedia *m = answer->media[0];
        if (m->port == 0)
                return sdp_fail(error, -EPROTO, SDP_ERROR_ANSWER_REJECTED, "the peer rejected the audio stream");
        if (!m->address[0])
                return sdp_fail(error, -EPROTO, SDP_ERROR_NO_ADDRESS, "no c= for the audio stream");
        r = check_answer_profile(m, l, error);
        if (r < 0)
                return r;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        r = process_answer_codec(m, l, n, error);
        if (r < 0)
                return r;
        r = process_answer_crypto(m, l, n, error);
        if (r < 0)
                return r;
        fill_remote(n, m, 0, l);
        *ret_result = *n;
        return 0;
}

int sdp_process_answer(const SdpLocal *l, const SdpSession *answer, SdpNegotiated *ret_result,
                       SdpError *error) {
        int r;

        if (!l || !answer || !ret_result)
                return sdp_fail(error, -EINVAL, SDP_ERROR_INTERNAL, "invalid arguments");
        r = local_validate(l, error);
        if (r < 0)
                return r;
        r = process_answer(l, answer, ret_result, error);
        if (r < 0 && error)
                error->status = 0; /* nothing to respond to: the caller ends the call */
        return r;
}
