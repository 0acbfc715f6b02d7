#!/bin/bash
# bench/storage.sh — runs INSIDE the lab (images/lab/tvam-lab run).
# Storage figures on real dm-crypt (a benchmark: prints figures, never fails
# on time):
#   * writing N MiB through a LUKS2 dm-crypt device: TVAM's import path
#     (bench-copy: read → SHA-256 → write, fdatasync) vs dd to the same device,
#   * building a dm-verity hash tree: TVAM (tvam-storage-test verity-format,
#     if built) vs veritysetup format on the same data.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../lib/matches.sh"
mib=${TVAM_BENCH_MIB:-64}
build=${TVAM_BUILD_DIR:?}
work=/run/bench
mkdir -p "$work"
cleanup() { set +e; cryptsetup close tvam-bench-crypt 2>/dev/null; losetup -D; rm -rf "$work"; }
trap cleanup EXIT

head -c $((mib << 20)) /dev/urandom > "$work/image"
truncate -s $(((mib + 32) << 20)) "$work/backing"
loop=$(losetup -f --show "$work/backing")
(umask 077; head -c 32 /dev/urandom > "$work/key")
cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 --key-size 512 \
    --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$work/key" "$loop"
cryptsetup open --key-file "$work/key" "$loop" tvam-bench-crypt
dev=/dev/mapper/tvam-bench-crypt

# Warm up once, then alternate three runs of each.
dd if="$work/image" of="$dev" bs=4M conv=fsync status=none
for i in 1 2 3; do
    read -r _ s_tvam mibs_tvam _ < <("$build/tests/lab/bench-copy" "$work/image" "$dev")
    start=$(date +%s.%N)
    dd if="$work/image" of="$dev" bs=4M conv=fsync status=none
    end=$(date +%s.%N)
    s_dd=$(echo "$end - $start" | bc -l)
    printf 'run %d: %d MiB through dm-crypt: tvam import path %.2f s (%.1f MiB/s), dd %.2f s (%.1f MiB/s), ratio %.2f\n' \
        "$i" "$mib" "$s_tvam" "$mibs_tvam" "$s_dd" "$(echo "$mib / $s_dd" | bc -l)" "$(echo "$s_tvam / $s_dd" | bc -l)"
done
want=$(sha256sum < "$work/image" | cut -d' ' -f1)
got=$(head -c $((mib << 20)) "$dev" | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ] && echo "data through dm-crypt verified (sha256 $want)"

tool=$build/tests/lab/tools/tvam-storage-test
if [ -x "$tool" ] && "$tool" --help 2>&1 | matches verity-format; then
    for i in 1 2 3; do
        rm -f "$work/hash1" "$work/hash2"
        start=$(date +%s.%N); "$tool" verity-format "$work/image" "$work/hash1" >/dev/null; mid=$(date +%s.%N)
        veritysetup format "$work/image" "$work/hash2" >/dev/null; end=$(date +%s.%N)
        a=$(echo "$mid - $start" | bc -l) b=$(echo "$end - $mid" | bc -l)
        printf 'run %d: verity tree of %d MiB: tvam %.2f s, veritysetup %.2f s, ratio %.2f\n' "$i" "$mib" "$a" "$b" "$(echo "$a / $b" | bc -l)"
    done
else
    echo "verity benchmark skipped: tvam-storage-test verity-format not built"
fi
