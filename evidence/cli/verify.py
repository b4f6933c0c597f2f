"""``verify``: an expert's check of a bundle, with an optional signed verification report."""

from __future__ import annotations

import re
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from evidence.cli.fingerprints import colon_fingerprint
from evidence.cli.output import emit_json, gettext, labelled, print_verification
from evidence.cli.session import open_toolkit, read_file, read_optional

if TYPE_CHECKING:
    from evidence import VerificationReport

_PEM = click.Path(dir_okay=False, path_type=Path)
_SIGNER_CHECKS = frozenset({"manifest.signature", "index.signature", "report.signature"})
"""The checks whose detail names a signer by their certificate's SHA-256."""
_HEX64 = re.compile(r"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])")


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    "trust_file",
    type=_PEM,
    help="Your trust configuration (default: EVIDENCE_TRUST_FILE, else DATA_DIR/trust.json; "
    "see `evidence trust`).",
)
@click.option(
    "--rpc-url",
    help="A JSON-RPC endpoint you trust for the recorded chain (the bundle's is never asked).",
)
@click.option(
    "--trust-roots",
    type=_PEM,
    help="PEM file of TSA roots you trust, besides your trust configuration's.",
)
@click.option(
    "--signer-roots",
    type=_PEM,
    help="PEM file of roots you trust for officers' signatures, besides your configuration's.",
)
@click.option("--offline", is_flag=True, help="Do not query the chain (reported NOT CHECKED).")
@click.option(
    "--registry",
    help="The registry contract address you trust; an anchor elsewhere fails.",
)
@click.option("--chain-id", type=int, help="The chain id you trust; an anchor elsewhere fails.")
@click.option("--min-confirmations", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--block-time-tolerance",
    type=click.IntRange(min=0),
    default=7200,
    show_default=True,
    help="Seconds the anchoring block may follow the token's genTime.",
)
@click.option("--no-replay", is_flag=True, help="Skip the offline replay of the WARC.")
@click.option(
    "--replay-threshold",
    type=click.FloatRange(0.0, 1.0),
    default=0.97,
    show_default=True,
    help="Least screenshot/replay similarity that passes.",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=64 * 1024**3,
    show_default=True,
    help="Largest total uncompressed bundle size in bytes (zip-bomb guard).",
)
@click.option(
    "--report",
    "report_path",
    type=_PEM,
    help="Also write the verification report PDF here.",
)
@click.option(
    "--sign-key",
    type=_PEM,
    help="Sign the --report PDF (PAdES) with this PEM private key, the expert's own; "
    "passphrase from EVIDENCE_EXPERT_KEY_PASSPHRASE when it is encrypted.",
)
@click.option(
    "--sign-cert",
    type=_PEM,
    help="PEM certificate of --sign-key (further certificates in the file: its chain).",
)
@click.option(
    "--tsa-url",
    help="Timestamp the report signature at this RFC 3161 TSA ('configured': this "
    "toolkit's TSA). Without it the signature carries no timestamp.",
)
@click.option(
    "--tsa-roots",
    type=_PEM,
    help="PEM trust roots of --tsa-url (not needed for a configured TSA).",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def verify(
    ctx: click.Context,
    bundle: Path,
    trust_file: Path | None,
    rpc_url: str | None,
    trust_roots: Path | None,
    signer_roots: Path | None,
    offline: bool,
    registry: str | None,
    chain_id: int | None,
    min_confirmations: int,
    block_time_tolerance: int,
    no_replay: bool,
    replay_threshold: float,
    max_size: int,
    report_path: Path | None,
    sign_key: Path | None,
    sign_cert: Path | None,
    tsa_url: str | None,
    tsa_roots: Path | None,
    lang: str,
    as_json: bool,
) -> None:
    """Verify an evidence bundle (zip or unpacked folder) or a WACZ we exported.

    PASS means established against what you trust (`evidence trust`);
    what the bundle supplies about itself gives UNTRUSTED. Exit 0 when every
    check passes, 1 when any fails, 2 when some could not be checked (for
    example the chain was unreachable) or rest only on the bundle's word.
    """
    from evidence import BundleLimits, VerifyOptions, secret

    options = VerifyOptions(
        rpc_url=rpc_url,
        trust_roots_pem=read_optional(trust_roots),
        signer_roots_pem=read_optional(signer_roots),
        offline=offline,
        min_confirmations=min_confirmations,
        registry=registry,
        chain_id=chain_id,
        block_time_tolerance_s=block_time_tolerance,
        replay=not no_replay,
        replay_threshold=replay_threshold,
        limits=BundleLimits(max_total_bytes=max_size),
    )
    _check_report_signing(report_path, sign_key, sign_cert, tsa_url, tsa_roots)
    with open_toolkit(ctx) as kit:
        signer = None
        if sign_key is not None and sign_cert is not None:
            signer = kit.expert_signer(
                read_file(sign_key),
                read_file(sign_cert),
                secret("EVIDENCE_EXPERT_KEY_PASSPHRASE") or None,
            )
        result = kit.verify(
            bundle,
            options=options,
            report_path=report_path,
            report_language=lang,
            report_signer=signer,
            report_tsa_url=tsa_url,
            report_tsa_roots_pem=read_optional(tsa_roots),
            trust_file=trust_file,
        )
    if as_json:
        emit_json({**_as_json(result), "exit_code": result.exit_code})
    else:
        print_verification(_with_openssl_fingerprints(result))
        if report_path is not None:
            labelled(gettext("Report (PDF)"), report_path)
    sys.exit(result.exit_code)


def _as_json(result: VerificationReport) -> dict[str, object]:
    """The result for ``--json``: each check's reasons as {code, values} beside its detail."""
    data = asdict(result)
    for check, raw in zip(result.checks, data["checks"], strict=True):
        raw["reasons"] = [reason.to_json() for reason in check.reasons]
    return data


def _with_openssl_fingerprints(result: VerificationReport) -> VerificationReport:
    """Each signer's certificate SHA-256 also in openssl's colon form, beside the hex:
    the form of the agency's published list and of the bundle's signers.txt.

    Only in passing or untrusted signature findings: a failed one may quote content
    digests, which are no fingerprints.
    """
    from evidence import Verdict

    def annotate(match: re.Match[str]) -> str:
        return f"{match[1]} (sha256 Fingerprint={colon_fingerprint(match[1])})"

    checks = tuple(
        replace(check, detail=_HEX64.sub(annotate, check.detail))
        if check.check in _SIGNER_CHECKS and check.verdict is not Verdict.FAIL
        else check
        for check in result.checks
    )
    return replace(result, checks=checks)


def _check_report_signing(
    report_path: Path | None,
    sign_key: Path | None,
    sign_cert: Path | None,
    tsa_url: str | None,
    tsa_roots: Path | None,
) -> None:
    """The signing options only make sense together: refuse a half-given set (exit 2)."""
    if (sign_key is None) != (sign_cert is None):
        raise click.UsageError("--sign-key and --sign-cert go together")
    if sign_key is not None and report_path is None:
        raise click.UsageError("--sign-key signs the verification report: give --report")
    if (tsa_url or tsa_roots) and sign_key is None:
        raise click.UsageError(
            "--tsa-url/--tsa-roots timestamp the report signature: give --sign-key"
        )


COMMANDS: tuple[click.Command, ...] = (verify,)
