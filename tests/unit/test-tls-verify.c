/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * services/sipd/tls-verify.c: RFC 6125 name matching (with the RFC's own
 * examples), GnuTLS status to reason, and whole chains made here with GnuTLS
 * (a root, an intermediate, leaves good and bad, a CRL) checked under every
 * policy, at chosen times.
 */
#include <gnutls/abstract.h>
#include <sys/stat.h>

#include "tap.h"
#include "tls-verify.h"
#include "util.h"

#define DAY (24 * 3600)

static time_t now;
static char *tmpdir;

/* ---- names ---- */

static const struct {
        const char *pattern, *host;
        bool match;
} name_cases[] = {
        /* RFC 6125 6.4.1, 6.4.3 */
        { "example.com", "example.com", true },
        { "EXAMPLE.com", "example.COM", true },
        { "example.com.", "example.com", true },
        { "example.com", "example.com.", true },
        { "*.example.com", "foo.example.com", true },
        { "*.example.com", "FOO.Example.COM", true },
        { "*.example.com", "bar.foo.example.com", false },
        { "*.example.com", "example.com", false },
        { "*.example.com", ".example.com", false },
        /* partial-label wildcards: RFC 6125 allows, RFC 9525 and browsers do not, nor do we */
        { "baz*.example.net", "baz1.example.net", false },
        { "*baz.example.net", "foobaz.example.net", false },
        { "b*z.example.net", "buzz.example.net", false },
        /* not in the left-most label, or several */
        { "www.*.com", "www.example.com", false },
        { "*.*.example.com", "a.b.example.com", false },
        { "*.example.*", "www.example.com", false },
        /* too wide */
        { "*.com", "example.com", false },
        { "*", "com", false },
        { "*.", "com", false },
        /* odd input */
        { "", "example.com", false },
        { "example.com", "", false },
        { "*.example.com", "*.example.com", false },
        { "example.com", "example.co", false },
        { "example.co", "example.com", false },
        { "xn--caf-dma.example", "XN--CAF-DMA.example", true },
        /* an address is never a DNS name */
        { "*.0.2.1", "192.0.2.1", false },
        { "192.0.2.1", "192.0.2.1", false },
};

static void test_names(void) {
        for (size_t i = 0; i < ELEMENTSOF(name_cases); i++) {
                char name[160];

                snprintf(name, sizeof name, "/tls/name/'%s'-vs-'%s'", name_cases[i].pattern, name_cases[i].host);
                tap_begin(name);
                check(tls_name_match(name_cases[i].pattern, name_cases[i].host) == name_cases[i].match);
                tap_end();
        }
}

static void test_parse_ip(void) {
        static const struct {
                const char *s;
                size_t len;
        } cases[] = {
                { "127.0.0.1", 4 },   { "::1", 16 },          { "[::1]", 16 },     { "::ffff:192.0.2.1", 16 },
                { "[2001:db8::1]", 16 }, { "[127.0.0.1]", 0 }, { "1.2.3", 0 },      { "localhost", 0 },
                { "", 0 },            { "[::1", 0 },          { "127.0.0.1.", 0 },
        };

        tap_begin("/tls/parse-ip");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint8_t a[16];
                size_t len = 0;
                bool ok = tls_parse_ip(cases[i].s, a, &len);

                check(ok == (cases[i].len > 0) && (!ok || len == cases[i].len), "%s: %d %zu", cases[i].s, ok, len);
        }
        tap_end();
}

