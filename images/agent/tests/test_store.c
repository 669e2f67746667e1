/* Writing the OCI layout: images written, named, re-tagged (the old one keeps its entry, unnamed,
 * found by ID), read back by oci.c; boxd's view reread when index.json changes, with a container's
 * image pointer moved to the new list. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "store.h"
#include "tap.h"
#include "util.h"

/* An image of one (fake) layer with Cmd [cmd]: its manifest hex and size. */
static void make_image(const char *oci, const char *cmd, char hex[65], uint64_t *size) {
  char err[256], layer[65];
  store_put_blob(oci, cmd, strlen(cmd), layer, err, sizeof err);
  struct image_config c = {0};
  c.nlayers = 1;
  snprintf(c.layers[0].media_type, sizeof c.layers[0].media_type, "%s", MT_LAYER_TAR);
  memcpy(c.layers[0].hex, layer, 65);
  memcpy(c.layers[0].diff_id, layer, 65);
  c.layers[0].size = strlen(cmd);
  char *argv[] = {(char *)cmd, NULL};
  c.cmd = argv;
  store_write_image(oci, &c, hex, size, err, sizeof err);
}

int main(void) {
  char tmpl[] = "/tmp/box-test-store-XXXXXX";
  char *oci = mkdtemp(tmpl);
  CHECK(oci != NULL, "temp dir");
  char a[65], b[65], err[256] = "";
  uint64_t as, bs;
  make_image(oci, "one", a, &as);
  make_image(oci, "two", b, &bs);
  CHECK(strcmp(a, b) && store_has_blob(oci, a) && store_has_blob(oci, b), "two images written");
  char again[65];
  uint64_t s2;
  make_image(oci, "one", again, &s2);
  CHECK(!strcmp(a, again), "the same config and layers give the same digest");
  CHECK(store_index_add(oci, a, as, "app", err, sizeof err) == 0, "tag app %s", err);

  struct image_list list = {0};
  CHECK(oci_load(oci, &list, err, sizeof err) == 0 && list.n == 1, "index.json read back %s", err);
  struct image *app = image_find(&list, "app:latest");
  CHECK(app && app->nlayers == 1 && app->cmd && !strcmp(app->cmd[0], "one"), "app is the first image");
  struct container c = {.image = app};
  struct container *cs[] = {&c};
  store_refresh(oci, &list, cs, 1); /* the first call reads and remembers index.json */
  CHECK(store_refresh(oci, &list, cs, 1) == 0, "unchanged index.json: not reread");

  CHECK(store_index_add(oci, b, bs, "app", err, sizeof err) == 0, "re-tag app %s", err);
  CHECK(store_refresh(oci, &list, cs, 1) == 1 && list.n == 2, "changed index.json: reread, both images listed");
  app = image_find(&list, "app");
  CHECK(app && !strcmp(app->cmd[0], "two"), "app now names the second image");
  char id[13];
  snprintf(id, sizeof id, "%.12s", a);
  struct image *old = image_find(&list, id);
  CHECK(old && !*old->name && !strcmp(old->cmd[0], "one"), "the first is kept, unnamed, found by its ID");
  CHECK(c.image == old, "a container's image pointer moved to the new list");
  CHECK(image_find(&list, "") == NULL, "an empty name matches nothing");
  CHECK(store_index_add(oci, b, bs, NULL, err, sizeof err) == 0, "adding an image already listed is a no-op");
  image_list_free(&list);
  CHECK(oci_load(oci, &list, err, sizeof err) == 0 && list.n == 2, "still two entries");
  image_list_free(&list);
  CHECK(store_index_add(oci, b, bs, "moved:v1", err, sizeof err) == 0, "a second name for an image already named %s", err);
  CHECK(oci_load(oci, &list, err, sizeof err) == 0 && list.n == 3, "a third entry: the same manifest under its new name");
  struct image *moved = image_find(&list, "moved:v1"), *still = image_find(&list, "app");
  CHECK(moved && still && !strcmp(moved->digest, still->digest), "both names find the one image");
  image_list_free(&list);

  /* Dockerfile VOLUME: config Volumes written, read back by the store (a later build) and by oci.c (box run). */
  char vhex[65], layer[65];
  uint64_t vsize;
  store_put_blob(oci, "v", 1, layer, err, sizeof err);
  struct image_config vc = {0};
  vc.nlayers = 1;
  snprintf(vc.layers[0].media_type, sizeof vc.layers[0].media_type, "%s", MT_LAYER_TAR);
  memcpy(vc.layers[0].hex, layer, 65);
  memcpy(vc.layers[0].diff_id, layer, 65);
  char *vols[] = {"/data", "/var/log", NULL};
  vc.volumes = vols;
  CHECK(store_write_image(oci, &vc, vhex, &vsize, err, sizeof err) == 0 && store_index_add(oci, vhex, vsize, "vol", err, sizeof err) == 0,
        "an image with Volumes written %s", err);
  struct image_config back = {0};
  CHECK(store_read_image(oci, vhex, &back, err, sizeof err) == 0 && back.volumes && !strcmp(back.volumes[0], "/data") &&
            !strcmp(back.volumes[1], "/var/log") && !back.volumes[2],
        "the store reads Volumes back %s", err);
  image_config_free(&back);
  CHECK(oci_load(oci, &list, err, sizeof err) == 0, "layout read %s", err);
  struct image *vol = image_find(&list, "vol");
  CHECK(vol && vol->volumes && !strcmp(vol->volumes[1], "/var/log"), "box run sees the image's Volumes");
  still = image_find(&list, "app");
  CHECK(still && !still->volumes, "an image without VOLUME has none");
  image_list_free(&list);
  rm_rf(oci);
  return tap_done();
}
