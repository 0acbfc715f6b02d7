#!/bin/bash
# tvamd + tvamctl against a fresh swtpm (run under lib/with-swtpm):
#   * the readiness notification, version, --json,
#   * the mode: Update Mode after "boot" (PCR 15 = 0); "mode application"
#     extends PCR 15 with the documented event; going back is refused,
#   * a non-root client is refused: by the socket's file mode (exit 4), and
#     by the daemon's peer-credential check when the modes are loosened,
#   * tvamctl's exit codes: unreachable daemon 3, usage 2.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/matches.sh"
tvamd=${1:?usage: daemon.sh TVAMD TVAMCTL} tvamctl=${2:?}
[ "$(id -u)" -eq 0 ] || { echo "needs root (privilege drop for the non-root client)"; exit 77; }
command -v setpriv >/dev/null || { echo "setpriv missing"; exit 77; }
command -v socat >/dev/null || { echo "socat missing"; exit 77; }

work=$(mktemp -d)
pid="" notify_pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    [ -n "$notify_pid" ] && kill "$notify_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/tvamd.log" ] && sed 's/^/tvamd: /' "$work/tvamd.log" >&2; exit 1; }
sock=$work/run/tvamd.sock
ctl() { "$tvamctl" --socket "$sock" "$@"; }

# Readiness: tvamd sends READY=1 to $NOTIFY_SOCKET once it listens.
socat -u UNIX-RECV:"$work/notify" OPEN:"$work/notified",creat &
notify_pid=$!
for _ in $(seq 50); do [ -S "$work/notify" ] && break; sleep 0.1; done
# --sshd-stop-command true: a test never stops the machine's sshd; the host
# key goes below $work (refused there unless that is a tmpfs).
NOTIFY_SOCKET=$work/notify "$tvamd" --sshd-stop-command true --ssh-host-key "$work/ssh/ssh_host_ed25519_key" --socket "$sock" --state-dir "$work/state" --tcti "$TVAM_TEST_TCTI" \
    --event-log "$work/run/measurements.log" \
    > "$work/tvamd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$work/notified" ] && break; sleep 0.1; done
grep -qx "READY=1" "$work/notified" || fail "no READY=1 notification"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode is $(stat -c %a "$sock"), expected 600"
[ "$(stat -c %a "$(dirname "$sock")")" = 700 ] || fail "socket directory is not 0700"

ctl version | matches '^tvamd 0\.1\.0 (protocol 1)$' || fail "version"
ctl --json version | matches '"ok":true' || fail "--json version"

[ "$(ctl mode)" = update ] || fail "a fresh TPM (PCR 15 = 0) is not Update Mode"
[ "$(ctl mode application)" = application ] || fail "switch to Application Mode"
expected=$( (printf '%064d' 0; printf 'tvam:mode:application' | sha256sum | cut -d' ' -f1) | xxd -r -p | sha256sum | cut -d' ' -f1)
tpm2_pcrread sha256:15 -o "$work/pcr15" >/dev/null
[ "$(xxd -p -c 64 "$work/pcr15")" = "$expected" ] || fail "PCR 15 is not the documented Application-Mode value"
[ "$(ctl mode)" = application ] || fail "mode after the switch"
# The switch is in the TCG event log: tpm2_eventlog parses it, and its replay
# gives the TPM's PCR 15; the store keeps a copy for this boot.
tpm2_eventlog "$work/run/measurements.log" > "$work/eventlog.yaml" 2>&1 || fail "tpm2_eventlog: $(cat "$work/eventlog.yaml")"
grep -qi "15 *: *0x$expected" "$work/eventlog.yaml" || fail "event log replay of PCR 15 differs: $(tail -n 8 "$work/eventlog.yaml")"
cmp -s "$work/run/measurements.log" "$work/state/logs/$(cat /proc/sys/kernel/random/boot_id).log" || fail "no copy of the event log in the store"
set +e
ctl mode update 2> "$work/err"; status=$?
set -e
[ $status -eq 1 ] || fail "switching back exited $status, expected 1"
grep -q "only a reboot returns to Update Mode" "$work/err" || fail "refusal does not say why: $(cat "$work/err")"
# A second switch is harmless (still Application Mode, PCR 15 unchanged).
ctl mode application >/dev/null
tpm2_pcrread sha256:15 -o "$work/pcr15b" >/dev/null
cmp -s "$work/pcr15" "$work/pcr15b" || fail "a repeated switch extended PCR 15 again"

# A non-root client: refused by the socket's mode ...
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$tvamctl" --socket "$sock" version 2> "$work/err"; status=$?
set -e
[ $status -eq 4 ] || fail "non-root client exited $status, expected 4"
grep -q "root only" "$work/err" || fail "non-root refusal does not say why: $(cat "$work/err")"
# ... and by tvamd itself when the file modes are loosened.
chmod 755 "$work" "$(dirname "$sock")"; chmod 666 "$sock"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$tvamctl" --socket "$sock" version 2> "$work/err"; status=$?
set -e
[ $status -eq 4 ] || fail "non-root client past the file modes exited $status, expected 4"
grep -q "root only (peer uid 65534)" "$work/err" || fail "daemon refusal: $(cat "$work/err")"

# Exit codes.
set +e
"$tvamctl" --socket "$work/nothing.sock" version 2>/dev/null; [ $? -eq 3 ] || fail "unreachable daemon is not exit 3"
ctl frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown command is not exit 2"
ctl mode sideways 2>/dev/null; [ $? -eq 2 ] || fail "bad mode argument is not exit 2"
set -e

# Refusals that need no volume group: each message names the reason.
qemu-img create -q -f qcow2 "$work/whole.qcow2" 8M
qemu-io -c 'write -P 0x5a 0 8M' "$work/whole.qcow2" >/dev/null
head -c 600000 "$work/whole.qcow2" > "$work/truncated.qcow2"
qemu-img create -q -f qcow2 -b "$work/whole.qcow2" -F qcow2 "$work/overlay.qcow2"
refused() { # EXPECTED-MESSAGE-PART COMMAND...
    local want=$1; shift
    set +e; ctl "$@" 2> "$work/err"; local status=$?; set -e
    [ $status -eq 1 ] || fail "'$*' exited $status, expected 1 (refused): $(cat "$work/err")"
    grep -q -- "$want" "$work/err" || fail "'$*' refusal does not say '$want': $(cat "$work/err")"
}
refused "corrupt or truncated" import bad "$work/truncated.qcow2" --format qcow2
refused "has a backing file" import bad "$work/overlay.qcow2" --format qcow2
refused "not a readable qcow2 image" import bad "$work/pcr15" --format qcow2
printf '{"name":"shop","applications":[{"name":"db"}]}' > "$work/group.json"
refused "'db', which is not an imported application" group add "$work/group.json"
printf '{"name":"shop","applications":[{"name":"db","network":"lan"}]}' > "$work/group.json"
refused "network 'lan', which \"networks\" does not declare" group add "$work/group.json"
refused "no group named 'nothing'" group start nothing
[ "$(ctl --json group list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["groups"]))')" = 0 ] \
    || fail "group list is not empty"

kill -TERM "$pid"; wait "$pid"; pid=""
[ ! -e "$sock" ] || fail "socket left behind after SIGTERM"
echo "tvamd: ready notification, 0600 socket, version, mode switch (PCR 15 = documented value, no way back), non-root refused twice, exit codes, truncated/backed qcow2 and invalid groups refused with reasons"
