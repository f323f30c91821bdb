"""Sending mail through SMTP (smtplib), telling temporary failures from permanent ones.

SMTP says it itself: 4xx replies are transient ("try again later"), 5xx are permanent
(RFC 5321 §4.2.1). A connection that cannot be made or breaks is transient too. An address
that needs SMTPUTF8 (a non-ASCII local part) on a server that does not offer it is permanent:
that server will never take it.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage


class MailTemporaryFailure(Exception):
    """Worth retrying later with the same message."""


class MailPermanentFailure(Exception):
    """Retrying the same message to the same address will not help."""


class SmtpMailer:
    def __init__(self, host: str, port: int, user: str | None = None, password: str | None = None,
                 starttls: bool = False, timeout: float = 20.0) -> None:
        self.host = host
        self.port = port
        self._user = user
        self._password = password
        self._starttls = starttls
        self._timeout = timeout

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._user:
                    smtp.login(self._user, self._password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            self._raise_for_codes([code for code, _ in exc.recipients.values()], str(exc.recipients))
        except smtplib.SMTPResponseException as exc:
            self._raise_for_codes([exc.smtp_code], f"{exc.smtp_code} {exc.smtp_error!r}")
        except smtplib.SMTPNotSupportedError as exc:
            raise MailPermanentFailure(f"the mail server cannot take this message: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailTemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        if refused:  # some recipients refused, the others accepted: one buyer here, so all or nothing
            self._raise_for_codes([code for code, _ in refused.values()], str(refused))

    @staticmethod
    def _raise_for_codes(codes: list[int], detail: str) -> None:
        if any(400 <= code < 500 for code in codes):
            raise MailTemporaryFailure(f"SMTP {detail}")
        raise MailPermanentFailure(f"SMTP {detail}")
