/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <malloc.h>
#include <strings.h>
#include <sys/stat.h>

#include <inttypes.h>

#include "log.h"
#include "tls-verify.h"

/* id-kp-serverAuth, id-kp-sipDomain (RFC 5924), anyExtendedKeyUsage */
#define OID_KP_SIP_DOMAIN "1.3.6.1.5.5.7.3.20"
#define OID_KP_ANY "2.5.29.37.0"

#define NAME_MAX_LEN 255 /* a DNS name, and anything we copy out of a certificate */

/*
 * The system store is large (Debian: about 140 CAs, some 26 KiB of heap each),
 * and most phones never verify a certificate. So the trusted set is built when
 * a chain must be checked against it, not before, and, once release_when_idle
 * is set, dropped again when no chain has been checked for a while. What it is
 * built from (file names, provd's PEM blobs) is copied at creation.
 */
struct TlsVerifier {
        TlsPolicy policy;
        char *system_ca_file;
        char *custom_ca_dir;
        gnutls_datum_t *custom_cas;
        size_t n_custom_cas;

        gnutls_x509_trust_list_t trust;         /* NULL: not loaded now */
        unsigned n_trusted;                     /* in the set last loaded */
        bool counted;                           /* n_trusted known */
        bool warned;                            /* load failures logged once */
        unsigned n_loads;

