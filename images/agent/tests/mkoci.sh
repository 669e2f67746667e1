#!/bin/sh
# Build a small OCI image layout for native tests: "busybox" (one layer: /bin/busybox and
# its applet links) and "web" (the same base layer plus one with a page and a whiteout).
#   tests/mkoci.sh DIR [BUSYBOX]
set -eu
out=$1
bb=${2:-/bin/busybox}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/blobs/sha256"

blob() { # file → prints sha256 digest hex, stores the blob
  h=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$out/blobs/sha256/$h"
  echo "$h"
}
layer() { # dir → prints "hex size"
  (cd "$1" && find . -mindepth 1 | sort | tar --numeric-owner --owner=0 --group=0 --mtime=@1700000000 \
     --no-recursion -cf - -T -) >"$work/layer.tar"
  gzip -n <"$work/layer.tar" >"$work/layer.tgz"
  # diff_id: the digest of the uncompressed tar (image-spec config.md, rootfs.diff_ids)
  echo "$(blob "$work/layer.tgz") $(stat -c %s "$work/layer.tgz") $(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
}

base=$work/base
mkdir -p "$base/bin" "$base/etc" "$base/root" "$base/tmp" "$base/gone"
cp "$bb" "$base/bin/busybox"
for a in sh ls cat echo ps hostname mount uname sleep wget ping head tr rm mkdir touch id grep true false; do
  ln -s busybox "$base/bin/$a"
done
echo base >"$base/etc/issue"
echo old >"$base/gone/file"
set -- $(layer "$base"); base_hex=$1 base_size=$2 base_diff=$3

top=$work/top
mkdir -p "$top/www" "$top/gone"
echo "hello from web" >"$top/www/index.html"
: >"$top/gone/.wh.file"
set -- $(layer "$top"); top_hex=$1 top_size=$2 top_diff=$3

image() { # name cmd layers-json diff-ids-json → prints "manifest-hex size"
  printf '{"architecture":"386","os":"linux","created":"2023-11-14T22:13:20Z","config":{"Env":["PATH=/bin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$2" "$4" >"$work/config.json"
  c=$(blob "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$c" "$(stat -c %s "$work/config.json")" "$3" >"$work/manifest.json"
  echo "$(blob "$work/manifest.json") $(stat -c %s "$work/manifest.json")"
}
L='{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}'
set -- $(image busybox '["sh"]' "$(printf "$L" "$base_hex" "$base_size")" "\"sha256:$base_diff\""); bb_m=$1 bb_s=$2
set -- $(image web '["httpd","-f","-h","/www"]' "$(printf "$L,$L" "$base_hex" "$base_size" "$top_hex" "$top_size")" \
  "\"sha256:$base_diff\",\"sha256:$top_diff\""); web_m=$1 web_s=$2
M='{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}'
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
printf "{\"schemaVersion\":2,\"manifests\":[$M,$M]}" "$bb_m" "$bb_s" busybox "$web_m" "$web_s" web >"$out/index.json"
