/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.deskphone.Media1.Stream of the fake: real sockets, no audio. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fake-media1.h"
#include "log.h"
#include "util.h"

#define PORT_TRIES 64
#define DTMF_DIGITS_MAX 64

static const char * const stream_state_table[] = {
        [STREAM_CREATED] = "created",
        [STREAM_RUNNING] = "running",
        [STREAM_HELD] = "held",
        [STREAM_STOPPED] = "stopped",
};

const char *stream_state_to_string(StreamState s) {
        return stream_state_table[s];
}

/* ---- sockets ---- */

static int sockaddr_fill(const char *address, uint16_t port, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage sa = {};
        struct sockaddr_in *in = (struct sockaddr_in *) &sa;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa;

        if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                *ret_len = sizeof(*in);
        } else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                *ret_len = sizeof(*in6);
        } else
                return -EINVAL;
        *ret = sa;
        return 0;
}

static int bind_udp(const char *address, uint16_t port, int *ret_fd, uint16_t *ret_port) {
        struct sockaddr_storage sa;
        socklen_t len;

        int r = sockaddr_fill(address, port, &sa, &len);
        if (r < 0)
                return r;
        _cleanup_(closep) int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, len) < 0)
                return -errno;
        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return -errno;
        if (ret_port)
                *ret_port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *) &sa)->sin_port
                                                          : ((struct sockaddr_in6 *) &sa)->sin6_port);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* An even RTP port and RTCP on the next one, both bound, so both are really ours. */
static int bind_pair(const char *address, int *ret_rtp, int *ret_rtcp, uint16_t *ret_port) {
        for (unsigned i = 0; i < PORT_TRIES; i++) {
                _cleanup_(closep) int a = -1, b = -1;
                uint16_t port;

                int r = bind_udp(address, 0, &a, &port);
                if (r < 0)
                        return r;
                bool even = port % 2 == 0;
                if (even && port == 65534)
                        continue;
                r = bind_udp(address, even ? port + 1 : port - 1, &b, NULL);
                if (r == -EADDRINUSE)
                        continue;
                if (r < 0)
                        return r;
                *ret_rtp = even ? TAKE_FD(a) : TAKE_FD(b);
                *ret_rtcp = even ? TAKE_FD(b) : TAKE_FD(a);
                *ret_port = even ? port : port - 1;
                return 0;
        }
        return -EADDRINUSE;
}

/* ---- life cycle ---- */

static int stream_register(Stream *s);

int stream_new(Fake *f, const char *address, Stream **ret) {
        size_t slot = 0;

        while (slot < FAKE_STREAMS_MAX && f->streams[slot])
                slot++;
        if (slot == FAKE_STREAMS_MAX)
                return -EBUSY;

        _cleanup_(stream_freep) Stream *s = calloc(1, sizeof(Stream));
        if (!s)
                return -ENOMEM;
        s->rtp_fd = s->rtcp_fd = -1;
        s->fake = f;
        s->id = ++f->next_id;
        snprintf(s->path, sizeof(s->path), MEDIA1_PATH "/stream/%u", s->id);
        s->local_address = strdup(address);
        s->direction = strdup("sendrecv");
        if (!s->local_address || !s->direction)
                return -ENOMEM;

        int r = bind_pair(address, &s->rtp_fd, &s->rtcp_fd, &s->local_port);
        if (r < 0)
                return r;
        r = stream_register(s);
        if (r < 0)
                return r;
        f->streams[slot] = s;
        *ret = TAKE_PTR(s);
        return 0;
}

Stream *stream_free(Stream *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < FAKE_STREAMS_MAX; i++)
                if (s->fake->streams[i] == s) {
                        s->fake->streams[i] = NULL;
                        (void) bus_remove_object(s->fake->bus, s->path, &fake_stream_interface);
                }
        closep(&s->rtp_fd);
        closep(&s->rtcp_fd);
        free(s->local_address);
        free(s->codec);
        free(s->remote_address);
        free(s->direction);
        free(s);
        return NULL;
}

