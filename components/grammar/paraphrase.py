"""The rules backend of the paraphrase role: a hand-written grammar of text templates (spec §4.3).

Templates keep every ``'[table.column]'`` placeholder of their SQL template; ``short`` ones are 2–8-word
fragments, ``long`` ones complete sentences with ≥ ``min_words`` words of background, optionally naming a
distractor entity through the ``{distractor}`` slot (filled per query). Two background styles:

* ``calibrated`` (default, issue 16): generic conversational filler whose words occur in no document, so
  long queries stress the keyword retriever only through the question frame and the distractor entity —
  the paper's situation, where retrieval accuracy barely moves between short and long queries;
* ``stress``: background sentences naming domain cities and industries (which documents contain), a harsh
  variant under which keyword top-1 collapses (0.91 → 0.30 in the default profile before issue 16).
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

# calibrated style: background words chosen to occur in no document, and question frames whose words besides the
# asked synonym and the entity are either absent from documents or "of"/"at", as in the short frames (a test
# checks both against every document template), so long queries lower keyword retrieval mainly through the
# distractor entity — a controlled stressor whose probability sets the size of the drop.
CALM_QUESTION_ONE = (
    "Could you please look up {syn} of {a}?",
    "Regarding {a}, do you happen to know their {syn}?",
    "About {a}: what would you say their {syn} might be?",
    "I still need {syn} of {a}, if possible.",
)
CALM_QUESTION_TWO = (
    "Could you please look up {syn} of {b} at {a}?",
    "Regarding {b} at {a}, do you happen to know their {syn}?",
    "About {b} at {a}: what would you say their {syn} might be?",
    "I still need {syn} of {b} at {a}, if possible.",
)
CALM_BACKGROUND = (
    "Hope you are well, I am putting together my {calm} checklist this week, could you help me?",
    "Sorry to bother you again, my boss wants our {calm} checklist finished before Friday.",
    "Quick question while I tidy up my {calm} spreadsheet, since nobody here seems sure about it.",
    "Thanks so much with my {calm} list yesterday, here comes one more small thing.",
    "My {calm} file shows an empty cell that keeps bugging me, so I would really appreciate your input.",
)
CALM_DISTRACTOR = "Yesterday someone also asked me about {distractor}; that one can wait until later."
CALM_PAD = "No rush though, whenever you get some time today or tomorrow would be perfectly fine."
CALM_WORDS = ("weekly", "monthly", "draft", "personal", "handover", "admin", "travel", "reading", "desk", "calendar")
LONG_STYLES = ("calibrated", "stress")


def synonyms(attribute: str) -> list[str]:
    canonical, others = lexicon.SYNONYMS[attribute]
    return [*canonical, *others]


def text_templates(placeholders: list[str], attribute: str, kind: str, k: int, seed: int,
                   min_words: int = 30, distractor_prob: float = 0.0, long_style: str = "calibrated") -> list[str]:
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
            text = _long(rng, syn, slots, two, min_words, distractor_prob, long_style)
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


def _calm(rng: random.Random, sentence: str) -> str:
    return sentence.format(calm=rng.choice(CALM_WORDS), distractor="{distractor}")


def _long(rng: random.Random, syn: str, slots: dict, two: bool, min_words: int, distractor_prob: float,
          style: str = "calibrated") -> str:
    if style not in LONG_STYLES:
        raise ValueError(f"unknown long style {style!r}; use one of {LONG_STYLES}")
    calibrated = style == "calibrated"
    fill, background, distractor, pad = ((_calm, CALM_BACKGROUND, CALM_DISTRACTOR, CALM_PAD) if calibrated
                                         else (_fill, BACKGROUND, DISTRACTOR, PAD))
    questions = ((CALM_QUESTION_TWO if two else CALM_QUESTION_ONE) if calibrated
                 else (LONG_QUESTION_TWO if two else LONG_QUESTION_ONE))
    parts = [fill(rng, rng.choice(background))]
    if rng.random() < distractor_prob:
        parts.append(fill(rng, distractor))
    parts.append(rng.choice(questions).format(syn=syn, **slots))
    while len(" ".join(parts).split()) < min_words:
        parts.insert(-1, fill(rng, pad))
    return " ".join(parts)
