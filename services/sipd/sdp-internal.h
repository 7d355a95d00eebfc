/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by sdp.c (parsing) and sdp-answer.c (offer/answer); not for other users. */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "sdp.h"

/* Fill *error (if given) and return r. */
_printf_(4, 5) int sdp_fail(SdpError *error, int r, SdpErrorCode code, const char *format, ...);

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