static void test_status(void) {
        static const struct {
                unsigned status;
                bool self_issued;
                TlsVerifyResult expect;
        } cases[] = {
                { 0, false, TLS_VERIFY_OK },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, false, TLS_VERIFY_UNKNOWN_CA },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, true, TLS_VERIFY_SELF_SIGNED },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_CA, false, TLS_VERIFY_UNKNOWN_CA },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_REVOKED, false, TLS_VERIFY_REVOKED },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNATURE_FAILURE, false, TLS_VERIFY_BAD_SIGNATURE },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED, false, TLS_VERIFY_EXPIRED },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_NOT_ACTIVATED, false, TLS_VERIFY_NOT_YET_VALID },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_INSECURE_ALGORITHM, false, TLS_VERIFY_INSECURE_ALGORITHM },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_UNEXPECTED_OWNER, false, TLS_VERIFY_NAME_MISMATCH },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_PURPOSE_MISMATCH, false, TLS_VERIFY_WRONG_PURPOSE },
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, false, TLS_VERIFY_INVALID },
                /* an untrusted chain is reported as such, whatever else is wrong with it */
                { GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_EXPIRED, false,
                  TLS_VERIFY_UNKNOWN_CA },
        };

        tap_begin("/tls/status-to-result");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                TlsVerifyResult r = tls_verify_result_from_status(cases[i].status, cases[i].self_issued);
                check(r == cases[i].expect, "case %zu: %s", i, tls_verify_result_to_string(r));
        }
        tap_end();

        tap_begin("/tls/result-strings");
        for (int r = 0; r < _TLS_VERIFY_RESULT_MAX; r++)
                check(tls_verify_result_to_string(r) && *tls_verify_result_to_string(r), "%d", r);
        check(streq(tls_verify_result_to_string(TLS_VERIFY_UNKNOWN_CA), "unknown CA"));
        check(streq(tls_verify_result_to_string(TLS_VERIFY_NAME_MISMATCH), "name mismatch"));
        check(streq(tls_verify_result_to_string(TLS_VERIFY_EXPIRED), "expired"));
        check(streq(tls_verify_result_to_string(TLS_VERIFY_NOT_YET_VALID), "not yet valid"));
        check(streq(tls_verify_result_to_string(TLS_VERIFY_SELF_SIGNED), "self-signed"));
        check(streq(tls_verify_result_to_string(TLS_VERIFY_REVOKED), "revoked"));
        check(streq(tls_verify_result_to_string(TLS_VERIFY_BAD_SIGNATURE), "bad signature"));
        check(!tls_verify_result_to_string(_TLS_VERIFY_RESULT_MAX));
        tap_end();
}

/* ---- certificates made here ---- */

typedef struct Cert {
        gnutls_x509_privkey_t key;
        gnutls_x509_crt_t crt;
        gnutls_datum_t der;
} Cert;

typedef struct CertSpec {
        const char *cn;
        const char *dns[3];
        const char *ip;
        const char *uri;
        const char *eku[2];
        bool ca;
        time_t not_before, not_after;
        const Cert *issuer;     /* NULL: self-signed */
        unsigned serial;
} CertSpec;

static void cert_done(Cert *c) {
        gnutls_free(c->der.data);
        gnutls_x509_crt_deinit(c->crt);
        gnutls_x509_privkey_deinit(c->key);
        *c = (Cert) {};
}

static int cert_names(gnutls_x509_crt_t crt, const CertSpec *s) {
        uint8_t ip[16];
        size_t ip_len;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(s->dns) && s->dns[i] && r >= 0; i++)
                r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, s->dns[i], strlen(s->dns[i]),
                                                         GNUTLS_FSAN_APPEND);
        if (r >= 0 && s->ip && tls_parse_ip(s->ip, ip, &ip_len))
                r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, ip_len,
                                                         GNUTLS_FSAN_APPEND);
        if (r >= 0 && s->uri)
                r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, s->uri, strlen(s->uri),
                                                         GNUTLS_FSAN_APPEND);
        for (size_t i = 0; i < ELEMENTSOF(s->eku) && s->eku[i] && r >= 0; i++)
                r = gnutls_x509_crt_set_key_purpose_oid(crt, s->eku[i], 0);
        if (r >= 0 && s->cn)
                r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, s->cn, strlen(s->cn));
        return r;
}

