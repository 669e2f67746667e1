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
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "options.h"
#include "pty.h"
#include "volume_copy.h"

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

/* The bind propagations Docker knows; binds here are rprivate, so only the first two are taken. */
static const char *const propagations[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};

/* Docker's ValidMountMode: comma-separated, at most one of each kind. */
static int check_mode(const char *mode, bool *read_only, bool *nocopy, char *err, size_t errlen) {
  int rw = 0, label = 0, prop = 0, copy = 0;
  *read_only = *nocopy = false;
  autofree char *copy_of = xstrdup(mode);
  char *save = NULL;
  for (char *m = strtok_r(copy_of, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
    bool known = false;
    if (!strcmp(m, "rw") || !strcmp(m, "ro")) rw++, known = true, *read_only = m[1] == 'o';
    if (!strcmp(m, "z") || !strcmp(m, "Z")) label++, known = true; /* SELinux labels: none here, as Docker without SELinux */
    if (!strcmp(m, "nocopy")) copy++, known = true, *nocopy = true; /* an empty volume stays empty */
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
  bool ro, nocopy;
  char scratch[8];
  return check_mode(s, &ro, &nocopy, scratch, sizeof scratch) == 0;
}

/* The files lxcfs emulates, which runc lets a mount cover (libcontainer/rootfs_linux.go). */
static const char *const proc_files_allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
};

int mount_target_check_proc(const char *target, char *err, size_t errlen) {
  if (!strcmp(target, "/proc"))
    return set_err(err, errlen, 0, DAEMON "check proc-safety of /proc mount: \"/proc\" cannot be mounted because it is not of type proc");
  if (strncmp(target, "/proc/", 6)) return 0;
  for (size_t i = 0; i < N_ELEMENTS(proc_files_allowed); i++)
    if (!strcmp(target, proc_files_allowed[i])) return 0;
  return set_err(err, errlen, 0, DAEMON "check proc-safety of %s mount: \"%s\" cannot be mounted because it is inside /proc", target, target);
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
  if (mode && check_mode(mode, &m->read_only, &m->nocopy, err, errlen) < 0) return -EINVAL;
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
  if (mount_target_check_proc(m->target, err, errlen) < 0) {
    free(m->target);
    m->target = NULL;
    return -EINVAL;
  }
  if (source) m->source = m->type == MOUNT_BIND ? clean_path(source) : xstrdup(source);
  return 0;
}

/* Go's encoding/csv for one line, as docker/cli reads a --mount value: fields split at commas, a
 * field in double quotes may hold commas, "" is a quote inside one. NULL-terminated (free_args),
 * or NULL with the reader's complaint in err. */
static char **csv_fields(const char *line, char *err, size_t errlen) {
  int cap = 8, n = 0;
  char **f = xcalloc(cap + 1, sizeof *f);
  const char *p = line;
  for (;;) {
    struct buf field = {0};
    if (*p == '"') {
      for (p++;; p++) {
        if (!*p) {
          set_err(err, errlen, 0, "parse error on line 1, column %d: extraneous or missing \" in quoted-field", (int)(p - line) + 1);
          goto bad;
        }
        if (*p == '"' && p[1] == '"') buf_append(&field, p++, 1);
        else if (*p == '"') break;
        else buf_append(&field, p, 1);
      }
      p++;
      if (*p && *p != ',') {
        set_err(err, errlen, 0, "parse error on line 1, column %d: extraneous or missing \" in quoted-field", (int)(p - line) + 1);
        goto bad;
      }
    } else {
      size_t len = strcspn(p, ",");
      const char *quote = memchr(p, '"', len);
      if (quote) {
        set_err(err, errlen, 0, "parse error on line 1, column %d: bare \" in non-quoted-field", (int)(quote - line) + 1);
        goto bad;
      }
      buf_append(&field, p, len);
      p += len;
    }
    buf_append(&field, "", 1);
    if (n == cap) {
      cap *= 2;
      f = realloc(f, (cap + 1) * sizeof *f);
      if (!f) abort();
    }
    f[n++] = field.data;
    f[n] = NULL;
    if (!*p) return f;
    p++; /* the comma */
    continue;
  bad:
    buf_free(&field);
    free_args(f);
    return NULL;
  }
}

#define FLAG_ERR "invalid argument \"%s\" for \"--mount\" flag: "

/* Go's strconv.ParseUint(v, 8, 32), as docker/cli reads tmpfs-mode: octal digits only, at most
 * 32 bits. The value, or -1. */
static int64_t parse_octal_mode(const char *v) {
  int64_t mode = 0;
  if (!*v) return -1;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '7') return -1;
    mode = mode * 8 + (*p - '0');
    if (mode > 0xffffffffLL) return -1;
  }
  return mode;
}

