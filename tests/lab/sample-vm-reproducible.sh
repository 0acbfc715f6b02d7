#!/bin/bash
# The sample VM image build is reproducible: two builds, same SHA-256.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
for tool in mkfs.fat syslinux mcopy sfdisk faketime gcc; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$repo/images/sample-vm/build" "$out/a.img"
"$repo/images/sample-vm/build" "$out/b.img"
a=$(cat "$out/a.img.sha256") b=$(cat "$out/b.img.sha256")
if [ "$a" != "$b" ]; then
    echo "FAIL: two builds differ: $a vs $b" >&2
    cmp -l "$out/a.img" "$out/b.img" | head >&2
    exit 1
fi
echo "sample VM image reproducible: sha256 $a, $(stat -c %s "$out/a.img") bytes"
