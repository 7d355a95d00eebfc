/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RTP packets and per-source receive state (RFC 3550 5.1, A.1, A.3, A.8). */
#include <errno.h>
#include <string.h>

#include "rtp.h"

#define RTP_SEQ_MOD (1U << 16)

static uint16_t get16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

/* RFC 5761 4: a second byte of 192..223 is an RTCP packet type (SR, RR, SDES, BYE, APP...). */
static bool is_rtcp_type(uint8_t second_byte) {
        return second_byte >= 192 && second_byte <= 223;
}

int rtp_parse(const uint8_t *data, size_t size, RtpPacket *ret) {
        RtpPacket p = {};

        if (size < RTP_HEADER_SIZE || size > RTP_PACKET_MAX)
                return -EBADMSG;
        if (data[0] >> 6 != RTP_VERSION || is_rtcp_type(data[1]))
                return -EBADMSG;

        bool padded = data[0] & 0x20;
        p.has_extension = data[0] & 0x10;
        p.n_csrc = data[0] & 0x0F;
        p.marker = data[1] & 0x80;
        p.payload_type = data[1] & 0x7F;
        p.seq = get16(data + 2);
        p.timestamp = get32(data + 4);
        p.ssrc = get32(data + 8);

        size_t off = RTP_HEADER_SIZE;
        if (size - off < 4U * p.n_csrc)
                return -EBADMSG;
        for (unsigned i = 0; i < p.n_csrc; i++, off += 4)
                p.csrc[i] = get32(data + off);

        if (p.has_extension) {
                if (size - off < 4)
                        return -EBADMSG;
                p.extension_profile = get16(data + off);
                p.extension_size = 4U * get16(data + off + 2);
                off += 4;
                if (size - off < p.extension_size)
                        return -EBADMSG;
                p.extension = data + off;
                off += p.extension_size;
        }

        size_t end = size;
        if (padded) {
                uint8_t n = data[size - 1];
                /* the count includes itself, so 0 is invalid; it may not eat the header */
                if (n == 0 || n > size - off)
                        return -EBADMSG;
                p.padding = n;
                end -= n;
        }
        p.payload = data + off;
        p.payload_size = end - off;
        *ret = p;
        return 0;
}

int rtp_build(const RtpPacket *p, const void *payload, size_t payload_size, unsigned padding_to,
              uint8_t *buf, size_t buf_size, size_t *ret_size) {
        if (p->payload_type > 127 || p->n_csrc > RTP_CSRC_MAX || p->extension_size % 4 != 0 ||
            p->extension_size / 4 > UINT16_MAX || padding_to > 255)
                return -EINVAL;

        size_t header = RTP_HEADER_SIZE + 4U * p->n_csrc + (p->has_extension ? 4 + p->extension_size : 0);
        size_t size = header + payload_size, pad = 0;
        if (padding_to > 1 && size % padding_to != 0)
                pad = padding_to - size % padding_to;
        if (buf_size < size + pad || size + pad > RTP_PACKET_MAX)
                return -ENOBUFS;

        buf[0] = (uint8_t) (RTP_VERSION << 6 | (pad ? 0x20 : 0) | (p->has_extension ? 0x10 : 0) | p->n_csrc);
        buf[1] = (uint8_t) ((p->marker ? 0x80 : 0) | p->payload_type);
        put16(buf + 2, p->seq);
        put32(buf + 4, p->timestamp);
        put32(buf + 8, p->ssrc);
        size_t off = RTP_HEADER_SIZE;
        for (unsigned i = 0; i < p->n_csrc; i++, off += 4)
                put32(buf + off, p->csrc[i]);
        if (p->has_extension) {
                put16(buf + off, p->extension_profile);
                put16(buf + off + 2, (uint16_t) (p->extension_size / 4));
                off += 4;
                if (p->extension_size)
                        memcpy(buf + off, p->extension, p->extension_size);
                off += p->extension_size;
        }
        if (payload_size)
                memcpy(buf + off, payload, payload_size);
        off += payload_size;
        if (pad) {
                memset(buf + off, 0, pad - 1);
                buf[off + pad - 1] = (uint8_t) pad;
                off += pad;
        }
        *ret_size = off;
        return 0;
}

