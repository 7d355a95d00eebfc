/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.deskphone.Media1 and org.deskphone.Media1.Stream: method and property
 * tables, argument checks, then the domain (manager.c, stream.c). */
#include <arpa/inet.h>

#include "log.h"
#include "mediad.h"
#include "util.h"

/* ---- a{sv} parsing ---- */

typedef int (*EntryHandler)(const char *key, DBusMessageIter *v, void *userdata, BusError *error);

typedef struct DictField {
        const char *key;
        const char *signature;
} DictField;

/* Check each entry's key and type against fields, then hand it to handler. */
static int parse_dict(DBusMessage *m, const DictField *fields, size_t n, const char *what, EntryHandler handler,
                      void *userdata, BusError *error) {
        DBusMessageIter iter, array;

        dbus_message_iter_init(m, &iter);
        dbus_message_iter_recurse(&iter, &array);
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&array)) {
                DBusMessageIter entry, v;
                const char *key;
                size_t i;

                dbus_message_iter_recurse(&array, &entry);
                dbus_message_iter_get_basic(&entry, &key);
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &v);
                _cleanup_(freep) char *sig = dbus_message_iter_get_signature(&v);
                if (!sig)
                        return -ENOMEM;
                for (i = 0; i < n && !streq(fields[i].key, key); i++)
                        ;
                if (i == n)
                        return bus_error_set(error, -EINVAL, "Unknown %s '%s'", what, key);
                if (!streq(fields[i].signature, sig))
                        return bus_error_set(error, -EINVAL, "%s '%s' must be of type '%s', got '%s'", what, key,
                                             fields[i].signature, sig);
                int r = handler(key, &v, userdata, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- CreateStream ---- */

static const DictField option_fields[] = {
        { "account", "u" }, { "codecs", "as" }, { "ptime", "u" },         { "srtp", "s" },
        { "family", "s" },  { "bind", "s" },   { "rtcp_interval", "u" },
};

static int option_codecs(DBusMessageIter *v, StreamOptions *o, BusError *error) {
        DBusMessageIter a;

        dbus_message_iter_recurse(v, &a);
        for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRING; dbus_message_iter_next(&a)) {
                const char *name;
                dbus_message_iter_get_basic(&a, &name);
                if (strcasecmp(name, "telephone-event") == 0)
                        continue; /* offered from the account's dtmf.type */
                const CodecOps *c = codec_find(name);
                if (!c)
                        return bus_error_set(error, -EINVAL, "Unknown codec '%s' (mediad has PCMU, PCMA, G722, opus)",
                                             name);
                bool dup = false;
                for (size_t i = 0; i < o->n_codecs; i++)
                        dup = dup || o->codecs[i] == c;
                if (!dup && o->n_codecs < MEDIAD_CODECS_MAX)
                        o->codecs[o->n_codecs++] = c;
        }
        if (o->n_codecs == 0)
                return bus_error_set(error, -EINVAL, "Option 'codecs' names no audio codec");
        return 0;
}

static int option_string(const char *key, const char *v, StreamOptions *o, BusError *error) {
        if (streq(key, "srtp")) {
                o->srtp = srtp_mode_from_string(v);
                if (o->srtp < 0)
                        return bus_error_set(error, -EINVAL, "Option 'srtp' must be off, optional or compulsory, "
                                             "got '%s'", v);
        } else if (streq(key, "family")) {
                if (!streq(v, "ipv4") && !streq(v, "ipv6"))
                        return bus_error_set(error, -EINVAL, "Option 'family' must be ipv4 or ipv6, got '%s'", v);
                o->family = streq(v, "ipv6") ? AF_INET6 : AF_INET;
                o->family_given = true;
        } else if (streq(key, "bind"))
                o->bind = v;
        return 0;
}

