/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfg_parse on arbitrary bytes. Built with libFuzzer (-DFUZZING_ENGINE, see
 * meson.build) it is a fuzz target; built normally it is a regression test that
 * runs every file (or every file in every directory) given as argument.
 */

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cfg-parse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_file(const CfgFile *f) {
        for (size_t i = 0; i < f->n_entries; i++) {
                const CfgEntry *e = &f->entries[i];
                if (!e->key || !*e->key || !e->value || !utf8_is_valid_n(e->value, strlen(e->value)))
                        abort();
                if (cfg_file_get(f, e->key) == NULL && !(e->flags & CFG_ENTRY_IGNORED))
                        abort();
        }
}

/* Whatever parses must survive cfg_format and parse again to the same values. */
static void check_round_trip(const CfgFile *f) {
        _cleanup_(strv_freep) char **keys = calloc(f->n_entries + 1, sizeof(char *));
        _cleanup_(strv_freep) char **values = calloc(f->n_entries + 1, sizeof(char *));
        _cleanup_(freep) char *out = NULL;
        _cleanup_(cfg_file_freep) CfgFile *g = NULL;
        size_t n = 0, size;

        if (!keys || !values)
                return;
        for (size_t i = 0; i < f->n_entries; i++) {
                if (f->entries[i].flags & CFG_ENTRY_IGNORED)
                        continue;
                keys[n] = strdup(f->entries[i].key);
                values[n] = strdup(f->entries[i].value);
                if (!keys[n] || !values[n])
                        return;
                n++;
        }
        int r = cfg_format(keys, values, &out, &size);
        if (r == -E2BIG) /* "k=v" near CFG_LINE_MAX becomes "k = v", too long to write */
                return;
        if (r < 0)
                abort();
        if (cfg_parse("round-trip", out, size, &g, NULL) < 0)
                abort();
        for (size_t i = 0; i < n; i++)
                if (!streq_ptr(cfg_file_get(g, keys[i]), cfg_file_get(f, keys[i])))
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        CfgFile *f = NULL;
        CfgError e;
        char buf[600];

        if (size > 4 * CFG_LINE_MAX * 16)
                return 0;
        if (cfg_parse("fuzz", (const char *) data, size, &f, &e) >= 0) {
                check_file(f);
                check_round_trip(f);
                cfg_file_free(f);
        } else {
                if (f)
                        abort();
                cfg_error_format(&e, buf, sizeof(buf));
        }

        f = NULL;
        if (cfg_parse_collect("fuzz", (const char *) data, size, NULL, NULL, &f) >= 0) {
                check_file(f);
                cfg_file_free(f);
        }
        return 0;
}

#ifndef FUZZING_ENGINE
static int run_file(const char *path) {
        _cleanup_(freep) char *data = NULL;
        size_t size;

        int r = read_full_file(path, &data, &size, CFG_FILE_MAX);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        LLVMFuzzerTestOneInput((const uint8_t *) data, size);
        printf("ok - %s\n", path);
        return 0;
}

static int run_path(const char *path, unsigned depth) {
        struct stat st;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        if (!S_ISDIR(st.st_mode))
                return run_file(path);
        if (depth > 4)
                return 0;

        DIR *d = opendir(path);
        if (!d) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_(freep) char *p = strjoin(path, "/", de->d_name, NULL);
                int k = p ? run_path(p, depth + 1) : -ENOMEM;
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        return r;
}

int main(int argc, char *argv[]) {
        int r = 0;

        if (argc < 2) {
                fprintf(stderr, "Usage: %s FILE|DIR...\n", argv[0]);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                int k = run_path(argv[i], 0);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
