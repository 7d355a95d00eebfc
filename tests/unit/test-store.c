/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "tap.h"
#include "util.h"

/* The store's tests stop at the first failed assertion (later steps depend on
 * earlier ones): a TAP diagnostic, then abort, which the runner reports. */

/* Keys every schema of ours has: plain strings, a ranged int, a secret. */
#define K_LABEL "account.1.label"
#define K_DISPLAY "account.1.display_name"
#define K_USER "account.1.user_name"
#define K_AUTH "account.1.auth_name"
#define K_PASSWORD "account.1.password"
#define K_PORT "account.1.sip_server.1.port"

#define FAIL(...)                                                               \
        do {                                                                    \
                printf("# %s: %s:%d: ", tap_name, __FILE__, __LINE__);          \
                printf(__VA_ARGS__);                                            \
                printf("\n");                                                   \
                fflush(stdout);                                                 \
                abort();                                                        \
        } while (0)
#define ASSERT_TRUE(x)                                                          \
        do {                                                                    \
                if (!(x))                                                       \
                        FAIL("assertion failed: %s", #x);                       \
        } while (0)
#define ASSERT_OK(x)                                                            \
        do {                                                                    \
                int _r = (x);                                                   \
                if (_r < 0)                                                     \
                        FAIL("%s failed: %s", #x, strerror(-_r));               \
        } while (0)
#define ASSERT_STREQ(a, b)                                                      \
        do {                                                                    \
                const char *_a = (a), *_b = (b);                                \
                if (!streq_ptr(_a, _b))                                         \
                        FAIL("%s = \"%s\", expected \"%s\"", #a, strempty(_a),  \
                             strempty(_b));                                     \
        } while (0)

#define STRV(...) ((char *[]) { __VA_ARGS__, NULL })

static char *tmpdir_new(void) {
        char t[] = "/tmp/test-store-XXXXXX";
        char *d = mkdtemp(t) ? strdup(t) : NULL;
        ASSERT_TRUE(d);
        return d;
}

static void tmpdir_free(char *d) {
        ASSERT_OK(rm_rf(d));
        free(d);
}

static char *file_read(const char *path) {
        char *data;
        ASSERT_OK(read_full_file(path, &data, NULL, 1 << 24));
        return data;
}

static char *file_write(const char *dir, const char *name, const char *text) {
        char *path = strjoin(dir, "/", name, NULL);
        ASSERT_TRUE(path);
        ASSERT_OK(write_file_atomic(path, text, strlen(text), 0600));
        return path;
}

static Store *open_ok(const char *dir, const char *site) {
        Store *s = NULL;
        CfgError e = {};
        ASSERT_OK(store_open(dir, site, &s, &e));
        ASSERT_STREQ(e.reason, "");
        return s;
}

static void set_ok(Store *s, char * const *keys, char * const *values, char * const *want_changed) {
        _cleanup_(strv_freep) char **changed = NULL;
        CfgError e = {};
        int r = store_set(s, keys, values, &changed, &e);
        if (r < 0)
                FAIL("store_set: %s (%s)", strerror(-r), e.reason);
        ASSERT_TRUE(changed);
        ASSERT_TRUE(strv_length(changed) == strv_length(want_changed));
        for (size_t i = 0; i < strv_length(changed); i++)
                ASSERT_STREQ(changed[i], want_changed[i]);
}

static CfgFile *parse_ok(const char *name, const char *text) {
        CfgFile *f = NULL;
        CfgError e = {};
        ASSERT_OK(cfg_parse(name, text, strlen(text), &f, &e));
        return f;
}

/* Not const, to go into STRV() lists. */
static char *default_of(const char *key) {
        const SchemaKey *k = schema_find(key);
        ASSERT_TRUE(k);
        return (char *) strempty(k->default_value);
}

static void test_open_fresh(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);

        ASSERT_TRUE(store_generation(s) == 0);
        ASSERT_TRUE(store_n_local(s) == 0);
        ASSERT_TRUE(access(store_effective_path(s), R_OK) == 0);
        ASSERT_STREQ(store_get(s, K_PORT), default_of(K_PORT));
        ASSERT_TRUE(store_get_layer(s, K_PORT) == STORE_LAYER_DEFAULT);
        ASSERT_TRUE(store_get(s, "no.such.key") == NULL);
        ASSERT_TRUE(store_get(s, "account.99999.label") == NULL);

        store_free(s);
        tmpdir_free(d);
}

static void test_set_get(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);

        set_ok(s, STRV(K_PORT, K_LABEL), STRV("5070", "Office"), STRV(K_LABEL, K_PORT));
        ASSERT_STREQ(store_get(s, K_PORT), "5070");
        ASSERT_STREQ(store_get(s, K_LABEL), "Office");
        ASSERT_TRUE(store_get_layer(s, K_LABEL) == STORE_LAYER_LOCAL);
        ASSERT_TRUE(store_n_local(s) == 2);
        ASSERT_TRUE(store_generation(s) == 1);

        /* Setting to empty is a value, not a reset. */
        set_ok(s, STRV(K_LABEL), STRV(""), STRV(K_LABEL));
        ASSERT_STREQ(store_get(s, K_LABEL), "");
        ASSERT_TRUE(store_get_layer(s, K_LABEL) == STORE_LAYER_LOCAL);

        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;
        ASSERT_OK(store_get_all(s, "account.1.sip_server.1.", &keys, &values));
        ASSERT_TRUE(strv_contains(keys, K_PORT));
        for (size_t i = 0; keys[i]; i++) {
                ASSERT_TRUE(startswith(keys[i], "account.1.sip_server.1."));
                ASSERT_TRUE(i == 0 || strcmp(keys[i - 1], keys[i]) < 0);
                ASSERT_STREQ(values[i], store_get(s, keys[i]));
        }

        store_free(s);
        tmpdir_free(d);
}

