"""Writes the tokenizer.json fixtures of test/tokenizer-hf.test.ts (test/fixtures/tokenizers/), small
vocabularies in the layouts Hugging Face `tokenizers` reads, one per behaviour to pin:

- sp-first, sp-always-split, sp-never: SentencePiece-style BPE with byte fallback and a Metaspace
  pre-tokenizer, prepend_scheme "first" (split false), "always" (split true) and "never" (split false);
- sp-byte-added: the same vocabulary with Llama-2's normalizer, whose 256 byte tokens <0x00>…<0xFF> are
  also listed as special added tokens (as some converted SentencePiece files do);
- sp-llama-inst: Llama-2's normalizer with an added special token "[INST]" that is normalized (so it is
  matched as "▁[INST]", after a space or at the start of a piece);
- bl-specials: byte-level BPE (ids = byte values) with added special tokens using lstrip + rstrip,
  single_word and normalized.

    python3 tools/tokenizers/make_fixtures.py test/fixtures/tokenizers

No dependencies. The expected ids are in test/fixtures/tokenizers/cases.json (it says how they were
obtained); tools/tokenizers/expected_ids.py checks them against `tokenizers`.
"""

import json
import os
import sys

META = "\u2581"
BYTES = [f"<0x{b:02X}>" for b in range(256)]
# The SentencePiece vocabulary: specials, byte tokens, then pieces; merges in rank order.
SP_PIECES = [META, "h", "i", META + "h", META + "hi", "a", META + META, "hi"]
SP_MERGES = [f"{META} h", f"{META}h i", f"{META} {META}", "h i"]


def added(id_, content, **options):
    token = {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    token.update(options)
    return token


def sentencepiece(pre_tokenizer=None, normalizer=None, extra_added=(), byte_added=False):
    vocab = {t: i for i, t in enumerate(["<unk>", "<s>", "</s>", *BYTES, *SP_PIECES])}
    specials = [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")]
    if byte_added:
        specials += [added(3 + b, BYTES[b]) for b in range(256)]
    for content, options in extra_added:
        vocab[content] = len(vocab)
        specials.append(added(vocab[content], content, **options))
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": specials,
        "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": META}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": SP_MERGES},
    }


def metaspace(scheme, split):
    return {"type": "Metaspace", "replacement": META, "prepend_scheme": scheme, "split": split}


LLAMA_NORMALIZER = {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": META}, {"type": "Replace", "pattern": {"String": " "}, "content": META}]}


def byte_to_unicode():
    """GPT-2's byte-to-unicode alphabet."""
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, shifted = [], 0
    for b in range(256):
        if b in printable:
            out.append(chr(b))
        else:
            out.append(chr(256 + shifted))
            shifted += 1
    return out


def byte_level():
    level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    specials = [
        added(256, "<|endoftext|>"),
        added(257, "<|sep|>", lstrip=True, rstrip=True),
        added(258, "<mask>", single_word=True),
        added(259, "<|end|>", normalized=True),
    ]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": specials, "normalizer": None,
        "pre_tokenizer": level, "post_processor": None, "decoder": level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {c: b for b, c in enumerate(byte_to_unicode())}, "merges": []},
    }


FIXTURES = {
    "sp-first": sentencepiece(pre_tokenizer=metaspace("first", False)),
    "sp-always-split": sentencepiece(pre_tokenizer=metaspace("always", True)),
    "sp-never": sentencepiece(pre_tokenizer=metaspace("never", False)),
    "sp-byte-added": sentencepiece(normalizer=LLAMA_NORMALIZER, byte_added=True),
    "sp-llama-inst": sentencepiece(normalizer=LLAMA_NORMALIZER, extra_added=[("[INST]", {"normalized": True})]),
    "bl-specials": byte_level(),
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py OUT_DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, tokenizer in FIXTURES.items():
        with open(os.path.join(sys.argv[1], f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer, f, ensure_ascii=False, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
