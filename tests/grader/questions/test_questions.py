"""Research-taste items end to end: questions.toml, the key, answers files, scoring, template.

Fixtures are small task folders written into tmp_path. Expected scores are computed by hand in
the comments (the rules themselves are checked value by value in test_questions_rules.py).
No Docker: research-taste answers are data, scored on the host.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from grader.errors import TaskSpecError
from grader.questions import (
    AnswersError,
    TextAnswer,
    answers_template,
    load_key,
    load_questions,
    parse_answers,
    read_answers,
    score_answers,
)
from grader.questions.answers import MAX_ANSWERS_BYTES, load_answers_data
from grader.questions.grade import REVIEW_FILE, grade_answers, review_markdown
from grader.questions.key import ChoiceKey, ForecastKey, NumberKey, RankKey, SetKey
from grader.questions.model import CHARS_PER_WORD, Questions, Text, parse_questions
from grader.questions.scoring import score_item
from grader.report import Status
from grader.rubric import Rubric
from grader.task import load_task

# ----------------------------------------------------------------------------- fixtures

# Points: 10 + 10 + 15 + 5 + 20 + 10 + 10 + 10 + 10 = 100 (= task.toml's scoring.max_score)
QUESTIONS_TOML = """
intro = "Read materials/ first."

[[items]]
id = "best_support"
kind = "single_choice"
title = "Best support"
prompt = "Which result best supports the claim?"
points = 10
[items.options]
a = "The probe reaches 95% accuracy."
b = "The probe fails on an untrained copy of the model."
c = "The loss goes down."

[[items]]
id = "best_next"
kind = "single_choice"
rule = "option_credit"
title = "Best next step"
prompt = "What would you run next?"
points = 10
options = { a = "More seeds.", b = "A control task.", c = "A bigger model." }

[[items]]
id = "confounds"
kind = "multiple_choice"
title = "Confounds"
prompt = "Which are confounds?"
points = 15
options = { length = "Length.", token = "A marker token.", topic = "Topic.", seed = "Seed." }

[[items]]
id = "confounds_exact"
kind = "multiple_choice"
rule = "exact"
title = "Confounds, exactly"
prompt = "Pick exactly the confounds."
points = 5
options = { x = "X.", y = "Y.", z = "Z." }

[[items]]
id = "followups"
kind = "ranking"
title = "Rank the follow-ups"
prompt = "Most informative first."
points = 20
options = { a = "A.", b = "B.", c = "C.", d = "D." }

[[items]]
id = "followups_k"
kind = "ranking"
rule = "kendall"
title = "Rank again"
prompt = "Most informative first."
points = 10
options = { a = "A.", b = "B.", c = "C.", d = "D." }

[[items]]
id = "forecasts"
kind = "forecast"
title = "Forecasts"
prompt = "How likely is each?"
points = 10
outcomes = { layer0 = "Layer 0 probes well.", untrained = "The untrained copy probes well." }

[[items]]
id = "winner"
kind = "forecast"
rule = "log"
exclusive = true
title = "Which method wins"
prompt = "Exactly one wins."
points = 10
outcomes = { probe = "Probing.", patch = "Patching.", sae = "An SAE." }

[[items]]
id = "effect"
kind = "number"
title = "Effect size"
prompt = "How many points does the fix remove?"
points = 10
unit = "pp"
min = 0
max = 100
visibility = "applicant"
bands = [{ within = 1, credit = 1 }, { within = 3, credit = 0.5 }]

[[items]]
id = "plan"
kind = "long_text"
title = "Plan"
prompt = "Describe your plan."
criteria = ["reasoning"]

[[items]]
id = "caveat"
kind = "short_text"
title = "Caveat"
prompt = "One caveat, briefly."
max_words = 5
"""

KEY_TOML = """
[best_support]
correct = "b"
why = "Only b separates the probe from the model."

[best_next]
credit = { b = 1.0, a = 0.5 }

[confounds]
correct = ["length", "token"]

[confounds_exact]
correct = ["x", "z"]

[followups]
order = ["a", "b", "c", "d"]

[followups_k]
order = ["a", ["b", "c"], "d"]

[forecasts]
outcomes = { layer0 = "probe_controls.layer0_high", untrained = false }

[winner]
happened = "probe_controls.winner"

[effect]
value = "no_leak.asr_reduction_pp"
"""

OUTCOMES = {
    "probe_controls": {"outcomes": {"layer0_high": True, "winner": "patch"}},
    "no_leak": {"outcomes": {"asr_reduction_pp": 12.0}, "tolerance": {"asr_reduction_pp": 0.5}},
}

RUBRIC_TOML = """
[[criteria]]
id = "reasoning"
name = "Reasoning"
max_score = 10
[[criteria.levels]]
score = 0
descriptor = "None."
[[criteria.levels]]
score = 10
descriptor = "Sound."

[[criteria]]
id = "clarity"
name = "Clarity"
max_score = 5
[[criteria.levels]]
score = 0
descriptor = "Unclear."
[[criteria.levels]]
score = 5
descriptor = "Clear."
"""

TASK_TOML = """
id = "rt-fixture"
title = "Fixture: research taste"
kind = "research-taste"
version = "1.0.0"
summary = "A small research-taste task for the tests."

