"""Value objects: phones, e-mails, money, credit codes, identity numbers, and name
normalisation.

Each parser takes raw input at the edge and returns the normalised form that is stored and
compared; a bad value raises ``ValidationError`` naming the field it came from.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import total_ordering
from typing import Any, Final

import attrs
import phonenumbers
from babel.numbers import format_currency, get_currency_precision, is_currency
from email_validator import EmailNotValidError, validate_email
from stdnum import numdb as _numdb
from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc
from stdnum.exceptions import InvalidChecksum as _InvalidChecksum
from stdnum.exceptions import InvalidFormat as _InvalidFormat
from stdnum.exceptions import InvalidLength as _InvalidLength
from stdnum.exceptions import ValidationError as _StdnumError

from crmkit.domain.errors import FieldError, ValidationError


def _fail(field: str, code: str, value: Any, **params: Any) -> ValidationError:
    return ValidationError([FieldError(field, code, value, params)])


def normalize_text(text: str) -> str:
    """NFKC (full-width → half-width), trimmed, inner whitespace collapsed to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


# -- phones -------------------------------------------------------------------------------
class PhoneKind(enum.StrEnum):
    MOBILE = "mobile"
    FIXED_LINE = "fixed_line"
    OTHER = "other"


# An 11-digit number in a Chinese mobile range, as most numbers in a Chinese customer list
# are. Outside 11x, 12x and 179 (CN's carrier-selection and international prefixes) nothing
# of it is a prefix libphonenumber would strip, so its parse is +86 and these digits: built
# directly, since parsing is most of checking a number. test_values holds both paths to
# libphonenumber's answers.
_CN_MOBILE_SHAPE = re.compile(r"1(?:[3-689][0-9]|7[0-8])[0-9]{8}")
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE}
_FIXED_TYPES = {phonenumbers.PhoneNumberType.FIXED_LINE}
# For CN, libphonenumber never answers FIXED_LINE_OR_MOBILE; elsewhere (e.g. US) it does,
# and such a number is accepted wherever a mobile is required.
_EITHER_TYPES = {phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
# An extension as Chinese lists write it after a switchboard number (0532-88886666转8001,
# 分机 8001, 内线 8001), or as libphonenumber's own markers (ext., x, #), which it would
# also find but not the Chinese ones.
_EXTENSION = re.compile(
    r"(.*?\d)\s*(?:转|轉|分机号?|分機號?|内线|內線|ext\.?|x|#)\s*[:.]?\s*(\d{1,8})", re.IGNORECASE
)
# 0532-88886666-8001: a dash and a few digits after a complete number (tried only when the
# whole text is no number: 0532-8888-6666 is one).
_TRAILING_EXTENSION = re.compile(r"(.*\d)\s*-\s*(\d{1,6})")
MAX_EXTENSION = 8
"""Digits an extension may have (what stores keep beside the number)."""


@functools.lru_cache(maxsize=65536)
def _formatted(e164: str, extension: str | None, form: int) -> str:
    number = phonenumbers.parse(e164, None)
    number.extension = extension
    return phonenumbers.format_number(number, form)


def _classify(t: int) -> PhoneKind:
    """The kind of a number whose libphonenumber type is ``t``."""
    if t in _MOBILE_TYPES or t in _EITHER_TYPES:
        return PhoneKind.MOBILE
    if t in _FIXED_TYPES:
        return PhoneKind.FIXED_LINE
    return PhoneKind.OTHER


# Kinds by E.164, filled by Phone.parse from the number it has just parsed (so a freshly
# typed number is classified once, not parsed again) and on demand for stored numbers.
_KINDS: dict[str, PhoneKind] = {}
_KINDS_MAX = 65536


def _kind_of(e164: str, number_type: int | None = None) -> PhoneKind:
    kind = _KINDS.get(e164)
    if kind is None:
        if number_type is None:
            number_type = phonenumbers.number_type(phonenumbers.parse(e164, None))
        kind = _classify(number_type)
        if len(_KINDS) >= _KINDS_MAX:
            _KINDS.clear()  # bounded; refilled from use
        _KINDS[e164] = kind
    return kind


@attrs.frozen
class Phone:
    """A telephone number, stored as E.164 (``+8613800138000``), with its extension if
    it has one (a switchboard's ``转 8001``).

    Only the E.164 string (and the extension) is kept: it is the identity of the number
    (``phonenumbers`` objects compare by their raw input), and everything else — mobile or
    fixed line, display forms — derives from it on demand. Duplicate matching compares
    the E.164 alone: two extensions of one switchboard are one company's number.
    """

    e164: str
    extension: str | None = None

    @classmethod
    def parse(
        cls,
        raw: str,
        region: str = "CN",
        *,
        field: str = "phone",
        require: PhoneKind | None = None,
    ) -> Phone:
        """Parse a number as people write it: ``+86 138-0013-8000``, ``0532-88888888``,
        ``(0532) 8888 8888``, full-width digits, and an extension after it
        (``0532-88886666转8001``, ``分机 8001``, ``ext. 8001``, ``0532-88886666-8001``).

        Raises:
            ValidationError: ``phone.invalid``; ``phone.not_mobile`` / ``phone.not_fixed``
                when ``require`` asks for a kind the number is not;
                ``phone.mobile_extension`` for a mobile number with an extension.
        """
        text = normalize_text(str(raw))
        if region == "CN" and _CN_MOBILE_SHAPE.fullmatch(text):
            number = phonenumbers.PhoneNumber(country_code=86, national_number=int(text))
            number_type = phonenumbers.number_type(number)
        else:
            number, number_type = _parse_with_extension(text, region, field, raw)
        if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
            raise _fail(field, "phone.invalid", raw)
        if number.extension and len(number.extension) > MAX_EXTENSION:
            # libphonenumber takes up to 20 digits after "ext."; no switchboard has them.
            raise _fail(field, "phone.invalid", raw)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        phone = cls(e164, number.extension or None)
        kind = _kind_of(phone.e164, number_type)
        if require is PhoneKind.MOBILE and phone.extension is not None:
            raise _fail(field, "phone.mobile_extension", raw)
        if require is PhoneKind.MOBILE and kind is not PhoneKind.MOBILE:
            raise _fail(field, "phone.not_mobile", raw)
        if require is PhoneKind.FIXED_LINE and kind is not PhoneKind.FIXED_LINE:
            raise _fail(field, "phone.not_fixed", raw)
        return phone

    @classmethod
    def from_e164(cls, e164: str) -> Phone:
        """Rebuild from storage (the number was validated when it was written)."""
        return cls(e164)

    @property
    def stored(self) -> str:
        """One string for the number and its extension, RFC 3966's way
        (``+8653288886666;ext=8001``): what JSON snapshots (audit, merges, import undo)
        keep. :meth:`from_stored` reads it back."""
        return self.e164 if self.extension is None else f"{self.e164};ext={self.extension}"

    @classmethod
    def from_stored(cls, text: str) -> Phone:
        """Inverse of :attr:`stored`."""
        e164, _, extension = text.partition(";ext=")
        return cls(e164, extension or None)

    @property
    def kind(self) -> PhoneKind:
        """Mobile, fixed line or other (libphonenumber's metadata; cached)."""
        return _kind_of(self.e164)

    def _number(self) -> phonenumbers.PhoneNumber:
        return phonenumbers.parse(self.e164, None)

    @property
    def national(self) -> str:
        """National display form: ``138 0013 8000``, ``0532 8888 8888`` (cached: lists
        show it on every row, and libphonenumber parses and formats on every call)."""
        return _formatted(self.e164, self.extension, phonenumbers.PhoneNumberFormat.NATIONAL)

    @property
    def international(self) -> str:
        """``+86 532 8888 6666 ext. 8001``."""
        return _formatted(self.e164, self.extension, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    @property
    def national_digits(self) -> str:
        """The national significant number: ``13800138000``, ``53288888888``."""
        digits = self.e164[1:]
        # Country calling codes are prefix-free, so the first known prefix is the code.
        for n in (1, 2, 3):
            if int(digits[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return digits[n:]
        return phonenumbers.national_significant_number(self._number())

    @property
    def region_code(self) -> str | None:
        code: str | None = phonenumbers.region_code_for_number(self._number())
        return code

    @property
    def is_mobile(self) -> bool:
        return self.kind is PhoneKind.MOBILE

    def __str__(self) -> str:
        return self.e164


def _parse_with_extension(
    text: str, region: str, field: str, raw: Any
) -> tuple[phonenumbers.PhoneNumber, int]:
    """libphonenumber's parse and type of a number, its extension (if any) set aside
    first: libphonenumber knows ``ext.`` but not 转 or 分机."""
    marked = _EXTENSION.fullmatch(text)
    main, extension = marked.groups() if marked else (text, None)
    try:
        number = phonenumbers.parse(main, region)
    except phonenumbers.NumberParseException as exc:
        raise _fail(field, "phone.invalid", raw) from exc
    # A number is valid exactly when libphonenumber finds it a type (is_valid_number is
    # that test): one pass over the region's number patterns instead of two.
    number_type = phonenumbers.number_type(number)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN and extension is None:
        dashed = _TRAILING_EXTENSION.fullmatch(text)
        if dashed is not None:
            try:
                head = phonenumbers.parse(dashed.group(1), region)
            except phonenumbers.NumberParseException:
                head = None
            if head is not None:
                head_type = phonenumbers.number_type(head)
                if head_type != phonenumbers.PhoneNumberType.UNKNOWN:
                    number, number_type, extension = head, head_type, dashed.group(2)
    if extension is not None:
        number.extension = extension
    return number, number_type


# -- e-mail -------------------------------------------------------------------------------
@attrs.frozen
class Email:
    """An e-mail address in email-validator's normalised form (domain lower-cased, IDNA)."""

    value: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "email", check_deliverability: bool = False) -> Email:
        """Validate and normalise. No DNS lookup unless ``check_deliverability``.

        Raises:
            ValidationError: ``email.invalid`` with the library's reason.
        """
        text = normalize_text(str(raw))
        try:
            result = validate_email(text, check_deliverability=check_deliverability)
        except EmailNotValidError as exc:
            reason = str(exc)
            raise _fail(
                field, "email.invalid", raw, reason=reason, reason_zh=_email_reason_zh(reason)
            ) from exc
        return cls(result.normalized)

    @property
    def dedup_key(self) -> str:
        """The whole address case-folded: how duplicates are compared."""
        return self.value.casefold()

    def __str__(self) -> str:
        return self.value


# -- money --------------------------------------------------------------------------------
@total_ordering
@attrs.frozen(eq=True, order=False)
class Money:
    """An exact amount in a currency (CNY by default). Never float.

    Amounts stay exact through arithmetic; rounding happens only where a caller asks for it
    with :meth:`quantize` (ROUND_HALF_UP to the currency's minor unit by default).
    """

    amount: Decimal
    currency: str = "CNY"

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, not {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise ValueError("Money amount must be finite")

    @classmethod
    def parse(
        cls,
        raw: str | int | Decimal,
        currency: str = "CNY",
        *,
        field: str = "amount",
        allow_negative: bool = True,
    ) -> Money:
        """Parse ``"1,234.50"``, ``"¥12.3"``, ``12``, ``Decimal("1.005")``.

        Raises:
            TypeError: a float was passed (floats cannot hold money exactly).
            ValidationError: ``money.invalid``, ``money.negative``, ``money.currency``.
        """
        if isinstance(raw, float):
            raise TypeError("Money.parse refuses floats; pass a str, int or Decimal")
        code = currency.upper()
        if not is_currency(code):
            raise _fail(field, "money.currency", raw, currency=currency)
        if isinstance(raw, Decimal):
            value = raw
        elif isinstance(raw, int) and not isinstance(raw, bool):
            value = Decimal(raw)
        elif isinstance(raw, str):
            text = normalize_text(raw).replace(",", "").replace(" ", "")
            text = text.lstrip("¥￥$€£").removesuffix("元")
            try:
                value = Decimal(text)
            except InvalidOperation as exc:
                raise _fail(field, "money.invalid", raw) from exc
        else:
            raise _fail(field, "money.invalid", raw)
        if not value.is_finite():
            raise _fail(field, "money.invalid", raw)
        if value < 0 and not allow_negative:
            raise _fail(field, "money.negative", raw)
        return cls(value, code)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor_units(cls, units: int, currency: str = "CNY") -> Money:
        return cls(Decimal(units).scaleb(-get_currency_precision(currency)), currency)

    @property
    def exponent(self) -> Decimal:
        return Decimal(1).scaleb(-get_currency_precision(self.currency))

    def quantize(self, rounding: str = ROUND_HALF_UP) -> Money:
        """Rounded to the currency's minor unit (fen for CNY)."""
        return Money(self.amount.quantize(self.exponent, rounding=rounding), self.currency)

    @property
    def minor_units(self) -> int:
        """The quantized amount in minor units (fen)."""
        return int(self.quantize().amount.scaleb(get_currency_precision(self.currency)))

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float | bool) or not isinstance(factor, int | Decimal):
            raise TypeError("Money can only be multiplied by an int or a Decimal")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def format(self, locale: str = "zh_CN") -> str:
        """Localised display, e.g. ``¥1,234.50``."""
        return format_currency(self.amount, self.currency, locale=locale)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


# -- unified social credit code ------------------------------------------------------------
@attrs.frozen
class USCC:
    """统一社会信用代码: 18 characters with a check digit (GB 32100-2015)."""

    value: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "uscc") -> USCC:
        """Validate the code and its check digit (python-stdnum).

        Raises:
            ValidationError: ``uscc.invalid`` with the reason.
        """
        try:
            value = _uscc.validate(normalize_text(str(raw)).upper())
        except _StdnumError as exc:
            raise _fail(
                field,
                "uscc.invalid",
                raw,
                reason=str(exc),
                reason_zh=_STDNUM_REASONS_ZH.get(type(exc).__name__, "格式不正确"),
            ) from exc
        return cls(str(value))

    @property
    def division_code(self) -> str:
        """The registering authority's administrative division (characters 3–8)."""
        return self.value[2:8]

    def __str__(self) -> str:
        return self.value


# -- identity documents ---------------------------------------------------------------------
class IdType(enum.StrEnum):
    """The identity document an individual's number belongs to (证件类型)."""

    RESIDENT = "resident"  # 居民身份证
    PASSPORT = "passport"  # 护照
    HK_MACAO = "hk_macao"  # 港澳居民来往内地通行证
    TAIWAN = "taiwan"  # 台湾居民来往大陆通行证
    FOREIGN_PERMANENT = "foreign_permanent"  # 外国人永久居留身份证
    OTHER = "other"  # 其他证件


# What ``id_number.invalid`` calls the number of each document: (English, 简体中文), its
# ``document`` / ``document_zh`` parameters.
ID_DOCUMENTS: Final[dict[IdType, tuple[str, str]]] = {
    IdType.RESIDENT: (
        "resident identity card number (18 characters, the last a check digit)",
        "居民身份证号码（18位，末位为校验码）",
    ),
    IdType.PASSPORT: ("passport number", "护照号码"),
    IdType.HK_MACAO: (
        "Mainland Travel Permit for Hong Kong and Macao Residents number",
        "港澳居民来往内地通行证号码",
    ),
    IdType.TAIWAN: (
        "Mainland Travel Permit for Taiwan Residents number",
        "台湾居民来往大陆通行证号码",
    ),
    IdType.FOREIGN_PERMANENT: (
        "Foreign Permanent Resident ID Card number",
        "外国人永久居留身份证号码",
    ),
    IdType.OTHER: ("identity document number", "证件号码"),
}


def id_number_params(kind: IdType, problem: str) -> dict[str, str]:
    """The parameters of ``id_number.invalid`` for a ``kind`` number refused for
    ``problem`` (a key of :data:`ID_NUMBER_REASONS`)."""
    reason, reason_zh = ID_NUMBER_REASONS[problem]
    document, document_zh = ID_DOCUMENTS[kind]
    return {
        "reason": reason,
        "reason_zh": reason_zh,
        "document": document,
        "document_zh": document_zh,
    }


# -- resident identity card numbers --------------------------------------------------------
# Spaces and dashes people type inside a number (3702 0219 9001 0112 37, 370202-19900101-1237).
_ID_SEPARATORS = re.compile(r"[\s\-]")
# The masked form crmkit shows and exports (370202********1237): never a number itself.
_ID_MASKED = re.compile(r"[0-9]{6}\*{8}[0-9]{3}[0-9X]")
# The masked form of another document's number (E1*****78).
_OTHER_ID_MASKED = re.compile(r"[0-9A-Z]{2}\*{4,}[0-9A-Z]{2}")
# Another document's number, compact: letters and digits.
_OTHER_ID = re.compile(r"[0-9A-Z]{5,20}")
# Why a number is refused: (English, 简体中文), the ``reason`` / ``reason_zh`` of
# ``id_number.invalid``.
ID_NUMBER_REASONS: Final[dict[str, tuple[str, str]]] = {
    "length": ("it must have 18 characters", "应为 18 位"),
    "format": (
        "the first 17 characters must be digits and the last a digit or X",
        "前 17 位应为数字，末位为数字或 X",
    ),
    "checksum": ("the check digit (the last character) is wrong", "末位校验码不正确"),
    "birth_date": (
        "characters 7 to 14 are not a birth date",
        "第 7–14 位不是有效的出生日期",
    ),
    "birth_future": ("the birth date in it is in the future", "其中的出生日期晚于今天"),
    "region": (
        "the first 6 digits are not a known region code",
        "前 6 位不是有效的地区代码",
    ),
    # any document but the resident identity card
    "other_format": ("it must be 5 to 20 letters or digits", "应为 5–20 位字母或数字"),
}


@functools.lru_cache(maxsize=4096)
def _known_region(code: str) -> bool:
    """Whether python-stdnum's table of address codes (GB/T 2260, every edition) knows
    ``code`` at all, whatever the years it was in use."""
    return any("county" in props for _, props in _numdb.get("cn/loc").info(code))


def _id_number_problem(number: str) -> str | None:
    """The key of :data:`ID_NUMBER_REASONS` that refuses ``number`` (compact), or None.

    python-stdnum's ``ric.validate`` checks the length, the digits, the check digit, the
    birth date and the address code. For the address code it also wants the code to have
    been in use in the birth year, but a number takes the code of the place where it was
    assigned, when it was assigned (GB 11643): 370202 (市南区, a code since 1983) begins
    real numbers of people born in 1970. So a code the table knows from any year is
    accepted when stdnum's only objection is that year.
    """
    try:
        _ric.validate(number)
    except _InvalidLength:
        return "length"
    except _InvalidFormat:
        return "format"
    except _InvalidChecksum:
        return "checksum"
    except _StdnumError:  # InvalidComponent: the birth date or the address code
        try:
            _ric.get_birth_date(number)
        except _StdnumError:
            return "birth_date"
        if not _known_region(number[:6]):
            return "region"
    return None


@attrs.frozen
class IdNumber:
    """An individual's identity document number: by default (``kind``
    :attr:`IdType.RESIDENT`) 居民身份证号码, a mainland resident identity card number, 18
    characters (GB 11643): a 6-digit address code, the birth date (yyyymmdd), a 3-digit
    sequence and a check digit (0–9 or X). Other documents' numbers (a passport's
    ``E12345678``) are 5 to 20 letters and digits.

    ``value`` is the whole number, upper-case: what is stored and compared. Everything
    else shows it masked (``370202********1237``, ``E1*****78``): ``str()``, ``repr()``
    (and so the repr of a customer holding one), crmkit's display layer, exports and the
    admin.
    """

    value: str
    kind: IdType = IdType.RESIDENT

    @classmethod
    def parse(
        cls, raw: str, *, kind: IdType = IdType.RESIDENT, field: str = "id_number"
    ) -> IdNumber:
        """Validate a number as people type it: full-width characters, spaces and dashes
        inside, lower-case letters. A resident identity card number is checked by
        python-stdnum (the check digit, the birth date and the address code); another
        document's must be 5 to 20 letters or digits.

        Raises:
            ValidationError: ``id_number.invalid`` with the reason (``reason``,
                ``reason_zh``) and the document (``document``, ``document_zh``).
        """
        text = _ID_SEPARATORS.sub("", unicodedata.normalize("NFKC", str(raw)))
        if kind is IdType.RESIDENT:
            number = _ric.compact(text)
            problem = _id_number_problem(number)
        else:
            number = text.upper()
            problem = None if _OTHER_ID.fullmatch(number) else "other_format"
        if problem is not None:
            raise _fail(field, "id_number.invalid", raw, **id_number_params(kind, problem))
        return cls(number, kind)

    @staticmethod
    def is_masked(raw: Any) -> bool:
        """Whether ``raw`` is a number as crmkit shows it masked (an export read back)."""
        if not isinstance(raw, str):
            return False
        text = raw.strip().upper()
        return (
            _ID_MASKED.fullmatch(text) is not None or _OTHER_ID_MASKED.fullmatch(text) is not None
        )

    @property
    def masked(self) -> str:
        """A resident card's first 6 and last 4 characters, 8 asterisks between
        (``370202********1237``); another document's first 2 and last 2, at least 4
        asterisks between (``E1*****78``)."""
        if self.kind is IdType.RESIDENT:
            return f"{self.value[:6]}{'*' * 8}{self.value[-4:]}"
        return f"{self.value[:2]}{'*' * max(4, len(self.value) - 4)}{self.value[-2:]}"

    @property
    def birth_date(self) -> date | None:
        """The birth date a resident card's number encodes (characters 7–14); None for
        other documents."""
        if self.kind is not IdType.RESIDENT:
            return None
        return _ric.get_birth_date(self.value)

    @property
    def region_code(self) -> str | None:
        """A resident card's address code (the first 6 digits): where the number was
        assigned; None for other documents."""
        if self.kind is not IdType.RESIDENT:
            return None
        return self.value[:6]

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        if self.kind is IdType.RESIDENT:
            return f"IdNumber({self.masked!r})"
        return f"IdNumber({self.masked!r}, {self.kind.value!r})"


# python-stdnum's errors by class, in Chinese (its messages are English only).
_STDNUM_REASONS_ZH: Final = {
    "InvalidChecksum": "校验位不正确",
    "InvalidLength": "位数不对（应为 18 位）",
    "InvalidFormat": "格式不正确",
    "InvalidComponent": "其中的机构类别或行政区划代码无效",
}

# email-validator's messages (English only) in Chinese: its message pattern -> ours, with
# the characters it quotes kept. Checked against email-validator 2.x's texts (test_values).
_EMAIL_REASONS_ZH: Final = (
    (re.compile(r"must have an @-sign"), "缺少 @"),
    (re.compile(r"something before the @-sign"), "@ 前面不能为空"),
    (re.compile(r"something after the @-sign"), "@ 后面不能为空"),
    (re.compile(r"It should have a period"), "@ 后面的域名不完整（缺少“.”）"),
    (re.compile(r"invalid characters before the @-sign: (.+?)\.?$"), "@ 前面有无效字符：{0}"),
    (
        re.compile(r"after the @-sign contains invalid characters: (.+?)\.?$"),
        "@ 后面有无效字符：{0}",
    ),
    (re.compile(r"invalid characters"), "含有无效字符"),
    (re.compile(r"two periods in a row"), "不能有两个连续的“.”"),
    (re.compile(r"period immediately before the @-sign"), "@ 前面不能紧挨“.”"),
    (re.compile(r"(hyphen|period) immediately after the @-sign"), "@ 后面不能紧跟“-”或“.”"),
    (re.compile(r"cannot (start|end) with a period"), "不能以“.”开头或结尾"),
    (re.compile(r"too long"), "太长"),
)


def _email_reason_zh(reason: str) -> str:
    for pattern, text in _EMAIL_REASONS_ZH:
        found = pattern.search(reason)
        if found:
            return text.format(*(g.replace("SPACE", "空格") for g in found.groups()))
    return "格式不正确"


# -- names --------------------------------------------------------------------------------
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN = re.compile(r"[A-Za-z]")
_CN_ALLOWED = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef0-9（）]")
_EN_ALLOWED = re.compile(r"[A-Za-z0-9 ,.()&\-]")
_PERSON_CN_ALLOWED = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef·]")
_PERSON_EN_ALLOWED = re.compile(r"[A-Za-z .'\-]")
_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9]")
# Chinese names with Latin letters inside (the default): brands, abbreviations, used names.
_CN_MIXED_ALLOWED = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebefA-Za-z0-9（）&\-.· ]"
)
_PERSON_MIXED_ALLOWED = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebefA-Za-z·\- ]"
)
_DOTS = "・•.･‧∙⋅"


