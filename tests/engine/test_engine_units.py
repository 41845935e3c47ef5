"""Model-free parts of the pipeline: window packing and time mapping, segmentation, guards."""

from __future__ import annotations

from whisperd.engine.decode import RawWord, WindowResult, compression_ratio
from whisperd.engine.guards import collapse_loops, is_repeat_of
from whisperd.engine.segmenter import place_words, split_words
from whisperd.engine.windows import (
    SAMPLE_RATE,
    Span,
    Window,
    _merge_touching,
    pack_windows,
)

SR = SAMPLE_RATE


def _span(start_s: float, end_s: float) -> Span:
    return Span(int(start_s * SR), int(end_s * SR))


def test_pack_windows_fills_up_to_30_seconds_of_speech() -> None:
    spans = [_span(0, 10), _span(20, 35), _span(50, 58), _span(70, 95)]
    windows = pack_windows(spans)
    assert [len(w.spans) for w in windows] == [2, 1, 1]
    assert all(w.duration <= 30 for w in windows)
    assert windows[0].offsets == (0, 10 * SR)
    assert pack_windows(spans, join=False)[1].spans == (spans[1],)


def test_window_time_maps_back_across_the_cut() -> None:
    window = pack_windows([_span(0, 10), _span(35, 40)])[0]
    assert window.span_at(9.9) == 0 and window.span_at(10.1) == 1
    assert window.to_original(12.0, 1) == 37.0
    assert window.span_bounds(1) == (10.0, 15.0)


def test_touching_regions_are_merged() -> None:
    assert _merge_touching([_span(0, 5), _span(5, 9), _span(12, 13)], None) == [
        _span(0, 9), _span(12, 13)]
    assert _merge_touching([_span(0, 3), _span(3, 6)], 5 * SR) == [_span(0, 3), _span(3, 6)]


def test_touching_pieces_fill_a_window_as_one_span() -> None:
    # Continuous speech in 5 s pieces, a pause, more speech: windows fill to 30 s, a
    # window ends between pieces, and only the real pause leaves a joint.
    pieces = [_span(s, s + 5) for s in range(0, 40, 5)] + [_span(50, 55)]
    windows = pack_windows(pieces)
    assert [w.spans for w in windows] == [(_span(0, 30),), (_span(30, 40), _span(50, 55))]
    assert windows[1].cut_before(1) and not windows[0].cut_before(0)
    assert pack_windows(pieces[:2], join=False)[1].spans == (pieces[1],)


def _result(window: Window, words: list[tuple[str, float, float]]) -> WindowResult:
    return WindowResult(window, "en", [("en", 1.0)], tokens=[1],
                        words=[RawWord(w, s, e, 0.9, [1]) for w, s, e in words])


def test_segments_never_span_a_cut_between_regions() -> None:
    # 10 s of speech, a 25 s pause that VAD removed, then 5 s of speech.
    window = pack_windows([_span(0, 10), _span(35, 40)])[0]
    words = [(" one", 8.0, 8.5), (" two", 9.0, 9.6), (" three", 10.2, 10.8),
             (" four", 11.0, 11.5)]
    groups = split_words(place_words(_result(window, words)))
    assert [[w.word for w in g] for g in groups] == [[" one", " two"], [" three", " four"]]
    assert groups[0][-1].end <= 10.0
    assert 35.0 <= groups[1][0].start <= 35.3


def test_words_are_clipped_to_their_region_and_long_edge_words_trimmed() -> None:
    window = Window((_span(5, 15),), (0,))
    # DTW stretched the first word over 4 s of silence before it.
    words = [(" Hello", 0.0, 4.2), (" there", 4.3, 4.6), (" friend", 4.7, 5.0)]
    placed = place_words(_result(window, words))
    assert placed[0].start >= 5.0 + 4.2 - 1.5
    assert all(5.0 <= w.start <= w.end <= 15.0 for w in placed)


def test_segments_split_at_sentence_ends_and_long_gaps() -> None:
    window = Window((_span(0, 30),), (0,))
    words = [(" It", 0.0, 0.2), (" is", 0.3, 0.5), (" done.", 0.6, 1.0),
             (" Mr.", 1.2, 1.4), (" Smith", 1.5, 1.9), (" came", 2.0, 2.3),
             (" later", 4.0, 4.5)]
    groups = split_words(place_words(_result(window, words)))
    assert ["".join(w.word for w in g) for g in groups] == [
        " It is done.", " Mr. Smith came", " later"]


def test_collapse_loops_keeps_genuine_short_repetitions() -> None:
    loop = "Thank you. " * 8
    words = (" So" + " " + loop).split(" ")
    kept = collapse_loops(words, lambda w: w)
    assert " ".join(kept).split() == ["So", "Thank", "you."]
    genuine = ["here's", "some", "more", "words", "words", "words", "words"]
    assert collapse_loops(genuine, lambda w: w) == genuine


def test_repeated_segment_detection() -> None:
    assert is_repeat_of(" Thanks for watching!", "Thanks for watching.")
    assert not is_repeat_of(" Yes.", " Yes.")  # too short to call a hallucination
    assert not is_repeat_of(" a b c", None)


def test_compression_ratio_flags_loops() -> None:
    assert compression_ratio("la " * 100) > 2.4
    assert compression_ratio("And so my fellow Americans, ask not what your country") < 2.4


def test_vad_restarts_after_digital_silence() -> None:
    import numpy as np

    from whisperd.engine.windows import _sounding_stretches

    audio = np.zeros(5 * SR, dtype=np.float32)
    audio[1 * SR:2 * SR] = 0.1
    audio[int(3.75 * SR):int(4.4 * SR)] = 0.2
    stretches = _sounding_stretches(audio)
    assert len(stretches) == 2
    assert stretches[0][0] <= 1 * SR < 2 * SR <= stretches[0][1] < stretches[1][0]
    assert _sounding_stretches(np.zeros(2 * SR, dtype=np.float32)) == []


def test_long_unpunctuated_speech_is_split_into_subtitle_sized_segments() -> None:
    # 20 s of continuous reading without punctuation; one breath (0.4 s) at 9.6 s.
    window = Window((_span(0, 30),), (0,))
    words, t = [], 0.0
    for k in range(40):
        words.append((f" w{k}", t, t + 0.4))
        t += 0.5 if k != 18 else 0.8
    groups = split_words(place_words(_result(window, words)))
    assert len(groups) >= 3
    for g in groups:
        assert g[-1].end - g[0].start <= 7.0
        assert len("".join(w.word for w in g).strip()) <= 84
    # The breath is chosen as a boundary; no words are lost or reordered.
    assert any(g[-1].word == " w18" for g in groups)
    assert [w.word for g in groups for w in g] == [w for w, _, _ in words]


def test_a_long_segment_splits_at_its_comma_rather_than_mid_clause() -> None:
    window = Window((_span(0, 30),), (0,))
    texts = [" one", " two", " three", " four", " five,", " six", " seven", " eight",
             " nine", " ten", " eleven", " twelve"]
    words = [(w, k * 0.7, k * 0.7 + 0.6) for k, w in enumerate(texts)]  # 8.3 s, no pauses
    groups = split_words(place_words(_result(window, words)))
    assert groups[0][-1].word == " five,"
