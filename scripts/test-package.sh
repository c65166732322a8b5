#!/usr/bin/env bash
# Tests the Linux package the way a user meets it (run as root, before each release; it
# takes a release build, so it is not part of .ci/run):
#   builds the .deb (scripts/package.sh), installs it with apt, checks the installed files
#   (binary, desktop entry per desktop-file-validate, icons, AppStream metainfo per
#   appstreamcli), starts the installed peercoach under Xvfb in loopback-only mode on a
#   fresh data dir, checks its window came up with its class and icon, takes a screenshot
#   of the first-run screen, then removes the package and checks nothing is left.
# The screenshot goes to target/package-test/first-run.png.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "test-package.sh installs a package: run it as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends dpkg-dev desktop-file-utils appstream \
  xvfb xauth x11-utils imagemagick >/dev/null

deb=$(scripts/package.sh)
echo "== $deb ($(du -h "$deb" | cut -f1))"
echo "Depends: $(dpkg-deb -f "$deb" Depends)"

echo "== apt install"
apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
id=org.peercoach.peercoach
test -x /usr/bin/peercoach
echo "installed: $(dpkg -L peercoach | grep -c .) paths; $(/usr/bin/peercoach --version)"
desktop-file-validate /usr/share/applications/$id.desktop
echo "desktop entry: valid"
appstreamcli validate --no-net /usr/share/metainfo/$id.metainfo.xml
for size in 16 24 32 48 64 128 256 512; do
  test -f /usr/share/icons/hicolor/${size}x${size}/apps/$id.png
done
test -f /usr/share/icons/hicolor/scalable/apps/$id.svg
echo "icons: 8 sizes and the SVG"

echo "== the installed app, under Xvfb, loopback only, on a fresh data dir"
out=target/package-test
mkdir -p "$out"
data=$(mktemp -d)
# Xvfb picks a free display and writes its number (-displayfd): no clash with a server
# already running, or with a stale lock file.
Xvfb -displayfd 1 -screen 0 1280x820x24 -nolisten tcp >"$data/display" 2>/dev/null &
xvfb=$!
app=
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$data/display" ] && break; sleep 0.1; done
[ -s "$data/display" ] || { echo "Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$(head -n1 "$data/display")" PEERCOACH_LOOPBACK=1
up=
for _ in $(seq 50); do xwininfo -root >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ -n "$up" ] || { echo "Xvfb on $DISPLAY does not answer" >&2; exit 1; }
/usr/bin/peercoach --data-dir "$data/pc" >"$out/app.log" 2>&1 &
app=$!
window=
for _ in $(seq 100); do
  window=$(xwininfo -root -tree 2>/dev/null | awk '/"peercoach": \("peercoach" "peercoach"\)/ {print $1; exit}')
  [ -n "$window" ] && break
  sleep 0.2
done
if [ -z "$window" ]; then
  echo "no window of class peercoach came up; the app said:" >&2
  cat "$out/app.log" >&2
  exit 1
fi
echo "window $window: $(xprop -id "$window" WM_CLASS)"
xprop -id "$window" _NET_WM_ICON | grep -q CARDINAL || { echo "the window has no icon" >&2; exit 1; }
echo "window icon: set"
sleep 3
import -window root "$out/first-run.png"
colours=$(identify -format '%k' "$out/first-run.png")
echo "screenshot: $out/first-run.png ($colours colours)"
[ "$colours" -gt 16 ] || { echo "the screenshot is blank" >&2; exit 1; }
kill "$app"
wait "$app" 2>/dev/null || true
app=

echo "== apt purge"
apt-get purge -y -qq peercoach >/dev/null
test ! -e /usr/bin/peercoach
test ! -e /usr/share/applications/$id.desktop
test ! -e /usr/share/icons/hicolor/48x48/apps/$id.png
echo "removed cleanly"
echo "package test passed"
