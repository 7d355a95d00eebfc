/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * ITU-T G.711 A-law and mu-law, pure.
 *
 * Bit-exact with the ITU-T G.191 Software Tool Library (STL, src/g711/g711.c,
 * alaw_compress/alaw_expand, ulaw_compress/ulaw_expand): a negative sample is
 * quantised from its one's complement (~x), i.e. magnitudes are truncated
 * towards minus infinity. The Sun/CCITT "g711.c" lineage (and Python's audioop)
 * takes -x instead, which differs for 508 negative mu-law inputs at segment
 * boundaries; A-law and both decoders agree. tests/unit/test-g711.c checks all
 * 65536 inputs and 256 codes of each law against the STL's sweep vectors.
 */

uint8_t g711_ulaw_encode(int16_t x);
int16_t g711_ulaw_decode(uint8_t code);
uint8_t g711_alaw_encode(int16_t x);
int16_t g711_alaw_decode(uint8_t code);

void g711_ulaw_encode_n(uint8_t *out, const int16_t *in, size_t n);
void g711_ulaw_decode_n(int16_t *out, const uint8_t *in, size_t n);
void g711_alaw_encode_n(uint8_t *out, const int16_t *in, size_t n);
void g711_alaw_decode_n(int16_t *out, const uint8_t *in, size_t n);
