/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encrypted configuration files: the files Yealink's own tool made (in
 * ../shared/corpus/yealink, given as argv[1] or $DESKPHONE_CORPUS, read in place;
 * those tests are skipped when it is missing) must decrypt byte for byte and
 * encrypt back to the same bytes; then every way a file can be wrong.
 */

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/base64.h>

#include "cfgcrypt.h"
#include "tap.h"
#include "util.h"

#define PAIR_KEY "ljB7jiDIQQ7XD888"
#define RSA_AES_KEY "303wlbKBenhhHwpFzzj00QfwhwzbyKhp"
#define RSA_TEXT "#!version:1.0.0.1\r\n\r\nstatic.lang.gui = French\r\nlang.gui = French\r\n"
#define TEXT "#!version:1.0.0.1\naccount.1.password = Secret\n"

static const char *corpus;

typedef struct Blob {
        char *data;
        size_t size;
} Blob;

static void blob_done(Blob *b) {
        free(b->data);
        *b = (Blob) {};
}

/* A corpus file, or false (and the test skipped) when there is no corpus. */
static bool corpus_read(const char *test, const char *rel, Blob *ret) {
        _cleanup_(freep) char *path = NULL;

        if (!corpus) {
                tap_skip(test, "no corpus directory");
                return false;
        }
        path = strjoin(corpus, "/yealink/", rel, NULL);
        if (!path || read_full_file(path, &ret->data, &ret->size, 1024 * 1024) < 0) {
                tap_skip(test, "corpus file missing");
                return false;
        }
        return true;
}

static bool blob_eq(const void *a, size_t an, const void *b, size_t bn) {
        return an == bn && memcmp(a, b, an) == 0;
}

/* ---- legacy: the Yealink-made pair ---- */

static void test_pair_key(void) {
        Blob enc = {}, plain = {};
        _cleanup_(freep) char *text = NULL;
        CfgcryptError e = {};
        size_t n = 0;

        if (!corpus_read("/cfgcrypt/legacy/yealink-pair/key", "encrypted-pair/test.cfg", &enc))
                return;
        if (!corpus_read("/cfgcrypt/legacy/yealink-pair/key", "encrypted-pair/test.decrypted.cfg", &plain)) {
                blob_done(&enc);
                return;
        }
        tap_begin("/cfgcrypt/legacy/yealink-pair/key");
        check(cfgcrypt_detect(enc.data, enc.size) == CFGCRYPT_FORMAT_LEGACY);
        check(cfgcrypt_legacy_decrypt(PAIR_KEY, enc.data, enc.size, &text, &n, &e) == 0, "%s", e.reason);
        check(text && blob_eq(text, n, plain.data, plain.size), "%zu bytes, want %zu", n, plain.size);
        tap_end();

        tap_begin("/cfgcrypt/legacy/yealink-pair/re-encrypt-byte-exact");
        _cleanup_(freep) void *again = NULL;
        size_t again_size = 0;
        check(cfgcrypt_legacy_encrypt(PAIR_KEY, CFGCRYPT_PADDING_SPACE, plain.data, plain.size, &again,
                                      &again_size) == 0);
        check(again && blob_eq(again, again_size, enc.data, enc.size));
        tap_end();

        tap_begin("/cfgcrypt/legacy/yealink-pair/decrypt-any");
        _cleanup_(freep) char *text2 = NULL;
        CfgcryptFormat f = _CFGCRYPT_FORMAT_MAX;
        check(cfgcrypt_decrypt(enc.data, enc.size, PAIR_KEY, NULL, &f, &text2, &n, &e) == 0, "%s", e.reason);
        check(f == CFGCRYPT_FORMAT_LEGACY && text2 && blob_eq(text2, n, plain.data, plain.size));
        check(cfgcrypt_decrypt(enc.data, enc.size, NULL, NULL, &f, &text2, &n, &e) == -ENOKEY);
        tap_end();

        tap_begin("/cfgcrypt/legacy/yealink-pair/wrong-key");
        _cleanup_(freep) char *bad = NULL;
        e = (CfgcryptError) {};
        check(cfgcrypt_legacy_decrypt("ljB7jiDIQQ7XD889", enc.data, enc.size, &bad, &n, &e) == -EKEYREJECTED);
        check(!bad && strstr(e.reason, "wrong AES key"), "%s", e.reason);
        check(cfgcrypt_legacy_decrypt(RSA_AES_KEY, enc.data, enc.size, &bad, &n, &e) == -EKEYREJECTED);
        tap_end();

        tap_begin("/cfgcrypt/legacy/yealink-pair/truncated");
        e = (CfgcryptError) {};
        check(cfgcrypt_legacy_decrypt(PAIR_KEY, enc.data, enc.size - 1, &bad, &n, &e) == -EBADMSG);
        check(strstr(e.reason, "truncated ciphertext: 799 bytes is not a multiple of 16"), "%s", e.reason);
        /* one whole block less is not detectable as truncation, but must still be text */
        check(cfgcrypt_legacy_decrypt(PAIR_KEY, enc.data, enc.size - 16, &bad, &n, &e) == 0);
        tap_end();
        free(bad);
        bad = NULL;

        tap_begin("/cfgcrypt/legacy/yealink-pair/damaged-block");
        enc.data[100] ^= 0x01;
        check(cfgcrypt_legacy_decrypt(PAIR_KEY, enc.data, enc.size, &bad, &n, &e) == -EKEYREJECTED);
        tap_end();

        blob_done(&enc);
        blob_done(&plain);
}