static int stream_register(Stream *s) {
        return bus_add_object(s->fake->bus, s->path, &fake_stream_interface, s);
}

static int set_string(char **field, const char *value) {
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* ---- CreateStream's answer ---- */

static int append_codec(DBusMessageIter *array, const Codec *c) {
        DBusMessageIter st;

        if (!dbus_message_iter_open_container(array, DBUS_TYPE_STRUCT, NULL, &st) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &c->name) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &c->payload_type) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &c->clock_rate) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &c->channels) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &c->fmtp) ||
            !dbus_message_iter_close_container(array, &st))
                return -ENOMEM;
        return 0;
}

static int append_entry_begin(DBusMessageIter *dict, const char *key, const char *sig, DBusMessageIter *entry,
                              DBusMessageIter *v) {
        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, entry) ||
            !dbus_message_iter_append_basic(entry, DBUS_TYPE_STRING, &key) ||
            !dbus_message_iter_open_container(entry, DBUS_TYPE_VARIANT, sig, v))
                return -ENOMEM;
        return 0;
}

static int append_entry_end(DBusMessageIter *dict, DBusMessageIter *entry, DBusMessageIter *v) {
        if (!dbus_message_iter_close_container(entry, v) || !dbus_message_iter_close_container(dict, entry))
                return -ENOMEM;
        return 0;
}

static int append_basic_entry(DBusMessageIter *dict, const char *key, int type, const void *value) {
        DBusMessageIter entry;

        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
            !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key))
                return -ENOMEM;
        int r = bus_append_basic_variant(&entry, type, value);
        if (r < 0)
                return r;
        return dbus_message_iter_close_container(dict, &entry) ? 0 : -ENOMEM;
}

static int append_codecs_entry(DBusMessageIter *dict, Stream *s) {
        DBusMessageIter entry, v, array;

        int r = append_entry_begin(dict, "codecs", "a(suuus)", &entry, &v);
        if (r < 0)
                return r;
        if (!dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "(suuus)", &array))
                return -ENOMEM;
        for (size_t i = 0; i < s->n_codecs; i++) {
                r = append_codec(&array, s->codecs[i]);
                if (r < 0)
                        return r;
        }
        if (!dbus_message_iter_close_container(&v, &array))
                return -ENOMEM;
        return append_entry_end(dict, &entry, &v);
}

static int append_crypto_entry(DBusMessageIter *dict) {
        DBusMessageIter entry, v, array;

        int r = append_entry_begin(dict, "crypto", "as", &entry, &v);
        if (r < 0)
                return r;
        if (!dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &array) ||
            !dbus_message_iter_close_container(&v, &array))
                return -ENOMEM;
        return append_entry_end(dict, &entry, &v);
}

int stream_append_local(Stream *s, DBusMessageIter *iter) {
        DBusMessageIter dict;
        const char *path = s->path;

        if (!dbus_message_iter_append_basic(iter, DBUS_TYPE_OBJECT_PATH, &path) ||
            !dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "{sv}", &dict))
                return -ENOMEM;
        int r = append_basic_entry(&dict, "address", DBUS_TYPE_STRING, &s->local_address);
        if (r >= 0)
                r = append_basic_entry(&dict, "port", DBUS_TYPE_UINT16, &s->local_port);
        if (r >= 0)
                r = append_codecs_entry(&dict, s);
        if (r >= 0)
                r = append_basic_entry(&dict, "ptime", DBUS_TYPE_UINT32, &s->ptime);
        if (r >= 0)
                r = append_crypto_entry(&dict);
        if (r < 0)
                return r;
        return dbus_message_iter_close_container(iter, &dict) ? 0 : -ENOMEM;
}

/* ---- remote parameters (Start, Update) ---- */

typedef struct Remote {
        const char *address;
        const char *codec;
        const char *direction;
        uint16_t port;
        uint32_t payload_type;
        bool has_port;
        bool has_payload_type;
} Remote;

