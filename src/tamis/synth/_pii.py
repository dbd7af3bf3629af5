"""Fast, checksum-valid fake personal data: IBANs, French NIRs, card numbers, phones, IPs.

Every function takes the caller's ``random()`` (a bound ``random.Random.random``) so that the
sequence of draws, hence the output, depends only on the caller's seed. They are called in the
hot loop, so they avoid ``Random.choice``/``randrange`` and string templating engines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Rand = Callable[[], float]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def pick(rand: Rand, items: Sequence[str]) -> str:
    return items[int(rand() * len(items))]


_POW10 = tuple(10**k for k in range(13))


def digits(rand: Rand, n: int) -> str:
    """``n`` random decimal digits (leading zeros kept)."""
    if n <= 12:  # a double carries 15 safe digits
        p = _POW10[n]
        return str(p + int(rand() * p))[1:]
    return digits(rand, 12) + digits(rand, n - 12)


# --- IBAN -------------------------------------------------------------------------------------
# BBAN layouts (ISO 13616 registry): n = digit, a = upper-case letter, c = alphanumeric.
_BBAN: dict[str, str] = {
    "FR": "5n5n11n2n",
    "DE": "8n10n",
    "ES": "4n4n2n10n",
    "IT": "1a5n5n12n",
    "NL": "4a10n",
    "BE": "3n7n2n",
    "GB": "4a6n8n",
    "PT": "4n4n11n2n",
    "LU": "3n13c",
    "CH": "5n12c",
    "AT": "5n11n",
    "IE": "4a6n8n",
}
IBAN_COUNTRIES: tuple[str, ...] = tuple(_BBAN)
_BANK_CODES = {
    "NL": ("ABNA", "INGB", "RABO", "TRIO", "SNSB"),
    "GB": ("NWBK", "BARC", "HBUK", "LOYD", "MIDL"),
    "IE": ("AIBK", "BOFI", "IPBS"),
}
_FR_BANKS = ("30004", "30002", "20041", "30003", "10278", "17515", "18206", "30066", "12506")


_LETTER_DIGITS = str.maketrans({ch: str(int(ch, 36)) for ch in _UPPER})
_BBAN_PARTS: dict[str, tuple[tuple[int, str], ...]] = {
    country: tuple((int(n), cls) for n, cls in re.findall(r"(\d+)([nac])", layout))
    for country, layout in _BBAN.items()
}


def _letters_to_digits(text: str) -> str:
    return text.translate(_LETTER_DIGITS)


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = _letters_to_digits(bban + country) + "00"
    return f"{98 - int(rearranged) % 97:02d}"


def iban_is_valid(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", compact):
        return False
    return int(_letters_to_digits(compact[4:] + compact[:4])) % 97 == 1


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


def _random_text(rand: Rand, alphabet: str, n: int) -> str:
    size = len(alphabet)
    return "".join([alphabet[int(rand() * size)] for _ in range(n)])


def iban(rand: Rand, country: str = "FR", *, grouped: bool = True) -> str:
    """A random IBAN of ``country`` whose mod-97 check digits are valid (French ones have a valid
    RIB key too), printed in groups of four (``grouped``) or compact."""
    if country == "FR":
        bank = pick(rand, _FR_BANKS)
        branch, account = digits(rand, 5), digits(rand, 11)
        bban = bank + branch + account + _fr_rib_key(bank, branch, account)
    else:
        pieces = []
        for n, cls in _BBAN_PARTS[country]:
            if cls == "n":
                pieces.append(digits(rand, n))
            elif cls == "a" and n == 4 and country in _BANK_CODES:
                pieces.append(pick(rand, _BANK_CODES[country]))
            else:
                pieces.append(_random_text(rand, _UPPER if cls == "a" else _ALNUM, n))
        bban = "".join(pieces)
        if country == "BE":  # national check: first ten digits mod 97
            bban = bban[:10] + f"{int(bban[:10]) % 97 or 97:02d}"
    text = country + iban_check_digits(country, bban) + bban
    if grouped:
        return " ".join([text[i : i + 4] for i in range(0, len(text), 4)])
    return text


# --- French social security number (NIR) ------------------------------------------------------


def nir_key(first13: str) -> int:
    """The NIR key: 97 - (number mod 97); Corsica (2A/2B) counts as 19/18 in the department."""
    if first13[5:7] in ("2A", "2B"):
        first13 = first13[:5] + ("19" if first13[6] == "A" else "18") + first13[7:]
    return 97 - int(first13) % 97


def nir_is_valid(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not re.fullmatch(r"[12]\d{4}(\d{2}|2A|2B)\d{6}\d{2}", compact):
        return False
    return nir_key(compact[:13]) == int(compact[13:])


def nir(rand: Rand, *, spaced: bool = True) -> str:
    """A French NIR (sex, year, month, department, commune, order) with a valid key."""
    sex = "1" if rand() < 0.5 else "2"
    year = f"{int(rand() * 100):02d}"
    month = f"{1 + int(rand() * 12):02d}"
    u = rand()
    if u < 0.02:
        dept, commune = ("2A" if u < 0.01 else "2B"), f"{1 + int(rand() * 360):03d}"
    elif u < 0.05:  # overseas: 97 + 3-digit commune starting 1-6
        dept, commune = "97", f"{100 + int(rand() * 600):03d}"
    else:
        d = 1 + int(rand() * 95)
        dept = f"{d if d != 20 else 21:02d}"
        commune = f"{1 + int(rand() * 899):03d}"
    order = f"{1 + int(rand() * 998):03d}"
    key = f"{nir_key(sex + year + month + dept + commune + order):02d}"
    if spaced:
        return f"{sex} {year} {month} {dept} {commune} {order} {key}"
    return f"{sex}{year}{month}{dept}{commune}{order}{key}"


# --- payment cards ----------------------------------------------------------------------------


def luhn_is_valid(text: str) -> bool:
    compact = text.replace(" ", "").replace("-", "")
    if not compact.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(compact)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _luhn_complete(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def credit_card(rand: Rand) -> str:
    """A Luhn-valid Visa, Mastercard or Amex number, printed the way people type them."""
    u = rand()
    if u < 0.55:
        number = _luhn_complete("4" + digits(rand, 14))
    elif u < 0.9:
        number = _luhn_complete(f"5{1 + int(rand() * 5)}" + digits(rand, 13))
    else:
        number = _luhn_complete(("34" if rand() < 0.5 else "37") + digits(rand, 12))
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    if rand() < 0.8:
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return number


# --- phone numbers ----------------------------------------------------------------------------


class PhoneFormat:
    """A phone template where ``#`` is a random digit, compiled for ``%``-formatting."""

    __slots__ = ("_fmt", "_n")

    def __init__(self, template: str) -> None:
        self._fmt = template.replace("%", "%%").replace("#", "%s")
        self._n = template.count("#")

    def __call__(self, rand: Rand) -> str:
        return self._fmt % tuple(digits(rand, self._n))


