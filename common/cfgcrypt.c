/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Yealink-compatible encrypted configuration files: see cfgcrypt.h. This file:
 * keys, AES-ECB and padding, legacy mode, key files, format detection and
 * cfgcrypt_decrypt(); RSA mode is in cfgcrypt-rsa.c.
 *
 * AES comes from nettle (whose aes128/aes256 functions on a whole buffer are
 * ECB), RSA, PEM parsing and random numbers from GnuTLS, base64 from nettle.
 *
 * 32-character keys. Yealink's administrator guides (T2/T3/T4/T5/CP920, VP59,
 * T58A) say that "AES keys must be 16 characters/32 characters" from the set
 * 0-9 A-Z a-z # $ % * + , - . : = ? @ [ ] ^ _ { } ~ (auto_provision.aes_key_16.*
 * and static.auto_provision.aes_key.*), and that <MAC>-local.cfg and contact
 * files are encrypted "using 16-character/32-character symmetric keys". They do
 * not name the cipher. What is known: the key's characters are the key bytes
 * (checked on the Yealink-made pair in the corpus), and the RSA mode's body is
 * AES-256-ECB keyed by 32 ASCII characters (checked on the Yealink-made RSA
 * file in the corpus), and the open re-implementations (gitaware/
 * yealink-encryption) hand the key string to AES as it is, which makes 32
 * characters AES-256. So a 32-character key is AES-256-ECB here, everywhere,
 * and key files for such keys are 32 bytes (two blocks under the fixed key).
 */

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/aes.h>
#include <stdarg.h>

#include "cfgcrypt-internal.h"
#include "util.h"

_printf_(4, 5) int cfgcrypt_fail(CfgcryptError *error, int r, unsigned line, const char *format, ...) {
        va_list ap;

        if (!error)
                return r;
        error->line = line;
        va_start(ap, format);
        vsnprintf(error->reason, sizeof(error->reason), format, ap);
        va_end(ap);
        return r;
}

static void erase_and_free_sized(void *p, size_t size) {
        if (p) {
                explicit_bzero(p, size);
                free(p);
        }
}

const char *cfgcrypt_format_to_string(CfgcryptFormat f) {
        switch (f) {
        case CFGCRYPT_FORMAT_PLAIN:
                return "plain";
        case CFGCRYPT_FORMAT_LEGACY:
                return "legacy";
        case CFGCRYPT_FORMAT_RSA:
                return "rsa";
        case _CFGCRYPT_FORMAT_MAX:
                break;
        }
        return NULL;
}

int cfgcrypt_padding_from_string(const char *s, CfgcryptPadding *ret) {
        static const char * const names[_CFGCRYPT_PADDING_MAX] = {
                [CFGCRYPT_PADDING_SPACE] = "space",
                [CFGCRYPT_PADDING_NUL] = "nul",
                [CFGCRYPT_PADDING_PKCS7] = "pkcs7",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i])) {
                        *ret = (CfgcryptPadding) i;
                        return 0;
                }
        return -EINVAL;
}

bool cfgcrypt_is_text(const void *data, size_t size) {
        const unsigned char *p = data;

        for (size_t i = 0; i < size; i++)
                if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f)
                        return false;
        return utf8_is_valid_n(data, size);
}

CfgcryptFormat cfgcrypt_detect(const void *data, size_t size) {
        size_t l = strlen(CFGCRYPT_RSA_LINE_ENCRYPT);

        if (size >= l && memcmp(data, CFGCRYPT_RSA_LINE_ENCRYPT, l) == 0)
                return CFGCRYPT_FORMAT_RSA;
        if (cfgcrypt_is_text(data, size))
                return CFGCRYPT_FORMAT_PLAIN;
        return CFGCRYPT_FORMAT_LEGACY;
}

bool cfgcrypt_key_bytes_are_valid(const uint8_t *k, size_t size) {
        if (size != 16 && size != 32)
                return false;
        for (size_t i = 0; i < size; i++)
                if (k[i] == 0 || !strchr(CFGCRYPT_KEY_CHARSET, k[i]))
                        return false;
        return true;
}

bool cfgcrypt_key_is_valid(const char *key) {
        return key && cfgcrypt_key_bytes_are_valid((const uint8_t *) key, strnlen(key, CFGCRYPT_KEY_MAX + 1));
}

int cfgcrypt_key_generate(size_t length, char **ret) {
        static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        /* 248 = 4 * 62: bytes at or above it are dropped so that every character is as likely. */
        const unsigned limit = 4 * (sizeof(alnum) - 1);
        uint8_t rnd[64];

        if (length != 16 && length != 32)
                return -EINVAL;
        char *key = malloc(length + 1);
        if (!key)
                return -ENOMEM;
        for (size_t n = 0; n < length;) {
                if (gnutls_rnd(GNUTLS_RND_KEY, rnd, sizeof(rnd)) < 0) {
                        erase_and_free_sized(key, length + 1);
                        return -EIO;
                }
                for (size_t i = 0; i < sizeof(rnd) && n < length; i++)
                        if (rnd[i] < limit)
                                key[n++] = alnum[rnd[i] % (sizeof(alnum) - 1)];
        }
        explicit_bzero(rnd, sizeof(rnd));
        key[length] = '\0';
        *ret = key;
        return 0;
}

