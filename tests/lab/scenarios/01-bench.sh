#!/bin/bash
# 01-bench — the lab bench itself works:
#   * /dev/tpmrm0 answers PCR reads (the firmware measured PCR 0),
#   * a LUKS2 volume on an LVM logical volume opens and round-trips data,
#   * libvirt starts the sample VM under KVM from that encrypted volume, its
#     marker appears on the serial log, and an ACPI shutdown powers it off.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
image=${TVAM_SAMPLE_VM:?}
disk=${TVAM_LAB_DISK:?}
vg=tvam-bench lv=sample mapped=tvam-bench-sample
export TPM2TOOLS_TCTI=device:/dev/tpmrm0

cleanup() {
    set +e
    timeout 60 virsh -q destroy tvam-bench >/dev/null 2>&1
    cryptsetup close "$mapped" 2>/dev/null
    vgremove -q -f "$vg" >/dev/null 2>&1
    pvremove -q -f "$disk" >/dev/null 2>&1
    rm -f /run/tvam-bench.key
}
trap cleanup EXIT

# --- TPM --------------------------------------------------------------------
pcr() { # PCR value as 0x<hex>, read in binary form (no text parsing)
    tpm2_pcrread "sha256:$1" -o /run/tvam-bench.pcr >/dev/null && echo "0x$(xxd -p -c 64 /run/tvam-bench.pcr)"
}
pcr0=$(pcr 0)
[ -n "$pcr0" ] || fail "no PCR 0 value from /dev/tpmrm0"
[ "$pcr0" != "0x$(printf '%064d' 0)" ] || fail "PCR 0 is zero: the firmware measured nothing"
digest=$(printf 'tvam-bench' | sha256sum | cut -d' ' -f1)
before=$(pcr 16)
tpm2_pcrextend "16:sha256=$digest"
expected=$( (printf '%s' "${before#0x}"; printf '%s' "$digest") | xxd -r -p | sha256sum | cut -d' ' -f1)
[ "$(pcr 16)" = "0x$expected" ] || fail "PCR 16 after extend is $(pcr 16), expected 0x$expected"
say "PROVED: /dev/tpmrm0 answers: PCR 0 = $pcr0 (SeaBIOS), PCR 16 extends as SHA-256(old || digest)"

# --- LUKS2 on LVM -------------------------------------------------------------
pvcreate -q -f "$disk" >/dev/null
vgcreate -q "$vg" "$disk" >/dev/null
lvcreate -q -n "$lv" -L 64M "$vg" >/dev/null
[ -b "/dev/$vg/$lv" ] || fail "LV /dev/$vg/$lv has no device node"
new_key_file /run/tvam-bench.key 32
# A 256-bit random key needs no slow KDF (see docs/lab.md); 1000 PBKDF2
# iterations keep luksFormat fast under emulation.
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file /run/tvam-bench.key "/dev/$vg/$lv"
cryptsetup open --key-file /run/tvam-bench.key "/dev/$vg/$lv" "$mapped"
size=$(stat -c %s "$image")
dd if="$image" of="/dev/mapper/$mapped" bs=1M conv=fsync status=none
cryptsetup close "$mapped"
# The plaintext never reaches the LV: syslinux's banner is not on the raw LV.
if grep -aq 'SYSLINUX' "/dev/$vg/$lv"; then fail "plaintext found on the raw LV"; fi
cryptsetup open --key-file /run/tvam-bench.key "/dev/$vg/$lv" "$mapped"
want=$(sha256sum < "$image" | cut -d' ' -f1)
got=$(head -c "$size" "/dev/mapper/$mapped" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "data read back through LUKS2 differs: $got vs $want"
if cryptsetup open --test-passphrase --key-file /dev/null "/dev/$vg/$lv" 2>/dev/null; then
    fail "LUKS2 volume opened with a wrong (empty) key"
fi
say "PROVED: LUKS2 on LVM ($(cryptsetup luksDump "/dev/$vg/$lv" | awk '/cipher:/ {print $2; exit}')) round-trips $size bytes (sha256 $want); the raw LV holds no plaintext; a wrong key is refused"

# --- libvirt + KVM --------------------------------------------------------------
[ -e /dev/kvm ] || fail "/dev/kvm is missing (kvm_amd did not load)"
serial=/var/log/tvam-bench-serial.log
rm -f "$serial"
cat > /run/tvam-bench.xml <<XML
<domain type='kvm'>
  <name>tvam-bench</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/mapper/$mapped'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='$serial'/><target port='0'/></serial>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
XML
start=$SECONDS
virsh -q create /run/tvam-bench.xml >/dev/null
pid=$(cat /run/libvirt/qemu/tvam-bench.pid)
qemu_cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline")
grep -Eq -- '-accel kvm|accel=kvm|-enable-kvm' <<< "$qemu_cmdline" || fail "QEMU of the domain does not use KVM: $qemu_cmdline"
wait_for 240 "sample VM marker" grep -q 'TVAM-SAMPLE-VM: .*marker OK' "$serial"
booted=$((SECONDS - start))
say "PROVED: libvirt started the sample VM under KVM from the encrypted LV; marker after ${booted}s: $(grep -a 'marker OK' "$serial" | tr -d '\r')"
virsh -q shutdown tvam-bench >/dev/null
wait_for 120 "ACPI power-off of the sample VM" sh -c '! virsh -q domstate tvam-bench'
grep -q 'powering off' "$serial" || fail "the VM disappeared without its power-off message"
say "PROVED: the sample VM powers off on an ACPI shutdown request"
