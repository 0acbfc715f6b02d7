#!/bin/bash
# 40-virt — tvam/virt against the lab's libvirtd and KVM (driven through
# tests/lab/virt/test-virt, which exits with the errno the module returned):
#   * a closed-box domain from the module boots the sample VM from a loop
#     device; its marker reaches the serial log file;
#   * the live domain has no graphics, no PTY and no interactive console
#     (virsh console is refused), no balloon, video 'none';
#   * state/list say running (with an uptime); starting the same name
#     again is refused with EEXIST and libvirt's message;
#   * a read-only disk is read-only for the guest: <readonly/> in the live
#     XML, QEMU reports the block device "ro", it runs on a read-only loop
#     device, and its content is unchanged afterwards;
#   * stop = ACPI power button: the guest powers off by itself within the
#     timeout; stop with --force / timeout 0 destroys; afterwards the state
#     is "not found"; stopping an unknown name is ENOENT.
# The sample image goes on loop devices (a copy in /run for read-write, the
# image itself read-only), never on the shared scratch disk /dev/vda.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
tool=${TVAM_BUILD_DIR:?}/tests/lab/virt/test-virt
image=${TVAM_SAMPLE_VM:?}
if [ ! -x "$tool" ]; then echo "SKIP: $tool is not built"; exit 77; fi
[ -e /dev/kvm ] || fail "/dev/kvm is missing"
virsh -q version >/dev/null || fail "libvirtd does not answer"

work=/run/tvam-40
rw=tvam-virt-rw ro=tvam-virt-ro
rw_log=/var/log/tvam-virt-rw.log ro_log=/var/log/tvam-virt-ro.log
marker='TVAM-SAMPLE-VM: .*marker OK'
loops=()

