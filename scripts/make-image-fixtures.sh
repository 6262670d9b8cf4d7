#!/usr/bin/env bash
# Makes the small real images under test/fixtures/images/ with real encoders, one or more per format
# the sniffer accepts. Run by hand when a fixture is added (not by CI: the tests read the committed
# files and need none of these tools). Needs, on Debian 12:
#   apt-get install -y imagemagick libheif-examples libavif-bin webp libjxl-tools libtiff-tools \
#     libjpeg-turbo-progs libimage-exiftool-perl librsvg2-bin
# Usage: scripts/make-image-fixtures.sh [OUT]   (OUT defaults to test/fixtures/images)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-test/fixtures/images}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Sources: small, with some detail so encoders make real entropy-coded data. No timestamps
# (PNG tIME/tEXt dates), so a rerun with the same tools makes the same bytes.
im() { convert "$@"; }
strip=(-depth 8 -strip -define png:exclude-chunks=date,time)
im -size 64x48 -seed 7 plasma:red-blue "${strip[@]}" "$work/a.png"
im -size 64x48 -seed 8 plasma:green-yellow "${strip[@]}" "$work/b.png"
im -size 128x128 -seed 9 plasma:fractal "${strip[@]}" "$work/c128.png"
im -size 300x40 -seed 10 plasma:fractal "${strip[@]}" "$work/d300x40.png"
im "$work/a.png" -alpha set -channel A -evaluate set 60% +channel "${strip[@]}" "$work/a-alpha.png"
im "$work/a.png" "$work/a.ppm"

# JPEG: baseline; progressive (several scans); restart markers in every MCU row (also progressive); EXIF (APP1)
# holding orientation 6 and a thumbnail JPEG, whose own FFD9 lies inside the APP1 segment.
im "$work/a.png" -strip -quality 85 "$out/baseline.jpg"
im "$work/a.png" -strip -quality 85 -interlace Plane "$out/progressive.jpg"
cjpeg -quality 85 -restart 1 -outfile "$out/restart.jpg" "$work/a.ppm"
# The same made progressive, without loss: jpegtran's scan script, a restart marker every MCU row.
jpegtran -progressive -restart 1 -outfile "$out/progressive-restart.jpg" "$out/restart.jpg"
im "$work/a.png" -resize 16x12 -strip -quality 70 "$work/thumb.jpg"
cp "$out/baseline.jpg" "$out/exif-thumbnail.jpg"
exiftool -q -overwrite_original -Orientation#=6 '-ThumbnailImage<='"$work/thumb.jpg" "$out/exif-thumbnail.jpg"

# PNG (truecolour with alpha, and palette + Adam7 interlacing); GIF animated with local colour
# tables and a comment extension.
cp "$work/a-alpha.png" "$out/rgba.png"
im "$work/a.png" -colors 16 -interlace PNG "${strip[@]}" PNG8:"$out/palette-interlaced.png"
im -comment 'made for imgpull tests' -delay 10 "$work/a.png" "$work/b.png" -loop 0 "$out/animated.gif"

# WebP: lossy (VP8), lossless (VP8L), with alpha (VP8X + ALPH + VP8), animated (ANIM + ANMF).
cwebp -quiet -q 80 "$work/a.png" -o "$out/lossy.webp"
cwebp -quiet -lossless "$work/a.png" -o "$out/lossless.webp"
cwebp -quiet -q 80 "$work/a-alpha.png" -o "$out/alpha.webp"
img2webp -loop 0 -lossy -d 100 "$work/a.png" "$work/b.png" -o "$out/animated.webp" >/dev/null 2>&1

# AVIF: plain 64x48; a 2x2 grid of 64x64 tiles (128x128); rotated 90 degrees (irot: 48x64);
# cropped by a clean aperture (clap: 60x40).
avifenc -s 10 "$work/a.png" "$out/plain.avif" >/dev/null
avifenc -s 10 --grid 2x2 "$work/c128.png" "$out/grid.avif" >/dev/null
avifenc -s 10 --irot 1 "$work/a.png" "$out/rotated.avif" >/dev/null
avifenc -s 10 --crop 2,4,60,40 "$work/a.png" "$out/cropped.avif" >/dev/null

# HEIC: libheif stores a size that is not a multiple of the coding block as a grid of one padded
# tile: 64x48 as a 64x64 tile, 300x40 as a 300x64 tile (issue 12's two wrong sizes).
heif-enc -q 50 "$work/a.png" -o "$out/grid-64x48.heic" >/dev/null
heif-enc -q 50 "$work/d300x40.png" -o "$out/grid-300x40.heic" >/dev/null
im "$work/c128.png" -resize 64x64 "${strip[@]}" "$work/c64.png"
heif-enc -q 50 "$work/c64.png" -o "$out/plain-64x64.heic" >/dev/null

# TIFF as ImageMagick writes it (IFD after the image data): little- and big-endian, LZW,
# two pages, tiled (16x16 tiles), BigTIFF.
im "$work/a.png" -define tiff:endian=lsb "$out/little-endian.tif"
im "$work/a.png" -define tiff:endian=msb -compress lzw "$out/big-endian-lzw.tif"
im "$work/a.png" "$work/b.png" "$out/two-pages.tif"
tiffcp -t -w 16 -l 16 "$out/little-endian.tif" "$out/tiled.tif"
im "$work/a.png" TIFF64:"$out/bigtiff.tif"

# BMP: Windows V3 (24-bit, bottom-up), V5 with alpha, OS/2 V1 (12-byte header).
im "$work/a.png" BMP3:"$out/v3.bmp"
im "$work/a-alpha.png" BMP:"$out/v5-alpha.bmp"
im "$work/a.png" BMP2:"$out/os2.bmp"

# ICO with three sizes (the 256x256 one stored as PNG), and a cursor.
im -size 256x256 gradient:navy-orange -depth 8 -define icon:auto-resize=256,32,16 "$out/three-sizes.ico"
# ImageMagick 6 writes a .cur as an icon (type 1): make it a cursor (type 2, hotspot 3,5).
im "$work/a.png" -resize 32x32 "$out/cursor.cur"
printf '\x02' | dd of="$out/cursor.cur" bs=1 seek=2 conv=notrunc status=none
printf '\x03\x00\x05\x00' | dd of="$out/cursor.cur" bs=1 seek=10 conv=notrunc status=none

# SVG written by a renderer (cairo through rsvg-convert). The editor-style SVGs beside it
# (illustrator.svg, inkscape.svg, long-comment-bom.svg) are hand-written, after those editors' output,
# and not made here; rsvg-convert renders each (a check that they are well-formed).
cat >"$work/src.svg" <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="64" height="48" fill="#36c"/><circle cx="32" cy="24" r="16" fill="#fc3"/></svg>
SVG
rsvg-convert -f svg "$work/src.svg" -o "$out/cairo.svg"

# JPEG XL: a bare codestream (cjxl's default), the same in a container, and a recompressed JPEG
# (container with jbrd reconstruction data).
cjxl --quiet -d 1 "$work/a.png" "$out/bare.jxl" 2>/dev/null
cjxl --quiet -d 1 --container=1 "$work/a.png" "$out/container.jxl" 2>/dev/null
cjxl --quiet "$out/baseline.jpg" "$out/recompressed-jpeg.jxl" 2>/dev/null

# JPEG 2000 (JP2 boxes).
im "$work/a.png" -quality 40 "$out/plain.jp2"

ls -l "$out"
