"""Regenerate (or --check) the counts block of tests/data/README.md from dev.jsonl.

    python tests/data/counts.py          # rewrite the block between the dev-counts markers
    python tests/data/counts.py --check  # exit 1 if the block is stale (the suite runs this)
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOPICS = ["confidentiality", "records", "location", "boundaries", "colleagues", "defamation",
          "advertising", "prescribing", "anonymity", "conflicts", "trust"]
AUDIENCES = ["public", "friends", "professional", "patient"]
FORMS = ["tweet", "facebook", "forum", "patient-reply", "blog", "thread", "long", "whatsapp",
         "linkedin"]
START, END = "<!-- dev-counts:start -->\n", "<!-- dev-counts:end -->"


def block(rows: list[dict]) -> str:
    out = ["| topic | " + " | ".join(AUDIENCES) + " | total |", "|---|---:|---:|---:|---:|---:|"]
    for topic in [*TOPICS, "(clean)"]:
        c = collections.Counter(r["audience"] for r in rows
                                if (topic == "(clean)" and not r["labels"]["topics"])
                                or topic in r["labels"]["topics"])
        out.append(f"| {topic} | " + " | ".join(str(c[a]) for a in AUDIENCES) + f" | {sum(c.values())} |")
    c = collections.Counter(r["audience"] for r in rows)
    out.append("| **drafts** | " + " | ".join(str(c[a]) for a in AUDIENCES) + f" | {len(rows)} |")
    clean = [r for r in rows if not r["labels"]["topics"]]
    tricky = sum("tricky-clean" in r["labels"]["tags"] for r in clean)
    multi = sum(len(r["labels"]["topics"]) >= 2 for r in rows)
    evasion = sum("evasion" in r["labels"]["tags"] for r in rows)
    forms = collections.Counter(t for r in rows for t in r["labels"]["tags"] if t in FORMS)
    spans = collections.Counter(s["kind"] for r in rows for s in r["labels"]["spans"])
    order = list(spans)  # ties keep first-seen order
    out += ["",
            f"Clean drafts: {len(clean)} (tricky-clean: {tricky}); drafts with 2+ topics: {multi}; "
            f"evasion drafts: {evasion}.",
            "Forms: " + ", ".join(f"{f} {forms[f]}" for f in FORMS if forms[f]) + ".",
            "Spans: " + ", ".join(f"{k} {n}" for k, n in sorted(spans.items(),
                                                              key=lambda kv: (-kv[1], order.index(kv[0]))))
            + f" (total {sum(spans.values())})."]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    rows = [json.loads(line) for line in (HERE / "dev.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    s, e = text.index(START) + len(START), text.index(END)
    new = block(rows)
    if "--check" in argv:
        if text[s:e] != new:
            print("tests/data/README.md counts are stale: run python tests/data/counts.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(text[:s] + new + text[e:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
