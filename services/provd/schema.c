/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>

#include "schema-internal.h"
#include "schema.h"
#include "util.h"

#define URL_MAX_LEN 1024
#define KEY_MAX_LEN 256

const char *schema_type_to_string(SchemaType t) {
        switch (t) {
        case SCHEMA_STRING:
                return "string";
        case SCHEMA_BOOL:
                return "bool";
        case SCHEMA_INT:
                return "int";
        case SCHEMA_ENUM:
                return "enum";
        case SCHEMA_HOST:
                return "host";
        case SCHEMA_URL:
                return "url";
        case SCHEMA_PATH:
                return "path";
        }
        return NULL;
}

/* ---- Patterns ---- */

static bool is_placeholder(const char *e, size_t len) {
        return len == 1 && (*e == 'N' || *e == 'M');
}

/* A decimal index without sign or leading zero, in 1..max. */
static bool index_matches(const char *s, size_t len, unsigned max) {
        unsigned v = 0;

        if (len == 0 || len > 5 || s[0] == '0')
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        return v >= 1 && v <= max;
}

static bool pattern_matches(const SchemaKey *k, const char *key) {
        const char *p = k->pattern, *s = key;
        unsigned n = 0;

        for (;;) {
                const char *pe = strchrnul(p, '.'), *se = strchrnul(s, '.');
                size_t pl = (size_t) (pe - p), sl = (size_t) (se - s);

                if (is_placeholder(p, pl)) {
                        if (n >= ELEMENTSOF(k->index_max) || !index_matches(s, sl, k->index_max[n]))
                                return false;
                        n++;
                } else if (pl != sl || memcmp(p, s, pl) != 0)
                        return false;

                if (*pe == '\0' || *se == '\0')
                        return *pe == '\0' && *se == '\0';
                p = pe + 1;
                s = se + 1;
        }
}

const SchemaKey *schema_find(const char *key) {
        if (!key || strlen(key) >= KEY_MAX_LEN)
                return NULL;
        for (const SchemaKey *k = schema_keys; k->pattern; k++)
                if (pattern_matches(k, key))
                        return k;
        return NULL;
}

