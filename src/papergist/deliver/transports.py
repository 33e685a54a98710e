"""Sending rendered digests: SMTP, and HTTP webhooks (Slack, Discord, Telegram, Feishu).

Each transport takes what a renderer produced and sends it, raising
`DeliveryError` with a message that never contains a secret (webhook URLs and
bot tokens are secrets: errors name the service and the status, never the URL).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from email.message import EmailMessage
from typing import Any, Callable

import httpx2

from papergist import __version__
from papergist.errors import DeliveryError
from papergist.http import env_options, retry_after_seconds
from papergist.logs import emit, logger

MESSAGE_GAP = 1.0  # seconds between two messages to one chat webhook (Slack asks for 1/s)
log = logger("deliver")


# DeliveryError lives in papergist.errors; it stays importable from here.
__all__ = ["DeliveryError", "MESSAGE_GAP", "feishu_answer", "post_json", "send_email"]


def send_email(message: EmailMessage, *, host: str, port: int, tls: str, user: str,
               password: str, timeout: float = 30.0) -> None:
    """Send one message by SMTP (`tls`: starttls, ssl or none)."""
    try:
        if tls == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
        with server:
            if tls == "starttls":
                server.starttls(context=ssl.create_default_context())
            if user:
                server.login(user, password)
            server.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"email: the SMTP server {host} refused the login "
                            f"({exc.smtp_code}); check smtp_user and smtp_password",
                            retryable=False) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError(f"email: {host} refused every recipient; check email_to",
                            retryable=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"email: cannot send through {host}:{port} "
                            f"({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


Answer = Callable[[httpx2.Response], "float | None"]
"""Reads a 2xx answer: None when the message was taken, else seconds to wait before
sending it again (a throttle told in the body); raises `DeliveryError` if refused."""


def post_json(service: str, url: str, bodies: list[dict[str, Any]], *, timeout: float = 30.0,
              gap: float = MESSAGE_GAP, sleep: Callable[[float], None] = time.sleep,
              answer: Answer = lambda response: None) -> None:
    """POST each body in order; a 429 waits for its `Retry-After` and tries that body again.
    `answer` reads what a service says in a 2xx body (Feishu: see `feishu_answer`)."""
    headers = {"User-Agent": f"papergist/{__version__}"}
    with httpx2.Client(timeout=timeout, headers=headers, **env_options()) as client:
        for n, body in enumerate(bodies):
            if n:
                sleep(gap)
            _post_one(client, service, url, body, sleep, answer)


FEISHU_THROTTLED = 11232  # "frequency limited": over 5 messages a second or 100 a minute


def feishu_answer(response: httpx2.Response) -> float | None:
    """Feishu answers HTTP 200 with a code: 0 taken; too frequent: wait and send again;
    any other code refused (a bad signature, keywords or IPs the bot does not allow)."""
    try:
        body = response.json()
        code, message = body.get("code", body.get("StatusCode")), str(body.get("msg", ""))
    except (ValueError, AttributeError):
        raise DeliveryError("feishu: the answer was not the JSON Feishu sends") from None
    if code == 0:
        return None
    if code == FEISHU_THROTTLED:
        return 1.0
    raise DeliveryError(f"feishu: refused (code {code}: {message[:200]}); check its webhook "
                        "URL and secret, and the bot's keyword and IP settings", retryable=False)


def _retry_after(response: httpx2.Response) -> float:
    """Seconds to wait after a 429: the header, or Telegram's and Discord's JSON field."""
    header = retry_after_seconds(response.headers.get("Retry-After"))
    if header is not None:
        return header
    try:
        body = response.json()
        value = body.get("retry_after") or (body.get("parameters") or {}).get("retry_after")
        return float(value) if value is not None else 1.0
    except (ValueError, TypeError, AttributeError):
        return 1.0


def _post_one(client: httpx2.Client, service: str, url: str, body: dict[str, Any],
              sleep: Callable[[float], None], answer: Answer) -> None:
    for _ in range(5):
        try:
            response = client.post(url, json=body)
        except httpx2.TimeoutException:
            raise DeliveryError(f"{service}: timed out") from None
        except httpx2.TransportError as exc:
            raise DeliveryError(f"{service}: connection failed ({type(exc).__name__})") from None
        if response.status_code == 429:
            wait = min(60.0, _retry_after(response))
            # the service only, never the URL: a webhook's URL is its secret
            emit(log, logging.INFO, f"{service}: 429; waiting {wait:.2f} s (Retry-After)",
                 "throttled", service=service, wait=round(wait, 3))
            sleep(wait)
            continue
        if response.status_code >= 500:
            raise DeliveryError(f"{service}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(f"{service}: refused (HTTP {response.status_code}); check its "
                                "webhook URL or token", retryable=response.status_code == 408)
        pause = answer(response)
        if pause is None:
            return
        emit(log, logging.INFO, f"{service}: throttled; waiting {pause:.2f} s", "throttled",
             service=service, wait=round(pause, 3))
        sleep(pause)
    raise DeliveryError(f"{service}: still rate limited after 5 tries")
