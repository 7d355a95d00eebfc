/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#include "cfg-parse.h"
#include "macro.h"

/*
 * The pure parts of provisioning (no loop, no bus, no logging, no network):
 * URLs, MAC addresses, Yealink .boot files, DHCP leases, composing the
 * provisioned layers from files, and the weekly window. provision.c drives
 * them; tests/unit/test-provision.c checks them.
 */

#define PROVISION_INCLUDES_MAX 32U
#define PROVISION_MAC_LEN 12U /* "00155d000001" */

/* ---- URLs ---- */

/* name relative to the directory URL base (which ends with '/'), or name itself when it
 * is an absolute URL ("scheme://..."). */
int provision_url_join(const char *base, const char *name, char **ret);
/* The directory a server URL names: the URL with a '/' added unless it ends with one. */
int provision_url_directory(const char *url, char **ret);
/* The URL without user info ("https://user:pw@h/x" -> "https://h/x"), for logs and people. */
char *provision_url_redact(const char *url);
/* The last path element of a URL, without query: "y000000000000.cfg". */
int provision_url_file_name(const char *url, char **ret);

/* ---- MAC addresses ---- */

/* "00:15:5D:00:00:01", "00-15-5d-00-00-01" or "00155d000001" -> "00155d000001". -EINVAL else. */
int provision_mac_normalize(const char *s, char ret[static PROVISION_MAC_LEN + 1]);
/* "00155d000001" -> "00:15:5d:00:00:01" (ret has room for 18 bytes). */
void provision_mac_with_colons(const char *mac, char ret[static 18]);
/* The MAC of the first interface under sysfs_net (/sys/class/net) that has a device
 * (a real NIC), by name; -ENOENT when there is none. */
int provision_mac_from_sysfs(const char *sysfs_net, char ret[static PROVISION_MAC_LEN + 1]);

/* ---- .boot files ---- */

typedef struct BootFile {
        char **includes;  /* as written: "y000000000000.cfg" or an absolute URL */
        bool overwrite;   /* overwrite_mode = 1 */
} BootFile;

void boot_file_done(BootFile *b);
/* Yealink's boot file: "#!version:1.0.0.1", then "include:config <file>" or
 * include:config "url" lines, "overwrite_mode = 0|1"; other settings and comments are
 * ignored. -EINVAL with reason (naming the line) for a bad include line, -E2BIG above
 * PROVISION_INCLUDES_MAX includes. */
int boot_file_parse(const char *text, size_t size, BootFile *ret, char *reason, size_t reason_size);

/* ---- DHCP leases ---- */

/* The provisioning URL a DHCP lease offers, looking at the custom options (numbers 128..254,
 * in order), then option 66 (TFTP server name: a host becomes "tftp://host/"), then option
 * 43 (text). Reads dhclient's lease files (the last "lease { }" block) and systemd-networkd's
 * (VENDOR_SPECIFIC= for 43, OPTION_<n>= for private options 224..254). -ENOENT when the
 * lease has none. */
int dhcp_lease_find_url(const char *text, size_t size, const unsigned *custom, size_t n_custom, char **ret);
/* "128,160" -> numbers; -EINVAL for anything else (the schema already checked it). */
int dhcp_parse_option_list(const char *s, unsigned *ret, size_t max, size_t *ret_n);

/* ---- composing layers ---- */

/* Check every entry of f against the schema, as the store will: unknown keys are skipped,
 * a bad value fails with file:line and the reason in *error. */
int provision_validate(const CfgFile *f, CfgError *error);

typedef struct ProvisionLayer {
        const CfgFile *base;    /* what the layer held before (NULL: nothing) */
        bool keep_static_only;  /* overwrite mode: of base keep only static.* keys */
        const CfgFile **files;  /* applied over base in order, later wins */
        size_t n_files;
} ProvisionLayer;

/* The layer as a cfg text, keys sorted (so equal layers give equal bytes). Entries
 * "key =" and "********" for a secret key leave the key as it was; unknown keys are
 * dropped. */
int provision_compose(const ProvisionLayer *l, char **ret, size_t *ret_size);

/* ---- the weekly window ---- */

/* The start and end (local time) of the next window at or after now on one of days
 * ("0123456", 0 Sunday), between begin and end ("HH:MM"; equal: the whole day; end before
 * begin: the window goes past midnight). A window already open at now starts at now. */
int provision_weekly_next(time_t now, const char *days, const char *begin, const char *end,
                          time_t *ret_start, time_t *ret_end);
