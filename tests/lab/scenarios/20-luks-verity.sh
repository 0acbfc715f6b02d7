#!/bin/bash
# 20-luks-verity — tvam/storage's LUKS2 and dm-verity code on a real kernel
# (driven through tests/lab/tools/tvam-storage-test, loop devices on files in
# /run, never the shared scratch disk):
#   * a LUKS2 volume opens with its TPM-keyslot secret and, separately, with
#     the recovery passphrase (Argon2id, cryptsetup's default cost); data
#     round-trips, the raw device holds no plaintext, a wrong secret is
#     refused, and after luks-erase neither secret opens it;
#   * with --integrity (aes-xts-plain64 + hmac(sha256)) data round-trips and
#     a tampered ciphertext region reads as an I/O error;
#   * a dm-verity image (tree on its own device, or after the data) opens
#     lazily with the right root hash, is refused
#     with a wrong one or one of the wrong length; after flipping one byte of
#     the data, reading that block fails with EIO while other blocks still
#     read, and eager verification refuses naming the position.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
tool=${TVAM_BUILD_DIR:?}/tests/lab/tools/tvam-storage-test
if [ ! -x "$tool" ]; then echo "SKIP: $tool is not built"; exit 77; fi
work=/run/tvam-20
luks=tvam-20-luks integ=tvam-20-integ verity=tvam-20-verity
loops=()