static void test_pair_key_file(void) {
        Blob kf = {};
        _cleanup_(erase_and_freep) char *key = NULL;
        _cleanup_(freep) void *made = NULL;
        CfgcryptError e = {};
        size_t n = 0;

        if (!corpus_read("/cfgcrypt/key-file/yealink-pair", "encrypted-pair/test_Security.enc", &kf))
                return;
        tap_begin("/cfgcrypt/key-file/yealink-pair");
        check(cfgcrypt_key_file_read(kf.data, kf.size, &key, &e) == 0, "%s", e.reason);
        check(streq_ptr(key, PAIR_KEY));
        check(cfgcrypt_key_file_make(PAIR_KEY, &made, &n) == 0);
        check(made && blob_eq(made, n, kf.data, kf.size));
        tap_end();
        blob_done(&kf);
}

/* ---- RSA mode: the Yealink-made file and the tool's published default key ---- */

static bool rsa_corpus(const char *test, Blob *file, Blob *pem) {
        if (!corpus_read(test, "rsa-mode/y000000000065_2.cfg", file))
                return false;
        if (!corpus_read(test, "rsa-mode/yealink-default-rsa-private.pem", pem)) {
                blob_done(file);
                return false;
        }
        return true;
}

/* The file's base64 body line (line 6). */
static char *rsa_body_line(const char *file) {
        const char *p = strstr(file, "#!---BEGIN CONFIG DATA---\n");
        if (!p)
                return NULL;
        p += strlen("#!---BEGIN CONFIG DATA---\n");
        return strndup(p, strcspn(p, "\r\n"));
}

static void test_rsa_yealink(void) {
        _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *k = NULL;
        _cleanup_(freep) char *text = NULL, *aes = NULL, *again = NULL, *body = NULL, *body_again = NULL;
        Blob file = {}, pem = {};
        CfgcryptError e = {};
        size_t n = 0;

        if (!rsa_corpus("/cfgcrypt/rsa/yealink-file", &file, &pem))
                return;
        tap_begin("/cfgcrypt/rsa/yealink-file");
        check(cfgcrypt_detect(file.data, file.size) == CFGCRYPT_FORMAT_RSA);
        check(cfgcrypt_rsa_key_from_pem(pem.data, pem.size, &k, &e) == 0, "%s", e.reason);
        check(cfgcrypt_rsa_key_is_private(k));
        check(cfgcrypt_rsa_decrypt(k, file.data, file.size, &text, &n, &aes, &e) == 0, "%s", e.reason);
        check(text && blob_eq(text, n, RSA_TEXT, strlen(RSA_TEXT)), "got %zu bytes", n);
        check(streq_ptr(aes, RSA_AES_KEY));
        tap_end();

        /* The body is deterministic: same key, same NUL padding, same bytes as Yealink's tool. */
        tap_begin("/cfgcrypt/rsa/yealink-file/re-encrypt-body-byte-exact");
        check(cfgcrypt_rsa_encrypt(k, RSA_AES_KEY, CFGCRYPT_PADDING_NUL, RSA_TEXT, strlen(RSA_TEXT), &again, &n) ==
              0);
        body = rsa_body_line(file.data);
        body_again = again ? rsa_body_line(again) : NULL;
        check(body && body_again && streq(body, body_again), "%s vs %s", strempty(body), strempty(body_again));
        check(again && startswith(again, "#!encrypt:1.0.0.0\n#!key_signatue:RSA_256\n#!conf_encryption:AES_256\n"
                                         "#!key_ciphertext:"));
        tap_end();

        /* The RSA body is a real Yealink-made AES-256-ECB vector with a 32-character key. */
        tap_begin("/cfgcrypt/legacy/32-character-key-is-aes-256");
        struct base64_decode_ctx ctx;
        uint8_t raw[256];
        size_t raw_size = sizeof(raw);
        _cleanup_(freep) char *t32 = NULL;
        base64_decode_init(&ctx);
        check(body && base64_decode_update(&ctx, &raw_size, raw, strlen(body), body) &&
              base64_decode_final(&ctx));
        check(cfgcrypt_legacy_decrypt(RSA_AES_KEY, raw, raw_size, &t32, &n, &e) == 0, "%s", e.reason);
        check(t32 && blob_eq(t32, n, RSA_TEXT, strlen(RSA_TEXT)));
        tap_end();

        tap_begin("/cfgcrypt/rsa/yealink-file/decrypt-any");
        _cleanup_(freep) char *t2 = NULL;
        CfgcryptFormat f = _CFGCRYPT_FORMAT_MAX;
        check(cfgcrypt_decrypt(file.data, file.size, PAIR_KEY, k, &f, &t2, &n, &e) == 0, "%s", e.reason);
        check(f == CFGCRYPT_FORMAT_RSA && t2 && streq(t2, RSA_TEXT));
        check(cfgcrypt_decrypt(file.data, file.size, PAIR_KEY, NULL, &f, &t2, &n, &e) == -ENOKEY);
        tap_end();

        blob_done(&file);
        blob_done(&pem);
}

