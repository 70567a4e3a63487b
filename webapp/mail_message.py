"""Flask-Mail's message with a subject any mail client reads.

Flask-Mail encodes a non-ASCII subject itself, then lets the SMTP policy fold it again; for a
long Turkish or French subject the second folding can leave a letter glued to the next
encoded word (`b=?utf-8?b?...?=`), which RFC 2047 readers show as garbage. Setting the plain
text after the message is built lets the policy encode and fold it once, correctly.
"""

from __future__ import annotations

from email.message import Message as EmailMessage

import flask_mail


class Message(flask_mail.Message):
    def _message(self) -> EmailMessage:
        msg = super()._message()
        if self.subject and not self.subject.isascii():
            del msg["Subject"]
            msg["Subject"] = self.subject
        return msg
