/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Yealink-compatible encrypted configuration files: see cfgcrypt.h.
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

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/aes.h>
#include <nettle/base64.h>
#include <stdarg.h>

#include "cfgcrypt.h"
#include "util.h"

#define RSA_PEM_MAX (64U * 1024U)

static const char RSA_LINE_ENCRYPT[] = "#!encrypt:";
static const char RSA_VERSION[] = "1.0.0.0";
static const char RSA_LINE_SIGNATURE[] = "#!key_signatue:";
static const char RSA_LINE_SIGNATURE_FIXED[] = "#!key_signature:";
static const char RSA_LINE_CIPHER[] = "#!conf_encryption:";
static const char RSA_LINE_KEY[] = "#!key_ciphertext:";
static const char RSA_LINE_BEGIN[] = "#!---BEGIN CONFIG DATA---";
static const char RSA_LINE_END[] = "#!---END CONFIG DATA---";

struct CfgcryptRsaKey {
        gnutls_privkey_t priv; /* NULL for a public key or a certificate */
        gnutls_pubkey_t pub;
        unsigned bits;
};

_printf_(4, 5) static int fail(CfgcryptError *error, int r, unsigned line, const char *format, ...) {
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
        size_t l = strlen(RSA_LINE_ENCRYPT);

        if (size >= l && memcmp(data, RSA_LINE_ENCRYPT, l) == 0)
                return CFGCRYPT_FORMAT_RSA;
        if (cfgcrypt_is_text(data, size))
                return CFGCRYPT_FORMAT_PLAIN;
        return CFGCRYPT_FORMAT_LEGACY;
}

static bool key_bytes_are_valid(const uint8_t *k, size_t size) {
        if (size != 16 && size != 32)
                return false;
        for (size_t i = 0; i < size; i++)
                if (k[i] == 0 || !strchr(CFGCRYPT_KEY_CHARSET, k[i]))
                        return false;
        return true;
}

