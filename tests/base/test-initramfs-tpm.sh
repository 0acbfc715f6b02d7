#!/bin/bash
# tvam-initramfs against a fresh swtpm (run under tests/lib/with-swtpm):
# PCR 14 receives exactly the predicted value for the base image in every
# allocated bank, --expect refuses a changed image (after recording it), a
# non-squashfs or truncated device is refused without extending, and the
# LUKS2 key sealed to PCR 14 unseals only while PCR 14 holds its value,
# naming PCR 14 when it does not.
set -uo pipefail
helper=${1:?usage: test-initramfs-tpm.sh TVAM-INITRAMFS}
: "${TVAM_TEST_TCTI:?run under with-swtpm}"
for tool in mksquashfs tpm2_pcrread python3; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
export TPM2TOOLS_TCTI=$TVAM_TEST_TCTI
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
t() { "$helper" --tcti "$TVAM_TEST_TCTI" "$@"; }

pcr14() { # BANK -> hex value of PCR 14
    tpm2_pcrread "$1:14" -o "$tmp/pcr.bin" >/dev/null && xxd -p -c 256 "$tmp/pcr.bin"
}
# The software model of TPM2_PCR_Extend: new = H(old || digest).
extend() { python3 -c 'import hashlib,sys; print(hashlib.new(sys.argv[1], bytes.fromhex(sys.argv[2]) + bytes.fromhex(sys.argv[3])).hexdigest())' "$@"; }
filehash() { python3 -c 'import hashlib,sys; print(hashlib.new(sys.argv[1], open(sys.argv[2],"rb").read()).hexdigest())' "$@"; }
# What is extended for an image (tvam/measure/base-measure.h): the TVAM event
# digest H_bank("sha256:" + hex(SHA-256(image))).
idhash() { python3 -c 'import hashlib,sys; print(hashlib.new(sys.argv[1], b"sha256:" + hashlib.sha256(open(sys.argv[2],"rb").read()).hexdigest().encode()).hexdigest())' "$@"; }
# First-boot enrolment: the installer's token is sealed to a state this
# "machine" is not in (PCR 16 moved on); the enrolment key re-seals here.
# Run last, and also when the PCR banks cannot be listed.
enrolment_checks() {
    truncate -s 24M "$tmp/enrol.img"
    t format --pcrs 16 --enrol-key "$tmp/enrol.key" "$tmp/enrol.img" 2> "$tmp/err"
    check "format --enrol-key: key file written, mode 0600" test "$(stat -c %a:%s "$tmp/enrol.key")" = 600:32
    tpm2_pcrextend "16:sha256=$(printf '%064d' 7)" >/dev/null
    t unlock "$tmp/enrol.img" 2> "$tmp/err"
    check "before enrolment: the installer's token does not unseal here" test $? -eq 1
    head -c 32 /dev/urandom > "$tmp/wrong.key"
    t enrol --pcrs 14,16 "$tmp/enrol.img" "$tmp/wrong.key" 2> "$tmp/err"
    rc=$?
    check "enrol with a wrong key: refused ($(head -c 90 "$tmp/err"))" test "$rc" -eq 1
    check "... and that key file is left alone" test -e "$tmp/wrong.key"
    t enrol --pcrs 14,16 "$tmp/enrol.img" "$tmp/enrol.key" 2> "$tmp/err"
    check "enrol with the installer's key: exit 0" test $? -eq 0
    check "the enrolment key file is gone" test ! -e "$tmp/enrol.key"
    t unlock "$tmp/enrol.img" 2> "$tmp/err"
    check "after enrolment: the key unseals from this machine's PCRs 14,16" test $? -eq 0
    tpm2_pcrextend "16:sha256=$(printf '%064d' 8)" >/dev/null
    t unlock "$tmp/enrol.img" 2> "$tmp/err"
    check "and not after PCR 16 changes ($(head -c 100 "$tmp/err"))" grep -q "PCR 16" "$tmp/err"
}
banks=$(tpm2_pcrread 2>/dev/null | awk '/^ *sha[0-9]+:$/ { sub(":", "", $1); print $1 }' | sort -u)
# Without the bank list the PCR 14 checks cannot run; the enrolment checks
# do not need it and still run.
[ -n "$banks" ] || { no "list PCR banks"; enrolment_checks; echo "1..$n"; exit 1; }
declare -A model
for b in $banks; do model[$b]=$(pcr14 "$b"); done

mkdir -p "$tmp/tree/etc"
echo "tvam base" > "$tmp/tree/etc/issue"
head -c 200000 /dev/urandom > "$tmp/tree/blob"
mksquashfs "$tmp/tree" "$tmp/base.squashfs" -noappend -all-time 0 -mkfs-time 0 -quiet -no-progress >/dev/null
sha=$(filehash sha256 "$tmp/base.squashfs")
# The volume is larger than the image (an LV): only the image is measured.
cp "$tmp/base.squashfs" "$tmp/lv.img"
head -c 1000000 /dev/urandom >> "$tmp/lv.img"

