"""What Hugging Face `transformers` makes of a model directory's tokenizer files: the BOS and EOS it finds,
the generation config's ids, and the ids of each text with and without special tokens (its default adds
them through tokenizer.json's post-processor). The optional check in test/interop.test.ts compares these
with swat's own.

    python3 tools/tokenizers/transformers_ids.py MODEL_DIR '["text", ...]'

Prints one JSON line. Needs `transformers` (its tokenizers part; no model is loaded).
"""

import json
import sys

from transformers import AutoTokenizer, GenerationConfig


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: transformers_ids.py MODEL_DIR TEXTS_JSON")
    path, texts = sys.argv[1], json.loads(sys.argv[2])
    tok = AutoTokenizer.from_pretrained(path)
    generation = GenerationConfig.from_pretrained(path)
    print(json.dumps({
        "bos_token": tok.bos_token, "eos_token": tok.eos_token, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
        "generation": {"bos_token_id": generation.bos_token_id, "eos_token_id": generation.eos_token_id},
        "ids": [tok(t).input_ids for t in texts],
        "plain": [tok(t, add_special_tokens=False).input_ids for t in texts],
    }))


if __name__ == "__main__":
    main()
