#!/bin/bash
# 65-bench-start — benchmark (prints figures; fails only on errors):
#   start overhead = `tvamctl start` minus `virsh create` of the same domain
#   on the same already-opened disks, split by phase (unseal, open, verify,
#   extend, define/start, as tvamd reports them), and whether `--verify lazy`
#   stays flat from a 16 MiB to a 256 MiB image while `--verify eager` grows.
#   The images are random data: the domains start but do not boot, which is
#   all a start-overhead figure needs.
set -euo pipefail
. "$TVAM_REPO/tests/lab/lib.sh"
LAB_VG=tvam-b LAB_VG_SIZE=1G
. "$TVAM_REPO/tests/lab/tvamd-lib.sh"
runs=${TVAM_BENCH_RUNS:-2}
setup_vg
start_tvamd
[ "$(ctl mode)" = application ] || [ "$(ctl mode application)" = application ] || fail "Application Mode"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

for size in 16 256; do
    head -c "${size}M" /dev/urandom > "$lab/img$size"
    ctl import "s$size" "$lab/img$size" --read-only --memory 64 > /dev/null
    rm -f "$lab/img$size"
done

say "start overhead by phase (ms, median of $runs; read-only images, dm-verity)"
say "$(printf '%-6s %-6s %8s %8s %8s %8s %8s %8s' image verify total unseal open verify extend define)"
for app in s16 s256; do
    for mode in lazy eager; do
        : > "$lab/runs"
        for _ in $(seq "$runs"); do
            t0=$(now_ms)
            ctl --json start "$app" --verify "$mode" > "$lab/start.json"
            t1=$(now_ms)
            ctl stop "$app" --force > /dev/null
            python3 - "$lab/start.json" $((t1 - t0)) >> "$lab/runs" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["result"]["phases"]
print(sys.argv[2], p["unseal_ms"], p["open_ms"], p["verify_ms"], p["extend_ms"], p["define_start_ms"])
PY
        done
        say "$(python3 - "$lab/runs" "${app#s}MiB" "$mode" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = [statistics.median(c) for c in zip(*rows)]
print("%-6s %-6s %8.0f %8.1f %8.1f %8.1f %8.1f %8.1f" % (sys.argv[2], sys.argv[3], *med))
PY
)"
        if [ "$app/$mode" = s16/lazy ]; then
            lazy16_ms=$(python3 -c 'import statistics,sys; print(round(statistics.median(float(l.split()[0]) for l in open(sys.argv[1]))))' "$lab/runs")
        fi
    done
done

# The same domain on the same opened disks, started by libvirt alone.
ctl start s16 > /dev/null
virsh -q dumpxml s16 > "$lab/s16.xml"
: > "$lab/virsh"
for _ in $(seq "$runs"); do
    virsh -q destroy s16 > /dev/null
    t0=$(now_ms); virsh -q create "$lab/s16.xml" > /dev/null; t1=$(now_ms)
    echo $((t1 - t0)) >> "$lab/virsh"
done
ctl stop s16 --force > /dev/null
virsh_ms=$(sort -n "$lab/virsh" | sed -n "$(( (runs + 1) / 2 ))p")
say "virsh create of the same domain on the opened disks: ${virsh_ms} ms (median of $runs)"
for app in s16 s256; do ctl remove "$app"; done
say "BENCH: start overhead (16 MiB, lazy) = tvamctl start ${lazy16_ms} ms - virsh create ${virsh_ms} ms = $((lazy16_ms - virsh_ms)) ms"
