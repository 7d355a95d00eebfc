/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SDP parsing, see sdp.h; a=crypto is in sdp-crypto.c, our offers and answers
 * in sdp-answer.c.
 *
 * Why our own parser and printer rather than sofia's sdp_session_parse()/sdp_print():
 *  - what we need from SDP is a handful of line types; sofia leaves a=crypto,
 *    a=rtcp and a=fmtp as raw strings anyway, so the interpretation is ours either way;
 *  - limits: sofia's parser allocates as much as the peer sends from an su_home;
 *    here every count and length is bounded by sdp.h, in fixed-size structs;
 *  - the fuzz target then exercises the code we can fix, and this module stays
 *    free of foreign types (DESIGN.md: sofia's types live in sofia-glue.c only).
 * The grammar is RFC 4566's, read leniently where real phones differ (LF line ends,
 * blank lines, case of names), strictly where a mistake would be unsafe.
 */

#include <arpa/inet.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/socket.h>

#include "macro.h"
#include "sdp.h"
#include "sdp-internal.h"

/* ---- names ---- */

static const char * const direction_table[_SDP_DIRECTION_MAX] = {
        [SDP_DIRECTION_SENDRECV] = "sendrecv",
        [SDP_DIRECTION_SENDONLY] = "sendonly",
        [SDP_DIRECTION_RECVONLY] = "recvonly",
        [SDP_DIRECTION_INACTIVE] = "inactive",
};

static const char * const srtp_mode_table[_SDP_SRTP_MODE_MAX] = {
        [SDP_SRTP_OFF] = "off",
        [SDP_SRTP_OPTIONAL] = "optional",
        [SDP_SRTP_COMPULSORY] = "compulsory",
};

static const char * const profile_table[_SDP_PROFILE_MAX] = {
        [SDP_PROFILE_RTP_AVP] = "RTP/AVP",
        [SDP_PROFILE_RTP_AVPF] = "RTP/AVPF",
        [SDP_PROFILE_RTP_SAVP] = "RTP/SAVP",
        [SDP_PROFILE_RTP_SAVPF] = "RTP/SAVPF",
        [SDP_PROFILE_UDP_TLS_RTP_SAVP] = "UDP/TLS/RTP/SAVP",
        [SDP_PROFILE_UDP_TLS_RTP_SAVPF] = "UDP/TLS/RTP/SAVPF",
};

static const char * const suite_table[_SDP_CRYPTO_SUITE_MAX] = {
        [SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80] = "AES_CM_128_HMAC_SHA1_80",
        [SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32] = "AES_CM_128_HMAC_SHA1_32",
        [SDP_CRYPTO_AES_256_CM_HMAC_SHA1_80] = "AES_256_CM_HMAC_SHA1_80",
        [SDP_CRYPTO_AES_256_CM_HMAC_SHA1_32] = "AES_256_CM_HMAC_SHA1_32",
        [SDP_CRYPTO_AEAD_AES_128_GCM] = "AEAD_AES_128_GCM",
        [SDP_CRYPTO_AEAD_AES_256_GCM] = "AEAD_AES_256_GCM",
};

static const char * const error_code_table[_SDP_ERROR_CODE_MAX] = {
        [SDP_ERROR_PARSE] = "parse",
        [SDP_ERROR_TOO_BIG] = "too-big",
        [SDP_ERROR_NO_AUDIO] = "no-audio",
        [SDP_ERROR_NO_ADDRESS] = "no-address",
        [SDP_ERROR_UNSUPPORTED_PROFILE] = "unsupported-profile",
        [SDP_ERROR_NO_COMMON_CODEC] = "no-common-codec",
        [SDP_ERROR_SRTP_REQUIRED] = "srtp-required",
        [SDP_ERROR_SRTP_NOT_ENABLED] = "srtp-not-enabled",
        [SDP_ERROR_NO_USABLE_CRYPTO] = "no-usable-crypto",
        [SDP_ERROR_NO_LOCAL_CRYPTO] = "no-local-crypto",
        [SDP_ERROR_ANSWER_MEDIA] = "answer-media",
        [SDP_ERROR_ANSWER_REJECTED] = "answer-rejected",
        [SDP_ERROR_ANSWER_CODEC] = "answer-codec",
        [SDP_ERROR_ANSWER_CRYPTO] = "answer-crypto",
        [SDP_ERROR_INTERNAL] = "internal",
};

