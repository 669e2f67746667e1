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

enum mount_type { MOUNT_VOLUME, MOUNT_BIND, MOUNT_TMPFS };

/* -v per container: what one start request carries (container.c's spec). */
#define MAX_MOUNTS 64

/* One `-v`, `--mount` or `--tmpfs`. source: the volume name (NULL for an anonymous volume until
 * boxd names it) or the absolute host path (cleaned), NULL for a tmpfs; target: the absolute
 * container path (cleaned). */
struct mount_spec {
  enum mount_type type;
  char *source, *target;
  bool read_only;
  bool anonymous;     /* named by boxd at the start: Docker's --rm removes it with the container */
  bool nocopy;        /* `:nocopy`, `volume-nocopy`: an empty volume does not get the image's files */
  bool source_needed; /* --mount type=bind: a missing source is an error (-v makes it a directory) */
  bool nonrecursive;  /* --mount bind-nonrecursive: the source's submounts are not taken along */
  char *tmpfs_options; /* a tmpfs's mount data as Docker passes it ("mode=1777,size=64m", --tmpfs's as given); NULL = none */
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
/* Parse one `--mount` value as Docker's CLI (docker/cli opts/mount.go: CSV of key=value, the
 * aliases src, dst/destination, ro) then its daemon (moby's linux parser validateMountConfig) do.
 * type=volume (the default), bind or tmpfs (tmpfs-size, tmpfs-mode turned into mount data as moby's
 * ConvertTmpfsOptions does: "mode=%o", "size=N[kmg]" by the largest unit dividing it); the
 * volume-driver options are refused as not built.
 * 0, or -EINVAL with err set in Docker's words:
 *   invalid argument "RAW" for "--mount" flag: target is required   (and the CLI's other words)
 *   Error response from daemon: invalid mount config for type "T": mount type unknown
 *   Error response from daemon: invalid mount config for type "bind": field Source must not be empty
 *   Error response from daemon: invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes
 *   Error response from daemon: invalid mount config for type "tmpfs": field Source must not be specified
 *   invalid argument "RAW" for "--mount" flag: invalid value for tmpfs-size: V        (tmpfs-mode alike)
 * A bind source that does not exist is refused at the start (mounts_open), as the daemon does. */
int mount_spec_parse_mount(const char *raw, struct mount_spec *m, char *err, size_t errlen);
/* Parse one `--tmpfs PATH[:OPTIONS]` as docker/cli (split at the first ':') and moby
 * (ValidateTmpfsMountDestination) do. The options are the mount's data, given to the kernel as
 * they are at the start (flags such as ro, exec, nosuid; size=, mode=, uid=, gid=, nr_inodes=).
 * 0, or -EINVAL with Docker's words in err:
 *   Error response from daemon: invalid mount path: 'P' mount path must be absolute
 *   Error response from daemon: invalid specification: destination can't be '/' */
int mount_spec_parse_tmpfs(const char *raw, struct mount_spec *m, char *err, size_t errlen);
/* runc's rule (libcontainer checkProcMount): nothing is mounted on or under /proc but the few files
 * lxcfs emulates. 0, or -EINVAL with runc's words in err. */
int mount_target_check_proc(const char *target, char *err, size_t errlen);
/* Every `-v`, then every `--mount`, then every `--tmpfs` of a run (any list may be NULL): parsed, at most MAX_MOUNTS,
 * and no two on one target (Docker's "Duplicate mount point: P"), then ordered parents first (by
 * the parts in the target, as moby's sortMounts) so `-v a:/d/sub -v b:/d` leaves /d/sub visible.
 * 0, or -EINVAL with err set and nothing allocated. */
int mount_specs_parse(const char *const *volumes, const char *const *mounts, const char *const *tmpfs, struct mount_spec **out, int *n,
                      char *err, size_t errlen);
void mount_specs_free(struct mount_spec *m, int n);
/* The image's config Volumes (Dockerfile VOLUME) as Docker's daemon takes them at create
 * (daemon/create_unix.go): each target no -v, --mount or --tmpfs already covers becomes an
 * anonymous volume there (filled from the image at the start, as any empty volume; --rm removes
 * it), the key joined to "/" and cleaned; then all in parents-first order again. *m is grown
 * (it may be NULL with *n 0). 0, or -EINVAL with err set ("/" or /proc as a target, more than
 * MAX_MOUNTS) and *m, *n still a valid list. */
int mounts_add_image_volumes(struct mount_spec **m, int *n, char *const *volumes, char *err, size_t errlen);
/* Docker's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least). */
bool volume_name_valid(const char *name);

/* <state>/volumes/NAME/_data (malloc'd). */
char *volume_data_dir(const char *name);
/* Make the volume if it is not there (Docker creates a named volume on first use); an anonymous
 * one is marked so (Docker's label com.docker.volume.anonymous), which `volume prune` goes by.
 * 0 or -errno with err set. */
int volume_create(const char *name, bool anonymous, char *err, size_t errlen);
/* Remove the volume and its data: 0 or -errno. (Whether a container uses it is the caller's check.) */
int volume_remove(const char *name);

/* Host side of a start: make what is missing (a named volume; a bind source directory, as
 * Docker's -v does; a --mount bind source must be there: Docker's "bind source path does not
 * exist: P"), name anonymous volumes, and clone each source into a detached mount. A tmpfs is a
 * new detached mount (fsopen, fsconfig, fsmount: Linux 5.2+), noexec, nosuid and nodev unless its
 * options say otherwise (moby's defaults for a tmpfs, daemon/oci_linux.go).
 * fds[i] and is_dir[i] per mount. 0, or -errno with err set and no descriptor left open (the
 * volumes made stay: mounts_remove_anonymous takes back a failed start's). */
int mounts_open(struct mount_spec *m, int n, int *fds, bool *is_dir, char *err, size_t errlen);
/* A start failed: remove the anonymous volumes it made (no container will ever name them). Named
 * ones stay, as after a failed `docker run`. */
void mounts_remove_anonymous(const struct mount_spec *m, int n);

/* What the child needs of one mount (the start request carries it, the descriptor comes apart). */
struct mount_point {
  const char *target;
  int fd;         /* the detached mount (mounts_open) */
  bool is_dir;    /* else a file: the mount point is an empty file */
  bool populate;  /* a volume without nocopy: gets the image's files there if it is empty */
  bool read_only; /* applied in the child, after populating */
};
/* The request's letters for one mount ("d" or "f", then 'c' to populate, 'r' read-only) and back. */
void mount_point_flags(const struct mount_spec *m, bool is_dir, char out[4]);
void mount_point_from_flags(struct mount_point *p, const char *flags);
/* Child side, after its root is entered: first every volume to populate gets a copy of the image's
 * files at its target if it is empty (Docker's copy of image data, volume_copy.h), then each is
 * made read-only if asked and nodev unless privileged (no devices cgroup here: a node made in a
 * volume must not open), then attached at its target (a directory made, or an empty file; under
 * the read-only /dev, made with /dev writable for the moment). Dies (die_with_error) on failure. */
void mounts_attach(struct mount_point *points, int n, bool privileged);
/* Send / receive one mount descriptor on the start's report socket ('V' records). */
int mount_fd_send(int sock, int fd);
int mount_fd_recv(int sock);

/* Docker's "Mounts" array of `inspect` (one line per mount) into b. */
void mounts_json(struct buf *b, const struct mount_spec *m, int n);

/* Flags of `box volume`: ls -q, rm -f (a missing volume is no error), prune -a (named ones too). */
struct volume_flags {
  bool quiet, force, all;
};
/* `box volume create|ls|rm|inspect|prune …` (operands after "volume"). Returns the exit code, the
 * answer in out. in_use(name) gives the id of a container using the volume or NULL. prune removes
 * the volumes no container uses (anonymous ones only without -a, as Docker ≥ 23) and answers as
 * docker/cli: "Deleted Volumes:" and their names, a blank line, "Total reclaimed space: SIZE". */
int volume_verb(char **operands, int noperands, struct volume_flags flags, const char *(*in_use)(const char *name), struct buf *out);
