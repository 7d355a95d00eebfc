/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SRTP in the real mediad on a private bus: CreateStream's keys, what Start and
 * Update take and refuse, two streams talking SRTP/SRTCP for every suite, and a
 * relay of our own in the path from one stream to the other that checks that
 * nothing on the wire is the clear RTP, then flips bits and replays packets:
 * the receiving stream must drop them and count them. mediad logs at debug
 * level into a file here, and none of its keys may appear in it.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
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
#define N_SUITES 5
#define KEYS_SEEN_MAX 256

static const char * const suites[N_SUITES] = {
        "AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_256_CM_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80",
        "AES_CM_128_HMAC_SHA1_32",
};

static Phone *phone;
static char work_dir[] = "/tmp/deskphone-srtp-XXXXXX";
static char *keys_seen[KEYS_SEEN_MAX]; /* every key mediad gave us: none may be in its log */
static size_t n_keys_seen;

typedef struct Local {
        char path[128];
        uint16_t port;
        char crypto[N_SUITES][512];
        size_t n_crypto;
} Local;

/* ---- bus helpers ---- */

static void append_entry(DBusMessageIter *dict, const char *key, int type, const void *value) {
        DBusMessageIter e;
        dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e);
        dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key);
        bus_append_basic_variant(&e, type, value);
        dbus_message_iter_close_container(dict, &e);
}

static void remember_key(const char *crypto) {
        const char *k = strstr(crypto, "inline:");
        if (k && n_keys_seen < KEYS_SEEN_MAX)
                keys_seen[n_keys_seen++] = strndup(k + 7, strcspn(k + 7, "| "));
}

static void read_local(DBusMessage *reply, Local *l) {
        DBusMessageIter iter, dict, e, v, a;
        const char *path, *key, *s;

        *l = (Local) {};
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_get_basic(&iter, &path);
        snprintf(l->path, sizeof(l->path), "%s", path);
        dbus_message_iter_next(&iter);
        dbus_message_iter_recurse(&iter, &dict);
        for (; dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&dict)) {
                dbus_message_iter_recurse(&dict, &e);
                dbus_message_iter_get_basic(&e, &key);
                dbus_message_iter_next(&e);
                dbus_message_iter_recurse(&e, &v);
                if (streq(key, "port"))
                        dbus_message_iter_get_basic(&v, &l->port);
                if (!streq(key, "crypto"))
                        continue;
                dbus_message_iter_recurse(&v, &a);
                for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRING; dbus_message_iter_next(&a)) {
                        dbus_message_iter_get_basic(&a, &s);
                        if (l->n_crypto < N_SUITES)
                                snprintf(l->crypto[l->n_crypto++], sizeof(l->crypto[0]), "%s", s);
                        remember_key(s);
                }
        }
}

/* CreateStream, PCMU, bind 127.0.0.1, with srtp (NULL: not given). */
static int create(const char *srtp, Local *ret, DBusError *error) {
        DBusMessage *m = dbus_message_new_method_call(DEST, PATH, IFACE, "CreateStream");
        DBusMessageIter iter, dict, e, v, a;
        const char *bind = "127.0.0.1", *codec = "PCMU", *key = "codecs";
        uint32_t rtcp = 200;

        dbus_message_iter_init_append(m, &iter);
        dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict);
        append_entry(&dict, "bind", DBUS_TYPE_STRING, &bind);
        append_entry(&dict, "rtcp_interval", DBUS_TYPE_UINT32, &rtcp);
        if (srtp)
                append_entry(&dict, "srtp", DBUS_TYPE_STRING, &srtp);
        dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &e);
        dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key);
        dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "as", &v);
        dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &a);
        dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, &codec);
        dbus_message_iter_close_container(&v, &a);
        dbus_message_iter_close_container(&e, &v);
        dbus_message_iter_close_container(&dict, &e);
        dbus_message_iter_close_container(&iter, &dict);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(phone->conn, m, 10000, error);
        dbus_message_unref(m);
        if (!reply)
                return -1;
        read_local(reply, ret);
        dbus_message_unref(reply);
        return 0;
}

