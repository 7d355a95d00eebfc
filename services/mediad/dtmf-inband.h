/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtmf.h"

/*
 * In-band DTMF: the ITU-T Q.23 tone pairs in the voice itself, for peers that
 * take no RFC 4733 events (account.N.dtmf.type 0, or 1/3 when telephone-event
 * was not negotiated).
 *
 * Sending (pure, no allocation, fixed-size state): each digit is
 * DTMF_INBAND_TONE_MS of its two sines (low group at DTMF_INBAND_LOW_DBM0,
 * high group at DTMF_INBAND_HIGH_DBM0: 2 dB of positive twist, as ITU-T Q.24
 * allows), with DTMF_INBAND_RAMP_MS raised-cosine edges inside it, then
 * DTMF_INBAND_GAP_MS of silence. While digits are queued or on, the tones
 * replace the voice, they are not added to it: a loud voice (or a tone
 * played to the microphone) would otherwise spoil the pair's twist and the
 * far end's detector. Samples are at AUDIO_RATE (16 kHz) before encoding, so
 * every codec carries them.
 *
 * Receiving: spandsp's dtmf_rx (ITU-T Q.24 limits, its default thresholds)
 * on the decoded audio, resampled to 8 kHz. A digit is reported once, when
 * its tone stops (or another digit's starts), with how long it lasted.
 * dtmf-inband.c is the only file that sees spandsp's DTMF types.
 */

#define DTMF_INBAND_RATE 16000
#define DTMF_INBAND_TONE_MS 100
#define DTMF_INBAND_GAP_MS 60
#define DTMF_INBAND_RAMP_MS 2
#define DTMF_INBAND_LOW_DBM0 (-9.0)
#define DTMF_INBAND_HIGH_DBM0 (-7.0)

/* Q.23: the low (row) and high (column) frequency of a digit; -EINVAL for others. */
int dtmf_inband_freqs(char digit, unsigned *ret_low, unsigned *ret_high);

typedef struct DtmfInbandTx {
        char queue[DTMF_QUEUE_MAX];
        size_t head, n;
        bool on;                        /* a digit (tone or its gap) is being sent */
        unsigned low, high;             /* Hz of the digit on */
        uint32_t pos;                   /* samples into the digit's tone + gap */
        double phase_low, phase_high;   /* radians, in [0, 2 pi) */
        double step_low, step_high;     /* radians a sample; set once a digit, with the amplitudes */
        double amp_low, amp_high;
} DtmfInbandTx;

void dtmf_inband_tx_init(DtmfInbandTx *t);
/* Queue digits; -EINVAL for a bad digit, -EBUSY if they do not fit (nothing queued). */
int dtmf_inband_tx_queue(DtmfInbandTx *t, const char *digits);
bool dtmf_inband_tx_busy(const DtmfInbandTx *t);
/* While busy: overwrite n samples (16 kHz) with the tones and gaps, true. Else
 * leave pcm as it is, false. The rest of a buffer after the last gap is silence. */
bool dtmf_inband_tx_fill(DtmfInbandTx *t, int16_t *pcm, size_t n);

typedef struct DtmfInbandRx DtmfInbandRx;
typedef void (*DtmfInbandHandler)(char digit, uint32_t duration_ms, void *userdata);

int dtmf_inband_rx_new(DtmfInbandHandler handler, void *userdata, DtmfInbandRx **ret);
DtmfInbandRx *dtmf_inband_rx_free(DtmfInbandRx *r);
/* Decoded audio, 16 kHz, n even and at most RESAMPLE_BLOCK_MAX; the handler is
 * called from here for each digit that ended. */
void dtmf_inband_rx_feed(DtmfInbandRx *r, const int16_t *pcm, size_t n);
