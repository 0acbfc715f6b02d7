#!/bin/bash
# Interop: our software PolicyPCR digest equals tpm2_createpolicy --policy-pcr
# for the same PCR selection and values (given values and current values).
# Usage (under with-swtpm): interop-createpolicy.sh TVAM_TPM_TOOL
set -eu
tool=$(realpath "$1")
command -v tpm2_flushcontext >/dev/null || { echo "tpm2-tools missing"; exit 77; }
# swtpm has no resource manager: sessions tpm2-tools leaves behind would
# exhaust its 3 session slots, so flush them after each tool.
flush() { tpm2_flushcontext -l >/dev/null 2>&1 || true; tpm2_flushcontext -t >/dev/null 2>&1 || true; }
command -v tpm2_createpolicy >/dev/null || { echo "tpm2-tools missing"; exit 77; }
command -v xxd >/dev/null || { echo "xxd missing"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

random_list() {
    # a random non-empty, ascending subset of 0..23 with at most MAX members
    # (tpm2_createpolicy accepts at most 8 PCRs)
    local max=$1 list="" i n=0
    while [ -z "$list" ]; do
        for i in $(seq 0 23); do
            if [ $n -lt "$max" ] && [ $((RANDOM % 4)) -eq 0 ]; then
                list="$list${list:+,}$i"
                n=$((n + 1))
            fi
        done
    done
    echo "$list"
}

checked=0
for round in $(seq 1 10); do
    list=$(random_list 8)
    n=$(echo "$list" | tr ',' '\n' | wc -l)
    head -c $((32 * n)) /dev/urandom >"$work/values"
    tpm2_createpolicy --policy-pcr -l "sha256:$list" -f "$work/values" -L "$work/policy" >/dev/null
    flush
    theirs=$(xxd -p -c 64 "$work/policy")
    ours=$("$tool" policy-pcr "$list" "$work/values")
    if [ "$theirs" != "$ours" ]; then
        echo "FAIL round $round (given values, PCRs $list): tpm2_createpolicy $theirs, ours $ours" >&2
        exit 1
    fi
    checked=$((checked + 1))
done

for round in $(seq 1 5); do
    # current values: always include PCR 16, which changes every round
    sel=$( (random_list 7 | tr ',' '\n'; echo 16) | sort -nu | paste -sd, -)
    tpm2_pcrextend "16:sha256=$(head -c 32 /dev/urandom | xxd -p -c 64)"
    tpm2_createpolicy --policy-pcr -l "sha256:$sel" -L "$work/policy" >/dev/null
    flush
    theirs=$(xxd -p -c 64 "$work/policy")
    ours=$("$tool" policy-pcr "$sel")
    if [ "$theirs" != "$ours" ]; then
        echo "FAIL round $round (current values, PCRs $sel): tpm2_createpolicy $theirs, ours $ours" >&2
        exit 1
    fi
    checked=$((checked + 1))
done
echo "$checked PolicyPCR digests equal tpm2_createpolicy's"
