#!/bin/bash
# eventlog-interop.sh EVENTLOG-TOOL — run under tests/lib/with-swtpm.
#
# 1. Our writer appends a boot's worth of events (firmware-style and TVAM
#    EV_EVENT_TAG events) and extends a fresh swtpm with the same digests.
# 2. Our replay equals the TPM's PCRs (tpm2_pcrread), bank by bank.
# 3. tpm2_eventlog (tpm2-tools) parses the log and prints the same PCRs.
# 4. A parsed SeaBIOS/UEFI log, if the host has one, replays without error.
set -eu
tool=$1
for cmd in tpm2_eventlog tpm2_pcrread; do
    command -v "$cmd" >/dev/null || { echo "SKIP: $cmd missing (tpm2-tools)"; exit 77; }
done
[ -n "${TVAM_TEST_TCTI:-}" ] || { echo "SKIP: run under with-swtpm"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/tvam.log

"$tool" write "$log" 5
"$tool" replay "$log" > "$work/ours"
[ "$(wc -l < "$work/ours")" -eq 48 ] || { echo "FAIL: replay printed $(wc -l < "$work/ours") lines"; exit 1; }

fail=0
# (2) the TPM: tpm2_pcrread prints "  N : 0xHEX" under "sha1:" / "sha256:".
tpm2_pcrread sha1:0,1,4,7,13,14,15+sha256:0,1,4,7,13,14,15 |
    awk '/^ *sha[0-9]+:/ { bank = $1; sub(":", "", bank); next }
         /0x/ { pcr = $1; v = tolower($3); sub("0x", "", v); print bank, pcr, v }' > "$work/tpm"
[ "$(wc -l < "$work/tpm")" -eq 14 ] || { echo "FAIL: tpm2_pcrread output unexpected"; cat "$work/tpm"; exit 1; }
while read -r bank pcr value; do
    ours=$(awk -v b="$bank" -v p="$pcr" '$1 == b && $2 == p { print $3 }' "$work/ours")
    if [ "$ours" != "$value" ]; then
        echo "FAIL: $bank PCR $pcr: TPM $value, our replay $ours"; fail=1
    fi
done < "$work/tpm"

# (3) tpm2_eventlog: its "pcrs:" section lists every PCR the log extends.
tpm2_eventlog "$log" > "$work/yaml" 2> "$work/yaml.err" || {
    echo "FAIL: tpm2_eventlog refused our log:"; cat "$work/yaml.err"; exit 1; }
awk '/^pcrs:/ { on = 1; next }
     on && /^  sha[0-9]+:/ { bank = $1; sub(":", "", bank); next }
     on && /0x/ { v = tolower($3); sub("0x", "", v); print bank, $1, v }' "$work/yaml" > "$work/theirs"
n=$(wc -l < "$work/theirs")
[ "$n" -eq 22 ] || { echo "FAIL: tpm2_eventlog listed $n PCR values, expected 22 (11 PCRs x 2 banks)"; cat "$work/yaml"; exit 1; }
while read -r bank pcr value; do
    ours=$(awk -v b="$bank" -v p="$pcr" '$1 == b && $2 == p { print $3 }' "$work/ours")
    if [ "$ours" != "$value" ]; then
        echo "FAIL: $bank PCR $pcr: tpm2_eventlog $value, our replay $ours"; fail=1
    fi
done < "$work/theirs"
# tpm2_eventlog sees the TVAM events as EV_EVENT_TAG with our tag "TVAM".
[ "$(grep -c 'EventType: EV_EVENT_TAG' "$work/yaml")" -eq 8 ] || { echo "FAIL: expected 8 EV_EVENT_TAG events"; fail=1; }
grep -q 'Event: "5456414d' "$work/yaml" || { echo "FAIL: TVAM tag not in tpm2_eventlog output"; fail=1; }

# (4) a real firmware log, when this host has one (the lab under SeaBIOS does)
bios=/sys/kernel/security/tpm0/binary_bios_measurements
if [ -r "$bios" ]; then
    "$tool" replay "$bios" > /dev/null || { echo "FAIL: cannot replay $bios"; fail=1; }
fi

[ "$fail" -eq 0 ] && echo "OK: TPM, tpm2_eventlog and our replay agree on $(wc -l < "$work/tpm") TPM and $n tpm2_eventlog PCR values"
exit $fail
