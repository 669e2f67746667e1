/* The registry: every container boxd knows (struct container, container.h) and the images they
 * come from. It creates, finds, stops and frees containers; stops keep their deadline, their
 * remove-on-exit and the replies waiting for the exit in the container itself. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"
#include "link.h"
#include "oci.h"
#include "options.h"

#define MAX_CONTAINERS 256

/* Read the OCI layout at dir (cfg.oci): 0, or < 0 with err set (the list stays as read). */
int registry_load_images(const char *dir, char *err, size_t errlen);
const struct image_list *registry_images(void);

/* Every container in turn: `for (int at = 0; (c = container_next(&at));)`. */
struct container *container_next(int *cursor);
/* By name, else by a prefix (3 characters at least) of its id, as docker does; NULL if none. */
struct container *container_find(const char *name_or_id);
struct container *container_running_pid(pid_t pid); /* the running container whose PID 1 this is */
struct container *container_starting_pid(pid_t pid); /* the container being started in this child */
/* Reread the OCI layout when `box build`/`box load` changed it (store_refresh): every container's
 * image pointer stays valid. */
void registry_refresh_images(void);
/* The smallest id no container holds: it names the veth and picks the address, so ids come
 * back after `rm` and stay inside 10.88/16. */
int container_free_id(void);

/* A record for `o` (taken over: *o is zeroed), registered but not started (STATE_CREATED), with
 * the given id. NULL with err set (Docker's exit code 125: no such image, name in use, full). */
struct container *container_create(struct run_opts *o, uint64_t received, int id, char *err, size_t errlen);
/* Unregister and free the record only (what a start made is the caller's, or already gone). */
void container_free(struct container *c);
/* Remove it whole: abort a start under way, its terminals go on without it, its cgroup and
 * directory go, the record is freed. */
void container_remove(struct container *c);
/* The id of a container other than `except` (in any state, as Docker counts them) whose -v uses
 * volume `name`, or NULL. */
const char *container_using_volume(const char *name, const struct container *except);

/* Stop it: SIGTERM, then SIGKILL after grace_s seconds (at once if grace_s <= 0). link/channel
 * (if link) get a RESULT with its name once it has exited; remove: it goes once it has exited. */
void container_stop(struct container *c, int grace_s, struct link *link, uint32_t channel, bool remove);
/* Its PID 1 was reaped (wait status): EXITED, its terminal finishes, waiting stop/rm requests are
 * answered, and it is removed if that was asked. */
void container_exited(struct container *c, int status);
/* Milliseconds until the next stop deadline (0 if one is past), or -1 if none. */
int stop_deadline_wait_ms(uint64_t now);
/* SIGKILL every container whose stop deadline has passed. */
void stop_deadlines_enforce(uint64_t now);
/* A link closed: nobody waits on it for an exit any more. */
void containers_forget_link(const struct link *l);