/* Damage the Yealink file in one way and expect an error. */
typedef struct RsaDamage {
        const char *name;
        const char *find;    /* replace the first occurrence of this ... */
        const char *replace; /* ... with this (NULL: cut the file there) */
        int ret;
        const char *reason;
        unsigned line;
        size_t replace_size; /* 0: strlen(replace) */
} RsaDamage;

static const RsaDamage rsa_damages[] = {
        { "/cfgcrypt/rsa/bad-base64-body", "MbSkM3G+", "MbSk*3G+", -EBADMSG, "bad base64", 6 },
        { "/cfgcrypt/rsa/bad-base64-length", "MbSkM3G+", "MbSkM3G", -EBADMSG, "bad base64", 6 },
        { "/cfgcrypt/rsa/bad-base64-key", "PoI2ZqGb", "PoI2Zq_b", -EBADMSG, "bad base64", 4 },
        { "/cfgcrypt/rsa/missing-end", "#!---END", NULL, -EBADMSG, "missing the END CONFIG DATA line", 0 },
        { "/cfgcrypt/rsa/missing-begin", "#!---BEGIN CONFIG DATA---\n", "", -EBADMSG,
          "unexpected text before the BEGIN", 5 },
        { "/cfgcrypt/rsa/missing-key-line", "#!key_ciphertext:", "#!key_ciphertexx:", -EBADMSG,
          "missing the #!key_ciphertext line", 0 },
        { "/cfgcrypt/rsa/empty-body", "MbSkM3G+RPodoLxGTGyvEGccOEYJYUupFsABuA4Vcs4Y740TPzXd+fubSyIf9ZF8k2asE1fJcOsqtL"
          "mwd4w5jthzfc+x9d9LUFBDHFjvgok=\n", "", -EBADMSG, "no configuration data", 6 },
        { "/cfgcrypt/rsa/damaged-body", "MbSkM3G+", "MbSkM3H+", -EBADMSG, "does not decrypt to text", 6 },
        { "/cfgcrypt/rsa/truncated-body", "MbSkM3G+RPodoLxG", "", -EBADMSG, "not a multiple of 16", 6 },
        { "/cfgcrypt/rsa/damaged-key-ciphertext", "PoI2ZqGb", "PoI2ZqGc", -EKEYREJECTED, "wrong RSA key", 4 },
        { "/cfgcrypt/rsa/short-key-ciphertext", "PoI2ZqGb", "", -EKEYREJECTED, "wrong RSA key", 4 },
        { "/cfgcrypt/rsa/unknown-version", "#!encrypt:1.0.0.0", "#!encrypt:2.0.0.0", -EOPNOTSUPP,
          "unsupported encryption format version", 1 },
        { "/cfgcrypt/rsa/unknown-cipher", "AES_256", "DES_64", -EOPNOTSUPP, "unsupported cipher", 3 },
        { "/cfgcrypt/rsa/second-key-line", "#!---BEGIN", "#!key_ciphertext:AAAA\n#!---BEGIN", -EBADMSG,
          "a second #!key_ciphertext line", 5 },
        { "/cfgcrypt/rsa/text-after-end", "END CONFIG DATA---\n", "END CONFIG DATA---\nx = 1\n", -EBADMSG,
          "text after the END CONFIG DATA line", 8 },
        { "/cfgcrypt/rsa/junk-in-header", "#!conf_encryption", "hello\n#!conf_encryption", -EBADMSG,
          "unexpected text before the BEGIN", 3 },
        { "/cfgcrypt/rsa/nul-in-body", "MbSkM3G+", "MbSk\0""3G+", -EBADMSG, "bad base64", 6, 8 },
        /* accepted variations */
        { "/cfgcrypt/rsa/crlf", "\n", "\r\n", 0, NULL, 0 },
        { "/cfgcrypt/rsa/no-final-newline", "END CONFIG DATA---\n", "END CONFIG DATA---", 0, NULL, 0 },
        { "/cfgcrypt/rsa/body-on-two-lines", "MbSkM3G+", "MbSk\nM3G+", 0, NULL, 0 },
        { "/cfgcrypt/rsa/no-header-hints", "#!key_signatue:RSA_256\n#!conf_encryption:AES_256\n", "", 0, NULL, 0 },
};

