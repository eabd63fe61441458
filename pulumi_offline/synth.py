"""Pulumi programs run under Pulumi's mocks, as a resource graph; and ``reelstack synth --stack dev|prod [--format tree|json|dot|mermaid|svg]``.

``synthesize_project`` runs a Pulumi project's program -- the very program ``pulumi up`` runs --
with the stack's ``Pulumi.<stack>.yaml`` config, against Pulumi's unit-test mocks instead of a
deployment engine, and returns every resource the program registered (``run_program`` does the
same for any callable). The offline policy run, the pytest plugin and the tests read this graph;
``synthesize`` is reelstack's own stack. Each run happens in its own thread with a fresh event
loop, context and runtime settings, and closes all it opened, so one process can synthesize dev
and then prod, or carry on after a program that failed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import functools
import hashlib
import json
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "reelstack"
MOCK_ACCOUNT = "123456789012"
MOCK_REGION = "us-east-1"
STACK_TYPE = "pulumi:pulumi:Stack"
_SIG_KEY = "4dabf18193072939515e22adb298388d"  # Pulumi's special-value signature key
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - the signature marking a secret


@dataclass(frozen=True)
class SynthResource:
    """One resource the stack program registered, as the engine would see it."""

    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]
    protect: bool
    custom: bool
    computed: dict[str, Any] = field(default_factory=dict)
    """What the provider computed on creation (id, ARN, URL...), as the mocks answered; the
    resource's outputs are its inputs updated with these."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """For each input fed by other resources' outputs, their URNs, as the registration sent them."""
    aliases: tuple[str, ...] = ()
    """The URNs the resource had before (``pulumi.Alias``): ``pulumi up`` moves a resource found
    under one of them rather than replacing it."""


@dataclass(frozen=True)
class SynthInvoke:
    """One data-source call the program made (``aws.ec2.get_ami`` ...), with its arguments."""

    token: str
    args: dict[str, Any]


class _Registration(NamedTuple):
    """What the monitor sees of a registration that the mocks' ``new_resource`` is not given."""

    urn: str
    parent: str | None
    protect: bool
    property_dependencies: dict[str, list[str]]
    aliases: tuple[str, ...]


@dataclass
class _Recorder(pulumi.runtime.Mocks):
    """Answers the engine's calls with plausible AWS-shaped outputs, and records every resource."""

    region: str
    resources: list[SynthResource] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    invokes: list[SynthInvoke] = field(default_factory=list)
    _pending: dict[tuple[str, str], _Registration] = field(default_factory=dict)

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        registration = self._pending.pop((args.typ, args.name), _Registration("", None, False, {}, ()))
        computed = _computed(args.typ, args.name, args.inputs, self.region)
        computed["id"] = str(computed.get("id", f"{args.name}-id"))
        self.resources.append(
            SynthResource(
                type=args.typ,
                name=args.name,
                urn=registration.urn,
                parent=registration.parent,
                inputs=_plain(args.inputs),
                protect=registration.protect,
                custom=bool(args.custom),
                computed=_plain(computed) if args.custom else {},
                property_dependencies=registration.property_dependencies,
                aliases=registration.aliases,
            )
        )
        return computed["id"], {**args.inputs, **computed}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        region = self.region
        self.invokes.append(SynthInvoke(args.token, _plain(args.args)))
        if args.token == "aws:ec2/getAmi:getAmi":  # noqa: S105 - a data source, not a secret
            return _newest_image(_plain(args.args)), []
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": MOCK_ACCOUNT,
                "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:root",
                "userId": "mock",
            },
            "aws:index/getRegion:getRegion": {"name": region, "region": region, "id": region},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": [f"{region}{s}" for s in "abcd"],
                "zoneIds": [f"use1-az{i}" for i in range(1, 5)],
                "id": region,
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
            },
        }
        return answers.get(args.token, {}), []


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, remembering each registration's parent, ``protect`` flag, property
    dependencies and aliases."""

    def __init__(self, recorder: _Recorder) -> None:
        super().__init__(recorder)
        self.recorder = recorder

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        parent = request.parent or None
        if parent is not None and parent.split("::")[2] == STACK_TYPE:
            parent = None
        # The SDK gathers these in a set: sorted, so the graph is the same run to run.
        dependencies = {k: sorted(v.urns) for k, v in request.propertyDependencies.items() if v.urns}
        aliases = tuple(self._alias_urn(request, alias) for alias in request.aliases)
        self.recorder._pending[(request.type, request.name)] = _Registration(
            urn, parent, bool(request.protect), dependencies, aliases
        )
        return super().RegisterResource(request)

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """The URN an alias names: a full URN, or a spec whose unset parts are the resource's own."""
        if alias.urn:
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = rpc.deserialize_properties(request.outputs) if request.outputs else {}
        self.recorder.outputs[request.urn] = _plain(outputs)
        return super().RegisterResourceOutputs(request)


