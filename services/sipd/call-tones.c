/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Call progress tones, as a desk phone plays them: one owner for the one tone
 * mediad plays (Media1.PlayTone/StopTone), decided over all calls at once
 * (call-tones-decide.c) each time one of them changes state.
 *
 * The timed tone: "busy" when an outgoing call gets 486, 600 or 603,
 * "congestion" when it fails otherwise (408, 480, 503, no answer from the
 * network, ...). It lasts features.busy_tone_delay seconds (0: never played)
 * and goes as soon as any call other than a held one starts. A call that was
 * answered ends in silence, whoever hangs up: whether the user still holds
 * the handset is for the user interface to know, not for us.
 *
 * mediad may be absent or refuse: calls go on, and we say so once. When
 * Media1 gets a new owner (mediad restarted), the tone is asked for again, and
 * StopTone goes out when sipd exits with a tone playing.
 */
#include "call-tones.h"
#include "log.h"
#include "util.h"

struct CallTones {
        Manager *manager;
        CallTone playing;               /* what we last asked mediad for */
        CallTone timed;                 /* busy or congestion after a call ended, until timer fires */
        sd_event_source *timer;
        int owner_match;                /* NameOwnerChanged, for Media1 */
        bool warned;                    /* mediad failed once: later failures are debug messages */
};

static CallToneCall call_tone_call(const Call *c) {
        return (CallToneCall){ .state = c->state, .direction = c->direction, .answer_wanted = c->answer_wanted };
}

/* The live calls, as the decision sees them; at most CALLS_MAX objects exist. */
static size_t collect_calls(Manager *m, CallToneCall calls[static CALLS_MAX]) {
        size_t n = 0;

        for (Call *c = m->calls; c && n < CALLS_MAX; c = c->next)
                if (call_is_live(c))
                        calls[n++] = call_tone_call(c);
        return n;
}

static void tones_stop_timed(CallTones *t) {
        t->timed = CALL_TONE_NONE;
        t->timer = sd_event_source_disable_unref(t->timer);
}

static void tones_send(Manager *m, CallTone tone) {
        const char *name = call_tone_to_string(tone);

        log_debug("Tone: %s -> %s", call_tone_to_string(m->tones->playing) ?: "none", name ?: "none");
        m->tones->playing = tone;
        int r = media_set_tone(m, name);
        if (r < 0)
                call_tones_on_reply(m, r, strerror(-r));
}

/* mediad (re)started: it plays nothing, so ask again for what should play. */
static void on_name_owner_changed(Bus *bus, DBusMessage *msg, void *userdata) {
        Manager *m = userdata;

        if (!bus_name_got_owner(msg, MEDIA1_NAME))
                return;
        m->tones->warned = false; /* a new mediad: its first failure is worth a warning again */
        if (m->tones->playing == CALL_TONE_NONE)
                return;
        log_debug("Media1 has a new owner, asking it for the %s tone again", call_tone_to_string(m->tones->playing));
        tones_send(m, m->tones->playing);
}

static int tones_ensure(Manager *m) {
        if (m->tones)
                return 0;
        CallTones *t = calloc(1, sizeof(CallTones));
        if (!t)
                return -ENOMEM;
        int r = bus_add_match_name_owner_changed(m->bus, on_name_owner_changed, m);
        if (r < 0) {
                free(t);
                return r;
        }
        t->manager = m;
        t->owner_match = r;
        m->tones = t;
        return 0;
}

void call_tones_update(Manager *m) {
        CallToneCall calls[CALLS_MAX];

        int r = tones_ensure(m);
        if (r < 0) {
                log_warning_errno(r, "Cannot follow the call progress tones: %m");
                return;
        }
        size_t n = collect_calls(m, calls);
        if (m->tones->timed != CALL_TONE_NONE && call_tone_timed_ends(calls, n)) {
                log_debug("A call takes over from the %s tone", call_tone_to_string(m->tones->timed));
                tones_stop_timed(m->tones);
        }
        CallTone tone = call_tone_decide(calls, n, m->tones->timed, m->settings.call_waiting_tone);
        if (tone != m->tones->playing)
                tones_send(m, tone);
}

static int on_timed_end(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        tones_stop_timed(m->tones);
        call_tones_update(m);
        return 0;
}

void call_tones_on_end(Call *c, unsigned status) {
        Manager *m = c->manager;
        unsigned delay = m->settings.busy_tone_delay;

        if (!call_is_live(c) || m->stopping || tones_ensure(m) < 0)
                return;
        CallToneCall cc = call_tone_call(c);
        CallTone tone = call_tone_for_end(&cc, status);
        if (tone == CALL_TONE_NONE || delay == 0)
                return;
        tones_stop_timed(m->tones);
        int r = sd_event_add_time_relative(m->event, &m->tones->timer, CLOCK_MONOTONIC, delay * USEC_PER_SEC, 0,
                                           on_timed_end, m);
        if (r < 0) {
                log_warning_errno(r, "Call %u: cannot time the %s tone, not playing it: %m", c->id,
                                  call_tone_to_string(tone));
                return;
        }
        m->tones->timed = tone;
        log_debug("Call %u: %s tone for %u s", c->id, call_tone_to_string(tone), delay);
        /* call_end() changes the state next, which plays it (call_tones_update()) */
}

/* Replies come in the order mediad handled the calls; each only tells how it
 * went, the state is ours (t->playing), so a late one changes nothing. */
void call_tones_on_reply(Manager *m, int error, const char *message) {
        if (error >= 0 || !m->tones)
                return;
        if (m->tones->warned) {
                log_debug("Media1 did not change the call progress tone: %s", message);
                return;
        }
        m->tones->warned = true;
        log_warning("Media1 does not play call progress tones (%s); calls go on without them", message);
}

CallTones *call_tones_free(CallTones *t) {
        if (!t)
                return NULL;
        if (t->playing != CALL_TONE_NONE)
                (void) media_stop_tone_no_reply(t->manager); /* no tone left playing after us */
        bus_remove_match(t->manager->bus, t->owner_match);
        sd_event_source_disable_unref(t->timer);
        free(t);
        return NULL;
}
