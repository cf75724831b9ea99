"""glin-profanity's dictionaries and matching rules, found in one pass of one compiled pattern per view of a text.

``scanner`` is the entry point; ``normalize`` (Unicode, leetspeak), ``obfuscation`` (HTML, separators, masks,
stretched letters), ``whitelist`` (safe words), ``dictionary`` (word lists, fragment index) and ``mapped``
(offsets back to the text) are its parts. The rules are ported from glin-profanity 4 (MIT licence,
https://github.com/GLINCKER/glin-profanity); its word lists and normalisation tables are used from the package.
"""
