import CurlTransport
import Testing

@Suite("WebhookSignature (Standard Webhooks)")
struct WebhookSignatureTests {
    // Expected values computed independently, once, with Python's standard library:
    //   python3 -c 'import hmac, hashlib, base64
    //   key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    //   msg = b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}"
    //   print("v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode())'
    // which also matches the example published by the Standard Webhooks specification.
    @Test func signsTheStandardWebhooksExample() throws {
        let signer = try WebhookSignature(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let signature = try signer.signature(
            messageID: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    // Without the whsec_ prefix the key is the secret's UTF-8 bytes. Computed the same way:
    //   key = "plain-secret".encode()
    //   msg = "evt_01.1700000000.{\"kind\":\"sla.breached\",\"label\":\"Facturación\"}".encode()
    @Test func usesTheUTF8BytesOfAnUnprefixedSecretAndSignsUTF8Bodies() throws {
        let signer = try WebhookSignature(secret: "plain-secret")
        let body = Array(#"{"kind":"sla.breached","label":"Facturación"}"#.utf8)
        let signature = try signer.signature(messageID: "evt_01", timestamp: 1_700_000_000, body: body)
        #expect(signature == "v1,KXqcBfOFAFbHX9FngKe0L1Cs1FJHykZ4bP1XCW5TQp0=")

        let headers = try signer.headers(messageID: "evt_01", timestamp: 1_700_000_000, body: body)
        #expect(headers.map(\.name) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers.map(\.value) == ["evt_01", "1700000000", signature])
    }

    @Test func aDifferentBodyGivesADifferentSignature() throws {
        let signer = try WebhookSignature(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let one = try signer.signature(messageID: "m", timestamp: 1, body: Array("a".utf8))
        let two = try signer.signature(messageID: "m", timestamp: 1, body: Array("b".utf8))
        #expect(one != two)
    }

    @Test func refusesUnusableSecrets() {
        #expect(throws: WebhookSignature.Failure.self) { try WebhookSignature(secret: "whsec_not base64!") }
        #expect(throws: WebhookSignature.Failure.self) { try WebhookSignature(secret: "") }
        #expect(throws: WebhookSignature.Failure.self) { try WebhookSignature(secret: "whsec_") }
    }
}