static void test_set_all_or_nothing(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);
        CfgError e = {};

        set_ok(s, STRV(K_LABEL), STRV("before"), STRV(K_LABEL));
        char *before = file_read(store_effective_path(s));
        uint64_t gen = store_generation(s);

        int r = store_set(s, STRV(K_LABEL, K_PORT, K_USER), STRV("after", "70000", "bob"), NULL, &e);
        ASSERT_TRUE(r == -EINVAL || r == -ERANGE);
        ASSERT_TRUE(startswith(e.reason, K_PORT ": "));
        ASSERT_TRUE(strstr(e.reason, "70000"));
        ASSERT_TRUE(e.line == 0);

        r = store_set(s, STRV(K_LABEL, "no.such.key"), STRV("after", "1"), NULL, &e);
        ASSERT_TRUE(r == -ENOENT);
        ASSERT_TRUE(startswith(e.reason, "no.such.key: "));

        char *after = file_read(store_effective_path(s));
        ASSERT_STREQ(after, before);
        ASSERT_STREQ(store_get(s, K_LABEL), "before");
        ASSERT_STREQ(store_get(s, K_USER), default_of(K_USER));
        ASSERT_TRUE(store_generation(s) == gen);

        free(before);
        free(after);
        store_free(s);
        tmpdir_free(d);
}

static void test_set_noop(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);

        set_ok(s, STRV(NULL), STRV(NULL), STRV(NULL));
        ASSERT_TRUE(store_generation(s) == 0);

        /* Equal to the default: recorded (pinned) but no effective change. */
        set_ok(s, STRV(K_PORT), STRV(default_of(K_PORT)), STRV(NULL));
        ASSERT_TRUE(store_n_local(s) == 1);
        ASSERT_TRUE(store_get_layer(s, K_PORT) == STORE_LAYER_LOCAL);
        uint64_t gen = store_generation(s);

        /* Same again: nothing to persist at all. */
        set_ok(s, STRV(K_PORT), STRV(default_of(K_PORT)), STRV(NULL));
        ASSERT_TRUE(store_generation(s) == gen);

        store_free(s);
        tmpdir_free(d);
}

