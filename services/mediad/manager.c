/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The root object, /org/deskphone/Media1: the streams, the audio device and
 * what plays on it (the mix of every stream, tones, volume, mute, route), the
 * RTP port range, and the configuration from provd.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <sys/random.h>

#include "log.h"
#include "mediad.h"
#include "util.h"

#define FETCH_TIMEOUT_MS 10000
#define FETCH_RETRY_USEC (2 * 1000 * 1000)
#define PLAYBACK_QUEUE_MAX (AUDIO_PLAYBACK_PREFILL + AUDIO_PERIOD_FRAMES) /* frames queued to play, at most */
#define VOLUME_DB_RANGE 40.0            /* volume 1 is -40 dB, 100 is 0 dB */

static char *mfree(char *p) {
        free(p);
        return NULL;
}

/* ---- streams ---- */

int manager_add_stream(Manager *m, Stream *s) {
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++)
                if (!m->streams[i]) {
                        m->streams[i] = s;
                        s->id = ++m->next_stream_id;
                        return 0;
                }
        return -EBUSY;
}

void manager_remove_stream(Manager *m, Stream *s) {
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++)
                if (m->streams[i] == s)
                        m->streams[i] = NULL;
        manager_update_audio(m);
}

/* ---- ports ---- */

static int bind_one(int family, const char *address, uint16_t port, int *ret) {
        struct sockaddr_storage sa = {};
        struct sockaddr_in *in = (struct sockaddr_in *) &sa;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa;
        socklen_t len;

        if (family == AF_INET) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                if (address && inet_pton(AF_INET, address, &in->sin_addr) != 1)
                        return -EINVAL;
                len = sizeof(*in);
        } else {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                if (address && inet_pton(AF_INET6, address, &in6->sin6_addr) != 1)
                        return -EINVAL;
                len = sizeof(*in6);
        }
        _cleanup_(closep) int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, len) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

int manager_bind_ports(Manager *m, int family, const char *address, int *ret_rtp, int *ret_rtcp, uint16_t *ret_port) {
        unsigned lo = (m->settings.port_min + 1) & ~1U, hi = m->settings.port_max;
        unsigned n = hi > lo ? (hi - lo) / 2 + 1 : 1;

        for (unsigned i = 0; i < n; i++) {
                unsigned k = (m->next_port + i) % n;
                uint16_t port = (uint16_t) (lo + 2 * k);
                _cleanup_(closep) int a = -1, b = -1;
                if (port == 0 || port >= 65535)
                        continue;
                int r = bind_one(family, address, port, &a);
                if (r == -EADDRINUSE || r == -EACCES)
                        continue;
                if (r < 0)
                        return r;
                r = bind_one(family, address, (uint16_t) (port + 1), &b);
                if (r == -EADDRINUSE || r == -EACCES)
                        continue;
                if (r < 0)
                        return r;
                m->next_port = (k + 1) % n;
                *ret_rtp = TAKE_FD(a);
                *ret_rtcp = TAKE_FD(b);
                *ret_port = port;
                return 0;
        }
        return -EADDRINUSE;
}

/* ---- audio ---- */

const char *manager_playback_device(Manager *m) {
        if (*m->settings.playback_device)
                return m->settings.playback_device;
        return m->board->routes[m->route].playback;
}

const char *manager_capture_device(Manager *m) {
        if (*m->settings.capture_device)
                return m->settings.capture_device;
        return m->board->routes[m->route].capture;
}

static float volume_gain(unsigned v) {
        if (v == 0)
                return 0;
        return powf(10.0f, (float) (((double) v - VOLUME_MAX) / (VOLUME_MAX - 1) * VOLUME_DB_RANGE / 20.0));
}

static int16_t clip(int32_t v) {
        return (int16_t) (v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
}

/* Play the tone into mix; ends it when a one-shot tone is over. */
static void mix_tone(Manager *m, int32_t *mix) {
        int16_t t[AUDIO_FRAME];

        if (!m->tone_playing)
                return;
        tone_gen_generate(&m->tone, t, AUDIO_FRAME);
        for (size_t i = 0; i < AUDIO_FRAME; i++)
                mix[i] += t[i];
}

/* Volume, ramped over the frame from the last gain to the new one: no click. */
static void apply_gain(Manager *m, const int32_t *mix, int16_t *out) {
        float target = volume_gain(m->volume), g = m->gain, step = (target - g) / AUDIO_FRAME;

        for (size_t i = 0; i < AUDIO_FRAME; i++) {
                g += step;
                out[i] = clip((int32_t) lrintf((float) mix[i] * g));
        }
        m->gain = target;
}

static void process_frame(Manager *m, AudioThread *a, int16_t *in) {
        int32_t mix[AUDIO_FRAME] = {};
        int16_t frame[AUDIO_FRAME];

        if (m->mute)
                memset(in, 0, sizeof(int16_t) * AUDIO_FRAME);
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++) {
                Stream *s = m->streams[i];
                if (!s)
                        continue;
                stream_capture(s, in);
                if (stream_playout(s, frame))
                        for (size_t k = 0; k < AUDIO_FRAME; k++)
                                mix[k] += frame[k];
        }
        mix_tone(m, mix);
        apply_gain(m, mix, frame);
        if (audio_thread_playback_queued(a) < PLAYBACK_QUEUE_MAX)
                (void) audio_thread_push_playback(a, frame);
}

