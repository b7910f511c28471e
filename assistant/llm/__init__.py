"""The language-model room: backends, generated answers, their citation check and the prompt."""
