"""The review loop: redaction, the question log, the review queue and its golden records, the gap report."""
