#!/bin/bash
# 60-tvamd — tvamd and tvamctl end to end on the lab's real TPM, LVM,
# dm-crypt, dm-verity, libvirt and KVM:
#   import the sample VM read-only and read-write (with a recovery key file),
#   refusals (same name again; start in Update Mode; changed PCR 14 names
#   PCR 14; a non-root client), Application Mode, start → marker → list →
#   stop, kill -9 during an import → restart → nothing half-registered,
#   remove → no LV left.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
LAB_VG=tvam-d
. "$TVAM_REPO/tests/lab/tvamd-lib.sh"
setup_vg
(umask 077; printf 'lab recovery passphrase' > /run/tvamd-lab/recovery)
start_tvamd

# The lab suite runs this first in its boot: Update Mode.  (The demo runs
# the attestation first, which switches modes; then the Update-Mode refusal
# is skipped here and proven by the lab suite.)
fresh=1
[ "$(ctl mode)" = update ] || { fresh=0; say "(already in Application Mode: skipping the Update-Mode refusal)"; }
ctl import web-ro "$image" --read-only --memory 192 --recovery-key-file /run/tvamd-lab/recovery
ctl import web-rw "$image" --memory 192
want_rw="sha256:$(sha256sum < "$image" | cut -d' ' -f1)"
ctl --json list > /run/tvamd-lab/list.json
grep -q "\"identity\":\"$want_rw\"" <(tr -d ' \n' < /run/tvamd-lab/list.json) ||
    fail "read-write identity is not the image's SHA-256 ($want_rw): $(cat /run/tvamd-lab/list.json)"
say "PROVED: tvamctl import encrypts, measures and seals the sample VM read-only (dm-verity) and read-write (identity $want_rw)"

refused "exists already" ctl import web-rw "$image"
[ $fresh = 0 ] || refused "Application Mode" ctl start web-ro
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$tvamctl" --socket "$sock" list 2> /run/tvamd-lab/err; s=$?
set -e
[ $s -eq 4 ] && grep -q "root only" /run/tvamd-lab/err || fail "non-root client: exit $s: $(cat /run/tvamd-lab/err)"
if [ $fresh = 1 ]; then
    say "PROVED: refusals name the reason: a second import of an existing name, a start in Update Mode, a non-root client"
else
    say "PROVED: refusals name the reason: a second import of an existing name, a non-root client"
fi

[ $fresh = 0 ] || [ "$(ctl mode application)" = application ] || fail "switch to Application Mode"
lab_start web-ro -- start web-ro
wait_marker web-ro
ctl --json list | tr -d ' \n' | matches '"name":"web-ro","state":"running"' || fail "web-ro not listed running"
ctl stop web-ro --timeout 120
ctl --json list | tr -d ' \n' | matches '"name":"web-ro","state":"stopped"' || fail "web-ro not stopped"
say "PROVED: web-ro: start (unseal, open LUKS2 + dm-verity, PCR 13, libvirt/KVM) -> marker '$(marker_of web-ro)' -> list running -> ACPI stop -> stopped"
# The read-write image: the same, with a forced stop.
lab_start web-rw -- start web-rw
wait_marker web-rw
ctl --json list | tr -d ' \n' | matches '"name":"web-rw","state":"running"' || fail "web-rw not listed running"
ctl stop web-rw --force
ctl --json list | tr -d ' \n' | matches '"name":"web-rw","state":"stopped"' || fail "web-rw not stopped"
say "PROVED: web-rw: start (unseal, open LUKS2, PCR 13, libvirt/KVM) -> marker '$(marker_of web-rw)' -> list running -> forced stop -> stopped"
grep -q '"event":"application-start","name":"web-ro"' "$state/measurements.jsonl" || fail "start not in the measurement log"

# Crash safety: kill -9 tvamd in the middle of an import, restart it.
# The kill lands while the image is being copied: once the import's
# dm-crypt mapping exists (it is closed again before the manifest turns
# "ready"), not after a fixed sleep, which on a fast run came after the
# import had finished.  The client's exit status proves the import was cut.
head -c 96M /dev/urandom > /run/tvamd-lab/big.img
( set +e; ctl import big /run/tvamd-lab/big.img > /dev/null 2>&1; echo $? > /run/tvamd-lab/import-status ) &
client=$!
deadline=$((SECONDS + 120))
until dmsetup info tvam-app-big > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "the import did not open its volume within 120 s"
    sleep 0.1
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
wait "$client" 2>/dev/null || true
[ "$(cat /run/tvamd-lab/import-status)" != 0 ] ||
    fail "the import completed before tvamd was killed: the crash was not in the middle of it"
start_tvamd
ctl --json list > /run/tvamd-lab/list.json
tr -d ' \n' < /run/tvamd-lab/list.json | matches '"name":"big"' && fail "a half-imported application is still registered"
grep -q "rolled back 1 interrupted import" /run/tvamd-lab/tvamd.log || fail "tvamd did not report the rollback"
lvs --noheadings -o lv_name "$vg" | matches 'big' && fail "the half-imported application's LV was not reclaimed"
lab_start web-ro -- start web-ro
wait_marker web-ro
ctl stop web-ro --timeout 120
say "PROVED: kill -9 of tvamd while an import copies (the client saw it fail): after restart nothing is half-registered, the space is reclaimed, and other applications still start"

# Tamper with the platform state: a different base image would change PCR 14.
tpm2_pcrextend "14:sha256=$(printf 'other base image' | sha256sum | cut -d' ' -f1)"
refused "PCR 14" ctl start web-rw
say "PROVED: after PCR 14 changed (another base image), start is refused and names PCR 14"

ctl remove web-ro
ctl remove web-rw
[ -z "$(lvs --noheadings -o lv_name "$vg" | tr -d ' ')" ] || fail "LVs left after remove: $(lvs --noheadings -o lv_name "$vg")"
[ -z "$(ls "$state"/*.json 2>/dev/null)" ] || fail "manifests left after remove"
say "PROVED: remove erases the keyslots and leaves no LV and no manifest"