/* moby's ConvertTmpfsOptions: "mode=%o" when a mode is set, "size=N" with the largest of g, m,
 * k that divides the bytes (none if none does), joined by ','. NULL when neither is set.
 * (ReadOnly travels as the mount's own flag here, not as "ro" in the data.) */
static char *tmpfs_data(int64_t size, int64_t mode) {
  struct buf b = {0};
  if (mode) buf_printf(&b, "mode=%llo", (unsigned long long)mode);
  if (size) {
    static const struct { char suffix; int64_t divisor; } units[] = {{'g', 1LL << 30}, {'m', 1LL << 20}, {'k', 1LL << 10}};
    int64_t n = size;
    char suffix = 0;
    for (size_t i = 0; i < N_ELEMENTS(units) && !suffix; i++)
      if (size % units[i].divisor == 0) n = size / units[i].divisor, suffix = units[i].suffix;
    buf_printf(&b, "%ssize=%lld", b.len ? "," : "", (long long)n);
    if (suffix) buf_append(&b, &suffix, 1);
  }
  return b.data; /* NULL when empty */
}

int mount_spec_parse_tmpfs(const char *raw, struct mount_spec *m, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  const char *colon = strchr(raw, ':');
  autofree char *target = colon ? strndup(raw, colon - raw) : xstrdup(raw);
  if (target[0] == '/' && ({ autofree char *t = clean_path(target); !strcmp(t, "/"); }))
    return set_err(err, errlen, 0, DAEMON "invalid specification: destination can't be '/'");
  if (target[0] != '/') return set_err(err, errlen, 0, DAEMON "invalid mount path: '%s' mount path must be absolute", target);
  m->type = MOUNT_TMPFS;
  m->target = clean_path(target);
  if (colon && colon[1]) m->tmpfs_options = xstrdup(colon + 1);
  /* "ro" among the options: the mount's own read-only flag, as for every other mount here. */
  autofree char *opts = xstrdup(colon ? colon + 1 : "");
  char *save = NULL;
  for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
    if (!strcmp(o, "ro") || !strcmp(o, "rw")) m->read_only = o[1] == 'o';
  if (mount_target_check_proc(m->target, err, errlen) < 0) {
    free(m->target), free(m->tmpfs_options);
    m->target = m->tmpfs_options = NULL;
    return -EINVAL;
  }
  return 0;
}
#define CONFIG_ERR DAEMON "invalid mount config for type \"%s\": "

