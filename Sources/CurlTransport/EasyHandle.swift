import CCurl
import CCurlShim

/// A libcurl call made while preparing a handle failed; senders turn it into a ``TransportError`` that
/// names the request.
struct SetupFailure: Error {
    var code: CURLcode
    var what: String
}

/// Owns one libcurl easy handle and everything lent to it.
///
/// libcurl keeps pointers to some option values instead of copying them (header and recipient lists,
/// the POST body, the error buffer, our own `self` for callbacks). This class is the single owner of all
/// of them: they live until the next ``reset()`` or until `deinit`, which runs `curl_easy_cleanup` first
/// and frees them after. It is used by one thread at a time (its sender's worker thread) and is therefore
/// explicitly not `Sendable`.
final class EasyHandle {
    let raw: UnsafeMutableRawPointer

    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var recipientList: UnsafeMutablePointer<curl_slist>?
    private var requestBody: UnsafeMutableRawBufferPointer?
    /// The body's length; the buffer has at least one byte so that an empty body has an address.
    private var requestBodyLength = 0
    private var uploadOffset = 0

    private var maxResponseBodyBytes = 0
    private(set) var responseHeaders: [(name: String, value: String)] = []
    private(set) var responseBody: [UInt8] = []
    private(set) var responseBodyTruncated = false

    private var pendingRecipient: String?
    private(set) var rejectedRecipients: [SMTPRecipientRejection] = []
    /// The reply that explains a failed SMTP transfer: the last refusal (4xx/5xx), or else the last reply.
    /// A refusal is not overwritten by the `221` of a `QUIT` that follows it.
    var explainingServerReply: String? { lastRefusal?.line ?? lastServerReply?.line }
    private var lastServerReply: (code: Int, line: String)?
    private var lastRefusal: (code: Int, line: String)?

    /// Nil only when libcurl cannot allocate a handle.
    init?() {
        guard let raw = curl_easy_init() else { return nil }
        self.raw = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        // Cleanup first: it may still touch the lists and the error buffer while closing connections.
        curl_easy_cleanup(raw)
        releaseLentMemory()
        errorBuffer.deallocate()
    }

    private func releaseLentMemory() {
        curl_slist_free_all(headerList)
        headerList = nil
        curl_slist_free_all(recipientList)
        recipientList = nil
        requestBody?.deallocate()
        requestBody = nil
        requestBodyLength = 0
        uploadOffset = 0
    }

