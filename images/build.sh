#!/usr/bin/env bash
# Build every guest artifact stacklab boots, from Debian packages and kernel source,
# reproducibly, into images/dist/ (committed) with a manifest.
#
#   bash images/build.sh            everything
#   bash images/build.sh STEP…      only some steps: tools bios host-kernel vm-kernel agent oci host-initramfs
#                                   host-store vm-disk manifest measure
#                                   ("initramfs" = agent oci host-initramfs host-store manifest)
#
# Build trees live in .cache/ (ignored by git) and are reused.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGES=$ROOT/images
DIST=${STACKLAB_DIST:-$IMAGES/dist}   # output; override to compare two builds
CACHE=${STACKLAB_CACHE:-$ROOT/.cache}   # build trees; override to build elsewhere
export STACKLAB_DIST=$DIST
DEBS=$CACHE/debs

# One fixed time for every file, kernel build stamp and filesystem: same recipe, same bytes.
export SOURCE_DATE_EPOCH=1700000000
export KBUILD_BUILD_TIMESTAMP='2023-11-14 22:13:20 UTC'
export KBUILD_BUILD_USER=stacklab KBUILD_BUILD_HOST=stacklab KBUILD_BUILD_VERSION=1
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
export LC_ALL=C TZ=UTC
umask 022

HOST_KERNEL_SERIES=6.12
VM_KERNEL_SERIES=6.1
VM_DISK_MB=16          # whole disk
VM_BOOT_MB=5           # FAT boot partition (SYSLINUX + kernel), starts at 1 MiB
VM_ROOT_UUID=5a1ab000-0000-4000-8000-000000000001
VM_DISK_ID=0x5a1ab001
VM_FAT_SERIAL=5A1AB002

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
# command → Debian package that provides it
TOOLS=(
  "gcc:gcc" "make:make" "bc:bc" "bison:bison" "flex:flex" "cpio:cpio" "lz4:lz4" "xz:xz-utils"
  "mke2fs:e2fsprogs" "debugfs:e2fsprogs" "mformat:mtools" "mcopy:mtools" "syslinux:syslinux" "sfdisk:fdisk"
  "dpkg-deb:dpkg" "apt-get:apt" "sha256sum:coreutils" "node:nodejs" "perl:perl"
)
FILES=(
  "/usr/share/seabios/bios.bin:seabios" "/usr/share/seabios/vgabios-stdvga.bin:seabios"
  "/usr/lib/syslinux/mbr/mbr.bin:syslinux-common" "/usr/lib/syslinux/modules/bios/ldlinux.c32:syslinux-common"
  "/usr/src/linux-source-$HOST_KERNEL_SERIES.tar.xz:linux-source-$HOST_KERNEL_SERIES"
  "/usr/src/linux-source-$VM_KERNEL_SERIES.tar.xz:linux-source-$VM_KERNEL_SERIES"
  "/usr/include/openssl/opensslv.h:libssl-dev" "/usr/include/libelf.h:libelf-dev"
  "/usr/lib32/libc.a:libc6-dev-i386" "/usr/lib/gcc/x86_64-linux-gnu/12/32/libgcc.a:gcc-multilib"
  "/usr/include/nettle/sha2.h:nettle-dev" "/usr/lib/i386-linux-gnu/libnettle.a:nettle-dev:i386"
)

step_tools() {
  local missing=() entry
  for entry in "${TOOLS[@]}"; do command -v "${entry%%:*}" >/dev/null || missing+=("${entry##*:}"); done
  for entry in "${FILES[@]}"; do [[ -e ${entry%%:*} ]] || missing+=("${entry#*:}"); done
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      say "installing Debian packages: ${missing[*]}"
      dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get could not install: ${missing[*]}"
    else
      die "missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})"
    fi
  fi
  for entry in "${TOOLS[@]}"; do command -v "${entry%%:*}" >/dev/null || die "missing tool ${entry%%:*} (package ${entry##*:})"; done
  for entry in "${FILES[@]}"; do [[ -e ${entry%%:*} ]] || die "missing ${entry%%:*} (package ${entry#*:})"; done
}

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || die "package $1 is not installed"; }

