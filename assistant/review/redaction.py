"""Redaction of the personal details staff may type into a question, before anything stores it.

A question such as "Can Mr Ivanov (A1234BC, born 12.03.1985) phone 07700 900123?" is logged
as "Can [NAME] ([PRISONER_NO], born [DOB]) phone [PHONE]?". The rules are patterns, not a
model, so they are fast, predictable and tested one by one (tests/assistant/review/test_redaction.py):

- e-mail addresses -> [EMAIL]; phone numbers (9 to 15 digits with separators) -> [PHONE];
- a date after a birth word ("born", "DOB", "дата рождения", "туған") -> [DOB], as is a year of
  birth ("1985 года рождения", "1985 жылы туған"); any other full numeric date -> [DATE];
- a number after a prisoner word ("prisoner number", "номер осуждённого", "сотталғанның нөмірі")
  or in the prison-number format A1234BC -> [PRISONER_NO]; after a staff word ("staff number",
  "табельный номер", "қызметкер нөмірі") -> [STAFF_NO]; any other run of six or more digits
  (an IIN, a case number) -> [ID_NO]; a word after "password" / "пароль" -> [SECRET];
- names -> [NAME]: a word after a title or a role noun ("Mr", "officer", "осуждённый",
  "сотталған"), after "called" / "по фамилии" / "есімі"; common first names of English, Russian
  and Kazakh speakers (with their case endings) and the capitalised word after them; Cyrillic
  surnames (-ов, -ева, -ин, -ский, -ұлы, with Russian and Kazakh endings) and patronymics;
  initials next to a capitalised word ("Иванов И.И.", "J. Smith").

What is kept: rule, article and section numbers ("Rule 45", "Article 14", "5.67"), counts
and durations ("15 days", "24 hours"), years, and capitalised names of places, laws and
bodies ("Red Cross", "Northern Ireland Prison Service"): a capitalised word alone is not
taken for a name, since the questions name documents and institutions all the time.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PLACEHOLDERS = ("NAME", "PRISONER_NO", "STAFF_NO", "ID_NO", "PHONE", "DOB", "DATE", "EMAIL", "SECRET")

_UP = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"
_LOW = "a-zа-яёәғқңөұүһі"
_CYR_UP = "А-ЯЁӘҒҚҢӨҰҮҺІ"
_CYR_LOW = "а-яёәғқңөұүһі"
# A capitalised word: Latin with O'Brien / McDonald / Smith-Jones forms, or Cyrillic.
_CAP = rf"(?:[{_UP}](?:[{_LOW}]+|['’][{_UP}][{_LOW}]+|c[{_UP}][{_LOW}]+)(?:-[{_UP}][{_LOW}]+)?)"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)

_MONTHS_EN = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|"
    r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_MONTHS_RU = r"(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
_MONTHS_KK = r"(?:қаңтар|ақпан|наурыз|сәуір|мамыр|маусым|шілде|тамыз|қыркүйек|қазан|қараша|желтоқсан)[а-яәғқңөұүһі]*"
_NUMERIC_DATE = r"\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}"
_TEXT_DATE = (
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS_EN}\.?,?\s+\d{{4}}"
    rf"|{_MONTHS_EN}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}\s+{_MONTHS_RU}\s+\d{{4}}(?:\s*(?:г\.|года|г\b))?"
    rf"|\d{{4}}\s*(?:ж\.|жылы|жылғы)\s*\d{{1,2}}\s*{_MONTHS_KK}"
    rf"|\d{{1,2}}\s+{_MONTHS_KK}\s+\d{{4}}(?:\s*(?:ж\.|жылы|жылғы))?"
)
_ANY_DATE = rf"(?:{_TEXT_DATE}|{_NUMERIC_DATE})"
_BIRTH_WORDS = (
    r"(?:born(?:\s+(?:on|in))?|DOB|D\.O\.B\.?|date\s+of\s+birth|birth\s*date|birthday|d\.o\.b\.?"
    r"|дата\s+рождения|д\.\s?р\.|родил(?:ся|ась)|рожд[её]нн?(?:ый|ая|ого|ой)?|день\s+рождения"
    r"|туған\s+(?:күні|күнi|жылы)|туылған\s+(?:күні|жылы)?|туған)"
)
_DOB = re.compile(rf"(?i)(?P<lead>\b{_BIRTH_WORDS}\s*[:\-–]?\s*)(?P<date>{_ANY_DATE}|\d{{4}}\b)")
# A year of birth written before its word: "1985 года рождения", "1985 г.р.", "1985 жылы туған".
_BIRTH_YEAR = re.compile(
    r"(?i)\b(?P<date>(?:19|20)\d{2})(?P<tail>\s*(?:г\.\s?р\.|года\s+рождения|г\.\s+рождения|жылы\s+туған|ж\.\s?т\.))"
)
_DATE = re.compile(rf"(?<![\d./-])(?:{_NUMERIC_DATE})(?![\d./-]*\d)")

_PHONE_RUN = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d\s().-]{7,}\d(?!\w)")

_ID = r"(?:[A-ZА-Я]{0,3}[-\s]?)?\d[\d/-]{2,}[A-ZА-Я]{0,2}\b|[A-Z]\d{4}[A-Z]{2}\b"
_NUMBER_WORD = r"(?:number|no\.?|num\.?|#|id|ref(?:erence)?|№|номер\w*|нөмір\w*|N)"
_PRISONER_WORDS = (
    r"(?:prisoner|prison|inmate|offender|detainee|booking|NOMIS|case|осужд[её]нн\w*|заключ[её]нн\w*|"
    r"подследственн\w*|личн\w+\s+дел\w*|сотталған\w*|тұтқын\w*|жеке\s+іс\w*)"
)
_STAFF_WORDS = (
    r"(?:staff|employee|officer|badge|payroll|collar|service|warrant|табельн\w*|служебн\w*|жетон\w*|"
    r"удостоверени\w*|сотрудник\w*|қызметкер\w*|табель|қызметтік)"
)
_PRISONER_NO = re.compile(
    rf"(?i)(?P<lead>\b{_PRISONER_WORDS}(?:'s)?\s*(?:{_NUMBER_WORD})\s*[:.]?\s*)(?P<id>{_ID})"
    rf"|(?P<lead2>\b(?:номер\w*|нөмір\w*|№)\s+{_PRISONER_WORDS}\s*[:.]?\s*(?:№\s*)?)(?P<id2>{_ID})"
)
_STAFF_NO = re.compile(
    rf"(?i)(?P<lead>\b{_STAFF_WORDS}(?:'s)?\s*(?:{_NUMBER_WORD})\s*[:.]?\s*)(?P<id>{_ID})"
    rf"|(?P<lead2>\b(?:номер\w*|нөмір\w*|№)\s+{_STAFF_WORDS}\s*[:.]?\s*(?:№\s*)?)(?P<id2>{_ID})"
)
_NOMIS = re.compile(r"\b[A-Z]\d{4}[A-Z]{2}\b")
_LONG_NUMBER = re.compile(r"(?<![\w.])(?:№\s*)?\d{6,}(?![\w])|№\s*\d{4,}\b|#\d{4,}\b")
_SECRET = re.compile(
    r"(?i)(?P<lead>\b(?:password|passcode|pin|пароль|пароля|құпия\s+сөз\w*)\s*(?:is|:|-|=|это)?\s*)"
    r"(?P<secret>[^\s,.;!?]{3,})"
)

# ---- names -----------------------------------------------------------------------------------

_FIRST_EN = _words(
    """
    James John Robert Michael David Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony Steven Paul
    Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric
    Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick Dennis Tyler Aaron Adam
    Nathan Henry Peter Kyle Wayne Darren Craig Shane Gavin Liam Connor Callum Jamie Kieran Dylan Lewis Harry Oliver
    Jack Charlie Dave Steve Mike Chris Tom Tony Danny Mick Jimmy Billy Bobby Johnny Sean Ian Neil Keith Graham
    Stuart Martin Simon Carl Lee Ricky Damien Declan Aidan Mohammed Muhammad Ahmed Ali Omar Hassan Tariq Imran
    Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Sandra Ashley Kimberly
    Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Amy Angela Helen
    Anna Emma Nicole Samantha Katherine Christine Rachel Catherine Heather Julie Joanne Claire Kelly Lauren Chloe
    Sophie Jade Kirsty Gemma Leanne Tracy Tracey Stacey Paula Lucy Hannah Megan Natalie Zoe Shannon Danielle
    Fatima Aisha Priya Olga Irina Natasha Svetlana Ivan Sergei Sergey Dmitry Dmitri Alexei Alexey Vladimir Igor
    Nurlan Askar Yerlan Aigul Dinara Madina Aizhan Marat Serik
    """
)
_FIRST_RU = """
    Иван Сергей Алексей Дмитрий Андрей Александр Михаил Николай Владимир Олег Павел Юрий Игорь Виктор Евгений
    Максим Артём Артем Денис Роман Антон Илья Кирилл Никита Вадим Руслан Тимур Станислав Вячеслав Геннадий Борис
    Григорий Константин Валерий Анатолий Василий Пётр Петр Фёдор Федор Степан Егор Глеб Леонид Аркадий Семён
    Анна Мария Елена Ольга Наталья Татьяна Ирина Светлана Екатерина Юлия Марина Галина Людмила Оксана Анастасия
    Дарья Ксения Виктория Полина Алина Валентина Нина Лариса Тамара Зоя Евгения Алёна Алена Кристина Вера
