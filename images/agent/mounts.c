#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

enum step_kind {
  STEP_PRIVATE,     /* stop mount events propagating back to the host */
  STEP_OVERLAY,     /* the container's root at ctx->mnt */
  STEP_DETACH_HOST, /* lazily unmount every host mount copied into this namespace but ctx->keep */
  STEP_DETACH_KEPT, /* and ctx->keep, once the overlay holds its own reference to its upper */
  STEP_ENTER_ROOT,  /* make ctx->mnt the root */
  STEP_MOVE_IN,     /* move the mount at dst (with its submounts) to the same path under ctx->mnt, made if need be */
  STEP_MOVE_OUT,    /* and back */
  STEP_DETACH,      /* lazily unmount dst with its submounts */
  STEP_MOUNT,
  STEP_MKDIR,
  STEP_MKNOD,
  STEP_SYMLINK,
  STEP_MKFILE,      /* an empty file, a mount point */
  STEP_REMOUNT_RO,  /* make a mount read-only (keeping flags) */
  STEP_REMOUNT_RW,  /* and writable again */
  STEP_MASK,        /* /dev/null over a file, an empty read-only tmpfs over a directory */
  STEP_READONLY,    /* bind a path onto itself read-only */
};

enum when { ALWAYS, UNPRIVILEGED, PRIVILEGED };

struct step {
  enum step_kind kind;
  enum when when;
  const char *src, *dst, *fstype;
  unsigned long flags;
  const char *data;
  mode_t mode;
  unsigned major, minor;
};

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Before the container is known (in the prepared namespaces, while boxd is idle): only the mounts
 * an overlay upper needs stay (ctx->keep), then the container's /proc, /dev and /sys are made, as
 * for an unprivileged container, over the host's (detached) mount points; a start only moves
 * them into its overlay (root_steps). What they hold depends on no image: the kernel's own file
 * systems of this child's pid and net namespaces, device nodes, and the pty's devpts. */
static const struct step prepare_steps[] = {
    {STEP_PRIVATE, ALWAYS},
    {STEP_DETACH_HOST, ALWAYS},
    {STEP_MOUNT, ALWAYS, "proc", "/proc", "proc", NOSUID_NODEV_NOEXEC},
    {STEP_MOUNT, ALWAYS, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"},
    {STEP_MKNOD, ALWAYS, .dst = "/dev/null", .mode = 0666, .major = 1, .minor = 3},
    {STEP_MKNOD, ALWAYS, .dst = "/dev/zero", .mode = 0666, .major = 1, .minor = 5},
    {STEP_MKNOD, ALWAYS, .dst = "/dev/full", .mode = 0666, .major = 1, .minor = 7},
    {STEP_MKNOD, ALWAYS, .dst = "/dev/random", .mode = 0666, .major = 1, .minor = 8},
    {STEP_MKNOD, ALWAYS, .dst = "/dev/urandom", .mode = 0666, .major = 1, .minor = 9},
    {STEP_MKNOD, ALWAYS, .dst = "/dev/tty", .mode = 0666, .major = 5, .minor = 0},
    {STEP_MKDIR, ALWAYS, .dst = "/dev/pts", .mode = 0755},
    {STEP_MOUNT, ALWAYS, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
    {STEP_SYMLINK, ALWAYS, "pts/ptmx", "/dev/ptmx"},
    {STEP_SYMLINK, ALWAYS, "/proc/self/fd", "/dev/fd"},
    {STEP_SYMLINK, ALWAYS, "/proc/self/fd/0", "/dev/stdin"},
    {STEP_SYMLINK, ALWAYS, "/proc/self/fd/1", "/dev/stdout"},
    {STEP_SYMLINK, ALWAYS, "/proc/self/fd/2", "/dev/stderr"},
    {STEP_MKDIR, ALWAYS, .dst = "/dev/shm", .mode = 01777},
    {STEP_MOUNT, ALWAYS, "shm", "/dev/shm", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=1777,size=65536k"},
    {STEP_MKFILE, ALWAYS, .dst = "/dev/console", .mode = 0600}, /* the pty is bound onto it */
    /* No devices cgroup here: what keeps a container from the host's devices (ttyS0, the mux
     * port) is that nodes it makes cannot be opened — its root is nodev, its /dev read-only. */
    {STEP_REMOUNT_RO, UNPRIVILEGED, .dst = "/dev", .flags = MS_NOSUID},
    {STEP_MOUNT, UNPRIVILEGED, "sysfs", "/sys", "sysfs", NOSUID_NODEV_NOEXEC | MS_RDONLY},
    /* moby's default masked and read-only paths (oci/defaults.go). */
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/asound"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/acpi"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/kcore"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/keys"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/latency_stats"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/timer_list"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/timer_stats"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/sched_debug"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/proc/scsi"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/sys/firmware"},
    {STEP_MASK, UNPRIVILEGED, .dst = "/sys/devices/virtual/powercap"},
    {STEP_READONLY, UNPRIVILEGED, .dst = "/proc/bus"},
    {STEP_READONLY, UNPRIVILEGED, .dst = "/proc/fs"},
    {STEP_READONLY, UNPRIVILEGED, .dst = "/proc/irq"},
    {STEP_READONLY, UNPRIVILEGED, .dst = "/proc/sys"},
    {STEP_READONLY, UNPRIVILEGED, .dst = "/proc/sysrq-trigger"},
};

/* A --privileged start in namespaces prepared as for an unprivileged one: /proc and /sys
 * without their masks, and a writable /dev (which keeps the pty already opened in it). */
static const struct step privileged_steps[] = {
    {STEP_DETACH, ALWAYS, .dst = "/proc"},
    {STEP_DETACH, ALWAYS, .dst = "/sys"},
    {STEP_MOUNT, ALWAYS, "proc", "/proc", "proc", NOSUID_NODEV_NOEXEC},
    {STEP_MOUNT, ALWAYS, "sysfs", "/sys", "sysfs", NOSUID_NODEV_NOEXEC},
    {STEP_REMOUNT_RW, ALWAYS, .dst = "/dev", .flags = MS_NOSUID},
};

/* The container's root: its overlay, the prepared /proc, /dev and /sys moved into it (done ahead
 * for the image expected next, and undone if another comes)… */
static const struct step overlay_steps[] = {
    {STEP_OVERLAY, ALWAYS},
    {STEP_MOVE_IN, ALWAYS, .dst = "/proc", .mode = 0555},
    {STEP_MOVE_IN, ALWAYS, .dst = "/dev", .mode = 0755},
    {STEP_MOVE_IN, ALWAYS, .dst = "/sys", .mode = 0555},
};
static const struct step overlay_undo_steps[] = {
    {STEP_MOVE_OUT, ALWAYS, .dst = "/proc"},
    {STEP_MOVE_OUT, ALWAYS, .dst = "/dev"},
    {STEP_MOVE_OUT, ALWAYS, .dst = "/sys"},
};
/* …then entered, once the overlay holds its own reference to its upper. */
static const struct step enter_steps[] = {
    {STEP_DETACH_KEPT, ALWAYS},
    {STEP_ENTER_ROOT, ALWAYS},
};

static const struct step cgroup_steps[] = {
    {STEP_MOUNT, UNPRIVILEGED, "cgroup2", "/sys/fs/cgroup", "cgroup2", NOSUID_NODEV_NOEXEC | MS_RDONLY},
    {STEP_MOUNT, PRIVILEGED, "cgroup2", "/sys/fs/cgroup", "cgroup2", NOSUID_NODEV_NOEXEC},
};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
      *o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
      s += 3;
    } else {
      *o++ = *s;
    }
  }
  *o = 0;
}

