/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * RFC 4733 telephone-events for DTMF, pure: what to send each packet time,
 * and what a stream of received event packets means.
 *
 * Sending: each digit is DTMF_TONE_MS of event packets (one per packet time,
 * the first with the marker bit, all with the event's start timestamp and a
 * growing duration), then DTMF_END_PACKETS copies of the final packet with
 * the E bit (2.5.1.4: the end is sent three times), then DTMF_GAP_MS of
 * nothing before the next digit. Voice is not sent while a digit is on.
 *
 * Receiving: an event is identified by its timestamp; it is reported once,
 * at its first end packet, or when a new event starts or DTMF_RECV_TIMEOUT_MS
 * passes without its end (all end packets lost).
 */

#define DTMF_QUEUE_MAX 64
#define DTMF_TONE_MS 100
#define DTMF_GAP_MS 60
#define DTMF_END_PACKETS 3
#define DTMF_VOLUME 10                  /* -dBm0 */
#define DTMF_RECV_TIMEOUT_MS 1000
#define DTMF_PAYLOAD_SIZE 4

/* '0'-'9', '*', '#', 'A'-'D' <-> events 0..15; -EINVAL otherwise. */
int dtmf_event_from_char(char c);
char dtmf_event_to_char(unsigned event); /* 0 for events that are not DTMF digits */
/* Every character a DTMF digit and 1..DTMF_QUEUE_MAX of them. */
bool dtmf_digits_valid(const char *digits);

typedef enum DtmfSendState {
        DTMF_SEND_IDLE,
        DTMF_SEND_TONE,
        DTMF_SEND_END,
        DTMF_SEND_GAP,
} DtmfSendState;

typedef struct DtmfSender {
        char queue[DTMF_QUEUE_MAX];
        size_t head, n;
        DtmfSendState state;
        uint8_t event;
        uint32_t start_ts;              /* RTP timestamp of the event */
        uint32_t duration;              /* timestamp units so far */
        unsigned ends_sent;
        uint32_t gap_left;              /* timestamp units */
} DtmfSender;

typedef struct DtmfPacket {
        uint8_t payload[DTMF_PAYLOAD_SIZE];
        uint32_t timestamp;
        bool marker;
} DtmfPacket;

void dtmf_sender_init(DtmfSender *s);
/* Queue digits; -EBUSY if they do not fit, -EINVAL for a bad digit (nothing queued). */
int dtmf_sender_queue(DtmfSender *s, const char *digits);
/* True while digits are queued or being sent (voice must wait). */
bool dtmf_sender_busy(const DtmfSender *s);
/*
 * One packet time has passed; now_ts is the RTP timestamp the next voice packet
 * would carry, units the packet time in timestamp units, clock_rate the event
 * clock. Returns 1 and fills ret when an event packet is due, 0 otherwise.
 */
int dtmf_sender_tick(DtmfSender *s, uint32_t now_ts, uint32_t units, uint32_t clock_rate, DtmfPacket *ret);

typedef struct DtmfReceiver {
        bool active;                    /* an event whose end we have not reported */
        bool reported;                  /* the event with timestamp ts was reported */
        bool have_ts;
        uint32_t ts;
        uint8_t event;
        uint32_t duration;
        uint64_t last_usec;
} DtmfReceiver;

typedef struct DtmfEvent {
        char digit;
        uint32_t duration;              /* timestamp units */
} DtmfEvent;

void dtmf_receiver_init(DtmfReceiver *r);
/*
 * A telephone-event packet. Returns the number of events completed (0, 1 or 2:
 * an unfinished previous one and this one), written to ret[0..], or -EBADMSG
 * for a malformed payload. Events that are not digits are ignored.
 */
int dtmf_receiver_packet(DtmfReceiver *r, uint32_t timestamp, const uint8_t *payload, size_t size,
                         uint64_t now_usec, DtmfEvent ret[2]);
/* 1 and ret filled when an event's end never came within the timeout. */
int dtmf_receiver_timeout(DtmfReceiver *r, uint64_t now_usec, DtmfEvent *ret);
