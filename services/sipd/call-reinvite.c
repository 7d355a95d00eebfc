/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A call's offer/answer after it is established: our re-INVITEs (Hold(),
 * Resume()) and their answers, the peer's re-INVITEs (with SDP, or without:
 * we offer in the 200 and the answer comes with the ACK), and new SRTP keys
 * for each new offer or answer (RFC 4568 7.1.4: Stream.NewKeys, then
 * call_on_new_keys() sends what waited for them). One at a time: while one is
 * under way, Hold()/Resume() are refused and the peer's re-INVITE gets 491.
 * The call's life and its first offer/answer are call.c's.
 */
#include "call-internal.h"
#include "log.h"
#include "util.h"

/* ---- SRTP keys ---- */

/* A new offer or answer with SRTP gets new keys first (RFC 4568 7.1.4, Stream.NewKeys). */
static bool wants_new_keys(const Call *c) {
        return c->stream && c->local && c->local->srtp != SDP_SRTP_OFF && c->local->n_crypto > 0;
}

/* Our a=crypto lines from Stream.NewKeys in place of the old ones; all or nothing. */
static int replace_keys(Call *c, char * const *crypto) {
        SdpLocal *l = malloc(sizeof(SdpLocal));
        int r = 0;

        if (!l)
                return -ENOMEM;
        *l = *c->local;
        explicit_bzero(l->crypto, sizeof(l->crypto));
        l->n_crypto = 0;
        for (size_t i = 0; r >= 0 && crypto[i]; i++)
                r = sdp_local_add_crypto(l, crypto[i]);
        if (r >= 0 && l->n_crypto == 0)
                r = -EBADMSG;
        if (r >= 0) {
                sdp_local_erase(c->local);
                *c->local = *l;
        }
        sdp_local_erase(l);
        free(l);
        return r;
}

/* Our re-INVITE what did not happen: the direction it asked for goes back. */
static void undo_direction(Call *c, CallReinvite what) {
        if (what == REINVITE_HOLD || what == REINVITE_RESUME)
                c->local->direction = what == REINVITE_HOLD ? SDP_DIRECTION_SENDRECV : SDP_DIRECTION_SENDONLY;
}

/* ---- ours: Hold() and Resume() ---- */

/* The re-INVITE of c->reinvite with c->local as it is now; undone on failure. */
static int offer_reinvite(Call *c) {
        _cleanup_(erase_and_freep) char *offer = NULL;

        int r = c->sip ? sdp_make_offer(c->local, &c->origin, &offer) : -ESTALE;
        if (r >= 0)
                r = sip_call_reinvite(c->sip, offer);
        if (r < 0) {
                undo_direction(c, c->reinvite);
                c->reinvite = REINVITE_NONE;
        }
        return r;
}

static int send_reinvite(Call *c, SdpDirection d, CallReinvite what) {
        c->local->direction = d;
        c->reinvite = what;
        if (wants_new_keys(c)) {
                int r = media_stream_new_keys(c->manager, c->id, c->stream, MEDIA_KEYS_FOR_REINVITE);
                if (r >= 0)
                        return 0; /* sent from call_on_new_keys() */
                log_warning_errno(r, "Call %u: cannot ask for new SRTP keys, offering the old ones: %m", c->id);
        }
        return offer_reinvite(c);
}

/* ---- ours: a new stream after mediad was replaced ---- */

void call_restore_offer(Call *c) {
        /* the peer's SDP stays as it was, but the new stream must be started with it */
        sdp_session_free(c->remote);
        c->remote = NULL;
        log_info("Call %u: offering the new media stream (%s port %u) in a re-INVITE", c->id, c->local->address,
                 c->local->port);
        c->reinvite = REINVITE_RESTORE;
        if (offer_reinvite(c) < 0) {
                log_warning("Call %u: cannot send the re-INVITE for the new media stream", c->id);
                call_end_media_stopped(c);
                return;
        }
        /* sent: the INVITE transaction has its own timeout */
        c->restore_timer = sd_event_source_disable_unref(c->restore_timer);
}

/* A re-INVITE (ours, or the peer's we answer) is under way. */
static bool being_changed(const Call *c) {
        return c->reinvite != REINVITE_NONE || c->offer || c->offer_in_answer || !c->sip || !c->local;
}

int call_hold(Call *c, BusError *error) {
        if ((c->state != CALL_ACTIVE && c->state != CALL_HELD) || c->local_hold)
                return call_wrong_state(c, error, "only an active call can be put on hold");
        if (being_changed(c))
                return bus_error_set(error, -EALREADY, "Call %u is being changed, try again", c->id);
        return send_reinvite(c, SDP_DIRECTION_SENDONLY, REINVITE_HOLD);
}

int call_resume(Call *c, BusError *error) {
        if (c->state != CALL_HELD || !c->local_hold)
                return call_wrong_state(c, error, "only a call we put on hold can be resumed");
        if (being_changed(c))
                return bus_error_set(error, -EALREADY, "Call %u is being changed, try again", c->id);
        return send_reinvite(c, SDP_DIRECTION_SENDRECV, REINVITE_RESUME);
}

/* ---- the answer to ours ---- */

