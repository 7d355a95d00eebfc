/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When runs start: power-on, repeat.minutes, the weekly window, retries; jitter and backoff; check-sync. */
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "provd.h"
#include "provision-internal.h"
#include "provision-local.h"
#include "util.h"

#define USEC_PER_SEC 1000000ULL
#define RETRY_FIRST_S 60U
#define RETRY_MAX_S 3600U
#define RETRIES_MAX 10U
#define TIMER_ACCURACY_USEC (100ULL * 1000ULL)

uint64_t provision_now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000ULL;
}

static uint64_t random_below(uint64_t n) {
        uint64_t x;

        if (n == 0)
                return 0;
        if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t) sizeof(x))
                x = (uint64_t) now_usec() * 6364136223846793005ULL;
        return x % n;
}

static const char *get(Provision *pv, const char *key) {
        return strempty(store_get(pv->provd->store, key));
}

static unsigned get_uint(Provision *pv, const char *key) {
        unsigned u;
        return safe_atou(get(pv, key), &u) >= 0 ? u : 0;
}

static void repeat_plan(Provision *pv, uint64_t now) {
        if (!streq(get(pv, "static.auto_provision.repeat.enable"), "1")) {
                pv->repeat_at = 0;
                return;
        }
        if (pv->repeat_at)
                return;
        uint64_t from = pv->last_time ?: now;
        uint64_t jitter = random_below((uint64_t) get_uint(pv, "deskphone.provision.jitter_seconds") + 1);
        pv->repeat_at = from + ((uint64_t) get_uint(pv, "static.auto_provision.repeat.minutes") * 60 + jitter) *
                        USEC_PER_SEC;
}

static void weekly_plan(Provision *pv, uint64_t now) {
        time_t start, end, from = (time_t) (now / USEC_PER_SEC);

        if (!streq(get(pv, "static.auto_provision.weekly.enable"), "1")) {
                pv->weekly_at = 0;
                return;
        }
        if (pv->weekly_at)
                return;
        if (pv->weekly_done_until > from)
                from = pv->weekly_done_until;
        if (provision_weekly_next(from, get(pv, "static.auto_provision.weekly.dayofweek"),
                                  get(pv, "static.auto_provision.weekly.begin_time"),
                                  get(pv, "static.auto_provision.weekly.end_time"), &start, &end) < 0)
                return;
        /* anywhere in the window: a fleet does not come all at once */
        pv->weekly_at = (uint64_t) start * USEC_PER_SEC + random_below((uint64_t) (end - start) * USEC_PER_SEC);
        pv->weekly_end = end;
}

