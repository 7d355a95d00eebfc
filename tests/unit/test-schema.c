/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration schema: every type's validation, key patterns, secrets,
 * the table's own consistency, and doc/config-keys.md being what
 * gen-config-keys prints. Usage: test-schema [DOC GENERATED]
 */

#include <regex.h>

#include "schema.h"
#include "tap.h"
#include "util.h"

typedef struct ValidateCase {
        const char *name;
        const char *key;
        const char *value;
        int ret;
        const char *expect; /* ret 0: the normalised value (NULL: value itself); else: in the reason */
} ValidateCase;

static const ValidateCase validate_cases[] = {
        /* bool */
        { "/schema/bool/one", "account.1.enable", "1", 0, NULL },
        { "/schema/bool/zero-blanks", "call_waiting.enable", " \t0 ", 0, "0" },
        { "/schema/bool/yes", "account.1.enable", "yes", -EINVAL, "must be 0 or 1, got 'yes'" },
        { "/schema/bool/two", "account.1.enable", "2", -EINVAL, "must be 0 or 1, got '2'" },
        { "/schema/bool/empty", "account.1.enable", "", -EINVAL, "must be 0 or 1, got ''" },
        /* int */
        { "/schema/int/port", "account.1.sip_server.1.port", "5060", 0, NULL },
        { "/schema/int/port-min", "account.1.sip_server.1.port", "0", 0, NULL },
        { "/schema/int/port-max", "account.16.sip_server.2.port", "65535", 0, NULL },
        { "/schema/int/port-over", "account.1.sip_server.1.port", "65536", -ERANGE,
          "must be an integer in 0..65535, got '65536'" },
        { "/schema/int/port-abc", "account.1.sip_server.1.port", "abc", -EINVAL,
          "must be an integer in 0..65535, got 'abc'" },
        { "/schema/int/negative", "account.1.sip_server.1.port", "-1", -ERANGE, "0..65535" },
        { "/schema/int/hex", "account.1.sip_server.1.port", "0x10", -EINVAL, "got '0x10'" },
        { "/schema/int/plus", "account.1.sip_server.1.port", "+5", -EINVAL, "got '+5'" },
        { "/schema/int/inner-space", "account.1.sip_server.1.port", "50 60", -EINVAL, "got '50 60'" },
        { "/schema/int/empty", "account.1.sip_server.1.port", "", -EINVAL, "got ''" },
        { "/schema/int/leading-zeros", "sip.listen_port", "005062", 0, "5062" },
        { "/schema/int/blanks", "sip.listen_port", " 5062\t", 0, "5062" },
        { "/schema/int/below-min", "sip.listen_port", "0", -ERANGE, "must be an integer in 1..65535, got '0'" },
        { "/schema/int/huge", "account.1.sip_server.1.expires", "99999999999999999999", -ERANGE, "30..2147483647" },
        { "/schema/int/int-max", "account.1.sip_server.1.expires", "2147483647", 0, NULL },
        { "/schema/int/int-max-plus-one", "account.1.sip_server.1.expires", "2147483648", -ERANGE, NULL },
        { "/schema/int/expires-min", "account.1.sip_server.1.expires", "29", -ERANGE, "30..2147483647" },
        /* enum */
        { "/schema/enum/transport-tls", "account.3.sip_server.1.transport_type", "2", 0, NULL },
        { "/schema/enum/transport-4", "account.3.sip_server.1.transport_type", "4", -EINVAL,
          "must be one of 0, 1, 2, 3, got '4'" },
        { "/schema/enum/srtp-compulsory", "account.1.srtp_encryption", "2", 0, NULL },
        { "/schema/enum/srtp-3", "account.1.srtp_encryption", "3", -EINVAL, "must be one of 0, 1, 2, got '3'" },
        { "/schema/enum/ptime", "account.1.ptime", "30", 0, NULL },
        { "/schema/enum/ptime-25", "account.1.ptime", "25", -EINVAL, NULL },
        { "/schema/enum/level", "deskphone.log_level", "debug", 0, NULL },
        { "/schema/enum/level-case", "deskphone.log_level", "DEBUG", -EINVAL, "err, warning, notice, info, debug" },
        { "/schema/enum/level-empty", "deskphone.log_level", "", -EINVAL, NULL },
        { "/schema/enum/service-level-empty", "deskphone.log_level.sipd", "", 0, NULL },
        { "/schema/enum/service-level", "deskphone.log_level.mediad", "warning", 0, NULL },
        { "/schema/enum/service-level-bad", "deskphone.log_level.uid", "loud", -EINVAL, "(empty), err" },
        /* string */
        { "/schema/string/utf8", "account.1.display_name", "Пётр 電話", 0, NULL },
        { "/schema/string/blanks", "account.1.label", "  Front desk \t", 0, "Front desk" },
        { "/schema/string/max", "account.1.label",
          "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789", 0,
          NULL },
        { "/schema/string/too-long", "account.1.label",
          "1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
          -ERANGE, "must be at most 99 bytes long, got 100" },
        { "/schema/string/control", "account.1.label", "a\x01z", -EINVAL, "control characters" },
        { "/schema/string/tab-inside", "account.1.label", "a\tz", -EINVAL, "control characters" },
        { "/schema/string/newline", "account.1.label", "a\nz", -EINVAL, "control characters" },
        { "/schema/string/invalid-utf8", "account.1.label", "caf\xe9", -EINVAL, "UTF-8" },
        /* host */
        { "/schema/host/name", "account.1.sip_server.1.address", "sip.example.com", 0, NULL },
        { "/schema/host/fqdn-dot", "account.1.sip_server.1.address", "sip.example.com.", 0, NULL },
        { "/schema/host/underscore", "account.1.sip_server.1.address", "my_pbx.lan", 0, NULL },
        { "/schema/host/ipv4", "account.1.sip_server.1.address", "192.168.1.10", 0, NULL },
        { "/schema/host/ipv6", "account.1.sip_server.1.address", "2001:db8::1", 0, NULL },
        { "/schema/host/ipv6-brackets", "account.1.sip_server.1.address", "[2001:db8::1]", 0, "2001:db8::1" },
        { "/schema/host/empty", "account.1.sip_server.1.address", "", 0, NULL },
        { "/schema/host/with-port", "account.1.sip_server.1.address", "pbx.example.com:5060", -EINVAL,
          "without a port (the port has its own key), got 'pbx.example.com:5060'" },
        { "/schema/host/space", "account.1.sip_server.1.address", "bad host", -EINVAL,
          "must be a host name or an IP address, got 'bad host'" },
        { "/schema/host/bad-ipv4", "account.1.sip_server.1.address", "999.1.1.1", -EINVAL, NULL },
        { "/schema/host/short-ipv4", "account.1.sip_server.1.address", "10.1.1", -EINVAL, NULL },
        { "/schema/host/leading-hyphen", "account.1.sip_server.1.address", "-pbx.example.com", -EINVAL, NULL },
        { "/schema/host/trailing-hyphen", "account.1.sip_server.1.address", "pbx-.example.com", -EINVAL, NULL },
        { "/schema/host/empty-label", "account.1.sip_server.1.address", "pbx..example.com", -EINVAL, NULL },
        { "/schema/host/long-label", "account.1.outbound_proxy.1.address",
          "a234567890123456789012345678901234567890123456789012345678901234.com", -EINVAL, NULL },
        { "/schema/host/bad-ipv6", "account.1.sip_server.1.address", "2001:db8:::1:2", -EINVAL, NULL },
        /* url */
        { "/schema/url/https", "static.auto_provision.server.url", "https://prov.example.com/cfg/", 0, NULL },
        { "/schema/url/http-port", "static.auto_provision.server.url", "http://10.0.0.1:8080/p", 0, NULL },
        { "/schema/url/tftp", "static.auto_provision.server.url", "tftp://10.0.0.1", 0, NULL },
        { "/schema/url/ftp-userinfo", "static.auto_provision.server.url", "ftp://user:pw@ftp.example.com/d", 0, NULL },
        { "/schema/url/ipv6", "static.auto_provision.server.url", "https://[2001:db8::1]:443/x?y#z", 0, NULL },
        { "/schema/url/upper-case", "static.auto_provision.server.url", "HTTPS://PROV.EXAMPLE.COM/", 0, NULL },
        { "/schema/url/empty", "static.auto_provision.server.url", "", 0, NULL },
        { "/schema/url/localhost-all", "static.trusted_certificates.delete", "http://localhost/all", 0, NULL },
        { "/schema/url/no-scheme", "static.auto_provision.server.url", "prov.example.com/cfg", -EINVAL,
          "must be an http://, https://, ftp:// or tftp:// URL, got 'prov.example.com/cfg'" },
        { "/schema/url/file", "static.auto_provision.server.url", "file:///etc/passwd", -EINVAL, NULL },
        { "/schema/url/no-host", "static.auto_provision.server.url", "https://", -EINVAL, "valid host" },
        { "/schema/url/no-host-path", "static.auto_provision.server.url", "https:///cfg", -EINVAL, "valid host" },
        { "/schema/url/bad-port", "static.auto_provision.server.url", "https://h:99999/", -EINVAL, "valid host" },
        { "/schema/url/empty-port", "static.auto_provision.server.url", "https://h:/", -EINVAL, "valid host" },
        { "/schema/url/space", "static.auto_provision.server.url", "https://h/a b", -EINVAL, "spaces" },
        { "/schema/url/non-ascii", "static.auto_provision.server.url", "https://h/é", -EINVAL, "percent-encode" },
        /* path */
        { "/schema/path/absolute", "deskphone.provision.rsa_key_file", "/etc/deskphone/rsa.pem", 0, NULL },
        { "/schema/path/empty", "deskphone.provision.rsa_key_file", "", 0, NULL },
        { "/schema/path/relative", "deskphone.provision.rsa_key_file", "rsa.pem", -EINVAL,
          "must be an absolute path, got 'rsa.pem'" },
        /* extra checks */
        { "/schema/check/aes-16", "static.auto_provision.aes_key.com", "ljB7jiDIQQ7XD888", 0, NULL },
        { "/schema/check/aes-32", "static.auto_provision.aes_key.mac", "303wlbKBenhhHwpFzzj00QfwhwzbyKhp", 0, NULL },
        { "/schema/check/aes-20", "static.auto_provision.aes_key.com", "ljB7jiDIQQ7XD888abcd", -EINVAL,
          "must be 16 or 32 characters long, got 20" },
        { "/schema/check/aes-empty", "auto_provision.aes_key_16.com", "", 0, NULL },
        { "/schema/check/aes16-32", "static.auto_provision.aes_key_16.mac", "303wlbKBenhhHwpFzzj00QfwhwzbyKhp",
          -EINVAL, "must be 16 characters long, got 32" },
        { "/schema/check/aes-space", "auto_provision.aes_key_16.mac", "ljB7jiDI QQ7XD88", -EINVAL, "without spaces" },
        { "/schema/check/mac-colons", "deskphone.mac", "00:15:65:AA:bb:CC", 0, "001565aabbcc" },
        { "/schema/check/mac-hyphens", "deskphone.mac", "00-15-65-4c-4c-26", 0, "0015654c4c26" },
        { "/schema/check/mac-plain", "deskphone.mac", "0015654C4C26", 0, "0015654c4c26" },
        { "/schema/check/mac-empty", "deskphone.mac", "", 0, NULL },
        { "/schema/check/mac-short", "deskphone.mac", "00:15:65:aa:bb", -EINVAL, "12 hex digits" },
        { "/schema/check/mac-double-sep", "deskphone.mac", "00::15:65:aa:bb:cc", -EINVAL, "12 hex digits" },
        { "/schema/check/mac-odd-sep", "deskphone.mac", "001:565aabbcc", -EINVAL, "12 hex digits" },
        { "/schema/check/mac-not-hex", "deskphone.mac", "00156g4c4c26", -EINVAL, "12 hex digits" },
        { "/schema/check/time", "static.auto_provision.weekly.begin_time", "23:59", 0, NULL },
        { "/schema/check/time-24", "static.auto_provision.weekly.end_time", "24:00", -EINVAL, "HH:MM" },
        { "/schema/check/time-60", "static.auto_provision.weekly.end_time", "12:60", -EINVAL, "HH:MM" },
        { "/schema/check/time-short", "static.auto_provision.weekly.end_time", "1:00", -EINVAL, "HH:MM" },
        { "/schema/check/days", "static.auto_provision.weekly.dayofweek", "15", 0, NULL },
        { "/schema/check/days-empty", "static.auto_provision.weekly.dayofweek", "", 0, NULL },
        { "/schema/check/days-7", "static.auto_provision.weekly.dayofweek", "7", -EINVAL, "0 (Sunday) to 6" },
        { "/schema/check/days-twice", "static.auto_provision.weekly.dayofweek", "11", -EINVAL, "at most once" },
        { "/schema/check/dhcp", "static.auto_provision.dhcp_option.list_user_options", "128,160,254", 0, NULL },
        { "/schema/check/dhcp-127", "static.auto_provision.dhcp_option.list_user_options", "127", -EINVAL, "128 to 254" },
        { "/schema/check/dhcp-trailing-comma", "static.auto_provision.dhcp_option.list_user_options", "128,", -EINVAL,
          NULL },
        { "/schema/check/dhcp-leading-comma", "static.auto_provision.dhcp_option.list_user_options", ",128", -EINVAL,
          NULL },
        { "/schema/check/model", "deskphone.model_id", "66", 0, NULL },
        { "/schema/check/model-3", "deskphone.model_id", "108", 0, NULL },
        { "/schema/check/model-1", "deskphone.model_id", "6", -EINVAL, "2 or 3 digits" },
        { "/schema/check/model-letters", "deskphone.model_id", "T4", -EINVAL, "2 or 3 digits" },
        { "/schema/check/board", "deskphone.board", "t46s-proto_2", 0, NULL },
        { "/schema/check/board-path", "deskphone.board", "../etc", -EINVAL, "board name" },
        { "/schema/check/board-empty", "deskphone.board", "", -EINVAL, "must name a board" },
        {}
};

