# tests/lib/matches.sh — sourced by test scripts that run with pipefail.
#
# matches [GREP-OPTIONS] PATTERN — like "grep -q", but reads ALL of its
# input first.  "producer | grep -q X" under "set -o pipefail" is a race:
# grep exits at the first match, the producer may then die of SIGPIPE, and
# the pipeline fails although X was there (or, negated with "!", passes
# although X was there).  Seen in the lab with one vCPU.
matches() {
    local input
    input=$(cat)
    grep -q "$@" <<< "$input"
}
