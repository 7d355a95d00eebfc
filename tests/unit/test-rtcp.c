/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RTCP compound packets (RFC 3550 6.4-6.6, A.2), round trip from LSR/DLSR with
 * the RFC's own Figure 2 numbers, and the E-model estimate (quality.h). */
#include <math.h>

#include "quality.h"
#include "rtcp.h"
#include "tap.h"
#include "util.h"

#define BYTES(...) ((const uint8_t[]) { __VA_ARGS__ }), sizeof((const uint8_t[]) { __VA_ARGS__ })

/* SR with one report block, SDES CNAME "alice", BYE; assembled by hand. */
static const uint8_t compound[] = {
        0x81, 200, 0x00, 12,                    /* SR, RC 1, 13 words */
        0x11, 0x11, 0x11, 0x11,                 /* sender SSRC */
        0xe1, 0xd2, 0xc3, 0xb4, 0x80, 0x00, 0x00, 0x00, /* NTP */
        0x00, 0x00, 0x10, 0x00,                 /* RTP timestamp */
        0x00, 0x00, 0x00, 50,                   /* packets */
        0x00, 0x00, 0x1f, 0x40,                 /* octets 8000 */
        0x22, 0x22, 0x22, 0x22,                 /* block: about this SSRC */
        0x40, 0xff, 0xff, 0xfe,                 /* fraction 64/256, cumulative -2 */
        0x00, 0x01, 0x00, 0x05,                 /* extended highest seq */
        0x00, 0x00, 0x00, 0x20,                 /* jitter 32 */
        0xc3, 0xb4, 0x80, 0x00,                 /* LSR */
        0x00, 0x01, 0x80, 0x00,                 /* DLSR 1.5 s */
        0x81, 202, 0x00, 3,                     /* SDES, 1 chunk, 4 words */
        0x11, 0x11, 0x11, 0x11, 0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x00,
        0x81, 203, 0x00, 1,                     /* BYE */
        0x11, 0x11, 0x11, 0x11,
};

static void test_parse(void) {
        RtcpCompound c;

        tap_begin("/rtcp/parse/sr-sdes-bye");
        check(rtcp_parse(compound, sizeof(compound), &c) == 0);
        check(c.ssrc == 0x11111111 && c.has_sr && c.bye);
        check(c.sr.ntp == 0xe1d2c3b480000000ULL && c.sr.rtp_timestamp == 0x1000);
        check(c.sr.packets == 50 && c.sr.octets == 8000);
        check(c.n_reports == 1);
        const RtcpReportBlock *b = &c.reports[0];
        check(b->ssrc == 0x22222222 && b->fraction_lost == 64 && b->cumulative_lost == -2);
        check(b->extended_max_seq == 0x10005 && b->jitter == 32 && b->lsr == 0xc3b48000 && b->dlsr == 0x18000);
        check(streq(c.cname, "alice"));
        check(rtcp_ntp_middle(c.sr.ntp) == 0xc3b48000);
        tap_end();
}