# Fetch a .deb of an exact package (any architecture suffix) into the cache and unpack it.
deb_unpack() { # pkg dest
  local pkg=$1 dest=$2 deb
  mkdir -p "$DEBS"
  deb=$(ls "$DEBS/${pkg%%:*}"_*"$(arch_of "$pkg")".deb 2>/dev/null | head -n1 || true)
  if [[ -z $deb ]]; then
    (cd "$DEBS" && apt-get download -q "$pkg" >/dev/null) || die "cannot download Debian package $pkg"
    deb=$(ls "$DEBS/${pkg%%:*}"_*"$(arch_of "$pkg")".deb | head -n1)
  fi
  dpkg-deb -x "$deb" "$dest"
  dpkg-deb -f "$deb" Version
}
arch_of() { [[ $1 == *:* ]] && echo "_${1##*:}" || echo ""; }

# ---------------------------------------------------------------- bios
step_bios() {
  say "BIOS: SeaBIOS and VGA BIOS from Debian's seabios $(pkg_version seabios)"
  mkdir -p "$DIST/bios"
  cp /usr/share/seabios/bios.bin "$DIST/bios/seabios.bin"
  cp /usr/share/seabios/vgabios-stdvga.bin "$DIST/bios/vgabios.bin"
}

# ---------------------------------------------------------------- kernels
build_kernel() { # series fragment builddir
  local series=$1 fragment=$2 out=$CACHE/kernel/build-$3 src=$CACHE/kernel/linux-source-$1
  mkdir -p "$CACHE/kernel"
  if [[ ! -f $src/Makefile ]]; then
    say "unpacking linux-source-$series"
    tar -C "$CACHE/kernel" -xf "/usr/src/linux-source-$series.tar.xz"
  fi
  mkdir -p "$out"
  # Regenerate the config from tinyconfig + our fragment; make only rebuilds what changed.
  make -s -C "$src" ARCH=i386 O="$out" tinyconfig >/dev/null
  "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$fragment" >/dev/null 2>&1
  make -s -C "$src" ARCH=i386 O="$out" olddefconfig >/dev/null
  local opt missing=()
  for opt in $(grep -o '^CONFIG_[A-Z0-9_]*=y' "$fragment"); do grep -qx "$opt" "$out/.config" || missing+=("$opt"); done
  ((${#missing[@]} == 0)) || die "kernel $series config lost options (dependencies?): ${missing[*]}"
  say "building Linux $series ($(grep -c '=y' "$out/.config") options) in $out"
  make -s -C "$src" ARCH=i386 O="$out" -j"$(nproc)" bzImage >/dev/null
}

step_host_kernel() {
  build_kernel "$HOST_KERNEL_SERIES" "$IMAGES/host/kernel.config" host
  mkdir -p "$DIST/host"
  # Shipped without compression: decompressing took 16 M of the host's 55 M boot instructions.
  node "$IMAGES/host/uncompressed-bzimage.mjs" "$CACHE/kernel/build-host" "$DIST/host/bzImage"
}

step_vm_kernel() {
  build_kernel "$VM_KERNEL_SERIES" "$IMAGES/vm/kernel.config" vm
}

# ---------------------------------------------------------------- container runtime and OCI images
step_agent() {
  if [[ -f $IMAGES/agent/Makefile ]]; then
    say "building box/boxd (static i386)"
    make -s -C "$IMAGES/agent" >/dev/null
  else
    say "no images/agent/Makefile yet: the host boots without boxd"
  fi
}

step_oci() {
  if [[ -x $IMAGES/oci/build.sh ]]; then
    say "building OCI image layout"
    rm -rf "$CACHE/oci"
    local bb
    bb=$(busybox_build image)
    OCI_BUSYBOX=$bb/busybox OCI_BUSYBOX_VERSION=$(cat "$bb/version") OCI_SOURCES_OUT=$CACHE/oci-sources.txt \
      bash "$IMAGES/oci/build.sh" "$CACHE/oci" >&2
    rm -rf "$DIST/oci" && cp -a "$CACHE/oci" "$DIST/oci"
  else
    say "no images/oci/build.sh yet: no container images"
  fi
}

# Give every file the same owner and time, then write a sorted newc cpio.
pack_cpio() { # dir out
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  (cd "$1" && find . -mindepth 1 | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$2"
}

busybox_build() { # guests|image → the directory holding that build's busybox and version (images/busybox/build.sh)
  local out
  # Built once per recipe and build: the cache key is the recipe's own bytes and the build's name.
  out=$CACHE/busybox/$({ find "$IMAGES/busybox" -type f | LC_ALL=C sort | xargs cat; echo "$1"; } | sha256sum | cut -c1-16)
  [[ -x $out/busybox ]] || bash "$IMAGES/busybox/build.sh" "$out" "$1" >&2 || die "busybox $1 build failed"
  printf '%s\n' "$out"
}

busybox_tree() { # dest: our busybox (images/busybox: Debian's source, our config) with applet links in /bin and /sbin
  local dest=$1 out
  out=$(busybox_build guests)
  mkdir -p "$dest/bin" "$dest/sbin" "$dest/usr/bin" "$dest/usr/sbin"
  cp "$out/busybox" "$dest/bin/busybox"
  # The applet list comes from the binary's own help text, so it needs no i386 exec support.
  local applet
  for applet in $(busybox_applets "$dest/bin/busybox"); do
    case $applet in
      busybox) ;;
      init|getty|halt|poweroff|reboot|syslogd|klogd|crond|httpd|ifconfig|route|mdev|swapon|swapoff|sulogin)
        ln -sf ../bin/busybox "$dest/sbin/$applet" ;;
      *) ln -sf busybox "$dest/bin/$applet" ;;
    esac
  done
  cat "$out/version"
}
busybox_applets() { # the i386 busybox names its applets after "Currently defined functions:"
  if "$1" --list >/dev/null 2>&1; then "$1" --list; return; fi
  die "cannot list busybox applets (i386 binaries must be runnable on the build host)"
}

# Images already "pulled": their layers sit unpacked in boxd's layer store, as on a Docker host
# where `docker run` of a present image unpacks nothing. The lua image's own 5 MB layer is left
# to boxd (it unpacks it while idle, into the store's tmpfs upper).
PREPULLED_IMAGES=(busybox web amd64-hello)
preunpack_layers() { # store-root image-name…
  local root=$1 hex dir
  shift
  for hex in $(node -e '
    const fs = require("fs"), dir = process.argv[1], want = process.argv.slice(2);
    const index = JSON.parse(fs.readFileSync(dir + "/index.json", "utf8"));
    const seen = new Set();
    for (const m of index.manifests) {
      if (!want.includes(m.annotations?.["org.opencontainers.image.ref.name"])) continue;
      const man = JSON.parse(fs.readFileSync(dir + "/blobs/sha256/" + m.digest.slice(7), "utf8"));
      for (const l of man.layers) if (!seen.has(l.digest)) { seen.add(l.digest); console.log(l.digest.slice(7)); }
    }' "$root/oci" "$@"); do
    dir=$root/layers/$hex
    mkdir -p "$dir"
    tar -xzf "$root/oci/blobs/sha256/$hex" -C "$dir" --no-same-permissions --same-owner --numeric-owner
    # boxd turns OCI whiteouts into overlayfs ones when it unpacks; these layers have none.
    ! find "$dir" -name '.wh.*' | grep -q . || die "layer ${hex:0:12} has whiteouts: let boxd unpack it"
  done
}

step_host_initramfs() {
  say "assembling the container host initramfs (busybox, init, boxd: what the host needs to boot)"
  # The command line travels with the initramfs step so changing it never needs a kernel build.
  mkdir -p "$DIST/host"
  tr -s ' \n' ' ' <"$IMAGES/host/cmdline.txt" | sed 's/ $//' >"$DIST/host/cmdline.txt"
  local root=$CACHE/host-root
  rm -rf "$root" "$CACHE/busybox-deb"
  mkdir -p "$root"/{dev,proc,sys,tmp,run,root,etc,mnt/store,var/lib/box,var/log,.box-store/upper,.box-store/work}
  busybox_tree "$root" >"$CACHE/busybox-version"
  cp -a "$IMAGES/host/rootfs/." "$root/"
  if [[ -x $IMAGES/agent/build/box ]]; then
    cp "$IMAGES/agent/build/box" "$root/usr/bin/box"
    ln -sf box "$root/usr/bin/boxd"
  fi
  # The kernel opens /dev/console before init runs and devtmpfs is not mounted yet.
  mknod -m 600 "$root/dev/console" c 5 1
  # boxd says "READY" here once it listens; init reads it (see images/host/rootfs/init).
  mkfifo -m 600 "$root/.boxd-ready"
  pack_cpio "$root" "$DIST/host/initramfs.cpio"
}

# The image store: boxd's /var/lib/box (the OCI layout and the pulled layers, unpacked) as a
# read-only ext2 file system on a whole disk, the host's IDE hda. The emulator reads it lazily,
# chunk by chunk, so a boot reads none of it and a container only the files it opens.
HOST_STORE_UUID=5a1ab000-0000-4000-8000-000000000002
step_host_store() {
  [[ -d $DIST/oci ]] || die "no OCI layout in $DIST/oci: run the oci step first"
  say "assembling the container host image store (OCI layout + pulled layers, ext2)"
  local root=$CACHE/host-store img=$CACHE/host-store.ext2
  # layers/, run/ (container state: a tmpfs is mounted on it) and mnt/ as boxd makes them.
  rm -rf "$root" && mkdir -p "$root/layers" "$root/run" "$root/mnt"
  cp -a "$DIST/oci" "$root/oci"
  preunpack_layers "$root" "${PREPULLED_IMAGES[@]}"
  find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  # Size: the tree plus a quarter for metadata, in whole MiB (4 KiB blocks: fewer metadata reads).
  local kib=$(du -sk --apparent-size "$root" | cut -f1) inodes
  inodes=$(( $(find "$root" | wc -l) + 256 ))
  local mib=$(( (kib * 5 / 4 + inodes / 4 + 1023) / 1024 + 1 ))
  rm -f "$img"
  mke2fs -q -t ext2 -b 4096 -I 256 -N "$inodes" -m 0 -L boxstore -U "$HOST_STORE_UUID" \
    -E "hash_seed=$HOST_STORE_UUID,lazy_itable_init=0,nodiscard" -d "$root" "$img" "${mib}M"
  # mke2fs -d copies ctime and atime, which reading the tree moves: pin both.
  (cd "$root" && find . | sed 's|^\.||; s|^$|/|' | sort | sed "s|.*|sif \"&\" ctime @$SOURCE_DATE_EPOCH\nsif \"&\" atime @$SOURCE_DATE_EPOCH|") >"$CACHE/store-ctime.cmds"
  debugfs -w -f "$CACHE/store-ctime.cmds" "$img" >/dev/null 2>&1
  mkdir -p "$DIST/host"
  cp "$img" "$DIST/host/store.img"
}

# ---------------------------------------------------------------- VM disk
# A VM can run containers too ("Docker in a VM", as Docker Desktop does): its disk carries boxd and
# box and a store laid out as the host's /var/lib/box with these images, their layers unpacked.
VM_IMAGES=(busybox)

# An OCI image layout holding only some images of another: index entries by ref name, and the
# blobs they reference (manifest, config, layers), byte for byte.
oci_subset() { # src dest name…
  local src=$1 dest=$2
  shift 2
  mkdir -p "$dest/blobs/sha256"
  cp "$src/oci-layout" "$dest/oci-layout"
  node -e '
    const fs = require("fs"), [src, dest, ...want] = process.argv.slice(1);
    const index = JSON.parse(fs.readFileSync(src + "/index.json", "utf8"));
    const blob = (d) => "/blobs/sha256/" + d.slice(7);
    const manifests = index.manifests.filter((m) => want.includes(m.annotations?.["org.opencontainers.image.ref.name"]));
    if (manifests.length !== want.length) { console.error("oci_subset: not all of " + want + " are in " + src); process.exit(1); }
    for (const m of manifests) {
      const man = JSON.parse(fs.readFileSync(src + blob(m.digest), "utf8"));
      for (const d of [m.digest, man.config.digest, ...man.layers.map((l) => l.digest)]) fs.copyFileSync(src + blob(d), dest + blob(d));
    }
    fs.writeFileSync(dest + "/index.json", JSON.stringify({ ...index, manifests }));
  ' "$src" "$dest" "$@" || die "cannot take ${*} from the OCI layout in $src"
}

step_vm_disk() {
  say "assembling the VM disk"
  local root=$CACHE/vm-root img=$CACHE/vm-disk.img
  rm -rf "$root" "$CACHE/busybox-deb"
  mkdir -p "$root"/{dev,proc,sys,tmp,run,root,var/log,var/spool/cron,mnt,boot}
  busybox_tree "$root" >"$CACHE/busybox-version"
  cp -a "$IMAGES/vm/rootfs/." "$root/"
  [[ -x $IMAGES/agent/build/box ]] || die "no images/agent/build/box: run the agent step first"
  [[ -d $DIST/oci ]] || die "no OCI layout in $DIST/oci: run the oci step first"
  cp "$IMAGES/agent/build/box" "$root/usr/bin/box"
  ln -sf box "$root/usr/bin/boxd"
  mkdir -p "$root/var/lib/box/layers" "$root/var/lib/box/run" "$root/var/lib/box/mnt"
  oci_subset "$DIST/oci" "$root/var/lib/box/oci" "${VM_IMAGES[@]}"
  preunpack_layers "$root/var/lib/box" "${VM_IMAGES[@]}"
  chmod 700 "$root/root"
  chmod 1777 "$root/tmp"
  find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

  local sector=512 boot_start=2048 boot_sectors=$((VM_BOOT_MB * 2048))
  local root_start=$((boot_start + boot_sectors)) total=$((VM_DISK_MB * 2048))
  local root_sectors=$((total - root_start))
  rm -f "$img" && truncate -s $((total * sector)) "$img"
  # MBR: partition 1 = FAT16 boot (active), partition 2 = Linux root.
  sfdisk -q --no-reread --no-tell-kernel "$img" >/dev/null <<EOF
label: dos
label-id: $VM_DISK_ID
unit: sectors
start=$boot_start, size=$boot_sectors, type=6, bootable
start=$root_start, size=$root_sectors, type=83
EOF
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$img" conv=notrunc bs=440 count=1 status=none

  # Boot partition: FAT16 made and filled with mtools (no mounting), then SYSLINUX installed into it.
  cp "$IMAGES/vm/syslinux.cfg" "$CACHE/syslinux.cfg"
  local fat="$img@@$((boot_start * sector))"
  export MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=1
  mformat -i "$fat" -T "$boot_sectors" -h 16 -s 63 -H "$boot_start" -N "$VM_FAT_SERIAL" -v BOOT ::
  touch -d "@$SOURCE_DATE_EPOCH" "$CACHE/syslinux.cfg"
  cp "$CACHE/kernel/build-vm/arch/x86/boot/bzImage" "$CACHE/vmlinuz"
  touch -d "@$SOURCE_DATE_EPOCH" "$CACHE/vmlinuz"
  mcopy -m -i "$fat" "$CACHE/vmlinuz" ::/vmlinuz
  mcopy -m -i "$fat" "$CACHE/syslinux.cfg" ::/syslinux.cfg
  syslinux --offset $((boot_start * sector)) --install "$img"

  # Root partition: ext2 built from the staged tree, fixed UUID and hash seed.
  # A fresh file and explicit inode-table zeroing: otherwise the "inode table zeroed" group flag
  # depends on whether the output file existed before (discard on an old file).
  rm -f "$CACHE/vm-root.ext2"
  mke2fs -q -t ext2 -b 1024 -I 256 -N 1024 -m 0 -L root -U "$VM_ROOT_UUID" -E "hash_seed=$VM_ROOT_UUID,lazy_itable_init=0,nodiscard" \
    -d "$root" "$CACHE/vm-root.ext2" $((root_sectors / 2))
  # mke2fs -d copies each file's ctime, which no one can set on the staging tree: pin it here.
  (cd "$root" && find . | sed 's|^\.||; s|^$|/|' | sort | sed "s|.*|sif \"&\" ctime @$SOURCE_DATE_EPOCH|") >"$CACHE/ext2-ctime.cmds"
  debugfs -w -f "$CACHE/ext2-ctime.cmds" "$CACHE/vm-root.ext2" >/dev/null 2>&1
  dd if="$CACHE/vm-root.ext2" of="$img" bs=$sector seek=$root_start conv=notrunc,sparse status=none
  mkdir -p "$DIST/vm"
  cp "$img" "$DIST/vm/disk.img"
}

# ---------------------------------------------------------------- manifest
step_manifest() {
  say "writing images/dist/manifest.json"
  local kv_host kv_vm
  kv_host=$(cat "$CACHE/kernel/build-host/include/config/kernel.release")
  kv_vm=$(cat "$CACHE/kernel/build-vm/include/config/kernel.release")
  node "$IMAGES/manifest.mjs" write \
    --set "kernels/host=$kv_host" --set "kernels/vm=$kv_vm" \
    --set "packages/seabios=$(pkg_version seabios)" \
    --set "packages/syslinux=$(pkg_version syslinux)" \
    --set "packages/linux-source-$HOST_KERNEL_SERIES=$(pkg_version linux-source-$HOST_KERNEL_SERIES)" \
    --set "packages/linux-source-$VM_KERNEL_SERIES=$(pkg_version linux-source-$VM_KERNEL_SERIES)" \
    --set "packages/busybox=$(cat "$CACHE/busybox-version")" \
    --set "packages/e2fsprogs=$(pkg_version e2fsprogs)" --set "packages/mtools=$(pkg_version mtools)" \
    --sources "$CACHE/oci-sources.txt"
}

# ---------------------------------------------------------------- measurements
# Boot the VM once in v86 (Node) and record how many disk bytes a boot to login: fetches.
step_measure() {
  if [[ -d $ROOT/node_modules/v86 ]]; then
    say "booting the VM once to measure what a boot reads from its disk"
    (cd "$ROOT" && npx --no-install tsx images/measure-boot-reads.ts)
  else
    say "skipping the boot measurement: run npm ci first"
  fi
}

# ---------------------------------------------------------------- main
run() { local s; for s in "$@"; do "step_${s//-/_}"; done; }
if (($# == 0)); then
  set -- tools bios host-kernel vm-kernel agent oci host-initramfs host-store vm-disk manifest measure
fi
steps=()
for a in "$@"; do
  case $a in
    initramfs) steps+=(agent oci host-initramfs host-store manifest) ;;
    tools|bios|host-kernel|vm-kernel|agent|oci|host-initramfs|host-store|vm-disk|manifest|measure) steps+=("$a") ;;
    *) die "unknown step '$a' (steps: tools bios host-kernel vm-kernel agent oci host-initramfs host-store vm-disk manifest measure; initramfs = agent oci host-initramfs host-store manifest)" ;;
  esac
done
[[ " ${steps[*]} " == *" tools "* ]] || step_tools
run "${steps[@]}"
say "done: $(du -sh "$DIST" | cut -f1) in images/dist"
