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
build=${TVAM_BUILD_DIR:?}
tvamd=$build/tvam/daemon/tvamd tvamctl=$build/tvam/ctl/tvamctl
image=${TVAM_SAMPLE_VM:?}
[ -x "$tvamd" ] && [ -x "$tvamctl" ] || { echo "tvamd/tvamctl not built"; exit 77; }
state=/run/tvamd-lab/state sock=/run/tvamd-lab/tvamd.sock vg=tvam-d
pid=""

cleanup() {
    set +e
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    for d in $(virsh -q list --name 2>/dev/null); do virsh -q destroy "$d" >/dev/null 2>&1; done
    dmsetup ls 2>/dev/null | awk '/^tvam-/ {print $1}' | xargs -r -n1 dmsetup remove -f >/dev/null 2>&1
    vgremove -q -f "$vg" >/dev/null 2>&1
    [ -n "${loop:-}" ] && losetup -d "$loop"
    rm -rf /run/tvamd-lab /run/tvamd-disk.img
}
trap cleanup EXIT

start_tvamd() {
    "$tvamd" --socket "$sock" --state-dir "$state" --vg "$vg" --tcti device:/dev/tpmrm0 \
        >> /run/tvamd-lab/tvamd.log 2>&1 &
    pid=$!
    # Ready when it answers (a killed tvamd leaves its socket file behind).
    wait_for 60 "tvamd to answer" "$tvamctl" --socket "$sock" version
}
ctl() { "$tvamctl" --socket "$sock" "$@"; }

# Wait for APP's serial marker; on failure say why (domain state, QEMU's
# log, the serial log, memory) and keep the logs in the results folder.
wait_marker() {
    local app=$1 deadline=$((SECONDS + 480)) # nested KVM under TCG on a loaded host is slow
    while [ $SECONDS -lt $deadline ]; do
        grep -q 'marker OK' "$state/serial/$app.log" 2>/dev/null && return 0
        sleep 1
    done
    echo "--- $app: domain state: $(virsh -q domstate "$app" 2>&1)" >&2
    echo "--- QEMU log:" >&2; tail -n 20 "/var/log/libvirt/qemu/$app.log" >&2 2>/dev/null
    echo "--- serial log:" >&2; tail -c 2000 "$state/serial/$app.log" >&2 2>/dev/null; echo >&2
    echo "--- memory:" >&2; free -m >&2; df -m /run / >&2
    cp "/var/log/libvirt/qemu/$app.log" "$state/serial/$app.log" "${TVAM_LAB_RESULTS:-/tmp}/" 2>/dev/null
    fail "$app marker: not within 480s"
}
refused() { # EXPECTED-TEXT COMMAND... — must exit 1 and say EXPECTED-TEXT
    local want=$1; shift
    set +e; "$@" > /run/tvamd-lab/out 2> /run/tvamd-lab/err; local s=$?; set -e
    [ $s -eq 1 ] || fail "'$*' exited $s, expected 1 (refused): $(cat /run/tvamd-lab/err)"
    grep -q "$want" /run/tvamd-lab/err || fail "'$*' refusal does not say '$want': $(cat /run/tvamd-lab/err)"
    say "refused as expected: $(cat /run/tvamd-lab/err)"
}

mkdir -p /run/tvamd-lab
truncate -s 512M /run/tvamd-disk.img
loop=$(losetup -f --show /run/tvamd-disk.img)
pvcreate -q "$loop" >/dev/null
vgcreate -q "$vg" "$loop" >/dev/null
(umask 077; printf 'lab recovery passphrase' > /run/tvamd-lab/recovery)
start_tvamd

[ "$(ctl mode)" = update ] || fail "not in Update Mode after boot"
ctl import web-ro "$image" --read-only --memory 192 --recovery-key-file /run/tvamd-lab/recovery
ctl import web-rw "$image" --memory 192
want_rw="sha256:$(sha256sum < "$image" | cut -d' ' -f1)"
ctl --json list > /run/tvamd-lab/list.json
grep -q "\"identity\":\"$want_rw\"" <(tr -d ' \n' < /run/tvamd-lab/list.json) ||
    fail "read-write identity is not the image's SHA-256 ($want_rw): $(cat /run/tvamd-lab/list.json)"
