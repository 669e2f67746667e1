/* Docker's copy of image data into an empty volume (volume_copy.h) on a temp tree: every kind of
 * entry with its owner, mode and times, hard links kept, and a volume with anything in it untouched. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"
#include "volume_copy.h"

static bool same_text(const char *path, const char *want) {
  autofree char *got = read_file(path, NULL);
  return got && !strcmp(got, want);
}

int main(void) {
  char tmpl[] = "/tmp/box-test-copy-XXXXXX";
  const char *root = mkdtemp(tmpl);
  CHECK(root != NULL, "temp dir");
  autofree char *img = xasprintf("%s/image/www", root), *vol = xasprintf("%s/volume", root), *full = xasprintf("%s/full", root);
  CHECK(mkdir_p(img, 0755) == 0 && mkdir_p(vol, 0755) == 0 && mkdir_p(full, 0755) == 0, "image dir, empty volume, full volume");
  autofree char *index = xasprintf("%s/index.html", img), *sub = xasprintf("%s/css", img), *css = xasprintf("%s/css/site.css", img);
  autofree char *sym = xasprintf("%s/home.html", img), *hard = xasprintf("%s/index-copy.html", img), *fifo = xasprintf("%s/pipe", img);
  autofree char *secret = xasprintf("%s/secret", img);
  CHECK(write_file(index, "<h1>hello</h1>\n") == 0 && mkdir(sub, 0700) == 0 && chmod(sub, 02750) == 0 && write_file(css, "body{}\n") == 0 &&
            symlink("index.html", sym) == 0 && link(index, hard) == 0 && mkfifo(fifo, 0640) == 0 && write_file(secret, "s") == 0,
        "a file, a setgid dir, a symlink, a hard link, a fifo");
  CHECK(chmod(secret, 04711) == 0 && chown(secret, 1234, 5678) == 0 && chmod(secret, 04711) == 0, "a setuid file owned by 1234:5678");
  CHECK(chmod(img, 0751) == 0 && chown(img, 33, 33) == 0, "the image's directory: 0751, owned by 33:33");
  /* A file capability (ping's cap_net_raw+ep): vfs_cap_data revision 2, effective, permitted bit 13. */
  autofree char *ping = xasprintf("%s/ping", img);
  const uint32_t cap[5] = {0x02000001, 1u << 13, 0, 0, 0};
  CHECK(write_file(ping, "#!/bin/sh\n") == 0 && chown(ping, 0, 0) == 0 && setxattr(ping, "security.capability", cap, sizeof cap, 0) == 0,
        "a file with a file capability");
  struct timespec old[2] = {{1000000, 0}, {1700000000, 0}};
  CHECK(utimensat(AT_FDCWD, css, old, 0) == 0, "an old mtime");

  int src = open(img, O_RDONLY | O_DIRECTORY), dst = open(vol, O_PATH | O_DIRECTORY);
  char err[512] = "";
  long n = volume_copy_image_dir(src, dst, err, sizeof err);
  CHECK(n == 8, "copied 8 entries (%ld, %s)", n, err);
  autofree char *v_index = xasprintf("%s/index.html", vol), *v_css = xasprintf("%s/css/site.css", vol), *v_sub = xasprintf("%s/css", vol);
  autofree char *v_link = xasprintf("%s/home.html", vol), *v_hard = xasprintf("%s/index-copy.html", vol), *v_fifo = xasprintf("%s/pipe", vol);
  autofree char *v_secret = xasprintf("%s/secret", vol);
  struct stat a, b;
  CHECK(same_text(v_index, "<h1>hello</h1>\n") && same_text(v_css, "body{}\n"), "the data");
  CHECK(stat(v_sub, &a) == 0 && S_ISDIR(a.st_mode) && (a.st_mode & 07777) == 02750, "the directory with its mode (setgid kept)");
  char target[64] = "";
  CHECK(readlink(v_link, target, sizeof target - 1) > 0 && !strcmp(target, "index.html"), "the symlink, as it was");
  CHECK(stat(v_index, &a) == 0 && stat(v_hard, &b) == 0 && a.st_ino == b.st_ino && a.st_nlink == 2, "the hard link is a link again");
  CHECK(lstat(v_fifo, &a) == 0 && S_ISFIFO(a.st_mode) && (a.st_mode & 0777) == 0640, "the fifo");
  CHECK(stat(v_secret, &a) == 0 && a.st_uid == 1234 && a.st_gid == 5678 && (a.st_mode & 07777) == 04711, "owner, then mode: setuid survives the chown");
  CHECK(stat(v_css, &a) == 0 && a.st_mtim.tv_sec == 1700000000, "the mtime");
  /* Set after the chown, which would clear it (the kernel's killpriv on a change of owner). */
  autofree char *v_ping = xasprintf("%s/ping", vol);
  uint32_t got_cap[5] = {0};
  CHECK(getxattr(v_ping, "security.capability", got_cap, sizeof got_cap) == (ssize_t)sizeof cap && !memcmp(got_cap, cap, sizeof cap),
        "the file capability survives the copy");
  CHECK(stat(vol, &a) == 0 && a.st_uid == 33 && a.st_gid == 33 && (a.st_mode & 07777) == 0751, "the volume's root takes the image dir's owner and mode");
  close(dst);

  /* A volume with anything in it is never overwritten, nor re-owned. */
  autofree char *mine = xasprintf("%s/mine", full);
  CHECK(write_file(mine, "keep") == 0 && chmod(full, 0700) == 0, "a volume holding one file");
  dst = open(full, O_PATH | O_DIRECTORY);
  CHECK(volume_copy_image_dir(src, dst, err, sizeof err) == 0, "nothing copied into it");
  autofree char *f_index = xasprintf("%s/index.html", full);
  CHECK(access(f_index, F_OK) < 0 && same_text(mine, "keep") && stat(full, &a) == 0 && (a.st_mode & 0777) == 0700, "and it is as it was");
  close(dst);
  close(src);

  /* A copy that fails midway (a path past PATH_MAX, deep in the image's tree) takes back what it
   * copied: the volume is empty again, so the next start copies anew instead of keeping half. */
  autofree char *deep_img = xasprintf("%s/deep-image", root), *deep_vol = xasprintf("%s/deep-volume", root);
  CHECK(mkdir(deep_img, 0755) == 0 && mkdir(deep_vol, 0755) == 0, "an image dir and an empty volume");
  autofree char *first = xasprintf("%s/a-file", deep_img);
  CHECK(write_file(first, "x") == 0, "a file beside the deep tree");
  char part[201];
  memset(part, 'd', 200);
  part[200] = 0;
  int at = open(deep_img, O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 25 && at >= 0; i++) { /* 25 × 201 bytes: past PATH_MAX (4096) */
    int next = mkdirat(at, part, 0755) == 0 ? openat(at, part, O_RDONLY | O_DIRECTORY) : -1;
    close(at);
    at = next;
  }
  CHECK(at >= 0, "a tree deeper than PATH_MAX");
  close(at);
  src = open(deep_img, O_RDONLY | O_DIRECTORY);
  dst = open(deep_vol, O_PATH | O_DIRECTORY);
  err[0] = 0;
  n = volume_copy_image_dir(src, dst, err, sizeof err);
  CHECK(n == -ENAMETOOLONG && strstr(err, "copying "), "the copy fails, saying where (%ld, %s)", n, err);
  int probe = openat(dst, ".", O_RDONLY | O_DIRECTORY);
  CHECK(probe >= 0 && volume_copy_image_dir(src, probe, err, sizeof err) < 0, "the volume was emptied: a second start copies again (and fails again)");
  close(probe);
  autofree char *leftover = xasprintf("%s/a-file", deep_vol), *leftdir = xasprintf("%s/%s", deep_vol, part);
  CHECK(access(leftover, F_OK) < 0 && access(leftdir, F_OK) < 0, "nothing of the failed copy is left in the volume");
  close(dst);
  close(src);
  rm_rf(root);
  return tap_done();
}