static bool audio_follow(Manager *m);
static void audio_stop(Manager *m);

static void on_frames(AudioThread *a, void *userdata) {
        Manager *m = userdata;
        int16_t in[AUDIO_FRAME];

        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++)
                if (m->streams[i])
                        stream_io_poll(m->streams[i]);
        while (audio_thread_pop_capture(a, in))
                process_frame(m, a, in);
        /* after the frames: stopping the tone may stop the audio thread */
        if (m->tone_playing && tone_gen_finished(&m->tone))
                manager_stop_tone(m);
        /* the route or the configuration named other devices (manager_update_audio) */
        else if (!audio_thread_switching(a) && !audio_follow(m)) {
                audio_stop(m);
                manager_update_audio(m);
        }
}

static bool audio_needed(Manager *m) {
        if (m->tone_playing)
                return true;
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++)
                if (m->streams[i] && stream_is_active(m->streams[i]))
                        return true;
        return false;
}

static void audio_stop(Manager *m) {
        if (!m->audio)
                return;
        AudioStats st;
        audio_thread_get_stats(m->audio, &st);
        log_info("Audio stopped after %" PRIu64 " frames (%" PRIu64 " late to play, %" PRIu64 " captured frames "
                 "dropped, %" PRIu64 " device errors%s)", st.frames, st.playback_underruns, st.capture_overruns,
                 st.device_errors, st.paced ? "; paced by the thread" : "");
        if (st.paced && st.late_max_usec >= 20000) /* two periods: what may have been heard */
                log_info("The audio thread was not scheduled for up to %" PRIu64 " ms", st.late_max_usec / 1000);
        m->audio = audio_thread_stop(m->audio);
        m->audio_playback = mfree(m->audio_playback);
        m->audio_capture = mfree(m->audio_capture);
        /* every device closed, every file complete */
        (void) bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "AudioActive", NULL);
}

static void audio_start(Manager *m) {
        const char *play = manager_playback_device(m), *cap = manager_capture_device(m);

        m->audio_playback = strdup(play);
        m->audio_capture = strdup(cap);
        int r = m->audio_playback && m->audio_capture ? audio_thread_start(m->event, play, cap, on_frames, m, &m->audio)
                                                      : -ENOMEM;
        if (r < 0) {
                log_error_errno(r, "Failed to start audio: %m");
                m->audio_playback = mfree(m->audio_playback);
                m->audio_capture = mfree(m->audio_capture);
                return;
        }
        m->gain = volume_gain(m->volume);
        log_info("Audio started: playback %s, capture %s (route %s)", audio_thread_playback_name(m->audio),
                 audio_thread_capture_name(m->audio), audio_route_to_string(m->route));
        (void) bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "AudioActive", NULL);
}

static int replace_name(char **name, const char *value) {
        char *n = strdup(value);
        if (!n)
                return -ENOMEM;
        free(*name);
        *name = n;
        return 0;
}

/* Switch the running audio to the devices of the route (or of the configuration) without a
 * gap; one switch at a time, the next when the last one is over. false when the audio must be
 * started again instead. */
static bool audio_follow(Manager *m) {
        const char *play = manager_playback_device(m), *cap = manager_capture_device(m);
        bool p = !streq(m->audio_playback, play), c = !streq(m->audio_capture, cap);

        if ((!p && !c) || audio_thread_switching(m->audio))
                return true;
        uint64_t t = now_usec();
        int r = audio_thread_switch(m->audio, p ? play : NULL, c ? cap : NULL);
        if (r >= 0 && p)
                r = replace_name(&m->audio_playback, play);
        if (r >= 0 && c)
                r = replace_name(&m->audio_capture, cap);
        if (r < 0) {
                log_error_errno(r, "Failed to switch audio devices, re-opening them: %m");
                return false;
        }
        log_info("Audio switching: playback %s, capture %s (route %s), opened in %.1f ms",
                 audio_thread_playback_name(m->audio), audio_thread_capture_name(m->audio),
                 audio_route_to_string(m->route), (double) (now_usec() - t) / 1000);
        return true;
}

