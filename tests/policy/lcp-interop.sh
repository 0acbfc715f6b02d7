#!/bin/bash
# tvam-policy lcp-create writes the same bytes as Debian tboot 1.10.5's
# lcp2_mlehash + lcp2_crtpolelt --type mle2 + lcp2_crtpollist --listver 0x200
# + lcp2_crtpol (policy file for NV and policy data file for SINIT), for
# algorithms, several MLE hashes, SINIT minimum versions, control fields,
# masks and signature algorithms; lcp2_crtpol --show accepts ours and
# lcp-show reads theirs.  (Unsigned lists carry no random or time data, so
# the comparison is byte for byte.)
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/matches.sh"
policy=$(realpath "${1:?usage: lcp-interop.sh TVAM_POLICY}")
tboot=${TVAM_TEST_TBOOT:-/boot/tboot.gz}
for t in lcp2_mlehash lcp2_crtpolelt lcp2_crtpollist lcp2_crtpol jq; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -r "$tboot" ] || { echo "SKIP: $tboot missing"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"

n=0
check() { # ALG "EXTRA-HASHES" MINVER ELTCTRL POLCTRL "SIGNS" "MASKS" MAXSINIT
    local alg=$1 extra=$2 minver=$3 eltctrl=$4 polctrl=$5 signs=$6 masks=$7 maxs=$8
    local files=() ours=() i=0
    rm -f ref.* ours.* h*.txt
    lcp2_mlehash --create --alg "$alg" --cmdline "logging=serial" "$tboot" > h0.txt
    files+=(h0.txt)
    ours+=(--tboot "$tboot" --tboot-cmdline "logging=serial")
    for x in $extra; do
        i=$((i + 1)); echo "$x" | sed 's/../& /g' > "h$i.txt"; files+=("h$i.txt"); ours+=(--mle-hash "$x")
    done
    # tvam-policy puts tboot's own hash last; give lcp2 the same order
    files=("${files[@]:1}" h0.txt)
    lcp2_crtpolelt --create --type mle2 --alg "$alg" --minver "$minver" --ctrl "$eltctrl" --out ref.elt "${files[@]}" >/dev/null
    lcp2_crtpollist --create --listver 0x200 --out ref.lst ref.elt >/dev/null
    local sargs=() margs=()
    for s in $signs; do sargs+=(--sign "$s"); done
    for m in $masks; do margs+=(--mask "$m"); done
    lcp2_crtpol --create --type list --alg "$alg" --minver "$minver" --ctrl "$polctrl" --max_sinit_min "$maxs" \
        "${sargs[@]}" "${margs[@]}" --pol ref.pol --data ref.data ref.lst >/dev/null
    "$policy" lcp-create --alg "$alg" --minver "$minver" --elt-ctrl "$eltctrl" --ctrl "$polctrl" \
        --max-sinit-min "$maxs" "${sargs[@]}" "${margs[@]}" "${ours[@]}" --pol ours.pol --data ours.data
    n=$((n + 1))
    cmp ref.pol ours.pol || { echo "FAIL case $n ($*): policy differs"; xxd ref.pol; xxd ours.pol; exit 1; }
    cmp ref.data ours.data || { echo "FAIL case $n ($*): policy data differs"; xxd ref.data; xxd ours.data; exit 1; }
    lcp2_crtpol --show ours.pol ours.data | matches "policy data hash matches policy hash" \
        || { echo "FAIL case $n: lcp2_crtpol --show rejects ours"; exit 1; }
    [ "$("$policy" lcp-show ref.pol ref.data | jq -r .policy_hash_matches_data)" = true ] \
        || { echo "FAIL case $n: lcp-show cannot read lcp2's"; exit 1; }
}

h256a=$(head -c 32 /dev/urandom | xxd -p -c 64)
h256b=$(head -c 32 /dev/urandom | xxd -p -c 64)
h1=$(head -c 20 /dev/urandom | xxd -p -c 64)
h384=$(head -c 48 /dev/urandom | xxd -p -c 64)
check sha256 "" 0 0 0 "rsa-2048-sha256" "" 255
check sha256 "$h256a $h256b" 3 0 0 "rsa-2048-sha256 ecdsa-p256" "sha256 sha1" 7
check sha256 "$h256a" 0 1 2 "rsa-3072-sha256 rsa-3072-sha384" "sha384" 255
check sha1 "$h1" 1 0 0 "rsa-2048-sha1" "" 255
check sha384 "$h384" 0 0 0 "ecdsa-p384 rsa-3072-sha384" "sha384 sha256" 0

# type any: no list, zero policy hash
lcp2_crtpol --create --type any --alg sha256 --sign rsa-2048-sha256 --pol ref.any >/dev/null
"$policy" lcp-create --type any --alg sha256 --sign rsa-2048-sha256 --pol ours.any
cmp ref.any ours.any || { echo "FAIL: type any differs"; exit 1; }
n=$((n + 1))

# strict decoder: truncated or altered policies are refused
head -c 60 ours.pol > bad.pol
if "$policy" lcp-show bad.pol >/dev/null 2>&1; then echo "FAIL: truncated policy accepted"; exit 1; fi
printf '\x01' | dd of=ours.data bs=1 seek=35 conv=notrunc status=none   # num_lists unchanged: 1
printf '\x02' | dd of=ours.data bs=1 seek=35 conv=notrunc status=none   # num_lists 2, only one list
if "$policy" lcp-show ours.pol ours.data >/dev/null 2>&1; then echo "FAIL: bad list count accepted"; exit 1; fi
echo "PASS: $n LCP policies byte-identical to lcp2_*; bad input refused"
