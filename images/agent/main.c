/* One static binary: `boxd` (or `box daemon`) is the daemon, anything else the CLI. */
#include <libgen.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

int main(int argc, char **argv) {
  const char *self = argc > 0 ? strrchr(argv[0], '/') : NULL;
  self = self ? self + 1 : (argc > 0 ? argv[0] : "box");
  if (!strcmp(self, "boxd") || (argc > 1 && !strcmp(argv[1], "daemon"))) return daemon_main();
  return cli_main(argc, argv);
}
