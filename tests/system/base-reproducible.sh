#!/bin/bash
# Two builds of the base image from the same inputs give the same SHA-256
# (issue 8 "Done when").  Prints build time and size of each build; on a
# difference, lists the files that differ (the second tree is kept).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "needs root (debootstrap)"; exit 77; }
for tool in debootstrap mksquashfs unsquashfs; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
out=$(mktemp -d "${TVAM_CACHE_DIR:-$repo/.cache}/repro.XXXXXX")
trap 'rm -rf "$out"' EXIT
for x in a b; do
    "$repo/images/base/build" --out "$out/$x" >&2 || { echo "build $x failed"; exit 1; }
    echo "build $x: $(grep -E '^(sha256|squashfs_bytes|tree_mib|seconds_debootstrap|seconds_total)=' "$out/$x/build-info" | tr '\n' ' ')"
done
a=$(cat "$out/a/base.squashfs.sha256") b=$(cat "$out/b/base.squashfs.sha256")
if [ "$a" != "$b" ]; then
    echo "FAIL: two builds differ: $a vs $b" >&2
    for x in a b; do
        unsquashfs -lls -d /r "$out/$x/base.squashfs" | sort > "$out/$x.list"
        unsquashfs -d "$out/$x/tree" "$out/$x/base.squashfs" >/dev/null
    done
    diff "$out/a.list" "$out/b.list" | head -n 40 >&2
    diff -rq "$out/a/tree" "$out/b/tree" 2>&1 | head -n 40 >&2
    exit 1
fi
echo "base image reproducible: sha256 $a, $(stat -c %s "$out/a/base.squashfs") bytes"
