#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct box_config cfg;

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

void config_load(void) {
  cfg.state = env_or("BOX_STATE", "/var/lib/box");
  cfg.oci = env_or("BOX_OCI", xasprintf("%s/oci", cfg.state));
  cfg.sock = env_or("BOX_SOCK", "/run/boxd.sock");
  cfg.cgroup = env_or("BOX_CGROUP", "/sys/fs/cgroup");
  cfg.tar = env_or("BOX_TAR", "/bin/busybox");
  const char *vport = getenv("BOX_VPORT");
  cfg.vport = vport ? vport : "virtio-1";
  cfg.bridge = "box0";
  const char *bridge_ip = env_or("BOX_BRIDGE_IP", "10.88.0.1");
  struct in_addr a;
  if (inet_pton(AF_INET, bridge_ip, &a) != 1) {
    log_msg("BOX_BRIDGE_IP=%s is not an IPv4 address: using 10.88.0.1", bridge_ip);
    a.s_addr = htonl(0x0a580001u);
  }
  cfg.bridge_ip = ntohl(a.s_addr);
  cfg.network = strcmp(env_or("BOX_NETWORK", "1"), "0") != 0;
  cfg.warm = strcmp(env_or("BOX_WARM", "1"), "0") != 0;
  cfg.warm_image = env_or("BOX_WARM_IMAGE", "busybox");
}