    /// Forgets every option and the previous exchange, keeping the connection cache, then sets what every
    /// transfer of ours needs. Only call it while the handle is not inside a multi handle.
    func reset(maxResponseBodyBytes: Int = 1 << 20) throws(SetupFailure) {
        curl_easy_reset(raw)
        // After curl_easy_reset the handle no longer points at these, so they can go.
        releaseLentMemory()
        self.maxResponseBodyBytes = maxResponseBodyBytes
        responseHeaders = []
        responseBody = []
        responseBodyTruncated = false
        pendingRecipient = nil
        rejectedRecipients = []
        lastServerReply = nil
        lastRefusal = nil
        errorBuffer[0] = 0

        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(slawatch_curl_setopt_ptr(raw, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
        // Without NOSIGNAL, libcurl uses SIGALRM for DNS timeouts, which is not thread-safe.
        try set(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try check(slawatch_curl_setopt_write_callback(raw, easyWriteCallback), "CURLOPT_WRITEFUNCTION")
        try check(slawatch_curl_setopt_ptr(raw, CURLOPT_WRITEDATA, me), "CURLOPT_WRITEDATA")
        try check(slawatch_curl_setopt_header_callback(raw, easyHeaderCallback), "CURLOPT_HEADERFUNCTION")
        try check(slawatch_curl_setopt_ptr(raw, CURLOPT_HEADERDATA, me), "CURLOPT_HEADERDATA")
    }

    func check(_ code: CURLcode, _ what: String) throws(SetupFailure) {
        guard code == CURLE_OK else { throw SetupFailure(code: code, what: what) }
    }

    func set(_ option: CURLoption, _ value: Int, _ what: String) throws(SetupFailure) {
        try check(slawatch_curl_setopt_long(raw, option, value), what)
    }

    /// libcurl copies string options (all but `CURLOPT_POSTFIELDS`), so a temporary C string is enough.
    func set(_ option: CURLoption, _ value: String, _ what: String) throws(SetupFailure) {
        let code = value.withCString { slawatch_curl_setopt_ptr(raw, option, $0) }
        try check(code, what)
    }

    /// `CURLOPT_HTTPHEADER`: the list stays alive, owned here, until it is replaced or the next reset.
    func setHeaderLines(_ lines: [String]) throws(SetupFailure) {
        let list = try makeList(lines, "CURLOPT_HTTPHEADER")
        try install(list, as: CURLOPT_HTTPHEADER, "CURLOPT_HTTPHEADER", replacing: &headerList)
    }

    /// `CURLOPT_MAIL_RCPT`: the list stays alive, owned here, until it is replaced or the next reset.
    func setRecipients(_ addresses: [String]) throws(SetupFailure) {
        let list = try makeList(addresses, "CURLOPT_MAIL_RCPT")
        try install(list, as: CURLOPT_MAIL_RCPT, "CURLOPT_MAIL_RCPT", replacing: &recipientList)
    }

    /// Hands `list` to libcurl, then frees the list it replaces (only then: libcurl held that one until now).
    private func install(
        _ list: UnsafeMutablePointer<curl_slist>?, as option: CURLoption, _ what: String,
        replacing owned: inout UnsafeMutablePointer<curl_slist>?
    ) throws(SetupFailure) {
        let code = slawatch_curl_setopt_slist(raw, option, list)
        guard code == CURLE_OK else {
            curl_slist_free_all(list)
            throw SetupFailure(code: code, what: what)
        }
        curl_slist_free_all(owned)
        owned = list
    }

    private func makeList(_ items: [String], _ what: String) throws(SetupFailure) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for item in items {
            guard let longer = item.withCString({ curl_slist_append(list, $0) }) else {
                // On failure curl_slist_append leaves the old list intact, and it is still ours to free.
                curl_slist_free_all(list)
                throw SetupFailure(code: CURLE_OUT_OF_MEMORY, what: what)
            }
            list = longer
        }
        return list
    }

    /// Copies the body into memory owned here, because `CURLOPT_POSTFIELDS` is read in place during the
    /// transfer. An empty body still gets a valid pointer: a NULL one would make libcurl use the read callback.
    func setPostBody(_ body: [UInt8]) throws(SetupFailure) {
        let buffer = copyToOwnedBuffer(body)
        try check(
            slawatch_curl_setopt_off_t(raw, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)),
            "CURLOPT_POSTFIELDSIZE_LARGE")
        try check(slawatch_curl_setopt_ptr(raw, CURLOPT_POSTFIELDS, buffer.baseAddress), "CURLOPT_POSTFIELDS")
    }

    /// Copies the body into memory owned here and serves it through the read callback (SMTP upload).
    func setUploadBody(_ body: [UInt8]) throws(SetupFailure) {
        _ = copyToOwnedBuffer(body)
        try set(CURLOPT_UPLOAD, 1, "CURLOPT_UPLOAD")
        try check(slawatch_curl_setopt_read_callback(raw, easyReadCallback), "CURLOPT_READFUNCTION")
        try check(
            slawatch_curl_setopt_ptr(raw, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque()),
            "CURLOPT_READDATA")
        try check(
            slawatch_curl_setopt_off_t(raw, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.count)),
            "CURLOPT_INFILESIZE_LARGE")
    }