static int table_lookup(const char * const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcasecmp(table[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

#define TABLE_TO_STRING(table, i) ((i) >= 0 && (size_t) (i) < ELEMENTSOF(table) ? table[i] : NULL)

const char *sdp_direction_to_string(SdpDirection d) {
        return TABLE_TO_STRING(direction_table, d);
}

SdpDirection sdp_direction_from_string(const char *s) {
        return table_lookup(direction_table, ELEMENTSOF(direction_table), s);
}

SdpDirection sdp_direction_reverse(SdpDirection d) {
        switch (d) {
        case SDP_DIRECTION_SENDONLY:
                return SDP_DIRECTION_RECVONLY;
        case SDP_DIRECTION_RECVONLY:
                return SDP_DIRECTION_SENDONLY;
        case SDP_DIRECTION_SENDRECV:
        case SDP_DIRECTION_INACTIVE:
        case _SDP_DIRECTION_MAX:
        case _SDP_DIRECTION_INVALID:
                break;
        }
        return d;
}

const char *sdp_srtp_mode_to_string(SdpSrtpMode m) {
        return TABLE_TO_STRING(srtp_mode_table, m);
}

SdpSrtpMode sdp_srtp_mode_from_string(const char *s) {
        return table_lookup(srtp_mode_table, ELEMENTSOF(srtp_mode_table), s);
}

const char *sdp_profile_to_string(SdpProfile p) {
        return TABLE_TO_STRING(profile_table, p);
}

bool sdp_profile_is_secure(SdpProfile p) {
        switch (p) {
        case SDP_PROFILE_RTP_SAVP:
        case SDP_PROFILE_RTP_SAVPF:
        case SDP_PROFILE_UDP_TLS_RTP_SAVP:
        case SDP_PROFILE_UDP_TLS_RTP_SAVPF:
                return true;
        case SDP_PROFILE_RTP_AVP:
        case SDP_PROFILE_RTP_AVPF:
        case SDP_PROFILE_OTHER:
        case _SDP_PROFILE_MAX:
        case _SDP_PROFILE_INVALID:
                break;
        }
        return false;
}

const char *sdp_crypto_suite_to_string(SdpCryptoSuite s) {
        return TABLE_TO_STRING(suite_table, s);
}

SdpCryptoSuite sdp_crypto_suite_from_string(const char *s) {
        int r = table_lookup(suite_table, ELEMENTSOF(suite_table), s);
        return r < 0 ? SDP_CRYPTO_SUITE_UNKNOWN : r;
}

size_t sdp_crypto_suite_key_size(SdpCryptoSuite s) {
        switch (s) {
        case SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80:
        case SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32:
                return 16 + 14;
        case SDP_CRYPTO_AES_256_CM_HMAC_SHA1_80:
        case SDP_CRYPTO_AES_256_CM_HMAC_SHA1_32:
                return 32 + 14;
        case SDP_CRYPTO_AEAD_AES_128_GCM:
                return 16 + 12;
        case SDP_CRYPTO_AEAD_AES_256_GCM:
                return 32 + 12;
        case SDP_CRYPTO_SUITE_UNKNOWN:
        case _SDP_CRYPTO_SUITE_MAX:
        case _SDP_CRYPTO_SUITE_INVALID:
                break;
        }
        return 0;
}

const char *sdp_error_code_to_string(SdpErrorCode c) {
        return TABLE_TO_STRING(error_code_table, c);
}

/* ---- errors ---- */

static unsigned error_code_status(SdpErrorCode c) {
        switch (c) {
        case SDP_ERROR_PARSE:
                return 400;
        case SDP_ERROR_NO_LOCAL_CRYPTO:
        case SDP_ERROR_INTERNAL:
                return 500;
        case SDP_ERROR_TOO_BIG:
        case SDP_ERROR_NO_AUDIO:
        case SDP_ERROR_NO_ADDRESS:
        case SDP_ERROR_UNSUPPORTED_PROFILE:
        case SDP_ERROR_NO_COMMON_CODEC:
        case SDP_ERROR_SRTP_REQUIRED:
        case SDP_ERROR_SRTP_NOT_ENABLED:
        case SDP_ERROR_NO_USABLE_CRYPTO:
                return 488;
        case SDP_ERROR_ANSWER_MEDIA:
        case SDP_ERROR_ANSWER_REJECTED:
        case SDP_ERROR_ANSWER_CODEC:
        case SDP_ERROR_ANSWER_CRYPTO:
        case _SDP_ERROR_CODE_MAX:
        case _SDP_ERROR_CODE_INVALID:
                break;
        }
        return 0;
}

/* Fill *error (if given) and return r. */
int sdp_fail(SdpError *error, int r, SdpErrorCode code, const char *format, ...) {
        va_list ap;

        if (!error)
                return r;
        error->code = code;
        error->status = error_code_status(code);
        va_start(ap, format);
        vsnprintf(error->reason, sizeof(error->reason), format, ap);
        va_end(ap);
        return r;
}

/* ---- parsing a body ---- */

typedef struct Parser {
        SdpSession *s;
        SdpMedia *m;                    /* current m= section; NULL at session level */
        SdpDirection session_direction;
        bool media_direction_set;
        bool poisoned[128];             /* payload types of m made unusable by a bad attribute */
        bool seen_origin;
        size_t line;
        SdpError *error;
} Parser;

#define PARSE_FAIL(p, ...) sdp_fail((p)->error, -EINVAL, SDP_ERROR_PARSE, __VA_ARGS__)

typedef struct StaticPayload {
        const char *name;
        uint32_t clock_rate;
        uint8_t channels;
} StaticPayload;

/* RFC 3551 table 4: the audio payload types that need no a=rtpmap. */
static const StaticPayload static_payloads[] = {
        [0] = { "PCMU", 8000, 1 },   [3] = { "GSM", 8000, 1 },    [4] = { "G723", 8000, 1 },
        [5] = { "DVI4", 8000, 1 },   [6] = { "DVI4", 16000, 1 },  [7] = { "LPC", 8000, 1 },
        [8] = { "PCMA", 8000, 1 },   [9] = { "G722", 8000, 1 },   [10] = { "L16", 44100, 2 },
        [11] = { "L16", 44100, 1 },  [12] = { "QCELP", 8000, 1 }, [13] = { "CN", 8000, 1 },
        [14] = { "MPA", 90000, 1 },  [15] = { "G728", 8000, 1 },  [16] = { "DVI4", 11025, 1 },
        [17] = { "DVI4", 22050, 1 }, [18] = { "G729", 8000, 1 },
};

static SdpCodec *media_find_codec(SdpMedia *m, unsigned pt) {
        for (size_t i = 0; i < m->n_codecs; i++)
                if (m->codecs[i].payload_type == pt)
                        return &m->codecs[i];
        return NULL;
}

static void media_add_payload(SdpMedia *m, const char *token) {
        unsigned pt;

        if (m->n_codecs >= SDP_CODECS_MAX || parse_uint(token, 127, &pt) < 0 || media_find_codec(m, pt))
                return;
        SdpCodec *c = &m->codecs[m->n_codecs++];
        *c = (SdpCodec) { .payload_type = pt, .channels = 1 };
        if (pt < ELEMENTSOF(static_payloads) && static_payloads[pt].name) {
                strcpy(c->name, static_payloads[pt].name);
                c->clock_rate = static_payloads[pt].clock_rate;
                c->channels = static_payloads[pt].channels;
        }
}


static int parse_origin(Parser *p, const char *v) {
        char t[SDP_LINE_MAX + 1];
        uint64_t *numbers[] = { &p->s->origin_id, &p->s->origin_version };

        if (p->m || p->seen_origin)
                return PARSE_FAIL(p, "line %zu: o= out of place", p->line);
        if (next_token(&v, t, sizeof(t)) < 0 ||
            copy_string(p->s->origin_user, sizeof(p->s->origin_user), t) < 0)
                return PARSE_FAIL(p, "line %zu: malformed o= user name", p->line);
        for (size_t i = 0; i < ELEMENTSOF(numbers); i++) {
                if (next_token(&v, t, sizeof(t)) < 0)
                        return PARSE_FAIL(p, "line %zu: malformed o= line", p->line);
                /* Numbers beyond 64 bits (seen in the wild) only need to compare: hash them. */
                if (parse_u64(t, UINT64_MAX, numbers[i]) < 0)
                        *numbers[i] = hash64(t);
        }
        if (next_token(&v, t, sizeof(t)) < 0 || next_token(&v, t, sizeof(t)) < 0 ||
            next_token(&v, t, sizeof(t)) < 0 ||
            copy_string(p->s->origin_address, sizeof(p->s->origin_address), t) < 0)
                return PARSE_FAIL(p, "line %zu: malformed o= line", p->line);
        p->seen_origin = true;
        return 0;
}

static int parse_connection(Parser *p, const char *v) {
        char net[SDP_LINE_MAX + 1], type[SDP_LINE_MAX + 1], addr[SDP_LINE_MAX + 1];
        char *target = p->m ? p->m->address : p->s->address;

        if (next_token(&v, net, sizeof(net)) < 0 || next_token(&v, type, sizeof(type)) < 0 ||
            next_token(&v, addr, sizeof(addr)) < 0)
                return PARSE_FAIL(p, "line %zu: malformed c= line", p->line);
        if (strcasecmp(net, "IN") != 0 || (strcasecmp(type, "IP4") != 0 && strcasecmp(type, "IP6") != 0))
                return PARSE_FAIL(p, "line %zu: c= is not IN IP4 or IN IP6", p->line);
        addr[strcspn(addr, "/")] = 0; /* multicast TTL / count */
        if (!address_is_valid(addr) || strlen(addr) >= SDP_ADDRESS_MAX)
                return PARSE_FAIL(p, "line %zu: invalid address in c=", p->line);
        if (!*target) /* several c= in one section are for layered multicast: keep the first */
                strcpy(target, addr);
        return 0;
}

static void media_finish(Parser *p) {
        SdpMedia *m = p->m;

        if (!m)
                return;
        if (!p->media_direction_set)
                m->direction = p->session_direction;
        for (size_t i = 0; i < m->n_codecs; i++)
                if (p->poisoned[m->codecs[i].payload_type])
                        m->codecs[i].name[0] = 0;
        sdp_crypto_mark_duplicate_tags(m);
        for (size_t i = 0; i < m->n_crypto; i++)
                if (!m->crypto[i].valid)
                        m->has_invalid_crypto = true;
        p->m = NULL;
        p->media_direction_set = false;
        memset(p->poisoned, 0, sizeof(p->poisoned));
}

static int parse_media(Parser *p, const char *v) {
        char t[SDP_LINE_MAX + 1];
        unsigned port;
        SdpMedia *m;

        media_finish(p);
        if (p->s->n_media >= SDP_MEDIA_MAX)
                return sdp_fail(p->error, -E2BIG, SDP_ERROR_TOO_BIG, "more than %d m= lines", SDP_MEDIA_MAX);
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        p->s->media[p->s->n_media++] = p->m = m;

        if (next_token(&v, t, sizeof(t)) < 0 || copy_string(m->media, sizeof(m->media), t) < 0)
                return PARSE_FAIL(p, "line %zu: malformed m= media type", p->line);
        if (next_token(&v, t, sizeof(t)) < 0)
                return PARSE_FAIL(p, "line %zu: malformed m= line", p->line);
        t[strcspn(t, "/")] = 0; /* port/number of ports */
        if (parse_uint(t, UINT16_MAX, &port) < 0)
                return PARSE_FAIL(p, "line %zu: invalid port in m=", p->line);
        m->port = port;
        if (next_token(&v, t, sizeof(t)) < 0 || copy_string(m->proto, sizeof(m->proto), t) < 0)
                return PARSE_FAIL(p, "line %zu: malformed m= transport", p->line);
        int r = table_lookup(profile_table, ELEMENTSOF(profile_table), t);
        m->profile = r < 0 ? SDP_PROFILE_OTHER : r;

        while (next_token(&v, t, sizeof(t)) >= 0) {
                size_t n = strlen(m->formats);
                if (n + 1 + strlen(t) < sizeof(m->formats))
                        sprintf(m->formats + n, "%s%s", n > 0 ? " " : "", t);
                if (m->profile != SDP_PROFILE_OTHER)
                        media_add_payload(m, t);
        }
        if (!m->formats[0])
                return PARSE_FAIL(p, "line %zu: m= line without formats", p->line);
        return 0;
}

/* "a=rtpmap:<pt> <name>/<rate>[/<channels>]"; a malformed one makes the payload unusable. */
static void parse_rtpmap(Parser *p, const char *v) {
        char t[SDP_LINE_MAX + 1];
        unsigned pt, rate, channels = 1;
        SdpCodec *c;

        if (next_token(&v, t, sizeof(t)) < 0 || parse_uint(t, 127, &pt) < 0 ||
            !(c = media_find_codec(p->m, pt)))
                return;
        if (next_token(&v, t, sizeof(t)) < 0)
                goto bad;
        char *slash = strchr(t, '/');
        if (!slash || slash == t || (size_t) (slash - t) >= sizeof(c->name))
                goto bad;
        *slash++ = 0;
        char *slash2 = strchr(slash, '/');
        if (slash2) {
                *slash2++ = 0;
                if (parse_uint(slash2, UINT8_MAX, &channels) < 0 || channels == 0)
                        goto bad;
        }
        if (parse_uint(slash, 10000000, &rate) < 0 || rate == 0)
                goto bad;
        strcpy(c->name, t);
        c->clock_rate = rate;
        c->channels = channels;
        return;
bad:
        p->poisoned[pt] = true;
}

/* "a=fmtp:<pt> <parameters>"; one too long for us makes the payload unusable. */
static void parse_fmtp(Parser *p, const char *v) {
        char t[SDP_LINE_MAX + 1];
        unsigned pt;
        SdpCodec *c;

        if (next_token(&v, t, sizeof(t)) < 0 || parse_uint(t, 127, &pt) < 0 ||
            !(c = media_find_codec(p->m, pt)))
                return;
        if (copy_string(c->fmtp, sizeof(c->fmtp), skip_blanks(v)) < 0)
                p->poisoned[pt] = true;
}

/* "a=rtcp:<port> [IN IP4|IP6 <address>]" (RFC 3605). */
static void parse_rtcp(Parser *p, const char *v) {
        char t[SDP_LINE_MAX + 1], net[SDP_LINE_MAX + 1], type[SDP_LINE_MAX + 1];
        unsigned port;

        if (next_token(&v, t, sizeof(t)) < 0 || parse_uint(t, UINT16_MAX, &port) < 0 || port == 0)
                return;
        p->m->rtcp_port = port;
        if (next_token(&v, net, sizeof(net)) < 0 || next_token(&v, type, sizeof(type)) < 0 ||
            next_token(&v, t, sizeof(t)) < 0)
                return;
        if (strcasecmp(net, "IN") == 0 && address_is_valid(t) && strlen(t) < sizeof(p->m->rtcp_address))
                strcpy(p->m->rtcp_address, t);
}

static void parse_crypto(Parser *p, const char *v) {
        SdpMedia *m = p->m;

        if (m->n_crypto >= SDP_CRYPTO_MAX)
                return;
        SdpCrypto *c = &m->crypto[m->n_crypto++];
        if (sdp_crypto_parse(v, c) < 0) {
                *c = (SdpCrypto) { .suite = SDP_CRYPTO_SUITE_UNKNOWN };
                strcpy(c->invalid_reason, "attribute too long");
        }
}

/* ptime may be written "20.0": the integer part, 1..10000 ms. */
static unsigned parse_ptime(const char *v) {
        uint64_t ms;
        if (parse_u64n(v, strcspn(v, "."), 10000, &ms) < 0 || ms == 0)
                return 0;
        return (unsigned) ms;
}

static int parse_attribute(Parser *p, char *v) {
        char *value = strchr(v, ':');
        if (value)
                *value++ = 0;
        else
                value = v + strlen(v);

        SdpDirection d = sdp_direction_from_string(v);
        if (!p->m) {
                if (d >= 0)
                        p->session_direction = d;
                return 0;
        }
        if (d >= 0) {
                p->m->direction = d;
                p->media_direction_set = true;
        } else if (strcasecmp(v, "rtpmap") == 0)
                parse_rtpmap(p, value);
        else if (strcasecmp(v, "fmtp") == 0)
                parse_fmtp(p, value);
        else if (strcasecmp(v, "ptime") == 0)
                p->m->ptime = parse_ptime(value);
        else if (strcasecmp(v, "maxptime") == 0)
                p->m->maxptime = parse_ptime(value);
        else if (strcasecmp(v, "rtcp") == 0)
                parse_rtcp(p, value);
        else if (strcasecmp(v, "rtcp-mux") == 0)
                p->m->rtcp_mux = true;
        else if (strcasecmp(v, "crypto") == 0)
                parse_crypto(p, value);
        return 0;
}

static int parse_line(Parser *p, char *line) {
        for (const char *c = line; *c; c++)
                if (((uint8_t) *c < 0x20 && *c != '\t') || *c == 0x7f)
                        return PARSE_FAIL(p, "line %zu: control character", p->line);
        if (line[0] < 'a' || line[0] > 'z' || line[1] != '=')
                return PARSE_FAIL(p, "line %zu: not <type>=<value>", p->line);
        if (p->line == 1)
                return streq(line, "v=0") ? 0 : PARSE_FAIL(p, "not SDP: first line is not v=0");

        switch (line[0]) {
        case 'v':
                return PARSE_FAIL(p, "line %zu: v= repeated", p->line);
        case 'o':
                return parse_origin(p, line + 2);
        case 'c':
                return parse_connection(p, line + 2);
        case 'm':
                return parse_media(p, line + 2);
        case 'a':
                return parse_attribute(p, line + 2);
        }
        return 0; /* s=, t=, b=, i=, ... : nothing we need */
}

static void media_resolve_address(SdpMedia *m, const SdpSession *s) {
        union {
                struct in_addr in;
                struct in6_addr in6;
        } a;

        if (!m->address[0])
                strcpy(m->address, s->address);
        m->family = AF_UNSPEC;
        if (inet_pton(AF_INET, m->address, &a.in) == 1) {
                m->family = AF_INET;
                m->address_is_hold = a.in.s_addr == 0;
        } else if (inet_pton(AF_INET6, m->address, &a.in6) == 1) {
                m->family = AF_INET6;
                m->address_is_hold = IN6_IS_ADDR_UNSPECIFIED(&a.in6);
        }
        if (m->rtcp_port == 0 && m->port > 0 && m->port < UINT16_MAX)
                m->rtcp_port = m->port + 1;
}

static void erase_line(char (*l)[SDP_LINE_MAX + 1]) {
        explicit_bzero(*l, sizeof(*l));
}

static int parse_lines(Parser *p, const char *text, size_t size) {
        _cleanup_(erase_line) char line[SDP_LINE_MAX + 1];

        for (size_t i = 0; i < size;) {
                const char *nl = memchr(text + i, '\n', size - i);
                size_t len = nl ? (size_t) (nl - (text + i)) : size - i;
                size_t next = i + len + (nl ? 1 : 0);

                while (len > 0 && strchr(" \t\r", text[i + len - 1]) && text[i + len - 1] != 0)
                        len--;
                if (len > SDP_LINE_MAX)
                        return sdp_fail(p->error, -E2BIG, SDP_ERROR_TOO_BIG, "line %zu longer than %d bytes",
                                        p->line + 1, SDP_LINE_MAX);
                memcpy(line, text + i, len);
                line[len] = 0;
                i = next;
                if (len == 0)
                        continue;
                if (++p->line > SDP_LINES_MAX)
                        return sdp_fail(p->error, -E2BIG, SDP_ERROR_TOO_BIG, "more than %d lines",
                                        SDP_LINES_MAX);
                if (memchr(line, 0, len))
                        return PARSE_FAIL(p, "line %zu: NUL byte", p->line);
                int r = parse_line(p, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

int sdp_session_parse(const char *text, size_t size, SdpSession **ret, SdpError *error) {
        _cleanup_(sdp_session_freep) SdpSession *s = NULL;
        int r;

        if (!text || !ret)
                return -EINVAL;
        if (size > SDP_TEXT_MAX)
                return sdp_fail(error, -E2BIG, SDP_ERROR_TOO_BIG, "SDP larger than %d bytes", SDP_TEXT_MAX);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;

        Parser p = { .s = s, .session_direction = SDP_DIRECTION_SENDRECV, .error = error };
        r = parse_lines(&p, text, size);
        if (r < 0)
                return r;
        media_finish(&p);
        if (p.line == 0)
                return PARSE_FAIL(&p, "empty SDP");
        if (!p.seen_origin)
                return PARSE_FAIL(&p, "no o= line");
        for (size_t i = 0; i < s->n_media; i++)
                media_resolve_address(s->media[i], s);

        *ret = TAKE_PTR(s);
        return 0;
}

SdpSession *sdp_session_free(SdpSession *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_media; i++) {
                explicit_bzero(s->media[i], sizeof(*s->media[i]));
                free(s->media[i]);
        }
        explicit_bzero(s, sizeof(*s));
        free(s);
        return NULL;
}

bool sdp_session_changed(const SdpSession *old, const SdpSession *new_session) {
        if (!old || !new_session)
                return true;
        return !streq(old->origin_user, new_session->origin_user) || old->origin_id != new_session->origin_id ||
               old->origin_version != new_session->origin_version ||
               !streq(old->origin_address, new_session->origin_address);
}