static int option_entry(const char *key, DBusMessageIter *v, void *userdata, BusError *error) {
        StreamOptions *o = userdata;
        uint32_t u;
        const char *str;

        if (streq(key, "codecs"))
                return option_codecs(v, o, error);
        if (dbus_message_iter_get_arg_type(v) == DBUS_TYPE_STRING) {
                dbus_message_iter_get_basic(v, &str);
                return option_string(key, str, o, error);
        }
        dbus_message_iter_get_basic(v, &u);
        if (streq(key, "account"))
                o->account = u;
        else if (streq(key, "ptime")) {
                if (u < 10 || u > STREAM_PTIME_MAX || u % 10 != 0)
                        return bus_error_set(error, -EINVAL, "Option 'ptime' must be 10..60 ms in steps of 10");
                o->ptime = u;
        } else if (streq(key, "rtcp_interval")) {
                if (u < 100 || u > 60000)
                        return bus_error_set(error, -EINVAL, "Option 'rtcp_interval' must be 100..60000 ms");
                o->rtcp_interval_ms = u;
        }
        return 0;
}

static int options_check_bind(StreamOptions *o, BusError *error) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (!o->bind)
                return 0;
        if (!o->family_given && strchr(o->bind, ':'))
                o->family = AF_INET6;
        if (inet_pton(o->family, o->bind, buf) != 1)
                return bus_error_set(error, -EINVAL, "Option 'bind' must be an %s address, got '%s'",
                                     o->family == AF_INET6 ? "IPv6" : "IPv4", o->bind);
        return 0;
}

static int method_create_stream(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Manager *mgr = userdata;
        StreamOptions o = { .family = AF_INET };
        Stream *s;

        int r = parse_dict(m, option_fields, ELEMENTSOF(option_fields), "option", option_entry, &o, error);
        if (r < 0)
                return r;
        r = options_check_bind(&o, error);
        if (r < 0)
                return r;
        r = stream_new(mgr, dbus_message_get_sender(m), &o, &s, error);
        if (r < 0)
                return r;

        DBusMessage *reply = dbus_message_new_method_return(m);
        DBusMessageIter iter;
        if (!reply) {
                stream_free(s);
                return -ENOMEM;
        }
        dbus_message_iter_init_append(reply, &iter);
        r = stream_append_local(s, &iter);
        if (r >= 0)
                r = bus_reply_message(bus, reply);
        dbus_message_unref(reply);
        if (r < 0)
                stream_free(s);
        return r;
}

/* ---- tones ---- */

static int method_play_tone(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        const char *name;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                return -EINVAL;
        ToneId id = tone_id_from_string(name);
        if (id < 0)
                return bus_error_set(error, -EINVAL, "Unknown tone '%s' (dial, ringback, busy, congestion, "
                                     "call-waiting, ...)", name);
        int r = manager_play_tone(userdata, id, error);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_stop_tone(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        manager_stop_tone(userdata);
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

/* ---- manager properties ---- */

static int append_string(DBusMessageIter *iter, const char *s) {
        s = strempty(s);
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_STRING, &s) ? 0 : -ENOMEM;
}

static int append_u32(DBusMessageIter *iter, uint32_t v) {
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT32, &v) ? 0 : -ENOMEM;
}

static int append_u64(DBusMessageIter *iter, uint64_t v) {
        dbus_uint64_t u = v;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT64, &u) ? 0 : -ENOMEM;
}

static int get_volume(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *m = userdata;
        return append_u32(iter, m->volume);
}

static int set_volume(Bus *bus, DBusMessageIter *iter, void *userdata, BusError *error) {
        uint32_t v;
        dbus_message_iter_get_basic(iter, &v);
        if (v > VOLUME_MAX)
                return bus_error_set(error, -EINVAL, "Volume must be 0..%d, got %u", VOLUME_MAX, v);
        return manager_set_volume(userdata, v);
}

static int get_mute(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *m = userdata;
        dbus_bool_t b = m->mute;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_BOOLEAN, &b) ? 0 : -ENOMEM;
}

