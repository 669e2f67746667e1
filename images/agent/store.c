/* Writing the OCI layout (see store.h). */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "json.h"
#include "options.h"
#include "tar.h"
#include "util.h"

/* ------------------------------------------------------------------ JSON out */

static void json_emit(struct buf *b, const struct json *j) {
  switch (j->type) {
  case JSON_NULL: buf_printf(b, "null"); break;
  case JSON_BOOL: buf_printf(b, j->number ? "true" : "false"); break;
  case JSON_NUMBER: buf_printf(b, "%.17g", j->number); break;
  case JSON_STRING: buf_json_string(b, j->string); break;
  case JSON_ARRAY:
  case JSON_OBJECT:
    buf_append(b, j->type == JSON_ARRAY ? "[" : "{", 1);
    for (const struct json *e = j->child; e; e = e->next) {
      if (e != j->child) buf_append(b, ",", 1);
      if (j->type == JSON_OBJECT) {
        buf_json_string(b, e->key ? e->key : "");
        buf_append(b, ":", 1);
      }
      json_emit(b, e);
    }
    buf_append(b, j->type == JSON_ARRAY ? "]" : "}", 1);
    break;
  }
}

static void json_string_array(struct buf *b, char **v) {
  buf_append(b, "[", 1);
  for (char **p = v; p && *p; p++) {
    if (p != v) buf_append(b, ",", 1);
    buf_json_string(b, *p);
  }
  buf_append(b, "]", 1);
}

