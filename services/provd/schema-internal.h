/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The extra checks (SchemaKey.check) that schema-keys.c's entries name, in schema.c. */
int schema_check_aes_key_16(char *value, char *reason, size_t size);
int schema_check_aes_key(char *value, char *reason, size_t size);
int schema_check_mac(char *value, char *reason, size_t size);
int schema_check_model_id(char *value, char *reason, size_t size);
int schema_check_time(char *value, char *reason, size_t size);
int schema_check_dayofweek(char *value, char *reason, size_t size);
int schema_check_dhcp_options(char *value, char *reason, size_t size);
int schema_check_board(char *value, char *reason, size_t size);
