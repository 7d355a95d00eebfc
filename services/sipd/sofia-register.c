/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sofia-sip's REGISTER for accounts (SipRegistration): registering and
 * refreshing, the binding's granted expiry and where its 2xx came from,
 * un-REGISTER, nua's outbound keep-alive and our keep-alive OPTIONS; results
 * go to account.c. The stack, handles and event dispatch are sofia-glue.c's.
 */
#include "sofia-internal.h"

/* NULL for NULL; false when out of memory */
static bool copy_opt(const char *from, char **to) {
        *to = from ? strdup(from) : NULL;
        return !from || *to;
}

/* REGISTER with our Contact and Expires: the first and every refresh. Without them
 * nua would make up a Contact of its own (its first transport, no user). */
static void send_register(SipRegistration *r) {
        char expires[16], outbound[96];

        snprintf(expires, sizeof(expires), "%u", r->expires);
        snprintf(outbound, sizeof(outbound), "natify use-rport no-validate %s",
                 r->options_keepalive ? "options-keepalive" : "no-options-keepalive");
        nua_register(r->h.nh,
                     NUTAG_REGISTRAR(r->registrar),
                     TAG_IF(r->contact, SIPTAG_CONTACT_STR(r->contact)),
                     TAG_IF(!r->contact, NUTAG_M_USERNAME(r->contact_user)),
                     TAG_IF(!r->contact && r->contact_params, NUTAG_M_PARAMS(r->contact_params)),
                     TAG_IF(!r->contact && r->display_name && *r->display_name, NUTAG_M_DISPLAY(r->display_name)),
                     SIPTAG_EXPIRES_STR(expires),
                     NUTAG_OUTBOUND(outbound),
                     NUTAG_KEEPALIVE(r->keepalive_ms),
                     /* again: given to nua_handle() only, the keep-alive would not use it */
                     TAG_IF(r->proxy, NUTAG_PROXY(r->proxy)),
                     TAG_END());
}

int sip_registration_new(SipStack *s, const SipRegistrationParams *p, Account *owner, SipRegistration **ret) {
        if (!sip_stack_is_listening(s))
                return -ENETDOWN;
        if (s->n_handles >= HANDLES_MAX)
                return -EMFILE;
        _cleanup_(freep) char *from = glue_name_addr(p->display_name, p->aor);
        SipRegistration *r = calloc(1, sizeof(SipRegistration));
        if (!from || !r) {
                free(r);
                return -ENOMEM;
        }
        glue_handle_link(s, &r->h, HANDLE_REGISTRATION);
        r->owner = owner;
        r->expires = p->expires;
        r->keepalive_ms = p->keepalive_ms;
        r->options_keepalive = p->options_keepalive;
        r->contact_user = strdup(p->contact_user ?: "");
        if (!r->contact_user || !copy_opt(p->registrar, &r->registrar) || !copy_opt(p->proxy, &r->proxy) ||
            !copy_opt(p->contact_params, &r->contact_params) || !copy_opt(p->display_name, &r->display_name) ||
            glue_handle_set_credentials(&r->h, p->auth_user, p->password) < 0) {
                glue_handle_free(&r->h);
                return -ENOMEM;
        }
        r->h.nh = nua_handle(s->nua, &r->h, SIPTAG_FROM_STR(from), SIPTAG_TO_STR(from),
                             TAG_IF(p->proxy, NUTAG_PROXY(p->proxy)), TAG_END());
        if (!r->h.nh) {
                glue_handle_free(&r->h);
                return -ENOMEM;
        }
        r->contact = glue_local_contact(s, p->display_name, r->contact_user,
                                        glue_uri_transport(p->proxy ?: p->registrar));
        send_register(r);
        *ret = r;
        return 0;
}

int sip_registration_refresh(SipRegistration *r) {
        if (r->unregistering || r->h.stack->shutting_down)
                return -ESTALE;
        r->h.auth_tries = 0;
        send_register(r);
        return 0;
}

SipRegistration *sip_registration_release(SipRegistration *r, bool unregister) {
        if (!r)
                return NULL;
        r->owner = NULL;
        if (unregister && r->registered && !r->unregistering && !r->h.stack->shutting_down) {
                r->unregistering = true;
                nua_unregister(r->h.nh, TAG_END());
                return NULL; /* freed on the answer */
        }
        if (!r->unregistering)
                glue_handle_free(&r->h);
        return NULL;
}

/* The expiry the registrar granted to our contact. */
static unsigned granted_expires(SipRegistration *r, sip_t const *sip) {
        for (sip_contact_t const *m = sip ? sip->sip_contact : NULL; m; m = m->m_next) {
                unsigned e;
                if (m->m_url->url_user && streq(m->m_url->url_user, r->contact_user) && m->m_expires &&
                    safe_atou(m->m_expires, &e) >= 0)
                        return e;
        }
        if (sip && sip->sip_expires)
                return (unsigned) sip->sip_expires->ex_delta;
        return r->expires;
}