bool cfgcrypt_key_is_valid(const char *key) {
        return key && key_bytes_are_valid((const uint8_t *) key, strnlen(key, CFGCRYPT_KEY_MAX + 1));
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
static int ecb_encrypt(const char *key, CfgcryptPadding padding, const void *text, size_t size, uint8_t **ret,
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

        r = ecb_encrypt(key, padding, text, size, &buf, &n);
        if (r < 0)
                return r;
        *ret = buf;
        *ret_size = n;
        return 0;
}

/* Decrypts whole blocks, drops the padding and checks for text. Takes buf (of
 * size bytes plus room for a NUL) and gives it back as *ret_text, or erases it. */
static int ecb_decrypt_text(const uint8_t *key, size_t key_size, uint8_t *buf, size_t size, char **ret_text,
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
                return fail(error, -EFBIG, 0, "%zu bytes of ciphertext is more than the %u bytes allowed", size,
                            CFGCRYPT_TEXT_MAX + CFGCRYPT_BLOCK_SIZE);
        if (size == 0)
                return fail(error, -EBADMSG, 0, "empty ciphertext");
        if (size % CFGCRYPT_BLOCK_SIZE != 0)
                return fail(error, -EBADMSG, 0, "truncated ciphertext: %zu bytes is not a multiple of %u", size,
                            CFGCRYPT_BLOCK_SIZE);
        return 0;
}

static int bad_key(CfgcryptError *error) {
        return fail(error, -EINVAL, 0,
                    "an AES key must be 16 or 32 characters of 0-9 A-Z a-z # $ %% * + , - . : = ? @ [ ] ^ _ { } ~");
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
        r = ecb_decrypt_text((const uint8_t *) key, strlen(key), buf, size, ret_text, ret_size);
        if (r < 0)
                return fail(error, r, 0, "wrong AES key (the decrypted text is not a configuration file)");
        return 0;
}

int cfgcrypt_key_file_read(const void *data, size_t size, char **ret_key, CfgcryptError *error) {
        if (size != 16 && size != 32)
                return fail(error, -EBADMSG, 0, "not a key file: it has %zu bytes, not 16 or 32", size);

        uint8_t *key = malloc(size + 1);
        if (!key)
                return -ENOMEM;
        memcpy(key, data, size);
        aes_ecb((const uint8_t *) CFGCRYPT_YEALINK_COMMON_KEY, 16, false, key, size);
        if (!key_bytes_are_valid(key, size)) {
                erase_and_free_sized(key, size + 1);
                return fail(error, -EBADMSG, 0, "not a key file: it does not decrypt to a key");
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

/* ---- RSA keys ---- */

CfgcryptRsaKey *cfgcrypt_rsa_key_free(CfgcryptRsaKey *k) {
        if (!k)
                return NULL;
        if (k->priv)
                gnutls_privkey_deinit(k->priv);
        if (k->pub)
                gnutls_pubkey_deinit(k->pub);
        free(k);
        return NULL;
}

bool cfgcrypt_rsa_key_is_private(const CfgcryptRsaKey *k) {
        return k && k->priv;
}

static int rsa_key_import_private(CfgcryptRsaKey *k, const gnutls_datum_t *d) {
        if (gnutls_privkey_init(&k->priv) < 0)
                return -ENOMEM;
        if (gnutls_privkey_import_x509_raw(k->priv, d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN) < 0) {
                gnutls_privkey_deinit(k->priv);
                k->priv = NULL;
                return -EBADMSG;
        }
        if (gnutls_pubkey_init(&k->pub) < 0)
                return -ENOMEM;
        if (gnutls_pubkey_import_privkey(k->pub, k->priv, 0, 0) < 0)
                return -EBADMSG;
        return 0;
}

static int rsa_key_import_public(CfgcryptRsaKey *k, const gnutls_datum_t *d) {
        if (gnutls_pubkey_init(&k->pub) < 0)
                return -ENOMEM;
        if (gnutls_pubkey_import(k->pub, d, GNUTLS_X509_FMT_PEM) >= 0)
                return 0;
        if (gnutls_pubkey_import_x509_raw(k->pub, d, GNUTLS_X509_FMT_PEM, 0) >= 0)
                return 0;
        return -EBADMSG;
}

int cfgcrypt_rsa_key_from_pem(const void *pem, size_t size, CfgcryptRsaKey **ret, CfgcryptError *error) {
        _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *k = NULL;
        const gnutls_datum_t d = { .data = (unsigned char *) pem, .size = (unsigned) size };
        int r;

        if (size > RSA_PEM_MAX)
                return fail(error, -EFBIG, 0, "%zu bytes is too large for a PEM key", size);
        if (memmem(pem, size, "-----BEGIN ENCRYPTED", strlen("-----BEGIN ENCRYPTED")) ||
            memmem(pem, size, "Proc-Type: 4,ENCRYPTED", strlen("Proc-Type: 4,ENCRYPTED")))
                return fail(error, -EOPNOTSUPP, 0,
                            "password-protected private keys are not supported: remove the password first");
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;

        r = rsa_key_import_private(k, &d);
        if (r == -EBADMSG && !k->priv)
                r = rsa_key_import_public(k, &d);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(error, r, 0, "no RSA private key, public key or certificate in PEM form");
        if (gnutls_pubkey_get_pk_algorithm(k->pub, &k->bits) != GNUTLS_PK_RSA)
                return fail(error, -EOPNOTSUPP, 0, "not an RSA key");
        *ret = TAKE_PTR(k);
        return 0;
}

/* ---- RSA mode ---- */

static char *base64_encode_alloc(const uint8_t *data, size_t size) {
        char *s = malloc(BASE64_ENCODE_RAW_LENGTH(size) + 1);
        if (!s)
                return NULL;
        base64_encode_raw(s, size, data);
        s[BASE64_ENCODE_RAW_LENGTH(size)] = '\0';
        return s;
}

/* Strict base64: whole quads, '=' only as the last one or two characters. */
static bool base64_is_valid(const char *s, size_t n) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t end = n;

        if (n == 0 || n % 4 != 0)
                return false;
        while (end > n - 2 && s[end - 1] == '=')
                end--;
        for (size_t i = 0; i < end; i++)
                if (!s[i] || !strchr(alphabet, s[i]))
                        return false;
        return true;
}

/* Decodes n characters that passed base64_is_valid() into a new buffer. */
static int base64_decode_alloc(const char *s, size_t n, uint8_t **ret, size_t *ret_size) {
        struct base64_decode_ctx ctx;
        size_t size = BASE64_DECODE_LENGTH(n);
        uint8_t *buf = malloc(size + 1);

        if (!buf)
                return -ENOMEM;
        base64_decode_init(&ctx);
        if (!base64_decode_update(&ctx, &size, buf, n, s) || !base64_decode_final(&ctx)) {
                free(buf);
                return -EBADMSG;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

static int rsa_wrap_key(const CfgcryptRsaKey *k, const char *aes_key, char **ret) {
        const gnutls_datum_t plain = { .data = (unsigned char *) aes_key, .size = (unsigned) strlen(aes_key) };
        gnutls_datum_t c = {};

        if (gnutls_pubkey_encrypt_data(k->pub, 0, &plain, &c) < 0)
                return -EINVAL; /* a key too small for even 32 bytes of PKCS#1 v1.5 */
        char *s = base64_encode_alloc(c.data, c.size);
        gnutls_free(c.data);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int rsa_encrypt_with(const CfgcryptRsaKey *k, const char *aes_key, CfgcryptPadding padding,
                            const void *text, size_t size, char **ret, size_t *ret_size) {
        _cleanup_(freep) uint8_t *body = NULL;
        _cleanup_(freep) char *key64 = NULL, *body64 = NULL;
        size_t n;
        int r;

        r = ecb_encrypt(aes_key, padding, text, size, &body, &n);
        if (r < 0)
                return r;
        r = rsa_wrap_key(k, aes_key, &key64);
        if (r < 0)
                return r;
        body64 = base64_encode_alloc(body, n);
        if (!body64)
                return -ENOMEM;

        int l = asprintf(ret, "%s%s\n%sRSA_256\n%sAES_256\n%s%s\n%s\n%s\n%s\n", RSA_LINE_ENCRYPT, RSA_VERSION,
                         RSA_LINE_SIGNATURE, RSA_LINE_CIPHER, RSA_LINE_KEY, key64, RSA_LINE_BEGIN, body64,
                         RSA_LINE_END);
        if (l < 0)
                return -ENOMEM;
        if (ret_size)
                *ret_size = (size_t) l;
        return 0;
}

int cfgcrypt_rsa_encrypt(const CfgcryptRsaKey *k, const char *aes_key, CfgcryptPadding padding, const void *text,
                         size_t size, char **ret, size_t *ret_size) {
        _cleanup_(erase_and_freep) char *random_key = NULL;
        int r;

        if (!k)
                return -EINVAL;
        if (!aes_key) {
                r = cfgcrypt_key_generate(32, &random_key);
                if (r < 0)
                        return r;
                aes_key = random_key;
        }
        return rsa_encrypt_with(k, aes_key, padding, text, size, ret, ret_size);
}

/* The parts of an RSA-mode file, as found by rsa_parse(). */
typedef struct RsaFile {
        const char *key64;
        size_t key64_size;
        unsigned key_line;
        char *body64; /* the data lines joined */
        size_t body64_size;
        unsigned body_line;
} RsaFile;

typedef enum RsaState {
        RSA_STATE_HEADER,
        RSA_STATE_BODY,
        RSA_STATE_AFTER,
} RsaState;

static bool line_is(const char *p, size_t n, const char *s) {
        return n == strlen(s) && memcmp(p, s, n) == 0;
}

static const char *line_value(const char *p, size_t n, const char *prefix, size_t *ret_n) {
        size_t l = strlen(prefix);

        if (n < l || memcmp(p, prefix, l) != 0)
                return NULL;
        *ret_n = n - l;
        return p + l;
}

static int rsa_parse_first_line(const char *p, size_t n, CfgcryptError *error) {
        size_t vn;
        const char *v = line_value(p, n, RSA_LINE_ENCRYPT, &vn);

        if (!v)
                return fail(error, -EBADMSG, 1, "not an RSA-mode file: no #!encrypt: line");
        if (vn != strlen(RSA_VERSION) || memcmp(v, RSA_VERSION, vn) != 0)
                return fail(error, -EOPNOTSUPP, 1, "unsupported encryption format version (we know %s)",
                            RSA_VERSION);
        return 0;
}

static int rsa_parse_header(RsaFile *f, const char *p, size_t n, unsigned line, RsaState *state,
                            CfgcryptError *error) {
        const char *v;
        size_t vn;

        if (n == 0)
                return 0;
        if (line_is(p, n, RSA_LINE_BEGIN)) {
                *state = RSA_STATE_BODY;
                f->body_line = line + 1;
                return 0;
        }
        if ((v = line_value(p, n, RSA_LINE_KEY, &vn))) {
                if (f->key64)
                        return fail(error, -EBADMSG, line, "a second #!key_ciphertext line");
                if (vn > CFGCRYPT_RSA_KEY_CIPHERTEXT_MAX)
                        return fail(error, -EBADMSG, line, "key ciphertext longer than any RSA key's");
                f->key64 = v;
                f->key64_size = vn;
                f->key_line = line;
                return 0;
        }
        if ((v = line_value(p, n, RSA_LINE_CIPHER, &vn))) {
                if (!line_is(v, vn, "AES_256") && !line_is(v, vn, "AES_128"))
                        return fail(error, -EOPNOTSUPP, line, "unsupported cipher (we know AES_256)");
                return 0;
        }
        if (line_value(p, n, RSA_LINE_SIGNATURE, &vn) || line_value(p, n, RSA_LINE_SIGNATURE_FIXED, &vn) ||
            line_value(p, n, "#!", &vn))
                return 0; /* the signature line says nothing we check; other #! lines are hints */
        return fail(error, -EBADMSG, line, "unexpected text before the BEGIN CONFIG DATA line");
}

static int rsa_parse_body(RsaFile *f, const char *p, size_t n, unsigned line, RsaState *state,
                          CfgcryptError *error) {
        if (line_is(p, n, RSA_LINE_END)) {
                *state = RSA_STATE_AFTER;
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", p[i]) || !p[i])
                        return fail(error, -EBADMSG, line, "bad base64 in the configuration data");
        memcpy(f->body64 + f->body64_size, p, n);
        f->body64_size += n;
        return 0;
}

static int rsa_parse_line(RsaFile *f, const char *p, size_t n, unsigned line, RsaState *state,
                          CfgcryptError *error) {
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
        if (line == 1)
                return rsa_parse_first_line(p, n, error);
        switch (*state) {
        case RSA_STATE_HEADER:
                return rsa_parse_header(f, p, n, line, state, error);
        case RSA_STATE_BODY:
                return rsa_parse_body(f, p, n, line, state, error);
        case RSA_STATE_AFTER:
                if (n > 0)
                        return fail(error, -EBADMSG, line, "text after the END CONFIG DATA line");
                return 0;
        }
        abort();
}

static int rsa_parse_end(const RsaFile *f, RsaState state, CfgcryptError *error) {
        switch (state) {
        case RSA_STATE_HEADER:
                return fail(error, -EBADMSG, 0, "missing the BEGIN CONFIG DATA line");
        case RSA_STATE_BODY:
                return fail(error, -EBADMSG, 0, "missing the END CONFIG DATA line (truncated file?)");
        case RSA_STATE_AFTER:
                break;
        }
        if (!f->key64)
                return fail(error, -EBADMSG, 0, "missing the #!key_ciphertext line");
        if (f->body64_size == 0)
                return fail(error, -EBADMSG, f->body_line, "no configuration data between BEGIN and END");
        if (!base64_is_valid(f->body64, f->body64_size))
                return fail(error, -EBADMSG, f->body_line, "bad base64 in the configuration data");
        if (!base64_is_valid(f->key64, f->key64_size))
                return fail(error, -EBADMSG, f->key_line, "bad base64 in the key ciphertext");
        return 0;
}

/* Splits data into the key ciphertext and the joined body lines; f->body64 is the
 * caller's to free. */
static int rsa_parse(const char *data, size_t size, RsaFile *f, CfgcryptError *error) {
        RsaState state = RSA_STATE_HEADER;
        unsigned line = 0;
        int r;

        *f = (RsaFile) {};
        f->body64 = malloc(size + 1);
        if (!f->body64)
                return -ENOMEM;
        for (const char *p = data, *end = data + size; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = (size_t) ((nl ? nl : end) - p);

                r = rsa_parse_line(f, p, n, ++line, &state, error);
                if (r < 0)
                        return r;
                p += n + 1;
        }
        return rsa_parse_end(f, state, error);
}

static int rsa_unwrap_key(const CfgcryptRsaKey *k, const RsaFile *f, char **ret, CfgcryptError *error) {
        _cleanup_(freep) uint8_t *c = NULL;
        gnutls_datum_t plain = {};
        size_t n;
        int r;

        r = base64_decode_alloc(f->key64, f->key64_size, &c, &n);
        if (r < 0)
                return r == -ENOMEM ? r : fail(error, r, f->key_line, "bad base64 in the key ciphertext");
        if (n != (k->bits + 7) / 8)
                return fail(error, -EKEYREJECTED, f->key_line,
                            "wrong RSA key or damaged key ciphertext (%zu bytes; the key's are %u)", n,
                            (k->bits + 7) / 8);
        const gnutls_datum_t cd = { .data = c, .size = (unsigned) n };
        if (gnutls_privkey_decrypt_data(k->priv, 0, &cd, &plain) < 0)
                return fail(error, -EKEYREJECTED, f->key_line, "wrong RSA key (cannot decrypt the key ciphertext)");
        bool valid = key_bytes_are_valid(plain.data, plain.size);
        char *key = valid ? strndup((const char *) plain.data, plain.size) : NULL;
        gnutls_memset(plain.data, 0, plain.size);
        gnutls_free(plain.data);
        if (!valid)
                return fail(error, -EKEYREJECTED, f->key_line,
                            "wrong RSA key (the key ciphertext does not decrypt to an AES key)");
        if (!key)
                return -ENOMEM;
        *ret = key;
        return 0;
}

static int rsa_decrypt_body(const RsaFile *f, const char *aes_key, char **ret_text, size_t *ret_size,
                            CfgcryptError *error) {
        uint8_t *body;
        size_t n;
        int r;

        if (f->body64_size > BASE64_ENCODE_RAW_LENGTH(CFGCRYPT_TEXT_MAX + CFGCRYPT_BLOCK_SIZE))
                return fail(error, -EFBIG, f->body_line, "more configuration data than the %u bytes allowed",
                            CFGCRYPT_TEXT_MAX);
        r = base64_decode_alloc(f->body64, f->body64_size, &body, &n);
        if (r < 0)
                return r == -ENOMEM ? r : fail(error, r, f->body_line, "bad base64 in the configuration data");
        if (n % CFGCRYPT_BLOCK_SIZE != 0) {
                free(body);
                return fail(error, -EBADMSG, f->body_line,
                            "truncated configuration data: %zu bytes is not a multiple of %u", n,
                            CFGCRYPT_BLOCK_SIZE);
        }
        r = ecb_decrypt_text((const uint8_t *) aes_key, strlen(aes_key), body, n, ret_text, ret_size);
        if (r < 0)
                return fail(error, -EBADMSG, f->body_line,
                            "the configuration data does not decrypt to text (damaged file?)");
        return 0;
}

int cfgcrypt_rsa_decrypt(const CfgcryptRsaKey *k, const void *data, size_t size, char **ret_text, size_t *ret_size,
                         char **ret_aes_key, CfgcryptError *error) {
        _cleanup_(erase_and_freep) char *aes_key = NULL;
        RsaFile f;
        int r;

        if (!cfgcrypt_rsa_key_is_private(k))
                return fail(error, -ENOKEY, 0, "RSA mode needs an RSA private key");
        if (size > CFGCRYPT_FILE_MAX)
                return fail(error, -EFBIG, 0, "%zu bytes is more than the %u bytes allowed", size,
                            CFGCRYPT_FILE_MAX);

        r = rsa_parse(data, size, &f, error);
        if (r >= 0)
                r = rsa_unwrap_key(k, &f, &aes_key, error);
        if (r >= 0)
                r = rsa_decrypt_body(&f, aes_key, ret_text, ret_size, error);
        free(f.body64);
        if (r < 0)
                return r;
        if (ret_aes_key)
                *ret_aes_key = TAKE_PTR(aes_key);
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
                return fail(error, -EFBIG, 0, "%zu bytes is more than the %u bytes allowed", size,
                            CFGCRYPT_FILE_MAX);

        format = cfgcrypt_detect(data, size);
        switch (format) {
        case CFGCRYPT_FORMAT_PLAIN:
                r = plain_copy(data, size, ret_text, ret_size);
                break;
        case CFGCRYPT_FORMAT_LEGACY:
                if (!aes_key)
                        return fail(error, -ENOKEY, 0, "the file is AES-encrypted and no AES key is set");
                r = cfgcrypt_legacy_decrypt(aes_key, data, size, ret_text, ret_size, error);
                break;
        case CFGCRYPT_FORMAT_RSA:
                if (!rsa_key)
                        return fail(error, -ENOKEY, 0, "the file is RSA-encrypted and no RSA key is set");
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
