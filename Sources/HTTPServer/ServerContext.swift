import CMicroHTTPD
import CMicroHTTPDShim
import Synchronization

/// What libmicrohttpd's callbacks reach through their `cls` pointer: the handler, the limits and the
/// counters ``HTTPServer/stop()`` watches. The server holds it for longer than the daemon runs, so the
/// unretained pointer given to libmicrohttpd never dangles.
final class ServerContext: Sendable {
    let handler: any HTTPHandler
    let maxRequestBodyBytes: Int
    let rejectionResponse: @Sendable (HTTPRejection) -> HTTPServerResponse
    let log: (@Sendable (String) -> Void)?
    /// Requests whose first callback ran and whose completion has not yet been notified.
    let inFlight = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)

    init(handler: any HTTPHandler, configuration: HTTPServer.Configuration) {
        self.handler = handler
        maxRequestBodyBytes = configuration.maxRequestBodyBytes
        rejectionResponse = configuration.rejectionResponse
        log = configuration.log
    }

    /// A body this much longer than the limit is not worth reading just to answer 413 cleanly.
    var maxDiscardedBodyBytes: Int { max(maxRequestBodyBytes, 64 << 10) }

    // MARK: Requests

    /// The first call for a request: its headers are complete, its body (if any) not yet read.
    func begin(_ connection: OpaquePointer, url: String, method: String) -> RequestState {
        let state = RequestState(connection: connection, method: method, path: url)
        if stopping.load(ordering: .sequentiallyConsistent) {
            state.earlyAnswer = HTTPRejection(
                reason: .shuttingDown, status: 503, message: "the server is shutting down", method: method, path: url)
            return state
        }
        if let declared = state.declaredBodyLength, declared > maxRequestBodyBytes {
            let rejection = tooLarge(state)
            // A client waiting for "100 Continue" has sent nothing yet: answering now is clean. So is
            // closing on a client that announced a huge body. Otherwise the body is read and dropped, because
            // closing a socket with unread bytes resets it and the client may never see the 413.
            if state.expectsContinue || declared - maxRequestBodyBytes > maxDiscardedBodyBytes {
                state.earlyAnswer = rejection
            } else {
                state.overflow = rejection
            }
            return state
        }
        if let declared = state.declaredBodyLength {
            state.body.reserveCapacity(declared)
        }
        return state
    }

    /// A piece of the body; false when the connection must be closed.
    func receive(_ piece: UnsafeRawBufferPointer, into state: RequestState) -> Bool {
        if state.overflow == nil, state.body.count + piece.count <= maxRequestBodyBytes {
            state.body.append(contentsOf: piece)
            return true
        }
        if state.overflow == nil {
            state.overflow = tooLarge(state)
            state.discardedBytes = state.body.count
            state.body = []
        }
        state.discardedBytes += piece.count
        return state.discardedBytes - maxRequestBodyBytes <= maxDiscardedBodyBytes
    }

    /// The request is complete: the handler's answer, or the server's own.
    func finish(_ state: RequestState, connection: OpaquePointer) -> MHD_Result {
        if let overflow = state.overflow {
            return queue(rejection: overflow, on: connection)
        }
        // A request without a body is begun and finished in one go; when stop() started in between, it
        // arrived during the stop, as one pipelined behind a request in flight does: it is not handled.
        // A request whose body was still arriving when the stop began is in flight and is handled.
        if state.body.isEmpty, stopping.load(ordering: .sequentiallyConsistent) {
            return queue(
                rejection: HTTPRejection(
                    reason: .shuttingDown, status: 503, message: "the server is shutting down", method: state.method,
                    path: state.path), on: connection)
        }
        let response = handler.respond(to: state.request())
        if queue(response, on: connection) == .YES {
            return .YES
        }
        let invalid = HTTPRejection(
            reason: .invalidResponse, status: 500,
            message: "the server could not send its response (status \(response.status))", method: state.method,
            path: state.path)
        log?(
            "refused the handler's response to \(state.method) \(state.path): status \(response.status) "
                + "or one of its headers is not acceptable to libmicrohttpd")
        return queue(rejection: invalid, on: connection)
    }

    func queue(rejection: HTTPRejection, on connection: OpaquePointer) -> MHD_Result {
        var response = rejectionResponse(rejection)
        response.status = rejection.status
        if rejection.reason == .shuttingDown {
            response.headers.append(("Connection", "close"))
        }
        if queue(response, on: connection) == .YES { return .YES }
        // The configured answer was refused too: send the plain one.
        var plain = HTTPRejection.plainTextResponse(rejection)
        plain.headers += rejection.reason == .shuttingDown ? [("Connection", "close")] : []
        return queue(plain, on: connection)
    }

    private func tooLarge(_ state: RequestState) -> HTTPRejection {
        HTTPRejection(
            reason: .bodyTooLarge, status: 413,
            message: "the request body is larger than \(maxRequestBodyBytes) bytes", method: state.method,
            path: state.path)
    }

    /// Hands a response to libmicrohttpd; .NO when it refuses the status, a header or the response.
    private func queue(_ response: HTTPServerResponse, on connection: OpaquePointer) -> MHD_Result {
        guard (100...999).contains(response.status) else { return .NO }
        let made: OpaquePointer?
        switch response.body {
        case .bytes(let bytes):
            // MHD_RESPMEM_MUST_COPY (2): MHD copies the bytes, so the array may go.
            let mustCopy = MHD_ResponseMemoryMode(rawValue: 2)!
            made = bytes.withUnsafeBytes { raw in
                MHD_create_response_from_buffer(
                    raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), mustCopy)
            }
        case .stream(let next):
            let stream = Unmanaged.passRetained(ResponseStream(next: next)).toOpaque()
            made = MHD_create_response_from_callback(
                UInt64.max, ResponseStream.blockSize, mhdStreamRead, stream, mhdStreamFree)
            if made == nil {
                // MHD calls the free callback only for a response it created.
                Unmanaged<ResponseStream>.fromOpaque(stream).release()
            }
        }
        guard let made else { return .NO }
        defer { MHD_destroy_response(made) }
        for (name, value) in response.headers {
            let added = name.withCString { name in
                value.withCString { value in MHD_add_response_header(made, name, value) }
            }
            guard added == .YES else { return .NO }
        }
        return MHD_queue_response(connection, UInt32(response.status), made)
    }
}

