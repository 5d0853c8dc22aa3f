import SlawatchCore
import Testing

/// The one loopback rule (`Loopback`), which decides where mail may go in clear text: the rules
/// loader checks `smtp.url` with it and the SMTP sender the host libcurl will connect to.
@Suite struct LoopbackTests {
    @Test(
        "loopback hosts",
        arguments: [
            "127.0.0.1", "127.1.2.3", "127.255.255.255", "127.0.0.0", "::1", "[::1]", "localhost", "LOCALHOST",
            "LocalHost",
        ])
    func loopbackHost(host: String) {
        #expect(Loopback.isLoopbackHost(host))
    }

    @Test(
        "hosts that are not loopback, or not spelled plainly enough to be sure",
        arguments: [
            // Names: an absolute name goes to DNS; others are names like any other.
            "LOCALHOST.", "localhost.", "localhost.example", "foo.localhost", "localhost6", "xlocalhost", "",
            // Names that start like a loopback address.
            "127.0.0.1.evil.com", "127.mail.example.com", "127.0.0.1.", ".127.0.0.1",
            // Other spellings some parsers read as 127.0.0.1.
            "0x7f000001", "2130706433", "127.1", "127.0.1", "0177.0.0.1", "127.0.0.01", "127.000.0.1", "0x7f.0.0.1",
            // Signs and out-of-range numbers.
            "127.+0.0.1", "127.-0.0.1", "127.0.0.256", "127.0.0.1000", "127.0.0.-1", "127..0.1", "127.0.0.1 ",
            // Other addresses, and other spellings of ::1.
            "10.0.0.5", "128.0.0.1", "0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:1", "[0:0:0:0:0:0:0:1]",
            "::ffff:127.0.0.1",
            "[::1%25lo]", "[::1", "::1]",
            // Letters that only look like those of localhost.
            "locaIhost", "LOCALHOſT",
        ])
    func notLoopbackHost(host: String) {
        #expect(!Loopback.isLoopbackHost(host))
    }

    @Test(
        "URLs on a loopback host",
        arguments: [
            "smtp://127.0.0.1:2525", "smtp://127.0.0.1", "smtp://127.0.0.1:", "smtp://localhost:2525",
            "smtp://LOCALHOST:25",
            "smtp://[::1]:2525", "smtp://[::1]", "smtp://user:secret@127.0.0.1:25", "smtp://127.1.2.3:25/path?x=1#f",
            "smtp://localhost/", "smtp://localhost?x", "smtp://localhost#x",
        ])
    func loopbackURL(url: String) {
        #expect(Loopback.isLoopbackURL(url))
    }

    @Test(
        "URLs whose host is not loopback",
        arguments: [
            "smtp://smtp.example.com:25", "smtp://localhost.example.com:25", "smtp://10.0.0.5:25",
            "smtp://LOCALHOST.:25",
            "smtp://127.0.0.1.evil.com:25", "smtp://0x7f000001:25", "smtp://2130706433:25", "smtp://127.1:25",
            // What follows the authority does not name the host, nor does what precedes an "@".
            "smtp://evil.com?@127.0.0.1", "smtp://evil.com#@127.0.0.1", "smtp://evil.com/@127.0.0.1",
            "smtp://127.0.0.1@evil.com",
            "smtp://a@b@127.0.0.1", "smtp://[::1]evil.com:25", "smtp://[::1]:25x", "smtp://127.0.0.1:25:25",
            "smtp://127.0.0.1:x",
            // Not a URL at all.
            "127.0.0.1", "smtp:127.0.0.1", "smtp:/127.0.0.1", "", "smtp://",
        ])
    func notLoopbackURL(url: String) {
        #expect(!Loopback.isLoopbackURL(url))
    }
}