/* Start/Update: PCMU to 127.0.0.1 port (rtcp_port 0: port + 1), crypto/local_crypto if not NULL. */
static int start(const char *path, const char *member, uint16_t port, uint16_t rtcp_port, const char *crypto,
                 const char *local_crypto, DBusError *error) {
        DBusMessage *m = dbus_message_new_method_call(DEST, path, STREAM_IFACE, member);
        DBusMessageIter iter, dict;
        const char *address = "127.0.0.1", *codec = "PCMU";

        dbus_message_iter_init_append(m, &iter);
        dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict);
        if (port) {
                append_entry(&dict, "address", DBUS_TYPE_STRING, &address);
                append_entry(&dict, "port", DBUS_TYPE_UINT16, &port);
                append_entry(&dict, "codec", DBUS_TYPE_STRING, &codec);
        }
        if (rtcp_port)
                append_entry(&dict, "rtcp_port", DBUS_TYPE_UINT16, &rtcp_port);
        if (crypto)
                append_entry(&dict, "crypto", DBUS_TYPE_STRING, &crypto);
        if (local_crypto)
                append_entry(&dict, "local_crypto", DBUS_TYPE_STRING, &local_crypto);
        dbus_message_iter_close_container(&iter, &dict);
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(phone->conn, m, 10000, error);
        dbus_message_unref(m);
        if (!reply)
                return -1;
        dbus_message_unref(reply);
        return 0;
}

static bool failed_with(int r, DBusError *error, const char *name) {
        bool ok = r < 0 && error->name && streq(error->name, name);
        if (!ok)
                fprintf(stderr, "  expected %s, got %s: %s\n", name, r < 0 ? error->name : "success",
                        r < 0 ? error->message : "");
        else
                fprintf(stderr, "  %s: %s\n", error->name, error->message);
        dbus_error_free(error);
        return ok;
}

static void stop(const char *path) {
        DBusError error = DBUS_ERROR_INIT;
        DBusMessage *reply = phone_call(phone->conn, DEST, path, STREAM_IFACE, "Stop", &error, DBUS_TYPE_INVALID);
        if (reply)
                dbus_message_unref(reply);
        dbus_error_free(&error);
}

static DBusMessage *get_property(const char *path, const char *name) {
        DBusError error = DBUS_ERROR_INIT;
        const char *iface = STREAM_IFACE;
        DBusMessage *reply = phone_call(phone->conn, DEST, path, "org.freedesktop.DBus.Properties", "Get", &error,
                                        DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID);
        dbus_error_free(&error);
        return reply;
}

static double get_number(const char *path, const char *name) {
        DBusMessage *reply = get_property(path, name);
        DBusMessageIter iter, v;
        dbus_uint64_t u = 0;
        uint32_t u32 = 0;

        if (!reply)
                return -1;
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &v);
        if (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_UINT64)
                dbus_message_iter_get_basic(&v, &u);
        else if (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_UINT32) {
                dbus_message_iter_get_basic(&v, &u32);
                u = u32;
        }
        dbus_message_unref(reply);
        return (double) u;
}

static bool string_is(const char *path, const char *name, const char *expected) {
        DBusMessage *reply = get_property(path, name);
        DBusMessageIter iter, v;
        const char *s = "";

        if (!reply)
                return false;
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &v);
        if (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_STRING)
                dbus_message_iter_get_basic(&v, &s);
        bool ok = streq(s, expected);
        if (!ok)
                fprintf(stderr, "  %s %s = '%s', expected '%s'\n", path, name, s, expected);
        dbus_message_unref(reply);
        return ok;
}

/* ---- a relay in the path a -> b ---- */

#define SAVED_MAX 64

typedef enum RelayMode {
        RELAY_PASS,
        RELAY_FLIP,     /* one bit of each packet flipped */
        RELAY_REPLAY,   /* every packet passes, and an old one is sent again after it */
} RelayMode;

typedef struct Saved {
        uint8_t data[1600];
        size_t size;
} Saved;

