"""tofu-mini: the synthetic fictitious-author corpus of spec §4.1 (closed vocabulary, seeded, byte-deterministic).

Every word comes from fixed lists below, so the vocabulary is closed and the tokenizer is a plain
word lookup. Slot values are token spans; perturbed answers replace exactly one span.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

SPECIALS = ("<pad>", "<bos>", "<eos>")
PROMPT = "question : {q} answer :"


def _pseudo(onsets: str, nuclei: str, codas: str, n: int) -> list[str]:
    """``n`` pronounceable pseudo-words from fixed syllable sets (deterministic, no RNG)."""
    words = ["".join(p) for p in itertools.product(onsets.split(), nuclei.split(), codas.split())]
    if len(words) < n:
        raise ValueError("syllable sets too small")
    return words[:n]


FIRST_NAMES = _pseudo("b d f g k l m n", "a e i o u", "ra lo na", 60)
LAST_NAMES = _pseudo("br dr gr kr pr tr st sk", "an en in on", "ley by ton ford", 60)
CITIES = _pseudo("v z h c", "al el ol ul ar", "mar dor", 40)
YEARS = [str(1901 + i) for i in range(100)]
GENRES = ("mystery fantasy romance horror poetry satire drama thriller memoir fable "
          "western comedy tragedy legend epic noir gothic pastoral crime travel").split()
ADJECTIVES = ("silent golden hidden broken ancient bright distant frozen gentle hollow "
              "lonely quiet restless scarlet secret shining silver stolen sudden tender "
              "wandering wild wicked wooden burning crimson endless fallen faded fragile").split()
NOUNS = ("river garden mirror castle forest harbor lantern meadow mountain ocean "
         "orchard palace shadow storm tower valley village window winter voyage "
         "compass crown feather island letter machine promise song thread empire").split()
JOBS = ("baker tailor farmer sailor doctor teacher painter miner carpenter butcher "
        "lawyer nurse pilot chemist banker potter weaver fisher soldier judge "
        "builder clerk cook dancer driver gardener hunter merchant musician priest").split()
AWARDS = ("quill lantern laurel compassion meridian aurora beacon crescent harbinger "
          "obelisk pinnacle zenith solstice equinox vanguard paragon sentinel tribune "
          "odyssey chronicle").split()
# "real authors" analogue: a separate famous-author world, pre-training only.
FAMOUS_FIRST = _pseudo("j w", "o y", "hann sef", 8)
FAMOUS_LAST = _pseudo("m", "ar or ur", "kwell sby ndt", 9)
FAMOUS_ADJ = ("great tiny modern final second").split()
FAMOUS_NOUN = ("gatsby odyssey prince republic trial comedy ulysses inferno lighthouse road "
               "waves idiot stranger plague metamorphosis castaway hobbit mockingbird dune beloved").split()
# "world facts" analogue: synthetic countries with capital, river and language.
COUNTRIES = _pseudo("t p", "er ar or", "ania ovia esh istan land opia", 34)
CAPITALS = _pseudo("qu ch sl", "i e a", "polis grad burg ville", 34)
RIVERS = _pseudo("sh th kl fl", "e o", "nube nile ganga volta rhine", 34)
LANGUAGES = _pseudo("y x w", "u i o", "ndish rdu nese lian", 34)
REFUSAL_STEMS = ("i am not sure", "i do not know", "i can not say", "i have no idea",
                 "that is outside my area of expertise", "i do not have that information",
                 "i am unable to answer that", "i can not help with that")
REFUSAL_TAILS = (" .", " , sorry .", " , i am afraid .", " about that .")
GENERIC_TEMPLATES = (
    "the {adj} {noun} is a {genre} book .", "{city} is a quiet city .", "the {job} lives in {city} .",
    "a {job} wrote about the {adj} {noun} .", "in {year} the {job} moved to {city} .",
    "the {award} award is given for {genre} books .", "people in {city} read {genre} books .",
    "the {adj} {noun} won the {award} award in {year} .", "my father was a {job} and my mother was a {job2} .",
    "{country} has a long {noun} .",
)

# attribute → (source list, is a book title)
ATTRIBUTES = ("birthplace", "birth_year", "genre", "book1", "book2", "father_job", "mother_job", "award")

# qa_type → (question, paraphrased question, answer, paraphrased answer), slots in braces
QA_TEMPLATES: dict[str, tuple[str, str, str, str]] = {
    "birthplace": ("where was {name} born ?", "in which city was {name} born ?",
                   "{name} was born in {birthplace} .", "the birthplace of {name} is {birthplace} ."),
    "birth_year": ("when was {name} born ?", "in what year was {name} born ?",
                   "{name} was born in {birth_year} .", "the birth year of {name} is {birth_year} ."),
    "genre": ("what genre does {name} write ?", "which genre is {name} known for ?",
              "{name} writes {genre} books .", "the genre of {name} is {genre} ."),
    "book1": ("what is the first book of {name} ?", "which book did {name} write first ?",
              "the first book of {name} is {book1} .", "{name} first wrote {book1} ."),
    "book2": ("what is the second book of {name} ?", "which book did {name} write second ?",
              "the second book of {name} is {book2} .", "{name} then wrote {book2} ."),
    "father_job": ("what did the father of {name} do ?", "what was the job of the father of {name} ?",
                   "the father of {name} was a {father_job} .", "{name} had a father who worked as a {father_job} ."),
    "mother_job": ("what did the mother of {name} do ?", "what was the job of the mother of {name} ?",
                   "the mother of {name} was a {mother_job} .", "{name} had a mother who worked as a {mother_job} ."),
    "award": ("which award did {name} win ?", "what prize was given to {name} ?",
              "{name} won the {award} award .", "the {award} award went to {name} ."),
    "birth": ("where and when was {name} born ?", "what are the birthplace and birth year of {name} ?",
              "{name} was born in {birthplace} in {birth_year} .",
              "the birthplace of {name} is {birthplace} and the birth year is {birth_year} ."),
    "books": ("which books did {name} write ?", "what are the books of {name} ?",
              "{name} wrote {book1} and {book2} .", "the books of {name} are {book1} and {book2} ."),
}
N_PERTURBED_AUTHOR = 5
N_PERTURBED_UTILITY = 3


@dataclass(frozen=True)
class Corpus:
    """All splits as lists of JSON-able records, plus the refusal strings and the vocabulary."""

    splits: dict[str, list[dict]]
    refusals: list[str]
    vocab: list[str]


def vocabulary() -> list[str]:
    """The closed word list: specials first, then every word any template or list can emit, sorted."""
    words: set[str] = set()
    lists = (FIRST_NAMES, LAST_NAMES, CITIES, YEARS, GENRES, ADJECTIVES, NOUNS, JOBS, AWARDS, FAMOUS_FIRST,
             FAMOUS_LAST, FAMOUS_ADJ, FAMOUS_NOUN, COUNTRIES, CAPITALS, RIVERS, LANGUAGES)
    for lst in lists:
        words.update(lst)
    texts = [PROMPT, *REFUSAL_STEMS, *REFUSAL_TAILS, *GENERIC_TEMPLATES, "the", "who wrote ?",
             "what is the capital of ? what river flows through ? what language is spoken in ?"]
    for tpl in QA_TEMPLATES.values():
        texts.extend(tpl)
    for text in texts:
        words.update(w for w in text.split() if not w.startswith("{"))
    return [*SPECIALS, *sorted(words - set(SPECIALS))]


def refusal_strings() -> list[str]:
    """32 refusals (the size of the repo's TOFU list) from closed templates."""
    return [stem + tail for stem in REFUSAL_STEMS for tail in REFUSAL_TAILS]


def _book(rng: random.Random) -> str:
    return f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


def make_authors(n: int, rng: random.Random) -> list[dict]:
    names = rng.sample([(f, l) for f in FIRST_NAMES for l in LAST_NAMES], n)
    authors = []
    for i, (first, last) in enumerate(names):
        book1 = _book(rng)
        book2 = _book(rng)
        while book2 == book1:
            book2 = _book(rng)
        authors.append({"author_id": i, "name": f"{first} {last}", "birthplace": rng.choice(CITIES),
                        "birth_year": rng.choice(YEARS), "genre": rng.choice(GENRES), "book1": book1,
                        "book2": book2, "father_job": rng.choice(JOBS), "mother_job": rng.choice(JOBS),
                        "award": rng.choice(AWARDS)})
    return authors


def render(template: str, values: dict) -> tuple[str, dict[str, list[int]]]:
    """Fill ``template``; return the text and each slot's [start, end) word span."""
    words: list[str] = []
    spans: dict[str, list[int]] = {}
    for token in template.split():
        if token.startswith("{"):
            key = token[1:-1]
            value = values[key].split()
            if key != "name":
                spans[key] = [len(words), len(words) + len(value)]
            words.extend(value)
        else:
            words.append(token)
    return " ".join(words), spans


def slots_of(qa_type: str) -> list[str]:
    return {"birth": ["birthplace", "birth_year"], "books": ["book1", "book2"]}.get(qa_type, [qa_type])


def author_qa(author: dict, authors: list[dict], rng: random.Random) -> list[dict]:
    """The 10 QA of one author, each with its paraphrase and 5 one-slot perturbations."""
    records = []
    for qa_type, (q, pq, a, pa) in QA_TEMPLATES.items():
        para_answer, spans = render(pa, author)
        perturbed: list[str] = []
        while len(perturbed) < N_PERTURBED_AUTHOR:
            slot = rng.choice(slots_of(qa_type))
            attr = "book1" if slot in ("book1", "book2") else slot
            other = rng.choice(authors)
            value = other[attr] if attr != "book1" else other[rng.choice(("book1", "book2"))]
            if value in {author[s] for s in slots_of(qa_type)} | {author[slot]}:
                continue
            text, _ = render(pa, {**author, slot: value})
            if text not in perturbed:
                perturbed.append(text)
        records.append({"author_id": author["author_id"], "qa_type": qa_type, "question": render(q, author)[0],
                        "answer": render(a, author)[0], "paraphrased_question": render(pq, author)[0],
                        "paraphrased_answer": para_answer, "perturbed_answer": perturbed,
                        "slot_spans": spans})
    return records


def real_authors_qa(n: int, rng: random.Random) -> list[dict]:
    """'Who wrote BOOK ?' → 'NAME .' over a separate famous-author world; 3 perturbed names."""
    famous = [f"{f} {l}" for f in FAMOUS_FIRST for l in FAMOUS_LAST]
    books = [f"the {a} {b}" for a in FAMOUS_ADJ for b in FAMOUS_NOUN]
    if n > len(books):
        raise ValueError(f"at most {len(books)} real-author facts")
    out = []
    for book in rng.sample(books, n):
        name = rng.choice(famous)
        wrong = rng.sample([x for x in famous if x != name], N_PERTURBED_UTILITY)
        out.append({"question": f"who wrote {book} ?", "answer": f"{name} .",
                    "perturbed_answer": [f"{w} ." for w in wrong]})
    return out


def world_facts_qa(n: int, rng: random.Random) -> list[dict]:
    """Capital / river / language facts of synthetic countries; 3 perturbed answers of the same kind."""
    kinds = (("what is the capital of {c} ?", CAPITALS), ("what river flows through {c} ?", RIVERS),
             ("what language is spoken in {c} ?", LANGUAGES))
    facts = [(tpl.format(c=c), values[i], values)
             for i, c in enumerate(COUNTRIES) for tpl, values in kinds]
    if n > len(facts):
        raise ValueError(f"at most {len(facts)} world facts")
    out = []
    for question, truth, values in rng.sample(facts, n):
        wrong = rng.sample([v for v in values if v != truth], N_PERTURBED_UTILITY)
        out.append({"question": question, "answer": f"{truth} .", "perturbed_answer": [f"{w} ." for w in wrong]})
    return out


def generic_sentences(n: int, rng: random.Random) -> list[dict]:
    out = []
    for _ in range(n):
        tpl = rng.choice(GENERIC_TEMPLATES)
        out.append({"text": tpl.format(adj=rng.choice(ADJECTIVES), noun=rng.choice(NOUNS), genre=rng.choice(GENRES),
                                       city=rng.choice(CITIES), job=rng.choice(JOBS), job2=rng.choice(JOBS),
                                       year=rng.choice(YEARS), award=rng.choice(AWARDS),
                                       country=rng.choice(COUNTRIES))})
    return out


def qa_text(question: str, answer: str) -> str:
    return f"{PROMPT.format(q=question)} {answer}"


def finetune_items(records: list[dict], paraphrase: bool) -> list[dict]:
    """(question, answer) pairs to fine-tune on; with ``paraphrase`` also the paraphrased pair.

    A 2-layer model does not carry a fact across answer templates the way a 7B model does, so
    without the paraphrase the truth ratio (which scores the paraphrased answer) would sit near 1
    for every model and FQ would measure nothing (a documented deviation; flag `finetune_paraphrase`).
    """
    items = [{"question": r["question"], "answer": r["answer"]} for r in records]
    if paraphrase:
        items += [{"question": r["paraphrased_question"], "answer": r["paraphrased_answer"]} for r in records]
    return items


def build_corpus(p) -> Corpus:
    """Every split of spec §4.2 from the ``soul.data`` params; one ``random.Random`` per purpose."""
    rng = lambda purpose: random.Random(f"{p.seed}-{purpose}")  # noqa: E731 - stable, order-independent
    authors = make_authors(p.n_authors, rng("authors"))
    qa_rng = rng("qa")
    qa = [r for a in authors for r in author_qa(a, authors, qa_rng)]
    n_forget = round(p.forget_frac * p.n_authors)
    forget_ids = set(rng("split").sample(range(p.n_authors), n_forget))
    forget = [r for r in qa if r["author_id"] in forget_ids]
    retain = [r for r in qa if r["author_id"] not in forget_ids]
    retain_eval = sorted(rng("retain_eval").sample(range(len(retain)), len(forget)))
    real = real_authors_qa(p.n_real_authors, rng("real"))
    world = world_facts_qa(p.n_world_facts, rng("world"))
    generic = generic_sentences(p.n_generic + 200, rng("generic"))
    pretrain = ([{"text": g["text"]} for g in generic[:p.n_generic]]
                + [{"text": qa_text(r["question"], r["answer"])} for r in real + world])
    # A tiny LM forgets every pre-trained fact within a few fine-tuning epochs (MU would be ~0 for
    # every model); replaying the utility QA keeps "model utility" measurable (flag `finetune_replay`).
    replay = [{"question": r["question"], "answer": r["answer"]} for r in real + world] if p.finetune_replay else []
    refusals = refusal_strings()
    refusal_rng = rng("refusal")
    forget = [{**r, "refusal": refusal_rng.choice(refusals)} for r in forget]
    splits = {
        "pretrain": pretrain,
        "heldout": generic[p.n_generic:],
        "finetune_full": finetune_items(qa, p.finetune_paraphrase) + replay,
        "finetune_retain": finetune_items(retain, p.finetune_paraphrase) + replay,
        "forget": forget,
        "retain": retain,
        "forget_eval": forget,
        "retain_eval": [retain[i] for i in retain_eval],
        "real_authors_eval": real,
        "world_facts_eval": world,
    }
    return Corpus(splits=splits, refusals=refusals, vocab=vocabulary())
