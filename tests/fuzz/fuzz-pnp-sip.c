/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pnp_sip_parse (provd's PnP datagrams, which anyone on the LAN can send) on
 * arbitrary bytes; what parses is checked for its bounds, its URL taken if it
 * has one, and answered as provd would. See fuzz-cfg-parse.c for how to run it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pnp-sip.h"

#define FUZZ_INPUT_MAX (64U * 1024U)
#include "fuzz-main.h"

static void check_field(const char *s, size_t size) {
        if (strnlen(s, size) >= size)
                abort();
}

/* Only http, https, ftp and tftp, with something after "://". */
static bool url_scheme_ok(const char *url) {
        static const char * const schemes[] = { "http://", "https://", "ftp://", "tftp://" };
        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
                if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0 && url[strlen(schemes[i])])
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PnpSipMessage m;
        char url[PNP_SIP_URL_MAX], buf[PNP_SIP_MESSAGE_MAX * 2];

        int r = pnp_sip_parse((const char *) data, size, &m);
        if (r < 0) {
                if (r != -EBADMSG && r != -E2BIG)
                        abort();
                return 0;
        }
        check_field(m.method, sizeof(m.method));
        check_field(m.call_id, sizeof(m.call_id));
        check_field(m.from, sizeof(m.from));
        check_field(m.to, sizeof(m.to));
        check_field(m.event, sizeof(m.event));
        check_field(m.content_type, sizeof(m.content_type));
        if (m.n_via == 0 || m.n_via > PNP_SIP_VIAS_MAX || m.body_size > PNP_SIP_BODY_MAX ||
            strlen(m.body) != m.body_size || (!m.request && (m.status < 100 || m.status > 699)))
                abort();
        if (pnp_sip_notify_url(&m, url, sizeof(url)) >= 0 &&
            (strpbrk(url, " \r\n\"<>") || !url_scheme_ok(url)))
                abort();
        (void) pnp_sip_tag_is(m.to, "tag1");
        (void) pnp_sip_event_is(m.event, "ua-profile");
        r = pnp_sip_format_response(&m, 200, "OK", "tag1", buf, sizeof(buf));
        if (r < 0 || (size_t) r >= sizeof(buf))
                abort(); /* every field is bounded: the answer always fits */
        return 0;
}