typedef struct Relay {
        int fd[2];                      /* RTP, RTCP */
        uint16_t port[2];
        uint16_t to;                    /* b's RTP port */
        RelayMode mode;
        uint64_t forwarded[2], flipped[2], replayed[2];
        Saved saved[2][SAVED_MAX];      /* what passed, for replays */
        size_t n_saved[2];
        uint8_t clear[8][160];          /* RTP payloads seen in clear mode (a tone: few distinct) */
        size_t n_clear;
        uint64_t same_as_clear, payloads;
        bool learn_clear;
} Relay;

static int udp_socket(uint16_t *ret_port) {
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

static void relay_payload(Relay *r, const uint8_t *p, size_t n) {
        if (n < 12 + 160)
                return;
        const uint8_t *payload = p + 12;
        if (r->learn_clear) {
                for (size_t i = 0; i < r->n_clear; i++)
                        if (memcmp(r->clear[i], payload, 160) == 0)
                                return;
                if (r->n_clear < ELEMENTSOF(r->clear))
                        memcpy(r->clear[r->n_clear++], payload, 160);
                return;
        }
        r->payloads++;
        for (size_t i = 0; i < r->n_clear; i++)
                if (memcmp(r->clear[i], payload, 160) == 0)
                        r->same_as_clear++;
}

static void relay_one(Relay *r, int k, uint8_t *p, size_t n) {
        uint16_t to = (uint16_t) (r->to + k);

        if (k == 0)
                relay_payload(r, p, n);
        if (r->mode == RELAY_FLIP && n > 20) {
                p[k == 0 ? 20 : 12] ^= 0x04; /* in the (encrypted) payload, never the header */
                r->flipped[k]++;
        }
        send_to(r->fd[k], to, p, n);
        r->forwarded[k]++;
        if (r->mode == RELAY_REPLAY && r->n_saved[k] > 0) {
                const Saved *old = &r->saved[k][(r->n_saved[k] * 7) % MIN(r->n_saved[k], SAVED_MAX)];
                send_to(r->fd[k], to, old->data, old->size);
                r->replayed[k]++;
        }
        if (r->mode != RELAY_FLIP) {
                Saved *s = &r->saved[k][r->n_saved[k]++ % SAVED_MAX];
                memcpy(s->data, p, n);
                s->size = n;
        }
}

/* Forward for ms milliseconds. */
static void relay_pump(Relay *r, int ms) {
        uint64_t end = now_usec() + (uint64_t) ms * 1000;
        uint8_t buf[1600];

        for (;;) {
                int left = (int) ((end - MIN(end, now_usec())) / 1000);
                struct pollfd p[2] = { { .fd = r->fd[0], .events = POLLIN }, { .fd = r->fd[1], .events = POLLIN } };
                if (left <= 0 || poll(p, 2, left) <= 0)
                        return;
                for (int k = 0; k < 2; k++) {
                        if (!(p[k].revents & POLLIN))
                                continue;
                        ssize_t n = recv(r->fd[k], buf, sizeof(buf), MSG_DONTWAIT);
                        if (n > 0)
                                relay_one(r, k, buf, (size_t) n);
                }
        }
}

static int relay_open(Relay *r, uint16_t to) {
        *r = (Relay) { .to = to };
        r->fd[0] = udp_socket(&r->port[0]);
        r->fd[1] = udp_socket(&r->port[1]);
        return r->fd[0] < 0 || r->fd[1] < 0 ? -1 : 0;
}

static void relay_close(Relay *r) {
        closep(&r->fd[0]);
        closep(&r->fd[1]);
}

/* Pump until path's property name >= min (statistics come once a second). */
static bool pump_until(Relay *r, const char *path, const char *name, double min, int timeout_ms) {
        uint64_t deadline = now_usec() + (uint64_t) timeout_ms * 1000;
        double v = -1;

        while (now_usec() < deadline) {
                if (r)
                        relay_pump(r, 100);
                else
                        usleep(100 * 1000);
                v = get_number(path, name);
                if (v >= min)
                        return true;
        }
        fprintf(stderr, "  %s %s = %g, expected >= %g\n", path, name, v, min);
        return false;
}

/* ---- cases ---- */

static int test_create(void) {
        DBusError error = DBUS_ERROR_INIT;
        Local a, b, off;

        TEST_ASSERT(create("optional", &a, &error) == 0);
        TEST_ASSERT(create("compulsory", &b, &error) == 0);
        TEST_ASSERT(create(NULL, &off, &error) == 0);
        TEST_ASSERT(a.n_crypto == N_SUITES && b.n_crypto == N_SUITES && off.n_crypto == 0);
        for (size_t i = 0; i < N_SUITES; i++) {
                char prefix[64];
                snprintf(prefix, sizeof(prefix), "%zu %s inline:", i + 1, suites[i]);
                TEST_ASSERT(startswith(a.crypto[i], prefix));
                TEST_ASSERT(!streq(a.crypto[i], b.crypto[i])); /* fresh keys per stream */
                TEST_ASSERT(!strchr(a.crypto[i], '|'));         /* no lifetime, no MKI */
        }
        TEST_ASSERT(strlen(a.crypto[0]) == strlen("1 AEAD_AES_256_GCM inline:") + 60); /* 44 octets */
        TEST_ASSERT(string_is(a.path, "Encryption", "none"));
        TEST_ASSERT(failed_with(create("sometimes", &off, &error), &error, "org.deskphone.Error.InvalidArgument"));
        stop(a.path);
        stop(b.path);
        stop(off.path);
        return 0;
}

static int test_start_refused(void) {
        DBusError error = DBUS_ERROR_INIT;
        Local comp, opt, off;
        char wrong[512];

        TEST_ASSERT(create("compulsory", &comp, &error) == 0);
        TEST_ASSERT(create("optional", &opt, &error) == 0);
        TEST_ASSERT(create("off", &off, &error) == 0);
        const char *peer = opt.crypto[3];
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0, NULL, NULL, &error), &error,
                                "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0, "", NULL, &error), &error,
                                "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(failed_with(start(off.path, "Start", 4000, 0, peer, NULL, &error), &error,
                                "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0, "1 AES_CM_128_HMAC_SHA1_80 inline:shortkey", NULL,
                                      &error),
                                &error, "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0,
                                      "2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm", NULL,
                                      &error),
                                &error, "org.deskphone.Error.NotSupported"));
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0,
                                      "1 AES_CM_128_HMAC_SHA1_80 inline:WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ "
                                      "UNENCRYPTED_SRTP",
                                      NULL, &error),
                                &error, "org.deskphone.Error.NotSupported"));
        /* local_crypto: another stream's key, another suite, or alone */
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0, peer, opt.crypto[3], &error), &error,
                                "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0, peer, comp.crypto[0], &error), &error,
                                "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(failed_with(start(comp.path, "Start", 4000, 0, NULL, comp.crypto[3], &error), &error,
                                "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(string_is(comp.path, "State", "created"));
        /* our line re-tagged, as in an answer, is still ours */
        snprintf(wrong, sizeof(wrong), "77%s", strchr(comp.crypto[3], ' '));
        TEST_ASSERT(start(comp.path, "Start", 4000, 0, peer, wrong, &error) == 0);
        TEST_ASSERT(string_is(comp.path, "Encryption", "srtp:AES_CM_128_HMAC_SHA1_80"));
        /* optional: the clear is allowed */
        TEST_ASSERT(start(opt.path, "Start", 4002, 0, NULL, NULL, &error) == 0);
        TEST_ASSERT(string_is(opt.path, "Encryption", "none"));
        stop(comp.path);
        stop(opt.path);
        stop(off.path);
        return 0;
}

