#!/bin/bash
# tvam-policy grub-predict on the real OVMF + GRUB fixture (data/ovmf-grub):
# the printed PCRs 8 and 9 and the --output file equal the TPM's values of
# that boot; the JSON lists the events; refusals exit 2 with a reason.
set -uo pipefail
tool=${1:?usage: grub-predict.sh TVAM-POLICY FIXTURE}
fx=${2:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
tpm() { awk -v p="$1" '$1 == p && $2 == ":" { print tolower(substr($3, 3)) }' "$fx/pcrs"; }
files=()
while read -r hex path; do files+=(--file-digest "$path=$hex"); done < "$fx/files.sha256"

"$tool" grub-predict --grub-cfg "$fx/grub.cfg" "${files[@]}" --output "$tmp/expect" > "$tmp/out" 2> "$tmp/err"
check "grub-predict exits 0 ($(head -c 100 "$tmp/err"))" test $? -eq 0
check "PCR 8 = the TPM's ($(tpm 8 | head -c 16)…)" grep -qx "PCR 8: $(tpm 8)" "$tmp/out"
check "PCR 9 = the TPM's ($(tpm 9 | head -c 16)…)" grep -qx "PCR 9: $(tpm 9)" "$tmp/out"
check "--output: pcr8_sha256= and pcr9_sha256= lines" \
    test "$(cat "$tmp/expect")" = "$(printf 'pcr8_sha256=%s\npcr9_sha256=%s' "$(tpm 8)" "$(tpm 9)")"
"$tool" grub-predict --json --grub-cfg "$fx/grub.cfg" "${files[@]}" > "$tmp/json" 2>/dev/null
check "--json: entry srtm, 17 events, the kernel command line among them" \
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["entry"] == "srtm" and len(j["events"]) == 17 and j["events"][0]["data"] == "/EFI/tvam/grub.cfg" and any(e["data"].startswith("kernel_cmdline: /vmlinuz boot=tvam") for e in j["events"])' "$tmp/json"
"$tool" grub-predict --grub-cfg "$fx/grub.cfg" "${files[0]}" "${files[1]}" > /dev/null 2> "$tmp/err"
rc=$?
check "a loaded file not given: exit $rc naming it ($(cut -c 90-200 "$tmp/err"))" \
    bash -c "[ $rc -eq 2 ] && grep -q \"'/initrd.img', which is not among\" '$tmp/err'"
"$tool" grub-predict --grub-cfg "$fx/grub.cfg" "${files[@]}" --entry txt > /dev/null 2> "$tmp/err"
rc=$?
check "the txt entry (tboot): refused, not predicted (exit $rc)" bash -c "[ $rc -eq 2 ] && grep -q \"'multiboot2' is not modelled\" '$tmp/err'"
echo "1..$n"
exit $fail