def _plain(value: Any) -> Any:
    """Inputs as plain JSON-able data (archives and assets become their path or text)."""
    if isinstance(value, Mapping):
        if value.get(_SIG_KEY) == _SECRET_SIG:  # a secret: the engine sees its value
            return _plain(value.get("value"))
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"path": str(value.path)}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {k: _plain(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _short(name: str) -> str:
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]


def _newest_image(lookup: Mapping[str, Any]) -> dict[str, Any]:
    """What ``aws.ec2.get_ami`` finds: one image matching the lookup's filters, with an id of AWS's
    form derived from them, so one service's lookup answers the same id in every run and stack."""
    filters = {f["name"]: f["values"][0] for f in lookup.get("filters") or []}
    name = filters.get("name", "image-*").replace("*", "20260101000000")
    image = "ami-" + hashlib.sha256(json.dumps(lookup, sort_keys=True).encode()).hexdigest()[:17]
    return {
        "id": image,
        "imageId": image,
        "name": name,
        "architecture": filters.get("architecture", "arm64"),
        "state": filters.get("state", "available"),
        "ownerId": MOCK_ACCOUNT,
        "rootDeviceName": "/dev/xvda",
    }


def _computed(typ: str, name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    """What the provider would compute: ARNs, URLs, DNS names, generated ids."""
    acct = MOCK_ACCOUNT
    module = typ.split(":")[1].split("/")[0]
    service = {"lb": "elasticloadbalancing", "cognito": "cognito-idp", "cloudwatch": "logs"}.get(
        module, module
    )
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{region}:{acct}:{name}"}
    physical = inputs.get("name") or inputs.get("bucket") or f"{name}-{_short(name)}"
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{_short(name)}"
        out.update(
            bucket=bucket,
            arn=f"arn:aws:s3:::{bucket}",
            bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
            id=bucket,
        )
    elif typ == "aws:sqs/queue:Queue":
        out.update(
            arn=f"arn:aws:sqs:{region}:{acct}:{physical}",
            url=f"https://sqs.{region}.amazonaws.com/{acct}/{physical}",
            name=physical,
            id=f"https://sqs.{region}.amazonaws.com/{acct}/{physical}",
        )
    elif typ == "aws:sns/topic:Topic":
        out.update(
            arn=f"arn:aws:sns:{region}:{acct}:{physical}",
            name=physical,
            id=f"arn:aws:sns:{region}:{acct}:{physical}",
        )
    elif typ == "aws:cognito/userPool:UserPool":
        out.update(
            id=f"{region}_{_short(name)}",
            arn=f"arn:aws:cognito-idp:{region}:{acct}:userpool/{region}_{_short(name)}",
        )
    elif typ == "aws:cognito/userPoolClient:UserPoolClient":
        out.update(id=f"client{_short(name)}")
    elif typ == "aws:secretsmanager/secret:Secret":
        out.update(arn=f"arn:aws:secretsmanager:{region}:{acct}:secret:{physical}-{_short(name)[:6]}")
    elif typ == "aws:rds/instance:Instance":
        host = f"{physical}.{_short(name)}.{region}.rds.amazonaws.com"
        out.update(
            # AWS completes an identifier prefix with a unique suffix
            identifier=inputs.get("identifier") or f"{inputs.get('identifierPrefix', name)}{_short(name)}",
            address=host,
            endpoint=f"{host}:5432",
            port=5432,
            masterUserSecrets=[
                {
                    "secretArn": f"arn:aws:secretsmanager:{region}:{acct}:secret:rds!db-{_short(name)}",
                    "kmsKeyId": "",
                    "secretStatus": "active",
                }
            ],
        )
    elif typ == "aws:lb/loadBalancer:LoadBalancer":
        out.update(
            dnsName=f"internal-{name}-{_short(name)}.{region}.elb.amazonaws.com",
            arnSuffix=f"app/{name}/{_short(name)}",
            arn=f"arn:aws:elasticloadbalancing:{region}:{acct}:loadbalancer/app/{name}/{_short(name)}",
        )
    elif typ == "aws:lb/targetGroup:TargetGroup":
        out.update(
            arnSuffix=f"targetgroup/{name}/{_short(name)}",
            arn=f"arn:aws:elasticloadbalancing:{region}:{acct}:targetgroup/{name}/{_short(name)}",
        )
    elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        out.update(arn=f"arn:aws:cloudwatch:{region}:{acct}:alarm:{name}")
    elif typ == "aws:cloudfront/distribution:Distribution":
        out.update(
            domainName=f"d{_short(name)}.cloudfront.net",
            arn=f"arn:aws:cloudfront::{acct}:distribution/E{_short(name)}",
        )
    elif typ == "aws:wafv2/webAcl:WebAcl":
        # A CLOUDFRONT-scoped web ACL is "global" in its ARN, a REGIONAL one "regional".
        scope = "global" if inputs.get("scope") == "CLOUDFRONT" else "regional"
        out.update(
            id=_short(name),
            arn=f"arn:aws:wafv2:{inputs.get('region') or region}:{acct}:{scope}/webacl/{physical}/{_short(name)}",
        )
    elif typ == "aws:cloudfront/keyValueStore:KeyValueStore":
        out.update(arn=f"arn:aws:cloudfront::{acct}:key-value-store/{_short(name)}")
    elif typ == "aws:apigateway/restApi:RestApi":
        api_id = _short(name)
        out.update(
            id=api_id,
            rootResourceId=f"root{api_id}",
            executionArn=f"arn:aws:execute-api:{region}:{acct}:{api_id}",
        )
    elif typ == "aws:apigateway/stage:Stage":
        out.update(
            invokeUrl=f"https://{inputs.get('restApi', _short(name))}.execute-api.{region}.amazonaws.com/{inputs.get('stageName', '')}"
        )
    elif typ == "aws:lambda/function:Function":
        out.update(
            arn=f"arn:aws:lambda:{region}:{acct}:function:{physical}",
            invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:{region}:{acct}:function:{physical}/invocations",
        )
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        out.update(arn=f"arn:aws:logs:{region}:{acct}:log-group:{physical}")
    elif typ == "aws:dynamodb/table:Table":
        out.update(arn=f"arn:aws:dynamodb:{region}:{acct}:table/{physical}", name=physical, id=physical)
    elif typ == "aws:iam/role:Role":
        out.update(arn=f"arn:aws:iam::{acct}:role/{physical}", name=physical)
    elif typ == "aws:iam/instanceProfile:InstanceProfile":
        out.update(arn=f"arn:aws:iam::{acct}:instance-profile/{physical}", name=physical)
    elif typ == "aws:kms/key:Key":
        out.update(arn=f"arn:aws:kms:{region}:{acct}:key/{_short(name)}", keyId=_short(name))
    elif typ == "aws:autoscaling/group:Group":
        out.update(name=physical)
    elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
        out.update(latestVersion=1)
    elif typ == "random:index/randomPassword:RandomPassword":
        out.update(result="mock-" + hashlib.sha256(name.encode()).hexdigest())
    elif typ == "aws:ec2/vpc:Vpc":
        out.update(cidrBlock=inputs.get("cidrBlock", "10.0.0.0/16"))
    return out


def _config_value(key: str, value: Any, source: Path) -> str:
    """A config value as the engine passes it: strings as they are, anything else as JSON."""
    if isinstance(value, Mapping) and "secure" in value:
        raise ValueError(
            f"{source}: {key} is an encrypted secret, which cannot be decrypted offline; "
            "pass a stand-in value in the run's config instead"
        )
    return value if isinstance(value, str) else json.dumps(value)


def namespaced(config: Mapping[str, Any], project: str, source: Path | None = None) -> dict[str, str]:
    """Config keys as ``namespace:key`` (a bare key is the project's), values as the engine's strings."""
    return {
        key if ":" in key else f"{project}:{key}": _config_value(key, value, source or Path(project))
        for key, value in config.items()
    }


@dataclass(frozen=True)
class PulumiProject:
    """A Pulumi project directory as the engine reads it: ``Pulumi.yaml`` and its ``Pulumi.<stack>.yaml`` files."""

    directory: Path
    name: str
    main: Path
    """The program: a directory holding ``__main__.py`` (Pulumi.yaml's ``main``, default the project's own)."""
    defaults: dict[str, str]
    """Project-level config values and defaults (Pulumi.yaml's ``config``), namespaced."""

    @classmethod
    def read(cls, directory: Path | str) -> PulumiProject:
        root = Path(directory).resolve()
        path = root / "Pulumi.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"{root} is not a Pulumi project: it has no Pulumi.yaml")
        document = yaml.safe_load(path.read_text()) or {}
        name = str(document.get("name") or "")
        if not name:
            raise ValueError(f"{path} has no project name")
        main = root / str(document.get("main") or ".")
        defaults: dict[str, Any] = {}
        for key, value in (document.get("config") or {}).items():
            if isinstance(value, Mapping):  # the long form: {type, default | value, ...}
                if "value" in value or "default" in value:
                    defaults[key] = value.get("value", value.get("default"))
            else:
                defaults[key] = value
        return cls(root, name, main, namespaced(defaults, name, path))

    def stacks(self) -> list[str]:
        return sorted(
            p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in self.directory.glob("Pulumi.*.yaml")
        )

    def config(self, stack: str) -> dict[str, str]:
        """The stack's config as the engine passes it: the project's values under ``Pulumi.<stack>.yaml``'s."""
        path = self.directory / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"no stack config {path}; stacks: {', '.join(self.stacks()) or 'none'}")
        document = yaml.safe_load(path.read_text()) or {}
        return {**self.defaults, **namespaced(document.get("config") or {}, self.name, path)}


def _imported_from(module: object, directory: Path) -> bool:
    """Whether a module was found on the program's own path entry: its top-level name is a file
    or package there and its code lives there (``stacks.config`` is not ``config`` from ``stacks/``)."""
    top = directory / getattr(module, "__name__", "").partition(".")[0]
    if not (top.is_dir() or top.with_suffix(".py").is_file()):
        return False
    locations = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
    return any(place and Path(place).resolve().is_relative_to(directory) for place in locations)


@contextlib.contextmanager
def program_imports(directory: Path) -> Iterator[None]:
    """The program's directory first on ``sys.path`` while it runs, as Pulumi's Python host puts it.

    Modules the program imported from there are dropped afterwards: a module that creates
    resources when imported must create them again in the next run, under that run's config.
    """
    directory = directory.resolve()
    before = set(sys.modules)
    entry = str(directory)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
        for name in set(sys.modules) - before:
            if _imported_from(sys.modules[name], directory):
                del sys.modules[name]


class _LoopPerThreadExecutor(ThreadPoolExecutor):
    """The default executor of a synthesis loop, whose workers each own an event loop closed with it.

    Pulumi sends every registration and invoke to the loop's default executor, and the mock monitor
    runs asyncio on that worker thread, making itself a loop there when the thread has none. Those
    loops were never closed: the garbage collector found them later, in whatever test ran then, with
    "unclosed event loop" warnings and "Invalid file descriptor" errors from closing them too late.
    """

    def __init__(self, name: str) -> None:
        self._loops: list[asyncio.AbstractEventLoop] = []
        super().__init__(thread_name_prefix=name, initializer=self._open_loop)

    def _open_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loops.append(loop)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:  # the workers have exited, so nothing runs on their loops any more
            while self._loops:
                self._loops.pop().close()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a failed program left pending, join the executor, close the loop (as the Automation API does)."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    asyncio.set_event_loop(None)


def _run(program: Callable[[], object], project: str, stack: str, config: Mapping[str, str]) -> _Recorder:
    # Pulumi keeps the set of pending outputs (and its lock) in process-wide defaults unless the
    # context sets its own; without this reset a failed run leaves its unfinished outputs there
    # and the next run's wait_for_rpcs waits for them on a closed loop, forever.
    pulumi.runtime.reset_options(project=project, stack=stack, preview=False)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_LoopPerThreadExecutor(f"synth-{stack}-rpc"))
    asyncio.set_event_loop(loop)
    recorder = _Recorder(region=config.get("aws:region", MOCK_REGION))
    try:
        pulumi.runtime.set_mocks(
            recorder, project=project, stack=stack, preview=False, monitor=_RecordingMonitor(recorder)
        )
        pulumi.runtime.set_all_config(dict(config))
        program()
        loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
        root = pulumi.runtime.settings.get_root_resource()
        exported = getattr(root, "outputs", None) or {}
        if root is not None and exported:
            values = loop.run_until_complete(pulumi.Output.from_input(dict(exported)).future())
            recorder.outputs[f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"] = _plain(
                values or {}
            )
    finally:
        _close(loop)
    return recorder