static void test_set_masked_secret(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);

        ASSERT_TRUE(schema_find(K_PASSWORD)->secret);
        set_ok(s, STRV(K_PASSWORD), STRV("s3cret"), STRV(K_PASSWORD));
        set_ok(s, STRV(K_PASSWORD, K_LABEL), STRV(SCHEMA_MASK, "x"), STRV(K_LABEL));
        ASSERT_STREQ(store_get(s, K_PASSWORD), "s3cret");

        /* The mask on a secret that has no local value adds none. */
        set_ok(s, STRV("account.2.password"), STRV(SCHEMA_MASK), STRV(NULL));
        ASSERT_TRUE(store_get_layer(s, "account.2.password") == STORE_LAYER_DEFAULT);

        /* Import of a dumped file keeps it too. */
        _cleanup_(cfg_file_freep) CfgFile *f =
                parse_ok("dump.cfg", "#!version:1.0.0.1\n" K_PASSWORD " = " SCHEMA_MASK "\n");
        ASSERT_OK(store_import(s, f, NULL, NULL, NULL));
        ASSERT_STREQ(store_get(s, K_PASSWORD), "s3cret");

        store_free(s);
        tmpdir_free(d);
}

static void replace_ok(Store *s, const char *common, const char *mac, char * const *want_changed) {
        _cleanup_(cfg_file_freep) CfgFile *c = common ? parse_ok("common.cfg", common) : NULL;
        _cleanup_(cfg_file_freep) CfgFile *m = mac ? parse_ok("mac.cfg", mac) : NULL;
        _cleanup_(strv_freep) char **changed = NULL;
        CfgError e = {};

        int r = store_replace_provisioned(s, c, m, &changed, &e);
        if (r < 0)
                FAIL("store_replace_provisioned: %s (%s)", strerror(-r), e.reason);
        ASSERT_TRUE(strv_length(changed) == strv_length(want_changed));
        for (size_t i = 0; i < strv_length(changed); i++)
                ASSERT_STREQ(changed[i], want_changed[i]);
}

static void test_layers(void) {
        char *d = tmpdir_new();
        char *site = file_write(d, "site.cfg", K_LABEL " = site\n" K_USER " = site-user\n");
        Store *s = open_ok(d, site);

        ASSERT_STREQ(store_get(s, K_LABEL), "site");
        ASSERT_TRUE(store_get_layer(s, K_LABEL) == STORE_LAYER_SITE);

        replace_ok(s, K_LABEL " = common\n", NULL, STRV(K_LABEL));
        ASSERT_TRUE(store_get_layer(s, K_LABEL) == STORE_LAYER_COMMON);
        replace_ok(s, K_LABEL " = common\n", K_LABEL " = mac\n", STRV(K_LABEL));
        ASSERT_STREQ(store_get(s, K_LABEL), "mac");
        ASSERT_TRUE(store_get_layer(s, K_LABEL) == STORE_LAYER_MAC);

        set_ok(s, STRV(K_LABEL), STRV("local"), STRV(K_LABEL));
        /* Provisioning under a local change: no effective change. */
        replace_ok(s, K_LABEL " = common2\n", K_USER " = mac-user\n", STRV(K_USER));
        ASSERT_STREQ(store_get(s, K_LABEL), "local");

        /* Replacing is whole: what the new files lack is gone. */
        replace_ok(s, NULL, NULL, STRV(K_USER));
        ASSERT_STREQ(store_get(s, K_USER), "site-user");

        _cleanup_(strv_freep) char **changed = NULL;
        ASSERT_OK(store_reset(s, NULL, &changed, NULL));
        ASSERT_STREQ(store_get(s, K_LABEL), "site");
        ASSERT_TRUE(store_get_layer(s, K_LABEL) == STORE_LAYER_SITE);

        free(site);
        store_free(s);
        tmpdir_free(d);
}

static void test_provisioned_bad(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);
        _cleanup_(cfg_file_freep) CfgFile *c = parse_ok("y000000000000.cfg", K_LABEL " = c\n");
        _cleanup_(cfg_file_freep) CfgFile *m =
                parse_ok("001565000000.cfg", "#!version:1.0.0.1\n" K_USER " = u\n" K_PORT " = x\n");
        CfgError e = {};

        ASSERT_TRUE(store_replace_provisioned(s, c, m, NULL, &e) < 0);
        ASSERT_STREQ(e.file, "001565000000.cfg");
        ASSERT_TRUE(e.line == 3);
        ASSERT_TRUE(startswith(e.reason, K_PORT ": "));
        ASSERT_STREQ(store_get(s, K_LABEL), default_of(K_LABEL));
        ASSERT_TRUE(store_generation(s) == 0);

        store_free(s);
        tmpdir_free(d);
}

