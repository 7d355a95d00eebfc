/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Yealink cfg parser: hand-written hostile inputs, then the real files of
 * ../shared/corpus/yealink (given as argv[1] or $DESKPHONE_CORPUS; those tests
 * are skipped when it is missing).
 */

#include <dirent.h>
#include <fcntl.h>
#include <regex.h>
#include <sys/stat.h>

#include "cfg-parse.h"
#include "tap.h"
#include "util.h"

#define BIN(s) .data = (s), .size = sizeof(s) - 1
#define ENTRIES(n) .n_entries = (n) + 1

typedef struct ParseCase {
        const char *name;
        const char *data;
        size_t size; /* 0: strlen(data) */
        int ret;
        unsigned line;        /* of the error */
        const char *reason;   /* expected in the error's reason */
        const char *key;      /* if set: cfg_file_get(key) must be value (NULL: absent) */
        const char *value;
        int n_entries;        /* ENTRIES(n): n entries expected; 0: not checked */
        const char *version;  /* if set, expected version */
} ParseCase;

static const ParseCase parse_cases[] = {
        { "/cfg-parse/empty", "", ENTRIES(0) },
        { "/cfg-parse/only-bom", "\xef\xbb\xbf", ENTRIES(0) },
        { "/cfg-parse/bom-then-header", "\xef\xbb\xbf#!version:1.0.0.1\na = 1\n", .key = "a", .value = "1",
          ENTRIES(1), .version = "1.0.0.1" },
        { "/cfg-parse/crlf", "#!version:1.0.0.1\r\na = 1\r\nb.c = two words\r\n\r\n", .key = "b.c",
          .value = "two words", ENTRIES(2), .version = "1.0.0.1" },
        { "/cfg-parse/no-trailing-newline", "a = 1\nlast = value", .key = "last", .value = "value",
          ENTRIES(2) },
        { "/cfg-parse/no-header", "a=1", .key = "a", .value = "1", ENTRIES(1) },
        { "/cfg-parse/blanks-around", " \t account.1.label \t=\t  My  Phone \t\n", .key = "account.1.label",
          .value = "My  Phone", ENTRIES(1) },
        { "/cfg-parse/equals-in-value", "url = http://h/p?a=b&c=d\n", .key = "url", .value = "http://h/p?a=b&c=d" },
        { "/cfg-parse/hash-in-value", "features.dtmf.transfer = #\n", .key = "features.dtmf.transfer",
          .value = "#" },
        { "/cfg-parse/repeated-key-last-wins", "a = 1\nb = x\na = 2\n", .key = "a", .value = "2",
          ENTRIES(3) },
        { "/cfg-parse/null-value", "a = 1\na = %NULL%\n", .key = "a", .value = "", ENTRIES(2) },
        { "/cfg-parse/empty-value-ignored", "a = 1\na =\n", .key = "a", .value = "1", ENTRIES(2) },
        { "/cfg-parse/empty-value-alone", "a =  \t\n", .key = "a", .value = NULL, ENTRIES(1) },
        { "/cfg-parse/absent-key", "a = 1\n", .key = "b", .value = NULL },
        { "/cfg-parse/comments", "# one\n; two\n  ## three = 3\n\t# four\n", ENTRIES(0) },
        { "/cfg-parse/version-not-first", "a = 1\n#!version:1.0.0.1\n", .ret = -EINVAL, .line = 2,
          .reason = "'#!version:' header must be the first line" },
        { "/cfg-parse/comment-any-bytes", BIN("# \xff\xfe\x80 latin1 \xe9\n; \x01\x02\na = 1\n"), .key = "a",
          .value = "1", ENTRIES(1) },
        { "/cfg-parse/comment-nul", BIN("# a\0b\na = 1\n"), .key = "a", .value = "1", ENTRIES(1) },
        { "/cfg-parse/utf8-value", "account.1.display_name = Пётр Ильич 電話\n", .key = "account.1.display_name",
          .value = "Пётр Ильич 電話" },
        { "/cfg-parse/invalid-utf8-value", "a = 1\nb = caf\xe9\n", .ret = -EINVAL, .line = 2,
          .reason = "invalid UTF-8 in value of 'b'" },
        { "/cfg-parse/overlong-utf8-value", "a = \xc0\xaf\n", .ret = -EINVAL, .line = 1,
          .reason = "invalid UTF-8 in value" },
        { "/cfg-parse/surrogate-utf8-value", "a = \xed\xa0\x80\n", .ret = -EINVAL, .line = 1,
          .reason = "invalid UTF-8 in value" },
        { "/cfg-parse/truncated-utf8-value", "a = \xe2\x82", .ret = -EINVAL, .line = 1,
          .reason = "invalid UTF-8 in value" },
        { "/cfg-parse/nul-in-value", BIN("a = x\0y\n"), .ret = -EINVAL, .line = 1, .reason = "NUL byte in value of 'a'" },
        { "/cfg-parse/nul-in-key", BIN("a\0b = 1\n"), .ret = -EINVAL, .line = 1, .reason = "binary data" },
        { "/cfg-parse/nul-padding-at-end", BIN("a = 1\n\0\0\0\0\0\0"), .key = "a", .value = "1", ENTRIES(1) },
        { "/cfg-parse/lone-cr", "a = 1\rb = 2\n", .ret = -EINVAL, .line = 1, .reason = "carriage return" },
        { "/cfg-parse/no-equals", "#!version:1.0.0.1\nhello world\n", .ret = -EINVAL, .line = 2,
          .reason = "expected 'key = value'" },
        { "/cfg-parse/empty-key", "a = 1\n = 1\n", .ret = -EINVAL, .line = 2, .reason = "empty key before '='" },
        { "/cfg-parse/key-with-space", "Enable 100Rel = 0\n", .ret = -EINVAL, .line = 1,
          .reason = "invalid character ' ' in key 'Enable 100Rel'" },
        { "/cfg-parse/key-with-brace", "account.{$n}.enable = 1\n", .ret = -EINVAL, .line = 1,
          .reason = "invalid character '{'" },
        { "/cfg-parse/key-non-ascii", "clé = 1\n", .ret = -EINVAL, .line = 1, .reason = "invalid character '\\xc3'" },
        { "/cfg-parse/key-latin1", "cl\xe9 = 1\n", .ret = -EINVAL, .line = 1, .reason = "invalid character '\\xe9'" },
        { "/cfg-parse/line-latin1", "caf\xe9\n", .ret = -EINVAL, .line = 1, .reason = "expected 'key = value'" },
        { "/cfg-parse/legacy-ini", "[ account ]\r\npath=/yealink/config/voip/sipAccount0.cfg\r\n", .ret = -EINVAL,
          .line = 1, .reason = "legacy INI section '[ account ]' (pre-v70 format) is not supported" },
        { "/cfg-parse/encrypt-header", "#!encrypt:1.0.0.0\n#!key_ciphertext:AAAA\n", .ret = -EINVAL, .line = 1,
          .reason = "encrypted file header '#!encrypt:1.0.0.0': decrypt the file first" },
        { "/cfg-parse/key-ciphertext-header", "#!key_ciphertext:AAAA\n", .ret = -EINVAL, .line = 1,
          .reason = "encrypted file header" },
        { "/cfg-parse/other-header", "#!/bin/sh\n", .ret = -EINVAL, .line = 1, .reason = "unsupported header line '#!/bin/sh'" },
        { "/cfg-parse/bad-version", "#!version:1.0 beta\n", .ret = -EINVAL, .line = 1, .reason = "invalid version" },
        { "/cfg-parse/binary-line", BIN("\xfc!\xbe\x82@\x0c\x10\xd8\xa6I\xba\x98=IJ\xc7\n"), .ret = -EINVAL,
          .line = 1, .reason = "binary data" },
        /* The RSA-mode sample's plaintext as Yealink's tool made it (corpus/yealink/rsa-mode/SOURCE.md). */
        { "/cfg-parse/rsa-mode-plaintext",
          BIN("#!version:1.0.0.1\r\n\r\nstatic.lang.gui = French\r\nlang.gui = French\r\n\0\0\0\0\0\0\0\0\0\0\0"),
          .key = "lang.gui", .value = "French", ENTRIES(2), .version = "1.0.0.1" },
        {}
};

