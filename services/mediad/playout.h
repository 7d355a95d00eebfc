/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "jitter.h"
#include "macro.h"

/*
 * The receive side of a stream, from RTP packets to 16 kHz PCM: the jitter
 * buffer (jitter.h) decides what plays when, the codec decodes, missing audio
 * is concealed (the codec's own PLC, Opus, or plc.h for the others), and 8 kHz
 * codecs are brought up to the audio path's rate (resample.h). Loop side only.
 */

typedef struct Playout Playout;

typedef struct PlayoutStats {
        JitterStats jitter;
        uint64_t concealed_ms;          /* audio made up for missing packets */
        uint64_t decode_errors;
} PlayoutStats;

/* codec is borrowed (the stream owns it) and must outlive the Playout. */
int playout_new(Codec *codec, const JitterConfig *config, unsigned ptime_ms, Playout **ret);
Playout *playout_free(Playout *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Playout *, playout_free);

/* An audio packet of the stream's codec. Refusals are counted, not errors. */
void playout_put(Playout *p, uint32_t ssrc, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload,
                 size_t size, uint64_t now_usec);
/* Exactly n samples at 16 kHz (n <= PLAYOUT_PULL_MAX). */
#define PLAYOUT_PULL_MAX 960
void playout_get(Playout *p, int16_t *out, size_t n, uint64_t now_usec);
void playout_reset(Playout *p);
int playout_set_config(Playout *p, const JitterConfig *config);
void playout_get_stats(const Playout *p, PlayoutStats *ret);
