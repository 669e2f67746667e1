#!/bin/sh
# Seeds for AFL++: each shared vector's input bytes (rep() expanded), behind a piece-size byte.
set -e
out=$1
mkdir -p "$out"
node -e '
const fs = require("fs");
const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
const expand = (s) => s.replace(/rep\(([0-9a-f]*),(\d+)\)/g, (_, h, n) => h.repeat(+n));
lines.forEach((l, i) => {
  const [name, hex] = l.split("|");
  const bytes = Buffer.from(expand(hex), "hex");
  if (bytes.length > 4096) return; // AFL++ works best on small inputs
  fs.writeFileSync(`${process.argv[2]}/${String(i).padStart(2, "0")}-${name}`, Buffer.concat([Buffer.from([i * 7]), bytes]));
});
' ../../../src/core/mux/vectors.txt "$out"
