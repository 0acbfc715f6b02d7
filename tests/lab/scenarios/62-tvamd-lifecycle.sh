#!/bin/bash
# 62-tvamd-lifecycle — the rest of an application's life through tvamd, on
# the lab's real TPM, LVM, dm-crypt, dm-verity, libvirt and KVM:
#   qcow2 import (identity = the raw image's SHA-256) and a truncated qcow2
#   refused; tvamd dying abruptly after each import step, then restarted:
#   nothing half-registered, no LV or mapping left; one flipped byte of an
#   encrypted read-only LV: eager verification refuses (logged), a lazy start
#   hits dm-verity's refusal of the block; backup -> remove -> TPM cleared
#   (another machine's storage hierarchy) -> restore with the recovery secret
#   -> same identity -> starts; a group of two VMs on a private network
#   starts in order and stops.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
LAB_VG=tvam-l LAB_VG_SIZE=768M
. "$TVAM_REPO/tests/lab/tvamd-lib.sh"
setup_vg
(umask 077; printf 'lab recovery passphrase' > "$lab/recovery"; printf 'wrong passphrase' > "$lab/wrong")
start_tvamd
# 60-tvamd left the platform in Application Mode; alone, switch here.
[ "$(ctl mode)" = application ] || [ "$(ctl mode application)" = application ] || fail "Application Mode"
raw_identity="sha256:$(sha256sum < "$image" | cut -d' ' -f1)"

# --- qcow2 ----------------------------------------------------------------
qemu-img convert -f raw -O qcow2 "$image" "$lab/sample.qcow2"
ctl import q-rw "$lab/sample.qcow2" --format qcow2 --memory 192 --recovery-key-file "$lab/recovery"
[ "$(app_identity q-rw)" = "$raw_identity" ] || fail "qcow2 identity $(app_identity q-rw) is not $raw_identity"
head -c $(( $(stat -c %s "$lab/sample.qcow2") * 2 / 3 )) "$lab/sample.qcow2" > "$lab/truncated.qcow2"
refused "corrupt or truncated" ctl import q-bad "$lab/truncated.qcow2" --format qcow2
[ "$(app_state q-bad)" = absent ] && ! lvs --noheadings -o lv_name "$vg" | matches q-bad ||
    fail "the refused qcow2 import left something behind"
say "PROVED: a qcow2 image imports in one pass with the raw image's identity ($raw_identity); a truncated qcow2 is refused before anything is written"

# --- tvamd dies after each import step ------------------------------------
for step in manifest lv format open copy verity close; do
    stop_tvamd
    TVAM_TEST_CRASH_AFTER_STEP=$step start_tvamd
    set +e
    ctl import "c-$step" "$image" --read-only > /dev/null 2>&1
    wait "$pid" 2>/dev/null; status=$?; pid=""
    set -e
    [ $status -eq 99 ] || fail "tvamd did not die after step $step (exit $status)"
    [ -e "$state/c-$step.json" ] || fail "no half-finished manifest after step $step: the crash came too early"
    start_tvamd
    [ "$(app_state "c-$step")" = absent ] || fail "after a crash at step $step, c-$step is still registered"
    ! lvs --noheadings -o lv_name "$vg" | matches "c-$step" || fail "after a crash at step $step, its LV remains"
    ! dmsetup ls | matches "c-$step" || fail "after a crash at step $step, a mapping remains"
done
say "PROVED: tvamd dying abruptly after each import step (manifest, lv, format, open, copy, verity, close), restarted: nothing half-registered, every LV and mapping reclaimed"

