/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "bus.h"
#include "media-client.h"
#include "sdp.h"
#include "settings.h"
#include "sofia-glue.h"

#define SIP1_NAME "org.deskphone.Sip1"
#define SIP1_PATH "/org/deskphone/Sip1"
#define SIP1_IFACE "org.deskphone.Sip1"
#define SIP1_ACCOUNT_IFACE "org.deskphone.Sip1.Account"
#define SIP1_CALL_IFACE "org.deskphone.Sip1.Call"
#define SIPD_OBJECT_MANAGER_PATH "/org/deskphone"

#define CONFIG1_NAME "org.deskphone.Config1"
#define CONFIG1_PATH "/org/deskphone/Config1"
#define CONFIG1_IFACE "org.deskphone.Config1"

#define USEC_PER_SEC 1000000ULL
#define CALLS_LIVE_MAX 8                 /* calls not ended; more incoming ones get 486 */
#define CALLS_MAX 32                     /* call objects including ended ones */
#define CALL_LINGER_USEC (30 * USEC_PER_SEC)
/* How long an established call waits for a new mediad when its own went away. */
#define MEDIA_RESTORE_USEC (10 * USEC_PER_SEC)
#define SHUTDOWN_TIMEOUT_USEC (2 * USEC_PER_SEC)

/* ---- accounts ---- */

typedef enum AccountState {
        ACCOUNT_UNREGISTERED,
        ACCOUNT_REGISTERING,
        ACCOUNT_REGISTERED,
        ACCOUNT_FAILED,
        _ACCOUNT_STATE_MAX,
} AccountState;

struct Account {
        Manager *manager;
        unsigned index;                 /* 1..16 */
        char path[64];
        AccountSettings settings;
        AccountState state;
        char *last_error;
        unsigned expires;               /* granted */
        SipRegistration *reg;
        unsigned server;                /* the server in use: 0 or 1 */
        unsigned failures;              /* failed attempts in a row (backoff) */
        unsigned no_answer;             /* attempts in a row the current server did not answer */
        sd_event_source *retry;
        uint64_t register_started;      /* monotonic µs of the last REGISTER we started */
        unsigned tls_generation;        /* the manager's, when that REGISTER started */
        bool tls_waiting;               /* over TLS: waits for the certificates */
        sd_event_source *ping;          /* our keep-alive (TCP, TLS): next one, or its answer's deadline */
        bool ping_pending;              /* one is under way */
        uint64_t ping_sent;             /* monotonic µs */
};

const char *account_state_to_string(AccountState s);
int account_new(Manager *m, unsigned index, Account **ret);
Account *account_free(Account *a);
/* New settings: re-register only when what registration uses changed. */
int account_apply_settings(Account *a, const AccountSettings *s);
/* Register now (config arrived, stack started, Register() called). */
int account_start(Account *a);
/* Register() on the bus: refresh now, or start over after a failure. */
int account_register_now(Account *a, BusError *error);
/* Un-REGISTER and forget the registration. */
void account_stop(Account *a);
bool account_can_register(const Account *a);
/* Strings for the bus and for calls; NULL when the account has no server. */
int account_uri(const Account *a, char **ret);       /* sip:user@server */
int account_server(const Account *a, char **ret);    /* host:port */
int account_domain(const Account *a, char **ret);    /* how to complete a dialled number */
int account_proxy(const Account *a, char **ret);     /* where requests go: URI with transport */
SipTransport account_transport(const Account *a);
const char *account_contact_params(const Account *a); /* "transport=tcp" or NULL */
/* The TLS configuration changed: a registration over TLS starts again, on a new connection. */
void account_on_tls_changed(Account *a);

/* ---- calls ---- */

typedef enum CallState {
        CALL_DIALING,
        CALL_RINGING,
        CALL_INCOMING,
        CALL_EARLY,
        CALL_ACTIVE,
        CALL_HELD,
        CALL_ENDED,
        _CALL_STATE_MAX,
} CallState;

typedef enum CallDirection {
        CALL_INCOMING_DIRECTION,
        CALL_OUTGOING_DIRECTION,
        _CALL_DIRECTION_MAX,
} CallDirection;

typedef enum CallReinvite {
        REINVITE_NONE,
        REINVITE_HOLD,
        REINVITE_RESUME,
        REINVITE_RESTORE,       /* mediad was replaced: a new stream, offered to the peer */
} CallReinvite;

typedef struct CallDtmf CallDtmf;

struct Call {
        Manager *manager;
        unsigned id;
        char path[64];
        CallState state;
        CallDirection direction;
        char *remote_uri;
        char *remote_name;
        unsigned account;
        char *codec;
        uint64_t start_time;            /* µs since the epoch, when it became active */
        char *end_reason;
        SipCall *sip;
        char *bind;                     /* local media address to ask for, or NULL */

        /* media */
        char *stream;                   /* Media1 stream path, once created */
        bool stream_started;
        const char *media_encryption;   /* "none" or "srtp": the stream's Encryption (NULL: none yet) */
        SdpLocal *local;
        SdpOrigin origin;
        SdpSession *offer;              /* incoming: the offer to answer (NULL: we offer in 200) */
        SdpSession *remote;             /* the peer's last SDP */
        bool answer_wanted;             /* Answer() came before the stream */
        bool stream_lost;               /* mediad went away: a new stream once it is back */
        sd_event_source *restore_timer; /* ... within MEDIA_RESTORE_USEC, or the call ends */
        bool restore_retry;             /* the timer offers it again (our re-INVITE got 491) */
        unsigned restore_491s;
        bool offer_in_answer;           /* we offered in a 2xx; the answer comes with the ACK */
        bool local_hold, remote_hold;
        CallReinvite reinvite;          /* our re-INVITE in progress */

