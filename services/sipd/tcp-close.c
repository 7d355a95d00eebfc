/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Closing sofia's TCP connections to a server that stopped answering. sofia
 * keeps them in its transport tree, which this nua does not hand out, so we
 * find the sockets ourselves: every connected TCP socket of the process whose
 * peer is that address and port. shutdown() ends the connection without
 * closing the descriptor, which stays sofia's: its transport sees the end on
 * the next read and closes it as when the server hangs up, and the next
 * request opens a new connection. Connections the server opened to us (their
 * local port is one we listen on) are not ours to end.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "tcp-close.h"
#include "util.h"

#define LISTENING_MAX 16

typedef struct Listening {
        uint16_t ports[LISTENING_MAX];
        unsigned n;
} Listening;

static uint16_t port_of(const struct sockaddr_storage *ss) {
        if (ss->ss_family == AF_INET)
                return ntohs(((const struct sockaddr_in *) ss)->sin_port);
        if (ss->ss_family == AF_INET6)
                return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
        return 0;
}

/* A TCP socket: -1 not one, 1 listening (its port noted), 0 connected or other. */
static int tcp_kind(int fd, Listening *l) {
        int type = 0, listening = 0;
        socklen_t tl = sizeof(type), ll = sizeof(listening);
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0)
                return -1;
        if (!listening)
                return 0;
        if (l->n < LISTENING_MAX && getsockname(fd, (struct sockaddr *) &ss, &len) >= 0)
                l->ports[l->n++] = port_of(&ss);
        return 1;
}

static bool listens_on(const Listening *l, uint16_t port) {
        for (unsigned i = 0; i < l->n; i++)
                if (l->ports[i] == port)
                        return true;
        return false;
}

static bool peer_is(int fd, const struct in6_addr *want6, const struct in_addr *want4, bool v6, uint16_t port,
                    const Listening *l) {
        struct sockaddr_storage peer, local;
        socklen_t plen = sizeof(peer), llen = sizeof(local);

        if (getpeername(fd, (struct sockaddr *) &peer, &plen) < 0 ||
            getsockname(fd, (struct sockaddr *) &local, &llen) < 0 || listens_on(l, port_of(&local)))
                return false;
        if (port != 0 && port_of(&peer) != port)
                return false;
        if (peer.ss_family == AF_INET && !v6)
                return ((const struct sockaddr_in *) &peer)->sin_addr.s_addr == want4->s_addr;
        if (peer.ss_family == AF_INET6 && v6)
                return memcmp(&((const struct sockaddr_in6 *) &peer)->sin6_addr, want6, sizeof(*want6)) == 0;
        return false;
}

/* The descriptors of the process, the listening TCP ports noted, connected TCP sockets in fds. */
static int scan(Listening *l, int *fds, unsigned max, unsigned *ret_n) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);
                if (end == de->d_name || *end || fd < 0 || fd > INT_MAX || fd == dirfd(d))
                        continue;
                if (tcp_kind((int) fd, l) == 0 && n < max)
                        fds[n++] = (int) fd;
        }
        closedir(d);
        *ret_n = n;
        return 0;
}

#define CONNECTED_MAX 256

int sip_tcp_shutdown_connections_to(const char *address, uint16_t port, unsigned *ret_n) {
        struct in6_addr a6;
        struct in_addr a4;
        int fds[CONNECTED_MAX];
        Listening l = {};
        unsigned n = 0, closed = 0;

        bool v6 = address && inet_pton(AF_INET6, address, &a6) == 1;
        if (!address || (!v6 && inet_pton(AF_INET, address, &a4) != 1))
                return -EINVAL; /* a numeric address only: no name lookups here */
        int r = scan(&l, fds, ELEMENTSOF(fds), &n);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n; i++)
                if (peer_is(fds[i], &a6, &a4, v6, port, &l) && shutdown(fds[i], SHUT_RDWR) >= 0)
                        closed++;
        *ret_n = closed;
        return 0;
}
