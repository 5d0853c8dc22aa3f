/// Which servers count as this machine: the one case where mail may go in clear text (an SMTP
/// server with `tls: none`, README "Rules"). The rules loader and the SMTP sender both ask here.
///
/// The rule is strict: a host is loopback only when its spelling leaves no room for a resolver or
/// a URL parser to read it otherwise.
/// - `localhost`, in any letter case (host names ignore case). Not `localhost.`, an absolute name
///   that goes to DNS, nor any other name (`localhost.example`, `foo.localhost`).
/// - `::1`, bare or in brackets as in a URL (`[::1]`); no other spelling of that address.
/// - An IPv4 address in 127.0.0.0/8 as four decimal numbers from 0 to 255, without signs or
///   leading zeros (`127.0.0.1`, `127.1.2.3`). Not a name that merely starts with "127."
///   (`127.0.0.1.evil.com`), and not the short, octal, hexadecimal or single-number spellings
///   some parsers also read as an address (`127.1`, `0177.0.0.1`, `0x7f000001`, `2130706433`).
///
/// Refusing a loopback server only asks for a plainer spelling of it; taking a remote server for
/// loopback would send mail in clear text across the network.
public enum Loopback {
    /// Whether `host` (as in a URL, IPv6 in brackets or bare) names this machine.
    public static func isLoopbackHost(_ host: some StringProtocol) -> Bool {
        let utf8 = Array(host.utf8)
        if utf8 == Array("::1".utf8) || utf8 == Array("[::1]".utf8) { return true }
        // Letter case folded in ASCII only: no other character may stand for a letter of it.
        let name = "localhost".utf8
        let upper = UInt8(ascii: "A")...UInt8(ascii: "Z")
        if utf8.count == name.count, zip(utf8, name).allSatisfy({ $0 == $1 || (upper.contains($0) && $0 + 32 == $1) }) {
            return true
        }
        let octets = utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0].elementsEqual("127".utf8) && octets.allSatisfy(isDecimalOctet)
    }

    /// Whether the host of `url` (`scheme://[userinfo@]host[:port][/path][?query][#fragment]`)
    /// names this machine; false for anything that is not such a URL.
    public static func isLoopbackURL(_ url: String) -> Bool {
        guard let separator = url.range(of: "://") else { return false }
        let rest = url[separator.upperBound...]
        // The authority ends at the first "/", "?" or "#": what follows cannot name the host.
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let parts = authority.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count <= 2, let hostAndPort = parts.last else { return false }
        let host: Substring
        let port: Substring
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else { return false }
            host = hostAndPort[...close]
            port = hostAndPort[hostAndPort.index(after: close)...]
        } else {
            host = hostAndPort.prefix { $0 != ":" }
            port = hostAndPort[host.endIndex...]
        }
        guard port.isEmpty || (port.first == ":" && port.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }) else {
            return false
        }
        return isLoopbackHost(host)
    }

    /// 0 to 255 in decimal: one to three digits, no leading zero (which some parsers read as octal).
    private static func isDecimalOctet(_ digits: ArraySlice<UInt8>) -> Bool {
        let decimal = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard (1...3).contains(digits.count), digits.allSatisfy(decimal.contains) else { return false }
        if digits.count > 1 && digits.first == UInt8(ascii: "0") { return false }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 255
    }
}
