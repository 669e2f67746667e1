/* The tar writer and reader: round trip of every entry type, long names (ustar prefix and pax),
 * the digest, and the faults a reader must catch (truncation, bad checksum, bad numbers). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tar.h"
#include "util.h"


static struct tar_entry entry(const char *path, enum tar_type type) {
  struct tar_entry e = {.type = type, .mode = 0644, .mtime = 1700000000};
  snprintf(e.path, sizeof e.path, "%s", path);
  return e;
}

int main(void) {
  struct buf out = {0};
  struct tar_writer w;
  tar_writer_init_buf(&w, &out);
  char long_split[300], long_pax[300];
  memset(long_split, 'a', 150);
  long_split[150] = '/';
  memset(long_split + 151, 'b', 90);
  long_split[241] = 0;
  memset(long_pax, 'c', 250);
  long_pax[250] = 0;
  struct tar_entry e = entry("etc", TAR_DIR);
  e.mode = 0755;
  tar_write_header(&w, &e);
  e = entry("etc/hello.txt", TAR_FILE);
  tar_write_bytes(&w, &e, "hello\n", 6);
  e = entry("etc/link", TAR_SYMLINK);
  snprintf(e.linkname, sizeof e.linkname, "hello.txt");
  tar_write_header(&w, &e);
  e = entry(long_split, TAR_FILE);
  tar_write_bytes(&w, &e, "split", 5);
  e = entry(long_pax, TAR_FILE);
  e.uid = 100000000; /* too large for the octal field: a pax record */
  tar_write_bytes(&w, &e, "pax", 3);
  e = entry("dev/null", TAR_CHAR);
  e.devmajor = 1;
  e.devminor = 3;
  tar_write_header(&w, &e);
  e = entry("www/.wh.index.html", TAR_FILE);
  e.mode = 0;
  tar_write_bytes(&w, &e, NULL, 0);
  char hex[65], want[65];
  CHECK(tar_finish(&w, hex) == 0, "writes");
  sha256_hex(out.data, out.len, want);
  CHECK(!strcmp(hex, want) && w.bytes == out.len, "the running digest is the sha256 of the bytes");
  CHECK(out.len % TAR_BLOCK == 0, "whole blocks");
  sha256_hex("abc", 3, want);
  CHECK_STR(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(\"abc\") (FIPS 180-2 vector)");

  struct tar_mem m = {out.data, out.len, 0};
  struct tar_reader r;
  tar_reader_init(&r, tar_read_mem, &m);
  char err[256] = "", data[16];
  const char *names[] = {"etc", "etc/hello.txt", "etc/link", long_split, long_pax, "dev/null", "www/.wh.index.html"};
  int n = 0, rc;
  struct tar_entry got;
  while ((rc = tar_next(&r, &got, err, sizeof err)) == 1) {
    CHECK(n < 7 && !strcmp(got.path, names[n]), "entry %d name (%.40s)", n, got.path);
    if (n == 1) {
      ssize_t k = tar_read(&r, data, sizeof data, err, sizeof err);
      CHECK(k == 6 && !memcmp(data, "hello\n", 6) && got.mode == 0644 && got.mtime == 1700000000, "file data, mode, mtime");
    }
    if (n == 2) CHECK(got.type == TAR_SYMLINK && !strcmp(got.linkname, "hello.txt"), "symlink target");
    if (n == 4) CHECK(got.size == 3, "pax-named file keeps its size");
    if (n == 5) CHECK(got.type == TAR_CHAR && got.devmajor == 1 && got.devminor == 3, "device numbers");
    n++;
  }
  CHECK(rc == 0 && n == 7, "all entries, then the end (rc %d, %d entries) %s", rc, n, err);

  /* Truncated in the middle of the data, and at a header boundary without the end blocks. */
  for (size_t cut = 700; cut <= 1024; cut += 324) {
    struct tar_mem t = {out.data, cut, 0};
    tar_reader_init(&r, tar_read_mem, &t);
    err[0] = 0;
    while ((rc = tar_next(&r, &got, err, sizeof err)) == 1) {}
    CHECK(rc < 0 && strstr(err, "truncated"), "cut at %zu: truncated (%s)", cut, err);
  }
  /* A flipped byte in a header: checksum mismatch. */
  char *bad = malloc(out.len);
  memcpy(bad, out.data, out.len);
  bad[10] ^= 1;
  struct tar_mem b = {bad, out.len, 0};
  tar_reader_init(&r, tar_read_mem, &b);
  CHECK(tar_next(&r, &got, err, sizeof err) < 0 && strstr(err, "checksum"), "bad checksum: %s", err);
  /* A size field that is not a number (checksum fixed up so only the number is wrong). */
  memcpy(bad, out.data, out.len);
  memcpy(bad + 512 + 124, "zzzzzzzzzzz", 11);
  memset(bad + 512 + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += (unsigned char)bad[512 + i];
  snprintf(bad + 512 + 148, 8, "%06o", sum);
  b.pos = 0;
  tar_reader_init(&r, tar_read_mem, &b);
  CHECK(tar_next(&r, &got, err, sizeof err) == 1 && tar_next(&r, &got, err, sizeof err) < 0 && strstr(err, "size"), "bad size field: %s", err);
  free(bad);
  buf_free(&out);
  return tap_done();
}
