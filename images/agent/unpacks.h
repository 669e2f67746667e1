/* Layer unpacks off boxd's loop. Unpacking a layer costs up to hundreds of millions of guest
 * instructions (lua's: ~250 M), so it never runs in the loop: each unpack is a child process in
 * its own process group (oci.c's layer_ensure: tar into <layer>.tmp, whiteouts, renamed into place
 * once complete), reaped by the loop. Idle unpacks run at nice 19 so any start or terminal has
 * the CPU first; one a start waits for is reniced to 0. unpacks.c owns the table. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci.h"

/* A start needs layer `hex` (64 hex digits), requested at `since` (monotonic ns): 1 when it is
 * unpacked, 0 while a child unpacks it (begun now if none did, reniced to 0 if idle's), < 0 with
 * err set when an unpack that ended after `since` failed, or no child could be made. A layer
 * whose earlier unpack failed is tried again for a request that came after that failure. */
int unpack_layer(const char *hex, uint64_t since, char *err, size_t errlen);

/* Idle work: begin a nice'd unpack of the next layer of `images` that is not there yet (never one
 * that failed before: that waits for a start to ask). At most one idle unpack at a time. Returns
 * whether idle unpacking has more to do (false once every layer is there, under way or failed). */
bool unpack_idle_next(const struct image_list *images);

/* pid was reaped (wait status): true if it was an unpack child; its result is recorded and
 * logged, and what is left of a failed one (its tar) is killed. */
bool unpack_reaped(pid_t pid, int status);

/* The child unpacking layer hex, 0 if none runs. */
pid_t unpack_pid(const char *hex);

/* Unpack children under way. */
int unpacks_running(void);
