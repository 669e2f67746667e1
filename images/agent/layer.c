/* Layers from an overlay upper and from a COPY (see layer.h). */
#define _GNU_SOURCE
#include "layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

static void entry_from_stat(struct tar_entry *e, const char *path, const struct stat *st) {
  memset(e, 0, sizeof *e);
  snprintf(e->path, sizeof e->path, "%s", path);
  e->mode = st->st_mode & 07777;
  e->uid = st->st_uid;
  e->gid = st->st_gid;
  e->mtime = st->st_mtime;
  if (S_ISDIR(st->st_mode)) e->type = TAR_DIR;
  else if (S_ISLNK(st->st_mode)) e->type = TAR_SYMLINK;
  else if (S_ISCHR(st->st_mode)) e->type = TAR_CHAR;
  else if (S_ISBLK(st->st_mode)) e->type = TAR_BLOCKDEV;
  else if (S_ISFIFO(st->st_mode)) e->type = TAR_FIFO;
  else e->type = TAR_FILE;
  if (e->type == TAR_CHAR || e->type == TAR_BLOCKDEV) {
    e->devmajor = major(st->st_rdev);
    e->devminor = minor(st->st_rdev);
  }
  if (e->type == TAR_FILE) e->size = st->st_size;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

struct walk {
  struct tar_writer *w;
  struct { dev_t dev; ino_t ino; char *path; } *links; /* regular files with nlink > 1 seen so far */
  int nlinks;
  char *err;
  size_t errlen;
  int rc;
};

static void walk_fail(struct walk *wk, int code, const char *path) {
  if (!wk->rc) wk->rc = set_err(wk->err, wk->errlen, code, "%s", path);
}

static bool empty_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d) return false;
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n == 0;
}

