/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RTP packets (RFC 3550 5.1) and the receiver's per-source state (A.1, A.3, A.8):
 * hand-assembled packets, hostile ones, and sequences checked by hand. */
#include "rtp.h"
#include "tap.h"
#include "util.h"

#define BYTES(...) ((const uint8_t[]) { __VA_ARGS__ }), sizeof((const uint8_t[]) { __VA_ARGS__ })

static void test_parse_minimal(void) {
        RtpPacket p;

        tap_begin("/rtp/parse/minimal");
        /* V=2, PT 0, seq 1, ts 160, SSRC deadbeef, 4 bytes of payload */
        check(rtp_parse(BYTES(0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4),
                        &p) == 0);
        check(!p.marker && p.payload_type == 0 && p.seq == 1 && p.timestamp == 160 && p.ssrc == 0xdeadbeef);
        check(p.n_csrc == 0 && !p.has_extension && p.padding == 0);
        check(p.payload_size == 4 && p.payload[0] == 1 && p.payload[3] == 4);
        tap_end();
}

static void test_parse_everything(void) {
        RtpPacket p;
        /* V=2 P=1 X=1 CC=2, M=1 PT 101, seq 0xfffe, ts 0x01020304, SSRC 0x11223344,
         * CSRC 0xaaaaaaaa 0xbbbbbbbb, extension 0xBEDE with 1 word, payload 3 bytes, 3 bytes padding */
        const uint8_t pkt[] = {
                0xb2, 0xe5, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x11, 0x22, 0x33, 0x44,
                0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb,
                0xbe, 0xde, 0x00, 0x01, 0x10, 0x20, 0x30, 0x40,
                0x07, 0x08, 0x09, 0x00, 0x00, 0x03,
        };

        tap_begin("/rtp/parse/csrc-extension-padding");
        check(rtp_parse(pkt, sizeof(pkt), &p) == 0);
        check(p.marker && p.payload_type == 101 && p.seq == 0xfffe && p.timestamp == 0x01020304);
        check(p.ssrc == 0x11223344 && p.n_csrc == 2 && p.csrc[0] == 0xaaaaaaaa && p.csrc[1] == 0xbbbbbbbb);
        check(p.has_extension && p.extension_profile == 0xbede && p.extension_size == 4 && p.extension[0] == 0x10);
        check(p.payload_size == 3 && p.payload[0] == 7 && p.payload[2] == 9, "size %zu", p.payload_size);
        check(p.padding == 3);
        tap_end();

        tap_begin("/rtp/build/round-trip");
        uint8_t buf[64];
        size_t len;
        check(rtp_build(&p, p.payload, p.payload_size, 0, buf, sizeof(buf), &len) == 0);
        /* without padding_to, no padding: the same packet minus its 3 padding bytes and P bit */
        check(len == sizeof(pkt) - 3 && buf[0] == 0x92 && memcmp(buf + 1, pkt + 1, len - 1) == 0);
        check(rtp_build(&p, p.payload, p.payload_size, 4, buf, sizeof(buf), &len) == 0);
        check(len == 32 && buf[0] == 0xb2 && buf[31] == 1, "len %zu", len);
        RtpPacket q;
        check(rtp_parse(buf, len, &q) == 0 && q.payload_size == 3 && q.padding == 1);
        check(rtp_build(&p, p.payload, p.payload_size, 0, buf, 20, &len) == -ENOBUFS);
        RtpPacket bad = { .payload_type = 128 };
        check(rtp_build(&bad, NULL, 0, 0, buf, sizeof(buf), &len) == -EINVAL);
        tap_end();
}

typedef struct Hostile {
        const char *name;
        const uint8_t *data;
        size_t size;
} Hostile;

