"""Numbered SQL migrations of the corpus schema (``NNNN_name.sql``), applied in order."""
