/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "audio-thread.h"
#include "board.h"
#include "bus.h"
#include "codec.h"
#include "dtmf.h"
#include "dtmf-inband.h"
#include "playout.h"
#include "resample.h"
#include "rtcp.h"
#include "rtp.h"
#include "sdes.h"
#include "settings.h"
#include "srtp-glue.h"
#include "tone.h"

#define MEDIA1_NAME "org.deskphone.Media1"
#define MEDIA1_PATH "/org/deskphone/Media1"
#define MEDIA1_IFACE "org.deskphone.Media1"
#define MEDIA1_STREAM_IFACE "org.deskphone.Media1.Stream"
#define MEDIAD_MANAGER_PATH "/org/deskphone"

#define CONFIG1_NAME "org.deskphone.Config1"
#define CONFIG1_PATH "/org/deskphone/Config1"
#define CONFIG1_IFACE "org.deskphone.Config1"

#define MEDIAD_STREAMS_MAX 16           /* a phone has a few calls at once; a peer cannot make more */
#define STREAM_CODECS_MAX (MEDIAD_CODECS_MAX + 2)
#define STREAM_PTIME_MAX 60
#define STREAM_RTCP_INTERVAL_MS 5000    /* RFC 3550 6.2's minimum, randomised 0.5..1.5 */
#define VOLUME_MAX 100

typedef struct Manager Manager;
typedef struct Stream Stream;

typedef enum StreamState {
        STREAM_CREATED,
        STREAM_RUNNING,
        STREAM_HELD,
        STREAM_STOPPED,
        _STREAM_STATE_MAX,
} StreamState;

typedef enum StreamDirection {
        STREAM_SENDRECV,
        STREAM_SENDONLY,
        STREAM_RECVONLY,
        STREAM_INACTIVE,
        _STREAM_DIRECTION_MAX,
        _STREAM_DIRECTION_INVALID = -EINVAL,
} StreamDirection;

const char *stream_state_to_string(StreamState s);
const char *stream_direction_to_string(StreamDirection d);
StreamDirection stream_direction_from_string(const char *s);

/* CreateStream's "srtp": what the stream offers and accepts. */
typedef enum SrtpMode {
        SRTP_MODE_OFF,                  /* no keys; plain RTP only */
        SRTP_MODE_OPTIONAL,             /* keys offered; Start with or without "crypto" */
        SRTP_MODE_COMPULSORY,           /* keys offered; Start and Update need "crypto" */
        _SRTP_MODE_MAX,
        _SRTP_MODE_INVALID = -EINVAL,
} SrtpMode;

const char *srtp_mode_to_string(SrtpMode m);
SrtpMode srtp_mode_from_string(const char *s);

/* One payload format we offer (CreateStream's "codecs"). */
typedef struct LocalFormat {
        const CodecOps *ops;            /* NULL: telephone-event */
        uint8_t payload_type;
        uint32_t clock_rate;
} LocalFormat;

/* CreateStream's options. */
typedef struct StreamOptions {
        unsigned account;
        const CodecOps *codecs[MEDIAD_CODECS_MAX];
        size_t n_codecs;                /* 0: the account's */
        unsigned ptime;                 /* 0: the account's */
        int family;                     /* AF_INET, AF_INET6 */
        bool family_given;
        const char *bind;               /* NULL: the wildcard */
        unsigned rtcp_interval_ms;      /* 0: STREAM_RTCP_INTERVAL_MS */
        SrtpMode srtp;
} StreamOptions;

/* Start/Update's remote parameters; has_* for what was given. */
typedef struct StreamRemote {
        const char *address;
        uint16_t port, rtcp_port;
        const char *codec;
        uint32_t payload_type, clock_rate, channels, ptime, dtmf_payload_type;
        const char *fmtp, *direction;
        const char *crypto, *local_crypto; /* NULL: not given; "": no SRTP (crypto only) */
        bool inband_detect;             /* "dtmf_inband_detect", when has_inband_detect */
        bool has_inband_detect;
        bool has_port, has_rtcp_port, has_payload_type, has_clock_rate, has_channels, has_ptime, has_dtmf;
} StreamRemote;