static bool entries_are_sane(const CfgFile *f) {
        for (size_t i = 0; i < f->n_entries; i++) {
                const CfgEntry *e = &f->entries[i];
                if (!e->key || !*e->key || !e->value || e->line == 0 ||
                    strspn(e->key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(e->key) ||
                    !utf8_is_valid_n(e->value, strlen(e->value)))
                        return false;
                if ((e->flags & (CFG_ENTRY_NULL | CFG_ENTRY_IGNORED)) && *e->value)
                        return false;
        }
        return true;
}

static void run_parse_case(const ParseCase *c) {
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        size_t size = c->size ?: strlen(c->data);
        CfgError e = {};
        char msg[600];

        tap_begin(c->name);
        int r = cfg_parse("case.cfg", c->data, size, &f, &e);
        cfg_error_format(&e, msg, sizeof(msg));
        check(r == c->ret, "returned %d, expected %d (%s)", r, c->ret, msg);
        if (c->ret < 0) {
                check(!f);
                check(e.line == c->line, "error on line %u, expected %u", e.line, c->line);
                check(strstr(e.reason, c->reason), "reason '%s' lacks '%s'", e.reason, c->reason);
                check(streq(e.file, "case.cfg"), "file '%s'", e.file);
        } else if (f) {
                const char *v = c->key ? cfg_file_get(f, c->key) : NULL;
                if (c->key)
                        check(streq_ptr(v, c->value), "%s = '%s', expected '%s'", c->key, strempty(v),
                              strempty(c->value));
                if (c->n_entries > 0)
                        check(f->n_entries == (size_t) c->n_entries - 1, "%zu entries, expected %d", f->n_entries,
                              c->n_entries - 1);
                if (c->version)
                        check(streq_ptr(f->version, c->version), "version '%s'", strempty(f->version));
                check(entries_are_sane(f));
        }
        tap_end();
}

static void test_flags(void) {
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        static const char data[] = "a = 1\nb = %NULL%\nc =\nd = %NULL%x\n";

        tap_begin("/cfg-parse/entry-flags");
        check(cfg_parse("f", data, strlen(data), &f, NULL) == 0);
        if (f && check(f->n_entries == 4)) {
                check(f->entries[0].flags == 0 && f->entries[0].line == 1);
                check(f->entries[1].flags == CFG_ENTRY_NULL && streq(f->entries[1].value, ""));
                check(f->entries[2].flags == CFG_ENTRY_IGNORED && streq(f->entries[2].value, ""));
                check(f->entries[3].flags == 0 && streq(f->entries[3].value, "%NULL%x"));
                check(f->entries[3].line == 4);
                check(cfg_file_get(f, "c") == NULL);
        }
        tap_end();
}

static char *make_line(size_t value_len, const char *ending) {
        char *s = malloc(value_len + 16);
        if (!s)
                abort();
        memcpy(s, "k = ", 4);
        memset(s + 4, 'x', value_len);
        strcpy(s + 4 + value_len, ending);
        return s;
}

static void test_long_lines(void) {
        static const struct {
                const char *name;
                size_t line_len;
                const char *ending;
                int ret;
        } cases[] = {
                { "/cfg-parse/line-at-limit", CFG_LINE_MAX, "\n", 0 },
                { "/cfg-parse/line-at-limit-crlf", CFG_LINE_MAX, "\r\n", 0 },
                { "/cfg-parse/line-over-limit", CFG_LINE_MAX + 1, "\n", -EINVAL },
                { "/cfg-parse/line-1mb", 1024 * 1024, "\nnext = 1\n", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *s = make_line(cases[i].line_len - 4, cases[i].ending);
                _cleanup_(cfg_file_freep) CfgFile *f = NULL;
                CfgError e = {};

                tap_begin(cases[i].name);
                int r = cfg_parse("long", s, strlen(s), &f, &e);
                check(r == cases[i].ret, "returned %d: %s", r, e.reason);
                if (r < 0)
                        check(e.line == 1 && strstr(e.reason, "line too long"), "%u: %s", e.line, e.reason);
                else
                        check(f && strlen(cfg_file_get(f, "k")) == cases[i].line_len - 4);
                tap_end();
        }

        /* A 1 MB comment is refused as well: the limit is on lines, whatever they hold. */
        _cleanup_(freep) char *s = make_line(1024 * 1024, "\n");
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        CfgError e = {};
        s[0] = '#';
        tap_begin("/cfg-parse/comment-1mb");
        check(cfg_parse("long", s, strlen(s), &f, &e) == -EINVAL && strstr(e.reason, "line too long"));
        tap_end();
}

static void test_too_many_entries(void) {
        size_t n = CFG_ENTRIES_MAX + 1, size = n * 4;
        _cleanup_(freep) char *s = malloc(size);
        CfgError e = {};

        if (!s)
                abort();
        for (size_t i = 0; i < n; i++)
                memcpy(s + i * 4, "k=v\n", 4);

        tap_begin("/cfg-parse/entries-at-limit");
        CfgFile *f = NULL;
        check(cfg_parse("many", s, size - 4, &f, &e) == 0 && f && f->n_entries == CFG_ENTRIES_MAX);
        cfg_file_free(f);
        tap_end();

        tap_begin("/cfg-parse/entries-over-limit");
        f = NULL;
        int r = cfg_parse("many", s, size, &f, &e);
        check(r == -E2BIG && !f, "returned %d", r);
        check(e.line == CFG_ENTRIES_MAX + 1 && strstr(e.reason, "too many entries"), "%u: %s", e.line, e.reason);
        r = cfg_parse_collect("many", s, size, NULL, NULL, &f);
        check(r == -E2BIG && !f, "collect returned %d", r);
        tap_end();
}

typedef struct Collected {
        unsigned lines[16];
        unsigned n;
} Collected;

static void collect_cb(const CfgError *e, void *userdata) {
        Collected *c = userdata;
        if (c->n < ELEMENTSOF(c->lines))
                c->lines[c->n] = e->line;
        c->n++;
}

static void test_collect(void) {
        static const char data[] = "a = 1\nbad line\nb = 2\n[ x ]\n = 3\nc = \xff\nd = 4";
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        Collected c = {};

        tap_begin("/cfg-parse/collect");
        int r = cfg_parse_collect("t", data, strlen(data), collect_cb, &c, &f);
        check(r == 4, "returned %d", r);
        check(c.n == 4 && c.lines[0] == 2 && c.lines[1] == 4 && c.lines[2] == 5 && c.lines[3] == 6);
        check(f && f->n_entries == 3 && streq(f->entries[2].key, "d") && f->entries[2].line == 7);
        tap_end();

        tap_begin("/cfg-parse/collect-no-callback");
        cfg_file_free(TAKE_PTR(f));
        r = cfg_parse_collect("t", data, strlen(data), NULL, NULL, &f);
        check(r == 4 && f && f->n_entries == 3);
        tap_end();
}

static void test_error_format(void) {
        CfgError e = { .file = "y000000000066.cfg", .line = 12, .reason = "expected 'key = value'" };
        char buf[600];

        tap_begin("/cfg-parse/error-format");
        cfg_error_format(&e, buf, sizeof(buf));
        check(streq(buf, "y000000000066.cfg:12: expected 'key = value'"), "%s", buf);
        e.line = 0;
        cfg_error_format(&e, buf, sizeof(buf));
        check(streq(buf, "y000000000066.cfg: expected 'key = value'"), "%s", buf);
        cfg_error_format(&e, buf, 5);
        check(streq(buf, "y000"), "%s", buf);
        tap_end();
}

static void test_format(void) {
        char *keys[] = { "a.b", "c", "d", NULL };
        char *values[] = { "1", "", "x = y # z", NULL };
        _cleanup_(freep) char *out = NULL;
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        size_t size = 0;

        tap_begin("/cfg-format/round-trip");
        check(cfg_format(keys, values, &out, &size) == 0);
        check(out && streq(out, "#!version:1.0.0.1\na.b = 1\nc = %NULL%\nd = x = y # z\n"), "%s", out);
        check(out && size == strlen(out));
        check(out && cfg_parse("out", out, size, &f, NULL) == 0);
        check(f && streq_ptr(f->version, "1.0.0.1"));
        for (size_t i = 0; f && keys[i]; i++)
                check(streq_ptr(cfg_file_get(f, keys[i]), values[i]), "%s", keys[i]);
        check(f && f->n_entries == 3 && f->entries[1].flags == CFG_ENTRY_NULL);
        tap_end();

        tap_begin("/cfg-format/empty");
        free(TAKE_PTR(out));
        check(cfg_format(NULL, NULL, &out, &size) == 0 && streq(out, "#!version:1.0.0.1\n") && size == 18);
        tap_end();

        static const struct {
                const char *key, *value;
        } bad[] = {
                { "a", "line\nbreak" }, { "a", "cr\r" }, { "a b", "1" }, { "", "1" }, { "k=", "1" }, { "é", "1" },
        };
        tap_begin("/cfg-format/refused");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *k[] = { (char *) bad[i].key, NULL }, *v[] = { (char *) bad[i].value, NULL };
                char *o = NULL;
                check(cfg_format(k, v, &o, NULL) == -EINVAL && !o, "'%s' = '%s' accepted", bad[i].key, bad[i].value);
        }
        char *k2[] = { "a", "b", NULL }, *v2[] = { "1", NULL };
        char *o = NULL;
        check(cfg_format(k2, v2, &o, NULL) == -EINVAL && !o, "fewer values than keys accepted");
        tap_end();
}

static void test_parse_file_errors(void) {
        CfgFile *f = NULL;
        CfgError e = {};

        tap_begin("/cfg-parse/file-missing");
        check(cfg_parse_file("/nonexistent/y000000000000.cfg", &f, &e) == -ENOENT && !f);
        check(e.line == 0 && strstr(e.reason, "cannot read"), "%s", e.reason);
        tap_end();

        tap_begin("/cfg-parse/file-directory");
        check(cfg_parse_file("/", &f, &e) == -EISDIR && !f);
        tap_end();

        tap_begin("/cfg-parse/file-too-large");
        char path[] = "/tmp/test-cfg-parse-XXXXXX";
        int fd = mkstemp(path);
        if (check(fd >= 0) && check(ftruncate(fd, (off_t) CFG_FILE_MAX + 1) == 0)) {
                int r = cfg_parse_file(path, &f, &e);
                check(r == -EFBIG && !f && strstr(e.reason, "too large"), "%d %s", r, e.reason);
        }
        if (fd >= 0) {
                close(fd);
                unlink(path);
        }
        tap_end();
}

/* Random bytes drawn mostly from the characters the grammar cares about. */
static void test_random(void) {
        static const char alphabet[] = "ab.=# \t\r\n;[]%NUL\0\xff\xc3\xa9\xe2\x82";
        uint64_t seed = 0x5eed;
        char buf[700];

        tap_begin("/cfg-parse/random");
        for (unsigned round = 0; round < 5000; round++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                size_t size = (size_t) (seed >> 33) % sizeof(buf);
                for (size_t i = 0; i < size; i++) {
                        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                        buf[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
                }
                CfgFile *f = NULL;
                CfgError e = {};
                int r = cfg_parse("random", buf, size, &f, &e);
                check(r == 0 || (r == -EINVAL && e.line > 0 && *e.reason), "round %u: %d", round, r);
                check(r < 0 || entries_are_sane(f), "round %u", round);
                cfg_file_free(f);
                f = NULL;
                r = cfg_parse_collect("random", buf, size, NULL, NULL, &f);
                check(r >= 0 && f && entries_are_sane(f), "round %u: collect %d", round, r);
                cfg_file_free(f);
        }
        tap_end();
}

/* ---- The corpus ---- */

static char *path_join(const char *a, const char *b) {
        char *p = strjoin(a, "/", b, NULL);
        if (!p)
                abort();
        return p;
}

static int read_corpus_file(const char *path, char **ret, size_t *ret_size) {
        int r = read_full_file(path, ret, ret_size, CFG_FILE_MAX);
        check(r >= 0, "cannot read %s: %s", path, strerror(-r));
        return r;
}

/* Lines that look like "key = ..." with a well-formed key, counted with a regex:
 * independent of the parser's own code. */
static unsigned count_assignments(const char *data, size_t size) {
        regex_t re;
        unsigned n = 0;

        if (regcomp(&re, "^[ \t]*[A-Za-z0-9._-]+[ \t]*=", REG_EXTENDED | REG_NOSUB) != 0)
                abort();
        for (const char *s = data, *end = data + size; s < end;) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                size_t len = (size_t) ((nl ?: end) - s);
                char *line = strndup(s, len);
                if (!line)
                        abort();
                if (regexec(&re, line, 0, NULL, 0) == 0)
                        n++;
                free(line);
                s = nl ? nl + 1 : end;
        }
        regfree(&re);
        return n;
}

/* Line n (1-based) of data, blanks and CR stripped, in buf. */
static const char *line_of(const char *data, size_t size, unsigned n, char *buf, size_t buf_size) {
        const char *s = data, *end = data + size;

        for (unsigned i = 1; i < n && s < end; i++) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                s = nl ? nl + 1 : end;
        }
        const char *nl = memchr(s, '\n', (size_t) (end - s));
        size_t len = (size_t) ((nl ?: end) - s);
        while (len > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                len--;
        }
        snprintf(buf, buf_size, "%.*s", (int) len, s);
        buf[strcspn(buf, "\r")] = '\0';
        return buf;
}

