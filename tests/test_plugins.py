"""Plugins: discovery, registration, conflicts, and the sample third-party package end to end.

The end-to-end tests run the installed ``policy-eval`` command in a
subprocess with the sample plugin package (tests/sample_plugin) available.
When it is not installed (a fresh clone set up as the README says), the
session fixture below lays it out in a temporary folder put on PYTHONPATH:
its source package and the ``.dist-info`` (metadata, entry points) that an
install would write, read from its pyproject.toml. No pip, no wheel, no
network; the venv is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from policy_eval.errors import PluginError, PolicyTypeError
from policy_eval.expression import compile_expression
from policy_eval.lang.functions import Function
from policy_eval.lang.types import INT, STRING
from policy_eval.plugin_manager import AUTOLOAD_ENV, BUILTIN_PLUGINS, PluginManager
from policy_eval.plugins.hookspecs import hookimpl

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data" / "plugin_policies"
POLICIES = DATA / "policies"
SAMPLE_DIST, SAMPLE_VERSION = "policy-eval-sample-plugin", "0.3.1"


# --- running the installed command ------------------------------------------------------------------------

def _command() -> str:
    exe = Path(sys.executable).with_name("policy-eval")
    if exe.exists():
        return str(exe)
    found = shutil.which("policy-eval")
    if found is None:
        pytest.fail("the policy-eval command is not installed next to this Python (pip install .)")
    return found


@pytest.fixture(scope="session")
def sample_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for subprocesses in which the sample plugin is installed."""
    env = {k: v for k, v in os.environ.items() if k != AUTOLOAD_ENV}
    env["PYTHONIOENCODING"] = "utf-8"
    try:
        installed = metadata.version(SAMPLE_DIST)
    except metadata.PackageNotFoundError:
        installed = None
    if installed is not None:
        assert installed == SAMPLE_VERSION, f"{SAMPLE_DIST} {installed} installed; reinstall ./tests/sample_plugin"
        return env
    target = tmp_path_factory.mktemp("sample-plugin-site")
    _lay_out_sample_plugin(target)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), env.get("PYTHONPATH")]))
    return env


def _lay_out_sample_plugin(target: Path) -> None:
    """Make tests/sample_plugin importable and discoverable from ``target`` as ``pip install`` would:
    the package itself plus ``<name>-<version>.dist-info/{METADATA,entry_points.txt}``."""
    import tomllib

    root = TESTS / "sample_plugin"
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    src = root / "src"
    packages = sorted(p for p in src.iterdir() if (p / "__init__.py").is_file())
    for package in packages:
        shutil.copytree(package, target / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    info = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    # top_level.txt: which distribution owns a module named with --plugin (importlib's packages_distributions)
    (info / "top_level.txt").write_text("".join(f"{p.name}\n" for p in packages), encoding="utf-8")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                   f"Version: {project['version']}\n", encoding="utf-8")
    groups = project.get("entry-points", {})
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{name} = {ref}\n" for name, ref in entries.items()) + "\n"
                for group, entries in groups.items()), encoding="utf-8")


def test_the_laid_out_sample_plugin_is_found_by_entry_point(tmp_path: Path) -> None:
    _lay_out_sample_plugin(tmp_path)
    dist = metadata.Distribution.at(next(tmp_path.glob("*.dist-info")))
    assert (dist.metadata["Name"], dist.version) == (SAMPLE_DIST, SAMPLE_VERSION)
    assert [(ep.group, ep.name, ep.value) for ep in dist.entry_points] == [
        ("policy_eval", "sample", "policy_eval_sample.plugin")]
    assert (tmp_path / "policy_eval_sample" / "plugin.py").is_file()
    assert (dist.read_text("top_level.txt") or "").split() == ["policy_eval_sample"]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_command(), *args], capture_output=True, text=True, encoding="utf-8", env=env,
                          cwd=REPO, timeout=120)


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _outcomes(jsonl: str) -> dict[tuple[str, str], str]:
    out = {}
    for line in jsonl.splitlines():
        case = json.loads(line)
        assert case["status"] == "evaluated", case
        for r in case["results"]:
            out[(case["case_id"], r["id"])] = r["outcome"]
    return out


