#!/bin/bash
# tvam-policy mlehash equals tboot's lcp2_mlehash on Debian's tboot.gz (and
# the gunzipped ELF) for every algorithm and several tboot command lines;
# a command line too long for the MLE's area and a non-ELF file are refused.
set -euo pipefail
policy=$(realpath "${1:?usage: mlehash-interop.sh TVAM_POLICY}")
tboot=${TVAM_TEST_TBOOT:-/boot/tboot.gz}
command -v lcp2_mlehash >/dev/null || { echo "SKIP: lcp2_mlehash (package tboot) not installed"; exit 77; }
[ -r "$tboot" ] || { echo "SKIP: $tboot missing"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
zcat -f "$tboot" > "$work/tboot.elf"
n=0
for file in "$tboot" "$work/tboot.elf"; do
  for alg in sha1 sha256 sha384 sha512; do
    for cmd in "-" "" "logging=serial,memory loglvl=all" "x"; do
        if [ "$cmd" = "-" ]; then
            ref=$(lcp2_mlehash --create --alg $alg "$file" | tr -d ' \n')
            ours=$("$policy" mlehash --alg $alg "$file")
        else
            ref=$(lcp2_mlehash --create --alg $alg --cmdline "$cmd" "$file" | tr -d ' \n')
            ours=$("$policy" mlehash --alg $alg --cmdline "$cmd" "$file")
        fi
        [ "$ref" = "$ours" ] || { echo "FAIL: $file $alg '$cmd': lcp2_mlehash $ref, ours $ours"; exit 1; }
        n=$((n + 1))
    done
  done
done
long=$(head -c 5000 /dev/zero | tr '\0' 'a')
if "$policy" mlehash --cmdline "$long" "$tboot" 2>/dev/null; then echo "FAIL: over-long cmdline accepted"; exit 1; fi
head -c 4096 /dev/urandom > "$work/junk"
if "$policy" mlehash "$work/junk" 2>/dev/null; then echo "FAIL: junk accepted as tboot"; exit 1; fi
echo "PASS: $n MLE hashes equal lcp2_mlehash; bad inputs refused"
