#define _GNU_SOURCE
#include "prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MAX_WALKED 64
#define IDLE_NICE 19
/* One readahead(2) reads at most the device's readahead window (force_page_cache_ra caps it), so a
 * file is given in chunks of the kernel's default window (VM_READAHEAD_PAGES, 128 KiB). */
#define PREFETCH_CHUNK (128 * 1024)

/* Layers walked already (hex digests): their files stay cached, or are read again on demand. */
static char walked[MAX_WALKED][65];
static int nwalked;
static pid_t child;

static struct prefetch_stats *current;

static bool was_walked(const char *hex) {
  for (int i = 0; i < nwalked; i++)
    if (!strcmp(walked[i], hex)) return true;
  return false;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode) || !st->st_size) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
  if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* O_NOATIME: owner or CAP_FOWNER only */
  if (fd < 0) return 0;
  /* readahead(2), not posix_fadvise: the host kernel has no CONFIG_ADVISE_SYSCALLS (EINVAL). */
  off_t at = 0;
  while (at < st->st_size && readahead(fd, at, PREFETCH_CHUNK) == 0) at += PREFETCH_CHUNK;
  if (at) {
    current->files++;
    current->bytes += (uint64_t)(at < st->st_size ? at : st->st_size);
  }
  close(fd);
  return 0;
}

/* The layers of `im` still to walk (their indexes in `todo`), marked walked; how many. A layer the
 * table has no room for is walked all the same (and again at the next call). */
static int take_unwalked(const struct image *im, int todo[OCI_MAX_LAYERS]) {
  int n = 0;
  for (int i = 0; im && i < im->nlayers; i++) {
    const char *hex = im->layers[i];
    if (was_walked(hex) || strlen(hex) >= sizeof walked[0]) continue;
    autofree char *dir = layer_dir(hex);
    if (access(dir, F_OK) < 0) continue; /* not unpacked yet: its unpack writes it, cached */
    todo[n++] = i;
    if (nwalked < MAX_WALKED) snprintf(walked[nwalked++], sizeof walked[0], "%s", hex);
  }
  return n;
}

/* Unmark a layer a child was given (it failed or was killed: it is walked again later). */
static void unmark(const char *hex) {
  for (int j = 0; j < nwalked; j++)
    if (!strcmp(walked[j], hex)) {
      memmove(walked[j], walked[j + 1], (size_t)(nwalked - j - 1) * sizeof walked[0]);
      nwalked--;
      return;
    }
}

static struct prefetch_stats walk_layers(const struct image *im, const int *todo, int n) {
  struct prefetch_stats stats = {0};
  current = &stats;
  for (int i = 0; i < n; i++) {
    autofree char *layer = layer_dir(im->layers[todo[i]]);
    /* A layer's directory may be a link (into another disk): resolved first, since nftw with
     * FTW_PHYS reports a link given as its root as a link, trailing "/" or not (glibc drops it). */
    autofree char *dir = realpath(layer, NULL);
    if (dir && nftw(dir, visit, 16, FTW_PHYS) == 0) stats.layers++;
  }
  current = NULL;
  return stats;
}

struct prefetch_stats prefetch_walk(const struct image *im) {
  int todo[OCI_MAX_LAYERS];
  int n = take_unwalked(im, todo);
  return walk_layers(im, todo, n);
}

/* The running child's layers (hex digests), unmarked if it does not end well. */
static char child_layers[OCI_MAX_LAYERS][65];
static int nchild_layers;

pid_t prefetch_start(const struct image *im) {
  if (child > 0) return 0; /* the next prepare walks what this one would have */
  int todo[OCI_MAX_LAYERS];
  int n = take_unwalked(im, todo);
  if (!n) return 0;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int i = 0; i < n; i++) unmark(im->layers[todo[i]]);
    return -e;
  }
  if (pid == 0) {
    /* Nothing of boxd's but stderr (the log): no mux, socket or terminal kept open by this child. */
    close_range(3, ~0U, 0);
    close(0);
    close(1);
    reset_signals();
    setpriority(PRIO_PROCESS, 0, IDLE_NICE);
    uint64_t t0 = now_ns();
    struct prefetch_stats s = walk_layers(im, todo, n);
    log_msg("prefetched %s: %d of %d layers, %d files, %llu bytes (%.1f ms)", im->name, s.layers, n, s.files,
            (unsigned long long)s.bytes, (now_ns() - t0) / 1e6);
    _exit(0);
  }
  child = pid;
  nchild_layers = n;
  for (int i = 0; i < n; i++) snprintf(child_layers[i], sizeof child_layers[i], "%s", im->layers[todo[i]]);
  return pid;
}

bool prefetch_reaped(pid_t pid, int status) {
  if (pid <= 0 || pid != child) return false;
  child = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    /* Killed or failed: its layers are walked again at the next prepare. */
    for (int i = 0; i < nchild_layers; i++) unmark(child_layers[i]);
  }
  nchild_layers = 0;
  return true;
}

void prefetch_forget(void) { nwalked = 0; }
