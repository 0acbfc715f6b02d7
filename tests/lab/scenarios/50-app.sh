#!/bin/bash
# 50-app — the application lifecycle library (tvam/app, docs/app.md) on the
# lab's real TPM, LVM and device-mapper, through tests/lab/app/test-app:
# import read-only (LUKS2 + dm-verity) and read-write (LUKS2) applications,
# identities, open/read back/close, name reservation, truncated image,
# crash during import + recovery, tamper detection, fail closed on a PCR
# change, and secure removal.  Uses its own VG on a loop device (never
# /dev/vda).  NOTE: extends PCR 14 near the end (irreversible until reboot).
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
tool=${TVAM_BUILD_DIR:?}/tests/lab/app/test-app
[ -x "$tool" ] || { echo "test-app not built"; exit 77; }
[ -e /dev/tpmrm0 ] || fail "no /dev/tpmrm0"

work=/run/app-test
state=$work/state
vg=tvam-app-test
cleanup() {
    set +e
    for m in $(dmsetup ls 2>/dev/null | awk '/^tvam-app(cfg)?-/ {print $1}' | sort -r); do
        dmsetup remove "$m" 2>/dev/null
    done
    vgremove -q -f "$vg" >/dev/null 2>&1
    [ -n "${probe:-}" ] && losetup -d "$probe" 2>/dev/null
    [ -n "${loop:-}" ] && losetup -d "$loop"
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$state"
chmod 700 "$work"
img=${TVAM_SAMPLE_VM:-}
if [ -z "$img" ] || [ ! -f "$img" ]; then
    say "TVAM_SAMPLE_VM not set: using a 32 MiB random image"
    img=$work/sample.img
    head -c 32M /dev/urandom > "$img"
fi
size=$(stat -c %s "$img")
truncate -s 640M "$work/pv.img"
loop=$(losetup -f --show "$work/pv.img")
pvcreate -q "$loop" >/dev/null
vgcreate -q "$vg" "$loop" >/dev/null
(umask 077; printf 'correct horse battery staple' > "$work/recovery")
export TVAM_RECOVERY_FILE=$work/recovery

T() { "$tool" "$state" "$vg" "$@"; }
field() { sed -n "s/^$1 //p"; }          # "device X" -> X
mfield() { sed -n "s/.*\"$2\": \"\{0,1\}\([^\",]*\).*/\1/p" "$state/$1.json"; }
no_lv() { ! lvs --noheadings -o lv_name "$vg" 2>/dev/null | matches -w "$1"; }
no_map() { ! dmsetup ls 2>/dev/null | matches "^tvam-app\(cfg\)\?-$1"; }

# --- 1. import read-only and read-write --------------------------------------
out=$(T import ro-app "$img" ro) || fail "import ro: $out"
id_ro=$(echo "$out" | sed -n 's/.*identity //p')
out=$(T import rw-app "$img" rw $((16 << 20))) || fail "import rw: $out"
id_rw=$(echo "$out" | sed -n 's/.*identity //p')
[ "$(mfield ro-app state)" = ready ] && [ "$(mfield rw-app state)" = ready ] || fail "manifests not ready"
lvs --noheadings -o lv_name,lv_tags "$vg" | matches "app-ro-app.*tvam:app" || fail "no tagged app-ro-app"
lvs --noheadings -o lv_name,lv_tags "$vg" | matches "appcfg-rw-app.*tvam:appcfg" || fail "no tagged appcfg-rw-app"
want=sha256:$(sha256sum < "$img" | cut -d' ' -f1)
[ "$id_rw" = "$want" ] || fail "read-write identity $id_rw != $want"
say "PROVED: read-write import identity equals sha256sum of the image ($id_rw)"
case $id_ro in verity:????????????????????????????????????????????????????????????????) ;; *) fail "ro identity $id_ro" ;; esac
T list | matches "^ro-app ready $id_ro$" || fail "list: $(T list)"

