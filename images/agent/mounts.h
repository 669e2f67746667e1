/* A container's filesystem view as a list of steps replayed in order in the child
 * (new mount namespace, before exec). Every step dies on failure. */
#pragma once
#include <stdbool.h>

struct mount_context {
  const char *mnt;          /* where the root overlay is mounted before it becomes / */
  const char *keep;         /* the host mount holding overlay uppers, kept until the overlay is up */
  const char *overlay_opts; /* lowerdir=…,upperdir=…,workdir=…; NULL: mounted ahead */
  bool privileged;
};

/* Right after clone, before the container is known: detach the host's mounts but ctx->keep, and
 * mount the container's /proc, /dev (with its devpts) and /sys over the host's mount points, as
 * for an unprivileged container (ctx->privileged false). */
void mounts_prepare(const struct mount_context *ctx);
/* Also ahead, once boxd knows which image comes next: its overlay (ctx->overlay_opts, unprivileged)
 * at ctx->mnt with those moved into it. Whether it is mounted; a start that takes another drops it
 * first (moving them back out). */
bool mounts_try_overlay(const struct mount_context *ctx);
void mounts_drop_overlay(const struct mount_context *ctx);
/* Then, for the container: its root (the overlay at ctx->mnt, mounted now unless overlay_opts is
 * NULL: mounted ahead), with those moved into it (made privileged first if ctx->privileged:
 * unmasked, writable). */
void mounts_setup_root(const struct mount_context *ctx);
/* After unshare(CLONE_NEWCGROUP): the container's own cgroup tree at /sys/fs/cgroup. */
void mounts_setup_cgroup(const struct mount_context *ctx);
