/* `box build` and `box history` (see build.h). The CLI reads the Dockerfile and drives the build
 * (as Docker's classic builder does): each step makes an image (config + manifest) in the store,
 * untagged; a RUN runs in a container that boxd starts on the image so far (`box run`, the usual
 * path), and the container's overlay upper directory becomes the step's layer. A step whose
 * parent image, instruction and (for COPY) copied content were seen before is taken from the
 * build cache (<state>/build-cache/<sha256 of the three> → the image it made). */
#define _GNU_SOURCE
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dockerfile.h"
#include "layer.h"
#include "options.h"
#include "store.h"
#include "tar.h"
#include "util.h"

struct build {
  const char *context;
  bool no_cache;
  struct image_config cur;     /* the image so far */
  char cur_hex[65];            /* its manifest digest */
  uint64_t cur_size;
  char err[1024];
};

void human_since(char *out, size_t n, const char *rfc3339) {
  struct tm tm = {0};
  if (!rfc3339 || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm)) {
    snprintf(out, n, "N/A");
    return;
  }
  long s = (long)(time(NULL) - timegm(&tm));
  static const struct { long secs; const char *unit; } units[] = {
      {365L * 86400, "year"}, {30L * 86400, "month"}, {7L * 86400, "week"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
  if (s < 1) {
    snprintf(out, n, "Less than a second ago");
    return;
  }
  for (size_t i = 0; i < N_ELEMENTS(units); i++)
    if (s >= units[i].secs) {
      long k = s / units[i].secs;
      snprintf(out, n, "%ld %s%s ago", k, units[i].unit, k == 1 ? "" : "s");
      return;
    }
}

static char *now_rfc3339(void) {
  char t[32];
  time_t now = time(NULL);
  strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  return xstrdup(t);
}

static char **copy_strings(char **v) {
  int n = 0;
  while (v && v[n]) n++;
  char **c = xcalloc(n + 1, sizeof *c);
  for (int i = 0; i < n; i++) c[i] = xstrdup(v[i]);
  return c;
}

/* Set key=value in a NULL-terminated list of "KEY=VALUE" (env) or key, value pairs (labels). */
static char **set_env(char **env, const char *key, const char *value) {
  int n = 0;
  size_t kl = strlen(key);
  for (; env && env[n]; n++)
    if (!strncmp(env[n], key, kl) && env[n][kl] == '=') {
      free(env[n]);
      env[n] = xasprintf("%s=%s", key, value);
      return env;
    }
  env = realloc(env, (n + 2) * sizeof *env);
  if (!env) abort();
  env[n] = xasprintf("%s=%s", key, value);
  env[n + 1] = NULL;
  return env;
}

static char **set_pair(char **pairs, const char *key, const char *value) {
  int n = 0;
  for (; pairs && pairs[n]; n += 2)
    if (!strcmp(pairs[n], key)) {
      free(pairs[n + 1]);
      pairs[n + 1] = xstrdup(value);
      return pairs;
    }
  pairs = realloc(pairs, (n + 3) * sizeof *pairs);
  if (!pairs) abort();
  pairs[n] = xstrdup(key);
  pairs[n + 1] = xstrdup(value);
  pairs[n + 2] = NULL;
  return pairs;
}

static char **add_unique(char **v, const char *s) {
  int n = 0;
  for (; v && v[n]; n++)
    if (!strcmp(v[n], s)) return v;
  v = realloc(v, (n + 2) * sizeof *v);
  if (!v) abort();
  v[n] = xstrdup(s);
  v[n + 1] = NULL;
  return v;
}

static void add_history(struct image_config *c, const char *created_by, bool empty_layer) {
  c->history = realloc(c->history, (c->nhistory + 1) * sizeof *c->history);
  if (!c->history) abort();
  c->history[c->nhistory++] = (struct history_entry){now_rfc3339(), xstrdup(created_by), NULL, empty_layer};
}

static char *joined(char **args) {
  struct buf b = {0};
  for (char **a = args; a && *a; a++) buf_printf(&b, "%s%s", a == args ? "" : " ", *a);
  buf_append(&b, "", 1);
  return b.data;
}

/* "/a/b" + "c" → "/a/b/c"; an absolute path replaces. */
static char *resolve_path(const char *workdir, const char *path) {
  if (path[0] == '/') return xstrdup(path);
  const char *w = workdir && *workdir ? workdir : "/";
  return xasprintf("%s%s%s", w, w[strlen(w) - 1] == '/' ? "" : "/", path);
}

/* ------------------------------------------------------------------ steps */

/* ENV, WORKDIR, CMD, ENTRYPOINT, EXPOSE, LABEL, VOLUME: the config changes, no layer. */
static void step_config(struct build *b, const struct df_instruction *in) {
  struct image_config *c = &b->cur;
  switch (in->kind) {
  case DF_ENV:
    for (int i = 0; i + 1 < in->nargs; i += 2) c->env = set_env(c->env, in->args[i], in->args[i + 1]);
    break;
  case DF_LABEL:
    for (int i = 0; i + 1 < in->nargs; i += 2) c->labels = set_pair(c->labels, in->args[i], in->args[i + 1]);
    break;
  case DF_WORKDIR: {
    char *w = resolve_path(c->workdir, in->args[0]);
    free(c->workdir);
    c->workdir = w;
    break;
  }
  case DF_CMD:
    free_args(c->cmd);
    c->cmd = copy_strings(in->args);
    break;
  case DF_ENTRYPOINT:
    /* "If CMD is defined from the base image, setting ENTRYPOINT will reset CMD to an empty value." */
    free_args(c->entrypoint);
    c->entrypoint = copy_strings(in->args);
    free_args(c->cmd);
    c->cmd = NULL;
    break;
  case DF_EXPOSE:
    for (int i = 0; i < in->nargs; i++) {
      autofree char *p = strchr(in->args[i], '/') ? xstrdup(in->args[i]) : xasprintf("%s/tcp", in->args[i]);
      for (char *q = p; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
      c->ports = add_unique(c->ports, p);
    }
    break;
  case DF_VOLUME:
    /* Kept as written, as Docker's builders keep them (config Volumes); box run cleans them. */
    for (int i = 0; i < in->nargs; i++) c->volumes = add_unique(c->volumes, in->args[i]);
    break;
  default:
    break;
  }
  autofree char *by = xasprintf("/bin/sh -c #(nop) %s", in->text);
  add_history(c, by, true);
}

/* A finished layer tar in the store: add it to the image so far. */
static int add_layer(struct build *b, const char *tmp, struct tar_writer *w, const char *created_by) {
  char hex[65];
  int rc = tar_finish(w, hex);
  close(w->fd);
  if (rc < 0) {
    unlink(tmp);
    return set_err(b->err, sizeof b->err, -rc, "writing the layer");
  }
  if ((rc = store_commit_blob(cfg.oci, tmp, hex, b->err, sizeof b->err)) < 0) return rc;
  if (b->cur.nlayers >= OCI_MAX_LAYERS)
    return set_err(b->err, sizeof b->err, 0, "too many layers: an image has at most %d here", OCI_MAX_LAYERS);
  struct layer_desc *l = &b->cur.layers[b->cur.nlayers++];
  snprintf(l->media_type, sizeof l->media_type, "%s", MT_LAYER_TAR);
  memcpy(l->hex, hex, 65);
  memcpy(l->diff_id, hex, 65); /* uncompressed: the blob is the tar */
  l->size = w->bytes;
  add_history(&b->cur, created_by, false);
  return 0;
}

static int step_copy(struct build *b, const struct df_instruction *in) {
  autofree char *dest = resolve_path(b->cur.workdir, in->args[in->nargs - 1]);
  size_t dl = strlen(in->args[in->nargs - 1]);
  if (in->args[in->nargs - 1][dl - 1] == '/' && dest[strlen(dest) - 1] != '/') {
    char *d = xasprintf("%s/", dest);
    free(dest);
    dest = d;
  }
  autofree char *tmp = NULL;
  int fd = store_blob_tmp(cfg.oci, &tmp, b->err, sizeof b->err);
  if (fd < 0) return fd;
  struct tar_writer w;
  tar_writer_init(&w, fd);
  char content[65];
  int rc = layer_write_copy(&w, b->context, in->args, in->nargs - 1, dest, &b->cur, content, b->err, sizeof b->err);
  if (rc < 0) {
    close(fd);
    unlink(tmp);
    return rc;
  }
  autofree char *by = xasprintf("/bin/sh -c #(nop) COPY %s:%s in %s ", in->nargs > 2 ? "multi" : "dir", content, dest);
  return add_layer(b, tmp, &w, by);
}

/* Run `box ARGS…` (this binary) and wait: its exit code. quiet: its stdout to /dev/null. */
static int run_box(char **args, bool quiet) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 125;
  if (pid == 0) {
    if (quiet) {
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, 1);
    }
    execv("/proc/self/exe", args);
    die_with_error("exec /proc/self/exe");
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 125;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int step_run(struct build *b, const struct df_instruction *in) {
  char name[13];
  uint8_t rnd[6] = {0};
  int ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (ufd >= 0) (void)!read(ufd, rnd, sizeof rnd), close(ufd);
  for (int i = 0; i < 6; i++) snprintf(name + 2 * i, 3, "%02x", rnd[i]);
  printf(" ---> Running in %s\n", name);
  autofree char *image = xasprintf("sha256:%s", b->cur_hex);
  char **args = xcalloc(in->nargs + 7, sizeof *args);
  int n = 0;
  args[n++] = "box";
  args[n++] = "run";
  /* No anonymous volume on the image's VOLUMEs: what the step writes there goes in its layer
   * (BuildKit's rule, README), and `box rm -f` below would leave such a volume behind. */
  args[n++] = "--internal-build-step";
  args[n++] = "--name";
  args[n++] = name;
  args[n++] = image;
  for (int i = 0; i < in->nargs; i++) args[n++] = in->args[i];
  int code = run_box(args, false);
  free(args);
  autofree char *cmd = joined(in->args);
  int rc = 0;
  if (code != 0) {
    rc = set_err(b->err, sizeof b->err, 0, "The command '%s' returned a non-zero code: %d", cmd, code);
  } else {
    autofree char *upper = xasprintf("%s/run/%s/upper", cfg.state, name);
    autofree char *tmp = NULL;
    int fd = store_blob_tmp(cfg.oci, &tmp, b->err, sizeof b->err);
    if (fd < 0) rc = fd;
    else {
      struct tar_writer w;
      tar_writer_init(&w, fd);
      if ((rc = layer_write_upper(&w, upper, b->err, sizeof b->err)) < 0) {
        close(fd);
        unlink(tmp);
      } else {
        autofree char *by = in->exec_form ? xstrdup(cmd) : xasprintf("/bin/sh -c %s", in->args[2]);
        rc = add_layer(b, tmp, &w, by);
      }
    }
  }
  char *rm[] = {"box", "rm", "-f", name, NULL};
  if (run_box(rm, true) == 0) printf("Removing intermediate container %s\n", name);
  return rc;
}

/* ------------------------------------------------------------------ cache */

static char *cache_path(const char *key) { return xasprintf("%s/build-cache/%s", cfg.state, key); }

static void cache_key(const struct build *b, const struct df_instruction *in, const char *content, char key[65]) {
  autofree char *text = xasprintf("%s\n%s\n%s", b->cur_hex, in->text, content ? content : "");
  sha256_hex(text, strlen(text), key);
}

/* The image a step made before, if it is still in the store. */
static bool cache_lookup(struct build *b, const char *key) {
  autofree char *path = cache_path(key);
  autofree char *text = read_file(path, NULL);
  char hex[65];
  unsigned long long size;
  if (!text || sscanf(text, "%64s %llu", hex, &size) != 2 || !store_has_blob(cfg.oci, hex)) return false;
  struct image_config next;
  if (store_read_image(cfg.oci, hex, &next, b->err, sizeof b->err) < 0) return false;
  image_config_free(&b->cur);
  b->cur = next;
  memcpy(b->cur_hex, hex, 65);
  b->cur_size = size;
  /* Listed in index.json, so a RUN after it can start on it (a no-op when it already is). */
  return store_index_add(cfg.oci, hex, size, NULL, b->err, sizeof b->err) == 0;
}

static void cache_store(const struct build *b, const char *key) {
  autofree char *dir = xasprintf("%s/build-cache", cfg.state);
  mkdir_p(dir, 0755);
  autofree char *path = cache_path(key);
  autofree char *text = xasprintf("%s %llu\n", b->cur_hex, (unsigned long long)b->cur_size);
  write_file(path, text); /* a cache that cannot be written only costs a rebuild */
}

/* ------------------------------------------------------------------ the build */

static int step_from(struct build *b, const char *ref) {
  struct image_list images = {0};
  if (oci_load(cfg.oci, &images, b->err, sizeof b->err) < 0) return -EINVAL;
  struct image *im = image_find(&images, ref);
  int rc = 0;
  if (!im) {
    struct buf names = {0};
    for (int i = 0; i < images.n; i++)
      if (*images.v[i].name) buf_printf(&names, "%s%s", names.len ? ", " : "", images.v[i].name);
    buf_append(&names, "", 1);
    rc = set_err(b->err, sizeof b->err, 0, "FROM %s: Unable to find image '%s' (there is no registry to pull from; images here: %s)",
                 ref, ref, names.data);
    buf_free(&names);
  } else if (digest_hex(im->digest, b->cur_hex) < 0 || store_read_image(cfg.oci, b->cur_hex, &b->cur, b->err, sizeof b->err) < 0) {
    rc = rc ? rc : -EINVAL;
  } else {
    autofree char *path = xasprintf("%s/blobs/sha256/%s", cfg.oci, b->cur_hex);
    struct stat st;
    b->cur_size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
  }
  image_list_free(&images);
  return rc;
}

static int do_step(struct build *b, const struct df_instruction *in) {
  char content[65] = "", key[65];
  if (in->kind == DF_COPY) {
    /* The copied content's hash is part of the cache key (not the files' times). */
    autofree char *dest = resolve_path(b->cur.workdir, in->args[in->nargs - 1]);
    int rc = layer_write_copy(NULL, b->context, in->args, in->nargs - 1, dest, NULL, content, b->err, sizeof b->err);
    if (rc < 0) return rc;
  }
  cache_key(b, in, content, key);
  if (!b->no_cache && cache_lookup(b, key)) {
    printf(" ---> Using cache\n");
    return 0;
  }
  int rc = 0;
  if (in->kind == DF_RUN) rc = step_run(b, in);
  else if (in->kind == DF_COPY) rc = step_copy(b, in);
  else step_config(b, in);
  if (rc < 0) return rc;
  free(b->cur.created);
  b->cur.created = now_rfc3339();
  if ((rc = store_write_image(cfg.oci, &b->cur, b->cur_hex, &b->cur_size, b->err, sizeof b->err)) < 0) return rc;
  /* In index.json (untagged) so boxd can run the next RUN on it. */
  if ((rc = store_index_add(cfg.oci, b->cur_hex, b->cur_size, NULL, b->err, sizeof b->err)) < 0) return rc;
  cache_store(b, key);
  return 0;
}

/* "app" and "app:latest" name the same image in the store (ref.name "app"), as in image_find. */
static char *store_tag(const char *tag) {
  size_t n = strlen(tag);
  if (n > 7 && !strcmp(tag + n - 7, ":latest")) n -= 7;
  return strndup(tag, n);
}

static bool valid_tag(const char *t) {
  if (!*t || strlen(t) > 128) return false;
  for (const char *p = t; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-:/", *p))) return false;
  return t[0] != ':' && t[0] != '.' && t[0] != '-';
}

int build_main(int argc, char **argv) {
  config_load();
  struct verb_args a;
  char err[1024];
  if (parse_verb("build", argc, argv, &a, err, sizeof err) < 0) {
    fprintf(stderr, "box build: %s\n", err);
    return 125;
  }
  if (a.noperands != 1) {
    fprintf(stderr, "box: \"box build\" requires exactly 1 argument: box build [-t NAME] [-f FILE] [--no-cache] DIR\n");
    verb_args_free(&a);
    return 125;
  }
  const char *tag = a.value[O_TAG];
  if (tag && !valid_tag(tag)) {
    fprintf(stderr, "box build: invalid argument \"%s\" for \"-t, --tag\" flag: invalid reference format: repository name must be lowercase\n", tag);
    verb_args_free(&a);
    return 125;
  }
  struct build b = {.context = a.operands[0], .no_cache = flag_on(&a, O_NO_CACHE)};
  struct stat st;
  if (stat(b.context, &st) < 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "box build: unable to prepare context: path \"%s\" not found (or not a directory)\n", b.context);
    verb_args_free(&a);
    return 1;
  }
  autofree char *file = a.value[O_FILE] ? xstrdup(a.value[O_FILE]) : xasprintf("%s/Dockerfile", b.context);
  size_t len;
  autofree char *text = read_file(file, &len);
  if (!text) {
    fprintf(stderr, "box build: cannot read the Dockerfile %s: %s\n", file, strerror(errno));
    verb_args_free(&a);
    return 1;
  }
  struct dockerfile df;
  if (dockerfile_parse(text, len, &df, err, sizeof err) < 0) {
    fprintf(stderr, "box build: %s\n", err);
    verb_args_free(&a);
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < df.n && rc == 0; i++) {
    const struct df_instruction *in = &df.v[i];
    printf("Step %d/%d : %s\n", i + 1, df.n, in->text);
    rc = in->kind == DF_FROM ? step_from(&b, in->args[0]) : do_step(&b, in);
    if (rc == 0) printf(" ---> %.12s\n", b.cur_hex);
    fflush(stdout);
  }
  if (rc == 0 && tag) {
    autofree char *name = store_tag(tag);
    rc = store_index_add(cfg.oci, b.cur_hex, b.cur_size, name, b.err, sizeof b.err);
  }
  if (rc == 0) {
    printf("Successfully built %.12s\n", b.cur_hex);
    if (tag) printf("Successfully tagged %s%s\n", tag, strchr(tag, ':') ? "" : ":latest");
  } else {
    fflush(stdout);
    fprintf(stderr, "%s\n", b.err);
  }
  dockerfile_free(&df);
  image_config_free(&b.cur);
  verb_args_free(&a);
  return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ history */

int history_main(int argc, char **argv) {
  config_load();
  struct verb_args a;
  char err[1024];
  if (parse_verb("history", argc, argv, &a, err, sizeof err) < 0 || a.noperands != 1) {
    fprintf(stderr, "box history: %s\n", a.noperands != 1 && !*err ? "requires exactly 1 argument: box history IMAGE" : err);
    verb_args_free(&a);
    return 125;
  }
  struct image_list images = {0};
  struct image *im = NULL;
  char hex[65];
  struct image_config c;
  int code = 1;
  if (oci_load(cfg.oci, &images, err, sizeof err) < 0) fprintf(stderr, "box: %s\n", err);
  else if (!(im = image_find(&images, a.operands[0]))) fprintf(stderr, "Error response from daemon: No such image: %s\n", a.operands[0]);
  else if (digest_hex(im->digest, hex) < 0 || store_read_image(cfg.oci, hex, &c, err, sizeof err) < 0) fprintf(stderr, "box: %s\n", err);
  else {
    bool quiet = flag_on(&a, O_QUIET);
    if (!quiet) printf("%-14s %-16s %-60s %-10s %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
    /* History entries with a layer take the layers in order (config.md: empty_layer), matched from
     * the top: an image whose base has no history still shows its own steps' sizes right. */
    int layer = c.nlayers;
    for (int i = c.nhistory - 1; i >= 0; i--) {
      const struct history_entry *h = &c.history[i];
      uint64_t size = 0;
      if (!h->empty_layer && --layer >= 0 && layer < c.nlayers) size = c.layers[layer].size;
      char id[16], age[48], sz[32], by[64];
      snprintf(id, sizeof id, i == c.nhistory - 1 ? "%.12s" : "<missing>", hex);
      if (quiet) {
        printf("%s\n", id);
        continue;
      }
      human_since(age, sizeof age, h->created);
      human_size(sz, sizeof sz, (double)size, 3); /* docker history: HumanSizeWithPrecision(size, 3) */
      const char *cb = h->created_by ? h->created_by : "";
      if (strlen(cb) > 59) snprintf(by, sizeof by, "%.56s...", cb);
      else snprintf(by, sizeof by, "%s", cb);
      printf("%-14s %-16s %-60s %-10s %s\n", id, age, by, sz, h->comment ? h->comment : "");
    }
    image_config_free(&c);
    code = 0;
  }
  image_list_free(&images);
  verb_args_free(&a);
  return code;
}
