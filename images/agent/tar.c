/* ustar/pax writer and reader (see tar.h). The reader trusts nothing: every number, length
 * and name is checked, since archives come from users (`box load`); it is fuzzed in fuzz/. */
#define _GNU_SOURCE
#include "tar.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char hexdigits[] = "0123456789abcdef";

void sha256_finish_hex(struct sha256_ctx *ctx, char hex[65]) {
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_digest(ctx, sizeof d, d);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
    hex[2 * i] = hexdigits[d[i] >> 4];
    hex[2 * i + 1] = hexdigits[d[i] & 15];
  }
  hex[64] = 0;
}

void sha256_hex(const void *data, size_t n, char hex[65]) {
  struct sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, n, data);
  sha256_finish_hex(&c, hex);
}

/* ------------------------------------------------------------------ writer */

void tar_writer_init(struct tar_writer *w, int fd) {
  memset(w, 0, sizeof *w);
  w->fd = fd;
  sha256_init(&w->sha);
}

void tar_writer_init_buf(struct tar_writer *w, struct buf *sink) {
  tar_writer_init(w, -1);
  w->sink = sink;
}

static int emit(struct tar_writer *w, const void *data, size_t n) {
  if (w->error) return w->error;
  if (n == 0) return 0;
  int rc = 0;
  if (w->sink) buf_append(w->sink, data, n);
  else rc = write_all(w->fd, data, n);
  if (rc < 0) return w->error = rc;
  sha256_update(&w->sha, n, data);
  w->bytes += n;
  return 0;
}

static int pad_to_block(struct tar_writer *w, uint64_t size) {
  static const char zeros[TAR_BLOCK];
  size_t rest = size % TAR_BLOCK;
  return rest ? emit(w, zeros, TAR_BLOCK - rest) : 0;
}

/* Octal into a field of `len` bytes with a NUL; false if it does not fit. */
static bool put_octal(char *field, size_t len, uint64_t v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%0*" PRIo64, (int)len - 1, v);
  if (n < 0 || (size_t)n > len - 1) return false;
  memcpy(field, tmp, len);
  return true;
}

/* A pax record "LEN key=value\n", LEN counting the whole record, its own digits included. */
static void pax_record(struct buf *b, const char *key, const char *value) {
  size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
  size_t len = body + 1;
  while (snprintf(NULL, 0, "%zu", len) + body != len) len++;
  buf_printf(b, "%zu %s=%s\n", len, key, value);
}

static void header_block(char h[TAR_BLOCK], const char *name, const char *prefix, const char *link, char type,
                         uint32_t mode, uint32_t uid, uint32_t gid, uint64_t size, int64_t mtime, uint32_t maj,
                         uint32_t min) {
  memset(h, 0, TAR_BLOCK);
  memcpy(h, name, strnlen(name, 100));
  put_octal(h + 100, 8, mode & 07777);
  if (!put_octal(h + 108, 8, uid)) put_octal(h + 108, 8, 0); /* the pax record carries it */
  if (!put_octal(h + 116, 8, gid)) put_octal(h + 116, 8, 0);
  if (!put_octal(h + 124, 12, size)) put_octal(h + 124, 12, 0);
  put_octal(h + 136, 12, mtime > 0 && mtime < 077777777777LL ? (uint64_t)mtime : 0);
  h[156] = type;
  if (link) memcpy(h + 157, link, strnlen(link, 100));
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  put_octal(h + 329, 8, maj);
  put_octal(h + 337, 8, min);
  if (prefix) memcpy(h + 345, prefix, strnlen(prefix, 155));
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < TAR_BLOCK; i++) sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

