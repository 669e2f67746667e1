/* Volumes and bind mounts (`box run -v`, `box volume`): Docker's `-v` syntax and words, named
 * volumes kept under boxd's state as Docker keeps them (<state>/volumes/NAME/_data), and the
 * host side of mounting them into a container.
 *
 * How a mount reaches a container: its namespaces may have been made before the container was
 * known (starts.c), and by then every host mount is detached there (mounts_prepare), so a host
 * path can no longer be bound by name. boxd clones the source with open_tree(OPEN_TREE_CLONE |
 * AT_RECURSIVE) in its own namespace (read-only with mount_setattr for `:ro`), passes the
 * detached tree's descriptor to the container's child over its report socket (SCM_RIGHTS), and
 * the child attaches it under its new root with move_mount (Linux 5.2+ for both; mount_setattr
 * 5.12+). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum mount_type { MOUNT_VOLUME, MOUNT_BIND };

/* -v per container: what one start request carries (container.c's spec). */
#define MAX_MOUNTS 64

/* One `-v`. source: the volume name (NULL for an anonymous volume until boxd names it) or the
 * absolute host path (cleaned); target: the absolute container path (cleaned). */
struct mount_spec {
  enum mount_type type;
  char *source, *target;
  bool read_only;
  bool anonymous; /* named by boxd at the start: Docker's --rm removes it with the container */
};

/* Parse one `-v` value as Docker's linux parser does (moby volume/mounts/linux_parser.go):
 * [SOURCE:]TARGET[:MODE]. 0, or -EINVAL with Docker's words in err (after "Error response from
 * daemon: ", as `docker run` prints them):
 *   invalid volume specification: 'RAW'                      (too many ':', an empty source, TARGET:MODE)
 *   invalid mode: MODE                                       (not rw/ro, z/Z, nocopy, a propagation)
 *   invalid volume specification: 'RAW': invalid mount config for type "T": invalid mount path: 'P' mount path must be absolute
 *   invalid volume specification: 'RAW': invalid mount config for type "T": invalid specification: destination can't be '/'
 *   create N: "N" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. …
 * A propagation other than (r)private is refused with a line of its own (binds here are rprivate). */
int mount_spec_parse(const char *raw, struct mount_spec *m, char *err, size_t errlen);
/* Every `-v` of a run: parsed, at most MAX_MOUNTS, and no two on one target (Docker's
 * "Duplicate mount point: P"), then ordered parents first (by the parts in the target, as moby's
 * sortMounts) so `-v a:/d/sub -v b:/d` leaves /d/sub visible. 0, or -EINVAL with err set and
 * nothing allocated. */
int mount_specs_parse(const char *const *raws, struct mount_spec **out, int *n, char *err, size_t errlen);
void mount_specs_free(struct mount_spec *m, int n);
/* Docker's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least). */
bool volume_name_valid(const char *name);

/* <state>/volumes/NAME/_data (malloc'd). */
char *volume_data_dir(const char *name);
/* Make the volume if it is not there (Docker creates a named volume on first use). 0 or -errno
 * with err set. */
int volume_create(const char *name, char *err, size_t errlen);
/* Remove the volume and its data: 0 or -errno. (Whether a container uses it is the caller's check.) */
int volume_remove(const char *name);

/* Host side of a start: make what is missing (a named volume; a bind source directory, as
 * Docker's -v does), name anonymous volumes, and clone each source into a detached mount.
 * fds[i] and is_dir[i] per mount. 0, or -errno with err set and no descriptor left open. */
int mounts_open(struct mount_spec *m, int n, int *fds, bool *is_dir, char *err, size_t errlen);
/* Child side, after its root is entered: attach fds[i] at targets[i] (a directory made, or an
 * empty file when !is_dir[i]). Dies (die_with_error) on failure. */
void mounts_attach(char *const *targets, const int *fds, const bool *is_dir, int n);
/* Send / receive one mount descriptor on the start's report socket ('V' records). */
int mount_fd_send(int sock, int fd);
int mount_fd_recv(int sock);

/* Docker's "Mounts" array of `inspect` (one line per mount) into b. */
void mounts_json(struct buf *b, const struct mount_spec *m, int n);

/* `box volume create|ls|rm|inspect …` (operands after "volume"; quiet: ls -q). Returns the exit
 * code, the answer in out. in_use(name) gives the id of a container using the volume or NULL. */
int volume_verb(char **operands, int noperands, bool quiet, const char *(*in_use)(const char *name), struct buf *out);