static void run_validate_case(const ValidateCase *c) {
        const SchemaKey *k = schema_find(c->key);
        _cleanup_(freep) char *norm = NULL;
        char reason[256] = "";

        tap_begin(c->name);
        if (check(k, "%s unknown", c->key)) {
                int r = schema_validate(k, c->value, &norm, reason, sizeof(reason));
                check(r == c->ret, "'%s': returned %d, expected %d (%s)", c->value, r, c->ret, reason);
                if (r == 0 && c->ret == 0)
                        check(norm && streq(norm, c->expect ?: c->value), "normalised to '%s'", strempty(norm));
                if (r < 0) {
                        check(!norm);
                        check(*reason, "no reason");
                        if (c->expect)
                                check(strstr(reason, c->expect), "reason '%s' lacks '%s'", reason, c->expect);
                }
        }
        tap_end();
}

static void test_secret_reasons(void) {
        static const struct {
                const char *key, *value;
        } cases[] = {
                { "account.1.password", "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" },
                { "account.2.password", "bad\x01secret" },
                { "static.auto_provision.aes_key.com", "TopSecretKey20chars!" },
                { "auto_provision.aes_key_16.mac", "Secret Key 16 ch" },
                { "static.auto_provision.server.password", "caf\xe9-secret" },
        };
        char reason[256];

        tap_begin("/schema/secret/reason-never-quotes-value");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const SchemaKey *k = schema_find(cases[i].key);
                if (!check(k && k->secret, "%s", cases[i].key))
                        continue;
                reason[0] = '\0';
                check(schema_validate(k, cases[i].value, NULL, reason, sizeof(reason)) < 0, "%s", cases[i].key);
                check(*reason && !strstr(reason, "ecret") && !strstr(reason, cases[i].value), "%s: %s",
                      cases[i].key, reason);
        }
        tap_end();
}