[scoring]
max_score = 100
automatic_weight = 0.6
"""

# A sample answer, scored by hand (points x credit):
#   best_support    a, key b (exact)                                   0   x 10 = 0
#   best_next       a, credit {b: 1, a: 0.5}                           0.5 x 10 = 5
#   confounds       length, token, topic vs {length, token}: (2-1)/2   0.5 x 15 = 7.5
#   confounds_exact x, z = the key                                     1   x 5  = 5
#   followups       b, a, c, d vs a..d: rho = 1 - 6*2/60 = 0.8         0.8 x 20 = 16
#   followups_k     b, a, c, d vs a, [b, c], d: tau_b 3/sqrt(30),
#                   r_max 5/sqrt(30) -> 3/5                            0.6 x 10 = 6
#   forecasts       layer0 .8 (yes): 1 - .04 = .96; untrained .3 (no):
#                   1 - .09 = .91; mean .935                         .935 x 10 = 9.35
#   winner          patch .5 (happened): 1 - ln .5 / ln .01 = .849485  x 10 = 8.494850
#   effect          14 vs 12: off by 2, in the 3-wide band: 0.5        0.5 x 10 = 5
# total = 5 + 7.5 + 5 + 16 + 6 + 9.35 + 8.494850 + 5 = 62.344850
SAMPLE_ANSWERS = """
[best_support]
choice = "a"
[best_next]
choice = "a"
[confounds]
choices = ["length", "token", "topic"]
[confounds_exact]
choices = ["z", "x"]
[followups]
ranking = ["b", "a", "c", "d"]
[followups_k]
ranking = ["b", "a", "c", "d"]
[forecasts]
layer0 = 0.8
untrained = 0.3
[winner]
probe = 0.25
patch = 0.5
sae = 0.25
[effect]
value = 14
[plan]
text = "First run the control task, then more seeds."
"""
WINNER_CREDIT = 1 - math.log(0.5) / math.log(0.01)  # 0.849485
SAMPLE_SCORES = {
    "best_support": 0.0,
    "best_next": 5.0,
    "confounds": 7.5,
    "confounds_exact": 5.0,
    "followups": 16.0,
    "followups_k": 6.0,
    "forecasts": 9.35,
    "winner": round(10 * WINNER_CREDIT, 6),
    "effect": 5.0,
}
SAMPLE_TOTAL = 62.34485

# The key's best answers: full marks on every automatic item.
PERFECT_ANSWERS = """
[best_support]
choice = "b"
[best_next]
choice = "b"
[confounds]
choices = ["length", "token"]
[confounds_exact]
choices = ["x", "z"]
[followups]
ranking = ["a", "b", "c", "d"]
[followups_k]
ranking = ["a", "c", "b", "d"]
[forecasts]
layer0 = 1.0
untrained = 0.0
[winner]
probe = 0
patch = 1
sae = 0
[effect]
value = 12.0
"""


def write_task(
    root: Path,
    *,
    questions: str = QUESTIONS_TOML,
    key: str = KEY_TOML,
    outcomes: dict[str, Any] | None = None,
    rubric: str | None = RUBRIC_TOML,
) -> Path:
    """A research-taste task folder named rt-fixture under `root`."""
    task = root / "rt-fixture"
    (task / "starter").mkdir(parents=True)
    (task / "solution").mkdir()
    (task / "grading" / "answers" / "outcomes").mkdir(parents=True)
    (task / "task.toml").write_text(TASK_TOML)
    (task / "instructions.md").write_text("# Fixture\n")
    (task / "questions.toml").write_text(questions)
    (task / "grading" / "answers" / "key.toml").write_text(key)
    for name, record in (OUTCOMES if outcomes is None else outcomes).items():
        (task / "grading" / "answers" / "outcomes" / f"{name}.json").write_text(json.dumps(record))
    if rubric is not None:
        (task / "rubric.toml").write_text(rubric)
    return task


def questions_from(text: str = QUESTIONS_TOML) -> Questions:
    return parse_questions(tomllib.loads(text), Path("questions.toml"))


@pytest.fixture
def questions() -> Questions:
    return questions_from()


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    return write_task(tmp_path)


def answers_of(questions: Questions, text: str) -> dict[str, Any]:
    return parse_answers(tomllib.loads(text), questions).values


def one_line(msg: str) -> str:
    assert "\n" not in msg, f"not one line: {msg!r}"
    return msg


# ----------------------------------------------------------------------------- questions.toml


def test_questions_load(task_dir: Path) -> None:
    rubric = Rubric.model_validate(tomllib.loads(RUBRIC_TOML))
    q = load_questions(task_dir / "questions.toml", max_score=100, rubric=rubric)
    assert [i.id for i in q.items][:3] == ["best_support", "best_next", "confounds"]
    assert q.max_score == 100  # 10 + 10 + 15 + 5 + 20 + 10 + 10 + 10 + 10
    assert [i.id for i in q.scored()] == [
        "best_support",
        "best_next",
        "confounds",
        "confounds_exact",
        "followups",
        "followups_k",
        "forecasts",
        "winner",
        "effect",
    ]
    assert [t.id for t in q.texts()] == ["plan", "caveat"]
    assert all(not t.automatic for t in q.texts())
    assert q.item("caveat").word_limit == 5  # type: ignore[union-attr]
    assert q.item("plan").word_limit == 1500  # type: ignore[union-attr]  # long_text default
    # defaults: single choice exact, multiple choice partial, ranking spearman, forecast brier
    assert q.item("best_support").rule == "exact"  # type: ignore[union-attr]
    assert q.item("confounds").rule == "partial"  # type: ignore[union-attr]
    assert q.item("followups").rule == "spearman"  # type: ignore[union-attr]
    assert q.item("forecasts").rule == "brier"  # type: ignore[union-attr]
    assert q.answers_file == "answers.toml"


def _item(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "q1", "title": "T", "prompt": "P"}
    return base | fields


def _choice(**fields: Any) -> dict[str, Any]:
    return _item(kind="single_choice", points=5, options={"a": "A", "b": "B"}) | fields


def _number(**fields: Any) -> dict[str, Any]:
    return _item(kind="number", points=5, bands=[{"within": 1, "credit": 1}]) | fields


def _forecast(**fields: Any) -> dict[str, Any]:
    return _item(kind="forecast", points=5, outcomes={"x": "X", "y": "Y"}) | fields


@pytest.mark.parametrize(
    ("items", "item", "field", "message"),
    [
        ([_choice(id="Bad")], "Bad", "id", "should match pattern"),
        ([_choice(id="1abc")], "1abc", "id", "should match pattern"),
        ([_choice(options={"A": "x", "b": "y"})], "q1", "options", "option id 'A' must match"),
        ([_choice(options={"a": "x"})], "q1", "options", "needs at least 2 options, got 1"),
        ([_choice(points=0)], "q1", "points", "greater than 0"),
        ([_choice(points=-3)], "q1", "points", "greater than 0"),
        ([_choice(rule="partial")], "q1", "rule", "'exact' or 'option_credit'"),
        ([_choice(kind="essay")], "q1", "kind", "unknown kind; expected one of single_choice"),
        ([_item(points=1)], "q1", "kind", "required field 'kind' is missing"),
        ([_choice(colour="red")], "q1", "colour", "unknown field"),
        ([_choice(title="")], "q1", "title", "at least 1 character"),
        (
            [_item(kind="ranking", points=5, options={"a": "A", "b": "B"})],
            "q1",
            "options",
            "needs at least 3 options",
        ),
        ([_item(kind="short_text", points=5)], "q1", "points", "unknown field"),
        ([_choice(options=None)], "q1", "options", "valid dictionary"),
        ([_number(bands=[])], "q1", "bands", "at least 1 item"),
        (
            [_number(bands=[{"within": 2, "credit": 1}, {"within": 1, "credit": 0.5}])],
            "q1",
            "bands",
            "'within' must strictly increase",
        ),
        (
            [_number(bands=[{"within": 1, "credit": 0.5}, {"within": 2, "credit": 1}])],
            "q1",
            "bands",
            "'credit' must strictly decrease",
        ),
        ([_number(bands=[{"within": 1, "credit": 1.5}])], "q1", "bands.0.credit", "less than"),
        ([_number(min=5, max=5)], "q1", "max", "min must be below max"),
        ([_forecast(outcomes={"x": "X"}, exclusive=True)], "q1", "exclusive", "at least 2"),
        ([_forecast(outcomes={})], "q1", "outcomes", "needs at least 1 outcome"),
        ([_forecast(clip=0.5)], "q1", "clip", "less than 0.5"),
        ([_forecast(rule="spearman")], "q1", "rule", "'brier' or 'log'"),
        # the second item is named by its own id and index
        ([_choice(), _choice(id="q2", points="many")], "q2", "points", "valid number"),
    ],
)
def test_questions_errors_name_item_and_field(
    tmp_path: Path, items: list[dict[str, Any]], item: str, field: str, message: str
) -> None:
    path = tmp_path / "questions.toml"
    path.write_text("")  # read_toml is not under test here: parse_questions is given the data
    with pytest.raises(TaskSpecError) as e:
        parse_questions({"items": items}, path)
    msg = one_line(str(e.value))
    index = [i.get("id") for i in items].index(item)
    assert msg.startswith(f"{path}: item {item!r} (items[{index}]), field '{field}': "), msg
    assert message in msg
    assert "(and " not in msg  # one problem, reported once


def test_questions_error_on_an_item_without_id(tmp_path: Path) -> None:
    data = {"items": [{"kind": "short_text", "title": "T", "prompt": "P"}]}
    with pytest.raises(TaskSpecError, match=r"items\[0\], field 'id': required field is missing"):
        parse_questions(data, tmp_path / "questions.toml")


def test_questions_duplicate_ids(tmp_path: Path) -> None:
    data = {"items": [_choice(), _choice()]}
    with pytest.raises(TaskSpecError, match="item id 'q1' is used twice"):
        parse_questions(data, tmp_path / "questions.toml")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"items": []}, "items"),
        ({}, "items"),
        ({"items": [_choice()], "answers_file": "answers.yaml"}, "answers_file"),
        ({"items": [_choice()], "answers_file": "../answers.toml"}, "answers_file"),
        ({"items": [_choice()], "extra": 1}, "extra"),
    ],
)
def test_questions_top_level_errors(tmp_path: Path, data: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskSpecError) as e:
        parse_questions(data, tmp_path / "questions.toml")
    assert one_line(str(e.value)).startswith(f"{tmp_path / 'questions.toml'}: field '{field}': ")


def test_questions_points_must_add_up_to_max_score(task_dir: Path) -> None:
    rubric = Rubric.model_validate(tomllib.loads(RUBRIC_TOML))
    path = task_dir / "questions.toml"
    with pytest.raises(TaskSpecError) as e:
        load_questions(path, max_score=90, rubric=rubric)
    msg = one_line(str(e.value))
    assert msg.startswith(f"{path}: ")
    assert "the automatic items' points add up to 100" in msg
    assert "scoring.max_score = 90" in msg
    # within rounding tolerance it loads
    assert load_questions(path, max_score=100.0000000001, rubric=rubric).max_score == 100


def test_questions_text_item_criterion_must_exist_in_rubric(task_dir: Path) -> None:
    text = QUESTIONS_TOML.replace('criteria = ["reasoning"]', 'criteria = ["rigour"]')
    (task_dir / "questions.toml").write_text(text)
    rubric = Rubric.model_validate(tomllib.loads(RUBRIC_TOML))
    with pytest.raises(TaskSpecError) as e:
        load_questions(task_dir / "questions.toml", rubric=rubric)
    msg = one_line(str(e.value))
    assert "item 'plan', field 'criteria': 'rigour' is not a criterion in rubric.toml" in msg
    assert "no rubric.toml" not in msg
    # without any rubric the message says so
    (task_dir / "questions.toml").write_text(QUESTIONS_TOML)
    with pytest.raises(TaskSpecError, match=r"'reasoning'.*\(the task has no rubric.toml\)"):
        load_questions(task_dir / "questions.toml", rubric=None)


def test_questions_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "questions.toml"
    path.write_text("[[items]\nid = ")
    with pytest.raises(TaskSpecError, match=r"questions.toml: invalid TOML"):
        load_questions(path)


# ----------------------------------------------------------------------------- the key


def test_key_resolves_every_kind(task_dir: Path, questions: Questions) -> None:
    key = load_key(task_dir, questions)
    e = key.entries
    assert e["best_support"] == ChoiceKey(
        credit={"b": 1.0}, why="Only b separates the probe from the model."
    )
    assert e["best_next"] == ChoiceKey(credit={"b": 1.0, "a": 0.5})
    assert e["confounds"] == SetKey(correct=frozenset({"length", "token"}))
    assert isinstance(e["followups"], RankKey)
    assert e["followups"].ranks == {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    # a, [b, c], d: the tie shares (2 + 3) / 2 = 2.5
    assert isinstance(e["followups_k"], RankKey)
    assert e["followups_k"].ranks == {"a": 1.0, "b": 2.5, "c": 2.5, "d": 4.0}
    # layer0 cites probe_controls.layer0_high = true; untrained is a literal false
    assert e["forecasts"] == ForecastKey(happened={"layer0": 1.0, "untrained": 0.0})
    # exclusive: happened = probe_controls.winner = "patch"
    assert e["winner"] == ForecastKey(happened={"probe": 0.0, "patch": 1.0, "sae": 0.0})
    assert e["effect"] == NumberKey(value=12.0)
    assert key.sources["forecasts"] == ["probe_controls.layer0_high"]
    assert key.sources["winner"] == ["probe_controls.winner"]
    assert key.sources["effect"] == ["no_leak.asr_reduction_pp"]
    assert key.sources["best_support"] == []


def test_key_ranking_order_by_measured_values(tmp_path: Path) -> None:
    q = questions_from(QUESTIONS_TOML)
    outcomes = dict(OUTCOMES)
    # d 0.9 > b 0.7 > a 0.5 = c 0.5 (equal values tie): order d, b, [a, c]
    # ranks d 1, b 2, a and c (3 + 4) / 2 = 3.5
    outcomes["study"] = {
        "outcomes": {"va": 0.5, "vb": 0.7, "vc": 0.5, "vd": 0.9},
        "tolerance": {"va": 0.01, "vb": 0.01, "vc": 0.01, "vd": 0.01},
    }
    key = KEY_TOML.replace(
        'order = ["a", "b", "c", "d"]',
        'order_by = { a = "study.va", b = "study.vb", c = "study.vc", d = "study.vd" }',
    )
    task = write_task(tmp_path, key=key, outcomes=outcomes)
    entry = load_key(task, q).entries["followups"]
    assert isinstance(entry, RankKey)
    assert entry.ranks == {"d": 1.0, "b": 2.0, "a": 3.5, "c": 3.5}
    assert entry.values == {"a": 0.5, "b": 0.7, "c": 0.5, "d": 0.9}
    # descending = false: smallest first -> [a, c], b, d -> ranks 1.5, 1.5, 3, 4
    key_asc = key.replace('d = "study.vd" }', 'd = "study.vd" }\ndescending = false', 1)
    (task / "grading/answers/key.toml").write_text(key_asc)
    entry = load_key(task, q).entries["followups"]
    assert isinstance(entry, RankKey)
    assert entry.ranks == {"a": 1.5, "c": 1.5, "b": 3.0, "d": 4.0}


def _key_error(tmp_path: Path, key: str, outcomes: dict[str, Any] | None = None) -> str:
    task = write_task(tmp_path, key=key, outcomes=outcomes)
    with pytest.raises(TaskSpecError) as e:
        load_key(task, questions_from())
    msg = one_line(str(e.value))
    assert msg.startswith(str(task / "grading/answers/key.toml")) or "outcomes" in msg, msg
    return msg


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('correct = "b"', 'correct = "e"', "item 'best_support', field 'correct': 'e' is not an"),
        ('correct = "b"', 'correct = ["b"]', "item 'best_support', field 'correct': required"),
        ('correct = "b"', "credit = { b = 1.0 }", "item 'best_support', field 'credit': not used"),
        ("b = 1.0, a = 0.5", "b = 1.0, a = 1.5", "field 'credit': credit 1.5 for 'a' is outside"),
        ("b = 1.0, a = 0.5", "b = 0.8, a = 0.5", "field 'credit': the best option must earn 1"),
        ("b = 1.0, a = 0.5", "b = 1.0, z = 0.5", "field 'credit': 'z' is not an option"),
        ('["length", "token"]', '["length", "bogus"]', "'bogus' is not an option of the item"),
        ('["length", "token"]', '["length", "length"]', "an option is listed twice"),
        ('["length", "token"]', "[]", "item 'confounds', field 'correct': needs at least one"),
        ('["x", "z"]', "[]", "item 'confounds_exact', field 'correct': needs at least one"),
        ('["a", "b", "c", "d"]', '["a", "b", "c"]', "field 'order': option 'd' is missing"),
        ('["a", "b", "c", "d"]', '["a", "b", "c", "d", "a"]', "field 'order': 'a' appears twice"),
        ('["a", "b", "c", "d"]', '["a", "b", "c", "e"]', "field 'order': 'e' is not an option"),
        ('["a", "b", "c", "d"]', '[["a", "b", "c", "d"]]', "every option is tied"),
        (
            'order = ["a", "b", "c", "d"]',
            'order = ["a", "b", "c", "d"]\norder_by = { a = "no_leak.asr_reduction_pp" }',
            "give exactly one of 'order' and 'order_by'",
        ),
        (
            ", untrained = false",
            "",
            "item 'forecasts', field 'outcomes': no entry for outcome 'untrained'",
        ),
        ("untrained = false", "untrained = false, x = true", "'x' is not an outcome of the item"),
        ("untrained = false", 'untrained = "no_leak.asr_reduction_pp"', "is 12.0, not true/false"),
        ("untrained = false", 'untrained = "nothing.here"', "no recorded outcomes"),
        ("untrained = false", 'untrained = "no_leak.missing"', "no_leak.json has no outcome"),
        ("untrained = false", 'untrained = "not a ref"', "is not a reference 'script.outcome'"),
        ('happened = "probe_controls.winner"', 'happened = "lasso"', "'lasso' is not an outcome"),
        (
            'happened = "probe_controls.winner"',
            "outcomes = { probe = true, patch = false, sae = false }",
            "item 'winner', field 'outcomes': an exclusive forecast's key is 'happened'",
        ),
        (
            'value = "no_leak.asr_reduction_pp"',
            'value = "probe_controls.layer0_high"',
            "item 'effect', field 'value': 'probe_controls.layer0_high' is True, not a number",
        ),
        ('value = "no_leak.asr_reduction_pp"', "value = nan", "field 'value': must be a finite"),
        ('why = "Only b', 'wy = "Only b', "item 'best_support', field 'wy': Extra inputs"),
    ],
)
def test_key_errors_name_item_and_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in KEY_TOML
    assert expected in _key_error(tmp_path, KEY_TOML.replace(old, new, 1))


def test_key_missing_and_unknown_entries(tmp_path: Path) -> None:
    no_effect = KEY_TOML.replace('[effect]\nvalue = "no_leak.asr_reduction_pp"', "")
    assert "item 'effect' has no key entry" in _key_error(tmp_path / "1", no_effect)
    extra = KEY_TOML + '\n[nonesuch]\ncorrect = "a"\n'
    assert "item 'nonesuch' is not in questions.toml" in _key_error(tmp_path / "2", extra)
    text = KEY_TOML + '\n[plan]\ncorrect = "a"\n'
    assert "item 'plan' is a text item: reviewers score it" in _key_error(tmp_path / "3", text)


def test_key_relative_number_needs_nonzero_value(tmp_path: Path) -> None:
    q_text = QUESTIONS_TOML.replace('unit = "pp"', 'unit = "pp"\nrelative = true')
    task = write_task(
        tmp_path,
        questions=q_text,
        key=KEY_TOML.replace('value = "no_leak.asr_reduction_pp"', "value = 0"),
    )
    with pytest.raises(TaskSpecError, match="field 'value': relative bands need a non-zero"):
        load_key(task, questions_from(q_text))


def test_key_order_by_values_within_tolerance_are_refused(tmp_path: Path) -> None:
    # b 0.70 and a 0.68 differ by 0.02 <= 0.01 + 0.015: a re-run could swap them
    outcomes = dict(OUTCOMES)
    outcomes["study"] = {
        "outcomes": {"va": 0.68, "vb": 0.70, "vc": 0.1, "vd": 0.9},
        "tolerance": {"va": 0.015, "vb": 0.01, "vc": 0.01, "vd": 0.01},
    }
    key = KEY_TOML.replace(
        'order = ["a", "b", "c", "d"]',
        'order_by = { a = "study.va", b = "study.vb", c = "study.vc", d = "study.vd" }',
    )
    msg = _key_error(tmp_path, key, outcomes)
    assert "item 'followups', field 'order_by': 'b' (0.7) and 'a' (0.68)" in msg
    assert "tolerances" in msg


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"outcomes": {"acc": 0.9}}, "numeric outcome 'acc' has no entry in 'tolerance'"),
        ({"outcomes": {"ok": True}, "tolerance": {"ok": 0.1}}, "'ok', not a numeric outcome"),
        ({"outcomes": {"Bad-Name": True}}, "outcome name 'Bad-Name' must match"),
        ({"outcomes": {"ok": True}, "extra": 1}, "field 'extra'"),
        ("not json", "not valid JSON"),
    ],
)
def test_outcome_record_errors(tmp_path: Path, record: Any, expected: str) -> None:
    task = write_task(tmp_path)
    path = task / "grading/answers/outcomes/no_leak.json"
    path.write_text(record if isinstance(record, str) else json.dumps(record))
    with pytest.raises(TaskSpecError) as e:
        load_key(task, questions_from())
    msg = one_line(str(e.value))
    assert msg.startswith(str(path))
    assert expected in msg


def test_key_file_missing(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    (task / "grading/answers/key.toml").unlink()
    with pytest.raises(TaskSpecError, match=r"missing required file grading/answers/key.toml"):
        load_key(task, questions_from())


# ----------------------------------------------------------------------------- answers


def test_answers_parse_every_kind(questions: Questions) -> None:
    values = answers_of(questions, SAMPLE_ANSWERS)
    assert values["best_support"] == "a"
    assert values["confounds"] == frozenset({"length", "token", "topic"})
    assert values["followups"] == ("b", "a", "c", "d")
    assert values["forecasts"] == {"layer0": 0.8, "untrained": 0.3}
    assert values["winner"] == {"probe": 0.25, "patch": 0.5, "sae": 0.25}
    assert values["effect"] == 14.0
    assert isinstance(values["effect"], float)  # an int in TOML is a float answer
    plan = values["plan"]
    assert isinstance(plan, TextAnswer)
    assert plan.words == 8  # "First run the control task, then more seeds."
    assert plan.source == "answers.toml"
    assert values["caveat"] is None  # not in the file


def test_answers_empty_file_is_all_unanswered(questions: Questions) -> None:
    answers = parse_answers({}, questions)
    assert answers.answered() == []
    assert answers.unanswered() == [i.id for i in questions.items]


def test_answers_missing_items_are_unanswered_and_score_zero(
    task_dir: Path, questions: Questions
) -> None:
    answers = parse_answers(tomllib.loads('[best_support]\nchoice = "b"\n'), questions)
    assert answers.answered() == ["best_support"]
    assert "effect" in answers.unanswered()
    checks = score_answers(questions, load_key(task_dir, questions), answers)
    by_id = {c.id: c for c in checks}
    assert by_id["best_support"].score == 10.0
    assert by_id["effect"].score == 0.0
    assert by_id["effect"].feedback == "not answered"
    assert sum(c.score for c in checks) == 10.0


@pytest.mark.parametrize(
    "empty",
    [
        '[best_support]\nchoice = ""',
        "[confounds]\nchoices = []",
        "[followups]\nranking = []",
        "[forecasts]",
        "[effect]",
        "[plan]\ntext = '''\n   \n'''",
        "[plan]\ntext = ''",
    ],
)
def test_answers_empty_values_are_unanswered(questions: Questions, empty: str) -> None:
    answers = parse_answers(tomllib.loads(empty), questions)
    assert answers.answered() == []


def test_answers_exclusive_forecast_near_one_is_normalised(questions: Questions) -> None:
    # 0.3 + 0.3 + 0.395 = 0.995: within 0.01 of 1, rescaled by 1/0.995
    values = answers_of(questions, "[winner]\nprobe = 0.3\npatch = 0.3\nsae = 0.395\n")
    assert values["winner"]["probe"] == pytest.approx(0.3 / 0.995)
    assert sum(values["winner"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "item", "expected"),
    [
        ('[best_support]\nchoice = "e"', "best_support", "unknown option id 'e' (allowed: \"a\""),
        ("[best_support]\nchoice = 1", "best_support", "'choice' must be one option id"),
        ('[best_support]\nchoices = ["a"]', "best_support", "unknown field 'choices'"),
        ('best_support = "b"', "best_support", "expected a table [best_support], got str"),
        ('[confounds]\nchoices = ["length", "nope"]', "confounds", "unknown option id 'nope'"),
        ('[confounds]\nchoices = "length"', "confounds", "'choices' must be a list of option ids"),
        (
            '[confounds]\nchoices = ["token", "length", "token"]',
            "confounds",
            "option id 'token' is given more than once",
        ),
        (
            '[followups]\nranking = ["a", "b", "b", "c", "d"]',
            "followups",
            "option id 'b' is given more than once",
        ),
        (
            '[followups]\nranking = ["a", "b", "c"]',
            "followups",
            'the ranking must list every option once; missing "d"',
        ),
        ('[followups]\nranking = ["a", "b", "c", "e"]', "followups", "unknown option id 'e'"),
        ("[followups]\nranking = [1, 2, 3, 4]", "followups", "must be a list of option ids"),
        ("[forecasts]\nlayer0 = 70\nuntrained = 0.5", "forecasts", "probability 70 for 'layer0'"),
        ("[forecasts]\nlayer0 = 70\nuntrained = 0.5", "forecasts", "(write 0.7, not 70)"),
        ("[forecasts]\nlayer0 = -0.1\nuntrained = 0.5", "forecasts", "-0.1 for 'layer0' is outsi"),
        ("[forecasts]\nlayer0 = 1.5\nuntrained = 0.5", "forecasts", "1.5 for 'layer0' is outside"),
        ("[forecasts]\nlayer0 = 0.5", "forecasts", 'no probability for "untrained"'),
        ("[forecasts]\nlayer0 = 0.5\nuntrained = 0.5\nx = 0.1", "forecasts", "unknown field 'x'"),
        ('[forecasts]\nlayer0 = "high"\nuntrained = 0.5', "forecasts", "must be a number, got"),
        ("[forecasts]\nlayer0 = true\nuntrained = 0.5", "forecasts", "must be a number, got True"),
        ("[forecasts]\nlayer0 = nan\nuntrained = 0.5", "forecasts", "must be a finite number"),
        (
            "[winner]\nprobe = 0.5\npatch = 0.3\nsae = 0.0",
            "winner",
            "the outcomes are exclusive: probabilities must sum to 1, not 0.8",
        ),
        (
            "[winner]\nprobe = 0.5\npatch = 0.5\nsae = 0.5",
            "winner",
            "probabilities must sum to 1, not 1.5",
        ),
        ("[effect]\nvalue = inf", "effect", "'value' must be a finite number"),
        ("[effect]\nvalue = nan", "effect", "'value' must be a finite number"),
        ('[effect]\nvalue = "12"', "effect", "'value' must be a number, got '12'"),
        ("[effect]\nvalue = -1", "effect", "value -1 is below the allowed minimum 0"),
        ("[effect]\nvalue = 101", "effect", "value 101 is above the allowed maximum 100"),
        ("[caveat]\ntext = 'one two three four five six'", "caveat", "6 words; at most 5"),
        ("[caveat]\ntext = 'a'\nfile = 'c.md'", "caveat", "give 'text' or 'file', not both"),
        ("[caveat]\ntext = 3", "caveat", "'text' must be a string"),
        ("[caveat]\nfile = 'c.md'", "caveat", "'file' is not supported here"),
        ("[caveat]\nfile = '../c.md'", "caveat", "must be a relative path inside the submission"),
        ("[caveat]\nfile = '/etc/passwd'", "caveat", "must be a relative path inside"),
    ],
)
def test_answers_invalid_one_line_naming_the_item(
    questions: Questions, text: str, item: str, expected: str
) -> None:
    with pytest.raises(AnswersError) as e:
        parse_answers(tomllib.loads(text), questions)
    msg = one_line(str(e.value))
    assert msg.startswith(f"answers.toml: item '{item}': "), msg
    assert expected in msg, msg


def test_answers_unknown_item_and_non_table(questions: Questions) -> None:
    with pytest.raises(AnswersError) as e:
        parse_answers({"best_suport": {"choice": "b"}}, questions)
    msg = one_line(str(e.value))
    assert "unknown item 'best_suport'" in msg
    assert '"best_support"' in msg  # lists the real ids
    with pytest.raises(AnswersError, match="expected a table per item at the top level"):
        parse_answers(["b"], questions)


def test_answers_text_from_a_file_in_the_submission(tmp_path: Path, questions: Questions) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "plan.md").write_text("Run a control first.\n")
    data = {"plan": {"file": "notes/plan.md"}}
    plan = parse_answers(data, questions, root=tmp_path).values["plan"]
    assert plan == TextAnswer(text="Run a control first.\n", source="notes/plan.md", words=4)
    with pytest.raises(AnswersError, match=r"item 'plan': 'file' 'other.md' is not in the sub"):
        parse_answers({"plan": {"file": "other.md"}}, questions, root=tmp_path)
    (tmp_path / "bin.md").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AnswersError, match=r"'bin.md' is not UTF-8 text"):
        parse_answers({"plan": {"file": "bin.md"}}, questions, root=tmp_path)


def test_text_limits_count_characters_as_well_as_words(
    tmp_path: Path, questions: Questions
) -> None:
    """One 990 KB "word" passes a word count but not the character cap derived from it."""
    caveat, plan = questions.item("caveat"), questions.item("plan")
    assert isinstance(caveat, Text) and isinstance(plan, Text)
    assert (caveat.char_limit, plan.char_limit) == (5 * CHARS_PER_WORD, 1500 * CHARS_PER_WORD)
    at_limit = "x" * caveat.char_limit
    assert answers_of(questions, f"[caveat]\ntext = '{at_limit}'")["caveat"].words == 1
    with pytest.raises(AnswersError) as e:
        answers_of(questions, f"[caveat]\ntext = '{at_limit}x'")
    assert one_line(str(e.value)) == (
        "answers.toml: item 'caveat': 61 characters; at most 60 are allowed "
        "(12 per allowed word, spaces included)"
    )
    (tmp_path / "answers.toml").write_text(f"[plan]\ntext = '{'a' * 990_000}'\n")
    with pytest.raises(AnswersError, match=r"item 'plan': 990000 characters; at most 18000"):
        read_answers(tmp_path, questions)
    (tmp_path / "plan.md").write_text("word " * 1000 + "x" * 15_000)  # from a file, too
    with pytest.raises(AnswersError, match=r"item 'plan': 20000 characters; at most 18000"):
        parse_answers({"plan": {"file": "plan.md"}}, questions, root=tmp_path)


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("answers.toml", "[effect]\nvalue = " + "1" * 20_000 + "\n", "TOML"),
        ("answers.json", '{"effect": {"value": ' + "1" * 20_000 + "}}", "JSON"),
        ("answers.toml", "[effect]\nvalue = = 3\n", "TOML"),
        ("answers.toml", "[a]\nb = " + "[" * 5000 + "]" * 5000 + "\n", "TOML"),
    ],
)
def test_parse_errors_name_the_real_format_in_one_line(
    tmp_path: Path, name: str, text: str, kind: str
) -> None:
    """A huge integer in TOML used to be reported as "not valid JSON: Exceeds the limit..."."""
    (tmp_path / name).write_text(text)
    with pytest.raises(AnswersError) as e:
        load_answers_data(tmp_path / name)
    msg = one_line(str(e.value))
    assert msg.startswith(f"{name}: not valid {kind}: "), msg
    assert "set_int_max_str_digits" not in msg and len(msg) < 260, msg
    if "1" * 100 in text:
        assert msg.endswith("a number has more than 4300 digits"), msg


def test_answers_file_reading(tmp_path: Path, questions: Questions) -> None:
    with pytest.raises(AnswersError, match=r"answers.toml: not found in the submission"):
        read_answers(tmp_path, questions)
    (tmp_path / "answers.toml").write_text("[best_support\n")
    with pytest.raises(AnswersError, match=r"answers.toml: not valid TOML"):
        read_answers(tmp_path, questions)
    (tmp_path / "answers.toml").write_text('[best_support]\nchoice = "b"\n')
    assert read_answers(tmp_path, questions).values["best_support"] == "b"
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_ANSWERS_BYTES)
    with pytest.raises(AnswersError, match="more than the 1000000 allowed"):
        load_answers_data(big)
    bad_json = tmp_path / "a.json"
    bad_json.write_text("{")
    with pytest.raises(AnswersError, match=r"a.json: not valid JSON"):
        load_answers_data(bad_json)


def test_answers_json_file(tmp_path: Path) -> None:
    q = questions_from('answers_file = "answers.json"\n' + QUESTIONS_TOML)
    (tmp_path / "answers.json").write_text(
        json.dumps({"best_support": {"choice": "b"}, "effect": {"value": 11.5}})
    )
    answers = read_answers(tmp_path, q)
    assert answers.file == "answers.json"
    assert answers.values["best_support"] == "b"
    assert answers.values["effect"] == 11.5
    # JSON allows NaN; it is still not a finite number
    (tmp_path / "answers.json").write_text('{"effect": {"value": NaN}}')
    with pytest.raises(AnswersError, match=r"answers.json: item 'effect': 'value' must be a fin"):
        read_answers(tmp_path, q)


# ----------------------------------------------------------------------------- scoring


def test_score_sample_answers_by_hand(task_dir: Path, questions: Questions) -> None:
    key = load_key(task_dir, questions)
    checks = score_answers(questions, key, parse_answers(tomllib.loads(SAMPLE_ANSWERS), questions))
    assert [c.id for c in checks] == list(SAMPLE_SCORES)  # automatic items only, in order
    for check in checks:
        assert check.score == pytest.approx(SAMPLE_SCORES[check.id], abs=1e-6), check.id
        assert check.max_score == questions.item(check.id).points_or_zero
    assert sum(c.score for c in checks) == pytest.approx(SAMPLE_TOTAL, abs=1e-5)


def test_score_perfect_answers_earn_full_marks(task_dir: Path, questions: Questions) -> None:
    key = load_key(task_dir, questions)
    answers = parse_answers(tomllib.loads(PERFECT_ANSWERS), questions)
    checks = score_answers(questions, key, answers)
    # followups_k answers a, c, b, d: consistent with the key's tie [b, c] -> credit 1
    # forecasts 1/0 on what happened: Brier 1; winner patch = 1: log 1 - ln 1 / ln .01 = 1
    assert {c.id: c.score for c in checks} == {c.id: c.max_score for c in checks}
    assert sum(c.score for c in checks) == pytest.approx(100.0)


def test_score_confident_wrong_forecasts_earn_zero_not_minus_infinity(
    task_dir: Path, questions: Questions
) -> None:
    q_text = QUESTIONS_TOML.replace(
        'id = "forecasts"\nkind = "forecast"', 'id = "forecasts"\nkind = "forecast"\nrule = "log"'
    )
    q = questions_from(q_text)
    key = load_key(task_dir, q)
    # layer0 happened but got 0; untrained did not happen but got 1; winner patch got 0
    text = "[forecasts]\nlayer0 = 0\nuntrained = 1\n[winner]\nprobe = 1\npatch = 0\nsae = 0\n"
    checks = {c.id: c for c in score_answers(q, key, parse_answers(tomllib.loads(text), q))}
    for item in ("forecasts", "winner"):
        assert math.isfinite(checks[item].score)
        assert checks[item].score == 0.0
    # the same answers under Brier: (1 - 1^2 + 1 - 1^2) / 2 = 0 and 1 - (1 + 1) / 2 = 0
    checks = {
        c.id: c
        for c in score_answers(questions, key, parse_answers(tomllib.loads(text), questions))
    }
    assert checks["forecasts"].score == 0.0
    assert checks["winner"].score == 0.0


def test_score_log_binary_half_and_half(task_dir: Path) -> None:
    q_text = QUESTIONS_TOML.replace(
        'id = "forecasts"\nkind = "forecast"', 'id = "forecasts"\nkind = "forecast"\nrule = "log"'
    )
    q = questions_from(q_text)
    key = load_key(task_dir, q)
    # layer0 (happened) 0.5: ln 50 / ln 99 = 0.851342; untrained (not) 0.5: the same
    # mean 0.851342 x 10 points = 8.513421
    text = "[forecasts]\nlayer0 = 0.5\nuntrained = 0.5\n"
    (check,) = [c for c in score_answers(q, key, parse_answers(tomllib.loads(text), q))][6:7]
    assert check.id == "forecasts"
    assert check.score == pytest.approx(10 * math.log(50) / math.log(99), abs=1e-6)


def test_score_number_relative_bands(task_dir: Path) -> None:
    q_text = QUESTIONS_TOML.replace(
        "bands = [{ within = 1, credit = 1 }, { within = 3, credit = 0.5 }]",
        "relative = true\nbands = [{ within = 0.1, credit = 1 }, { within = 0.25, credit = 0.2 }]",
    )
    q = questions_from(q_text)
    key = load_key(task_dir, q)
    cases = {
        13.2: 10.0,  # |13.2 - 12| / 12 = 0.1: first band edge, 1 x 10
        9.0: 2.0,  # 3 / 12 = 0.25: second band edge, 0.2 x 10
        16.0: 0.0,  # 4 / 12 = 0.333: outside
    }
    for value, expected in cases.items():
        answers = parse_answers({"effect": {"value": value}}, q)
        (check,) = [c for c in score_answers(q, key, answers) if c.id == "effect"]
        assert check.score == pytest.approx(expected), value


def test_feedback_reviewer_sees_key_applicant_does_not(
    task_dir: Path, questions: Questions
) -> None:
    key = load_key(task_dir, questions)
    checks = {
        c.id: c
        for c in score_answers(
            questions, key, parse_answers(tomllib.loads(SAMPLE_ANSWERS), questions)
        )
    }
    # reviewer items (the default) say what the key expected
    assert checks["best_support"].visibility == "reviewer"
    assert checks["best_support"].feedback == "credit 0.00 (chose a; key: b)"
    assert "key: length, token" in checks["confounds"].feedback
    assert "2 of 2 right picks, 1 wrong" in checks["confounds"].feedback
    assert "Spearman rho +0.80" in checks["followups"].feedback
    assert "Kendall tau-b +0.55" in checks["followups_k"].feedback  # 3 / sqrt(30) = 0.5477
    assert "layer0 0.80→yes" in checks["forecasts"].feedback
    # the applicant item (effect) states only the credit, never the reference value
    assert checks["effect"].visibility == "applicant"
    assert checks["effect"].feedback == "credit 0.50"
    assert "12" not in checks["effect"].feedback


def test_feedback_for_applicant_items_never_shows_the_key(
    task_dir: Path, questions: Questions
) -> None:
    key = load_key(task_dir, questions)
    values = parse_answers(tomllib.loads(SAMPLE_ANSWERS), questions).values
    expected = {
        "best_support": "credit 0.00",
        "best_next": "credit 0.50",
        "confounds": "credit 0.50: 2 of 2 right picks, 1 wrong",
        "followups": "credit 0.80: Spearman rho +0.80 against the reference ranking",
        "forecasts": "credit 0.935 (brier rule, 2 outcomes)",
        "winner": "credit 0.849 (log rule, 3 outcomes)",
    }
    for item_id, feedback in expected.items():
        item = questions.item(item_id).model_copy(update={"visibility": "applicant"})
        _, text = score_item(item, key.entries[item_id], values[item_id])  # type: ignore[arg-type]
        assert text == feedback


def test_score_item_reviewer_number_feedback(questions: Questions) -> None:
    item = questions.item("effect").model_copy(update={"visibility": "reviewer"})
    credit, text = score_item(item, NumberKey(value=12.0), 14.0)  # type: ignore[arg-type]
    assert credit == 0.5
    assert text == "credit 0.50: answered 14 pp, reference 12 pp (off by 2 pp)"


def test_score_item_rejects_mismatched_answers(questions: Questions) -> None:
    with pytest.raises(TypeError, match="item confounds"):
        score_item(
            questions.item("confounds"),  # type: ignore[arg-type]
            SetKey(correct=frozenset({"length"})),
            ("length",),
        )


# ----------------------------------------------------------------------------- the template


def fill(template: str, answers: dict[str, list[str]]) -> str:
    """Replace each named item's placeholder lines (up to the next blank line) with `answers`."""
    out: list[str] = []
    skipping = False
    for line in template.splitlines():
        if skipping:
            if line.strip() == "":
                skipping = False
                out.append(line)
            continue
        out.append(line)
        m = re.fullmatch(r"\[([a-z0-9_]+)\]", line)
        if m and m.group(1) in answers:
            out += answers[m.group(1)]
            skipping = True
    return "\n".join(out) + "\n"