# --- one flipped byte of the ciphertext of a read-only image ---------------
ctl import f-ro "$image" --read-only --memory 192
# LUKS2 data starts at 16 MiB; 1 MiB into the image is its FAT boot sector.
python3 - "/dev/$vg/app-f-ro" $(( (16 + 1) * 1024 * 1024 + 100 )) <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR); off = int(sys.argv[2])
b = os.pread(fd, 1, off); os.pwrite(fd, bytes([b[0] ^ 0xff]), off); os.fsync(fd); os.close(fd)
PY
refused "Verification failed" ctl start f-ro --verify eager
grep -q '"event":"verification-failed","name":"f-ro"' "$state/measurements.jsonl" || fail "refusal not logged"
[ "$(app_state f-ro)" = stopped ] && ! dmsetup ls | matches f-ro || fail "a refused start left f-ro open"
dmesg -c > /dev/null 2>&1 || true
lab_start f-ro -- start f-ro
wait_for 240 "dm-verity to refuse the corrupted block" sh -c 'dmesg | grep -q "verity.*corrupted"'
say "dm-verity: $(dmesg | grep -m1 'verity.*corrupted')"
ctl stop f-ro --force
say "PROVED: one flipped ciphertext byte: eager verification refuses the start (logged as verification-failed); a lazy start gets an I/O error from dm-verity for that block"

# --- backup, remove, another TPM, restore ---------------------------------
id_before=$(app_identity q-rw)
ctl backup q-rw "$lab/q-rw.backup"
[ -s "$lab/q-rw.backup" ] && [ ! -e "$lab/q-rw.backup.partial" ] || fail "backup file missing or partial"
refused "exists already" ctl backup q-rw "$lab/q-rw.backup"
ctl remove q-rw
# A different storage hierarchy = what another machine's TPM looks like to
# the sealed objects: the old SRK and everything sealed under it are gone.
tpm2_clear -c l
refused "recovery secret opens no keyslot" ctl restore "$lab/q-rw.backup" --recovery-key-file "$lab/wrong"
[ "$(app_state q-rw)" = absent ] && ! lvs --noheadings -o lv_name "$vg" | matches q-rw ||
    fail "a refused restore left q-rw behind"
ctl restore "$lab/q-rw.backup" --recovery-key-file "$lab/recovery"
[ "$(app_identity q-rw)" = "$id_before" ] || fail "identity after restore $(app_identity q-rw), before $id_before"
lab_start q-rw -- start q-rw
wait_marker q-rw
ctl stop q-rw --timeout 120
say "PROVED: backup -> remove -> new storage hierarchy (tpm2_clear) -> wrong recovery secret refused -> restore with the recovery secret (re-sealed to this TPM, plaintext checked) -> same identity $id_before -> boots: '$(marker_of q-rw)'"

# --- a group of two VMs on a private network ------------------------------
ctl import g-db "$image" --read-only --memory 160
cat > "$lab/shop.json" <<'JSON'
{ "name": "shop", "networks": [ "lan" ],
  "applications": [ { "name": "g-db", "network": "lan" }, { "name": "q-rw", "network": "lan" } ] }
JSON
ctl group add "$lab/shop.json"
lab_start g-db q-rw -- group start shop
virsh -q net-list --name | matches -x tvam-shop-lan || fail "the group network is not active"
for app in g-db q-rw; do
    virsh -q domiflist "$app" | matches tvam-shop-lan || fail "$app is not on the group network"
done
wait_marker g-db
wait_marker q-rw
order=$(grep -o "started '[a-z-]*'" "$lab/tvamd.log" | tail -2 | tr '\n' ' ')
[ "$order" = "started 'g-db' started 'q-rw' " ] || fail "start order: $order"
[ "$(ctl --json group list | jq -r '.result.groups[] | select(.name == "shop") | .state')" = running ] ||
    fail "group not listed running: $(ctl --json group list)"
grep -q '"event":"group-start"' "$state/measurements.jsonl" || fail "group configuration not measured"
ctl group stop shop --timeout 120
[ "$(app_state g-db)" = stopped ] && [ "$(app_state q-rw)" = stopped ] || fail "group members still running"
! virsh -q net-list --name | matches -x tvam-shop-lan || fail "the group network was not removed"
say "PROVED: group 'shop' (configuration measured into PCR 13) creates its isolated network, starts g-db then q-rw on it (both boot), lists running, stops both and removes the network"

for app in f-ro g-db q-rw; do ctl remove "$app"; done
ctl group remove shop
