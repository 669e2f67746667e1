#!/usr/bin/env bash
# Build busybox from Debian's source package, reproducibly:
#
#   bash images/busybox/build.sh OUTDIR [guests|image]   → OUTDIR/busybox (static i386) and OUTDIR/version
#
# Debian's busybox 1:1.35.0-4+deb12u1 with Debian's own patches (dpkg-source applies
# debian/patches) and ours (patches/), configured from Debian's busybox-static config plus the bug
# fixes in config.fixes. Two builds:
#   guests (default): the VM's and the container host's: only the applets in applets.txt, and the
#                     options in config.fragment;
#   image:            the `busybox` OCI image's (images/oci): every applet Debian's busybox-static
#                     has, so a container gets what `docker run busybox` users expect, with our
#                     patches (a container's shell must not lose `kill $!` either).
# Built like Debian's busybox-static
# (gcc, static glibc) but for i386 from this amd64 machine: gcc -m32 against libc6-dev-i386.
# The source package is fetched once into ${STACKLAB_CACHE:-.cache}/busybox-src.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${STACKLAB_CACHE:-$ROOT/.cache}
OUT=${1:?usage: build.sh OUTDIR [guests|image]}
MODE=${2:-guests}
[[ $MODE == guests || $MODE == image ]] || { echo "busybox: unknown build '$MODE' (guests or image)" >&2; exit 2; }

