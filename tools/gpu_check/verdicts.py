"""How the GPU check judges a finished step: from its log, its exit status and the
files its commands wrote, a status and a one-line result for the table.

Training steps are read from mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json``
(one JSON record per logged iteration, and one per validation), the benchmarks from
the markdown tables they print, the resume comparison from the JSON line of
``compare_weights.py``.
"""
import json
import math
import re
from pathlib import Path
from typing import Dict, List, NamedTuple

PASSED = 'passed'
FAILED = 'failed'
#: ran, but missed the design goal it measures
GOAL_MISSED = 'goal missed'


class Verdict(NamedTuple):
    status: str
    result: str


#: how the runner marks each command in a step's log, before the command's output
COMMAND_PREFIX = '$ '


def output_lines(log: str) -> List[str]:
    """The non-empty lines the step's commands printed (the command lines left out)."""
    return [line.strip() for line in log.splitlines()
            if line.strip() and not line.startswith(COMMAND_PREFIX)]


def error_line(log: str) -> str:
    """The line of a failed step's log that best says why: the last one naming an
    error or exception, else the last non-empty line."""
    lines = output_lines(log)
    for line in reversed(lines):
        if re.search(r'(Error|Exception|error:)', line):
            return line[:300]
    return lines[-1][:300] if lines else 'no output'


def ran(log: str, returncode: int) -> Verdict:
    """Passed when every command exited 0; the result is the last line printed."""
    if returncode:
        return Verdict(FAILED, f'exit {returncode}: {error_line(log)}')
    lines = output_lines(log)
    return Verdict(PASSED, lines[-1][:300] if lines else '')


def environment(log: str, returncode: int) -> Verdict:
    """The JSON line of the ``env`` step: passed when torch sees a CUDA GPU."""
    if returncode:
        return ran(log, returncode)
    info = json.loads(output_lines(log)[-1])
    where = (f'{info["device"]} (sm {info["capability"]})' if info['cuda']
             else 'no CUDA GPU')
    summary = f'{where}, torch {info["torch"]}, Python {info["python"]}'
    return Verdict(PASSED if info['cuda'] else FAILED, summary)


def training_records(work_dir: Path) -> List[Dict[str, float]]:
    """The records of the newest run in ``work_dir``."""
    runs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not runs:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    return [json.loads(line) for line in runs[-1].read_text().splitlines() if line]


def _losses(work_dir: Path, iterations: int) -> Verdict:
    """Every logged loss of every one of ``iterations`` iterations finite, with
    distillation losses among them."""
    records = [r for r in training_records(work_dir) if 'loss' in r]
    if len(records) != iterations:
        return Verdict(FAILED, f'{len(records)} iterations logged, {iterations} expected')
    for record in records:
        bad = {key: value for key, value in record.items()
               if 'loss' in key and not math.isfinite(value)}
        if bad:
            return Verdict(FAILED, f'iteration {record.get("iter", "?")}: non-finite {bad}')
    last = records[-1]
    distill = {key: value for key, value in last.items() if key.startswith('distill.')}
    if not distill:
        return Verdict(FAILED, 'no distillation loss (distill.*) logged')
    terms = ', '.join(f'{key} {value:.4g}' for key, value in sorted(distill.items()))
    return Verdict(PASSED, f'{iterations} iterations, all losses finite; last: loss '
                   f'{last["loss"]:.4g} ({terms})')


def toy_training(work_dir: Path, iterations: int, log: str, returncode: int) -> Verdict:
    """A toy training: it ran, and every loss of every iteration is finite."""
    if returncode:
        return ran(log, returncode)
    return _losses(work_dir, iterations)


def distributed_training(work_dir: Path, iterations: int, metric: str, log: str,
                         returncode: int) -> Verdict:
    """A training through ``dist_train.sh``: losses finite and ``metric`` validated."""
    verdict = toy_training(work_dir, iterations, log, returncode)
    if verdict.status != PASSED:
        return verdict
    values = [r[metric] for r in training_records(work_dir) if metric in r]
    if not values:
        return Verdict(FAILED, f'trained, but no validation: no {metric} logged')
    return Verdict(PASSED, f'{verdict.result}; validated: {metric} {values[-1]:.4g}')


def resumed_weights(exact: bool, log: str, returncode: int) -> Verdict:
    """The JSON line of ``compare_weights.py``. With ``exact`` the resumed run must
    end with the very weights of the run never stopped; without, the difference is
    reported."""
    if returncode:
        return ran(log, returncode)
    diff = json.loads(output_lines(log)[-1])
    if diff['differing'] == 0:
        return Verdict(PASSED, f'bit-exact: all {diff["tensors"]} tensors equal')
    measured = (f'{diff["differing"]} of {diff["tensors"]} tensors differ, max |diff| '
                f'{diff["max_abs_diff"]:.3g} (relative {diff["max_rel_diff"]:.3g})')
    return Verdict(FAILED if exact else PASSED, measured)


def _table_rows(log: str) -> List[List[str]]:
    """The cells of the markdown table rows a benchmark printed."""
    return [[cell.strip() for cell in line.strip().strip('|').split('|')]
            for line in log.splitlines() if line.startswith('|')]


def pcka_share(goal: float, log: str, returncode: int) -> Verdict:
    """``bench_pcka_iteration.py``: its one row, iteration ms | losses ms | share %."""
    if returncode:
        return ran(log, returncode)
    row = _table_rows(log)[-1]
    iteration_ms, losses_ms, share = float(row[0]), float(row[1]), float(row[2].rstrip('%'))
    result = (f'PCKA losses {losses_ms:.2f} ms of a {iteration_ms:.1f} ms iteration: '
              f'{share:.2f}% (goal at most {100 * goal:g}%)')
    return Verdict(PASSED if share <= 100 * goal else GOAL_MISSED, result)


def pcka_floor(log: str, returncode: int) -> Verdict:
    """``bench_pcka.py``: PCKALoss's time over the floor's, intra only and with the
    inter term."""
    if returncode:
        return ran(log, returncode)
    ratios: Dict[str, str] = {}
    for row in _table_rows(log):
        if len(row) > 3 and row[1] == 'PCKALoss':
            ratios[row[0]] = f'{row[3]} ({row[2]} s)'
    if not ratios:
        return Verdict(FAILED, 'no PCKALoss row in the output')
    return Verdict(PASSED, 'PCKALoss / floor: ' + ', '.join(
        f'{terms} {ratio}' for terms, ratio in ratios.items()))