_FR_PHONE = tuple(
    PhoneFormat(t)
    for t in (
        "06 ## ## ## ##",
        "07 ## ## ## ##",
        "+33 6 ## ## ## ##",
        "+33 7 ## ## ## ##",
        "06.##.##.##.##",
        "06########",
        "+336########",
        "+33 (0)6 ## ## ## ##",
        "01 ## ## ## ##",
        "04 ## ## ## ##",
        "09 ## ## ## ##",
    )
)
_INTL_PHONE = tuple(
    PhoneFormat(t)
    for t in (
        "+44 7### ######",
        "+1 415-###-####",
        "(212) ###-####",
        "+49 15# #######",
        "+34 6## ### ###",
        "+39 3## ### ####",
        "+32 4## ## ## ##",
        "+41 7# ### ## ##",
        "+31 6 ########",
        "+212 6##-######",
        "+221 7# ### ## ##",
        "+91 9#### #####",
    )
)


def phone_fr(rand: Rand) -> str:
    """A French number in one of the ways people write them (06 12 .., +33 6 .., 06.12..)."""
    return _FR_PHONE[int(rand() * len(_FR_PHONE))](rand)


def phone_intl(rand: Rand) -> str:
    return _INTL_PHONE[int(rand() * len(_INTL_PHONE))](rand)


# --- network ----------------------------------------------------------------------------------
_RESERVED_FIRST_OCTET = frozenset({0, 10, 100, 127, 169, 172, 192, 198, 203})


def ipv4(rand: Rand) -> str:
    first = 1 + int(rand() * 223)
    if first in _RESERVED_FIRST_OCTET:
        first = 81  # a plain public block rather than a private/documentation one
    return f"{first}.{int(rand() * 256)}.{int(rand() * 256)}.{1 + int(rand() * 254)}"


_V6_PREFIXES = ("2a01:cb00", "2a01:e0a", "2001:861", "2a02:8428", "2600:1700", "2a00:23c5")


def ipv6(rand: Rand) -> str:
    prefix = _V6_PREFIXES[int(rand() * len(_V6_PREFIXES))]
    groups = ":".join(f"{int(rand() * 65536):x}" for _ in range(7 - prefix.count(":")))
    return f"{prefix}:{groups}"


def hex_token(rand: Rand, n: int) -> str:
    out = ""
    while len(out) < n:
        out += f"{int(rand() * 2**48):012x}"
    return out[:n]
