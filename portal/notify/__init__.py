"""Notifications that are never lost: a transactional outbox (`models`, `outbox`), the messages
about appointments (`messages`) with their calendar files (`calendar`), delivery to SMTP or to
.eml files (`mailer`), and the worker that sends what is due (`worker`, `flask send-mail`).

The booking service announces each booking, move and cancellation with a signal inside its write
transaction; `outbox` writes the messages in that same transaction, so a change that rolls back
leaves no message and one that commits always has its message.
"""