int tar_write_header(struct tar_writer *w, const struct tar_entry *e) {
  char path[TAR_MAX_PATH + 2];
  snprintf(path, sizeof path, "%s%s", e->path, e->type == TAR_DIR ? "/" : "");
  size_t len = strlen(path);
  const char *name = path, *prefix = NULL;
  char pre[156] = "";
  struct buf pax = {0};
  if (len > 100) {
    /* ustar: prefix (≤ 155) + "/" + name (≤ 100), split at a slash; else a pax path record. */
    const char *slash = NULL;
    for (const char *s = path + len - 1; s > path; s--)
      if (*s == '/' && s[1] && (size_t)(path + len - s - 1) <= 100 && (size_t)(s - path) <= 155) slash = s;
    if (slash && (size_t)(path + len - slash - 1) <= 100 && (size_t)(slash - path) <= 155 && slash[1] != '/') {
      memcpy(pre, path, slash - path);
      pre[slash - path] = 0;
      prefix = pre;
      name = slash + 1;
    } else {
      pax_record(&pax, "path", path);
    }
  }
  if (strlen(e->linkname) > 100) pax_record(&pax, "linkpath", e->linkname);
  char num[32];
  if (e->size >= 077777777777ULL) {
    snprintf(num, sizeof num, "%" PRIu64, e->size);
    pax_record(&pax, "size", num);
  }
  if (e->uid > 07777777) {
    snprintf(num, sizeof num, "%" PRIu32, e->uid);
    pax_record(&pax, "uid", num);
  }
  if (e->gid > 07777777) {
    snprintf(num, sizeof num, "%" PRIu32, e->gid);
    pax_record(&pax, "gid", num);
  }
  char h[TAR_BLOCK];
  if (pax.len) {
    header_block(h, "PaxHeader", NULL, NULL, 'x', 0644, 0, 0, pax.len, e->mtime, 0, 0);
    emit(w, h, TAR_BLOCK);
    emit(w, pax.data, pax.len);
    pad_to_block(w, pax.len);
    if (!prefix && name == path && len > 100) name = path + len - (len > 100 ? 100 : len); /* readers without pax */
  }
  buf_free(&pax);
  header_block(h, name, prefix, e->linkname, (char)e->type, e->mode, e->uid, e->gid,
               e->type == TAR_FILE ? e->size : 0, e->mtime, e->devmajor, e->devminor);
  return emit(w, h, TAR_BLOCK);
}

int tar_write_data(struct tar_writer *w, const void *data, size_t n) { return emit(w, data, n); }

int tar_end_entry(struct tar_writer *w, uint64_t size) { return pad_to_block(w, size); }

int tar_write_bytes(struct tar_writer *w, const struct tar_entry *e, const void *data, size_t n) {
  struct tar_entry copy = *e;
  copy.size = n;
  tar_write_header(w, &copy);
  emit(w, data, n);
  return tar_end_entry(w, n);
}

int tar_write_file(struct tar_writer *w, const struct tar_entry *e, int fd) {
  tar_write_header(w, e);
  char chunk[65536];
  uint64_t done = 0;
  while (done < e->size && !w->error) {
    size_t want = e->size - done < sizeof chunk ? (size_t)(e->size - done) : sizeof chunk;
    int n = read_all(fd, chunk, want);
    if (n <= 0) return w->error = n < 0 ? n : -EIO; /* the file shrank while being archived */
    emit(w, chunk, n);
    done += n;
  }
  return tar_end_entry(w, e->size);
}

int tar_finish(struct tar_writer *w, char hex[65]) {
  static const char zeros[2 * TAR_BLOCK];
  emit(w, zeros, sizeof zeros);
  sha256_finish_hex(&w->sha, hex);
  return w->error;
}

/* ------------------------------------------------------------------ reader */

void tar_reader_init(struct tar_reader *r, tar_read_fn read, void *ctx) {
  memset(r, 0, sizeof *r);
  r->read = read;
  r->ctx = ctx;
}

ssize_t tar_read_fd(void *ctx, void *buf, size_t n) {
  int rc = read_all(*(int *)ctx, buf, n);
  return rc;
}

ssize_t tar_read_mem(void *ctx, void *buf, size_t n) {
  struct tar_mem *m = ctx;
  if (n > m->len - m->pos) n = m->len - m->pos;
  memcpy(buf, (const char *)m->data + m->pos, n);
  m->pos += n;
  return (ssize_t)n;
}

/* Exactly n bytes, or an error ("truncated" when the source ends first). */
static int read_exact(struct tar_reader *r, void *buf, size_t n, char *err, size_t errlen) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = r->read(r->ctx, (char *)buf + got, n - got);
    if (k < 0) return set_err(err, errlen, (int)-k, "reading the archive at byte %" PRIu64, r->offset);
    if (k == 0) return set_err(err, errlen, 0, "archive truncated at byte %" PRIu64, r->offset);
    got += k;
    r->offset += k;
  }
  return 0;
}

