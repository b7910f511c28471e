"""Vocabulary of the synthetic handbooks (evals/synthetic_corpus.py): topics, sentence templates, names.

Sentences are grammatical by construction: every template slot takes one kind of phrase
(a role, a noun phrase of the topic, a verb in the form the template needs, a time limit...).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    chapters: tuple[str, ...]
    subheadings: tuple[str, ...]
    nouns: tuple[str, ...]  # plural or mass noun phrases, used as objects and subjects
    verbs: tuple[tuple[str, str, str], ...]  # base, past participle, gerund
    roles: tuple[str, ...]
    facts: tuple[str, ...]  # whole sentences specific to the topic
    questions: tuple[str, ...]  # generic staff questions about it (latency benchmark)


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


def _topic(
    name: str,
    chapters: str,
    subheadings: str,
    nouns: str,
    verbs: str,
    roles: str,
    facts: tuple[str, ...],
    questions: tuple[str, ...],
) -> Topic:
    """A topic from "|"-separated lists; verbs as "base/participle/gerund"."""
    forms = tuple((base, participle, gerund) for base, participle, gerund in (v.split("/") for v in verbs.split("|")))
    return Topic(name, _split(chapters), _split(subheadings), _split(nouns), forms, _split(roles), facts, questions)


TOPICS: tuple[Topic, ...] = (
    _topic(
        "visits",
        "Visits|Visits and Family Contact|Social and Legal Visits",
        (
            "Booking a visit|Visitor identification|Closed visits|Children visiting|Legal visits|"
            "Conduct in the visits hall|Cancelled visits|Family days"
        ),
        (
            "social visits|legal visits|closed visits|family days|video calls|visiting orders|visit bookings|"
            "visits from official callers"
        ),
        (
            "book/booked/booking|approve/approved/approving|cancel/cancelled/cancelling|"
            "restrict/restricted/restricting|supervise/supervised/supervising|arrange/arranged/arranging"
        ),
        "the visits manager|the visits hall supervisor|the booking clerk|the family engagement worker",
        (
            "Visitors must show photographic identification at the gate before they enter the visits hall.",
            "Children under eighteen must be accompanied by an adult visitor named on the booking.",
            "Prisoners may embrace their visitors briefly at the start and at the end of a visit.",
            "Visits start at the booked time and a late arrival does not extend the visit.",
            "Food and drink bought in the visits hall must be consumed there and may not be taken back to the wing.",
        ),
        (
            "How often can a prisoner have a social visit?",
            "What identification does a visitor need?",
            "When can a visit be moved to closed conditions?",
            "Can children visit a prisoner on their own?",
        ),
    ),
    _topic(
        "correspondence",
        "Correspondence|Letters and Mail|Correspondence and Parcels",
        "Incoming mail|Legal correspondence|Confidential access|Stamps and stationery|Reading of letters|Parcels",
        (
            "incoming letters|outgoing letters|legally privileged letters|parcels|stamps|letters to the courts|"
            "photocopied letters|greeting cards"
        ),
        (
            "open/opened/opening|read/read/reading|withhold/withheld/withholding|copy/copied/copying|"
            "check/checked/checking|return/returned/returning"
        ),
        "the mail room officer|the censors' office|the correspondence clerk|the security analyst",
        (
            "Letters marked as legally privileged may be opened only in the presence of the prisoner.",
            "Every prisoner receives one free second-class letter each week.",
            "Letters that arrive with drawings in crayon or stickers may be photocopied and the original withheld.",
            "Outgoing letters must show the prisoner's name and number on the back of the envelope.",
        ),
        (
            "Can staff read a prisoner's letters to his solicitor?",
            "How many free letters does a prisoner get?",
            "When can incoming mail be photocopied?",
        ),
    ),
    _topic(
        "telephones",
        "Telephones|Telephone Contact|PIN Phones and In-cell Telephony",
        "Approved numbers|Call credit|Monitoring of calls|Calls to legal advisers",
        (
            "telephone calls|approved numbers|call credit|in-cell telephones|PIN accounts|calls to legal advisers|"
            "emergency calls"
        ),
        (
            "approve/approved/approving|monitor/monitored/monitoring|block/blocked/blocking|"
            "record/recorded/recording|suspend/suspended/suspending|add/added/adding"
        ),
        "the PIN phone administrator|the telephone monitoring team|the public protection manager",
        (
            "Calls to legal advisers, the Samaritans and the Independent Monitoring Board are not recorded.",
            "New numbers are added to the approved list after the person called has agreed to be contacted.",
            "Call credit is bought through the weekly canteen sheet.",
        ),
        (
            "Are a prisoner's phone calls recorded?",
            "How does a prisoner add a number to the phone list?",
        ),
    ),
    _topic(
        "searching",
        "Searching|Searching of Prisoners and Cells|Searches and Security",
        (
            "Rub-down searches|Full searches|Cell searches|Searching of visitors|Use of search dogs|"
            "Items found in a search"
        ),
        (
            "rub-down searches|full searches|cell searches|area searches|searches of visitors|"
            "searches with a metal detector|intelligence-led searches"
        ),
        (
            "carry out/carried out/carrying out|authorise/authorised/authorising|record/recorded/recording|"
            "conduct/conducted/conducting|review/reviewed/reviewing|plan/planned/planning"
        ),
        "the search team leader|the dedicated search team|the security manager|the orderly officer",
        (
            "A full search is carried out by two officers of the same sex as the prisoner, out of sight of others.",
            "The prisoner is present during a cell search unless this would put staff at risk.",
            "A search dog handler may search visitors' belongings but never the visitors themselves.",
            "Items found during a search are bagged, labelled and handed to the security department.",
        ),
        (
            "Who can carry out a full search of a prisoner?",
            "Does the prisoner have to be present when their cell is searched?",
            "What happens to items found in a cell search?",
        ),
    ),
    _topic(
        "discipline",
        "Discipline|Adjudications|Discipline and Adjudications",
        "Laying a charge|The adjudication hearing|Punishments|Appeals|Referral to the police",
        (
            "disciplinary charges|adjudication hearings|punishments|suspended punishments|loss of privileges|"
            "cellular confinement|referrals to the independent adjudicator"
        ),
        (
            "lay/laid/laying|hear/heard/hearing|adjourn/adjourned/adjourning|impose/imposed/imposing|"
            "review/reviewed/reviewing|quash/quashed/quashing"
        ),
        "the adjudicating governor|the reporting officer|the independent adjudicator|the legal adviser",
        (
            "A charge must be laid within 48 hours of the discovery of the alleged offence.",
            "The prisoner receives the charge in writing at least two hours before the first hearing.",
            "The adjudicator must be satisfied beyond reasonable doubt that the charge is proved.",
            "A prisoner may ask for a friend or adviser to help at the hearing.",
        ),
        (
            "How long does staff have to lay a disciplinary charge?",
            "Can a prisoner have help at an adjudication?",
            "What punishments can the governor impose?",
        ),
    ),
    _topic(
        "healthcare",
        "Healthcare|Health and Wellbeing|Healthcare Services",
        "Seeing a doctor|Medication|Mental health|Dental care|Hospital escorts|Substance misuse",
        (
            "healthcare appointments|prescribed medicines|in-possession medication|dental appointments|"
            "mental health assessments|hospital escorts|health screenings"
        ),
        (
            "book/booked/booking|review/reviewed/reviewing|prescribe/prescribed/prescribing|"
            "supervise/supervised/supervising|arrange/arranged/arranging|refer/referred/referring"
        ),
        "the healthcare manager|the duty nurse|the prison doctor|the mental health in-reach team|the pharmacist",
        (
            "Every prisoner is seen by a nurse on the day of arrival for a first health screening.",
            "Medicines that are not held in possession are given out at the treatment hatch at set times.",
            "Healthcare staff decide on clinical grounds; officers may not refuse a prisoner's request to see them.",
            "Prisoners are told the results of their tests in private.",
        ),
        (
            "How does a prisoner see a doctor?",
            "Who decides whether medication is held in possession?",
            "What happens at the first health screening?",
        ),
    ),
    _topic(
        "segregation",
        "Segregation|Care and Separation Unit|Segregation and Separation",
        "Authorising segregation|Reviews of segregation|Daily visits|Regime in the unit|Return to the wing",
        (
            "periods of segregation|segregation reviews|removals from association|special accommodation|"
            "the unit regime|daily checks in the unit"
        ),
        (
            "authorise/authorised/authorising|review/reviewed/reviewing|extend/extended/extending|end/ended/ending|"
            "record/recorded/recording|monitor/monitored/monitoring"
        ),
        "the segregation unit manager|the segregation review board|the duty governor|the unit officer",
        (
            "Segregation is authorised for no more than 72 hours at first and must then be reviewed by a board.",
            "A member of the healthcare team visits every segregated prisoner each day.",
            "Segregated prisoners have at least thirty minutes in the open air each day.",
            "The reasons for segregation are given to the prisoner in writing within 24 hours.",
        ),
        (
            "How long can a prisoner be kept in segregation?",
            "Who must visit a segregated prisoner every day?",
            "Does a segregated prisoner get exercise?",
        ),
    ),
    _topic(
        "property",
        "Property|Prisoners' Property|Property and Possessions",
        "Property on arrival|Property in possession|Stored property|Lost property claims|Hand-ins",
        (
            "property in possession|stored property|property cards|clothing parcels|electrical items|property claims|"
            "hand-ins at visits"
        ),
        (
            "record/recorded/recording|store/stored/storing|check/checked/checking|issue/issued/issuing|"
            "refuse/refused/refusing|return/returned/returning"
        ),
        "the reception manager|the property officer|the residential manager",
        (
            "Property in possession must fit into two volumetric control boxes.",
            "Every item of property is listed on the property card, which the prisoner signs.",
            "Claims for lost property are made within six months of the loss.",
        ),
        (
            "How much property can a prisoner keep in their cell?",
            "How does a prisoner claim for lost property?",
        ),
    ),
    _topic(
        "incentives",
        "Incentives|Incentives and Earned Privileges|Incentives Policy",
        "Incentive levels|Reviews of level|Privileges|Appeals against a level decision",
        (
            "incentive levels|level reviews|earned privileges|extra visits|private cash allowances|"
            "in-cell television|enhanced privileges"
        ),
        (
            "review/reviewed/reviewing|award/awarded/awarding|withdraw/withdrawn/withdrawing|"
            "restore/restored/restoring|record/recorded/recording|grant/granted/granting"
        ),
        "the incentives lead|the wing manager|the keyworker|the review panel",
        (
            "New arrivals start on the standard level unless their previous prison recorded otherwise.",
            "A prisoner on the basic level is reviewed at least every seven days.",
            "Good behaviour entries in the case notes count towards a move to the enhanced level.",
        ),
        (
            "How does a prisoner get onto the enhanced level?",
            "How often is the basic level reviewed?",
        ),
    ),
    _topic(
        "work",
        "Work and Education|Learning, Skills and Work|Purposeful Activity",
        "Allocation to work|Education classes|Pay|Vocational training|Library",
        (
            "work allocations|education classes|prison pay|vocational courses|library sessions|workshop places|"
            "unemployment pay"
        ),
        (
            "allocate/allocated/allocating|pay/paid/paying|review/reviewed/reviewing|suspend/suspended/suspending|"
            "offer/offered/offering|record/recorded/recording"
        ),
        "the activities hub manager|the head of education|the workshop instructor|the librarian",
        (
            "Prisoners who are willing to work but cannot be given a job receive unemployment pay.",
            "Every prisoner has an initial assessment of English and mathematics during induction.",
            "The library is open to every wing at least once a week.",
        ),
        (
            "How is a prisoner allocated a job?",
            "Do prisoners get paid if there is no work?",
        ),
    ),
    _topic(
        "religion",
        "Faith and Religion|Chaplaincy|Religion and Belief",
        "Registering a faith|Corporate worship|Religious diets|Religious artefacts|Pastoral care",
        (
            "corporate worship|faith classes|religious diets|religious artefacts|pastoral visits|"
            "festival celebrations|changes of registered faith"
        ),
        (
            "attend/attended/attending|arrange/arranged/arranging|record/recorded/recording|"
            "approve/approved/approving|provide/provided/providing|support/supported/supporting"
        ),
        "the managing chaplain|the chaplaincy team|the faith leader",
        (
            "A member of the chaplaincy team sees every new arrival within 24 hours.",
            "Prisoners may change their registered faith by telling the chaplaincy.",
            "Religious artefacts listed in the faith handbook may be kept in possession.",
        ),
        (
            "Can a prisoner change their religion?",
            "How do prisoners attend religious services?",
        ),
    ),
    _topic(
        "complaints",
        "Complaints|Requests and Complaints|Complaints Procedure",
        "Making a complaint|Confidential complaints|Appeals|The Ombudsman",
        (
            "complaints|confidential complaints|complaint appeals|general applications|discrimination complaints|"
            "complaints against staff"
        ),
        (
            "answer/answered/answering|log/logged/logging|investigate/investigated/investigating|"
            "escalate/escalated/escalating|review/reviewed/reviewing|refer/referred/referring"
        ),
        "the complaints clerk|the deputy governor|the Prisons and Probation Ombudsman",
        (
            "Complaint forms and envelopes are available on every wing without having to ask staff.",
            "A complaint is answered within five working days, or within ten when it is about a member of staff.",
            "A prisoner who is not satisfied with the appeal may write to the Ombudsman.",
        ),
        (
            "How does a prisoner make a complaint?",
            "How long does the prison have to answer a complaint?",
        ),
    ),
    _topic(
        "force",
        "Use of Force|Use of Force and Restraints|Control and Restraint",
        "When force may be used|Planned interventions|Handcuffs and restraints|Reporting force",
        (
            "planned removals|spontaneous use of force|handcuffs|body belts|restraint techniques|"
            "use of force reports|body-worn video recordings"
        ),
        (
            "authorise/authorised/authorising|record/recorded/recording|review/reviewed/reviewing|"
            "justify/justified/justifying|film/filmed/filming|report/reported/reporting"
        ),
        "the use of force coordinator|the supervising officer|the duty governor",
        (
            "Force may be used only when it is necessary, reasonable and proportionate.",
            "Every officer involved completes a use of force statement before going off duty.",
            "Planned interventions are filmed on a handheld camera from start to finish.",
        ),
        (
            "When can staff use force on a prisoner?",
            "Who has to fill in a use of force statement?",
        ),
    ),
    _topic(
        "reception",
        "Reception and Induction|Early Days in Custody|First Night and Induction",
        "Reception|The first night|Induction programme|Information for new arrivals",
        (
            "reception interviews|first night checks|induction sessions|cell sharing risk assessments|"
            "first night telephone calls|induction booklets"
        ),
        (
            "complete/completed/completing|carry out/carried out/carrying out|record/recorded/recording|"
            "arrange/arranged/arranging|explain/explained/explaining|offer/offered/offering"
        ),
        "the reception officer|the first night centre officer|the induction orderly|the peer supporter",
        (
            "A cell sharing risk assessment is completed before a new arrival is allocated a cell.",
            "Every new arrival may make a free telephone call on the first night.",
            "Induction covers the regime, the complaints system and how to get help.",
        ),
        (
            "What happens to a prisoner on their first night?",
            "What is covered at induction?",
        ),
    ),
    _topic(
        "safer-custody",
        "Safer Custody|Self-harm and Suicide Prevention|Safety in Custody",
        "Opening a case|Case reviews|Observations|Listeners|Violence reduction",
        "ACCT plans|case reviews|observation levels|Listener sessions|safety interventions|challenge and support plans",
        (
            "open/opened/opening|review/reviewed/reviewing|close/closed/closing|record/recorded/recording|"
            "increase/increased/increasing|agree/agreed/agreeing"
        ),
        "the case manager|the safer custody team|the Listener coordinator|the wing officer",
        (
            "Any member of staff who is concerned that a prisoner may harm themselves must open an ACCT plan.",
            "The first case review is held within 24 hours of the plan being opened.",
            "Prisoners can ask to speak to a Listener at any time of day or night.",
        ),
        (
            "Who can open an ACCT plan?",
            "When is the first ACCT case review held?",
        ),
    ),
    _topic(
        "money",
        "Money and Canteen|Finance and Shop|Private Cash and Canteen",
        "Private cash|Canteen orders|Money sent in|Catalogue orders",
        "private cash|canteen orders|catalogue orders|money sent by families|spending limits|savings accounts",
        (
            "credit/credited/crediting|limit/limited/limiting|check/checked/checking|refund/refunded/refunding|"
            "process/processed/processing|approve/approved/approving"
        ),
        "the finance clerk|the canteen manager|the business hub",
        (
            "Money sent by families is credited to the prisoner's account within three working days.",
            "Canteen sheets are handed in on Monday and the orders delivered on Thursday.",
            "Catalogue orders are placed once a fortnight.",
        ),
        (
            "How can a family send money to a prisoner?",
            "When is canteen delivered?",
        ),
    ),
    _topic(
        "regime",
        "Daily Regime|Time out of Cell|The Regime",
        "Unlock and roll checks|Exercise|Association|Meals|Showers",
        (
            "time in the open air|association periods|roll checks|meal times|shower times|regime changes|"
            "evening association"
        ),
        (
            "publish/published/publishing|change/changed/changing|record/recorded/recording|"
            "cancel/cancelled/cancelling|restore/restored/restoring|extend/extended/extending"
        ),
        "the orderly officer|the head of residence|the wing manager",
        (
            "Every prisoner is offered at least one hour in the open air each day.",
            "Changes to the regime are announced on the wing notice board the day before.",
            "Meals are served at the servery and eaten in cell or in the dining area.",
        ),
        (
            "How much time out of cell do prisoners get?",
            "When are meals served?",
        ),
    ),
)

ROLES = _split(
    "the governor|"
    "the duty governor|"
    "the wing manager|"
    "the supervising officer|"
    "the custodial manager|"
    "the head of safety|"
    "the residential governor|"
    "the keyworker|"
    "the security manager|"
    "a member of the healthcare team"
)
TIMES = _split(
    "within 24 hours|"
    "within two working days|"
    "within seven days|"
    "before the end of the shift|"
    "as soon as practicable|"
    "on the same day|"
    "at the next available opportunity|"
    "within 72 hours|"
    "no later than the following morning|"
    "within five working days"
)
FREQUENCIES = _split(
    "at least once a week|"
    "twice a month|"
    "every 28 days|"
    "once a day|"
    "at least three times a week|"
    "on each weekday|"
    "once a fortnight"
)
EXCEPTIONS = _split(
    "a risk assessment shows a specific threat|"
    "the prisoner has asked for this in writing|"
    "there is an immediate risk to safety|"
    "the governor has given written authority|"
    "security intelligence requires it|"
    "the prisoner is held on the basic level|"
    "a court has ordered otherwise|"
    "the prisoner is receiving hospital treatment"
)
NEEDS = _split(
    "a disability|"
    "limited reading skills|"
    "a learning difficulty|"
    "little or no English|"
    "hearing loss|"
    "mental health needs|"
    "a visual impairment|"
    "caring responsibilities"
)
BOARDS = _split(
    "the Independent Monitoring Board|"
    "the safer custody meeting|"
    "the senior leadership team|"
    "the security committee|"
    "the equalities action team|"
    "the prison group director"
)
RECORDS = _split(
    "the wing observation book|"
    "the electronic case notes|"
    "the occurrence log|"
    "the prisoner's core record|"
    "the daily briefing sheet|"
    "the unit journal|"
    "the prisoner's personal file"
)
CONSIDERATIONS = _split(
    "the prisoner's age and maturity|"
    "any known health needs|"
    "the views of the keyworker|"
    "the impact on the prisoner's family|"
    "the prisoner's behaviour over the previous month|"
    "any protected characteristic|"
    "the advice of the healthcare team|"
    "the risk of self-harm"
)
PROHIBITED = _split(
    "discuss a prisoner's case with other prisoners|"
    "accept gifts from prisoners or visitors|"
    "use a prisoner's first name without permission|"
    "leave keys unattended|"
    "promise an outcome that has not been decided|"
    "share personal contact details"
)
PRISONER_CONDITIONS = _split(
    "disagrees with a decision|"
    "has been refused a request|"
    "is transferred to another prison|"
    "is released on temporary licence|"
    "has been moved to another wing|"
    "believes the record is wrong"
)
PARTICIPLE_OPENERS = _split(
    "Subject to the conditions in this chapter|"
    "In line with the national framework|"
    "As a general rule|"
    "Except in an emergency|"
    "During the core day|"
    "Outside normal hours|"
    "For the purposes of this handbook|"
    "When the establishment is at full capacity"
)


TEMPLATES: tuple[str, ...] = (
    "{Role} must {verb} {noun} {time}.",
    "Where {exception}, {role} may {verb} {noun} for a limited period.",
    "{Noun} must be {pp} by {role} and recorded in {record}.",
    "Prisoners may ask about {noun} at any time, and {role} must answer {time}.",
    "{Role} should consider {consideration} before deciding whether to {verb} {noun}.",
    "Staff must never {prohibited}, and any breach is reported to {role}.",
    "Any decision to {verb} {noun} must be explained to the prisoner in writing {time}.",
    "A prisoner who {pcond} may ask {role} to review the decision, and the review is completed {time}.",
    "The reasons for {ing} {noun} must be recorded in {record}.",
    "In an emergency, {role} may {verb} {noun} without prior approval, but must inform {role2} {time}.",
    "Decisions about {noun} must never be used as a punishment or as a means of control.",
    "Information about {noun} is displayed on every wing and given to prisoners during induction.",
    "Where a prisoner has {need}, reasonable adjustments are made before {ing} {noun}.",
    "Requests about {noun} are made on a general application and answered {time}.",
    "{Role} monitors {noun} each month and reports any concerns to {board}.",
    "{Opener}, decisions on {noun} are taken by {role} and reviewed {freq}.",
    "{Role} keeps a list of {noun} and checks it {freq}.",
    "{Role} must take account of {consideration} in every decision about {noun}.",
    "Where {role} decides to {verb} {noun}, the prisoner is told the reasons and how to appeal.",
    "Every decision to {verb} {noun} is reviewed by {role2} {freq}.",
)

LIST_LEADS = (
    "{Role} may {verb} {noun} only where:",
    "Before {ing} {noun}, {role} must check that:",
    "A record of {noun} must show:",
    "The following points apply to {noun}:",
)
LIST_ITEMS = (
    "{exception}",
    "{role} has agreed in writing",
    "the prisoner has been told the reasons {time}",
    "{consideration} has been taken into account",
    "the decision is recorded in {record}",
    "{board} has been informed",
    "the prisoner has had the chance to respond",
    "a copy is given to {role2}",
)


PLACES = _split(
    "Ashcombe|Brackenfield|Colderbrook|Dunmere|Elmstead|Fernleigh|Glenhaven|Harrowgate|Ivybridge|Kingsmoor|Larkhill|Marshfield|Northwold|Oakhampton|Pennington|Queensbury|Ravensworth|Stonebridge|Thornbury|Upperton|Westmarsh|Yarrowby"
)
PLACE_SUFFIXES = ("", " Park", " Grange", " Vale", " Heath", " Moor")
MONTHS = _split("January|February|March|April|May|June|July|August|September|October|November|December")
