#!/bin/sh
# Seeds for the Dockerfile and tar harnesses: small Dockerfiles, and small tars made by GNU tar
# (ustar, pax long names, GNU long names, links, a directory).
set -e
mkdir -p "$1"
out=$(cd "$1" && pwd)
mkdir -p "$out/dockerfile" "$out/tar"
printf 'FROM web\nCOPY a.txt /www/\nRUN echo hi && \\\n  rm /x\nCMD ["cat", "/www/a.txt"]\n' >"$out/dockerfile/basic"
printf 'from busybox AS b\n# comment\nENV A=1 B="two words" C='"'"'x'"'"'\nENV PATH /bin\nWORKDIR app\nEXPOSE 80 53/udp\nLABEL k=v\nENTRYPOINT ["sh"]\n' >"$out/dockerfile/all"
printf 'FROM web\nFROBNICATE x\n' >"$out/dockerfile/unknown"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/d/sub"
echo hello >"$work/d/a.txt"
ln -s a.txt "$work/d/link"
ln "$work/d/a.txt" "$work/d/hard"
long=$(printf 'n%.0s' $(seq 1 120))
echo long >"$work/d/sub/$long"
(cd "$work" && tar --format=ustar -b 1 -cf "$out/tar/ustar" d/a.txt d/link d/sub 2>/dev/null || true)
(cd "$work" && tar --format=pax -b 1 -cf "$out/tar/pax" d)
(cd "$work" && tar --format=gnu -b 1 -cf "$out/tar/gnu" d)
