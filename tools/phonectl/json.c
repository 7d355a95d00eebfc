/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <math.h>

#include "json.h"

void json_print_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                switch (*c) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*c < 0x20 || *c == 0x7f)
                                fprintf(f, "\\u%04x", *c);
                        else
                                fputc(*c, f);
                }
        fputc('"', f);
}

static bool *has_items(JsonWriter *w) {
        return &w->has_items[MIN(w->depth, JSON_DEPTH_MAX - 1)];
}

static void indent(JsonWriter *w) {
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Separate a new value from what came before it in its container. */
static void begin_value(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth == 0)
                return;
        if (*has_items(w))
                fputc(',', w->f);
        *has_items(w) = true;
        indent(w);
}

static void begin_container(JsonWriter *w, char open) {
        begin_value(w);
        fputc(open, w->f);
        w->depth++;
        *has_items(w) = false;
}

static void end_container(JsonWriter *w, char close) {
        bool items = *has_items(w);

        w->depth--;
        if (items)
                indent(w);
        fputc(close, w->f);
}

void json_begin_object(JsonWriter *w) {
        begin_container(w, '{');
}

void json_end_object(JsonWriter *w) {
        end_container(w, '}');
}

void json_begin_array(JsonWriter *w) {
        begin_container(w, '[');
}

void json_end_array(JsonWriter *w) {
        end_container(w, ']');
}

void json_key(JsonWriter *w, const char *key) {
        begin_value(w);
        json_print_string(w->f, key);
        fputs(": ", w->f);
        w->after_key = true;
}

void json_string(JsonWriter *w, const char *s) {
        begin_value(w);
        json_print_string(w->f, s);
}

void json_int(JsonWriter *w, int64_t i) {
        begin_value(w);
        fprintf(w->f, "%" PRIi64, i);
}

void json_uint(JsonWriter *w, uint64_t u) {
        begin_value(w);
        fprintf(w->f, "%" PRIu64, u);
}

void json_double(JsonWriter *w, double d) {
        begin_value(w);
        if (isfinite(d))
                fprintf(w->f, "%.15g", d);
        else
                fputs("null", w->f); /* JSON has no NaN or infinity */
}

void json_bool(JsonWriter *w, bool b) {
        begin_value(w);
        fputs(b ? "true" : "false", w->f);
}

void json_null(JsonWriter *w) {
        begin_value(w);
        fputs("null", w->f);
}

void json_finish(JsonWriter *w) {
        fputc('\n', w->f);
}