/* The numeric address the message of a saved event came from, "" unknown. */
static void message_source(nua_saved_event_t saved[1], char *buf, size_t size) {
        nua_event_data_t const *d = nua_event_data(saved);
        su_addrinfo_t *ai = d && d->e_msg ? msg_addrinfo(d->e_msg) : NULL;

        if (!ai || !ai->ai_addr ||
            getnameinfo(ai->ai_addr, (socklen_t) ai->ai_addrlen, buf, (socklen_t) size, NULL, 0, NI_NUMERICHOST) != 0)
                buf[0] = '\0';
}

const char *sip_registration_server_address(SipRegistration *r) {
        return r ? r->server_address : "";
}

static void on_register_result(SipRegistration *r, int status, char const *phrase, sip_t const *sip) {
        if (status < 200)
                return;
        if (glue_handle_authenticate(&r->h, status, sip))
                return;
        glue_handle_fix_status(&r->h, &status, &phrase);
        if (status < 300)
                r->h.auth_tries = 0;
        r->registered = status < 300;
        if (!r->owner)
                return;
        SipRegistrationResult res = {
                .status = (unsigned) status,
                .phrase = glue_phrase_or_standard(status, phrase),
                .expires = status < 300 ? granted_expires(r, sip) : 0,
                .local = !sip,
        };
        account_on_registration(r->owner, &res);
}

/* A 2xx: note where it came from (check-sync, notify.c). Saving the event makes it
 * ours, so it is destroyed only once sip and phrase (inside it) are used. */
static void on_register(SipRegistration *r, int status, char const *phrase, sip_t const *sip) {
        nua_saved_event_t saved[1];
        bool kept = status >= 200 && status < 300 && sip && nua_save_event(r->h.stack->nua, saved) > 0;

        if (kept)
                message_source(saved, r->server_address, sizeof(r->server_address));
        on_register_result(r, status, phrase, sip);
        if (kept)
                nua_destroy_event(saved);
}

/* What a keep-alive (nua's or our OPTIONS) got: an answer, or none (local). */
static SipRegistrationResult keepalive_result(int status, char const *phrase, sip_t const *sip) {
        return (SipRegistrationResult) {
                .status = (unsigned) status,
                .phrase = glue_phrase_or_standard(status, phrase),
                .local = !sip,
                .keepalive = true,
        };
}

/* nua's outbound: a keep-alive OPTIONS failed (timed out, or its connection
 * could not be opened again): the server is gone, the registration with it. */
static void on_outbound(SipRegistration *r, int status, char const *phrase, sip_t const *sip) {
        if (status < 300 || !r->registered || r->unregistering || !r->owner)
                return;
        log_info("Keep-alive of a registration failed: %d %s", status, strempty(phrase));
        r->registered = false;
        SipRegistrationResult res = keepalive_result(status, phrase, sip);
        account_on_registration(r->owner, &res);
}

int sip_registration_ping(SipRegistration *r, const char *from, const char *target, const char *proxy) {
        SipStack *s = r->h.stack;

        if (r->unregistering || s->shutting_down || !r->registered)
                return -ESTALE;
        if (r->ping)
                return -EBUSY;
        /* a handle of its own: requests of one handle wait for each other */
        r->ping = nua_handle(s->nua, &r->h, SIPTAG_FROM_STR(from), SIPTAG_TO_STR(target),
                             TAG_IF(proxy, NUTAG_PROXY(proxy)), TAG_END());
        if (!r->ping)
                return -ENOMEM;
        nua_options(r->ping, TAG_IF(proxy, NUTAG_PROXY(proxy)), TAG_END());
        return 0;
}

/* Any answer from the server means it is there, even 4xx; no answer (our
 * stack's own status) means it is not. */
static void on_ping(SipRegistration *r, nua_handle_t *nh, int status, char const *phrase, sip_t const *sip) {
        if (status < 200 || nh != r->ping)
                return;
        nua_handle_bind(r->ping, NULL);
        nua_handle_destroy(r->ping);
        r->ping = NULL;
        if (!r->owner)
                return;
        SipRegistrationResult res = keepalive_result(status, phrase, sip);
        account_on_ping(r->owner, &res);
}

static void on_unregister(SipRegistration *r, int status, char const *phrase) {
        if (status < 200)
                return;
        log_debug("Un-REGISTER answered: %d %s", status, strempty(phrase));
        r->registered = false;
        r->unregistering = false;
        if (!r->owner)
                glue_handle_free(&r->h);
}

void glue_on_registration_event(SipRegistration *r, nua_handle_t *nh, nua_event_t event, int status,
                                  char const *phrase, sip_t const *sip) {
        switch (event) {
        case nua_r_options:
                on_ping(r, nh, status, phrase, sip);
                break;
        case nua_r_register:
                on_register(r, status, phrase, sip);
                break;
        case nua_r_unregister:
                on_unregister(r, status, phrase);
                break;
        case nua_i_outbound:
                on_outbound(r, status, phrase, sip);
                break;
        default:
                break;
        }
}
