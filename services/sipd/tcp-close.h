/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Ends every connected TCP socket of this process to address (numeric, IPv4 or IPv6)
 * and port (0: any) with shutdown(); sofia then closes them (tcp-close.c). *ret_n:
 * how many. -EINVAL for an address that is not numeric. */
int sip_tcp_shutdown_connections_to(const char *address, uint16_t port, unsigned *ret_n);