static int set_mute(Bus *bus, DBusMessageIter *iter, void *userdata, BusError *error) {
        dbus_bool_t b;
        dbus_message_iter_get_basic(iter, &b);
        return manager_set_mute(userdata, b);
}

static int get_route(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *m = userdata;
        return append_string(iter, audio_route_to_string(m->route));
}

static int set_route(Bus *bus, DBusMessageIter *iter, void *userdata, BusError *error) {
        const char *v;
        dbus_message_iter_get_basic(iter, &v);
        AudioRoute r = audio_route_from_string(v);
        if (r < 0)
                return bus_error_set(error, -EINVAL, "Route must be handset, headset or speaker, got '%s'", v);
        return manager_set_route(userdata, r, error);
}

static int get_routes(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *m = userdata;
        DBusMessageIter a;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "s", &a))
                return -ENOMEM;
        for (int i = 0; i < _AUDIO_ROUTE_MAX; i++)
                if (m->board->routes[i].present && append_string(&a, audio_route_to_string(i)) < 0)
                        return -ENOMEM;
        return dbus_message_iter_close_container(iter, &a) ? 0 : -ENOMEM;
}

static int get_board(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *m = userdata;
        return append_string(iter, m->board->name);
}

static int get_tone(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *m = userdata;
        return append_string(iter, m->tone_playing ? tone_id_to_string(m->tone_id) : "");
}

static int get_playback_device(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, manager_playback_device(userdata));
}

static int get_capture_device(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, manager_capture_device(userdata));
}

static int get_audio_active(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *m = userdata;
        dbus_bool_t b = !!m->audio;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_BOOLEAN, &b) ? 0 : -ENOMEM;
}

static const BusMethod media1_methods[] = {
        { "CreateStream", "a{sv}", "options", "oa{sv}", "stream,local", method_create_stream },
        { "PlayTone", "s", "tone", "", "", method_play_tone },
        { "StopTone", "", "", "", "", method_stop_tone },
        {}
};

static const BusProperty media1_properties[] = {
        { "Volume", "u", get_volume, set_volume, true },
        { "Mute", "b", get_mute, set_mute, true },
        { "Route", "s", get_route, set_route, true },
        { "Routes", "as", get_routes, NULL, true },
        { "Board", "s", get_board, NULL, true },
        { "Tone", "s", get_tone, NULL, true },
        { "PlaybackDevice", "s", get_playback_device, NULL, true },
        { "CaptureDevice", "s", get_capture_device, NULL, true },
        { "AudioActive", "b", get_audio_active, NULL, true },
        {}
};

const BusInterface media1_interface = {
        .name = MEDIA1_IFACE,
        .methods = media1_methods,
        .properties = media1_properties,
        .signals = (const BusSignal[]) { {} },
};

/* ---- Stream: remote parameters ---- */

static const DictField remote_fields[] = {
        { "address", "s" },      { "port", "q" },      { "rtcp_port", "q" },        { "codec", "s" },
        { "payload_type", "u" }, { "clock_rate", "u" }, { "channels", "u" },        { "fmtp", "s" },
        { "ptime", "u" },        { "direction", "s" }, { "dtmf_payload_type", "u" }, { "crypto", "s" },
        { "local_crypto", "s" }, { "dtmf_inband_detect", "b" },
};