FRESH, FREE = "sample-shipping/fresh-ships-within-24h", "sample-shipping/free-shipping-honoured"
EXPECTED = {
    # 水果 is "fresh" (category_class), shipped 30.5 h after payment
    ("P-001", FRESH): "violated", ("P-001", FREE): "complied",
    ("P-002", FRESH): "complied", ("P-002", FREE): "complied",
    # 手机 is "electronics"; 新疆 is a remote area (the enricher): freight may be charged
    ("P-003", FRESH): "not_applicable", ("P-003", FREE): "complied",
    ("P-004", FRESH): "not_applicable", ("P-004", FREE): "violated",
}


# --- end to end through the CLI -------------------------------------------------------------------------

def test_plugins_command_lists_the_entry_point_plugin_with_its_version(sample_env: dict[str, str]) -> None:
    proc = run(sample_env, "plugins")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    plugin_rows = {line.split()[0]: " ".join(line.split()[1:]) for line in lines
                   if line.startswith("  ") and len(line.split()) >= 2 and "(" not in line.split()[0]}
    assert plugin_rows["sample"] == f"{SAMPLE_DIST} {SAMPLE_VERSION}"
    for builtin in BUILTIN_PLUGINS:
        assert plugin_rows[builtin] == "builtin"
    function_line = next(line for line in lines if "category_class(" in line)
    assert "category_class(string) -> string" in function_line and "[sample]" in function_line
    assert "markdown" in next(line for line in lines if line.startswith("reporters"))
    loaders = next(line for line in lines if line.startswith("case loaders"))
    assert all(name in loaders for name in ("tsv", "csv", "pdd-after-sale", "json", "jsonl"))


def test_policy_calling_a_plugin_function_evaluates(sample_env: dict[str, str]) -> None:
    proc = run(sample_env, "eval", "-p", _rel(POLICIES), _rel(DATA / "cases" / "parcels.jsonl"), "--format", "jsonl",
               "--detail", "full",
               "-q")
    assert proc.returncode == 1, proc.stderr  # violations
    assert _outcomes(proc.stdout) == EXPECTED
    messages = [r.get("message") for line in proc.stdout.splitlines() for r in json.loads(line)["results"]
                if r["outcome"] == "violated"]
    assert "水果 (fresh) paid 2024-10-01T10:00:00+08:00, shipped 2024-10-02T16:30:00+08:00" in messages