static const struct {
        const char *key;
        const char *signature;
} remote_fields[] = {
        { "address", "s" },   { "port", "q" },      { "rtcp_port", "q" },         { "codec", "s" },
        { "payload_type", "u" }, { "clock_rate", "u" }, { "channels", "u" },     { "fmtp", "s" },
        { "ptime", "u" },     { "direction", "s" }, { "dtmf_payload_type", "u" }, { "crypto", "s" },
        { "dtmf_inband_detect", "b" },
};

static bool direction_is_valid(const char *d) {
        return streq(d, "sendrecv") || streq(d, "sendonly") || streq(d, "recvonly") || streq(d, "inactive");
}

static int remote_store(Remote *rem, const char *key, DBusMessageIter *v) {
        if (streq(key, "address"))
                dbus_message_iter_get_basic(v, &rem->address);
        else if (streq(key, "codec"))
                dbus_message_iter_get_basic(v, &rem->codec);
        else if (streq(key, "direction"))
                dbus_message_iter_get_basic(v, &rem->direction);
        else if (streq(key, "port")) {
                dbus_message_iter_get_basic(v, &rem->port);
                rem->has_port = true;
        } else if (streq(key, "payload_type")) {
                dbus_message_iter_get_basic(v, &rem->payload_type);
                rem->has_payload_type = true;
        }
        return 0;
}

static int remote_entry(Remote *rem, DBusMessageIter *entry, BusError *error) {
        DBusMessageIter v;
        const char *key;

        dbus_message_iter_get_basic(entry, &key);
        dbus_message_iter_next(entry);
        dbus_message_iter_recurse(entry, &v);
        _cleanup_(freep) char *sig = dbus_message_iter_get_signature(&v);
        if (!sig)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(remote_fields); i++) {
                if (!streq(remote_fields[i].key, key))
                        continue;
                if (!streq(remote_fields[i].signature, sig))
                        return bus_error_set(error, -EINVAL, "Remote parameter '%s' must be of type '%s', got '%s'",
                                             key, remote_fields[i].signature, sig);
                return remote_store(rem, key, &v);
        }
        return bus_error_set(error, -EINVAL, "Unknown remote parameter '%s'", key);
}

static int remote_validate(const Remote *rem, bool start, BusError *error) {
        struct sockaddr_storage sa;
        socklen_t len;

        if (start && (!rem->address || !rem->has_port))
                return bus_error_set(error, -EINVAL, "Start needs the remote 'address' and 'port'");
        if (start && !rem->codec && !rem->has_payload_type)
                return bus_error_set(error, -EINVAL, "Start needs the remote 'codec' or 'payload_type'");
        if (rem->address && sockaddr_fill(rem->address, 0, &sa, &len) < 0)
                return bus_error_set(error, -EINVAL, "Remote address '%s' is not an IP address", rem->address);
        if (rem->has_port && rem->port == 0)
                return bus_error_set(error, -EINVAL, "Remote port 0");
        if (rem->codec && !codec_find(rem->codec))
                return bus_error_set(error, -EINVAL, "Unknown codec '%s'", rem->codec);
        if (!rem->codec && rem->has_payload_type && !codec_find_payload_type(rem->payload_type))
                return bus_error_set(error, -EINVAL, "Unknown payload type %u without a codec name",
                                     rem->payload_type);
        if (rem->direction && !direction_is_valid(rem->direction))
                return bus_error_set(error, -EINVAL, "Invalid direction '%s'", rem->direction);
        return 0;
}

static int remote_parse(DBusMessage *m, bool start, Remote *ret, BusError *error) {
        DBusMessageIter iter, array;
        Remote rem = {};

        dbus_message_iter_init(m, &iter);
        dbus_message_iter_recurse(&iter, &array);
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&array)) {
                DBusMessageIter entry;
                dbus_message_iter_recurse(&array, &entry);
                int r = remote_entry(&rem, &entry, error);
                if (r < 0)
                        return r;
        }
        int r = remote_validate(&rem, start, error);
        if (r < 0)
                return r;
        *ret = rem;
        return 0;
}

