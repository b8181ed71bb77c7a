#!/bin/sh
# glassbox — regenerate the bundled public-domain corpora in data/ from Debian packages.
#
#   sh scripts/export-corpora.sh
#
# Writes, from the installed packages (see data/README.md for the rules):
#   data/corpora/kjv.txt.gz     King James Bible, one verse per line, text only
#                               (bible-kjv-text, read with `bible` from bible-kjv)
#   data/corpora/web.tsv.gz     World English Bible, KEY<TAB>text   (sword-text-web)
#   data/corpora/rv1909.tsv.gz  Reina-Valera 1909,   KEY<TAB>text   (sword-text-sparv)
#   data/SOURCES.json           one record per file: source package and version, licence,
#                               SHA-256, bytes and lines of the uncompressed text
#
# KEY is the OSIS book.chapter.verse id (Gen.1.1, 1Cor.13.4, Rev.22.21), the same in both
# TSV files, so English and Spanish verses align by key. Deterministic: a second run gives
# identical bytes (gzip -n drops name and time). Needs: bible-kjv, bible-kjv-text,
# libsword-utils (mod2imp), sword-text-web, sword-text-sparv, perl, gzip, sha256sum.
# No Python: glassbox ships none.
set -eu

cd "$(dirname "$0")/.."
export LC_ALL=C

OUT=data/corpora
INDEX=data/SOURCES.json
WEB_MOD=engWEB2015eb
RV_MOD=spaRV1909eb

die() { echo "export-corpora: $*" >&2; exit 1; }

for tool in bible mod2imp perl gzip sha256sum dpkg-query; do
    command -v "$tool" >/dev/null 2>&1 || die "missing $tool (apt-get install bible-kjv libsword-utils perl gzip)"
done

pkgver() {
    v=$(dpkg-query -W -f '${Version}' "$1" 2>/dev/null) || die "package $1 is not installed"
    [ -n "$v" ] || die "package $1 is not installed"
    printf '%s' "$v"
}
KJV_PKG=bible-kjv-text KJV_VER=$(pkgver bible-kjv-text)
KJV_TOOL_VER=$(pkgver bible-kjv)
WEB_PKG=sword-text-web WEB_VER=$(pkgver sword-text-web)
RV_PKG=sword-text-sparv RV_VER=$(pkgver sword-text-sparv)
SWORD_TOOL_VER=$(pkgver libsword-utils)

# The licence statements quoted in SOURCES.json must still be in the installed copyright
# files; if a new package version words them differently, stop and let a person re-read it.
KJV_LICENCE='The copyright for the King James Version text of the Bible is expired since the translation was done in 1611 under King James the first of Great Britain.'
WEB_LICENCE='The World English Bible is in the Public Domain. That means that it is not copyrighted.'
RV_LICENCE='This work is not copyrighted. It is in the Public Domain.'
check_licence() { # package, statement
    f=/usr/share/doc/$1/copyright
    [ -r "$f" ] || die "$f: missing"
    # the files wrap lines and double some spaces: compare with whitespace collapsed
    tr -s ' \n' '  ' < "$f" | grep -qF "$2" || die "$f: no longer says: $2"
}
check_licence "$KJV_PKG" "$KJV_LICENCE"
check_licence "$WEB_PKG" "$WEB_LICENCE"
check_licence "$RV_PKG" "$RV_LICENCE"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
mkdir -p "$OUT"

# --- King James Bible --------------------------------------------------------------------
# `bible -f` turns pretty-printing off: one verse per line, "Ge1:1 In the beginning...".
# -p pins the data file to the package's copy (bible looks in the current directory first).
# The reference key is dropped and whitespace collapsed (the data has two double spaces
# and one trailing space).
bible -p /usr/lib -f Gen1:1-Rev22:21 > "$TMP/kjv.raw" </dev/null
perl -ne '
    s/\A\S+ //;                     # reference key
    s/\s+/ /g; s/\A //; s/ \z//;
    die "empty verse at line $.\n" if $_ eq "";
    print "$_\n";
' "$TMP/kjv.raw" > "$TMP/kjv.txt"
n=$(wc -l < "$TMP/kjv.txt")
[ "$n" -eq 31102 ] || die "bible printed $n verses, want 31102 (Genesis 1:1 to Revelation 22:21)"

# --- SWORD modules: raw OSIS to KEY<TAB>text --------------------------------------------
cat > "$TMP/osis2tsv.pl" <<'PERL'
# Reads mod2imp output ("$$$Book C:V" lines, each followed by that entry's raw OSIS) and
# prints "OSIS-KEY<TAB>plain text" for every verse (V >= 1) with text, in module order.
use strict;
use warnings;
use utf8;
use feature qw(unicode_strings);
binmode STDIN, ':encoding(UTF-8)';
binmode STDOUT, ':encoding(UTF-8)';

