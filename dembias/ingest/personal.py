"""Personal data in free metadata columns: names, e-mail addresses and phone numbers, found at ingest.

A contributions file may carry, besides the columns mapped to fields, columns such as ``author/name``
(Decidim), ``email`` or ``Telefon`` that would otherwise land in clear in ``contributions.metadata``.
A column is personal when

* its name holds a word that names a person or a way to reach one, in English, French, German,
  Spanish, Italian or Dutch (``name``, ``author``, ``e-mail``, ``phone``, ``nom``, ``prénom``,
  ``Vorname``, ``Telefon``, ``nombre``, ``correo``, ``cognome``, ``naam``, ...), or
* at least :data:`VALUE_SHARE` of its non-empty values (in the first chunk read) hold an e-mail address
  or a phone number, found with the same patterns as ``dembias redact``.

Each personal column is then pseudonymised with the debate's keyed pseudonym (the default: values stay
comparable within a debate, never readable), dropped, or kept in clear when the user asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from dembias.ingest.pseudonym import Pseudonymiser
from dembias.validation import ParameterError

#: What to do with personal metadata columns.
PERSONAL_DATA_ACTIONS = ("pseudonymise", "drop", "keep")
DEFAULT_PERSONAL_DATA = "pseudonymise"
#: A column whose share of e-mail or phone values reaches this is personal, whatever its name.
VALUE_SHARE = 0.2

#: Words (after lower-casing and splitting the column name on non-letters) that mark a personal column.
_NAME_WORDS_BY_LANGUAGE = {
    "en": "name names fullname firstname lastname surname givenname familyname nickname username displayname "
    "author authors user login handle signature signed contact person email mail emails phone telephone tel "
    "mobile cell cellphone fax whatsapp",
    "fr": "nom prenom prénom auteur auteure auteurs courriel téléphone portable pseudo",
    "de": "vorname nachname familienname autor autorin benutzer benutzername telefon handy rufnummer",
    "es": "nombre apellido apellidos autora usuario correo teléfono telefono móvil movil celular",
    "it": "nome cognome autore autrice utente cellulare",
    "nl": "naam voornaam achternaam gebruiker telefoon mobiel",
}
NAME_WORDS = frozenset(w for words in _NAME_WORDS_BY_LANGUAGE.values() for w in words.split())
#: Compound names written as one word ("authorname", "e_mail" is split anyway).
_COMPOUND = re.compile(r"(name|mail|phone|author|autor|auteur|telefon|vorname|nachname)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


#: "name" qualified by one of these names a thing, not a person ("country_name", "nom du projet").
_THING_WORDS = (
    "country region city town district category topic theme debate project proposal file org organisation "
    "organization group party process space component scope tag model prompt task source dataset column "
    "pays ville catégorie thème projet fichier land stadt kategorie thema projekt datei país ciudad tema "
    "proyecto paese città progetto stad onderwerp"
)
THING_WORDS = frozenset(_THING_WORDS.split())
_GENERIC_NAME = frozenset({"name", "names", "nom", "nombre", "nome", "naam"})


def name_is_personal(column: str) -> bool:
    """Whether a column's name says it holds a name, an e-mail address or a phone number."""
    words = [w.lower() for w in _WORD.findall(column)]
    personal = {w for w in words if w in NAME_WORDS}
    if personal:
        return not (personal <= _GENERIC_NAME and any(w in THING_WORDS for w in words))
    return any(_COMPOUND.search(w) and len(w) <= 20 for w in words if w not in {"domain", "filename", "named"})


def values_are_personal(values: Iterable[str], *, share: float = VALUE_SHARE) -> bool:
    """Whether at least ``share`` of the non-empty values hold an e-mail address or a phone number."""
    from dembias.ingest.redact import redact_text

    present = [v for v in values if isinstance(v, str) and v.strip()]
    if not present:
        return False
    hits = sum(bool(redact_text(v, patterns=["email", "phone"]).counts) for v in present)
    return hits / len(present) >= share


def check_action(action: str) -> str:
    """``action`` when it is one of :data:`PERSONAL_DATA_ACTIONS`; else a ParameterError."""
    if action not in PERSONAL_DATA_ACTIONS:
        raise ParameterError(f"personal_data must be one of {', '.join(PERSONAL_DATA_ACTIONS)}, got {action!r}")
    return action


@dataclass
class PersonalColumns:
    """The personal metadata columns of one file, decided once from its header and first chunk."""

    action: str = DEFAULT_PERSONAL_DATA
    columns: list[str] | None = None  # None until decided
    reasons: dict[str, str] = field(default_factory=dict)

    def decide(self, chunk: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
        """The personal columns among ``candidates`` (decided on the first call, then reused)."""
        if self.columns is None:
            found = []
            for column in candidates:
                if name_is_personal(column):
                    found.append(column)
                    self.reasons[column] = "name"
                elif values_are_personal(chunk[column].head(500).tolist()):
                    found.append(column)
                    self.reasons[column] = "values"
            self.columns = found
        return self.columns

    def apply(
        self, chunk: pd.DataFrame, candidates: Sequence[str], pseud: Pseudonymiser
    ) -> tuple[pd.DataFrame, list[str]]:
        """The chunk with personal columns pseudonymised or dropped, and the metadata columns left."""
        personal = self.decide(chunk, candidates)
        if not personal or self.action == "keep":
            return chunk, list(candidates)
        if self.action == "drop":
            return chunk, [c for c in candidates if c not in personal]
        chunk = chunk.copy()
        for column in personal:
            values = chunk[column].where(chunk[column].astype(str).str.strip() != "", None)
            chunk[column] = pseud.series(values).fillna("")
        return chunk, list(candidates)

    def summary(self) -> dict[str, list[str]]:
        """The ingest summary's line: ``{action: [columns]}`` (empty when no column is personal)."""
        if not self.columns:
            return {}
        verb = {"pseudonymise": "pseudonymised", "drop": "dropped", "keep": "kept_in_clear"}[self.action]
        return {verb: list(self.columns)}