static int remote_entry(const char *key, DBusMessageIter *v, void *userdata, BusError *error) {
        StreamRemote *r = userdata;
        int type = dbus_message_iter_get_arg_type(v);
        const char *str = NULL;
        uint32_t u = 0;
        uint16_t q = 0;
        dbus_bool_t b = false;

        if (type == DBUS_TYPE_STRING)
                dbus_message_iter_get_basic(v, &str);
        else if (type == DBUS_TYPE_UINT16)
                dbus_message_iter_get_basic(v, &q);
        else if (type == DBUS_TYPE_BOOLEAN)
                dbus_message_iter_get_basic(v, &b);
        else
                dbus_message_iter_get_basic(v, &u);

        if (streq(key, "address"))
                r->address = str;
        else if (streq(key, "codec"))
                r->codec = str;
        else if (streq(key, "fmtp"))
                r->fmtp = str;
        else if (streq(key, "direction"))
                r->direction = str;
        else if (streq(key, "crypto"))
                r->crypto = str;
        else if (streq(key, "local_crypto"))
                r->local_crypto = str;
        else if (streq(key, "port"))
                r->port = q, r->has_port = true;
        else if (streq(key, "rtcp_port"))
                r->rtcp_port = q, r->has_rtcp_port = true;
        else if (streq(key, "payload_type"))
                r->payload_type = u, r->has_payload_type = true;
        else if (streq(key, "clock_rate"))
                r->clock_rate = u, r->has_clock_rate = true;
        else if (streq(key, "channels"))
                r->channels = u, r->has_channels = true;
        else if (streq(key, "ptime"))
                r->ptime = u, r->has_ptime = true;
        else if (streq(key, "dtmf_payload_type"))
                r->dtmf_payload_type = u, r->has_dtmf = true;
        else if (streq(key, "dtmf_inband_detect"))
                r->inband_detect = b, r->has_inband_detect = true;
        return 0;
}

static int parse_remote(DBusMessage *m, StreamRemote *ret, BusError *error) {
        *ret = (StreamRemote) {};
        return parse_dict(m, remote_fields, ELEMENTSOF(remote_fields), "remote parameter", remote_entry, ret, error);
}

static int method_start(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        StreamRemote rem;

        int r = parse_remote(m, &rem, error);
        if (r >= 0)
                r = stream_start(userdata, &rem, error);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_update(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        StreamRemote rem;

        int r = parse_remote(m, &rem, error);
        if (r >= 0)
                r = stream_update(userdata, &rem, error);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_hold(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        const char *direction;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &direction, DBUS_TYPE_INVALID))
                return -EINVAL;
        StreamDirection d = stream_direction_from_string(direction);
        if (d < 0)
                return bus_error_set(error, -EINVAL, "Invalid direction '%s' (sendrecv, sendonly, recvonly, "
                                     "inactive)", direction);
        int r = stream_hold(userdata, d, error);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_send_dtmf(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        const char *digits;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &digits, DBUS_TYPE_INVALID))
                return -EINVAL;
        int r = stream_send_dtmf(userdata, digits, error);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_send_dtmf_inband(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        const char *digits;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &digits, DBUS_TYPE_INVALID))
                return -EINVAL;
        int r = stream_send_dtmf_inband(userdata, digits, error);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_new_keys(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Stream *s = userdata;
        DBusMessageIter iter, array;

        int r = stream_srtp_new_keys(s, error);
        if (r < 0)
                return r;
        DBusMessage *reply = dbus_message_new_method_return(m);
        if (!reply)
                return -ENOMEM;
        dbus_message_iter_init_append(reply, &iter);
        if (!dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &array))
                r = -ENOMEM;
        if (r >= 0) {
                r = stream_srtp_append_crypto(s, &array);
                if (r < 0)
                        dbus_message_iter_abandon_container(&iter, &array);
        }
        if (r >= 0 && !dbus_message_iter_close_container(&iter, &array))
                r = -ENOMEM;
        if (r >= 0)
                r = bus_reply_message(bus, reply);
        dbus_message_unref(reply);
        return r;
}

static int method_stop(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Stream *s = userdata;

        stream_stop(s);
        int r = bus_reply(bus, m, DBUS_TYPE_INVALID);
        stream_free(s);
        return r;
}

/* ---- Stream: properties ---- */

static int get_state(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, stream_state_to_string(s->state));
}

static int get_codec(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, s->codec ? s->codec->ops->name : "");
}

static int get_local_address(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, s->local_address);
}

static int get_local_port(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT16, &s->local_port) ? 0 : -ENOMEM;
}

