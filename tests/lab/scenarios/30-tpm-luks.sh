#!/bin/bash
# 30-tpm-luks — the storage chain on the lab's real TPM (/dev/tpmrm0), LVM
# and dm-crypt: a secret sealed by the TPM core opens a LUKS2 volume on an
# LV; a changed PCR means no key (fail closed, PCR named); the recovery
# passphrase works independently; erasing leaves no usable keyslot.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
tool=${TVAM_BUILD_DIR:?}/tests/lab/test-tpm-luks
[ -x "$tool" ] || { echo "test-tpm-luks not built"; exit 77; }
[ -e /dev/tpmrm0 ] || fail "no /dev/tpmrm0"

cleanup() {
    set +e
    cryptsetup close tvam-tpmluks 2>/dev/null
    vgremove -q -f tvam-tl >/dev/null 2>&1
    [ -n "${loop:-}" ] && losetup -d "$loop"
    rm -f /run/tpmluks.img /run/tpmluks.recovery
}
trap cleanup EXIT

truncate -s 128M /run/tpmluks.img
loop=$(losetup -f --show /run/tpmluks.img)
pvcreate -q "$loop" >/dev/null
vgcreate -q tvam-tl "$loop" >/dev/null
(umask 077; printf 'correct horse battery staple' > /run/tpmluks.recovery)

TVAM_RECOVERY_FILE=/run/tpmluks.recovery "$tool" tvam-tl
say "PROVED: a secret sealed by the TPM core to PCRs 0-7,16 opens LUKS2 on an LV (token -> unseal -> open, data round-trips); after PCR 16 changes the TPM refuses and names PCR 16; the recovery passphrase opens it, a wrong one does not; after erase nothing opens it"
