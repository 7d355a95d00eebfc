/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A media stream (org.deskphone.Media1.Stream): its life cycle, what it
 * offers and what Start/Update negotiate. Packets and statistics are in
 * stream-io.c.
 */
#include <arpa/inet.h>
#include <sys/random.h>

#include "log.h"
#include "mediad.h"
#include "util.h"

static const char * const state_table[_STREAM_STATE_MAX] = {
        [STREAM_CREATED] = "created",
        [STREAM_RUNNING] = "running",
        [STREAM_HELD] = "held",
        [STREAM_STOPPED] = "stopped",
};

static const char * const direction_table[_STREAM_DIRECTION_MAX] = {
        [STREAM_SENDRECV] = "sendrecv",
        [STREAM_SENDONLY] = "sendonly",
        [STREAM_RECVONLY] = "recvonly",
        [STREAM_INACTIVE] = "inactive",
};

const char *stream_state_to_string(StreamState s) {
        return s < _STREAM_STATE_MAX ? state_table[s] : NULL;
}

const char *stream_direction_to_string(StreamDirection d) {
        return d >= 0 && d < _STREAM_DIRECTION_MAX ? direction_table[d] : NULL;
}

StreamDirection stream_direction_from_string(const char *s) {
        for (int i = 0; s && i < _STREAM_DIRECTION_MAX; i++)
                if (streq(direction_table[i], s))
                        return (StreamDirection) i;
        return _STREAM_DIRECTION_INVALID;
}

static uint32_t random_u32(void) {
        uint32_t v;
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = (uint32_t) (now_usec() * 2654435761U);
        return v;
}

bool stream_is_active(const Stream *s) {
        return s->state == STREAM_RUNNING || s->state == STREAM_HELD;
}

/* ---- what we offer ---- */

static bool pt_used(const Stream *s, uint8_t pt) {
        for (size_t i = 0; i < s->n_formats; i++)
                if (s->formats[i].payload_type == pt)
                        return true;
        return false;
}

static uint8_t free_dynamic_pt(const Stream *s, uint8_t preferred) {
        if (!pt_used(s, preferred))
                return preferred;
        for (uint8_t pt = 96; pt <= 127; pt++)
                if (!pt_used(s, pt))
                        return pt;
        return 0;
}

static void add_format(Stream *s, const CodecOps *ops, uint8_t pt, uint32_t clock_rate) {
        if (s->n_formats < STREAM_CODECS_MAX && (ops || pt != 0))
                s->formats[s->n_formats++] = (LocalFormat) { .ops = ops, .payload_type = pt, .clock_rate = clock_rate };
}

static void stream_offer(Stream *s, const StreamOptions *o, const AccountMedia *a) {
        const CodecOps * const *codecs = o->n_codecs ? o->codecs : a->codecs;
        size_t n = o->n_codecs ? o->n_codecs : a->n_codecs;
        bool opus = false;

        for (size_t i = 0; i < n; i++) {
                const CodecOps *c = codecs[i];
                if (!codec_usable(c))
                        continue; /* its library is missing (logged once): offer the others */
                uint8_t pt = c == &codec_opus ? free_dynamic_pt(s, a->opus_payload_type) : c->payload_type;
                add_format(s, c, pt, c->clock_rate);
                opus = opus || c == &codec_opus;
        }
        /* RFC 4733 events at every clock rate of our codecs (sipd matches them by rate) */
        if (a->dtmf_type == 1 || a->dtmf_type == 3) {
                add_format(s, NULL, free_dynamic_pt(s, a->dtmf_payload_type), 8000);
                if (opus)
                        add_format(s, NULL, free_dynamic_pt(s, a->dtmf_payload_type + 1), 48000);
        }
        s->ptime = o->ptime ?: a->ptime ?: 20;
}

static const LocalFormat *find_format(const Stream *s, const CodecOps *ops, uint32_t clock_rate) {
        for (size_t i = 0; i < s->n_formats; i++)
                if (s->formats[i].ops == ops && (ops || s->formats[i].clock_rate == clock_rate))
                        return &s->formats[i];
        return NULL;
}

/* ---- life cycle ---- */

static int stream_register(Stream *s) {
        return bus_add_object(s->manager->bus, s->path, &media1_stream_interface, s);
}

