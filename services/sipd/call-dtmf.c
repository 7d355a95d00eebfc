/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A call's DTMF: Call.SendDtmf sends digits the way account.N.dtmf.type says,
 * and every digit the peer sends, however it sends it, comes out as the
 * call's DtmfReceived signal.
 *
 *   dtmf.type 0  in-band: the stream mixes the tones in (Stream.SendDtmfInband)
 *   dtmf.type 1  RFC 4733 (Stream.SendDtmf) when the peer took telephone-event,
 *                else in-band (as Yealink phones do)
 *   dtmf.type 2  SIP INFO, body by dtmf.info_type (dtmf-info.h)
 *   dtmf.type 3  as 1, and SIP INFO too
 *
 * Receiving: RFC 4733 events and in-band digits come from the stream's
 * DtmfReceived (in-band detection is switched on with Start/Update's
 * "dtmf_inband_detect" only where in-band digits are expected: type 0, or 1/3
 * without telephone-event); SIP INFO from sofia-glue.c (call_on_info). A
 * peer that sends each digit two ways (RFC 4733 and INFO, as type 3 does) has
 * it reported once: a digit that matches one reported the other way within
 * DUPLICATE_USEC, and not matched yet, is dropped.
 *
 * INFO requests go one at a time, at the pace of RFC 4733 events (one per
 * INFO_INTERVAL_USEC, the next once the last one is answered), so that both
 * ways of a type 3 call stay together. At most DTMF_QUEUE_MAX digits wait
 * (counting those of SendDtmf calls that wait for the stream's answer); an
 * INFO the peer refuses or leaves unanswered drops the digits after it. A peer
 * gets at most INFO_RX_MAX INFO digits a second reported (more: 503).
 *
 * Digits are secrets (PINs, card numbers typed to an IVR): never logged.
 */
#include "dtmf-info.h"
#include "log.h"
#include "sipd.h"
#include "util.h"

#define DTMF_QUEUE_MAX 64               /* as mediad's */
#define MEDIA_DTMF_TIMEOUT_MS 5000
#define DUPLICATE_USEC (1000 * 1000ULL)
#define INFO_INTERVAL_USEC (160 * 1000ULL) /* a 100 ms event and its 60 ms gap, as mediad sends them */
#define RECENT_MAX 16
#define INFO_RX_MAX 32                  /* a second; a keypad makes at most ~12, a type 3 peer twice that */
#define INFO_RX_WINDOW_USEC (1000 * 1000ULL)

const char call_info_accept[] = "application/dtmf-relay, application/dtmf, application/telephone-event";

typedef enum DtmfSource {
        DTMF_SOURCE_MEDIA,              /* RFC 4733 or in-band, from the stream */
        DTMF_SOURCE_INFO,
} DtmfSource;

struct CallDtmf {
        int match;                      /* the stream's DtmfReceived, 0: none */
        char *match_stream;
        bool telephone_event;           /* the peer takes RFC 4733 events */
        bool inband_detect;             /* what the stream was told */
        char info_queue[DTMF_QUEUE_MAX];
        size_t info_head, info_n;
        size_t info_reserved;           /* digits of SendDtmf calls waiting for the stream, INFO after it */
        bool info_in_flight;
        uint64_t info_next_usec;        /* the next INFO not before this (monotonic) */
        sd_event_source *info_timer;
        struct {                        /* digits reported lately, for duplicates (a ring) */
                char digit;
                DtmfSource source;
                bool matched;
                uint64_t usec;
        } recent[RECENT_MAX];
        size_t n_recent;
        uint64_t rx_window_usec;        /* INFO digits received: since when, and how many */
        unsigned rx_in_window;
};

static CallDtmf *call_dtmf(Call *c) {
        if (!c->dtmf)
                c->dtmf = calloc(1, sizeof(CallDtmf));
        return c->dtmf;
}

void call_dtmf_free(Call *c) {
        CallDtmf *d = c->dtmf;

        if (!d)
                return;
        if (d->match > 0)
                bus_remove_match(c->manager->bus, d->match);
        sd_event_source_disable_unref(d->info_timer);
        free(d->match_stream);
        free(d);
        c->dtmf = NULL;
}

/* account.N.dtmf.*; a direct call (account 0) uses the defaults (RFC 4733, dtmf-relay). */
static unsigned dtmf_type(Call *c) {
        Account *a = c->account ? manager_account(c->manager, c->account) : NULL;
        return a ? a->settings.dtmf_type : 1;
}

static DtmfInfoType info_type(Call *c) {
        Account *a = c->account ? manager_account(c->manager, c->account) : NULL;
        return a && dtmf_info_content_type((DtmfInfoType) a->settings.dtmf_info_type)
                       ? (DtmfInfoType) a->settings.dtmf_info_type
                       : DTMF_INFO_RELAY;
}

static bool sends_info(unsigned type) {
        return type == 2 || type == 3;
}

static bool sends_media(unsigned type) {
        return type != 2;
}

/* ---- DtmfReceived ---- */

/* The same digit, reported the other way lately and not matched yet: mark it, true. */
static bool is_duplicate(CallDtmf *d, char digit, DtmfSource source, uint64_t now) {
        size_t n = MIN(d->n_recent, (size_t) RECENT_MAX);

        for (size_t k = n; k > 0; k--) { /* the oldest first */
                size_t i = (d->n_recent - k) % RECENT_MAX;
                if (d->recent[i].digit == digit && d->recent[i].source != source && !d->recent[i].matched &&
                    now - d->recent[i].usec < DUPLICATE_USEC) {
                        d->recent[i].matched = true;
                        return true;
                }
        }
        size_t i = d->n_recent++ % RECENT_MAX;
        d->recent[i].digit = digit;
        d->recent[i].source = source;
        d->recent[i].matched = false;
        d->recent[i].usec = now;
        return false;
}

static void emit_digit(Call *c, char digit, uint32_t duration_ms, DtmfSource source) {
        CallDtmf *d = call_dtmf(c);
        char text[2] = { digit, 0 };
        const char *p = text;

        if (d && is_duplicate(d, digit, source, now_usec())) {
                log_debug("Call %u: a DTMF digit came both by the stream and by SIP INFO, reported once", c->id);
                return;
        }
        log_debug("Call %u: a DTMF digit received by %s (%u ms)", c->id,
                  source == DTMF_SOURCE_INFO ? "SIP INFO" : "the media stream", duration_ms);
        int r = bus_emit_signal(c->manager->bus, c->path, SIP1_CALL_IFACE, "DtmfReceived", DBUS_TYPE_STRING, &p,
                                DBUS_TYPE_UINT32, &duration_ms, DBUS_TYPE_INVALID);
        if (r < 0)
                log_warning_errno(r, "Call %u: cannot send DtmfReceived, ignoring: %m", c->id);
}

static void on_stream_dtmf(Bus *bus, DBusMessage *m, void *userdata) {
        Call *c = userdata;
        const char *digit;
        dbus_uint32_t ms;

        if (!call_is_live(c) || !c->stream || !streq_ptr(dbus_message_get_path(m), c->stream))
                return;
        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &digit, DBUS_TYPE_UINT32, &ms, DBUS_TYPE_INVALID) ||
            strlen(digit) != 1 || !dtmf_info_digit_valid(digit[0])) {
                log_debug("Call %u: ignoring a malformed DtmfReceived of its stream", c->id);
                return;
        }
        emit_digit(c, digit[0], ms, DTMF_SOURCE_MEDIA);
}

