"""An SMTP sink for the one-machine runtime: every mail is kept as an ``.eml`` file.

When no ``SMTP_HOST`` is configured, ``make run`` starts aiosmtpd on 127.0.0.1 (port
``MAIL_SINK_PORT``, default 1025, another free one when taken), points the functions at it
and writes each message to ``MAIL_SINK_DIR`` (default ``/tmp/prichal-mail``) as
``<time>-<order>-<n>.eml``: open it with any mail client or ``python -m email``-style tools.
Nothing leaves the machine.

It speaks SMTPUTF8 (``анна@пример.рф`` is delivered), and it refuses, with a permanent
``550`` at RCPT as a real server does for an unknown mailbox, every recipient matching the
regular expression ``MAIL_SINK_REFUSE`` (none by default): try an undeliverable address with
``MAIL_SINK_REFUSE='^bounce@'``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from prichal_localrun.s3server import free_port

log = logging.getLogger(__name__)

DEFAULT_PORT = 1025
DEFAULT_DIR = "/tmp/prichal-mail"  # noqa: S108 - a developer's local mail folder, by design


@dataclass
class MailSink:
    """Where mail goes; ``controller`` is set once the sink is listening (None: a real SMTP server)."""

    host: str
    port: int
    folder: Path | None = None
    controller: Controller | None = None
    refuse: re.Pattern[str] | None = None  # recipients answered "550 no such mailbox"
    smtputf8: bool = True
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.refuse is not None and self.refuse.search(address):
            log.info("mail to %s refused (MAIL_SINK_REFUSE)", address)
            return "550 5.1.1 no such mailbox here (refused by the local mail sink)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        assert self.folder is not None
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self._count += 1
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{message.get('X-Prichal-Order', 'mail')}-{self._count}.eml"
        path = self.folder / name
        path.write_bytes(envelope.content)
        log.info("mail to %s: %r -> %s", ", ".join(envelope.rcpt_tos), message.get("Subject", ""), path)
        return "250 OK: kept in the local mail sink"

    def start(self) -> None:
        """Start listening (after the runner's child processes: this starts a thread)."""
        if self.folder is None or self.controller is not None:
            return
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection chatter
        self.controller = Controller(self, hostname=self.host, port=self.port, enable_SMTPUTF8=self.smtputf8)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def describe(self) -> str:
        if self.folder is None:
            return f"smtp://{self.host}:{self.port} (configured)"
        return f"smtp://{self.host}:{self.port} -> {self.folder} (aiosmtpd sink, .eml files)"


def prepare_mail() -> MailSink:
    """The configured SMTP server, or a sink's address exported to the functions (started later)."""
    if os.environ.get("SMTP_HOST"):
        return MailSink(os.environ["SMTP_HOST"], int(os.environ.get("SMTP_PORT", "25")))
    folder = Path(os.environ.get("MAIL_SINK_DIR", DEFAULT_DIR))
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port(int(os.environ.get("MAIL_SINK_PORT", DEFAULT_PORT)))
    os.environ.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "false"})
    os.environ.pop("SMTP_USER", None)
    os.environ.pop("SMTP_PASSWORD", None)
    refuse = os.environ.get("MAIL_SINK_REFUSE")
    return MailSink("127.0.0.1", port, folder, refuse=re.compile(refuse) if refuse else None)
