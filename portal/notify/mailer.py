"""Delivering one message: over SMTP when MAIL_SERVER is set, else as an .eml file under
MAIL_FILE_DIR (the embedded default: `make run` shows real messages with nothing to set up)."""
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from portal.notify.models import OutboxMessage


def as_email(message: OutboxMessage) -> EmailMessage:
    """Plain text with an HTML alternative, and the calendar file attached when there is one."""
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain=urlsplit(config["PUBLIC_URL"]).hostname)
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    if message.ics:
        method = "CANCEL" if "METHOD:CANCEL" in message.ics else "REQUEST"
        email.add_attachment(message.ics.encode(), maintype="text", subtype="calendar", filename="appointment.ics",
                             params={"method": method})
    return email


def deliver(message: OutboxMessage) -> None:
    """Send it, or raise (smtplib.SMTPException or OSError) so the worker tries again later."""
    config = current_app.config
    email = as_email(message)
    if not config["MAIL_SERVER"]:
        folder = Path(config["MAIL_FILE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{message.id:06d}-{message.kind}.eml").write_bytes(bytes(email))
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)
