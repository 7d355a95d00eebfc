/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of provisioning: URLs, MACs, .boot files, DHCP leases, layers, windows. */
#include <dirent.h>
#include <stdarg.h>
#include <strings.h>

#include "provision-files.h"
#include "schema.h"
#include "util.h"

#define URL_MAX 1024U
#define DHCP_VALUE_MAX 1024U

/* ---- URLs ---- */

/* Where the path of an absolute URL starts (the '/' after the authority), or its end. */
static const char *url_path(const char *url) {
        const char *p = strstr(url, "://");
        if (!p)
                return NULL;
        p += 3;
        return p + strcspn(p, "/?#");
}

/* Copy s, writing spaces as %20 (Yealink's boot files quote URLs with spaces). */
static char *escape_spaces(const char *prefix, size_t prefix_len, const char *s) {
        size_t n = prefix_len + 1;
        for (const char *c = s; *c; c++)
                n += *c == ' ' ? 3 : 1;
        char *out = malloc(n), *o = out;
        if (!out)
                return NULL;
        memcpy(o, prefix, prefix_len);
        o += prefix_len;
        for (const char *c = s; *c; c++)
                if (*c == ' ')
                        o = stpcpy(o, "%20");
                else
                        *o++ = *c;
        *o = '\0';
        return out;
}

int provision_url_join(const char *base, const char *name, char **ret) {
        char *u;

        if (strstr(name, "://"))
                u = escape_spaces("", 0, name);
        else if (name[0] == '/') {
                const char *p = url_path(base);
                if (!p)
                        return -EINVAL;
                u = escape_spaces(base, (size_t) (p - base), name);
        } else
                u = escape_spaces(base, strlen(base), name);
        if (!u)
                return -ENOMEM;
        if (strlen(u) > URL_MAX) {
                free(u);
                return -ENAMETOOLONG;
        }
        *ret = u;
        return 0;
}

