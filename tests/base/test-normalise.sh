#!/bin/bash
# images/base/normalise on a synthetic tree: every per-installation item the
# base build must not carry (machine-id, ssh host keys, seeds, caches, apt
# lists, logs, account backups, bytecode) is removed or fixed, shadow's
# "last change" day comes from SOURCE_DATE_EPOCH, mtimes are clamped, and
# what must stay (configuration, empty log files) stays.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
r=$tmp/root
mkdir -p "$r"/etc/ssh "$r"/var/lib/dbus "$r"/var/lib/systemd/catalog "$r"/var/lib/apt/lists/partial \
    "$r"/var/cache/apt/archives "$r"/var/cache/ldconfig "$r"/var/cache/man/cat1 "$r"/var/lib/dpkg \
    "$r"/var/cache/debconf "$r"/var/log/apt "$r"/usr/lib/python3/dist-packages/x/__pycache__ "$r"/tmp "$r"/run/lock
echo 0123456789abcdef0123456789abcdef > "$r/etc/machine-id"
echo 0123456789abcdef0123456789abcdef > "$r/var/lib/dbus/machine-id"
touch "$r"/etc/ssh/ssh_host_ed25519_key "$r"/etc/ssh/ssh_host_ed25519_key.pub "$r/etc/ssh/sshd_config"
echo seed > "$r/var/lib/systemd/random-seed"
echo db > "$r/var/lib/systemd/catalog/database"
echo list > "$r/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease"
echo deb > "$r/var/cache/apt/archives/x_1_amd64.deb"
echo bin > "$r/var/cache/apt/pkgcache.bin"
echo aux > "$r/var/cache/ldconfig/aux-cache"
echo page > "$r/var/cache/man/cat1/x.1.gz"
echo old > "$r/var/lib/dpkg/status-old"
echo status > "$r/var/lib/dpkg/status"
echo old > "$r/var/cache/debconf/config.dat-old"
echo "2026-11-23 installed" > "$r/var/log/dpkg.log"
echo "rotated" > "$r/var/log/dpkg.log.1"
echo "term" > "$r/var/log/apt/term.log"
echo "pyc" > "$r/usr/lib/python3/dist-packages/x/__pycache__/m.cpython-311.pyc"
printf 'root:*:20415:0:99999:7:::\nsshd:!:20415::::::\nnobody:*:::::::\n' > "$r/etc/shadow"
chmod 640 "$r/etc/shadow"
touch "$r"/etc/passwd- "$r"/etc/shadow- "$r"/etc/group- "$r"/etc/gshadow-
echo x > "$r/tmp/junk"; echo 1 > "$r/run/lock/x"
touch -d "2030-01-01" "$r/etc/ssh/sshd_config"

SOURCE_DATE_EPOCH=1700000000 "$repo/images/base/normalise" "$r"
check "normalise exits 0" test $? -eq 0
check "machine-id empty (systemd generates it at boot)" test -f "$r/etc/machine-id" -a ! -s "$r/etc/machine-id"
check "dbus machine-id removed" test ! -e "$r/var/lib/dbus/machine-id"
check "ssh host keys removed, sshd_config kept" bash -c "! ls '$r'/etc/ssh/ssh_host_* 2>/dev/null && [ -f '$r/etc/ssh/sshd_config' ]"
check "random seed and catalog database removed" test ! -e "$r/var/lib/systemd/random-seed" -a ! -e "$r/var/lib/systemd/catalog/database"
check "apt lists, archives and pkgcache removed" \
    bash -c "[ -z \"\$(ls -A '$r/var/lib/apt/lists')\" ] && [ ! -e '$r/var/cache/apt/archives/x_1_amd64.deb' ] && [ ! -e '$r/var/cache/apt/pkgcache.bin' ]"
check "ldconfig aux-cache and man cache removed" test ! -e "$r/var/cache/ldconfig/aux-cache" -a ! -e "$r/var/cache/man/cat1"
check "dpkg/debconf -old backups removed, status kept" \
    test ! -e "$r/var/lib/dpkg/status-old" -a ! -e "$r/var/cache/debconf/config.dat-old" -a -s "$r/var/lib/dpkg/status"
check "logs kept but empty, rotated logs removed" \
    test -f "$r/var/log/dpkg.log" -a ! -s "$r/var/log/dpkg.log" -a ! -s "$r/var/log/apt/term.log" -a ! -e "$r/var/log/dpkg.log.1"
check "__pycache__ removed" test ! -e "$r/usr/lib/python3/dist-packages/x/__pycache__"
check "account backups removed" bash -c "! ls '$r'/etc/*- 2>/dev/null"
check "shadow last-change day = SOURCE_DATE_EPOCH / 86400 (19675), empty fields stay empty" \
    test "$(cut -d: -f3 "$r/etc/shadow" | tr '\n' ' ')" = "19675 19675  "
check "shadow mode kept (640)" test "$(stat -c %a "$r/etc/shadow")" = 640
check "/tmp and /run emptied" test -z "$(find "$r/tmp" "$r/run" -mindepth 1)"
check "mtimes clamped to SOURCE_DATE_EPOCH" test "$(stat -c %Y "$r/etc/ssh/sshd_config")" = 1700000000
SOURCE_DATE_EPOCH=1700000000 "$repo/images/base/normalise" "$tmp/nonexistent" 2>/dev/null
check "a folder that is not a root tree is refused" test $? -ne 0
echo "1..$n"
exit $fail
