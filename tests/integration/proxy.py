"""A proxy in a thread in front of the embedded broker: it terminates TLS, SASL or both.

The broker's own TLS flags did not work, and its SASL users cannot be created (see
docs/embedded-broker.md), so the tests put this in front of it and let the
broker advertise the proxy's address. With `users`, a client must log in (SASL
PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, as a Kafka broker does it) before any
request other than ApiVersions reaches the broker.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import secrets
import ssl
import struct
import threading

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM = 58, 34, 33
SCRAM_HASHES = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}
SCRAM_ITERATIONS = 4096


class LoginFailed(Exception):
    """Answered with SASL_AUTHENTICATION_FAILED, then the connection is closed."""


class Scram:
    """The server side of one SCRAM exchange (RFC 5802), two client messages long."""

    def __init__(self, mechanism: str, users: dict[str, str]) -> None:
        self.mechanism, self.users = mechanism, users
        self.hash = SCRAM_HASHES[mechanism]
        self.first_bare = self.server_first = ""
        self.password = b""

    def _hmac(self, key: bytes, message: str | bytes) -> bytes:
        data = message.encode() if isinstance(message, str) else message
        return hmac.new(key, data, self.hash).digest()

    def step(self, token: bytes) -> tuple[bytes, bool]:
        """The answer to a client message, and whether the login is now complete."""
        text = token.decode()
        if not self.first_bare:
            if not text.startswith("n,,"):
                raise LoginFailed("channel binding is not supported")
            self.first_bare = text[3:]
            attrs = dict(pair.split("=", 1) for pair in self.first_bare.split(","))
            user = attrs["n"].replace("=2C", ",").replace("=3D", "=")
            if user not in self.users:
                raise LoginFailed(f"invalid credentials with SASL mechanism {self.mechanism}")
            self.password = self.users[user].encode()
            self.nonce = attrs["r"] + secrets.token_hex(12)
            self.salt = secrets.token_bytes(16)
            self.server_first = (
                f"r={self.nonce},s={base64.b64encode(self.salt).decode()},i={SCRAM_ITERATIONS}"
            )
            return self.server_first.encode(), False
        attrs = dict(pair.split("=", 1) for pair in text.split(","))
        if attrs.get("c") != "biws" or attrs.get("r") != self.nonce:
            raise LoginFailed("a client-final message that does not match its exchange")
        without_proof = text.rsplit(",p=", 1)[0]
        auth_message = f"{self.first_bare},{self.server_first},{without_proof}"
        salted = hashlib.pbkdf2_hmac(self.hash().name, self.password, self.salt, SCRAM_ITERATIONS)
        stored_key = self.hash(self._hmac(salted, "Client Key")).digest()
        signature = self._hmac(stored_key, auth_message)
        proof = base64.b64decode(attrs["p"])
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(self.hash(client_key).digest(), stored_key):
            raise LoginFailed(f"invalid credentials with SASL mechanism {self.mechanism}")
        server_signature = self._hmac(self._hmac(salted, "Server Key"), auth_message)
        return f"v={base64.b64encode(server_signature).decode()}".encode(), True


class Plain:
    """SASL PLAIN (RFC 4616): one message, authzid NUL user NUL password."""

    mechanism = "PLAIN"

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def step(self, token: bytes) -> tuple[bytes, bool]:
        _, user, password = token.decode().split("\0")
        if self.users.get(user) != password:
            raise LoginFailed("invalid credentials with SASL mechanism PLAIN")
        return b"", True


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def _string(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _authenticate_response(
    header: bytes, version: int, error: int, message: str | None, answer: bytes
) -> bytes:
    """A SaslAuthenticate response; v1 adds the session lifetime (0: none)."""
    lifetime = struct.pack(">q", 0) if version >= 1 else b""
    body = struct.pack(">h", error) + _string(message) + struct.pack(">i", len(answer)) + answer
    return _frame(header + body + lifetime)


class Proxy:
    def __init__(
        self,
        listen_port: int,
        target_port: int,
        context: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.listen_port, self.target_port, self.context = listen_port, target_port, context
        self.users = users
        self.logins: list[tuple[str, bool]] = []
        """(mechanism, succeeded) for every SASL exchange, so a test can see they happened."""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.base_events.Server | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _log_in(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> bool:
        """Kafka's SASL exchange (SaslHandshake v1, then SaslAuthenticate v0/v1);
        ApiVersions before it goes to the broker. False: the connection is to close."""
        assert self.users is not None
        exchange: Scram | Plain | None = None
        while True:
            request = await _read_frame(reader)
            api_key, version, correlation = struct.unpack(">hhi", request[:8])
            (client_len,) = struct.unpack(">h", request[8:10])
            body = request[10 + max(client_len, 0) :]
            header = struct.pack(">i", correlation)
            if api_key == API_VERSIONS:
                up_writer.write(_frame(request))
                writer.write(_frame(await _read_frame(up_reader)))
            elif api_key == SASL_HANDSHAKE and version == 1:
                (size,) = struct.unpack(">h", body[:2])
                mechanism = body[2 : 2 + size].decode()
                offered = ["PLAIN", *SCRAM_HASHES]
                error = 0 if mechanism in offered else UNSUPPORTED_SASL_MECHANISM
                mechanisms = b"".join(_string(m) for m in offered)
                writer.write(_frame(header + struct.pack(">hi", error, len(offered)) + mechanisms))
                if error:
                    return False
                exchange = (
                    Plain(self.users) if mechanism == "PLAIN" else Scram(mechanism, self.users)
                )
            elif api_key == SASL_AUTHENTICATE and exchange is not None:
                (size,) = struct.unpack(">i", body[:4])
                try:
                    answer, done = exchange.step(body[4 : 4 + size])
                except (LoginFailed, ValueError, KeyError) as exc:
                    message = f"Authentication failed during authentication due to {exc}"
                    writer.write(
                        _authenticate_response(
                            header, version, SASL_AUTHENTICATION_FAILED, message, b""
                        )
                    )
                    self.logins.append((exchange.mechanism, False))
                    return False
                writer.write(_authenticate_response(header, version, 0, None, answer))
                if done:
                    self.logins.append((exchange.mechanism, True))
                    return True
            else:
                error = struct.pack(">h", ILLEGAL_SASL_STATE)
                writer.write(_frame(header + error))
                return False
            await writer.drain()
            await up_writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        if self.users is not None:
            try:
                logged_in = await self._log_in(reader, writer, up_reader, up_writer)
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                logged_in = False
            if not logged_in:
                writer.close()
                up_writer.close()
                return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def __enter__(self) -> Proxy:
        self.thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", self.listen_port, ssl=self.context)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self.server is not None:
            self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
