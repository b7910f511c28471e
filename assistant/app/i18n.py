"""The web page's words in English, Russian and Kazakh (staff in Kazakhstan use all three).

Two kinds of text:
- LABELS: the page's static text (tabs, buttons, labels, placeholders, headings, example
  questions). gradio translates these in the browser by its locale: build the page with
  `i18n = gradio_i18n(MAX_QUESTION_CHARS)`, label components `i18n("ask_button")`, and pass
  `i18n=i18n` to `launch()`. gradio translates static text only, never values a handler returns.
- MESSAGES: text the handlers produce (status lines, notes, feedback replies); look them up
  with `message(lang, key, **fields)` in the question's language (assistant.language).

The English strings are the page's current wording; `{name}` fields are filled by the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.language import LANGUAGES as PAGE_LANGUAGES
from assistant.language import AnswerTexts, Language, profile

if TYPE_CHECKING:
    import gradio as gr

LANGUAGES: tuple[Language, ...] = PAGE_LANGUAGES  # every language profile (assistant/language.py)
N_EXAMPLES = 4

LABELS: dict[Language, dict[str, str]] = {
    "en": {
        "title": "Handbook Assistant",
        "intro": "## Handbook Assistant\nAnswers from prison handbooks and international standards, quoted word for "
        "word with their source. Always check the quoted page before acting.",
        "tab_ask": "Ask",
        "tab_brief": "Topic brief (trainers)",
        "chat_label": "Conversation",
        "chat_placeholder": "Ask a question about prison rules, policy or international standards.",
        "question_placeholder": "Your question (up to {max_chars} characters)…",
        "ask_button": "Ask",
        "examples_label": "Example questions",
        "example_1": "Can we read a prisoner's letters to his lawyer?",
        "example_2": "How long can someone be kept in segregation?",
        "example_3": "A visitor refuses to be searched — what now?",
        "example_4": "What do we have to record when a prisoner is admitted?",
        "new_conversation": "New conversation",
        "download_conversation": "Download conversation (.md)",
        "feedback_heading": "Feedback on the last answer",
        "rating_label": "Your rating",
        "rating_up": "👍 Helpful",
        "rating_down": "👎 Not helpful",
        "comment_label": "Comment (optional)",
        "send_feedback": "Send feedback",
        "doc_filter_heading": "Search only these documents",
        "doc_filter_label": "None ticked: all documents are searched",
        "sources_heading": "### Sources",
        "sources_placeholder": "The sources of the answer appear here.",
        "pick_label": "Open a source",
        "show_page": "Show source",
        "page_image_label": "Source page",
        "page_text_placeholder": "The chosen source page appears here.",
        "brief_intro": "Collects what the indexed documents say on one topic, quoted and cited, for a training "
        "session; then makes a short quiz with an answer key.",
        "topic_label": "Topic",
        "topic_placeholder": "e.g. segregation, searching visitors, legal correspondence",
        "build_brief": "Build brief",
        "brief_docs_heading": "Only these documents",
        "brief_docs_label": "None ticked: all documents",
        "brief_md": "Brief (.md)",
        "brief_docx": "Brief (.docx)",
        "questions_label": "Questions",
        "quiz_type_label": "Quiz type",
        "quiz_mixed": "mixed",
        "quiz_cloze": "cloze",
        "quiz_multiple_choice": "multiple-choice",
        "make_quiz": "Make quiz",
        "quiz_md": "Quiz (.md)",
        "quiz_docx": "Quiz (.docx)",
    },
    "ru": {
        "title": "Справочный помощник",
        "intro": "## Справочный помощник\nОтветы из тюремных руководств и международных стандартов: дословные "
        "цитаты с указанием источника. Прежде чем действовать, всегда сверяйтесь с цитируемой страницей.",
        "tab_ask": "Вопрос",
        "tab_brief": "Обзор темы (для инструкторов)",
        "chat_label": "Диалог",
        "chat_placeholder": "Задайте вопрос о правилах содержания, порядке работы учреждения или международных "
        "стандартах.",
        "question_placeholder": "Ваш вопрос (до {max_chars} символов)…",
        "ask_button": "Спросить",
        "examples_label": "Примеры вопросов",
        "example_1": "Можно ли читать письма осуждённого к адвокату?",
        "example_2": "Сколько можно держать осуждённого в ШИЗО?",
        "example_3": "Посетитель отказывается от досмотра — что делать?",
        "example_4": "Что нужно записать при приёме осуждённого в учреждение?",
        "new_conversation": "Новый диалог",
        "download_conversation": "Скачать диалог (.md)",
        "feedback_heading": "Отзыв о последнем ответе",
        "rating_label": "Ваша оценка",
        "rating_up": "👍 Полезно",
        "rating_down": "👎 Бесполезно",
        "comment_label": "Комментарий (необязательно)",
        "send_feedback": "Отправить отзыв",
        "doc_filter_heading": "Искать только в этих документах",
        "doc_filter_label": "Ничего не отмечено — поиск по всем документам",
        "sources_heading": "### Источники",
        "sources_placeholder": "Здесь появятся источники ответа.",
        "pick_label": "Открыть источник",
        "show_page": "Показать источник",
        "page_image_label": "Страница источника",
        "page_text_placeholder": "Здесь появится выбранная страница источника.",
        "brief_intro": "Собирает всё, что проиндексированные документы говорят по одной теме, с цитатами и "
        "ссылками для учебного занятия, а затем составляет короткий тест с ключом ответов.",
        "topic_label": "Тема",
        "topic_placeholder": "например: ШИЗО, досмотр посетителей, переписка с адвокатом",
        "build_brief": "Составить обзор",
        "brief_docs_heading": "Только эти документы",
        "brief_docs_label": "Ничего не отмечено — все документы",
        "brief_md": "Обзор (.md)",
        "brief_docx": "Обзор (.docx)",
        "questions_label": "Число вопросов",
        "quiz_type_label": "Тип теста",
        "quiz_mixed": "смешанный",
        "quiz_cloze": "с пропусками",
        "quiz_multiple_choice": "с выбором ответа",
        "make_quiz": "Составить тест",
        "quiz_md": "Тест (.md)",
        "quiz_docx": "Тест (.docx)",
    },
    "kk": {
        "title": "Анықтамалық көмекші",
        "intro": "## Анықтамалық көмекші\nТүрме нұсқаулықтары мен халықаралық стандарттардан алынған жауаптар: "
        "дереккөзі көрсетілген сөзбе-сөз үзінділер. Әрекет етпес бұрын әрдайым келтірілген бетті тексеріңіз.",
        "tab_ask": "Сұрақ",
        "tab_brief": "Тақырып бойынша шолу (оқытушыларға)",
        "chat_label": "Сұхбат",
        "chat_placeholder": "Түрмеде ұстау ережелері, мекеменің жұмыс тәртібі немесе халықаралық стандарттар "
        "туралы сұрақ қойыңыз.",
        "question_placeholder": "Сұрағыңыз ({max_chars} таңбаға дейін)…",
        "ask_button": "Сұрау",
        "examples_label": "Сұрақ үлгілері",
        "example_1": "Сотталғанның адвокатқа жазған хаттарын оқуға бола ма?",
        "example_2": "Сотталғанды ШИЗО-да қанша уақыт ұстауға болады?",
        "example_3": "Келуші тінтуден бас тартса, не істеу керек?",
        "example_4": "Сотталғанды мекемеге қабылдағанда не тіркелуі керек?",
        "new_conversation": "Жаңа сұхбат",
        "download_conversation": "Сұхбатты жүктеп алу (.md)",
        "feedback_heading": "Соңғы жауап туралы пікір",
        "rating_label": "Сіздің бағаңыз",
        "rating_up": "👍 Пайдалы",
        "rating_down": "👎 Пайдасыз",
        "comment_label": "Түсініктеме (міндетті емес)",
        "send_feedback": "Пікір жіберу",
        "doc_filter_heading": "Тек осы құжаттардан іздеу",
        "doc_filter_label": "Ештеңе белгіленбесе, барлық құжаттардан ізделеді",
        "sources_heading": "### Дереккөздер",
        "sources_placeholder": "Жауаптың дереккөздері осында көрсетіледі.",
        "pick_label": "Дереккөзді ашу",
        "show_page": "Дереккөзді көрсету",
        "page_image_label": "Дереккөз беті",
        "page_text_placeholder": "Таңдалған дереккөз беті осында көрсетіледі.",
        "brief_intro": "Индекстелген құжаттарда бір тақырып бойынша айтылғанның бәрін оқу сабағы үшін үзінділер "
        "мен сілтемелерімен жинайды, содан кейін жауап кілті бар қысқа тест құрастырады.",
        "topic_label": "Тақырып",
        "topic_placeholder": "мысалы: оқшаулау, келушілерді тінту, адвокатпен хат алмасу",
        "build_brief": "Шолу жасау",
        "brief_docs_heading": "Тек осы құжаттар",
        "brief_docs_label": "Ештеңе белгіленбесе — барлық құжаттар",
        "brief_md": "Шолу (.md)",
        "brief_docx": "Шолу (.docx)",
        "questions_label": "Сұрақтар саны",
        "quiz_type_label": "Тест түрі",
        "quiz_mixed": "аралас",
        "quiz_cloze": "бос орынды толтыру",
        "quiz_multiple_choice": "жауап таңдау",
        "make_quiz": "Тест құрастыру",
        "quiz_md": "Тест (.md)",
        "quiz_docx": "Тест (.docx)",
    },
}

MESSAGES: dict[Language, dict[str, str]] = {
    "en": {
        "searching": "Searching the documents…",
        "loading": "Loading the assistant (first start, about a minute)…",
        "checking": "Checking each sentence against its passage…",
        "status_ready": "{n} documents indexed. Ready.",
        "status_loading": "Loading the assistant… you can already type a question; it will be answered once "
        "loading ends.",
        "status_failed": "The assistant could not be loaded. The operator's log has the details.",
        "status_improving": "Improving search: {done} of {total} passages.",
        "apology": "Sorry, something went wrong while answering. The error has been logged; please try again.",
        "refused_note": "No answer was given. These passages came closest; they were not judged to answer the "
        "question.",
        "open_pdf_at": "Open the PDF at {pages}",
        "choose_source_hint": "Choose a source under “Open a source” to see its printed page or section.",
        "ask_then_choose": "Ask a question, then choose one of its sources.",
        "searched_as": "Searched as: {query}",
        "confidence": "Confidence {confidence}. Check each quote against its page (sources on the right).",
        "no_answer_to_rate": "There is no answer to rate yet.",
        "choose_rating": "Choose 👍 or 👎 first.",
        "feedback_stored": "Thank you, your feedback was stored.",
        "feedback_failed": "Sorry, the feedback could not be stored.",
        "build_brief_first": "Build a topic brief first.",
    },
    "ru": {
        "searching": "Поиск по документам…",
        "loading": "Помощник загружается (первый запуск, около минуты)…",
        "checking": "Каждое предложение сверяется с фрагментом, на который оно ссылается…",
        "status_ready": "Проиндексировано документов: {n}. Готово.",
        "status_loading": "Помощник загружается… Вопрос можно ввести уже сейчас, ответ придёт после загрузки.",
        "status_failed": "Не удалось загрузить помощника. Подробности — в журнале оператора.",
        "status_improving": "Поиск улучшается: обработано {done} из {total} фрагментов.",
        "apology": "Извините, при подготовке ответа произошла ошибка. Она записана в журнал; попробуйте ещё раз.",
        "refused_note": "Ответ не дан. Ближе всего к вопросу оказались эти фрагменты, но они не признаны "
        "ответом на него.",
        "open_pdf_at": "Открыть PDF: {pages}",
        "choose_source_hint": "Чтобы увидеть печатную страницу или раздел, выберите источник в списке "
        "«Открыть источник».",
        "ask_then_choose": "Задайте вопрос, а затем выберите один из его источников.",
        "searched_as": "Искали как: {query}",
        "confidence": "Уверенность {confidence}. Сверьте каждую цитату с её страницей (источники справа).",
        "no_answer_to_rate": "Пока нет ответа, который можно оценить.",
        "choose_rating": "Сначала выберите 👍 или 👎.",
        "feedback_stored": "Спасибо, ваш отзыв сохранён.",
        "feedback_failed": "Извините, отзыв не удалось сохранить.",
        "build_brief_first": "Сначала составьте обзор темы.",
    },
    "kk": {
        "searching": "Құжаттардан іздеу…",
        "loading": "Көмекші жүктелуде (алғашқы іске қосу, шамамен бір минут)…",
        "checking": "Әр сөйлем сілтеме жасалған үзіндімен салыстырылып тексерілуде…",
        "status_ready": "Индекстелген құжаттар саны: {n}. Дайын.",
        "status_loading": "Көмекші жүктелуде… Сұрақты қазір жаза беруге болады, жүктеу аяқталған соң жауап беріледі.",
        "status_failed": "Көмекшіні жүктеу мүмкін болмады. Толығырақ мәлімет оператордың журналында.",
        "status_improving": "Іздеу сапасы жақсартылуда: {total} үзіндінің {done} үзіндісі дайын.",
        "apology": "Кешіріңіз, жауап дайындау кезінде қате шықты. Қате журналға жазылды; қайталап көріңіз.",
        "refused_note": "Жауап берілмеді. Сұраққа ең жақын үзінділер осылар, бірақ олар сұраққа жауап береді "
        "деп танылмады.",
        "open_pdf_at": "PDF-ті ашу: {pages}",
        "choose_source_hint": "Басылған бетті немесе бөлімді көру үшін «Дереккөзді ашу» тізімінен дереккөзді таңдаңыз.",
        "ask_then_choose": "Сұрақ қойыңыз, содан кейін оның дереккөздерінің бірін таңдаңыз.",
        "searched_as": "Іздеу сұрауы: {query}",
        "confidence": "Сенімділік: {confidence}. Әр үзіндіні өз бетімен салыстырып тексеріңіз (дереккөздер оң жақта).",
        "no_answer_to_rate": "Әзірге бағалайтын жауап жоқ.",
        "choose_rating": "Алдымен 👍 немесе 👎 таңдаңыз.",
        "feedback_stored": "Рақмет, пікіріңіз сақталды.",
        "feedback_failed": "Кешіріңіз, пікірді сақтау мүмкін болмады.",
        "build_brief_first": "Алдымен тақырып бойынша шолу жасаңыз.",
    },
}


def labels(lang: Language, max_question_chars: int) -> dict[str, str]:
    """The page's static text in one language, its fields filled in."""
    return {key: text.format(max_chars=max_question_chars) for key, text in LABELS[lang].items()}