static int expand(const SchemaKey *k, const char *p, char *buf, size_t used, unsigned n, SchemaKeyVisitor fn,
                  void *userdata) {
        const char *pe = strchrnul(p, '.');
        size_t pl = (size_t) (pe - p);

        if (!is_placeholder(p, pl)) {
                if (used + pl + 2 > KEY_MAX_LEN)
                        return -ENAMETOOLONG;
                memcpy(buf + used, p, pl);
                used += pl;
                buf[used] = '\0';
                if (*pe == '\0')
                        return fn(buf, k, userdata);
                buf[used++] = '.';
                return expand(k, pe + 1, buf, used, n, fn, userdata);
        }

        if (n >= ELEMENTSOF(k->index_max))
                return -EINVAL;
        for (unsigned i = 1; i <= k->index_max[n]; i++) {
                int l = snprintf(buf + used, KEY_MAX_LEN - used, "%u%s", i, *pe ? "." : "");
                if (l < 0 || used + (size_t) l + 1 > KEY_MAX_LEN)
                        return -ENAMETOOLONG;
                int r = *pe ? expand(k, pe + 1, buf, used + (size_t) l, n + 1, fn, userdata)
                            : fn(buf, k, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int schema_foreach_key(SchemaKeyVisitor fn, void *userdata) {
        char buf[KEY_MAX_LEN];

        for (const SchemaKey *k = schema_keys; k->pattern; k++) {
                int r = expand(k, k->pattern, buf, 0, 0, fn, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- Validation ---- */


/* How a reason quotes the value: 'value' (shortened, escaped), or only its length for secrets. */
static const char *quote(const SchemaKey *k, const char *v, char *buf, size_t size) {
        size_t len = strlen(v), n = 0;

        if (k->secret) {
                snprintf(buf, size, "a value of %zu characters", len);
                return buf;
        }
        buf[n++] = '\'';
        for (size_t i = 0; i < len && i < 40 && n + 6 < size; i++) {
                unsigned char c = (unsigned char) v[i];
                if (c >= 0x20 && c != 0x7f)
                        buf[n++] = (char) c;
                else
                        n += (size_t) snprintf(buf + n, size - n, "\\x%02x", c);
        }
        if (len > 40 && n + 5 < size)
                n += (size_t) snprintf(buf + n, size - n, "...");
        snprintf(buf + n, size - n, "'");
        return buf;
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static int validate_string(const SchemaKey *k, const char *v, char *reason, size_t size) {
        size_t len = strlen(v);

        if (!utf8_is_valid_n(v, len))
                return reason_set(reason, size, -EINVAL, "must be valid UTF-8");
        if (has_control(v))
                return reason_set(reason, size, -EINVAL, "must not contain control characters");
        if (k->max > 0 && len > (size_t) k->max)
                return reason_set(reason, size, -ERANGE, "must be at most %ld bytes long, got %zu", k->max, len);
        return 0;
}

static int validate_int(const SchemaKey *k, char *v, char *reason, size_t size) {
        char q[64];
        const char *s = v + (*v == '-');
        char *end;

        if (*s < '0' || *s > '9')
                goto bad;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (*end != '\0')
                goto bad;
        if (errno == ERANGE || n < k->min || n > k->max)
                return reason_set(reason, size, -ERANGE, "must be an integer in %ld..%ld, got %s", k->min, k->max,
                            quote(k, v, q, sizeof(q)));
        sprintf(v, "%lld", n); /* canonical form is never longer: no '+', no leading zeros */
        return 0;
bad:
        return reason_set(reason, size, -EINVAL, "must be an integer in %ld..%ld, got %s", k->min, k->max,
                    quote(k, v, q, sizeof(q)));
}

static bool choice_matches(const char *choices, const char *v) {
        size_t len = strlen(v);

        for (const char *c = choices;;) {
                const char *e = strchrnul(c, '|');
                if ((size_t) (e - c) == len && strncmp(c, v, len) == 0)
                        return true;
                if (*e == '\0')
                        return false;
                c = e + 1;
        }
}

static void choices_to_text(const char *choices, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (const char *c = choices; n + 1 < size;) {
                const char *e = strchrnul(c, '|');
                n += (size_t) snprintf(buf + n, size - n, "%s%.*s", c == choices ? "" : ", ",
                                       e == c ? (int) strlen("(empty)") : (int) (e - c),
                                       e == c ? "(empty)" : c);
                if (*e == '\0')
                        break;
                c = e + 1;
        }
}

static int validate_enum(const SchemaKey *k, const char *v, char *reason, size_t size) {
        char q[64], list[128];

        if (choice_matches(k->choices, v))
                return 0;
        choices_to_text(k->choices, list, sizeof(list));
        return reason_set(reason, size, -EINVAL, "must be one of %s, got %s", list, quote(k, v, q, sizeof(q)));
}

static bool is_ipv6(const char *s, size_t len) {
        char buf[INET6_ADDRSTRLEN + 1];
        struct in6_addr a;

        if (len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        return inet_pton(AF_INET6, buf, &a) == 1;
}

static bool is_ipv4(const char *s, size_t len) {
        char buf[INET_ADDRSTRLEN + 1];
        struct in_addr a;

        if (len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        return inet_pton(AF_INET, buf, &a) == 1;
}

/* RFC 1123 host name (underscores tolerated, as LAN names have them), or an IP literal. */
static bool host_is_valid(const char *s, size_t len) {
        size_t label = 0;
        bool numeric = true;

        if (len > 0 && s[len - 1] == '.')
                len--;
        if (len == 0 || len > 253)
                return false;
        if (memchr(s, ':', len))
                return is_ipv6(s, len);
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_'))
                        return false;
                if ((c == '-' && label == 0) || ++label > 63)
                        return false;
                if (c < '0' || c > '9')
                        numeric = false;
        }
        if (label == 0 || s[len - 1] == '-')
                return false;
        return numeric ? is_ipv4(s, len) : true;
}

static int validate_host(const SchemaKey *k, char *v, char *reason, size_t size) {
        char q[64];
        size_t len = strlen(v);

        if (len == 0)
                return 0;
        if (v[0] == '[' && v[len - 1] == ']' && is_ipv6(v + 1, len - 2)) {
                memmove(v, v + 1, len - 2);
                v[len - 2] = '\0';
                return 0;
        }
        if (host_is_valid(v, len))
                return 0;
        if (strchr(v, ':') && !is_ipv6(v, len) && strchr(v, ':') == strrchr(v, ':'))
                return reason_set(reason, size, -EINVAL,
                            "must be a host name or an IP address without a port (the port has its own key), got %s",
                            quote(k, v, q, sizeof(q)));
        return reason_set(reason, size, -EINVAL, "must be a host name or an IP address, got %s", quote(k, v, q, sizeof(q)));
}

static bool port_is_valid(const char *s, size_t len) {
        unsigned v = 0;

        if (len == 0 || len > 5)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        return v >= 1 && v <= 65535;
}

/* "[v6]" or "host", then an optional ":port". */
static bool authority_is_valid(const char *s, size_t len) {
        const char *at = NULL, *port;

        for (size_t i = 0; i < len; i++)
                if (s[i] == '@')
                        at = s + i;
        if (at) {
                len -= (size_t) (at + 1 - s);
                s = at + 1;
        }
        if (len > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', len);
                if (!close || !is_ipv6(s + 1, (size_t) (close - s - 1)))
                        return false;
                port = close + 1;
                if (port == s + len)
                        return true;
                return *port == ':' && port_is_valid(port + 1, (size_t) (s + len - port - 1));
        }
        port = memchr(s, ':', len);
        if (!port)
                return host_is_valid(s, len);
        return host_is_valid(s, (size_t) (port - s)) && port_is_valid(port + 1, (size_t) (s + len - port - 1));
}

static int validate_url(const SchemaKey *k, const char *v, char *reason, size_t size) {
        static const char * const schemes[] = { "http://", "https://", "ftp://", "tftp://" };
        const char *rest = NULL;
        char q[64];

        if (*v == '\0')
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(schemes) && !rest; i++)
                if (strncasecmp(v, schemes[i], strlen(schemes[i])) == 0)
                        rest = v + strlen(schemes[i]);
        if (!rest)
                return reason_set(reason, size, -EINVAL, "must be an http://, https://, ftp:// or tftp:// URL, got %s",
                            quote(k, v, q, sizeof(q)));
        if (strlen(v) > URL_MAX_LEN)
                return reason_set(reason, size, -ERANGE, "must be at most %d bytes long", URL_MAX_LEN);
        for (const char *c = v; *c; c++)
                if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
                        return reason_set(reason, size, -EINVAL,
                                    "must not contain spaces, control or non-ASCII characters (percent-encode them), got %s",
                                    quote(k, v, q, sizeof(q)));
        if (!authority_is_valid(rest, strcspn(rest, "/?#")))
                return reason_set(reason, size, -EINVAL, "must name a valid host (and port) after the scheme, got %s",
                            quote(k, v, q, sizeof(q)));
        return 0;
}

static int validate_path(const SchemaKey *k, const char *v, char *reason, size_t size) {
        char q[64];

        if (*v == '\0')
                return 0;
        if (*v != '/')
                return reason_set(reason, size, -EINVAL, "must be an absolute path, got %s", quote(k, v, q, sizeof(q)));
        if (strlen(v) >= PATH_MAX)
                return reason_set(reason, size, -ERANGE, "must be shorter than %d bytes", PATH_MAX);
        if (!utf8_is_valid_n(v, strlen(v)) || has_control(v))
                return reason_set(reason, size, -EINVAL, "must be valid UTF-8 without control characters");
        return 0;
}

static int validate_type(const SchemaKey *k, char *v, char *reason, size_t size) {
        char q[64];

        switch (k->type) {
        case SCHEMA_STRING:
                return validate_string(k, v, reason, size);
        case SCHEMA_BOOL:
                if (streq(v, "0") || streq(v, "1"))
                        return 0;
                return reason_set(reason, size, -EINVAL, "must be 0 or 1, got %s", quote(k, v, q, sizeof(q)));
        case SCHEMA_INT:
                return validate_int(k, v, reason, size);
        case SCHEMA_ENUM:
                return validate_enum(k, v, reason, size);
        case SCHEMA_HOST:
                return validate_host(k, v, reason, size);
        case SCHEMA_URL:
                return validate_url(k, v, reason, size);
        case SCHEMA_PATH:
                return validate_path(k, v, reason, size);
        }
        return reason_set(reason, size, -EINVAL, "unknown type");
}

int schema_validate(const SchemaKey *k, const char *value, char **ret_normalised, char *reason,
                    size_t reason_size) {
        if (!k || !value)
                return reason_set(reason, reason_size, -EINVAL, "no value");

        size_t len = strlen(value);
        while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
                len--;
        while (len > 0 && (*value == ' ' || *value == '\t')) {
                value++;
                len--;
        }
        _cleanup_(erase_and_freep) char *v = strndup(value, len);
        if (!v)
                return reason_set(reason, reason_size, -ENOMEM, "out of memory");

        int r = validate_type(k, v, reason, reason_size);
        if (k->check && (r >= 0 || r == -ERANGE)) {
                /* Its reason says more than "too long" ("must be 16 or 32 characters"). */
                int q = k->check(v, reason, reason_size);
                if (q < 0)
                        return q;
        }
        if (r < 0)
                return r;
        if (ret_normalised)
                *ret_normalised = TAKE_PTR(v);
        return 0;
}

/* ---- Extra checks ---- */

static int check_key_length(const char *v, size_t a, size_t b, char *reason, size_t size) {
        size_t len = strlen(v);

        if (len == 0)
                return 0;
        for (const char *c = v; *c; c++)
                if (*c <= 0x20 || *c >= 0x7f)
                        return reason_set(reason, size, -EINVAL, "must be printable ASCII without spaces");
        if (len != a && len != b) {
                if (a == b)
                        return reason_set(reason, size, -EINVAL, "must be %zu characters long, got %zu", a, len);
                return reason_set(reason, size, -EINVAL, "must be %zu or %zu characters long, got %zu", a, b, len);
        }
        return 0;
}

int schema_check_aes_key_16(char *value, char *reason, size_t size) {
        return check_key_length(value, 16, 16, reason, size);
}

int schema_check_aes_key(char *value, char *reason, size_t size) {
        return check_key_length(value, 16, 32, reason, size);
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* 12 hex digits, optionally in pairs separated by ':' or '-'; normalised to lower case, no separators. */
int schema_check_mac(char *value, char *reason, size_t size) {
        char out[13];
        size_t n = 0;

        if (*value == '\0')
                return 0;
        for (const char *c = value; *c; c++) {
                if ((*c == ':' || *c == '-') && n % 2 == 0 && n > 0 && n < 12 && hex_value(c[-1]) >= 0 &&
                    c[1] != '\0')
                        continue;
                if (hex_value(*c) < 0 || n >= 12)
                        return reason_set(reason, size, -EINVAL, "must be a MAC address, 12 hex digits (e.g. 001565aabbcc)");
                out[n++] = "0123456789abcdef"[hex_value(*c)];
        }
        if (n != 12)
                return reason_set(reason, size, -EINVAL, "must be a MAC address, 12 hex digits (e.g. 001565aabbcc)");
        memcpy(value, out, n);
        value[n] = '\0';
        return 0;
}

static bool all_digits(const char *s) {
        if (*s == '\0')
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

int schema_check_model_id(char *value, char *reason, size_t size) {
        size_t len = strlen(value);

        if ((len != 2 && len != 3) || !all_digits(value))
                return reason_set(reason, size, -EINVAL, "must be 2 or 3 digits (e.g. 66 for a T46S)");
        return 0;
}

int schema_check_time(char *value, char *reason, size_t size) {
        static const unsigned digits[] = { 0, 1, 3, 4 };

        if (strlen(value) != 5 || value[2] != ':')
                goto bad;
        for (size_t i = 0; i < ELEMENTSOF(digits); i++)
                if (value[digits[i]] < '0' || value[digits[i]] > '9')
                        goto bad;
        if ((value[0] - '0') * 10 + (value[1] - '0') > 23 || value[3] > '5')
                goto bad;
        return 0;
bad:
        return reason_set(reason, size, -EINVAL, "must be a time HH:MM from 00:00 to 23:59");
}

int schema_check_dayofweek(char *value, char *reason, size_t size) {
        bool seen[7] = {};

        for (const char *c = value; *c; c++) {
                if (*c < '0' || *c > '6' || seen[*c - '0'])
                        return reason_set(reason, size, -EINVAL,
                                    "must be digits 0 (Sunday) to 6 (Saturday), each at most once, e.g. 12345");
                seen[*c - '0'] = true;
        }
        return 0;
}

int schema_check_dhcp_options(char *value, char *reason, size_t size) {
        for (const char *c = value; *c;) {
                size_t len = strcspn(c, ",");
                char buf[8];
                unsigned v;

                if (len == 0 || len >= sizeof(buf))
                        goto bad;
                memcpy(buf, c, len);
                buf[len] = '\0';
                if (safe_atou(buf, &v) < 0 || v < 128 || v > 254)
                        goto bad;
                c += len;
                if (*c == ',' && *++c == '\0')
                        goto bad;
        }
        return 0;
bad:
        return reason_set(reason, size, -EINVAL, "must be DHCP option numbers 128 to 254 separated by commas, e.g. 128,160");
}

int schema_check_board(char *value, char *reason, size_t size) {
        if (*value == '\0')
                return reason_set(reason, size, -EINVAL, "must name a board in hw/, e.g. desktop");
        for (const char *c = value; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
                        return reason_set(reason, size, -EINVAL, "must be a board name of a-z, 0-9, '-' and '_'");
        return 0;
}

/* ---- Documentation ---- */

typedef struct Section {
        const char *title;
        const char *intro;
        const char *prefixes[5];
} Section;

static const Section sections[] = {
        { "Accounts", "N is the account, 1 to 16; M is the SIP server of the account, 1 or 2.", { "account." } },
        { "SIP and calls", NULL, { "sip.", "features.", "call_waiting." } },
        { "Voice and media", NULL, { "voice.", "static.network.port.", "deskphone.audio." } },
        { "Security and certificates",
          "The same trusted-CA rules apply to SIP over TLS (sipd) and to HTTPS provisioning (provd).",
          { "static.security.", "static.trusted_certificates.", "static.server_certificates.",
            "deskphone.security." } },
        { "Auto provisioning",
          "Files are fetched in Yealink's order: <mac>.boot, y000000000000.boot, else y0000000000<model_id>.cfg "
          "then <mac>.cfg.",
          { "static.auto_provision.", "auto_provision.", "deskphone.provision.", "deskphone.model_id",
            "deskphone.mac" } },
        { "Device and logging", NULL, { "deskphone." } },
        { "Other", NULL, { "" } },
};

static size_t section_of(const SchemaKey *k) {
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                for (size_t j = 0; j < ELEMENTSOF(sections[i].prefixes) && sections[i].prefixes[j]; j++)
                        if (startswith(k->pattern, sections[i].prefixes[j]))
                                return i;
        return ELEMENTSOF(sections) - 1;
}

/* Text in a table cell or paragraph: '|' and '<' escaped, ',' spaced, never a line break. */
static void md_text(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '|':
                case '<':
                        fputc('\\', f);
                        fputc(*s, f);
                        break;
                case ',':
                        fputs(s[1] == ' ' ? "," : ", ", f);
                        break;
                case '\n':
                        fputc(' ', f);
                        break;
                default:
                        fputc(*s, f);
                }
}

static void md_cell(FILE *f, const char *s) {
        fputc(' ', f);
        md_text(f, s);
        fputs(" |", f);
}

static void md_values(const SchemaKey *k, char *buf, size_t size) {
        switch (k->type) {
        case SCHEMA_STRING:
                snprintf(buf, size, "up to %ld bytes", k->max);
                return;
        case SCHEMA_BOOL:
                snprintf(buf, size, "0, 1");
                return;
        case SCHEMA_INT:
                snprintf(buf, size, "%ld..%ld", k->min, k->max);
                return;
        case SCHEMA_ENUM:
                choices_to_text(k->choices, buf, size);
                return;
        case SCHEMA_HOST:
                snprintf(buf, size, "host name, IPv4 or IPv6 address");
                return;
        case SCHEMA_URL:
                snprintf(buf, size, "http, https, ftp or tftp URL");
                return;
        case SCHEMA_PATH:
                snprintf(buf, size, "absolute path");
                return;
        }
        buf[0] = '\0';
}

static void md_row(FILE *f, const SchemaKey *k) {
        char buf[256];

        fprintf(f, "| `%s` |", k->pattern);
        md_cell(f, schema_type_to_string(k->type));
        if (*k->default_value)
                fprintf(f, " `%s` |", k->default_value);
        else
                md_cell(f, "(empty)");
        md_values(k, buf, sizeof(buf));
        md_cell(f, buf);
        if (k->secret && k->reader)
                snprintf(buf, sizeof(buf), "yes (clear to %s)", k->reader);
        else if (k->secret)
                snprintf(buf, sizeof(buf), "yes (provd only)");
        md_cell(f, k->secret ? buf : "");
        md_cell(f, k->users);
        md_cell(f, k->description);
        fputc('\n', f);
}

static const char md_header[] =
        "<!-- SPDX-License-Identifier: LGPL-2.1-or-later -->\n"
        "<!-- Generated by gen-config-keys from services/provd/schema.c: do not edit.\n"
        "     Regenerate: build/services/provd/gen-config-keys > doc/config-keys.md -->\n"
        "\n"
        "# Configuration keys\n"
        "\n"
        "Every key the phone honours, with its type, default and range. Files use\n"
        "Yealink's format (`#!version:1.0.0.1`, then `key = value` lines) and Yealink's\n"
        "key names; keys Yealink lacks live under `deskphone.`. Keys the phone does not\n"
        "know are skipped when a file is imported or provisioned, as a Yealink phone\n"
        "skips them; a known key with a bad value refuses the whole file.\n"
        "\n"
        "- The effective value comes from layers, the later winning: these defaults <\n"
        "  the site file < the provisioned common file < the provisioned MAC file <\n"
        "  local changes (phonectl, the phone's UI).\n"
        "- `key =` with no value leaves the key alone; `key = %NULL%` sets it to empty.\n"
        "- Secret keys read back as `********` to every D-Bus caller except the one\n"
        "  named (\"provd only\": nobody outside provd), and are never logged.\n"
        "- N and M in a key stand for an index, given in the section's text.\n";

int schema_write_markdown(FILE *f) {
        fputs(md_header, f);
        for (size_t s = 0; s < ELEMENTSOF(sections); s++) {
                bool any = false;

                for (const SchemaKey *k = schema_keys; k->pattern; k++) {
                        if (section_of(k) != s)
                                continue;
                        if (!any) {
                                fprintf(f, "\n## %s\n\n", sections[s].title);
                                if (sections[s].intro) {
                                        md_text(f, sections[s].intro);
                                        fputs("\n\n", f);
                                }
                                fputs("| Key | Type | Default | Values | Secret | Used by | Description |\n"
                                      "|---|---|---|---|---|---|---|\n", f);
                                any = true;
                        }
                        md_row(f, k);
                }
        }
        fflush(f);
        return ferror(f) ? -EIO : 0;
}
