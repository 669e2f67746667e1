/* Where boxd keeps things. Defaults match the container host; the BOX_* environment
 * variables move them for native tests on a development machine. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct box_config {
  const char *state;   /* BOX_STATE   /var/lib/box: layers/, run/ (tmpfs), mnt/ */
  const char *oci;     /* BOX_OCI     /var/lib/box/oci: one OCI image layout, several images */
  const char *sock;    /* BOX_SOCK    /run/boxd.sock */
  const char *cgroup;  /* BOX_CGROUP  /sys/fs/cgroup (cgroup v2); containers go in box/<name> */
  const char *tar;     /* BOX_TAR     /bin/busybox (run as "tar") */
  const char *vport;   /* BOX_VPORT   virtio-console port name to serve, "virtio-1"; "" = none */
  const char *bridge;  /* bridge name, box0 */
  uint32_t bridge_ip;  /* BOX_BRIDGE_IP 10.88.0.1 (host order): box0's address in a /16, container n
                        * takes bridge_ip + n. A VM running boxd uses 10.89.0.1: its LAN routes 10.88/16
                        * to the container host (images/vm/rootfs/etc/init.d/boxd). */
  bool network;        /* BOX_NETWORK=0 skips bridge and veth (native tests) */
  bool warm;           /* BOX_WARM=0: no namespaces made ahead of a start (to measure cold starts) */
  const char *warm_image; /* BOX_WARM_IMAGE busybox: the image a start is prepared for before any ran */
};

extern struct box_config cfg;
void config_load(void);
