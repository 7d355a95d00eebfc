/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In-band DTMF: the generator's tone pairs measured with the Goertzel algorithm
 * (frequencies, levels, timing, silence between digits), and spandsp's detector
 * on what the generator makes, also through G.711 mu-law. */
#include <math.h>

#include "dtmf-inband.h"
#include "g711.h"
#include "macro.h"
#include "resample.h"
#include "tap.h"

#define RATE DTMF_INBAND_RATE
#define TONE (RATE * DTMF_INBAND_TONE_MS / 1000)     /* 1600 samples */
#define GAP (RATE * DTMF_INBAND_GAP_MS / 1000)       /* 960 */
#define RAMP (RATE * DTMF_INBAND_RAMP_MS / 1000)
#define FRAME 320                                     /* 20 ms */
#define ALL "0123456789*#ABCD"

static const unsigned freqs[8] = { 697, 770, 852, 941, 1209, 1336, 1477, 1633 };

/* Goertzel over a Hann window (its side lobes fall fast: the neighbouring DTMF
 * frequencies do not leak in); normalised so that a sine of amplitude A gives (A/4)^2. */
static double goertzel(const int16_t *x, size_t n, double f) {
        double w = 2.0 * M_PI * f / RATE, coeff = 2.0 * cos(w), s1 = 0, s2 = 0;

        for (size_t i = 0; i < n; i++) {
                double hann = 0.5 - 0.5 * cos(2.0 * M_PI * i / (n - 1));
                double s0 = hann * x[i] + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
        }
        double p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        return p / ((double) n * n);
}

/* The amplitude of the sine at f in x, from its Goertzel power. */
static double amplitude_at(const int16_t *x, size_t n, double f) {
        return 4.0 * sqrt(goertzel(x, n, f));
}

static double expected_amplitude(double dbm0) {
        return 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
}

static void generate(DtmfInbandTx *t, int16_t *out, size_t n) {
        for (size_t i = 0; i < n; i += FRAME)
                (void) dtmf_inband_tx_fill(t, out + i, MIN((size_t) FRAME, n - i));
}

static void test_freqs(void) {
        unsigned lo, hi;

        tap_begin("/dtmf-inband/q23-frequencies");
        check(dtmf_inband_freqs('1', &lo, &hi) == 0 && lo == 697 && hi == 1209);
        check(dtmf_inband_freqs('5', &lo, &hi) == 0 && lo == 770 && hi == 1336);
        check(dtmf_inband_freqs('9', &lo, &hi) == 0 && lo == 852 && hi == 1477);
        check(dtmf_inband_freqs('0', &lo, &hi) == 0 && lo == 941 && hi == 1336);
        check(dtmf_inband_freqs('*', &lo, &hi) == 0 && lo == 941 && hi == 1209);
        check(dtmf_inband_freqs('#', &lo, &hi) == 0 && lo == 941 && hi == 1477);
        check(dtmf_inband_freqs('D', &lo, &hi) == 0 && lo == 941 && hi == 1633);
        check(dtmf_inband_freqs('x', &lo, &hi) == -EINVAL && dtmf_inband_freqs(0, &lo, &hi) == -EINVAL);
        tap_end();
}

/* Each digit: its two frequencies at their levels, every other DTMF frequency 30 dB below. */
static void test_goertzel(void) {
        static int16_t pcm[16 * (TONE + GAP) + FRAME];
        DtmfInbandTx t;

        tap_begin("/dtmf-inband/generate/goertzel");
        dtmf_inband_tx_init(&t);
        check(dtmf_inband_tx_queue(&t, ALL) == 0 && dtmf_inband_tx_busy(&t));
        generate(&t, pcm, ELEMENTSOF(pcm));
        check(!dtmf_inband_tx_busy(&t));
        for (size_t d = 0; d < 16; d++) {
                unsigned lo, hi;
                const int16_t *tone = pcm + d * (TONE + GAP) + RAMP, *gap = pcm + d * (TONE + GAP) + TONE;
                size_t n = TONE - 2 * RAMP;
                (void) dtmf_inband_freqs(ALL[d], &lo, &hi);
                double a_lo = amplitude_at(tone, n, lo), a_hi = amplitude_at(tone, n, hi);
                check(fabs(20 * log10(a_lo / expected_amplitude(DTMF_INBAND_LOW_DBM0))) < 0.5,
                      "digit %c: %u Hz at amplitude %.0f", ALL[d], lo, a_lo);
                check(fabs(20 * log10(a_hi / expected_amplitude(DTMF_INBAND_HIGH_DBM0))) < 0.5,
                      "digit %c: %u Hz at amplitude %.0f", ALL[d], hi, a_hi);
                for (size_t f = 0; f < 8; f++) {
                        if (freqs[f] == lo || freqs[f] == hi)
                                continue;
                        double a = amplitude_at(tone, n, freqs[f]);
                        check(20 * log10(a_lo / (a + 1e-9)) > 30, "digit %c: %u Hz at %.0f", ALL[d], freqs[f], a);
                }
                bool silent = true;
                for (size_t i = 0; i < GAP; i++)
                        silent = silent && gap[i] == 0;
                check(silent, "the gap after digit %c is silence", ALL[d]);
        }
        tap_end();
}

