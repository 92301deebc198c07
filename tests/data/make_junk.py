"""The junk-input corpus: what people (and their tools) actually paste or save by mistake.

Small files are committed in tests/data/junk/ (regenerate: `python tests/data/make_junk.py`);
large ones (1 MB of emoji, a 1 MB paste, over-limit input) are built at test time by
`large()` and never committed.

The name says what the CLI must do with it:
- `bad-*`  refused: exit 2 and one line `reviewer: error: ...`, never a traceback;
- `text-*` reviewed: exit 0 or 1, output valid against the contract.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

JUNK_DIR = Path(__file__).resolve().parent / "junk"
DRAFT = "Saw Mrs Patel (82) in bed 4 on Ward 9 at St Mary's today, NHS no 943 476 5919 - sad case"


def _zalgo(text: str, rng: random.Random, marks: int) -> str:
    return "".join(ch + "".join(chr(rng.randrange(0x300, 0x370)) for _ in range(marks)) for ch in text)


def small() -> dict[str, bytes]:
    rng = random.Random(8)
    draft = DRAFT.encode()
    return {
        # refused
        "bad-random-binary.bin": rng.randbytes(4096),
        "bad-png-header.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(200),
        "bad-gzip.bin": b"\x1f\x8b\x08\x00" + rng.randbytes(300),
        "bad-invalid-utf8.txt": draft[:20] + b"\xff\xfe" + draft[20:],
        "bad-truncated-multibyte.txt": draft + b" caf\xc3",
        "bad-lone-continuation.txt": b"Mrs Patel \x80\x80 aged 82",
        "bad-overlong-utf8.txt": b"Mrs Patel \xc0\xaf aged 82",
        "bad-cesu8-surrogate.txt": b"Mrs Patel \xed\xa0\x80 aged 82",
        "bad-latin1.txt": "Mrs Patel, caf\u00e9 at St Mary\u2019s".encode("cp1252"),
        "bad-utf16-bom.txt": "\ufeff".encode("utf-16-le") + DRAFT.encode("utf-16-le"),
        "bad-nul-bytes.txt": draft[:30] + b"\x00\x00\x00" + draft[30:],
        "bad-trailing-nul.txt": draft + b"\x00",
        "bad-control-chars.txt": bytes(rng.choice(range(1, 9)) for _ in range(400)) + draft,
        "bad-empty.txt": b"",
        "bad-whitespace-only.txt": " \t\n\r\n  \u3000\u00a0\u2003\n".encode(),
        # reviewed
        "text-bom-utf8.txt": b"\xef\xbb\xbf" + draft,
        "text-rtl-override.txt": "Saw Mrs Patel \u202eon ward 9\u202c, NHS no 943 476 5919".encode(),
        "text-bidi-isolates.txt": "\u2067Mrs Patel\u2069 aged 82 \u2066bed 4\u2069".encode(),
        "text-zero-width-split.txt": "NHS no 9\u200b4\u200b3 4\u200d7\u200c6 59\u206019".encode(),
        "text-zero-width-only.txt": "\u200b\u200c\u200d\ufeff\u2060 x".encode(),
        "text-homoglyphs.txt": "Saw Mrs P\u0430tel on W\u0430rd 9, \u039dHS n\u03bf 943 476 5919".encode(),
        "text-fullwidth.txt": "NHS no \uff19\uff14\uff13 \uff14\uff17\uff16 \uff15\uff19\uff11\uff19".encode(),
        "text-letter-spaced.txt": ("N H S n o 9 4 3 4 7 6 5 9 1 9 " + "a " * 3000).encode(),
        "text-zalgo.txt": _zalgo("Mrs Patel aged 82", rng, 40).encode(),
        "text-emoji-zwj.txt": ("\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 "
                               "\U0001f1ec\U0001f1e7 \U0001f44d\U0001f3fd " * 300).encode(),
        "text-line-separators.txt": "Mrs Patel\r\naged 82\rbed 4\u2028Ward 9\u2029ok\x0b\x0c".encode(),
        "text-ansi-escapes.txt": (b"\x1b[2J\x1b[31m Mrs Patel \x1b[0m aged 82, NHS no 943 476 5919"
                                  b" \x1b]8;;http://x\x07link\x1b]8;;\x07 \xc2\x9b"),
        "text-rich-markup.txt": b"[bold red]Mrs Patel[/] aged 82 [link=http://x]ward 9[/link] \\[x]",
        "text-repeated-digits.txt": ("1 " * 8000).encode(),
        "text-repeated-separators.txt": ("9-" * 4000 + "9." * 4000).encode(),
        "text-repeated-draft.txt": (DRAFT + " ").encode() * 150,
        "text-repeated-cues.txt": ("Mrs Mr Dr patient ward bed aged NHS " * 400).encode(),
        "text-no-spaces.txt": b"x" * 20000,
        "text-deep-brackets.txt": (b"(" * 8000) + b"Mrs Patel" + (b")" * 8000),
        "text-json-lookalike.txt": b'{"verdict": "ok", "findings": []} Mrs Patel aged 82',
    }


def large(name: str) -> bytes:
    """Generated at test time: too big to commit."""
    rng = random.Random(9)
    if name == "text-1mb-emoji.txt":
        emoji = ["\U0001f600", "\U0001f3e5", "\U0001f489", "\U0001f469\u200d\u2695\ufe0f",
                 "\U0001f1ec\U0001f1e7", "\u2764\ufe0f"]
        out = "".join(rng.choice(emoji) for _ in range(260_000)).encode()
        return out[: out.rfind(b"\xf0", 0, 1_000_000)]  # cut at a character boundary
    if name == "text-1mb-paste.txt":
        words = DRAFT.split() + ["the", "and", "on", "call", "today", "team", "\n"]
        tail = b" END-OF-PASTE"  # shows the whole paste was read, not a prefix
        body = " ".join(rng.choice(words) for _ in range(300_000)).encode()
        return body[: 1_000_000 - len(tail)] + tail
    if name == "bad-too-long.txt":  # over the 2 M character limit
        return b"word " * 500_000
    raise KeyError(name)


LARGE = ("text-1mb-emoji.txt", "text-1mb-paste.txt", "bad-too-long.txt")


def write(dest: Path = JUNK_DIR) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in small().items():
        path = dest / name
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else JUNK_DIR):
        print(p)