static void test_build(void) {
        RtcpSenderInfo si = { .ntp = 0xe1d2c3b480000000ULL, .rtp_timestamp = 0x1000, .packets = 50, .octets = 8000 };
        RtcpReportBlock b = { .ssrc = 0x22222222, .fraction_lost = 64, .cumulative_lost = -2,
                              .extended_max_seq = 0x10005, .jitter = 32, .lsr = 0xc3b48000, .dlsr = 0x18000 };
        uint8_t buf[RTCP_PACKET_MAX];
        size_t len;
        RtcpCompound c;

        tap_begin("/rtcp/build/byte-exact");
        check(rtcp_build(0x11111111, &si, &b, 1, "alice", true, buf, sizeof(buf), &len) == 0);
        check(len == sizeof(compound) && memcmp(buf, compound, len) == 0, "len %zu", len);
        tap_end();

        tap_begin("/rtcp/build/rr-round-trip");
        b.cumulative_lost = 0x7fffff + 10; /* clamped to 24 bits */
        check(rtcp_build(0x33333333, NULL, &b, 1, "bob@example", false, buf, sizeof(buf), &len) == 0);
        check(buf[1] == RTCP_RR && len % 4 == 0);
        check(rtcp_parse(buf, len, &c) == 0);
        check(!c.has_sr && c.ssrc == 0x33333333 && c.n_reports == 1 && c.reports[0].cumulative_lost == 0x7fffff);
        check(streq(c.cname, "bob@example") && !c.bye);
        check(rtcp_build(1, NULL, NULL, 0, "", false, buf, sizeof(buf), &len) == 0 && len == 8 + 12, "len %zu", len);
        check(rtcp_parse(buf, len, &c) == 0 && c.n_reports == 0 && c.cname[0] == 0);
        check(rtcp_build(1, NULL, &b, 32, "x", false, buf, sizeof(buf), &len) == -EINVAL);
        check(rtcp_build(1, &si, &b, 1, "x", false, buf, 40, &len) == -ENOBUFS);
        tap_end();
}

typedef struct Hostile {
        const char *name;
        const uint8_t *data;
        size_t size;
} Hostile;

static void test_hostile(void) {
        const Hostile cases[] = {
                { "/rtcp/hostile/short", BYTES(0x80, 201, 0) },
                { "/rtcp/hostile/not-a-word", BYTES(0x80, 201, 0, 1, 0, 0, 0, 1, 0) },
                { "/rtcp/hostile/first-not-report", BYTES(0x81, 202, 0, 1, 0, 0, 0, 1) },
                { "/rtcp/hostile/version-1", BYTES(0x40, 201, 0, 1, 0, 0, 0, 1) },
                { "/rtcp/hostile/second-version-0",
                  BYTES(0x80, 201, 0, 1, 0, 0, 0, 1, 0x01, 202, 0, 1, 0, 0, 0, 1) },
                { "/rtcp/hostile/length-beyond-end", BYTES(0x80, 201, 0, 9, 0, 0, 0, 1) },
                { "/rtcp/hostile/blocks-beyond-length", BYTES(0x82, 201, 0, 1, 0, 0, 0, 1) },
                { "/rtcp/hostile/sr-too-short", BYTES(0x80, 200, 0, 1, 0, 0, 0, 1) },
                { "/rtcp/hostile/padding-not-last",
                  BYTES(0xa0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0x81, 203, 0, 1, 0, 0, 0, 1) },
                { "/rtcp/hostile/padding-zero", BYTES(0xa0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0) },
                { "/rtcp/hostile/padding-too-big", BYTES(0xa0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 12) },
                { "/rtcp/hostile/sdes-item-beyond-end",
                  BYTES(0x80, 201, 0, 1, 0, 0, 0, 1, 0x81, 202, 0, 2, 0, 0, 0, 1, 1, 200, 'x', 'y') },
                { "/rtcp/hostile/sdes-no-end", BYTES(0x80, 201, 0, 1, 0, 0, 0, 1, 0x81, 202, 0, 1, 0, 0, 0, 1) },
                { "/rtcp/hostile/bye-count-beyond-length",
                  BYTES(0x80, 201, 0, 1, 0, 0, 0, 1, 0x83, 203, 0, 1, 0, 0, 0, 1) },
        };
        RtcpCompound c = { .ssrc = 4242 };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tap_begin(cases[i].name);
                check(rtcp_parse(cases[i].data, cases[i].size, &c) == -EBADMSG);
                check(c.ssrc == 4242, "ret was written");
                tap_end();
        }

        tap_begin("/rtcp/parse/padding-on-last");
        check(rtcp_parse(BYTES(0xa0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4), &c) == 0 && c.ssrc == 1);
        tap_end();

        tap_begin("/rtcp/parse/unknown-types-skipped");
        check(rtcp_parse(BYTES(0x80, 201, 0, 1, 0, 0, 0, 9, 0x80, 204, 0, 2, 0, 0, 0, 9, 'n', 'a', 'm', 'e'), &c) == 0 &&
              c.ssrc == 9);
        tap_end();
}

