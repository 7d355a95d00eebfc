/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * 2:1 sample rate conversion between the 16 kHz audio path and 8 kHz codecs
 * (G.711), pure. One 47-tap half-band FIR (Kaiser window, beta 5.65):
 * flat within 0.03 dB to 3.4 kHz, -6 dB at 4 kHz, below -49 dB from 4.6 kHz.
 * Half the taps are zero, so each output costs 12 multiply-adds.
 * Delay: 1.44 ms down, 1.5 ms up.
 */

#define RESAMPLE_HALF_TAPS 12
#define RESAMPLE_BLOCK_MAX 2048         /* input samples per call */

typedef struct Downsampler {
        float history[4 * RESAMPLE_HALF_TAPS - 2];      /* 46 input samples */
} Downsampler;

typedef struct Upsampler {
        float history[2 * RESAMPLE_HALF_TAPS - 1];      /* 23 input samples */
} Upsampler;

/* Zeroed state is a valid start (silence before). */
void downsampler_reset(Downsampler *d);
void upsampler_reset(Upsampler *u);

/* 16 kHz -> 8 kHz: n even, n <= RESAMPLE_BLOCK_MAX; writes n / 2 samples. -EINVAL otherwise. */
int downsample2(Downsampler *d, const int16_t *in, size_t n, int16_t *out);
/* 8 kHz -> 16 kHz: n <= RESAMPLE_BLOCK_MAX; writes 2 n samples. */
int upsample2(Upsampler *u, const int16_t *in, size_t n, int16_t *out);
