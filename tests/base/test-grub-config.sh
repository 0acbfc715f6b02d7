#!/bin/bash
# tvam-grub-config: both entries are valid GRUB script (grub-script-check),
# carry the modules in tboot's order, the output is byte-stable, and unsafe
# values are refused (exit 2) instead of being quoted into the boot entry.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
gen=$repo/boot/tvam-grub-config
command -v grub-script-check >/dev/null || { echo "grub-script-check missing (grub-common)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }

full=(--kernel /vmlinuz-6.1 --initrd /initrd.img-6.1 --cmdline "boot=tvam  tvam.base=base-1 console=ttyS0,115200"
      --tboot /tboot.gz --tboot-cmdline "logging=serial,memory pcr_map=legacy" --sinit /sinit-a.bin --sinit /sinit-b.bin)
"$gen" "${full[@]}" --serial > "$tmp/full.cfg" || no "generate txt+srtm"
check "txt+srtm passes grub-script-check" grub-script-check "$tmp/full.cfg"
# The txt entry body, in order: tboot, kernel with its command line, initrd, SINITs.
sed -n "/--id txt/,/^}/p" "$tmp/full.cfg" | grep -E '^\s+(multiboot2|module2)' | sed 's/^\s*//' > "$tmp/txt"
cat > "$tmp/txt.want" <<'W'
multiboot2 /tboot.gz logging=serial,memory pcr_map=legacy
module2 /vmlinuz-6.1 boot=tvam tvam.base=base-1 console=ttyS0,115200
module2 /initrd.img-6.1
module2 /sinit-a.bin
module2 /sinit-b.bin
W
check "txt entry: multiboot2 tboot, module2 kernel+cmdline, initrd, SINITs in order" cmp -s "$tmp/txt" "$tmp/txt.want"
sed -n "/--id srtm/,/^}/p" "$tmp/full.cfg" | grep -E '^\s+(linuxefi|initrdefi) ' | sed 's/^\s*//' > "$tmp/srtm"
printf 'linuxefi /vmlinuz-6.1 boot=tvam tvam.base=base-1 console=ttyS0,115200\ninitrdefi /initrd.img-6.1\n' > "$tmp/srtm.want"
check "srtm entry: linuxefi+cmdline, initrdefi (EFI handover)" cmp -s "$tmp/srtm" "$tmp/srtm.want"
check "default is txt when tboot is given" grep -qx 'set default=txt' "$tmp/full.cfg"

"$gen" "${full[@]}" --serial > "$tmp/again.cfg"
check "same arguments give the same bytes" cmp -s "$tmp/full.cfg" "$tmp/again.cfg"

"$gen" --kernel /vmlinuz --initrd /initrd.img --cmdline "boot=tvam" > "$tmp/srtm.cfg" || no "generate srtm only"
check "srtm-only passes grub-script-check" grub-script-check "$tmp/srtm.cfg"
check "srtm-only has no txt entry" bash -c "! grep -q -- '--id txt' '$tmp/srtm.cfg' && grep -qx 'set default=srtm' '$tmp/srtm.cfg'"

refuse() { # DESCRIPTION ARGS...
    local d=$1; shift
    "$gen" "$@" > "$tmp/r.out" 2> "$tmp/r.err"
    local rc=$?
    if [ "$rc" -eq 2 ] && [ ! -s "$tmp/r.out" ] && [ -s "$tmp/r.err" ]; then ok "refused: $d ($(head -c 100 "$tmp/r.err" | tr "\n" " "))"; else no "refused: $d (rc=$rc)"; fi
}
base=(--kernel /vmlinuz --initrd /initrd.img)
refuse "';' in the command line" "${base[@]}" --cmdline 'a; reboot'
refuse "'\$' in the command line" "${base[@]}" --cmdline 'root=$x'
refuse "quote in the command line" "${base[@]}" --cmdline "a='b'"
refuse "newline in the command line" "${base[@]}" --cmdline $'a\nmenuentry x { }'
refuse "relative kernel path" --kernel vmlinuz --initrd /initrd.img
refuse "'..' in a path" --kernel /../vmlinuz --initrd /initrd.img
refuse "space in a path" --kernel '/vm linuz' --initrd /initrd.img
refuse "missing --initrd" --kernel /vmlinuz
refuse "--default txt without tboot" "${base[@]}" --default txt
refuse "--sinit without tboot" "${base[@]}" --sinit /s.bin
refuse "unknown option" "${base[@]}" --bogus 1
echo "1..$n"
exit $fail
