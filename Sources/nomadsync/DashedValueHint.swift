import NomadCrypto

/// Refuses a command line in which a value that begins with `-` stands where the parser would
/// read it as options.
///
/// A portable_id or a writer id is base64url, so about one in 64 begins with `-`. Given as an
/// argument, the parser reads it as a group of short flags: one that holds an `h` prints the help
/// and exits 0 without doing anything, another fails with "Missing expected argument". Neither
/// says why, and the first looks like success to a script. Such a value parses as an argument
/// after `--`, which ends the options:
///
/// ```
/// nomadsync change put carol connection --body '{"url":"…"}' -- -B60WbCaX…
/// ```
enum DashedValueHint {
    /// Values this long, of base64url characters only, are ids or keys, never option names.
    static let minimumLength = 40
    /// Options whose value is taken whatever it begins with (`parsing: .unconditional`).
    static let valueOptions: Set<String> = ["--origin", "--after", "--key", "--body"]

    /// The first argument before a `--` that looks like a value beginning with `-` and is not
    /// the value of one of `valueOptions`; nil when there is none.
    static func misread(in arguments: [String]) -> String? {
        let options = arguments.prefix { $0 != "--" }
        for index in options.indices where looksLikeDashedValue(options[index]) {
            if index > options.startIndex, valueOptions.contains(options[index - 1]) { continue }
            return options[index]
        }
        return nil
    }

    /// What the command says when `misread(in:)` found `value`.
    static func message(for value: String) -> String {
        let shown = value.count > 24 ? value.prefix(20) + "…" : Substring(value)
        return """
            Error: '\(shown)' begins with '-', so it would be read as options. Put such a value after '--', \
            which ends the options, and give the options before it, for example:
              nomadsync change put carol connection --body '{"url":"…"}' -- \(shown)
            """
    }

    static func looksLikeDashedValue(_ argument: String) -> Bool {
        argument.hasPrefix("-") && argument.utf8.count >= minimumLength && argument.utf8.allSatisfy(Base64URL.isAlphabet)
    }
}
