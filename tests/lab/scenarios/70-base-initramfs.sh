#!/bin/bash
# 70-base-initramfs — the initramfs steps on the lab's real TPM, LVM and
# dm-crypt: base-1 on an LV is LUKS2 with its key sealed to the launch PCRs
# (here SeaBIOS' PCRs 0,2,4,7, plus the resettable debug PCR 16 standing in
# for one the test may change without disturbing later scenarios); tvam-initramfs unseals and maps it read-only,
# measures the squashfs into PCR 14 (value = the prediction from the image
# file), the squashfs mounts and an overlay root with a tmpfs upper layer
# works; one flipped ciphertext byte is refused by --expect after being
# recorded in PCR 14; a changed launch PCR means no key, naming the PCR.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
helper=${TVAM_BUILD_DIR:?}/initramfs/tvam-initramfs
[ -x "$helper" ] || { echo "tvam-initramfs not built"; exit 77; }
[ -e /dev/tpmrm0 ] || fail "no /dev/tpmrm0"
command -v mksquashfs >/dev/null || { echo "mksquashfs missing"; exit 77; }
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
vg=tvam-bi
w=/run/bi

cleanup() {
    set +e
    umount "$w/root" "$w/rw" "$w/base" 2>/dev/null
    cryptsetup close tvam-bi-base 2>/dev/null
    vgremove -q -f "$vg" >/dev/null 2>&1
    [ -n "${loop:-}" ] && losetup -d "$loop"
    rm -rf "$w"
}
trap cleanup EXIT
mkdir -p "$w/tree/etc" "$w/tree/sbin" "$w/base" "$w/rw" "$w/root"
echo "TVAM base image (lab)" > "$w/tree/etc/issue"
head -c 3000000 /dev/urandom > "$w/tree/payload"
mksquashfs "$w/tree" "$w/base.squashfs" -noappend -comp zstd -all-time 0 -mkfs-time 0 -quiet -no-progress
sha=$(sha256sum "$w/base.squashfs" | cut -d' ' -f1)

truncate -s 96M "$w/pv.img"
loop=$(losetup -f --show "$w/pv.img")
pvcreate -q "$loop" >/dev/null
vgcreate -q "$vg" "$loop" >/dev/null
lvcreate -q -y -n base-1 -L 40M "$vg" >/dev/null
lv=/dev/$vg/base-1

# Installer: key sealed to the launch PCRs, image written through dm-crypt.
"$helper" format --pcrs 0,2,4,7,16 "$lv"
"$helper" unlock --read-write "$lv" tvam-bi-base
dd if="$w/base.squashfs" of=/dev/mapper/tvam-bi-base bs=1M conv=fsync status=none
cryptsetup close tvam-bi-base

# Boot path.
pcr14() { tpm2_pcrread sha256:14 -o "$w/pcr" >/dev/null && xxd -p -c 64 "$w/pcr"; }
before=$(pcr14)
"$helper" unlock "$lv" tvam-bi-base
[ "$(blockdev --getro /dev/mapper/tvam-bi-base)" = 1 ] || fail "base mapping is not read-only"
"$helper" --event-log "$w/events.log" measure --name base-1 --expect "$sha" /dev/mapper/tvam-bi-base > "$w/measured"
# The TVAM base-image event: H("sha256:" + hex) (tvam/measure/base-measure.h).
want=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + hashlib.sha256(b"sha256:" + sys.argv[2].encode()).digest()).hexdigest())' "$before" "$sha")
[ "$(pcr14)" = "$want" ] || fail "PCR 14 $(pcr14) != predicted $want"
say "PROVED: base-1 unsealed (PCRs 0,2,4,7,16) and mapped read-only by real dm-crypt; PCR 14 = predicted H(old || H(\"sha256:\" sha256(base.squashfs))) = $want; event log: $(tpm2_eventlog "$w/events.log" | grep -c EV_EVENT_TAG) TVAM event"

mount -t squashfs -o ro /dev/mapper/tvam-bi-base "$w/base"
mount -t tmpfs tmpfs "$w/rw"
mkdir -p "$w/rw/upper" "$w/rw/work"
mount -t overlay -o "lowerdir=$w/base,upperdir=$w/rw/upper,workdir=$w/rw/work" overlay "$w/root"
grep -q "TVAM base image" "$w/root/etc/issue" || fail "overlay root does not show the base"
echo changed > "$w/root/etc/issue"
grep -q "TVAM base image" "$w/base/etc/issue" || fail "a write reached the base image"
umount "$w/root" "$w/rw" "$w/base"
cryptsetup close tvam-bi-base
say "PROVED: squashfs mounted read-only, overlay root with tmpfs upper; writes stay in tmpfs"

# Tamper: one ciphertext byte of the image area (LUKS2 data starts at 16 MiB).
off=$((16 * 1048576 + 65536 + 100))
b=$(dd if="$lv" bs=1 skip=$off count=1 status=none | xxd -p)
printf "\\x$(printf %02x $(( 0x$b ^ 0x01 )))" | dd of="$lv" bs=1 seek=$off conv=notrunc,fsync status=none
"$helper" unlock "$lv" tvam-bi-base
before=$(pcr14)
set +e
"$helper" measure --expect "$sha" /dev/mapper/tvam-bi-base > /dev/null 2> "$w/err"
rc=$?
set -e
cryptsetup close tvam-bi-base
[ "$rc" = 3 ] || fail "a changed image was not refused (exit $rc)"
grep -q "differs from the expected $sha" "$w/err" || fail "refusal does not name the digests: $(cat "$w/err")"
[ "$(pcr14)" != "$before" ] || fail "the changed image was not recorded in PCR 14"
say "PROVED: one flipped ciphertext byte -> $(cat "$w/err")"

# A changed launch PCR: no key, and the message names it.
tpm2_pcrextend "16:sha256=$(printf '%064d' 1)"
set +e
"$helper" unlock "$lv" tvam-bi-base 2> "$w/err"
rc=$?
set -e
tpm2_pcrreset 16 >/dev/null
[ "$rc" = 1 ] || fail "unlock after PCR 16 changed: exit $rc"
grep -q "PCR 16" "$w/err" || fail "refusal does not name PCR 16: $(cat "$w/err")"
[ ! -e /dev/mapper/tvam-bi-base ] || fail "mapping exists after a refused unseal"
say "PROVED: after PCR 16 changed -> $(cat "$w/err")"
