"""What of a checkpoint does not fit a model, said in one line (for the errors that name the fix)."""

from __future__ import annotations

import re

LOAD_ERROR = 'Error(s) in loading state_dict'  # how torch's load_state_dict starts its report


def shape_problem(error: str) -> str:
    found = re.findall(r'size mismatch for (\S+): copying a param with shape torch\.Size\((\[.*?\])\) from checkpoint, '
                       r'the shape in current model is torch\.Size\((\[.*?\])\)', error)  # fmt: skip
    if not found:
        return error.strip().splitlines()[-1][:200]
    key, theirs, ours = found[0]
    more = f' (and {len(found) - 1} more)' if len(found) > 1 else ''
    return f'{key} is {theirs} in the checkpoint but {ours} in the model{more}'


def key_problem(missing: list[str], unexpected: list[str]) -> str:
    def listing(keys):
        return ', '.join(keys[:3]) + (f', ... ({len(keys)} in all)' if len(keys) > 3 else '')

    parts = [f'the model has weights the checkpoint lacks: {listing(missing)}'] if missing else []
    parts += [f'the checkpoint has weights the model lacks: {listing(unexpected)}'] if unexpected else []
    return '; '.join(parts)