static void test_random(void) {
        uint8_t buf[128];
        uint32_t x = 777;
        unsigned ok = 0;

        tap_begin("/rtcp/hostile/random-100000");
        for (unsigned i = 0; i < 100000; i++) {
                size_t n = 4 * ((x = x * 1103515245 + 12345) % (sizeof(buf) / 4));
                for (size_t k = 0; k < n; k++)
                        buf[k] = (uint8_t) ((x = x * 1103515245 + 12345) >> 16);
                if (n >= 4) {
                        /* a plausible first header half the time, so parsing gets deep */
                        buf[0] = (uint8_t) (0x80 | (buf[0] & 0x01));
                        buf[1] = 200 + (buf[1] & 1);
                        buf[2] = 0;
                        if (i % 2)
                                buf[3] = (uint8_t) (n / 4 - 1);
                }
                RtcpCompound c;
                if (rtcp_parse(buf, n, &c) == 0) {
                        ok++;
                        check(c.n_reports <= RTCP_REPORTS_MAX && strlen(c.cname) <= RTCP_CNAME_MAX);
                }
        }
        check(ok > 100, "only %u parsed", ok);
        tap_end();
}

static void test_time(void) {
        uint32_t rtt;

        tap_begin("/rtcp/ntp");
        check(rtcp_ntp_from_unix_usec(0) == 2208988800ULL << 32);
        check(rtcp_ntp_from_unix_usec(1500000) == ((2208988801ULL << 32) | 0x80000000U));
        check(rtcp_dlsr_from_usec(5250000) == 0x00054000);
        tap_end();

        /* RFC 3550 6.4.1, Figure 2: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s),
         * DLSR = 0x0005:4000 (5.250 s): delay 0x0006:2000 (6.125 s). */
        tap_begin("/rtcp/round-trip/rfc3550-figure-2");
        check(rtcp_round_trip_usec(0xb7108000, 0xb7052000, 0x00054000, &rtt) == 0);
        check(rtt == 6125000, "%u", rtt);
        check(rtcp_round_trip_usec(0xb7108000, 0, 0, &rtt) == -ENODATA);
        check(rtcp_round_trip_usec(0xb7052000, 0xb7108000, 0, &rtt) == -ERANGE);
        /* across the 2^32 wrap of the middle bits */
        check(rtcp_round_trip_usec(0x00008000, 0xffff8000, 0x00008000, &rtt) == 0 && rtt == 500000, "%u", rtt);
        tap_end();
}

static void test_quality(void) {
        tap_begin("/quality/e-model");
        double r = quality_r_factor(0, 0, 0, 25.1);
        check(fabs(r - 93.2) < 1e-9);
        check(fabs(quality_mos_from_r(r) - 4.41) < 0.005, "MOS %f", quality_mos_from_r(r));
        /* 5 % random loss, G.711 with PLC: Ie,eff = 95 x 5 / 30.1 = 15.78; R = 77.42; MOS 3.92 */
        r = quality_r_factor(0, 5, 0, 25.1);
        check(fabs(r - (93.2 - 95.0 * 5 / 30.1)) < 1e-9 && fabs(quality_mos_from_r(r) - 3.92) < 0.005, "R %f", r);
        /* 200 ms one way: Id = 4.8 + 0.11 x 22.7 = 7.297 */
        r = quality_r_factor(200, 0, 0, 25.1);
        check(fabs(r - (93.2 - 7.297)) < 1e-6, "R %f", r);
        check(quality_mos_from_r(-5) == 1.0 && quality_mos_from_r(120) == 4.5);
        check(quality_r_factor(10000, 100, 0, 25.1) == 0);
        tap_end();
}

int main(void) {
        test_parse();
        test_build();
        test_hostile();
        test_random();
        test_time();
        test_quality();
        return tap_finish();
}