static uint64_t earliest(uint64_t a, uint64_t b) {
        return a == 0 ? b : b == 0 ? a : MIN(a, b);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void schedule(Provision *pv) {
        uint64_t now = provision_now_realtime(), next;

        repeat_plan(pv, now);
        weekly_plan(pv, now);
        next = earliest(earliest(pv->retry_at, pv->repeat_at), pv->weekly_at);

        int r = 0;
        if (next == 0 && pv->timer)
                r = sd_event_source_set_enabled(pv->timer, SD_EVENT_OFF);
        else if (next > 0 && !pv->timer)
                r = sd_event_add_time(pv->provd->event, &pv->timer, CLOCK_REALTIME, next, TIMER_ACCURACY_USEC,
                                      on_timer, pv);
        else if (next > 0) {
                r = sd_event_source_set_time(pv->timer, next);
                if (r >= 0)
                        r = sd_event_source_set_enabled(pv->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to schedule provisioning, ignoring: %m");
        if (next != pv->next_time) {
                pv->next_time = next;
                provision_bus_changed(pv->provd, "NextTime", NULL);
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Provision *pv = userdata;
        uint64_t now = provision_now_realtime() + TIMER_ACCURACY_USEC;
        char reason[256] = "";

        if (pv->retry_at && pv->retry_at <= now)
                pv->retry_at = 0;
        if (pv->repeat_at && pv->repeat_at <= now)
                pv->repeat_at = 0;
        if (pv->weekly_at && pv->weekly_at <= now) {
                pv->weekly_at = 0;
                pv->weekly_done_until = pv->weekly_end; /* once per window */
        }
        pv->next_time = 0;
        int r = provision_start_run(pv, NULL, false, PROVISION_TRIGGER_SCHEDULE, reason, sizeof(reason));
        if (r == -ENOENT)
                log_debug("Scheduled provisioning skipped: %s", reason);
        else if (r < 0 && r != -EINPROGRESS)
                log_warning_errno(r, "Failed to start scheduled provisioning: %m");
        if (r < 0)
                schedule(pv);
        return 0;
}

/*
 * Check-sync. A registrar sends NOTIFY Event: check-sync when the administrator changed the files;
 * sipd relays it as Start({"reason": "check-sync"}). With no run going on, a run starts now; a
 * scheduled run that is only waiting (repeat's jitter, a retry's backoff: timers, not runs) does not
 * hold it back, and a check-sync run that fails for a reason that may pass goes on with the backoff
 * like a scheduled one. During a run (fetching or applying) the files it fetched may be the old
 * ones: the check-sync is remembered and one more run starts as soon as that run ends, whatever its
 * result (Cancel() forgets it). However many come during one run, one run follows.
 *
 * Only check-sync is remembered. An administrator's Start during a run still fails with InProgress:
 * it gets an answer, can repeat itself, and its "url" and "force" belong to that call.
 *
 * The rate limit stays in sipd (services/sipd/notify.c): it relays at most one check-sync per 30 s
 * (none while provd has not answered the last one) and answers the others 200 without relaying
 * them. So check-syncs start at most one run per 30 s, queued or not, and a check-sync that sipd
 * folds into the last one it relayed is not remembered here.
 */
static int on_queued_run(sd_event_source *s, void *userdata) {
        Provision *pv = userdata;
        char reason[256] = "";

        if (!pv->check_sync_queued || pv->run)
                return 0; /* another run came first: this one follows it */
        pv->check_sync_queued = false;
        /* the last run's end goes out first: State is seen leaving "fetching" between the two runs */
        if (pv->provd->bus)
                bus_flush_properties_changed(pv->provd->bus);
        log_info("Provisioning again: a check-sync came during the last run");
        int r = provision_start_run(pv, NULL, false, PROVISION_TRIGGER_CHECK_SYNC, reason, sizeof(reason));
        if (r == -ENOENT)
                log_warning("Provisioning for check-sync skipped: %s", reason);
        else if (r < 0)
                log_warning_errno(r, "Failed to start provisioning for check-sync: %m");
        return 0;
}

/* Not from run_end() itself: its callers still hold the run that ended. Before the bus's sources
 * (normal priority), so that no request is served between the two runs. */
static void queued_run_arm(Provision *pv) {
        int r;

        if (pv->queued_run)
                r = sd_event_source_set_enabled(pv->queued_run, SD_EVENT_ONESHOT);
        else {
                r = sd_event_add_defer(pv->provd->event, &pv->queued_run, on_queued_run, pv);
                if (r >= 0)
                        r = sd_event_source_set_priority(pv->queued_run, SD_EVENT_PRIORITY_IMPORTANT);
        }
        if (r < 0) {
                pv->check_sync_queued = false;
                log_warning_errno(r, "Failed to queue provisioning for check-sync, ignoring: %m");
        }
}

int provision_check_sync(Provision *pv, char *reason, size_t reason_size) {
        if (!pv->run)
                return provision_start_run(pv, NULL, false, PROVISION_TRIGGER_CHECK_SYNC, reason, reason_size);
        if (pv->check_sync_queued)
                log_debug("check-sync during a run: one more run follows it already");
        else
                log_info("check-sync during a run: provisioning again when it ends");
        pv->check_sync_queued = true;
        return 0;
}

void provision_run_ended(Provision *pv, ProvisionTrigger trigger, ProvisionResult result, bool transient,
                         uint64_t retry_after_s) {
        uint64_t now = provision_now_realtime();

        pv->retry_at = 0;
        if (result != PROVISION_RESULT_FAILED)
                pv->n_retries = 0;
        else if (trigger != PROVISION_TRIGGER_REQUEST && transient && pv->n_retries < RETRIES_MAX) {
                uint64_t delay = retry_after_s ?: MIN((uint64_t) RETRY_FIRST_S << pv->n_retries, RETRY_MAX_S);
                pv->retry_at = now + delay * USEC_PER_SEC;
                pv->n_retries++;
                log_notice("Provisioning again in %llu s (attempt %u of %u)", (unsigned long long) delay,
                           pv->n_retries + 1, RETRIES_MAX + 1);
        }
        pv->repeat_at = 0; /* counts from this run */
        if (pv->powered_on)
                schedule(pv);
        if (pv->check_sync_queued)
                queued_run_arm(pv);
}

void provision_power_on(Provision *pv) {
        pv->powered_on = true;
        if (provision_pnp_start(pv) <= 0) /* else provision-pnp.c goes on when it is done */
                provision_power_on_run(pv);
}

void provision_power_on_run(Provision *pv) {
        char reason[256] = "";

        if (streq(get(pv, "static.auto_provision.power_on"), "1")) {
                int r = provision_start_run(pv, NULL, false, PROVISION_TRIGGER_POWER_ON, reason, sizeof(reason));
                if (r == -ENOENT)
                        log_debug("No provisioning at power-on: %s", reason);
                else if (r < 0)
                        log_warning_errno(r, "Failed to start provisioning at power-on: %m");
        }
        schedule(pv);
}

void provision_config_changed(Provision *pv, char * const *keys) {
        bool relevant = false;

        provision_local_changed(pv); /* <mac>-local.cfg to the server (provision-local.c) */

        for (size_t i = 0; keys && keys[i]; i++)
                relevant = relevant || startswith(keys[i], "static.auto_provision.repeat.") ||
                           startswith(keys[i], "static.auto_provision.weekly.") ||
                           streq(keys[i], "deskphone.provision.jitter_seconds");
        if (!relevant || !pv->powered_on)
                return;
        pv->repeat_at = pv->weekly_at = 0;
        schedule(pv);
}

void provision_schedule_done(Provision *pv) {
        pv->timer = sd_event_source_disable_unref(pv->timer);
        pv->queued_run = sd_event_source_disable_unref(pv->queued_run);
}
