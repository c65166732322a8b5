#!/usr/bin/env bash
# Runs the real peercoach window under Xvfb on a demo data dir and writes one PNG per
# main screen to docs/screenshots/. Loopback-only: nothing leaves 127.0.0.1.
#
# Needs: xvfb, imagemagick (import), and Mesa for OpenGL, e.g. on Debian:
#   apt-get install -y xvfb xauth imagemagick libgl1-mesa-dri libegl1 libxkbcommon-x11-0
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release
bin=target/release/peercoach
out=docs/screenshots
mkdir -p "$out"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export PEERCOACH_LOOPBACK=1
"$bin" --data-dir "$data/demo" demo --seed 7

for screen in board inbox sessions team backfill dashboard history sync settings; do
  xvfb-run -a -s "-screen 0 1280x820x24" bash -c "
    '$bin' --data-dir '$data/demo' --screen $screen &
    pid=\$!
    sleep 5
    import -window root '$out/$screen.png'
    kill \$pid
    wait \$pid || true
  "
  echo "wrote $out/$screen.png"
done
