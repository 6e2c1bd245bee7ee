"""§9.1, §9.2, §9.16: the SciERC JSON-lines format read, validated and written exactly."""

import copy
import json

import pytest

from components.core.errors import UserError
from components.sciie.scierc import (SciercFormatError, canonical, dumps_jsonl, parse_jsonl, read_jsonl,
                                     validate_doc, write_jsonl)
from sciie.examples import SPEC_EXAMPLE

SPEC_DOC = {"doc_key": "SYN_0_000001", "dataset": "scierc", **SPEC_EXAMPLE}


def test_round_trip_is_byte_identical_and_keeps_unknown_keys(tmp_path):
    doc = {**copy.deepcopy(SPEC_DOC), "_provenance": {"who": "spec §4.1"}, "predicted_ner": [[], []]}
    f = tmp_path / "train.json"
    f.write_text(json.dumps(doc) + "\n")
    back = read_jsonl(f, max_width=4)
    assert canonical(back[0]) == canonical(doc) and back[0]["_provenance"] == {"who": "spec §4.1"}
    write_jsonl(tmp_path / "out.json", back)
    assert (tmp_path / "out.json").read_text() == dumps_jsonl([doc])
    assert read_jsonl(tmp_path / "out.json") == back


def _bad(mut):
    d = copy.deepcopy(SPEC_DOC)
    mut(d)
    return d


@pytest.mark.parametrize("mut, field, rule", [
    (lambda d: d["ner"][0].__setitem__(0, [4, 2, "Method"]), "ner[0]", "end < start"),
    (lambda d: d["ner"][0].append([7, 9, "Task"]), "ner[0]", "crosses the boundary of sentence 0"),
    (lambda d: d["relations"][0].append([2, 4, 9, 9, "USED-FOR"]), "relations[0]", "crosses the boundary"),
    (lambda d: d["ner"][1].__setitem__(0, [9, 9, "Gadget"]), "ner[1]", "unknown label 'Gadget'"),
    (lambda d: d["relations"][1].__setitem__(0, [11, 12, 9, 9, "CAUSES"]), "relations[1]", "unknown label"),
    (lambda d: d["clusters"][0].append([30, 31]), "clusters[0]", "beyond the document length 17"),
    (lambda d: d["clusters"].append([[6, 7]]), "clusters[1]", "≥ 2 mentions"),
    (lambda d: d["ner"].pop(), "ner", "one list per sentence"),
    (lambda d: d["relations"][0].append([2, 3, 6, 7, "USED-FOR"]), "relations[0]", "not an annotated entity"),
    (lambda d: d["ner"][0].__setitem__(0, [0, 4, "Method"]), "ner[0]", "wider than max_span_width 4"),
])
def test_validator_names_document_field_and_rule(mut, field, rule):
    with pytest.raises(SciercFormatError) as e:
        validate_doc(_bad(mut), where="x.json: line 1: ", max_width=4)
    msg = str(e.value)
    assert "SYN_0_000001" in msg and f"`{field}`" in msg and rule in msg and "x.json: line 1" in msg, msg


def test_real_data_tolerance_counts_instead_of_failing():
    d = _bad(lambda d: (d["ner"][0].__setitem__(0, [0, 4, "Method"]),
                        d["relations"][0].append([2, 3, 6, 7, "USED-FOR"])))
    counts = validate_doc(d, max_width=4, strict=False)
    assert counts == {"width_over_max": 1, "rel_arg_not_entity": 2}  # [2,4] and [2,3]


def test_malformed_json_lines_name_file_and_line(tmp_path):
    f = tmp_path / "dev.json"
    f.write_text(json.dumps(SPEC_DOC) + "\n{not json\n")
    with pytest.raises(SciercFormatError, match=r"dev\.json: line 2: not valid JSON"):
        read_jsonl(f)
    f.write_text(json.dumps(SPEC_DOC) + "\n" + json.dumps(SPEC_DOC) + "\n")
    with pytest.raises(SciercFormatError, match="duplicate doc_key"):
        read_jsonl(f)
    f.write_text(json.dumps({**SPEC_DOC, "doc_key": "D2", "sentences": []}) + "\n")
    with pytest.raises(SciercFormatError, match=r"dev\.json: line 1: document 'D2': field `sentences`"):
        read_jsonl(f)
    assert issubclass(SciercFormatError, UserError)  # the CLI prints it without a traceback, exit 2


def test_dataset_key_is_optional():
    d = copy.deepcopy(SPEC_DOC)
    d.pop("dataset")
    assert parse_jsonl(json.dumps(d))[0] == d
    validate_doc(d, max_width=4)


def test_real_reader_loads_three_hand_authored_documents_and_refuses_a_missing_dir(tmp_path):
    from components.sciie.steps import load_real

    docs = []
    for i in range(3):
        d = copy.deepcopy(SPEC_DOC)
        d["doc_key"] = f"HAND_{i}_abs"
        d.pop("dataset")
        d["ner"][0][0] = [0, 4, "Method"]  # width 5 > W: tolerated on real data
        docs.append(d)
    for split in ("train", "dev", "test"):
        write_jsonl(tmp_path / f"{split}.json", docs)
    real, counts = load_real(str(tmp_path), 4)
    assert [len(real[s]) for s in ("train", "dev", "test")] == [3, 3, 3]
    assert counts["width_over_max"] == 9 and counts["rel_arg_not_entity"] == 3 * 3 * 1  # [2,4] arg no longer an entity
    with pytest.raises(UserError, match=r"sciie\.paper\.data_dir"):
        load_real(str(tmp_path / "missing"), 4)
