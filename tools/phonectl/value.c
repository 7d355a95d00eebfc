/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <strings.h>

#include "phonectl.h"
#include "util.h"

/*
 * Text: strings as they are, booleans yes/no, numbers in decimal, arrays as
 * "a, b, c" (in brackets when nested), dictionaries as "key=value, ...",
 * structures as "(a, b)", byte arrays in hex. JSON: the natural mapping, with
 * dictionaries as objects and structures as arrays.
 */

static void print_text(FILE *f, DBusMessageIter *iter, bool nested);

/* The text of a basic value; buf holds it unless it is a string. */
static const char *basic_to_text(DBusMessageIter *iter, char buf[static 32]) {
        int type = dbus_message_iter_get_arg_type(iter);
        DBusBasicValue v;

        if (type == DBUS_TYPE_UNIX_FD)
                return "(fd)"; /* reading it would dup() the descriptor */
        dbus_message_iter_get_basic(iter, &v);
        switch (type) {
        case DBUS_TYPE_STRING:
        case DBUS_TYPE_OBJECT_PATH:
        case DBUS_TYPE_SIGNATURE:
                return v.str;
        case DBUS_TYPE_BOOLEAN:
                return v.bool_val ? "yes" : "no";
        case DBUS_TYPE_BYTE:
                snprintf(buf, 32, "%u", (unsigned) v.byt);
                break;
        case DBUS_TYPE_INT16:
                snprintf(buf, 32, "%" PRIi16, v.i16);
                break;
        case DBUS_TYPE_UINT16:
                snprintf(buf, 32, "%" PRIu16, v.u16);
                break;
        case DBUS_TYPE_INT32:
                snprintf(buf, 32, "%" PRIi32, v.i32);
                break;
        case DBUS_TYPE_UINT32:
                snprintf(buf, 32, "%" PRIu32, v.u32);
                break;
        case DBUS_TYPE_INT64:
                snprintf(buf, 32, "%" PRIi64, (int64_t) v.i64);
                break;
        case DBUS_TYPE_UINT64:
                snprintf(buf, 32, "%" PRIu64, (uint64_t) v.u64);
                break;
        case DBUS_TYPE_DOUBLE:
                snprintf(buf, 32, "%g", v.dbl);
                break;
        default:
                return "?";
        }
        return buf;
}

static void print_bytes_text(FILE *f, DBusMessageIter *array) {
        DBusMessageIter sub;
        const unsigned char *bytes;
        int n;

        dbus_message_iter_recurse(array, &sub);
        dbus_message_iter_get_fixed_array(&sub, &bytes, &n);
        for (int i = 0; i < n; i++)
                fprintf(f, "%02x", bytes[i]);
}

/* The elements of a container, separated by sep. */
static void print_items_text(FILE *f, DBusMessageIter *container, const char *sep) {
        DBusMessageIter sub;

        dbus_message_iter_recurse(container, &sub);
        for (bool first = true; dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID;
             dbus_message_iter_next(&sub), first = false) {
                if (!first)
                        fputs(sep, f);
                print_text(f, &sub, true);
        }
}

static void print_array_text(FILE *f, DBusMessageIter *iter, bool nested) {
        if (dbus_message_iter_get_element_type(iter) == DBUS_TYPE_BYTE)
                print_bytes_text(f, iter);
        else if (nested) {
                fputc('[', f);
                print_items_text(f, iter, ", ");
                fputc(']', f);
        } else
                print_items_text(f, iter, ", ");
}

static void print_text(FILE *f, DBusMessageIter *iter, bool nested) {
        DBusMessageIter sub;
        char buf[32];

        switch (dbus_message_iter_get_arg_type(iter)) {
        case DBUS_TYPE_VARIANT:
                dbus_message_iter_recurse(iter, &sub);
                print_text(f, &sub, nested);
                break;
        case DBUS_TYPE_ARRAY:
                print_array_text(f, iter, nested);
                break;
        case DBUS_TYPE_DICT_ENTRY:
                print_items_text(f, iter, "=");
                break;
        case DBUS_TYPE_STRUCT:
                fputc('(', f);
                print_items_text(f, iter, ", ");
                fputc(')', f);
                break;
        default:
                fputs(basic_to_text(iter, buf), f);
        }
}

void value_print_text(FILE *f, DBusMessageIter *iter) {
        print_text(f, iter, false);
}

