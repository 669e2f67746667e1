#include "config.h"

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
  cfg.network = strcmp(env_or("BOX_NETWORK", "1"), "0") != 0;
  cfg.warm = strcmp(env_or("BOX_WARM", "1"), "0") != 0;
}
