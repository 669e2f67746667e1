/* HOST_EXEC: a command in the container host, for checks that must not touch the student's
 * console. Plain fork + exec with a pipe: no namespaces to join, no pty to own. */
#define _GNU_SOURCE
#include "host_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int host_exec(char **argv, int *out_fd, pid_t *pid_out, char *err, size_t errlen) {
  int p[2];
  if (!argv || !argv[0]) {
    snprintf(err, errlen, "host exec needs a command");
    return -EINVAL;
  }
  if (pipe2(p, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -errno;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    snprintf(err, errlen, "fork: %s", strerror(e));
    return -e;
  }
  if (pid == 0) {
    reset_signals(); /* boxd blocks SIGCHLD & co. for its signalfd; the command must not inherit that */
    setsid();
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0) _exit(126);
    if (chdir("/root") < 0 && chdir("/") < 0) _exit(126);
    setenv("HOME", "/root", 1);
    setenv("PATH", "/sbin:/bin:/usr/sbin:/usr/bin", 1);
    execvp(argv[0], argv);
    int e = errno;
    dprintf(2, "%s: %s\n", argv[0], strerror(e));
    _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
  }
  close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  *out_fd = p[0];
  *pid_out = pid;
  return 0;
}
