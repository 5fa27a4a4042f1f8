"""Stage 1: from a paper (or a research problem) to ranked hypotheses and an experiment plan."""