static void test_find(void) {
        static const struct {
                const char *key, *pattern;
        } cases[] = {
                { "account.1.password", "account.N.password" },
                { "account.16.password", "account.N.password" },
                { "account.17.password", NULL },
                { "account.0.password", NULL },
                { "account.01.password", NULL },
                { "account.-1.password", NULL },
                { "account.99999999999999999999.password", NULL },
                { "account.N.password", NULL },
                { "account..password", NULL },
                { "account.1.password.x", NULL },
                { "account.1", NULL },
                { "account.1.", NULL },
                { ".account.1.password", NULL },
                { "", NULL },
                { "ACCOUNT.1.PASSWORD", NULL },
                { "account.1.sip_server.2.address", "account.N.sip_server.M.address" },
                { "account.12.sip_server.1.transport_type", "account.N.sip_server.M.transport_type" },
                { "account.1.sip_server.3.address", NULL },
                { "account.1.sip_server.0.address", NULL },
                { "account.1.outbound_proxy.1.address", "account.N.outbound_proxy.1.address" },
                { "account.1.outbound_proxy.2.address", NULL },
                { "account.1.codec.opus.enable", "account.N.codec.opus.enable" },
                { "account.1.codec.6.enable", NULL },
                { "deskphone.log_level", "deskphone.log_level" },
                { "deskphone.log_level.sipd", "deskphone.log_level.sipd" },
                { "deskphone.log_level.foo", NULL },
                { "static.security.ca_cert", "static.security.ca_cert" },
                { "security.ca_cert", NULL },
                { "network.vlan.internet_port_vid", NULL },
        };

        tap_begin("/schema/find");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const SchemaKey *k = schema_find(cases[i].key);
                check(streq_ptr(k ? k->pattern : NULL, cases[i].pattern), "'%s' found '%s', expected '%s'",
                      cases[i].key, k ? k->pattern : "(nothing)", strempty(cases[i].pattern));
        }
        check(!schema_find(NULL));
        char long_key[1024];
        memset(long_key, 'a', sizeof(long_key) - 1);
        long_key[sizeof(long_key) - 1] = '\0';
        check(!schema_find(long_key));
        tap_end();
}