/* Streams a and b, each sending with its key of suite i and receiving with the other's. */
static int srtp_pair(size_t i, uint16_t a_to, uint16_t a_rtcp_to, Local *a, Local *b) {
        DBusError error = DBUS_ERROR_INIT;

        TEST_ASSERT(create("compulsory", a, &error) == 0);
        TEST_ASSERT(create("compulsory", b, &error) == 0);
        if (start(a->path, "Start", a_to ?: b->port, a_rtcp_to, b->crypto[i], a->crypto[i], &error) < 0 ||
            start(b->path, "Start", a->port, 0, a->crypto[i], b->crypto[i], &error) < 0) {
                fprintf(stderr, "  Start: %s\n", error.message);
                dbus_error_free(&error);
                return -1;
        }
        return 0;
}

static int suite_case(size_t i) {
        char want[64];
        Local a, b;

        TEST_ASSERT(srtp_pair(i, 0, 0, &a, &b) == 0);
        snprintf(want, sizeof(want), "srtp:%s", suites[i]);
        TEST_ASSERT(string_is(a.path, "Encryption", want) && string_is(b.path, "Encryption", want));
        TEST_ASSERT(pump_until(NULL, b.path, "PacketsReceived", 40, 5000));
        TEST_ASSERT(pump_until(NULL, a.path, "PacketsReceived", 40, 5000));
        TEST_ASSERT(pump_until(NULL, a.path, "RoundTrip", 1, 5000)); /* SRTCP reports went both ways */
        TEST_ASSERT(get_number(a.path, "PacketsLost") == 0 && get_number(b.path, "PacketsLost") == 0);
        TEST_ASSERT(get_number(a.path, "SrtpAuthFailures") == 0 && get_number(b.path, "SrtpAuthFailures") == 0);
        TEST_ASSERT(get_number(a.path, "SrtcpAuthFailures") == 0 && get_number(b.path, "SrtpReplays") == 0);
        stop(a.path);
        stop(b.path);
        return 0;
}