/* Provisioning with local changes: dropped keys and a new local layer, in one generation. */
static void test_provisioned_local(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);
        _cleanup_(cfg_file_freep) CfgFile *c = parse_ok("common.cfg", K_LABEL " = c\n" K_USER " = c-user\n");
        _cleanup_(cfg_file_freep) CfgFile *local = parse_ok("local.cfg", K_DISPLAY " = server\n" K_PORT " = 5070\n"
                                                            "unknown.key = 1\n");
        _cleanup_(cfg_file_freep) CfgFile *bad = parse_ok("bad-local.cfg", K_PORT " = x\n");
        _cleanup_(strv_freep) char **changed = NULL;
        CfgError e = {};

        set_ok(s, STRV(K_LABEL, K_USER, K_AUTH), STRV("mine", "my-user", "my-auth"), STRV(K_AUTH, K_LABEL, K_USER));
        uint64_t gen = store_generation(s);
        ASSERT_TRUE(store_local_would_change(s, NULL, STRV(K_LABEL)) == 1);
        ASSERT_TRUE(store_local_would_change(s, NULL, STRV(K_DISPLAY)) == 0);
        ASSERT_TRUE(store_local_would_change(s, NULL, NULL) == 0);

        /* drop: the provisioned value shows, other local changes stay */
        ASSERT_OK(store_replace_provisioned_local(s, c, NULL, NULL, STRV(K_LABEL), &changed, &e));
        ASSERT_TRUE(store_generation(s) == gen + 1);
        ASSERT_STREQ(store_get(s, K_LABEL), "c");
        ASSERT_TRUE(store_get_layer(s, K_LABEL) == STORE_LAYER_COMMON);
        ASSERT_STREQ(store_get(s, K_USER), "my-user");
        ASSERT_TRUE(strv_length(changed) == 1 && streq(changed[0], K_LABEL));
        changed = strv_free(changed);

        /* a new local layer replaces the old one (unknown keys skipped), minus drop */
        ASSERT_OK(store_replace_provisioned_local(s, c, NULL, local, STRV(K_PORT), &changed, &e));
        ASSERT_TRUE(store_generation(s) == gen + 2);
        ASSERT_STREQ(store_get(s, K_DISPLAY), "server");
        ASSERT_STREQ(store_get(s, K_USER), "c-user");
        ASSERT_STREQ(store_get(s, K_AUTH), default_of(K_AUTH));
        ASSERT_STREQ(store_get(s, K_PORT), default_of(K_PORT));
        ASSERT_TRUE(store_n_local(s) == 1);

        /* a bad local file: nothing changes */
        ASSERT_TRUE(store_replace_provisioned_local(s, NULL, NULL, bad, NULL, NULL, &e) < 0);
        ASSERT_STREQ(e.file, "bad-local.cfg");
        ASSERT_TRUE(store_generation(s) == gen + 2);
        ASSERT_STREQ(store_get(s, K_LABEL), "c");

        store_free(s);
        tmpdir_free(d);
}

static void test_site_bad_keeps_last_good(void) {
        char *d = tmpdir_new();
        char *site = file_write(d, "site.cfg", K_LABEL " = good\n" K_PORT " = 5080\n");
        Store *s = open_ok(d, site);
        store_free(s);

        free(file_write(d, "site.cfg", "#!version:1.0.0.1\n" K_LABEL " = bad\n" K_PORT " = 99999\n"));
        CfgError e = {};
        ASSERT_OK(store_open(d, site, &s, &e));
        ASSERT_TRUE(e.reason[0]);
        ASSERT_TRUE(e.line == 3);
        ASSERT_STREQ(e.file, site);
        ASSERT_STREQ(store_get(s, K_LABEL), "good");
        ASSERT_STREQ(store_get(s, K_PORT), "5080");
        store_free(s);

        /* A missing site file is bad too, not an empty one. */
        ASSERT_OK(unlink(site));
        ASSERT_OK(store_open(d, site, &s, &e));
        ASSERT_TRUE(e.reason[0]);
        ASSERT_STREQ(store_get(s, K_LABEL), "good");

        free(site);
        store_free(s);
        tmpdir_free(d);
}

