"""Encryption at rest for small secret files (the Telethon session): AES-256-GCM, scrypt key.

File layout: ``MAGIC | salt (16) | nonce (12) | ciphertext and GCM tag``. The key is derived from
the secret with scrypt and the file's salt, once per process; every write draws a fresh nonce.
The magic and salt are authenticated too, so a file that was tampered with does not open.
Files are written atomically (temporary file, fsync, rename) with mode 0600.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chatsync.producers.telethon.errors import SessionKeyError

MAGIC = b"chatsync-vault-v1\n"
SALT_BYTES, NONCE_BYTES, KEY_BYTES = 16, 12, 32
# scrypt cost: about 32 MiB and a tenth of a second, paid once per process.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def derive_key(secret: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=KEY_BYTES, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return kdf.derive(secret.encode())


class Vault:
    """Reads and writes one encrypted file with a key derived from ``secret``."""

    def __init__(self, path: Path, secret: str) -> None:
        if not secret:
            raise SessionKeyError("TG_SESSION_KEY is empty: set it to a long random secret")
        self.path = path
        self._secret = secret
        self._salt: bytes | None = None
        self._key: bytes | None = None

    def read(self) -> bytes | None:
        """The decrypted content, or None when the file does not exist yet."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        header = len(MAGIC) + SALT_BYTES + NONCE_BYTES
        if not data.startswith(MAGIC) or len(data) < header + 16:
            raise SessionKeyError(f"{self.path} is not an encrypted chatsync session file")
        salt = data[len(MAGIC) : len(MAGIC) + SALT_BYTES]
        nonce = data[len(MAGIC) + SALT_BYTES : header]
        key = self._key_for(salt)
        try:
            return AESGCM(key).decrypt(nonce, data[header:], MAGIC + salt)
        except InvalidTag:
            raise SessionKeyError(
                f"TG_SESSION_KEY does not open {self.path}: wrong key, or the file is damaged"
            ) from None

    def write(self, content: bytes) -> None:
        """Encrypt ``content`` and replace the file atomically (mode 0600)."""
        salt = self._salt if self._salt is not None else secrets.token_bytes(SALT_BYTES)
        key = self._key_for(salt)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = MAGIC + salt + nonce + AESGCM(key).encrypt(nonce, content, MAGIC + salt)
        write_private(self.path, sealed)

    def _key_for(self, salt: bytes) -> bytes:
        if self._key is None or salt != self._salt:
            self._key, self._salt = derive_key(self._secret, salt), salt
        return self._key


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
