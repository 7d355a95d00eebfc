/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Packet loss concealment on signals whose right continuation is known: the
 * concealed output is compared with the signal that was "lost".
 *
 * Thresholds. For a steady periodic signal the pitch repetition itself is (near)
 * exact, so the error on a concealed 20 ms frame comes from the attenuation
 * schedule: gain 1 for 10 ms, then falling linearly by 20 % per 10 ms. Over one
 * 20 ms frame the error power relative to the signal is
 *   (1/2) * mean over the second half of (1 - g)^2 = (1/2) * 0.2^2 / 3 = 0.0067,
 * i.e. an SNR of 21.8 dB on the concealed frame. We require 18 dB (room for the
 * cross-fade back and the junction smoothing); a wrong pitch or a phase slip of a
 * quarter period already gives about 3 dB, and muting the frame gives 0 dB.
 * The cross-fade back (10 ms, from the synthetic signal at gain 0.8..0.6) adds some
 * error to the next good frame: with every 5th frame lost the whole signal measures
 * 24.6 dB; we require 23 dB.
 *
 * Discontinuities: the largest step between two output samples must stay within
 * 10 % of the largest step of the clean signal (2*pi*f/rate * amplitude for a sine).
 */

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "plc.h"
#include "tap.h"

#define MAX_SAMPLES (48000 * 3)

static int16_t clean[MAX_SAMPLES], out[MAX_SAMPLES];

static void make_sine(unsigned rate, double f, double amp, size_t n) {
        for (size_t i = 0; i < n; i++)
                clean[i] = (int16_t) lrint(amp * sin(2 * M_PI * f * (double) i / rate));
}

/* A voiced-speech-like signal: harmonics of f0 with falling amplitudes. */
static void make_voiced(unsigned rate, double f0, size_t n) {
        for (size_t i = 0; i < n; i++) {
                double v = 0;
                for (unsigned h = 1; h * f0 < rate / 2 && h <= 12; h++)
                        v += 6000.0 / h * sin(2 * M_PI * h * f0 * (double) i / rate + h * 0.7);
                clean[i] = (int16_t) lrint(v);
        }
}

static double snr_db(size_t from, size_t to) {
        double s = 0, e = 0;
        for (size_t i = from; i < to; i++) {
                double d = (double) out[i] - clean[i];
                s += (double) clean[i] * clean[i];
                e += d * d;
        }
        return e == 0 ? 200 : 10 * log10(s / e);
}

static int max_step(const int16_t *x, size_t n) {
        int m = 0;
        for (size_t i = 1; i < n; i++)
                m = MAX(m, abs((int) x[i] - (int) x[i - 1]));
        return m;
}

/* Play n samples of clean[] through the PLC in frames of frame samples, frame k
 * lost when lost(k); returns the SNR over the lost frames in *ret_lost_snr. */
static void run(Plc *p, size_t n, size_t frame, bool (*lost)(size_t k), double *ret_lost_snr) {
        double s = 0, e = 0;

        for (size_t off = 0, k = 0; off < n; off += frame, k++) {
                size_t m = MIN(frame, n - off);
                if (lost(k)) {
                        plc_conceal(p, out + off, m);
                        for (size_t i = off; i < off + m; i++) {
                                double d = (double) out[i] - clean[i];
                                s += (double) clean[i] * clean[i];
                                e += d * d;
                        }
                } else {
                        memcpy(out + off, clean + off, m * sizeof(int16_t));
                        plc_good_frame(p, out + off, m);
                }
        }
        if (ret_lost_snr)
                *ret_lost_snr = e == 0 ? 200 : 10 * log10(s / e);
}

static bool every_5th(size_t k) {
        return k % 5 == 4;
}

static void test_sine(unsigned rate) {
        _cleanup_(plc_freep) Plc *p = NULL;
        size_t n = 2 * rate, frame = rate / 50;
        double lost_snr, total_snr;
        int step_clean, step_out;
        char name[64];

        snprintf(name, sizeof(name), "/plc/sine-500hz-every-5th-lost/%u", rate);
        tap_begin(name);
        check(plc_new(rate, &p) == 0);
        make_sine(rate, 500, 12000, n);
        run(p, n, frame, every_5th, &lost_snr);
        total_snr = snr_db(0, n);
        step_clean = max_step(clean, n);
        step_out = max_step(out, n);
        printf("# %u Hz: SNR on lost frames %.1f dB (muting them: 0 dB), whole signal %.1f dB, "
               "largest step %d (clean %d)\n", rate, lost_snr, total_snr, step_out, step_clean);
        check(lost_snr >= 18, "lost-frame SNR %.1f dB", lost_snr);
        check(total_snr >= 23, "total SNR %.1f dB", total_snr);
        check(step_out <= step_clean * 11 / 10, "step %d clean %d", step_out, step_clean);
        tap_end();
}

