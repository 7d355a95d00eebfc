/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-media1: owns org.deskphone.Media1 on a test phone's bus in place of
 * mediad. Usage: DESKPHONE_BUS=<address> fake-media1 [--fault NAME[=VALUE]...]
 * Faults (also from $FAKE_MEDIA1_FAULTS, comma-separated, and at run time by
 * FakeSetFault): create-fails, start-fails, slow-create=MS, no-audio-codec.
 */
#include <getopt.h>
#include <stdarg.h>

#include "daemon.h"
#include "fake-media1.h"
#include "log.h"
#include "util.h"

#define SLOW_CREATE_MAX_MS 60000

static bool isempty(const char *s) {
        return !s || !*s;
}

const Codec fake_codecs[] = {
        { "PCMU", 0, 8000, 1, "" },
        { "PCMA", 8, 8000, 1, "" },
        { "G722", 9, 8000, 1, "" },
        { "opus", 111, 48000, 2, "useinbandfec=1" },
        { "telephone-event", 101, 8000, 1, "0-16" },
        {}
};

static const char * const default_codecs[] = { "PCMU", "PCMA", "G722" };

const Codec *codec_find(const char *name) {
        for (const Codec *c = fake_codecs; c->name; c++)
                if (strcasecmp(c->name, name) == 0)
                        return c;
        return NULL;
}

const Codec *codec_find_payload_type(uint32_t pt) {
        for (const Codec *c = fake_codecs; c->name; c++)
                if (c->payload_type == pt)
                        return c;
        return NULL;
}

/* ---- the call log ---- */

void fake_log(Fake *f, const char *format, ...) {
        char *line;
        va_list ap;

        va_start(ap, format);
        int r = vasprintf(&line, format, ap);
        va_end(ap);
        if (r < 0) {
                log_oom();
                return;
        }
        log_info("%s", line);
        if (f->n_log == FAKE_LOG_MAX) {
                free(f->log[0]);
                memmove(f->log, f->log + 1, (f->n_log - 1) * sizeof(char *));
                f->log[--f->n_log] = NULL;
        }
        if (strv_consume(&f->log, line) < 0) {
                log_oom();
                return;
        }
        f->n_log++;
}

static void format_value(FILE *out, DBusMessageIter *v);

static void format_container(FILE *out, DBusMessageIter *v, const char *open, const char *close) {
        DBusMessageIter sub;
        bool first = true;

        fputs(open, out);
        dbus_message_iter_recurse(v, &sub);
        for (; dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID; dbus_message_iter_next(&sub)) {
                if (!first)
                        fputc(',', out);
                format_value(out, &sub);
                first = false;
        }
        fputs(close, out);
}

static void format_value(FILE *out, DBusMessageIter *v) {
        DBusBasicValue b;
        int type = dbus_message_iter_get_arg_type(v);

        if (dbus_type_is_basic(type))
                dbus_message_iter_get_basic(v, &b);
        switch (type) {
        case DBUS_TYPE_STRING:
        case DBUS_TYPE_OBJECT_PATH:
        case DBUS_TYPE_SIGNATURE:
                fputs(b.str, out);
                break;
        case DBUS_TYPE_BOOLEAN:
                fputs(b.bool_val ? "true" : "false", out);
                break;
        case DBUS_TYPE_BYTE:
                fprintf(out, "%u", b.byt);
                break;
        case DBUS_TYPE_UINT16:
                fprintf(out, "%u", b.u16);
                break;
        case DBUS_TYPE_INT16:
                fprintf(out, "%d", b.i16);
                break;
        case DBUS_TYPE_UINT32:
                fprintf(out, "%u", b.u32);
                break;
        case DBUS_TYPE_INT32:
                fprintf(out, "%d", b.i32);
                break;
        case DBUS_TYPE_UINT64:
                fprintf(out, "%llu", (unsigned long long) b.u64);
                break;
        case DBUS_TYPE_INT64:
                fprintf(out, "%lld", (long long) b.i64);
                break;
        case DBUS_TYPE_DOUBLE:
                fprintf(out, "%g", b.dbl);
                break;
        case DBUS_TYPE_ARRAY:
                format_container(out, v, "", "");
                break;
        case DBUS_TYPE_STRUCT:
        case DBUS_TYPE_DICT_ENTRY:
                format_container(out, v, "(", ")");
                break;
        case DBUS_TYPE_VARIANT:
                format_container(out, v, "", "");
                break;
        default:
                fputc('?', out);
        }
}