def test_template_unfilled_parses_as_all_unanswered_and_scores_zero(
    task_dir: Path, questions: Questions
) -> None:
    text = answers_template(questions, task_id="rt-fixture", version="1.0.0", title="RT")
    answers = parse_answers(tomllib.loads(text), questions)
    assert answers.answered() == []  # the unfilled multiple choice `choices = []` included
    checks = score_answers(questions, load_key(task_dir, questions), answers)
    assert len(checks) == 9
    assert all(c.score == 0.0 and c.feedback == "not answered" for c in checks)


def test_template_content(questions: Questions) -> None:
    text = answers_template(questions, task_id="rt-fixture", version="1.0.0", title="RT")
    assert text.startswith("# answers.toml: your answers to 'RT' (rt-fixture 1.0.0).")
    assert "# Read materials/ first." in text  # the intro
    for item in questions.items:
        assert f"\n[{item.id}]\n" in text
        assert f"# {item.id}: {item.title}" in text
    # each option id with its text, and how each item is scored
    assert '#   "b" The probe fails on an untrained copy of the model.' in text
    assert "(single choice, 10 points; full credit for the right option only)" in text
    assert "(multiple choice, 5 points; full credit only for exactly the right set" in text
    assert "(multiple choice, 15 points; credit = (right picks - wrong picks)" in text
    assert "(ranking, 10 points; Kendall rank correlation" in text
    assert "(number, 10 points; full credit close to the measured value" in text
    assert (
        "(long text, at most 1500 words and 18000 characters, scored by reviewers (reasoning))"
        in text
    )
    assert "(short text, at most 5 words and 60 characters, read by reviewers)" in text
    assert "Exactly one of these happened" in text  # exclusive forecast
    assert "# A number in pp (at least 0, at most 100). Uncomment and replace:" in text
    assert all(len(line) <= 96 for line in text.splitlines())


