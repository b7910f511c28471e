"""Tests for the page's English, Russian and Kazakh text."""

from __future__ import annotations

import string

import pytest

from assistant.app.i18n import LABELS, LANGUAGES, MESSAGES, examples, gradio_i18n, labels, message
from assistant.language import detect_language


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.unit
@pytest.mark.parametrize("table", [LABELS, MESSAGES], ids=["labels", "messages"])
def test_every_key_in_every_language_and_nothing_empty(table: dict[str, dict[str, str]]) -> None:
    assert set(table) == set(LANGUAGES) == {"en", "ru", "kk"}
    keys = set(table["en"])
    assert keys
    for lang in LANGUAGES:
        assert set(table[lang]) == keys, lang
        assert all(value.strip() for value in table[lang].values()), lang


@pytest.mark.unit
@pytest.mark.parametrize("table", [LABELS, MESSAGES], ids=["labels", "messages"])
def test_translations_keep_the_fields_and_markdown_headings(table: dict[str, dict[str, str]]) -> None:
    for key, english in table["en"].items():
        for lang in ("ru", "kk"):
            translated = table[lang][key]
            assert _fields(translated) == _fields(english), (lang, key)
            assert translated.startswith("#") == english.startswith("#"), (lang, key)
            assert translated != english or key in {"quiz_md", "quiz_docx"}, (lang, key)


@pytest.mark.unit
def test_sentences_are_in_their_language() -> None:
    # Short labels ("Тест (.md)") carry too little to tell Russian from Kazakh; sentences do.
    for table in (LABELS, MESSAGES):
        for lang in ("ru", "kk"):
            for key, text in table[lang].items():
                if len(text.split()) >= 5:
                    assert detect_language(text) == lang, (lang, key, text)


@pytest.mark.unit
def test_labels_fill_the_question_length() -> None:
    assert labels("ru", 500)["question_placeholder"] == "Ваш вопрос (до 500 символов)…"
    assert "{" not in "".join(labels("kk", 500).values())


@pytest.mark.unit
def test_examples_and_messages() -> None:
    assert len(examples("en")) == len(examples("ru")) == len(examples("kk")) == 4
    assert all(detect_language(q) == "kk" for q in examples("kk"))
    assert all(detect_language(q) == "ru" for q in examples("ru"))
    assert message("ru", "status_ready", n=8) == "Проиндексировано документов: 8. Готово."
    assert message("en", "open_pdf_at", pages="p. 17") == "Open the PDF at p. 17"


@pytest.mark.unit
def test_gradio_i18n_holds_all_three_languages() -> None:
    i18n = gradio_i18n(500)
    assert set(i18n.translations_dict) == {"en", "ru", "kk"}
    assert i18n.translations_dict["kk"]["ask_button"] == "Сұрау"
    assert i18n.translations_dict["en"]["question_placeholder"] == "Your question (up to 500 characters)…"
    assert i18n("ask_button").key == "ask_button"
