"""Runs the GPU check's plan under a global deadline.

Each step gets ``min(its budget, the time left before the deadline)``. A step still
running then is stopped (its whole process group: torchrun's workers too) and marked
``cut (deadline)`` or ``failed (over its budget)``; a step that would start with less
than ``min_start_s`` left is ``not run (deadline)``; a step whose needs did not pass
is ``skipped``. So a partial run still ends, and reports, before the deadline.
Consecutive steps marked ``parallel`` run ``jobs`` at a time.
"""
import os
import shlex
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

from check_plan import Step
from verdicts import COMMAND_PREFIX, FAILED, GOAL_MISSED, PASSED

CUT = 'cut (deadline)'
OVER_BUDGET = 'failed (over its budget)'
NOT_RUN = 'not run (deadline)'
SKIPPED = 'skipped'
#: a stopped step gets this long to exit after SIGTERM before its group gets SIGKILL
KILL_GRACE_S = 5.0


class Outcome(NamedTuple):
    """A step's row in the table."""

    name: str
    what: str
    status: str
    seconds: Optional[float]
    budget_s: float
    result: str


def run_command(command: Sequence[str], log, cwd: Path, env: Mapping[str, str],
                timeout_s: float) -> Optional[int]:
    """Run ``command`` with its output appended to ``log``; its exit status, or None
    when it was stopped after ``timeout_s`` seconds (with all its children)."""
    log.write(f'{COMMAND_PREFIX}{shlex.join(command)}\n')
    log.flush()
    process = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        return process.wait(timeout=max(timeout_s, 0.0))
    except subprocess.TimeoutExpired:
        # SIGTERM, then SIGKILL for whatever of the group is left (torchrun's workers)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break  # nothing of the group is left
            try:
                process.wait(timeout=KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        process.wait()
        return None


class StepRunner:
    """Runs steps and collects their outcomes; ``on_update(outcome, outcomes)`` is
    called with each step's outcome and all so far (from worker threads too, one call
    at a time)."""

    def __init__(self, steps: Sequence[Step], deadline_s: float, logs: Path, cwd: Path,
                 env: Mapping[str, str], jobs: int = 1, min_start_s: float = 10.0,
                 on_update: Callable[[Outcome, List[Outcome]], None] = (
                     lambda outcome, outcomes: None),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.steps = list(steps)
        self.logs, self.cwd, self.env = logs, cwd, dict(env)
        self.jobs, self.min_start_s = jobs, min_start_s
        self.on_update, self.clock = on_update, clock
        self.deadline = clock() + deadline_s
        self.outcomes: Dict[str, Outcome] = {}
        self._lock = threading.Lock()

    def run(self) -> List[Outcome]:
        """Every step's outcome, in plan order."""
        self.logs.mkdir(parents=True, exist_ok=True)
        index = 0
        while index < len(self.steps):
            group = [self.steps[index]]
            while (group[-1].parallel and index + len(group) < len(self.steps)
                   and self.steps[index + len(group)].parallel):
                group.append(self.steps[index + len(group)])
            if len(group) == 1 or self.jobs == 1:
                for step in group:
                    self._run_step(step)
            else:
                with ThreadPoolExecutor(self.jobs) as pool:
                    list(pool.map(self._run_step, group))
            index += len(group)
        return self.ordered()

    def ordered(self) -> List[Outcome]:
        """The outcomes so far, in plan order."""
        return [self.outcomes[s.name] for s in self.steps if s.name in self.outcomes]

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes[outcome.name] = outcome
            self.on_update(outcome, self.ordered())

    def _run_step(self, step: Step) -> None:
        def outcome(status: str, seconds: Optional[float], result: str) -> Outcome:
            return Outcome(step.name, step.what, status, seconds, step.budget_s, result)

        missing = [need for need in step.needs if need in self._plan_names()
                   and self._status(need) not in (PASSED, GOAL_MISSED)]
        if missing:
            self._record(outcome(SKIPPED, None, f'needs {", ".join(missing)}'))
            return
        start = self.clock()
        left = self.deadline - start
        if left < self.min_start_s:
            self._record(outcome(NOT_RUN, None, f'{max(left, 0):.0f} s left at its turn'))
            return
        limit = min(step.budget_s, left)
        log_path = self.logs / f'{step.name}.log'
        returncode: Optional[int] = 0
        with open(log_path, 'w') as log:
            for command in step.commands:
                returncode = run_command(command, log, self.cwd, {**self.env, **step.env},
                                         start + limit - self.clock())
                if returncode != 0:
                    break
        seconds = self.clock() - start
        if returncode is None:
            status = CUT if limit < step.budget_s else OVER_BUDGET
            self._record(outcome(status, seconds, f'stopped after {seconds:.0f} s'))
            return
        try:
            verdict = step.verdict(log_path.read_text(errors='replace'), returncode)
        except Exception as error:  # a verdict that cannot read the step's output
            self._record(outcome(FAILED, seconds, f'unreadable output: {error!r}'))
            return
        self._record(outcome(verdict.status, seconds, verdict.result))

    def _plan_names(self) -> List[str]:
        return [s.name for s in self.steps]

    def _status(self, name: str) -> Optional[str]:
        with self._lock:
            outcome = self.outcomes.get(name)
        return outcome.status if outcome else None