def gradio_i18n(max_question_chars: int) -> gr.I18n:
    """A gradio I18n with the labels of all three languages (gradio imported only here)."""
    import gradio as gr

    return gr.I18n(**{lang: labels(lang, max_question_chars) for lang in LANGUAGES})


def examples(lang: Language) -> list[str]:
    """The example questions shown under the question box."""
    return [LABELS[lang][f"example_{i}"] for i in range(1, N_EXAMPLES + 1)]


def answer_texts(lang: Language) -> AnswerTexts:
    """The chat's own words around an answer (the caution, "not covered", the supporting passages heading, the
    sources) in `lang`, the page's language; the language profiles hold them (assistant/language.py), and
    assistant/answer/render.py is where they are written."""
    return profile(lang).texts


def message(lang: Language, key: str, **fields: object) -> str:
    """A handler's message in `lang`, its `{name}` fields filled from `fields`."""
    return MESSAGES[lang][key].format(**fields)


def browser_language(accept_language: str | None) -> Language:
    """The first of the page's languages in a browser's Accept-Language header (`ru-RU,ru;q=0.9,en`); English
    when none is listed. For messages that answer no question (the status line), whose language is the page's."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower().split("-")[0]
        if tag in LANGUAGES:
            return tag  # type: ignore[return-value]
    return "en"


def count(lang: Language, n: int) -> str:
    """A count as the language writes it: 1,931 in English, 1 931 (no-break space) in Russian and Kazakh."""
    return f"{n:,}" if lang == "en" else f"{n:,}".replace(",", "\u00a0")
