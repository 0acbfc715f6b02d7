#!/bin/bash
# DRTM emulation against swtpm (suite tpm, run under tests/lib/with-swtpm):
# the measured launch of Debian's real tboot.gz with a kernel and an initrd
# is replayed on swtpm — `swtpm_ioctl -h` as the SINIT stand-in, then the
# locality-2 extends exactly as tboot 1.10.5 does them — and the TPM's PCRs
# 17/18/19 must equal `tvam-policy predict`.
#
# The emulation is computed independently of tvam-policy: the VLP comes
# from tb_polgen, the MLE hash from lcp2_mlehash, the other digests from
# sha256sum (tboot/common/policy.c: verify_g_policy, hash_module).
#
#   1. kernel A: predicted == observed
#   2. kernel B (update): predicted before the "reboot" == observed after
#   3. a wrong kernel under a nonfatal VLP: diagnose names PCR 18 and the
#      kernel; a halt VLP makes predict refuse a kernel it does not allow
set -euo pipefail
policy=$(realpath "${1:?usage: drtm-emulation.sh TVAM_POLICY DRTM_HELPER}")
helper=$(realpath "${2:?usage: drtm-emulation.sh TVAM_POLICY DRTM_HELPER}")
tboot=${TVAM_TEST_TBOOT:-/boot/tboot.gz}
for tool in tb_polgen lcp2_mlehash swtpm_ioctl jq xxd sha256sum; do
    command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -r "$tboot" ] || { echo "SKIP: $tboot missing (package tboot)"; exit 77; }
