/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdarg.h>

#include "settings.h"
#include "util.h"

static const char * const transport_names[_SIP_TRANSPORT_MAX] = {
        [SIP_TRANSPORT_UDP] = "udp",
        [SIP_TRANSPORT_TCP] = "tcp",
        [SIP_TRANSPORT_TLS] = "tls",
};

const char *sip_transport_to_string(SipTransport t) {
        return t < _SIP_TRANSPORT_MAX ? transport_names[t] : NULL;
}

/* A view of the dictionary sorted by key, for bsearch. */
typedef struct Pair {
        const char *key;
        const char *value;
} Pair;

typedef struct Dict {
        Pair *pairs;
        size_t n;
} Dict;

static int pair_compare(const void *a, const void *b) {
        return strcmp(((const Pair *) a)->key, ((const Pair *) b)->key);
}

static int dict_init(Dict *d, char * const *keys, char * const *values) {
        size_t n = strv_length(keys);

        d->pairs = calloc(MAX(n, 1U), sizeof(Pair));
        if (!d->pairs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                d->pairs[i] = (Pair){ keys[i], values[i] };
        d->n = n;
        qsort(d->pairs, n, sizeof(Pair), pair_compare);
        return 0;
}

static const char *dict_get(const Dict *d, const char *def, const char *format, ...) _printf_(3, 4);
static const char *dict_get(const Dict *d, const char *def, const char *format, ...) {
        char key[256];
        va_list ap;

        va_start(ap, format);
        vsnprintf(key, sizeof(key), format, ap);
        va_end(ap);
        Pair k = { key, NULL }, *p = bsearch(&k, d->pairs, d->n, sizeof(Pair), pair_compare);
        return p && p->value ? p->value : def;
}

static unsigned to_unsigned(const char *s, unsigned def, unsigned min, unsigned max) {
        unsigned u;
        if (safe_atou(s, &u) < 0 || u < min || u > max)
                return def;
        return u;
}

static bool to_bool(const char *s, bool def) {
        if (streq(s, "1"))
                return true;
        if (streq(s, "0"))
                return false;
        return def;
}

static int dup_to(char **dst, const char *s) {
        *dst = strdup(s ?: "");
        return *dst ? 0 : -ENOMEM;
}

#define GET(d, def, ...) dict_get(d, def, __VA_ARGS__)

static int server_from_dict(const Dict *d, unsigned n, unsigned m, ServerSettings *s) {
        unsigned t = to_unsigned(GET(d, "0", "account.%u.sip_server.%u.transport_type", n, m), 0, 0, 3);

        s->port = to_unsigned(GET(d, "5060", "account.%u.sip_server.%u.port", n, m), 5060, 0, 65535);
        s->expires = to_unsigned(GET(d, "3600", "account.%u.sip_server.%u.expires", n, m), 3600, 30, INT_MAX);
        s->retry_counts = to_unsigned(GET(d, "3", "account.%u.sip_server.%u.retry_counts", n, m), 3, 0, 20);
        s->naptr = t == 3;
        s->transport = t == 1 ? SIP_TRANSPORT_TCP : t == 2 ? SIP_TRANSPORT_TLS : SIP_TRANSPORT_UDP;
        /* As Yealink: TLS on the key's default port means the TLS port (RFC 3261 26.2). */
        if (s->transport == SIP_TRANSPORT_TLS && s->port == 5060)
                s->port = SIP_TLS_DEFAULT_PORT;
        return dup_to(&s->address, GET(d, "", "account.%u.sip_server.%u.address", n, m));
}

/* Yealink's codec keys, and the names Media1 and SDP use. */
static const struct {
        const char *key;
        const char *name;
        const char *enable_default;
        unsigned priority_default;
} codec_keys[] = {
        { "g722", "G722", "1", 1 },
        { "pcmu", "PCMU", "1", 2 },
        { "pcma", "PCMA", "1", 3 },
        { "opus", "opus", "0", 0 },
};

/* Enabled codecs by priority (lower first; 0 last), ties in table order. */
static int codecs_from_dict(const Dict *d, unsigned n, AccountSettings *a) {
        unsigned prio[ELEMENTSOF(codec_keys)];
        bool used[ELEMENTSOF(codec_keys)] = {};
        size_t k = 0;

        for (size_t i = 0; i < ELEMENTSOF(codec_keys); i++) {
                bool on = to_bool(GET(d, codec_keys[i].enable_default, "account.%u.codec.%s.enable", n,
                                      codec_keys[i].key), false);
                unsigned p = to_unsigned(GET(d, "", "account.%u.codec.%s.priority", n, codec_keys[i].key),
                                         codec_keys[i].priority_default, 0, 13);
                used[i] = !on;
                prio[i] = p == 0 ? UINT_MAX : p;
        }
        for (;;) {
                size_t best = SIZE_MAX;
                for (size_t i = 0; i < ELEMENTSOF(codec_keys); i++)
                        if (!used[i] && (best == SIZE_MAX || prio[i] < prio[best]))
                                best = i;
                if (best == SIZE_MAX || k >= SIPD_CODECS_MAX)
                        break;
                used[best] = true;
                if (dup_to(&a->codecs[k++], codec_keys[best].name) < 0)
                        return -ENOMEM;
        }
        a->codecs[k] = NULL;
        return 0;
}

static void keepalive_from_dict(const Dict *d, unsigned n, AccountSettings *a) {
        unsigned mode = to_unsigned(GET(d, "1", "account.%u.nat.udp_update_enable", n), 1, 0, 3);

        a->keepalive = mode == 0 ? KEEPALIVE_OFF : mode == 1 ? KEEPALIVE_CRLF : KEEPALIVE_OPTIONS;
        a->keepalive_interval = to_unsigned(GET(d, "30", "account.%u.nat.udp_update_time", n), 30, 15, 86400);
}

static int account_from_dict(const Dict *d, unsigned n, AccountSettings *a) {
        const char *auth;
        int r;

        a->enable = to_bool(GET(d, "0", "account.%u.enable", n), false);
        if (dup_to(&a->label, GET(d, "", "account.%u.label", n)) < 0 ||
            dup_to(&a->display_name, GET(d, "", "account.%u.display_name", n)) < 0 ||
            dup_to(&a->user_name, GET(d, "", "account.%u.user_name", n)) < 0 ||
            dup_to(&a->password, GET(d, "", "account.%u.password", n)) < 0 ||
            dup_to(&a->outbound_proxy_address, GET(d, "", "account.%u.outbound_proxy.1.address", n)) < 0)
                return -ENOMEM;
        auth = GET(d, "", "account.%u.auth_name", n);
        if (dup_to(&a->auth_name, *auth ? auth : a->user_name) < 0)
                return -ENOMEM;
        for (unsigned m = 0; m < SIPD_N_SERVERS; m++) {
                r = server_from_dict(d, n, m + 1, &a->server[m]);
                if (r < 0)
                        return r;
        }
        a->outbound_proxy_enable = to_bool(GET(d, "0", "account.%u.outbound_proxy_enable", n), false);
        a->outbound_proxy_port = to_unsigned(GET(d, "5060", "account.%u.outbound_proxy.1.port", n), 5060, 0,
                                             65535);
        a->retry_interval = to_unsigned(GET(d, "30", "account.%u.reg_fail_retry_interval", n), 30, 0, 1800);
        a->ptime = to_unsigned(GET(d, "20", "account.%u.ptime", n), 20, 0, 60);
        a->srtp = to_unsigned(GET(d, "0", "account.%u.srtp_encryption", n), 0, 0, 2);
        a->dtmf_type = to_unsigned(GET(d, "1", "account.%u.dtmf.type", n), 1, 0, 3);
        a->dtmf_info_type = to_unsigned(GET(d, "1", "account.%u.dtmf.info_type", n), 1, 1, 3);
        keepalive_from_dict(d, n, a);
        return codecs_from_dict(d, n, a);
}

static int security_from_dict(const Dict *d, SecuritySettings *s) {
        s->trust_certificates = to_bool(GET(d, "1", "static.security.trust_certificates"), true);
        s->ca_cert = to_unsigned(GET(d, "2", "static.security.ca_cert"), 2, 0, 2);
        s->cn_validation = to_bool(GET(d, "1", "static.security.cn_validation"), true);
        s->dev_cert = to_bool(GET(d, "0", "static.security.dev_cert"), false);
        return dup_to(&s->ca_dir, GET(d, "", "deskphone.security.ca_dir"));
}

int settings_from_dict(char * const *keys, char * const *values, Settings *ret) {
        Settings s = {};
        Dict d = {};
        const char *level;

        int r = dict_init(&d, keys, values);
        if (r < 0)
                return r;
        s.listen_port = to_unsigned(GET(&d, "5060", "sip.listen_port"), 5060, 1, 65535);
        s.tls_listen_port = to_unsigned(GET(&d, "5061", "sip.tls_listen_port"), 5061, 1, 65535);
        s.call_waiting = to_bool(GET(&d, "1", "call_waiting.enable"), true);
        s.call_waiting_tone = to_bool(GET(&d, "1", "call_waiting.tone"), true);
        s.busy_tone_delay = to_unsigned(GET(&d, "3", "features.busy_tone_delay"), 3, 0, 5);
        s.direct_ip_calls = to_bool(GET(&d, "1", "features.direct_ip_call_enable"), true);
        s.notify_reboot = to_unsigned(GET(&d, "1", "sip.notify_reboot_enable"), 1, 0, 2);
        s.check_sync_interval = to_unsigned(GET(&d, "30", "deskphone.sip.check_sync_interval"), 30, 1, 3600);
        r = dup_to(&s.listen_address, GET(&d, "", "deskphone.sip.listen_address"));
        if (r >= 0)
                r = security_from_dict(&d, &s.security);
        if (r < 0) {
                free(d.pairs);
                return r;
        }
        level = GET(&d, "", "deskphone.log_level.sipd");
        if (!*level)
                level = GET(&d, "", "deskphone.log_level");
        r = dup_to(&s.log_level, level);
        for (unsigned n = 0; r >= 0 && n < SIPD_N_ACCOUNTS; n++)
                r = account_from_dict(&d, n + 1, &s.account[n]);
        free(d.pairs);
        if (r < 0) {
                settings_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void account_settings_done(AccountSettings *a) {
        free(a->label);
        free(a->display_name);
        free(a->auth_name);
        free(a->user_name);
        erase_and_free(a->password);
        free(a->outbound_proxy_address);
        for (unsigned m = 0; m < SIPD_N_SERVERS; m++)
                free(a->server[m].address);
        for (size_t i = 0; a->codecs[i]; i++)
                free(a->codecs[i]);
        *a = (AccountSettings){};
}

void settings_done(Settings *s) {
        for (unsigned n = 0; n < SIPD_N_ACCOUNTS; n++)
                account_settings_done(&s->account[n]);
        free(s->listen_address);
        free(s->log_level);
        free(s->security.ca_dir);
        *s = (Settings){};
}

int account_settings_copy(const AccountSettings *from, AccountSettings *to) {
        AccountSettings a = *from;

        /* the scalars came with the struct copy; now the strings */
        a.label = a.display_name = a.auth_name = a.user_name = a.password = a.outbound_proxy_address = NULL;
        for (unsigned m = 0; m < SIPD_N_SERVERS; m++)
                a.server[m].address = NULL;
        memset(a.codecs, 0, sizeof(a.codecs));

        int r = 0;
        if (dup_to(&a.label, from->label) < 0 || dup_to(&a.display_name, from->display_name) < 0 ||
            dup_to(&a.auth_name, from->auth_name) < 0 || dup_to(&a.user_name, from->user_name) < 0 ||
            dup_to(&a.password, from->password) < 0 ||
            dup_to(&a.outbound_proxy_address, from->outbound_proxy_address) < 0)
                r = -ENOMEM;
        for (unsigned m = 0; r >= 0 && m < SIPD_N_SERVERS; m++)
                r = dup_to(&a.server[m].address, from->server[m].address);
        for (size_t i = 0; r >= 0 && from->codecs[i]; i++)
                r = dup_to(&a.codecs[i], from->codecs[i]);
        if (r < 0) {
                account_settings_done(&a);
                return r;
        }
        *to = a;
        return 0;
}

static bool server_same(const ServerSettings *a, const ServerSettings *b) {
        return streq_ptr(a->address, b->address) && a->port == b->port && a->expires == b->expires &&
               a->retry_counts == b->retry_counts && a->transport == b->transport && a->naptr == b->naptr;
}

bool account_settings_same_registration(const AccountSettings *a, const AccountSettings *b) {
        for (unsigned m = 0; m < SIPD_N_SERVERS; m++)
                if (!server_same(&a->server[m], &b->server[m]))
                        return false;
        return a->enable == b->enable && streq_ptr(a->display_name, b->display_name) &&
               streq_ptr(a->auth_name, b->auth_name) && streq_ptr(a->user_name, b->user_name) &&
               streq_ptr(a->password, b->password) && a->outbound_proxy_enable == b->outbound_proxy_enable &&
               streq_ptr(a->outbound_proxy_address, b->outbound_proxy_address) &&
               a->outbound_proxy_port == b->outbound_proxy_port && a->retry_interval == b->retry_interval &&
               a->keepalive == b->keepalive && a->keepalive_interval == b->keepalive_interval;
}

bool security_settings_same(const SecuritySettings *a, const SecuritySettings *b) {
        return a->trust_certificates == b->trust_certificates && a->ca_cert == b->ca_cert &&
               a->cn_validation == b->cn_validation && a->dev_cert == b->dev_cert && streq_ptr(a->ca_dir, b->ca_dir);
}

bool account_settings_has_server(const AccountSettings *a) {
        for (unsigned m = 0; m < SIPD_N_SERVERS; m++)
                if (a->server[m].address && *a->server[m].address)
                        return true;
        return false;
}