static char **strings_of(const struct json *a) {
  if (!a || a->type != JSON_ARRAY) return NULL;
  char **v = xcalloc(json_length(a) + 1, sizeof *v);
  int n = 0;
  for (struct json *e = a->child; e; e = e->next)
    if (e->type == JSON_STRING) v[n++] = xstrdup(e->string);
  return v;
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* ------------------------------------------------------------------ blobs */

bool store_has_blob(const char *oci, const char *hex) {
  autofree char *p = xasprintf("%s/blobs/sha256/%s", oci, hex);
  return access(p, R_OK) == 0;
}

int store_blob_tmp(const char *oci, char **path, char *err, size_t errlen) {
  autofree char *dir = xasprintf("%s/blobs/sha256", oci);
  int rc = mkdir_p(dir, 0755);
  if (rc < 0) return set_err(err, errlen, -rc, "%s", dir);
  *path = xasprintf("%s/.tmp-XXXXXX", dir);
  int fd = mkostemp(*path, O_CLOEXEC);
  if (fd < 0) {
    rc = set_err(err, errlen, errno, "creating a blob in %s", dir);
    free(*path);
    *path = NULL;
    return rc;
  }
  fchmod(fd, 0644);
  return fd;
}

int store_commit_blob(const char *oci, const char *tmp_path, const char *hex, char *err, size_t errlen) {
  autofree char *p = xasprintf("%s/blobs/sha256/%s", oci, hex);
  if (rename(tmp_path, p) < 0) {
    int e = errno;
    unlink(tmp_path);
    return set_err(err, errlen, e, "storing blob %s", p);
  }
  return 0;
}

int store_put_blob(const char *oci, const void *data, size_t n, char hex[65], char *err, size_t errlen) {
  sha256_hex(data, n, hex);
  if (store_has_blob(oci, hex)) return 0;
  autofree char *tmp = NULL;
  int fd = store_blob_tmp(oci, &tmp, err, errlen);
  if (fd < 0) return fd;
  int rc = write_all(fd, data, n);
  if (close(fd) < 0 && rc == 0) rc = -errno;
  if (rc < 0) {
    unlink(tmp);
    return set_err(err, errlen, -rc, "writing blob %.12s", hex);
  }
  return store_commit_blob(oci, tmp, hex, err, errlen);
}

/* ------------------------------------------------------------------ image config and manifest */

void image_config_free(struct image_config *c) {
  free(c->created);
  free(c->architecture);
  free(c->os);
  free_args(c->env);
  free_args(c->cmd);
  free_args(c->entrypoint);
  free_args(c->ports);
  free_args(c->volumes);
  free_args(c->labels);
  free(c->workdir);
  for (int i = 0; i < c->nhistory; i++) {
    free(c->history[i].created);
    free(c->history[i].created_by);
    free(c->history[i].comment);
  }
  free(c->history);
  memset(c, 0, sizeof *c);
}

static char **object_pairs(const struct json *o) {
  if (!o || o->type != JSON_OBJECT) return NULL;
  char **v = xcalloc(2 * json_length(o) + 1, sizeof *v);
  int n = 0;
  for (struct json *e = o->child; e; e = e->next) {
    v[n++] = xstrdup(e->key);
    v[n++] = xstrdup(e->type == JSON_STRING ? e->string : "");
  }
  return v;
}

int store_read_image(const char *oci, const char *manifest_hex, struct image_config *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  autofree char *digest = xasprintf("sha256:%s", manifest_hex);
  struct json *m = oci_read_json_blob(oci, digest, err, errlen);
  if (!m) return -EINVAL;
  struct json *cfgj = oci_read_json_blob(oci, json_get_string(json_get(m, "config"), "digest"), err, errlen);
  int rc = -EINVAL;
  if (!cfgj) goto out;
  struct json *layers = json_get(m, "layers");
  struct json *diff_ids = json_get(json_get(cfgj, "rootfs"), "diff_ids");
  if (!layers || layers->type != JSON_ARRAY || json_length(layers) > OCI_MAX_LAYERS ||
      json_length(layers) != json_length(diff_ids)) {
    set_err(err, errlen, 0, "image %.12s: layers and rootfs.diff_ids disagree", manifest_hex);
    goto out;
  }
  struct json *d = diff_ids->child;
  for (struct json *l = layers->child; l; l = l->next, d = d->next) {
    struct layer_desc *ld = &out->layers[out->nlayers];
    const char *mt = json_get_string(l, "mediaType");
    snprintf(ld->media_type, sizeof ld->media_type, "%s", mt ? mt : MT_LAYER_TAR);
    struct json *size = json_get(l, "size");
    ld->size = size && size->type == JSON_NUMBER ? (uint64_t)size->number : 0;
    if (digest_hex(json_get_string(l, "digest"), ld->hex) < 0 || d->type != JSON_STRING || digest_hex(d->string, ld->diff_id) < 0) {
      set_err(err, errlen, 0, "image %.12s: bad layer digest", manifest_hex);
      goto out;
    }
    out->nlayers++;
  }
  struct json *c = json_get(cfgj, "config");
  out->created = dup_or_null(json_get_string(cfgj, "created"));
  out->architecture = dup_or_null(json_get_string(cfgj, "architecture"));
  out->os = dup_or_null(json_get_string(cfgj, "os"));
  out->env = strings_of(json_get(c, "Env"));
  out->cmd = strings_of(json_get(c, "Cmd"));
  out->entrypoint = strings_of(json_get(c, "Entrypoint"));
  out->workdir = dup_or_null(json_get_string(c, "WorkingDir"));
  out->ports = json_object_keys(json_get(c, "ExposedPorts"));
  out->volumes = json_object_keys(json_get(c, "Volumes"));
  out->labels = object_pairs(json_get(c, "Labels"));
  struct json *h = json_get(cfgj, "history");
  if (h && h->type == JSON_ARRAY) {
    out->history = xcalloc(json_length(h) + 1, sizeof *out->history);
    for (struct json *e = h->child; e; e = e->next) {
      struct history_entry *he = &out->history[out->nhistory++];
      he->created = dup_or_null(json_get_string(e, "created"));
      he->created_by = dup_or_null(json_get_string(e, "created_by"));
      he->comment = dup_or_null(json_get_string(e, "comment"));
      struct json *empty = json_get(e, "empty_layer");
      he->empty_layer = empty && empty->type == JSON_BOOL && empty->number;
    }
  }
  rc = 0;
out:
  json_free(cfgj);
  json_free(m);
  if (rc < 0) image_config_free(out);
  return rc;
}

int store_write_image(const char *oci, const struct image_config *c, char manifest_hex[65], uint64_t *manifest_size,
                      char *err, size_t errlen) {
  /* Config (config.md): keys in a fixed order so the same image always has the same digest. */
  struct buf b = {0};
  buf_printf(&b, "{\"created\":");
  buf_json_string(&b, c->created ? c->created : "1970-01-01T00:00:00Z");
  buf_printf(&b, ",\"architecture\":");
  buf_json_string(&b, c->architecture ? c->architecture : "386");
  buf_printf(&b, ",\"os\":");
  buf_json_string(&b, c->os ? c->os : "linux");
  buf_printf(&b, ",\"config\":{");
  int fields = 0;
  if (c->env) buf_printf(&b, "%s\"Env\":", fields++ ? "," : ""), json_string_array(&b, c->env);
  if (c->entrypoint) buf_printf(&b, "%s\"Entrypoint\":", fields++ ? "," : ""), json_string_array(&b, c->entrypoint);
  if (c->cmd) buf_printf(&b, "%s\"Cmd\":", fields++ ? "," : ""), json_string_array(&b, c->cmd);
  if (c->workdir) buf_printf(&b, "%s\"WorkingDir\":", fields++ ? "," : ""), buf_json_string(&b, c->workdir);
  if (c->ports && c->ports[0]) {
    buf_printf(&b, "%s\"ExposedPorts\":{", fields++ ? "," : "");
    for (char **p = c->ports; *p; p++) buf_json_string(&b, *p), buf_printf(&b, ":{}%s", p[1] ? "," : "");
    buf_append(&b, "}", 1);
  }
  if (c->volumes && c->volumes[0]) {
    buf_printf(&b, "%s\"Volumes\":{", fields++ ? "," : "");
    for (char **p = c->volumes; *p; p++) buf_json_string(&b, *p), buf_printf(&b, ":{}%s", p[1] ? "," : "");
    buf_append(&b, "}", 1);
  }
  if (c->labels && c->labels[0]) {
    buf_printf(&b, "%s\"Labels\":{", fields++ ? "," : "");
    for (char **p = c->labels; p[0] && p[1]; p += 2) {
      buf_json_string(&b, p[0]);
      buf_append(&b, ":", 1);
      buf_json_string(&b, p[1]);
      if (p[2]) buf_append(&b, ",", 1);
    }
    buf_append(&b, "}", 1);
  }
  buf_printf(&b, "},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
  for (int i = 0; i < c->nlayers; i++) buf_printf(&b, "%s\"sha256:%s\"", i ? "," : "", c->layers[i].diff_id);
  buf_printf(&b, "]},\"history\":[");
  for (int i = 0; i < c->nhistory; i++) {
    const struct history_entry *h = &c->history[i];
    buf_printf(&b, "%s{\"created\":", i ? "," : "");
    buf_json_string(&b, h->created ? h->created : "1970-01-01T00:00:00Z");
    buf_printf(&b, ",\"created_by\":");
    buf_json_string(&b, h->created_by ? h->created_by : "");
    if (h->comment) buf_printf(&b, ",\"comment\":"), buf_json_string(&b, h->comment);
    if (h->empty_layer) buf_printf(&b, ",\"empty_layer\":true");
    buf_append(&b, "}", 1);
  }
  buf_printf(&b, "]}");
  char config_hex[65];
  int rc = store_put_blob(oci, b.data, b.len, config_hex, err, errlen);
  size_t config_size = b.len;
  buf_free(&b);
  if (rc < 0) return rc;
  /* Manifest (manifest.md). */
  buf_printf(&b, "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",\"config\":{\"mediaType\":\"" MT_CONFIG
                 "\",\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[",
             config_hex, config_size);
  for (int i = 0; i < c->nlayers; i++) {
    buf_printf(&b, "%s{\"mediaType\":", i ? "," : "");
    buf_json_string(&b, c->layers[i].media_type);
    buf_printf(&b, ",\"digest\":\"sha256:%s\",\"size\":%llu}", c->layers[i].hex, (unsigned long long)c->layers[i].size);
  }
  buf_printf(&b, "]}");
  rc = store_put_blob(oci, b.data, b.len, manifest_hex, err, errlen);
  *manifest_size = b.len;
  buf_free(&b);
  return rc;
}

/* ------------------------------------------------------------------ index.json */

static struct json *new_node(enum json_type t, const char *key, const char *string) {
  struct json *j = xcalloc(1, sizeof *j);
  j->type = t;
  j->key = dup_or_null(key);
  j->string = dup_or_null(string);
  return j;
}

static void append_child(struct json *parent, struct json *child) {
  struct json **p = &parent->child;
  while (*p) p = &(*p)->next;
  *p = child;
}

static const char REF_NAME[] = "org.opencontainers.image.ref.name";

/* Remove the ref.name annotation equal to tag from an index entry. */
static void untag(struct json *entry, const char *tag) {
  struct json *ann = json_get(entry, "annotations");
  if (!ann) return;
  for (struct json **p = &ann->child; *p; p = &(*p)->next) {
    if ((*p)->key && !strcmp((*p)->key, REF_NAME) && (*p)->type == JSON_STRING && !strcmp((*p)->string, tag)) {
      struct json *gone = *p;
      *p = gone->next;
      gone->next = NULL;
      json_free(gone);
      return;
    }
  }
}

int store_index_add(const char *oci, const char *manifest_hex, uint64_t size, const char *tag, char *err, size_t errlen) {
  autofree char *lock_path = xasprintf("%s/index.json.lock", oci);
  autoclose int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || flock(lock, LOCK_EX) < 0) return set_err(err, errlen, errno, "locking %s", lock_path);
  autofree char *path = xasprintf("%s/index.json", oci);
  autofree char *text = read_file(path, NULL);
  struct json *index = text ? json_parse(text) : NULL;
  if (!index) {
    if (text) return set_err(err, errlen, 0, "%s: malformed JSON", path);
    index = json_parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_INDEX "\",\"manifests\":[]}");
  }
  struct json *manifests = json_get(index, "manifests");
  if (!manifests || manifests->type != JSON_ARRAY) {
    json_free(index);
    return set_err(err, errlen, 0, "%s: no manifests list", path);
  }
  autofree char *digest = xasprintf("sha256:%s", manifest_hex);
  struct json *mine = NULL;
  for (struct json *e = manifests->child; e; e = e->next) {
    const char *d = json_get_string(e, "digest");
    if (tag) untag(e, tag);
    /* An image already named otherwise gets a second entry for the new name (as skopeo and
     * containerd list two tags of one manifest), or `box load` of it under a new name would tag nothing. */
    bool named = json_get_string(json_get(e, "annotations"), REF_NAME) != NULL;
    if (d && !strcmp(d, digest) && !mine && (!tag || !named)) mine = e;
  }
  if (mine && !tag) {
    json_free(index); /* already listed, nothing to name: index.json stays as it is */
    return 0;
  }
  if (!mine) {
    mine = new_node(JSON_OBJECT, NULL, NULL);
    append_child(mine, new_node(JSON_STRING, "mediaType", MT_MANIFEST));
    append_child(mine, new_node(JSON_STRING, "digest", digest));
    struct json *sz = new_node(JSON_NUMBER, "size", NULL);
    sz->number = (double)size;
    append_child(mine, sz);
    append_child(manifests, mine);
  }
  if (tag) {
    struct json *ann = json_get(mine, "annotations");
    if (!ann) append_child(mine, ann = new_node(JSON_OBJECT, "annotations", NULL));
    append_child(ann, new_node(JSON_STRING, REF_NAME, tag));
  }
  struct buf b = {0};
  json_emit(&b, index);
  json_free(index);
  buf_append(&b, "", 1);
  autofree char *tmp = xasprintf("%s/index.json.tmp", oci);
  int rc = write_file(tmp, b.data);
  buf_free(&b);
  if (rc < 0 || rename(tmp, path) < 0) return set_err(err, errlen, rc < 0 ? -rc : errno, "writing %s", path);
  return 0;
}

