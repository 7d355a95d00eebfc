/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/*
 * What sipd takes from the configuration (provd's Config1.GetAll), as typed
 * structs. Pure: no loop, no bus. The keys and their defaults are those of
 * services/provd/schema.c; a key missing from the dictionary takes the same
 * default here.
 */

#define SIPD_N_ACCOUNTS 16
#define SIPD_N_SERVERS 2
#define SIPD_CODECS_MAX 8

typedef enum SipTransport {
        SIP_TRANSPORT_UDP,
        SIP_TRANSPORT_TCP,
        SIP_TRANSPORT_TLS,
        _SIP_TRANSPORT_MAX,
} SipTransport;

const char *sip_transport_to_string(SipTransport t); /* "udp", "tcp", "tls" */

#define SIP_TLS_DEFAULT_PORT 5061

typedef struct ServerSettings {
        char *address;          /* "" when not configured */
        unsigned port;          /* 0: DNS SRV; for TLS, 5060 (the key's default) is taken as 5061 */
        unsigned expires;
        unsigned retry_counts;
        SipTransport transport;
        bool naptr;             /* transport_type 3: used as UDP */
} ServerSettings;

typedef enum KeepaliveMode {
        KEEPALIVE_OFF,
        KEEPALIVE_CRLF,
        KEEPALIVE_OPTIONS,
} KeepaliveMode;

typedef struct AccountSettings {
        bool enable;
        char *label;
        char *display_name;
        char *auth_name;        /* user_name when empty (resolved) */
        char *user_name;
        char *password;         /* secret */
        ServerSettings server[SIPD_N_SERVERS];
        bool outbound_proxy_enable;
        char *outbound_proxy_address;
        unsigned outbound_proxy_port;
        unsigned retry_interval;        /* reg_fail_retry_interval, seconds */
        KeepaliveMode keepalive;
        unsigned keepalive_interval;    /* seconds */

        /* Media: a change re-registers nothing. */
        char *codecs[SIPD_CODECS_MAX + 1]; /* Media1 names, preference order, NULL-terminated */
        unsigned ptime;
        unsigned srtp;                  /* 0 off, 1 optional, 2 compulsory */
        unsigned dtmf_type;             /* 0 in-band, 1 RFC 4733, 2 SIP INFO, 3 RFC 4733 or in-band + INFO */
        unsigned dtmf_info_type;        /* INFO body: 1 dtmf-relay, 2 dtmf, 3 telephone-event */
} AccountSettings;

/* Certificates for SIP over TLS (Yealink's static.security.*). */
typedef struct SecuritySettings {
        bool trust_certificates;        /* only chains to a trusted CA */
        unsigned ca_cert;               /* trusted set: 0 system CAs, 1 custom, 2 both */
        bool cn_validation;             /* the server's name must match its certificate */
        bool dev_cert;                  /* present the device certificate (mutual TLS) */
        char *ca_dir;                   /* deskphone.security.ca_dir: custom CAs (PEM files); "" none */
} SecuritySettings;

typedef struct Settings {
        unsigned listen_port;
        unsigned tls_listen_port;       /* sip.tls_listen_port */
        SecuritySettings security;
        bool call_waiting;
        bool call_waiting_tone;         /* call_waiting.tone */
        unsigned busy_tone_delay;       /* features.busy_tone_delay: seconds of busy/congestion tone */
        bool direct_ip_calls;
        unsigned notify_reboot;         /* sip.notify_reboot_enable: 0, 1 provision on check-sync; 2 refuse */
        unsigned check_sync_interval;   /* deskphone.sip.check_sync_interval, s */
        char *listen_address;   /* deskphone.sip.listen_address; "" for all addresses */
        char *log_level;        /* deskphone.log_level.sipd, else deskphone.log_level; "" if none */
        AccountSettings account[SIPD_N_ACCOUNTS]; /* account N at [N - 1] */
} Settings;

/* From Config1.GetAll's dictionary (parallel NULL-terminated arrays). */
int settings_from_dict(char * const *keys, char * const *values, Settings *ret);
void settings_done(Settings *s);
void account_settings_done(AccountSettings *a);
int account_settings_copy(const AccountSettings *from, AccountSettings *to);

/* Do a and b register the same way (servers, credentials, identity, proxy, timers)? */
bool account_settings_same_registration(const AccountSettings *a, const AccountSettings *b);
/* Do a and b verify TLS peers the same way? */
bool security_settings_same(const SecuritySettings *a, const SecuritySettings *b);

/* Does the account have a server to register with? */
bool account_settings_has_server(const AccountSettings *a);
