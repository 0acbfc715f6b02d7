#!/bin/bash
# 64-tvamd-update — the update flow with real applications on the lab's TPM,
# LVM, dm-crypt/dm-verity, libvirt and KVM (docs/update.md):
#   policy init → import (the LUKS2 token names the policy index) → start in
#   Application Mode → update prepare (next state = another base image, PCR
#   14) → the app still starts in the current state; commit outside the
#   next state refused naming PCR 14; a wrong admin secret changes nothing →
#   abort → still starts → the platform moves into a different PCR 14: with
#   PCR 14 fresh (this scenario alone) the prepared state is reached, commit
#   succeeds and the app starts; in any case a state nobody authorized (PCR 14
#   extended once more) is refused and the refusal names PCR 14.
# The lab cannot reboot: reboots are covered by tests/tpm/update*.sh on swtpm.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
LAB_VG=tvam-u
. "$TVAM_REPO/tests/lab/tvamd-lib.sh"
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
command -v tpm2_pcrextend >/dev/null || { echo "tpm2-tools missing"; exit 77; }
# The policy indices outlive tvamd's state dir: remove them so later
# scenarios (fresh state dir) seal the pre-policy way again.
remove_indices() {
    tpm2_nvundefine 0x01800A01 >/dev/null 2>&1 || true
    tpm2_nvundefine 0x01800A02 >/dev/null 2>&1 || true
}
trap 'remove_indices; cleanup' EXIT
setup_vg
(umask 077; printf 'lab admin secret' > "$lab/admin"; printf 'not the admin secret' > "$lab/wrong")
head -c 1M /dev/urandom > "$lab/base-next.squashfs"
pcr14() { tpm2_pcrread sha256:14 -o "$lab/pcr14" >/dev/null && xxd -p -c 64 "$lab/pcr14"; }
# The initramfs's base-image event: H("sha256:" hex(SHA-256(image))).
base_event() { printf 'sha256:%s' "$(sha256sum < "$1" | cut -d' ' -f1)" | sha256sum | cut -d' ' -f1; }
starts() {  # NAME: start (= unseal + open + define + start) succeeds, then stop
    ctl start "$1" >/dev/null || fail "start $1 in this state"
    ctl stop "$1" --force >/dev/null
}
fresh14=0; [ "$(pcr14)" = "$(printf '%064d' 0)" ] && fresh14=1
start_tvamd

ctl policy init --admin-key-file "$lab/admin" >/dev/null
ctl import upd-ro "$image" --read-only --memory 192
lv=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lv_image"])' "$state/upd-ro.json")
cryptsetup luksDump --dump-json-metadata "/dev/$vg/$lv" | tr -d ' \n' | matches '"tpm2-policy-nv-index":"0x01800a01"' ||
    fail "the imported volume's token does not name the policy index"
say "PROVED: after policy init, import seals through PolicyAuthorizeNV (token tpm2-policy-nv-index 0x01800a01)"

[ "$(ctl mode application)" = application ] || fail "Application Mode"
ctl start upd-ro
wait_marker upd-ro
ctl stop upd-ro --force
say "PROVED: the NV-sealed application starts: $(marker_of upd-ro)"

ctl update prepare --base "$lab/base-next.squashfs" --admin-key-file "$lab/admin" | matches "PCRs 14 change" ||
    fail "prepare"
ctl --json policy show | python3 -c '
import json, sys
s = json.load(sys.stdin)["result"]["states"]
assert [(x["role"], x["matches"]) for x in s] == [("current", True), ("next", False)], s' || fail "policy show after prepare"
starts upd-ro
refused "not in the prepared next state: PCR 14" ctl update commit --admin-key-file "$lab/admin"
cp "$state/policy.json" "$lab/policy.before"
set +e; ctl update abort --admin-key-file "$lab/wrong" 2> "$lab/err"; s=$?; set -e
[ $s -eq 4 ] && grep -q "administrator secret is wrong" "$lab/err" || fail "wrong admin secret: exit $s: $(cat "$lab/err")"
cmp -s "$state/policy.json" "$lab/policy.before" || fail "a refused abort changed policy.json"
tpm2_dictionarylockout -c >/dev/null 2>&1 || true
say "PROVED: while an update is prepared the application starts in the current state; commit outside the next state and a wrong admin secret are refused ($(cat "$lab/err"))"

ctl update abort --admin-key-file "$lab/admin" >/dev/null
starts upd-ro
say "PROVED: after abort the application starts"

ctl update prepare --base "$lab/base-next.squashfs" --admin-key-file "$lab/admin" >/dev/null
tpm2_pcrextend "14:sha256=$(base_event "$lab/base-next.squashfs")"
if [ $fresh14 = 1 ]; then
    # PCR 14 was fresh: it now holds exactly the predicted next state.
    ctl update commit --admin-key-file "$lab/admin" >/dev/null
    starts upd-ro
    say "PROVED: in the predicted next state (PCR 14 of the other base image) commit succeeds and the application starts"
    tpm2_pcrextend "14:sha256=$(printf 'a third base image' | sha256sum | cut -d' ' -f1)"
else
    say "PCR 14 was not fresh (earlier scenarios extended it): the predicted state is unreachable in this boot; commit not exercised here"
fi
refused "PCR 14" ctl start upd-ro
refused "PCR 14 differs from every authorized state" ctl policy diagnose
say "PROVED: in a state the policy index does not authorize, start is refused and names PCR 14"
ctl remove upd-ro
stop_tvamd
remove_indices
tpm2_nvreadpublic 0x01800A01 >/dev/null 2>&1 && fail "policy index still defined"
say "policy indices removed for the following scenarios"
