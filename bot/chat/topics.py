"""Is a text message a question about equipment? A free, local, deliberately permissive test.

A text answer is a paid model call, so "hello", "thanks" or "ok" must not become one: they get the short help.
A message is taken as an equipment question when it has at least two words and names something a maintenance
technician asks about: a fault or alarm code (F004, E-12, AL21), a make or product line, or an equipment or
fault word in one of the bot's languages (en, es, de, pt). What gets through and is still off-topic is answered
by the model in one sentence ("I only help with equipment"), as its prompt asks (pipeline/questions.py); this
test only keeps chit-chat from costing money.
"""

from __future__ import annotations

import re

# Fault/alarm codes as drives and PLCs show them, capital letters then digits: F004, F4, E12, E-012, AL21, OC1.
_CODE = re.compile(r"\b[A-Z]{1,3}-?\d{1,4}\b")
_WORD = re.compile(r"\w+", re.UNICODE)

_MAKES = {
    "abb", "allen", "bradley", "altivar", "beckhoff", "danfoss", "delta", "eaton", "fanuc", "festo", "fuji",
    "hitachi", "invertek", "kinetix", "lenze", "logix", "mitsubishi", "omron", "parker", "pilz", "powerflex",
    "rockwell", "schneider", "sew", "siemens", "sinamics", "simatic", "telemecanique", "vacon", "weg", "yaskawa",
}  # fmt: skip

# Stems: a word that starts with one of these counts (fuse/fuses, trip/tripped/tripping, falla/fallo).
_STEMS = (
    # English
    "alarm", "amp", "bearing", "brake", "breaker", "cabinet", "capacitor", "compressor", "contactor", "conveyor",
    "current", "drive", "encoder", "error", "fault", "fuse", "gearbox", "ground", "hmi", "insulat", "inverter",
    "megger", "motor", "nameplate", "overcurrent", "overheat", "overload", "overvolt", "panel", "paramet", "phase",
    "plc", "pump", "relay", "reset", "rpm", "sensor", "servo", "spindle", "terminal", "torque", "transformer",
    "trip", "undervolt", "valve", "vfd", "voltage", "wiring",
    # Spanish
    "alarma", "bomba", "cablead", "contactor", "corriente", "disparo", "falla", "fallo", "fusible", "interruptor",
    "rodamiento", "tablero", "tensión", "tension", "variador", "válvula", "voltaje",
    # German
    "antrieb", "fehler", "frequenzumrichter", "lager", "motorschutz", "pumpe", "relais", "schaltschrank", "schütz",
    "sicherung", "spannung", "störung", "strom", "umrichter", "ventil", "verdrahtung",
    # Portuguese
    "alarme", "contator", "corrente", "disjuntor", "falha", "fiação", "fusível", "inversor", "painel", "rolamento",
    "tensão",
)  # fmt: skip


def is_equipment_question(text: str) -> bool:
    """True when ``text`` is worth a model call (see the module docstring). Pure."""
    words = _WORD.findall(text.casefold())
    if len(words) < 2:
        return False
    if _CODE.search(text):
        return True
    return any(w in _MAKES or w.startswith(_STEMS) for w in words)


# How questions start in the bot's languages (a reply to a card that does not ask is a correction, bot/quality).
_ASKING = re.compile(
    r"^\W*(what|why|how|which|where|when|who|can|could|should|does|do|did|will|would"
    r"|qué|por\s+qué|cómo|cuál|cuáles|dónde|cuándo|quién|puedo|debo"
    r"|was|warum|wieso|wie|welche[rsnm]?|wo|wann|wer|kann|soll|muss"
    r"|o\s+que|porquê|como|qual|quais|onde|quando|quem|posso|devo)\b",
    re.IGNORECASE,
)


def looks_like_question(text: str) -> bool:
    """Pure: a question mark (or ¿), or a question word first, in en/es/de/pt."""
    return "?" in text or "¿" in text or bool(_ASKING.match(text))
