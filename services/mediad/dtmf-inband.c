/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In-band DTMF (dtmf-inband.h): the Q.23 generator, and spandsp's detector
 * (loaded when first needed: spandsp-dl.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtmf-inband.h"
#include "resample.h"
#include "spandsp-dl.h"

#define TONE_SAMPLES (DTMF_INBAND_RATE * DTMF_INBAND_TONE_MS / 1000)
#define GAP_SAMPLES (DTMF_INBAND_RATE * DTMF_INBAND_GAP_MS / 1000)
#define RAMP_SAMPLES (DTMF_INBAND_RATE * DTMF_INBAND_RAMP_MS / 1000)
#define DBM0_FULL_SCALE_DB 3.14         /* 0 dBm0: a sine 3.14 dB below int16 full scale (G.711) */
#define RX_RATE 8000

static const unsigned low_group[4] = { 697, 770, 852, 941 };
static const unsigned high_group[4] = { 1209, 1336, 1477, 1633 };
static const char keypad[4][5] = { "123A", "456B", "789C", "*0#D" };

int dtmf_inband_freqs(char digit, unsigned *ret_low, unsigned *ret_high) {
        for (size_t row = 0; row < 4; row++) {
                const char *p = digit ? strchr(keypad[row], digit) : NULL;
                if (!p)
                        continue;
                *ret_low = low_group[row];
                *ret_high = high_group[p - keypad[row]];
                return 0;
        }
        return -EINVAL;
}

/* ---- sending ---- */

void dtmf_inband_tx_init(DtmfInbandTx *t) {
        *t = (DtmfInbandTx) {};
}

int dtmf_inband_tx_queue(DtmfInbandTx *t, const char *digits) {
        size_t n = strlen(digits);

        if (!dtmf_digits_valid(digits))
                return -EINVAL;
        if (n > DTMF_QUEUE_MAX - t->n)
                return -EBUSY;
        for (size_t i = 0; i < n; i++)
                t->queue[(t->head + t->n++) % DTMF_QUEUE_MAX] = digits[i];
        return 0;
}

bool dtmf_inband_tx_busy(const DtmfInbandTx *t) {
        return t->on || t->n > 0;
}

static double amplitude(double dbm0) {
        return 32767.0 * pow(10.0, (dbm0 - DBM0_FULL_SCALE_DB) / 20.0);
}

/* Raised-cosine envelope at both ends of the tone: no clicks, no splatter. */
static double envelope(uint32_t pos) {
        uint32_t from_end = TONE_SAMPLES - 1 - pos;
        uint32_t edge = pos < from_end ? pos : from_end;
        if (edge >= RAMP_SAMPLES)
                return 1.0;
        return 0.5 - 0.5 * cos(M_PI * (edge + 0.5) / RAMP_SAMPLES);
}

/* The per-digit constants here, so that a sample costs two sin() and no pow() or fmod(). */
static void start_digit(DtmfInbandTx *t) {
        char c = t->queue[t->head];
        t->head = (t->head + 1) % DTMF_QUEUE_MAX;
        t->n--;
        (void) dtmf_inband_freqs(c, &t->low, &t->high); /* queued digits are valid */
        t->on = true;
        t->pos = 0;
        t->phase_low = t->phase_high = 0;
        t->step_low = 2.0 * M_PI * t->low / DTMF_INBAND_RATE;
        t->step_high = 2.0 * M_PI * t->high / DTMF_INBAND_RATE;
        t->amp_low = amplitude(DTMF_INBAND_LOW_DBM0);
        t->amp_high = amplitude(DTMF_INBAND_HIGH_DBM0);
}

/* phase + step, back into [0, 2 pi): step is under pi (every frequency is under half the rate). */
static double advance(double phase, double step) {
        phase += step;
        return phase >= 2.0 * M_PI ? phase - 2.0 * M_PI : phase;
}

static int16_t next_sample(DtmfInbandTx *t) {
        double v = 0;

        if (t->pos < TONE_SAMPLES) {
                v = envelope(t->pos) * (t->amp_low * sin(t->phase_low) + t->amp_high * sin(t->phase_high));
                t->phase_low = advance(t->phase_low, t->step_low);
                t->phase_high = advance(t->phase_high, t->step_high);
        }
        if (++t->pos >= TONE_SAMPLES + GAP_SAMPLES)
                t->on = false;
        return (int16_t) lrint(v);
}

bool dtmf_inband_tx_fill(DtmfInbandTx *t, int16_t *pcm, size_t n) {
        if (!dtmf_inband_tx_busy(t))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!t->on && t->n > 0)
                        start_digit(t);
                pcm[i] = t->on ? next_sample(t) : 0;
        }
        return true;
}

/* ---- receiving ---- */

struct DtmfInbandRx {
        const SpandspApi *sp;
        dtmf_rx_state_t *dtmf;
        Downsampler down;
        DtmfInbandHandler handler;
        void *userdata;
        uint64_t samples;               /* 8 kHz samples fed so far */
        uint64_t started;               /* when the digit on began */
        char digit;                     /* the digit on, 0 none */
};

static void rx_end(DtmfInbandRx *r) {
        if (!r->digit)
                return;
        uint32_t ms = (uint32_t) ((r->samples - r->started) * 1000 / RX_RATE);
        char d = r->digit;
        r->digit = 0;
        r->handler(d, ms, r->userdata);
}

/* spandsp: a confirmed change, the digit's character or 0 for "no tone". */
static void on_tone(void *userdata, int code, int level, int delay) {
        DtmfInbandRx *r = userdata;

        if (code == r->digit)
                return;
        rx_end(r);
        if (code > 0 && code < 128 && dtmf_event_from_char((char) code) >= 0) {
                r->digit = (char) code;
                r->started = r->samples;
        }
}

/* The digits are taken from the real-time callback; spandsp's own buffer is not used. */
static void on_digits(void *userdata, const char *digits, int len) {
}

int dtmf_inband_rx_new(DtmfInbandHandler handler, void *userdata, DtmfInbandRx **ret) {
        const SpandspApi *sp = spandsp_api();
        if (!sp)
                return -ENOPKG;
        DtmfInbandRx *r = calloc(1, sizeof(DtmfInbandRx));
        if (!r)
                return -ENOMEM;
        r->sp = sp;
        r->dtmf = sp->dtmf_rx_init(NULL, on_digits, r);
        if (!r->dtmf) {
                free(r);
                return -ENOMEM;
        }
        sp->dtmf_rx_set_realtime_callback(r->dtmf, on_tone, r);
        r->handler = handler;
        r->userdata = userdata;
        *ret = r;
        return 0;
}

DtmfInbandRx *dtmf_inband_rx_free(DtmfInbandRx *r) {
        if (!r)
                return NULL;
        r->sp->dtmf_rx_free(r->dtmf);
        free(r);
        return NULL;
}

void dtmf_inband_rx_feed(DtmfInbandRx *r, const int16_t *pcm, size_t n) {
        int16_t narrow[RESAMPLE_BLOCK_MAX / 2];

        if (downsample2(&r->down, pcm, n, narrow) < 0)
                return;
        (void) r->sp->dtmf_rx(r->dtmf, narrow, (int) (n / 2));
        r->samples += n / 2;
}
