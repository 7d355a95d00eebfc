/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Packet loss concealment for linear PCM (mono int16, 8000..48000 Hz): for
 * codecs without their own (G.711, G.722, L16). Opus has its own PLC: the caller
 * simply does not use this module for it. Pure code, no allocation after plc_new.
 *
 * Use, one Plc per decoded stream, in playout order:
 *
 *   decoded a real frame:  plc_good_frame(p, pcm, n);   (may modify pcm: the first
 *                                                        samples after a concealed
 *                                                        stretch are cross-faded)
 *   frame missing:         plc_conceal(p, out, n);      (writes n samples)
 *
 * Frames may have any length, and the length may change from call to call.
 *
 * Algorithm (in the spirit of ITU-T G.711 Appendix I, own code):
 *   - History: the last 3 * PLC_PITCH_MAX_MS + overlap of output is kept.
 *   - At the first missing sample the pitch period P is searched in
 *     [PLC_PITCH_MIN_MS, PLC_PITCH_MAX_MS] (5..15 ms, 200..66 Hz) by normalised
 *     cross-correlation of the last PLC_CORR_MS of history with earlier
 *     windows; at rates above 8 kHz a coarse search on every (rate/8000)-th lag
 *     is refined around the best lag.
 *   - Synthesis repeats the last P samples (then 2P after 10 ms and 3P after
 *     20 ms of loss, which sounds less buzzy), each time from a pitch buffer
 *     whose end is overlap-added (1/4 period, raised cosine) with the samples
 *     that precede its start, so the repetition has no seam; the switch to a
 *     longer buffer happens at a period boundary where both agree. The very
 *     first synthetic samples carry the offset between the last real sample and
 *     the pitch buffer, fading out over 1/4 period, so there is no step.
 *   - Gain: 1 for the first PLC_ATTEN_START_MS (10 ms), then falling linearly,
 *     per sample, to 0 at PLC_MUTE_MS (60 ms); silence after that.
 *   - The next good audio is cross-faded (raised cosine) from the continued
 *     synthetic signal into the real one over 4 ms + 4 ms per 10 ms of loss,
 *     at most 10 ms (spanning several good frames when they are shorter).
 *   - With less than PLC_PITCH_MIN_MS + PLC_CORR_MS of history (start of a
 *     stream, after plc_reset) the last sample fades to silence in 2 ms.
 *
 * Cost: the pitch search runs once per loss, ~50 k multiply-adds at any rate
 * (coarse search at ~8 kHz resolution, then refined); synthesis is a few
 * operations per sample. sizeof(Plc) is about 31 kB (arrays sized for 48 kHz).
 */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define PLC_RATE_MIN        8000U
#define PLC_RATE_MAX        48000U
#define PLC_PITCH_MIN_MS    5U
#define PLC_PITCH_MAX_MS    15U
#define PLC_CORR_MS         20U
#define PLC_ATTEN_START_MS  10U
#define PLC_MUTE_MS         60U

typedef struct Plc Plc;

/* sample_rate in [PLC_RATE_MIN, PLC_RATE_MAX]. Returns 0, -EINVAL, -ENOMEM. */
int plc_new(unsigned sample_rate, Plc **ret);
Plc *plc_free(Plc *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plc *, plc_free);

/* A real frame was decoded; pcm[0..n) is what will be played (cross-faded in place
 * if it follows concealment). */
void plc_good_frame(Plc *p, int16_t *pcm, size_t n);

/* Write n concealed samples for missing audio. */
void plc_conceal(Plc *p, int16_t *out, size_t n);

/* Forget the history (new stream, SSRC change). */
void plc_reset(Plc *p);

/* Milliseconds concealed in a row so far (0 after a good frame). */
unsigned plc_concealed_ms(const Plc *p);
