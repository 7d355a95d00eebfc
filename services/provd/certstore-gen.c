/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certstore-internal.h"
#include "log.h"
#include "util.h"

/*
 * The certificate store in generations, as the configuration store keeps its
 * layers: <state>/certs/current is a symbolic link to gen-<n>, which holds the
 * whole store. A change copies the current generation into gen-<n+1> (hard
 * links: every file is replaced by rename, never written in place), changes
 * that, and then renames a new link over "current". Whatever happens before
 * the rename, the store is the old one; after it, the new one. Provisioning
 * makes several changes as one (certstore_begin() ... certstore_commit()).
 *
 * certstore_prepare() leaves a file "prepared" in the new generation naming the
 * configuration store's generation before the run. If provd dies after the
 * configuration changed and before the rename, certstore_recover() at the next
 * start sees the configuration past that generation and finishes the rename;
 * if it died before the configuration changed, it drops the new generation.
 * The certificates and the configuration of a run are both new or both old.
 */

#define PREPARED "prepared"

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static void paths_done(CertPaths *p) {
        free(p->dir);
        free(p->ca_dir);
        free(p->bundle);
        free(p->device_tls);
        *p = (CertPaths) {};
}

static int paths_set(CertStore *s, uint64_t gen, CertPaths *ret) {
        CertPaths p = {};

        if (asprintf(&p.dir, "%s/gen-%" PRIu64, s->root, gen) < 0)
                return -ENOMEM;
        p.ca_dir = strjoin(p.dir, "/ca", NULL);
        p.bundle = strjoin(p.dir, "/ca-bundle.pem", NULL);
        p.device_tls = strjoin(p.dir, "/device-tls.pem", NULL);
        if (!p.ca_dir || !p.bundle || !p.device_tls) {
                paths_done(&p);
                return -ENOMEM;
        }
        paths_done(ret);
        *ret = p;
        return 0;
}

static int private_dir(const char *path) {
        int r = mkdir_p(path, 0700);
        if (r < 0)
                return r;
        return chmod(path, 0700) < 0 ? -errno : 0;
}

/* "gen-<n>", n > 0, nothing else */
static bool parse_gen(const char *name, uint64_t *ret) {
        uint64_t n = 0;

        if (!startswith(name, "gen-") || name[4] < '1' || name[4] > '9')
                return false;
        for (const char *p = name + 4; *p; p++) {
                if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
                        return false;
                n = n * 10 + (uint64_t) (*p - '0');
        }
        *ret = n;
        return true;
}

static int switch_current(CertStore *s, uint64_t gen) {
        int r = generation_link_set(s->root, gen);
        return r < 0 ? r : fsync_path(s->root);
}

/* A generation that is not to become the store: its "prepared" goes first, durably,
 * so that after a power cut a half-removed one can never be taken for a good one. */
static int drop_dir(const char *dir) {
        _cleanup_(freep) char *prepared = strjoin(dir, "/" PREPARED, NULL);

        if (!prepared)
                return -ENOMEM;
        if (unlink(prepared) >= 0)
                (void) fsync_path(dir);
        return rm_rf(dir);
}

static int remove_gen(CertStore *s, uint64_t gen) {
        _cleanup_(paths_done) CertPaths p = {};

        int r = paths_set(s, gen, &p);
        return r < 0 ? r : drop_dir(p.dir);
}

