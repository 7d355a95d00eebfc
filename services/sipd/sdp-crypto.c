/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SDES a=crypto attributes (RFC 4568), see sdp.h: the §9.1 grammar of one
 * attribute (tag, crypto suite, inline keys with lifetime and MKI, session
 * parameters) and the tags that must be unique within an m= section. The rest
 * of a body is parsed in sdp.c; the helpers both use are in sdp-internal.h.
 */

#include <stdarg.h>
#include <strings.h>

#include "macro.h"
#include "sdp.h"
#include "sdp-internal.h"

/* ---- base64 (RFC 4648) ---- */

static int base64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (is_digit(c))
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* RFC 4648 base64, padding optional (SDES keys come both ways). */
static int unbase64(const char *s, size_t n, uint8_t *out, size_t out_max, size_t *ret_size) {
        uint32_t acc = 0;
        unsigned bits = 0;
        size_t k = 0;

        for (unsigned pad = 0; pad < 2 && n > 0 && s[n - 1] == '='; pad++)
                n--;
        if (n % 4 == 1)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int v = base64_value(s[i]);
                if (v < 0)
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (k >= out_max)
                                return -E2BIG;
                        out[k++] = (uint8_t) (acc >> bits);
                }
        }
        *ret_size = k;
        return 0;
}

/* ---- a=crypto (RFC 4568 §9.1 grammar) ---- */

_printf_(2, 3) static void crypto_invalid(SdpCrypto *c, const char *format, ...) {
        va_list ap;

        if (!c->valid)
                return; /* keep the first reason */
        c->valid = false;
        va_start(ap, format);
        vsnprintf(c->invalid_reason, sizeof(c->invalid_reason), format, ap);
        va_end(ap);
}