static void test_reset(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);
        _cleanup_(strv_freep) char **changed = NULL;
        CfgError e = {};

        set_ok(s, STRV(K_LABEL, K_USER, K_PORT), STRV("a", "b", default_of(K_PORT)),
               STRV(K_LABEL, K_USER));
        ASSERT_OK(store_reset(s, STRV(K_LABEL, K_PORT, K_DISPLAY), &changed, &e));
        ASSERT_TRUE(strv_length(changed) == 1);
        ASSERT_STREQ(changed[0], K_LABEL);
        ASSERT_TRUE(store_n_local(s) == 1);

        uint64_t gen = store_generation(s);
        ASSERT_TRUE(store_reset(s, STRV(K_USER, "no.such.key"), NULL, &e) == -ENOENT);
        ASSERT_TRUE(startswith(e.reason, "no.such.key"));
        ASSERT_STREQ(store_get(s, K_USER), "b");
        ASSERT_TRUE(store_generation(s) == gen);

        strv_free(changed);
        changed = NULL;
        ASSERT_OK(store_reset(s, STRV(NULL), &changed, &e));
        ASSERT_TRUE(strv_length(changed) == 1);
        ASSERT_STREQ(changed[0], K_USER);
        ASSERT_TRUE(store_n_local(s) == 0);

        store_free(s);
        tmpdir_free(d);
}

static void test_import(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);
        _cleanup_(strv_freep) char **changed = NULL;
        unsigned skipped = 0;
        CfgError e = {};

        set_ok(s, STRV(K_DISPLAY, K_AUTH), STRV("keep", "gone"), STRV(K_AUTH, K_DISPLAY));
        _cleanup_(cfg_file_freep) CfgFile *good = parse_ok(
                "good.cfg", "#!version:1.0.0.1\n" K_LABEL " = imported\n"
                            "features.unknown_to_us = 1\n" K_DISPLAY " =\n" K_AUTH " = %NULL%\n"
                            "static.also.unknown = x\n");
        ASSERT_OK(store_import(s, good, &changed, &skipped, &e));
        ASSERT_TRUE(skipped == 2);
        ASSERT_TRUE(strv_length(changed) == 2);
        ASSERT_STREQ(changed[0], K_AUTH);
        ASSERT_STREQ(changed[1], K_LABEL);
        ASSERT_STREQ(store_get(s, K_DISPLAY), "keep");
        ASSERT_STREQ(store_get(s, K_AUTH), "");

        char *before = file_read(store_effective_path(s));
        _cleanup_(cfg_file_freep) CfgFile *bad = parse_ok(
                "bad.cfg", "#!version:1.0.0.1\n" K_USER " = fine\n\n# comment\n" K_PORT " = -1\n");
        ASSERT_TRUE(store_import(s, bad, NULL, NULL, &e) < 0);
        ASSERT_STREQ(e.file, "bad.cfg");
        ASSERT_TRUE(e.line == 5);
        ASSERT_TRUE(startswith(e.reason, K_PORT ": "));
        char *after = file_read(store_effective_path(s));
        ASSERT_STREQ(after, before);
        ASSERT_STREQ(store_get(s, K_USER), default_of(K_USER));

        free(before);
        free(after);
        store_free(s);
        tmpdir_free(d);
}

static void test_reopen(void) {
        char *d = tmpdir_new();
        char *site = file_write(d, "site.cfg", K_USER " = site\n");
        Store *s = open_ok(d, site);
        set_ok(s, STRV(K_LABEL, K_PASSWORD), STRV("L", "pw"), STRV(K_LABEL, K_PASSWORD));
        replace_ok(s, K_DISPLAY " = D\n", K_AUTH " = A\n", STRV(K_AUTH, K_DISPLAY));
        char *before = file_read(store_effective_path(s));
        uint64_t gen = store_generation(s);
        store_free(s);

        /* Without the site file: the persisted site layer stays. */
        s = open_ok(d, NULL);
        char *after = file_read(store_effective_path(s));
        ASSERT_STREQ(after, before);
        ASSERT_TRUE(store_generation(s) == gen);
        ASSERT_TRUE(store_n_local(s) == 2);
        ASSERT_STREQ(store_get(s, K_PASSWORD), "pw");
        ASSERT_TRUE(store_get_layer(s, K_USER) == STORE_LAYER_SITE);
        ASSERT_TRUE(store_get_layer(s, K_AUTH) == STORE_LAYER_MAC);
        store_free(s);

        /* With the same site file: nothing to write either. */
        s = open_ok(d, site);
        ASSERT_TRUE(store_generation(s) == gen);
        store_free(s);

        free(before);
        free(after);
        free(site);
        tmpdir_free(d);
}