cleanup() {
    set +e
    for d in "$rw" "$ro"; do timeout 60 virsh -q destroy "$d" >/dev/null 2>&1; done
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# expect_errno ERRNO DESCRIPTION COMMAND... — COMMAND fails with exactly ERRNO
# (test-virt's exit status); its one-line message is echoed.
expect_errno() {
    local want=$1 what=$2 status=0; shift 2
    "$@" > "$work/out" 2> "$work/err" || status=$?
    [ "$status" -eq "$want" ] || fail "$what: exit $status, expected $want ($(cat "$work/err"))"
    # One line, ours: libvirt itself printed nothing (virSetErrorFunc).
    [ "$(wc -l < "$work/err")" -eq 1 ] || fail "$what: more than one line on stderr: $(cat "$work/err")"
    cat "$work/err"
}

mkdir -p "$work"
rm -f "$rw_log" "$ro_log"
cp "$image" "$work/rw.img"
loop_rw=$(losetup -f --show "$work/rw.img"); loops+=("$loop_rw")
loop_ro=$(losetup -f --show --read-only "$image"); loops+=("$loop_ro")
ro_sum_before=$(sha256sum < "$loop_ro" | cut -d' ' -f1)

# --- start, marker ------------------------------------------------------------
start=$SECONDS
"$tool" start "$rw" --memory 192 --serial-log "$rw_log" --disk "$loop_rw:tvam-rw"
"$tool" wait-marker "$rw_log" 'marker OK' 240
grep -q "$marker" "$rw_log" || fail "marker line malformed: $(tr -d '\r' < "$rw_log" | tail -n 3)"
pid=$(cat "/run/libvirt/qemu/$rw.pid")
qemu_cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline")
grep -Eq -- '-accel kvm|accel=kvm|-enable-kvm' <<< "$qemu_cmdline" || fail "QEMU of $rw does not use KVM: $qemu_cmdline"
say "PROVED: virt_start (virDomainCreateXML, transient) booted the sample VM under KVM from $loop_rw; marker after $((SECONDS - start))s: $(grep -a 'marker OK' "$rw_log" | tr -d '\r')"

# --- closed box ------------------------------------------------------------------
virsh dumpxml "$rw" > "$work/rw.xml"
for absent in '<graphics' "type='pty'" '<channel' '<kernel' '<interface'; do
    if grep -q -- "$absent" "$work/rw.xml"; then fail "live XML of $rw contains $absent"; fi
done
grep -q "<model type='none'/>" "$work/rw.xml" || fail "video is not 'none'"
grep -q "<memballoon model='none'/>" "$work/rw.xml" || fail "a memory balloon is present"
grep -q "<driver name='qemu' type='raw' cache='none' io='native'/>" "$work/rw.xml" || fail "disk driver is not raw/cache=none/io=native"
[ "$(grep -c "<serial type=" "$work/rw.xml")" -eq 1 ] || fail "not exactly one serial device"
grep -q "<serial type='file'>" "$work/rw.xml" || fail "the serial device is not a file"
# libvirt mirrors serial0 as <console type='file'>: the same log file, no PTY.
if grep '<console' "$work/rw.xml" | matches -v "<console type='file'>"; then fail "a non-file console exists"; fi
transient=$(virsh dominfo "$rw" | awk '/^Persistent:/ {print $2}')
[ "$transient" = no ] || fail "domain is persistent"
# virsh console needs a terminal: give it one (script(1)).  virsh prints
# "Connected to domain" before it asks libvirt for the stream; the open must
# fail at once (libvirt: "character device ... is not using a PTY"), not be
# ended by the timeout (exit 124) as an attached console would be
# (--foreground: virsh must own the terminal, or it stops on SIGTTOU).
status=0
script -qec "timeout --foreground 15 virsh console $rw --force" /dev/null < /dev/null > "$work/console" 2>&1 || status=$?
tr -d '\r' < "$work/console" > "$work/console.txt"
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "virsh console was not refused (exit $status): $(cat "$work/console.txt")"
grep -qi 'error' "$work/console.txt" || fail "virsh console did not report an error: $(cat "$work/console.txt")"
say "PROVED: the live domain has no graphics, no PTY, no channel, no NIC, video none, no balloon, one serial (a file), virtio raw cache=none io=native, is transient; virsh console is refused: $(grep -m1 -i error "$work/console.txt")"

# --- state, list, duplicate start ----------------------------------------------------
[ "$("$tool" state "$rw")" = running ] || fail "state of $rw is not running"
"$tool" list > "$work/list"
uptime=$(awk -F'\t' -v n="$rw" '$1 == n && $2 == "running" {print $3}' "$work/list")
[ -n "$uptime" ] && [ "$uptime" -ge 0 ] || fail "list does not show $rw running with an uptime: $(cat "$work/list")"
msg=$(expect_errno 17 "second start of $rw" "$tool" start "$rw" --serial-log "$rw_log" --disk "$loop_rw")
say "PROVED: virt_state = running; virt_list shows $rw running, uptime ${uptime}s; a second start is refused: $msg"

# --- read-only disk -----------------------------------------------------------------
"$tool" start "$ro" --memory 192 --serial-log "$ro_log" --disk "$loop_ro:ro:tvam-ro"
virsh dumpxml "$ro" > "$work/ro.xml"
grep -A6 "<source dev='$loop_ro'" "$work/ro.xml" | matches '<readonly/>' || fail "no <readonly/> on $loop_ro"
virsh qemu-monitor-command "$ro" '{"execute":"query-block"}' > "$work/query-block"
# One disk, no CD-ROM: every "ro" QEMU reports for it must be true.
ro_flags=$(grep -o '"ro":[a-z]*' "$work/query-block" | sort -u)
[ "$ro_flags" = '"ro":true' ] || fail "QEMU does not report the disk read-only: $(cat "$work/query-block")"
"$tool" wait-marker "$ro_log" 'marker OK' 240
say "PROVED: a read-only disk: <readonly/> in the live XML, QEMU query-block reports ro=true (virtio-blk read-only to the guest), backed by read-only $loop_ro; the VM booted from it"

# --- stop: ACPI, then force -----------------------------------------------------------
start=$SECONDS
out=$("$tool" stop "$rw" --timeout 120)
[ "$out" = powered-off ] || fail "stop of $rw: $out, expected powered-off"
grep -q 'powering off' "$rw_log" || fail "$rw disappeared without its power-off message"
[ "$("$tool" state "$rw")" = "not found" ] || fail "$rw still exists after stop"
say "PROVED: virt_stop pressed the ACPI power button; the guest printed \"$(grep -a 'powering off' "$rw_log" | tr -d '\r')\" and was gone after $((SECONDS - start))s; state = not found"

out=$("$tool" stop "$ro" --timeout 0)
[ "$out" = destroyed ] || fail "stop --timeout 0 of $ro: $out, expected destroyed"
[ "$("$tool" state "$ro")" = "not found" ] || fail "$ro still exists after a forced stop"
if grep -q 'powering off' "$ro_log"; then fail "$ro got an ACPI power-off instead of a destroy"; fi
"$tool" start "$ro" --memory 192 --serial-log "$ro_log" --disk "$loop_ro:ro"
out=$("$tool" stop "$ro" --force)
[ "$out" = destroyed ] || fail "stop --force of $ro: $out, expected destroyed"
[ "$("$tool" state "$ro")" = "not found" ] || fail "$ro still exists after stop --force"
[ "$(sha256sum < "$loop_ro" | cut -d' ' -f1)" = "$ro_sum_before" ] || fail "the read-only disk changed"
say "PROVED: stop with timeout 0 and stop --force destroy at once (no ACPI power-off in the log); state = not found; the read-only disk is unchanged (sha256 $ro_sum_before)"

msg=$(expect_errno 2 "stop of an unknown domain" "$tool" stop tvam-virt-nonexistent --timeout 5)
say "PROVED: stopping an unknown domain is ENOENT: $msg"
