/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small sofia-sip program on sipd's TLS layer (services/sipd/tls-gnutls.c),
 * driven by test-sofia-tls.py against Kamailio, OpenSSL and itself:
 *
 *   test-sofia-tls register --uri sips:localhost:5061 --user alice --password pw [TLS options]
 *   test-sofia-tls request  --uri sips:127.0.0.1:5061 [--body-size N] [TLS options]
 *   test-sofia-tls serve    --listen sips:127.0.0.1:5061 --dev-cert F --dev-key F
 *
 * TLS options: --ca-cert 0|1|2 --ca-dir DIR --system-ca FILE --trust 0|1 --cn 0|1
 *              --dev-cert FILE --dev-key FILE --client-cert 0|1 --resolv-conf FILE
 *
 * It prints what a test asserts on, as key=value lines: the final status, the
 * time it took, the TLS reason sipd would put on LastError, and the proof of
 * who did TLS: our counters, GnuTLS's session description, and how often
 * OpenSSL was called. The SSL_* functions below stand in for libssl's (this
 * executable exports them, like the tls_* ones): if sofia's own OpenSSL layer
 * ever runs again, it lands here, is counted, and fails.
 */
#include <getopt.h>
#include <signal.h>

#define NUA_MAGIC_T void
#define NUA_HMAGIC_T void
#define SU_ROOT_MAGIC_T void
#define SU_TIMER_ARG_T void

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/sresolv.h>
#include <sofia-sip/su_tag_io.h>

#include "log.h"
#include "tls-gnutls.h"
#include "util.h"

/* ---- OpenSSL traps ---- */

static unsigned openssl_calls;

void *SSL_CTX_new(const void *method);
void *SSL_new(void *ctx);
int SSL_connect(void *ssl);
int SSL_accept(void *ssl);
int SSL_do_handshake(void *ssl);
int SSL_read(void *ssl, void *buf, int num);
int SSL_write(void *ssl, const void *buf, int num);

static void openssl_called(const char *what) {
        openssl_calls++;
        fprintf(stderr, "test-sofia-tls: OpenSSL's %s() called: sofia's own TLS layer ran\n", what);
}

void *SSL_CTX_new(const void *method) {
        openssl_called("SSL_CTX_new");
        return NULL;
}

void *SSL_new(void *ctx) {
        openssl_called("SSL_new");
        return NULL;
}

int SSL_connect(void *ssl) {
        openssl_called("SSL_connect");
        return -1;
}

int SSL_accept(void *ssl) {
        openssl_called("SSL_accept");
        return -1;
}

int SSL_do_handshake(void *ssl) {
        openssl_called("SSL_do_handshake");
        return -1;
}

int SSL_read(void *ssl, void *buf, int num) {
        openssl_called("SSL_read");
        return -1;
}

int SSL_write(void *ssl, const void *buf, int num) {
        openssl_called("SSL_write");
        return -1;
}

/* ---- the program ---- */

typedef enum Mode {
        MODE_REGISTER,
        MODE_REQUEST,
        MODE_SERVE,
} Mode;

typedef struct Args {
        Mode mode;
        const char *uri, *listen, *user, *password, *resolv_conf;
        unsigned body_size, timeout_ms;
        SipTlsConfig tls;
} Args;

typedef struct Ctx {
        const Args *args;
        su_home_t home[1];
        su_root_t *root;
        nua_t *nua;
        nua_handle_t *nh;
        uint64_t start;
        int status;
        char phrase[128];
        char via[16];
        unsigned auth_tries;
        double elapsed_ms;
        bool done;
} Ctx;

static volatile sig_atomic_t terminate;

static void on_signal(int sig) {
        terminate = 1;
}

static void finish(Ctx *c, int status, const char *phrase, const sip_t *sip) {
        if (c->done)
                return;
        c->done = true;
        c->status = status;
        c->elapsed_ms = (double) (now_usec() - c->start) / 1000.0;
        snprintf(c->phrase, sizeof c->phrase, "%s", strempty(phrase));
        if (sip && sip->sip_via && sip->sip_via->v_protocol)
                snprintf(c->via, sizeof c->via, "%s", sip->sip_via->v_protocol + strlen("SIP/2.0/"));
        nua_shutdown(c->nua);
}

static void authenticate(Ctx *c, const sip_t *sip) {
        const msg_auth_t *au = sip->sip_www_authenticate ?: sip->sip_proxy_authenticate;
        const char *realm = au ? msg_params_find(au->au_params, "realm=") : NULL;
        char *auth;

        if (!realm || !c->args->user || c->auth_tries++ > 0) {
                finish(c, sip->sip_status->st_status, sip->sip_status->st_phrase, sip);
                return;
        }
        auth = su_sprintf(c->home, "%s:%s:%s:%s", au->au_scheme, realm, c->args->user,
                          strempty(c->args->password));
        nua_authenticate(c->nh, NUTAG_AUTH(auth), TAG_END());
}

