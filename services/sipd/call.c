/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One call: its state machine, its media stream, its first offer/answer
 * (INVITE and answer, or our offer in the 200 and the answer in the ACK),
 * what the user does (Dial, Answer, Reject, Hangup) and the SIP events that
 * drive it. Hold/Resume and re-INVITEs either way are call-reinvite.c's,
 * DTMF call-dtmf.c's, tones call-tones.c's.
 *
 *  outgoing: dialing --180--> ringing --183/180 with SDP--> early --200--> active
 *  incoming: incoming --Answer(), ACK--> active
 *  active <--Hold()/Resume(), or the peer's re-INVITE--> held
 *  any --BYE, CANCEL, error, Hangup(), Reject()--> ended
 *
 * An ended call stays on the bus for CALL_LINGER_USEC, so that a client
 * waiting for "ended" cannot miss it, then goes away.
 */
#include <sys/random.h>
#include <time.h>

#include "call-internal.h"
#include "log.h"
#include "uri.h"
#include "util.h"

static const char * const state_names[_CALL_STATE_MAX] = {
        [CALL_DIALING] = "dialing", [CALL_RINGING] = "ringing", [CALL_INCOMING] = "incoming",
        [CALL_EARLY] = "early",     [CALL_ACTIVE] = "active",   [CALL_HELD] = "held",
        [CALL_ENDED] = "ended",
};

static const char * const direction_names[_CALL_DIRECTION_MAX] = {
        [CALL_INCOMING_DIRECTION] = "incoming",
        [CALL_OUTGOING_DIRECTION] = "outgoing",
};

const char *call_state_to_string(CallState s) {
        return s < _CALL_STATE_MAX ? state_names[s] : NULL;
}

const char *call_direction_to_string(CallDirection d) {
        return d < _CALL_DIRECTION_MAX ? direction_names[d] : NULL;
}

bool call_is_live(const Call *c) {
        return c->state != CALL_ENDED;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t call_random_u63(void) {
        uint64_t v = 0;
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t) sizeof(v))
                v = now_usec() ^ ((uint64_t) getpid() << 32);
        return (v >> 1) ?: 1; /* o= numbers fit in a signed 64-bit integer for old parsers */
}

/* Media on loopback for peers on loopback (tests), else mediad's choice. */
static char *bind_for_host(const char *host) {
        if (!host)
                return NULL;
        if (startswith(host, "127.") || streq(host, "localhost"))
                return strdup("127.0.0.1");
        if (streq(host, "::1"))
                return strdup("::1");
        return NULL;
}

static int set_string(char **p, const char *s) {
        char *n = s ? strdup(s) : NULL;
        if (s && !n)
                return -ENOMEM;
        free(*p);
        *p = n;
        return 0;
}

static Call *call_alloc(Manager *m, CallDirection d, unsigned account) {
        Call *c = calloc(1, sizeof(Call));
        if (!c)
                return NULL;
        c->manager = m;
        c->id = ++m->next_call_id;
        c->direction = d;
        c->account = account;
        c->state = d == CALL_INCOMING_DIRECTION ? CALL_INCOMING : CALL_DIALING;
        snprintf(c->path, sizeof(c->path), SIP1_PATH "/call/%u", c->id);
        sdp_origin_init(&c->origin, call_random_u63());
        return c;
}

Call *call_free(Call *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->linger);
        sd_event_source_disable_unref(c->restore_timer);
        call_dtmf_free(c);
        c->sip = sip_call_release(c->sip);
        if (c->stream)
                (void) media_stream_stop(c->manager, c->stream);
        (void) bus_remove_object(c->manager->bus, c->path, &sipd_call_interface);
        free(c->remote_uri);
        free(c->remote_name);
        free(c->codec);
        free(c->end_reason);
        free(c->bind);
        free(c->stream);
        if (c->local) {
                sdp_local_erase(c->local);
                free(c->local);
        }
        sdp_session_free(c->offer);
        sdp_session_free(c->remote);
        free(c);
        return NULL;
}

