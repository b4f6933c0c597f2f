"""How to verify this report with stock tools: numbered steps, commands and expected output.

Every command is filled in with this item's own values (digests, token
serial, contract, transaction), so an expert can type it and compare the
output character by character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, KeepTogether, Paragraph

from evidence.model.records import AnchorReceipt, ExhibitRow, ReportInput, isoformat
from reports.pdf._anchor import same_hex
from reports.pdf._timestamp import openssl_integer
from reports.pdf.layout import Layout

_TS_COMMANDS = (
    "openssl ts -verify -data manifest.json -in timestamp/token.tsr "
    "-CAfile timestamp/tsa-root.pem -untrusted timestamp/tsa-cert.pem",
    "openssl ts -reply -in timestamp/token.tsr -text",
)


@dataclass(frozen=True, slots=True)
class Step:
    description: str
    commands: tuple[str, ...]
    expected: tuple[str, ...] = ()


def verification_section(layout: Layout, data: ReportInput) -> list[Flowable]:
    """The procedure section; each step is kept on one page with its commands."""
    s = layout.s
    out: list[Flowable] = []
    for number, step in enumerate(verification_steps(layout, data), 1):
        block: list[Flowable] = [
            Paragraph(f"{number}.&nbsp;&nbsp;{escape(step.description)}", s.step)
        ]
        block += [layout.p(command, s.code) for command in step.commands]
        if step.expected:
            block.append(layout.p(layout.t("expected"), s.expected_label))
            # Expected output is compared character by character, so
            # its runs of spaces (OpenSSL pads the day) must survive.
            block.append(
                Paragraph(
                    "<br/>".join(escape(v).replace(" ", "&nbsp;") for v in step.expected),
                    s.expected,
                )
            )
        if number == 1:
            # The heading and introduction travel with the first step.
            block[:0] = [
                layout.heading("sec_verify"),
                layout.p(layout.t("verify_intro"), s.body),
            ]
        out.append(KeepTogether(block))
    return out


def verification_steps(layout: Layout, data: ReportInput) -> list[Step]:
    """The steps in the order an expert takes them: files, manifest, token, chain."""
    steps = _digest_steps(layout, data)
    steps.append(_timestamp_step(layout, data))
    steps += _chain_steps(layout, data.anchor, data.manifest_sha256)
    return steps


def _digest_steps(layout: Layout, data: ReportInput) -> list[Step]:
    t = layout.t
    steps = [
        Step(t("step_sums"), ("sha256sum -c SHA256SUMS",)),
        Step(
            t("step_manifest", sec=layout.section_label("sec_exhibits")),
            ("sha256sum manifest.json", "openssl dgst -sm3 manifest.json"),
            (f"SHA-256  {data.manifest_sha256}", f"SM3      {data.manifest_sm3}"),
        ),
    ]
    exhibit = _example_exhibit(data.exhibits)
    if exhibit is None:
        steps.append(Step(t("step_sm3_empty"), ("openssl dgst -sm3 artifacts/<file>",)))
        return steps
    path = _bundle_path(exhibit.path)
    steps.append(
        Step(t("step_sm3", file=path), (f"openssl dgst -sm3 {path}",), (f"SM3      {exhibit.sm3}",))
    )
    return steps


def _timestamp_step(layout: Layout, data: ReportInput) -> Step:
    token = data.timestamp
    if token is None:
        return Step(layout.t("step_ts_missing"), _TS_COMMANDS)
    # The lines as OpenSSL prints them (same base, same case), so they compare as text.
    expected = [
        "Verification: OK",
        f"Serial number: {openssl_integer(token.serial_number)}",
        f"Time stamp: {openssl_time(token.gen_time)}",
        f"Nonce: {openssl_integer(token.nonce) if token.nonce is not None else 'unspecified'}",
    ]
    return Step(layout.t("step_ts"), _TS_COMMANDS, tuple(expected))


def _chain_steps(layout: Layout, a: AnchorReceipt | None, manifest_sha256: str) -> list[Step]:
    if a is None:
        value = "0x" + manifest_sha256.lower()
        commands = (
            _cast_command("<contract>", value, "<rpc>"),
            _receipt_command("<tx hash>", "<rpc>"),
        )
        return [Step(layout.t("step_chain_missing"), commands)]
    value = "0x" + manifest_sha256.lower() if same_hex(a.root, manifest_sha256) else a.root
    contract, rpc = a.contract_address, a.rpc_url
    anchored_at = f"{int(a.block_time.timestamp())}  ({isoformat(a.block_time)})"
    receipt = (
        '"status": "0x1"',
        f'"to": "{contract.lower()}"',
        f'"blockNumber": "{hex(a.block_number)}"  ({a.block_number})',
        f'"blockHash": "{a.block_hash}"',
        f"logs[0].topics[1] = {value}",
    )
    return [
        Step(layout.t("step_cast"), (_cast_command(contract, value, rpc),), (anchored_at,)),
        Step(layout.t("step_receipt"), (_receipt_command(a.transaction_hash, rpc),), receipt),
    ]


def openssl_time(moment: datetime) -> str:
    """genTime as ``openssl ts -reply -text`` prints it, e.g. ``Nov 26 10:25:09.123 2026 GMT``."""
    utc = moment.astimezone(UTC)
    # DER GeneralizedTime drops trailing zeros of the fraction, and OpenSSL
    # prints the fraction exactly as encoded.
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    dot = f".{fraction}" if fraction else ""
    return f"{utc:%b} {utc.day:2d} {utc:%H:%M:%S}{dot} {utc.year} GMT"


def _example_exhibit(exhibits: Sequence[ExhibitRow]) -> ExhibitRow | None:
    # The screenshot is the exhibit a reader of this report has in front of them.
    for exhibit in exhibits:
        if "screenshot" in exhibit.role.lower():
            return exhibit
    return exhibits[0] if exhibits else None


def _bundle_path(path: str) -> str:
    # Exhibit rows may name files relative to the artifacts folder or to the bundle root.
    return path if path.startswith("artifacts/") else f"artifacts/{path.lstrip('/')}"


def _cast_command(contract: str, value: str, rpc: str) -> str:
    return f'cast call {contract} "anchoredAt(bytes32)(uint256)" {value} --rpc-url {rpc}'


def _receipt_command(tx_hash: str, rpc: str) -> str:
    body = f'{{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionReceipt","params":["{tx_hash}"]}}'
    return f"curl -s -X POST -H 'Content-Type: application/json' --data '{body}' {rpc}"