int mount_spec_parse_mount(const char *raw, struct mount_spec *m, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  char csv_err[256];
  char **fields = csv_fields(raw, csv_err, sizeof csv_err);
  if (!fields) return set_err(err, errlen, 0, FLAG_ERR "%s", raw, csv_err);
  autofree char *type = xstrdup("volume"), *source = NULL, *target = NULL, *propagation = NULL;
  bool volume_opts = false, bind_opts = false, tmpfs_opts = false;
  int64_t tmpfs_size = 0, tmpfs_mode = 0;
  const char *unsupported = NULL;
  int rc = -EINVAL;
  for (char **f = fields; *f; f++) {
    char *eq = strchr(*f, '=');
    autofree char *key = xstrdup(*f);
    if (eq) key[eq - *f] = 0;
    for (char *k = key; *k; k++) *k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k); /* docker/cli lowercases keys */
    const char *val = eq ? eq + 1 : NULL;
    /* The boolean keys may stand alone ("readonly") or take a value ("ro=false"). */
    bool is_bool = !strcmp(key, "readonly") || !strcmp(key, "ro") || !strcmp(key, "volume-nocopy") || !strcmp(key, "bind-nonrecursive");
    if (!val && !is_bool) {
      set_err(err, errlen, 0, FLAG_ERR "invalid field '%s' must be a key=value pair", raw, *f);
      goto out;
    }
    const char *truth = is_bool && val ? parse_go_bool(val) : "true";
    if (!truth) {
      set_err(err, errlen, 0, FLAG_ERR "invalid value for %s: %s", raw, key, val);
      goto out;
    }
    bool b = truth[0] == 't';
    if (!strcmp(key, "type")) {
      free(type);
      type = xstrdup(val);
      for (char *k = type; *k; k++) *k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
    } else if (!strcmp(key, "source") || !strcmp(key, "src")) {
      free(source);
      source = xstrdup(val);
    } else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination")) {
      free(target);
      target = xstrdup(val);
    } else if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
      m->read_only = b;
    } else if (!strcmp(key, "volume-nocopy")) {
      m->nocopy = b, volume_opts = true;
    } else if (!strcmp(key, "bind-nonrecursive")) {
      m->nonrecursive = b, bind_opts = true;
    } else if (!strcmp(key, "bind-propagation")) {
      free(propagation);
      propagation = xstrdup(val);
      bind_opts = true;
    } else if (!strcmp(key, "consistency")) {
      /* Docker Desktop's hint for macOS file sharing: ignored on Linux, as by Docker. */
    } else if (!strcmp(key, "volume-driver")) {
      volume_opts = true;
      if (strcmp(val, "local")) unsupported = "volume-driver (only the local driver is here)";
    } else if (!strcmp(key, "volume-label") || !strcmp(key, "volume-opt") || !strcmp(key, "volume-subpath")) {
      volume_opts = true;
      unsupported = "volume-label, volume-opt and volume-subpath";
    } else if (!strcmp(key, "tmpfs-size")) {
      tmpfs_opts = true;
      if ((tmpfs_size = parse_size(val)) < 0) {
        set_err(err, errlen, 0, FLAG_ERR "invalid value for %s: %s", raw, key, val);
        goto out;
      }
    } else if (!strcmp(key, "tmpfs-mode")) {
      tmpfs_opts = true;
      if ((tmpfs_mode = parse_octal_mode(val)) < 0) {
        set_err(err, errlen, 0, FLAG_ERR "invalid value for %s: %s", raw, key, val);
        goto out;
      }
    } else if (!strcmp(key, "bind-recursive")) {
      bind_opts = true;
      unsupported = "bind-recursive";
    } else {
      set_err(err, errlen, 0, FLAG_ERR "unexpected key '%s' in '%s'", raw, key, *f);
      goto out;
    }
  }
  /* The CLI's checks, then the daemon's (validateMountConfig), in their order. */
  if (!*type) {
    set_err(err, errlen, 0, FLAG_ERR "type is required", raw);
  } else if (!target || !*target) {
    set_err(err, errlen, 0, FLAG_ERR "target is required", raw);
  } else if (volume_opts && strcmp(type, "volume")) {
    set_err(err, errlen, 0, FLAG_ERR "cannot mix 'volume-*' options with mount type '%s'", raw, type);
  } else if (bind_opts && strcmp(type, "bind")) {
    set_err(err, errlen, 0, FLAG_ERR "cannot mix 'bind-*' options with mount type '%s'", raw, type);
  } else if (tmpfs_opts && strcmp(type, "tmpfs")) {
    set_err(err, errlen, 0, FLAG_ERR "cannot mix 'tmpfs-*' options with mount type '%s'", raw, type);
  } else if (target[0] == '/' && ({ autofree char *t = clean_path(target); !strcmp(t, "/"); })) {
    set_err(err, errlen, 0, CONFIG_ERR "invalid specification: destination can't be '/'", type);
  } else if (target[0] != '/') {
    set_err(err, errlen, 0, CONFIG_ERR "invalid mount path: '%s' mount path must be absolute", type, target);
  } else if (!strcmp(type, "bind") && (!source || !*source)) {
    set_err(err, errlen, 0, CONFIG_ERR "field Source must not be empty", type);
  } else if (!strcmp(type, "bind") && propagation && *propagation && strcmp(propagation, "private") && strcmp(propagation, "rprivate")) {
    bool known = false;
    for (size_t i = 0; i < N_ELEMENTS(propagations); i++) known |= !strcmp(propagation, propagations[i]);
    if (known) set_err(err, errlen, 0, "box binds are rprivate: propagation %s is not supported", propagation);
    else set_err(err, errlen, 0, CONFIG_ERR "invalid propagation mode: %s", type, propagation);
  } else if (!strcmp(type, "bind") && source[0] != '/') {
    set_err(err, errlen, 0, CONFIG_ERR "invalid mount path: '%s' mount path must be absolute", type, source);
  } else if (!strcmp(type, "volume") && (!source || !*source) && m->read_only) {
    set_err(err, errlen, 0, CONFIG_ERR "must not set ReadOnly mode when using anonymous volumes", type);
  } else if (!strcmp(type, "volume") && source && *source && !volume_name_valid(source)) {
    set_err(err, errlen, 0,
            DAEMON "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
            source, source);
  } else if (!strcmp(type, "tmpfs") && source && *source) {
    set_err(err, errlen, 0, CONFIG_ERR "field Source must not be specified", type);
  } else if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs")) {
    set_err(err, errlen, 0, CONFIG_ERR "mount type unknown", type);
  } else if (unsupported) {
    set_err(err, errlen, 0, "box: --mount %s: not supported", unsupported);
  } else {
    m->type = !strcmp(type, "bind") ? MOUNT_BIND : !strcmp(type, "tmpfs") ? MOUNT_TMPFS : MOUNT_VOLUME;
    m->source_needed = m->type == MOUNT_BIND;
    m->target = clean_path(target);
    if (source && *source) m->source = m->type == MOUNT_BIND ? clean_path(source) : xstrdup(source);
    if (m->type == MOUNT_TMPFS) m->tmpfs_options = tmpfs_data(tmpfs_size, tmpfs_mode);
    if ((rc = mount_target_check_proc(m->target, err, errlen)) < 0) {
      free(m->target), free(m->source), free(m->tmpfs_options);
      m->target = m->source = m->tmpfs_options = NULL;
    }
  }
