/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "macro.h"

/*
 * What mediad takes from the configuration (provd's Config1.GetAll), pure.
 * A key missing from the dictionary, or with a value out of range, takes the
 * default of services/provd/schema.c.
 */

#define MEDIAD_N_ACCOUNTS 16
#define MEDIAD_CODECS_MAX 4

typedef struct JitterSettings {
        bool adaptive;                  /* voice.jib.adaptive */
        unsigned min_ms, max_ms, normal_ms;
} JitterSettings;

typedef struct AccountMedia {
        const CodecOps *codecs[MEDIAD_CODECS_MAX];      /* enabled, by priority */
        size_t n_codecs;
        uint8_t opus_payload_type;      /* account.N.codec.opus.rtpmap */
        uint8_t dtmf_payload_type;      /* account.N.dtmf.dtmf_payload */
        unsigned dtmf_type;             /* 0 in-band, 1 RFC 4733, 2 SIP INFO, 3 RFC 4733 or in-band + INFO */
        unsigned ptime;                 /* ms, 0: not offered (we use 20) */
} AccountMedia;

typedef struct MediaSettings {
        unsigned port_min, port_max;    /* static.network.port.{min,max}_rtpport */
        char *playback_device;          /* deskphone.audio.*; "" = the board's */
        char *capture_device;
        char *board;                    /* deskphone.board */
        char *tone_country;             /* voice.tone.country */
        char *log_level;                /* deskphone.log_level.mediad, else deskphone.log_level */
        JitterSettings jitter;
        AccountMedia account[MEDIAD_N_ACCOUNTS];        /* account N at [N - 1] */
} MediaSettings;

/* From Config1.GetAll's dictionary (parallel NULL-terminated arrays; NULL: all defaults). */
int media_settings_from_dict(char * const *keys, char * const *values, MediaSettings *ret);
void media_settings_done(MediaSettings *s);

/* Account N's media settings; N 0 (direct IP calls) uses account 1's. */
const AccountMedia *media_settings_account(const MediaSettings *s, unsigned n);