/* write_file_atomic()'s temporary files: "<name>.tmp-<pid>" */
static bool is_temporary(const char *name) {
        const char *t = strstr(name, ".tmp-");

        for (const char *next; t && (next = strstr(t + 1, ".tmp-")); t = next)
                ;
        if (!t || !t[5])
                return false;
        for (const char *p = t + 5; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

/* Hard links in to of the regular files in from (not our temporary files). */
static int link_files(const char *from, const char *to) {
        _cleanup_(closedirp) DIR *d = opendir(from);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                struct stat st;
                if (de->d_name[0] == '.' || is_temporary(de->d_name) || streq(de->d_name, PREPARED) ||
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                _cleanup_(freep) char *a = strjoin(from, "/", de->d_name, NULL), *b = strjoin(to, "/", de->d_name, NULL);
                if (!a || !b)
                        return -ENOMEM;
                if (link(a, b) < 0)
                        return -errno;
        }
        return 0;
}

int certstore_begin(CertStore *s) {
        if (s->stuck)
                return -EIO;
        if (s->working > 0)
                return -EBUSY;
        uint64_t next = s->gen + 1;
        int r = paths_set(s, next, &s->work);
        if (r < 0)
                return r;
        (void) rm_rf(s->work.dir); /* left by a change that never finished */
        r = private_dir(s->work.ca_dir);
        if (r >= 0)
                r = link_files(s->cur.dir, s->work.dir);
        if (r >= 0)
                r = link_files(s->cur.ca_dir, s->work.ca_dir);
        if (r < 0) {
                (void) rm_rf(s->work.dir);
                return log_error_errno(r, "Cannot copy the certificate store to %s: %m", s->work.dir);
        }
        s->working = next;
        s->prepared = false;
        s->at = &s->work;
        return 0;
}

static int make_durable(CertStore *s) {
        int r = certstore_rebuild(s);
        if (r >= 0)
                r = fsync_path(s->work.ca_dir);
        if (r >= 0)
                r = fsync_path(s->work.dir);
        if (r >= 0)
                r = fsync_path(s->root);
        return r;
}

int certstore_prepare(CertStore *s, uint64_t config_generation) {
        char text[32];

        if (s->working == 0)
                return -ENOENT;
        _cleanup_(freep) char *path = strjoin(s->work.dir, "/" PREPARED, NULL);
        if (!path)
                return -ENOMEM;
        int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", config_generation);
        int r = write_file_atomic(path, text, (size_t) n, 0600);
        if (r >= 0)
                r = make_durable(s);
        if (r < 0)
                return log_error_errno(r, "Cannot write the new certificates to %s: %m", s->work.dir);
        s->prepared = true;
        return 0;
}

static void unprepare(CertStore *s) {
        _cleanup_(freep) char *path = strjoin(s->cur.dir, "/" PREPARED, NULL);

        if (path && unlink(path) >= 0)
                (void) fsync_path(s->cur.dir);
}

/* Back to the current generation in memory; what is on disk stays. */
static void forget_working(CertStore *s) {
        paths_done(&s->work);
        s->working = 0;
        s->prepared = false;
        s->at = &s->cur;
}

int certstore_commit(CertStore *s) {
        if (s->working == 0)
                return -ENOENT;
        int r = s->prepared ? 0 : make_durable(s);
        if (r < 0) {
                log_error_errno(r, "Cannot write the new certificates to %s: %m", s->work.dir);
                certstore_abort(s);
                return r;
        }
        r = switch_current(s, s->working);
        if (r < 0) {
                /* Prepared, it stays on disk for the next start, which makes it current if
                 * its configuration was applied. Until then the store is the one before,
                 * and takes no changes: they would be lost or mixed. */
                log_error_errno(r, "Cannot make the new certificates in %s current, certificate changes are "
                                "refused until provd starts again: %m", s->work.dir);
                s->stuck = s->prepared;
                if (!s->prepared)
                        certstore_abort(s);
                else
                        forget_working(s);
                return r;
        }
        uint64_t old = s->gen;
        CertPaths swap = s->cur;
        s->cur = s->work;
        s->work = swap;
        s->gen = s->working;
        s->working = 0;
        s->at = &s->cur;
        unprepare(s);
        r = rm_rf(s->work.dir);
        if (r < 0)
                log_warning_errno(r, "Cannot remove the old certificates, generation %" PRIu64 ": %m", old);
        paths_done(&s->work);
        return 0;
}

void certstore_abort(CertStore *s) {
        if (s->working == 0)
                return;
        int r = drop_dir(s->work.dir);
        if (r < 0)
                log_warning_errno(r, "Cannot remove the unfinished certificate change in %s: %m", s->work.dir);
        forget_working(s);
}

/* The prepared generation's configuration generation; -ENOENT if it was never prepared. */
static int read_prepared(CertStore *s, uint64_t gen, uint64_t *ret) {
        _cleanup_(paths_done) CertPaths p = {};
        _cleanup_(freep) char *path = NULL, *text = NULL;
        size_t size;

        int r = paths_set(s, gen, &p);
        if (r < 0)
                return r;
        path = strjoin(p.dir, "/" PREPARED, NULL);
        if (!path)
                return -ENOMEM;
        r = read_full_file(path, &text, &size, 32);
        if (r < 0)
                return r;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno != 0 || end == text || *end != '\n')
                return -EBADMSG;
        *ret = v;
        return 0;
}

int certstore_recover(CertStore *s, uint64_t config_generation) {
        _cleanup_(closedirp) DIR *d = opendir(s->root);
        uint64_t forward = 0, gen, before;
        struct dirent *de;

        if (!d)
                return -errno;
        /* a prepared generation whose configuration change was made: finish it */
        while ((de = readdir(d)))
                if (parse_gen(de->d_name, &gen) && gen > s->gen && read_prepared(s, gen, &before) >= 0 &&
                    config_generation > before)
                        forward = MAX(forward, gen);
        if (forward > 0 && paths_set(s, forward, &s->work) >= 0) {
                s->working = forward;
                s->prepared = true;
                if (certstore_commit(s) >= 0) {
                        log_notice("Finished the certificate changes of a provisioning run that was interrupted");
                        forward = 0;
                } /* else kept for the next start, and the store takes no changes */
        } else {
                forward = 0;
                unprepare(s);
        }
        /* anything else is what an interrupted change left */
        rewinddir(d);
        while ((de = readdir(d)))
                if (parse_gen(de->d_name, &gen) && gen != s->gen && gen != forward) {
                        if (read_prepared(s, gen, &before) >= 0)
                                log_notice("Dropping the certificate changes of a provisioning run that was "
                                           "interrupted before its configuration was applied");
                        (void) remove_gen(s, gen);
                }
        _cleanup_(freep) char *tmp = strjoin(s->root, "/current.tmp", NULL);
        if (tmp)
                (void) unlink(tmp);
        return 0;
}

/* The store before generations: certs/ca/, certs/device.{pem,key} and the two files for
 * libcurl, straight in certs/. Moved into gen-1; again from where it stopped if stopped. */
static int migrate(CertStore *s) {
        static const char * const moved[] = { "ca", "device.key", "device.pem" };
        static const char * const dropped[] = { "ca-bundle.pem", "device-tls.pem" };

        int r = paths_set(s, 1, &s->cur);
        if (r < 0)
                return r;
        r = private_dir(s->cur.dir);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(moved); i++) {
                _cleanup_(freep) char *a = strjoin(s->root, "/", moved[i], NULL),
                                      *b = strjoin(s->cur.dir, "/", moved[i], NULL);
                if (!a || !b)
                        r = -ENOMEM;
                else if (rename(a, b) < 0 && errno != ENOENT)
                        r = -errno;
        }
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dropped); i++) {
                _cleanup_(freep) char *a = strjoin(s->root, "/", dropped[i], NULL);
                if (!a)
                        r = -ENOMEM;
                else
                        (void) unlink(a);
        }
        if (r >= 0)
                r = private_dir(s->cur.ca_dir);
        if (r >= 0)
                r = certstore_rebuild(s);
        if (r >= 0)
                r = fsync_path(s->cur.ca_dir);
        if (r >= 0)
                r = fsync_path(s->cur.dir);
        if (r >= 0)
                r = switch_current(s, 1);
        if (r >= 0)
                s->gen = 1;
        return r;
}