out:
  free_args(fields);
  return rc;
}

/* Parts in a cleaned absolute path: "/a/b" 2. */
static int path_depth(const char *p) {
  int n = 0;
  for (; *p; p++) n += *p == '/' && p[1];
  return n;
}

/* Parents before what is mounted inside them, whatever the order given (moby's sortMounts: by
 * the number of parts in the destination); stable, so equal depths keep the given order. */
static void mounts_sort(struct mount_spec *m, int count) {
  for (int i = 1; i < count; i++)
    for (int k = i; k > 0 && path_depth(m[k - 1].target) > path_depth(m[k].target); k--) {
      struct mount_spec t = m[k];
      m[k] = m[k - 1];
      m[k - 1] = t;
    }
}

int mounts_add_image_volumes(struct mount_spec **m, int *n, char *const *volumes, char *err, size_t errlen) {
  for (char *const *v = volumes; v && *v; v++) {
    /* moby joins the key to the container's root: "data" is /data. */
    autofree char *target = **v == '/' ? clean_path(*v) : ({ autofree char *abs = xasprintf("/%s", *v); clean_path(abs); });
    bool covered = false;
    for (int i = 0; i < *n && !covered; i++) covered = !strcmp((*m)[i].target, target);
    if (covered) continue; /* a -v, --mount or --tmpfs there replaces the image's volume */
    if (!strcmp(target, "/")) return set_err(err, errlen, 0, DAEMON "invalid specification: destination can't be '/'");
    if (mount_target_check_proc(target, err, errlen) < 0) return -EINVAL;
    if (*n >= MAX_MOUNTS) return set_err(err, errlen, 0, "at most %d -v, --mount and --tmpfs per container (with the image's VOLUMEs)", MAX_MOUNTS);
    *m = realloc(*m, (*n + 1) * sizeof **m);
    if (!*m) abort();
    (*m)[(*n)++] = (struct mount_spec){.type = MOUNT_VOLUME, .target = xstrdup(target)}; /* anonymous: named at the start */
  }
  mounts_sort(*m, *n);
  return 0;
}