static bool is_ancestor(const char *dir, const char *path) {
  size_t n = strlen(dir);
  return !strncmp(dir, path, n) && path[n] == '/';
}

static void detach_host_mounts(const char *keep) {
  autofree char *info = read_file("/proc/self/mountinfo", NULL);
  if (!info) die_with_error("reading /proc/self/mountinfo");
  char *points[1024];
  int n = 0;
  for (char *line = strtok(info, "\n"); line && n < (int)N_ELEMENTS(points); line = strtok(NULL, "\n")) {
    /* id parent major:minor root mountpoint … */
    char *f = line;
    for (int field = 0; field < 4 && f; field++) {
      f = strchr(f, ' ');
      if (f) f++;
    }
    if (!f) continue;
    char *end = strchr(f, ' ');
    if (end) *end = 0;
    unescape_octal(f);
    if (!strcmp(f, "/") || !strcmp(f, keep) || is_ancestor(f, keep)) continue;
    points[n++] = f;
  }
  /* Children before parents; a point already gone with its parent is fine. */
  while (n-- > 0)
    if (umount2(points[n], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
      die_with_error("detaching host mount %s", points[n]);
}

static void enter_root(const char *mnt) {
  if (chdir(mnt) < 0) die_with_error("chdir %s", mnt);
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    /* The old root is now stacked on the new one: take it away. */
    if (umount2(".", MNT_DETACH) < 0) die_with_error("detaching the old root");
  } else if (errno == EINVAL) {
    /* The host runs from its initramfs and the kernel refuses to pivot the rootfs away.
     * Move the overlay over "/" instead: ".." at the container root then stays there,
     * exactly as after a pivot, and every host mount is already detached. */
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die_with_error("moving the root overlay onto /");
    if (chroot(".") < 0) die_with_error("chroot");
  } else {
    die_with_error("pivot_root");
  }
  if (chdir("/") < 0) die_with_error("chdir /");
}

static void mask_path(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT) return;
    die_with_error("stat %s", path);
  }
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", path, "tmpfs", MS_RDONLY | NOSUID_NODEV_NOEXEC, "size=0") < 0)
      die_with_error("masking %s", path);
  } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
    die_with_error("masking %s", path);
  }
}

static void bind_readonly(const char *path) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    die_with_error("binding %s", path);
  }
  if (mount(path, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | NOSUID_NODEV_NOEXEC, NULL) < 0)
    die_with_error("making %s read-only", path);
}

