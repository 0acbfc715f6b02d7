#!/bin/bash
# The platform's own keys through an update (docs/update.md "Three policy
# indices"), on swtpm (run under lib/with-swtpm; suite tpm).  A boot is
# emulated as on the platform: TPM reset, the firmware + GRUB log replayed
# (launch PCRs), the initramfs unseals base-N's key (tvam-initramfs unlock on
# a LUKS2 file, PCR 14 and 15 still 0), measures base-N into PCR 14, tvamd
# starts in Update Mode and unseals the SSH host key.  Proves:
#   * policy init re-seals base-N's key (the first-boot enrolment's PolicyPCR
#     token) through the boot index and the SSH host key through the
#     Update-Mode index, the same secrets (the key file keeps its
#     fingerprint, the LUKS keyslot is unchanged);
#   * afterwards base-N's key no longer unseals in the running system (PCR 14
#     is extended), only before the measurement;
#   * update prepare authorizes both for the next state: the "reboot" into
#     it unlocks base-N and unseals the SSH key; commit revokes the old state
#     (base-N refused there, naming the PCR); abort keeps only the current;
#   * base-N's key is rotated, not only re-sealed: the old keyslot is gone,
#     so a copy of the enrolment's PolicyPCR object opens nothing;
#   * tvamd killed after the boot index was written but before the others:
#     the next boot still unlocks (the file keeps the set that index holds),
#     before and after tvamd healed policy.json; a second interruption keeps
#     that record; killed after the Update-Mode index too: both keys unseal;
#   * a forged policy.json does not authorize a state (the TPM decides).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/matches.sh"
tvamd=${1:?usage: update-platform.sh TVAMD TVAMCTL UPDATE_TOOL TVAM-INITRAMFS} tvamctl=${2:?} tool=${3:?}
initramfs=${4:?}
launch_pcrs=0,2,4,7,8,9
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/update-setup.sh"
base_img=$w/base-luks.img
# The unsealed SSH key goes to a tmpfs only (tvamd refuses anything else).
[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || { echo "/dev/shm is not a tmpfs"; exit 77; }
command -v cryptsetup > /dev/null || { echo "cryptsetup missing"; exit 77; }
keydir=$(mktemp -d -p /dev/shm tvam-ssh.XXXXXX)
trap 'cleanup; rm -rf "$keydir"' EXIT

unlock() { "$initramfs" --tcti "$TVAM_TEST_TCTI" unlock --policy "$state/policy.json" "$base_img"; }
# A boot up to tvamd in Update Mode: launch PCRs from LOG, the initramfs
# unlock (must succeed), PCR 14 from BASE, tvamd started.
boot_update_mode() { # LOG BASE
    reset_tpm
    "$tool" boot "$1"
    unlock > "$w/unlock.out" 2>&1 || fail "unlock at boot with $(basename "$1"): $(cat "$w/unlock.out")"
    "$tool" extend-base "$2"
    cp "$1" "$w/current.log"
    start_tvamd --base-device "$base_img" --ssh-host-key "$keydir/ssh_host_ed25519_key"
}
# The boot stops in the initramfs: base-N's key must be refused naming PATTERN.
boot_refused() { # LOG PATTERN
    reset_tpm
    "$tool" boot "$1"
    set +e; unlock > "$w/unlock.out" 2>&1; local s=$?; set -e
    [ $s -eq 1 ] || fail "unlock with $(basename "$1") exited $s, expected refused: $(cat "$w/unlock.out")"
    grep -q "$2" "$w/unlock.out" || fail "the refusal does not say '$2': $(cat "$w/unlock.out")"
    echo "   refused as expected: $(grep -v '^$' "$w/unlock.out" | tail -n 1)"
}
ssh_key() { ctl --json mode status | jq -r '.result.ssh_host_key | "\(.fingerprint // "")|\(.error // "")"'; }
token_index() { cryptsetup token export --token-id 0 "$base_img" | jq -r '."tpm2-policy-nv-index" // "none"'; }

for x in A B C; do
    printf 'kernel %s\n' "$x" > "$w/kernel-$x"; printf 'initrd %s\n' "$x" > "$w/initrd-$x"
done
head -c 4096 /dev/urandom > "$w/base.squashfs"
"$tool" mklog "$w/log-A" "$w/kernel-A" "$w/initrd-A" "root=/dev/vda ro"
"$tool" mklog "$w/log-B" "$w/kernel-B" "$w/initrd-A" "root=/dev/vda ro"
"$tool" mklog "$w/log-C" "$w/kernel-C" "$w/initrd-A" "root=/dev/vda ro"

say "installation + first boot: base-N's key sealed to the launch PCRs (PolicyPCR)"
reset_tpm
"$tool" boot "$w/log-A"
truncate -s 24M "$base_img"
"$initramfs" --tcti "$TVAM_TEST_TCTI" format --pcrs "$launch_pcrs" "$base_img" 2> "$w/format.out" ||
    fail "format: $(cat "$w/format.out")"
keyslots_before=$(cryptsetup luksDump --dump-json-metadata "$base_img" | jq -c '.keyslots | keys')
# A copy of the enrolment's sealed object, as anyone could take it from the
# (unencrypted) LUKS2 header: after policy init it must open nothing.
cryptsetup token export --token-id 0 "$base_img" | jq -r '."tpm2-blob"' | base64 -d > "$w/old-base-key.blob"
unlock > "$w/unlock.out" 2>&1 || fail "unlock before policy init: $(cat "$w/unlock.out")"
"$tool" extend-base "$w/base.squashfs"
start_tvamd --base-device "$base_img" --ssh-host-key "$keydir/ssh_host_ed25519_key"
IFS='|' read -r fp0 err0 <<< "$(ssh_key)"
[ -n "$fp0" ] && [ -z "$err0" ] || fail "no SSH host key in Update Mode: '$err0'"
echo "   SSH host key $fp0"
[ "$(token_index)" = none ] || fail "the token names an NV index before policy init: $(token_index)"

say "policy init: the platform's keys re-sealed through their indices"
ctl --json policy init --admin-key-file "$w/admin" > "$w/init.json" || fail "policy init: $(cat "$w/init.json")"
jq -e '.result.base_key == "re-sealed through the boot index" and
       .result.ssh_host_key == "re-sealed through the Update-Mode index"' "$w/init.json" >/dev/null ||
    fail "policy init result: $(jq -c .result "$w/init.json")"
[ "$(token_index)" = 0x01800a04 ] || fail "the token does not name the boot index: $(token_index)"
# The key was rotated: one keyslot, not the old one (the old secret, which
# the copied PolicyPCR object still unseals, opens nothing any more).
keyslots_after=$(cryptsetup luksDump --dump-json-metadata "$base_img" | jq -c '.keyslots | keys')
[ "$(jq length <<< "$keyslots_after")" = 1 ] && [ "$keyslots_after" != "$keyslots_before" ] ||
    fail "the key was not rotated: keyslots $keyslots_before -> $keyslots_after"
"$initramfs" --tcti "$TVAM_TEST_TCTI" unseal-check "$w/old-base-key.blob" | matches "unsealed 32 bytes (PolicyPCR)" ||
    fail "the copied old object should still unseal (else this check proves nothing)"
echo "   keyslots $keyslots_before -> $keyslots_after; the copied old sealed object unseals a secret of a destroyed keyslot"
tpm2_nvreadpublic 0x01800A03 > /dev/null && tpm2_nvreadpublic 0x01800A04 > /dev/null || fail "indices missing"
# In the running system (PCR 14 extended) base-N's key no longer unseals.
set +e; unlock > "$w/unlock.out" 2>&1; s=$?; set -e
[ $s -eq 1 ] && grep -q "PCR 14 differs" "$w/unlock.out" ||
    fail "base-N's key in the running system: exit $s: $(cat "$w/unlock.out")"
echo "   in the running system: $(grep -v '^$' "$w/unlock.out" | tail -n 1)"

say "reboot (same state): both keys unseal through the indices"
boot_update_mode "$w/log-A" "$w/base.squashfs"
grep -q "holds the authorized set" "$w/unlock.out" || fail "unlock did not use the boot index: $(cat "$w/unlock.out")"
IFS='|' read -r fp err <<< "$(ssh_key)"
[ "$fp" = "$fp0" ] && [ -z "$err" ] || fail "SSH key after re-seal: '$fp' '$err'"

sealed=$state/ssh/ssh_host_ed25519_key.sealed
"$initramfs" --tcti "$TVAM_TEST_TCTI" unseal-check --policy "$state/policy.json" "$sealed" > "$w/check" ||
    fail "unseal-check of the SSH key in Update Mode: $(cat "$w/check")"
matches "unsealed 32 bytes (PolicyAuthorizeNV, update-mode index 0x01800a03)" < "$w/check" || fail "$(cat "$w/check")"

say "update prepare (new kernel) -> reboot into it -> commit"
ctl update prepare --kernel "$w/kernel-B" --eventlog "$w/log-A" --admin-key-file "$w/admin" > "$w/out" ||
    fail "prepare: $(cat "$w/out")"
boot_update_mode "$w/log-B" "$w/base.squashfs"
IFS='|' read -r fp err <<< "$(ssh_key)"
[ "$fp" = "$fp0" ] && [ -z "$err" ] || fail "SSH key in the next state: '$fp' '$err'"
ctl update commit --admin-key-file "$w/admin" | matches "next state only" || fail "commit"
boot_refused "$w/log-A" "PCR 9"
# the SSH host key is revoked for the old state too (the Update-Mode index)
"$tool" extend-base "$w/base.squashfs"
set +e; "$initramfs" --tcti "$TVAM_TEST_TCTI" unseal-check --policy "$state/policy.json" "$sealed" > "$w/check"; s=$?; set -e
[ $s -eq 3 ] && matches "refused: PCR 9" < "$w/check" || fail "the SSH key in the old state after commit: exit $s: $(cat "$w/check")"
echo "   SSH key in the old state after commit: $(cat "$w/check")"
boot_update_mode "$w/log-B" "$w/base.squashfs"
ctl mode application > /dev/null || fail "mode application"
set +e; "$initramfs" --tcti "$TVAM_TEST_TCTI" unseal-check --policy "$state/policy.json" "$sealed" > "$w/check"; s=$?; set -e
[ $s -eq 3 ] && matches "refused: PCR 15" < "$w/check" || fail "the SSH key in Application Mode: exit $s: $(cat "$w/check")"
echo "   SSH key in Application Mode: $(cat "$w/check")"
boot_update_mode "$w/log-B" "$w/base.squashfs"

say "abort: prepare C, abort; C refused, B boots"
ctl update prepare --kernel "$w/kernel-C" --eventlog "$w/log-B" --admin-key-file "$w/admin" > /dev/null
ctl update abort --admin-key-file "$w/admin" | matches "current state only" || fail "abort"
boot_refused "$w/log-C" "PCR 9"
boot_update_mode "$w/log-B" "$w/base.squashfs"

say "tvamd killed after writing the boot index only (prepare of C)"
stop_tvamd
TVAM_TEST_POLICY_CRASH=written-boot start_tvamd --base-device "$base_img" --ssh-host-key "$keydir/ssh_host_ed25519_key"
set +e; ctl update prepare --kernel "$w/kernel-C" --eventlog "$w/log-B" --admin-key-file "$w/admin" \
    > /dev/null 2> "$w/err"; set -e
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "tvamd did not stop at the crash point: $(cat "$w/err")"
wait "$pid" 2>/dev/null || true; pid=""; rm -f "$sock"
# The next boot: the boot index holds {B, C}, the others {B}.  The
# initramfs comes before tvamd: it finds the set in "writing"; tvamd then
# heals the file (reading the indices: "interrupted"."boot" = {B, C}), and
# the boot after that finds it there.
boot_update_mode "$w/log-B" "$w/base.squashfs"
grep -q "holds the writing set" "$w/unlock.out" || fail "unlock after the crash: $(cat "$w/unlock.out")"
grep -q "healed after an interrupted policy write: index 0x01800a01 holds the previous set" "$w/tvamd.log" ||
    fail "tvamd did not heal policy.json"
sed -i 's/healed after an interrupted/healed (seen) after an interrupted/' "$w/tvamd.log"
jq -e '(has("writing") | not) and (.interrupted.boot | length == 2) and (.interrupted | has("update-mode") | not)' \
    "$state/policy.json" > /dev/null || fail "policy.json not healed: $(jq -c '{writing, interrupted}' "$state/policy.json")"
boot_update_mode "$w/log-B" "$w/base.squashfs"
grep -q "holds the interrupted set" "$w/unlock.out" || fail "unlock after healing: $(cat "$w/unlock.out")"

say "a second interruption (before any NV write) keeps the record of the first"
crash_prepare() { # POINT KERNEL
    stop_tvamd
    TVAM_TEST_POLICY_CRASH=$1 start_tvamd --base-device "$base_img" --ssh-host-key "$keydir/ssh_host_ed25519_key"
    set +e; ctl update prepare --kernel "$2" --eventlog "$w/log-B" --admin-key-file "$w/admin" > /dev/null 2> "$w/err"; set -e
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "$1: tvamd did not stop at the crash point: $(cat "$w/err")"
    wait "$pid" 2>/dev/null || true; pid=""; rm -f "$sock"
}
printf 'kernel D\n' > "$w/kernel-D"
crash_prepare recorded "$w/kernel-D"
boot_update_mode "$w/log-B" "$w/base.squashfs"
grep -q "holds the interrupted set" "$w/unlock.out" || fail "unlock after two interruptions: $(cat "$w/unlock.out")"

say "interrupted after the Update-Mode index: both keys still unseal"
crash_prepare written-update-mode "$w/kernel-D"
boot_update_mode "$w/log-B" "$w/base.squashfs"
grep -q "holds the writing set" "$w/unlock.out" || fail "unlock: $(cat "$w/unlock.out")"
IFS='|' read -r fp err <<< "$(ssh_key)"
[ "$fp" = "$fp0" ] && [ -z "$err" ] || fail "SSH key after the crash: '$fp' '$err'"
jq -e '(.interrupted.boot | length == 2) and (.interrupted."update-mode" | length == 2)' "$state/policy.json" > /dev/null ||
    fail "policy.json after the crash: $(jq -c '.interrupted' "$state/policy.json")"

say "policy.json forged to authorize C (its real PCR 9): the TPM decides, C stays refused"
stop_tvamd
cp "$state/policy.json" "$w/policy.good"
reset_tpm
"$tool" boot "$w/log-C"
pcr9_c=$(tpm2_pcrread sha256:9 -o "$w/pcr9" > /dev/null && xxd -p -c 64 "$w/pcr9")
# C added to "authorized" (a set the index does not hold: not used), then
# also to the set the index holds (its digest no longer matches: none used).
jq --arg v "$pcr9_c" '.authorized += [.authorized[0] | .pcrs."9" = $v]' "$w/policy.good" > "$state/policy.json"
set +e; unlock > "$w/unlock.out" 2>&1; s=$?; set -e
[ $s -eq 1 ] && grep -q "PCR 9 differs" "$w/unlock.out" || fail "forged policy.json: exit $s: $(cat "$w/unlock.out")"
echo "   forged authorized set: $(grep -v '^$' "$w/unlock.out" | tail -n 1)"
jq --arg v "$pcr9_c" '.authorized += [.authorized[0] | .pcrs."9" = $v] |
    .interrupted.boot += [.authorized[0] | .pcrs."9" = $v]' "$w/policy.good" > "$state/policy.json"
set +e; unlock > "$w/unlock.out" 2>&1; s=$?; set -e
[ $s -eq 1 ] && grep -q "does not record the state set the boot policy index 0x01800a04 holds" "$w/unlock.out" ||
    fail "forged policy.json: exit $s: $(cat "$w/unlock.out")"
echo "   forged held set: $(grep -v '^$' "$w/unlock.out" | tail -n 1)"
cp "$w/policy.good" "$state/policy.json"
boot_update_mode "$w/log-B" "$w/base.squashfs"
# a completed transition brings every index back to one set
ctl update prepare --kernel "$w/kernel-C" --eventlog "$w/log-B" --admin-key-file "$w/admin" > /dev/null
ctl update abort --admin-key-file "$w/admin" > /dev/null
boot_refused "$w/log-C" "PCR 9"
boot_update_mode "$w/log-B" "$w/base.squashfs"
grep -q "holds the authorized set" "$w/unlock.out" || fail "unlock after the abort: $(cat "$w/unlock.out")"
echo "PASS"
