/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SDP offer/answer (services/sipd/sdp.c): hand-written cases first, then the real
 * offers of ../shared/corpus/sdp (argv[1] or $DESKPHONE_CORPUS/sdp; skipped when
 * missing): RFC 4568 examples, rtpengine's SDES cases, pjsip's sendto cases with
 * pjsip's expected responses, Yealink's manual, captures from issue threads.
 */

#include <arpa/inet.h>
#include <regex.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "sdp.h"
#include "tap.h"
#include "util.h"

static void *mfree(void *p) {
        free(p);
        return NULL;
}

#define HDR "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n"

/* Our keys, one per supported suite (as mediad would hand them out). */
static const char * const local_crypto[] = {
        "1 AES_CM_128_HMAC_SHA1_80 inline:HiUsMzpBSE9WXWRrcnmAh46VnKOqsbi/xs3U2+Lp",
        "2 AES_CM_128_HMAC_SHA1_32 inline:Aw4ZJC86RVBbZnF8h5KdqLO+ydTf6vUACxYhLDdC",
        "3 AES_256_CM_HMAC_SHA1_80 inline:LjU8Q0pRWF9mbXR7gomQl56lrLO6wcjP1t3k6/L5AAcOFRwjKjE4P0ZNVFtiaQ==",
        "4 AEAD_AES_128_GCM inline:HCMqMTg/Rk1UW2JpcHd+hYyTmqGor7a9xMvS2Q==",
        "5 AEAD_AES_256_GCM inline:LDM6QUhPVl1ka3J5gIeOlZyjqrG4v8bN1Nvi6fD3/gUMExohKC82PURLUlk=",
};

typedef struct KnownCodec {
        const char *name;
        unsigned pt, rate, channels;
        const char *fmtp;
} KnownCodec;

static const KnownCodec known_codecs[] = {
        { "G722", 9, 8000, 1, NULL },
        { "PCMU", 0, 8000, 1, NULL },
        { "PCMA", 8, 8000, 1, NULL },
        { "opus", 111, 48000, 2, "useinbandfec=1" },
        { "telephone-event", 101, 8000, 1, "0-16" },
        { "telephone-event/48000", 102, 48000, 1, "0-16" },
};

/* codecs: comma-separated names of known_codecs (NULL: G722,PCMU,PCMA,telephone-event);
 * crypto_mask: which local_crypto lines we hold (0: all). */
static void make_local(SdpLocal *l, SdpSrtpMode srtp, const char *codecs, unsigned crypto_mask) {
        char list[256];

        sdp_local_init(l);
        strcpy(l->address, "192.0.2.10");
        l->port = 40000;
        l->ptime = 20;
        l->srtp = srtp;
        snprintf(list, sizeof(list), "%s", codecs ?: "G722,PCMU,PCMA,telephone-event");
        for (char *save = NULL, *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save))
                for (size_t i = 0; i < ELEMENTSOF(known_codecs); i++) {
                        const KnownCodec *k = &known_codecs[i];
                        if (!streq(k->name, n))
                                continue;
                        char name[32];
                        snprintf(name, sizeof(name), "%.*s", (int) strcspn(k->name, "/"), k->name);
                        if (sdp_local_add_codec(l, name, k->pt, k->rate, k->channels, k->fmtp) < 0)
                                abort();
                }
        for (size_t i = 0; i < ELEMENTSOF(local_crypto); i++)
                if ((crypto_mask == 0 || (crypto_mask & (1u << i))) && sdp_local_add_crypto(l, local_crypto[i]) < 0)
                        abort();
}

/* ---- a=crypto ---- */

typedef struct CryptoCase {
        const char *name;
        const char *value;
        bool valid;
        bool supported;
        SdpCryptoSuite suite;
        uint32_t tag;
        size_t n_keys;
        size_t key_size;
        uint64_t lifetime;
        uint32_t mki;
        unsigned mki_length;
        const char *reason; /* substring of invalid_reason */
} CryptoCase;

#define K30 "Ii88SVZjcH2Kl6SxvsvY5fL/DBkmM0BNWmd0gY6b"

