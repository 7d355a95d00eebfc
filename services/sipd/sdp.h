/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * SDP offer/answer for sipd (RFC 4566, RFC 3264, SDES RFC 4568).
 *
 * Pure code: no loop, no bus, no sofia or D-Bus types in this API. Everything is
 * plain fixed-size C structs, so a negotiated result can be copied by value and
 * nothing a peer sends can make us allocate more than the limits below.
 *
 * One call, as sipd uses it:
 *
 *   SdpLocal local;                           filled from Media1.CreateStream's reply:
 *   sdp_local_init(&local);                     address, port, codecs (incl. telephone-event),
 *   ... sdp_local_add_codec(), sdp_local_add_crypto() ...   ptime, srtp mode, crypto
 *   SdpOrigin origin;
 *   sdp_origin_init(&origin, random64);       once per call (dialog)
 *
 *   Outgoing call:                            Incoming call:
 *     sdp_make_offer(&local, &origin, &text)    sdp_session_parse(body, size, &offer, &err)
 *     ... 200 OK arrives with SDP ...           sdp_answer(offer, &local, &origin,
 *     sdp_session_parse(body, size, &answer, &err)                 &result, &text, &err)
 *     sdp_process_answer(&local, answer,        -> 200 OK with text; on failure
 *                        &result, &err)            answer err.status (488) with err.reason
 *   -> Stream.Start(result)                   -> Stream.Start(result)
 *
 * Re-INVITE: sdp_session_parse the new offer, sdp_session_changed() against the previous one
 * (same o= version: nothing changed, answer with the same SDP), else sdp_answer()
 * again with the same origin and Stream.Update(result). result.direction/result.hold
 * say whether the peer put us on hold. To hold the peer: set local.direction =
 * SDP_DIRECTION_SENDONLY and sdp_make_offer() again (the origin's version is bumped
 * automatically whenever the generated SDP differs from the last one).
 *
 * Conventions: functions return 0 or a negative errno. ret_* parameters are
 * written only on success. "SdpError *error" parameters are written only on
 * failure (may be NULL) and carry the SIP status to answer with and a reason
 * that contains no key material. Key material (SdpKeyParam) is secret: never log
 * an SdpCrypto's value or keys; sdp_session_free() and sdp_local_erase() wipe it.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what a peer can make us parse or keep. */
#define SDP_TEXT_MAX            (32 * 1024) /* whole body; larger: -E2BIG (SIP 413/488) */
#define SDP_LINE_MAX            1024        /* one line incl. "x="; longer: -E2BIG */
#define SDP_LINES_MAX           512         /* lines in a body; more: -E2BIG */
#define SDP_MEDIA_MAX           16          /* m= lines; more: -E2BIG (we could not answer them all) */
#define SDP_CODECS_MAX          32          /* payload formats kept per m-line; the rest ignored */
#define SDP_CRYPTO_MAX          16          /* a=crypto kept per m-line; the rest ignored */
#define SDP_CRYPTO_KEYS_MAX     4           /* key-params in one a=crypto (";"-separated) */
#define SDP_KEY_MAX             64          /* decoded master key + salt bytes (46 for AES-256) */

/* String sizes, including the NUL. */
#define SDP_ADDRESS_MAX         256         /* c= address: IPv4, IPv6 or FQDN */
#define SDP_CODEC_NAME_MAX      32          /* rtpmap encoding name */
#define SDP_FMTP_MAX            256         /* a=fmtp value after the payload type */
#define SDP_TOKEN_MAX           64          /* media type, proto, suite names, o= user */
#define SDP_FORMATS_MAX         256         /* the raw fmt list of an m= line */
#define SDP_CRYPTO_VALUE_MAX    512         /* one a=crypto value as written */
#define SDP_REASON_MAX          128

typedef enum SdpDirection {
        SDP_DIRECTION_SENDRECV,
        SDP_DIRECTION_SENDONLY,
        SDP_DIRECTION_RECVONLY,
        SDP_DIRECTION_INACTIVE,
        _SDP_DIRECTION_MAX,
        _SDP_DIRECTION_INVALID = -EINVAL,
} SdpDirection;

/* "sendrecv", "sendonly", "recvonly", "inactive": the strings of Media1's "direction". */
const char *sdp_direction_to_string(SdpDirection d);
SdpDirection sdp_direction_from_string(const char *s);
/* The direction the other side sees: sendonly <-> recvonly. */
SdpDirection sdp_direction_reverse(SdpDirection d);

