"""Reads a fangyan export with the ML toolkits that train on it (issue 19): lhotse loads the
Lhotse manifests and the Kaldi directories and validates them against the audio, and Hugging
Face `datasets` loads `hf/` as an audiofolder and decodes every clip. Run by
tests/suite/export.rs: `python export_readers.py EXPORT_DIR`. Prints one line per failure and
exits 1 if there was any; prints `ok <counts>` otherwise."""

import glob
import json
import os
import sys
import tempfile

# `datasets` must not reach for the network or write into the home directory.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="fangyan-hf-"))

import datasets  # noqa: E402
from lhotse import RecordingSet, SupervisionSet  # noqa: E402
from lhotse.kaldi import load_kaldi_data_dir  # noqa: E402
from lhotse.qa import validate_recordings_and_supervisions  # noqa: E402

failures = []
counts = {"lhotse": 0, "kaldi": 0, "hf": 0}


def fail(msg):
    failures.append(msg)
    print(msg)


def main(root):
    root = os.path.abspath(root)
    # Manifests name audio relative to the export's root.
    os.chdir(root)
    texts = {}
    for path in sorted(glob.glob("lhotse/*_recordings_*.jsonl")):
        split = path.rsplit("_", 1)[1][: -len(".jsonl")]
        recs = RecordingSet.from_jsonl(path)
        sups = SupervisionSet.from_jsonl(path.replace("_recordings_", "_supervisions_"))
        try:
            # read_data: every clip is opened and its length compared with num_samples.
            validate_recordings_and_supervisions(recs, sups, read_data=True)
        except Exception as e:  # lhotse raises AssertionError or ValueError
            fail(f"lhotse {split}: {e!r}")
        for s in sups:
            texts[s.id] = s.text
            counts["lhotse"] += 1
    for d in sorted(glob.glob("kaldi/*/")):
        split = d.rstrip("/").rsplit("/", 1)[1]
        try:
            recs, sups, _ = load_kaldi_data_dir(d, sampling_rate=16000)
            validate_recordings_and_supervisions(recs, sups, read_data=True)
        except Exception as e:  # KeyError for a speaker missing from spk2gender, say
            fail(f"lhotse load_kaldi_data_dir {split}: {e!r}")
            continue
        for s in sups:
            counts["kaldi"] += 1
            if texts.get(s.id, s.text) != s.text:
                fail(f"kaldi {s.id}: {s.text!r} != lhotse {texts[s.id]!r}")
    if os.path.isdir("hf"):
        try:
            ds = datasets.load_dataset("audiofolder", data_dir=os.path.join(root, "hf"))
        except Exception as e:
            fail(f"datasets audiofolder: {e!r}")
            for m in sorted(glob.glob("hf/**/metadata*", recursive=True)):
                with open(m, encoding="utf-8") as f:
                    fail(f"  {m}: {f.read(300)!r}")
            return
        for split, rows in ds.items():
            for row in rows:
                counts["hf"] += 1
                audio = row["audio"]
                n = len(audio["array"])
                want = round(float(row["duration"]) * audio["sampling_rate"])
                if abs(n - want) > 1:
                    fail(f"hf {split} {row['id']}: {n} samples, duration says {want}")
                if texts.get(row["id"], row["transcription"]) != row["transcription"]:
                    fail(f"hf {row['id']}: {row['transcription']!r} != {texts[row['id']]!r}")


main(sys.argv[1])
if failures:
    sys.exit(1)
print("ok " + json.dumps(counts))