static void on_event(nua_event_t event, int status, const char *phrase, nua_t *nua, void *magic,
                     nua_handle_t *nh, void *hmagic, const sip_t *sip, tagi_t tags[]) {
        Ctx *c = magic;

        switch (event) {
        case nua_r_register:
        case nua_r_options:
        case nua_r_message:
                if (status < 200)
                        return;
                if ((status == 401 || status == 407) && sip)
                        authenticate(c, sip);
                else
                        finish(c, status, phrase, sip);
                return;
        case nua_i_options:
        case nua_i_message:
        case nua_i_register:
                /* serve: answered by nua itself or here */
                if (nh && event == nua_i_register)
                        nua_respond(nh, 200, "OK", NUTAG_WITH_THIS(nua), TAG_END());
                return;
        case nua_r_shutdown:
                if (status >= 200)
                        su_root_break(c->root);
                return;
        default:
                if (status >= 300 && nh == c->nh)
                        finish(c, status, phrase, sip);
                return;
        }
}

static void on_tick(void *magic, su_timer_t *t, void *arg) {
        Ctx *c = arg;

        if (terminate || (c->args->mode != MODE_SERVE && now_usec() - c->start > c->args->timeout_ms * 1000ULL))
                finish(c, 0, terminate ? "terminated" : "timeout", NULL);
}

static int start_request(Ctx *c) {
        const Args *a = c->args;
        url_t *url = url_hdup(c->home, (url_t *) url_make(c->home, a->uri));
        char *aor, *body;

        if (!url || !url->url_host)
                return -EINVAL;
        aor = su_sprintf(c->home, "%s:%s@%s", url->url_type == url_sips ? "sips" : "sip",
                         a->user ?: "test", url->url_host);
        c->nh = nua_handle(c->nua, NULL, SIPTAG_TO_STR(aor), SIPTAG_FROM_STR(aor), TAG_END());
        if (!c->nh)
                return -ENOMEM;
        c->start = now_usec();
        if (a->mode == MODE_REGISTER) {
                /* as sipd: no contact validation OPTIONS (they would go to the AOR's default port) */
                nua_register(c->nh, NUTAG_REGISTRAR(url), NUTAG_M_USERNAME(a->user ?: "test"),
                             NUTAG_OUTBOUND("natify use-rport no-validate no-options-keepalive"), TAG_END());
                return 0;
        }
        if (a->body_size == 0) {
                nua_options(c->nh, NUTAG_URL(url), TAG_END());
                return 0;
        }
        body = su_alloc(c->home, a->body_size + 1);
        if (!body)
                return -ENOMEM;
        for (unsigned i = 0; i < a->body_size; i++)
                body[i] = (char) ('a' + i % 26);
        body[a->body_size] = 0;
        nua_message(c->nh, NUTAG_URL(url), SIPTAG_CONTENT_TYPE_STR("text/plain"), SIPTAG_PAYLOAD_STR(body),
                    TAG_END());
        return 0;
}

static void print_report(Ctx *c, const char *host, unsigned port) {
        SipTlsStats st;
        char *reason = NULL;

        sip_tls_get_stats(&st);
        if (c->args->mode != MODE_SERVE) {
                printf("status=%d\nphrase=%s\nelapsed_ms=%.1f\nvia=%s\n", c->status, c->phrase, c->elapsed_ms,
                       c->via);
                if (host && sip_tls_last_error(host, (uint16_t) port, c->start, &reason) == 0)
                        printf("tls_error=%s\n", reason);
                free(reason);
        }
        printf("tls_init_master=%u\ntls_sessions=%u\ntls_handshakes=%u\ntls_failures=%u\ntls_write_blocked=%u\n",
               st.init_master, st.sessions, st.handshakes, st.failures, st.write_blocked);
        printf("handshake_ms=%.2f\nsession=%s\nserver_name=%s\n", (double) st.last_handshake_usec / 1000.0,
               st.last_session, st.last_server_name);
        printf("openssl_calls=%u\nsofia_has_tls=%s\n", openssl_calls, strempty(sofia_sip_has_tls));
        fflush(stdout);
}

