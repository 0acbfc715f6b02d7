#!/bin/bash
# Update Mode against a fresh swtpm (run under lib/with-swtpm), the real
# tvamd and tvamctl (docs/base-system.md "Modes"):
#   * a key path that is not on a tmpfs is refused, nothing is created;
#   * first start in Update Mode: an Ed25519 host key is created, sealed to
#     the launch PCRs + 14 + 15 = 0, its fingerprint printed (ssh-keygen -l
#     format); the tmpfs file is a valid OpenSSH key with that fingerprint;
#     the state directory holds no clear key (no PEM/OpenSSH header, not the
#     raw seed bytes);
#   * a restart, and a reboot, unseal the same key; a changed PCR 14 is
#     named when the unseal is refused;
#   * a failed sshd stop command while an sshd process runs refuses the
#     switch (the key stays where it was);
#   * mode application: the stop hook ran, the key files are gone, PCR 15
#     has the documented value, the autostart group's start was attempted
#     (its configuration measured into PCR 13, its failure logged), the
#     sealed key no longer unseals and the refusal names PCR 15; a restart
#     in Application Mode does not unseal it;
#   * --update-mode-timeout 3: without a login tvamd switches by itself (an
#     old wtmp record from before the boot does not count); with a login
#     recorded in the watched wtmp before expiry (--update-mode-timeout 6)
#     it stays in Update Mode.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/matches.sh"
tvamd=${1:?usage: update-mode.sh TVAMD TVAMCTL TVAM-TPM-TOOL} tvamctl=${2:?} tool=${3:?}
[ "$(id -u)" -eq 0 ] || { echo "needs root (tvamd's state and key directories)"; exit 77; }
for t in ssh-keygen tpm2_pcrread tpm2_pcrextend tpm2_shutdown tpm2_startup swtpm_ioctl python3; do
    command -v $t >/dev/null || { echo "$t missing"; exit 77; }