static void run_steps(const struct step *steps, size_t n, const struct mount_context *ctx) {
  for (size_t i = 0; i < n; i++) {
    const struct step *s = &steps[i];
    if ((s->when == UNPRIVILEGED && ctx->privileged) || (s->when == PRIVILEGED && !ctx->privileged)) continue;
    switch (s->kind) {
    case STEP_PRIVATE:
      if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die_with_error("making / private");
      break;
    case STEP_OVERLAY:
      if (mount("overlay", ctx->mnt, "overlay", ctx->privileged ? 0 : MS_NODEV, ctx->overlay_opts) < 0)
        die_with_error("mounting overlay (%s)", ctx->overlay_opts);
      break;
    case STEP_DETACH_HOST:
      detach_host_mounts(ctx->keep);
      break;
    case STEP_DETACH_KEPT:
      if (umount2(ctx->keep, MNT_DETACH) < 0 && errno != EINVAL) die_with_error("detaching %s", ctx->keep);
      break;
    case STEP_ENTER_ROOT:
      enter_root(ctx->mnt);
      break;
    case STEP_MOUNT:
      if (mount(s->src, s->dst, s->fstype, s->flags, s->data) < 0) die_with_error("mounting %s on %s", s->fstype, s->dst);
      break;
    case STEP_MKDIR:
      if (mkdir(s->dst, s->mode) < 0 && errno != EEXIST) die_with_error("mkdir %s", s->dst);
      break;
    case STEP_MKNOD:
      if (mknod(s->dst, S_IFCHR | s->mode, makedev(s->major, s->minor)) < 0) die_with_error("mknod %s", s->dst);
      if (chmod(s->dst, s->mode) < 0) die_with_error("chmod %s", s->dst); /* past the umask */
      break;
    case STEP_SYMLINK:
      if (symlink(s->src, s->dst) < 0) die_with_error("symlink %s", s->dst);
      break;
    case STEP_MKFILE: {
      int fd = open(s->dst, O_CREAT | O_WRONLY | O_CLOEXEC, s->mode);
      if (fd < 0) die_with_error("creating %s", s->dst);
      close(fd);
      break;
    }
    case STEP_REMOUNT_RO:
      if (mount(NULL, s->dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | s->flags, NULL) < 0)
        die_with_error("making %s read-only", s->dst);
      break;
    case STEP_REMOUNT_RW:
      if (mount(NULL, s->dst, NULL, MS_REMOUNT | MS_BIND | s->flags, NULL) < 0) die_with_error("making %s writable", s->dst);
      break;
    case STEP_MOVE_IN: {
      autofree char *to = xasprintf("%s%s", ctx->mnt, s->dst);
      if (mkdir(to, s->mode) < 0 && errno != EEXIST) die_with_error("mkdir %s", to);
      if (mount(s->dst, to, NULL, MS_MOVE, NULL) < 0) die_with_error("moving %s into the container", s->dst);
      break;
    }
    case STEP_MOVE_OUT: {
      autofree char *from = xasprintf("%s%s", ctx->mnt, s->dst);
      if (mount(from, s->dst, NULL, MS_MOVE, NULL) < 0) die_with_error("moving %s out of the prepared root", s->dst);
      break;
    }
    case STEP_DETACH:
      if (umount2(s->dst, MNT_DETACH) < 0) die_with_error("detaching %s", s->dst);
      break;
    case STEP_MASK:
      mask_path(s->dst);
      break;
    case STEP_READONLY:
      bind_readonly(s->dst);
      break;
    }
  }
}

void mounts_prepare(const struct mount_context *ctx) { run_steps(prepare_steps, N_ELEMENTS(prepare_steps), ctx); }

bool mounts_try_overlay(const struct mount_context *ctx) {
  if (mount("overlay", ctx->mnt, "overlay", MS_NODEV, ctx->overlay_opts) < 0) return false;
  run_steps(overlay_steps + 1, N_ELEMENTS(overlay_steps) - 1, ctx); /* the moves in */
  return true;
}

void mounts_drop_overlay(const struct mount_context *ctx) {
  run_steps(overlay_undo_steps, N_ELEMENTS(overlay_undo_steps), ctx);
  /* Not lazily: the overlay lets go of its upper and work directories now, for the next one. */
  if (umount2(ctx->mnt, 0) < 0) die_with_error("unmounting the root prepared at %s", ctx->mnt);
}

void mounts_setup_root(const struct mount_context *ctx) {
  if (ctx->privileged) run_steps(privileged_steps, N_ELEMENTS(privileged_steps), ctx);
  if (ctx->overlay_opts) run_steps(overlay_steps, N_ELEMENTS(overlay_steps), ctx);
  run_steps(enter_steps, N_ELEMENTS(enter_steps), ctx);
}

void mounts_setup_cgroup(const struct mount_context *ctx) { run_steps(cgroup_steps, N_ELEMENTS(cgroup_steps), ctx); }
