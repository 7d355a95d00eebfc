/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SDES a=crypto values (RFC 4568 9.1): parse the peer's and our own, write ours. Pure. */
#include <stdarg.h>
#include <strings.h>

#include "macro.h"
#include "sdes.h"

typedef struct SuiteInfo {
        const char *name;
        size_t key_size, salt_size;
} SuiteInfo;

static const SuiteInfo suites[_SRTP_SUITE_MAX] = {
        [SRTP_SUITE_AEAD_AES_256_GCM] = { "AEAD_AES_256_GCM", 32, 12 },
        [SRTP_SUITE_AEAD_AES_128_GCM] = { "AEAD_AES_128_GCM", 16, 12 },
        [SRTP_SUITE_AES_256_CM_HMAC_SHA1_80] = { "AES_256_CM_HMAC_SHA1_80", 32, 14 },
        [SRTP_SUITE_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 16, 14 },
        [SRTP_SUITE_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 16, 14 },
};

#define LIFETIME_MAX (UINT64_C(1) << 48)

const char *srtp_suite_to_string(SrtpSuite s) {
        return s >= 0 && s < _SRTP_SUITE_MAX ? suites[s].name : NULL;
}

SrtpSuite srtp_suite_from_string(const char *s) {
        for (int i = 0; s && i < _SRTP_SUITE_MAX; i++)
                if (strcasecmp(suites[i].name, s) == 0)
                        return (SrtpSuite) i;
        return _SRTP_SUITE_INVALID;
}

size_t srtp_suite_key_size(SrtpSuite s) {
        return s >= 0 && s < _SRTP_SUITE_MAX ? suites[s].key_size : 0;
}

size_t srtp_suite_salt_size(SrtpSuite s) {
        return s >= 0 && s < _SRTP_SUITE_MAX ? suites[s].salt_size : 0;
}

uint64_t srtp_suite_max_lifetime(SrtpSuite s) {
        return LIFETIME_MAX;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sdes_base64_encode(const uint8_t *data, size_t size, char *buf, size_t buf_size) {
        size_t k = 0;

        if ((size + 2) / 3 * 4 + 1 > buf_size)
                return -ENOBUFS;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t) data[i] << 16;
                if (i + 1 < size)
                        v |= (uint32_t) data[i + 1] << 8;
                if (i + 2 < size)
                        v |= data[i + 2];
                buf[k++] = b64[v >> 18 & 63];
                buf[k++] = b64[v >> 12 & 63];
                buf[k++] = i + 1 < size ? b64[v >> 6 & 63] : '=';
                buf[k++] = i + 2 < size ? b64[v & 63] : '=';
        }
        buf[k] = 0;
        return 0;
}

static int b64_value(char c) {
        const char *p = c ? strchr(b64, c) : NULL;
        return p ? (int) (p - b64) : -1;
}

int sdes_base64_decode(const char *s, size_t n, uint8_t *out, size_t out_max, size_t *ret_size) {
        uint32_t acc = 0;
        unsigned bits = 0;
        size_t k = 0;

        while (n > 0 && s[n - 1] == '=' && n % 4 != 1)
                n--;
        if (n % 4 == 1)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int v = b64_value(s[i]);
                if (v < 0)
                        return -EINVAL;
                acc = acc << 6 | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (k >= out_max)
                                return -ENOBUFS;
                        out[k++] = (uint8_t) (acc >> bits);
                }
        }
        if (acc & ((1u << bits) - 1)) /* bits after the last byte must be zero */
                return -EINVAL;
        *ret_size = k;
        return 0;
}

/* ---- parsing ---- */

typedef struct Parser {
        char *reason;
} Parser;

