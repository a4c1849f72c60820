import Foundation
import PackagePlugin

/// Compiles the migrations in `schema/` (SQLite) and `schema/postgres/` (PostgreSQL) into the
/// AllotStore module, so the SQL files in the repository are exactly what runs and no second
/// copy can drift from them.
@main
struct EmbedSchema: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let schemaFolder = context.package.directoryURL.appending(path: "schema")
        func sqlFiles(_ folder: URL) throws -> [URL] {
            try FileManager.default
                .contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "sql" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        // The tool tells the two sets apart by their folder's name.
        let migrations = try sqlFiles(schemaFolder) + sqlFiles(schemaFolder.appending(path: "postgres"))
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(migrations.count) schema migrations",
                executable: try context.tool(named: "EmbedSchemaTool").url,
                arguments: [output.path] + migrations.map(\.path),
                inputFiles: migrations,
                outputFiles: [output]
            )
        ]
    }
}
