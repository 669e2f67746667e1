#include "publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MAX_BINDINGS 16

/* A decimal port 1..65535 (0 allowed only where zero_ok), the whole of [s, s+n). */
static int port_number(const char *s, size_t n, bool zero_ok) {
  if (n == 0 || n > 5) return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v > 65535 || (v == 0 && !zero_ok) ? -1 : v;
}

int parse_port_binding(const char *spec, struct port_binding *b, char *err, size_t errlen) {
  *b = (struct port_binding){0};
  char buf[128];
  if (strlen(spec) >= sizeof buf) return set_err(err, errlen, 0, "invalid port specification: \"%.40s…\"", spec);
  snprintf(buf, sizeof buf, "%s", spec);
  char *proto = strchr(buf, '/');
  if (proto) {
    *proto++ = 0;
    if (strcmp(proto, "tcp")) {
      if (!strcmp(proto, "udp") || !strcmp(proto, "sctp"))
        return set_err(err, errlen, 0, "box publishes tcp ports only, not %s", proto);
      return set_err(err, errlen, 0, "invalid proto: %s", proto);
    }
  }
  /* PORT, HOSTPORT:PORT or IP:HOSTPORT:PORT (IPv4 only: an address holds no colon). */
  int colons = 0;
  for (const char *p = buf; *p; p++) colons += *p == ':';
  if (colons > 2) return set_err(err, errlen, 0, "invalid port specification: \"%s\"", spec);
  char *parts[3] = {buf};
  int nparts = 1;
  for (char *colon; (colon = strchr(parts[nparts - 1], ':'));) {
    *colon = 0;
    parts[nparts++] = colon + 1;
  }
  const char *ip = nparts == 3 ? parts[0] : NULL, *host = nparts >= 2 ? parts[nparts - 2] : NULL, *cport = parts[nparts - 1];
  if (strchr(cport, '-') || (host && strchr(host, '-')))
    return set_err(err, errlen, 0, "box publishes single ports, not ranges: %s", spec);
  int c = port_number(cport, strlen(cport), false);
  if (c < 0) return set_err(err, errlen, 0, "invalid containerPort: %s", cport);
  int h = 0;
  if (host && *host && (h = port_number(host, strlen(host), false)) < 0) return set_err(err, errlen, 0, "invalid hostPort: %s", host);
  if (ip && *ip) {
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1) return set_err(err, errlen, 0, "invalid IP address: %s", ip);
    b->host_ip = a.s_addr;
  }
  b->host_port = (uint16_t)h;
  b->container_port = (uint16_t)c;
  return 0;
}

void format_port_bindings(const struct port_binding *b, int n, char *out, size_t outlen) {
  size_t used = 0;
  out[0] = 0;
  for (int i = 0; i < n && used < outlen; i++) {
    char ip[INET_ADDRSTRLEN] = "0.0.0.0";
    if (b[i].host_ip) inet_ntop(AF_INET, &b[i].host_ip, ip, sizeof ip);
    int w = snprintf(out + used, outlen - used, "%s%s:%u->%u/tcp", i ? ", " : "", ip, b[i].host_port, b[i].container_port);
    if (w < 0) break;
    used += (size_t)w;
  }
}