/* ---- receive state ---- */

static void source_restart(RtpSource *s, uint16_t seq) {
        s->base_seq = seq;
        s->max_seq = seq;
        s->bad_seq = RTP_SEQ_MOD + 1;   /* so seq == bad_seq is false */
        s->cycles = 0;
        s->received = 0;
        s->received_prior = 0;
        s->expected_prior = 0;
}

void rtp_source_init(RtpSource *s, uint32_t ssrc, uint16_t seq) {
        *s = (RtpSource) { .ssrc = ssrc };
        source_restart(s, seq);
        s->max_seq = (uint16_t) (seq - 1);
        s->probation = RTP_MIN_SEQUENTIAL;
}

static RtpSeqResult source_probation(RtpSource *s, uint16_t seq) {
        if (seq != (uint16_t) (s->max_seq + 1)) {
                s->probation = RTP_MIN_SEQUENTIAL - 1;
                s->max_seq = seq;
                return RTP_SEQ_PROBATION;
        }
        s->max_seq = seq;
        if (--s->probation > 0)
                return RTP_SEQ_PROBATION;
        source_restart(s, seq);
        s->received++;
        return RTP_SEQ_OK;
}

RtpSeqResult rtp_source_update(RtpSource *s, uint16_t seq) {
        uint16_t udelta = (uint16_t) (seq - s->max_seq);

        if (s->probation)
                return source_probation(s, seq);
        if (udelta < RTP_MAX_DROPOUT) {
                if (udelta == 0)
                        s->duplicates++;
                if (seq < s->max_seq)   /* wrapped */
                        s->cycles += RTP_SEQ_MOD;
                s->max_seq = seq;
        } else if (udelta <= RTP_SEQ_MOD - RTP_MAX_MISORDER) {
                if (seq != s->bad_seq) {
                        s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
                        return RTP_SEQ_BAD;
                }
                /* two sequential packets after a big jump: the sender restarted */
                source_restart(s, seq);
                s->received++;
                s->have_transit = false;
                return RTP_SEQ_RESTARTED;
        }
        /* else: reordered or duplicate, counted as received, as A.1 does */
        s->received++;
        return RTP_SEQ_OK;
}

void rtp_source_jitter(RtpSource *s, uint32_t arrival_ts, uint32_t rtp_ts) {
        int64_t transit = (int32_t) (arrival_ts - rtp_ts);

        if (s->have_transit) {
                int64_t d = (int32_t) (uint32_t) (transit - s->transit);
                if (d < 0)
                        d = -d;
                /* J += (|D| - J) / 16, in units of 1/16 */
                int64_t j = (int64_t) s->jitter_q4 + d - ((s->jitter_q4 + 8) >> 4);
                s->jitter_q4 = j < 0 ? 0 : j > UINT32_MAX ? UINT32_MAX : (uint32_t) j;
        }
        s->transit = transit;
        s->have_transit = true;
}

uint32_t rtp_source_extended_max(const RtpSource *s) {
        return s->cycles + s->max_seq;
}

uint64_t rtp_source_expected(const RtpSource *s) {
        if (s->probation)
                return 0;
        return (uint64_t) rtp_source_extended_max(s) - s->base_seq + 1;
}

int64_t rtp_source_lost(const RtpSource *s) {
        return (int64_t) rtp_source_expected(s) - (int64_t) s->received;
}

uint8_t rtp_source_fraction_lost(RtpSource *s) {
        uint64_t expected = rtp_source_expected(s);
        int64_t expected_interval = (int64_t) (expected - s->expected_prior);
        int64_t received_interval = (int64_t) (s->received - s->received_prior);
        int64_t lost_interval = expected_interval - received_interval;

        s->expected_prior = expected;
        s->received_prior = s->received;
        if (expected_interval <= 0 || lost_interval <= 0)
                return 0;
        int64_t f = (lost_interval << 8) / expected_interval;
        return f > 255 ? 255 : (uint8_t) f;
}
