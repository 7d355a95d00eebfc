/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by sdp.c (parsing), sdp-crypto.c (a=crypto) and sdp-answer.c (offer/answer);
 * not for other users. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "sdp.h"

/* Fill *error (if given) and return r. */
_printf_(4, 5) int sdp_fail(SdpError *error, int r, SdpErrorCode code, const char *format, ...);

/* sdp-crypto.c: make every a=crypto line of m whose tag is repeated unusable (RFC 4568 §5.1). */
void sdp_crypto_mark_duplicate_tags(SdpMedia *m);

static inline bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static inline const char *skip_blanks(const char *s) {
        return s + strspn(s, " \t");
}

/* FNV-1a: cheap change detection for generated SDP and for overlong o= numbers. */
static inline uint64_t hash64(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static inline void erase_value(char (*v)[SDP_CRYPTO_VALUE_MAX]) {
        explicit_bzero(*v, sizeof(*v));
}

static inline bool address_is_valid(const char *a) {
        if (!*a)
                return false;
        for (; *a; a++)
                if (!((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') || is_digit(*a) ||
                      strchr(".:-_", *a)))
                        return false;
        return true;
}

/* ---- small parsing helpers ---- */

/* Decimal digits only, n of them, at most max. -EINVAL if not a number, -ERANGE above max. */
static inline int parse_u64n(const char *s, size_t n, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return -EINVAL;
                unsigned d = s[i] - '0';
                if (v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static inline int parse_u64(const char *s, uint64_t max, uint64_t *ret) {
        return parse_u64n(s, strlen(s), max, ret);
}

static inline int parse_uint(const char *s, unsigned max, unsigned *ret) {
        uint64_t v;
        int r = parse_u64(s, max, &v);
        if (r < 0)
                return r;
        *ret = (unsigned) v;
        return 0;
}

/* Copy the next blank-separated token at *p into buf. -ENOENT at the end, -E2BIG if too long. */
static inline int next_token(const char **p, char *buf, size_t size) {
        const char *s = *p + strspn(*p, " \t");
        size_t n = strcspn(s, " \t");

        if (n == 0)
                return -ENOENT;
        if (n >= size)
                return -E2BIG;
        memcpy(buf, s, n);
        buf[n] = 0;
        *p = s + n;
        return 0;
}

/* Copy s into a buffer of size; -E2BIG (buffer untouched) if it does not fit. */
static inline int copy_string(char *buf, size_t size, const char *s) {
        size_t n = strlen(s);
        if (n >= size)
                return -E2BIG;
        memcpy(buf, s, n + 1);
        return 0;
}
