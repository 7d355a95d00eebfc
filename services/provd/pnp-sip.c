/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SIP messages of PnP provisioning: a strict parser for one datagram, and what we send. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "pnp-sip.h"

#define CONTENT_LENGTH_MAX 65535U

typedef struct Line {
        const char *p;
        size_t n;
} Line;

/* The next line of the head, without CR LF; ret_next after it. -EBADMSG: no LF
 * before end, or a control character. */
static int next_line(const char *p, const char *end, Line *ret, const char **ret_next) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        if (!nl)
                return -EBADMSG;
        size_t n = (size_t) (nl - p);
        if (n > 0 && p[n - 1] == '\r')
                n--;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) p[i];
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return -EBADMSG;
        }
        *ret = (Line) { p, n };
        *ret_next = nl + 1;
        return 0;
}

static bool line_starts(Line l, const char *prefix) {
        size_t n = strlen(prefix);
        return l.n >= n && memcmp(l.p, prefix, n) == 0;
}

static int parse_status_line(Line l, PnpSipMessage *m) {
        /* "SIP/2.0 200 OK": three digits, then a space or the end */
        if (l.n < 11 || (l.n > 11 && l.p[11] != ' '))
                return -EBADMSG;
        unsigned s = 0;
        for (size_t i = 8; i < 11; i++) {
                if (l.p[i] < '0' || l.p[i] > '9')
                        return -EBADMSG;
                s = s * 10 + (unsigned) (l.p[i] - '0');
        }
        if (s < 100 || s > 699)
                return -EBADMSG;
        m->request = false;
        m->status = s;
        return 0;
}

static int parse_request_line(Line l, PnpSipMessage *m) {
        /* "METHOD SP Request-URI SP SIP/2.0" */
        const char *sp1 = memchr(l.p, ' ', l.n);
        if (!sp1 || sp1 == l.p || (size_t) (sp1 - l.p) >= sizeof(m->method))
                return -EBADMSG;
        for (const char *c = l.p; c < sp1; c++)
                if (*c < 'A' || *c > 'Z')
                        return -EBADMSG;
        const char *uri = sp1 + 1, *end = l.p + l.n;
        const char *sp2 = memchr(uri, ' ', (size_t) (end - uri));
        if (!sp2 || sp2 == uri || (size_t) (end - sp2 - 1) != strlen("SIP/2.0") || memcmp(sp2 + 1, "SIP/2.0", 7) != 0)
                return -EBADMSG;
        m->request = true;
        memcpy(m->method, l.p, (size_t) (sp1 - l.p));
        m->method[sp1 - l.p] = '\0';
        return 0;
}

/* Copy a header value (already trimmed) into a field; a second one is refused. */
static int set_value(char *field, size_t size, const char *v, size_t n) {
        if (field[0] || n == 0 || n >= size)
                return -EBADMSG;
        memcpy(field, v, n);
        field[n] = '\0';
        return 0;
}

static bool name_is(const char *name, size_t n, const char *full, const char *compact) {
        return (strlen(full) == n && strncasecmp(name, full, n) == 0) ||
               (compact && strlen(compact) == n && strncasecmp(name, compact, n) == 0);
}