static void test_secrets(void) {
        regex_t re;

        if (regcomp(&re, "(password|aes_key(_16)?\\.(com|mac)|private_key)$", REG_EXTENDED | REG_NOSUB) != 0)
                abort();
        tap_begin("/schema/secret/flagged");
        for (const SchemaKey *k = schema_keys; k->pattern; k++) {
                bool should = regexec(&re, k->pattern, 0, NULL, 0) == 0;
                check(k->secret == should, "%s: secret=%d", k->pattern, k->secret);
                check(k->secret || !k->reader, "%s has a reader but is not secret", k->pattern);
                check(!k->secret || k->type == SCHEMA_STRING, "%s", k->pattern);
                check(!k->secret || !*k->default_value, "%s has a default secret", k->pattern);
        }
        const SchemaKey *k = schema_find("account.7.password");
        check(k && k->secret && streq_ptr(k->reader, "org.deskphone.Sip1"));
        k = schema_find("static.auto_provision.server.password");
        check(k && k->secret && !k->reader);
        k = schema_find("static.auto_provision.aes_key_in_file");
        check(k && !k->secret);
        tap_end();
        regfree(&re);
}

static bool users_are_known(const char *users) {
        static const char * const services[] = { "sipd", "mediad", "provd", "uid" };

        for (const char *u = users; *u;) {
                size_t len = strcspn(u, ","), i;
                for (i = 0; i < ELEMENTSOF(services); i++)
                        if (strlen(services[i]) == len && strncmp(services[i], u, len) == 0)
                                break;
                if (i == ELEMENTSOF(services))
                        return false;
                u += len + (u[len] == ',');
        }
        return *users != '\0';
}