static char **list_dir(const char *dir) {
        char **l = NULL;
        DIR *d = opendir(dir);

        if (!d)
                return NULL;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.' && strv_extend(&l, de->d_name) < 0)
                        abort();
        closedir(d);
        strv_sort(l);
        return l;
}

static void test_corpus_real(const char *corpus) {
        _cleanup_(freep) char *dir = path_join(corpus, "yealink/real");
        _cleanup_(strv_freep) char **files = list_dir(dir);
        char name[256];

        if (!files) {
                tap_skip("/cfg-parse/corpus/real", "no yealink/real in the corpus");
                return;
        }
        for (char **i = files; *i; i++) {
                _cleanup_(freep) char *path = path_join(dir, *i), *data = NULL;
                _cleanup_(cfg_file_freep) CfgFile *f = NULL;
                CfgError e = {};
                size_t size;

                snprintf(name, sizeof(name), "/cfg-parse/corpus/real/%s", *i);
                tap_begin(name);
                int r = cfg_parse_file(path, &f, &e);
                check(r == 0, "%s:%u: %s", e.file, e.line, e.reason);
                if (r == 0 && read_corpus_file(path, &data, &size) >= 0) {
                        unsigned n = count_assignments(data, size);
                        check(f->n_entries == n, "%zu entries, %u assignments", f->n_entries, n);
                        check(streq_ptr(f->version, "1.0.0.1"));
                        check(entries_are_sane(f));
                }
                tap_end();
        }
}

