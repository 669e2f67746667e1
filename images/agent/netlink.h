/* rtnetlink without iproute2: the bridge, veth pairs, addresses and routes. Each call
 * sends one request and waits for its ACK; they return 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

int nl_open(void);
int nl_add_bridge(int fd, const char *name);
/* A veth pair: `name` stays here, `peer` is created directly in the net namespace of `peer_pid`. */
int nl_add_veth(int fd, const char *name, const char *peer, pid_t peer_pid);
int nl_set_link(int fd, int ifindex, bool up, int master_ifindex); /* master 0 = unchanged */
int nl_add_addr(int fd, int ifindex, uint32_t ip, int prefix);     /* ip in network order */
int nl_add_default_route(int fd, uint32_t gateway);                 /* network order */
int nl_del_link(int fd, int ifindex);