@dataclass(frozen=True)
class Synthesis:
    """A program's resources and the outputs registered for them (``exports``: the stack's)."""

    resources: list[SynthResource]
    outputs: dict[str, dict[str, Any]]
    invokes: list[SynthInvoke] = field(default_factory=list)

    @property
    def exports(self) -> dict[str, Any]:
        stack = next((v for k, v in self.outputs.items() if k.split("::")[2] == STACK_TYPE), {})
        return stack


def run_program(
    program: Callable[[], object],
    *,
    project: str = PROJECT,
    stack: str = "test",
    config: Mapping[str, str] | None = None,
) -> Synthesis:
    """Run any Pulumi program (a callable that creates resources) under the mocks; return its resources.

    Each run gets its own thread, event loop and context, so runs never share state.
    ``config`` maps ``namespace:key`` to string values, as ``pulumi config`` stores them.
    """
    result: list[_Recorder] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(_run(program, project, stack, config or {"aws:region": MOCK_REGION}))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=contextvars.Context().run, args=(target,), name=f"synth-{stack}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    # Registration order depends on the event loop; sort so the graph is stable run to run.
    resources = sorted(result[0].resources, key=lambda r: r.urn)
    return Synthesis(resources=resources, outputs=result[0].outputs, invokes=result[0].invokes)


