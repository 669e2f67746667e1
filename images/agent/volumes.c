#define _GNU_SOURCE
#include "volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "pty.h"

#define DAEMON "Error response from daemon: "

bool volume_name_valid(const char *s) {
  if (strlen(s) < 2) return false;
  for (const char *p = s; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              (p != s && (*p == '_' || *p == '.' || *p == '-'));
    if (!ok) return false;
  }
  return true;
}

/* Go's filepath.Clean for an absolute path: no empty, "." or ".." elements, no trailing '/'. */
static char *clean_path(const char *p) {
  size_t n = strlen(p);
  char *out = xcalloc(n + 2, 1);
  size_t len = 0;
  while (*p) {
    while (*p == '/') p++;
    size_t el = strcspn(p, "/");
    if (el == 0) break;
    if (el == 1 && p[0] == '.') {
    } else if (el == 2 && p[0] == '.' && p[1] == '.') {
      while (len > 0 && out[len - 1] != '/') len--;
      if (len > 0) len--; /* the '/' before it */
    } else {
      out[len++] = '/';
      memcpy(out + len, p, el);
      len += el;
    }
    p += el;
  }
  if (!len) out[len++] = '/';
  out[len] = 0;
  return out;
}

/* Docker's ValidMountMode: comma-separated, at most one of each kind. */
static int check_mode(const char *mode, bool *read_only, char *err, size_t errlen) {
  static const char *const propagations[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};
  int rw = 0, label = 0, prop = 0, copy = 0;
  *read_only = false;
  autofree char *copy_of = xstrdup(mode);
  char *save = NULL;
  for (char *m = strtok_r(copy_of, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
    bool known = false;
    if (!strcmp(m, "rw") || !strcmp(m, "ro")) rw++, known = true, *read_only = m[1] == 'o';
    if (!strcmp(m, "z") || !strcmp(m, "Z")) label++, known = true; /* SELinux labels: none here, as Docker without SELinux */
    if (!strcmp(m, "nocopy")) copy++, known = true;                /* boxd never copies image files into a volume */
    for (size_t i = 0; i < N_ELEMENTS(propagations); i++)
      if (!strcmp(m, propagations[i])) {
        prop++, known = true;
        if (i >= 2) return set_err(err, errlen, 0, "box binds are rprivate: propagation %s is not supported", m);
      }
    if (!known || rw > 1 || label > 1 || prop > 1 || copy > 1) return set_err(err, errlen, 0, DAEMON "invalid mode: %s", mode);
  }
  if (!*mode) return set_err(err, errlen, 0, DAEMON "invalid mode: %s", mode);
  return 0;
}

static bool is_mode(const char *s) {
  bool ro;
  char scratch[8];
  return check_mode(s, &ro, scratch, sizeof scratch) == 0;
}

int mount_spec_parse(const char *raw, struct mount_spec *m, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  int colons = 0;
  for (const char *p = raw; *p; p++) colons += *p == ':';
  if (colons > 2 || !*raw || raw[0] == ':') return set_err(err, errlen, 0, DAEMON "invalid volume specification: '%s'", raw);
  autofree char *s = xstrdup(raw);
  char *first = s, *second = NULL, *mode = NULL;
  if ((second = strchr(first, ':'))) {
    *second++ = 0;
    if ((mode = strchr(second, ':'))) *mode++ = 0;
  }
  const char *source = second ? first : NULL, *target = second ? second : first;
  /* TARGET:MODE is not a volume: a volume cannot be given a mode without a source. */
  if (second && !mode && is_mode(second)) return set_err(err, errlen, 0, DAEMON "invalid volume specification: '%s'", raw);
  if (mode && check_mode(mode, &m->read_only, err, errlen) < 0) return -EINVAL;
  m->type = source && source[0] == '/' ? MOUNT_BIND : MOUNT_VOLUME;
  const char *type = m->type == MOUNT_BIND ? "bind" : "volume";
  if (target[0] != '/')
    return set_err(err, errlen, 0,
                   DAEMON "invalid volume specification: '%s': invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute",
                   raw, type, target);
  m->target = clean_path(target);
  if (!strcmp(m->target, "/")) {
    free(m->target);
    m->target = NULL;
    return set_err(err, errlen, 0,
                   DAEMON "invalid volume specification: '%s': invalid mount config for type \"%s\": invalid specification: destination can't be '/'",
                   raw, type);
  }
  if (m->type == MOUNT_VOLUME && source && !volume_name_valid(source)) {
    free(m->target);
    m->target = NULL;
    return set_err(err, errlen, 0,
                   DAEMON "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                   source, source);
  }
  if (source) m->source = m->type == MOUNT_BIND ? clean_path(source) : xstrdup(source);
  return 0;
}

/* Parts in a cleaned absolute path: "/a/b" 2. */
static int path_depth(const char *p) {
  int n = 0;
  for (; *p; p++) n += *p == '/' && p[1];
  return n;
}

int mount_specs_parse(const char *const *raws, struct mount_spec **out, int *n, char *err, size_t errlen) {
  *out = NULL;
  *n = 0;
  int count = 0;
  while (raws && raws[count]) count++;
  if (!count) return 0;
  if (count > MAX_MOUNTS) return set_err(err, errlen, 0, "at most %d -v per container", MAX_MOUNTS);
  struct mount_spec *m = xcalloc(count, sizeof *m);
  for (int i = 0; i < count; i++) {
    if (mount_spec_parse(raws[i], &m[i], err, errlen) < 0) {
      mount_specs_free(m, i);
      return -EINVAL;
    }
    for (int k = 0; k < i; k++)
      if (!strcmp(m[k].target, m[i].target)) {
        set_err(err, errlen, 0, DAEMON "Duplicate mount point: %s", m[i].target);
        mount_specs_free(m, i + 1);
        return -EINVAL;
      }
  }
  /* Parents before what is mounted inside them, whatever the order given (moby's sortMounts: by
   * the number of parts in the destination); stable, so equal depths keep the user's order. */
  for (int i = 1; i < count; i++)
    for (int k = i; k > 0 && path_depth(m[k - 1].target) > path_depth(m[k].target); k--) {
      struct mount_spec t = m[k];
      m[k] = m[k - 1];
      m[k - 1] = t;
    }
  *out = m;
  *n = count;
  return 0;
}

void mount_specs_free(struct mount_spec *m, int n) {
  if (!m) return;
  for (int i = 0; i < n; i++) {
    free(m[i].source);
    free(m[i].target);
  }
  if (n) free(m);
}

/* ------------------------------------------------------------------ the store */

static char *volumes_root(void) { return xasprintf("%s/volumes", cfg.state); }
static char *volume_dir(const char *name) { return xasprintf("%s/volumes/%s", cfg.state, name); }
char *volume_data_dir(const char *name) { return xasprintf("%s/volumes/%s/_data", cfg.state, name); }

static bool volume_exists(const char *name) {
  autofree char *d = volume_data_dir(name);
  struct stat st;
  return volume_name_valid(name) && stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

int volume_create(const char *name, char *err, size_t errlen) {
  autofree char *d = volume_data_dir(name);
  int rc = mkdir_p(d, 0755);
  if (rc < 0) return set_err(err, errlen, -rc, "creating volume %s at %s", name, d);
  return 0;
}

int volume_remove(const char *name) {
  autofree char *dir = volume_dir(name);
  return rm_rf(dir);
}

/* Docker names an anonymous volume with 64 random hex digits. */
static char *random_volume_name(void) {
  static const char hex[] = "0123456789abcdef";
  uint8_t r[32];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
    uint64_t t = now_ns();
    for (size_t i = 0; i < sizeof r; i++) r[i] = (uint8_t)(t >> (8 * (i % 8))) ^ (uint8_t)(i * 37);
  }
  char *s = xcalloc(65, 1);
  for (int i = 0; i < 32; i++) {
    s[2 * i] = hex[r[i] >> 4];
    s[2 * i + 1] = hex[r[i] & 15];
  }
  return s;
}

/* ------------------------------------------------------------------ into a container */

int mounts_open(struct mount_spec *m, int n, int *fds, bool *is_dir, char *err, size_t errlen) {
  int i, rc = 0;
  for (i = 0; i < n; i++) fds[i] = -1;
  for (i = 0; i < n; i++) {
    if (m[i].type == MOUNT_VOLUME && !m[i].source) {
      m[i].source = random_volume_name();
      m[i].anonymous = true;
    }
    autofree char *path = m[i].type == MOUNT_VOLUME ? volume_data_dir(m[i].source) : xstrdup(m[i].source);
    if (m[i].type == MOUNT_VOLUME) {
      if ((rc = volume_create(m[i].source, err, errlen)) < 0) goto fail;
    } else if (access(path, F_OK) < 0 && (rc = mkdir_p(path, 0755)) < 0) {
      /* Docker's -v makes a missing bind source as a directory (--mount would refuse it). */
      set_err(err, errlen, -rc, DAEMON "error while creating mount source path '%s'", path);
      goto fail;
    }
    struct stat st;
    fds[i] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fds[i] < 0 || fstat(fds[i], &st) < 0) {
      rc = set_err(err, errlen, errno, "cloning the mount of %s", path);
      goto fail;
    }
    is_dir[i] = S_ISDIR(st.st_mode);
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    if (m[i].read_only && mount_setattr(fds[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) < 0) {
      rc = set_err(err, errlen, errno, "making the mount of %s read-only", path);
      goto fail;
    }
  }
  return 0;
fail:
  for (int k = 0; k < n; k++)
    if (fds[k] >= 0) close(fds[k]), fds[k] = -1;
  return rc < 0 ? rc : -EINVAL;
}

void mounts_attach(char *const *targets, const int *fds, const bool *is_dir, int n) {
  for (int i = 0; i < n; i++) {
    int rc;
    if (is_dir[i]) {
      rc = mkdir_p(targets[i], 0755);
    } else {
      autofree char *parent = xstrdup(targets[i]);
      *strrchr(parent, '/') = 0;
      rc = *parent ? mkdir_p(parent, 0755) : 0;
      /* An existing file is the mount point as it is: opening it for writing would make overlayfs
       * copy it up whole (a 1 MB binary) only to be covered. */
      struct stat st;
      if (rc == 0 && lstat(targets[i], &st) < 0) {
        int fd = open(targets[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) rc = -errno;
        else close(fd);
      }
    }
    if (rc < 0) {
      errno = -rc;
      die_with_error("creating the mount point %s", targets[i]);
    }
    if (move_mount(fds[i], "", AT_FDCWD, targets[i], MOVE_MOUNT_F_EMPTY_PATH) < 0) die_with_error("mounting on %s", targets[i]);
    close(fds[i]);
  }
}

int mount_fd_send(int sock, int fd) { return send_record_fd(sock, 'V', fd); }

int mount_fd_recv(int sock) {
  char kind;
  int fd;
  if (recv_record_kind(sock, &kind, &fd) != 1 || kind != 'V' || fd < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

void mounts_json(struct buf *b, const struct mount_spec *m, int n) {
  buf_append(b, "[", 1);
  for (int i = 0; i < n; i++) {
    bool vol = m[i].type == MOUNT_VOLUME;
    autofree char *src = vol && m[i].source ? volume_data_dir(m[i].source) : xstrdup(m[i].source ? m[i].source : "");
    buf_printf(b, "%s{\"Type\": \"%s\", ", i ? ",\n      " : "\n      ", vol ? "volume" : "bind");
    if (vol) {
      buf_printf(b, "\"Name\": ");
      buf_json_string(b, m[i].source ? m[i].source : "");
      buf_printf(b, ", ");
    }
    buf_printf(b, "\"Source\": ");
    buf_json_string(b, src);
    buf_printf(b, ", \"Destination\": ");
    buf_json_string(b, m[i].target);
    if (vol) buf_printf(b, ", \"Driver\": \"local\"");
    buf_printf(b, ", \"Mode\": \"%s\", \"RW\": %s, \"Propagation\": \"%s\"}", m[i].read_only ? "ro" : "", m[i].read_only ? "false" : "true",
               vol ? "" : "rprivate");
  }
  buf_printf(b, "%s]", n ? "\n    " : "");
}

/* ------------------------------------------------------------------ box volume */

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The volumes there are, sorted (NULL-terminated, malloc'd; free with free_args). */
static char **volume_names(void) {
  autofree char *root = volumes_root();
  int n = 0, cap = 8;
  char **names = xcalloc(cap + 1, sizeof *names);
  DIR *d = opendir(root);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (!volume_exists(e->d_name)) continue;
    if (n == cap) {
      cap *= 2;
      names = realloc(names, (cap + 1) * sizeof *names);
      if (!names) abort();
    }
    names[n++] = xstrdup(e->d_name);
  }
  if (d) closedir(d);
  names[n] = NULL;
  qsort(names, n, sizeof *names, cmp_names);
  return names;
}

static void free_names(char **names) {
  for (char **p = names; *p; p++) free(*p);
  free(names);
}

static void inspect_volume(struct buf *b, const char *name) {
  autofree char *dir = volume_dir(name), *data = volume_data_dir(name);
  struct stat st;
  char created[32] = "";
  if (stat(dir, &st) == 0) strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&st.st_mtime));
  buf_printf(b, "    {\n        \"CreatedAt\": \"%s\",\n        \"Driver\": \"local\",\n        \"Labels\": null,\n        \"Mountpoint\": ", created);
  buf_json_string(b, data);
  buf_printf(b, ",\n        \"Name\": ");
  buf_json_string(b, name);
  buf_printf(b, ",\n        \"Options\": null,\n        \"Scope\": \"local\"\n    }");
}

static const char volume_usage[] = "usage: box volume create [NAME] | ls [-q] | rm VOLUME… | inspect VOLUME…\n";

int volume_verb(char **ops, int nops, bool quiet, const char *(*in_use)(const char *name), struct buf *out) {
  const char *sub = nops ? ops[0] : "";
  char err[512];
  if (!strcmp(sub, "create")) {
    if (nops > 2) {
      buf_printf(out, "\"box volume create\" requires at most 1 argument\n");
      return 1;
    }
    autofree char *name = nops == 2 ? xstrdup(ops[1]) : random_volume_name();
    if (!volume_name_valid(name)) {
      buf_printf(out, DAEMON "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path\n",
                 name, name);
      return 1;
    }
    if (volume_create(name, err, sizeof err) < 0) {
      buf_printf(out, DAEMON "%s\n", err);
      return 1;
    }
    buf_printf(out, "%s\n", name);
    return 0;
  }
  if (!strcmp(sub, "ls") || !strcmp(sub, "list")) {
    char **names = volume_names();
    if (!quiet) buf_printf(out, "%-10s%s\n", "DRIVER", "VOLUME NAME");
    for (char **p = names; *p; p++) buf_printf(out, quiet ? "%.0s%s\n" : "%-10s%s\n", "local", *p);
    free_names(names);
    return 0;
  }
  if (!strcmp(sub, "rm") || !strcmp(sub, "remove")) {
    if (nops < 2) {
      buf_printf(out, "\"box volume rm\" requires at least 1 argument: box volume rm VOLUME [VOLUME...]\n");
      return 1;
    }
    int code = 0;
    for (int i = 1; i < nops; i++) {
      const char *user;
      if (!volume_exists(ops[i])) {
        buf_printf(out, DAEMON "get %s: no such volume\n", ops[i]);
        code = 1;
      } else if ((user = in_use(ops[i]))) {
        buf_printf(out, DAEMON "remove %s: volume is in use - [%s]\n", ops[i], user);
        code = 1;
      } else {
        int rc = volume_remove(ops[i]);
        if (rc < 0) {
          buf_printf(out, DAEMON "remove %s: %s\n", ops[i], strerror(-rc));
          code = 1;
        } else {
          buf_printf(out, "%s\n", ops[i]);
        }
      }
    }
    return code;
  }
  if (!strcmp(sub, "inspect")) {
    if (nops < 2) {
      buf_printf(out, "\"box volume inspect\" requires at least 1 argument: box volume inspect VOLUME [VOLUME...]\n");
      return 1;
    }
    int found = 0, code = 0;
    buf_printf(out, "[");
    for (int i = 1; i < nops; i++) {
      if (!volume_exists(ops[i])) continue;
      buf_printf(out, found++ ? ",\n" : "\n");
      inspect_volume(out, ops[i]);
    }
    buf_printf(out, found ? "\n]\n" : "]\n");
    for (int i = 1; i < nops; i++)
      if (!volume_exists(ops[i])) {
        buf_printf(out, "Error: No such volume: %s\n", ops[i]);
        code = 1;
      }
    return code;
  }
  if (*sub) buf_printf(out, "box: 'volume %s' is not a box command\n", sub);
  buf_printf(out, "%s", volume_usage);
  return 1;
}
