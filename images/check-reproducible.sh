#!/usr/bin/env bash
# Build every artifact a second time from scratch (fresh kernel trees, in a temp dir) and compare
# it byte for byte with images/dist. Slow (two kernel builds): not part of npm test.
#   bash images/check-reproducible.sh [workdir]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/stacklab-repro.XXXXXX)}
STACKLAB_CACHE=$work/cache STACKLAB_DIST=$work/dist \
  bash "$ROOT/images/build.sh" tools bios host-kernel vm-kernel agent oci host-initramfs vm-disk manifest
status=0
while read -r file; do
  a=$(sha256sum <"$ROOT/images/dist/$file" | cut -d' ' -f1)
  b=$(sha256sum <"$work/dist/$file" | cut -d' ' -f1)
  if [[ $a == "$b" ]]; then echo "same       $a  $file"; else echo "DIFFERENT  $a $b  $file"; status=1; fi
done < <(cd "$ROOT/images/dist" && find . -type f ! -name manifest.json | sed 's|^\./||' | sort)
exit $status
