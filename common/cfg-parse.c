/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdarg.h>

#include "cfg-parse.h"
#include "util.h"

#define UTF8_BOM "\xef\xbb\xbf"
#define VERSION_HEADER "#!version:"
#define VERSION_MAX 64
#define SNIPPET_MAX 40

typedef struct Parser {
        const char *name;
        CfgFile *file;
        size_t n_allocated;
        CfgErrorCallback on_error;
        void *userdata;
        unsigned n_errors;
        bool stop_at_first;
        CfgError first;
} Parser;

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool is_key_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
}

/* Trim spaces and tabs from both ends of [*s, *s + *len). */
static void strip_blanks(const char **s, size_t *len) {
        while (*len > 0 && is_blank(**s)) {
                (*s)++;
                (*len)--;
        }
        while (*len > 0 && is_blank((*s)[*len - 1]))
                (*len)--;
}

/* Copy at most max bytes of s for a message: printable ASCII as is, the rest as \xNN. */
static void snippet(char *buf, size_t size, const char *s, size_t len, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < MIN(len, max) && n + 5 < size; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c >= 0x20 && c < 0x7f)
                        buf[n++] = (char) c;
                else
                        n += (size_t) snprintf(buf + n, size - n, "\\x%02x", c);
        }
        if (len > max && n + 4 < size)
                n += (size_t) snprintf(buf + n, size - n, "...");
        buf[MIN(n, size - 1)] = '\0';
}

static void error_fill(CfgError *e, const char *name, unsigned line, const char *format, va_list ap)
        _printf_(4, 0);
static void error_fill(CfgError *e, const char *name, unsigned line, const char *format, va_list ap) {
        *e = (CfgError) { .line = line };
        snprintf(e->file, sizeof(e->file), "%s", name ?: "<input>");
        vsnprintf(e->reason, sizeof(e->reason), format, ap);
}

static void cfg_error_set(CfgError *e, const char *name, unsigned line, const char *format, ...)
        _printf_(4, 5);
static void cfg_error_set(CfgError *e, const char *name, unsigned line, const char *format, ...) {
        va_list ap;

        if (!e)
                return;
        va_start(ap, format);
        error_fill(e, name, line, format, ap);
        va_end(ap);
}

/* Report a bad line. Returns -EINVAL when parsing must stop, 0 to go on with the next line. */
static int parser_error(Parser *p, unsigned line, const char *format, ...) _printf_(3, 4);
static int parser_error(Parser *p, unsigned line, const char *format, ...) {
        CfgError e;
        va_list ap;

        va_start(ap, format);
        error_fill(&e, p->name, line, format, ap);
        va_end(ap);

        if (p->n_errors++ == 0)
                p->first = e;
        if (p->on_error)
                p->on_error(&e, p->userdata);
        return p->stop_at_first ? -EINVAL : 0;
}

static int parser_add(Parser *p, unsigned line, const char *key, size_t key_len, const char *value,
                      size_t value_len, unsigned flags) {
        CfgFile *f = p->file;

        if (f->n_entries >= CFG_ENTRIES_MAX) {
                (void) parser_error(p, line, "too many entries (more than %u)", CFG_ENTRIES_MAX);
                return -E2BIG;
        }
        if (f->n_entries == p->n_allocated) {
                size_t n = MAX(p->n_allocated * 2, (size_t) 64);
                CfgEntry *e = realloc(f->entries, n * sizeof(CfgEntry));
                if (!e)
                        return -ENOMEM;
                f->entries = e;
                p->n_allocated = n;
        }

        _cleanup_(freep) char *k = strndup(key, key_len);
        if (!k)
                return -ENOMEM;
        char *v = strndup(value, value_len);
        if (!v)
                return -ENOMEM;

        f->entries[f->n_entries++] = (CfgEntry) {
                .key = TAKE_PTR(k),
                .value = v,
                .line = line,
                .flags = flags,
        };
        return 0;
}

static bool version_is_valid(const char *v, size_t len) {
        if (len > VERSION_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) v[i] <= 0x20 || (unsigned char) v[i] >= 0x7f)
                        return false;
        return true;
}

