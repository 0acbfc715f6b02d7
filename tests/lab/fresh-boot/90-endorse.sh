#!/bin/bash
# 90-endorse — ENDORSE / GET-ID end to end (Terra §4.3; docs/attestation.md
# "ENDORSE / GET-ID", docs/protocol.md "VM channel"), on the lab's real TPM
# (EK certificate from this boot's CA), LVM, dm-crypt, libvirt and KVM:
#   the sample VM asks tvamd over virtio-serial for its identity (GET-ID:
#   the identity tvamd measured) and for a certificate of a P-256 key it made
#   (ENDORSE); tvamd logs the issuance; the verifier enrols the AK, checks the
#   evidence, the platform key's TPM2_Certify by the AK and, in a TLS 1.3
#   handshake with the VM over its second virtio-serial port, the whole chain
#   EK CA -> AK -> platform key -> VM certificate -> identity in the signed
#   manifest; one message each way.  Then PCR 14 is extended: a fresh
#   ENDORSE (the VM renews on the verifier's request) is refused by the TPM,
#   tvamd's log names PCR 14 (the guest gets only the class of refusal),
#   and no certificate is issued.
# In the fresh boot after 80-attest (it extends PCR 14 for good, so it runs
# last); alone, it measures a base-image event first, as 80-attest does.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
LAB_VG=tvam-e
. "$TVAM_REPO/tests/lab/tvamd-lib.sh"
verify=$build/tvam/verify/tvam-verify tool=$build/tests/attest/attest-tool evtool=$build/tests/attest/eventlog-tool
ca=${TVAM_LAB_RESULTS:?}/ek-ca.pem issuer=$TVAM_LAB_RESULTS/ek-issuer.pem
[ -r "$ca" ] || fail "the lab TPM has no EK CA certificate ($ca)"
command -v tpm2_pcrextend >/dev/null || { echo "tpm2-tools missing"; exit 77; }
log=/run/tvam/measurements.log
mkdir -p /run/tvam
v=$lab/verifier app=evm
serial=$state/serial/$app.log
setup_vg
mkdir -p "$v"

# On failure keep the VM's serial log and tvamd's log (cleanup removes $lab).
fail() {
    cp "$serial" "$lab/tvamd.log" "${TVAM_LAB_RESULTS:-/tmp}/" 2>/dev/null || true
    echo "FAIL: $*" >&2
    exit 1
}
pcr14() { tpm2_pcrread sha256:14 -o "$lab/pcr14" >/dev/null && xxd -p -c 64 "$lab/pcr14"; }
# The first "TVAM-SAMPLE-VM: KEY <value>" of the VM's serial log (sed reads
# all of its input: no SIGPIPE under pipefail).
guest_said() { grep -a -o "TVAM-SAMPLE-VM: $1 [^[:space:]]*" "$serial" 2>/dev/null | sed -n '1s/.* //p'; }
wait_guest() { # PATTERN — the guest's line, or fail on its error lines
    local deadline=$((SECONDS + 300))
    while [ $SECONDS -lt $deadline ]; do
        matches -a -- "$1" < "$serial" && return 0
        if matches -a 'TVAM-SAMPLE-VM: endorse' < "$serial"; then
            fail "the VM reports: $(grep -a 'TVAM-SAMPLE-VM: endorse' "$serial")"
        fi
        sleep 1
    done
    tail -c 2000 "$serial" >&2
    fail "no '$1' from the VM within 300s"
}

# --- the platform ------------------------------------------------------------
if [ "$(pcr14)" = "$(printf '%064d' 0)" ]; then
    head -c 4M /dev/urandom > "$lab/base.squashfs"
    TVAM_TEST_TCTI=device:/dev/tpmrm0 "$tool" measure "$log" 14 base-image base-1 \
        "sha256:$(sha256sum < "$lab/base.squashfs" | cut -d' ' -f1)" > /dev/null || fail "PCR 14 event"