def test_policy_tests_see_plugin_functions_and_enrichers(sample_env: dict[str, str]) -> None:
    proc = run(sample_env, "test", "-p", _rel(POLICIES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed, 0 failed" in proc.stdout


def test_input_format_from_the_plugin_loader(sample_env: dict[str, str]) -> None:
    tsv = _rel(DATA / "cases" / "parcels.tsv")
    proc = run(sample_env, "eval", "-p", _rel(POLICIES), "--input-format", "tsv", tsv, "--format", "jsonl",
               "--detail", "full", "-q")
    assert proc.returncode == 1, proc.stderr
    assert _outcomes(proc.stdout) == EXPECTED
    records = [(json.loads(line)["source"], json.loads(line)["record"]) for line in proc.stdout.splitlines()]
    assert records == [(tsv, 2), (tsv, 3), (tsv, 4), (tsv, 5)]  # line numbers (the header is line 1)


def test_output_format_from_the_plugin_reporter(sample_env: dict[str, str]) -> None:
    proc = run(sample_env, "eval", "-p", _rel(POLICIES), _rel(DATA / "cases" / "parcels.jsonl"),
               "--format", "markdown", "-q")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert out.startswith("# policy-eval report\n")
    assert "| case | rule | outcome | clause | details |" in out
    assert f"| P-001 | `{FRESH}` | **violated** | sample 1.1 | 水果 (fresh) paid" in out
    assert f"| P-004 | `{FREE}` | **violated** | sample 1.2 | free-shipping order 241001-100000000000004 to 江苏 " \
           "charged 8.00 CNY |" in out
    assert "P-002" not in out and "P-003" not in out
    assert "**4 case(s)**: 4 evaluated, 0 rejected; 2 violated, 0 undetermined, 4 complied, 2 not applicable.\n" in out


def test_worker_processes_load_the_entry_point_plugin_too(sample_env: dict[str, str]) -> None:
    # its own session, so that a hung run is ended with its worker processes
    child = subprocess.Popen([_command(), "eval", "-p", _rel(POLICIES), _rel(DATA / "cases" / "parcels.jsonl"),
                              "--format", "jsonl", "--detail", "full", "-q", "--jobs", "2"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, encoding="utf-8", env=sample_env, cwd=REPO,
                             start_new_session=True)
    try:
        out, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise
    assert child.returncode == 1, err
    assert _outcomes(out) == EXPECTED
    assert "Traceback" not in err, err


def test_wrong_argument_type_of_a_plugin_function_is_located(sample_env: dict[str, str]) -> None:
    path = DATA / "wrong_types" / "shipping.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "category_class(order.weight_kg)" in text)
    column = lines[line - 1].index("order.weight_kg") + 1
    proc = run(sample_env, "check", _rel(path.parent))
    assert proc.returncode == 2
    assert f"{_rel(path)}:{line}:{column}: argument 1 of category_class() must be string, got decimal" \
        in proc.stderr, proc.stderr


def test_explicit_plugin_option_without_entry_points(sample_env: dict[str, str]) -> None:
    env = {**sample_env, AUTOLOAD_ENV: "1"}
    without = run(env, "check", _rel(POLICIES))
    assert without.returncode == 2
    assert "unknown function 'category_class'" in without.stderr
    listed = run(env, "plugins", "--plugin", "policy_eval_sample.plugin")
    row = next(line for line in listed.stdout.splitlines() if line.strip().startswith("policy_eval_sample.plugin"))
    assert f"{SAMPLE_DIST} {SAMPLE_VERSION} (explicit)" in row
    evaluated = run(env, "eval", "-p", _rel(POLICIES), "--plugin", "policy_eval_sample.plugin",
                    "--input-format", "tsv", _rel(DATA / "cases" / "parcels.tsv"), "--format", "jsonl",
                    "--detail", "full", "-q")
    assert _outcomes(evaluated.stdout) == EXPECTED


def test_explicit_plugin_that_does_not_import(sample_env: dict[str, str]) -> None:
    proc = run(sample_env, "plugins", "--plugin", "no_such_plugin_module_xyz")
    assert proc.returncode == 2
    assert "cannot import plugin 'no_such_plugin_module_xyz'" in proc.stderr


def test_a_policy_file_cannot_load_a_plugin(sample_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copytree(DATA / "schemas", tmp_path / "schemas")
    text = (POLICIES / "shipping.yaml").read_text(encoding="utf-8")
    (folder / "shipping.yaml").write_text("plugins: [policy_eval_sample.plugin]\n" + text, encoding="utf-8")
    env = {**sample_env, AUTOLOAD_ENV: "1"}
    proc = run(env, "check", str(folder))
    assert proc.returncode == 2
    assert "shipping.yaml:1:" in proc.stderr and "plugins" in proc.stderr, proc.stderr  # rejected by the schema
    assert "policy_eval_sample" not in run(env, "plugins").stdout


def test_broken_installed_plugin_is_named(sample_env: dict[str, str], tmp_path: Path) -> None:
    """A plugin whose import fails is reported with its entry point and distribution, and can be bypassed."""
    (tmp_path / "broken_pe_plugin.py").write_text("raise ImportError('needs libfoo')\n", encoding="utf-8")
    dist = tmp_path / "broken_pe_plugin-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-pe-plugin\nVersion: 1.2\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[policy_eval]\nbroken = broken_pe_plugin\n", encoding="utf-8")
    env = {**sample_env, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), sample_env.get("PYTHONPATH")]))}
    proc = run(env, "plugins")
    assert proc.returncode == 2
    assert "cannot load plugin 'broken' (broken_pe_plugin) from broken-pe-plugin 1.2" in proc.stderr
    assert "needs libfoo" in proc.stderr and AUTOLOAD_ENV in proc.stderr
    assert run({**env, AUTOLOAD_ENV: "1"}, "plugins").returncode == 0


