"""The test kit as another project uses it: the plugin's fixtures in a throwaway project (conftest's ``shop``)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests.pulumi_offline.conftest import write_shop

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "pulumi_offline.plugin"
REELSTACK_PACKAGES = ("app", "infra", "stacks", "policies")

HEADER = """\
from pathlib import Path

from assets import SiteAssets, SiteAssetsArgs

SHOP = Path(__file__).parent / "shop"
POLICY = Path(__file__).parent / "policy"
"""


def run(pytester: pytest.Pytester, tests: str, *args: str) -> pytest.RunResult:
    """The tests run in-process by pytest with the plugin loaded, as an installed plugin would be."""
    pytester.makepyfile(test_shop=HEADER + textwrap.dedent(tests))
    return pytester.runpytest("-p", PLUGIN, *args)


def test_synth_program_runs_a_project_directory_under_each_stacks_config(
    shop: Path, pytester: pytest.Pytester
) -> None:
    result = run(
        pytester,
        """
        def test_dev(synth_program):
            graph = synth_program(SHOP, stack="dev")
            logs = graph.one("aws:s3/bucket:Bucket", "logs")
            assert logs.inputs["tags"] == {"owner": "web-team", "retention": "30"}
            assert logs.computed["bucketRegionalDomainName"].endswith(".s3.eu-west-1.amazonaws.com")
            site = graph.one("shop:index:SiteAssets", "site")
            assert sorted(r.name for r in graph.children(site)) == ["site-assets", "site-private"]
            assert graph.exports["site_bucket"] == graph.one("aws:s3/bucket:Bucket", "site-assets").computed["bucket"]

        def test_prod_after_dev_runs_the_programs_modules_again(synth_program):
            logs = synth_program(SHOP, stack="prod").one("aws:s3/bucket:Bucket", "logs")
            assert logs.inputs["tags"] == {"owner": "platform-team", "retention": "365"}

        def test_config_overrides_the_stack_file(synth_program):
            graph = synth_program(SHOP, stack="dev", config={"owner": "data-team", "retentionDays": 7})
            assert graph.one("aws:s3/bucket:Bucket", "logs").inputs["tags"] == {"owner": "data-team", "retention": "7"}
        """,
    )
    result.assert_outcomes(passed=3)


def test_synth_program_runs_a_callable_in_a_project_and_stack_of_its_own(
    shop: Path, pytester: pytest.Pytester
) -> None:
    result = run(
        pytester,
        """
        import pulumi
        import pulumi_aws as aws

        def test_callable(synth_program):
            def program():
                aws.sqs.Queue("jobs", name=pulumi.Config().require("queueName"))

            graph = synth_program(program, stack="ci", config={"queueName": "jobs-ci", "aws:region": "eu-central-1"})
            queue = graph.one("aws:sqs/queue:Queue", "jobs")
            assert queue.urn == "urn:pulumi:ci::project::pulumi:pulumi:Stack$aws:sqs/queue:Queue::jobs"
            assert queue.computed["url"] == "https://sqs.eu-central-1.amazonaws.com/123456789012/jobs-ci"
        """,
    )
    result.assert_outcomes(passed=1)


def test_synth_component_constructs_one_component_with_its_children_and_outputs(
    shop: Path, pytester: pytest.Pytester
) -> None:
    result = run(
        pytester,
        """
        def test_component(synth_component):
            built = synth_component(SiteAssets, "media", SiteAssetsArgs(owner="video-team"))
            assert (built.component.type, built.component.name) == ("shop:index:SiteAssets", "media")
            assert sorted(r.name for r in built.children) == ["media-assets", "media-private"]
            bucket = built.graph.one("aws:s3/bucket:Bucket", "media-assets")
            assert bucket.inputs["tags"] == {"owner": "video-team"}
            assert built.outputs == {"bucketName": bucket.computed["bucket"]}
            block = built.graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "media-private")
            assert block.inputs["blockPublicAcls"] is True
        """,
    )
    result.assert_outcomes(passed=1)


def test_policy_run_reports_a_violating_resource_at_the_packs_level(
    shop: Path, pytester: pytest.Pytester
) -> None:
    result = run(
        pytester,
        """
        import json

        def test_untagged_bucket_is_a_mandatory_violation(synth_component, policy_run):
            built = synth_component(SiteAssets, "media", SiteAssetsArgs(owner=None))
            report = policy_run(POLICY, built.graph)
            assert [(v.policy, v.level, v.resource_type, v.resource_name) for v in report.mandatory] == [
                ("s3-owner-tag", "mandatory", "aws:s3/bucket:Bucket", "media-assets")
            ]
            assert report.mandatory[0].message == "an S3 bucket needs an owner tag, so its bill has someone to go to"

        def test_a_tagged_stack_passes(synth_program, policy_run):
            report = policy_run(POLICY, synth_program(SHOP, stack="dev"))
            report.assert_passes()
            assert report.violations == []

        def test_the_config_file_sets_the_level(synth_component, policy_run, tmp_path):
            built = synth_component(SiteAssets, "media", SiteAssetsArgs(owner=None))
            config = tmp_path / "policy-config.json"
            config.write_text(json.dumps({"s3-owner-tag": "advisory"}))
            report = policy_run(POLICY, built.graph, config=config)
            assert report.mandatory == []
            assert [v.resource_name for v in report.advisory] == ["media-assets"]
            assert policy_run(POLICY, built.graph, config={"s3-owner-tag": "disabled"}).violations == []
        """,
    )
    result.assert_outcomes(passed=3)


def test_failing_assertions_say_what_the_graph_and_the_pack_hold(
    shop: Path, pytester: pytest.Pytester
) -> None:
    result = run(
        pytester,
        """
        def test_missing_bucket(synth_program):
            synth_program(SHOP, stack="dev").one("aws:s3/bucket:Bucket", "uploads")

        def test_blocked_by_the_pack(synth_component, policy_run):
            built = synth_component(SiteAssets, "media", SiteAssetsArgs(owner=None))
            policy_run(POLICY, built.graph).assert_passes()
        """,
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E * AssertionError: expected one aws:s3/bucket:Bucket named 'uploads', found 0;"
            " the aws:s3/bucket:Bucket resources are: logs, site-assets",
            "E * AssertionError: policy pack shop-policies blocks this graph:",
            "E * [[]mandatory] s3-owner-tag: aws:s3/bucket:Bucket media-assets:"
            " an S3 bucket needs an owner tag, so its bill has someone to go to",
            "E * pack shop-policies: 1 mandatory, 0 advisory",
        ]
    )


def test_ini_options_name_the_project_and_stack_a_test_leaves_out(
    shop: Path, pytester: pytest.Pytester
) -> None:
    pytester.makeini(
        "[pytest]\npythonpath = shop\npulumi_offline_project = shop\npulumi_offline_stack = prod\n"
    )
    result = run(
        pytester,
        """
        import pulumi_aws as aws

        def test_defaults(synth_program):
            assert synth_program().one("aws:s3/bucket:Bucket", "logs").inputs["tags"]["owner"] == "platform-team"
            queue = synth_program(lambda: aws.sqs.Queue("jobs")).one("aws:sqs/queue:Queue", "jobs")
            assert queue.urn == "urn:pulumi:prod::shop::pulumi:pulumi:Stack$aws:sqs/queue:Queue::jobs"
        """,
    )
    result.assert_outcomes(passed=1)


def test_synth_program_without_a_program_or_a_project_names_the_fix(
    shop: Path, pytester: pytest.Pytester
) -> None:
    result = run(pytester, "def test_no_program(synth_program):\n    synth_program()\n")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*synth_program() was given no program*set pulumi_offline_project*"])


def _entry_point_site(site: Path) -> Path:
    """A distribution declaring pyproject's pytest11 entry points, as installing reelstack would write it."""
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    dist = site / "pulumi_offline_kit-0.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pulumi-offline-kit\nVersion: 0.0.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[pytest11]\n{lines}")
    return site


