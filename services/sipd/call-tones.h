/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sipd.h"

/*
 * The pure part of call-tones.c: which one call progress tone plays, from the
 * calls and the timed tone alone (no loop, no bus), so that a unit test covers
 * it case by case (tests/unit/test-call-tones.c).
 */

typedef enum CallTone {
        CALL_TONE_NONE,
        CALL_TONE_RINGBACK,
        CALL_TONE_RING,
        CALL_TONE_CALL_WAITING,
        CALL_TONE_BUSY,
        CALL_TONE_CONGESTION,
        _CALL_TONE_MAX,
} CallTone;

/* One call as the decision sees it. */
typedef struct CallToneCall {
        CallState state;
        CallDirection direction;
        bool answer_wanted;             /* incoming: Answer() came, the ringing is over */
} CallToneCall;

/* Media1's name for the tone; NULL for none (StopTone). */
const char *call_tone_to_string(CallTone t);
/* The tone to play now; timed is the busy or congestion tone still running, or none. */
CallTone call_tone_decide(const CallToneCall *calls, size_t n_calls, CallTone timed, bool call_waiting_tone);
/* True when a call takes over from the timed tone: any live call but a held one. */
bool call_tone_timed_ends(const CallToneCall *calls, size_t n_calls);
/* The timed tone a call ending with this final status starts: busy, congestion or none. */
CallTone call_tone_for_end(const CallToneCall *c, unsigned status);
