#!/usr/bin/env bash
# What CI checks, in one local command: formatting, lints (warnings are errors, the
# workspace denies unwrap_used and friends), then the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test --workspace"
cargo test --workspace
