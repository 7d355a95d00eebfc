/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plug and play (PnP): at power-on, with static.auto_provision.pnp_enable = 1,
 * ask the LAN for the provisioning server as Yealink phones do (RFC 6080's
 * multicast discovery): a SUBSCRIBE with Event ua-profile (profile-type
 * "device", vendor, model, version) to 224.0.1.75:5060, From and To
 * sip:<mac>@224.0.1.75, Expires 0, sent on one interface
 * (deskphone.provision.pnp_interface, else the one of the IPv4 default route)
 * with TTL 1, repeated on SIP's UDP timer (0.5 s doubling) until a server
 * answers. A PnP server then sends a NOTIFY in that dialog with the URL in its
 * body (application/url, or message/external-body with a URL parameter); we
 * answer 200 and keep the URL for this boot: it goes before DHCP's and the
 * configured one (Yealink's order: PnP, DHCP options, the phone's own). No URL
 * within PNP_WAIT_USEC: the power-on run goes on without one.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "pnp-sip.h"
#include "provd.h"
#include "provision-internal.h"
#include "util.h"

#define USEC_PER_MSEC 1000ULL
#define PNP_WAIT_USEC (5000ULL * USEC_PER_MSEC)
#define PNP_T1_USEC (500ULL * USEC_PER_MSEC)
#define PNP_T2_USEC (4000ULL * USEC_PER_MSEC)
#define PNP_DATAGRAMS_MAX 64U /* what one discovery reads before it stops listening */
#define ROUTE_FILE_MAX (64U * 1024U)

struct ProvisionPnp {
        Provision *pv;
        int fd;
        sd_event_source *io, *timer;
        uint64_t deadline, next_send, interval; /* CLOCK_MONOTONIC µs */
        bool answered;                           /* a response came: stop repeating */
        unsigned n_datagrams;
        char call_id[64], tag[24];
        char packet[PNP_SIP_MESSAGE_MAX];
        size_t packet_size;
};

static const char *get(Provision *pv, const char *key) {
        return strempty(store_get(pv->provd->store, key));
}

static void random_hex(char *buf, size_t bytes) {
        uint8_t r[16] = {};

        bytes = MIN(bytes, sizeof(r));
        if (getrandom(r, bytes, GRND_NONBLOCK) != (ssize_t) bytes) {
                uint64_t x = now_usec() * 6364136223846793005ULL;
                memcpy(r, &x, MIN(bytes, sizeof(x)));
        }
        for (size_t i = 0; i < bytes; i++)
                snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/* The interface of the IPv4 default route, from /proc/net/route. */
static int default_route_interface(char ret[static IF_NAMESIZE]) {
        _cleanup_(freep) char *text = NULL;
        size_t size;
        char *save = NULL;

        int r = read_full_file("/proc/net/route", &text, &size, ROUTE_FILE_MAX);
        if (r < 0)
                return r;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char ifname[IF_NAMESIZE + 1], dest[16], mask[16];
                if (sscanf(line, "%16s %15s %*s %*s %*s %*s %*s %15s", ifname, dest, mask) == 3 &&
                    streq(dest, "00000000") && streq(mask, "00000000") && strlen(ifname) < IF_NAMESIZE) {
                        strcpy(ret, ifname);
                        return 0;
                }
        }
        return -ENETUNREACH;
}

/* The interface to ask on, and its IPv4 address. */
static int pick_interface(Provision *pv, char ifname[static IF_NAMESIZE], struct in_addr *ret_addr,
                          unsigned *ret_index) {
        struct ifaddrs *ifs = NULL;
        const char *configured = get(pv, "deskphone.provision.pnp_interface");
        int r = 0;

        if (*configured) {
                if (strlen(configured) >= IF_NAMESIZE)
                        return -EINVAL;
                strcpy(ifname, configured);
        } else if ((r = default_route_interface(ifname)) < 0)
                return r;
        if (getifaddrs(&ifs) < 0)
                return -errno;
        r = -EADDRNOTAVAIL;
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && streq(i->ifa_name, ifname)) {
                        *ret_addr = ((const struct sockaddr_in *) i->ifa_addr)->sin_addr;
                        r = 0;
                        break;
                }
        freeifaddrs(ifs);
        if (r < 0)
                return r;
        *ret_index = if_nametoindex(ifname);
        return *ret_index > 0 ? 0 : -ENODEV;
}

static int open_socket(struct in_addr addr, unsigned ifindex, unsigned *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = addr };
        struct ip_mreqn mreq = { .imr_address = addr, .imr_ifindex = (int) ifindex };
        socklen_t len = sizeof(sa);
        int ttl = 1, loop = 1;

        _cleanup_(closep) int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return -errno;
        *ret_port = ntohs(sa.sin_port);
        return TAKE_FD(fd);
}

