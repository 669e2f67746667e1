#define _GNU_SOURCE
#include "volume_copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util.h"

/* A file with more than one link, copied once: later names are linked to its copy. */
struct copied_link {
  dev_t dev;
  ino_t ino;
  char *path; /* relative to the volume's root */
};

struct copy {
  int root;     /* the volume's root directory */
  struct copied_link *links;
  size_t nlinks, cap;
  long entries;
  char *err;
  size_t errlen;
};

static int fail(struct copy *cp, int code, const char *what, const char *path) {
  return set_err(cp->err, cp->errlen, code, "%s %s", what, *path ? path : ".");
}

static bool dir_is_empty(int dirfd) {
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return false; /* unreadable: leave it as it is */
  }
  struct dirent *e;
  bool empty = true;
  while (empty && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
  closedir(d);
  return empty;
}

/* Extended attributes (security.capability, user.*): what the destination refuses is skipped. */
static void copy_xattrs(int src, int dst) {
  char names[4096], value[4096];
  ssize_t n = flistxattr(src, names, sizeof names);
  for (ssize_t at = 0; n > 0 && at < n; at += strlen(names + at) + 1) {
    ssize_t v = fgetxattr(src, names + at, value, sizeof value);
    if (v >= 0) (void)fsetxattr(dst, names + at, value, v, 0);
  }
}

static int copy_data(int src, int dst) {
  for (;;) {
    ssize_t n = sendfile(dst, src, NULL, 1 << 20);
    if (n == 0) return 0;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EINVAL && errno != ENOSYS) return -errno;
    break; /* no sendfile between these: copy by hand */
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(src, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int rc = write_all(dst, buf, n);
    if (rc < 0) return rc;
  }
  return 0;
}

/* Of the entry name in dirfd: owner first (a chown clears set-id bits and the file capability,
 * security.capability), then mode, then the extended attributes from xsrc to xdst (open
 * descriptors of a file or directory, -1 for other entries), then times. */
static int copy_attrs(int dirfd, const char *name, const struct stat *st, int xsrc, int xdst) {
  bool link = S_ISLNK(st->st_mode);
  if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  if (!link && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0) return -errno;
  if (xsrc >= 0 && xdst >= 0) copy_xattrs(xsrc, xdst);
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  return 0;
}

static const char *find_link(const struct copy *cp, const struct stat *st) {
  for (size_t i = 0; i < cp->nlinks; i++)
    if (cp->links[i].dev == st->st_dev && cp->links[i].ino == st->st_ino) return cp->links[i].path;
  return NULL;
}

static void remember_link(struct copy *cp, const struct stat *st, const char *path) {
  if (cp->nlinks == cp->cap) {
    cp->cap = cp->cap ? 2 * cp->cap : 16;
    cp->links = realloc(cp->links, cp->cap * sizeof *cp->links);
    if (!cp->links) abort();
  }
  cp->links[cp->nlinks++] = (struct copied_link){st->st_dev, st->st_ino, xstrdup(path)};
}

static int copy_dir(struct copy *cp, int src, int dst, char *path, size_t len);

/* One entry `name` of src into dst; path (len bytes used, PATH_MAX) is its parent relative to the root. */
static int copy_entry(struct copy *cp, int src, int dst, const char *name, char *path, size_t len) {
  struct stat st;
  int n = snprintf(path + len, PATH_MAX - len, "%s%s", len ? "/" : "", name);
  if (n < 0 || (size_t)n >= PATH_MAX - len) return fail(cp, ENAMETOOLONG, "copying", path);
  size_t sub = len + n;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return fail(cp, errno, "reading", path);
  cp->entries++;
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    const char *first = find_link(cp, &st);
    if (first) return linkat(cp->root, first, dst, name, 0) < 0 ? fail(cp, errno, "linking", path) : 0;
    remember_link(cp, &st, path);
  }
  int rc = 0, s = -1, d = -1; /* a file's or directory's descriptors, kept for its xattrs */
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dst, name, 0700) < 0) return fail(cp, errno, "creating", path);
    s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    d = s >= 0 ? openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (s < 0 || d < 0) rc = fail(cp, errno, "opening", path);
    if (rc == 0) rc = copy_dir(cp, s, d, path, sub);
  } else if (S_ISREG(st.st_mode)) {
    s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    d = s >= 0 ? openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (s < 0 || d < 0) rc = fail(cp, errno, "opening", path);
    if (rc == 0 && (rc = copy_data(s, d)) < 0) rc = fail(cp, -rc, "copying", path);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t t = readlinkat(src, name, target, sizeof target - 1);
    if (t < 0) return fail(cp, errno, "reading the link", path);
    target[t] = 0;
    if (symlinkat(target, dst, name) < 0) return fail(cp, errno, "creating the link", path);
  } else if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) {
    return fail(cp, errno, "creating", path);
  }
  path[sub] = 0;
  if (rc == 0 && (rc = copy_attrs(dst, name, &st, s, d)) < 0) rc = fail(cp, -rc, "setting owner, mode and times of", path);
  if (s >= 0) close(s);
  if (d >= 0) close(d);
  path[len] = 0;
  return rc;
}

static int copy_dir(struct copy *cp, int src, int dst, char *path, size_t len) {
  int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return fail(cp, errno, "listing", path);
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) rc = copy_entry(cp, src, dst, e->d_name, path, len);
  closedir(d);
  path[len] = 0;
  return rc;
}

long volume_copy_image_dir(int src_dirfd, int volume_fd, char *err, size_t errlen) {
  struct copy cp = {.root = -1, .err = err, .errlen = errlen};
  char path[PATH_MAX] = "";
  struct stat st;
  if (!dir_is_empty(volume_fd)) return 0;
  if (fstat(src_dirfd, &st) < 0) return set_err(err, errlen, errno, "reading the image's directory");
  cp.root = openat(volume_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cp.root < 0) return set_err(err, errlen, errno, "opening the volume");
  int rc = copy_dir(&cp, src_dirfd, cp.root, path, 0);
  if (rc == 0 && (fchown(cp.root, st.st_uid, st.st_gid) < 0 || fchmod(cp.root, st.st_mode & 07777) < 0))
    rc = set_err(err, errlen, errno, "setting the volume's owner and mode");
  /* It was empty: a copy cut short is taken back, or the next start would find the volume not
   * empty and keep half the image's files in it for good. */
  int left;
  if (rc < 0 && (left = rm_rf_contents(cp.root)) < 0) log_msg("volume: a failed copy not taken back: %s", strerror(-left));
  close(cp.root);
  for (size_t i = 0; i < cp.nlinks; i++) free(cp.links[i].path);
  free(cp.links);
  return rc < 0 ? rc : cp.entries;
}
