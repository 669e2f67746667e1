/* POSIX ustar archives (pax 'x' headers for long names), written and read as a stream: the
 * layer tars of `box build` and the OCI archives of `box save` / `box load`.
 * Format: POSIX.1-2001 pax interchange format (IEEE Std 1003.1, "pax"), ustar header blocks of
 * 512 bytes, data padded to 512, two zero blocks at the end. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nettle/sha2.h>

#define TAR_BLOCK 512
#define TAR_MAX_PATH 4096

/* ustar type flags */
enum tar_type { TAR_FILE = '0', TAR_HARDLINK = '1', TAR_SYMLINK = '2', TAR_CHAR = '3', TAR_BLOCKDEV = '4', TAR_DIR = '5', TAR_FIFO = '6' };

struct tar_entry {
  char path[TAR_MAX_PATH];      /* no leading "/" or "./"; directories without trailing "/" */
  char linkname[TAR_MAX_PATH];  /* symlink target or hardlink source */
  enum tar_type type;
  uint32_t mode;                /* permission bits (07777) */
  uint32_t uid, gid;
  uint64_t size;                /* data bytes (regular files only) */
  int64_t mtime;                /* seconds since the epoch */
  uint32_t devmajor, devminor;
};

/* A tar being written to fd, hashed as it goes (the layer digest is the sha256 of these bytes). */
struct tar_writer {
  int fd;
  struct buf *sink;             /* instead of fd when set (tar_writer_init_buf) */
  uint64_t bytes;               /* written so far */
  struct sha256_ctx sha;
  int error;                    /* first -errno, sticky */
};

void tar_writer_init(struct tar_writer *w, int fd);
struct buf;
void tar_writer_init_buf(struct tar_writer *w, struct buf *sink); /* the tar into memory */
/* Header (pax 'x' record first when a name does not fit ustar); then size bytes with tar_write_data. */
int tar_write_header(struct tar_writer *w, const struct tar_entry *e);
int tar_write_data(struct tar_writer *w, const void *data, size_t n);
/* Pad the current entry's data to a block; call after its last tar_write_data. */
int tar_end_entry(struct tar_writer *w, uint64_t size);
/* An entry with its whole content from memory (or from a file: tar_write_file). */
int tar_write_bytes(struct tar_writer *w, const struct tar_entry *e, const void *data, size_t n);
int tar_write_file(struct tar_writer *w, const struct tar_entry *e, int fd);
/* Two zero blocks. Then hex (64 + NUL) is the sha256 of everything written. 0 or -errno. */
int tar_finish(struct tar_writer *w, char hex[65]);

/* Reading: entries in order from a byte source. */
typedef ssize_t (*tar_read_fn)(void *ctx, void *buf, size_t n); /* bytes (0 = end) or -errno */
struct tar_reader {
  tar_read_fn read;
  void *ctx;
  uint64_t left;                /* data bytes of the current entry not yet read */
  uint64_t pad;                 /* padding after them */
  uint64_t offset;              /* bytes consumed from the source */
};
void tar_reader_init(struct tar_reader *r, tar_read_fn read, void *ctx);
/* Next entry (skipping what is left of the current one): 1, 0 at the end of the archive,
 * < 0 with err set ("truncated", bad checksum, bad number, name too long). */
int tar_next(struct tar_reader *r, struct tar_entry *e, char *err, size_t errlen);
/* Up to n bytes of the current entry's data: bytes, 0 at its end, < 0 (truncated) with err set. */
ssize_t tar_read(struct tar_reader *r, void *buf, size_t n, char *err, size_t errlen);

ssize_t tar_read_fd(void *ctx, void *buf, size_t n); /* ctx: int * (a file descriptor) */
struct tar_mem {
  const void *data;
  size_t len, pos;
};
ssize_t tar_read_mem(void *ctx, void *buf, size_t n); /* ctx: struct tar_mem * (bytes in memory) */

/* "sha256:<hex>" helpers around nettle (Debian's libnettle, linked statically). */
void sha256_hex(const void *data, size_t n, char hex[65]);
void sha256_finish_hex(struct sha256_ctx *ctx, char hex[65]);
