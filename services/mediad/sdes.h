/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * SDES a=crypto values (RFC 4568 section 9.1) as mediad takes and gives them on
 * D-Bus, pure: no libsrtp, no loop, no bus. sipd parses SDP; mediad only reads
 * the one a=crypto value sipd chose (the peer's) and the one of its own that
 * went into the SDP (to know which of its keys is in use), and writes its own.
 *
 *   "<tag> <suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>][;inline:...] [<params>]"
 *
 * Key material is secret: a parsed SdesCrypto holds it, sdes_crypto_erase()
 * wipes it, and no reason string ever quotes it.
 */

/* The suites mediad does, in its order of preference (the order of CreateStream's "crypto"). */
typedef enum SrtpSuite {
        SRTP_SUITE_AEAD_AES_256_GCM,            /* RFC 7714 */
        SRTP_SUITE_AEAD_AES_128_GCM,            /* RFC 7714 */
        SRTP_SUITE_AES_256_CM_HMAC_SHA1_80,     /* RFC 6188 */
        SRTP_SUITE_AES_CM_128_HMAC_SHA1_80,     /* RFC 4568 */
        SRTP_SUITE_AES_CM_128_HMAC_SHA1_32,     /* RFC 4568 */
        _SRTP_SUITE_MAX,
        _SRTP_SUITE_INVALID = -EINVAL,
} SrtpSuite;

const char *srtp_suite_to_string(SrtpSuite s);
SrtpSuite srtp_suite_from_string(const char *s);        /* case-insensitive; -EINVAL if not ours */
size_t srtp_suite_key_size(SrtpSuite s);                /* master key only: 16 or 32 */
size_t srtp_suite_salt_size(SrtpSuite s);               /* 14 (CM), 12 (GCM) */
/* The longest lifetime a key of the suite may have, in packets (RFC 3711 9.2: 2^48 SRTP;
 * SRTCP's 2^31 is libsrtp's own limit). */
uint64_t srtp_suite_max_lifetime(SrtpSuite s);

#define SDES_MASTER_MAX 46              /* key + salt bytes: 30, 46, 28, 44 */
#define SDES_MKI_MAX 128                /* MKI bytes (RFC 4568 and libsrtp: 1..128) */
#define SDES_KEYS_MAX 4                 /* key-params in one a=crypto */
#define SDES_VALUE_MAX 512              /* one a=crypto value, as sipd's sdp.c */
#define SDES_REASON_MAX 96

typedef struct SdesKey {
        uint8_t master[SDES_MASTER_MAX];        /* master key || master salt (secret) */
        size_t master_size;
        uint64_t lifetime;                      /* packets; the suite's maximum when not given */
        uint8_t mki[SDES_MKI_MAX];              /* big-endian MKI value, mki_length bytes */
        unsigned mki_length;                    /* 0: no MKI */
} SdesKey;

typedef struct SdesCrypto {
        uint32_t tag;
        SrtpSuite suite;
        SdesKey keys[SDES_KEYS_MAX];
        size_t n_keys;
} SdesCrypto;

/*
 * Parse one a=crypto value. 0 on success; -EINVAL when it is malformed, -EOPNOTSUPP
 * when it is well-formed but not something mediad does (another suite, session
 * parameters that change the transform: KDR,
 * UNENCRYPTED_SRTP/SRTCP, UNAUTHENTICATED_SRTP, unknown ones). reason (may be NULL)
 * then says why, without key material. ret is written only on success.
 */
int sdes_crypto_parse(const char *value, SdesCrypto *ret, char reason[SDES_REASON_MAX]);

/* "<tag> <suite> inline:<base64>" for one key without lifetime or MKI. -ENOBUFS if it does not fit. */
int sdes_crypto_format(uint32_t tag, SrtpSuite suite, const uint8_t *master, size_t master_size, char *buf,
                       size_t buf_size);

/* Same suite and the same keys, lifetimes and MKIs (the tag does not matter). */
bool sdes_crypto_same(const SdesCrypto *a, const SdesCrypto *b);

void sdes_crypto_erase(SdesCrypto *c);

/* Base64 (RFC 4648 alphabet); decoding takes the padding or leaves it out. */
int sdes_base64_encode(const uint8_t *data, size_t size, char *buf, size_t buf_size);
int sdes_base64_decode(const char *s, size_t n, uint8_t *out, size_t out_max, size_t *ret_size);