"""
_FIRST_KK = """
    Нұрлан Нурлан Асқар Аскар Ерлан Бауыржан Дәурен Даурен Ержан Қайрат Кайрат Марат Айдос Серік Серик Талғат
    Талгат Нұржан Нуржан Ерболат Ерік Ерик Мұрат Мурат Әділ Адиль Дархан Ғалым Галым Бекзат Ернар Жандос Санжар
    Айгүл Айгуль Динара Гүлнар Гульнар Жанар Айжан Мадина Әсел Асель Гүлмира Гульмира Назерке Аружан Ақбота
    Жұлдыз Жулдыз Меруерт Салтанат Ботагөз Ботагоз Айнұр Айнур Мөлдір Молдир Гаухар Қуаныш Куаныш Ақмарал
"""
_KK_SUFFIXES = _words(
    "ға ге қа ке на не ның нің дың дің тың тің ды ді ты ті ны ні да де та те дан ден тан тен нан нен мен бен пен"
)


def _cyrillic_forms(names: str) -> frozenset[str]:
    """Each name with its Russian case forms and Kazakh case suffixes (Ивана, Анны, Сергею, Асқарға, Айгүлдің)."""
    forms: set[str] = set()
    for name in names.split():
        stem, last = name[:-1], name[-1]
        if last == "а":
            russian = [stem + e for e in ("ы", "и", "е", "у", "ой", "ою")]
        elif last == "я":
            russian = [stem + e for e in ("и", "е", "ю", "ей", "ею")]
        elif last == "й":
            russian = [stem + e for e in ("я", "ю", "ем", "е")]
        elif last == "ь":
            russian = [stem + e for e in ("я", "ю", "ем", "е", "и", "ью")]
        else:
            russian = [name + e for e in ("а", "у", "ом", "ым", "е")]
        forms.update([name, *russian, *(name + s for s in _KK_SUFFIXES)])
    return frozenset(forms)


_FIRST_CYRILLIC = _cyrillic_forms(_FIRST_RU + _FIRST_KK)

# Titles and role nouns a name follows ("Mr Smith", "officer Brown", "осуждённый Петров", "сотталған Ахметов").
_LEAD_WORDS = (
    r"prisoner|inmate|offender|detainee|officer|governor|colleague|nurse|visitor|sergeant|sgt|constable|"
    r"called|named|surname(?:\s+is)?|name\s+is|known\s+as|aka|"
    r"осужд[её]нн\w*|заключ[её]нн\w*|подследственн\w*|обвиняем\w*|подозреваем\w*|гражданин\w*|гражданк\w*|"
    r"сотрудник\w*|инспектор\w*|офицер\w*|надзирател\w*|конвоир\w*|посетител\w*|фамили\w*|по\s+имени|зовут|"
    r"некий|некая|некого|некой|некоему|"
    r"сотталған\w*|тұтқын\w*|қызметкер\w*|есімі|аты|тегі"
)
_NAME_LEADS = re.compile(rf"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Dame|Prof)\.?|(?i:\b(?:{_LEAD_WORDS})))\s+$")
_LEAD_WORD = re.compile(rf"(?i:{_LEAD_WORDS})")
# Capitalised words that follow a role noun without being a name ("the prisoner English", "officer Grade").
_NOT_NAMES = _words(
    """
    I Rule Rules Article Articles Section Part Chapter Annex Schedule Act Policy Standard Standards Service Prison
    Prisons Governor Muslim Christian Jewish Hindu Sikh Buddhist Catholic Orthodox English Welsh Scottish Irish British
    Russian Kazakh Category Cat Grade Band Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February
    March April May June July August September October November December UN CPT HMPPS HMP ACT AMC Mandela Nelson
    Правила Правил Правилам Правилах Кодекс Кодекса Закон Закона Статья Статьи Статье Пункт ООН Конвенция Конвенции
    Ережелер Ережесі Кодексі Заң Заңы Бап Бабы
    """
)
# Cities and words that look like Cyrillic surnames.
_NOT_SURNAMES = _words(
    """
    Ростов Саратов Иваново Тамбов Псков Харьков Львов Киев Кишинёв Кишинев Берлин Пекин Один Одна Мужчин Женщин
    Гражданин Господин Хозяин Карантин Магазин Бензин Витамин Кремлин Жезказган Семей Путин
    """
)
_SURNAME = re.compile(
    rf"[{_CYR_UP}][{_CYR_LOW}]+"
    r"(?:(?:ов|ев|ёв|ин|ын)(?:а)?|(?:ск|цк)(?:ий|ая|ого|ой|ому|им|ом|ую)|ович|евич|овн|евн|ичн|ұлы|улы|қызы|кызы)"
    r"(?:а|у|ым|ом|е|ой|ою|ых|ыми|ы|ем|ке|қа|ға|ге|тың|тің|ның|нің|ты|ті|ды|ді|ны|ні|та|те|да|де|тан|тен|дан|ден|"
    r"нан|нен|пен|бен|мен)?$"
)
# Words that open an English sentence: "Category A. What now?" is no initial before a surname.
_SENTENCE_WORDS = _words(
    """
    The A An What How Can Could Is Are Was Were Do Does Did If When Who Whom Whose Why Which Where We He She They It
    In On At For And But Or Our My His Her Their This That These Those There Should Must May Might Will Would Shall
    After Before Under Any All No Not Yes Please Also Then So As
    """
)
_INITIALS = re.compile(rf"^(?:[{_UP}]\.\s?){{1,2}}$")
_PREPOSITIONS = _words("в во из под над к ко у от до для о об при на с со за по через")
_TOKEN = re.compile(rf"(?:[{_UP}]\.\s?(?:[{_UP}]\.)?)|[\w'’-]+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Redacted:
    """A text with personal details replaced, and how many of each kind were found."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.counts)