def run_project(main: Path) -> None:
    """Run a project's program the way Pulumi's Python host does: its ``__main__.py`` as ``__main__``."""
    program = main / "__main__.py" if main.is_dir() else main
    if not program.is_file():
        raise FileNotFoundError(f"no Pulumi program at {program}; Pulumi.yaml's main names the directory")
    with program_imports(program.parent):
        runpy.run_path(str(program), run_name="__main__")


def synthesize_project(
    directory: Path | str, stack: str, *, overrides: Mapping[str, Any] | None = None
) -> Synthesis:
    """Run the Pulumi project in ``directory`` for ``stack`` under the mocks: resources and outputs.

    ``overrides`` (``namespace:key``, or a bare key for the project's own) take precedence over
    the stack's config file.
    """
    project = PulumiProject.read(directory)
    config = {**project.config(stack), **namespaced(overrides or {}, project.name)}
    return run_program(
        functools.partial(run_project, project.main), project=project.name, stack=stack, config=config
    )


def synthesize_stack(
    stack: str, root: Path | None = None, *, overrides: Mapping[str, str] | None = None
) -> Synthesis:
    """Run reelstack's stack program for ``stack`` under the mocks: resources and outputs."""
    return synthesize_project(root or ROOT, stack, overrides=overrides)


def synthesize(stack: str, root: Path | None = None) -> list[SynthResource]:
    """Every resource ``stacks/__main__.py`` registers for ``stack``, sorted by URN."""
    return synthesize_stack(stack, root).resources


