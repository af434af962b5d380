"""The README and docs/ as a user reads them.

Every command in their shell code blocks names scripts and configs that exist, and
options its Python tool accepts; every Python tool they name answers ``--help`` (each
run once); their relative links and section anchors resolve; the README's config for
an environment of your own builds and computes its distillation losses; the README
stays short and points at nothing a user does not have.
"""
import functools
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Set

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / 'README.md'
DOCS = [README] + sorted((REPO / 'docs').rglob('*.md'))
SHELL_LANGUAGES = {'bash', 'sh', 'shell'}
README_MAX_LINES = 300

FENCE = re.compile(r'^( *)```(\w*)\n(.*?)^\1```', re.MULTILINE | re.DOTALL)
# a repository script or config, also after a placeholder prefix (/path/to/repo/tools/x.py)
REPO_PATH = re.compile(r'(?:^|/)((?:tools|configs)/[\w./*-]+\.(?:py|sh))$')
ENV_ASSIGNMENT = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*=')
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
HEADING = re.compile(r'^#{1,6} +(.+?) *$', re.MULTILINE)
SEPARATORS = {'&&', '||', ';', '|'}


class CodeBlock(NamedTuple):
    doc: Path
    line: int
    language: str
    text: str


class Command(NamedTuple):
    """One shell command of a code block: where it is and its words."""
    where: str
    words: List[str]


def code_blocks(doc: Path) -> Iterator[CodeBlock]:
    text = doc.read_text(encoding='utf-8')
    for match in FENCE.finditer(text):
        indent = len(match.group(1))
        body = '\n'.join(line[indent:] for line in match.group(3).splitlines())
        yield CodeBlock(doc, text.count('\n', 0, match.start()) + 1, match.group(2), body)


def shell_commands(block: CodeBlock) -> Iterator[Command]:
    """The block's commands: continuation lines joined, comments dropped, split at
    ``&&``, ``||``, ``;`` and ``|``, leading ``VAR=value`` assignments left out."""
    joined = re.sub(r'\\\n', ' ', block.text)
    for offset, line in enumerate(joined.splitlines()):
        words: List[str] = []
        for word in shlex.split(line, comments=True) + [';']:
            if word in SEPARATORS:
                while words and ENV_ASSIGNMENT.match(words[0]):
                    words.pop(0)
                if words:
                    yield Command(f'{block.doc.relative_to(REPO)}:{block.line + 1 + offset}',
                                  words)
                words = []
            else:
                words.append(word)


def all_commands() -> List[Command]:
    return [command for doc in DOCS for block in code_blocks(doc)
            if block.language in SHELL_LANGUAGES for command in shell_commands(block)]


def repo_paths(command: Command) -> List[str]:
    """The repository scripts and configs a command names, relative to the root."""
    return [match.group(1) for word in command.words
            for match in [REPO_PATH.search(word)] if match]


def python_tool(command: Command) -> str:
    """The ``tools/*.py`` script the command runs with Python, or ''."""
    for index, word in enumerate(command.words):
        match = REPO_PATH.search(word)
        if match and match.group(1).startswith('tools/') and word.endswith('.py'):
            runner = command.words[index - 1] if index else ''
            if index == 0 or re.search(r'python[\d.]*$', runner):
                return match.group(1)
    return ''


def options(command: Command) -> List[str]:
    """The ``--options`` given to the command's Python tool (after its path)."""
    tool = python_tool(command)
    words = command.words
    start = next(i for i, word in enumerate(words) if word.endswith(tool)) + 1
    return [word.split('=', 1)[0] for word in words[start:]
            if word.startswith('--') and word != '--']


COMMANDS = all_commands()
TOOLS = sorted({python_tool(c) for c in COMMANDS} - {''})


def run_help(tool: str) -> subprocess.CompletedProcess:
    """``python TOOL --help`` in a fresh interpreter, this one's (the venv's)."""
    return subprocess.run(
        [sys.executable, tool, '--help'], cwd=REPO, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))


@pytest.fixture(scope='module')
def help_runs() -> Dict[str, subprocess.CompletedProcess]:
    """Every tool's ``--help``, each run once, as many side by side as there are cores
    (most tools import torch and the OpenMMLab stack first: seconds each)."""
    with ThreadPoolExecutor(max_workers=min(len(TOOLS), os.cpu_count() or 1)) as pool:
        return dict(zip(TOOLS, pool.map(run_help, TOOLS)))


def help_text(help_runs: Dict[str, subprocess.CompletedProcess], tool: str) -> str:
    result = help_runs[tool]
    assert result.returncode == 0, (
        f'`python {tool} --help` exited with {result.returncode}:\n'
        f'{result.stdout[-2000:]}\n{result.stderr[-2000:]}')
    assert 'usage:' in result.stdout, result.stdout
    return result.stdout


def test_the_docs_have_commands_and_tools():
    """The parser finds what it checks (the quick start, the demo, the benchmarks)."""
    words = {' '.join(c.words) for c in COMMANDS}
    assert 'bash tools/quickstart.sh' in words
    assert 'bash tools/run_tests.sh' in words
    assert {'tools/run_demo.py', 'tools/train.py',
            'tools/analysis/compare_methods.py'} <= set(TOOLS)


