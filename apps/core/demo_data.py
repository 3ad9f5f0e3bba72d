"""The demo shop's deterministic data: names, places and the clock every app's demo seeder shares.

Each seeder draws from `demo_rng(<its own name>)`, so adding rows to one app's seed never reshuffles
another's, and a fresh database always gets the same shop (only the timestamps follow today's date).
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

SEED = 2026
HISTORY_DAYS = 30
# The completed campaign went out this long ago: STOP replies after it count as its opt-outs, and
# WhatsApp messages after it as its replies, so the contacts and conversations seeds place events around it.
CAMPAIGN_SENT_DAYS_AGO = 6

SHOP_NAME = "Tienda Sol"
FIRST_NAMES = (
    "Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Leo", "Julia", "Daniel", "Paula", "Alejandro",
    "Valeria", "Pablo", "Emma", "Álvaro", "Daniela", "Adrián", "Carla", "Manuel", "Sara", "Mario",
    "Alba", "Javier", "Noa", "Diego", "Carmen", "Marcos", "Irene", "Sergio", "Laura", "Jorge",
    "Elena", "David", "Marta", "Iván", "Ana", "Raúl", "Claudia", "Rubén", "Nerea", "Andrés",
)  # fmt: skip
LAST_NAMES = (
    "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
    "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso",
    "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano",
    "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado", "Castro", "Ortiz", "Rubio", "Marín",
)  # fmt: skip
# (city, explicit contact time zone or "" when the merchant's Europe/Madrid applies)
CITIES = (
    ("Madrid", ""), ("Barcelona", ""), ("Valencia", ""), ("Sevilla", ""), ("Zaragoza", ""),
    ("Málaga", ""), ("Bilbao", ""), ("Granada", ""), ("Las Palmas", "Atlantic/Canary"),
    ("Santa Cruz de Tenerife", "Atlantic/Canary"), ("Ciudad de México", "America/Mexico_City"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
)  # fmt: skip
PLANS = ("básico", "plus", "premium")
TAGS = ("cliente", "vip", "newsletter", "mayorista", "recurrente", "nuevo")
EMAIL_DOMAINS = ("correo.example", "mail.example", "sol.example")


def demo_rng(name: str) -> random.Random:
    """A generator of its own per seeder, all derived from the one fixed seed."""
    return random.Random(f"{SEED}:{name}")


def full_name(rng: random.Random) -> str:
    # Two surnames, as people in Spain have.
    first, second = rng.sample(LAST_NAMES, 2)
    return f"{rng.choice(FIRST_NAMES)} {first} {second}"


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return ".".join(plain.lower().split())


def days_ago(now: datetime, rng: random.Random, low: float, high: float) -> datetime:
    """A moment between `high` and `low` days before `now`, to the second."""
    return (now - timedelta(seconds=rng.uniform(low * 86400, high * 86400))).replace(microsecond=0)
