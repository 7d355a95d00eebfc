/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the two halves of cfgcrypt share, and nobody else may use:
 *   cfgcrypt.c      keys, AES-ECB and its padding, legacy mode, key files,
 *                   format detection and cfgcrypt_decrypt()
 *   cfgcrypt-rsa.c  RSA keys and RSA mode (its text format, wrapping the AES key)
 */

#include <stdbool.h>
#include <stdint.h>

#include "cfgcrypt.h"

/* The first line of an RSA-mode file, by which the format is told apart. */
#define CFGCRYPT_RSA_LINE_ENCRYPT "#!encrypt:"

/* Fills error (if not NULL) with line and the reason; returns r. */
_printf_(4, 5) int cfgcrypt_fail(CfgcryptError *error, int r, unsigned line, const char *format, ...);

/* size bytes (not NUL-terminated) that are a valid key. */
bool cfgcrypt_key_bytes_are_valid(const uint8_t *k, size_t size);

/* Pads and encrypts text into a new buffer of whole blocks. */
int cfgcrypt_ecb_encrypt(const char *key, CfgcryptPadding padding, const void *text, size_t size, uint8_t **ret,
                         size_t *ret_size);

/* Decrypts whole blocks, drops the padding and checks for text. Takes buf (of
 * size bytes plus room for a NUL) and gives it back as *ret_text, or erases it. */
int cfgcrypt_ecb_decrypt_text(const uint8_t *key, size_t key_size, uint8_t *buf, size_t size, char **ret_text,
                              size_t *ret_size);
