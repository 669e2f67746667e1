/* The image verbs the `box` CLI runs itself, next to boxd's OCI store (the container host's
 * /var/lib/box/oci): build and history (build.c), save and load (archive.c). Each takes argv
 * without "box VERB" and returns the exit code (0, 1 for a failed build or bad input, 125 for
 * a bad option), printing Docker's messages. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

int build_main(int argc, char **argv);
int history_main(int argc, char **argv);
int save_main(int argc, char **argv);
int load_main(int argc, char **argv);
/* Load the OCI archive read from fd (to its end) into boxd's store, as `box load` does: every blob
 * staged and checked first, then moved in and the images named, so a bad archive loads nothing.
 * Prints "Loaded image: …" lines (none if quiet) on stdout, one error line naming `name` on
 * stderr. Returns the exit code: 0, or 1 with nothing loaded. */
int archive_load(int fd, const char *name, bool quiet);
/* The OCI archive of images (save), into w; 0 or -errno with err set. */
struct tar_writer;
struct image;
struct image_list;
struct verb_args;
struct buf;
int archive_write(struct tar_writer *w, struct image *const *images, int n, char *err, size_t errlen);
/* `save IMAGE…` asked of boxd over the mux (CMD): the archive is the answer (OUTPUT frames), so the
 * page can hand the user the file; errors go to notes. Docker's exit codes. */
int save_verb(const struct image_list *images, const struct verb_args *a, struct buf *out, struct buf *notes);
/* "12 minutes ago"-style ages, as Docker prints them (sizes: human_size in util.h). */
void human_since(char *out, size_t n, const char *rfc3339);
