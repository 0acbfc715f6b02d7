#!/bin/bash
# Figures only (meson benchmark, run under lib/with-swtpm): wall time of the
# update-flow operations through tvamd on swtpm, srtm profile, median of N
# runs.  Each figure includes the tvamctl (or update-tool) process start;
# unseal includes loading the SRK and the object.
#   meson test -C build --benchmark tvamd-update-ops -v
set -euo pipefail
tvamd=${1:?usage: update-bench.sh TVAMD TVAMCTL UPDATE_TOOL [N]} tvamctl=${2:?} tool=${3:?} n=${4:-7}
[ -n "${TVAM_TEST_TCTI:-}" ] || { echo "run under with-swtpm"; exit 77; }
w=$(mktemp -d) pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$w"' EXIT
printf 'kernel A' > "$w/kA"; printf 'initrd A' > "$w/iA"; printf 'kernel B' > "$w/kB"; printf 'admin' > "$w/adm"
"$tool" mklog "$w/log" "$w/kA" "$w/iA" ro
"$tool" boot "$w/log"
"$tvamd" --sshd-stop-command true --ssh-host-key "$w/ssh/ssh_host_ed25519_key" --socket "$w/s" --state-dir "$w/st" --tcti "$TVAM_TEST_TCTI" --launch-pcrs 0,2,4,7,8,9 >/dev/null 2>&1 &
pid=$!
c() { "$tvamctl" --socket "$w/s" "$@"; }
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; sleep 0.05; done
c mode application >/dev/null
c policy init --admin-key-file "$w/adm" >/dev/null
"$tool" seal "$w/nv" >/dev/null
"$tool" seal-pcr "$w/pcr" $(( (1<<0)|(1<<2)|(1<<4)|(1<<7)|(1<<8)|(1<<9)|(1<<14)|(1<<15) )) >/dev/null
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A t
for _ in $(seq "$n"); do
    t[unseal_nv]+="$(ms "$tool" unseal "$w/nv" "$w/st/policy.json") "
    t[unseal_pcr]+="$(ms "$tool" unseal "$w/pcr" "$w/st/policy.json") "
    t[prepare]+="$(ms c update prepare --kernel "$w/kB" --eventlog "$w/log" --admin-key-file "$w/adm") "
    t[unseal_nv_prepared]+="$(ms "$tool" unseal "$w/nv" "$w/st/policy.json") "
    t[show]+="$(ms c policy show) "
    t[diagnose]+="$(ms c policy diagnose) "
    t[abort]+="$(ms c update abort --admin-key-file "$w/adm") "
done
echo "median of $n runs on $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg):"
for k in unseal_pcr unseal_nv unseal_nv_prepared prepare show diagnose abort; do
    printf '  %-20s %5s ms\n' "$k" "$(tr ' ' '\n' <<< "${t[$k]}" | grep . | median)"
done
