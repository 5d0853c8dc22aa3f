import CLibPQ

/// The libpq this process runs with, as the library itself reports it.
public enum PostgresLibrary {
    /// libpq's version at run time (`PQlibVersion`), e.g. `15.10`; `9.6.24` for a release before 10.
    public static var version: String {
        let number = Int(PQlibVersion())
        // From 10 on the number is major * 10000 + minor; before, major * 10000 + minor * 100 + patch.
        if number >= 100_000 { return "\(number / 10_000).\(number % 10_000)" }
        return "\(number / 10_000).\(number / 100 % 100).\(number % 100)"
    }
}
