/* A command run in the container host itself, outside every container: the page's side channel
 * for lesson checks (HOST_EXEC, PROTOCOL.md). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Start argv (PATH searched) as root in the host's own namespaces, in /root, with stdin on
 * /dev/null and stdout + stderr on one pipe. On success returns 0 with the pipe's read end
 * (non-blocking, close-on-exec) in *out_fd and the child in *pid_out; the caller reaps it.
 * On failure returns -errno with a sentence in err. A command that cannot be found exits 127,
 * one that cannot be invoked 126 (Docker's codes), with the reason on its output. */
int host_exec(char **argv, int *out_fd, pid_t *pid_out, char *err, size_t errlen);