/* At most INFO_RX_MAX digits by INFO in a second: a peer cannot make us signal at its rate. */
static bool info_rx_allowed(Call *c) {
        CallDtmf *d = call_dtmf(c);
        uint64_t now = now_usec();

        if (!d)
                return false;
        if (now - d->rx_window_usec >= INFO_RX_WINDOW_USEC) {
                d->rx_window_usec = now;
                d->rx_in_window = 0;
        }
        return ++d->rx_in_window <= INFO_RX_MAX;
}

unsigned call_on_info(Call *c, const SipInfo *info) {
        char digit;
        uint32_t ms;

        if (!call_is_live(c))
                return 481;
        if (!info->content_type && info->size == 0)
                return 200; /* an empty INFO: a keep-alive of the dialog */
        int r = dtmf_info_parse(info->content_type, info->body, info->size, &digit, &ms);
        if (r == -EPROTONOSUPPORT) {
                log_debug("Call %u: refusing an INFO that is not DTMF (415)", c->id);
                return 415;
        }
        if (r < 0) {
                log_debug("Call %u: refusing a malformed or oversized DTMF INFO (400)", c->id);
                return 400;
        }
        if (!info_rx_allowed(c)) {
                log_debug("Call %u: more than %d DTMF INFO a second, refusing (503)", c->id, INFO_RX_MAX);
                return 503;
        }
        emit_digit(c, digit, ms, DTMF_SOURCE_INFO);
        return 200;
}

/* ---- SIP INFO out ---- */

static void info_kick(Call *c);

static int on_info_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        info_kick(userdata);
        return 0;
}

