/* A container's terminal: the child opens a pty in the container's own devpts (so `tty`
 * names it) and hands the master to boxd over the report socket with SCM_RIGHTS. */
#pragma once
#include <stdbool.h>

/* In the child, inside its root: open the pty, make it the controlling terminal and
 * stdio, optionally bind it onto /dev/console, send the master as a 'P' record. Dies on failure. */
void pty_open_in_child(bool tty, bool console, int report_fd);

/* One report record kind byte, with a descriptor if one came along (else *fd = -1).
 * Returns 1, 0 at EOF, or -errno. */
int recv_record_kind(int sock, char *kind, int *fd);
/* Send one record: the byte kind with fd attached (SCM_RIGHTS). 0 or -errno. */
int send_record_fd(int sock, char kind, int fd);
