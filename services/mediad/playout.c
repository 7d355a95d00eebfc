/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Jitter buffer -> decoder/concealment -> 16 kHz PCM (playout.h). */
#include <string.h>

#include "audio-thread.h"
#include "plc.h"
#include "playout.h"
#include "resample.h"

/* Decoded audio waiting to be played: at most one pull plus one packet. */
#define FIFO_SIZE (PLAYOUT_PULL_MAX + 2 * CODEC_FRAME_MAX)

struct Playout {
        Codec *codec;
        JitterBuffer *jb;
        Plc *plc;                       /* NULL when the codec conceals itself */
        Upsampler up;
        int16_t fifo[FIFO_SIZE];        /* 16 kHz */
        size_t fill;
        uint64_t concealed_samples;     /* at the codec's rate */
        uint64_t decode_errors;
};

int playout_new(Codec *codec, const JitterConfig *config, unsigned ptime_ms, Playout **ret) {
        _cleanup_(playout_freep) Playout *p = calloc(1, sizeof(Playout));
        if (!p)
                return -ENOMEM;
        p->codec = codec;
        int r = jb_new(config, codec->ops->clock_rate, ptime_ms, &p->jb);
        if (r < 0)
                return r;
        if (!codec->ops->conceal) {
                r = plc_new(codec->ops->sample_rate, &p->plc);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

Playout *playout_free(Playout *p) {
        if (p) {
                jb_free(p->jb);
                plc_free(p->plc);
                free(p);
        }
        return NULL;
}

void playout_put(Playout *p, uint32_t ssrc, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload,
                 size_t size, uint64_t now_usec) {
        JitterPacket pkt = { .ssrc = ssrc, .seq = seq, .ts = ts, .marker = marker, .payload = payload, .size = size };
        (void) jb_put(p->jb, &pkt, now_usec); /* refusals are in the jitter buffer's stats */
}

/* Append n samples at the codec's rate, converted to 16 kHz. */
static void fifo_append(Playout *p, const int16_t *pcm, size_t n) {
        size_t room = FIFO_SIZE - p->fill;

        if (p->codec->ops->sample_rate == AUDIO_RATE) {
                n = MIN(n, room);
                memcpy(p->fifo + p->fill, pcm, n * sizeof(int16_t));
                p->fill += n;
        } else {
                n = MIN(n, room / 2);
                (void) upsample2(&p->up, pcm, n, p->fifo + p->fill);
                p->fill += 2 * n;
        }
}

static size_t units_to_samples(const CodecOps *c, uint32_t units) {
        size_t n = (size_t) ((uint64_t) units * c->sample_rate / c->clock_rate);
        return MIN(n, (size_t) CODEC_FRAME_MAX);
}

static void conceal(Playout *p, int16_t *pcm, size_t n) {
        if (p->plc)
                plc_conceal(p->plc, pcm, n);
        else if (p->codec->ops->conceal(p->codec->state, pcm, n) < 0)
                memset(pcm, 0, n * sizeof(int16_t));
        p->concealed_samples += n;
}

/* One frame from the jitter buffer into the FIFO. */
static void pull_frame(Playout *p, uint64_t now_usec) {
        const CodecOps *ops = p->codec->ops;
        int16_t pcm[CODEC_FRAME_MAX];
        JitterFrame f;

        JitterResult r = jb_get(p->jb, now_usec, &f);
        size_t n = units_to_samples(ops, f.duration);
        switch (r) {
        case JB_FRAME: {
                int k = ops->decode(p->codec->state, f.payload, f.size, pcm, ELEMENTSOF(pcm));
                if (k <= 0) {
                        p->decode_errors++;
                        conceal(p, pcm, n);
                        break;
                }
                n = (size_t) k;
                if (p->plc)
                        plc_good_frame(p->plc, pcm, n);
                break;
        }
        case JB_MISSING:
                conceal(p, pcm, n);
                break;
        case JB_EMPTY:
                memset(pcm, 0, n * sizeof(int16_t));
                break;
        }
        if (n == 0) /* never loop forever on a zero-length frame */
                n = MIN((size_t) ops->sample_rate / 100, ELEMENTSOF(pcm));
        fifo_append(p, pcm, n);
}

void playout_get(Playout *p, int16_t *out, size_t n, uint64_t now_usec) {
        n = MIN(n, (size_t) PLAYOUT_PULL_MAX);
        while (p->fill < n)
                pull_frame(p, now_usec);
        memcpy(out, p->fifo, n * sizeof(int16_t));
        memmove(p->fifo, p->fifo + n, (p->fill - n) * sizeof(int16_t));
        p->fill -= n;
}

void playout_reset(Playout *p) {
        jb_reset(p->jb);
        if (p->plc)
                plc_reset(p->plc);
        upsampler_reset(&p->up);
        p->fill = 0;
}

int playout_set_config(Playout *p, const JitterConfig *config) {
        return jb_set_config(p->jb, config);
}

void playout_get_stats(const Playout *p, PlayoutStats *ret) {
        *ret = (PlayoutStats) {
                .concealed_ms = p->concealed_samples * 1000 / p->codec->ops->sample_rate,
                .decode_errors = p->decode_errors,
        };
        jb_get_stats(p->jb, &ret->jitter);
}
