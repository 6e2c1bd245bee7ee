"""SOUL (Jia et al., EMNLP 2024): second-order (Sophia) vs first-order LLM unlearning on a tiny causal LM."""
