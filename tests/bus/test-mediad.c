/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.deskphone.Media1 through the real mediad (and provd) on a private bus:
 * two streams of one mediad talk to each other over 127.0.0.1; packets flow,
 * statistics change, RFC 4733 digits arrive, and a 1 kHz tone read from the
 * capture file comes out of the playback file at the same frequency and level
 * for every codec.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "bus.h"
#include "phone.h"
#include "util.h"

#define DEST "org.deskphone.Media1"
#define PATH "/org/deskphone/Media1"
#define IFACE "org.deskphone.Media1"
#define STREAM_IFACE "org.deskphone.Media1.Stream"
#define RATE 16000
#define TONE_HZ 1000.0
#define TONE_DBFS (-10.0)

static Phone *phone;
static char audio_dir[] = "/tmp/deskphone-mediad-XXXXXX";
static char in_path[256], out_path[256];

/* ---- helpers ---- */

static void append_entry(DBusMessageIter *dict, const char *key, int type, const void *value) {
        DBusMessageIter e;
        dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e);
        dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key);
        bus_append_basic_variant(&e, type, value);
        dbus_message_iter_close_container(dict, &e);
}

static void append_codecs(DBusMessageIter *dict, const char *codec) {
        DBusMessageIter e, v, a;
        const char *key = "codecs";
        dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e);
        dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key);
        dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "as", &v);
        dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &a);
        dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, &codec);
        dbus_message_iter_close_container(&v, &a);
        dbus_message_iter_close_container(&e, &v);
        dbus_message_iter_close_container(dict, &e);
}

/* CreateStream with bind 127.0.0.1, one codec (or an extra bad option); returns the reply or NULL. */
static DBusMessage *create(DBusConnection *c, const char *codec, const char *bad_key, DBusError *error) {
        DBusMessage *m = dbus_message_new_method_call(DEST, PATH, IFACE, "CreateStream");
        DBusMessageIter iter, dict;
        const char *bind = "127.0.0.1";
        uint32_t rtcp = 300;

        dbus_message_iter_init_append(m, &iter);
        dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict);
        append_entry(&dict, "bind", DBUS_TYPE_STRING, &bind);
        append_entry(&dict, "rtcp_interval", DBUS_TYPE_UINT32, &rtcp);
        if (codec)
                append_codecs(&dict, codec);
        if (bad_key)
                append_entry(&dict, bad_key, DBUS_TYPE_STRING, &bind);
        dbus_message_iter_close_container(&iter, &dict);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(c, m, 10000, error);
        dbus_message_unref(m);
        return reply;
}

typedef struct Local {
        char path[128];
        char address[64];
        uint16_t port;
        unsigned n_codecs;
        bool has_dtmf;
        uint32_t first_pt;
} Local;

static void read_codecs(DBusMessageIter *v, Local *l) {
        DBusMessageIter a, st;
        dbus_message_iter_recurse(v, &a);
        for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&a)) {
                const char *name;
                uint32_t pt;
                dbus_message_iter_recurse(&a, &st);
                dbus_message_iter_get_basic(&st, &name);
                dbus_message_iter_next(&st);
                dbus_message_iter_get_basic(&st, &pt);
                if (l->n_codecs++ == 0)
                        l->first_pt = pt;
                if (streq(name, "telephone-event"))
                        l->has_dtmf = true;
        }
}

static int create_stream(DBusConnection *c, const char *codec, Local *ret) {
        DBusError error = DBUS_ERROR_INIT;
        DBusMessage *reply = create(c, codec, NULL, &error);
        DBusMessageIter iter, dict;
        const char *path;
        Local l = {};

        if (!reply) {
                fprintf(stderr, "CreateStream: %s\n", error.message);
                dbus_error_free(&error);
                return -1;
        }
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_get_basic(&iter, &path);
        snprintf(l.path, sizeof(l.path), "%s", path);
        dbus_message_iter_next(&iter);
        dbus_message_iter_recurse(&iter, &dict);
        for (; dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&dict)) {
                DBusMessageIter e, v;
                const char *key, *s;
                dbus_message_iter_recurse(&dict, &e);
                dbus_message_iter_get_basic(&e, &key);
                dbus_message_iter_next(&e);
                dbus_message_iter_recurse(&e, &v);
                if (streq(key, "address")) {
                        dbus_message_iter_get_basic(&v, &s);
                        snprintf(l.address, sizeof(l.address), "%s", s);
                } else if (streq(key, "port"))
                        dbus_message_iter_get_basic(&v, &l.port);
                else if (streq(key, "codecs"))
                        read_codecs(&v, &l);
        }
        dbus_message_unref(reply);
        *ret = l;
        return 0;
}

