#!/usr/bin/env bash
# Extracts the training text of the bundled default model: the King James Version of the Bible
# (public domain) from Debian's bible-kjv-text package, dumped with its reader bible-kjv, one
# chapter a paragraph (verse numbers dropped), books separated by two blank lines.
#
#   bash tools/default-model/prepare_text.sh OUT_FILE
set -euo pipefail
out="$(realpath -m "$1")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download bible-kjv bible-kjv-text >/dev/null
for f in *.deb; do dpkg -x "$f" root; done
./root/usr/bin/bible -p "$tmp/root/usr/lib" -f -m 8 "gen1:1-rev22:21" >kjv.raw
python3 - kjv.raw "$out" <<'PY'
import re, sys
books, cur, chap = [], None, None
for line in open(sys.argv[1], encoding="ascii"):
    m = re.match(r"^([0-9]?[A-Za-z]+)(\d+):(\d+) (.*)$", line.rstrip("\n"))
    if not m:
        continue
    book, c, _, verse = m.groups()
    if book != cur:
        books.append([]); cur, chap = book, None
    if c != chap:
        books[-1].append([]); chap = c
    books[-1][-1].append(verse.strip())
with open(sys.argv[2], "w") as f:
    f.write("\n\n\n".join("\n\n".join(" ".join(ch) for ch in b) for b in books))
print(f"{len(books)} books, {sum(len(b) for b in books)} chapters -> {sys.argv[2]}")
PY
