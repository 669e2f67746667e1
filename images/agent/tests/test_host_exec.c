/* HOST_EXEC's runner: output and exit code of a command in the host, on one pipe, stdin empty. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host_exec.h"
#include "tap.h"

/* Everything the command wrote (until EOF) and its wait status. */
static int run(char **argv, char *out, size_t n, int *status) {
  int fd;
  pid_t pid;
  char err[256];
  int rc = host_exec(argv, &fd, &pid, err, sizeof err);
  if (rc < 0) return rc;
  size_t len = 0;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 5000);
    ssize_t r = read(fd, out + len, n - 1 - len);
    if (r < 0 && errno == EAGAIN) continue;
    if (r <= 0) break;
    len += r;
  }
  out[len] = 0;
  close(fd);
  waitpid(pid, status, 0);
  return 0;
}

int main(void) {
  char out[256];
  int st;
  char *script[] = {"sh", "-c", "echo out; echo err >&2; read x || echo no-input; exit 3", NULL};
  CHECK(run(script, out, sizeof out, &st) == 0, "a shell script starts");
  CHECK_STR(out, "out\nerr\nno-input\n", "stdout and stderr on one pipe, stdin empty");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "its exit code comes back");
  char *missing[] = {"no-such-command-here", NULL};
  CHECK(run(missing, out, sizeof out, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 127, "a command that is not found exits 127");
  CHECK(strstr(out, "no-such-command-here") != NULL, "and says which");
  char *none[] = {NULL};
  char err[256];
  int fd;
  pid_t pid;
  CHECK(host_exec(none, &fd, &pid, err, sizeof err) == -EINVAL, "an empty argv is refused");
  return tap_done();
}
