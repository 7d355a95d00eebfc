/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opus through libopus: the only file that sees libopus's types and errors.
 * Encoder and decoder run at 16 kHz mono (the audio path); the RTP clock is
 * 48 kHz and the rtpmap says 2 channels, as RFC 7587 requires of everyone. We
 * announce maxplaybackrate/sprop-maxcapturerate 16000, so a peer need not
 * spend bits above 8 kHz. */
#include <opus/opus.h>

#include "codec.h"

#define OPUS_RATE 16000
#define OPUS_BITRATE 24000
#define OPUS_COMPLEXITY 5
#define OPUS_EXPECTED_LOSS 5            /* percent, for in-band FEC */

struct CodecState {
        OpusEncoder *encoder;
        OpusDecoder *decoder;
};

static int errno_from_opus(int e) {
        switch (e) {
        case OPUS_BAD_ARG:
        case OPUS_BUFFER_TOO_SMALL:
                return -EINVAL;
        case OPUS_INVALID_PACKET:
        case OPUS_INVALID_STATE:
                return -EBADMSG;
        case OPUS_ALLOC_FAIL:
                return -ENOMEM;
        case OPUS_UNIMPLEMENTED:
                return -EOPNOTSUPP;
        }
        return -EIO;
}

static CodecState *opus_free(CodecState *s) {
        if (s) {
                if (s->encoder)
                        opus_encoder_destroy(s->encoder);
                if (s->decoder)
                        opus_decoder_destroy(s->decoder);
                free(s);
        }
        return NULL;
}

static int opus_new(CodecState **ret) {
        int e = OPUS_OK;
        CodecState *s = calloc(1, sizeof(CodecState));
        if (!s)
                return -ENOMEM;
        s->encoder = opus_encoder_create(OPUS_RATE, 1, OPUS_APPLICATION_VOIP, &e);
        if (e == OPUS_OK)
                s->decoder = opus_decoder_create(OPUS_RATE, 1, &e);
        if (e == OPUS_OK)
                e = opus_encoder_ctl(s->encoder, OPUS_SET_BITRATE(OPUS_BITRATE));
        if (e == OPUS_OK)
                e = opus_encoder_ctl(s->encoder, OPUS_SET_COMPLEXITY(OPUS_COMPLEXITY));
        if (e == OPUS_OK)
                e = opus_encoder_ctl(s->encoder, OPUS_SET_INBAND_FEC(1));
        if (e == OPUS_OK)
                e = opus_encoder_ctl(s->encoder, OPUS_SET_PACKET_LOSS_PERC(OPUS_EXPECTED_LOSS));
        if (e != OPUS_OK) {
                opus_free(s);
                return errno_from_opus(e);
        }
        *ret = s;
        return 0;
}

static int opus_encode_frame(CodecState *s, const int16_t *pcm, size_t n, uint8_t *out, size_t out_size) {
        if (n == 0 || n > CODEC_FRAME_MAX || out_size > INT32_MAX)
                return -EINVAL;
        opus_int32 r = opus_encode(s->encoder, pcm, (int) n, out, (opus_int32) out_size);
        return r > 0 ? (int) r : errno_from_opus(r);
}

static int opus_decode_frame(CodecState *s, const uint8_t *data, size_t size, int16_t *pcm, size_t max) {
        if (size == 0 || size > CODEC_PAYLOAD_MAX)
                return -EBADMSG;
        int r = opus_decode(s->decoder, data, (opus_int32) size, pcm, (int) MIN(max, CODEC_FRAME_MAX), 0);
        return r >= 0 ? r : errno_from_opus(r);
}

/* libopus's own concealment (n a multiple of 2.5 ms). */
static int opus_conceal(CodecState *s, int16_t *pcm, size_t n) {
        if (n > CODEC_FRAME_MAX)
                return -EINVAL;
        int r = opus_decode(s->decoder, NULL, 0, pcm, (int) n, 0);
        return r >= 0 ? r : errno_from_opus(r);
}

static int opus_payload_samples(const uint8_t *data, size_t size) {
        if (size == 0 || size > CODEC_PAYLOAD_MAX)
                return -EBADMSG;
        int r = opus_packet_get_nb_samples(data, (opus_int32) size, OPUS_RATE);
        return r > 0 && r <= CODEC_FRAME_MAX ? r : -EBADMSG;
}

/* No G.113 figures for Opus: rated as G.711 with PLC (quality.h). */
const CodecOps codec_opus = {
        .name = "opus", .clock_rate = 48000, .sample_rate = OPUS_RATE, .channels = 2, .payload_type = 106,
        .fmtp = "useinbandfec=1;maxplaybackrate=16000;sprop-maxcapturerate=16000",
        .ie = 0, .bpl = 25.1, .ptime_fixed_set = true,
        .new = opus_new, .free = opus_free, .encode = opus_encode_frame, .decode = opus_decode_frame,
        .conceal = opus_conceal, .payload_samples = opus_payload_samples,
};