@pytest.mark.parametrize("extra", [(), ("-p", PLUGIN)], ids=["entry point", "entry point and -p"])
def test_the_installed_entry_point_loads_the_plugin_once(
    shop: Path,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    extra: tuple[str, ...],
) -> None:
    site = _entry_point_site(tmp_path_factory.mktemp("site"))
    monkeypatch.setenv("PYTHONPATH", f"{site}:{ROOT}")
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makepyfile(
        test_loaded="def test_fixtures(synth_program, synth_component, policy_run):\n    assert synth_program.stack == 'test'\n"
    )
    result = pytester.runpytest_subprocess(*extra, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def _imported_modules(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
    return imported


def test_the_test_kit_imports_nothing_of_reelstack() -> None:
    sources = sorted((ROOT / "pulumi_offline").glob("*.py"))
    assert {p.name for p in sources} >= {"plugin.py", "synth.py", "policy.py", "graph.py"}
    borrowed = {
        f"{p.name}: {module}"
        for p in sources
        for module in _imported_modules(p)
        if module.partition(".")[0] in REELSTACK_PACKAGES
    }
    assert borrowed == set()
    probe = (
        "import sys, pulumi_offline.plugin, pulumi_offline.draw, pulumi_offline.regenerate_docs; "
        f"print(sorted(m for m in sys.modules if m.partition('.')[0] in {REELSTACK_PACKAGES!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_the_docs_example_passes_in_a_project_laid_out_as_it_says(pytester: pytest.Pytester) -> None:
    """docs/test-kit.md's example, run in ``shop`` with the project at the rootdir, as the doc lays it out."""
    text = (ROOT / "docs" / "test-kit.md").read_text()
    example = text.split("## An example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    write_shop(pytester.path, project_at_root=True)
    pytester.makefile(".json", **{"policy/config/prod": '{"s3-owner-tag": "mandatory"}'})
    pytester.makeini("[pytest]\npythonpath = .\n")
    pytester.makepyfile(**{"tests/test_stack": example})
    pytester.runpytest("-p", PLUGIN, "tests").assert_outcomes(passed=4)