/* A change of devices while audio runs is made by on_frames, right after it queued frames to
 * play: opening devices blocks the loop, and then the thread has the most to play meanwhile. */
void manager_update_audio(Manager *m) {
        bool need = audio_needed(m) && !m->stopping;

        if (m->audio && !need)
                audio_stop(m);
        if (need && !m->audio)
                audio_start(m);
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++)
                if (m->streams[i])
                        stream_io_watch(m->streams[i], !m->audio);
}

int manager_set_route(Manager *m, AudioRoute route, BusError *error) {
        if (route < 0 || !m->board->routes[route].present)
                return bus_error_set(error, -EINVAL, "Board '%s' has no %s", m->board->name,
                                     strempty(audio_route_to_string(route)));
        if (route == m->route)
                return 0;
        m->route = route;
        log_info("Audio route: %s", audio_route_to_string(route));
        manager_update_audio(m);
        return bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "Route", "PlaybackDevice",
                                           "CaptureDevice", NULL);
}

int manager_set_volume(Manager *m, unsigned volume) {
        if (volume > VOLUME_MAX)
                return -EINVAL;
        if (volume == m->volume)
                return 0;
        m->volume = volume;
        return bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "Volume", NULL);
}

int manager_set_mute(Manager *m, bool mute) {
        if (mute == m->mute)
                return 0;
        m->mute = mute;
        log_info("Microphone %s", mute ? "muted" : "unmuted");
        return bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "Mute", NULL);
}

/* ---- tones ---- */

int manager_play_tone(Manager *m, ToneId id, BusError *error) {
        const char *desc = tone_lookup(m->settings.tone_country, NULL, id);

        int r = desc ? tone_gen_init_from_string(&m->tone, desc, AUDIO_RATE) : -EINVAL;
        if (r < 0)
                return bus_error_set(error, -EINVAL, "Tone '%s' of country '%s' cannot be played",
                                     tone_id_to_string(id), m->settings.tone_country);
        m->tone_playing = true;
        m->tone_id = id;
        manager_update_audio(m);
        return bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "Tone", NULL);
}

void manager_stop_tone(Manager *m) {
        if (!m->tone_playing)
                return;
        m->tone_playing = false;
        (void) bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "Tone", NULL);
        manager_update_audio(m);
}

/* ---- configuration ---- */

static int load_board(Manager *m) {
        _cleanup_(board_freep) Board *b = NULL;

        if (m->board && streq(m->board->name, m->settings.board))
                return 0;
        int r = board_load(m->settings.board, &b);
        if (r < 0 && m->board)
                return r; /* keep the one we have */
        if (r < 0) {
                log_warning("Using the built-in desktop board instead of '%s'", m->settings.board);
                r = board_load("desktop", &b);
                if (r < 0)
                        return r;
        }
        board_free(m->board);
        m->board = TAKE_PTR(b);
        m->route = m->board->default_route;
        log_info("Board %s%s%s", m->board->name, m->board->path ? " from " : " (built in)", strempty(m->board->path));
        return 0;
}

static void apply_settings(Manager *m, MediaSettings *s) {
        media_settings_done(&m->settings);
        m->settings = *s;
        *s = (MediaSettings) {};
        m->have_settings = true;

        if (!log_level_from_env() && *m->settings.log_level) {
                int l = log_level_from_string(m->settings.log_level);
                if (l >= 0)
                        log_set_max_level(l);
        }
        (void) load_board(m);
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++)
                if (m->streams[i])
                        stream_apply_jitter_settings(m->streams[i]);
        manager_update_audio(m); /* re-opens the devices if their names changed */
        (void) bus_emit_properties_changed(m->bus, MEDIA1_PATH, MEDIA1_IFACE, "Board", "Routes", "Route",
                                           "PlaybackDevice", "CaptureDevice", NULL);
}

static void fetch_config(Manager *m);

static int on_fetch_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        m->fetch_retry = sd_event_source_disable_unref(m->fetch_retry);
        fetch_config(m);
        return 0;
}

static void schedule_fetch_retry(Manager *m) {
        if (m->fetch_retry || m->stopping)
                return;
        int r = sd_event_add_time_relative(m->event, &m->fetch_retry, CLOCK_MONOTONIC, FETCH_RETRY_USEC, 0,
                                           on_fetch_retry, m);
        if (r < 0)
                log_warning_errno(r, "Cannot schedule reading the configuration again: %m");
}

