"""The browser app for staff and trainers (`handbook serve`).

Importing this package is cheap: gradio is imported only by `assistant.app.ui` and
`assistant.app.server`, which the `serve` command loads when it runs.
"""
