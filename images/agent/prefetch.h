/* Reading an image's files into the page cache while boxd is idle, so the first start of the image
 * the next start is prepared for reads nothing from the store's disk on its critical path. A
 * pre-pulled layer sits on the host's ATA disk: without this, the first start of busybox read its
 * 2 MB binary there (about 5 M guest instructions, against 1 M for a whole warm start). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci.h"

/* What one walk asked the kernel to read. */
struct prefetch_stats {
  int layers; /* layers walked (each layer once per boxd: later calls skip it) */
  int files;  /* regular files given to readahead(2) */
  uint64_t bytes;
};

/* Walk every layer of `im` not walked before, under <state>/layers (lstat, never following a link
 * below the layer's own directory) and give each regular file, whole, to readahead(2): the kernel
 * starts reading it into the page cache. The walk also fills the dentry and inode caches. Blocks
 * while the kernel maps the files' blocks: boxd runs it in a child (prefetch_start).
 * Best effort: a layer that is missing (not unpacked yet) or unreadable is skipped. */
struct prefetch_stats prefetch_walk(const struct image *im);

/* prefetch_walk in a child at nice 19 (boxd's idle priority), so boxd keeps serving; the child
 * logs what it read. The layers count as walked from now on. Returns the child's pid, 0 when there
 * is nothing to walk or one is still running, < 0 (-errno) if fork failed. */
pid_t prefetch_start(const struct image *im);

/* True if `pid` was the prefetch child (reaped by boxd's SIGCHLD loop); then it is forgotten. */
bool prefetch_reaped(pid_t pid, int status);

/* Forget which layers were walked (tests; and a layer removed and unpacked again). */
void prefetch_forget(void);
