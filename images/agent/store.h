/* Writing boxd's OCI image layout (the OCI Image Layout and Image Manifest specs,
 * github.com/opencontainers/image-spec: layout.md, manifest.md, config.md): blobs by sha256,
 * image configs and manifests, index.json entries named with org.opencontainers.image.ref.name.
 * Writers lock <oci>/index.json.lock (flock) and replace index.json by rename, so boxd (which
 * rereads it when it changes: store_refresh) never sees half a file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"

struct layer_desc {
  char media_type[80];
  char hex[65];        /* blob digest (of the bytes as stored, compressed or not) */
  char diff_id[65];    /* digest of the uncompressed tar (config rootfs.diff_ids) */
  uint64_t size;
};

struct history_entry {
  char *created, *created_by, *comment;
  bool empty_layer;    /* a step that changed only the config (ENV, CMD, …) */
};

/* What `box build` carries from step to step: an image's config and its layers. */
struct image_config {
  char *created, *architecture, *os;
  char **env, **cmd, **entrypoint, **ports, **labels; /* NULL-terminated; labels: key, value, … */
  char **volumes; /* config Volumes' keys (Dockerfile VOLUME), NULL-terminated; NULL = none */
  char *workdir;
  int nlayers;
  struct layer_desc layers[OCI_MAX_LAYERS];
  int nhistory;
  struct history_entry *history;
};

/* Read manifest <hex> and its config. 0 or -errno with err set. */
int store_read_image(const char *oci, const char *manifest_hex, struct image_config *out, char *err, size_t errlen);
void image_config_free(struct image_config *c);
/* Write c's config and manifest blobs; the manifest's digest and size come back. */
int store_write_image(const char *oci, const struct image_config *c, char manifest_hex[65], uint64_t *manifest_size,
                      char *err, size_t errlen);
/* A blob from memory, stored under its sha256 (hex filled in). */
int store_put_blob(const char *oci, const void *data, size_t n, char hex[65], char *err, size_t errlen);
/* A temporary file in the blob directory (same filesystem, so a rename stores it): fd, path. */
int store_blob_tmp(const char *oci, char **path, char *err, size_t errlen);
/* Move a finished temporary file to blobs/sha256/<hex>. */
int store_commit_blob(const char *oci, const char *tmp_path, const char *hex, char *err, size_t errlen);
bool store_has_blob(const char *oci, const char *hex);
/* Add manifest <hex> to index.json if absent; with tag, name it (taking the name from any other
 * entry, as a re-tag in Docker leaves the old image untagged). */
int store_index_add(const char *oci, const char *manifest_hex, uint64_t size, const char *tag, char *err, size_t errlen);

/* The images of the layout, as boxd holds them, reread when index.json changed since the last
 * read (inode, size, mtime). Pointers into the old list (a container's image) are moved to the
 * entry with the same manifest digest; an old list still referred to is kept. 1 reread, 0 not. */
struct container;
int store_refresh(const char *oci, struct image_list *images, struct container **containers, int ncontainers);

/* Bytes of im's layers that another named image in the list also has. */
uint64_t image_shared_bytes(const struct image_list *images, const struct image *im);