static int call_publish(Call *c) {
        int r = bus_add_object(c->manager->bus, c->path, &sipd_call_interface, c);
        if (r < 0)
                return r;
        manager_add_call(c->manager, c);
        call_tones_update(c->manager);
        return 0;
}

static void set_state(Call *c, CallState state) {
        if (c->state == state)
                return;
        log_info("Call %u: %s -> %s", c->id, state_names[c->state], state_names[state]);
        c->state = state;
        call_emit(c, "State");
        call_tones_update(c->manager); /* ringback, ring, call-waiting, busy... (call-tones.c) */
        if (state == CALL_ACTIVE && c->start_time == 0) {
                c->start_time = realtime_usec();
                call_emit(c, "StartTime");
        }
}

/* active or held, from the two hold flags */
void call_update_hold_state(Call *c) {
        if (c->state == CALL_ACTIVE || c->state == CALL_HELD)
                set_state(c, c->local_hold || c->remote_hold ? CALL_HELD : CALL_ACTIVE);
}

static int on_linger(sd_event_source *s, uint64_t usec, void *userdata) {
        Call *c = userdata;

        log_debug("Call %u: removing it from the bus", c->id);
        manager_remove_call(c->manager, c);
        call_free(c);
        return 0;
}

void call_end(Call *c, const char *reason) {
        if (c->state == CALL_ENDED)
                return;
        (void) set_string(&c->end_reason, reason);
        call_emit(c, "EndReason");
        set_state(c, CALL_ENDED);
        log_info("Call %u ended: %s", c->id, reason);
        if (c->stream) {
                (void) media_stream_stop(c->manager, c->stream);
                free(c->stream);
                c->stream = NULL;
        }
        int r = sd_event_add_time_relative(c->manager->event, &c->linger, CLOCK_MONOTONIC, CALL_LINGER_USEC, 0,
                                           on_linger, c);
        if (r < 0)
                log_warning_errno(r, "Call %u: cannot schedule its removal: %m", c->id);
}

static void end_with_status(Call *c, unsigned status, const char *phrase) {
        char text[160];
        snprintf(text, sizeof(text), "%u %s", status, strempty(phrase));
        call_tones_on_end(c, status);
        call_end(c, text);
}

/* ---- media ---- */

/* account.N.srtp_encryption; direct IP calls (account 0) have no such key: off. */
static SdpSrtpMode call_srtp_mode(Call *c) {
        Account *a = c->account ? manager_account(c->manager, c->account) : NULL;
        return a && a->settings.srtp < _SDP_SRTP_MODE_MAX ? (SdpSrtpMode) a->settings.srtp : SDP_SRTP_OFF;
}

int call_request_stream(Call *c) {
        static char * const direct_codecs[] = { (char *) "G722", (char *) "PCMU", (char *) "PCMA", NULL };
        Account *a = c->account ? manager_account(c->manager, c->account) : NULL;

        MediaOptions o = {
                .account = c->account,
                .codecs = a ? a->settings.codecs : direct_codecs,
                .ptime = a ? a->settings.ptime : 20,
                .srtp = sdp_srtp_mode_to_string(call_srtp_mode(c)),
                .bind = c->bind,
        };
        return media_create_stream(c->manager, c->id, &o);
}

void call_apply_negotiated(Call *c, const SdpNegotiated *n) {
        if (!streq_ptr(c->codec, n->codec.name)) {
                (void) set_string(&c->codec, n->codec.name);
                call_emit(c, "Codec");
        }
        if (!c->stream)
                return;
        int detect = call_dtmf_on_negotiated(c, n); /* in-band DTMF detection, when it changes */
        int r = media_stream_start(c->manager, c->id, c->stream, n, c->stream_started, detect);
        if (r < 0)
                log_warning_errno(r, "Call %u: cannot start its media: %m", c->id);
        c->stream_started = true;
}

