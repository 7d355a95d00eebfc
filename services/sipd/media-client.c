/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls to org.deskphone.Media1: CreateStream, Stream.Start/Update/Hold/Stop. */
#include "log.h"
#include "media-client.h"
#include "sipd.h"
#include "util.h"

#define MEDIA_TIMEOUT_MS 5000

typedef struct MediaReply {
        Manager *manager;
        unsigned call_id;
        char *stream;
        MediaKeysFor purpose;           /* NewKeys */
} MediaReply;

static MediaReply *media_reply_new(Manager *m, unsigned call_id, const char *stream) {
        MediaReply *r = calloc(1, sizeof(MediaReply));
        if (!r)
                return NULL;
        *r = (MediaReply){ .manager = m, .call_id = call_id };
        if (stream && !(r->stream = strdup(stream))) {
                free(r);
                return NULL;
        }
        return r;
}

static void media_reply_free(MediaReply *r) {
        free(r->stream);
        free(r);
}

/* The text of an error reply, or a fallback. */
static const char *error_text(DBusMessage *reply, int error) {
        const char *text = NULL;

        if (reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR &&
            dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID) && text)
                return text;
        return strerror(error < 0 ? -error : error);
}

static int send_call(Manager *m, DBusMessage *msg, BusReplyCallback cb, MediaReply *r) {
        int k = r ? bus_call_async(manager_bus(m), msg, MEDIA_TIMEOUT_MS, cb, r) : -ENOMEM;
        dbus_message_unref(msg);
        if (k < 0 && r)
                media_reply_free(r);
        return k;
}

/* ---- CreateStream ---- */

static int append_dict_entry(DBusMessageIter *dict, const char *key, int type, const void *value) {
        DBusMessageIter e;

        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
            !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key))
                return -ENOMEM;
        int r = bus_append_basic_variant(&e, type, value);
        if (r < 0)
                return r;
        return dbus_message_iter_close_container(dict, &e) ? 0 : -ENOMEM;
}

static int append_strv_entry(DBusMessageIter *dict, const char *key, char * const *l) {
        DBusMessageIter e, v;

        if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
            !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) ||
            !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "as", &v))
                return -ENOMEM;
        int r = bus_append_strv(&v, l);
        if (r < 0)
                return r;
        return dbus_message_iter_close_container(&e, &v) && dbus_message_iter_close_container(dict, &e)
                       ? 0
                       : -ENOMEM;
}

static int append_options(DBusMessage *msg, const MediaOptions *o) {
        DBusMessageIter iter, dict;
        dbus_uint32_t account = o->account, ptime = o->ptime;
        int r = 0;

        dbus_message_iter_init_append(msg, &iter);
        if (!dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict))
                return -ENOMEM;
        r = append_dict_entry(&dict, "account", DBUS_TYPE_UINT32, &account);
        if (r >= 0 && o->codecs && o->codecs[0])
                r = append_strv_entry(&dict, "codecs", o->codecs);
        if (r >= 0 && ptime > 0)
                r = append_dict_entry(&dict, "ptime", DBUS_TYPE_UINT32, &ptime);
        if (r >= 0 && o->srtp)
                r = append_dict_entry(&dict, "srtp", DBUS_TYPE_STRING, &o->srtp);
        if (r >= 0 && o->bind)
                r = append_dict_entry(&dict, "bind", DBUS_TYPE_STRING, &o->bind);
        if (r < 0) {
                dbus_message_iter_abandon_container(&iter, &dict);
                return r;
        }
        return dbus_message_iter_close_container(&iter, &dict) ? 0 : -ENOMEM;
}

