"""Noise robustness beyond the eval's three noisy clips: whisperd next to bare faster-whisper.

The eval set has three noisy items, one of which decides its noisy WER. This script
widens that: every clean clip of the manifest (up to 30 s, with a reference) is mixed
with generated noise of each colour at each SNR, the way the eval's noisy items were
made (real speech, generated noise; SNR over the whole clip), and the systems decode
every mix, and the clean clip itself, on the same model in one run: bare faster-whisper,
whisperd, and whisperd without its noise reduction (``denoise=False``). CTranslate2's
random seed is set before every decode, so the temperature fallback samples alike in
every system. It prints errors per condition and in total.

    python scripts/noisy_dev_set.py [--colors pink,white,brown] [--snr 0,5,10] [--model base]

About 1 s of decoding per clip, condition and system with ``base`` on 2 CPU cores
(pink and white at 0/5/10 dB: about 15 min).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ctranslate2
import numpy as np

from whisperd.engine.model import Engine
from whisperd.eval.audio import coloured_noise, load_samples, with_noise
from whisperd.eval.manifest import default_manifest, load_manifest
from whisperd.eval.metrics import error_rate
from whisperd.eval.systems import transcribers, whisperd_transcriber
from whisperd.settings import Settings

MAX_CLIP_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--colors", default="pink,white")
    parser.add_argument("--snr", default="0,5,10")
    parser.add_argument("--model", default="base")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--manifest", type=Path)
    args = parser.parse_args()

    settings = Settings.from_env()
    items = [i for i in load_manifest(args.manifest or default_manifest(settings.eval_dir,
                                                                         Path.cwd()))
             if i.kind == "clean" and i.reference and i.duration_s <= MAX_CLIP_S]
    conditions: list[tuple[str, float | None]] = [("clean", None)] + [
        (c, float(s)) for c in args.colors.split(",") for s in args.snr.split(",")]
    rng = np.random.default_rng(args.seed)
    engine = Engine(settings)
    systems = transcribers(engine, args.model)
    systems["whisperd no-denoise"] = whisperd_transcriber(engine, args.model, denoise=False)
    errors = {(name, cond): 0 for name in systems for cond in conditions}
    length = 0
    for item in items:
        speech = load_samples(item.path)
        length += error_rate(item.reference or "", "", item.language).reference_length
        for colour, snr in conditions:
            audio = speech if snr is None else \
                with_noise(speech, coloured_noise(len(speech), colour, rng), snr)
            row = []
            for name, transcribe in systems.items():
                ctranslate2.set_random_seed(1)
                hypothesis = transcribe(audio)
                n = error_rate(item.reference or "", hypothesis.text, item.language).errors
                errors[(name, (colour, snr))] += n
                row.append(f"{name}={n}")
            print(f"{item.item_id:40s} {_label(colour, snr)}  {'  '.join(row)}", flush=True)
    print(f"\n{len(items)} clips, {length} reference words/characters per condition")
    print("condition      " + "  ".join(f"{name:>16s}" for name in systems))
    for cond in conditions:
        print(f"{_label(*cond)}   " + "  ".join(f"{errors[(name, cond)]:16d}" for name in systems))
    print("noisy total    " + "  ".join(
        f"{sum(errors[(name, c)] for c in conditions if c[1] is not None):16d}"
        for name in systems))


def _label(colour: str, snr: float | None) -> str:
    return f"{colour:5s} {snr:4.0f} dB" if snr is not None else f"{colour:5s}        "


if __name__ == "__main__":
    main()