/* Start (or Update) a stream towards port, with codec/payload type, dtmf pt and direction. */
static int start_stream(const char *path, const char *member, uint16_t port, const char *codec, uint32_t pt,
                        const char *direction, DBusError *error) {
        DBusMessage *m = dbus_message_new_method_call(DEST, path, STREAM_IFACE, member);
        DBusMessageIter iter, dict;
        const char *address = "127.0.0.1";
        uint32_t dtmf = 101;

        dbus_message_iter_init_append(m, &iter);
        dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict);
        append_entry(&dict, "address", DBUS_TYPE_STRING, &address);
        append_entry(&dict, "port", DBUS_TYPE_UINT16, &port);
        append_entry(&dict, "codec", DBUS_TYPE_STRING, &codec);
        append_entry(&dict, "payload_type", DBUS_TYPE_UINT32, &pt);
        append_entry(&dict, "dtmf_payload_type", DBUS_TYPE_UINT32, &dtmf);
        if (direction)
                append_entry(&dict, "direction", DBUS_TYPE_STRING, &direction);
        dbus_message_iter_close_container(&iter, &dict);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(phone->conn, m, 10000, error);
        dbus_message_unref(m);
        if (!reply)
                return -1;
        dbus_message_unref(reply);
        return 0;
}

static DBusMessage *get_property(const char *path, const char *iface, const char *name) {
        DBusError error = DBUS_ERROR_INIT;
        DBusMessage *reply = phone_call(phone->conn, DEST, path, "org.freedesktop.DBus.Properties", "Get", &error,
                                        DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID);
        dbus_error_free(&error);
        return reply;
}

/* A numeric property (t, u, q or d) as a double; NAN when it cannot be read. */
static double get_number(const char *path, const char *name) {
        DBusMessage *reply = get_property(path, STREAM_IFACE, name);
        DBusMessageIter iter, v;
        double d = NAN;

        if (!reply)
                return NAN;
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &v);
        switch (dbus_message_iter_get_arg_type(&v)) {
        case DBUS_TYPE_UINT64: {
                dbus_uint64_t u;
                dbus_message_iter_get_basic(&v, &u);
                d = (double) u;
                break;
        }
        case DBUS_TYPE_UINT32: {
                uint32_t u;
                dbus_message_iter_get_basic(&v, &u);
                d = u;
                break;
        }
        case DBUS_TYPE_UINT16: {
                uint16_t u;
                dbus_message_iter_get_basic(&v, &u);
                d = u;
                break;
        }
        case DBUS_TYPE_DOUBLE:
                dbus_message_iter_get_basic(&v, &d);
                break;
        }
        dbus_message_unref(reply);
        return d;
}

static bool get_string_is(const char *path, const char *iface, const char *name, const char *expected) {
        DBusMessage *reply = get_property(path, iface, name);
        DBusMessageIter iter, v;
        const char *s = NULL;

        if (!reply)
                return false;
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &v);
        if (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_STRING)
                dbus_message_iter_get_basic(&v, &s);
        bool ok = s && streq(s, expected);
        if (!ok)
                fprintf(stderr, "  %s.%s = '%s', expected '%s'\n", path, name, strempty(s), expected);
        dbus_message_unref(reply);
        return ok;
}

/* Wait (on PropertiesChanged, which stats send once a second) until name >= min. */
static bool wait_number(const char *path, const char *name, double min, int timeout_ms) {
        uint64_t deadline = now_usec() + (uint64_t) timeout_ms * 1000;
        for (;;) {
                double v = get_number(path, name);
                if (v >= min)
                        return true;
                if (now_usec() >= deadline) {
                        fprintf(stderr, "  %s.%s = %g, expected >= %g\n", path, name, v, min);
                        return false;
                }
                DBusMessage *m = phone_wait_signal(phone->conn, "org.freedesktop.DBus.Properties",
                                                   "PropertiesChanged", 1200);
                if (m)
                        dbus_message_unref(m);
        }
}