static void test_hostile(void) {
        static const uint8_t big[RTP_PACKET_MAX + 1] = { 0x80 };
        const Hostile cases[] = {
                { "/rtp/hostile/empty", BYTES(0x80) },
                { "/rtp/hostile/short-header", BYTES(0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0) },
                { "/rtp/hostile/version-1", BYTES(0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9) },
                { "/rtp/hostile/version-0", BYTES(0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9) },
                { "/rtp/hostile/csrc-beyond-end", BYTES(0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4) },
                { "/rtp/hostile/extension-header-cut", BYTES(0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde) },
                { "/rtp/hostile/extension-beyond-end",
                  BYTES(0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff, 1, 2, 3, 4) },
                { "/rtp/hostile/padding-zero", BYTES(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0) },
                { "/rtp/hostile/padding-eats-header", BYTES(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 16) },
                { "/rtp/hostile/padding-no-payload", BYTES(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0) },
                { "/rtp/hostile/rtcp-sr-on-rtp-port", BYTES(0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 1) },
                { "/rtp/hostile/rtcp-rr-on-rtp-port", BYTES(0x81, 201, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1) },
                { "/rtp/hostile/too-big", big, sizeof(big) },
        };
        RtpPacket p = { .seq = 4242 };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tap_begin(cases[i].name);
                check(rtp_parse(cases[i].data, cases[i].size, &p) == -EBADMSG);
                check(p.seq == 4242, "ret was written");
                tap_end();
        }

        tap_begin("/rtp/hostile/padding-exactly-payload");
        /* padding may take the whole payload: an empty payload, valid */
        check(rtp_parse(BYTES(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3), &p) == 0 && p.payload_size == 0);
        tap_end();
}

/* Random datagrams: parse must stay inside the buffer (ASan) and be consistent. */
static void test_random(void) {
        uint8_t buf[200];
        uint32_t x = 12345;
        unsigned ok = 0;

        tap_begin("/rtp/hostile/random-100000");
        for (unsigned i = 0; i < 100000; i++) {
                size_t n = (x = x * 1103515245 + 12345) % sizeof(buf);
                for (size_t k = 0; k < n; k++)
                        buf[k] = (uint8_t) ((x = x * 1103515245 + 12345) >> 16);
                buf[0] = (uint8_t) ((buf[0] & 0x3f) | 0x80);
                RtpPacket p;
                if (rtp_parse(buf, n, &p) == 0) {
                        ok++;
                        if (!check(p.payload >= buf && p.payload + p.payload_size + p.padding == buf + n))
                                break;
                }
        }
        check(ok > 1000, "only %u parsed", ok);
        tap_end();
}

static void test_source_in_order(void) {
        RtpSource s;

        tap_begin("/rtp/source/probation-then-in-order");
        rtp_source_init(&s, 1, 100);
        check(rtp_source_update(&s, 100) == RTP_SEQ_PROBATION);
        check(rtp_source_update(&s, 101) == RTP_SEQ_OK);
        for (uint16_t q = 102; q < 200; q++)
                rtp_source_update(&s, q);
        check(s.received == 99 && rtp_source_expected(&s) == 99 && rtp_source_lost(&s) == 0);
        check(rtp_source_extended_max(&s) == 199);
        tap_end();

        tap_begin("/rtp/source/probation-broken");
        rtp_source_init(&s, 1, 100);
        check(rtp_source_update(&s, 100) == RTP_SEQ_PROBATION);
        check(rtp_source_update(&s, 300) == RTP_SEQ_PROBATION);
        check(rtp_source_update(&s, 301) == RTP_SEQ_OK);
        check(s.base_seq == 301 && s.received == 1);
        tap_end();
}

