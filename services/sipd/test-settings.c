/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "settings.h"
#include "tap.h"

/* A few keys as provd's GetAll returns them; the rest take the schema's defaults. */
static char *keys[] = {
        "account.1.enable", "account.1.user_name", "account.1.auth_name", "account.1.password",
        "account.1.sip_server.1.address", "account.1.sip_server.1.port", "account.1.sip_server.1.transport_type",
        "account.1.sip_server.2.address", "account.1.sip_server.2.transport_type",
        "account.1.codec.pcma.priority", "account.1.codec.g722.enable", "account.1.codec.opus.enable",
        "account.1.codec.opus.priority", "account.2.enable", "account.2.sip_server.1.port", "sip.listen_port",
        "call_waiting.enable", "deskphone.log_level",
        "account.3.sip_server.1.transport_type", "account.3.sip_server.2.transport_type",
        "account.3.sip_server.2.port", "account.3.sip_server.1.address",
        "static.security.ca_cert", "static.security.cn_validation", "static.security.dev_cert",
        "deskphone.security.ca_dir", "sip.tls_listen_port", NULL,
};
static char *values[] = {
        "1", "alice", "", "secret",
        "127.0.0.1", "5070", "1",
        "pbx2.example.com", "3",
        "1", "0", "1",
        "0", "garbage", "99999", "5062",
        "0", "debug",
        "2", "2",
        "5071", "pbx.example.com",
        "1", "0", "1",
        "/etc/deskphone/cas", "5063", NULL,
};

int main(void) {
        Settings s;

        tap_begin("/settings/parse");
        check(settings_from_dict(keys, values, &s) == 0);
        tap_end();

        AccountSettings *a = &s.account[0];
        tap_begin("/settings/account/identity");
        check(a->enable);
        check(streq(a->user_name, "alice"));
        check(streq(a->auth_name, "alice"), "auth_name falls back to user_name: %s", a->auth_name);
        check(streq(a->password, "secret"));
        tap_end();

        tap_begin("/settings/account/servers");
        check(streq(a->server[0].address, "127.0.0.1") && a->server[0].port == 5070);
        check(a->server[0].transport == SIP_TRANSPORT_TCP && !a->server[0].naptr);
        check(a->server[0].expires == 3600 && a->server[0].retry_counts == 3);
        check(a->server[1].transport == SIP_TRANSPORT_UDP && a->server[1].naptr, "NAPTR is UDP");
        check(a->server[1].port == 5060);
        check(account_settings_has_server(a));
        tap_end();

        tap_begin("/settings/account/codecs-by-priority");
        /* g722 off; pcma 1, pcmu 2, opus on with priority 0: last */
        check(a->codecs[0] && streq(a->codecs[0], "PCMA"), "%s", a->codecs[0]);
        check(a->codecs[1] && streq(a->codecs[1], "PCMU"), "%s", a->codecs[1]);
        check(a->codecs[2] && streq(a->codecs[2], "opus"), "%s", a->codecs[2]);
        check(!a->codecs[3]);
        tap_end();

        tap_begin("/settings/account/bad-values-default");
        check(!s.account[1].enable, "'garbage' is not a boolean");
        check(s.account[1].server[0].port == 5060, "port out of range: default");
        check(!account_settings_has_server(&s.account[1]));
        tap_end();

        tap_begin("/settings/global");
        check(s.listen_port == 5062);
        check(!s.call_waiting);
        check(s.direct_ip_calls);
        check(streq(s.log_level, "debug"));
        tap_end();

        tap_begin("/settings/tls/port-default");
        AccountSettings *t = &s.account[2];
        check(t->server[0].transport == SIP_TRANSPORT_TLS && t->server[0].port == 5061,
              "TLS on the key's default 5060 is 5061: %u", t->server[0].port);
        check(t->server[1].transport == SIP_TRANSPORT_TLS && t->server[1].port == 5071, "an explicit port stays");
        tap_end();

        tap_begin("/settings/tls/security");
        check(s.tls_listen_port == 5063);
        check(s.security.trust_certificates, "default 1");
        check(s.security.ca_cert == 1 && !s.security.cn_validation && s.security.dev_cert);
        check(streq(s.security.ca_dir, "/etc/deskphone/cas"));
        SecuritySettings other = s.security;
        check(security_settings_same(&s.security, &other));
        other.cn_validation = true;
        check(!security_settings_same(&s.security, &other));
        tap_end();

        tap_begin("/settings/tls/defaults");
        Settings d;
        char *none[] = { NULL };
        check(settings_from_dict(none, none, &d) == 0);
        check(d.tls_listen_port == 5061 && d.security.trust_certificates && d.security.ca_cert == 2 &&
              d.security.cn_validation && !d.security.dev_cert && streq(d.security.ca_dir, ""));
        settings_done(&d);
        tap_end();

        tap_begin("/settings/tones");
        char *tone_keys[] = { "call_waiting.tone", "features.busy_tone_delay", NULL };
        char *tone_values[] = { "0", "5", NULL }, *too_long[] = { "1", "60", NULL };
        Settings tones;
        check(settings_from_dict(none, none, &tones) == 0);
        check(tones.call_waiting_tone && tones.busy_tone_delay == 3, "defaults: tone on, 3 s");
        settings_done(&tones);
        check(settings_from_dict(tone_keys, tone_values, &tones) == 0);
        check(!tones.call_waiting_tone && tones.busy_tone_delay == 5);
        settings_done(&tones);
        check(settings_from_dict(tone_keys, too_long, &tones) == 0);
        check(tones.busy_tone_delay == 3, "out of range: the default, %u", tones.busy_tone_delay);
        settings_done(&tones);
        tap_end();

        tap_begin("/settings/account/default-codecs");
        check(streq(s.account[5].codecs[0], "G722") && streq(s.account[5].codecs[1], "PCMU") &&
              streq(s.account[5].codecs[2], "PCMA") && !s.account[5].codecs[3]);
        tap_end();

        tap_begin("/settings/account/copy-and-compare");
        AccountSettings copy;
        check(account_settings_copy(a, &copy) == 0);
        check(account_settings_same_registration(a, &copy));
        free(copy.codecs[0]);
        copy.codecs[0] = strdup("G722");
        check(account_settings_same_registration(a, &copy), "codecs do not re-register");
        free(copy.password);
        copy.password = strdup("other");
        check(!account_settings_same_registration(a, &copy), "a new password re-registers");
        account_settings_done(&copy);
        tap_end();

        settings_done(&s);
        return tap_finish();
}
