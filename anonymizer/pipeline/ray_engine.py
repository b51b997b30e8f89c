"""``engine=ray``: documents anonymized by a pool of Ray actors (Ray Data).

:func:`run_jobs` turns the :class:`~anonymizer.pipeline.corpus.Job` list into a Ray Dataset
(one small block per few documents) mapped by an actor pool
(:class:`~ray.data.ActorPoolStrategy`): each :class:`DocumentWorker` builds the pipeline
once (:meth:`DocumentAnonymizer.from_config`) and then, per document, reads its bytes
(fsspec for URLs), runs the command's one-document function (the same one the local
engine runs, named by ``"module:function"`` so no code travels in the payload) and writes the
output and audit (atomically: locally by the function itself, to URLs through a temporary
name moved onto the target). Rows come back to the driver as documents finish: no text,
only the document's path, status, reason and counts.

The surrogate secret never travels: workers read it from their own environment (the
variable named by ``secret_env``). A local Ray started here gives its workers this
process's environment; on a cluster, every node's ``ray start`` must have it set. Workers
check that they have one when the driver has one (a flag, not the value), so surrogates
cannot silently differ between workers.

``ray`` is imported only by :func:`run_jobs` (``pip install -e ".[ray]"``).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from anonymizer.pipeline.audit import AUDIT_SUFFIX, audit_path
from anonymizer.pipeline.corpus import Job, fetch, is_corpus_url, publish
from anonymizer.pipeline.process_pool import resolve_function

log = logging.getLogger(__name__)

#: Documents per Ray Data block: small, so idle actors take work while others finish long PDFs.
DOCS_PER_BLOCK = 4

__all__ = ["EngineError", "RaySettings", "DocumentWorker", "run_jobs"]


class EngineError(RuntimeError):
    """Ray is missing, cannot start, or the cluster cannot run the workers (one line)."""


@dataclass(frozen=True)
class RaySettings:
    """``engine`` keys of ``anonymizer/conf/engine/ray.yaml``.

    Attributes:
        address: None: start a local Ray on this machine (loopback only); ``auto`` or
            ``ray://host:10001``: connect to a running cluster.
        num_cpus: CPUs of a local Ray (None: all cores); ignored with an address.
        num_actors: actors in the pool (None: as many as the cluster's CPUs/GPUs allow).
        cpus_per_actor: CPUs reserved per actor.
        gpus_per_actor: GPUs per actor (the diffusion renderer); 0 on CPU-only clusters.
    """

    address: str | None = None
    num_cpus: int | None = None
    num_actors: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0


class DocumentWorker:
    """One actor of the pool: builds the pipeline once, then anonymizes one document per call.

    Args:
        cfg: the command's config as plain data (no secret: ``secret_env`` names a variable).
        process: ``"module:function"`` of ``process(path, target, pipeline, cfg) -> outcome``,
            which writes the output and the audit and never raises for a bad document.
        secret_expected: the driver has a surrogate secret: this worker must have one too.

    Raises:
        PipelineError: a component cannot start here, or the secret is missing here.
    """

    def __init__(self, cfg: dict[str, Any], process: str, secret_expected: bool) -> None:
        from omegaconf import OmegaConf

        from anonymizer.pipeline.document import DocumentAnonymizer, PipelineError, surrogate_secret

        self.cfg = OmegaConf.create(cfg)
        if secret_expected and surrogate_secret(self.cfg) is None:
            raise PipelineError(f"a Ray worker has no surrogate secret: set {self.cfg.secret_env} in the "
                                "environment of every node (ray start), as on the driver")
        self.pipeline = DocumentAnonymizer.from_config(self.cfg)
        self.process = resolve_function(process)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        job = Job(str(row["document"]), str(row["source"]), str(row["target"]), bool(row["replace_audit"]))
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="anonymizer-doc-") as tmp:
            outcome = self._run(job, Path(tmp))
        outcome["seconds"] = round(time.perf_counter() - started, 3)
        return outcome

    def _run(self, job: Job, tmp: Path) -> dict[str, Any]:
        name = PurePosixPath(job.document).name
        record: dict[str, Any] = {"document": job.document, "status": "failed", "reason": None, "pages": 0,
                                  "entities": "{}", "leaks": 0}
        remote_out = is_corpus_url(job.target)
        target = tmp / "out" / name if remote_out else Path(job.target)
        try:
            source = fetch(job.source, tmp / "in") if is_corpus_url(job.source) else Path(job.source)
        except OSError as err:
            record["reason"] = f"cannot read the input ({err.strerror or err})"
            self._failed_audit(job, name, record["reason"], tmp)
            return record
        outcome = self.process(source, target, self.pipeline, self.cfg)
        record.update(status=outcome.status, reason=outcome.reason, pages=outcome.pages,
                      entities=json.dumps(dict(outcome.entities)), leaks=outcome.leaks)
        if remote_out and outcome.status in ("ok", "failed"):
            try:
                if outcome.status == "ok":
                    publish(target, job.target, overwrite=bool(self.cfg.overwrite))
                audit = audit_path(target)
                publish(audit, job.target + AUDIT_SUFFIX, overwrite=bool(self.cfg.overwrite) or job.replace_audit)
            except FileExistsError:
                record.update(status="exists", reason="output exists (pass overwrite=true to replace it)")
            except OSError as err:
                record.update(status="failed", reason=f"cannot write the output ({err.strerror or err})")
        return record

    def _failed_audit(self, job: Job, name: str, reason: str, tmp: Path) -> None:
        """The audit of a document that could not be read (best effort)."""
        from anonymizer.core.outputs import write_json

        audit = self.pipeline.audit(input_name=name, output_name=name, status="failed", reason=reason,
                                    pages_audit=[], seconds=0.0)
        try:
            if is_corpus_url(job.target):
                local = tmp / (name + AUDIT_SUFFIX)
                write_json(local, audit, overwrite=True)
                publish(local, job.target + AUDIT_SUFFIX, overwrite=True)
            else:
                write_json(job.target + AUDIT_SUFFIX, audit, overwrite=True)
        except OSError:
            pass


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineError('engine=ray needs Ray: pip install -e ".[ray]"') from None
    return ray


def _connect(ray: Any, settings: RaySettings) -> bool:
    """Connect to (or start) Ray; True when this call started it (and must shut it down)."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if settings.address:
            ray.init(address=settings.address, **options)
        else:  # this machine only: every Ray process listens on loopback
            ray.init(num_cpus=settings.num_cpus, _node_ip_address="127.0.0.1", **options)
    except Exception as err:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        where = settings.address or "a local Ray"
        raise EngineError(f"cannot start or reach {where} ({type(err).__name__}: {str(err).splitlines()[0]})") \
            from None
    return True


def pool_size(resources: dict[str, float], settings: RaySettings) -> int:
    """The number of actors: ``num_actors``, or as many as the cluster's CPUs (and GPUs) allow."""
    if settings.num_actors:
        return int(settings.num_actors)
    size = int(resources.get("CPU", 1) // max(settings.cpus_per_actor, 1e-9))
    if settings.gpus_per_actor:
        size = min(size, int(resources.get("GPU", 0) // settings.gpus_per_actor))
    return max(size, 1)


def run_jobs(jobs: list[Job], cfg: dict[str, Any], process: str, settings: RaySettings,
             secret_expected: bool) -> Iterator[dict[str, Any]]:
    """Anonymize ``jobs`` on Ray; yields one record per document as it finishes
    (``document, status, reason, pages, entities`` (a JSON object) ``, leaks, seconds``).

    Raises:
        EngineError: Ray is missing or cannot start, or the workers cannot start (e.g. a
            component or the secret missing on a node).
    """
    if not jobs:
        return
    ray = _import_ray()
    started_here = _connect(ray, settings)
    try:
        from ray.data import ActorPoolStrategy, DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = False  # the command draws its own
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        size = min(pool_size(ray.cluster_resources(), settings), len(jobs))
        # a document per block in small runs; DOCS_PER_BLOCK per block in large ones
        blocks = len(jobs) if len(jobs) <= 16 * size else -(-len(jobs) // DOCS_PER_BLOCK)
        items = [asdict(job) for job in jobs]
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map(
            DocumentWorker,
            fn_constructor_kwargs={"cfg": cfg, "process": process, "secret_expected": secret_expected},
            compute=ActorPoolStrategy(size=size, max_tasks_in_flight_per_actor=1),
            num_cpus=settings.cpus_per_actor,
            num_gpus=settings.gpus_per_actor or None,
        )
        try:
            yield from dataset.iter_rows()
        except Exception as err:  # noqa: BLE001 - an actor that cannot start stops the dataset
            raise EngineError(f"the Ray workers stopped: {_cause(err)}") from None
    finally:
        if started_here:
            ray.shutdown()


def _cause(err: BaseException) -> str:
    """The pipeline's own message when a worker could not start (a
    :class:`~anonymizer.pipeline.document.PipelineError`: no document text), else the
    innermost exception's type."""
    from anonymizer.pipeline.document import PipelineError

    chain, seen = [], err
    while seen is not None and seen not in chain and len(chain) < 20:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "cause", None)
    for exc in chain:
        if isinstance(exc, PipelineError):
            return str(exc)
        for line in str(exc).splitlines():  # Ray re-raises a worker's exception with its traceback as text
            line = line.strip()
            if line.startswith(("anonymizer.pipeline.document.PipelineError:", "PipelineError:")):
                return line.split(":", 1)[1].strip()
    return type(chain[-1]).__name__
