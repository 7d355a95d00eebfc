/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 4733 events: what the sender puts on the wire each packet time, and what
 * the receiver makes of it, including lost and repeated end packets. */
#include "dtmf.h"
#include "macro.h"
#include "tap.h"

#define RATE 8000
#define UNITS 160 /* 20 ms */

static void test_chars(void) {
        tap_begin("/dtmf/digits");
        check(dtmf_event_from_char('0') == 0 && dtmf_event_from_char('9') == 9);
        check(dtmf_event_from_char('*') == 10 && dtmf_event_from_char('#') == 11 && dtmf_event_from_char('D') == 15);
        check(dtmf_event_from_char('x') == -EINVAL && dtmf_event_from_char('a') == -EINVAL);
        check(dtmf_event_from_char(0) == -EINVAL);
        check(dtmf_event_to_char(11) == '#' && dtmf_event_to_char(16) == 0);
        check(dtmf_digits_valid("0123456789*#ABCD") && !dtmf_digits_valid("") && !dtmf_digits_valid("12 3"));
        tap_end();
}

static void test_send(void) {
        DtmfSender s;
        DtmfPacket p;
        uint32_t ts = 1000;

        tap_begin("/dtmf/send/one-digit");
        dtmf_sender_init(&s);
        check(!dtmf_sender_busy(&s));
        check(dtmf_sender_tick(&s, ts, UNITS, RATE, &p) == 0);
        check(dtmf_sender_queue(&s, "5") == 0 && dtmf_sender_busy(&s));
        /* 100 ms tone: packets with durations 160..640, then 800 with E three times */
        const uint16_t durations[] = { 160, 320, 480, 640, 800, 800, 800 };
        for (size_t i = 0; i < 7; i++, ts += UNITS) {
                check(dtmf_sender_tick(&s, ts, UNITS, RATE, &p) == 1, "packet %zu", i);
                check(p.timestamp == 1000 && p.marker == (i == 0), "packet %zu", i);
                check(p.payload[0] == 5 && (p.payload[1] & 0x3f) == DTMF_VOLUME);
                check(!!(p.payload[1] & 0x80) == (i >= 4), "E bit of packet %zu", i);
                check((p.payload[2] << 8 | p.payload[3]) == durations[i], "duration %d", p.payload[2] << 8 | p.payload[3]);
        }
        check(!dtmf_sender_busy(&s));
        /* 60 ms gap: nothing for 3 packet times, voice may flow */
        for (int i = 0; i < 3; i++, ts += UNITS)
                check(dtmf_sender_tick(&s, ts, UNITS, RATE, &p) == 0);
        tap_end();

        tap_begin("/dtmf/send/queue");
        dtmf_sender_init(&s);
        check(dtmf_sender_queue(&s, "12") == 0);
        check(dtmf_sender_queue(&s, "1x") == -EINVAL && s.n == 2);
        char many[DTMF_QUEUE_MAX + 1];
        memset(many, '1', DTMF_QUEUE_MAX);
        many[DTMF_QUEUE_MAX - 1] = 0;
        check(dtmf_sender_queue(&s, many) == -EBUSY);
        unsigned starts = 0, packets = 0;
        for (int i = 0; i < 40; i++, ts += UNITS)
                if (dtmf_sender_tick(&s, ts, UNITS, RATE, &p) == 1) {
                        packets++;
                        starts += p.marker;
                }
        check(starts == 2 && packets == 14, "%u starts, %u packets", starts, packets);
        tap_end();
}

static int feed(DtmfReceiver *r, uint32_t ts, uint8_t ev, bool end, uint16_t duration, uint64_t now, DtmfEvent out[2]) {
        const uint8_t payload[4] = { ev, (uint8_t) ((end ? 0x80 : 0) | 10), (uint8_t) (duration >> 8), (uint8_t) duration };
        return dtmf_receiver_packet(r, ts, payload, sizeof(payload), now, out);
}

static void test_receive(void) {
        DtmfReceiver r;
        DtmfEvent e[2];

        tap_begin("/dtmf/receive/normal");
        dtmf_receiver_init(&r);
        check(feed(&r, 5000, 11, false, 160, 0, e) == 0);
        check(feed(&r, 5000, 11, false, 320, 20000, e) == 0);
        check(feed(&r, 5000, 11, true, 800, 40000, e) == 1 && e[0].digit == '#' && e[0].duration == 800);
        check(feed(&r, 5000, 11, true, 800, 60000, e) == 0); /* repeated ends */
        check(feed(&r, 5000, 11, true, 800, 80000, e) == 0);
        check(dtmf_receiver_timeout(&r, 10000000, e) == 0);
        tap_end();

        tap_begin("/dtmf/receive/lost-end-next-digit");
        dtmf_receiver_init(&r);
        check(feed(&r, 100, 1, false, 160, 0, e) == 0);
        check(feed(&r, 100, 1, false, 480, 40000, e) == 0);
        /* the next event starts: the first is reported with what we saw */
        check(feed(&r, 2000, 2, true, 800, 300000, e) == 2);
        check(e[0].digit == '1' && e[0].duration == 480 && e[1].digit == '2');
        check(feed(&r, 100, 1, true, 800, 320000, e) == 0); /* a late end of the first */
        tap_end();

        tap_begin("/dtmf/receive/lost-end-timeout");
        dtmf_receiver_init(&r);
        check(feed(&r, 100, 0, false, 160, 0, e) == 0);
        check(dtmf_receiver_timeout(&r, 500000, e) == 0);
        check(dtmf_receiver_timeout(&r, 1000000, e) == 1 && e[0].digit == '0');
        check(dtmf_receiver_timeout(&r, 3000000, e) == 0);
        tap_end();

        tap_begin("/dtmf/receive/not-a-digit-and-bad");
        dtmf_receiver_init(&r);
        check(feed(&r, 100, 16, true, 800, 0, e) == 0); /* flash */
        check(dtmf_receiver_packet(&r, 200, (const uint8_t[]) { 1, 2, 3 }, 3, 0, e) == -EBADMSG);
        tap_end();

        tap_begin("/dtmf/send-receive");
        DtmfSender s;
        DtmfPacket p;
        char got[8] = "";
        size_t n = 0;
        dtmf_sender_init(&s);
        dtmf_receiver_init(&r);
        check(dtmf_sender_queue(&s, "*9D") == 0);
        for (uint32_t i = 0, ts = 0; i < 60; i++, ts += UNITS)
                if (dtmf_sender_tick(&s, ts, UNITS, RATE, &p) == 1) {
                        int k = dtmf_receiver_packet(&r, p.timestamp, p.payload, sizeof(p.payload), i * 20000ULL, e);
                        for (int j = 0; j < k && n < 7; j++)
                                got[n++] = e[j].digit;
                }
        check(streq(got, "*9D"), "got '%s'", got);
        tap_end();
}

int main(void) {
        test_chars();
        test_send();
        test_receive();
        return tap_finish();
}