static void on_config(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        Manager *m = userdata;
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;
        DBusMessageIter iter;
        DBusError e = DBUS_ERROR_INIT;
        MediaSettings s;

        m->fetching = false;
        if (error >= 0 && dbus_set_error_from_message(&e, reply)) {
                error = bus_error_to_errno(&e);
                dbus_error_free(&e);
        }
        if (error >= 0 && (!dbus_message_iter_init(reply, &iter) || bus_read_string_dict(&iter, &keys, &values) < 0))
                error = -EBADMSG;
        if (error >= 0)
                error = media_settings_from_dict(keys, values, &s);
        if (error < 0) {
                if (m->fetch_failures++ == 0)
                        log_info_errno(error, "Cannot read the configuration from provd yet (%m), using defaults "
                                       "and retrying");
                schedule_fetch_retry(m);
                return;
        }
        if (m->fetch_failures > 0 || !m->have_settings)
                log_info("Configuration received from provd");
        m->fetch_failures = 0;
        apply_settings(m, &s);
        media_settings_done(&s);
        if (m->refetch) {
                m->refetch = false;
                fetch_config(m);
        }
}

static void fetch_config(Manager *m) {
        const char *prefix = "";

        if (m->fetching) {
                m->refetch = true;
                return;
        }
        DBusMessage *msg = dbus_message_new_method_call(CONFIG1_NAME, CONFIG1_PATH, CONFIG1_IFACE, "GetAll");
        int r = msg && dbus_message_append_args(msg, DBUS_TYPE_STRING, &prefix, DBUS_TYPE_INVALID) ? 0 : -ENOMEM;
        if (r >= 0)
                r = bus_call_async(m->bus, msg, FETCH_TIMEOUT_MS, on_config, m);
        if (msg)
                dbus_message_unref(msg);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask provd for the configuration: %m");
                schedule_fetch_retry(m);
                return;
        }
        m->fetching = true;
}

static void on_config_changed(Bus *bus, DBusMessage *msg, void *userdata) {
        fetch_config(userdata);
}

/* provd came up (fetch), or a client went away (its streams go with it). */
static void on_name_owner_changed(Bus *bus, DBusMessage *msg, void *userdata) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;

        if (!dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner, DBUS_TYPE_STRING,
                                   &new_owner, DBUS_TYPE_INVALID))
                return;
        if (streq(name, CONFIG1_NAME) && *new_owner) {
                m->fetch_retry = sd_event_source_disable_unref(m->fetch_retry);
                fetch_config(m);
                return;
        }
        if (name[0] != ':' || *new_owner)
                return;
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++) {
                Stream *s = m->streams[i];
                if (s && streq(s->owner, name)) {
                        log_info("Stream %u: %s left the bus, stopping it", s->id, name);
                        stream_stop(s);
                        stream_free(s);
                }
        }
}

/* ---- life cycle ---- */

static void make_cname(Manager *m) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t r[16];

        if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                for (size_t i = 0; i < sizeof(r); i++)
                        r[i] = (uint8_t) (now_usec() >> (i % 8));
        for (size_t i = 0; i < sizeof(r); i++)
                m->cname[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
        m->cname[sizeof(r)] = 0;
}

int manager_new(sd_event *event, Bus *bus, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof(Manager));
        uint32_t r32;

        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->bus = bus;
        m->volume = VOLUME_MAX;
        make_cname(m);
        if (getrandom(&r32, sizeof(r32), GRND_NONBLOCK) == sizeof(r32))
                m->next_port = r32 % 512;
        int r = media_settings_from_dict(NULL, NULL, &m->settings);
        if (r < 0)
                return r;
        r = load_board(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->stopping = true;
        for (size_t i = 0; i < MEDIAD_STREAMS_MAX; i++)
                if (m->streams[i]) {
                        stream_stop(m->streams[i]);
                        stream_free(m->streams[i]);
                }
        audio_stop(m);
        sd_event_source_disable_unref(m->fetch_retry);
        media_settings_done(&m->settings);
        board_free(m->board);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_start(Manager *m) {
        int r = bus_add_object_manager(m->bus, MEDIAD_MANAGER_PATH);
        if (r >= 0)
                r = bus_add_object(m->bus, MEDIA1_PATH, &media1_interface, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the objects: %m");
        r = bus_add_match_signal(m->bus, CONFIG1_NAME, CONFIG1_PATH, CONFIG1_IFACE, "Changed", on_config_changed, m);
        if (r >= 0)
                r = bus_add_match_signal(m->bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
                                         "NameOwnerChanged", on_name_owner_changed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to follow the configuration: %m");
        fetch_config(m);
        return bus_request_name(m->bus, MEDIA1_NAME);
}