/* ECB in place over whole blocks; key_size is 16 (AES-128) or 32 (AES-256). */
static void aes_ecb(const uint8_t *key, size_t key_size, bool encrypt, uint8_t *buf, size_t size) {
        union {
                struct aes128_ctx a128;
                struct aes256_ctx a256;
        } ctx;

        if (key_size == 16 && encrypt) {
                aes128_set_encrypt_key(&ctx.a128, key);
                aes128_encrypt(&ctx.a128, size, buf, buf);
        } else if (key_size == 16) {
                aes128_set_decrypt_key(&ctx.a128, key);
                aes128_decrypt(&ctx.a128, size, buf, buf);
        } else if (encrypt) {
                aes256_set_encrypt_key(&ctx.a256, key);
                aes256_encrypt(&ctx.a256, size, buf, buf);
        } else {
                aes256_set_decrypt_key(&ctx.a256, key);
                aes256_decrypt(&ctx.a256, size, buf, buf);
        }
        explicit_bzero(&ctx, sizeof(ctx));
}

/* Length without trailing NULs, or else without valid PKCS#7 padding. */
static size_t unpadded_size(const uint8_t *p, size_t size) {
        if (size == 0)
                return 0;
        uint8_t last = p[size - 1];
        if (last == 0) {
                while (size > 0 && p[size - 1] == 0)
                        size--;
                return size;
        }
        if (last > CFGCRYPT_BLOCK_SIZE || last > size)
                return size;
        for (size_t i = 1; i <= last; i++)
                if (p[size - i] != last)
                        return size;
        return size - last;
}

static size_t padded_size(size_t size, CfgcryptPadding padding) {
        if (padding == CFGCRYPT_PADDING_PKCS7 || size == 0)
                return (size / CFGCRYPT_BLOCK_SIZE + 1) * CFGCRYPT_BLOCK_SIZE;
        return (size + CFGCRYPT_BLOCK_SIZE - 1) / CFGCRYPT_BLOCK_SIZE * CFGCRYPT_BLOCK_SIZE;
}

static void pad(uint8_t *buf, size_t size, size_t padded, CfgcryptPadding padding) {
        switch (padding) {
        case CFGCRYPT_PADDING_SPACE:
                memset(buf + size, ' ', padded - size);
                return;
        case CFGCRYPT_PADDING_NUL:
                memset(buf + size, 0, padded - size);
                return;
        case CFGCRYPT_PADDING_PKCS7:
                memset(buf + size, (int) (padded - size), padded - size);
                return;
        case _CFGCRYPT_PADDING_MAX:
                break;
        }
        abort();
}

/* Pads and encrypts text into a new buffer of whole blocks. */
int cfgcrypt_ecb_encrypt(const char *key, CfgcryptPadding padding, const void *text, size_t size, uint8_t **ret,
                         size_t *ret_size) {
        if (!cfgcrypt_key_is_valid(key) || (unsigned) padding >= _CFGCRYPT_PADDING_MAX)
                return -EINVAL;
        if (size > CFGCRYPT_TEXT_MAX)
                return -EFBIG;
        if (!cfgcrypt_is_text(text, size))
                return -EILSEQ;

        size_t n = padded_size(size, padding);
        uint8_t *buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        if (size > 0)
                memcpy(buf, text, size);
        pad(buf, size, n, padding);
        aes_ecb((const uint8_t *) key, strlen(key), true, buf, n);
        *ret = buf;
        *ret_size = n;
        return 0;
}

int cfgcrypt_legacy_encrypt(const char *key, CfgcryptPadding padding, const void *text, size_t size, void **ret,
                            size_t *ret_size) {
        uint8_t *buf;
        size_t n;
        int r;

        r = cfgcrypt_ecb_encrypt(key, padding, text, size, &buf, &n);
        if (r < 0)
                return r;
        *ret = buf;
        *ret_size = n;
        return 0;
}

/* Decrypts whole blocks, drops the padding and checks for text. Takes buf (of
 * size bytes plus room for a NUL) and gives it back as *ret_text, or erases it. */
int cfgcrypt_ecb_decrypt_text(const uint8_t *key, size_t key_size, uint8_t *buf, size_t size, char **ret_text,
                              size_t *ret_size) {
        aes_ecb(key, key_size, false, buf, size);
        size_t n = unpadded_size(buf, size);
        if (!cfgcrypt_is_text(buf, n)) {
                erase_and_free_sized(buf, size + 1);
                return -EKEYREJECTED;
        }
        buf[n] = '\0';
        *ret_text = (char *) buf;
        if (ret_size)
                *ret_size = n;
        return 0;
}

