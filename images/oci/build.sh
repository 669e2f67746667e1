#!/usr/bin/env bash
# Build one OCI image layout (oci-layout, index.json, blobs/sha256/…) holding the images the
# container host runs — busybox, web, lua, amd64-hello — from Debian i386 packages, byte for byte
# the same on every run with the same inputs. All four share one busybox base layer blob.
#
#   OCI_BUSYBOX=FILE OCI_BUSYBOX_VERSION=TEXT bash images/oci/build.sh OUTDIR
#                                            (OCI_SOURCES_OUT=FILE: also write "package version" lines)
#
# The base layer's busybox is the static i386 one images/busybox/build.sh makes in its `image`
# build (Debian's source and static config, our patches; images/build.sh passes it): Debian's
# busybox-static binary has the ash bug our patches fix (a container's `sleep 9 & kill $!` lost
# its SIGTERM).
set -euo pipefail
shopt -s inherit_errexit   # a die() inside $(…) stops the build

OUT=${1:?usage: build.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEBS=${STACKLAB_DEBS:-$ROOT/.cache/debs}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export LC_ALL=C TZ=UTC
umask 022

CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
MT_INDEX=application/vnd.oci.image.index.v1+json
MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_CONFIG=application/vnd.oci.image.config.v1+json
MT_LAYER=application/vnd.oci.image.layer.v1.tar+gzip

die() { printf 'oci: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'oci: %s\n' "$*" >&2; }

[[ -e $OUT ]] && die "$OUT already exists (remove it first)"
for tool in apt-get dpkg-deb readelf gcc tar gzip sha256sum; do
  command -v "$tool" >/dev/null || die "missing tool '$tool'"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stacklab-oci.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DEBS" "$OUT/blobs/sha256"

# ---------------------------------------------------------------- packages
# deb NAME ARCH → path of the .deb in the cache, downloading it once. Several cached versions:
# the newest wins, so a stale leftover cannot silently change the image.
deb() {
  local name=$1 arch=$2 best="" f v bv=""
  shopt -s nullglob
  local found=("$DEBS/${name}_"*"_${arch}.deb")
  shopt -u nullglob
  if ((${#found[@]} == 0)); then
    say "downloading $name:$arch"
    (cd "$DEBS" && apt-get download "$name:$arch" >&2) || die "package $name:$arch: apt-get download failed (is it in the apt sources? try apt-get update)"
    shopt -s nullglob
    found=("$DEBS/${name}_"*"_${arch}.deb")
    shopt -u nullglob
    ((${#found[@]})) || die "package $name:$arch: downloaded, but no ${name}_*_${arch}.deb in $DEBS"
  fi
  for f in "${found[@]}"; do
    v=$(dpkg-deb -f "$f" Version)
    if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$bv"; then best=$f bv=$v; fi
  done
  printf '%s\n' "$best"
}

# unpack NAME ARCH → directory holding the package's files; records its version as a source.
unpack() {
  local name=$1 arch=$2 f dir=$WORK/pkg/$1
  f=$(deb "$name" "$arch")
  if [[ ! -d $dir ]]; then
    mkdir -p "$dir"
    dpkg-deb -x "$f" "$dir" || die "package $name:$arch: cannot unpack $f"
    printf '%s:%s %s\n' "$name" "$arch" "$(dpkg-deb -f "$f" Version)" >>"$WORK/sources"
  fi
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------- blobs and JSON
# put_blob FILE → moves FILE into blobs/sha256 and prints "sha256:HEX SIZE".
put_blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv -f "$1" "$OUT/blobs/sha256/$hex"
  chmod 0644 "$OUT/blobs/sha256/$hex"
  printf 'sha256:%s %s\n' "$hex" "$size"
}

# JSON string array from arguments (arguments here never hold quotes, backslashes or controls).
json_array() {
  local s="" a
  for a in "$@"; do
    [[ $a == *[\"\\]* || $a =~ [[:cntrl:]] ]] && die "json_array: unsupported character in '$a'"
    s+="${s:+,}\"$a\""
  done
  printf '[%s]' "$s"
}

# layer ROOTDIR → gzip layer blob from a directory tree; prints "sha256:BLOB SIZE sha256:DIFFID".
# Entries are listed sorted, without a leading "./", each file owned by 0:0 at SOURCE_DATE_EPOCH.
layer() {
  local root=$1 tarf=$WORK/layer.tar diffid
  (cd "$root" && find . -mindepth 1 | sed 's|^\./||' | sort) >"$WORK/layer.list"
  tar -C "$root" --no-recursion -T "$WORK/layer.list" -cf "$tarf" \
    --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu
  diffid=sha256:$(sha256sum "$tarf" | cut -d' ' -f1)
  gzip -n -9 <"$tarf" >"$tarf.gz"
  rm -f "$tarf"
  printf '%s %s\n' "$(put_blob "$tarf.gz")" "$diffid"
}

# image NAME CMD_JSON EXTRA_CONFIG_JSON "LAYER…" "COMMENT…" → adds the image; appends its index entry.
INDEX_ENTRIES=()
image() {
  local name=$1 cmd=$2 extra=$3 layers=$4 comments=$5
  local diffs="" descs="" hist="" l blob size diff c cfg man i=0
  local -a comment_list
  IFS='|' read -r -a comment_list <<<"$comments"
  for l in $layers; do
    read -r blob size diff <<<"${LAYER[$l]}"
    diffs+="${diffs:+,}\"$diff\""
    descs+="${descs:+,}{\"mediaType\":\"$MT_LAYER\",\"digest\":\"$blob\",\"size\":$size}"
    c=${comment_list[$i]:-}
    hist+="${hist:+,}{\"created\":\"$CREATED\",\"created_by\":\"images/oci/build.sh: $c\"}"
    i=$((i + 1))
  done
  printf '{"created":"%s","architecture":"386","os":"linux","config":{"Env":["%s"],"Cmd":%s,"WorkingDir":"/"%s},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
    "$CREATED" "$PATH_ENV" "$cmd" "$extra" "$diffs" "$hist" >"$WORK/config.json"
  read -r cfg size <<<"$(put_blob "$WORK/config.json")"
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%s},"layers":[%s],"annotations":{"org.opencontainers.image.created":"%s","org.opencontainers.image.title":"%s"}}' \
    "$MT_MANIFEST" "$MT_CONFIG" "$cfg" "$size" "$descs" "$CREATED" "$name" >"$WORK/manifest.json"
  read -r man size <<<"$(put_blob "$WORK/manifest.json")"
  INDEX_ENTRIES+=("{\"mediaType\":\"$MT_MANIFEST\",\"digest\":\"$man\",\"size\":$size,\"platform\":{\"architecture\":\"386\",\"os\":\"linux\"},\"annotations\":{\"org.opencontainers.image.ref.name\":\"$name\"}}")
  say "image $name: manifest $man"
}

declare -A LAYER

# ---------------------------------------------------------------- base: busybox
[[ -x ${OCI_BUSYBOX:-} ]] || die "OCI_BUSYBOX must name the busybox binary to use (images/build.sh oci passes it)"
[[ -n ${OCI_BUSYBOX_VERSION:-} ]] || die "OCI_BUSYBOX_VERSION must say which busybox build it is"
# A sources line is "name version": the Debian source version, marked as carrying our patches.
bb_version=$(grep -oE '[0-9]+:[^ ,]+' <<<"$OCI_BUSYBOX_VERSION" | head -1) || die "no Debian version in OCI_BUSYBOX_VERSION '$OCI_BUSYBOX_VERSION'"
printf 'busybox-image %s+stacklab-patches\n' "$bb_version" >>"$WORK/sources"
base=$WORK/rootfs/base
mkdir -p "$base"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
install -m 0755 "$OCI_BUSYBOX" "$base/bin/busybox"
# The i386 static busybox runs on the amd64 build host; it names its own applets.
applets=$("$base/bin/busybox" --list-full) || die "cannot run the i386 busybox here (no IA-32 support in this kernel?)"
while read -r path; do
  [[ $path == bin/busybox || -z $path ]] && continue
  mkdir -p "$base/$(dirname "$path")"
  ln -s /bin/busybox "$base/$path"
done <<<"$applets"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$base/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$base/etc/group"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$base/etc/hosts"
chmod 0644 "$base"/etc/{passwd,group,hosts}
chmod 1777 "$base/tmp"
chmod 0700 "$base/root"
LAYER[base]=$(layer "$base")

# ---------------------------------------------------------------- web: httpd config and a page
web=$WORK/rootfs/web
mkdir -p "$web/etc" "$web/www"
cat >"$web/etc/httpd.conf" <<'EOF'
# busybox httpd: serve /www, index.html for directories
H:/www
I:index.html
.html:text/html; charset=utf-8
.txt:text/plain; charset=utf-8
EOF
cat >"$web/www/index.html" <<'EOF'
<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>stacklab web</title>
<h1>Hello from a container</h1>
<p>busybox httpd in the <code>web</code> image: a busybox base layer shared with every other image,
plus one layer holding this page and <code>/etc/httpd.conf</code>.</p>
</html>
EOF
chmod 0644 "$web/etc/httpd.conf" "$web/www/index.html"
LAYER[web]=$(layer "$web")

# ---------------------------------------------------------------- lua: Debian's lua5.4 and its libraries
lua=$WORK/rootfs/lua
LIB_PACKAGES=(libc6 libreadline8 libtinfo6)
luapkg=$(unpack lua5.4 i386)
libdirs=()
for p in "${LIB_PACKAGES[@]}"; do libdirs+=("$(unpack "$p" i386)"); done
mkdir -p "$lua/usr/bin"
install -m 0755 "$luapkg/usr/bin/lua5.4" "$lua/usr/bin/lua5.4"

# copy_path PKGDIR REL → copies REL (and, for a symlink, what it points to) into the lua layer.
copy_path() {
  local pkg=$1 rel=$2 target
  mkdir -p "$lua/$(dirname "$rel")"
  if [[ -L $pkg/$rel ]]; then
    target=$(readlink "$pkg/$rel")
    [[ $target == /* ]] && die "absolute symlink $rel -> $target in a package: not handled"
    [[ -e $lua/$rel || -L $lua/$rel ]] || cp -P "$pkg/$rel" "$lua/$rel"
    copy_path "$pkg" "$(dirname "$rel")/$target"
  else
    [[ -e $lua/$rel ]] || cp -p "$pkg/$rel" "$lua/$rel"
  fi
}

# find_lib SONAME → copies the library from the first package that ships it in a loader directory.
find_lib() {
  local so=$1 pkg d
  for pkg in "${libdirs[@]}"; do
    for d in lib/i386-linux-gnu usr/lib/i386-linux-gnu lib usr/lib; do
      if [[ -e $pkg/$d/$so ]]; then
        copy_path "$pkg" "$d/$so"
        printf '%s\n' "$d/$so"
        return 0
      fi
    done
  done
  die "lua5.4 needs $so, which none of the packages ${LIB_PACKAGES[*]} (i386) ships: add its package to LIB_PACKAGES"
}

# The program interpreter, then every NEEDED entry, transitively.
interp=$(readelf -lW "$lua/usr/bin/lua5.4" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[[ $interp == /lib/ld-linux.so.2 ]] || die "lua5.4: unexpected program interpreter '$interp'"
copy_path "${libdirs[0]}" lib/ld-linux.so.2
queue=(usr/bin/lua5.4)
declare -A seen=()
while ((${#queue[@]})); do
  elf=${queue[0]}
  queue=("${queue[@]:1}")
  for so in $(readelf -dW "$lua/$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ -n ${seen[$so]:-} ]] && continue
    seen[$so]=1
    rel=$(find_lib "$so")
    queue+=("$(cd "$lua" && readlink -f "$rel" | sed "s|^$lua/||")")
  done
done
say "lua5.4 libraries: ${!seen[*]}"
# Terminal descriptions so the REPL's readline can edit lines in the page's terminals.
terminfo=$(unpack ncurses-base all)
for t in d/dumb l/linux v/vt100 x/xterm x/xterm-256color; do
  mkdir -p "$lua/lib/terminfo/${t%/*}"
  install -m 0644 "$terminfo/lib/terminfo/$t" "$lua/lib/terminfo/$t"
done
LAYER[lua]=$(layer "$lua")

# ---------------------------------------------------------------- amd64-hello: a 64-bit program
hello=$WORK/rootfs/amd64-hello
mkdir -p "$hello"
gcc -m64 -nostdlib -static -Os -s -fno-asynchronous-unwind-tables -Wl,--build-id=none -Wl,-z,noseparate-code \
  -o "$hello/hello" "$HERE/hello.c"
chmod 0755 "$hello/hello"
[[ $(od -An -tx1 -j4 -N1 "$hello/hello" | tr -d ' ') == 02 ]] || die "hello: not a 64-bit ELF"
LAYER[hello]=$(layer "$hello")

# ---------------------------------------------------------------- images and index
image busybox '["/bin/sh"]' '' "base" "busybox applets, /etc"
image web '["/bin/busybox","httpd","-f","-p","80","-h","/www"]' ',"ExposedPorts":{"80/tcp":{}}' \
  "base web" "busybox applets, /etc|httpd.conf and /www/index.html"
image lua '["/usr/bin/lua5.4"]' '' "base lua" \
  "busybox applets, /etc|lua5.4 with ld-linux, libc and the libraries it needs"
image amd64-hello '["/hello"]' '' "base hello" "busybox applets, /etc|/hello, a static x86-64 program"

printf '{"imageLayoutVersion":"1.0.0"}' >"$OUT/oci-layout"
entries=$(IFS=,; printf '%s' "${INDEX_ENTRIES[*]}")
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' "$MT_INDEX" "$entries" >"$OUT/index.json"
chmod 0644 "$OUT/oci-layout" "$OUT/index.json"

if [[ -n ${OCI_SOURCES_OUT:-} ]]; then
  # The host tools that shape the bytes (the hello binary, the tar and gzip streams) count as sources too.
  dpkg-query -W -f '${Package}:${Architecture} ${Version}\n' gcc-12 binutils tar gzip >>"$WORK/sources" 2>/dev/null || true
  sort "$WORK/sources" >"$OCI_SOURCES_OUT"
fi
say "done: $(find "$OUT" -type f | wc -l) files, $(du -sb "$OUT" | cut -f1) bytes in $OUT"