static int stream_apply_remote(Stream *s, const Remote *rem) {
        const char *codec = rem->codec;
        int r = 0;

        if (!codec && rem->has_payload_type)
                codec = codec_find_payload_type(rem->payload_type)->name;
        if (rem->address)
                r = set_string(&s->remote_address, rem->address);
        if (r >= 0 && codec)
                r = set_string(&s->codec, codec);
        if (r >= 0 && rem->direction)
                r = set_string(&s->direction, rem->direction);
        if (r < 0)
                return r;
        if (rem->has_port)
                s->remote_port = rem->port;
        return bus_emit_properties_changed(s->fake->bus, s->path, MEDIA1_STREAM_IFACE, "State", "Codec",
                                           "RemoteAddress", "RemotePort", "Direction", NULL);
}

static void log_call(Stream *s, DBusMessage *m, const char *member) {
        DBusMessageIter iter;
        _cleanup_(freep) char *args = NULL;

        if (dbus_message_iter_init(m, &iter))
                args = fake_format_dict(&iter);
        fake_log(s->fake, "%s stream/%u%s%s", member, s->id, args && *args ? " " : "", strempty(args));
}

/* ---- methods ---- */

static int method_start(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Stream *s = userdata;
        Remote rem;

        log_call(s, m, "Start");
        if (s->state != STREAM_CREATED)
                return bus_error_set(error, -EALREADY, "Stream %u is already %s", s->id,
                                     stream_state_to_string(s->state));
        if (s->fake->faults.start_fails)
                return bus_error_set(error, -EIO, "Injected fault: start-fails");
        int r = remote_parse(m, true, &rem, error);
        if (r < 0)
                return r;
        s->state = STREAM_RUNNING;
        r = stream_apply_remote(s, &rem);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_update(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Stream *s = userdata;
        Remote rem;

        log_call(s, m, "Update");
        if (s->state != STREAM_RUNNING && s->state != STREAM_HELD)
                return bus_error_set(error, -EBUSY, "Stream %u is %s, not started", s->id,
                                     stream_state_to_string(s->state));
        int r = remote_parse(m, false, &rem, error);
        if (r < 0)
                return r;
        if (rem.direction)
                s->state = streq(rem.direction, "sendrecv") ? STREAM_RUNNING : STREAM_HELD;
        r = stream_apply_remote(s, &rem);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_hold(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Stream *s = userdata;
        const char *direction;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &direction, DBUS_TYPE_INVALID))
                return -EINVAL;
        fake_log(s->fake, "Hold stream/%u %s", s->id, direction);
        if (!direction_is_valid(direction))
                return bus_error_set(error, -EINVAL, "Invalid direction '%s'", direction);
        if (s->state != STREAM_RUNNING && s->state != STREAM_HELD)
                return bus_error_set(error, -EBUSY, "Stream %u is %s, not started", s->id,
                                     stream_state_to_string(s->state));
        int r = set_string(&s->direction, direction);
        if (r < 0)
                return r;
        s->state = streq(direction, "sendrecv") ? STREAM_RUNNING : STREAM_HELD;
        r = bus_emit_properties_changed(bus, s->path, MEDIA1_STREAM_IFACE, "State", "Direction", NULL);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static bool dtmf_is_valid(const char *digits) {
        size_t n = strlen(digits);
        return n > 0 && n <= DTMF_DIGITS_MAX && strspn(digits, "0123456789*#ABCD") == n;
}

/* SendDtmf and SendDtmfInband: logged, checked, nothing sent. */
static int send_dtmf(Bus *bus, DBusMessage *m, Stream *s, const char *member, BusError *error) {
        const char *digits;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &digits, DBUS_TYPE_INVALID))
                return -EINVAL;
        fake_log(s->fake, "%s stream/%u %s", member, s->id, digits);
        if (!dtmf_is_valid(digits))
                return bus_error_set(error, -EINVAL, "Invalid DTMF digits '%s' (0-9 * # A-D, at most %d)", digits,
                                     DTMF_DIGITS_MAX);
        if (s->state != STREAM_RUNNING)
                return bus_error_set(error, -EBUSY, "Stream %u is %s, not running", s->id,
                                     stream_state_to_string(s->state));
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_send_dtmf(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return send_dtmf(bus, m, userdata, "SendDtmf", error);
}

