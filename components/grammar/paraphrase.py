"""The rules backend of the paraphrase role: a hand-written grammar of text templates (spec §4.3).

Templates keep every ``'[table.column]'`` placeholder of their SQL template; ``short`` ones are 2–8-word
fragments, ``long`` ones complete sentences with ≥ ``min_words`` words of background drawn from the domain
lexicon, optionally naming a distractor entity through the ``{distractor}`` slot (filled per query).
"""

from __future__ import annotations

import random

from components.grammar import lexicon

SHORT_ONE = ("{syn} of {a}", "{a} {syn}", "{syn}: {a}", "{a}, {syn}?", "{syn} for {a}", "{a} — {syn}")
SHORT_TWO = ("{syn} of {b} at {a}", "{b} at {a}: {syn}", "{b}, {a}, {syn}", "{syn}, {b} at {a}")
LONG_QUESTION_ONE = (
    "Could you tell me what the {syn} of {a} is, based on the records that you have available to you?",
    "I would like to know the {syn} of {a}, so please look it up and answer as precisely as you can.",
    "Please find out the {syn} for {a} and report it back to me in a short and clear answer.",
    "What exactly is the {syn} of {a}, according to the internal documents that describe it in detail?",
)
LONG_QUESTION_TWO = (
    "Could you tell me the {syn} of {b} at {a}, based on the records that you have available to you?",
    "I would like to know the {syn} of {b} at {a}, so please look it up and answer precisely.",
    "Please find out the {syn} for {b} at {a} and report it back to me in a short answer.",
    "What exactly is the {syn} of {b} at {a}, according to the internal documents you can read?",
)
BACKGROUND = (
    "I am preparing a {generic} briefing about {industry} firms around {city} for our {generic2} group.",
    "Our {generic2} review next week covers the {industry} market near {city} and its {generic} outlook.",
    "While drafting the {generic} notes for a meeting in {city}, I ran into a gap in my {generic2} data.",
    "A colleague working on {industry} {generic} plans in {city} asked me to double-check a detail.",
    "We are updating the {generic} records of our {generic2} portfolio after a visit to {city}.",
)
DISTRACTOR = "Last month we already looked into {distractor}, which came up in the same {generic} discussion."
PAD = "This matters for the {generic} summary that goes out to the whole {generic2} office soon."


def synonyms(attribute: str) -> list[str]:
    canonical, others = lexicon.SYNONYMS[attribute]
    return [*canonical, *others]


def text_templates(placeholders: list[str], attribute: str, kind: str, k: int, seed: int,
                   min_words: int = 30, distractor_prob: float = 0.0) -> list[str]:
    """``k`` distinct text templates; variant i uses synonym i mod |synonyms| (canonical first)."""
    rng = random.Random(seed)
    syns = synonyms(attribute)
    slots = {"a": f"'[{placeholders[0]}]'", "b": f"'[{placeholders[1]}]'" if len(placeholders) > 1 else ""}
    two = len(placeholders) > 1
    out: list[str] = []
    attempts = 0
    while len(out) < k:
        attempts += 1
        if attempts > 50 * k:
            raise ValueError(f"cannot build {k} distinct {kind} templates for {attribute}")
        syn = syns[len(out) % len(syns)]
        if kind == "short":
            text = rng.choice(SHORT_TWO if two else SHORT_ONE).format(syn=syn, **slots)
            if not 2 <= _words(text, two) <= 8:
                continue
        else:
            text = _long(rng, syn, slots, two, min_words, distractor_prob)
        if text not in out:
            out.append(text)
    return out


def _words(text: str, two: bool) -> int:
    """Word count after filling, counting each placeholder as a two-word name."""
    return len(text.split()) + (2 if two else 1)


def _fill(rng: random.Random, sentence: str) -> str:
    return sentence.format(generic=rng.choice(lexicon.GENERIC_WORDS), generic2=rng.choice(lexicon.GENERIC_WORDS),
                           industry=rng.choice(lexicon.INDUSTRIES), city=rng.choice(lexicon.CITIES),
                           distractor="{distractor}")


def _long(rng: random.Random, syn: str, slots: dict, two: bool, min_words: int, distractor_prob: float) -> str:
    parts = [_fill(rng, rng.choice(BACKGROUND))]
    if rng.random() < distractor_prob:
        parts.append(_fill(rng, DISTRACTOR))
    parts.append(rng.choice(LONG_QUESTION_TWO if two else LONG_QUESTION_ONE).format(syn=syn, **slots))
    while len(" ".join(parts).split()) < min_words:
        parts.insert(-1, _fill(rng, PAD))
    return " ".join(parts)