# --- the plugin manager in-process ------------------------------------------------------------------------

class Doubler:
    """A plugin object with one function."""

    @hookimpl
    def policy_eval_functions(self) -> list[Function]:
        return [Function("double", (INT,), INT, lambda n: 2 * n)]


def test_builtins_are_registered_like_third_party_plugins() -> None:
    pm = PluginManager(entry_points=False)
    for name in BUILTIN_PLUGINS:
        plugin = pm.pm.get_plugin(name)
        assert plugin is not None and plugin.__name__ == name
        assert pm.pm.get_hookcallers(plugin), f"{name} implements no hook"
    impls = {impl.plugin_name for impl in pm.pm.hook.policy_eval_functions.get_hookimpls()}
    assert {"policy_eval.plugins.core", "policy_eval.plugins.conduct", "policy_eval.plugins.workdays"} <= impls
    assert pm.functions().get("len") is not None and pm.functions().get("len").plugin == "core"  # type: ignore[union-attr]
    assert pm.functions().get("find_urls").plugin == "conduct"  # type: ignore[union-attr]
    assert {"csv", "pdd-after-sale"} <= set(pm.loaders())
    assert {"text", "json", "jsonl", "junit", "sarif"} <= set(pm.reporters())
    rows = pm.describe()
    assert [r["name"] for r in rows] == list(BUILTIN_PLUGINS)
    assert {r["version"] for r in rows} == {"builtin"} and {r["source"] for r in rows} == {"builtin"}


def test_explicit_plugin_object_adds_a_typed_function() -> None:
    pm = PluginManager(entry_points=False, extra=[Doubler()])
    fn = pm.functions().get("double")
    assert fn is not None and fn.signature() == "double(int) -> int"
    assert fn.plugin == "test_plugins.Doubler" or fn.plugin.endswith("Doubler")
    expr = compile_expression("double(21) + 0", functions=pm.functions())
    assert expr.evaluate() == 42
    with pytest.raises(PolicyTypeError) as err:
        compile_expression('double("21")', functions=pm.functions())
    assert err.value.message == "argument 1 of double() must be int, got string"
    assert (err.value.line, err.value.column) == (1, 8)
    row = pm.describe()[-1]
    assert row["source"] == "explicit" and row["version"].endswith("(explicit)")


def test_adding_the_same_plugin_twice_is_harmless() -> None:
    doubler = Doubler()
    pm = PluginManager(entry_points=False, extra=[doubler])
    pm.add(doubler)
    pm.add("policy_eval.plugins.conduct")  # a built-in named again
    assert len(pm.describe()) == len(BUILTIN_PLUGINS) + 1


def test_function_defined_by_two_plugins_is_an_error() -> None:
    class Other:
        @hookimpl
        def policy_eval_functions(self) -> list[Function]:
            return [Function("len", (STRING,), INT, len)]

    pm = PluginManager(entry_points=False, extra=[Other()])
    with pytest.raises(PluginError, match=r"function len\(\) is defined twice"):
        pm.functions()


def test_format_provided_by_two_plugins_is_an_error() -> None:
    class Reporter:
        @hookimpl
        def policy_eval_reporters(self) -> dict[str, Any]:
            return {"text": object}

    pm = PluginManager(entry_points=False, extra=[Reporter()])
    with pytest.raises(PluginError, match="output format 'text' is provided by two plugins: "
                                          "'policy_eval.plugins.reporters' and"):
        pm.reporters()


def test_builtin_input_formats_cannot_be_replaced() -> None:
    class Loader:
        @hookimpl
        def policy_eval_case_loaders(self) -> dict[str, Any]:
            return {"jsonl": lambda stream, source, options: iter(())}

    with pytest.raises(PluginError, match="the input format 'jsonl' is built in"):
        PluginManager(entry_points=False, extra=[Loader()]).loaders()


def test_misspelled_hook_is_reported() -> None:
    class Typo:
        @hookimpl
        def policy_eval_function(self) -> list[Function]:
            return []

    with pytest.raises(PluginError, match="policy_eval_function"):
        PluginManager(entry_points=False, extra=[Typo()])


