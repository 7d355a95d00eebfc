/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* provd's PnP SIP messages (pnp-sip.c): the NOTIFYs PnP servers send (Yealink's
 * application/url, RFC 6080's message/external-body), what is refused, and
 * the SUBSCRIBE and responses we send. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "pnp-sip.h"
#include "tap.h"

#define HEAD "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:00155d000001@224.0.1.75>;tag=s\r\n" \
             "To: <sip:00155d000001@224.0.1.75>;tag=p\r\nCall-ID: abc\r\nCSeq: 1 NOTIFY\r\nEvent: ua-profile\r\n"
#define NOTIFY "NOTIFY sip:00155d000001@192.0.2.10:40000 SIP/2.0\r\n"

typedef struct Case {
        const char *name;
        const char *message;
        int parse;             /* pnp_sip_parse */
        const char *url;       /* pnp_sip_notify_url: NULL refused */
} Case;

static const Case cases[] = {
        { "yealink-url", NOTIFY HEAD "Content-Type: application/url\r\nContent-Length: 28\r\n\r\n"
                         "http://192.0.2.1/provision\r\n", 0, "http://192.0.2.1/provision" },
        { "no-content-length", NOTIFY HEAD "Content-Type: application/url\r\n\r\nhttps://p.example/x/", 0,
          "https://p.example/x/" },
        { "content-length-shorter", NOTIFY HEAD "Content-Type: application/url\r\nContent-Length: 9\r\n\r\n"
                                    "tftp://h/garbage", 0, "tftp://h/" },
        { "compact-and-lf", "NOTIFY sip:a@b SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK\nf: <sip:a@b>;tag=1\n"
                            "t: <sip:c@d>\ni: x\nCSeq: 1 NOTIFY\no: ua-profile\nc: Application/URL\nl: 12\n\n"
                            "ftp://h/dir/", 0, "ftp://h/dir/" },
        { "rfc6080-external-body", NOTIFY HEAD "Content-Type: message/external-body; access-type=\"URL\"; "
                                   "expiration=\"Mon, 01 Jan 2030 09:00:00 UTC\"; URL=\"http://p.example/cfg/\"\r\n"
                                   "Content-Length: 0\r\n\r\n", 0, "http://p.example/cfg/" },
        { "external-body-not-url", NOTIFY HEAD "Content-Type: message/external-body; access-type=\"local-file\"; "
                                   "URL=\"http://p.example/\"\r\n\r\n", 0, NULL },
        { "other-type", NOTIFY HEAD "Content-Type: text/plain\r\n\r\nhttp://h/", 0, NULL },
        { "not-a-url", NOTIFY HEAD "Content-Type: application/url\r\n\r\nfile:///etc/passwd", 0, NULL },
        { "url-with-space", NOTIFY HEAD "Content-Type: application/url\r\n\r\nhttp://h/a b", 0, NULL },
        { "url-empty", NOTIFY HEAD "Content-Type: application/url\r\n\r\n\r\n", 0, NULL },
        { "response", "SIP/2.0 202 Accepted\r\n" HEAD "\r\n", 0, NULL },
        { "length-beyond", NOTIFY HEAD "Content-Length: 100\r\n\r\nhttp://h/", -EBADMSG, NULL },
        { "length-not-digits", NOTIFY HEAD "Content-Length: 1x\r\n\r\n", -EBADMSG, NULL },
        { "two-lengths", NOTIFY HEAD "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", -EBADMSG, NULL },
        { "two-call-ids", NOTIFY HEAD "i: other\r\n\r\n", -EBADMSG, NULL },
        { "folded", NOTIFY HEAD "Subject: a\r\n b\r\n\r\n", -EBADMSG, NULL },
        { "no-call-id", NOTIFY "Via: SIP/2.0/UDP h\r\nFrom: a\r\nTo: b\r\nCSeq: 1 NOTIFY\r\n\r\n", -EBADMSG, NULL },
        { "no-via", NOTIFY "From: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\n\r\n", -EBADMSG, NULL },
        { "no-blank-line", NOTIFY HEAD, -EBADMSG, NULL },
        { "control-char", NOTIFY HEAD "X: a\x01" "b\r\n\r\n", -EBADMSG, NULL },
        { "lower-case-method", "notify sip:a@b SIP/2.0\r\n" HEAD "\r\n", -EBADMSG, NULL },
        { "bad-version", "NOTIFY sip:a@b SIP/3.0\r\n" HEAD "\r\n", -EBADMSG, NULL },
        { "status-99", "SIP/2.0 099 x\r\n" HEAD "\r\n", -EBADMSG, NULL },
        { "status-letters", "SIP/2.0 2x0 x\r\n" HEAD "\r\n", -EBADMSG, NULL },
        { "empty", "", -EBADMSG, NULL },
};

