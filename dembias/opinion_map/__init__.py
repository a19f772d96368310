"""Stage 1, the opinion map of a debate, written as one ``mapping`` run.

Embeddings (cached), UMAP for display, HDBSCAN opinion clusters, c-TF-IDF labels, Polis-style vote
groups and robustness diagnostics."""
