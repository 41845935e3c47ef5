"""Whisper's languages: ISO 639-1 code -> English name, as openai/whisper's tokenizer lists them.

A leaf module (no model needed), so that APIs can validate a language code and
whisper-asr-webservice's ``/detect-language`` can answer with the name.
"""

from __future__ import annotations

from whisperd.errors import InvalidLanguage

LANGUAGES: dict[str, str] = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian",
    "ko": "korean", "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish",
    "pl": "polish", "ca": "catalan", "nl": "dutch", "ar": "arabic", "sv": "swedish",
    "it": "italian", "id": "indonesian", "hi": "hindi", "fi": "finnish", "vi": "vietnamese",
    "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay", "cs": "czech",
    "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian",
    "la": "latin", "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak",
    "te": "telugu", "fa": "persian", "lv": "latvian", "bn": "bengali", "sr": "serbian",
    "az": "azerbaijani", "sl": "slovenian", "kn": "kannada", "et": "estonian",
    "mk": "macedonian", "br": "breton", "eu": "basque", "is": "icelandic", "hy": "armenian",
    "ne": "nepali", "mn": "mongolian", "bs": "bosnian", "kk": "kazakh", "sq": "albanian",
    "sw": "swahili", "gl": "galician", "mr": "marathi", "pa": "punjabi", "si": "sinhala",
    "km": "khmer", "sn": "shona", "yo": "yoruba", "so": "somali", "af": "afrikaans",
    "oc": "occitan", "ka": "georgian", "be": "belarusian", "tg": "tajik", "sd": "sindhi",
    "gu": "gujarati", "am": "amharic", "yi": "yiddish", "lo": "lao", "uz": "uzbek",
    "fo": "faroese", "ht": "haitian creole", "ps": "pashto", "tk": "turkmen",
    "nn": "nynorsk", "mt": "maltese", "sa": "sanskrit", "lb": "luxembourgish",
    "my": "myanmar", "bo": "tibetan", "tl": "tagalog", "mg": "malagasy", "as": "assamese",
    "tt": "tatar", "haw": "hawaiian", "ln": "lingala", "ha": "hausa", "ba": "bashkir",
    "jw": "javanese", "su": "sundanese", "yue": "cantonese",
}

# Names and common aliases accepted in place of a code (openai/whisper accepts these too).
_ALIASES: dict[str, str] = {name: code for code, name in LANGUAGES.items()}
_ALIASES.update({
    "burmese": "my", "valencian": "ca", "flemish": "nl", "haitian": "ht",
    "letzeburgesch": "lb", "pushto": "ps", "panjabi": "pa", "moldavian": "ro",
    "moldovan": "ro", "sinhalese": "si", "castilian": "es", "mandarin": "zh",
})


def normalize_language(value: str | None, *, param: str = "language") -> str | None:
    """A code Whisper knows, from a code or an English name; None/"" means "detect"."""
    if value is None:
        return None
    cleaned = value.strip().lower()
    if cleaned in ("", "auto", "detect"):
        return None
    if cleaned in LANGUAGES:
        return cleaned
    # Tolerate region tags such as "en-US" or "pt_BR".
    base = cleaned.replace("_", "-").split("-")[0]
    if base in LANGUAGES:
        return base
    if cleaned in _ALIASES:
        return _ALIASES[cleaned]
    raise InvalidLanguage(
        f"Unsupported language {value!r}. Use an ISO 639-1 code Whisper knows, "
        f"e.g. en, de, fr, es, ja.",
        param=param,
    )


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)