static void test_corpus_real_values(const char *corpus) {
        static const struct {
                const char *file, *key, *value;
        } values[] = {
                /* The last line of this one has no newline. */
                { "pinballwizard-000000000000.cfg", "account.1.password", "${SECRET}" },
                { "pinballwizard-000000000000.cfg", "account.1.enable", "1" },
                { "pinballwizard-000000000000.cfg", "account.1.label", "${CALLERID}" },
                { "pinballwizard-y000000000028.cfg", "network.vlan.internet_port_vid", "181" },
                { "pinballwizard-y000000000028.cfg", "lang.gui", "Russian" },
                { "pinballwizard-y000000000028.cfg", "multicast.codec", "PCMU" }, /* no blanks around '=' */
                { "pinballwizard-y000000000028.cfg", "features.dtmf.transfer", "#" },
                { "pinballwizard-y000000000028.cfg", "features.pickup.direct_pickup_code", "**" },
                { "pinballwizard-y000000000028.cfg", "auto_provision.weekly.end_time", "01:00" },
                { "pinballwizard-y000000000028.cfg", "local_time.time_zone", "+7" },
                { "pinballwizard-y000000000028.cfg", "account.1.sip_server.1.address", "172.16.81.2" },
                { "pinballwizard-y000000000028.cfg", "sip.notify_reboot_enable", "0" }, /* last line */
                { "pinballwizard-y000000000028.cfg", "account.1.outbound_proxy_enable", NULL }, /* ##-commented */
                { "pinballwizard-y000000000028.cfg", "account.1.sip_server.2.address", NULL },
        };
        _cleanup_(freep) char *dir = path_join(corpus, "yealink/real");

        tap_begin("/cfg-parse/corpus/real-values");
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_(freep) char *path = path_join(dir, values[i].file);
                _cleanup_(cfg_file_freep) CfgFile *f = NULL;

                if (!check(cfg_parse_file(path, &f, NULL) == 0, "%s", path))
                        continue;
                const char *v = cfg_file_get(f, values[i].key);
                check(streq_ptr(v, values[i].value), "%s: %s = '%s', expected '%s'", values[i].file, values[i].key,
                      strempty(v), strempty(values[i].value));
        }
        tap_end();
}