static const CryptoCase crypto_cases[] = {
        { "/sdp/crypto/rfc4568-4.5-audio", "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32",
          true, true, SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32, 1, 1, 30, 1 << 20, 1, 32 },
        { "/sdp/crypto/plain", "7 AES_CM_128_HMAC_SHA1_80 inline:" K30, true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 7, 1, 30 },
        { "/sdp/crypto/suite-case-insensitive", "1 aEs_cM_128_HMaC_ShA1_32 inline:" K30, true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32, 1, 1, 30 },
        { "/sdp/crypto/tag-zero", "0 AES_CM_128_HMAC_SHA1_80 inline:" K30, true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 0, 1, 30 },
        { "/sdp/crypto/tag-nine-digits", "999999999 AES_CM_128_HMAC_SHA1_80 inline:" K30, true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 999999999, 1, 30 },
        { "/sdp/crypto/tag-ten-digits", "1000000000 AES_CM_128_HMAC_SHA1_80 inline:" K30, .reason = "tag" },
        { "/sdp/crypto/tag-non-numeric", "x AES_CM_128_HMAC_SHA1_32 inline:" K30, .reason = "tag" },
        { "/sdp/crypto/tag-signed", "+1 AES_CM_128_HMAC_SHA1_32 inline:" K30, .reason = "tag" },
        { "/sdp/crypto/empty", "", .reason = "empty" },
        { "/sdp/crypto/no-suite", "1", .reason = "no crypto suite" },
        { "/sdp/crypto/no-key", "0 AES_CM_128_HMAC_SHA1_80", .reason = "no key" },
        { "/sdp/crypto/inline-without-colon", "0 AES_CM_128_HMAC_SHA1_80 inline", .reason = "key method" },
        { "/sdp/crypto/inline-empty", "0 AES_CM_128_HMAC_SHA1_80 inline:", .reason = "empty key" },
        { "/sdp/crypto/other-key-method", "1 AES_CM_128_HMAC_SHA1_80 uri:http://example.com/key", .reason = "key method" },
        { "/sdp/crypto/key-too-long", "1 aes_cm_128_hmac_sha1_80 inline:" K30 K30, .reason = "needs 30" },
        { "/sdp/crypto/key-too-short", "1 AES_256_CM_HMAC_SHA1_80 inline:" K30, .reason = "needs 46" },
        { "/sdp/crypto/key-not-base64", "1 AES_CM_128_HMAC_SHA1_80 inline:Ii88SVZjcH2Kl6SxvsvY5fL/DBkmM0BNWmd0gY!b", .reason = "base64" },
        { "/sdp/crypto/key-huge", "1 FOO inline:" K30 K30 K30 K30, .reason = "base64 or too long" },
        { "/sdp/crypto/lifetime-decimal", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1048576", true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 1, 1, 30, 1048576 },
        { "/sdp/crypto/lifetime-2^48", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^48", true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 1, 1, 30, UINT64_C(1) << 48 },
        { "/sdp/crypto/lifetime-2^49", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^49", .reason = "lifetime" },
        { "/sdp/crypto/lifetime-zero", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|0", .reason = "lifetime" },
        { "/sdp/crypto/lifetime-garbage", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^", .reason = "lifetime" },
        { "/sdp/crypto/mki-without-lifetime", "2 AES_CM_128_HMAC_SHA1_32 inline:" K30 "|2:32", true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32, 2, 1, 30, 0, 2, 32 },
        { "/sdp/crypto/mki-length-zero", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:0", .reason = "MKI" },
        { "/sdp/crypto/mki-length-129", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:129", .reason = "MKI" },
        { "/sdp/crypto/mki-value-too-big", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|256:1", .reason = "MKI" },
        { "/sdp/crypto/mki-before-lifetime", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:4|2^20", .reason = "lifetime" },
        { "/sdp/crypto/two-mkis", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:4|2:4", .reason = "MKI" },
        { "/sdp/crypto/empty-key-field", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "||1:4", .reason = "key parameter" },
        { "/sdp/crypto/rfc4568-7.1.5-two-keys",
          "2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;"
          "inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP",
          true, false, SDP_CRYPTO_SUITE_UNKNOWN, 2, 2, 30, 1 << 20, 1, 4 },
        { "/sdp/crypto/two-keys-without-mki", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 ";inline:" K30, .reason = "MKI" },
        { "/sdp/crypto/five-keys", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:1;inline:" K30 "|2:1;inline:" K30
          "|3:1;inline:" K30 "|4:1;inline:" K30 "|5:1", .reason = "too many keys" },
        { "/sdp/crypto/session-fec-order", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " FEC_ORDER=FEC_SRTP WSH=64 -X_FOO",
          true, true, SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 1, 1, 30 },
        { "/sdp/crypto/session-unencrypted-srtp", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNENCRYPTED_SRTP",
          true, false, SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 1, 1, 30 },
        { "/sdp/crypto/session-kdr", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " KDR=10", true, false,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 1, 1, 30 },
        { "/sdp/crypto/aead128-unpadded", "2 AEAD_AES_128_GCM inline:P0xZZnOAjZqntMHO2+j1Ag8cKTZDUF1qd4SRng", true, true,
          SDP_CRYPTO_AEAD_AES_128_GCM, 2, 1, 28 },
        { "/sdp/crypto/aead256-one-pad", "1 AEAD_AES_256_GCM inline:XGl2g5CdqrfE0d7r+AUSHyw5RlNgbXqHlKGuu8jV4u/8CRYjMD1KV2Rxfos=",
          true, true, SDP_CRYPTO_AEAD_AES_256_GCM, 1, 1, 44 },
        { "/sdp/crypto/aes256-two-pads", "2 AES_256_CM_HMAC_SHA1_80 inline:eYaToK26x9Th7vsIFSIvPElWY3B9ipeksb7L2OXy/wwZJjNATVpndIGOm6i1wg==",
          true, true, SDP_CRYPTO_AES_256_CM_HMAC_SHA1_80, 2, 1, 46 },
        { "/sdp/crypto/unknown-suite", "5 AES_192_CM_HMAC_SHA1_80 inline:lqOwvcrX5PH+CxglMj9MWWZzgI2ap7TBztvo9QIPHCk2Q1Bdanc",
          true, false, SDP_CRYPTO_SUITE_UNKNOWN, 5, 1, 38 },
        { "/sdp/crypto/trailing-blanks", "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "  \t", true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 1, 1, 30 },
        { "/sdp/crypto/tab-separated", "1\tAES_CM_128_HMAC_SHA1_80\tinline:" K30, true, true,
          SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, 1, 1, 30 },
};

static void test_crypto_case(const CryptoCase *t) {
        SdpCrypto c;

        tap_begin(t->name);
        int r = sdp_crypto_parse(t->value, &c);
        if (check(r == 0, "r=%d", r)) {
                check(c.valid == t->valid, "valid=%d reason='%s'", c.valid, c.invalid_reason);
                check(c.supported == t->supported, "supported=%d", c.supported);
                if (t->valid) {
                        check(c.suite == t->suite, "suite=%d", c.suite);
                        check(c.tag == t->tag, "tag=%u", (unsigned) c.tag);
                        check(c.n_keys == t->n_keys, "n_keys=%zu", c.n_keys);
                        check(c.n_keys == 0 || c.keys[0].key_size == t->key_size, "key_size=%zu", c.keys[0].key_size);
                        check(c.keys[0].lifetime == t->lifetime, "lifetime=%llu",
                              (unsigned long long) c.keys[0].lifetime);
                        check(c.keys[0].mki == t->mki && c.keys[0].mki_length == t->mki_length, "mki=%u:%u",
                              (unsigned) c.keys[0].mki, c.keys[0].mki_length);
                } else {
                        check(strstr(c.invalid_reason, t->reason), "reason='%s'", c.invalid_reason);
                        check(!strstr(c.invalid_reason, "inline:") && !strstr(c.invalid_reason, "Ii88SVZj"),
                              "reason leaks the key: '%s'", c.invalid_reason);
                }
        }
        tap_end();
}

static void test_crypto_misc(void) {
        SdpCrypto c;
        char big[SDP_CRYPTO_VALUE_MAX + 10];

        tap_begin("/sdp/crypto/too-long");
        memset(big, 'A', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        check(sdp_crypto_parse(big, &c) == -E2BIG);
        check(sdp_crypto_parse(NULL, &c) == -EINVAL);
        tap_end();

        tap_begin("/sdp/crypto/key-bytes");
        check(sdp_crypto_parse("1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", &c) == 0);
        bool ok = c.valid && c.keys[0].key_size == 30;
        for (size_t i = 0; ok && i < 30; i++)
                ok = c.keys[0].key[i] == i;
        check(ok, "decoded key differs");
        tap_end();

        tap_begin("/sdp/crypto/suite-names");
        for (SdpCryptoSuite s = 0; s < SDP_CRYPTO_SUITE_UNKNOWN; s++) {
                check(sdp_crypto_suite_from_string(sdp_crypto_suite_to_string(s)) == s, "suite %d", s);
                check(sdp_crypto_suite_key_size(s) >= 28, "suite %d", s);
        }
        check(sdp_crypto_suite_key_size(SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80) == 30);
        check(sdp_crypto_suite_key_size(SDP_CRYPTO_AES_256_CM_HMAC_SHA1_80) == 46);
        check(sdp_crypto_suite_key_size(SDP_CRYPTO_AEAD_AES_128_GCM) == 28);
        check(sdp_crypto_suite_key_size(SDP_CRYPTO_AEAD_AES_256_GCM) == 44);
        check(sdp_crypto_suite_from_string("F8_128_HMAC_SHA1_80") == SDP_CRYPTO_SUITE_UNKNOWN);
        check(!sdp_crypto_suite_to_string(SDP_CRYPTO_SUITE_UNKNOWN));
        tap_end();
}

/* ---- parsing ---- */

typedef struct ParseCase {
        const char *name;
        const char *text;
        size_t size; /* 0: strlen */
        int ret;
        SdpErrorCode code; /* when ret < 0 */
        void (*verify)(const SdpSession *s);
} ParseCase;

static void check_minimal(const SdpSession *s) {
        check(s->n_media == 1);
        const SdpMedia *m = s->media[0];
        check(streq(m->media, "audio") && m->port == 4000 && m->profile == SDP_PROFILE_RTP_AVP);
        check(streq(m->address, "198.51.100.1") && m->family == AF_INET && !m->address_is_hold, "address=%s", m->address);
        check(m->rtcp_port == 4001);
        check(m->n_codecs == 1 && streq(m->codecs[0].name, "PCMU") && m->codecs[0].clock_rate == 8000);
        check(m->direction == SDP_DIRECTION_SENDRECV);
        check(streq(s->origin_user, "-") && s->origin_id == 1 && s->origin_version == 1);
}

static void check_ipv6(const SdpSession *s) {
        check(s->media[0]->family == AF_INET6 && streq(s->media[0]->address, "2001:db8::1"), "%s",
              s->media[0]->address);
}

static void check_media_c_overrides(const SdpSession *s) {
        check(streq(s->address, "198.51.100.1"));
        check(streq(s->media[0]->address, "203.0.113.5"), "%s", s->media[0]->address);
        check(streq(s->media[1]->address, "198.51.100.1"), "%s", s->media[1]->address);
}

static void check_no_c(const SdpSession *s) {
        check(s->media[0]->address[0] == 0 && s->media[0]->family == AF_UNSPEC);
}

static void check_hold_address(const SdpSession *s) {
        check(s->media[0]->address_is_hold);
}

static void check_hold_address6(const SdpSession *s) {
        check(s->media[0]->address_is_hold && s->media[0]->family == AF_INET6);
}

static void check_fqdn(const SdpSession *s) {
        check(s->media[0]->family == AF_UNSPEC && streq(s->media[0]->address, "media.example.com"));
}

static void check_port_count(const SdpSession *s) {
        check(s->media[0]->port == 49170);
}

static void check_static_payloads(const SdpSession *s) {
        const SdpMedia *m = s->media[0];
        check(m->n_codecs == 5, "%zu", m->n_codecs);
        check(streq(m->codecs[0].name, "G722") && m->codecs[0].clock_rate == 8000);
        check(streq(m->codecs[1].name, "PCMU") && streq(m->codecs[2].name, "PCMA"));
        check(streq(m->codecs[3].name, "G729"));
        check(m->codecs[4].payload_type == 96 && m->codecs[4].name[0] == 0, "dynamic without rtpmap");
}

static void check_rtpmap(const SdpSession *s) {
        const SdpMedia *m = s->media[0];
        check(m->n_codecs == 2);
        check(streq(m->codecs[0].name, "opus") && m->codecs[0].clock_rate == 48000 && m->codecs[0].channels == 2);
        check(streq(m->codecs[0].fmtp, "minptime=10;useinbandfec=1"), "'%s'", m->codecs[0].fmtp);
        check(streq(m->codecs[1].name, "telephone-event") && streq(m->codecs[1].fmtp, "0-15"));
}

static void check_bad_rtpmap(const SdpSession *s) {
        const SdpMedia *m = s->media[0];
        check(m->n_codecs == 3);
        check(m->codecs[0].name[0] == 0, "bad rate");
        check(m->codecs[1].name[0] == 0, "bad channels");
        check(m->codecs[2].name[0] == 0, "no rate");
}

static void check_fmtp_too_long(const SdpSession *s) {
        check(s->media[0]->codecs[0].name[0] == 0, "overlong fmtp must make the payload unusable");
        check(streq(s->media[0]->codecs[1].name, "PCMU"));
}

static void check_many_payloads(const SdpSession *s) {
        check(s->media[0]->n_codecs == SDP_CODECS_MAX, "%zu", s->media[0]->n_codecs);
        check(strlen(s->media[0]->formats) < SDP_FORMATS_MAX);
}

static void check_many_crypto(const SdpSession *s) {
        check(s->media[0]->n_crypto == SDP_CRYPTO_MAX, "%zu", s->media[0]->n_crypto);
}

static void check_session_direction(const SdpSession *s) {
        check(s->media[0]->direction == SDP_DIRECTION_SENDONLY);
        check(s->media[1]->direction == SDP_DIRECTION_INACTIVE);
}

static void check_rtcp(const SdpSession *s) {
        check(s->media[0]->rtcp_port == 5555 && streq(s->media[0]->rtcp_address, "203.0.113.9"));
        check(s->media[0]->rtcp_mux);
        check(s->media[0]->ptime == 30 && s->media[0]->maxptime == 60, "%u %u", s->media[0]->ptime,
              s->media[0]->maxptime);
}

static void check_big_version(const SdpSession *s) {
        check(s->origin_version != 0);
}

static void check_duplicate_tags(const SdpSession *s) {
        const SdpMedia *m = s->media[0];
        check(m->n_crypto == 3);
        check(!m->crypto[0].valid && !m->crypto[1].valid && strstr(m->crypto[0].invalid_reason, "duplicate"));
        check(m->crypto[2].valid && m->crypto[2].supported && m->crypto[2].tag == 2);
        check(m->has_invalid_crypto);
}

static void check_first_c(const SdpSession *s) {
        check(streq(s->media[0]->address, "203.0.113.1"));
}

static void check_unknown_proto(const SdpSession *s) {
        check(s->media[0]->profile == SDP_PROFILE_OTHER && streq(s->media[0]->proto, "udp"));
        check(s->media[0]->n_codecs == 0 && streq(s->media[0]->formats, "wb"));
}

#define P(...) __VA_ARGS__

static char *make_repeated(const char *head, const char *line, unsigned n, const char *tail) {
        size_t size = strlen(head) + strlen(line) * n + strlen(tail) + 1;
        char *s = malloc(size), *p;

        if (!s)
                abort();
        p = stpcpy(s, head);
        for (unsigned i = 0; i < n; i++)
                p = stpcpy(p, line);
        strcpy(p, tail);
        return s;
}

static const ParseCase parse_cases[] = {
        { "/sdp/parse/minimal", HDR "m=audio 4000 RTP/AVP 0\r\n", .verify = check_minimal },
        { "/sdp/parse/lf-only", "v=0\no=- 1 1 IN IP4 198.51.100.1\ns=-\nc=IN IP4 198.51.100.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
          .verify = check_minimal },
        { "/sdp/parse/blank-lines-and-trailing-blanks",
          "\r\nv=0 \r\no=- 1 1 IN IP4 198.51.100.1\r\n\r\ns=-\r\nc=IN IP4 198.51.100.1  \r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\t\r\n\r\n",
          .verify = check_minimal },
        { "/sdp/parse/no-final-newline", HDR "m=audio 4000 RTP/AVP 0", .verify = check_minimal },
        { "/sdp/parse/empty", "", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/not-sdp", "hello world\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/no-version", "o=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/version-1", "v=1\r\no=- 1 1 IN IP4 198.51.100.1\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/version-twice", HDR "v=0\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/no-origin", "v=0\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nm=audio 4000 RTP/AVP 0\r\n", .ret = -EINVAL,
          .code = SDP_ERROR_PARSE },
        { "/sdp/parse/origin-short", "v=0\r\no=- 1 1 IN IP4\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/origin-in-media", HDR "m=audio 4000 RTP/AVP 0\r\no=- 1 1 IN IP4 198.51.100.1\r\n", .ret = -EINVAL,
          .code = SDP_ERROR_PARSE },
        { "/sdp/parse/origin-big-version", "v=0\r\no=- 1 123456789012345678901234567890 IN IP4 198.51.100.1\r\n",
          .verify = check_big_version },
        { "/sdp/parse/garbage-line", HDR "hello\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/uppercase-type", HDR "M=audio 4000 RTP/AVP 0\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/nul-byte", P(HDR "m=audio 4000 RTP/AVP 0\0\r\n"), sizeof(HDR "m=audio 4000 RTP/AVP 0\0\r\n") - 1,
          -EINVAL, SDP_ERROR_PARSE },
        { "/sdp/parse/control-char", HDR "s=a\x01" "b\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/lone-cr", HDR "m=audio 4000 RTP/AVP 0\ra=sendonly\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/utf8-session-name", "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=Пётр\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
          .verify = check_minimal },
        { "/sdp/parse/ipv6", "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
          .verify = check_ipv6 },
        { "/sdp/parse/media-c-overrides", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 203.0.113.5\r\nm=video 4002 RTP/AVP 31\r\n",
          .verify = check_media_c_overrides },
        { "/sdp/parse/no-c", "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
          .verify = check_no_c },
        { "/sdp/parse/c-hold", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n", .verify = check_hold_address },
        { "/sdp/parse/c-hold-ipv6", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP6 ::\r\n", .verify = check_hold_address6 },
        { "/sdp/parse/c-fqdn", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 media.example.com\r\n", .verify = check_fqdn },
        { "/sdp/parse/c-multicast-ttl", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 203.0.113.1/127\r\nc=IN IP4 203.0.113.2/127\r\n",
          .verify = check_first_c },
        { "/sdp/parse/c-bad-address", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 1.2.3.4;rm -rf\r\n", .ret = -EINVAL,
          .code = SDP_ERROR_PARSE },
        { "/sdp/parse/c-atm", HDR "m=audio 4000 RTP/AVP 0\r\nc=ATM NSAP 47.0091\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/c-short", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/port-too-big", HDR "m=audio 65536 RTP/AVP 0\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/port-negative", HDR "m=audio -1 RTP/AVP 0\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/port-count", HDR "m=audio 49170/2 RTP/AVP 0\r\n", .verify = check_port_count },
        { "/sdp/parse/m-no-formats", HDR "m=audio 4000 RTP/AVP\r\n", .ret = -EINVAL, .code = SDP_ERROR_PARSE },
        { "/sdp/parse/m-unknown-proto", HDR "m=application 32416 udp wb\r\n", .verify = check_unknown_proto },
        { "/sdp/parse/static-payloads", HDR "m=audio 4000 RTP/AVP 9 0 8 18 96\r\n", .verify = check_static_payloads },
        { "/sdp/parse/rtpmap-fmtp", HDR "m=audio 4000 RTP/AVP 111 101\r\na=fmtp:101 0-15\r\na=rtpmap:111 opus/48000/2\r\n"
          "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:101 telephone-event/8000\r\na=rtpmap:99 foo/8000\r\n",
          .verify = check_rtpmap },
        { "/sdp/parse/rtpmap-malformed", HDR "m=audio 4000 RTP/AVP 96 97 98\r\na=rtpmap:96 foo/x\r\n"
          "a=rtpmap:97 bar/8000/0\r\na=rtpmap:98 baz\r\n", .verify = check_bad_rtpmap },
        { "/sdp/parse/rtpmap-static-malformed", HDR "m=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/\r\na=rtpmap:8 PCMA/8000\r\n",
          .verify = NULL },
        { "/sdp/parse/session-direction", HDR "a=sendonly\r\nm=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\na=inactive\r\n",
          .verify = check_session_direction },
        { "/sdp/parse/rtcp-ptime", HDR "m=audio 4000 RTP/AVP 0\r\na=rtcp:5555 IN IP4 203.0.113.9\r\na=rtcp-mux\r\n"
          "a=ptime:30.0\r\na=maxptime:60\r\n", .verify = check_rtcp },
        { "/sdp/parse/crypto-duplicate-tags", HDR "m=audio 4000 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n"
          "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\na=crypto:\r\n", .verify = NULL },
        { "/sdp/parse/crypto-duplicate-tag-marks-all", HDR "m=audio 4000 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n"
          "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n", .verify = check_duplicate_tags },
};

static void test_parse_case(const ParseCase *t) {
        _cleanup_(sdp_session_freep) SdpSession *s = NULL;
        SdpError e = {};

        tap_begin(t->name);
        int r = sdp_session_parse(t->text, t->size ?: strlen(t->text), &s, &e);
        check(r == t->ret, "r=%d (%s)", r, e.reason);
        if (r < 0) {
                check(!s);
                check(e.code == t->code, "code=%s", strempty(sdp_error_code_to_string(e.code)));
                check(e.reason[0], "no reason");
        } else if (s && t->verify)
                t->verify(s);
        tap_end();
}

static void test_parse_limits(void) {
        _cleanup_(sdp_session_freep) SdpSession *s = NULL;
        _cleanup_(freep) char *text = NULL;
        SdpError e = {};
        char line[SDP_LINE_MAX + 8];

        tap_begin("/sdp/parse/line-too-long");
        memset(line, 'x', sizeof(line));
        memcpy(line, "s=", 2);
        line[sizeof(line) - 1] = 0;
        text = make_repeated("v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\n", line, 1, "\r\n");
        check(sdp_session_parse(text, strlen(text), &s, &e) == -E2BIG && e.code == SDP_ERROR_TOO_BIG);
        tap_end();
        text = mfree(text);

        tap_begin("/sdp/parse/too-many-lines");
        text = make_repeated(HDR "m=audio 4000 RTP/AVP 0\r\n", "a=foo\r\n", SDP_LINES_MAX, "");
        check(sdp_session_parse(text, strlen(text), &s, &e) == -E2BIG && e.code == SDP_ERROR_TOO_BIG, "%s", e.reason);
        tap_end();
        text = mfree(text);

        tap_begin("/sdp/parse/too-many-media");
        text = make_repeated(HDR, "m=audio 4000 RTP/AVP 0\r\n", SDP_MEDIA_MAX + 1, "");
        check(sdp_session_parse(text, strlen(text), &s, &e) == -E2BIG && e.code == SDP_ERROR_TOO_BIG);
        tap_end();
        text = mfree(text);

        tap_begin("/sdp/parse/max-media");
        text = make_repeated(HDR, "m=audio 4000 RTP/AVP 0\r\n", SDP_MEDIA_MAX, "");
        check(sdp_session_parse(text, strlen(text), &s, &e) == 0 && s->n_media == SDP_MEDIA_MAX);
        s = sdp_session_free(s);
        tap_end();
        text = mfree(text);

        tap_begin("/sdp/parse/too-big");
        text = make_repeated(HDR, "a=x\r\n", SDP_TEXT_MAX / 5, "");
        check(sdp_session_parse(text, strlen(text), &s, &e) == -E2BIG && e.code == SDP_ERROR_TOO_BIG);
        tap_end();
        text = mfree(text);

        tap_begin("/sdp/parse/many-payloads");
        text = make_repeated(HDR "m=audio 4000 RTP/AVP", "", 0, "");
        for (unsigned pt = 0; pt < 128; pt++) {
                char *more = NULL;
                if (asprintf(&more, "%s %u", text, pt) < 0)
                        abort();
                free(text);
                text = more;
        }
        if (check(sdp_session_parse(text, strlen(text), &s, &e) == 0, "%s", e.reason))
                check_many_payloads(s);
        text = mfree(text);
        s = sdp_session_free(s);
        tap_end();

        tap_begin("/sdp/parse/many-crypto");
        text = make_repeated(HDR "m=audio 4000 RTP/SAVP 0\r\n", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
                             SDP_CRYPTO_MAX * 3, "");
        if (check(sdp_session_parse(text, strlen(text), &s, &e) == 0, "%s", e.reason))
                check_many_crypto(s);
        s = sdp_session_free(s);
        tap_end();
        text = mfree(text);

        tap_begin("/sdp/parse/fmtp-too-long");
        memset(line, 'p', SDP_FMTP_MAX + 10);
        line[SDP_FMTP_MAX + 10] = 0;
        text = make_repeated(HDR "m=audio 4000 RTP/AVP 96 0\r\na=rtpmap:96 foo/8000\r\na=fmtp:96 ", line, 1, "\r\n");
        if (check(sdp_session_parse(text, strlen(text), &s, &e) == 0, "%s", e.reason))
                check_fmtp_too_long(s);
        s = sdp_session_free(s);
        tap_end();
}

static void test_session_changed(void) {
        _cleanup_(sdp_session_freep) SdpSession *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        const char *t1 = "v=0\r\no=alice 42 7 IN IP4 198.51.100.1\r\nm=audio 4000 RTP/AVP 0\r\n";
        const char *t2 = "v=0\r\no=alice 42 7 IN IP4 198.51.100.1\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        const char *t3 = "v=0\r\no=alice 42 8 IN IP4 198.51.100.1\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        const char *t4 = "v=0\r\no=alice 43 7 IN IP4 198.51.100.1\r\nm=audio 4000 RTP/AVP 0\r\n";

        tap_begin("/sdp/session-changed");
        check(sdp_session_parse(t1, strlen(t1), &a, NULL) == 0 && sdp_session_parse(t2, strlen(t2), &b, NULL) == 0);
        check(sdp_session_parse(t3, strlen(t3), &c, NULL) == 0 && sdp_session_parse(t4, strlen(t4), &d, NULL) == 0);
        check(!sdp_session_changed(a, b), "same o= version means unchanged (RFC 3264 §8)");
        check(sdp_session_changed(b, c));
        check(sdp_session_changed(a, d));
        check(sdp_session_changed(NULL, a));
        tap_end();
}

/* ---- our side ---- */

static void test_local(void) {
        SdpLocal l;

        tap_begin("/sdp/local/add-codec");
        sdp_local_init(&l);
        check(l.direction == SDP_DIRECTION_SENDRECV && l.srtp == SDP_SRTP_OFF);
        check(sdp_local_add_codec(&l, "PCMU", 0, 8000, 1, NULL) == 0);
        check(sdp_local_add_codec(&l, "PCMA", 0, 8000, 1, NULL) == -EEXIST);
        check(sdp_local_add_codec(&l, "PC MU", 1, 8000, 1, NULL) == -EINVAL);
        check(sdp_local_add_codec(&l, "PCMU/8000", 1, 8000, 1, NULL) == -EINVAL);
        check(sdp_local_add_codec(&l, "", 1, 8000, 1, NULL) == -EINVAL);
        check(sdp_local_add_codec(&l, "X", 128, 8000, 1, NULL) == -EINVAL);
        check(sdp_local_add_codec(&l, "X", 96, 0, 1, NULL) == -EINVAL);
        check(sdp_local_add_codec(&l, "X", 96, 8000, 0, NULL) == -EINVAL);
        check(sdp_local_add_codec(&l, "X", 96, 8000, 1, "a\r\nb") == -EINVAL);
        for (unsigned pt = 96; pt < 96 + SDP_CODECS_MAX - 1; pt++)
                check(sdp_local_add_codec(&l, "X", pt, 8000, 1, "") == 0, "pt %u", pt);
        check(sdp_local_add_codec(&l, "X", 127, 8000, 1, "") == -E2BIG);
        tap_end();

        tap_begin("/sdp/local/add-crypto");
        sdp_local_init(&l);
        for (size_t i = 0; i < ELEMENTSOF(local_crypto); i++)
                check(sdp_local_add_crypto(&l, local_crypto[i]) == 0, "%zu", i);
        check(sdp_local_add_crypto(&l, local_crypto[0]) == -EEXIST);
        check(sdp_local_add_crypto(&l, "9 F8_128_HMAC_SHA1_80 inline:" K30) == -EINVAL);
        check(sdp_local_add_crypto(&l, "9 AES_CM_128_HMAC_SHA1_80 inline:") == -EINVAL);
        check(sdp_local_add_crypto(&l, "9 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNENCRYPTED_SRTP") == -EINVAL);
        check(l.n_crypto == ELEMENTSOF(local_crypto));
        sdp_local_erase(&l);
        check(l.n_crypto == 0 && l.crypto[0].keys[0].key[0] == 0);
        tap_end();

        tap_begin("/sdp/local/strings");
        check(streq(sdp_direction_to_string(SDP_DIRECTION_SENDONLY), "sendonly"));
        check(sdp_direction_from_string("inactive") == SDP_DIRECTION_INACTIVE);
        check(sdp_direction_from_string("both") < 0 && sdp_direction_from_string(NULL) < 0);
        check(sdp_direction_reverse(SDP_DIRECTION_SENDONLY) == SDP_DIRECTION_RECVONLY);
        check(sdp_direction_reverse(SDP_DIRECTION_INACTIVE) == SDP_DIRECTION_INACTIVE);
        check(sdp_srtp_mode_from_string("compulsory") == SDP_SRTP_COMPULSORY);
        check(streq(sdp_srtp_mode_to_string(SDP_SRTP_OPTIONAL), "optional"));
        check(sdp_srtp_mode_from_string("on") < 0);
        check(streq(sdp_profile_to_string(SDP_PROFILE_RTP_SAVP), "RTP/SAVP") && !sdp_profile_to_string(SDP_PROFILE_OTHER));
        check(sdp_profile_is_secure(SDP_PROFILE_RTP_SAVPF) && !sdp_profile_is_secure(SDP_PROFILE_RTP_AVPF));
        for (SdpErrorCode c = 0; c < _SDP_ERROR_CODE_MAX; c++)
                check(sdp_error_code_to_string(c), "error code %d has no name", c);
        tap_end();
}

/* ---- offers ---- */

static void test_offer(void) {
        SdpLocal l;
        SdpOrigin o;
        _cleanup_(freep) char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;

        tap_begin("/sdp/offer/plain-exact");
        make_local(&l, SDP_SRTP_OFF, NULL, 0);
        sdp_origin_init(&o, 1234);
        check(sdp_make_offer(&l, &o, &t1) == 0);
        check(streq_ptr(t1, "v=0\r\no=- 1234 1234 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
                            "m=audio 40000 RTP/AVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
                            "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
                            "a=ptime:20\r\na=sendrecv\r\n"), "got:\n%s", t1);
        tap_end();

        tap_begin("/sdp/offer/version");
        check(sdp_make_offer(&l, &o, &t2) == 0 && streq(t1, t2), "unchanged offer keeps its version");
        l.direction = SDP_DIRECTION_SENDONLY;
        check(sdp_make_offer(&l, &o, &t3) == 0 && strstr(t3, "o=- 1234 1235 IN IP4") && strstr(t3, "a=sendonly\r\n"),
              "%s", t3);
        l.direction = SDP_DIRECTION_SENDRECV;
        check(sdp_make_offer(&l, &o, &t4) == 0 && strstr(t4, "o=- 1234 1236 IN IP4"), "%s", t4);
        tap_end();
        t1 = mfree(t1);
        t2 = mfree(t2);

        tap_begin("/sdp/offer/srtp-compulsory");
        make_local(&l, SDP_SRTP_COMPULSORY, "PCMU", 0);
        l.ptime = 0;
        sdp_origin_init(&o, UINT64_MAX);
        check(sdp_make_offer(&l, &o, &t1) == 0);
        check(strstr(t1, "m=audio 40000 RTP/SAVP 0\r\n") && !strstr(t1, "a=ptime"), "%s", t1);
        check(strstr(t1, "o=- 4611686018427387903 4611686018427387903 "), "session id below 2^62: %s", t1);
        for (size_t i = 0; i < ELEMENTSOF(local_crypto); i++) {
                char want[200];
                snprintf(want, sizeof(want), "a=crypto:%s\r\n", local_crypto[i]);
                check(strstr(t1, want), "missing %s", want);
        }
        erase_and_free(TAKE_PTR(t1));
        tap_end();

        tap_begin("/sdp/offer/srtp-optional");
        make_local(&l, SDP_SRTP_OPTIONAL, "opus,PCMU", 1);
        check(sdp_make_offer(&l, &o, &t1) == 0);
        check(strstr(t1, "m=audio 40000 RTP/AVP 111 0\r\n") && strstr(t1, "a=rtpmap:111 opus/48000/2\r\n") &&
              strstr(t1, "a=fmtp:111 useinbandfec=1\r\n") && strstr(t1, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "),
              "%s", t1);
        check(!strstr(t1, "a=crypto:2"));
        erase_and_free(TAKE_PTR(t1));
        tap_end();

        tap_begin("/sdp/offer/ipv6");
        make_local(&l, SDP_SRTP_OFF, "PCMU", 0);
        strcpy(l.address, "2001:db8::10");
        check(sdp_make_offer(&l, &o, &t1) == 0 && strstr(t1, "c=IN IP6 2001:db8::10\r\n") &&
              strstr(t1, "IN IP6 2001:db8::10\r\ns=-"), "%s", t1);
        tap_end();

        tap_begin("/sdp/offer/invalid-local");
        make_local(&l, SDP_SRTP_COMPULSORY, "PCMU", 0);
        l.n_crypto = 0;
        check(sdp_make_offer(&l, &o, &t2) == -EINVAL);
        make_local(&l, SDP_SRTP_OFF, "telephone-event", 0);
        check(sdp_make_offer(&l, &o, &t2) == -EINVAL, "only DTMF is no audio codec");
        make_local(&l, SDP_SRTP_OFF, NULL, 0);
        l.port = 0;
        check(sdp_make_offer(&l, &o, &t2) == -EINVAL);
        make_local(&l, SDP_SRTP_OFF, NULL, 0);
        strcpy(l.address, "a b");
        check(sdp_make_offer(&l, &o, &t2) == -EINVAL);
        check(!t2);
        tap_end();
}

/* ---- answers to offers ---- */

typedef struct AnswerCase {
        const char *name;
        const char *offer;
        SdpSrtpMode srtp;
        const char *codecs;     /* local codecs, see make_local() */
        unsigned crypto_mask;
        SdpDirection local_direction;
        int ret;
        SdpErrorCode code;      /* when ret < 0 */
        unsigned status;        /* when ret < 0 */
        const char *codec;      /* chosen */
        int dtmf;               /* dtmf_payload_type */
        bool srtp_used;
        SdpCryptoSuite suite;
        uint32_t tag;
        SdpDirection direction;
        bool hold;
        size_t media_index;
        const char *must[5];
        const char *must_not[3];
} AnswerCase;

#define OK_CODEC(c, d) .codec = (c), .dtmf = (d)

static const AnswerCase answer_cases[] = {
        { "/sdp/answer/pcmu", HDR "m=audio 4000 RTP/AVP 0\r\n", OK_CODEC("PCMU", -1),
          .must = { "m=audio 40000 RTP/AVP 0\r\n", "a=rtpmap:0 PCMU/8000\r\n", "a=sendrecv\r\n", "c=IN IP4 192.0.2.10\r\n" },
          .must_not = { "a=crypto", "telephone-event" } },
        { "/sdp/answer/local-preference", HDR "m=audio 4000 RTP/AVP 0 8 9 101\r\na=rtpmap:101 telephone-event/8000\r\n",
          OK_CODEC("G722", 101), .must = { "m=audio 40000 RTP/AVP 9 101\r\n", "a=rtpmap:101 telephone-event/8000\r\n",
          "a=fmtp:101 0-16\r\n", "a=ptime:20\r\n" } },
        { "/sdp/answer/local-preference-pcma-first", HDR "m=audio 4000 RTP/AVP 0 8\r\n", .codecs = "PCMA,PCMU",
          OK_CODEC("PCMA", -1), .must = { "m=audio 40000 RTP/AVP 8\r\n" } },
        { "/sdp/answer/dtmf-other-pt", HDR "m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n",
          OK_CODEC("PCMU", 96), .must = { "m=audio 40000 RTP/AVP 0 96\r\n", "a=rtpmap:96 telephone-event/8000\r\n" } },
        { "/sdp/answer/dtmf-wrong-rate", HDR "m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/48000\r\n",
          OK_CODEC("PCMU", -1), .must_not = { "telephone-event" } },
        { "/sdp/answer/opus-dtmf-48000", HDR "m=audio 4000 RTP/AVP 109 0 101 110\r\na=rtpmap:109 opus/48000/2\r\n"
          "a=rtpmap:101 telephone-event/8000\r\na=rtpmap:110 telephone-event/48000\r\n",
          .codecs = "opus,PCMU,telephone-event,telephone-event/48000", OK_CODEC("opus", 110),
          .must = { "m=audio 40000 RTP/AVP 109 110\r\n", "a=rtpmap:109 opus/48000/2\r\n", "a=fmtp:109 useinbandfec=1\r\n" } },
        { "/sdp/answer/opus-mono-does-not-match", HDR "m=audio 4000 RTP/AVP 109 8\r\na=rtpmap:109 opus/48000\r\n",
          .codecs = "opus,PCMA", OK_CODEC("PCMA", -1) },
        { "/sdp/answer/codec-name-case", HDR "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 pcmu/8000\r\n", OK_CODEC("pcmu", -1) },
        { "/sdp/answer/no-common-codec", HDR "m=audio 4000 RTP/AVP 18\r\n", .ret = -EPROTO,
          .code = SDP_ERROR_NO_COMMON_CODEC, .status = 488 },
        { "/sdp/answer/dynamic-without-rtpmap", HDR "m=audio 4000 RTP/AVP 96\r\n", .ret = -EPROTO,
          .code = SDP_ERROR_NO_COMMON_CODEC, .status = 488 },
        { "/sdp/answer/only-dtmf", HDR "m=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n", .ret = -EPROTO,
          .code = SDP_ERROR_NO_COMMON_CODEC, .status = 488 },
        { "/sdp/answer/hold-sendonly", HDR "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", OK_CODEC("PCMU", -1),
          .direction = SDP_DIRECTION_RECVONLY, .hold = true, .must = { "a=recvonly\r\n" } },
        { "/sdp/answer/hold-inactive", HDR "m=audio 4000 RTP/AVP 0\r\na=inactive\r\n", OK_CODEC("PCMU", -1),
          .direction = SDP_DIRECTION_INACTIVE, .hold = true, .must = { "a=inactive\r\n" } },
        { "/sdp/answer/hold-session-level", HDR "a=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n", OK_CODEC("PCMU", -1),
          .direction = SDP_DIRECTION_RECVONLY, .hold = true },
        { "/sdp/answer/hold-rfc2543", HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n", OK_CODEC("PCMU", -1),
          .direction = SDP_DIRECTION_RECVONLY, .hold = true, .must = { "a=recvonly\r\n" } },
        { "/sdp/answer/recvonly", HDR "m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n", OK_CODEC("PCMU", -1),
          .direction = SDP_DIRECTION_SENDONLY, .must = { "a=sendonly\r\n" } },
        { "/sdp/answer/we-hold", HDR "m=audio 4000 RTP/AVP 0\r\n", OK_CODEC("PCMU", -1),
          .local_direction = SDP_DIRECTION_SENDONLY, .direction = SDP_DIRECTION_SENDONLY, .must = { "a=sendonly\r\n" } },
        { "/sdp/answer/both-hold", HDR "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", OK_CODEC("PCMU", -1),
          .local_direction = SDP_DIRECTION_SENDONLY, .direction = SDP_DIRECTION_INACTIVE, .hold = true,
          .must = { "a=inactive\r\n" } },
        { "/sdp/answer/ipv6-peer", "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"
          "m=audio 4000 RTP/AVP 0\r\n", OK_CODEC("PCMU", -1) },
        { "/sdp/answer/video-rejected", HDR "m=video 5000 RTP/AVP 31 34\r\nm=audio 4000 RTP/AVP 0\r\nm=text 0 RTP/AVP 98\r\n",
          OK_CODEC("PCMU", -1), .media_index = 1,
          .must = { "t=0 0\r\nm=video 0 RTP/AVP 31 34\r\nm=audio 40000 RTP/AVP 0\r\n", "m=text 0 RTP/AVP 98\r\n" } },
        { "/sdp/answer/second-audio-rejected", HDR "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 8\r\n", OK_CODEC("PCMU", -1),
          .must = { "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\nm=audio 0 RTP/AVP 8\r\n" } },
        { "/sdp/answer/first-audio-unusable", HDR "m=audio 4000 RTP/AVP 18\r\nm=audio 4002 RTP/AVP 8\r\n",
          OK_CODEC("PCMA", -1), .media_index = 1, .must = { "m=audio 0 RTP/AVP 18\r\nm=audio 40000 RTP/AVP 8\r\n" } },
        { "/sdp/answer/no-audio", HDR "m=video 5000 RTP/AVP 31\r\n", .ret = -EPROTO, .code = SDP_ERROR_NO_AUDIO, .status = 488 },
        { "/sdp/answer/no-media", HDR, .ret = -EPROTO, .code = SDP_ERROR_NO_AUDIO, .status = 488 },
        { "/sdp/answer/audio-port-zero", HDR "m=audio 0 RTP/AVP 0\r\n", .ret = -EPROTO, .code = SDP_ERROR_NO_AUDIO,
          .status = 488 },
        { "/sdp/answer/no-address", "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
          .ret = -EPROTO, .code = SDP_ERROR_NO_ADDRESS, .status = 488 },
        { "/sdp/answer/dtls-srtp", HDR "m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:sha-256 AB:CD\r\n",
          .srtp = SDP_SRTP_OPTIONAL, .ret = -EPROTO, .code = SDP_ERROR_UNSUPPORTED_PROFILE, .status = 488 },
        { "/sdp/answer/avpf", HDR "m=audio 4000 RTP/AVPF 0\r\n", OK_CODEC("PCMU", -1), .must = { "m=audio 40000 RTP/AVPF 0\r\n" } },
        { "/sdp/answer/savp-while-off", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .ret = -EPROTO, .code = SDP_ERROR_SRTP_NOT_ENABLED, .status = 488 },
        { "/sdp/answer/avp-while-compulsory", HDR "m=audio 4000 RTP/AVP 0\r\n", .srtp = SDP_SRTP_COMPULSORY,
          .ret = -EPROTO, .code = SDP_ERROR_SRTP_REQUIRED, .status = 488 },
        { "/sdp/answer/avp-crypto-while-compulsory", HDR "m=audio 4000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .srtp = SDP_SRTP_COMPULSORY, .ret = -EPROTO, .code = SDP_ERROR_SRTP_REQUIRED, .status = 488 },
        { "/sdp/answer/savp-no-crypto", HDR "m=audio 4000 RTP/SAVP 0\r\n", .srtp = SDP_SRTP_COMPULSORY, .ret = -EPROTO,
          .code = SDP_ERROR_NO_USABLE_CRYPTO, .status = 488 },
        { "/sdp/answer/savp-unknown-suite", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .srtp = SDP_SRTP_OPTIONAL, .ret = -EPROTO, .code = SDP_ERROR_NO_USABLE_CRYPTO, .status = 488 },
        { "/sdp/answer/savp-invalid-key", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 K30 "\r\n",
          .srtp = SDP_SRTP_COMPULSORY, .ret = -EPROTO, .code = SDP_ERROR_NO_USABLE_CRYPTO, .status = 488 },
        { "/sdp/answer/savp-no-local-keys", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .srtp = SDP_SRTP_COMPULSORY, .crypto_mask = 1u << 31, .ret = -EPROTO, .code = SDP_ERROR_NO_LOCAL_CRYPTO, .status = 500 },
        { "/sdp/answer/savp-suite-we-lack", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AEAD_AES_128_GCM inline:P0xZZnOAjZqntMHO2+j1Ag8cKTZDUF1qd4SRng\r\n",
          .srtp = SDP_SRTP_COMPULSORY, .crypto_mask = 1, .ret = -EPROTO, .code = SDP_ERROR_NO_USABLE_CRYPTO, .status = 488 },
        { "/sdp/answer/savp-skips-unknown", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:3 F8_128_HMAC_SHA1_80 inline:" K30 "\r\n"
          "a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\na=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .srtp = SDP_SRTP_COMPULSORY, OK_CODEC("PCMU", -1), .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32,
          .tag = 4, .must = { "m=audio 40000 RTP/SAVP 0\r\n", "a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:Aw4ZJC86RVBbZnF8h5KdqLO+ydTf6vUACxYhLDdC\r\n" },
          .must_not = { "a=crypto:5", "a=crypto:3", "a=crypto:2" } },
        { "/sdp/answer/savp-skips-invalid", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^99\r\n"
          "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", .srtp = SDP_SRTP_COMPULSORY, OK_CODEC("PCMU", -1),
          .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 2 },
        { "/sdp/answer/savp-tag-echoed", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:123456789 AES_256_CM_HMAC_SHA1_80 "
          "inline:eYaToK26x9Th7vsIFSIvPElWY3B9ipeksb7L2OXy/wwZJjNATVpndIGOm6i1wg==\r\n", .srtp = SDP_SRTP_OPTIONAL,
          OK_CODEC("PCMU", -1), .srtp_used = true, .suite = SDP_CRYPTO_AES_256_CM_HMAC_SHA1_80, .tag = 123456789,
          .must = { "a=crypto:123456789 AES_256_CM_HMAC_SHA1_80 inline:LjU8Q0pRWF9mbXR7gomQl56lrLO6wcjP1t3k6/L5AAcOFRwjKjE4P0ZNVFtiaQ==\r\n" } },
        { "/sdp/answer/savpf", HDR "m=audio 4000 RTP/SAVPF 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .srtp = SDP_SRTP_COMPULSORY, OK_CODEC("PCMU", -1), .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80,
          .tag = 1, .must = { "m=audio 40000 RTP/SAVPF 0\r\n" } },
        { "/sdp/answer/osrtp-optional", HDR "m=audio 4000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .srtp = SDP_SRTP_OPTIONAL, OK_CODEC("PCMU", -1), .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80,
          .tag = 1, .must = { "m=audio 40000 RTP/AVP 0\r\n", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" } },
        { "/sdp/answer/osrtp-off", HDR "m=audio 4000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          OK_CODEC("PCMU", -1), .must_not = { "a=crypto" } },
        { "/sdp/answer/osrtp-unusable-falls-back", HDR "m=audio 4000 RTP/AVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .srtp = SDP_SRTP_OPTIONAL, OK_CODEC("PCMU", -1), .must = { "m=audio 40000 RTP/AVP 0\r\n" },
          .must_not = { "a=crypto" } },
        { "/sdp/answer/prefer-secure-line", HDR "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", .srtp = SDP_SRTP_OPTIONAL, OK_CODEC("PCMU", -1),
          .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1, .media_index = 1,
          .must = { "m=audio 0 RTP/AVP 0\r\nm=audio 40000 RTP/SAVP 0\r\n" } },
        { "/sdp/answer/compulsory-second-line", HDR "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", .srtp = SDP_SRTP_COMPULSORY, OK_CODEC("PCMU", -1),
          .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1, .media_index = 1 },
        { "/sdp/answer/off-first-plain-line", HDR "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n"
          "m=audio 4002 RTP/AVP 0\r\n", OK_CODEC("PCMU", -1), .media_index = 1,
          .must = { "m=audio 0 RTP/SAVP 0\r\nm=audio 40000 RTP/AVP 0\r\n" }, .must_not = { "a=crypto" } },
        { "/sdp/answer/remote-ptime-rtcp", HDR "m=audio 4000 RTP/AVP 0\r\na=ptime:30\r\na=rtcp:4999\r\n", OK_CODEC("PCMU", -1) },
};

static void check_answer_result(const AnswerCase *t, const SdpNegotiated *n, const char *text) {
        check(streq(n->codec.name, t->codec), "codec=%s", n->codec.name);
        check(n->dtmf_payload_type == t->dtmf, "dtmf=%d", n->dtmf_payload_type);
        check(n->local_payload_type == n->codec.payload_type);
        check(n->srtp == t->srtp_used, "srtp=%d", n->srtp);
        if (n->srtp) {
                check(n->remote_crypto.suite == t->suite && n->local_crypto.suite == t->suite, "suite=%d/%d",
                      n->remote_crypto.suite, n->local_crypto.suite);
                check(n->remote_crypto.tag == t->tag && n->local_crypto.tag == t->tag, "tag=%u/%u",
                      (unsigned) n->remote_crypto.tag, (unsigned) n->local_crypto.tag);
                check(n->local_crypto.valid && n->local_crypto.supported);
                check(strtoul(n->local_crypto.value, NULL, 10) == t->tag, "local value not re-tagged");
        }
        check(n->direction == t->direction, "direction=%s", sdp_direction_to_string(n->direction));
        check(n->hold == t->hold, "hold=%d", n->hold);
        check(n->media_index == t->media_index, "media_index=%zu", n->media_index);
        for (size_t i = 0; i < ELEMENTSOF(t->must) && t->must[i]; i++)
                check(strstr(text, t->must[i]), "missing '%s' in:\n%s", t->must[i], text);
        for (size_t i = 0; i < ELEMENTSOF(t->must_not) && t->must_not[i]; i++)
                check(!strstr(text, t->must_not[i]), "unexpected '%s' in:\n%s", t->must_not[i], text);
}

/* Whatever we answer must parse again, with as many m-lines as the offer (RFC 3264 §6). */
static void check_answer_text(const SdpSession *offer, const char *text) {
        _cleanup_(sdp_session_freep) SdpSession *a = NULL;
        size_t active = 0;

        if (!check(sdp_session_parse(text, strlen(text), &a, NULL) == 0, "our answer does not parse:\n%s", text))
                return;
        check(a->n_media == offer->n_media, "%zu m-lines for %zu offered", a->n_media, offer->n_media);
        for (size_t i = 0; i < a->n_media && i < offer->n_media; i++) {
                check(streq(a->media[i]->media, offer->media[i]->media) && streq(a->media[i]->proto, offer->media[i]->proto),
                      "m-line %zu changed media or transport", i);
                active += a->media[i]->port != 0;
        }
        check(active == 1, "%zu active m-lines", active);
}

static void test_answer_case(const AnswerCase *t) {
        _cleanup_(sdp_session_freep) SdpSession *offer = NULL;
        _cleanup_(freep) char *text = NULL;
        SdpLocal l;
        SdpOrigin o;
        SdpNegotiated n = {};
        SdpError e = {};

        tap_begin(t->name);
        make_local(&l, t->srtp, t->codecs, t->crypto_mask);
        l.direction = t->local_direction;
        sdp_origin_init(&o, 77);
        if (!check(sdp_session_parse(t->offer, strlen(t->offer), &offer, &e) == 0, "offer does not parse: %s", e.reason)) {
                tap_end();
                return;
        }
        int r = sdp_answer(offer, &l, &o, &n, &text, &e);
        check(r == t->ret, "r=%d (%s: %s)", r, strempty(sdp_error_code_to_string(e.code)), e.reason);
        if (r < 0) {
                check(!text);
                check(e.code == t->code, "code=%s (%s)", strempty(sdp_error_code_to_string(e.code)), e.reason);
                check(e.status == t->status, "status=%u", e.status);
                check(e.reason[0] && !strstr(e.reason, "inline"), "reason='%s'", e.reason);
                check(!o.used, "a failed answer must not touch the origin");
        } else if (r == 0) {
                check_answer_result(t, &n, text);
                check_answer_text(offer, text);
        }
        sdp_negotiated_erase(&n);
        sdp_local_erase(&l);
        tap_end();
}

static void test_answer_details(void) {
        _cleanup_(sdp_session_freep) SdpSession *offer = NULL, *reoffer = NULL;
        _cleanup_(freep) char *t1 = NULL, *t2 = NULL, *t3 = NULL;
        const char *text = HDR "m=audio 4000 RTP/AVP 0\r\na=ptime:30\r\na=rtcp:4999\r\nc=IN IP6 2001:db8::7\r\n";
        const char *retext = HDR "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        SdpLocal l;
        SdpOrigin o;
        SdpNegotiated n;

        tap_begin("/sdp/answer/remote-fields");
        make_local(&l, SDP_SRTP_OFF, NULL, 0);
        sdp_origin_init(&o, 5);
        check(sdp_session_parse(text, strlen(text), &offer, NULL) == 0);
        if (check(sdp_answer(offer, &l, &o, &n, &t1, NULL) == 0)) {
                check(streq(n.address, "2001:db8::7") && n.family == AF_INET6);
                check(n.port == 4000 && n.rtcp_port == 4999 && n.ptime == 30, "%u %u %u", n.port, n.rtcp_port, n.ptime);
                check(n.profile == SDP_PROFILE_RTP_AVP && !n.srtp && !n.hold);
                check(strstr(t1, "o=- 5 5 IN IP4 192.0.2.10\r\n"), "%s", t1);
        }
        tap_end();

        tap_begin("/sdp/answer/reinvite-versions");
        check(sdp_answer(offer, &l, &o, &n, &t2, NULL) == 0 && streq_ptr(t1, t2), "same answer, same version");
        check(sdp_session_parse(retext, strlen(retext), &reoffer, NULL) == 0);
        check(sdp_answer(reoffer, &l, &o, &n, &t3, NULL) == 0 && strstr(t3, "o=- 5 6 IN IP4") && n.hold, "%s", t3);
        tap_end();

        tap_begin("/sdp/answer/null-arguments");
        SdpError e = {};
        check(sdp_answer(NULL, &l, &o, &n, &t1, &e) == -EINVAL && e.code == SDP_ERROR_INTERNAL && e.status == 500);
        l.port = 0;
        check(sdp_answer(offer, &l, &o, &n, &t1, &e) == -EINVAL && e.code == SDP_ERROR_INTERNAL);
        tap_end();
}

/* ---- answers to our offer ---- */

typedef struct ProcessCase {
        const char *name;
        SdpSrtpMode srtp;
        const char *codecs;
        const char *answer;
        int ret;
        SdpErrorCode code;
        const char *codec;
        unsigned pt, local_pt;
        int dtmf;
        bool srtp_used;
        uint32_t tag;
        SdpDirection direction;
        bool hold;
} ProcessCase;

static const ProcessCase process_cases[] = {
        { "/sdp/process-answer/pcmu", .answer = HDR "m=audio 5000 RTP/AVP 0\r\n", .codec = "PCMU" },
        { "/sdp/process-answer/first-of-theirs", .answer = HDR "m=audio 5000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
          .codec = "PCMA", .pt = 8, .local_pt = 8, .dtmf = 101 },
        { "/sdp/process-answer/renumbered", .codecs = "opus,PCMU", .answer = HDR "m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 OPUS/48000/2\r\n",
          .codec = "OPUS", .pt = 96, .local_pt = 111 },
        { "/sdp/process-answer/codec-not-offered", .answer = HDR "m=audio 5000 RTP/AVP 18\r\n", .ret = -EPROTO,
          .code = SDP_ERROR_ANSWER_CODEC },
        { "/sdp/process-answer/two-mlines", .answer = HDR "m=audio 5000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n", .ret = -EPROTO,
          .code = SDP_ERROR_ANSWER_MEDIA },
        { "/sdp/process-answer/no-mline", .answer = HDR, .ret = -EPROTO, .code = SDP_ERROR_ANSWER_MEDIA },
        { "/sdp/process-answer/not-audio", .answer = HDR "m=video 5000 RTP/AVP 0\r\n", .ret = -EPROTO, .code = SDP_ERROR_ANSWER_MEDIA },
        { "/sdp/process-answer/rejected", .answer = HDR "m=audio 0 RTP/AVP 0\r\n", .ret = -EPROTO, .code = SDP_ERROR_ANSWER_REJECTED },
        { "/sdp/process-answer/no-address", .answer = "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\nm=audio 5000 RTP/AVP 0\r\n",
          .ret = -EPROTO, .code = SDP_ERROR_NO_ADDRESS },
        { "/sdp/process-answer/savp-to-plain-offer", .answer = HDR "m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
          .ret = -EPROTO, .code = SDP_ERROR_ANSWER_MEDIA },
        { "/sdp/process-answer/compulsory-no-crypto", .srtp = SDP_SRTP_COMPULSORY, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n",
          .ret = -EPROTO, .code = SDP_ERROR_SRTP_REQUIRED },
        { "/sdp/process-answer/compulsory-avp", .srtp = SDP_SRTP_COMPULSORY, .answer = HDR "m=audio 5000 RTP/AVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", .ret = -EPROTO, .code = SDP_ERROR_ANSWER_MEDIA },
        { "/sdp/process-answer/compulsory", .srtp = SDP_SRTP_COMPULSORY, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n"
          "a=crypto:3 AES_256_CM_HMAC_SHA1_80 inline:eYaToK26x9Th7vsIFSIvPElWY3B9ipeksb7L2OXy/wwZJjNATVpndIGOm6i1wg==\r\n",
          .codec = "PCMU", .srtp_used = true, .tag = 3 },
        { "/sdp/process-answer/optional-plain", .srtp = SDP_SRTP_OPTIONAL, .answer = HDR "m=audio 5000 RTP/AVP 0\r\n", .codec = "PCMU" },
        { "/sdp/process-answer/optional-crypto", .srtp = SDP_SRTP_OPTIONAL, .answer = HDR "m=audio 5000 RTP/AVP 0\r\n"
          "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n", .codec = "PCMU", .srtp_used = true, .tag = 2 },
        { "/sdp/process-answer/optional-savp", .srtp = SDP_SRTP_OPTIONAL, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", .codec = "PCMU", .srtp_used = true, .tag = 1 },
        { "/sdp/process-answer/optional-savp-no-crypto", .srtp = SDP_SRTP_OPTIONAL, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n",
          .ret = -EPROTO, .code = SDP_ERROR_ANSWER_CRYPTO },
        { "/sdp/process-answer/tag-not-offered", .srtp = SDP_SRTP_COMPULSORY, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n"
          "a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", .ret = -EPROTO, .code = SDP_ERROR_ANSWER_CRYPTO },
        { "/sdp/process-answer/suite-mismatch", .srtp = SDP_SRTP_COMPULSORY, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n", .ret = -EPROTO, .code = SDP_ERROR_ANSWER_CRYPTO },
        { "/sdp/process-answer/invalid-crypto", .srtp = SDP_SRTP_COMPULSORY, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "xx\r\n", .ret = -EPROTO, .code = SDP_ERROR_ANSWER_CRYPTO },
        { "/sdp/process-answer/unsupported-session-param", .srtp = SDP_SRTP_COMPULSORY, .answer = HDR "m=audio 5000 RTP/SAVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNENCRYPTED_SRTCP\r\n", .ret = -EPROTO, .code = SDP_ERROR_ANSWER_CRYPTO },
        { "/sdp/process-answer/crypto-ignored-when-off", .answer = HDR "m=audio 5000 RTP/AVP 0\r\n"
          "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", .codec = "PCMU" },
        { "/sdp/process-answer/held", .answer = HDR "m=audio 5000 RTP/AVP 0\r\na=sendonly\r\n", .codec = "PCMU",
          .direction = SDP_DIRECTION_RECVONLY, .hold = true },
        { "/sdp/process-answer/inactive", .answer = HDR "m=audio 5000 RTP/AVP 0\r\na=inactive\r\n", .codec = "PCMU",
          .direction = SDP_DIRECTION_INACTIVE, .hold = true },
};

static void test_process_case(const ProcessCase *t) {
        _cleanup_(sdp_session_freep) SdpSession *answer = NULL;
        SdpLocal l;
        SdpNegotiated n = {};
        SdpError e = {};

        tap_begin(t->name);
        make_local(&l, t->srtp, t->codecs ?: "PCMU,PCMA,telephone-event", 0);
        if (!check(sdp_session_parse(t->answer, strlen(t->answer), &answer, &e) == 0, "%s", e.reason)) {
                tap_end();
                return;
        }
        int r = sdp_process_answer(&l, answer, &n, &e);
        check(r == t->ret, "r=%d (%s)", r, e.reason);
        if (r < 0) {
                check(e.code == t->code, "code=%s (%s)", strempty(sdp_error_code_to_string(e.code)), e.reason);
                check(e.status == 0, "status %u: there is nothing to respond to", e.status);
        } else if (r == 0) {
                check(streq(n.codec.name, t->codec), "codec=%s", n.codec.name);
                check(n.codec.payload_type == t->pt && n.local_payload_type == t->local_pt, "pt=%u/%u",
                      n.codec.payload_type, n.local_payload_type);
                check(n.dtmf_payload_type == (t->dtmf ?: -1), "dtmf=%d", n.dtmf_payload_type);
                check(n.srtp == t->srtp_used, "srtp=%d", n.srtp);
                check(!n.srtp || (n.local_crypto.tag == t->tag && n.remote_crypto.tag == t->tag &&
                                  n.local_crypto.suite == n.remote_crypto.suite));
                check(n.direction == t->direction && n.hold == t->hold, "direction=%s hold=%d",
                      sdp_direction_to_string(n.direction), n.hold);
                check(n.port == 5000 && streq(n.address, "198.51.100.1") && n.ptime == 20);
        }
        tap_end();
}

/* Two of our phones, every combination of srtp modes: A offers, B answers, A takes the answer. */
static void test_loopback(void) {
        static const int expect[3][3] = {
                /* B:   off            optional       compulsory */
                [SDP_SRTP_OFF] = { 0, 0, SDP_ERROR_SRTP_REQUIRED + 1 },
                [SDP_SRTP_OPTIONAL] = { 0, 2, SDP_ERROR_SRTP_REQUIRED + 1 },
                [SDP_SRTP_COMPULSORY] = { SDP_ERROR_SRTP_NOT_ENABLED + 1, 2, 2 },
        }; /* 0: plain call, 2: SRTP call, else error code + 1 */

        for (SdpSrtpMode a = 0; a < _SDP_SRTP_MODE_MAX; a++)
                for (SdpSrtpMode b = 0; b < _SDP_SRTP_MODE_MAX; b++) {
                        _cleanup_(sdp_session_freep) SdpSession *offer = NULL, *answer = NULL;
                        _cleanup_(freep) char *offer_text = NULL, *answer_text = NULL;
                        SdpLocal la, lb;
                        SdpOrigin oa, ob;
                        SdpNegotiated na, nb;
                        SdpError e = {};
                        char name[80];

                        snprintf(name, sizeof(name), "/sdp/loopback/%s-to-%s", sdp_srtp_mode_to_string(a),
                                 sdp_srtp_mode_to_string(b));
                        tap_begin(name);
                        make_local(&la, a, "opus,PCMA,telephone-event", 0);
                        make_local(&lb, b, "G722,PCMA,PCMU,telephone-event", 1u << 31);
                        /* B holds one suite, under its own tag and key. */
                        if (b != SDP_SRTP_OFF)
                                check(sdp_local_add_crypto(&lb, "9 AES_CM_128_HMAC_SHA1_32 inline:"
                                                                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd") == 0);
                        lb.port = 50000;
                        sdp_origin_init(&oa, 1);
                        sdp_origin_init(&ob, 2);
                        check(sdp_make_offer(&la, &oa, &offer_text) == 0);
                        check(sdp_session_parse(offer_text, strlen(offer_text), &offer, NULL) == 0);
                        int r = sdp_answer(offer, &lb, &ob, &nb, &answer_text, &e);
                        if (expect[a][b] > 2) {
                                check(r == -EPROTO && e.code == expect[a][b] - 1, "r=%d %s", r, e.reason);
                                tap_end();
                                continue;
                        }
                        if (!check(r == 0, "answer: %s", e.reason) ||
                            !check(sdp_session_parse(answer_text, strlen(answer_text), &answer, NULL) == 0) ||
                            !check(sdp_process_answer(&la, answer, &na, &e) == 0, "process: %s", e.reason)) {
                                tap_end();
                                continue;
                        }
                        check(streq(na.codec.name, "PCMA") && streq(nb.codec.name, "PCMA"));
                        check(na.dtmf_payload_type == 101 && nb.dtmf_payload_type == 101);
                        check(na.srtp == (expect[a][b] == 2) && nb.srtp == na.srtp, "srtp %d/%d", na.srtp, nb.srtp);
                        check(na.port == 50000 && nb.port == 40000);
                        if (na.srtp) {
                                /* B chose A's second suite (the only one B holds); each side's
                                 * remote key is the other's local key. */
                                check(na.local_crypto.suite == SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32 &&
                                      na.local_crypto.tag == 2, "tag %u", (unsigned) na.local_crypto.tag);
                                check(memcmp(na.local_crypto.keys[0].key, na.remote_crypto.keys[0].key, 30) != 0);
                                check(strncmp(nb.local_crypto.value, "2 AES_CM_128_HMAC_SHA1_32 inline:AAEC", 37) == 0);
                                check(na.remote_crypto.keys[0].key_size == 30 &&
                                      memcmp(na.remote_crypto.keys[0].key, nb.local_crypto.keys[0].key, 30) == 0);
                                check(memcmp(nb.remote_crypto.keys[0].key, na.local_crypto.keys[0].key, 30) == 0);
                                check(na.local_crypto.tag == nb.remote_crypto.tag && na.remote_crypto.tag == nb.local_crypto.tag);
                        }
                        tap_end();
                }
}

/* ---- the corpus ---- */

static char *read_corpus(const char *dir, const char *file) {
        _cleanup_(freep) char *path = strjoin(dir, "/", file, NULL);
        char *data = NULL;
        size_t size;

        if (!path || read_full_file(path, &data, &size, 1024 * 1024) < 0)
                return NULL;
        return data;
}

static SdpSrtpMode pjsip_mode(const char *s) {
        if (streq(s, "mandatory"))
                return SDP_SRTP_COMPULSORY;
        if (streq(s, "optional"))
                return SDP_SRTP_OPTIONAL;
        return SDP_SRTP_OFF;
}

/*
 * Where we deliberately answer otherwise than pjsip's test expects:
 *  - pjsip refuses with 406 (Not Acceptable, which RFC 3261 reserves for the Accept
 *    header); an SDP we cannot accept is 488 Not Acceptable Here (RFC 3261 §13.3.1.3,
 *    RFC 3264 §6): 323_srtp2_receive_too_long_key, 323_srtp2_unsupported_crypto.
 *  - pjsip refuses an RTP/AVP offer whose a=crypto lines are malformed. RFC 4568 §7.1.2
 *    has the answerer pick a valid attribute it supports and ignore the rest, and an
 *    RTP/AVP offer is best-effort SRTP (RFC 8643) that may be answered in the clear: we
 *    accept, with SRTP when a valid line remains (non-numeric tag: line 1 is fine),
 *    else with plain RTP (no key at all, a duplicated tag that makes both lines ambiguous).
 */
typedef struct PjsipCase {
        const char *file;
        unsigned status;
        int srtp;           /* -1: not checked */
        int media_index;    /* -1: not checked */
        const char *must;
} PjsipCase;

static const PjsipCase pjsip_cases[] = {
        { "300_srtp_duplicated_crypto_tag.sdp", 200, false, 0, "m=audio 40000 RTP/AVP 0" },
        { "300_srtp_invalid_crypto_tag_non_numeric.sdp", 200, true, 0, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 " },
        { "300_srtp_receive_no_key_1.sdp", 200, false, 0, NULL },
        { "300_srtp_receive_no_key_2.sdp", 200, false, 0, NULL },
        { "300_srtp_receive_no_key_3.sdp", 200, false, 0, NULL },
        { "300_srtp_crypto_case_insensitive.sdp", 200, true, 0, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 " },
        { "300_srtp_receive_crypto_tag_zero.sdp", 200, true, 0, "a=crypto:0 AES_CM_128_HMAC_SHA1_80 " },
        { "311_srtp1_recv_avp.sdp", 200, true, 0, "m=audio 40000 RTP/AVP 0 101" },
        { "313_srtp1_unsupported_crypto.sdp", 200, false, 0, NULL },
        { "320_srtp_with_unknown_media_1.sdp", 200, true, 0, "m=xapplicationx 0 RTP/AVP 100\r\n" },
        { "320_srtp_with_unknown_media_2.sdp", 200, true, 1, "m=xapplicationx 0 RTP/AVP 100\r\nm=audio 40000 RTP/AVP 0\r\n" },
        { "320_srtp_with_unknown_transport_1.sdp", 200, true, 0, "m=audio 0 UNKNOWN 0\r\n" },
        { "320_srtp_with_unknown_transport_2.sdp", 200, true, 1, "m=audio 0 UNKNOWN 0\r\nm=audio 40000 RTP/AVP 0\r\n" },
        { "323_srtp2_receive_too_long_key.sdp", 488, -1, -1, NULL },
        { "323_srtp2_unsupported_crypto.sdp", 488, -1, -1, NULL },
        { "330_srtp_prefer_rtp_savp.sdp", 200, true, 1, "m=audio 0 RTP/AVP 0\r\nm=audio 40000 RTP/SAVP 0\r\n" },
        { "331_srtp_prefer_rtp_avp.sdp", 200, false, 1, "m=audio 0 RTP/SAVP 0\r\nm=audio 40000 RTP/AVP 0\r\n" },
};

/* The manifest's response_must_match / must_not_match lists, where they are complete:
 * ["regex", ...] with \d; anything else (a truncated list) is not checked. */
static void check_pjsip_patterns(const char *list, const char *text, bool want) {
        size_t n = strlen(list);

        if (n < 2 || list[0] != '[' || list[n - 1] != ']' || strchr(list, '#'))
                return;
        for (const char *p = list; (p = strchr(p, '"'));) {
                const char *end = strchr(p + 1, '"');
                char re[256], *w = re;
                regex_t rx;

                if (!end)
                        return;
                for (const char *c = p + 1; c < end && w < re + sizeof(re) - 8; c++) {
                        if (c[0] == '\\' && c[1] == 'd') {
                                w = stpcpy(w, "[0-9]");
                                c++;
                        } else
                                *w++ = *c;
                }
                *w = 0;
                p = end + 1;
                if (!check(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0, "regex %s", re))
                        continue;
                bool found = regexec(&rx, text, 0, NULL, 0) == 0;
                check(found == want, "'%s' %s in:\n%s", re, want ? "missing" : "present", text);
                regfree(&rx);
        }
}

static const PjsipCase *pjsip_case(const char *file) {
        for (size_t i = 0; i < ELEMENTSOF(pjsip_cases); i++)
                if (streq(pjsip_cases[i].file, file))
                        return &pjsip_cases[i];
        return NULL;
}

static void test_pjsip_line(const char *dir, char *line) {
        char *f[6] = {};
        size_t nf = 0;
        char name[200];

        for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && nf < ELEMENTSOF(f); t = strtok_r(NULL, "\t", &save))
                f[nf++] = t;
        if (nf < 3)
                return;
        snprintf(name, sizeof(name), "/sdp/corpus/pjsip/%s", f[0]);
        tap_begin(name);

        _cleanup_(freep) char *data = read_corpus(dir, f[0]);
        _cleanup_(sdp_session_freep) SdpSession *offer = NULL;
        _cleanup_(freep) char *text = NULL;
        const PjsipCase *c = pjsip_case(f[0]);
        unsigned status = strtoul(f[2], NULL, 10), got;
        SdpLocal l;
        SdpOrigin o;
        SdpNegotiated n = {};
        SdpError e = {};

        make_local(&l, pjsip_mode(f[1]), NULL, 0);
        sdp_origin_init(&o, 1);
        if (!check(data, "cannot read %s", f[0]) || !check(sdp_session_parse(data, strlen(data), &offer, &e) == 0, "%s", e.reason)) {
                tap_end();
                return;
        }
        int r = sdp_answer(offer, &l, &o, &n, &text, &e);
        got = r == 0 ? 200 : e.status;
        if (c)
                status = c->status;
        check(got == status, "status %u, expected %u (%s)", got, status, e.reason);
        if (r == 0) {
                check_answer_text(offer, text);
                if (nf > 4 && (!c || c->status == strtoul(f[2], NULL, 10)))
                        check_pjsip_patterns(f[4], text, true);
                if (nf > 5 && (!c || c->status == strtoul(f[2], NULL, 10)))
                        check_pjsip_patterns(f[5], text, false);
                if (c && c->srtp >= 0)
                        check(n.srtp == c->srtp, "srtp=%d", n.srtp);
                if (c && c->media_index >= 0)
                        check(n.media_index == (size_t) c->media_index, "media_index=%zu", n.media_index);
                if (c && c->must)
                        check(strstr(text, c->must), "missing '%s' in:\n%s", c->must, text);
                check(n.srtp == !!strstr(text, "a=crypto:"));
        }
        tap_end();
}

static void test_corpus_pjsip(const char *corpus) {
        _cleanup_(freep) char *dir = strjoin(corpus, "/pjsip-sendto", NULL);
        _cleanup_(freep) char *manifest = dir ? read_corpus(dir, "manifest.tsv") : NULL;

        if (!manifest)
                return tap_skip("/sdp/corpus/pjsip", "no corpus");
        bool first = true;
        for (char *save = NULL, *line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (first) { /* header */
                        first = false;
                        continue;
                }
                test_pjsip_line(dir, line);
        }
}

/* Other corpus offers: what we answer, by file. */
typedef struct CorpusCase {
        const char *name;
        const char *file;       /* under the corpus sdp/ directory */
        const char *prefix;     /* prepended (fragments lack the session lines) */
        SdpSrtpMode srtp;
        unsigned crypto_mask;
        int ret;
        SdpErrorCode code;
        const char *codec;
        int dtmf;
        bool srtp_used;
        SdpCryptoSuite suite;
        uint32_t tag;
        size_t media_index;
        const char *must[3];
} CorpusCase;

#define FRAG_PREFIX "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"

static const CorpusCase corpus_cases[] = {
        { "/sdp/corpus/rfc4568/sec4.5-example", "rfc4568/rfc4568-sec4.5-example.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32, .tag = 1,
          .media_index = 1, .must = { "m=video 0 RTP/SAVP 31\r\n", "m=application 0 udp wb\r\n" } },
        { "/sdp/corpus/rfc4568/sec7.1.5-offer", "rfc4568/rfc4568-sec7.1.5-offer.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1 },
        { "/sdp/corpus/rfc4568/sec7.1.5-offer-without-80", "rfc4568/rfc4568-sec7.1.5-offer.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .crypto_mask = 0x1e, .ret = -EPROTO, .code = SDP_ERROR_NO_USABLE_CRYPTO },
        { "/sdp/corpus/rtpengine/osrtp-dup-mid", "rtpengine/osrtp-dup-mid-aead256-lifetime.sdp", .srtp = SDP_SRTP_OPTIONAL,
          .codec = "G722", .dtmf = 101, .srtp_used = true, .suite = SDP_CRYPTO_AEAD_AES_256_GCM, .tag = 1,
          .must = { "m=audio 40000 RTP/SAVP 9 101\r\n", "m=audio 0 RTP/AVP 9 8 0 18 101 121 124\r\n" } },
        { "/sdp/corpus/rtpengine/osrtp-dup-mid-off", "rtpengine/osrtp-dup-mid-aead256-lifetime.sdp", .srtp = SDP_SRTP_OFF,
          .codec = "G722", .dtmf = 101, .media_index = 1, .must = { "m=audio 0 RTP/SAVP 9 8 0 18 101 121 124\r\n" } },
        { "/sdp/corpus/rtpengine/twelve-suites", "rtpengine/twelve-suites-aead-aes256-aes192-f8-null.sdp",
          .srtp = SDP_SRTP_COMPULSORY, .codec = "PCMA", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AEAD_AES_256_GCM, .tag = 1 },
        { "/sdp/corpus/rtpengine/twelve-suites-only-80", "rtpengine/twelve-suites-aead-aes256-aes192-f8-null.sdp",
          .srtp = SDP_SRTP_COMPULSORY, .crypto_mask = 1, .codec = "PCMA", .dtmf = -1, .srtp_used = true,
          .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 7 },
        { "/sdp/corpus/rtpengine/mki-without-lifetime", "rtpengine/mki-without-lifetime.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1 },
        { "/sdp/corpus/rtpengine/empty-crypto-attribute", "rtpengine/empty-crypto-attribute.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1 },
        { "/sdp/corpus/rtpengine/aes256-then-aes128", "rtpengine/aes256-padded-keys-then-aes128.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_256_CM_HMAC_SHA1_80, .tag = 1 },
        { "/sdp/corpus/rtpengine/aes128-plus-aead128", "rtpengine/aes128-plus-aead128-unpadded.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1 },
        { "/sdp/corpus/rtpengine/aes128-plus-aead128-gcm-only", "rtpengine/aes128-plus-aead128-unpadded.sdp",
          .srtp = SDP_SRTP_COMPULSORY, .crypto_mask = 1u << 3, .codec = "PCMU", .dtmf = -1, .srtp_used = true,
          .suite = SDP_CRYPTO_AEAD_AES_128_GCM, .tag = 2 },
        { "/sdp/corpus/rtpengine/osrtp", "rtpengine/rtp-avp-with-crypto-osrtp.sdp", .srtp = SDP_SRTP_OPTIONAL,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1,
          .must = { "m=audio 40000 RTP/AVP 0\r\n" } },
        { "/sdp/corpus/rtpengine/osrtp-compulsory", "rtpengine/rtp-avp-with-crypto-osrtp.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .ret = -EPROTO, .code = SDP_ERROR_SRTP_REQUIRED },
        { "/sdp/corpus/rtpengine/legacy-osrtp", "rtpengine/legacy-osrtp-two-mlines.sdp", .srtp = SDP_SRTP_OPTIONAL,
          .codec = "PCMA", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1,
          .media_index = 1, .must = { "m=audio 0 RTP/AVP 8\r\nm=audio 40000 RTP/SAVP 8\r\n" } },
        { "/sdp/corpus/rtpengine/legacy-osrtp-off", "rtpengine/legacy-osrtp-two-mlines.sdp", .srtp = SDP_SRTP_OFF,
          .codec = "PCMA", .dtmf = -1, .must = { "m=audio 40000 RTP/AVP 8\r\n", "a=sendrecv\r\nm=audio 0 RTP/SAVP 8\r\n" } },
        { "/sdp/corpus/rtpengine/aead256-and-aes256", "rtpengine/aead256-padded-and-aes256.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AEAD_AES_256_GCM, .tag = 1 },
        { "/sdp/corpus/rtpengine/no-aes128-80", "rtpengine/no-aes128-80-offered.sdp", .srtp = SDP_SRTP_COMPULSORY,
          .codec = "PCMU", .dtmf = -1, .srtp_used = true, .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32, .tag = 1 },
        { "/sdp/corpus/rtpengine/no-aes128-80-mandatory-suite-only", "rtpengine/no-aes128-80-offered.sdp",
          .srtp = SDP_SRTP_COMPULSORY, .crypto_mask = 1, .ret = -EPROTO, .code = SDP_ERROR_NO_USABLE_CRYPTO },
        { "/sdp/corpus/captures/broadworks", "captures-from-issues/broadworks-offer-audio-video-sha1_32.sdp",
          .srtp = SDP_SRTP_COMPULSORY, .codec = "G722", .dtmf = 101, .srtp_used = true,
          .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32, .tag = 1,
          .must = { "m=audio 40000 RTP/SAVP 9 101\r\n", "m=video 0 RTP/SAVP 127 126\r\n" } },
        { "/sdp/corpus/vendor-docs/yealink-invite", "vendor-docs/yealink-invite-media-fragment.sdpfrag", FRAG_PREFIX,
          .srtp = SDP_SRTP_COMPULSORY, .codec = "G722", .dtmf = 101, .srtp_used = true,
          .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_80, .tag = 1, .must = { "m=audio 40000 RTP/SAVP 9 101\r\n" } },
        { "/sdp/corpus/vendor-docs/yealink-invite-sha1-32", "vendor-docs/yealink-invite-media-fragment.sdpfrag", FRAG_PREFIX,
          .srtp = SDP_SRTP_OPTIONAL, .crypto_mask = 2, .codec = "G722", .dtmf = 101, .srtp_used = true,
          .suite = SDP_CRYPTO_AES_CM_128_HMAC_SHA1_32, .tag = 2 },
};

static void test_corpus_case(const char *corpus, const CorpusCase *t) {
        _cleanup_(freep) char *data = read_corpus(corpus, t->file), *full = NULL, *text = NULL;
        _cleanup_(sdp_session_freep) SdpSession *offer = NULL;
        SdpLocal l;
        SdpOrigin o;
        SdpNegotiated n = {};
        SdpError e = {};

        if (!data)
                return tap_skip(t->name, "no corpus");
        tap_begin(t->name);
        full = strjoin(strempty(t->prefix), data, NULL);
        make_local(&l, t->srtp, NULL, t->crypto_mask);
        sdp_origin_init(&o, 3);
        if (!check(full && sdp_session_parse(full, strlen(full), &offer, &e) == 0, "%s", e.reason)) {
                tap_end();
                return;
        }
        int r = sdp_answer(offer, &l, &o, &n, &text, &e);
        check(r == t->ret, "r=%d (%s)", r, e.reason);
        if (r < 0)
                check(e.code == t->code, "code=%s (%s)", strempty(sdp_error_code_to_string(e.code)), e.reason);
        else if (r == 0) {
                AnswerCase a = { .codec = t->codec, .dtmf = t->dtmf, .srtp_used = t->srtp_used, .suite = t->suite,
                                 .tag = t->tag, .media_index = t->media_index };
                memcpy(a.must, t->must, sizeof(t->must));
                check_answer_result(&a, &n, text);
                check_answer_text(offer, text);
        }
        tap_end();
}

/* Parsed details of corpus files, beyond what the answer shows. */
static void test_corpus_details(const char *corpus) {
        static const char *const files[] = {
                "rfc4568/rfc4568-sec4.5-example.sdp", "rfc4568/rfc4568-sec7.1.5-offer.sdp",
                "rtpengine/osrtp-dup-mid-aead256-lifetime.sdp", "rtpengine/empty-crypto-attribute.sdp",
                "rtpengine/answer-rtp-savpf-crypto-tag7.sdp", "rtpengine/twelve-suites-aead-aes256-aes192-f8-null.sdp",
        };
        SdpSession *s[ELEMENTSOF(files)] = {};

        tap_begin("/sdp/corpus/parsed-details");
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(freep) char *data = read_corpus(corpus, files[i]);
                check(data && sdp_session_parse(data, strlen(data), &s[i], NULL) == 0, "%s", files[i]);
        }
        if (s[0]) { /* RFC 4568 §4.5: multicast c= with TTL, lifetime and MKI */
                const SdpMedia *m = s[0]->media[1];
                check(streq(m->address, "161.44.17.12") && s[0]->n_media == 3);
                check(m->n_crypto == 1 && m->crypto[0].keys[0].lifetime == 1 << 20 &&
                      m->crypto[0].keys[0].mki == 1 && m->crypto[0].keys[0].mki_length == 32);
        }
        if (s[1]) { /* RFC 4568 §7.1.5: FEC_ORDER is harmless; F8 with two MKI keys is valid, unsupported */
                const SdpMedia *m = s[1]->media[0];
                check(m->crypto[0].supported && streq(m->crypto[0].session_params, "FEC_ORDER=FEC_SRTP"));
                check(m->crypto[1].valid && !m->crypto[1].supported && m->crypto[1].n_keys == 2 &&
                      m->crypto[1].keys[1].mki == 2 && m->crypto[1].keys[1].mki_length == 4);
        }
        if (s[2]) /* AEAD_AES_256_GCM key without padding, lifetime 2^32 */
                check(s[2]->media[0]->crypto[0].keys[0].key_size == 44 &&
                      s[2]->media[0]->crypto[0].keys[0].lifetime == UINT64_C(1) << 32);
        if (s[3]) { /* a bare "a=crypto:" is recorded invalid, the others stay usable */
                const SdpMedia *m = s[3]->media[0];
                check(m->n_crypto == 3 && m->crypto[0].supported && m->crypto[1].supported && !m->crypto[2].valid);
                check(m->crypto[1].keys[0].mki == 2 && m->crypto[1].keys[0].mki_length == 32);
        }
        if (s[4]) { /* answer on hold address, sendonly, a=rtcp */
                const SdpMedia *m = s[4]->media[0];
                check(m->address_is_hold && m->direction == SDP_DIRECTION_SENDONLY && m->rtcp_port == 40445);
                check(m->profile == SDP_PROFILE_RTP_SAVPF && m->crypto[0].tag == 7);
        }
        if (s[5]) { /* twelve suites: AES-192, F8 and NULL parse as valid, unknown suites */
                const SdpMedia *m = s[5]->media[0];
                size_t supported = 0;
                check(m->n_crypto == 12);
                for (size_t i = 0; i < m->n_crypto; i++) {
                        check(m->crypto[i].valid, "crypto %zu: %s", i, m->crypto[i].invalid_reason);
                        supported += m->crypto[i].supported;
                }
                check(supported == 6, "%zu supported", supported);
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                sdp_session_free(s[i]);
        tap_end();
}

/* Answers in the corpus, against an offer of ours. */
static void test_corpus_answers(const char *corpus) {
        static const struct {
                const char *name, *file, *prefix;
                SdpSrtpMode srtp;
                const char *local_crypto;
                int ret;
                SdpErrorCode code;
        } cases[] = {
                { "/sdp/corpus/rfc4568/sec7.1.5-answer", "rfc4568/rfc4568-sec7.1.5-answer.sdp", NULL, SDP_SRTP_COMPULSORY,
                  "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4" },
                { "/sdp/corpus/rtpengine/answer-savpf-to-savp", "rtpengine/answer-rtp-savpf-crypto-tag7.sdp", NULL,
                  SDP_SRTP_COMPULSORY, "7 AES_CM_128_HMAC_SHA1_80 inline:" K30, -EPROTO, SDP_ERROR_ANSWER_MEDIA },
                { "/sdp/corpus/vendor-docs/yealink-200ok", "vendor-docs/yealink-200ok-media-fragment.sdpfrag", FRAG_PREFIX,
                  SDP_SRTP_COMPULSORY, "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 },
                /* RTP/SAVP without a=crypto: a failed SDES negotiation, whatever our mode. */
                { "/sdp/corpus/captures/phonerlite-compulsory", "captures-from-issues/phonerlite-answer-savp-without-crypto.sdp",
                  NULL, SDP_SRTP_COMPULSORY, "1 AES_CM_128_HMAC_SHA1_80 inline:" K30, -EPROTO, SDP_ERROR_SRTP_REQUIRED },
                { "/sdp/corpus/captures/phonerlite-optional", "captures-from-issues/phonerlite-answer-savp-without-crypto.sdp",
                  NULL, SDP_SRTP_OPTIONAL, "1 AES_CM_128_HMAC_SHA1_80 inline:" K30, -EPROTO, SDP_ERROR_ANSWER_CRYPTO },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *data = read_corpus(corpus, cases[i].file), *full = NULL;
                _cleanup_(sdp_session_freep) SdpSession *answer = NULL;
                SdpLocal l;
                SdpNegotiated n;
                SdpError e = {};

                if (!data) {
                        tap_skip(cases[i].name, "no corpus");
                        continue;
                }
                tap_begin(cases[i].name);
                full = strjoin(strempty(cases[i].prefix), data, NULL);
                make_local(&l, cases[i].srtp, "PCMU,PCMA,telephone-event", 1u << 31);
                check(sdp_local_add_crypto(&l, cases[i].local_crypto) == 0);
                if (check(full && sdp_session_parse(full, strlen(full), &answer, &e) == 0, "%s", e.reason)) {
                        int r = sdp_process_answer(&l, answer, &n, &e);
                        check(r == cases[i].ret, "r=%d (%s)", r, e.reason);
                        if (r < 0)
                                check(e.code == cases[i].code, "code=%s", sdp_error_code_to_string(e.code));
                        else if (r == 0)
                                check(n.srtp && streq(n.codec.name, "PCMU") && n.remote_crypto.keys[0].key_size == 30);
                }
                tap_end();
        }
}

/* Files that are not SDP must fail cleanly. */
static void test_corpus_not_sdp(const char *corpus) {
        static const char *const files[] = {
                "vendor-docs/yealink-manual-srtp-example.txt", "rfc4568/rfc4568-examples-verbatim.txt",
                "captures-from-issues/README.md", "vendor-docs/yealink-invite-media-fragment.sdpfrag",
        };

        tap_begin("/sdp/corpus/not-sdp");
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(freep) char *data = read_corpus(corpus, files[i]);
                _cleanup_(sdp_session_freep) SdpSession *s = NULL;
                SdpError e = {};
                if (data)
                        check(sdp_session_parse(data, strlen(data), &s, &e) == -EINVAL && e.code == SDP_ERROR_PARSE, "%s", files[i]);
        }
        tap_end();
}

static void test_corpus(const char *corpus) {
        struct stat st;

        if (!corpus || stat(corpus, &st) < 0 || !S_ISDIR(st.st_mode))
                return tap_skip("/sdp/corpus", "no corpus directory");
        test_corpus_pjsip(corpus);
        for (size_t i = 0; i < ELEMENTSOF(corpus_cases); i++)
                test_corpus_case(corpus, &corpus_cases[i]);
        test_corpus_details(corpus);
        test_corpus_answers(corpus);
        test_corpus_not_sdp(corpus);
}

int main(int argc, char *argv[]) {
        _cleanup_(freep) char *corpus = NULL;

        if (argc > 1)
                corpus = strdup(argv[1]);
        else if (getenv("DESKPHONE_CORPUS"))
                corpus = strjoin(getenv("DESKPHONE_CORPUS"), "/sdp", NULL);

        for (size_t i = 0; i < ELEMENTSOF(crypto_cases); i++)
                test_crypto_case(&crypto_cases[i]);
        test_crypto_misc();
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++)
                test_parse_case(&parse_cases[i]);
        test_parse_limits();
        test_session_changed();
        test_local();
        test_offer();
        for (size_t i = 0; i < ELEMENTSOF(answer_cases); i++)
                test_answer_case(&answer_cases[i]);
        test_answer_details();
        for (size_t i = 0; i < ELEMENTSOF(process_cases); i++)
                test_process_case(&process_cases[i]);
        test_loopback();
        test_corpus(corpus);
        return tap_finish();
}