static int call_simple(const char *path, const char *member, DBusError *error, int first_type, ...) {
        DBusMessage *m = dbus_message_new_method_call(DEST, path, STREAM_IFACE, member);
        va_list ap;
        va_start(ap, first_type);
        dbus_message_append_args_valist(m, first_type, ap);
        va_end(ap);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(phone->conn, m, 10000, error);
        dbus_message_unref(m);
        if (!reply)
                return -1;
        dbus_message_unref(reply);
        return 0;
}

static void stop_stream(const char *path) {
        DBusError error = DBUS_ERROR_INIT;
        if (call_simple(path, "Stop", &error, DBUS_TYPE_INVALID) < 0) {
                fprintf(stderr, "  Stop %s: %s\n", path, error.message);
                dbus_error_free(&error);
        }
}

/* Two connected streams of one codec: a -> b and b -> a. */
static int make_pair(const char *codec, uint32_t pt, const char *dir_a, const char *dir_b, Local *a, Local *b) {
        DBusError error = DBUS_ERROR_INIT;

        TEST_ASSERT(create_stream(phone->conn, codec, a) == 0);
        TEST_ASSERT(create_stream(phone->conn, codec, b) == 0);
        if (start_stream(a->path, "Start", b->port, codec, pt, dir_a, &error) < 0 ||
            start_stream(b->path, "Start", a->port, codec, pt, dir_b, &error) < 0) {
                fprintf(stderr, "  Start: %s\n", error.message);
                dbus_error_free(&error);
                return -1;
        }
        return 0;
}

/* ---- cases ---- */

static int test_create(void) {
        Local l;

        TEST_ASSERT(create_stream(phone->conn, "PCMU", &l) == 0);
        TEST_ASSERT(streq(l.address, "127.0.0.1"));
        TEST_ASSERT(l.port % 2 == 0 && l.port >= 11780 && l.port <= 12780);
        TEST_ASSERT(l.first_pt == 0 && l.has_dtmf && l.n_codecs == 2);
        TEST_ASSERT(get_string_is(l.path, STREAM_IFACE, "State", "created"));
        TEST_ASSERT(get_number(l.path, "LocalPort") == l.port);
        stop_stream(l.path);
        TEST_ASSERT(!get_property(l.path, STREAM_IFACE, "State"));
        return 0;
}

static int expect_error(const char *codec, const char *bad_key, const char *name) {
        DBusError error = DBUS_ERROR_INIT;
        DBusMessage *reply = create(phone->conn, codec, bad_key, &error);
        if (reply) {
                dbus_message_unref(reply);
                fprintf(stderr, "  CreateStream(%s, %s) succeeded\n", strempty(codec), strempty(bad_key));
                return -1;
        }
        bool ok = streq(error.name, name);
        if (!ok)
                fprintf(stderr, "  %s: %s (expected %s)\n", error.name, error.message, name);
        dbus_error_free(&error);
        return ok ? 0 : -1;
}

static int test_bad_options(void) {
        TEST_ASSERT(expect_error("G729", NULL, "org.deskphone.Error.InvalidArgument") == 0);
        TEST_ASSERT(expect_error(NULL, "no-such-option", "org.deskphone.Error.InvalidArgument") == 0);
        TEST_ASSERT(expect_error(NULL, "account", "org.deskphone.Error.InvalidArgument") == 0); /* wrong type */
        return 0;
}

static int test_bad_remote(void) {
        DBusError error = DBUS_ERROR_INIT;
        Local l;

        TEST_ASSERT(create_stream(phone->conn, "PCMU", &l) == 0);
        TEST_ASSERT(start_stream(l.path, "Start", 0, "PCMU", 0, NULL, &error) < 0);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        dbus_error_free(&error);
        TEST_ASSERT(start_stream(l.path, "Start", 4000, "iLBC", 97, NULL, &error) < 0);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        dbus_error_free(&error);
        TEST_ASSERT(start_stream(l.path, "Update", 4000, "PCMU", 0, NULL, &error) < 0);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.Busy"));
        dbus_error_free(&error);
        stop_stream(l.path);
        return 0;
}