/* Not before d->info_next_usec: a one-shot timer then. */
static bool info_wait(Call *c, CallDtmf *d) {
        uint64_t now = now_usec();

        if (now >= d->info_next_usec)
                return false;
        int r = d->info_timer ? sd_event_source_set_time(d->info_timer, d->info_next_usec)
                              : sd_event_add_time(c->manager->event, &d->info_timer, CLOCK_MONOTONIC,
                                                  d->info_next_usec, 0, on_info_timer, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->info_timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_warning_errno(r, "Call %u: no timer for DTMF INFO, sending at once: %m", c->id);
                return false;
        }
        return true;
}

static void info_kick(Call *c) {
        CallDtmf *d = c->dtmf;
        uint8_t body[64];
        size_t len;

        if (!d || d->info_in_flight || d->info_n == 0)
                return;
        if (!call_is_live(c) || !c->sip) {
                d->info_n = 0;
                return;
        }
        if (info_wait(c, d))
                return;
        char digit = d->info_queue[d->info_head];
        d->info_head = (d->info_head + 1) % DTMF_QUEUE_MAX;
        d->info_n--;
        DtmfInfoType t = info_type(c);
        int r = dtmf_info_format(t, digit, DTMF_INFO_DURATION_DEFAULT, body, sizeof(body), &len);
        if (r >= 0)
                r = sip_call_send_info(c->sip, dtmf_info_content_type(t), body, len);
        if (r < 0) {
                log_warning_errno(r, "Call %u: cannot send a DTMF digit as SIP INFO, dropping %zu more: %m", c->id,
                                  d->info_n);
                d->info_n = 0;
                return;
        }
        log_debug("Call %u: a DTMF digit sent as SIP INFO (%s)", c->id, dtmf_info_content_type(t));
        d->info_in_flight = true;
        d->info_next_usec = now_usec() + INFO_INTERVAL_USEC;
}

void call_on_info_sent(Call *c, unsigned status, const char *phrase) {
        CallDtmf *d = c->dtmf;

        if (!d)
                return;
        d->info_in_flight = false;
        if (status < 200 || status >= 300) {
                /* refused (405, 415, 501...) or unanswered (408 after 32 s): the next ones would fare no better */
                log_notice("Call %u: the peer refused a DTMF INFO (%u %s), dropping the %zu digits after it", c->id,
                           status, strempty(phrase), d->info_n);
                d->info_n = 0;
                return;
        }
        info_kick(c);
}

/* Room for n more digits, counting the reserved ones. */
static bool info_room(const CallDtmf *d, size_t n) {
        return n <= DTMF_QUEUE_MAX - d->info_n - d->info_reserved;
}

static int info_queue(Call *c, const char *digits) {
        CallDtmf *d = call_dtmf(c);
        size_t n = strlen(digits);

        if (!d)
                return -ENOMEM;
        if (!info_room(d, n))
                return -EBUSY;
        for (size_t i = 0; i < n; i++)
                d->info_queue[(d->info_head + d->info_n++) % DTMF_QUEUE_MAX] = digits[i];
        info_kick(c);
        return 0;
}

/* ---- SendDtmf ---- */

typedef struct DtmfReply {
        Manager *manager;
        unsigned call_id;
        DBusMessage *request;           /* SendDtmf, answered when the stream has the digits */
        bool info;                      /* then as SIP INFO too (type 3): room is reserved for them */
        char digits[DTMF_QUEUE_MAX + 1];
} DtmfReply;

static void dtmf_reply_free(DtmfReply *r) {
        dbus_message_unref(r->request);
        free(r);
}

static void reply_error(Bus *bus, DBusMessage *request, DBusMessage *reply, int error) {
        const char *name = reply ? dbus_message_get_error_name(reply) : NULL, *text = NULL;

        if (reply && dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID) && name)
                (void) bus_reply_error(bus, request, name, "%s", text);
        else
                (void) bus_reply_error_errno(bus, request, error, "The media service did not take the digits: %s",
                                             strerror(-error));
}

static void on_media_sent(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        DtmfReply *r = userdata;
        Call *c = manager_find_call(r->manager, r->call_id);

        if (c && c->dtmf && r->info)
                c->dtmf->info_reserved -= MIN(strlen(r->digits), c->dtmf->info_reserved);
        if (error < 0)
                reply_error(bus, r->request, reply, error);
        else if (!c || !call_is_live(c))
                (void) bus_reply_error_errno(bus, r->request, -EBUSY, "The call ended");
        else if (r->info && info_queue(c, r->digits) < 0) /* room was reserved: only on no memory */
                (void) bus_reply_error_errno(bus, r->request, -ENOMEM, "Call %u cannot queue SIP INFO", c->id);
        else
                (void) bus_reply(bus, r->request, DBUS_TYPE_INVALID);
        dtmf_reply_free(r);
}

/* RFC 4733 when the peer takes it and the type allows it, else in-band. */
static const char *media_method(Call *c, unsigned type) {
        return type != 0 && c->dtmf && c->dtmf->telephone_event ? "SendDtmf" : "SendDtmfInband";
}