def test_template_filled_round_trips(task_dir: Path, questions: Questions) -> None:
    template = answers_template(questions, task_id="rt-fixture", version="1.0.0", title="RT")
    filled = fill(
        template,
        {
            "best_support": ['choice = "b"'],
            "confounds": ['choices = ["length", "token"]'],
            "followups": ['ranking = ["a", "b", "c", "d"]'],
            "forecasts": ["layer0 = 0.9", "untrained = 0.2"],
            "winner": ["probe = 0.2", "patch = 0.7", "sae = 0.1"],
            "effect": ["value = 12.4"],
            "plan": ["text = '''", "Control first.", "'''"],
        },
    )
    answers = parse_answers(tomllib.loads(filled), questions)
    assert answers.values["best_support"] == "b"
    assert answers.values["confounds"] == frozenset({"length", "token"})
    assert answers.values["followups"] == ("a", "b", "c", "d")
    assert answers.values["forecasts"] == {"layer0": 0.9, "untrained": 0.2}
    assert answers.values["effect"] == 12.4
    assert isinstance(answers.values["plan"], TextAnswer)
    assert answers.values["plan"].text == "Control first.\n"
    # the items left as they were stay unanswered
    assert answers.unanswered() == ["best_next", "confounds_exact", "followups_k", "caveat"]
    checks = {
        c.id: c.score for c in score_answers(questions, load_key(task_dir, questions), answers)
    }
    # forecasts: (1 - .01 + 1 - .04) / 2 = 0.975 -> 9.75; winner: 1 - ln .7 / ln .01 = 0.922549
    assert checks["forecasts"] == pytest.approx(9.75)
    assert checks["winner"] == pytest.approx(10 * (1 - math.log(0.7) / math.log(0.01)), abs=1e-6)
    assert checks["effect"] == 10.0  # |12.4 - 12| = 0.4 <= 1


