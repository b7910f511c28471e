"""The answer room: its records, the decision (answerability), the composers and the lead,
quote verification and the rendering of an answer for the reader."""
