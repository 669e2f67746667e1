/* `box save` and `box load` (see build.h): OCI archives, i.e. an OCI image layout (oci-layout,
 * index.json, blobs/sha256/…) as one tar, what `skopeo copy … oci-archive:FILE` and
 * `podman save --format oci-archive` make and read. Loading stages every blob in a directory of
 * the store, checks each against its digest and each manifest against what it names, and only
 * then moves the blobs in and names the images: a truncated or damaged archive leaves nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "config.h"
#include "json.h"
#include "options.h"
#include "store.h"
#include "tar.h"
#include "util.h"

static const char OCI_LAYOUT[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

/* ------------------------------------------------------------------ save */

struct saved { char hex[65]; };

static int save_blob(struct tar_writer *w, const char *hex, struct saved **done, int *ndone, char *err, size_t errlen) {
  for (int i = 0; i < *ndone; i++)
    if (!strcmp((*done)[i].hex, hex)) return 0; /* a layer two images share goes in once */
  autofree char *path = xasprintf("%s/blobs/sha256/%s", cfg.oci, hex);
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return set_err(err, errlen, errno, "%s", path);
  struct tar_entry e = {.type = TAR_FILE, .mode = 0644, .size = (uint64_t)st.st_size};
  snprintf(e.path, sizeof e.path, "blobs/sha256/%s", hex);
  if (tar_write_file(w, &e, fd) < 0) return set_err(err, errlen, -w->error, "writing %s", e.path);
  *done = realloc(*done, (*ndone + 1) * sizeof **done);
  if (!*done) abort();
  memcpy((*done)[(*ndone)++].hex, hex, 65);
  return 0;
}

int archive_write(struct tar_writer *w, struct image *const *chosen, int n, char *err, size_t errlen) {
  struct tar_entry e = {.type = TAR_FILE, .mode = 0644};
  snprintf(e.path, sizeof e.path, "oci-layout");
  tar_write_bytes(w, &e, OCI_LAYOUT, strlen(OCI_LAYOUT));
  /* index.json: one entry per image, named as Docker's and containerd's OCI exports name them. */
  struct buf index = {0};
  buf_printf(&index, "{\"schemaVersion\":2,\"mediaType\":\"" MT_INDEX "\",\"manifests\":[");
  for (int i = 0; i < n; i++) {
    char hex[65];
    digest_hex(chosen[i]->digest, hex);
    autofree char *mpath = xasprintf("%s/blobs/sha256/%s", cfg.oci, hex);
    struct stat st = {0};
    stat(mpath, &st);
    const char *name = chosen[i]->name;
    autofree char *ref = *name ? (strchr(name, ':') ? xstrdup(name) : xasprintf("%s:latest", name)) : NULL;
    buf_printf(&index, "%s{\"mediaType\":\"" MT_MANIFEST "\",\"digest\":\"%s\",\"size\":%lld", i ? "," : "",
               chosen[i]->digest, (long long)st.st_size);
    if (ref) {
      buf_printf(&index, ",\"annotations\":{\"io.containerd.image.name\":");
      buf_json_string(&index, ref);
      buf_printf(&index, ",\"org.opencontainers.image.ref.name\":");
      buf_json_string(&index, ref);
      buf_printf(&index, "}");
    }
    buf_printf(&index, "}");
  }
  buf_printf(&index, "]}");
  snprintf(e.path, sizeof e.path, "index.json");
  tar_write_bytes(w, &e, index.data, index.len);
  buf_free(&index);
  struct tar_entry d = {.type = TAR_DIR, .mode = 0755};
  snprintf(d.path, sizeof d.path, "blobs");
  tar_write_header(w, &d);
  snprintf(d.path, sizeof d.path, "blobs/sha256");
  tar_write_header(w, &d);
  struct saved *done = NULL;
  int ndone = 0, rc = 0;
  for (int i = 0; i < n && !rc; i++) {
    char hex[65], chex[65];
    struct image_config c;
    digest_hex(chosen[i]->digest, hex);
    if ((rc = store_read_image(cfg.oci, hex, &c, err, errlen)) < 0) break;
    autofree char *mpath = xasprintf("%s/blobs/sha256/%s", cfg.oci, hex);
    autofree char *mjson = read_file(mpath, NULL);
    struct json *m = mjson ? json_parse(mjson) : NULL;
    if (!m || digest_hex(json_get_string(json_get(m, "config"), "digest"), chex) < 0)
      rc = set_err(err, errlen, 0, "image %s: unreadable manifest", chosen[i]->name);
    json_free(m);
    if (!rc) rc = save_blob(w, hex, &done, &ndone, err, errlen);
    if (!rc) rc = save_blob(w, chex, &done, &ndone, err, errlen);
    for (int k = 0; k < c.nlayers && !rc; k++) rc = save_blob(w, c.layers[k].hex, &done, &ndone, err, errlen);
    image_config_free(&c);
  }
  free(done);
  char hex[65];
  if (!rc && tar_finish(w, hex) < 0) rc = set_err(err, errlen, -w->error, "writing the archive");
  return rc;
}