/* Bad lines in the templates that are not template syntax: real mistakes upstream. */
static const struct {
        const char *file;
        unsigned line;
} template_upstream_errors[] = {
        { "fusionpbx-t46s-y000000000066.cfg.tpl", 545 }, /* "static.network.dns.last_cache_expired" */
};

typedef struct TemplateCheck {
        const char *file;
        const char *data;
        size_t size;
        unsigned n_errors, n_unexpected;
} TemplateCheck;

static bool is_upstream_error(const char *file, unsigned line) {
        for (size_t i = 0; i < ELEMENTSOF(template_upstream_errors); i++)
                if (streq(template_upstream_errors[i].file, file) && template_upstream_errors[i].line == line)
                        return true;
        return false;
}

static void template_error_cb(const CfgError *e, void *userdata) {
        TemplateCheck *t = userdata;
        char buf[CFG_LINE_MAX + 1];

        t->n_errors++;
        const char *line = line_of(t->data, t->size, e->line, buf, sizeof(buf));
        const char *eq = strchr(line, '=');
        bool templated_key = eq && memchr(line, '{', (size_t) (eq - line));
        if (line[0] == '{' || templated_key || is_upstream_error(t->file, e->line))
                return;
        t->n_unexpected++;
        check(false, "%s:%u: '%s' is not template syntax, yet: %s", t->file, e->line, line, e->reason);
}