static void test_voice(void) {
        int16_t v[FRAME];
        DtmfInbandTx t;

        tap_begin("/dtmf-inband/generate/voice-untouched-when-idle");
        dtmf_inband_tx_init(&t);
        for (size_t i = 0; i < FRAME; i++)
                v[i] = (int16_t) (i * 7);
        check(!dtmf_inband_tx_fill(&t, v, FRAME));
        check(v[100] == 700);
        check(dtmf_inband_tx_queue(&t, "1") == 0);
        check(dtmf_inband_tx_fill(&t, v, FRAME) && v[100] != 700, "the tone replaces the voice");
        check(dtmf_inband_tx_queue(&t, "12x") == -EINVAL && t.n == 0);
        char many[DTMF_QUEUE_MAX + 1];
        memset(many, '5', DTMF_QUEUE_MAX);
        many[DTMF_QUEUE_MAX] = 0;
        check(dtmf_inband_tx_queue(&t, many) == 0);
        check(dtmf_inband_tx_queue(&t, "1") == -EBUSY);
        tap_end();
}

/* The generator keeps its place between calls: any chunking gives the same samples. */
static void test_chunks(void) {
        static int16_t one[2 * (TONE + GAP)], many[2 * (TONE + GAP)];
        DtmfInbandTx t;

        tap_begin("/dtmf-inband/generate/any-chunk-size");
        dtmf_inband_tx_init(&t);
        check(dtmf_inband_tx_queue(&t, "7#") == 0);
        check(dtmf_inband_tx_fill(&t, one, ELEMENTSOF(one)) && !dtmf_inband_tx_busy(&t));
        dtmf_inband_tx_init(&t);
        check(dtmf_inband_tx_queue(&t, "7#") == 0);
        for (size_t i = 0; i < ELEMENTSOF(many); i += 7)
                (void) dtmf_inband_tx_fill(&t, many + i, MIN((size_t) 7, ELEMENTSOF(many) - i));
        check(memcmp(one, many, sizeof(one)) == 0, "chunks of 7 samples differ from one call");
        tap_end();
}

typedef struct Heard {
        char digits[64];
        uint32_t ms[64];
        size_t n;
} Heard;

static void on_digit(char digit, uint32_t ms, void *userdata) {
        Heard *h = userdata;
        if (h->n < ELEMENTSOF(h->digits) - 1) {
                h->ms[h->n] = ms;
                h->digits[h->n++] = digit;
        }
}

static void detect(const int16_t *pcm, size_t n, bool ulaw, Heard *h) {
        DtmfInbandRx *rx = NULL;
        int16_t frame[160];

        *h = (Heard) {};
        check(dtmf_inband_rx_new(on_digit, h, &rx) == 0);
        for (size_t i = 0; rx && i + 160 <= n; i += 160) {
                memcpy(frame, pcm + i, sizeof(frame));
                if (ulaw) /* 16 kHz -> 8 kHz mu-law -> 16 kHz, as a PCMU call does */
                        for (size_t k = 0; k < 160; k += 2)
                                frame[k] = frame[k + 1] = g711_ulaw_decode(g711_ulaw_encode(frame[k]));
                dtmf_inband_rx_feed(rx, frame, 160);
        }
        dtmf_inband_rx_free(rx);
}

static void test_detect(void) {
        static int16_t pcm[16 * (TONE + GAP) + 4 * FRAME];
        DtmfInbandTx t;
        Heard h;

        for (int ulaw = 0; ulaw <= 1; ulaw++) {
                tap_begin(ulaw ? "/dtmf-inband/detect/all-digits-pcmu" : "/dtmf-inband/detect/all-digits");
                dtmf_inband_tx_init(&t);
                memset(pcm, 0, sizeof(pcm));
                check(dtmf_inband_tx_queue(&t, ALL) == 0);
                generate(&t, pcm, ELEMENTSOF(pcm));
                detect(pcm, ELEMENTSOF(pcm), ulaw, &h);
                check(streq(h.digits, ALL), "heard '%s'", h.digits);
                for (size_t i = 0; i < h.n; i++)
                        check(h.ms[i] >= 70 && h.ms[i] <= 130, "digit %c lasted %u ms", h.digits[i], h.ms[i]);
                tap_end();
        }

        tap_begin("/dtmf-inband/detect/no-digit-in-a-tone");
        for (size_t i = 0; i < ELEMENTSOF(pcm); i++) /* 1 s of 1 kHz and 440 Hz, as a test's capture file */
                pcm[i] = (int16_t) (8000 * sin(2 * M_PI * 1000 * i / RATE) + 6000 * sin(2 * M_PI * 440 * i / RATE));
        detect(pcm, ELEMENTSOF(pcm), false, &h);
        check(h.n == 0, "heard '%s'", h.digits);
        tap_end();
}

int main(void) {
        test_freqs();
        test_goertzel();
        test_voice();
        test_chunks();
        test_detect();
        return tap_finish();
}