static int test_packets_flow(void) {
        Local a, b;

        TEST_ASSERT(make_pair("PCMU", 0, NULL, NULL, &a, &b) == 0);
        TEST_ASSERT(get_string_is(a.path, STREAM_IFACE, "State", "running"));
        TEST_ASSERT(get_string_is(b.path, STREAM_IFACE, "Codec", "PCMU"));
        TEST_ASSERT(wait_number(a.path, "PacketsReceived", 50, 5000));
        TEST_ASSERT(wait_number(b.path, "PacketsReceived", 50, 5000));
        TEST_ASSERT(wait_number(a.path, "PacketsSent", 50, 5000));
        TEST_ASSERT(wait_number(a.path, "RoundTrip", 1, 5000)); /* RTCP SR/RR went both ways */
        TEST_ASSERT(get_number(a.path, "PacketsLost") == 0);
        TEST_ASSERT(get_number(b.path, "MOS") > 4.0);

        /* hold: a stops sending, b's counter stands still */
        DBusError error = DBUS_ERROR_INIT;
        TEST_ASSERT(call_simple(a.path, "Hold", &error, DBUS_TYPE_STRING, &(const char *){ "recvonly" },
                                DBUS_TYPE_INVALID) == 0);
        TEST_ASSERT(get_string_is(a.path, STREAM_IFACE, "State", "held"));
        usleep(200 * 1000);
        double before = get_number(b.path, "PacketsReceived");
        usleep(500 * 1000);
        TEST_ASSERT(get_number(b.path, "PacketsReceived") == before);
        stop_stream(a.path);
        stop_stream(b.path);
        return 0;
}

static int test_dtmf(void) {
        DBusError error = DBUS_ERROR_INIT;
        const char *expected = "12#";
        Local a, b;

        TEST_ASSERT(make_pair("PCMA", 8, NULL, NULL, &a, &b) == 0);
        TEST_ASSERT(call_simple(a.path, "SendDtmf", &error, DBUS_TYPE_STRING, &expected, DBUS_TYPE_INVALID) == 0);
        for (size_t i = 0; expected[i]; i++) {
                DBusMessage *m = phone_wait_signal(phone->conn, STREAM_IFACE, "DtmfReceived", 5000);
                const char *digit;
                uint32_t ms;
                TEST_ASSERT(m);
                TEST_ASSERT(streq(dbus_message_get_path(m), b.path));
                TEST_ASSERT(dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &digit, DBUS_TYPE_UINT32, &ms,
                                                  DBUS_TYPE_INVALID));
                fprintf(stderr, "  DtmfReceived %s %u ms\n", digit, ms);
                TEST_ASSERT(digit[0] == expected[i] && digit[1] == 0);
                TEST_ASSERT(ms >= 80 && ms <= 200);
                dbus_message_unref(m);
        }
        TEST_ASSERT(call_simple(a.path, "SendDtmf", &error, DBUS_TYPE_STRING, &(const char *){ "12x" },
                                DBUS_TYPE_INVALID) < 0);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        dbus_error_free(&error);
        stop_stream(a.path);
        stop_stream(b.path);
        return 0;
}

/* A UDP socket on 127.0.0.1 playing the peer. */
static int peer_socket(uint16_t *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, len) < 0 || getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return -1;
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

static void send_to(int fd, uint16_t port, const void *data, size_t size) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                  .sin_port = htons(port) };
        (void) sendto(fd, data, size, 0, (struct sockaddr *) &sa, sizeof(sa));
}

/* RTP from a hand-made peer: 200 packets, every tenth missing, garbage in between.
 * The stream must count exactly the losses, and send well-formed RTP itself. */