static int cert_make(const CertSpec *s, Cert *ret) {
        Cert c = {};
        uint8_t serial[4] = { 0x10, (uint8_t) (s->serial >> 16), (uint8_t) (s->serial >> 8), (uint8_t) s->serial };
        int r;

        if (gnutls_x509_privkey_init(&c.key) < 0 || gnutls_x509_crt_init(&c.crt) < 0)
                return -ENOMEM;
        r = gnutls_x509_privkey_generate(c.key, GNUTLS_PK_ECDSA,
                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
        if (r >= 0)
                r = gnutls_x509_crt_set_version(c.crt, 3);
        if (r >= 0)
                r = gnutls_x509_crt_set_serial(c.crt, serial, sizeof serial);
        if (r >= 0)
                r = gnutls_x509_crt_set_key(c.crt, c.key);
        if (r >= 0)
                r = gnutls_x509_crt_set_activation_time(c.crt, s->not_before ?: now - DAY);
        if (r >= 0)
                r = gnutls_x509_crt_set_expiration_time(c.crt, s->not_after ?: now + 30 * DAY);
        if (r >= 0)
                r = gnutls_x509_crt_set_basic_constraints(c.crt, s->ca, -1);
        if (r >= 0)
                r = gnutls_x509_crt_set_key_usage(c.crt, s->ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
                                                               : GNUTLS_KEY_DIGITAL_SIGNATURE);
        if (r >= 0)
                r = cert_names(c.crt, s);
        if (r >= 0)
                r = gnutls_x509_crt_sign2(c.crt, s->issuer ? s->issuer->crt : c.crt,
                                          s->issuer ? s->issuer->key : c.key, GNUTLS_DIG_SHA256, 0);
        if (r >= 0)
                r = gnutls_x509_crt_export2(c.crt, GNUTLS_X509_FMT_DER, &c.der);
        if (r < 0) {
                printf("# cert_make(%s): %s\n", strempty(s->cn), gnutls_strerror(r));
                cert_done(&c);
                return -EINVAL;
        }
        *ret = c;
        return 0;
}

static int write_pem(const char *path, const gnutls_datum_t *pem) {
        _cleanup_(fclosep) FILE *f = fopen(path, "we");

        if (!f || fwrite(pem->data, 1, pem->size, f) != pem->size)
                return -EIO;
        return 0;
}

static int cert_write(const Cert *c, const char *path) {
        gnutls_datum_t pem = {};
        int r;

        if (gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &pem) < 0)
                return -EINVAL;
        r = write_pem(path, &pem);
        gnutls_free(pem.data);
        return r;
}

static int crl_write(const Cert *ca, const Cert *revoked, const char *path) {
        gnutls_x509_crl_t crl;
        gnutls_datum_t pem = {};
        int r;

        if (gnutls_x509_crl_init(&crl) < 0)
                return -ENOMEM;
        r = gnutls_x509_crl_set_version(crl, 2);
        if (r >= 0)
                r = gnutls_x509_crl_set_this_update(crl, now - 3600);
        if (r >= 0)
                r = gnutls_x509_crl_set_next_update(crl, now + 7 * DAY);
        if (r >= 0)
                r = gnutls_x509_crl_set_crt(crl, revoked->crt, now - 3600);
        if (r >= 0)
                r = gnutls_x509_crl_sign2(crl, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0);
        if (r >= 0)
                r = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, &pem);
        gnutls_x509_crl_deinit(crl);
        if (r < 0)
                return -EINVAL;
        r = write_pem(path, &pem);
        gnutls_free(pem.data);
        return r;
}

/* ---- chains ---- */

enum {
        ROOT, OTHER_ROOT, INTER, INTER_EXPIRED,
        GOOD, WILDCARD, CN_ONLY, CN_IP, CN_AND_SAN, SIP_URI, FOREIGN, SELF, REVOKED, CLIENT_ONLY, SIP_EKU,
        VIA_INTER, VIA_INTER_EXPIRED, EXPIRED, NOT_YET,
        _CERT_MAX,
};

static Cert certs[_CERT_MAX];