/* Replaces every "\n" when d->find is "\n" (the CRLF case), else the first match. */
static char *rsa_damage(const char *file, size_t size, const RsaDamage *d, size_t *ret_size) {
        size_t rl = d->replace ? (d->replace_size ?: strlen(d->replace)) : 0;
        size_t fl = strlen(d->find);
        char *out = malloc(size * 2 + rl + 1);
        size_t n = 0;
        bool all = streq(d->find, "\n"), done = false;

        if (!out)
                return NULL;
        for (size_t i = 0; i < size;) {
                if ((!done || all) && i + fl <= size && memcmp(file + i, d->find, fl) == 0) {
                        if (!d->replace)
                                break;
                        memcpy(out + n, d->replace, rl);
                        n += rl;
                        i += fl;
                        done = true;
                        continue;
                }
                out[n++] = file[i++];
        }
        out[n] = '\0';
        *ret_size = n;
        return out;
}

static void test_rsa_damages(void) {
        _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *k = NULL;
        Blob file = {}, pem = {};

        if (!rsa_corpus("/cfgcrypt/rsa/damaged", &file, &pem))
                return;
        if (cfgcrypt_rsa_key_from_pem(pem.data, pem.size, &k, NULL) < 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(rsa_damages); i++) {
                const RsaDamage *d = &rsa_damages[i];
                _cleanup_(freep) char *damaged = NULL, *text = NULL;
                CfgcryptError e = {};
                size_t n = 0, tn = 0;

                tap_begin(d->name);
                damaged = rsa_damage(file.data, file.size, d, &n);
                check(damaged && (n != file.size || memcmp(damaged, file.data, n) != 0), "the damage was not applied");
                int r = cfgcrypt_rsa_decrypt(k, damaged, n, &text, &tn, NULL, &e);
                check(r == d->ret, "got %d (%s), want %d", r, e.reason, d->ret);
                if (d->ret == 0)
                        check(text && streq(text, RSA_TEXT));
                else
                        check(!text);
                if (d->reason)
                        check(strstr(e.reason, d->reason), "reason '%s'", e.reason);
                if (d->ret < 0)
                        check(e.line == d->line, "line %u, want %u", e.line, d->line);
                tap_end();
        }
        blob_done(&file);
        blob_done(&pem);
}

/* ---- RSA keys of our own ---- */

typedef struct Pems {
        gnutls_datum_t priv, pub, cert;
} Pems;

static int make_pems(Pems *p) {
        gnutls_x509_privkey_t x = NULL;
        gnutls_privkey_t priv = NULL;
        gnutls_pubkey_t pub = NULL;
        gnutls_x509_crt_t crt = NULL;
        time_t now = time(NULL);
        int r = -1;

        if (gnutls_x509_privkey_init(&x) < 0 || gnutls_x509_privkey_generate(x, GNUTLS_PK_RSA, 2048, 0) < 0 ||
            gnutls_x509_privkey_export2(x, GNUTLS_X509_FMT_PEM, &p->priv) < 0)
                goto out;
        if (gnutls_privkey_init(&priv) < 0 || gnutls_privkey_import_x509(priv, x, 0) < 0 ||
            gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, priv, 0, 0) < 0 ||
            gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &p->pub) < 0)
                goto out;
        if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_set_key(crt, x) < 0 ||
            gnutls_x509_crt_set_version(crt, 3) < 0 || gnutls_x509_crt_set_serial(crt, "\x01", 1) < 0 ||
            gnutls_x509_crt_set_activation_time(crt, now) < 0 ||
            gnutls_x509_crt_set_expiration_time(crt, now + 3600) < 0 ||
            gnutls_x509_crt_set_dn(crt, "CN=provisioning", NULL) < 0 ||
            gnutls_x509_crt_set_issuer_dn(crt, "CN=provisioning", NULL) < 0 ||
            gnutls_x509_crt_sign2(crt, crt, x, GNUTLS_DIG_SHA256, 0) < 0 ||
            gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &p->cert) < 0)
                goto out;
        r = 0;
out:
        if (crt)
                gnutls_x509_crt_deinit(crt);
        if (pub)
                gnutls_pubkey_deinit(pub);
        if (priv)
                gnutls_privkey_deinit(priv);
        if (x)
                gnutls_x509_privkey_deinit(x);
        return r;
}

