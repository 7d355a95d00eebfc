/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Call progress tones, as a desk phone plays them: one owner for the one tone
 * mediad plays (Media1.PlayTone/StopTone), decided over all calls at once each
 * time one of them changes state.
 *
 *   a call is active (talking)         -> "call-waiting" while another call
 *                                         rings in (call_waiting.tone), else none
 *   else an outgoing call rings (180   -> "ringback"
 *        without SDP)
 *   else a call is in progress (dialing, early media, held, being answered)
 *                                      -> "call-waiting" for a ringing incoming
 *                                         call, else the timed tone if any
 *   else an incoming call rings        -> "ring" (the ringer)
 *   else                               -> the timed tone, or none
 *
 * The timed tone: "busy" when an outgoing call gets 486, 600 or 603,
 * "congestion" when it fails otherwise (408, 480, 503, no answer from the
 * network, ...). It lasts features.busy_tone_delay seconds (0: never played)
 * and goes as soon as any call other than a held one starts. A call that was
 * answered ends in silence, whoever hangs up: whether the user still holds
 * the handset is for the user interface to know, not for us.
 *
 * mediad may be absent or refuse: calls go on, and we say so once.
 */
#include "log.h"
#include "sipd.h"
#include "util.h"

typedef enum CallTone {
        CALL_TONE_NONE,
        CALL_TONE_RINGBACK,
        CALL_TONE_RING,
        CALL_TONE_CALL_WAITING,
        CALL_TONE_BUSY,
        CALL_TONE_CONGESTION,
        _CALL_TONE_MAX,
} CallTone;

struct CallTones {
        CallTone playing;               /* what we last asked mediad for */
        CallTone timed;                 /* busy or congestion after a call ended, until timer fires */
        sd_event_source *timer;
        bool warned;                    /* mediad failed once: later failures are debug messages */
};

/* Media1's names; NULL: StopTone */
static const char * const tone_names[_CALL_TONE_MAX] = {
        [CALL_TONE_NONE] = NULL,
        [CALL_TONE_RINGBACK] = "ringback",
        [CALL_TONE_RING] = "ring",
        [CALL_TONE_CALL_WAITING] = "call-waiting",
        [CALL_TONE_BUSY] = "busy",
        [CALL_TONE_CONGESTION] = "congestion",
};

/* What the calls are doing, for the decision. */
typedef struct CallSummary {
        bool talking;                   /* active */
        bool ringback;                  /* outgoing, the peer rings */
        bool in_progress;               /* any live call that is not ringing in */
        bool busy_elsewhere;            /* a live call that is neither held nor ringing in */
        bool ringing_in;                /* incoming, not answered yet */
} CallSummary;

static void summarize(Manager *m, CallSummary *ret) {
        CallSummary s = {};

        for (Call *c = m->calls; c; c = c->next)
                switch (c->state) {
                case CALL_ACTIVE:
                        s.talking = s.in_progress = s.busy_elsewhere = true;
                        break;
                case CALL_RINGING:
                        s.ringback = s.in_progress = s.busy_elsewhere = true;
                        break;
                case CALL_DIALING:
                case CALL_EARLY:
                        s.in_progress = s.busy_elsewhere = true;
                        break;
                case CALL_HELD:
                        s.in_progress = true;
                        break;
                case CALL_INCOMING:
                        if (c->answer_wanted)
                                s.in_progress = s.busy_elsewhere = true;
                        else
                                s.ringing_in = s.busy_elsewhere = true;
                        break;
                case CALL_ENDED:
                case _CALL_STATE_MAX:
                        break;
                }
        *ret = s;
}

static CallTone wanted_tone(Manager *m, const CallSummary *s) {
        CallTone waiting = s->ringing_in && m->settings.call_waiting_tone ? CALL_TONE_CALL_WAITING : CALL_TONE_NONE;

        if (s->talking)
                return waiting;
        if (s->ringback)
                return CALL_TONE_RINGBACK;
        if (s->in_progress)
                return s->ringing_in ? waiting : m->tones->timed;
        if (s->ringing_in)
                return CALL_TONE_RING;
        return m->tones->timed;
}

static void tones_stop_timed(CallTones *t) {
        t->timed = CALL_TONE_NONE;
        t->timer = sd_event_source_disable_unref(t->timer);
}

static void tones_send(Manager *m, CallTone tone) {
        CallTones *t = m->tones;

        log_debug("Tone: %s -> %s", strempty(tone_names[t->playing]), strempty(tone_names[tone]));
        t->playing = tone;
        int r = media_set_tone(m, tone_names[tone]);
        if (r < 0)
                call_tones_on_reply(m, r, strerror(-r));
}

static int tones_ensure(Manager *m) {
        if (m->tones)
                return 0;
        m->tones = calloc(1, sizeof(CallTones));
        return m->tones ? 0 : -ENOMEM;
}

void call_tones_update(Manager *m) {
        CallSummary s;

        if (tones_ensure(m) < 0) {
                log_oom();
                return;
        }
        summarize(m, &s);
        if (s.busy_elsewhere && m->tones->timed != CALL_TONE_NONE)
                tones_stop_timed(m->tones); /* a new call takes over */
        CallTone tone = wanted_tone(m, &s);
        if (tone != m->tones->playing)
                tones_send(m, tone);
}

static int on_timed_end(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        tones_stop_timed(m->tones);
        call_tones_update(m);
        return 0;
}

/* busy, congestion or none for how c ended; see the top of the file. */
static CallTone timed_tone_for(const Call *c, unsigned status) {
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

void call_tones_on_end(Call *c, unsigned status) {
        Manager *m = c->manager;
        unsigned delay = m->settings.busy_tone_delay;

        if (!call_is_live(c) || m->stopping || tones_ensure(m) < 0)
                return;
        CallTone tone = timed_tone_for(c, status);
        if (tone == CALL_TONE_NONE || delay == 0)
                return;
        tones_stop_timed(m->tones);
        int r = sd_event_add_time_relative(m->event, &m->tones->timer, CLOCK_MONOTONIC, delay * USEC_PER_SEC, 0,
                                           on_timed_end, m);
        if (r < 0) {
                log_warning_errno(r, "Call %u: cannot time the %s tone, not playing it: %m", c->id, tone_names[tone]);
                return;
        }
        m->tones->timed = tone;
        log_debug("Call %u: %s tone for %u s", c->id, tone_names[tone], delay);
        /* call_end() changes the state next, which plays it (call_tones_update()) */
}

void call_tones_on_reply(Manager *m, int error, const char *message) {
        if (error >= 0 || !m->tones)
                return;
        if (m->tones->warned) {
                log_debug("Media1 did not play the call progress tone: %s", message);
                return;
        }
        m->tones->warned = true;
        log_warning("Media1 does not play call progress tones (%s); calls go on without them", message);
}

CallTones *call_tones_free(CallTones *t) {
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->timer);
        free(t);
        return NULL;
}
