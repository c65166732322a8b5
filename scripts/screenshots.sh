#!/usr/bin/env bash
# Runs the real peercoach window under Xvfb on a demo data dir and writes one PNG per
# main screen to docs/screenshots/. Loopback-only: nothing leaves 127.0.0.1.
#
# Needs: xvfb, imagemagick (import), and Mesa for OpenGL, e.g. on Debian:
#   apt-get install -y xvfb xauth imagemagick xdotool libgl1-mesa-dri libegl1 libxkbcommon-x11-0
set -euo pipefail
cd "$(dirname "$0")/.."

# PEERCOACH_BIN: shoot an already built binary (a debug build looks the same).
bin=${PEERCOACH_BIN:-target/release/peercoach}
[ -n "${PEERCOACH_BIN:-}" ] || cargo build --release
out=docs/screenshots
mkdir -p "$out"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export PEERCOACH_LOOPBACK=1
"$bin" --data-dir "$data/demo" demo --seed 7

# The default window, and the app's smallest (900×600): each screen must be usable at both.
for size in 1280x820 900x600; do
  dir=$out
  [ "$size" = 1280x820 ] || dir=$out/$size
  mkdir -p "$dir"
  for screen in board inbox sessions team backfill dashboard history sync settings; do
    xvfb-run -a -s "-screen 0 ${size}x24" bash -c "
      '$bin' --data-dir '$data/demo' --screen $screen &
      pid=\$!
      sleep 4
      # No window manager fits the window to the screen: size it as one would.
      xdotool search --name '^peercoach' windowsize %@ ${size%x*} ${size#*x} || true
      sleep 2
      import -window root '$dir/$screen.png'
      kill \$pid
      wait \$pid || true
    "
    echo "wrote $dir/$screen.png"
  done
done
