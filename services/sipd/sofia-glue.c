/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sofia-sip, and nothing else: with sofia-register.c and sofia-call.c, the only
 * files with sofia types and tags (sofia-internal.h). This one holds the stack:
 * its loop, the agent, the handles, our Contact, a NOTIFY nobody subscribed to
 * (notify.c decides), and the dispatch of nua events to registrations and calls.
 *
 * The loop: su_root has no poll fd, sd-event has one. So su_root is the master
 * loop and sd-event is nested in it: sd_event_get_fd() is registered with
 * su_root, and pump() runs sd_event_prepare/wait(0)/dispatch when that fd
 * wakes up, before su_root sleeps (prepoll hook) and after every nua event
 * (whose handlers may have switched on sd-event defer sources, e.g. batched
 * PropertiesChanged). Once sd-event has finished, su_root_break() ends the run.
 */
#include <stdarg.h>

#include "sofia-internal.h"

#define PUMP_MAX 256          /* sd-event iterations per pump, then su_root gets a turn */
#define SIP_MESSAGE_MAX (64 * 1024) /* larger messages are refused (413) or dropped */
#define AUTH_TRIES_MAX 1      /* nua answers later challenges itself, from the credentials we gave */
#define USER_AGENT "deskphone/" DESKPHONE_VERSION

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

SipStack *sip_stack_free(SipStack *s) {
        if (!s)
                return NULL;
        if (s->handles)
                log_debug("Freeing the SIP stack with %u handle(s) left", s->n_handles);
        while (s->handles)
                glue_handle_free(s->handles);
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

void glue_handle_link(SipStack *s, SipHandle *h, HandleKind kind) {
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
        free(r->registrar);
        free(r->proxy);
        free(r->contact);
        free(r->contact_params);
        free(r->display_name);
}

void glue_handle_free(SipHandle *h) {
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

int glue_handle_set_credentials(SipHandle *h, const char *user, const char *password) {
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
bool glue_handle_authenticate(SipHandle *h, int status, sip_t const *sip) {
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
void glue_handle_fix_status(SipHandle *h, int *status, char const **phrase) {
        if (*status >= 900 && h->challenge_status) {
                *status = h->challenge_status;
                *phrase = sip_status_phrase(*status);
        }
}

const char *glue_phrase_or_standard(int status, const char *phrase) {
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
const char *glue_uri_transport(const char *uri) {
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

const char *glue_via_transport(sip_t const *sip) {
        const char *p = sip && sip->sip_via ? sip->sip_via->v_protocol : NULL;

        if (p && su_casematch(p, sip_transport_tls))
                return "tls";
        if (p && su_casematch(p, sip_transport_tcp))
                return "tcp";
        return "udp";
}

/* "Display" quoted for a name-addr, or NULL */
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

/* Where we are reached over transport, when we listen on one address:
 * <sip:user@addr:port>, ...;transport=tcp>, or <sips:user@addr:tls_port>. nua
 * would pick it from its transports, but on a loopback address it keeps one
 * of them only (UDP/TCP or TLS), and a UDP call would get a sips: Contact.
 * NULL (nua decides): listening on all addresses, or TLS on an unknown port. */
char *glue_local_contact(SipStack *s, const char *display, const char *user, const char *transport) {
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

/* "Display" <uri>, or <uri> */
char *glue_name_addr(const char *display, const char *uri) {
        _cleanup_(freep) char *q = quoted_display(display);
        return strjoin(q ?: "", q ? " " : "", "<", uri, ">", NULL);
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
                glue_on_new_invite(s, nh, sip);
        else if (!h && nh && event == nua_i_info && status < 200) {
                /* INFO outside any call of ours: no dialog for it */
                nua_respond(nh, 481, sip_status_phrase(481), NUTAG_WITH_THIS(nua), TAG_END());
                nua_handle_destroy(nh);
        } else if (nh && event == nua_i_notify && status < 200)
                on_notify(s, nua, nh, h, sip);
        else if (!h && nh && is_unsolicited_request(event))
                nua_handle_destroy(nh);
        else if (h && h->kind == HANDLE_CALL)
                glue_on_call_event((SipCall *) h, event, status, phrase, sip, tags);
        else if (h && h->kind == HANDLE_REGISTRATION)
                glue_on_registration_event((SipRegistration *) h, nh, event, status, phrase, sip);
        else if (event == nua_i_error)
                log_warning("SIP stack error: %d %s", status, strempty(phrase));
        pump(s);
}