    private func copyToOwnedBuffer(_ body: [UInt8]) -> UnsafeMutableRawBufferPointer {
        requestBody?.deallocate()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, body.count), alignment: 1)
        body.withUnsafeBytes { buffer.copyMemory(from: $0) }
        requestBody = buffer
        requestBodyLength = body.count
        uploadOffset = 0
        return buffer
    }

    /// Records SMTP replies and which recipients were refused, from libcurl's protocol trace. Only the
    /// `RCPT TO` commands are looked at: outgoing lines also include `AUTH` with credentials.
    func enableSMTPTranscript() throws(SetupFailure) {
        try check(slawatch_curl_setopt_debug_callback(raw, easyDebugCallback), "CURLOPT_DEBUGFUNCTION")
        try check(
            slawatch_curl_setopt_ptr(raw, CURLOPT_DEBUGDATA, Unmanaged.passUnretained(self).toOpaque()),
            "CURLOPT_DEBUGDATA")
        // The debug callback is only called in verbose mode; with a callback set, nothing goes to stderr.
        try set(CURLOPT_VERBOSE, 1, "CURLOPT_VERBOSE")
    }

    /// Blocking transfer, for handles not inside a multi handle.
    func perform() -> CURLcode {
        errorBuffer[0] = 0
        return curl_easy_perform(raw)
    }

    /// `CURLINFO_RESPONSE_CODE`: the HTTP status or the last SMTP reply code; 0 when none was received.
    var responseCode: Int {
        var code = 0
        guard slawatch_curl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK else { return 0 }
        return code
    }

    /// The error buffer when libcurl filled it (it names host, port, and what happened), its generic text
    /// for the code otherwise.
    func errorText(for code: CURLcode) -> String {
        if errorBuffer[0] != 0 {
            return String(cString: errorBuffer)
        }
        return curl_easy_strerror(code).map { String(cString: $0) } ?? "libcurl error \(code.rawValue)"
    }

    // MARK: Callback sinks

    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) {
        let room = maxResponseBodyBytes - responseBody.count
        if bytes.count > room {
            responseBodyTruncated = true
        }
        if room > 0 {
            responseBody.append(contentsOf: bytes.prefix(room))
        }
    }

    fileprivate func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        // Header bytes are ASCII in practice; anything else becomes U+FFFD rather than failing the transfer.
        var line = String(decoding: bytes, as: UTF8.self)
        while let last = line.last, last == "\r\n" || last == "\n" || last == "\r" {
            line.removeLast()
        }
        if line.hasPrefix("HTTP/") {
            // A new status line: whatever came before belonged to an interim response (100 Continue).
            responseHeaders = []
            return
        }
        guard !line.isEmpty else { return }
        if line.first == " " || line.first == "\t", let last = responseHeaders.indices.last {
            // Obsolete line folding: the line continues the previous header's value.
            responseHeaders[last].value += " " + line.trimmingASCIISpaces
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon]).trimmingASCIISpaces.lowercased()
        let value = String(line[line.index(after: colon)...]).trimmingASCIISpaces
        responseHeaders.append((name: name, value: value))
    }

    fileprivate func fillUpload(_ destination: UnsafeMutableRawBufferPointer) -> Int {
        guard let requestBody else { return 0 }
        let count = min(requestBodyLength - uploadOffset, destination.count)
        guard count > 0 else { return 0 }
        destination.copyMemory(
            from: UnsafeRawBufferPointer(rebasing: requestBody[uploadOffset..<(uploadOffset + count)]))
        uploadOffset += count
        return count
    }

    fileprivate func observeProtocolTrace(incoming: Bool, _ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            if incoming {
                observeReply(String(line))
            } else if line.uppercased().hasPrefix("RCPT TO:") {
                let address = line.drop { $0 != "<" }.dropFirst().prefix { $0 != ">" }
                pendingRecipient = String(address)
            }
        }
    }

    private func observeReply(_ line: String) {
        let digits = line.prefix(3)
        guard digits.count == 3, let code = Int(digits) else { return }
        // "250-..." continues a multi-line reply; only the final "250 ..." line completes it.
        if line.count > 3, line[line.index(line.startIndex, offsetBy: 3)] == "-" { return }
        lastServerReply = (code, line)
        if code >= 400 { lastRefusal = (code, line) }
        if let address = pendingRecipient {
            pendingRecipient = nil
            if code >= 400 {
                rejectedRecipients.append(SMTPRecipientRejection(address: address, responseCode: code, reply: line))
            }
        }
    }
}

@available(*, unavailable, message: "a libcurl easy handle must stay on one thread")
extension EasyHandle: Sendable {}

// The callbacks are plain functions (no captures), as C function pointers must be; each finds its
// EasyHandle again through the user pointer it was registered with.

private func easyWriteCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    let total = size * count
    guard let data, let user else { return total }
    Unmanaged<EasyHandle>.fromOpaque(user).takeUnretainedValue()
        .receiveBody(UnsafeRawBufferPointer(start: data, count: total))
    return total
}

private func easyHeaderCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    let total = size * count
    guard let data, let user else { return total }
    Unmanaged<EasyHandle>.fromOpaque(user).takeUnretainedValue()
        .receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: total))
    return total
}

private func easyReadCallback(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer, let user else { return 0 }
    return Unmanaged<EasyHandle>.fromOpaque(user).takeUnretainedValue()
        .fillUpload(UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

private func easyDebugCallback(
    _ handle: UnsafeMutableRawPointer?, _ type: curl_infotype, _ data: UnsafeMutablePointer<CChar>?, _ size: Int,
    _ user: UnsafeMutableRawPointer?
) -> Int32 {
    guard let data, let user, type == CURLINFO_HEADER_IN || type == CURLINFO_HEADER_OUT else { return 0 }
    Unmanaged<EasyHandle>.fromOpaque(user).takeUnretainedValue()
        .observeProtocolTrace(incoming: type == CURLINFO_HEADER_IN, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
