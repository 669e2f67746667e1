/* `-v` as Docker parses it (every error row with Docker's words), and `box volume` on a store in
 * a temp dir: create, ls, inspect, rm, rm of a volume in use. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "options.h"
#include "tap.h"
#include "util.h"
#include "volumes.h"

static const char *busy_name;
static const char *in_use(const char *name) { return busy_name && !strcmp(name, busy_name) ? "0123456789ab" : NULL; }

static int volume(struct buf *out, const char *const *ops, bool quiet) {
  int n = 0;
  while (ops[n]) n++;
  out->len = 0;
  int code = volume_verb((char **)ops, n, quiet, in_use, out);
  buf_append(out, "", 1);
  return code;
}

int main(void) {
  struct mount_spec m;
  char err[512];

  /* Good specs: type, source, target, read-only. */
  struct { const char *raw; enum mount_type type; const char *source, *target; bool ro; } good[] = {
      {"data:/data", MOUNT_VOLUME, "data", "/data", false},
      {"data:/data:ro", MOUNT_VOLUME, "data", "/data", true},
      {"data:/data:rw", MOUNT_VOLUME, "data", "/data", false},
      {"/srv/www:/usr/share/www", MOUNT_BIND, "/srv/www", "/usr/share/www", false},
      {"/srv//www/:/x/./y/../z/:ro,z", MOUNT_BIND, "/srv/www", "/x/z", true}, /* cleaned as Go's filepath.Clean */
      {"/tmp:/t:rprivate", MOUNT_BIND, "/tmp", "/t", false},
      {"/:/host:ro", MOUNT_BIND, "/", "/host", true},
      {"/cache", MOUNT_VOLUME, NULL, "/cache", false}, /* anonymous: named by boxd at the start */
      {"my_vol.1-x:/a", MOUNT_VOLUME, "my_vol.1-x", "/a", false},
  };
  for (size_t i = 0; i < N_ELEMENTS(good); i++) {
    int rc = mount_spec_parse(good[i].raw, &m, err, sizeof err);
    CHECK(rc == 0 && m.type == good[i].type && m.read_only == good[i].ro && !strcmp(m.target, good[i].target) &&
              (good[i].source ? m.source && !strcmp(m.source, good[i].source) : !m.source),
          "-v %s (%s)", good[i].raw, rc ? err : "ok");
    if (rc == 0) free(m.source), free(m.target);
  }

  /* Every error row: Docker's words (moby volume/mounts/linux_parser.go), as `docker run` prints them. */
  struct { const char *raw, *want; } bad[] = {
      {"", "Error response from daemon: invalid volume specification: ''"},
      {"a:/b:ro:x", "Error response from daemon: invalid volume specification: 'a:/b:ro:x'"},
      {":/data", "Error response from daemon: invalid volume specification: ':/data'"},
      {"/data:ro", "Error response from daemon: invalid volume specification: '/data:ro'"},
      {"data:/data:rx", "Error response from daemon: invalid mode: rx"},
      {"data:/data:ro,rw", "Error response from daemon: invalid mode: ro,rw"},
      {"data:/data:", "Error response from daemon: invalid mode: "},
      {"data:data", "Error response from daemon: invalid volume specification: 'data:data': invalid mount config for type \"volume\": "
                    "invalid mount path: 'data' mount path must be absolute"},
      {"/home/u/config.toml:config.toml", "Error response from daemon: invalid volume specification: '/home/u/config.toml:config.toml': "
                                          "invalid mount config for type \"bind\": invalid mount path: 'config.toml' mount path must be absolute"},
      {"x", "Error response from daemon: invalid volume specification: 'x': invalid mount config for type \"volume\": "
            "invalid mount path: 'x' mount path must be absolute"},
      {"/srv:/", "Error response from daemon: invalid volume specification: '/srv:/': invalid mount config for type \"bind\": "
                 "invalid specification: destination can't be '/'"},
      {"foo/bar:/x", "Error response from daemon: create foo/bar: \"foo/bar\" includes invalid characters for a local volume name, "
                     "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"},
      {"a:/x", "Error response from daemon: create a: \"a\" includes invalid characters for a local volume name, "
               "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"},
      {"/srv:/x:shared", "box binds are rprivate: propagation shared is not supported"},
  };
  for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
    err[0] = 0;
    CHECK(mount_spec_parse(bad[i].raw, &m, err, sizeof err) == -EINVAL, "-v '%s' refused", bad[i].raw);
    CHECK_STR(err, bad[i].want, bad[i].raw);
  }

  /* Through `box run`'s options: several -v in order, --volume=, and a duplicate target. */
  struct run_opts o;
  char *run[] = {"-v", "data:/data", "--volume=/srv:/srv:ro", "-v/tmp:/t", "busybox", NULL};
  CHECK(parse_run(5, run, &o, err, sizeof err) == 0 && o.nmounts == 3 && !strcmp(o.mounts[1].source, "/srv") && o.mounts[1].read_only &&
            !strcmp(o.mounts[2].target, "/t"),
        "run: three -v, every spelling");
  run_opts_free(&o);
  char *dup[] = {"-v", "a1:/data", "-v", "/srv:/data/", "busybox", NULL};
  CHECK(parse_run(5, dup, &o, err, sizeof err) < 0, "run: two mounts on one target refused");
  CHECK_STR(err, "Error response from daemon: Duplicate mount point: /data", "Docker's duplicate words");
  /* Parents first whatever the order given (moby's sortMounts), equal depths in the user's order. */
  char *nested[] = {"-v", "a1:/d/sub/x", "-v", "b1:/d", "-v", "c1:/e", "-v", "d1:/d/sub", "busybox", NULL};
  CHECK(parse_run(9, nested, &o, err, sizeof err) == 0 && o.nmounts == 4 && !strcmp(o.mounts[0].target, "/d") &&
            !strcmp(o.mounts[1].target, "/e") && !strcmp(o.mounts[2].target, "/d/sub") && !strcmp(o.mounts[3].target, "/d/sub/x") &&
            !strcmp(o.mounts[0].source, "b1"),
        "run: -v ordered parents first (/d, /e, /d/sub, /d/sub/x)");
  run_opts_free(&o);
  char *bad_run[] = {"-v", "data:/data", "-v", "x:y", "busybox", NULL};
  CHECK(parse_run(5, bad_run, &o, err, sizeof err) < 0 && strstr(err, "'y' mount path must be absolute"), "run: the bad -v of two is named");

  const char *many[MAX_MOUNTS + 2];
  char targets[MAX_MOUNTS + 1][16];
  for (int i = 0; i <= MAX_MOUNTS; i++) snprintf(targets[i], sizeof targets[i], "/m%d", i), many[i] = targets[i];
  many[MAX_MOUNTS + 1] = NULL;
  struct mount_spec *ms;
  int nms;
  CHECK(mount_specs_parse(many, &ms, &nms, err, sizeof err) < 0 && strstr(err, "at most 64 -v"), "more than MAX_MOUNTS refused: %s", err);
  many[MAX_MOUNTS] = NULL;
  CHECK(mount_specs_parse(many, &ms, &nms, err, sizeof err) == 0 && nms == MAX_MOUNTS, "MAX_MOUNTS taken");
  mount_specs_free(ms, nms);

  /* Inspect's Mounts. */
  struct mount_spec two[] = {{MOUNT_VOLUME, "data", "/data", false}, {MOUNT_BIND, "/srv", "/srv", true}};
  char tmpl[] = "/tmp/box-test-volumes-XXXXXX";
  cfg.state = mkdtemp(tmpl);
  CHECK(cfg.state != NULL, "temp state dir");
  struct buf j = {0};
  mounts_json(&j, two, 2);
  buf_append(&j, "", 1);
  autofree char *want_src = xasprintf("\"Source\": \"%s/volumes/data/_data\"", cfg.state);
  CHECK(strstr(j.data, "{\"Type\": \"volume\", \"Name\": \"data\", ") && strstr(j.data, want_src) &&
            strstr(j.data, "{\"Type\": \"bind\", \"Source\": \"/srv\", \"Destination\": \"/srv\", \"Mode\": \"ro\", \"RW\": false, \"Propagation\": \"rprivate\"}"),
        "inspect Mounts: Docker's fields (%s)", j.data);
  j.len = 0;
  mounts_json(&j, NULL, 0);
  buf_append(&j, "", 1);
  CHECK_STR(j.data, "[]", "no mounts: []");
  buf_free(&j);

  /* box volume on the temp store. */
  struct buf out = {0};
  CHECK(volume(&out, (const char *[]){"create", "db", NULL}, false) == 0, "create db");
  CHECK_STR(out.data, "db\n", "create prints the name");
  autofree char *data = volume_data_dir("db");
  struct stat st;
  CHECK(stat(data, &st) == 0 && S_ISDIR(st.st_mode), "the volume's _data directory exists");
  CHECK(volume(&out, (const char *[]){"create", "db", NULL}, false) == 0, "create again: the same volume, as Docker");
  CHECK(volume(&out, (const char *[]){"create", NULL}, false) == 0 && strlen(out.data) == 65, "create without a name: 64 hex digits");
  CHECK(volume(&out, (const char *[]){"create", "bad/name", NULL}, false) == 1 && strstr(out.data, "includes invalid characters"),
        "create with a bad name refused");
  CHECK(volume(&out, (const char *[]){"ls", NULL}, false) == 0 && !strncmp(out.data, "DRIVER    VOLUME NAME\n", 22) &&
            strstr(out.data, "\nlocal     db\n"),
        "ls: Docker's columns (%s)", out.data);
  CHECK(volume(&out, (const char *[]){"ls", NULL}, true) == 0 && strstr(out.data, "db\n") && !strstr(out.data, "DRIVER"), "ls -q: names");
  CHECK(volume(&out, (const char *[]){"inspect", "db", NULL}, false) == 0 && strstr(out.data, "\"Name\": \"db\"") &&
            strstr(out.data, "\"Driver\": \"local\"") && strstr(out.data, "/volumes/db/_data\""),
        "inspect");
  CHECK(volume(&out, (const char *[]){"inspect", "nope", NULL}, false) == 1 && strstr(out.data, "Error: No such volume: nope"), "inspect of none");
  busy_name = "db";
  CHECK(volume(&out, (const char *[]){"rm", "db", NULL}, false) == 1, "rm of a volume in use: exit 1");
  CHECK_STR(out.data, "Error response from daemon: remove db: volume is in use - [0123456789ab]\n", "Docker's in-use words");
  CHECK(stat(data, &st) == 0, "and the data stays");
  busy_name = NULL;
  CHECK(volume(&out, (const char *[]){"rm", "db", NULL}, false) == 0 && stat(data, &st) < 0, "rm once unused");
  CHECK(volume(&out, (const char *[]){"rm", "db", NULL}, false) == 1, "rm of none: exit 1");
  CHECK_STR(out.data, "Error response from daemon: get db: no such volume\n", "Docker's words for none");
  CHECK(volume(&out, (const char *[]){"bogus", NULL}, false) == 1 && strstr(out.data, "usage: box volume"), "unknown subcommand");
  buf_free(&out);
  autofree char *root = xstrdup(cfg.state);
  rm_rf(root);
  return tap_done();
}