/* One entry of the upper (rel: its path in the image, without a leading slash). */
static void walk_upper(struct walk *wk, const char *root, const char *rel) {
  struct dirent **names;
  autofree char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
  int n = scandir(dir, &names, NULL, by_name);
  if (n < 0) return walk_fail(wk, errno, dir);
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..") || wk->rc) continue;
    autofree char *sub = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
    autofree char *full = xasprintf("%s/%s", root, sub);
    struct stat st;
    if (lstat(full, &st) < 0) {
      walk_fail(wk, errno, full);
      continue;
    }
    struct tar_entry e;
    if (!rel[0] && S_ISDIR(st.st_mode) && (!strcmp(name, "proc") || !strcmp(name, "sys") || !strcmp(name, "dev")) &&
        empty_dir(full))
      continue; /* a mount point boxd made in an image without it */
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      /* overlayfs whiteout: the file was deleted in this layer. */
      autofree char *wh = rel[0] ? xasprintf("%s/.wh.%s", rel, name) : xasprintf(".wh.%s", name);
      entry_from_stat(&e, wh, &st);
      e.type = TAR_FILE;
      e.size = 0;
      e.mode = 0;
      e.devmajor = e.devminor = 0;
      tar_write_bytes(wk->w, &e, NULL, 0);
      continue;
    }
    entry_from_stat(&e, sub, &st);
    if (S_ISLNK(st.st_mode)) {
      ssize_t k = readlink(full, e.linkname, sizeof e.linkname - 1);
      if (k < 0) {
        walk_fail(wk, errno, full);
        continue;
      }
      e.linkname[k] = 0;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      for (int k = 0; k < wk->nlinks; k++)
        if (wk->links[k].dev == st.st_dev && wk->links[k].ino == st.st_ino) {
          e.type = TAR_HARDLINK;
          e.size = 0;
          snprintf(e.linkname, sizeof e.linkname, "%s", wk->links[k].path);
          break;
        }
      if (e.type != TAR_HARDLINK) {
        wk->links = realloc(wk->links, (wk->nlinks + 1) * sizeof *wk->links);
        if (!wk->links) abort();
        wk->links[wk->nlinks].dev = st.st_dev;
        wk->links[wk->nlinks].ino = st.st_ino;
        wk->links[wk->nlinks++].path = xstrdup(sub);
      }
    }
    if (e.type == TAR_FILE) {
      autoclose int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        walk_fail(wk, errno, full);
        continue;
      }
      if (tar_write_file(wk->w, &e, fd) < 0) walk_fail(wk, -wk->w->error, full);
    } else {
      tar_write_header(wk->w, &e);
    }
    if (S_ISDIR(st.st_mode)) {
      char v[2] = "";
      if (getxattr(full, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y') {
        /* An opaque directory: what lower layers had in it is gone (it was removed and made again). */
        struct tar_entry opq = e;
        snprintf(opq.path, sizeof opq.path, "%s/.wh..wh..opq", sub);
        opq.type = TAR_FILE;
        opq.mode = 0;
        opq.size = 0;
        tar_write_bytes(wk->w, &opq, NULL, 0);
      }
      walk_upper(wk, root, sub);
    }
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

int layer_write_upper(struct tar_writer *w, const char *upper, char *err, size_t errlen) {
  struct walk wk = {.w = w, .err = err, .errlen = errlen};
  walk_upper(&wk, upper, "");
  for (int i = 0; i < wk.nlinks; i++) free(wk.links[i].path);
  free(wk.links);
  if (!wk.rc && w->error) wk.rc = set_err(err, errlen, -w->error, "writing the layer");
  return wk.rc;
}

/* ------------------------------------------------------------------ COPY */

struct copy {
  struct tar_writer *w;    /* NULL: hash only */
  struct sha256_ctx sha;
  char *err;
  size_t errlen;
  int rc;
};

static void hash_field(struct copy *cp, const void *data, size_t n) {
  sha256_update(&cp->sha, n, data);
  sha256_update(&cp->sha, 1, (const uint8_t *)"");
}

/* src (a path on the host) as dest (a path in the image, no leading slash); directories recursively. */
static void copy_one(struct copy *cp, const char *src, const char *dest) {
  if (cp->rc) return;
  struct stat st;
  if (lstat(src, &st) < 0) {
    cp->rc = set_err(cp->err, cp->errlen, errno, "COPY failed: %s", src);
    return;
  }
  struct tar_entry e;
  entry_from_stat(&e, dest, &st);
  e.uid = e.gid = 0; /* COPY makes files owned by root unless --chown (Dockerfile reference) */
  if (e.type == TAR_CHAR || e.type == TAR_BLOCKDEV || e.type == TAR_FIFO) {
    cp->rc = set_err(cp->err, cp->errlen, 0, "COPY failed: %s is a device or a fifo", src);
    return;
  }
  char mode[16];
  snprintf(mode, sizeof mode, "%c%o", e.type, e.mode);
  hash_field(cp, dest, strlen(dest));
  hash_field(cp, mode, strlen(mode));
  if (e.type == TAR_SYMLINK) {
    ssize_t k = readlink(src, e.linkname, sizeof e.linkname - 1);
    if (k < 0) {
      cp->rc = set_err(cp->err, cp->errlen, errno, "COPY failed: %s", src);
      return;
    }
    e.linkname[k] = 0;
    hash_field(cp, e.linkname, k);
  }
  if (e.type == TAR_FILE) {
    autoclose int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      cp->rc = set_err(cp->err, cp->errlen, errno, "COPY failed: %s", src);
      return;
    }
    char chunk[65536];
    int n;
    uint64_t total = 0;
    if (cp->w) tar_write_header(cp->w, &e);
    while ((n = read_all(fd, chunk, sizeof chunk)) > 0 && total < e.size) {
      if ((uint64_t)n > e.size - total) n = (int)(e.size - total);
      sha256_update(&cp->sha, n, (const uint8_t *)chunk);
      if (cp->w) tar_write_data(cp->w, chunk, n);
      total += n;
    }
    if (n < 0 || total != e.size) {
      cp->rc = set_err(cp->err, cp->errlen, n < 0 ? -n : 0, "COPY failed: %s changed while it was read", src);
      return;
    }
    if (cp->w) tar_end_entry(cp->w, e.size);
    return;
  }
  if (cp->w) tar_write_header(cp->w, &e);
  if (e.type != TAR_DIR) return;
  struct dirent **names;
  int n = scandir(src, &names, NULL, by_name);
  if (n < 0) {
    cp->rc = set_err(cp->err, cp->errlen, errno, "COPY failed: %s", src);
    return;
  }
  for (int i = 0; i < n; i++) {
    if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
      autofree char *s = xasprintf("%s/%s", src, names[i]->d_name);
      autofree char *d = xasprintf("%s/%s", dest, names[i]->d_name);
      copy_one(cp, s, d);
    }
    free(names[i]);
  }
  free(names);
}

