/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stream's in-band DTMF (dtmf-inband.h): SendDtmfInband's tones in the
 * voice it sends, and, when Start/Update said "dtmf_inband_detect", the
 * digits found in the voice it receives, reported as DtmfReceived like RFC
 * 4733 events. Without that option no detector exists and nothing is spent.
 *
 * All of it runs on the loop (manager.c's on_frames: stream_capture and
 * stream_playout), never on the audio thread, which only moves frames through
 * its rings. Digits are secrets (PINs typed to an IVR): never logged.
 */
#include "log.h"
#include "mediad.h"
#include "util.h"

static bool stream_sending(const Stream *s) {
        return s->state == STREAM_RUNNING && (s->direction == STREAM_SENDRECV || s->direction == STREAM_SENDONLY);
}

int stream_send_dtmf_inband(Stream *s, const char *digits, BusError *error) {
        if (!dtmf_digits_valid(digits))
                return bus_error_set(error, -EINVAL, "Invalid DTMF digits (0-9 * # A-D, at most %d)",
                                     DTMF_QUEUE_MAX);
        if (!stream_sending(s))
                return bus_error_set(error, -EBUSY, "Stream %u is %s, not sending", s->id,
                                     stream_state_to_string(s->state));
        int r = dtmf_inband_tx_queue(&s->inband_tx, digits);
        if (r == -EBUSY)
                return bus_error_set(error, r, "Stream %u has too many digits queued already (at most %d)", s->id,
                                     DTMF_QUEUE_MAX);
        if (r >= 0)
                log_debug("Stream %u: sending %zu DTMF digits in-band", s->id, strlen(digits));
        return r;
}

void stream_dtmf_fill(Stream *s, int16_t *pcm, size_t n) {
        (void) dtmf_inband_tx_fill(&s->inband_tx, pcm, n);
}

static void on_inband_digit(char digit, uint32_t duration_ms, void *userdata) {
        Stream *s = userdata;
        char text[2] = { digit, 0 };
        const char *d = text;

        log_debug("Stream %u: a DTMF digit received in-band (%u ms)", s->id, duration_ms);
        int r = bus_emit_signal(s->manager->bus, s->path, MEDIA1_STREAM_IFACE, "DtmfReceived", DBUS_TYPE_STRING, &d,
                                DBUS_TYPE_UINT32, &duration_ms, DBUS_TYPE_INVALID);
        if (r < 0)
                log_warning_errno(r, "Failed to send DtmfReceived, ignoring: %m");
}

void stream_dtmf_detect(Stream *s, const int16_t *frame, size_t n) {
        if (s->inband_rx)
                dtmf_inband_rx_feed(s->inband_rx, frame, n);
}

int stream_dtmf_apply(Stream *s, const StreamRemote *r) {
        if (!r->has_inband_detect || r->inband_detect == !!s->inband_rx)
                return 0;
        if (!r->inband_detect) {
                s->inband_rx = dtmf_inband_rx_free(s->inband_rx);
                log_debug("Stream %u: in-band DTMF detection off", s->id);
                return 0;
        }
        int k = dtmf_inband_rx_new(on_inband_digit, s, &s->inband_rx);
        if (k >= 0)
                log_debug("Stream %u: in-band DTMF detection on", s->id);
        return k;
}

void stream_dtmf_done(Stream *s) {
        s->inband_rx = dtmf_inband_rx_free(s->inband_rx);
}