static void pnp_send(ProvisionPnp *p) {
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PNP_SIP_PORT) };

        inet_pton(AF_INET, PNP_SIP_MULTICAST, &to.sin_addr);
        if (sendto(p->fd, p->packet, p->packet_size, MSG_NOSIGNAL, (struct sockaddr *) &to, sizeof(to)) < 0)
                log_debug_errno(errno, "PnP: failed to send SUBSCRIBE, ignoring: %m");
}

static void pnp_free(ProvisionPnp *p) {
        if (!p)
                return;
        sd_event_source_disable_unref(p->io);
        sd_event_source_disable_unref(p->timer);
        if (p->fd >= 0)
                close(p->fd);
        free(p);
}

/* The discovery is over, with a URL or none: on to the power-on run. */
static void pnp_finish(ProvisionPnp *p, const char *url) {
        Provision *pv = p->pv;

        if (url) {
                char *u = strdup(url);
                if (u) {
                        free(pv->pnp_url);
                        pv->pnp_url = u;
                }
        } else
                log_info("PnP: no provisioning server answered");
        pv->pnp = NULL;
        pnp_free(p);
        provision_power_on_run(pv);
}

static void pnp_reply(ProvisionPnp *p, const PnpSipMessage *m, unsigned status, const char *phrase,
                      const struct sockaddr_in *to) {
        char buf[PNP_SIP_MESSAGE_MAX];

        int n = pnp_sip_format_response(m, status, phrase, p->tag, buf, sizeof(buf));
        if (n > 0 && sendto(p->fd, buf, (size_t) n, MSG_NOSIGNAL, (const struct sockaddr *) to, sizeof(*to)) < 0)
                log_debug_errno(errno, "PnP: failed to answer, ignoring: %m");
}

/* A NOTIFY: in our dialog (our Call-ID, our From tag as its To tag), of ua-profile, with a URL.
 * 0 when it gave one. */
static int pnp_on_notify(ProvisionPnp *p, const PnpSipMessage *m, const struct sockaddr_in *from, char *url,
                         size_t size) {
        char who[INET_ADDRSTRLEN] = "?";

        inet_ntop(AF_INET, &from->sin_addr, who, sizeof(who));
        if (!streq(m->call_id, p->call_id) || !pnp_sip_tag_is(m->to, p->tag)) {
                pnp_reply(p, m, 481, "Subscription Does Not Exist", from);
                return -ESRCH;
        }
        if (!pnp_sip_event_is(m->event, "ua-profile")) {
                pnp_reply(p, m, 489, "Bad Event", from);
                return -EBADMSG;
        }
        if (pnp_sip_notify_url(m, url, size) < 0) {
                log_warning("PnP: NOTIFY from %s carries no usable URL (Content-Type '%s'), ignoring", who,
                            m->content_type);
                pnp_reply(p, m, 415, "Unsupported Media Type", from);
                return -EBADMSG;
        }
        pnp_reply(p, m, 200, "OK", from);
        _cleanup_(freep) char *shown = provision_url_redact(url);
        log_info("PnP: provisioning server %s, from %s", shown ?: "(URL)", who);
        return 0;
}

static int pnp_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ProvisionPnp *p = userdata;
        char buf[PNP_SIP_MESSAGE_MAX + 1];
        struct sockaddr_in from = {};
        socklen_t len = sizeof(from);
        PnpSipMessage m;

        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *) &from, &len);
        if (n < 0)
                return 0;
        if (++p->n_datagrams > PNP_DATAGRAMS_MAX) {
                log_warning("PnP: more than %u datagrams, no longer listening", PNP_DATAGRAMS_MAX);
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        if ((size_t) n > PNP_SIP_MESSAGE_MAX || pnp_sip_parse(buf, (size_t) n, &m) < 0) {
                log_debug("PnP: ignoring a datagram that is not a SIP message we take (%zd bytes)", n);
                return 0;
        }
        if (!m.request) {
                if (m.status >= 200 && streq(m.call_id, p->call_id) && pnp_sip_tag_is(m.from, p->tag) &&
                    !p->answered) {
                        p->answered = true;
                        log_debug("PnP: SUBSCRIBE answered %u", m.status);
                }
                return 0;
        }
        char url[PNP_SIP_URL_MAX];
        if (streq(m.method, "NOTIFY")) {
                if (pnp_on_notify(p, &m, &from, url, sizeof(url)) >= 0)
                        pnp_finish(p, url);
        } else if (streq(m.call_id, p->call_id))
                pnp_reply(p, &m, 405, "Method Not Allowed", &from);
        return 0;
}

