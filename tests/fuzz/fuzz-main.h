/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The standalone driver of every fuzz target: without libFuzzer, run each
 * FILE or every file below DIR through LLVMFuzzerTestOneInput once, so the
 * corpus is a regression test. Define FUZZ_INPUT_MAX before including.
 */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZING_ENGINE
static int run_file(const char *path) {
        _cleanup_(freep) char *data = NULL;
        size_t size;

        int r = read_full_file(path, &data, &size, FUZZ_INPUT_MAX);
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