static int make_all(void) {
        const CertSpec specs[_CERT_MAX] = {
                [ROOT] = { .cn = "Test Root CA", .ca = true, .serial = 1 },
                [OTHER_ROOT] = { .cn = "Other CA", .ca = true, .serial = 2 },
                [INTER] = { .cn = "Test Intermediate", .ca = true, .issuer = &certs[ROOT], .serial = 3 },
                [INTER_EXPIRED] = { .cn = "Old Intermediate", .ca = true, .issuer = &certs[ROOT], .serial = 4,
                                    .not_before = now - 400 * DAY, .not_after = now - 10 * DAY },
                [GOOD] = { .cn = "localhost", .dns = { "localhost", "sip.example.test" }, .ip = "127.0.0.1",
                           .eku = { GNUTLS_KP_TLS_WWW_SERVER }, .issuer = &certs[ROOT], .serial = 10 },
                [WILDCARD] = { .cn = "wild", .dns = { "*.example.test" }, .issuer = &certs[ROOT], .serial = 11 },
                [CN_ONLY] = { .cn = "pbx.example.test", .issuer = &certs[ROOT], .serial = 12 },
                [CN_IP] = { .cn = "127.0.0.1", .issuer = &certs[ROOT], .serial = 13 },
                [CN_AND_SAN] = { .cn = "cn.example.test", .dns = { "san.example.test" }, .issuer = &certs[ROOT],
                                 .serial = 14 },
                [SIP_URI] = { .cn = "x", .uri = "sip:example.test", .issuer = &certs[ROOT], .serial = 15 },
                [FOREIGN] = { .cn = "localhost", .dns = { "localhost" }, .issuer = &certs[OTHER_ROOT],
                              .serial = 16 },
                [SELF] = { .cn = "localhost", .dns = { "localhost" }, .serial = 17 },
                [REVOKED] = { .cn = "localhost", .dns = { "localhost" }, .issuer = &certs[ROOT], .serial = 18 },
                [CLIENT_ONLY] = { .cn = "localhost", .dns = { "localhost" }, .eku = { GNUTLS_KP_TLS_WWW_CLIENT },
                                  .issuer = &certs[ROOT], .serial = 19 },
                [SIP_EKU] = { .cn = "localhost", .dns = { "localhost" }, .eku = { "1.3.6.1.5.5.7.3.20" },
                              .issuer = &certs[ROOT], .serial = 20 },
                [VIA_INTER] = { .cn = "localhost", .dns = { "localhost" }, .issuer = &certs[INTER], .serial = 21 },
                [VIA_INTER_EXPIRED] = { .cn = "localhost", .dns = { "localhost" }, .issuer = &certs[INTER_EXPIRED],
                                        .serial = 22, .not_before = now - 20 * DAY },
                [EXPIRED] = { .cn = "localhost", .dns = { "localhost" }, .issuer = &certs[ROOT], .serial = 23,
                              .not_before = now - 60 * DAY, .not_after = now - DAY },
                [NOT_YET] = { .cn = "localhost", .dns = { "localhost" }, .issuer = &certs[ROOT], .serial = 24,
                              .not_before = now + DAY, .not_after = now + 60 * DAY },
        };
        _cleanup_(freep) char *custom = strjoin(tmpdir, "/custom", NULL);
        _cleanup_(freep) char *root_pem = strjoin(tmpdir, "/custom/root.pem", NULL);
        _cleanup_(freep) char *crl_pem = strjoin(tmpdir, "/custom/revoked.crl", NULL);
        _cleanup_(freep) char *other_pem = strjoin(tmpdir, "/other.pem", NULL);

        for (int i = 0; i < _CERT_MAX; i++)
                if (cert_make(&specs[i], &certs[i]) < 0)
                        return -EINVAL;
        if (!custom || !root_pem || !crl_pem || !other_pem || mkdir(custom, 0700) < 0)
                return -ENOMEM;
        if (cert_write(&certs[ROOT], root_pem) < 0 || cert_write(&certs[OTHER_ROOT], other_pem) < 0 ||
            crl_write(&certs[ROOT], &certs[REVOKED], crl_pem) < 0)
                return -EIO;
        return 0;
}