/* account.N.srtp_encryption: 0 off, 1 optional, 2 compulsory. */
typedef enum SdpSrtpMode {
        SDP_SRTP_OFF,
        SDP_SRTP_OPTIONAL,              /* offer RTP/AVP with a=crypto; accept SRTP or RTP */
        SDP_SRTP_COMPULSORY,            /* offer RTP/SAVP; refuse anything unencrypted */
        _SDP_SRTP_MODE_MAX,
        _SDP_SRTP_MODE_INVALID = -EINVAL,
} SdpSrtpMode;

/* "off", "optional", "compulsory": the strings of Media1's "srtp" option. */
const char *sdp_srtp_mode_to_string(SdpSrtpMode m);
SdpSrtpMode sdp_srtp_mode_from_string(const char *s);

typedef enum SdpProfile {
        SDP_PROFILE_RTP_AVP,
        SDP_PROFILE_RTP_AVPF,
        SDP_PROFILE_RTP_SAVP,
        SDP_PROFILE_RTP_SAVPF,
        SDP_PROFILE_UDP_TLS_RTP_SAVP,   /* DTLS-SRTP: parsed, never accepted */
        SDP_PROFILE_UDP_TLS_RTP_SAVPF,
        SDP_PROFILE_OTHER,              /* anything else (SdpMedia.proto has the text) */
        _SDP_PROFILE_MAX,
        _SDP_PROFILE_INVALID = -EINVAL,
} SdpProfile;

const char *sdp_profile_to_string(SdpProfile p); /* "RTP/AVP" ...; NULL for OTHER */
bool sdp_profile_is_secure(SdpProfile p);        /* SAVP, SAVPF, UDP/TLS/... */

/* SDES crypto suites (RFC 4568, RFC 6188, RFC 7714). Names compare case-insensitively. */
typedef enum SdpCryptoSuite {
        SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80,
        SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32,
        SDP_CRYPTO_AES_256_CM_HMAC_SHA1_80,
        SDP_CRYPTO_AES_256_CM_HMAC_SHA1_32,
        SDP_CRYPTO_AEAD_AES_128_GCM,
        SDP_CRYPTO_AEAD_AES_256_GCM,
        SDP_CRYPTO_SUITE_UNKNOWN,       /* parsed (suite_name has it), never chosen */
        _SDP_CRYPTO_SUITE_MAX,
        _SDP_CRYPTO_SUITE_INVALID = -EINVAL,
} SdpCryptoSuite;

const char *sdp_crypto_suite_to_string(SdpCryptoSuite s);    /* NULL for UNKNOWN */
SdpCryptoSuite sdp_crypto_suite_from_string(const char *s);  /* UNKNOWN if not ours */
/* Master key + master salt length in bytes (30, 46, 28, 44), 0 for UNKNOWN. */
size_t sdp_crypto_suite_key_size(SdpCryptoSuite s);

/* One "inline:<key||salt>[|lifetime][|MKI:length]" key-param of an a=crypto. */
typedef struct SdpKeyParam {
        uint8_t key[SDP_KEY_MAX];       /* master key || master salt (secret) */
        size_t key_size;
        uint64_t lifetime;              /* packets; 0: not given (suite default) */
        uint32_t mki;                   /* MKI value, when mki_length > 0 */
        unsigned mki_length;            /* MKI length in bytes 1..128; 0: no MKI */
} SdpKeyParam;

/*
 * One a=crypto attribute: "<tag> <suite> <key-params> [<session-params>]".
 * valid == false: the attribute is malformed (bad tag, no/garbled key, wrong key
 * length for its suite, bad lifetime/MKI, duplicate tag on the m-line, ...);
 * invalid_reason says why. A valid attribute may still be unusable: suite
 * UNKNOWN or unsupported session parameters (supported == false).
 */
typedef struct SdpCrypto {
        bool valid;
        bool supported;                 /* valid, known suite, no session params we do not honour */
        char invalid_reason[SDP_REASON_MAX];
        uint32_t tag;                   /* 1*9DIGIT */
        SdpCryptoSuite suite;
        char suite_name[SDP_TOKEN_MAX]; /* as written */
        SdpKeyParam keys[SDP_CRYPTO_KEYS_MAX];
        size_t n_keys;
        char session_params[SDP_CRYPTO_VALUE_MAX]; /* raw, space-separated, "" if none */
        char value[SDP_CRYPTO_VALUE_MAX];  /* the whole attribute value (secret): Media1 "crypto" */
} SdpCrypto;

