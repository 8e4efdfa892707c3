"""Chapter helpers: the functions that build one chapter's tables and figures (one module each)."""
