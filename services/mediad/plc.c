/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>

#include "plc.h"

/* The algorithm is described in plc.h. Sizes at the highest rate; a Plc at a lower
 * rate uses the beginning of each array. */
#define MS(rate, ms) ((rate) * (ms) / 1000U)
#define PITCH_MAX_SAMPLES MS(PLC_RATE_MAX, PLC_PITCH_MAX_MS)
#define SNAP_MAX (3U * PITCH_MAX_SAMPLES + PITCH_MAX_SAMPLES / 4U + 1U)
#define HIST_MAX (SNAP_MAX + MS(PLC_RATE_MAX, PLC_CORR_MS))
#define XFADE_MAX_MS 10U

struct Plc {
        unsigned rate;
        unsigned pitch_min, pitch_max, corr_len, hist_len;
        unsigned atten_start, mute_at;

        float hist[HIST_MAX]; /* the last hist_len samples played, oldest first */
        unsigned hist_fill;   /* how many of them are real (from the start of the stream) */

        /* Concealment in progress. */
        bool concealing;
        uint64_t lost;              /* samples concealed in a row */
        float snap[SNAP_MAX];       /* history when the loss began, its end at snap_len */
        unsigned snap_len;
        unsigned period;            /* P, 0: no usable history (silence) */
        unsigned periods;           /* pitch buffer holds this many periods */
        float pbuf[3 * PITCH_MAX_SAMPLES];
        unsigned pbuf_len, pos;
        float offset;               /* junction step, faded out over offset_len */
        unsigned offset_len, offset_pos;

        /* Cross-fade back to real audio, may span several good frames. */
        unsigned xfade_len, xfade_pos;
};

int plc_new(unsigned sample_rate, Plc **ret) {
        Plc *p;

        if (sample_rate < PLC_RATE_MIN || sample_rate > PLC_RATE_MAX)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->rate = sample_rate;
        p->pitch_min = MS(sample_rate, PLC_PITCH_MIN_MS);
        p->pitch_max = MS(sample_rate, PLC_PITCH_MAX_MS);
        p->corr_len = MS(sample_rate, PLC_CORR_MS);
        p->hist_len = MAX(3 * p->pitch_max + p->pitch_max / 4 + 1, p->corr_len + p->pitch_max);
        p->atten_start = MS(sample_rate, PLC_ATTEN_START_MS);
        p->mute_at = MS(sample_rate, PLC_MUTE_MS);
        *ret = p;
        return 0;
}

Plc *plc_free(Plc *p) {
        free(p);
        return NULL;
}

void plc_reset(Plc *p) {
        p->hist_fill = 0;
        p->concealing = false;
        p->xfade_len = p->xfade_pos = 0;
        p->lost = 0;
        memset(p->hist, 0, sizeof(p->hist));
}

unsigned plc_concealed_ms(const Plc *p) {
        return p->concealing ? (unsigned) (p->lost * 1000 / p->rate) : 0;
}

static void hist_append(Plc *p, const float *x, size_t n) {
        if (n >= p->hist_len) {
                memcpy(p->hist, x + n - p->hist_len, p->hist_len * sizeof(float));
        } else {
                memmove(p->hist, p->hist + n, (p->hist_len - n) * sizeof(float));
                memcpy(p->hist + p->hist_len - n, x, n * sizeof(float));
        }
        p->hist_fill = (unsigned) MIN((size_t) p->hist_len, p->hist_fill + n);
}

static int16_t to_s16(float v) {
        v = roundf(v);
        return (int16_t) (v > 32767.f ? 32767 : v < -32768.f ? -32768 : v);
}

/* --- pitch --- */

/* Normalised cross-correlation score of lag over the last len samples of x[0..n),
 * taking every step-th sample. */
static double corr_score(const float *x, unsigned n, unsigned len, unsigned lag, unsigned step) {
        double c = 0, e = 0;

        for (unsigned i = n - len; i < n; i += step) {
                c += (double) x[i] * x[i - lag];
                e += (double) x[i - lag] * x[i - lag];
        }
        return e > 0 ? c / sqrt(e) : 0;
}

static unsigned best_lag(const float *x, unsigned n, unsigned len, unsigned lo, unsigned hi, unsigned lag_step,
                         unsigned step) {
        double best = -INFINITY;
        unsigned lag = lo;

        for (unsigned l = lo; l <= hi; l += lag_step) {
                double s = corr_score(x, n, len, l, step);
                if (s > best) {
                        best = s;
                        lag = l;
                }
        }
        return lag;
}

/* Coarse search on every d-th lag and sample (d ~ rate / 8 kHz), then every lag
 * around the best one. */
static unsigned find_pitch(const Plc *p, const float *x, unsigned n, unsigned pitch_max) {
        unsigned d = MAX(p->rate / 8000U, 1U), lag, lo, hi;

        lag = best_lag(x, n, p->corr_len, p->pitch_min, pitch_max, d, d);
        if (d == 1)
                return lag;
        lo = lag > p->pitch_min + d ? lag - d : p->pitch_min;
        hi = MIN(lag + d, pitch_max);
        return best_lag(x, n, p->corr_len, lo, hi, 1, 1);
}

/* --- synthesis --- */

/* The pitch buffer: the last k periods of the snapshot, its end overlap-added with
 * what precedes its start, so that it repeats without a seam. */
