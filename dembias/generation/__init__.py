"""Generation: versioned prompts and generation runs of a local causal LM (outputs to audit)."""