def test_template_uncommenting_the_examples_parses(questions: Questions) -> None:
    # the template says: uncomment every line and replace the value; uncommented as they are,
    # a binary forecast's 0.5 lines and the number's 0 are valid answers
    template = answers_template(questions, task_id="t", version="1.0.0", title="T")
    text = re.sub(r"^# (layer0|untrained) = 0\.5$", r"\1 = 0.5", template, flags=re.M)
    text = text.replace("# value = 0", "value = 0")
    values = parse_answers(tomllib.loads(text), questions).values
    assert values["forecasts"] == {"layer0": 0.5, "untrained": 0.5}
    assert values["effect"] == 0.0


def test_template_json(task_dir: Path) -> None:
    q = questions_from('answers_file = "answers.json"\n' + QUESTIONS_TOML)
    text = answers_template(q, task_id="rt-fixture", version="1.0.0", title="RT")
    data = json.loads(text)
    assert list(data) == [i.id for i in q.items]
    assert parse_answers(data, q, file="answers.json").answered() == []
    data["confounds"]["choices"] = ["token"]
    data["winner"] = {"probe": 0.0, "patch": 1.0, "sae": 0.0}
    data["plan"]["text"] = "A plan."
    answers = parse_answers(data, q, file="answers.json")
    assert answers.answered() == ["confounds", "winner", "plan"]
    checks = {c.id: c.score for c in score_answers(q, load_key(task_dir, q), answers)}
    assert checks["confounds"] == 7.5  # (1 - 0) / 2 x 15
    assert checks["winner"] == 10.0


