// SPDX-License-Identifier: Apache-2.0
/// Readable names for runs started without one, as W&B gives them:
/// `<adjective>-<noun>-<number>`, derived from the run id alone, so that the
/// Python client (`runlog.names.generated_name`) gives the same run the same name.
public enum RunName {
    /// `<adjective>-<noun>-<0..99>` from the 64-bit FNV-1a hash of the run
    /// id's UTF-8 bytes: bits 0-5 pick the adjective, 6-11 the noun, the
    /// rest modulo 100 the number.
    public static func generated(for runID: String) -> String {
        let h = fnv1a64(Array(runID.utf8))
        return "\(adjectives[Int(h & 63)])-\(nouns[Int((h >> 6) & 63)])-\((h >> 12) % 100)"
    }

    /// The 64-bit FNV-1a hash of `bytes`.
    public static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    static let adjectives = [
        "amber", "ancient", "autumn", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "curious",
        "daring", "dawn", "deep", "divine", "dry", "eager", "electric", "elegant", "fancy", "fearless", "fiery",
        "gentle", "giddy", "glad", "golden", "graceful", "green", "happy", "hidden", "icy", "jolly", "kind", "lively",
        "lucky", "lunar", "misty", "noble", "olive", "patient", "polar", "proud", "quiet", "rapid", "restful", "rosy",
        "royal", "rustic", "scarlet", "silent", "silver", "snowy", "solar", "spring", "steady", "stellar", "stoic",
        "summer", "sunny", "swift", "tidy", "vivid", "wandering", "winter",
    ]

    static let nouns = [
        "aurora", "bird", "breeze", "brook", "butterfly", "canyon", "cedar", "cloud", "comet", "cosmos", "dew",
        "dream", "dust", "field", "fire", "firefly", "flower", "fog", "forest", "frost", "galaxy", "glade", "grass",
        "harbor", "haze", "hill", "lake", "leaf", "light", "meadow", "moon", "morning", "mountain", "night", "oasis",
        "ocean", "pine", "planet", "pond", "rain", "resonance", "river", "sea", "shadow", "shape", "sky", "smoke",
        "snow", "sound", "spark", "star", "stone", "storm", "sun", "sunset", "surf", "thunder", "tree", "valley",
        "voice", "water", "wave", "wind", "wood",
    ]
}
