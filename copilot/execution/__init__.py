"""Stage 3: sandboxed experiment runs, measured attempts, search, verification and the report."""
