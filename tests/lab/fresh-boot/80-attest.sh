#!/bin/bash
# 80-attest — remote attestation of the platform in a freshly booted lab
# (real SeaBIOS event log, a TPM manufactured with an EK certificate, real
# LVM/dm/libvirt/KVM): enrol tvamd's AK with tvam-verify by credential
# activation; PCR 14 gets the base-image event (as the initramfs logs it);
# import and start the sample VM in Application Mode; tvamctl attest with
# the verifier's nonce -> tvam-verify: trusted (firmware log replayed to PCR
# 0-7, TVAM's log to 13-15).  Then each of these is untrusted, the cause
# named: a different application image; a replayed quote; a log with one
# event removed; one with an event altered; a quote by a key that was not
# enrolled; a base image not in the manifest.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
LAB_VG=tvam-a
. "$TVAM_REPO/tests/lab/tvamd-lib.sh"
verify=$build/tvam/verify/tvam-verify tool=$build/tests/attest/attest-tool evtool=$build/tests/attest/eventlog-tool
ca=${TVAM_LAB_RESULTS:?}/ek-ca.pem issuer=$TVAM_LAB_RESULTS/ek-issuer.pem
[ -r "$ca" ] || fail "the lab TPM has no EK CA certificate ($ca)"
log=/run/tvam/measurements.log
mkdir -p /run/tvam
v=$lab/verifier
setup_vg
mkdir -p "$v"

# The initramfs's measurement of the base image (PCR 14 + its event).
head -c 4M /dev/urandom > "$lab/base.squashfs"
base_id="sha256:$(sha256sum < "$lab/base.squashfs" | cut -d' ' -f1)"
TVAM_TEST_TCTI=device:/dev/tpmrm0 "$tool" measure "$log" 14 base-image base-1 "$base_id" > /dev/null || fail "PCR 14 event"
start_tvamd

# Enrolment.
ctl enrol request --out "$v/request.json"
"$verify" enrol-challenge --ca "$ca" --intermediate "$issuer" --request "$v/request.json" \
    --challenge "$v/challenge.json" --pending "$v/pending.json"
ctl enrol answer "$v/challenge.json" --out "$v/answer.json"
"$verify" enrol-complete --pending "$v/pending.json" --response "$v/answer.json" --enrolled "$v/enrolled"
say "PROVED: enrolment: the EK certificate chains to the lab TPM's CA, and only this TPM activated the credential for tvamd's AK"

# The platform: a sample application, Application Mode, started.
ctl import web "$image" --read-only --memory 160
ctl mode application > /dev/null
lab_start web -- start web
wait_marker web
web_id=$(app_identity web)

# The administrator's signed reference manifest.
openssl ecparam -name prime256v1 -genkey -noout -out "$v/admin.key" 2>/dev/null
openssl ec -in "$v/admin.key" -pubout -out "$v/admin.pem" 2>/dev/null
manifest() { # FILE BASE-ID APP-ID
    printf '{ "version": 1, "base_images": [ { "name": "base-1", "identity": "%s" } ],\n  "applications": [ { "name": "web", "identity": "%s" } ], "mode": "application" }\n' "$2" "$3" > "$1"
    openssl dgst -sha256 -sign "$v/admin.key" -out "$1.sig" "$1"
}
manifest "$v/manifest.json" "$base_id" "$web_id"

nonce=$(openssl rand -hex 20)
ctl attest --nonce "$nonce" --out "$v/evidence.json"
check() { # EVIDENCE NONCE MANIFEST ENROLLED -> prints the verdict JSON, exit status
    "$verify" verify --enrolled "$4" --nonce "$2" --manifest "$3" --admin-key "$v/admin.pem" --evidence "$1" --json
}
out=$(check "$v/evidence.json" "$nonce" "$v/manifest.json" "$v/enrolled") || fail "the platform is not trusted: $out"
say "verdict: $out"
say "PROVED: tvamctl attest -> tvam-verify: trusted (quote by the enrolled AK over PCR 0-7,13-15 with the nonce; firmware log and TVAM's log replay to the quoted PCRs; base image and application in the signed manifest)"

untrusted() { # WHAT CAUSE EVIDENCE NONCE MANIFEST ENROLLED
    local what=$1 cause=$2 out s
    set +e; out=$(check "$3" "$4" "$5" "$6"); s=$?; set -e
    [ $s -eq 1 ] && grep -Eq "\"cause\": ?\"$cause\"" <<< "$out" || fail "$what: expected untrusted/$cause, got ($s) $out"
    say "untrusted as expected ($what): $out"
}
# A different application image: start another one, attest again.
head -c 8M /dev/urandom > "$lab/other.img"
ctl import other "$lab/other.img" --read-only --memory 64
lab_start other -- start other
nonce2=$(openssl rand -hex 20)
ctl attest --nonce "$nonce2" --out "$v/evidence2.json"
untrusted "an application image not in the manifest" application "$v/evidence2.json" "$nonce2" "$v/manifest.json" "$v/enrolled"
ctl stop other --force
untrusted "a replayed quote" nonce "$v/evidence.json" "$(openssl rand -hex 20)" "$v/manifest.json" "$v/enrolled"
for op in drop alter; do
    python3 - "$v/evidence.json" "$v/tvam.log" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1])); open(sys.argv[2], "wb").write(base64.b64decode(e["event_logs"]["tvam"]))
PY
    "$evtool" "$op" "$v/tvam.log" 1 "$v/tvam-$op.log"
    python3 - "$v/evidence.json" "$v/tvam-$op.log" "$v/evidence-$op.json" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1])); e["event_logs"]["tvam"] = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
json.dump(e, open(sys.argv[3], "w"))
PY
done
untrusted "TVAM's log with an event removed" log-replay "$v/evidence-drop.json" "$nonce" "$v/manifest.json" "$v/enrolled"
# (An altered byte may break the event's structure or only its digest: the
# verdict is unknown-event or log-replay, either naming PCR 15 event #1.)
untrusted "TVAM's log with an event altered" "(log-replay|unknown-event)" "$v/evidence-alter.json" "$nonce" "$v/manifest.json" "$v/enrolled"
mkdir -p "$v/nobody"
untrusted "a quote by a key that was not enrolled" not-enrolled "$v/evidence.json" "$nonce" "$v/manifest.json" "$v/nobody"
manifest "$v/other-base.json" "sha256:$(printf 'another base image' | sha256sum | cut -d' ' -f1)" "$web_id"
untrusted "a base image not in the manifest" base-image "$v/evidence.json" "$nonce" "$v/other-base.json" "$v/enrolled"
say "PROVED: untrusted, cause named: another application image, a replayed quote, a log with an event removed or altered, a key that was not enrolled, a base image not in the manifest"

ctl stop web --force
for app in web other; do ctl remove "$app"; done