# SWORD book names (as mod2imp prints them) -> OSIS book ids.
my %osis = (
    'Genesis' => 'Gen', 'Exodus' => 'Exod', 'Leviticus' => 'Lev', 'Numbers' => 'Num',
    'Deuteronomy' => 'Deut', 'Joshua' => 'Josh', 'Judges' => 'Judg', 'Ruth' => 'Ruth',
    'I Samuel' => '1Sam', 'II Samuel' => '2Sam', 'I Kings' => '1Kgs', 'II Kings' => '2Kgs',
    'I Chronicles' => '1Chr', 'II Chronicles' => '2Chr', 'Ezra' => 'Ezra',
    'Nehemiah' => 'Neh', 'Esther' => 'Esth', 'Job' => 'Job', 'Psalms' => 'Ps',
    'Proverbs' => 'Prov', 'Ecclesiastes' => 'Eccl', 'Song of Solomon' => 'Song',
    'Isaiah' => 'Isa', 'Jeremiah' => 'Jer', 'Lamentations' => 'Lam', 'Ezekiel' => 'Ezek',
    'Daniel' => 'Dan', 'Hosea' => 'Hos', 'Joel' => 'Joel', 'Amos' => 'Amos',
    'Obadiah' => 'Obad', 'Jonah' => 'Jonah', 'Micah' => 'Mic', 'Nahum' => 'Nah',
    'Habakkuk' => 'Hab', 'Zephaniah' => 'Zeph', 'Haggai' => 'Hag', 'Zechariah' => 'Zech',
    'Malachi' => 'Mal',
    'Tobit' => 'Tob', 'Judith' => 'Jdt', 'Esther (Greek)' => 'EsthGr', 'Wisdom' => 'Wis',
    'Sirach' => 'Sir', 'Baruch' => 'Bar', 'Prayer of Azariah' => 'PrAzar',
    'Susanna' => 'Sus', 'Bel and the Dragon' => 'Bel', 'I Maccabees' => '1Macc',
    'II Maccabees' => '2Macc', 'I Esdras' => '1Esd', 'Prayer of Manasses' => 'PrMan',
    'Additional Psalm' => 'AddPs', 'III Maccabees' => '3Macc', 'II Esdras' => '2Esd',
    'IV Maccabees' => '4Macc',
    'Matthew' => 'Matt', 'Mark' => 'Mark', 'Luke' => 'Luke', 'John' => 'John',
    'Acts' => 'Acts', 'Romans' => 'Rom', 'I Corinthians' => '1Cor',
    'II Corinthians' => '2Cor', 'Galatians' => 'Gal', 'Ephesians' => 'Eph',
    'Philippians' => 'Phil', 'Colossians' => 'Col', 'I Thessalonians' => '1Thess',
    'II Thessalonians' => '2Thess', 'I Timothy' => '1Tim', 'II Timothy' => '2Tim',
    'Titus' => 'Titus', 'Philemon' => 'Phlm', 'Hebrews' => 'Heb', 'James' => 'Jas',
    'I Peter' => '1Pet', 'II Peter' => '2Pet', 'I John' => '1John', 'II John' => '2John',
    'III John' => '3John', 'Jude' => 'Jude', 'Revelation of John' => 'Rev',
);

my %ent = (amp => '&', lt => '<', gt => '>', quot => '"', apos => "'", nbsp => "\x{a0}");

# Structural elements: their tags stand between words, so they become a space.
# Every other tag (w, transChange, q, seg, name, hi, divineName, ...) wraps part of a word
# run and is removed outright, keeping its text.
my $block = qr/div|p|l|lg|lb|list|item|chapter|milestone|title|speaker|note|verse|table|row|cell|figure|closer|salute|signed|caption|head|catchWord|rdg|reference/;

my $SP = "\x{1}";    # a space that markup left; dropped before closing punctuation

# Spanish object pronouns that attach to a verb, and the words before a supplied pronoun
# that show it stands alone ("si Dios lo permitiere", "para que la tengan").
my $clitic = qr/(?:lo|la|los|las|le|les|me|te|se|nos|os)/;
my %notverb = map { $_ => 1 } qw(que como y e no ni o u a á de en si os nos se me te le lo
    la los las les dios ellos ellas él ella yo tú gentes jehová josué cuánto);