/* Parse and apply the peer's answer to our offer. */
int call_take_answer(Call *c, const char *sdp, size_t size, SdpError *err) {
        _cleanup_(sdp_session_freep) SdpSession *answer = NULL;
        SdpNegotiated n;

        int r = sdp_session_parse(sdp, size, &answer, err);
        if (r < 0)
                return r;
        if (c->remote && !sdp_session_changed(c->remote, answer))
                return 0;
        r = sdp_process_answer(c->local, answer, &n, err);
        if (r < 0)
                return r;
        call_apply_negotiated(c, &n);
        sdp_negotiated_erase(&n);
        sdp_session_free(c->remote);
        c->remote = TAKE_PTR(answer);
        return 0;
}

/* End a call whatever state it is in: BYE, CANCEL or an error response. */
void call_hang_up_now(Call *c) {
        bool answered = c->state == CALL_ACTIVE || c->state == CALL_HELD ||
                        (c->state == CALL_INCOMING && c->answer_wanted && c->local);
        if (c->sip && answered)
                (void) sip_call_bye(c->sip);
        else if (c->sip && c->direction == CALL_OUTGOING_DIRECTION)
                (void) sip_call_cancel(c->sip);
        else if (c->sip)
                (void) sip_call_respond(c->sip, 500, "Media Service Unavailable", NULL);
}

static void fail_media(Call *c, const char *message) {
        log_warning("Call %u: no media stream: %s", c->id, message);
        if (c->direction == CALL_INCOMING_DIRECTION && c->sip)
                (void) sip_call_respond(c->sip, 500, "Media Service Unavailable", NULL);
        call_end(c, "media service unavailable");
}

/* ---- outgoing ---- */

static int invite_params_account(Call *c, Account *a, SipCallParams *p, char **from, char **proxy) {
        int r = account_uri(a, from);
        if (r == -ENOENT)
                return 0; /* an account without a server calls directly, anonymously */
        if (r < 0)
                return r;
        r = account_proxy(a, proxy);
        if (r < 0 && r != -ENOENT)
                return r;
        p->from = *from;
        p->proxy = *proxy;
        p->display_name = a->settings.display_name;
        p->contact_user = a->settings.user_name;
        p->contact_params = account_contact_params(a);
        p->auth_user = a->settings.auth_name;
        p->password = a->settings.password;
        return 0;
}

static int send_invite(Call *c) {
        Account *a = c->account ? manager_account(c->manager, c->account) : NULL;
        _cleanup_(erase_and_freep) char *offer = NULL;
        _cleanup_(freep) char *from = NULL, *proxy = NULL;
        SipCallParams p = { .to = c->remote_uri };

        int r = sdp_make_offer(c->local, &c->origin, &offer);
        if (r < 0)
                return r;
        p.sdp = offer;
        if (a) {
                r = invite_params_account(c, a, &p, &from, &proxy);
                if (r < 0)
                        return r;
        }
        return sip_call_invite(c->manager->stack, &p, c, &c->sip);
}

/* The account a call goes out on; NULL for a direct call. */
static int dial_account(Manager *m, unsigned account, Account **ret, BusError *error) {
        if (account > SIPD_N_ACCOUNTS)
                return bus_error_set(error, -ENOENT, "No account %u: accounts are 1 to %u, or 0", account,
                                     SIPD_N_ACCOUNTS);
        if (account == 0)
                account = manager_default_account(m);
        Account *a = account ? manager_account(m, account) : NULL;
        if (a && !a->settings.enable)
                return bus_error_set(error, -EOPNOTSUPP, "Account %u is disabled", account);
        *ret = a;
        return 0;
}

/* The request URI for what the user dialled. */
static int dial_uri(Manager *m, Account *a, const char *target, char **ret, BusError *error) {
        _cleanup_(freep) char *domain = NULL, *uri = NULL;

        if (a)
                (void) account_domain(a, &domain);
        int r = sip_target_to_uri(target, domain, &uri);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || sip_uri_check(uri) < 0)
                return bus_error_set(error, -EINVAL, "Cannot call '%s': give a SIP URI, user@host, an address%s",
                                     target, a ? " or a number" : ", or a number with an account");
        if (!domain && !m->settings.direct_ip_calls)
                return bus_error_set(error, -EPERM, "Direct IP calls are disabled (features.direct_ip_call_enable)");
        *ret = TAKE_PTR(uri);
        return 0;
}

