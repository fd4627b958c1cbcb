"""Checks the expected ids of test/fixtures/tokenizers/cases.json against Hugging Face `tokenizers`, or
rewrites them from it (--write). Needs `pip install tokenizers` (0.19 or later, for encode_special_tokens).

    python3 tools/tokenizers/expected_ids.py test/fixtures/tokenizers [--write]

Each case encodes its text with add_special_tokens=False, and with encode_special_tokens set when the case
reads special tokens as plain text ("special_tokens": "text"). Exits 1 when a case differs (without --write).
"""

import json
import os
import sys

from tokenizers import Tokenizer


def main():
    args = [a for a in sys.argv[1:] if a != "--write"]
    if len(args) != 1:
        sys.exit("usage: expected_ids.py FIXTURE_DIR [--write]")
    path = os.path.join(args[0], "cases.json")
    with open(path, encoding="utf-8") as f:
        fixture = json.load(f)
    tokenizers = {}
    differ = 0
    for case in fixture["cases"]:
        name = case["tokenizer"]
        if name not in tokenizers:
            tokenizers[name] = Tokenizer.from_file(os.path.join(args[0], f"{name}.json"))
        tok = tokenizers[name]
        tok.encode_special_tokens = case["special_tokens"] == "text"
        ids = tok.encode(case["text"], add_special_tokens=False).ids
        if ids != case["ids"]:
            differ += 1
            print(f"{name} {case['text']!r} ({case['special_tokens']}): tokenizers {ids}, fixture {case['ids']}")
        case["ids"] = ids
    if "--write" in sys.argv:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fixture, f, ensure_ascii=False, indent=2)
            f.write("\n")
    elif differ:
        sys.exit(1)
    print(f"{len(fixture['cases'])} cases, {differ} differ")


if __name__ == "__main__":
    main()