_KEY_INPUTS = (
    "name",
    "bucket",
    "bucketPrefix",
    "instanceType",
    "instanceClass",
    "engine",
    "multiAz",
    "deletionProtection",
    "minSize",
    "maxSize",
    "cidrBlock",
    "pathPart",
    "httpMethod",
    "type",
    "uri",
    "responseTransferMode",
    "runtime",
    "stageName",
)


def _shown(value: object) -> object:
    """Whole numbers as the config wrote them: the mocks carry every number as a float."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _tree(resources: list[SynthResource]) -> str:
    children: dict[str | None, list[SynthResource]] = {}
    for resource in resources:
        children.setdefault(resource.parent, []).append(resource)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for r in children.get(parent, []):
            keys = {
                k: r.inputs[k]
                for k in _KEY_INPUTS
                if k in r.inputs and not isinstance(r.inputs[k], dict | list)
            }
            detail = " ".join(f"{k}={_shown(v)}" for k, v in keys.items())
            flag = " [protected]" if r.protect else ""
            lines.append(f"{'  ' * depth}{r.type} {r.name}{flag}{' ' + detail if detail else ''}")
            walk(r.urn, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pulumi_offline import draw

    parser = argparse.ArgumentParser(
        prog="reelstack synth", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--stack", required=True, choices=["dev", "prod"], help="which Pulumi.<stack>.yaml to use"
    )
    parser.add_argument(
        "--format",
        choices=["tree", "json", *draw.FORMATS],
        default="tree",
        help="tree (default): the parent tree; json: every resource; dot, mermaid, svg: the graph drawn",
    )
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    fmt = "json" if args.json else args.format
    resources = synthesize(args.stack)
    if fmt == "json":
        text = json.dumps([asdict(r) for r in resources], indent=2, sort_keys=True) + "\n"
    elif fmt == "tree":
        text = f"{_tree(resources)}\n\n{len(resources)} resources in stack {args.stack}\n"
    else:
        text = draw.draw(resources, fmt, title=f"{PROJECT} {args.stack}")
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