static int test_suite_0(void) {
        return suite_case(0);
}
static int test_suite_1(void) {
        return suite_case(1);
}
static int test_suite_2(void) {
        return suite_case(2);
}
static int test_suite_3(void) {
        return suite_case(3);
}
static int test_suite_4(void) {
        return suite_case(4);
}

/* The same through the relay in clear (optional streams, no crypto): what the tone looks like. */
static int learn_clear(Relay *r) {
        DBusError error = DBUS_ERROR_INIT;
        Local a, b;

        TEST_ASSERT(create("optional", &a, &error) == 0);
        TEST_ASSERT(create("optional", &b, &error) == 0);
        TEST_ASSERT(relay_open(r, b.port) == 0);
        TEST_ASSERT(start(a.path, "Start", r->port[0], r->port[1], NULL, NULL, &error) == 0);
        TEST_ASSERT(start(b.path, "Start", a.port, 0, NULL, NULL, &error) == 0);
        r->learn_clear = true;
        TEST_ASSERT(pump_until(r, b.path, "PacketsReceived", 50, 5000));
        r->learn_clear = false;
        stop(a.path);
        stop(b.path);
        relay_close(r);
        fprintf(stderr, "  clear: %zu distinct PCMU payloads of the tone in %" PRIu64 " packets\n", r->n_clear,
                r->forwarded[0]);
        TEST_ASSERT(r->n_clear > 0 && r->n_clear < 8); /* a steady tone: a few payloads, repeated */
        return 0;
}

