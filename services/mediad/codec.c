/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The codec table, and G.711 (stateless, ours) behind it. */
#include <strings.h>

#include "codec.h"
#include "g711.h"

/* ---- G.711 ---- */

static int g711_new(CodecState **ret) {
        *ret = NULL; /* stateless */
        return 0;
}

static CodecState *g711_free(CodecState *s) {
        return NULL;
}

static int pcmu_encode(CodecState *s, const int16_t *pcm, size_t n, uint8_t *out, size_t out_size) {
        if (n > out_size || n == 0)
                return -ENOBUFS;
        g711_ulaw_encode_n(out, pcm, n);
        return (int) n;
}

static int pcma_encode(CodecState *s, const int16_t *pcm, size_t n, uint8_t *out, size_t out_size) {
        if (n > out_size || n == 0)
                return -ENOBUFS;
        g711_alaw_encode_n(out, pcm, n);
        return (int) n;
}

static int pcmu_decode(CodecState *s, const uint8_t *data, size_t size, int16_t *pcm, size_t max) {
        if (size > max)
                return -ENOBUFS;
        g711_ulaw_decode_n(pcm, data, size);
        return (int) size;
}

static int pcma_decode(CodecState *s, const uint8_t *data, size_t size, int16_t *pcm, size_t max) {
        if (size > max)
                return -ENOBUFS;
        g711_alaw_decode_n(pcm, data, size);
        return (int) size;
}

static int g711_payload_samples(const uint8_t *data, size_t size) {
        return size <= CODEC_FRAME_MAX ? (int) size : -EBADMSG;
}

/* G.113 Appendix I: G.711 with PLC, Ie 0, Bpl 25.1 */
const CodecOps codec_pcmu = {
        .name = "PCMU", .clock_rate = 8000, .sample_rate = 8000, .channels = 1, .payload_type = 0, .fmtp = "",
        .ie = 0, .bpl = 25.1,
        .new = g711_new, .free = g711_free, .encode = pcmu_encode, .decode = pcmu_decode,
        .payload_samples = g711_payload_samples,
};

const CodecOps codec_pcma = {
        .name = "PCMA", .clock_rate = 8000, .sample_rate = 8000, .channels = 1, .payload_type = 8, .fmtp = "",
        .ie = 0, .bpl = 25.1,
        .new = g711_new, .free = g711_free, .encode = pcma_encode, .decode = pcma_decode,
        .payload_samples = g711_payload_samples,
};

/* ---- the table ---- */

const CodecOps * const codec_table[] = {
        &codec_g722,
        &codec_pcmu,
        &codec_pcma,
        &codec_opus,
        NULL,
};

const CodecOps *codec_find(const char *name) {
        for (size_t i = 0; codec_table[i]; i++)
                if (strcasecmp(codec_table[i]->name, name) == 0)
                        return codec_table[i];
        return NULL;
}

const CodecOps *codec_find_static(uint8_t payload_type) {
        for (size_t i = 0; codec_table[i]; i++)
                if (codec_table[i]->payload_type == payload_type && payload_type < 96)
                        return codec_table[i];
        return NULL;
}

bool codec_ptime_valid(const CodecOps *c, unsigned ms) {
        if (c->ptime_fixed_set)
                return ms == 10 || ms == 20 || ms == 40 || ms == 60;
        return ms >= 10 && ms <= 60 && ms % 10 == 0;
}

int codec_new(const CodecOps *ops, Codec **ret) {
        Codec *c = calloc(1, sizeof(Codec));
        if (!c)
                return -ENOMEM;
        c->ops = ops;
        int r = ops->new(&c->state);
        if (r < 0) {
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

Codec *codec_free(Codec *c) {
        if (c) {
                c->ops->free(c->state);
                free(c);
        }
        return NULL;
}
