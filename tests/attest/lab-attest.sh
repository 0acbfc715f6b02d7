#!/bin/bash
# lab-attest.sh BUILD-DIR — run inside the lab (real kernel, SeaBIOS, swtpm
# on tpm-tis):
#   images/lab/tvam-lab run tests/attest/lab-attest.sh "$PWD/build"
# Attest the lab machine with its real firmware log and verify: trusted.
# The evidence's firmware log (binary_bios_measurements) replays to the
# quoted PCR 0-7; TVAM's log to 13-15.  Then a firmware log with one event
# removed is named.  The lab's swtpm has no EK certificate, so the AK is
# recorded directly (attest-tool ak-record) instead of enrolled — the
# enrolment itself is tested against swtpm_localca in attest-enrol/-verify.
set -u
build=$1
tool=$build/tests/attest/attest-tool evtool=$build/tests/attest/eventlog-tool verify=$build/tvam/verify/tvam-verify
bios=/sys/kernel/security/tpm0/binary_bios_measurements
[ -r "$bios" ] || { echo "SKIP: no $bios"; exit 77; }
export TVAM_TEST_TCTI=device:/dev/tpmrm0 TPM2TOOLS_TCTI=device:/dev/tpmrm0
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
die() { echo "FAIL: $*"; exit 1; }

openssl ecparam -name prime256v1 -genkey -noout -out "$w/admin.key" 2>/dev/null || die "admin key"
openssl ec -in "$w/admin.key" -pubout -out "$w/admin.pem" 2>/dev/null || die "admin public key"
base_id="verity:$(printf '1%.0s' $(seq 64))"
web_id="verity:$(printf 'ab%.0s' $(seq 32))"
cat > "$w/manifest.json" <<EOM
{ "version": 1,
  "base_images": [ { "name": "base-1", "identity": "$base_id" } ],
  "applications": [ { "name": "web", "identity": "$web_id" } ],
  "mode": "application" }
EOM
openssl dgst -sha256 -sign "$w/admin.key" -out "$w/manifest.json.sig" "$w/manifest.json" || die "sign"

mkdir -p "$w/platform" "$w/enrolled"
"$tool" ak-record "$w/platform" "$w/enrolled/ak.json" || die "ak-record"
log=$w/platform/tvam.log
"$tool" measure "$log" 14 base-image base-1 "$base_id" || die "measure"
"$tool" measure "$log" 15 mode application-mode tvam:mode:application || die "measure"
"$tool" measure "$log" 13 application web "$web_id" || die "measure"
cp "$bios" "$w/bios.log"
nonce=$(openssl rand -hex 20)
t0=$(date +%s%N)
"$tool" evidence "$w/platform" "$nonce" 0,1,2,3,4,5,6,7,13,14,15 "$log" "$w/bios.log" "$w/evidence.json" || die "evidence"
t1=$(date +%s%N)
echo "evidence (quote on the lab TPM + logs): $(( (t1 - t0) / 1000000 )) ms, $(stat -c %s "$w/evidence.json") bytes"
v() { "$verify" verify --enrolled "$w/enrolled" --nonce "$nonce" --manifest "$w/manifest.json" \
        --admin-key "$w/admin.pem" --evidence "$1" --json; }
out=$(v "$w/evidence.json"); status=$?
echo "$out"
[ $status -eq 0 ] || die "the lab machine is not trusted"
echo "ok   lab machine trusted: firmware log replays to the quoted PCR 0-7, TVAM log to 13-15"

"$evtool" drop "$w/bios.log" 2 "$w/bios-dropped.log" || die "drop"
"$tool" evidence "$w/platform" "$nonce" 0,1,2,3,4,5,6,7,13,14,15 "$log" "$w/bios-dropped.log" "$w/ev2.json" || die "evidence"
out=$(v "$w/ev2.json"); status=$?
echo "$out"
if [ $status -eq 1 ] && echo "$out" | grep -q '"log":"firmware"'; then
    echo "ok   firmware log with an event removed: untrusted, named"
else
    die "a firmware log with an event removed was not named"
fi