static bool is_token_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-.!%*_+`'~", c);
}

static int parse_content_length(const char *v, size_t n, bool *seen, size_t *ret) {
        size_t len = 0;

        if (*seen || n == 0 || n > 5)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (v[i] < '0' || v[i] > '9')
                        return -EBADMSG;
                len = len * 10 + (size_t) (v[i] - '0');
        }
        if (len > CONTENT_LENGTH_MAX)
                return -EBADMSG;
        *seen = true;
        *ret = len;
        return 0;
}

static int parse_header(Line l, PnpSipMessage *m, bool *have_length, size_t *length) {
        if (l.p[0] == ' ' || l.p[0] == '\t')
                return -EBADMSG; /* folding: not for us */
        const char *colon = memchr(l.p, ':', l.n);
        if (!colon)
                return -EBADMSG;
        size_t nn = (size_t) (colon - l.p);
        while (nn > 0 && (l.p[nn - 1] == ' ' || l.p[nn - 1] == '\t'))
                nn--;
        if (nn == 0)
                return -EBADMSG;
        for (size_t i = 0; i < nn; i++)
                if (!is_token_char(l.p[i]))
                        return -EBADMSG;
        const char *v = colon + 1, *end = l.p + l.n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        size_t vn = (size_t) (end - v);

        if (name_is(l.p, nn, "Call-ID", "i"))
                return set_value(m->call_id, sizeof(m->call_id), v, vn);
        if (name_is(l.p, nn, "CSeq", NULL))
                return set_value(m->cseq, sizeof(m->cseq), v, vn);
        if (name_is(l.p, nn, "From", "f"))
                return set_value(m->from, sizeof(m->from), v, vn);
        if (name_is(l.p, nn, "To", "t"))
                return set_value(m->to, sizeof(m->to), v, vn);
        if (name_is(l.p, nn, "Event", "o"))
                return set_value(m->event, sizeof(m->event), v, vn);
        if (name_is(l.p, nn, "Content-Type", "c"))
                return set_value(m->content_type, sizeof(m->content_type), v, vn);
        if (name_is(l.p, nn, "Content-Length", "l"))
                return parse_content_length(v, vn, have_length, length);
        if (name_is(l.p, nn, "Via", "v")) {
                if (m->n_via >= PNP_SIP_VIAS_MAX)
                        return -EBADMSG;
                return set_value(m->via[m->n_via++], PNP_SIP_VALUE_MAX, v, vn);
        }
        return 0; /* a header PnP does not use */
}

static int parse_body(const char *p, const char *end, bool have_length, size_t length, PnpSipMessage *m) {
        size_t left = (size_t) (end - p);

        if (have_length && length > left)
                return -EBADMSG;
        size_t n = have_length ? length : left;
        if (n > PNP_SIP_BODY_MAX || memchr(p, '\0', n))
                return -EBADMSG;
        memcpy(m->body, p, n);
        m->body[n] = '\0';
        m->body_size = n;
        return 0;
}

int pnp_sip_parse(const char *data, size_t size, PnpSipMessage *ret) {
        PnpSipMessage m = {};
        const char *p = data, *end = data + size;
        bool have_length = false;
        size_t length = 0;
        Line l;

        if (size > PNP_SIP_MESSAGE_MAX)
                return -E2BIG;
        int r = next_line(p, end, &l, &p);
        if (r < 0)
                return r;
        r = line_starts(l, "SIP/2.0 ") ? parse_status_line(l, &m) : parse_request_line(l, &m);
        for (unsigned n = 0; r >= 0; n++) {
                r = next_line(p, end, &l, &p);
                if (r < 0 || l.n == 0)
                        break;
                r = n < PNP_SIP_HEADERS_MAX ? parse_header(l, &m, &have_length, &length) : -EBADMSG;
        }
        if (r < 0)
                return r;
        if (!m.call_id[0] || !m.cseq[0] || !m.from[0] || !m.to[0] || m.n_via == 0)
                return -EBADMSG;
        r = parse_body(p, end, have_length, length, &m);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

bool pnp_sip_event_is(const char *event, const char *package) {
        size_t n = strcspn(event, "; \t");
        return n == strlen(package) && strncasecmp(event, package, n) == 0;
}

static bool url_ok(const char *u, size_t n) {
        static const char * const schemes[] = { "http://", "https://", "ftp://", "tftp://" };
        bool scheme = false;

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                scheme = scheme || (n > strlen(schemes[i]) && strncasecmp(u, schemes[i], strlen(schemes[i])) == 0);
        if (!scheme)
                return false;
        for (size_t i = 0; i < n; i++)
                if (u[i] <= 0x20 || u[i] >= 0x7f || u[i] == '"' || u[i] == '<' || u[i] == '>')
                        return false;
        return true;
}

static int url_copy(const char *u, size_t n, char *ret, size_t size) {
        if (n == 0 || n >= size || n >= PNP_SIP_URL_MAX || !url_ok(u, n))
                return -EBADMSG;
        memcpy(ret, u, n);
        ret[n] = '\0';
        return 0;
}

/* A parameter of a header value ("type/sub;name=value;name2=\"quoted\""), unquoted.
 * -ENOENT: not there; -EBADMSG: the parameters do not parse. */
static int param_find(const char *v, const char *name, const char **ret, size_t *ret_n) {
        const char *p = strchr(v, ';');

        while (p && *p == ';') {
                p += 1 + strspn(p + 1, " \t");
                const char *pname = p;
                size_t nn = strcspn(p, "=; \t");
                const char *val = p + nn;
                val += strspn(val, " \t");
                if (nn == 0 || *val != '=')
                        return -EBADMSG;
                val += 1 + strspn(val + 1, " \t");
                size_t vn;
                if (*val == '"') {
                        const char *q = strchr(++val, '"');
                        if (!q)
                                return -EBADMSG;
                        vn = (size_t) (q - val);
                        p = q + 1;
                } else {
                        vn = strcspn(val, "; \t");
                        p = val + vn;
                }
                if (nn == strlen(name) && strncasecmp(pname, name, nn) == 0) {
                        *ret = val;
                        *ret_n = vn;
                        return 0;
                }
                p += strspn(p, " \t");
                if (*p && *p != ';')
                        return -EBADMSG;
        }
        return -ENOENT;
}

static bool media_type_is(const char *content_type, const char *type) {
        size_t n = strcspn(content_type, "; \t");
        return n == strlen(type) && strncasecmp(content_type, type, n) == 0;
}

int pnp_sip_notify_url(const PnpSipMessage *m, char *ret, size_t size) {
        const char *u;
        size_t n;

        if (media_type_is(m->content_type, "application/url")) {
                u = m->body + strspn(m->body, " \t\r\n");
                n = strlen(u);
                while (n > 0 && strchr(" \t\r\n", u[n - 1]))
                        n--;
                return url_copy(u, n, ret, size);
        }
        if (media_type_is(m->content_type, "message/external-body")) {
                if (param_find(m->content_type, "access-type", &u, &n) < 0 || n != 3 || strncasecmp(u, "URL", 3) != 0)
                        return -EBADMSG;
                if (param_find(m->content_type, "URL", &u, &n) < 0)
                        return -EBADMSG;
                return url_copy(u, n, ret, size);
        }
        return -EBADMSG;
}

/* ---- what we send ---- */

typedef struct Out {
        char *buf;
        size_t size, len;
        bool overflow;
} Out;

_printf_(2, 3) static void out_printf(Out *o, const char *format, ...) {
        va_list ap;

        if (o->overflow)
                return;
        va_start(ap, format);
        int n = vsnprintf(o->buf + o->len, o->size - o->len, format, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= o->size - o->len)
                o->overflow = true;
        else
                o->len += (size_t) n;
}

static int out_finish(Out *o) {
        return o->overflow || o->len > (size_t) INT32_MAX ? -ENOBUFS : (int) o->len;
}

/* Printable ASCII without quotes, backslashes or angle brackets: safe inside a quoted string or a URI. */
static bool safe(const char *s) {
        for (; s && *s; s++)
                if (*s <= 0x20 || *s >= 0x7f || strchr("\"\\<>;", *s))
                        return false;
        return s != NULL;
}

int pnp_sip_format_subscribe(const PnpSubscribe *s, char *buf, size_t size) {
        Out o = { buf, size, 0, false };

        if (!safe(s->mac) || !safe(s->address) || !safe(s->vendor) || !safe(s->model) || !safe(s->version) ||
            !safe(s->call_id) || !safe(s->tag) || !safe(s->branch) || !s->user_agent || strpbrk(s->user_agent, "\r\n"))
                return -EINVAL;
        out_printf(&o, "SUBSCRIBE sip:%s@" PNP_SIP_MULTICAST " SIP/2.0\r\n", s->mac);
        out_printf(&o, "Via: SIP/2.0/UDP %s:%u;branch=%s;rport\r\n", s->address, s->port, s->branch);
        out_printf(&o, "Max-Forwards: 70\r\n");
        out_printf(&o, "From: <sip:%s@" PNP_SIP_MULTICAST ">;tag=%s\r\n", s->mac, s->tag);
        out_printf(&o, "To: <sip:%s@" PNP_SIP_MULTICAST ">\r\n", s->mac);
        out_printf(&o, "Call-ID: %s\r\n", s->call_id);
        out_printf(&o, "CSeq: %u SUBSCRIBE\r\n", s->cseq);
        out_printf(&o, "Contact: <sip:%s@%s:%u>\r\n", s->mac, s->address, s->port);
        out_printf(&o, "Event: ua-profile;profile-type=\"device\";vendor=\"%s\";model=\"%s\";version=\"%s\"\r\n",
                   s->vendor, s->model, s->version);
        out_printf(&o, "Accept: application/url, message/external-body\r\n");
        out_printf(&o, "Expires: 0\r\n");
        out_printf(&o, "User-Agent: %s\r\n", s->user_agent);
        out_printf(&o, "Content-Length: 0\r\n\r\n");
        return out_finish(&o);
}

/* The tag parameter of a From or To value: after the '>' of a name-addr, else of the whole addr-spec. */
static int tag_find(const char *addr, const char **ret, size_t *ret_n) {
        const char *gt = strrchr(addr, '>');
        return param_find(gt ?: addr, "tag", ret, ret_n);
}

bool pnp_sip_tag_is(const char *addr, const char *tag) {
        const char *t;
        size_t n;
        return tag_find(addr, &t, &n) >= 0 && n == strlen(tag) && strncmp(t, tag, n) == 0;
}

static bool has_tag(const char *addr) {
        const char *t;
        size_t n;
        return tag_find(addr, &t, &n) >= 0;
}

int pnp_sip_format_response(const PnpSipMessage *req, unsigned status, const char *phrase, const char *to_tag,
                            char *buf, size_t size) {
        Out o = { buf, size, 0, false };

        out_printf(&o, "SIP/2.0 %u %s\r\n", status, phrase);
        for (size_t i = 0; i < req->n_via; i++)
                out_printf(&o, "Via: %s\r\n", req->via[i]);
        out_printf(&o, "From: %s\r\n", req->from);
        if (to_tag && !has_tag(req->to))
                out_printf(&o, "To: %s;tag=%s\r\n", req->to, to_tag);
        else
                out_printf(&o, "To: %s\r\n", req->to);
        out_printf(&o, "Call-ID: %s\r\n", req->call_id);
        out_printf(&o, "CSeq: %s\r\n", req->cseq);
        out_printf(&o, "Content-Length: 0\r\n\r\n");
        return out_finish(&o);
}