static int parse_codecs(DBusMessageIter *v, SdpLocal *l) {
        DBusMessageIter a, s;

        if (dbus_message_iter_get_arg_type(v) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(v) != DBUS_TYPE_STRUCT)
                return -EBADMSG;
        char *sig = dbus_message_iter_get_signature(v);
        bool ok = sig && streq(sig, "a(suuus)");
        dbus_free(sig);
        if (!ok)
                return -EBADMSG;
        dbus_message_iter_recurse(v, &a);
        for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&a)) {
                const char *name, *fmtp;
                dbus_uint32_t pt, rate, channels;

                dbus_message_iter_recurse(&a, &s);
                dbus_message_iter_get_basic(&s, &name);
                dbus_message_iter_next(&s);
                dbus_message_iter_get_basic(&s, &pt);
                dbus_message_iter_next(&s);
                dbus_message_iter_get_basic(&s, &rate);
                dbus_message_iter_next(&s);
                dbus_message_iter_get_basic(&s, &channels);
                dbus_message_iter_next(&s);
                dbus_message_iter_get_basic(&s, &fmtp);
                int r = sdp_local_add_codec(l, name, pt, rate, channels, fmtp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_crypto(DBusMessageIter *v, SdpLocal *l) {
        _cleanup_(strv_freep) char **values = NULL;

        int r = bus_read_strv(v, &values);
        for (size_t i = 0; r >= 0 && values[i]; i++)
                r = sdp_local_add_crypto(l, values[i]);
        for (size_t i = 0; values && values[i]; i++)
                explicit_bzero(values[i], strlen(values[i]));
        return r;
}

static int parse_local_entry(const char *key, DBusMessageIter *v, SdpLocal *l) {
        int type = dbus_message_iter_get_arg_type(v);
        const char *s;

        if (streq(key, "address") && type == DBUS_TYPE_STRING) {
                dbus_message_iter_get_basic(v, &s);
                if (strlen(s) >= sizeof(l->address))
                        return -EBADMSG;
                strcpy(l->address, s);
        } else if (streq(key, "port") && type == DBUS_TYPE_UINT16)
                dbus_message_iter_get_basic(v, &l->port);
        else if (streq(key, "ptime") && type == DBUS_TYPE_UINT32)
                dbus_message_iter_get_basic(v, &l->ptime);
        else if (streq(key, "codecs"))
                return parse_codecs(v, l);
        else if (streq(key, "crypto") && type == DBUS_TYPE_ARRAY)
                return parse_crypto(v, l);
        return 0;
}

int media_parse_local(DBusMessageIter *iter, SdpLocal *l) {
        DBusMessageIter a, e, v;

        if (dbus_message_iter_get_arg_type(iter) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(iter) != DBUS_TYPE_DICT_ENTRY)
                return -EBADMSG;
        dbus_message_iter_recurse(iter, &a);
        for (; dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&a)) {
                const char *key;
                dbus_message_iter_recurse(&a, &e);
                if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_STRING)
                        return -EBADMSG;
                dbus_message_iter_get_basic(&e, &key);
                dbus_message_iter_next(&e);
                if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_VARIANT)
                        return -EBADMSG;
                dbus_message_iter_recurse(&e, &v);
                int r = parse_local_entry(key, &v, l);
                if (r < 0)
                        return r;
        }
        return !l->address[0] || l->port == 0 || l->n_codecs == 0 ? -EBADMSG : 0;
}

static void local_free(SdpLocal *l) {
        if (l) {
                sdp_local_erase(l);
                free(l);
        }
}

/* CreateStream's reply: the stream (whenever the reply names one) and our side of the media. */
static int parse_created(DBusMessage *reply, const char **stream, SdpLocal **ret_local) {
        DBusMessageIter iter;

        if (!dbus_message_has_signature(reply, "oa{sv}") || !dbus_message_iter_init(reply, &iter))
                return -EBADMSG;
        dbus_message_iter_get_basic(&iter, stream);
        dbus_message_iter_next(&iter);
        SdpLocal *l = malloc(sizeof(SdpLocal));
        if (!l)
                return -ENOMEM;
        sdp_local_init(l);
        int r = media_parse_local(&iter, l);
        if (r < 0) {
                local_free(l);
                return log_warning_errno(r, "Media stream %s has unusable local parameters: %m", *stream);
        }
        *ret_local = l;
        return 0;
}

static void on_created(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        MediaReply *mr = userdata;
        Call *c = manager_find_call(mr->manager, mr->call_id);
        const char *stream = NULL;
        SdpLocal *local = NULL;

        if (error >= 0)
                error = parse_created(reply, &stream, &local);
        if (stream && (error < 0 || !c)) /* unusable, or the call is gone: give it back */
                (void) media_stream_stop(mr->manager, stream);
        if (c)
                call_on_stream_created(c, error, error < 0 ? error_text(reply, error) : NULL,
                                       error < 0 ? NULL : stream, local);
        local_free(local);
        media_reply_free(mr);
}

int media_create_stream(Manager *m, unsigned call_id, const MediaOptions *o) {
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, MEDIA1_PATH, MEDIA1_IFACE, "CreateStream");
        if (!msg)
                return -ENOMEM;
        int r = append_options(msg, o);
        if (r < 0) {
                dbus_message_unref(msg);
                return r;
        }
        return send_call(m, msg, on_created, media_reply_new(m, call_id, NULL));
}

/* ---- Start, Update, Hold, Stop ---- */

