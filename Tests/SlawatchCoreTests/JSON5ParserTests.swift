import Foundation
import SlawatchCore
import Testing

// The JSON5 reader behind rules files and `--filter`: the language, and errors that say where.

private func error(_ text: String) -> JSON5Parser.SyntaxError? {
    error(Array(text.utf8))
}

private func error(_ bytes: [UInt8]) -> JSON5Parser.SyntaxError? {
    do throws(JSON5Parser.SyntaxError) {
        _ = try JSON5Parser.parse(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite("JSON5Parser")
struct JSON5ParserTests {
    @Test("plain JSON")
    func plainJSON() throws {
        let value = try JSON5Parser.parse(#"{"a": [1, -2.5, 3e2, true, false, null, "x\"y\u00e9\n"], "b": {}}"#)
        #expect(
            value
                == .object([
                    "a": .array([
                        .number(1), .number(-2.5), .number(300), .bool(true), .bool(false), .null, .string("x\"yé\n"),
                    ]),
                    "b": .object([:]),
                ]))
    }

    @Test("JSON5: comments, trailing commas, unquoted names, single quotes, hex, Infinity, NaN, line continuations")
    func json5() throws {
        let text = """
            // a comment
            { name: 'it\\'s', /* block
            comment */ $x_1: [0x1F, +5, .5, 5., -Infinity, ], 'q': "a\\
            b", ñandú: 1,
            }
            """
        let value = try JSON5Parser.parse(text)
        guard case .object(let members) = value else {
            Issue.record("not an object: \(value)")
            return
        }
        #expect(members["name"] == .string("it's"))
        #expect(members["$x_1"] == .array([.number(31), .number(5), .number(0.5), .number(5), .number(-.infinity)]))
        #expect(members["q"] == .string("ab"))
        #expect(members["ñandú"] == .number(1))
        guard case .number(let nan) = try JSON5Parser.parse("NaN") else {
            Issue.record("NaN is not a number")
            return
        }
        #expect(nan.isNaN)
    }

    @Test("escapes: \\x, \\v, \\0, surrogate pairs, any other character as itself")
    func escapes() throws {
        #expect(try JSON5Parser.parse(#""\x41\v\0\ud83d\ude00\q""#) == .string("A\u{0B}\u{0}😀q"))
    }

    @Test("a UTF-8 byte order mark and CR LF line ends are fine")
    func byteOrderMarkAndCRLF() throws {
        #expect(
            try JSON5Parser.parse([0xEF, 0xBB, 0xBF] + Array("{\r\n\"a\"\r\n:\r\n1\r\n}\r\n".utf8))
                == .object(["a": .number(1)]))
    }

    @Test(
        "errors say where and what",
        arguments: [
            (#"{"column": "a", "op": "EQ", "#, 1, 29, "expected a member name or '}', found the end of the text"),
            ("{\"a\": \n  [1, 2,, 3]}", 2, 9, "expected a value, found ','"),
            ("{\"a\": 1 \"b\": 2}", 1, 9, #"expected ',' or '}' after the value of "a", found '"'"#),
            ("{\"a\": \"x\u{0}y\"}", 1, 9, #"control character U+0000 inside a string; write it as \u0000"#),
            (
                "{\"a\": \"x\ny\"}", 1, 9,
                #"a line break inside a string; write it as \n (or end the line with \ to continue the string)"#
            ),
            ("{\"a\": 1e400}", 1, 7, "the number is too large"),
            (#"{"a": "\ud800"}"#, 1, 8, #"\uD800 is the first half of a surrogate pair without a second half"#),
            (#"{"a": "\udc00"}"#, 1, 8, #"\uDC00 is the second half of a surrogate pair without a first half"#),
            ("", 1, 1, "expected a value, found the end of the text"),
            ("{} x", 1, 4, "expected the end of the text after the value, found 'x'"),
            ("[1] /* open", 1, 12, "the comment that starts at line 1, column 5 is never closed with */"),
            ("\"abc", 1, 5, "the text ends inside the string that starts at line 1, column 1"),
            ("[01]", 1, 2, "a number may not start with 0 followed by more digits"),
            ("{a b: 1}", 1, 4, "expected ':' after the member name \"a\", found 'b'"),
            ("[tru]", 1, 2, "expected a value, found 't'"),
            ("\r\n\r\n  ]", 3, 3, "expected a value, found ']'"),
        ] as [(String, Int, Int, String)])
    func errors(text: String, line: Int, column: Int, reason: String) throws {
        let e = try #require(error(text))
        #expect(e.reason == reason)
        #expect(e.line == line && e.column == column, "\(e)")
        #expect(e.description == "line \(line), column \(column): \(reason)")
    }

    @Test("invalid UTF-8 is reported at its position")
    func invalidUTF8() throws {
        let e = try #require(error(Array("{\n \"a\": \"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8)))
        #expect(e.line == 2 && e.column == 8)
        #expect(e.reason == "invalid UTF-8 (byte 0xFF at offset 9)")
    }

    @Test("nesting is bounded")
    func depth() throws {
        let limit = JSON5Parser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(error(deepest) == nil)
        let e = try #require(error(String(repeating: "[", count: 100_000)))
        #expect(e.reason == "arrays and objects nested deeper than \(limit) levels")
        #expect(e.column == limit + 1)
    }

    @Test("a member name given twice keeps the last value")
    func repeatedName() throws {
        #expect(try JSON5Parser.parse(#"{"a": 1, "a": 2}"#) == .object(["a": .number(2)]))
    }
}
