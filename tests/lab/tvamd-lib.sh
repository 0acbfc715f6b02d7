# tests/lab/tvamd-lib.sh — tvamd in the lab: start it on a fresh VG, talk to
# it, wait for a VM's serial marker, expect refusals.  Sourced by the tvamd
# scenarios after lib.sh; the caller sets LAB_VG (and may set LAB_VG_SIZE).
build=${TVAM_BUILD_DIR:?}
tvamd=$build/tvam/daemon/tvamd tvamctl=$build/tvam/ctl/tvamctl
image=${TVAM_SAMPLE_VM:?}
[ -x "$tvamd" ] && [ -x "$tvamctl" ] || { echo "tvamd/tvamctl not built"; exit 77; }
lab=/run/tvamd-lab state=/run/tvamd-lab/state sock=/run/tvamd-lab/tvamd.sock vg=${LAB_VG:?}
pid="" loop=""

cleanup() {
    set +e
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    # Bounded: a wedged nested QEMU must not hang the scenario's exit.
    for d in $(timeout 60 virsh -q list --name 2>/dev/null); do timeout 60 virsh -q destroy "$d" >/dev/null 2>&1; done
    for n in $(timeout 60 virsh -q net-list --name 2>/dev/null | grep '^tvam-'); do timeout 60 virsh -q net-destroy "$n" >/dev/null 2>&1; done
    dmsetup ls 2>/dev/null | awk '/^tvam-/ {print $1}' | xargs -r -n1 dmsetup remove -f >/dev/null 2>&1
    vgremove -q -f "$vg" >/dev/null 2>&1
    [ -n "$loop" ] && losetup -d "$loop"
    rm -rf "$lab" /run/tvamd-disk.img
}
trap cleanup EXIT

# A fresh volume group on a loop device, and tvamd on it.
setup_vg() {
    mkdir -p "$lab"
    truncate -s "${LAB_VG_SIZE:-512M}" /run/tvamd-disk.img
    loop=$(losetup -f --show /run/tvamd-disk.img)
    pvcreate -q "$loop" >/dev/null
    vgcreate -q "$vg" "$loop" >/dev/null
}

start_tvamd() {
    # The Update-Mode SSH host key on the lab's tmpfs, per scenario; no
    # sshd runs in the lab, so the switch's stop hook is empty.
    "$tvamd" --socket "$sock" --state-dir "$state" --vg "$vg" --tcti device:/dev/tpmrm0 \
        --ssh-host-key "$lab/ssh/ssh_host_ed25519_key" --sshd-stop-command "" \
        >> "$lab/tvamd.log" 2>&1 &
    pid=$!
    # Ready when it answers (a killed tvamd leaves its socket file behind).
    wait_for 60 "tvamd to answer" "$tvamctl" --socket "$sock" version
}
stop_tvamd() {
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""
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
marker_of() { grep -a -o 'TVAM-SAMPLE-VM: booted[^,]*, marker OK' "$state/serial/$1.log" | head -1; }

refused() { # EXPECTED-TEXT COMMAND... — must exit 1 and say EXPECTED-TEXT
    local want=$1; shift
    set +e; "$@" > "$lab/out" 2> "$lab/err"; local s=$?; set -e
    [ $s -eq 1 ] || fail "'$*' exited $s, expected 1 (refused): $(cat "$lab/err")"
    grep -q -- "$want" "$lab/err" || fail "'$*' refusal does not say '$want': $(cat "$lab/err")"
    say "refused as expected: $(cat "$lab/err")"
}

# The state of application NAME in "tvamctl list --json".
app_state() {
    ctl --json list | python3 -c '
import json, sys
for a in json.load(sys.stdin)["result"]["applications"]:
    if a["name"] == sys.argv[1]: print(a["state"]); break
else: print("absent")' "$1"
}
app_identity() {
    ctl --json list | python3 -c '
import json, sys
for a in json.load(sys.stdin)["result"]["applications"]:
    if a["name"] == sys.argv[1]: print(a["identity"])' "$1"
}

# Start through tvamd, surviving a wedged nested QEMU.  Level-2 guests run
# under KVM on the lab's *emulated* SVM (TCG); now and then a new level-2
# QEMU wedges before the guest runs (seen in CI rehearsals: libvirt's
# virDomainCreateXML then waits for it forever).  That is the bench, not
# TVAM: after 240 s the domain(s) are destroyed, libvirt fails the start,
# tvamd closes the devices and answers, and the start is retried once.  The
# retry is printed, so a log shows every time it happened.
# lab_start DOMAINS -- TVAMCTL-ARGS...   (DOMAINS: what to destroy if wedged)
lab_start() {
    local domains=() attempt s
    while [ "$1" != -- ]; do domains+=("$1"); shift; done
    shift
    for attempt in 1 2; do
        set +e; timeout 240 "$tvamctl" --socket "$sock" "$@"; s=$?; set -e
        [ $s -eq 124 ] || return $s
        say "LAB: a nested QEMU (${domains[*]}) wedged at start (attempt $attempt of 2): destroying, retrying"
        for d in "${domains[@]}"; do timeout 60 virsh -q destroy "$d" > /dev/null 2>&1 || true; done
        wait_for 300 "tvamd to finish the wedged start" "$tvamctl" --socket "$sock" version
        for d in "${domains[@]}"; do
            "$tvamctl" --socket "$sock" stop "$d" --force > /dev/null 2>&1 || true
        done
    done
    fail "start '${domains[*]}': wedged twice"
}