static int test_loss_and_garbage(void) {
        DBusError error = DBUS_ERROR_INIT;
        uint8_t pkt[12 + 160], buf[2048];
        uint16_t port;
        Local a;

        int fd = peer_socket(&port);
        TEST_ASSERT(fd >= 0);
        TEST_ASSERT(create_stream(phone->conn, "PCMU", &a) == 0);
        TEST_ASSERT(start_stream(a.path, "Start", port, "PCMU", 0, NULL, &error) == 0);

        memset(pkt, 0xff, sizeof(pkt));
        for (uint32_t seq = 1000; seq < 1200; seq++) {
                if (seq % 10 == 5)
                        continue;
                uint32_t ts = 5000 + 160 * (seq - 1000);
                pkt[0] = 0x80;
                pkt[1] = 0;
                pkt[2] = (uint8_t) (seq >> 8), pkt[3] = (uint8_t) seq;
                pkt[4] = (uint8_t) (ts >> 24), pkt[5] = (uint8_t) (ts >> 16), pkt[6] = (uint8_t) (ts >> 8);
                pkt[7] = (uint8_t) ts;
                pkt[8] = 0x12, pkt[9] = 0x34, pkt[10] = 0x56, pkt[11] = 0x78;
                send_to(fd, a.port, pkt, sizeof(pkt));
                if (seq % 20 == 0) {
                        send_to(fd, a.port, "\x80", 1);                             /* too short */
                        send_to(fd, a.port, "\x40\0\0\1\0\0\0\0\0\0\0\0", 12); /* version 1 */
                        send_to(fd, a.port, "\x8f\0\0\1\0\0\0\0\0\0\0\0", 12); /* CSRCs missing */
                        send_to(fd, a.port, buf, sizeof(buf));                      /* too big */
                }
                if (seq % 50 == 0)
                        usleep(20 * 1000);
        }
        TEST_ASSERT(wait_number(a.path, "PacketsReceived", 179, 5000));
        TEST_ASSERT(get_number(a.path, "PacketsReceived") == 179); /* the first is A.1's probation */
        TEST_ASSERT(get_number(a.path, "PacketsLost") == 20);

        /* what the stream sends: RTP version 2, PCMU, 160 bytes, sequence and timestamp in step */
        uint16_t last_seq = 0;
        uint32_t last_ts = 0;
        for (int i = 0; i < 5; i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                TEST_ASSERT(poll(&p, 1, 2000) == 1);
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                TEST_ASSERT(n == 12 + 160 && buf[0] == 0x80 && (buf[1] & 0x7f) == 0);
                uint16_t seq = (uint16_t) (buf[2] << 8 | buf[3]);
                uint32_t ts = (uint32_t) buf[4] << 24 | (uint32_t) buf[5] << 16 | (uint32_t) buf[6] << 8 | buf[7];
                if (i > 0)
                        TEST_ASSERT(seq == (uint16_t) (last_seq + 1) && ts == last_ts + 160);
                last_seq = seq;
                last_ts = ts;
        }
        stop_stream(a.path);
        close(fd);
        return 0;
}

static int test_owner_gone(void) {
        DBusConnection *c = phone_connect(phone);
        Local l;

        TEST_ASSERT(c);
        TEST_ASSERT(create_stream(c, "PCMU", &l) == 0);
        TEST_ASSERT(get_string_is(l.path, STREAM_IFACE, "State", "created"));
        dbus_connection_close(c);
        dbus_connection_unref(c);
        for (int i = 0; i < 50 && get_property(l.path, STREAM_IFACE, "State"); i++)
                usleep(20 * 1000);
        DBusMessage *m = get_property(l.path, STREAM_IFACE, "State");
        TEST_ASSERT(!m);
        return 0;
}

static int set_property(const char *name, int type, const void *value, DBusError *error) {
        DBusMessage *m = dbus_message_new_method_call(DEST, PATH, "org.freedesktop.DBus.Properties", "Set");
        DBusMessageIter iter;
        const char *iface = IFACE;

        dbus_message_iter_init_append(m, &iter);
        dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &iface);
        dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &name);
        bus_append_basic_variant(&iter, type, value);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(phone->conn, m, 10000, error);
        dbus_message_unref(m);
        if (!reply)
                return -1;
        dbus_message_unref(reply);
        return 0;
}

static int test_volume_route(void) {
        DBusError error = DBUS_ERROR_INIT;
        char device[300];

        TEST_ASSERT(get_string_is(PATH, IFACE, "Route", "handset"));
        TEST_ASSERT(get_string_is(PATH, IFACE, "Board", "desktop"));
        snprintf(device, sizeof(device), "file:%s", out_path);
        TEST_ASSERT(get_string_is(PATH, IFACE, "PlaybackDevice", device));
        TEST_ASSERT(set_property("Route", DBUS_TYPE_STRING, &(const char *){ "speaker" }, &error) == 0);
        TEST_ASSERT(get_string_is(PATH, IFACE, "Route", "speaker"));
        TEST_ASSERT(set_property("Route", DBUS_TYPE_STRING, &(const char *){ "car" }, &error) < 0);
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        dbus_error_free(&error);
        TEST_ASSERT(set_property("Volume", DBUS_TYPE_UINT32, &(uint32_t){ 101 }, &error) < 0);
        dbus_error_free(&error);
        TEST_ASSERT(set_property("Volume", DBUS_TYPE_UINT32, &(uint32_t){ 100 }, &error) == 0);
        TEST_ASSERT(set_property("Mute", DBUS_TYPE_BOOLEAN, &(dbus_bool_t){ false }, &error) == 0);
        return 0;
}