int mount_specs_parse(const char *const *volumes, const char *const *mounts, const char *const *tmpfs, struct mount_spec **out, int *n,
                      char *err, size_t errlen) {
  *out = NULL;
  *n = 0;
  int nvolumes = 0, nmounts = 0, ntmpfs = 0;
  while (volumes && volumes[nvolumes]) nvolumes++;
  while (mounts && mounts[nmounts]) nmounts++;
  while (tmpfs && tmpfs[ntmpfs]) ntmpfs++;
  int count = nvolumes + nmounts + ntmpfs;
  if (!count) return 0;
  if (count > MAX_MOUNTS) return set_err(err, errlen, 0, "at most %d -v, --mount and --tmpfs per container", MAX_MOUNTS);
  struct mount_spec *m = xcalloc(count, sizeof *m);
  for (int i = 0; i < count; i++) {
    int rc = i < nvolumes             ? mount_spec_parse(volumes[i], &m[i], err, errlen)
             : i < nvolumes + nmounts ? mount_spec_parse_mount(mounts[i - nvolumes], &m[i], err, errlen)
                                      : mount_spec_parse_tmpfs(tmpfs[i - nvolumes - nmounts], &m[i], err, errlen);
    if (rc < 0) {
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
  mounts_sort(m, count);
  *out = m;
  *n = count;
  return 0;
}

void mount_specs_free(struct mount_spec *m, int n) {
  if (!m) return;
  for (int i = 0; i < n; i++) {
    free(m[i].source);
    free(m[i].target);
    free(m[i].tmpfs_options);
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

/* <state>/volumes/NAME/anonymous: the mark of Docker's label com.docker.volume.anonymous. */
static char *anonymous_mark(const char *name) { return xasprintf("%s/volumes/%s/anonymous", cfg.state, name); }

static bool volume_anonymous(const char *name) {
  autofree char *mark = anonymous_mark(name);
  return access(mark, F_OK) == 0;
}

int volume_create(const char *name, bool anonymous, char *err, size_t errlen) {
  autofree char *d = volume_data_dir(name);
  int rc = mkdir_p(d, 0755);
  if (rc < 0) return set_err(err, errlen, -rc, "creating volume %s at %s", name, d);
  autofree char *mark = anonymous ? anonymous_mark(name) : NULL;
  if (mark && (rc = write_file(mark, "")) < 0) return set_err(err, errlen, -rc, "marking volume %s anonymous", name);
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

/* The mount-wide flags a tmpfs's data may name (the rest are tmpfs's own parameters): which
 * MOUNT_ATTR_ bit, and whether the word sets or clears it. */
static const struct {
  const char *word;
  unsigned attr;
  bool set;
} tmpfs_flags[] = {
    {"exec", MOUNT_ATTR_NOEXEC, false}, {"noexec", MOUNT_ATTR_NOEXEC, true}, {"suid", MOUNT_ATTR_NOSUID, false},
    {"nosuid", MOUNT_ATTR_NOSUID, true}, {"dev", MOUNT_ATTR_NODEV, false}, {"nodev", MOUNT_ATTR_NODEV, true},
    {"atime", MOUNT_ATTR_NOATIME, false}, {"noatime", MOUNT_ATTR_NOATIME, true}, {"ro", 0, false}, {"rw", 0, false},
    {"private", 0, false}, {"rprivate", 0, false}, /* binds and tmpfs here are private */
};

/* A new tmpfs as a detached mount: fsopen("tmpfs"), each parameter of data set with fsconfig (the
 * kernel checks size=, mode=, uid=, gid=, nr_inodes=…), then fsmount with noexec, nosuid and nodev
 * unless data says exec, suid or dev (moby's defaults). The descriptor, or -errno with err set in
 * the words runc uses for a failed mount. */
static int tmpfs_open(const char *target, const char *data, char *err, size_t errlen) {
  unsigned attrs = MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  int fs = fsopen("tmpfs", FSOPEN_CLOEXEC), mnt = -1;
  /* The source /proc/mounts shows: "tmpfs", as runc mounts Docker's. */
  if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0) {
    int e = errno;
    if (fs >= 0) close(fs);
    return set_err(err, errlen, e, DAEMON "error mounting \"tmpfs\" to rootfs at \"%s\"", target);
  }
  autofree char *copy = xstrdup(data ? data : "");
  char *save = NULL;
  for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    bool flag = false;
    for (size_t i = 0; i < N_ELEMENTS(tmpfs_flags) && !flag; i++)
      if (!strcmp(o, tmpfs_flags[i].word)) {
        flag = true;
        attrs = tmpfs_flags[i].set ? attrs | tmpfs_flags[i].attr : attrs & ~tmpfs_flags[i].attr;
      }
    if (flag) continue;
    char *eq = strchr(o, '=');
    if (eq) *eq = 0;
    if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, o, eq ? eq + 1 : NULL, 0) < 0) {
      int e = errno;
      if (eq) *eq = '=';
      close(fs);
      return set_err(err, errlen, e, DAEMON "error mounting \"tmpfs\" to rootfs at \"%s\": tmpfs option %s", target, o);
    }
  }
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 || (mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs)) < 0) {
    int e = errno;
    close(fs);
    return set_err(err, errlen, e, DAEMON "error mounting \"tmpfs\" to rootfs at \"%s\"", target);
  }
  close(fs);
  return mnt;
}