class Redactor:
    """Replaces names, prisoner and staff numbers, phones, dates of birth and e-mails with typed placeholders."""

    def __init__(self, extra_first_names: frozenset[str] = frozenset()) -> None:
        self.first_latin = _FIRST_EN | {n for n in extra_first_names if n.isascii()}
        extra = " ".join(n for n in extra_first_names if not n.isascii())
        self.first_cyrillic = _FIRST_CYRILLIC | _cyrillic_forms(extra)

    def redact(self, text: str) -> Redacted:
        counts: Counter[str] = Counter()

        def sub(pattern: re.Pattern[str], kind: str, text: str, keep: tuple[str, ...] = ()) -> str:
            def replace(match: re.Match[str]) -> str:
                counts[kind] += 1
                lead = "".join(match.group(k) or "" for k in keep if k in match.groupdict())
                tail = match.groupdict().get("tail") or ""
                return f"{lead}[{kind}]{tail}"

            return pattern.sub(replace, text)

        text = sub(_EMAIL, "EMAIL", text)
        text = sub(_SECRET, "SECRET", text, ("lead",))
        text = sub(_DOB, "DOB", text, ("lead",))
        text = sub(_BIRTH_YEAR, "DOB", text)
        text = sub(_DATE, "DATE", text)
        text = self._phones(text, counts)
        text = sub(_PRISONER_NO, "PRISONER_NO", text, ("lead", "lead2"))
        text = sub(_STAFF_NO, "STAFF_NO", text, ("lead", "lead2"))
        text = sub(_NOMIS, "PRISONER_NO", text)
        text = sub(_LONG_NUMBER, "ID_NO", text)
        text = self._names(text, counts)
        return Redacted(text, dict(counts))

    def __call__(self, text: str) -> str:
        return self.redact(text).text

    @staticmethod
    def _phones(text: str, counts: Counter[str]) -> str:
        def replace(match: re.Match[str]) -> str:
            run = match.group()
            digits = sum(ch.isdigit() for ch in run)
            groups = re.findall(r"\d+", run)
            if len(groups) == 1 and not run.startswith("+"):
                return run  # one bare digit string: an identity or case number, [ID_NO] below
            # A list of rule numbers ("43 44 45 46 47") is no phone: phones have a group of 3+ digits.
            if not 9 <= digits <= 15 or max(len(g) for g in groups) < 3:
                return run
            counts["PHONE"] += 1
            return "[PHONE]"

        return _PHONE_RUN.sub(replace, text)

    # ---- names --------------------------------------------------------------------------------

    def _names(self, text: str, counts: Counter[str]) -> str:
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        is_name = [self._name_by_itself(text, tokens, i) for i in range(len(tokens))]
        # A name runs on: the capitalised word after a first name (a surname), initials beside a name,
        # and a sentence-initial surname followed by a name ("Петров Иван", "Иванов И.И.").
        changed = True
        while changed:
            changed = False
            for i in range(len(tokens)):
                if not is_name[i] and self._name_beside(tokens, i, is_name):
                    is_name[i] = changed = True
        out: list[str] = []
        position = 0
        i = 0
        while i < len(tokens):
            if not is_name[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(tokens) and is_name[j + 1] and text[tokens[j][1] : tokens[j + 1][0]].strip() == "":
                j += 1
            out.append(text[position : tokens[i][0]])
            out.append("[NAME]" + _trailing_space(tokens[j][2]))
            counts["NAME"] += 1
            position = tokens[j][1]
            i = j + 1
        out.append(text[position:])
        return "".join(out)

    def _name_by_itself(self, text: str, tokens: list[tuple[int, int, str]], i: int) -> bool:
        """A first name; a capitalised word after a title or role noun; a Cyrillic surname inside a sentence."""
        start, _, word = tokens[i]
        if self._first_name(_POSSESSIVE.sub("", word)):
            return True
        if _NAME_LEADS.search(text[:start]) and _is_capitalised(word) and word not in _NOT_NAMES:
            return True
        return self._surname(word) and not self._sentence_start(tokens, i) and not self._after_preposition(tokens, i)

    def _name_beside(self, tokens: list[tuple[int, int, str]], i: int, is_name: list[bool]) -> bool:
        """A word that continues a name found next to it."""
        word = tokens[i][2]
        left = i > 0 and is_name[i - 1]
        right = i + 1 < len(tokens) and is_name[i + 1]
        if _INITIALS.match(word):
            return left or right or self._capitalised_next(tokens, i)
        if left:
            return _is_capitalised(word) and word not in _NOT_NAMES
        return right and (self._surname(word) or self._surname_before_first_name(word, tokens[i + 1][2]))

    def _first_name(self, word: str) -> bool:
        return word in self.first_latin or word in self.first_cyrillic

    @staticmethod
    def _surname(word: str) -> bool:
        return (
            bool(_SURNAME.match(word))
            and word not in _NOT_SURNAMES
            and word not in _NOT_NAMES
            and not _LEAD_WORD.fullmatch(word)
        )

    def _surname_before_first_name(self, word: str, following: str) -> bool:
        """Russian order, surname first ("Петров Иван"): a capitalised Cyrillic word before a first name."""
        return (
            _is_cyrillic(word)
            and _is_capitalised(word)
            and word not in _NOT_NAMES
            and not _LEAD_WORD.fullmatch(word)
            and self._first_name(following)
        )

    @staticmethod
    def _sentence_start(tokens: list[tuple[int, int, str]], i: int) -> bool:
        return i == 0 or tokens[i - 1][2] in {".", "!", "?", ":", ";", "—", "–", "-", "«", '"', "("}

    @staticmethod
    def _after_preposition(tokens: list[tuple[int, int, str]], i: int) -> bool:
        return i > 0 and tokens[i - 1][2].lower() in _PREPOSITIONS

    @staticmethod
    def _capitalised_next(tokens: list[tuple[int, int, str]], i: int) -> bool:
        if i + 1 >= len(tokens):
            return False
        word = tokens[i + 1][2]
        return _is_capitalised(word) and word not in _NOT_NAMES and word not in _SENTENCE_WORDS


def _is_capitalised(word: str) -> bool:
    return bool(re.fullmatch(_CAP, _POSSESSIVE.sub("", word)))


def _is_cyrillic(word: str) -> bool:
    return bool(re.search(r"[\u0400-\u04ff]", word))


def _trailing_space(token: str) -> str:
    # Initials are matched with the space after them ("И. "): keep it; so is a possessive ("Garcia's").
    if token.endswith(" "):
        return " "
    possessive = _POSSESSIVE.search(token)
    return possessive.group() if possessive else ""


_POSSESSIVE = re.compile(r"['’]s$")


PLACEHOLDER_RE = re.compile(r"\[(?:" + "|".join(PLACEHOLDERS) + r")\]")
