import Foundation

// Writes a Swift file holding every migration in schema/ as a raw string literal.
// Usage: EmbedSchemaTool OUTPUT.swift 001_x.sql 002_y.sql ...
let arguments = CommandLine.arguments.dropFirst()
guard let outputPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedSchemaTool OUTPUT.swift MIGRATION.sql...\n".utf8))
    exit(2)
}
var swift = "// Generated from schema/*.sql by the EmbedSchema plugin. Do not edit.\n"
swift += "let embeddedMigrations: [(name: String, sql: String)] = [\n"
for path in arguments.dropFirst() {
    let name = URL(fileURLWithPath: path).lastPathComponent
    let sql = try String(contentsOfFile: path, encoding: .utf8)
    precondition(!sql.contains("\"\"\"#####"), "migration \(name) contains the raw-string delimiter")
    swift += "    (name: \"\(name)\", sql: #####\"\"\"\n\(sql)\n\"\"\"#####),\n"
}
swift += "]\n"
try swift.write(toFile: outputPath, atomically: true, encoding: .utf8)
