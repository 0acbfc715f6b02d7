#!/bin/bash
# tvamd's side of the ENDORSE / GET-ID channel against a TPM (swtpm), without
# libvirt: tvamd serves the channel of a pretend VM ($TVAM_TEST_VM_CHANNEL)
# whose "QEMU" is a Python listener on the socket, which then plays a hostile
# guest (docs/protocol.md "VM channel"):
#   ENDORSE in Update Mode: refused (EPERM, Application Mode named);
#   GET-ID: tvamd's identity; ENDORSE with a valid P-256 CSR: a certificate
#   for exactly that key with the identity extension, logged with its serial;
#   a CSR whose self-signature does not verify: EPERM, nothing issued; a
#   response type sent by the guest: EPROTO, the connection stays; a header
#   announcing 16 KiB + 1: EMSGSIZE and the connection is reset, tvamd
#   reconnects and answers GET-ID again; a bad magic: EBADMSG, reset again.
set -euo pipefail
tvamd=${1:?usage: daemon-channel.sh TVAMD TVAMCTL hooks|no-hooks} tvamctl=${2:?}
[ "${3:-}" = hooks ] || { echo "tvamd built without its test hooks (meson -Dtest_hooks=true; tests/run sets it)"; exit 77; }
command -v python3 > /dev/null || { echo "python3 missing"; exit 77; }
work=$(mktemp -d)
pid="" guest=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$guest" ] && kill "$guest" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; sed 's/^/tvamd: /' "$work/tvamd.log" >&2 2>/dev/null; sed 's/^/guest: /' "$work/guest.log" >&2 2>/dev/null; exit 1; }
sock=$work/run/tvamd.sock vmsock=$work/run/vm/web/endorse.sock
identity="verity:$(printf 'the web image' | sha256sum | cut -d' ' -f1)"
ctl() { "$tvamctl" --socket "$sock" "$@"; }
# tvamd serving the pretend VM channel "$1" (TVAM_TEST_VM_CHANNEL) with its
# socket, state and event log under directory $2; it replaces the shell
# that runs it (run it with & or in a subshell).
tvamd_with() {
    TVAM_TEST_VM_CHANNEL=$1 exec "$tvamd" --sshd-stop-command true --ssh-host-key "$work/ssh/ssh_host_ed25519_key" \
        --socket "$2/tvamd.sock" --state-dir "$work/state" --tcti "$TVAM_TEST_TCTI" --event-log "$2/measurements.log"
}
mkdir -p "$work/run/vm/web"

# The hook's input is checked, never truncated: a malformed identity, a
# name that is not an application name, a fourth field are refused (exit 2).
mkdir -p "$work/bad"
for bad in "web verity:xyz $vmsock" "../web $identity $vmsock" "web $identity $vmsock extra" \
           "web ${identity}0 $vmsock"; do
    status=0
    (tvamd_with "$bad" "$work/bad") > "$work/bad.log" 2>&1 || status=$? # accepted: runs into meson's timeout
    [ "$status" = 2 ] && grep -q "Invalid TVAM_TEST_VM_CHANNEL" "$work/bad.log" ||
        { cat "$work/bad.log" >&2; echo "FAIL: TVAM_TEST_VM_CHANNEL='$bad' not refused (exit $status)" >&2; exit 1; }
done

# The guest's key and requests: a valid one, one with its signature altered.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/guest.key" 2>/dev/null
openssl req -new -key "$work/guest.key" -subj /CN=guest-chosen-name -outform DER -out "$work/csr.der"
openssl pkey -in "$work/guest.key" -pubout -outform DER -out "$work/guest.spki"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-3] ^= 1; open(sys.argv[2], "wb").write(b)' \
    "$work/csr.der" "$work/forged.der"

python3 - "$vmsock" "$work" "$identity" > "$work/guest.log" 2>&1 <<'PY' &
import os, socket, struct, sys, time
path, work, identity = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1); srv.settimeout(30)
def connection():
    c, _ = srv.accept(); c.settimeout(30); return c
