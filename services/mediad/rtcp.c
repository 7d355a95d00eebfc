/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RTCP compound packets: SR/RR, SDES CNAME, BYE (RFC 3550 6.4, 6.5, 6.6, A.2). */
#include <errno.h>
#include <string.h>

#include "rtcp.h"

#define NTP_UNIX_OFFSET 2208988800ULL   /* seconds from 1900 to 1970 */

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

/* ---- parsing ---- */

static void parse_block(const uint8_t *p, RtcpReportBlock *b) {
        uint32_t lost = (uint32_t) p[5] << 16 | (uint32_t) p[6] << 8 | p[7];
        *b = (RtcpReportBlock) {
                .ssrc = get32(p),
                .fraction_lost = p[4],
                .cumulative_lost = lost & 0x800000 ? (int32_t) lost - 0x1000000 : (int32_t) lost,
                .extended_max_seq = get32(p + 8),
                .jitter = get32(p + 12),
                .lsr = get32(p + 16),
                .dlsr = get32(p + 20),
        };
}

/* SR or RR body (after the 4-byte header): ssrc, [sender info], rc report blocks. */
static int parse_report(const uint8_t *p, size_t len, unsigned rc, bool sr, RtcpCompound *c) {
        size_t need = 4 + (sr ? 20 : 0) + 24U * rc;
        if (len < need)
                return -EBADMSG;
        if (c->ssrc || c->has_sr || c->n_reports)
                return 0; /* keep the first report only */
        c->ssrc = get32(p);
        p += 4;
        if (sr) {
                c->has_sr = true;
                c->sr = (RtcpSenderInfo) {
                        .ntp = (uint64_t) get32(p) << 32 | get32(p + 4),
                        .rtp_timestamp = get32(p + 8),
                        .packets = get32(p + 12),
                        .octets = get32(p + 16),
                };
                p += 20;
        }
        for (unsigned i = 0; i < rc && c->n_reports < RTCP_REPORTS_MAX; i++, p += 24)
                parse_block(p, &c->reports[c->n_reports++]);
        return 0;
}

/* SDES: chunks of ssrc + items, each chunk ending with a zero byte and padded to 4. */
static int parse_sdes(const uint8_t *p, size_t len, unsigned sc, RtcpCompound *c) {
        size_t off = 0;
        for (unsigned chunk = 0; chunk < sc; chunk++) {
                if (len - off < 4)
                        return -EBADMSG;
                off += 4;
                for (;;) {
                        if (off >= len)
                                return -EBADMSG;
                        uint8_t type = p[off];
                        if (type == 0)
                                break;
                        if (len - off < 2 || len - off - 2 < p[off + 1])
                                return -EBADMSG;
                        uint8_t n = p[off + 1];
                        if (type == 1 && !c->cname[0] && !memchr(p + off + 2, 0, n)) {
                                memcpy(c->cname, p + off + 2, n);
                                c->cname[n] = 0;
                        }
                        off += 2U + n;
                }
                off = (off + 4) & ~(size_t) 3; /* the null item and padding to a word */
                if (off > len)
                        return -EBADMSG;
        }
        return 0;
}

static int parse_one(const uint8_t *p, size_t len, RtcpCompound *c) {
        unsigned count = p[0] & 0x1F;
        const uint8_t *body = p + 4;
        size_t body_len = len - 4;

        switch (p[1]) {
        case RTCP_SR:
                return parse_report(body, body_len, count, true, c);
        case RTCP_RR:
                return parse_report(body, body_len, count, false, c);
        case RTCP_SDES:
                return parse_sdes(body, body_len, count, c);
        case RTCP_BYE:
                if (body_len < 4U * count)
                        return -EBADMSG;
                c->bye = true;
                return 0;
        }
        return 0; /* APP, XR, feedback...: skipped */
}

int rtcp_parse(const uint8_t *data, size_t size, RtcpCompound *ret) {
        RtcpCompound c = {};
        size_t off = 0;

        if (size < 4 || size > RTCP_PACKET_MAX || size % 4 != 0)
                return -EBADMSG;
        /* A.2: the first packet is SR or RR (RFC 5506's reduced size is not supported) */
        if (data[1] != RTCP_SR && data[1] != RTCP_RR)
                return -EBADMSG;
        while (off < size) {
                const uint8_t *p = data + off;
                if (size - off < 4 || p[0] >> 6 != 2)
                        return -EBADMSG;
                size_t len = 4U * (get16(p + 2) + 1U);
                if (len > size - off)
                        return -EBADMSG;
                if (p[0] & 0x20) {
                        /* padding: only in the last packet, counted in its length */
                        if (off + len != size || p[len - 1] == 0 || p[len - 1] > len - 4)
                                return -EBADMSG;
                        len -= p[len - 1];
                }
                int r = parse_one(p, len, &c);
                if (r < 0)
                        return r;
                off += 4U * (get16(p + 2) + 1U);
        }
        *ret = c;
        return 0;
}

