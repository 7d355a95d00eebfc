/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Files. All return 0 or a negative errno. */
int read_full_file(const char *path, char **ret, size_t *ret_size, size_t max_size);
/* write(2) until all is written (EINTR and short writes handled). */
int loop_write(int fd, const void *data, size_t size);
/* Write to a temporary file beside path, fsync, rename over path, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);
int fsync_path(const char *path);
int mkdir_p(const char *path, mode_t mode);
int rm_rf(const char *path);

/* dir/current, a symbolic link to "gen-<n>": the generation of a store kept in
 * generations (provd's configuration and certificate stores). -ENOENT when there
 * is none, -EINVAL when current is no link, -EBADMSG when it names something else. */
int generation_link_read(const char *dir, uint64_t *ret);
/* Points dir/current at gen-<n> at once: a new link renamed over it. Not synced. */
int generation_link_set(const char *dir, uint64_t gen);

/* Writes the formatted reason into reason (may be NULL) and returns error: for
 * functions that say, for the user, what is wrong with their input. */
int reason_set(char *reason, size_t size, int error, const char *format, ...) _printf_(4, 5);

/* Strings. */
char *strjoin(const char *first, ...) _sentinel_;
int strv_extend(char ***l, const char *s);        /* appends a copy */
int strv_consume(char ***l, char *s);             /* appends s, taking it (frees on failure) */
bool strv_contains(char * const *l, const char *s);
void strv_sort(char **l);
char **strv_copy(char * const *l);
/* Strip leading and trailing whitespace in place; returns s. */
char *strstrip(char *s);
/* Safe numbers: whole string, no sign for unsigned, range checked. -EINVAL / -ERANGE. */
int safe_atou(const char *s, unsigned *ret);
int safe_atoi(const char *s, int *ret);
int safe_atolli(const char *s, long long *ret);
int safe_atou64(const char *s, uint64_t *ret);
/* True if s is valid UTF-8 (len bytes, may contain no NUL). */
bool utf8_is_valid_n(const char *s, size_t len);

/* Monotonic clock in microseconds. */
uint64_t now_usec(void);
