/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

/*
 * The SIP stack (sofia-sip's nua), without sofia types. The glue, the only
 * files that include sofia headers (through sofia-internal.h), is sofia-glue.c
 * (the su_root: the process's master loop, with sd-event nested in it, see
 * doc/architecture.md; the nua agent, its handles, the event dispatch),
 * sofia-register.c (registrations) and sofia-call.c (calls); it turns nua
 * events into calls of account.c, call.c, manager.c and notify.c.
 *
 * Handles: a SipRegistration belongs to an Account, a SipCall to a Call.
 * The owner may release it at any time (sip_*_release()); the glue then
 * finishes what is under way (an un-REGISTER, a BYE) and frees it itself.
 */

typedef struct Manager Manager;
typedef struct Account Account;
typedef struct Call Call;

typedef struct SipStack SipStack;
typedef struct SipRegistration SipRegistration;
typedef struct SipCall SipCall;

/* The loop: su_root with sd-event nested. */
int sip_stack_new(sd_event *event, SipStack **ret);
SipStack *sip_stack_free(SipStack *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SipStack *, sip_stack_free);
void sip_stack_set_manager(SipStack *s, Manager *m);
/* Run until sd-event exits; returns its exit code. */
int sip_stack_run(SipStack *s);

/* The SIP agent, on UDP and TCP port and TLS tls_port (address NULL or "": all
 * addresses). When tls_port is taken, TLS listens on another port. */
int sip_stack_listen(SipStack *s, const char *address, unsigned port, unsigned tls_port);
bool sip_stack_is_listening(SipStack *s);
unsigned sip_stack_port(SipStack *s);
/* End every dialog and registration; manager_on_stack_stopped() when done. */
int sip_stack_shutdown(SipStack *s);

/* Check a SIP URI's syntax with sofia's parser: 0 or -EINVAL. */
int sip_uri_check(const char *uri);

/* A final response status, and the reason phrase (standard when the peer sent none). */
typedef struct SipStatus {
        unsigned status;        /* 0: no response (local failure) */
        const char *phrase;
} SipStatus;

/* ---- registrations ---- */

typedef struct SipRegistrationParams {
        const char *aor;             /* sip:user@domain: From and To */
        const char *display_name;
        const char *registrar;       /* sip:host[:port][;transport=tcp] */
        const char *proxy;           /* outbound proxy URI, or NULL */
        const char *contact_user;
        const char *contact_params;  /* "transport=tcp", or NULL */
        const char *auth_user;
        const char *password;        /* secret; copied, wiped on free */
        unsigned expires;
        unsigned keepalive_ms;       /* 0: none */
        bool options_keepalive;
} SipRegistrationParams;

typedef struct SipRegistrationResult {
        unsigned status;             /* 200 registered; >= 300 failed (after authentication) */
        const char *phrase;
        unsigned expires;            /* granted, with 200 */
        bool local;                  /* the status is the stack's own (no answer, transport error) */
        bool keepalive;              /* a keep-alive of the registration failed (it is gone) */
} SipRegistrationResult;

/* Send REGISTER and keep the binding refreshed; account_on_registration() reports. */
int sip_registration_new(SipStack *s, const SipRegistrationParams *p, Account *owner, SipRegistration **ret);
/* REGISTER again now (Register() on the bus). */
int sip_registration_refresh(SipRegistration *r);
/* A keep-alive OPTIONS from the AOR to target (the registrar) through proxy, on
 * a handle of its own; account_on_ping() reports its answer. -EBUSY: one is
 * under way; -ESTALE: not registered. */
int sip_registration_ping(SipRegistration *r, const char *from, const char *target, const char *proxy);
/* The numeric address the registration's last 2xx came from ("" unknown): a
 * registrar (or the outbound proxy in front of it) given by name, resolved. */
const char *sip_registration_server_address(SipRegistration *r);
/* Un-REGISTER (when registered) and forget the owner. Always frees in the end. */
SipRegistration *sip_registration_release(SipRegistration *r, bool unregister);

/* ---- calls ---- */

