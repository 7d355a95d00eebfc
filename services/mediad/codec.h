/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * Codecs behind one ops table. A codec works on mono 16-bit PCM at its
 * sample_rate (8 kHz for G.711, 16 kHz for G.722 and Opus); the stream
 * converts from and to the 16 kHz audio path (resample.h) where they differ.
 * RTP timestamps count clock_rate units, which is not always the sample rate
 * (G.722: 8000 by RFC 3551's historical error; Opus: 48000 by RFC 7587).
 *
 * Foreign libraries appear only in their glue files (spandsp-glue.c,
 * opus-glue.c); G.711 is ours (g711.c).
 */

#define CODEC_FRAME_MAX 1920            /* samples of one packet: 120 ms at 16 kHz */
#define CODEC_PAYLOAD_MAX 1200          /* bytes of one encoded packet */

typedef struct CodecState CodecState;

typedef struct CodecOps {
        const char *name;               /* rtpmap encoding name, as Media1 and SDP spell it */
        uint32_t clock_rate;            /* RTP clock (rtpmap) */
        uint32_t sample_rate;           /* PCM rate of encode/decode */
        uint8_t channels;               /* rtpmap channels (Opus: 2, RFC 7587; we send mono) */
        uint8_t payload_type;           /* static or default dynamic payload type */
        const char *fmtp;               /* what we offer, "" for none */
        double ie, bpl;                 /* E-model equipment impairment and robustness (quality.h) */
        bool ptime_fixed_set;           /* only 10/20/40/60 ms packets (Opus) */

        int (*new)(CodecState **ret);
        CodecState *(*free)(CodecState *s);
        /* n samples -> bytes written (> 0) or a negative errno */
        int (*encode)(CodecState *s, const int16_t *pcm, size_t n, uint8_t *out, size_t out_size);
        /* payload -> samples written (<= max) or a negative errno (-EBADMSG: corrupt) */
        int (*decode)(CodecState *s, const uint8_t *data, size_t size, int16_t *pcm, size_t max);
        /* n samples in place of a lost packet; NULL: the stream's generic concealment */
        int (*conceal)(CodecState *s, int16_t *pcm, size_t n);
        /* samples a payload decodes to, or -EBADMSG */
        int (*payload_samples)(const uint8_t *data, size_t size);
        /* whether the codec can run here (its library loads); NULL: always */
        bool (*usable)(void);
} CodecOps;

extern const CodecOps codec_pcmu, codec_pcma, codec_g722, codec_opus;

/* NULL-terminated, in the default preference order. */
extern const CodecOps * const codec_table[];

/* By name, case-insensitively (SDP encoding names are). NULL if unknown. */
const CodecOps *codec_find(const char *name);
/* By static payload type (0 PCMU, 8 PCMA, 9 G722); NULL otherwise. */
const CodecOps *codec_find_static(uint8_t payload_type);

static inline bool codec_usable(const CodecOps *c) {
        return !c->usable || c->usable();
}

/* RTP timestamp units covered by n samples of this codec. */
static inline uint32_t codec_samples_to_units(const CodecOps *c, uint64_t n) {
        return (uint32_t) (n * c->clock_rate / c->sample_rate);
}
/* Samples of this codec in ms milliseconds. */
static inline size_t codec_samples_per_ms(const CodecOps *c, unsigned ms) {
        return (size_t) c->sample_rate * ms / 1000;
}
/* Is ms a packet time this codec can send? */
bool codec_ptime_valid(const CodecOps *c, unsigned ms);

/* A codec instance: encoder and decoder state of one stream. */
typedef struct Codec {
        const CodecOps *ops;
        CodecState *state;
} Codec;

int codec_new(const CodecOps *ops, Codec **ret);
Codec *codec_free(Codec *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Codec *, codec_free);