static int check_blocks(size_t size, CfgcryptError *error) {
        /* a text of CFGCRYPT_TEXT_MAX bytes and a block of PKCS#7 padding */
        if (size > CFGCRYPT_TEXT_MAX + CFGCRYPT_BLOCK_SIZE)
                return cfgcrypt_fail(error, -EFBIG, 0, "%zu bytes of ciphertext is more than the %u bytes allowed",
                                     size, CFGCRYPT_TEXT_MAX + CFGCRYPT_BLOCK_SIZE);
        if (size == 0)
                return cfgcrypt_fail(error, -EBADMSG, 0, "empty ciphertext");
        if (size % CFGCRYPT_BLOCK_SIZE != 0)
                return cfgcrypt_fail(error, -EBADMSG, 0, "truncated ciphertext: %zu bytes is not a multiple of %u",
                                     size, CFGCRYPT_BLOCK_SIZE);
        return 0;
}

static int bad_key(CfgcryptError *error) {
        return cfgcrypt_fail(error, -EINVAL, 0,
                             "an AES key must be 16 or 32 characters of "
                             "0-9 A-Z a-z # $ %% * + , - . : = ? @ [ ] ^ _ { } ~");
}

int cfgcrypt_legacy_decrypt(const char *key, const void *data, size_t size, char **ret_text, size_t *ret_size,
                            CfgcryptError *error) {
        int r;

        if (!cfgcrypt_key_is_valid(key))
                return bad_key(error);
        r = check_blocks(size, error);
        if (r < 0)
                return r;

        uint8_t *buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, data, size);
        r = cfgcrypt_ecb_decrypt_text((const uint8_t *) key, strlen(key), buf, size, ret_text, ret_size);
        if (r < 0)
                return cfgcrypt_fail(error, r, 0, "wrong AES key (the decrypted text is not a configuration file)");
        return 0;
}

int cfgcrypt_key_file_read(const void *data, size_t size, char **ret_key, CfgcryptError *error) {
        if (size != 16 && size != 32)
                return cfgcrypt_fail(error, -EBADMSG, 0, "not a key file: it has %zu bytes, not 16 or 32", size);

        uint8_t *key = malloc(size + 1);
        if (!key)
                return -ENOMEM;
        memcpy(key, data, size);
        aes_ecb((const uint8_t *) CFGCRYPT_YEALINK_COMMON_KEY, 16, false, key, size);
        if (!cfgcrypt_key_bytes_are_valid(key, size)) {
                erase_and_free_sized(key, size + 1);
                return cfgcrypt_fail(error, -EBADMSG, 0, "not a key file: it does not decrypt to a key");
        }
        key[size] = '\0';
        *ret_key = (char *) key;
        return 0;
}

int cfgcrypt_key_file_make(const char *key, void **ret, size_t *ret_size) {
        if (!cfgcrypt_key_is_valid(key))
                return -EINVAL;

        size_t n = strlen(key);
        uint8_t *buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, key, n);
        aes_ecb((const uint8_t *) CFGCRYPT_YEALINK_COMMON_KEY, 16, true, buf, n);
        *ret = buf;
        *ret_size = n;
        return 0;
}

int cfgcrypt_key_file_name(const char *path, char **ret) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *dot = strrchr(base, '.');
        size_t stem = (dot && dot != base ? dot : base + strlen(base)) - path;

        if (!*base)
                return -EINVAL;
        if (asprintf(ret, "%.*s_Security.enc", (int) stem, path) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- either ---- */

static int plain_copy(const void *data, size_t size, char **ret_text, size_t *ret_size) {
        char *s = malloc(size + 1);
        if (!s)
                return -ENOMEM;
        if (size > 0)
                memcpy(s, data, size);
        s[size] = '\0';
        *ret_text = s;
        if (ret_size)
                *ret_size = size;
        return 0;
}

int cfgcrypt_decrypt(const void *data, size_t size, const char *aes_key, const CfgcryptRsaKey *rsa_key,
                     CfgcryptFormat *ret_format, char **ret_text, size_t *ret_size, CfgcryptError *error) {
        CfgcryptFormat format;
        int r = -EINVAL;

        if (size > CFGCRYPT_FILE_MAX)
                return cfgcrypt_fail(error, -EFBIG, 0, "%zu bytes is more than the %u bytes allowed", size,
                                     CFGCRYPT_FILE_MAX);

        format = cfgcrypt_detect(data, size);
        switch (format) {
        case CFGCRYPT_FORMAT_PLAIN:
                r = plain_copy(data, size, ret_text, ret_size);
                break;
        case CFGCRYPT_FORMAT_LEGACY:
                if (!aes_key)
                        return cfgcrypt_fail(error, -ENOKEY, 0, "the file is AES-encrypted and no AES key is set");
                r = cfgcrypt_legacy_decrypt(aes_key, data, size, ret_text, ret_size, error);
                break;
        case CFGCRYPT_FORMAT_RSA:
                if (!rsa_key)
                        return cfgcrypt_fail(error, -ENOKEY, 0, "the file is RSA-encrypted and no RSA key is set");
                r = cfgcrypt_rsa_decrypt(rsa_key, data, size, ret_text, ret_size, NULL, error);
                break;
        case _CFGCRYPT_FORMAT_MAX:
                abort();
        }
        if (r < 0)
                return r;
        if (ret_format)
                *ret_format = format;
        return 0;
}
