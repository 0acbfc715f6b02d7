#!/bin/bash
# Signed configuration patches (tvam-initramfs patches) against a fresh swtpm:
# a correctly signed patch is applied and its manifest measured into PCR 14;
# unsigned, wrongly signed, altered, malformed, out-of-/etc and replayed
# patches (repeated sequence, or below the floor in TPM NV) are rejected
# with a message naming the reason, and the boot goes on without them.
set -uo pipefail
helper=${1:?usage: test-patches-tpm.sh TVAM-INITRAMFS}
: "${TVAM_TEST_TCTI:?run under with-swtpm}"
for tool in openssl tpm2_pcrread tpm2_nvdefine python3; do
    command -v "$tool" >/dev/null || { echo "$tool missing"; exit 77; }
done
export TPM2TOOLS_TCTI=$TVAM_TEST_TCTI
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
t() { "$helper" --tcti "$TVAM_TEST_TCTI" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
pcr14() { tpm2_pcrread "sha256:14" -o "$tmp/pcr.bin" >/dev/null && xxd -p -c 256 "$tmp/pcr.bin"; }
extend() { python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' "$@"; }

# The administrator's key and certificate (inside the base image), and a stranger's.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/admin.key" \
    -out "$tmp/admin.pem" -subj /CN=tvam-admin -days 3650 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/other.key" 2>/dev/null
root=$tmp/root
mkdir -p "$root/etc/tvam" "$tmp/p"
cp "$tmp/admin.pem" "$root/etc/tvam/admin-cert.pem"
echo "base motd" > "$root/etc/motd"

# mkpatch NAME SEQ PATH CONTENT [KEY|none]
mkpatch() {
    local d=$tmp/p/$1 key=${5:-$tmp/admin.key}
    mkdir -p "$d/files$(dirname "$3")"
    printf '%s' "$4" > "$d/files$3"
    printf 'tvam-patch 1\nsequence %s\nfile 0644 %s %s\n' "$2" "$(sha "$d/files$3")" "$3" > "$d/manifest"
    [ "$key" = none ] || openssl dgst -sha256 -sign "$key" -out "$d/manifest.sig" "$d/manifest"
}
mkpatch 10-motd 1 /etc/motd "patched motd"
mkpatch 20-unsigned 2 /etc/unsigned.conf "x" none
mkpatch 30-wrongkey 3 /etc/wrongkey.conf "x" "$tmp/other.key"
mkpatch 40-altered 4 /etc/altered.conf "original"
printf 'altered' > "$tmp/p/40-altered/files/etc/altered.conf"
mkpatch 50-repeat 1 /etc/repeat.conf "x"
mkpatch 60-outside 6 /usr/bin/evil "x"
mkpatch 70-sub 7 /etc/ssh/sshd_config.d/tvam.conf "PermitRootLogin prohibit-password"

before=$(pcr14)
t patches "$tmp/p" "$root" > "$tmp/out" 2> "$tmp/err"
check "patches: exit 0 (rejections do not stop the boot)" test $? -eq 0
check "signed patch applied: /etc/motd replaced" test "$(cat "$root/etc/motd")" = "patched motd"
check "signed patch into a new subfolder applied" test -f "$root/etc/ssh/sshd_config.d/tvam.conf"
check "mode from the manifest (0644)" test "$(stat -c %a "$root/etc/motd")" = 644
rej() { # NAME REASON-REGEX
    check "$1 rejected: $(grep -o "'$1' REJECTED: .*" "$tmp/err" | head -c 110)" grep -Eq "'$1' REJECTED: .*$2" "$tmp/err"
}
rej 20-unsigned "unsigned"
rej 30-wrongkey "signature does not verify"
rej 40-altered "content differs from the signed SHA-256"
rej 50-repeat "replayed: sequence 1 was already applied"
rej 60-outside "not a plain absolute path below /etc/"
check "nothing of a rejected patch was written" \
    bash -c "! ls '$root'/etc/{unsigned,wrongkey,altered,repeat}.conf 2>/dev/null && [ ! -e '$root/usr/bin/evil' ]"
# Each applied manifest is a TVAM event: H("sha256:" + hex(SHA-256(manifest))).
ev() { python3 -c 'import hashlib,sys; print(hashlib.sha256(b"sha256:" + sys.argv[1].encode()).hexdigest())' "$(sha "$1")"; }
m10=$(ev "$tmp/p/10-motd/manifest") m70=$(ev "$tmp/p/70-sub/manifest")
check "PCR 14 = old extended by the applied manifests only, in sequence order" \
    test "$(pcr14)" = "$(extend "$(extend "$before" "$m10")" "$m70")"

# No administrator certificate: everything is rejected.
mkdir -p "$tmp/root2/etc"
t patches "$tmp/p" "$tmp/root2" > /dev/null 2> "$tmp/err"
check "without a certificate: exit 0, every patch rejected" \
    bash -c "[ \$(grep -c REJECTED '$tmp/err') -eq 7 ] && [ ! -e '$tmp/root2/etc/motd' ]"

# Replay floor in TPM NV (owner-written, read with its empty auth).
idx=0x01500020
tpm2_nvdefine -C o -s 8 -a "ownerwrite|ownerread|authread|no_da" "$idx" >/dev/null
printf '\x00\x00\x00\x00\x00\x00\x00\x05' > "$tmp/floor"
tpm2_nvwrite -C o -i "$tmp/floor" "$idx" >/dev/null
rm -rf "$tmp/p"; mkdir -p "$tmp/p"
mkpatch a-old 3 /etc/old.conf "old"
mkpatch b-current 5 /etc/current.conf "current"
t patches --nv-floor "$idx" "$tmp/p" "$root" > /dev/null 2> "$tmp/err"
rej a-old "replayed: sequence 3 is below the platform's floor 5"
check "the patch at the floor is applied" test -f "$root/etc/current.conf"
check "the replayed one is not" test ! -e "$root/etc/old.conf"
t patches --nv-floor 0x01500021 "$tmp/p" "$tmp/root" > /dev/null 2> "$tmp/err"
check "floor index missing: all rejected (fail closed)" test "$(grep -c 'replay floor in TPM NV 0x01500021 cannot be read' "$tmp/err")" -eq 2
t patches "$tmp/none" "$root" > /dev/null 2>&1
check "no patch folder: exit 0" test $? -eq 0
echo "1..$n"
exit $fail
