import Foundation

// Writes a Swift file holding every migration in schema/ (and schema/postgres/, for
// PostgreSQL) as raw string literals.
// Usage: EmbedSchemaTool OUTPUT.swift schema/001_x.sql ... schema/postgres/001_x.sql ...
let arguments = CommandLine.arguments.dropFirst()
guard let outputPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedSchemaTool OUTPUT.swift MIGRATION.sql...\n".utf8))
    exit(2)
}
var swift = "// Generated from schema/*.sql and schema/postgres/*.sql by the EmbedSchema plugin. Do not edit.\n"
let files = arguments.dropFirst().map { URL(fileURLWithPath: $0) }
for (variable, postgres) in [("embeddedMigrations", false), ("embeddedPostgresMigrations", true)] {
    swift += "let \(variable): [(name: String, sql: String)] = [\n"
    for url in files where (url.deletingLastPathComponent().lastPathComponent == "postgres") == postgres {
        let name = url.lastPathComponent
        let sql = try String(contentsOf: url, encoding: .utf8)
        precondition(!sql.contains("\"\"\"#####"), "migration \(name) contains the raw-string delimiter")
        swift += "    (name: \"\(name)\", sql: #####\"\"\"\n\(sql)\n\"\"\"#####),\n"
    }
    swift += "]\n"
}
try swift.write(toFile: outputPath, atomically: true, encoding: .utf8)