static int test_relay(void) {
        Relay clear, r;
        Local a, b;

        TEST_ASSERT(learn_clear(&clear) == 0);
        TEST_ASSERT(relay_open(&r, 0) == 0);
        memcpy(r.clear, clear.clear, sizeof(r.clear));
        r.n_clear = clear.n_clear;

        /* a -> relay -> b, b -> a */
        DBusError error = DBUS_ERROR_INIT;
        TEST_ASSERT(create("compulsory", &a, &error) == 0);
        TEST_ASSERT(create("compulsory", &b, &error) == 0);
        r.to = b.port;
        TEST_ASSERT(start(a.path, "Start", r.port[0], r.port[1], b.crypto[3], a.crypto[3], &error) == 0);
        TEST_ASSERT(start(b.path, "Start", a.port, 0, a.crypto[3], b.crypto[3], &error) == 0);

        /* 1. passing: audio arrives, and no payload on the wire is the clear one */
        TEST_ASSERT(pump_until(&r, b.path, "PacketsReceived", 60, 5000));
        TEST_ASSERT(pump_until(&r, a.path, "RoundTrip", 1, 5000));
        fprintf(stderr, "  SRTP: %" PRIu64 " payloads, %" PRIu64 " equal to a clear one\n", r.payloads,
                r.same_as_clear);
        TEST_ASSERT(r.payloads >= 60 && r.same_as_clear == 0);
        TEST_ASSERT(get_number(b.path, "SrtpAuthFailures") == 0);

        /* 2. one bit flipped in each packet: all dropped, all counted */
        r.mode = RELAY_FLIP;
        relay_pump(&r, 1000);
        r.mode = RELAY_PASS;
        uint64_t flipped = r.flipped[0], flipped_rtcp = r.flipped[1];
        double received = get_number(b.path, "PacketsReceived");
        TEST_ASSERT(pump_until(&r, b.path, "SrtpAuthFailures", (double) flipped, 4000));
        TEST_ASSERT(get_number(b.path, "SrtpAuthFailures") == flipped);
        TEST_ASSERT(flipped_rtcp == 0 || pump_until(&r, b.path, "SrtcpAuthFailures", (double) flipped_rtcp, 4000));
        fprintf(stderr, "  flipped %" PRIu64 " SRTP and %" PRIu64 " SRTCP packets: %g and %g auth failures\n", flipped,
                flipped_rtcp, get_number(b.path, "SrtpAuthFailures"), get_number(b.path, "SrtcpAuthFailures"));
        TEST_ASSERT(flipped >= 40 && get_number(b.path, "SrtcpAuthFailures") == flipped_rtcp);

        /* 3. replays: every old packet sent again is dropped and counted; new ones still play */
        r.mode = RELAY_REPLAY;
        relay_pump(&r, 1000);
        r.mode = RELAY_PASS;
        uint64_t replayed = r.replayed[0], replayed_rtcp = r.replayed[1];
        TEST_ASSERT(pump_until(&r, b.path, "SrtpReplays", (double) replayed, 4000));
        TEST_ASSERT(replayed_rtcp == 0 || pump_until(&r, b.path, "SrtcpReplays", (double) replayed_rtcp, 4000));
        fprintf(stderr, "  replayed %" PRIu64 " SRTP and %" PRIu64 " SRTCP packets: %g and %g replays counted\n",
                replayed, replayed_rtcp, get_number(b.path, "SrtpReplays"), get_number(b.path, "SrtcpReplays"));
        TEST_ASSERT(replayed >= 40 && get_number(b.path, "SrtpReplays") == replayed);
        TEST_ASSERT(get_number(b.path, "SrtcpReplays") == replayed_rtcp);
        TEST_ASSERT(get_number(b.path, "SrtpAuthFailures") == flipped); /* nothing else failed */
        TEST_ASSERT(pump_until(&r, b.path, "PacketsReceived", received + 60, 5000));
        TEST_ASSERT(r.same_as_clear == 0);
        stop(a.path);
        stop(b.path);
        relay_close(&r);
        return 0;
}

/* NewKeys into a Local's crypto. */
static int new_keys(Local *l) {
        DBusError error = DBUS_ERROR_INIT;
        DBusMessage *reply = phone_call(phone->conn, DEST, l->path, STREAM_IFACE, "NewKeys", &error,
                                        DBUS_TYPE_INVALID);
        DBusMessageIter iter, a;
        const char *s;

        if (!reply) {
                fprintf(stderr, "  NewKeys: %s\n", error.message);
                dbus_error_free(&error);
                return -1;
        }
        l->n_crypto = 0;
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &a);
        for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRING; dbus_message_iter_next(&a)) {
                dbus_message_iter_get_basic(&a, &s);
                if (l->n_crypto < N_SUITES)
                        snprintf(l->crypto[l->n_crypto++], sizeof(l->crypto[0]), "%s", s);
                remember_key(s);
        }
        dbus_message_unref(reply);
        return l->n_crypto == N_SUITES ? 0 : -1;
}