fi
start_tvamd
ctl import "$app" "$image" --read-only --memory 160
[ "$(ctl mode)" = application ] || [ "$(ctl mode application)" = application ] || fail "Application Mode"
lab_start "$app" -- start "$app"
[ -S "$lab/vm/$app/endorse.sock" ] && [ -S "$lab/vm/$app/tls.sock" ] ||
    fail "no channel sockets under $lab/vm/$app: $(ls -l "$lab/vm/$app" 2>&1)"
virsh dumpxml "$app" | matches "<target type='virtio' name='org.tvam.endorse.0'" || fail "no ENDORSE port in the domain"
wait_marker "$app"
app_id=$(app_identity "$app")
# A second start of the running VM is refused and leaves its live sockets
# (they were unlinked before the running check once: the channel was lost).
ino=$(stat -c %i "$lab/vm/$app/endorse.sock")
! ctl start "$app" 2> "$lab/start2.err" || fail "a second start of the running '$app' succeeded"
matches "running already" < "$lab/start2.err" || fail "second start: $(cat "$lab/start2.err")"
[ -S "$lab/vm/$app/endorse.sock" ] && [ -S "$lab/vm/$app/tls.sock" ] &&
    [ "$(stat -c %i "$lab/vm/$app/endorse.sock")" = "$ino" ] ||
    fail "a refused start of the running '$app' removed its channel sockets"

# --- GET-ID and ENDORSE, from inside the VM ----------------------------------
wait_guest 'TVAM-SAMPLE-VM: certificate [0-9a-f]\{64\}'
got_id=$(guest_said identity) fp=$(guest_said certificate)
[ "$got_id" = "$app_id" ] || fail "GET-ID gave the VM '$got_id', tvamd measured '$app_id'"
say "PROVED: GET-ID: the VM learnt its identity from tvamd over virtio-serial: $got_id (= tvamctl list)"
matches "VM '$app': ENDORSE issued certificate serial [0-9A-F]*, subject CN=$app, identity $app_id, sha256 $fp" \
    < "$lab/tvamd.log" || fail "tvamd did not log the issuance: $(grep -a ENDORSE "$lab/tvamd.log")"
matches "\"event\":\"endorse\",\"name\":\"$app\",\"identity\":\"$app_id\",\"serial\":\"[0-9A-F]*\",\"sha256\":\"$fp\"" \
    < "$state/measurements.jsonl" || fail "no endorse event in the audit log"
issued=$(grep -c 'ENDORSE issued' "$lab/tvamd.log")
say "PROVED: ENDORSE: the VM's CSR was checked and the platform key issued its certificate (sha256 $fp); tvamd logged identity, subject and serial: $(grep -a -o 'ENDORSE issued.*' "$lab/tvamd.log")"

# --- the verifier: enrolment, manifest, evidence, platform key, TLS ---------
ctl enrol request --out "$v/request.json"
"$verify" enrol-challenge --ca "$ca" --intermediate "$issuer" --request "$v/request.json" \
    --challenge "$v/challenge.json" --pending "$v/pending.json"
ctl enrol answer "$v/challenge.json" --out "$v/answer.json"
"$verify" enrol-complete --pending "$v/pending.json" --response "$v/answer.json" --enrolled "$v/enrolled" > /dev/null
# The administrator's manifest: this boot's base image and every application
# measured in it (80-attest's too, when it ran before), ours among them.
"$evtool" dump "$log" > "$v/events.txt"
python3 - "$v/events.txt" "$v/manifest.json" "$app_id" <<'PY'
import json, re, sys
base, apps = [], []
for line in open(sys.argv[1]):
    m = re.search(r" tvam (base-image|application) name=(\S*) identity=(\S+)$", line.strip())
    if not m: continue
    entry = {"name": m.group(2), "identity": m.group(3)}
    target = base if m.group(1) == "base-image" else apps
    if entry not in target: target.append(entry)