static void test_rsa_own_keys(void) {
        _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *priv = NULL, *pub = NULL, *cert = NULL;
        Pems p = {};
        CfgcryptError e = {};

        tap_begin("/cfgcrypt/rsa/own-keys/load");
        check(make_pems(&p) == 0);
        check(cfgcrypt_rsa_key_from_pem(p.priv.data, p.priv.size, &priv, &e) == 0, "%s", e.reason);
        check(cfgcrypt_rsa_key_from_pem(p.pub.data, p.pub.size, &pub, &e) == 0, "%s", e.reason);
        check(cfgcrypt_rsa_key_from_pem(p.cert.data, p.cert.size, &cert, &e) == 0, "%s", e.reason);
        check(cfgcrypt_rsa_key_is_private(priv) && !cfgcrypt_rsa_key_is_private(pub) &&
              !cfgcrypt_rsa_key_is_private(cert));
        tap_end();
        if (!priv || !pub || !cert)
                goto out;

        const CfgcryptRsaKey *encrypters[] = { priv, pub, cert };
        for (size_t i = 0; i < ELEMENTSOF(encrypters); i++) {
                _cleanup_(freep) char *file = NULL, *text = NULL;
                _cleanup_(erase_and_freep) char *aes = NULL;
                size_t n = 0;

                tap_begin(i == 0 ? "/cfgcrypt/rsa/own-keys/round-trip/private"
                                 : i == 1 ? "/cfgcrypt/rsa/own-keys/round-trip/public"
                                          : "/cfgcrypt/rsa/own-keys/round-trip/certificate");
                check(cfgcrypt_rsa_encrypt(encrypters[i], NULL, CFGCRYPT_PADDING_NUL, TEXT, strlen(TEXT), &file,
                                           &n) == 0);
                check(file && strlen(file) == n);
                check(cfgcrypt_rsa_decrypt(priv, file, n, &text, &n, &aes, &e) == 0, "%s", e.reason);
                check(text && streq(text, TEXT));
                check(aes && strlen(aes) == 32 && cfgcrypt_key_is_valid(aes));
                tap_end();
        }

        tap_begin("/cfgcrypt/rsa/own-keys/public-cannot-decrypt");
        _cleanup_(freep) char *file = NULL, *text = NULL;
        size_t n = 0;
        check(cfgcrypt_rsa_encrypt(pub, "0123456789abcdef", CFGCRYPT_PADDING_PKCS7, TEXT, strlen(TEXT), &file, &n) ==
              0);
        check(cfgcrypt_rsa_decrypt(pub, file, n, &text, NULL, NULL, &e) == -ENOKEY);
        check(cfgcrypt_rsa_decrypt(priv, file, n, &text, NULL, NULL, &e) == 0, "16-character key: %s", e.reason);
        tap_end();

        Blob yl = {}, yl_pem = {};
        if (rsa_corpus("/cfgcrypt/rsa/wrong-key", &yl, &yl_pem)) {
                _cleanup_(freep) char *t = NULL;
                tap_begin("/cfgcrypt/rsa/wrong-key");
                e = (CfgcryptError) {};
                check(cfgcrypt_rsa_decrypt(priv, yl.data, yl.size, &t, NULL, NULL, &e) == -EKEYREJECTED);
                check(strstr(e.reason, "wrong RSA key") && e.line == 4, "%u: %s", e.line, e.reason);
                check(!t);
                tap_end();
                blob_done(&yl);
                blob_done(&yl_pem);
        }
out:
        gnutls_free(p.priv.data);
        gnutls_free(p.pub.data);
        gnutls_free(p.cert.data);
}

static void test_rsa_bad_pem(void) {
        static const char enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        CfgcryptRsaKey *k = NULL;
        CfgcryptError e = {};

        tap_begin("/cfgcrypt/rsa/pem/encrypted");
        check(cfgcrypt_rsa_key_from_pem(enc, strlen(enc), &k, &e) == -EOPNOTSUPP && !k);
        check(strstr(e.reason, "password"), "%s", e.reason);
        tap_end();
        tap_begin("/cfgcrypt/rsa/pem/junk");
        check(cfgcrypt_rsa_key_from_pem(junk, strlen(junk), &k, &e) == -EBADMSG && !k);
        check(cfgcrypt_rsa_key_from_pem("", 0, &k, &e) == -EBADMSG && !k);
        tap_end();
}

/* ---- keys, key files, padding, text, limits ---- */

