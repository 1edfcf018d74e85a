"""Reads a fangyan export with the real Python tools (praatio, pympi-ling, webvtt-py, srt) and
checks that every per-recording format and every manifest says the same thing as the Kaldi
`text` and the NIST STM: same utterances, same Chinese text (byte-identical), same times
(within 1 ms + 1 sample). Run by tests/suite/export.rs: `python export_check.py EXPORT_DIR`.
Prints one line per failure and exits 1 if there was any; prints `ok <counts>` otherwise."""

import csv
import glob
import html
import json
import os
import sys

import pympi
import srt
import webvtt
from praatio import textgrid

TOL = 0.0011 + 1 / 16000


def is_cjk(ch):
    c = ord(ch)
    return 0x3400 <= c <= 0x9FFF or 0xF900 <= c <= 0xFAFF or 0x20000 <= c <= 0x3FFFF


def nist_tokens(text):
    """The STM's tokens of a transcript (issue 19): one per CJK character, words of letters,
    digits and apostrophes, markers `[x]` as the optionally deletable `(x)`, punctuation
    dropped. The same rule as src/corpus/nist.rs, written again to check it."""
    out, word, k = [], "", 0
    while k < len(text):
        ch = text[k]
        close = text.find("]", k) if ch == "[" else -1
        if close >= 0:
            if word:
                out.append(word)
                word = ""
            name = "".join(c for c in text[k + 1 : close] if c.isalnum()).lower()
            if name:
                out.append(f"({name})")
            k = close + 1
            continue
        if is_cjk(ch):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch.isalnum() or ch == "'":
            word += ch
        elif word:
            out.append(word)
            word = ""
        k += 1
    if word:
        out.append(word)
    return out


