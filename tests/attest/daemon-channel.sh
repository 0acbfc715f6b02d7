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
tvamd=${1:?usage: daemon-channel.sh TVAMD TVAMCTL} tvamctl=${2:?}
command -v python3 > /dev/null || { echo "python3 missing"; exit 77; }
work=$(mktemp -d)
pid="" guest=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$guest" ] && kill "$guest" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; sed 's/^/tvamd: /' "$work/tvamd.log" >&2 2>/dev/null; sed 's/^/guest: /' "$work/guest.log" >&2 2>/dev/null; exit 1; }
sock=$work/run/tvamd.sock vmsock=$work/run/vm/web/endorse.sock
identity="verity:$(printf 'the web image' | sha256sum | cut -d' ' -f1)"
ctl() { "$tvamctl" --socket "$sock" "$@"; }
mkdir -p "$work/run/vm/web"

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
print("guest done")
PY
guest=$!
for _ in $(seq 50); do [ -S "$vmsock" ] && break; sleep 0.1; done

TVAM_TEST_VM_CHANNEL="web $identity $vmsock" "$tvamd" --sshd-stop-command true \
    --ssh-host-key "$work/ssh/ssh_host_ed25519_key" --socket "$sock" --state-dir "$work/state" \
    --tcti "$TVAM_TEST_TCTI" --event-log "$work/run/measurements.log" > "$work/tvamd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$work/step1" ] && break; sleep 0.1; done
[ -e "$work/step1" ] || fail "the pretend guest got no answer in Update Mode"
[ "$(ctl mode application)" = application ] || fail "Application Mode"
touch "$work/mode-done"
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
[ "$(grep -c 'ENDORSE issued' "$work/tvamd.log")" = 1 ] || fail "more than one certificate issued"
grep -q "\"event\":\"endorse-refused\",\"name\":\"web\",\"identity\":\"$identity\",\"reason\":\"the platform is not in Application Mode" \
    "$work/state/measurements.jsonl" || fail "the refusal in Update Mode is not in the audit log"
[ "$(grep -c endorse-refused "$work/state/measurements.jsonl")" = 1 ] || fail "a malformed request reached the audit log"
grep -q "\"event\":\"endorse\",\"name\":\"web\",\"identity\":\"$identity\",\"serial\":\"$serial\"" \
    "$work/state/measurements.jsonl" || fail "the issuance is not in the audit log"
sed 's/^/  /' "$work/guest.log"
echo "tvamd ENDORSE channel: refused in Update Mode; GET-ID; one certificate for the guest's key (identity $identity, serial $serial); forged CSR, response type, oversize frame and bad magic refused, the channel reset and reconnected"
