/* Making image layers (OCI image-spec layer.md "changesets"): an overlayfs upper directory as a
 * layer tar, its whiteouts (0/0 character devices) as `.wh.NAME` entries and its opaque
 * directories (trusted.overlay.opaque=y) as `.wh..wh..opq`; and the layer of a COPY from a
 * build context, with the hash of the copied content that keys the build cache. */
#pragma once
#include <stddef.h>

#include "store.h"
#include "tar.h"

/* Write every change in `upper` (mount points boxd made, /proc /sys /dev when empty, left out). */
int layer_write_upper(struct tar_writer *w, const char *upper, char *err, size_t errlen);

/* A COPY: sources (relative to context; a directory copies its contents) to dest (absolute;
 * a trailing "/" or several sources make it a directory). Parent directories of dest take their
 * mode and owner from `below` (unpacked under <state>/layers) when they exist there. With w NULL
 * nothing is written, only content_hex (64 hex + NUL) is computed: the sha256 of every copied
 * path, type, mode and content, not of times, so a touched but unchanged file still hits the cache.
 * Errors: a source missing or outside the context ("COPY failed: …"). */
int layer_write_copy(struct tar_writer *w, const char *context, char **srcs, int nsrcs, const char *dest,
                     const struct image_config *below, char content_hex[65], char *err, size_t errlen);