        sd_event_source *idle;                  /* NULL: the set stays once loaded */
        uint64_t idle_usec;
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

static int trust_load(TlsVerifier *v);
static void trust_touch(TlsVerifier *v);

static TlsVerifyResult check_trust(TlsVerifier *v, gnutls_x509_crt_t *crts, size_t n, time_t now) {
        unsigned status = 0;
        int r;

        if (trust_load(v) < 0)
                return TLS_VERIFY_INVALID;
        trust_touch(v);
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

TlsVerifyResult tls_verifier_check(TlsVerifier *v, const gnutls_datum_t *chain, size_t n_chain,
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

static unsigned add_system(gnutls_x509_trust_list_t tl, const char *file, bool quiet) {
        int r;

        if (file)
                r = gnutls_x509_trust_list_add_trust_file(tl, file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
        else
                r = gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
        if (r < 0) {
                if (!quiet)
                        log_warning("Cannot load the system CAs%s%s: %s, ignoring",
                                    file ? " from " : "", strempty(file), gnutls_strerror(r));
                return 0;
        }
        return (unsigned) r;
}

static unsigned add_custom(gnutls_x509_trust_list_t tl, const char *dir, bool quiet) {
        struct stat st;
        int r;

        if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        r = gnutls_x509_trust_list_add_trust_dir(tl, dir, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
        if (r < 0) {
                if (!quiet)
                        log_warning("Cannot load the custom CAs in %s: %s, ignoring", dir, gnutls_strerror(r));
                return 0;
        }
        /* CRLs from the same directory, if a trusted CA signed them (files that are
         * not CRLs are skipped). */
        if (gnutls_x509_trust_list_add_trust_dir(tl, NULL, dir, GNUTLS_X509_FMT_PEM, GNUTLS_TL_VERIFY_CRL, 0) < 0 &&
            !quiet)
                log_warning("Cannot load the CRLs in %s, ignoring", dir);
        return (unsigned) r;
}

static unsigned add_custom_mem(gnutls_x509_trust_list_t tl, const gnutls_datum_t *cas, size_t n, bool quiet) {
        unsigned added = 0;

        for (size_t i = 0; i < n; i++) {
                int r = gnutls_x509_trust_list_add_trust_mem(tl, &cas[i], NULL, GNUTLS_X509_FMT_PEM, 0, 0);
                if (r < 0 && !quiet)
                        log_warning("Cannot load custom CA %zu: %s, ignoring", i + 1, gnutls_strerror(r));
                else
                        added += (unsigned) r;
        }
        return added;
}

static bool wants_system(const TlsVerifier *v) {
        return v->policy.ca_cert == TLS_CA_SYSTEM || v->policy.ca_cert == TLS_CA_BOTH;
}

static bool wants_custom(const TlsVerifier *v) {
        return v->policy.ca_cert == TLS_CA_CUSTOM || v->policy.ca_cert == TLS_CA_BOTH;
}

/* Builds the trusted set if it is not loaded. Sources that cannot be read are
 * logged the first time and skipped, as before. */
static int trust_load(TlsVerifier *v) {
        gnutls_x509_trust_list_t tl;
        unsigned n = 0;

        if (v->trust)
                return 0;
        if (gnutls_x509_trust_list_init(&tl, 0) < 0)
                return -ENOMEM;
        if (wants_system(v))
                n += add_system(tl, v->system_ca_file, v->warned);
        if (wants_custom(v))
                n += add_custom(tl, v->custom_ca_dir, v->warned) +
                     add_custom_mem(tl, v->custom_cas, v->n_custom_cas, v->warned);
        v->trust = tl;
        v->n_trusted = n;
        v->counted = v->warned = true;
        v->n_loads++;
        log_debug("TLS: loaded %u trusted CAs", n);
        return 0;
}

static void trust_release(TlsVerifier *v) {
        if (!v->trust)
                return;
        gnutls_x509_trust_list_deinit(v->trust, 1);
        v->trust = NULL;
        /* The CA list is most of the heap it leaves free: give it back now. */
        (void) malloc_trim(0);
        log_debug("TLS: released the trusted CAs, unused for %" PRIu64 " s", v->idle_usec / 1000000);
}

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        trust_release(userdata);
        return 0;
}

/* A chain was just checked: the set stays for idle_usec more. */
static void trust_touch(TlsVerifier *v) {
        uint64_t now;
        int r;

        if (!v->idle)
                return;
        r = sd_event_now(sd_event_source_get_event(v->idle), CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_source_set_time(v->idle, now + v->idle_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(v->idle, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Cannot arm the timer that releases the trusted CAs, keeping them: %m");
}

int tls_verifier_release_when_idle(TlsVerifier *v, sd_event *e, uint64_t idle_usec) {
        _cleanup_(sd_event_unrefp) sd_event *def = NULL;
        int r;

        if (!e) {
                r = sd_event_default(&def);
                if (r < 0)
                        return r;
                e = def;
        }
        v->idle = sd_event_source_disable_unref(v->idle);
        r = sd_event_add_time(e, &v->idle, CLOCK_MONOTONIC, UINT64_MAX, 0, on_idle, v);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(v->idle, "tls-trust-idle");
        v->idle_usec = idle_usec;
        if (v->trust)
                trust_touch(v);
        return 0;
}

static int copy_policy_sources(TlsVerifier *v, const TlsPolicy *policy) {
        if (policy->system_ca_file && !(v->system_ca_file = strdup(policy->system_ca_file)))
                return -ENOMEM;
        if (policy->custom_ca_dir && !(v->custom_ca_dir = strdup(policy->custom_ca_dir)))
                return -ENOMEM;
        if (policy->n_custom_cas == 0)
                return 0;
        v->custom_cas = calloc(policy->n_custom_cas, sizeof(gnutls_datum_t));
        if (!v->custom_cas)
                return -ENOMEM;
        for (size_t i = 0; i < policy->n_custom_cas; i++) {
                const gnutls_datum_t *d = &policy->custom_cas[i];

                v->custom_cas[i].data = malloc(MAX(d->size, 1u));
                if (!v->custom_cas[i].data)
                        return -ENOMEM;
                if (d->size > 0)
                        memcpy(v->custom_cas[i].data, d->data, d->size);
                v->custom_cas[i].size = d->size;
                v->n_custom_cas = i + 1;
        }
        return 0;
}

int tls_verifier_new(const TlsPolicy *policy, TlsVerifier **ret) {
        TlsVerifier *v;
        int r;

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
        r = copy_policy_sources(v, policy);
        if (r < 0) {
                tls_verifier_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

TlsVerifier *tls_verifier_free(TlsVerifier *v) {
        if (!v)
                return NULL;
        v->idle = sd_event_source_disable_unref(v->idle);
        if (v->trust)
                gnutls_x509_trust_list_deinit(v->trust, 1);
        for (size_t i = 0; i < v->n_custom_cas; i++)
                free(v->custom_cas[i].data);
        free(v->custom_cas);
        free(v->system_ca_file);
        free(v->custom_ca_dir);
        free(v);
        return NULL;
}

unsigned tls_verifier_n_trusted(TlsVerifier *v) {
        /* Counting means loading: with an idle release, the set goes again at once. */
        if (!v->counted && trust_load(v) >= 0 && v->idle)
                trust_release(v);
        return v->n_trusted;
}

bool tls_verifier_loaded(const TlsVerifier *v) {
        return v->trust;
}

unsigned tls_verifier_n_loads(const TlsVerifier *v) {
        return v->n_loads;
}

const TlsPolicy *tls_verifier_policy(const TlsVerifier *v) {
        return &v->policy;
}