/*
 * Parse one a=crypto value (without "a=crypto:"), e.g. Media1's "crypto" strings.
 * Returns 0 and fills *ret even for an invalid attribute (ret->valid == false);
 * negative errno only for -E2BIG (value too long) or NULL input.
 */
int sdp_crypto_parse(const char *value, SdpCrypto *ret);

typedef struct SdpCodec {
        char name[SDP_CODEC_NAME_MAX];  /* as in rtpmap: "PCMU", "G722", "opus", "telephone-event" */
        uint8_t payload_type;           /* 0..127 */
        uint32_t clock_rate;            /* rtpmap clock rate (G722: 8000) */
        uint8_t channels;               /* 1 when not given */
        char fmtp[SDP_FMTP_MAX];        /* a=fmtp value, "" if none */
} SdpCodec;

/* True for "telephone-event" (RFC 4733), compared case-insensitively. */
bool sdp_codec_is_dtmf(const SdpCodec *c);

/*
 * Our side of the media, from Media1.CreateStream's reply ("local" dict) plus the
 * account's srtp_encryption. Plain data; sdp_local_erase() wipes the keys.
 */
typedef struct SdpLocal {
        char address[SDP_ADDRESS_MAX];  /* for c= and o=; IPv6 if it contains ':' */
        uint16_t port;                  /* RTP port */
        SdpCodec codecs[SDP_CODECS_MAX];/* preference order; telephone-event entries included */
        size_t n_codecs;
        unsigned ptime;                 /* ms; 0: no a=ptime */
        SdpDirection direction;         /* SENDRECV normally; SENDONLY to hold the peer, INACTIVE */
        SdpSrtpMode srtp;
        SdpCrypto crypto[SDP_CRYPTO_MAX];/* our keys, one per suite we support, preference order */
        size_t n_crypto;
} SdpLocal;

void sdp_local_init(SdpLocal *l);       /* zero, direction sendrecv, srtp off */
void sdp_local_erase(SdpLocal *l);      /* explicit_bzero the whole struct */
/* Append a codec (Media1 "codecs" a(suuus) entry). -E2BIG when full, -EINVAL on bad values. */
int sdp_local_add_codec(SdpLocal *l, const char *name, unsigned payload_type, unsigned clock_rate,
                        unsigned channels, const char *fmtp);
/* Append one of Media1's "crypto" strings. -EINVAL if it does not parse as a valid, supported
 * a=crypto (that is mediad's bug), -E2BIG when full. */
int sdp_local_add_crypto(SdpLocal *l, const char *value);

/* o= line state, one per call; sdp_make_offer()/sdp_answer() maintain the version. */
typedef struct SdpOrigin {
        uint64_t session_id;
        uint64_t version;
        uint64_t last_hash;             /* of the last SDP we generated, without o= */
        bool used;
} SdpOrigin;

/* session_id: a random number (sipd's choice); the first version equals it (RFC 4566 advice). */
void sdp_origin_init(SdpOrigin *o, uint64_t session_id);

/* One m= line of a parsed SDP. */
typedef struct SdpMedia {
        char media[SDP_TOKEN_MAX];      /* "audio", "video", ... */
        uint16_t port;                  /* 0: rejected / disabled stream */
        char proto[SDP_TOKEN_MAX];      /* as written */
        SdpProfile profile;
        char formats[SDP_FORMATS_MAX];  /* raw fmt list as written (truncated at a token) */
        SdpCodec codecs[SDP_CODECS_MAX];/* RTP profiles only: payloads in the offerer's order */
        size_t n_codecs;
        char address[SDP_ADDRESS_MAX];  /* media c=, else session c=; "" if none */
        int family;                     /* AF_INET / AF_INET6 / AF_UNSPEC (FQDN or none) */
        bool address_is_hold;           /* c= 0.0.0.0 (RFC 2543 hold) or :: */
        uint16_t rtcp_port;             /* a=rtcp port, else port + 1 */
        char rtcp_address[SDP_ADDRESS_MAX]; /* a=rtcp address, "" if not given */
        bool rtcp_mux;
        unsigned ptime;                 /* 0: none */
        unsigned maxptime;              /* 0: none */
        SdpDirection direction;         /* media attribute, else session attribute, else sendrecv */
        SdpCrypto crypto[SDP_CRYPTO_MAX];
        size_t n_crypto;
        bool has_invalid_crypto;        /* at least one a=crypto with valid == false */
} SdpMedia;

