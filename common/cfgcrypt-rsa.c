/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Yealink's RSA mode (see cfgcrypt.h for the file format): RSA keys from PEM
 * (GnuTLS), the AES key wrapped with RSA PKCS#1 v1.5, the body AES-256-ECB
 * (cfgcrypt.c) in base64 (nettle), and a strict parser of the text around them
 * that says which line is wrong.
 */

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/base64.h>

#include "cfgcrypt-internal.h"
#include "util.h"

#define RSA_PEM_MAX (64U * 1024U)

static const char RSA_LINE_ENCRYPT[] = CFGCRYPT_RSA_LINE_ENCRYPT;
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
                return cfgcrypt_fail(error, -EFBIG, 0, "%zu bytes is too large for a PEM key", size);
        if (memmem(pem, size, "-----BEGIN ENCRYPTED", strlen("-----BEGIN ENCRYPTED")) ||
            memmem(pem, size, "Proc-Type: 4,ENCRYPTED", strlen("Proc-Type: 4,ENCRYPTED")))
                return cfgcrypt_fail(error, -EOPNOTSUPP, 0,
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
                return cfgcrypt_fail(error, r, 0, "no RSA private key, public key or certificate in PEM form");
        if (gnutls_pubkey_get_pk_algorithm(k->pub, &k->bits) != GNUTLS_PK_RSA)
                return cfgcrypt_fail(error, -EOPNOTSUPP, 0, "not an RSA key");
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

        r = cfgcrypt_ecb_encrypt(aes_key, padding, text, size, &body, &n);
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
                return cfgcrypt_fail(error, -EBADMSG, 1, "not an RSA-mode file: no #!encrypt: line");
        if (vn != strlen(RSA_VERSION) || memcmp(v, RSA_VERSION, vn) != 0)
                return cfgcrypt_fail(error, -EOPNOTSUPP, 1, "unsupported encryption format version (we know %s)",
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
                        return cfgcrypt_fail(error, -EBADMSG, line, "a second #!key_ciphertext line");
                if (vn > CFGCRYPT_RSA_KEY_CIPHERTEXT_MAX)
                        return cfgcrypt_fail(error, -EBADMSG, line, "key ciphertext longer than any RSA key's");
                f->key64 = v;
                f->key64_size = vn;
                f->key_line = line;
                return 0;
        }
        if ((v = line_value(p, n, RSA_LINE_CIPHER, &vn))) {
                if (!line_is(v, vn, "AES_256") && !line_is(v, vn, "AES_128"))
                        return cfgcrypt_fail(error, -EOPNOTSUPP, line, "unsupported cipher (we know AES_256)");
                return 0;
        }
        if (line_value(p, n, RSA_LINE_SIGNATURE, &vn) || line_value(p, n, RSA_LINE_SIGNATURE_FIXED, &vn) ||
            line_value(p, n, "#!", &vn))
                return 0; /* the signature line says nothing we check; other #! lines are hints */
        return cfgcrypt_fail(error, -EBADMSG, line, "unexpected text before the BEGIN CONFIG DATA line");
}

static int rsa_parse_body(RsaFile *f, const char *p, size_t n, unsigned line, RsaState *state,
                          CfgcryptError *error) {
        if (line_is(p, n, RSA_LINE_END)) {
                *state = RSA_STATE_AFTER;
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", p[i]) || !p[i])
                        return cfgcrypt_fail(error, -EBADMSG, line, "bad base64 in the configuration data");
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
                        return cfgcrypt_fail(error, -EBADMSG, line, "text after the END CONFIG DATA line");
                return 0;
        }
        abort();
}

static int rsa_parse_end(const RsaFile *f, RsaState state, CfgcryptError *error) {
        switch (state) {
        case RSA_STATE_HEADER:
                return cfgcrypt_fail(error, -EBADMSG, 0, "missing the BEGIN CONFIG DATA line");
        case RSA_STATE_BODY:
                return cfgcrypt_fail(error, -EBADMSG, 0, "missing the END CONFIG DATA line (truncated file?)");
        case RSA_STATE_AFTER:
                break;
        }
        if (!f->key64)
                return cfgcrypt_fail(error, -EBADMSG, 0, "missing the #!key_ciphertext line");
        if (f->body64_size == 0)
                return cfgcrypt_fail(error, -EBADMSG, f->body_line, "no configuration data between BEGIN and END");
        if (!base64_is_valid(f->body64, f->body64_size))
                return cfgcrypt_fail(error, -EBADMSG, f->body_line, "bad base64 in the configuration data");
        if (!base64_is_valid(f->key64, f->key64_size))
                return cfgcrypt_fail(error, -EBADMSG, f->key_line, "bad base64 in the key ciphertext");
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
                return r == -ENOMEM ? r : cfgcrypt_fail(error, r, f->key_line, "bad base64 in the key ciphertext");
        if (n != (k->bits + 7) / 8)
                return cfgcrypt_fail(error, -EKEYREJECTED, f->key_line,
                                     "wrong RSA key or damaged key ciphertext (%zu bytes; the key's are %u)", n,
                                     (k->bits + 7) / 8);
        const gnutls_datum_t cd = { .data = c, .size = (unsigned) n };
        if (gnutls_privkey_decrypt_data(k->priv, 0, &cd, &plain) < 0)
                return cfgcrypt_fail(error, -EKEYREJECTED, f->key_line,
                                     "wrong RSA key (cannot decrypt the key ciphertext)");
        bool valid = cfgcrypt_key_bytes_are_valid(plain.data, plain.size);
        char *key = valid ? strndup((const char *) plain.data, plain.size) : NULL;
        gnutls_memset(plain.data, 0, plain.size);
        gnutls_free(plain.data);
        if (!valid)
                return cfgcrypt_fail(error, -EKEYREJECTED, f->key_line,
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
                return cfgcrypt_fail(error, -EFBIG, f->body_line, "more configuration data than the %u bytes allowed",
                                     CFGCRYPT_TEXT_MAX);
        r = base64_decode_alloc(f->body64, f->body64_size, &body, &n);
        if (r < 0)
                return r == -ENOMEM ? r : cfgcrypt_fail(error, r, f->body_line, "bad base64 in the configuration data");
        if (n % CFGCRYPT_BLOCK_SIZE != 0) {
                free(body);
                return cfgcrypt_fail(error, -EBADMSG, f->body_line,
                                     "truncated configuration data: %zu bytes is not a multiple of %u", n,
                                     CFGCRYPT_BLOCK_SIZE);
        }
        r = cfgcrypt_ecb_decrypt_text((const uint8_t *) aes_key, strlen(aes_key), body, n, ret_text, ret_size);
        if (r < 0)
                return cfgcrypt_fail(error, -EBADMSG, f->body_line,
                                     "the configuration data does not decrypt to text (damaged file?)");
        return 0;
}

int cfgcrypt_rsa_decrypt(const CfgcryptRsaKey *k, const void *data, size_t size, char **ret_text, size_t *ret_size,
                         char **ret_aes_key, CfgcryptError *error) {
        _cleanup_(erase_and_freep) char *aes_key = NULL;
        RsaFile f;
        int r;

        if (!cfgcrypt_rsa_key_is_private(k))
                return cfgcrypt_fail(error, -ENOKEY, 0, "RSA mode needs an RSA private key");
        if (size > CFGCRYPT_FILE_MAX)
                return cfgcrypt_fail(error, -EFBIG, 0, "%zu bytes is more than the %u bytes allowed", size,
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