/* The configuration reaches mediad asynchronously after it starts. */
static int wait_configured(void) {
        char device[300];
        snprintf(device, sizeof(device), "file:%s", out_path);
        for (int i = 0; i < 100; i++) {
                DBusMessage *reply = get_property(PATH, IFACE, "PlaybackDevice");
                DBusMessageIter iter, v;
                const char *s = "";
                if (reply) {
                        dbus_message_iter_init(reply, &iter);
                        dbus_message_iter_recurse(&iter, &v);
                        dbus_message_iter_get_basic(&v, &s);
                }
                bool ok = streq(s, device);
                if (reply)
                        dbus_message_unref(reply);
                if (ok)
                        return 0;
                usleep(50 * 1000);
        }
        fprintf(stderr, "mediad did not get its configuration\n");
        return -1;
}

/* ---- audio through the files ---- */

static int write_tone(const char *path) {
        size_t n = RATE * 2;
        _cleanup_(freep) uint8_t *buf = malloc(44 + 2 * n);
        double amp = pow(10, TONE_DBFS / 20) * 32767;
        if (!buf)
                return -ENOMEM;
        memcpy(buf, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data", 40);
        uint32_t data = (uint32_t) (2 * n), riff = data + 36;
        memcpy(buf + 4, &riff, 4);
        memcpy(buf + 40, &data, 4);
        for (size_t i = 0; i < n; i++) {
                int16_t v = (int16_t) lrint(amp * sin(2 * M_PI * TONE_HZ * (double) i / RATE));
                memcpy(buf + 44 + 2 * i, &v, 2);
        }
        return write_file_atomic(path, buf, 44 + 2 * n, 0644);
}

/* Goertzel power at hz over n samples, as the RMS of that component. */
static double goertzel_rms(const int16_t *x, size_t n, double hz) {
        double w = 2 * M_PI * hz / RATE, c = 2 * cos(w), s1 = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
                double s0 = x[i] + c * s1 - s2;
                s2 = s1;
                s1 = s0;
        }
        double power = s1 * s1 + s2 * s2 - c * s1 * s2;
        return sqrt(2 * power) / (double) n;
}

/* The last second of the playback file: a tone at hz, at expected_rms within 1 dB. */
static int check_tone(const char *what, double hz, double expected_rms) {
        _cleanup_(freep) char *data = NULL;
        size_t size;

        TEST_ASSERT(read_full_file(out_path, &data, &size, 64 * 1024 * 1024) == 0);
        TEST_ASSERT(size > 44 + RATE * 2);
        const int16_t *x = (const int16_t *) (data + 44);
        size_t n = (size - 44) / 2, w = RATE; /* the last second */
        const int16_t *tail = x + n - w;
        double sum = 0;
        for (size_t i = 0; i < w; i++)
                sum += (double) tail[i] * tail[i];
        double rms = sqrt(sum / (double) w), tone = goertzel_rms(tail, w, hz);
        double level_db = 20 * log10(tone / expected_rms), purity = tone / (rms + 1e-9);
        fprintf(stderr, "  %s: %.0f Hz at %+.2f dB of the expected level, %.1f%% of the signal\n", what, hz,
                level_db, 100 * purity * purity);
        TEST_ASSERT(fabs(level_db) <= 1.0);
        TEST_ASSERT(purity * purity > 0.95);
        return 0;
}

static int audio_case(const char *codec, uint32_t pt) {
        Local a, b;

        TEST_ASSERT(make_pair(codec, pt, "sendonly", "recvonly", &a, &b) == 0);
        TEST_ASSERT(wait_number(b.path, "PacketsReceived", 150, 8000));
        stop_stream(a.path);
        stop_stream(b.path); /* the last stream: the audio device closes, the WAV is complete */
        usleep(100 * 1000);
        return check_tone(codec, TONE_HZ, pow(10, TONE_DBFS / 20) * 32767 / sqrt(2));
}

static int test_audio_pcmu(void) {
        return audio_case("PCMU", 0);
}

static int test_audio_pcma(void) {
        return audio_case("PCMA", 8);
}