/* The images named by operands, or -1 with the first unknown one in out. */
static int choose(const struct image_list *images, char **names, int nnames, struct image **chosen, int max, struct buf *out) {
  if (nnames > max) {
    buf_printf(out, "box save: at most %d images at once\n", max);
    return -1;
  }
  for (int i = 0; i < nnames; i++)
    if (!(chosen[i] = image_find(images, names[i]))) {
      buf_printf(out, "Error response from daemon: No such image: %s\n", names[i]);
      return -1;
    }
  return nnames;
}

int save_verb(const struct image_list *images, const struct verb_args *a, struct buf *out, struct buf *notes) {
  struct image *chosen[16];
  if (a->noperands < 1 || a->value[O_OUTPUT]) {
    buf_printf(notes, "usage over the mux: save IMAGE... (the archive is the answer; -o is the CLI's)\n");
    return 125;
  }
  int n = choose(images, a->operands, a->noperands, chosen, N_ELEMENTS(chosen), notes);
  if (n < 0) return 1;
  struct tar_writer w;
  tar_writer_init_buf(&w, out);
  char err[1024];
  if (archive_write(&w, chosen, n, err, sizeof err) < 0) {
    out->len = 0;
    buf_printf(notes, "box save: %s\n", err);
    return 1;
  }
  return 0;
}