/* "current" is not a link to a generation (damaged, or made by hand): the newest
 * generation that was not left prepared becomes the store again, else none is
 * (-ENOENT: a new one is made). Better than a configuration service that will
 * not start. */
static int repair_current(CertStore *s) {
        _cleanup_(freep) char *link = strjoin(s->root, "/current", NULL),
                              *aside = strjoin(s->root, "/current.damaged", NULL);
        _cleanup_(closedirp) DIR *d = opendir(s->root);
        uint64_t best = 0, gen, before;
        struct dirent *de;

        if (!link || !aside)
                return -ENOMEM;
        if (!d)
                return -errno;
        log_warning("%s is not a link to a certificate generation, repairing it", link);
        (void) rm_rf(aside);
        if (rename(link, aside) < 0 && errno != ENOENT)
                return -errno;
        while ((de = readdir(d)))
                if (parse_gen(de->d_name, &gen) && read_prepared(s, gen, &before) == -ENOENT)
                        best = MAX(best, gen);
        if (best == 0)
                return -ENOENT;
        int r = switch_current(s, best);
        if (r < 0)
                return r;
        s->gen = best;
        return paths_set(s, best, &s->cur);
}

int certstore_gen_open(CertStore *s, const char *state_dir) {
        s->root = strjoin(state_dir, "/certs", NULL);
        if (!s->root)
                return -ENOMEM;
        s->at = &s->cur;
        int r = private_dir(s->root);
        if (r >= 0)
                r = generation_link_read(s->root, &s->gen);
        if (r == -EINVAL || r == -EBADMSG)
                r = repair_current(s);
        if (r == -ENOENT)
                r = migrate(s);
        else if (r >= 0)
                r = paths_set(s, s->gen, &s->cur);
        if (r >= 0)
                r = private_dir(s->cur.ca_dir); /* named by current but gone: an empty store */
        if (r < 0)
                return log_error_errno(r, "Cannot open the certificate store in %s: %m", s->root);
        return 0;
}

void certstore_gen_free(CertStore *s) {
        certstore_abort(s);
        paths_done(&s->cur);
        paths_done(&s->work);
        free(s->root);
}