/* inband_detect: "dtmf_inband_detect" true (1) or false (0), or not given (-1). */
static int append_remote(DBusMessageIter *iter, const SdpNegotiated *n, int inband_detect) {
        DBusMessageIter dict;
        const char *address = n->address, *codec = n->codec.name, *fmtp = n->codec.fmtp,
                   *direction = sdp_direction_to_string(n->direction);
        dbus_uint16_t port = n->port, rtcp_port = n->rtcp_port;
        dbus_uint32_t pt = n->codec.payload_type, rate = n->codec.clock_rate, channels = n->codec.channels,
                      ptime = n->ptime, dtmf = n->dtmf_payload_type > 0 ? (dbus_uint32_t) n->dtmf_payload_type : 0;
        int r;

        if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "{sv}", &dict))
                return -ENOMEM;
        r = append_dict_entry(&dict, "address", DBUS_TYPE_STRING, &address);
        if (r >= 0)
                r = append_dict_entry(&dict, "port", DBUS_TYPE_UINT16, &port);
        if (r >= 0)
                r = append_dict_entry(&dict, "rtcp_port", DBUS_TYPE_UINT16, &rtcp_port);
        if (r >= 0)
                r = append_dict_entry(&dict, "codec", DBUS_TYPE_STRING, &codec);
        if (r >= 0)
                r = append_dict_entry(&dict, "payload_type", DBUS_TYPE_UINT32, &pt);
        if (r >= 0)
                r = append_dict_entry(&dict, "clock_rate", DBUS_TYPE_UINT32, &rate);
        if (r >= 0)
                r = append_dict_entry(&dict, "channels", DBUS_TYPE_UINT32, &channels);
        if (r >= 0)
                r = append_dict_entry(&dict, "fmtp", DBUS_TYPE_STRING, &fmtp);
        if (r >= 0)
                r = append_dict_entry(&dict, "ptime", DBUS_TYPE_UINT32, &ptime);
        if (r >= 0 && direction)
                r = append_dict_entry(&dict, "direction", DBUS_TYPE_STRING, &direction);
        if (r >= 0)
                r = append_dict_entry(&dict, "dtmf_payload_type", DBUS_TYPE_UINT32, &dtmf);
        /* always: "" turns SRTP off (a re-INVITE may do that, when it is optional) */
        const char *crypto = n->srtp ? n->remote_crypto.value : "", *local_crypto = n->local_crypto.value;
        if (r >= 0)
                r = append_dict_entry(&dict, "crypto", DBUS_TYPE_STRING, &crypto);
        if (r >= 0 && n->srtp)
                r = append_dict_entry(&dict, "local_crypto", DBUS_TYPE_STRING, &local_crypto);
        dbus_bool_t detect = inband_detect > 0;
        if (r >= 0 && inband_detect >= 0)
                r = append_dict_entry(&dict, "dtmf_inband_detect", DBUS_TYPE_BOOLEAN, &detect);
        if (r < 0) {
                dbus_message_iter_abandon_container(iter, &dict);
                return r;
        }
        return dbus_message_iter_close_container(iter, &dict) ? 0 : -ENOMEM;
}

int media_append_remote(DBusMessageIter *iter, const SdpNegotiated *n) {
        return append_remote(iter, n, -1);
}

static void on_stream_reply(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        MediaReply *mr = userdata;

        if (error < 0) {
                Call *c = manager_find_call(mr->manager, mr->call_id);
                const char *text = error_text(reply, error);
                log_warning("Media stream %s of call %u failed: %s", mr->stream, mr->call_id, text);
                if (c)
                        call_on_stream_failed(c, error, text);
        }
        media_reply_free(mr);
}

/* The stream's Encryption after Start/Update: what is on the wire, not what SDP said. */
static void on_encryption(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        MediaReply *mr = userdata;
        Call *c = manager_find_call(mr->manager, mr->call_id);
        DBusMessageIter iter, v;
        const char *value = NULL;

        if (error >= 0 && dbus_message_has_signature(reply, "v") && dbus_message_iter_init(reply, &iter)) {
                dbus_message_iter_recurse(&iter, &v);
                if (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_STRING)
                        dbus_message_iter_get_basic(&v, &value);
        }
        if (!value)
                log_warning("Cannot read the encryption of media stream %s: %s", mr->stream,
                            error < 0 ? error_text(reply, error) : "not a string");
        else if (c)
                call_on_media_encryption(c, value);
        media_reply_free(mr);
}

static int get_encryption(MediaReply *mr) {
        const char *iface = MEDIA1_STREAM_IFACE, *name = "Encryption";
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, mr->stream, "org.freedesktop.DBus.Properties",
                                                        "Get");

        if (!msg || !dbus_message_append_args(msg, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name,
                                              DBUS_TYPE_INVALID)) {
                if (msg)
                        dbus_message_unref(msg);
                media_reply_free(mr);
                return -ENOMEM;
        }
        return send_call(mr->manager, msg, on_encryption, mr);
}

