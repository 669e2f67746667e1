#!/usr/bin/env bash
# Check an OCI layout from build.sh with standard tools: skopeo reads every image, umoci unpacks
# them, and (as root, on an amd64 host with IA-32 support) the unpacked lua and busybox roots run.
#   bash images/oci/check.sh OUTDIR
#   bash images/oci/check.sh --twice     build twice (to temporary dirs) and compare byte for byte,
#                                        then run the checks above on the result
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [[ ${1:-} == --twice ]]; then
  tw=$(mktemp -d "${TMPDIR:-/tmp}/stacklab-oci-twice.XXXXXX")
  trap 'rm -rf "$tw"' EXIT
  bash "$HERE/build.sh" "$tw/a" 2>/dev/null
  sleep 1   # a different wall clock for the second build
  bash "$HERE/build.sh" "$tw/b" 2>/dev/null
  diff -r "$tw/a" "$tw/b" >/dev/null || { diff -r "$tw/a" "$tw/b" >&2 || true; echo "oci check: FAIL: two builds differ" >&2; exit 1; }
  echo "ok reproducible: index.json $(sha256sum <"$tw/a/index.json" | cut -d' ' -f1) in both builds, $(find "$tw/a" -type f | wc -l) identical files"
  bash "$0" "$tw/a"
  exit
fi
OUT=${1:?usage: check.sh OUTDIR | --twice}
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
  echo "ok run: busybox sh; $out (with only the image's own libraries)"
  # web: its own httpd serves its own page (on a free local port, stopped by its pid).
  port=$((20000 + RANDOM % 20000))
  chroot "$work/web/rootfs" /bin/busybox httpd -f -p "127.0.0.1:$port" -h /www &
  httpd=$!
  page=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    page=$(chroot "$work/web/rootfs" /bin/busybox wget -qO- "http://127.0.0.1:$port/" 2>/dev/null) && break
    sleep 0.2
  done
  kill "$httpd" 2>/dev/null || true
  wait "$httpd" 2>/dev/null || true
  [[ $page == *"Hello from a container"* ]] || fail "web: httpd did not serve /www/index.html"
  echo "ok run: web httpd served index.html ($(printf %s "$page" | wc -c) bytes)"
  # amd64-hello: a valid program — on this x86-64 machine it runs; the i386 container host refuses it.
  out=$("$work/amd64-hello/rootfs/hello") || fail "hello did not run on x86-64"
  echo "ok run: /hello on x86-64 says: $out"
else
  echo "skip run (needs root for chroot)"
fi