assert any(a["identity"] == sys.argv[3] for a in apps), "our application is not in the log"
json.dump({"version": 1, "base_images": base, "applications": apps, "mode": "application"}, open(sys.argv[2], "w"))
PY
openssl ecparam -name prime256v1 -genkey -noout -out "$v/admin.key" 2>/dev/null
openssl ec -in "$v/admin.key" -pubout -out "$v/admin.pem" 2>/dev/null
openssl dgst -sha256 -sign "$v/admin.key" -out "$v/manifest.json.sig" "$v/manifest.json"
nonce=$(openssl rand -hex 20)
ctl attest --nonce "$nonce" --out "$v/evidence.json"
ctl platform-key --nonce "$nonce" --out "$v/certify.json"
chain=(--enrolled "$v/enrolled" --nonce "$nonce" --manifest "$v/manifest.json" --admin-key "$v/admin.pem"
       --evidence "$v/evidence.json" --socket "$lab/vm/$app/tls.sock")
printf "hello from the lab verifier\n" > "$v/hello.msg"; printf renew > "$v/renew.msg"
out=$("$verify" tls-connect "${chain[@]}" --certify "$v/certify.json" --message-file "$v/hello.msg") || fail "tls-connect: $out"
say "$out"
matches -F "trusted: TLS 1.3 peer $app_id (certificate sha256 $fp) chains EK CA -> AK -> platform key -> VM certificate -> reference manifest" <<< "$out" ||
    fail "the verifier did not accept the VM's certificate $fp"
matches -F "received: hello verifier, this is $app_id" <<< "$out" || fail "no reply over TLS: $out"
wait_guest 'TVAM-SAMPLE-VM: tls: received "hello from the lab verifier" in a TLS 1.3 session'
say "PROVED: the verifier accepted the chain EK CA -> AK (credential activation) -> platform key (TPM2_Certify by the AK, PolicyPCR = attested values) -> VM certificate -> identity in the signed manifest, inside a TLS 1.3 handshake with the VM; one message each way"

# A certification from another nonce (a replayed one) is refused before any TLS.
ctl platform-key --nonce "$(openssl rand -hex 20)" --out "$v/certify-other.json"
set +e
out=$("$verify" tls-connect "${chain[@]}" --certify "$v/certify-other.json"); s=$?
set -e
[ $s -eq 1 ] && matches "untrusted: platform key" <<< "$out" || fail "a certification over another nonce: ($s) $out"
say "refused as expected: $out"

# --- PCR 14 leaves the trusted state: a fresh ENDORSE is refused -------------
tpm2_pcrextend "14:sha256=$(printf 'a base image nobody trusts' | sha256sum | cut -d' ' -f1)"
out=$("$verify" tls-connect "${chain[@]}" --certify "$v/certify.json" --message-file "$v/renew.msg") || fail "tls-connect (renew): $out"
say "$out"
# The guest gets the fixed reason of the class; the detail (PCR 14) stays in
# tvamd's log.
matches "received: refused: refused: platform not in its trusted state" <<< "$out" ||
    fail "the renewal was not refused for the platform's state: $out"
matches -a "TVAM-SAMPLE-VM: endorse refused: refused: platform not in its trusted state" < "$serial" ||
    fail "the VM did not report the refusal"
! matches -a "TVAM-SAMPLE-VM: endorse refused:.*PCR" < "$serial" || fail "the guest was told tvamd's detail"
matches "VM '$app': ENDORSE refused: the TPM refused to sign: PCR 14" < "$lab/tvamd.log" || fail "tvamd did not log the refusal"
matches "\"event\":\"endorse-refused\",\"name\":\"$app\"" < "$state/measurements.jsonl" || fail "refusal not in the audit log"
[ "$(grep -c 'ENDORSE issued' "$lab/tvamd.log")" = "$issued" ] || fail "a certificate was issued after PCR 14 changed"
say "PROVED: after PCR 14 was extended the TPM refused the platform key's signature: the VM's fresh ENDORSE was refused (platform not in its trusted state), tvamd logged the refusal naming PCR 14, and no certificate was issued"

ctl stop "$app" --force
ctl remove "$app"
