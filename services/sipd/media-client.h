/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus.h"
#include "sdp.h"

/*
 * sipd as a client of org.deskphone.Media1 (doc/dev/media1-contract.md).
 * Every call is asynchronous; replies are routed to the call by its id, so a
 * call that ended meanwhile is simply not found (and a stream created for it
 * is stopped at once).
 */

#define MEDIA1_NAME "org.deskphone.Media1"
#define MEDIA1_PATH "/org/deskphone/Media1"
#define MEDIA1_IFACE "org.deskphone.Media1"
#define MEDIA1_STREAM_IFACE "org.deskphone.Media1.Stream"

typedef struct Manager Manager;
typedef struct Call Call;

typedef struct MediaOptions {
        unsigned account;
        char * const *codecs;   /* preference order; NULL: mediad's default */
        unsigned ptime;         /* 0: not given */
        const char *srtp;       /* "off", "optional", "compulsory" */
        const char *bind;       /* local address; NULL: mediad's default */
} MediaOptions;

/* What new SRTP keys are for (Stream.NewKeys before a new offer or answer, RFC 4568 7.1.4). */
typedef enum MediaKeysFor {
        MEDIA_KEYS_FOR_REINVITE,        /* our re-INVITE's offer */
        MEDIA_KEYS_FOR_ANSWER,          /* the answer to the peer's re-INVITE (its offer in c->offer) */
        MEDIA_KEYS_FOR_OFFER_IN_ANSWER, /* our offer in the 200 to a re-INVITE without SDP */
} MediaKeysFor;

/* CreateStream; call_on_stream_created() gets the answer. */
int media_create_stream(Manager *m, unsigned call_id, const MediaOptions *o);
/* Start (first time) or Update (later) with the negotiated remote side;
 * call_on_stream_failed() hears about errors, call_on_media_encryption() what
 * the stream then has on the wire (its Encryption property). */
int media_stream_start(Manager *m, unsigned call_id, const char *stream, const SdpNegotiated *n, bool update,
                       int inband_detect); /* "dtmf_inband_detect": 1, 0, or -1 not given */
/* Stream.NewKeys; call_on_new_keys() gets them. */
int media_stream_new_keys(Manager *m, unsigned call_id, const char *stream, MediaKeysFor purpose);
int media_stream_hold(Manager *m, unsigned call_id, const char *stream, SdpDirection d);
/* Release the stream; errors are only logged. */
int media_stream_stop(Manager *m, const char *stream);
/* Media1.PlayTone(tone), or StopTone() when tone is NULL; call_tones_on_reply() hears how it went. */
int media_set_tone(Manager *m, const char *tone);
/* StopTone() without waiting for the reply: on the way out, when nobody would hear it. */
int media_stop_tone_no_reply(Manager *m);

/* The remote parameters of Stream.Start as an a{sv} (exposed for tests). */
int media_append_remote(DBusMessageIter *iter, const SdpNegotiated *n);
/* Fill l from CreateStream's "local" a{sv} (iter at the array). -EBADMSG when unusable. */
int media_parse_local(DBusMessageIter *iter, SdpLocal *l);

/* Implemented by call.c. local is NULL on error; the callee may keep neither pointer. */
void call_on_stream_created(Call *c, int error, const char *message, const char *stream, const SdpLocal *local);
void call_on_stream_failed(Call *c, int error, const char *message);
/* mediad left the bus (crashed, stopped or restarted): the call's stream is gone.
 * A call that is only ringing waits for call_on_media_back() (mediad has a new
 * owner) and asks it for a new stream; any other call ends. */
void call_on_media_gone(Call *c);
void call_on_media_back(Call *c);
/* "none" or "srtp:<SUITE>", as mediad says after Start/Update. */
void call_on_media_encryption(Call *c, const char *encryption);
/* crypto: NULL-terminated a=crypto values (secret; wiped and freed by the caller), NULL on error. */
void call_on_new_keys(Call *c, MediaKeysFor purpose, int error, const char *message, char * const *crypto);
/* Implemented by call-tones.c: the answer to media_set_tone(); message is NULL on success. */
void call_tones_on_reply(Manager *m, int error, const char *message);
