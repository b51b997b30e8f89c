"""``python -m anonymizer.store``: the model store and manifests.

    push DIR NAME [--version V] [--overwrite]    upload a verified export as NAME/V (default: latest)
    pull NAME DEST [--version V] [--overwrite]   download NAME/V into DEST, verified, atomically
    list [--json]                                name, version, kind, files, size, created
    manifest DIR [--kind K] [--force]            (re)create DIR/manifest.json for its current files
    verify DIR                                   check DIR against its manifest

The store is ``--store`` or ``$ANONYMIZER_STORE``: a local folder or ``s3://bucket/prefix``
(``--endpoint-url``, default botocore's ``$AWS_ENDPOINT_URL_S3``/``$AWS_ENDPOINT_URL``, for R2
or MinIO; ``--region``, ``--profile``). Credentials come only from the environment / AWS
config. Exit status: 0 success, 1 failure (not found, exists, verification, network), 2
usage (bad arguments, invalid names, no store given). Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from rich.filesize import decimal as human_size

from anonymizer.core.entry import FAILED, OK, UsageError, report_usage_error
from anonymizer.store.manifest import ManifestError, infer_kind, read_manifest, verify_manifest, write_manifest
from anonymizer.store.store import DEFAULT_VERSION, ModelStore, StoreNameError, check_name

STORE_ENV = "ANONYMIZER_STORE"

log = logging.getLogger("anonymizer.store")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise UsageError(f"{message} (see {self.prog} --help)")


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=os.environ.get(STORE_ENV),
                        help=f"local folder or s3://bucket/prefix (default: ${STORE_ENV})")
    parser.add_argument("--endpoint-url", default=None,
                        help="S3-compatible endpoint, e.g. https://<account>.r2.cloudflarestorage.com "
                             "(default: $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL)")
    parser.add_argument("--region", default=None, help="S3 region (R2: auto; default: $AWS_REGION)")
    parser.add_argument("--profile", default=None, help="AWS profile with the credentials (default: $AWS_PROFILE)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m anonymizer.store", description="Model store and export manifests.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    push = sub.add_parser("push", help="upload a verified export folder")
    push.add_argument("folder", type=Path)
    push.add_argument("name")
    push.add_argument("--version", default=DEFAULT_VERSION)
    push.add_argument("--overwrite", action="store_true", help="replace NAME/VERSION if it is in the store")
    push.add_argument("--quiet", action="store_true", help="no progress bar")
    _store_options(push)

    pull = sub.add_parser("pull", help="download and verify a model")
    pull.add_argument("name")
    pull.add_argument("dest", type=Path)
    pull.add_argument("--version", default=DEFAULT_VERSION)
    pull.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    pull.add_argument("--quiet", action="store_true", help="no progress bar")
    _store_options(pull)

    listing = sub.add_parser("list", help="list the store's models")
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout")
    _store_options(listing)

    manifest = sub.add_parser("manifest", help="(re)create a folder's manifest.json")
    manifest.add_argument("folder", type=Path)
    manifest.add_argument("--kind", default=None, help="autoencoder, text_edit, ... (default: inferred)")
    manifest.add_argument("--force", action="store_true", help="replace an existing manifest")

    verify = sub.add_parser("verify", help="check a folder against its manifest")
    verify.add_argument("folder", type=Path)
    return parser


def _store(args: argparse.Namespace) -> ModelStore:
    if not args.store:
        raise UsageError(f"no store given: pass --store or set ${STORE_ENV}")
    if (args.endpoint_url or args.region or args.profile) and not str(args.store).lower().startswith(("s3://", "s3a://")):
        raise UsageError("--endpoint-url, --region and --profile apply to s3:// stores only")
    return ModelStore(args.store, endpoint_url=args.endpoint_url, region=args.region, profile=args.profile)


def _names(args: argparse.Namespace) -> None:
    try:
        check_name(args.name)
        check_name(args.version, "version")
    except StoreNameError as err:
        raise UsageError(str(err)) from None


def _summary(manifest: dict) -> str:
    return f"{manifest['kind']}, {len(manifest['files'])} files, {human_size(int(manifest.get('total_size') or 0))}"


def _export_info(folder: Path) -> dict:
    """The export info a manifest records: ``export_info.json`` or the text-edit config, if any."""
    for name in ("export_info.json", "text_edit_config.json"):
        try:
            info = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict):
            return info
    return {}


def _list(store: ModelStore, as_json: bool) -> None:
    entries = store.list()
    if as_json:
        print(json.dumps([entry.__dict__ for entry in entries], indent=2))
        return
    if not entries:
        print(f"no models in {store.display}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "version", "kind", "files", "size", "created", title=store.display)
    for e in entries:
        table.add_row(e.name, e.version, e.kind, str(e.files), human_size(e.size), e.created)
    Console().print(table)


def run(args: argparse.Namespace) -> None:
    """Execute one parsed command (raises on failure)."""
    if args.command == "push":
        _names(args)
        where = _store(args).push(args.folder, args.name, args.version, overwrite=args.overwrite,
                                  progress=not args.quiet)
        print(f"pushed {args.folder} to {where} ({_summary(read_manifest(args.folder))})")
    elif args.command == "pull":
        _names(args)
        dest = _store(args).pull(args.name, args.dest, args.version, overwrite=args.overwrite, progress=not args.quiet)
        print(f"pulled {args.name}/{args.version} to {dest} ({_summary(read_manifest(dest))}, verified)")
    elif args.command == "list":
        _list(_store(args), args.json)
    elif args.command == "manifest":
        if not args.folder.is_dir():
            raise FileNotFoundError(f"{args.folder}: no such folder")
        if (args.folder / "manifest.json").exists() and not args.force:
            raise FileExistsError(
                f"{args.folder}: already has a manifest.json (check it with `verify`; --force replaces it)"
            )
        manifest = write_manifest(args.folder, args.kind or infer_kind(args.folder), _export_info(args.folder))
        print(f"wrote {args.folder / 'manifest.json'} ({_summary(manifest)})")
    elif args.command == "verify":
        print(f"{args.folder}: ok ({_summary(verify_manifest(args.folder))})")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failure, 2 usage)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        run(build_parser().parse_args(argv))
    except UsageError as err:
        return report_usage_error(err)
    except (ManifestError, OSError, ValueError) as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return OK


if __name__ == "__main__":
    sys.exit(main())
