/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tap.h"
#include "uri.h"

static const struct {
        const char *name, *target, *domain, *uri; /* uri NULL: -EINVAL */
} targets[] = {
        { "/uri/target/sip-kept", "sip:bob@example.com", NULL, "sip:bob@example.com" },
        { "/uri/target/sips-kept", "sips:bob@example.com:5061", "pbx", "sips:bob@example.com:5061" },
        { "/uri/target/scheme-case", "SIP:bob@example.com", NULL, "SIP:bob@example.com" },
        { "/uri/target/user-at-host", "bob@192.0.2.7:5070", NULL, "sip:bob@192.0.2.7:5070" },
        { "/uri/target/ipv4", "127.0.0.1", NULL, "sip:127.0.0.1" },
        { "/uri/target/ipv4-port", "127.0.0.1:5062", NULL, "sip:127.0.0.1:5062" },
        { "/uri/target/ipv6", "[::1]:5062", NULL, "sip:[::1]:5062" },
        { "/uri/target/hostname", "pbx.example.com", NULL, "sip:pbx.example.com" },
        { "/uri/target/number-with-domain", "1234", "pbx.example.com:5070", "sip:1234@pbx.example.com:5070" },
        { "/uri/target/number-without-domain", "1234", NULL, NULL },
        { "/uri/target/dotted-number", "12.34", NULL, NULL },
        { "/uri/target/empty", "", "pbx", NULL },
        { "/uri/target/space", "sip:bob @example.com", NULL, NULL },
        { "/uri/target/header-injection", "sip:bob@example.com>\r\nX: y", NULL, NULL },
        { "/uri/target/quote", "\"bob\"@example.com", NULL, NULL },
        { "/uri/target/scheme-only", "sip:", NULL, NULL },
};

static const struct {
        const char *name, *uri, *host;
} hosts[] = {
        { "/uri/host/user", "sip:bob@127.0.0.1:5060;transport=tcp", "127.0.0.1" },
        { "/uri/host/no-user", "sip:pbx.example.com;lr", "pbx.example.com" },
        { "/uri/host/ipv6", "sips:alice@[::1]:5061", "::1" },
        { "/uri/host/bad-scheme", "tel:+4930123", NULL },
        { "/uri/host/empty-host", "sip:bob@", NULL },
};

int main(void) {
        for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
                char *uri = NULL;
                tap_begin(targets[i].name);
                int r = sip_target_to_uri(targets[i].target, targets[i].domain, &uri);
                if (targets[i].uri)
                        check(r == 0 && uri && streq(uri, targets[i].uri), "r=%d uri=%s", r, strempty(uri));
                else
                        check(r == -EINVAL, "r=%d uri=%s", r, strempty(uri));
                free(uri);
                tap_end();
        }
        for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
                char *host = NULL;
                tap_begin(hosts[i].name);
                int r = sip_uri_host(hosts[i].uri, &host);
                if (hosts[i].host)
                        check(r == 0 && host && streq(host, hosts[i].host), "r=%d host=%s", r, strempty(host));
                else
                        check(r == -EINVAL, "r=%d", r);
                free(host);
                tap_end();
        }

        char *hp = NULL;
        tap_begin("/uri/host-port/ipv6");
        check(sip_host_port("fd00::2", 5062, &hp) == 0 && streq(hp, "[fd00::2]:5062"), "%s", strempty(hp));
        free(hp);
        tap_end();
        tap_begin("/uri/host-port/srv");
        check(sip_host_port("pbx.example.com", 0, &hp) == 0 && streq(hp, "pbx.example.com"), "%s", strempty(hp));
        free(hp);
        tap_end();
        return tap_finish();
}