static void test_source_wrap_loss(void) {
        RtpSource s;

        tap_begin("/rtp/source/wrap-and-loss");
        rtp_source_init(&s, 7, 65530);
        rtp_source_update(&s, 65530);
        rtp_source_update(&s, 65531);
        /* 65532..65535, 0..9, with 65534 and 3 lost */
        for (uint32_t q = 65532; q < 65536 + 10; q++)
                if (q != 65534 && q != 65536 + 3)
                        check(rtp_source_update(&s, (uint16_t) q) == RTP_SEQ_OK, "seq %u", q);
        check(s.cycles == 65536 && s.max_seq == 9);
        check(rtp_source_extended_max(&s) == 65536 + 9);
        check(rtp_source_expected(&s) == 15, "expected %llu", (unsigned long long) rtp_source_expected(&s));
        check(rtp_source_lost(&s) == 2);
        /* A.3: 2 of 15 -> 2 * 256 / 15 = 34 */
        check(rtp_source_fraction_lost(&s) == 34);
        /* next interval: 10 more, none lost */
        for (uint16_t q = 10; q < 20; q++)
                rtp_source_update(&s, q);
        check(rtp_source_fraction_lost(&s) == 0);
        tap_end();

        tap_begin("/rtp/source/reorder-and-duplicate");
        rtp_source_init(&s, 7, 1000);
        rtp_source_update(&s, 1000);
        rtp_source_update(&s, 1001);
        rtp_source_update(&s, 1003);
        check(rtp_source_update(&s, 1002) == RTP_SEQ_OK);      /* late but within misorder */
        check(rtp_source_update(&s, 1003) == RTP_SEQ_OK && s.duplicates == 1);
        check(s.max_seq == 1003 && rtp_source_lost(&s) == -1); /* a duplicate counts, as A.1 says */
        tap_end();

        tap_begin("/rtp/source/jump-then-restart");
        rtp_source_init(&s, 7, 1000);
        rtp_source_update(&s, 1000);
        rtp_source_update(&s, 1001);
        check(rtp_source_update(&s, 30000) == RTP_SEQ_BAD);
        check(rtp_source_update(&s, 1002) == RTP_SEQ_OK);      /* the old stream goes on */
        check(rtp_source_update(&s, 40000) == RTP_SEQ_BAD);
        check(rtp_source_update(&s, 40001) == RTP_SEQ_RESTARTED);
        check(s.base_seq == 40001 && s.received == 1 && rtp_source_lost(&s) == 0);
        tap_end();
}

static void test_jitter(void) {
        RtpSource s;

        tap_begin("/rtp/source/jitter-constant-transit");
        rtp_source_init(&s, 1, 0);
        for (uint32_t i = 0; i < 100; i++)
                rtp_source_jitter(&s, 5000 + i * 160, 1234567 + i * 160);
        check(rtp_source_jitter_units(&s) == 0);
        tap_end();

        /* Every other packet 80 units late: |D| = 80 each time, J -> 80 from below:
         * J_n = 80 (1 - (15/16)^(n-1)); after 3 packets: 80 - 80 (15/16)^2 = 9.69 */
        tap_begin("/rtp/source/jitter-a8");
        rtp_source_init(&s, 1, 0);
        for (uint32_t i = 0; i < 3; i++)
                rtp_source_jitter(&s, i * 160 + (i % 2) * 80, 1000 + i * 160);
        check(s.jitter_q4 == 155, "q4 %u", s.jitter_q4); /* 9.69 x 16, rounded as the integer form does */
        for (uint32_t i = 3; i < 400; i++)
                rtp_source_jitter(&s, i * 160 + (i % 2) * 80, 1000 + i * 160);
        check(rtp_source_jitter_units(&s) >= 79 && rtp_source_jitter_units(&s) <= 80, "J %u",
              rtp_source_jitter_units(&s));
        tap_end();

        /* the same with both clocks wrapping around mid-way */
        tap_begin("/rtp/source/jitter-wrap");
        rtp_source_init(&s, 1, 0);
        for (uint32_t i = 0; i < 400; i++)
                rtp_source_jitter(&s, UINT32_MAX - 30000 + i * 160 + (i % 2) * 80, UINT32_MAX - 1000 + i * 160);
        check(rtp_source_jitter_units(&s) >= 79 && rtp_source_jitter_units(&s) <= 80, "J %u",
              rtp_source_jitter_units(&s));
        tap_end();
}

int main(void) {
        test_parse_minimal();
        test_parse_everything();
        test_hostile();
        test_random();
        test_source_in_order();
        test_source_wrap_loss();
        test_jitter();
        return tap_finish();
}
