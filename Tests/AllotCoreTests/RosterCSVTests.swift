import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct RosterCSVTests {
    func roster(_ text: String) throws -> Roster { try Roster(csv: Array(text.utf8)) }

    @Test func quotedFieldsCRLFAndAByteOrderMarkAreAccepted() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("serial_number,name,group\r\nC02ABC12DEF3,\"Room 4, \"\"north\"\"\",grade-5\r\n".utf8)
        let parsed = try Roster(csv: bytes)
        #expect(parsed.rows.count == 1)
        #expect(parsed.rows[0].serial.value == "C02ABC12DEF3")
        #expect(parsed.rows[0].name == "Room 4, \"north\"")
        #expect(parsed.rows[0].group == "grade-5")
        #expect(parsed.rows[0].model == nil)
        #expect(parsed.rejected.isEmpty)
    }

    @Test func aHeaderSeparatedBySemicolonsOrTabsSetsTheDelimiter() throws {
        let semicolons = try roster("Serial Number;Name;Group\nC02ABC12DEF3;\"Room 4; north\";grade-5\nDMPX12345678;Lab, east;lab\n")
        #expect(semicolons.delimiter == ";")
        #expect(semicolons.rows.map(\.serial.value) == ["C02ABC12DEF3", "DMPX12345678"])
        #expect(semicolons.rows.map(\.name) == ["Room 4; north", "Lab, east"], "a comma is text in a semicolon file")
        #expect(semicolons.rejected.isEmpty)

        let tabs = try roster("serial_number\tmodel\nC02ABC12DEF3\tiPad\n")
        #expect(tabs.delimiter == "\t")
        #expect(tabs.rows.first?.model == "iPad")

        let commas = try roster("serial_number,name\nC02ABC12DEF3,Room 4; north\n")
        #expect(commas.delimiter == ",")
        #expect(commas.rows.first?.name == "Room 4; north", "a semicolon is text in a comma file")
        #expect(Roster.delimiter(ofHeader: "serial_number") == ",", "one column: commas")
        #expect(Roster.delimiter(ofHeader: "\"serial;number\",name") == ",", "quoted separators do not count")
    }

    @Test func aHeaderWithoutASerialColumnNamesItsSeparator() throws {
        #expect {
            try roster("device;name\nC02ABC12DEF3;x\n")
        } throws: { error in
            (error as? RosterError)?.message.contains("2 columns, separated by semicolons") == true
        }
    }

    @Test func badLinesAreRejectedWithTheirLineNumberWhileGoodOnesStay() throws {
        let parsed = try roster("""
            serial_number,model
            C02ABC12DEF3,iPad
            bad!,iPad
            DMPX12345678
            "unterminated,iPad
            """)
        #expect(parsed.rows.map(\.serial.value) == ["C02ABC12DEF3"])
        #expect(parsed.rejected.map(\.line) == [3, 4, 5])
        #expect(parsed.rejected.allSatisfy { !$0.reason.isEmpty })
    }

    @Test func aRepeatedSerialIsMergedAndTheLastLineWins() throws {
        let parsed = try roster("serial_number,name\nC02ABC12DEF3,first\nc02abc12def3,second\n")
        #expect(parsed.rows.count == 1)
        #expect(parsed.rows[0].name == "second")
        #expect(parsed.rows[0].line == 2)
    }

    @Test func aFileWithoutTheSerialColumnIsRefusedWhole() {
        #expect(throws: RosterError.self) { try roster("name,model\nx,y\n") }
        #expect(throws: RosterError.self) { try roster("") }
    }

    @Test func quotedFieldsMaySpanLinesAndLineNumbersFollow() throws {
        let parsed = try roster("serial_number,name\nC02ABC12DEF3,\"two\nlines\"\nbad,x\n")
        #expect(parsed.rows[0].name == "two\nlines")
        #expect(parsed.rejected.map(\.line) == [4])
    }
}
