/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* What a user dials, as a SIP URI; pure string code (sofia checks the syntax later). */

#define SIP_URI_MAX 512

/*
 * target: "sip:..." or "sips:..." (kept), "user@host" (sip: added), "host" or an IP
 * address (a direct call), or a number/name that needs domain ("sip:1234@domain").
 * domain: the account's server ("host" or "host:port"), or NULL for direct calls.
 * -EINVAL when the target is empty, too long, has spaces, control characters or
 * header syntax (<>"), or is a bare user name with no domain to call it in.
 */
int sip_target_to_uri(const char *target, const char *domain, char **ret);

/* "host" or "[v6]" or "host:port": how a server is written in a URI. */
int sip_host_port(const char *host, unsigned port, char **ret);

/* Does s look like a host (IPv4/IPv6 literal or a dotted name), not a user name? */
bool sip_looks_like_host(const char *s);

/* The host of a sip:/sips: URI ("[::1]" without brackets); -EINVAL if there is none. */
int sip_uri_host(const char *uri, char **ret);
