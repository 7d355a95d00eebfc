/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside the sofia-sip glue (sofia-glue.c, sofia-register.c, sofia-call.c),
 * and nowhere else: sofia's headers with our magic types, the handles and
 * the stack, and what the three files share. The rest of sipd sees
 * sofia-glue.h only.
 */
struct SipStack;
struct SipHandle;
#define SU_ROOT_MAGIC_T struct SipStack
#define SU_PREPOLL_MAGIC_T struct SipStack
#define SU_TIMER_ARG_T struct SipStack
#define SU_WAKEUP_ARG_T void
#define NUA_MAGIC_T struct SipStack
#define NUA_HMAGIC_T struct SipHandle

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

#include "log.h"
#include "sofia-glue.h"
#include "util.h"

#define HANDLES_MAX 256       /* nua handles at once: registrations, calls, refused requests */

typedef enum HandleKind {
        HANDLE_REGISTRATION,
        HANDLE_CALL,
} HandleKind;

typedef struct SipHandle {
        HandleKind kind;
        struct SipStack *stack;
        nua_handle_t *nh;
        char *auth_user;
        char *password;
        unsigned auth_tries;
        int challenge_status;   /* the last 401/407 we answered: reported instead of nua's 9xx */
        struct SipHandle *prev, *next;
} SipHandle;

struct SipRegistration {
        SipHandle h;
        Account *owner;
        bool registered;
        bool unregistering;
        char *contact_user;
        unsigned expires;
        /* the REGISTER's own tags, again on every refresh: nua keeps none of the headers */
        char *registrar, *proxy, *contact, *contact_params, *display_name;
        unsigned keepalive_ms;
        bool options_keepalive;
        nua_handle_t *ping;     /* our keep-alive OPTIONS under way, or NULL */
        char server_address[NI_MAXHOST]; /* where the last 2xx came from, numeric ("" unknown) */
};

struct SipCall {
        SipHandle h;
        Call *owner;
        char *contact;          /* ours in this dialog, or NULL (nua's) */
        bool terminated;
        bool reporting_end;     /* inside the TERMINATED callback: we free it after */
};

struct SipStack {
        sd_event *event;
        Manager *manager;
        su_home_t home[1];
        su_root_t *root;
        su_wait_t wait[1];
        int wait_index;
        su_timer_t *kick;
        bool pumping;
        nua_t *nua;
        unsigned port;
        unsigned tls_port;      /* 0: TLS listens on a port we do not know */
        char *address;          /* the one address we listen on, or NULL (all) */
        bool shutting_down;
        bool shutdown_final;
        SipHandle *handles;
        unsigned n_handles;
};

/* ---- sofia-glue.c ---- */

void glue_handle_link(SipStack *s, SipHandle *h, HandleKind kind);
void glue_handle_free(SipHandle *h);
/* Keep the credentials for a 401/407 (none when user is NULL or ""). */
int glue_handle_set_credentials(SipHandle *h, const char *user, const char *password);
/* Answer a 401/407 with our credentials; false when we cannot (or tried enough). */
bool glue_handle_authenticate(SipHandle *h, int status, sip_t const *sip);
/* After a challenge we answered, nua's 9xx becomes the 401/407. */
void glue_handle_fix_status(SipHandle *h, int *status, char const **phrase);
/* The phrase, or the standard one for status when the peer sent none. */
const char *glue_phrase_or_standard(int status, const char *phrase);
/* How a request to uri travels, how a request came: "udp", "tcp" or "tls". */
const char *glue_uri_transport(const char *uri);
const char *glue_via_transport(sip_t const *sip);
/* Our Contact for transport when we listen on one address, else NULL (nua's). */
char *glue_local_contact(SipStack *s, const char *display, const char *user, const char *transport);
/* "Display" <uri>, or <uri> */
char *glue_name_addr(const char *display, const char *uri);

/* ---- sofia-register.c, sofia-call.c: nua events on their handles ---- */

void glue_on_registration_event(SipRegistration *r, nua_handle_t *nh, nua_event_t event, int status,
                                char const *phrase, sip_t const *sip);
void glue_on_call_event(SipCall *c, nua_event_t event, int status, char const *phrase, sip_t const *sip,
                        tagi_t tags[]);
/* A new INVITE (no handle of ours yet): a call for the manager, or refused. */
void glue_on_new_invite(SipStack *s, nua_handle_t *nh, sip_t const *sip);