int stream_new(Manager *m, const char *owner, const StreamOptions *o, Stream **ret, BusError *error) {
        const AccountMedia *a = media_settings_account(&m->settings, o->account);
        if (!a)
                return bus_error_set(error, -EINVAL, "No account %u (1..%u, or 0 for direct IP calls)", o->account,
                                     MEDIAD_N_ACCOUNTS);

        _cleanup_(stream_freep) Stream *s = calloc(1, sizeof(Stream));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->rtp_fd = s->rtcp_fd = -1;
        s->family = o->family;
        s->direction = STREAM_SENDRECV;
        s->rtcp_interval_ms = o->rtcp_interval_ms ?: STREAM_RTCP_INTERVAL_MS;
        s->owner = strdup(owner);
        if (!s->owner)
                return -ENOMEM;
        stream_offer(s, o, a);
        if (s->n_formats == 0 || !s->formats[0].ops)
                return bus_error_set(error, -EINVAL, "No codec to offer: account %u has none enabled that can run here",
                                     o->account);
        int r = stream_srtp_init(s, o->srtp);
        if (r < 0)
                return bus_error_set(error, r, "Cannot make SRTP keys: %s", strerror(-r));

        r = manager_add_stream(m, s);
        if (r < 0)
                return bus_error_set(error, r, "Too many streams (at most %d)", MEDIAD_STREAMS_MAX);
        snprintf(s->path, sizeof(s->path), MEDIA1_PATH "/stream/%u", s->id);

        r = manager_bind_ports(m, o->family, o->bind, &s->rtp_fd, &s->rtcp_fd, &s->local_port);
        if (r < 0)
                return bus_error_set(error, r, "No free RTP port pair on %s in %u..%u: %s",
                                     o->bind ?: (o->family == AF_INET6 ? "::" : "0.0.0.0"), m->settings.port_min,
                                     m->settings.port_max, strerror(-r));
        r = stream_local_address(s, o->bind);
        if (r >= 0)
                r = stream_io_start(s);
        if (r >= 0)
                r = stream_register(s);
        if (r < 0)
                return r;
        dtmf_sender_init(&s->dtmf_tx);
        dtmf_receiver_init(&s->dtmf_rx);
        log_info("Stream %u: %s port %u for %s, SRTP %s", s->id, s->local_address, s->local_port, owner,
                 srtp_mode_to_string(o->srtp));
        *ret = TAKE_PTR(s);
        return 0;
}

Stream *stream_free(Stream *s) {
        if (!s)
                return NULL;
        if (s->path[0])
                (void) bus_remove_object(s->manager->bus, s->path, &media1_stream_interface);
        manager_remove_stream(s->manager, s);
        stream_io_stop(s);
        stream_srtp_done(s);
        stream_dtmf_done(s);
        playout_free(s->playout);
        codec_free(s->codec);
        free(s->owner);
        free(s->local_address);
        free(s->remote_address);
        free(s);
        return NULL;
}

/* ---- Start and Update ---- */