/* Media binds where SIP listens when that is one address; else by the peer's host. */
static char *media_bind(Manager *m, const char *host) {
        const char *listen = m->settings.listen_address;
        return listen && *listen ? strdup(listen) : bind_for_host(host);
}

static char *dial_bind(Manager *m, Account *a, const char *uri) {
        _cleanup_(freep) char *proxy = NULL, *host = NULL;

        if (a && account_proxy(a, &proxy) >= 0)
                (void) sip_uri_host(proxy, &host);
        else
                (void) sip_uri_host(uri, &host);
        return media_bind(m, host);
}

int call_new_outgoing(Manager *m, const char *target, unsigned account, Call **ret, BusError *error) {
        _cleanup_(freep) char *uri = NULL;
        Account *a = NULL;

        int r = dial_account(m, account, &a, error);
        if (r < 0)
                return r;
        if (!sip_stack_is_listening(m->stack))
                return bus_error_set(error, -ENETDOWN, "The SIP stack is not running yet");
        if (manager_n_live_calls(m) >= CALLS_LIVE_MAX)
                return bus_error_set(error, -EBUSY, "Too many calls (%u) in progress", CALLS_LIVE_MAX);
        r = dial_uri(m, a, target, &uri, error);
        if (r < 0)
                return r;

        Call *c = call_alloc(m, CALL_OUTGOING_DIRECTION, a ? a->index : 0);
        if (!c)
                return -ENOMEM;
        c->remote_uri = TAKE_PTR(uri);
        c->bind = dial_bind(m, a, c->remote_uri);
        r = call_publish(c);
        if (r < 0) {
                call_free(c);
                return r;
        }
        log_info("Call %u: dialing %s (account %u)", c->id, c->remote_uri, c->account);
        r = call_request_stream(c);
        if (r < 0)
                fail_media(c, strerror(-r));
        *ret = c;
        return 0;
}

/* End the call because what could not be done; EndReason "<what>: <error>". */
static void end_with_errno(Call *c, int error, const char *what) {
        char text[128];

        log_warning_errno(error, "Call %u: %s: %m", c->id, what);
        snprintf(text, sizeof(text), "%s: %s", what, strerror(-error));
        call_end(c, text);
}

static void outgoing_stream_ready(Call *c) {
        int r = send_invite(c);
        if (r < 0)
                end_with_errno(c, r, "cannot send INVITE");
}

/* ---- incoming ---- */

int call_new_incoming(Manager *m, SipCall *sip, const SipIncoming *in, unsigned account, Call **ret,
                      unsigned *ret_status) {
        _cleanup_(sdp_session_freep) SdpSession *offer = NULL;
        SdpError err = {};

        if (in->sdp) {
                int r = sdp_session_parse(in->sdp, in->sdp_size, &offer, &err);
                if (r < 0) {
                        log_notice("Refusing a call from %s: %s", in->from_uri, err.reason);
                        *ret_status = err.status ?: 488;
                        return r;
                }
        }
        Call *c = call_alloc(m, CALL_INCOMING_DIRECTION, account);
        if (!c || set_string(&c->remote_uri, in->from_uri) < 0 ||
            set_string(&c->remote_name, in->from_display ?: "") < 0) {
                call_free(c);
                *ret_status = 500;
                return -ENOMEM;
        }
        c->offer = TAKE_PTR(offer);
        c->bind = media_bind(m, in->request_host);
        int r = call_publish(c);
        if (r < 0) {
                call_free(c);
                *ret_status = 500;
                return r;
        }
        c->sip = sip;
        sip_call_bind(sip, c);
        log_info("Call %u: incoming from %s (account %u)", c->id, c->remote_uri, account);
        (void) sip_call_respond(sip, 180, NULL, NULL);
        r = call_request_stream(c);
        if (r < 0)
                fail_media(c, strerror(-r));
        *ret = c;
        return 0;
}

