/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

/*
 * A board description: hw/<name>/board.cfg, in the same "key = value" format
 * as the phone's configuration files (common/cfg-parse.h). The audio part:
 *
 *   audio.handset.playback = <device>     what audio.h's device names allow
 *   audio.handset.capture  = <device>
 *   audio.headset.playback / .capture     a route without both keys is absent
 *   audio.speaker.playback / .capture
 *   audio.route            = handset      the route a call starts on
 *
 * Other keys (keypad, LEDs, display) belong to uid and are ignored here.
 * Search path: $DESKPHONE_HW_DIR, then the installed DATADIR/hw, then the
 * source tree's hw/ (so a build runs without installing). "desktop" works
 * even when no file is found: ALSA "default" for every route.
 */

typedef enum AudioRoute {
        AUDIO_ROUTE_HANDSET,
        AUDIO_ROUTE_HEADSET,
        AUDIO_ROUTE_SPEAKER,
        _AUDIO_ROUTE_MAX,
        _AUDIO_ROUTE_INVALID = -EINVAL,
} AudioRoute;

const char *audio_route_to_string(AudioRoute r);
AudioRoute audio_route_from_string(const char *s);

typedef struct BoardRoute {
        bool present;
        char *playback;
        char *capture;
} BoardRoute;

typedef struct Board {
        char *name;
        char *path;                     /* the file read, NULL for the built-in desktop */
        BoardRoute routes[_AUDIO_ROUTE_MAX];
        AudioRoute default_route;
} Board;

/* -ENOENT when no file describes the board (and it is not "desktop"), -EINVAL
 * for a bad name or file (logged with file:line). */
int board_load(const char *name, Board **ret);
Board *board_free(Board *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Board *, board_free);
