/* AFL++ harness for tar.c's reader (what `box load` runs on a user's archive): read every entry and
 * its data; every entry of a known type is written again with tar.c's writer, and reading that copy
 * must give the same entries. A read past the input, a data count that disagrees with the header,
 * or a round trip that changes an entry aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tar.h"
#include "util.h"


#define MAX_ENTRIES 64

struct seen {
  struct tar_entry e[MAX_ENTRIES];
  int n;
};

/* Read an archive; with copy, write each known entry (and its data) into it. 0 ok, -1 refused. */
static int read_all_entries(const uint8_t *data, size_t len, struct seen *seen, struct tar_writer *copy) {
  struct tar_mem m = {data, len, 0};
  struct tar_reader r;
  tar_reader_init(&r, tar_read_mem, &m);
  char err[256];
  struct tar_entry e;
  int rc;
  static char chunk[4096];
  seen->n = 0;
  while ((rc = tar_next(&r, &e, err, sizeof err)) == 1) {
    if (memchr(e.path, 0, sizeof e.path) == NULL || memchr(e.linkname, 0, sizeof e.linkname) == NULL) abort();
    if (e.size > len) abort(); /* data the input cannot hold was announced and not caught */
    bool known = strchr("0123456", (int)e.type) != NULL;
    if (copy && known && seen->n < MAX_ENTRIES) tar_write_header(copy, &e);
    uint64_t got = 0;
    ssize_t k;
    while ((k = tar_read(&r, chunk, sizeof chunk, err, sizeof err)) > 0) {
      if (copy && known && seen->n < MAX_ENTRIES && e.type == TAR_FILE) tar_write_data(copy, chunk, k);
      got += k;
    }
    if (k < 0) return -1;
    if (got != e.size) abort();
    if (known && seen->n < MAX_ENTRIES) {
      if (copy && e.type == TAR_FILE) tar_end_entry(copy, e.size);
      seen->e[seen->n++] = e;
    }
    if (m.pos > len) abort();
  }
  if (rc < 0 && !err[0]) abort();
  return rc < 0 ? -1 : 0;
}

static void fuzz_setup(void) {}

static void run_one(const uint8_t *data, size_t len) {
  static struct seen first, second;
  struct buf out = {0};
  struct tar_writer w;
  tar_writer_init_buf(&w, &out);
  if (read_all_entries(data, len, &first, &w) < 0) {
    buf_free(&out);
    return;
  }
  char hex[65];
  if (tar_finish(&w, hex) < 0) abort();
  if (read_all_entries((const uint8_t *)out.data, out.len, &second, NULL) < 0 || second.n != first.n) abort();
  for (int i = 0; i < first.n; i++) {
    const struct tar_entry *a = &first.e[i], *b = &second.e[i];
    if (strcmp(a->path, b->path) || a->type != b->type || a->size != b->size || a->mode != b->mode) abort();
    if ((a->type == TAR_SYMLINK || a->type == TAR_HARDLINK) && strcmp(a->linkname, b->linkname)) abort();
  }
  buf_free(&out);
}

#include "fuzz_main.h"
