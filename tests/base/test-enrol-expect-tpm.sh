#!/bin/bash
# First-boot enrolment against the build-time prediction of GRUB's PCRs 8
# and 9 (run under tests/lib/with-swtpm): the swtpm's PCRs 8/9 are extended
# with the events tvam-policy grub-predict predicts for the real OVMF + GRUB
# fixture (tests/policy/data/ovmf-grub), as GRUB would; then
#   a wrong prediction (PCR 9, PCR 8) or a malformed one is refused, naming
#   the PCR, the expected and the observed value: the token is unchanged,
#   nothing sealed, the key file kept;
#   the prediction grub-predict wrote (--output) is accepted: enrolled, the
#   key unseals, key and prediction files removed.
set -uo pipefail
helper=${1:?usage: test-enrol-expect-tpm.sh TVAM-INITRAMFS TVAM-POLICY FIXTURE}
policy=${2:?} fx=${3:?}
: "${TVAM_TEST_TCTI:?run under with-swtpm}"
for tool in tpm2_pcrextend tpm2_pcrread python3 cryptsetup; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
export TPM2TOOLS_TCTI=$TVAM_TEST_TCTI
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
t() { "$helper" --tcti "$TVAM_TEST_TCTI" "$@"; }
pcr() { tpm2_pcrread "sha256:$1" -o "$tmp/pcr.bin" >/dev/null && xxd -p -c 256 "$tmp/pcr.bin"; }
header() { head -c 16777216 "$tmp/base.img" | sha256sum | cut -d' ' -f1; }

# The prediction and the events GRUB would measure, from the fixture.
files=()
while read -r hex path; do files+=(--file-digest "$path=$hex"); done < "$fx/files.sha256"
"$policy" grub-predict --json --grub-cfg "$fx/grub.cfg" "${files[@]}" --output "$tmp/good.expect" > "$tmp/events.json" ||
    { no "grub-predict on the fixture"; echo "1..$n"; exit 1; }
check "the prediction names PCRs 8 and 9" test "$(cut -d= -f1 "$tmp/good.expect" | tr '\n' ' ')" = "pcr8_sha256 pcr9_sha256 "

# The installer: base-N's key sealed to a state this machine is not in.
truncate -s 24M "$tmp/base.img"
t format --pcrs 16 --enrol-key "$tmp/enrol.key" "$tmp/base.img" 2> "$tmp/err" || no "format"
tpm2_pcrextend "16:sha256=$(printf '%064d' 7)" >/dev/null
key_sha=$(sha256sum < "$tmp/enrol.key")
# GRUB's boot: every predicted event extended in order.
python3 -c 'import json,sys; [print(e["pcr"], e["digest"]) for e in json.load(open(sys.argv[1]))["events"]]' "$tmp/events.json" |
    while read -r p d; do tpm2_pcrextend "$p:sha256=$d" >/dev/null || exit 1; done
check "swtpm PCR 8 = predicted after GRUB's events" grep -qx "pcr8_sha256=$(pcr 8)" "$tmp/good.expect"
check "swtpm PCR 9 = predicted" grep -qx "pcr9_sha256=$(pcr 9)" "$tmp/good.expect"

refused() { # NAME EXPECTFILE PATTERN: enrol refused, nothing changed
    local before=$(header) rc
    t enrol --pcrs 8,9,16 "$tmp/base.img" "$tmp/enrol.key" "$2" 2> "$tmp/err"; rc=$?
    check "$1: refused (exit $rc): $(head -c 240 "$tmp/err")" bash -c "[ $rc -eq 1 ] && grep -qE '$3' '$tmp/err'"
    check "$1: the token is unchanged (LUKS2 header identical)" test "$(header)" = "$before"
    check "$1: the key file is kept, unchanged" test "$(sha256sum < "$tmp/enrol.key" 2>/dev/null)" = "$key_sha"
    t unlock "$tmp/base.img" 2>/dev/null
    check "$1: nothing sealed here (the installer's token still does not unseal)" test $? -eq 1
}
sed "s/^pcr9_sha256=.*/pcr9_sha256=$(printf '%064d' 9)/" "$tmp/good.expect" > "$tmp/bad9.expect"
refused "wrong PCR 9 prediction" "$tmp/bad9.expect" \
    "PCR 9 differs from the build-time prediction .*: expected $(printf '%064d' 9), the TPM has $(pcr 9)"
sed "s/^pcr8_sha256=.*/pcr8_sha256=$(printf '%064d' 8)/" "$tmp/good.expect" > "$tmp/bad8.expect"
refused "wrong PCR 8 prediction" "$tmp/bad8.expect" \
    "PCR 8 differs from the build-time prediction .*: expected $(printf '%064d' 8), the TPM has $(pcr 8)"
printf 'pcr8_sha256=abc\n' > "$tmp/malformed.expect"
refused "malformed prediction" "$tmp/malformed.expect" "is malformed"
refused "missing prediction file" "$tmp/none.expect" "Cannot read the PCR prediction"

cp "$tmp/good.expect" "$tmp/base-1.expect"
t enrol --pcrs 8,9,16 "$tmp/base.img" "$tmp/enrol.key" "$tmp/base-1.expect" 2> "$tmp/err"
rc=$?
check "the build-time prediction: enrolled (exit $rc)" test "$rc" -eq 0
check "... saying the PCRs were checked ($(grep -m1 'prediction' "$tmp/err"))" \
    grep -q "PCRs 8, 9 equal the build-time prediction ($tmp/base-1.expect): checked before sealing" "$tmp/err"
check "the key file and the prediction are gone" bash -c "[ ! -e '$tmp/enrol.key' ] && [ ! -e '$tmp/base-1.expect' ]"
t unlock "$tmp/base.img" 2> "$tmp/err"
check "the key unseals from this machine's PCRs 8, 9, 16" test $? -eq 0
echo "1..$n"
exit $fail
