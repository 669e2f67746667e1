/* Small helpers shared by every part of box: error exits for children, logging,
 * files, growable buffers, cleanup attributes. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED __attribute__((unused))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

void cleanup_freep(void *p);
void cleanup_closep(int *fd);
#define autofree __attribute__((cleanup(cleanup_freep)))
#define autoclose __attribute__((cleanup(cleanup_closep)))

/* In a child before exec: report and _exit(127). die_with_error appends strerror(errno).
 * If die_fd >= 0 the message also goes there (boxd reads it back as the start error). */
extern int die_fd;
void die_with_error(const char *fmt, ...) PRINTF(1, 2) __attribute__((noreturn));
void die(const char *fmt, ...) PRINTF(1, 2) __attribute__((noreturn));
/* The command itself could not be run: report Docker's exit code for it (126 cannot be
 * invoked, 127 not found) with the message, as an 'X' record on die_fd, and _exit(code). */
void die_exec(int code, const char *fmt, ...) PRINTF(2, 3) __attribute__((noreturn));
/* Every signal back to its default disposition and an empty mask: what a container's
 * processes start with, whatever boxd inherited (init's `&` ignores SIGINT and SIGQUIT)
 * or set up for itself (SIGCHLD blocked for its signalfd, SIGPIPE ignored). */
void reset_signals(void);
void log_msg(const char *fmt, ...) PRINTF(1, 2);

uint64_t now_ns(void); /* CLOCK_MONOTONIC */

/* Error text for the daemon loop: functions take (char *err, size_t errlen) and return -errno. */
int set_err(char *err, size_t errlen, int code, const char *fmt, ...) PRINTF(4, 5);

char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);

/* go-units' HumanSizeWithPrecision, how Docker prints sizes: powers of 1000, `precision`
 * significant digits, no space (HumanSize is 4: "0B", "36B", "1.234kB"; docker history uses 3). */
void human_size(char *out, size_t len, double bytes, int precision);
int write_file(const char *path, const char *text);           /* 0 or -errno */
char *read_file(const char *path, size_t *len);                /* NUL-terminated, NULL + errno */
int write_all(int fd, const void *data, size_t len);           /* 0 or -errno (EINTR/EAGAIN retried) */
int read_all(int fd, void *data, size_t len);                  /* bytes read (< len on EOF) or -errno */
int mkdir_p(const char *path, mode_t mode);                    /* 0 or -errno */
int rm_rf(const char *path);                                   /* 0 or -errno */
/* Empty the directory dirfd (an O_PATH descriptor is fine), keeping it: 0 or the last -errno. */
int rm_rf_contents(int dirfd);

struct buf {
  char *data;
  size_t len, cap;
};
void buf_append(struct buf *b, const void *data, size_t len);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
void buf_json_string(struct buf *b, const char *s); /* "..." with JSON escapes */
void buf_consume(struct buf *b, size_t n);          /* drop n bytes from the front */
void buf_free(struct buf *b);

/* Parse "64m", "1g", "1048576" into bytes; -1 if malformed. */
int64_t parse_size(const char *s);