static int set_string(char **field, const char *value) {
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static int parse_address(const Stream *s, const char *address, uint16_t port, struct sockaddr_storage *ret,
                         socklen_t *ret_len) {
        struct sockaddr_storage sa = {};
        struct sockaddr_in *in = (struct sockaddr_in *) &sa;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa;

        if (s->family == AF_INET && inet_pton(AF_INET, address, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                *ret_len = sizeof(*in);
        } else if (s->family == AF_INET6 && inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                *ret_len = sizeof(*in6);
        } else if (s->family == AF_INET6 && inet_pton(AF_INET, address, &in6->sin6_addr.s6_addr[12]) == 1) {
                in6->sin6_family = AF_INET6; /* an IPv4 peer through the v6 socket */
                in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
                in6->sin6_port = htons(port);
                *ret_len = sizeof(*in6);
        } else
                return -EINVAL;
        *ret = sa;
        return 0;
}

/* The codec Start/Update name, by name or static payload type. */
static const CodecOps *remote_codec(const StreamRemote *r) {
        if (r->codec)
                return codec_find(r->codec);
        if (r->has_payload_type && r->payload_type < 96)
                return codec_find_static((uint8_t) r->payload_type);
        return NULL;
}

static int check_remote(Stream *s, const StreamRemote *r, bool start, BusError *error) {
        struct sockaddr_storage sa;
        socklen_t len;

        if (start && (!r->address || !r->has_port))
                return bus_error_set(error, -EINVAL, "Start needs the remote 'address' and 'port'");
        if (start && !r->codec && !r->has_payload_type)
                return bus_error_set(error, -EINVAL, "Start needs the remote 'codec' or 'payload_type'");
        if (r->address && parse_address(s, r->address, 0, &sa, &len) < 0)
                return bus_error_set(error, -EINVAL, "Remote address '%s' is not an %s address", r->address,
                                     s->family == AF_INET6 ? "IPv6 or IPv4" : "IPv4");
        if ((r->has_port && r->port == 0) || (r->has_rtcp_port && r->rtcp_port == 0))
                return bus_error_set(error, -EINVAL, "Remote port 0 (a rejected stream is stopped, not started)");
        if ((r->codec || r->has_payload_type) && !remote_codec(r))
                return bus_error_set(error, -EINVAL, "Unknown codec '%s' (mediad has PCMU, PCMA, G722, opus)",
                                     r->codec ?: "(by payload type)");
        const CodecOps *c = remote_codec(r);
        if (c && r->has_clock_rate && r->clock_rate != c->clock_rate)
                return bus_error_set(error, -EINVAL, "%s has an RTP clock of %u Hz, not %u", c->name, c->clock_rate,
                                     r->clock_rate);
        if (r->has_payload_type && r->payload_type > 127)
                return bus_error_set(error, -EINVAL, "Payload type %u is not 0..127", r->payload_type);
        if (r->has_dtmf && r->dtmf_payload_type > 127)
                return bus_error_set(error, -EINVAL, "Payload type %u is not 0..127", r->dtmf_payload_type);
        if (r->direction && stream_direction_from_string(r->direction) < 0)
                return bus_error_set(error, -EINVAL, "Invalid direction '%s'", r->direction);
        return stream_srtp_check(s, r, start, error);
}

/* A new codec: fresh encoder, decoder and jitter buffer. */
static int stream_set_codec(Stream *s, const CodecOps *c, const StreamRemote *r) {
        _cleanup_(codec_freep) Codec *codec = NULL;
        _cleanup_(playout_freep) Playout *playout = NULL;
        JitterConfig jc;
        const LocalFormat *f = find_format(s, c, c->clock_rate);

        unsigned ptime = r->has_ptime && codec_ptime_valid(c, r->ptime) ? r->ptime
                         : codec_ptime_valid(c, s->ptime)                 ? s->ptime
                                                                          : 20;
        stream_jitter_config(s, &jc);
        int r2 = codec_new(c, &codec);
        if (r2 >= 0)
                r2 = playout_new(codec, &jc, ptime, &playout);
        if (r2 < 0)
                return r2;
        playout_free(s->playout);
        codec_free(s->codec);
        s->codec = TAKE_PTR(codec);
        s->playout = TAKE_PTR(playout);
        s->send_ptime = ptime;
        s->send_pt = r->has_payload_type ? (uint8_t) r->payload_type : f ? f->payload_type : c->payload_type;
        s->recv_pt = f ? f->payload_type : s->send_pt;
        s->capture_fill = 0;
        s->marker_next = true;
        downsampler_reset(&s->down);
        return 0;
}

static void stream_set_dtmf(Stream *s, const StreamRemote *r) {
        const LocalFormat *te = find_format(s, NULL, s->codec->ops->clock_rate);

        if (r->has_dtmf)
                s->dtmf_send_pt = (uint8_t) r->dtmf_payload_type;
        s->dtmf_recv_pt = te ? te->payload_type : s->dtmf_send_pt;
}

static int stream_apply_remote(Stream *s, const StreamRemote *r) {
        const CodecOps *c = remote_codec(r);
        int k = 0;

        if (c && (!s->codec || c != s->codec->ops || (r->has_payload_type && r->payload_type != s->send_pt))) {
                k = stream_set_codec(s, c, r);
                if (k < 0)
                        return k;
        }
        if (r->has_ptime && codec_ptime_valid(s->codec->ops, r->ptime) && r->ptime != s->send_ptime) {
                s->send_ptime = r->ptime;
                s->capture_fill = 0; /* a packet never spans two packet times */
        }
        stream_set_dtmf(s, r);
        if (r->address)
                k = set_string(&s->remote_address, r->address);
        if (k < 0)
                return k;
        if (r->has_port) {
                s->remote_port = r->port;
                s->remote_rtcp_port = r->port + 1;
        }
        if (r->has_rtcp_port)
                s->remote_rtcp_port = r->rtcp_port;
        k = parse_address(s, s->remote_address, s->remote_port, &s->remote_rtp, &s->remote_len);
        if (k >= 0)
                k = parse_address(s, s->remote_address, s->remote_rtcp_port, &s->remote_rtcp, &s->remote_len);
        if (k < 0)
                return k;
        if (r->direction)
                s->direction = stream_direction_from_string(r->direction);
        return 0;
}

static void stream_changed(Stream *s) {
        (void) bus_emit_properties_changed(s->manager->bus, s->path, MEDIA1_STREAM_IFACE, "State", "Codec",
                                           "RemoteAddress", "RemotePort", "Direction", "Encryption", NULL);
}

static StreamState state_for(StreamDirection d) {
        return d == STREAM_SENDRECV ? STREAM_RUNNING : STREAM_HELD;
}

int stream_start(Stream *s, const StreamRemote *r, BusError *error) {
        if (s->state != STREAM_CREATED)
                return bus_error_set(error, -EALREADY, "Stream %u is already %s", s->id,
                                     stream_state_to_string(s->state));
        int k = check_remote(s, r, true, error);
        if (k < 0)
                return k;
        s->ssrc = random_u32();
        s->seq = (uint16_t) random_u32();
        s->ts = random_u32();
        k = stream_apply_remote(s, r);
        if (k < 0)
                return bus_error_set(error, k, "Cannot start stream %u: %s", s->id, strerror(-k));
        k = stream_srtp_apply(s, r, error);
        if (k >= 0 && stream_dtmf_apply(s, r) < 0)
                k = bus_error_set(error, -ENOMEM, "No memory for in-band DTMF detection");
        if (k < 0)
                return k;
        s->state = state_for(s->direction);
        log_info("Stream %u: %s to %s port %u, payload type %u, %u ms, %s, %s", s->id, s->codec->ops->name,
                 s->remote_address, s->remote_port, s->send_pt, s->send_ptime,
                 stream_direction_to_string(s->direction), stream_srtp_encryption(s));
        stream_io_started(s);
        stream_changed(s);
        manager_update_audio(s->manager);
        return 0;
}

int stream_update(Stream *s, const StreamRemote *r, BusError *error) {
        if (!stream_is_active(s))
                return bus_error_set(error, -EBUSY, "Stream %u is %s, not started", s->id,
                                     stream_state_to_string(s->state));
        int k = check_remote(s, r, false, error);
        if (k < 0)
                return k;
        k = stream_apply_remote(s, r);
        if (k < 0)
                return bus_error_set(error, k, "Cannot update stream %u: %s", s->id, strerror(-k));
        k = stream_srtp_apply(s, r, error);
        if (k >= 0 && stream_dtmf_apply(s, r) < 0)
                k = bus_error_set(error, -ENOMEM, "No memory for in-band DTMF detection");
        if (k < 0)
                return k;
        s->state = state_for(s->direction);
        log_info("Stream %u updated: %s to %s port %u, %s, %s", s->id, s->codec->ops->name, s->remote_address,
                 s->remote_port, stream_direction_to_string(s->direction), stream_srtp_encryption(s));
        stream_changed(s);
        return 0;
}

int stream_hold(Stream *s, StreamDirection d, BusError *error) {
        if (!stream_is_active(s))
                return bus_error_set(error, -EBUSY, "Stream %u is %s, not started", s->id,
                                     stream_state_to_string(s->state));
        s->direction = d;
        s->state = state_for(d);
        if (d != STREAM_SENDRECV && d != STREAM_SENDONLY)
                dtmf_inband_tx_init(&s->inband_tx); /* digits queued for in-band die with the sending */
        stream_changed(s);
        return 0;
}

int stream_send_dtmf(Stream *s, const char *digits, BusError *error) {
        if (!dtmf_digits_valid(digits))
                return bus_error_set(error, -EINVAL, "Invalid DTMF digits (0-9 * # A-D, at most %d)",
                                     DTMF_QUEUE_MAX);
        if (s->state != STREAM_RUNNING || (s->direction != STREAM_SENDRECV && s->direction != STREAM_SENDONLY))
                return bus_error_set(error, -EBUSY, "Stream %u is %s, not sending", s->id,
                                     stream_state_to_string(s->state));
        if (s->dtmf_send_pt == 0)
                return bus_error_set(error, -EOPNOTSUPP, "The peer of stream %u takes no RFC 4733 events "
                                     "(no telephone-event in its SDP): send the digits as SIP INFO", s->id);
        int r = dtmf_sender_queue(&s->dtmf_tx, digits);
        if (r == -EBUSY)
                return bus_error_set(error, r, "Stream %u has %d digits queued already", s->id, DTMF_QUEUE_MAX);
        return r;
}

void stream_stop(Stream *s) {
        if (s->state != STREAM_STOPPED)
                stream_io_bye(s);
        s->state = STREAM_STOPPED;
        (void) bus_emit_properties_changed(s->manager->bus, s->path, MEDIA1_STREAM_IFACE, "State", NULL);
        bus_flush_properties_changed(s->manager->bus);
        log_info("Stream %u stopped", s->id);
}

/* ---- CreateStream's answer ---- */

static int append_entry(DBusMessageIter *dict, const char *key, int type, const void *value) {
        DBusMessageIter e;

        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
            !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key))
                return -ENOMEM;
        int r = bus_append_basic_variant(&e, type, value);
        if (r < 0)
                return r;
        return dbus_message_iter_close_container(dict, &e) ? 0 : -ENOMEM;
}