typedef struct SipCallParams {
        const char *to;              /* request URI */
        const char *from;            /* sip:user@domain of the account, NULL: anonymous direct call */
        const char *display_name;
        const char *proxy;           /* route every request through this, or NULL */
        const char *contact_user;
        const char *contact_params;  /* "transport=tcp", or NULL */
        const char *auth_user;       /* credentials for 401/407, or NULL */
        const char *password;
        const char *sdp;             /* the offer */
} SipCallParams;

typedef enum SipCallEventType {
        SIP_CALL_PROGRESS,           /* 1xx to our INVITE (maybe with an early answer) */
        SIP_CALL_ANSWERED,           /* 2xx to our INVITE or re-INVITE */
        SIP_CALL_FAILED,             /* final error to our INVITE or re-INVITE */
        SIP_CALL_ACK,                /* ACK to our 2xx (an answer when we offered in the 2xx) */
        SIP_CALL_REINVITE,           /* the peer's re-INVITE: answer with sip_call_respond() */
        SIP_CALL_CANCELLED,          /* the caller gave up before we answered */
        SIP_CALL_BYE,                /* the peer hung up */
        SIP_CALL_TERMINATED,         /* the dialog is gone; the SipCall is freed after this */
} SipCallEventType;

typedef struct SipCallEvent {
        SipCallEventType type;
        unsigned status;
        const char *phrase;
        const char *sdp;             /* application/sdp body, or NULL */
        size_t sdp_size;
        bool other_body;             /* a body that is not SDP */
} SipCallEvent;

typedef struct SipIncoming {
        const char *from_uri;
        const char *from_display;
        const char *to_uri;
        const char *request_user;    /* user part of the Request-URI, "" if none */
        const char *request_host;    /* host of the Request-URI (how the caller reached us) */
        const char *sdp;
        size_t sdp_size;
        bool other_body;
} SipIncoming;

int sip_call_invite(SipStack *s, const SipCallParams *p, Call *owner, SipCall **ret);
int sip_call_respond(SipCall *c, unsigned status, const char *phrase, const char *sdp);
int sip_call_reinvite(SipCall *c, const char *sdp);
int sip_call_bye(SipCall *c);
int sip_call_cancel(SipCall *c);
void sip_call_bind(SipCall *c, Call *owner);
/* The owner lets go; the dialog ends on its own (after our BYE, CANCEL or response). */
SipCall *sip_call_release(SipCall *c);

/* INFO in a call's dialog (DTMF, call-dtmf.c). The peer's INFO is answered
 * with what call_on_info() returns; ours gets call_on_info_sent() with the
 * final status (0: no response). */
typedef struct SipInfo {
        const char *content_type;    /* without parameters; NULL: none */
        const uint8_t *body;
        size_t size;
} SipInfo;

int sip_call_send_info(SipCall *c, const char *content_type, const void *body, size_t size);
unsigned call_on_info(Call *c, const SipInfo *info);
extern const char call_info_accept[];   /* the INFO bodies taken: the Accept of a 415 */
void call_on_info_sent(Call *c, unsigned status, const char *phrase);

/* A NOTIFY outside any subscription (Yealink's check-sync from a registrar):
 * answered with what notify_on_request() (notify.c) returns. */
typedef struct SipNotify {
        const char *event;           /* the Event package ("check-sync"), "" none */
        bool reboot;                 /* ";reboot=true" */
        const char *source;          /* the sender's address, numeric */
        const char *request_user;    /* user part of the Request-URI, "" none */
} SipNotify;

unsigned notify_on_request(Manager *m, const SipNotify *n);

/* Callbacks the glue makes (implemented in account.c, call.c, manager.c). */
void account_on_registration(Account *a, const SipRegistrationResult *r);
/* The answer to sip_registration_ping() (local: none came, the stack's own status). */
void account_on_ping(Account *a, const SipRegistrationResult *r);
void call_on_sip_event(Call *c, const SipCallEvent *e);
/* 0: the manager took the call (sip_call_bind()); else a SIP status (>= 300) to refuse it with. */
unsigned manager_on_incoming_call(Manager *m, SipCall *c, const SipIncoming *in);
void manager_on_stack_stopped(Manager *m);
