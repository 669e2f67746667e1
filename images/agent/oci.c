#define _GNU_SOURCE
#include "oci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "options.h"
#include "util.h"

int digest_hex(const char *digest, char hex[65]) {
  if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 7 + 64) return -EINVAL;
  for (int i = 0; i < 64; i++) {
    char c = digest[7 + i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return -EINVAL;
    hex[i] = c;
  }
  hex[64] = 0;
  return 0;
}

struct json *oci_read_json_blob(const char *dir, const char *digest, char *err, size_t errlen) {
  char hex[65];
  if (digest_hex(digest, hex) < 0) {
    set_err(err, errlen, 0, "bad digest '%s'", digest ? digest : "(none)");
    return NULL;
  }
  autofree char *path = xasprintf("%s/blobs/sha256/%s", dir, hex);
  autofree char *text = read_file(path, NULL);
  if (!text) {
    set_err(err, errlen, errno, "%s", path);
    return NULL;
  }
  struct json *j = json_parse(text);
  if (!j) set_err(err, errlen, 0, "%s: malformed JSON", path);
  return j;
}

static char **string_array(const struct json *a, char **prefix) {
  int n = 0, np = 0;
  while (prefix && prefix[np]) np++;
  char **v = xcalloc(np + json_length(a) + 1, sizeof *v);
  for (int i = 0; i < np; i++) v[n++] = prefix[i];
  free(prefix);
  if (a && a->type == JSON_ARRAY)
    for (struct json *e = a->child; e; e = e->next)
      if (e->type == JSON_STRING) v[n++] = xstrdup(e->string);
  return v;
}

static int load_manifest(const char *dir, struct image *im, char *err, size_t errlen) {
  struct json *m = oci_read_json_blob(dir, im->digest, err, errlen);
  if (!m) return -EINVAL;
  int rc = -EINVAL;
  struct json *layers = json_get(m, "layers");
  if (!layers || layers->type != JSON_ARRAY || json_length(layers) > OCI_MAX_LAYERS) {
    set_err(err, errlen, 0, "image %s: manifest has no usable layers list", im->name);
    goto out;
  }
  for (struct json *l = layers->child; l; l = l->next) {
    char hex[65];
    if (digest_hex(json_get_string(l, "digest"), hex) < 0) {
      set_err(err, errlen, 0, "image %s: bad layer digest", im->name);
      goto out;
    }
    struct json *size = json_get(l, "size");
    im->layer_sizes[im->nlayers] = size && size->type == JSON_NUMBER ? (uint64_t)size->number : 0;
    im->size += im->layer_sizes[im->nlayers];
    im->layers[im->nlayers++] = xstrdup(hex);
  }
  struct json *config = oci_read_json_blob(dir, json_get_string(json_get(m, "config"), "digest"), err, errlen);
  if (!config) goto out;
  struct json *c = json_get(config, "config");
  im->cmd = string_array(json_get(c, "Cmd"), string_array(json_get(c, "Entrypoint"), NULL));
  im->env = string_array(json_get(c, "Env"), NULL);
  im->workdir = xstrdup(json_get_string(c, "WorkingDir"));
  im->volumes = json_object_keys(json_get(c, "Volumes"));
  im->created = xstrdup(json_get_string(config, "created"));
  json_free(config);
  rc = 0;
out:
  json_free(m);
  return rc;
}

static void image_free(struct image *im) {
  free(im->name);
  free(im->digest);
  for (int i = 0; i < im->nlayers; i++) free(im->layers[i]);
  free_args(im->cmd);
  free_args(im->env);
  free(im->workdir);
  free_args(im->volumes);
  free(im->created);
  memset(im, 0, sizeof *im);
}

void image_list_free(struct image_list *images) {
  for (int i = 0; i < images->n; i++) image_free(&images->v[i]);
  free(images->v);
  *images = (struct image_list){0};
}

int oci_load(const char *dir, struct image_list *out, char *err, size_t errlen) {
  autofree char *path = xasprintf("%s/index.json", dir);
  autofree char *text = read_file(path, NULL);
  if (!text) return set_err(err, errlen, errno, "%s", path);
  struct json *index = json_parse(text);
  struct json *manifests = json_get(index, "manifests");
  if (!manifests || manifests->type != JSON_ARRAY) {
    json_free(index);
    return set_err(err, errlen, 0, "%s: no manifests", path);
  }
  out->v = xcalloc(json_length(manifests), sizeof *out->v);
  out->n = 0;
  int rc = 0;
  for (struct json *e = manifests->child; e; e = e->next) {
    const char *name = json_get_string(json_get(e, "annotations"), "org.opencontainers.image.ref.name");
    struct image *im = &out->v[out->n];
    memset(im, 0, sizeof *im);
    im->name = xstrdup(name ? name : "");
    im->digest = xstrdup(json_get_string(e, "digest"));
    if ((rc = load_manifest(dir, im, err, errlen)) < 0) {
      image_free(im); /* the images before it stay loaded */
      break;
    }
    out->n++;
  }
  json_free(index);
  return rc;
}

