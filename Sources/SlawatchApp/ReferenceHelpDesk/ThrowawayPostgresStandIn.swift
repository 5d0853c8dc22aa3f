// temporary stand-in until the real ThrowawayPostgres lands
public final class ThrowawayPostgres {
    public let url: String
    public init(directory: String) throws { url = "" ; throw TPError() }
    public func stop() {}
}
struct TPError: Error {}
