#define _GNU_SOURCE
#include "netlink.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"


static struct nlmsghdr *nl_begin(char *data, int type, int flags) {
  struct nlmsghdr *h = (struct nlmsghdr *)data;
  memset(data, 0, 1024);
  h->nlmsg_len = NLMSG_LENGTH(0);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return h;
}

static void *nl_put(struct nlmsghdr *h, const void *data, size_t len) {
  void *at = (char *)h + NLMSG_ALIGN(h->nlmsg_len);
  if (data) memcpy(at, data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + len;
  return at;
}

static struct rtattr *attr_put(struct nlmsghdr *h, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static void attr_end(struct nlmsghdr *h, struct rtattr *nest) {
  nest->rta_len = (char *)h + h->nlmsg_len - (char *)nest;
}

static int nl_talk(int fd, struct nlmsghdr *h) {
  static uint32_t seq;
  h->nlmsg_seq = ++seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  char reply[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)reply; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != h->nlmsg_seq) continue;
      if (r->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
    }
  }
}

int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static struct nlmsghdr *link_msg(char *data, int type, int flags, int ifindex) {
  struct nlmsghdr *h = nl_begin(data, type, flags);
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
  nl_put(h, &ifi, sizeof ifi);
  return h;
}

int nl_add_bridge(int fd, const char *name) {
  char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr *h = link_msg(data, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  attr_put(h, IFLA_IFNAME, name, strlen(name) + 1);
  struct rtattr *info = attr_put(h, IFLA_LINKINFO, NULL, 0);
  attr_put(h, IFLA_INFO_KIND, "bridge", 6);
  attr_end(h, info);
  return nl_talk(fd, h);
}

int nl_add_veth(int fd, const char *name, const char *peer, pid_t peer_pid) {
  char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr *h = link_msg(data, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  attr_put(h, IFLA_IFNAME, name, strlen(name) + 1);
  struct rtattr *info = attr_put(h, IFLA_LINKINFO, NULL, 0);
  attr_put(h, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *infodata = attr_put(h, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *peerinfo = attr_put(h, VETH_INFO_PEER, NULL, 0);
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  nl_put(h, &ifi, sizeof ifi);
  attr_put(h, IFLA_IFNAME, peer, strlen(peer) + 1);
  uint32_t pid = (uint32_t)peer_pid;
  attr_put(h, IFLA_NET_NS_PID, &pid, sizeof pid);
  attr_end(h, peerinfo);
  attr_end(h, infodata);
  attr_end(h, info);
  return nl_talk(fd, h);
}

int nl_set_link(int fd, int ifindex, bool up, int master_ifindex) {
  char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr *h = nl_begin(data, RTM_NEWLINK, 0);
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_change = IFF_UP,
                          .ifi_flags = up ? IFF_UP : 0};
  nl_put(h, &ifi, sizeof ifi);
  if (master_ifindex) {
    uint32_t m = master_ifindex;
    attr_put(h, IFLA_MASTER, &m, sizeof m);
  }
  return nl_talk(fd, h);
}

int nl_add_addr(int fd, int ifindex, uint32_t ip, int prefix) {
  char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr *h = nl_begin(data, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = prefix, .ifa_index = ifindex,
                          .ifa_scope = RT_SCOPE_UNIVERSE};
  nl_put(h, &ifa, sizeof ifa);
  attr_put(h, IFA_LOCAL, &ip, 4);
  attr_put(h, IFA_ADDRESS, &ip, 4);
  uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
  uint32_t brd = (ip & mask) | ~mask;
  attr_put(h, IFA_BROADCAST, &brd, 4);
  return nl_talk(fd, h);
}

int nl_add_default_route(int fd, uint32_t gateway) {
  char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr *h = nl_begin(data, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
  struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                     .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  nl_put(h, &rt, sizeof rt);
  attr_put(h, RTA_GATEWAY, &gateway, 4);
  return nl_talk(fd, h);
}

int nl_del_link(int fd, int ifindex) {
  char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr *h = link_msg(data, RTM_DELLINK, 0, ifindex);
  return nl_talk(fd, h);
}
