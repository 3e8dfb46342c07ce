#!/bin/sh
# Regenerates common-passwords.txt from the password frequency list of
# @zxcvbn-ts/language-common (MIT; a kept port of Dropbox's zxcvbn lists,
# built from leaked-password corpora), pinned by version. Only entries at
# least MinPasswordLen (8) code points long are kept, lower-cased, in
# frequency order: shorter ones are refused by the length rule anyway.
# Needs npm and node. Run from this directory: sh gen-common-passwords.sh
set -eu
version=4.1.3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@zxcvbn-ts/language-common@$version" >/dev/null && tar xzf ./*.tgz)
node -e '
const a = require(process.argv[1]);
const seen = new Set();
const out = [];
for (const p of a) {
  const l = p.toLowerCase();
  if ([...l].length >= 8 && !seen.has(l)) { seen.add(l); out.push(l); }
}
process.stdout.write(out.join("\n") + "\n");
' "$tmp/package/src/passwords.json" >common-passwords.txt
