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
  int code = volume_verb((char **)ops, n, (struct volume_flags){.quiet = quiet}, in_use, out);
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


  /* -v modes that reach the start: nocopy. */
  CHECK(mount_spec_parse("data:/data:ro,nocopy", &m, err, sizeof err) == 0 && m.nocopy && m.read_only, "-v data:/data:ro,nocopy");
  free(m.source), free(m.target);
  CHECK(mount_spec_parse("data:/data", &m, err, sizeof err) == 0 && !m.nocopy && !m.source_needed, "-v copies by default");
  free(m.source), free(m.target);

  /* --mount as docker/cli and moby read it: aliases, flags without values, defaults. */
  struct { const char *raw; enum mount_type type; const char *source, *target; bool ro, nocopy, needed, nonrec; } mgood[] = {
      {"type=volume,source=data,target=/data", MOUNT_VOLUME, "data", "/data", false, false, false, false},
      {"src=data,dst=/data,readonly", MOUNT_VOLUME, "data", "/data", true, false, false, false}, /* type defaults to volume */
      {"type=volume,destination=/cache", MOUNT_VOLUME, NULL, "/cache", false, false, false, false},
      {"type=volume,src=v1,dst=/v,volume-nocopy", MOUNT_VOLUME, "v1", "/v", false, true, false, false},
      {"type=volume,src=v1,dst=/v,volume-nocopy=false,ro=true", MOUNT_VOLUME, "v1", "/v", true, false, false, false},
      {"type=bind,source=/srv//www/,target=/www,ro", MOUNT_BIND, "/srv/www", "/www", true, false, true, false},
      {"Type=BIND,Src=/srv,Dst=/s,bind-propagation=rprivate,consistency=cached", MOUNT_BIND, "/srv", "/s", false, false, true, false},
      {"type=bind,src=/srv,dst=/s,bind-nonrecursive", MOUNT_BIND, "/srv", "/s", false, false, true, true},
      {"\"type=bind\",\"src=/a,b\",dst=/ab", MOUNT_BIND, "/a,b", "/ab", false, false, true, false}, /* CSV quoting */
  };
  for (size_t i = 0; i < N_ELEMENTS(mgood); i++) {
    int rc = mount_spec_parse_mount(mgood[i].raw, &m, err, sizeof err);
    CHECK(rc == 0 && m.type == mgood[i].type && m.read_only == mgood[i].ro && m.nocopy == mgood[i].nocopy &&
              m.source_needed == mgood[i].needed && m.nonrecursive == mgood[i].nonrec && !strcmp(m.target, mgood[i].target) &&
              (mgood[i].source ? m.source && !strcmp(m.source, mgood[i].source) : !m.source),
          "--mount %s (%s)", mgood[i].raw, rc ? err : "ok");
    if (rc == 0) free(m.source), free(m.target);
  }
  /* Docker's words: the CLI's (wrapped by pflag) then the daemon's. */
  struct { const char *raw, *want; } mbad[] = {
      {"type=bind,source=/srv", "invalid argument \"type=bind,source=/srv\" for \"--mount\" flag: target is required"},
      {"type=,target=/x", "invalid argument \"type=,target=/x\" for \"--mount\" flag: type is required"},
      {"type=bind,src=/srv,dst=/x,color=red", "invalid argument \"type=bind,src=/srv,dst=/x,color=red\" for \"--mount\" flag: unexpected key 'color' in 'color=red'"},
      {"type=bind,src=/srv,dst=/x,oops", "invalid argument \"type=bind,src=/srv,dst=/x,oops\" for \"--mount\" flag: invalid field 'oops' must be a key=value pair"},
      {"type=bind,src=/srv,dst=/x,ro=maybe", "invalid argument \"type=bind,src=/srv,dst=/x,ro=maybe\" for \"--mount\" flag: invalid value for ro: maybe"},
      {"type=bind,src=/srv,dst=/x,volume-nocopy", "invalid argument \"type=bind,src=/srv,dst=/x,volume-nocopy\" for \"--mount\" flag: cannot mix 'volume-*' options with mount type 'bind'"},
      {"type=volume,dst=/x,bind-propagation=rprivate", "invalid argument \"type=volume,dst=/x,bind-propagation=rprivate\" for \"--mount\" flag: cannot mix 'bind-*' options with mount type 'volume'"},
      {"type=bind,src=\"/a,dst=/b", "invalid argument \"type=bind,src=\"/a,dst=/b\" for \"--mount\" flag: parse error on line 1, column 15: bare \" in non-quoted-field"},
      {"type=foo,target=/x", "Error response from daemon: invalid mount config for type \"foo\": mount type unknown"},
      {"type=bind,target=/x", "Error response from daemon: invalid mount config for type \"bind\": field Source must not be empty"},
      {"type=bind,src=rel/dir,target=/x", "Error response from daemon: invalid mount config for type \"bind\": invalid mount path: 'rel/dir' mount path must be absolute"},
      {"type=volume,src=v,target=x", "Error response from daemon: invalid mount config for type \"volume\": invalid mount path: 'x' mount path must be absolute"},
      {"type=bind,src=/srv,target=/", "Error response from daemon: invalid mount config for type \"bind\": invalid specification: destination can't be '/'"},
      {"type=bind,src=/srv,dst=/x,bind-propagation=sideways", "Error response from daemon: invalid mount config for type \"bind\": invalid propagation mode: sideways"},
      {"type=volume,target=/x,readonly", "Error response from daemon: invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes"},
      {"src=a/b,dst=/x", "Error response from daemon: create a/b: \"a/b\" includes invalid characters for a local volume name, "
                         "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"},
      {"type=tmpfs,src=/srv,target=/x", "Error response from daemon: invalid mount config for type \"tmpfs\": field Source must not be specified"},
      {"type=tmpfs,target=/x,tmpfs-size=lots", "invalid argument \"type=tmpfs,target=/x,tmpfs-size=lots\" for \"--mount\" flag: invalid value for tmpfs-size: lots"},
      {"type=tmpfs,target=/x,tmpfs-mode=0799", "invalid argument \"type=tmpfs,target=/x,tmpfs-mode=0799\" for \"--mount\" flag: invalid value for tmpfs-mode: 0799"},
      {"type=volume,target=/x,tmpfs-size=1m", "invalid argument \"type=volume,target=/x,tmpfs-size=1m\" for \"--mount\" flag: cannot mix 'tmpfs-*' options with mount type 'volume'"},
      {"type=tmpfs,target=/", "Error response from daemon: invalid mount config for type \"tmpfs\": invalid specification: destination can't be '/'"},
  };
  for (size_t i = 0; i < N_ELEMENTS(mbad); i++) {
    err[0] = 0;
    CHECK(mount_spec_parse_mount(mbad[i].raw, &m, err, sizeof err) == -EINVAL && !m.target && !m.source, "--mount '%s' refused", mbad[i].raw);
    CHECK_STR(err, mbad[i].want, mbad[i].raw);
  }

  /* tmpfs: moby's ConvertTmpfsOptions turns tmpfs-size and tmpfs-mode into the mount's data. */
  struct { const char *raw, *target, *data; bool ro; } tgood[] = {
      {"type=tmpfs,dst=/run/cache", "/run/cache", NULL, false},
      {"type=tmpfs,dst=/t/,tmpfs-size=64m,tmpfs-mode=1770", "/t", "mode=1770,size=64m", false},
      {"type=tmpfs,dst=/t,tmpfs-size=1g,ro", "/t", "size=1g", true},
      {"type=tmpfs,dst=/t,tmpfs-size=1536k", "/t", "size=1536k", false},
      {"type=tmpfs,dst=/t,tmpfs-size=1000", "/t", "size=1000", false},
      {"type=tmpfs,dst=/t,tmpfs-size=3072", "/t", "size=3k", false},
  };
  for (size_t i = 0; i < N_ELEMENTS(tgood); i++) {
    int rc = mount_spec_parse_mount(tgood[i].raw, &m, err, sizeof err);
    CHECK(rc == 0 && m.type == MOUNT_TMPFS && !m.source && !strcmp(m.target, tgood[i].target) && m.read_only == tgood[i].ro &&
              (tgood[i].data ? m.tmpfs_options && !strcmp(m.tmpfs_options, tgood[i].data) : !m.tmpfs_options),
          "--mount %s → %s (%s)", tgood[i].raw, m.tmpfs_options ? m.tmpfs_options : "no data", rc ? err : "ok");
    if (rc == 0) free(m.target), free(m.tmpfs_options);
  }
  /* --tmpfs PATH[:OPTIONS]: the options are the kernel's, passed on as given. */
  struct { const char *raw, *target, *data, *want; bool ro; } tmpfs[] = {
      {"/run", "/run", NULL, NULL, false},
      {"/run/:rw,size=64m,exec", "/run", "rw,size=64m,exec", NULL, false},
      {"/cache:ro", "/cache", "ro", NULL, true},
      {"run", NULL, NULL, "Error response from daemon: invalid mount path: 'run' mount path must be absolute", false},
      {"/:size=1m", NULL, NULL, "Error response from daemon: invalid specification: destination can't be '/'", false},
      {"/proc/x", NULL, NULL, "Error response from daemon: check proc-safety of /proc/x mount: \"/proc/x\" cannot be mounted because it is inside /proc", false},
  };
  for (size_t i = 0; i < N_ELEMENTS(tmpfs); i++) {
    err[0] = 0;
    int rc = mount_spec_parse_tmpfs(tmpfs[i].raw, &m, err, sizeof err);
    if (tmpfs[i].want) {
      CHECK(rc == -EINVAL && !m.target && !m.tmpfs_options, "--tmpfs %s refused", tmpfs[i].raw);
      CHECK_STR(err, tmpfs[i].want, tmpfs[i].raw);
      continue;
    }
    CHECK(rc == 0 && m.type == MOUNT_TMPFS && !strcmp(m.target, tmpfs[i].target) && m.read_only == tmpfs[i].ro &&
              (tmpfs[i].data ? m.tmpfs_options && !strcmp(m.tmpfs_options, tmpfs[i].data) : !m.tmpfs_options),
          "--tmpfs %s (%s)", tmpfs[i].raw, rc ? err : "ok");
    if (rc == 0) free(m.target), free(m.tmpfs_options);
  }
  char *with_tmpfs[] = {"--tmpfs", "/d/t:size=1m", "-v", "v1:/d", "busybox", NULL};
  CHECK(parse_run(5, with_tmpfs, &o, err, sizeof err) == 0 && o.nmounts == 2 && !strcmp(o.mounts[0].target, "/d") &&
            o.mounts[1].type == MOUNT_TMPFS && !strcmp(o.mounts[1].tmpfs_options, "size=1m"),
        "run: --tmpfs with -v, parents first (%s)", err);
  run_opts_free(&o);
  char *tmpfs_dup[] = {"--tmpfs", "/d", "-v", "v1:/d", "busybox", NULL};
  CHECK(parse_run(5, tmpfs_dup, &o, err, sizeof err) < 0, "run: --tmpfs and -v on one target refused");
  CHECK_STR(err, "Error response from daemon: Duplicate mount point: /d", "Docker's duplicate words across -v and --tmpfs");

  /* runc's proc-safety rule, for -v and --mount alike; the files lxcfs emulates may be covered. */
  struct { const char *raw; bool mount; const char *want; } proc[] = {
      {"v1:/proc", false, "Error response from daemon: check proc-safety of /proc mount: \"/proc\" cannot be mounted because it is not of type proc"},
      {"/srv:/proc/sys/kernel", false, "Error response from daemon: check proc-safety of /proc/sys/kernel mount: \"/proc/sys/kernel\" cannot be mounted because it is inside /proc"},
      {"/srv:/proc/../proc/1/", false, "Error response from daemon: check proc-safety of /proc/1 mount: \"/proc/1\" cannot be mounted because it is inside /proc"},
      {"type=bind,src=/srv,dst=/proc/self", true, "Error response from daemon: check proc-safety of /proc/self mount: \"/proc/self\" cannot be mounted because it is inside /proc"},
      {"/srv/meminfo:/proc/meminfo:ro", false, NULL},
      {"v1:/procfs", false, NULL},
  };
  for (size_t i = 0; i < N_ELEMENTS(proc); i++) {
    err[0] = 0;
    int rc = proc[i].mount ? mount_spec_parse_mount(proc[i].raw, &m, err, sizeof err) : mount_spec_parse(proc[i].raw, &m, err, sizeof err);
    if (proc[i].want) {
      CHECK(rc == -EINVAL, "%s refused", proc[i].raw);
      CHECK_STR(err, proc[i].want, proc[i].raw);
    } else {
      CHECK(rc == 0, "%s taken (%s)", proc[i].raw, err);
      if (rc == 0) free(m.source), free(m.target);
    }
  }
  /* -v and --mount together: one list, one duplicate rule, parents first. */
  char *both[] = {"--mount", "type=bind,src=/srv,dst=/d/sub", "-v", "v1:/d", "busybox", NULL};
  CHECK(parse_run(5, both, &o, err, sizeof err) == 0 && o.nmounts == 2 && !strcmp(o.mounts[0].target, "/d") &&
            o.mounts[1].type == MOUNT_BIND && o.mounts[1].source_needed,
        "run: -v and --mount in one list (%s)", err);
  run_opts_free(&o);
  char *both_dup[] = {"--mount", "src=v2,dst=/d", "-v", "v1:/d", "busybox", NULL};
  CHECK(parse_run(5, both_dup, &o, err, sizeof err) < 0, "run: -v and --mount on one target refused");
  CHECK_STR(err, "Error response from daemon: Duplicate mount point: /d", "Docker's duplicate words across -v and --mount");

  const char *many[MAX_MOUNTS + 2];
  char targets[MAX_MOUNTS + 1][16];
  for (int i = 0; i <= MAX_MOUNTS; i++) snprintf(targets[i], sizeof targets[i], "/m%d", i), many[i] = targets[i];
  many[MAX_MOUNTS + 1] = NULL;
  struct mount_spec *ms;
  int nms;
  CHECK(mount_specs_parse(many, NULL, NULL, &ms, &nms, err, sizeof err) < 0 && strstr(err, "at most 64 -v, --mount and --tmpfs"), "more than MAX_MOUNTS refused: %s", err);
  many[MAX_MOUNTS] = NULL;
  CHECK(mount_specs_parse(many, NULL, NULL, &ms, &nms, err, sizeof err) == 0 && nms == MAX_MOUNTS, "MAX_MOUNTS taken");
  mount_specs_free(ms, nms);

  /* The image's VOLUMEs: anonymous volumes where no mount of the run is, parents first. */
  char *image_volumes[] = {"/var/lib/app/", "data", "/srv", NULL};
  char *with_v[] = {"-v", "named:/srv", "--tmpfs", "/var/lib/app/cache", "busybox", NULL};
  CHECK(parse_run(5, with_v, &o, err, sizeof err) == 0, "run with -v and --tmpfs (%s)", err);
  CHECK(mounts_add_image_volumes(&o.mounts, &o.nmounts, image_volumes, err, sizeof err) == 0 && o.nmounts == 4, "two image volumes added (%s)", err);
  if (o.nmounts == 4) {
    CHECK(!strcmp(o.mounts[0].target, "/srv") && !strcmp(o.mounts[0].source, "named"), "the -v on /srv replaces the image's volume");
    CHECK(!strcmp(o.mounts[1].target, "/data") && o.mounts[1].type == MOUNT_VOLUME && !o.mounts[1].source && !o.mounts[1].nocopy,
          "a relative VOLUME key is under /: anonymous, filled from the image");
    CHECK(!strcmp(o.mounts[2].target, "/var/lib/app") && !strcmp(o.mounts[3].target, "/var/lib/app/cache"), "parents first: %s, %s",
          o.mounts[2].target, o.mounts[3].target);
  }
  run_opts_free(&o);
  struct mount_spec *none = NULL;
  int nnone = 0;
  CHECK(mounts_add_image_volumes(&none, &nnone, image_volumes + 2, err, sizeof err) == 0 && nnone == 1 && !strcmp(none[0].target, "/srv"),
        "image volumes alone");
  mount_specs_free(none, nnone);
  char *bad_volumes[] = {"/proc/x", NULL};
  none = NULL, nnone = 0;
  CHECK(mounts_add_image_volumes(&none, &nnone, bad_volumes, err, sizeof err) < 0 && nnone == 0, "an image VOLUME inside /proc refused");
  CHECK_STR(err, "Error response from daemon: check proc-safety of /proc/x mount: \"/proc/x\" cannot be mounted because it is inside /proc", "runc's words");
  CHECK(mounts_add_image_volumes(&none, &nnone, NULL, err, sizeof err) == 0 && nnone == 0 && !none, "no image volumes: nothing");

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

  /* The start's side of --mount: a bind source that is not there is refused before any volume is
   * made (the daemon checks every mount first); a failed start takes its anonymous volumes back. */
  {
    struct mount_spec two_more[] = {{.type = MOUNT_VOLUME, .target = "/a"}, {.type = MOUNT_BIND, .source = "/nonexistent-box-src", .target = "/b", .source_needed = true}};
    int fds[2];
    bool dirs[2];
    err[0] = 0;
    CHECK(mounts_open(two_more, 2, fds, dirs, err, sizeof err) < 0 && !two_more[0].source, "--mount bind of a missing source refused first");
    CHECK_STR(err, "Error response from daemon: invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-box-src",
              "Docker's words for a missing bind source");
    struct mount_spec anon[] = {{.type = MOUNT_VOLUME, .target = "/a"}, {.type = MOUNT_VOLUME, .source = xstrdup("kept-named"), .target = "/k"}};
    CHECK(mounts_open(anon, 2, fds, dirs, err, sizeof err) == 0 && anon[0].anonymous && dirs[0] && dirs[1], "an anonymous and a named volume opened");
    close(fds[0]), close(fds[1]);
    autofree char *anon_data = volume_data_dir(anon[0].source), *named_data = volume_data_dir("kept-named");
    CHECK(stat(anon_data, &st) == 0 && stat(named_data, &st) == 0, "both made");
    mounts_remove_anonymous(anon, 2);
    CHECK(stat(anon_data, &st) < 0 && stat(named_data, &st) == 0, "a failed start: the anonymous volume goes, the named one stays (as Docker)");
    free(anon[0].source), free(anon[1].source);
    CHECK(volume(&out, (const char *[]){"rm", "kept-named", NULL}, false) == 0, "rm kept-named");
  }

  /* prune: what no container uses; anonymous ones only unless -a (Docker >= 23), with sizes. */
  {
    struct mount_spec a1 = {.type = MOUNT_VOLUME, .target = "/a"};
    int fd;
    bool dir;
    CHECK(mounts_open(&a1, 1, &fd, &dir, err, sizeof err) == 0, "an anonymous volume");
    close(fd);
    autofree char *f1 = xasprintf("%s/volumes/%s/_data/f", cfg.state, a1.source);
    CHECK(write_file(f1, "0123456789") == 0, "10 bytes in it");
    CHECK(volume(&out, (const char *[]){"inspect", a1.source, NULL}, false) == 0 && strstr(out.data, "\"com.docker.volume.anonymous\": \"\""),
          "inspect shows Docker's anonymous label");
    CHECK(volume(&out, (const char *[]){"create", "named1", NULL}, false) == 0, "a named volume");
    autofree char *f2 = xasprintf("%s/volumes/named1/_data/g", cfg.state);
    CHECK(write_file(f2, "x") == 0, "1 byte in it");
    CHECK(volume(&out, (const char *[]){"create", "busy1", NULL}, false) == 0, "a named volume in use");
    busy_name = "busy1";
    struct volume_flags none = {0}, all = {.all = true};
    out.len = 0;
    int code = volume_verb((char *[]){"prune", NULL}, 1, none, in_use, &out);
    buf_append(&out, "", 1);
    autofree char *want = xasprintf("Deleted Volumes:\n%s\n\nTotal reclaimed space: 10B\n", a1.source);
    CHECK(code == 0, "prune: exit 0");
    CHECK_STR(out.data, want, "prune: the anonymous volume, docker/cli's words");
    out.len = 0;
    volume_verb((char *[]){"prune", NULL}, 1, none, in_use, &out);
    buf_append(&out, "", 1);
    CHECK_STR(out.data, "Total reclaimed space: 0B\n", "prune again: nothing, named ones stay");
    out.len = 0;
    volume_verb((char *[]){"prune", NULL}, 1, all, in_use, &out);
    buf_append(&out, "", 1);
    CHECK(!strncmp(out.data, "Deleted Volumes:\n", 17) && strstr(out.data, "\nnamed1\n") && !strstr(out.data, "busy1") &&
              strstr(out.data, "\n\nTotal reclaimed space: 1B\n"),
          "prune -a: named ones too (the unnamed `create` one too: it is not anonymous), not one in use: %s", out.data);
    CHECK(volume(&out, (const char *[]){"ls", NULL}, true) == 0 && strstr(out.data, "busy1\n") && !strstr(out.data, "named1"), "busy1 stays");
    busy_name = NULL;
    free(a1.source);
    CHECK(volume_verb((char *[]){"prune", "x", NULL}, 2, none, in_use, &out) == 1, "prune takes no operand");
    out.len = 0;
    CHECK(volume_verb((char *[]){"rm", "never-was", NULL}, 2, (struct volume_flags){.force = true}, in_use, &out) == 0, "rm -f of none: 0");
  }
  char size[32];
  double sizes[] = {0, 36, 999, 1000, 1234, 2000, 176.2e6, 1.5e9};
  const char *want_sizes[] = {"0B", "36B", "999B", "1kB", "1.234kB", "2kB", "176.2MB", "1.5GB"};
  for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
    human_size(size, sizeof size, sizes[i], 4);
    CHECK_STR(size, want_sizes[i], "go-units HumanSize");
  }
  CHECK(volume(&out, (const char *[]){"bogus", NULL}, false) == 1 && strstr(out.data, "usage: box volume"), "unknown subcommand");
  buf_free(&out);
  autofree char *root = xstrdup(cfg.state);
  rm_rf(root);
  return tap_done();
}