def _bad_chars(text: str, allowed: re.Pattern[str]) -> str:
    return "".join(dict.fromkeys(ch for ch in text if not allowed.fullmatch(ch)))


def _balanced(text: str, opening: str, closing: str) -> bool:
    depth = 0
    for ch in text:
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _name_text(raw: str, field: str, max_length: int, strict: bool) -> tuple[str, bool]:
    """The rules every name shares; returns the normalised text and whether it is Chinese
    (holds a Chinese character: 北京ABB电气传动系统有限公司 is a Chinese name).

    Present, not too long, made of letters or Chinese characters (not only punctuation),
    and, when ``strict``, in one script.
    """
    text = normalize_text(str(raw))
    if not text:
        raise _fail(field, "required", raw)
    if len(text) > max_length:
        raise _fail(field, "too_long", raw, max=max_length)
    has_cjk = bool(_CJK.search(text))
    has_latin = bool(_LATIN.search(text))
    if not has_cjk and not has_latin:
        raise _fail(field, "name.punctuation_only", raw)
    if strict and has_cjk and has_latin:
        raise _fail(field, "name.mixed", raw)
    return text, has_cjk


def _chinese_spacing(text: str) -> str:
    """Spaces dropped, except one between two Latin words or numbers (``Coca Cola可口可乐``):
    a Chinese name is written without spaces, a brand inside it keeps its own."""
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch == " ":
            before, after = text[i - 1 : i], text[i + 1 : i + 2]
            if not (_LATIN_OR_DIGIT.fullmatch(before) and _LATIN_OR_DIGIT.fullmatch(after)):
                continue
        out.append(ch)
    return "".join(out)


