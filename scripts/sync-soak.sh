#!/usr/bin/env bash
# The sync machine's long soak: N fresh random schedules (default 100,000) of the
# property test in crates/node/src/sync/tests.rs, on every core, in simulated time (no
# sockets, no network). Prints schedules per second, the slowest convergence after
# healing, the liveness resets, and every failing seed with the command that replays it.
#
#   scripts/sync-soak.sh [SCHEDULES] [BASE_SEED]
#
# A base seed replays a whole soak; without one, a fresh one is drawn and printed.
# CI runs the fixed batch instead (the regression file, the named seeds and 256 cases
# from a fixed seed), so that it fails only when the code is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

export PEERCOACH_SYNC_SOAK="${1:-100000}"
if [ -n "${2:-}" ]; then
  export PEERCOACH_SYNC_SOAK_SEED="$2"
fi
exec cargo test -p peercoach-node --lib -- --ignored --exact sync::tests::soak_of_random_schedules --nocapture
