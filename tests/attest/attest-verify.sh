#!/bin/bash
# attest-verify.sh ATTEST-TOOL EVENTLOG-TOOL TVAM-VERIFY
# Run under TVAM_SWTPM_EK_CERT=1 tests/lib/with-swtpm (a TPM with an EK
# certificate from swtpm_localca).
#
# Enrol the AK (EK chain + credential activation), measure a base image,
# the mode switch and an application the way the platform does, attest,
# verify: trusted.  Then each tamper must make tvam-verify say untrusted and
# name the cause (issue 7 "Done when"), and tpm2_checkquote must accept our
# quote, signature and PCRs.
set -u
tool=$1 evtool=$2 verify=$3

for cmd in openssl tpm2_checkquote; do
    command -v "$cmd" >/dev/null || { echo "SKIP: $cmd missing"; exit 77; }
done
[ -n "${TVAM_TEST_EK_CA:-}" ] || { echo "SKIP: needs TVAM_SWTPM_EK_CERT=1 with-swtpm"; exit 77; }

w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
fail=0
die() { echo "FAIL: $*"; exit 1; }

# ---- administrator: signing key and reference manifest -----------------
openssl ecparam -name prime256v1 -genkey -noout -out "$w/admin.key" 2>/dev/null || die "admin key"
openssl ec -in "$w/admin.key" -pubout -out "$w/admin.pem" 2>/dev/null || die "admin public key"
base_id="verity:$(printf '1%.0s' $(seq 64))"
web_id="verity:$(printf 'ab%.0s' $(seq 32))"
web_cfg=$(printf '11%.0s' $(seq 32))
zero=$(printf '00%.0s' $(seq 32))
manifest() { # $1 file, $2 base identity
    cat > "$1" <<EOF
{
  "version": 1,
  "base_images": [ { "name": "base-1", "identity": "$2" } ],
  "applications": [ { "name": "web", "identity": "$web_id", "config": "$web_cfg" } ],
  "mode": "application",
  "launch_pcrs": { "0": [ "$zero" ] }
}
EOF
    openssl dgst -sha256 -sign "$w/admin.key" -out "$1.sig" "$1" || die "signing $1"
}
manifest "$w/manifest.json" "$base_id"

# ---- enrolment ------------------------------------------------------------
mkdir -p "$w/platform" "$w/enrolled"
"$tool" enrol-request "$w/platform" "$w/request.json" || die "enrol-request"
"$verify" enrol-challenge --ca "$TVAM_TEST_EK_CA" --intermediate "$TVAM_TEST_EK_ISSUER" \
    --request "$w/request.json" --challenge "$w/challenge.json" --pending "$w/pending.json" || die "enrol-challenge"
"$tool" enrol-answer "$w/platform" "$w/challenge.json" "$w/answer.json" || die "enrol-answer"
"$verify" enrol-complete --pending "$w/pending.json" --response "$w/answer.json" --enrolled "$w/enrolled" ||
    die "enrol-complete"

# ---- the platform boots and runs (initramfs: PCR 14, tvamd: 15 and 13) ----
log=$w/platform/tvam.log
"$tool" measure "$log" 14 base-image base-1 "$base_id" || die "measure base"
"$tool" measure "$log" 15 mode application-mode tvam:mode:application || die "measure mode"
"$tool" measure "$log" 13 application web "$web_id" "$web_cfg" || die "measure web"

pcrs=0,1,2,3,4,5,6,7,13,14,15
nonce=$(openssl rand -hex 20)
"$tool" evidence "$w/platform" "$nonce" "$pcrs" "$log" - "$w/evidence.json" || die "evidence"

v() { # verify EVIDENCE NONCE [MANIFEST] -> prints the verdict, returns the exit status
    "$verify" verify --enrolled "$w/enrolled" --nonce "$2" --manifest "${3:-$w/manifest.json}" \
        --admin-key "$w/admin.pem" --evidence "$1" --json
}
expect() { # NAME EXPECTED-CAUSE EVIDENCE NONCE [MANIFEST]
    local name=$1 cause=$2 out status
    shift 2
    out=$(v "$@"); status=$?
    if [ "$cause" = trusted ]; then
        if [ $status -eq 0 ] && echo "$out" | grep -Eq '"verdict": ?"trusted"'; then
            echo "ok   $name: trusted"
        else
            echo "FAIL $name: expected trusted, got (exit $status) $out"; fail=1
        fi
        return
    fi
    if [ $status -eq 1 ] && echo "$out" | grep -Eq "\"cause\": ?\"$cause\""; then
        echo "ok   $name: untrusted ($cause): $(echo "$out" | sed -n 's/.*"message": *"\(.*\)",*$/\1/p')"
    else
        echo "FAIL $name: expected untrusted/$cause, got (exit $status) $out"; fail=1
    fi
}

