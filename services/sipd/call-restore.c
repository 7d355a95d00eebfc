/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A call whose mediad went away (crashed, stopped, replaced): the stream was
 * mediad's, so sipd acts on what the peer was told of it
 * (doc/architecture.md, "When mediad goes away in a call"):
 *   - ringing, incoming: nothing sent names the stream; it rings on and asks
 *     the next mediad for one (call.c answers once it is there);
 *   - established: the next mediad's stream is offered in a re-INVITE
 *     (REINVITE_RESTORE, call-reinvite.c), within MEDIA_RESTORE_USEC;
 *   - anything else: the call ends, "media service stopped".
 */
#include "call-internal.h"
#include "log.h"
#include "util.h"

void call_end_media_stopped(Call *c) {
        if (!call_is_live(c))
                return;
        call_hang_up_now(c);
        call_end(c, "media service stopped");
}

static int on_restore_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Call *c = userdata;

        c->restore_timer = sd_event_source_disable_unref(c->restore_timer);
        if (c->restore_retry && call_is_live(c) && c->reinvite == REINVITE_RESTORE && c->stream) {
                c->restore_retry = false; /* after a 491: offer the new stream again */
                call_restore_offer(c);
                return 0;
        }
        if (call_is_live(c) && c->reinvite == REINVITE_RESTORE && !c->stream_started) {
                log_warning("Call %u: no new media stream within %u s, ending the call", c->id,
                            (unsigned) (MEDIA_RESTORE_USEC / USEC_PER_SEC));
                call_end_media_stopped(c);
        }
        return 0;
}

bool call_restore_retry(Call *c) {
        uint64_t wait = 2100 * 1000 + call_random_u63() % (1900 * 1000); /* µs */

        if (++c->restore_491s > 3)
                return false;
        c->restore_timer = sd_event_source_disable_unref(c->restore_timer);
        if (sd_event_add_time_relative(c->manager->event, &c->restore_timer, CLOCK_MONOTONIC, wait, 0,
                                       on_restore_timeout, c) < 0)
                return false;
        c->restore_retry = true;
        return true;
}

/* An established call without its stream: a new one from the next mediad, offered in a
 * re-INVITE (call_restore_offer()); not possible while another offer/answer is under way. */
static bool restore_established(Call *c) {
        if ((c->state != CALL_ACTIVE && c->state != CALL_HELD) || !c->sip || !c->local ||
            c->reinvite != REINVITE_NONE || c->offer || c->offer_in_answer)
                return false;
        int r = sd_event_add_time_relative(c->manager->event, &c->restore_timer, CLOCK_MONOTONIC,
                                           MEDIA_RESTORE_USEC, 0, on_restore_timeout, c);
        if (r < 0)
                return false;
        c->reinvite = REINVITE_RESTORE; /* Hold/Resume wait, the peer's re-INVITEs get 491 */
        return true;
}

void call_on_media_gone(Call *c) {
        if (!call_is_live(c) || !c->stream)
                return;
        /* not stopped: a new mediad may have given the same path to another call */
        free(c->stream);
        c->stream = NULL;
        c->stream_started = false;
        call_dtmf_on_stream_lost(c);
        if (c->state == CALL_INCOMING && !c->answer_wanted) {
                /* nothing sent refers to it yet: the call rings on and gets a new stream */
                log_warning("Call %u: mediad went away before the call was answered; a new stream when it is back",
                            c->id);
                if (c->local) {
                        sdp_local_erase(c->local);
                        free(c->local);
                        c->local = NULL;
                }
                c->stream_lost = true;
                return;
        }
        if (restore_established(c)) {
                log_warning("Call %u: mediad went away; a new stream when it is back, offered in a re-INVITE",
                            c->id);
                c->stream_lost = true;
                return;
        }
        log_warning("Call %u: mediad went away and its stream with it: ending the call", c->id);
        call_end_media_stopped(c);
}

void call_on_media_back(Call *c) {
        if (!call_is_live(c) || !c->stream_lost)
                return;
        c->stream_lost = false;
        log_info("Call %u: asking the new mediad for a stream", c->id);
        int r = call_request_stream(c);
        if (r < 0) {
                log_warning_errno(r, "Call %u: cannot ask for a new stream: %m", c->id);
                call_end_media_stopped(c);
        }
}
