#define _GNU_SOURCE
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

int send_record_fd(int sock, char kind, int fd) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = &kind, .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return -errno;
  return 0;
}

int recv_record_kind(int sock, char *kind, int *fd) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = kind, .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  *fd = -1;
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) return -errno;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof(int));
  return n > 0 ? 1 : 0;
}

void pty_make_raw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) == 0) {
    t.c_oflag &= ~OPOST;
    t.c_lflag &= ~(ECHO | ICANON);
    tcsetattr(fd, TCSANOW, &t);
  }
}

int pty_open_in_child(bool tty, bool console) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  char name[64];
  if (master < 0) die_with_error("opening /dev/ptmx");
  if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0) die_with_error("pty");
  int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) die_with_error("opening %s", name);
  struct winsize ws = {.ws_row = 24, .ws_col = 80};
  ioctl(slave, TIOCSWINSZ, &ws);
  if (!tty) pty_make_raw(slave);
  if (setsid() < 0) die_with_error("setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die_with_error("TIOCSCTTY");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) die_with_error("dup2");
  if (slave > 2) close(slave);
  if (console && mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0) die_with_error("binding %s onto /dev/console", name);
  return master;
}

void pty_send_master(int report_fd, int master) {
  if (send_record_fd(report_fd, 'P', master) < 0) die_with_error("sending the pty to boxd");
  close(master);
}