char *fake_format_dict(DBusMessageIter *iter) {
        DBusMessageIter array;
        char *text = NULL;
        size_t size = 0;
        bool first = true;

        if (dbus_message_iter_get_arg_type(iter) != DBUS_TYPE_ARRAY)
                return strdup("");
        FILE *out = open_memstream(&text, &size);
        if (!out)
                return NULL;
        dbus_message_iter_recurse(iter, &array);
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&array)) {
                DBusMessageIter entry;
                const char *key;

                dbus_message_iter_recurse(&array, &entry);
                dbus_message_iter_get_basic(&entry, &key);
                dbus_message_iter_next(&entry);
                fprintf(out, "%s%s=", first ? "" : " ", key);
                format_value(out, &entry);
                first = false;
        }
        if (fclose(out) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* ---- faults ---- */

int fake_set_fault(Fake *f, const char *name, unsigned value) {
        if (streq(name, "none"))
                f->faults = (Faults) {};
        else if (streq(name, "create-fails"))
                f->faults.create_fails = value != 0;
        else if (streq(name, "start-fails"))
                f->faults.start_fails = value != 0;
        else if (streq(name, "no-audio-codec"))
                f->faults.no_audio_codec = value != 0;
        else if (streq(name, "slow-create")) {
                if (value > SLOW_CREATE_MAX_MS)
                        return -ERANGE;
                f->faults.slow_create_ms = value;
        } else
                return -EINVAL;
        log_info("Fault %s set to %u", name, value);
        return 0;
}

/* "name" or "name=value"; a bare name means 1. */
static int parse_fault(Fake *f, const char *spec) {
        _cleanup_(freep) char *copy = strdup(spec);
        unsigned value = 1;

        if (!copy)
                return -ENOMEM;
        char *eq = strchr(copy, '=');
        if (eq) {
                *eq = '\0';
                int r = safe_atou(eq + 1, &value);
                if (r < 0)
                        return r;
        }
        return fake_set_fault(f, copy, value);
}

static int parse_fault_list(Fake *f, const char *list) {
        _cleanup_(freep) char *copy = strdup(list);

        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int r = parse_fault(f, t);
                if (r < 0)
                        return log_error_errno(r, "Invalid fault '%s': %m", t);
        }
        return 0;
}

/* ---- CreateStream ---- */

typedef struct Options {
        const char *bind;
        const char *family;
        const char *srtp;
        char **codecs;
        uint32_t ptime;
} Options;

static void options_done(Options *o) {
        o->codecs = strv_free(o->codecs);
}

static const struct {
        const char *key;
        const char *signature;
} option_fields[] = {
        { "account", "u" }, { "codecs", "as" }, { "ptime", "u" },
        { "srtp", "s" },    { "family", "s" },  { "bind", "s" },
};

static int options_store(Options *o, const char *key, DBusMessageIter *v) {
        if (streq(key, "codecs"))
                return bus_read_strv(v, &o->codecs);
        if (streq(key, "ptime"))
                dbus_message_iter_get_basic(v, &o->ptime);
        else if (streq(key, "srtp"))
                dbus_message_iter_get_basic(v, &o->srtp);
        else if (streq(key, "family"))
                dbus_message_iter_get_basic(v, &o->family);
        else if (streq(key, "bind"))
                dbus_message_iter_get_basic(v, &o->bind);
        return 0;
}

static int options_entry(Options *o, DBusMessageIter *entry, BusError *error) {
        DBusMessageIter v;
        const char *key;

        dbus_message_iter_get_basic(entry, &key);
        dbus_message_iter_next(entry);
        dbus_message_iter_recurse(entry, &v);
        _cleanup_(freep) char *sig = dbus_message_iter_get_signature(&v);
        if (!sig)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(option_fields); i++) {
                if (!streq(option_fields[i].key, key))
                        continue;
                if (!streq(option_fields[i].signature, sig))
                        return bus_error_set(error, -EINVAL, "Option '%s' must be of type '%s', got '%s'", key,
                                             option_fields[i].signature, sig);
                return options_store(o, key, &v);
        }
        return bus_error_set(error, -EINVAL, "Unknown option '%s'", key);
}

static int options_validate(Options *o, BusError *error) {
        if (o->srtp && !streq(o->srtp, "off") && !streq(o->srtp, "optional") && !streq(o->srtp, "compulsory"))
                return bus_error_set(error, -EINVAL, "Invalid srtp '%s'", o->srtp);
        if (o->srtp && streq(o->srtp, "compulsory"))
                return bus_error_set(error, -EOPNOTSUPP, "fake-media1 has no SRTP");
        if (o->family && !streq(o->family, "ipv4") && !streq(o->family, "ipv6"))
                return bus_error_set(error, -EINVAL, "Invalid family '%s'", o->family);
        if (o->ptime == 0)
                o->ptime = 20;
        if (o->ptime > 200)
                return bus_error_set(error, -EINVAL, "Invalid ptime %u", o->ptime);
        if (!o->bind)
                o->bind = o->family && streq(o->family, "ipv6") ? "::1" : "127.0.0.1";
        return 0;
}

