/* boxd: the daemon's loop (daemon.c). */
#pragma once

/* Serve until poll fails: 1 then (0 is never returned). Setup problems are logged and served
 * around where possible; 1 if boxd cannot listen on cfg.sock. */
int daemon_main(void);