static void test_corpus_templates(const char *corpus) {
        _cleanup_(freep) char *dir = path_join(corpus, "yealink/templates");
        _cleanup_(strv_freep) char **files = list_dir(dir);
        char name[256];

        if (!files) {
                tap_skip("/cfg-parse/corpus/templates", "no yealink/templates in the corpus");
                return;
        }
        for (char **i = files; *i; i++) {
                _cleanup_(freep) char *path = path_join(dir, *i), *data = NULL;
                _cleanup_(cfg_file_freep) CfgFile *f = NULL;
                size_t size;

                snprintf(name, sizeof(name), "/cfg-parse/corpus/templates/%s", *i);
                tap_begin(name);
                if (read_corpus_file(path, &data, &size) >= 0) {
                        TemplateCheck t = { .file = *i, .data = data, .size = size };
                        int r = cfg_parse_collect(*i, data, size, template_error_cb, &t, &f);
                        unsigned n = count_assignments(data, size);
                        check(r >= 0 && (unsigned) r == t.n_errors, "returned %d, %u errors", r, t.n_errors);
                        check(t.n_errors > 0, "a template without template lines?");
                        check(f && f->n_entries == n, "%zu entries, %u assignments", f ? f->n_entries : 0, n);
                        check(f && streq_ptr(f->version, "1.0.0.1"));
                        check(!f || entries_are_sane(f));
                }
                tap_end();
        }
}

