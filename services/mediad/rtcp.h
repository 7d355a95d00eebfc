/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * RTCP (RFC 3550 section 6), pure: compound packets of SR or RR, SDES CNAME
 * and BYE; round-trip time from LSR/DLSR (6.4.1). Parsing validates as A.2
 * says (version 2 everywhere, lengths that add up exactly, padding only on the
 * last packet) and keeps only the first sender's report, first CNAME and up to
 * RTCP_REPORTS_MAX report blocks, so a peer cannot make us allocate anything.
 */

#define RTCP_SR 200
#define RTCP_RR 201
#define RTCP_SDES 202
#define RTCP_BYE 203
#define RTCP_APP 204

#define RTCP_REPORTS_MAX 31
#define RTCP_CNAME_MAX 255
#define RTCP_PACKET_MAX 1500

typedef struct RtcpReportBlock {
        uint32_t ssrc;                  /* the source this block is about */
        uint8_t fraction_lost;          /* 1/256 units */
        int32_t cumulative_lost;        /* 24-bit signed on the wire */
        uint32_t extended_max_seq;
        uint32_t jitter;                /* timestamp units of that source */
        uint32_t lsr;                   /* middle 32 bits of the last SR's NTP time, 0: none */
        uint32_t dlsr;                  /* 1/65536 s since that SR */
} RtcpReportBlock;

typedef struct RtcpSenderInfo {
        uint64_t ntp;                   /* NTP timestamp, 32.32 fixed point */
        uint32_t rtp_timestamp;
        uint32_t packets;
        uint32_t octets;
} RtcpSenderInfo;

typedef struct RtcpCompound {
        uint32_t ssrc;                  /* of the first SR/RR */
        bool has_sr;
        RtcpSenderInfo sr;
        RtcpReportBlock reports[RTCP_REPORTS_MAX];
        unsigned n_reports;
        char cname[RTCP_CNAME_MAX + 1]; /* "" when absent; bytes as sent, NUL-free */
        bool bye;
} RtcpCompound;

/* 0, or -EBADMSG if the datagram is not a valid compound RTCP packet (ret untouched). */
int rtcp_parse(const uint8_t *data, size_t size, RtcpCompound *ret);

/*
 * Build SR (sender != NULL) or RR with n blocks, then SDES with cname, then
 * BYE if bye. -ENOBUFS if buf is too small, -EINVAL for n > RTCP_REPORTS_MAX or a
 * cname longer than 255 bytes.
 */
int rtcp_build(uint32_t ssrc, const RtcpSenderInfo *sender, const RtcpReportBlock *blocks, unsigned n,
               const char *cname, bool bye, uint8_t *buf, size_t buf_size, size_t *ret_size);

/* NTP 32.32 timestamp of a wall-clock time in microseconds since 1970. */
uint64_t rtcp_ntp_from_unix_usec(uint64_t usec);
static inline uint32_t rtcp_ntp_middle(uint64_t ntp) {
        return (uint32_t) (ntp >> 16);
}

/*
 * Round trip (6.4.1): A - LSR - DLSR, where A is the arrival time of the report
 * (middle 32 bits of NTP). -ENODATA when the peer has had no SR from us (LSR 0),
 * -ERANGE when the result would be negative (clock trouble). Microseconds.
 */
int rtcp_round_trip_usec(uint32_t arrival_middle, uint32_t lsr, uint32_t dlsr, uint32_t *ret);

/* DLSR for a report sent now about an SR that arrived received_usec ago: 1/65536 s. */
uint32_t rtcp_dlsr_from_usec(uint64_t delay_usec);