static void test_same_content_same_bytes(void) {
        char *d1 = tmpdir_new(), *d2 = tmpdir_new();
        Store *a = open_ok(d1, NULL), *b = open_ok(d2, NULL);

        set_ok(a, STRV(K_LABEL, K_PORT), STRV("x", "1234"), STRV(K_LABEL, K_PORT));
        set_ok(b, STRV(K_PORT), STRV("1234"), STRV(K_PORT));
        set_ok(b, STRV(K_LABEL), STRV("x"), STRV(K_LABEL));
        char *ea = file_read(store_effective_path(a)), *eb = file_read(store_effective_path(b));
        ASSERT_STREQ(ea, eb);

        free(ea);
        free(eb);
        store_free(a);
        store_free(b);
        tmpdir_free(d1);
        tmpdir_free(d2);
}

static void assert_mode(const char *dir, const char *name, mode_t type, mode_t mode) {
        _cleanup_(freep) char *path = strjoin(dir, "/", name, NULL);
        struct stat st;

        ASSERT_OK(lstat(path, &st));
        if ((st.st_mode & S_IFMT) != type || (st.st_mode & 07777) != mode)
                FAIL("%s has mode %o, expected %o", path, (unsigned) st.st_mode,
                     (unsigned) (type | mode));
}

/* config/ holds exactly "current" and the generation it points to. */
static void assert_clean(const char *dir, uint64_t gen) {
        _cleanup_(freep) char *config = strjoin(dir, "/config", NULL);
        _cleanup_(freep) char *want = NULL;
        char target[64] = "";
        unsigned n = 0;

        ASSERT_TRUE(asprintf(&want, "gen-%" PRIu64, gen) > 0);
        _cleanup_(freep) char *cur = strjoin(config, "/current", NULL);
        ASSERT_TRUE(readlink(cur, target, sizeof(target) - 1) > 0);
        ASSERT_STREQ(target, want);

        DIR *dd = opendir(config);
        ASSERT_TRUE(dd);
        for (struct dirent *de; (de = readdir(dd));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (!streq(de->d_name, "current") && !streq(de->d_name, want))
                        FAIL("stray entry %s/%s", config, de->d_name);
                n++;
        }
        closedir(dd);
        ASSERT_TRUE(n == 2);
}

static void test_persist_modes(void) {
        char *d = tmpdir_new();
        mode_t old = umask(0);
        Store *s = open_ok(d, NULL);
        umask(old);
        set_ok(s, STRV(K_PASSWORD), STRV("pw"), STRV(K_PASSWORD));

        _cleanup_(freep) char *config = strjoin(d, "/config", NULL);
        _cleanup_(freep) char *gendir = NULL;
        ASSERT_TRUE(asprintf(&gendir, "%s/gen-%" PRIu64, config, store_generation(s)) > 0);
        assert_mode(d, "config", S_IFDIR, 0700);
        assert_mode(config, "current", S_IFLNK, 0777);
        assert_mode(gendir, ".", S_IFDIR, 0700);
        const char *files[] = { "site.cfg", "common.cfg", "mac.cfg", "local.cfg", "effective.cfg" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                assert_mode(gendir, files[i], S_IFREG, 0600);
        assert_clean(d, store_generation(s));

        store_free(s);
        tmpdir_free(d);
}

static void test_open_removes_leftovers(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);
        set_ok(s, STRV(K_LABEL), STRV("x"), STRV(K_LABEL));
        uint64_t gen = store_generation(s);
        store_free(s);

        _cleanup_(freep) char *config = strjoin(d, "/config", NULL);
        _cleanup_(freep) char *partial = strjoin(config, "/gen-77", NULL);
        ASSERT_OK(mkdir(partial, 0700));
        free(file_write(partial, "site.cfg", "half"));
        _cleanup_(freep) char *tmp = strjoin(config, "/current.tmp", NULL);
        ASSERT_OK(symlink("gen-77", tmp));

        s = open_ok(d, NULL);
        ASSERT_STREQ(store_get(s, K_LABEL), "x");
        assert_clean(d, gen);

        store_free(s);
        tmpdir_free(d);
}