static int skip(struct tar_reader *r, uint64_t n, char *err, size_t errlen) {
  char chunk[TAR_BLOCK * 8];
  while (n) {
    size_t k = n < sizeof chunk ? (size_t)n : sizeof chunk;
    int rc = read_exact(r, chunk, k, err, errlen);
    if (rc < 0) return rc;
    n -= k;
  }
  return 0;
}

/* A numeric header field: octal (spaces/NULs around it) or GNU base-256 (high bit set). */
static int get_number(const char *f, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if ((unsigned char)f[0] & 0x80) {
    if ((unsigned char)f[0] != 0x80) return -1; /* negative or huge */
    for (size_t i = 1; i < len; i++) {
      if (v >> 56) return -1;
      v = v << 8 | (unsigned char)f[i];
    }
    *out = v;
    return 0;
  }
  size_t i = 0;
  while (i < len && f[i] == ' ') i++;
  size_t digits = 0;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
    if (v >> 60) return -1;
    v = v * 8 + (uint64_t)(f[i] - '0');
  }
  for (; i < len; i++)
    if (f[i] != ' ' && f[i] != 0) return -1;
  *out = v;
  return digits || len ? 0 : -1;
}

static bool all_zero(const unsigned char *b) {
  for (int i = 0; i < TAR_BLOCK; i++)
    if (b[i]) return false;
  return true;
}

static void clean_path(char *p) {
  char *s = p;
  while (*s == '/' || (s[0] == '.' && s[1] == '/')) s += *s == '/' ? 1 : 2;
  memmove(p, s, strlen(s) + 1);
  size_t n = strlen(p);
  while (n > 0 && p[n - 1] == '/') p[--n] = 0;
}

struct overrides {
  bool path, linkpath, size;
  uint64_t size_v;
};

/* pax records of an 'x' header: path, linkpath, size; others (times, xattrs) are ignored. */
static int parse_pax(char *data, size_t n, struct tar_entry *e, struct overrides *o, char *err, size_t errlen) {
  size_t pos = 0;
  while (pos < n) {
    char *end;
    errno = 0;
    unsigned long len = strtoul(data + pos, &end, 10);
    if (errno || end == data + pos || *end != ' ' || len < 5 || len > n - pos || data[pos + len - 1] != '\n')
      return set_err(err, errlen, 0, "bad pax record at byte %zu of its header", pos);
    char *key = end + 1, *rec_end = data + pos + len - 1;
    char *eq = memchr(key, '=', rec_end - key);
    if (!eq) return set_err(err, errlen, 0, "bad pax record (no '=')");
    size_t vlen = rec_end - eq - 1;
    const char *value = eq + 1;
    size_t klen = eq - key;
    if ((klen == 4 && !memcmp(key, "path", 4)) || (klen == 8 && !memcmp(key, "linkpath", 8))) {
      if (vlen >= TAR_MAX_PATH || memchr(value, 0, vlen)) return set_err(err, errlen, 0, "pax path too long");
      char *dst = klen == 4 ? e->path : e->linkname;
      memcpy(dst, value, vlen);
      dst[vlen] = 0;
      if (klen == 4) o->path = true;
      else o->linkpath = true;
    } else if (klen == 4 && !memcmp(key, "size", 4)) {
      uint64_t v = 0;
      if (vlen == 0 || vlen > 19) return set_err(err, errlen, 0, "bad pax size");
      for (size_t i = 0; i < vlen; i++) {
        if (value[i] < '0' || value[i] > '9') return set_err(err, errlen, 0, "bad pax size");
        v = v * 10 + (uint64_t)(value[i] - '0');
      }
      o->size = true;
      o->size_v = v;
    }
    pos += len;
  }
  return 0;
}

#define TAR_MAX_META (1 << 20) /* pax / GNU long-name data we accept */

