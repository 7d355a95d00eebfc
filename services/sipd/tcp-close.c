/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Closing sofia's TCP connections to a server that stopped answering. sofia
 * keeps them in its transport tree, which this nua does not hand out, so we
 * find the sockets ourselves: every connected TCP socket of the process whose
 * peer is that address and port. shutdown() ends the connection without
 * closing the descriptor, which stays sofia's: its transport sees the end on
 * the next read and closes it as when the server hangs up, and the next
 * request opens a new connection.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "tcp-close.h"
#include "util.h"

static bool peer_is(int fd, const struct in6_addr *want6, const struct in_addr *want4, bool v6, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int type = 0, listening = 0;
        socklen_t tl = sizeof(type), ll = sizeof(listening);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0 || listening ||
            getpeername(fd, (struct sockaddr *) &ss, &len) < 0)
                return false;
        if (ss.ss_family == AF_INET && !v6) {
                const struct sockaddr_in *a = (const struct sockaddr_in *) &ss;
                return a->sin_addr.s_addr == want4->s_addr && (port == 0 || ntohs(a->sin_port) == port);
        }
        if (ss.ss_family == AF_INET6 && v6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) &ss;
                return memcmp(&a->sin6_addr, want6, sizeof(*want6)) == 0 && (port == 0 || ntohs(a->sin6_port) == port);
        }
        return false;
}

int sip_tcp_shutdown_connections_to(const char *address, uint16_t port, unsigned *ret_n) {
        struct in6_addr a6;
        struct in_addr a4;
        struct dirent *de;
        unsigned n = 0;

        bool v6 = address && inet_pton(AF_INET6, address, &a6) == 1;
        if (!address || (!v6 && inet_pton(AF_INET, address, &a4) != 1))
                return -EINVAL; /* a numeric address only: no name lookups here */
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);
                if (end == de->d_name || *end || fd < 0 || fd == dirfd(d))
                        continue;
                if (peer_is((int) fd, &a6, &a4, v6, port) && shutdown((int) fd, SHUT_RDWR) >= 0)
                        n++;
        }
        closedir(d);
        *ret_n = n;
        return 0;
}