static void on_started(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        MediaReply *mr = userdata;

        if (error < 0) {
                on_stream_reply(bus, reply, error, mr);
                return;
        }
        int r = get_encryption(mr);
        if (r < 0)
                log_warning_errno(r, "Cannot ask for the encryption of a media stream: %m");
}

int media_stream_start(Manager *m, unsigned call_id, const char *stream, const SdpNegotiated *n, bool update,
                       int inband_detect) {
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, stream, MEDIA1_STREAM_IFACE,
                                                        update ? "Update" : "Start");
        DBusMessageIter iter;

        if (!msg)
                return -ENOMEM;
        dbus_message_iter_init_append(msg, &iter);
        int r = append_remote(&iter, n, inband_detect);
        if (r < 0) {
                dbus_message_unref(msg);
                return r;
        }
        return send_call(m, msg, on_started, media_reply_new(m, call_id, stream));
}

static void on_new_keys(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        MediaReply *mr = userdata;
        Call *c = manager_find_call(mr->manager, mr->call_id);
        _cleanup_(strv_freep) char **crypto = NULL;
        DBusMessageIter iter;

        if (error >= 0 && (!dbus_message_has_signature(reply, "as") || !dbus_message_iter_init(reply, &iter) ||
                           bus_read_strv(&iter, &crypto) < 0))
                error = -EBADMSG;
        if (c)
                call_on_new_keys(c, mr->purpose, error, error < 0 ? error_text(reply, error) : NULL,
                                 error < 0 ? NULL : crypto);
        for (size_t i = 0; crypto && crypto[i]; i++)
                explicit_bzero(crypto[i], strlen(crypto[i]));
        media_reply_free(mr);
}

int media_stream_new_keys(Manager *m, unsigned call_id, const char *stream, MediaKeysFor purpose) {
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, stream, MEDIA1_STREAM_IFACE, "NewKeys");
        MediaReply *mr = media_reply_new(m, call_id, stream);

        if (!msg) {
                if (mr)
                        media_reply_free(mr);
                return -ENOMEM;
        }
        if (mr)
                mr->purpose = purpose;
        return send_call(m, msg, on_new_keys, mr);
}

int media_stream_hold(Manager *m, unsigned call_id, const char *stream, SdpDirection d) {
        const char *direction = sdp_direction_to_string(d);
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, stream, MEDIA1_STREAM_IFACE, "Hold");

        if (!msg || !direction || !dbus_message_append_args(msg, DBUS_TYPE_STRING, &direction, DBUS_TYPE_INVALID)) {
                if (msg)
                        dbus_message_unref(msg);
                return -ENOMEM;
        }
        return send_call(m, msg, on_stream_reply, media_reply_new(m, call_id, stream));
}

static void on_stopped(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        MediaReply *mr = userdata;

        if (error < 0)
                log_debug("Stopping media stream %s failed: %s", mr->stream, error_text(reply, error));
        media_reply_free(mr);
}

int media_stream_stop(Manager *m, const char *stream) {
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, stream, MEDIA1_STREAM_IFACE, "Stop");
        if (!msg)
                return -ENOMEM;
        return send_call(m, msg, on_stopped, media_reply_new(m, 0, stream));
}

/* ---- tones ---- */

static void on_tone(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        call_tones_on_reply(userdata, error, error < 0 ? error_text(reply, error) : NULL);
}

static DBusMessage *new_tone_call(const char *tone) {
        DBusMessage *msg = dbus_message_new_method_call(MEDIA1_NAME, MEDIA1_PATH, MEDIA1_IFACE,
                                                        tone ? "PlayTone" : "StopTone");

        if (msg && tone && !dbus_message_append_args(msg, DBUS_TYPE_STRING, &tone, DBUS_TYPE_INVALID)) {
                dbus_message_unref(msg);
                return NULL;
        }
        return msg;
}

int media_set_tone(Manager *m, const char *tone) {
        DBusMessage *msg = new_tone_call(tone);
        if (!msg)
                return -ENOMEM;
        int r = bus_call_async(manager_bus(m), msg, MEDIA_TIMEOUT_MS, on_tone, m);
        dbus_message_unref(msg);
        return r;
}

int media_stop_tone_no_reply(Manager *m) {
        DBusMessage *msg = new_tone_call(NULL);
        if (!msg)
                return -ENOMEM;
        dbus_message_set_no_reply(msg, true);
        int r = bus_send(manager_bus(m), msg);
        dbus_message_unref(msg);
        return r;
}
