/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sofia-sip's INVITE dialogs for calls (SipCall): ours (INVITE, re-INVITE, BYE,
 * CANCEL, INFO) and the peer's (a new INVITE, its re-INVITEs, ACK, CANCEL,
 * BYE, INFO), turned into SipCallEvents for call.c. The stack, handles and
 * event dispatch are sofia-glue.c's.
 */
#include "sofia-internal.h"

static SipCall *call_alloc(SipStack *s, Call *owner) {
        SipCall *c = calloc(1, sizeof(SipCall));
        if (!c)
                return NULL;
        glue_handle_link(s, &c->h, HANDLE_CALL);
        c->owner = owner;
        return c;
}

int sip_call_invite(SipStack *s, const SipCallParams *p, Call *owner, SipCall **ret) {
        if (!sip_stack_is_listening(s))
                return -ENETDOWN;
        if (s->n_handles >= HANDLES_MAX)
                return -EMFILE;
        if (sip_uri_check(p->to) < 0)
                return -EINVAL;
        _cleanup_(freep) char *from = p->from ? glue_name_addr(p->display_name, p->from) : NULL;
        if (p->from && !from)
                return -ENOMEM;
        SipCall *c = call_alloc(s, owner);
        if (!c || glue_handle_set_credentials(&c->h, p->auth_user, p->password) < 0) {
                if (c)
                        glue_handle_free(&c->h);
                return -ENOMEM;
        }
        c->h.nh = nua_handle(s->nua, &c->h, SIPTAG_TO_STR(p->to), TAG_IF(from, SIPTAG_FROM_STR(from)),
                             TAG_IF(p->proxy, NUTAG_PROXY(p->proxy)), TAG_END());
        if (!c->h.nh) {
                glue_handle_free(&c->h);
                return -ENOMEM;
        }
        c->contact = glue_local_contact(s, NULL, p->contact_user, glue_uri_transport(p->proxy ?: p->to));
        /* the proxy again here: given to nua_handle() only, this nua does not route by it */
        nua_invite(c->h.nh,
                   TAG_IF(p->proxy, NUTAG_PROXY(p->proxy)),
                   TAG_IF(c->contact, SIPTAG_CONTACT_STR(c->contact)),
                   TAG_IF(!c->contact && p->contact_user && *p->contact_user, NUTAG_M_USERNAME(p->contact_user)),
                   TAG_IF(!c->contact && p->contact_params, NUTAG_M_PARAMS(p->contact_params)),
                   SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                   SIPTAG_PAYLOAD_STR(p->sdp),
                   TAG_END());
        *ret = c;
        return 0;
}

int sip_call_respond(SipCall *c, unsigned status, const char *phrase, const char *sdp) {
        if (c->terminated)
                return -ESTALE;
        nua_respond(c->h.nh, (int) status, glue_phrase_or_standard((int) status, phrase),
                    TAG_IF(c->contact && status < 300, SIPTAG_CONTACT_STR(c->contact)),
                    TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                    TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)),
                    TAG_END());
        return 0;
}

int sip_call_reinvite(SipCall *c, const char *sdp) {
        if (c->terminated)
                return -ESTALE;
        nua_invite(c->h.nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp), TAG_END());
        return 0;
}

int sip_call_bye(SipCall *c) {
        if (c->terminated)
                return -ESTALE;
        nua_bye(c->h.nh, TAG_END());
        return 0;
}

int sip_call_cancel(SipCall *c) {
        if (c->terminated)
                return -ESTALE;
        nua_cancel(c->h.nh, TAG_END());
        return 0;
}

int sip_call_send_info(SipCall *c, const char *content_type, const void *body, size_t size) {
        su_home_t home[1] = { SU_HOME_INIT(home) };

        if (c->terminated)
                return -ESTALE;
        sip_payload_t *pl = sip_payload_create(home, body, (isize_t) size);
        if (!pl) {
                su_home_deinit(home);
                return -ENOMEM;
        }
        nua_info(c->h.nh, SIPTAG_CONTENT_TYPE_STR(content_type), SIPTAG_PAYLOAD(pl), TAG_END());
        su_home_deinit(home);
        return 0;
}

void sip_call_bind(SipCall *c, Call *owner) {
        c->owner = owner;
}

SipCall *sip_call_release(SipCall *c) {
        if (!c)
                return NULL;
        c->owner = NULL;
        if (c->terminated && !c->reporting_end)
                glue_handle_free(&c->h);
        return NULL;
}

static bool is_sdp(sip_t const *sip) {
        return sip && sip->sip_payload && sip->sip_payload->pl_len > 0 && sip->sip_content_type &&
               sip->sip_content_type->c_type && su_casematch(sip->sip_content_type->c_type, "application/sdp");
}

static SipCallEvent call_event(SipCallEventType type, int status, char const *phrase, sip_t const *sip) {
        SipCallEvent e = {
                .type = type,
                .status = status > 0 ? (unsigned) status : 0,
                .phrase = glue_phrase_or_standard(status, phrase),
        };
        if (is_sdp(sip)) {
                e.sdp = sip->sip_payload->pl_data;
                e.sdp_size = sip->sip_payload->pl_len;
        } else
                e.other_body = sip && sip->sip_payload && sip->sip_payload->pl_len > 0;
        return e;
}

static void call_deliver(SipCall *c, const SipCallEvent *e) {
        if (c->owner)
                call_on_sip_event(c->owner, e);
}

