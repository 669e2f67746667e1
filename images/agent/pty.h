/* A container's terminal: the child opens a pty in the container's own devpts (so `tty`
 * names it) and hands the master to boxd over the report socket with SCM_RIGHTS. */
#pragma once
#include <stdbool.h>

/* In the child, with the container's devpts at /dev/pts: open the pty, make it the controlling
 * terminal and stdio (raw unless tty), optionally bind it onto /dev/console. Returns the master.
 * Dies on failure. */
int pty_open_in_child(bool tty, bool console);
/* Without -t the bytes pass unchanged, as through docker's pipes: no output processing, echo or
 * line editing on this terminal. */
void pty_make_raw(int fd);
/* Hand the master to boxd as a 'P' record (SCM_RIGHTS), and close it here. Dies on failure. */
void pty_send_master(int report_fd, int master);

/* One report record kind byte, with a descriptor if one came along (else *fd = -1).
 * Returns 1, 0 at EOF, or -errno. */
int recv_record_kind(int sock, char *kind, int *fd);
/* Send one record: the byte kind with fd attached (SCM_RIGHTS). 0 or -errno. */
int send_record_fd(int sock, char kind, int fd);