static TlsVerifyResult verify(const TlsPolicy *p, const int *chain, size_t n, const char *host, time_t t) {
        TlsVerifier *v = NULL;
        gnutls_datum_t ders[4];
        TlsVerifyResult r;

        if (tls_verifier_new(p, &v) < 0)
                return _TLS_VERIFY_RESULT_MAX;
        for (size_t i = 0; i < n; i++)
                ders[i] = certs[chain[i]].der;
        r = tls_verifier_check(v, ders, n, host, t);
        tls_verifier_free(v);
        return r;
}

typedef struct ChainCase {
        const char *name;
        int chain[3];
        size_t n;
        const char *host;
        TlsVerifyResult expect;
        int at_days;            /* time of the check, days from now */
} ChainCase;

static const ChainCase chain_cases[] = {
        { "good/dns", { GOOD }, 1, "localhost", TLS_VERIFY_OK },
        { "good/second-dns", { GOOD }, 1, "SIP.example.test.", TLS_VERIFY_OK },
        { "good/ip-san", { GOOD }, 1, "127.0.0.1", TLS_VERIFY_OK },
        { "good/other-ip", { GOOD }, 1, "127.0.0.2", TLS_VERIFY_NAME_MISMATCH },
        { "good/ipv6", { GOOD }, 1, "[::1]", TLS_VERIFY_NAME_MISMATCH },
        { "good/wrong-host", { GOOD }, 1, "other.example.test", TLS_VERIFY_NAME_MISMATCH },
        { "good/no-host", { GOOD }, 1, "", TLS_VERIFY_NAME_MISMATCH },
        { "good/later-expired", { GOOD }, 1, "localhost", TLS_VERIFY_EXPIRED, 31 },
        { "good/earlier-not-yet-valid", { GOOD }, 1, "localhost", TLS_VERIFY_NOT_YET_VALID, -2 },
        { "wildcard/one-label", { WILDCARD }, 1, "pbx.example.test", TLS_VERIFY_OK },
        { "wildcard/two-labels", { WILDCARD }, 1, "a.pbx.example.test", TLS_VERIFY_NAME_MISMATCH },
        { "wildcard/bare-domain", { WILDCARD }, 1, "example.test", TLS_VERIFY_NAME_MISMATCH },
        { "cn-only/match", { CN_ONLY }, 1, "pbx.example.test", TLS_VERIFY_OK },
        { "cn-only/mismatch", { CN_ONLY }, 1, "other.example.test", TLS_VERIFY_NAME_MISMATCH },
        { "cn-ip/never", { CN_IP }, 1, "127.0.0.1", TLS_VERIFY_NAME_MISMATCH },
        { "cn-ignored-with-san", { CN_AND_SAN }, 1, "cn.example.test", TLS_VERIFY_NAME_MISMATCH },
        { "san-wins-over-cn", { CN_AND_SAN }, 1, "san.example.test", TLS_VERIFY_OK },
        { "sip-uri-san", { SIP_URI }, 1, "example.test", TLS_VERIFY_OK },
        { "sip-uri-san/other", { SIP_URI }, 1, "www.example.test", TLS_VERIFY_NAME_MISMATCH },
        { "unknown-ca", { FOREIGN }, 1, "localhost", TLS_VERIFY_UNKNOWN_CA },
        { "self-signed", { SELF }, 1, "localhost", TLS_VERIFY_SELF_SIGNED },
        { "revoked", { REVOKED }, 1, "localhost", TLS_VERIFY_REVOKED },
        { "eku/client-only", { CLIENT_ONLY }, 1, "localhost", TLS_VERIFY_WRONG_PURPOSE },
        { "eku/sip-domain", { SIP_EKU }, 1, "localhost", TLS_VERIFY_OK },
        { "intermediate/sent", { VIA_INTER, INTER }, 2, "localhost", TLS_VERIFY_OK },
        { "intermediate/missing", { VIA_INTER }, 1, "localhost", TLS_VERIFY_UNKNOWN_CA },
        { "intermediate/expired", { VIA_INTER_EXPIRED, INTER_EXPIRED }, 2, "localhost", TLS_VERIFY_EXPIRED },
        { "expired", { EXPIRED }, 1, "localhost", TLS_VERIFY_EXPIRED },
        { "expired/back-then", { EXPIRED }, 1, "localhost", TLS_VERIFY_OK, -30 },
        { "not-yet-valid", { NOT_YET }, 1, "localhost", TLS_VERIFY_NOT_YET_VALID },
        { "not-yet-valid/later", { NOT_YET }, 1, "localhost", TLS_VERIFY_OK, 2 },
        { "no-certificate", { GOOD }, 0, "localhost", TLS_VERIFY_NO_CERTIFICATE },
};

