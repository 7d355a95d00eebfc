/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/*
 * Yealink-compatible encrypted configuration files (pure: no loop, no bus, no
 * logging; never writes key material anywhere but the buffers it returns).
 *
 * Legacy ("compatibility mode"): the file is raw AES-ECB of the text, with the
 * key's characters used as the key bytes: a 16-character key is AES-128, a
 * 32-character key AES-256 (see cfgcrypt.c for how we know). No header, no IV,
 * no MAC. Yealink's tool pads the text with spaces to whole blocks; NULs and
 * PKCS#7 are also seen in the wild and accepted.
 *
 * Key files "<name>_Security.enc": the file's key, AES-128-ECB encrypted under
 * Yealink's fixed, published key (CFGCRYPT_YEALINK_COMMON_KEY). They hide
 * nothing from anyone who has read this header: serve them only where the
 * encrypted files themselves may be read.
 *
 * RSA mode: a text file
 *      #!encrypt:1.0.0.0
 *      #!key_signatue:RSA_256                (sic)
 *      #!conf_encryption:AES_256
 *      #!key_ciphertext:<base64 of RSA PKCS#1 v1.5 encryption of a 32-character key>
 *      #!---BEGIN CONFIG DATA---
 *      <base64 of AES-256-ECB of the text, NUL-padded>
 *      #!---END CONFIG DATA---
 *
 * Decryption checks that the result is text (valid UTF-8 with no control
 * characters but tab, CR and LF), so that a wrong key or a damaged file is an
 * error and never a configuration of garbage. Trailing NUL or PKCS#7 padding is
 * removed; trailing spaces are kept (they cannot be told from the text's own and
 * mean nothing to the parser), so that decrypting and encrypting again gives
 * the same bytes as Yealink's tool.
 *
 * Errors (negative errno), the same in every function:
 *   -EINVAL       a key that is not 16 or 32 characters of Yealink's key set
 *   -EFBIG        a text larger than CFGCRYPT_TEXT_MAX, or a file larger than
 *                 CFGCRYPT_FILE_MAX or than the text it can hold
 *   -EBADMSG      not a well-formed file of the format: truncated ciphertext, bad
 *                 base64, missing lines, a damaged body
 *   -EKEYREJECTED the key does not decrypt this file (wrong AES or RSA key, or
 *                 not an encrypted file at all)
 *   -ENOKEY       cfgcrypt_decrypt(): the file needs a key that was not given
 *   -EOPNOTSUPP   a format version, algorithm or PEM key kind we do not know
 *   -EILSEQ       encryption: the plaintext is not text (see above)
 *   -ENOMEM
 * Functions that take a CfgcryptError fill it (if not NULL) on any failure but
 * -ENOMEM with a sentence for a person, which never contains key material.
 */

/* The largest text that is encrypted or returned, and the largest encrypted file that
 * is read: RSA mode's base64 makes a file a third larger than its text. */
#define CFGCRYPT_TEXT_MAX (16U * 1024U * 1024U)
#define CFGCRYPT_FILE_MAX (CFGCRYPT_TEXT_MAX / 3U * 4U + 64U * 1024U)
#define CFGCRYPT_BLOCK_SIZE 16U
#define CFGCRYPT_KEY_MAX 32U
/* Yealink's fixed key for <name>_Security.enc files (public: in every phone and tool). */
#define CFGCRYPT_YEALINK_COMMON_KEY "EKs35XacP6eybA25"
/* The key characters Yealink's manuals allow. */
#define CFGCRYPT_KEY_CHARSET                                                                        \
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:=?@[]^_{}~"
/* Longest "#!key_ciphertext:" value: the base64 of an 8192-bit RSA block. */
#define CFGCRYPT_RSA_KEY_CIPHERTEXT_MAX 1368U

typedef enum CfgcryptFormat {
        CFGCRYPT_FORMAT_PLAIN,  /* text: not encrypted */
        CFGCRYPT_FORMAT_LEGACY, /* anything that is neither: raw AES-ECB, or a damaged file */
        CFGCRYPT_FORMAT_RSA,    /* starts with "#!encrypt:" */
        _CFGCRYPT_FORMAT_MAX,
} CfgcryptFormat;