int save_main(int argc, char **argv) {
  config_load();
  struct verb_args a;
  char err[1024] = "";
  if (parse_verb("save", argc, argv, &a, err, sizeof err) < 0 || a.noperands < 1) {
    fprintf(stderr, "box save: %s\n", *err ? err : "requires at least 1 argument: box save IMAGE... -o FILE");
    verb_args_free(&a);
    return 125;
  }
  const char *out = a.value[O_OUTPUT];
  if (!out && isatty(1)) {
    fprintf(stderr, "box save: cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    verb_args_free(&a);
    return 1;
  }
  struct image_list images = {0};
  struct image *chosen[16];
  struct buf msg = {0};
  int code = 0, n = 0;
  if (oci_load(cfg.oci, &images, err, sizeof err) < 0) code = 1, buf_printf(&msg, "box save: %s\n", err);
  else if ((n = choose(&images, a.operands, a.noperands, chosen, N_ELEMENTS(chosen), &msg)) < 0) code = 1;
  autofree char *tmp = NULL;
  int fd = 1;
  if (!code && out && strcmp(out, "-")) {
    tmp = xasprintf("%s.tmp-%d", out, (int)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
      code = 1, buf_printf(&msg, "box save: %s: %s\n", out, strerror(errno));
  }
  if (!code) {
    struct tar_writer w;
    tar_writer_init(&w, fd);
    if (archive_write(&w, chosen, n, err, sizeof err) < 0) code = 1;
    if (tmp) {
      if (close(fd) < 0 && !code) code = 1, set_err(err, sizeof err, errno, "writing %s", out);
      if (!code && rename(tmp, out) < 0) code = 1, set_err(err, sizeof err, errno, "%s", out);
      if (code) unlink(tmp);
    }
    if (code) buf_printf(&msg, "box save: %s\n", err);
  }
  if (msg.len) fwrite(msg.data, 1, msg.len, stderr);
  buf_free(&msg);
  image_list_free(&images);
  verb_args_free(&a);
  return code;
}

/* ------------------------------------------------------------------ load */

struct staged {
  char dir[512];      /* <oci>/.load-XXXXXX */
  char *index_json, *layout;
  char (*blobs)[65];  /* hex digests staged (verified) */
  int nblobs;
};

static bool staged_has(const struct staged *s, const char *hex) {
  for (int i = 0; i < s->nblobs; i++)
    if (!strcmp(s->blobs[i], hex)) return true;
  return false;
}

static bool valid_hex64(const char *s) { return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64; }

/* Read every entry of the archive into the staging directory, checking blob digests. */
static int stage(struct tar_reader *r, struct staged *s, char *err, size_t errlen) {
  struct tar_entry e;
  int rc;
  char chunk[65536];
  while ((rc = tar_next(r, &e, err, errlen)) == 1) {
    if (e.type == TAR_DIR) continue;
    bool is_index = !strcmp(e.path, "index.json"), is_layout = !strcmp(e.path, "oci-layout");
    if (is_index || is_layout) {
      if (e.type != TAR_FILE || e.size > (1 << 20)) return set_err(err, errlen, 0, "%s: not a small regular file", e.path);
      char *text = xcalloc(1, e.size + 1);
      ssize_t k = tar_read(r, text, e.size, err, errlen);
      if (k < 0 || (uint64_t)k != e.size) {
        free(text);
        return k < 0 ? (int)k : set_err(err, errlen, 0, "%s: short read", e.path);
      }
      free(is_index ? s->index_json : s->layout);
      *(is_index ? &s->index_json : &s->layout) = text;
      continue;
    }
    if (strncmp(e.path, "blobs/", 6)) continue; /* other files (a docker-archive manifest.json) are not ours */
    if (strncmp(e.path, "blobs/sha256/", 13) || !valid_hex64(e.path + 13) || e.type != TAR_FILE)
      return set_err(err, errlen, 0, "%s: only blobs/sha256/<64 hex digits> regular files are supported", e.path);
    const char *hex = e.path + 13;
    if (staged_has(s, hex)) continue;
    autofree char *path = xasprintf("%s/%s", s->dir, hex);
    autoclose int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return set_err(err, errlen, errno, "%s", path);
    struct sha256_ctx sha;
    sha256_init(&sha);
    ssize_t k;
    while ((k = tar_read(r, chunk, sizeof chunk, err, errlen)) > 0) {
      sha256_update(&sha, k, (const uint8_t *)chunk);
      if ((rc = write_all(fd, chunk, k)) < 0) return set_err(err, errlen, -rc, "%s", path);
    }
    if (k < 0) return (int)k;
    char got[65];
    sha256_finish_hex(&sha, got);
    if (strcmp(got, hex)) return set_err(err, errlen, 0, "blob sha256:%.12s does not match its digest (its bytes hash to sha256:%.12s)", hex, got);
    s->blobs = realloc(s->blobs, (s->nblobs + 1) * sizeof *s->blobs);
    if (!s->blobs) abort();
    memcpy(s->blobs[s->nblobs++], hex, 65);
  }
  return rc;
}

/* Is the blob there (staged or already in the store), and of the size its descriptor says? */
static int check_blob(const struct staged *s, const struct json *desc, const char *what, char *hex, char *err, size_t errlen) {
  if (digest_hex(json_get_string(desc, "digest"), hex) < 0) return set_err(err, errlen, 0, "%s: bad or missing digest", what);
  autofree char *path = staged_has(s, hex) ? xasprintf("%s/%s", s->dir, hex) : xasprintf("%s/blobs/sha256/%s", cfg.oci, hex);
  struct stat st;
  if (stat(path, &st) < 0) return set_err(err, errlen, 0, "%s sha256:%.12s is missing from the archive", what, hex);
  struct json *size = json_get(desc, "size");
  if (!size || size->type != JSON_NUMBER || (uint64_t)size->number != (uint64_t)st.st_size)
    return set_err(err, errlen, 0, "%s sha256:%.12s: size %lld, the descriptor says otherwise", what, hex, (long long)st.st_size);
  return 0;
}

/* The name an archive gives an image: containerd's full name, else the OCI ref.name; ":latest" dropped. */
static char *image_name(const struct json *entry) {
  const struct json *ann = json_get(entry, "annotations");
  const char *n = json_get_string(ann, "io.containerd.image.name");
  if (!n) n = json_get_string(ann, "org.opencontainers.image.ref.name");
  if (!n || !*n) return NULL;
  size_t len = strlen(n);
  if (len > 7 && !strcmp(n + len - 7, ":latest")) len -= 7;
  return strndup(n, len);
}

int load_main(int argc, char **argv) {
  config_load();
  struct verb_args a;
  char err[1024] = "";
  if (parse_verb("load", argc, argv, &a, err, sizeof err) < 0 || a.noperands) {
    fprintf(stderr, "box load: %s\n", *err ? err : "accepts no arguments: box load -i FILE");
    verb_args_free(&a);
    return 125;
  }
  const char *in = a.value[O_INPUT];
  if (!in && isatty(0)) {
    fprintf(stderr, "box load: requested load from stdin, but stdin is empty (use -i FILE)\n");
    verb_args_free(&a);
    return 1;
  }
  int fd = in && strcmp(in, "-") ? open(in, O_RDONLY | O_CLOEXEC) : 0;
  if (fd < 0) {
    fprintf(stderr, "box load: %s: %s\n", in, strerror(errno));
    verb_args_free(&a);
    return 1;
  }
  int code = archive_load(fd, in ? in : "stdin", flag_on(&a, O_QUIET));
  if (fd > 0) close(fd);
  verb_args_free(&a);
  return code;
}

int archive_load(int fd, const char *name, bool quiet) {
  char err[1024] = "";
  struct staged s = {0};
  autofree char *blobdir = xasprintf("%s/blobs/sha256", cfg.oci);
  mkdir_p(blobdir, 0755);
  snprintf(s.dir, sizeof s.dir, "%s/.load-XXXXXX", cfg.oci);
  int rc = mkdtemp(s.dir) ? 0 : set_err(err, sizeof err, errno, "staging directory in %s", cfg.oci);
  struct tar_reader r;
  tar_reader_init(&r, tar_read_fd, &fd);
  if (!rc) rc = stage(&r, &s, err, sizeof err);
  struct json *index = NULL;
  if (!rc && (!s.layout || !strstr(s.layout, "imageLayoutVersion")))
    rc = set_err(err, sizeof err, 0, "not an OCI archive: no oci-layout file (a `docker save` archive before Docker 25 is not one)");
  if (!rc && (!s.index_json || !(index = json_parse(s.index_json))))
    rc = set_err(err, sizeof err, 0, "not an OCI archive: %s index.json", s.index_json ? "malformed" : "no");
  struct json *manifests = index ? json_get(index, "manifests") : NULL;
  if (!rc && (!manifests || manifests->type != JSON_ARRAY || !manifests->child))
    rc = set_err(err, sizeof err, 0, "index.json names no images");
  /* Every manifest, its config and layers present and of the right size. */
  for (struct json *m = manifests ? manifests->child : NULL; m && !rc; m = m->next) {
    char mhex[65], hex[65];
    const char *mt = json_get_string(m, "mediaType");
    if (mt && strcmp(mt, MT_MANIFEST))
      rc = set_err(err, sizeof err, 0, "%s in index.json: only single-platform image manifests are supported", mt);
    else if (!(rc = check_blob(&s, m, "manifest", mhex, err, sizeof err))) {
      autofree char *path = staged_has(&s, mhex) ? xasprintf("%s/%s", s.dir, mhex) : xasprintf("%s/%s", blobdir, mhex);
      autofree char *text = read_file(path, NULL);
      struct json *man = text ? json_parse(text) : NULL;
      struct json *layers = json_get(man, "layers");
      if (!man || !layers || layers->type != JSON_ARRAY || json_length(layers) > OCI_MAX_LAYERS)
        rc = set_err(err, sizeof err, 0, "manifest sha256:%.12s: malformed (or more than %d layers)", mhex, OCI_MAX_LAYERS);
      else rc = check_blob(&s, json_get(man, "config"), "config", hex, err, sizeof err);
      for (struct json *l = layers ? layers->child : NULL; l && !rc; l = l->next) rc = check_blob(&s, l, "layer", hex, err, sizeof err);
      json_free(man);
    }
  }
  /* All checked: move the blobs in, then name the images. */
  for (int i = 0; i < s.nblobs && !rc; i++) {
    autofree char *from = xasprintf("%s/%s", s.dir, s.blobs[i]);
    if (store_has_blob(cfg.oci, s.blobs[i])) continue;
    rc = store_commit_blob(cfg.oci, from, s.blobs[i], err, sizeof err);
  }
  for (struct json *m = manifests ? manifests->child : NULL; m && !rc; m = m->next) {
    char mhex[65];
    digest_hex(json_get_string(m, "digest"), mhex);
    autofree char *name = image_name(m);
    struct json *size = json_get(m, "size");
    rc = store_index_add(cfg.oci, mhex, (uint64_t)size->number, name, err, sizeof err);
    if (!rc && !quiet) {
      if (name) printf("Loaded image: %s%s\n", name, strchr(name, ':') ? "" : ":latest");
      else printf("Loaded image ID: sha256:%s\n", mhex);
    }
  }
  if (rc) fprintf(stderr, "box load: %s: %s: nothing was loaded\n", name, err);
  rm_rf(s.dir);
  json_free(index);
  free(s.index_json);
  free(s.layout);
  free(s.blobs);
  fflush(stdout);
  return rc ? 1 : 0;
}