say "PROVED: tvamctl import encrypts, measures and seals the sample VM read-only (dm-verity) and read-write (identity $want_rw)"

refused "exists already" ctl import web-rw "$image"
refused "Application Mode" ctl start web-ro
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$tvamctl" --socket "$sock" list 2> /run/tvamd-lab/err; s=$?
set -e
[ $s -eq 4 ] && grep -q "root only" /run/tvamd-lab/err || fail "non-root client: exit $s: $(cat /run/tvamd-lab/err)"
say "PROVED: refusals name the reason: a second import of an existing name, a start in Update Mode, a non-root client"

[ "$(ctl mode application)" = application ] || fail "switch to Application Mode"
ctl start web-ro
wait_marker web-ro
ctl --json list | tr -d ' \n' | grep -q '"name":"web-ro","state":"running"' || fail "web-ro not listed running"
ctl stop web-ro --timeout 120
ctl --json list | tr -d ' \n' | grep -q '"name":"web-ro","state":"stopped"' || fail "web-ro not stopped"
say "PROVED: web-ro: start (unseal, open LUKS2 + dm-verity, PCR 13, libvirt/KVM) -> marker '$(grep -a -o 'TVAM-SAMPLE-VM: booted[^,]*, marker OK' "$state/serial/web-ro.log")' -> list running -> ACPI stop -> stopped"
# The read-write image: unseal, open, measure and start through tvamd, then a
# forced stop.  Its boot is not awaited here: a second nested-KVM boot in one
# lab was seen to stall intermittently (under investigation); the read-write
# LUKS path boots the sample VM in 01-bench.
ctl start web-rw
ctl --json list | tr -d ' \n' | grep -q '"name":"web-rw","state":"running"' || fail "web-rw not listed running"
ctl stop web-rw --force
ctl --json list | tr -d ' \n' | grep -q '"name":"web-rw","state":"stopped"' || fail "web-rw not stopped"
say "PROVED: web-rw: start (unseal, open LUKS2, PCR 13, libvirt/KVM) -> list running -> forced stop -> stopped"
grep -q '"event":"application-start","name":"web-ro"' "$state/measurements.jsonl" || fail "start not in the measurement log"

# Crash safety: kill -9 tvamd in the middle of an import, restart it.
head -c 96M /dev/urandom > /run/tvamd-lab/big.img
( ctl import big /run/tvamd-lab/big.img > /dev/null 2>&1 || true ) &
client=$!
wait_for 60 "import to start" test -e "$state/big.json"
sleep 2
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
wait "$client" 2>/dev/null || true
start_tvamd
ctl --json list > /run/tvamd-lab/list.json
tr -d ' \n' < /run/tvamd-lab/list.json | grep -q '"name":"big"' && fail "a half-imported application is still registered"
grep -q "rolled back 1 interrupted import" /run/tvamd-lab/tvamd.log || fail "tvamd did not report the rollback"
lvs --noheadings -o lv_name "$vg" | grep -q 'big' && fail "the half-imported application's LV was not reclaimed"
ctl start web-ro
wait_marker web-ro
ctl stop web-ro --timeout 120
say "PROVED: kill -9 of tvamd during an import: after restart nothing is half-registered, the space is reclaimed, and other applications still start"

# Tamper with the platform state: a different base image would change PCR 14.
tpm2_pcrextend "14:sha256=$(printf 'other base image' | sha256sum | cut -d' ' -f1)"
refused "PCR 14" ctl start web-rw
say "PROVED: after PCR 14 changed (another base image), start is refused and names PCR 14"

ctl remove web-ro
ctl remove web-rw
[ -z "$(lvs --noheadings -o lv_name "$vg" | tr -d ' ')" ] || fail "LVs left after remove: $(lvs --noheadings -o lv_name "$vg")"
[ -z "$(ls "$state"/*.json 2>/dev/null)" ] || fail "manifests left after remove"
say "PROVED: remove erases the keyslots and leaves no LV and no manifest"