static int options_parse(DBusMessage *m, Options *o, BusError *error) {
        DBusMessageIter iter, array;

        dbus_message_iter_init(m, &iter);
        dbus_message_iter_recurse(&iter, &array);
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&array)) {
                DBusMessageIter entry;
                dbus_message_iter_recurse(&array, &entry);
                int r = options_entry(o, &entry, error);
                if (r < 0)
                        return r;
        }
        return options_validate(o, error);
}

static bool stream_has_codec(const Stream *s, const Codec *c) {
        for (size_t i = 0; i < s->n_codecs; i++)
                if (s->codecs[i] == c)
                        return true;
        return false;
}

/* The offered codecs, in the caller's order, telephone-event last. Like a
 * real media service, names it does not support are left out. */
static int stream_set_codecs(Stream *s, char **names, BusError *error) {
        size_t n = names ? strv_length(names) : ELEMENTSOF(default_codecs);

        s->n_codecs = 0;
        for (size_t i = 0; i < n && s->n_codecs < FAKE_CODECS_MAX - 1; i++) {
                const char *name = names ? names[i] : default_codecs[i];
                const Codec *c = codec_find(name);
                if (!c)
                        log_notice("Codec '%s' not supported, leaving it out", name);
                else if (!streq(c->name, "telephone-event") && !stream_has_codec(s, c))
                        s->codecs[s->n_codecs++] = c;
        }
        if (s->n_codecs == 0)
                return bus_error_set(error, -EINVAL, "None of the codecs asked for is supported");
        s->codecs[s->n_codecs++] = codec_find("telephone-event");
        return 0;
}

static int create_stream(Fake *f, DBusMessage *m, BusError *error) {
        _cleanup_(options_done) Options o = {};
        DBusMessageIter iter;
        _cleanup_(freep) char *args = NULL;

        if (dbus_message_iter_init(m, &iter))
                args = fake_format_dict(&iter);
        fake_log(f, "CreateStream%s%s", isempty(args) ? "" : " ", strempty(args));
        if (f->faults.create_fails)
                return bus_error_set(error, -EIO, "Injected fault: create-fails");

        int r = options_parse(m, &o, error);
        if (r < 0)
                return r;
        _cleanup_(stream_freep) Stream *s = NULL;
        r = stream_new(f, o.bind, &s);
        if (r == -EBUSY)
                return bus_error_set(error, r, "Too many streams (%d)", FAKE_STREAMS_MAX);
        if (r < 0)
                return bus_error_set(error, r, "Cannot bind an RTP port pair on %s: %s", o.bind, strerror(-r));
        s->ptime = o.ptime;
        r = stream_set_codecs(s, o.codecs, error);
        if (r < 0)
                return r;
        if (f->faults.no_audio_codec) { /* a local description nobody can answer or offer */
                s->codecs[0] = codec_find("telephone-event");
                s->n_codecs = 1;
        }

        DBusMessage *reply = dbus_message_new_method_return(m);
        if (!reply)
                return -ENOMEM;
        dbus_message_iter_init_append(reply, &iter);
        r = stream_append_local(s, &iter);
        if (r >= 0)
                r = bus_reply_message(f->bus, reply);
        dbus_message_unref(reply);
        if (r < 0)
                return r;
        fake_log(f, "Created stream/%u port=%u", s->id, s->local_port);
        TAKE_PTR(s);
        return 0;
}

static void create_stream_reply(Fake *f, DBusMessage *m) {
        BusError error = {};

        int r = create_stream(f, m, &error);
        if (r < 0)
                (void) bus_reply_error_errno(f->bus, m, r, "%s", error.message[0] ? error.message : strerror(-r));
}

typedef struct Pending {
        Fake *fake;
        DBusMessage *message;
} Pending;

static void pending_free(void *userdata) {
        Pending *p = userdata;
        dbus_message_unref(p->message);
        free(p);
}

static int on_slow_create(sd_event_source *source, uint64_t usec, void *userdata) {
        Pending *p = userdata;

        /* the one-shot source stays, disabled, until the loop goes (then p is freed) */
        create_stream_reply(p->fake, p->message);
        return 0;
}

static int create_stream_later(Fake *f, DBusMessage *m) {
        sd_event_source *source;
        Pending *p = calloc(1, sizeof(Pending));

        if (!p)
                return -ENOMEM;
        *p = (Pending) { f, dbus_message_ref(m) };
        int r = sd_event_add_time_relative(f->event, &source, CLOCK_MONOTONIC,
                                           f->faults.slow_create_ms * 1000ULL, 0, on_slow_create, p);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        (void) sd_event_source_set_destroy_callback(source, pending_free);
        (void) sd_event_source_set_floating(source, true);
        sd_event_source_unref(source);
        return 0;
}