cleanup() {
    set +e
    for m in "$luks" "$integ" "$verity" tvam-20-wrong; do
        [ -e "/dev/mapper/$m" ] && cryptsetup close "$m" >/dev/null 2>&1
    done
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work"
(umask 077 && mkdir -p "$work")

new_loop() { # VAR FILE MiB — attach a sparse file of MiB to a loop device
    truncate -s "$3M" "$2"
    local _loop
    _loop=$(losetup -f --show "$2")
    loops+=("$_loop")
    printf -v "$1" '%s' "$_loop"
}
flip_byte() { # DEV OFFSET
    local b
    b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "\\$(printf %03o $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc,fsync status=none
    blockdev --flushbufs "$1"
}
mapped() { [ -e "/dev/mapper/$1" ]; }

# --- LUKS2: TPM keyslot + recovery keyslot ------------------------------------
new_key_file "$work/tpm.key" 32
new_key_file "$work/wrong.key" 32
(umask 077 && printf '%s' 'correct horse battery staple' > "$work/recovery.pass")
new_loop dev "$work/luks.img" 40
start=$SECONDS
"$tool" luks-format "$dev" --secret-file "$work/tpm.key" --recovery-file "$work/recovery.pass"
say "luks-format with the default Argon2id recovery keyslot took $((SECONDS - start))s"
"$tool" luks-token "$dev" | matches '"type":"tvam-tpm2","keyslots":\["0"\]' || fail "no tvam-tpm2 token for keyslot 0"
cryptsetup luksDump "$dev" > "$work/dump"
grep -q 'PBKDF:.*pbkdf2' "$work/dump" && grep -q 'PBKDF:.*argon2id' "$work/dump" || fail "keyslot KDFs are not pbkdf2 + argon2id"

head -c 4M /dev/urandom > "$work/payload"
"$tool" luks-open "$dev" "$luks" --secret-file "$work/tpm.key"
mapped "$luks" || fail "/dev/mapper/$luks missing after luks-open"
dd if="$work/payload" of="/dev/mapper/$luks" bs=1M conv=fsync status=none
"$tool" luks-close "$luks"
mapped "$luks" && fail "/dev/mapper/$luks still there after luks-close"
if cmp -s -n 4194304 "$work/payload" <(dd if="$dev" bs=1M skip=16 count=4 status=none); then
    fail "plaintext found on the raw device"
fi
start=$SECONDS
"$tool" luks-open-recovery "$dev" "$luks" --recovery-file "$work/recovery.pass" --read-only
say "open with the recovery passphrase took $((SECONDS - start))s"
cmp -s -n 4194304 "$work/payload" "/dev/mapper/$luks" || fail "data read back with the recovery secret differs"
"$tool" luks-close "$luks"
if "$tool" luks-open "$dev" tvam-20-wrong --secret-file "$work/wrong.key" 2> "$work/err"; then
    fail "opened with a wrong TPM secret"
fi
mapped tvam-20-wrong && fail "a mapping exists after a refused open"
say "wrong secret: $(cat "$work/err")"
say "PROVED: LUKS2 volume (aes-xts-plain64, keyslot 0 pbkdf2 for the TPM secret, argon2id recovery) opens with the TPM secret and with the recovery passphrase, 4 MiB round-trip, no plaintext on the raw device, wrong secret refused"

"$tool" luks-erase "$dev"
"$tool" luks-open "$dev" tvam-20-wrong --secret-file "$work/tpm.key" 2>/dev/null && fail "TPM secret opens after erase"
"$tool" luks-open-recovery "$dev" tvam-20-wrong --recovery-file "$work/recovery.pass" 2>/dev/null &&
    fail "recovery secret opens after erase"
cryptsetup isLuks "$dev" && fail "a LUKS header remains after erase"
[ "$(head -c 16M "$dev" | tr -d '\0' | wc -c)" -eq 0 ] || fail "header area not zero after erase"
say "PROVED: after luks-erase no keyslot is usable and the 16 MiB header area is zero"

# --- LUKS2 with integrity (authenticated encryption) ---------------------------
# dm-crypt builds authenc(hmac(sha256),xts(aes)); the kernel would load the
# crypto modules through modprobe, which in the lab does not know the
# unpacked kernel, so load them from there (built-in ones just succeed).
for m in authenc hmac sha256_generic; do
    modprobe -d "${TVAM_KERNEL_DIR:-/}" -S "${TVAM_KERNEL_VERSION:-$(uname -r)}" "$m" 2>/dev/null || true
done
new_loop dev2 "$work/integ.img" 48
start=$SECONDS
"$tool" luks-format "$dev2" --secret-file "$work/tpm.key" --integrity
say "luks-format --integrity (incl. initial tag wipe) took $((SECONDS - start))s"
cryptsetup luksDump "$dev2" | matches 'integrity: hmac(sha256)' || fail "no hmac(sha256) integrity in the header"
"$tool" luks-open "$dev2" "$integ" --secret-file "$work/tpm.key"
dd if="$work/payload" of="/dev/mapper/$integ" bs=1M count=2 conv=fsync status=none
"$tool" luks-close "$integ"
"$tool" luks-open "$dev2" "$integ" --secret-file "$work/tpm.key"
cmp -s -n 2097152 "$work/payload" "/dev/mapper/$integ" || fail "integrity volume: data read back differs"
dd if="/dev/mapper/$integ" of=/dev/null bs=1M status=none || fail "integrity volume: full read failed before tampering"
"$tool" luks-close "$integ"
# Overwrite 1 MiB of ciphertext/tags in the middle of the data area.
dd if=/dev/urandom of="$dev2" bs=1M seek=32 count=1 conv=notrunc,fsync status=none
blockdev --flushbufs "$dev2"
"$tool" luks-open "$dev2" "$integ" --secret-file "$work/tpm.key"
if dd if="/dev/mapper/$integ" of=/dev/null bs=1M status=none 2> "$work/err"; then
    fail "integrity volume: tampered data read without error"
fi
grep -q 'Input/output error' "$work/err" || fail "integrity volume: unexpected error $(cat "$work/err")"
"$tool" luks-close "$integ"
say "PROVED: LUKS2 --integrity hmac(sha256) volume round-trips 2 MiB; tampered ciphertext reads as EIO"

# --- dm-verity ------------------------------------------------------------------
new_loop data "$work/verity-data.img" 8
new_loop hash "$work/verity-hash.img" 1
head -c 8M /dev/urandom > "$work/verity-src"
dd if="$work/verity-src" of="$data" bs=1M conv=fsync status=none
root=$("$tool" verity-format "$data" "$hash")
[ ${#root} -eq 64 ] || fail "root hash '$root' is not 32 bytes"
ref=$(veritysetup dump "$hash" | awk '/^Salt:/ {print $2}')
: > "$work/ref-hash"
want=$(veritysetup format --salt="$ref" "$work/verity-src" "$work/ref-hash" | awk '/^Root hash:/ {print $3}')
[ "$root" = "$want" ] || fail "root hash $root differs from veritysetup's $want"
"$tool" verity-verify "$data" "$hash" "$root"
"$tool" verity-open "$verity" "$data" "$hash" "$root"
cmp -s "$work/verity-src" "/dev/mapper/$verity" || fail "data read through dm-verity differs"
"$tool" verity-close "$verity"
bad=${root%?}$(printf '%x' $(( (0x${root: -1} + 1) % 16 )))
if "$tool" verity-open tvam-20-wrong "$data" "$hash" "$bad" 2> "$work/err"; then fail "verity opened with a wrong root hash"; fi
mapped tvam-20-wrong && fail "a verity mapping exists after a refused open"
say "wrong root hash: $(cat "$work/err")"
if "$tool" verity-open tvam-20-wrong "$data" "$hash" "${root:0:62}" 2> "$work/err"; then fail "verity opened with a 31-byte root hash"; fi
grep -q 'sha256 needs 32' "$work/err" || fail "unclear error for a short root hash: $(cat "$work/err")"
say "short root hash: $(cat "$work/err")"
say "PROVED: dm-verity root hash $root equals veritysetup's; the image opens and reads back with it; a wrong or 31-byte root hash is refused"

# Tree after the data on one device (the layout of an application LV).
new_loop one "$work/verity-one.img" 9
dd if="$work/verity-src" of="$one" bs=1M conv=fsync status=none
root_one=$("$tool" verity-format "$one" "$one" --hash-offset 8388608)
"$tool" verity-open "$verity" "$one" "$one" "$root_one" --hash-offset 8388608
cmp -s "$work/verity-src" "/dev/mapper/$verity" || fail "data read through dm-verity (tree after data) differs"
[ "$(blockdev --getsize64 "/dev/mapper/$verity")" -eq 8388608 ] || fail "verity mapping (tree after data) has the wrong size"
"$tool" verity-close "$verity"
say "PROVED: dm-verity with the tree after the data on the same device opens (8 MiB) and reads back"

# Tree build time against veritysetup on the same 32 MiB (issue 4 benchmark).
head -c 32M /dev/urandom > "$work/bench-src"
: > "$work/bench-hash1"; : > "$work/bench-hash2"
t0=$(date +%s%N)
"$tool" verity-format "$work/bench-src" "$work/bench-hash1" > /dev/null
t1=$(date +%s%N)
veritysetup format "$work/bench-src" "$work/bench-hash2" > /dev/null
t2=$(date +%s%N)
say "BENCH: verity tree of 32 MiB: tvam $(( (t1 - t0) / 1000000 )) ms, veritysetup $(( (t2 - t1) / 1000000 )) ms, ratio $(awk "BEGIN {printf \"%.2f\", ($t1 - $t0) / ($t2 - $t1)}")"
rm -f "$work/bench-src" "$work/bench-hash1" "$work/bench-hash2"

flip_byte "$data" $((300 * 4096 + 17))
"$tool" verity-open "$verity" "$data" "$hash" "$root"
dd if="/dev/mapper/$verity" of=/dev/null bs=4096 count=1 iflag=direct status=none || fail "block 0 does not read"
if dd if="/dev/mapper/$verity" of=/dev/null bs=4096 skip=300 count=1 iflag=direct status=none 2> "$work/err"; then
    fail "tampered block 300 read without error"
fi
grep -q 'Input/output error' "$work/err" || fail "tampered block: unexpected error $(cat "$work/err")"
dd if="/dev/mapper/$verity" of=/dev/null bs=4096 skip=301 count=1 iflag=direct status=none || fail "block 301 does not read"
"$tool" verity-close "$verity"
say "lazy read of block 300: $(cat "$work/err")"
if "$tool" verity-verify "$data" "$hash" "$root" 2> "$work/err"; then fail "eager verification accepted tampered data"; fi
grep -q 'position 1228800' "$work/err" || fail "eager verification does not name the bad block: $(cat "$work/err")"
say "eager: $(cat "$work/err")"
say "PROVED: one flipped byte under dm-verity: lazy open succeeds, block 300 reads as EIO while blocks 0 and 301 read; eager verification refuses naming position 1228800 (block 300)"

# The LUKS unit tests once more on a kernel with device-mapper, where the
# integrity-format case runs instead of being skipped.
unit=$TVAM_BUILD_DIR/tests/unit/test-luks
if [ -x "$unit" ]; then
    "$unit" > "$work/unit.log" 2>&1 || { cat "$work/unit.log"; fail "test-luks failed in the lab"; }
    grep -q SKIPPED "$work/unit.log" && { cat "$work/unit.log"; fail "test-luks skipped a case in the lab"; }
    say "PROVED: test-luks passes with device-mapper, including the LUKS2 --integrity format case"
fi
