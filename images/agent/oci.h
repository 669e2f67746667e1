/* OCI image layout: read index.json, manifests and configs; unpack each layer once
 * per digest under <state>/layers/<hex>/ with OCI whiteouts turned into overlayfs ones. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define OCI_MAX_LAYERS 32

struct image {
  char *name;                       /* org.opencontainers.image.ref.name */
  char *digest;                     /* manifest digest, sha256:… */
  int nlayers;                      /* base layer first */
  char *layers[OCI_MAX_LAYERS];     /* hex digests */
  uint64_t layer_sizes[OCI_MAX_LAYERS];
  uint64_t size;                    /* compressed bytes of all layers */
  char **cmd;                       /* config Entrypoint + Cmd, NULL-terminated */
  char **env;                       /* config Env, NULL-terminated */
  char *workdir;
  char **volumes;                   /* config Volumes' keys (Dockerfile VOLUME), NULL-terminated; NULL = none */
  char *created;
};

struct image_list {
  struct image *v;
  int n;
};

/* Read the layout at dir into out (overwritten). 0, or < 0 with err set: then out holds the
 * images read before the first bad one. */
int oci_load(const char *dir, struct image_list *out, char *err, size_t errlen);
void image_list_free(struct image_list *images);
/* A JSON blob (manifest, config) of the layout by its "sha256:…" digest; NULL with err set. */
struct json;
struct json *oci_read_json_blob(const char *dir, const char *digest, char *err, size_t errlen);
/* "web", "web:latest", or an image ID ("sha256:<hex>", or at least 12 hex digits of it). */
struct image *image_find(const struct image_list *images, const char *ref);
int digest_hex(const char *digest, char hex[65]); /* "sha256:<64 hex>" → hex; -EINVAL otherwise */

/* Path of an unpacked layer (malloc'd). */
char *layer_dir(const char *hex);
/* Unpack the layer if not yet there. 0 or -errno with err set. */
int layer_ensure(const char *hex, char *err, size_t errlen);
/* Apply OCI whiteouts (.wh.NAME, .wh..wh..opq) in an unpacked tree, overlayfs style. */
int whiteouts_to_overlay(const char *root);
