/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Provisioning's pure parts (services/provd/provision-files.c): URLs and their
 * redaction, MAC addresses, Yealink .boot files, DHCP leases of dhclient and
 * systemd-networkd, composing layers (merge and overwrite modes, "key =",
 * %NULL%, masked secrets, unknown keys), validation naming file:line, and
 * the weekly window.
 */
#include <sys/stat.h>

#include "provision-cache.h"
#include "provision-files.h"
#include "tap.h"
#include "util.h"

/* ---- URLs ---- */

typedef struct JoinCase {
        const char *name, *base, *file, *expect;
} JoinCase;

static const JoinCase join_cases[] = {
        { "/provision/url/join/relative", "http://h/p/", "y000000000000.cfg", "http://h/p/y000000000000.cfg" },
        { "/provision/url/join/absolute", "http://h/p/", "https://o/x.cfg", "https://o/x.cfg" },
        { "/provision/url/join/rooted", "https://u:pw@h:8443/p/q/", "/x.cfg", "https://u:pw@h:8443/x.cfg" },
        { "/provision/url/join/spaces", "http://h/", "HTTP Directory/sip.cfg", "http://h/HTTP%20Directory/sip.cfg" },
        { "/provision/url/join/subdir", "tftp://10.0.0.1/", "cfg/a.cfg", "tftp://10.0.0.1/cfg/a.cfg" },
};

static void test_url_join(const JoinCase *c) {
        _cleanup_(freep) char *u = NULL;

        tap_begin(c->name);
        check(provision_url_join(c->base, c->file, &u) == 0);
        check(streq_ptr(u, c->expect), "got %s", strempty(u));
        tap_end();
}

typedef struct RedactCase {
        const char *name, *url, *expect;
} RedactCase;

