/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <systemd/sd-event.h>

/*
 * Certificate verification policy for SIP over TLS, from the Yealink keys:
 *
 *   static.security.trust_certificates  only accept chains that end in a trusted CA
 *   static.security.ca_cert             the trusted set: 0 system CAs, 1 custom, 2 both
 *   static.security.cn_validation       the server's name must match its certificate
 *
 * No sofia, no global state. The trusted set is built from the CA sources (copied
 * when a TlsVerifier is made) the first time a chain must be checked against it,
 * and kept; with tls_verifier_release_when_idle() it is freed again (and the heap
 * trimmed) after a while without checks, and rebuilt by the next one. Checking a
 * chain takes the time as an argument, so tests can ask "what about next year".
 *
 * Name matching (cn_validation) follows RFC 6125 with the stricter rules of
 * RFC 9525 and the CA/Browser Forum:
 *   - DNS-IDs (subjectAltName dNSName) compared case-insensitively, one trailing
 *     dot ignored;
 *   - a wildcard only as the whole left-most label ("*.example.com"), matching
 *     exactly one non-empty label, and only with at least two labels after it
 *     ("*.com" matches nothing); "f*.example.com", "*.*.example.com" and
 *     "www.*.com" match nothing;
 *   - SIP URIs in subjectAltName (RFC 5922: "sip:example.com") match their host
 *     exactly, without wildcards;
 *   - the subject CN is only looked at when the certificate has no dNSName and no
 *     URI subjectAltName (RFC 6125 6.4.4);
 *   - an IP address (host "127.0.0.1", "::1" or "[::1]") only matches an
 *     iPAddress subjectAltName of the same bytes, never a DNS name or a CN.
 */

typedef enum TlsCaSet {
        TLS_CA_SYSTEM = 0,      /* the system's trust store */
        TLS_CA_CUSTOM = 1,      /* only the custom CAs installed on the phone */
        TLS_CA_BOTH = 2,
        _TLS_CA_MAX,
} TlsCaSet;

typedef struct TlsPolicy {
        bool trust_certificates;        /* false: any chain is accepted (Yealink's "trust all") */
        TlsCaSet ca_cert;
        bool cn_validation;
        /* Custom CAs: every PEM file in this directory (certificates; CRLs too,
         * which revoke what they list). NULL or missing: no custom CA. */
        const char *custom_ca_dir;
        /* More custom CAs, in memory: PEM blobs of certificates (provd's store). */
        const gnutls_datum_t *custom_cas;
        size_t n_custom_cas;
        /* NULL: GnuTLS's system trust (Debian: /etc/ssl/certs/ca-certificates.crt).
         * Set: this PEM file stands for the system store (tests, images without one). */
        const char *system_ca_file;
} TlsPolicy;

typedef enum TlsVerifyResult {
        TLS_VERIFY_OK,
        TLS_VERIFY_NO_CERTIFICATE,
        TLS_VERIFY_UNKNOWN_CA,
        TLS_VERIFY_SELF_SIGNED,
        TLS_VERIFY_EXPIRED,
        TLS_VERIFY_NOT_YET_VALID,
        TLS_VERIFY_REVOKED,
        TLS_VERIFY_BAD_SIGNATURE,
        TLS_VERIFY_NAME_MISMATCH,
        TLS_VERIFY_WRONG_PURPOSE,
        TLS_VERIFY_INSECURE_ALGORITHM,
        TLS_VERIFY_INVALID,             /* unparsable, not a CA, constraints violated, chain too long */
        _TLS_VERIFY_RESULT_MAX,
} TlsVerifyResult;

/* What a person reads on the account's LastError: "unknown CA", "name mismatch",
 * "expired", "not yet valid", "revoked", "bad signature", "self-signed", ... */
const char *tls_verify_result_to_string(TlsVerifyResult r);

#define TLS_VERIFY_MAX_CHAIN 16 /* certificates looked at in what a peer presents */

typedef struct TlsVerifier TlsVerifier;

/* Copies the CA sources the policy names; loads nothing yet. When the set is
 * built, a CA source that cannot be read is logged (once) and skipped (the set
 * may end up empty: then nothing is trusted). */
int tls_verifier_new(const TlsPolicy *policy, TlsVerifier **ret);
TlsVerifier *tls_verifier_free(TlsVerifier *v);
/* Free the trusted set idle_usec after the last chain checked against it, on a
 * timer of e (NULL: the thread's default loop). Without this, it stays loaded. */
int tls_verifier_release_when_idle(TlsVerifier *v, sd_event *e, uint64_t idle_usec);
/* Number of trusted CAs (for logs). Builds the set if it never was (then, with an
 * idle release, frees it at once): costly with the system store. */
unsigned tls_verifier_n_trusted(TlsVerifier *v);
/* For tests: is the set in memory now, how many times was it built. */
bool tls_verifier_loaded(const TlsVerifier *v);
unsigned tls_verifier_n_loads(const TlsVerifier *v);
const TlsPolicy *tls_verifier_policy(const TlsVerifier *v); /* strings not kept: NULL */

/* The chain a server presented (DER, leaf first), for a connection to host (the
 * name or address we connected to, as in the URI), at time now. */
TlsVerifyResult tls_verifier_check(TlsVerifier *v, const gnutls_datum_t *chain, size_t n_chain,
                                   const char *host, time_t now);

/* The pieces, for tests. */
bool tls_name_match(const char *pattern, const char *host);
/* IP literal ("192.0.2.1", "2001:db8::1", "[2001:db8::1]") into 4 or 16 bytes. */
bool tls_parse_ip(const char *host, uint8_t ret_addr[static 16], size_t *ret_len);
TlsVerifyResult tls_check_host(gnutls_x509_crt_t crt, const char *host);
TlsVerifyResult tls_check_time(gnutls_x509_crt_t crt, time_t now);
/* GnuTLS verification status bits to our result; self_issued: the leaf's issuer is its subject. */
TlsVerifyResult tls_verify_result_from_status(unsigned status, bool self_issued);
