"""An agency PKI made with real ``openssl ca``: root → intermediate → officer.

The root CA (``openssl req -x509``) issues an intermediate CA with ``openssl
ca -extensions intermediate_ca``; the intermediate issues officers'
certificates from the toolkit's CSRs. Tests import the officer's
certificate with the chain and check that an expert holding only the root
can verify what the officer signs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from tests.conftest import require_tool

AGENCY = "某市市场监督管理局"

CA_CNF = """\
[ ca ]
default_ca = agency

[ agency ]
dir = {dir}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 365
policy = officer_policy
x509_extensions = officer_certificate
preserve = yes
unique_subject = no
copy_extensions = none
utf8 = yes
string_mask = utf8only

[ officer_policy ]
commonName = supplied
serialNumber = supplied
organizationName = optional

[ ca_policy ]
countryName = optional
organizationName = supplied
commonName = supplied

[ officer_certificate ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ intermediate_ca ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ not_a_ca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
[ req_dn ]
[ root_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""


def openssl(*args: str, input_bytes: bytes | None = None) -> str:
    done = subprocess.run(
        [require_tool("openssl"), *args],
        input=input_bytes,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


@dataclass(frozen=True)
class CA:
    dir: Path

    @property
    def config(self) -> Path:
        return self.dir / "openssl.cnf"

    @property
    def pem_path(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def certificate_pem(self) -> bytes:
        return self.pem_path.read_bytes()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)

    def issue(self, csr_pem: bytes, name: str = "officer", *extra: str) -> bytes:
        """``openssl ca -batch`` on a CSR: the agency's own step."""
        (self.dir / f"{name}.csr").write_bytes(csr_pem)
        openssl(
            "ca", "-batch", "-config", str(self.config), "-notext",
            "-in", str(self.dir / f"{name}.csr"), "-out", str(self.dir / f"{name}.pem"), *extra,
        )  # fmt: skip
        return (self.dir / f"{name}.pem").read_bytes()


def _ca_dir(where: Path) -> CA:
    where.mkdir(parents=True)
    (where / "issued").mkdir()
    (where / "index.txt").write_text("")
    (where / "serial").write_text("1000\n")
    (where / "openssl.cnf").write_text(CA_CNF.format(dir=where), encoding="utf-8")
    return CA(where)


def make_root(where: Path, common_name: str) -> CA:
    ca = _ca_dir(where)
    openssl(
        "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", str(where / "ca.key"), "-out", str(ca.pem_path),
        "-days", "3650", "-config", str(ca.config), "-extensions", "root_ca", "-utf8",
        "-subj", f"/C=CN/O={AGENCY}/CN={common_name}",
    )  # fmt: skip
    return ca


def make_intermediate(
    root: CA, where: Path, common_name: str, extensions: str = "intermediate_ca"
) -> CA:
    """A CA issued by ``root`` (``extensions="not_a_ca"`` makes a certificate that claims
    to be one by name only)."""
    ca = _ca_dir(where)
    openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(where / "ca.key"), "-out", str(where / "ca.csr"),
        "-config", str(ca.config), "-utf8", "-subj", f"/C=CN/O={AGENCY}/CN={common_name}",
    )  # fmt: skip
    issued = root.issue(
        (where / "ca.csr").read_bytes(),
        f"sub-{where.name}",
        "-extensions", extensions, "-policy", "ca_policy", "-days", "1825",
    )  # fmt: skip
    ca.pem_path.write_bytes(issued)
    return ca


def openssl_fingerprint_of(pem: bytes) -> str:
    """What ``openssl x509 -noout -fingerprint -sha256`` prints after ``=``."""
    out = openssl("x509", "-noout", "-fingerprint", "-sha256", input_bytes=pem)
    return out.strip().split("=", 1)[1]


def openssl_issuer_of(pem: bytes) -> str:
    """What ``openssl x509 -noout -issuer -nameopt oneline,-esc_msb`` prints after ``=``."""
    out = openssl("x509", "-noout", "-issuer", "-nameopt", "oneline,-esc_msb", input_bytes=pem)
    return out.strip().split("=", 1)[1].strip()
