"""solver_choice: NL → Z3 / Pyke / Prover9 programs; does the symbolic solver matter? (Lam et al., ALTA 2024)."""