_printf_(3, 4) static int fail(Parser *p, int error, const char *format, ...) {
        va_list ap;

        if (p->reason) {
                va_start(ap, format);
                vsnprintf(p->reason, SDES_REASON_MAX, format, ap);
                va_end(ap);
        }
        return error;
}

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0 || n > 20)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                unsigned d = (unsigned) (s[i] - '0');
                if (v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

/* "2^n" or a number of packets, 1 .. 2^48. */
static int parse_lifetime(const char *s, size_t n, uint64_t *ret) {
        uint64_t v;

        if (n > 2 && s[0] == '2' && s[1] == '^') {
                if (parse_u64(s + 2, n - 2, 48, &v) < 0)
                        return -EINVAL;
                *ret = UINT64_C(1) << v;
                return 0;
        }
        if (parse_u64(s, n, LIFETIME_MAX, &v) < 0 || v == 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* "<value>:<length>", length 1..128 bytes; the value big-endian in that many bytes. */
static int parse_mki(const char *s, size_t n, SdesKey *k) {
        const char *colon = memchr(s, ':', n);
        uint64_t value, length;

        if (!colon || parse_u64(s, (size_t) (colon - s), UINT64_MAX, &value) < 0 ||
            parse_u64(colon + 1, n - (size_t) (colon + 1 - s), SDES_MKI_MAX, &length) < 0 || length == 0)
                return -EINVAL;
        if (length < 8 && value >> (8 * length) != 0)
                return -EINVAL;
        memset(k->mki, 0, sizeof(k->mki));
        for (size_t i = 0; i < length && i < 8; i++)
                k->mki[length - 1 - i] = (uint8_t) (value >> (8 * i));
        k->mki_length = (unsigned) length;
        return 0;
}

/* "inline:<key||salt>[|lifetime][|mki:length]" */
static int parse_key(Parser *p, const char *s, size_t n, SrtpSuite suite, SdesKey *k) {
        const char *end = s + n, *bar;
        size_t want = srtp_suite_key_size(suite) + srtp_suite_salt_size(suite);

        if (n < 7 || strncasecmp(s, "inline:", 7) != 0)
                return fail(p, -EINVAL, "key method is not 'inline'");
        s += 7;
        bar = memchr(s, '|', (size_t) (end - s)) ?: end;
        if (sdes_base64_decode(s, (size_t) (bar - s), k->master, sizeof(k->master), &k->master_size) < 0)
                return fail(p, -EINVAL, "key is not base64 or too long");
        if (k->master_size != want)
                return fail(p, -EINVAL, "key and salt are %zu bytes, %s needs %zu", k->master_size,
                            srtp_suite_to_string(suite), want);
        k->lifetime = srtp_suite_max_lifetime(suite);
        for (unsigned i = 0; bar < end; i++) {
                s = bar + 1;
                bar = memchr(s, '|', (size_t) (end - s)) ?: end;
                size_t len = (size_t) (bar - s);
                if (i >= 2 || len == 0)
                        return fail(p, -EINVAL, "malformed key parameter");
                if (memchr(s, ':', len)) {
                        if (k->mki_length > 0 || parse_mki(s, len, k) < 0)
                                return fail(p, -EINVAL, "malformed MKI");
                } else if (i > 0 || parse_lifetime(s, len, &k->lifetime) < 0)
                        return fail(p, -EINVAL, "malformed or too long lifetime");
        }
        return 0;
}

/* RFC 4568 6.1: several keys only with MKIs, all of one length, all different. */
static int check_keys(Parser *p, const SdesCrypto *c) {
        if (c->n_keys < 2)
                return 0;
        for (size_t i = 0; i < c->n_keys; i++) {
                if (c->keys[i].mki_length == 0 || c->keys[i].mki_length != c->keys[0].mki_length)
                        return fail(p, -EINVAL, "several keys without MKIs of one length");
                for (size_t j = 0; j < i; j++)
                        if (memcmp(c->keys[i].mki, c->keys[j].mki, c->keys[i].mki_length) == 0)
                                return fail(p, -EINVAL, "two keys with one MKI");
        }
        return 0;
}

static size_t token(const char **s, const char **ret_start) {
        while (**s == ' ' || **s == '\t')
                (*s)++;
        *ret_start = *s;
        while (**s && **s != ' ' && **s != '\t')
                (*s)++;
        return (size_t) (*s - *ret_start);
}

static bool token_is(const char *t, size_t n, const char *prefix) {
        size_t l = strlen(prefix);
        return n >= l && strncmp(t, prefix, l) == 0;
}

/* Session parameters (RFC 4568 6.3): harmless ones pass, those that change the transform do not. */
static int check_session_params(Parser *p, const char *s) {
        const char *t;
        size_t n;

        while ((n = token(&s, &t)) > 0) {
                if (t[0] == '-' || token_is(t, n, "WSH=") || token_is(t, n, "FEC_ORDER=") ||
                    token_is(t, n, "FEC_KEY=") || (n == 5 && strncmp(t, "KDR=0", 5) == 0))
                        continue;
                return fail(p, -EOPNOTSUPP, "session parameter '%.*s' is not supported", (int) MIN(n, 32), t);
        }
        return 0;
}

static int parse_key_params(Parser *p, const char *t, size_t n, SdesCrypto *c) {
        const char *end = t + n;

        for (const char *k = t; k < end;) {
                const char *semi = memchr(k, ';', (size_t) (end - k)) ?: end;
                if (c->n_keys >= SDES_KEYS_MAX)
                        return fail(p, -EOPNOTSUPP, "more than %d keys", SDES_KEYS_MAX);
                int r = parse_key(p, k, (size_t) (semi - k), c->suite, &c->keys[c->n_keys]);
                if (r < 0)
                        return r;
                c->n_keys++;
                k = semi + 1;
                if (semi == end)
                        break;
                if (k == end)
                        return fail(p, -EINVAL, "empty key parameter");
        }
        return check_keys(p, c);
}

static int parse_fields(Parser *p, const char *value, SdesCrypto *c) {
        char name[64];
        const char *s = value, *t;
        uint64_t tag;
        size_t n;

        n = token(&s, &t);
        if (n == 0 || n > 9 || parse_u64(t, n, UINT32_MAX, &tag) < 0)
                return fail(p, -EINVAL, "tag is not 1 to 9 digits");
        c->tag = (uint32_t) tag;
        n = token(&s, &t);
        if (n == 0 || n >= sizeof(name))
                return fail(p, -EINVAL, "no crypto suite");
        memcpy(name, t, n);
        name[n] = 0;
        c->suite = srtp_suite_from_string(name);
        if (c->suite < 0)
                return fail(p, -EOPNOTSUPP, "crypto suite %s is not supported", name);
        n = token(&s, &t);
        if (n == 0)
                return fail(p, -EINVAL, "no key parameters");
        int r = parse_key_params(p, t, n, c);
        if (r < 0)
                return r;
        return check_session_params(p, s);
}

int sdes_crypto_parse(const char *value, SdesCrypto *ret, char reason[SDES_REASON_MAX]) {
        Parser p = { .reason = reason };
        SdesCrypto c = {};

        if (reason)
                reason[0] = 0;
        if (!value || strnlen(value, SDES_VALUE_MAX) >= SDES_VALUE_MAX)
                return fail(&p, -EINVAL, "a=crypto value missing or too long");
        int r = parse_fields(&p, value, &c);
        if (r >= 0)
                *ret = c;
        sdes_crypto_erase(&c);
        return r;
}

/* ---- writing, comparing ---- */

int sdes_crypto_format(uint32_t tag, SrtpSuite suite, const uint8_t *master, size_t master_size, char *buf,
                       size_t buf_size) {
        char key[(SDES_MASTER_MAX + 2) / 3 * 4 + 1];
        const char *name = srtp_suite_to_string(suite);

        if (!name || master_size != srtp_suite_key_size(suite) + srtp_suite_salt_size(suite))
                return -EINVAL;
        int r = sdes_base64_encode(master, master_size, key, sizeof(key));
        if (r >= 0) {
                int n = snprintf(buf, buf_size, "%u %s inline:%s", (unsigned) tag, name, key);
                r = n < 0 || (size_t) n >= buf_size ? -ENOBUFS : 0;
        }
        explicit_bzero(key, sizeof(key));
        return r;
}

static bool key_same(const SdesKey *a, const SdesKey *b) {
        return a->master_size == b->master_size && memcmp(a->master, b->master, a->master_size) == 0 &&
               a->lifetime == b->lifetime && a->mki_length == b->mki_length &&
               memcmp(a->mki, b->mki, a->mki_length) == 0;
}

bool sdes_crypto_same(const SdesCrypto *a, const SdesCrypto *b) {
        if (a->suite != b->suite || a->n_keys != b->n_keys)
                return false;
        for (size_t i = 0; i < a->n_keys; i++)
                if (!key_same(&a->keys[i], &b->keys[i]))
                        return false;
        return true;
}

void sdes_crypto_erase(SdesCrypto *c) {
        explicit_bzero(c, sizeof(*c));
}