static void test_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                char name[128], url[PNP_SIP_URL_MAX] = "";
                PnpSipMessage m;

                snprintf(name, sizeof(name), "/pnp-sip/parse/%s", c->name);
                tap_begin(name);
                int r = pnp_sip_parse(c->message, strlen(c->message), &m);
                check(r == c->parse, "parse: %d, want %d", r, c->parse);
                if (r >= 0) {
                        r = pnp_sip_notify_url(&m, url, sizeof(url));
                        check(c->url ? r == 0 && strcmp(url, c->url) == 0 : r == -EBADMSG, "url: %d '%s'", r, url);
                }
                tap_end();
        }
}

static void test_limits(void) {
        static char big[PNP_SIP_MESSAGE_MAX * 2];
        PnpSipMessage m;
        char body[PNP_SIP_BODY_MAX + 2];

        tap_begin("/pnp-sip/parse/too-large");
        memset(big, 'a', sizeof(big));
        check(pnp_sip_parse(big, sizeof(big), &m) == -E2BIG);
        tap_end();

        tap_begin("/pnp-sip/parse/long-value");
        int n = snprintf(big, sizeof(big), NOTIFY HEAD "Content-Type: application/url; x=%0300d\r\n\r\n", 0);
        check(pnp_sip_parse(big, (size_t) n, &m) == -EBADMSG, "a value beyond its field");
        tap_end();

        tap_begin("/pnp-sip/parse/long-body");
        memset(body, 'b', sizeof(body) - 1);
        body[sizeof(body) - 1] = '\0';
        n = snprintf(big, sizeof(big), NOTIFY HEAD "\r\n%s", body);
        check(pnp_sip_parse(big, (size_t) n, &m) == -EBADMSG, "a body beyond PNP_SIP_BODY_MAX");
        tap_end();

        tap_begin("/pnp-sip/parse/nul-in-body");
        static const char nul[] = NOTIFY HEAD "Content-Length: 3\r\n\r\na\0b";
        check(pnp_sip_parse(nul, sizeof(nul) - 1, &m) == -EBADMSG);
        tap_end();
}