done
[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || { echo "/dev/shm is not a tmpfs"; exit 77; }
[ "$(getconf LONG_BIT)" = 64 ] || { echo "the wtmp record layout below is for 64-bit glibc"; exit 77; }

work=$(mktemp -d)
keydir=$(mktemp -d -p /dev/shm tvam-ssh.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work" "$keydir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/tvamd.log" ] && sed 's/^/tvamd: /' "$work/tvamd.log" >&2; exit 1; }
say() { echo "== $*"; }
sock=$work/run/tvamd.sock state=$work/state
key=$keydir/ssh/ssh_host_ed25519_key
ctl() { "$tvamctl" --socket "$sock" "$@"; }
json() { ctl --json "$@" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print(eval(sys.argv[1]))" "$expr"; }
pcr() { tpm2_pcrread "sha256:$1" -o "$work/pcr" >/dev/null; xxd -p -c 64 "$work/pcr"; }

# The sshd stop hook: records that it ran.
printf '#!/bin/sh\necho "$@" >> "%s/hook-ran"\n' "$work" > "$work/stop-sshd"
chmod +x "$work/stop-sshd"

start_tvamd() { # [EXTRA OPTIONS...]
    : > "$work/tvamd.out"
    "$tvamd" --socket "$sock" --state-dir "$state" --tcti "$TVAM_TEST_TCTI" --event-log "$work/run/measurements.log" \
        --libvirt-uri test:///default --ssh-host-key "$key" --login-records "$work/wtmp" \
        --sshd-stop-command "$work/stop-sshd stopped" "$@" > "$work/tvamd.out" 2>> "$work/tvamd.log" &
    pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && ctl version >/dev/null 2>&1 && return; sleep 0.05; done
    fail "tvamd did not start"
}
# tvamd exits 0 on SIGTERM (under ASan also: no leak, no UB report).
stop_tvamd() {
    local s=0
    kill "$pid"; wait "$pid" || s=$?
    pid=""
    [ $s = 0 ] || fail "tvamd exited with status $s"
}
reboot() {
    [ -n "$pid" ] && stop_tvamd
    tpm2_shutdown -c
    swtpm_ioctl --tcp "$TVAM_TEST_SWTPM_CTRL" -i >/dev/null
    tpm2_startup -c
}
fingerprint_of_key() { ssh-keygen -l -f "$key" 2>&1; }
# A wtmp record (struct utmp of 64-bit glibc, 384 bytes): TYPE USER LINE TIME.
wtmp_record() {
    python3 - "$work/wtmp" "$@" <<'PY'
import struct, sys
path, typ, user, line, t = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
rec = struct.pack('<h2xi32s4s32s256shhiii4i20s', typ, 4242, line.encode(), b'ts/0', user.encode(),
                  b'192.0.2.1', 0, 0, 0, t, 0, 0, 0, 0, 0, b'')
assert len(rec) == 384
open(path, 'ab').write(rec)
PY
}

if [ "$(stat -f -c %T "$work")" != tmpfs ]; then
    say "a key path on a disk is refused before anything is generated"
    start_tvamd --ssh-host-key "$work/disk/ssh/ssh_host_ed25519_key"
    grep -q "No SSH host key for Update Mode: $work/disk/ssh is not on a tmpfs" "$work/tvamd.log" ||
        fail "a disk path was not refused"
    [ ! -e "$work/disk" ] && [ ! -e "$state/ssh/ssh_host_ed25519_key.sealed" ] || fail "something was created"
    stop_tvamd
fi

say "first start: the key is created, sealed, printed"
start_tvamd
for _ in $(seq 50); do grep -q "SSH host key created" "$work/tvamd.out" && break; sleep 0.1; done
fp=$(sed -n 's/^SSH host key created and sealed: //p' "$work/tvamd.out")
[ -n "$fp" ] || fail "no fingerprint printed: $(cat "$work/tvamd.out")"
grep -qF "SSH host key created, sealed to the Update-Mode state (launch PCRs + 14 + 15 = 0): $fp" "$work/tvamd.log" || fail "fingerprint not logged"
[ "$(fingerprint_of_key)" = "$fp" ] || fail "ssh-keygen -l says '$(fingerprint_of_key)', tvamd printed '$fp'"
[ "$(ssh-keygen -l -f "$key.pub")" = "$fp" ] || fail ".pub fingerprint differs"
ssh-keygen -y -f "$key" > "$work/derived.pub" || fail "ssh-keygen cannot read the private key"
[ "$(cut -d' ' -f1,2 "$work/derived.pub")" = "$(cut -d' ' -f1,2 "$key.pub")" ] || fail "private and public key differ"
[ "$(stat -c %a "$key")" = 600 ] || fail "key mode $(stat -c %a "$key")"
[ "$(stat -c %a "$(dirname "$key")")" = 700 ] || fail "key directory mode"
[ "$(stat -c %a "$state/ssh/ssh_host_ed25519_key.sealed")" = 600 ] || fail "sealed blob mode"
[ "$(ctl mode)" = update ] || fail "not Update Mode"
expr="r['ssh_host_key']['fingerprint']"; [ "$(json mode)" = "$fp" ] || fail "mode --json fingerprint"
expr="r['update_mode_remaining']"; [ "$(json mode)" = None ] || fail "a timer without --update-mode-timeout"
ctl mode status > "$work/status"
grep -qx "ssh host key:        $fp" "$work/status" || fail "mode status: $(cat "$work/status")"
grep -qx "update mode ends in: never (no timeout)" "$work/status" || fail "mode status timer: $(cat "$work/status")"

say "no clear key in the state directory"
! grep -rqa -e "PRIVATE KEY" -e "openssh-key-v1" "$state" || fail "a clear private key in $state"
python3 - "$key" "$state" <<'PY' || fail "the raw key bytes are in the state directory"
import base64, os, struct, sys
text = open(sys.argv[1]).read().splitlines()
blob = base64.b64decode(''.join(l for l in text if not l.startswith('-----')))
assert blob.startswith(b'openssh-key-v1\0')
p = len(b'openssh-key-v1\0')
def string():
    global p
    n, = struct.unpack('>I', blob[p:p+4]); s = blob[p+4:p+4+n]; p += 4 + n; return s
string(); string(); string(); p += 4; string(); priv = string()
q = 8
def pstring():
    global q
    n, = struct.unpack('>I', priv[q:q+4]); s = priv[q+4:q+4+n]; q += 4 + n; return s
assert pstring() == b'ssh-ed25519'; pstring(); seed = pstring()[:32]
for root, _, files in os.walk(sys.argv[2]):
    for f in files:
        data = open(os.path.join(root, f), 'rb').read()
        if seed in data or seed.hex().encode() in data or base64.b64encode(seed)[:40] in data:
            sys.exit("seed found in " + os.path.join(root, f))
PY
# The sealed blob holds exactly the key's seed (unsealed with the TPM module).
"$tool" unseal "$state/ssh/ssh_host_ed25519_key.sealed" "$keydir/seed" || fail "the blob does not unseal in Update Mode"
[ "$(stat -c %s "$keydir/seed")" = 32 ] || fail "sealed secret is not a 32-byte seed"
rm -f "$keydir/seed"
sha256sum "$key" | cut -d' ' -f1 > "$work/key.sha256"

say "restart and reboot in Update Mode: the same key"
stop_tvamd
start_tvamd
for _ in $(seq 50); do grep -q "SSH host key unsealed" "$work/tvamd.log" && break; sleep 0.1; done
grep -q "SSH host key unsealed into $key: $fp" "$work/tvamd.log" || fail "restart did not unseal the key"
[ "$(fingerprint_of_key)" = "$fp" ] || fail "restart: a different key"
[ "$(sha256sum "$key" | cut -d' ' -f1)" = "$(cat "$work/key.sha256")" ] || fail "restart: the key file differs"
! grep -q "SSH host key created" "$work/tvamd.out" || fail "restart created a new key"
reboot
start_tvamd
for _ in $(seq 50); do [ -s "$key" ] && break; sleep 0.1; done
[ "$(fingerprint_of_key)" = "$fp" ] || fail "reboot: a different key"

say "another base image (PCR 14): the unseal is refused and names the PCR"
stop_tvamd
rm -f "$key" "$key.pub"
tpm2_pcrextend 14:sha256=$(printf 'other base' | sha256sum | cut -d' ' -f1)
start_tvamd
for _ in $(seq 50); do grep -q "No SSH host key" "$work/tvamd.log" && break; sleep 0.1; done
grep -q "No SSH host key for Update Mode: the TPM refused to unseal the SSH host key: PCR 14 differs" "$work/tvamd.log" ||
    fail "the refusal does not name PCR 14: $(grep 'No SSH host key' "$work/tvamd.log")"
[ ! -e "$key" ] || fail "a key file without unseal"
expr="r['ssh_host_key']['error']"; json mode | matches "PCR 14 differs" || fail "mode --json does not report the error"
[ -s "$state/ssh/ssh_host_ed25519_key.sealed" ] || fail "the sealed key was discarded"
reboot
start_tvamd
for _ in $(seq 50); do [ -s "$key" ] && break; sleep 0.1; done
[ "$(fingerprint_of_key)" = "$fp" ] || fail "back on the right base: a different key"

say "a failed sshd stop while sshd runs: the switch is refused"
stop_tvamd
start_tvamd --sshd-stop-command false
cp "$(command -v sleep)" "$work/sshd"
"$work/sshd" 30 & fake=$!
# until the fork has exec'd: before that its name is still the shell's
for _ in $(seq 50); do [ "$(cat "/proc/$fake/comm" 2>/dev/null)" = sshd ] && break; sleep 0.05; done
set +e; ctl mode application > /dev/null 2> "$work/err"; s=$?; set -e
kill "$fake"; wait "$fake" 2>/dev/null || true
[ $s = 1 ] || fail "switch with sshd still running exited $s"
grep -q "'false' exited with status 1 and [0-9]* sshd process(es) still run: refusing to leave Update Mode" "$work/err" ||
    fail "refusal: $(cat "$work/err")"
[ "$(ctl mode)" = update ] && [ -s "$key" ] || fail "the refused switch changed something"
[ ! -e "$work/hook-ran" ] || fail "hook ran too early"

say "mode application: hook, wipe, PCR 15, autostart"
stop_tvamd
mkdir -p "$state/groups"
printf '{"name":"shop","applications":[{"name":"db"}]}\n' > "$state/groups/shop.json"
printf '{"name":"idle","applications":[{"name":"db"}]}\n' > "$state/groups/idle.json"
start_tvamd
ctl group autostart shop on
expr="[(g['name'], g['autostart']) for g in r['groups']]"
[ "$(json group list)" = "[('idle', False), ('shop', True)]" ] || fail "group list autostart: $(json group list)"
pcr13=$(pcr 13)
[ "$(pcr 15)" = "$(printf '%064d' 0)" ] || fail "PCR 15 is not 0 in Update Mode"
ctl --json mode application > "$work/switch.json"
expr="r['mode']"; grep -q '"mode":"application"' "$work/switch.json" || fail "switch reply: $(cat "$work/switch.json")"
[ "$(cat "$work/hook-ran")" = stopped ] || fail "the sshd stop hook did not run"
[ ! -e "$key" ] && [ ! -e "$key.pub" ] || fail "key files left in $(dirname "$key"): $(ls -la "$(dirname "$key")")"
grep -q "SSH host key $key overwritten and removed" "$work/tvamd.log" || fail "wipe not logged"
expected=$( (printf '%064d' 0; printf 'tvam:mode:application' | sha256sum | cut -d' ' -f1) | xxd -r -p | sha256sum | cut -d' ' -f1)
[ "$(pcr 15)" = "$expected" ] || fail "PCR 15 is not the Application-Mode value"
grep -q "autostart of group 'shop'" "$work/tvamd.log" || fail "no autostart attempt of 'shop'"
grep -q "Autostart of group 'shop' failed: group 'shop' not started: application 1 of 1 failed" "$work/tvamd.log" ||
    fail "the autostart's failure is not logged: $(grep -i autostart "$work/tvamd.log")"
! grep -q "autostart of group 'idle'" "$work/tvamd.log" || fail "a group without autostart was started"
[ "$(pcr 13)" != "$pcr13" ] || fail "the autostart group's configuration was not measured into PCR 13"
python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['result']['autostart']; assert [x['group'] for x in a]==['shop'] and not a[0]['started'], a" \
    "$work/switch.json" || fail "autostart in the reply: $(cat "$work/switch.json")"
set +e; "$tool" unseal "$state/ssh/ssh_host_ed25519_key.sealed" "$keydir/seed" 2> "$work/err"; s=$?; set -e
[ $s = 3 ] || fail "the sealed key unsealed in Application Mode (exit $s)"
grep -q "PCR 15" "$work/err" || fail "the refusal does not name PCR 15: $(cat "$work/err")"
[ ! -e "$keydir/seed" ] || fail "seed written"
expr="r['ssh_host_key']['fingerprint']"; [ "$(json mode)" = "$fp" ] || fail "Application Mode: fingerprint not shown"
expr="r['ssh_host_key']['unsealed']"; [ "$(json mode)" = False ] || fail "Application Mode: key reported unsealed"
stop_tvamd
start_tvamd
[ ! -e "$key" ] || fail "the key was unsealed in Application Mode"
grep -q "application mode: the SSH host key stays sealed" "$work/tvamd.log" || fail "no note that the key stays sealed"

say "timeout without a login: tvamd switches by itself"
reboot
rm -f "$work/hook-ran" "$work/wtmp"
wtmp_record 7 olduser pts/9 1000   # a login before this boot
start_tvamd --update-mode-timeout 3
expr="r['update_mode_remaining']"; left=$(json mode)
[ "$left" -ge 1 ] && [ "$left" -le 3 ] || fail "remaining time $left"
ctl mode status | matches "^update mode ends in: [1-3] s" || fail "mode status: $(ctl mode status)"
for _ in $(seq 100); do [ "$(ctl mode)" = application ] && break; sleep 0.1; done
[ "$(ctl mode)" = application ] || fail "no switch after the timeout"
grep -q "no login within 3 s: leaving Update Mode" "$work/tvamd.log" || fail "timeout not logged"
grep -q "Application Mode (timeout)" "$work/tvamd.log" || fail "timed switch not logged"
[ "$(cat "$work/hook-ran")" = stopped ] || fail "timed switch: hook did not run"
[ ! -e "$key" ] || fail "timed switch: key left"
[ "$(pcr 15)" = "$expected" ] || fail "timed switch: PCR 15"

say "timeout with a login before expiry: tvamd stays in Update Mode"
reboot
rm -f "$work/hook-ran"
start_tvamd --update-mode-timeout 6
wtmp_record 7 admin pts/0 "$(date +%s)"
sleep 8
[ "$(ctl mode)" = update ] || fail "switched despite a login"
grep -q "login of 'admin' on pts/0 recorded in $work/wtmp: staying in Update Mode" "$work/tvamd.log" || fail "login not logged"
expr="(r['login_seen'], r['update_mode_remaining'])"; [ "$(json mode)" = "(True, None)" ] || fail "mode --json: $(json mode)"
ctl mode status | matches "^update mode ends in: never (a login was seen)" || fail "mode status: $(ctl mode status)"
[ ! -e "$work/hook-ran" ] && [ -s "$key" ] || fail "something of the switch happened"
ctl mode application > /dev/null
[ ! -e "$key" ] || fail "explicit switch after a login: key left"

stop_tvamd
echo "update mode: sealed host key created/printed/unsealed (restart, reboot), no clear key in state, PCR 14 change named, failed sshd stop refused, switch (hook, wipe, PCR 15, autostart attempt, PCR 15 named on unseal), timeout with and without login"
