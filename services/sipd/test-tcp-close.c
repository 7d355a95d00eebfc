/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-close.c: the process's own TCP connections to one address and port end,
 * and nothing else does (another port, the listening socket, UDP). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "tcp-close.h"

static int listener(uint16_t *ret_port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &len) < 0)
                return -1;
        *ret_port = ntohs(a.sin_port);
        return fd;
}

static int connect_to(uint16_t port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        return fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof(a)) >= 0 ? fd : -1;
}

int main(void) {
        uint16_t port_a = 0, port_b = 0;
        unsigned n = 99;
        char c;

        tap_begin("/tcp-close/only-that-peer");
        int la = listener(&port_a), lb = listener(&port_b);
        int ca = connect_to(port_a), cb = connect_to(port_b);
        int sa = accept(la, NULL, NULL), sb = accept(lb, NULL, NULL);
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        check(la >= 0 && lb >= 0 && ca >= 0 && cb >= 0 && sa >= 0 && sb >= 0 && u >= 0);
        /* a connection the peer opened to a port we listen on is not ended: sa's peer is
         * ca's own port, but sa's local port is port_a, where we listen */
        struct sockaddr_in ca_local;
        socklen_t len = sizeof(ca_local);
        check(getsockname(ca, (struct sockaddr *) &ca_local, &len) == 0);
        check(sip_tcp_shutdown_connections_to("127.0.0.1", ntohs(ca_local.sin_port), &n) == 0 && n == 0,
              "an accepted connection was ended: %u", n);
        check(sip_tcp_shutdown_connections_to("127.0.0.1", port_a, &n) == 0);
        /* ours to port_a; the accepted end's peer is our ephemeral port, not port_a */
        check(n == 1, "%u closed", n);
        check(recv(ca, &c, 1, MSG_DONTWAIT) == 0, "the connection to port_a has ended");
        check(recv(sa, &c, 1, 0) == 0, "and the server sees the end");
        check(send(cb, "x", 1, MSG_NOSIGNAL) == 1 && recv(sb, &c, 1, 0) == 1, "the one to port_b still works");
        int other = connect_to(port_a);
        check(other >= 0, "the listener on port_a still accepts");
        tap_end();

        tap_begin("/tcp-close/numeric-only");
        check(sip_tcp_shutdown_connections_to("localhost", port_b, &n) == -EINVAL);
        check(sip_tcp_shutdown_connections_to(NULL, port_b, &n) == -EINVAL);
        check(sip_tcp_shutdown_connections_to("::1", port_b, &n) == 0 && n == 0, "no IPv6 peer: %u", n);
        check(send(cb, "y", 1, MSG_NOSIGNAL) == 1, "untouched");
        tap_end();
        return tap_finish();
}
