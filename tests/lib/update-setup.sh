# tests/lib/update-setup.sh — sourced by the update-flow tests on swtpm
# (tests/tpm/update.sh, profile srtm; tests/tpm/update-txt.sh, profile txt):
# what both need to drive tvamd through reboots of one swtpm.
#
# The sourcing script runs under lib/with-swtpm with "set -euo pipefail" and
# sets first: tvamd, tvamctl, tool (update-tool) and launch_pcrs (tvamd's
# --launch-pcrs).  Exits 77 (skipped) without swtpm_ioctl or tpm2-tools or
# outside with-swtpm.  Then it has:
#   $w                 a work directory, removed at exit (tvamd stopped first)
#   $w/admin           the admin secret (policy init, update prepare/commit/abort)
#   $sock, $state      tvamd's socket and state directory ($state/policy.json)
#   fail MESSAGE       print MESSAGE and tvamd's log, exit 1
#   say STEP           a heading in the test's output
#   ctl ARGS...        tvamctl on $sock
#   start_tvamd [ARGS] start tvamd (with ARGS) in the background ($pid), wait for
#                      its socket; variables set on the call (VAR=x start_tvamd)
#                      reach it
#   stop_tvamd         stop it
#   reset_tpm          stop tvamd if it runs, then an orderly TPM reset
#   unseal TOKEN       update-tool unseal TOKEN with tvamd's policy.json
#   refused PATTERN COMMAND...
#                      COMMAND exits $want_status (default 1) and its stderr
#                      matches PATTERN (grep); prints the refusal
command -v swtpm_ioctl >/dev/null || { echo "swtpm_ioctl missing"; exit 77; }
command -v tpm2_startup >/dev/null || { echo "tpm2-tools missing"; exit 77; }
[ -n "${TVAM_TEST_SWTPM_CTRL:-}" ] || { echo "run under with-swtpm"; exit 77; }

w=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$w"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$w/tvamd.log" ] && sed 's/^/tvamd: /' "$w/tvamd.log" >&2; exit 1; }
say() { echo "== $*"; }
sock=$w/run/tvamd.sock
state=$w/state
ctl() { "$tvamctl" --socket "$sock" "$@"; }

start_tvamd() {
    "$tvamd" --sshd-stop-command true --ssh-host-key "$w/ssh/ssh_host_ed25519_key" --socket "$sock" --state-dir "$state" --tcti "$TVAM_TEST_TCTI" --launch-pcrs "$launch_pcrs" \
        "$@" >> "$w/tvamd.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && ctl version >/dev/null 2>&1 && return; sleep 0.05; done
    fail "tvamd did not start"
}
stop_tvamd() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; rm -f "$sock"; }
reset_tpm() {
    [ -n "$pid" ] && stop_tvamd
    # an orderly reboot: without TPM2_Shutdown the TPM counts a DA failure
    # (Part 1 §19.8.6), and the admin index is DA-protected
    tpm2_shutdown -c
    swtpm_ioctl --tcp "$TVAM_TEST_SWTPM_CTRL" -i >/dev/null
    tpm2_startup -c
}
unseal() { "$tool" unseal "$1" "$state/policy.json"; }
refused() {  # PATTERN COMMAND...
    local pat=$1; shift
    set +e; "$@" > "$w/out" 2> "$w/err"; local s=$?; set -e
    [ $s -eq "${want_status:-1}" ] || fail "'$*' exited $s, expected ${want_status:-1}: $(cat "$w/err")"
    grep -q "$pat" "$w/err" || fail "'$*': message lacks '$pat': $(cat "$w/err")"
    echo "   refused as expected: $(cat "$w/err")"
}

printf 'the admin secret\n' > "$w/admin"