void call_on_reinvite_answered(Call *c, const SipCallEvent *e) {
        CallReinvite what = c->reinvite;
        SdpError err = {};

        c->reinvite = REINVITE_NONE;
        if (!e->sdp || call_take_answer(c, e->sdp, e->sdp_size, &err) < 0) {
                log_warning("Call %u: bad answer to our re-INVITE: %s", c->id, e->sdp ? err.reason : "no SDP");
                if (what == REINVITE_RESTORE) /* the new stream cannot run: no audio */
                        call_end_media_stopped(c);
                else
                        undo_direction(c, what);
                return;
        }
        if (what == REINVITE_RESTORE) {
                c->restore_timer = sd_event_source_disable_unref(c->restore_timer);
                log_info("Call %u: media restored on a new stream", c->id);
                return;
        }
        c->local_hold = what == REINVITE_HOLD;
        call_update_hold_state(c);
}

void call_on_reinvite_refused(Call *c, const SipCallEvent *e) {
        log_notice("Call %u: re-INVITE refused: %u %s", c->id, e->status, e->phrase);
        CallReinvite what = c->reinvite;
        if (what == REINVITE_RESTORE && e->status == 491 && call_restore_retry(c))
                return; /* still restoring: the peer's re-INVITEs keep getting 491 */
        undo_direction(c, what);
        c->reinvite = REINVITE_NONE;
        if (what == REINVITE_RESTORE) /* the peer still sends to the stream that is gone */
                call_end_media_stopped(c);
}

/* ---- the peer's ---- */

/* Our offer in the 200 to a re-INVITE without SDP; the answer comes with the ACK. */
static void offer_in_200(Call *c) {
        _cleanup_(erase_and_freep) char *text = NULL;

        c->offer_in_answer = false;
        if (!c->sip)
                return;
        if (sdp_make_offer(c->local, &c->origin, &text) < 0) {
                (void) sip_call_respond(c->sip, 500, NULL, NULL);
                return;
        }
        c->offer_in_answer = true;
        (void) sip_call_respond(c->sip, 200, NULL, text);
}

/* The answer to the peer's re-INVITE, whose offer waits in c->offer. */
static void answer_reinvite(Call *c) {
        _cleanup_(sdp_session_freep) SdpSession *offer = TAKE_PTR(c->offer);
        _cleanup_(erase_and_freep) char *text = NULL;
        SdpNegotiated n;
        SdpError err = {};

        if (!c->sip || !offer)
                return;
        if (sdp_answer(offer, c->local, &c->origin, &n, &text, &err) < 0) {
                log_notice("Call %u: refusing a re-INVITE: %s", c->id, err.reason);
                (void) sip_call_respond(c->sip, err.status ?: 488, NULL, NULL);
                return;
        }
        (void) sip_call_respond(c->sip, 200, NULL, text);
        if (!c->remote || sdp_session_changed(c->remote, offer))
                call_apply_negotiated(c, &n);
        c->remote_hold = n.hold;
        sdp_negotiated_erase(&n);
        sdp_session_free(c->remote);
        c->remote = TAKE_PTR(offer);
        call_update_hold_state(c);
}

/* The peer's re-INVITE: answered with the same stream, and new SRTP keys when its
 * SDP changed (an unchanged one, a session refresh, gets the same answer). */
void call_on_reinvite(Call *c, const SipCallEvent *e) {
        _cleanup_(sdp_session_freep) SdpSession *offer = NULL;
        SdpError err = {};

        if (being_changed(c) || (c->state != CALL_ACTIVE && c->state != CALL_HELD)) {
                (void) sip_call_respond(c->sip, 491, NULL, NULL);
                return;
        }
        if (!e->sdp) {
                c->offer_in_answer = true; /* also: a re-INVITE is being answered */
                if (!wants_new_keys(c) ||
                    media_stream_new_keys(c->manager, c->id, c->stream, MEDIA_KEYS_FOR_OFFER_IN_ANSWER) < 0)
                        offer_in_200(c);
                return;
        }
        if (sdp_session_parse(e->sdp, e->sdp_size, &offer, &err) < 0) {
                log_notice("Call %u: refusing a re-INVITE: %s", c->id, err.reason);
                (void) sip_call_respond(c->sip, err.status ?: 488, NULL, NULL);
                return;
        }
        bool changed = !c->remote || sdp_session_changed(c->remote, offer);
        c->offer = TAKE_PTR(offer);
        if (!changed || !wants_new_keys(c) ||
            media_stream_new_keys(c->manager, c->id, c->stream, MEDIA_KEYS_FOR_ANSWER) < 0)
                answer_reinvite(c);
}

void call_on_new_keys(Call *c, MediaKeysFor purpose, int error, const char *message, char * const *crypto) {
        if (!call_is_live(c) || !c->local)
                return;
        int r = error < 0 ? error : replace_keys(c, crypto);
        if (r < 0)
                log_warning("Call %u: no new SRTP keys (%s), the old ones stay", c->id,
                            error < 0 ? message : strerror(-r));
        switch (purpose) {
        case MEDIA_KEYS_FOR_REINVITE:
                if (c->reinvite != REINVITE_NONE && offer_reinvite(c) < 0)
                        log_warning("Call %u: cannot send the re-INVITE", c->id);
                break;
        case MEDIA_KEYS_FOR_ANSWER:
                answer_reinvite(c);
                break;
        case MEDIA_KEYS_FOR_OFFER_IN_ANSWER:
                offer_in_200(c);
                break;
        }
}