def normalize_company_name(
    raw: str, *, field: str = "name", max_length: int = 100, strict: bool = False
) -> str:
    """A company name under the seed manuals' rules, in its one stored form.

    A Chinese name may hold Chinese characters, digits and brackets, stored full-width
    （）, and the Latin letters of brands and abbreviations that registered names carry
    (TCL科技集团股份有限公司, 北京ABB电气传动系统有限公司), then also ``& - . ·``; an
    English name letters, digits, spaces and ``, . ( ) & -``. A name with no Chinese
    character and no letter is refused (no punctuation to dodge the required field).
    ``strict`` is seed 002's stricter rule: one script per name, so a Chinese name holds
    no Latin letter (``Settings.strict_name_script``).

    Raises:
        ValidationError: ``required``, ``too_long``, ``name.punctuation_only``,
            ``name.mixed``, ``name.cn_chars``, ``name.en_chars``, ``name.brackets``.
    """
    text, chinese = _name_text(raw, field, max_length, strict)
    if chinese:
        text = _chinese_spacing(text.replace("(", "（").replace(")", "）"))
        mixed = bool(_LATIN.search(text))  # never with ``strict``: refused above
        bad = _bad_chars(text, _CN_MIXED_ALLOWED if mixed else _CN_ALLOWED)
        if bad:
            raise _fail(field, "name.cn_mixed_chars" if mixed else "name.cn_chars", raw, chars=bad)
        if not _balanced(text, "（", "）"):
            raise _fail(field, "name.brackets", raw)
        return text
    bad = _bad_chars(text, _EN_ALLOWED)
    if bad:
        raise _fail(field, "name.en_chars", raw, chars=bad)
    if not _balanced(text, "(", ")"):
        raise _fail(field, "name.brackets", raw)
    return text


def normalize_person_name(
    raw: str, *, field: str = "name", max_length: int = 50, strict: bool = False
) -> str:
    """A person's name: Chinese (with · for minority names, e.g. 阿沛·阿旺晋美), Latin, or,
    unless ``strict``, Chinese with a Latin given or used name (王Lily, Tony王).

    Raises:
        ValidationError: ``required``, ``too_long``, ``name.punctuation_only``,
            ``name.mixed``, ``name.cn_chars``, ``name.en_chars``.
    """
    text, chinese = _name_text(raw, field, max_length, strict)
    if chinese:
        text = _chinese_spacing(text)
        for dot in _DOTS:
            text = text.replace(dot, "·")
        mixed = bool(_LATIN.search(text))
        bad = _bad_chars(text, _PERSON_MIXED_ALLOWED if mixed else _PERSON_CN_ALLOWED)
        if bad:
            raise _fail(field, "name.cn_chars", raw, chars=bad)
        return text
    bad = _bad_chars(text, _PERSON_EN_ALLOWED)
    if bad:
        raise _fail(field, "name.en_chars", raw, chars=bad)
    return text