int provision_url_directory(const char *url, char **ret) {
        size_t l = strlen(url);
        char *u = l > 0 && url[l - 1] == '/' ? strdup(url) : strjoin(url, "/", NULL);
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

char *provision_url_redact(const char *url) {
        const char *a = strstr(url, "://");
        if (!a)
                return strdup(url);
        a += 3;
        size_t auth_len = strcspn(a, "/?#");
        const char *at = NULL;
        for (const char *c = a; c < a + auth_len; c++)
                if (*c == '@')
                        at = c;
        if (!at)
                return strdup(url);
        size_t head = (size_t) (a - url);
        char *out = malloc(strlen(url) + 1);
        if (!out)
                return NULL;
        memcpy(out, url, head);
        strcpy(out + head, at + 1);
        return out;
}

int provision_url_file_name(const char *url, char **ret) {
        const char *p = url_path(url) ?: url;
        size_t end = strcspn(p, "?#");
        const char *start = p;
        for (const char *c = p; c < p + end; c++)
                if (*c == '/')
                        start = c + 1;
        char *n = strndup(start, (size_t) (p + end - start));
        if (!n)
                return -ENOMEM;
        *ret = n;
        return 0;
}

/* ---- MAC addresses ---- */

int provision_mac_normalize(const char *s, char ret[static PROVISION_MAC_LEN + 1]) {
        char mac[PROVISION_MAC_LEN + 1];
        size_t n = 0;

        for (const char *c = s; *c; c++) {
                if (*c == ':' || *c == '-' || *c == '.')
                        continue;
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F')))
                        return -EINVAL;
                if (n >= PROVISION_MAC_LEN)
                        return -EINVAL;
                mac[n++] = (char) (*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
        }
        if (n != PROVISION_MAC_LEN)
                return -EINVAL;
        mac[n] = '\0';
        memcpy(ret, mac, sizeof(mac));
        return 0;
}

void provision_mac_with_colons(const char *mac, char ret[static 18]) {
        size_t o = 0;
        for (size_t i = 0; i < PROVISION_MAC_LEN && mac[i]; i++) {
                if (i > 0 && i % 2 == 0)
                        ret[o++] = ':';
                ret[o++] = mac[i];
        }
        ret[o] = '\0';
}

static int mac_of(const char *sysfs_net, const char *name, bool need_device, char ret[static PROVISION_MAC_LEN + 1]) {
        _cleanup_(freep) char *dev = strjoin(sysfs_net, "/", name, "/device", NULL);
        _cleanup_(freep) char *addr = strjoin(sysfs_net, "/", name, "/address", NULL);
        _cleanup_(freep) char *text = NULL;

        if (!dev || !addr)
                return -ENOMEM;
        if (need_device && access(dev, F_OK) < 0)
                return -ENOENT;
        int r = read_full_file(addr, &text, NULL, 64);
        if (r < 0)
                return r;
        r = provision_mac_normalize(strstrip(text), ret);
        if (r < 0)
                return r;
        return streq(ret, "000000000000") ? -ENOENT : 0;
}

int provision_mac_from_sysfs(const char *sysfs_net, char ret[static PROVISION_MAC_LEN + 1]) {
        _cleanup_(strv_freep) char **names = NULL;
        DIR *d = opendir(sysfs_net);
        struct dirent *de;

        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && !streq(de->d_name, "lo") && strv_extend(&names, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        closedir(d);
        strv_sort(names);

        /* a real NIC first; else (containers, VMs with virtual NICs only) any with a MAC */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; names && names[i]; i++)
                        if (mac_of(sysfs_net, names[i], pass == 0, ret) >= 0)
                                return 0;
        return -ENOENT;
}

/* ---- .boot files ---- */

void boot_file_done(BootFile *b) {
        b->includes = strv_free(b->includes);
}

_printf_(4, 5) static int fail(char *reason, size_t size, int r, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(reason, size, format, ap);
        va_end(ap);
        return r;
}

/* The file of an include:config line: <file>, "url" or a bare word. */
static int include_target(char *s, char **ret) {
        char *end;

        s = strstrip(s);
        if (*s == '<' || *s == '"') {
                end = strchr(s + 1, *s == '<' ? '>' : '"');
                if (!end)
                        return -EINVAL;
                s++;
                *end = '\0';
                s = strstrip(s);
        } else
                s[strcspn(s, " \t")] = '\0';
        if (!*s)
                return -EINVAL;
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return -EINVAL;
        *ret = s;
        return 0;
}

static int boot_line(char *line, unsigned n, BootFile *b, char *reason, size_t size) {
        const char *rest;
        char *file;

        line = strstrip(line);
        if (!*line || *line == '#' || *line == ';')
                return 0;
        rest = startswith(line, "include:config");
        if (rest) {
                if (include_target((char *) rest, &file) < 0)
                        return fail(reason, size, -EINVAL, "line %u: include:config needs <file> or \"url\"", n);
                if (strv_length(b->includes) >= PROVISION_INCLUDES_MAX)
                        return fail(reason, size, -E2BIG, "line %u: more than %u include:config lines", n,
                                    PROVISION_INCLUDES_MAX);
                return strv_extend(&b->includes, file);
        }
        char *eq = strchr(line, '=');
        if (eq) {
                *eq = '\0';
                if (streq(strstrip(line), "overwrite_mode"))
                        b->overwrite = streq(strstrip(eq + 1), "1");
        }
        return 0; /* other settings (specific_model.excluded_mode, ...) are not ours */
}

int boot_file_parse(const char *text, size_t size, BootFile *ret, char *reason, size_t reason_size) {
        _cleanup_(boot_file_done) BootFile b = {};
        char line[CFG_LINE_MAX + 1];
        size_t i = 0;
        unsigned n = 0;

        while (i < size) {
                size_t l = 0;
                n++;
                while (i < size && text[i] != '\n') {
                        if (l >= CFG_LINE_MAX)
                                return fail(reason, reason_size, -EINVAL, "line %u: longer than %u bytes", n,
                                            CFG_LINE_MAX);
                        if (text[i] == '\0')
                                return fail(reason, reason_size, -EINVAL, "line %u: NUL byte", n);
                        line[l++] = text[i++];
                }
                i++;
                line[l] = '\0';
                int r = boot_line(line, n, &b, reason, reason_size);
                if (r < 0)
                        return r;
        }
        *ret = b;
        b = (BootFile) {};
        return 0;
}

/* ---- DHCP leases ---- */

int dhcp_parse_option_list(const char *s, unsigned *ret, size_t max, size_t *ret_n) {
        size_t n = 0;

        while (s && *s) {
                char *end;
                errno = 0;
                unsigned long v = strtoul(s, &end, 10);
                if (errno || end == s || v < 128 || v > 254 || n >= max)
                        return -EINVAL;
                ret[n++] = (unsigned) v;
                s = end;
                while (*s == ',' || *s == ' ')
                        s++;
        }
        *ret_n = n;
        return 0;
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

/* "68:74:74:70" (dhclient) or "68747470" (networkd) -> text; -EINVAL if not printable text. */
static int hex_to_text(const char *s, size_t len, char **ret) {
        _cleanup_(freep) char *out = malloc(len / 2 + 1);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len;) {
                if (s[i] == ':') {
                        i++;
                        continue;
                }
                int hi = hex_value(s[i]);
                /* dhclient writes a byte below 0x10 as one digit */
                bool one = i + 1 >= len || s[i + 1] == ':';
                int lo = one ? 0 : hex_value(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[n++] = (char) (one ? hi : hi * 16 + lo);
                i += one ? 1 : 2;
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* dhclient's "quoted \"string\"" with octal escapes -> text. */
static int unquote(const char *s, size_t len, char **ret) {
        _cleanup_(freep) char *out = malloc(len + 1);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 1; i + 1 < len; i++) {
                if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3') {
                        out[n++] = (char) ((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                        i += 3;
                } else if (s[i] == '\\' && i + 2 < len)
                        out[n++] = s[++i];
                else
                        out[n++] = s[i];
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* A URL from an option's text: trimmed, printable, no spaces; "host" -> "tftp://host/". */
static int option_url(const char *text, char **ret) {
        _cleanup_(freep) char *t = strdup(text);
        if (!t)
                return -ENOMEM;
        char *s = strstrip(t);
        size_t l = strlen(s);
        if (l == 0 || l > DHCP_VALUE_MAX)
                return -EINVAL;
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
                        return -EINVAL;
        char *u = strstr(s, "://") ? strdup(s) : strjoin("tftp://", s, "/", NULL);
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

/* Option number -> the value text, from a dhclient or networkd lease. */
typedef struct LeaseOptions {
        char *values[256];
} LeaseOptions;

static void lease_options_done(LeaseOptions *o) {
        for (size_t i = 0; i < ELEMENTSOF(o->values); i++)
                free(o->values[i]);
}

static int lease_set(LeaseOptions *o, unsigned code, const char *v, size_t len, bool quoted) {
        char *text = NULL;
        int r = quoted ? unquote(v, len, &text) : hex_to_text(v, len, &text);
        if (r == -EINVAL)
                return 0; /* not text: not a URL either */
        if (r < 0)
                return r;
        free(o->values[code]);
        o->values[code] = text;
        return 0;
}

/* One "option NAME VALUE" statement of dhclient's last lease block. */
static int dhclient_statement(LeaseOptions *o, const char *s, size_t len) {
        static const struct {
                const char *name;
                unsigned code;
        } names[] = {
                { "tftp-server-name", 66 },
                { "vendor-encapsulated-options", 43 },
        };
        const char *p = s, *end = s + len;
        unsigned code = 0;

        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                p++;
        if ((size_t) (end - p) < 7 || strncmp(p, "option ", 7) != 0)
                return 0;
        p += 7;
        size_t nl = strcspn(p, " \t");
        if (p + nl >= end)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i].name) == nl && strncmp(p, names[i].name, nl) == 0)
                        code = names[i].code;
        if (nl > 8 && strncmp(p, "unknown-", 8) == 0)
                code = (unsigned) strtoul(p + 8, NULL, 10);
        if (code == 0 || code > 255)
                return 0;
        p += nl;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
                end--;
        if (end - p < 1)
                return 0;
        return lease_set(o, code, p, (size_t) (end - p), *p == '"' && end[-1] == '"' && end - p >= 2);
}

static int dhclient_parse(const char *text, size_t size, LeaseOptions *o) {
        const char *block = NULL;

        /* the last lease is the newest */
        for (const char *p = text; p && p < text + size; p++) {
                p = strstr(p, "lease {");
                if (!p)
                        break;
                block = p;
        }
        if (!block)
                return -ENOENT;
        block += 7;
        const char *close = strchr(block, '}');
        const char *end = close ?: text + size;
        while (block < end) {
                /* statements end with ';' outside quotes */
                const char *s = block;
                bool q = false;
                while (block < end && (q || *block != ';')) {
                        if (*block == '"' && (block == s || block[-1] != '\\'))
                                q = !q;
                        block++;
                }
                int r = dhclient_statement(o, s, (size_t) (block - s));
                if (r < 0)
                        return r;
                block++;
        }
        return 0;
}

static int networkd_parse(const char *text, size_t size, LeaseOptions *o) {
        const char *p = text, *end = text + size;

        while (p < end) {
                size_t l = strcspn(p, "\n");
                const char *v;
                unsigned code = 0;
                if ((v = startswith(p, "VENDOR_SPECIFIC=")))
                        code = 43;
                else if ((v = startswith(p, "OPTION_"))) {
                        char *e;
                        code = (unsigned) strtoul(v, &e, 10);
                        v = *e == '=' ? e + 1 : NULL;
                }
                if (v && code > 0 && code < 256 && v <= p + l) {
                        int r = lease_set(o, code, v, (size_t) (p + l - v), false);
                        if (r < 0)
                                return r;
                }
                p += l + 1;
        }
        return 0;
}

int dhcp_lease_find_url(const char *text, size_t size, const unsigned *custom, size_t n_custom, char **ret) {
        _cleanup_(lease_options_done) LeaseOptions o = {};
        int r;

        if (memchr(text, '\0', size) || text[size] != '\0')
                return -EINVAL;
        r = strstr(text, "lease {") ? dhclient_parse(text, size, &o) : networkd_parse(text, size, &o);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_custom; i++)
                if (custom[i] < 256 && o.values[custom[i]] && option_url(o.values[custom[i]], ret) >= 0)
                        return 0;
        if (o.values[66] && option_url(o.values[66], ret) >= 0)
                return 0;
        if (o.values[43] && option_url(o.values[43], ret) >= 0)
                return 0;
        return -ENOENT;
}

/* ---- composing layers ---- */

static void error_set(CfgError *e, const char *file, unsigned line, const char *key, const char *reason) {
        *e = (CfgError) { .line = line };
        snprintf(e->file, sizeof(e->file), "%s", strempty(file));
        snprintf(e->reason, sizeof(e->reason), "%s: %s", key, reason);
}

static bool entry_leaves_alone(const CfgEntry *e, const SchemaKey *k) {
        return (e->flags & CFG_ENTRY_IGNORED) || (k->secret && streq(e->value, SCHEMA_MASK));
}

int provision_validate(const CfgFile *f, CfgError *error) {
        char reason[sizeof(error->reason)];

        for (size_t i = 0; i < f->n_entries; i++) {
                const CfgEntry *e = &f->entries[i];
                const SchemaKey *k = schema_find(e->key);
                if (!k || entry_leaves_alone(e, k))
                        continue;
                reason[0] = '\0';
                int r = schema_validate(k, e->value, NULL, reason, sizeof(reason));
                if (r < 0) {
                        error_set(error, f->name, e->line, e->key, reason[0] ? reason : strerror(-r));
                        return r;
                }
        }
        return 0;
}

typedef struct Item {
        const char *key;
        const char *value;
        size_t seq;
} Item;

static int item_compare(const void *a, const void *b) {
        const Item *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        if (c != 0)
                return c;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t count_entries(const ProvisionLayer *l) {
        size_t n = l->base ? l->base->n_entries : 0;
        for (size_t i = 0; i < l->n_files; i++)
                n += l->files[i] ? l->files[i]->n_entries : 0;
        return n;
}

static size_t collect(const ProvisionLayer *l, Item *items) {
        size_t n = 0;

        for (size_t i = 0; l->base && i < l->base->n_entries; i++) {
                const CfgEntry *e = &l->base->entries[i];
                if ((e->flags & CFG_ENTRY_IGNORED) || !schema_find(e->key) ||
                    (l->keep_static_only && !startswith(e->key, "static.")))
                        continue;
                items[n] = (Item) { e->key, e->value, n };
                n++;
        }
        for (size_t f = 0; f < l->n_files; f++)
                for (size_t i = 0; l->files[f] && i < l->files[f]->n_entries; i++) {
                        const CfgEntry *e = &l->files[f]->entries[i];
                        const SchemaKey *k = schema_find(e->key);
                        if (!k || entry_leaves_alone(e, k))
                                continue;
                        items[n] = (Item) { e->key, e->value, n };
                        n++;
                }
        return n;
}

int provision_compose(const ProvisionLayer *l, char **ret, size_t *ret_size) {
        size_t total = count_entries(l), n, m = 0;
        _cleanup_(freep) Item *items = calloc(total + 1, sizeof(Item));
        _cleanup_(freep) char **keys = calloc(total + 1, sizeof(char *));
        _cleanup_(freep) char **values = calloc(total + 1, sizeof(char *));

        if (!items || !keys || !values)
                return -ENOMEM;
        n = collect(l, items);
        qsort(items, n, sizeof(Item), item_compare);
        for (size_t i = 0; i < n; i++) {
                if (i + 1 < n && streq(items[i].key, items[i + 1].key))
                        continue; /* a later one wins */
                keys[m] = (char *) items[i].key;
                values[m] = (char *) items[i].value;
                m++;
        }
        return cfg_format(keys, values, ret, ret_size);
}

/* ---- the weekly window ---- */

static int parse_hhmm(const char *s, int *ret) {
        unsigned h, m;
        char extra;

        if (sscanf(s, "%u:%u%c", &h, &m, &extra) != 2 || h > 23 || m > 59)
                return -EINVAL;
        *ret = (int) (h * 60 + m);
        return 0;
}

/* Local time of day d (0 today) at minute, as time_t. */
static time_t at(const struct tm *today, int d, int minute) {
        struct tm t = *today;
        t.tm_mday += d;
        t.tm_hour = minute / 60;
        t.tm_min = minute % 60;
        t.tm_sec = 0;
        t.tm_isdst = -1;
        return mktime(&t);
}

int provision_weekly_next(time_t now, const char *days, const char *begin, const char *end,
                          time_t *ret_start, time_t *ret_end) {
        struct tm today;
        int b, e;

        if (parse_hhmm(begin, &b) < 0 || parse_hhmm(end, &e) < 0 || !days || !*days)
                return -EINVAL;
        if (!localtime_r(&now, &today))
                return -EINVAL;
        int length = e > b ? e - b : 24 * 60 - b + e; /* equal: the whole day */
        /* yesterday's window may run past midnight */
        for (int d = -1; d <= 7; d++) {
                int wday = ((today.tm_wday + d) % 7 + 7) % 7;
                if (!strchr(days, '0' + wday))
                        continue;
                time_t s = at(&today, d, b), t = at(&today, d, b + length);
                if (t <= now)
                        continue;
                *ret_start = s > now ? s : now;
                *ret_end = t;
                return 0;
        }
        return -ENOENT;
}
