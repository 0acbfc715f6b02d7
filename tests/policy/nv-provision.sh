#!/bin/bash
# NV provisioning of tboot's VLP and PO LCP on swtpm (suite tpm): both index
# sets are written and read back, the indices are readable the way tboot
# reads them (index auth, empty password) and carry OWNERWRITE but not
# AUTHWRITE; re-provisioning updates them (the LCP index is redefined when
# its size changes); unauthorized writes are refused; an index someone else
# defined with other attributes is not touched.
set -euo pipefail
policy=$(realpath "${1:?usage: nv-provision.sh TVAM_POLICY TVAM_VLP}")
vlp_tool=$(realpath "${2:?usage: nv-provision.sh TVAM_POLICY TVAM_VLP}")
for t in tpm2_nvread tpm2_nvreadpublic tpm2_nvwrite tpm2_changeauth tpm2_nvdefine jq; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -n "${TVAM_TEST_TCTI:-}" ] || { echo "SKIP: run under tests/lib/with-swtpm"; exit 77; }
export TVAM_TCTI=$TVAM_TEST_TCTI
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }

head -c 5000 /dev/urandom > kernel; head -c 3000 /dev/urandom > initrd
"$vlp_tool" create --type halt --alg sha256 v1.vlp
"$vlp_tool" add --num 0 --pcr none --hash image --cmdline "ro" --image kernel v1.vlp
"$vlp_tool" add --num 1 --pcr 19 --hash image --image initrd v1.vlp
cp v1.vlp v2.vlp
"$vlp_tool" add --num 1 --pcr 19 --hash image --image kernel v2.vlp   # a second allowed initrd
"$policy" lcp-create --alg sha256 --sign rsa-2048-sha256 --mle-hash "$(head -c 32 /dev/urandom | xxd -p -c 64)" --pol l256.pol --data l256.data
"$policy" lcp-create --alg sha1 --sign rsa-2048-sha1 --mle-hash "$(head -c 20 /dev/urandom | xxd -p -c 64)" --pol l1.pol --data l1.data

echo "== an LCP index defined by someone else (AUTHWRITE) is refused"
tpm2_nvdefine 0x01400001 -C o -s 70 -a "authread|authwrite" >/dev/null
if "$policy" nv-write --lcp l256.pol 2>err.txt; then fail "foreign index overwritten"; fi
grep -q "other attributes" err.txt || { cat err.txt; fail "refusal does not say why"; }
tpm2_nvundefine 0x01400001 -C o

echo "== provision, read back"
"$policy" nv-write --vlp v1.vlp
"$policy" nv-write --lcp l256.pol
"$policy" nv-read --vlp back.vlp && cmp back.vlp v1.vlp || fail "VLP read back differs"
"$policy" nv-read --lcp back.pol && cmp back.pol l256.pol || fail "LCP read back differs"
for idx in 0x01200001 0x01c10131 0x01400001 0x01c10106; do
    # as tboot reads it: the index as auth handle, empty password
    tpm2_nvread "$idx" -C "$idx" -o raw.bin || fail "index $idx not readable with empty index auth"
    attrs=$(tpm2_nvreadpublic "$idx" | sed -n '/attributes:/,/value:/p' | awk '/value:/ {print $2}')
    (( (attrs & 0x2) && (attrs & 0x40000) && !(attrs & 0x4) && !(attrs & 0x8) )) \
        || fail "index $idx attributes $attrs: want OWNERWRITE|AUTHREAD, no AUTHWRITE/POLICYWRITE"
done
tpm2_nvread 0x01c10131 -C 0x01c10131 -o raw.bin
[ "$(stat -c %s raw.bin)" = 1024 ] || fail "VLP index is not the fixed 1024-byte capacity"
cmp -n "$(stat -c %s v1.vlp)" raw.bin v1.vlp || fail "VLP index 0x01C10131 content differs"
tpm2_nvread 0x01c10106 -C 0x01c10106 -o raw.bin && cmp raw.bin l256.pol || fail "LCP index 0x01C10106 differs"

echo "== re-provision (update)"
"$policy" nv-write --vlp v2.vlp
"$policy" nv-read --vlp back.vlp && cmp back.vlp v2.vlp || fail "updated VLP differs"
"$policy" nv-write --lcp l1.pol                       # 58 bytes instead of 70: redefined
"$policy" nv-read --lcp back.pol && cmp back.pol l1.pol || fail "updated LCP differs"
[ "$(tpm2_nvreadpublic 0x01c10106 | grep size: | awk '{print $2}')" = 58 ] || fail "LCP index not resized"

echo "== unauthorized writes are refused"
if tpm2_nvwrite 0x01200001 -C 0x01200001 -i v1.vlp 2>/dev/null; then fail "write with the (empty) index auth accepted"; fi
tpm2_changeauth -c o ownerpw
if "$policy" nv-write --vlp v1.vlp 2>err.txt; then fail "write without the owner password accepted"; fi
grep -q "refused the owner authorization" err.txt || { cat err.txt; fail "refusal not explained"; }
if printf 'wrong' | "$policy" nv-write --vlp v1.vlp --owner-auth-stdin 2>/dev/null; then fail "wrong owner password accepted"; fi
"$policy" nv-read --vlp back.vlp && cmp back.vlp v2.vlp || fail "a refused write changed the VLP"
printf 'ownerpw\n' | "$policy" nv-write --vlp v1.vlp --owner-auth-stdin
"$policy" nv-read --vlp back.vlp && cmp back.vlp v1.vlp || fail "owner-authorized update not applied"

echo "== invalid content is refused before touching NV"
head -c 40 /dev/urandom > junk
if printf 'ownerpw' | "$policy" nv-write --vlp junk --owner-auth-stdin 2>/dev/null; then fail "junk VLP written"; fi
if printf 'ownerpw' | "$policy" nv-write --lcp junk --owner-auth-stdin 2>/dev/null; then fail "junk LCP written"; fi
"$policy" nv-read --vlp back.vlp && cmp back.vlp v1.vlp || fail "junk changed the VLP"
echo "PASS: VLP and LCP provisioned at both index sets, updated, protected"
