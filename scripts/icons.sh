#!/usr/bin/env bash
# Renders the app icon (packaging/icons/peercoach.svg) into the PNGs the package and the
# window use, and the Windows .ico. The outputs are committed: building and packaging
# need no image tools. Needs rsvg-convert (Debian: librsvg2-bin) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
svg=packaging/icons/peercoach.svg
id=org.peercoach.peercoach
for size in 16 24 32 48 64 128 256 512; do
  dir=packaging/icons/hicolor/${size}x${size}/apps
  mkdir -p "$dir"
  rsvg-convert -w "$size" -h "$size" "$svg" -o "$dir/$id.png"
done
# An .ico holds PNG images as they are (Windows Vista and later read them).
python3 - "$id" <<'PY'
import struct, sys
sizes = [16, 24, 32, 48, 64, 128, 256]
images = [open(f"packaging/icons/hicolor/{s}x{s}/apps/{sys.argv[1]}.png", "rb").read() for s in sizes]
offset = 6 + 16 * len(images)
head = struct.pack("<HHH", 0, 1, len(images))
entries = b""
for size, data in zip(sizes, images):
    entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
    offset += len(data)
open("packaging/icons/peercoach.ico", "wb").write(head + entries + b"".join(images))
PY
echo "rendered $(ls packaging/icons/hicolor | wc -l) sizes and packaging/icons/peercoach.ico"
