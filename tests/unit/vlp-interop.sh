#!/bin/bash
# Interop of tvam-vlp with tboot's tb_polgen (Debian's tboot package is the
# reference): the same steps give the same bytes, and each tool reads the
# other's policy.  Exit 77 when tb_polgen is not installed.
set -euo pipefail
tool=$(realpath "${1:?usage: vlp-interop.sh TVAM_VLP}")
command -v tb_polgen >/dev/null || { echo "tb_polgen (package tboot) not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
head -c 100000 /dev/urandom > kernel
head -c 50000 /dev/urandom > initrd
head -c 3000 /dev/urandom > initrd2

both() { # run the same policy step with both tools
    tb_polgen "$@" ref.vlp >/dev/null
    "$tool" "$@" ours.vlp
}
case_no=0
check_same() {
    case_no=$((case_no + 1))
    cmp ref.vlp ours.vlp || { echo "FAIL case $case_no: bytes differ"; xxd ref.vlp; xxd ours.vlp; exit 1; }
    tb_polgen --show ours.vlp > show.txt || { echo "FAIL case $case_no: tb_polgen cannot read ours"; exit 1; }
    "$tool" show ref.vlp > /dev/null || { echo "FAIL case $case_no: tvam-vlp cannot read tb_polgen's"; exit 1; }
}

for alg in sha1 sha256 sha384 sha512; do
    for type in nonfatal continue halt; do
        rm -f ref.vlp ours.vlp
        tb_polgen --create --type $type --alg $alg ref.vlp >/dev/null
        "$tool" create --type $type --alg $alg ours.vlp
        check_same
        both --add --num 0 --pcr 18 --hash image --cmdline "console=ttyS0 intel_iommu=on" --image kernel
        both --add --num 1 --pcr 19 --hash image --cmdline "" --image initrd
        both --add --num 1 --pcr 19 --hash image --image initrd2
        both --add --num any --pcr 19 --hash any
        check_same
    done
done
rm -f ref.vlp ours.vlp
tb_polgen --create --type halt --ctrl 0 ref.vlp >/dev/null
"$tool" create --type halt --ctrl 0 ours.vlp
check_same

# tb_polgen's hash of module 0 is the one tvam-vlp computes for it.
rm -f ref.vlp
tb_polgen --create --type halt --alg sha256 ref.vlp >/dev/null
tb_polgen --add --num 0 --pcr 18 --hash image --cmdline "ro quiet" --image kernel ref.vlp >/dev/null
want=$("$tool" hash --alg sha256 --cmdline "ro quiet" --image kernel)
got=$("$tool" show --json ref.vlp | awk -F'"' '/"hashes"/ {getline; print $2}')
[ "$want" = "$got" ] || { echo "FAIL: module hash $want, tb_polgen stored $got"; exit 1; }

# A corrupt policy is refused.
head -c 20 ref.vlp > cut.vlp   # ref.vlp holds one entry with a hash: 52 bytes
if "$tool" show cut.vlp 2>/dev/null; then echo "FAIL: truncated policy accepted"; exit 1; fi
echo "tvam-vlp and tb_polgen agree on $case_no policies (4 algorithms x 3 types, multi-hash, any, ctrl 0)"
