/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by certstore.c (what is stored) and certstore-gen.c (the generations). */

#include <stdbool.h>
#include <stdint.h>

#include "certstore.h"

/* The files of one generation, <state>/certs/gen-<n>. */
typedef struct CertPaths {
        char *dir;
        char *ca_dir;           /* <dir>/ca: <name>.pem */
        char *bundle;           /* <dir>/ca-bundle.pem */
        char *device_tls;       /* <dir>/device-tls.pem */
} CertPaths;

struct CertStore {
        char *root;             /* <state>/certs */
        uint64_t gen;           /* the generation <root>/current names */
        uint64_t working;       /* the generation being changed (certstore_begin()), 0 when none */
        bool prepared;          /* certstore_prepare() was called on it */
        bool stuck;             /* a commit failed: changes refused until the next start recovers */
        CertPaths cur, work;
        CertPaths *at;          /* where reads and changes go: &work between begin and commit, else &cur */
};

/* certstore-gen.c */
int certstore_gen_open(CertStore *s, const char *state_dir);
void certstore_gen_free(CertStore *s);

/* certstore.c: the files made from the others for libcurl, in s->at. */
int certstore_rebuild(CertStore *s);