/* ---- org.deskphone.Media1 ---- */

static int method_create_stream(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Fake *f = userdata;

        if (f->faults.slow_create_ms > 0)
                return create_stream_later(f, m);
        create_stream_reply(f, m);
        return 0;
}

static int reply_log(Bus *bus, DBusMessage *m, Fake *f) {
        DBusMessageIter iter;
        DBusMessage *reply = dbus_message_new_method_return(m);

        if (!reply)
                return -ENOMEM;
        dbus_message_iter_init_append(reply, &iter);
        int r = bus_append_strv(&iter, f->log);
        if (r >= 0)
                r = bus_reply_message(bus, reply);
        dbus_message_unref(reply);
        return r;
}

static int method_fake_get_log(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return reply_log(bus, m, userdata);
}

static int method_fake_clear_log(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Fake *f = userdata;

        f->log = strv_free(f->log);
        f->n_log = 0;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_fake_set_fault(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Fake *f = userdata;
        const char *name;
        uint32_t value;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_UINT32, &value, DBUS_TYPE_INVALID))
                return -EINVAL;
        int r = fake_set_fault(f, name, value);
        if (r == -ERANGE)
                return bus_error_set(error, r, "Value %u out of range for %s", value, name);
        if (r < 0)
                return bus_error_set(error, r, "Unknown fault '%s' (none, create-fails, start-fails, "
                                     "slow-create, no-audio-codec)", name);
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int get_log(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Fake *f = userdata;
        return bus_append_strv(iter, f->log);
}

static const BusMethod media1_methods[] = {
        { "CreateStream", "a{sv}", "options", "oa{sv}", "stream,local", method_create_stream },
        { "FakeGetLog", "", "", "as", "log", method_fake_get_log },
        { "FakeClearLog", "", "", "", "", method_fake_clear_log },
        { "FakeSetFault", "su", "name,value", "", "", method_fake_set_fault },
        {}
};

static const BusProperty media1_properties[] = {
        { "Log", "as", get_log, NULL, false },
        {}
};

static const BusInterface media1_interface = {
        .name = MEDIA1_IFACE,
        .methods = media1_methods,
        .properties = media1_properties,
};

/* ---- main ---- */

static const char *arg_bus;

static void help(void) {
        printf("Usage: fake-media1 [OPTIONS]\n\n"
               "A test double of mediad: owns org.deskphone.Media1 on a test phone's bus.\n\n"
               "  --bus ADDRESS       D-Bus address (default: $DESKPHONE_BUS)\n"
               "  --fault NAME[=N]    inject a fault: create-fails, start-fails, slow-create=MS,\n"
               "                      no-audio-codec\n"
               "                      (also $FAKE_MEDIA1_FAULTS, comma-separated)\n"
               "  -h --help           show this help\n");
}

static int parse_argv(Fake *f, int argc, char *argv[]) {
        enum { ARG_BUS = 0x100, ARG_FAULT };
        static const struct option options[] = {
                { "bus", required_argument, NULL, ARG_BUS },
                { "fault", required_argument, NULL, ARG_FAULT },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *env = getenv("FAKE_MEDIA1_FAULTS");
        int c, r;

        if (env && *env && parse_fault_list(f, env) < 0)
                return -EINVAL;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_BUS:
                        arg_bus = optarg;
                        break;
                case ARG_FAULT:
                        r = parse_fault_list(f, optarg);
                        if (r < 0)
                                return r;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}

static int fake_register(Fake *f) {
        int r = bus_add_object_manager(f->bus, MEDIA1_MANAGER_PATH);
        if (r >= 0)
                r = bus_add_object(f->bus, MEDIA1_PATH, &media1_interface, f);
        if (r >= 0)
                r = bus_request_name(f->bus, MEDIA1_NAME);
        return r;
}

static void fake_done(Fake *f) {
        for (size_t i = 0; i < FAKE_STREAMS_MAX; i++)
                stream_free(f->streams[i]);
        bus_free(f->bus);
        sd_event_unref(f->event);
        strv_free(f->log);
}

static int run(int argc, char *argv[]) {
        Fake f = {};

        log_setup("fake-media1");
        int r = parse_argv(&f, argc, argv);
        if (r <= 0)
                return r;

        r = daemon_event_new(NULL, NULL, &f.event);
        if (r < 0)
                goto finish;
        r = bus_open(f.event, arg_bus, &f.bus);
        if (r < 0)
                goto finish;
        r = fake_register(&f);
        if (r < 0) {
                log_error_errno(r, "Failed to register on the bus: %m");
                goto finish;
        }
        /* the harness waits for this line: the name is ours from here on */
        printf("FAKE_MEDIA1_READY\n");
        fflush(stdout);
        log_info("Ready");
        r = sd_event_loop(f.event);
finish:
        fake_done(&f);
        return r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
