#!/bin/bash
# System scenario: the platform disk boots under OVMF (UEFI) with swtpm.
#   boot 1 (first boot): GRUB (tpm module) loads kernel + initramfs; base-1's
#     key is enrolled to this machine's launch PCRs (trusted installation),
#     base-1 is measured into PCR 14 = the value predicted at build time,
#     mounted; the signed patches are applied, the unsigned and the wrongly
#     signed one are rejected by name; userspace reaches Update Mode and
#     tvamd prints the new SSH host key's fingerprint: the administrator
#     pins it.
#   boot 2 (the administrator at work): the key unseals from the TPM (no
#     enrolment, key file gone), PCR 14 again as predicted; SSH from the host
#     (forwarded port) with the pinned host key works, a wrong pin is
#     refused; the sealed SSH key unseals in Update Mode (tpm2-tools check);
#     the firmware + GRUB event log replays to the TPM's PCRs (policy init,
#     update prepare of a new initrd, policy show, abort); the sample VM is
#     imported and its group marked for autostart; power-off.
#   boot 3 (nobody logs in): the Update-Mode timeout (a signed patch sets
#     it) switches to Application Mode: PCR 15 changed, sshd gone (service,
#     listener, the host cannot connect), the key file gone, the sealed key
#     refused by the TPM, the sample VM started by autostart prints its
#     marker.
#   tamper: one byte of base-1 changed -> the boot halts naming the
#     PCR 14 measurement / expected hash.
#   boots 4-6 (an update, docs/update.md): prepare a new kernel and initrd
#     from the real event log and install them; the next boot unseals base-1
#     and the SSH key through their policy indices, PCRs 8/9 = the
#     prediction, commit, an open SSH session ends at the switch, the sample
#     VM starts; the old kernel and initrd afterwards halt at base-1's key
#     naming PCR 9.
# Needs root, the lab (to assemble the disk), qemu, OVMF, swtpm.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/matches.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/system
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
for tool in qemu-system-x86_64 swtpm debootstrap mksquashfs openssl grub-mkimage bc ssh ssh-keyscan ssh-keygen jq; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "OVMF missing"; exit 77; }
cache=${TVAM_CACHE_DIR:-$repo/.cache}/system
mkdir -p "$cache"
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
finish() { echo "1..$n"; exit $fail; }
extend() { python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' "$@"; }

# 1. Administrator key (test only) and the base image with its certificate.
if [ ! -s "$cache/admin.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$cache/admin.key" \
        -out "$cache/admin.pem" -subj /CN=tvam-test-admin -days 3650 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$cache/other.key" 2>/dev/null
fi
# The administrator's SSH key (its public half reaches the platform in a
# signed configuration patch) and the policy admin secret (test only).
[ -s "$cache/admin_ssh" ] || ssh-keygen -q -t ed25519 -N '' -C tvam-test-admin -f "$cache/admin_ssh"
[ -s "$cache/policy-admin.key" ] || (umask 077; head -c 32 /dev/urandom > "$cache/policy-admin.key")
sample=${TVAM_CACHE_DIR:-$repo/.cache}/sample-vm/sample-vm.img
[ -s "$sample" ] || "$repo/images/sample-vm/build" >&2 || { no "sample VM image build"; finish; }
if [ "${TVAM_SYSTEM_REUSE_BASE:-0}" = 1 ] && [ -s "$cache/base/base.squashfs" ]; then
    echo "# reusing $cache/base (TVAM_SYSTEM_REUSE_BASE=1)"
else
    "$repo/images/base/build" --out "$cache/base" --admin-cert "$cache/admin.pem" >&2 ||
        { no "base image build"; finish; }
fi
echo "# base: $(grep -E '^(sha256|squashfs_bytes|seconds_total)=' "$cache/base/build-info" | tr '\n' ' ')"

# 2. Patches: one good, one unsigned, one signed by a stranger.
p=$cache/patches
rm -rf "$p"
mkpatch() { # NAME SEQ KEY|none MODE:PATH:CONTENT...
    local d=$p/$1 seq=$2 key=$3 spec mode path; shift 3
    mkdir -p "$d"
    printf 'tvam-patch 1\nsequence %s\n' "$seq" > "$d/manifest"
    for spec in "$@"; do
        mode=${spec%%:*} spec=${spec#*:} path=${spec%%:*}
        mkdir -p "$(dirname "$d/files$path")"
        printf '%s\n' "${spec#*:}" > "$d/files$path"
        printf 'file %s %s %s\n' "$mode" "$(sha256sum < "$d/files$path" | cut -d' ' -f1)" "$path" >> "$d/manifest"
    done
    [ "$key" = none ] || openssl dgst -sha256 -sign "$key" -out "$d/manifest.sig" "$d/manifest"
}
update_mode_timeout=${TVAM_SYSTEM_UPDATE_MODE_TIMEOUT:-180}
mkpatch 10-motd 1 "$cache/admin.key" "0644:/etc/motd:TVAM platform (patched by the administrator)"
mkpatch 20-unsigned 2 none "0644:/etc/motd:unsigned"
mkpatch 30-stranger 3 "$cache/other.key" "0644:/etc/motd:stranger"
mkpatch 40-admin-access 4 "$cache/admin.key" \
    "0644:/etc/tvam/ssh/authorized_keys:$(cat "$cache/admin_ssh.pub")" \
    "0644:/etc/systemd/system/tvamd.service.d/zz-update-mode.conf:$(printf '[Service]\nEnvironment=TVAM_UPDATE_MODE_TIMEOUT=%s' "$update_mode_timeout")"

# 3. Platform disk (assembled in the lab).
"$repo/images/platform/build" --out "$cache/platform" --base "$cache/base" --patches "$p" >&2 ||
    { no "platform disk assembly"; finish; }
. <(sed 's/^/pred_/' "$cache/platform/predicted")
ok "platform disk assembled; predicted PCR 14 after base-1: $pred_pcr14_sha256"

machine=$cache/machine
rm -rf "$machine"; mkdir -p "$machine"
cp --sparse=always "$cache/platform/platform.img" "$machine/disk.img"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$machine/vars.fd"

report() { grep -a "TVAM-REPORT: $2" "$1" | head -n1 | sed "s/.*TVAM-REPORT: $2 *//" | tr -d '\r'; }
pcr14_initramfs() { grep -a "TVAM: PCR 14 sha256" "$1" | head -n1 | awk '{ print $NF }' | tr -d '\r'; }
# Each applied patch is a TVAM event H("sha256:" + hex(SHA-256(manifest))),
# extended in sequence order.
patch_event() { printf 'sha256:%s' "$(sha256sum < "$p/$1/manifest" | cut -d' ' -f1)" | sha256sum | cut -d' ' -f1; }
want_after_patch=$(extend "$(extend "$pred_pcr14_sha256" "$(patch_event 10-motd)")" "$(patch_event 40-admin-access)")

# 4. First boot.
"$here/ovmf-boot" "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot1.log" 1200 > "$machine/boot1.phases"
rc=$?
cat "$machine/boot1.phases" | sed 's/^/# boot 1 /'
check "boot 1 reaches userspace (exit $rc)" test "$rc" -eq 0
check "boot 1: first-boot enrolment to the launch PCRs" grep -aq "first boot: enrolling the key of base-1" "$machine/boot1.log"
check "boot 1: PCR 14 after base-1 = predicted at build time" test "$(pcr14_initramfs "$machine/boot1.log")" = "$pred_pcr14_sha256"
check "boot 1: signed patches applied" grep -aq "Configuration patch '10-motd' applied" "$machine/boot1.log"
check "boot 1: signed patch with the SSH access and the timeout applied" grep -aq "Configuration patch '40-admin-access' applied" "$machine/boot1.log"
check "boot 1: unsigned patch rejected" grep -aq "'20-unsigned' REJECTED: unsigned" "$machine/boot1.log"
check "boot 1: wrongly signed patch rejected" grep -aq "'30-stranger' REJECTED: the signature does not verify" "$machine/boot1.log"
check "boot 1: PCR 14 in userspace = prediction extended by the applied manifests" \
    test "$(report "$machine/boot1.log" pcr14-sha256)" = "$want_after_patch"
check "boot 1: Update Mode ($(report "$machine/boot1.log" mode:))" bash -c "grep -a 'TVAM-REPORT: mode:' '$machine/boot1.log' | grep -qi update"
check "boot 1: GRUB measured into PCRs 8/9 ($(report "$machine/boot1.log" pcr8-sha256 | head -c 16)…)" \
    bash -c "[ -n \"\$(grep -a 'TVAM-REPORT: pcr8-sha256 ' '$machine/boot1.log' | grep -v ' 0000000000000000000000000000000000000000000000000000000000000000')\" ]"
# GRUB's PCRs 8/9 were predicted at build time (tvam-policy grub-predict on
# the boot partition); the enrolment compared the TPM with that prediction
# before it sealed (store:/enrol/base-1.expect).
check "boot 1: PCR 8 = build-time prediction (${pred_pcr8_sha256:-none})" \
    test "$(report "$machine/boot1.log" pcr8-sha256)" = "${pred_pcr8_sha256:-none}"
check "boot 1: PCR 9 = build-time prediction (${pred_pcr9_sha256:-none})" \
    test "$(report "$machine/boot1.log" pcr9-sha256)" = "${pred_pcr9_sha256:-none}"
check "boot 1: the enrolment checked PCRs 8, 9 against the build-time prediction before sealing" \
    grep -aq "PCRs 8, 9 equal the build-time prediction (/run/tvam/store/enrol/base-1.expect): checked before sealing" "$machine/boot1.log"
# The administrator pins the fingerprint tvamd printed when it created the key.
# The report line is ssh-keygen -l's: "256 SHA256:… COMMENT (ED25519)".
fingerprint() { report "$1" ssh-host-key: | awk '{ print $2 }'; }
pinned=$(fingerprint "$machine/boot1.log")
check "boot 1: the SSH host key's fingerprint is printed for pinning ($(report "$machine/boot1.log" ssh-host-key:))" \
    matches -E '^SHA256:[A-Za-z0-9+/]{43}$' <<< "$pinned"

# 5. Second boot: the sealed key opens base-1; the administrator logs in over
#    SSH with the pinned host key and prepares Application Mode.
# The forwarded port: below Linux's ephemeral range (32768-60999, where an
# outgoing connection may hold any port) and not listening already.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((10000 + RANDOM % 20000))
        ss -Htan "( sport = :$p )" | grep -q . || { echo "$p"; return; }
    done
    return 1
}
port=${TVAM_SYSTEM_SSH_PORT:-$(free_port)}
export machine port sample cache
export pinned=${pinned:-none}
sshx() { # the administrator's ssh: pinned host key only, a terminal (= a login record)
    ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$machine/known_hosts" -o IdentitiesOnly=yes \
        -o IdentityFile="$cache/admin_ssh" -o BatchMode=yes -o ConnectTimeout=30 -o LogLevel=ERROR \
        -p "$port" root@127.0.0.1 "$@"
}
step() { # NAME COMMAND...: run, record "NAME EXIT" in ssh.results, output in ssh.log
    local name=$1 rc; shift
    echo "== $name" >> "$machine/ssh.log"
    "$@" >> "$machine/ssh.log" 2>&1; rc=$?
    echo "$name $rc" >> "$machine/ssh.results"
    return $rc
}
admin_session() {
    : > "$machine/ssh.results"; : > "$machine/ssh.log"
    # Pin: the key the machine offers must have the fingerprint from boot 1.
    ssh-keyscan -T 30 -t ed25519 -p "$port" 127.0.0.1 > "$machine/keyscan" 2>> "$machine/ssh.log"
    echo "offered $(ssh-keygen -lf "$machine/keyscan" | awk '{ print $2 }')" >> "$machine/ssh.results"
    [ "$(ssh-keygen -lf "$machine/keyscan" | awk '{ print $2 }')" = "$pinned" ] || return 1
    cp "$machine/keyscan" "$machine/known_hosts"
    # A wrong pin: the same address with another key must be refused.
    ssh-keygen -q -t ed25519 -N '' -f "$machine/stranger" <<< y > /dev/null
    echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$machine/stranger.pub")" > "$machine/known_hosts.wrong"
    step wrong-pin ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$machine/known_hosts.wrong" \
        -o IdentitiesOnly=yes -o IdentityFile="$cache/admin_ssh" -o BatchMode=yes -p "$port" root@127.0.0.1 true
    step login sshx -tt 'tvamctl mode status'
    step status-json sshx 'tvamctl --json mode status'
    step unseal-update-mode sshx /usr/lib/tvam/tvam-unseal-check /run/tvam/store/tvamd/ssh/ssh_host_ed25519_key.sealed
    # The firmware + GRUB event log of this boot replays to the TPM's PCRs
    # (update prepare refuses otherwise, naming PCR and event).
    step policy-init sshx 'umask 077; cat > /run/admin.key && tvamctl --json policy init --admin-key-file /run/admin.key' < "$cache/policy-admin.key"
    step policy-diagnose sshx tvamctl policy diagnose
    # A new initrd (the same one with 512 zero bytes appended, which the
    # kernel's initramfs unpacker skips: a new file for GRUB to measure): the
    # next state is predicted from the real log.
    step update-prepare sshx 'mkdir -p /run/esp && mount -o ro /dev/vda2 /run/esp && cp /run/esp/initrd.img /run/next-initrd.img && umount /run/esp &&
        head -c 512 /dev/zero >> /run/next-initrd.img && tvamctl update prepare --initrd /run/next-initrd.img --admin-key-file /run/admin.key'
    step policy-show sshx tvamctl --json policy show
    step update-abort sshx 'tvamctl update abort --admin-key-file /run/admin.key; rc=$?; rm -f /run/admin.key /run/next-initrd.img; exit $rc'
    # The sample application, imported now and started by autostart later.
    step upload sshx 'cat > /run/sample.img' < "$sample"
    step import sshx 'tvamctl import sample /run/sample.img --read-only && rm /run/sample.img'
    step group sshx 'printf "%s\n" "{ \"name\": \"demo\", \"applications\": [ { \"name\": \"sample\" } ], \"autostart\": true }" > /run/demo.json && tvamctl group add /run/demo.json && tvamctl group list'
    # Past the timeout the login (the -tt session above) keeps Update Mode.
    step still-update-mode sshx 'for i in $(seq 90); do tvamctl --json mode status | grep -q "\"login_seen\": *true" && break; sleep 5; done; tvamctl --json mode status'
    step poweroff sshx 'systemctl poweroff'
    return 0
}
export -f sshx step admin_session
"$here/ovmf-boot" --ssh-port "$port" --then admin_session \
    "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot2.log" 1500 > "$machine/boot2.phases"
rc=$?
sed 's/^/# boot 2 /' "$machine/boot2.phases"
sed 's/^/# boot 2 ssh: /' "$machine/ssh.log" | cut -c1-200 | head -n 80
result() { awk -v s="$1" '$1 == s { print $2 }' "$machine/ssh.results"; }
section() { awk -v h="== $1" '$0 == h { on = 1; next } /^== / { on = 0 } on' "$machine/ssh.log" | tr -d '\r'; }
check "boot 2 reaches userspace (exit $rc)" test "$rc" -eq 0
check "boot 2: unsealed without enrolment" \
    bash -c "grep -aq 'TVAM: root:' '$machine/boot2.log' && ! grep -aq 'first boot: enrolling' '$machine/boot2.log'"
check "boot 2: the enrolment key is gone from the store ($(report "$machine/boot2.log" enrol-keys:))" \
    test "$(report "$machine/boot2.log" enrol-keys:)" = none
check "boot 2: PCR 14 = predicted" test "$(pcr14_initramfs "$machine/boot2.log")" = "$pred_pcr14_sha256"
check "boot 2: the same SSH host key as boot 1 (sealed, not regenerated)" test "$(fingerprint "$machine/boot2.log")" = "$pinned"
check "boot 2: the host key offered over SSH has the pinned fingerprint ($(result offered))" test "$(result offered)" = "$pinned"
check "boot 2: a wrong pin is refused by ssh (exit $(result wrong-pin))" test "$(result wrong-pin)" = 255
check "boot 2: ssh login with the pinned key: tvamctl mode status says update" \
    bash -c "[ '$(result login)' = 0 ] && [ '$(section login | head -n 1)' = update ]"
check "boot 2: the sealed SSH key unseals in Update Mode (tpm2-tools; $(section unseal-update-mode))" \
    test "$(result unseal-update-mode)" = 0
check "boot 2: policy init on the real firmware + GRUB event log" test "$(result policy-init)" = 0
check "boot 2: policy init re-sealed base-1's key through the boot index and the SSH host key through the Update-Mode index" \
    jq -e '.result.base_key == "re-sealed through the boot index" and .result.ssh_host_key == "re-sealed through the Update-Mode index"' \
    <<< "$(section policy-init)"
check "boot 2: policy diagnose: the TPM is in the authorized state" test "$(result policy-diagnose)" = 0
check "boot 2: update prepare predicts the next state from the real log (new initrd)" test "$(result update-prepare)" = 0
section policy-show > "$machine/policy-show.json"
# In Update Mode PCR 15 is compared with its Application-Mode value (docs/update.md).
policy_show_ok() { # one JSON document; current = TPM (but 15); next differs in PCR 9 only
    [ "$(jq -s length "$machine/policy-show.json" 2>/dev/null)" = 1 ] &&
    jq -e '.result.states as $s |
           ([$s[] | select(.role == "current")] | length == 1) and ([$s[] | select(.role == "next")] | length == 1) and
           ($s[] | select(.role == "current") | [.pcrs[] | select(.pcr != 15) | .match] | all) and
           ($s[] | select(.role == "next") | [.pcrs[] | select(.pcr != 15) | select(.match | not) | .pcr] == [9])' \
        "$machine/policy-show.json" > /dev/null
}
check "boot 2: policy show: the current state = the TPM's PCRs (replayed log), the next state differs in PCR 9 only ($(jq -r '.result.states[] | select(.role == "next") | .pcrs[] | select(.pcr == 9) | .provenance' "$machine/policy-show.json" 2>/dev/null | cut -c1-90))" \
    policy_show_ok
check "boot 2: update abort" test "$(result update-abort)" = 0
check "boot 2: the sample VM imported and its group marked for autostart" \
    bash -c "[ '$(result import)' = 0 ] && [ '$(result group)' = 0 ]"
check "boot 2: the login kept the platform in Update Mode past the timeout" \
    bash -c "[ \"\$(jq -s 'length' <<< '$(section still-update-mode)')\" = 1 ] && jq -e '.result.mode == \"update\" and .result.login_seen' <<< '$(section still-update-mode)' >/dev/null"
check "boot 2: powered off by the administrator" test "$(result poweroff)" != ""

# 6. Third boot: nobody logs in; the timeout switches to Application Mode.
no_ssh_after_switch() {
    ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$machine/known_hosts" -o IdentitiesOnly=yes \
        -o IdentityFile="$cache/admin_ssh" -o BatchMode=yes -o ConnectTimeout=20 -p "$port" root@127.0.0.1 true \
        > "$machine/ssh-after.log" 2>&1
    echo "ssh-after-switch $?" > "$machine/ssh-after.result"
}
export -f no_ssh_after_switch
TVAM_OVMF_POWEROFF_WAIT=0 "$here/ovmf-boot" --ssh-port "$port" --until "TVAM-REPORT: app-mode done" --then no_ssh_after_switch \
    "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot3.log" 1800 > "$machine/boot3.phases"
rc=$?
sed 's/^/# boot 3 /' "$machine/boot3.phases"
grep -a 'TVAM-REPORT: app-mode' "$machine/boot3.log" | tr -d '\r' | sed 's/^/# boot 3 /'
appmode() { report "$machine/boot3.log" "app-mode $1"; }
check "boot 3 reaches Application Mode and its report (exit $rc)" test "$rc" -eq 0
check "boot 3: base-1's key unsealed through the boot policy index ($(grep -a -m1 'boot policy index' "$machine/boot3.log" | tr -d '\r' | cut -c1-100))" \
    grep -aq "TVAM: The boot policy index 0x01800a04 holds the authorized set" "$machine/boot3.log"
check "boot 3: Update Mode first, with the same host key" \
    bash -c "[ '$(report "$machine/boot3.log" mode:)' = update ] && [ '$(fingerprint "$machine/boot3.log")' = '$pinned' ]"
check "boot 3: the switch came from the timeout ($update_mode_timeout s without a login)" \
    matches -F "no login within $update_mode_timeout s: leaving Update Mode" <<< "$(appmode reason)"
check "boot 3: PCR 15 changed from 0 ($(appmode pcr15-sha256 | head -c 16)…)" \
    bash -c "v='$(appmode pcr15-sha256)'; [ \${#v} -eq 64 ] && [ \"\$v\" != 0000000000000000000000000000000000000000000000000000000000000000 ]"
check "boot 3: sshd is stopped ($(appmode sshd-service)) and nothing listens on port 22" \
    bash -c "[ '$(appmode sshd-service)' != active ] && [ '$(appmode sshd-listeners)' = 0 ]"
check "boot 3: the host can no longer log in (ssh exit $(cut -d' ' -f2 "$machine/ssh-after.result" 2>/dev/null))" \
    test "$(cut -d' ' -f2 "$machine/ssh-after.result" 2>/dev/null)" = 255
check "boot 3: the unsealed key file is gone" test "$(appmode ssh-key-file)" = gone
check "boot 3: the sealed SSH key no longer unseals ($(appmode ssh-key-unseal))" \
    bash -c "[[ '$(appmode ssh-key-unseal)' == 'refused: PCR 15 differs from every authorized state'* ]]"
check "boot 3: the autostart group started the sample VM ($(appmode 'vm sample:'))" \
    bash -c "[[ '$(appmode 'vm sample:')' == *'marker OK'* ]]"

# 7. Tamper: one byte inside base-1's encrypted image area.
start=$(sfdisk --json "$machine/disk.img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][2]["start"])')
# PV data starts 1 MiB into partition 3 (LVM default pe_start); base-1 is the
# first LV; its LUKS2 data starts after the 16 MiB header; +64 MiB is inside
# the squashfs.
off=$(( start * 512 + (1 + 16 + 64) * 1048576 + 4321 ))
cp --sparse=always "$machine/disk.img" "$machine/tampered.img"
b=$(dd if="$machine/tampered.img" bs=1 skip=$off count=1 status=none | xxd -p)
printf "\\x$(printf %02x $(( 0x$b ^ 0xff )))" | dd of="$machine/tampered.img" bs=1 seek=$off conv=notrunc status=none
"$here/ovmf-boot" "$machine/tampered.img" "$machine/tpm" "$machine/vars.fd" "$machine/tamper.log" 1200 > /dev/null
rc=$?
check "tampered base-1: the boot halts (exit $rc)" test "$rc" -eq 3
check "tampered base-1: halt names the PCR 14 measurement ($(grep -a 'BOOT HALTED' "$machine/tamper.log" | head -n1 | tr -d '\r' | cut -c1-120))" \
    grep -aq "BOOT HALTED: measuring base-1 into PCR 14" "$machine/tamper.log"
check "tampered base-1: the differing digest is named" grep -aq "differs from the expected $pred_base_sha256" "$machine/tamper.log"
check "tampered base-1: no userspace" bash -c "! grep -aq 'TVAM-REPORT' '$machine/tamper.log'"

# 8. An update without exposing a key (docs/update.md): a new kernel and a
#    new initrd (the same files with 512 zero bytes appended — the kernel's
#    decompressor and its initramfs unpacker ignore them — so other files
#    for GRUB to measure into PCR 9).
#    boot 4: prepare (predicted from this boot's real firmware + GRUB log),
#      the new kernel and initrd installed on the boot partition, power-off;
#    boot 5: the new kernel and initrd boot: base-1's key unseals through the boot
#      index, PCRs 8/9 = predicted before the boot, the SSH host key unseals
#      (same fingerprint), commit; an open SSH session ends when the
#      administrator switches to Application Mode; the sample VM starts;
#    boot 6: the old kernel and initrd put back: the old state is revoked,
#      the boot halts at base-1's key naming PCR 9.
esp_start=$(sfdisk --json "$machine/disk.img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["start"])')
old_initrd=$cache/base/initrd.img old_kernel=$cache/base/vmlinuz
cp "$old_initrd" "$machine/next-initrd.img"
head -c 512 /dev/zero >> "$machine/next-initrd.img"
cp "$old_kernel" "$machine/next-vmlinuz"
head -c 512 /dev/zero >> "$machine/next-vmlinuz"
update_prepare_session() {
    : > "$machine/ssh.results"; : > "$machine/ssh.log"
    step admin-key sshx 'umask 077; cat > /run/admin.key' < "$cache/policy-admin.key"
    step upload-initrd sshx 'cat > /run/next-initrd.img' < "$machine/next-initrd.img"
    step upload-kernel sshx 'cat > /run/next-vmlinuz' < "$machine/next-vmlinuz"
    step update-prepare sshx 'tvamctl update prepare --kernel /run/next-vmlinuz --initrd /run/next-initrd.img --admin-key-file /run/admin.key'
    step policy-show sshx tvamctl --json policy show
    step install sshx 'mkdir -p /run/esp && mount /dev/vda2 /run/esp && cp /run/next-vmlinuz /run/esp/vmlinuz && cp /run/next-initrd.img /run/esp/initrd.img && sync && umount /run/esp'
    step poweroff sshx 'rm -f /run/admin.key; systemctl poweroff'
    return 0
}
export -f update_prepare_session
"$here/ovmf-boot" --ssh-port "$port" --then update_prepare_session \
    "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot4.log" 1500 > "$machine/boot4.phases"
rc=$?
sed 's/^/# boot 4 ssh: /' "$machine/ssh.log" | cut -c1-200 | head -n 40
check "boot 4 reaches userspace (exit $rc)" test "$rc" -eq 0
check "boot 4: update prepare with the new kernel and initrd" test "$(result update-prepare)" = 0
section policy-show > "$machine/policy-show-update.json"
next_pcr() { jq -r --argjson p "$1" '.result.states[] | select(.role == "next") | .pcrs[] | select(.pcr == $p) | .expected' \
    "$machine/policy-show-update.json" 2>/dev/null; }
check "boot 4: the new kernel and initrd installed on the boot partition" test "$(result install)" = 0
pcr9_before=$(report "$machine/boot4.log" pcr9-sha256)

update_commit_session() {
    : > "$machine/ssh.results"; : > "$machine/ssh.log"
    ssh-keyscan -T 30 -t ed25519 -p "$port" 127.0.0.1 > "$machine/keyscan" 2>> "$machine/ssh.log"
    echo "offered $(ssh-keygen -lf "$machine/keyscan" | awk '{ print $2 }')" >> "$machine/ssh.results"
    step admin-key sshx 'umask 077; cat > /run/admin.key' < "$cache/policy-admin.key"
    step update-commit sshx 'tvamctl update commit --admin-key-file /run/admin.key; rc=$?; rm -f /run/admin.key; exit $rc'
    # An administrator session left open, then the switch to Application
    # Mode (from a transient unit, outside any SSH session): the session ends.
    sshx -tt 'echo session-open; sleep 600' > "$machine/open-session.log" 2>&1 &
    local open_pid=$!
    sleep 5
    step switch sshx 'systemd-run --quiet --no-block --unit=tvam-test-switch "$(command -v tvamctl)" mode application'
    local waited=0
    while kill -0 "$open_pid" 2>/dev/null && [ $waited -lt 120 ]; do sleep 1; waited=$((waited + 1)); done
    if kill -0 "$open_pid" 2>/dev/null; then
        kill "$open_pid"; echo "open-session still-open" >> "$machine/ssh.results"
    else
        wait "$open_pid"; echo "open-session $?" >> "$machine/ssh.results"
    fi
    # wait for the Application-Mode report (the sample VM's marker)
    for _ in $(seq 300); do grep -aq "TVAM-REPORT: app-mode done" "$machine/boot5.log" && break; sleep 2; done
    return 0
}
export -f update_commit_session
TVAM_OVMF_POWEROFF_WAIT=0 "$here/ovmf-boot" --ssh-port "$port" --then update_commit_session \
    "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot5.log" 1800 > "$machine/boot5.phases"
rc=$?
sed 's/^/# boot 5 /' "$machine/boot5.phases"
sed 's/^/# boot 5 ssh: /' "$machine/ssh.log" | cut -c1-200 | head -n 40
grep -a 'TVAM-REPORT: app-mode' "$machine/boot5.log" | tr -d '\r' | sed 's/^/# boot 5 /'
appmode5() { report "$machine/boot5.log" "app-mode $1"; }
check "boot 5 (new kernel and initrd) reaches userspace (exit $rc)" test "$rc" -eq 0
check "boot 5: base-1's key unsealed through the boot index, which authorizes the current and the next state" \
    grep -aq "TVAM: The boot policy index 0x01800a04 holds the authorized set .* (2 states)" "$machine/boot5.log"
check "boot 5: PCR 9 changed ($(report "$machine/boot5.log" pcr9-sha256 | head -c 16)… after ${pcr9_before:0:16}…)" \
    bash -c "[ -n '$pcr9_before' ] && [ '$(report "$machine/boot5.log" pcr9-sha256)' != '$pcr9_before' ]"
check "boot 5: PCRs 8 and 9 = the next state predicted before the boot (boot 4, real event log)" \
    bash -c "[ -n '$(next_pcr 9)' ] && [ '$(report "$machine/boot5.log" pcr9-sha256)' = '$(next_pcr 9)' ] && [ '$(report "$machine/boot5.log" pcr8-sha256)' = '$(next_pcr 8)' ]"
check "boot 5: the SSH host key unsealed in the new state: the pinned key is offered ($(result offered))" \
    test "$(result offered)" = "$pinned"
check "boot 5: update commit (inside the next state)" test "$(result update-commit)" = 0
check "boot 5: the open SSH session ended when Application Mode began (ssh exit $(result open-session))" \
    test "$(result open-session)" = 255
check "boot 5: sshd gone ($(appmode5 sshd-service), $(appmode5 sshd-listeners) listeners)" \
    bash -c "[ '$(appmode5 sshd-service)' != active ] && [ '$(appmode5 sshd-listeners)' = 0 ]"
check "boot 5: the application starts after the update ($(appmode5 'vm sample:'))" \
    bash -c "[[ '$(appmode5 'vm sample:')' == *'marker OK'* ]]"

# boot 6: the old kernel and initrd again (written from the host, the machine is off).
MTOOLS_SKIP_CHECK=1 mcopy -o -i "$machine/disk.img@@$((esp_start * 512))" "$old_initrd" ::/initrd.img
MTOOLS_SKIP_CHECK=1 mcopy -o -i "$machine/disk.img@@$((esp_start * 512))" "$old_kernel" ::/vmlinuz
"$here/ovmf-boot" "$machine/disk.img" "$machine/tpm" "$machine/vars.fd" "$machine/boot6.log" 1200 > /dev/null
rc=$?
check "boot 6 (old kernel and initrd after commit): the boot halts (exit $rc)" test "$rc" -eq 3
check "boot 6: base-1's key refused, naming PCR 9 ($(grep -a -m1 'Cannot unseal the key' "$machine/boot6.log" | tr -d '\r' | cut -c1-120))" \
    grep -aq "PCR 9 differs from every authorized state" "$machine/boot6.log"
check "boot 6: halted at the unseal, before any root" \
    bash -c "grep -aq 'BOOT HALTED: the key of tvam/base-1 did not unseal' '$machine/boot6.log' && ! grep -aq 'TVAM-REPORT' '$machine/boot6.log'"
finish
