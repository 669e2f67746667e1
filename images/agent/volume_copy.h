/* Docker's "copy image data into the volume": a volume mounted over a directory the image has
 * gets a copy of that directory's contents first if it is empty (moby container
 * CopyImagePathContent / copyExistingContents: the check is emptiness, whether the volume is new
 * or was made by `volume create`; `nocopy` skips it; bind mounts never copy). Runs in a
 * container's child before exec, reading the image through its overlay root. */
#pragma once
#include <stddef.h>

/* Copy what is under dir src_dirfd into the directory volume_fd (an O_PATH descriptor is fine, as
 * open_tree gives) if that has no entry: files with their data, directories, symlinks, device
 * nodes, fifos and sockets, with owner, mode, times and extended attributes (of files and
 * directories; set after the owner, whose change drops a file capability), hard links kept as
 * links; then the volume's root takes the source directory's owner and mode (moby copyOwnership).
 * Returns the number of entries copied (0: the volume was not empty, nothing touched), or -errno
 * with err naming the path that failed and the volume emptied again (as it was). */
long volume_copy_image_dir(int src_dirfd, int volume_fd, char *err, size_t errlen);