/* Update: another suite (both sides' keys change), the same crypto again, new keys, clear refused. */
static int test_update(void) {
        DBusError error = DBUS_ERROR_INIT;
        Local a, b;
        char old[512];

        TEST_ASSERT(srtp_pair(3, 0, 0, &a, &b) == 0);
        TEST_ASSERT(pump_until(NULL, b.path, "PacketsReceived", 30, 5000));
        TEST_ASSERT(start(a.path, "Update", 0, 0, b.crypto[0], a.crypto[0], &error) == 0);
        TEST_ASSERT(start(b.path, "Update", 0, 0, a.crypto[0], b.crypto[0], &error) == 0);
        TEST_ASSERT(string_is(a.path, "Encryption", "srtp:AEAD_AES_256_GCM"));
        double before = get_number(b.path, "PacketsReceived");
        TEST_ASSERT(pump_until(NULL, b.path, "PacketsReceived", before + 50, 5000));
        /* the same value again keeps the session */
        TEST_ASSERT(start(a.path, "Update", 0, 0, b.crypto[0], a.crypto[0], &error) == 0);
        /* a re-INVITE: new keys on both sides; the old ones send until the Updates */
        snprintf(old, sizeof(old), "%s", a.crypto[3]);
        TEST_ASSERT(new_keys(&a) == 0 && new_keys(&b) == 0);
        TEST_ASSERT(!streq(old, a.crypto[3]));
        TEST_ASSERT(string_is(a.path, "Encryption", "srtp:AEAD_AES_256_GCM"));
        before = get_number(a.path, "PacketsReceived");
        TEST_ASSERT(pump_until(NULL, a.path, "PacketsReceived", before + 20, 5000));
        TEST_ASSERT(failed_with(start(a.path, "Update", 0, 0, b.crypto[3], old, &error), &error,
                                "org.deskphone.Error.InvalidArgument")); /* forgotten */
        TEST_ASSERT(start(a.path, "Update", 0, 0, b.crypto[3], a.crypto[3], &error) == 0);
        TEST_ASSERT(start(b.path, "Update", 0, 0, a.crypto[3], b.crypto[3], &error) == 0);
        before = get_number(a.path, "PacketsReceived");
        TEST_ASSERT(pump_until(NULL, a.path, "PacketsReceived", before + 50, 5000));
        before = get_number(b.path, "PacketsReceived");
        TEST_ASSERT(pump_until(NULL, b.path, "PacketsReceived", before + 50, 5000));
        double failures = get_number(a.path, "SrtpAuthFailures") + get_number(b.path, "SrtpAuthFailures");
        fprintf(stderr, "  %g packets failed while the keys changed\n", failures);
        TEST_ASSERT(failures <= 10); /* only those in flight between the two Updates */
        TEST_ASSERT(failed_with(start(a.path, "Update", 0, 0, "", NULL, &error), &error,
                                "org.deskphone.Error.InvalidArgument"));
        TEST_ASSERT(string_is(a.path, "Encryption", "srtp:AES_CM_128_HMAC_SHA1_80"));
        stop(a.path);
        stop(b.path);
        return 0;
}

/* An optional stream turned to clear by Update, and a clear peer dropped by an SRTP one. */
static int test_optional_clear(void) {
        DBusError error = DBUS_ERROR_INIT;
        Local a, b;

        TEST_ASSERT(create("optional", &a, &error) == 0);
        TEST_ASSERT(create("optional", &b, &error) == 0);
        TEST_ASSERT(start(a.path, "Start", b.port, 0, b.crypto[1], a.crypto[1], &error) == 0);
        TEST_ASSERT(start(b.path, "Start", a.port, 0, NULL, NULL, &error) == 0); /* b sends in the clear */
        TEST_ASSERT(pump_until(NULL, a.path, "SrtpAuthFailures", 20, 5000));   /* a drops it */
        TEST_ASSERT(get_number(a.path, "PacketsReceived") == 0);
        TEST_ASSERT(start(a.path, "Update", 0, 0, "", NULL, &error) == 0);
        TEST_ASSERT(string_is(a.path, "Encryption", "none"));
        TEST_ASSERT(pump_until(NULL, a.path, "PacketsReceived", 30, 5000));
        TEST_ASSERT(pump_until(NULL, b.path, "PacketsReceived", 30, 5000));
        stop(a.path);
        stop(b.path);
        return 0;
}

