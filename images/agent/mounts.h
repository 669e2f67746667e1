/* A container's filesystem view as a list of steps replayed in order in the child
 * (new mount namespace, before exec). Every step dies on failure. */
#pragma once
#include <stdbool.h>

struct mount_context {
  const char *mnt;          /* where the root overlay is mounted before it becomes / */
  const char *overlay_opts; /* lowerdir=…,upperdir=…,workdir=… */
  bool privileged;
};

/* From a copy of the host's mounts to the container's root with /proc, /dev, /sys. */
void mounts_setup_root(const struct mount_context *ctx);
/* After unshare(CLONE_NEWCGROUP): the container's own cgroup tree at /sys/fs/cgroup. */
void mounts_setup_cgroup(const struct mount_context *ctx);