expect "genuine evidence" trusted "$w/evidence.json" "$nonce"
# the human-readable verdict too
"$verify" verify --enrolled "$w/enrolled" --nonce "$nonce" --manifest "$w/manifest.json" \
    --admin-key "$w/admin.pem" --evidence "$w/evidence.json" | grep -q '^trusted: ' ||
    { echo "FAIL: plain output"; fail=1; }

# ---- interop: tpm2_checkquote accepts our quote, signature and PCRs --------
# (1) our PCR values are the TPM's, byte for byte (tpm2_pcrread -F values);
# (2) tpm2_checkquote accepts our attest blob, TPMT_SIGNATURE and AK key with
#     tpm2_pcrread's serialized PCR file for all 11 PCRs; (3) and with our own
#     PCR file for a quote of PCRs 13-15 (tpm2-tools 5.4 mis-reads more than
#     7 PCRs given as raw values with -l, so (2) uses its own format).
"$verify" export-quote --evidence "$w/evidence.json" --dir "$w/q" || die "export-quote"
tpm2_pcrread -Q -F values -o "$w/q/tpm-pcrs.bin" "$(cat "$w/q/pcr-list")" || die "tpm2_pcrread"
tpm2_pcrread -Q -F serialized -o "$w/q/tpm-pcrs.ser" "$(cat "$w/q/pcr-list")" || die "tpm2_pcrread"
if cmp -s "$w/q/pcrs.bin" "$w/q/tpm-pcrs.bin"; then
    echo "ok   the evidence's PCR values are tpm2_pcrread's"
else
    echo "FAIL the evidence's PCR values differ from tpm2_pcrread's"; fail=1
fi
checkquote() { # DIR PCR-FILE [-l LIST] [NONCE-PREFIX]
    local d=$1 f=$2 prefix=${4:-}
    local list=()
    [ -n "${3:-}" ] && list=(-l "$3")
    tpm2_checkquote -u "$d/ak.pem" -m "$d/attest.bin" -s "$d/signature.bin" -f "$f" "${list[@]}" \
        -q "$prefix$(cat "$d/nonce")" -g sha256 >"$w/cq.out" 2>&1
}
if checkquote "$w/q" "$w/q/tpm-pcrs.ser"; then
    echo "ok   tpm2_checkquote accepts our quote and signature (PCRs $(cat "$w/q/pcr-list"))"
else
    echo "FAIL tpm2_checkquote refused our quote:"; cat "$w/cq.out"; fail=1
fi
# it refuses a wrong nonce, so the acceptance above means something
checkquote "$w/q" "$w/q/tpm-pcrs.ser" "" 00 && { echo "FAIL tpm2_checkquote accepted a wrong nonce"; fail=1; }
"$tool" evidence "$w/platform" "$nonce" 13,14,15 "$log" - "$w/ev-3.json" || die "evidence"
"$verify" export-quote --evidence "$w/ev-3.json" --dir "$w/q3" || die "export-quote"
if checkquote "$w/q3" "$w/q3/pcrs.bin" "$(cat "$w/q3/pcr-list")"; then
    echo "ok   tpm2_checkquote accepts our quote, signature and PCR values (PCRs 13-15)"
else
    echo "FAIL tpm2_checkquote refused our PCR values:"; cat "$w/cq.out"; fail=1
fi

# ---- ENDORSE: a VM key certified with its identity; the whole chain ------
"$tool" platform-key "$w/platform" 0,1,2,3,4,5,6,7,14,15 || die "platform-key"
"$tool" certify "$w/platform" "$nonce" "$w/certify.json" || die "certify"
openssl ecparam -name prime256v1 -genkey -noout -out "$w/vm.key" 2>/dev/null || die "VM key"
openssl ec -in "$w/vm.key" -pubout -outform DER -out "$w/vm.spki" 2>/dev/null || die "VM public key"
"$tool" endorse "$w/platform" "$w/vm.spki" web "$web_id" "$w/vm.crt" || die "endorse"
openssl x509 -inform DER -in "$w/vm.crt" -noout -text > "$w/vm.txt" || die "openssl cannot read the VM certificate"
grep -q "2.25.41370650785628153028835963525267533277" "$w/vm.txt" || { echo "FAIL identity extension missing"; fail=1; }
vcert() { # certify-file cert-file -> verdict
    "$verify" verify-vm-cert --enrolled "$w/enrolled" --nonce "$nonce" --manifest "$w/manifest.json" \
        --admin-key "$w/admin.pem" --evidence "$w/evidence.json" --certify "$1" --cert "$2" --json
}
out=$(vcert "$w/certify.json" "$w/vm.crt"); status=$?
if [ $status -eq 0 ] && echo "$out" | grep -q "chains EK CA"; then
    echo "ok   VM certificate: chain EK CA -> AK -> platform key -> VM -> manifest identity verified"