/* A parsed SDP (a remote offer or answer). Free with sdp_session_free() (wipes keys). */
typedef struct SdpSession {
        char origin_user[SDP_TOKEN_MAX];
        uint64_t origin_id;
        uint64_t origin_version;
        char origin_address[SDP_ADDRESS_MAX];
        char address[SDP_ADDRESS_MAX];  /* session-level c=, "" if none */
        SdpMedia *media[SDP_MEDIA_MAX];
        size_t n_media;
} SdpSession;

/* Why an SDP was refused. The caller answers status with reason (Warning / EndReason). */
typedef enum SdpErrorCode {
        SDP_ERROR_PARSE,                /* not SDP, or a mandatory line malformed: 400 */
        SDP_ERROR_TOO_BIG,              /* a limit above was hit: 488 */
        SDP_ERROR_NO_AUDIO,             /* no audio m-line with a port: 488 */
        SDP_ERROR_NO_ADDRESS,           /* audio stream without c=: 488 */
        SDP_ERROR_UNSUPPORTED_PROFILE,  /* only DTLS-SRTP or unknown transports: 488 */
        SDP_ERROR_NO_COMMON_CODEC,      /* 488 */
        SDP_ERROR_SRTP_REQUIRED,        /* compulsory, but offer/answer is unencrypted: 488 */
        SDP_ERROR_SRTP_NOT_ENABLED,     /* RTP/SAVP offered while our SRTP is off: 488 */
        SDP_ERROR_NO_USABLE_CRYPTO,     /* SRTP wanted, no valid a=crypto with a suite we have: 488 */
        SDP_ERROR_NO_LOCAL_CRYPTO,      /* SRTP wanted but SdpLocal has no keys (mediad's bug): 500 */
        SDP_ERROR_ANSWER_MEDIA,         /* answer's m-lines do not match our offer */
        SDP_ERROR_ANSWER_REJECTED,      /* answer set our audio port to 0 */
        SDP_ERROR_ANSWER_CODEC,         /* answer chose no codec of our offer */
        SDP_ERROR_ANSWER_CRYPTO,        /* answer's a=crypto: tag/suite not offered, invalid, missing */
        SDP_ERROR_INTERNAL,             /* SdpLocal incomplete (no address/port/codec): 500 */
        _SDP_ERROR_CODE_MAX,
        _SDP_ERROR_CODE_INVALID = -EINVAL,
} SdpErrorCode;

typedef struct SdpError {
        SdpErrorCode code;
        unsigned status;                /* SIP status to respond with to an offer; 0 from
                                         * sdp_process_answer() (unless SDP_ERROR_INTERNAL) */
        char reason[SDP_REASON_MAX];    /* one line, no secrets: "no common codec" ... */
} SdpError;

const char *sdp_error_code_to_string(SdpErrorCode c);

/*
 * Return values of sdp_session_parse/sdp_answer/sdp_process_answer:
 *   -EINVAL  not SDP / malformed (SDP_ERROR_PARSE), or bad arguments (SDP_ERROR_INTERNAL)
 *   -E2BIG   a limit was hit (SDP_ERROR_TOO_BIG)
 *   -EPROTO  well-formed but not acceptable: error->code/status/reason say why
 *   -ENOMEM
 */

/*
 * Parse an SDP body (a remote offer or answer). Accepts CRLF or LF, ignores
 * unknown lines and attributes. -EINVAL (SDP_ERROR_PARSE) if it is not SDP,
 * -E2BIG (SDP_ERROR_TOO_BIG) past a limit, -ENOMEM.
 */
/* Not sdp_parse(): that name is libsofia-sip-ua's, and sipd's exported symbols would replace it. */
int sdp_session_parse(const char *text, size_t size, SdpSession **ret, SdpError *error);
SdpSession *sdp_session_free(SdpSession *s);
static inline void sdp_session_freep(SdpSession **s) {
        if (*s)
                sdp_session_free(*s);
}

/*
 * A re-INVITE's SDP against the previous one from the same peer: false if the
 * o= line (user, session id, version) is the same (RFC 3264 §8: nothing changed).
 */
bool sdp_session_changed(const SdpSession *old, const SdpSession *new_session);

