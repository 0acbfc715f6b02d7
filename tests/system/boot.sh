#!/bin/bash
# System scenario: the platform disk boots under OVMF (UEFI) with swtpm.
#   boot 1 (first boot): GRUB (tpm module) loads kernel + initramfs; base-1's
#     key is enrolled to this machine's launch PCRs (trusted installation),
#     base-1 is measured into PCR 14 = the value predicted at build time,
#     mounted; the signed patch is applied, the unsigned and the wrongly
#     signed one are rejected by name; userspace reaches Update Mode.
#   boot 2: the key unseals from the TPM (no enrolment, key file gone),
#     PCR 14 again as predicted; boot phases timed.
#   tamper: one byte of base-1 changed -> the boot halts naming the
#     PCR 14 measurement / expected hash.
# Needs root, the lab (to assemble the disk), qemu, OVMF, swtpm.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/matches.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/system
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
for tool in qemu-system-x86_64 swtpm debootstrap mksquashfs openssl grub-mkimage bc; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "OVMF missing"; exit 77; }
cache=${TVAM_CACHE_DIR:-$repo/.cache}/system
mkdir -p "$cache"
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
finish() { echo "1..$n"; exit $fail; }
extend() { python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' "$@"; }

# 1. Administrator key (test only) and the base image with its certificate.
if [ ! -s "$cache/admin.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$cache/admin.key" \
        -out "$cache/admin.pem" -subj /CN=tvam-test-admin -days 3650 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$cache/other.key" 2>/dev/null
fi
if [ "${TVAM_SYSTEM_REUSE_BASE:-0}" = 1 ] && [ -s "$cache/base/base.squashfs" ]; then
    echo "# reusing $cache/base (TVAM_SYSTEM_REUSE_BASE=1)"
else
    "$repo/images/base/build" --out "$cache/base" --admin-cert "$cache/admin.pem" >&2 ||
        { no "base image build"; finish; }
fi
echo "# base: $(grep -E '^(sha256|squashfs_bytes|seconds_total)=' "$cache/base/build-info" | tr '\n' ' ')"

# 2. Patches: one good, one unsigned, one signed by a stranger.
p=$cache/patches
rm -rf "$p"
mkpatch() { # NAME SEQ CONTENT KEY|none
    local d=$p/$1
    mkdir -p "$d/files/etc"
    printf '%s\n' "$3" > "$d/files/etc/motd"
    printf 'tvam-patch 1\nsequence %s\nfile 0644 %s /etc/motd\n' "$2" "$(sha256sum < "$d/files/etc/motd" | cut -d' ' -f1)" > "$d/manifest"
    [ "$4" = none ] || openssl dgst -sha256 -sign "$4" -out "$d/manifest.sig" "$d/manifest"
}
mkpatch 10-motd 1 "TVAM platform (patched by the administrator)" "$cache/admin.key"
mkpatch 20-unsigned 2 "unsigned" none
mkpatch 30-stranger 3 "stranger" "$cache/other.key"

# 3. Platform disk (assembled in the lab).
"$repo/images/platform/build" --out "$cache/platform" --base "$cache/base" --patches "$p" >&2 ||
    { no "platform disk assembly"; finish; }
. <(sed 's/^/pred_/' "$cache/platform/predicted")
ok "platform disk assembled; predicted PCR 14 after base-1: $pred_pcr14_sha256"

machine=$cache/machine
rm -rf "$machine"; mkdir -p "$machine"
cp --sparse=always "$cache/platform/platform.img" "$machine/disk.img"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$machine/vars.fd"

report() { grep -a "TVAM-REPORT: $2" "$1" | head -n1 | sed "s/.*TVAM-REPORT: $2 *//" | tr -d '\r'; }
pcr14_initramfs() { grep -a "TVAM: PCR 14 sha256" "$1" | head -n1 | awk '{ print $NF }' | tr -d '\r'; }
# The applied patch is a TVAM event H("sha256:" + hex(SHA-256(manifest))).
want_after_patch=$(extend "$pred_pcr14_sha256" "$(printf 'sha256:%s' "$(sha256sum < "$p/10-motd/manifest" | cut -d' ' -f1)" | sha256sum | cut -d' ' -f1)")

# 4. First boot.
"$here/ovmf-boot" "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot1.log" 1200 > "$machine/boot1.phases"
rc=$?
cat "$machine/boot1.phases" | sed 's/^/# boot 1 /'
check "boot 1 reaches userspace (exit $rc)" test "$rc" -eq 0
check "boot 1: first-boot enrolment to the launch PCRs" grep -aq "first boot: enrolling the key of base-1" "$machine/boot1.log"
check "boot 1: PCR 14 after base-1 = predicted at build time" test "$(pcr14_initramfs "$machine/boot1.log")" = "$pred_pcr14_sha256"
check "boot 1: signed patch applied" grep -aq "Configuration patch '10-motd' applied" "$machine/boot1.log"
check "boot 1: unsigned patch rejected" grep -aq "'20-unsigned' REJECTED: unsigned" "$machine/boot1.log"
check "boot 1: wrongly signed patch rejected" grep -aq "'30-stranger' REJECTED: the signature does not verify" "$machine/boot1.log"
check "boot 1: PCR 14 in userspace = prediction extended by the applied manifest" \
    test "$(report "$machine/boot1.log" pcr14-sha256)" = "$want_after_patch"
check "boot 1: Update Mode ($(report "$machine/boot1.log" mode:))" bash -c "grep -a 'TVAM-REPORT: mode:' '$machine/boot1.log' | grep -qi update"
check "boot 1: GRUB measured into PCRs 8/9 ($(report "$machine/boot1.log" pcr8-sha256 | head -c 16)…)" \
    bash -c "[ -n \"\$(grep -a 'TVAM-REPORT: pcr8-sha256 ' '$machine/boot1.log' | grep -v ' 0000000000000000000000000000000000000000000000000000000000000000')\" ]"

# 5. Second boot: the sealed key opens base-1.
"$here/ovmf-boot" "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot2.log" 1200 > "$machine/boot2.phases"
rc=$?
sed 's/^/# boot 2 /' "$machine/boot2.phases"
check "boot 2 reaches userspace (exit $rc)" test "$rc" -eq 0
check "boot 2: unsealed without enrolment" bash -c "! grep -aq 'first boot: enrolling' '$machine/boot2.log'"
check "boot 2: the enrolment key is gone from the store ($(report "$machine/boot2.log" enrol-keys:))" \
    test "$(report "$machine/boot2.log" enrol-keys:)" = none
check "boot 2: PCR 14 = predicted" test "$(pcr14_initramfs "$machine/boot2.log")" = "$pred_pcr14_sha256"

# 6. Tamper: one byte inside base-1's encrypted image area.
start=$(sfdisk --json "$machine/disk.img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][2]["start"])')
# PV data starts 1 MiB into partition 3 (LVM default pe_start); base-1 is the
# first LV; its LUKS2 data starts after the 16 MiB header; +64 MiB is inside
# the squashfs.
off=$(( start * 512 + (1 + 16 + 64) * 1048576 + 4321 ))
cp --sparse=always "$machine/disk.img" "$machine/tampered.img"
b=$(dd if="$machine/tampered.img" bs=1 skip=$off count=1 status=none | xxd -p)
printf "\\x$(printf %02x $(( 0x$b ^ 0xff )))" | dd of="$machine/tampered.img" bs=1 seek=$off conv=notrunc status=none
"$here/ovmf-boot" "$machine/tampered.img" "$machine/tpm" "$machine/vars.fd" "$machine/tamper.log" 1200 > /dev/null
rc=$?
check "tampered base-1: the boot halts (exit $rc)" test "$rc" -eq 3
check "tampered base-1: halt names the PCR 14 measurement ($(grep -a 'BOOT HALTED' "$machine/tamper.log" | head -n1 | tr -d '\r' | cut -c1-120))" \
    grep -aq "BOOT HALTED: measuring base-1 into PCR 14" "$machine/tamper.log"
check "tampered base-1: the differing digest is named" grep -aq "differs from the expected $pred_base_sha256" "$machine/tamper.log"
check "tampered base-1: no userspace" bash -c "! grep -aq 'TVAM-REPORT' '$machine/tamper.log'"
finish
