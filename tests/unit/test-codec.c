/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Codecs through their ops tables: a 1 kHz sine (and a two-tone signal) is
 * encoded and decoded in 20 ms packets; after lining up the codec's delay the
 * output must match the input with an SNR above each codec's bound, and keep
 * its level. Also the 2:1 resampler, payload sizes and bad payloads.
 */
#include <math.h>
#include <time.h>

#include "codec.h"
#include "resample.h"
#include "tap.h"
#include "util.h"

#define SECONDS 2
#define MAX_DELAY 400

/* Three tones that share no period: a delay is found unambiguously. */
static void three_tones(int16_t *x, size_t n, unsigned rate) {
        double a = pow(10, -10.0 / 20) * 32767 / 3;
        for (size_t i = 0; i < n; i++)
                x[i] = (int16_t) lrint(a * (sin(2 * M_PI * 437 * (double) i / rate) + sin(2 * M_PI * 1123 * (double) i / rate) +
                                            sin(2 * M_PI * 2719 * (double) i / rate)));
}

static void sine(int16_t *x, size_t n, unsigned rate, double hz, double dbfs, double hz2) {
        double a = pow(10, dbfs / 20) * 32767;
        for (size_t i = 0; i < n; i++) {
                double v = sin(2 * M_PI * hz * (double) i / rate);
                if (hz2 > 0)
                        v = 0.5 * (v + sin(2 * M_PI * hz2 * (double) i / rate));
                x[i] = (int16_t) lrint(a * v);
        }
}

static double rms(const int16_t *x, size_t n) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
                s += (double) x[i] * x[i];
        return sqrt(s / (double) n);
}

/* Best SNR (dB) of y against x delayed by 0..MAX_DELAY samples, over the second half. */
static double best_snr(const int16_t *x, const int16_t *y, size_t n, unsigned *ret_delay) {
        double best = -1000;
        size_t from = n / 2;
        for (unsigned d = 0; d < MAX_DELAY; d++) {
                double sig = 0, err = 0;
                for (size_t i = from; i < n; i++) {
                        double e = (double) y[i] - x[i - d];
                        sig += (double) x[i - d] * x[i - d];
                        err += e * e;
                }
                double snr = 10 * log10(sig / (err + 1e-9));
                if (snr > best) {
                        best = snr;
                        *ret_delay = d;
                }
        }
        return best;
}

typedef struct RoundTrip {
        double snr, level_db, encode_ns;
        unsigned delay;
        size_t bytes;
} RoundTrip;

static int round_trip(const CodecOps *ops, const int16_t *in, int16_t *out, size_t n, RoundTrip *ret) {
        _cleanup_(codec_freep) Codec *c = NULL;
        size_t frame = ops->sample_rate / 50, bytes = 0;
        uint8_t payload[CODEC_PAYLOAD_MAX];
        uint64_t ns = 0;

        if (codec_new(ops, &c) < 0)
                return -1;
        for (size_t off = 0; off + frame <= n; off += frame) {
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                int k = ops->encode(c->state, in + off, frame, payload, sizeof(payload));
                clock_gettime(CLOCK_MONOTONIC, &b);
                ns += (uint64_t) ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
                if (k <= 0 || ops->payload_samples(payload, (size_t) k) != (int) frame)
                        return -1;
                bytes += (size_t) k;
                if (ops->decode(c->state, payload, (size_t) k, out + off, frame) != (int) frame)
                        return -1;
        }
        ret->snr = best_snr(in, out, n, &ret->delay);
        ret->level_db = 20 * log10(rms(out + n / 2, n / 2) / rms(in + n / 2, n / 2));
        ret->bytes = bytes / (n / frame);
        ret->encode_ns = (double) ns / (double) n;
        return 0;
}

typedef struct CodecCase {
        const CodecOps *ops;
        double min_snr;         /* dB, 1 kHz at -10 dBFS */
        double min_snr_two;     /* 500 + 1500 Hz */
        size_t bytes;           /* per 20 ms */
} CodecCase;

