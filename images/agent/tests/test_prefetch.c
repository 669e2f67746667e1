/* Reading an image's layers ahead (prefetch.c) over a temp state directory: every regular file,
 * whole, is given to readahead(2) (counted with its bytes); links, empty files and fifos are not;
 * a layer reached through a link (as pre-pulled layers are) is walked; a walked layer is not walked
 * again; one not unpacked yet is left for later; the child version is reaped by its pid. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "oci.h"
#include "prefetch.h"
#include "tap.h"
#include "util.h"

#define HEX(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

int main(void) {
  char tmpl[] = "/tmp/box-test-prefetch-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL, "temp dir");
  cfg.state = dir;
  /* Layer a: a real directory. Layer b: a link to a directory elsewhere (the store's disk). */
  autofree char *a = xasprintf("%s/layers/" HEX("a"), dir), *store = xasprintf("%s/store/" HEX("b"), dir);
  autofree char *b = xasprintf("%s/layers/" HEX("b"), dir);
  CHECK(mkdir_p(a, 0755) == 0 && mkdir_p(store, 0755) == 0 && symlink(store, b) == 0, "two layers, one behind a link");
  autofree char *bin = xasprintf("%s/bin", a), *big = xasprintf("%s/bin/busybox", a), *lnk = xasprintf("%s/bin/sh", a);
  autofree char *empty = xasprintf("%s/empty", a), *fifo = xasprintf("%s/fifo", a), *etc = xasprintf("%s/passwd", store);
  CHECK(mkdir(bin, 0755) == 0 && symlink("busybox", lnk) == 0 && write_file(empty, "") == 0 && mkfifo(fifo, 0644) == 0 &&
            write_file(etc, "root:x:0:0::/root:/bin/sh\n") == 0,
        "a link, an empty file, a fifo, a file in the linked layer");
  /* 300 KiB: more than one readahead window (the walk gives it in 128 KiB chunks). */
  autofree char *bytes = xcalloc(300 * 1024 + 1, 1);
  for (int i = 0; i < 300 * 1024; i++) bytes[i] = 'x';
  CHECK(write_file(big, bytes) == 0, "a 300 KiB file");

  char *layers[] = {HEX("a"), HEX("b"), HEX("c")}; /* c: not unpacked yet */
  struct image im = {.name = "img", .nlayers = 3};
  for (int i = 0; i < 3; i++) im.layers[i] = layers[i];

  struct prefetch_stats s = prefetch_walk(&im);
  CHECK(s.layers == 2, "both unpacked layers walked, the missing one not (%d)", s.layers);
  CHECK(s.files == 2, "two regular files read ahead: no link, empty file or fifo (%d)", s.files);
  CHECK(s.bytes == 300 * 1024 + 26, "every byte of both, the big one past its first window (%llu)", (unsigned long long)s.bytes);
  s = prefetch_walk(&im);
  CHECK(s.layers == 0 && s.files == 0, "a second walk reads nothing: each layer is walked once");

  autofree char *c = xasprintf("%s/layers/" HEX("c"), dir), *cfile = xasprintf("%s/layers/" HEX("c") "/f", dir);
  CHECK(mkdir_p(c, 0755) == 0 && write_file(cfile, "late\n") == 0, "layer c unpacked later");
  pid_t pid = prefetch_start(&im);
  CHECK(pid > 0, "the child walks what is left (layer c)");
  CHECK(prefetch_start(&im) == 0, "no second child while one runs, and nothing left to walk");
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exits 0");
  CHECK(!prefetch_reaped(pid + 1, status) && prefetch_reaped(pid, status), "boxd's reaper knows the child by its pid");
  CHECK(prefetch_start(&im) == 0, "everything walked: no child");
  prefetch_forget();
  s = prefetch_walk(&im);
  CHECK(s.layers == 3 && s.files == 3, "forgotten: all three walked again (%d layers, %d files)", s.layers, s.files);

  /* A child that is killed (status as waitpid gives it for SIGKILL) leaves its layers to walk again. */
  prefetch_forget();
  pid = prefetch_start(&im);
  CHECK(pid > 0, "a child for all three layers");
  CHECK(waitpid(pid, &status, 0) == pid, "reaped");
  CHECK(prefetch_reaped(pid, SIGKILL), "reported as killed");
  s = prefetch_walk(&im);
  CHECK(s.layers == 3, "a killed child's layers are walked again (%d)", s.layers);

  rm_rf(dir);
  return tap_done();
}
