#!/bin/bash
# tvamd's attestation against a manufactured swtpm (EK certificate from
# swtpm_localca; run under lib/with-swtpm with TVAM_SWTPM_EK_CERT=1):
#   tvamctl enrol request -> tvam-verify enrol-challenge (EK chain checked)
#   -> tvamctl enrol answer (TPM2_ActivateCredential) -> enrol-complete;
#   a base-image event in PCR 14 (as the initramfs logs it), the switch to
#   Application Mode (PCR 15, logged by tvamd), tvamctl attest with the
#   verifier's nonce -> tvam-verify: trusted; the same evidence against a
#   new nonce (a replay) and against a manifest without this base image:
#   untrusted, cause named; a challenge for another TPM is refused.
set -euo pipefail
tvamd=${1:?usage: daemon-attest.sh TVAMD TVAMCTL TVAM-VERIFY ATTEST-TOOL} tvamctl=${2:?} verify=${3:?} tool=${4:?}
[ -n "${TVAM_TEST_EK_CA:-}" ] || { echo "needs TVAM_SWTPM_EK_CERT=1"; exit 77; }
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/tvamd.log" ] && sed 's/^/tvamd: /' "$work/tvamd.log" >&2; exit 1; }
sock=$work/run/tvamd.sock log=$work/run/measurements.log
ctl() { "$tvamctl" --socket "$sock" "$@"; }

# The initramfs's PCR 14 event (base image), before tvamd runs.
base_id="sha256:$(printf 'base image 1' | sha256sum | cut -d' ' -f1)"
mkdir -p "$work/run"
"$tool" measure "$log" 14 base-image base-1 "$base_id" > /dev/null || fail "PCR 14 event"

"$tvamd" --sshd-stop-command true --ssh-host-key "$work/ssh/ssh_host_ed25519_key" \
    --socket "$sock" --state-dir "$work/state" --tcti "$TVAM_TEST_TCTI" --event-log "$log" \
    > "$work/tvamd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do ctl version > /dev/null 2>&1 && break; sleep 0.1; done

# Enrolment: the verifier learns the AK is in a TPM whose EK chains to the CA.
ctl enrol request --out "$work/request.json"
"$verify" enrol-challenge --ca "$TVAM_TEST_EK_CA" --intermediate "$TVAM_TEST_EK_ISSUER" \
    --request "$work/request.json" --challenge "$work/challenge.json" --pending "$work/pending.json" ||
    fail "enrol-challenge"
ctl enrol answer "$work/challenge.json" --out "$work/answer.json"
"$verify" enrol-complete --pending "$work/pending.json" --response "$work/answer.json" --enrolled "$work/enrolled" ||
    fail "enrol-complete"
# A challenge bound to another key is refused by the TPM.
python3 - "$work/challenge.json" "$work/bad-challenge.json" <<'PY'
import base64, json, sys
c = json.load(open(sys.argv[1]))
b = bytearray(base64.b64decode(c["credential_blob"])); b[-1] ^= 1
c["credential_blob"] = base64.b64encode(bytes(b)).decode()
json.dump(c, open(sys.argv[2], "w"))
PY
set +e; ctl enrol answer "$work/bad-challenge.json" > /dev/null 2> "$work/err"; s=$?; set -e
[ $s -eq 1 ] && grep -q "refused the challenge" "$work/err" || fail "an altered challenge was answered ($s): $(cat "$work/err")"

[ "$(ctl mode application)" = application ] || fail "Application Mode"

# The administrator's reference manifest, signed.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/admin.key" 2>/dev/null
openssl ec -in "$work/admin.key" -pubout -out "$work/admin.pem" 2>/dev/null
manifest() { # FILE BASE-IDENTITY
    printf '{ "version": 1, "base_images": [ { "name": "base-1", "identity": "%s" } ], "applications": [], "mode": "application" }\n' "$2" > "$1"
    openssl dgst -sha256 -sign "$work/admin.key" -out "$1.sig" "$1"
}
manifest "$work/manifest.json" "$base_id"
manifest "$work/other.json" "sha256:$(printf 'another base' | sha256sum | cut -d' ' -f1)"

nonce=$(openssl rand -hex 20)
ctl attest --nonce "$nonce" --pcrs 0,13,14,15 --out "$work/evidence.json"
v() { "$verify" verify --enrolled "$work/enrolled" --admin-key "$work/admin.pem" --evidence "$work/evidence.json" --json "$@"; }
v --nonce "$nonce" --manifest "$work/manifest.json" > "$work/verdict.json" || fail "not trusted: $(cat "$work/verdict.json")"
grep -q '"verdict":"trusted"' "$work/verdict.json" || fail "verdict: $(cat "$work/verdict.json")"

set +e
v --nonce "$(openssl rand -hex 20)" --manifest "$work/manifest.json" > "$work/replay.json"; s1=$?
v --nonce "$nonce" --manifest "$work/other.json" > "$work/base.json"; s2=$?
set -e
[ $s1 -eq 1 ] && grep -q '"cause":"nonce"' "$work/replay.json" || fail "replayed evidence: $(cat "$work/replay.json")"
[ $s2 -eq 1 ] && grep -q '"cause":"base-image"' "$work/base.json" || fail "unknown base image: $(cat "$work/base.json")"
set +e; ctl attest --nonce 00 > /dev/null 2> "$work/err"; s=$?; set -e
[ $s -eq 1 ] && grep -q "nonce must be" "$work/err" || fail "a 1-byte nonce was accepted"
# ENDORSE's platform key (docs/attestation.md "ENDORSE / GET-ID"): certified
# by the enrolled AK over the verifier's nonce, its policy PolicyPCR over the
# attested values (tvam-verify checks it with a VM certificate issued by the
# same key: attest-endorse; the channel itself: lab fresh-boot/90-endorse).
nonce2=$(openssl rand -hex 20)
ctl attest --nonce "$nonce2" --out "$work/evidence2.json"
ctl platform-key --nonce "$nonce2" --out "$work/certify.json"
python3 - "$work/certify.json" <<'PY' || fail "platform-key: $(cat "$work/certify.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["version"] == 1 and c["pcr_mask"] & (1 << 14) and c["pcr_mask"] & (1 << 15), c
assert c["certify"]["attest"] and c["certify"]["signature"] and c["platform_key_public"], c
PY
grep -q "platform key created" "$work/tvamd.log" || fail "no platform key was created"
ctl platform-key --nonce "$nonce2" --out "$work/certify-again.json"
[ "$(grep -c "platform key created" "$work/tvamd.log")" = 1 ] || fail "the platform key was re-created for the same state"
set +e; ctl platform-key --nonce 00 > /dev/null 2> "$work/err"; s=$?; set -e
[ $s -eq 1 ] && grep -q "nonce must be" "$work/err" || fail "platform-key accepted a 1-byte nonce"
echo "tvamd attestation: enrolment by credential activation (altered challenge refused), Application Mode logged, evidence trusted; replayed nonce and unknown base image untrusted with the cause named; platform key certified, created once per state"
