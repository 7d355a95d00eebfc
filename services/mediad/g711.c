/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* G.711, quantised as the ITU-T G.191 STL does (see g711.h). Written from the
 * Recommendation's segment tables, not from the STL's code. */
#include "g711.h"

/* Number of significant bits of v (0 for 0). */
static inline unsigned bit_length(unsigned v) {
        return v ? 32 - (unsigned) __builtin_clz(v) : 0;
}

/* One's complement magnitude: ~x for negative x, never overflows for INT16_MIN. */
static inline unsigned magnitude(int16_t x) {
        return (unsigned) (x < 0 ? ~x : x);
}

/*
 * mu-law: 14-bit magnitude plus the bias 33, clipped to 13 bits; the segment
 * (exponent) is where its top bit is above bit 5, the mantissa the 4 bits below
 * that; the code is the inverted exponent and mantissa, bit 7 set for x >= 0.
 */
uint8_t g711_ulaw_encode(int16_t x) {
        unsigned mag = (magnitude(x) >> 2) + 33;
        if (mag > 0x1FFF)
                mag = 0x1FFF;
        unsigned e = bit_length(mag >> 6);          /* 0..7 */
        unsigned m = (mag >> (e + 1)) & 0x0F;
        uint8_t code = (uint8_t) (0x7F ^ ((e << 4) | m));
        return x >= 0 ? code | 0x80 : code;
}

int16_t g711_ulaw_decode(uint8_t code) {
        unsigned u = (uint8_t) ~code;
        unsigned e = (u >> 4) & 0x07, m = u & 0x0F;
        int v = (int) ((((m << 1) + 33) << (e + 2)) - 132);
        return (int16_t) (code & 0x80 ? v : -v);
}

/*
 * A-law: 12-bit magnitude (16-bit input >> 4); segment 0 is linear, segment e
 * >= 1 keeps the 4 bits below the leading one; even bits inverted (0x55).
 */
uint8_t g711_alaw_encode(int16_t x) {
        unsigned mag = magnitude(x) >> 4;           /* 0..2047 */
        unsigned code;
        if (mag < 16)
                code = mag;
        else {
                unsigned e = bit_length(mag) - 4;   /* 1..7 */
                code = (e << 4) | ((mag >> (e - 1)) & 0x0F);
        }
        if (x >= 0)
                code |= 0x80;
        return (uint8_t) (code ^ 0x55);
}

int16_t g711_alaw_decode(uint8_t code) {
        unsigned a = (uint8_t) (code ^ 0x55);
        unsigned e = (a >> 4) & 0x07, m = a & 0x0F;
        if (e > 0)
                m += 16;
        int v = (int) ((m << 4) + 8);
        if (e > 1)
                v <<= e - 1;
        return (int16_t) (code & 0x80 ? v : -v);
}

void g711_ulaw_encode_n(uint8_t *out, const int16_t *in, size_t n) {
        for (size_t i = 0; i < n; i++)
                out[i] = g711_ulaw_encode(in[i]);
}

void g711_ulaw_decode_n(int16_t *out, const uint8_t *in, size_t n) {
        for (size_t i = 0; i < n; i++)
                out[i] = g711_ulaw_decode(in[i]);
}

void g711_alaw_encode_n(uint8_t *out, const int16_t *in, size_t n) {
        for (size_t i = 0; i < n; i++)
                out[i] = g711_alaw_encode(in[i]);
}

void g711_alaw_decode_n(int16_t *out, const uint8_t *in, size_t n) {
        for (size_t i = 0; i < n; i++)
                out[i] = g711_alaw_decode(in[i]);
}
