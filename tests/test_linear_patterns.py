"""Every pattern that runs on a draft is RE2 (linear time), and the rule loader refuses the
backtracking-only constructs (backreferences, lookaround, possessive/atomic groups) with a
RuleError that names the file and the rule."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import shutil
from pathlib import Path

import pytest
import re2
import yaml

import reviewer
from reviewer import paths, rulepacks
from reviewer.errors import RuleError
from reviewer.patterns import compile_pattern
from reviewer.recognisers import PatternRecogniser, registry

RE2_TYPE = type(re2.compile("a"))
# Modules on the path of a draft through the rules (review -> normalise -> rules -> merge ->
# redact -> verify, plus the input readers): Python's backtracking `re` must not appear.
RULES_PATH = ["review", "inputs", "batch", "normalise", "patterns", "rulepacks", "merge",
              "redact", "verify", "engines/rules", "recognisers/base", "recognisers/gps",
              "recognisers/nhs", "recognisers/phone"]
BACKTRACKING = {
    "backreference": r"(\w+)\s+\1",
    "named backreference": r"(?P<w>\w+) (?P=w)",
    "lookahead": r"ward(?=\s*\d)",
    "negative lookahead": r"bed(?!room)",
    "lookbehind": r"(?<=NHS )\d{10}",
    "possessive": r"\d++",
    "atomic group": r"(?>a+)b",
}


def _yaml_patterns() -> list[tuple[str, str]]:
    """(where, pattern) for every raw pattern in rules/*.yml."""
    found = []
    for path in sorted(paths.rules_dir().glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule in data.get("rules") or []:
            for p in rule.get("patterns") or []:
                found.append((f"{path.name}:{rule['id']}", p))
            for key in ("requires", "unless"):
                conds = rule.get(key) or []
                for cond in conds if isinstance(conds, list) else [conds]:
                    for p in cond.get("patterns") or []:
                        found.append((f"{path.name}:{rule['id']}:{key}", p))
        for rec in data.get("recognisers") or []:
            for p in rec.get("patterns") or []:
                found.append((f"{path.name}:{rec['name']}", p["pattern"]))
    return found


def test_every_pattern_in_the_rule_packs_compiles_under_re2():
    patterns = _yaml_patterns()
    assert len(patterns) >= 10
    for where, pattern in patterns:
        try:
            re2.compile(pattern)
        except re2.error as exc:
            pytest.fail(f"{where}: not RE2: {pattern!r}: {exc}")


def test_loaded_rules_and_recognisers_hold_only_re2_patterns():
    ruleset = rulepacks.load()
    compiled = [ruleset.doctor_cue]
    for rule in ruleset.rules:
        compiled += [rule.regex] if rule.regex is not None else []
        compiled += [c.regex for c in rule.requires + rule.unless]
    for name in registry.names():
        rec = registry.get(name)
        if isinstance(rec, PatternRecogniser):
            compiled += [rx for rx, _ in rec._compiled]
            compiled += [rec._context] if rec._context is not None else []
    assert len(compiled) > len(ruleset.rules)
    assert all(isinstance(rx, RE2_TYPE) for rx in compiled)


def test_code_recognisers_and_normalisation_use_no_python_re():
    mods = [importlib.import_module(f"reviewer.recognisers.{m.name}")
            for m in pkgutil.iter_modules(reviewer.recognisers.__path__)]
    mods.append(importlib.import_module("reviewer.normalise"))
    for mod in mods:
        for name, value in vars(mod).items():
            assert not isinstance(value, re.Pattern), f"{mod.__name__}.{name} uses Python re"


def test_rules_path_never_imports_python_re():
    root = Path(reviewer.__file__).parent
    for rel in RULES_PATH:
        tree = ast.parse((root / f"{rel}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            assert "re" not in names and "regex" not in names, f"reviewer/{rel}.py imports re"


def _pack_with(tmp_path: Path, rule_extra: dict) -> Path:
    """A copy of the shipped rules plus one pack holding a rule with `rule_extra`."""
    rules = tmp_path / "rules"
    shutil.copytree(paths.rules_dir(), rules)
    rule = {"id": "zz-bad", "paragraph": "sm-14", "severity": "low", "message": "m",
            "suggestion": "s", "examples": {"fire": ["x"], "ok": ["y"]}, **rule_extra}
    (rules / "aa_test.yml").write_text(yaml.safe_dump({"topic": "trust", "rules": [rule]}),
                                       encoding="utf-8")
    return rules


@pytest.mark.parametrize("construct", sorted(BACKTRACKING))
def test_re2_refuses_backtracking_constructs(construct):
    with pytest.raises(RuleError, match="RE2"):
        compile_pattern(BACKTRACKING[construct])


@pytest.mark.parametrize("construct", ["backreference", "lookahead"])
def test_loader_rejects_backtracking_rule_pattern(tmp_path, construct):
    rules = _pack_with(tmp_path, {"patterns": [r"\bfine\b", BACKTRACKING[construct]]})
    with pytest.raises(RuleError) as info:
        rulepacks.load(rules)
    message = str(info.value)
    assert message.startswith("aa_test.yml: rule zz-bad: ")
    assert "RE2" in message and BACKTRACKING[construct] in message.replace("\\\\", "\\")


def test_loader_rejects_backtracking_condition_pattern(tmp_path):
    rules = _pack_with(tmp_path, {"phrases": ["drunk"],
                                  "requires": {"patterns": [r"shift(?!ed)"], "within": 40}})
    with pytest.raises(RuleError, match=r"^aa_test\.yml: rule zz-bad: .*RE2"):
        rulepacks.load(rules)


def test_loader_rejects_backtracking_recogniser_pattern(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(paths.rules_dir(), rules)
    data = yaml.safe_load((rules / "recognisers.yml").read_text(encoding="utf-8"))
    data["recognisers"].insert(0, {
        "name": "zz_bad", "kind": "person", "patterns": [{"pattern": r"(Mr|Mrs) (\w+) \2"}],
        "examples": {"fire": ["Mr X X"], "ok": ["Mr X"]}})
    (rules / "recognisers.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        with pytest.raises(RuleError, match=r"^recognisers\.yml: recogniser zz_bad: .*RE2"):
            rulepacks.load(rules)
    finally:
        rulepacks.load()  # the shipped recognisers stay registered for the other tests
    assert "zz_bad" not in registry


def test_a_valid_extra_pack_loads(tmp_path):
    """The negative tests above fail for the pattern, not for the scaffolding around it."""
    rules = _pack_with(tmp_path, {"patterns": [r"\bfine\b"]})
    assert rulepacks.load(rules).by_id("zz-bad").regex is not None