static void test_corpus_refused(const char *corpus) {
        static const struct {
                const char *name, *file;
                unsigned line;
                const char *reason;
        } cases[] = {
                { "/cfg-parse/corpus/legacy-ini", "yealink/encrypted-pair/test.decrypted.cfg", 1,
                  "legacy INI section '[ account ]' (pre-v70 format) is not supported" },
                { "/cfg-parse/corpus/legacy-ciphertext", "yealink/encrypted-pair/test.cfg", 1, "binary data" },
                { "/cfg-parse/corpus/key-file", "yealink/encrypted-pair/test_Security.enc", 1, "" },
                { "/cfg-parse/corpus/rsa-mode", "yealink/rsa-mode/y000000000065_2.cfg", 1,
                  "encrypted file header '#!encrypt:1.0.0.0': decrypt the file first" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *path = path_join(corpus, cases[i].file);
                _cleanup_(cfg_file_freep) CfgFile *f = NULL;
                CfgError e = {};
                char buf[600];

                tap_begin(cases[i].name);
                int r = cfg_parse_file(path, &f, &e);
                cfg_error_format(&e, buf, sizeof(buf));
                check(r == -EINVAL && !f, "returned %d: %s", r, buf);
                check(e.line == cases[i].line && strstr(e.reason, cases[i].reason), "%s", buf);
                check(streq(e.file, path), "%s", e.file);
                tap_end();
        }
}

static void test_corpus(const char *corpus) {
        struct stat st;

        if (!corpus || stat(corpus, &st) < 0 || !S_ISDIR(st.st_mode)) {
                tap_skip("/cfg-parse/corpus", "no corpus (pass its path as argv[1] or $DESKPHONE_CORPUS)");
                return;
        }
        test_corpus_real(corpus);
        test_corpus_real_values(corpus);
        test_corpus_templates(corpus);
        test_corpus_refused(corpus);
}

int main(int argc, char *argv[]) {
        for (const ParseCase *c = parse_cases; c->name; c++)
                run_parse_case(c);
        test_flags();
        test_long_lines();
        test_too_many_entries();
        test_collect();
        test_error_format();
        test_format();
        test_parse_file_errors();
        test_random();
        test_corpus(argc > 1 ? argv[1] : getenv("DESKPHONE_CORPUS"));
        return tap_finish();
}
