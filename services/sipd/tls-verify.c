/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <strings.h>
#include <sys/stat.h>

#include "log.h"
#include "tls-verify.h"

/* id-kp-serverAuth, id-kp-sipDomain (RFC 5924), anyExtendedKeyUsage */
#define OID_KP_SIP_DOMAIN "1.3.6.1.5.5.7.3.20"
#define OID_KP_ANY "2.5.29.37.0"

#define NAME_MAX_LEN 255 /* a DNS name, and anything we copy out of a certificate */

struct TlsVerifier {
        TlsPolicy policy;
        gnutls_x509_trust_list_t trust;
        unsigned n_trusted;
};

static const char * const result_table[_TLS_VERIFY_RESULT_MAX] = {
        [TLS_VERIFY_OK] = "ok",
        [TLS_VERIFY_NO_CERTIFICATE] = "no certificate",
        [TLS_VERIFY_UNKNOWN_CA] = "unknown CA",
        [TLS_VERIFY_SELF_SIGNED] = "self-signed",
        [TLS_VERIFY_EXPIRED] = "expired",
        [TLS_VERIFY_NOT_YET_VALID] = "not yet valid",
        [TLS_VERIFY_REVOKED] = "revoked",
        [TLS_VERIFY_BAD_SIGNATURE] = "bad signature",
        [TLS_VERIFY_NAME_MISMATCH] = "name mismatch",
        [TLS_VERIFY_WRONG_PURPOSE] = "not a TLS server certificate",
        [TLS_VERIFY_INSECURE_ALGORITHM] = "insecure algorithm",
        [TLS_VERIFY_INVALID] = "invalid certificate",
};

const char *tls_verify_result_to_string(TlsVerifyResult r) {
        if (r < 0 || r >= _TLS_VERIFY_RESULT_MAX)
                return NULL;
        return result_table[r];
}

/* ---- names ---- */

/* Length of a DNS name without one trailing dot; 0 if empty or too long. */
static size_t name_len(const char *s) {
        size_t l = strlen(s);

        if (l > 0 && s[l - 1] == '.')
                l--;
        return l <= NAME_MAX_LEN ? l : 0;
}

static bool labels_equal(const char *a, size_t la, const char *b, size_t lb) {
        return la == lb && strncasecmp(a, b, la) == 0;
}

bool tls_name_match(const char *pattern, const char *host) {
        size_t lp, lh;
        const char *suffix, *dot;
        uint8_t ip[16];
        size_t ip_len;

        if (!pattern || !host)
                return false;
        lp = name_len(pattern);
        lh = name_len(host);
        if (lp == 0 || lh == 0 || memchr(host, '*', lh) || tls_parse_ip(host, ip, &ip_len))
                return false;

        if (!memchr(pattern, '*', lp))
                return labels_equal(pattern, lp, host, lh);

        /* Only "*." as the whole left-most label, nowhere else. */
        if (lp < 2 || pattern[0] != '*' || pattern[1] != '.' || memchr(pattern + 1, '*', lp - 1))
                return false;
        suffix = pattern + 2;
        /* At least two labels after the wildcard. */
        dot = memchr(suffix, '.', lp - 2);
        if (!dot || dot == suffix || dot == pattern + lp - 1)
                return false;

        /* The host's first label stands for "*": one non-empty label. */
        dot = memchr(host, '.', lh);
        if (!dot || dot == host)
                return false;
        return labels_equal(suffix, lp - 2, dot + 1, lh - (size_t) (dot + 1 - host));
}

bool tls_parse_ip(const char *host, uint8_t ret_addr[static 16], size_t *ret_len) {
        char buf[INET6_ADDRSTRLEN + 2];
        size_t l;
        uint8_t addr[16];

        if (!host)
                return false;
        l = strnlen(host, sizeof buf);
        if (l == 0 || l >= sizeof buf)
                return false;
        if (host[0] == '[') {
                if (l < 3 || host[l - 1] != ']')
                        return false;
                memcpy(buf, host + 1, l - 2);
                buf[l - 2] = 0;
                if (inet_pton(AF_INET6, buf, addr) != 1)
                        return false;
                memcpy(ret_addr, addr, 16);
                *ret_len = 16;
                return true;
        }
        if (inet_pton(AF_INET, host, addr) == 1) {
                memcpy(ret_addr, addr, 4);
                *ret_len = 4;
                return true;
        }
        if (inet_pton(AF_INET6, host, addr) == 1) {
                memcpy(ret_addr, addr, 16);
                *ret_len = 16;
                return true;
        }
        return false;
}