typedef enum CfgcryptPadding {
        CFGCRYPT_PADDING_SPACE, /* Yealink's tool, legacy mode: nothing if already whole blocks */
        CFGCRYPT_PADDING_NUL,   /* Yealink's tool, RSA mode: likewise */
        CFGCRYPT_PADDING_PKCS7, /* always 1 to 16 bytes */
        _CFGCRYPT_PADDING_MAX,
} CfgcryptPadding;

typedef struct CfgcryptError {
        unsigned line; /* RSA mode: the 1-based line the reason is about, 0 if none */
        char reason[256];
} CfgcryptError;

const char *cfgcrypt_format_to_string(CfgcryptFormat f);
int cfgcrypt_padding_from_string(const char *s, CfgcryptPadding *ret);

/* Which format data is in; never fails (anything that is not text and not RSA
 * mode is "legacy", and decrypting it says what is wrong). */
CfgcryptFormat cfgcrypt_detect(const void *data, size_t size);

/* True if size bytes are text as decryption requires it (see above). */
bool cfgcrypt_is_text(const void *data, size_t size);

/* Keys are NUL-terminated strings of 16 or 32 characters of CFGCRYPT_KEY_CHARSET. */
bool cfgcrypt_key_is_valid(const char *key);
/* A random key of length 16 or 32 over [A-Za-z0-9] (as Yealink's tool makes them), from
 * GnuTLS's key-grade generator. Free it with erase_and_free(). */
int cfgcrypt_key_generate(size_t length, char **ret);

/* The key held by the contents of a <name>_Security.enc file (16 or 32 bytes). */
int cfgcrypt_key_file_read(const void *data, size_t size, char **ret_key, CfgcryptError *error);
/* The contents of a key file for key (as long as the key). */
int cfgcrypt_key_file_make(const char *key, void **ret, size_t *ret_size);
/* The name Yealink gives the key file of a configuration file: the path with its last
 * extension replaced, "dir/account.cfg" -> "dir/account_Security.enc". Works on URL paths. */
int cfgcrypt_key_file_name(const char *path, char **ret);

/* Legacy mode. The ciphertext is a whole number of blocks; *ret_text is NUL-terminated,
 * without NUL or PKCS#7 padding. Free both results with free(); the caller should erase
 * the text (it holds passwords) before freeing it. */
int cfgcrypt_legacy_encrypt(const char *key, CfgcryptPadding padding, const void *text, size_t size,
                            void **ret, size_t *ret_size);
int cfgcrypt_legacy_decrypt(const char *key, const void *data, size_t size, char **ret_text,
                            size_t *ret_size, CfgcryptError *error);

/* An RSA key from PEM: a private key (PKCS#1 or unencrypted PKCS#8), a public key
 * (SubjectPublicKeyInfo) or an X.509 certificate. Only a private key decrypts. */
typedef struct CfgcryptRsaKey CfgcryptRsaKey;
int cfgcrypt_rsa_key_from_pem(const void *pem, size_t size, CfgcryptRsaKey **ret, CfgcryptError *error);
CfgcryptRsaKey *cfgcrypt_rsa_key_free(CfgcryptRsaKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(CfgcryptRsaKey *, cfgcrypt_rsa_key_free);
bool cfgcrypt_rsa_key_is_private(const CfgcryptRsaKey *k);

/* RSA mode. aes_key: 16 or 32 characters, or NULL for a random 32-character one. *ret is
 * the file, NUL-terminated. */
int cfgcrypt_rsa_encrypt(const CfgcryptRsaKey *k, const char *aes_key, CfgcryptPadding padding,
                         const void *text, size_t size, char **ret, size_t *ret_size);
/* ret_aes_key (may be NULL): the AES key the file carried; free it with erase_and_free(). */
int cfgcrypt_rsa_decrypt(const CfgcryptRsaKey *k, const void *data, size_t size, char **ret_text,
                         size_t *ret_size, char **ret_aes_key, CfgcryptError *error);

/* The phone's side: decrypt data in whichever format it is, with the keys it has
 * (either may be NULL). A plain file is returned as it is (after the text check), with
 * *ret_format = CFGCRYPT_FORMAT_PLAIN: refusing it is the caller's policy. */
int cfgcrypt_decrypt(const void *data, size_t size, const char *aes_key, const CfgcryptRsaKey *rsa_key,
                     CfgcryptFormat *ret_format, char **ret_text, size_t *ret_size, CfgcryptError *error);
