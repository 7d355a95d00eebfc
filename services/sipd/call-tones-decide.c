/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which call progress tone plays, decided over all calls at once (see
 * call-tones.c for when, and dbus/sip-call-api.txt for the contract):
 *
 *   a call is active (talking)          -> "call-waiting" while another call
 *                                          rings in (call_waiting.tone), else none
 *   else an outgoing call rings (180    -> "ringback"
 *        without SDP)
 *   else a call is engaged (dialing,    -> "call-waiting" for a call ringing in,
 *        early media, held, answered)      else the timed tone if any
 *   else an incoming call rings         -> "ring" (the ringer)
 *   else                                -> the timed tone, or none
 *
 * A held call counts as engaged: the user is in a call (handset or speaker
 * open, the held party on the screen), so a new call gets the call-waiting
 * tone, not the ringer, as on Yealink phones; and a busy tone after a second
 * call failed plays while the first one waits on hold.
 */
#include "call-tones.h"

static const char * const tone_names[_CALL_TONE_MAX] = {
        [CALL_TONE_NONE] = NULL,
        [CALL_TONE_RINGBACK] = "ringback",
        [CALL_TONE_RING] = "ring",
        [CALL_TONE_CALL_WAITING] = "call-waiting",
        [CALL_TONE_BUSY] = "busy",
        [CALL_TONE_CONGESTION] = "congestion",
};

const char *call_tone_to_string(CallTone t) {
        return t < _CALL_TONE_MAX ? tone_names[t] : NULL;
}

typedef struct CallSummary {
        bool talking;                   /* active */
        bool ringing_out;               /* outgoing, the peer rings */
        bool engaged;                   /* a live call that is not ringing in */
        bool taking_over;               /* a live call that is not held: the timed tone goes */
        bool ringing_in;                /* incoming, not answered */
} CallSummary;

static void summarize_one(const CallToneCall *c, CallSummary *s) {
        switch (c->state) {
        case CALL_ACTIVE:
                s->talking = s->engaged = s->taking_over = true;
                break;
        case CALL_RINGING:
                s->ringing_out = s->engaged = s->taking_over = true;
                break;
        case CALL_DIALING:
        case CALL_EARLY:
                s->engaged = s->taking_over = true;
                break;
        case CALL_HELD:
                s->engaged = true;
                break;
        case CALL_INCOMING:
                if (c->answer_wanted)
                        s->engaged = true;
                else
                        s->ringing_in = true;
                s->taking_over = true;
                break;
        case CALL_ENDED:
        case _CALL_STATE_MAX:
                break;
        }
}

static CallSummary summarize(const CallToneCall *calls, size_t n_calls) {
        CallSummary s = {};

        for (size_t i = 0; i < n_calls; i++)
                summarize_one(&calls[i], &s);
        return s;
}

CallTone call_tone_decide(const CallToneCall *calls, size_t n_calls, CallTone timed, bool call_waiting_tone) {
        CallSummary s = summarize(calls, n_calls);
        CallTone waiting = s.ringing_in && call_waiting_tone ? CALL_TONE_CALL_WAITING : CALL_TONE_NONE;

        if (s.taking_over)
                timed = CALL_TONE_NONE;
        if (s.talking)
                return waiting;
        if (s.ringing_out)
                return CALL_TONE_RINGBACK;
        if (s.engaged)
                return s.ringing_in ? waiting : timed;
        if (s.ringing_in)
                return CALL_TONE_RING;
        return timed;
}

bool call_tone_timed_ends(const CallToneCall *calls, size_t n_calls) {
        return summarize(calls, n_calls).taking_over;
}

CallTone call_tone_for_end(const CallToneCall *c, unsigned status) {
        if (c->direction != CALL_OUTGOING_DIRECTION ||
            (c->state != CALL_DIALING && c->state != CALL_RINGING && c->state != CALL_EARLY))
                return CALL_TONE_NONE;
        switch (status) {
        case 486: /* Busy Here */
        case 600: /* Busy Everywhere */
        case 603: /* Decline */
                return CALL_TONE_BUSY;
        case 487: /* Request Terminated: our own CANCEL */
                return CALL_TONE_NONE;
        }
        return status >= 300 ? CALL_TONE_CONGESTION : CALL_TONE_NONE;
}