int tar_next(struct tar_reader *r, struct tar_entry *e, char *err, size_t errlen) {
  int rc = skip(r, r->left + r->pad, err, errlen);
  r->left = r->pad = 0;
  if (rc < 0) return rc;
  struct overrides o = {0};
  struct tar_entry meta = {0};
  for (int guard = 0; guard < 16; guard++) {
    unsigned char h[TAR_BLOCK];
    if ((rc = read_exact(r, h, TAR_BLOCK, err, errlen)) < 0) return rc;
    if (all_zero(h)) return 0; /* end of archive (the second zero block is not required) */
    uint64_t sum_field, size;
    if (get_number((char *)h + 148, 8, &sum_field) < 0)
      return set_err(err, errlen, 0, "bad header checksum field at byte %" PRIu64, r->offset - TAR_BLOCK);
    unsigned sum = 0;
    for (int i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? ' ' : h[i];
    if (sum != sum_field) return set_err(err, errlen, 0, "header checksum mismatch at byte %" PRIu64 " (not a tar, or damaged)", r->offset - TAR_BLOCK);
    if (get_number((char *)h + 124, 12, &size) < 0) return set_err(err, errlen, 0, "bad size field at byte %" PRIu64, r->offset - TAR_BLOCK);
    char type = h[156] ? (char)h[156] : '0';
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
      if (size > TAR_MAX_META) return set_err(err, errlen, 0, "extended header of %" PRIu64 " bytes is too large", size);
      autofree char *data = xcalloc(1, size + 1);
      if ((rc = read_exact(r, data, size, err, errlen)) < 0) return rc;
      if ((rc = skip(r, (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK, err, errlen)) < 0) return rc;
      if (type == 'x' && (rc = parse_pax(data, size, &meta, &o, err, errlen)) < 0) return rc;
      if (type == 'L' || type == 'K') {
        size_t n = strnlen(data, size);
        if (n >= TAR_MAX_PATH) return set_err(err, errlen, 0, "GNU long name too long");
        memcpy(type == 'L' ? meta.path : meta.linkname, data, n + 1);
        if (type == 'L') o.path = true;
        else o.linkpath = true;
      }
      continue;
    }
    memset(e, 0, sizeof *e);
    if (o.path) memcpy(e->path, meta.path, sizeof e->path);
    else {
      char name[101] = "", prefix[156] = "";
      memcpy(name, h, 100);
      if (!memcmp(h + 257, "ustar", 5)) memcpy(prefix, h + 345, 155);
      snprintf(e->path, sizeof e->path, "%s%s%s", prefix, *prefix ? "/" : "", name);
    }
    if (o.linkpath) memcpy(e->linkname, meta.linkname, sizeof e->linkname);
    else memcpy(e->linkname, h + 157, 100);
    clean_path(e->path);
    uint64_t v;
    e->type = type;
    if (get_number((char *)h + 100, 8, &v) < 0) return set_err(err, errlen, 0, "bad mode field of %s", e->path);
    e->mode = (uint32_t)(v & 07777);
    e->uid = get_number((char *)h + 108, 8, &v) < 0 ? 0 : (uint32_t)v;
    e->gid = get_number((char *)h + 116, 8, &v) < 0 ? 0 : (uint32_t)v;
    e->mtime = get_number((char *)h + 136, 12, &v) < 0 ? 0 : (int64_t)(v & INT64_MAX);
    e->devmajor = get_number((char *)h + 329, 8, &v) < 0 ? 0 : (uint32_t)v;
    e->devminor = get_number((char *)h + 337, 8, &v) < 0 ? 0 : (uint32_t)v;
    if (o.size) size = o.size_v;
    /* Only regular files (and unknown types, whose data is skipped) carry data. */
    bool has_data = type == '0' || type == '7' || !strchr("123456", type);
    e->size = has_data ? size : 0;
    if (type == '7') e->type = TAR_FILE;
    r->left = e->size;
    r->pad = (TAR_BLOCK - e->size % TAR_BLOCK) % TAR_BLOCK;
    return 1;
  }
  return set_err(err, errlen, 0, "too many extended headers in a row");
}

ssize_t tar_read(struct tar_reader *r, void *buf, size_t n, char *err, size_t errlen) {
  if (r->left == 0) return 0;
  if (n > r->left) n = (size_t)r->left;
  int rc = read_exact(r, buf, n, err, errlen);
  if (rc < 0) return rc;
  r->left -= n;
  return (ssize_t)n;
}