static int test_audio_g722(void) {
        return audio_case("G722", 9);
}

static int test_audio_opus(void) {
        return audio_case("opus", 106);
}

static int test_tone(void) {
        DBusError error = DBUS_ERROR_INIT;
        DBusMessage *reply;

        reply = phone_call(phone->conn, DEST, PATH, IFACE, "PlayTone", &error, DBUS_TYPE_STRING,
                           &(const char *){ "dial" }, DBUS_TYPE_INVALID);
        TEST_ASSERT(reply);
        dbus_message_unref(reply);
        TEST_ASSERT(get_string_is(PATH, IFACE, "Tone", "dial"));
        usleep(1500 * 1000);
        reply = phone_call(phone->conn, DEST, PATH, IFACE, "StopTone", &error, DBUS_TYPE_INVALID);
        TEST_ASSERT(reply);
        dbus_message_unref(reply);
        TEST_ASSERT(get_string_is(PATH, IFACE, "Tone", ""));
        usleep(100 * 1000);
        /* Custom (ITU-T E.180) dial tone: 425 Hz continuous at -10 dBm0, 0 dBm0 being
         * 3.14 dB below full scale */
        TEST_ASSERT(check_tone("dial tone", 425, 32767 * pow(10, (-10 - 3.14) / 20) / sqrt(2)) == 0);

        /* a tone that ends by itself goes away by itself */
        reply = phone_call(phone->conn, DEST, PATH, IFACE, "PlayTone", &error, DBUS_TYPE_STRING,
                           &(const char *){ "autoanswer" }, DBUS_TYPE_INVALID);
        TEST_ASSERT(reply);
        dbus_message_unref(reply);
        for (int i = 0; i < 40 && !get_string_is(PATH, IFACE, "Tone", ""); i++)
                usleep(50 * 1000);
        TEST_ASSERT(get_string_is(PATH, IFACE, "Tone", ""));
        TEST_ASSERT(!phone_call(phone->conn, DEST, PATH, IFACE, "PlayTone", &error, DBUS_TYPE_STRING,
                                &(const char *){ "no-such-tone" }, DBUS_TYPE_INVALID));
        TEST_ASSERT(streq(error.name, "org.deskphone.Error.InvalidArgument"));
        dbus_error_free(&error);
        return 0;
}

static const TestCase tests[] = {
        { "/mediad/create", test_create },
        { "/mediad/bad-options", test_bad_options },
        { "/mediad/bad-remote", test_bad_remote },
        { "/mediad/packets-flow", test_packets_flow },
        { "/mediad/dtmf", test_dtmf },
        { "/mediad/loss-and-garbage", test_loss_and_garbage },
        { "/mediad/owner-gone", test_owner_gone },
        { "/mediad/volume-route", test_volume_route },
        { "/mediad/audio/pcmu", test_audio_pcmu },
        { "/mediad/audio/pcma", test_audio_pcma },
        { "/mediad/audio/g722", test_audio_g722 },
        { "/mediad/audio/opus", test_audio_opus },
        { "/mediad/tone", test_tone },
};

int main(int argc, char *argv[]) {
        char config[1024];

        if (!mkdtemp(audio_dir))
                return EXIT_FAILURE;
        snprintf(in_path, sizeof(in_path), "%s/in.wav", audio_dir);
        snprintf(out_path, sizeof(out_path), "%s/out.wav", audio_dir);
        if (write_tone(in_path) < 0)
                return EXIT_FAILURE;
        snprintf(config, sizeof(config),
                 "#!version:1.0.0.1\n"
                 "deskphone.audio.playback_device = file:%s\n"
                 "deskphone.audio.capture_device = file:%s\n"
                 "account.1.codec.opus.enable = 1\n",
                 out_path, in_path);
        if (phone_start(config, "provd,mediad", &phone) < 0)
                return EXIT_FAILURE;
        if (wait_configured() < 0) {
                phone_stop(phone);
                return EXIT_FAILURE;
        }
        phone_add_match(phone->conn, "type='signal',interface='" STREAM_IFACE "'");
        phone_add_match(phone->conn, "type='signal',interface='org.freedesktop.DBus.Properties'");
        int r = run_tests(tests, ELEMENTSOF(tests), argc, argv);
        phone_stop(phone);
        if (!getenv("DESKPHONE_TEST_KEEP"))
                (void) rm_rf(audio_dir);
        return r;
}
