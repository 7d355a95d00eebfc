/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Half-band 2:1 resampling (resample.h). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "macro.h"
#include "resample.h"

/* The taps at odd distance 1, 3, ..., 23 from the centre (which is 0.5); the even
 * ones are zero. Designed for this file: windowed sinc, cut-off fs/4, scaled so the
 * DC gain is exactly 1. */
static const float half_taps[RESAMPLE_HALF_TAPS] = {
        3.1682262285e-01f, -1.0157889519e-01f, 5.6340652759e-02f, -3.5692845592e-02f,
        2.3557548457e-02f, -1.5582133081e-02f, 1.0089976818e-02f, -6.2724869046e-03f,
        3.6619672845e-03f, -1.9434185304e-03f, 8.8005249424e-04f, -2.8304137400e-04f,
};

static int16_t saturate(float v) {
        long l = lrintf(v);
        return (int16_t) (l > INT16_MAX ? INT16_MAX : l < INT16_MIN ? INT16_MIN : l);
}

void downsampler_reset(Downsampler *d) {
        memset(d, 0, sizeof(*d));
}

void upsampler_reset(Upsampler *u) {
        memset(u, 0, sizeof(*u));
}

int downsample2(Downsampler *d, const int16_t *in, size_t n, int16_t *out) {
        enum { H = ELEMENTSOF(d->history), C = H / 2 };
        float buf[H + RESAMPLE_BLOCK_MAX];

        if (n % 2 != 0 || n > RESAMPLE_BLOCK_MAX)
                return -EINVAL;
        memcpy(buf, d->history, sizeof(d->history));
        for (size_t i = 0; i < n; i++)
                buf[H + i] = in[i];
        for (size_t m = 0; m < n / 2; m++) {
                const float *c = buf + 2 * m + C;
                float acc = 0.5f * c[0];
                for (int k = 0; k < RESAMPLE_HALF_TAPS; k++)
                        acc += half_taps[k] * (c[-(2 * k + 1)] + c[2 * k + 1]);
                out[m] = saturate(acc);
        }
        memcpy(d->history, buf + n, sizeof(d->history));
        return 0;
}

int upsample2(Upsampler *u, const int16_t *in, size_t n, int16_t *out) {
        enum { H = ELEMENTSOF(u->history), D = RESAMPLE_HALF_TAPS };
        float buf[H + RESAMPLE_BLOCK_MAX];

        if (n > RESAMPLE_BLOCK_MAX)
                return -EINVAL;
        memcpy(buf, u->history, sizeof(u->history));
        for (size_t i = 0; i < n; i++)
                buf[H + i] = in[i];
        for (size_t j = 0; j < n; j++) {
                const float *p = buf + H + j;
                /* the zero-stuffed signal filtered with 2 h: the even phase is the
                 * sample itself, the odd phase interpolates */
                float acc = 0;
                for (int k = 0; k < RESAMPLE_HALF_TAPS; k++)
                        acc += half_taps[k] * (p[-D - k] + p[-D + 1 + k]);
                out[2 * j] = saturate(p[-D]);
                out[2 * j + 1] = saturate(2.0f * acc);
        }
        memcpy(u->history, buf + n, sizeof(u->history));
        return 0;
}