[ -n "${TVAM_TEST_SWTPM_CTRL:-}" ] || { echo "SKIP: run under tests/lib/with-swtpm"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# A real kernel when one is at hand (the lab's, or the host's), else a
# generated image: tboot measures bytes, it does not look inside.
kernel_src=$(ls "${MESON_SOURCE_ROOT:-/nonexistent}"/.cache/kernel/*/boot/vmlinuz-* /boot/vmlinuz-* 2>/dev/null | head -1 || true)
if [ -n "$kernel_src" ]; then cp "$kernel_src" kernelA; echo "kernel A: $kernel_src"
else head -c 3000000 /dev/urandom > kernelA; echo "kernel A: generated"; fi
{ cat kernelA; echo "update"; } > kernelB          # the "next" kernel
head -c 2000000 /dev/urandom > kernelW             # a wrong kernel
head -c 1500000 /dev/urandom > initrd
printf '%s' "SINIT stand-in: ACM hash, LCP, OsSinitData" > sinit.data

tcmd="logging=serial,memory loglvl=all"
kcmd="root=/dev/mapper/base ro console=ttyS0 tvam.profile=txt"
icmd=""

h() { sha256sum | cut -d' ' -f1; }                  # sha256 of stdin, hex
hx() { xxd -r -p | h; }                             # sha256 of hex on stdin
module_hash() { # tboot: H(H(cmdline) || H(image)), cmdline after the file name
    { printf '%s' "$1" | h; h < "$2"; } | tr -d '\n' | hx
}

make_vlp() { # VLP TYPE KERNEL: kernel pinned (not re-measured), initrd into 19
    rm -f "$1"
    tb_polgen --create --type "$2" --alg sha256 --ctrl 1 "$1" >/dev/null
    tb_polgen --add --num 0 --pcr none --hash image --cmdline "$kcmd" --image "$3" "$1" >/dev/null
    tb_polgen --add --num 1 --pcr 19 --hash image --cmdline "$icmd" --image initrd "$1" >/dev/null
}

launch() { # VLP KERNEL: the dynamic launch as SINIT and tboot do it
    swtpm_ioctl --tcp "$TVAM_TEST_SWTPM_CTRL" -h "$(cat sinit.data)"   # 17 = H(0||H(data)), 18-22 = 0
    local mle pol m0 m1
    mle=$(lcp2_mlehash --create --alg sha256 --cmdline "$tcmd" "$tboot" | tr -d ' \n')
    pol=$({ printf '01000000'; h < "$1"; } | tr -d '\n' | hx)   # policy_control (LE) || H(VLP)
    m0=$(module_hash "$kcmd" "$2")
    m1=$(module_hash "$icmd" initrd)
    # SINIT: MLE into 18; tboot: policy 17, module 0 -> 18, module 1 -> its VLP PCR 19
    "$helper" extend 18 "$mle" 17 "$pol" 18 "$m0" 19 "$m1"
}

predict() { # VLP KERNEL OUT [extra args]
    local vlp=$1 k=$2 out=$3; shift 3
    "$policy" predict --profile txt --tboot "$tboot" --tboot-cmdline "$tcmd" \
        --kernel "$k" --kernel-cmdline "$kcmd" --initrd initrd --initrd-cmdline "$icmd" \
        --vlp "$vlp" --sinit-data sinit.data --output "$out" "$@"
}

compare() { # EXPECTATION: predicted PCRs 17-19 == the TPM's
    local ok=0
    while read -r pcr value; do
        want=$(jq -r ".pcrs[\"$pcr\"]" "$1")
        if [ "$want" != "$value" ]; then
            echo "FAIL: PCR $pcr predicted $want, TPM has $value"; ok=1
        else
            echo "  PCR $pcr = $value (predicted = observed)"
        fi
    done < <("$helper" read)
    return $ok
}

echo "== 1. kernel A"
make_vlp vlpA halt kernelA
predict vlpA kernelA expA.json >/dev/null
launch vlpA kernelA
compare expA.json
"$policy" diagnose --tcti "$TVAM_TEST_TCTI" --expected expA.json > diag.txt || { echo "FAIL: diagnose on a matching TPM"; cat diag.txt; exit 1; }

"$policy" show expA.json > show.txt
for want in "PCR 17 = $(jq -r '.pcrs["17"]' expA.json)" "set    SINIT (sinit.data)" "extend VLP (vlpA)" \
            "PCR 18 = $(jq -r '.pcrs["18"]' expA.json)" "extend MLE (tboot $tboot)" "extend module 0 (kernel kernelA)" \
            "extend module 1 (initrd initrd)"; do
    grep -qF "$want" show.txt || { echo "FAIL: show lacks '$want'"; cat show.txt; exit 1; }
done
[ "$("$policy" show --json expA.json | jq -r '.pcrs["19"]')" = "$(jq -r '.pcrs["19"]' expA.json)" ] || { echo "FAIL: show --json"; exit 1; }

echo "== 2. update to kernel B: predict before the reboot, observe after"
make_vlp vlpB halt kernelB
predict vlpB kernelB expB.json >/dev/null
if compare expB.json >/dev/null 2>&1; then echo "FAIL: kernel B's prediction already matches kernel A's boot"; exit 1; fi
launch vlpB kernelB                                  # the "reboot" into B
compare expB.json

echo "== 3. a wrong kernel"
if predict vlpB kernelW expW.json 2>err.txt; then echo "FAIL: a halt VLP accepted a kernel it does not allow"; exit 1; fi
grep -q "not allowed by the VLP" err.txt || { echo "FAIL: refusal does not say why:"; cat err.txt; exit 1; }
make_vlp vlpN nonfatal kernelB
predict vlpN kernelB expN.json >/dev/null
launch vlpN kernelW                                  # tboot continues with the wrong kernel
if compare expN.json > cmp.txt 2>&1; then echo "FAIL: a wrong kernel was not detected"; exit 1; fi
grep -q "FAIL: PCR 18" cmp.txt && ! grep -q "FAIL: PCR 17\|FAIL: PCR 19" cmp.txt || { echo "FAIL: expected only PCR 18 to differ"; cat cmp.txt; exit 1; }

set +e
"$policy" diagnose --tcti "$TVAM_TEST_TCTI" --expected expN.json > diag.txt; rc=$?
"$policy" diagnose --tcti "$TVAM_TEST_TCTI" --expected expN.json --json --profile txt --tboot "$tboot" --tboot-cmdline "$tcmd" \
    --kernel kernelW --kernel-cmdline "$kcmd" --initrd initrd --initrd-cmdline "$icmd" \
    --vlp vlpN --sinit-data sinit.data > diag.json; rc2=$?
"$policy" diagnose --tcti "$TVAM_TEST_TCTI" --expected expN.json --profile txt --tboot "$tboot" --tboot-cmdline "$tcmd" \
    --kernel kernelW --kernel-cmdline "$kcmd" --initrd initrd --initrd-cmdline "$icmd" \
    --vlp vlpN --sinit-data sinit.data > diag2.txt
set -e
cat diag.txt diag2.txt
[ $rc = 1 ] && [ $rc2 = 1 ] || { echo "FAIL: diagnose exit codes $rc $rc2, want 1 1"; exit 1; }
grep -q "^PCR 18 differs" diag.txt || { echo "FAIL: diagnose does not name PCR 18"; exit 1; }
[ "$(jq -r .first_pcr diag.json)" = 18 ] && [ "$(jq -r .component diag.json)" = module ] \
    && [ "$(jq -r .module diag.json)" = 0 ] && [ "$(jq -r .explained diag.json)" = true ] \
    || { echo "FAIL: diagnosis JSON:"; cat diag.json; exit 1; }
grep -q "PCR 18.*kernel image of module 0 changed" diag2.txt || { echo "FAIL: diagnose does not name the kernel"; exit 1; }
echo "PASS: DRTM emulation (tboot $(basename "$tboot")): predictions equal swtpm; wrong kernel named"