static unsigned placeholders(const char *pattern) {
        unsigned n = 0;
        for (const char *p = pattern; *p; p++)
                if ((*p == 'N' || *p == 'M') && (p == pattern || p[-1] == '.') && (p[1] == '.' || !p[1]))
                        n++;
        return n;
}

static void test_table(void) {
        char reason[256];

        tap_begin("/schema/table/entries");
        for (const SchemaKey *k = schema_keys; k->pattern; k++) {
                _cleanup_(freep) char *norm = NULL;
                unsigned n = placeholders(k->pattern);

                check(k->default_value && k->users && k->description && *k->description, "%s", k->pattern);
                check(users_are_known(k->users), "%s: users '%s'", k->pattern, k->users);
                check(schema_type_to_string(k->type), "%s", k->pattern);
                check(schema_validate(k, k->default_value, &norm, reason, sizeof(reason)) == 0 &&
                      streq(norm, k->default_value), "%s: default '%s': %s", k->pattern, k->default_value, reason);
                check((n < 1 || k->index_max[0] > 0) && (n < 2 || k->index_max[1] > 0) &&
                      (n >= 1 || k->index_max[0] == 0) && (n >= 2 || k->index_max[1] == 0) && n <= 2,
                      "%s: index ranges", k->pattern);
                check(k->type != SCHEMA_ENUM || (k->choices && *k->choices), "%s", k->pattern);
                check(k->type != SCHEMA_INT || k->min <= k->max, "%s", k->pattern);
                check(k->type != SCHEMA_STRING || k->max > 0, "%s: no length limit", k->pattern);
                check(!strchr(k->description, '\n'), "%s", k->pattern);
                for (const SchemaKey *o = schema_keys; o < k; o++)
                        check(!streq(o->pattern, k->pattern), "%s twice", k->pattern);
        }
        tap_end();
}