def main(root):
    errors = []

    def err(msg):
        errors.append(msg)

    # Reference: Kaldi text per utterance, and STM (recording, start, end, text).
    kaldi = {}
    for path in glob.glob(os.path.join(root, "kaldi", "*", "text")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                utt, _, text = line.rstrip("\n").partition(" ")
                kaldi[utt] = text
    stm = {}
    for path in glob.glob(os.path.join(root, "nist", "*.stm")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(";;"):
                    continue
                parts = line.rstrip("\n").split(" ", 5)
                text = parts[5] if len(parts) > 5 else ""
                stm.setdefault(parts[0], []).append((float(parts[3]), float(parts[4]), text))
    if not kaldi or not stm:
        err("no kaldi text or no stm")

    # The timed formats must agree exactly with each other (the TextGrid is read first) and,
    # tokenised as sclite reads them, with the STM.
    exact = {}

    def compare(fmt, rec, got):
        want = sorted(stm.get(rec, []))
        got = sorted(got)
        if len(want) != len(got):
            err(f"{fmt} {rec}: {len(got)} items, stm has {len(want)}")
            return
        for (ws, we, wt), (gs, ge, gt) in zip(want, got):
            if abs(ws - gs) > TOL or abs(we - ge) > TOL:
                err(f"{fmt} {rec}: times {gs}-{ge} vs stm {ws}-{we}")
            if " ".join(nist_tokens(gt)) != wt:
                err(f"{fmt} {rec}: text {gt!r} tokenises to {nist_tokens(gt)} vs stm {wt!r}")
            key = (rec, round(ws, 3), round(we, 3))
            if exact.setdefault(key, gt) != gt:
                err(f"{fmt} {rec}: text {gt!r} vs {exact[key]!r} in the TextGrid")

    counts = {}
    # Praat TextGrid through praatio.
    for path in sorted(glob.glob(os.path.join(root, "textgrid", "*.TextGrid"))):
        rec = os.path.basename(path)[: -len(".TextGrid")]
        tg = textgrid.openTextgrid(path, includeEmptyIntervals=True)
        names = tg.tierNames
        for t in ["transcript", "normalised", "speaker", "labels", "features"]:
            if t not in names:
                err(f"textgrid {rec}: no tier {t}")
        got = []
        for name in names:
            if name == "transcript" or name.startswith("transcript "):
                for e in tg.getTier(name).entries:
                    if e.label:
                        got.append((e.start, e.end, e.label))
        compare("textgrid", rec, got)
        counts["textgrid"] = counts.get("textgrid", 0) + 1

    # ELAN EAF through pympi-ling, controlled vocabularies included.
    for path in sorted(glob.glob(os.path.join(root, "eaf", "*.eaf"))):
        rec = os.path.basename(path)[: -len(".eaf")]
        eaf = pympi.Elan.Eaf(path)
        # Issue 19: the recording's audio is linked, relative to the .eaf, and exists.
        media = eaf.media_descriptors
        if not media:
            err(f"eaf {rec}: no MEDIA_DESCRIPTOR")
        for m in media:
            rel = m.get("RELATIVE_MEDIA_URL", "")
            if not rel or not os.path.isfile(os.path.join(os.path.dirname(path), rel)):
                err(f"eaf {rec}: media {rel!r} does not exist beside the .eaf")
        got = []
        for name in eaf.get_tier_names():
            if name == "transcript" or name.startswith("transcript "):
                for a in eaf.get_annotation_data_for_tier(name):
                    got.append((a[0] / 1000, a[1] / 1000, a[2]))
        compare("eaf", rec, got)
        for name in eaf.get_tier_names():
            if not name.startswith("label:"):
                continue
            lt = eaf.tiers[name][2]["LINGUISTIC_TYPE_REF"]
            cv = eaf.linguistic_types[lt].get("CONTROLLED_VOCABULARY_REF")
            if cv is None:
                err(f"eaf {rec}: tier {name} has no controlled vocabulary")
                continue
            entries = {v[0][0][0] for v in eaf.controlled_vocabularies[cv][1].values()}
            for ann in eaf.get_ref_annotation_data_for_tier(name):
                value = ann[2]
                if value and value not in entries:
                    err(f"eaf {rec}: {value!r} on {name} is not in CV {sorted(entries)}")
        counts["eaf"] = counts.get("eaf", 0) + 1

    # WebVTT through webvtt-py (it strips tags, does not unescape entities).
    for path in sorted(glob.glob(os.path.join(root, "vtt", "*.vtt"))):
        rec = os.path.basename(path)[: -len(".vtt")]

        def secs(t):
            h, m, s = t.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)

        got = [(secs(c.start), secs(c.end), html.unescape(c.text)) for c in webvtt.read(path)]
        for c in webvtt.read(path):
            if c.identifier not in kaldi:
                err(f"vtt {rec}: cue id {c.identifier} is not a Kaldi utterance")
        compare("vtt", rec, got)
        counts["vtt"] = counts.get("vtt", 0) + 1

    # SRT through srt.
    for path in sorted(glob.glob(os.path.join(root, "srt", "*.srt"))):
        rec = os.path.basename(path)[: -len(".srt")]
        with open(path, encoding="utf-8") as f:
            subs = list(srt.parse(f.read()))
        got = [(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subs]
        compare("srt", rec, got)
        counts["srt"] = counts.get("srt", 0) + 1

    # Audacity labels.
    for path in sorted(glob.glob(os.path.join(root, "audacity", "*.txt"))):
        rec = os.path.basename(path)[: -len(".txt")]
        got = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                a, b, text = line.rstrip("\n").split("\t")
                got.append((float(a), float(b), text))
        compare("audacity", rec, got)
        counts["audacity"] = counts.get("audacity", 0) + 1

    # Manifests: same ids, same text as Kaldi.
    def same(fmt, utt, text):
        if utt not in kaldi:
            err(f"{fmt}: {utt} not in kaldi")
        elif kaldi[utt] != text:
            err(f"{fmt}: {utt} text {text!r} vs kaldi {kaldi[utt]!r}")
        counts[fmt] = counts.get(fmt, 0) + 1

    for path in glob.glob(os.path.join(root, "lhotse", "*_supervisions_*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                s = json.loads(line)
                same("lhotse", s["id"], s["text"])
    for path in glob.glob(os.path.join(root, "nemo", "*_manifest.json")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = json.loads(line)
                if not os.path.isfile(os.path.join(os.path.dirname(path), m["audio_filepath"])):
                    err(f"nemo: missing {m['audio_filepath']}")
                same("nemo", m["utt_id"], m["text"])
    for path in glob.glob(os.path.join(root, "hf", "*", "metadata.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if not os.path.isfile(os.path.join(os.path.dirname(path), row["file_name"])):
                    err(f"hf: missing {row['file_name']}")
                same("hf", row["id"], row["transcription"])
    for path in glob.glob(os.path.join(root, "cv", "*.tsv")):
        if "clip_durations" in path:
            continue
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if not os.path.isfile(os.path.join(root, "cv", "clips", row["path"])):
                    err(f"cv: missing {row['path']}")
                same("cv", row["path"][: -len(".wav")], row["sentence"])

    for e in errors:
        print(e)
    if errors:
        return 1
    print("ok", json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
