/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sofia-sip, and nothing else: the only file with sofia types and tags.
 *
 * The loop: su_root has no poll fd, sd-event has one. So su_root is the master
 * loop and sd-event is nested in it: sd_event_get_fd() is registered with
 * su_root, and pump() runs sd_event_prepare/wait(0)/dispatch when that fd
 * wakes up, before su_root sleeps (prepoll hook) and after every nua event
 * (whose handlers may have switched on sd-event defer sources, e.g. batched
 * PropertiesChanged). Once sd-event has finished, su_root_break() ends the run.
 */
#include <stdarg.h>

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

#define PUMP_MAX 256          /* sd-event iterations per pump, then su_root gets a turn */
#define HANDLES_MAX 256       /* nua handles at once: registrations, calls, refused requests */
#define SIP_MESSAGE_MAX (64 * 1024) /* larger messages are refused (413) or dropped */
#define AUTH_TRIES_MAX 1      /* nua answers later challenges itself, from the credentials we gave */
#define USER_AGENT "deskphone/" DESKPHONE_VERSION

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

/* ---- sofia's log, to ours (debug), a line at a time ---- */

static char log_line[1024];
static size_t log_len;

static void sofia_logger(void *stream, char const *fmt, va_list ap) {
        char buf[1024];

        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        if (n < 0)
                return;
        for (const char *p = buf; *p; p++) {
                if (*p == '\n' || log_len >= sizeof(log_line) - 1) {
                        log_line[log_len] = '\0';
                        if (log_len > 0)
                                log_debug("sofia: %s", log_line);
                        log_len = 0;
                        if (*p == '\n')
                                continue;
                }
                log_line[log_len++] = *p;
        }
}

/* ---- the loop ---- */

static void pump(SipStack *s);

static void on_kick(SipStack *s, su_timer_t *t, SipStack *arg) {
        pump(s);
}

static void pump(SipStack *s) {
        unsigned i;

        if (s->pumping)
                return;
        s->pumping = true;
        for (i = 0; i < PUMP_MAX; i++) {
                int state = sd_event_get_state(s->event);
                if (state != SD_EVENT_INITIAL)
                        break; /* finished, or we are inside a dispatch already */
                int r = sd_event_prepare(s->event);
                if (r == 0)
                        r = sd_event_wait(s->event, 0);
                if (r > 0)
                        r = sd_event_dispatch(s->event);
                if (r < 0) {
                        log_error_errno(r, "Event loop failed: %m");
                        (void) sd_event_exit(s->event, r);
                }
                if (r <= 0)
                        break;
        }
        if (i == PUMP_MAX && s->kick) /* more to do: come back at once, after su_root's own work */
                (void) su_timer_set_interval(s->kick, on_kick, s, 0);
        if (sd_event_get_state(s->event) == SD_EVENT_FINISHED)
                su_root_break(s->root);
        s->pumping = false;
}

static int on_event_fd(SipStack *s, su_wait_t *w, void *arg) {
        pump(s);
        return 0;
}

static void on_prepoll(SipStack *s, su_root_t *root) {
        pump(s);
}

