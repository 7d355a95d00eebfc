/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "bus.h"

/*
 * fake-media1: a test double of mediad that implements the Media1 contract
 * (doc/dev/media1-contract.md) without any audio. It binds real UDP port
 * pairs, so the ports it hands out are free, keeps the remote parameters it
 * was given as properties, and records every call in a log that tests read
 * back (manager property "Log", method FakeGetLog).
 */

#define MEDIA1_NAME "org.deskphone.Media1"
#define MEDIA1_PATH "/org/deskphone/Media1"
#define MEDIA1_IFACE "org.deskphone.Media1"
#define MEDIA1_STREAM_IFACE "org.deskphone.Media1.Stream"
#define MEDIA1_MANAGER_PATH "/org/deskphone"

#define FAKE_STREAMS_MAX 64
#define FAKE_LOG_MAX 4096
#define FAKE_CODECS_MAX 8

typedef struct Fake Fake;

typedef struct Codec {
        const char *name;
        uint32_t payload_type;
        uint32_t clock_rate;
        uint32_t channels;
        const char *fmtp;
} Codec;

typedef enum StreamState {
        STREAM_CREATED,
        STREAM_RUNNING,
        STREAM_HELD,
        STREAM_STOPPED,
} StreamState;

typedef struct Stream {
        Fake *fake;
        unsigned id;
        char path[64];
        int rtp_fd;
        int rtcp_fd;
        char *local_address;
        uint16_t local_port;
        const Codec *codecs[FAKE_CODECS_MAX];
        size_t n_codecs;
        uint32_t ptime;
        StreamState state;
        char *codec;
        char *remote_address;
        uint16_t remote_port;
        char *direction;
} Stream;

typedef struct Faults {
        bool create_fails;
        bool start_fails;
        bool no_audio_codec;    /* CreateStream offers telephone-event only */
        unsigned slow_create_ms;
} Faults;

struct Fake {
        sd_event *event;
        Bus *bus;
        Stream *streams[FAKE_STREAMS_MAX];
        unsigned next_id;
        char **log;
        size_t n_log;
        Faults faults;
};

extern const BusInterface fake_stream_interface;
extern const Codec fake_codecs[];

/* Record one call; the oldest entries go once the log is full. */
void fake_log(Fake *f, const char *format, ...) _printf_(2, 3);
/* "key=value key=value" of an a{sv} (iter points at the array). */
char *fake_format_dict(DBusMessageIter *iter);

const Codec *codec_find(const char *name);
const Codec *codec_find_payload_type(uint32_t pt);

/* Bind an even RTP port and the RTCP port above it on address; register the object. */
int stream_new(Fake *f, const char *address, Stream **ret);
Stream *stream_free(Stream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Stream *, stream_free);
const char *stream_state_to_string(StreamState s);
/* Append (o stream, a{sv} local) to a CreateStream reply. */
int stream_append_local(Stream *s, DBusMessageIter *iter);

/* Fault names as in FakeSetFault and $FAKE_MEDIA1_FAULTS. */
int fake_set_fault(Fake *f, const char *name, unsigned value);
