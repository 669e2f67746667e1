#!/usr/bin/env bash
# Check an OCI layout from build.sh with standard tools: skopeo reads every image, umoci unpacks
# them, and (as root, on an amd64 host with IA-32 support) the unpacked lua and busybox roots run.
#   bash images/oci/check.sh OUTDIR
set -euo pipefail
OUT=${1:?usage: check.sh OUTDIR}
IMAGES=(busybox web lua amd64-hello)
work=$(mktemp -d "${TMPDIR:-/tmp}/stacklab-oci-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { printf 'oci check: FAIL: %s\n' "$*" >&2; exit 1; }

for name in "${IMAGES[@]}"; do
  skopeo inspect "oci:$OUT:$name" >"$work/$name.json" || fail "skopeo inspect oci:$OUT:$name"
  grep -q '"Architecture": "386"' "$work/$name.json" || fail "$name: skopeo does not see architecture 386"
  skopeo inspect --config "oci:$OUT:$name" >"$work/$name.config.json" || fail "skopeo inspect --config $name"
  umoci unpack --rootless --image "$OUT:$name" "$work/$name" >/dev/null 2>"$work/$name.umoci.log" ||
    { cat "$work/$name.umoci.log" >&2; fail "umoci unpack $name"; }
  echo "ok skopeo+umoci $name ($(grep -c sha256: "$work/$name.json") digests)"
done

# umoci recomputes every digest and diff_id while unpacking; on top, check the files.
r=$work/web/rootfs
[[ -x $r/bin/busybox && -L $r/bin/sh && -f $r/www/index.html && -f $r/etc/httpd.conf ]] || fail "web: files missing"
[[ -f $work/busybox/rootfs/etc/passwd && ! -e $work/busybox/rootfs/www ]] || fail "busybox: wrong files"
[[ $(od -An -tx1 -j4 -N1 "$work/amd64-hello/rootfs/hello") == " 02" ]] || fail "amd64-hello: /hello is not ELF64"
echo "ok files"

# Run the images' programs in their unpacked roots where this machine allows it.
if [[ $(id -u) == 0 ]] && command -v chroot >/dev/null; then
  out=$(chroot "$work/busybox/rootfs" /bin/sh -c 'echo $((6*7)) && ls /proc /sys /dev /tmp' 2>&1) || fail "busybox sh: $out"
  [[ $out == 42* ]] || fail "busybox sh said: $out"
  out=$(chroot "$work/lua/rootfs" /usr/bin/lua5.4 -e 'print(_VERSION, math.sqrt(2) > 1.41)' 2>&1) || fail "lua: $out"
  [[ $out == $'Lua 5.4\ttrue' ]] || fail "lua said: $out"
  echo "ok run: busybox sh, $out (only the image's own libraries)"
else
  echo "skip run (needs root for chroot)"
fi