/* Can we answer the offer at all? Refuse before the user picks up. */
static int check_offer(Call *c) {
        SdpOrigin scratch = c->origin;
        SdpNegotiated n;
        SdpError err = {};
        char *text = NULL;

        if (!c->offer)
                return 0;
        int r = sdp_answer(c->offer, c->local, &scratch, &n, &text, &err);
        if (r >= 0) {
                erase_and_free(text);
                sdp_negotiated_erase(&n);
                return 0;
        }
        log_notice("Call %u: cannot answer the offer: %s", c->id, err.reason);
        (void) sip_call_respond(c->sip, err.status ?: 488, NULL, NULL);
        call_end(c, err.reason[0] ? err.reason : "488 Not Acceptable Here");
        return r;
}

/* The 200 to the INVITE. An offer we cannot answer ends the call (488); any other
 * failure returns an error, and nothing was sent. */
static int send_answer(Call *c) {
        _cleanup_(erase_and_freep) char *text = NULL;
        SdpNegotiated n;
        SdpError err = {};

        if (!c->sip)
                return -ESTALE;
        if (!c->offer) { /* no offer in the INVITE: we offer in the 200, the answer comes with the ACK */
                int r = sdp_make_offer(c->local, &c->origin, &text);
                if (r >= 0)
                        r = sip_call_respond(c->sip, 200, NULL, text);
                if (r >= 0)
                        c->offer_in_answer = true;
                return r;
        }
        int r = sdp_answer(c->offer, c->local, &c->origin, &n, &text, &err);
        if (r < 0) {
                (void) sip_call_respond(c->sip, err.status ?: 488, NULL, NULL);
                call_end(c, err.reason);
                return 0;
        }
        r = sip_call_respond(c->sip, 200, NULL, text);
        if (r >= 0) {
                c->remote = TAKE_PTR(c->offer);
                c->remote_hold = n.hold;
                call_apply_negotiated(c, &n);
        }
        sdp_negotiated_erase(&n);
        return r;
}

/* No 200 went out: our SDP cannot be written (it would fail the same way again)
 * or the dialog is gone. The call cannot be answered: refuse it, with the reason. */
static void answer_failed(Call *c, int error) {
        c->answer_wanted = false; /* not answered: call_hang_up_now() and the tones see a ringing call */
        if (c->sip)
                (void) sip_call_respond(c->sip, 500, NULL, NULL);
        end_with_errno(c, error, "cannot answer");
}

/* No usable stream: an answered call (its new stream after mediad went away) ends with
 * BYE, one not answered yet as fail_media() says. */
static void stream_unusable(Call *c, bool restoring, const char *message) {
        if (!restoring) {
                fail_media(c, message);
                return;
        }
        log_warning("Call %u: no new media stream: %s", c->id, message);
        call_end_media_stopped(c);
}