static int send_media(Call *c, CallDtmf *d, DBusMessage *m, const char *digits, unsigned type) {
        const char *method = media_method(c, type);
        size_t n = strlen(digits);
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, c->stream, MEDIA1_STREAM_IFACE, method);
        DtmfReply *r = calloc(1, sizeof(DtmfReply));

        if (!msg || !r || !dbus_message_append_args(msg, DBUS_TYPE_STRING, &digits, DBUS_TYPE_INVALID)) {
                if (msg)
                        dbus_message_unref(msg);
                free(r);
                return -ENOMEM;
        }
        *r = (DtmfReply) { .manager = c->manager, .call_id = c->id, .request = dbus_message_ref(m),
                           .info = sends_info(type) };
        memcpy(r->digits, digits, MIN(n, (size_t) DTMF_QUEUE_MAX)); /* n was checked; NUL from the zeroing */
        int k = bus_call_async(c->manager->bus, msg, MEDIA_DTMF_TIMEOUT_MS, on_media_sent, r);
        dbus_message_unref(msg);
        if (k < 0) {
                dtmf_reply_free(r);
                return k;
        }
        if (r->info)
                d->info_reserved += n;
        log_debug("Call %u: %zu DTMF digits to the stream (%s)", c->id, n, method);
        return 0;
}

static bool digits_valid(const char *digits) {
        size_t n = strlen(digits);
        if (n == 0 || n > DTMF_QUEUE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!dtmf_info_digit_valid(digits[i]))
                        return false;
        return true;
}

/* The caller's digits are not echoed in the error: they may be a secret, and of any length. */
int call_send_dtmf(Call *c, DBusMessage *m, const char *digits, BusError *error) {
        unsigned type = dtmf_type(c);

        if (!digits_valid(digits))
                return bus_error_set(error, -EINVAL, "Invalid DTMF digits (0-9 * # A-D, 1 to %d of them)",
                                     DTMF_QUEUE_MAX);
        /* not on hold either way, as Yealink phones: a held peer hears nothing, nor would its IVR */
        if (c->state != CALL_ACTIVE || !c->sip || !c->stream || !c->local)
                return bus_error_set(error, -EBUSY, "Call %u is %s: DTMF needs an established call, not on hold",
                                     c->id, call_state_to_string(c->state));
        CallDtmf *d = call_dtmf(c);
        if (!d)
                return -ENOMEM;
        if (sends_info(type) && !info_room(d, strlen(digits)))
                return bus_error_set(error, -EBUSY, "Call %u has too many digits queued already (at most %d)",
                                     c->id, DTMF_QUEUE_MAX);
        if (sends_media(type))
                return send_media(c, d, m, digits, type); /* replied from on_media_sent() */
        int r = info_queue(c, digits);
        if (r < 0)
                return r;
        return bus_reply(c->manager->bus, m, DBUS_TYPE_INVALID);
}

/* ---- the stream ---- */

static int watch_stream(Call *c, CallDtmf *d) {
        if (streq_ptr(d->match_stream, c->stream))
                return 0;
        if (d->match > 0)
                bus_remove_match(c->manager->bus, d->match);
        d->match = 0;
        free(d->match_stream);
        d->match_stream = strdup(c->stream);
        if (!d->match_stream)
                return -ENOMEM;
        int r = bus_add_match_signal(c->manager->bus, MEDIA1_NAME, c->stream, MEDIA1_STREAM_IFACE, "DtmfReceived",
                                     on_stream_dtmf, c);
        if (r < 0) {
                free(d->match_stream); /* tried again at the next offer/answer */
                d->match_stream = NULL;
                return r;
        }
        d->match = r;
        return 0;
}

void call_dtmf_on_stream_lost(Call *c) {
        CallDtmf *d = c->dtmf;

        if (d)
                d->inband_detect = false; /* a new stream detects nothing until told */
}

int call_dtmf_on_negotiated(Call *c, const SdpNegotiated *n) {
        CallDtmf *d = call_dtmf(c);
        unsigned type = dtmf_type(c);

        if (!d || !c->stream)
                return -1;
        int r = watch_stream(c, d);
        if (r < 0)
                log_warning_errno(r, "Call %u: cannot follow the DTMF its stream receives: %m", c->id);
        d->telephone_event = n->dtmf_payload_type >= 0;
        bool detect = type == 0 || ((type == 1 || type == 3) && !d->telephone_event);
        if (detect == d->inband_detect)
                return -1;
        d->inband_detect = detect;
        log_debug("Call %u: in-band DTMF detection %s", c->id, detect ? "on" : "off");
        return detect;
}