static void test_keys(void) {
        static const struct {
                const char *key;
                bool valid;
        } keys[] = {
                { "0123456789abcdef", true },
                { "#$%*+,-.:=?@[]^_", true },
                { "{}~ABCDEFGHIJKLMNOPQRSTUVWXYZabc", true },
                { "0123456789abcde", false },
                { "0123456789abcdef0", false },
                { "0123456789abcdef0123456789abcdef0", false },
                { "0123456789abcde!", false },
                { "0123456789abcde ", false },
                { "0123456789abcd\xc3\xa9", false },
                { "", false },
        };

        tap_begin("/cfgcrypt/key/valid");
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                check(cfgcrypt_key_is_valid(keys[i].key) == keys[i].valid, "'%s'", keys[i].key);
        check(!cfgcrypt_key_is_valid(NULL));
        tap_end();

        tap_begin("/cfgcrypt/key/generate");
        _cleanup_(erase_and_freep) char *a = NULL, *b = NULL, *c = NULL;
        char *none = NULL;
        check(cfgcrypt_key_generate(16, &a) == 0 && cfgcrypt_key_generate(16, &b) == 0);
        check(cfgcrypt_key_generate(32, &c) == 0);
        check(a && b && c && strlen(a) == 16 && strlen(c) == 32 && !streq(a, b));
        check(a && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 16);
        check(cfgcrypt_key_generate(20, &none) == -EINVAL && !none);
        tap_end();

        tap_begin("/cfgcrypt/key/bad-key-refused");
        CfgcryptError e = {};
        char *t = NULL;
        void *out = NULL;
        size_t n;
        check(cfgcrypt_legacy_decrypt("short", "0123456789abcdef", 16, &t, &n, &e) == -EINVAL);
        check(strstr(e.reason, "16 or 32 characters"), "%s", e.reason);
        check(cfgcrypt_legacy_encrypt("short", CFGCRYPT_PADDING_SPACE, "a", 1, &out, &n) == -EINVAL && !out);
        check(cfgcrypt_key_file_make("short", &out, &n) == -EINVAL && !out);
        tap_end();
}

static void test_key_files(void) {
        static const uint8_t zeros[16] = {};
        CfgcryptError e = {};
        char *key = NULL;

        tap_begin("/cfgcrypt/key-file/bad-size");
        check(cfgcrypt_key_file_read(zeros, 15, &key, &e) == -EBADMSG && !key);
        check(strstr(e.reason, "15 bytes"), "%s", e.reason);
        check(cfgcrypt_key_file_read(zeros, 0, &key, &e) == -EBADMSG && !key);
        tap_end();

        tap_begin("/cfgcrypt/key-file/not-a-key");
        check(cfgcrypt_key_file_read(zeros, 16, &key, &e) == -EBADMSG && !key);
        check(strstr(e.reason, "does not decrypt to a key"), "%s", e.reason);
        tap_end();

        tap_begin("/cfgcrypt/key-file/32-character-key");
        _cleanup_(freep) void *kf = NULL;
        _cleanup_(erase_and_freep) char *back = NULL;
        size_t n = 0;
        check(cfgcrypt_key_file_make(RSA_AES_KEY, &kf, &n) == 0 && n == 32);
        check(cfgcrypt_key_file_read(kf, n, &back, &e) == 0 && streq_ptr(back, RSA_AES_KEY));
        tap_end();

        static const struct {
                const char *path, *name;
        } names[] = {
                { "test.cfg", "test_Security.enc" },
                { "dir/account.cfg", "dir/account_Security.enc" },
                { "/srv/www/y000000000000.cfg", "/srv/www/y000000000000_Security.enc" },
                { "a.b/noext", "a.b/noext_Security.enc" },
                { "x.tar.cfg", "x.tar_Security.enc" },
                { ".cfg", ".cfg_Security.enc" },
        };
        tap_begin("/cfgcrypt/key-file/name");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(freep) char *name = NULL;
                check(cfgcrypt_key_file_name(names[i].path, &name) == 0 && streq_ptr(name, names[i].name), "%s",
                      names[i].path);
        }
        char *name = NULL;
        check(cfgcrypt_key_file_name("dir/", &name) == -EINVAL && !name);
        tap_end();
}

static void test_padding(void) {
        static const size_t sizes[] = { 0, 1, 15, 16, 17, 31, 32, 47, 56 };
        static const char src[] = "#!version:1.0.0.1\nlang.gui = English\nlang.wui = English\n";
        static const char *names[_CFGCRYPT_PADDING_MAX] = { "space", "nul", "pkcs7" };

        for (CfgcryptPadding p = 0; p < _CFGCRYPT_PADDING_MAX; p++) {
                char name[64];
                snprintf(name, sizeof(name), "/cfgcrypt/padding/%s", names[p]);
                tap_begin(name);
                CfgcryptPadding parsed;
                check(cfgcrypt_padding_from_string(names[p], &parsed) == 0 && parsed == p);
                for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                        _cleanup_(freep) void *enc = NULL;
                        _cleanup_(freep) char *dec = NULL;
                        size_t en = 0, dn = 0;
                        size_t want = p == CFGCRYPT_PADDING_PKCS7 ? (sizes[i] / 16 + 1) * 16
                                      : sizes[i] == 0            ? 16
                                                                 : (sizes[i] + 15) / 16 * 16;

                        check(cfgcrypt_legacy_encrypt(PAIR_KEY, p, src, sizes[i], &enc, &en) == 0);
                        check(en == want, "%zu bytes: %zu, want %zu", sizes[i], en, want);
                        check(cfgcrypt_legacy_decrypt(PAIR_KEY, enc, en, &dec, &dn, NULL) == 0);
                        /* spaces stay (they may be text); NULs and PKCS#7 go */
                        size_t expect = p == CFGCRYPT_PADDING_SPACE ? en : sizes[i];
                        check(dec && dn == expect && memcmp(dec, src, sizes[i]) == 0, "%zu bytes: got %zu", sizes[i],
                              dn);
                }
                tap_end();
        }
        CfgcryptPadding x;
        tap_begin("/cfgcrypt/padding/unknown");
        check(cfgcrypt_padding_from_string("zero", &x) == -EINVAL);
        tap_end();
}