void call_on_stream_created(Call *c, int error, const char *message, const char *stream, const SdpLocal *local) {
        if (error < 0) {
                if (call_is_live(c))
                        stream_unusable(c, c->reinvite == REINVITE_RESTORE, message);
                return;
        }
        if (!call_is_live(c)) {
                (void) media_stream_stop(c->manager, stream);
                return;
        }
        bool restoring = c->reinvite == REINVITE_RESTORE;
        SdpDirection direction = c->local ? c->local->direction : SDP_DIRECTION_SENDRECV;
        if (c->local) { /* a call whose mediad was replaced: the new stream's parameters */
                sdp_local_erase(c->local);
                free(c->local);
                c->local = NULL;
        }
        c->stream = strdup(stream);
        c->local = malloc(sizeof(SdpLocal));
        if (!c->stream || !c->local) {
                stream_unusable(c, restoring, "out of memory");
                return;
        }
        *c->local = *local;
        c->local->srtp = call_srtp_mode(c);
        if (c->local->srtp != SDP_SRTP_OFF && c->local->n_crypto == 0) {
                stream_unusable(c, restoring, "the media service gave no SRTP keys");
                return;
        }
        log_debug("Call %u: media stream %s on %s port %u, SRTP %s", c->id, stream, local->address, local->port,
                  sdp_srtp_mode_to_string(c->local->srtp));
        if (restoring) {
                c->local->direction = direction; /* on hold stays on hold */
                call_restore_offer(c);
                return;
        }
        if (c->direction == CALL_OUTGOING_DIRECTION) {
                outgoing_stream_ready(c);
                return;
        }
        if (check_offer(c) < 0 || !c->answer_wanted)
                return;
        int r = send_answer(c);
        if (r < 0)
                answer_failed(c, r);
}

void call_on_stream_failed(Call *c, int error, const char *message) {
        if (!call_is_live(c))
                return;
        /* the stream is broken: the call cannot carry audio */
        call_hang_up_now(c);
        free(c->stream);
        c->stream = NULL;
        call_end(c, "media service unavailable");
}

/* What mediad really does on the wire, after each Start/Update. */
void call_on_media_encryption(Call *c, const char *encryption) {
        const char *e = startswith(encryption, "srtp:") ? "srtp" : "none";

        if (!call_is_live(c))
                return;
        if (!streq_ptr(c->media_encryption, e)) {
                c->media_encryption = e;
                call_emit(c, "MediaEncryption");
                log_info("Call %u: media %s", c->id, streq(e, "none") ? "in the clear" : encryption);
        }
        if (streq(e, "none") && c->local && c->local->srtp == SDP_SRTP_COMPULSORY) {
                log_warning("Call %u: SRTP is compulsory but the media is not encrypted, hanging up", c->id);
                call_hang_up_now(c);
                call_end(c, "SRTP is compulsory but the media is not encrypted");
        }
}

/* ---- what the user does ---- */

int call_wrong_state(Call *c, BusError *error, const char *what) {
        return bus_error_set(error, -EIO, "Call %u is %s: %s", c->id, state_names[c->state], what);
}

int call_answer(Call *c, BusError *error) {
        if (c->state != CALL_INCOMING)
                return call_wrong_state(c, error, "only an incoming call can be answered");
        if (c->answer_wanted)
                return bus_error_set(error, -EALREADY, "Call %u is being answered", c->id);
        c->answer_wanted = true;
        /* the ringer stops after Stream.Start, so the audio device stays open */
        int r = c->local ? send_answer(c) : 0; /* else answered when the stream is ready */
        if (r < 0) {
                answer_failed(c, r);
                return bus_error_set(error, -EIO, "Call %u cannot be answered (%s): it has ended", c->id,
                                     strerror(-r));
        }
        call_tones_update(c->manager);
        return 0;
}

int call_reject(Call *c, BusError *error) {
        if (c->state != CALL_INCOMING || c->answer_wanted)
                return call_wrong_state(c, error, "only a ringing incoming call can be rejected");
        if (c->sip)
                (void) sip_call_respond(c->sip, 603, "Decline", NULL);
        call_end(c, "rejected");
        return 0;
}

int call_hangup(Call *c, BusError *error) {
        switch (c->state) {
        case CALL_ENDED:
                return call_wrong_state(c, error, "nothing to hang up");
        case CALL_INCOMING:
                if (!c->answer_wanted)
                        return call_reject(c, error);
                if (c->sip && c->local)
                        (void) sip_call_bye(c->sip);
                else if (c->sip)
                        (void) sip_call_respond(c->sip, 603, "Decline", NULL);
                break;
        case CALL_DIALING:
        case CALL_RINGING:
        case CALL_EARLY:
                if (c->sip)
                        (void) sip_call_cancel(c->sip);
                break;
        case CALL_ACTIVE:
        case CALL_HELD:
                if (c->sip)
                        (void) sip_call_bye(c->sip);
                break;
        case _CALL_STATE_MAX:
                return -EINVAL;
        }
        call_end(c, "local hangup");
        return 0;
}