def recv(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: raise EOFError("tvamd closed the channel")
        b += x
    return b
def frame(c):
    h = recv(c, 8)
    assert h[:3] == b"TV\x01", h
    n = struct.unpack(">I", h[4:])[0]
    return h[3], recv(c, n) if n else b""
def send(c, t, p=b""): c.sendall(b"TV\x01" + bytes([t]) + struct.pack(">I", len(p)) + p)
def error(c, want_errno, want_text):
    t, p = frame(c)
    assert t == 0xff, (t, p)
    err, reason = struct.unpack(">I", p[:4])[0], p[4:].decode()
    assert err == want_errno and want_text in reason, (err, reason)
    print("refused as expected:", err, reason)
def get_id(c):
    send(c, 0x01); t, p = frame(c)
    assert t == 0x81 and p.decode() == identity, (t, p)
csr = open(work + "/csr.der", "rb").read()
c = connection()
t0 = time.monotonic()
send(c, 0x02, csr); error(c, 1, "refused: not in Application Mode")          # EPERM
open(work + "/step1", "w").close()
while not os.path.exists(work + "/mode-done"): time.sleep(0.1)
get_id(c); print("GET-ID:", identity)
send(c, 0x02, csr); t, p = frame(c)
assert t == 0x82, (t, p)
open(work + "/cert.der", "wb").write(p); print("certificate:", len(p), "bytes")
send(c, 0x02, open(work + "/forged.der", "rb").read()); error(c, 1, "invalid certification request")
send(c, 0x81, b"x"); error(c, 71, "not a request")                    # EPROTO, same connection
get_id(c)
c.sendall(b"TV\x01\x02" + struct.pack(">I", 16 * 1024 + 1))           # oversize
error(c, 90, "malformed frame")                                       # EMSGSIZE
assert c.recv(1) == b"", "tvamd did not reset the channel"
c = connection(); get_id(c); print("reconnected after an oversize frame")
c.sendall(b"XV\x01\x01\0\0\0\0"); error(c, 74, "malformed frame")      # EBADMSG
c = connection(); get_id(c); print("reconnected after a bad magic")
# A flood of ENDORSE: at most the burst (3) and one per 5 s since the first
# ENDORSE get certificates (or a TPM refusal), the rest "rate limited"
# without TPM work; the shell times tvamctl meanwhile.
open(work + "/flooding", "w").close()
answered = limited = 0; deadline = time.monotonic() + 15
while (answered + limited < 20 or not os.path.exists(work + "/mode-timed")) and time.monotonic() < deadline:
    send(c, 0x02, csr); t, p = frame(c)
    if t == 0xff and p[4:] == b"refused: rate limited": limited += 1
    else: assert t == 0x82, (t, p); answered += 1
elapsed = time.monotonic() - t0
# before the flood: 3 ENDORSE (Update Mode, the certificate, the forged CSR)
allowed = 3 + int(elapsed / 5) + 1
print(f"flood: {answered} answered, {limited} rate limited, {3 + answered} in {elapsed:.1f}s (allowed {allowed})")
open(work + "/flood-answered", "w").write(str(answered))
assert 3 + answered <= allowed and limited >= 20 - allowed, (answered, limited, elapsed)
# tvamd's shutdown closes a live channel.
open(work + "/holding", "w").close()
assert c.recv(1) == b"", "data from tvamd"
print("tvamd closed the channel at its shutdown")
print("guest done")
PY
guest=$!
for _ in $(seq 50); do [ -S "$vmsock" ] && break; sleep 0.1; done

tvamd_with "web $identity $vmsock" "$work/run" > "$work/tvamd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$work/step1" ] && break; sleep 0.1; done
[ -e "$work/step1" ] || fail "the pretend guest got no answer in Update Mode"
[ "$(ctl mode application)" = application ] || fail "Application Mode"
touch "$work/mode-done"
for _ in $(seq 300); do [ -e "$work/flooding" ] && break; sleep 0.1; done
[ -e "$work/flooding" ] || fail "the pretend guest did not get to its flood"
start=$(date +%s%N)
[ "$(ctl mode)" = application ] || fail "tvamctl mode during the flood"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
touch "$work/mode-timed"
[ "$ms" -lt 5000 ] || fail "tvamctl mode took ${ms} ms during an ENDORSE flood"
for _ in $(seq 300); do [ -e "$work/holding" ] && break; sleep 0.1; done
[ -e "$work/holding" ] || fail "the pretend guest did not finish its flood"
# SIGTERM with a live channel: tvamd ends its thread and exits 0, promptly.
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null || fail "tvamd still runs 10 s after SIGTERM with a live VM channel"
status=0; wait "$pid" || status=$?; pid=""
[ "$status" = 0 ] || fail "tvamd exited with status $status after SIGTERM"
wait "$guest" || { guest=""; fail "the guest's checks failed"; }
guest=""

