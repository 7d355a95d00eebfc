/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * RTP packets (RFC 3550 section 5), pure: no sockets, no loop.
 *
 * rtp_parse() validates everything a hostile peer controls before anything
 * points into the packet: version 2, the CSRC list, the header extension and
 * the padding count must all fit, and the payload type must not be one that
 * RTCP uses (RFC 5761 section 4: 72..76 with the marker bit are SR/RR/...).
 * The parsed packet points into the caller's buffer; nothing is allocated.
 *
 * RtpSource is RFC 3550 appendix A.1 (sequence number validation: probation,
 * wrap-around, large jumps, restarts) and A.8 (interarrival jitter): what a
 * receiver keeps per SSRC to tell how many packets it expected and lost.
 */

#define RTP_VERSION 2
#define RTP_HEADER_SIZE 12
#define RTP_CSRC_MAX 15
#define RTP_PACKET_MAX 1500             /* larger datagrams are not RTP we accept */

typedef struct RtpPacket {
        bool marker;
        uint8_t payload_type;           /* 0..127 */
        uint16_t seq;
        uint32_t timestamp;
        uint32_t ssrc;
        uint8_t n_csrc;
        uint32_t csrc[RTP_CSRC_MAX];
        bool has_extension;
        uint16_t extension_profile;     /* "defined by profile" field */
        const uint8_t *extension;       /* the extension's data words, not its header */
        size_t extension_size;          /* bytes, a multiple of 4 */
        const uint8_t *payload;
        size_t payload_size;
        uint8_t padding;                /* padding bytes that followed the payload (incl. count) */
} RtpPacket;

/* 0, or -EBADMSG when the datagram is not a valid RTP packet (ret untouched). */
int rtp_parse(const uint8_t *data, size_t size, RtpPacket *ret);

/*
 * Write header (from p: marker, payload_type, seq, timestamp, ssrc, CSRCs and
 * extension if any) and payload into buf. padding_to > 1 pads the packet to a
 * multiple of that many bytes (RFC 3550 5.1, e.g. for SRTP block sizes).
 * -ENOBUFS if buf_size is too small, -EINVAL for impossible fields.
 */
int rtp_build(const RtpPacket *p, const void *payload, size_t payload_size, unsigned padding_to,
              uint8_t *buf, size_t buf_size, size_t *ret_size);

/* Interval arithmetic of wrapping counters. */
static inline int16_t rtp_seq_diff(uint16_t a, uint16_t b) {
        return (int16_t) (uint16_t) (a - b);
}
static inline int32_t rtp_ts_diff(uint32_t a, uint32_t b) {
        return (int32_t) (a - b);
}

/* ---- A receiver's view of one source (RFC 3550 A.1, A.3, A.8) ---- */

#define RTP_MAX_DROPOUT 3000
#define RTP_MAX_MISORDER 100
#define RTP_MIN_SEQUENTIAL 2

typedef struct RtpSource {
        uint32_t ssrc;
        uint16_t max_seq;               /* highest sequence number seen */
        uint32_t cycles;                /* wrap-arounds, shifted left 16 */
        uint32_t base_seq;              /* first sequence number (extended) */
        uint32_t bad_seq;               /* last 'bad' seq + 1: a restart is two in a row */
        uint32_t probation;             /* sequential packets still needed */
        uint64_t received;              /* packets accepted */
        uint64_t expected_prior;        /* at the last report (A.3) */
        uint64_t received_prior;
        uint64_t duplicates;            /* not detected exactly: packets at or below max_seq */
        uint32_t jitter_q4;             /* interarrival jitter, timestamp units x 16 (A.8) */
        int64_t transit;                /* previous transit time, timestamp units */
        bool have_transit;
} RtpSource;

typedef enum RtpSeqResult {
        RTP_SEQ_OK,                     /* in order or a small jump/reorder: use it */
        RTP_SEQ_PROBATION,              /* new source, not yet validated: hold it back */
        RTP_SEQ_BAD,                    /* very large jump or old packet: drop it */
        RTP_SEQ_RESTARTED,              /* the sender restarted its sequence: use it, counters reset */
} RtpSeqResult;

/* A new source whose first packet had sequence number seq. */
void rtp_source_init(RtpSource *s, uint32_t ssrc, uint16_t seq);
/* Account one packet (A.1 update_seq). */
RtpSeqResult rtp_source_update(RtpSource *s, uint16_t seq);
/* A.8: arrival in timestamp units (the receiver's clock at the codec's rate). */
void rtp_source_jitter(RtpSource *s, uint32_t arrival_ts, uint32_t rtp_ts);
/* Jitter in timestamp units. */
static inline uint32_t rtp_source_jitter_units(const RtpSource *s) {
        return s->jitter_q4 >> 4;
}

/* Extended highest sequence number received (cycles + max_seq). */
uint32_t rtp_source_extended_max(const RtpSource *s);
/* Packets expected since the first (A.3). */
uint64_t rtp_source_expected(const RtpSource *s);
/* Cumulative packets lost (expected - received), may be negative with duplicates. */
int64_t rtp_source_lost(const RtpSource *s);
/* Fraction lost since the previous call, 8-bit fixed point as in a report block;
 * advances the "prior" counters. */
uint8_t rtp_source_fraction_lost(RtpSource *s);
