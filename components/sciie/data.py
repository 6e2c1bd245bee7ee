"""Per-document summary frames, their great-expectations suite, and corpus statistics (spec §7 prepare)."""

from __future__ import annotations

from collections import Counter

from components.sciie.scierc import ENTITY_TYPES, RELATION_TYPES, entities, relations, sentence_offsets


def summary_row(doc: dict, split: str, regime: str, seed_index: int, W: int) -> dict:
    offs = sentence_offsets(doc)
    n = sum(len(s) for s in doc["sentences"])
    spans, outside, bad_e, bad_r = [], 0, 0, 0
    for k, sent in enumerate(doc.get("ner", [])):
        for s, e, lab in sent:
            spans.append((s, e))
            outside += not (offs[k] <= s <= e <= offs[k] + len(doc["sentences"][k]) - 1)
            bad_e += lab not in ENTITY_TYPES
    ents = set(spans)
    not_ent = 0
    for k, sent in enumerate(doc.get("relations", [])):
        for s1, e1, s2, e2, lab in sent:
            spans += [(s1, e1), (s2, e2)]
            for s, e in ((s1, e1), (s2, e2)):
                outside += not (offs[k] <= s <= e <= offs[k] + len(doc["sentences"][k]) - 1)
            bad_r += lab not in RELATION_TYPES
            not_ent += ((s1, e1) not in ents) + ((s2, e2) not in ents)
    cl = doc.get("clusters", [])
    for c in cl:
        spans += [tuple(m) for m in c]
    sent_of = {}
    for k, o in enumerate(offs):
        for t in range(o, o + len(doc["sentences"][k])):
            sent_of[t] = k
    return {
        "split": split, "regime": regime, "seed_index": seed_index, "doc_key": doc["doc_key"],
        "n_sentences": len(doc["sentences"]), "n_tokens": n, "n_entities": len(entities(doc)),
        "n_relations": len(relations(doc)), "n_clusters": len(cl),
        "len_ner_match": int(len(doc.get("ner", [])) == len(doc["sentences"]) == len(doc.get("relations", []))),
        "min_start": min((s for s, _ in spans), default=0),
        "min_width": min((e - s + 1 for s, e in spans), default=1),
        "max_width": max((e - s + 1 for s, e in spans), default=1),
        "max_end_minus_length": max((e - n + 1 for _, e in spans), default=-1),
        "spans_outside_sentence": outside, "bad_entity_labels": bad_e, "bad_relation_labels": bad_r,
        # regime D replaces relations by random spans on purpose: its args are exempt
        "rel_args_not_entities": 0 if doc.get("_random_relations") else not_ent,
        "min_cluster_size": min((len(c) for c in cl), default=2),
        "cross_sentence_clusters": sum(len({sent_of.get(m[0]) for m in c}) > 1 for c in cl),
        "ner_observed": bool(doc.get("_ner_observed", True)),
    }


def expectations(frame, W: int) -> list:
    from components.core.validation import expect

    return [
        expect("ExpectTableRowCountToBeBetween", min_value=1),
        expect("ExpectColumnValuesToNotBeNull", column="doc_key"),
        expect("ExpectColumnValuesToBeInSet", column="split", value_set=["train", "dev", "test", "kg", "real_train",
                                                                          "real_dev", "real_test"]),
        expect("ExpectColumnValuesToBeBetween", column="n_sentences", min_value=1),
        expect("ExpectColumnValuesToBeInSet", column="len_ner_match", value_set=[1]),
        expect("ExpectColumnValuesToBeBetween", column="min_start", min_value=0),
        expect("ExpectColumnValuesToBeBetween", column="min_width", min_value=1),
        expect("ExpectColumnValuesToBeBetween", column="max_width", max_value=W),
        expect("ExpectColumnValuesToBeBetween", column="max_end_minus_length", max_value=0),
        expect("ExpectColumnValuesToBeInSet", column="spans_outside_sentence", value_set=[0]),
        expect("ExpectColumnValuesToBeInSet", column="bad_entity_labels", value_set=[0]),
        expect("ExpectColumnValuesToBeInSet", column="bad_relation_labels", value_set=[0]),
        expect("ExpectColumnValuesToBeInSet", column="rel_args_not_entities", value_set=[0]),
        expect("ExpectColumnValuesToBeBetween", column="min_cluster_size", min_value=2),
        expect("ExpectColumnValuesToBeInSet", column="key_in_other_split", value_set=[0]),
        expect("ExpectColumnValuesToBeUnique", column="uid"),
    ]


def summary_frame(rows: list[dict]):
    import pandas as pd

    frame = pd.DataFrame(rows)
    # train / dev / test / kg doc_keys are disjoint within each (regime, seed)
    split_of: dict = {}
    for r in rows:
        scope = (r["regime"], r["seed_index"]) if r["split"] in ("train", "dev") else None
        split_of.setdefault(r["doc_key"], set()).add((r["split"], scope))
    shared = {"test", "kg"}
    other = []
    for r in rows:
        splits = {s for s, scope in split_of[r["doc_key"]]
                  if s in shared or scope == (r["regime"], r["seed_index"])}
        other.append(int(len(splits) > 1))
    frame["key_in_other_split"] = other
    frame["uid"] = frame["split"] + "/" + frame["regime"] + "/" + frame["seed_index"].astype(str) + "/" + frame[
        "doc_key"]
    return frame


def corpus_stats(docs: list[dict], world: dict | None) -> dict:
    ents = Counter(l for d in docs for _, _, l in entities(d))
    rels = Counter(r[4] for d in docs for r in relations(d))
    cl = [c for d in docs for c in d.get("clusters", [])]
    out = {"documents": len(docs), "sentences": sum(len(d["sentences"]) for d in docs),
           "tokens": sum(len(s) for d in docs for s in d["sentences"]),
           "entities": sum(ents.values()), "entities_by_type": dict(sorted(ents.items())),
           "relations": sum(rels.values()), "relations_by_type": dict(sorted(rels.items())),
           "relations_per_doc": sum(rels.values()) / max(1, len(docs)), "clusters": len(cl),
           "cluster_mentions": sum(len(c) for c in cl),
           "ner_observed_share": sum(bool(d.get("_ner_observed", True)) for d in docs) / max(1, len(docs))}
    cross = 0
    for d in docs:
        offs = sentence_offsets(d)
        for c in d.get("clusters", []):
            ks = {max(k for k, o in enumerate(offs) if o <= m[0]) for m in c}
            cross += len(ks) > 1
    out["cross_sentence_cluster_share"] = cross / max(1, len(cl))
    if world is not None:
        amb = {c["name"] for t in ("Method", "Task") for c in world["concepts"][t] if c["ambiguous"]}
        mt = [(" ".join(tok for sent in d["sentences"] for tok in sent).split(), s, e) for d in docs
              for s, e, l in entities(d) if l in ("Method", "Task")]
        names = [" ".join(toks[s: e + 1]) for toks, s, e in mt]
        out["ambiguous_share_method_task"] = sum(n in amb for n in names) / max(1, len(names))
    return out


# SciERC's published statistics (spec P1, [R]) for the report's comparison
SCIERC_STATS = {"documents": 500, "entities": 8089, "relations": 4716, "relations_per_doc": 9.4,
                "coref_links": 2752, "clusters": 1023}