# ----------------------------------------------------------------------------- grading


def test_grade_answers_end_to_end(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path))
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "answers.toml").write_text(SAMPLE_ANSWERS)
    out = tmp_path / "artifacts"
    report = grade_answers(task, sub, artifacts_dir=out)
    assert report.status == Status.graded
    assert report.score == pytest.approx(SAMPLE_TOTAL, abs=1e-5)
    assert report.max_score == 100
    assert {c.id: c.score for c in report.checks} == pytest.approx(SAMPLE_SCORES, abs=1e-6)
    # text items are not automatic checks: the rubric's criteria are pending for reviewers
    assert "plan" not in {c.id for c in report.checks}
    assert [(m.criterion, m.max_score, m.score) for m in report.manual] == [
        ("reasoning", 10, None),
        ("clarity", 5, None),
    ]
    assert "2 text item(s) for reviewers (plan, caveat)" in report.logs.check
    assert report.explanation == "graded; 1 item(s) unanswered: caveat"
    assert report.provenance is not None and report.provenance.sandbox == "host"
    # reviewers read the answers as submitted and rendered
    assert {a.path for a in report.artifacts} == {"answers.toml", REVIEW_FILE}
    review = (out / REVIEW_FILE).read_text()
    assert "## plan: Plan" in review
    assert "First run the control task, then more seeds." in review
    assert "## caveat: Caveat" in review and "(not answered)" in review