/* Copy both ways between a and b until both directions ended; half-closes pass through. */
static void relay(int a, int b) {
  char buf[16384];
  int fds[2] = {a, b};
  bool open_in[2] = {true, true};
  while (open_in[0] || open_in[1]) {
    struct pollfd p[2] = {{open_in[0] ? a : -1, POLLIN, 0}, {open_in[1] ? b : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; i++) {
      if (!open_in[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(fds[i], buf, sizeof buf);
      if (r <= 0 || write_all(fds[1 - i], buf, (size_t)r) < 0) {
        open_in[i] = false;
        shutdown(fds[1 - i], SHUT_WR); /* the peer sees the same end of stream */
      }
    }
  }
}

/* One accepted connection: connect to the container's port and relay; a container that does
 * not listen gets the client closed, as docker-proxy does. */
static void serve_connection(int client, uint32_t container_ip, uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = container_ip};
  if (s >= 0 && connect(s, (struct sockaddr *)&to, sizeof to) == 0) relay(client, s);
  _exit(0);
}

/* The proxy process: accept on every listener, one child per connection. */
static void proxy_main(const int *listeners, const struct port_binding *b, int n, uint32_t container_ip) {
  prctl(PR_SET_NAME, "box-proxy");
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* boxd gone: no orphaned listeners */
  setpgid(0, 0);                    /* unpublish_ports stops the connections too */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL); /* boxd blocks SIGCHLD for its signalfd */
  signal(SIGCHLD, SIG_IGN);              /* connection children reap themselves */
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  /* Keep only the listeners: boxd's mux, sockets and ptys are not the proxy's to hold. */
  for (int fd = 3; fd < 1024; fd++) {
    bool keep = false;
    for (int i = 0; i < n; i++) keep |= listeners[i] == fd;
    if (!keep) close(fd);
  }
  struct pollfd p[MAX_BINDINGS];
  for (int i = 0; i < n; i++) p[i] = (struct pollfd){listeners[i], POLLIN, 0};
  for (;;) {
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    for (int i = 0; i < n; i++) {
      if (!(p[i].revents & POLLIN)) continue;
      int client = accept(listeners[i], NULL, NULL);
      if (client < 0) continue;
      pid_t child = fork();
      if (child == 0) {
        for (int k = 0; k < n; k++) close(listeners[k]);
        serve_connection(client, container_ip, b[i].container_port);
      }
      close(client);
    }
  }
}

pid_t publish_ports(struct port_binding *b, int n, uint32_t container_ip, char *err, size_t errlen) {
  if (n <= 0) return 0;
  if (n > MAX_BINDINGS) return set_err(err, errlen, 0, "at most %d published ports per container", MAX_BINDINGS);
  if (!container_ip) return set_err(err, errlen, 0, "a container without network cannot publish ports");
  int fds[MAX_BINDINGS];
  int opened = 0, rc = 0;
  for (; opened < n; opened++) {
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(b[opened].host_port), .sin_addr.s_addr = b[opened].host_ip};
    char ip[INET_ADDRSTRLEN] = "0.0.0.0";
    if (b[opened].host_ip) inet_ntop(AF_INET, &b[opened].host_ip, ip, sizeof ip);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (s < 0) {
      rc = set_err(err, errlen, errno, "socket for %s:%u", ip, b[opened].host_port);
      break;
    }
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&at, sizeof at) < 0 || listen(s, 64) < 0) {
      if (errno == EADDRINUSE) rc = set_err(err, errlen, 0, "Bind for %s:%u failed: port is already allocated", ip, b[opened].host_port);
      else rc = set_err(err, errlen, errno, "Bind for %s:%u failed", ip, b[opened].host_port);
      close(s);
      break;
    }
    socklen_t len = sizeof at;
    if (!b[opened].host_port && getsockname(s, (struct sockaddr *)&at, &len) == 0) b[opened].host_port = ntohs(at.sin_port);
    fds[opened] = s;
  }
  pid_t pid = -1;
  if (!rc) {
    pid = fork();
    if (pid == 0) proxy_main(fds, b, n, container_ip);
    if (pid < 0) rc = set_err(err, errlen, errno, "starting the port proxy");
    else setpgid(pid, pid); /* also here: unpublish may come before the child runs */
  }
  for (int i = 0; i < opened; i++) close(fds[i]); /* the proxy holds them now */
  return rc ? rc : pid;
}

void unpublish_ports(pid_t proxy) {
  if (proxy <= 0) return;
  kill(-proxy, SIGTERM); /* its process group: the listener and every relayed connection */
  kill(proxy, SIGTERM);
  while (waitpid(proxy, NULL, 0) < 0 && errno == EINTR) {
  }
}