int value_to_text(DBusMessageIter *iter, char **ret) {
        _cleanup_(freep) char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        value_print_text(f, iter);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void print_basic_json(JsonWriter *w, DBusMessageIter *iter) {
        int type = dbus_message_iter_get_arg_type(iter);
        DBusBasicValue v;
        char buf[32];

        if (type == DBUS_TYPE_UNIX_FD) {
                json_null(w);
                return;
        }
        dbus_message_iter_get_basic(iter, &v);
        switch (type) {
        case DBUS_TYPE_BOOLEAN:
                json_bool(w, v.bool_val);
                break;
        case DBUS_TYPE_BYTE:
                json_int(w, v.byt);
                break;
        case DBUS_TYPE_INT16:
                json_int(w, v.i16);
                break;
        case DBUS_TYPE_UINT16:
                json_int(w, v.u16);
                break;
        case DBUS_TYPE_INT32:
                json_int(w, v.i32);
                break;
        case DBUS_TYPE_UINT32:
                json_int(w, v.u32);
                break;
        case DBUS_TYPE_INT64:
                json_int(w, v.i64);
                break;
        case DBUS_TYPE_UINT64:
                json_uint(w, v.u64);
                break;
        case DBUS_TYPE_DOUBLE:
                json_double(w, v.dbl);
                break;
        default:
                json_string(w, basic_to_text(iter, buf));
        }
}

/* Dictionaries with string keys come out sorted, the others in message order. */
static void print_dict_json(JsonWriter *w, DBusMessageIter *array) {
        _cleanup_(freep) DictEntry *entries = NULL;
        DBusMessageIter sub;
        size_t n;
        char buf[32];

        if (dict_collect(array, &entries, &n) >= 0) {
                json_begin_object(w);
                for (size_t i = 0; i < n; i++) {
                        json_key(w, entries[i].key);
                        value_print_json(w, &entries[i].value);
                }
                json_end_object(w);
                return;
        }

        json_begin_object(w);
        dbus_message_iter_recurse(array, &sub);
        for (; dbus_message_iter_get_arg_type(&sub) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&sub)) {
                DBusMessageIter entry;
                dbus_message_iter_recurse(&sub, &entry);
                json_key(w, basic_to_text(&entry, buf));
                dbus_message_iter_next(&entry);
                value_print_json(w, &entry);
        }
        json_end_object(w);
}

static void print_items_json(JsonWriter *w, DBusMessageIter *container) {
        DBusMessageIter sub;

        json_begin_array(w);
        dbus_message_iter_recurse(container, &sub);
        for (; dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID; dbus_message_iter_next(&sub))
                value_print_json(w, &sub);
        json_end_array(w);
}

void value_print_json(JsonWriter *w, DBusMessageIter *iter) {
        DBusMessageIter sub;

        switch (dbus_message_iter_get_arg_type(iter)) {
        case DBUS_TYPE_VARIANT:
                dbus_message_iter_recurse(iter, &sub);
                value_print_json(w, &sub);
                break;
        case DBUS_TYPE_ARRAY:
                if (dbus_message_iter_get_element_type(iter) == DBUS_TYPE_DICT_ENTRY)
                        print_dict_json(w, iter);
                else
                        print_items_json(w, iter);
                break;
        case DBUS_TYPE_STRUCT:
        case DBUS_TYPE_DICT_ENTRY:
                print_items_json(w, iter);
                break;
        default:
                print_basic_json(w, iter);
        }
}

static int parse_boolean(const char *s) {
        if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 || streq(s, "1"))
                return 1;
        if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 || streq(s, "0"))
                return 0;
        return -EUSAGE;
}

static int integer_matches(DBusMessageIter *iter, const char *text, bool *ret) {
        char buf[32];
        const char *have = basic_to_text(iter, buf);

        if (dbus_message_iter_get_arg_type(iter) == DBUS_TYPE_UINT64) {
                uint64_t a, b;
                if (safe_atou64(text, &b) < 0)
                        return -EUSAGE;
                *ret = safe_atou64(have, &a) >= 0 && a == b;
                return 0;
        }
        long long a, b;
        if (safe_atolli(text, &b) < 0)
                return -EUSAGE;
        *ret = safe_atolli(have, &a) >= 0 && a == b;
        return 0;
}

static int double_matches(DBusMessageIter *iter, const char *text, bool *ret) {
        DBusBasicValue v;
        char *end;

        errno = 0;
        double d = strtod(text, &end);
        if (errno != 0 || end == text || *end)
                return -EUSAGE;
        dbus_message_iter_get_basic(iter, &v);
        *ret = v.dbl == d;
        return 0;
}

static int text_matches(DBusMessageIter *iter, const char *text, bool *ret) {
        _cleanup_(freep) char *have = NULL;

        if (value_to_text(iter, &have) < 0)
                return -ENOMEM;
        *ret = streq(have, text);
        return 0;
}

int value_matches(DBusMessageIter *iter, const char *text, bool *ret) {
        DBusMessageIter sub;
        DBusBasicValue v;
        int b;

        switch (dbus_message_iter_get_arg_type(iter)) {
        case DBUS_TYPE_VARIANT:
                dbus_message_iter_recurse(iter, &sub);
                return value_matches(&sub, text, ret);
        case DBUS_TYPE_BOOLEAN:
                b = parse_boolean(text);
                if (b < 0)
                        return b;
                dbus_message_iter_get_basic(iter, &v);
                *ret = !!v.bool_val == !!b;
                return 0;
        case DBUS_TYPE_BYTE:
        case DBUS_TYPE_INT16:
        case DBUS_TYPE_UINT16:
        case DBUS_TYPE_INT32:
        case DBUS_TYPE_UINT32:
        case DBUS_TYPE_INT64:
        case DBUS_TYPE_UINT64:
                return integer_matches(iter, text, ret);
        case DBUS_TYPE_DOUBLE:
                return double_matches(iter, text, ret);
        default:
                return text_matches(iter, text, ret);
        }
}
