/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 4733 DTMF events (dtmf.h). */
#include <errno.h>
#include <string.h>

#include "dtmf.h"

static const char digits_table[] = "0123456789*#ABCD";

int dtmf_event_from_char(char c) {
        const char *p = c ? strchr(digits_table, c) : NULL;
        return p ? (int) (p - digits_table) : -EINVAL;
}

char dtmf_event_to_char(unsigned event) {
        return event < 16 ? digits_table[event] : 0;
}

bool dtmf_digits_valid(const char *digits) {
        size_t n = strlen(digits);
        if (n == 0 || n > DTMF_QUEUE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (dtmf_event_from_char(digits[i]) < 0)
                        return false;
        return true;
}

/* ---- sending ---- */

void dtmf_sender_init(DtmfSender *s) {
        *s = (DtmfSender) { .state = DTMF_SEND_IDLE };
}

int dtmf_sender_queue(DtmfSender *s, const char *digits) {
        size_t n = strlen(digits);

        if (!dtmf_digits_valid(digits))
                return -EINVAL;
        if (n > DTMF_QUEUE_MAX - s->n)
                return -EBUSY;
        for (size_t i = 0; i < n; i++)
                s->queue[(s->head + s->n++) % DTMF_QUEUE_MAX] = digits[i];
        return 0;
}

bool dtmf_sender_busy(const DtmfSender *s) {
        return s->n > 0 || s->state == DTMF_SEND_TONE || s->state == DTMF_SEND_END;
}

static void make_packet(const DtmfSender *s, bool end, bool marker, DtmfPacket *ret) {
        uint32_t d = s->duration > UINT16_MAX ? UINT16_MAX : s->duration;
        *ret = (DtmfPacket) {
                .payload = { s->event, (uint8_t) ((end ? 0x80 : 0) | DTMF_VOLUME), (uint8_t) (d >> 8), (uint8_t) d },
                .timestamp = s->start_ts,
                .marker = marker,
        };
}

static int sender_start(DtmfSender *s, uint32_t now_ts, uint32_t units, DtmfPacket *ret) {
        char c = s->queue[s->head];
        s->head = (s->head + 1) % DTMF_QUEUE_MAX;
        s->n--;
        s->event = (uint8_t) dtmf_event_from_char(c);
        s->start_ts = now_ts;
        s->duration = units;
        s->ends_sent = 0;
        s->state = DTMF_SEND_TONE;
        make_packet(s, false, true, ret);
        return 1;
}

int dtmf_sender_tick(DtmfSender *s, uint32_t now_ts, uint32_t units, uint32_t clock_rate, DtmfPacket *ret) {
        uint32_t tone_units = (uint32_t) ((uint64_t) DTMF_TONE_MS * clock_rate / 1000);

        switch (s->state) {
        case DTMF_SEND_GAP:
                if (s->gap_left > units) {
                        s->gap_left -= units;
                        return 0;
                }
                s->state = DTMF_SEND_IDLE;
                __attribute__((fallthrough));
        case DTMF_SEND_IDLE:
                if (s->n == 0)
                        return 0;
                return sender_start(s, now_ts, units, ret);
        case DTMF_SEND_TONE:
                s->duration += units;
                if (s->duration < tone_units) {
                        make_packet(s, false, false, ret);
                        return 1;
                }
                s->state = DTMF_SEND_END;
                __attribute__((fallthrough));
        case DTMF_SEND_END:
                make_packet(s, true, false, ret);
                if (++s->ends_sent >= DTMF_END_PACKETS) {
                        s->state = DTMF_SEND_GAP;
                        s->gap_left = (uint32_t) ((uint64_t) DTMF_GAP_MS * clock_rate / 1000);
                }
                return 1;
        }
        return 0;
}

/* ---- receiving ---- */

void dtmf_receiver_init(DtmfReceiver *r) {
        *r = (DtmfReceiver) {};
}

/* Report the current event once; 1 if it is a digit (ret filled). */
static int receiver_report(DtmfReceiver *r, DtmfEvent *ret) {
        r->active = false;
        if (r->reported)
                return 0;
        r->reported = true;
        char c = dtmf_event_to_char(r->event);
        if (!c)
                return 0;
        *ret = (DtmfEvent) { .digit = c, .duration = r->duration };
        return 1;
}

int dtmf_receiver_packet(DtmfReceiver *r, uint32_t timestamp, const uint8_t *payload, size_t size,
                         uint64_t now_usec, DtmfEvent ret[2]) {
        int n = 0;

        if (size < DTMF_PAYLOAD_SIZE)
                return -EBADMSG;
        uint8_t event = payload[0];
        bool end = payload[1] & 0x80;
        uint32_t duration = (uint32_t) payload[2] << 8 | payload[3];

        if (r->have_ts && timestamp != r->ts) {
                if ((int32_t) (timestamp - r->ts) < 0)
                        return 0; /* a late packet of an earlier event */
                if (r->active)
                        n += receiver_report(r, &ret[n]);
        }
        if (!r->have_ts || timestamp != r->ts) {
                *r = (DtmfReceiver) { .have_ts = true, .ts = timestamp, .event = event, .active = true };
        } else if (r->reported)
                return n; /* the repeated end packets */
        if (duration > r->duration)
                r->duration = duration;
        r->last_usec = now_usec;
        if (end)
                n += receiver_report(r, &ret[n]);
        return n;
}

int dtmf_receiver_timeout(DtmfReceiver *r, uint64_t now_usec, DtmfEvent *ret) {
        if (!r->active || now_usec - r->last_usec < (uint64_t) DTMF_RECV_TIMEOUT_MS * 1000)
                return 0;
        return receiver_report(r, ret);
}