static int method_send_dtmf_inband(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return send_dtmf(bus, m, userdata, "SendDtmfInband", error);
}

static int method_stop(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Stream *s = userdata;

        fake_log(s->fake, "Stop stream/%u", s->id);
        s->state = STREAM_STOPPED;
        (void) bus_emit_properties_changed(bus, s->path, MEDIA1_STREAM_IFACE, "State", NULL);
        bus_flush_properties_changed(bus);
        int r = bus_reply(bus, m, DBUS_TYPE_INVALID);
        stream_free(s);
        return r;
}

/* Test hook: pretend the peer sent an RFC 4733 event. */
static int method_fake_receive_dtmf(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Stream *s = userdata;
        const char *digit;
        uint32_t duration;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &digit, DBUS_TYPE_UINT32, &duration,
                                   DBUS_TYPE_INVALID))
                return -EINVAL;
        if (strlen(digit) != 1 || !dtmf_is_valid(digit))
                return bus_error_set(error, -EINVAL, "Invalid DTMF digit '%s'", digit);
        int r = bus_emit_signal(bus, s->path, MEDIA1_STREAM_IFACE, "DtmfReceived", DBUS_TYPE_STRING, &digit,
                                DBUS_TYPE_UINT32, &duration, DBUS_TYPE_INVALID);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

/* ---- properties ---- */

static int append_string(DBusMessageIter *iter, const char *s) {
        s = strempty(s);
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_STRING, &s) ? 0 : -ENOMEM;
}

static int append_u16(DBusMessageIter *iter, uint16_t v) {
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT16, &v) ? 0 : -ENOMEM;
}

static int get_state(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, stream_state_to_string(s->state));
}

static int get_codec(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, s->codec);
}

static int get_local_port(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_u16(iter, s->local_port);
}

static int get_remote_address(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, s->remote_address);
}

static int get_remote_port(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_u16(iter, s->remote_port);
}

static int get_direction(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Stream *s = userdata;
        return append_string(iter, s->direction);
}

static int get_zero_u64(Bus *bus, DBusMessageIter *iter, void *userdata) {
        uint64_t zero = 0;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT64, &zero) ? 0 : -ENOMEM;
}

static int get_zero_u32(Bus *bus, DBusMessageIter *iter, void *userdata) {
        uint32_t zero = 0;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT32, &zero) ? 0 : -ENOMEM;
}

static const BusMethod stream_methods[] = {
        { "Start", "a{sv}", "remote", "", "", method_start },
        { "Update", "a{sv}", "remote", "", "", method_update },
        { "Hold", "s", "direction", "", "", method_hold },
        { "SendDtmf", "s", "digits", "", "", method_send_dtmf },
        { "SendDtmfInband", "s", "digits", "", "", method_send_dtmf_inband },
        { "Stop", "", "", "", "", method_stop },
        { "FakeReceiveDtmf", "su", "digit,duration_ms", "", "", method_fake_receive_dtmf },
        {}
};

static const BusProperty stream_properties[] = {
        { "State", "s", get_state, NULL, true },
        { "Codec", "s", get_codec, NULL, true },
        { "LocalPort", "q", get_local_port, NULL, true },
        { "RemoteAddress", "s", get_remote_address, NULL, true },
        { "RemotePort", "q", get_remote_port, NULL, true },
        { "Direction", "s", get_direction, NULL, true },
        { "PacketsSent", "t", get_zero_u64, NULL, false },
        { "PacketsReceived", "t", get_zero_u64, NULL, false },
        { "PacketsLost", "t", get_zero_u64, NULL, false },
        { "Jitter", "u", get_zero_u32, NULL, false },
        {}
};

static const BusSignal stream_signals[] = {
        { "DtmfReceived", "su", "digit,duration_ms" },
        {}
};

const BusInterface fake_stream_interface = {
        .name = MEDIA1_STREAM_IFACE,
        .methods = stream_methods,
        .properties = stream_properties,
        .signals = stream_signals,
};
