#!/bin/bash
# tvam-mkesp: the boot partition image is reproducible, holds GRUB (with the
# tpm module and the embedded config that loads /EFI/tvam/grub.cfg), a valid
# grub.cfg, and the kernel/initrd/tboot/SINIT files byte for byte.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
for tool in grub-mkimage grub-script-check mkfs.fat mcopy faketime; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
[ -e /usr/lib/grub/x86_64-efi/tpm.mod ] || { echo "grub-efi-amd64-bin missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1700000000

head -c 3000000 /dev/urandom > "$tmp/kernel"
head -c 2000000 /dev/urandom > "$tmp/initrd"
head -c 100000 /dev/urandom > "$tmp/tboot"
head -c 50000 /dev/urandom > "$tmp/sinit"
args=(--kernel "$tmp/kernel" --initrd "$tmp/initrd" --cmdline "boot=tvam tvam.base=base-1"
      --tboot "$tmp/tboot" --tboot-cmdline "logging=memory" --sinit "$tmp/sinit" --size 40)
"$repo/boot/tvam-mkesp" --out "$tmp/a.img" "${args[@]}" 2>/dev/null || no "build 1"
"$repo/boot/tvam-mkesp" --out "$tmp/b.img" "${args[@]}" 2>/dev/null || no "build 2"
check "two builds give the same SHA-256 ($(sha256sum < "$tmp/a.img" | cut -c1-16)…)" cmp -s "$tmp/a.img" "$tmp/b.img"

get() { mcopy -n -i "$tmp/a.img" "::/$1" "$tmp/x.$2"; }
for f in kernel:vmlinuz initrd:initrd.img tboot:tboot.gz sinit:sinit-0.bin; do
    src=${f%%:*} dst=${f#*:}
    get "$dst" "$dst" && check "/$dst is the given $src byte for byte" cmp -s "$tmp/$src" "$tmp/x.$dst" || no "/$dst present"
done
get EFI/tvam/grub.cfg cfg && check "/EFI/tvam/grub.cfg passes grub-script-check" grub-script-check "$tmp/x.cfg" || no "grub.cfg present"
check "grub.cfg names the ESP paths" grep -q 'module2 /sinit-0.bin' "$tmp/x.cfg"
get EFI/BOOT/BOOTX64.EFI efi || no "BOOTX64.EFI present"
check "BOOTX64.EFI is a PE image" bash -c "[ \"\$(head -c 2 '$tmp/x.efi')\" = MZ ]"
check "GRUB image embeds the config that loads /EFI/tvam/grub.cfg" grep -qa 'configfile /EFI/tvam/grub.cfg' "$tmp/x.efi"
# The file name GRUB logs for grub.cfg (PCR 9) must not carry a device name.
check "... named without a GRUB device (no machine-dependent event data)" bash -c "! grep -qa 'configfile (' '$tmp/x.efi'"
# grub-mkimage stores each built-in module as an ELF object with its name;
# the tpm module's verifier is what measures into PCRs 8/9.
check "GRUB image has the tpm module built in" grep -qa 'grub_tpm_measure' "$tmp/x.efi"

if "$repo/boot/tvam-mkesp" --out "$tmp/c.img" --kernel "$tmp/nonexistent" --initrd "$tmp/initrd" 2>/dev/null; then
    no "a missing kernel is refused"; else ok "a missing kernel is refused"; fi
echo "1..$n"
exit $fail