else
    echo "FAIL VM certificate chain: (exit $status) $out"; fail=1
fi
"$tool" endorse "$w/platform" "$w/vm.spki" evil "verity:$(printf 'ef%.0s' $(seq 32))" "$w/evil.crt" || die "endorse"
out=$(vcert "$w/certify.json" "$w/evil.crt"); status=$?
if [ $status -eq 1 ] && echo "$out" | grep -Eq '"cause": ?"vm-certificate"'; then
    echo "ok   VM certificate for an identity not in the manifest: untrusted (vm-certificate)"
else
    echo "FAIL VM certificate with a foreign identity: (exit $status) $out"; fail=1
fi

# ---- each tamper is refused and named ------------------------------------
# a replayed old quote: the verifier asks with a fresh nonce
expect "replayed quote" nonce "$w/evidence.json" "$(openssl rand -hex 20)"

# a log with one event removed (the mode switch, event #1)
"$evtool" drop "$log" 1 "$w/dropped.log" || die "drop"
"$tool" evidence "$w/platform" "$nonce" "$pcrs" "$w/dropped.log" - "$w/ev-dropped.json" || die "evidence"
expect "log with an event removed" log-replay "$w/ev-dropped.json" "$nonce"

# a log with one event's data altered (digest kept): the application event
"$evtool" alter "$log" 2 "$w/altered.log" || die "alter"
"$tool" evidence "$w/platform" "$nonce" "$pcrs" "$w/altered.log" - "$w/ev-altered.json" || die "evidence"
expect "log with an event altered" log-replay "$w/ev-altered.json" "$nonce"

# PCR values that are not the quoted ones
pcr13=$(sed -n 's/.*"13": *"\([0-9a-f]*\)".*/\1/p' "$w/evidence.json")
[ -n "$pcr13" ] || die "no PCR 13 in the evidence"
sed "s/$pcr13/$zero/" "$w/evidence.json" > "$w/ev-pcr.json"
expect "PCR value changed in the evidence" pcr-digest "$w/ev-pcr.json" "$nonce"

# a quote signed by a key that was not enrolled (a second AK of the same TPM)
mkdir -p "$w/other"
"$tool" evidence "$w/other" "$nonce" "$pcrs" "$log" - "$w/ev-other.json" || die "evidence (other AK)"
expect "quote by a non-enrolled AK" not-enrolled "$w/ev-other.json" "$nonce"

# a base image not in the manifest
manifest "$w/manifest-base2.json" "verity:$(printf '2%.0s' $(seq 64))"
expect "base image not in the manifest" base-image "$w/evidence.json" "$nonce" "$w/manifest-base2.json"

# a manifest not signed by the administrator is refused before anything else
cp "$w/manifest.json" "$w/manifest-bad.json"
sed 's/"web"/"wex"/' "$w/manifest.json" > "$w/manifest-bad.json"
cp "$w/manifest.json.sig" "$w/manifest-bad.json.sig"
v "$w/evidence.json" "$nonce" "$w/manifest-bad.json" >/dev/null 2>"$w/bad.err"
[ $? -eq 2 ] && grep -q "not signed by the administrator" "$w/bad.err" && echo "ok   unsigned manifest refused" ||
    { echo "FAIL unsigned manifest"; cat "$w/bad.err"; fail=1; }

# a different application image starts on the platform (last: it changes PCR 13)
"$tool" measure "$log" 13 application web "verity:$(printf 'cd%.0s' $(seq 32))" "$web_cfg" || die "measure"
nonce=$(openssl rand -hex 20)
"$tool" evidence "$w/platform" "$nonce" "$pcrs" "$log" - "$w/ev-app.json" || die "evidence"
expect "different application image" application "$w/ev-app.json" "$nonce"

# a certificate requested after a PCR 14 change is not issued
"$tool" measure "$log" 14 base-image base-2 "verity:$(printf '2%.0s' $(seq 64))" || die "measure"
if "$tool" endorse "$w/platform" "$w/vm.spki" web "$web_id" "$w/late.crt" 2>"$w/late.err"; then
    echo "FAIL a VM certificate was issued after PCR 14 changed"; fail=1
else
    echo "ok   no VM certificate after PCR 14 changed: $(cat "$w/late.err")"
fi

# tls-connect takes its message from a file only: --message (a possible
# secret in argv) is refused without echoing its value.
if "$verify" tls-connect --message "not-in-any-log-$$" > "$w/msg.out" 2>&1; then
    echo "FAIL tls-connect accepted --message"; fail=1
elif grep -q "not-in-any-log" "$w/msg.out" || ! grep -q -- "--message-file" "$w/msg.out"; then
    echo "FAIL tls-connect --message: $(cat "$w/msg.out")"; fail=1
else
    echo "ok   tls-connect refuses --message: $(cat "$w/msg.out")"
fi

exit $fail
