#!/bin/bash
# Lab check (run inside the lab: images/lab/tvam-lab run tests/policy/lab-srtm-firmware.sh BUILD):
# the srtm replay of the real firmware event log (SeaBIOS on swtpm's tpm-tis,
# /sys/kernel/security/tpm0/binary_bios_measurements) equals the TPM's PCRs
# 0-7, and a substitution that matches nothing is refused.
set -euo pipefail
build=$(realpath "${1:?usage: lab-srtm-firmware.sh BUILD_DIR}")
policy=$build/policy/tools/tvam-policy
log=/sys/kernel/security/tpm0/binary_bios_measurements
modprobe tpm_tis 2>/dev/null || true
[ -r "$log" ] || { echo "SKIP: no firmware event log at $log"; exit 77; }
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
"$policy" predict --profile srtm --eventlog "$log" --pcrs 0,1,2,3,4,5,6,7 --json > predicted.json
ok=0
for p in 0 1 2 3 4 5 6 7; do
    want=$(jq -r ".pcrs[\"$p\"]" predicted.json)
    have=$(tpm2_pcrread "sha256:$p" | awk -F'0x' '/:/ && NF > 1 {print tolower($2)}' | tr -d ' ')
    if [ "$want" = "$have" ]; then echo "PCR $p = $have (replay = TPM)"; else echo "FAIL: PCR $p replay $want, TPM $have"; ok=1; fi
done
if "$policy" predict --profile srtm --eventlog "$log" --substitute-string "9:/boot/none=x" >/dev/null 2>&1; then
    echo "FAIL: unmatched substitution accepted"; ok=1
fi
[ $ok = 0 ] && echo "PASS: srtm replay of the firmware log equals the TPM (PCRs 0-7)"
exit $ok