static TlsVerifyResult verify_one(TlsVerifier *v, const int *cert, const char *host) {
        return tls_verifier_check(v, &certs[cert[0]].der, 1, host, now);
}

static void test_chains(const TlsPolicy *custom) {
        for (size_t i = 0; i < ELEMENTSOF(chain_cases); i++) {
                const ChainCase *c = &chain_cases[i];
                char name[128];
                TlsVerifyResult r;

                snprintf(name, sizeof name, "/tls/chain/%s", c->name);
                tap_begin(name);
                r = verify(custom, c->chain, c->n, c->host, now + (time_t) c->at_days * DAY);
                check(r == c->expect, "got '%s', expected '%s'", strempty(tls_verify_result_to_string(r)),
                      tls_verify_result_to_string(c->expect));
                tap_end();
        }
}

static void test_bad_signature(const TlsPolicy *custom) {
        TlsVerifier *v = NULL;
        gnutls_datum_t der;
        uint8_t *copy;

        tap_begin("/tls/chain/bad-signature");
        copy = malloc(certs[GOOD].der.size);
        if (check(copy && tls_verifier_new(custom, &v) == 0)) {
                memcpy(copy, certs[GOOD].der.data, certs[GOOD].der.size);
                /* ECDSA-Sig-Value ends the DER: flip a bit of s */
                copy[certs[GOOD].der.size - 2] ^= 0x01;
                der = (gnutls_datum_t) { copy, certs[GOOD].der.size };
                check(tls_verifier_check(v, &der, 1, "localhost", now) == TLS_VERIFY_BAD_SIGNATURE);
                /* not a certificate at all */
                der.size = 20;
                check(tls_verifier_check(v, &der, 1, "localhost", now) == TLS_VERIFY_INVALID);
        }
        tls_verifier_free(v);
        free(copy);
        tap_end();
}

static void test_policies(const TlsPolicy *custom, const char *other_pem, const char *root_pem) {
        const int foreign[] = { FOREIGN }, good[] = { GOOD };
        TlsPolicy p;

        tap_begin("/tls/policy/trust-all");
        p = *custom;
        p.trust_certificates = false;
        check(verify(&p, foreign, 1, "localhost", now) == TLS_VERIFY_OK);
        check(verify(&p, good, 1, "wrong.example.test", now) == TLS_VERIFY_NAME_MISMATCH, "name still checked");
        tap_end();

        tap_begin("/tls/policy/no-cn-validation");
        p = *custom;
        p.cn_validation = false;
        check(verify(&p, good, 1, "wrong.example.test", now) == TLS_VERIFY_OK);
        check(verify(&p, foreign, 1, "localhost", now) == TLS_VERIFY_UNKNOWN_CA, "chain still checked");
        tap_end();

        tap_begin("/tls/policy/ca-cert");
        p = *custom;
        p.ca_cert = TLS_CA_SYSTEM;
        p.system_ca_file = other_pem;   /* the "system" trusts only the other CA */
        check(verify(&p, good, 1, "localhost", now) == TLS_VERIFY_UNKNOWN_CA, "0: custom CA not used");
        check(verify(&p, foreign, 1, "localhost", now) == TLS_VERIFY_OK, "0: system CA used");
        p.ca_cert = TLS_CA_CUSTOM;
        check(verify(&p, good, 1, "localhost", now) == TLS_VERIFY_OK, "1: custom CA used");
        check(verify(&p, foreign, 1, "localhost", now) == TLS_VERIFY_UNKNOWN_CA, "1: system CA not used");
        p.ca_cert = TLS_CA_BOTH;
        check(verify(&p, good, 1, "localhost", now) == TLS_VERIFY_OK, "2: custom");
        check(verify(&p, foreign, 1, "localhost", now) == TLS_VERIFY_OK, "2: system");
        p.system_ca_file = root_pem;    /* the same CA in both: loaded twice, no harm */
        check(verify(&p, good, 1, "localhost", now) == TLS_VERIFY_OK, "2: twice");
        tap_end();

        tap_begin("/tls/policy/no-custom-dir");
        p = *custom;
        p.custom_ca_dir = "/nonexistent/deskphone-ca";
        check(verify(&p, good, 1, "localhost", now) == TLS_VERIFY_UNKNOWN_CA);
        p.custom_ca_dir = NULL;
        check(verify(&p, good, 1, "localhost", now) == TLS_VERIFY_UNKNOWN_CA);
        tap_end();

        tap_begin("/tls/policy/invalid");
        p = *custom;
        p.ca_cert = _TLS_CA_MAX;
        check(tls_verifier_new(&p, &(TlsVerifier *) { NULL }) == -EINVAL);
        tap_end();
}

