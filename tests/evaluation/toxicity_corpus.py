# ruff: noqa: RUF001  (confusable characters are the point of this corpus)
"""A large, varied, reproducible set of texts for the toxicity pre-check's regression tests.

``texts(n, seed)`` builds the same ``n`` texts for the same seed: ordinary prose and technical answers in many
languages and scripts, glin-profanity dictionary words (every language's), llmotel's insults and threats,
second-person words near and far, and the tricks a wordlist pre-check has to see through or must not be fooled
by: leetspeak, separators (``f.u.c.k``, ``s h i t``), masks (``f*ck``), stretched letters, homoglyphs and other
confusable Unicode, zero-width characters, full-width letters, accents and combining marks, HTML tags and
entities, odd casing, safe words (``Scunthorpe``, ``summa cum laude``), and long texts past the 5,000-character cap.

The words come from glin-profanity's dictionaries and ``lexicon.json``, so a change to either changes the texts;
the golden file stores a checksum of each text to notice that.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from importlib import resources

from glin_profanity.data.dictionary import dictionary

LANGUAGES = (
    "arabic", "chinese", "czech", "danish", "dutch", "english", "esperanto", "finnish", "french", "german", "hindi",
    "hungarian", "italian", "japanese", "korean", "norwegian", "persian", "polish", "portuguese", "russian",
    "spanish", "swedish", "thai", "turkish",
)
DEFAULT_LANGUAGES = ("english", "german", "french", "spanish", "portuguese", "italian", "dutch")

PROSE = [
    "The deployment finished and the service is healthy again; the logs show the retry logic worked as expected.",
    "Thank you for reaching out. I have found your order and the invoice has been sent to the e-mail on file.",
    "Delivery to Berlin usually takes two to three working days.",
    "If the health check is not found, the probe returns 404 and the pod restarts.",
    "Use git rebase to squash your commits, then push with --force-with-lease.",
    "The assistant's assessment of the class assignment was passed to the associate.",
    "Scunthorpe United won the match on Saturday.",
    "I graduated summa cum laude from the university.",
    "Please grab the pussy willow branches for the vase.",
    "We saw a great tit and a blue tit in the garden.",
    "Moby Dick is a novel by Herman Melville; Dick Van Dyke starred in Mary Poppins.",
    "Philip K. Dick wrote Do Androids Dream of Electric Sheep?",
    "The jackass penguin lives in South Africa.",
    "Cock the hammer before you fire the pistol at the range.",
    "The patient had an anal fissure and a breast examination.",
    "Twatt, Orkney is a small village.",
    "The bastard file format is used by the old tool.",
    "To stop it, kill the process with kill -9 and its PID.",
    "Mix the cocktail with ice and shake well; analysis shows assorted passes.",
    "Bitte schön, gern geschehen. Das Wetter in Berlin ist heute schön.",
    "Je suis en retard pour la réunion. Le chat dort sur le canapé.",
    "Quiero un café con leche, por favor. El informe está listo para revisión.",
    "O relatório está pronto para revisão. Vou ao mercado comprar pão.",
    "Il pesce è fresco oggi. Non so cosa fare stasera.",
    "Ik ga morgen naar de markt. Het gat in de weg is gerepareerd.",
    "Сегодня хорошая погода, и мы пойдём гулять в парк.",
    "Η ομάδα κέρδισε τον αγώνα το Σάββατο.",
    "今日はいい天気ですね。明日も晴れるでしょう。",
    "我们明天去公园散步，然后吃饭。",
    "오늘 날씨가 정말 좋네요. 내일 만나요.",
    "الطقس جميل اليوم ونحن ذاهبون إلى الحديقة.",
    "आज मौसम बहुत अच्छा है और हम पार्क जा रहे हैं।",
    "Bugün hava çok güzel, parka gidiyoruz.",
    "Dziś jest ładna pogoda, idziemy do parku.",
    "Idag är det fint väder och vi går till parken.",
    "Tänään on kaunis sää ja menemme puistoon.",
    "Ma szép idő van, és a parkba megyünk.",
    "Dnes je hezky a jdeme do parku.",
    "วันนี้อากาศดีมาก เราจะไปสวนสาธารณะ",
    "امروز هوا خوب است و ما به پارک می‌رویم.",
    "```python\ndef f(x):\n    return x * 2\n```",
    "Visit https://example.com/a_b-c/d.e?x=1&y=2 or mail a.b@example.org.",
    "<p>Hello <b>world</b> &amp; friends &#39;quoted&#39; &lt;tag&gt;</p>",
    "| name | value |\n|---|---|\n| a | 1 |",
    "e.g. i.e. a.m. p.m. U.S.A. and/or A-B-C 1-2-3 x_y_z a|b|c",
    "Wait... what?! Really??? Nooooo!!! Sooo cooool, hmmmm.",
    "I a m s o r r y, the 5m cable and 3x4 grid cost $12 @ 50% off #1 & more!",
    "The H1N1 virus, the A1B2 model and the B2B deal are unrelated.",
    "**Bold** and __init__ and *emphasis* and _under_ and ***all***.",
    "You asked a question. The answer is below.",
    "You are right, thanks! Your help is great.",
    "Du bist toll. Tu es gentil. Eres muy amable. Você é ótimo. Sei bravissimo. Jij bent geweldig.",
]
SECOND_PERSON_EXTRA = ["you", "You", "YOU", "u", "ur", "your", "du", "dich", "tu", "toi", "eres", "voce", "sei", "jij"]
THREATS = [
    "I will kill you", "I'm going to hurt you", "we're gonna find where you live", "I'll break your legs",
    "kill yourself", "kys", "go die", "I hope you die", "you're going to regret this", "you had better watch your back",
    "I know where you live", "Ich bringe dich um", "ich schlage dich", "bring dich doch um", "ich weiß wo du wohnst",
    "je vais te tuer", "je te bute", "va crever", "tue-toi", "je sais où tu habites", "t'es un homme mort",
    "te voy a matar", "te mato", "mátate", "ojalá te mueras", "sé dónde vives", "vou te matar", "vamos matar você",
    "se mata", "sei onde você mora", "ti ammazzo", "ucciditi", "ti voglio morto", "so dove abiti",
    "ik maak je af", "ik ga je vermoorden", "ik vermoord je", "ga toch dood", "ik weet waar je woont",
]
FRAMES = [
    "{w}", "{w}!", "{w}.", "{sp} {w}", "{sp} are a {w}", "{sp}'re such a {w}.", "What a {w}.", "This is {w} broken.",
    "{w} {sp}", "{w}, {sp}", "the {w} gave birth", "that {w} thing", "{sp} asked. The {w} printer jammed.",
    "Hey {sp}, nobody said the word {w} here", "{w}-{w}", "#{w}", "@{w}", "({w})", "'{w}'", '"{w}"', "{w}s",
    "un{w}", "{w}ing", "re{w}ed", "{sp} {w} {sp}", "{sp}\n{w}", "{sp}; {w}", "{sp} a total {w}",
]
HOMOGLYPHS = {
    "a": "аαɐａⓐ", "c": "сϲ¢ｃ", "e": "еεǝｅ", "i": "іιıｉ", "k": "кκｋ", "o": "оοøｏ", "p": "рρｐ", "s": "ѕｓ",
    "u": "υｕ", "x": "хχ", "y": "уｙ", "t": "τｔ", "n": "ηｎ", "h": "ｈɥ", "b": "β", "d": "ｄ", "f": "ƒｆ", "l": "łｌ",
    "g": "ｇ", "m": "ｍɯ", "r": "ｒɹ", "w": "ｗʍ",
}
LEET = {"a": "4@^", "e": "3€&", "i": "1!|", "o": "0", "s": "5$§", "t": "7+†", "b": "8", "g": "9", "c": "(<{[©",
        "h": "#", "l": "1|", "y": "¥", "r": "®", "z": "2%"}
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f"]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0303", "\u0332", "\u20dd", "\u0489"]
SEPARATORS = [".", "-", "_", "|", " ", "/", ",", ". ", "  ", "*"]
MASKS = "*#@$%_?!"
JOINERS = [" ", " ", " ", ". ", ", ", "! ", "? ", "\n", "\n\n", "; ", " - ", "... ", "\t", "  "]


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, list[str]]:
    data = json.loads(
        (resources.files("llmotel.evaluation.checks") / "data" / "toxicity" / "lexicon.json")
        .read_text(encoding="utf-8")
    )
    vocab: dict[str, list[str]] = {
        "default": [w for lang in DEFAULT_LANGUAGES for w in dictionary.get_words(lang)],  # type: ignore[arg-type]
        "other": [w for lang in LANGUAGES if lang not in DEFAULT_LANGUAGES
                  for w in dictionary.get_words(lang)],  # type: ignore[arg-type]
        "ignore": list(data["ignore"]),
        "graded": list(data["ambiguous"]) + list(data["mild"]),
        "insults": [e for lang in data["insults"].values() for kind in lang.values() for e in kind],
        "second": [w for lang in data["second_person"].values() for w in lang] + SECOND_PERSON_EXTRA,
    }
    return vocab


def _obfuscate(rng: random.Random, word: str) -> str:
    trick = rng.randrange(14)
    if trick == 0:  # leetspeak
        return "".join(rng.choice(LEET[c]) if c in LEET and rng.random() < 0.5 else c for c in word)
    if trick == 1:  # separators between letters
        sep = rng.choice(SEPARATORS)
        return sep.join(word) if rng.random() < 0.7 else word[:2] + sep + word[2:]
    if trick == 2:  # masks
        chars = list(word)
        for i in rng.sample(range(len(chars)), k=max(1, len(chars) // 3)):
            if not (i == 0 and rng.random() < 0.7):
                chars[i] = rng.choice(MASKS)
        return "".join(chars)
    if trick == 3:  # stretched letters
        return "".join(c * rng.choice((1, 1, 2, 3, 5)) for c in word)
    if trick == 4:  # homoglyphs / full width / circled
        return "".join(rng.choice(HOMOGLYPHS[c]) if c in HOMOGLYPHS and rng.random() < 0.5 else c for c in word)
    if trick == 5:  # zero-width characters inside
        return "".join(c + (rng.choice(ZERO_WIDTH) if rng.random() < 0.4 else "") for c in word)
    if trick == 6:  # combining marks
        return "".join(c + (rng.choice(COMBINING) if rng.random() < 0.3 else "") for c in word)
    if trick == 7:  # HTML tags and entities
        if len(word) < 2:
            return word
        cut = rng.randrange(1, len(word))
        return rng.choice([f"{word[:cut]}<b>{word[cut:]}</b>", f"{word[:cut]}&shy;{word[cut:]}",
                           f"<p>{word[:cut]}</p><p>{word[cut:]}</p>", f"{word[:cut]}<!-- x -->{word[cut:]}",
                           f"&#{ord(word[0])};{word[1:]}", f"&amp;{word}", f"{word[:cut]}&#x{ord(word[cut]):x};"
                           f"{word[cut + 1:]}"])
    if trick == 8:  # casing
        return rng.choice([word.upper(), word.title(), "".join(c.upper() if rng.random() < 0.5 else c for c in word),
                           word.replace("i", "İ")])
    if trick == 9:  # full-width version of the whole word
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    if trick == 10:  # spelled out with spaces, maybe with a suffix
        return " ".join(word) + rng.choice(["", " e d", " s", " i n g", " x"])
    if trick == 11:  # markdown emphasis around it
        return rng.choice(["**", "__", "*", "_", "~~"]).join(["", word, ""])
    if trick == 12:  # two tricks
        return _obfuscate(rng, _obfuscate(rng, word))
    return word


def _toxic_piece(rng: random.Random, vocab: dict[str, list[str]], all_languages: bool) -> str:
    kind = rng.random()
    if kind < 0.10:
        return rng.choice(THREATS)
    if kind < 0.30:
        word = rng.choice(vocab["insults"])
    elif kind < 0.40:
        word = rng.choice(vocab["graded"])
    elif kind < 0.48:
        word = rng.choice(vocab["ignore"])
    elif kind < 0.58 and all_languages:
        word = rng.choice(vocab["other"])
    else:
        word = rng.choice(vocab["default"])
    if rng.random() < 0.45:
        word = _obfuscate(rng, word)
    frame = rng.choice(FRAMES)
    return frame.format(w=word, sp=rng.choice(vocab["second"]))


def text(rng: random.Random, all_languages: bool = False) -> str:
    """One text: a few pieces of prose and abuse, joined with sentence breaks or not, sometimes very long."""
    vocab = _vocabulary()
    pieces: list[str] = []
    for _ in range(rng.choice((1, 1, 2, 3, 4, 6))):
        roll = rng.random()
        if roll < 0.45:
            pieces.append(_toxic_piece(rng, vocab, all_languages))
        elif roll < 0.85:
            pieces.append(rng.choice(PROSE))
        elif roll < 0.93:
            pieces.append(" ".join(rng.choice(vocab["second"] + vocab["ignore"]) for _ in range(rng.randrange(1, 8))))
        else:
            alphabet = "abcdefghijk lmnop qrstuvwxyz 0123!@#$%*.,-_|İıßæøåéèüöäçñ ΑаеοуΣΩжЖ中日한ا\u200b\u0301\n"
            pieces.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 60))))
    out = ""
    for piece in pieces:
        out = out + rng.choice(JOINERS) + piece if out else piece
    if rng.random() < 0.03:  # long: past the default 5,000-character cap, abuse maybe before or after it
        filler = " ".join(rng.choice(PROSE) for _ in range(60))
        out = filler[: rng.randrange(4000, 6000)] + " " + out if rng.random() < 0.5 else out + " " + filler
    return out


def texts(n: int, seed: int, all_languages: bool = False) -> list[str]:
    """``n`` texts, the same for the same seed (and the same word lists)."""
    rng = random.Random(seed)
    return [text(rng, all_languages) for _ in range(n)]