static void test_text(void) {
        static const struct {
                const char *name;
                const char *data;
                size_t size;
                bool text;
        } cases[] = {
                { "empty", "", 0, true },
                { "ascii", "a = 1\r\n\tb = 2\n", 0, true },
                { "utf8", "name = Пётр 電話\n", 0, true },
                { "bom", "\xef\xbb\xbf" "a = 1\n", 0, true },
                { "latin1", "name = caf\xe9\n", 0, false },
                { "nul", "a = 1\0", 6, false },
                { "bell", "a = \a\n", 0, false },
                { "escape", "a = \x1b[31m\n", 0, false },
                { "del", "a = \x7f\n", 0, false },
                { "overlong", "a = \xc0\xaf\n", 0, false },
        };

        tap_begin("/cfgcrypt/text");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = cases[i].size ?: strlen(cases[i].data);
                check(cfgcrypt_is_text(cases[i].data, n) == cases[i].text, "%s", cases[i].name);
        }
        tap_end();

        tap_begin("/cfgcrypt/encrypt/not-text-refused");
        void *out = NULL;
        size_t n;
        check(cfgcrypt_legacy_encrypt(PAIR_KEY, CFGCRYPT_PADDING_SPACE, "a = 1\0", 6, &out, &n) == -EILSEQ && !out);
        tap_end();

        tap_begin("/cfgcrypt/detect");
        check(cfgcrypt_detect("", 0) == CFGCRYPT_FORMAT_PLAIN);
        check(cfgcrypt_detect(TEXT, strlen(TEXT)) == CFGCRYPT_FORMAT_PLAIN);
        check(cfgcrypt_detect("#!encrypt:1.0.0.0\n", 18) == CFGCRYPT_FORMAT_RSA);
        check(cfgcrypt_detect("\x01\x02\x03", 3) == CFGCRYPT_FORMAT_LEGACY);
        check(streq(cfgcrypt_format_to_string(CFGCRYPT_FORMAT_RSA), "rsa"));
        tap_end();

        tap_begin("/cfgcrypt/decrypt-any/plain");
        _cleanup_(freep) char *t = NULL;
        CfgcryptFormat f = _CFGCRYPT_FORMAT_MAX;
        check(cfgcrypt_decrypt(TEXT, strlen(TEXT), NULL, NULL, &f, &t, &n, NULL) == 0);
        check(f == CFGCRYPT_FORMAT_PLAIN && t && streq(t, TEXT) && n == strlen(TEXT));
        tap_end();
}