/* The outcome of an offer/answer exchange: what Stream.Start/Update need. */
typedef struct SdpNegotiated {
        size_t media_index;             /* the m-line used */
        char address[SDP_ADDRESS_MAX];  /* remote RTP address */
        int family;                     /* AF_INET / AF_INET6 / AF_UNSPEC (FQDN) */
        uint16_t port;                  /* remote RTP port */
        uint16_t rtcp_port;             /* remote RTCP port (a=rtcp, else port + 1) */
        SdpCodec codec;                 /* payload_type: the one the remote receives on */
        uint8_t local_payload_type;     /* the one we receive on (same unless the answer renumbered) */
        int dtmf_payload_type;          /* telephone-event at the codec's clock rate; -1: none */
        unsigned ptime;                 /* remote a=ptime, else ours, else 20 */
        SdpProfile profile;             /* on the wire */
        SdpDirection direction;         /* OURS after negotiation: what the stream should do */
        bool hold;                      /* the peer holds us (sendonly/inactive or c=0.0.0.0) */
        bool srtp;                      /* SDES keys agreed; then both cryptos below are set */
        SdpCrypto local_crypto;         /* our key, to protect what we send (tag = the agreed one) */
        SdpCrypto remote_crypto;        /* their key, to unprotect what we receive ("crypto" of Start) */
} SdpNegotiated;

void sdp_negotiated_erase(SdpNegotiated *n); /* explicit_bzero */

/*
 * Our offer: v=, o=, s=, c=, t=0 0, one m=audio with every codec of l (telephone-event
 * included), a=rtpmap for each, a=fmtp, a=ptime, direction, and with SRTP optional
 * (RTP/AVP) or compulsory (RTP/SAVP) one a=crypto per local key. Bumps o.version when
 * the text differs from the last one generated with o. *ret_text is NUL-terminated,
 * CRLF line ends; free() it (it holds keys: explicit_bzero first, or use erase_and_free).
 */
int sdp_make_offer(const SdpLocal *l, SdpOrigin *o, char **ret_text);

/*
 * Answer a remote offer (initial or re-INVITE). Picks one audio m-line (with SRTP
 * optional the first that can be encrypted, else the first usable one), rejects every
 * other m-line with port 0, chooses:
 *  - codec: the first of OUR preference order that the offer has (RFC 3264 §6.1 lets
 *    the answerer pick and order; Yealink uses its local priority). The answer lists
 *    the chosen codec and telephone-event, with the offer's payload type numbers;
 *  - crypto: the first offered a=crypto (offerer's preference) that is valid and has
 *    a suite we have a key for; the answer echoes its tag and suite with our key;
 *  - direction: from the offer's and l->direction (offer sendonly -> we recvonly, ...).
 * Invalid a=crypto lines are skipped, not fatal (RFC 4568 §7.1.2: choose a valid
 * one; reject the stream only if none remains and encryption is needed).
 * SRTP policy per offered audio m-line:
 *   off:        RTP/AVP(F) answered in the clear (any a=crypto ignored); RTP/SAVP(F) refused
 *   optional:   RTP/SAVP(F) needs a usable a=crypto; RTP/AVP(F) with a usable a=crypto is
 *               answered RTP/AVP + a=crypto (best-effort SRTP, RFC 8643), else in the clear
 *   compulsory: only RTP/SAVP(F) with a usable a=crypto (as Yealink and pjsip do; an
 *               RTP/AVP offer is refused even with a=crypto)
 *   DTLS-SRTP (UDP/TLS/...) and unknown transports are never accepted.
 * On failure nothing is written but *error (status 488 for most). The answer's audio
 * m-line repeats the offer's media and transport tokens as written.
 */
int sdp_answer(const SdpSession *offer, const SdpLocal *l, SdpOrigin *o, SdpNegotiated *ret_result,
               char **ret_text, SdpError *error);

/*
 * The remote answer to our offer made from l: exactly one audio m-line with the
 * transport we offered (RTP/SAVP also accepted for an optional-mode offer), codec among
 * those we offered (the answer's first; matched by name/rate/channels; its payload type
 * wins for sending), the first a=crypto echoing one of our tags with the same suite (it
 * carries their key), SRTP as required by l->srtp (optional: encrypted if they answered
 * a=crypto, plain otherwise). error->status is 0: the caller hangs up (BYE/CANCEL or
 * ACK+BYE) with error->reason as EndReason.
 */
int sdp_process_answer(const SdpLocal *l, const SdpSession *answer, SdpNegotiated *ret_result,
                       SdpError *error);