/* RFC 5922: "sip:example.com" or "sips:example.com" names the SIP domain; no
 * user part, no port, no parameters, no wildcard. */
static bool sip_uri_matches(const char *uri, const char *host) {
        const char *h = startswith(uri, "sip:") ?: startswith(uri, "sips:");

        if (!h || strpbrk(h, "@:;?*"))
                return false;
        return labels_equal(h, name_len(h), host, name_len(host)) && name_len(host) > 0;
}

/* One subjectAltName entry, NUL-terminated in buf; <0 when there are no more. */
static int get_san(gnutls_x509_crt_t crt, unsigned i, char buf[static NAME_MAX_LEN + 1], size_t *ret_len) {
        size_t size = NAME_MAX_LEN;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size, NULL);

        if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) {
                /* Longer than any name we could match: skip it, keep going. */
                buf[0] = 0;
                *ret_len = 0;
                return 0;
        }
        if (type < 0)
                return type;
        buf[MIN(size, (size_t) NAME_MAX_LEN)] = 0;
        *ret_len = size;
        return type;
}

static TlsVerifyResult check_ip(gnutls_x509_crt_t crt, const uint8_t *ip, size_t ip_len) {
        char buf[NAME_MAX_LEN + 1];
        size_t len;
        int type;

        for (unsigned i = 0; (type = get_san(crt, i, buf, &len)) != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE; i++) {
                if (type < 0)
                        return TLS_VERIFY_INVALID;
                if (type == GNUTLS_SAN_IPADDRESS && len == ip_len && memcmp(buf, ip, ip_len) == 0)
                        return TLS_VERIFY_OK;
        }
        return TLS_VERIFY_NAME_MISMATCH;
}

static TlsVerifyResult check_cn(gnutls_x509_crt_t crt, const char *host) {
        char buf[NAME_MAX_LEN + 1];

        for (unsigned i = 0; i < 8; i++) {
                size_t size = sizeof buf - 1;
                int r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, i, 0, buf, &size);

                if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
                        break;
                if (r < 0)
                        continue;
                buf[MIN(size, sizeof buf - 1)] = 0;
                if (strlen(buf) == size && tls_name_match(buf, host))
                        return TLS_VERIFY_OK;
        }
        return TLS_VERIFY_NAME_MISMATCH;
}

TlsVerifyResult tls_check_host(gnutls_x509_crt_t crt, const char *host) {
        char buf[NAME_MAX_LEN + 1];
        uint8_t ip[16];
        size_t ip_len, len;
        bool has_dns_or_uri = false;
        int type;

        if (!host || !*host)
                return TLS_VERIFY_NAME_MISMATCH;
        if (tls_parse_ip(host, ip, &ip_len))
                return check_ip(crt, ip, ip_len);

        for (unsigned i = 0; (type = get_san(crt, i, buf, &len)) != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE; i++) {
                if (type < 0)
                        return TLS_VERIFY_INVALID;
                if (type == GNUTLS_SAN_DNSNAME) {
                        has_dns_or_uri = true;
                        /* an embedded NUL is a forgery attempt, never a name */
                        if (strlen(buf) == len && tls_name_match(buf, host))
                                return TLS_VERIFY_OK;
                } else if (type == GNUTLS_SAN_URI) {
                        has_dns_or_uri = true;
                        if (strlen(buf) == len && sip_uri_matches(buf, host))
                                return TLS_VERIFY_OK;
                }
        }
        if (has_dns_or_uri)
                return TLS_VERIFY_NAME_MISMATCH;
        return check_cn(crt, host);
}

/* ---- chain ---- */

TlsVerifyResult tls_check_time(gnutls_x509_crt_t crt, time_t now) {
        time_t not_before = gnutls_x509_crt_get_activation_time(crt);
        time_t not_after = gnutls_x509_crt_get_expiration_time(crt);

        if (not_before == (time_t) -1 || not_after == (time_t) -1)
                return TLS_VERIFY_INVALID;
        if (now < not_before)
                return TLS_VERIFY_NOT_YET_VALID;
        if (now > not_after)
                return TLS_VERIFY_EXPIRED;
        return TLS_VERIFY_OK;
}