static int append_format(DBusMessageIter *array, const LocalFormat *f) {
        DBusMessageIter st;
        const char *name = f->ops ? f->ops->name : "telephone-event", *fmtp = f->ops ? f->ops->fmtp : "0-16";
        uint32_t pt = f->payload_type, rate = f->clock_rate, channels = f->ops ? f->ops->channels : 1;

        if (!dbus_message_iter_open_container(array, DBUS_TYPE_STRUCT, NULL, &st) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &name) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &pt) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &rate) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &channels) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &fmtp) ||
            !dbus_message_iter_close_container(array, &st))
                return -ENOMEM;
        return 0;
}

static int append_container_entry(DBusMessageIter *dict, const char *key, const char *sig, Stream *s,
                                  bool formats) {
        DBusMessageIter e, v, a;

        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
            !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) ||
            !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, sig, &v) ||
            !dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, sig + 1, &a))
                return -ENOMEM;
        for (size_t i = 0; formats && i < s->n_formats; i++)
                if (append_format(&a, &s->formats[i]) < 0)
                        return -ENOMEM;
        if (!formats && stream_srtp_append_crypto(s, &a) < 0)
                return -ENOMEM;
        if (!dbus_message_iter_close_container(&v, &a) || !dbus_message_iter_close_container(&e, &v) ||
            !dbus_message_iter_close_container(dict, &e))
                return -ENOMEM;
        return 0;
}

int stream_append_local(Stream *s, DBusMessageIter *iter) {
        DBusMessageIter dict;
        const char *path = s->path;
        uint32_t ptime = s->ptime;

        if (!dbus_message_iter_append_basic(iter, DBUS_TYPE_OBJECT_PATH, &path) ||
            !dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "{sv}", &dict))
                return -ENOMEM;
        int r = append_entry(&dict, "address", DBUS_TYPE_STRING, &s->local_address);
        if (r >= 0)
                r = append_entry(&dict, "port", DBUS_TYPE_UINT16, &s->local_port);
        if (r >= 0)
                r = append_container_entry(&dict, "codecs", "a(suuus)", s, true);
        if (r >= 0)
                r = append_entry(&dict, "ptime", DBUS_TYPE_UINT32, &ptime);
        if (r >= 0)
                r = append_container_entry(&dict, "crypto", "as", s, false);
        if (r < 0)
                return r;
        return dbus_message_iter_close_container(iter, &dict) ? 0 : -ENOMEM;
}