/* Runs e until the verifier let its set go, or a few rounds passed. */
static void run_until_released(sd_event *e, TlsVerifier *v) {
        for (int i = 0; i < 20 && tls_verifier_loaded(v); i++)
                (void) sd_event_run(e, 10 * 1000);
}

static void test_lazy(const TlsPolicy *custom, const char *other_pem, const char *root_pem) {
        const int foreign[] = { FOREIGN }, good[] = { GOOD };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(freep) char *pem = NULL;
        gnutls_datum_t blob;
        TlsVerifier *v = NULL;
        TlsPolicy p;
        size_t size = 0;

        if (sd_event_new(&e) < 0 || read_full_file(root_pem, &pem, &size, 1 << 20) < 0) {
                tap_skip("/tls/lazy", "no event loop or no root PEM");
                return;
        }

        tap_begin("/tls/lazy/first-verify");
        p = *custom;
        p.ca_cert = TLS_CA_BOTH;
        p.system_ca_file = other_pem;
        if (check(tls_verifier_new(&p, &v) == 0)) {
                check(!tls_verifier_loaded(v) && tls_verifier_n_loads(v) == 0, "nothing loaded when made");
                check(tls_verifier_release_when_idle(v, e, 60ULL * 1000000ULL) == 0);
                check(!tls_verifier_loaded(v), "nor when the release is set up");
                check(tls_verifier_check(v, (gnutls_datum_t[]) { certs[GOOD].der }, 1, "localhost", now) ==
                      TLS_VERIFY_OK);
                check(tls_verifier_loaded(v) && tls_verifier_n_loads(v) == 1, "loaded by the first check");
                (void) sd_event_run(e, 0);
                check(tls_verifier_loaded(v), "kept while in use");
                check(tls_verifier_check(v, (gnutls_datum_t[]) { certs[FOREIGN].der }, 1, "localhost", now) ==
                      TLS_VERIFY_OK);
                check(tls_verifier_n_loads(v) == 1, "not loaded again: %u", tls_verifier_n_loads(v));
        }
        tls_verifier_free(v);
        v = NULL;
        tap_end();

        tap_begin("/tls/lazy/trust-all-loads-nothing");
        p.trust_certificates = false;
        if (check(tls_verifier_new(&p, &v) == 0))
                check(tls_verifier_check(v, (gnutls_datum_t[]) { certs[GOOD].der }, 1, "localhost", now) ==
                      TLS_VERIFY_OK && !tls_verifier_loaded(v));
        tls_verifier_free(v);
        v = NULL;
        tap_end();

        tap_begin("/tls/lazy/idle-release-and-reload");
        p.trust_certificates = true;
        if (check(tls_verifier_new(&p, &v) == 0 && tls_verifier_release_when_idle(v, e, 0) == 0)) {
                check(verify_one(v, good, "localhost") == TLS_VERIFY_OK && tls_verifier_loaded(v));
                run_until_released(e, v);
                check(!tls_verifier_loaded(v), "freed after the idle delay");
                check(verify_one(v, foreign, "localhost") == TLS_VERIFY_OK, "system CA after the reload");
                check(verify_one(v, good, "wrong.example.test") == TLS_VERIFY_NAME_MISMATCH);
                check(tls_verifier_n_loads(v) == 2, "%u loads", tls_verifier_n_loads(v));
                run_until_released(e, v);
                check(!tls_verifier_loaded(v), "freed again");
                check(tls_verifier_n_trusted(v) == 2, "%u CAs", tls_verifier_n_trusted(v));
        }
        tls_verifier_free(v);
        v = NULL;
        tap_end();

        tap_begin("/tls/lazy/custom-from-store");
        p = *custom;
        p.custom_ca_dir = NULL;
        blob = (gnutls_datum_t) { (unsigned char *) pem, (unsigned) size };
        p.custom_cas = &blob;
        p.n_custom_cas = 1;
        if (check(tls_verifier_new(&p, &v) == 0 && tls_verifier_release_when_idle(v, e, 0) == 0)) {
                /* the verifier keeps its own copy of provd's blobs */
                memset(pem, 0, size);
                check(verify_one(v, good, "localhost") == TLS_VERIFY_OK, "custom CA applied");
                check(verify_one(v, foreign, "localhost") == TLS_VERIFY_UNKNOWN_CA, "no system CA");
                run_until_released(e, v);
                check(!tls_verifier_loaded(v));
                check(verify_one(v, good, "localhost") == TLS_VERIFY_OK, "custom CA applied after the reload");
                check(tls_verifier_n_loads(v) == 2, "%u loads", tls_verifier_n_loads(v));
        }
        tls_verifier_free(v);
        tap_end();
}

