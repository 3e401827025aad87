# SPDX-License-Identifier: Apache-2.0
"""Readable names for runs started without one, as W&B gives them:
`<adjective>-<noun>-<number>`, derived from the run id alone, so that the
Swift logger (`RunName.generated(for:)`) gives the same run the same name."""

ADJECTIVES = (
    "amber", "ancient", "autumn", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "curious", "daring",
    "dawn", "deep", "divine", "dry", "eager", "electric", "elegant", "fancy", "fearless", "fiery", "gentle", "giddy",
    "glad", "golden", "graceful", "green", "happy", "hidden", "icy", "jolly", "kind", "lively", "lucky", "lunar",
    "misty", "noble", "olive", "patient", "polar", "proud", "quiet", "rapid", "restful", "rosy", "royal", "rustic",
    "scarlet", "silent", "silver", "snowy", "solar", "spring", "steady", "stellar", "stoic", "summer", "sunny",
    "swift", "tidy", "vivid", "wandering", "winter",
)
NOUNS = (
    "aurora", "bird", "breeze", "brook", "butterfly", "canyon", "cedar", "cloud", "comet", "cosmos", "dew", "dream",
    "dust", "field", "fire", "firefly", "flower", "fog", "forest", "frost", "galaxy", "glade", "grass", "harbor",
    "haze", "hill", "lake", "leaf", "light", "meadow", "moon", "morning", "mountain", "night", "oasis", "ocean",
    "pine", "planet", "pond", "rain", "resonance", "river", "sea", "shadow", "shape", "sky", "smoke", "snow",
    "sound", "spark", "star", "stone", "storm", "sun", "sunset", "surf", "thunder", "tree", "valley", "voice",
    "water", "wave", "wind", "wood",
)


def fnv1a64(data: bytes) -> int:
    """64-bit FNV-1a of `data`."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def generated_name(run_id: str) -> str:
    """`<adjective>-<noun>-<0..99>` from the FNV-1a hash of the run id's
    UTF-8 bytes: bits 0-5 pick the adjective, 6-11 the noun, the rest mod
    100 the number."""
    h = fnv1a64(run_id.encode())
    return f"{ADJECTIVES[h & 63]}-{NOUNS[(h >> 6) & 63]}-{(h >> 12) % 100}"