static int pnp_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        ProvisionPnp *p = userdata;

        if (usec >= p->deadline) {
                pnp_finish(p, NULL);
                return 0;
        }
        if (!p->answered && usec >= p->next_send) {
                pnp_send(p); /* at 0, 0.5, 1.5, 3.5 s ... (RFC 3261's timer A, capped at T2) */
                p->next_send = usec + p->interval;
                p->interval = MIN(p->interval * 2, PNP_T2_USEC);
        }
        uint64_t next = p->answered ? p->deadline : MIN(p->next_send, p->deadline);
        if (sd_event_source_set_time(s, next) < 0 || sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) < 0)
                pnp_finish(p, NULL);
        return 0;
}

static int pnp_format(ProvisionPnp *p, Provision *pv, struct in_addr addr, unsigned port) {
        char mac[PROVISION_MAC_LEN + 1], colons[18], address[INET_ADDRSTRLEN], branch[32] = "z9hG4bK";

        if (provision_mac_normalize(get(pv, "deskphone.mac"), mac) < 0 &&
            provision_mac_from_sysfs(getenv("DESKPHONE_SYSFS_NET") ?: "/sys/class/net", mac) < 0)
                return -ENXIO;
        provision_mac_with_colons(mac, colons);
        inet_ntop(AF_INET, &addr, address, sizeof(address));
        random_hex(branch + 7, 8);
        random_hex(p->tag, 8);
        random_hex(p->call_id, 16);
        _cleanup_(freep) char *agent = strjoin("deskphone ", get(pv, "deskphone.model_id"), " " DESKPHONE_VERSION " ",
                                               colons, NULL);
        if (!agent)
                return -ENOMEM;
        PnpSubscribe s = {
                .mac = mac, .address = address, .port = port, .vendor = "deskphone",
                .model = get(pv, "deskphone.model_id"), .version = DESKPHONE_VERSION,
                .call_id = p->call_id, .tag = p->tag, .branch = branch, .cseq = 1, .user_agent = agent,
        };
        int n = pnp_sip_format_subscribe(&s, p->packet, sizeof(p->packet));
        if (n < 0)
                return n;
        p->packet_size = (size_t) n;
        return 0;
}

static int pnp_new(Provision *pv, ProvisionPnp **ret) {
        char ifname[IF_NAMESIZE];
        struct in_addr addr = {};
        unsigned ifindex = 0, port = 0;
        uint64_t now = now_usec();

        ProvisionPnp *p = calloc(1, sizeof(ProvisionPnp));
        if (!p)
                return -ENOMEM;
        *p = (ProvisionPnp) { .pv = pv, .fd = -EBADF, .interval = PNP_T1_USEC, .next_send = now,
                              .deadline = now + PNP_WAIT_USEC };
        int r = pick_interface(pv, ifname, &addr, &ifindex);
        if (r < 0)
                log_warning_errno(r, "PnP: no interface to ask on (deskphone.provision.pnp_interface '%s'): %m",
                                  get(pv, "deskphone.provision.pnp_interface"));
        if (r >= 0 && (r = p->fd = open_socket(addr, ifindex, &port)) < 0)
                log_warning_errno(r, "PnP: cannot open a socket on %s: %m", ifname);
        if (r >= 0 && (r = pnp_format(p, pv, addr, port)) < 0)
                log_warning_errno(r, "PnP: cannot make the SUBSCRIBE: %m");
        if (r >= 0)
                r = sd_event_add_io(pv->provd->event, &p->io, p->fd, EPOLLIN, pnp_on_io, p);
        if (r >= 0)
                r = sd_event_add_time(pv->provd->event, &p->timer, CLOCK_MONOTONIC, now, 0, pnp_on_timer, p);
        if (r < 0) {
                pnp_free(p);
                return r;
        }
        char address[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &addr, address, sizeof(address));
        log_info("PnP: asking for the provisioning server on %s (%s:%u)", ifname, address, port);
        *ret = p;
        return 0;
}

int provision_pnp_start(Provision *pv) {
        if (!streq(get(pv, "static.auto_provision.pnp_enable"), "1") || pv->pnp)
                return 0;
        int r = pnp_new(pv, &pv->pnp);
        return r < 0 ? r : 1;
}

void provision_pnp_free(Provision *pv) {
        pnp_free(pv->pnp);
        pv->pnp = NULL;
        free(pv->pnp_url);
        pv->pnp_url = NULL;
}
