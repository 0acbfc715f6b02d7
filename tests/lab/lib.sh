# tests/lab/lib.sh — helpers for lab scenarios (sourced, runs in the guest).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/matches.sh"

say() { echo "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND... — poll until COMMAND succeeds.
wait_for() {
    local limit=$1 what=$2; shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt "$deadline" ] || fail "$what: not within ${limit}s"
        sleep 1
    done
}

# A secret key file on tmpfs (never in argv or the environment), removed on exit.
new_key_file() { # PATH BYTES
    (umask 077 && head -c "$2" /dev/urandom > "$1")
}