VERSION=1:1.35.0-4+deb12u1
DSC=busybox_1.35.0-4+deb12u1.dsc
# The .dsc pins the tarballs' checksums; dpkg-source checks them. Pinning the .dsc pins the source.
DSC_SHA256=9c01fe128b0eeded371c70e37d474fdb5055f71b5d0a778db44c6b0c62d3a7fa
SRC=$CACHE/busybox-src

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000} KCONFIG_NOTIMESTAMP=1
export LC_ALL=C TZ=UTC
umask 022

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'busybox: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools and source
need=()
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v patch >/dev/null || need+=(patch)
[[ -e /usr/lib32/libc.a ]] || need+=(libc6-dev-i386)
[[ -e /usr/lib/gcc/x86_64-linux-gnu/12/32/libgcc.a ]] || need+=(gcc-multilib)
if ((${#need[@]})); then
  [[ $(id -u) == 0 ]] || die "missing Debian packages: ${need[*]}"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
    || die "apt-get could not install: ${need[*]}"
fi

if [[ ! -f $SRC/$DSC ]]; then
  # Source packages need deb-src lines, which Debian's images leave out: add bookworm's and
  # bookworm-security's (the +deb12u1 upload may live in either) next to the binary ones.
  if ! apt-cache showsrc busybox 2>/dev/null | grep -qx "Version: $VERSION"; then
    [[ $(id -u) == 0 ]] || die "no deb-src line offers busybox $VERSION (run as root to add one)"
    say "adding deb-src lines for bookworm and bookworm-security"
    cat >/etc/apt/sources.list.d/stacklab-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -q >/dev/null || die "apt-get update failed"
  fi
  say "fetching Debian source package busybox $VERSION"
  mkdir -p "$SRC"
  (cd "$SRC" && apt-get source --download-only -q "busybox=$VERSION" >/dev/null 2>&1) \
    || die "apt-get source busybox=$VERSION failed (gone from the archive? use snapshot.debian.org)"
fi
echo "$DSC_SHA256  $SRC/$DSC" | sha256sum -c --quiet - || die "$DSC is not the pinned one"

# ---------------------------------------------------------------- unpack, patch, configure
tree=$SRC/tree
rm -rf "$tree"
# dpkg-source checks the tarballs against the .dsc and applies debian/patches/series (quilt format).
dpkg-source -q -x "$SRC/$DSC" "$tree" >/dev/null 2>&1 || die "dpkg-source -x failed"
# Then ours, for bugs Debian's build has too (each patch says which and why).
for p in "$HERE"/patches/*.patch; do
  patch -s -p1 -d "$tree" <"$p" || die "patch $(basename "$p") does not apply"
done

cp "$tree/debian/config/pkg/static" "$tree/.config"
# Our options: replace each symbol's line (set or unset) with the fragment's.
apply_fragment() { # file
  local line sym
  while IFS= read -r line; do
    sym=$(sed -nE 's/^(# )?(CONFIG_[A-Z0-9_]+)[= ].*/\2/p' <<<"$line")
    [[ -n $sym ]] || continue
    sed -i -E "/^(# )?$sym[= ]/d" "$tree/.config"
    echo "$line" >>"$tree/.config"
  done < <(grep -E '^(CONFIG_|# CONFIG_[A-Z0-9_]+ is not set)' "$1")
}
fragments=("$HERE/config.fixes")
if [[ $MODE == guests ]]; then
  # Applet symbols, from the sources' own "//applet:IF_SYMBOL(APPLET…(name, …" lines; lsmod and
  # friends nest a second condition: IF_LSMOD(IF_MODPROBE_SMALL(APPLET…(lsmod, …
  grep -rhoE '//applet:\s*IF_[A-Z0-9_]+\(\s*(IF_[A-Z_]+\()?\s*APPLET[A-Z_]*\(\s*[^ ,]+' --include='*.c' "$tree" \
    | sed -E 's|//applet:\s*IF_([A-Z0-9_]+)\(\s*(IF_[A-Z_]+\()?\s*APPLET[A-Z_]*\(\s*([^ ,]+)|\1 \3|' | sort -u >"$SRC/applet-symbols"
  mapfile -t keep < <(grep -v -e '^#' -e '^$' "$HERE/applets.txt")
  declare -A want=()
  for a in "${keep[@]}"; do want[$a]=1; done
  # A symbol is on if an applet it provides is wanted (sh comes from SH_IS_ASH, not SH_IS_HUSH).
  declare -A on=()
  while read -r sym name; do
    [[ -n ${want[$name]:-} && $sym != SH_IS_HUSH ]] && on[$sym]=1
  done <"$SRC/applet-symbols"
  edits=$SRC/config-edits.sed
  for sym in $(cut -d' ' -f1 "$SRC/applet-symbols" | sort -u); do
    if [[ -n ${on[$sym]:-} ]]; then echo "s/^# CONFIG_${sym} is not set\$/CONFIG_${sym}=y/"
    else echo "s/^CONFIG_${sym}=y\$/# CONFIG_${sym} is not set/"; fi
  done >"$edits"
  sed -i -f "$edits" "$tree/.config"
  fragments+=("$HERE/config.fragment")
fi
for f in "${fragments[@]}"; do apply_fragment "$f"; done
# New or orphaned symbols take their defaults; options whose applets are gone fall away.
{ yes '' || :; } | make -s -C "$tree" oldconfig >/dev/null 2>&1 || die "make oldconfig failed"
while IFS= read -r line; do
  grep -qxF "$line" "$tree/.config" || die "config lost '$line' (a dependency is off?)"
done < <(cat "${fragments[@]}" | grep -E '^(CONFIG_|# CONFIG_[A-Z0-9_]+ is not set)')

# ---------------------------------------------------------------- build
# gcc -m32 compiles and links (busybox links through $CC); ld -r joins each directory's objects, in i386 too. The source path stays out
# of the binary (-ffile-prefix-map) so the build directory does not change the bytes.
say "building busybox $VERSION ($MODE build, static i386)"
if [[ $MODE == guests ]]; then tag="Debian $VERSION, stacklab config"; else tag="Debian $VERSION, stacklab patches"; fi
make -s -C "$tree" -j"$(nproc)" \
  CC="gcc -m32" LD="ld -m elf_i386" \
  BB_EXTRA_VERSION="$tag" \
  CONFIG_EXTRA_CFLAGS="-ffile-prefix-map=$tree=." \
  busybox >"$SRC/build.log" 2>&1 || { tail -30 "$SRC/build.log" >&2; die "build failed (log: $SRC/build.log)"; }

bin=$tree/busybox
file -b "$bin" 2>/dev/null | grep -q 'ELF 32-bit.*Intel 80386.*statically linked' || [[ ! -x /usr/bin/file ]] \
  || die "busybox is not a static i386 ELF: $(file -b "$bin")"
# The binary must carry exactly the applets we chose: nothing silently lost to a dependency.
if [[ $MODE == guests ]]; then
  diff <("$bin" --list | grep -vx busybox | sort) <(printf '%s\n' "${keep[@]}" | sort) >"$SRC/applets.diff" \
    || die "applets differ from applets.txt (< binary, > list): $(tr '\n' ' ' <"$SRC/applets.diff")"
fi

mkdir -p "$OUT"
cp "$bin" "$OUT/busybox"
cp "$tree/.config" "$OUT/busybox.config"
if [[ $MODE == guests ]]; then echo "Debian source $VERSION, stacklab config" >"$OUT/version"
else echo "Debian source $VERSION, Debian's static config, stacklab patches" >"$OUT/version"; fi
say "busybox: $(stat -c %s "$OUT/busybox") bytes, $("$bin" --list | wc -l) applets, sha256 $(sha256sum "$OUT/busybox" | cut -c1-16)"