int mounts_open(struct mount_spec *m, int n, int *fds, bool *is_dir, char *err, size_t errlen) {
  int i, rc = 0;
  for (i = 0; i < n; i++) fds[i] = -1;
  /* Docker's daemon checks every mount before it makes any volume. */
  for (i = 0; i < n; i++)
    if (m[i].type == MOUNT_BIND && m[i].source_needed && access(m[i].source, F_OK) < 0)
      return set_err(err, errlen, 0, DAEMON "invalid mount config for type \"bind\": bind source path does not exist: %s", m[i].source);
  for (i = 0; i < n; i++) {
    if (m[i].type == MOUNT_TMPFS) {
      if ((fds[i] = rc = tmpfs_open(m[i].target, m[i].tmpfs_options, err, errlen)) < 0) goto fail;
      is_dir[i] = true;
      continue;
    }
    if (m[i].type == MOUNT_VOLUME && !m[i].source) {
      m[i].source = random_volume_name();
      m[i].anonymous = true;
    }
    autofree char *path = m[i].type == MOUNT_VOLUME ? volume_data_dir(m[i].source) : xstrdup(m[i].source);
    if (m[i].type == MOUNT_VOLUME) {
      if ((rc = volume_create(m[i].source, m[i].anonymous, err, errlen)) < 0) goto fail;
    } else if (access(path, F_OK) < 0 && (rc = mkdir_p(path, 0755)) < 0) {
      /* Docker's -v makes a missing bind source as a directory (--mount would refuse it). */
      set_err(err, errlen, -rc, DAEMON "error while creating mount source path '%s'", path);
      goto fail;
    }
    struct stat st;
    fds[i] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m[i].nonrecursive ? 0 : AT_RECURSIVE));
    if (fds[i] < 0 || fstat(fds[i], &st) < 0) {
      rc = set_err(err, errlen, errno, "cloning the mount of %s", path);
      goto fail;
    }
    is_dir[i] = S_ISDIR(st.st_mode);
  }
  return 0;
fail:
  for (int k = 0; k < n; k++)
    if (fds[k] >= 0) close(fds[k]), fds[k] = -1;
  return rc < 0 ? rc : -EINVAL;
}

void mounts_remove_anonymous(const struct mount_spec *m, int n) {
  for (int i = 0; i < n; i++) {
    int rc = m[i].anonymous && m[i].source ? volume_remove(m[i].source) : 0;
    if (rc < 0 && rc != -ENOENT) log_msg("anonymous volume %s of a failed start not removed: %s", m[i].source, strerror(-rc));
  }
}

void mount_point_flags(const struct mount_spec *m, bool is_dir, char out[4]) {
  int n = 0;
  out[n++] = is_dir ? 'd' : 'f';
  if (m->type == MOUNT_VOLUME && !m->nocopy) out[n++] = 'c';
  if (m->read_only) out[n++] = 'r';
  out[n] = 0;
}

void mount_point_from_flags(struct mount_point *p, const char *flags) {
  p->is_dir = flags[0] == 'd';
  p->populate = strchr(flags, 'c') != NULL;
  p->read_only = strchr(flags, 'r') != NULL;
}

