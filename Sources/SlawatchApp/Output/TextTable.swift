/// Columns padded to their widest cell, for people reading a terminal.
enum TextTable {
    static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        var widths = widths(of: header)
        for row in rows { widen(&widths, for: row) }
        return line(header, widths: widths, rightAligned: rightAligned)
            + rows.map { line($0, widths: widths, rightAligned: rightAligned) }.joined()
    }

    // The three steps of `render`, for a caller that reads its rows twice rather than holding them
    // (the dashboard at a million tickets): the widths over every row first, then the lines.

    /// The widths of a table with only `header`.
    static func widths(of header: [String]) -> [Int] { header.map(\.count) }

    /// `widths` grown to fit `row`.
    static func widen(_ widths: inout [Int], for row: [String]) {
        for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }

    /// One line of the table: every cell padded to its column's width (the last one only when
    /// right-aligned), two spaces between cells.
    static func line(_ cells: [String], widths: [Int], rightAligned: Set<Int>) -> String {
        cells.enumerated().map { i, cell in
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            return rightAligned.contains(i) ? pad + cell : (i == cells.count - 1 ? cell : cell + pad)
        }.joined(separator: "  ") + "\n"
    }
}
