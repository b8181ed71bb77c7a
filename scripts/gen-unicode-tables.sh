#!/bin/sh
# Writes src/tokenizer/unicode_tables.c: the Unicode character classes the pre-tokenizer
# needs, as sorted codepoint range tables, from the Unicode Character Database.
#   \p{L}        general categories Lu Ll Lt Lm Lo     (UnicodeData.txt)
#   \p{N}        general categories Nd Nl No           (UnicodeData.txt)
#   White_Space  the binary property                   (PropList.txt)
# UnicodeData.txt lists big blocks (CJK, Hangul, Tangut, ...) as "<Name, First>" and
# "<Name, Last>" line pairs; every codepoint between them has the pair's category.
#
# Usage: sh scripts/gen-unicode-tables.sh [UCD_DIR] [OUT]
#   UCD_DIR  default /usr/share/unicode (Debian package unicode-data)
#   OUT      default src/tokenizer/unicode_tables.c
# POSIX sh + awk (mawk or gawk) + sha256sum; no Python.
set -eu
UCD=${1:-/usr/share/unicode}
OUT=${2:-src/tokenizer/unicode_tables.c}
UD="$UCD/UnicodeData.txt"
PL="$UCD/PropList.txt"
for f in "$UD" "$PL"; do
    [ -r "$f" ] || { echo "gen-unicode-tables: cannot read $f (apt-get install unicode-data)" >&2; exit 1; }
done
# The version is in PropList's first line: "# PropList-15.0.0.txt".
VER=$(sed -n '1s/^# PropList-\([0-9.]*\)\.txt.*/\1/p' "$PL")
[ -n "$VER" ] || { echo "gen-unicode-tables: no version in $PL" >&2; exit 1; }
SUM_UD=$(sha256sum "$UD" | cut -d' ' -f1)
SUM_PL=$(sha256sum "$PL" | cut -d' ' -f1)
TMP="$OUT.tmp.$$"
trap 'rm -f "$TMP"' EXIT

awk -v ver="$VER" -v sum_ud="$SUM_UD" -v sum_pl="$SUM_PL" -v ud="$UD" -v pl="$PL" '
function hex(s,    i, n, c) {
    n = 0
    s = toupper(s)
    for (i = 1; i <= length(s); i++) {
        c = index("0123456789ABCDEF", substr(s, i, 1))
        if (c == 0) { print "gen-unicode-tables: bad hex " s > "/dev/stderr"; exit 1 }
        n = n * 16 + c - 1
    }
    return n
}
function setr(lo, hi, c,    i) { for (i = lo; i <= hi; i++) cls[i] = c }
function gcclass(gc) {
    if (gc ~ /^L[ultmo]$/) return 1
    if (gc ~ /^N[dlo]$/) return 2
    return 0
}
# Emits the ranges of class c as a C array.
function table(name, c, comment,    cp, lo, n, line) {
    printf "/* %s */\n", comment
    printf "const gb_urange %s[] = {\n", name
    n = 0; lo = -1; line = ""
    for (cp = 0; cp <= 1114112; cp++) {
        if (cp < 1114112 && (cp in cls) && cls[cp] == c) { if (lo < 0) lo = cp; continue }
        if (lo < 0) continue
        item = sprintf("{0x%04X, 0x%04X},", lo, cp - 1)
        if (length(line) + length(item) + 1 > 96) { print "   " line; line = "" }
        line = line " " item
        n++; lo = -1
    }
    if (line != "") print "   " line
    printf "};\nconst int %s_n = %d;\n\n", name, n
}
BEGIN {
    FS = ";"
    while ((getline l < ud) > 0) {
        split(l, f, ";")
        cp = hex(f[1]); c = gcclass(f[3])
        if (f[2] ~ /, First>$/) { first = cp; continue }
        if (f[2] ~ /, Last>$/) { if (c) setr(first, cp, c); continue }
        if (c) cls[cp] = c
    }
    close(ud)
    while ((getline l < pl) > 0) {
        sub(/#.*/, "", l)
        if (l !~ /;[ \t]*White_Space[ \t]*$/) continue
        split(l, f, ";"); r = f[1]; gsub(/[ \t]/, "", r)
        if (split(r, b, /\.\./) == 2) setr(hex(b[1]), hex(b[2]), 3)
        else setr(hex(r), hex(r), 3)
    }
    close(pl)

    print "/* glassbox — Unicode character classes for the pre-tokenizer. GENERATED, do not edit:"
    print " * sh scripts/gen-unicode-tables.sh rewrites it from the Unicode Character Database."
    print " *"
    printf " * Unicode %s (Debian package unicode-data):\n", ver
    printf " *   UnicodeData.txt  sha256 %s\n", sum_ud
    printf " *   PropList.txt     sha256 %s\n", sum_pl
    print " *"
    print " * Sorted, disjoint, inclusive codepoint ranges {lo, hi}. gb_unicode_class_start/_cls"
    print " * partitions all of 0..0x10FFFF into runs of one class (what the lookup searches). */"
    print "#include \"tokenizer/unicode.h\""
    print ""
    printf "const char gb_unicode_version[] = \"%s\";\n\n", ver
    table("gb_unicode_letter", 1, "\\p{L}: general categories Lu Ll Lt Lm Lo")
    table("gb_unicode_number", 2, "\\p{N}: general categories Nd Nl No")
    table("gb_unicode_space", 3, "White_Space (PropList.txt)")

    # The partition: start of each run and its class (0 other, 1 letter, 2 number, 3 space).
    n = 0; prev = -1
    for (cp = 0; cp < 1114112; cp++) {
        c = (cp in cls) ? cls[cp] + 0 : 0
        if (c != prev) { st[n] = cp; sc[n] = c; n++; prev = c }
    }
    print "/* Run starts of the partition (ascending, first is 0) and the class of each run. */"
    print "const uint32_t gb_unicode_class_start[] = {"
    line = ""
    for (i = 0; i < n; i++) {
        item = sprintf("0x%X,", st[i])
        if (length(line) + length(item) + 1 > 96) { print "   " line; line = "" }
        line = line " " item
    }
    print "   " line
    print "};"
    print "const uint8_t gb_unicode_class_cls[] = {"
    line = ""
    for (i = 0; i < n; i++) {
        item = sprintf("%d,", sc[i])
        if (length(line) + length(item) + 1 > 96) { print "   " line; line = "" }
        line = line " " item
    }
    print "   " line
    print "};"
    printf "const int gb_unicode_class_n = %d;\n\n", n

    # Direct lookup below U+0800 (every 1- and 2-byte UTF-8 character: Latin, Greek,
    # Cyrillic, Armenian, Hebrew, Arabic, ...), so those scripts skip the search.
    print "/* Class of each codepoint below U+0800. */"
    print "const uint8_t gb_unicode_class_lo[0x800] = {"
    line = ""
    for (cp = 0; cp < 2048; cp++) {
        line = line sprintf("%d,", (cp in cls) ? cls[cp] + 0 : 0)
        if (cp % 32 == 31) { print "    " line; line = "" }
    }
    print "};"
}' > "$TMP"
mv "$TMP" "$OUT"
trap - EXIT
echo "gen-unicode-tables: wrote $OUT (Unicode $VER)" >&2
