#!/bin/bash
# The update flow through tvamd, profile txt (--launch-pcrs 17,18,19), on
# swtpm (run under lib/with-swtpm; suite tpm).  Launches are emulated as
# tests/policy does: swtpm_ioctl -h (SINIT stand-in) and tboot's locality-2
# extends for the real /boot/tboot.gz and the VLP read from NV (update-tool
# txt-launch; the predictor behind it is checked against tb_polgen and
# lcp2_mlehash by policy-drtm-emulation).  Proves:
#   * prepare writes a VLP that lets the old *and* the new kernel launch, and
#     authorizes now / old kernel under the new VLP / new kernel, so a secret
#     sealed before prepare unseals in all three (power loss anywhere);
#   * a wrong SINIT value is refused before anything is written;
#   * a kernel not in the VLP: tboot halts; forced into the TPM anyway it is
#     refused naming PCR 18;
#   * commit (in the new launch) revokes the old launches; abort restores
#     the previous VLP (the aborted kernel halts again) and the old state.
set -euo pipefail
tvamd=${1:?usage: update-txt.sh TVAMD TVAMCTL UPDATE_TOOL} tvamctl=${2:?} tool=${3:?}
tboot=/boot/tboot.gz
[ -r "$tboot" ] || { echo "$tboot missing (package tboot)"; exit 77; }
launch_pcrs=17,18,19
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/update-setup.sh"

# launch KERNEL INITRD CMDLINE [force]: reboot + measured launch + base + Application Mode
launch() {
    reset_tpm
    "$tool" txt-launch "$tboot" "$w/kernel-$1" "$w/initrd-$2" "$3" "$w/sinit" ${4:-} > "$w/out" \
        || return $?
    "$tool" extend-base "$w/base.squashfs"
    start_tvamd
    [ "$(ctl mode application)" = application ] || fail "Application Mode"
}
expect_unseal() { unseal "$w/app" > "$w/out" || fail "$1: $(cat "$w/out")"; echo "   $1: unsealed"; }
expect_refused() {
    set +e; unseal "$w/app" > "$w/out"; local s=$?; set -e
    [ $s -eq 1 ] || fail "$1: unseal exited $s, expected refused: $(cat "$w/out")"
    grep -q "$2" "$w/out" || fail "$1: the refusal does not say '$2': $(cat "$w/out")"
    echo "   $1: $(cat "$w/out")"
}
halts() {  # KERNEL INITRD CMDLINE
    set +e; launch "$@"; local s=$?; set -e
    [ $s -eq 3 ] || fail "launch of kernel $1 did not halt (exit $s)"
    echo "   kernel $1: $(cat "$w/out")"
}

for x in A B C; do printf 'kernel %s\n' $x > "$w/kernel-$x"; printf 'initrd %s\n' $x > "$w/initrd-$x"; done
head -c 4096 /dev/urandom > "$w/base.squashfs"
printf 'SINIT stand-in' > "$w/sinit"; printf 'another SINIT' > "$w/sinit-wrong"
prep() {  # KERNEL INITRD CMDLINE [SINIT]
    ctl update prepare --tboot "$tboot" --kernel "$w/kernel-$1" --initrd "$w/initrd-$2" --cmdline "$3" \
        --sinit-data "${4:-$w/sinit}" --admin-key-file "$w/admin" --owner-auth-file "${owner_file:-$w/owner}"
}

say "launch A (VLP pins A), owner authorization set, policy init, seal"
reset_tpm
"$tool" vlp-init "$w/kernel-A" "$w/initrd-A" "ro"
launch A A ro
# Production TPMs have an owner authorization (docs/tpm.md threat note):
# defining NV indices and writing the VLP need it.
printf 'the owner authorization' > "$w/owner"
printf 'not the owner authorization' > "$w/owner-wrong"
tpm2_changeauth -c o "file:$w/owner"
want_status=4 refused "owner authorization" ctl policy init --admin-key-file "$w/admin"
ctl policy init --admin-key-file "$w/admin" --owner-auth-file "$w/owner" >/dev/null
"$tool" seal "$w/app"
expect_unseal "in A"
halts B B "ro quiet"                       # before the update, B is not allowed
launch A A ro

say "prepare B"
refused "PCR 17 is not what SINIT's value and the VLP in NV give" prep B B "ro quiet" "$w/sinit-wrong"
# a wrong owner authorization: refused before anything changed
owner_file=$w/owner-wrong want_status=4 refused "owner hierarchy refused the authorization.*nothing was changed" prep B B "ro quiet"
ctl --json policy show | jq -e '.result.update == "none" and (.result.states | length == 1)' >/dev/null ||
    fail "a prepare refused for its owner authorization left an update behind"
halts B B "ro quiet"                       # the VLP in NV is unchanged
launch A A ro
prep B B "ro quiet" > "$w/out" || fail "prepare: $(cat "$w/out")"
grep -q "PCRs 17, 18, 19 change" "$w/out" || fail "prepare: $(cat "$w/out")"
ctl --json policy show | jq -e '.result.states | length == 3' >/dev/null || fail "txt prepare authorizes 3 states"
expect_unseal "prepared, still in A (old VLP)"
refused "not in the prepared next state: PCR 17" ctl update commit --admin-key-file "$w/admin"

say "power loss before the bootloader switched: A under the new VLP"
launch A A ro
expect_unseal "A under the new VLP"

say "launch B"
launch B B "ro quiet"
expect_unseal "in B"
set +e; launch C B "ro quiet"; s=$?; set -e
[ $s -eq 3 ] || fail "kernel C is not in the VLP but did not halt"
launch C B "ro quiet" force
expect_refused "kernel C forced past the VLP" "PCR 18"
refused "PCR 18 differs from every authorized state" ctl policy diagnose

say "commit in B; A (under the new VLP) is revoked"
launch B B "ro quiet"
ctl update commit --admin-key-file "$w/admin" >/dev/null
expect_unseal "after commit, in B"
launch A A ro
expect_refused "after commit, A" "PCR"

say "abort: prepare C, abort; the VLP is restored (C halts), B unseals"
launch B B "ro quiet"
prep C B "ro quiet" >/dev/null
launch C B "ro quiet"
expect_unseal "prepared C, in C"
launch B B "ro quiet"
want_status=4 refused "owner hierarchy refused the authorization" ctl update abort --admin-key-file "$w/admin"
ctl update abort --admin-key-file "$w/admin" --owner-auth-file "$w/owner" >/dev/null
ctl --json policy show | jq -e '.result.update == "none" and (.result.states | length == 1)' >/dev/null || fail "show after abort"
halts C B "ro quiet"
launch B B "ro quiet"
expect_unseal "after abort, in B"
launch C B "ro quiet" force
expect_refused "after abort, C forced" "PCR 1[78]"
echo PASS
