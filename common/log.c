/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdarg.h>
#include <time.h>

#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_service = "deskphone";
static int log_max_level = LOG_INFO;
static bool log_env_level;
static bool log_to_journal;

static const char * const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        if (!s || !*s)
                return -EINVAL;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int) i;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        if (strcasecmp(s, "warn") == 0)
                return LOG_WARNING;
        return -EINVAL;
}

static int level_from_env(const char *service) {
        char name[64] = "DESKPHONE_LOG_LEVEL_";
        size_t n = strlen(name);

        for (const char *c = service; *c && n < sizeof(name) - 1; c++)
                name[n++] = isalnum((unsigned char) *c) ? toupper((unsigned char) *c) : '_';
        name[n] = '\0';

        int l = log_level_from_string(getenv(name));
        if (l < 0)
                l = log_level_from_string(getenv("DESKPHONE_LOG_LEVEL"));
        return l;
}

void log_setup(const char *service) {
        log_service = service;
        log_to_journal = getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID");
        if (getenv("DESKPHONE_LOG_STDERR"))
                log_to_journal = false;

        int l = level_from_env(service);
        if (l >= 0) {
                log_max_level = l;
                log_env_level = true;
        }
}

void log_set_max_level(int level) {
        if (!log_env_level && level >= 0 && level <= LOG_DEBUG)
                log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

bool log_level_from_env(void) {
        return log_env_level;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        errno = error;
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (log_to_journal) {
                char lb[32];
                snprintf(lb, sizeof(lb), "CODE_LINE=%d", line);
                sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level,
                                "SYSLOG_IDENTIFIER=%s", log_service,
                                "CODE_FILE=%s", file, lb, "CODE_FUNC=%s", func,
                                error ? "ERRNO=%i" : NULL, error, NULL);
        } else {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                struct tm tm;
                localtime_r(&ts.tv_sec, &tm);
                fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%d] %s: %s\n", tm.tm_hour, tm.tm_min,
                        tm.tm_sec, ts.tv_nsec / 1000000, log_service, (int) getpid(),
                        level <= LOG_DEBUG ? level_names[level] : "?", buf);
        }

        errno = saved;
        return -error;
}