typedef struct Visit {
        unsigned n, n_accounts, n_mismatch;
        bool seen_last;
} Visit;

static int visit(const char *key, const SchemaKey *k, void *userdata) {
        Visit *v = userdata;

        v->n++;
        if (schema_find(key) != k) {
                v->n_mismatch++;
                check(false, "%s does not find its own entry %s", key, k->pattern);
        }
        if (startswith(key, "account."))
                v->n_accounts++;
        if (streq(key, "account.16.sip_server.2.transport_type"))
                v->seen_last = true;
        return 0;
}

static int visit_stop(const char *key, const SchemaKey *k, void *userdata) {
        return ++*(unsigned *) userdata == 3 ? -ECANCELED : 0;
}

static void test_foreach(void) {
        unsigned expected = 0, n_account_patterns = 0;
        Visit v = {};

        for (const SchemaKey *k = schema_keys; k->pattern; k++) {
                expected += MAX(k->index_max[0], 1u) * MAX(k->index_max[1], 1u);
                n_account_patterns += startswith(k->pattern, "account.") && k->index_max[1] == 0;
        }

        tap_begin("/schema/foreach/every-key");
        check(schema_foreach_key(visit, &v) == 0);
        check(v.n == expected, "%u keys, expected %u", v.n, expected);
        check(v.n_mismatch == 0 && v.seen_last);
        check(v.n_accounts >= 16 * n_account_patterns);
        tap_end();

        unsigned n = 0;
        tap_begin("/schema/foreach/stop");
        check(schema_foreach_key(visit_stop, &n) == -ECANCELED && n == 3);
        tap_end();
}

static void test_markdown(void) {
        _cleanup_(freep) char *md = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&md, &size);

        tap_begin("/schema/markdown/content");
        if (check(f)) {
                check(schema_write_markdown(f) == 0);
                fclose(f);
                for (const SchemaKey *k = schema_keys; k->pattern; k++) {
                        char cell[300];
                        snprintf(cell, sizeof(cell), "| `%s` |", k->pattern);
                        check(strstr(md, cell), "%s missing", k->pattern);
                }
                check(!strstr(md, "## Other"), "a key is in no section");
                check(strstr(md, "yes (clear to org.deskphone.Sip1)"));
        }
        tap_end();
}

static void test_doc(int argc, char *argv[]) {
        _cleanup_(freep) char *doc = NULL, *gen = NULL;
        size_t doc_size, gen_size;

        if (argc < 3) {
                tap_skip("/schema/markdown/doc-up-to-date", "usage: test-schema DOC GENERATED");
                return;
        }
        tap_begin("/schema/markdown/doc-up-to-date");
        if (check(read_full_file(argv[1], &doc, &doc_size, 1 << 22) >= 0, "cannot read %s", argv[1]) &&
            check(read_full_file(argv[2], &gen, &gen_size, 1 << 22) >= 0, "cannot read %s", argv[2])) {
                size_t i = 0, line = 1;
                while (i < doc_size && i < gen_size && doc[i] == gen[i])
                        line += doc[i++] == '\n';
                check(doc_size == gen_size && i == doc_size,
                      "%s differs from the schema from line %zu on; regenerate it: "
                      "build/services/provd/gen-config-keys > doc/config-keys.md", argv[1], line);
        }
        tap_end();
}

int main(int argc, char *argv[]) {
        for (const ValidateCase *c = validate_cases; c->name; c++)
                run_validate_case(c);
        test_secret_reasons();
        test_find();
        test_secrets();
        test_table();
        test_foreach();
        test_markdown();
        test_doc(argc, argv);
        return tap_finish();
}
