/* Ports published with `box run -p [IP:]HOSTPORT:PORT`: Docker's userland proxy design
 * (docker-proxy). boxd binds each host port itself, so a port already taken fails the start at
 * once with Docker's words, then hands the sockets to one proxy process per container that
 * accepts on the host's addresses (10.86.0.2 on the page's LAN, the loopback) and relays each
 * connection to the container's address on box0. No netfilter: the host kernel has none. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One `-p`: host address (network order, 0 = every address), host port (0 = the kernel picks
 * one, as Docker does for `-p 80`), container port. TCP only. */
struct port_binding {
  uint32_t host_ip;
  uint16_t host_port, container_port;
};

/* Parse one -p value as Docker does ([IP:][HOSTPORT:]PORT[/tcp]), Docker's error words
 * (go-connections nat.ParsePortSpec): "invalid hostPort: X", "invalid containerPort: X",
 * "invalid IP address: X", "invalid proto: X". 0, or -EINVAL with err set. */
int parse_port_binding(const char *spec, struct port_binding *b, char *err, size_t errlen);

/* "0.0.0.0:8080->80/tcp, …" for `box ps` (into out, always NUL-terminated). */
void format_port_bindings(const struct port_binding *b, int n, char *out, size_t outlen);

/* Bind every binding (a host port 0 becomes the one the kernel chose, written back into b) and
 * start the proxy relaying to container_ip (network order). Returns the proxy's pid (> 0), 0 if
 * there is nothing to publish, or -errno with err set and nothing left open:
 * "Bind for 0.0.0.0:8080 failed: port is already allocated" when the port is taken. */
pid_t publish_ports(struct port_binding *b, int n, uint32_t container_ip, char *err, size_t errlen);

/* Stop a proxy (and the connections it relays) and reap it. pid <= 0 does nothing. */
void unpublish_ports(pid_t proxy);