# The certificate: for the guest's key, the identity in the TVAM extension,
# the subject tvamd's name for the VM (not what the CSR asked for).
openssl x509 -inform DER -in "$work/cert.der" -pubkey -noout | openssl pkey -pubin -outform DER -out "$work/cert.spki"
cmp -s "$work/cert.spki" "$work/guest.spki" || fail "the certificate is not for the guest's key"
openssl x509 -inform DER -in "$work/cert.der" -noout -text > "$work/cert.txt"
grep -q "2.25.41370650785628153028835963525267533277" "$work/cert.txt" && grep -q "$identity" "$work/cert.txt" ||
    fail "no identity extension: $(cat "$work/cert.txt")"
grep -q "Subject: CN *= *web" "$work/cert.txt" || fail "subject: $(grep Subject: "$work/cert.txt")"
serial=$(openssl x509 -inform DER -in "$work/cert.der" -noout -serial | cut -d= -f2)
grep -q "VM 'web': ENDORSE issued certificate serial $serial, subject CN=web, identity $identity" "$work/tvamd.log" ||
    fail "issuance not logged with serial $serial"
answered=$(cat "$work/flood-answered")
[ "$(grep -c 'ENDORSE issued' "$work/tvamd.log")" = $((1 + answered)) ] ||
    fail "issued: $(grep -c 'ENDORSE issued' "$work/tvamd.log"), the guest got $((1 + answered))"
# Rate-limited refusals: no TPM work, no audit entry, collapsed in the log.
limited_logged=$(grep -c "rate limited" "$work/tvamd.log" || true)
[ "$limited_logged" -ge 1 ] && [ "$limited_logged" -le $((2 * (answered + 1))) ] ||
    fail "rate-limited refusals logged $limited_logged times (answered $answered)"
! grep -q "rate limited" "$work/state/measurements.jsonl" || fail "a rate-limited request reached the audit log"
! grep -q "GET-ID" "$work/tvamd.log" || fail "GET-ID logged above debug level"
grep -q "\"event\":\"endorse-refused\",\"name\":\"web\",\"identity\":\"$identity\",\"reason\":\"the platform is not in Application Mode" \
    "$work/state/measurements.jsonl" || fail "the refusal in Update Mode is not in the audit log"
[ "$(grep -c endorse-refused "$work/state/measurements.jsonl")" = 1 ] || fail "a malformed request reached the audit log"
grep -q "\"event\":\"endorse\",\"name\":\"web\",\"identity\":\"$identity\",\"serial\":\"$serial\"" \
    "$work/state/measurements.jsonl" || fail "the issuance is not in the audit log"
sed 's/^/  /' "$work/guest.log"

# A channel belongs to one VM instance: pretend QEMU A (identity X) resets
# the channel and goes; a new listener B on the same path (a new QEMU of the
# same name) must not be connected to, so it never gets X.
vmsock2=$work/run2/vm/web/endorse.sock
mkdir -p "$work/run2/vm/web"
python3 - "$vmsock2" "$identity" > "$work/guest.log" 2>&1 <<'PY' &
import os, socket, struct, sys
path, identity = sys.argv[1], sys.argv[2]
a = socket.socket(socket.AF_UNIX); a.bind(path); a.listen(1); a.settimeout(30)
c, _ = a.accept(); c.settimeout(30)
c.sendall(b"TV\x01\x01\0\0\0\0")
h = c.recv(8); assert h[:4] == b"TV\x01\x81", h
assert c.recv(4096).decode() == identity
print("A got its identity")
c.sendall(b"XV\x01\x01\0\0\0\0")                                      # tvamd resets the channel
while c.recv(4096): pass
c.close(); a.close(); os.unlink(path)
b = socket.socket(socket.AF_UNIX); b.bind(path); b.listen(1); b.settimeout(8)
try:
    c, _ = b.accept()
except socket.timeout:
    print("B: tvamd did not connect to another QEMU's socket"); sys.exit(0)
c.settimeout(5); c.sendall(b"TV\x01\x01\0\0\0\0")
print("B: tvamd connected and answered", c.recv(4096)); sys.exit(1)
PY
guest=$!
for _ in $(seq 50); do [ -S "$vmsock2" ] && break; sleep 0.1; done
tvamd_with "web $identity $vmsock2" "$work/run2" > "$work/tvamd.log" 2>&1 &
pid=$!
wait "$guest" || { guest=""; fail "a new QEMU on the path was served by the old instance's channel"; }
guest=""
kill -TERM "$pid"; status=0; wait "$pid" || status=$?; pid=""
[ "$status" = 0 ] || fail "tvamd exited with status $status after SIGTERM"
sed 's/^/  /' "$work/guest.log"
echo "tvamd ENDORSE channel: refused in Update Mode; GET-ID; one certificate for the guest's key (identity $identity, serial $serial); forged CSR, response type, oversize frame and bad magic refused, the channel reset and reconnected"