sub plain {
    my ($s) = @_;
    # A verse's entry can run on past the end of its book (the WEB glossary hangs off
    # Rev.22.21): cut at the book's closing milestone.
    $s =~ s{<div\b(?=[^>]*\beID=)(?=[^>]*\btype="book")[^>]*/>.*\z}{}s;
    # Notes, editorial headings (titles not marked canonical, e.g. "BOOK 5", section
    # heads) and speaker labels ("Lover", "Beloved") are not verse text: one space each.
    # Canonical titles (psalm superscriptions) keep their words.
    $s =~ s{<note\b[^>]*/>}{$SP}g;
    $s =~ s{<note\b[^>]*>.*?</note>}{$SP}gs;
    $s =~ s{<title\b(?![^>]*\bcanonical="true")[^>]*/>}{$SP}g;
    $s =~ s{<title\b(?![^>]*\bcanonical="true")[^>]*>.*?</title>}{$SP}gs;
    $s =~ s{<speaker\b[^>]*>.*?</speaker>}{$SP}gs;
    # RV1909 marks the words its translators supplied with <transChange>, often written
    # flush against the neighbouring <w> elements ("madre</w><transChange>fué</transChange>
    # <w>Abi"): such a boundary is a word break, except an enclitic pronoun joined to the
    # verb before it (matar+lo, díjo+le, Júrame+lo), which Spanish writes as one word.
    $s =~ s{</transChange>(?=<w\b)}{</transChange>$SP}g;
    $s =~ s{(\p{L}+)</w>(?=<transChange\b[^>]*>(.*?)</transChange>)}{
        my ($prev, $added) = ($1, $2);
        $added =~ s/<[^>]*>//g;
        ($added =~ /\A$clitic\z/ && !$notverb{lc $prev}) ? "$prev</w>" : "$prev</w>$SP"
    }ge;
    $s =~ s{</?(?:$block)\b[^>]*>}{$SP}g;
    $s =~ s{<[^>]*>}{}g;
    die "unbalanced markup: $s\n" if $s =~ /[<>]/;
    $s =~ s{&(#x[0-9A-Fa-f]+|#[0-9]+|[a-z]+);}{
        my $e = $1;
        $e =~ /^#x(.*)/ ? chr(hex $1) : $e =~ /^#(.*)/ ? chr($1) :
        exists $ent{$e} ? $ent{$e} : die "unknown entity &$e;\n"
    }ge;
    $s =~ s{\s}{ }g;                          # tabs, newlines, no-break spaces
    $s =~ s{ *\x01[ \x01]*}{\x01}g;
    $s =~ s{$SP(?=[,.;:!?’”)\]])}{}g;         # "word<note/>," -> "word,"
    $s =~ s{(?<=[‘“(\[¿¡])$SP}{}g;            # "“<note/>word" -> "“word"
    $s =~ s{$SP}{ }g;
    $s =~ s{ +}{ }g;
    $s =~ s{\A }{};
    $s =~ s{ \z}{};
    return $s;
}

my ($key, $text, %seen) = (undef, '');
sub flush {
    return unless defined $key;
    my $t = plain($text);
    if ($t ne '') {
        die "duplicate key $key\n" if $seen{$key}++;
        print "$key\t$t\n";
    }
    ($key, $text) = (undef, '');
}
while (my $line = <STDIN>) {
    chomp $line;
    if ($line =~ /^\$\$\$(.*)$/) {
        flush();
        my $ref = $1;
        next if $ref =~ /^\[/;                    # module / testament headings
        $ref =~ /^(.+) (\d+):(\d+)$/ or die "bad key line: $line\n";
        my ($book, $c, $v) = ($1, $2, $3);
        exists $osis{$book} or die "unknown book name: $book\n";
        next if $c == 0 || $v == 0;               # book and chapter introductions
        $key = "$osis{$book}.$c.$v";
        next;
    }
    $text .= " $line" if defined $key;
}
flush();
PERL

export_sword() { # module, output
    mod2imp "$1" > "$TMP/$1.imp" </dev/null || die "mod2imp $1 failed"
    [ -s "$TMP/$1.imp" ] || die "mod2imp $1: no output (is the module installed?)"
    perl "$TMP/osis2tsv.pl" < "$TMP/$1.imp" > "$2" || die "$1: markup stripping failed"
}
export_sword "$WEB_MOD" "$TMP/web.tsv"
export_sword "$RV_MOD" "$TMP/rv1909.tsv"

# --- compress, then index ---------------------------------------------------------------
for f in kjv.txt web.tsv rv1909.tsv; do
    [ -s "$TMP/$f" ] || die "$f: empty export"
    gzip -n -9 -c "$TMP/$f" > "$TMP/$f.gz"
    mv "$TMP/$f.gz" "$OUT/$f.gz"
done

facts() { # file -> "sha256 bytes lines"
    printf '%s %s %s' "$(sha256sum < "$1" | cut -d' ' -f1)" "$(wc -c < "$1" | tr -d ' ')" \
        "$(wc -l < "$1" | tr -d ' ')"
}

# One line of tab-separated fields per file, turned into JSON by perl (JSON::PP is core):
# path, description, package, version, tool, upstream, licence, licence_text, format,
# sha256, bytes, lines.
{
    printf '%s\t' "$OUT/kjv.txt.gz" \
        "King James Version (Authorized Version of 1611), Old and New Testaments, as distributed with the Bible Retrieval System. Main training corpus for the tokenizer and small language model." \
        "$KJV_PKG" "$KJV_VER" "bible -f Gen1:1-Rev22:21 (bible-kjv $KJV_TOOL_VER)" \
        "Translators appointed by King James I; electronic text from the Bible Retrieval System (Chip Chapin, Hewlett-Packard, 1989-1993)" \
        "public domain" "$KJV_LICENCE" \
        "UTF-8 plain text (ASCII in practice), LF line endings, one verse per line in canonical order Genesis 1:1 to Revelation 22:21, no reference keys"
    printf '%s\t%s\t%s\n' $(facts "$TMP/kjv.txt")
    printf '%s\t' "$OUT/web.tsv.gz" \
        "World English Bible with Deuterocanon (2020 stable text), SWORD module $WEB_MOD. English side of the aligned English-Spanish Bible." \
        "$WEB_PKG" "$WEB_VER" "mod2imp $WEB_MOD (libsword-utils $SWORD_TOOL_VER), OSIS markup stripped by scripts/export-corpora.sh" \
        "Michael Paul Johnson and World English Bible contributors (eBible.org)" \
        "public domain" "$WEB_LICENCE" \
        "UTF-8, LF line endings, one verse per line: OSIS key (Book.Chapter.Verse, SWORD NRSVA versification), TAB, text; module order"
    printf '%s\t%s\t%s\n' $(facts "$TMP/web.tsv")
    printf '%s\t' "$OUT/rv1909.tsv.gz" \
        "Reina-Valera 1909 Spanish Bible (Santa Biblia), SWORD module $RV_MOD. Spanish side of the aligned English-Spanish Bible." \
        "$RV_PKG" "$RV_VER" "mod2imp $RV_MOD (libsword-utils $SWORD_TOOL_VER), OSIS markup stripped by scripts/export-corpora.sh" \
        "Casiodoro de Reina (1569) and Cipriano de Valera (1602), 1909 revision; electronic text from eBible.org" \
        "public domain" "$RV_LICENCE" \
        "UTF-8, LF line endings, one verse per line: OSIS key (Book.Chapter.Verse, SWORD KJV versification), TAB, text; module order"
    printf '%s\t%s\t%s\n' $(facts "$TMP/rv1909.tsv")
} > "$TMP/index.tsv"

perl -MJSON::PP -e '
    my $j = JSON::PP->new->utf8(0)->allow_nonref;
    my $q = sub { $j->encode($_[0]) };
    my @rec;
    while (my $l = <STDIN>) {
        chomp $l;
        my ($path, $desc, $pkg, $ver, $tool, $up, $lic, $lictext, $fmt, $sha, $bytes, $lines) =
            split /\t/, $l, -1;
        die "bad index line: $l\n" unless defined $lines && $lines =~ /^\d+$/;
        push @rec, join "",
            "    {\n",
            "      \"path\": ", $q->($path), ",\n",
            "      \"description\": ", $q->($desc), ",\n",
            "      \"source\": {\"debian_package\": ", $q->($pkg), ", \"version\": ", $q->($ver),
                ", \"exported_with\": ", $q->($tool), "},\n",
            "      \"upstream\": ", $q->($up), ",\n",
            "      \"licence\": ", $q->($lic), ",\n",
            "      \"licence_statement\": ", $q->($lictext), ",\n",
            "      \"licence_file\": ", $q->("/usr/share/doc/$pkg/copyright"), ",\n",
            "      \"compression\": \"gzip\",\n",
            "      \"format\": ", $q->($fmt), ",\n",
            "      \"sha256\": ", $q->($sha), ",\n",
            "      \"bytes\": $bytes,\n",
            "      \"lines\": $lines\n",
            "    }";
    }
    print "{\n",
          "  \"comment\": \"Bundled data files. sha256, bytes and lines describe the UNCOMPRESSED text. Regenerate with: sh scripts/export-corpora.sh\",\n",
          "  \"files\": [\n", join(",\n", @rec), "\n  ]\n}\n";
' < "$TMP/index.tsv" > "$TMP/SOURCES.json"
mv "$TMP/SOURCES.json" "$INDEX"

for f in kjv.txt web.tsv rv1909.tsv; do
    printf '%-28s %9s bytes  %6s lines  -> %s (%s bytes)\n' "$f" "$(wc -c < "$TMP/$f" | tr -d ' ')" \
        "$(wc -l < "$TMP/$f" | tr -d ' ')" "$OUT/$f.gz" "$(wc -c < "$OUT/$f.gz" | tr -d ' ')"
done
echo "wrote $INDEX"