/* ---- what the peer does ---- */

static void on_progress(Call *c, const SipCallEvent *e) {
        SdpError err = {};

        if (c->state != CALL_DIALING && c->state != CALL_RINGING && c->state != CALL_EARLY)
                return;
        if (e->sdp && c->local) {
                if (call_take_answer(c, e->sdp, e->sdp_size, &err) < 0) {
                        log_notice("Call %u: unusable early answer: %s", c->id, err.reason);
                        (void) sip_call_cancel(c->sip);
                        call_end(c, err.reason);
                        return;
                }
                set_state(c, CALL_EARLY);
        } else if ((e->status == 180 || e->status == 182) && c->state == CALL_DIALING)
                set_state(c, CALL_RINGING);
}

static void on_answered(Call *c, const SipCallEvent *e) {
        SdpError err = {};

        if (c->state == CALL_ENDED) { /* answered while our CANCEL was on its way */
                if (c->sip)
                        (void) sip_call_bye(c->sip);
                return;
        }
        if (c->reinvite != REINVITE_NONE) {
                call_on_reinvite_answered(c, e);
                return;
        }
        if (c->state == CALL_ACTIVE || c->state == CALL_HELD)
                return; /* a retransmitted 200 */
        if ((!e->sdp && !c->remote) || (e->sdp && call_take_answer(c, e->sdp, e->sdp_size, &err) < 0)) {
                const char *why = e->sdp ? err.reason : "no SDP in the answer";
                log_notice("Call %u: cannot use the answer: %s", c->id, why);
                (void) sip_call_bye(c->sip);
                call_end(c, why);
                return;
        }
        set_state(c, CALL_ACTIVE);
}

static void on_failed(Call *c, const SipCallEvent *e) {
        if (c->reinvite != REINVITE_NONE) {
                call_on_reinvite_refused(c, e);
                return;
        }
        if (c->state == CALL_ENDED)
                return;
        end_with_status(c, e->status, e->phrase);
}

static void on_ack(Call *c, const SipCallEvent *e) {
        SdpError err = {};

        if (c->offer_in_answer) {
                c->offer_in_answer = false;
                if (!e->sdp || call_take_answer(c, e->sdp, e->sdp_size, &err) < 0) {
                        log_notice("Call %u: no usable answer in the ACK: %s", c->id, e->sdp ? err.reason : "no SDP");
                        (void) sip_call_bye(c->sip);
                        call_end(c, e->sdp ? err.reason : "no SDP in the ACK");
                        return;
                }
        }
        if (c->state == CALL_INCOMING && c->answer_wanted)
                set_state(c, CALL_ACTIVE);
}

static void on_terminated(Call *c, const SipCallEvent *e) {
        c->sip = NULL; /* the glue frees it */
        if (c->state == CALL_ENDED)
                return;
        if (e->status >= 300)
                end_with_status(c, e->status, e->phrase);
        else
                call_end(c, "remote hangup");
}

void call_on_sip_event(Call *c, const SipCallEvent *e) {
        switch (e->type) {
        case SIP_CALL_PROGRESS:
                on_progress(c, e);
                break;
        case SIP_CALL_ANSWERED:
                on_answered(c, e);
                break;
        case SIP_CALL_FAILED:
                on_failed(c, e);
                break;
        case SIP_CALL_ACK:
                on_ack(c, e);
                break;
        case SIP_CALL_REINVITE:
                call_on_reinvite(c, e);
                break;
        case SIP_CALL_CANCELLED:
                call_end(c, "cancelled");
                break;
        case SIP_CALL_BYE:
                call_end(c, "remote hangup");
                break;
        case SIP_CALL_TERMINATED:
                on_terminated(c, e);
                break;
        }
}