static void test_system_store(void) {
        TlsPolicy p = { .trust_certificates = true, .ca_cert = TLS_CA_SYSTEM, .cn_validation = true };
        TlsVerifier *v = NULL;

        if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) < 0) {
                tap_skip("/tls/policy/system-store", "no /etc/ssl/certs/ca-certificates.crt");
                return;
        }
        tap_begin("/tls/policy/system-store");
        check(tls_verifier_new(&p, &v) == 0 && tls_verifier_n_trusted(v) > 10, "%u CAs",
              v ? tls_verifier_n_trusted(v) : 0);
        tls_verifier_free(v);
        tap_end();
}

int main(void) {
        char template[] = "/tmp/test-tls-verify-XXXXXX";
        _cleanup_(freep) char *custom = NULL, *other_pem = NULL, *root_pem = NULL;
        TlsPolicy policy;
        int r;

        now = time(NULL);
        test_names();
        test_parse_ip();
        test_status();

        tmpdir = mkdtemp(template);
        tap_begin("/tls/make-certificates");
        r = tmpdir ? make_all() : -errno;
        check(r == 0, "%d", r);
        tap_end();
        if (r == 0) {
                custom = strjoin(tmpdir, "/custom", NULL);
                other_pem = strjoin(tmpdir, "/other.pem", NULL);
                root_pem = strjoin(tmpdir, "/custom/root.pem", NULL);
                policy = (TlsPolicy) {
                        .trust_certificates = true,
                        .ca_cert = TLS_CA_CUSTOM,
                        .cn_validation = true,
                        .custom_ca_dir = custom,
                };
                test_chains(&policy);
                test_bad_signature(&policy);
                test_policies(&policy, other_pem, root_pem);
                test_lazy(&policy, other_pem, root_pem);
        }
        test_system_store();

        for (int i = 0; i < _CERT_MAX; i++)
                cert_done(&certs[i]);
        if (tmpdir)
                rm_rf(tmpdir);
        return tap_finish();
}