static int parse_header(Parser *p, unsigned line, const char *s, size_t len) {
        char buf[SNIPPET_MAX * 4 + 8];

        if (len >= strlen(VERSION_HEADER) && memcmp(s, VERSION_HEADER, strlen(VERSION_HEADER)) == 0) {
                const char *v = s + strlen(VERSION_HEADER);
                size_t vl = len - strlen(VERSION_HEADER);

                if (line != 1)
                        return parser_error(p, line, "'#!version:' header must be the first line");
                strip_blanks(&v, &vl);
                if (!version_is_valid(v, vl)) {
                        snippet(buf, sizeof(buf), v, vl, SNIPPET_MAX);
                        return parser_error(p, line, "invalid version '%s' in '#!version:' header", buf);
                }
                free(p->file->version);
                p->file->version = strndup(v, vl);
                return p->file->version ? 0 : -ENOMEM;
        }

        snippet(buf, sizeof(buf), s, len, SNIPPET_MAX);
        if (len >= 9 && (memcmp(s, "#!encrypt", 9) == 0 || memcmp(s, "#!key_cip", 9) == 0))
                return parser_error(p, line, "encrypted file header '%s': decrypt the file first", buf);
        return parser_error(p, line, "unsupported header line '%s'", buf);
}

/* NUL or control characters other than tab: not text at all. */
static bool is_binary(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
                        return true;
        return false;
}

static bool key_is_valid_n(const char *k, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_key_char(k[i]))
                        return false;
        return true;
}

/* A line that is not "key = value" with a good key: say why. */
static int bad_line(Parser *p, unsigned line, const char *s, size_t len, const char *eq) {
        char buf[SNIPPET_MAX * 4 + 8], c[8];

        if (is_binary(s, len))
                return parser_error(p, line, "binary data, not 'key = value' text (an encrypted file?)");
        if (!eq && s[0] == '[' && s[len - 1] == ']') {
                snippet(buf, sizeof(buf), s, len, SNIPPET_MAX);
                return parser_error(p, line, "legacy INI section '%s' (pre-v70 format) is not supported", buf);
        }
        if (!eq)
                return parser_error(p, line, "expected 'key = value'");

        size_t key_len = (size_t) (eq - s);
        strip_blanks(&s, &key_len);
        if (key_len == 0)
                return parser_error(p, line, "empty key before '='");
        size_t i = 0;
        while (i < key_len && is_key_char(s[i]))
                i++;
        snippet(c, sizeof(c), s + i, 1, 1);
        snippet(buf, sizeof(buf), s, key_len, SNIPPET_MAX);
        return parser_error(p, line, "invalid character '%s' in key '%s' (allowed: A-Z a-z 0-9 . _ -)", c, buf);
}

static int parse_value(Parser *p, unsigned line, const char *key, size_t key_len, const char *value,
                       size_t value_len) {
        char buf[SNIPPET_MAX * 4 + 8];
        const char *why = NULL;

        strip_blanks(&value, &value_len);
        if (memchr(value, '\0', value_len))
                why = "NUL byte in value of";
        else if (memchr(value, '\r', value_len))
                why = "carriage return (only LF or CRLF line ends) in value of";
        else if (!utf8_is_valid_n(value, value_len))
                why = "invalid UTF-8 in value of";
        if (why) {
                snippet(buf, sizeof(buf), key, key_len, SNIPPET_MAX);
                return parser_error(p, line, "%s '%s'", why, buf);
        }

        unsigned flags = 0;
        if (value_len == 0)
                flags = CFG_ENTRY_IGNORED;
        else if (value_len == strlen(CFG_NULL_VALUE) && memcmp(value, CFG_NULL_VALUE, value_len) == 0) {
                flags = CFG_ENTRY_NULL;
                value_len = 0;
        }
        return parser_add(p, line, key, key_len, value, value_len, flags);
}

static int parse_line(Parser *p, unsigned line, const char *s, size_t len) {
        if (len > CFG_LINE_MAX)
                return parser_error(p, line, "line too long (%zu bytes, at most %u)", len, CFG_LINE_MAX);

        strip_blanks(&s, &len);
        if (len == 0)
                return 0;
        if (len >= 2 && s[0] == '#' && s[1] == '!')
                return parse_header(p, line, s, len);
        if (s[0] == '#' || s[0] == ';')
                return 0; /* comments may hold any bytes */

        const char *eq = memchr(s, '=', len);
        const char *key = s;
        size_t key_len = eq ? (size_t) (eq - s) : 0;
        strip_blanks(&key, &key_len);
        if (!eq || !key_is_valid_n(key, key_len))
                return bad_line(p, line, s, len, eq);
        return parse_value(p, line, key, key_len, eq + 1, (size_t) (s + len - eq - 1));
}

static int parse_all(Parser *p, const char *data, size_t size) {
        const char *s = data, *end = data + size;
        unsigned line = 0;

        if (size >= strlen(UTF8_BOM) && memcmp(s, UTF8_BOM, strlen(UTF8_BOM)) == 0)
                s += strlen(UTF8_BOM);
        while (end > s && end[-1] == '\0') /* padding of a decrypted file */
                end--;

        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                size_t len = (size_t) ((nl ?: end) - s);

                if (line == UINT_MAX) {
                        (void) parser_error(p, line, "too many lines");
                        return -E2BIG;
                }
                line++;
                if (len > 0 && s[len - 1] == '\r')
                        len--;

                int r = parse_line(p, line, s, len);
                if (r < 0)
                        return r;
                if (!nl)
                        break;
                s = nl + 1;
        }
        return 0;
}

