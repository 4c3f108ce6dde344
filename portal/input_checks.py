"""Characters no person types into a form, refused before any view reads them (OWASP ASVS 5.1.4).

A NUL byte cannot be stored in PostgreSQL text at all, SQLite's length() stops counting at one
(so a CHECK on length passes in Python and fails in the database), and the other control
characters only ever come from scripts or tampered forms. The path is checked too: no address of
ours holds one, and a NUL in a path argument would reach a text parameter. Tab, line feed and carriage return stay
allowed: a text area sends them.
"""
import re

from flask import Flask, abort, request

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def install(app: Flask) -> None:
    @app.before_request
    def _refuse_control_characters():
        if CONTROL_CHARACTERS.search(request.path):  # "/feeds/%00.ics": decoded before any route reads it
            abort(400)
        for values in (request.args, request.form):
            for name, value in values.items(multi=True):
                if CONTROL_CHARACTERS.search(name) or CONTROL_CHARACTERS.search(value):
                    abort(400)
