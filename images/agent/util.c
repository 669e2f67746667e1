#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int die_fd = -1;

void cleanup_freep(void *p) { free(*(void **)p); }

void cleanup_closep(int *fd) {
  if (*fd >= 0) close(*fd);
}

static void vreport_kind(char kind, const char *fmt, va_list ap, int err) {
  char msg[1024];
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  if (err) n += snprintf(msg + n, sizeof msg - n, ": %s", strerror(err));
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  if (die_fd >= 0) {
    (void)!write(die_fd, &kind, 1);
    (void)!write(die_fd, msg, n);
  }
  msg[n++] = '\n';
  (void)!write(2, "box: ", 5);
  (void)!write(2, msg, n);
}

static void vreport(const char *fmt, va_list ap, int err) { vreport_kind('E', fmt, ap, err); }

void die_exec(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport_kind(code == 126 ? 'N' : 'X', fmt, ap, 0);
  va_end(ap);
  _exit(code);
}

void reset_signals(void) {
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL); /* EINVAL for the few libc keeps: fine */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

void die_with_error(const char *fmt, ...) {
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  vreport(fmt, ap, err);
  va_end(ap);
  _exit(127);
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(fmt, ap, 0);
  va_end(ap);
  _exit(127);
}

void log_msg(const char *fmt, ...) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  fprintf(stderr, "[%5ld.%03ld] ", (long)ts.tv_sec, ts.tv_nsec / 1000000);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int set_err(char *err, size_t errlen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  if (code > 0 && n >= 0 && (size_t)n < errlen) snprintf(err + n, errlen - n, ": %s", strerror(code));
  return code > 0 ? -code : -EINVAL;
}

char *xstrdup(const char *s) {
  char *r = strdup(s ? s : "");
  if (!r) abort();
  return r;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) abort();
  return p;
}

char *xasprintf(const char *fmt, ...) {
  char *s;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) abort();
  va_end(ap);
  return s;
}

int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    p += n;
    len -= n;
  }
  return 0;
}

int read_all(int fd, void *data, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)data + got, len - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    got += n;
  }
  return (int)got;
}

int write_file(const char *path, const char *text) {
  autoclose int fd = open(path, O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -errno;
  return write_all(fd, text, strlen(text));
}

char *read_file(const char *path, size_t *len) {
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct buf b = {0};
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      buf_free(&b);
      errno = e;
      return NULL;
    }
    if (n == 0) break;
    buf_append(&b, chunk, n);
  }
  buf_append(&b, "", 1);
  if (len) *len = b.len - 1;
  return b.data;
}

int mkdir_p(const char *path, mode_t mode) {
  char tmp[4096];
  if (strlen(path) >= sizeof tmp) return -ENAMETOOLONG;
  strcpy(tmp, path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -errno;
    *p = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -errno;
  return 0;
}

static int rm_entries(int fd);

static int rm_rf_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode)) return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
  int rc = rm_entries(openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && rc == 0) rc = -errno;
  return rc;
}

/* Remove every entry of the directory fd (which it closes; -1: -errno as open left it). */
static int rm_entries(int fd) {
  if (fd < 0) return -errno;
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    return -e;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    int r = rm_rf_at(fd, e->d_name);
    if (r < 0) rc = r;
  }
  closedir(d);
  return rc;
}

int rm_rf(const char *path) { return rm_rf_at(AT_FDCWD, path); }

int rm_rf_contents(int dirfd) { return rm_entries(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }

void buf_append(struct buf *b, const void *data, size_t len) {
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + len + 1) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) abort();
    b->data = p;
    b->cap = cap;
  }
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = 0;
}

void buf_printf(struct buf *b, const char *fmt, ...) {
  char *s;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) abort();
  buf_append(b, s, n);
  free(s);
}

void buf_json_string(struct buf *b, const char *s) {
  buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') {
      char esc[2] = {'\\', (char)*p};
      buf_append(b, esc, 2);
    } else if (*p < 0x20) {
      buf_printf(b, "\\u%04x", *p);
    } else {
      buf_append(b, p, 1);
    }
  }
  buf_append(b, "\"", 1);
}

void buf_consume(struct buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if (b->data) b->data[b->len] = 0;
}

void buf_free(struct buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int64_t parse_size(const char *s) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v < 0) return -1;
  double mul = 1;
  switch (*end) {
  case 0: break;
  case 'b': case 'B': end++; break;
  case 'k': case 'K': mul = 1024.0; end++; break;
  case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
  case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
  default: return -1;
  }
  if (*end == 'b' || *end == 'B') end++;
  if (*end) return -1;
  double r = v * mul;
  if (r > 9.0e18) return -1;
  return (int64_t)r;
}

void human_size(char *out, size_t len, double bytes, int precision) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t i = 0;
  while (bytes >= 1000 && i < N_ELEMENTS(units) - 1) bytes /= 1000, i++;
  snprintf(out, len, "%.*g%s", precision, bytes, units[i]);
}
