import CurlTransport
import LoopbackSinks
import Testing

@Suite("SMTPSender against a loopback SMTP sink")
struct SMTPSenderTests {
    static func sender(for sink: SMTPSink) throws -> SMTPSender {
        try SMTPSender(
            configuration: .init(url: sink.url, tls: .none, timeout: .seconds(30), connectTimeout: .seconds(30)))
    }

    static func message(to recipients: [String], subject: String = "SLA vencido: T-1") -> MailMessage {
        // The second body line starts with a dot: it must survive dot-stuffing on the way.
        let text = [
            "From: slawatch <alertas@slawatch.test>",
            "To: ana@example.test",
            "Subject: \(subject)",
            "Message-ID: <t-1.breached@slawatch.test>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "El ticket T-1 (Facturación) venció.",
            ".una línea que empieza con punto",
            "",
        ].joined(separator: "\r\n")
        return MailMessage(envelopeFrom: "alertas@slawatch.test", recipients: recipients, data: Array(text.utf8))
    }

    @Test func deliversOneMessageWithEnvelopeAndDataIntact() async throws {
        let sink = try SMTPSink()
        let sender = try Self.sender(for: sink)
        let message = Self.message(to: ["ana@example.test", "luis@example.test"])

        let receipt = try await sender.send(message).get()

        #expect(receipt.responseCode == 250)
        #expect(receipt.acceptedRecipients == ["ana@example.test", "luis@example.test"])
        #expect(receipt.rejectedRecipients.isEmpty)
        let received = try #require(sink.messages.first)
        #expect(sink.messages.count == 1)
        #expect(received.envelopeFrom == "alertas@slawatch.test")
        #expect(received.recipients == ["ana@example.test", "luis@example.test"])
        #expect(received.data == message.data)
        #expect(received.text.contains("Subject: SLA vencido: T-1\r\n"))
        #expect(received.text.contains("\r\n.una línea que empieza con punto\r\n"))
    }

    @Test func twoMessagesOfOneSendShareOneConnection() async throws {
        let sink = try SMTPSink()
        let sender = try Self.sender(for: sink)

        let results = await sender.send(messages: [
            Self.message(to: ["ana@example.test"], subject: "uno"),
            Self.message(to: ["luis@example.test"], subject: "dos"),
        ])

        #expect(results.allSatisfy { (try? $0.get().responseCode) == 250 })
        let messages = sink.messages
        #expect(messages.map(\.recipients) == [["ana@example.test"], ["luis@example.test"]])
        #expect(messages[0].text.contains("Subject: uno"))
        #expect(messages[1].text.contains("Subject: dos"))
        #expect(Set(messages.map(\.connectionID)).count == 1)
        #expect(sink.connectionCount == 1)
    }

    @Test func aTemporaryFailureIsReportedAndARetryIsAccepted() async throws {
        let sink = try SMTPSink()
        let sender = try Self.sender(for: sink)
        sink.failNextData(1, code: 451, text: "4.3.0 Queue full, try later")
        let message = Self.message(to: ["ana@example.test"])

        let first = await sender.send(message)

        guard case .failure(let error) = first else {
            Issue.record("expected the 451 to be a failure, got \(first)")
            return
        }
        #expect(error.kind == .rejected)
        #expect(error.responseCode == 451)
        #expect(error.serverReply == "451 4.3.0 Queue full, try later")
        #expect(error.description.contains("451"))
        #expect(sink.messages.isEmpty)

        let retry = try await sender.send(message).get()
        #expect(retry.responseCode == 250)
        #expect(sink.messages.count == 1)
    }

    @Test func aTemporaryFailureAtMailFromCarriesItsCode() async throws {
        let sink = try SMTPSink()
        let sender = try Self.sender(for: sink)
        sink.failNextMail(1)

        let results = await sender.send(messages: [
            Self.message(to: ["ana@example.test"]), Self.message(to: ["luis@example.test"]),
        ])

        guard case .failure(let error) = results[0] else {
            Issue.record("expected the first message to fail, got \(results[0])")
            return
        }
        #expect(error.kind == .rejected)
        #expect(error.responseCode == 451)
        #expect(try results[1].get().responseCode == 250)
        #expect(sink.messages.map(\.recipients) == [["luis@example.test"]])
    }

    @Test func oneRejectedRecipientDoesNotFailTheOthers() async throws {
        let sink = try SMTPSink()
        let sender = try Self.sender(for: sink)
        sink.rejectRecipient("nadie@example.test", code: 550, text: "5.1.1 No such user here")

        let receipt = try await sender.send(
            Self.message(to: ["ana@example.test", "nadie@example.test", "luis@example.test"])
        ).get()

        #expect(receipt.acceptedRecipients == ["ana@example.test", "luis@example.test"])
        #expect(
            receipt.rejectedRecipients == [
                SMTPRecipientRejection(
                    address: "nadie@example.test", responseCode: 550, reply: "550 5.1.1 No such user here")
            ])
        #expect(sink.messages.map(\.recipients) == [["ana@example.test", "luis@example.test"]])
    }

    @Test func allRecipientsRejectedFailsTheMessageWithTheCode() async throws {
        let sink = try SMTPSink()
        let sender = try Self.sender(for: sink)
        sink.rejectRecipient("nadie@example.test")

        let result = await sender.send(Self.message(to: ["nadie@example.test"]))

        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.kind == .rejected)
        #expect(error.responseCode == 550)
        #expect(sink.messages.isEmpty)
    }

    @Test func clearTextIsRefusedForARemoteHost() {
        #expect {
            try SMTPSender(configuration: .init(url: "smtp://mail.example.com:25", tls: .none))
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.kind == .invalidRequest && error.description.contains("loopback")
        }
        #expect(throws: TransportError.self) {
            try SMTPSender(configuration: .init(url: "smtps://127.0.0.1:465", tls: .none))
        }
        #expect(throws: TransportError.self) {
            try SMTPSender(configuration: .init(url: "http://127.0.0.1:25", tls: .none))
        }
    }

    /// Clear text goes by the same strict loopback rule as the rules loader's (`Loopback`): a name
    /// that merely starts with "127." is a remote host.
    @Test func clearTextFollowsTheStrictLoopbackRule() throws {
        for url in ["smtp://127.0.0.1.evil.com:25", "smtp://127.mail.example.com:25", "smtp://localhost.example:25"] {
            #expect(throws: TransportError.self, "\(url)") {
                try SMTPSender(configuration: .init(url: url, tls: .none))
            }
        }
        for url in ["smtp://127.0.0.1:25", "smtp://127.1.2.3:25", "smtp://LOCALHOST:25", "smtp://[::1]:25"] {
            _ = try SMTPSender(configuration: .init(url: url, tls: .none))
        }
    }

    @Test func anInjectedRecipientIsRefusedWithoutTalkingToTheServer() async throws {
        let sink = try SMTPSink()
        let sender = try Self.sender(for: sink)

        let result = await sender.send(Self.message(to: ["ana@example.test>\r\nRCPT TO:<evil@example.test"]))

        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.kind == .invalidRequest)
        #expect(sink.connectionCount == 0)
    }
}
