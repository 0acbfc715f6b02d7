#!/bin/bash
# Proves the tpm suite's harness: the swtpm we were given answers, and it is
# fresh (PCR 16 starts at zero, so no state leaks between tests).
set -eu
command -v tpm2_pcrread >/dev/null || { echo "tpm2-tools missing"; exit 77; }

zero=0000000000000000000000000000000000000000000000000000000000000000
pcr16() { # PCR 16 in binary form, as hex (no parsing of the text output)
    tpm2_pcrread sha256:16 -o "$TVAM_TEST_SWTPM_DIR/pcr.bin" >/dev/null && xxd -p -c 64 "$TVAM_TEST_SWTPM_DIR/pcr.bin"
}
initial=$(pcr16)
if [ "$initial" != "$zero" ]; then
    echo "FAIL: PCR 16 of a fresh swtpm is '$initial', expected zero" >&2
    exit 1
fi

# Extend once and check the TPM did exactly SHA256(0^32 || digest).
digest=$(printf 'tvam' | sha256sum | cut -d' ' -f1)
tpm2_pcrextend 16:sha256="$digest"
expected=$( (printf "%064d" 0; printf '%s' "$digest") | xxd -r -p | sha256sum | cut -d' ' -f1)
after=$(pcr16)
if [ "$after" != "$expected" ]; then
    echo "FAIL: PCR 16 after one extend is $after, expected $expected" >&2
    exit 1
fi
echo "swtpm at $TVAM_TEST_TCTI is fresh and extends correctly"
