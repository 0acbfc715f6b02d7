#!/bin/bash
# lab-bios-log.sh EVENTLOG-TOOL — run inside the lab:
#   images/lab/tvam-lab run tests/attest/lab-bios-log.sh "$PWD/build/tests/attest/eventlog-tool"
# Parses the real firmware log SeaBIOS wrote (binary_bios_measurements),
# replays it, and compares with the TPM's PCRs 0-7 and with tpm2_eventlog.
set -u
tool=$1
log=/sys/kernel/security/tpm0/binary_bios_measurements
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
[ -r "$log" ] || { echo "SKIP: no $log"; exit 77; }
cp "$log" /tmp/bios.log
# keep the log and the TPM's values as a test vector (tvam-lab --results DIR)
if [ -n "${TVAM_LAB_RESULTS:-}" ]; then
    cp /tmp/bios.log "$TVAM_LAB_RESULTS/seabios.log"
    tpm2_pcrread sha1:0,1,2,3,4,5,6,7+sha256:0,1,2,3,4,5,6,7 > "$TVAM_LAB_RESULTS/seabios.pcrs" 2>&1
fi
echo "firmware log: $(stat -c %s /tmp/bios.log) bytes"
"$tool" dump /tmp/bios.log | head -40
"$tool" replay /tmp/bios.log > /tmp/ours || { echo "FAIL: our parser refused the firmware log"; exit 1; }
fail=0 n=0
for bank in sha1 sha256; do
    tpm2_pcrread "$bank:0,1,2,3,4,5,6,7" 2>/dev/null |
        awk -v b="$bank" '/0x/ { v = tolower($3); sub("0x", "", v); print b, $1, v }' > /tmp/tpm.$bank
    while read -r b pcr value; do
        ours=$(awk -v b="$b" -v p="$pcr" '$1 == b && $2 == p { print $3 }' /tmp/ours)
        [ -z "$ours" ] && continue # bank not in the log
        n=$((n + 1))
        if [ "$ours" = "$value" ]; then echo "ok   $b PCR $pcr = $value"
        else echo "FAIL $b PCR $pcr: TPM $value, our replay $ours"; fail=1; fi
    done < /tmp/tpm.$bank
done
[ "$n" -gt 0 ] || { echo "FAIL: nothing compared"; fail=1; }
tpm2_eventlog /tmp/bios.log > /tmp/yaml 2>&1 && echo "ok   tpm2_eventlog parses it too" ||
    { echo "note: tpm2_eventlog: $(tail -2 /tmp/yaml)"; }
[ $fail -eq 0 ] && echo "OK: our replay of the SeaBIOS log equals the TPM on $n PCR values"
exit $fail