static const TestCase tests[] = {
        { "/mediad/srtp/create", test_create },
        { "/mediad/srtp/start-refused", test_start_refused },
        { "/mediad/srtp/suite/AEAD_AES_256_GCM", test_suite_0 },
        { "/mediad/srtp/suite/AEAD_AES_128_GCM", test_suite_1 },
        { "/mediad/srtp/suite/AES_256_CM_HMAC_SHA1_80", test_suite_2 },
        { "/mediad/srtp/suite/AES_CM_128_HMAC_SHA1_80", test_suite_3 },
        { "/mediad/srtp/suite/AES_CM_128_HMAC_SHA1_32", test_suite_4 },
        { "/mediad/srtp/relay-clear-tamper-replay", test_relay },
        { "/mediad/srtp/update", test_update },
        { "/mediad/srtp/optional-clear", test_optional_clear },
};

/* The configuration reaches mediad asynchronously after it starts. */
static int wait_configured(const char *in_path) {
        char device[300];
        snprintf(device, sizeof(device), "file:%s", in_path);
        for (int i = 0; i < 100; i++) {
                DBusError error = DBUS_ERROR_INIT;
                const char *iface = IFACE, *name = "CaptureDevice", *s = "";
                DBusMessage *reply = phone_call(phone->conn, DEST, PATH, "org.freedesktop.DBus.Properties", "Get",
                                                &error, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name,
                                                DBUS_TYPE_INVALID);
                DBusMessageIter iter, v;
                dbus_error_free(&error);
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

/* mediad's log (at debug level) must not hold a single key it handed out. */
static int check_log(const char *log_path) {
        _cleanup_(freep) char *log = NULL;
        size_t size;
        int leaks = 0;

        if (read_full_file(log_path, &log, &size, 64 * 1024 * 1024) < 0)
                return -1;
        fwrite(log, 1, size, stderr);
        for (size_t i = 0; i < n_keys_seen; i++)
                if (memmem(log, size, keys_seen[i], strlen(keys_seen[i])))
                        leaks++;
        printf("%s %zu - /mediad/srtp/keys-not-logged\n", leaks || n_keys_seen < 50 ? "not ok" : "ok",
               ELEMENTSOF(tests) + 1);
        printf("# %zu keys handed out, %d found in %zu bytes of debug log\n", n_keys_seen, leaks, size);
        return leaks || n_keys_seen < 50 ? -1 : 0;
}

int main(int argc, char *argv[]) {
        char config[2048], in_path[256], log_path[256];

        if (!mkdtemp(work_dir))
                return EXIT_FAILURE;
        snprintf(in_path, sizeof(in_path), "%s/in.raw", work_dir);
        snprintf(log_path, sizeof(log_path), "%s/stderr.log", work_dir);
        /* a 1 kHz tone at 16 kHz, 1 s: the same PCMU payloads again and again when in the clear */
        int16_t tone[16000];
        for (size_t i = 0; i < ELEMENTSOF(tone); i++) {
                static const int16_t period[16] = { 0,     3923,  7249,  9471,  10252, 9471,  7249,  3923,
                                                    0,     -3923, -7249, -9471, -10252, -9471, -7249, -3923 };
                tone[i] = period[i % 16];
        }
        if (write_file_atomic(in_path, tone, sizeof(tone), 0644) < 0)
                return EXIT_FAILURE;
        snprintf(config, sizeof(config),
                 "#!version:1.0.0.1\n"
                 "deskphone.audio.playback_device = null\n"
                 "deskphone.audio.capture_device = file:%s\n"
                 "deskphone.log_level.mediad = debug\n",
                 in_path);
        /* everything on stderr (mediad's log included) into a file, shown at the end */
        int saved_stderr = dup(STDERR_FILENO);
        int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (saved_stderr < 0 || log_fd < 0 || dup2(log_fd, STDERR_FILENO) < 0)
                return EXIT_FAILURE;
        close(log_fd);
        if (phone_start(config, "provd,mediad", &phone) < 0)
                return EXIT_FAILURE;
        if (wait_configured(in_path) < 0)
                return EXIT_FAILURE;
        int r = run_tests(tests, ELEMENTSOF(tests), argc, argv);
        phone_stop(phone);
        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        if (argc <= 1 && check_log(log_path) < 0)
                r = EXIT_FAILURE;
        for (size_t i = 0; i < n_keys_seen; i++)
                erase_and_free(keys_seen[i]);
        if (!getenv("DESKPHONE_TEST_KEEP"))
                (void) rm_rf(work_dir);
        return r;
}
