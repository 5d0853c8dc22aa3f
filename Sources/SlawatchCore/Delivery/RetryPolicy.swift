/// What happened to one attempt to deliver, as far as retrying is concerned.
public enum AttemptOutcome: Sendable, Hashable {
    /// An HTTP answer; `retryAfterMicros` from its `Retry-After` header, when it had one.
    case http(status: Int, retryAfterMicros: Int64?)
    /// An SMTP refusal with its reply code.
    case smtp(code: Int, reply: String)
    /// No answer at all (timeout, refused connection, lost connection, TLS failure...).
    case transport(reason: String, retryable: Bool)
}

/// The decision after an attempt.
public enum DeliveryDecision: Sendable, Hashable {
    case sent
    case retry(at: Instant, reason: String)
    case dead(reason: String)
    /// The channel's endpoint is gone for good (HTTP 410): the delivery is dead and the channel is
    /// disabled until someone fixes it.
    case disableChannel(reason: String)
}

/// The README's retry rules: 2xx is sent; 410 disables the channel; other 4xx but 408 and 429
/// are permanent; everything else is retried with exponential backoff and jitter (or exactly when
/// `Retry-After` says), until the channel's attempt count or age limit makes the delivery dead.
public struct RetryPolicy: Sendable {
    public var baseDelayMicros: Int64 = 15_000_000
    public var maxDelayMicros: Int64 = 3_600_000_000
    public var maxAttempts: Int
    public var maxAgeMicros: Int64

    public init(maxAttempts: Int, maxAgeMicros: Int64) {
        self.maxAttempts = maxAttempts
        self.maxAgeMicros = maxAgeMicros
    }

    /// `attempts` counts this attempt; `jitter` is a number in [0, 1) (random in production).
    public func decide(_ outcome: AttemptOutcome, attempts: Int, createdAt: Instant, now: Instant, jitter: Double)
        -> DeliveryDecision
    {
        let reason: String
        var retryAfter: Int64?
        switch outcome {
        case .http(let status, let after):
            if (200..<300).contains(status) { return .sent }
            if status == 410 {
                return .disableChannel(reason: "HTTP 410 Gone: the endpoint no longer exists; fix the channel's url")
            }
            if (300..<400).contains(status) {
                return .dead(reason: "HTTP \(status): redirects are not followed; point the channel at the final url")
            }
            if (400..<500).contains(status) && status != 408 && status != 429 {
                return .dead(reason: "HTTP \(status): the receiver refused the message (permanent)")
            }
            reason = "HTTP \(status)"
            retryAfter = after
        case .smtp(let code, let reply):
            if (500..<600).contains(code) { return .dead(reason: "SMTP \(code) \(reply) (permanent)") }
            reason = "SMTP \(code) \(reply)"
        case .transport(let why, let retryable):
            if !retryable { return .dead(reason: why) }
            reason = why
        }
        if attempts >= maxAttempts {
            return .dead(reason: "\(reason); gave up after \(attempts) attempts")
        }
        if now - createdAt >= maxAgeMicros {
            return .dead(reason: "\(reason); gave up: older than \(DurationText.format(maxAgeMicros))")
        }
        let delay: Int64
        if let retryAfter {
            delay = max(0, retryAfter)
        } else {
            let exponent = min(attempts - 1, 30)
            let full = min(maxDelayMicros, baseDelayMicros << Int64(exponent))
            // "Equal jitter": at least half the backoff, so retries never bunch at zero.
            delay = full / 2 + Int64(Double(full / 2) * min(max(jitter, 0), 1))
        }
        return .retry(at: now + delay, reason: reason)
    }
}
