#!/usr/bin/env bash
# Check that the VM disk is a plain PC image: boot a copy in QEMU (no v86) and wait for login:.
set -euo pipefail
img=$(mktemp --suffix=.img); log=$(mktemp); trap 'rm -f "$img" "$log"; kill %1 2>/dev/null || true' EXIT
cp "$(dirname "$0")/../../images/dist/vm/disk.img" "$img"
qemu-system-i386 -nographic -m 64 -drive "file=$img,format=raw,if=ide" -net none -no-reboot >"$log" 2>&1 &
for _ in $(seq 120); do
  if grep -aq 'login:' "$log"; then grep -a -E 'SYSLINUX|Linux version|stacklab|login:' "$log"; echo "qemu: VM disk boots to login:"; exit 0; fi
  sleep 1
done
cat "$log"; echo "qemu: no login: within 120 s" >&2; exit 1
