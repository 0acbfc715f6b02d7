#!/bin/bash
# Interop: a blob sealed by tvam/tpm unseals with tpm2_unseal and a PCR
# policy session; an object sealed by tpm2_create unseals with tvam/tpm; and
# after a PCR changes, both refuse.
# Usage (under with-swtpm): interop-unseal.sh TVAM_TPM_TOOL
set -eu
tool=$(realpath "$1")
command -v tpm2_flushcontext >/dev/null || { echo "tpm2-tools missing"; exit 77; }
# swtpm has no resource manager: sessions tpm2-tools leaves behind would
# exhaust its 3 session slots, so flush them after each tool.
flush() { tpm2_flushcontext -l >/dev/null 2>&1 || true; tpm2_flushcontext -t >/dev/null 2>&1 || true; }
for t in tpm2_load tpm2_unseal tpm2_create tpm2_createpolicy tpm2_pcrextend xxd cmp; do
    command -v $t >/dev/null || { echo "$t missing"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pcrs=0,7,16

"$tool" provision
head -c 32 /dev/urandom >secret1
head -c 48 /dev/urandom >secret2

# 1. ours → tpm2_unseal
"$tool" seal $pcrs secret1 blob1
"$tool" export blob1 obj1.pub obj1.priv
tpm2_load -C 0x81000001 -u obj1.pub -r obj1.priv -c obj1.ctx >/dev/null
flush
tpm2_unseal -c obj1.ctx -p "pcr:sha256:$pcrs" -o out1
flush
cmp secret1 out1
echo "tvam blob unsealed by tpm2_unseal"

# 2. tpm2_create → ours
tpm2_createpolicy --policy-pcr -l "sha256:$pcrs" -L pcr.policy >/dev/null
flush
tpm2_create -C 0x81000001 -L pcr.policy -a "fixedtpm|fixedparent|noda" -i secret2 \
    -u obj2.pub -r obj2.priv >/dev/null
flush
"$tool" import $pcrs obj2.pub obj2.priv blob2
"$tool" unseal blob2 out2
cmp secret2 out2
echo "tpm2_create object unsealed by tvam"

# 3. a PCR changes: both sides refuse.
tpm2_pcrextend "16:sha256=$(head -c 32 /dev/urandom | xxd -p -c 64)"
if tpm2_unseal -c obj1.ctx -p "pcr:sha256:$pcrs" -o out3 2>/dev/null; then
    echo "FAIL: tpm2_unseal succeeded after PCR 16 changed" >&2
    exit 1
fi
rc=0
"$tool" unseal blob2 out4 2>err || rc=$?
if [ $rc -ne 3 ]; then
    echo "FAIL: tvam unseal after PCR 16 changed exited $rc, expected 3 (policy refusal)" >&2
    cat err >&2
    exit 1
fi
grep -q "PCR 16 differs" err || { echo "FAIL: refusal does not name PCR 16:" >&2; cat err >&2; exit 1; }
echo "both refuse after PCR 16 changed: $(cat err)"
