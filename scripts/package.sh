#!/usr/bin/env bash
# Builds the Linux package: target/debian/peercoach_<version>-1_<arch>.deb, with the
# binary, the menu entry, the icon in every hicolor size and the AppStream metadata
# (configured in Cargo.toml under [package.metadata.deb]). Installs cargo-deb, and on
# Debian/Ubuntu the tools it needs, when they are missing. Extra arguments go to cargo deb.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0

if ! command -v dpkg-shlibdeps >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
  else
    echo "package.sh needs dpkg-shlibdeps (Debian package dpkg-dev) to work out the package's dependencies" >&2
    exit 1
  fi
fi
if ! cargo deb --version 2>/dev/null | grep -qwF "$CARGO_DEB_VERSION"; then
  echo "== installing cargo-deb $CARGO_DEB_VERSION" >&2
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

echo "== cargo deb" >&2
# cargo deb prints the package's path: the last line of this script's output.
cargo deb --locked "$@" | tail -n1