static void test_rollback(void) {
        char *d = tmpdir_new();
        Store *s = open_ok(d, NULL);
        _cleanup_(strv_freep) char **changed = NULL;

        ASSERT_TRUE(!store_has_previous_provisioned(s));
        ASSERT_TRUE(store_rollback_provisioned(s, NULL, NULL) == -ENOENT);

        replace_ok(s, K_LABEL " = good\n", K_PASSWORD " = pw-good\n", STRV(K_LABEL, K_PASSWORD));
        ASSERT_TRUE(store_has_previous_provisioned(s)); /* nothing provisioned before */
        char *good = file_read(store_effective_path(s));
        replace_ok(s, K_LABEL " = bad\n", K_PASSWORD " = pw-bad\n" K_USER " = u\n",
                   STRV(K_LABEL, K_PASSWORD, K_USER));
        /* the same files again: nothing changes, the previous layers stay */
        replace_ok(s, K_LABEL " = bad\n", K_PASSWORD " = pw-bad\n" K_USER " = u\n", STRV(NULL));
        uint64_t gen = store_generation(s);

        /* kept across a restart */
        store_free(s);
        s = open_ok(d, NULL);
        ASSERT_TRUE(store_has_previous_provisioned(s));
        ASSERT_TRUE(store_generation(s) == gen);

        ASSERT_OK(store_rollback_provisioned(s, &changed, NULL));
        ASSERT_TRUE(strv_length(changed) == 3);
        ASSERT_STREQ(store_get(s, K_PASSWORD), "pw-good");
        ASSERT_STREQ(store_get(s, K_USER), default_of(K_USER));
        ASSERT_TRUE(store_generation(s) == gen + 1);
        char *after = file_read(store_effective_path(s));
        ASSERT_STREQ(after, good);
        assert_clean(d, gen + 1);
        /* one step only */
        ASSERT_TRUE(!store_has_previous_provisioned(s));
        ASSERT_TRUE(store_rollback_provisioned(s, NULL, NULL) == -ENOENT);
        store_free(s);
        s = open_ok(d, NULL);
        ASSERT_TRUE(!store_has_previous_provisioned(s));

        /* the layer as text, and comparing a file with it */
        _cleanup_(freep) char *text = NULL;
        size_t size;
        ASSERT_OK(store_format_layer(s, STORE_LAYER_MAC, &text, &size));
        _cleanup_(cfg_file_freep) CfgFile *same = parse_ok("mac.cfg", text);
        _cleanup_(cfg_file_freep) CfgFile *other = parse_ok("mac.cfg", K_PASSWORD " = other\n");
        ASSERT_TRUE(store_layer_equal(s, STORE_LAYER_MAC, same) == 1);
        ASSERT_TRUE(store_layer_equal(s, STORE_LAYER_MAC, other) == 0);
        ASSERT_TRUE(store_layer_equal(s, STORE_LAYER_COMMON, same) == 0);

        free(good);
        free(after);
        store_free(s);
        tmpdir_free(d);
}

/* ---- Crash simulation ---- */

static char * const crash_keys[] = { K_LABEL, K_DISPLAY, K_USER, K_AUTH, NULL };

/* Sets the crash keys to a new common value, over and over; says "ready" after
 * the first set is complete, so a kill 0-2 ms later lands inside a later one
 * (one set is a few fsyncs: about 2 ms on ext4). */
