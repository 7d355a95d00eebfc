/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* G.722 at 64 kbit/s through spandsp (loaded when first needed: spandsp-dl.h).
 * The codec runs at 16 kHz, the audio path's rate; its RTP clock is 8000
 * (RFC 3551 4.5.2). */
#include <stddef.h>
#include <stdint.h>
#include "codec.h"
#include "spandsp-dl.h"

struct CodecState {
        const SpandspApi *sp;
        g722_encode_state_t *encoder;
        g722_decode_state_t *decoder;
};

static CodecState *g722_free(CodecState *s) {
        if (s) {
                if (s->encoder)
                        s->sp->g722_encode_free(s->encoder);
                if (s->decoder)
                        s->sp->g722_decode_free(s->decoder);
                free(s);
        }
        return NULL;
}

static int g722_new(CodecState **ret) {
        const SpandspApi *sp = spandsp_api();
        if (!sp)
                return -ENOPKG;
        CodecState *s = calloc(1, sizeof(CodecState));
        if (!s)
                return -ENOMEM;
        s->sp = sp;
        s->encoder = sp->g722_encode_init(NULL, 64000, 0);
        s->decoder = sp->g722_decode_init(NULL, 64000, 0);
        if (!s->encoder || !s->decoder) {
                g722_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

/* Two samples per byte at 64 kbit/s. */
static int g722_encode_frame(CodecState *s, const int16_t *pcm, size_t n, uint8_t *out, size_t out_size) {
        if (n == 0 || n % 2 != 0 || n / 2 > out_size || n > CODEC_FRAME_MAX)
                return -ENOBUFS;
        int r = s->sp->g722_encode(s->encoder, out, pcm, (int) n);
        return r > 0 ? r : -EIO;
}

static int g722_decode_frame(CodecState *s, const uint8_t *data, size_t size, int16_t *pcm, size_t max) {
        if (size * 2 > max)
                return -ENOBUFS;
        if (size == 0)
                return 0;
        int r = s->sp->g722_decode(s->decoder, pcm, data, (int) size);
        return r >= 0 ? r : -EBADMSG;
}

static int g722_payload_samples(const uint8_t *data, size_t size) {
        return size * 2 <= CODEC_FRAME_MAX ? (int) size * 2 : -EBADMSG;
}

static bool g722_usable(void) {
        return spandsp_api() != NULL;
}

/* Rated as G.711 with PLC on the narrowband E-model scale (quality.h). */
const CodecOps codec_g722 = {
        .name = "G722", .clock_rate = 8000, .sample_rate = 16000, .channels = 1, .payload_type = 9, .fmtp = "",
        .ie = 0, .bpl = 25.1,
        .new = g722_new, .free = g722_free, .encode = g722_encode_frame, .decode = g722_decode_frame,
        .payload_samples = g722_payload_samples,
        .usable = g722_usable,
};
