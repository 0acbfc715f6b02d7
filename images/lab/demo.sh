#!/bin/bash
# demo.sh — runs INSIDE the lab for "tvam-lab demo".
#
# Shows what the platform can do so far, step by step, and ends with a list
# of what was proved.  Each step is a real lab scenario (tests/lab/scenarios),
# so the demo and the lab suite cannot drift apart.
set -uo pipefail
repo=${TVAM_REPO:?}
export TVAM_SAMPLE_VM=$repo/.cache/sample-vm/sample-vm.img

steps=(
    "01-bench:the bench: TPM 2.0, LUKS2 on LVM, libvirt + KVM booting a closed-box VM"
    "30-tpm-luks:a secret sealed by the TPM opens an encrypted volume, and only in the sealed state"
    "../fresh-boot/80-attest:remote attestation: enrol the AK, start the sample VM, quote -> tvam-verify says trusted; tampering is named"
    "60-tvamd:the platform: tvamctl import -> seal -> start -> list -> stop, tamper -> refusal, crash recovery"
    "62-tvamd-lifecycle:qcow2, a crash after every import step, a flipped byte refused, backup/restore to a new TPM, a group on a private network"
)

echo "TVAM demo in the lab guest: kernel $(uname -r), $(nproc) CPUs, TPM $(ls /dev/tpmrm0 2>/dev/null || echo missing), KVM $(ls /dev/kvm 2>/dev/null || echo missing)"
proved=() failed=0
for step in "${steps[@]}"; do
    name=${step%%:*} what=${step#*:}
    echo
    echo "--- $what"
    log=/tmp/demo-$(basename "$name").log
    if bash "$repo/tests/lab/scenarios/$name.sh" 2>&1 | tee "$log"; then
        mapfile -t lines < <(sed -n 's/^PROVED: //p' "$log")
        proved+=("${lines[@]}")
    else
        echo "--- step $name FAILED"
        failed=1
    fi
done

echo
echo "=== What the demo proved ==="
for p in "${proved[@]}"; do echo "  * $p"; done
[ "$failed" -eq 0 ] && echo "=== demo complete ===" || echo "=== demo FAILED ==="
exit "$failed"