/* ------------------------------------------------------------------ boxd's view */

int store_refresh(const char *oci, struct image_list *images, struct container **containers, int ncontainers) {
  static struct stat last;
  static bool have_last;
  autofree char *path = xasprintf("%s/index.json", oci);
  struct stat st;
  if (stat(path, &st) < 0) return 0;
  if (have_last && st.st_ino == last.st_ino && st.st_size == last.st_size && st.st_mtim.tv_sec == last.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == last.st_mtim.tv_nsec)
    return 0;
  struct image_list fresh = {0};
  char err[512];
  if (oci_load(oci, &fresh, err, sizeof err) < 0) {
    log_msg("images: %s (keeping the %d images already known)", err, images->n);
    return 0; /* leave `last` unset: try again next time */
  }
  last = st;
  have_last = true;
  bool old_still_used = false;
  for (int i = 0; i < ncontainers; i++) {
    struct container *c = containers[i];
    if (!c || !c->image) continue;
    struct image *same = NULL;
    for (int k = 0; k < fresh.n && !same; k++)
      if (fresh.v[k].digest && c->image->digest && !strcmp(fresh.v[k].digest, c->image->digest)) same = &fresh.v[k];
    if (same) c->image = same;
    else old_still_used = true;
  }
  /* A container whose image left the index keeps the old record: the old list stays (a few hundred bytes). */
  if (!old_still_used) image_list_free(images);
  *images = fresh;
  log_msg("%d images in %s (index.json changed)", images->n, oci);
  return 1;
}

uint64_t image_shared_bytes(const struct image_list *images, const struct image *im) {
  uint64_t shared = 0;
  for (int k = 0; k < im->nlayers; k++) {
    bool seen = false;
    for (int i = 0; i < images->n && !seen; i++) {
      const struct image *o = &images->v[i];
      if (o == im || !*o->name || (o->digest && im->digest && !strcmp(o->digest, im->digest))) continue;
      for (int j = 0; j < o->nlayers && !seen; j++) seen = !strcmp(o->layers[j], im->layers[k]);
    }
    if (seen) shared += im->layer_sizes[k];
  }
  return shared;
}