        sd_event_source *linger;
        CallDtmf *dtmf;                 /* call-dtmf.c; NULL until DTMF is used */
        Call *next;
};

const char *call_state_to_string(CallState s);
const char *call_direction_to_string(CallDirection d);
int call_new_outgoing(Manager *m, const char *target, unsigned account, Call **ret, BusError *error);
/* On failure *ret_status is the SIP status to refuse the INVITE with. */
int call_new_incoming(Manager *m, SipCall *sip, const SipIncoming *in, unsigned account, Call **ret,
                      unsigned *ret_status);
Call *call_free(Call *c);
int call_answer(Call *c, BusError *error);
int call_hangup(Call *c, BusError *error);
int call_reject(Call *c, BusError *error);
int call_hold(Call *c, BusError *error);
int call_resume(Call *c, BusError *error);
bool call_is_live(const Call *c);

/* call-dtmf.c: SendDtmf and DtmfReceived, by RFC 4733, in-band or SIP INFO */
int call_send_dtmf(Call *c, DBusMessage *m, const char *digits, BusError *error); /* replies to m itself */
/* Each offer/answer, before the stream is started or updated with n: "dtmf_inband_detect"
 * for it (1 or 0) when that changes, else -1. */
int call_dtmf_on_negotiated(Call *c, const SdpNegotiated *n);
/* The call's stream is gone (mediad went away): its replacement is told afresh. */
void call_dtmf_on_stream_lost(Call *c);
void call_dtmf_free(Call *c);

/* call-tones.c: call progress tones (Media1.PlayTone), one for all calls */
typedef struct CallTones CallTones;
/* Decide the tone again from every call; tells mediad only when it changes. */
void call_tones_update(Manager *m);
/* c is about to end with a final SIP status (>= 300): a failed outgoing call starts
 * the timed busy or congestion tone. */
void call_tones_on_end(Call *c, unsigned status);
CallTones *call_tones_free(CallTones *t);

/* ---- the manager ---- */

typedef struct Certificates Certificates;

struct Manager {
        sd_event *event;
        Bus *bus;
        SipStack *stack;
        Settings settings;
        bool have_settings;
        bool fetching, refetch;
        unsigned fetch_failures;
        sd_event_source *fetch_retry;
        sd_event_source *listen_retry;
        int changed_match;
        Account *accounts[SIPD_N_ACCOUNTS];
        Call *calls;                    /* in creation order */
        unsigned next_call_id;
        bool stopping;
        sd_event_source *stop_timer;
        CallTones *tones;               /* call-tones.c; NULL until the first call */
        bool check_sync_pending;        /* notify.c: Provision1.Start asked, not answered */
        uint64_t check_sync_last;       /* notify.c: when it was last asked (CLOCK_MONOTONIC µs), 0 never */
        sd_event_source *check_sync_later; /* notify.c: one that came too soon, asked for at the window's end */

        /* SIP over TLS (security.c) */
        Certificates *certs;            /* provd's custom CAs and device certificate */
        unsigned tls_certs_generation;  /* of certs, when last applied */
        bool tls_configured;
        bool tls_unsupported;           /* not the sofia-sip we know: TLS refused */
        SecuritySettings tls_applied;   /* what tls-gnutls.c verifies with */
        unsigned tls_generation;        /* counts the configurations applied */
};

int manager_new(sd_event *event, Bus *bus, SipStack *stack, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
/* Objects on the bus, the name, then the configuration (asynchronously). */
int manager_start(Manager *m);
/* Unregister, hang up, stop the stack; sd_event_exit() once done or after a timeout. */
void manager_stop(Manager *m);
Bus *manager_bus(Manager *m);
Call *manager_find_call(Manager *m, unsigned id);
Account *manager_account(Manager *m, unsigned index);
/* Account 0: the first registered account, else a direct call (0). */
unsigned manager_default_account(Manager *m);
unsigned manager_n_live_calls(Manager *m);
/* Dial(): make room among the call objects, then call_new_outgoing(). */
int manager_dial(Manager *m, const char *target, unsigned account, Call **ret, BusError *error);
void manager_add_call(Manager *m, Call *c);
void manager_remove_call(Manager *m, Call *c);

/* SIP over TLS (security.c): configure tls-gnutls.c from the settings, before the
 * stack starts and whenever they change. 1: changed while running, the
 * connections we opened are closed: call manager_tls_restart_accounts() once
 * the accounts have their new settings. -EPROTONOSUPPORT: this sofia-sip's TLS
 * cannot be used (m->tls_unsupported). */
int manager_configure_tls(Manager *m);
void manager_tls_restart_accounts(Manager *m);
/* Has provd said which certificates there are (TLS accounts wait until then)? */
bool manager_tls_ready(Manager *m);
void manager_tls_done(Manager *m);
/* "TLS: <reason>" when the last TLS connection to host:port (0: any) since since_usec failed. */
int manager_tls_reason(Manager *m, const char *host, unsigned port, uint64_t since_usec, char **ret);

/* ---- the bus (sipd-bus.c) ---- */

extern const BusInterface sipd_manager_interface;
extern const BusInterface sipd_account_interface;
extern const BusInterface sipd_call_interface;

#define account_emit(a, ...) \
        (void) bus_emit_properties_changed((a)->manager->bus, (a)->path, SIP1_ACCOUNT_IFACE, __VA_ARGS__, NULL)
#define call_emit(c, ...) \
        (void) bus_emit_properties_changed((c)->manager->bus, (c)->path, SIP1_CALL_IFACE, __VA_ARGS__, NULL)
