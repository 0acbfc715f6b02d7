#!/bin/bash
# 10-disk-layout — tvam-disk-layout on a real disk (/dev/vda) with real
# libfdisk, LVM and mkfs; then the LVM module's own checks (test-lvm).
#   * a disk holding data is refused, --dry-run changes nothing,
#   * --force applies: GPT (BIOS boot, FAT32 /boot, LVM), VG with base-1,
#     store and log tagged by role, ext4 on store and log,
#   * the applied disk is then refused again (it now holds data).
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
disk=${TVAM_LAB_DISK:?}
tool=${TVAM_BUILD_DIR:?}/disk-layout/tvam-disk-layout
layout=$TVAM_REPO/disk-layout/default.layout
[ -x "$tool" ] || { echo "tvam-disk-layout not built"; exit 77; }

cleanup() {
    set +e
    vgremove -q -f tvam >/dev/null 2>&1
    wipefs -q -a "$disk" >/dev/null 2>&1
}
trap cleanup EXIT

head_hash() { head -c $((2 * 1024 * 1024)) "$disk" | sha256sum | cut -d' ' -f1; }

# Make sure the disk holds data (earlier scenarios may have wiped it).
printf 'old data' | dd of="$disk" bs=1 seek=8192 conv=notrunc status=none
before=$(head_hash)

"$tool" --dry-run --layout "$layout" "$disk" > /run/layout-dry.txt
[ "$(head_hash)" = "$before" ] || fail "--dry-run changed the disk"
grep -q 'HOLDS DATA' /run/layout-dry.txt || fail "--dry-run did not report the data on the disk"

if "$tool" --layout "$layout" "$disk" 2> /run/layout-refused.txt; then fail "a disk holding data was not refused"; fi
grep -q 'holds data' /run/layout-refused.txt || fail "refusal does not say why: $(cat /run/layout-refused.txt)"
[ "$(head_hash)" = "$before" ] || fail "the refused run changed the disk"
say "PROVED: tvam-disk-layout refuses a disk that holds data and --dry-run changes nothing: $(cat /run/layout-refused.txt)"

"$tool" --force --json --layout "$layout" "$disk" > /run/layout.json
grep -q '"applied":true' /run/layout.json || fail "JSON report does not say applied"

# Partitions: GPT with the three type GUIDs, in order.
types=$(sfdisk --json "$disk" | awk -F'"' '/"type"/ {print $4}' | tr '\n' ' ')
[ "$types" = "21686148-6449-6E6F-744E-656564454649 C12A7328-F81F-11D2-BA4B-00A0C93EC93B E6D6D379-F507-44C2-A23C-238F2A3DF928 " ] ||
    fail "unexpected partition types: $types"
[ "$(blkid -o value -s TYPE "${disk}2")" = vfat ] || fail "/boot partition is not FAT"
[ "$(blkid -o value -s LABEL "${disk}2")" = TVAMBOOT ] || fail "/boot partition label"

# LVs with role tags and file systems.
lvs_out=$(lvs --noheadings --separator : -o lv_name,lv_tags,lv_size --units m --nosuffix tvam | tr -d ' ')
for expect in 'base-1:tvam:base:2048.00' 'store:tvam:store:256.00' 'log:tvam:log:256.00'; do
    grep -qx "$expect" <<< "$lvs_out" || fail "LV '$expect' missing; lvs says: $lvs_out"
done
[ "$(blkid -o value -s TYPE /dev/tvam/store)" = ext4 ] || fail "store is not ext4"
[ "$(blkid -o value -s TYPE /dev/tvam/log)" = ext4 ] || fail "log is not ext4"
if blkid /dev/tvam/base-1 >/dev/null 2>&1; then fail "base-1 is not blank"; fi
say "PROVED: tvam-disk-layout partitions GPT (BIOS boot, FAT32 /boot, LVM) and creates VG 'tvam' with $(tr '\n' ' ' <<< "$lvs_out")(name:tag:MiB), ext4 on store and log"

if "$tool" --layout "$layout" "$disk" 2>/dev/null; then fail "the applied disk was not refused on a second run"; fi

"$TVAM_BUILD_DIR/tests/lab/test-lvm" tvam | sed 's/^/test-lvm: /'
say "PROVED: the LVM module (liblvm2cmd) creates, lists by role tag, (de)activates and removes LVs and reports EEXIST/ENOSPC/EINVAL/ENOENT"