# --- 2. open both (lazy), read back, verity root checked by veritysetup ------
out=$(T open ro-app lazy) || fail "open ro: $out"
dev_ro=$(echo "$out" | field device)
out=$(T open rw-app lazy) || fail "open rw: $out"
dev_rw=$(echo "$out" | field device)
data_rw=$(echo "$out" | field data)
[ "$dev_ro" = /dev/mapper/tvam-app-ro-app-verity ] || fail "ro device $dev_ro"
[ "$(blockdev --getro /dev/mapper/tvam-app-ro-app)" = 1 ] || fail "read-only image mapped writable"
cmp -n "$size" "$dev_ro" "$img" || fail "read-only image read back differs"
cmp -n "$size" "$dev_rw" "$img" || fail "read-write image read back differs"
[ "$(blockdev --getsize64 "$data_rw")" -ge $((16 << 20)) ] || fail "data volume too small"
off=$(mfield ro-app verity_hash_offset)
veritysetup verify /dev/mapper/tvam-app-ro-app /dev/mapper/tvam-app-ro-app "${id_ro#verity:}" \
    --hash-offset="$off" >/dev/null || fail "veritysetup does not accept the identity as root hash"
out=$(T remove ro-app) && fail "remove while open succeeded"
echo "$out" | matches EBUSY || fail "remove while open: $out"
T close ro-app && T close rw-app || fail "close"
no_map ro-app && no_map rw-app || fail "mappings left after close"
say "PROVED: both applications open (lazy) and read back byte-identical to the image through the top device (verity over LUKS2 / LUKS2); veritysetup verify accepts the read-only identity as the root hash of the stored tree; remove refused while open (EBUSY); close removes every mapping"

out=$(T open ro-app eager) || fail "eager open: $out"
T close ro-app

# --- 3. name taken, truncated image -----------------------------------------
before=$(sha256sum < "$state/ro-app.json")
out=$(T import ro-app "$img" rw) && fail "second import with the same name succeeded"
echo "$out" | matches EEXIST || fail "second import: $out"
[ "$(sha256sum < "$state/ro-app.json")" = "$before" ] || fail "manifest changed by the refused import"
head -c $((size / 2)) "$img" > "$work/short.img"
out=$(T import short "$work/short.img" rw 0 "$size") && fail "truncated image imported"
echo "$out" | matches EPIPE || fail "truncated: $out"
[ ! -e "$state/short.json" ] && no_lv app-short && no_map short || fail "truncated import left something"
say "PROVED: a second import with the same name is refused (EEXIST) and the manifest is unchanged; a truncated image (shorter than its expected size) is refused (EPIPE) and nothing remains"

# --- 4. crash during import, recovery ----------------------------------------
for step in 2 5 8; do   # after LV creation, after the copy (mapping open), after the data volume
    set +e; T import crash "$img" rw $((8 << 20)) 0 "$step" >/dev/null 2>&1; rc=$?; set -e
    [ "$rc" = 99 ] || fail "crash hook at step $step: exit $rc"
    [ "$(mfield crash state)" = importing ] || fail "no importing manifest after crash at step $step"
    lvs --noheadings -o lv_name "$vg" | matches -w app-crash || fail "no LV after crash at step $step"
    out=$(T open crash lazy) && fail "a half-imported application opened"
    out=$(T recover) || fail "recover: $out"
    [ "$out" = "recovered 1" ] || fail "recover: $out"
    [ ! -e "$state/crash.json" ] && no_lv app-crash && no_lv appcfg-crash && no_map crash \
        || fail "recovery after crash at step $step left something: $(lvs --noheadings -o lv_name "$vg")"
