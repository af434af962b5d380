"""The GPU check's report: one markdown table of the steps (status, seconds, budget,
result), and the same outcomes as JSON."""
import json
from typing import Iterable, Sequence

from step_runner import Outcome


def _cell(text: str) -> str:
    return text.replace('|', '\\|').replace('\n', ' ')


def markdown(outcomes: Sequence[Outcome], heading: Iterable[str] = ()) -> str:
    """``heading`` lines, a tally of the statuses, then the table."""
    counts: dict = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    lines = [*heading, ', '.join(f'{n} {status}' for status, n in counts.items()), '',
             '| # | step | checks | status | seconds | budget (s) | result |',
             '| ---: | --- | --- | --- | ---: | ---: | --- |']
    for number, outcome in enumerate(outcomes, 1):
        seconds = '-' if outcome.seconds is None else f'{outcome.seconds:.1f}'
        lines.append(f'| {number} | {outcome.name} | {_cell(outcome.what)} | '
                     f'{outcome.status} | {seconds} | {outcome.budget_s:.0f} | '
                     f'{_cell(outcome.result)} |')
    return '\n'.join(lines) + '\n'


def as_json(outcomes: Sequence[Outcome]) -> str:
    return json.dumps([outcome._asdict() for outcome in outcomes], indent=1)
