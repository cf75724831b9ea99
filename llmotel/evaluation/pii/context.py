"""Context words: what the words just before a match say about it.

Without a spaCy pipeline there are no lemmas for Presidio's context enhancer, so a cheap equivalent is used.
The words before a match are the last few words of the text before it, preceded by any context words the caller
passes (a JSON key or an attribute name, split into words: ``"contactPhone"`` -> ``contact phone``). Scanning
back from the match, the nearest *label* decides:

* a label of the match's own kind ("phone", "Telefon", "電話", "SSN", "card") raises its score by 0.35, to at
  least 0.5: ``call 4155550132``, ``social_security_number: 138867055``;
* a label of some other identifier ("firmware", "version", "tracking", "SIRET", "EIN", "IMEI", "total") right
  before the match, filler words ("number", "no.", "de", ":") aside, drops a match of a kind that only its shape
  tells apart from that identifier (a phone number, a compact card number, an IP address) when it scores
  below 1: ``Firmware 5.8.77.117`` is a version, ``SIRET 362 521 879 00034`` and ``SIRET 36252187900034`` a
  company. A card written in groups and an SSN are never dropped.

A label belongs to the nearest value after it: the words before a match are only those after the last digit
before it. Words in Chinese and Japanese are not separated by spaces, so labels in those scripts are found as
substrings of the text before the match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BOOST = 0.35
MIN_BOOSTED_SCORE = 0.5
_WORDS_BEFORE = 5
_CHARS_BEFORE = 60

#: Labels of each kind of entity, lower case (Latin scripts: whole words; CJK: substrings).
POSITIVE: dict[str, frozenset[str]] = {
    "PHONE_NUMBER": frozenset({
        "phone", "phones", "telephone", "phonenumber", "tel", "telno", "mobile", "mobil", "cell", "cellphone",
        "cellular", "call", "calls", "ring", "dial", "fax", "whatsapp", "sms", "landline", "ph", "mob", "msisdn",
        "handy", "telefon", "telefonnummer", "rufnummer", "mobilnummer", "festnetz", "anrufen", "ruf", "rufen",
        "téléphone", "tél", "portable", "appelez", "appeler", "teléfono", "telefono", "móvil", "movil",
        "llámame", "llame", "llamar", "celular", "cellulare", "cel", "chiamami", "chiamare", "telefone", "ligue",
        "ligar", "contatto", "whats",
        "電話", "电话", "電話番号", "携帯", "手机", "手機", "ファックス", "传真", "連絡先", "联系", "拨打", "致电",
        "전화", "휴대폰",
    }),
    "US_SSN": frozenset({
        "ssn", "ssns", "ssid", "social", "security", "socialsecurity", "sozialversicherungsnummer",
        "sécurité", "seguro", "segurança", "社会保障", "社会安全", "社會安全",
    }),
    "CREDIT_CARD": frozenset({
        "credit", "card", "cards", "creditcard", "visa", "mastercard", "cc", "amex", "discover", "jcb", "diners",
        "maestro", "instapayment", "unionpay", "pan", "debit", "kreditkarte", "karte", "kartennummer", "carte",
        "cb", "tarjeta", "carta", "cartão", "cartao", "crédito", "credito",
        "クレジット", "カード", "信用卡", "卡号", "银行卡", "信用卡号",
    }),
    "IBAN_CODE": frozenset({"iban", "bank", "konto", "kontonummer", "compte", "cuenta", "conto", "conta", "bic",
                            "口座", "账户", "帳戶", "银行"}),
    "IP_ADDRESS": frozenset({"ip", "ipv4", "ipv6", "ipaddress", "addr"}),
    "EMAIL_ADDRESS": frozenset({"email", "mail", "correo", "courriel", "メール", "邮箱", "邮件"}),
}
# Labels of things that are not personal data, right before a match (filler words aside), and the kinds of
# match they drop: those that share a shape with them, and that score below 1.
_AMOUNTS = frozenset({  # "748.888.575", "748 888 575": amounts, not phone numbers
    "total", "amount", "sum", "price", "cost", "revenue", "population", "balance", "umsatz", "betrag", "summe",
    "preis", "einwohner", "montant", "prix", "importe", "precio", "totale", "importo", "prezzo", "fatturato",
    "valor", "preço", "合計", "金額", "売上", "総額", "总额", "金额", "价格", "人口",
})
_VERSIONS = frozenset({  # "5.8.77.117": a version, not an IP address
    "version", "versions", "ver", "firmware", "fw", "build", "release", "kernel", "driver", "bios", "patch",
    "software", "versión", "versione", "versão", "バージョン", "ファームウェア", "ビルド", "版本", "固件", "构建",
})
_IDENTIFIERS = frozenset({  # parcel, company, product, device and document numbers
    "order", "invoice", "ticket", "reference", "bestellung", "bestellnummer", "rechnung", "vorgang", "commande",
    "facture", "référence", "pedido", "factura", "referencia", "ordine", "fattura", "riferimento", "referência",
    "注文", "订单", "参照", "参考",
    "tracking", "parcel", "package", "shipment", "consignment", "waybill", "awb", "sendung", "sendungsnummer",
    "paket", "colis", "suivi", "paquete", "seguimiento", "pacco", "spedizione", "tracciamento", "encomenda",
    "rastreio", "rastreamento", "追跡", "荷物", "配送", "包裹", "快递", "运单", "物流",
    "siret", "siren", "fein", "tva", "vat", "ust", "ustid", "handelsregister", "hrb", "duns", "cnpj", "kvk",
    "company", "registration", "firma", "unternehmen", "steuernummer", "société", "entreprise", "registre",
    "empresa", "registro", "società", "azienda", "法人", "企业", "公司", "会社", "注册号",
    "ean", "gtin", "isbn", "upc", "sku", "asin", "imei", "meid", "serial", "checksum", "sha", "md5", "commit",
    "uuid", "チェックサム", "校验",
})
NEGATIVE: dict[str, frozenset[str]] = {
    "PHONE_NUMBER": _AMOUNTS | _VERSIONS | _IDENTIFIERS,
    "IP_ADDRESS": _VERSIONS | _IDENTIFIERS,
    "CREDIT_CARD": _IDENTIFIERS,
}
# Written in capitals when they are labels ("EIN 12-3456789"), ordinary words otherwise (German "ein"); in lower
# case they are labels only as keys ("ein=...", '"ein": ...', "<ein>", a JSON key given as context).
_NEGATIVE_UPPER = frozenset({"EIN", "IVA", "SN", "PO"})
_NEGATIVE_KEYS = frozenset(w.lower() for w in _NEGATIVE_UPPER)
# Words that sit between a label and its value: "order number", "numéro de commande", "SSN is".
_FILLER = frozenset({
    "number", "no", "nr", "num", "id", "code", "the", "my", "our", "your", "of", "a", "an", "to", "at", "is", "was",
    "were", "are", "came", "nummer", "ist", "war", "sind", "betrug", "beträgt", "lautet", "die", "der", "das",
    "ihre", "mein", "meine", "numéro", "de", "du", "est", "était", "le", "la", "mon", "ma", "votre", "número", "es",
    "fue", "era", "el", "mi", "su", "numero", "è", "il", "mio", "é", "foi", "o", "meu", "minha", "sua", "e",
    # Japanese and Chinese particles and "number" (within a run of such text they are skipped too)
    "は", "が", "の", "を", "に", "で", "と", "も", "番号", "是", "的", "为", "為", "号", "号码", "編號", "编号",
})

_IDENTIFIER_WORD = re.compile(r"[^\W\d_]+")
#: Characters of Chinese, Japanese and Korean text (kana, CJK ideographs, Hangul), as a regex class body.
CJK_CHARACTERS = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_AFTER = re.compile(f"[{CJK_CHARACTERS}]{{1,12}}")
_LAST_DIGIT = re.compile(r"\d(?=\D*$)")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[^A-Za-z]+")
_CJK = re.compile(f"[{CJK_CHARACTERS}]")
_SCRIPT_RUN = re.compile(f"[{CJK_CHARACTERS}]+|[^{CJK_CHARACTERS}]+")
_CJK_LABELS: dict[frozenset[str], tuple[str, ...]] = {}


def split_words(text: str) -> list[str]:
    """The words of ``text`` in order, identifiers split (``social_security_number`` -> social, security,
    number; ``contactPhone`` -> contact, phone), original case kept."""
    words: list[str] = []
    for token in _IDENTIFIER_WORD.findall(text):
        if token.isascii():
            if token.islower() or token.isupper():
                words.append(token)
            else:
                words.extend(_CAMEL.findall(token))
        elif _CJK.search(token):
            words.extend(_SCRIPT_RUN.findall(token))  # "已于SIREN": 已于, SIREN
        else:
            words.append(token)
    return words


def context_words(context: Iterable[str]) -> tuple[str, ...]:
    """Caller-given context (keys, attribute names, words) as one tuple of words, for :func:`label_before`."""
    words: list[str] = []
    for item in context:
        if isinstance(item, str):
            words.extend(split_words(item))
    return tuple(words)


def _cjk_labels(labels: frozenset[str]) -> tuple[str, ...]:
    found = _CJK_LABELS.get(labels)
    if found is None:
        found = tuple(w for w in labels if _CJK.search(w))
        _CJK_LABELS[labels] = found
    return found


def label_before(text: str, start: int, entity_type: str, positive: frozenset[str],
                 context: tuple[str, ...], end: int | None = None) -> int:
    """+1 when the nearest label before ``text[start]`` names ``entity_type`` (one of ``positive``, lower case) or,
    in Chinese or Japanese, one right after the match (ending at ``end``) does; -1 when a label right before it
    names an identifier of another kind (:data:`NEGATIVE`); 0 otherwise."""
    before = text[max(0, start - _CHARS_BEFORE):start]
    last_digit = _LAST_DIGIT.search(before)
    if last_digit is not None:  # a label before another number is that number's label
        before, context = before[last_digit.end():], ()
    words = [*context, *split_words(before)][-_WORDS_BEFORE:] if before or context else []
    header = _column_header(text, start)
    if header:  # in a table, the column's header is the nearest label
        words.extend(split_words(header))
    after = _CJK_AFTER.match(text, end) if end is not None else None
    if after and _cjk_verdict(after.group(), positive, _NONE) > 0:
        return 1  # Japanese and Korean put the verb after the value: "0375300295までお電話ください"
    negative = NEGATIVE.get(entity_type, _NONE)
    distance = 0
    for word in reversed(words):
        if _CJK.search(word):
            verdict = _cjk_verdict(word, positive, negative if distance == 0 else _NONE)
            if verdict:
                return verdict
            if word not in _FILLER:
                distance += 1
            continue
        lower = word.lower()
        if lower in positive or (len(lower) > 5 and _starts_with_label(lower, positive)):
            return 1
        if negative and distance == 0 and (lower in negative or word in _NEGATIVE_UPPER or
                                           (lower in _NEGATIVE_KEYS and _is_key(word, before, context))):
            return -1
        if lower not in _FILLER:
            distance += 1
    return 0


_NONE: frozenset[str] = frozenset()
_TABLE_SEPARATORS = ",;\t|"
# Where each table row's header line starts, by (text hash, text length, row start, separator, field count):
# rows of one table are labelled in turn, so each finds the row above it here. Bounded; no text is kept.
_TABLE_TOPS: dict[tuple[int, int, int, str, int], int] = {}
_MAX_TABLE_TOPS = 4096


def _column_header(text: str, start: int) -> str:
    """The header of the column the value at ``start`` is in, when it is in a row of a table (CSV, TSV, a
    Markdown table): the top line of the lines above that split into as many fields the same way."""
    line_start = text.rfind("\n", 0, start) + 1
    if not line_start:
        return ""
    line_end = text.find("\n", start)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    for sep in _TABLE_SEPARATORS:
        if sep not in line:
            continue
        fields = line.count(sep)
        top = _table_top(text, line_start, sep, fields)
        if top < line_start:
            header = text[top:text.find("\n", top)]
            return header.split(sep)[text.count(sep, line_start, start)]
    return ""


def _table_top(text: str, line_start: int, sep: str, fields: int) -> int:
    """The start of the top line of the run of lines, ending with the one at ``line_start``, that have ``fields``
    separators each."""
    text_hash, text_len = hash(text), len(text)
    walked: list[int] = []
    top = line_start
    while top > 0:
        known = _TABLE_TOPS.get((text_hash, text_len, top, sep, fields))
        if known is not None:
            top = known
            break
        above = text.rfind("\n", 0, top - 1) + 1
        if text.count(sep, above, top - 1) != fields:
            break
        walked.append(top)
        top = above
    if len(_TABLE_TOPS) > _MAX_TABLE_TOPS:
        _TABLE_TOPS.clear()
    for row in walked:
        _TABLE_TOPS[(text_hash, text_len, row, sep, fields)] = top
    return top


def _is_key(word: str, before: str, context: tuple[str, ...]) -> bool:
    """Whether ``word`` is a key: given as context, or followed by "=", ":" or ">" (JSON, logs, XML)."""
    if word in context:
        return True
    return re.search(rf"(?<![^\W_]){re.escape(word)}[\"']?\s*[=:>]", before) is not None


def _starts_with_label(word: str, labels: frozenset[str]) -> bool:
    """Compounds led by a label of five letters or more: "Handynummer", "Telefonnummer", "smartphone" aside."""
    return any(word[:n] in labels for n in range(5, len(word)))


def _cjk_verdict(word: str, positive: frozenset[str], negative: frozenset[str]) -> int:
    """The label nearest the end of a run of CJK text: +1 for the entity's own kind, -1 for another identifier."""
    own = max((word.rfind(label) + len(label) for label in _cjk_labels(positive) if label in word), default=-1)
    other = max((word.rfind(label) + len(label) for label in _cjk_labels(negative) if label in word), default=-1)
    if own < 0 and other < 0:
        return 0
    return 1 if own >= other else -1