static void test_round_trips(void) {
        /* G.711: ~38 dB for a loud sine; G.722 at 64 kbit/s better; Opus is not a waveform
         * coder at 24 kbit/s, so its bound is lower, but the level must hold */
        const CodecCase cases[] = {
                { &codec_pcmu, 35, 35, 160 },
                { &codec_pcma, 35, 35, 160 },
                { &codec_g722, 30, 30, 160 },
                { &codec_opus, 10, 10, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const CodecOps *ops = cases[i].ops;
                size_t n = (size_t) ops->sample_rate * SECONDS;
                _cleanup_(freep) int16_t *in = calloc(n, sizeof(int16_t)), *out = calloc(n, sizeof(int16_t));
                RoundTrip rt = {};
                char name[64];

                snprintf(name, sizeof(name), "/codec/%s/round-trip-1khz", ops->name);
                tap_begin(name);
                sine(in, n, ops->sample_rate, 1000, -10, 0);
                check(round_trip(ops, in, out, n, &rt) == 0);
                printf("# %s: SNR %.1f dB (delay %u samples), level %+.2f dB, %zu bytes/packet, encode %.1f ns/sample\n",
                       ops->name, rt.snr, rt.delay, rt.level_db, rt.bytes, rt.encode_ns);
                check(rt.snr >= cases[i].min_snr, "SNR %.1f dB", rt.snr);
                check(fabs(rt.level_db) <= 1.0, "level %+.2f dB", rt.level_db);
                check(cases[i].bytes == 0 || rt.bytes == cases[i].bytes, "%zu bytes", rt.bytes);
                tap_end();

                snprintf(name, sizeof(name), "/codec/%s/round-trip-two-tones", ops->name);
                tap_begin(name);
                sine(in, n, ops->sample_rate, 500, -6, 1500);
                check(round_trip(ops, in, out, n, &rt) == 0);
                printf("# %s two tones: SNR %.1f dB, level %+.2f dB\n", ops->name, rt.snr, rt.level_db);
                check(rt.snr >= cases[i].min_snr_two, "SNR %.1f dB", rt.snr);
                check(fabs(rt.level_db) <= 1.0, "level %+.2f dB", rt.level_db);
                tap_end();
        }
}

static void test_bad_payloads(void) {
        _cleanup_(codec_freep) Codec *opus = NULL, *g722 = NULL;
        int16_t pcm[CODEC_FRAME_MAX];
        uint8_t junk[300];

        tap_begin("/codec/bad-payloads");
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (uint8_t) (i * 37 + 11);
        check(codec_new(&codec_opus, &opus) == 0 && codec_new(&codec_g722, &g722) == 0);
        check(codec_opus.decode(opus->state, junk, 0, pcm, ELEMENTSOF(pcm)) == -EBADMSG);
        /* junk either decodes to something or is refused: never more than asked */
        int r = codec_opus.decode(opus->state, junk, sizeof(junk), pcm, ELEMENTSOF(pcm));
        check(r < 0 || r <= (int) ELEMENTSOF(pcm));
        check(codec_opus.conceal(opus->state, pcm, 320) == 320);
        check(codec_g722.decode(g722->state, junk, 160, pcm, 100) == -ENOBUFS);
        check(codec_g722.decode(g722->state, junk, 161, pcm, ELEMENTSOF(pcm)) == 322);
        check(codec_g722.payload_samples(junk, 160) == 320 && codec_pcmu.payload_samples(junk, 160) == 160);
        check(codec_opus.payload_samples(junk, 0) == -EBADMSG);
        tap_end();

        tap_begin("/codec/table");
        check(codec_find("g722") == &codec_g722 && codec_find("OPUS") == &codec_opus && !codec_find("G729"));
        check(codec_find_static(9) == &codec_g722 && !codec_find_static(106) && !codec_find_static(18));
        check(codec_ptime_valid(&codec_opus, 20) && !codec_ptime_valid(&codec_opus, 30));
        check(codec_ptime_valid(&codec_pcmu, 30) && !codec_ptime_valid(&codec_pcmu, 70));
        check(codec_samples_to_units(&codec_g722, 320) == 160 && codec_samples_to_units(&codec_opus, 320) == 960);
        tap_end();
}

static void test_resampler(void) {
        size_t n = 16000;
        _cleanup_(freep) int16_t *in = calloc(n, sizeof(int16_t)), *mid = calloc(n / 2, sizeof(int16_t)),
                                *out = calloc(n, sizeof(int16_t));
        Downsampler d = {};
        Upsampler u = {};
        unsigned delay;

        tap_begin("/resample/down-up");
        three_tones(in, n, 16000);
        for (size_t off = 0; off < n; off += 320) {
                check(downsample2(&d, in + off, 320, mid + off / 2) == 0);
                check(upsample2(&u, mid + off / 2, 160, out + off) == 0);
        }
        double snr = best_snr(in, out, n, &delay);
        double level = 20 * log10(rms(out + n / 2, n / 2) / rms(in + n / 2, n / 2));
        printf("# resampler: SNR %.1f dB, delay %u samples, level %+.3f dB\n", snr, delay, level);
        check(snr > 40 && fabs(level) < 0.1 && delay == 47, "SNR %.1f delay %u level %.3f", snr, delay, level);
        tap_end();

        tap_begin("/resample/6khz-rejected");
        downsampler_reset(&d);
        sine(in, n, 16000, 6000, -3, 0);
        for (size_t off = 0; off < n; off += 320)
                (void) downsample2(&d, in + off, 320, mid + off / 2);
        double att = 20 * log10(rms(mid + n / 4, n / 4) / rms(in, n));
        check(att < -45, "alias at %.1f dB", att);
        check(downsample2(&d, in, 3, mid) == -EINVAL && upsample2(&u, in, RESAMPLE_BLOCK_MAX + 1, out) == -EINVAL);
        tap_end();
}

int main(void) {
        test_round_trips();
        test_bad_payloads();
        test_resampler();
        return tap_finish();
}
