/* Layers from an overlay upper (whiteouts, opaque directories, links) and from a COPY (parents,
 * the content hash the cache keys on), read back with tar.c's reader. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "layer.h"
#include "tap.h"
#include "util.h"

/* The entries of a tar in memory as "path type" lines. */
static char *listing(const struct buf *b) {
  struct tar_mem m = {b->data, b->len, 0};
  struct tar_reader r;
  tar_reader_init(&r, tar_read_mem, &m);
  struct tar_entry e;
  char err[256];
  struct buf out = {0};
  while (tar_next(&r, &e, err, sizeof err) == 1) buf_printf(&out, "%s %c\n", e.path, (char)e.type);
  buf_append(&out, "", 1);
  return out.data;
}

static void put(const char *root, const char *rel, const char *text) {
  autofree char *p = xasprintf("%s/%s", root, rel);
  write_file(p, text);
}

int main(void) {
  config_load();
  char tmpl[] = "/tmp/box-test-layer-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL, "temp dir");
  autofree char *upper = xasprintf("%s/upper", dir);
  autofree char *www = xasprintf("%s/www", upper), *opq = xasprintf("%s/var/cache", upper), *proc = xasprintf("%s/proc", upper);
  mkdir_p(www, 0755);
  mkdir_p(opq, 0755);
  mkdir_p(proc, 0555);
  put(upper, "www/new.txt", "new\n");
  autofree char *hard = xasprintf("%s/www/hard.txt", upper), *newf = xasprintf("%s/www/new.txt", upper);
  link(newf, hard);
  autofree char *sym = xasprintf("%s/www/link", upper);
  symlink("new.txt", sym);
  bool root = geteuid() == 0;
  autofree char *gone = xasprintf("%s/www/index.html", upper);
  if (root) {
    mknod(gone, S_IFCHR | 0, makedev(0, 0));
    setxattr(opq, "trusted.overlay.opaque", "y", 1, 0);
  }
  struct buf tar = {0};
  struct tar_writer w;
  tar_writer_init_buf(&w, &tar);
  char err[512] = "", hex[65];
  CHECK(layer_write_upper(&w, upper, err, sizeof err) == 0 && tar_finish(&w, hex) == 0, "upper → layer %s", err);
  autofree char *list = listing(&tar);
  CHECK(!strstr(list, "proc "), "an empty /proc (a mount point) is left out");
  CHECK(strstr(list, "www 5\nwww/hard.txt 0\n") != NULL, "entries sorted, directory first");
  CHECK(strstr(list, "www/new.txt 1\n") != NULL, "the second name of a file is a hard link to the first");
  CHECK(strstr(list, "www/link 2\n") != NULL, "symlink");
  if (root) {
    CHECK(strstr(list, "www/.wh.index.html 0\n") != NULL, "a 0/0 device (overlayfs whiteout) becomes .wh.NAME");
    CHECK(strstr(list, "var/cache/.wh..wh..opq 0\n") != NULL, "an opaque directory gets .wh..wh..opq");
  } else {
    CHECK(1, "whiteouts  # SKIP mknod of 0/0 and trusted.* xattrs need root");
    CHECK(1, "opaque  # SKIP needs root");
  }
  buf_free(&tar);

  /* COPY: a file into a directory; the content hash ignores times; a missing source fails. */
  autofree char *ctx = xasprintf("%s/ctx", dir), *sub = xasprintf("%s/ctx/site", dir);
  mkdir_p(sub, 0755);
  put(ctx, "a.txt", "alpha\n");
  put(ctx, "site/b.txt", "beta\n");
  char *one[] = {"a.txt"}, *both[] = {"a.txt", "site"}, *missing[] = {"nope.txt"}, *escape[] = {"../x"};
  char h1[65], h2[65], h3[65];
  tar_writer_init_buf(&w, &tar);
  CHECK(layer_write_copy(&w, ctx, one, 1, "/srv/app/", NULL, h1, err, sizeof err) == 0 && tar_finish(&w, hex) == 0, "COPY a file %s", err);
  autofree char *copied = listing(&tar);
  CHECK_STR(copied, "srv 5\nsrv/app 5\nsrv/app/a.txt 0\n", "parents first, then the file into the directory");
  buf_free(&tar);
  autofree char *a = xasprintf("%s/a.txt", ctx);
  struct timespec old[2] = {{1, 0}, {1, 0}};
  utimensat(AT_FDCWD, a, old, 0);
  CHECK(layer_write_copy(NULL, ctx, one, 1, "/srv/app/", NULL, h2, err, sizeof err) == 0 && !strcmp(h1, h2), "a touched, unchanged file hashes the same");
  put(ctx, "a.txt", "alpha2\n");
  CHECK(layer_write_copy(NULL, ctx, one, 1, "/srv/app/", NULL, h3, err, sizeof err) == 0 && strcmp(h1, h3), "changed content changes the hash");
  tar_writer_init_buf(&w, &tar);
  CHECK(layer_write_copy(&w, ctx, both, 2, "/d", NULL, h3, err, sizeof err) == 0 && tar_finish(&w, hex) == 0, "COPY two sources");
  autofree char *two = listing(&tar);
  CHECK_STR(two, "d 5\nd/a.txt 0\nd/b.txt 0\n", "several sources: dest is a directory, a directory source copies its contents");
  buf_free(&tar);
  CHECK(layer_write_copy(NULL, ctx, missing, 1, "/", NULL, h3, err, sizeof err) < 0, "missing source refused");
  CHECK_STR(err, "COPY failed: file not found in build context: nope.txt", "missing source message");
  CHECK(layer_write_copy(NULL, ctx, escape, 1, "/", NULL, h3, err, sizeof err) < 0 && strstr(err, "outside the build context"),
        "a source outside the context is refused: %s", err);
  rm_rf(dir);
  return tap_done();
}