/* ---- building ---- */

static size_t build_header(uint8_t *p, unsigned count, uint8_t type, size_t len) {
        p[0] = (uint8_t) (2 << 6 | count);
        p[1] = type;
        put16(p + 2, (uint16_t) (len / 4 - 1));
        return 4;
}

static void build_block(uint8_t *p, const RtcpReportBlock *b) {
        int32_t lost = b->cumulative_lost;
        if (lost > 0x7FFFFF)
                lost = 0x7FFFFF;
        if (lost < -0x800000)
                lost = -0x800000;
        uint32_t l = (uint32_t) lost & 0xFFFFFF;
        put32(p, b->ssrc);
        p[4] = b->fraction_lost;
        p[5] = (uint8_t) (l >> 16);
        p[6] = (uint8_t) (l >> 8);
        p[7] = (uint8_t) l;
        put32(p + 8, b->extended_max_seq);
        put32(p + 12, b->jitter);
        put32(p + 16, b->lsr);
        put32(p + 20, b->dlsr);
}

static size_t build_report(uint8_t *p, uint32_t ssrc, const RtcpSenderInfo *s, const RtcpReportBlock *blocks,
                           unsigned n) {
        size_t len = 8 + (s ? 20 : 0) + 24U * n;
        size_t off = build_header(p, n, s ? RTCP_SR : RTCP_RR, len);
        put32(p + off, ssrc);
        off += 4;
        if (s) {
                put32(p + off, (uint32_t) (s->ntp >> 32));
                put32(p + off + 4, (uint32_t) s->ntp);
                put32(p + off + 8, s->rtp_timestamp);
                put32(p + off + 12, s->packets);
                put32(p + off + 16, s->octets);
                off += 20;
        }
        for (unsigned i = 0; i < n; i++, off += 24)
                build_block(p + off, &blocks[i]);
        return off;
}

static size_t sdes_size(size_t cname_len) {
        /* header, ssrc, CNAME item, at least one null byte, padded to a word */
        return 8 + ((2 + cname_len + 4) & ~(size_t) 3);
}

static size_t build_sdes(uint8_t *p, uint32_t ssrc, const char *cname, size_t cname_len) {
        size_t len = sdes_size(cname_len);
        memset(p, 0, len);
        build_header(p, 1, RTCP_SDES, len);
        put32(p + 4, ssrc);
        p[8] = 1; /* CNAME */
        p[9] = (uint8_t) cname_len;
        memcpy(p + 10, cname, cname_len);
        return len;
}

int rtcp_build(uint32_t ssrc, const RtcpSenderInfo *sender, const RtcpReportBlock *blocks, unsigned n,
               const char *cname, bool bye, uint8_t *buf, size_t buf_size, size_t *ret_size) {
        size_t cname_len = cname ? strlen(cname) : 0;

        if (n > RTCP_REPORTS_MAX || cname_len > RTCP_CNAME_MAX)
                return -EINVAL;
        size_t size = 8 + (sender ? 20 : 0) + 24U * n + sdes_size(cname_len) + (bye ? 8 : 0);
        if (size > buf_size || size > RTCP_PACKET_MAX)
                return -ENOBUFS;

        size_t off = build_report(buf, ssrc, sender, blocks, n);
        off += build_sdes(buf + off, ssrc, cname ? cname : "", cname_len);
        if (bye) {
                off += build_header(buf + off, 1, RTCP_BYE, 8);
                put32(buf + off, ssrc);
                off += 4;
        }
        *ret_size = off;
        return 0;
}

/* ---- time ---- */

uint64_t rtcp_ntp_from_unix_usec(uint64_t usec) {
        uint64_t sec = usec / 1000000 + NTP_UNIX_OFFSET;
        uint64_t frac = ((usec % 1000000) << 32) / 1000000;
        return sec << 32 | frac;
}

int rtcp_round_trip_usec(uint32_t arrival_middle, uint32_t lsr, uint32_t dlsr, uint32_t *ret) {
        if (lsr == 0)
                return -ENODATA;
        int64_t rtt = (int64_t) (int32_t) (arrival_middle - lsr - dlsr);
        if (rtt < 0)
                return -ERANGE;
        *ret = (uint32_t) (((uint64_t) rtt * 1000000 + 32768) >> 16);
        return 0;
}

uint32_t rtcp_dlsr_from_usec(uint64_t delay_usec) {
        uint64_t v = (delay_usec << 16) / 1000000;
        return v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
}