def test_grade_answers_invalid_file_names_the_item(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path))
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "answers.toml").write_text('[confounds]\nchoices = ["length", "nope"]\n')
    report = grade_answers(task, sub)
    assert report.status == Status.invalid
    assert report.score == 0.0
    assert report.checks == []
    assert report.explanation.startswith("answers rejected: answers.toml: item 'confounds': ")
    assert "unknown option id 'nope'" in report.explanation
    one_line(report.explanation)


def test_grade_answers_missing_file_and_unfilled_template(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("nothing\n")
    report = grade_answers(task, empty)
    assert report.status == Status.invalid
    assert "answers.toml: not found in the submission" in report.explanation
    # the kit's unfilled template is valid: graded, 0 points, every item listed as open
    kit = tmp_path / "kit"
    kit.mkdir()
    assert task.questions is not None
    template = answers_template(task.questions, task_id=task.id, version="1.0.0", title="RT")
    (kit / "answers.toml").write_text(template)
    report = grade_answers(task, kit)
    assert report.status == Status.graded
    assert report.score == 0.0
    assert report.explanation.startswith("graded; 11 item(s) unanswered: best_support, ")
    assert all(m.score is None for m in report.manual)


def test_load_task_checks_points_rubric_and_key(tmp_path: Path) -> None:
    # points: drop confounds_exact (5) -> 95, but task.toml says 100
    q_text = QUESTIONS_TOML.replace("points = 5\n", "points = 10\n", 1)
    with pytest.raises(TaskSpecError, match=r"add up to 105, but task.toml declares"):
        load_task(write_task(tmp_path / "1", questions=q_text))
    with pytest.raises(TaskSpecError, match=r"'reasoning' is not a criterion.*no rubric.toml"):
        load_task(write_task(tmp_path / "2", rubric=None))
    with pytest.raises(TaskSpecError, match="item 'effect' has no key entry"):
        load_task(write_task(tmp_path / "3", key=KEY_TOML.split("[effect]")[0]))


def test_review_markdown_fences_untrusted_text(questions: Questions) -> None:
    hostile = "```\n# Injected heading\n```"
    answers = parse_answers({"plan": {"text": hostile}}, questions)
    md = review_markdown(questions, answers)
    # the answer's own ``` lines cannot close the block: the fence is longer
    assert "````text\n" + hostile + "\n````" in md