/* Is path under /dev while /dev is read-only (an unprivileged container's)? */
static bool under_readonly_dev(const char *path) {
  struct statvfs sv;
  return !strncmp(path, "/dev/", 5) && statvfs("/dev", &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* /dev read-only or writable again (this mount only: pts and shm keep theirs). */
static void dev_set_readonly(bool ro) {
  struct mount_attr a = {.attr_set = ro ? MOUNT_ATTR_RDONLY : 0, .attr_clr = ro ? 0 : MOUNT_ATTR_RDONLY};
  if (mount_setattr(AT_FDCWD, "/dev", 0, &a, sizeof a) < 0) die_with_error("making /dev %s", ro ? "read-only" : "writable");
}

/* The mount point of p: a directory, or an empty file (an existing one is taken as it is: opening
 * it for writing would make overlayfs copy it up whole, a 1 MB binary, only to be covered).
 * 0 or -errno. */
static int make_mount_point(const struct mount_point *p) {
  int rc;
  if (p->is_dir) return mkdir_p(p->target, 0755);
  autofree char *parent = xstrdup(p->target);
  *strrchr(parent, '/') = 0;
  rc = *parent ? mkdir_p(parent, 0755) : 0;
  struct stat st;
  if (rc == 0 && lstat(p->target, &st) < 0) {
    int fd = open(p->target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) rc = -errno;
    else close(fd);
  }
  return rc;
}

/* Is the target in the image's tree, or on the /dev or /sys the runtime mounted over it (whose
 * nodes and kernel files are no image data to copy)? */
static bool in_image(const char *target) {
  static const char *const ours[] = {"/dev", "/sys"};
  for (size_t i = 0; i < N_ELEMENTS(ours); i++) {
    size_t n = strlen(ours[i]);
    if (!strncmp(target, ours[i], n) && (!target[n] || target[n] == '/')) return false;
  }
  return true;
}

void mounts_attach(struct mount_point *points, int n, bool privileged) {
  /* Every copy first, from the image as it is (no volume over it yet), as Docker copies at create. */
  for (int i = 0; i < n; i++) {
    if (!points[i].populate || !in_image(points[i].target)) continue;
    int src = open(points[i].target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0) continue; /* nothing there in the image (or not a directory): nothing to copy */
    char err[512];
    long copied = volume_copy_image_dir(src, points[i].fd, err, sizeof err);
    close(src);
    if (copied < 0) die("copying the image's %s into its volume: %s", points[i].target, err);
  }
  for (int i = 0; i < n; i++) {
    struct mount_point *p = &points[i];
    struct mount_attr a = {.attr_set = (p->read_only ? MOUNT_ATTR_RDONLY : 0) | (privileged ? 0 : MOUNT_ATTR_NODEV)};
    if (a.attr_set && mount_setattr(p->fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
      die_with_error("setting the mount flags for %s", p->target);
    /* Docker's /dev is writable by root; ours is read-only (no devices cgroup), so a mount point
     * under it is made with it writable for that moment only. */
    bool dev = under_readonly_dev(p->target) && access(p->target, F_OK) < 0;
    if (dev) dev_set_readonly(false);
    int rc = make_mount_point(p);
    if (dev) dev_set_readonly(true);
    if (rc < 0) {
      errno = -rc;
      die_with_error("creating the mount point %s", p->target);
    }
    if (move_mount(p->fd, "", AT_FDCWD, p->target, MOVE_MOUNT_F_EMPTY_PATH) < 0) die_with_error("mounting on %s", p->target);
    close(p->fd);
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
    static const char *const types[] = {[MOUNT_VOLUME] = "volume", [MOUNT_BIND] = "bind", [MOUNT_TMPFS] = "tmpfs"};
    autofree char *src = vol && m[i].source ? volume_data_dir(m[i].source) : xstrdup(m[i].source ? m[i].source : "");
    buf_printf(b, "%s{\"Type\": \"%s\", ", i ? ",\n      " : "\n      ", types[m[i].type]);
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
               m[i].type == MOUNT_BIND ? "rprivate" : "");
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
  buf_printf(b, "    {\n        \"CreatedAt\": \"%s\",\n        \"Driver\": \"local\",\n        \"Labels\": %s,\n        \"Mountpoint\": ", created,
             volume_anonymous(name) ? "{\n            \"com.docker.volume.anonymous\": \"\"\n        }" : "null");
  buf_json_string(b, data);
  buf_printf(b, ",\n        \"Name\": ");
  buf_json_string(b, name);
  buf_printf(b, ",\n        \"Options\": null,\n        \"Scope\": \"local\"\n    }");
}

static const char volume_usage[] = "usage: box volume create [NAME] | ls [-q] | rm [-f] VOLUME… | inspect VOLUME… | prune [-a] [-f]\n";

/* What a volume holds, as moby's directory.Size counts it: the sizes of what is not a directory,
 * each inode once. */
struct du {
  uint64_t bytes;
  ino_t *seen;
  size_t nseen, cap;
};

static void du_dir(int dirfd, struct du *du) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    struct stat st;
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) du_dir(sub, du);
      continue;
    }
    if (!st.st_size) continue;
    bool seen = false;
    for (size_t i = 0; st.st_nlink > 1 && i < du->nseen && !seen; i++) seen = du->seen[i] == st.st_ino;
    if (seen) continue;
    if (st.st_nlink > 1) {
      if (du->nseen == du->cap) {
        du->cap = du->cap ? 2 * du->cap : 16;
        du->seen = realloc(du->seen, du->cap * sizeof *du->seen);
        if (!du->seen) abort();
      }
      du->seen[du->nseen++] = st.st_ino;
    }
    du->bytes += st.st_size;
  }
  closedir(d);
}