static void test_subscribe(void) {
        char buf[PNP_SIP_MESSAGE_MAX];
        PnpSipMessage m;
        PnpSubscribe s = {
                .mac = "00155d000001", .address = "192.0.2.10", .port = 40000, .vendor = "deskphone",
                .model = "66", .version = "0.1.0", .call_id = "c0ffee", .tag = "t1", .branch = "z9hG4bKb1",
                .cseq = 1, .user_agent = "deskphone 66 0.1.0 00:15:5d:00:00:01",
        };

        tap_begin("/pnp-sip/format/subscribe");
        int n = pnp_sip_format_subscribe(&s, buf, sizeof(buf));
        check(n > 0 && (size_t) n == strlen(buf));
        static const char first[] = "SUBSCRIBE sip:00155d000001@224.0.1.75 SIP/2.0\r\n";
        check(strncmp(buf, first, sizeof(first) - 1) == 0, "%s", buf);
        check(strstr(buf, "\r\nEvent: ua-profile;profile-type=\"device\";vendor=\"deskphone\";model=\"66\";"
                          "version=\"0.1.0\"\r\n"), "%s", buf);
        check(strstr(buf, "\r\nFrom: <sip:00155d000001@224.0.1.75>;tag=t1\r\n"), "%s", buf);
        check(strstr(buf, "\r\nTo: <sip:00155d000001@224.0.1.75>\r\n"), "%s", buf);
        check(strstr(buf, "\r\nContact: <sip:00155d000001@192.0.2.10:40000>\r\n"), "%s", buf);
        check(strstr(buf, "\r\nExpires: 0\r\n"), "%s", buf);
        check(n > 0 && pnp_sip_parse(buf, (size_t) n, &m) == 0 && m.request && strcmp(m.method, "SUBSCRIBE") == 0 &&
              pnp_sip_event_is(m.event, "ua-profile") && strcmp(m.call_id, "c0ffee") == 0, "parses back");
        tap_end();

        tap_begin("/pnp-sip/format/subscribe-refuses-quotes");
        s.model = "6\"6";
        check(pnp_sip_format_subscribe(&s, buf, sizeof(buf)) == -EINVAL);
        s.model = "66";
        s.user_agent = "x\r\nEvil: 1";
        check(pnp_sip_format_subscribe(&s, buf, sizeof(buf)) == -EINVAL);
        tap_end();

        tap_begin("/pnp-sip/format/subscribe-small-buffer");
        s.user_agent = "ua";
        check(pnp_sip_format_subscribe(&s, buf, 100) == -ENOBUFS);
        tap_end();
}

static void test_response(void) {
        static const char notify[] = NOTIFY "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
                                     "Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=s\r\n"
                                     "To: <sip:c@d;transport=udp>\r\nCall-ID: abc\r\nCSeq: 4 NOTIFY\r\n\r\n";
        char buf[PNP_SIP_MESSAGE_MAX];
        PnpSipMessage m, r;

        tap_begin("/pnp-sip/format/response");
        check(pnp_sip_parse(notify, sizeof(notify) - 1, &m) == 0);
        int n = pnp_sip_format_response(&m, 200, "OK", "me", buf, sizeof(buf));
        check(n > 0 && pnp_sip_parse(buf, (size_t) n, &r) == 0, "parses back: %s", buf);
        check(!r.request && r.status == 200 && r.n_via == 2 && strcmp(r.cseq, "4 NOTIFY") == 0);
        check(strcmp(r.to, "<sip:c@d;transport=udp>;tag=me") == 0, "To: %s", r.to);
        check(strcmp(r.via[1], "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2") == 0, "Via: %s", r.via[1]);
        tap_end();

        tap_begin("/pnp-sip/format/response-keeps-to-tag");
        static const char tagged[] = NOTIFY HEAD "\r\n";
        check(pnp_sip_parse(tagged, sizeof(tagged) - 1, &m) == 0);
        n = pnp_sip_format_response(&m, 481, "Subscription Does Not Exist", "me", buf, sizeof(buf));
        check(n > 0 && strstr(buf, "\r\nTo: <sip:00155d000001@224.0.1.75>;tag=p\r\n"), "%s", buf);
        tap_end();
}

static void test_tag(void) {
        tap_begin("/pnp-sip/tag");
        check(pnp_sip_tag_is("<sip:a@b>;tag=s", "s"));
        check(pnp_sip_tag_is("\"x\" <sip:a@b;tag=no> ; TAG=s ;x=1", "s"));
        check(pnp_sip_tag_is("sip:a@b;tag=s", "s"));
        check(!pnp_sip_tag_is("<sip:a@b;tag=s>", "s"), "a URI parameter is not the tag");
        check(!pnp_sip_tag_is("<sip:a@b>;tag=s2", "s"));
        check(!pnp_sip_tag_is("<sip:a@b>;tag=", "s"));
        check(!pnp_sip_tag_is("<sip:a@b>", "s"));
        tap_end();
}

int main(void) {
        test_cases();
        test_tag();
        test_limits();
        test_subscribe();
        test_response();
        return tap_finish();
}