static void test_garbage_and_limits(void) {
        CfgcryptError e = {};
        char *t = NULL;
        size_t n;

        tap_begin("/cfgcrypt/legacy/garbage");
        /* 50 blocks of pseudo-random bytes: no key makes text of them */
        uint8_t junk[800];
        uint32_t s = 12345;
        for (size_t i = 0; i < sizeof(junk); i++) {
                s = s * 1103515245 + 12345;
                junk[i] = (uint8_t) (s >> 16);
        }
        check(cfgcrypt_legacy_decrypt(PAIR_KEY, junk, sizeof(junk), &t, &n, &e) == -EKEYREJECTED && !t);
        tap_end();

        tap_begin("/cfgcrypt/legacy/plain-file-given");
        static const char plain[] = "#!version:1.0.0.1\naccount.1.enable = 1\naccount.1.label = 123\n";
        check(sizeof(plain) - 1 >= 48);
        check(cfgcrypt_legacy_decrypt(PAIR_KEY, plain, 48, &t, &n, &e) == -EKEYREJECTED && !t);
        tap_end();

        tap_begin("/cfgcrypt/legacy/empty");
        check(cfgcrypt_legacy_decrypt(PAIR_KEY, "", 0, &t, &n, &e) == -EBADMSG && !t);
        check(strstr(e.reason, "empty"), "%s", e.reason);
        tap_end();

        tap_begin("/cfgcrypt/huge");
        size_t big = CFGCRYPT_FILE_MAX + 16;
        _cleanup_(freep) char *huge = calloc(1, big + 1);
        void *out = NULL;
        CfgcryptRsaKey *none = NULL;
        check(huge);
        if (huge) {
                size_t legacy = CFGCRYPT_TEXT_MAX + 2 * CFGCRYPT_BLOCK_SIZE;
                memset(huge, 'a', big);
                check(cfgcrypt_legacy_decrypt(PAIR_KEY, huge, legacy, &t, &n, &e) == -EFBIG && !t);
                check(strstr(e.reason, "more than"), "%s", e.reason);
                check(cfgcrypt_legacy_encrypt(PAIR_KEY, CFGCRYPT_PADDING_SPACE, huge, CFGCRYPT_TEXT_MAX + 1, &out,
                                              &n) == -EFBIG && !out);
                check(cfgcrypt_decrypt(huge, big, PAIR_KEY, NULL, NULL, &t, &n, &e) == -EFBIG && !t);
                memcpy(huge, "#!encrypt:1.0.0.0\n", 18);
                check(cfgcrypt_decrypt(huge, big, NULL, NULL, NULL, &t, &n, &e) == -EFBIG && !t);
                check(cfgcrypt_rsa_key_from_pem(huge, 65 * 1024, &none, &e) == -EFBIG && !none);
        }
        tap_end();

        /* the largest text fits, in both formats, and comes back */
        tap_begin("/cfgcrypt/largest-text");
        _cleanup_(freep) char *text = malloc(CFGCRYPT_TEXT_MAX);
        check(text);
        if (text) {
                _cleanup_(freep) void *enc = NULL;
                _cleanup_(freep) char *dec = NULL, *rsa = NULL, *dec2 = NULL;
                _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *k = NULL;
                size_t en = 0, dn = 0;
                Pems p = {};

                for (size_t i = 0; i < CFGCRYPT_TEXT_MAX; i++)
                        text[i] = i % 64 == 63 ? '\n' : 'a' + (char) (i % 26);
                check(cfgcrypt_legacy_encrypt(PAIR_KEY, CFGCRYPT_PADDING_PKCS7, text, CFGCRYPT_TEXT_MAX, &enc,
                                              &en) == 0);
                check(cfgcrypt_legacy_decrypt(PAIR_KEY, enc, en, &dec, &dn, &e) == 0, "%s", e.reason);
                check(dec && dn == CFGCRYPT_TEXT_MAX && memcmp(dec, text, dn) == 0);
                check(make_pems(&p) == 0 && cfgcrypt_rsa_key_from_pem(p.priv.data, p.priv.size, &k, NULL) == 0);
                check(cfgcrypt_rsa_encrypt(k, NULL, CFGCRYPT_PADDING_PKCS7, text, CFGCRYPT_TEXT_MAX, &rsa, &en) == 0);
                check(en <= CFGCRYPT_FILE_MAX, "%zu bytes", en);
                check(cfgcrypt_decrypt(rsa, en, NULL, k, NULL, &dec2, &dn, &e) == 0, "%s", e.reason);
                check(dec2 && dn == CFGCRYPT_TEXT_MAX && memcmp(dec2, text, dn) == 0);
                gnutls_free(p.priv.data);
                gnutls_free(p.pub.data);
                gnutls_free(p.cert.data);
        }
        tap_end();

        tap_begin("/cfgcrypt/rsa/key-ciphertext-line-limit");
        _cleanup_(freep) char *long_key = malloc(4096);
        check(long_key);
        if (long_key) {
                int l = snprintf(long_key, 4096, "#!encrypt:1.0.0.0\n#!key_ciphertext:%01500d\n", 0);
                Pems p = {};
                _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *k = NULL;
                if (make_pems(&p) == 0 && cfgcrypt_rsa_key_from_pem(p.priv.data, p.priv.size, &k, NULL) == 0) {
                        check(cfgcrypt_rsa_decrypt(k, long_key, (size_t) l, &t, &n, NULL, &e) == -EBADMSG);
                        check(strstr(e.reason, "longer than any RSA key"), "%s", e.reason);
                }
                gnutls_free(p.priv.data);
                gnutls_free(p.pub.data);
                gnutls_free(p.cert.data);
        }
        tap_end();
}

int main(int argc, char *argv[]) {
        corpus = argc > 1 ? argv[1] : getenv("DESKPHONE_CORPUS");
        if (corpus && access(corpus, R_OK) < 0)
                corpus = NULL;

        test_pair_key();
        test_pair_key_file();
        test_rsa_yealink();
        test_rsa_damages();
        test_rsa_own_keys();
        test_rsa_bad_pem();
        test_keys();
        test_key_files();
        test_padding();
        test_text();
        test_garbage_and_limits();
        return tap_finish();
}
