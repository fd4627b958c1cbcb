"""Log-probabilities of token ids under a model directory, computed by swat_torch.py (plain PyTorch,
float64) from the directory's config.json and weights (one file or shards; F32, F16 or BF16), the same
numbers `swat score --ids` prints. The optional PyTorch parity test runs it.

    python3 tools/pytorch/score_dir.py MODEL_DIR 1,2,3

Prints one JSON line {"ids": [...], "logprobs": [...]}.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swat_torch  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: score_dir.py MODEL_DIR IDS")
    ids = [int(s) for s in sys.argv[2].split(",")]
    cfg, params = swat_torch.load_model_dir(sys.argv[1])
    print(json.dumps({"ids": ids, "logprobs": swat_torch.logprobs_of(params, cfg, ids)}))


if __name__ == "__main__":
    main()