static void on_invite_response(SipCall *c, int status, char const *phrase, sip_t const *sip) {
        if (status == 100)
                return;
        if (glue_handle_authenticate(&c->h, status, sip))
                return;
        glue_handle_fix_status(&c->h, &status, &phrase);
        SipCallEvent e = call_event(status < 200   ? SIP_CALL_PROGRESS
                                    : status < 300 ? SIP_CALL_ANSWERED
                                                   : SIP_CALL_FAILED,
                                    status, phrase, sip);
        call_deliver(c, &e);
}

/* The peer's INFO: we answer it (NUTAG_APPL_METHOD), with what the call says. */
static void on_info(SipCall *c, int status, sip_t const *sip) {
        if (status >= 200 || !sip)
                return; /* nua answered it already */
        SipInfo info = {
                .content_type = sip->sip_content_type ? sip->sip_content_type->c_type : NULL,
                .body = sip->sip_payload ? (const uint8_t *) sip->sip_payload->pl_data : NULL,
                .size = sip->sip_payload ? sip->sip_payload->pl_len : 0,
        };
        unsigned answer = c->owner ? call_on_info(c->owner, &info) : 481;
        nua_respond(c->h.nh, (int) answer, sip_status_phrase((int) answer) ?: "Refused",
                    NUTAG_WITH_THIS(c->h.stack->nua), TAG_IF(answer == 415, SIPTAG_ACCEPT_STR(call_info_accept)),
                    TAG_END());
}

static void on_info_response(SipCall *c, int status, char const *phrase) {
        if (status < 200 && status > 0)
                return;
        if (c->owner)
                call_on_info_sent(c->owner, status > 0 ? (unsigned) status : 0, glue_phrase_or_standard(status, phrase));
}

static void on_call_state(SipCall *c, int status, char const *phrase, tagi_t tags[]) {
        int state = -1;

        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state != nua_callstate_terminated || c->terminated)
                return;
        c->terminated = true;
        SipCallEvent e = call_event(SIP_CALL_TERMINATED, status, phrase, NULL);
        c->reporting_end = true;
        call_deliver(c, &e);
        glue_handle_free(&c->h);
}

/* Strings of a new INVITE, copied into home. */
static void incoming_fill(su_home_t *home, sip_t const *sip, SipIncoming *in) {
        url_t const *ru = sip->sip_request ? sip->sip_request->rq_url : NULL;

        in->from_uri = sip->sip_from ? url_as_string(home, sip->sip_from->a_url) : NULL;
        in->from_display = sip->sip_from && sip->sip_from->a_display
                                   ? msg_unquote_dup(home, sip->sip_from->a_display)
                                   : NULL;
        in->to_uri = sip->sip_to ? url_as_string(home, sip->sip_to->a_url) : NULL;
        in->request_user = ru && ru->url_user ? ru->url_user : "";
        in->request_host = ru && ru->url_host ? ru->url_host : "";
        in->from_uri = in->from_uri ?: "";
        in->to_uri = in->to_uri ?: "";
        if (is_sdp(sip)) {
                in->sdp = sip->sip_payload->pl_data;
                in->sdp_size = sip->sip_payload->pl_len;
        } else
                in->other_body = sip->sip_payload && sip->sip_payload->pl_len > 0;
}

static void refuse(nua_handle_t *nh, unsigned status) {
        nua_respond(nh, (int) status, sip_status_phrase((int) status) ?: "Refused", TAG_END());
        nua_handle_destroy(nh);
}

void glue_on_new_invite(SipStack *s, nua_handle_t *nh, sip_t const *sip) {
        su_home_t home[1] = { SU_HOME_INIT(home) };
        SipIncoming in = {};

        if (!sip || s->shutting_down || !s->manager || s->n_handles >= HANDLES_MAX) {
                refuse(nh, s->shutting_down ? 503 : 486);
                return;
        }
        SipCall *c = call_alloc(s, NULL);
        if (!c) {
                refuse(nh, 500);
                return;
        }
        c->h.nh = nh;
        nua_handle_bind(nh, &c->h);
        incoming_fill(home, sip, &in);
        c->contact = glue_local_contact(s, NULL, in.request_user, glue_via_transport(sip));
        unsigned status = manager_on_incoming_call(s->manager, c, &in);
        su_home_deinit(home);
        if (status == 0)
                return;
        c->h.nh = NULL;
        glue_handle_free(&c->h);
        nua_handle_bind(nh, NULL);
        refuse(nh, status);
}

static void on_call_request(SipCall *c, nua_event_t event, int status, char const *phrase, sip_t const *sip) {
        SipCallEventType type;

        switch (event) {
        case nua_i_invite:
                type = SIP_CALL_REINVITE;
                break;
        case nua_i_ack:
                type = SIP_CALL_ACK;
                break;
        case nua_i_cancel:
                type = SIP_CALL_CANCELLED;
                break;
        case nua_i_bye:
                type = SIP_CALL_BYE;
                break;
        default:
                return;
        }
        SipCallEvent e = call_event(type, status, phrase, sip);
        call_deliver(c, &e);
}

void glue_on_call_event(SipCall *c, nua_event_t event, int status, char const *phrase, sip_t const *sip,
                          tagi_t tags[]) {
        switch (event) {
        case nua_r_invite:
                on_invite_response(c, status, phrase, sip);
                break;
        case nua_i_state:
                on_call_state(c, status, phrase, tags);
                break;
        case nua_i_info:
                on_info(c, status, sip);
                break;
        case nua_r_info:
                on_info_response(c, status, phrase);
                break;
        case nua_i_invite:
        case nua_i_ack:
        case nua_i_cancel:
        case nua_i_bye:
                on_call_request(c, event, status, phrase, sip);
                break;
        default:
                break;
        }
}