typedef struct StreamStats {
        uint64_t packets_sent, octets_sent;
        uint64_t packets_received, packets_lost;
        uint32_t jitter_usec, round_trip_usec;
        uint64_t remote_packets_lost;
        uint32_t remote_jitter_usec;
        double mos, r_factor;
        uint64_t srtp_auth_failures, srtp_replays, srtcp_auth_failures, srtcp_replays;
} StreamStats;

/* A stream's SRTP state (stream-srtp.c). Secrets: wiped when the stream goes. */
typedef struct StreamSrtp {
        SrtpMode mode;
        SdesCrypto local[_SRTP_SUITE_MAX];      /* our keys, one per suite, tag = suite + 1 */
        size_t n_local;
        SrtpSession *out[_SRTP_SUITE_MAX];      /* per key of ours, made on its first use, kept for the
                                                 * stream's life (a key never starts its index over) */
        SrtpSession *send;                      /* one of out[] or retired, NULL: RTP goes in the clear */
        SrtpSession *retired;                   /* ours from before NewKeys, still sending until Update */
        SrtpSession *recv;                      /* the peer's key; NULL: RTP comes in the clear */
        SdesCrypto remote;                      /* what recv was made from */
        SrtpSession *recv_old;                  /* the peer's previous key, for packets in flight */
        uint64_t recv_old_until;                /* monotonic µs */
        uint64_t auth_failures[2], replays[2];  /* [0] SRTP, [1] SRTCP */
} StreamSrtp;

struct Stream {
        Manager *manager;
        unsigned id;
        char path[64];
        char *owner;                    /* unique bus name of the creator */
        StreamState state;
        StreamDirection direction;

        /* local side */
        int family;
        char *local_address;
        uint16_t local_port;
        int rtp_fd, rtcp_fd;
        sd_event_source *rtp_source, *rtcp_source, *rtcp_timer, *stats_timer;
        LocalFormat formats[STREAM_CODECS_MAX];
        size_t n_formats;
        unsigned ptime;
        unsigned rtcp_interval_ms;

        /* negotiated */
        Codec *codec;
        Playout *playout;
        uint8_t send_pt, recv_pt;       /* the peer's number and ours for the codec */
        uint8_t dtmf_send_pt, dtmf_recv_pt; /* 0: none */
        unsigned send_ptime;
        char *remote_address;
        uint16_t remote_port, remote_rtcp_port;
        struct sockaddr_storage remote_rtp, remote_rtcp;
        socklen_t remote_len;

        /* sending */
        uint32_t ssrc;
        uint16_t seq;
        uint32_t ts;
        bool marker_next;
        int16_t capture[AUDIO_RATE * STREAM_PTIME_MAX / 1000];
        size_t capture_fill;
        Downsampler down;
        DtmfSender dtmf_tx;
        DtmfInbandTx inband_tx;         /* SendDtmfInband (stream-dtmf.c) */
        uint64_t stats_sent_packets, stats_sent_octets;
        bool sent_since_report;
        uint32_t last_sent_ts;

        /* receiving */
        RtpSource source;
        bool have_source;
        DtmfReceiver dtmf_rx;
        DtmfInbandRx *inband_rx;        /* NULL unless "dtmf_inband_detect" (stream-dtmf.c) */
        uint64_t invalid_packets, ssrc_changes;
        uint32_t last_sr_middle;        /* LSR for our reports */
        uint64_t last_sr_usec;          /* when it came (monotonic) */
        bool have_remote_report;
        RtcpReportBlock remote_report;
        uint32_t round_trip_usec;
        bool have_round_trip;

        StreamSrtp srtp;

        StreamStats published;          /* what the properties last said */
};

struct Manager {
        sd_event *event;
        Bus *bus;
        MediaSettings settings;
        bool have_settings;
        Board *board;
        AudioRoute route;
        unsigned volume;                /* 0..VOLUME_MAX, percent of full gain */
        bool mute;
        char cname[32];                 /* RTCP CNAME, random per process (RFC 7022) */

        Stream *streams[MEDIAD_STREAMS_MAX];
        unsigned next_stream_id;
        unsigned next_port;

        AudioThread *audio;
        char *audio_playback, *audio_capture; /* device names the thread was started with */
        float gain;                     /* applied to playback, follows volume smoothly */
        ToneGen tone;
        bool tone_playing;
        ToneId tone_id;