static int get_remote_address(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, s->remote_address);
}

static int get_remote_port(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT16, &s->remote_port) ? 0 : -ENOMEM;
}

static int get_direction(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, stream_direction_to_string(s->direction));
}

#define STATS_GETTER(fn, append, field)                                         \
        static int fn(Bus *bus, DBusMessageIter *iter, void *userdata) {        \
                StreamStats st;                                                 \
                stream_get_stats(userdata, &st);                                \
                return append(iter, st.field);                                  \
        }

static int append_double(DBusMessageIter *iter, double d) {
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_DOUBLE, &d) ? 0 : -ENOMEM;
}

STATS_GETTER(get_packets_sent, append_u64, packets_sent)
STATS_GETTER(get_packets_received, append_u64, packets_received)
STATS_GETTER(get_packets_lost, append_u64, packets_lost)
STATS_GETTER(get_jitter, append_u32, jitter_usec)
STATS_GETTER(get_round_trip, append_u32, round_trip_usec)
STATS_GETTER(get_mos, append_double, mos)
STATS_GETTER(get_remote_packets_lost, append_u64, remote_packets_lost)
STATS_GETTER(get_remote_jitter, append_u32, remote_jitter_usec)
STATS_GETTER(get_srtp_auth_failures, append_u64, srtp_auth_failures)
STATS_GETTER(get_srtp_replays, append_u64, srtp_replays)
STATS_GETTER(get_srtcp_auth_failures, append_u64, srtcp_auth_failures)
STATS_GETTER(get_srtcp_replays, append_u64, srtcp_replays)

static int get_encryption(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, stream_srtp_encryption(userdata));
}

static const BusMethod stream_methods[] = {
        { "Start", "a{sv}", "remote", "", "", method_start },
        { "Update", "a{sv}", "remote", "", "", method_update },
        { "Hold", "s", "direction", "", "", method_hold },
        { "SendDtmf", "s", "digits", "", "", method_send_dtmf },
        { "SendDtmfInband", "s", "digits", "", "", method_send_dtmf_inband },
        { "NewKeys", "", "", "as", "crypto", method_new_keys },
        { "Stop", "", "", "", "", method_stop },
        {}
};

static const BusProperty stream_properties[] = {
        { "State", "s", get_state, NULL, true },
        { "Codec", "s", get_codec, NULL, true },
        { "LocalAddress", "s", get_local_address, NULL, true },
        { "LocalPort", "q", get_local_port, NULL, true },
        { "RemoteAddress", "s", get_remote_address, NULL, true },
        { "RemotePort", "q", get_remote_port, NULL, true },
        { "Direction", "s", get_direction, NULL, true },
        { "PacketsSent", "t", get_packets_sent, NULL, true },
        { "PacketsReceived", "t", get_packets_received, NULL, true },
        { "PacketsLost", "t", get_packets_lost, NULL, true },
        { "Jitter", "u", get_jitter, NULL, true },
        { "RoundTrip", "u", get_round_trip, NULL, true },
        { "MOS", "d", get_mos, NULL, true },
        { "RemotePacketsLost", "t", get_remote_packets_lost, NULL, true },
        { "RemoteJitter", "u", get_remote_jitter, NULL, true },
        { "Encryption", "s", get_encryption, NULL, true },
        { "SrtpAuthFailures", "t", get_srtp_auth_failures, NULL, true },
        { "SrtpReplays", "t", get_srtp_replays, NULL, true },
        { "SrtcpAuthFailures", "t", get_srtcp_auth_failures, NULL, true },
        { "SrtcpReplays", "t", get_srtcp_replays, NULL, true },
        {}
};

static const BusSignal stream_signals[] = {
        { "DtmfReceived", "su", "digit,duration_ms" },
        {}
};

const BusInterface media1_stream_interface = {
        .name = MEDIA1_STREAM_IFACE,
        .methods = stream_methods,
        .properties = stream_properties,
        .signals = stream_signals,
};