static int parser_run(Parser *p, const char *data, size_t size, CfgFile **ret) {
        _cleanup_(cfg_file_freep) CfgFile *f = calloc(1, sizeof(CfgFile));
        if (!f)
                return -ENOMEM;
        f->name = strdup(p->name ?: "<input>");
        if (!f->name)
                return -ENOMEM;
        p->file = f;

        int r = parse_all(p, data ?: "", data ? size : 0);
        p->file = NULL;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

int cfg_parse(const char *name, const char *data, size_t size, CfgFile **ret, CfgError *ret_error) {
        Parser p = { .name = name, .stop_at_first = true };
        CfgFile *f;

        int r = parser_run(&p, data, size, &f);
        if (r < 0) {
                if (p.n_errors > 0) {
                        if (ret_error)
                                *ret_error = p.first;
                } else
                        cfg_error_set(ret_error, name, 0, "%s", strerror(-r));
                return r;
        }
        *ret = f;
        return 0;
}

int cfg_parse_collect(const char *name, const char *data, size_t size, CfgErrorCallback on_error,
                      void *userdata, CfgFile **ret) {
        Parser p = { .name = name, .on_error = on_error, .userdata = userdata };
        CfgFile *f;

        int r = parser_run(&p, data, size, &f);
        if (r < 0)
                return r;
        *ret = f;
        return (int) MIN(p.n_errors, (unsigned) INT_MAX);
}

int cfg_parse_file(const char *path, CfgFile **ret, CfgError *ret_error) {
        _cleanup_(freep) char *data = NULL;
        size_t size;

        int r = read_full_file(path, &data, &size, CFG_FILE_MAX);
        if (r == -EFBIG) {
                cfg_error_set(ret_error, path, 0, "file too large (more than %u bytes)", CFG_FILE_MAX);
                return r;
        }
        if (r < 0) {
                cfg_error_set(ret_error, path, 0, "cannot read file: %s", strerror(-r));
                return r;
        }

        r = cfg_parse(path, data, size, ret, ret_error);
        explicit_bzero(data, size); /* it may hold passwords */
        return r;
}

CfgFile *cfg_file_free(CfgFile *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_entries; i++) {
                free(f->entries[i].key);
                erase_and_free(f->entries[i].value);
        }
        free(f->entries);
        free(f->version);
        free(f->name);
        free(f);
        return NULL;
}

const char *cfg_file_get(const CfgFile *f, const char *key) {
        if (!f || !key)
                return NULL;
        for (size_t i = f->n_entries; i > 0; i--) {
                const CfgEntry *e = &f->entries[i - 1];
                if (!(e->flags & CFG_ENTRY_IGNORED) && streq(e->key, key))
                        return e->value;
        }
        return NULL;
}

void cfg_error_format(const CfgError *e, char *buf, size_t size) {
        if (!buf || size == 0)
                return;
        if (e->line > 0)
                snprintf(buf, size, "%s:%u: %s", e->file, e->line, e->reason);
        else
                snprintf(buf, size, "%s: %s", e->file, e->reason);
}

static bool key_is_valid(const char *k) {
        return k && key_is_valid_n(k, strlen(k));
}

int cfg_format(char * const *keys, char * const *values, char **ret, size_t *ret_size) {
        static const char header[] = VERSION_HEADER "1.0.0.1\n";
        size_t n = strv_length(keys), size = strlen(header);

        if (n > 0 && strv_length(values) < n)
                return -EINVAL;
        if (n > CFG_ENTRIES_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                if (!key_is_valid(keys[i]) || strpbrk(values[i], "\r\n"))
                        return -EINVAL;
                size_t line = strlen(keys[i]) + strlen(" = ") +
                              (*values[i] ? strlen(values[i]) : strlen(CFG_NULL_VALUE));
                if (line > CFG_LINE_MAX)
                        return -E2BIG; /* cfg_parse would refuse it */
                size += line + 1;
        }

        char *buf = malloc(size + 1), *p = buf;
        if (!buf)
                return -ENOMEM;
        p = stpcpy(p, header);
        for (size_t i = 0; i < n; i++) {
                p = stpcpy(p, keys[i]);
                p = stpcpy(p, " = ");
                p = stpcpy(p, *values[i] ? values[i] : CFG_NULL_VALUE);
                p = stpcpy(p, "\n");
        }
        *ret = buf;
        if (ret_size)
                *ret_size = (size_t) (p - buf);
        return 0;
}