done
out=$(T open ro-app lazy) || fail "ro-app after recovery: $out"
cmp -n "$size" "$(echo "$out" | field device)" "$img" || fail "ro-app differs after recovery"
T close ro-app
[ "$(T list | wc -l)" = 2 ] || fail "list after recovery: $(T list)"
say "PROVED: an import killed after LV creation / after the copy (mapping open) / after the data volume leaves an 'importing' manifest that cannot be opened; app_recover closes, erases and removes everything (no LV, mapping or manifest left) while the complete application still opens and reads back"

# --- 5. tamper with the encrypted read-only image ----------------------------
lvdev=/dev/$vg/app-ro-app
pos=$(((16 << 20) + (1 << 20) + 100))   # in the ciphertext of image byte 1 MiB
orig=$(dd if="$lvdev" bs=1 skip="$pos" count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(((orig + 1) % 256)))" | dd of="$lvdev" bs=1 seek="$pos" conv=notrunc,fsync status=none
out=$(T open ro-app eager) && fail "eager open of a tampered image succeeded"
echo "$out" | matches EPERM || fail "eager: $out"
echo "$out" | matches "1048576" || fail "eager refusal does not name position 1048576: $out"
eager_msg=$out
no_map ro-app || fail "mapping left after refused eager open"
out=$(T open ro-app lazy) || fail "lazy open of tampered: $out"
if err=$(dd if="$(echo "$out" | field device)" of=/dev/null bs=1M status=none 2>&1); then
    fail "reading a tampered image through dm-verity succeeded"
fi
echo "$err" | matches "Input/output error" || fail "tampered read failed, but not with EIO: $err"
T close ro-app
printf "$(printf '\\%03o' "$orig")" | dd of="$lvdev" bs=1 seek="$pos" conv=notrunc,fsync status=none
say "PROVED: one flipped byte in the encrypted read-only LV: eager open refused naming the position ($eager_msg), nothing left mapped; through a lazy open reading the image fails with EIO"

# --- 6. remove: no LV, no usable keyslot -------------------------------------
pe_start=$(pvs --noheadings --units b --nosuffix -o pe_start "$loop" | tr -d ' ')
ext=$(vgs --noheadings --units b --nosuffix -o vg_extent_size "$vg" | tr -d ' ')
first=$(lvs --noheadings -o seg_pe_ranges "$vg/app-rw-app" | sed 's/.*:\([0-9]*\)-.*/\1/' | head -1 | tr -d ' ')
hdr=$((pe_start + first * ext))
cryptsetup isLuks "$lvdev" || fail "ro-app not LUKS"
T remove rw-app || fail "remove rw-app"
no_lv app-rw-app && no_lv appcfg-rw-app && [ ! -e "$state/rw-app.json" ] || fail "remove left something"
probe=$(losetup -f --show -r -o "$hdr" --sizelimit $((16 << 20)) "$loop")
if cryptsetup isLuks "$probe"; then fail "a LUKS header remains where app-rw-app was"; fi
[ -z "$(tr -d '\0' < "$probe" | head -c 1)" ] || fail "the header area of app-rw-app is not wiped"
if cryptsetup open --test-passphrase --key-file "$work/recovery" "$probe" 2>/dev/null; then fail "recovery opens removed"; fi
losetup -d "$probe"; probe=
say "PROVED: remove leaves no LV and no manifest; the former LUKS2 header area on the PV is all zeros (no keyslot, recovery passphrase opens nothing)"

# --- 7. fail closed: PCR 14 changes ------------------------------------------
"$tool" - - extend 14 || fail "extend PCR 14"
out=$(T open ro-app lazy) && fail "opened after PCR 14 changed"
echo "$out" | matches "EPERM.*PCR 14" || fail "refusal does not name PCR 14: $out"
no_map ro-app || fail "mapping left after refused open"
say "PROVED: after PCR 14 is extended app_open refuses: $out"

T remove ro-app || fail "remove ro-app"
[ -z "$(lvs --noheadings -o lv_name "$vg")" ] && [ -z "$(ls "$state")" ] || fail "leftovers after removing all"
say "PROVED: after removing every application the VG has no LV and the state directory is empty"