t --event-log "$tmp/events.log" measure --name base-1 "$tmp/lv.img" > "$tmp/out" 2> "$tmp/err"
check "measure succeeds (exit 0)" test $? -eq 0
check "printed SHA-256 = SHA-256 of base.squashfs, not of the whole volume" grep -qx "sha256 $sha" "$tmp/out"
for b in $banks; do
    model[$b]=$(extend "$b" "${model[$b]}" "$(idhash "$b" "$tmp/base.squashfs")")
    check "PCR 14 $b = H(old || H(\"sha256:\" hex(SHA-256(image)))) as predicted" test "$(pcr14 "$b")" = "${model[$b]}"
done
check "prints the resulting PCR 14 (sha256)" grep -qx "pcr14-sha256 ${model[sha256]}" "$tmp/out"
if command -v tpm2_eventlog >/dev/null; then
    tpm2_eventlog "$tmp/events.log" > "$tmp/events.txt" 2>&1
    check "the event log parses with tpm2_eventlog: one EV_EVENT_TAG on PCR 14" \
        bash -c "grep -q 'EV_EVENT_TAG' '$tmp/events.txt' && grep -q 'PCRIndex: 14' '$tmp/events.txt'"
    check "the logged SHA-256 digest is the one extended" grep -qi "$(idhash sha256 "$tmp/base.squashfs")" "$tmp/events.txt"
fi

t measure --expect "$sha" "$tmp/lv.img" > /dev/null 2> "$tmp/err"
check "--expect with the right digest: exit 0" test $? -eq 0
for b in $banks; do model[$b]=$(extend "$b" "${model[$b]}" "$(idhash "$b" "$tmp/base.squashfs")"); done

# One changed byte inside the image.
cp "$tmp/lv.img" "$tmp/bad.img"
printf 'X' | dd of="$tmp/bad.img" bs=1 seek=5000 conv=notrunc status=none
head -c "$(stat -c %s "$tmp/base.squashfs")" "$tmp/bad.img" > "$tmp/bad.squashfs"
t measure --expect "$sha" "$tmp/bad.img" > /dev/null 2> "$tmp/err"
rc=$?
check "one changed byte: refused with exit 3" test "$rc" -eq 3
check "the refusal names the expected and measured digests ($(head -c 120 "$tmp/err"))" \
    grep -q "differs from the expected $sha" "$tmp/err"
for b in $banks; do model[$b]=$(extend "$b" "${model[$b]}" "$(idhash "$b" "$tmp/bad.squashfs")"); done
check "the changed image is recorded in PCR 14 all the same" test "$(pcr14 sha256)" = "${model[sha256]}"

before=$(pcr14 sha256)
head -c 100000 /dev/urandom > "$tmp/random.img"
t measure "$tmp/random.img" > /dev/null 2> "$tmp/err"
check "not a squashfs: refused (exit 1)" test $? -eq 1
check "... saying so ($(head -c 100 "$tmp/err"))" grep -q "does not hold a squashfs" "$tmp/err"
head -c 8192 "$tmp/base.squashfs" > "$tmp/short.img"
t measure "$tmp/short.img" > /dev/null 2> "$tmp/err"
check "truncated volume: refused (exit 1)" test $? -eq 1
check "refused devices extend nothing" test "$(pcr14 sha256)" = "$before"
t measure --expect nothex "$tmp/lv.img" > /dev/null 2>&1
check "--expect that is not a SHA-256: usage error (exit 2)" test $? -eq 2

# Sealing: a LUKS2 volume whose key is sealed to the current PCR 14.
truncate -s 24M "$tmp/luks.img"
t format --pcrs 14 "$tmp/luks.img" 2> "$tmp/err"
check "format: LUKS2 with the key sealed to PCR 14" test $? -eq 0
t unlock "$tmp/luks.img" 2> "$tmp/err"
check "unlock: the unsealed key opens the volume" test $? -eq 0
t measure "$tmp/lv.img" > /dev/null 2>&1
t unlock "$tmp/luks.img" 2> "$tmp/err"
check "after PCR 14 changed: unlock refused (exit 1)" test $? -eq 1
check "... naming PCR 14 ($(head -c 140 "$tmp/err"))" grep -q "PCR 14" "$tmp/err"
t unlock "$tmp/random.img" 2> "$tmp/err"
check "unlock of a device without a LUKS2 token: refused" test $? -eq 1

enrolment_checks
echo "1..$n"
exit $fail