static int run(const Args *a) {
        Ctx c = { .args = a };
        su_timer_t *tick;
        url_t *url = NULL;
        int r;

        su_home_init(c.home);
        c.root = su_root_create(NULL);
        if (!c.root)
                return -ENOMEM;
        su_root_threading(c.root, 0);
        r = sip_tls_configure(&a->tls);
        if (r == -EPROTONOSUPPORT)
                /* as sipd: go on without TLS (each TLS request fails at once) */
                printf("abi=unsupported\n");
        else if (r < 0)
                return log_error_errno(r, "TLS configuration refused: %m");
        c.nua = nua_create(c.root, on_event, &c,
                           NUTAG_URL("sip:127.0.0.1:*"),
                           NUTAG_SIPS_URL(a->listen ?: "sips:127.0.0.1:*"),
                           TAG_IF(a->resolv_conf, SRESTAG_RESOLV_CONF(a->resolv_conf)),
                           TAG_END());
        if (!c.nua) {
                print_report(&c, NULL, 0);      /* openssl_calls says if OpenSSL was in the way */
                return log_error_errno(EPROTO, "nua_create() failed");
        }
        if (a->mode == MODE_SERVE) {
                printf("listening=%s\n", a->listen);
                fflush(stdout);
                c.start = now_usec();
        } else {
                r = start_request(&c);
                if (r < 0)
                        return log_error_errno(r, "Bad --uri %s", a->uri);
                url = url_hdup(c.home, (url_t *) url_make(c.home, a->uri));
        }
        tick = su_timer_create(su_root_task(c.root), 20);
        su_timer_set_for_ever(tick, on_tick, &c);
        su_root_run(c.root);
        su_timer_destroy(tick);

        print_report(&c, url ? url->url_host : NULL,
                     url && url->url_port ? (unsigned) atoi(url->url_port) : 5061);
        if (c.nh)
                nua_handle_destroy(c.nh);
        nua_destroy(c.nua);
        su_root_destroy(c.root);
        su_home_deinit(c.home);
        sip_tls_shutdown();
        return 0;
}

static int parse_bool(const char *s, bool *ret) {
        unsigned v;
        int r = safe_atou(s, &v);

        if (r < 0 || v > 1)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_args(int argc, char **argv, Args *a) {
        static const struct option options[] = {
                { "uri", required_argument, NULL, 'u' },   { "listen", required_argument, NULL, 'l' },
                { "user", required_argument, NULL, 'U' },  { "password", required_argument, NULL, 'P' },
                { "ca-cert", required_argument, NULL, 'C' }, { "ca-dir", required_argument, NULL, 'D' },
                { "system-ca", required_argument, NULL, 'S' }, { "trust", required_argument, NULL, 'T' },
                { "cn", required_argument, NULL, 'N' },    { "dev-cert", required_argument, NULL, 'c' },
                { "dev-key", required_argument, NULL, 'k' }, { "client-cert", required_argument, NULL, 'm' },
                { "resolv-conf", required_argument, NULL, 'r' }, { "body-size", required_argument, NULL, 'b' },
                { "timeout-ms", required_argument, NULL, 't' }, {},
        };
        unsigned u;
        int o;

        if (argc < 2)
                return -EINVAL;
        if (streq(argv[1], "register"))
                a->mode = MODE_REGISTER;
        else if (streq(argv[1], "request"))
                a->mode = MODE_REQUEST;
        else if (streq(argv[1], "serve"))
                a->mode = MODE_SERVE;
        else
                return -EINVAL;
        optind = 2;
        while ((o = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                int r = 0;

                switch (o) {
                case 'u': a->uri = optarg; break;
                case 'l': a->listen = optarg; break;
                case 'U': a->user = optarg; break;
                case 'P': a->password = optarg; break;
                case 'D': a->tls.policy.custom_ca_dir = optarg; break;
                case 'S': a->tls.policy.system_ca_file = optarg; break;
                case 'c': a->tls.device_cert = optarg; break;
                case 'k': a->tls.device_key = optarg; break;
                case 'r': a->resolv_conf = optarg; break;
                case 'T': r = parse_bool(optarg, &a->tls.policy.trust_certificates); break;
                case 'N': r = parse_bool(optarg, &a->tls.policy.cn_validation); break;
                case 'm': r = parse_bool(optarg, &a->tls.client_cert); break;
                case 'C':
                        r = safe_atou(optarg, &u);
                        if (r == 0 && u >= _TLS_CA_MAX)
                                r = -ERANGE;
                        a->tls.policy.ca_cert = (TlsCaSet) u;
                        break;
                case 'b': r = safe_atou(optarg, &a->body_size); break;
                case 't': r = safe_atou(optarg, &a->timeout_ms); break;
                default: return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (a->mode == MODE_SERVE ? !a->listen : !a->uri)
                return -EINVAL;
        return 0;
}

int main(int argc, char **argv) {
        Args a = {
                .timeout_ms = 40000,
                .tls.policy = { .trust_certificates = true, .ca_cert = TLS_CA_CUSTOM, .cn_validation = true },
        };
        int r;

        log_setup("test-sofia-tls");
        if (parse_args(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: %s register|request|serve --uri URI | --listen URI [options]\n", argv[0]);
                return 2;
        }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGPIPE, SIG_IGN);
        su_init();
        r = run(&a);
        su_deinit();
        return r < 0 ? 1 : 0;
}