TlsVerifyResult tls_verify_result_from_status(unsigned status, bool self_issued) {
        if (status == 0)
                return TLS_VERIFY_OK;
        if (status & GNUTLS_CERT_REVOKED)
                return TLS_VERIFY_REVOKED;
        if (status & GNUTLS_CERT_SIGNATURE_FAILURE)
                return TLS_VERIFY_BAD_SIGNATURE;
        if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
                return self_issued ? TLS_VERIFY_SELF_SIGNED : TLS_VERIFY_UNKNOWN_CA;
        if (status & GNUTLS_CERT_EXPIRED)
                return TLS_VERIFY_EXPIRED;
        if (status & GNUTLS_CERT_NOT_ACTIVATED)
                return TLS_VERIFY_NOT_YET_VALID;
        if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
                return TLS_VERIFY_INSECURE_ALGORITHM;
        if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
                return TLS_VERIFY_NAME_MISMATCH;
        if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
                return TLS_VERIFY_WRONG_PURPOSE;
        return TLS_VERIFY_INVALID;
}

/* A server certificate with an extendedKeyUsage must allow serverAuth, sipDomain or any. */
static TlsVerifyResult check_purpose(gnutls_x509_crt_t crt) {
        char oid[128];
        bool has_eku = false;

        for (unsigned i = 0; i < 32; i++) {
                size_t size = sizeof oid;
                int r = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size, NULL);

                if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
                        break;
                if (r < 0)
                        return TLS_VERIFY_INVALID;
                has_eku = true;
                if (streq(oid, GNUTLS_KP_TLS_WWW_SERVER) || streq(oid, OID_KP_SIP_DOMAIN) ||
                    streq(oid, OID_KP_ANY))
                        return TLS_VERIFY_OK;
        }
        return has_eku ? TLS_VERIFY_WRONG_PURPOSE : TLS_VERIFY_OK;
}

static void crts_free(gnutls_x509_crt_t *crts, size_t n) {
        for (size_t i = 0; i < n; i++)
                gnutls_x509_crt_deinit(crts[i]);
}

static int import_chain(const gnutls_datum_t *chain, size_t n,
                        gnutls_x509_crt_t crts[static TLS_VERIFY_MAX_CHAIN]) {
        for (size_t i = 0; i < n; i++) {
                if (gnutls_x509_crt_init(&crts[i]) < 0) {
                        crts_free(crts, i);
                        return -ENOMEM;
                }
                if (gnutls_x509_crt_import(crts[i], &chain[i], GNUTLS_X509_FMT_DER) < 0) {
                        crts_free(crts, i + 1);
                        return -EBADMSG;
                }
        }
        return 0;
}

/* Validity periods of the leaf and of the intermediates it chains to (times are
 * ours to check, so that "now" can be any time). The trust anchor is not
 * checked: its period is the store's business, as GnuTLS does by default. */
static TlsVerifyResult check_chain_times(gnutls_x509_crt_t *crts, size_t n, time_t now) {
        for (size_t i = 0; i < n; i++) {
                TlsVerifyResult r;

                if (i > 0 && !gnutls_x509_crt_check_issuer(crts[i - 1], crts[i]))
                        break;
                r = tls_check_time(crts[i], now);
                if (r != TLS_VERIFY_OK)
                        return r;
        }
        return TLS_VERIFY_OK;
}

static TlsVerifyResult check_trust(const TlsVerifier *v, gnutls_x509_crt_t *crts, size_t n, time_t now) {
        unsigned status = 0;
        int r;

        r = gnutls_x509_trust_list_verify_crt2(v->trust, crts, n, NULL, 0,
                                               GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                                               GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
                                               &status, NULL);
        if (r < 0)
                return TLS_VERIFY_INVALID;
        if (status != 0)
                return tls_verify_result_from_status(status, gnutls_x509_crt_check_issuer(crts[0], crts[0]));
        return check_chain_times(crts, n, now);
}

