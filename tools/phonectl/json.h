/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "macro.h"

/*
 * A small streaming JSON writer, indented two spaces per level. Write errors
 * are left in the FILE (check ferror() at the end). Strings must be UTF-8
 * (D-Bus guarantees that for its strings); they are escaped as RFC 8259 asks.
 */

#define JSON_DEPTH_MAX 128

typedef struct JsonWriter {
        FILE *f;
        unsigned depth;
        bool after_key;
        bool has_items[JSON_DEPTH_MAX];
} JsonWriter;

#define JSON_WRITER_INIT(file) ((JsonWriter) { .f = (file) })

void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s);
void json_int(JsonWriter *w, int64_t i);
void json_uint(JsonWriter *w, uint64_t u);
void json_double(JsonWriter *w, double d);
void json_bool(JsonWriter *w, bool b);
void json_null(JsonWriter *w);
/* End the document with a newline. */
void json_finish(JsonWriter *w);

/* Write s as a quoted JSON string. */
void json_print_string(FILE *f, const char *s);