/* An image ID as Docker takes one: "sha256:<hex>" or a prefix of at least 12 of the hex digits. */
static struct image *image_by_id(const struct image_list *images, const char *ref) {
  const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
  size_t n = strlen(hex);
  if (n < 12 || n > 64 || strspn(hex, "0123456789abcdef") != n) return NULL;
  struct image *found = NULL;
  for (int i = 0; i < images->n; i++) {
    const char *d = images->v[i].digest;
    if (!d || strncmp(d, "sha256:", 7) || strncmp(d + 7, hex, n)) continue;
    if (found && strcmp(found->digest, d)) return NULL; /* ambiguous */
    if (!found || (!*found->name && *images->v[i].name)) found = &images->v[i];
  }
  return found;
}

struct image *image_find(const struct image_list *images, const char *ref) {
  size_t len = strlen(ref);
  const char *tag = strrchr(ref, ':');
  if (tag && !strcmp(tag, ":latest")) len = tag - ref;
  for (int i = 0; i < images->n; i++)
    if (*images->v[i].name && strlen(images->v[i].name) == len && !strncmp(images->v[i].name, ref, len)) return &images->v[i];
  return image_by_id(images, ref);
}


char *layer_dir(const char *hex) { return xasprintf("%s/layers/%s", cfg.state, hex); }

/* Where the layer store is itself on an overlay (the container host's), overlayfs refuses to create
 * 0/0 devices; since Linux 6.7 an "xattr whiteout" says the same in a lower layer: an empty file with
 * trusted.overlay.whiteout in a directory with trusted.overlay.opaque=x (kernel
 * Documentation/filesystems/overlayfs.rst, "Whiteouts and opaque directories", "Nesting overlayfs
 * mounts"). Set through the host's overlay, the xattrs are stored escaped and seen as such by the
 * container's overlay. */
static int xattr_whiteout(int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int rc = fsetxattr(fd, "trusted.overlay.whiteout", "", 0, 0) < 0 || fsetxattr(dirfd, "trusted.overlay.opaque", "x", 1, 0) < 0 ? -errno : 0;
  close(fd);
  if (rc < 0) errno = -rc;
  return rc;
}

static int whiteouts_at(int dirfd) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return -errno;
  }
  int rc = 0;
  struct dirent *e;
  /* In an opaque directory whiteouts serve no purpose (overlayfs.rst): they are only removed. */
  bool opaque = faccessat(dirfd, ".wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
    if (!strcmp(n, ".wh..wh..opq")) {
      /* Opaque directory: lower layers' entries are hidden. */
      if (unlinkat(dirfd, n, 0) < 0 || fsetxattr(dirfd, "trusted.overlay.opaque", "y", 1, 0) < 0) rc = -errno;
    } else if (!strncmp(n, ".wh.", 4)) {
      /* Deleted file: overlayfs wants a 0/0 character device of the same name. */
      if (unlinkat(dirfd, n, 0) < 0) rc = -errno;
      else if (!opaque && mknodat(dirfd, n + 4, S_IFCHR | 0, makedev(0, 0)) < 0 && (errno != EPERM || xattr_whiteout(dirfd, n + 4) < 0))
        rc = -errno;
    } else if (e->d_type == DT_DIR) {
      int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int r = sub < 0 ? -errno : whiteouts_at(sub);
      if (r < 0) rc = r;
    }
  }
  closedir(d);
  return rc;
}

int whiteouts_to_overlay(const char *root) {
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  return whiteouts_at(fd);
}

int layer_ensure(const char *hex, char *err, size_t errlen) {
  autofree char *dir = layer_dir(hex);
  if (access(dir, F_OK) == 0) return 0;
  autofree char *tmp = xasprintf("%s.tmp", dir);
  autofree char *blob = xasprintf("%s/blobs/sha256/%s", cfg.oci, hex);
  if (access(blob, R_OK) < 0) return set_err(err, errlen, errno, "layer %.12s", hex);
  rm_rf(tmp);
  int rc = mkdir_p(tmp, 0755);
  if (rc < 0) return set_err(err, errlen, -rc, "%s", tmp);
  pid_t pid = fork();
  if (pid < 0) return set_err(err, errlen, errno, "fork");
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) dup2(null, 0);
    /* Layers are gzip'd tars (the images we ship) or plain ones (application/vnd.oci.image.layer.v1.tar,
     * what `box build` writes): the magic number says which. */
    unsigned char magic[2] = {0};
    int fd = open(blob, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) (void)!read(fd, magic, 2), close(fd);
    bool gzip = magic[0] == 0x1f && magic[1] == 0x8b;
    execl(cfg.tar, "tar", gzip ? "-xzf" : "-xf", blob, "-C", tmp, (char *)NULL);
    die_with_error("exec %s", cfg.tar);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return set_err(err, errlen, errno, "waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    rm_rf(tmp);
    return set_err(err, errlen, 0, "unpacking layer %.12s failed (tar status %d)", hex, status);
  }
  if ((rc = whiteouts_to_overlay(tmp)) < 0) return set_err(err, errlen, -rc, "whiteouts in layer %.12s", hex);
  if (rename(tmp, dir) < 0) return set_err(err, errlen, errno, "rename %s", tmp);
  return 0;
}
