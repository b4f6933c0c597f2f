"""Encrypted PKCS#8 (RFC 5958) with a strong, stated PBKDF2 iteration count.

cryptography's ``BestAvailableEncryption`` writes PBES2 with PBKDF2 at 2,048
iterations and offers no setting for PKCS#8; an officer key stolen from a
laptop would then be cheap to brute-force. This module writes the same
standard structure (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC; RFC 8018) with
:data:`KDF_ITERATIONS`. Reading stays with cryptography (and any OpenSSL:
``openssl pkey -in key.pem``), so nothing here parses ASN.1; pyasn1-modules'
schemas do the encoding.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from pyasn1.codec.der import encoder
from pyasn1.type import univ
from pyasn1_modules import rfc5958, rfc8018

KDF_ITERATIONS = 600_000
"""OWASP's 2023 figure for PBKDF2-HMAC-SHA256 (about 0.1 s here per unlock)."""

_SALT_BYTES = 16
_KEY_BYTES = 32  # AES-256


def encrypt_private_key(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    passphrase: bytes,
    *,
    iterations: int = KDF_ITERATIONS,
) -> bytes:
    """The key as PEM ``ENCRYPTED PRIVATE KEY`` under ``passphrase``."""
    if not isinstance(passphrase, bytes):
        raise TypeError("passphrase must be bytes")
    if not passphrase:
        raise ValueError("an empty passphrase does not protect a key")
    if iterations < 1:
        raise ValueError("iterations must be positive")
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = os.urandom(_SALT_BYTES)
    iv = os.urandom(16)
    kek = PBKDF2HMAC(hashes.SHA256(), _KEY_BYTES, salt, iterations).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()

    prf = rfc8018.AlgorithmIdentifier()
    prf["algorithm"] = rfc8018.id_hmacWithSHA256
    prf["parameters"] = univ.Any(encoder.encode(univ.Null("")))
    kdf_params = rfc8018.PBKDF2_params()
    kdf_params["salt"]["specified"] = univ.OctetString(salt)
    kdf_params["iterationCount"] = iterations
    kdf_params["prf"] = prf
    kdf = rfc8018.AlgorithmIdentifier()
    kdf["algorithm"] = rfc8018.id_PBKDF2
    kdf["parameters"] = univ.Any(encoder.encode(kdf_params))
    scheme = rfc8018.AlgorithmIdentifier()
    scheme["algorithm"] = rfc8018.aes256_CBC_PAD
    scheme["parameters"] = univ.Any(encoder.encode(rfc8018.AES_IV(iv)))
    pbes2 = rfc8018.PBES2_params()
    pbes2["keyDerivationFunc"] = kdf
    pbes2["encryptionScheme"] = scheme
    info = rfc5958.EncryptedPrivateKeyInfo()
    info["encryptionAlgorithm"]["algorithm"] = rfc8018.id_PBES2
    info["encryptionAlgorithm"]["parameters"] = univ.Any(encoder.encode(pbes2))
    info["encryptedData"] = encrypted
    return _pem("ENCRYPTED PRIVATE KEY", encoder.encode(info))


def _pem(label: str, der: bytes) -> bytes:
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""]).encode(
        "ascii"
    )
