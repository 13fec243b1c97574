"""The simulator's own certificate authority and server certificate.

Why a CA of our own rather than one self-signed server certificate: clients then verify TLS the
normal way (`verify=<state_dir>/ca.pem`, `REQUESTS_CA_BUNDLE`, Ansible's `validate_certs`), nobody
needs `verify=False`, and the server certificate can be renewed without clients changing their
trust. Real Proxmox does the same (a cluster CA, `pve-root-ca.pem`, signing `pve-ssl.pem`).

Files in the state directory, created at first start and reused afterwards:
`ca.pem` (CA certificate, public), `ca.key`, `server.pem`, `server.key` (keys mode 0600).
Keys are ECDSA P-256: generated in about a millisecond, so every test can have its own state dir.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"

_SERVER_NAMES = ("localhost",)
_SERVER_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the TLS material in a state directory."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the server certificate, `AA:BB:...` as `pvenode cert info` shows it."""
        return cert_fingerprint(self.cert_file)


def cert_fingerprint(cert_file: Path) -> str:
    """The colon-separated upper-case SHA-256 fingerprint of a PEM certificate's DER form."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def ensure_tls(state_dir: Path) -> TlsFiles:
    """Create the CA and the server certificate unless they already exist; return their paths."""
    state_dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(state_dir / CA_CERT, state_dir / SERVER_CERT, state_dir / SERVER_KEY)
    ca_key_file = state_dir / CA_KEY
    if not (files.ca_file.is_file() and ca_key_file.is_file()):
        ca_key, ca_cert = _make_ca()
        _write_key(ca_key_file, ca_key)
        files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        files.cert_file.unlink(missing_ok=True)  # signed by the old CA: re-issue below
    if not (files.cert_file.is_file() and files.key_file.is_file()):
        ca_key = _load_key(ca_key_file)
        ca_cert = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        key, cert = _make_server_cert(ca_key, ca_cert)
        _write_key(files.key_file, key)
        files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "pxrun Simulator CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pxrun simulator"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in _SERVER_NAMES]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in _SERVER_IPS]
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key