TlsVerifyResult tls_verifier_check(const TlsVerifier *v, const gnutls_datum_t *chain, size_t n_chain,
                                   const char *host, time_t now) {
        gnutls_x509_crt_t crts[TLS_VERIFY_MAX_CHAIN];
        TlsVerifyResult r = TLS_VERIFY_OK;
        size_t n = MIN(n_chain, (size_t) TLS_VERIFY_MAX_CHAIN);

        if (!chain || n == 0)
                return TLS_VERIFY_NO_CERTIFICATE;
        if (import_chain(chain, n, crts) < 0)
                return TLS_VERIFY_INVALID;

        if (v->policy.trust_certificates) {
                r = check_trust(v, crts, n, now);
                if (r == TLS_VERIFY_OK)
                        r = check_purpose(crts[0]);
        }
        if (r == TLS_VERIFY_OK && v->policy.cn_validation)
                r = tls_check_host(crts[0], host);

        crts_free(crts, n);
        return r;
}

/* ---- the trusted set ---- */

static unsigned add_system(gnutls_x509_trust_list_t tl, const char *file) {
        int r;

        if (file)
                r = gnutls_x509_trust_list_add_trust_file(tl, file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
        else
                r = gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
        if (r < 0) {
                log_warning("Cannot load the system CAs%s%s: %s, ignoring",
                            file ? " from " : "", strempty(file), gnutls_strerror(r));
                return 0;
        }
        return (unsigned) r;
}

static unsigned add_custom(gnutls_x509_trust_list_t tl, const char *dir) {
        struct stat st;
        int r;

        if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        r = gnutls_x509_trust_list_add_trust_dir(tl, dir, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
        if (r < 0) {
                log_warning("Cannot load the custom CAs in %s: %s, ignoring", dir, gnutls_strerror(r));
                return 0;
        }
        /* CRLs from the same directory, if a trusted CA signed them (files that are
         * not CRLs are skipped). */
        if (gnutls_x509_trust_list_add_trust_dir(tl, NULL, dir, GNUTLS_X509_FMT_PEM, GNUTLS_TL_VERIFY_CRL, 0) < 0)
                log_warning("Cannot load the CRLs in %s, ignoring", dir);
        return (unsigned) r;
}

static unsigned add_custom_mem(gnutls_x509_trust_list_t tl, const gnutls_datum_t *cas, size_t n) {
        unsigned added = 0;

        for (size_t i = 0; i < n; i++) {
                int r = gnutls_x509_trust_list_add_trust_mem(tl, &cas[i], NULL, GNUTLS_X509_FMT_PEM, 0, 0);
                if (r < 0)
                        log_warning("Cannot load custom CA %zu: %s, ignoring", i + 1, gnutls_strerror(r));
                else
                        added += (unsigned) r;
        }
        return added;
}

int tls_verifier_new(const TlsPolicy *policy, TlsVerifier **ret) {
        TlsVerifier *v;

        if (!policy || policy->ca_cert >= _TLS_CA_MAX)
                return -EINVAL;
        v = calloc(1, sizeof *v);
        if (!v)
                return -ENOMEM;
        v->policy = (TlsPolicy) {
                .trust_certificates = policy->trust_certificates,
                .ca_cert = policy->ca_cert,
                .cn_validation = policy->cn_validation,
        };
        if (gnutls_x509_trust_list_init(&v->trust, 0) < 0) {
                free(v);
                return -ENOMEM;
        }
        if (policy->ca_cert == TLS_CA_SYSTEM || policy->ca_cert == TLS_CA_BOTH)
                v->n_trusted += add_system(v->trust, policy->system_ca_file);
        if (policy->ca_cert == TLS_CA_CUSTOM || policy->ca_cert == TLS_CA_BOTH)
                v->n_trusted += add_custom(v->trust, policy->custom_ca_dir) +
                                add_custom_mem(v->trust, policy->custom_cas, policy->n_custom_cas);

        *ret = v;
        return 0;
}

TlsVerifier *tls_verifier_free(TlsVerifier *v) {
        if (v) {
                gnutls_x509_trust_list_deinit(v->trust, 1);
                free(v);
        }
        return NULL;
}

unsigned tls_verifier_n_trusted(const TlsVerifier *v) {
        return v->n_trusted;
}

const TlsPolicy *tls_verifier_policy(const TlsVerifier *v) {
        return &v->policy;
}