static void build_pbuf(Plc *p, unsigned k) {
        unsigned P = p->period, len = k * P, L = MAX(P / 4, 1U), n = p->snap_len;
        const float *x = p->snap;

        memcpy(p->pbuf, x + n - len, len * sizeof(float));
        for (unsigned j = 0; j < L; j++) {
                float w = 0.5f - 0.5f * cosf((float) M_PI * ((float) j + 0.5f) / (float) L);
                p->pbuf[len - L + j] = (1 - w) * x[n - L + j] + w * x[n - len - L + j];
        }
        p->pbuf_len = len;
        p->periods = k;
}

static void start_concealment(Plc *p) {
        unsigned need_min = p->pitch_min + p->corr_len, pitch_max;
        float last = p->hist_fill > 0 ? p->hist[p->hist_len - 1] : 0;

        p->concealing = true;
        p->lost = 0;
        p->period = 0;
        p->xfade_len = p->xfade_pos = 0;
        if (p->hist_fill < need_min) {
                /* Not enough to go on: fade what was last played out in 2 ms. */
                p->offset = last;
                p->offset_len = MS(p->rate, 2);
                p->offset_pos = 0;
                return;
        }

        p->snap_len = MIN(p->hist_fill, (unsigned) SNAP_MAX);
        p->snap_len = MIN(p->snap_len, p->hist_len);
        memcpy(p->snap, p->hist + p->hist_len - p->snap_len, p->snap_len * sizeof(float));

        pitch_max = MIN(p->pitch_max, p->hist_fill - p->corr_len);
        p->period = find_pitch(p, p->hist + p->hist_len - p->hist_fill, p->hist_fill, pitch_max);
        /* One period plus its overlap fits: hist_fill >= corr_len + P. */
        build_pbuf(p, 1);
        p->pos = 0;
        p->offset = last - p->snap[p->snap_len - 1 - p->period];
        p->offset_len = MAX(p->period / 4, 1U);
        p->offset_pos = 0;
}

static unsigned periods_wanted(const Plc *p) {
        unsigned k = p->lost < p->atten_start ? 1 : p->lost < 2 * p->atten_start ? 2 : 3;
        unsigned L = MAX(p->period / 4, 1U);

        /* as many as the snapshot holds (with the overlap before them) */
        while (k > 1 && k * p->period + L > p->snap_len)
                k--;
        return k;
}

static float gain(const Plc *p) {
        if (p->lost < p->atten_start)
                return 1;
        if (p->lost >= p->mute_at)
                return 0;
        return 1.f - (float) (p->lost - p->atten_start) / (float) (p->mute_at - p->atten_start);
}

static float next_sample(Plc *p) {
        float v = 0;

        if (p->lost >= p->mute_at) {
                p->lost++;
                return 0;
        }
        if (p->period > 0) {
                v = p->pbuf[p->pos++];
                if (p->pos == p->pbuf_len) {
                        unsigned k = periods_wanted(p);
                        /* At the wrap both buffers agree: B'[(k - k_old) * P] is B[0]. */
                        p->pos = (k - MIN(k, p->periods)) * p->period;
                        if (k != p->periods)
                                build_pbuf(p, k);
                }
        }
        if (p->offset_pos < p->offset_len) {
                float w = (float) p->offset_pos / (float) p->offset_len;
                v += p->offset * (1.f - w);
                p->offset_pos++;
        }
        v *= gain(p);
        p->lost++;
        return v;
}

void plc_conceal(Plc *p, int16_t *out, size_t n) {
        float buf[256];

        if (!p->concealing)
                start_concealment(p);
        while (n > 0) {
                size_t m = MIN(n, ELEMENTSOF(buf));
                for (size_t i = 0; i < m; i++) {
                        buf[i] = next_sample(p);
                        out[i] = to_s16(buf[i]);
                }
                hist_append(p, buf, m);
                out += m;
                n -= m;
        }
}

static void start_xfade(Plc *p) {
        unsigned lost_ms = (unsigned) (p->lost * 1000 / p->rate);
        unsigned ms = MIN(4 + 4 * ((lost_ms + 9) / 10), XFADE_MAX_MS);

        p->concealing = false;
        p->xfade_len = MS(p->rate, ms);
        p->xfade_pos = 0;
}

/* The next sample of a good frame, cross-faded from the synthetic signal while the
 * fade lasts. */
static float good_sample(Plc *p, float v) {
        float w;

        if (p->xfade_pos >= p->xfade_len)
                return v;
        w = 0.5f - 0.5f * cosf((float) M_PI * ((float) p->xfade_pos + 0.5f) / (float) p->xfade_len);
        p->xfade_pos++;
        return w * v + (1 - w) * next_sample(p);
}

void plc_good_frame(Plc *p, int16_t *pcm, size_t n) {
        float buf[256];

        if (p->concealing)
                start_xfade(p);
        while (n > 0) {
                size_t m = MIN(n, ELEMENTSOF(buf));
                bool fading = p->xfade_pos < p->xfade_len;
                for (size_t i = 0; i < m; i++) {
                        buf[i] = good_sample(p, pcm[i]);
                        if (fading)
                                pcm[i] = to_s16(buf[i]);
                }
                hist_append(p, buf, m);
                pcm += m;
                n -= m;
        }
        if (p->xfade_pos >= p->xfade_len)
                p->lost = 0;
}
