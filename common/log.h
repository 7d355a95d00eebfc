/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/*
 * Logging: to the journal when the process runs under systemd (JOURNAL_STREAM
 * or INVOCATION_ID set), to stderr otherwise. The level comes from
 * DESKPHONE_LOG_LEVEL_<SERVICE> (e.g. DESKPHONE_LOG_LEVEL_SIPD), then
 * DESKPHONE_LOG_LEVEL, then log_set_max_level() (from configuration).
 * Levels are syslog's: "err", "warning", "notice", "info", "debug" or 3..7.
 *
 * The log_*_errno() forms return the negative errno they were given, and
 * let "%m" print that errno: return log_error_errno(r, "Failed to X: %m");
 */

void log_setup(const char *service);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);
/* True when the level was fixed by the environment (configuration must not override). */
bool log_level_from_env(void);

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...)                                               \
        ({                                                                              \
                int _level_ = (level), _e_ = (error);                                   \
                _e_ = _e_ < 0 ? -_e_ : _e_;                                             \
                _level_ <= log_get_max_level()                                          \
                        ? log_internal(_level_, _e_, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -_e_;                                                         \
        })

#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory")
