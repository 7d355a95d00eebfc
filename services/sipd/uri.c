/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <strings.h>

#include "uri.h"
#include "util.h"

static bool uri_chars_ok(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
                        return false;
        return true;
}

bool sip_looks_like_host(const char *s) {
        struct in6_addr a6;
        struct in_addr a4;
        char buf[256];

        if (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1)
                return true;
        if (s[0] == '[') /* [v6] or [v6]:port */
                return true;
        if (strlen(s) >= sizeof(buf))
                return false;
        strcpy(buf, s);
        char *colon = strrchr(buf, ':');
        if (colon)
                *colon = '\0'; /* host:port */
        if (inet_pton(AF_INET, buf, &a4) == 1)
                return true;
        /* a dotted name with a letter somewhere: "pbx.example.com", not "1234" or "12.34" */
        bool dot = strchr(buf, '.'), alpha = false;
        for (const char *p = buf; *p; p++)
                alpha = alpha || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        return (dot && alpha) || streq(buf, "localhost");
}

int sip_target_to_uri(const char *target, const char *domain, char **ret) {
        char *uri;

        if (!target || !*target || strlen(target) > SIP_URI_MAX || !uri_chars_ok(target))
                return -EINVAL;
        if (strncasecmp(target, "sip:", 4) == 0 || strncasecmp(target, "sips:", 5) == 0) {
                if (!target[target[3] == ':' ? 4 : 5])
                        return -EINVAL;
                uri = strdup(target);
        } else if (strchr(target, '@') || sip_looks_like_host(target))
                uri = strjoin("sip:", target, NULL);
        else if (domain && *domain)
                uri = strjoin("sip:", target, "@", domain, NULL);
        else
                return -EINVAL;
        if (!uri)
                return -ENOMEM;
        *ret = uri;
        return 0;
}

int sip_host_port(const char *host, unsigned port, char **ret) {
        bool v6 = strchr(host, ':') && host[0] != '[';
        char *s = NULL;

        if (port > 0)
                s = asprintf(&s, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0 ? NULL : s;
        else
                s = strjoin(v6 ? "[" : "", host, v6 ? "]" : "", NULL);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int sip_uri_host(const char *uri, char **ret) {
        const char *p;
        size_t n;

        if (strncasecmp(uri, "sip:", 4) == 0)
                p = uri + 4;
        else if (strncasecmp(uri, "sips:", 5) == 0)
                p = uri + 5;
        else
                return -EINVAL;
        const char *at = strchr(p, '@'), *end = p + strcspn(p, ";?>");
        if (at && at < end)
                p = at + 1;
        if (*p == '[') {
                const char *close = strchr(p, ']');
                if (!close || close > end)
                        return -EINVAL;
                p++;
                n = (size_t) (close - p);
        } else
                n = strcspn(p, ":;?>");
        if (n == 0)
                return -EINVAL;
        char *h = strndup(p, n);
        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}