static _Noreturn void crash_child(const char *dir, int ready_fd) {
        Store *s = NULL;

        if (store_open(dir, NULL, &s, NULL) < 0)
                _exit(2);
        for (unsigned i = 0;; i++) {
                char v[32];
                snprintf(v, sizeof(v), "v%d-%u", (int) getpid(), i);
                char *values[] = { v, v, v, v, NULL };
                if (store_set(s, crash_keys, values, NULL, NULL) < 0)
                        _exit(3);
                if (i == 0 && write(ready_fd, "x", 1) != 1)
                        _exit(4);
        }
}

/* Returns the generation found, which never goes back. */
static uint64_t crash_check(const char *dir, uint64_t last_gen) {
        Store *s = open_ok(dir, NULL);
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        CfgError e = {};

        ASSERT_OK(cfg_parse_file(store_effective_path(s), &f, &e));
        const char *first = cfg_file_get(f, crash_keys[0]);
        ASSERT_TRUE(first);
        for (size_t i = 0; crash_keys[i]; i++) {
                ASSERT_STREQ(cfg_file_get(f, crash_keys[i]), first);
                ASSERT_STREQ(store_get(s, crash_keys[i]), first);
        }
        assert_clean(dir, store_generation(s));
        uint64_t gen = store_generation(s);
        ASSERT_TRUE(gen >= last_gen);
        store_free(s);
        return gen;
}

static void crash_once(const char *dir, bool wait_ready, unsigned delay_usec) {
        int p[2];
        ASSERT_OK(pipe2(p, O_CLOEXEC));

        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                crash_child(dir, p[1]);
        }
        close(p[1]);
        char c;
        if (wait_ready && read(p[0], &c, 1) != 1)
                FAIL("child failed to open the store or to set");
        close(p[0]);
        usleep(delay_usec);
        ASSERT_OK(kill(pid, SIGKILL));

        int status;
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        if (!WIFSIGNALED(status))
                FAIL("child exited with %d", WEXITSTATUS(status));
}

static void test_crash(void) {
        char *d = tmpdir_new();
        unsigned seed = (unsigned) time(NULL) ^ (unsigned) getpid();
        uint64_t gen = 0;

        srand(seed);
        store_free(open_ok(d, NULL));
        for (unsigned i = 0; i < 100; i++) {
                /* Mostly kill during store_set, sometimes during open or the first set. */
                bool wait_ready = i % 4 != 0;
                uint64_t last = gen;
                crash_once(d, wait_ready, (unsigned) rand() % 2001);
                gen = crash_check(d, gen);
                ASSERT_TRUE(!wait_ready || gen > last);
        }
        printf("# seed %u, %" PRIu64 " generations\n", seed, gen);
        tmpdir_free(d);
}

static const struct {
        const char *name;
        void (*fn)(void);
} tests[] = {
        { "/store/open/fresh", test_open_fresh },
        { "/store/set/get", test_set_get },
        { "/store/set/all-or-nothing", test_set_all_or_nothing },
        { "/store/set/noop", test_set_noop },
        { "/store/set/masked-secret", test_set_masked_secret },
        { "/store/layers/precedence", test_layers },
        { "/store/layers/provisioned-bad", test_provisioned_bad },
        { "/store/layers/provisioned-local", test_provisioned_local },
        { "/store/site/bad-keeps-last-good", test_site_bad_keeps_last_good },
        { "/store/reset", test_reset },
        { "/store/import", test_import },
        { "/store/persist/reopen", test_reopen },
        { "/store/persist/same-bytes", test_same_content_same_bytes },
        { "/store/persist/modes", test_persist_modes },
        { "/store/persist/leftovers", test_open_removes_leftovers },
        { "/store/persist/crash", test_crash },
        { "/store/provisioned/rollback", test_rollback },
};

int main(int argc, char *argv[]) {
        /* The store logs what it drops or refuses; keep the test output short. */
        if (!getenv("DESKPHONE_LOG_LEVEL"))
                setenv("DESKPHONE_LOG_LEVEL", "err", 1);
        log_setup("test-store");

        for (size_t i = 0; i < ELEMENTSOF(tests); i++) {
                if (argc > 1 && !startswith(tests[i].name, argv[1]))
                        continue;
                tap_begin(tests[i].name);
                tests[i].fn();
                tap_end();
        }
        return tap_finish();
}