// The callbacks are plain functions, as C function pointers must be; each finds the server's context again
// through the `cls` pointer it was registered with, and a request's state through `con_cls`.

let mhdAccessHandler: MHD_AccessHandlerCallback = {
    cls, connection, url, method, _, uploadData, uploadDataSize, requestContext in
    guard let cls, let connection, let uploadDataSize, let requestContext else { return .NO }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    guard let existing = requestContext.pointee else {
        // Counted before `begin` looks at `stopping` (both sequentially consistent, as stop() stores one and
        // reads the other): either stop() sees this request in flight and waits for it, or `begin` sees the
        // stop and answers 503. Never neither.
        context.inFlight.add(1, ordering: .sequentiallyConsistent)
        let state = context.begin(
            connection, url: url.map { String(cString: $0) } ?? "/",
            method: method.map { String(cString: $0) } ?? "")
        requestContext.pointee = Unmanaged.passRetained(state).toOpaque()
        if let early = state.earlyAnswer {
            return context.queue(rejection: early, on: connection)
        }
        return .YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
    if uploadDataSize.pointee > 0 {
        let count = uploadDataSize.pointee
        uploadDataSize.pointee = 0
        guard let uploadData else { return .NO }
        return context.receive(UnsafeRawBufferPointer(start: uploadData, count: count), into: state)
            ? .YES : .NO
    }
    return context.finish(state, connection: connection)
}

let mhdRequestCompleted: MHD_RequestCompletedCallback = { cls, _, requestContext, _ in
    guard let cls, let requestContext, let existing = requestContext.pointee else { return }
    requestContext.pointee = nil
    Unmanaged<RequestState>.fromOpaque(existing).release()
    Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue().inFlight.subtract(
        1, ordering: .acquiringAndReleasing)
}

let mhdLogLine: slawatch_mhd_log_line = { context, line in
    guard let context, let line else { return }
    Unmanaged<ServerContext>.fromOpaque(context).takeUnretainedValue().log?(String(cString: line))
}