def test_undecorated_hook_is_reported() -> None:
    class Plain:
        def policy_eval_functions(self) -> list[Function]:
            return []

    with pytest.raises(PluginError, match=r"policy_eval_functions\(\) is not decorated with"):
        PluginManager(entry_points=False, extra=[Plain()])
    pm = PluginManager(entry_points=False)
    with pytest.raises(PluginError):
        pm.add(Plain())
    assert len(pm.describe()) == len(BUILTIN_PLUGINS)  # the rejected plugin is not left registered


@pytest.mark.parametrize("batch, message", [
    ("not a list", "must return a list of Function objects"),
    ([42], "must return policy_eval.lang.functions.Function objects, got 42"),
    # a declaration a policy's call would have turned into an unlocated "internal error ... a bug in policy-eval"
    ([Function("bad_types", ("string",), STRING, str)],  # type: ignore[arg-type]
     r"function bad_types\(\): parameter 1 is 'string' \(str\), not a type of policy_eval.lang.types"),
    ([Function("bad_result", (STRING,), "string", str)],  # type: ignore[arg-type]
     r"function bad_result\(\): its result type is 'string' \(str\), not a type"),
    ([Function("not a name", (STRING,), STRING, str)], r"function name 'not a name' cannot be called from a condition"),
    ([Function("and", (STRING,), STRING, str)], r"function name 'and' cannot be called"),
    ([Function("no_impl", (STRING,), STRING, "str")],  # type: ignore[arg-type]
     r"function no_impl\(\): its implementation 'str' is not callable"),
])
def test_hook_returning_the_wrong_shape(batch: Any, message: str) -> None:
    class Wrong:
        @hookimpl
        def policy_eval_functions(self) -> Any:
            return batch

    with pytest.raises(PluginError, match=message):
        PluginManager(entry_points=False, extra=[Wrong()]).functions()


def test_hook_raising_names_the_plugin() -> None:
    class Failing:
        @hookimpl
        def policy_eval_enrichers(self) -> list[Any]:
            raise RuntimeError("boom")

    pm = PluginManager(entry_points=False)
    pm.add(Failing(), name="failing")
    with pytest.raises(PluginError, match=r"plugin 'failing': policy_eval_enrichers\(\) failed: RuntimeError: boom"):
        pm.enrichers()


def test_registries_are_rebuilt_when_a_plugin_is_added() -> None:
    pm = PluginManager(entry_points=False)
    assert pm.functions().get("double") is None
    pm.add(Doubler())
    assert pm.functions().get("double") is not None


def test_unknown_module_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match="cannot import plugin 'no_such_plugin_module_xyz'"):
        PluginManager(entry_points=False, extra=["no_such_plugin_module_xyz"])


def test_a_misspelt_decorated_hook_gets_did_you_mean_and_no_input_prefix() -> None:
    """An embedding developer's audit: docs/plugins.md promises a "did you mean" for a misspelt hook; it came only
    for an undecorated function (a decorated one got pluggy's "unknown hook"), and the message began "<input>:"."""
    import types

    from policy_eval.api import PluginError, Rulebook
    from policy_eval.plugins.hookspecs import hookimpl

    module = types.ModuleType("misspelt_plugin")
    module.policy_eval_function = hookimpl(lambda: [])  # type: ignore[attr-defined]
    with pytest.raises(PluginError) as info:
        Rulebook.load(plugins=[module])
    assert str(info.value) == ("plugin 'misspelt_plugin': policy_eval_function() is not a policy-eval hook; "
                               "did you mean policy_eval_functions?")


def test_a_plugin_with_no_hook_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An outside trial: a --plugin module whose hooks sat inside a class loaded and was listed, doing nothing."""
    (tmp_path / "hookless.py").write_text(
        "from policy_eval.plugins.hookspecs import hookimpl\n\n\nclass Hooks:\n    @hookimpl\n"
        "    def policy_eval_functions(self):\n        return []\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = PluginManager(entry_points=False)
    with pytest.raises(PluginError, match=r"plugin 'hookless' implements no policy-eval hook"):
        pm.add("hookless")
    assert len(pm.describe()) == len(BUILTIN_PLUGINS)  # not left registered