/* A directory entry for `path` (no leading slash) as the image below has it, else 0755 root. */
static void parent_entry(struct tar_entry *e, const char *path, const struct image_config *below) {
  memset(e, 0, sizeof *e);
  snprintf(e->path, sizeof e->path, "%s", path);
  e->type = TAR_DIR;
  e->mode = 0755;
  for (int i = below ? below->nlayers - 1 : -1; i >= 0; i--) {
    autofree char *p = xasprintf("%s/layers/%s/%s", cfg.state, below->layers[i].hex, path);
    struct stat st;
    if (lstat(p, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      e->mode = st.st_mode & 07777;
      e->uid = st.st_uid;
      e->gid = st.st_gid;
      e->mtime = st.st_mtime;
    }
    break;
  }
}

/* "a/./b//c/" → "a/b/c"; false if ".." would leave the root. */
static bool normalize(const char *in, char *out, size_t n) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", in);
  out[0] = 0;
  size_t len = 0;
  for (char *save, *part = strtok_r(tmp, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (!strcmp(part, ".")) continue;
    if (!strcmp(part, "..")) {
      if (!len) return false;
      char *slash = strrchr(out, '/');
      len = slash ? (size_t)(slash - out) : 0;
      out[len] = 0;
      continue;
    }
    int k = snprintf(out + len, n - len, "%s%s", len ? "/" : "", part);
    if (k < 0 || (size_t)k >= n - len) return false;
    len += k;
  }
  return true;
}

int layer_write_copy(struct tar_writer *w, const char *context, char **srcs, int nsrcs, const char *dest,
                     const struct image_config *below, char content_hex[65], char *err, size_t errlen) {
  struct copy cp = {.w = w, .err = err, .errlen = errlen};
  sha256_init(&cp.sha);
  char d[PATH_MAX];
  if (!normalize(dest, d, sizeof d)) return set_err(err, errlen, 0, "COPY failed: bad destination %s", dest);
  size_t dl = strlen(dest);
  bool dest_is_dir = nsrcs > 1 || (dl && dest[dl - 1] == '/');
  /* Check every source first: a missing one fails the step before anything is written. */
  char (*rel)[PATH_MAX] = xcalloc(nsrcs, sizeof *rel);
  for (int i = 0; i < nsrcs && !cp.rc; i++) {
    struct stat st;
    autofree char *full = NULL;
    if (!normalize(srcs[i], rel[i], sizeof rel[i]))
      cp.rc = set_err(err, errlen, 0, "COPY failed: forbidden path outside the build context: %s", srcs[i]);
    else if (lstat(full = xasprintf("%s/%s", context, rel[i]), &st) < 0)
      cp.rc = set_err(err, errlen, 0, "COPY failed: file not found in build context: %s", srcs[i]);
    else if (S_ISDIR(st.st_mode) && nsrcs == 1 && rel[i][0]) dest_is_dir = true;
    else if (!rel[i][0]) dest_is_dir = true; /* "." : the whole context */
  }
  if (!cp.rc && w) {
    /* Parents of the destination, outermost first, so the layer extracts anywhere. */
    char parents[PATH_MAX];
    snprintf(parents, sizeof parents, "%s", d);
    if (!dest_is_dir) {
      char *slash = strrchr(parents, '/');
      if (slash) *slash = 0;
      else parents[0] = 0;
    }
    for (char *p = parents; *p;) {
      char *slash = strchr(p, '/');
      if (slash) *slash = 0;
      struct tar_entry e;
      parent_entry(&e, parents, below);
      tar_write_header(w, &e);
      if (!slash) break;
      *slash = '/';
      p = slash + 1;
    }
  }
  for (int i = 0; i < nsrcs && !cp.rc; i++) {
    autofree char *full = xasprintf("%s%s%s", context, rel[i][0] ? "/" : "", rel[i]);
    struct stat st;
    lstat(full, &st);
    if (S_ISDIR(st.st_mode)) {
      /* A directory's contents go into dest (not the directory itself). */
      struct dirent **names;
      int n = scandir(full, &names, NULL, by_name);
      for (int k = 0; k < n; k++) {
        if (strcmp(names[k]->d_name, ".") && strcmp(names[k]->d_name, "..")) {
          autofree char *s = xasprintf("%s/%s", full, names[k]->d_name);
          autofree char *t = d[0] ? xasprintf("%s/%s", d, names[k]->d_name) : xstrdup(names[k]->d_name);
          copy_one(&cp, s, t);
        }
        free(names[k]);
      }
      free(n >= 0 ? names : NULL);
      if (n < 0) cp.rc = set_err(err, errlen, errno, "COPY failed: %s", full);
    } else {
      const char *base = strrchr(rel[i], '/');
      base = base ? base + 1 : rel[i];
      autofree char *t = dest_is_dir ? (d[0] ? xasprintf("%s/%s", d, base) : xstrdup(base)) : xstrdup(d);
      if (!t[0]) cp.rc = set_err(err, errlen, 0, "COPY failed: cannot copy a file onto /");
      else copy_one(&cp, full, t);
    }
  }
  free(rel);
  sha256_finish_hex(&cp.sha, content_hex);
  if (!cp.rc && w && w->error) cp.rc = set_err(err, errlen, -w->error, "writing the layer");
  return cp.rc;
}