/* "2^n" or a decimal number of packets; at most 2^48 (RFC 4568 §6.2.1, RFC 3711). */
static int parse_lifetime(const char *s, size_t n, uint64_t *ret) {
        uint64_t v;
        int r;

        if (n > 2 && s[0] == '2' && s[1] == '^') {
                r = parse_u64n(s + 2, n - 2, 48, &v);
                if (r < 0)
                        return r;
                *ret = UINT64_C(1) << v;
                return 0;
        }
        r = parse_u64n(s, n, UINT64_C(1) << 48, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* "<MKI value>:<length>", length 1..128 bytes; we keep values up to 2^32-1. */
static int parse_mki(const char *s, size_t n, SdpKeyParam *k) {
        const char *colon = memchr(s, ':', n);
        uint64_t value, length;

        if (!colon)
                return -EINVAL;
        if (parse_u64n(s, colon - s, UINT32_MAX, &value) < 0)
                return -EINVAL;
        if (parse_u64n(colon + 1, n - (colon + 1 - s), 128, &length) < 0 || length == 0)
                return -EINVAL;
        if (length < 4 && value >> (8 * length) != 0)
                return -ERANGE;
        k->mki = (uint32_t) value;
        k->mki_length = (unsigned) length;
        return 0;
}

/* One key-param: "inline:<key||salt>[|<lifetime>][|<MKI>:<length>]". */
static void crypto_parse_key(SdpCrypto *c, const char *s, size_t n) {
        SdpKeyParam *k = &c->keys[c->n_keys];
        const char *end = s + n, *bar;

        if (n < 7 || strncasecmp(s, "inline:", 7) != 0)
                return crypto_invalid(c, "key method is not inline");
        s += 7;
        bar = memchr(s, '|', end - s) ?: end;
        if (bar == s)
                return crypto_invalid(c, "empty key");
        if (unbase64(s, bar - s, k->key, sizeof(k->key), &k->key_size) < 0)
                return crypto_invalid(c, "key is not base64 or too long");
        for (unsigned i = 0; bar < end; i++) {
                s = bar + 1;
                bar = memchr(s, '|', end - s) ?: end;
                if (i >= 2 || bar == s)
                        return crypto_invalid(c, "malformed key parameter");
                if (memchr(s, ':', bar - s)) {
                        if (k->mki_length > 0 || parse_mki(s, bar - s, k) < 0)
                                return crypto_invalid(c, "malformed MKI");
                } else if (i > 0 || parse_lifetime(s, bar - s, &k->lifetime) < 0)
                        return crypto_invalid(c, "malformed or too long lifetime");
        }
        c->n_keys++;
}

static void crypto_check_keys(SdpCrypto *c) {
        size_t want = sdp_crypto_suite_key_size(c->suite);

        for (size_t i = 0; i < c->n_keys; i++) {
                if (want > 0 && c->keys[i].key_size != want)
                        return crypto_invalid(c, "key is %zu bytes, %s needs %zu", c->keys[i].key_size,
                                              c->suite_name, want);
                if (want == 0 && c->keys[i].key_size == 0)
                        return crypto_invalid(c, "empty key");
                /* Several keys only with MKIs of one length (RFC 4568 §6.1). */
                if (c->n_keys > 1 && (c->keys[i].mki_length == 0 ||
                                      c->keys[i].mki_length != c->keys[0].mki_length))
                        return crypto_invalid(c, "several keys without MKIs of one length");
        }
}

/* Session parameters (RFC 4568 §6.3). We cannot honour those that change the crypto:
 * KDR (libsrtp derives once), UNENCRYPTED_SRTP/SRTCP, UNAUTHENTICATED_SRTP, or anything
 * unknown. Harmless: WSH (a hint), FEC_ORDER and FEC_KEY (we use no FEC), and "-x",
 * which marks a parameter the receiver may ignore (§6.3.7). */
static bool session_params_supported(const char *s) {
        _cleanup_(erase_value) char t[SDP_CRYPTO_VALUE_MAX];
        unsigned v;

        while (next_token(&s, t, sizeof(t)) >= 0) {
                if (t[0] == '-')
                        continue;
                if (startswith(t, "WSH=") && parse_uint(t + 4, UINT16_MAX, &v) >= 0)
                        continue;
                if (startswith(t, "FEC_ORDER=") || startswith(t, "FEC_KEY="))
                        continue;
                return false;
        }
        return true;
}

static void crypto_parse_fields(SdpCrypto *c) {
        const char *p = c->value;
        _cleanup_(erase_value) char t[SDP_CRYPTO_VALUE_MAX];
        uint64_t tag;

        if (next_token(&p, t, sizeof(t)) < 0)
                return crypto_invalid(c, "empty attribute");
        if (strlen(t) > 9 || parse_u64(t, UINT32_MAX, &tag) < 0)
                return crypto_invalid(c, "tag is not 1 to 9 digits");
        c->tag = (uint32_t) tag;
        if (next_token(&p, t, sizeof(t)) < 0)
                return crypto_invalid(c, "no crypto suite");
        if (copy_string(c->suite_name, sizeof(c->suite_name), t) < 0)
                return crypto_invalid(c, "crypto suite name too long");
        c->suite = sdp_crypto_suite_from_string(t);
        if (next_token(&p, t, sizeof(t)) < 0)
                return crypto_invalid(c, "no key parameters");
        for (const char *k = t; c->valid;) {
                size_t n = strcspn(k, ";");
                if (c->n_keys >= SDP_CRYPTO_KEYS_MAX)
                        return crypto_invalid(c, "too many keys");
                crypto_parse_key(c, k, n);
                if (k[n] == 0)
                        break;
                k += n + 1;
        }
        if (!c->valid)
                return;
        crypto_check_keys(c);
        (void) copy_string(c->session_params, sizeof(c->session_params), skip_blanks(p));
        c->supported = c->valid && c->suite != SDP_CRYPTO_SUITE_UNKNOWN &&
                       session_params_supported(c->session_params);
}

int sdp_crypto_parse(const char *value, SdpCrypto *ret) {
        SdpCrypto *c;

        if (!value || !ret)
                return -EINVAL;
        if (strlen(value) >= SDP_CRYPTO_VALUE_MAX)
                return -E2BIG;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->valid = true;
        c->suite = SDP_CRYPTO_SUITE_UNKNOWN;
        strcpy(c->value, value);
        /* Trailing blanks (seen in the wild) are not part of the last token. */
        for (size_t n = strlen(c->value); n > 0 && strchr(" \t", c->value[n - 1]); n--)
                c->value[n - 1] = 0;
        crypto_parse_fields(c);
        if (!c->valid)
                c->supported = false;
        *ret = *c;
        explicit_bzero(c, sizeof(*c));
        free(c);
        return 0;
}

/* ---- tags within an m= section ---- */

/* Whether the attribute got as far as a well-formed tag (an empty "a=crypto:" has none). */
static bool crypto_has_tag(const SdpCrypto *c) {
        size_t n = strspn(c->value, "0123456789");
        return n > 0 && n <= 9 && strchr(" \t", c->value[n]) && c->value[n] != 0;
}

/* Tags identify a line within its m= section (RFC 4568 §5.1): a repeated tag makes every
 * line carrying it unusable, since an answer naming that tag would be ambiguous. */
void sdp_crypto_mark_duplicate_tags(SdpMedia *m) {
        bool dup[SDP_CRYPTO_MAX] = {};

        for (size_t i = 0; i < m->n_crypto; i++)
                for (size_t j = i + 1; j < m->n_crypto; j++)
                        if (crypto_has_tag(&m->crypto[i]) && crypto_has_tag(&m->crypto[j]) &&
                            m->crypto[i].tag == m->crypto[j].tag)
                                dup[i] = dup[j] = true;
        for (size_t i = 0; i < m->n_crypto; i++)
                if (dup[i]) {
                        crypto_invalid(&m->crypto[i], "duplicate tag %u", m->crypto[i].tag);
                        m->crypto[i].supported = false;
                }
}