@pytest.mark.parametrize('command', COMMANDS, ids=[c.where for c in COMMANDS])
def test_command_names_existing_scripts_and_configs(command):
    for path in repo_paths(command):
        found = list(REPO.glob(path)) if '*' in path else [REPO / path]
        assert found and all(p.is_file() for p in found), (
            f'{command.where}: `{" ".join(command.words)}` names {path}, which does not '
            'exist in the repository')


@pytest.mark.parametrize('tool', TOOLS)
def test_python_tool_answers_help(tool, help_runs):
    help_text(help_runs, tool)


TOOL_COMMANDS = [c for c in COMMANDS if python_tool(c)]


@pytest.mark.parametrize('command', TOOL_COMMANDS, ids=[c.where for c in TOOL_COMMANDS])
def test_command_options_are_options_of_its_tool(command, help_runs):
    tool = python_tool(command)
    text = help_text(help_runs, tool)
    unknown = [option for option in options(command)
               if not re.search(rf'(?<![\w-]){re.escape(option)}(?![\w-])', text)]
    assert not unknown, (
        f'{command.where}: `{" ".join(command.words)}` passes {unknown}, which '
        f'`python {tool} --help` does not list')


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: links reduced to their text, code marks
    and punctuation dropped, lower case, spaces as hyphens."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading).replace('`', '')
    return re.sub(r'[^\w\- ]', '', text.strip().lower()).replace(' ', '-')


def without_code(text: str) -> str:
    return FENCE.sub('', text)


@functools.lru_cache(maxsize=None)
def anchors(doc: Path) -> Set[str]:
    seen: Dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(without_code(doc.read_text(encoding='utf-8'))):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        result.add(anchor if count == 0 else f'{anchor}-{count}')
        seen[anchor] = count + 1
    return result


@pytest.mark.parametrize('doc', DOCS, ids=[str(d.relative_to(REPO)) for d in DOCS])
def test_relative_links_and_anchors_resolve(doc):
    broken = []
    for target in LINK.findall(without_code(doc.read_text(encoding='utf-8'))):
        if re.match(r'^[a-z]+:', target):
            continue  # https:, mailto:
        path, _, anchor = target.partition('#')
        linked = (doc.parent / path).resolve() if path else doc
        if not linked.exists():
            broken.append(f'{target} (no such file)')
        elif anchor and linked.suffix == '.md' and anchor not in anchors(linked):
            broken.append(f'{target} (no such section in {linked.relative_to(REPO)})')
    assert not broken, f'{doc.relative_to(REPO)}: broken links: {broken}'


def test_github_anchor():
    assert github_anchor('RCKA (FCKA + LCKA)') == 'rcka-fcka--lcka'
    assert github_anchor("The project's environment (`tools/setup_env.sh`)") == (
        'the-projects-environment-toolssetup_envsh')
    assert github_anchor('See [the docs](docs/README.md), 2x') == 'see-the-docs-2x'


def test_readme_is_short():
    lines = README.read_text(encoding='utf-8').count('\n')
    assert lines <= README_MAX_LINES, (
        f'README.md has {lines} lines; keep it at most {README_MAX_LINES} and move '
        'details to docs/')


@pytest.mark.parametrize('doc', DOCS, ids=[str(d.relative_to(REPO)) for d in DOCS])
def test_docs_point_at_nothing_outside_the_repository(doc):
    assert '../shared' not in doc.read_text(encoding='utf-8')


def readme_config() -> str:
    blocks = [b.text for b in code_blocks(README)
              if b.language == 'python' and 'custom_imports' in b.text]
    assert len(blocks) == 1, 'the README shows one config for your own environment'
    return blocks[0]


def test_readme_config_builds_and_computes_its_losses(tmp_path, single_thread):
    """The README's own-environment config as a user would use it: it loads with its
    mmpretrain base, builds, and one training forward gives the student's loss and
    both distillation losses (the teacher's download left out: a random teacher)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    import mmrazor_relkd  # noqa: F401
    from mmrazor.registry import MODELS

    path = tmp_path / 'my_config.py'
    path.write_text(readme_config())
    cfg = Config.fromfile(str(path))
    assert cfg.custom_imports == dict(imports=['mmrazor_relkd'], allow_failed_imports=False)
    assert cfg.model.teacher_ckpt.startswith('https://download.openmmlab.com/')
    cfg.model.teacher_ckpt = None
    cfg.model.allow_random_teacher = True
    init_default_scope('mmrazor')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(4)]
    samples = [DataSample().set_gt_label(label) for label in (0, 1, 2, 3)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert {'student.loss', 'distill.loss_fcka', 'distill.loss_lcka'} <= set(losses)
    for name in ('distill.loss_fcka', 'distill.loss_lcka'):
        assert torch.isfinite(losses[name]) and losses[name] > 0, (name, losses[name])
