"""The spec's §4.1 SciERC example document (hand-authored, no real SciERC text), shared by the format and
real-data tests; callers add their own ``doc_key``."""

SPEC_EXAMPLE = {
    "sentences": [["we", "propose", "sparse", "graph", "parser", "for", "semantic", "parsing", "."],
                  ["it", "combines", "latent", "features", "and", "deep", "kernels", "."]],
    "ner": [[[2, 4, "Method"], [6, 7, "Task"]],
            [[9, 9, "Generic"], [11, 12, "OtherScientificTerm"], [14, 15, "OtherScientificTerm"]]],
    "relations": [[[2, 4, 6, 7, "USED-FOR"]],
                  [[11, 12, 9, 9, "PART-OF"], [14, 15, 9, 9, "PART-OF"], [11, 12, 14, 15, "CONJUNCTION"]]],
    "clusters": [[[2, 4], [9, 9]]],
}