static void test_voiced(unsigned rate) {
        _cleanup_(plc_freep) Plc *p = NULL;
        size_t n = 2 * rate, frame = rate / 50;
        double lost_snr, total_snr;
        int step_clean, step_out;
        char name[64];

        /* f0 = 133 Hz: a period of 7.52 ms, not a whole number of samples. */
        snprintf(name, sizeof(name), "/plc/voiced-133hz-every-5th-lost/%u", rate);
        tap_begin(name);
        check(plc_new(rate, &p) == 0);
        make_voiced(rate, 133, n);
        run(p, n, frame, every_5th, &lost_snr);
        total_snr = snr_db(0, n);
        step_clean = max_step(clean, n);
        step_out = max_step(out, n);
        printf("# %u Hz: SNR on lost frames %.1f dB, whole signal %.1f dB, largest step %d (clean %d)\n", rate,
               lost_snr, total_snr, step_out, step_clean);
        /* Harmonics up to 12 * f0 amplify a fractional-period error: a lower bar. */
        check(lost_snr >= 12, "lost-frame SNR %.1f dB", lost_snr);
        check(step_out <= step_clean * 11 / 10, "step %d clean %d", step_out, step_clean);
        tap_end();
}

static bool long_gap(size_t k) {
        return k >= 20 && k < 30; /* 100 ms of 10 ms frames */
}

static void test_long_loss(void) {
        _cleanup_(plc_freep) Plc *p = NULL;
        unsigned rate = 16000;
        size_t n = rate, frame = rate / 100, gap = 20 * frame;
        int step_clean, step_out;
        bool silent = true, decays = true;
        double prev = INFINITY;

        tap_begin("/plc/long-loss-fades-to-silence");
        check(plc_new(rate, &p) == 0);
        make_sine(rate, 500, 12000, n);
        run(p, n, frame, long_gap, NULL);
        /* silence from 60 ms into the loss until the audio comes back */
        for (size_t i = gap + 60 * rate / 1000; i < gap + 10 * frame; i++)
                silent = silent && out[i] == 0;
        /* the level falls from 10 ms on: RMS per 10 ms */
        for (size_t b = 1; b < 6; b++) {
                double s = 0;
                for (size_t i = gap + b * frame; i < gap + (b + 1) * frame; i++)
                        s += (double) out[i] * out[i];
                decays = decays && s < prev;
                prev = s;
        }
        step_clean = max_step(clean, n);
        step_out = max_step(out, n);
        check(silent);
        check(decays);
        check(plc_concealed_ms(p) == 0);
        check(step_out <= step_clean * 11 / 10, "step %d clean %d", step_out, step_clean);
        /* back to the real signal once the fade-in is over */
        check(snr_db(gap + 10 * frame + frame, n) > 100);
        tap_end();
}

static size_t odd_sizes[] = { 1, 7, 37, 160, 161, 333, 2, 80 };

static void test_odd_frames(void) {
        _cleanup_(plc_freep) Plc *p = NULL;
        unsigned rate = 8000;
        size_t n = rate * 2, off = 0, k = 0;
        int step_clean, step_out;

        tap_begin("/plc/odd-frame-sizes");
        check(plc_new(rate, &p) == 0);
        make_sine(rate, 440, 10000, n);
        while (off < n) {
                size_t m = MIN(odd_sizes[k % ELEMENTSOF(odd_sizes)], n - off);
                if (k % 3 == 2 && m < 400)
                        plc_conceal(p, out + off, m);
                else {
                        memcpy(out + off, clean + off, m * sizeof(int16_t));
                        plc_good_frame(p, out + off, m);
                }
                off += m;
                k++;
        }
        step_clean = max_step(clean, n);
        step_out = max_step(out, n);
        check(step_out <= step_clean * 11 / 10, "step %d clean %d", step_out, step_clean);
        /* A third of the signal is concealed, in losses of up to 41 ms that fade by
         * up to 62 %: a low bar, this test is about frame sizes and steps. */
        check(snr_db(0, n) >= 10, "SNR %.1f", snr_db(0, n));
        tap_end();
}

static void test_edges(void) {
        _cleanup_(plc_freep) Plc *p = NULL;
        Plc *q = NULL;
        int16_t buf[100];
        bool zero = true;

        tap_begin("/plc/edges");
        check(plc_new(7999, &q) == -EINVAL);
        check(plc_new(48001, &q) == -EINVAL);
        check(plc_new(8000, &p) == 0);
        /* nothing heard yet: silence */
        memset(buf, 0x55, sizeof(buf));
        plc_conceal(p, buf, ELEMENTSOF(buf));
        for (size_t i = 0; i < ELEMENTSOF(buf); i++)
                zero = zero && buf[i] == 0;
        check(zero);
        check(plc_concealed_ms(p) == 12, "%u", plc_concealed_ms(p));
        plc_reset(p);
        check(plc_concealed_ms(p) == 0);
        tap_end();
}

int main(void) {
        test_sine(8000);
        test_sine(16000);
        test_sine(48000);
        test_voiced(8000);
        test_voiced(16000);
        test_voiced(48000);
        test_long_loss();
        test_odd_frames();
        test_edges();
        return tap_finish();
}