static uint64_t volume_size(const char *name) {
  autofree char *data = volume_data_dir(name);
  struct du du = {0};
  int fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) du_dir(fd, &du);
  free(du.seen);
  return du.bytes;
}

/* `volume prune`: what no container uses, anonymous ones only unless all. */
static int volume_prune(bool all, const char *(*in_use)(const char *name), struct buf *out) {
  char **names = volume_names();
  uint64_t reclaimed = 0;
  int deleted = 0, code = 0;
  struct buf list = {0};
  for (char **p = names; *p; p++) {
    if ((!all && !volume_anonymous(*p)) || in_use(*p)) continue;
    uint64_t size = volume_size(*p);
    int rc = volume_remove(*p);
    if (rc < 0) {
      buf_printf(out, DAEMON "remove %s: %s\n", *p, strerror(-rc));
      code = 1;
      continue;
    }
    buf_printf(&list, "%s\n", *p);
    reclaimed += size;
    deleted++;
  }
  free_names(names);
  char size[32];
  human_size(size, sizeof size, (double)reclaimed, 4);
  if (deleted) buf_printf(out, "Deleted Volumes:\n%.*s\n", (int)list.len, list.data);
  buf_printf(out, "Total reclaimed space: %s\n", size);
  buf_free(&list);
  return code;
}

int volume_verb(char **ops, int nops, struct volume_flags flags, const char *(*in_use)(const char *name), struct buf *out) {
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
    if (volume_create(name, false, err, sizeof err) < 0) {
      buf_printf(out, DAEMON "%s\n", err);
      return 1;
    }
    buf_printf(out, "%s\n", name);
    return 0;
  }
  if (!strcmp(sub, "ls") || !strcmp(sub, "list")) {
    char **names = volume_names();
    if (!flags.quiet) buf_printf(out, "%-10s%s\n", "DRIVER", "VOLUME NAME");
    for (char **p = names; *p; p++) buf_printf(out, flags.quiet ? "%.0s%s\n" : "%-10s%s\n", "local", *p);
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
        /* -f: a volume that is not there is no error (moby's VolumeRm with force), named as removed. */
        if (flags.force) buf_printf(out, "%s\n", ops[i]);
        else buf_printf(out, DAEMON "get %s: no such volume\n", ops[i]);
        code |= !flags.force;
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
  if (!strcmp(sub, "prune")) {
    if (nops > 1) {
      buf_printf(out, "\"box volume prune\" accepts no arguments.\n");
      return 1;
    }
    return volume_prune(flags.all, in_use, out);
  }
  if (*sub) buf_printf(out, "box: 'volume %s' is not a box command\n", sub);
  buf_printf(out, "%s", volume_usage);
  return 1;
}