int sip_stack_new(sd_event *event, SipStack **ret) {
        _cleanup_(sip_stack_freep) SipStack *s = calloc(1, sizeof(SipStack));

        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->wait_index = -1;
        su_home_init(s->home);
        if (su_init() != 0)
                return -EIO;
        su_log_redirect(NULL, sofia_logger, NULL);
        s->root = su_root_create(s);
        if (!s->root)
                return -ENOMEM;
        /* callbacks in this thread, no stack thread */
        su_root_threading(s->root, 0);
        if (su_wait_create(s->wait, sd_event_get_fd(event), SU_WAIT_IN) < 0)
                return -EIO;
        s->wait_index = su_root_register(s->root, s->wait, on_event_fd, NULL, su_pri_normal);
        if (s->wait_index < 0)
                return -EIO;
        if (su_root_add_prepoll(s->root, on_prepoll, s) < 0)
                return -EIO;
        s->kick = su_timer_create(su_root_task(s->root), 0);
        if (!s->kick)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static void handle_free(SipHandle *h);

SipStack *sip_stack_free(SipStack *s) {
        if (!s)
                return NULL;
        while (s->handles)
                handle_free(s->handles);
        if (s->nua && s->shutdown_final)
                nua_destroy(s->nua);
        else if (s->nua)
                log_debug("SIP stack not shut down, leaving it to the exit");
        if (s->kick)
                su_timer_destroy(s->kick);
        if (s->root) {
                su_root_remove_prepoll(s->root);
                if (s->wait_index >= 0)
                        su_root_unregister(s->root, s->wait, on_event_fd, NULL);
                su_root_destroy(s->root);
        }
        su_home_deinit(s->home);
        su_deinit();
        free(s->address);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void sip_stack_set_manager(SipStack *s, Manager *m) {
        s->manager = m;
}

int sip_stack_run(SipStack *s) {
        int code = 0;

        pump(s);
        if (sd_event_get_state(s->event) != SD_EVENT_FINISHED)
                su_root_run(s->root);
        if (sd_event_get_exit_code(s->event, &code) < 0)
                code = 0;
        return code;
}

/* ---- handles ---- */

static void handle_link(SipStack *s, SipHandle *h, HandleKind kind) {
        h->kind = kind;
        h->stack = s;
        h->next = s->handles;
        if (s->handles)
                s->handles->prev = h;
        s->handles = h;
        s->n_handles++;
}

static void registration_free_fields(SipRegistration *r) {
        if (r->ping) {
                nua_handle_bind(r->ping, NULL);
                if (!r->h.stack->shutdown_final)
                        nua_handle_destroy(r->ping);
        }
        free(r->contact_user);
}

static void handle_free(SipHandle *h) {
        SipStack *s = h->stack;

        if (h->prev)
                h->prev->next = h->next;
        else
                s->handles = h->next;
        if (h->next)
                h->next->prev = h->prev;
        s->n_handles--;
        if (h->nh) {
                nua_handle_bind(h->nh, NULL);
                if (!s->shutdown_final)
                        nua_handle_destroy(h->nh);
        }
        free(h->auth_user);
        erase_and_free(h->password);
        if (h->kind == HANDLE_REGISTRATION)
                registration_free_fields((SipRegistration *) h);
        else
                free(((SipCall *) h)->contact);
        free(h);
}

static int handle_set_credentials(SipHandle *h, const char *user, const char *password) {
        if (!user || !*user)
                return 0;
        h->auth_user = strdup(user);
        h->password = strdup(password ?: "");
        return h->auth_user && h->password ? 0 : -ENOMEM;
}

/* realm as Digest credentials want it: quoted */
static int format_credentials(SipHandle *h, msg_auth_t const *au, char *buf, size_t size) {
        char const *realm = msg_header_find_param(au->au_common, "realm=");

        if (!au->au_scheme || !realm)
                return -EBADMSG;
        bool quoted = realm[0] == '"';
        int n = snprintf(buf, size, "%s:%s%s%s:%s:%s", au->au_scheme, quoted ? "" : "\"", realm,
                         quoted ? "" : "\"", h->auth_user, h->password);
        return n > 0 && (size_t) n < size ? 0 : -E2BIG;
}

/* Answer a 401/407 with our credentials; false when we cannot (or tried enough). */
static bool handle_authenticate(SipHandle *h, int status, sip_t const *sip) {
        char cred[1024];

        if ((status != 401 && status != 407) || !sip || !h->auth_user || h->auth_tries >= AUTH_TRIES_MAX)
                return false;
        msg_auth_t const *au = status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
        if (!au || format_credentials(h, au, cred, sizeof(cred)) < 0)
                return false;
        h->auth_tries++;
        h->challenge_status = status;
        nua_authenticate(h->nh, NUTAG_AUTH(cred), TAG_END());
        explicit_bzero(cred, sizeof(cred));
        return true;
}

/* After we answered a challenge, nua may end with its own 9xx ("no matching
 * challenge"): what the server said is the 401/407. */
static void handle_fix_status(SipHandle *h, int *status, char const **phrase) {
        if (*status >= 900 && h->challenge_status) {
                *status = h->challenge_status;
                *phrase = sip_status_phrase(*status);
        }
}

static const char *phrase_or_standard(int status, const char *phrase) {
        return phrase && *phrase ? phrase : sip_status_phrase(status) ?: "";
}

/* ---- the agent ---- */

static void on_nua_event(nua_event_t event, int status, char const *phrase, nua_t *nua, SipStack *s,
                         nua_handle_t *nh, SipHandle *h, sip_t const *sip, tagi_t tags[]);

/* "sip:ADDR:PORT" or "sips:..."; PORT 0: "*", any free port */
static void listen_url(char *buf, size_t size, const char *scheme, const char *address, unsigned port) {
        char p[16] = "*";

        if (port > 0)
                snprintf(p, sizeof(p), "%u", port);
        if (!address || !*address)
                snprintf(buf, size, "%s:*:%s", scheme, p);
        else if (strchr(address, ':'))
                snprintf(buf, size, "%s:[%s]:%s", scheme, address, p);
        else
                snprintf(buf, size, "%s:%s:%s", scheme, address, p);
}

static nua_t *create_agent(SipStack *s, const char *url, const char *sips_url) {
        return nua_create(s->root, on_nua_event, s,
                          NUTAG_URL(url),
                          NUTAG_SIPS_URL(sips_url),
                          SIPTAG_USER_AGENT_STR(USER_AGENT),
                          NUTAG_MEDIA_ENABLE(0),   /* offer/answer is ours (sdp.c) */
                          NUTAG_AUTOALERT(0),
                          NUTAG_AUTOANSWER(0),
                          NUTAG_ENABLEINVITE(1),
                          NUTAG_ALLOW("INFO"),      /* DTMF (call-dtmf.c) */
                          NUTAG_APPL_METHOD("INFO"), /* answered by us: 415/400 for bodies we refuse */
                          NUTAG_APPL_METHOD("NOTIFY"), /* unsolicited ones: check-sync (notify.c) */
                          NTATAG_MAXSIZE(SIP_MESSAGE_MAX),
                          TAG_END());
}

int sip_stack_listen(SipStack *s, const char *address, unsigned port, unsigned tls_port) {
        char url[128], sips_url[128];

        if (s->nua)
                return -EALREADY;
        listen_url(url, sizeof(url), "sip", address, port);
        listen_url(sips_url, sizeof(sips_url), "sips", address, tls_port);
        s->nua = create_agent(s, url, sips_url);
        bool tls_moved = !s->nua;
        if (!s->nua) {
                /* TLS's port taken: TLS still goes out (and comes in on another port,
                 * which the Contact of TLS requests names), UDP and TCP unharmed. */
                listen_url(sips_url, sizeof(sips_url), "sips", address, 0);
                s->nua = create_agent(s, url, sips_url);
                if (s->nua)
                        log_warning("Cannot listen for SIP over TLS on port %u (is it in use?), "
                                    "listening on another port", tls_port);
        }
        if (!s->nua)
                return log_error_errno(EADDRINUSE, "Failed to listen for SIP on UDP and TCP port %u "
                                       "(is it in use?)", port);
        s->port = port;
        s->tls_port = tls_moved ? 0 : tls_port;
        if (address && *address && !(s->address = strdup(address)))
                return log_oom();
        char tls_text[32] = "another port";
        if (!tls_moved)
                snprintf(tls_text, sizeof(tls_text), "port %u", tls_port);
        log_info("Listening for SIP on UDP and TCP port %u and TLS %s%s%s", port, tls_text,
                 address && *address ? " of " : "", address && *address ? address : "");
        return 0;
}

bool sip_stack_is_listening(SipStack *s) {
        return s->nua && !s->shutting_down;
}

unsigned sip_stack_port(SipStack *s) {
        return sip_stack_is_listening(s) ? s->port : 0;
}

int sip_stack_shutdown(SipStack *s) {
        if (!s->nua) {
                s->shutdown_final = true;
                manager_on_stack_stopped(s->manager);
                return 0;
        }
        if (s->shutting_down)
                return -EALREADY;
        s->shutting_down = true;
        nua_shutdown(s->nua);
        return 0;
}

int sip_uri_check(const char *uri) {
        su_home_t home[1] = { SU_HOME_INIT(home) };

        url_t *u = url_make(home, uri);
        int r = u && (u->url_type == url_sip || u->url_type == url_sips) && u->url_host && *u->url_host
                        ? 0
                        : -EINVAL;
        su_home_deinit(home);
        return r;
}

/* ---- our Contact ---- */

/* How a request to uri travels: "udp", "tcp" or "tls" (sips:). */
static const char *uri_transport(const char *uri) {
        su_home_t home[1] = { SU_HOME_INIT(home) };
        char tp[8] = "";
        const char *t = "udp";

        url_t *u = uri ? url_make(home, uri) : NULL;
        if (u && u->url_type == url_sips)
                t = "tls";
        else if (u && u->url_params && url_param(u->url_params, "transport", tp, sizeof(tp)) > 0)
                t = su_casematch(tp, "tcp") ? "tcp" : su_casematch(tp, "tls") ? "tls" : "udp";
        su_home_deinit(home);
        return t;
}

static const char *via_transport(sip_t const *sip) {
        const char *p = sip && sip->sip_via ? sip->sip_via->v_protocol : NULL;

        if (p && su_casematch(p, sip_transport_tls))
                return "tls";
        if (p && su_casematch(p, sip_transport_tcp))
                return "tcp";
        return "udp";
}

static char *quoted_display(const char *display);

/* Where we are reached over transport, when we listen on one address:
 * <sip:user@addr:port>, ...;transport=tcp>, or <sips:user@addr:tls_port>. nua
 * would pick it from its transports, but on a loopback address it keeps one
 * of them only (UDP/TCP or TLS), and a UDP call would get a sips: Contact.
 * NULL (nua decides): listening on all addresses, or TLS on an unknown port. */
static char *local_contact(SipStack *s, const char *display, const char *user, const char *transport) {
        _cleanup_(freep) char *q = quoted_display(display);
        bool tls = streq(transport, "tls"), v6 = s->address && strchr(s->address, ':');
        char *c = NULL;

        if (!s->address || (tls && s->tls_port == 0))
                return NULL;
        if (asprintf(&c, "%s%s<%s:%s%s%s%s%s:%u%s>", q ?: "", q ? " " : "", tls ? "sips" : "sip",
                     strempty(user), user && *user ? "@" : "", v6 ? "[" : "", s->address, v6 ? "]" : "",
                     tls ? s->tls_port : s->port, streq(transport, "tcp") ? ";transport=tcp" : "") < 0)
                return NULL;
        return c;
}

/* ---- registrations ---- */

static char *quoted_display(const char *display) {
        size_t n = 0;

        if (!display || !*display)
                return NULL;
        char *q = malloc(strlen(display) * 2 + 3);
        if (!q)
                return NULL;
        q[n++] = '"';
        for (const char *p = display; *p; p++) {
                if (*p == '"' || *p == '\\')
                        q[n++] = '\\';
                q[n++] = *p;
        }
        q[n++] = '"';
        q[n] = '\0';
        return q;
}

/* "Display" <uri>, or <uri> */
static char *name_addr(const char *display, const char *uri) {
        _cleanup_(freep) char *q = quoted_display(display);
        return strjoin(q ?: "", q ? " " : "", "<", uri, ">", NULL);
}

int sip_registration_new(SipStack *s, const SipRegistrationParams *p, Account *owner, SipRegistration **ret) {
        char expires[16], outbound[96];

        if (!sip_stack_is_listening(s))
                return -ENETDOWN;
        if (s->n_handles >= HANDLES_MAX)
                return -EMFILE;
        _cleanup_(freep) char *from = name_addr(p->display_name, p->aor);
        SipRegistration *r = calloc(1, sizeof(SipRegistration));
        if (!from || !r) {
                free(r);
                return -ENOMEM;
        }
        handle_link(s, &r->h, HANDLE_REGISTRATION);
        r->owner = owner;
        r->expires = p->expires;
        r->contact_user = strdup(p->contact_user ?: "");
        if (!r->contact_user || handle_set_credentials(&r->h, p->auth_user, p->password) < 0) {
                handle_free(&r->h);
                return -ENOMEM;
        }
        r->h.nh = nua_handle(s->nua, &r->h, SIPTAG_FROM_STR(from), SIPTAG_TO_STR(from),
                             TAG_IF(p->proxy, NUTAG_PROXY(p->proxy)), TAG_END());
        if (!r->h.nh) {
                handle_free(&r->h);
                return -ENOMEM;
        }
        _cleanup_(freep) char *contact = local_contact(s, p->display_name, r->contact_user,
                                                       uri_transport(p->proxy ?: p->registrar));
        snprintf(expires, sizeof(expires), "%u", p->expires);
        snprintf(outbound, sizeof(outbound), "natify use-rport no-validate %s",
                 p->options_keepalive ? "options-keepalive" : "no-options-keepalive");
        nua_register(r->h.nh,
                     NUTAG_REGISTRAR(p->registrar),
                     TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
                     TAG_IF(!contact, NUTAG_M_USERNAME(r->contact_user)),
                     TAG_IF(!contact && p->contact_params, NUTAG_M_PARAMS(p->contact_params)),
                     TAG_IF(!contact && p->display_name && *p->display_name, NUTAG_M_DISPLAY(p->display_name)),
                     SIPTAG_EXPIRES_STR(expires),
                     NUTAG_OUTBOUND(outbound),
                     NUTAG_KEEPALIVE(p->keepalive_ms),
                     /* again: given to nua_handle() only, the keep-alive would not use it */
                     TAG_IF(p->proxy, NUTAG_PROXY(p->proxy)),
                     TAG_END());
        *ret = r;
        return 0;
}

int sip_registration_refresh(SipRegistration *r) {
        if (r->unregistering || r->h.stack->shutting_down)
                return -ESTALE;
        r->h.auth_tries = 0;
        nua_register(r->h.nh, TAG_END());
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
                handle_free(&r->h);
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
        if (handle_authenticate(&r->h, status, sip))
                return;
        handle_fix_status(&r->h, &status, &phrase);
        if (status < 300)
                r->h.auth_tries = 0;
        r->registered = status < 300;
        if (!r->owner)
                return;
        SipRegistrationResult res = {
                .status = (unsigned) status,
                .phrase = phrase_or_standard(status, phrase),
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

/* nua's outbound: a keep-alive OPTIONS failed (timed out, or its connection
 * could not be opened again): the server is gone, the registration with it. */
static void on_outbound(SipRegistration *r, int status, char const *phrase, sip_t const *sip) {
        if (status < 300 || !r->registered || r->unregistering || !r->owner)
                return;
        log_info("Keep-alive of a registration failed: %d %s", status, strempty(phrase));
        r->registered = false;
        SipRegistrationResult res = {
                .status = (unsigned) status,
                .phrase = phrase_or_standard(status, phrase),
                .local = !sip,
                .keepalive = true,
        };
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
        SipRegistrationResult res = {
                .status = (unsigned) status,
                .phrase = phrase_or_standard(status, phrase),
                .local = !sip,
                .keepalive = true,
        };
        account_on_ping(r->owner, &res);
}

static void on_unregister(SipRegistration *r, int status, char const *phrase) {
        if (status < 200)
                return;
        log_debug("Un-REGISTER answered: %d %s", status, strempty(phrase));
        r->registered = false;
        r->unregistering = false;
        if (!r->owner)
                handle_free(&r->h);
}

/* ---- calls ---- */

static SipCall *call_alloc(SipStack *s, Call *owner) {
        SipCall *c = calloc(1, sizeof(SipCall));
        if (!c)
                return NULL;
        handle_link(s, &c->h, HANDLE_CALL);
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
        _cleanup_(freep) char *from = p->from ? name_addr(p->display_name, p->from) : NULL;
        if (p->from && !from)
                return -ENOMEM;
        SipCall *c = call_alloc(s, owner);
        if (!c || handle_set_credentials(&c->h, p->auth_user, p->password) < 0) {
                if (c)
                        handle_free(&c->h);
                return -ENOMEM;
        }
        c->h.nh = nua_handle(s->nua, &c->h, SIPTAG_TO_STR(p->to), TAG_IF(from, SIPTAG_FROM_STR(from)),
                             TAG_IF(p->proxy, NUTAG_PROXY(p->proxy)), TAG_END());
        if (!c->h.nh) {
                handle_free(&c->h);
                return -ENOMEM;
        }
        c->contact = local_contact(s, NULL, p->contact_user, uri_transport(p->proxy ?: p->to));
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
        nua_respond(c->h.nh, (int) status, phrase_or_standard((int) status, phrase),
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
                handle_free(&c->h);
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
                .phrase = phrase_or_standard(status, phrase),
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
        if (handle_authenticate(&c->h, status, sip))
                return;
        handle_fix_status(&c->h, &status, &phrase);
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
                call_on_info_sent(c->owner, status > 0 ? (unsigned) status : 0, phrase_or_standard(status, phrase));
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
        handle_free(&c->h);
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

static void on_new_invite(SipStack *s, nua_handle_t *nh, sip_t const *sip) {
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
        c->contact = local_contact(s, NULL, in.request_user, via_transport(sip));
        unsigned status = manager_on_incoming_call(s->manager, c, &in);
        su_home_deinit(home);
        if (status == 0)
                return;
        c->h.nh = NULL;
        handle_free(&c->h);
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

/* A NOTIFY nobody subscribed to (NUTAG_APPL_METHOD): notify.c says what to answer; in a
 * call's dialog there is no subscription (481). h: the handle it came on, NULL a new one. */
static void on_notify(SipStack *s, nua_t *nua, nua_handle_t *nh, SipHandle *h, sip_t const *sip) {
        msg_t *msg = nua_current_request(nua);
        su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
        sip_event_t const *o = sip ? sip->sip_event : NULL;
        char const *reboot = o ? msg_params_find(o->o_params, "reboot=") : NULL;
        char source[NI_MAXHOST] = "";
        unsigned status = 403;

        if (ai && ai->ai_addr &&
            getnameinfo(ai->ai_addr, (socklen_t) ai->ai_addrlen, source, sizeof(source), NULL, 0, NI_NUMERICHOST) != 0)
                source[0] = '\0';
        SipNotify n = {
                .event = o && o->o_type ? o->o_type : "",
                .reboot = reboot && su_casematch(reboot, "true"),
                .source = source,
                .request_user = sip && sip->sip_request && sip->sip_request->rq_url->url_user
                                        ? sip->sip_request->rq_url->url_user : "",
        };
        if (h && h->kind == HANDLE_CALL)
                status = 481;
        else if (s->manager && !s->shutting_down && source[0])
                status = notify_on_request(s->manager, &n);
        nua_respond(nh, (int) status, sip_status_phrase((int) status) ?: "Refused", NUTAG_WITH_THIS(nua), TAG_END());
        if (!h)
                nua_handle_destroy(nh);
}

/* ---- events ---- */

static void on_shutdown(SipStack *s, int status, char const *phrase) {
        if (status < 200)
                return;
        log_info("SIP stack stopped: %d %s", status, strempty(phrase));
        s->shutdown_final = true;
        if (s->manager)
                manager_on_stack_stopped(s->manager);
}

static void on_call_event(SipCall *c, nua_event_t event, int status, char const *phrase, sip_t const *sip,
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

static void on_registration_event(SipRegistration *r, nua_handle_t *nh, nua_event_t event, int status,
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

/* A request nobody asked for (OPTIONS, MESSAGE, ...): nua answered it; drop its handle. */
static bool is_unsolicited_request(nua_event_t event) {
        switch (event) {
        case nua_i_options:
        case nua_i_message:
        case nua_i_info:
        case nua_i_refer:
        case nua_i_notify:
        case nua_i_subscribe:
        case nua_i_publish:
        case nua_i_method:
        case nua_i_register:
        case nua_i_update:
        case nua_i_prack:
        case nua_i_bye:
        case nua_i_cancel:
        case nua_i_ack:
                return true;
        default:
                return false;
        }
}

static void on_nua_event(nua_event_t event, int status, char const *phrase, nua_t *nua, SipStack *s,
                         nua_handle_t *nh, SipHandle *h, sip_t const *sip, tagi_t tags[]) {
        log_debug("nua event %s: %d %s", nua_event_name(event), status, strempty(phrase));

        if (event == nua_r_shutdown)
                on_shutdown(s, status, phrase);
        else if (!h && nh && event == nua_i_invite)
                on_new_invite(s, nh, sip);
        else if (!h && nh && event == nua_i_info && status < 200) {
                /* INFO outside any call of ours: no dialog for it */
                nua_respond(nh, 481, sip_status_phrase(481), NUTAG_WITH_THIS(nua), TAG_END());
                nua_handle_destroy(nh);
        } else if (nh && event == nua_i_notify && status < 200)
                on_notify(s, nua, nh, h, sip);
        else if (!h && nh && is_unsolicited_request(event))
                nua_handle_destroy(nh);
        else if (h && h->kind == HANDLE_CALL)
                on_call_event((SipCall *) h, event, status, phrase, sip, tags);
        else if (h && h->kind == HANDLE_REGISTRATION)
                on_registration_event((SipRegistration *) h, nh, event, status, phrase, sip);
        else if (event == nua_i_error)
                log_warning("SIP stack error: %d %s", status, strempty(phrase));
        pump(s);
}