static const RedactCase redact_cases[] = {
        { "/provision/url/redact/user-password", "https://admin:s3cret@prov.example.com/cfg/", "https://prov.example.com/cfg/" },
        { "/provision/url/redact/user", "ftp://admin@h/x", "ftp://h/x" },
        { "/provision/url/redact/at-in-path", "http://h/a@b/", "http://h/a@b/" },
        { "/provision/url/redact/at-in-password", "http://u:p@ss@h/", "http://h/" },
        { "/provision/url/redact/none", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/" },
};

static void test_url_redact(const RedactCase *c) {
        _cleanup_(freep) char *u = provision_url_redact(c->url);

        tap_begin(c->name);
        check(streq_ptr(u, c->expect), "got %s", strempty(u));
        tap_end();
}

static void test_url_misc(void) {
        _cleanup_(freep) char *d1 = NULL, *d2 = NULL, *n1 = NULL, *n2 = NULL, *n3 = NULL;

        tap_begin("/provision/url/directory-and-file-name");
        check(provision_url_directory("http://h/p", &d1) == 0 && streq(d1, "http://h/p/"));
        check(provision_url_directory("http://h/p/", &d2) == 0 && streq(d2, "http://h/p/"));
        check(provision_url_file_name("http://h/p/y000000000000.cfg", &n1) == 0 && streq(n1, "y000000000000.cfg"));
        check(provision_url_file_name("https://h/a.cfg?x=/y#z", &n2) == 0 && streq(n2, "a.cfg"), "%s", n2);
        check(provision_url_file_name("http://h", &n3) == 0 && streq(n3, ""), "%s", n3);
        tap_end();
}

/* ---- MACs ---- */

static void test_mac(void) {
        char mac[PROVISION_MAC_LEN + 1], colons[18];

        tap_begin("/provision/mac/normalize");
        check(provision_mac_normalize("00:15:5D:00:00:01", mac) == 0 && streq(mac, "00155d000001"));
        check(provision_mac_normalize("00-15-5d-00-00-0a", mac) == 0 && streq(mac, "00155d00000a"));
        check(provision_mac_normalize("00155D00000B", mac) == 0 && streq(mac, "00155d00000b"));
        check(provision_mac_normalize("00155d0000", mac) == -EINVAL);
        check(provision_mac_normalize("00155d0000011", mac) == -EINVAL);
        check(provision_mac_normalize("00155d00000g", mac) == -EINVAL);
        check(provision_mac_normalize("", mac) == -EINVAL);
        provision_mac_with_colons("00155d000001", colons);
        check(streq(colons, "00:15:5d:00:00:01"), "%s", colons);
        tap_end();
}

static void write_text(const char *dir, const char *rel, const char *text) {
        _cleanup_(freep) char *p = strjoin(dir, "/", rel, NULL);
        _cleanup_(freep) char *d = strdup(p);
        *strrchr(d, '/') = '\0';
        check(mkdir_p(d, 0700) == 0);
        check(write_file_atomic(p, text, strlen(text), 0600) == 0);
}

static void test_mac_sysfs(void) {
        char t[] = "/tmp/test-provision-XXXXXX", mac[PROVISION_MAC_LEN + 1];

        tap_begin("/provision/mac/sysfs");
        check(mkdtemp(t));
        write_text(t, "lo/address", "00:00:00:00:00:00\n");
        write_text(t, "veth0/address", "02:42:ac:11:00:02\n");
        write_text(t, "eth1/address", "00:15:5d:00:00:02\n");
        write_text(t, "eth1/device/x", "");
        write_text(t, "eth0/address", "00:00:00:00:00:00\n");
        write_text(t, "eth0/device/x", "");
        check(provision_mac_from_sysfs(t, mac) == 0 && streq(mac, "00155d000002"), "%s", mac);
        rm_rf(t);
        strcpy(t, "/tmp/test-provision-XXXXXX");
        check(mkdtemp(t));
        write_text(t, "veth0/address", "02:42:AC:11:00:02\n");
        check(provision_mac_from_sysfs(t, mac) == 0 && streq(mac, "0242ac110002"), "%s", mac);
        rm_rf(t);
        check(provision_mac_from_sysfs("/nonexistent-sysfs", mac) < 0);
        tap_end();
}

/* ---- .boot ---- */

static void test_boot(void) {
        const char *text = "#!version:1.0.0.1\r\n"
                           "## The header above must appear as-is in the first line\n"
                           "include:config <y000000000000.cfg>\n"
                           "include:config \"http://10.2.1.158/HTTP Directory/sip.cfg\"\n"
                           "  include:config account.cfg  \n"
                           "overwrite_mode = 1\n"
                           "specific_model.excluded_mode=0\n";
        BootFile b = {};
        char reason[256] = "";

        tap_begin("/provision/boot/yealink");
        check(boot_file_parse(text, strlen(text), &b, reason, sizeof(reason)) == 0, "%s", reason);
        check(strv_length(b.includes) == 3);
        check(b.includes && streq(b.includes[0], "y000000000000.cfg"));
        check(b.includes && streq(b.includes[1], "http://10.2.1.158/HTTP Directory/sip.cfg"));
        check(b.includes && streq(b.includes[2], "account.cfg"));
        check(b.overwrite);
        boot_file_done(&b);
        tap_end();

        tap_begin("/provision/boot/bad-include");
        const char *bad = "#!version:1.0.0.1\ninclude:config <\n";
        check(boot_file_parse(bad, strlen(bad), &b, reason, sizeof(reason)) == -EINVAL);
        check(strstr(reason, "line 2"), "%s", reason);
        tap_end();

        tap_begin("/provision/boot/too-many");
        _cleanup_(freep) char *many = strdup("");
        for (unsigned i = 0; i <= PROVISION_INCLUDES_MAX; i++) {
                char *n = NULL;
                check(asprintf(&n, "%sinclude:config <f%u.cfg>\n", many, i) > 0);
                free(many);
                many = n;
        }
        check(boot_file_parse(many, strlen(many), &b, reason, sizeof(reason)) == -E2BIG, "%s", reason);
        tap_end();

        tap_begin("/provision/boot/overwrite-default-off");
        const char *plain = "include:config <a.cfg>\n";
        check(boot_file_parse(plain, strlen(plain), &b, reason, sizeof(reason)) == 0);
        check(!b.overwrite);
        boot_file_done(&b);
        tap_end();
}

/* ---- DHCP ---- */

typedef struct LeaseCase {
        const char *name;
        const char *text;
        const char *custom;
        const char *expect; /* NULL: -ENOENT */
} LeaseCase;

static const LeaseCase lease_cases[] = {
        { "/provision/dhcp/dhclient-66",
          "lease {\n  interface \"eth0\";\n  fixed-address 10.0.0.5;\n"
          "  option tftp-server-name \"http://10.0.0.1/prov/\";\n  renew 4 2024/01/04 12:00:00;\n}\n",
          "", "http://10.0.0.1/prov/" },
        { "/provision/dhcp/dhclient-66-host",
          "lease {\n  option tftp-server-name \"10.0.0.1\";\n}\n", "", "tftp://10.0.0.1/" },
        { "/provision/dhcp/dhclient-last-lease-wins",
          "lease {\n  option tftp-server-name \"http://old/\";\n}\nlease {\n  option tftp-server-name \"http://new/\";\n}\n",
          "", "http://new/" },
        { "/provision/dhcp/dhclient-43-hex",
          "lease {\n  option vendor-encapsulated-options 68:74:74:70:3a:2f:2f:68:2f;\n}\n", "", "http://h/" },
        { "/provision/dhcp/dhclient-custom-first",
          "lease {\n  option tftp-server-name \"http://sixty-six/\";\n  option unknown-160 \"https://custom/p/\";\n}\n",
          "128,160", "https://custom/p/" },
        { "/provision/dhcp/dhclient-custom-not-listed",
          "lease {\n  option tftp-server-name \"http://sixty-six/\";\n  option unknown-160 \"https://custom/p/\";\n}\n",
          "", "http://sixty-six/" },
        { "/provision/dhcp/dhclient-none", "lease {\n  option routers 10.0.0.1;\n}\n", "", NULL },
        { "/provision/dhcp/networkd-43",
          "# This is private data. Do not parse.\nADDRESS=10.0.0.5\nVENDOR_SPECIFIC=687474703a2f2f31302e302e302e312f\n",
          "", "http://10.0.0.1/" },
        { "/provision/dhcp/networkd-private-224",
          "ADDRESS=10.0.0.5\nOPTION_224=68747470733a2f2f702f\nVENDOR_SPECIFIC=687474703a2f2f31302e302e302e312f\n",
          "224", "https://p/" },
        { "/provision/dhcp/networkd-none", "ADDRESS=10.0.0.5\nROUTER=10.0.0.1\n", "", NULL },
        { "/provision/dhcp/binary-43", "VENDOR_SPECIFIC=0104c0a80001\n", "", NULL },
};

static void test_lease(const LeaseCase *c) {
        unsigned custom[16];
        size_t n = 0;
        _cleanup_(freep) char *url = NULL;

        tap_begin(c->name);
        check(dhcp_parse_option_list(c->custom, custom, ELEMENTSOF(custom), &n) == 0);
        int r = dhcp_lease_find_url(c->text, strlen(c->text), custom, n, &url);
        if (c->expect)
                check(r == 0 && streq_ptr(url, c->expect), "r=%d url=%s", r, strempty(url));
        else
                check(r == -ENOENT, "r=%d url=%s", r, strempty(url));
        tap_end();
}

/* ---- layers ---- */

static CfgFile *parse(const char *name, const char *text) {
        CfgFile *f = NULL;
        CfgError e = {};
        check(cfg_parse(name, text, strlen(text), &f, &e) == 0, "%s:%u: %s", e.file, e.line, e.reason);
        return f;
}

static void test_compose_merge(void) {
        _cleanup_(cfg_file_freep) CfgFile *base = parse("applied", "#!version:1.0.0.1\n"
                                                                   "account.1.label = Old\n"
                                                                   "account.1.user_name = kept\n"
                                                                   "account.1.password = pw1\n");
        _cleanup_(cfg_file_freep) CfgFile *f = parse("y000000000000.cfg", "#!version:1.0.0.1\n"
                                                                          "account.1.label = New\n"
                                                                          "account.1.display_name =\n"
                                                                          "account.1.password = ********\n"
                                                                          "account.1.auth_name = %NULL%\n"
                                                                          "no.such.key = 1\n");
        const CfgFile *files[] = { f };
        _cleanup_(freep) char *text = NULL;
        size_t size;

        tap_begin("/provision/compose/merge");
        check(provision_compose(&(ProvisionLayer) { .base = base, .files = files, .n_files = 1 }, &text, &size) == 0);
        check(streq_ptr(text, "#!version:1.0.0.1\n"
                              "account.1.auth_name = %NULL%\n"
                              "account.1.label = New\n"
                              "account.1.password = pw1\n"
                              "account.1.user_name = kept\n"),
              "got:\n%s", strempty(text));
        tap_end();
}

static void test_compose_overwrite(void) {
        _cleanup_(cfg_file_freep) CfgFile *base = parse("applied", "account.1.label = Old\n"
                                                                   "static.auto_provision.repeat.enable = 1\n");
        _cleanup_(cfg_file_freep) CfgFile *a = parse("a.cfg", "account.1.user_name = a\naccount.1.label = A\n");
        _cleanup_(cfg_file_freep) CfgFile *b = parse("b.cfg", "account.1.label = B\n");
        const CfgFile *files[] = { a, b };
        _cleanup_(freep) char *text = NULL, *empty = NULL;
        size_t size;

        tap_begin("/provision/compose/overwrite-later-wins");
        check(provision_compose(&(ProvisionLayer) { .base = base, .keep_static_only = true, .files = files,
                                                    .n_files = 2 }, &text, &size) == 0);
        check(streq_ptr(text, "#!version:1.0.0.1\n"
                              "account.1.label = B\n"
                              "account.1.user_name = a\n"
                              "static.auto_provision.repeat.enable = 1\n"),
              "got:\n%s", strempty(text));
        check(provision_compose(&(ProvisionLayer) {}, &empty, &size) == 0);
        check(streq_ptr(empty, "#!version:1.0.0.1\n"), "got %s", strempty(empty));
        tap_end();
}

static void test_validate(void) {
        _cleanup_(cfg_file_freep) CfgFile *good = parse("ok.cfg", "account.1.sip_server.1.port = 5062\n"
                                                                 "unknown.key = whatever\n"
                                                                 "account.1.password = ********\n");
        _cleanup_(cfg_file_freep) CfgFile *bad = parse("00155d000001.cfg", "#!version:1.0.0.1\n"
                                                                           "account.1.label = x\n"
                                                                           "account.1.sip_server.1.port = 70000\n");
        CfgError e = {};
        char text[600];

        tap_begin("/provision/validate/file-line-key");
        check(provision_validate(good, &e) == 0, "%s", e.reason);
        check(provision_validate(bad, &e) < 0);
        cfg_error_format(&e, text, sizeof(text));
        check(startswith(text, "00155d000001.cfg:3: account.1.sip_server.1.port: must be"), "%s", text);
        tap_end();
}

/* ---- the cache of conditional requests ---- */

static void test_cache(void) {
        char t[] = "/tmp/test-provision-XXXXXX";
        const char *url = "https://user:pw@h/p/y000000000000.cfg";
        CacheEntry e = {};
        char id[65];

        tap_begin("/provision/cache/store-load-prune");
        check(mkdtemp(t));
        check(cache_load(t, url, 1024, &e) == -ENOENT);
        check(cache_store(t, url, "\"abc\"", "Tue, 02 Jan 2024 10:00:00 GMT", "a\0b", 3) == 0);
        check(cache_load(t, url, 1024, &e) == 0);
        check(streq_ptr(e.etag, "\"abc\"") && streq_ptr(e.last_modified, "Tue, 02 Jan 2024 10:00:00 GMT"));
        check(e.size == 3 && memcmp(e.body, "a\0b", 3) == 0);
        cache_entry_done(&e);
        /* the file is named by a hash: no URL, no password in a file name */
        check(cache_id(url, id) == 0 && strlen(id) == 64);
        check(!strstr(id, "pw"));
        /* one validator is enough; none removes the entry */
        check(cache_store(t, url, NULL, "Tue, 02 Jan 2024 10:00:00 GMT", "x", 1) == 0);
        check(cache_load(t, url, 1024, &e) == 0 && !e.etag && e.size == 1);
        cache_entry_done(&e);
        check(cache_store(t, url, NULL, NULL, "x", 1) == 0);
        check(cache_load(t, url, 1024, &e) == -ENOENT);
        /* too large for the caller: dropped */
        check(cache_store(t, url, "\"e\"", NULL, "0123456789", 10) == 0);
        check(cache_load(t, url, 4, &e) == -ENOENT || (cache_entry_done(&e), false));
        check(cache_store(t, url, "\"e\"", NULL, "0123456789", 10) == 0);
        check(cache_store(t, "http://other/", "\"e\"", NULL, "x", 1) == 0);
        char *keep[] = { id, NULL };
        check(cache_prune(t, keep) == 0);
        check(cache_load(t, url, 1024, &e) == 0);
        cache_entry_done(&e);
        check(cache_load(t, "http://other/", 1024, &e) == -ENOENT);
        /* damaged: as if absent */
        _cleanup_(freep) char *path = strjoin(t, "/", id, NULL);
        check(write_file_atomic(path, "garbage", 7, 0600) == 0);
        check(cache_load(t, url, 1024, &e) == -ENOENT);
        check(access(path, F_OK) < 0);
        rm_rf(t);
        tap_end();
}

/* ---- weekly window ---- */

static time_t local(int year, int mon, int mday, int hour, int min) {
        struct tm t = { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = mday, .tm_hour = hour, .tm_min = min,
                        .tm_isdst = -1 };
        return mktime(&t);
}

static void test_weekly(void) {
        time_t s, e;
        /* 2024-01-03 was a Wednesday (3) */
        time_t wed_10 = local(2024, 1, 3, 10, 0);

        tap_begin("/provision/weekly/window");
        setenv("TZ", "UTC", 1);
        tzset();
        wed_10 = local(2024, 1, 3, 10, 0);
        check(provision_weekly_next(wed_10, "3", "02:00", "04:00", &s, &e) == 0);
        check(s == local(2024, 1, 10, 2, 0) && e == local(2024, 1, 10, 4, 0), "s=%ld e=%ld", (long) s, (long) e);
        check(provision_weekly_next(wed_10, "34", "02:00", "04:00", &s, &e) == 0);
        check(s == local(2024, 1, 4, 2, 0), "thursday: %ld", (long) s);
        /* inside the window: from now */
        check(provision_weekly_next(wed_10, "3", "09:00", "11:00", &s, &e) == 0);
        check(s == wed_10 && e == local(2024, 1, 3, 11, 0));
        /* past midnight: Tuesday's 22:00-02:00 window is open on Wednesday 01:00 */
        check(provision_weekly_next(local(2024, 1, 3, 1, 0), "2", "22:00", "02:00", &s, &e) == 0);
        check(s == local(2024, 1, 3, 1, 0) && e == local(2024, 1, 3, 2, 0), "s=%ld", (long) s);
        /* equal: the whole day */
        check(provision_weekly_next(wed_10, "5", "00:00", "00:00", &s, &e) == 0);
        check(s == local(2024, 1, 5, 0, 0) && e == local(2024, 1, 6, 0, 0));
        check(provision_weekly_next(wed_10, "3", "25:00", "00:00", &s, &e) == -EINVAL);
        check(provision_weekly_next(wed_10, "", "01:00", "02:00", &s, &e) == -EINVAL);
        tap_end();
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(join_cases); i++)
                test_url_join(&join_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(redact_cases); i++)
                test_url_redact(&redact_cases[i]);
        test_url_misc();
        test_mac();
        test_mac_sysfs();
        test_boot();
        for (size_t i = 0; i < ELEMENTSOF(lease_cases); i++)
                test_lease(&lease_cases[i]);
        test_compose_merge();
        test_compose_overwrite();
        test_validate();
        test_cache();
        test_weekly();
        return tap_finish();
}