        /* configuration from provd */
        bool fetching, refetch, stopping;
        unsigned fetch_failures;
        sd_event_source *fetch_retry;
};

/* manager.c */
int manager_new(sd_event *event, Bus *bus, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_start(Manager *m);
int manager_add_stream(Manager *m, Stream *s);
void manager_remove_stream(Manager *m, Stream *s);
/* Start or stop the audio thread as streams and tones need it. */
void manager_update_audio(Manager *m);
int manager_set_route(Manager *m, AudioRoute route, BusError *error);
int manager_set_volume(Manager *m, unsigned volume);
int manager_set_mute(Manager *m, bool mute);
int manager_play_tone(Manager *m, ToneId id, BusError *error);
void manager_stop_tone(Manager *m);
const char *manager_playback_device(Manager *m);
const char *manager_capture_device(Manager *m);
/* Bind an even RTP port and the RTCP port above it in the configured range. */
int manager_bind_ports(Manager *m, int family, const char *address, int *ret_rtp, int *ret_rtcp, uint16_t *ret_port);

/* stream.c */
int stream_new(Manager *m, const char *owner, const StreamOptions *o, Stream **ret, BusError *error);
Stream *stream_free(Stream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Stream *, stream_free);
int stream_start(Stream *s, const StreamRemote *r, BusError *error);
int stream_update(Stream *s, const StreamRemote *r, BusError *error);
int stream_hold(Stream *s, StreamDirection d, BusError *error);
int stream_send_dtmf(Stream *s, const char *digits, BusError *error);
void stream_stop(Stream *s);
bool stream_is_active(const Stream *s);
/* One 10 ms frame captured / wanted (16 kHz). */
void stream_capture(Stream *s, const int16_t *frame);
bool stream_playout(Stream *s, int16_t *frame);
void stream_get_stats(Stream *s, StreamStats *ret);
int stream_append_local(Stream *s, DBusMessageIter *iter);
void stream_apply_jitter_settings(Stream *s);

/* stream-dtmf.c: in-band DTMF */
int stream_send_dtmf_inband(Stream *s, const char *digits, BusError *error);
int stream_dtmf_apply(Stream *s, const StreamRemote *r);  /* "dtmf_inband_detect" of Start/Update */
void stream_dtmf_done(Stream *s);
/* A packet time of voice at 16 kHz, before encoding: the tones replace it while digits are on. */
void stream_dtmf_fill(Stream *s, int16_t *pcm, size_t n);
/* A decoded frame (16 kHz), while detection is on. */
void stream_dtmf_detect(Stream *s, const int16_t *frame, size_t n);

/* stream-srtp.c: keys, SRTP sessions, protect/unprotect */
int stream_srtp_init(Stream *s, SrtpMode mode);
void stream_srtp_done(Stream *s);
int stream_srtp_append_crypto(Stream *s, DBusMessageIter *array);
/* NewKeys: fresh keys for every suite; the one in use goes on until Update names a new one. */
int stream_srtp_new_keys(Stream *s, BusError *error);
int stream_srtp_check(Stream *s, const StreamRemote *r, bool start, BusError *error);
int stream_srtp_apply(Stream *s, const StreamRemote *r, BusError *error);
/* In place; 0 when the packet goes out / may be used (also in the clear, when no SRTP). */
int stream_srtp_protect(Stream *s, bool rtcp, uint8_t *buf, size_t *size, size_t buf_size);
int stream_srtp_unprotect(Stream *s, bool rtcp, uint8_t *buf, size_t *size);
/* "none" or "srtp:<SUITE>": what is on the wire. */
const char *stream_srtp_encryption(const Stream *s);

/* stream-io.c: sockets, RTP, RTCP, statistics */
int stream_local_address(Stream *s, const char *bind);
int stream_io_start(Stream *s);         /* watch the sockets */
void stream_io_started(Stream *s);      /* Start: timers, counters */
void stream_io_stop(Stream *s);
/* While the audio thread runs, the loop polls each RTP socket once per period instead of watching it. */
void stream_io_watch(Stream *s, bool watch);
void stream_io_poll(Stream *s);
void stream_io_bye(Stream *s);          /* RTCP BYE */
void stream_jitter_config(const Stream *s, JitterConfig *ret);

/* mediad-bus.c */
extern const BusInterface media1_interface;
extern const BusInterface media1_stream_interface;
